//! Parameter distributions (Optuna's `FloatDistribution`, `IntDistribution`,
//! `CategoricalDistribution`), their internal representation (a float; the index for a categorical)
//! and their JSON form in Optuna's storages.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Result, TuneError};

/// One choice of a categorical parameter (Optuna allows `None`, `bool`, `int`, `float`, `str`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Choice {
    /// `None` / JSON `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
}

impl Choice {
    /// The choice as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => json!(b),
            Self::Int(i) => json!(i),
            Self::Float(f) => json!(f),
            Self::Str(s) => json!(s),
        }
    }

    /// A choice from JSON (objects and arrays are not valid choices).
    pub fn from_json(v: &Value) -> Option<Self> {
        Some(match v {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Self::Int(i),
                None => Self::Float(n.as_f64()?),
            },
            Value::String(s) => Self::Str(s.clone()),
            _ => return None,
        })
    }

    /// The choice as a number, when it is one (for charts and correlations).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Int(i) => Some(*i as f64),
            Self::Float(f) => Some(*f),
            Self::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        }
    }

    /// The choice as text (strings without quotes).
    pub fn label(&self) -> String {
        match self {
            Self::Null => "None".into(),
            Self::Bool(b) => if *b { "True" } else { "False" }.into(),
            Self::Int(i) => i.to_string(),
            Self::Float(f) => format!("{f}"),
            Self::Str(s) => s.clone(),
        }
    }
}

impl From<&str> for Choice {
    fn from(s: &str) -> Self {
        Self::Str(s.to_string())
    }
}
impl From<i64> for Choice {
    fn from(i: i64) -> Self {
        Self::Int(i)
    }
}
impl From<f64> for Choice {
    fn from(f: f64) -> Self {
        Self::Float(f)
    }
}

/// A parameter's distribution.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// Float in `[low, high]`, optionally on a log scale or on a grid of `step`.
    Float {
        /// Lower bound (inclusive).
        low: f64,
        /// Upper bound (inclusive).
        high: f64,
        /// Log scale (then `low > 0` and no step).
        log: bool,
        /// Grid step.
        step: Option<f64>,
    },
    /// Integer in `[low, high]` on a grid of `step`, optionally on a log scale (then `step = 1`).
    Int {
        /// Lower bound (inclusive).
        low: i64,
        /// Upper bound (inclusive).
        high: i64,
        /// Log scale.
        log: bool,
        /// Grid step (≥ 1).
        step: i64,
    },
    /// One of a list of choices.
    Categorical {
        /// The choices (at least one).
        choices: Vec<Choice>,
    },
}

/// Distribution attribute `k` of `o`, a number.
fn attr_num(o: &Value, k: &str) -> std::result::Result<f64, String> {
    o.get(k)
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("distribution attribute {k:?} is missing or not a number"))
}

/// Distribution attribute `k` of `o`, a number without a fractional part.
fn attr_int(o: &Value, k: &str) -> std::result::Result<i64, String> {
    let x = attr_num(o, k)?;
    if x.fract() != 0.0 {
        return Err(format!(
            "distribution attribute {k:?} = {x} is not an integer"
        ));
    }
    Ok(x as i64)
}

/// Distribution attribute `k` of `o`, a flag (`false` when missing or not a boolean).
fn attr_flag(o: &Value, k: &str) -> bool {
    o.get(k).and_then(Value::as_bool).unwrap_or(false)
}

/// The `choices` attribute of `o`.
fn attr_choices(o: &Value) -> std::result::Result<Vec<Choice>, String> {
    o.get("choices")
        .and_then(Value::as_array)
        .ok_or("distribution attribute \"choices\" is missing")?
        .iter()
        .map(|c| Choice::from_json(c).ok_or_else(|| format!("invalid choice {c}")))
        .collect()
}

fn bad(name: &str, reason: impl Into<String>) -> TuneError {
    TuneError::InvalidDistribution {
        name: name.into(),
        reason: reason.into(),
    }
}

impl Distribution {
    /// A float range.
    pub fn float(low: f64, high: f64, log: bool) -> Self {
        Self::Float {
            low,
            high,
            log,
            step: None,
        }
    }

    /// An integer range with step 1.
    pub fn int(low: i64, high: i64, log: bool) -> Self {
        Self::Int {
            low,
            high,
            log,
            step: 1,
        }
    }

    /// A categorical distribution.
    pub fn categorical<C: Into<Choice>>(choices: impl IntoIterator<Item = C>) -> Self {
        Self::Categorical {
            choices: choices.into_iter().map(Into::into).collect(),
        }
    }

    /// Checks the definition (`name` is used in the message) and returns it with `high` moved
    /// down onto the step grid as Optuna does.
    pub fn validated(self, name: &str) -> Result<Self> {
        match self {
            Self::Float {
                low,
                high,
                log,
                step,
            } => validated_float(name, low, high, log, step),
            Self::Int {
                low,
                high,
                log,
                step,
            } => validated_int(name, low, high, log, step),
            Self::Categorical { choices } => validated_choices(name, choices),
        }
    }

    /// Whether the distribution has a single value.
    pub fn single(&self) -> bool {
        match self {
            Self::Float { low, high, .. } => low == high,
            Self::Int { low, high, .. } => low == high,
            Self::Categorical { choices } => choices.len() == 1,
        }
    }

    /// Whether `internal` is a value of this distribution (internal representation).
    pub fn contains(&self, internal: f64) -> bool {
        match self {
            Self::Float {
                low, high, step, ..
            } => {
                if !(internal >= *low && internal <= *high) {
                    return false;
                }
                match step {
                    Some(s) => {
                        let k = (internal - low) / s;
                        (k - k.round()).abs() < 1e-6
                    }
                    None => true,
                }
            }
            Self::Int {
                low, high, step, ..
            } => {
                internal.fract() == 0.0
                    && internal >= *low as f64
                    && internal <= *high as f64
                    && ((internal as i64 - low) % step == 0)
            }
            Self::Categorical { choices } => {
                internal.fract() == 0.0 && internal >= 0.0 && (internal as usize) < choices.len()
            }
        }
    }

    /// Whether a parameter may change from `self` to `other` between trials (same kind, same log
    /// flag, same choices), as Optuna's `check_distribution_compatibility`.
    pub fn compatible(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Float { log: a, .. }, Self::Float { log: b, .. }) => a == b,
            (Self::Int { log: a, .. }, Self::Int { log: b, .. }) => a == b,
            (Self::Categorical { choices: a }, Self::Categorical { choices: b }) => a == b,
            _ => false,
        }
    }

    /// The value shown to users for an internal value.
    pub fn external(&self, internal: f64) -> ParamValue {
        match self {
            Self::Float { .. } => ParamValue::Float(internal),
            Self::Int { .. } => ParamValue::Int(internal as i64),
            Self::Categorical { choices } => ParamValue::Choice(
                choices
                    .get(internal.max(0.0) as usize)
                    .cloned()
                    .unwrap_or(Choice::Null),
            ),
        }
    }

    /// The internal value of an external JSON value (the index of a choice), if it belongs to
    /// the distribution.
    pub fn internal_of_json(&self, v: &Value) -> Option<f64> {
        match self {
            Self::Float { .. } | Self::Int { .. } => v.as_f64(),
            Self::Categorical { choices } => {
                let c = Choice::from_json(v)?;
                choices.iter().position(|x| *x == c).map(|i| i as f64)
            }
        }
    }

    /// Optuna's JSON form: `{"name": "FloatDistribution", "attributes": {...}}`.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Float {
                low,
                high,
                log,
                step,
            } => {
                json!({"name": "FloatDistribution", "attributes": {"step": step, "low": low, "high": high, "log": log}})
            }
            Self::Int {
                low,
                high,
                log,
                step,
            } => {
                json!({"name": "IntDistribution", "attributes": {"log": log, "step": step, "low": low, "high": high}})
            }
            Self::Categorical { choices } => {
                json!({"name": "CategoricalDistribution", "attributes": {"choices": choices.iter().map(Choice::to_json).collect::<Vec<_>>()}})
            }
        }
    }

    /// Optuna's JSON string (as stored in journals), with Python's `json.dumps` spacing.
    pub fn to_json_string(&self) -> String {
        python_json(&self.to_json())
    }

    /// Reads Optuna's JSON form, including the abbreviated `{"type": "float", ...}` form and the
    /// deprecated `UniformDistribution`-style classes.
    pub fn from_json(v: &Value) -> std::result::Result<Self, String> {
        if let Some(name) = v.get("name").and_then(Value::as_str) {
            let a = v
                .get("attributes")
                .ok_or("distribution has no attributes")?;
            return Self::from_class(name, a);
        }
        Self::from_abbreviated(v)
    }

    /// Optuna's `{"name": …, "attributes": a}` form: a distribution of class `name`, current or
    /// deprecated.
    fn from_class(name: &str, a: &Value) -> std::result::Result<Self, String> {
        let opt_step = a.get("step").and_then(Value::as_f64);
        Ok(match name {
            "FloatDistribution" => Self::Float {
                low: attr_num(a, "low")?,
                high: attr_num(a, "high")?,
                log: attr_flag(a, "log"),
                step: opt_step,
            },
            "IntDistribution" => Self::Int {
                low: attr_int(a, "low")?,
                high: attr_int(a, "high")?,
                log: attr_flag(a, "log"),
                step: opt_step.map_or(1, |s| s as i64),
            },
            "CategoricalDistribution" => Self::Categorical {
                choices: attr_choices(a)?,
            },
            "UniformDistribution" => Self::float(attr_num(a, "low")?, attr_num(a, "high")?, false),
            "LogUniformDistribution" => {
                Self::float(attr_num(a, "low")?, attr_num(a, "high")?, true)
            }
            "DiscreteUniformDistribution" => Self::Float {
                low: attr_num(a, "low")?,
                high: attr_num(a, "high")?,
                log: false,
                step: Some(attr_num(a, "q")?),
            },
            "IntUniformDistribution" => Self::Int {
                low: attr_int(a, "low")?,
                high: attr_int(a, "high")?,
                log: false,
                step: opt_step.map_or(1, |s| s as i64),
            },
            "IntLogUniformDistribution" => Self::Int {
                low: attr_int(a, "low")?,
                high: attr_int(a, "high")?,
                log: true,
                step: 1,
            },
            other => return Err(format!("unknown distribution class {other:?}")),
        })
    }

    /// The abbreviated form: `{"type": "float" | "int" | "categorical", …}` with the attributes
    /// beside the type.
    fn from_abbreviated(v: &Value) -> std::result::Result<Self, String> {
        match v.get("type").and_then(Value::as_str) {
            Some("categorical") => Ok(Self::Categorical {
                choices: attr_choices(v)?,
            }),
            Some("float") => Ok(Self::Float {
                low: attr_num(v, "low")?,
                high: attr_num(v, "high")?,
                log: attr_flag(v, "log"),
                step: v.get("step").and_then(Value::as_f64),
            }),
            Some("int") => Ok(Self::Int {
                low: attr_int(v, "low")?,
                high: attr_int(v, "high")?,
                log: attr_flag(v, "log"),
                step: v
                    .get("step")
                    .and_then(Value::as_f64)
                    .map_or(1, |s| s as i64),
            }),
            _ => Err(format!("not a distribution: {v}")),
        }
    }

    /// Reads Optuna's JSON string form.
    pub fn from_json_str(s: &str) -> std::result::Result<Self, String> {
        let v: Value = serde_json::from_str(s).map_err(|e| format!("distribution {s:?}: {e}"))?;
        Self::from_json(&v)
    }
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Float {
                low,
                high,
                log,
                step,
            } => {
                write!(f, "float [{low}, {high}]")?;
                if *log {
                    write!(f, " log")?;
                }
                if let Some(s) = step {
                    write!(f, " step {s}")?;
                }
                Ok(())
            }
            Self::Int {
                low,
                high,
                log,
                step,
            } => {
                write!(f, "int [{low}, {high}]")?;
                if *log {
                    write!(f, " log")?;
                }
                if *step != 1 {
                    write!(f, " step {step}")?;
                }
                Ok(())
            }
            Self::Categorical { choices } => write!(
                f,
                "categorical {{{}}}",
                choices
                    .iter()
                    .map(Choice::label)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// A parameter value as the objective sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// A float parameter.
    Float(f64),
    /// An integer parameter.
    Int(i64),
    /// A categorical parameter.
    Choice(Choice),
}

impl ParamValue {
    /// As JSON (numbers, or the choice's JSON value).
    pub fn to_json(&self) -> Value {
        match self {
            Self::Float(f) => json!(f),
            Self::Int(i) => json!(i),
            Self::Choice(c) => c.to_json(),
        }
    }

    /// As a number when it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Float(f) => Some(*f),
            Self::Int(i) => Some(*i as f64),
            Self::Choice(c) => c.as_f64(),
        }
    }

    /// As text.
    pub fn label(&self) -> String {
        match self {
            Self::Float(f) => format!("{f:.6e}")
                .parse::<f64>()
                .map(|x| format!("{x}"))
                .unwrap_or_else(|_| f.to_string()),
            Self::Int(i) => i.to_string(),
            Self::Choice(c) => c.label(),
        }
    }
}

/// JSON text as Python's `json.dumps` writes it (`", "` and `": "` separators; non-finite floats as
/// `NaN` / `Infinity`). Used for the distribution strings inside journal records.
pub fn python_json(v: &Value) -> String {
    let mut s = String::new();
    write_python(v, &mut s);
    s
}

fn write_python(v: &Value, s: &mut String) {
    match v {
        Value::Array(a) => {
            s.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                write_python(x, s);
            }
            s.push(']');
        }
        Value::Object(o) => {
            s.push('{');
            for (i, (k, x)) in o.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                s.push_str(&Value::String(k.clone()).to_string());
                s.push_str(": ");
                write_python(x, s);
            }
            s.push('}');
        }
        other => s.push_str(&other.to_string()),
    }
}

/// [`Distribution::validated`] for a float range: finite, non-empty, positive when logarithmic,
/// a positive step only without log; `high` moved down onto the step grid.
fn validated_float(
    name: &str,
    low: f64,
    high: f64,
    log: bool,
    step: Option<f64>,
) -> Result<Distribution> {
    if !low.is_finite() || !high.is_finite() {
        return Err(bad(
            name,
            format!("bounds must be finite, got [{low}, {high}]"),
        ));
    }
    if low > high {
        return Err(bad(
            name,
            format!("empty range: low {low} is above high {high}"),
        ));
    }
    if log && low <= 0.0 {
        return Err(bad(
            name,
            format!("a log range needs low > 0, got low = {low}"),
        ));
    }
    let step = match step {
        None => None,
        Some(s) => {
            if log {
                return Err(bad(name, "a log range cannot have a step"));
            }
            if !(s > 0.0 && s.is_finite()) {
                return Err(bad(name, format!("step must be > 0, got {s}")));
            }
            Some(s)
        }
    };
    let high = match step {
        Some(s) => {
            let n = ((high - low) / s + 1e-9).floor();
            (low + n * s).min(high)
        }
        None => high,
    };
    Ok(Distribution::Float {
        low,
        high,
        log,
        step,
    })
}

/// [`Distribution::validated`] for an integer range: non-empty, step ≥ 1, low ≥ 1 and step 1
/// when logarithmic; `high` moved down onto the step grid.
fn validated_int(name: &str, low: i64, high: i64, log: bool, step: i64) -> Result<Distribution> {
    if low > high {
        return Err(bad(
            name,
            format!("empty range: low {low} is above high {high}"),
        ));
    }
    if step < 1 {
        return Err(bad(name, format!("step must be ≥ 1, got {step}")));
    }
    if log && low < 1 {
        return Err(bad(
            name,
            format!("a log range needs low ≥ 1, got low = {low}"),
        ));
    }
    if log && step != 1 {
        return Err(bad(name, "a log range must have step 1"));
    }
    let high = low + (high - low) / step * step;
    Ok(Distribution::Int {
        low,
        high,
        log,
        step,
    })
}

/// [`Distribution::validated`] for a choice list: not empty, no choice twice.
fn validated_choices(name: &str, choices: Vec<Choice>) -> Result<Distribution> {
    if choices.is_empty() {
        return Err(bad(name, "the choice list is empty"));
    }
    for (i, c) in choices.iter().enumerate() {
        if choices[..i].contains(c) {
            return Err(bad(name, format!("choice {} is listed twice", c.label())));
        }
    }
    Ok(Distribution::Categorical { choices })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_problem() {
        let err = |d: Distribution| d.validated("x").unwrap_err().to_string();
        assert!(err(Distribution::float(2.0, 1.0, false)).contains("empty range"));
        assert!(err(Distribution::float(0.0, 1.0, true)).contains("low > 0"));
        assert!(err(Distribution::int(3, 1, false)).contains("empty range"));
        assert!(err(Distribution::int(0, 5, true)).contains("low ≥ 1"));
        assert!(err(Distribution::Categorical { choices: vec![] }).contains("empty"));
        assert!(
            err(Distribution::Float {
                low: 0.0,
                high: 1.0,
                log: false,
                step: Some(0.0)
            })
            .contains("step")
        );
    }

    #[test]
    fn high_moves_onto_the_step_grid() {
        let d = Distribution::Int {
            low: 1,
            high: 10,
            log: false,
            step: 4,
        }
        .validated("x")
        .unwrap();
        assert_eq!(
            d,
            Distribution::Int {
                low: 1,
                high: 9,
                log: false,
                step: 4
            }
        );
    }

    #[test]
    fn optuna_json_round_trips() {
        for d in [
            Distribution::float(1e-5, 0.1, true),
            Distribution::Float {
                low: 0.0,
                high: 1.0,
                log: false,
                step: Some(0.25),
            },
            Distribution::int(1, 4, false),
            Distribution::categorical(["Adam", "AdamW"]),
            Distribution::categorical([16i64, 32, 64]),
        ] {
            let s = d.to_json_string();
            assert_eq!(Distribution::from_json_str(&s).unwrap(), d, "{s}");
        }
        let s = r#"{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 1, "high": 4}}"#;
        assert_eq!(
            Distribution::from_json_str(s).unwrap(),
            Distribution::int(1, 4, false)
        );
        assert!(Distribution::from_json_str(r#"{"name": "Bogus", "attributes": {}}"#).is_err());
    }
}
