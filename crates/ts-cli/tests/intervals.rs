//! Prediction intervals end to end: `tsf evaluate` walks the test part as training did (the
//! validation errors travel in the model file), the method is written out, and the interval
//! flags refuse bad values.

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn bundled() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/statsmodels_macrodata.csv")
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Trains on the bundled data (two steps ahead, small and quick) with `extra` flags.
fn train(out: &Path, extra: &[&str]) -> serde_json::Value {
    let data = bundled();
    let mut args = vec![
        "train",
        "--data",
        data.to_str().unwrap(),
        "--target",
        "unemp",
        "--features",
        "realgdp,unemp,infl",
        "--horizon",
        "2",
        "--epochs",
        "3",
        "--hidden-size",
        "8",
        "--quiet",
        "--no-charts",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    let o = tsf(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    json(&out.join("metrics.json"))
}

/// `tsf evaluate` of the model in `run` on the bundled data, its report written to `out`.
fn evaluate(run: &Path, out: &Path) -> serde_json::Value {
    let data = bundled();
    let o = tsf(&[
        "evaluate",
        "--model",
        run.join("model.tsf").to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    json(out)
}

fn coverage(intervals: &serde_json::Value) -> Vec<(f64, f64)> {
    intervals["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["coverage"].as_f64().unwrap(),
                c["mean_width"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn evaluate_walks_the_test_part_as_training_did() {
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("adaptive");
    let m = train(&run, &[]);
    let iv = &m["intervals"];
    assert!(
        iv["method"].as_str().unwrap().starts_with("adaptive"),
        "{iv}"
    );
    assert_eq!(iv["gamma"].as_f64(), Some(0.05));
    assert_eq!(
        iv["memory"].as_f64(),
        Some(4.0),
        "recent errors weigh more by default"
    );
    let trained = coverage(iv);
    assert_eq!(trained.len(), 2);

    let e = evaluate(&run, &d.path().join("eval.json"));
    assert_eq!(e["split"], "test");
    let evaluated = coverage(&e["intervals"]);
    for ((c1, w1), (c2, w2)) in trained.iter().zip(&evaluated) {
        assert!(
            (c1 - c2).abs() < 1e-12,
            "coverage {c1} at training, {c2} by evaluate"
        );
        assert!(
            (w1 - w2).abs() < 1e-9 * w1.abs().max(1.0),
            "width {w1} vs {w2}"
        );
    }

    // Split intervals keep the validation half-widths: same calibration, other widths on test.
    let split = train(&d.path().join("split"), &["--interval-method", "split"]);
    let siv = &split["intervals"];
    assert!(
        siv["method"].as_str().unwrap().starts_with("split"),
        "{siv}"
    );
    assert_eq!(siv["half_width"], iv["half_width"]);
    assert_ne!(coverage(siv), trained);

    // Equal weights: the flag reaches the model, and the same calibration walks otherwise.
    let equal = train(&d.path().join("equal"), &["--interval-memory", "0"]);
    let eiv = &equal["intervals"];
    assert_eq!(eiv["memory"].as_f64(), Some(0.0), "{eiv}");
    assert_eq!(eiv["half_width"], iv["half_width"]);
    assert_ne!(coverage(eiv), trained);
}

/// A network kept at its naive start is calibrated on the training and validation windows; the
/// model file carries them, so `tsf evaluate` walks the test part the same way and `metrics.json`
/// says where the errors came from.
#[test]
fn the_naive_start_is_calibrated_on_training_and_validation_end_to_end() {
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("naive");
    let flags = [
        "--model",
        "lstm",
        "--learning-rate",
        "1e-9",
        "--require-clear-gain",
        "true",
    ];
    let m = train(&run, &flags);
    let iv = &m["intervals"];
    assert_eq!(iv["calibrated_on"], "training_and_validation", "{iv}");
    let e = evaluate(&run, &d.path().join("eval.json"));
    assert_eq!(coverage(&e["intervals"]), coverage(iv));
    // A trained hybrid (a closed-form fit on the training part) stays on validation.
    let hybrid = train(&d.path().join("hybrid"), &["--model", "hybrid"]);
    assert_eq!(hybrid["intervals"]["calibrated_on"], "validation");
    let windows = |iv: &serde_json::Value| iv["calibration_windows"].as_u64().unwrap();
    // This split holds more than twice as many training windows as validation ones.
    assert!(
        windows(iv) > 3 * windows(&hybrid["intervals"]),
        "{} vs {}",
        windows(iv),
        windows(&hybrid["intervals"])
    );
}

#[test]
fn interval_flags_refuse_bad_values() {
    let d = tempfile::tempdir().unwrap();
    let data = write(d.path(), "x.csv", &csv_text(80));
    for (flag, value, name) in [
        ("--interval-gamma", "1", "interval_gamma"),
        ("--interval-gamma", "-0.1", "interval_gamma"),
        ("--interval-gamma", "nan", "interval"),
        ("--interval-method", "bootstrap", "bootstrap"),
        ("--interval-memory", "0.5", "interval_memory"),
        ("--interval-memory", "-1", "interval_memory"),
        ("--interval-memory", "inf", "interval_memory"),
        ("--require-clear-gain", "maybe", "maybe"),
    ] {
        let arg = format!("{flag}={value}");
        let out = d
            .path()
            .join(format!("run-{}", flag.trim_start_matches('-')));
        let o = train_quick(&data, &out, &[&arg]);
        assert_bad(&o, &[name]);
        assert!(!out.exists(), "{flag} {value}: nothing may be written");
    }
}

/// The lower and upper bounds of one level in a predictions file, with the forecasts.
fn bounds_of(csv: &Path, level: &str) -> Vec<(f64, f64, f64)> {
    let text = std::fs::read_to_string(csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (p, lo, hi) = (
        col("predicted"),
        col(&format!("lower_{level}")),
        col(&format!("upper_{level}")),
    );
    lines
        .map(|l| {
            let f: Vec<f64> = l
                .split(',')
                .map(|v| v.parse().unwrap_or(f64::NAN))
                .collect();
            (f[p], f[lo], f[hi])
        })
        .collect()
}

/// `--bounds`: with the floor at the target's smallest value, the 95 % band of a low stretch
/// reaches below it unbounded and stops at it bounded; the forecasts stay the same where they
/// were inside, the bands that reached below are narrower, and coverage is unchanged (every
/// actual lies in the range, and no forecast of this run, calibration ones included, is below
/// the floor, so the calibrated half-widths are the same); the model file carries the range to
/// `tsf evaluate` and `tsf predict`.
#[test]
fn declared_bounds_clip_forecasts_and_bands_end_to_end() {
    let d = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(bundled()).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "unemp").unwrap();
    let floor = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(col).unwrap().parse::<f64>().unwrap())
        .fold(f64::INFINITY, f64::min);
    let free = train(&d.path().join("free"), &[]);
    let bound = format!("{floor}:");
    let run = d.path().join("bounded");
    let bounded = train(&run, &["--bounds", &bound]);
    assert_eq!(bounded["bounds"]["*"]["lower"].as_f64(), Some(floor));
    assert!(free.get("bounds").is_none());
    let (cf, cb) = (
        coverage(&free["intervals"]),
        coverage(&bounded["intervals"]),
    );
    // A level whose free band reaches below the floor somewhere is narrower bounded; one whose
    // band stays above it is the same.
    let free_csv = d.path().join("free/predictions.csv");
    for (((c1, w1), (c2, w2)), level) in cf.iter().zip(&cb).zip(["80", "95"]) {
        assert_eq!(c1, c2, "coverage moved");
        if bounds_of(&free_csv, level).iter().any(|r| r.1 < floor) {
            assert!(w2 < w1, "{level} %: width {w1} unbounded, {w2} bounded");
        } else {
            assert_eq!(w1, w2, "{level} %: nothing to clip, yet the width moved");
        }
    }
    let (f, b) = (
        bounds_of(&free_csv, "95"),
        bounds_of(&run.join("predictions.csv"), "95"),
    );
    assert_eq!(f.len(), b.len());
    assert!(f.iter().any(|r| r.1 < floor), "nothing to clip: {floor}");
    for ((fp, flo, fhi), (bp, blo, bhi)) in f.iter().zip(&b) {
        assert!(*blo >= floor && *bp >= floor, "{blo} {bp} below {floor}");
        assert!((bp - fp.max(floor)).abs() < 1e-9, "{fp} → {bp}");
        assert!((blo - flo.max(floor)).abs() < 1e-9 && (bhi - fhi).abs() < 1e-9);
    }
    // The model file keeps the range: evaluate agrees with training, predict stays above it.
    let e = evaluate(&run, &d.path().join("eval.json"));
    assert_eq!(coverage(&e["intervals"]), cb);
    let o = with_model("predict", &run.join("model.tsf"), &bundled());
    assert!(o.status.success(), "{}", stderr(&o));
    let predicted = String::from_utf8_lossy(&o.stdout).to_string();
    let pcsv = write(d.path(), "predicted.csv", &predicted);
    let rows = bounds_of(&pcsv, "95");
    assert!(!rows.is_empty());
    assert!(
        rows.iter().all(|r| r.0 >= floor && r.1 >= floor),
        "{predicted}"
    );
    let o = with_model_and(
        "predict",
        &run.join("model.tsf"),
        &bundled(),
        &["--future-only"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let future = write(d.path(), "future.csv", &String::from_utf8_lossy(&o.stdout));
    let rows = bounds_of(&future, "95");
    assert_eq!(rows.len(), 2, "two steps ahead");
    assert!(rows.iter().all(|r| r.0 >= floor && r.1 >= floor));
}

/// Without a validation part (`--validation 0`) there is nothing to calibrate the intervals on:
/// the run says so instead of dropping them silently, and `auto` keeps the network whose start
/// errs less on the training windows (the bundled wine sales: the hybrid, whose start reads the
/// season) rather than the first candidate.
#[test]
fn without_a_validation_part_the_run_says_why_it_has_no_intervals() {
    let d = tempfile::tempdir().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/pmdarima_wineind.csv");
    let out = d.path().join("v0");
    let o = tsf(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--target",
        "wine_sales",
        "--validation",
        "0",
        "--epochs",
        "2",
        "--no-charts",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("no prediction intervals"), "{text}");
    assert!(text.contains("no validation part to choose"), "{text}");
    let m = json(&out.join("metrics.json"));
    assert_eq!(m["model"], "hybrid", "{m}");
    assert!(m["intervals"].is_null());
}

/// A backtest whose folds have no validation part says why there are no intervals.
#[test]
fn a_backtest_without_validation_says_why_it_has_no_intervals() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("bt");
    let o = tsf(&[
        "backtest",
        "--data",
        bundled().to_str().unwrap(),
        "--target",
        "tbilrate",
        "--validation",
        "0",
        "--epochs",
        "2",
        "--folds",
        "2",
        "--no-charts",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("No prediction intervals"), "{text}");
    assert!(out.join("backtest.json").is_file());
}

/// Standard output on a full disk: the run's files are written, then exit code 2 says the
/// printed report was lost (a closed pipe, by contrast, is ignored).
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_on_standard_output_is_an_error_after_the_files() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("run");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tsf"))
        .args([
            "train",
            "--data",
            bundled().to_str().unwrap(),
            "--target",
            "tbilrate",
            "--epochs",
            "2",
            "--no-charts",
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("standard output"), "{}", stderr(&o));
    assert!(out.join("model.tsf").is_file());
}

/// With several targets in different units the intervals are reported per target too: the
/// pooled width would mix the units.
#[test]
fn several_targets_get_their_own_coverage_and_width() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "t.csv", &csv_text(160));
    let out = dir.path().join("two");
    let o = train_quick(&data, &out, &["--target", "a,c"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("    a: covers") && text.contains("    c: covers"),
        "{text}"
    );
    let m = json(&out.join("metrics.json"));
    for c in m["intervals"]["coverage"].as_array().unwrap() {
        let cov = c["coverage_by_target"].as_array().unwrap();
        let width = c["mean_width_by_target"].as_array().unwrap();
        assert_eq!((cov.len(), width.len()), (2, 2), "{c}");
        // The pooled coverage is the mean of the targets' (each has as many values).
        let mean = (cov[0].as_f64().unwrap() + cov[1].as_f64().unwrap()) / 2.0;
        assert!(
            (mean - c["coverage"].as_f64().unwrap()).abs() < 1e-12,
            "{c}"
        );
        assert!(width.iter().all(|w| w.as_f64().unwrap() > 0.0), "{c}");
    }
}
