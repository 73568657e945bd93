//! A custom dataset built in memory, windowed by hand, and trained with the library's loop and
//! a custom observer; predictions are made batch by batch.
//!
//! `cargo run --release --example custom_dataset`

use burn::tensor::Device;
use ts_data::{Frame, ScalerKind, SplitConfig, WindowSpec, prepare};
use ts_model::{ModelConfig, ModelKind};
use ts_train::{EpochRecord, Observer, TrainConfig, evaluate, fit, predict_scaled};
use tsf_examples::print_evaluation;

/// Prints every fifth epoch.
struct Printer;
impl Observer for Printer {
    fn on_epoch(&mut self, r: &EpochRecord, best: usize) {
        if r.epoch.is_multiple_of(5) {
            println!(
                "epoch {:>3}: train {:.5} val {:.5} (best {best})",
                r.epoch,
                r.train_loss,
                r.val_loss.unwrap_or(f64::NAN)
            );
        }
    }
}

fn main() -> anyhow::Result<()> {
    // A seasonal series driven by a slowly moving input, with deterministic pseudo-noise.
    let n = 600;
    let driver: Vec<f64> = (0..n).map(|t| (t as f64 / 50.0).sin()).collect();
    let noise = |t: usize| (((t * 7919) % 1000) as f64 / 1000.0 - 0.5) * 0.1;
    let series: Vec<f64> = (0..n)
        .map(|t| (t as f64 * 2.0 * std::f64::consts::PI / 12.0).sin() + 0.5 * driver[t] + noise(t))
        .collect();
    let frame = Frame::from_columns(
        "synthetic",
        vec!["driver".into(), "series".into()],
        vec![driver, series],
        None,
    )?;

    // Windows: 24 steps in, 6 steps out, scaler fitted on the training rows only.
    let spec = WindowSpec::new(24, 6, frame.columns.clone(), vec!["series".into()])?;
    let data = prepare(
        &frame,
        &spec,
        &SplitConfig {
            train: 0.8,
            validation: 0.15,
        },
        ScalerKind::Standard,
    )?;
    println!(
        "windows: train {}, validation {}, test {}",
        data.train.n, data.validation.n, data.test.n
    );

    // Mini-batches gather windows by position:
    let batch = 64;
    let per_window = data.train.lookback * data.train.n_features;
    let first = data.train.gather_x(0..batch.min(data.train.n));
    println!(
        "first batch: {} values = {} windows × {} steps × {} features",
        first.len(),
        first.len() / per_window,
        data.train.lookback,
        data.train.n_features
    );

    // An attention LSTM, an ensemble of two, trained with AdamW.
    let device = Device::flex();
    let mut mc = ModelConfig::new(spec.features.len(), spec.target_index.clone());
    mc.kind = ModelKind::Attention;
    mc.hidden_size = 32;
    mc.horizon = spec.horizon;
    mc.ensemble = 2;
    let cfg = TrainConfig {
        epochs: 30,
        batch_size: batch,
        optimizer: ts_train::OptimizerKind::AdamW,
        weight_decay: 1e-4,
        ..TrainConfig::default()
    };
    let model = mc.init(cfg.seed, &device.clone().autodiff())?;
    let (model, report) = fit(
        model,
        &data.train,
        &data.validation,
        &cfg,
        &device,
        &mut Printer,
    )?;
    println!(
        "kept epoch {} in {:.1} s",
        report.best_epoch, report.seconds
    );

    // Predict in batches of 32 and evaluate against the naive forecast.
    let pred = predict_scaled(&model, &data.test, &device, 32)?;
    // Baselines: the naive, seasonal naive (no season here) and drift forecasts; MASE scaled on
    // the training rows.
    let baselines = ts_train::BaselineSpec {
        season: 1,
        history_end: data.bounds.val_start,
    };
    print_evaluation(&evaluate(
        &data.test,
        &pred,
        &spec,
        &data.scaler,
        &baselines,
    ));
    Ok(())
}
