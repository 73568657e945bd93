//! Where trials live: [`InMemoryStorage`], the Optuna-compatible [`JournalStorage`] and (feature
//! `sqlite`, on by default) `RdbStorage`, Optuna's RDB schema on SQLite. [`open`] turns a
//! storage string (`sqlite:///study.db` or a journal file path) into a storage.
//!
//! Both keep the same in-memory model ([`Replay`]) and change it only through journal records
//! (Optuna's `JournalOperation` JSON objects), so the in-memory storage behaves exactly like a
//! journal that is never written to disk.

mod journal;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod rdb;

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

pub use journal::JournalStorage;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use rdb::RdbStorage;

/// Opens the storage `spec` names, as Optuna's storage URLs do:
/// - `sqlite:///relative/path.db` or `sqlite:////absolute/path.db`: Optuna's RDB storage on a
///   SQLite file (feature `sqlite`), created with Optuna 5.0.0's schema if missing;
/// - `postgresql://user:password@host:port/database` (also `postgres://`,
///   `postgresql+psycopg2://`): the same on PostgreSQL (feature `postgres`);
/// - anything without a `scheme://` prefix: a journal file ([`JournalStorage`]).
///
/// # Errors
/// [`TuneError::Storage`] naming the URL for a malformed URL, an unsupported scheme (MySQL, or
/// one whose feature is not built in), an unreachable server or refused credentials, a file that
/// is not a SQLite database or a database whose schema Optuna 5.0.0 would refuse; nothing is
/// written then.
pub fn open(spec: &str) -> Result<std::sync::Arc<dyn Storage>> {
    let bad = |reason: &str| TuneError::Storage {
        url: hide_password(spec),
        reason: reason.into(),
    };
    let Some((scheme, rest)) = spec.split_once("://") else {
        if spec.trim().is_empty() {
            return Err(bad(
                "an empty storage; give a journal file or sqlite:///FILE",
            ));
        }
        return Ok(std::sync::Arc::new(JournalStorage::open(spec)?));
    };
    let base = scheme.split('+').next().unwrap_or_default();
    match base {
        "sqlite" => {
            let Some(path) = rest.strip_prefix('/') else {
                return Err(bad(
                    "a SQLite URL has three slashes before a relative path (sqlite:///study.db) and four before an absolute one (sqlite:////tmp/study.db)",
                ));
            };
            if path.is_empty() {
                return Err(bad(
                    "names no file (an in-memory SQLite database would be lost at exit); write sqlite:///study.db",
                ));
            }
            if path.contains('?') {
                return Err(bad("query parameters are not supported in a SQLite URL"));
            }
            #[cfg(feature = "sqlite")]
            {
                Ok(std::sync::Arc::new(RdbStorage::open_sqlite(path)?))
            }
            #[cfg(not(feature = "sqlite"))]
            {
                Err(bad(
                    "this build of ts-tune has no SQLite support (cargo feature `sqlite`)",
                ))
            }
        }
        "postgresql" | "postgres" => {
            #[cfg(feature = "postgres")]
            {
                Ok(std::sync::Arc::new(RdbStorage::open_postgres(spec)?))
            }
            #[cfg(not(feature = "postgres"))]
            {
                Err(bad(
                    "this build of ts-tune has no PostgreSQL support (cargo feature `postgres`)",
                ))
            }
        }
        "mysql" => Err(bad(
            "MySQL storages are not supported; use postgresql://, sqlite:///FILE or a journal file",
        )),
        _ => Err(bad(&format!(
            "unknown storage scheme {scheme:?}; use sqlite:///FILE or a journal file path"
        ))),
    }
}

/// A storage URL with its password replaced by `***`, for messages.
pub fn hide_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match auth.rsplit_once('@') {
        Some((cred, host)) => match cred.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

use crate::distribution::Distribution;
use crate::error::{Result, TuneError};
use crate::trial::{Direction, FrozenTrial, TrialState};

/// Optuna's journal operation codes.
pub mod op {
    /// `CREATE_STUDY`.
    pub const CREATE_STUDY: u64 = 0;
    /// `DELETE_STUDY`.
    pub const DELETE_STUDY: u64 = 1;
    /// `SET_STUDY_USER_ATTR`.
    pub const SET_STUDY_USER_ATTR: u64 = 2;
    /// `SET_STUDY_SYSTEM_ATTR`.
    pub const SET_STUDY_SYSTEM_ATTR: u64 = 3;
    /// `CREATE_TRIAL`.
    pub const CREATE_TRIAL: u64 = 4;
    /// `SET_TRIAL_PARAM`.
    pub const SET_TRIAL_PARAM: u64 = 5;
    /// `SET_TRIAL_STATE_VALUES`.
    pub const SET_TRIAL_STATE_VALUES: u64 = 6;
    /// `SET_TRIAL_INTERMEDIATE_VALUE`.
    pub const SET_TRIAL_INTERMEDIATE_VALUE: u64 = 7;
    /// `SET_TRIAL_USER_ATTR`.
    pub const SET_TRIAL_USER_ATTR: u64 = 8;
    /// `SET_TRIAL_SYSTEM_ATTR`.
    pub const SET_TRIAL_SYSTEM_ATTR: u64 = 9;
    /// `DISCARD_TRIALS` (written only by Rustuna; ignored, as Optuna does).
    pub const DISCARD_TRIALS: u64 = 10;
}

/// Time stamp as Optuna writes it (`isoformat(timespec="microseconds")` in UTC).
pub fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

fn parse_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let s = v?.as_str()?;
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

/// A float that may be written as Python's `NaN` / `Infinity` (read as the strings the journal
/// reader turns them into).
pub(crate) fn lenient_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// A study in a storage.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyRecord {
    /// Name.
    pub name: String,
    /// One direction per objective (tsf runs single-objective studies).
    pub directions: Vec<Direction>,
    /// Storage trial ids in trial-number order.
    pub trial_ids: Vec<usize>,
    /// User attributes.
    pub user_attrs: Map<String, Value>,
    /// System attributes.
    pub system_attrs: Map<String, Value>,
}

/// The state rebuilt from journal records, with Optuna's replay rules: records from other
/// workers that refer to unknown or finished trials are skipped.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    studies: BTreeMap<usize, StudyRecord>,
    next_study_id: usize,
    trials: BTreeMap<usize, FrozenTrial>,
    trial_study: BTreeMap<usize, usize>,
    next_trial_id: usize,
    /// Start times of the trials created or claimed with [`record::FIRST_HEARTBEAT`]: their first
    /// heartbeat.
    first_heartbeats: BTreeMap<usize, DateTime<Utc>>,
}

fn field<'a>(log: &'a Value, k: &str) -> std::result::Result<&'a Value, String> {
    log.get(k).ok_or_else(|| format!("record has no {k:?}"))
}

fn id(log: &Value, k: &str) -> std::result::Result<usize, String> {
    field(log, k)?
        .as_u64()
        .map(|x| x as usize)
        .ok_or_else(|| format!("{k:?} is not a non-negative integer"))
}

fn one_attr(log: &Value, k: &str) -> std::result::Result<(String, Value), String> {
    let m = field(log, k)?
        .as_object()
        .ok_or_else(|| format!("{k:?} is not an object"))?;
    let (key, v) = m.iter().next().ok_or_else(|| format!("{k:?} is empty"))?;
    Ok((key.clone(), v.clone()))
}

impl Replay {
    /// Studies by id.
    pub fn studies(&self) -> &BTreeMap<usize, StudyRecord> {
        &self.studies
    }

    /// The id of the study called `name`.
    pub fn study_id(&self, name: &str) -> Option<usize> {
        self.studies
            .iter()
            .find(|(_, s)| s.name == name)
            .map(|(id, _)| *id)
    }

    /// A trial by storage id.
    pub fn trial(&self, trial_id: usize) -> Option<&FrozenTrial> {
        self.trials.get(&trial_id)
    }

    /// The trials of a study in number order.
    pub fn study_trials(&self, study_id: usize) -> Vec<FrozenTrial> {
        self.studies
            .get(&study_id)
            .map(|s| s.trial_ids.iter().map(|t| self.trials[t].clone()).collect())
            .unwrap_or_default()
    }

    /// Number of trials in the whole storage (the next trial id).
    pub fn n_trials(&self) -> usize {
        self.next_trial_id
    }

    /// The first heartbeat of a trial created or claimed by a worker that sends heartbeats (its
    /// start time, written in the same record; see [`record::FIRST_HEARTBEAT`]).
    pub fn first_heartbeat(&self, trial_id: usize) -> Option<DateTime<Utc>> {
        self.first_heartbeats.get(&trial_id).copied()
    }

    /// Adds a study read from elsewhere (a database) under its own id.
    pub(crate) fn insert_study(&mut self, study_id: usize, study: StudyRecord) {
        self.next_study_id = self.next_study_id.max(study_id + 1);
        self.studies.insert(study_id, study);
    }

    /// Adds a trial read from elsewhere (a database) under its own id, after the study's
    /// trials added so far.
    pub(crate) fn insert_trial(&mut self, study_id: usize, trial: FrozenTrial) {
        let id = trial.trial_id;
        self.next_trial_id = self.next_trial_id.max(id + 1);
        if let Some(s) = self.studies.get_mut(&study_id) {
            s.trial_ids.push(id);
        }
        self.trial_study.insert(id, study_id);
        self.trials.insert(id, trial);
    }

    fn updatable(&self, trial_id: usize) -> bool {
        self.trials
            .get(&trial_id)
            .is_some_and(|t| !t.state.is_finished())
    }

    /// Checks a record this process is about to write (an error instead of Optuna's exception).
    pub fn check(&self, log: &Value) -> Result<()> {
        let code = log.get("op_code").and_then(Value::as_u64).unwrap_or(99);
        if let Some(t) = log.get("trial_id").and_then(Value::as_u64) {
            let t = t as usize;
            match self.trials.get(&t) {
                None => {
                    return Err(TuneError::Trial {
                        trial_id: t,
                        reason: "no such trial".into(),
                    });
                }
                Some(tr) if tr.state.is_finished() => {
                    return Err(TuneError::Trial {
                        trial_id: t,
                        reason: format!(
                            "trial #{} has already finished and cannot be updated",
                            tr.number
                        ),
                    });
                }
                Some(tr) => {
                    let running = u64::from(TrialState::Running.code());
                    if code == op::SET_TRIAL_STATE_VALUES
                        && log.get("state").and_then(Value::as_u64) == Some(running)
                        && tr.state != TrialState::Waiting
                    {
                        return Err(TuneError::Trial {
                            trial_id: t,
                            reason: format!("trial #{} is not waiting", tr.number),
                        });
                    }
                    if code == op::SET_TRIAL_PARAM {
                        let name = log["param_name"].as_str().unwrap_or_default();
                        let dist = log["distribution"]
                            .as_str()
                            .and_then(|s| Distribution::from_json_str(s).ok());
                        if let Some(new) = dist {
                            let study = self.trial_study[&t];
                            for &other in &self.studies[&study].trial_ids {
                                if let Some(old) = self.trials[&other].distributions.get(name) {
                                    if !old.compatible(&new) {
                                        return Err(TuneError::IncompatibleDistribution {
                                            name: name.into(),
                                            old: old.to_string(),
                                            new: new.to_string(),
                                        });
                                    }
                                    break;
                                }
                            }
                        }
                        let _ = tr;
                    }
                }
            }
        }
        if let Some(s) = log.get("study_id").and_then(Value::as_u64)
            && !self.studies.contains_key(&(s as usize))
        {
            return Err(TuneError::Study {
                name: format!("#{s}"),
                reason: "no such study".into(),
            });
        }
        Ok(())
    }

    /// Applies one record. An `Err` means the record is malformed (not an Optuna journal record);
    /// records that refer to unknown or finished trials are skipped, as Optuna does for other
    /// workers' records.
    pub fn apply(&mut self, log: &Value) -> std::result::Result<(), String> {
        if !log.is_object() {
            return Err("a record must be a JSON object".into());
        }
        let code = field(log, "op_code")?
            .as_u64()
            .ok_or("\"op_code\" is not an integer")?;
        field(log, "worker_id")?;
        match code {
            op::CREATE_STUDY => self.apply_create_study(log),
            op::DELETE_STUDY => {
                let sid = id(log, "study_id")?;
                self.studies.remove(&sid);
                Ok(())
            }
            op::SET_STUDY_USER_ATTR | op::SET_STUDY_SYSTEM_ATTR => {
                self.apply_study_attr(log, code == op::SET_STUDY_USER_ATTR)
            }
            op::CREATE_TRIAL => self.apply_create_trial(log),
            op::SET_TRIAL_PARAM => self.apply_trial_param(log),
            op::SET_TRIAL_STATE_VALUES => self.apply_trial_state_values(log),
            op::SET_TRIAL_INTERMEDIATE_VALUE => self.apply_intermediate_value(log),
            op::SET_TRIAL_USER_ATTR | op::SET_TRIAL_SYSTEM_ATTR => {
                self.apply_trial_attr(log, code == op::SET_TRIAL_USER_ATTR)
            }
            op::DISCARD_TRIALS => Ok(()),
            other => Err(format!("unknown op_code {other}")),
        }
    }

    /// `CREATE_STUDY`: a new study, unless one of that name exists.
    fn apply_create_study(&mut self, log: &Value) -> std::result::Result<(), String> {
        let name = field(log, "study_name")?
            .as_str()
            .ok_or("\"study_name\" is not a string")?
            .to_string();
        let directions = field(log, "directions")?
            .as_array()
            .ok_or("\"directions\" is not a list")?
            .iter()
            .map(|d| {
                d.as_u64()
                    .and_then(Direction::from_code)
                    .ok_or_else(|| format!("invalid direction {d}"))
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        if self.study_id(&name).is_none() {
            let sid = self.next_study_id;
            self.next_study_id += 1;
            self.studies.insert(
                sid,
                StudyRecord {
                    name,
                    directions,
                    trial_ids: Vec::new(),
                    user_attrs: Map::new(),
                    system_attrs: Map::new(),
                },
            );
        }
        Ok(())
    }

    /// `SET_STUDY_USER_ATTR` (`user`) or `SET_STUDY_SYSTEM_ATTR`: one attribute of a known study.
    fn apply_study_attr(&mut self, log: &Value, user: bool) -> std::result::Result<(), String> {
        let sid = id(log, "study_id")?;
        let (k, v) = one_attr(log, if user { "user_attr" } else { "system_attr" })?;
        if let Some(s) = self.studies.get_mut(&sid) {
            if user {
                s.user_attrs.insert(k, v);
            } else {
                s.system_attrs.insert(k, v);
            }
        }
        Ok(())
    }

    /// `CREATE_TRIAL`: a new trial of a known study (its id taken even when the record turns out
    /// malformed), numbered after the study's earlier trials; its first heartbeat when a running
    /// trial's record is marked so.
    fn apply_create_trial(&mut self, log: &Value) -> std::result::Result<(), String> {
        let sid = id(log, "study_id")?;
        let Some(study) = self.studies.get_mut(&sid) else {
            return Ok(());
        };
        let trial_id = self.next_trial_id;
        self.next_trial_id += 1;
        let t = created_trial(log, trial_id, study.trial_ids.len())?;
        if t.state == TrialState::Running
            && log.get(record::FIRST_HEARTBEAT) == Some(&Value::Bool(true))
            && let Some(at) = t.datetime_start
        {
            self.first_heartbeats.insert(trial_id, at);
        }
        study.trial_ids.push(trial_id);
        self.trials.insert(trial_id, t);
        self.trial_study.insert(trial_id, sid);
        Ok(())
    }

    /// `SET_TRIAL_PARAM`: one parameter of an unfinished trial, skipped when its distribution is
    /// incompatible with the one the study's earlier trials use for that name.
    fn apply_trial_param(&mut self, log: &Value) -> std::result::Result<(), String> {
        let tid = id(log, "trial_id")?;
        let name = field(log, "param_name")?
            .as_str()
            .ok_or("\"param_name\" is not a string")?
            .to_string();
        let x = lenient_f64(field(log, "param_value_internal")?)
            .ok_or("\"param_value_internal\" is not a number")?;
        let dist = field(log, "distribution")?
            .as_str()
            .ok_or("\"distribution\" is not a JSON string".to_string())
            .and_then(Distribution::from_json_str)
            .and_then(|d| d.validated(&name).map_err(|e| e.to_string()))?;
        // A choice's internal value is its index: one past the choices names nothing (Optuna
        // fails on it when the parameter is read).
        if let Distribution::Categorical { choices } = &dist
            && !(x >= 0.0 && x.fract() == 0.0 && (x as usize) < choices.len())
        {
            return Err(format!(
                "\"param_value_internal\" {x} of {name:?} is not the index of one of its {} choices",
                choices.len()
            ));
        }
        if !self.updatable(tid) {
            return Ok(());
        }
        let sid = self.trial_study[&tid];
        if let Some(study) = self.studies.get(&sid) {
            for &other in &study.trial_ids {
                if let Some(old) = self.trials[&other].distributions.get(&name) {
                    if !old.compatible(&dist) {
                        return Ok(());
                    }
                    break;
                }
            }
        }
        let Some(t) = self.trials.get_mut(&tid) else {
            return Ok(());
        };
        t.params.insert(name.clone(), x);
        t.distributions.insert(name, dist);
        Ok(())
    }

    /// `SET_TRIAL_STATE_VALUES`: an unfinished trial's new state (with its start or completion
    /// time, and its first heartbeat when a claim is marked so) and value; a running trial
    /// claimed again is left as it is.
    fn apply_trial_state_values(&mut self, log: &Value) -> std::result::Result<(), String> {
        let tid = id(log, "trial_id")?;
        let s = field(log, "state")?
            .as_u64()
            .and_then(TrialState::from_code)
            .ok_or("\"state\" is not a trial state")?;
        if !self.updatable(tid) {
            return Ok(());
        }
        let Some(t) = self.trials.get_mut(&tid) else {
            return Ok(());
        };
        if s == TrialState::Running && t.state == TrialState::Running {
            return Ok(());
        }
        if s == TrialState::Running {
            t.datetime_start = parse_time(log.get("datetime_start"));
            if log.get(record::FIRST_HEARTBEAT) == Some(&Value::Bool(true))
                && let Some(at) = t.datetime_start
            {
                self.first_heartbeats.insert(tid, at);
            }
        }
        if s.is_finished() {
            t.datetime_complete = parse_time(log.get("datetime_complete"));
        }
        t.state = s;
        if let Some(vals) = log.get("values").and_then(Value::as_array) {
            t.value = vals.first().and_then(lenient_f64);
        }
        Ok(())
    }

    /// `SET_TRIAL_INTERMEDIATE_VALUE`: one intermediate value of an unfinished trial.
    fn apply_intermediate_value(&mut self, log: &Value) -> std::result::Result<(), String> {
        let tid = id(log, "trial_id")?;
        let step = field(log, "step")?
            .as_i64()
            .ok_or("\"step\" is not an integer")?;
        let v = lenient_f64(field(log, "intermediate_value")?)
            .ok_or("\"intermediate_value\" is not a number")?;
        if self.updatable(tid)
            && let Some(t) = self.trials.get_mut(&tid)
        {
            t.intermediate.insert(step, v);
        }
        Ok(())
    }

    /// `SET_TRIAL_USER_ATTR` (`user`) or `SET_TRIAL_SYSTEM_ATTR`: one attribute of an unfinished
    /// trial.
    fn apply_trial_attr(&mut self, log: &Value, user: bool) -> std::result::Result<(), String> {
        let tid = id(log, "trial_id")?;
        let (k, v) = one_attr(log, if user { "user_attr" } else { "system_attr" })?;
        if self.updatable(tid) {
            let Some(t) = self.trials.get_mut(&tid) else {
                return Ok(());
            };
            if user {
                t.user_attrs.insert(k, v);
            } else {
                t.system_attrs.insert(k, v);
            }
        }
        Ok(())
    }
}

/// The trial a `CREATE_TRIAL` record describes, with id `trial_id` and number `number`: its
/// state, distributions, parameters (each with a distribution), value (`value`, else the first of
/// `values`), intermediate values, times and attributes.
fn created_trial(
    log: &Value,
    trial_id: usize,
    number: usize,
) -> std::result::Result<FrozenTrial, String> {
    let mut t = FrozenTrial::new(trial_id, number, parse_time(log.get("datetime_start")));
    if let Some(s) = log.get("state").and_then(Value::as_u64) {
        t.state = TrialState::from_code(s).ok_or_else(|| format!("invalid state {s}"))?;
    }
    if let Some(d) = log.get("distributions").and_then(Value::as_object) {
        for (k, v) in d {
            let dist = v
                .as_str()
                .ok_or("a distribution is not a JSON string".to_string())
                .and_then(Distribution::from_json_str)
                .and_then(|d| d.validated(k).map_err(|e| e.to_string()))?;
            t.distributions.insert(k.clone(), dist);
        }
    }
    if let Some(p) = log.get("params").and_then(Value::as_object) {
        for (k, v) in p {
            if !t.distributions.contains_key(k) {
                return Err(format!("parameter {k:?} has no distribution"));
            }
            let x = lenient_f64(v).ok_or_else(|| format!("parameter {k:?} is not a number"))?;
            t.params.insert(k.clone(), x);
        }
    }
    t.value = log.get("value").and_then(lenient_f64);
    if t.value.is_none() {
        t.value = log
            .get("values")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(lenient_f64);
    }
    if let Some(iv) = log.get("intermediate_values").and_then(Value::as_object) {
        for (k, v) in iv {
            if let (Ok(step), Some(x)) = (k.parse::<i64>(), lenient_f64(v)) {
                t.intermediate.insert(step, x);
            }
        }
    }
    t.datetime_complete = parse_time(log.get("datetime_complete"));
    if let Some(a) = log.get("user_attrs").and_then(Value::as_object) {
        t.user_attrs = a.clone();
    }
    if let Some(a) = log.get("system_attrs").and_then(Value::as_object) {
        t.system_attrs = a.clone();
    }
    Ok(t)
}

/// Journal records for the operations a study performs.
pub mod record {
    use super::*;

    /// Key added (`true`) to a `CREATE_TRIAL` record of a running trial, or to the
    /// `SET_TRIAL_STATE_VALUES` record that claims a waiting one, by a worker that sends
    /// heartbeats: the record is also the trial's first heartbeat (at its start time), so no
    /// worker can die between creating a trial and its first heartbeat, leaving a `RUNNING` trial
    /// that would never be found dead. Optuna's journal replay ignores keys it does not read; the
    /// RDB storages write a `trial_heartbeats` row in the same transaction instead.
    pub const FIRST_HEARTBEAT: &str = "tsf_heartbeat";

    /// `record` marked with [`FIRST_HEARTBEAT`].
    pub fn with_first_heartbeat(mut record: Value) -> Value {
        record[FIRST_HEARTBEAT] = Value::Bool(true);
        record
    }

    /// `CREATE_STUDY`.
    pub fn create_study(name: &str, direction: Direction) -> Value {
        json!({"op_code": op::CREATE_STUDY, "study_name": name, "directions": [direction.code()]})
    }

    /// `CREATE_TRIAL` (running, started now).
    pub fn create_trial(study_id: usize) -> Value {
        json!({"op_code": op::CREATE_TRIAL, "study_id": study_id, "datetime_start": iso(Utc::now())})
    }

    /// `CREATE_TRIAL` of a whole trial (Optuna's `study.add_trial`): state, start and end times,
    /// value, parameters with their distributions, intermediate values and attributes of
    /// `template`; its id and number are ignored.
    pub fn create_trial_from(study_id: usize, template: &FrozenTrial) -> Value {
        let dists: Map<String, Value> = template
            .distributions
            .iter()
            .map(|(k, d)| (k.clone(), Value::String(d.to_json_string())))
            .collect();
        let params: Map<String, Value> = template
            .params
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let inter: Map<String, Value> = template
            .intermediate
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let mut rec = json!({"op_code": op::CREATE_TRIAL, "study_id": study_id,
               "state": template.state.code(),
               "datetime_start": template.datetime_start.map(iso),
               "distributions": dists, "params": params,
               "user_attrs": template.user_attrs, "system_attrs": template.system_attrs,
               "intermediate_values": inter,
               "value": template.value, "values": null});
        // As Optuna writes it: the key only when there is an end time (Optuna 5.0.0's replay
        // parses `datetime_complete` whenever the key is present, and fails on `null`).
        if let Some(t) = template.datetime_complete {
            rec["datetime_complete"] = json!(iso(t));
        }
        rec
    }

    /// `SET_TRIAL_STATE_VALUES` to `RUNNING`: takes a waiting trial.
    pub fn start_waiting(trial_id: usize) -> Value {
        json!({"op_code": op::SET_TRIAL_STATE_VALUES, "trial_id": trial_id,
               "state": TrialState::Running.code(), "values": null,
               "datetime_start": iso(Utc::now())})
    }

    /// `SET_TRIAL_PARAM`.
    pub fn set_param(trial_id: usize, name: &str, internal: f64, dist: &Distribution) -> Value {
        json!({"op_code": op::SET_TRIAL_PARAM, "trial_id": trial_id, "param_name": name,
               "param_value_internal": internal, "distribution": dist.to_json_string()})
    }

    /// `SET_TRIAL_STATE_VALUES` for a finished trial.
    pub fn finish(trial_id: usize, state: TrialState, value: Option<f64>) -> Value {
        json!({"op_code": op::SET_TRIAL_STATE_VALUES, "trial_id": trial_id, "state": state.code(),
               "values": value.map(|v| vec![v]), "datetime_complete": iso(Utc::now())})
    }

    /// `SET_TRIAL_INTERMEDIATE_VALUE`.
    pub fn intermediate(trial_id: usize, step: i64, value: f64) -> Value {
        json!({"op_code": op::SET_TRIAL_INTERMEDIATE_VALUE, "trial_id": trial_id, "step": step,
               "intermediate_value": value})
    }

    /// `SET_TRIAL_SYSTEM_ATTR`.
    pub fn system_attr(trial_id: usize, key: &str, value: Value) -> Value {
        json!({"op_code": op::SET_TRIAL_SYSTEM_ATTR, "trial_id": trial_id, "system_attr": {key: value}})
    }

    /// `SET_STUDY_USER_ATTR`.
    pub fn study_user_attr(study_id: usize, key: &str, value: Value) -> Value {
        json!({"op_code": op::SET_STUDY_USER_ATTR, "study_id": study_id, "user_attr": {key: value}})
    }

    /// `SET_TRIAL_USER_ATTR`.
    pub fn user_attr(trial_id: usize, key: &str, value: Value) -> Value {
        json!({"op_code": op::SET_TRIAL_USER_ATTR, "trial_id": trial_id, "user_attr": {key: value}})
    }
}

/// What a storage reports after writing a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Trials in the whole storage after the record (the last one has id `n_trials - 1`).
    pub n_trials: usize,
    /// Number (within its study) of the storage's last trial.
    pub last_number: Option<usize>,
}

impl Appended {
    fn of(r: &Replay) -> Self {
        Self {
            n_trials: r.n_trials(),
            last_number: r.trials.last_key_value().map(|(_, t)| t.number),
        }
    }
}

/// A place where studies and trials are kept. Every change is one journal record.
pub trait Storage: Send + Sync {
    /// Writes one record (adding this worker's `worker_id`) after every earlier record of other
    /// workers, and applies it.
    fn append(&self, record: Value) -> Result<Appended>;
    /// Runs `f` on the current state (synchronised with other writers first).
    fn read(&self, f: &mut dyn FnMut(&Replay)) -> Result<()>;
    /// Where the storage is, for messages.
    fn describe(&self) -> String;

    /// A copy of the current state.
    fn snapshot(&self) -> Result<Replay> {
        let mut out = Replay::default();
        self.read(&mut |r| out = r.clone())?;
        Ok(out)
    }

    /// The id of study `name`, created if missing; an error if it exists with another direction
    /// or several objectives.
    fn load_or_create_study(&self, name: &str, direction: Direction) -> Result<usize> {
        let mut found = None;
        self.read(&mut |r| found = r.study_id(name))?;
        if found.is_none() {
            self.append(record::create_study(name, direction))?;
        }
        let mut dirs = Vec::new();
        self.read(&mut |r| {
            found = r.study_id(name);
            if let Some(sid) = found {
                dirs = r.studies[&sid].directions.clone();
            }
        })?;
        let sid = found.ok_or_else(|| TuneError::Study {
            name: name.into(),
            reason: format!("was not created in {}", self.describe()),
        })?;
        if dirs.len() != 1 {
            return Err(TuneError::Study {
                name: name.into(),
                reason: format!(
                    "{} has {} objectives; tsf runs single-objective studies",
                    self.describe(),
                    dirs.len()
                ),
            });
        }
        if dirs[0] != direction {
            let word = |d: Direction| match d {
                Direction::Minimize => "minimises",
                Direction::Maximize => "maximises",
            };
            return Err(TuneError::Study {
                name: name.into(),
                reason: format!(
                    "the study in {} {} its objective but this run {}; use another study name or direction",
                    self.describe(),
                    word(dirs[0]),
                    word(direction)
                ),
            });
        }
        Ok(sid)
    }

    /// Creates a running trial; returns (trial id, number).
    fn create_trial(&self, study_id: usize) -> Result<(usize, usize)> {
        created(self.append(record::create_trial(study_id))?)
    }

    /// [`Storage::create_trial`] whose write is also the trial's first heartbeat
    /// ([`record::FIRST_HEARTBEAT`]), for workers that send heartbeats.
    fn create_trial_beating(&self, study_id: usize) -> Result<(usize, usize)> {
        created(self.append(record::with_first_heartbeat(record::create_trial(study_id)))?)
    }

    /// Adds a whole trial to a study (Optuna's `study.add_trial`, used to re-enqueue failed
    /// trials as `WAITING`); returns its id.
    fn add_trial(&self, study_id: usize, template: &FrozenTrial) -> Result<usize> {
        let a = self.append(record::create_trial_from(study_id, template))?;
        a.n_trials.checked_sub(1).ok_or_else(|| TuneError::Trial {
            trial_id: 0,
            reason: "was not created".into(),
        })
    }

    /// Takes a `WAITING` trial for this worker (it becomes `RUNNING`); `false` when another
    /// worker took it first or it is not waiting.
    fn claim_waiting(&self, trial_id: usize) -> Result<bool> {
        claimed(self.append(record::start_waiting(trial_id)))
    }

    /// [`Storage::claim_waiting`] whose write is also the trial's first heartbeat
    /// ([`record::FIRST_HEARTBEAT`]).
    fn claim_waiting_beating(&self, trial_id: usize) -> Result<bool> {
        claimed(
            self.append(record::with_first_heartbeat(record::start_waiting(
                trial_id,
            ))),
        )
    }

    /// Marks a trial `FAIL` unless it has finished; `false` when it had (another worker failed or
    /// finished it first).
    fn fail_trial(&self, trial_id: usize) -> Result<bool> {
        match self.append(record::finish(trial_id, TrialState::Fail, None)) {
            Ok(_) => Ok(true),
            Err(TuneError::Trial { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether the storage keeps heartbeats (Optuna's `BaseHeartbeat`).
    fn supports_heartbeat(&self) -> bool {
        false
    }

    /// Records that a running trial is alive now (Optuna's `record_heartbeat`).
    fn record_heartbeat(&self, trial_id: usize) -> Result<()> {
        Err(TuneError::Trial {
            trial_id,
            reason: format!("{} keeps no heartbeats", self.describe()),
        })
    }

    /// The running trials of a study whose last heartbeat is older than `grace` (Optuna's
    /// `_get_stale_trial_ids`; trials that never sent one are not stale).
    fn stale_trials(&self, study_id: usize, grace: std::time::Duration) -> Result<Vec<usize>> {
        let _ = (study_id, grace);
        Ok(Vec::new())
    }

    /// All trials of a study.
    fn trials(&self, study_id: usize) -> Result<Vec<FrozenTrial>> {
        let mut out = Vec::new();
        self.read(&mut |r| out = r.study_trials(study_id))?;
        Ok(out)
    }

    /// The `WAITING` trials of a study, in number order (a storage may read only those).
    fn waiting_trials(&self, study_id: usize) -> Result<Vec<FrozenTrial>> {
        let mut out = self.trials(study_id)?;
        out.retain(|t| t.state == TrialState::Waiting);
        Ok(out)
    }

    /// One trial.
    fn trial(&self, trial_id: usize) -> Result<FrozenTrial> {
        let mut out = None;
        self.read(&mut |r| out = r.trial(trial_id).cloned())?;
        out.ok_or_else(|| TuneError::Trial {
            trial_id,
            reason: "no such trial".into(),
        })
    }
}

/// The (id, number) of the trial a `CREATE_TRIAL` record made.
fn created(a: Appended) -> Result<(usize, usize)> {
    let tid = a.n_trials.checked_sub(1).ok_or_else(|| TuneError::Trial {
        trial_id: 0,
        reason: "was not created".into(),
    })?;
    Ok((tid, a.last_number.unwrap_or(0)))
}

/// Whether a claim of a waiting trial was won (another worker's claim, or a trial no longer
/// waiting, is `false`).
fn claimed(r: Result<Appended>) -> Result<bool> {
    match r {
        Ok(_) => Ok(true),
        Err(TuneError::Trial { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Trials kept in memory only (lost when the process ends).
#[derive(Debug, Default)]
pub struct InMemoryStorage {
    state: Mutex<Replay>,
}

impl InMemoryStorage {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Storage for InMemoryStorage {
    fn append(&self, mut rec: Value) -> Result<Appended> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        rec["worker_id"] = Value::String("memory".into());
        s.check(&rec)?;
        s.apply(&rec).map_err(|reason| TuneError::Study {
            name: "(memory)".into(),
            reason,
        })?;
        Ok(Appended::of(&s))
    }

    fn read(&self, f: &mut dyn FnMut(&Replay)) -> Result<()> {
        f(&self.state.lock().unwrap_or_else(|e| e.into_inner()));
        Ok(())
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}
