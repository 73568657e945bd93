//! Optuna's `RDBStorage` on SQLite: the tables, columns, enum spellings, JSON encodings and
//! version stamps Optuna 5.0.0 writes, so that tsf, Optuna and optuna-dashboard share one
//! database file.
//!
//! Every change runs in one `BEGIN IMMEDIATE` transaction (SQLite's write lock, taken at the
//! start), so a trial's number is the count of the study's earlier trials inside the transaction
//! that inserts it, as in Optuna: unique under any number of threads and processes. A busy or
//! locked database is waited for (SQLite's busy timeout) and the transaction retried with a
//! bounded, jittered back-off.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Local, NaiveDateTime, TimeZone, Utc};
use rusqlite::{
    Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior, params,
};
use serde_json::{Map, Value};

use super::journal::python_tokens;
use super::{Appended, Replay, Storage, StudyRecord, lenient_f64, op};
use crate::distribution::Distribution;
use crate::error::{Result, TuneError};
use crate::trial::{Direction, FrozenTrial, TrialState};

/// `version_info.schema_version` of Optuna 5.0.0 (`optuna.storages._rdb.models.SCHEMA_VERSION`).
pub const SCHEMA_VERSION: i64 = 12;
/// `alembic_version.version_num` of Optuna 5.0.0 (the head revision of its migrations).
pub const ALEMBIC_HEAD: &str = "v3.2.0.a";
/// `version_info.library_version` tsf writes into a database it creates.
pub const LIBRARY_VERSION: &str = "5.0.0";
/// Optuna's earlier alembic revisions: a database stamped with one of these needs
/// `optuna storage upgrade`.
const OLDER_REVISIONS: [&str; 9] = [
    "v0.9.0.a", "v1.2.0.a", "v1.3.0.a", "v2.4.0.a", "v2.6.0.a", "v3.0.0.a", "v3.0.0.b", "v3.0.0.c",
    "v3.0.0.d",
];

/// Attempts of one transaction on a busy database before giving up.
const MAX_ATTEMPTS: u32 = 8;
/// SQLite's own wait for a lock, per attempt.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Optuna 5.0.0's DDL on SQLite, table by table, exactly as SQLAlchemy emits it.
const TABLES: [(&str, &str); 13] = [
    (
        "studies",
        "CREATE TABLE studies (\n\tstudy_id INTEGER NOT NULL, \n\tstudy_name VARCHAR(512) NOT NULL, \n\tPRIMARY KEY (study_id)\n);\nCREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name);",
    ),
    (
        "version_info",
        "CREATE TABLE version_info (\n\tversion_info_id INTEGER NOT NULL, \n\tschema_version INTEGER, \n\tlibrary_version VARCHAR(256), \n\tPRIMARY KEY (version_info_id), \n\tCHECK (version_info_id=1)\n);",
    ),
    (
        "study_directions",
        "CREATE TABLE study_directions (\n\tstudy_direction_id INTEGER NOT NULL, \n\tdirection VARCHAR(8) NOT NULL, \n\tstudy_id INTEGER NOT NULL, \n\tobjective INTEGER NOT NULL, \n\tPRIMARY KEY (study_direction_id), \n\tUNIQUE (study_id, objective), \n\tFOREIGN KEY(study_id) REFERENCES studies (study_id)\n);",
    ),
    (
        "study_user_attributes",
        "CREATE TABLE study_user_attributes (\n\tstudy_user_attribute_id INTEGER NOT NULL, \n\tstudy_id INTEGER, \n\t\"key\" VARCHAR(512), \n\tvalue_json TEXT, \n\tPRIMARY KEY (study_user_attribute_id), \n\tUNIQUE (study_id, \"key\"), \n\tFOREIGN KEY(study_id) REFERENCES studies (study_id)\n);",
    ),
    (
        "study_system_attributes",
        "CREATE TABLE study_system_attributes (\n\tstudy_system_attribute_id INTEGER NOT NULL, \n\tstudy_id INTEGER, \n\t\"key\" VARCHAR(512), \n\tvalue_json TEXT, \n\tPRIMARY KEY (study_system_attribute_id), \n\tUNIQUE (study_id, \"key\"), \n\tFOREIGN KEY(study_id) REFERENCES studies (study_id)\n);",
    ),
    (
        "trials",
        "CREATE TABLE trials (\n\ttrial_id INTEGER NOT NULL, \n\tnumber INTEGER, \n\tstudy_id INTEGER, \n\tstate VARCHAR(8) NOT NULL, \n\tdatetime_start DATETIME, \n\tdatetime_complete DATETIME, \n\tPRIMARY KEY (trial_id), \n\tFOREIGN KEY(study_id) REFERENCES studies (study_id)\n);\nCREATE INDEX ix_trials_study_id ON trials (study_id);",
    ),
    (
        "trial_user_attributes",
        "CREATE TABLE trial_user_attributes (\n\ttrial_user_attribute_id INTEGER NOT NULL, \n\ttrial_id INTEGER, \n\t\"key\" VARCHAR(512), \n\tvalue_json TEXT, \n\tPRIMARY KEY (trial_user_attribute_id), \n\tUNIQUE (trial_id, \"key\"), \n\tFOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n);",
    ),
    (
        "trial_system_attributes",
        "CREATE TABLE trial_system_attributes (\n\ttrial_system_attribute_id INTEGER NOT NULL, \n\ttrial_id INTEGER, \n\t\"key\" VARCHAR(512), \n\tvalue_json TEXT, \n\tPRIMARY KEY (trial_system_attribute_id), \n\tUNIQUE (trial_id, \"key\"), \n\tFOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n);",
    ),
    (
        "trial_params",
        "CREATE TABLE trial_params (\n\tparam_id INTEGER NOT NULL, \n\ttrial_id INTEGER, \n\tparam_name VARCHAR(512), \n\tparam_value FLOAT, \n\tdistribution_json TEXT, \n\tPRIMARY KEY (param_id), \n\tUNIQUE (trial_id, param_name), \n\tFOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n);",
    ),
    (
        "trial_values",
        "CREATE TABLE trial_values (\n\ttrial_value_id INTEGER NOT NULL, \n\ttrial_id INTEGER NOT NULL, \n\tobjective INTEGER NOT NULL, \n\tvalue FLOAT, \n\tvalue_type VARCHAR(7) NOT NULL, \n\tPRIMARY KEY (trial_value_id), \n\tUNIQUE (trial_id, objective), \n\tFOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n);",
    ),
    (
        "trial_intermediate_values",
        "CREATE TABLE trial_intermediate_values (\n\ttrial_intermediate_value_id INTEGER NOT NULL, \n\ttrial_id INTEGER NOT NULL, \n\tstep INTEGER NOT NULL, \n\tintermediate_value FLOAT, \n\tintermediate_value_type VARCHAR(7) NOT NULL, \n\tPRIMARY KEY (trial_intermediate_value_id), \n\tUNIQUE (trial_id, step), \n\tFOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n);",
    ),
    (
        "trial_heartbeats",
        "CREATE TABLE trial_heartbeats (\n\ttrial_heartbeat_id INTEGER NOT NULL, \n\ttrial_id INTEGER NOT NULL, \n\theartbeat DATETIME NOT NULL, \n\tPRIMARY KEY (trial_heartbeat_id), \n\tUNIQUE (trial_id), \n\tFOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n);",
    ),
    (
        "alembic_version",
        "CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT NULL, \n\tCONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n);",
    ),
];

/// SQLAlchemy's spelling of a trial state (the enum member's name).
fn state_name(s: TrialState) -> &'static str {
    match s {
        TrialState::Running => "RUNNING",
        TrialState::Complete => "COMPLETE",
        TrialState::Pruned => "PRUNED",
        TrialState::Fail => "FAIL",
        TrialState::Waiting => "WAITING",
    }
}

fn parse_state(s: &str) -> Option<TrialState> {
    Some(match s {
        "RUNNING" => TrialState::Running,
        "COMPLETE" => TrialState::Complete,
        "PRUNED" => TrialState::Pruned,
        "FAIL" => TrialState::Fail,
        "WAITING" => TrialState::Waiting,
        _ => return None,
    })
}

fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::Minimize => "MINIMIZE",
        Direction::Maximize => "MAXIMIZE",
    }
}

/// A value as Optuna stores it: `(value, type)` with `NULL` for the infinities (and NaN, for
/// intermediate values).
fn stored_float(v: f64) -> (Option<f64>, &'static str) {
    if v == f64::INFINITY {
        (None, "INF_POS")
    } else if v == f64::NEG_INFINITY {
        (None, "INF_NEG")
    } else if v.is_nan() {
        (None, "NAN")
    } else {
        (Some(v), "FINITE")
    }
}

fn read_float(v: Option<f64>, kind: &str) -> f64 {
    match kind {
        "INF_POS" => f64::INFINITY,
        "INF_NEG" => f64::NEG_INFINITY,
        "NAN" => f64::NAN,
        _ => v.unwrap_or(f64::NAN),
    }
}

/// A local, naive time stamp as SQLAlchemy writes Python's `datetime.now()` on SQLite.
fn local_stamp(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .naive_local()
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string()
}

fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"))
        .ok()
}

fn parse_local(s: Option<String>) -> Option<DateTime<Utc>> {
    let n = parse_naive(&s?)?;
    Local
        .from_local_datetime(&n)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// `json.dumps` text back to a value (Python's `NaN` / `Infinity` read as strings).
fn read_json(text: &str) -> Value {
    serde_json::from_str(&python_tokens(text)).unwrap_or_else(|_| Value::String(text.into()))
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// What one write transaction produced.
enum Written {
    Nothing,
    Trial { id: usize, number: usize },
}

/// Optuna's RDB storage on a SQLite file (`sqlite:///relative.db`, `sqlite:////abs/path.db`).
#[derive(Debug)]
pub struct RdbStorage {
    url: String,
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl RdbStorage {
    /// Opens (creating if missing) the SQLite database at `path`, creating Optuna's tables and
    /// version stamps in a new database. A file that is not SQLite, or a database whose schema
    /// Optuna 5.0.0 would refuse, is an error and nothing is written to it.
    pub fn open_sqlite(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        // An absolute path starts with '/', which gives the URL its fourth slash.
        let url = format!("sqlite:///{}", path.display());
        if path.is_dir() {
            return Err(Self::err_at(&url, "is a folder, not a database file"));
        }
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
            && !parent.is_dir()
        {
            return Err(Self::err_at(
                &url,
                &format!("folder {} does not exist", parent.display()),
            ));
        }
        let fresh = std::fs::metadata(&path).map_or(true, |m| m.len() == 0);
        let conn = Connection::open(&path).map_err(|e| Self::err_at(&url, &e.to_string()))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| Self::err_at(&url, &e.to_string()))?;
        if fresh && std::env::var_os("TSF_SQLITE_NO_WAL").is_none() {
            // A database tsf creates uses SQLite's write-ahead log: readers never block the
            // writer and a commit costs one fsync instead of three. The mode is stored in the
            // file, so Optuna's processes use it too; the tables are the same.
            conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0))
                .map_err(|e| Self::err_at(&url, &e.to_string()))?;
        }
        let s = Self {
            url,
            path,
            conn: Mutex::new(conn),
        };
        s.init_schema()?;
        Ok(s)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err_at(url: &str, msg: &str) -> TuneError {
        TuneError::Storage {
            url: url.into(),
            reason: msg.into(),
        }
    }

    fn err(&self, e: impl std::fmt::Display) -> TuneError {
        Self::err_at(&self.url, &e.to_string())
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks the version stamps (reading only), then creates whatever tables are missing.
    fn init_schema(&self) -> Result<()> {
        let mut conn = self.conn();
        let tables = existing_tables(&conn).map_err(|e| self.err(e))?;
        self.check_versions(&conn, &tables)?;
        if TABLES.iter().all(|(t, _)| tables.contains(&t.to_string()))
            && stamped(&conn).map_err(|e| self.err(e))?
        {
            return Ok(());
        }
        self.with_retry(&mut conn, |tx| {
            let tables = existing_tables(tx)?;
            for (name, ddl) in TABLES {
                if !tables.iter().any(|t| t == name) {
                    tx.execute_batch(ddl)?;
                }
            }
            tx.execute(
                "INSERT INTO version_info (version_info_id, schema_version, library_version) \
                 SELECT 1, ?1, ?2 WHERE NOT EXISTS (SELECT 1 FROM version_info)",
                params![SCHEMA_VERSION, LIBRARY_VERSION],
            )?;
            tx.execute(
                "INSERT INTO alembic_version (version_num) SELECT ?1 \
                 WHERE NOT EXISTS (SELECT 1 FROM alembic_version)",
                params![ALEMBIC_HEAD],
            )?;
            Ok(Written::Nothing)
        })?;
        Ok(())
    }

    fn check_versions(&self, conn: &Connection, tables: &[String]) -> Result<()> {
        let has = |t: &str| tables.iter().any(|x| x == t);
        let library: Option<String> = if has("version_info") {
            conn.query_row(
                "SELECT schema_version, library_version FROM version_info LIMIT 1",
                [],
                |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<String>>(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?
            .and_then(|(schema, lib)| {
                if schema == Some(SCHEMA_VERSION) {
                    None
                } else {
                    Some(format!(
                        "schema version {} (set up by optuna {})",
                        schema.map_or("NULL".into(), |s| s.to_string()),
                        lib.unwrap_or_else(|| "?".into())
                    ))
                }
            })
        } else {
            None
        };
        let revision: Option<String> = if has("alembic_version") {
            conn.query_row("SELECT version_num FROM alembic_version LIMIT 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))?
        } else {
            None
        };
        let refuse = |what: String, older: bool| {
            let hint = if older {
                format!(
                    "upgrade it with `optuna storage upgrade --storage {}`",
                    self.url
                )
            } else {
                "it was written by a newer Optuna".to_string()
            };
            Err(self.err(format!(
                "the database has {what}; Optuna 5.0.0 (and tsf) need schema {SCHEMA_VERSION}, revision {ALEMBIC_HEAD}: {hint}"
            )))
        };
        match revision {
            Some(r) if r != ALEMBIC_HEAD => {
                let older = OLDER_REVISIONS.contains(&r.as_str());
                refuse(format!("alembic revision {r}"), older)
            }
            None if library.is_some() => refuse(library.unwrap_or_default(), true),
            _ => Ok(()),
        }
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction, retrying on a busy or locked database.
    fn with_retry<T>(
        &self,
        conn: &mut Connection,
        mut f: impl FnMut(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        self.retry(conn, |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// Runs `f`, retrying with a jittered, doubling back-off (10 ms … 1 s) while the database is
    /// busy or locked; at most [`MAX_ATTEMPTS`] attempts.
    fn retry<T>(
        &self,
        conn: &mut Connection,
        mut f: impl FnMut(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let mut wait = Duration::from_millis(10);
        for attempt in 1..=MAX_ATTEMPTS {
            match f(conn) {
                Ok(v) => return Ok(v),
                Err(e) if is_busy(&e) && attempt < MAX_ATTEMPTS => {
                    let jitter: f64 = rand::random::<f64>() + 0.5;
                    std::thread::sleep(wait.mul_f64(jitter));
                    wait = (wait * 2).min(Duration::from_secs(1));
                }
                Err(e) => return Err(self.err(e)),
            }
        }
        unreachable!("the last attempt returns")
    }

    /// Writes one journal-style record in a transaction (see [`Storage::append`]).
    fn write(&self, rec: &Value) -> Result<Written> {
        let code = rec
            .get("op_code")
            .and_then(Value::as_u64)
            .ok_or_else(|| self.err("a record without an op_code"))?;
        let mut conn = self.conn();
        let mut refusal: Option<TuneError> = None;
        let out = self.with_retry(&mut conn, |tx| {
            refusal = None;
            match apply(tx, code, rec) {
                Ok(w) => Ok(w),
                Err(Apply::Sql(e)) => Err(e),
                Err(Apply::Refused(e)) => {
                    refusal = Some(e);
                    // Roll back: nothing of a refused record is written.
                    Err(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                        Some("refused".into()),
                    ))
                }
            }
        });
        match (out, refusal) {
            (_, Some(e)) => Err(e),
            (r, None) => r,
        }
    }

    fn load(&self, study: Option<usize>) -> Result<Replay> {
        let mut conn = self.conn();
        self.retry(&mut conn, |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let r = load(&tx, study)?;
            tx.commit()?;
            Ok(r)
        })
    }
}

/// Why applying a record failed.
enum Apply {
    Sql(rusqlite::Error),
    Refused(TuneError),
}

impl From<rusqlite::Error> for Apply {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sql(e)
    }
}

fn existing_tables(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
    st.query_map([], |r| r.get(0))?.collect()
}

fn stamped(conn: &Connection) -> rusqlite::Result<bool> {
    let v: i64 = conn.query_row(
        "SELECT (SELECT COUNT(*) FROM version_info) * (SELECT COUNT(*) FROM alembic_version)",
        [],
        |r| r.get(0),
    )?;
    Ok(v > 0)
}

fn refused(trial_id: usize, reason: String) -> Apply {
    Apply::Refused(TuneError::Trial { trial_id, reason })
}

fn num(rec: &Value, k: &str) -> std::result::Result<i64, Apply> {
    rec.get(k)
        .and_then(Value::as_u64)
        .map(|x| x as i64)
        .ok_or_else(|| {
            Apply::Refused(TuneError::Study {
                name: "(record)".into(),
                reason: format!("{k:?} is missing or not a non-negative integer"),
            })
        })
}

fn one_attr(rec: &Value, k: &str) -> Option<(String, Value)> {
    let (key, v) = rec.get(k)?.as_object()?.iter().next()?;
    Some((key.clone(), v.clone()))
}

/// The state of a trial that may still be changed; refuses unknown and finished trials.
fn updatable(tx: &Transaction<'_>, trial_id: i64) -> std::result::Result<TrialState, Apply> {
    let row: Option<(String, Option<i64>)> = tx
        .query_row(
            "SELECT state, number FROM trials WHERE trial_id = ?1",
            [trial_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let tid = trial_id as usize;
    let Some((state, number)) = row else {
        return Err(refused(tid, "no such trial".into()));
    };
    let state = parse_state(&state).unwrap_or(TrialState::Fail);
    if state.is_finished() {
        return Err(refused(
            tid,
            format!(
                "trial #{} has already finished and cannot be updated",
                number.unwrap_or(-1)
            ),
        ));
    }
    Ok(state)
}

fn set_param(
    tx: &Transaction<'_>,
    trial_id: i64,
    name: &str,
    internal: f64,
    dist: &Distribution,
) -> std::result::Result<(), Apply> {
    let earlier: Option<String> = tx
        .query_row(
            "SELECT p.distribution_json FROM trial_params p JOIN trials t ON p.trial_id = t.trial_id \
             WHERE t.study_id = (SELECT study_id FROM trials WHERE trial_id = ?1) \
             AND p.param_name = ?2 LIMIT 1",
            params![trial_id, name],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(old) = earlier.and_then(|j| Distribution::from_json_str(&j).ok())
        && !old.compatible(dist)
    {
        return Err(Apply::Refused(TuneError::IncompatibleDistribution {
            name: name.into(),
            old: old.to_string(),
            new: dist.to_string(),
        }));
    }
    tx.execute(
        "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) \
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (trial_id, param_name) DO UPDATE SET \
         param_value = excluded.param_value, distribution_json = excluded.distribution_json",
        params![trial_id, name, internal, dist.to_json_string()],
    )?;
    Ok(())
}

fn set_value(tx: &Transaction<'_>, trial_id: i64, v: f64) -> rusqlite::Result<()> {
    let (value, kind) = stored_float(v);
    tx.execute(
        "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?1, 0, ?2, ?3) \
         ON CONFLICT (trial_id, objective) DO UPDATE SET value = excluded.value, \
         value_type = excluded.value_type",
        params![trial_id, value, kind],
    )?;
    Ok(())
}

fn set_intermediate(
    tx: &Transaction<'_>,
    trial_id: i64,
    step: i64,
    v: f64,
) -> rusqlite::Result<()> {
    let (value, kind) = stored_float(v);
    tx.execute(
        "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, \
         intermediate_value_type) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (trial_id, step) DO UPDATE \
         SET intermediate_value = excluded.intermediate_value, \
         intermediate_value_type = excluded.intermediate_value_type",
        params![trial_id, step, value, kind],
    )?;
    Ok(())
}

fn set_attr(
    tx: &Transaction<'_>,
    table: &str,
    owner: &str,
    id: i64,
    key: &str,
    value: &Value,
) -> rusqlite::Result<()> {
    tx.execute(
        &format!(
            "INSERT INTO {table} ({owner}, \"key\", value_json) VALUES (?1, ?2, ?3) \
             ON CONFLICT ({owner}, \"key\") DO UPDATE SET value_json = excluded.value_json"
        ),
        params![id, key, python_json(value)],
    )?;
    Ok(())
}

/// A value as Python's `json.dumps` writes it (`", "` and `": "` separators).
fn python_json(v: &Value) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    serde::Serialize::serialize(v, &mut ser).expect("a JSON value serialises");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }
}

fn time_field(rec: &Value, k: &str) -> Option<String> {
    let s = rec.get(k)?.as_str()?;
    let t = DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| parse_naive(s).map(|n| n.and_utc()))?;
    Some(local_stamp(t))
}

fn parse_dist(name: &str, v: &Value) -> std::result::Result<Distribution, Apply> {
    v.as_str()
        .ok_or_else(|| "a distribution is not a JSON string".to_string())
        .and_then(Distribution::from_json_str)
        .and_then(|d| d.validated(name).map_err(|e| e.to_string()))
        .map_err(|reason| {
            Apply::Refused(TuneError::InvalidDistribution {
                name: name.into(),
                reason,
            })
        })
}

/// Applies one journal-style record inside a write transaction.
fn apply(tx: &Transaction<'_>, code: u64, rec: &Value) -> std::result::Result<Written, Apply> {
    match code {
        op::CREATE_STUDY => {
            let name = rec["study_name"].as_str().unwrap_or_default();
            let exists: Option<i64> = tx
                .query_row(
                    "SELECT study_id FROM studies WHERE study_name = ?1",
                    [name],
                    |r| r.get(0),
                )
                .optional()?;
            if exists.is_none() {
                tx.execute("INSERT INTO studies (study_name) VALUES (?1)", [name])?;
                let sid = tx.last_insert_rowid();
                let dirs = rec["directions"].as_array().cloned().unwrap_or_default();
                for (i, d) in dirs.iter().enumerate() {
                    let d = d
                        .as_u64()
                        .and_then(Direction::from_code)
                        .unwrap_or(Direction::Minimize);
                    tx.execute(
                        "INSERT INTO study_directions (direction, study_id, objective) VALUES (?1, ?2, ?3)",
                        params![direction_name(d), sid, i as i64],
                    )?;
                }
            }
            Ok(Written::Nothing)
        }
        op::DELETE_STUDY => {
            let sid = num(rec, "study_id")?;
            let trials = "(SELECT trial_id FROM trials WHERE study_id = ?1)";
            for t in [
                "trial_params",
                "trial_values",
                "trial_intermediate_values",
                "trial_user_attributes",
                "trial_system_attributes",
                "trial_heartbeats",
            ] {
                tx.execute(
                    &format!("DELETE FROM {t} WHERE trial_id IN {trials}"),
                    [sid],
                )?;
            }
            for t in [
                "trials",
                "study_directions",
                "study_user_attributes",
                "study_system_attributes",
                "studies",
            ] {
                tx.execute(&format!("DELETE FROM {t} WHERE study_id = ?1"), [sid])?;
            }
            Ok(Written::Nothing)
        }
        op::SET_STUDY_USER_ATTR | op::SET_STUDY_SYSTEM_ATTR => {
            let sid = num(rec, "study_id")?;
            let user = code == op::SET_STUDY_USER_ATTR;
            let (table, field) = if user {
                ("study_user_attributes", "user_attr")
            } else {
                ("study_system_attributes", "system_attr")
            };
            if let Some((k, v)) = one_attr(rec, field) {
                set_attr(tx, table, "study_id", sid, &k, &v)?;
            }
            Ok(Written::Nothing)
        }
        op::CREATE_TRIAL => {
            let sid = num(rec, "study_id")?;
            let exists: Option<i64> = tx
                .query_row(
                    "SELECT study_id FROM studies WHERE study_id = ?1",
                    [sid],
                    |r| r.get(0),
                )
                .optional()?;
            if exists.is_none() {
                return Err(Apply::Refused(TuneError::Study {
                    name: format!("#{sid}"),
                    reason: "no such study".into(),
                }));
            }
            let state = rec
                .get("state")
                .and_then(Value::as_u64)
                .and_then(TrialState::from_code)
                .unwrap_or(TrialState::Running);
            let start = time_field(rec, "datetime_start");
            tx.execute(
                "INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) \
                 VALUES (NULL, ?1, 'RUNNING', ?2, ?3)",
                params![sid, start, time_field(rec, "datetime_complete")],
            )?;
            let tid = tx.last_insert_rowid();
            if let Some(v) = rec.get("value").and_then(lenient_f64) {
                set_value(tx, tid, v)?;
            }
            if let Some(p) = rec.get("params").and_then(Value::as_object) {
                let dists = rec.get("distributions").and_then(Value::as_object);
                for (k, v) in p {
                    let dist = parse_dist(k, dists.and_then(|d| d.get(k)).unwrap_or(&Value::Null))?;
                    let x = lenient_f64(v).unwrap_or(f64::NAN);
                    set_param(tx, tid, k, x, &dist)?;
                }
            }
            for (field, table) in [
                ("user_attrs", "trial_user_attributes"),
                ("system_attrs", "trial_system_attributes"),
            ] {
                if let Some(a) = rec.get(field).and_then(Value::as_object) {
                    for (k, v) in a {
                        set_attr(tx, table, "trial_id", tid, k, v)?;
                    }
                }
            }
            if let Some(iv) = rec.get("intermediate_values").and_then(Value::as_object) {
                for (k, v) in iv {
                    if let (Ok(step), Some(x)) = (k.parse::<i64>(), lenient_f64(v)) {
                        set_intermediate(tx, tid, step, x)?;
                    }
                }
            }
            let number: i64 = tx.query_row(
                "SELECT COUNT(trial_id) FROM trials WHERE study_id = ?1 AND trial_id < ?2",
                params![sid, tid],
                |r| r.get(0),
            )?;
            tx.execute(
                "UPDATE trials SET number = ?1, state = ?2 WHERE trial_id = ?3",
                params![number, state_name(state), tid],
            )?;
            Ok(Written::Trial {
                id: tid as usize,
                number: number as usize,
            })
        }
        op::SET_TRIAL_PARAM => {
            let tid = num(rec, "trial_id")?;
            updatable(tx, tid)?;
            let name = rec["param_name"].as_str().unwrap_or_default();
            let dist = parse_dist(name, &rec["distribution"])?;
            let x = lenient_f64(&rec["param_value_internal"]).unwrap_or(f64::NAN);
            set_param(tx, tid, name, x, &dist)?;
            Ok(Written::Nothing)
        }
        op::SET_TRIAL_STATE_VALUES => {
            let tid = num(rec, "trial_id")?;
            let old = updatable(tx, tid)?;
            let state = rec
                .get("state")
                .and_then(Value::as_u64)
                .and_then(TrialState::from_code)
                .ok_or_else(|| refused(tid as usize, "\"state\" is not a trial state".into()))?;
            if let Some(v) = rec
                .get("values")
                .and_then(Value::as_array)
                .and_then(|vals| vals.first())
                .and_then(lenient_f64)
            {
                set_value(tx, tid, v)?;
            }
            if state == TrialState::Running && old != TrialState::Waiting {
                return Err(refused(tid as usize, "is not waiting".into()));
            }
            let now = local_stamp(Utc::now());
            if state == TrialState::Running {
                tx.execute(
                    "UPDATE trials SET state = ?1, datetime_start = ?2 WHERE trial_id = ?3",
                    params![state_name(state), now, tid],
                )?;
            } else if state.is_finished() {
                tx.execute(
                    "UPDATE trials SET state = ?1, datetime_complete = ?2 WHERE trial_id = ?3",
                    params![state_name(state), now, tid],
                )?;
            } else {
                tx.execute(
                    "UPDATE trials SET state = ?1 WHERE trial_id = ?2",
                    params![state_name(state), tid],
                )?;
            }
            Ok(Written::Nothing)
        }
        op::SET_TRIAL_INTERMEDIATE_VALUE => {
            let tid = num(rec, "trial_id")?;
            updatable(tx, tid)?;
            let step = rec["step"].as_i64().unwrap_or_default();
            let v = lenient_f64(&rec["intermediate_value"]).unwrap_or(f64::NAN);
            set_intermediate(tx, tid, step, v)?;
            Ok(Written::Nothing)
        }
        op::SET_TRIAL_USER_ATTR | op::SET_TRIAL_SYSTEM_ATTR => {
            let tid = num(rec, "trial_id")?;
            updatable(tx, tid)?;
            let user = code == op::SET_TRIAL_USER_ATTR;
            let (table, field) = if user {
                ("trial_user_attributes", "user_attr")
            } else {
                ("trial_system_attributes", "system_attr")
            };
            if let Some((k, v)) = one_attr(rec, field) {
                set_attr(tx, table, "trial_id", tid, &k, &v)?;
            }
            Ok(Written::Nothing)
        }
        op::DISCARD_TRIALS => Ok(Written::Nothing),
        other => Err(Apply::Refused(TuneError::Study {
            name: "(record)".into(),
            reason: format!("unknown op_code {other}"),
        })),
    }
}

/// Reads studies and trials (one study's, or all) into a [`Replay`].
fn load(tx: &Transaction<'_>, only: Option<usize>) -> rusqlite::Result<Replay> {
    let mut records: Vec<(usize, StudyRecord)> = Vec::new();
    let filter = only.map(|s| s as i64).unwrap_or(-1);
    let (sf, tf) = if only.is_some() {
        ("WHERE study_id = ?1", "WHERE t.study_id = ?1")
    } else {
        ("WHERE ?1 = -1", "WHERE ?1 = -1")
    };
    {
        let mut st = tx.prepare(&format!(
            "SELECT study_id, study_name FROM studies {sf} ORDER BY study_id"
        ))?;
        let rows = st.query_map([filter], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (sid, name) = row?;
            records.push((
                sid as usize,
                StudyRecord {
                    name,
                    directions: Vec::new(),
                    trial_ids: Vec::new(),
                    user_attrs: Map::new(),
                    system_attrs: Map::new(),
                },
            ));
        }
    }
    let mut dirs: Vec<(usize, usize, Direction)> = Vec::new();
    {
        let mut st = tx.prepare(&format!(
            "SELECT study_id, objective, direction FROM study_directions {sf}"
        ))?;
        let rows = st.query_map([filter], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (sid, obj, d) = row?;
            let d = if d == "MAXIMIZE" {
                Direction::Maximize
            } else {
                Direction::Minimize
            };
            dirs.push((sid as usize, obj as usize, d));
        }
    }
    dirs.sort_by_key(|(s, o, _)| (*s, *o));
    let mut study_attrs: Vec<(usize, bool, String, Value)> = Vec::new();
    for (table, idcol, user) in [
        ("study_user_attributes", "study_user_attribute_id", true),
        (
            "study_system_attributes",
            "study_system_attribute_id",
            false,
        ),
    ] {
        let mut st = tx.prepare(&format!(
            "SELECT study_id, \"key\", value_json FROM {table} {sf} ORDER BY {idcol}"
        ))?;
        let rows = st.query_map([filter], |r| {
            Ok((
                r.get::<_, Option<i64>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        for row in rows {
            if let (Some(sid), Some(k), Some(v)) = row? {
                study_attrs.push((sid as usize, user, k, read_json(&v)));
            }
        }
    }
    let mut trials: Vec<(usize, FrozenTrial)> = Vec::new();
    let mut index = std::collections::HashMap::new();
    {
        let mut st = tx.prepare(&format!(
            "SELECT t.trial_id, t.number, t.study_id, t.state, t.datetime_start, t.datetime_complete \
             FROM trials t {tf} ORDER BY t.trial_id"
        ))?;
        let rows = st.query_map([filter], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?;
        for row in rows {
            let (tid, number, sid, state, start, end) = row?;
            let Some(sid) = sid else { continue };
            let mut t = FrozenTrial::new(
                tid as usize,
                number.unwrap_or_default() as usize,
                parse_local(start),
            );
            t.state = parse_state(&state).unwrap_or(TrialState::Fail);
            t.datetime_complete = parse_local(end);
            index.insert(tid, trials.len());
            trials.push((sid as usize, t));
        }
    }
    {
        let mut st = tx.prepare(&format!(
            "SELECT p.trial_id, p.param_name, p.param_value, p.distribution_json FROM trial_params p \
             JOIN trials t ON p.trial_id = t.trial_id {tf} ORDER BY p.param_id"
        ))?;
        let rows = st.query_map([filter], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<f64>>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })?;
        for row in rows {
            let (tid, name, v, dist) = row?;
            let (Some(&i), Some(name), Some(dist)) = (index.get(&tid), name, dist) else {
                continue;
            };
            let Ok(dist) = Distribution::from_json_str(&dist) else {
                continue;
            };
            let t = &mut trials[i].1;
            t.params.insert(name.clone(), v.unwrap_or(f64::NAN));
            t.distributions.insert(name, dist);
        }
    }
    {
        let mut st = tx.prepare(&format!(
            "SELECT v.trial_id, v.value, v.value_type FROM trial_values v \
             JOIN trials t ON v.trial_id = t.trial_id {tf} AND v.objective = 0"
        ))?;
        let rows = st.query_map([filter], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<f64>>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (tid, v, kind) = row?;
            if let Some(&i) = index.get(&tid) {
                trials[i].1.value = Some(read_float(v, &kind));
            }
        }
    }
    {
        let mut st = tx.prepare(&format!(
            "SELECT v.trial_id, v.step, v.intermediate_value, v.intermediate_value_type \
             FROM trial_intermediate_values v JOIN trials t ON v.trial_id = t.trial_id {tf}"
        ))?;
        let rows = st.query_map([filter], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<f64>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        for row in rows {
            let (tid, step, v, kind) = row?;
            if let Some(&i) = index.get(&tid) {
                trials[i].1.intermediate.insert(step, read_float(v, &kind));
            }
        }
    }
    for (table, idcol, user) in [
        ("trial_user_attributes", "trial_user_attribute_id", true),
        (
            "trial_system_attributes",
            "trial_system_attribute_id",
            false,
        ),
    ] {
        let mut st = tx.prepare(&format!(
            "SELECT a.trial_id, a.\"key\", a.value_json FROM {table} a \
             JOIN trials t ON a.trial_id = t.trial_id {tf} ORDER BY a.{idcol}"
        ))?;
        let rows = st.query_map([filter], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        for row in rows {
            let (tid, k, v) = row?;
            let (Some(&i), Some(k), Some(v)) = (index.get(&tid), k, v) else {
                continue;
            };
            let t = &mut trials[i].1;
            let map = if user {
                &mut t.user_attrs
            } else {
                &mut t.system_attrs
            };
            map.insert(k, read_json(&v));
        }
    }
    let mut studies = Replay::default();
    for (sid, rec) in &mut records {
        rec.directions = dirs
            .iter()
            .filter(|(s, _, _)| s == sid)
            .map(|(_, _, d)| *d)
            .collect();
        for (s, user, k, v) in &study_attrs {
            if s == sid {
                if *user {
                    rec.user_attrs.insert(k.clone(), v.clone());
                } else {
                    rec.system_attrs.insert(k.clone(), v.clone());
                }
            }
        }
    }
    for (sid, rec) in records {
        studies.insert_study(sid, rec);
    }
    for (sid, t) in trials {
        studies.insert_trial(sid, t);
    }
    Ok(studies)
}

impl Storage for RdbStorage {
    fn append(&self, rec: Value) -> Result<Appended> {
        match self.write(&rec)? {
            Written::Trial { id, number } => Ok(Appended {
                n_trials: id + 1,
                last_number: Some(number),
            }),
            Written::Nothing => Ok(Appended {
                n_trials: 0,
                last_number: None,
            }),
        }
    }

    fn read(&self, f: &mut dyn FnMut(&Replay)) -> Result<()> {
        let r = self.load(None)?;
        f(&r);
        Ok(())
    }

    fn describe(&self) -> String {
        self.url.clone()
    }

    fn trials(&self, study_id: usize) -> Result<Vec<FrozenTrial>> {
        Ok(self.load(Some(study_id))?.study_trials(study_id))
    }

    fn trial(&self, trial_id: usize) -> Result<FrozenTrial> {
        let sid: Option<Option<i64>> = {
            let conn = self.conn();
            conn.query_row(
                "SELECT study_id FROM trials WHERE trial_id = ?1",
                [trial_id as i64],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?
        };
        let no = || TuneError::Trial {
            trial_id,
            reason: "no such trial".into(),
        };
        let sid = sid.flatten().ok_or_else(no)? as usize;
        self.load(Some(sid))?
            .trial(trial_id)
            .cloned()
            .ok_or_else(no)
    }

    fn supports_heartbeat(&self) -> bool {
        true
    }

    fn record_heartbeat(&self, trial_id: usize) -> Result<()> {
        let mut conn = self.conn();
        let now = Utc::now().format("%Y-%m-%d %H:%M:%S%.6f").to_string();
        self.with_retry(&mut conn, |tx| {
            tx.execute(
                "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (?1, ?2) \
                 ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat",
                params![trial_id as i64, now],
            )
        })?;
        Ok(())
    }

    fn stale_trials(&self, study_id: usize, grace: Duration) -> Result<Vec<usize>> {
        let conn = self.conn();
        let mut st = conn
            .prepare(
                "SELECT t.trial_id, h.heartbeat FROM trials t JOIN trial_heartbeats h \
                 ON h.trial_id = t.trial_id WHERE t.study_id = ?1 AND t.state = 'RUNNING'",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([study_id as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.err(e))?;
        // Heartbeats are UTC (SQLite's CURRENT_TIMESTAMP, which Optuna's `func.now()` reads).
        let now = Utc::now().naive_utc();
        let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
        let mut out = Vec::new();
        for row in rows {
            let (tid, beat) = row.map_err(|e| self.err(e))?;
            if let Some(b) = parse_naive(&beat)
                && now - b > grace
            {
                out.push(tid as usize);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_written_as_python_json_dumps_writes_them() {
        let v = serde_json::json!({"k": [1, 2], "s": "x"});
        assert_eq!(python_json(&v), r#"{"k": [1, 2], "s": "x"}"#);
    }

    #[test]
    fn infinities_and_nan_are_stored_as_optuna_types() {
        assert_eq!(stored_float(f64::INFINITY), (None, "INF_POS"));
        assert_eq!(stored_float(f64::NEG_INFINITY), (None, "INF_NEG"));
        assert_eq!(stored_float(f64::NAN), (None, "NAN"));
        assert_eq!(stored_float(1.5), (Some(1.5), "FINITE"));
        assert!(read_float(None, "NAN").is_nan());
        assert_eq!(read_float(None, "INF_NEG"), f64::NEG_INFINITY);
    }
}
