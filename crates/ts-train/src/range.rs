//! Declared value ranges of the targets (`--bounds`, `data.bounds`): a rate that cannot go below
//! zero, a share between 0 and 100. Point forecasts and interval bounds are clipped to the range
//! (which never moves them away from an actual value inside it), and a table whose target holds
//! a value outside its declared range is refused with the column, row and value. The intervals
//! are calibrated on the clipped forecasts. The candidate choice of `--model auto` compares the
//! networks' raw forecasts, and explanations and fairness reductions work on the raw network.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_data::{Frame, Scaler, WindowSpec};

use crate::error::{Result, TrainError};

/// Key of `data.bounds` that applies to every target without a range of its own.
pub const EVERY_TARGET: &str = "*";

/// The range a target's values are declared to lie in; either side may be open.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueRange {
    /// Smallest possible value (none: unbounded below).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower: Option<f64>,
    /// Largest possible value (none: unbounded above).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<f64>,
}

impl ValueRange {
    /// Whether neither side is bounded.
    pub fn is_open(&self) -> bool {
        self.lower.is_none() && self.upper.is_none()
    }

    /// `x` moved into the range (NaN stays NaN).
    pub fn clip(&self, x: f64) -> f64 {
        let x = self.lower.map_or(x, |lo| if x < lo { lo } else { x });
        self.upper.map_or(x, |hi| if x > hi { hi } else { x })
    }

    /// Whether `x` lies in the range (NaN does not).
    pub fn contains(&self, x: f64) -> bool {
        !x.is_nan() && self.lower.is_none_or(|lo| x >= lo) && self.upper.is_none_or(|hi| x <= hi)
    }

    /// The range as `--bounds` writes it: `LO:HI`, a side left empty when open.
    pub fn text(&self) -> String {
        let side = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
        format!("{}:{}", side(self.lower), side(self.upper))
    }

    /// Refuses a side that is not finite, or a lower side not below the upper one.
    fn check(&self, name: &str) -> Result<()> {
        let bad = |reason: &str| TrainError::InvalidConfig {
            name: "bounds".into(),
            value: match name {
                EVERY_TARGET => format!("\"{}\"", self.text()),
                _ => format!("\"{name}={}\"", self.text()),
            },
            reason: reason.into(),
        };
        if self.lower.is_some_and(|v| !v.is_finite()) || self.upper.is_some_and(|v| !v.is_finite())
        {
            return Err(bad("each side must be a finite number, or left empty"));
        }
        if let (Some(lo), Some(hi)) = (self.lower, self.upper)
            && lo >= hi
        {
            return Err(bad("the lower side must be below the upper side"));
        }
        Ok(())
    }
}

/// Parses `--bounds`: `LO:HI` for every target, or `NAME=LO:HI[,NAME=LO:HI…]` (a column name
/// is everything before the last `=`); either side may be left empty (`0:` = not below zero).
///
/// # Errors
/// A part without `:`, a side that is not a number, or a range that [`check_bounds`] refuses.
pub fn parse_bounds(s: &str) -> Result<BTreeMap<String, ValueRange>> {
    let bad = |reason: String| TrainError::InvalidConfig {
        name: "bounds".into(),
        value: format!("\"{s}\""),
        reason,
    };
    let mut out = BTreeMap::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, range) = match part.rsplit_once('=') {
            Some((n, r)) => (n.trim().to_string(), r.trim()),
            None => (EVERY_TARGET.to_string(), part),
        };
        let Some((lo, hi)) = range.split_once(':') else {
            return Err(bad(format!(
                "\"{part}\": expected LO:HI (either side may be empty, e.g. 0: or 0:100), \
                 optionally after NAME="
            )));
        };
        let side = |v: &str| -> Result<Option<f64>> {
            let v = v.trim();
            if v.is_empty() {
                return Ok(None);
            }
            v.parse::<f64>()
                .map(Some)
                .map_err(|_| bad(format!("\"{v}\" in \"{part}\" is not a number")))
        };
        let r = ValueRange {
            lower: side(lo)?,
            upper: side(hi)?,
        };
        if out.insert(name.clone(), r).is_some() {
            return Err(bad(match name.as_str() {
                EVERY_TARGET => "a range for every target is given twice".into(),
                _ => format!("\"{name}\" is given twice"),
            }));
        }
    }
    if out.is_empty() {
        return Err(bad(
            "expected LO:HI or NAME=LO:HI[,NAME=LO:HI…] (e.g. 0: for no values below zero)".into(),
        ));
    }
    check_bounds(&out)?;
    Ok(out)
}

/// Refuses declared ranges with a side that is not finite, or a lower side not below the upper.
///
/// # Errors
/// [`TrainError::InvalidConfig`] naming `bounds` and the range.
pub fn check_bounds(bounds: &BTreeMap<String, ValueRange>) -> Result<()> {
    bounds.iter().try_for_each(|(name, r)| r.check(name))
}

/// The range of each of `targets`, in order: its own, else the one for every target, else open.
///
/// # Errors
/// A name in `bounds` that is not a target (the error lists the targets).
pub fn per_target(
    bounds: &BTreeMap<String, ValueRange>,
    targets: &[String],
) -> Result<Vec<ValueRange>> {
    if let Some(name) = bounds
        .keys()
        .find(|k| *k != EVERY_TARGET && !targets.contains(k))
    {
        return Err(TrainError::InvalidConfig {
            name: "bounds".into(),
            value: format!("\"{name}={}\"", bounds[name].text()),
            reason: format!(
                "\"{name}\" is not a target (targets: {})",
                targets.join(", ")
            ),
        });
    }
    let every = bounds.get(EVERY_TARGET).copied().unwrap_or_default();
    Ok(targets
        .iter()
        .map(|t| bounds.get(t).copied().unwrap_or(every))
        .collect())
}

/// Refuses a table whose targets hold a value outside their declared range: the first such
/// value is named with its column, row (1-based, as counted among the table's data rows) and
/// time label. Missing values are not checked.
///
/// # Errors
/// [`TrainError::InvalidConfig`] naming `bounds`.
pub fn check_frame(frame: &Frame, targets: &[String], ranges: &[ValueRange]) -> Result<()> {
    for (t, r) in targets.iter().zip(ranges) {
        if r.is_open() {
            continue;
        }
        let col = frame.column_index(t)?;
        let values = frame.column(col);
        if let Some((row, v)) = values
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_nan() && !r.contains(**v))
        {
            return Err(TrainError::InvalidConfig {
                name: "bounds".into(),
                value: format!("\"{t}={}\"", r.text()),
                reason: format!(
                    "{}: column \"{t}\" holds {v} at row {} ({}), outside the declared range",
                    frame.source.display(),
                    row + 1,
                    frame.label(row)
                ),
            });
        }
    }
    Ok(())
}

/// Clips scaled forecasts `[window][step × targets + target]` to the targets' declared ranges
/// (mapped into scaled units by the fitted scaler, which is increasing). No-op when every range
/// is open.
pub fn clip_scaled(
    predictions: &mut [f32],
    ranges: &[ValueRange],
    spec: &WindowSpec,
    scaler: &Scaler,
) {
    let nt = spec.targets.len();
    if ranges.len() != nt || ranges.iter().all(ValueRange::is_open) {
        return;
    }
    // Each side in scaled units, as the nearest `f32` inside the range: a clipped forecast maps
    // back into the range exactly, not a rounding error outside it.
    let inside = |col: usize, v: f64, below: bool| {
        let mut s = scaler.transform_value(col, v) as f32;
        let back = |s: f32| scaler.inverse_value(col, f64::from(s));
        for _ in 0..4 {
            match below {
                true if back(s) < v => s = s.next_up(),
                false if back(s) > v => s = s.next_down(),
                _ => break,
            }
        }
        s
    };
    let scaled: Vec<(Option<f32>, Option<f32>)> = ranges
        .iter()
        .zip(&spec.target_index)
        .map(|(r, &col)| {
            (
                r.lower.map(|v| inside(col, v, true)),
                r.upper.map(|v| inside(col, v, false)),
            )
        })
        .collect();
    let o = spec.n_outputs().max(1);
    for (i, p) in predictions.iter_mut().enumerate() {
        let (lo, hi) = scaled[(i % o) % nt];
        if let Some(lo) = lo
            && *p < lo
        {
            *p = lo;
        }
        if let Some(hi) = hi
            && *p > hi
        {
            *p = hi;
        }
    }
}

/// A network's scaled forecasts of `windows` ([`crate::trainer::predict_scaled`]), clipped to
/// the targets' declared ranges ([`clip_scaled`]).
///
/// # Errors
/// As [`crate::trainer::predict_scaled`].
pub fn forecast_scaled(
    model: &ts_model::Forecaster,
    windows: &ts_data::Windows,
    device: &burn::tensor::Device,
    ranges: &[ValueRange],
    spec: &WindowSpec,
    scaler: &Scaler,
) -> Result<Vec<f32>> {
    let mut p = crate::trainer::predict_scaled(model, windows, device, 512)?;
    clip_scaled(&mut p, ranges, spec, scaler);
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_and_refuses_bad_ones() {
        let b = parse_bounds("0:").unwrap();
        assert_eq!(
            b[EVERY_TARGET],
            ValueRange {
                lower: Some(0.0),
                upper: None
            }
        );
        let b = parse_bounds("tbilrate=0:, share = -5:100 ,").unwrap();
        assert_eq!(b["tbilrate"].text(), "0:");
        assert_eq!(b["share"].text(), "-5:100");
        assert_eq!(
            parse_bounds(":1e3").unwrap()[EVERY_TARGET].upper,
            Some(1000.0)
        );
        for (bad, says) in [
            ("", "expected"),
            ("0", "LO:HI"),
            ("a:1", "not a number"),
            ("5:5", "below the upper"),
            ("inf:", "finite"),
            ("x=0:,x=1:", "twice"),
        ] {
            let e = parse_bounds(bad).unwrap_err().to_string();
            assert!(e.contains("bounds") && e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn each_target_gets_its_own_range_or_the_common_one() {
        let targets = vec!["a".to_string(), "b".to_string()];
        let b = parse_bounds("0:,b=-1:1").unwrap();
        let r = per_target(&b, &targets).unwrap();
        assert_eq!((r[0].text(), r[1].text()), ("0:".into(), "-1:1".into()));
        let e = per_target(&parse_bounds("c=0:").unwrap(), &targets)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"c\" is not a target") && e.contains("a, b"),
            "{e}"
        );
        assert!(
            per_target(&BTreeMap::new(), &targets)
                .unwrap()
                .iter()
                .all(ValueRange::is_open)
        );
    }

    #[test]
    fn clipped_scaled_forecasts_map_back_inside_the_range() {
        let columns = vec!["y".to_string()];
        let values = vec![vec![0.37, 1.1, 2.9, 3.3]];
        for kind in [
            ts_data::ScalerKind::MinMax,
            ts_data::ScalerKind::Standard,
            ts_data::ScalerKind::Robust,
        ] {
            let scaler = Scaler::fit(kind, &columns, &values, 0..4).unwrap();
            let spec = WindowSpec::new(2, 2, columns.clone(), columns.clone()).unwrap();
            let (lo, hi) = (0.4131, 2.7771);
            let ranges = [ValueRange {
                lower: Some(lo),
                upper: Some(hi),
            }];
            let mid = scaler.transform_value(0, 1.5) as f32;
            let raw = [-3.0f32, mid, 9.0, f32::NAN];
            let mut p = raw;
            clip_scaled(&mut p, &ranges, &spec, &scaler);
            let back: Vec<f64> = p
                .iter()
                .map(|&x| scaler.inverse_value(0, f64::from(x)))
                .collect();
            assert!(
                back[0] >= lo && back[0] - lo < 1e-5,
                "{kind:?}: {}",
                back[0]
            );
            assert_eq!(p[1], raw[1], "inside: unchanged");
            assert!(
                back[2] <= hi && hi - back[2] < 1e-5,
                "{kind:?}: {}",
                back[2]
            );
            assert!(p[3].is_nan());
        }
    }

    #[test]
    fn clipping_moves_only_values_outside_the_range() {
        let r = ValueRange {
            lower: Some(0.0),
            upper: Some(10.0),
        };
        assert_eq!([r.clip(-1.0), r.clip(3.0), r.clip(11.0)], [0.0, 3.0, 10.0]);
        assert!(r.clip(f64::NAN).is_nan());
        assert!(r.contains(0.0) && r.contains(10.0) && !r.contains(10.5) && !r.contains(f64::NAN));
    }
}
