//! Optuna's `RDBStorage`: the tables, columns, enum spellings, JSON encodings and version stamps
//! Optuna 5.0.0 writes, on SQLite (feature `sqlite`) and PostgreSQL (feature `postgres`), so that
//! tsf, Optuna and optuna-dashboard share one database.
//!
//! Every change runs in one write transaction: on SQLite `BEGIN IMMEDIATE` (the database's write
//! lock, taken at the start); on PostgreSQL the study's or the trial's row is locked with
//! `SELECT … FOR UPDATE` first, as Optuna does. A trial's number is the count of the study's
//! earlier trials inside the transaction that inserts it, so numbers are unique under any number
//! of threads and processes. A busy or locked database, a serialization failure, a deadlock or a
//! lost connection is retried (reconnecting) with a bounded, jittered back-off.

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Local, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value};

use super::journal::python_tokens;
use super::{Appended, Replay, Storage, StudyRecord, lenient_f64, op, record};
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

/// Attempts of one transaction before giving up.
const MAX_ATTEMPTS: u32 = 8;

/// A statement parameter (`?1`, `?2`, … in the SQL).
#[derive(Debug, Clone)]
pub(crate) enum P {
    Int(i64),
    Real(Option<f64>),
    Text(Option<String>),
    /// A `YYYY-MM-DD HH:MM:SS.ffffff` time stamp (a `TIMESTAMP` on PostgreSQL).
    Time(Option<String>),
    /// The name of a SQLAlchemy enum member (a PostgreSQL enum type).
    Enum(String),
}

/// A result cell.
#[derive(Debug, Clone)]
pub(crate) enum V {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl V {
    fn int(&self) -> Option<i64> {
        match self {
            V::Int(i) => Some(*i),
            V::Real(x) => Some(*x as i64),
            _ => None,
        }
    }

    fn real(&self) -> Option<f64> {
        match self {
            V::Int(i) => Some(*i as f64),
            V::Real(x) => Some(*x),
            _ => None,
        }
    }

    fn text(&self) -> Option<String> {
        match self {
            V::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}

/// Why a statement or transaction failed.
#[derive(Debug)]
pub(crate) enum DbError {
    /// Worth another attempt: busy, locked, serialization failure, deadlock, lost connection,
    /// a unique key another worker inserted at the same time.
    Retry(String),
    /// Anything else.
    Fatal(String),
    /// tsf refused the change (a finished trial, an incompatible distribution, …).
    Refused(TuneError),
}

/// What differs between the databases.
pub(crate) struct Dialect {
    /// Lists the tables of the schema in use.
    pub tables: &'static str,
    /// Optuna's DDL, table by table (with the enum types a table needs).
    pub ddl: &'static [(&'static str, &'static str)],
    /// Appended to a `SELECT` of the row a write depends on (`FOR UPDATE`).
    pub lock: &'static str,
    /// The database's clock as a naive time stamp (Optuna's `func.now()` for heartbeats).
    pub now: &'static str,
}

/// One open transaction.
pub(crate) trait Tx {
    fn exec(&mut self, sql: &str, params: &[P]) -> std::result::Result<u64, DbError>;
    fn query(&mut self, sql: &str, params: &[P]) -> std::result::Result<Vec<Vec<V>>, DbError>;
    /// Several statements without parameters (DDL).
    fn batch(&mut self, sql: &str) -> std::result::Result<(), DbError>;
}

/// One connection.
pub(crate) trait Backend: Send {
    fn dialect(&self) -> &'static Dialect;
    /// Runs `f` in a transaction (a write transaction if `write`), committing when it returns
    /// `Ok` and rolling back otherwise.
    fn run(
        &mut self,
        write: bool,
        f: &mut dyn FnMut(&mut dyn Tx) -> std::result::Result<(), DbError>,
    ) -> std::result::Result<(), DbError>;
}

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

/// A local, naive time stamp as SQLAlchemy writes Python's `datetime.now()`.
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

/// What [`RdbStorage::init_schema`] finds in a database before writing to it.
struct Stamps {
    /// The tables there are.
    tables: Vec<String>,
    /// `version_info`'s `(schema_version, library_version)`, if the table has a row.
    library: Option<(Option<i64>, Option<String>)>,
    /// `alembic_version.version_num`, if the table has a row.
    revision: Option<String>,
}

/// What one write transaction produced.
enum Written {
    Nothing,
    Trial { id: usize, number: usize },
}

/// Optuna's RDB storage: a SQLite file (`sqlite:///relative.db`, `sqlite:////abs/path.db`) or a
/// PostgreSQL database (`postgresql://user:password@host:port/database`).
pub struct RdbStorage {
    url: String,
    path: Option<PathBuf>,
    db: Mutex<Box<dyn Backend>>,
}

impl std::fmt::Debug for RdbStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RdbStorage")
            .field("url", &self.url)
            .finish()
    }
}

fn refused(trial_id: usize, reason: String) -> DbError {
    DbError::Refused(TuneError::Trial { trial_id, reason })
}

impl RdbStorage {
    /// Opens (creating if missing) the SQLite database at `path`, creating Optuna's tables and
    /// version stamps in a new database (which uses SQLite's write-ahead log). A file that is not
    /// SQLite, or a database whose schema Optuna 5.0.0 would refuse, is an error and nothing is
    /// written to it.
    #[cfg(feature = "sqlite")]
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
        let db = sqlite::Sqlite::open(&path).map_err(|e| Self::err_at(&url, &e))?;
        let s = Self {
            url,
            path: Some(path),
            db: Mutex::new(Box::new(db)),
        };
        s.init_schema()?;
        Ok(s)
    }

    /// Connects to the PostgreSQL database `url` (`postgresql://user:password@host:port/db`,
    /// also with SQLAlchemy's `+psycopg2` / `+psycopg` driver suffix) and creates Optuna's types,
    /// tables and version stamps if missing. An unreachable server, refused credentials, a
    /// missing database or a schema Optuna 5.0.0 would refuse is an error naming the URL (without
    /// its password), and nothing is written.
    #[cfg(feature = "postgres")]
    pub fn open_postgres(url: &str) -> Result<Self> {
        let shown = super::hide_password(url);
        let db = postgres::Postgres::connect(url).map_err(|e| Self::err_at(&shown, &e))?;
        let s = Self {
            url: shown,
            path: None,
            db: Mutex::new(Box::new(db)),
        };
        s.init_schema()?;
        Ok(s)
    }

    /// The database file (SQLite).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn err_at(url: &str, msg: &str) -> TuneError {
        TuneError::Storage {
            url: url.into(),
            reason: msg.lines().next().unwrap_or_default().trim().to_string(),
        }
    }

    fn dialect(&self) -> &'static Dialect {
        self.db.lock().unwrap_or_else(|e| e.into_inner()).dialect()
    }

    /// Runs `f` in a transaction, retrying with a jittered, doubling back-off (10 ms … 1 s)
    /// while the database asks for it; at most [`MAX_ATTEMPTS`] attempts. Nothing of a refused
    /// or failed attempt is kept.
    fn transaction(
        &self,
        write: bool,
        f: &mut dyn FnMut(&mut dyn Tx) -> std::result::Result<(), DbError>,
    ) -> Result<()> {
        let mut db = self.db.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = Duration::from_millis(10);
        let mut attempt = 1;
        loop {
            match db.run(write, f) {
                Ok(()) => return Ok(()),
                Err(DbError::Refused(e)) => return Err(e),
                Err(DbError::Retry(m)) if attempt < MAX_ATTEMPTS => {
                    tracing::debug!("{}: retrying after: {m}", self.url);
                    let jitter: f64 = rand::random::<f64>() + 0.5;
                    std::thread::sleep(wait.mul_f64(jitter));
                    wait = (wait * 2).min(Duration::from_secs(1));
                    attempt += 1;
                }
                Err(DbError::Retry(m) | DbError::Fatal(m)) => {
                    return Err(Self::err_at(&self.url, &m));
                }
            }
        }
    }

    /// Checks the version stamps (reading only), then creates whatever is missing.
    fn init_schema(&self) -> Result<()> {
        let d = self.dialect();
        let stamps = self.read_stamps(d)?;
        self.check_stamps(&stamps)?;
        let complete = d
            .ddl
            .iter()
            .all(|(t, _)| stamps.tables.iter().any(|x| x == t));
        if complete && stamps.revision.is_some() && stamps.library.is_some() {
            return Ok(());
        }
        self.create_missing(d)
    }

    /// Reads the tables there are and the version stamps, in a read transaction.
    fn read_stamps(&self, d: &Dialect) -> Result<Stamps> {
        let mut tables: Vec<String> = Vec::new();
        let mut library: Option<(Option<i64>, Option<String>)> = None;
        let mut revision: Option<String> = None;
        self.transaction(false, &mut |tx| {
            tables = tx
                .query(d.tables, &[])?
                .iter()
                .filter_map(|r| r[0].text())
                .collect();
            let has = |t: &str| tables.iter().any(|x| x == t);
            library = if has("version_info") {
                tx.query(
                    "SELECT schema_version, library_version FROM version_info",
                    &[],
                )?
                .first()
                .map(|r| (r[0].int(), r[1].text()))
            } else {
                None
            };
            revision = if has("alembic_version") {
                tx.query("SELECT version_num FROM alembic_version", &[])?
                    .first()
                    .and_then(|r| r[0].text())
            } else {
                None
            };
            Ok(())
        })?;
        Ok(Stamps {
            tables,
            library,
            revision,
        })
    }

    /// Refuses a database stamped with another alembic revision or (without a revision) another
    /// schema version than Optuna 5.0.0's, with a hint to upgrade it or that a newer Optuna
    /// wrote it.
    fn check_stamps(&self, stamps: &Stamps) -> Result<()> {
        let refuse = |what: String, older: bool| {
            let hint = if older {
                format!(
                    "upgrade it with `optuna storage upgrade --storage {}`",
                    self.url
                )
            } else {
                "it was written by a newer Optuna".to_string()
            };
            Err(Self::err_at(
                &self.url,
                &format!(
                    "the database has {what}; Optuna 5.0.0 (and tsf) need schema {SCHEMA_VERSION}, revision {ALEMBIC_HEAD}: {hint}"
                ),
            ))
        };
        match (&stamps.revision, &stamps.library) {
            (Some(r), _) if r != ALEMBIC_HEAD => refuse(
                format!("alembic revision {r}"),
                OLDER_REVISIONS.contains(&r.as_str()),
            ),
            (None, Some((schema, lib))) if *schema != Some(SCHEMA_VERSION) => refuse(
                format!(
                    "schema version {} (set up by optuna {})",
                    schema.map_or("NULL".into(), |s| s.to_string()),
                    lib.clone().unwrap_or_else(|| "?".into())
                ),
                true,
            ),
            _ => Ok(()),
        }
    }

    /// Creates the missing tables and version stamps, in a write transaction.
    fn create_missing(&self, d: &Dialect) -> Result<()> {
        self.transaction(true, &mut |tx| {
            let tables: Vec<String> = tx
                .query(d.tables, &[])?
                .iter()
                .filter_map(|r| r[0].text())
                .collect();
            for (name, ddl) in d.ddl {
                if !tables.iter().any(|t| t == name) {
                    tx.batch(ddl)?;
                }
            }
            if tx.query("SELECT 1 FROM version_info", &[])?.is_empty() {
                tx.exec(
                    "INSERT INTO version_info (version_info_id, schema_version, library_version) \
                     VALUES (1, ?1, ?2)",
                    &[
                        P::Int(SCHEMA_VERSION),
                        P::Text(Some(LIBRARY_VERSION.into())),
                    ],
                )?;
            }
            if tx.query("SELECT 1 FROM alembic_version", &[])?.is_empty() {
                tx.exec(
                    "INSERT INTO alembic_version (version_num) VALUES (?1)",
                    &[P::Text(Some(ALEMBIC_HEAD.into()))],
                )?;
            }
            Ok(())
        })
    }

    /// Writes one journal-style record in a transaction (see [`Storage::append`]).
    fn write(&self, rec: &Value) -> Result<Written> {
        let code = rec
            .get("op_code")
            .and_then(Value::as_u64)
            .ok_or_else(|| Self::err_at(&self.url, "a record without an op_code"))?;
        let d = self.dialect();
        let mut out = Written::Nothing;
        self.transaction(true, &mut |tx| {
            out = apply(tx, d, code, rec)?;
            Ok(())
        })?;
        Ok(out)
    }

    fn load(&self, scope: Scope) -> Result<Replay> {
        let mut out = Replay::default();
        self.transaction(false, &mut |tx| {
            out = load(tx, scope)?;
            Ok(())
        })?;
        Ok(out)
    }
}

fn num(rec: &Value, k: &str) -> std::result::Result<i64, DbError> {
    rec.get(k)
        .and_then(Value::as_u64)
        .map(|x| x as i64)
        .ok_or_else(|| {
            DbError::Refused(TuneError::Study {
                name: "(record)".into(),
                reason: format!("{k:?} is missing or not a non-negative integer"),
            })
        })
}

fn one_attr(rec: &Value, k: &str) -> Option<(String, Value)> {
    let (key, v) = rec.get(k)?.as_object()?.iter().next()?;
    Some((key.clone(), v.clone()))
}

/// The state of a trial that may still be changed (its row locked for the transaction on
/// PostgreSQL); refuses unknown and finished trials.
fn updatable(
    tx: &mut dyn Tx,
    lock: &str,
    trial_id: i64,
) -> std::result::Result<TrialState, DbError> {
    let rows = tx.query(
        &format!("SELECT state, number FROM trials WHERE trial_id = ?1{lock}"),
        &[P::Int(trial_id)],
    )?;
    let tid = trial_id as usize;
    let Some(row) = rows.first() else {
        return Err(refused(tid, "no such trial".into()));
    };
    let state = row[0]
        .text()
        .and_then(|s| parse_state(&s))
        .unwrap_or(TrialState::Fail);
    if state.is_finished() {
        return Err(refused(
            tid,
            format!(
                "trial #{} has already finished and cannot be updated",
                row[1].int().unwrap_or(-1)
            ),
        ));
    }
    Ok(state)
}

fn set_param(
    tx: &mut dyn Tx,
    trial_id: i64,
    name: &str,
    internal: f64,
    dist: &Distribution,
) -> std::result::Result<(), DbError> {
    let earlier = tx.query(
        "SELECT p.distribution_json FROM trial_params p JOIN trials t ON p.trial_id = t.trial_id \
         WHERE t.study_id = (SELECT study_id FROM trials WHERE trial_id = ?1) \
         AND p.param_name = ?2 LIMIT 1",
        &[P::Int(trial_id), P::Text(Some(name.into()))],
    )?;
    if let Some(old) = earlier
        .first()
        .and_then(|r| r[0].text())
        .and_then(|j| Distribution::from_json_str(&j).ok())
        && !old.compatible(dist)
    {
        return Err(DbError::Refused(TuneError::IncompatibleDistribution {
            name: name.into(),
            old: old.to_string(),
            new: dist.to_string(),
        }));
    }
    tx.exec(
        "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) \
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (trial_id, param_name) DO UPDATE SET \
         param_value = excluded.param_value, distribution_json = excluded.distribution_json",
        &[
            P::Int(trial_id),
            P::Text(Some(name.into())),
            P::Real(Some(internal)),
            P::Text(Some(dist.to_json_string())),
        ],
    )?;
    Ok(())
}

fn set_value(tx: &mut dyn Tx, trial_id: i64, v: f64) -> std::result::Result<(), DbError> {
    let (value, kind) = stored_float(v);
    tx.exec(
        "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?1, 0, ?2, ?3) \
         ON CONFLICT (trial_id, objective) DO UPDATE SET value = excluded.value, \
         value_type = excluded.value_type",
        &[P::Int(trial_id), P::Real(value), P::Enum(kind.into())],
    )?;
    Ok(())
}

fn set_intermediate(
    tx: &mut dyn Tx,
    trial_id: i64,
    step: i64,
    v: f64,
) -> std::result::Result<(), DbError> {
    let (value, kind) = stored_float(v);
    tx.exec(
        "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, \
         intermediate_value_type) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (trial_id, step) DO UPDATE \
         SET intermediate_value = excluded.intermediate_value, \
         intermediate_value_type = excluded.intermediate_value_type",
        &[
            P::Int(trial_id),
            P::Int(step),
            P::Real(value),
            P::Enum(kind.into()),
        ],
    )?;
    Ok(())
}

fn set_attr(
    tx: &mut dyn Tx,
    table: &str,
    owner: &str,
    id: i64,
    key: &str,
    value: &Value,
) -> std::result::Result<(), DbError> {
    tx.exec(
        &format!(
            "INSERT INTO {table} ({owner}, \"key\", value_json) VALUES (?1, ?2, ?3) \
             ON CONFLICT ({owner}, \"key\") DO UPDATE SET value_json = excluded.value_json"
        ),
        &[
            P::Int(id),
            P::Text(Some(key.into())),
            P::Text(Some(python_json(value))),
        ],
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

fn parse_dist(name: &str, v: &Value) -> std::result::Result<Distribution, DbError> {
    v.as_str()
        .ok_or_else(|| "a distribution is not a JSON string".to_string())
        .and_then(Distribution::from_json_str)
        .and_then(|d| d.validated(name).map_err(|e| e.to_string()))
        .map_err(|reason| {
            DbError::Refused(TuneError::InvalidDistribution {
                name: name.into(),
                reason,
            })
        })
}

fn text(s: &str) -> P {
    P::Text(Some(s.into()))
}

/// Applies one journal-style record inside a write transaction.
fn apply(
    tx: &mut dyn Tx,
    d: &Dialect,
    code: u64,
    rec: &Value,
) -> std::result::Result<Written, DbError> {
    let lock = d.lock;
    // A record marked as the trial's first heartbeat: a `trial_heartbeats` row in the same
    // transaction.
    let first_heartbeat = rec.get(record::FIRST_HEARTBEAT) == Some(&Value::Bool(true));
    match code {
        op::CREATE_STUDY => create_study(tx, rec).map(|()| Written::Nothing),
        op::DELETE_STUDY => delete_study(tx, rec).map(|()| Written::Nothing),
        op::SET_STUDY_USER_ATTR | op::SET_STUDY_SYSTEM_ATTR => {
            set_study_attr(tx, code, rec).map(|()| Written::Nothing)
        }
        op::CREATE_TRIAL => create_trial(tx, d, rec, first_heartbeat),
        op::SET_TRIAL_PARAM => set_trial_param(tx, lock, rec).map(|()| Written::Nothing),
        op::SET_TRIAL_STATE_VALUES => {
            set_trial_state_values(tx, d, rec, first_heartbeat).map(|()| Written::Nothing)
        }
        op::SET_TRIAL_INTERMEDIATE_VALUE => {
            set_trial_intermediate_value(tx, lock, rec).map(|()| Written::Nothing)
        }
        op::SET_TRIAL_USER_ATTR | op::SET_TRIAL_SYSTEM_ATTR => {
            set_trial_attr(tx, lock, code, rec).map(|()| Written::Nothing)
        }
        op::DISCARD_TRIALS => Ok(Written::Nothing),
        other => Err(DbError::Refused(TuneError::Study {
            name: "(record)".into(),
            reason: format!("unknown op_code {other}"),
        })),
    }
}

/// `CREATE_STUDY`: inserts the study and its directions, unless a study of that name exists.
fn create_study(tx: &mut dyn Tx, rec: &Value) -> std::result::Result<(), DbError> {
    let name = rec["study_name"].as_str().unwrap_or_default();
    let exists = tx.query(
        "SELECT study_id FROM studies WHERE study_name = ?1",
        &[text(name)],
    )?;
    if !exists.is_empty() {
        return Ok(());
    }
    let sid = tx
        .query(
            "INSERT INTO studies (study_name) VALUES (?1) RETURNING study_id",
            &[text(name)],
        )?
        .first()
        .and_then(|r| r[0].int())
        .ok_or_else(|| DbError::Fatal("no study id returned".into()))?;
    let dirs = rec["directions"].as_array().cloned().unwrap_or_default();
    for (i, d) in dirs.iter().enumerate() {
        let d = d
            .as_u64()
            .and_then(Direction::from_code)
            .unwrap_or(Direction::Minimize);
        tx.exec(
            "INSERT INTO study_directions (direction, study_id, objective) VALUES (?1, ?2, ?3)",
            &[
                P::Enum(direction_name(d).into()),
                P::Int(sid),
                P::Int(i as i64),
            ],
        )?;
    }
    Ok(())
}

/// `DELETE_STUDY`: deletes the study's trials' rows, then the study's own rows.
fn delete_study(tx: &mut dyn Tx, rec: &Value) -> std::result::Result<(), DbError> {
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
        tx.exec(
            &format!("DELETE FROM {t} WHERE trial_id IN {trials}"),
            &[P::Int(sid)],
        )?;
    }
    for t in [
        "trials",
        "study_directions",
        "study_user_attributes",
        "study_system_attributes",
        "studies",
    ] {
        tx.exec(
            &format!("DELETE FROM {t} WHERE study_id = ?1"),
            &[P::Int(sid)],
        )?;
    }
    Ok(())
}

/// `SET_STUDY_USER_ATTR` / `SET_STUDY_SYSTEM_ATTR` (told apart by `code`): one study attribute.
fn set_study_attr(tx: &mut dyn Tx, code: u64, rec: &Value) -> std::result::Result<(), DbError> {
    let sid = num(rec, "study_id")?;
    let (table, field) = if code == op::SET_STUDY_USER_ATTR {
        ("study_user_attributes", "user_attr")
    } else {
        ("study_system_attributes", "system_attr")
    };
    if let Some((k, v)) = one_attr(rec, field) {
        set_attr(tx, table, "study_id", sid, &k, &v)?;
    }
    Ok(())
}

/// `CREATE_TRIAL`: inserts the trial (as `RUNNING`, without a number), then its value,
/// parameters, attributes and intermediate values, then numbers it and sets its state; a running
/// trial's first heartbeat too, when the record asks for it.
fn create_trial(
    tx: &mut dyn Tx,
    d: &Dialect,
    rec: &Value,
    first_heartbeat: bool,
) -> std::result::Result<Written, DbError> {
    let sid = num(rec, "study_id")?;
    let state = rec
        .get("state")
        .and_then(Value::as_u64)
        .and_then(TrialState::from_code)
        .unwrap_or(TrialState::Running);
    let tid = insert_trial_row(tx, d.lock, sid, rec)?;
    write_trial_contents(tx, tid, rec)?;
    let number = tx
        .query(
            "SELECT COUNT(trial_id) FROM trials WHERE study_id = ?1 AND trial_id < ?2",
            &[P::Int(sid), P::Int(tid)],
        )?
        .first()
        .and_then(|r| r[0].int())
        .unwrap_or_default();
    tx.exec(
        "UPDATE trials SET number = ?1, state = ?2 WHERE trial_id = ?3",
        &[
            P::Int(number),
            P::Enum(state_name(state).into()),
            P::Int(tid),
        ],
    )?;
    if first_heartbeat && state == TrialState::Running {
        heartbeat(tx, d, tid)?;
    }
    Ok(Written::Trial {
        id: tid as usize,
        number: number as usize,
    })
}

/// Checks that study `sid` exists (locking its row on PostgreSQL: trial numbers are counted one
/// at a time), then inserts a `RUNNING` trial row without a number; returns its `trial_id`.
fn insert_trial_row(
    tx: &mut dyn Tx,
    lock: &str,
    sid: i64,
    rec: &Value,
) -> std::result::Result<i64, DbError> {
    let exists = tx.query(
        &format!("SELECT study_id FROM studies WHERE study_id = ?1{lock}"),
        &[P::Int(sid)],
    )?;
    if exists.is_empty() {
        return Err(DbError::Refused(TuneError::Study {
            name: format!("#{sid}"),
            reason: "no such study".into(),
        }));
    }
    tx.query(
        "INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) \
         VALUES (NULL, ?1, ?2, ?3, ?4) RETURNING trial_id",
        &[
            P::Int(sid),
            P::Enum("RUNNING".into()),
            P::Time(time_field(rec, "datetime_start")),
            P::Time(time_field(rec, "datetime_complete")),
        ],
    )?
    .first()
    .and_then(|r| r[0].int())
    .ok_or_else(|| DbError::Fatal("no trial id returned".into()))
}

/// Writes what a `CREATE_TRIAL` record carries for the new trial `tid`: its value, parameters,
/// user and system attributes, and intermediate values, in that order.
fn write_trial_contents(
    tx: &mut dyn Tx,
    tid: i64,
    rec: &Value,
) -> std::result::Result<(), DbError> {
    if let Some(v) = rec.get("value").and_then(lenient_f64) {
        set_value(tx, tid, v)?;
    }
    if let Some(p) = rec.get("params").and_then(Value::as_object) {
        let dists = rec.get("distributions").and_then(Value::as_object);
        for (k, v) in p {
            let dist = parse_dist(k, dists.and_then(|d| d.get(k)).unwrap_or(&Value::Null))?;
            set_param(tx, tid, k, lenient_f64(v).unwrap_or(f64::NAN), &dist)?;
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
    Ok(())
}

/// `SET_TRIAL_PARAM`: one parameter of an unfinished trial.
fn set_trial_param(tx: &mut dyn Tx, lock: &str, rec: &Value) -> std::result::Result<(), DbError> {
    let tid = num(rec, "trial_id")?;
    updatable(tx, lock, tid)?;
    let name = rec["param_name"].as_str().unwrap_or_default();
    let dist = parse_dist(name, &rec["distribution"])?;
    let x = lenient_f64(&rec["param_value_internal"]).unwrap_or(f64::NAN);
    set_param(tx, tid, name, x, &dist)?;
    Ok(())
}

/// `SET_TRIAL_STATE_VALUES`: an unfinished trial's value and new state (`RUNNING` only from
/// `WAITING`), stamping its start or completion time; a first heartbeat when the record asks
/// for it and the trial starts running.
fn set_trial_state_values(
    tx: &mut dyn Tx,
    d: &Dialect,
    rec: &Value,
    first_heartbeat: bool,
) -> std::result::Result<(), DbError> {
    let tid = num(rec, "trial_id")?;
    let old = updatable(tx, d.lock, tid)?;
    let state = rec
        .get("state")
        .and_then(Value::as_u64)
        .and_then(TrialState::from_code)
        .ok_or_else(|| refused(tid as usize, "\"state\" is not a trial state".into()))?;
    if state == TrialState::Running && old != TrialState::Waiting {
        return Err(refused(tid as usize, "is not waiting".into()));
    }
    if let Some(v) = rec
        .get("values")
        .and_then(Value::as_array)
        .and_then(|vals| vals.first())
        .and_then(lenient_f64)
    {
        set_value(tx, tid, v)?;
    }
    let now = P::Time(Some(local_stamp(Utc::now())));
    let name = P::Enum(state_name(state).into());
    if state == TrialState::Running {
        tx.exec(
            "UPDATE trials SET state = ?1, datetime_start = ?2 WHERE trial_id = ?3",
            &[name, now, P::Int(tid)],
        )?;
        if first_heartbeat {
            heartbeat(tx, d, tid)?;
        }
    } else if state.is_finished() {
        tx.exec(
            "UPDATE trials SET state = ?1, datetime_complete = ?2 WHERE trial_id = ?3",
            &[name, now, P::Int(tid)],
        )?;
    } else {
        tx.exec(
            "UPDATE trials SET state = ?1 WHERE trial_id = ?2",
            &[name, P::Int(tid)],
        )?;
    }
    Ok(())
}

/// `SET_TRIAL_INTERMEDIATE_VALUE`: one intermediate value of an unfinished trial.
fn set_trial_intermediate_value(
    tx: &mut dyn Tx,
    lock: &str,
    rec: &Value,
) -> std::result::Result<(), DbError> {
    let tid = num(rec, "trial_id")?;
    updatable(tx, lock, tid)?;
    let step = rec["step"].as_i64().unwrap_or_default();
    let v = lenient_f64(&rec["intermediate_value"]).unwrap_or(f64::NAN);
    set_intermediate(tx, tid, step, v)?;
    Ok(())
}

/// `SET_TRIAL_USER_ATTR` / `SET_TRIAL_SYSTEM_ATTR` (told apart by `code`): one attribute of an
/// unfinished trial.
fn set_trial_attr(
    tx: &mut dyn Tx,
    lock: &str,
    code: u64,
    rec: &Value,
) -> std::result::Result<(), DbError> {
    let tid = num(rec, "trial_id")?;
    updatable(tx, lock, tid)?;
    let (table, field) = if code == op::SET_TRIAL_USER_ATTR {
        ("trial_user_attributes", "user_attr")
    } else {
        ("trial_system_attributes", "system_attr")
    };
    if let Some((k, v)) = one_attr(rec, field) {
        set_attr(tx, table, "trial_id", tid, &k, &v)?;
    }
    Ok(())
}

/// Records a heartbeat of `trial_id` now, by the database's clock (Optuna's
/// `record_heartbeat`: one row per trial).
fn heartbeat(tx: &mut dyn Tx, d: &Dialect, trial_id: i64) -> std::result::Result<(), DbError> {
    tx.exec(
        &format!(
            "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (?1, {}) \
             ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat",
            d.now
        ),
        &[P::Int(trial_id)],
    )?;
    Ok(())
}

/// What [`load`] reads.
#[derive(Debug, Clone, Copy)]
enum Scope {
    /// Every study and trial.
    All,
    /// One study and its trials.
    Study(usize),
    /// One study and its `WAITING` trials.
    Waiting(usize),
    /// One trial and its study (without the study's other trials).
    Trial(usize),
}

/// The `WHERE` clauses and parameters [`load`] reads a [`Scope`] with.
struct Filters {
    /// Filters the study tables (with parameters `sp`).
    sf: &'static str,
    /// Filters the trials (aliased `t`) and, joined to them, their tables (with parameters `tp`).
    tf: &'static str,
    /// The parameters of `sf`.
    sp: Vec<P>,
    /// The parameters of `tf`.
    tp: Vec<P>,
}

/// The filters that read `scope`.
fn scope_filters(scope: Scope) -> Filters {
    let (sf, tf, sp, tp) = match scope {
        Scope::All => (
            "WHERE ?1 = -1",
            "WHERE ?1 = -1",
            vec![P::Int(-1)],
            vec![P::Int(-1)],
        ),
        Scope::Study(sid) => (
            "WHERE study_id = ?1",
            "WHERE t.study_id = ?1",
            vec![P::Int(sid as i64)],
            vec![P::Int(sid as i64)],
        ),
        Scope::Waiting(sid) => (
            "WHERE study_id = ?1",
            "WHERE t.study_id = ?1 AND t.state = ?2",
            vec![P::Int(sid as i64)],
            vec![P::Int(sid as i64), P::Enum("WAITING".into())],
        ),
        Scope::Trial(tid) => (
            "WHERE study_id = (SELECT study_id FROM trials WHERE trial_id = ?1)",
            "WHERE t.trial_id = ?1",
            vec![P::Int(tid as i64)],
            vec![P::Int(tid as i64)],
        ),
    };
    Filters { sf, tf, sp, tp }
}

/// Trials read by [`load`] (with their study ids), and where each `trial_id` is among them.
struct LoadedTrials {
    /// `(study_id, trial)` in `trial_id` order.
    trials: Vec<(usize, FrozenTrial)>,
    /// `trial_id` → position in `trials`.
    index: std::collections::HashMap<i64, usize>,
}

impl LoadedTrials {
    /// The trial whose `trial_id` is in `cell`, if it was read.
    fn get_mut(&mut self, cell: &V) -> Option<&mut FrozenTrial> {
        let i = *cell.int().and_then(|t| self.index.get(&t))?;
        Some(&mut self.trials[i].1)
    }
}

/// Reads studies and trials (see [`Scope`]) into a [`Replay`].
fn load(tx: &mut dyn Tx, scope: Scope) -> std::result::Result<Replay, DbError> {
    let f = scope_filters(scope);
    let mut records = load_studies(tx, &f)?;
    load_study_directions(tx, &f, &mut records)?;
    load_study_attrs(tx, &f, &mut records)?;
    let mut trials = load_trials(tx, &f)?;
    load_trial_params(tx, &f, &mut trials)?;
    load_trial_values(tx, &f, &mut trials)?;
    load_trial_attrs(tx, &f, &mut trials)?;
    let mut replay = Replay::default();
    for (sid, rec) in records {
        replay.insert_study(sid, rec);
    }
    for (sid, t) in trials.trials {
        replay.insert_trial(sid, t);
    }
    Ok(replay)
}

/// The `studies` rows, in `study_id` order, as records without directions or attributes.
fn load_studies(
    tx: &mut dyn Tx,
    f: &Filters,
) -> std::result::Result<Vec<(usize, StudyRecord)>, DbError> {
    let mut records: Vec<(usize, StudyRecord)> = Vec::new();
    for r in tx.query(
        &format!(
            "SELECT study_id, study_name FROM studies {} ORDER BY study_id",
            f.sf
        ),
        &f.sp,
    )? {
        let (Some(sid), Some(name)) = (r[0].int(), r[1].text()) else {
            continue;
        };
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
    Ok(records)
}

/// The `study_directions` rows into `records`, in `objective` order.
fn load_study_directions(
    tx: &mut dyn Tx,
    f: &Filters,
    records: &mut [(usize, StudyRecord)],
) -> std::result::Result<(), DbError> {
    let mut dirs: Vec<(usize, i64, Direction)> = Vec::new();
    for r in tx.query(
        &format!(
            "SELECT study_id, objective, direction FROM study_directions {}",
            f.sf
        ),
        &f.sp,
    )? {
        let d = if r[2].text().as_deref() == Some("MAXIMIZE") {
            Direction::Maximize
        } else {
            Direction::Minimize
        };
        dirs.push((
            r[0].int().unwrap_or_default() as usize,
            r[1].int().unwrap_or_default(),
            d,
        ));
    }
    dirs.sort_by_key(|(s, o, _)| (*s, *o));
    for (sid, rec) in records {
        rec.directions = dirs
            .iter()
            .filter(|(s, _, _)| s == sid)
            .map(|(_, _, d)| *d)
            .collect();
    }
    Ok(())
}

/// The `study_user_attributes`, then the `study_system_attributes` rows into `records`.
fn load_study_attrs(
    tx: &mut dyn Tx,
    f: &Filters,
    records: &mut [(usize, StudyRecord)],
) -> std::result::Result<(), DbError> {
    for (table, idcol, user) in [
        ("study_user_attributes", "study_user_attribute_id", true),
        (
            "study_system_attributes",
            "study_system_attribute_id",
            false,
        ),
    ] {
        for r in tx.query(
            &format!(
                "SELECT study_id, \"key\", value_json FROM {table} {} ORDER BY {idcol}",
                f.sf
            ),
            &f.sp,
        )? {
            let (Some(sid), Some(k), Some(v)) = (r[0].int(), r[1].text(), r[2].text()) else {
                continue;
            };
            if let Some((_, rec)) = records.iter_mut().find(|(s, _)| *s == sid as usize) {
                let map = if user {
                    &mut rec.user_attrs
                } else {
                    &mut rec.system_attrs
                };
                map.insert(k, read_json(&v));
            }
        }
    }
    Ok(())
}

/// The `trials` rows, in `trial_id` order, as trials without parameters, values or attributes.
fn load_trials(tx: &mut dyn Tx, f: &Filters) -> std::result::Result<LoadedTrials, DbError> {
    let mut trials: Vec<(usize, FrozenTrial)> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for r in tx.query(
        &format!(
            "SELECT t.trial_id, t.number, t.study_id, t.state, t.datetime_start, \
             t.datetime_complete FROM trials t {} ORDER BY t.trial_id",
            f.tf
        ),
        &f.tp,
    )? {
        let (Some(tid), Some(sid)) = (r[0].int(), r[2].int()) else {
            continue;
        };
        let mut t = FrozenTrial::new(
            tid as usize,
            r[1].int().unwrap_or_default() as usize,
            parse_local(r[4].text()),
        );
        t.state = r[3]
            .text()
            .and_then(|s| parse_state(&s))
            .unwrap_or(TrialState::Fail);
        t.datetime_complete = parse_local(r[5].text());
        index.insert(tid, trials.len());
        trials.push((sid as usize, t));
    }
    Ok(LoadedTrials { trials, index })
}

/// The `trial_params` rows (in `param_id` order) into `trials`.
fn load_trial_params(
    tx: &mut dyn Tx,
    f: &Filters,
    trials: &mut LoadedTrials,
) -> std::result::Result<(), DbError> {
    for r in tx.query(
        &format!(
            "SELECT p.trial_id, p.param_name, p.param_value, p.distribution_json \
             FROM trial_params p JOIN trials t ON p.trial_id = t.trial_id {} ORDER BY p.param_id",
            f.tf
        ),
        &f.tp,
    )? {
        let (Some(name), Some(dist)) = (
            r[1].text(),
            r[3].text()
                .and_then(|d| Distribution::from_json_str(&d).ok()),
        ) else {
            continue;
        };
        let Some(t) = trials.get_mut(&r[0]) else {
            continue;
        };
        t.params
            .insert(name.clone(), r[2].real().unwrap_or(f64::NAN));
        t.distributions.insert(name, dist);
    }
    Ok(())
}

/// The `trial_values` (objective 0), then the `trial_intermediate_values` rows into `trials`.
fn load_trial_values(
    tx: &mut dyn Tx,
    f: &Filters,
    trials: &mut LoadedTrials,
) -> std::result::Result<(), DbError> {
    for r in tx.query(
        &format!(
            "SELECT v.trial_id, v.value, v.value_type FROM trial_values v \
             JOIN trials t ON v.trial_id = t.trial_id {} AND v.objective = 0",
            f.tf
        ),
        &f.tp,
    )? {
        if let Some(t) = trials.get_mut(&r[0]) {
            t.value = Some(read_float(r[1].real(), &r[2].text().unwrap_or_default()));
        }
    }
    for r in tx.query(
        &format!(
            "SELECT v.trial_id, v.step, v.intermediate_value, v.intermediate_value_type \
             FROM trial_intermediate_values v JOIN trials t ON v.trial_id = t.trial_id {}",
            f.tf
        ),
        &f.tp,
    )? {
        if let (Some(t), Some(step)) = (trials.get_mut(&r[0]), r[1].int()) {
            let v = read_float(r[2].real(), &r[3].text().unwrap_or_default());
            t.intermediate.insert(step, v);
        }
    }
    Ok(())
}

/// The `trial_user_attributes`, then the `trial_system_attributes` rows into `trials`.
fn load_trial_attrs(
    tx: &mut dyn Tx,
    f: &Filters,
    trials: &mut LoadedTrials,
) -> std::result::Result<(), DbError> {
    for (table, idcol, user) in [
        ("trial_user_attributes", "trial_user_attribute_id", true),
        (
            "trial_system_attributes",
            "trial_system_attribute_id",
            false,
        ),
    ] {
        for r in tx.query(
            &format!(
                "SELECT a.trial_id, a.\"key\", a.value_json FROM {table} a \
                 JOIN trials t ON a.trial_id = t.trial_id {} ORDER BY a.{idcol}",
                f.tf
            ),
            &f.tp,
        )? {
            let (Some(k), Some(v)) = (r[1].text(), r[2].text()) else {
                continue;
            };
            let Some(t) = trials.get_mut(&r[0]) else {
                continue;
            };
            let map = if user {
                &mut t.user_attrs
            } else {
                &mut t.system_attrs
            };
            map.insert(k, read_json(&v));
        }
    }
    Ok(())
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
        let r = self.load(Scope::All)?;
        f(&r);
        Ok(())
    }

    fn describe(&self) -> String {
        self.url.clone()
    }

    fn trials(&self, study_id: usize) -> Result<Vec<FrozenTrial>> {
        Ok(self.load(Scope::Study(study_id))?.study_trials(study_id))
    }

    fn waiting_trials(&self, study_id: usize) -> Result<Vec<FrozenTrial>> {
        // Only the waiting trials' rows: no need to read the whole study before each trial.
        Ok(self.load(Scope::Waiting(study_id))?.study_trials(study_id))
    }

    fn trial(&self, trial_id: usize) -> Result<FrozenTrial> {
        // Only this trial's rows, not its study's other trials.
        self.load(Scope::Trial(trial_id))?
            .trial(trial_id)
            .cloned()
            .ok_or_else(|| TuneError::Trial {
                trial_id,
                reason: "no such trial".into(),
            })
    }

    fn supports_heartbeat(&self) -> bool {
        true
    }

    fn record_heartbeat(&self, trial_id: usize) -> Result<()> {
        let d = self.dialect();
        self.transaction(true, &mut |tx| heartbeat(tx, d, trial_id as i64))
    }

    fn stale_trials(&self, study_id: usize, grace: Duration) -> Result<Vec<usize>> {
        let now_sql = self.dialect().now;
        let mut rows = Vec::new();
        let mut now = None;
        self.transaction(false, &mut |tx| {
            // The database's clock, as Optuna compares heartbeats with `func.now()`.
            now = tx
                .query(&format!("SELECT {now_sql}"), &[])?
                .first()
                .and_then(|r| r[0].text());
            rows = tx.query(
                "SELECT t.trial_id, h.heartbeat FROM trials t JOIN trial_heartbeats h \
                 ON h.trial_id = t.trial_id WHERE t.study_id = ?1 AND t.state = ?2",
                &[P::Int(study_id as i64), P::Enum("RUNNING".into())],
            )?;
            Ok(())
        })?;
        let now = now
            .as_deref()
            .and_then(parse_naive)
            .unwrap_or_else(|| Utc::now().naive_utc());
        let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
        Ok(rows
            .iter()
            .filter_map(|r| {
                let beat = parse_naive(&r[1].text()?)?;
                (now - beat > grace).then_some(r[0].int()? as usize)
            })
            .collect())
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
