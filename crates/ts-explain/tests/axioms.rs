//! Axioms and exact cases: IG completeness on LSTMs, IG / SHAP / LIME / occlusion on a linear model
//! (where the exact attributions are known), SmoothGrad without noise, and clear errors.
//!
//! The linear-model cases run on the plain [`ExplainModel`] trait alone; the LSTM cases need the
//! `lstm` feature (on in `cargo test --workspace`, which builds `tsf`).

use ts_explain::{
    Baseline, BaselineChoice, ExplainData, ExplainError, ExplainModel, ExplainSettings, IgRule,
    IgSettings, Inputs, LimeSettings, Method, Methods, Players, Runner, ShapSettings,
    SmoothGradVariant, explain, integrated_gradients, lime, occlusion, permutation_importance,
    saliency, shap,
};
#[cfg(feature = "lstm")]
use ts_explain::{SmoothGradSettings, smoothgrad};

/// `f(x) = Σ_{t,f} w[t,f] x[t,f] + b`, in plain Rust; its gradient is `w` for every window.
struct Linear {
    w: Vec<f32>,
    b: f32,
    steps: usize,
    features: usize,
}

impl Linear {
    fn new(steps: usize, features: usize) -> Self {
        let w = (0..steps * features)
            .map(|k| ((k * 7 % 11) as f32 - 5.0) / 4.0)
            .collect();
        Self {
            w,
            b: 0.3,
            steps,
            features,
        }
    }
}

impl ExplainModel for Linear {
    fn steps(&self) -> usize {
        self.steps
    }
    fn features(&self) -> usize {
        self.features
    }
    fn outputs(&self) -> usize {
        1
    }
    fn forward(&self, x: &[f32], _n: usize) -> ts_explain::Result<Vec<f32>> {
        Ok(x.chunks(self.w.len())
            .map(|xw| xw.iter().zip(&self.w).map(|(a, b)| a * b).sum::<f32>() + self.b)
            .collect())
    }
    fn gradient(&self, _x: &[f32], n: usize, _output: usize) -> ts_explain::Result<Vec<f32>> {
        Ok(self.w.repeat(n))
    }
}

fn inputs(n: usize, steps: usize, features: usize, seed: u64) -> Inputs {
    let data = (0..n * steps * features)
        .map(|k| {
            let v = ((k as u64 * 2654435761 + seed * 40503) % 1000) as f32 / 1000.0;
            v * 0.9 + 0.05
        })
        .collect();
    Inputs::new("test windows", data, n, steps, features).unwrap()
}

#[cfg(feature = "lstm")]
fn lstm(kind: ts_model::ModelKind, features: usize) -> ts_explain::ForecasterModel {
    let mut cfg = ts_model::ModelConfig::new(features, vec![0]);
    cfg.kind = kind;
    cfg.hidden_size = 16;
    cfg.residual = false;
    cfg.dropout = 0.0;
    let device = burn::tensor::Device::flex();
    let m = cfg.init(3, &device).unwrap();
    ts_explain::ForecasterModel::new(&m, 8, &device)
}

fn close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= tol,
            "{what}[{i}]: {a} vs {b} (tolerance {tol:e})"
        );
    }
}

#[cfg(feature = "lstm")]
#[test]
fn ig_completeness_on_an_lstm() {
    let model = lstm(ts_model::ModelKind::Lstm, 3);
    let r = Runner::new(&model, 0).unwrap();
    let x = inputs(6, 8, 3, 1);
    let base = inputs(1, 8, 3, 9).data;
    for rule in [IgRule::GaussLegendre, IgRule::RiemannMiddle] {
        let res = integrated_gradients(
            &r,
            &x,
            &IgSettings {
                baseline: Baseline::Window(base.clone()),
                steps: 64,
                rule,
            },
        )
        .unwrap();
        for (w, d) in res.delta.iter().enumerate() {
            let span = (res.f_x[w] - res.f_baseline).abs();
            assert!(span > 1e-4, "window {w}: degenerate test case");
            assert!(
                d.abs() < 1e-3 * span,
                "{rule:?} window {w}: gap {d:e} vs |f(x) - f(b)| {span:e}"
            );
        }
    }
}

#[test]
fn ig_on_a_linear_model_is_input_minus_baseline_times_weight() {
    let m = Linear::new(5, 3);
    let r = Runner::new(&m, 0).unwrap();
    let x = inputs(4, 5, 3, 2);
    let base = inputs(1, 5, 3, 5).data;
    let res = integrated_gradients(
        &r,
        &x,
        &IgSettings {
            baseline: Baseline::Window(base.clone()),
            steps: 16,
            rule: IgRule::GaussLegendre,
        },
    )
    .unwrap();
    let want: Vec<f64> = (0..x.n)
        .flat_map(|w| {
            let xw = x.window(w).to_vec();
            let base = base.clone();
            let wt = m.w.clone();
            (0..15).map(move |i| f64::from(wt[i]) * (f64::from(xw[i]) - f64::from(base[i])))
        })
        .collect();
    close("IG", &res.attributions.values, &want, 1e-6);
    close("IG gap", &res.delta, &[0.0; 4], 1e-5);
}

#[test]
fn shap_on_a_linear_model_is_weight_times_deviation_from_background_mean() {
    // Cells as players: 12 players enumerated exactly, and 24 players by KernelSHAP regression
    // (exact for a linear value function).
    for (steps, features, exact) in [(4, 3, true), (6, 4, false)] {
        let m = Linear::new(steps, features);
        let r = Runner::new(&m, 0).unwrap();
        let x = inputs(3, steps, features, 3);
        let bg = inputs(7, steps, features, 4);
        let mean = bg.mean_window("bg").unwrap();
        let res = shap(
            &r,
            &x,
            &bg,
            &ShapSettings {
                players: Players::Cells,
                max_exact_players: 12,
                samples: 400,
                seed: 1,
            },
        )
        .unwrap();
        assert_eq!(res.exact, exact);
        let c = steps * features;
        let want: Vec<f64> = (0..x.n)
            .flat_map(|w| {
                (0..c)
                    .map(|i| f64::from(m.w[i]) * (f64::from(x.window(w)[i]) - f64::from(mean[i])))
                    .collect::<Vec<_>>()
            })
            .collect();
        close(
            &format!("SHAP {steps}x{features}"),
            &res.values.concat(),
            &want,
            2e-5,
        );
        close("efficiency", &res.efficiency_gap, &[0.0; 3], 1e-9);
    }
}

#[cfg(feature = "lstm")]
#[test]
fn smoothgrad_without_noise_is_saliency() {
    let model = lstm(ts_model::ModelKind::Lstm, 3);
    let r = Runner::new(&model, 0).unwrap();
    let x = inputs(5, 8, 3, 6);
    let s = saliency(&r, &x).unwrap();
    let sg = smoothgrad(
        &r,
        &x,
        &SmoothGradSettings {
            noise: 0.0,
            samples: 4,
            variant: SmoothGradVariant::SmoothGrad,
            seed: 1,
        },
    )
    .unwrap();
    let scale = s.values.iter().fold(0.0f64, |a, b| a.max(b.abs()));
    close("smoothgrad", &sg.mean.values, &s.values, 1e-6 * scale);
    let sq: Vec<f64> = s.values.iter().map(|v| v * v).collect();
    close(
        "smoothgrad_sq",
        &sg.mean_sq.values,
        &sq,
        1e-6 * scale * scale,
    );
    close(
        "vargrad",
        &sg.variance.values,
        &vec![0.0; sq.len()],
        1e-6 * scale * scale,
    );
    // With noise the statistics differ from saliency but stay consistent.
    let noisy = smoothgrad(
        &r,
        &x,
        &SmoothGradSettings {
            noise: 0.2,
            samples: 8,
            variant: SmoothGradVariant::VarGrad,
            seed: 1,
        },
    )
    .unwrap();
    assert_eq!(noisy.attributions, noisy.variance);
    assert!(noisy.variance.values.iter().any(|v| *v > 0.0));
    for ((m, q), v) in noisy
        .mean
        .values
        .iter()
        .zip(&noisy.mean_sq.values)
        .zip(&noisy.variance.values)
    {
        assert!((q - m * m - v).abs() <= 1e-9 * q.max(1e-12) + 1e-15);
    }
}

#[test]
fn lime_recovers_a_linear_models_weights() {
    let m = Linear::new(4, 3);
    let r = Runner::new(&m, 0).unwrap();
    let x = inputs(2, 4, 3, 8);
    let res = lime(&r, &x, &LimeSettings::default()).unwrap();
    for w in 0..x.n {
        let got = res.attributions.window(w);
        let want: Vec<f64> = m.w.iter().map(|v| f64::from(*v)).collect();
        close("LIME weights", got, &want, 2e-3);
        assert!(res.r2[w] > 0.999, "R² {}", res.r2[w]);
    }
    // Top feature: the largest Σ_t |w|.
    let mut per_feature: Vec<(usize, f64)> = (0..3)
        .map(|f| (f, (0..4).map(|t| m.w[t * 3 + f].abs() as f64).sum()))
        .collect();
    per_feature.sort_by(|a, b| b.1.total_cmp(&a.1));
    assert_eq!(res.top_features[0][0], per_feature[0].0);
    assert_eq!(res.top_features[0].len(), 3);
}

#[test]
fn occlusion_and_permutation_on_a_linear_model() {
    let mut m = Linear::new(4, 3);
    // Feature 2 is ignored by the model.
    for t in 0..4 {
        m.w[t * 3 + 2] = 0.0;
    }
    let r = Runner::new(&m, 0).unwrap();
    let x = inputs(6, 4, 3, 10);
    let base = vec![0.5f32; 12];
    let res = occlusion(&r, &x, &base).unwrap();
    for w in 0..x.n {
        let xw = x.window(w);
        let want: Vec<f64> = (0..12)
            .map(|i| f64::from(m.w[i]) * (f64::from(xw[i]) - 0.5))
            .collect();
        close("occlusion cells", res.attributions.window(w), &want, 1e-5);
        let step0: f64 = want[..3].iter().sum();
        assert!((res.by_step[w][0] - step0).abs() < 1e-5);
        assert!(res.by_feature[w][2].abs() < 1e-6);
    }
    let perm = permutation_importance(&r, &x, None, 4, 3).unwrap();
    assert_eq!(perm.by_feature.len(), 3);
    assert_eq!(perm.by_step.len(), 4);
    assert!(perm.by_feature[2].abs() < 1e-6, "{:?}", perm.by_feature);
    assert!(perm.by_feature[0] > 1e-3 && perm.by_feature[1] > 1e-3);
}

#[cfg(feature = "lstm")]
#[test]
fn attention_weights_and_report() {
    let model = lstm(ts_model::ModelKind::Attention, 3);
    let x = inputs(4, 8, 3, 11);
    let bg = inputs(5, 8, 3, 12);
    let mean = bg.mean_window("bg").unwrap();
    let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    let data = ExplainData {
        windows: &x,
        background: &bg,
        training_mean: &mean,
        targets: None,
        feature_names: &names,
    };
    let settings = ExplainSettings {
        methods: Method::parse_list("all", true).unwrap(),
        smoothgrad: SmoothGradSettings {
            samples: 4,
            ..SmoothGradSettings::default()
        },
        lime: LimeSettings {
            samples: 100,
            ..LimeSettings::default()
        },
        ..ExplainSettings::default()
    };
    let rep = explain(&model, &data, &settings).unwrap();
    assert_eq!(rep.methods.len(), 8);
    assert!(rep.method(Method::Attention).is_some());
    let (weights, mean) = rep.attention().unwrap();
    assert_eq!((weights.len(), mean.len()), (4, 8));
    for row in weights {
        let s: f64 = row.iter().sum();
        assert!((s - 1.0).abs() < 1e-5);
    }
    let cmp = &rep.method_comparison.spearman;
    assert_eq!(cmp.len(), 7);
    assert!((cmp[0][0].unwrap() - 1.0).abs() < 1e-12);
    // Determinism: the same settings give the same numbers.
    let again = explain(&model, &data, &settings).unwrap();
    for (a, b) in rep.methods.iter().zip(&again.methods) {
        assert_eq!(a.importance, b.importance, "{}", a.method);
    }
    let json = serde_json::to_value(&rep).unwrap();
    assert!(json["methods"][2]["details"]["completeness_gap"].is_array());
    assert_eq!(
        json["methods"][7]["details"]["weights"][0]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    assert_eq!(json["methods"][0]["details"], serde_json::json!({}));
}

#[cfg(feature = "lstm")]
#[test]
fn bad_input_gives_clear_errors() {
    let model = lstm(ts_model::ModelKind::Lstm, 3);
    let r = Runner::new(&model, 0).unwrap();
    // Windows of another shape.
    let wrong = inputs(2, 5, 3, 1);
    let e = saliency(&r, &wrong).unwrap_err();
    assert!(matches!(e, ExplainError::ShapeMismatch { .. }), "{e}");
    assert!(
        e.to_string().contains("[2, 5, 3]") && e.to_string().contains("[*, 8, 3]"),
        "{e}"
    );
    let x = inputs(2, 8, 3, 1);
    // Zero steps.
    let e = integrated_gradients(
        &r,
        &x,
        &IgSettings {
            steps: 0,
            ..IgSettings::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("ig steps = 0"), "{e}");
    // Empty background.
    let empty = Inputs::new("background", vec![], 0, 8, 3).unwrap();
    let e = shap(&r, &x, &empty, &ShapSettings::default()).unwrap_err();
    assert!(e.to_string().contains("background windows is empty"), "{e}");
    // Attention on a plain LSTM.
    let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    let mean = vec![0.0f32; 24];
    let data = ExplainData {
        windows: &x,
        background: &x,
        training_mean: &mean,
        targets: None,
        feature_names: &names,
    };
    let settings = ExplainSettings {
        methods: Method::parse_list("saliency,attention", false).unwrap(),
        baseline: BaselineChoice::Zeros,
        ..ExplainSettings::default()
    };
    let e = explain(&model, &data, &settings).unwrap_err();
    assert!(e.to_string().contains("attention is not supported"), "{e}");
    // `all` skips attention for a plain LSTM; unknown names are refused.
    assert!(
        !Method::parse_list("all", false)
            .unwrap()
            .contains(&Method::Attention)
    );
    assert!(Method::parse_list("saliency,magic", false).is_err());
    // Output out of range, non-finite inputs, bad lengths.
    assert!(Runner::new(&model, 1).is_err());
    let e = Inputs::new("w", vec![0.0, f32::NAN, 0.0], 1, 1, 3).unwrap_err();
    assert!(e.to_string().contains("feature 1"), "{e}");
    assert!(Inputs::new("w", vec![0.0; 5], 1, 2, 3).is_err());
    // SmoothGrad with zero samples, LIME with too few samples.
    assert!(
        smoothgrad(
            &r,
            &x,
            &SmoothGradSettings {
                samples: 0,
                ..SmoothGradSettings::default()
            }
        )
        .is_err()
    );
    assert!(
        lime(
            &r,
            &x,
            &LimeSettings {
                samples: 10,
                ..LimeSettings::default()
            }
        )
        .is_err()
    );
}

#[test]
fn setting_names_round_trip_between_json_and_the_command_line() {
    for v in [
        SmoothGradVariant::SmoothGrad,
        SmoothGradVariant::SmoothGradSq,
        SmoothGradVariant::VarGrad,
    ] {
        let name = serde_json::to_value(v).unwrap();
        assert_eq!(
            name.as_str().unwrap().parse::<SmoothGradVariant>().unwrap(),
            v
        );
    }
    for r in [
        IgRule::GaussLegendre,
        IgRule::RiemannTrapezoid,
        IgRule::RiemannLeft,
        IgRule::RiemannRight,
        IgRule::RiemannMiddle,
    ] {
        let name = serde_json::to_value(r).unwrap();
        assert_eq!(name.as_str().unwrap().parse::<IgRule>().unwrap(), r);
    }
    for p in [Players::Cells, Players::Features, Players::TimeSteps] {
        let name = serde_json::to_value(p).unwrap();
        assert_eq!(name.as_str().unwrap().parse::<Players>().unwrap(), p);
    }
    for m in Method::ALL {
        assert_eq!(serde_json::to_value(m).unwrap(), m.name());
        assert_eq!(Method::parse_list(m.name(), true).unwrap(), vec![m]);
    }
}

/// A model that answers with the wrong number of values, and one without gradients.
struct Broken {
    outputs: usize,
}

impl ExplainModel for Broken {
    fn steps(&self) -> usize {
        2
    }
    fn features(&self) -> usize {
        1
    }
    fn outputs(&self) -> usize {
        1
    }
    fn forward(&self, _x: &[f32], n: usize) -> ts_explain::Result<Vec<f32>> {
        Ok(vec![0.5; n * self.outputs])
    }
}

#[test]
fn a_model_without_gradients_or_with_wrong_output_sizes_is_a_clear_error() {
    let x = inputs(3, 2, 1, 4);
    let m = Broken { outputs: 1 };
    let r = Runner::new(&m, 0).unwrap();
    // Perturbation methods need only the forward pass.
    let occ = occlusion(&r, &x, &[0.0, 0.0]).unwrap();
    assert!(occ.attributions.values.iter().all(|v| *v == 0.0));
    let e = saliency(&r, &x).unwrap_err();
    assert!(matches!(e, ExplainError::Unsupported { .. }), "{e}");
    assert!(e.to_string().contains("no gradients"), "{e}");
    let e = ts_explain::attention::attention(&r, &x).unwrap_err();
    assert!(e.to_string().contains("attention is not supported"), "{e}");
    let wrong = Broken { outputs: 2 };
    let r = Runner::new(&wrong, 0).unwrap();
    let e = r.predict_inputs(&x).unwrap_err();
    assert!(
        matches!(
            e,
            ExplainError::BadOutput {
                got: 6,
                want: 3,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_report_on_a_linear_model_without_burn() {
    let m = Linear::new(4, 2);
    let x = inputs(3, 4, 2, 13);
    let bg = inputs(4, 4, 2, 14);
    let mean = bg.mean_window("bg").unwrap();
    let names: Vec<String> = vec!["u".into(), "v".into()];
    let data = ExplainData {
        windows: &x,
        background: &bg,
        training_mean: &mean,
        targets: None,
        feature_names: &names,
    };
    let settings = ExplainSettings {
        methods: Methods::all().resolve(false).unwrap(),
        baseline: BaselineChoice::Zeros,
        lime: LimeSettings {
            samples: 200,
            ..LimeSettings::default()
        },
        ..ExplainSettings::default()
    };
    let rep = explain(&m, &data, &settings).unwrap();
    assert_eq!(rep.methods.len(), 7);
    assert!(rep.attention().is_none());
    // Integrated gradients of a linear model from zeros: w·x, with no completeness gap.
    let ig = rep.method(Method::IntegratedGradients).unwrap();
    let want: f64 = (0..8)
        .map(|i| f64::from(m.w[i]) * f64::from(x.window(0)[i]))
        .sum();
    let got: f64 = ig.attributions.as_ref().unwrap()[0].iter().flatten().sum();
    assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    let json = serde_json::to_value(&rep).unwrap();
    let gaps = json["methods"][2]["details"]["completeness_gap"]
        .as_array()
        .unwrap();
    assert!(gaps.iter().all(|g| g.as_f64().unwrap().abs() < 1e-5));
    assert_eq!(json["settings"]["baseline"], "zeros");
    assert_eq!(json["method_comparison"]["methods"][0], "saliency");
    let text = rep.summary(&["2001-01".into(), "2001-03".into()]);
    for needle in [
        "Feature importance (saliency",
        "Temporal importance (saliency",
        "Method comparison",
        "Explained windows ending 2001-01 … 2001-03",
    ] {
        assert!(text.contains(needle), "{needle:?} in {text}");
    }
    // A model without attention refuses the attention method before anything runs.
    let only = ExplainSettings {
        methods: "ig,attention"
            .parse::<Methods>()
            .unwrap()
            .resolve(false)
            .unwrap(),
        ..settings
    };
    let e = explain(&m, &data, &only).unwrap_err();
    assert!(e.to_string().contains("attention is not supported"), "{e}");
}

#[test]
fn method_lists_expand_all_and_refuse_unknown_names() {
    let all: Methods = "all".parse().unwrap();
    assert_eq!(all.resolve(false).unwrap(), Method::ALL[..7].to_vec());
    assert_eq!(all.resolve(true).unwrap(), Method::ALL.to_vec());
    let some: Methods = " ig , saliency,IG,all".parse().unwrap();
    let got = some.resolve(false).unwrap();
    assert_eq!(&got[..2], &[Method::IntegratedGradients, Method::Saliency]);
    assert_eq!(got.len(), 7);
    assert_eq!(
        some.to_string(),
        "integrated_gradients,saliency,integrated_gradients,all"
    );
    let e = "saliency,magic".parse::<Methods>().unwrap_err();
    assert!(e.to_string().contains("magic"), "{e}");
    assert!(" , ".parse::<Methods>().is_err());
}
