//! `cargo xtask bench tune`: TPE and random search on the two objectives of
//! `tests/golden/TPE.md` (branin; the seed's LSTM search space as a synthetic mixed objective),
//! 100 seeds × 60 trials each, medians of the best value after 20, 40 and 60 trials, next to
//! Optuna 5.0.0's medians. Set `TSF_BENCH_QUICK=1` for 20 seeds; `TSF_BENCH_TUNE_OUT` for a JSON
//! copy of the table.

use std::f64::consts::PI;
use std::sync::Arc;
use std::time::Instant;

use ts_tune::{
    Choice, Direction, InMemoryStorage, NopPruner, OptimizeOptions, RandomSampler, Sampler, Study,
    TpeSampler, Trial, TrialError,
};

const TRIALS: usize = 60;

fn branin(t: &mut Trial) -> Result<f64, TrialError> {
    let x1 = t.float("x1", -5.0, 10.0, false)?;
    let x2 = t.float("x2", 0.0, 15.0, false)?;
    let (a, b, c, r, s, tt) = (
        1.0,
        5.1 / (4.0 * PI * PI),
        5.0 / PI,
        6.0,
        10.0,
        1.0 / (8.0 * PI),
    );
    Ok(a * (x2 - b * x1 * x1 + c * x1 - r).powi(2) + s * (1.0 - tt) * x1.cos() + s)
}

fn lstm_mixed(t: &mut Trial) -> Result<f64, TrialError> {
    let num = |c: Choice| c.as_f64().unwrap_or(f64::NAN);
    let hidden = num(t.categorical(
        "hidden",
        &[32i64.into(), 64i64.into(), 128i64.into(), 256i64.into()],
    )?);
    let layers = t.int("layers", 1, 4, 1, false)? as f64;
    let dropout = t.float("dropout", 0.1, 0.5, false)?;
    let lr = t.float("lr", 1e-5, 1e-1, true)?;
    let wd = t.float("weight_decay", 1e-6, 1e-3, true)?;
    let batch = num(t.categorical(
        "batch",
        &[16i64.into(), 32i64.into(), 64i64.into(), 128i64.into()],
    )?);
    let adamw =
        t.categorical("optimizer", &["Adam".into(), "AdamW".into()])? == Choice::from("AdamW");
    let lr_opt = -3.0 + 0.25 * (batch / 32.0).log2();
    let d_opt = 0.15 + 0.05 * (layers - 1.0);
    let wd_opt = if adamw { -4.0 } else { -5.5 };
    Ok(0.05
        + 0.30 * (lr.log10() - lr_opt).powi(2)
        + 0.02 * (hidden.log2() - 7.0).powi(2)
        + 0.03 * (layers - 2.0).powi(2)
        + 0.50 * (dropout - d_opt).powi(2)
        + 0.01 * (wd.log10() - wd_opt).powi(2)
        + 0.005 * (batch.log2() - 5.0).powi(2)
        + if adamw { 0.0 } else { 0.01 })
}

type Objective = fn(&mut Trial) -> Result<f64, TrialError>;
type MakeSampler = fn(u64) -> Arc<dyn Sampler>;

/// best@20, best@40, best@60 of one seeded run.
fn run(objective: Objective, sampler: Arc<dyn Sampler>) -> [f64; 3] {
    let study = Study::load_or_create(
        "bench",
        Direction::Minimize,
        Arc::new(InMemoryStorage::new()),
        sampler,
        Arc::new(NopPruner),
    )
    .expect("study");
    let opts = OptimizeOptions {
        n_trials: Some(TRIALS),
        n_jobs: 1,
        ..Default::default()
    };
    study.optimize(objective, &opts, &|_| {}).expect("optimize");
    let values: Vec<f64> = study
        .trials()
        .expect("trials")
        .iter()
        .map(|t| t.value.unwrap_or(f64::INFINITY))
        .collect();
    let best = |k: usize| values[..k].iter().copied().fold(f64::INFINITY, f64::min);
    [best(20), best(40), best(60)]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

fn main() {
    // cargo bench passes `--bench`; nothing else is accepted.
    let quick = std::env::var("TSF_BENCH_QUICK").is_ok_and(|v| v == "1");
    let seeds: u64 = if quick { 20 } else { 100 };
    // Seeds first..first+seeds (0 by default, as Optuna's table); other offsets show the spread.
    let first: u64 = std::env::var("TSF_BENCH_SEED_OFFSET")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let objectives: [(&str, Objective); 2] = [("branin", branin), ("lstm_mixed", lstm_mixed)];
    println!(
        "TPE benchmark: {seeds} seeds × {TRIALS} trials, medians of the best value (tsf | Optuna 5.0.0)"
    );
    println!(
        "| objective | sampler | best@20 | best@40 | best@60 | Optuna best@20 | Optuna best@40 | Optuna best@60 | seconds |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut rows = Vec::new();
    let mut ok = true;
    for (oname, obj) in objectives {
        let medians = measure(oname, obj, first..first + seeds, &mut rows);
        ok &= quality_bar(oname, &medians);
    }
    if let Ok(path) = std::env::var("TSF_BENCH_TUNE_OUT") {
        write_json(std::path::PathBuf::from(path), &rows, ok);
    }
    if !ok {
        println!("RESULT: the quality bar is NOT met");
        std::process::exit(1);
    }
    println!(
        "RESULT: the quality bar is met (TPE ≤ Optuna at best@40 and best@60, better than random)"
    );
}

/// Optuna 5.0.0 medians from tests/golden/TPE.md: (objective, sampler) → best@20/40/60.
fn optuna(obj: &str, sampler: &str) -> [f64; 3] {
    match (obj, sampler) {
        ("branin", "tpe" | "tpe-uniform-startup") => [1.726, 0.686, 0.528],
        ("branin", "tpe-independent") => [1.760, 0.880, 0.550],
        ("branin", "random") => [2.397, 1.444, 1.128],
        ("lstm_mixed", "tpe" | "tpe-uniform-startup") => [0.1078, 0.0828, 0.0766],
        ("lstm_mixed", "tpe-independent") => [0.1009, 0.0771, 0.0730],
        _ => [0.1181, 0.1017, 0.0982],
    }
}

/// The samplers compared, by name, each made from a seed.
fn samplers() -> [(&'static str, MakeSampler); 4] {
    [
        ("tpe", |s| Arc::new(TpeSampler::new(Some(s)))),
        ("tpe-uniform-startup", |s| {
            Arc::new(TpeSampler::new(Some(s)).with_latin_hypercube_startup(false))
        }),
        ("tpe-independent", |s| {
            Arc::new(TpeSampler::new(Some(s)).with_multivariate(false))
        }),
        ("random", |s| Arc::new(RandomSampler::new(Some(s)))),
    ]
}

/// Runs objective `obj` (named `oname`) with every sampler over `seeds`, printing one table row
/// per sampler and adding its JSON to `rows`; returns the medians of best@20/40/60 by sampler.
fn measure(
    oname: &str,
    obj: Objective,
    seeds: std::ops::Range<u64>,
    rows: &mut Vec<serde_json::Value>,
) -> std::collections::BTreeMap<&'static str, [f64; 3]> {
    let mut medians = std::collections::BTreeMap::new();
    for (sname, make) in samplers() {
        let t0 = Instant::now();
        let runs: Vec<[f64; 3]> = seeds.clone().map(|s| run(obj, make(s))).collect();
        let m: [f64; 3] = std::array::from_fn(|k| median(runs.iter().map(|r| r[k]).collect()));
        let secs = t0.elapsed().as_secs_f64();
        let o = optuna(oname, sname);
        println!(
            "| {oname} | {sname} | {:.4} | {:.4} | {:.4} | {} | {} | {} | {secs:.1} |",
            m[0], m[1], m[2], o[0], o[1], o[2]
        );
        medians.insert(sname, m);
        rows.push(serde_json::json!({
            "objective": oname, "sampler": sname, "seeds": seeds.end - seeds.start, "trials": TRIALS,
            "median_best": {"20": m[0], "40": m[1], "60": m[2]},
            "optuna_median_best": {"20": o[0], "40": o[1], "60": o[2]},
            "seconds": secs,
        }));
    }
    medians
}

/// Prints whether TPE's medians on objective `oname` meet the bar (no worse than Optuna's at
/// best@40 and best@60, better than random's at both); returns whether they do.
fn quality_bar(oname: &str, medians: &std::collections::BTreeMap<&str, [f64; 3]>) -> bool {
    let mut ok = true;
    let tpe = medians["tpe"];
    let rnd = medians["random"];
    let o = optuna(oname, "tpe");
    for (k, at) in [(1, 40), (2, 60)] {
        let pass = tpe[k] <= o[k];
        ok &= pass;
        println!(
            "{oname}: TPE best@{at} {:.4} {} Optuna's {:.4}: {}",
            tpe[k],
            if pass { "≤" } else { ">" },
            o[k],
            if pass { "ok" } else { "WORSE" }
        );
    }
    let better = tpe[1] < rnd[1] && tpe[2] < rnd[2];
    ok &= better;
    println!(
        "{oname}: TPE vs random at best@40/60: {:.4}/{:.4} vs {:.4}/{:.4}: {}",
        tpe[1],
        tpe[2],
        rnd[1],
        rnd[2],
        if better { "better" } else { "NOT better" }
    );
    ok
}

/// Writes the table's `rows` and whether the bar was met (`ok`) as JSON to `path`.
fn write_json(path: std::path::PathBuf, rows: &[serde_json::Value], ok: bool) {
    if let Some(p) = path.parent() {
        let _ = std::fs::create_dir_all(p);
    }
    let text = serde_json::to_string_pretty(&serde_json::json!({"rows": rows, "pass": ok}))
        .unwrap_or_default();
    match std::fs::write(&path, text) {
        Ok(()) => println!("wrote {}", path.display()),
        Err(e) => eprintln!("{}: {e}", path.display()),
    }
}
