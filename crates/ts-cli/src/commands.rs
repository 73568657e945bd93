//! The subcommands: each parses its inputs, calls the library crates, and writes files.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use ts_data::{FillPolicy, LoadOptions, load};
use ts_model::file::{write_atomic, write_atomic_with};
use ts_train::pipeline::{self, DataSummary};
use ts_train::progress::ProgressBar;
use ts_train::{ForecastConfig, TargetSpec};

use crate::args::{EvaluateArgs, PredictArgs, TrainArgs};

/// Files that mark a folder as holding a run.
const RUN_FILES: [&str; 4] = [
    "model.tsf",
    "metrics.json",
    "history.json",
    "predictions.csv",
];

/// Merges `over` into `base` key by key (TOML config over defaults).
pub(crate) fn merge(base: &mut serde_json::Value, over: serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

/// A relative `data.path` of a TOML file is relative to that file's folder (a `--data` flag
/// stays relative to the working directory).
pub(crate) fn resolve_data_path(cfg: &mut ForecastConfig, toml_path: &Path) {
    if let Some(p) = &mut cfg.data.path
        && p.is_relative()
    {
        let dir = toml_path.parent().unwrap_or(Path::new(""));
        *p = dir.join(&*p);
    }
}

/// The first NaN or infinite float of a TOML value, with its dotted key.
pub(crate) fn non_finite(v: &toml::Value, key: &str) -> Option<(String, f64)> {
    match v {
        toml::Value::Float(f) if !f.is_finite() => Some((key.to_string(), *f)),
        toml::Value::Table(t) => t.iter().find_map(|(k, v)| {
            let key = if key.is_empty() {
                k.clone()
            } else {
                format!("{key}.{k}")
            };
            non_finite(v, &key)
        }),
        toml::Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, v)| non_finite(v, &format!("{key}[{i}]"))),
        _ => None,
    }
}

/// Defaults (or the seed recipe) ← TOML file ← flags.
pub fn build_config(a: &TrainArgs) -> Result<ForecastConfig> {
    let base = if a.seed_recipe {
        ForecastConfig::seed_recipe()
    } else {
        ForecastConfig::default()
    };
    let mut cfg = if let Some(path) = &a.config {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow!("{}: cannot read config: {e}", path.display()))?;
        let t: toml::Value = toml::from_str(&text)
            .map_err(|e| anyhow!("{}: invalid TOML: {}", path.display(), e.message()))?;
        // JSON has no NaN or infinity: name such a value here rather than as "invalid type: null".
        if let Some((key, v)) = non_finite(&t, "") {
            bail!("{}: {key} = {v}: must be a finite number", path.display());
        }
        let mut v = serde_json::to_value(&base)?;
        merge(&mut v, serde_json::to_value(t)?);
        let mut cfg = serde_json::from_value::<ForecastConfig>(v)
            .map_err(|e| anyhow!("{}: {e}", path.display()))?;
        resolve_data_path(&mut cfg, path);
        cfg
    } else {
        base
    };
    let d = &mut cfg.data;
    if let Some(v) = &a.data {
        d.path = Some(v.clone());
    }
    if let Some(v) = &a.target {
        d.target = TargetSpec::One(v.clone());
    }
    if let Some(v) = &a.features {
        d.features = v
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
    }
    if let Some(v) = &a.time_column {
        d.time_column = Some(v.clone());
    }
    if let Some(v) = &a.fill {
        d.fill = v.parse()?;
    }
    if let Some(v) = a.sequence_length {
        d.sequence_length = Some(v);
    }
    if let Some(v) = a.season {
        d.season = Some(v);
    }
    if let Some(v) = a.horizon {
        d.horizon = v;
    }
    if let Some(v) = a.train_split {
        d.train_split = v;
    }
    if let Some(v) = a.validation {
        d.validation = v;
    }
    if let Some(v) = &a.scaler {
        d.scaler = v.parse()?;
    }
    let m = &mut cfg.model;
    if let Some(v) = &a.model {
        m.kind = v.parse()?;
    }
    if let Some(v) = a.hidden_size {
        m.hidden_size = v;
    }
    if let Some(v) = a.num_layers {
        m.num_layers = v;
    }
    if let Some(v) = a.dropout {
        m.dropout = v;
    }
    if let Some(v) = a.residual {
        m.residual = v;
    }
    if let Some(v) = a.ensemble {
        m.ensemble = v;
    }
    let t = &mut cfg.train;
    if let Some(v) = a.epochs {
        t.epochs = v;
    }
    if let Some(v) = a.batch_size {
        t.batch_size = v;
    }
    if let Some(v) = &a.intervals {
        t.intervals = ts_train::intervals::parse_levels(v)?;
    }
    if let Some(v) = a.learning_rate {
        t.learning_rate = v;
    }
    if let Some(v) = &a.lr_schedule {
        t.lr_schedule = v.parse()?;
    }
    if let Some(v) = &a.optimizer {
        t.optimizer = v.parse()?;
    }
    if let Some(v) = a.weight_decay {
        t.weight_decay = v;
    }
    if let Some(v) = a.grad_clip {
        t.grad_clip = (v != 0.0).then_some(v);
    }
    // 0 turns clipping off, from the TOML file too.
    if t.grad_clip == Some(0.0) {
        t.grad_clip = None;
    }
    if let Some(v) = &a.loss {
        t.loss = v.parse()?;
    }
    if let Some(v) = a.huber_delta {
        t.huber_delta = v;
    }
    if let Some(v) = a.mse_weight {
        t.mse_weight = v;
    }
    if let Some(v) = a.patience {
        t.patience = v;
    }
    if let Some(v) = a.seed {
        t.seed = v;
    }
    if a.no_shuffle {
        t.shuffle = false;
    }
    if let Some(v) = &a.device {
        cfg.device = v.parse()?;
    }
    cfg.validate()?;
    tracing::info!(
        "configuration: {}",
        serde_json::to_string(&cfg).unwrap_or_default()
    );
    Ok(cfg)
}

fn check_out_dir(out: &Path, force: bool) -> Result<()> {
    if out.exists() && !out.is_dir() {
        bail!("{}: output path exists and is not a folder", out.display());
    }
    if !force && let Some(f) = RUN_FILES.iter().find(|f| out.join(f).exists()) {
        bail!(
            "{}: output folder already holds a run ({f}); use --force to overwrite it or choose another --out",
            out.display()
        );
    }
    Ok(())
}

/// Whether two paths name the same existing file (same device and inode on Unix, same
/// canonical path elsewhere), through links and `..`.
fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        ma.dev() == mb.dev() && ma.ino() == mb.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (ma, mb);
        matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    }
}

/// Refuses an output path that is the same file as one of the inputs (writing it would destroy
/// the input), or that exists and is not a regular file (a symbolic link, FIFO, device, socket
/// or folder).
pub(crate) fn check_output(out: &Path, inputs: &[&Path]) -> Result<()> {
    if let Some(input) = inputs.iter().find(|i| same_file(out, i)) {
        bail!(
            "{}: the output is the same file as the input {}; choose another output path",
            out.display(),
            input.display()
        );
    }
    ts_model::file::check_output_path(out)?;
    Ok(())
}

/// Writes a file atomically, naming it in the error.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes).with_context(|| format!("{}: cannot write", path.display()))
}

fn fmt_thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn print_summary(d: &DataSummary) {
    println!(
        "Loaded {}: {} rows, {} columns",
        d.source,
        d.rows,
        d.columns.len()
    );
    println!("Date range: {} to {}", d.start, d.end);
    println!("Variables: {}", d.columns.join(", "));
}

fn print_metrics(eval: &ts_train::Evaluation) {
    for t in &eval.targets {
        let sc = &t.scores;
        let season = if t.season > 1 {
            format!("season {}", t.season)
        } else {
            "no season".to_string()
        };
        println!("{} ({season}):", t.target);
        println!(
            "  {:<16} {:>14} {:>14} {:>8} {:>9} {:>9}",
            "", "MAE", "RMSE", "MASE", "sMAPE %", "R²"
        );
        let row = |name: &str, s: &ts_train::Score| {
            println!(
                "  {:<16} {:>14.6} {:>14.6} {:>8.4} {:>9.3} {:>9.4}",
                name, s.mae, s.rmse, s.mase, s.smape, s.r2
            );
        };
        row("model", &sc.model);
        row("naive", &sc.naive);
        if t.season > 1 {
            row("seasonal naive", &sc.seasonal_naive);
        }
        row("drift", &sc.drift);
        let lost = sc.unbeaten(t.season);
        if !lost.is_empty() {
            println!("  ← does not beat (MAE) the {} forecast", lost.join(", "));
        }
    }
}

fn metrics_json(eval: &ts_train::Evaluation, extra: serde_json::Value) -> serde_json::Value {
    let mut targets = serde_json::Map::new();
    for t in &eval.targets {
        targets.insert(
            t.target.clone(),
            serde_json::json!({
                "scaled": t.scaled,
                "original": t.original,
                "naive": { "scaled": t.naive.scaled, "original": t.naive.original },
                "by_step": t.by_step,
                "beats_naive": t.beats_naive,
                "season": t.season,
                "mase_scale": t.mase_scale,
                "scores": t.scores,
                "scores_by_step": t.scores_by_step,
                "beats_baselines": t.beats_baselines,
            }),
        );
    }
    let mut v = serde_json::json!({ "windows": eval.windows, "targets": targets });
    merge(&mut v, extra);
    v
}

fn print_coverage(iv: Option<&ts_train::Intervals>, coverage: &[ts_train::Coverage]) {
    let Some(iv) = iv else { return };
    for (c, capped) in coverage.iter().zip(&iv.capped) {
        println!(
            "  {:.0} % interval: covers {:.1} % of {} values, mean width {:.6}{}",
            c.level * 100.0,
            c.coverage * 100.0,
            c.count,
            c.mean_width,
            if *capped {
                format!(
                    "  (only {} validation windows: the widest error was used)",
                    iv.calibration_windows
                )
            } else {
                String::new()
            }
        );
    }
}

fn intervals_json(
    iv: Option<&ts_train::Intervals>,
    coverage: &[ts_train::Coverage],
) -> serde_json::Value {
    match iv {
        Some(iv) => serde_json::json!({
            "method": "split conformal, absolute errors on the validation part, per horizon step and target",
            "calibration_windows": iv.calibration_windows,
            "levels": iv.levels,
            "capped": iv.capped,
            "half_width": iv.half_width,
            "coverage": coverage,
        }),
        None => serde_json::Value::Null,
    }
}

/// The data file of a configuration and the options that load just the columns it uses
/// (`tsf train`, `tsf tune`, `tsf backtest`).
pub(crate) fn data_source(cfg: &ForecastConfig) -> Result<(std::path::PathBuf, LoadOptions)> {
    let path =
        cfg.data.path.clone().ok_or_else(|| {
            anyhow!("no data file: pass --data FILE or set data.path in the config")
        })?;
    let options = LoadOptions {
        time_column: cfg.data.time_column.clone(),
        columns: cfg.data.columns_needed(),
        fill: cfg.data.fill,
    };
    Ok((path, options))
}

/// `tsf train`.
pub fn train(mut a: TrainArgs) -> Result<()> {
    let (cfg, resume) = crate::checkpointing::config_and_resume(&mut a)?;
    let (data_path, load_options) = data_source(&cfg)?;
    if matches!(&cfg.data.target, TargetSpec::One(s) if s.trim().is_empty())
        || matches!(&cfg.data.target, TargetSpec::Many(v) if v.is_empty())
    {
        // Load first so that the message can list the columns.
        let frame = load(&data_path, &load_options)?;
        bail!(
            "no target: pass --target COLUMN (one of: {}), a comma-separated list, or \"all\"",
            frame.columns.join(", ")
        );
    }
    if resume.is_none() {
        check_out_dir(&a.out, a.force)?;
    }
    for f in RUN_FILES
        .iter()
        .chain([&ts_train::checkpoint::CHECKPOINT_FILE])
    {
        check_output(&a.out.join(f), &[&data_path])?;
    }
    let mut frame = load(&data_path, &load_options)?;
    let summary = DataSummary::of(&frame);
    print_summary(&summary);
    // The frame's values become the scaled series (held once); its labels stay.
    let prepared = pipeline::prepare_frame_owned(&mut frame, &cfg)?;
    println!(
        "Target{}: {}",
        if prepared.spec.targets.len() > 1 {
            "s"
        } else {
            ""
        },
        prepared.spec.targets.join(", ")
    );
    // Every target is also an input: say so when the listed features left one out.
    let added: Vec<&str> = prepared
        .spec
        .targets
        .iter()
        .filter(|t| !cfg.data.features.is_empty() && !cfg.data.features.contains(t))
        .map(String::as_str)
        .collect();
    println!(
        "Inputs: {}{}",
        prepared.spec.features.join(", "),
        if added.is_empty() {
            String::new()
        } else {
            format!(
                " ({} added to the listed features: every target is also an input)",
                added.join(", ")
            )
        }
    );
    println!(
        "Windows: train {}, validation {}, test {} (sequence length {}, horizon {})",
        prepared.train.n,
        prepared.validation.n,
        prepared.test.n,
        prepared.spec.lookback,
        prepared.spec.horizon
    );
    let season = pipeline::resolve_season(&frame, &cfg.data);
    let n_params = pipeline::single_model_config(&prepared, &cfg, season)
        .parameter_count()
        .unwrap_or(0);
    pipeline::check_model_size(&prepared, &cfg)?;
    println!(
        "Season: {}",
        if season > 1 {
            format!("{season} rows (seasonal naive baseline, MASE scale)")
        } else {
            "none (MASE scaled by the one-step naive)".to_string()
        }
    );
    println!("Model parameters: {}", fmt_thousands(n_params));
    if cfg.model.kind == ts_train::ModelChoice::Auto {
        println!(
            "Model: auto (trains the plain LSTM, then the hybrid, and keeps the hybrid only if it is clearly better on validation)"
        );
    }
    // Ctrl-C (SIGINT) and SIGTERM (sent by `timeout`, Docker, Kubernetes) stop training after the
    // current batch; the best epoch so far and a checkpoint are still written.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let terminated = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let _ = signal_hook::flag::register(SIGINT, stop.clone());
        let _ = signal_hook::flag::register(SIGTERM, stop.clone());
        let _ = signal_hook::flag::register(SIGTERM, terminated.clone());
    }
    let mut progress = ProgressBar::new(a.quiet, 10).with_stop_flag(stop);
    let outcome = crate::checkpointing::fit(&frame, prepared, &cfg, &mut progress, &a, resume)?;
    let r = &outcome.report;
    if r.interrupted {
        eprintln!(
            "Interrupted{} after {} complete epochs; writing the run with the best epoch so far ({}). Checkpoint: {}; continue with `tsf train --resume {}`.",
            if terminated.load(std::sync::atomic::Ordering::Relaxed) {
                " (SIGTERM)"
            } else {
                ""
            },
            r.history.len(),
            r.best_epoch,
            a.out.join(ts_train::checkpoint::CHECKPOINT_FILE).display(),
            a.out.display()
        );
    }
    if outcome.candidates.len() > 1 {
        for c in &outcome.candidates {
            println!(
                "  candidate {:<10} validation loss {:.6} (untrained {:.6}), epoch {}, {:.1} s{}",
                c.name,
                c.best_val_loss,
                c.initial_val_loss,
                c.best_epoch,
                c.seconds,
                if c.chosen { "  ← kept" } else { "" }
            );
        }
    }
    println!(
        "Training: {} epochs in {:.1} s, kept epoch {}{}",
        r.history.len(),
        r.seconds,
        r.best_epoch,
        if r.stopped_early {
            " (early stopping)"
        } else {
            ""
        }
    );
    println!(
        "Test set ({} windows), original units:",
        outcome.test.windows
    );
    print_metrics(&outcome.test);
    print_coverage(outcome.intervals.as_ref(), &outcome.test_coverage);

    // Write outputs only now that everything succeeded, first into a staging folder inside the
    // output folder; they replace an earlier run's files only once every one of them is written.
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create output folder", a.out.display()))?;
    let staging = Staging::new(&a.out)?;
    let dir = staging.dir.clone();
    pipeline::save_model(&dir.join("model.tsf"), &outcome)?;
    let metrics = metrics_json(
        &outcome.test,
        serde_json::json!({
            "split": "test",
            "best_epoch": r.best_epoch,
            "parameters": outcome.model.parameter_count(),
            "model": ts_train::ModelChoice::candidate_name(outcome.model.config.kind, outcome.model.config.linear),
            "candidates": outcome.candidates,
            "season": outcome.season,
            "intervals": intervals_json(outcome.intervals.as_ref(), &outcome.test_coverage),
            "data": summary
        }),
    );
    write(
        &dir.join("metrics.json"),
        serde_json::to_string_pretty(&metrics)?.as_bytes(),
    )?;
    write(
        &dir.join("history.json"),
        serde_json::to_string_pretty(&outcome.report)?.as_bytes(),
    )?;
    let interrupted = r.interrupted;
    // The test forecasts go to predictions.csv row by row, never as one string.
    let p = &outcome.prepared;
    let rows = || {
        pipeline::prediction_rows_iter(
            &frame,
            &p.spec,
            &p.scaler,
            &p.test,
            &outcome.test_predictions,
            outcome.intervals.as_ref(),
        )
    };
    let levels = outcome
        .intervals
        .as_ref()
        .map_or_else(Vec::new, |iv| iv.levels.clone());
    let predictions = dir.join("predictions.csv");
    write_atomic_with(&predictions, |w| {
        pipeline::write_predictions_csv(w, rows(), &levels)
    })
    .with_context(|| format!("{}: cannot write", predictions.display()))?;
    if !a.no_charts {
        // Each target's one-step-ahead values, and the row each is for; then the scaled data and
        // the windows are let go, and only then are the time labels made and the charts drawn.
        let mut series: Vec<(String, pipeline::TargetSeries)> = p
            .spec
            .targets
            .iter()
            .map(|t| {
                let mut s = pipeline::TargetSeries::default();
                for r in rows().filter(|r| r.target == *t && r.step == 1) {
                    s.push(&r);
                }
                (t.clone(), s)
            })
            .collect();
        let label_rows: Vec<usize> = p.test.anchors.iter().map(|a| a + 1).collect();
        let ts_train::FitOutcome {
            report,
            config,
            prepared,
            ..
        } = outcome;
        drop(prepared);
        for (_, s) in &mut series {
            s.timestamps = label_rows.iter().map(|&r| frame.label(r)).collect();
        }
        drop(label_rows);
        let band_label = levels
            .last()
            .map(|l| format!("{} % interval", ts_train::intervals::level_name(*l)));
        charts(&dir, &report, &config, series, band_label)?;
    }
    staging.commit()?;
    println!("Wrote {}", a.out.display());
    if interrupted {
        // 128 + the signal's number, as a shell reports a process the signal killed.
        let sigterm = terminated.load(std::sync::atomic::Ordering::Relaxed);
        std::process::exit(if sigterm { 143 } else { 130 });
    }
    Ok(())
}

fn charts(
    out: &Path,
    report: &ts_train::TrainReport,
    config: &ForecastConfig,
    series: Vec<(String, pipeline::TargetSeries)>,
    band_label: Option<String>,
) -> Result<()> {
    let loss_name = format!("{:?}", config.train.loss).to_uppercase();
    let h = ts_viz::HistoryChart {
        title: "Training history".into(),
        train_loss: report.history.iter().map(|r| r.train_loss).collect(),
        validation_loss: report.history.iter().filter_map(|r| r.val_loss).collect(),
        best_epoch: (report.best_epoch > 0).then_some(report.best_epoch),
        loss_name,
    };
    ts_viz::training_history(&h, out, "training_history")?;
    let panels: Vec<ts_viz::PredictionChart> = series
        .into_iter()
        .map(|(t, series)| ts_viz::PredictionChart {
            title: format!("{t}: test set, one step ahead"),
            target: t,
            timestamps: series.timestamps,
            actual: series.actual,
            predicted: series.predicted,
            naive: Some(series.naive),
            band: match &band_label {
                Some(label) if !series.lower.is_empty() => Some(ts_viz::Band {
                    lower: series.lower,
                    upper: series.upper,
                    label: label.clone(),
                }),
                _ => None,
            },
        })
        .collect();
    ts_viz::predictions_vs_actuals(&panels[0], out, "predictions_vs_actuals")?;
    ts_viz::residuals(&panels[0], out, "residuals")?;
    // Up to MAX_PANELS targets share one figure; more are spread over several figures of equal
    // size (`multivariate_predictions_1`, `_2`, …).
    if panels.len() > 1 {
        let figures = panels.len().div_ceil(ts_viz::MAX_PANELS);
        if figures == 1 {
            ts_viz::multivariate_predictions(&panels, out, "multivariate_predictions")?;
        } else {
            let per = panels.len().div_ceil(figures);
            for (k, chunk) in panels.chunks(per).enumerate() {
                let stem = format!("multivariate_predictions_{}", k + 1);
                ts_viz::multivariate_predictions(chunk, out, &stem)?;
            }
        }
    }
    Ok(())
}

/// Name of the staging folder inside an output folder.
pub(crate) const STAGING_DIR: &str = ".tsf-staging";

/// A run's outputs are written into `OUT/.tsf-staging` and moved into `OUT` by
/// [`Staging::commit`] only when all of them are written, so that a run failing on the way
/// (a chart, a full disk) leaves the folder's earlier run as it was. Dropped without a commit,
/// the staging folder is removed.
pub(crate) struct Staging {
    /// The output folder.
    out: std::path::PathBuf,
    /// The staging folder inside it.
    pub(crate) dir: std::path::PathBuf,
    committed: bool,
}

impl Staging {
    /// Creates an empty staging folder in `out` (removing one a killed run left behind).
    pub(crate) fn new(out: &Path) -> Result<Self> {
        let dir = out.join(STAGING_DIR);
        if std::fs::symlink_metadata(&dir).is_ok() {
            std::fs::remove_dir_all(&dir)
                .or_else(|_| std::fs::remove_file(&dir))
                .with_context(|| {
                    format!("{}: cannot remove the old staging folder", dir.display())
                })?;
        }
        std::fs::create_dir(&dir)
            .with_context(|| format!("{}: cannot create the staging folder", dir.display()))?;
        Ok(Self {
            out: out.to_path_buf(),
            dir,
            committed: false,
        })
    }

    /// Moves every staged file into the output folder (each by an atomic rename), after checking
    /// that none of them would replace anything but a regular file.
    pub(crate) fn commit(mut self) -> Result<()> {
        let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(&self.dir)
            .with_context(|| format!("{}: cannot list", self.dir.display()))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .with_context(|| format!("{}: cannot list", self.dir.display()))?;
        names.sort();
        for n in &names {
            ts_model::file::check_output_path(&self.out.join(n))?;
        }
        for n in &names {
            let to = self.out.join(n);
            std::fs::rename(self.dir.join(n), &to)
                .with_context(|| format!("{}: cannot write", to.display()))?;
        }
        if let Ok(d) = std::fs::File::open(&self.out) {
            let _ = d.sync_all();
        }
        self.committed = true;
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn load_for(model: &Path, data: &Path, fill: &str) -> Result<(ts_train::Bundle, ts_data::Frame)> {
    let bundle = pipeline::load_model(model)?;
    let fill: FillPolicy = fill.parse()?;
    let options = |columns| LoadOptions {
        time_column: bundle.config.data.time_column.clone(),
        columns,
        fill,
    };
    // Only the model's columns are read; a file lacking one is read whole, so that the error
    // says what the model was trained on and what the file has.
    let frame = match load(data, &options(Some(bundle.header.spec.features.clone()))) {
        Err(ts_data::DataError::ColumnNotFound { .. }) => load(data, &options(None))?,
        r => r?,
    };
    Ok((bundle, frame))
}

/// `tsf evaluate`.
pub fn evaluate(a: EvaluateArgs) -> Result<()> {
    if let Some(out) = &a.out {
        check_output(out, &[&a.data, &a.model])?;
    }
    let (bundle, frame) = load_for(&a.model, &a.data, &a.fill)?;
    print_summary(&DataSummary::of(&frame));
    let part: pipeline::Part = a.part.parse()?;
    let ev = pipeline::evaluate_frame_part(&bundle, &frame, part)?;
    let (from, to) = bundle.part_rows(part, frame.n_rows());
    println!(
        "Evaluated the {} part ({} windows, rows {}..{}), original units:",
        part.name(),
        ev.evaluation.windows,
        from,
        to
    );
    print_metrics(&ev.evaluation);
    let iv = bundle.intervals();
    print_coverage(iv.as_ref(), &ev.coverage);
    if let Some(out) = &a.out {
        let v = metrics_json(
            &ev.evaluation,
            serde_json::json!({
                "model": a.model,
                "split": part.name(),
                "rows": [from, to],
                "data": DataSummary::of(&frame),
                "intervals": intervals_json(iv.as_ref(), &ev.coverage),
            }),
        );
        write(out, serde_json::to_string_pretty(&v)?.as_bytes())?;
        println!("Wrote {}", out.display());
    }
    Ok(())
}

/// `tsf predict`.
pub fn predict(a: PredictArgs) -> Result<()> {
    if let Some(out) = &a.out {
        check_output(out, &[&a.data, &a.model])?;
    }
    let (bundle, frame) = load_for(&a.model, &a.data, &a.fill)?;
    let rows = if a.future_only {
        pipeline::predict_future(&bundle, &frame)?
    } else {
        pipeline::predict_frame(&bundle, &frame)?
    };
    let levels = bundle
        .intervals()
        .map_or_else(Vec::new, |iv| iv.levels.clone());
    match &a.out {
        Some(out) => {
            write_atomic_with(out, |w| pipeline::write_predictions_csv(w, &rows, &levels))
                .with_context(|| format!("{}: cannot write", out.display()))?;
            eprintln!("Wrote {} forecasts to {}", rows.len(), out.display());
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            pipeline::write_predictions_csv(&mut w, &rows, &levels)?;
            std::io::Write::flush(&mut w)?;
        }
    }
    Ok(())
}
