//! Per-window training weights (ts-train's `TrainConfig::sample_weights`): all-equal weights train
//! exactly like no weights; unequal weights change the fit; bad weights are refused.

use std::sync::Arc;

use ts_data::{Frame, ScalerKind, SplitConfig, WindowSpec, prepare};
use ts_model::{ModelConfig, make_device};
use ts_train::{Silent, TrainConfig, TrainError, fit, predict_scaled};

fn data() -> ts_data::Prepared {
    let n = 150;
    let a: Vec<f64> = (0..n)
        .map(|i| (i as f64 / 7.0).sin() + i as f64 * 0.01)
        .collect();
    let b: Vec<f64> = (0..n).map(|i| (i as f64 / 5.0).cos()).collect();
    let f = Frame::from_columns("mem", vec!["a".into(), "b".into()], vec![a, b], None).unwrap();
    let spec = WindowSpec::new(6, 1, f.columns.clone(), vec!["a".into()]).unwrap();
    prepare(&f, &spec, &SplitConfig::default(), ScalerKind::MinMax).unwrap()
}

fn train(p: &ts_data::Prepared, weights: Option<Vec<f32>>) -> ts_train::Result<Vec<f32>> {
    let device = make_device(ts_model::DeviceChoice::Cpu).unwrap();
    let mut mc = ModelConfig::new(p.spec.features.len(), p.spec.target_index.clone());
    mc.hidden_size = 8;
    mc.num_layers = 1;
    let cfg = TrainConfig {
        epochs: 3,
        sample_weights: weights.map(Arc::new),
        ..TrainConfig::default()
    };
    let model = mc.init(cfg.seed, &device.clone().autodiff()).unwrap();
    let (m, _) = fit(model, &p.train, &p.validation, &cfg, &device, &mut Silent)?;
    predict_scaled(&m, &p.test, &device, 64)
}

#[test]
fn equal_weights_train_exactly_like_none() {
    let p = data();
    let plain = train(&p, None).unwrap();
    let ones = train(&p, Some(vec![1.0; p.train.n])).unwrap();
    let threes = train(&p, Some(vec![3.0; p.train.n])).unwrap();
    assert_eq!(plain, ones);
    // Weights are normalised to mean 1.
    assert_eq!(plain, threes);
}

#[test]
fn unequal_weights_change_the_fit() {
    let p = data();
    let plain = train(&p, None).unwrap();
    let w: Vec<f32> = (0..p.train.n)
        .map(|i| if i < p.train.n / 2 { 0.0 } else { 2.0 })
        .collect();
    let weighted = train(&p, Some(w)).unwrap();
    assert_ne!(plain, weighted);
}

#[test]
fn bad_weights_are_refused() {
    let p = data();
    let e = train(&p, Some(vec![1.0; 3])).unwrap_err();
    assert!(matches!(e, TrainError::InvalidConfig { .. }), "{e}");
    assert!(
        e.to_string().contains("one weight per training window"),
        "{e}"
    );
    let mut w = vec![1.0; p.train.n];
    w[4] = -1.0;
    assert!(
        train(&p, Some(w))
            .unwrap_err()
            .to_string()
            .contains("weight 4 is -1")
    );
    assert!(
        train(&p, Some(vec![0.0; p.train.n]))
            .unwrap_err()
            .to_string()
            .contains("all weights are 0")
    );
}
