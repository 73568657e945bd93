//! Optuna's RDB storage on a real PostgreSQL server: Debian's `postgresql` package (`initdb` in a
//! temporary folder, `pg_ctl` on a free port of 127.0.0.1, password authentication, stopped at
//! the end). `.ci/run` installs the package when it is missing; without it this test fails,
//! naming the package.
#![cfg(feature = "postgres")]

mod common;
use common::study_on;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use ts_tune::storage;
use ts_tune::study::Heartbeat;
use ts_tune::{
    Direction, NopPruner, OptimizeOptions, RandomSampler, Study, Trial, TrialError, TrialState,
};

const USER: &str = "tsf";
const PASSWORD: &str = "tsf-secret";

/// A PostgreSQL server for this test, stopped when dropped.
struct Server {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

fn server_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("TSF_PG_BIN") {
        return PathBuf::from(p);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| Some(e.ok()?.path().join("bin")))
                .filter(|b| b.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: \
             `apt-get install -y postgresql` (.ci/run does), or set TSF_PG_BIN"
        )
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Server {
    fn start() -> Self {
        let bin = server_bin();
        let dir = tempfile::tempdir().unwrap();
        let as_postgres = is_root();
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        if as_postgres {
            // initdb refuses to run as root: the server runs as Debian's `postgres` user.
            let ok = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown postgres {}", dir.path().display());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let s = Self {
            dir,
            bin,
            port,
            as_postgres,
        };
        let data = s.dir.path().join("data");
        let out = s
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", USER, "-A", "scram-sha-256", "--pwfile"])
            .arg(&pwfile)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            s.port,
            s.dir.path().display()
        );
        let out = s
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-o", &opts, "-l"])
            .arg(s.dir.path().join("log"))
            .args(["-w", "-t", "60", "start"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {} {}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(s.dir.path().join("log")).unwrap_or_default()
        );
        s
    }

    fn command(&self, tool: &str) -> Command {
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join(tool));
            c
        } else {
            Command::new(self.bin.join(tool))
        }
    }

    fn url(&self, db: &str) -> String {
        format!(
            "postgresql://{USER}:{PASSWORD}@127.0.0.1:{}/{db}",
            self.port
        )
    }

    fn client(&self, db: &str) -> postgres::Client {
        postgres::Client::connect(&self.url(db), postgres::NoTls).unwrap()
    }

    fn createdb(&self, db: &str) {
        self.client("postgres")
            .batch_execute(&format!("CREATE DATABASE \"{db}\""))
            .unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn objective(t: &mut Trial) -> Result<f64, TrialError> {
    let x = t.float("x", -5.0, 5.0, false)?;
    let lr = t.float("lr", 1e-5, 1e-1, true)?;
    let n = t.int("units", 8, 64, 8, false)? as f64;
    let _ = t.categorical("optimizer", &["Adam".into(), "AdamW".into()])?;
    t.report(0, x.abs() + 10.0)?;
    t.set_user_attr("note", json!(format!("trial {}", t.number())))?;
    Ok((x - 1.0).powi(2) + (lr.log10() + 3.0).powi(2) + n / 64.0)
}

fn check_schema_and_rows(server: &Server) {
    server.createdb("schema");
    let s = storage::open(&server.url("schema")).unwrap();
    assert!(!s.describe().contains(PASSWORD), "{}", s.describe());
    let study = study_on(s.clone(), "pg", Direction::Maximize, 1);
    study.set_user_attr("k", json!({"a": [1, 2]})).unwrap();
    let opts = OptimizeOptions {
        n_trials: Some(5),
        ..Default::default()
    };
    study.optimize(objective, &opts, &|_| {}).unwrap();
    let mut t = study.ask().unwrap();
    t.report(3, f64::NEG_INFINITY).unwrap(); // not stored, as in Optuna
    study.tell(t, Err(TrialError::Pruned)).unwrap();
    // A second connection reads everything back.
    let again = storage::open(&server.url("schema")).unwrap();
    let sid = again
        .load_or_create_study("pg", Direction::Maximize)
        .unwrap();
    let trials = again.trials(sid).unwrap();
    assert_eq!(trials, study.trials().unwrap());
    assert_eq!(trials.len(), 6);
    assert_eq!(trials[5].state, TrialState::Pruned);
    assert!(trials[..5].iter().all(|t| t.state == TrialState::Complete
        && t.params.len() == 4
        && t.user_attrs["note"] == json!(format!("trial {}", t.number))));
    assert_eq!(study.user_attrs().unwrap()["k"], json!({"a": [1, 2]}));
    // The raw rows: Optuna's enum types and spellings, version stamps.
    let mut c = server.client("schema");
    let row = c
        .query_one(
            "SELECT schema_version, library_version FROM version_info",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, Option<i32>>(0), Some(12));
    assert_eq!(row.get::<_, Option<String>>(1).as_deref(), Some("5.0.0"));
    let v: String = c
        .query_one("SELECT version_num FROM alembic_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(v, "v3.2.0.a");
    let d: String = c
        .query_one("SELECT direction::text FROM study_directions", &[])
        .unwrap()
        .get(0);
    assert_eq!(d, "MAXIMIZE");
    let states: Vec<String> = c
        .query("SELECT state::text FROM trials ORDER BY trial_id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(states[0], "COMPLETE");
    assert_eq!(states[5], "PRUNED");
    let types: Vec<String> = c
        .query(
            "SELECT typname::text FROM pg_type WHERE typtype = 'e' ORDER BY typname",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        types,
        [
            "studydirection",
            "trialintermediatevaluetype",
            "trialstate",
            "trialvaluetype"
        ]
    );
    let kind: String = c
        .query_one(
            "SELECT value_type::text FROM trial_values ORDER BY trial_value_id LIMIT 1",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(kind, "FINITE");
}

fn check_race(server: &Server) {
    server.createdb("race");
    let url = server.url("race");
    std::thread::scope(|sc| {
        for w in 0..4u64 {
            let url = url.clone();
            sc.spawn(move || {
                let s = storage::open(&url).unwrap();
                let study = study_on(s, "race", Direction::Minimize, w);
                let opts = OptimizeOptions {
                    n_trials: Some(12),
                    n_jobs: 2,
                    ..Default::default()
                };
                study.optimize(objective, &opts, &|_| {}).unwrap();
            });
        }
    });
    let s = storage::open(&url).unwrap();
    let sid = s.load_or_create_study("race", Direction::Minimize).unwrap();
    let trials = s.trials(sid).unwrap();
    let numbers: Vec<usize> = trials.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..48).collect::<Vec<_>>());
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
}

fn check_heartbeats(server: &Server) {
    server.createdb("hb");
    let s = storage::open(&server.url("hb")).unwrap();
    let study = study_on(s.clone(), "hb", Direction::Minimize, 1);
    let mut dead = study.ask().unwrap();
    dead.float("x", -5.0, 5.0, false).unwrap();
    s.record_heartbeat(dead.trial_id()).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let opts = OptimizeOptions {
        n_trials: Some(2),
        heartbeat: Some(Heartbeat {
            interval: Duration::from_millis(50),
            grace_period: Some(Duration::from_millis(200)),
            retry_failed: Some(1),
        }),
        ..Default::default()
    };
    study
        .optimize(
            |t| {
                std::thread::sleep(Duration::from_millis(250));
                let x = t.float("x", -5.0, 5.0, false)?;
                Ok(x * x)
            },
            &opts,
            &|_| {},
        )
        .unwrap();
    let trials = study.trials().unwrap();
    assert_eq!(trials[0].state, TrialState::Fail);
    assert_eq!(trials[1].state, TrialState::Complete);
    assert_eq!(trials[1].system_attrs["failed_trial"], json!(0));
    assert_eq!(trials[1].system_attrs["retry_history"], json!([0]));
    assert_eq!(trials[1].params, trials[0].params);
    assert_eq!(trials[2].state, TrialState::Complete);
}

fn check_refusals(server: &Server) {
    let one_line = |e: ts_tune::TuneError, parts: &[&str]| {
        let m = e.to_string();
        assert!(!m.contains('\n') && !m.contains(PASSWORD), "{m}");
        for p in parts {
            assert!(m.contains(p), "{p:?} not in {m}");
        }
    };
    let wrong = format!(
        "postgresql://{USER}:nope@127.0.0.1:{}/postgres",
        server.port
    );
    one_line(
        storage::open(&wrong).err().unwrap(),
        &["password authentication failed", "tsf:***@"],
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    one_line(
        storage::open(&format!(
            "postgresql://{USER}:{PASSWORD}@127.0.0.1:{closed}/x"
        ))
        .err()
        .unwrap(),
        &["cannot connect"],
    );
    one_line(
        storage::open(&server.url("no_such_db")).err().unwrap(),
        &["no_such_db", "does not exist"],
    );
    // Another direction, and a schema Optuna would refuse: nothing written.
    server.createdb("refuse");
    {
        let s = storage::open(&server.url("refuse")).unwrap();
        study_on(s, "s", Direction::Minimize, 1);
    }
    let count = |c: &mut postgres::Client| -> i64 {
        c.query_one(
            "SELECT (SELECT COUNT(*) FROM studies) + (SELECT COUNT(*) FROM trials) \
             + (SELECT COUNT(*) FROM study_directions)",
            &[],
        )
        .unwrap()
        .get(0)
    };
    let mut c = server.client("refuse");
    let before = count(&mut c);
    let e = Study::load_or_create(
        "s",
        Direction::Maximize,
        storage::open(&server.url("refuse")).unwrap(),
        Arc::new(RandomSampler::new(Some(1))),
        Arc::new(NopPruner),
    )
    .err()
    .unwrap();
    one_line(e, &["minimises", "maximises"]);
    c.batch_execute("UPDATE alembic_version SET version_num = 'v3.0.0.d'")
        .unwrap();
    one_line(
        storage::open(&server.url("refuse")).err().unwrap(),
        &["v3.0.0.d", "optuna storage upgrade"],
    );
    assert_eq!(count(&mut c), before);
}

#[test]
fn postgresql_storage_against_a_real_server() {
    let server = Server::start();
    check_schema_and_rows(&server);
    check_race(&server);
    check_heartbeats(&server);
    check_refusals(&server);
}
