//! Inference throughput of the seed forecaster (3 features, sequence 12, hidden 64, 2 layers) at
//! one batch size, for profiling: `cargo run --release --example infer_prof -- 256 20000 5`.
use burn::tensor::{Device, Tensor, TensorData};
use ts_model::ModelConfig;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a number"))
        .collect();
    let batch = args.first().copied().unwrap_or(256);
    let n = args.get(1).copied().unwrap_or(20_000);
    let reps = args.get(2).copied().unwrap_or(5);
    let (seq, feat) = (12, 3);
    let dev = Device::flex();
    let mut c = ModelConfig::new(feat, vec![0]);
    c.hidden_size = 64;
    c.num_layers = 2;
    c.dropout = 0.0;
    c.residual = false;
    let model = c.init(1, &dev).expect("config");
    let x: Vec<f32> = (0..n * seq * feat)
        .map(|i| ((i * 2654435761usize) % 1000) as f32 / 1000.0)
        .collect();
    // CPU time of this thread (all the work with RAYON_NUM_THREADS=1): robust on a busy machine.
    let cpu_ns = || -> f64 {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(f64::NAN)
    };
    for _ in 0..reps {
        let t0 = std::time::Instant::now();
        let c0 = cpu_ns();
        let mut s = 0;
        while s < n {
            let e = (s + batch).min(n);
            let xb = Tensor::<3>::from_data(
                TensorData::new(
                    x[s * seq * feat..e * seq * feat].to_vec(),
                    [e - s, seq, feat],
                ),
                &dev,
            );
            let _ = model.forward(xb).into_data();
            s = e;
        }
        let cpu_us = (cpu_ns() - c0) / 1e3 / n as f64;
        println!(
            "{:.0} windows/s at batch {batch}, {cpu_us:.2} CPU-µs per window on this thread",
            n as f64 / t0.elapsed().as_secs_f64()
        );
    }
}
