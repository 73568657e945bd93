//! The `wgpu` backend (GPU): the same forecaster gives the same outputs as on the CPU, and
//! training on the GPU learns. Compiled only with `--features wgpu`; each test returns early
//! (with a message) unless `TSF_TEST_WGPU=1`, because CI machines have no GPU.
#![cfg(feature = "wgpu")]

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use ts_data::Windows;
use ts_model::{DeviceChoice, Forecaster, ModelConfig, ModelKind, make_device};
use ts_train::config::TrainConfig;
use ts_train::trainer::{Silent, fit};

fn gpu() -> Option<Device> {
    if std::env::var("TSF_TEST_WGPU").as_deref() != Ok("1") {
        eprintln!("skipped: set TSF_TEST_WGPU=1 on a machine with a GPU");
        return None;
    }
    Some(make_device(DeviceChoice::Wgpu).expect("wgpu device"))
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

/// A smooth two-feature series as windows: lookback 12, one target, horizon 1.
fn windows(n: usize) -> Windows {
    windows_ahead(n, 1)
}

/// The same series as windows of lookback 12 whose target is the first feature's next `h` values.
fn windows_ahead(n: usize, h: usize) -> Windows {
    let (l, f) = (12usize, 2usize);
    let series: Vec<[f32; 2]> = (0..n + l + h - 1)
        .map(|t| {
            let a = (t as f32 * 0.21).sin() * 0.4 + 0.5;
            [a, (t as f32 * 0.05).cos() * 0.3 + 0.5]
        })
        .collect();
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..n {
        for r in &series[i..i + l] {
            x.extend_from_slice(r);
        }
        y.extend(series[i + l..i + l + h].iter().map(|r| r[0]));
    }
    Windows::from_parts(x, y, l, f, h, (l - 1..l - 1 + n).collect())
}

#[test]
fn gpu_forward_equals_cpu_forward() {
    let Some(gpu) = gpu() else { return };
    for kind in [ModelKind::Lstm, ModelKind::Attention] {
        let mut cfg = ModelConfig::new(2, vec![0]);
        cfg.kind = kind;
        cfg.hidden_size = 32;
        cfg.horizon = 1;
        let model = cfg.init(3, &Device::flex()).unwrap();
        same_forward_on_gpu(&format!("{kind:?}"), &model, &gpu, &windows(64));
    }
}

/// Asserts that `model` (on the CPU) forecasts `w`'s windows the same (1e-4) on the GPU, and
/// returns its CPU forecasts.
fn same_forward_on_gpu(label: &str, model: &Forecaster, gpu: &Device, w: &Windows) -> Vec<f32> {
    let cpu = Device::flex();
    let shape = [w.n, w.lookback, w.n_features];
    let x = w.all_x();
    let xc = Tensor::<3>::from_data(TensorData::new(x.clone(), shape), &cpu);
    let xg = Tensor::<3>::from_data(TensorData::new(x, shape), gpu);
    let a = to_vec(model.forward(xc));
    let b = to_vec(model.clone().to_device(gpu).forward(xg));
    assert_eq!(a.len(), b.len());
    for (k, (p, q)) in a.iter().zip(&b).enumerate() {
        assert!(
            (p - q).abs() < 1e-4,
            "{label} output {k}: cpu {p} vs gpu {q}"
        );
    }
    a
}

#[test]
fn gpu_training_learns() {
    let Some(gpu) = gpu() else { return };
    let mut cfg = ModelConfig::new(2, vec![0]);
    cfg.hidden_size = 32;
    cfg.residual = false;
    let model = cfg.init(1, &gpu).unwrap();
    let train = windows(256);
    let val = windows(48);
    let tc = TrainConfig {
        epochs: 15,
        learning_rate: 5e-3,
        patience: 100,
        ..TrainConfig::default()
    };
    let (_, report) = fit(model, &train, &val, &tc, &gpu, &mut Silent).expect("training on wgpu");
    let first = report.initial_val_loss.expect("validation loss");
    assert!(
        report.best_val_loss.unwrap() < 0.5 * first,
        "validation loss {first} → {:?}",
        report.best_val_loss
    );
}

/// The hybrid (per-window input normalisation, a linear branch with a seasonal start, the LSTM
/// reading only the last rows of each window), trained a little on the CPU so that the LSTM head
/// is not zero, forecasts three steps the same on the GPU.
#[test]
fn gpu_hybrid_forward_equals_cpu_forward() {
    let Some(gpu) = gpu() else { return };
    let h = 3;
    let mut cfg = ModelConfig::new(2, vec![0]);
    cfg.hidden_size = 32;
    cfg.horizon = h;
    cfg.input_norm = true;
    cfg.linear = true;
    cfg.lookback = 12;
    cfg.season = 4;
    cfg.lstm_window = 6;
    let cpu = Device::flex();
    let model = cfg.init(3, &cpu).unwrap();
    let untrained = model.clone();
    let tc = TrainConfig {
        epochs: 3,
        learning_rate: 5e-3,
        patience: 100,
        ..TrainConfig::default()
    };
    let (model, _) = fit(
        model,
        &windows_ahead(128, h),
        &windows_ahead(32, h),
        &tc,
        &cpu,
        &mut Silent,
    )
    .expect("training on the CPU");
    let n = 64;
    let w = windows_ahead(n, h);
    let xc = Tensor::<3>::from_data(TensorData::new(w.all_x(), [n, 12, 2]), &cpu);
    let before = to_vec(untrained.forward(xc));
    let a = same_forward_on_gpu("hybrid", &model, &gpu, &w);
    assert_eq!(a.len(), n * h);
    let moved = a
        .iter()
        .zip(&before)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f32::max);
    assert!(
        moved > 1e-3,
        "training left the forecasts unchanged ({moved})"
    );
}
