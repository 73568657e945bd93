//! `tsf groups` and `tsf fairness`: the seed's group columns on the FRED data, the audit's files,
//! its agreement with `tsf evaluate`, mitigation, and bad input.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::*;

fn fred() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/macro_fred_monthly_1990_2025.csv")
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// A quick model of the federal funds rate and the FRED table with the seed's group columns.
fn fred_setup() -> &'static (PathBuf, PathBuf, PathBuf) {
    static CELL: OnceLock<(PathBuf, PathBuf, PathBuf)> = OnceLock::new();
    CELL.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let out = dir.join("run");
        let o = tsf(&[
            "train",
            "--data",
            fred().to_str().unwrap(),
            "--target",
            "Federal Funds Rate",
            "--epochs",
            "3",
            "--hidden-size",
            "8",
            "--quiet",
            "--no-charts",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let groups = dir.join("fred_groups.csv");
        let o = tsf(&[
            "groups",
            "--data",
            fred().to_str().unwrap(),
            "--out",
            groups.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        (dir.clone(), out.join("model.tsf"), groups)
    })
}

#[test]
fn groups_writes_the_seeds_five_columns_with_sensible_shares() {
    let (dir, _, groups) = fred_setup();
    let text = std::fs::read_to_string(groups).unwrap();
    let header = text.lines().next().unwrap();
    assert_eq!(
        header,
        "Date,Federal Funds Rate,Inflation Rate (CPI),Personal Loan Delinquency Rate,Economic_Group,Inflation_Group,Combined_Group,Time_Group,Risk_Group"
    );
    assert_eq!(text.lines().count(), 424);
    assert!(text.lines().nth(1).unwrap().starts_with("1990-01-01,8.23,"));
    let s = json(&dir.join("fairness_groups_summary.json"));
    assert_eq!(s["rows"], 423);
    let gs = s["groupings"].as_array().unwrap();
    assert_eq!(gs.len(), 5);
    for g in gs {
        let shares: Vec<f64> = g["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["share"].as_f64().unwrap())
            .collect();
        assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        if shares.len() == 2 {
            assert!(shares.iter().all(|x| (0.45..=0.55).contains(x)), "{g}");
        }
        if g["name"] == "Time_Group" {
            let counts: Vec<u64> = g["groups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["count"].as_u64().unwrap())
                .collect();
            assert_eq!(counts, vec![120, 96, 84, 123]);
            assert_eq!(g["groups"][0]["description"], "before 2000");
        }
    }
}

#[test]
fn groups_makes_custom_groupings() {
    let d = tempfile::tempdir().unwrap();
    let data = write(d.path(), "x.csv", &csv_text(120));
    let out = d.path().join("out/x_groups.csv");
    let o = tsf(&[
        "groups",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--median",
        "a",
        "--cross",
        "a,b=AB",
        "--eras",
        "2003-01-01,2006-01-01=Era",
        "--quantiles",
        "c:3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        text.lines().next().unwrap(),
        "date,a,b,c,a_Group,AB,Era,c_Q3_Group"
    );
    let s = json(&d.path().join("out/fairness_groups_summary.json"));
    let counts = |i: usize| -> Vec<u64> {
        s["groupings"][i]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["count"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(counts(0), vec![60, 60]);
    assert_eq!(counts(1).iter().sum::<u64>(), 120);
    assert_eq!(counts(2), vec![36, 36, 48]);
    assert_eq!(counts(3), vec![40, 40, 40]);
    // No seed groupings unless asked for.
    assert!(!text.contains("Economic_Group"));
}

#[test]
fn fairness_audit_writes_reports_and_agrees_with_evaluate() {
    let (dir, model, groups) = fred_setup();
    let out = dir.join("audit");
    let o = tsf(&[
        "fairness",
        "--part",
        "all",
        "--model",
        model.to_str().unwrap(),
        "--data",
        groups.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for needle in [
        "== Economic_Group",
        "== Time_Group",
        "before 2000",
        "Demographic parity ratio",
        "Equalized odds difference",
        "RMSE from",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in {text}");
    }
    for f in [
        "fairness_report.json",
        "fairlearn_evaluation_report.json",
        "fairness_Combined_Group_regression.png",
        "fairness_Combined_Group_regression.svg",
        "fairness_Time_Group_rates.png",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let r = json(&out.join("fairness_report.json"));
    let g = &r["groupings"][0];
    // Overall regression metrics are ts-train's evaluation of every window.
    let ev_path = dir.join("eval.json");
    let e = tsf(&[
        "evaluate",
        "--model",
        model.to_str().unwrap(),
        "--data",
        fred().to_str().unwrap(),
        "--part",
        "all",
        "--out",
        ev_path.to_str().unwrap(),
    ]);
    assert!(e.status.success(), "{}", stderr(&e));
    let ev = json(&ev_path);
    let want = &ev["targets"]["Federal Funds Rate"]["original"];
    for k in ["mse", "rmse", "mae", "r2"] {
        let (a, b) = (
            g["regression"]["overall"][k].as_f64().unwrap(),
            want[k].as_f64().unwrap(),
        );
        assert!((a - b).abs() < 1e-9, "{k}: {a} vs {b}");
    }
    assert_eq!(g["regression"]["overall"]["count"], want["count"]);
    // Group counts add up; the four-fifths reading follows the ratio.
    for gr in r["groupings"].as_array().unwrap() {
        let total: u64 = gr["regression"]["by_group"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["metrics"]["count"].as_u64().unwrap())
            .sum();
        assert_eq!(total, want["count"].as_u64().unwrap());
        let ratio = gr["classification"]["between_groups"]["demographic_parity_ratio"].as_f64();
        let reading = gr["readings"][0].as_str().unwrap();
        match ratio {
            Some(x) if x < 0.8 => {
                assert!(reading.contains("four-fifths rule is broken"), "{reading}")
            }
            Some(_) => assert!(reading.contains("four-fifths rule holds"), "{reading}"),
            None => assert!(reading.contains("undefined"), "{reading}"),
        }
    }
    // The fairlearn report has fairlearn's shape.
    let fl = json(&out.join("fairlearn_evaluation_report.json"));
    let c = &fl["Combined_Group"];
    for k in [
        "between_groups",
        "to_overall",
        "by_group",
        "group_counts",
        "overall",
        "metricframe_ratio_between_groups",
    ] {
        assert!(!c[k].is_null(), "{k}");
    }
    assert!(c["by_group"]["A"]["selection_rate"].is_number());
}

#[test]
fn threshold_optimizer_narrows_the_parity_gap_and_saves_itself() {
    let (dir, model, groups) = fred_setup();
    let out = dir.join("mitigated");
    let o = tsf(&[
        "fairness",
        "--part",
        "all",
        "--model",
        model.to_str().unwrap(),
        "--data",
        groups.to_str().unwrap(),
        "--groups",
        "risk,time",
        "--mitigate",
        "threshold",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("Mitigation: threshold optimizer on Risk_Group"),
        "{text}"
    );
    let r = json(&out.join("fairness_report.json"));
    let m = &r["mitigation"][0];
    assert_eq!(m["grouping"], "Risk_Group");
    let before = m["before"]["demographic_parity_difference"]
        .as_f64()
        .unwrap();
    let after = m["after"]["demographic_parity_difference"]
        .as_f64()
        .unwrap();
    assert!(after < before, "{after} vs {before}");
    assert!(out.join("threshold_optimizer_Risk_Group.json").is_file());
    assert!(out.join("fairness_mitigation.png").is_file());
    // Before 2000 the rate is always above the threshold: the optimizer cannot work on that
    // grouping (as in fairlearn), which is reported, not fatal.
    assert!(text.contains("on Time_Group skipped"), "{text}");
    assert_eq!(r["mitigation_skipped"][0]["grouping"], "Time_Group");
    // Re-applying the saved optimizer gives the same randomised predictions (same seed).
    let again = dir.join("again");
    let o = tsf(&[
        "fairness",
        "--part",
        "all",
        "--model",
        model.to_str().unwrap(),
        "--data",
        groups.to_str().unwrap(),
        "--groups",
        "risk",
        "--mitigate",
        "threshold",
        "--thresholds",
        out.join("threshold_optimizer_Risk_Group.json")
            .to_str()
            .unwrap(),
        "--no-charts",
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r2 = json(&again.join("fairness_report.json"));
    assert_eq!(r2["mitigation"][0]["after"], m["after"]);
    // Options that would make every mitigation fail are errors (exit 2), not "skipped".
    let saved = out.join("threshold_optimizer_Risk_Group.json");
    let bad = dir.join("refused-mitigation");
    for (extra, words) in [
        (
            &["--thresholds", saved.to_str().unwrap()][..],
            &["--thresholds", "--mitigate threshold"][..],
        ),
        (
            &["--mitigate", "reductions", "--iterations", "0"][..],
            &["--iterations", "0"][..],
        ),
        (
            &["--mitigate", "reductions", "--epsilon", "-1"][..],
            &["--epsilon", "-1"][..],
        ),
        (
            &["--mitigate", "reductions", "--epochs", "0"][..],
            &["--epochs", "0", "at least 1 epoch"][..],
        ),
    ] {
        let mut args = vec![
            "fairness",
            "--part",
            "all",
            "--model",
            model.to_str().unwrap(),
            "--data",
            groups.to_str().unwrap(),
            "--groups",
            "risk",
            "--no-charts",
            "--out",
            bad.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = tsf(&args);
        assert_bad(&o, words);
        assert!(!bad.join("fairness_report.json").exists());
    }
}

#[test]
fn reductions_retrain_with_weights_and_save_the_mixture() {
    let (dir, model, groups) = fred_setup();
    let out = dir.join("reduced");
    let o = tsf(&[
        "fairness",
        "--part",
        "all",
        "--model",
        model.to_str().unwrap(),
        "--data",
        groups.to_str().unwrap(),
        "--groups",
        "combined",
        "--mitigate",
        "reductions",
        "--constraint",
        "bounded_group_loss",
        "--iterations",
        "2",
        "--epochs",
        "2",
        "--no-charts",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let d = json(&out.join("reductions_Combined_Group.json"));
    let its = d["iterations"].as_array().unwrap();
    assert_eq!(its.len(), 2);
    // The second round weighs the groups differently from the first.
    assert_ne!(its[0]["weight_range"], its[1]["weight_range"]);
    assert_eq!(d["mixture_weights"], serde_json::json!([0.5, 0.5]));
    let member = out.join("reductions_Combined_Group_member2.tsf");
    let e = with_model("evaluate", &member, &fred());
    assert!(e.status.success(), "{}", stderr(&e));
    let r = json(&out.join("fairness_report.json"));
    assert!(r["mitigation"][0]["after"]["rmse"].as_f64().unwrap() > 0.0);
}

/// On a model of two targets, the reduction reads the audited target (`--target`), not the
/// first: a threshold in the second target's units was checked against the first's range and
/// the mitigation skipped.
#[test]
fn reductions_read_the_audited_target_of_a_two_target_model() {
    let (dir, _, groups) = fred_setup();
    let text = std::fs::read_to_string(groups).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let ffr = header
        .split(',')
        .position(|c| c == "Federal Funds Rate")
        .unwrap();
    let mut scaled = format!("{header},big\n");
    for l in lines {
        let v: f64 = l.split(',').nth(ffr).unwrap().parse().unwrap();
        scaled.push_str(&format!("{l},{}\n", v * 1000.0 + 5000.0));
    }
    let data = dir.join("two_targets.csv");
    std::fs::write(&data, scaled).unwrap();
    let run = dir.join("two");
    let mut args = vec![
        "train",
        "--data",
        data.to_str().unwrap(),
        "--target",
        "Federal Funds Rate,big",
        "--features",
        "Federal Funds Rate,big",
        "--out",
        run.to_str().unwrap(),
    ];
    // The quick run's settings without its target.
    args.extend(&QUICK[..QUICK.len() - 2]);
    let o = tsf(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.join("two_reduced");
    let o = tsf(&[
        "fairness",
        "--part",
        "all",
        "--model",
        run.join("model.tsf").to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--target",
        "big",
        "--groups",
        "risk",
        "--mitigate",
        "reductions",
        "--iterations",
        "1",
        "--epochs",
        "1",
        "--no-charts",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = json(&out.join("fairness_report.json"));
    assert_eq!(r["mitigation_skipped"], serde_json::json!([]), "{r}");
    assert!(r["mitigation"][0]["after"]["rmse"].as_f64().unwrap() > 0.0);
    // A threshold optimizer fitted on one target is not applied to another (its thresholds are
    // in the first one's units).
    let model = run.join("model.tsf");
    let audit = |target: &str, extra: &[&str], out: &Path| {
        let mut args = vec![
            "fairness",
            "--part",
            "all",
            "--model",
            model.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--target",
            target,
            "--groups",
            "risk",
            "--no-charts",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        tsf(&args)
    };
    let fitted = dir.join("two_threshold");
    let o = audit("big", &["--mitigate", "threshold"], &fitted);
    assert!(o.status.success(), "{}", stderr(&o));
    let saved = std::fs::read_dir(&fitted)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("threshold_optimizer_")
        })
        .unwrap();
    assert!(json(&saved)["target"] == "big");
    let o = audit(
        "Federal Funds Rate",
        &[
            "--mitigate",
            "threshold",
            "--thresholds",
            saved.to_str().unwrap(),
        ],
        &dir.join("two_reapplied"),
    );
    assert_bad(
        &o,
        &["fitted on the forecasts of \"big\"", "Federal Funds Rate"],
    );
}

#[test]
fn bad_input_gives_one_clear_line() {
    let (dir, model, groups) = fred_setup();
    let out = dir.join("bad");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "fairness",
            "--part",
            "all",
            "--model",
            model.to_str().unwrap(),
            "--data",
            groups.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--no-charts",
        ];
        args.extend(extra);
        tsf(&args)
    };
    assert_bad(
        &run(&["--group-column", "Nope"]),
        &["column \"Nope\" not found", "Economic_Group"],
    );
    assert_bad(
        &run(&["--groups", "weather"]),
        &["weather", "economic, inflation"],
    );
    assert_bad(
        &run(&["--groups", "risk", "--threshold", "1000"]),
        &["threshold 1000", "outside the range"],
    );
    assert_bad(
        &run(&["--groups", "risk", "--threshold", "-5"]),
        &["every label would be positive"],
    );
    assert_bad(&run(&["--mitigate", "magic"]), &["--mitigate", "magic"]);
    assert_bad(
        &run(&[
            "--mitigate",
            "threshold",
            "--constraint",
            "bounded_group_loss",
        ]),
        &["--constraint", "demographic_parity or equalized_odds"],
    );
    assert_bad(
        &run(&["--target", "Inflation Rate (CPI)"]),
        &["target", "Federal Funds Rate"],
    );
    // A single group, and groups without windows.
    let d = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(groups).unwrap();
    let mut one = String::new();
    for (i, l) in text.lines().enumerate() {
        one.push_str(l);
        one.push_str(if i == 0 { ",Same\n" } else { ",x\n" });
    }
    let single = write(d.path(), "single.csv", &one);
    let o = tsf(&[
        "fairness",
        "--part",
        "all",
        "--model",
        model.to_str().unwrap(),
        "--data",
        single.to_str().unwrap(),
        "--group-column",
        "Same",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_bad(&o, &["grouping \"Same\"", "only one group (\"x\")"]);
    // Data without the model's columns.
    let no_cols = write(
        d.path(),
        "nocols.csv",
        "Date,G\n2000-01-01,a\n2000-02-01,b\n",
    );
    let o = tsf(&[
        "fairness",
        "--part",
        "all",
        "--model",
        model.to_str().unwrap(),
        "--data",
        no_cols.to_str().unwrap(),
        "--group-column",
        "G",
    ]);
    assert_bad(&o, &["nocols.csv", "\"Federal Funds Rate\" not found"]);
    // Eras whose first era ends before the first forecast: reported, left out.
    let eras = d.path().join("eras.csv");
    let o = tsf(&[
        "groups",
        "--data",
        fred().to_str().unwrap(),
        "--eras",
        "1990-06-01,2010-01-01",
        "--out",
        eras.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = tsf(&[
        "fairness",
        "--part",
        "all",
        "--model",
        model.to_str().unwrap(),
        "--data",
        eras.to_str().unwrap(),
        "--group-column",
        "Era_Group",
        "--no-charts",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("no windows predict a row of group(s) A"),
        "{}",
        stdout(&o)
    );
    // tsf groups errors.
    let fred_path = fred();
    let never = d.path().join("never.csv");
    let bad = |extra: &[&str], frags: &[&str]| {
        let mut args = vec![
            "groups",
            "--data",
            fred_path.to_str().unwrap(),
            "--out",
            never.to_str().unwrap(),
        ];
        args.extend(extra);
        assert_bad(&tsf(&args), frags);
    };
    bad(&["--median", "Nope"], &["column \"Nope\" not found"]);
    bad(&["--eras", "2010,2001"], &["strictly increasing"]);
    bad(&["--quantiles", "Federal Funds Rate"], &["COLUMN:N"]);
    bad(&["--cross", "Federal Funds Rate"], &["COL1,COL2"]);
    let numbers = write(d.path(), "n.csv", "a,b\n1,2\n3,4\n5,6\n");
    let o = tsf(&[
        "groups",
        "--data",
        numbers.to_str().unwrap(),
        "--groups",
        "time",
    ]);
    assert_bad(&o, &["Time_Group", "time column"]);
}

/// The fuzz corpus' damaged Parquet files and pyarrow's file with decimal128 and time-of-day
/// columns: `tsf groups` and `tsf fairness` read tables through ts-data's checked reader and
/// exit 2 naming the file, as `tsf train` does (they used to abort or panic).
#[test]
fn damaged_and_unsupported_parquet_exit_2() {
    let (_, model, _) = fred_setup();
    let d = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ts-data/tests");
    let mut cases: Vec<(PathBuf, Vec<&str>)> = Vec::new();
    for name in [
        "crash-thrift-bool-field",
        "deep-schema",
        "oom-dict-page",
        "oom-footer-list",
        "oom-footer-list-2",
        "oom-huge-row-group",
        "oom-page-validity",
    ] {
        let p = d.path().join(format!("{name}.parquet"));
        std::fs::copy(root.join("fuzz-corpus/parquet").join(name), &p).unwrap();
        cases.push((p, vec![name]));
    }
    cases.push((
        root.join("fixtures/parquet-writers/pyarrow-all-types.parquet"),
        vec!["pyarrow-all-types.parquet", "of type", "cannot be read"],
    ));
    for (p, words) in &cases {
        let out = d.path().join("never.csv");
        let o = tsf(&[
            "groups",
            "--data",
            p.to_str().unwrap(),
            "--median",
            "a",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_bad(&o, words);
        let rep = d.path().join("never");
        let o = tsf(&[
            "fairness",
            "--model",
            model.to_str().unwrap(),
            "--data",
            p.to_str().unwrap(),
            "--group-column",
            "G",
            "--out",
            rep.to_str().unwrap(),
        ]);
        assert_bad(&o, words);
        assert!(!out.exists() && !rep.exists());
    }
}

/// `tsf fairness` scores the test part by default and says so (the windows of `tsf evaluate`'s
/// default part); a grouping with one group in that part (Time_Group: the test rows all lie after 2015) is skipped by name, not fatal.
#[test]
fn fairness_defaults_to_the_test_part() {
    let (dir, model, groups) = fred_setup();
    let out = dir.join("test-part");
    let o = tsf(&[
        "fairness",
        "--model",
        model.to_str().unwrap(),
        "--data",
        groups.to_str().unwrap(),
        "--groups",
        "economic,time,economic",
        "--no-charts",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("in the test part (rows "), "{text}");
    assert!(text.contains("Grouping Time_Group skipped"), "{text}");
    let r = json(&out.join("fairness_report.json"));
    assert_eq!(r["part"], "test");
    let (from, to) = (
        r["rows"][0].as_u64().unwrap(),
        r["rows"][1].as_u64().unwrap(),
    );
    // One-step forecasts of the test rows only.
    assert!(r["forecasts"].as_u64().unwrap() <= to - from);
    assert!(from > 300 && to == 423, "{from}..{to}");
    assert_eq!(r["groupings_skipped"][0]["grouping"], "Time_Group");
    assert_eq!(r["groupings"][0]["grouping"], "Economic_Group");
    // A grouping named twice is audited once.
    assert_eq!(r["groupings"].as_array().unwrap().len(), 1);
    // The same windows as `tsf evaluate`'s default (test) part.
    let ev_path = dir.join("eval-test.json");
    let e = tsf(&[
        "evaluate",
        "--model",
        model.to_str().unwrap(),
        "--data",
        fred().to_str().unwrap(),
        "--out",
        ev_path.to_str().unwrap(),
    ]);
    assert!(e.status.success(), "{}", stderr(&e));
    let want = &json(&ev_path)["targets"]["Federal Funds Rate"]["original"];
    let got = &r["groupings"][0]["regression"]["overall"];
    assert_eq!(got["count"], want["count"]);
    for k in ["mse", "rmse", "mae", "r2"] {
        let (a, b) = (got[k].as_f64().unwrap(), want[k].as_f64().unwrap());
        assert!((a - b).abs() < 1e-9, "{k}: {a} vs {b}");
    }
}

/// The threshold optimizer's randomised predictions: the report gives one seeded draw and the
/// expectation over all draws (selection rates, parity gaps, accuracy), labelled as such; a
/// grouping it cannot handle is skipped under its own name; a saved optimizer that does not fit
/// the grouping is an error, not "skipped".
#[test]
fn threshold_mitigation_reports_expected_rates_and_names_skips() {
    let (dir, model, groups) = fred_setup();
    let out = dir.join("expected");
    let o = tsf(&[
        "fairness",
        "--part",
        "all",
        "--model",
        model.to_str().unwrap(),
        "--data",
        groups.to_str().unwrap(),
        "--groups",
        "risk,time",
        "--mitigate",
        "threshold",
        "--no-charts",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("after, one random draw (seed 42)"), "{text}");
    assert!(
        text.contains("after, expected over the randomisation: selection rates A "),
        "{text}"
    );
    let r = json(&out.join("fairness_report.json"));
    let m = &r["mitigation"][0];
    let e = &m["expected_after"];
    let rates = e["selection_rates"].as_object().unwrap();
    assert_eq!(rates.len(), 2);
    let v: Vec<f64> = rates.values().map(|x| x.as_f64().unwrap()).collect();
    // Demographic parity in expectation: equal selection rates (fairlearn's grid of 1000).
    assert!((v[0] - v[1]).abs() < 2e-3, "{v:?}");
    assert!(
        (e["demographic_parity_difference"].as_f64().unwrap() - (v[0] - v[1]).abs()).abs() < 1e-12
    );
    let acc = e["accuracy"].as_f64().unwrap();
    assert!(acc > 0.5 && acc <= 1.0, "{acc}");
    // The skipped grouping is named by its own name, and the reason does not call it anything else.
    let s = &r["mitigation_skipped"][0];
    assert_eq!(s["grouping"], "Time_Group");
    let reason = s["reason"].as_str().unwrap();
    assert!(
        !reason.contains("grouping \"threshold optimizer\""),
        "{reason}"
    );
    assert!(
        reason.contains("only positive labels") || reason.contains("only negative labels"),
        "{reason}"
    );
    // The Risk optimizer applied to Economic_Group's groups works (both are A/B); applied to
    // Combined_Group (A-D) it is an error.
    let saved = out.join("threshold_optimizer_Risk_Group.json");
    let o = tsf(&[
        "fairness",
        "--part",
        "all",
        "--model",
        model.to_str().unwrap(),
        "--data",
        groups.to_str().unwrap(),
        "--groups",
        "combined",
        "--mitigate",
        "threshold",
        "--thresholds",
        saved.to_str().unwrap(),
        "--no-charts",
        "--out",
        dir.join("wrong-groups").to_str().unwrap(),
    ]);
    assert_bad(&o, &["threshold optimizer", "not seen"]);
}

/// An existing report folder is never mixed with a new run's files: without `--force` it is
/// refused; with `--force` it is replaced as a whole (an old file is gone) once the new run has
/// written everything.
#[test]
fn an_existing_report_folder_is_refused_or_replaced_whole() {
    let (dir, model, groups) = fred_setup();
    let out = dir.join("replaced");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("threshold_optimizer_Old_Group.json"), "{}").unwrap();
    let run = |force: bool| {
        let mut args = vec![
            "fairness",
            "--part",
            "all",
            "--model",
            model.to_str().unwrap(),
            "--data",
            groups.to_str().unwrap(),
            "--groups",
            "risk",
            "--no-charts",
            "--out",
            out.to_str().unwrap(),
        ];
        if force {
            args.push("--force");
        }
        tsf(&args)
    };
    assert_bad(&run(false), &["replaced", "already exists", "--force"]);
    assert!(out.join("threshold_optimizer_Old_Group.json").exists());
    let o = run(true);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("fairness_report.json").is_file());
    assert!(!out.join("threshold_optimizer_Old_Group.json").exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".replaced."))
        .collect();
    assert!(leftovers.is_empty(), "staging folders left behind");
}

/// `--force` replaces an earlier report's files in `--out` and removes those the new report does
/// not write; anything else there stays: the model or table audited (they used to be deleted
/// with the folder), a user's notes. An input that is itself one of the report's files (a
/// reductions member model of the earlier report) is refused, the folder left as it was. The
/// current folder works as `--out` (it used to fail: the folder was renamed aside).
#[test]
fn force_never_removes_an_input_or_a_users_file() {
    let (dir, model, groups) = fred_setup();
    let out = dir.join("holds-inputs");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("fairness_report.json"), "{}").unwrap();
    std::fs::write(out.join("fairness_Old_Group_rates.png"), "old").unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let inner_model = out.join("model.tsf");
    std::fs::copy(model, &inner_model).unwrap();
    let run = |model: &std::path::Path, out: &str, cwd: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tsf"))
            .args([
                "fairness",
                "--model",
                model.to_str().unwrap(),
                "--data",
                groups.to_str().unwrap(),
                "--groups",
                "risk",
                "--no-charts",
                "--out",
                out,
                "--force",
            ])
            .current_dir(cwd)
            .output()
            .unwrap()
    };
    // The model audited lies in the folder, under a name the report does not use: kept.
    let o = run(&inner_model, out.to_str().unwrap(), dir);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(inner_model.is_file());
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(!out.join("fairness_Old_Group_rates.png").exists());
    let report = std::fs::read_to_string(out.join("fairness_report.json")).unwrap();
    assert!(report.contains("Risk_Group"), "{report}");
    // The input is one of the report's own files.
    let member = out.join("reductions_Old_Group_member1.tsf");
    std::fs::copy(model, &member).unwrap();
    assert_bad(
        &run(&member, out.to_str().unwrap(), dir),
        &["reductions_Old_Group_member1.tsf", "replace or remove"],
    );
    assert!(member.is_file());
    std::fs::remove_file(&member).unwrap();
    // `--out .` from inside the folder.
    let o = run(model, ".", &out);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(inner_model.is_file());
    assert!(!out.join(".tsf-staging").exists());
}

/// `tsf groups` refuses a summary path that is the grouped table's (`--out`): the JSON would
/// replace the CSV. Neither file is written.
#[test]
fn groups_refuse_a_summary_over_the_table() {
    let d = tempfile::tempdir().unwrap();
    let data = write(d.path(), "t.csv", &csv_text(40));
    let out = d.path().join("g.csv");
    let o = tsf(&[
        "groups",
        "--data",
        data.to_str().unwrap(),
        "--median",
        "a=Split",
        "--out",
        out.to_str().unwrap(),
        "--summary",
        d.path().join("./g.csv").to_str().unwrap(),
    ]);
    assert_bad(&o, &["g.csv", "summary", "--summary"]);
    assert!(!out.exists());
}

/// `tsf groups --median A=B` where B is a text column of the file is refused (it used to be
/// overwritten; numeric and time columns were already refused), while a group column of an
/// earlier run may be replaced.
#[test]
fn groups_refuse_to_overwrite_a_text_column() {
    let d = tempfile::tempdir().unwrap();
    let text: String = csv_text(40)
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let label = if i == 0 { "label" } else { ["x", "y"][i % 2] };
            format!("{l},{label}\n")
        })
        .collect();
    let data = write(d.path(), "t.csv", &text);
    let out = d.path().join("t_groups.csv");
    let o = tsf(&[
        "groups",
        "--data",
        data.to_str().unwrap(),
        "--median",
        "a=label",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_bad(
        &o,
        &["t.csv", "\"label\"", "already a data column", "=NAME"],
    );
    assert!(!out.exists());
    let o = tsf(&[
        "groups",
        "--data",
        data.to_str().unwrap(),
        "--median",
        "a=label_Group",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = tsf(&[
        "groups",
        "--data",
        out.to_str().unwrap(),
        "--quantiles",
        "b:3=label_Group",
        "--out",
        d.path().join("again.csv").to_str().unwrap(),
        "--force",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let again = std::fs::read_to_string(d.path().join("again.csv")).unwrap();
    assert!(
        again
            .lines()
            .next()
            .unwrap()
            .ends_with(",label,label_Group")
    );
    assert!(
        again
            .lines()
            .skip(1)
            .all(|l| [",Q1", ",Q2", ",Q3"].iter().any(|q| l.ends_with(q))),
        "{again}"
    );
}

/// A group column whose name is not a file name (`Risk/Split`) still gets its charts and its
/// optimizer file (the name's other characters become `_`).
#[test]
fn grouping_names_are_made_safe_for_file_names() {
    let (dir, model, groups) = fred_setup();
    let text = std::fs::read_to_string(groups).unwrap();
    let mut with = String::new();
    for (i, l) in text.lines().enumerate() {
        let risk = l.rsplit(',').next().unwrap();
        with.push_str(&format!(
            "{l},{}\n",
            if i == 0 { "Risk/Split" } else { risk }
        ));
    }
    let data = write(dir, "slash.csv", &with);
    let out = dir.join("slash");
    let o = tsf(&[
        "fairness",
        "--part",
        "all",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--group-column",
        "Risk/Split",
        "--mitigate",
        "threshold",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("== Risk/Split"));
    for f in [
        "fairness_Risk_Split_regression.png",
        "fairness_Risk_Split_rates.svg",
        "threshold_optimizer_Risk_Split.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
}

/// A group with few forecasts is named as noisy, and one with too few for an R² is named and
/// left out of the R² range (which is then not given).
#[test]
fn tiny_groups_are_named() {
    let (dir, model, _) = fred_setup();
    let eras = dir.join("late_era.csv");
    let o = tsf(&[
        "groups",
        "--data",
        fred().to_str().unwrap(),
        "--eras",
        "2024-10-01=Late",
        "--out",
        eras.to_str().unwrap(),
        "--summary",
        dir.join("late_era_summary.json").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = tsf(&[
        "fairness",
        "--part",
        "all",
        "--model",
        model.to_str().unwrap(),
        "--data",
        eras.to_str().unwrap(),
        "--group-column",
        "Late",
        "--no-charts",
        "--out",
        dir.join("late_report").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("forecasts: their errors are noisy") || text.contains("too few forecasts"),
        "{text}"
    );
}
