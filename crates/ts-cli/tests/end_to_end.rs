//! The main job end to end: train on real data, check every output file, evaluate and predict with
//! the saved model alone, reproducibility, config files, and forecast quality against the naive
//! last-value forecast.

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn metrics(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap()
}

#[test]
fn train_writes_every_output_and_the_model_works_alone() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("run");
    let data = repo().join("data/statsmodels_macrodata.csv");
    let o = tsf(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--target",
        "unemp,infl",
        "--features",
        "realgdp,cpi,tbilrate,unemp,infl",
        "--epochs",
        "12",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    for needle in [
        "203 rows",
        "Date range: 1959-01-01 to 2009-07-01",
        "Variables:",
        "Windows: train",
        "Model parameters:",
        "MSE",
        "RMSE",
        "MAE",
        "R²",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in {stdout}");
    }
    for f in [
        "model.tsf",
        "metrics.json",
        "history.json",
        "predictions.csv",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    for chart in [
        "training_history",
        "predictions_vs_actuals",
        "residuals",
        "multivariate_predictions",
    ] {
        assert!(out.join(format!("{chart}.png")).is_file(), "{chart}.png");
        assert!(out.join(format!("{chart}.svg")).is_file(), "{chart}.svg");
    }
    let m = metrics(&out);
    for t in ["unemp", "infl"] {
        for unit in ["scaled", "original"] {
            for k in ["mse", "rmse", "mae", "r2"] {
                assert!(m["targets"][t][unit][k].is_number(), "{t}.{unit}.{k}");
                assert!(
                    m["targets"][t]["naive"][unit][k].is_number(),
                    "{t}.naive.{unit}.{k}"
                );
            }
        }
    }
    let h: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("history.json")).unwrap()).unwrap();
    assert_eq!(h["history"].as_array().unwrap().len(), 12);
    let csv = std::fs::read_to_string(out.join("predictions.csv")).unwrap();
    // The default 80 % and 95 % prediction intervals come with every forecast.
    assert!(csv.starts_with(
        "timestamp,target,step,actual,predicted,naive,seasonal_naive,drift,\
         lower_80,upper_80,lower_95,upper_95\n"
    ));
    // The baselines' columns are the forecasts metrics.json scores (quarterly: season 4).
    for t in ["unemp", "infl"] {
        for (col, key) in [(5, "naive"), (6, "seasonal_naive"), (7, "drift")] {
            let errors: Vec<f64> = csv
                .lines()
                .skip(1)
                .map(|l| l.split(',').collect::<Vec<_>>())
                .filter(|f| f[1] == t)
                .map(|f| (f[3].parse::<f64>().unwrap() - f[col].parse::<f64>().unwrap()).abs())
                .collect();
            let mae = errors.iter().sum::<f64>() / errors.len() as f64;
            let expected = m["targets"][t]["scores"][key]["mae"].as_f64().unwrap();
            assert!(
                (mae - expected).abs() <= 1e-9 * expected.max(1.0),
                "{t} {key}: {mae} vs {expected}"
            );
        }
    }
    for line in csv.lines().skip(1) {
        let v: Vec<f64> = line
            .rsplit(',')
            .take(5)
            .map(|x| x.parse().unwrap())
            .collect();
        // upper_95, lower_95, upper_80, lower_80, drift (reversed): nested around the forecast.
        assert!(v[1] <= v[3] && v[3] <= v[2] && v[2] <= v[0], "{line}");
    }

    // evaluate and predict need nothing but the model file and data.
    let model = out.join("model.tsf");
    let eval_json = d.path().join("eval.json");
    let o = tsf(&[
        "evaluate",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        eval_json.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&eval_json).unwrap()).unwrap();
    assert!(e["targets"]["unemp"]["original"]["r2"].is_number());
    let pred = d.path().join("pred.csv");
    let o = with_model_and(
        "predict",
        &model,
        &data,
        &["--out", pred.to_str().unwrap(), "--future-only"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let p = std::fs::read_to_string(&pred).unwrap();
    // one future row per target: the quarter after 2009-07-01
    assert_eq!(p.lines().count(), 3, "{p}");
    assert!(p.contains("2009-10-01,unemp,1,,"), "{p}");
}

#[test]
fn same_seed_same_metrics() {
    let d = tempfile::tempdir().unwrap();
    let data = write(d.path(), "x.csv", &csv_text(150));
    let run = |name: &str| {
        let out = d.path().join(name);
        let o = tsf(&[
            "train",
            "--data",
            data.to_str().unwrap(),
            "--target",
            "a",
            "--epochs",
            "5",
            "--hidden-size",
            "16",
            "--quiet",
            "--no-charts",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        (
            std::fs::read_to_string(out.join("metrics.json")).unwrap(),
            std::fs::read_to_string(out.join("predictions.csv")).unwrap(),
        )
    };
    let a = run("one");
    let b = run("two");
    assert_eq!(a, b);
}

#[test]
fn toml_config_and_flags() {
    let d = tempfile::tempdir().unwrap();
    let data = write(d.path(), "x.csv", &csv_text(150));
    let cfg = write(
        d.path(),
        "tsf.toml",
        &format!(
            "device = \"cpu\"\n[data]\npath = {:?}\ntarget = [\"a\", \"c\"]\nsequence_length = 6\nhorizon = 2\nscaler = \"robust\"\n[model]\nkind = \"attention\"\nhidden_size = 8\nensemble = 2\n[train]\nepochs = 3\noptimizer = \"adamw\"\nweight_decay = 0.01\nloss = \"huber\"\n",
            data.to_str().unwrap()
        ),
    );
    let out = d.path().join("run");
    let o = tsf(&[
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--epochs",
        "4",
        "--quiet",
        "--no-charts",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let h: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("history.json")).unwrap()).unwrap();
    assert_eq!(
        h["history"].as_array().unwrap().len(),
        4,
        "flag overrides the file"
    );
    let m = metrics(&out);
    assert_eq!(m["targets"]["a"]["by_step"].as_array().unwrap().len(), 2);
    assert!(m["targets"]["c"].is_object());
    // Unknown keys are refused by name.
    let bad = write(d.path(), "bad.toml", "[train]\nepochz = 3\n");
    let o = tsf(&[
        "train",
        "--config",
        bad.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--target",
        "a",
        "--out",
        d.path().join("r2").to_str().unwrap(),
    ]);
    assert_bad(&o, &["bad.toml", "epochz"]);
}

/// `--target all` on the macro data (14 targets, more than one figure holds) trains and draws
/// every target, over two figures (issue 13.9).
#[test]
fn target_all_draws_every_target_over_several_figures() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("run");
    let data = repo().join("data/statsmodels_macrodata.csv");
    let o = tsf(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--target",
        "all",
        "--epochs",
        "1",
        "--hidden-size",
        "4",
        "--num-layers",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for k in [1, 2] {
        for ext in ["png", "svg"] {
            let f = out.join(format!("multivariate_predictions_{k}.{ext}"));
            assert!(f.is_file(), "{}", f.display());
        }
    }
    assert!(!out.join("multivariate_predictions_3.png").exists());
    assert!(!out.join(".tsf-staging").exists());
    assert!(out.join("model.tsf").is_file());
}

/// A relative `data.path` in a TOML file is relative to the file's folder, not to the working
/// directory; `--data` stays relative to the working directory (issue 13.8).
#[test]
fn relative_data_path_in_toml_is_relative_to_the_file() {
    let d = tempfile::tempdir().unwrap();
    let conf = d.path().join("conf");
    std::fs::create_dir_all(conf.join("data")).unwrap();
    write(&conf.join("data"), "x.csv", &csv_text(80));
    let cfg = write(
        &conf,
        "tsf.toml",
        "[data]\npath = \"data/x.csv\"\ntarget = \"a\"\n[model]\nhidden_size = 8\n[train]\nepochs = 2\n",
    );
    let run = |cwd: &Path, extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tsf"))
            .current_dir(cwd)
            .args([
                "train",
                "--config",
                cfg.to_str().unwrap(),
                "--quiet",
                "--no-charts",
                "--force",
            ])
            .args(["--out", d.path().join("run").to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap()
    };
    // From another working directory, the file's own folder is used.
    let o = run(d.path(), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A --data flag is relative to the working directory.
    write(d.path(), "y.csv", &csv_text(90));
    let o = run(d.path(), &["--data", "y.csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&conf, &["--data", "y.csv"]);
    assert_bad(&o, &["y.csv", "not found"]);
}

fn beats_naive(data: &Path, target: &str, extra: &[&str]) {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("run");
    let mut args = vec![
        "train",
        "--data",
        data.to_str().unwrap(),
        "--target",
        target,
        "--quiet",
        "--no-charts",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    let o = tsf(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = metrics(&out);
    let t = &m["targets"][target];
    let (r2, naive) = (
        t["original"]["r2"].as_f64().unwrap(),
        t["naive"]["original"]["r2"].as_f64().unwrap(),
    );
    assert!(r2 > naive, "{target}: R² {r2} does not beat naive {naive}");
}

#[test]
fn defaults_beat_naive_on_bundled_data() {
    beats_naive(
        &repo().join("data/statsmodels_macrodata.csv"),
        "tbilrate",
        &["--features", "realgdp,cpi,tbilrate,unemp,infl"],
    );
}

fn fred_beats_naive(target: &str) {
    beats_naive(
        &repo().join("data/macro_fred_monthly_1990_2025.csv"),
        target,
        &[],
    );
}

#[test]
fn defaults_beat_naive_on_fred_delinquency() {
    fred_beats_naive("Personal Loan Delinquency Rate");
}

#[test]
fn defaults_beat_naive_on_fred_inflation() {
    fred_beats_naive("Inflation Rate (CPI)");
}

/// `tsf backtest`: folds in order, each fitted on the rows before it, scored against the three
/// baselines; the report and the chart are written; `--refit once` trains once.
#[test]
fn backtest_scores_rolling_origins_against_the_baselines() {
    let d = tempfile::tempdir().unwrap();
    let data = write(d.path(), "x.csv", &csv_text(150));
    for (refit, trained) in [("every", 3), ("once", 1)] {
        let out = d.path().join(format!("bt-{refit}"));
        let o = tsf(&[
            "backtest",
            "--data",
            data.to_str().unwrap(),
            "--target",
            "a",
            "--horizon",
            "2",
            "--folds",
            "3",
            "--step",
            "6",
            "--refit",
            refit,
            "--epochs",
            "3",
            "--hidden-size",
            "8",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("backtest.json")).unwrap())
                .unwrap();
        let folds = r["folds"].as_array().unwrap();
        assert_eq!(folds.len(), 3);
        let mut fitted = 0;
        for (k, f) in folds.iter().enumerate() {
            // The last 18 rows in blocks of 6: origins 132, 138, 144.
            assert_eq!(f["origin"], 132 + 6 * k);
            assert_eq!(f["end"], 138 + 6 * k);
            // Windows whose two targets lie in the block: 5 per fold.
            assert_eq!(f["evaluation"]["windows"], 5);
            let t = &f["evaluation"]["targets"][0];
            for b in ["model", "naive", "seasonal_naive", "drift"] {
                assert!(t["scores"][b]["mae"].as_f64().unwrap() >= 0.0, "{b}");
            }
            if !f["candidates"].as_array().unwrap().is_empty() {
                fitted += 1;
            }
        }
        assert_eq!(fitted, trained, "{refit}");
        assert_eq!(r["overall"][0]["count"], 30);
        // Interval coverage pooled over the folds: their count-weighted mean, per level.
        let pooled = r["coverage"].as_array().unwrap();
        assert_eq!(pooled.len(), 2);
        for (l, c) in pooled.iter().enumerate() {
            let (mut covered, mut count) = (0.0, 0.0);
            for f in folds {
                let fc = &f["coverage"][l];
                let n = fc["count"].as_f64().unwrap();
                covered += fc["coverage"].as_f64().unwrap() * n;
                count += n;
            }
            assert_eq!(c["count"].as_f64().unwrap(), count);
            assert!((c["coverage"].as_f64().unwrap() - covered / count).abs() < 1e-12);
        }
        assert!(out.join("backtest_folds.png").is_file());
        // The chart draws the folds' forecasts beside the baselines'.
        let svg = std::fs::read_to_string(out.join("backtest_folds.svg")).unwrap();
        for text in ["Predicted", "Naive (last value)", "Drift"] {
            assert!(svg.contains(text), "backtest_folds.svg lacks {text:?}");
        }
    }
}

/// The baselines are what they say: on a series that repeats every 12 rows exactly, the seasonal
/// naive forecast is perfect at every horizon step, and the model (which starts from it) is too.
#[test]
fn seasonal_naive_is_exact_on_a_periodic_series() {
    let d = tempfile::tempdir().unwrap();
    let mut text = String::from("date,a\n");
    for i in 0..240 {
        let (y, m) = (2000 + i / 12, i % 12 + 1);
        let v = [3.0, 5.0, 4.0, 8.0, 9.0, 7.0, 6.0, 2.0, 1.0, 3.5, 4.5, 6.5][i % 12];
        text.push_str(&format!("{y}-{m:02}-01,{v}\n"));
    }
    let data = write(d.path(), "p.csv", &text);
    let out = d.path().join("run");
    let o = tsf(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--target",
        "a",
        "--horizon",
        "12",
        "--epochs",
        "2",
        "--quiet",
        "--no-charts",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = metrics(&out);
    let t = &m["targets"]["a"];
    assert_eq!(t["season"], 12);
    assert!(t["scores"]["seasonal_naive"]["mae"].as_f64().unwrap() < 1e-9);
    assert!(t["scores"]["naive"]["mae"].as_f64().unwrap() > 1.0);
    assert!(
        t["scores"]["model"]["mae"].as_f64().unwrap() < 1e-3,
        "{}",
        t["scores"]
    );
    assert_eq!(m["model"], "hybrid");
}

/// `predict --future-only` with a horizon of 3 gives the forecast from the last row: 3 rows, all
/// past the data, no actuals; the full `predict` fills in actuals wherever the data has them;
/// `evaluate` scores the test part by default and says so.
#[test]
fn future_only_forecasts_from_the_last_row_and_evaluate_scores_the_test_part() {
    let d = tempfile::tempdir().unwrap();
    let data = write(d.path(), "x.csv", &csv_text(150));
    let out = d.path().join("run");
    let o = tsf(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--target",
        "a",
        "--horizon",
        "3",
        "--epochs",
        "2",
        "--hidden-size",
        "8",
        "--quiet",
        "--no-charts",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let model = out.join("model.tsf");
    let predict = |extra: &[&str]| {
        let mut args = vec![
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = tsf(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let future = predict(&["--future-only"]);
    let rows: Vec<&str> = future.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{future}");
    for (s, month) in ["2012-07-01", "2012-08-01", "2012-09-01"]
        .iter()
        .enumerate()
    {
        assert!(
            rows[s].starts_with(&format!("{month},a,{},,", s + 1)),
            "{}",
            rows[s]
        );
    }
    // In the full output, every row dated inside the data has its actual.
    let all = predict(&[]);
    for line in all.lines().skip(1) {
        // ISO dates compare as text; the data end at 2012-06-01.
        let in_data = line[..10] <= *"2012-06-01";
        let actual = line.split(',').nth(3).unwrap();
        assert_eq!(!actual.is_empty(), in_data, "{line}");
    }
    let ev = d.path().join("eval.json");
    let o = tsf(&[
        "evaluate",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        ev.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("the test part"));
    let e: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&ev).unwrap()).unwrap();
    assert_eq!(e["split"], "test");
    // The test part of 150 rows with horizon 3: targets in rows 120..150, 28 windows.
    assert_eq!(e["windows"], 28);
}

/// `--residual false` asks for a network that learns levels: `auto` then trains the plain LSTM
/// alone (the hybrid learns changes by construction and used to be kept, with `residual: true`
/// in the model file, against the flag), and the printed parameter count is that network's.
#[test]
fn residual_false_keeps_auto_to_the_plain_lstm() {
    let d = tempfile::tempdir().unwrap();
    let data = write(d.path(), "x.csv", &csv_text(120));
    let out = d.path().join("levels");
    let o = tsf(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--target",
        "a",
        "--residual",
        "false",
        "--epochs",
        "2",
        "--no-charts",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["model"], "lstm", "{m}");
    let names: Vec<&str> = m["candidates"]
        .as_array()
        .map(|c| c.iter().filter_map(|x| x["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(!names.contains(&"hybrid"), "{names:?}");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(!text.contains("(hybrid)"), "{text}");
}

/// `--target all --features LIST` forecasts every listed feature; the other columns are not read
/// (a text column among them used to stop the run).
#[test]
fn target_all_with_features_forecasts_the_listed_columns() {
    let d = tempfile::tempdir().unwrap();
    let text: String = csv_text(120)
        .lines()
        .enumerate()
        .map(|(i, l)| format!("{l},{}\n", if i == 0 { "label" } else { "q1" }))
        .collect();
    let data = write(d.path(), "x.csv", &text);
    let out = d.path().join("all");
    let o = tsf(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--target",
        "all",
        "--features",
        "a,c",
        "--epochs",
        "2",
        "--no-charts",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Targets: a, c"), "{text}");
}
