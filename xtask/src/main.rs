//! Developer tasks: `cargo xtask ci | bench [--quick | tune | tune-workers [--lstm] | pair [--rounds N]] | quality | demo |
//! crash | memory`.

mod quality;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn cargo(args: &[&str], envs: &[(&str, String)]) -> Result<()> {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.args(args).current_dir(root());
    for (k, v) in envs {
        c.env(k, v);
    }
    let status = c
        .status()
        .with_context(|| format!("cannot run cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed with {status}", args.join(" "));
    }
    Ok(())
}

/// The metrics compared with PyTorch: JSON key, label, whether higher is better.
const METRICS: [(&str, &str, bool); 4] = [
    ("ms_per_epoch", "ms/epoch", false),
    ("inference_windows_per_s_batch1", "w/s @1", true),
    ("inference_windows_per_s_batch32", "w/s @32", true),
    ("inference_windows_per_s_batch256", "w/s @256", true),
];

/// Metric `key` of the fused LSTM, of PyTorch, and the fused LSTM's speed-up over PyTorch
/// (> 1: tsf is faster), when both rows have it.
fn speedup(
    fused: &serde_json::Value,
    torch: &serde_json::Value,
    key: &str,
    higher_better: bool,
) -> Option<(f64, f64, f64)> {
    let (f, t) = (fused[key].as_f64()?, torch[key].as_f64()?);
    Some((f, t, if higher_better { f / t } else { t / f }))
}

/// Runs the PyTorch reference (crates/ts-train/benches/torch_reference.py) when a Python with
/// `torch` is at hand (`TSF_BENCH_PYTHON`, else `python3`), on as many threads as this machine has,
/// adds its rows to `out` under `"pytorch"` and prints the fused LSTM's ratio to it per case.
fn pytorch_reference(out: &Path, quick: bool) -> Result<()> {
    let python = std::env::var("TSF_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_torch = Command::new(&python)
        .args(["-c", "import torch"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_torch {
        println!(
            "PyTorch reference skipped: `{python}` cannot import torch (pip install torch, or set \
             TSF_BENCH_PYTHON to a Python that has it)"
        );
        return Ok(());
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut c = Command::new(&python);
    c.arg(root().join("crates/ts-train/benches/torch_reference.py"))
        .env("THREADS", threads.to_string())
        .stderr(std::process::Stdio::null());
    if quick {
        c.env("TSF_BENCH_QUICK", "1");
    }
    let output = c.output().with_context(|| format!("cannot run {python}"))?;
    if !output.status.success() {
        bail!("the PyTorch reference failed with {}", output.status);
    }
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let text =
        std::fs::read_to_string(out).with_context(|| format!("cannot read {}", out.display()))?;
    let mut results: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", out.display()))?;
    let ours = results["results"].as_array().cloned().unwrap_or_default();
    for torch in &rows {
        let case = torch["case"].as_str().unwrap_or("?");
        let Some(fused) = ours
            .iter()
            .find(|r| r["case"] == torch["case"] && r["model"] == "fused-lstm")
        else {
            continue;
        };
        let mut line = format!(
            "pytorch {} ({threads} threads) {case:<9}",
            torch["torch"].as_str().unwrap_or("?")
        );
        for (key, label, higher_better) in METRICS {
            if let Some((_, t, ratio)) = speedup(fused, torch, key, higher_better) {
                line.push_str(&format!("  {label} {t:.1} (tsf {ratio:.2}×)"));
            }
        }
        println!("{line}");
    }
    results["pytorch"] = serde_json::Value::Array(rows);
    std::fs::write(out, serde_json::to_string_pretty(&results)?)
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

/// One child run of the LSTM bench (`TSF_BENCH_CHILD_*`): the JSON of its `RESULT` line.
fn bench_child(case: &str, model: &str) -> Result<serde_json::Value> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["bench", "--workspace", "--bench", "lstm", "-q"])
        .current_dir(root())
        .env("TSF_BENCH_CHILD_CASE", case)
        .env("TSF_BENCH_CHILD_MODEL", model)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run cargo bench")?;
    if !output.status.success() {
        bail!("the {model} bench child failed with {}", output.status);
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .with_context(|| format!("no RESULT line from the {model} bench child"))?;
    Ok(serde_json::from_str(line)?)
}

/// `cargo xtask bench pair [--rounds N]`: the fused LSTM and PyTorch on the seed case, run one
/// after the other in each round (the order alternating between rounds), each round starting
/// with a check of how the machine's CPUs scale together. On a shared VM throughput drifts
/// between runs and between processes; the ratio within a round compares the two under the same
/// conditions, and the median over rounds is the figure to report.
fn bench_pair(rounds: usize) -> Result<()> {
    let python = std::env::var("TSF_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let torch = || -> Result<serde_json::Value> {
        let output = Command::new(&python)
            .arg(root().join("crates/ts-train/benches/torch_reference.py"))
            .env("TSF_BENCH_CASE", "seed")
            .env(
                "THREADS",
                std::thread::available_parallelism()
                    .map_or(1, |n| n.get())
                    .to_string(),
            )
            .output()
            .with_context(|| format!("cannot run {python}"))?;
        if !output.status.success() {
            bail!(
                "the PyTorch reference failed ({}): {}; set TSF_BENCH_PYTHON to a Python with torch",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .find_map(|l| serde_json::from_str(l).ok())
            .context("no JSON line from the PyTorch reference")
    };
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); METRICS.len()];
    let mut log = Vec::new();
    for round in 0..rounds {
        let cores = bench_child("seed", "core-check")?;
        let (ours, theirs) = if round % 2 == 0 {
            let o = bench_child("seed", "fused-lstm")?;
            (o, torch()?)
        } else {
            let t = torch()?;
            (bench_child("seed", "fused-lstm")?, t)
        };
        let mut line = format!(
            "round {} ({} first, CPU scaling {:.2}×):",
            round + 1,
            if round % 2 == 0 { "tsf" } else { "pytorch" },
            cores["scaling"].as_f64().unwrap_or(f64::NAN)
        );
        for (i, (key, label, higher_better)) in METRICS.into_iter().enumerate() {
            if let Some((a, b, r)) = speedup(&ours, &theirs, key, higher_better) {
                ratios[i].push(r);
                line.push_str(&format!("  {label} {a:.1} vs {b:.1} ({r:.2}×)"));
            }
        }
        println!("{line}");
        log.push(serde_json::json!({ "round": round + 1, "core_scaling": cores["scaling"], "fused": ours, "pytorch": theirs }));
    }
    println!(
        "median over {rounds} rounds of the per-round speed-up of the fused LSTM over PyTorch:"
    );
    for (i, (_, label, _)) in METRICS.iter().enumerate() {
        let mut v = ratios[i].clone();
        v.sort_by(f64::total_cmp);
        if let (Some(lo), Some(hi)) = (v.first(), v.last()) {
            println!(
                "  {label:<9} {:.2}× (range {lo:.2}-{hi:.2}×)",
                v[v.len() / 2]
            );
        }
    }
    let out = root().join("target/bench/pair.json");
    std::fs::create_dir_all(out.parent().unwrap_or(Path::new(".")))?;
    std::fs::write(&out, serde_json::to_string_pretty(&log)?)
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!("rounds: {}", out.display());
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => {
            let status = Command::new("bash").arg(root().join(".ci/run")).status()?;
            if !status.success() {
                bail!(".ci/run failed with {status}");
            }
            Ok(())
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("tune") => {
            // TPE and random search vs Optuna's medians (crates/ts-tune/benches/tpe.rs).
            let out = root().join("target/bench/tune.json");
            let mut envs = vec![("TSF_BENCH_TUNE_OUT", out.display().to_string())];
            if args.iter().any(|a| a == "--quick") {
                envs.push(("TSF_BENCH_QUICK", "1".into()));
            }
            cargo(&["bench", "--workspace", "--bench", "tpe"], &envs)
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("tune-workers") => {
            bench_tune_workers(&args)
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("pair") => {
            let rounds = args
                .iter()
                .position(|a| a == "--rounds")
                .and_then(|i| args.get(i + 1))
                .map(|v| v.parse::<usize>().context("--rounds takes a number"))
                .transpose()?
                .unwrap_or(5);
            bench_pair(rounds)
        }
        Some("bench") => bench_lstm(&args),
        Some("quality") => quality::quality(&args[1..]),
        Some("demo") => demo(),
        Some("crash") => cargo(
            &[
                "test",
                "--workspace",
                "--release",
                "--test",
                "crash",
                "--",
                "--ignored",
                "--nocapture",
            ],
            &[],
        ),
        Some("memory") => memory(&args[1..]),
        _ => usage(),
    }
}

/// `cargo xtask bench tune-workers [--quick] [--lstm | --lstm-only]`.
fn bench_tune_workers(args: &[String]) -> Result<()> {
    // Worker processes on one study: journal, SQLite (and PostgreSQL with
    // TSF_BENCH_PG_URL), and the kill test (crates/ts-tune/benches/workers.rs). Only
    // ts-tune is built, with its `postgres` feature: `--workspace` would unify ts-cli's
    // features into it and compile Burn for a benchmark that never trains a model.
    let out = root().join("target/bench/tune_workers.json");
    let mut envs = vec![("TSF_BENCH_WORKERS_OUT", out.display().to_string())];
    if args.iter().any(|a| a == "--quick") {
        envs.push(("TSF_BENCH_QUICK", "1".into()));
    }
    // The LSTM objective runs `tsf tune` processes: build tsf (Burn; slow when cold).
    let lstm_only = args.iter().any(|a| a == "--lstm-only");
    if lstm_only || args.iter().any(|a| a == "--lstm") {
        cargo(&["build", "--release", "-p", "ts-cli"], &[])?;
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .map(|t| if t.is_relative() { root().join(t) } else { t })
            .unwrap_or_else(|| root().join("target"));
        let tsf = target.join("release").join("tsf");
        if !tsf.exists() {
            bail!("{} was not built", tsf.display());
        }
        envs.push(("TSF_BENCH_TSF", tsf.display().to_string()));
        if lstm_only {
            envs.push(("TSF_BENCH_LSTM_ONLY", "1".into()));
        }
    }
    cargo(
        &[
            "bench",
            "-p",
            "ts-tune",
            "--features",
            "postgres",
            "--bench",
            "workers",
        ],
        &envs,
    )
}

/// `cargo xtask bench [--quick]`: the LSTM speed benchmark and PyTorch's reference.
fn bench_lstm(args: &[String]) -> Result<()> {
    let out = root().join("target/bench/results.json");
    let quick = args.iter().any(|a| a == "--quick");
    let mut envs = vec![("TSF_BENCH_OUT", out.display().to_string())];
    if quick {
        envs.push(("TSF_BENCH_QUICK", "1".into()));
    }
    cargo(&["bench", "--workspace", "--bench", "lstm"], &envs)?;
    pytorch_reference(&out, quick)?;
    println!("results: {}", out.display());
    Ok(())
}

/// `cargo xtask demo`: the README job into `target/demo`.
fn demo() -> Result<()> {
    let out = root().join("target/demo");
    cargo(
        &[
            "run",
            "--release",
            "-p",
            "ts-cli",
            "--",
            "train",
            "--data",
            "data/statsmodels_macrodata.csv",
            "--target",
            "tbilrate",
            "--features",
            "realgdp,cpi,tbilrate,unemp,infl",
            "--out",
            &out.display().to_string(),
            "--force",
        ],
        &[],
    )
}

/// Prints the commands and exits with status 2.
fn usage() -> ! {
    eprintln!(
        "usage: cargo xtask <ci | bench [tune | tune-workers [--lstm | --lstm-only]] [--quick] | bench pair [--rounds N] | quality [...] | demo | crash | memory [--rows N] [--no-charts] [-- TRAIN FLAGS]>"
    );
    eprintln!("  ci     run .ci/run (wgpu check + the README's test command)");
    eprintln!("  bench  LSTM speed benchmark → target/bench/results.json");
    eprintln!(
        "  bench tune  TPE vs Optuna's medians (tests/golden/TPE.md) → target/bench/tune.json"
    );
    eprintln!(
        "  bench tune-workers  1-8 worker processes on one study (journal, SQLite; PostgreSQL with TSF_BENCH_PG_URL), kill test; --lstm: also 1-4 `tsf tune` processes on the LSTM objective (builds tsf) → target/bench/tune_workers.json"
    );
    eprintln!("  demo   train on the bundled data into target/demo");
    eprintln!("  crash  SIGKILL `tsf train` 20 times and check every file and the resume");
    eprintln!(
        "  memory peak RSS of `tsf train` on a generated 1,000,000 x 8 CSV vs the 3x-f32 bar"
    );
    eprintln!(
        "  quality  tsf against the naive, seasonal naive and drift forecasts on every bundled series (--seeds, --only, --skip, --markdown FILE, -- TRAIN FLAGS) → target/quality"
    );
    std::process::exit(2);
}

/// Value columns of the generated memory-test table (besides its time column).
const MEMORY_COLUMNS: usize = 8;

/// Writes the memory-test table: a `timestamp` column of hourly date-times from 2000-01-01 and
/// `MEMORY_COLUMNS` random-walk columns `x0..x7` with four decimals (about 96 bytes a row), the
/// same bytes for the same `rows` on every machine.
fn write_memory_csv(path: &Path, rows: usize) -> Result<()> {
    let file = std::fs::File::create(path)
        .with_context(|| format!("{}: cannot create", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let names: Vec<String> = (0..MEMORY_COLUMNS).map(|c| format!("x{c}")).collect();
    writeln!(w, "timestamp,{}", names.join(","))?;
    // A 64-bit LCG (Knuth's MMIX constants): no dependency, same stream everywhere.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 11) as f64) / ((1u64 << 53) as f64) - 0.5
    };
    let mut level: Vec<f64> = (0..MEMORY_COLUMNS)
        .map(|c| 100.0 + 10.0 * c as f64)
        .collect();
    // 2000-01-01 00:00:00 as days since 1970 and hours since then.
    let epoch_days: i64 = 10_957;
    let mut line = String::with_capacity(128);
    for r in 0..rows {
        let hours = r as i64;
        let (y, m, d) = civil_from_days(epoch_days + hours / 24);
        line.clear();
        use std::fmt::Write as _;
        write!(line, "{y:04}-{m:02}-{d:02} {:02}:00:00", hours % 24)?;
        for l in &mut level {
            *l += next();
            write!(line, ",{l:.4}")?;
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    w.flush()?;
    Ok(())
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// What `cargo xtask memory` was asked for.
struct MemoryOptions {
    /// Rows of the generated table.
    rows: usize,
    /// Pass `--no-charts` to `tsf train`.
    no_charts: bool,
    /// Flags after `--`, passed to `tsf train`.
    extra: Vec<String>,
}

impl MemoryOptions {
    /// Parses `[--rows N] [--no-charts] [-- FLAGS]`.
    fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self {
            rows: 1_000_000,
            no_charts: false,
            extra: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--rows" => {
                    options.rows = it
                        .next()
                        .context("--rows needs a number")?
                        .replace('_', "")
                        .parse()
                        .context("--rows needs a number")?;
                }
                "--no-charts" => options.no_charts = true,
                "--" => options.extra.extend(it.by_ref().cloned()),
                other => bail!("memory: unknown argument {other:?}"),
            }
        }
        Ok(options)
    }

    /// The `tsf train` arguments: one epoch of a small model on `csv`, into `out`.
    fn train_args(&self, csv: &Path, out: &Path) -> Vec<String> {
        let mut train: Vec<String> = [
            "train",
            "--data",
            &csv.display().to_string(),
            "--target",
            "x0",
            "--epochs",
            "1",
            "--hidden-size",
            "8",
            "--batch-size",
            "512",
            "--quiet",
            "--force",
            "--out",
            &out.display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if self.no_charts {
            train.push("--no-charts".into());
        }
        train.extend(self.extra.iter().cloned());
        train
    }
}

/// `cargo xtask memory [--rows N] [--no-charts] [-- FLAGS]`: generates the table into
/// `target/memory/`, builds the release binary, runs `tsf train --epochs 1 --hidden-size 8
/// --batch-size 512` on it under `/usr/bin/time -v` and prints the peak RSS next to the bar
/// (3 × the data's f32 size + the model's f32 weights).
fn memory(args: &[String]) -> Result<()> {
    let options = MemoryOptions::parse(args)?;
    let rows = options.rows;
    let dir = root().join("target/memory");
    std::fs::create_dir_all(&dir)?;
    let csv = dir.join(format!("rows_{rows}x{MEMORY_COLUMNS}.csv"));
    if !csv.exists() {
        println!("generating {} ...", csv.display());
        let tmp = csv.with_extension("csv.tmp");
        write_memory_csv(&tmp, rows)?;
        std::fs::rename(&tmp, &csv)?;
    }
    cargo(&["build", "--workspace", "--release"], &[])?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let tsf = target_dir.join("release/tsf");
    let train = options.train_args(&csv, &dir.join("run"));
    println!("/usr/bin/time -v {} {}", tsf.display(), train.join(" "));
    let output = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(&tsf)
        .args(&train)
        .current_dir(root())
        .output()
        .context("cannot run /usr/bin/time (GNU time)")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    print!("{stdout}");
    if !output.status.success() {
        eprint!("{stderr}");
        bail!("tsf train failed with {}", output.status);
    }
    report_memory(&stdout, &stderr, rows)
}

/// Prints the peak RSS that `/usr/bin/time -v` reported in `stderr` next to the bar for `rows`
/// rows and the model size `tsf train` printed in `stdout`.
fn report_memory(stdout: &str, stderr: &str, rows: usize) -> Result<()> {
    let field = |name: &str| -> Option<String> {
        stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
    };
    let peak_kib: u64 = field("Maximum resident set size (kbytes):")
        .context("no \"Maximum resident set size\" in /usr/bin/time -v's report")?
        .parse()?;
    let params: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Model parameters: "))
        .map(|v| v.replace(',', ""))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let data_bytes = (rows * MEMORY_COLUMNS * 4) as u64;
    let bar = 3 * data_bytes + 4 * params;
    let peak = peak_kib * 1024;
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "peak RSS {:.1} MB ({peak_kib} KiB); bar {:.1} MB = 3 x {:.1} MB of f32 data + {:.3} MB of model ({params} parameters); wall {}; {}",
        mb(peak),
        mb(bar),
        mb(data_bytes),
        mb(4 * params),
        field("Elapsed (wall clock) time (h:mm:ss or m:ss):").unwrap_or_default(),
        if peak <= bar {
            "under the bar"
        } else {
            "OVER the bar"
        }
    );
    Ok(())
}
