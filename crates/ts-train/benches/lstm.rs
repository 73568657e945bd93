//! LSTM speed and memory, side by side: the fused custom operation of `ts-model` (one op for the
//! whole stack, hand-written BPTT), the same layers as tensor operations, and a stack of Burn's
//! `nn::Lstm`; at the seed configuration (3 features, sequence 12, hidden 64, 2 layers, batch 32,
//! 338 training windows) and at 50,000 rows. Reported: ms per training epoch (Adam), inference
//! windows/s at batch 1, 32 and 256, batch-1 latency, and the peak resident memory of a process
//! that ran only that model and case.
//!
//! A plain harness (criterion's sampling would take minutes per 50k-row epoch): warm-up, then the
//! median of several timed repetitions. Each (case, model) runs in a child process of this bench
//! so that its peak memory is its own. Run through `cargo xtask bench`, which writes
//! `target/bench/results.json`; `TSF_BENCH_QUICK=1` does fewer repetitions, `TSF_BENCH_CASE=seed`
//! or `50k-rows` one case (`long-336`, windows of 336 steps, only when named), `TSF_BENCH_DEVICE=wgpu` the GPU (built with `--features wgpu`; the fused
//! operation is CPU-only, so there the "fused" row runs tensor operations).

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use ts_model::baseline::BurnLstmStack;
use ts_model::{LstmKernel, ModelConfig};

const SEQ: usize = 12;
const FEAT: usize = 3;
const HIDDEN: usize = 64;
const LAYERS: usize = 2;
const BATCH: usize = 32;

fn data(n: usize, seq: usize) -> (Vec<f32>, Vec<f32>) {
    let x: Vec<f32> = (0..n * seq * FEAT)
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
    (n, seq): (usize, usize),
    ad: &Device,
    fwd: &dyn Fn(&M, Tensor<3>) -> Tensor<2>,
) -> f64 {
    let t0 = Instant::now();
    let xs = seq * FEAT;
    let mut start = 0;
    while start < n {
        let end = (start + BATCH).min(n);
        let b = end - start;
        let xb = Tensor::<3>::from_data(
            TensorData::new(x[start * xs..end * xs].to_vec(), [b, seq, FEAT]),
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
    (n, seq): (usize, usize),
    batch: usize,
    dev: &Device,
    fwd: &dyn Fn(&M, Tensor<3>) -> Tensor<2>,
) -> f64 {
    let t0 = Instant::now();
    let xs = seq * FEAT;
    let mut start = 0;
    while start < n {
        let end = (start + batch).min(n);
        let xb = Tensor::<3>::from_data(
            TensorData::new(x[start * xs..end * xs].to_vec(), [end - start, seq, FEAT]),
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
    /// Window length.
    seq: usize,
    /// Run only when named by `TSF_BENCH_CASE`.
    on_demand: bool,
}

/// Peak resident memory of this process in MiB (`VmHWM`), if the OS reports it.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn bench_device() -> Device {
    match std::env::var("TSF_BENCH_DEVICE").as_deref() {
        Ok("wgpu") => ts_model::make_device(ts_model::DeviceChoice::Wgpu).expect("wgpu device"),
        _ => Device::flex(),
    }
}

fn run<M: Module>(
    label: &str,
    make: &dyn Fn(&Device) -> M,
    fwd: &dyn Fn(&M, Tensor<3>) -> Tensor<2>,
    case: &Case,
    reps: usize,
) -> serde_json::Value {
    let dev = bench_device();
    let ad = dev.clone().autodiff();
    let (x, y) = data(case.windows, case.seq);
    let shape = (case.windows, case.seq);
    let mut model = Some(make(&ad));
    let mut optim = AdamConfig::new().init();
    epoch(&mut model, &mut optim, &x, &y, shape, &ad, fwd); // warm-up
    let times: Vec<f64> = (0..case.epochs)
        .map(|_| epoch(&mut model, &mut optim, &x, &y, shape, &ad, fwd))
        .collect();
    let ms = median(times) * 1e3;
    let inf_model = model.expect("model").valid();
    let n_inf = case.windows.min(20_000);
    let mut wps = serde_json::Map::new();
    let mut line = String::new();
    for batch in [1usize, 32, 256] {
        // Batch 1 runs fewer windows: it measures per-call latency.
        let n = if batch == 1 { 300.min(n_inf) } else { n_inf };
        // Warm-up: whole passes until 0.3 s have gone by (threads awake, buffers and caches
        // warm), the same rule as the PyTorch reference's.
        let warm = Instant::now();
        while warm.elapsed().as_secs_f64() < 0.3 {
            let _ = infer(&inf_model, &x, (n, case.seq), batch, &dev, fwd);
        }
        let v = median(
            (0..reps)
                .map(|_| infer(&inf_model, &x, (n, case.seq), batch, &dev, fwd))
                .collect(),
        );
        wps.insert(format!("inference_windows_per_s_batch{batch}"), v.into());
        line.push_str(&format!("  {v:>8.0} w/s @{batch}"));
    }
    let latency_us = 1e6
        / wps["inference_windows_per_s_batch1"]
            .as_f64()
            .unwrap_or(f64::NAN);
    let peak = peak_rss_mib();
    // Training time per window and time step: comparable across window lengths.
    let ns_step = ms * 1e6 / (case.windows * case.seq) as f64;
    println!(
        "{label:<15} {:<9} windows {:>6}  {:>8.1} ms/epoch ({ns_step:.0} ns/window-step){line}  batch-1 latency {latency_us:>6.0} µs  peak {:>6.0} MiB",
        case.name,
        case.windows,
        ms,
        peak.unwrap_or(f64::NAN)
    );
    let mut v = serde_json::json!({
        "model": label, "case": case.name, "rows": case.rows, "train_windows": case.windows,
        "sequence_length": case.seq, "ms_per_epoch": ms, "ns_per_window_step": ns_step,
        "epochs_timed": case.epochs, "batch1_latency_us": latency_us, "peak_rss_mib": peak,
    });
    if let Some(o) = v.as_object_mut() {
        o.extend(wps);
    }
    v
}

const MODELS: [&str; 3] = ["fused-lstm", "tensor-op-lstm", "burn-nn-lstm"];

/// Multiply-add throughput of `threads` threads at once, relative to one thread alone: about the
/// thread count when each runs on a core of its own, about 1 when a VM's two CPUs are the two
/// hyperthreads of one physical core (which then share its floating-point units). Each thread
/// runs 48 independent multiply-adds (12 SIMD registers of 4: enough chains to keep the
/// multiply and add units busy, so the loop is bound by their throughput, not latency) for 0.3 s.
fn core_scaling(threads: usize) -> f64 {
    let work = |secs: f64| {
        move || {
            let until = Instant::now() + std::time::Duration::from_secs_f64(secs);
            let mut acc = [1.0f32; 48];
            let (m, a) = (
                std::hint::black_box(0.999_99f32),
                std::hint::black_box(1e-6f32),
            );
            let mut rounds = 0u64;
            while Instant::now() < until {
                for _ in 0..10_000 {
                    for v in acc.iter_mut() {
                        *v = *v * m + a;
                    }
                }
                rounds += 1;
            }
            std::hint::black_box(acc);
            rounds as f64 / secs
        }
    };
    // In a thread of its own too: the same code as the threads measured together.
    let one = std::thread::spawn(work(0.3)).join().unwrap_or(f64::NAN);
    let all: f64 = (0..threads)
        .map(|_| std::thread::spawn(work(0.3)))
        .collect::<Vec<_>>()
        .into_iter()
        .filter_map(|h| h.join().ok())
        .sum();
    eprintln!("core check: one thread {one:.0} rounds/s, {threads} threads {all:.0}");
    all / one
}

/// Runs one (case, model) in this process and prints its JSON on a line starting with `RESULT `.
/// Model `core-check` prints [`core_scaling`] over every CPU instead.
fn child(case: &Case, model: &str, reps: usize) {
    if model == "core-check" {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let v = serde_json::json!({ "model": model, "threads": threads, "scaling": core_scaling(threads) });
        println!("RESULT {v}");
        return;
    }
    let forecaster = |kernel: LstmKernel| {
        move |d: &Device| {
            let mut c = ModelConfig::new(FEAT, vec![0]);
            c.hidden_size = HIDDEN;
            c.num_layers = LAYERS;
            c.dropout = 0.0;
            c.residual = false;
            c.init(1, d).expect("config").with_kernel(kernel)
        }
    };
    let fwd = |m: &ts_model::Forecaster, x| m.forward(x);
    let v = match model {
        "fused-lstm" => run(model, &forecaster(LstmKernel::Auto), &fwd, case, reps),
        "tensor-op-lstm" => run(model, &forecaster(LstmKernel::TensorOps), &fwd, case, reps),
        _ => {
            let burn_stack = |d: &Device| BurnLstmStack::new(FEAT, HIDDEN, LAYERS, 1, d);
            run(
                model,
                &burn_stack,
                &|m: &BurnLstmStack, x| m.forward(x),
                case,
                reps,
            )
        }
    };
    println!("RESULT {v}");
}

/// Keeps every core busy for a few seconds (`TSF_BENCH_WARMUP_S`, default 3) before the first
/// measurement: on a machine that was idle the clock is still ramping up, and the first model
/// measured (the fused LSTM) would otherwise run up to 1.8× slower than the ones after it.
fn warm_up_cpus() {
    let secs: f64 = std::env::var("TSF_BENCH_WARMUP_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    let until = Instant::now() + std::time::Duration::from_secs_f64(secs);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let spin = move || {
        let mut x = 1.0f64;
        while Instant::now() < until {
            for _ in 0..100_000 {
                x = (x * 1.000_000_1).sqrt() + 1e-9;
            }
        }
        x
    };
    let handles: Vec<_> = (0..threads).map(|_| std::thread::spawn(spin)).collect();
    let sum: f64 = handles.into_iter().filter_map(|h| h.join().ok()).sum();
    std::hint::black_box(sum);
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
            seq: SEQ,
            on_demand: false,
        },
        Case {
            name: "50k-rows",
            rows: 50_000,
            windows: 40_000 - SEQ,
            epochs: if quick { 1 } else { 3 },
            seq: SEQ,
            on_demand: false,
        },
        // A week of half-hours as the window (taylor's lookback): per window-step the fused
        // op should cost no more than at 12 steps.
        Case {
            name: "long-336",
            rows: 1_336,
            windows: 1_000,
            epochs: if quick { 1 } else { 3 },
            seq: 336,
            on_demand: true,
        },
    ];
    if let (Ok(c), Ok(m)) = (
        std::env::var("TSF_BENCH_CHILD_CASE"),
        std::env::var("TSF_BENCH_CHILD_MODEL"),
    ) {
        let case = cases.iter().find(|k| k.name == c).expect("known case");
        child(case, &m, reps);
        return;
    }
    let only = std::env::var("TSF_BENCH_CASE").ok();
    let exe = std::env::current_exe().expect("bench executable");
    warm_up_cpus();
    let mut results = Vec::new();
    for case in cases.iter().filter(|c| match only.as_deref() {
        Some(o) => o == c.name,
        None => !c.on_demand,
    }) {
        for model in MODELS {
            let out = std::process::Command::new(&exe)
                .env("TSF_BENCH_CHILD_CASE", case.name)
                .env("TSF_BENCH_CHILD_MODEL", model)
                .stderr(std::process::Stdio::inherit())
                .output()
                .expect("run the bench child");
            let text = String::from_utf8_lossy(&out.stdout);
            for line in text.lines() {
                match line.strip_prefix("RESULT ") {
                    Some(json) => results
                        .push(serde_json::from_str::<serde_json::Value>(json).expect("child JSON")),
                    None => println!("{line}"),
                }
            }
            if !out.status.success() {
                eprintln!("{model} on {} failed: {}", case.name, out.status);
            }
        }
    }
    let out = serde_json::json!({
        "machine": { "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), "os": std::env::consts::OS, "arch": std::env::consts::ARCH },
        "backend": std::env::var("TSF_BENCH_DEVICE").unwrap_or_else(|_| "flex".into()),
        "config": { "features": FEAT, "sequence_length": SEQ, "hidden": HIDDEN, "layers": LAYERS, "batch": BATCH },
        "note": "50k-rows case: 80% of 50,000 rows as training windows; inference over at most 20,000 windows (300 at batch 1); peak_rss_mib is the peak resident memory of a process that ran only that model and case",
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
