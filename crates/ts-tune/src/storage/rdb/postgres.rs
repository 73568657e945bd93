//! The PostgreSQL side of [`RdbStorage`](super::RdbStorage): the synchronous `postgres` client
//! (rust-postgres), Optuna 5.0.0's DDL as SQLAlchemy emits it for PostgreSQL (with its enum
//! types), `SELECT … FOR UPDATE` row locks, and a reconnect after a lost connection.

use std::collections::HashMap;
use std::error::Error as _;

use chrono::NaiveDateTime;
use postgres::types::{FromSql, IsNull, Kind, ToSql, Type, to_sql_checked};
use postgres::{Client, IsolationLevel, NoTls, Statement};

use super::{Backend, DbError, Dialect, P, Tx, V};

/// Optuna 5.0.0's DDL on PostgreSQL, table by table (each with the enum type it needs first).
const TABLES: [(&str, &str); 13] = [
    (
        "studies",
        "CREATE TABLE studies (\n\tstudy_id SERIAL NOT NULL, \n\tstudy_name VARCHAR(512) NOT NULL, \n\tPRIMARY KEY (study_id)\n);\nCREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name);",
    ),
    (
        "version_info",
        "CREATE TABLE version_info (\n\tversion_info_id INTEGER NOT NULL, \n\tschema_version INTEGER, \n\tlibrary_version VARCHAR(256), \n\tPRIMARY KEY (version_info_id), \n\tCHECK (version_info_id=1)\n);",
    ),
    (
        "study_directions",
        "CREATE TYPE studydirection AS ENUM ('NOT_SET', 'MINIMIZE', 'MAXIMIZE');\nCREATE TABLE study_directions (\n\tstudy_direction_id SERIAL NOT NULL, \n\tdirection studydirection NOT NULL, \n\tstudy_id INTEGER NOT NULL, \n\tobjective INTEGER NOT NULL, \n\tPRIMARY KEY (study_direction_id), \n\tUNIQUE (study_id, objective), \n\tFOREIGN KEY(study_id) REFERENCES studies (study_id)\n);",
    ),
    (
        "study_user_attributes",
        "CREATE TABLE study_user_attributes (\n\tstudy_user_attribute_id SERIAL NOT NULL, \n\tstudy_id INTEGER, \n\tkey VARCHAR(512), \n\tvalue_json TEXT, \n\tPRIMARY KEY (study_user_attribute_id), \n\tUNIQUE (study_id, key), \n\tFOREIGN KEY(study_id) REFERENCES studies (study_id)\n);",
    ),
    (
        "study_system_attributes",
        "CREATE TABLE study_system_attributes (\n\tstudy_system_attribute_id SERIAL NOT NULL, \n\tstudy_id INTEGER, \n\tkey VARCHAR(512), \n\tvalue_json TEXT, \n\tPRIMARY KEY (study_system_attribute_id), \n\tUNIQUE (study_id, key), \n\tFOREIGN KEY(study_id) REFERENCES studies (study_id)\n);",
    ),
    (
        "trials",
        "CREATE TYPE trialstate AS ENUM ('RUNNING', 'COMPLETE', 'PRUNED', 'FAIL', 'WAITING');\nCREATE TABLE trials (\n\ttrial_id SERIAL NOT NULL, \n\tnumber INTEGER, \n\tstudy_id INTEGER, \n\tstate trialstate NOT NULL, \n\tdatetime_start TIMESTAMP WITHOUT TIME ZONE, \n\tdatetime_complete TIMESTAMP WITHOUT TIME ZONE, \n\tPRIMARY KEY (trial_id), \n\tFOREIGN KEY(study_id) REFERENCES studies (study_id)\n);\nCREATE INDEX ix_trials_study_id ON trials (study_id);",
    ),
    (
        "trial_user_attributes",
        "CREATE TABLE trial_user_attributes (\n\ttrial_user_attribute_id SERIAL NOT NULL, \n\ttrial_id INTEGER, \n\tkey VARCHAR(512), \n\tvalue_json TEXT, \n\tPRIMARY KEY (trial_user_attribute_id), \n\tUNIQUE (trial_id, key), \n\tFOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n);",
    ),
    (
        "trial_system_attributes",
        "CREATE TABLE trial_system_attributes (\n\ttrial_system_attribute_id SERIAL NOT NULL, \n\ttrial_id INTEGER, \n\tkey VARCHAR(512), \n\tvalue_json TEXT, \n\tPRIMARY KEY (trial_system_attribute_id), \n\tUNIQUE (trial_id, key), \n\tFOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n);",
    ),
    (
        "trial_params",
        "CREATE TABLE trial_params (\n\tparam_id SERIAL NOT NULL, \n\ttrial_id INTEGER, \n\tparam_name VARCHAR(512), \n\tparam_value FLOAT(53), \n\tdistribution_json TEXT, \n\tPRIMARY KEY (param_id), \n\tUNIQUE (trial_id, param_name), \n\tFOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n);",
    ),
    (
        "trial_values",
        "CREATE TYPE trialvaluetype AS ENUM ('FINITE', 'INF_POS', 'INF_NEG');\nCREATE TABLE trial_values (\n\ttrial_value_id SERIAL NOT NULL, \n\ttrial_id INTEGER NOT NULL, \n\tobjective INTEGER NOT NULL, \n\tvalue FLOAT(53), \n\tvalue_type trialvaluetype NOT NULL, \n\tPRIMARY KEY (trial_value_id), \n\tUNIQUE (trial_id, objective), \n\tFOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n);",
    ),
    (
        "trial_intermediate_values",
        "CREATE TYPE trialintermediatevaluetype AS ENUM ('FINITE', 'INF_POS', 'INF_NEG', 'NAN');\nCREATE TABLE trial_intermediate_values (\n\ttrial_intermediate_value_id SERIAL NOT NULL, \n\ttrial_id INTEGER NOT NULL, \n\tstep INTEGER NOT NULL, \n\tintermediate_value FLOAT(53), \n\tintermediate_value_type trialintermediatevaluetype NOT NULL, \n\tPRIMARY KEY (trial_intermediate_value_id), \n\tUNIQUE (trial_id, step), \n\tFOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n);",
    ),
    (
        "trial_heartbeats",
        "CREATE TABLE trial_heartbeats (\n\ttrial_heartbeat_id SERIAL NOT NULL, \n\ttrial_id INTEGER NOT NULL, \n\theartbeat TIMESTAMP WITHOUT TIME ZONE NOT NULL, \n\tPRIMARY KEY (trial_heartbeat_id), \n\tUNIQUE (trial_id), \n\tFOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n);",
    ),
    (
        "alembic_version",
        "CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT NULL, \n\tCONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n);",
    ),
];

const DIALECT: Dialect = Dialect {
    tables: "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()",
    ddl: &TABLES,
    lock: " FOR UPDATE",
    // The session's clock, naive, as SQLAlchemy stores `func.now()` in a TIMESTAMP column.
    now: "LOCALTIMESTAMP",
};

/// One connection to a PostgreSQL database.
pub(super) struct Postgres {
    url: String,
    client: Client,
    /// Statements prepared on this connection, by SQL text: each is parsed and planned by the
    /// server once per connection instead of once per use (prepared statements outlive the
    /// transaction that made them; a new connection starts with none).
    statements: HashMap<String, Statement>,
}

/// The message of a client error, with the server's own text when there is one.
fn message(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    match e.source() {
        Some(s) => format!("{e}: {s}"),
        None => e.to_string(),
    }
}

fn db_err(e: postgres::Error) -> DbError {
    use postgres::error::SqlState;
    let retry = e.is_closed()
        || e.as_db_error().is_none() && e.source().is_some_and(|s| s.is::<std::io::Error>())
        || e.code().is_some_and(|c| {
            [
                SqlState::T_R_SERIALIZATION_FAILURE,
                SqlState::T_R_DEADLOCK_DETECTED,
                SqlState::UNIQUE_VIOLATION,
                // Two workers creating the schema at once: the next attempt sees it.
                SqlState::DUPLICATE_TABLE,
                SqlState::DUPLICATE_OBJECT,
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CONNECTION_FAILURE,
            ]
            .contains(c)
        });
    if retry {
        DbError::Retry(message(&e))
    } else {
        DbError::Fatal(message(&e))
    }
}

impl Postgres {
    /// Connects; `url` may carry SQLAlchemy's driver suffix (`postgresql+psycopg2://`).
    pub(super) fn connect(url: &str) -> Result<Self, String> {
        let url = match url.split_once("://") {
            Some((scheme, rest)) => {
                format!("{}://{rest}", scheme.split('+').next().unwrap_or(scheme))
            }
            None => url.to_string(),
        };
        let config: postgres::Config = url.parse().map_err(|e: postgres::Error| {
            format!(
                "not a PostgreSQL URL ({e}); write postgresql://user:password@host:port/database"
            )
        })?;
        let mut config = config;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        let client = config
            .connect(NoTls)
            .map_err(|e| format!("cannot connect: {}", message(&e)))?;
        Ok(Self {
            url,
            client,
            statements: HashMap::new(),
        })
    }
}

/// A text value for a PostgreSQL enum column (enum values travel as their label).
#[derive(Debug)]
struct EnumLabel<'a>(&'a str);

impl ToSql for EnumLabel<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(ty.kind(), Kind::Enum(_)) || <&str as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

/// An enum (or any text) column read as its label.
struct Label(String);

impl<'a> FromSql<'a> for Label {
    fn from_sql(
        _ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Self(std::str::from_utf8(raw)?.to_string()))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(ty.kind(), Kind::Enum(_)) || <String as FromSql>::accepts(ty)
    }
}

/// `?1`, `?2`, … as PostgreSQL's `$1`, `$2`, … (the SQL of this module has no `?` elsewhere).
fn placeholders(sql: &str) -> String {
    sql.replace('?', "$")
}

fn time(s: &str) -> Result<NaiveDateTime, DbError> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .map_err(|_| DbError::Fatal(format!("not a time stamp: {s:?}")))
}

struct PgTx<'a> {
    tx: postgres::Transaction<'a>,
    statements: &'a mut HashMap<String, Statement>,
}

impl PgTx<'_> {
    /// The statement for `sql` (`?N` placeholders), prepared on first use.
    fn statement(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(st) = self.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = self.tx.prepare(&placeholders(sql)).map_err(db_err)?;
        self.statements.insert(sql.to_string(), st.clone());
        Ok(st)
    }
}

/// Parameters converted to the types the statement expects.
fn convert(params: &[P], types: &[Type]) -> Result<Vec<Box<dyn ToSql + Sync + Send>>, DbError> {
    params
        .iter()
        .zip(types)
        .map(|(p, ty)| -> Result<Box<dyn ToSql + Sync + Send>, DbError> {
            Ok(match p {
                P::Int(i) if *ty == Type::INT4 || *ty == Type::INT2 => Box::new(
                    i32::try_from(*i)
                        .map_err(|_| DbError::Fatal(format!("{i} does not fit an INTEGER")))?,
                ),
                P::Int(i) if *ty == Type::FLOAT8 => Box::new(*i as f64),
                P::Int(i) => Box::new(*i),
                P::Real(x) => Box::new(*x),
                P::Time(t) => Box::new(t.as_deref().map(time).transpose()?),
                P::Text(t) => Box::new(t.clone()),
                P::Enum(s) => Box::new(EnumOwned(s.clone())),
            })
        })
        .collect()
}

/// An owned [`EnumLabel`].
#[derive(Debug)]
struct EnumOwned(String);

impl ToSql for EnumOwned {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        EnumLabel(&self.0).to_sql(ty, out)
    }

    fn accepts(ty: &Type) -> bool {
        <EnumLabel<'_> as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

fn cell(row: &postgres::Row, i: usize) -> Result<V, DbError> {
    let ty = row.columns()[i].type_();
    let get_err = |e: postgres::Error| DbError::Fatal(message(&e));
    Ok(if *ty == Type::INT2 {
        row.try_get::<_, Option<i16>>(i)
            .map_err(get_err)?
            .map_or(V::Null, |v| V::Int(v.into()))
    } else if *ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i)
            .map_err(get_err)?
            .map_or(V::Null, |v| V::Int(v.into()))
    } else if *ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i)
            .map_err(get_err)?
            .map_or(V::Null, V::Int)
    } else if *ty == Type::FLOAT8 {
        row.try_get::<_, Option<f64>>(i)
            .map_err(get_err)?
            .map_or(V::Null, V::Real)
    } else if *ty == Type::FLOAT4 {
        row.try_get::<_, Option<f32>>(i)
            .map_err(get_err)?
            .map_or(V::Null, |v| V::Real(v.into()))
    } else if *ty == Type::TIMESTAMP {
        row.try_get::<_, Option<NaiveDateTime>>(i)
            .map_err(get_err)?
            .map_or(V::Null, |t| {
                V::Text(t.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
            })
    } else {
        row.try_get::<_, Option<Label>>(i)
            .map_err(get_err)?
            .map_or(V::Null, |l| V::Text(l.0))
    })
}

impl Tx for PgTx<'_> {
    fn exec(&mut self, sql: &str, params: &[P]) -> Result<u64, DbError> {
        let st = self.statement(sql)?;
        let values = convert(params, st.params())?;
        let refs: Vec<&(dyn ToSql + Sync)> = values
            .iter()
            .map(|b| b.as_ref() as &(dyn ToSql + Sync))
            .collect();
        self.tx.execute(&st, &refs).map_err(db_err)
    }

    fn query(&mut self, sql: &str, params: &[P]) -> Result<Vec<Vec<V>>, DbError> {
        let st = self.statement(sql)?;
        let values = convert(params, st.params())?;
        let refs: Vec<&(dyn ToSql + Sync)> = values
            .iter()
            .map(|b| b.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let rows = self.tx.query(&st, &refs).map_err(db_err)?;
        rows.iter()
            .map(|r| (0..r.len()).map(|i| cell(r, i)).collect())
            .collect()
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.tx.batch_execute(sql).map_err(db_err)
    }
}

impl Backend for Postgres {
    fn dialect(&self) -> &'static Dialect {
        &DIALECT
    }

    fn run(
        &mut self,
        write: bool,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        if self.client.is_closed() {
            // A lost connection: connect again (the caller retries the transaction).
            let fresh = Self::connect(&self.url).map_err(DbError::Retry)?;
            self.client = fresh.client;
            self.statements.clear();
        }
        let level = if write {
            IsolationLevel::ReadCommitted
        } else {
            // One snapshot for every statement of a read.
            IsolationLevel::RepeatableRead
        };
        let tx = self
            .client
            .build_transaction()
            .isolation_level(level)
            .read_only(!write)
            .start()
            .map_err(db_err)?;
        let mut tx = PgTx {
            tx,
            statements: &mut self.statements,
        };
        f(&mut tx)?;
        tx.tx.commit().map_err(db_err)
    }
}
