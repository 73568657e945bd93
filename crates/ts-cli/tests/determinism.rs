//! Same seed, same bytes (CPU backend): two `tsf train` runs give byte-identical model files,
//! metrics and predictions, and two `tsf tune --jobs 2` runs (random sampler, no pruner) give the
//! same trials and a byte-identical best model.

mod common;

use std::path::Path;

use common::*;

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// history.json without the wall-clock fields.
fn losses(p: &Path) -> Vec<String> {
    let h: serde_json::Value = serde_json::from_slice(&read(p)).unwrap();
    h["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{} {} {}", r["epoch"], r["train_loss"], r["val_loss"]))
        .collect()
}

#[test]
fn two_trainings_with_one_seed_are_byte_identical() {
    let d = tempfile::tempdir().unwrap();
    let data = write(d.path(), "x.csv", &csv_text(200));
    let run = |name: &str, seed: &str| {
        let out = d.path().join(name);
        let o = train_quick(
            &data,
            &out,
            &["--epochs", "4", "--dropout", "0.3", "--seed", seed],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        out
    };
    let (a, b, c) = (run("a", "5"), run("b", "5"), run("c", "6"));
    for f in ["model.tsf", "metrics.json", "predictions.csv"] {
        assert!(read(&a.join(f)) == read(&b.join(f)), "{f} differs");
    }
    assert_eq!(
        losses(&a.join("history.json")),
        losses(&b.join("history.json"))
    );
    // Another seed gives another model (the comparison can fail).
    assert!(read(&a.join("model.tsf")) != read(&c.join("model.tsf")));
}

#[test]
fn tuning_with_two_jobs_and_one_seed_gives_the_same_trials_and_best_model() {
    let d = tempfile::tempdir().unwrap();
    let data = write(d.path(), "d.csv", &csv_text(150));
    let cfg = write(
        d.path(),
        "tune.toml",
        "[train]\nepochs = 3\n\n[tune]\nseed = 11\n\n[tune.space]\nhidden_size = [4, 8]\nbatch_size = [16, 32]\n",
    );
    let run = |name: &str| {
        let out = d.path().join(name);
        let o = tsf(&[
            "tune",
            "--config",
            cfg.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--target",
            "b",
            "--quiet",
            "--no-charts",
            "--trials",
            "6",
            "--jobs",
            "2",
            "--sampler",
            "random",
            // A pruner compares a trial with the others running beside it, which depends on
            // timing with two jobs; without one, every trial is a function of its number.
            "--pruner",
            "none",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        out
    };
    let (a, b) = (run("a"), run("b"));
    let trials = |p: &Path| -> Vec<String> {
        let r: serde_json::Value =
            serde_json::from_slice(&read(&p.join("optimization_results.json"))).unwrap();
        let mut v: Vec<String> = r["trials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                format!(
                    "{} {} {} {}",
                    t["number"], t["state"], t["params"], t["value"]
                )
            })
            .collect();
        v.sort();
        v
    };
    let ta = trials(&a);
    assert_eq!(ta.len(), 6);
    assert_eq!(ta, trials(&b));
    assert!(
        read(&a.join("best_model.tsf")) == read(&b.join("best_model.tsf")),
        "the retrained best model differs"
    );
}
