//! `cargo xtask quality`: tsf's forecasts against the naive, seasonal naive and drift forecasts
//! on every bundled series (and `../shared/data` when present), at horizon 1, one season and,
//! where the data allow, four seasons. Prints a Markdown table, then the entries that meet each
//! bar (MASE below the seasonal naive's, coverage within 75–85 % and 90–98 % with the number that
//! intervals covering exactly 80 % and 95 % would meet by chance, the seed spread under 10 %),
//! and writes `target/quality/quality.json`.
//!
//! Options: `--quick` (horizon 1 and one season only, 30 epochs), `--epochs N`, `--model M`
//! (passed to `tsf train`), `--seeds 1,2,3` (each entry
//! once per seed; the table shows the median MASE and the spread of test MAE across seeds),
//! `--only NAME[,NAME…]` / `--skip NAME[,NAME…]` (entries whose file or target contains a NAME), `--markdown FILE` (also write the
//! table there), and after `--` any `tsf train` flags, passed to every run (e.g.
//! `-- --interval-method split`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::root;

/// One series to score.
struct Entry {
    file: &'static str,
    target: &'static str,
    season: usize,
    rows: usize,
    extra: &'static [&'static str],
    /// Horizons to score instead of 1, one season and four seasons.
    horizons: Option<&'static [usize]>,
}

const ENTRIES: &[Entry] = &[
    Entry {
        file: "statsmodels_macrodata.csv",
        target: "tbilrate",
        season: 4,
        rows: 203,
        extra: &["--features", "realgdp,cpi,tbilrate,unemp,infl"],
        horizons: None,
    },
    Entry {
        file: "statsmodels_macrodata.csv",
        target: "unemp",
        season: 4,
        rows: 203,
        extra: &[],
        horizons: None,
    },
    Entry {
        file: "statsmodels_sunspots.csv",
        target: "SUNACTIVITY",
        season: 1,
        rows: 309,
        extra: &["--features", "SUNACTIVITY"],
        horizons: None,
    },
    Entry {
        file: "statsmodels_co2.csv",
        target: "co2",
        season: 52,
        rows: 2284,
        extra: &["--fill", "interpolate"],
        horizons: None,
    },
    Entry {
        file: "pmdarima_wineind.csv",
        target: "wine_sales",
        season: 12,
        rows: 176,
        extra: &[],
        horizons: None,
    },
    Entry {
        file: "pmdarima_taylor.csv",
        target: "demand_mw",
        season: 336,
        rows: 4032,
        extra: &["--scaler", "standard"],
        // The daily season (48) rather than the weekly one (336, the lookback): the validation
        // part (322 rows) holds no window of 336 steps.
        horizons: Some(&[1, 48]),
    },
    Entry {
        file: "macro_fred_monthly_1990_2025.csv",
        target: "Federal Funds Rate",
        season: 12,
        rows: 423,
        extra: &[],
        horizons: None,
    },
    Entry {
        file: "macro_fred_monthly_1990_2025.csv",
        target: "Inflation Rate (CPI)",
        season: 12,
        rows: 423,
        extra: &[],
        horizons: None,
    },
    Entry {
        file: "statsmodels_elec_equip.csv",
        target: "elec_equip_index",
        season: 12,
        rows: 257,
        extra: &[],
        horizons: None,
    },
    Entry {
        file: "statsmodels_elnino.csv",
        target: "sst_nino12",
        season: 12,
        rows: 732,
        extra: &[],
        horizons: None,
    },
    Entry {
        file: "fred_us_macro_raw_monthly.csv",
        target: "UNRATE",
        season: 12,
        rows: 467,
        // UNRATE has no October 2025 figure (BLS published none).
        extra: &[
            "--features",
            "FEDFUNDS,UNRATE,CPIAUCSL",
            "--fill",
            "interpolate",
        ],
        horizons: None,
    },
    Entry {
        file: "statsmodels_danish_data.csv",
        target: "lrm",
        season: 4,
        rows: 55,
        // `period` (1974Q1, …) is a label, not a number.
        extra: &["--features", "lrm,lry,lpy,ibo,ide"],
        horizons: None,
    },
    Entry {
        file: "statsmodels_nile.csv",
        target: "volume",
        season: 1,
        rows: 100,
        extra: &["--features", "volume"],
        horizons: None,
    },
];

/// The file of an entry: `data/` first, then `../shared/data/`.
fn locate(file: &str) -> Option<PathBuf> {
    [root().join("data"), root().join("../shared/data")]
        .into_iter()
        .map(|d| d.join(file))
        .find(|p| p.exists())
}

/// Horizons of an entry: 1, one season, four seasons, where the test part (20 % of the rows)
/// holds at least one window's targets.
fn horizons(e: &Entry, quick: bool) -> Vec<usize> {
    if let Some(h) = e.horizons {
        return h.to_vec();
    }
    let test_start = (e.rows as f64 * 0.8).floor() as usize;
    let test_rows = e.rows - test_start;
    let val_rows = test_start - (test_start as f64 * 0.9).floor() as usize;
    let mut h = vec![1];
    if e.season > 1 {
        h.push(e.season);
        if !quick {
            h.push(4 * e.season);
        }
    }
    h.retain(|&x| x < test_rows / 2 && x <= val_rows);
    h.dedup();
    h
}

/// One run's numbers.
#[derive(Clone, Debug)]
struct Run {
    mase: [f64; 4],
    mae: [f64; 4],
    coverage: Vec<f64>,
    model: String,
    seconds: f64,
    /// Test windows scored.
    windows: usize,
}

fn score(v: &serde_json::Value, key: &str) -> (f64, f64) {
    (
        v[key]["mase"].as_f64().unwrap_or(f64::NAN),
        v[key]["mae"].as_f64().unwrap_or(f64::NAN),
    )
}

fn run_one(
    tsf: &Path,
    data: &Path,
    e: &Entry,
    h: usize,
    seed: u64,
    train_flags: &[String],
) -> Result<Run> {
    let out = root().join("target/quality/runs").join(format!(
        "{}-{}-h{h}-s{seed}",
        e.file.trim_end_matches(".csv"),
        e.target.replace(' ', "_")
    ));
    let mut c = Command::new(tsf);
    c.arg("train")
        .arg("--data")
        .arg(data)
        .args(["--target", e.target])
        .args(["--horizon", &h.to_string()])
        .args(["--seed", &seed.to_string()])
        .args(["--quiet", "--no-charts", "--force"])
        .arg("--out")
        .arg(&out)
        .args(e.extra);
    c.args(train_flags);
    let t0 = Instant::now();
    let o = c
        .output()
        .with_context(|| format!("cannot run {}", tsf.display()))?;
    let seconds = t0.elapsed().as_secs_f64();
    if !o.status.success() {
        bail!(
            "tsf train on {} ({}, h {h}) failed: {}",
            e.file,
            e.target,
            String::from_utf8_lossy(&o.stderr).trim()
        );
    }
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("metrics.json")).context("metrics.json")?)?;
    let t = &m["targets"][e.target];
    let s = &t["scores"];
    let keys = ["model", "naive", "seasonal_naive", "drift"];
    let mut mase = [0.0; 4];
    let mut mae = [0.0; 4];
    for (i, k) in keys.iter().enumerate() {
        (mase[i], mae[i]) = score(s, k);
    }
    let coverage = m["intervals"]["coverage"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["coverage"].as_f64()).collect())
        .unwrap_or_default();
    Ok(Run {
        mase,
        mae,
        coverage,
        model: m["model"].as_str().unwrap_or("?").to_string(),
        seconds,
        windows: m["windows"].as_u64().unwrap_or(0) as usize,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

/// The options of `cargo xtask quality`.
struct Options {
    quick: bool,
    seeds: Vec<u64>,
    only: Option<String>,
    skip: Option<String>,
    markdown: Option<String>,
    /// Flags for every `tsf train` run: `--epochs`, `--model`, then those after `--`.
    train_flags: Vec<String>,
}

impl Options {
    /// Parses `[--quick] [--seeds 1,2,3] [--only N] [--skip N] [--epochs N] [--model M]
    /// [--markdown FILE] [-- TRAIN FLAGS]`.
    fn parse(args: &[String]) -> Result<Self> {
        let (args, after) = match args.iter().position(|a| a == "--") {
            Some(i) => (&args[..i], &args[i + 1..]),
            None => (args, &[][..]),
        };
        let quick = args.iter().any(|a| a == "--quick");
        let value = |flag: &str| {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
                .cloned()
        };
        let seeds: Vec<u64> = match value("--seeds") {
            Some(s) => s
                .split(',')
                .map(|x| {
                    x.trim()
                        .parse()
                        .context("--seeds: expected numbers like 1,2,3")
                })
                .collect::<Result<_>>()?,
            None => vec![1],
        };
        let epochs = value("--epochs").or_else(|| quick.then(|| "30".to_string()));
        let model = value("--model");
        let train_flags: Vec<String> = epochs
            .iter()
            .map(|n| ["--epochs".to_string(), n.clone()])
            .chain(model.iter().map(|m| ["--model".to_string(), m.clone()]))
            .flatten()
            .chain(after.iter().cloned())
            .collect();
        Ok(Self {
            quick,
            seeds,
            only: value("--only"),
            skip: value("--skip"),
            markdown: value("--markdown"),
            train_flags,
        })
    }

    /// Whether entry `e` is selected (`NAME[,NAME…]`: an entry matches when its file or target
    /// contains one of the names).
    fn selects(&self, e: &Entry) -> bool {
        let matches = |list: &str| {
            list.split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .any(|n| e.file.contains(n) || e.target.contains(n))
        };
        self.only.as_deref().is_none_or(&matches) && !self.skip.as_deref().is_some_and(matches)
    }
}

/// The header of the quality table.
const TABLE_HEADER: &str = "| data | target | season | h | model kept | MASE tsf | naive | seasonal naive | drift | MAE tsf | best baseline MAE | beats all | 80 % cover | 95 % cover | MAE spread over seeds | s |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";

/// `cargo xtask quality [--quick] [--seeds 1,2,3] [--only NAME] [--markdown FILE]`.
pub fn quality(args: &[String]) -> Result<()> {
    let opts = Options::parse(args)?;
    // The whole workspace, so that the build shares the test build's feature set.
    crate::cargo(&["build", "--release", "-q", "--workspace"], &[])?;
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target"));
    let tsf = target_dir.join("release/tsf");
    let mut table = String::from(TABLE_HEADER);
    let mut json = Vec::new();
    let mut bars = Bars::default();
    for e in ENTRIES.iter().filter(|e| opts.selects(e)) {
        let Some(data) = locate(e.file) else {
            println!("skipped {}: not in data/ or ../shared/data/", e.file);
            continue;
        };
        for h in horizons(e, opts.quick) {
            let mut runs = Vec::new();
            for &seed in &opts.seeds {
                match run_one(&tsf, &data, e, h, seed, &opts.train_flags) {
                    Ok(r) => {
                        println!(
                            "{} {} h={h} seed {seed}: MASE {:.3} (naive {:.3}, seasonal naive {:.3}, drift {:.3}), {} in {:.1} s",
                            e.file,
                            e.target,
                            r.mase[0],
                            r.mase[1],
                            r.mase[2],
                            r.mase[3],
                            r.model,
                            r.seconds
                        );
                        runs.push(r);
                    }
                    Err(err) => println!("{err:#}"),
                }
            }
            if runs.is_empty() {
                continue;
            }
            let (row, value) = summarize(e, h, &runs, &opts.seeds);
            table.push_str(&row);
            bars.add(e, &runs, &value);
            json.push(value);
        }
    }
    let summary = bars.summary(opts.seeds.len() > 1);
    println!("\n{table}\n{summary}");
    table.push('\n');
    table.push_str(&summary);
    let dir = root().join("target/quality");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("quality.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    if let Some(md) = &opts.markdown {
        std::fs::write(md, &table).with_context(|| format!("cannot write {md}"))?;
    }
    Ok(())
}

/// One table row and its JSON record for entry `e` at horizon `h` over the seeds' runs:
/// medians of MASE, MAE and coverage, the spread of the test MAE, whether tsf beats every
/// baseline.
fn summarize(e: &Entry, h: usize, runs: &[Run], seeds: &[u64]) -> (String, serde_json::Value) {
    let med = |i: usize| median(runs.iter().map(|r| r.mase[i]).collect());
    let mae = |i: usize| median(runs.iter().map(|r| r.mae[i]).collect());
    let maes: Vec<f64> = runs.iter().map(|r| r.mae[0]).collect();
    let lo = maes.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = maes.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let spread = if lo > 0.0 {
        (hi - lo) / lo * 100.0
    } else {
        0.0
    };
    let best_base = if e.season > 1 {
        mae(1).min(mae(2)).min(mae(3))
    } else {
        mae(1).min(mae(3))
    };
    let beats = mae(0) < best_base - 1e-6 * best_base.abs();
    let cov = |k: usize| {
        median(
            runs.iter()
                .filter_map(|r| r.coverage.get(k).copied())
                .collect(),
        )
    };
    let models: Vec<&str> = runs.iter().map(|r| r.model.as_str()).collect();
    let secs = median(runs.iter().map(|r| r.seconds).collect());
    let row = format!(
        "| `{}` | {} | {} | {h} | {} | {:.3} | {:.3} | {} | {:.3} | {:.4} | {:.4} | {} | {:.1} % | {:.1} % | {:.1} % | {:.0} |\n",
        e.file,
        e.target,
        e.season,
        models.join(", "),
        med(0),
        med(1),
        if e.season > 1 {
            format!("{:.3}", med(2))
        } else {
            "—".into()
        },
        med(3),
        mae(0),
        best_base,
        if beats { "yes" } else { "**no**" },
        cov(0) * 100.0,
        cov(1) * 100.0,
        spread,
        secs
    );
    let value = serde_json::json!({
        "file": e.file, "target": e.target, "season": e.season, "horizon": h,
        "seeds": seeds, "mase": [med(0), med(1), med(2), med(3)],
        "mae": [mae(0), mae(1), mae(2), mae(3)], "beats_baselines": beats,
        "coverage_80": cov(0), "coverage_95": cov(1), "mae_spread_percent": spread,
        "models": models, "seconds": secs,
    });
    (row, value)
}

/// Coverage levels of the table and the range the bar asks of each.
const COVERAGE_BARS: [(f64, f64, f64); 2] = [(0.8, 0.75, 0.85), (0.95, 0.90, 0.98)];

/// The table's entries against the bars of forecast quality: MASE below the seasonal naive's
/// (the naive's without a season), coverage in range, a test MAE spread over seeds under 10 %.
#[derive(Default)]
struct Bars {
    entries: usize,
    mase: usize,
    covered: [usize; 2],
    /// Expected entries in range for intervals covering exactly their level.
    expected: [f64; 2],
    stable: usize,
}

impl Bars {
    fn add(&mut self, e: &Entry, runs: &[Run], row: &serde_json::Value) {
        let f = |k: &str| row[k].as_f64().unwrap_or(f64::NAN);
        let mase = |i: usize| row["mase"][i].as_f64().unwrap_or(f64::NAN);
        self.entries += 1;
        self.mase += usize::from(mase(0) < mase(if e.season > 1 { 2 } else { 1 }));
        let windows = median(runs.iter().map(|r| r.windows as f64).collect()) as usize;
        for (k, (level, lo, hi)) in COVERAGE_BARS.into_iter().enumerate() {
            let c = f(&format!("coverage_{}", (level * 100.0).round()));
            // 17 of 20 is 85 %, whatever the last bit of the division says.
            self.covered[k] += usize::from((lo - 1e-9..=hi + 1e-9).contains(&c));
            self.expected[k] += binomial_in_range(windows, level, lo, hi);
        }
        self.stable += usize::from(f("mae_spread_percent") < 10.0);
    }

    fn summary(&self, seeds: bool) -> String {
        let n = self.entries;
        let mut s = format!(
            "- MASE below the seasonal naive's (the naive's without a season): {} of {n}\n",
            self.mase
        );
        for (k, (level, lo, hi)) in COVERAGE_BARS.into_iter().enumerate() {
            s += &format!(
                "- {:.0} % intervals covering {:.0}–{:.0} %: {} of {n} (intervals covering exactly {:.0} %: {:.1} expected, binomial over the test windows; the steps of a window, counted in the coverage, are not independent draws)\n",
                level * 100.0,
                lo * 100.0,
                hi * 100.0,
                self.covered[k],
                level * 100.0,
                self.expected[k]
            );
        }
        if seeds {
            s += &format!(
                "- test MAE spread over the seeds under 10 %: {} of {n}\n",
                self.stable
            );
        }
        s
    }
}

/// Probability that `X / n` lies in `[lo, hi]` for `X ~ Binomial(n, p)` (log space, so that
/// large `n` does not underflow).
fn binomial_in_range(n: usize, p: f64, lo: f64, hi: f64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    let mut ln_choose = 0.0;
    let mut total = 0.0;
    for k in 0..=n {
        if k > 0 {
            ln_choose += ((n - k + 1) as f64).ln() - (k as f64).ln();
        }
        let x = k as f64 / n as f64;
        if (lo - 1e-9..=hi + 1e-9).contains(&x) {
            total += (ln_choose + k as f64 * lp + (n - k) as f64 * lq).exp();
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::binomial_in_range;

    #[test]
    fn binomial_ranges_match_hand_counts() {
        // n = 8, p = 0.95: 90–98 % holds no count (7/8 = 87.5 %, 8/8 = 100 %).
        assert_eq!(binomial_in_range(8, 0.95, 0.90, 0.98), 0.0);
        // n = 1: only k = 1 lies in [0.5, 1]: probability p.
        assert!((binomial_in_range(1, 0.8, 0.5, 1.0) - 0.8).abs() < 1e-12);
        // The whole range sums to one, even for n = 760.
        assert!((binomial_in_range(760, 0.8, 0.0, 1.0) - 1.0).abs() < 1e-9);
        // n = 41 at 95 %: 37..=40 of 41, as computed with Python's math.comb: 0.8254.
        assert!((binomial_in_range(41, 0.95, 0.90, 0.98) - 0.825_379).abs() < 1e-6);
    }
}
