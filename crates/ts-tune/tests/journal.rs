//! The journal file against files written by Optuna 5 (fixtures made by
//! `fixtures/make_fixtures.py`), resuming, bad files, torn lines, concurrent writers, and
//! heartbeats kept beside the journal (stale trials failed and retried; Optuna still reads it).

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use ts_tune::study::Heartbeat;
use ts_tune::{
    Choice, Direction, JournalStorage, MedianPruner, NopPruner, OptimizeOptions, ParamValue,
    Storage, Study, TpeSampler, Trial, TrialError, TrialState, TuneError,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn copy_fixture(name: &str, dir: &tempfile::TempDir) -> PathBuf {
    let to = dir.path().join(name);
    std::fs::copy(fixture(name), &to).unwrap();
    to
}

fn open_study(path: &Path, name: &str, direction: Direction, seed: u64) -> ts_tune::Result<Study> {
    Study::load_or_create(
        name,
        direction,
        Arc::new(JournalStorage::open(path)?),
        Arc::new(TpeSampler::new(Some(seed))),
        Arc::new(MedianPruner::default()),
    )
}

/// The same search space as the fixture script's objective.
fn fixture_objective(t: &mut Trial) -> Result<f64, TrialError> {
    let x = t.float("x", -5.0, 5.0, false)?;
    let lr = t.float("lr", 1e-5, 1e-1, true)?;
    let q = t.float_step("q", 0.0, 1.0, 0.25)?;
    let layers = t.int("layers", 1, 4, 1, false)? as f64;
    let units = t.int("units", 8, 64, 8, false)? as f64;
    let opt = t.categorical("optimizer", &["Adam".into(), "AdamW".into()])?;
    let batch = t.categorical("batch", &[16i64.into(), 32i64.into(), 64i64.into()])?;
    let mut v = (x - 1.0).powi(2) + (lr.log10() + 3.0).powi(2) + q + 0.1 * layers + units / 64.0;
    v += if opt == Choice::from("Adam") {
        0.05
    } else {
        0.0
    };
    v += 0.01 * batch.as_f64().unwrap() / 16.0;
    for step in 0..5 {
        t.report(step, v + (5 - step) as f64 * 0.1)?;
        if t.should_prune()? {
            return Err(TrialError::Pruned);
        }
    }
    Ok(v)
}

fn state_name(s: TrialState) -> &'static str {
    match s {
        TrialState::Running => "RUNNING",
        TrialState::Complete => "COMPLETE",
        TrialState::Pruned => "PRUNED",
        TrialState::Fail => "FAIL",
        TrialState::Waiting => "WAITING",
    }
}

#[test]
fn reads_an_optuna_journal_as_optuna_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture("optuna_study.log", &dir);
    let study = open_study(&path, "optuna-fixture", Direction::Minimize, 0).unwrap();
    let trials = study.trials().unwrap();
    let expected: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(fixture("optuna_study.expected.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(trials.len(), expected.len());
    for (t, e) in trials.iter().zip(&expected) {
        assert_eq!(t.number as u64, e["number"].as_u64().unwrap());
        assert_eq!(
            state_name(t.state),
            e["state"].as_str().unwrap(),
            "trial {}",
            t.number
        );
        match e["value"].as_f64() {
            Some(v) => assert_eq!(t.value, Some(v), "trial {}", t.number),
            None => assert!(
                t.value.is_none() || t.state == TrialState::Fail,
                "trial {}",
                t.number
            ),
        }
        let params = t.external_params();
        let eparams = e["params"].as_object().unwrap();
        assert_eq!(params.len(), eparams.len(), "trial {}", t.number);
        for (k, ev) in eparams {
            let p = &params[k];
            match p {
                ParamValue::Float(f) => assert_eq!(*f, ev.as_f64().unwrap(), "{k}"),
                ParamValue::Int(i) => assert_eq!(*i, ev.as_i64().unwrap(), "{k}"),
                ParamValue::Choice(c) => assert_eq!(c.to_json(), *ev, "{k}"),
            }
        }
        let iv: BTreeMap<i64, f64> = e["intermediate_values"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.parse().unwrap(), v.as_f64().unwrap()))
            .collect();
        assert_eq!(t.intermediate, iv, "trial {}", t.number);
    }
    // User attributes and Optuna's joint TPE proposals (system attributes) are kept.
    assert_eq!(trials[0].user_attrs["note"], "trial 0");
    assert!(trials[7].system_attrs.contains_key("tpe:relative_params:0"));
    assert!(study.best_trial().unwrap().value.unwrap() > 0.0);
}

#[test]
fn resumes_an_optuna_study_keeping_every_trial() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture("optuna_study.log", &dir);
    let before = std::fs::read(&path).unwrap();
    let study = open_study(&path, "optuna-fixture", Direction::Minimize, 3).unwrap();
    let old = study.trials().unwrap();
    let opts = OptimizeOptions {
        n_trials: Some(6),
        ..Default::default()
    };
    let s = study.optimize(fixture_objective, &opts, &|_| {}).unwrap();
    assert_eq!(s.finished, 6);
    // The file only grew: Optuna's records are untouched.
    let after = std::fs::read(&path).unwrap();
    assert_eq!(&after[..before.len()], &before[..]);
    // A fresh reader sees the old trials unchanged and the new ones numbered after them.
    let again = open_study(&path, "optuna-fixture", Direction::Minimize, 3).unwrap();
    let all = again.trials().unwrap();
    assert_eq!(all.len(), old.len() + 6);
    assert_eq!(&all[..old.len()], &old[..]);
    for (i, t) in all.iter().enumerate() {
        assert_eq!(t.number, i);
    }
    for t in &all[old.len()..] {
        assert!(t.state.is_finished());
        assert_eq!(t.params.len(), 7);
        for (k, v) in &t.params {
            assert!(t.distributions[k].contains(*v), "{k} = {v}");
        }
    }
    // Every line tsf wrote is one JSON object with an op code and a worker id.
    for line in String::from_utf8(after[before.len()..].to_vec())
        .unwrap()
        .lines()
    {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(v["op_code"].as_u64().unwrap() <= 9);
        assert!(v["worker_id"].is_string());
    }
}

#[test]
fn a_study_with_another_direction_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture("optuna_maximize.log", &dir);
    let err = open_study(&path, "optuna-max", Direction::Minimize, 0).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("optuna-max") && msg.contains("maximises"),
        "{msg}"
    );
    // The right direction loads its three trials.
    let ok = open_study(&path, "optuna-max", Direction::Maximize, 0).unwrap();
    assert_eq!(ok.trials().unwrap().len(), 3);
}

#[test]
fn a_file_that_is_not_a_journal_is_an_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "{\"op_code\":0,\"worker_id\":\"w\",\"study_name\":\"a\",\"directions\":[1]}\nhello world\n").unwrap();
    match JournalStorage::open(&path) {
        Err(TuneError::Journal { line, reason, .. }) => {
            assert_eq!(line, 2);
            assert!(reason.contains("not an Optuna journal"), "{reason}");
        }
        other => panic!("expected a journal error, got {other:?}"),
    }
    let path = dir.path().join("other.json");
    std::fs::write(&path, "{\"name\": \"x\"}\n").unwrap();
    let err = JournalStorage::open(&path).unwrap_err().to_string();
    assert!(err.contains("line 1") && err.contains("op_code"), "{err}");
    // A folder is not a journal either.
    assert!(JournalStorage::open(dir.path()).is_err());
}

/// A choice's internal value past its choices (a hand-edited or damaged journal) is an error
/// naming the line, not a parameter read as nothing.
#[test]
fn a_choice_index_past_the_choices_is_an_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture("optuna_study.log", &dir);
    let text = std::fs::read_to_string(&path).unwrap();
    let needle = "\"param_name\":\"batch\",\"param_value_internal\":1,";
    let line = text
        .lines()
        .position(|l| l.contains(needle))
        .expect("the fixture sets batch")
        + 1;
    std::fs::write(
        &path,
        text.replacen(
            needle,
            "\"param_name\":\"batch\",\"param_value_internal\":7.0,",
            1,
        ),
    )
    .unwrap();
    match JournalStorage::open(&path).and_then(|j| j.snapshot().map(|_| ())) {
        Err(TuneError::Journal {
            line: at, reason, ..
        }) => {
            assert_eq!(at, line);
            assert!(
                reason.contains("not the index") && reason.contains("batch"),
                "{reason}"
            );
        }
        other => panic!("expected a journal error, got {other:?}"),
    }
}

#[test]
fn a_torn_last_line_is_ignored_then_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture("optuna_study.log", &dir);
    let n = JournalStorage::open(&path)
        .unwrap()
        .snapshot()
        .unwrap()
        .n_trials();
    // A writer died in the middle of a record.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(b"{\"op_code\":4,\"worker_id\":\"dead\",\"study_id\":0,\"datet")
        .unwrap();
    drop(f);
    let study = open_study(&path, "optuna-fixture", Direction::Minimize, 1).unwrap();
    assert_eq!(study.trials().unwrap().len(), n);
    study
        .optimize(
            fixture_objective,
            &OptimizeOptions {
                n_trials: Some(1),
                ..Default::default()
            },
            &|_| {},
        )
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with('\n'));
    for line in text.lines() {
        serde_json::from_str::<Value>(line).expect("every line is a whole record");
    }
    assert_eq!(
        open_study(&path, "optuna-fixture", Direction::Minimize, 1)
            .unwrap()
            .trials()
            .unwrap()
            .len(),
        n + 1
    );
}

#[test]
fn several_writers_share_one_file_without_losing_a_trial() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.log");
    let workers = 4;
    let per_worker = 6;
    std::thread::scope(|s| {
        for w in 0..workers {
            let path = path.clone();
            s.spawn(move || {
                // Each worker has its own storage object, as separate processes would.
                let study = Study::load_or_create(
                    "shared",
                    Direction::Minimize,
                    Arc::new(JournalStorage::open(&path).unwrap()),
                    Arc::new(TpeSampler::new(Some(w))),
                    Arc::new(NopPruner),
                )
                .unwrap();
                let opts = OptimizeOptions {
                    n_trials: Some(per_worker),
                    n_jobs: 2,
                    ..Default::default()
                };
                study
                    .optimize(
                        |t| {
                            let x = t.float("x", -3.0, 3.0, false)?;
                            t.report(0, x.abs())?;
                            Ok(x * x)
                        },
                        &opts,
                        &|_| {},
                    )
                    .unwrap();
            });
        }
    });
    let study = open_study(&path, "shared", Direction::Minimize, 0).unwrap();
    let trials = study.trials().unwrap();
    assert_eq!(trials.len(), workers as usize * per_worker);
    for (i, t) in trials.iter().enumerate() {
        assert_eq!(t.number, i);
        assert_eq!(t.state, TrialState::Complete, "trial {i}");
        assert_eq!(t.intermediate.len(), 1);
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let creates = text.lines().filter(|l| l.contains("\"op_code\":0")).count();
    // Everybody may write CREATE_STUDY; the replay keeps the first.
    assert!((1..=workers as usize).contains(&creates));
    assert!(!Path::new(&format!("{}.lock", path.display())).exists());
}

#[test]
fn an_invalid_distribution_in_a_journal_is_refused_not_sampled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.log");
    let lines = [
        r#"{"op_code":0,"worker_id":"w","study_name":"s","directions":[1]}"#,
        r#"{"op_code":4,"worker_id":"w","study_id":0,"datetime_start":"2026-01-01T00:00:00.000000+00:00"}"#,
        r#"{"op_code":5,"worker_id":"w","trial_id":0,"param_name":"c","param_value_internal":0,"distribution":"{\"name\": \"CategoricalDistribution\", \"attributes\": {\"choices\": []}}"}"#,
    ];
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let err = JournalStorage::open(&path).unwrap_err().to_string();
    assert!(
        err.contains("line 3") && err.contains("choice list is empty"),
        "{err}"
    );
}

fn quadratic(t: &mut Trial) -> Result<f64, TrialError> {
    let x = t.float("x", -5.0, 5.0, false)?;
    Ok(x * x)
}

#[test]
fn a_journal_trial_whose_heartbeat_stopped_fails_and_is_retried_as_on_rdb() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hb.log");
    let s = Arc::new(JournalStorage::open(&path).unwrap());
    assert!(s.supports_heartbeat());
    let study = common::study_on(s.clone(), "hb", Direction::Minimize, 1);
    // A worker that dies mid-trial: one heartbeat, then silence.
    let silent = common::dead_and_silent(&study, &*s);
    // Another process (its own storage object) finds the dead trial.
    let other = open_study(&path, "hb", Direction::Minimize, 2).unwrap();
    let failed = other
        .fail_stale_trials(Duration::from_millis(100), Some(1))
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].number, 0);
    assert!(
        study
            .fail_stale_trials(Duration::from_millis(100), Some(1))
            .unwrap()
            .is_empty(),
        "failed once: the other worker sees it FAIL"
    );
    common::check_retried_once(&study, &*s, &silent);
    // The heartbeats are beside the journal, not in it.
    let beats = std::fs::read_to_string(s.heartbeat_path()).unwrap();
    assert_eq!(beats.lines().count(), 2);
    assert!(
        !std::fs::read_to_string(&path)
            .unwrap()
            .contains("heartbeat")
    );
}

#[test]
fn a_journal_trial_started_by_a_worker_with_heartbeats_is_its_first_heartbeat() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("first.log");
    let s = JournalStorage::open(&path).unwrap();
    let sid = s
        .load_or_create_study("first", Direction::Minimize)
        .unwrap();
    let (beating, _) = s.create_trial_beating(sid).unwrap();
    let (plain, _) = s.create_trial(sid).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // Another process sees it from the journal alone: no heartbeat file was written.
    let other = JournalStorage::open(&path).unwrap();
    assert_eq!(
        other.stale_trials(sid, Duration::from_millis(100)).unwrap(),
        vec![beating],
        "trial id {plain} sent no heartbeat: never stale"
    );
    assert!(!other.heartbeat_path().exists());
    assert!(
        other
            .stale_trials(sid, Duration::from_secs(60))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn optimize_with_heartbeats_on_a_journal_reruns_a_dead_workers_trial() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hb.log");
    let s = Arc::new(JournalStorage::open(&path).unwrap());
    let study = open_study(&path, "hb", Direction::Minimize, 1).unwrap();
    let mut dead = study.ask().unwrap();
    dead.float("x", -5.0, 5.0, false).unwrap();
    s.record_heartbeat(dead.trial_id()).unwrap();
    // Longer than the grace period: the first trial's worker is dead.
    std::thread::sleep(Duration::from_millis(1_200));
    let opts = OptimizeOptions {
        n_trials: Some(3),
        n_jobs: 2,
        heartbeat: Some(Heartbeat {
            interval: Duration::from_millis(50),
            // 20 intervals: a live trial on a loaded machine is not failed.
            grace_period: Some(Duration::from_millis(1_000)),
            retry_failed: Some(2),
        }),
        ..Default::default()
    };
    let beats_of = |id: usize| {
        std::fs::read_to_string(s.heartbeat_path())
            .unwrap_or_default()
            .lines()
            .filter(|l| serde_json::from_str::<Value>(l).unwrap()["trial_id"] == id)
            .count()
    };
    study
        .optimize(
            |t| {
                // Each trial runs until it has sent three heartbeats (the first at once, then
                // every 50 ms), however loaded the machine: a live trial is never failed.
                let deadline = std::time::Instant::now() + Duration::from_secs(20);
                while beats_of(t.trial_id()) < 3 && std::time::Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
                quadratic(t)
            },
            &opts,
            &|_| {},
        )
        .unwrap();
    let trials = study.trials().unwrap();
    assert_eq!(trials.len(), 4);
    assert_eq!(trials[0].state, TrialState::Fail);
    let retry = trials
        .iter()
        .find(|t| t.system_attrs.contains_key("failed_trial"))
        .expect("the dead trial was queued again");
    assert_eq!(retry.params, trials[0].params);
    assert!(trials[1..].iter().all(|t| t.state == TrialState::Complete));
    // Every trial that ran sent heartbeats (the first at once, then every 50 ms).
    let beats = std::fs::read_to_string(s.heartbeat_path()).unwrap();
    let ids: std::collections::BTreeSet<u64> = beats
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["trial_id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 4, "{beats}");
    for t in &trials[1..] {
        assert!(beats_of(t.trial_id) >= 3, "trial {}: {beats}", t.trial_id);
    }
}

/// The fields Optuna 5.0.0's `JournalStorageReplayResult.apply_logs` reads from each operation
/// (`log[key]`, a `KeyError` when missing); any other `op_code` stops its replay
/// (`assert False`).
fn optuna_required_keys(op: u64) -> Option<&'static [&'static str]> {
    Some(match op {
        0 => &["worker_id", "study_name", "directions"],
        1..=3 => &["worker_id", "study_id"],
        4 => &["worker_id", "study_id", "datetime_start"],
        5 => &[
            "worker_id",
            "trial_id",
            "param_name",
            "param_value_internal",
            "distribution",
        ],
        6 => &["worker_id", "trial_id", "state", "values"],
        7 => &["worker_id", "trial_id", "step", "intermediate_value"],
        8 => &["worker_id", "trial_id", "user_attr"],
        9 => &["worker_id", "trial_id", "system_attr"],
        _ => return None,
    })
}

/// A Python with Optuna 5.0.0: `TSF_OPTUNA_PYTHON`, else the venv the fixtures' README makes
/// (`/tmp/optuna-venv`), else `python3`.
fn optuna_python() -> Option<String> {
    let candidates = [
        std::env::var("TSF_OPTUNA_PYTHON").ok(),
        Some("/tmp/optuna-venv/bin/python".into()),
        Some("python3".into()),
    ];
    candidates.into_iter().flatten().find(|py| {
        std::process::Command::new(py)
            .args(["-c", "import optuna; assert optuna.__version__ == '5.0.0'"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn optuna_still_reads_a_journal_whose_trials_sent_heartbeats() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hb.log");
    let s = Arc::new(JournalStorage::open(&path).unwrap());
    let study = open_study(&path, "hb-optuna", Direction::Minimize, 3).unwrap();
    let mut dead = study.ask().unwrap();
    dead.float("x", -5.0, 5.0, false).unwrap();
    s.record_heartbeat(dead.trial_id()).unwrap();
    std::thread::sleep(Duration::from_millis(250));
    let opts = OptimizeOptions {
        n_trials: Some(3),
        heartbeat: Some(Heartbeat {
            interval: Duration::from_millis(50),
            grace_period: Some(Duration::from_millis(200)),
            retry_failed: Some(1),
        }),
        ..Default::default()
    };
    study.optimize(quadratic, &opts, &|_| {}).unwrap();
    let trials = study.trials().unwrap();
    assert_eq!(trials.len(), 4);
    assert_eq!(trials[0].state, TrialState::Fail);
    // Without Python: every record is one of Optuna's ten operations with the fields its replay
    // reads (so the heartbeats added nothing Optuna would stop at).
    let text = std::fs::read_to_string(&path).unwrap();
    for (i, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line).unwrap();
        let op = v["op_code"].as_u64().unwrap();
        let keys = optuna_required_keys(op)
            .unwrap_or_else(|| panic!("line {}: op_code {op} stops Optuna's replay", i + 1));
        for k in keys {
            assert!(v.get(k).is_some(), "line {}: no {k:?}: {line}", i + 1);
        }
        if op == 6 {
            let key = if v["state"] == json!(0) {
                "datetime_start"
            } else {
                "datetime_complete"
            };
            assert!(v.get(key).is_some(), "line {}: no {key:?}: {line}", i + 1);
        }
    }
    // Heartbeats go to the side file; in the journal only the records that start a trial say
    // that they were its first heartbeat (a key Optuna's replay does not read).
    let marked: Vec<Value> = text
        .lines()
        .filter(|l| l.contains("heartbeat"))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(marked.len() >= 3, "the trials optimize started: {marked:?}");
    for v in &marked {
        assert_eq!(v["tsf_heartbeat"], json!(true), "{v}");
        assert!(v["op_code"] == json!(4) || (v["op_code"] == json!(6) && v["state"] == json!(0)));
    }
    assert!(s.heartbeat_path().exists());
    // With Optuna 5.0.0 at hand: it loads the study as tsf sees it, adds two trials, and tsf
    // resumes the study with heartbeats.
    let Some(py) = optuna_python() else {
        eprintln!(
            "optuna_still_reads_a_journal_whose_trials_sent_heartbeats: no Python with Optuna \
             5.0.0 (set TSF_OPTUNA_PYTHON); checked the records against Optuna's replay rules only"
        );
        return;
    };
    let script = r#"
import json, sys, optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.load_study(study_name="hb-optuna", storage=JournalStorage(JournalFileBackend(sys.argv[1])))
seen = [[t.number, t.state.name, t.params.get("x"), t.system_attrs.get("failed_trial")] for t in study.trials]
study.optimize(lambda t: t.suggest_float("x", -5.0, 5.0) ** 2, n_trials=2)
print(json.dumps(seen))
"#;
    let out = std::process::Command::new(&py)
        .args(["-c", script])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "Optuna could not read the journal: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen.len(), trials.len());
    for (t, o) in trials.iter().zip(&seen) {
        assert_eq!(o[0], json!(t.number));
        assert_eq!(o[1], json!(state_name(t.state)));
        assert_eq!(
            o[2].as_f64(),
            t.params.get("x").copied(),
            "trial {}",
            t.number
        );
        assert_eq!(
            o[3],
            t.system_attrs
                .get("failed_trial")
                .cloned()
                .unwrap_or(Value::Null)
        );
    }
    let again = open_study(&path, "hb-optuna", Direction::Minimize, 4).unwrap();
    again.optimize(quadratic, &opts, &|_| {}).unwrap();
    let trials = again.trials().unwrap();
    assert_eq!(trials.len(), 4 + 2 + 3, "tsf's 4, Optuna's 2, 3 resumed");
    assert!(trials[1..].iter().all(|t| t.state == TrialState::Complete));
}
