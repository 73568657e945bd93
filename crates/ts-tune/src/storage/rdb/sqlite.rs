//! The SQLite side of [`RdbStorage`](super::RdbStorage): rusqlite with SQLite compiled in.

use std::path::Path;
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, TransactionBehavior};

use super::{Backend, DbError, Dialect, P, Tx, V};

/// SQLite's own wait for a lock, per attempt.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Optuna 5.0.0's DDL on SQLite, table by table, exactly as SQLAlchemy emits it.
pub(super) const TABLES: [(&str, &str); 13] = [
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

pub(super) const DIALECT: Dialect = Dialect {
    tables: "SELECT name FROM sqlite_master WHERE type = 'table'",
    ddl: &TABLES,
    lock: "",
    // UTC, as SQLite's CURRENT_TIMESTAMP (Optuna's `func.now()`), with milliseconds.
    now: "strftime('%Y-%m-%d %H:%M:%f', 'now')",
};

/// One connection to a SQLite file.
pub(super) struct Sqlite {
    conn: Connection,
}

fn db_err(e: rusqlite::Error) -> DbError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => DbError::Retry(e.to_string()),
        _ => DbError::Fatal(e.to_string()),
    }
}

impl Sqlite {
    /// Opens (creating if missing) the file; a new file is switched to the write-ahead log.
    pub(super) fn open(path: &Path) -> Result<Self, String> {
        let fresh = std::fs::metadata(path).map_or(true, |m| m.len() == 0);
        let conn = Connection::open(path).map_err(|e| e.to_string())?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| e.to_string())?;
        if fresh && std::env::var_os("TSF_SQLITE_NO_WAL").is_none() {
            // A database tsf creates uses SQLite's write-ahead log: readers never block the
            // writer and a commit costs one fsync instead of three. The mode is stored in the
            // file, so Optuna's processes use it too; the tables are the same.
            switch_to_wal(&conn)?;
        }
        Ok(Self { conn })
    }
}

/// Switches a new file to the write-ahead log. Several workers may open the new file at once;
/// the switch needs an exclusive lock and SQLite may answer "busy" without waiting for it, so
/// a busy answer is retried with a bounded back-off (about 5 s in all). Whichever worker wins,
/// the mode is stored in the file.
fn switch_to_wal(conn: &Connection) -> Result<(), String> {
    let mut wait = std::time::Duration::from_millis(5);
    let mut waited = std::time::Duration::ZERO;
    loop {
        match conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0)) {
            Ok(_) => return Ok(()),
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                ) && waited < std::time::Duration::from_secs(5) =>
            {
                std::thread::sleep(wait);
                waited += wait;
                wait = (wait * 2).min(std::time::Duration::from_millis(200));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

struct SqliteTx<'a>(rusqlite::Transaction<'a>);

fn bind(params: &[P]) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value as SV;
    params
        .iter()
        .map(|p| match p {
            P::Int(i) => SV::Integer(*i),
            P::Real(Some(x)) => SV::Real(*x),
            P::Text(Some(s)) | P::Time(Some(s)) | P::Enum(s) => SV::Text(s.clone()),
            P::Real(None) | P::Text(None) | P::Time(None) => SV::Null,
        })
        .collect()
}

impl Tx for SqliteTx<'_> {
    fn exec(&mut self, sql: &str, params: &[P]) -> Result<u64, DbError> {
        self.0
            .execute(sql, rusqlite::params_from_iter(bind(params)))
            .map(|n| n as u64)
            .map_err(db_err)
    }

    fn query(&mut self, sql: &str, params: &[P]) -> Result<Vec<Vec<V>>, DbError> {
        let mut st = self.0.prepare(sql).map_err(db_err)?;
        let n = st.column_count();
        let rows = st
            .query_map(rusqlite::params_from_iter(bind(params)), |r| {
                (0..n)
                    .map(|i| {
                        Ok(match r.get_ref(i)? {
                            ValueRef::Null => V::Null,
                            ValueRef::Integer(v) => V::Int(v),
                            ValueRef::Real(v) => V::Real(v),
                            ValueRef::Text(t) | ValueRef::Blob(t) => {
                                V::Text(String::from_utf8_lossy(t).into_owned())
                            }
                        })
                    })
                    .collect::<rusqlite::Result<Vec<V>>>()
            })
            .map_err(db_err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.0.execute_batch(sql).map_err(db_err)
    }
}

impl Backend for Sqlite {
    fn dialect(&self) -> &'static Dialect {
        &DIALECT
    }

    fn run(
        &mut self,
        write: bool,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        let behavior = if write {
            TransactionBehavior::Immediate
        } else {
            TransactionBehavior::Deferred
        };
        let tx = self
            .conn
            .transaction_with_behavior(behavior)
            .map_err(db_err)?;
        let mut tx = SqliteTx(tx);
        f(&mut tx)?;
        tx.0.commit().map_err(db_err)
    }
}
