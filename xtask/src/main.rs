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
