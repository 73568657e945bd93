//! Checks against Captum 0.9 and SHAP 0.51 on the tiny PyTorch LSTM in the repository's
//! `tests/golden` (see its README; `scripts/golden/make_golden.py` regenerates it). tsf computes
//! in float32, so the float32 tolerances of the README apply: forward and v(S) 1e-6, saliency /
//! input × gradient / IG / Shapley values 1e-7, IG delta 1e-6, all absolute, against the float64
//! golden values.

use std::path::PathBuf;

use burn::tensor::Device;
use serde_json::Value;
use ts_explain::gradient::ig_alphas;
use ts_explain::{
    Baseline, ForecasterModel, IgRule, IgSettings, Inputs, Players, Runner, ShapSettings,
    coalition_values, input_x_gradient, integrated_gradients, saliency, shap,
};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden")
}

struct Case {
    g: Value,
    model: ForecasterModel,
    x: Inputs,
    bg: Inputs,
}

fn case() -> Case {
    let dir = golden_dir();
    let p = dir.join("explain_golden.json");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let g: Value = serde_json::from_str(&text).unwrap();
    let device = Device::flex();
    let f = ts_model::load_pytorch_lstm(&dir.join("lstm_tiny.safetensors"), &device).unwrap();
    let model = ForecasterModel::new(&f, 12, &device);
    let x = Inputs::new("inputs", flat(&g["inputs"]["data"]), 5, 12, 3).unwrap();
    let bg = Inputs::new("background", flat(&g["background"]["data"]), 20, 12, 3).unwrap();
    Case { g, model, x, bg }
}

fn flat(v: &Value) -> Vec<f32> {
    flat64(v).into_iter().map(|v| v as f32).collect()
}

fn flat64(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().flat_map(flat64).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        other => panic!("not a number: {other}"),
    }
}

/// Largest absolute difference; panics with the worst entry above `tol`.
fn check(what: &str, got: &[f64], want: &[f64], tol: f64) -> f64 {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let (mut worst, mut at) = (0.0f64, 0);
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        let d = (a - b).abs();
        if d > worst {
            worst = d;
            at = i;
        }
    }
    eprintln!("{what}: max |tsf - golden| = {worst:.3e} (tolerance {tol:.0e})");
    assert!(
        worst <= tol,
        "{what}: entry {at}: {} vs golden {} (|diff| {worst:.3e} > {tol:.0e})",
        got[at],
        want[at]
    );
    worst
}

/// The float64 table `key` of a safetensors file.
fn safetensors_f64(path: &std::path::Path, key: &str) -> Vec<f64> {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let e = &header[key];
    assert_eq!(e["dtype"], "F64");
    let off = e["data_offsets"].as_array().unwrap();
    let (a, b) = (
        off[0].as_u64().unwrap() as usize,
        off[1].as_u64().unwrap() as usize,
    );
    bytes[8 + n + a..8 + n + b]
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn forward_matches_pytorch() {
    let c = case();
    let r = Runner::new(&c.model, 0).unwrap();
    let fx = r.predict_inputs(&c.x).unwrap();
    check("forward", &fx, &flat64(&c.g["forward"]["f64"]), 1e-6);
    let fb = r.predict_inputs(&c.bg).unwrap();
    check(
        "forward background",
        &fb,
        &flat64(&c.g["forward"]["background_f64"]),
        1e-6,
    );
    let f0 = r.predict(&[0.0; 36], 1).unwrap();
    check(
        "forward zeros",
        &f0,
        &[c.g["forward"]["zero_input_f64"].as_f64().unwrap()],
        1e-6,
    );
}

#[test]
fn saliency_and_input_x_gradient_match_captum() {
    let c = case();
    let r = Runner::new(&c.model, 0).unwrap();
    let s = saliency(&r, &c.x).unwrap();
    check(
        "saliency",
        &s.values,
        &flat64(&c.g["saliency"]["values"]),
        1e-7,
    );
    let ixg = input_x_gradient(&r, &c.x).unwrap();
    check(
        "input x gradient",
        &ixg.values,
        &flat64(&c.g["input_x_gradient"]["values"]),
        1e-7,
    );
}

#[test]
fn integrated_gradients_match_captum_both_rules() {
    let c = case();
    let r = Runner::new(&c.model, 0).unwrap();
    for (rule, key) in [
        (IgRule::RiemannTrapezoid, "riemann_trapezoid"),
        (IgRule::GaussLegendre, "gausslegendre"),
    ] {
        let g = &c.g["integrated_gradients"][key];
        let (alphas, weights) = ig_alphas(rule, 64).unwrap();
        check(
            &format!("{key} alphas"),
            &alphas,
            &flat64(&g["alphas"]),
            1e-15,
        );
        // Newton on the Legendre recurrence: nodes to 1 ulp, weights (about 0.02) to 2e-15.
        check(
            &format!("{key} weights"),
            &weights,
            &flat64(&g["weights"]),
            2e-15,
        );
        let res = integrated_gradients(
            &r,
            &c.x,
            &IgSettings {
                baseline: Baseline::Zeros,
                steps: 64,
                rule,
            },
        )
        .unwrap();
        check(
            &format!("IG {key} values"),
            &res.attributions.values,
            &flat64(&g["values"]),
            1e-7,
        );
        check(
            &format!("IG {key} delta"),
            &res.delta,
            &flat64(&g["delta"]),
            1e-6,
        );
    }
}

#[test]
fn shapley_features_match_exact_enumeration_and_kernel_shap() {
    let c = case();
    let r = Runner::new(&c.model, 0).unwrap();
    let g = &c.g["shapley_features"];
    let v = coalition_values(
        &r,
        &c.x,
        &c.bg,
        Players::Features,
        &ts_explain::shap::all_coalitions(3),
    )
    .unwrap();
    check("v(S) features", &v.concat(), &flat64(&g["v"]), 1e-6);
    let res = shap(&r, &c.x, &c.bg, &ShapSettings::default()).unwrap();
    assert!(res.exact && res.n_players == 3);
    check(
        "Shapley features",
        &res.values.concat(),
        &flat64(&g["values"]),
        1e-7,
    );
    check(
        "KernelSHAP features",
        &res.values.concat(),
        &flat64(&g["kernel_shap"]),
        1e-7,
    );
    check(
        "base value",
        &[res.base_value],
        &[g["base_value"].as_f64().unwrap()],
        1e-6,
    );
    check("efficiency gap", &res.efficiency_gap, &[0.0; 5], 1e-12);
}

#[test]
fn shapley_timesteps_match_exact_enumeration() {
    let c = case();
    let r = Runner::new(&c.model, 0).unwrap();
    let g = &c.g["shapley_timesteps"];
    let res = shap(
        &r,
        &c.x,
        &c.bg,
        &ShapSettings {
            players: Players::TimeSteps,
            max_exact_players: 12,
            ..ShapSettings::default()
        },
    )
    .unwrap();
    assert!(res.exact && res.coalitions == 4096);
    check(
        "Shapley time steps",
        &res.values.concat(),
        &flat64(&g["values"]),
        1e-7,
    );
    check(
        "KernelSHAP time steps",
        &res.values.concat(),
        &flat64(&g["kernel_shap"]),
        1e-7,
    );
    check("efficiency gap", &res.efficiency_gap, &[0.0; 5], 1e-12);
    // The value function itself, coalition by coalition.
    let v = coalition_values(
        &r,
        &c.x,
        &c.bg,
        Players::TimeSteps,
        &ts_explain::shap::all_coalitions(12),
    )
    .unwrap();
    let want = safetensors_f64(
        &golden_dir().join("explain_golden_v.safetensors"),
        "v_timesteps",
    );
    check("v(S) time steps", &v.concat(), &want, 1e-6);

    // Sampled KernelSHAP (forced by max_exact_players) converges to the exact values.
    let sampled = shap(
        &r,
        &c.x,
        &c.bg,
        &ShapSettings {
            players: Players::TimeSteps,
            max_exact_players: 0,
            samples: 3000,
            seed: 7,
        },
    )
    .unwrap();
    assert!(!sampled.exact);
    check(
        "sampled efficiency gap",
        &sampled.efficiency_gap,
        &[0.0; 5],
        1e-12,
    );
    let scale = flat64(&g["values"])
        .iter()
        .fold(0.0f64, |a, b| a.max(b.abs()));
    check(
        "sampled KernelSHAP time steps",
        &sampled.values.concat(),
        &flat64(&g["values"]),
        0.01 * scale,
    );
}

#[test]
fn pytorch_loader_names_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let device = Device::flex();
    // Missing file.
    let e = ts_model::load_pytorch_lstm(&dir.path().join("nope.safetensors"), &device).unwrap_err();
    assert!(matches!(e, ts_model::ModelError::NotFound { .. }), "{e}");
    // A valid safetensors file without the LSTM's tensors.
    let header = br#"{"foo":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&1.0f32.to_le_bytes());
    let path = dir.path().join("other.safetensors");
    std::fs::write(&path, &bytes).unwrap();
    let e = ts_model::load_pytorch_lstm(&path, &device).unwrap_err();
    assert!(e.to_string().contains("lstm.weight_ih_l0"), "{e}");
    // A header length past the end of the file.
    std::fs::write(&path, [255u8; 12]).unwrap();
    let e = ts_model::load_pytorch_lstm(&path, &device).unwrap_err();
    assert!(e.to_string().contains("exceeds the file size"), "{e}");
    // The golden file with a tensor under another name: named in the error.
    let golden = std::fs::read(golden_dir().join("lstm_tiny.safetensors")).unwrap();
    let n = u64::from_le_bytes(golden[..8].try_into().unwrap()) as usize;
    let mut h: serde_json::Map<String, Value> = serde_json::from_slice(&golden[8..8 + n]).unwrap();
    // Rename one tensor (offsets stay valid): the model misses it and the file has an extra one.
    let bias = h.remove("fc.bias").unwrap();
    h.insert("fc.bias_extra".into(), bias);
    let text = serde_json::to_vec(&h).unwrap();
    let mut bytes = (text.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&text);
    bytes.extend_from_slice(&golden[8 + n..]);
    std::fs::write(&path, &bytes).unwrap();
    let e = ts_model::load_pytorch_lstm(&path, &device).unwrap_err();
    assert!(e.to_string().contains("fc.bias_extra"), "{e}");
}
