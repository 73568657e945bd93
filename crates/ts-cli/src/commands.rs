//! `tsf train`, `tsf evaluate`, `tsf predict`: flags → one ts-train call → the typed outputs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use ts_train::checkpoint::{self, CHECKPOINT_FILE};
use ts_train::output::{
    RUN_FILES, Staging, StaleFiles, check_new_file, check_output, check_run_folder,
};
use ts_train::pipeline::DataSummary;
use ts_train::progress::ProgressBar;
use ts_train::report::IntervalsReport;
use ts_train::run::write_json;
use ts_train::{
    Bundle, EvaluationTable, ForecastConfig, MetricsReport, RunSummary, Trainer, TrainingSummary,
};

use crate::args::{EvaluateArgs, PredictArgs, TrainArgs};

/// Defaults (or the seed recipe) ← TOML file ← flags.
pub fn build_config(a: &TrainArgs) -> Result<ForecastConfig> {
    let cfg = a.config.config()?;
    tracing::info!(
        "configuration: {}",
        serde_json::to_string(&cfg).unwrap_or_default()
    );
    Ok(cfg)
}

/// For `--resume DIR`: loads DIR's checkpoint, points the output at DIR and returns the stored
/// configuration with the checkpoint. Without `--resume`: the configuration from the flags.
fn config_and_resume(a: &mut TrainArgs) -> Result<(ForecastConfig, Option<checkpoint::Resume>)> {
    let given = build_config(a)?;
    let Some(dir) = a.resume.clone() else {
        return Ok((given, None));
    };
    // Training options would silently disagree with the stored run: refuse them.
    if serde_json::to_value(&given)? != serde_json::to_value(ForecastConfig::default())? {
        bail!(
            "--resume continues {} with the configuration stored in its checkpoint; drop the other training options (only --checkpoint-every, --quiet and --no-charts apply)",
            dir.display()
        );
    }
    // Load on the CPU; training moves the weights to the run's device.
    let cpu = ts_model::make_device(ts_model::DeviceChoice::Cpu)?;
    let resume = checkpoint::load(&dir.join(CHECKPOINT_FILE), &cpu)?;
    // A run started on a device this build lacks is refused before its data are read.
    ts_model::check_device(resume.meta.config.device)?;
    a.out = dir;
    a.checkpoint_every.get_or_insert(resume.meta.every);
    Ok((resume.meta.config.clone(), Some(resume)))
}

/// Ctrl-C (SIGINT) and SIGTERM (sent by `timeout`, Docker, Kubernetes) set the first flag (stop
/// after the current batch; the best epoch so far and a checkpoint are still written); SIGTERM
/// also sets the second.
pub(crate) fn stop_flags() -> (Arc<AtomicBool>, Arc<AtomicBool>) {
    let stop = Arc::new(AtomicBool::new(false));
    let terminated = Arc::new(AtomicBool::new(false));
    use signal_hook::consts::{SIGINT, SIGTERM};
    let _ = signal_hook::flag::register(SIGINT, stop.clone());
    let _ = signal_hook::flag::register(SIGTERM, stop.clone());
    let _ = signal_hook::flag::register(SIGTERM, terminated.clone());
    (stop, terminated)
}

/// `tsf train`.
pub fn train(mut a: TrainArgs) -> Result<()> {
    let (cfg, resume) = config_and_resume(&mut a)?;
    let (data_path, load_options) = cfg.data_source()?;
    if !cfg.data.has_target() {
        // Load first so that the message can list the columns.
        let frame = ts_data::load(&data_path, &load_options)?;
        cfg.data.require_target(&frame.columns)?;
    }
    if resume.is_none() {
        check_run_folder(&a.out, a.force)?;
    }
    // An earlier run's files (its checkpoint, charts this run does not draw, or with
    // `--resume --no-charts` the interrupted run's charts) go once this run is in place, so that
    // none of them passes for part of it; a user's own files stay.
    let stale = StaleFiles::note(&a.out, ts_train::output::is_run_file);
    for f in RUN_FILES.iter().chain([&CHECKPOINT_FILE]) {
        check_output(&a.out.join(f), &[&data_path])?;
    }
    let mut frame = ts_data::load(&data_path, &load_options)?;
    let data = DataSummary::of(&frame);
    let mut trainer = Trainer::new(cfg.clone());
    let prepared = trainer.prepare(&mut frame)?;
    let season = ts_train::pipeline::resolve_season(&frame, &cfg.data);
    ts_train::pipeline::check_model_size(&prepared, &cfg)?;
    let lstm_window = ts_train::pipeline::resolve_lstm_window(&frame, &cfg, prepared.spec.lookback);
    out!(
        "{}",
        RunSummary {
            data: &data,
            prepared: &prepared,
            config: &cfg,
            season,
            lstm_window,
        }
    );
    let (stop, terminated) = stop_flags();
    let mut progress = ProgressBar::new(a.quiet, 10).with_stop_flag(stop.clone());
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create output folder", a.out.display()))?;
    ts_train::output::remove_stray_temporaries(&a.out);
    trainer = trainer
        .observer(&mut progress)
        .checkpoint(a.out.join(CHECKPOINT_FILE), a.checkpoint_every.unwrap_or(0));
    if let Some(r) = resume {
        trainer = trainer.resume(r);
    }
    let outcome = trainer.fit_prepared(&frame, prepared)?;
    // Stopped after the chosen network was trained (while its seed members or its refit were
    // training): those are left out, the rest is written, and the exit code says so.
    let stopped_after = !outcome.report.interrupted && stop.load(Ordering::Relaxed);
    let interrupted = outcome.report.interrupted || stopped_after;
    if stopped_after {
        eprintln!(
            "Interrupted{} after the chosen network was trained; writing the run with the {} network(s) finished (seed members or refit cut short: train again to have them).",
            if terminated.load(Ordering::Relaxed) {
                " (SIGTERM)"
            } else {
                ""
            },
            outcome.model.config.ensemble
        );
    } else if interrupted {
        say_interrupted(&outcome.report, &a.out, terminated.load(Ordering::Relaxed));
    }
    out!("{}", TrainingSummary(&outcome));
    // Outputs are written only now that everything succeeded, into a staging folder; they replace
    // an earlier run's files only once every one of them is written.
    let staging = Staging::new(&a.out)?;
    outcome.write_run(&frame, staging.dir())?;
    if !a.no_charts {
        let band = outcome
            .interval_levels()
            .last()
            .map(|l| format!("{} % interval", ts_train::intervals::level_name(*l)));
        let (report, config, series) = outcome.into_chart_series(&frame);
        ts_report::train::draw_charts(staging.dir(), &report, &config, series, band)?;
    }
    staging.commit()?;
    stale.remove_untouched();
    outln!("Wrote {}", a.out.display());
    if interrupted {
        // 128 + the signal's number, as a shell reports a process the signal killed.
        std::process::exit(if terminated.load(Ordering::Relaxed) {
            143
        } else {
            130
        });
    }
    Ok(())
}

/// The line printed when a training run was stopped (Ctrl-C, or SIGTERM when `sigterm`).
fn say_interrupted(r: &ts_train::TrainReport, out: &std::path::Path, sigterm: bool) {
    eprintln!(
        "Interrupted{} after {} complete epochs; writing the run with the best epoch so far ({}). Checkpoint: {}; continue with `tsf train --resume {}`.",
        if sigterm { " (SIGTERM)" } else { "" },
        r.history.len(),
        r.best_epoch,
        out.join(CHECKPOINT_FILE).display(),
        out.display()
    );
}

/// `tsf evaluate`.
pub fn evaluate(a: EvaluateArgs) -> Result<()> {
    if let Some(out) = &a.out {
        check_output(out, &[&a.data, &a.model])?;
        check_new_file(out, a.force)?;
    }
    let bundle = Bundle::load(&a.model)?;
    let frame = bundle.load_data(&a.data, a.fill)?;
    let data = DataSummary::of(&frame);
    out!("{data}");
    let part = a.part;
    let ev = bundle.evaluate(&frame, part)?;
    let (from, to) = bundle.part_rows(part, frame.n_rows());
    outln!(
        "Evaluated the {} part ({} windows, rows {from}..{to}), original units:",
        part.name(),
        ev.evaluation.windows
    );
    if let Some(split) = bundle.split()
        && split.n_rows != frame.n_rows()
        && part != ts_train::Part::All
    {
        outln!(
            "  (this table has {} rows, the model's training table {}: its parts are the configured \
             fractions of this table, whose {} part may hold rows the model was trained or \
             validated on)",
            frame.n_rows(),
            split.n_rows,
            part.name()
        );
    }
    let iv = bundle.intervals();
    let (intervals, coverage) = (iv.as_ref(), ev.coverage.as_slice());
    out!(
        "{}",
        EvaluationTable {
            evaluation: &ev.evaluation,
            intervals,
            coverage
        }
    );
    // The adaptive walk starts at the test part: before it, the calibrated half-widths.
    if let Some(iv) = intervals.filter(|iv| iv.is_adaptive() && !coverage.is_empty()) {
        let calibrated = match iv.calibrated_on {
            ts_train::intervals::CalibrationSet::Validation => "the validation windows",
            _ => "the training and validation windows",
        };
        match part {
            ts_train::Part::Train | ts_train::Part::Validation => outln!(
                "  (intervals before the test part have the calibrated half-widths, fixed; they were calibrated on {calibrated})"
            ),
            ts_train::Part::All => outln!(
                "  (intervals before the test part have the calibrated half-widths, fixed; on the test part they follow the errors, as in training)"
            ),
            ts_train::Part::Test => {}
        }
    }
    if let Some(out) = &a.out {
        let report = MetricsReport {
            windows: ev.evaluation.windows,
            targets: ts_train::report::ByTarget(&ev.evaluation.targets),
            split: part.name(),
            model: a.model.display().to_string(),
            rows: Some([from, to]),
            best_epoch: None,
            parameters: None,
            candidates: None,
            season: None,
            intervals: IntervalsReport::new(intervals, coverage),
            bounds: bundle.config.data.bounds.clone(),
            data,
        };
        write_json(out, &report)?;
        outln!("Wrote {}", out.display());
    }
    Ok(())
}

/// `tsf predict`.
pub fn predict(a: PredictArgs) -> Result<()> {
    if let Some(out) = &a.out {
        check_output(out, &[&a.data, &a.model])?;
        check_new_file(out, a.force)?;
    }
    let bundle = Bundle::load(&a.model)?;
    let frame = bundle.load_data(&a.data, a.fill)?;
    let rows = if a.future_only {
        bundle.predict_future(&frame)?
    } else {
        bundle.predict(&frame)?
    };
    let levels = bundle.interval_levels();
    let write =
        |w: &mut dyn std::io::Write| ts_train::pipeline::write_predictions_csv(w, &rows, &levels);
    match &a.out {
        Some(out) => {
            ts_model::file::write_atomic_with(out, write)?;
            eprintln!("Wrote {} forecasts to {}", rows.len(), out.display());
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            write(&mut w)?;
            std::io::Write::flush(&mut w)?;
        }
    }
    Ok(())
}
