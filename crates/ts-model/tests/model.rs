//! Tests of the fused LSTM, the forecaster and the model file.

use burn::tensor::{Device, Tensor, TensorData};
use ts_data::{Scaler, ScalerKind, WindowSpec};
use ts_model::file::{self, ModelHeader};
use ts_model::{DropoutRng, ModelConfig, ModelError, ModelKind, reference_lstm_layer};

fn dev() -> Device {
    Device::flex()
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

#[test]
fn parameter_count_matches_pytorch() {
    // nn.LSTM(3, 64, num_layers=2) + nn.Linear(64, 1) has 51,009 parameters in PyTorch.
    let mut cfg = ModelConfig::new(3, vec![0]);
    cfg.residual = false;
    let m = cfg.init(1, &dev()).unwrap();
    assert_eq!(m.parameter_count(), 51_009);
    assert_eq!(cfg.parameter_count(), Some(51_009));
    cfg.residual = true;
    assert_eq!(cfg.init(1, &dev()).unwrap().parameter_count(), 51_009);
}

#[test]
fn fused_layer_matches_hand_computed_forward() {
    // A tiny case: H = 1, I = 1, two steps, worked out by hand.
    // weights: w_ih = [0.5, -0.5, 1.0, 0.25]^T, w_hh = [0.1, 0.2, -0.3, 0.4]^T, biases 0.
    let device = dev();
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    let mut layer = ts_model::FusedLstm::new(1, 1, &mut rng, &device);
    let p2 = |v: Vec<f32>| {
        burn::module::Param::from_tensor(Tensor::<2>::from_data(
            TensorData::new(v, [4, 1]),
            &device,
        ))
    };
    let p1 = |v: Vec<f32>| {
        burn::module::Param::from_tensor(Tensor::<1>::from_data(TensorData::new(v, [4]), &device))
    };
    layer.weight_ih = p2(vec![0.5, -0.5, 1.0, 0.25]);
    layer.weight_hh = p2(vec![0.1, 0.2, -0.3, 0.4]);
    layer.bias_ih = p1(vec![0.0; 4]);
    layer.bias_hh = p1(vec![0.0; 4]);
    let x = Tensor::<3>::from_data(TensorData::new(vec![1.0f32, 2.0], [1, 2, 1]), &device);
    let out = to_vec(layer.forward(x));
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    // step 1: x = 1, h = c = 0
    let (i1, f1, g1, o1) = (sig(0.5), sig(-0.5), 1.0f64.tanh(), sig(0.25));
    let _ = f1;
    let c1 = i1 * g1;
    let h1 = o1 * c1.tanh();
    // step 2: x = 2
    let z = |wi: f64, wh: f64| wi * 2.0 + wh * h1;
    let (i2, f2, g2, o2) = (
        sig(z(0.5, 0.1)),
        sig(z(-0.5, 0.2)),
        z(1.0, -0.3).tanh(),
        sig(z(0.25, 0.4)),
    );
    let c2 = f2 * c1 + i2 * g2;
    let h2 = o2 * c2.tanh();
    assert!((out[0] as f64 - h1).abs() < 1e-6, "{} vs {h1}", out[0]);
    assert!((out[1] as f64 - h2).abs() < 1e-6, "{} vs {h2}", out[1]);
}

#[test]
fn fused_layer_matches_reference_on_random_shapes() {
    let device = dev();
    for (b, t, i, h, seed) in [
        (1, 1, 1, 1, 1u64),
        (3, 5, 2, 4, 2),
        (4, 12, 3, 8, 3),
        (2, 7, 5, 16, 4),
    ] {
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
        let layer = ts_model::FusedLstm::new(i, h, &mut rng, &device);
        let xs: Vec<f32> = (0..b * t * i)
            .map(|k| ((k * 37 % 17) as f32 / 17.0) - 0.4)
            .collect();
        let out = to_vec(layer.forward(Tensor::<3>::from_data(
            TensorData::new(xs.clone(), [b, t, i]),
            &device,
        )));
        let f64v = |p: &burn::module::Param<Tensor<2>>| {
            to_vec(p.val())
                .into_iter()
                .map(f64::from)
                .collect::<Vec<_>>()
        };
        let f64b = |p: &burn::module::Param<Tensor<1>>| {
            to_vec(p.val())
                .into_iter()
                .map(f64::from)
                .collect::<Vec<_>>()
        };
        let (wih, whh, bih, bhh) = (
            f64v(&layer.weight_ih),
            f64v(&layer.weight_hh),
            f64b(&layer.bias_ih),
            f64b(&layer.bias_hh),
        );
        for bb in 0..b {
            let seq: Vec<Vec<f64>> = (0..t)
                .map(|tt| (0..i).map(|ii| xs[(bb * t + tt) * i + ii] as f64).collect())
                .collect();
            let r = reference_lstm_layer(&seq, &wih, &whh, &bih, &bhh, h);
            for tt in 0..t {
                for hh in 0..h {
                    let got = out[(bb * t + tt) * h + hh] as f64;
                    assert!(
                        (got - r[tt][hh]).abs() < 1e-5,
                        "b{bb} t{tt} h{hh}: {got} vs {}",
                        r[tt][hh]
                    );
                }
            }
        }
    }
}

#[test]
fn matches_pytorch_golden_forward() {
    // tests/golden: nn.LSTM(3, 8, 2 layers) + Linear(8, 1), weights saved by PyTorch.
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden");
    let p = golden.join("explain_golden.json");
    let json = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let g: serde_json::Value = serde_json::from_str(&json).unwrap();
    let model = ts_model::load_pytorch_lstm(&golden.join("lstm_tiny.safetensors"), &dev()).unwrap();
    assert!(!model.config.residual && model.config.dropout == 0.0);
    assert_eq!(
        (
            model.config.input_size,
            model.config.hidden_size,
            model.config.num_layers
        ),
        (3, 8, 2)
    );
    let data: Vec<f32> = g["inputs"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| {
            w.as_array().unwrap().iter().flat_map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as f32)
            })
        })
        .collect();
    let x = Tensor::<3>::from_data(TensorData::new(data, [5, 12, 3]), &dev());
    let out = to_vec(model.forward(x));
    let expect: Vec<f64> = g["forward"]["f64"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    for (o, e) in out.iter().zip(&expect) {
        assert!((*o as f64 - e).abs() < 1e-6, "{o} vs {e}");
    }
}

#[test]
fn residual_model_starts_as_last_value_forecast() {
    let mut cfg = ModelConfig::new(2, vec![1]);
    cfg.horizon = 3;
    let m = cfg.init(7, &dev()).unwrap();
    let xs: Vec<f32> = (0..2 * 4 * 2).map(|k| k as f32 * 0.1).collect();
    let x = Tensor::<3>::from_data(TensorData::new(xs.clone(), [2, 4, 2]), &dev());
    let out = to_vec(m.forward(x));
    // last step of window 0 is row 3: features (0.6, 0.7); window 1: (1.4, 1.5)
    for k in 0..3 {
        assert!((out[k] - 0.7).abs() < 1e-6);
        assert!((out[3 + k] - 1.5).abs() < 1e-6);
    }
}

#[test]
fn attention_and_ensemble_shapes() {
    let mut cfg = ModelConfig::new(3, vec![0, 2]);
    cfg.kind = ModelKind::Attention;
    cfg.horizon = 2;
    cfg.ensemble = 3;
    cfg.hidden_size = 8;
    let m = cfg.init(3, &dev()).unwrap();
    let x = Tensor::<3>::from_data(TensorData::new(vec![0.5f32; 4 * 6 * 3], [4, 6, 3]), &dev());
    let mut d = DropoutRng::new(0.2, 1);
    let out = m.forward_full(x, Some(&mut d));
    assert_eq!(out.prediction.dims(), [4, 4]);
    assert_eq!(out.members.len(), 3);
    assert_eq!(out.attention.len(), 3);
    let w = to_vec(out.attention[0].clone());
    for b in 0..4 {
        let s: f32 = w[b * 6..(b + 1) * 6].iter().sum();
        assert!((s - 1.0).abs() < 1e-5);
    }
}

#[test]
fn invalid_config_is_an_error() {
    let mut cfg = ModelConfig::new(3, vec![0]);
    cfg.dropout = 1.0;
    assert!(matches!(
        cfg.init(0, &dev()),
        Err(ModelError::InvalidConfig { .. })
    ));
    cfg.dropout = 0.1;
    cfg.hidden_size = 0;
    assert!(cfg.init(0, &dev()).is_err());
}

fn header(cfg: &ModelConfig) -> ModelHeader {
    let feats = vec!["a".to_string(), "b".into(), "c".into()];
    let spec = WindowSpec::new(4, cfg.horizon, feats.clone(), vec!["a".into()]).unwrap();
    let scaler = Scaler::fit(
        ScalerKind::MinMax,
        &feats,
        &[vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 6.0]],
        0..2,
    )
    .unwrap();
    ModelHeader {
        writer: "tsf test".into(),
        format_version: file::FORMAT_VERSION,
        model: cfg.clone(),
        spec,
        scaler,
        train_config: serde_json::json!({}),
        extra: serde_json::Value::Null,
    }
}

#[test]
fn model_file_round_trip_and_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.tsf");
    let mut cfg = ModelConfig::new(3, vec![0]);
    cfg.hidden_size = 8;
    cfg.residual = false;
    let m = cfg.init(11, &dev()).unwrap();
    let h = header(&cfg);
    file::save(&path, &m, &h).unwrap();
    let loaded = file::load(&path, &dev()).unwrap();
    assert_eq!(loaded.header, h);
    let x = Tensor::<3>::from_data(TensorData::new(vec![0.3f32; 2 * 4 * 3], [2, 4, 3]), &dev());
    assert_eq!(
        to_vec(m.forward(x.clone())),
        to_vec(loaded.model.forward(x))
    );

    let bytes = std::fs::read(&path).unwrap();
    // every flipped byte is caught
    for pos in (0..bytes.len())
        .step_by(97)
        .chain([0, 9, 13, 21, 30, bytes.len() - 1])
    {
        let mut b = bytes.clone();
        b[pos] ^= 0x40;
        assert!(
            file::parse(&path, &b).is_err(),
            "flip at {pos} not detected"
        );
    }
    // truncated
    assert!(matches!(
        file::parse(&path, &bytes[..bytes.len() - 10]),
        Err(ModelError::Truncated { .. })
    ));
    assert!(matches!(
        file::parse(&path, &bytes[..5]),
        Err(ModelError::Truncated { .. })
    ));
    // version
    let mut b = bytes.clone();
    b[8] = 9;
    match file::parse(&path, &b) {
        Err(ModelError::Version {
            found, supported, ..
        }) => assert_eq!((found, supported), (9, 2)),
        other => panic!("{other:?}"),
    }
    // huge claimed sizes are refused without allocating
    let mut b = bytes.clone();
    b[20..28].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        file::parse(&path, &b),
        Err(ModelError::Truncated { .. })
    ));
    // missing
    assert!(matches!(
        file::load(&dir.path().join("nope.tsf"), &dev()),
        Err(ModelError::NotFound { .. })
    ));
}

#[test]
fn weights_that_do_not_match_the_header_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.tsf");
    let mut cfg = ModelConfig::new(3, vec![0]);
    cfg.hidden_size = 8;
    let m = cfg.init(1, &dev()).unwrap();
    // A consistent checksum over a header that claims another architecture.
    let mut other = cfg.clone();
    other.hidden_size = 16;
    let bytes = file::to_bytes(&m, &header(&other)).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    match file::load(&path, &dev()) {
        Err(ModelError::Weights { .. } | ModelError::Header { .. }) => {}
        other => panic!("expected a weights error, got {other:?}"),
    }
    // An architecture far larger than the stored weights is refused before allocation.
    let mut huge = cfg.clone();
    huge.hidden_size = 1 << 40;
    let bytes = file::to_bytes(&m, &header(&huge)).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        file::load(&path, &dev()),
        Err(ModelError::Header { .. })
    ));
    let mut fewer = cfg.clone();
    fewer.num_layers = 1;
    let bytes = file::to_bytes(&m, &header(&fewer)).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        file::load(&path, &dev()),
        Err(ModelError::Weights { .. })
    ));
}

/// A header whose parts disagree, with a valid checksum (a hand-edited or foreign file), is a
/// header error naming what disagrees, not a panic when the model is used.
#[test]
fn a_header_whose_parts_disagree_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.tsf");
    let mut cfg = ModelConfig::new(3, vec![0]);
    cfg.hidden_size = 8;
    let m = cfg.init(1, &dev()).unwrap();
    let refused = |h: &ModelHeader| {
        std::fs::write(&path, file::to_bytes(&m, h).unwrap()).unwrap();
        match file::load(&path, &dev()) {
            Err(ModelError::Header { message, .. }) => message,
            other => panic!("expected a header error, got {other:?}"),
        }
    };
    let mut h = header(&cfg);
    h.scaler.center.truncate(2);
    assert!(refused(&h).contains("2 centers"));
    let mut h = header(&cfg);
    h.scaler.scale[1] = 0.0;
    assert!(refused(&h).contains("\"b\""));
    let mut h = header(&cfg);
    h.spec.target_index = vec![2];
    assert!(refused(&h).contains("targets"));
    let mut h = header(&cfg);
    h.model.horizon += 1;
    let msg = refused(&h);
    assert!(msg.contains("horizon") || msg.contains("bytes"), "{msg}");
    // The consistent header loads.
    std::fs::write(&path, file::to_bytes(&m, &header(&cfg)).unwrap()).unwrap();
    file::load(&path, &dev()).unwrap();
}

#[test]
fn seasonal_mean_weights_average_the_seasons_the_window_holds() {
    use ts_model::forecaster::{seasonal_mean_weights, seasonal_naive_weights};
    // Monthly, 36 steps back: output 0 (one step ahead) reads 11, 23 and 35 rows before the
    // last one; output 11 (twelve ahead) reads 0, 12 and 24.
    let w = seasonal_mean_weights(12, 36, 12, 3).unwrap();
    for (s, backs) in [(0usize, [11usize, 23, 35]), (11, [0, 12, 24])] {
        let row = &w[s * 36..(s + 1) * 36];
        for (j, v) in row.iter().enumerate() {
            let expected = if backs.contains(&(35 - j)) {
                1.0 / 3.0
            } else {
                0.0
            };
            assert!((v - expected).abs() < 1e-7, "output {s}, input {j}: {v}");
        }
    }
    assert_eq!(
        seasonal_mean_weights(12, 36, 12, 1).unwrap(),
        seasonal_naive_weights(12, 36, 12)
    );
    // The third season of output 0 is 35 rows back: not in a 30-step window.
    assert!(seasonal_mean_weights(1, 30, 12, 3).is_none());
    assert!(seasonal_mean_weights(1, 30, 1, 1).is_none());
}

#[test]
fn seasonal_share_weights_normalise_the_shares_over_the_seasons() {
    use ts_model::forecaster::{seasonal_mean_weights, seasonal_share_weights};
    // Shares 1 : 0.5 : 0.25 over three years: 4/7, 2/7, 1/7 at 11, 23 and 35 rows back for
    // one month ahead.
    let w = seasonal_share_weights(1, 36, 12, &[1.0, 0.5, 0.25]).unwrap();
    for (back, expected) in [(11usize, 4.0 / 7.0), (23, 2.0 / 7.0), (35, 1.0 / 7.0)] {
        assert!(
            (w[35 - back] - expected).abs() < 1e-6,
            "{back}: {}",
            w[35 - back]
        );
    }
    assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    assert_eq!(
        seasonal_share_weights(12, 36, 12, &[1.0, 1.0, 1.0]),
        seasonal_mean_weights(12, 36, 12, 3)
    );
    assert!(seasonal_share_weights(1, 36, 12, &[0.0, 0.0]).is_none());
    assert!(seasonal_share_weights(1, 36, 12, &[]).is_none());
    assert!(seasonal_share_weights(1, 30, 12, &[1.0, 0.5, 0.25]).is_none());
}

/// The LSTM layers of a network with `lstm_window = w` read only the last `w` rows of a window:
/// its forecast is the same weights' forecast of those rows alone, and earlier rows do not move
/// it (without a linear branch, which reads the whole window); a `w` longer than the window is
/// refused, and a model file leaves out `lstm_window = 0` (files from before read as 0).
#[test]
fn the_lstm_reads_only_the_last_lstm_window_rows() {
    let mut cfg = ModelConfig::new(2, vec![0]);
    (cfg.residual, cfg.hidden_size, cfg.lookback, cfg.lstm_window) = (false, 8, 10, 4);
    let tail = cfg.init(5, &dev()).unwrap();
    let mut whole_cfg = cfg.clone();
    whole_cfg.lstm_window = 0;
    let whole = whole_cfg.init(5, &dev()).unwrap();
    let xs: Vec<f32> = (0..3 * 10 * 2)
        .map(|k| ((k * 37) % 23) as f32 / 23.0)
        .collect();
    let x = Tensor::<3>::from_data(TensorData::new(xs.clone(), [3, 10, 2]), &dev());
    let a = to_vec(tail.forward(x.clone()));
    let b = to_vec(whole.forward(x.clone().narrow(1, 6, 4)));
    assert_eq!(a.len(), 3);
    for (p, q) in a.iter().zip(&b) {
        assert!((p - q).abs() < 1e-6, "{a:?} vs {b:?}");
    }
    let all = to_vec(whole.forward(x));
    assert!(
        a.iter().zip(&all).any(|(p, q)| (p - q).abs() > 1e-4),
        "{a:?} {all:?}"
    );
    // Rows before the last four do not matter.
    let mut early = xs;
    for w in 0..3 {
        for r in 0..6 {
            early[(w * 10 + r) * 2] += 5.0;
        }
    }
    let x = Tensor::<3>::from_data(TensorData::new(early, [3, 10, 2]), &dev());
    assert_eq!(to_vec(tail.forward(x)), a);
    // The attention variant weighs only the rows it reads; its weights still cover the window.
    let mut att = cfg.clone();
    att.kind = ModelKind::Attention;
    let out = att.init(5, &dev()).unwrap().forward_full(
        Tensor::<3>::from_data(
            TensorData::new(vec![0.5f32; 3 * 10 * 2], [3, 10, 2]),
            &dev(),
        ),
        None,
    );
    let w = to_vec(out.attention[0].clone());
    assert_eq!(w.len(), 3 * 10);
    for b in 0..3 {
        assert!(w[b * 10..b * 10 + 6].iter().all(|&v| v == 0.0), "{w:?}");
        let s: f32 = w[b * 10..(b + 1) * 10].iter().sum();
        assert!((s - 1.0).abs() < 1e-5, "{w:?}");
    }
    let mut long = cfg.clone();
    long.lstm_window = 11;
    let e = long.init(5, &dev()).unwrap_err().to_string();
    assert!(e.contains("lstm_window") && e.contains("10 rows"), "{e}");
    let text = serde_json::to_string(&whole_cfg).unwrap();
    assert!(!text.contains("lstm_window"), "{text}");
    let back: ModelConfig = serde_json::from_str(&text).unwrap();
    assert_eq!(back, whole_cfg);
    let text = serde_json::to_string(&cfg).unwrap();
    assert_eq!(serde_json::from_str::<ModelConfig>(&text).unwrap(), cfg);
}

/// A network whose LSTM reads part of the window is written as format version 2, which a build
/// from before refuses (it reads version 1 only) instead of running its LSTM over the whole
/// window; every other network is still version 1. A header that claims version 1 for such a
/// network is refused when writing.
#[test]
fn an_lstm_window_needs_format_version_2() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ModelConfig::new(3, vec![0]);
    (cfg.hidden_size, cfg.lookback) = (8, 4);
    assert_eq!(file::version_for(&cfg), 1);
    cfg.lstm_window = 2;
    assert_eq!(file::version_for(&cfg), 2);
    let m = cfg.init(3, &dev()).unwrap();
    let mut h = header(&cfg);
    h.format_version = 1;
    let e = file::to_bytes(&m, &h).unwrap_err().to_string();
    assert!(e.contains("format version 1") && e.contains("use 2"), "{e}");
    h.format_version = file::version_for(&cfg);
    let bytes = file::to_bytes(&m, &h).unwrap();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 2);
    let path = dir.path().join("m.tsf");
    std::fs::write(&path, &bytes).unwrap();
    let (back, _) = file::parse(&path, &bytes).unwrap();
    assert_eq!(back.model.lstm_window, 2);
    let plain = ModelConfig {
        lstm_window: 0,
        ..cfg.clone()
    };
    let mut h = header(&plain);
    h.format_version = file::version_for(&plain);
    let bytes = file::to_bytes(&plain.init(3, &dev()).unwrap(), &h).unwrap();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 1);
}
