//! Optuna's RDB storage on SQLite: a database written by Optuna 5.0.0
//! (`fixtures/make_rdb_fixture.py`) read and resumed, the schema and version stamps of a new
//! database, bad URLs and refused databases (nothing written), threads and processes racing on
//! one file, heartbeats and the retry of stale trials.

mod common;
use common::{check_retried_once, dead_and_silent, study_on};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use ts_tune::storage::{self, RdbStorage};
use ts_tune::study::Heartbeat;
use ts_tune::{
    Direction, NopPruner, OptimizeOptions, RandomSampler, Storage, Study, Trial, TrialError,
    TrialState, TuneError,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn url(p: &Path) -> String {
    format!("sqlite:///{}", p.display())
}

fn quadratic(t: &mut Trial) -> Result<f64, TrialError> {
    let x = t.float("x", -5.0, 5.0, false)?;
    t.report(0, x.abs())?;
    Ok((x - 1.0).powi(2))
}

/// The fixture's search space (same as the script's objective).
fn fixture_objective(t: &mut Trial) -> Result<f64, TrialError> {
    let x = t.float("x", -5.0, 5.0, false)?;
    let lr = t.float("lr", 1e-5, 1e-1, true)?;
    let q = t.float_step("q", 0.0, 1.0, 0.25)?;
    let layers = t.int("layers", 1, 4, 1, false)? as f64;
    let units = t.int("units", 8, 64, 8, false)? as f64;
    let _ = t.categorical("optimizer", &["Adam".into(), "AdamW".into()])?;
    let _ = t.categorical("batch", &[16i64.into(), 32i64.into(), 64i64.into()])?;
    t.set_user_attr("note", json!(format!("tsf trial {}", t.number())))?;
    Ok((x - 1.0).powi(2) + (lr.log10() + 3.0).powi(2) + q + 0.1 * layers + units / 64.0)
}

fn ext_json(v: &ts_tune::ParamValue) -> Value {
    v.to_json()
}

/// JSON equality with floats equal to 1e-15 relative (serde_json's default float parser is not
/// always correctly rounded in the last place).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-15 * x.abs().max(y.abs()),
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[track_caller]
fn assert_same(a: Value, b: &Value, what: String) {
    assert!(same(&a, b), "{what}: {a} != {b}");
}

#[test]
fn a_database_optuna_wrote_is_read_whole_then_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("study.db");
    std::fs::copy(fixture("optuna_study.db"), &db).unwrap();
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("optuna_study_rdb.expected.json")).unwrap(),
    )
    .unwrap();
    let storage = storage::open(&url(&db)).unwrap();
    let study = study_on(storage.clone(), "optuna-rdb", Direction::Minimize, 3);
    assert_eq!(
        Value::Object(study.user_attrs().unwrap()),
        expected["study_user_attrs"]
    );
    let trials = study.trials().unwrap();
    let want = expected["trials"].as_array().unwrap();
    assert_eq!(trials.len(), want.len());
    for (t, w) in trials.iter().zip(want) {
        assert_eq!(t.number as u64, w["number"].as_u64().unwrap());
        let state = serde_json::to_value(t.state).unwrap();
        assert_eq!(state, w["state"], "trial {}", t.number);
        let params: serde_json::Map<String, Value> = t
            .external_params()
            .iter()
            .map(|(k, v)| (k.clone(), ext_json(v)))
            .collect();
        assert_same(
            Value::Object(params),
            &w["params"],
            format!("trial {}", t.number),
        );
        let dists: serde_json::Map<String, Value> = t
            .distributions
            .iter()
            .map(|(k, d)| (k.clone(), d.to_json()))
            .collect();
        assert_same(
            Value::Object(dists),
            &w["distributions"],
            format!("trial {}", t.number),
        );
        assert_same(
            t.value.map(|v| json!(v)).unwrap_or(Value::Null),
            &w["value"],
            format!("trial {}", t.number),
        );
        let inter: serde_json::Map<String, Value> = t
            .intermediate
            .iter()
            .map(|(k, v)| {
                let v = if v.is_finite() {
                    json!(v)
                } else {
                    json!(if *v > 0.0 { "inf" } else { "-inf" })
                };
                (k.to_string(), v)
            })
            .collect();
        assert_same(
            Value::Object(inter),
            &w["intermediate"],
            format!("trial {}", t.number),
        );
        assert_eq!(
            Value::Object(t.user_attrs.clone()),
            w["user_attrs"],
            "trial {}",
            t.number
        );
    }
    // The fixture holds one WAITING trial (Optuna's enqueue_trial): the next trial takes it, with
    // the enqueued values; the RUNNING one (14) is left alone.
    let opts = OptimizeOptions {
        n_trials: Some(4),
        ..Default::default()
    };
    study.optimize(fixture_objective, &opts, &|_| {}).unwrap();
    let after = study.trials().unwrap();
    assert_eq!(after.len(), 16 + 3);
    let numbers: Vec<usize> = after.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..19).collect::<Vec<_>>());
    assert_eq!(after[14].state, TrialState::Running);
    let queued = &after[15];
    assert_eq!(queued.state, TrialState::Complete);
    assert_eq!(queued.param("x").unwrap().as_f64(), Some(0.5));
    assert_eq!(queued.param("layers").unwrap().as_f64(), Some(2.0));
    assert_eq!(queued.param("optimizer").unwrap().to_json(), json!("AdamW"));
    for t in &after[16..] {
        assert_eq!(t.state, TrialState::Complete);
        assert_eq!(t.params.len(), 7);
        assert_eq!(
            t.user_attrs["note"],
            json!(format!("tsf trial {}", t.number))
        );
    }
    // A fresh handle (another worker) sees the same.
    let again = storage::open(&url(&db)).unwrap();
    let sid = again
        .load_or_create_study("optuna-rdb", Direction::Minimize)
        .unwrap();
    assert_eq!(again.trials(sid).unwrap(), after);
}

/// Raw rows as text, read with a separate SQLite connection.
fn sql(db: &Path, statement: &str) -> Vec<Vec<String>> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut st = c.prepare(statement).unwrap();
    let n = st.column_count();
    st.query_map([], |r| {
        (0..n)
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => String::new(),
                    rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                    rusqlite::types::ValueRef::Real(v) => v.to_string(),
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).into_owned()
                    }
                })
            })
            .collect()
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[test]
fn a_new_database_has_optunas_schema_stamps_and_encodings() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    let storage = storage::open(&url(&db)).unwrap();
    let study = study_on(storage.clone(), "s", Direction::Maximize, 1);
    study.set_user_attr("k", json!({"a": [1, 2]})).unwrap();
    let mut t = study.ask().unwrap();
    t.float("x", 0.0, 1.0, false).unwrap();
    t.categorical("c", &["a".into(), 2i64.into()]).unwrap();
    t.report(0, 0.5).unwrap();
    study.tell(t, Ok(f64::INFINITY)).unwrap();
    let t = study.ask().unwrap();
    study.tell(t, Err(TrialError::Pruned)).unwrap();
    // Read back through a second handle.
    let other = RdbStorage::open_sqlite(&db).unwrap();
    let snap = other.snapshot().unwrap();
    let (sid, rec) = snap.studies().iter().next().unwrap();
    assert_eq!(rec.name, "s");
    assert_eq!(rec.directions, vec![Direction::Maximize]);
    assert_eq!(rec.user_attrs["k"], json!({"a": [1, 2]}));
    let trials = snap.study_trials(*sid);
    assert_eq!(trials[0].state, TrialState::Fail);
    assert_eq!(trials[1].state, TrialState::Pruned);
    // The same tables, indexes and DDL text as a database Optuna 5.0.0 created.
    let schema = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name";
    assert_eq!(sql(&db, schema), sql(&fixture("optuna_study.db"), schema));
    // The raw rows.
    {
        let v = sql(
            &db,
            "SELECT schema_version, library_version FROM version_info",
        );
        assert_eq!(v, vec![vec!["12".to_string(), "5.0.0".to_string()]]);
        assert_eq!(
            sql(&db, "SELECT version_num FROM alembic_version"),
            vec![vec!["v3.2.0.a".to_string()]]
        );
        assert_eq!(
            sql(&db, "SELECT direction, objective FROM study_directions"),
            vec![vec!["MAXIMIZE".to_string(), "0".to_string()]]
        );
        assert_eq!(
            sql(&db, "SELECT value_json FROM study_user_attributes"),
            vec![vec![r#"{"a": [1, 2]}"#.to_string()]]
        );
        assert_eq!(
            sql(&db, "SELECT number, state FROM trials ORDER BY trial_id"),
            vec![
                vec!["0".to_string(), "FAIL".to_string()],
                vec!["1".to_string(), "PRUNED".to_string()]
            ]
        );
        let dist = sql(
            &db,
            "SELECT distribution_json FROM trial_params WHERE param_name = 'c'",
        );
        let dist: Value = serde_json::from_str(&dist[0][0]).unwrap();
        assert_eq!(
            dist,
            json!({"name": "CategoricalDistribution", "attributes": {"choices": ["a", 2]}})
        );
    }
}

#[test]
fn bad_urls_and_refused_databases_are_one_line_errors_and_write_nothing() {
    for bad in [
        "sqlite://study.db",
        "sqlite:///",
        "sqlite:///x.db?timeout=3",
        "ftp://host/x",
        "postgresql://user:secret@localhost:5432/db",
    ] {
        let e = storage::open(bad).err().unwrap().to_string();
        assert!(!e.contains('\n'), "{e}");
        assert!(!e.contains("secret"), "{e}");
        assert!(matches!(
            storage::open(bad).err().unwrap(),
            TuneError::Storage { .. }
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    // Not a database.
    let text = dir.path().join("notes.db");
    std::fs::write(
        &text,
        "just some text, long enough to not be a SQLite header......",
    )
    .unwrap();
    let before = std::fs::read(&text).unwrap();
    let e = storage::open(&url(&text)).err().unwrap().to_string();
    assert!(
        e.contains("notes.db") && e.contains("not a database"),
        "{e}"
    );
    assert_eq!(std::fs::read(&text).unwrap(), before);
    // A missing folder.
    let e = storage::open(&url(&dir.path().join("no/such/dir.db")))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("does not exist"), "{e}");
    // Another direction: refused, nothing written.
    let db = dir.path().join("s.db");
    {
        let s = storage::open(&url(&db)).unwrap();
        study_on(s, "s", Direction::Minimize, 1);
    }
    let before = std::fs::read(&db).unwrap();
    let s = storage::open(&url(&db)).unwrap();
    let e = Study::load_or_create(
        "s",
        Direction::Maximize,
        s,
        Arc::new(RandomSampler::new(Some(1))),
        Arc::new(NopPruner),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("minimises") && e.contains("maximises"), "{e}");
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn a_schema_optuna_would_refuse_is_refused_untouched() {
    // The fixture's database with its alembic revision set back to Optuna 3.0's: built by
    // editing a copy through tsf's own connection is not possible, so the bytes are patched:
    // the revision string has the same length.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    let mut bytes = std::fs::read(fixture("optuna_study.db")).unwrap();
    let at = bytes
        .windows(8)
        .position(|w| w == b"v3.2.0.a")
        .expect("the fixture holds its alembic revision");
    bytes[at..at + 8].copy_from_slice(b"v3.0.0.d");
    std::fs::write(&db, &bytes).unwrap();
    let e = storage::open(&url(&db)).err().unwrap().to_string();
    assert!(
        e.contains("v3.0.0.d") && e.contains("optuna storage upgrade"),
        "{e}"
    );
    assert!(!e.contains('\n'));
    assert_eq!(std::fs::read(&db).unwrap(), bytes);
    bytes[at..at + 8].copy_from_slice(b"v9.9.9.z");
    std::fs::write(&db, &bytes).unwrap();
    let e = storage::open(&url(&db)).err().unwrap().to_string();
    assert!(e.contains("newer Optuna"), "{e}");
    assert_eq!(std::fs::read(&db).unwrap(), bytes);
}

fn check_unique_complete(db: &Path, expected: usize) {
    let s = storage::open(&url(db)).unwrap();
    let sid = s.load_or_create_study("race", Direction::Minimize).unwrap();
    let trials = s.trials(sid).unwrap();
    assert_eq!(trials.len(), expected);
    let numbers: Vec<usize> = trials.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..expected).collect::<Vec<_>>());
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
    assert!(trials.iter().all(|t| t.params.contains_key("x")));
}

#[test]
fn threads_with_their_own_connections_get_unique_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("race.db");
    std::thread::scope(|sc| {
        for w in 0..4u64 {
            let db = db.clone();
            sc.spawn(move || {
                let s = storage::open(&url(&db)).unwrap();
                let study = study_on(s, "race", Direction::Minimize, w);
                let opts = OptimizeOptions {
                    n_trials: Some(15),
                    n_jobs: 2,
                    ..Default::default()
                };
                study.optimize(quadratic, &opts, &|_| {}).unwrap();
            });
        }
    });
    check_unique_complete(&db, 60);
}

/// Worker of `processes_racing_on_one_file_get_unique_numbers` (run by it in child processes).
#[test]
#[ignore = "run by processes_racing_on_one_file_get_unique_numbers"]
fn race_worker() {
    let db = PathBuf::from(std::env::var("TSF_RDB_RACE_DB").expect("TSF_RDB_RACE_DB"));
    let s = storage::open(&url(&db)).unwrap();
    let study = study_on(s, "race", Direction::Minimize, std::process::id() as u64);
    let opts = OptimizeOptions {
        n_trials: Some(20),
        ..Default::default()
    };
    study.optimize(quadratic, &opts, &|_| {}).unwrap();
}

#[test]
fn processes_racing_on_one_file_get_unique_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("race.db");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(&exe)
                .args(["--ignored", "--exact", "race_worker", "--test-threads", "1"])
                .env("TSF_RDB_RACE_DB", &db)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        // A failing worker's own report (libtest prints its panic on stdout) in the message.
        let o = c.wait_with_output().unwrap();
        assert!(
            o.status.success(),
            "a worker failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    check_unique_complete(&db, 80);
}

#[test]
fn a_trial_whose_heartbeat_stopped_fails_and_is_retried_with_optunas_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hb.db");
    let s = storage::open(&url(&db)).unwrap();
    let study = study_on(s.clone(), "hb", Direction::Minimize, 1);
    // A worker that dies mid-trial: one heartbeat, then silence.
    let silent = dead_and_silent(&study, &*s);
    let failed = study
        .fail_stale_trials(Duration::from_millis(100), Some(1))
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].number, 0);
    check_retried_once(&study, &*s, &silent);
    // With two retries allowed, a third attempt is queued with the whole history.
    let mut third = study.ask().unwrap();
    assert_eq!(third.number(), 3, "nothing was waiting: a new trial");
    third.float("x", -5.0, 5.0, false).unwrap();
    s.record_heartbeat(third.trial_id()).unwrap();
    std::thread::sleep(Duration::from_millis(250));
    study
        .fail_stale_trials(Duration::from_millis(100), Some(2))
        .unwrap();
    let by_number: BTreeMap<usize, _> = study
        .trials()
        .unwrap()
        .into_iter()
        .map(|t| (t.number, t))
        .collect();
    assert_eq!(by_number[&4].state, TrialState::Waiting);
    assert_eq!(by_number[&4].system_attrs["failed_trial"], json!(3));
    assert_eq!(by_number[&4].system_attrs["retry_history"], json!([3]));
}

#[test]
fn a_trial_created_by_a_worker_with_heartbeats_has_its_first_heartbeat_in_the_same_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("first.db");
    let s = storage::open(&url(&db)).unwrap();
    let sid = s
        .load_or_create_study("first", Direction::Minimize)
        .unwrap();
    let (beating, _) = s.create_trial_beating(sid).unwrap();
    let (plain, _) = s.create_trial(sid).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        s.stale_trials(sid, Duration::from_millis(100)).unwrap(),
        vec![beating],
        "trial id {plain} sent no heartbeat: never stale"
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM trial_heartbeats", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1);
}

#[test]
fn optimize_with_heartbeats_fails_a_dead_workers_trial_and_reruns_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hb.db");
    let s = storage::open(&url(&db)).unwrap();
    let study = study_on(s.clone(), "hb", Direction::Minimize, 1);
    let mut dead = study.ask().unwrap();
    dead.float("x", -5.0, 5.0, false).unwrap();
    s.record_heartbeat(dead.trial_id()).unwrap();
    // Longer than the grace period: the first trial's worker is dead.
    std::thread::sleep(Duration::from_millis(1_200));
    let beats = std::sync::atomic::AtomicUsize::new(0);
    let opts = OptimizeOptions {
        n_trials: Some(3),
        heartbeat: Some(Heartbeat {
            interval: Duration::from_millis(50),
            // 20 intervals: a live trial on a loaded machine is not failed.
            grace_period: Some(Duration::from_millis(1_000)),
            retry_failed: Some(2),
        }),
        ..Default::default()
    };
    study
        .optimize(
            |t| {
                // Long enough for several heartbeats; a live trial is never failed.
                std::thread::sleep(Duration::from_millis(250));
                beats.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                quadratic(t)
            },
            &opts,
            &|_| {},
        )
        .unwrap();
    let trials = study.trials().unwrap();
    assert_eq!(trials[0].state, TrialState::Fail);
    assert_eq!(trials[1].state, TrialState::Complete, "the retry ran first");
    assert_eq!(trials[1].system_attrs["failed_trial"], json!(0));
    assert_eq!(trials[1].params, trials[0].params);
    assert_eq!(trials.len(), 4);
    assert!(trials[1..].iter().all(|t| t.state == TrialState::Complete));
    // The objective ran once per trial asked for: the retry and two new ones.
    assert_eq!(beats.load(std::sync::atomic::Ordering::SeqCst), 3);
    // Heartbeats without a storage that keeps them: refused before any trial.
    let mem = Study::in_memory(Direction::Minimize, Some(1)).unwrap();
    let e = mem
        .optimize(quadratic, &opts, &|_| {})
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("heartbeat"), "{e}");
}

#[test]
fn a_plain_path_is_still_a_journal_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.log");
    let s = storage::open(path.to_str().unwrap()).unwrap();
    let study = study_on(s, "j", Direction::Minimize, 1);
    let opts = OptimizeOptions {
        n_trials: Some(2),
        ..Default::default()
    };
    study.optimize(quadratic, &opts, &|_| {}).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.lines().next().unwrap().contains("\"op_code\":0"));
}

/// The storage URL `fixtures/check_optuna_reads_tsf.py` passes.
fn interop_url() -> String {
    std::env::var("TSF_RDB_INTEROP_URL").expect("TSF_RDB_INTEROP_URL")
}

/// Step 1 of `fixtures/check_optuna_reads_tsf.py`: writes study "tsf-interop" into the storage
/// `$TSF_RDB_INTEROP_URL` (complete, pruned and failed trials of every parameter kind,
/// intermediate values, trial and study user attributes).
#[test]
#[ignore = "run by fixtures/check_optuna_reads_tsf.py"]
fn interop_write() {
    let s = storage::open(&interop_url()).unwrap();
    let study = study_on(s, "tsf-interop", Direction::Minimize, 5);
    study
        .set_user_attr("objective", json!({"data": "interop", "targets": ["y"]}))
        .unwrap();
    let opts = OptimizeOptions {
        n_trials: Some(12),
        ..Default::default()
    };
    study
        .optimize(
            |t| {
                let v = fixture_objective(t)?;
                for step in 0..3 {
                    t.report(step, v + (3 - step) as f64)?;
                }
                match t.number() {
                    4 => Err(TrialError::Pruned),
                    7 => Err(TrialError::Failed("deliberate failure".into())),
                    _ => Ok(v),
                }
            },
            &opts,
            &|_| {},
        )
        .unwrap();
}

/// Step 3 of `fixtures/check_optuna_reads_tsf.py`: resumes "tsf-interop" after Optuna added
/// trials to it; every trial number stays unique and Optuna's trials are read whole.
#[test]
#[ignore = "run by fixtures/check_optuna_reads_tsf.py"]
fn interop_resume() {
    let s = storage::open(&interop_url()).unwrap();
    let study = study_on(s, "tsf-interop", Direction::Minimize, 6);
    let before = study.trials().unwrap();
    assert!(before.len() > 12, "Optuna added no trial");
    assert!(
        before[12..]
            .iter()
            .all(|t| t.state == TrialState::Complete && t.params.len() == 7)
    );
    let opts = OptimizeOptions {
        n_trials: Some(3),
        ..Default::default()
    };
    study.optimize(fixture_objective, &opts, &|_| {}).unwrap();
    let after = study.trials().unwrap();
    assert_eq!(after.len(), before.len() + 3);
    let numbers: Vec<usize> = after.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..after.len()).collect::<Vec<_>>());
    println!("tsf resumed: {} trials", after.len());
}
