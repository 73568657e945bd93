//! `tsf explain`: tables, interpretation_results.json, charts, and clear errors.

mod common;

use common::{assert_bad, csv_text, stderr, train_quick, trained, tsf, write};

fn explain(
    model: &std::path::Path,
    data: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "explain",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ];
    args.extend(extra);
    tsf(&args)
}

#[test]
fn explains_every_method_and_writes_json_and_charts() {
    let (dir, model, data) = trained();
    let out = dir.join("explain-all");
    let o = explain(
        model,
        data,
        &[
            "--windows",
            "8",
            "--background",
            "5",
            "--lime-samples",
            "100",
            "--smoothgrad-samples",
            "4",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "Feature importance (saliency",
        "Feature importance (integrated_gradients",
        "Feature importance (shap",
        "Temporal importance",
        "Method comparison",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("interpretation_results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["windows"], 8);
    assert_eq!(json["background"], 5);
    assert_eq!(json["features"].as_array().unwrap().len(), 3);
    let methods = json["methods"].as_array().unwrap();
    assert_eq!(
        methods.len(),
        7,
        "all methods but attention for a plain LSTM"
    );
    for m in methods {
        let t = m["importance"]["temporal"].as_array().unwrap();
        assert_eq!(t.len(), 12, "{}: one row per time step", m["method"]);
        assert_eq!(t[0].as_array().unwrap().len(), 3);
        assert!(
            t.iter()
                .flat_map(|r| r.as_array().unwrap())
                .all(|v| v.as_f64().unwrap().is_finite())
        );
    }
    let ig = methods
        .iter()
        .find(|m| m["method"] == "integrated_gradients")
        .unwrap();
    assert_eq!(
        ig["details"]["completeness_gap"].as_array().unwrap().len(),
        8
    );
    assert_eq!(json["settings"]["integrated_gradients"]["steps"], 64);
    assert_eq!(
        json["method_comparison"]["spearman"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
    for stem in [
        "feature_importance_saliency",
        "feature_importance_shap",
        "time_step_importance",
        "overall_feature_importance_integrated_gradients",
        "method_comparison",
    ] {
        assert!(out.join(format!("{stem}.png")).exists(), "{stem}.png");
        assert!(out.join(format!("{stem}.svg")).exists(), "{stem}.svg");
    }
    assert!(!out.join("attention_analysis.png").exists());
}

#[test]
fn attention_model_gets_the_attention_analysis() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", &csv_text(100));
    let run = dir.path().join("att");
    let o = train_quick(&data, &run, &["--model", "attention"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.path().join("ex");
    let o = explain(
        &run.join("model.tsf"),
        &data,
        &[
            "--methods",
            "attention,ig",
            "--windows",
            "5",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Mean attention weight"));
    assert!(out.join("attention_analysis.png").exists());
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("interpretation_results.json")).unwrap(),
    )
    .unwrap();
    let att = &json["methods"][0];
    assert_eq!(att["method"], "attention");
    for row in att["details"]["weights"].as_array().unwrap() {
        let s: f64 = row
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .sum();
        assert!((s - 1.0).abs() < 1e-4);
    }
}

#[test]
fn bad_explain_input_is_one_clear_line() {
    let (dir, model, data) = trained();
    let out = dir.join("explain-bad");
    let o = out.to_str().unwrap();
    assert_bad(
        &explain(model, data, &["--methods", "attention", "--out", o]),
        &["attention is not supported", "--model attention"],
    );
    assert_bad(
        &explain(model, data, &["--methods", "saliency,magic", "--out", o]),
        &["magic"],
    );
    assert_bad(
        &explain(model, data, &["--ig-steps", "0", "--out", o]),
        &["--ig-steps = 0"],
    );
    assert_bad(
        &explain(model, data, &["--background", "0", "--out", o]),
        &["background = 0"],
    );
    assert_bad(
        &explain(model, data, &["--windows", "0", "--out", o]),
        &["windows = 0"],
    );
    assert_bad(
        &explain(model, data, &["--step", "2", "--out", o]),
        &["--step = 2", "1..=1"],
    );
    assert_bad(
        &explain(model, data, &["--target", "a", "--out", o]),
        &["\"a\"", "targets: b"],
    );
    // Settings that would run for ever or exhaust memory are refused up front.
    let many = ["--methods", "shap", "--shap-players", "cells", "--out", o];
    let mut a = many.to_vec();
    a.extend(["--shap-samples", "100000000000"]);
    assert_bad(
        &explain(model, data, &a),
        &["shap samples", "at most 1000000"],
    );
    let mut a = many.to_vec();
    a.extend(["--shap-max-exact", "36"]);
    assert_bad(&explain(model, data, &a), &["shap max exact", "at most 24"]);
    assert_bad(
        &explain(
            model,
            data,
            &["--methods", "lime", "--lime-samples", "5000000", "--out", o],
        ),
        &["lime samples", "at most 1000000"],
    );
    // Negative numbers reach the parsers (not clap's "unexpected argument"), and a negative
    // SmoothGrad noise is refused before anything runs.
    assert_bad(
        &explain(model, data, &["--seed", "-1", "--out", o]),
        &["--seed", "'-1'"],
    );
    let o2 = explain(
        model,
        data,
        &[
            "--methods",
            "smoothgrad",
            "--smoothgrad-noise",
            "-0.5",
            "--out",
            o,
        ],
    );
    assert_bad(&o2, &["smoothgrad noise = -0.5"]);
    assert!(
        o2.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o2.stdout)
    );
    // A table without the model's columns.
    let other = write(dir, "other.csv", "date,x\n2000-01-01,1\n2000-02-01,2\n");
    assert_bad(
        &explain(model, &other, &["--out", o]),
        &["missing", "\"a\""],
    );
    // Too few rows for one window.
    let short = write(dir, "short.csv", &csv_text(5));
    assert_bad(&explain(model, &short, &["--out", o]), &["12 rows"]);
}

/// An earlier explanation in `--out` is refused without `--force` (it used to be mixed with the
/// new one's files); with it, the charts of methods not run again go, a user's file stays.
#[test]
fn an_earlier_explanation_is_refused_or_replaced() {
    let (dir, model, data) = trained();
    let out = dir.join("explain-again");
    let _ = std::fs::remove_dir_all(&out);
    let run = |methods: &str, force: bool| {
        let mut extra = vec![
            "--methods",
            methods,
            "--windows",
            "3",
            "--background",
            "3",
            "--out",
            out.to_str().unwrap(),
        ];
        if force {
            extra.push("--force");
        }
        explain(model, data, &extra)
    };
    let o = run("saliency", false);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("feature_importance_saliency.png").is_file());
    std::fs::write(out.join("notes.png"), "mine").unwrap();
    let before = std::fs::read(out.join("interpretation_results.json")).unwrap();
    assert_bad(
        &run("ig", false),
        &["explain-again", "already holds an explanation", "--force"],
    );
    assert_eq!(
        std::fs::read(out.join("interpretation_results.json")).unwrap(),
        before
    );
    let o = run("ig", true);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!out.join("feature_importance_saliency.png").exists());
    assert!(!out.join("feature_importance_saliency.svg").exists());
    assert!(
        out.join("feature_importance_integrated_gradients.png")
            .is_file()
    );
    assert_eq!(
        std::fs::read_to_string(out.join("notes.png")).unwrap(),
        "mine"
    );
    assert!(!out.join(".tsf-staging").exists());
}

/// SHAP with whole time steps as players does not rank features: its values are spread evenly
/// over them, so the ranking and the feature bars would be made up.
#[test]
fn shap_of_time_steps_ranks_no_features() {
    let (dir, model, data) = trained();
    let out = dir.join("explain-steps");
    let o = explain(
        model,
        data,
        &[
            "--methods",
            "shap,saliency",
            "--shap-players",
            "timesteps",
            "--windows",
            "2",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("not measured: SHAP with time-step players"),
        "{text}"
    );
    assert!(text.contains("Temporal importance (saliency"), "{text}");
    assert!(!out.join("overall_feature_importance_shap.png").exists());
    assert!(out.join("overall_feature_importance_saliency.png").exists());
}
