//! `fit` trains a model whatever device it was built on (the trainer moves it onto the autodiff
//! device and marks its parameters trainable).

use burn::tensor::Device;
use ts_data::Windows;
use ts_model::ModelConfig;
use ts_train::config::TrainConfig;
use ts_train::trainer::{Silent, fit};

fn windows(n: usize) -> Windows {
    let (l, f) = (12usize, 2usize);
    let series: Vec<[f32; 2]> = (0..n + l)
        .map(|t| {
            [
                (t as f32 * 0.21).sin() * 0.4 + 0.5,
                (t as f32 * 0.05).cos() * 0.3 + 0.5,
            ]
        })
        .collect();
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..n {
        for r in &series[i..i + l] {
            x.extend_from_slice(r);
        }
        y.push(series[i + l][0]);
    }
    Windows::from_parts(x, y, l, f, 1, (l - 1..l - 1 + n).collect())
}

#[test]
fn a_model_built_on_a_plain_device_trains() {
    let mut cfg = ModelConfig::new(2, vec![0]);
    cfg.hidden_size = 16;
    cfg.residual = false;
    let model = cfg.init(1, &Device::flex()).unwrap();
    let tc = TrainConfig {
        epochs: 15,
        learning_rate: 5e-3,
        patience: 100,
        ..TrainConfig::default()
    };
    let (_, report) = fit(
        model,
        &windows(128),
        &windows(32),
        &tc,
        &Device::flex(),
        &mut Silent,
    )
    .unwrap();
    let first = report.initial_val_loss.unwrap();
    assert!(
        report.best_val_loss.unwrap() < 0.5 * first,
        "{first} → {:?}",
        report.best_val_loss
    );
}
