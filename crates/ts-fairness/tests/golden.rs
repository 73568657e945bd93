//! fairlearn 0.15's numbers on the golden case in the repository's `tests/golden`, reproduced to
//! 1e-12 (`scripts/golden/make_golden.py` regenerates them).

use std::path::PathBuf;

use serde_json::Value;
use ts_fairness::classification_report;
use ts_fairness::classify::{ClassificationReport, Disparities, MaybeRates, Rates};

fn fixture(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/golden")
        .join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

const TOL: f64 = 1e-12;

fn close(what: &str, got: f64, want: &Value) {
    let w = want
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: golden {want} is not a number"));
    assert!((got - w).abs() <= TOL, "{what}: got {got}, fairlearn {w}");
}

fn close_opt(what: &str, got: Option<f64>, want: &Value) {
    close(
        what,
        got.unwrap_or_else(|| panic!("{what}: undefined, fairlearn {want}")),
        want,
    );
}

fn check_disparities(case: &str, method: &str, d: &Disparities, g: &Value) {
    let w = |k: &str| &g[k];
    let n = |k: &str| format!("{case}/{method}/{k}");
    close(
        &n("dp_diff"),
        d.demographic_parity_difference,
        w("demographic_parity_difference"),
    );
    close_opt(
        &n("dp_ratio"),
        d.demographic_parity_ratio,
        w("demographic_parity_ratio"),
    );
    close(
        &n("eo_diff"),
        d.equalized_odds_difference,
        w("equalized_odds_difference"),
    );
    close_opt(
        &n("eo_ratio"),
        d.equalized_odds_ratio,
        w("equalized_odds_ratio"),
    );
    close(
        &n("eo_diff_mean"),
        d.equalized_odds_difference_agg_mean,
        w("equalized_odds_difference_agg_mean"),
    );
    close_opt(
        &n("eo_ratio_mean"),
        d.equalized_odds_ratio_agg_mean,
        w("equalized_odds_ratio_agg_mean"),
    );
    close(
        &n("eop_diff"),
        d.equal_opportunity_difference,
        w("equal_opportunity_difference"),
    );
    close_opt(
        &n("eop_ratio"),
        d.equal_opportunity_ratio,
        w("equal_opportunity_ratio"),
    );
}

fn check_rates(what: &str, r: &Rates, g: &Value) {
    close(
        &format!("{what}/selection_rate"),
        r.selection_rate,
        &g["selection_rate"],
    );
    close(&format!("{what}/tpr"), r.tpr, &g["tpr"]);
    close(&format!("{what}/fpr"), r.fpr, &g["fpr"]);
    close(&format!("{what}/accuracy"), r.accuracy, &g["accuracy"]);
}

fn check_maybe(what: &str, r: &MaybeRates, g: &Value) {
    close_opt(
        &format!("{what}/selection_rate"),
        r.selection_rate,
        &g["selection_rate"],
    );
    close_opt(&format!("{what}/tpr"), r.tpr, &g["tpr"]);
    close_opt(&format!("{what}/fpr"), r.fpr, &g["fpr"]);
    close_opt(&format!("{what}/accuracy"), r.accuracy, &g["accuracy"]);
}

fn report(case: &Value) -> ClassificationReport {
    let bits = |k: &str| -> Vec<bool> {
        case[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64() == Some(1))
            .collect()
    };
    let groups: Vec<String> = case["group"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    classification_report(&bits("y_true"), &bits("y_pred"), &groups).unwrap()
}

#[test]
fn reproduces_fairlearn_on_both_cases() {
    let cases = fixture("fairness_case.json");
    let golden = fixture("fairness_golden.json");
    assert_eq!(golden["fairlearn_version"], "0.15.0");
    for name in ["two_groups", "four_groups"] {
        let r = report(&cases[name]);
        let g = &golden[name];
        assert_eq!(r.n as u64, g["n"].as_u64().unwrap(), "{name}: n");
        check_disparities(
            name,
            "between_groups",
            &r.between_groups,
            &g["between_groups"],
        );
        check_disparities(name, "to_overall", &r.to_overall, &g["to_overall"]);
        check_rates(&format!("{name}/overall"), &r.overall, &g["overall"]);
        let by = g["by_group"].as_object().unwrap();
        assert_eq!(r.by_group.len(), by.len(), "{name}: groups");
        for gr in &r.by_group {
            check_rates(
                &format!("{name}/by_group/{}", gr.group),
                &gr.rates,
                &by[&gr.group],
            );
            assert_eq!(
                gr.count as u64,
                g["group_counts"][&gr.group].as_u64().unwrap(),
                "{name}: count of {}",
                gr.group
            );
        }
        check_rates(
            &format!("{name}/difference"),
            &r.difference_between_groups,
            &g["metricframe_difference_between_groups"],
        );
        check_maybe(
            &format!("{name}/ratio"),
            &r.ratio_between_groups,
            &g["metricframe_ratio_between_groups"],
        );
        check_rates(
            &format!("{name}/min"),
            &r.group_min,
            &g["metricframe_group_min"],
        );
        check_rates(
            &format!("{name}/max"),
            &r.group_max,
            &g["metricframe_group_max"],
        );
    }
}

#[test]
fn group_order_does_not_change_the_numbers() {
    // Relabelling the groups (so that they sort differently) gives the same parity metrics.
    let cases = fixture("fairness_case.json");
    let case = &cases["four_groups"];
    let base = report(case);
    let mut renamed = case.clone();
    for v in renamed["group"].as_array_mut().unwrap() {
        let s = match v.as_str().unwrap() {
            "A" => "z",
            "B" => "y",
            "C" => "x",
            _ => "w",
        };
        *v = Value::String(s.into());
    }
    let r = report(&renamed);
    assert_eq!(r.between_groups, base.between_groups);
    assert_eq!(r.to_overall, base.to_overall);
}
