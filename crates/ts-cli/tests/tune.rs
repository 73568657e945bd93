//! `tsf tune` end to end on a tiny table: results, best model, charts, resuming a journal, and
//! bad input.

mod common;

use std::path::Path;

use common::{assert_bad, csv_text, stderr, tsf, write};

/// A small search space so that each trial trains in a fraction of a second.
const SMALL_SPACE: &str = r#"
[train]
epochs = 3

[tune]
seed = 7

[tune.space]
hidden_size = [4, 8]
num_layers = { low = 1, high = 2 }
batch_size = [16, 32]
"#;

fn run_tune(dir: &Path, extra: &[&str]) -> std::process::Output {
    let data = write(dir, "d.csv", &csv_text(120));
    let cfg = write(dir, "tune.toml", SMALL_SPACE);
    let mut args = vec![
        "tune",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--target",
        "b",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    tsf(&args)
}

fn results(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("optimization_results.json")).unwrap())
        .unwrap()
}

#[test]
fn tune_writes_results_best_model_and_charts_and_resumes_a_journal() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let journal = dir.path().join("study.log");
    let o = run_tune(
        dir.path(),
        &[
            "--trials",
            "4",
            "--out",
            out.to_str().unwrap(),
            "--storage",
            journal.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("Best trial"), "{stdout}");
    for f in [
        "optimization_results.json",
        "best_model.tsf",
        "optimization_history.png",
        "optimization_history.svg",
        "param_importances.png",
        "parameter_correlations.svg",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let r = results(&out);
    let trials = r["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 4);
    for t in trials {
        let state = t["state"].as_str().unwrap();
        assert!(["COMPLETE", "PRUNED"].contains(&state), "{t}");
        let params = t["params"].as_object().unwrap();
        assert_eq!(params.len(), 7);
        assert!([4, 8].contains(&params["hidden_size"].as_i64().unwrap()));
        assert!(t["duration_seconds"].as_f64().unwrap() >= 0.0);
        assert!(!t["intermediate_values"].as_array().unwrap().is_empty());
    }
    let best = r["best"]["value"].as_f64().unwrap();
    let min = trials
        .iter()
        .filter(|t| t["state"] == "COMPLETE")
        .map(|t| t["value"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(best, min);
    assert!(
        r["importances"]["method"]
            .as_str()
            .unwrap()
            .contains("PED-ANOVA")
    );
    assert_eq!(r["best_model"]["path"], "best_model.tsf");
    // The retrained model is a normal model file.
    let data = dir.path().join("d.csv");
    let ev = tsf(&[
        "evaluate",
        "--model",
        out.join("best_model.tsf").to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(ev.status.success(), "{}", stderr(&ev));
    // It is the network the trials tuned (for the default `auto`, the hybrid), not the plain
    // LSTM that `auto` keeps when it cannot compare (no validation part in the retrain).
    let bytes = std::fs::read(out.join("best_model.tsf")).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("\"linear\": true"),
        "the retrained network has no linear branch"
    );

    // A second run on the same journal continues the study.
    let out2 = dir.path().join("out2");
    let o = run_tune(
        dir.path(),
        &[
            "--trials",
            "2",
            "--out",
            out2.to_str().unwrap(),
            "--storage",
            journal.to_str().unwrap(),
            "--no-retrain",
            "--no-charts",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("resuming after 4 trials"));
    let r2 = results(&out2);
    let numbers: Vec<u64> = r2["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, vec![0, 1, 2, 3, 4, 5]);
    assert!(!out2.join("best_model.tsf").exists());
    // Resuming the study for another target would mix two objectives: refused, nothing added.
    let before = std::fs::read(&journal).unwrap();
    let out3 = dir.path().join("out3");
    let o = run_tune(
        dir.path(),
        &[
            "--target",
            "c",
            "--trials",
            "1",
            "--out",
            out3.to_str().unwrap(),
            "--storage",
            journal.to_str().unwrap(),
            "--no-retrain",
            "--no-charts",
        ],
    );
    assert_bad(&o, &["another objective", "\"c\"", "--study-name"]);
    assert_eq!(std::fs::read(&journal).unwrap(), before);
    // The output folder is not overwritten without --force.
    let o = run_tune(
        dir.path(),
        &["--trials", "1", "--out", out.to_str().unwrap()],
    );
    assert_bad(&o, &["already holds tuning results", "--force"]);
    // With --force, an earlier study's files that the new one does not write go: a best model
    // that this one does not retrain would pass for its result. A user's file stays.
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let o = run_tune(
        dir.path(),
        &[
            "--trials",
            "1",
            "--out",
            out.to_str().unwrap(),
            "--no-retrain",
            "--no-charts",
            "--force",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(results(&out)["best_model"].is_null());
    for gone in [
        "best_model.tsf",
        "optimization_history.png",
        "param_importances.png",
    ] {
        assert!(
            !out.join(gone).exists(),
            "{gone} left from the earlier study"
        );
    }
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(!out.join(".tsf-staging").exists());
}

#[test]
fn seeded_in_memory_runs_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let params = |name: &str| {
        let out = dir.path().join(name);
        let o = run_tune(
            dir.path(),
            &[
                "--trials",
                "3",
                "--out",
                out.to_str().unwrap(),
                "--no-retrain",
                "--no-charts",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        results(&out)["trials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["params"].clone(), t["value"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(params("a"), params("b"));
}

#[test]
fn bad_tuning_input_gives_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let o = run_tune(
        dir.path(),
        &["--trials", "0", "--out", out.to_str().unwrap()],
    );
    assert_bad(&o, &["--trials", "0", "at least one trial"]);
    let o = run_tune(
        dir.path(),
        &["--sampler", "grid", "--out", out.to_str().unwrap()],
    );
    assert_bad(&o, &["unknown sampler", "grid"]);
    let notes = write(dir.path(), "notes.log", "this is not a journal\n");
    let o = run_tune(
        dir.path(),
        &[
            "--storage",
            notes.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_bad(&o, &["notes.log", "line 1", "not an Optuna journal"]);
    // A study written by Optuna that maximises cannot be continued by a minimising search.
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../ts-tune/tests/fixtures/optuna_maximize.log");
    let j = dir.path().join("max.log");
    std::fs::copy(fixture, &j).unwrap();
    let o = run_tune(
        dir.path(),
        &[
            "--storage",
            j.to_str().unwrap(),
            "--study-name",
            "optuna-max",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_bad(&o, &["optuna-max", "maximises"]);
    let data = write(dir.path(), "d.csv", &csv_text(120));
    // Bad TOML configurations: each one's message names the key and the problem.
    for (name, text, expected) in [
        (
            "bad.toml",
            "[tune.space]\nhidden_size = []\n",
            ["hidden_size", "empty"],
        ),
        (
            "bad2.toml",
            "[tune.space]\nlearning_rate = { low = 0.1, high = 0.01, log = true }\n",
            ["learning_rate", "empty range"],
        ),
        ("bad3.toml", "[tune]\ntrails = 3\n", ["[tune]", "trails"]),
    ] {
        let cfg = write(dir.path(), name, text);
        let o = tsf(&[
            "tune",
            "--config",
            cfg.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--target",
            "b",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_bad(&o, &expected);
    }
}

#[cfg(unix)]
#[test]
fn sigint_stops_the_search_keeping_every_finished_trial() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", &csv_text(300));
    let cfg = write(dir.path(), "tune.toml", SMALL_SPACE);
    let out = dir.path().join("out");
    let journal = dir.path().join("study.log");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_tsf"))
        .args([
            "tune",
            "--config",
            cfg.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--target",
            "b",
            "--epochs",
            "40",
            "--patience",
            "0",
            "--pruner",
            "none",
            "--trials",
            "1000",
            "--quiet",
            "--storage",
            journal.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for two finished trials in the journal, then send SIGINT.
    let finished = |text: &str| {
        text.lines()
            .filter(|l| l.contains("\"op_code\":6") && !l.contains("\"state\":3"))
            .count()
    };
    let start = std::time::Instant::now();
    while finished(&std::fs::read_to_string(&journal).unwrap_or_default()) < 2 {
        assert!(start.elapsed().as_secs() < 120, "no trial finished");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{err}");
    assert!(err.contains("Interrupted"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let r = results(&out);
    let trials = r["trials"].as_array().unwrap();
    let done = trials
        .iter()
        .filter(|t| t["state"] == "COMPLETE" || t["state"] == "PRUNED")
        .count();
    // Every trial finished before the signal is in the results and in the journal; a trial that
    // was training is marked failed ("interrupted"), none is left running.
    assert!(done >= 2, "{r}");
    assert_eq!(done, finished(&std::fs::read_to_string(&journal).unwrap()));
    assert!(trials.iter().all(|t| t["state"] != "RUNNING"), "{r}");
    for t in trials.iter().filter(|t| t["state"] == "FAIL") {
        assert!(
            t["fail_reason"].as_str().unwrap().contains("interrupted"),
            "{t}"
        );
    }
    assert!(trials.len() < 1000);
    assert!(!out.join("best_model.tsf").exists());
}

#[test]
fn tune_keeps_a_study_in_sqlite_with_heartbeats_and_resumes_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("study.db");
    // An absolute path: four slashes.
    let url = format!("sqlite:///{}", db.display());
    assert!(url.starts_with("sqlite:////"));
    let run = |out: &str, trials: &str| {
        let out = dir.path().join(out);
        let o = run_tune(
            dir.path(),
            &[
                "--trials",
                trials,
                "--out",
                out.to_str().unwrap(),
                "--storage",
                &url,
                "--heartbeat-interval",
                "1",
                "--grace-period",
                "5",
                "--retry-failed",
                "1",
                "--no-retrain",
                "--no-charts",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            results(&out),
        )
    };
    let (stdout, r) = run("a", "2");
    assert!(stdout.contains("sqlite:///"), "{stdout}");
    assert_eq!(r["trials"].as_array().unwrap().len(), 2);
    let (stdout, r) = run("b", "2");
    assert!(stdout.contains("resuming after 2 trials"), "{stdout}");
    let numbers: Vec<u64> = r["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, vec![0, 1, 2, 3]);
    for t in r["trials"].as_array().unwrap() {
        assert!(
            ["COMPLETE", "PRUNED"].contains(&t["state"].as_str().unwrap()),
            "{t}"
        );
    }
    // Another objective on the same database is refused and adds nothing.
    let before = std::fs::read(&db).unwrap();
    let out = dir.path().join("c");
    let o = run_tune(
        dir.path(),
        &[
            "--target",
            "c",
            "--trials",
            "1",
            "--out",
            out.to_str().unwrap(),
            "--storage",
            &url,
            "--no-retrain",
        ],
    );
    assert_bad(&o, &["another objective", "--study-name"]);
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn bad_storage_urls_and_heartbeat_options_give_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let out = out.to_str().unwrap();
    let o = run_tune(
        dir.path(),
        &["--storage", "sqlite://study.db", "--out", out],
    );
    assert_bad(&o, &["sqlite://study.db", "three slashes"]);
    let o = run_tune(
        dir.path(),
        &[
            "--storage",
            "postgresql://me:secret@127.0.0.1:5/db",
            "--out",
            out,
        ],
    );
    assert_bad(
        &o,
        &["postgresql://me:***@127.0.0.1:5/db", "cannot connect"],
    );
    assert!(!stderr(&o).contains("secret"));
    let o = run_tune(dir.path(), &["--grace-period", "5", "--out", out]);
    assert_bad(&o, &["--heartbeat-interval"]);
    let o = run_tune(
        dir.path(),
        &[
            "--heartbeat-interval",
            "2",
            "--grace-period",
            "1",
            "--out",
            out,
        ],
    );
    assert_bad(&o, &["grace period", "longer than the heartbeat interval"]);
    // Heartbeats need a storage; a journal file keeps them beside it (FILE.heartbeats).
    let o = run_tune(dir.path(), &["--heartbeat-interval", "1", "--out", out]);
    assert_bad(&o, &["heartbeat interval", "need --storage"]);
    let journal = dir.path().join("j.log");
    let o = run_tune(
        dir.path(),
        &[
            "--heartbeat-interval",
            "1",
            "--storage",
            journal.to_str().unwrap(),
            "--trials",
            "1",
            "--no-retrain",
            "--no-charts",
            "--out",
            out,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let beats = std::fs::read_to_string(dir.path().join("j.log.heartbeats")).unwrap();
    assert!(
        beats.contains("\"trial_id\": 0") || beats.contains("\"trial_id\":0"),
        "{beats}"
    );
    std::fs::remove_dir_all(out).unwrap();
    let db = dir.path().join("x.db");
    let o = run_tune(
        dir.path(),
        &[
            "--storage",
            &format!("sqlite:///{}", db.display()),
            "--heartbeat-interval",
            "0",
            "--out",
            out,
        ],
    );
    assert_bad(&o, &["heartbeat interval", "positive"]);
}
