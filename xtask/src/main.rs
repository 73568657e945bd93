//! Developer tasks: `cargo xtask ci | bench | demo | crash`.

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
    let metrics = [
        ("ms_per_epoch", "ms/epoch", false),
        ("inference_windows_per_s_batch1", "w/s @1", true),
        ("inference_windows_per_s_batch32", "w/s @32", true),
        ("inference_windows_per_s_batch256", "w/s @256", true),
    ];
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
        for (key, label, higher_better) in metrics {
            let (t, f) = (torch[key].as_f64(), fused[key].as_f64());
            if let (Some(t), Some(f)) = (t, f) {
                // Speed-up of the fused LSTM over PyTorch (> 1: tsf is faster).
                let ratio = if higher_better { f / t } else { t / f };
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
        Some("bench") => {
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
        Some("demo") => {
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
        _ => {
            eprintln!("usage: cargo xtask <ci | bench [tune] [--quick] | demo | crash>");
            eprintln!("  ci     run .ci/run (wgpu check + the README's test command)");
            eprintln!("  bench  LSTM speed benchmark → target/bench/results.json");
            eprintln!(
                "  bench tune  TPE vs Optuna's medians (shared/golden/TPE.md) → target/bench/tune.json"
            );
            eprintln!("  demo   train on the bundled data into target/demo");
            eprintln!("  crash  SIGKILL `tsf train` 20 times and check every file and the resume");
            std::process::exit(2);
        }
    }
}
