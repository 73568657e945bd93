//! LSTM speed: ms per training epoch and inference windows/s, for the fused LSTM of `ts-model`
//! and for a stack of Burn's `nn::Lstm`, at the seed configuration (3 features, sequence 12,
//! hidden 64, 2 layers, batch 32, 338 training windows) and at 50,000 rows.
//!
//! A plain harness (criterion's sampling would take minutes per 50k-row epoch): warm-up, then the
//! median of several timed repetitions. Run through `cargo xtask bench`, which writes
//! `target/bench/results.json`; `TSF_BENCH_QUICK=1` does fewer repetitions.

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use ts_model::ModelConfig;
use ts_model::baseline::BurnLstmStack;

const SEQ: usize = 12;
const FEAT: usize = 3;
const HIDDEN: usize = 64;
const LAYERS: usize = 2;
const BATCH: usize = 32;

fn data(n: usize) -> (Vec<f32>, Vec<f32>) {
    let x: Vec<f32> = (0..n * SEQ * FEAT)
        .map(|i| ((i * 2654435761usize) % 1000) as f32 / 1000.0)
        .collect();
    let y: Vec<f32> = (0..n)
        .map(|i| ((i * 40503) % 1000) as f32 / 1000.0)
        .collect();
    (x, y)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Trains one epoch of `n` windows; returns seconds.
fn epoch<M: Module>(
    model: &mut Option<M>,
    optim: &mut burn::optim::ModuleOptimizer,
    x: &[f32],
    y: &[f32],
    n: usize,
    ad: &Device,
    fwd: &dyn Fn(&M, Tensor<3>) -> Tensor<2>,
) -> f64 {
    let t0 = Instant::now();
    let xs = SEQ * FEAT;
    let mut start = 0;
    while start < n {
        let end = (start + BATCH).min(n);
        let b = end - start;
        let xb = Tensor::<3>::from_data(
            TensorData::new(x[start * xs..end * xs].to_vec(), [b, SEQ, FEAT]),
            ad,
        );
        let yb = Tensor::<2>::from_data(TensorData::new(y[start..end].to_vec(), [b, 1]), ad);
        let m = model.take().expect("model");
        let loss = (fwd(&m, xb) - yb).powi_scalar(2).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &m);
        *model = Some(optim.step(1e-3, m, grads));
        start = end;
    }
    t0.elapsed().as_secs_f64()
}

fn infer<M: Module>(
    model: &M,
    x: &[f32],
    n: usize,
    batch: usize,
    dev: &Device,
    fwd: &dyn Fn(&M, Tensor<3>) -> Tensor<2>,
) -> f64 {
    let t0 = Instant::now();
    let xs = SEQ * FEAT;
    let mut start = 0;
    while start < n {
        let end = (start + batch).min(n);
        let xb = Tensor::<3>::from_data(
            TensorData::new(x[start * xs..end * xs].to_vec(), [end - start, SEQ, FEAT]),
            dev,
        );
        let out = fwd(model, xb);
        let _ = out.into_data();
        start = end;
    }
    n as f64 / t0.elapsed().as_secs_f64()
}

struct Case {
    name: &'static str,
    rows: usize,
    windows: usize,
    epochs: usize,
}

fn run<M: Module>(
    label: &str,
    make: &dyn Fn(&Device) -> M,
    fwd: &dyn Fn(&M, Tensor<3>) -> Tensor<2>,
    case: &Case,
    reps: usize,
) -> serde_json::Value {
    let dev = Device::flex();
    let ad = dev.clone().autodiff();
    let (x, y) = data(case.windows);
    let mut model = Some(make(&ad));
    let mut optim = AdamConfig::new().init();
    epoch(&mut model, &mut optim, &x, &y, case.windows, &ad, fwd); // warm-up
    let times: Vec<f64> = (0..case.epochs)
        .map(|_| epoch(&mut model, &mut optim, &x, &y, case.windows, &ad, fwd))
        .collect();
    let ms = median(times) * 1e3;
    let inf_model = model.expect("model").valid();
    let n_inf = case.windows.min(20_000);
    let _ = infer(&inf_model, &x, n_inf.min(512), 256, &dev, fwd);
    let wps = median(
        (0..reps)
            .map(|_| infer(&inf_model, &x, n_inf, 256, &dev, fwd))
            .collect(),
    );
    let wps1 = median(
        (0..reps)
            .map(|_| infer(&inf_model, &x, 200.min(n_inf), 1, &dev, fwd))
            .collect(),
    );
    println!(
        "{label:<18} {:<12} windows {:>6}  {:>9.1} ms/epoch  {:>9.0} windows/s (batch 256)  {:>7.0} windows/s (batch 1)",
        case.name, case.windows, ms, wps, wps1
    );
    serde_json::json!({
        "model": label, "case": case.name, "rows": case.rows, "train_windows": case.windows,
        "ms_per_epoch": ms, "epochs_timed": case.epochs,
        "inference_windows_per_s_batch256": wps, "inference_windows_per_s_batch1": wps1,
    })
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let quick = std::env::var("TSF_BENCH_QUICK").is_ok();
    let reps = if quick { 3 } else { 7 };
    let cases = [
        Case {
            name: "seed",
            rows: 423,
            windows: 338,
            epochs: if quick { 5 } else { 15 },
        },
        Case {
            name: "50k-rows",
            rows: 50_000,
            windows: 40_000 - SEQ,
            epochs: if quick { 1 } else { 3 },
        },
    ];
    let only = std::env::var("TSF_BENCH_CASE").ok();
    let mut results = Vec::new();
    for case in cases
        .iter()
        .filter(|c| only.as_deref().is_none_or(|o| o == c.name))
    {
        let fused = |d: &Device| {
            let mut c = ModelConfig::new(FEAT, vec![0]);
            c.hidden_size = HIDDEN;
            c.num_layers = LAYERS;
            c.dropout = 0.0;
            c.residual = false;
            c.init(1, d).expect("config")
        };
        results.push(run(
            "fused-lstm",
            &fused,
            &|m: &ts_model::Forecaster, x| m.forward(x),
            case,
            reps,
        ));
        let burn_stack = |d: &Device| BurnLstmStack::new(FEAT, HIDDEN, LAYERS, 1, d);
        results.push(run(
            "burn-nn-lstm",
            &burn_stack,
            &|m: &BurnLstmStack, x| m.forward(x),
            case,
            reps,
        ));
    }
    let out = serde_json::json!({
        "machine": { "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), "os": std::env::consts::OS, "arch": std::env::consts::ARCH },
        "backend": "flex",
        "config": { "features": FEAT, "sequence_length": SEQ, "hidden": HIDDEN, "layers": LAYERS, "batch": BATCH },
        "note": "50k-rows case: 80% of 50,000 rows as training windows; inference over at most 20,000 windows",
        "results": results,
    });
    let default = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/bench/results.json"
    );
    let path = std::env::var("TSF_BENCH_OUT").unwrap_or_else(|_| default.into());
    if let Some(dir) = std::path::Path::new(&path).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(
        &path,
        serde_json::to_string_pretty(&out).unwrap_or_default(),
    ) {
        Ok(()) => println!("wrote {path}"),
        Err(e) => eprintln!("cannot write {path}: {e}"),
    }
}
