//! Speed of the explainers on 100 windows of the seed configuration (12 steps, 5 features, hidden
//! 64, 2 layers, one output): KernelSHAP over features (exact, 20 background windows) and over
//! cells (sampled), integrated gradients (64 steps), SmoothGrad (32 samples), LIME (1000 samples),
//! occlusion + permutation, saliency. A plain harness: one warm-up, then the median of
//! `TSF_BENCH_REPS` (default 3) timed runs per method, printed as a table and written to
//! `target/bench/explain.json` when `TSF_BENCH_OUT` names a file.

use std::time::Instant;

use burn::tensor::Device;
use ts_explain::{
    Baseline, ForecasterModel, IgRule, IgSettings, Inputs, LimeSettings, Players, Runner,
    ShapSettings, SmoothGradSettings, integrated_gradients, lime, occlusion,
    permutation_importance, saliency, shap, smoothgrad,
};
use ts_model::ModelConfig;

const STEPS: usize = 12;
const FEATURES: usize = 5;

fn windows(n: usize, salt: usize) -> Inputs {
    let data = (0..n * STEPS * FEATURES)
        .map(|i| (((i + salt) * 2654435761usize) % 1000) as f32 / 1000.0)
        .collect();
    Inputs::new("bench", data, n, STEPS, FEATURES).expect("valid windows")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let reps: usize = std::env::var("TSF_BENCH_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let device = Device::flex();
    let cfg = ModelConfig::new(FEATURES, vec![0]);
    let model = cfg.init(42, &device).expect("model");
    let m = ForecasterModel::new(&model, STEPS, &device);
    let r = Runner::new(&m, 0).expect("runner");
    let x = windows(100, 0);
    let bg = windows(20, 7);
    let base = bg.mean_window("bg").expect("mean");
    let jobs: Vec<Job> = vec![
        ("saliency", Box::new(|| drop(saliency(&r, &x).unwrap()))),
        (
            "integrated gradients (64 steps, GL)",
            Box::new(|| {
                drop(
                    integrated_gradients(
                        &r,
                        &x,
                        &IgSettings {
                            baseline: Baseline::Window(base.clone()),
                            steps: 64,
                            rule: IgRule::GaussLegendre,
                        },
                    )
                    .unwrap(),
                )
            }),
        ),
        (
            "smoothgrad (32 samples)",
            Box::new(|| drop(smoothgrad(&r, &x, &SmoothGradSettings::default()).unwrap())),
        ),
        (
            "kernelshap features (exact, 20 background)",
            Box::new(|| drop(shap(&r, &x, &bg, &ShapSettings::default()).unwrap())),
        ),
        (
            "kernelshap cells (512 coalitions, 20 background)",
            Box::new(|| {
                drop(
                    shap(
                        &r,
                        &x,
                        &bg,
                        &ShapSettings {
                            players: Players::Cells,
                            samples: 512,
                            ..ShapSettings::default()
                        },
                    )
                    .unwrap(),
                )
            }),
        ),
        (
            "lime (1000 samples)",
            Box::new(|| drop(lime(&r, &x, &LimeSettings::default()).unwrap())),
        ),
        (
            "occlusion + permutation (5 repeats)",
            Box::new(|| {
                drop(occlusion(&r, &x, &base).unwrap());
                drop(permutation_importance(&r, &x, None, 5, 0).unwrap());
            }),
        ),
    ];
    time_jobs(&jobs, reps);
}

/// A named method run, timed as a whole.
type Job<'a> = (&'a str, Box<dyn Fn() + 'a>);

/// Runs each job whose name contains `TSF_BENCH_FILTER` once to warm up, then `reps` timed
/// times; prints the medians and writes them to `TSF_BENCH_OUT` when set.
fn time_jobs(jobs: &[Job], reps: usize) {
    let filter = std::env::var("TSF_BENCH_FILTER").unwrap_or_default();
    let mut results = Vec::new();
    println!("100 windows, 12 steps x 5 features, hidden 64, 2 layers; median of {reps}");
    for (name, job) in jobs {
        if !name.contains(filter.as_str()) {
            continue;
        }
        job();
        let times: Vec<f64> = (0..reps)
            .map(|_| {
                let t = Instant::now();
                job();
                t.elapsed().as_secs_f64()
            })
            .collect();
        let med = median(times);
        println!("{name:<50} {med:>8.3} s");
        results.push(serde_json::json!({ "method": name, "median_s": med, "reps": reps }));
    }
    if let Ok(path) = std::env::var("TSF_BENCH_OUT") {
        let _ = std::fs::write(
            path,
            serde_json::to_string_pretty(&results).unwrap_or_default(),
        );
    }
}
