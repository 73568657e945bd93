//! `tsf tune`: hyperparameter search for the LSTM forecaster (ts-tune), then the best
//! configuration retrained on training + validation data, results JSON and charts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use anyhow::{Context, Result, bail};
use clap::Args;
use ts_data::load;
use ts_train::output::{Staging, StaleFiles, chart_stem, check_output_folder};
use ts_train::pipeline;
use ts_train::progress::ProgressBar;
use ts_train::run::write_json;
use ts_train::{ForecastConfig, TargetSpec};
use ts_tune::objective::{BestModelReport, LstmTuning, TuneReport, best_epoch, retrain_best};
use ts_tune::report::{OptimizationResults, TrialRecord};
use ts_tune::{Direction, Distribution, FrozenTrial, OptimizeOptions, TrialState, TuneSettings};

/// `tsf tune`: flags override the `[tune]` section of the TOML config, which overrides defaults.
// The field docs are clap's help text: `[data]`, `[device]` there are TOML sections, not links.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Debug, Args)]
pub struct TuneArgs {
    /// TOML configuration: [data], [model], [train], `device` as for `tsf train`, plus [tune]
    /// (trials, timeout, jobs, sampler, pruner, seed, study_name, storage, heartbeats) and
    /// [tune.space] (hidden_size, num_layers, dropout, learning_rate, weight_decay, batch_size,
    /// optimizer, and ema_epochs when given).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data file, CSV or Parquet [data.path].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Target column, comma-separated list, or "all" [data.target].
    #[arg(long)]
    pub target: Option<String>,
    /// Input columns, comma-separated (default: every column) [data.features].
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Time steps per input window [data.sequence_length].
    #[arg(long, alias = "seq-len", allow_negative_numbers = true, value_parser = crate::args::whole_number::<usize>)]
    pub sequence_length: Option<usize>,
    /// Calendar inputs: auto | on | off [data.calendar] (default auto; a study started before
    /// calendar inputs existed resumes with `off`).
    #[arg(long, value_parser = ts_train::flags::parsed::<ts_train::CalendarMode>)]
    pub calendar: Option<ts_train::CalendarMode>,
    /// Share of the training part held out for validation (the tuned objective) [data.validation].
    #[arg(long, allow_negative_numbers = true)]
    pub validation: Option<f64>,
    /// Maximum epochs per trial [train.epochs].
    #[arg(long, allow_negative_numbers = true, value_parser = crate::args::whole_number::<usize>)]
    pub epochs: Option<usize>,
    /// Early-stopping patience per trial [train.patience].
    #[arg(long, allow_negative_numbers = true, value_parser = crate::args::whole_number::<usize>)]
    pub patience: Option<usize>,
    /// Bound on each trial's patience in optimizer steps, 0 for none [train.patience_batches]
    /// (default 2000; a trial's patience then depends on its sampled batch size).
    #[arg(long, allow_negative_numbers = true, value_parser = crate::args::whole_number::<usize>)]
    pub patience_batches: Option<usize>,
    /// Device: cpu | wgpu [device].
    #[arg(long, value_parser = crate::args::parsed::<ts_model::DeviceChoice>)]
    pub device: Option<ts_model::DeviceChoice>,
    /// The search: trials, timeout, jobs, storage, heartbeats, sampler, pruner, seed.
    #[command(flatten)]
    pub settings: TuneSettings,
    /// Output folder.
    #[arg(long, default_value = "tsf-tune")]
    pub out: PathBuf,
    /// Overwrite an output folder that already holds tuning results.
    #[arg(long)]
    pub force: bool,
    /// Do not retrain and save the best configuration.
    #[arg(long)]
    pub no_retrain: bool,
    /// No progress bar and no per-trial lines.
    #[arg(long, short)]
    pub quiet: bool,
    /// Skip the charts.
    #[arg(long)]
    pub no_charts: bool,
}

/// Files that mark a folder as holding tuning results.
const TUNE_FILES: [&str; 2] = ["optimization_results.json", "best_model.tsf"];

/// Whether `name` is one of the files `tsf tune` writes: [`TUNE_FILES`] and its charts
/// (`optimization_history`, `param_importances`, `parameter_correlations`, as PNG and SVG).
fn is_tune_file(name: &str) -> bool {
    TUNE_FILES.contains(&name)
        || chart_stem(name).is_some_and(|stem| {
            [
                "optimization_history",
                "param_importances",
                "parameter_correlations",
            ]
            .contains(&stem)
        })
}

/// The run's configuration and the search settings: defaults ← TOML file ← flags.
fn read_config(a: &TuneArgs) -> Result<(ForecastConfig, TuneSettings)> {
    let (mut cfg, file) = match &a.config {
        Some(path) => ForecastConfig::from_toml_with_section::<TuneSettings>(
            &ForecastConfig::default(),
            path,
            "tune",
        )?,
        None => (ForecastConfig::default(), TuneSettings::default()),
    };
    // A storage file named in the TOML file is found next to it, as its data file is
    // (`--storage` on the command line is taken as given).
    let mut file = file;
    if let (Some(config), Some(spec)) = (&a.config, &file.storage) {
        file.storage = Some(storage_beside(config, spec));
    }
    let d = &mut cfg.data;
    if a.data.is_some() {
        d.path = a.data.clone();
    }
    if let Some(v) = &a.target {
        d.target = TargetSpec::One(v.clone());
    }
    if let Some(v) = &a.features {
        let names = v.iter().map(|s| s.trim().to_string());
        d.features = names.filter(|s| !s.is_empty()).collect();
    }
    if a.sequence_length.is_some() {
        d.sequence_length = a.sequence_length;
    }
    d.calendar = a.calendar.unwrap_or(d.calendar);
    d.validation = a.validation.unwrap_or(d.validation);
    cfg.train.epochs = a.epochs.unwrap_or(cfg.train.epochs);
    cfg.train.patience = a.patience.unwrap_or(cfg.train.patience);
    if a.patience_batches.is_some() {
        cfg.train.patience_batches = a.patience_batches;
    }
    cfg.device = a.device.unwrap_or(cfg.device);
    let settings = a.settings.over(&file);
    cfg.train.seed = settings.seed.unwrap_or(cfg.train.seed);
    cfg.validate()?;
    Ok((cfg, settings))
}

/// A storage `spec` read from the TOML file `config`: a relative journal path or `sqlite:///`
/// path joined to the file's folder; anything else (absolute paths, server URLs) as it is.
fn storage_beside(config: &Path, spec: &str) -> String {
    let folder = config.parent().unwrap_or(Path::new(""));
    if let Some(path) = spec.strip_prefix("sqlite:///") {
        if Path::new(path).is_relative() && !path.is_empty() && path != ":memory:" {
            return format!("sqlite:///{}", folder.join(path).display());
        }
        return spec.to_string();
    }
    if spec.contains("://") || Path::new(spec).is_absolute() {
        return spec.to_string();
    }
    folder.join(spec).display().to_string()
}

/// `tsf tune`.
pub fn tune(a: TuneArgs) -> Result<()> {
    let (cfg, t) = read_config(&a)?;
    let n_trials = t.trials()?;
    let timeout = t.timeout()?;
    let jobs = t.jobs()?;
    let heartbeat = t.heartbeat()?;
    let (data_path, load_options) = cfg.data_source()?;
    check_output_folder(&a.out, a.force, &TUNE_FILES, "tuning results")?;
    // An earlier study's files that this one does not write again (its best model when this one
    // retrains none, its charts) go once this one is in place.
    let stale = if a.force {
        StaleFiles::note(&a.out, is_tune_file)
    } else {
        StaleFiles::default()
    };
    let tuning = LstmTuning::open(load(&data_path, &load_options)?, &cfg, &t)?;
    out!("{}", tuning.describe(&data_path, &t)?);
    let space: BTreeMap<String, Distribution> = tuning.objective.space().clone();
    let LstmTuning {
        frame,
        objective,
        study,
        ..
    } = tuning;

    // Ctrl-C or SIGTERM: no new trial starts, running ones stop after their current batch (marked
    // failed), finished trials are kept and written.
    let (stop, terminated) = crate::commands::stop_flags();
    let progress = TrialProgress::new(a.quiet, n_trials, &study.trials()?);
    let summary = study.optimize(
        |trial| objective.evaluate(trial),
        &OptimizeOptions {
            n_trials: Some(n_trials),
            timeout,
            n_jobs: jobs,
            stop: Some(stop.clone()),
            heartbeat,
        },
        &|tr| progress.done(tr),
    );
    progress.bar.finish_and_clear();
    let summary = summary?;
    let interrupted = summary.stopped;
    match summary.ending(t.storage.as_deref()) {
        Some(line) if interrupted => eprintln!("{line}"),
        Some(line) => outln!("{line}"),
        None => {}
    }
    let loss = format!("{:?}", cfg.train.loss).to_uppercase();
    let objective_name = format!("validation loss ({loss}, scaled units)");
    let results = OptimizationResults::of(&study, &objective_name)?;
    outln!("Trials in the study: {}", results.counts);
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create output folder", a.out.display()))?;
    // Every file is written into a staging folder and moved into place once all are written: a
    // study that fails on the way (the retrain) leaves the folder's earlier results as they were.
    let staging = Staging::new(&a.out)?;
    let dir = staging.dir();
    let mut report = TuneReport::new(results, &space);
    let results = &report.results;
    let Some(best_trial) = results.best.clone() else {
        // A study with nothing to show does not replace one that had (--force): a failed run
        // leaves the earlier results as they were.
        if TUNE_FILES.iter().any(|f| a.out.join(f).exists()) {
            bail!(
                "no trial completed; nothing to retrain, and the earlier results in {} are kept",
                a.out.display()
            );
        }
        write_json(&dir.join("optimization_results.json"), &report)?;
        staging.commit()?;
        stale.remove_untouched();
        bail!(
            "no trial completed (see {}); nothing to retrain",
            a.out.join("optimization_results.json").display()
        );
    };
    out!("{}", results.best_summary().unwrap_or_default());
    if !a.no_charts {
        ts_report::tune::draw_charts(dir, &study.trials()?, &space, results, &objective_name)?;
    }
    if !a.no_retrain && !interrupted {
        let mut progress = ProgressBar::new(a.quiet, 0).with_stop_flag(stop.clone());
        report.best_model = Some(retrain(&frame, &cfg, &best_trial, dir, &mut progress)?);
    }
    write_json(&dir.join("optimization_results.json"), &report)?;
    staging.commit()?;
    stale.remove_untouched();
    if report.best_model.is_some() {
        outln!("Saved {}", a.out.join("best_model.tsf").display());
    }
    outln!("Wrote {}", a.out.display());
    if interrupted {
        std::process::exit(if terminated.load(Ordering::SeqCst) {
            143
        } else {
            130
        });
    }
    Ok(())
}

/// The trial progress bar (hidden with `--quiet`) and, unless quiet, one line per finished trial
/// with the best value so far.
struct TrialProgress {
    bar: indicatif::ProgressBar,
    best: Mutex<Option<(f64, usize)>>,
    quiet: bool,
}

impl TrialProgress {
    /// A bar for `n_trials`, starting from the best of the study's `earlier` trials.
    fn new(quiet: bool, n_trials: usize, earlier: &[FrozenTrial]) -> Self {
        let bar = if quiet {
            indicatif::ProgressBar::hidden()
        } else {
            indicatif::ProgressBar::new(n_trials as u64)
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} trial {pos}/{len} [{bar:30}] {msg} ({elapsed})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        let best = ts_tune::study::best_of(earlier, Direction::Minimize)
            .and_then(|b| Some((b.value?, b.number)));
        Self {
            bar,
            best: Mutex::new(best),
            quiet,
        }
    }

    /// Counts a finished trial and prints its line.
    fn done(&self, tr: &FrozenTrial) {
        let mut b = self.best.lock().unwrap_or_else(|e| e.into_inner());
        if tr.state == TrialState::Complete
            && let Some(v) = tr.value
            && b.is_none_or(|(bv, _)| v < bv)
        {
            *b = Some((v, tr.number));
        }
        let best_text = b
            .map(|(v, n)| format!("best {v:.6} (trial {n})"))
            .unwrap_or_else(|| "no completed trial yet".into());
        self.bar.inc(1);
        self.bar.set_message(best_text.clone());
        if !self.quiet {
            let line = format!("Trial {}: {}; {best_text}", tr.number, tr.outcome());
            if self.bar.is_hidden() {
                outln!("{line}");
            } else {
                self.bar.println(line);
            }
        }
    }
}

/// Retrains the best trial's configuration on training + validation data, saves it as
/// `dir/best_model.tsf` (the staging folder) and prints its test figures.
fn retrain(
    frame: &ts_data::Frame,
    cfg: &ForecastConfig,
    best_trial: &TrialRecord,
    dir: &std::path::Path,
    progress: &mut ProgressBar,
) -> Result<BestModelReport> {
    let best_epoch = best_epoch(best_trial);
    match best_epoch {
        Some(0) => outln!(
            "The best trial kept its untrained start (no epoch beat it on validation): refitting that start on training + validation data..."
        ),
        e => outln!(
            "Retraining the best configuration on training + validation data ({} epochs)...",
            e.unwrap_or(cfg.train.epochs).max(1)
        ),
    }
    let outcome = retrain_best(frame, cfg, &best_trial.params, best_epoch, progress)?;
    pipeline::save_model(&dir.join("best_model.tsf"), &outcome)?;
    for tm in &outcome.test.targets {
        outln!(
            "Test set {}: RMSE {:.6} (naive {:.6}), MAE {:.6}, R² {:.4}",
            tm.target,
            tm.original.rmse,
            tm.naive.original.rmse,
            tm.original.mae,
            tm.original.r2
        );
    }
    Ok(BestModelReport::of(&outcome, "best_model.tsf"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storage_named_in_a_config_file_is_found_beside_it() {
        let cfg = Path::new("exp/tune.toml");
        assert_eq!(storage_beside(cfg, "study.log"), "exp/study.log");
        assert_eq!(storage_beside(cfg, "sqlite:///s.db"), "sqlite:///exp/s.db");
        assert_eq!(
            storage_beside(cfg, "sqlite:////tmp/s.db"),
            "sqlite:////tmp/s.db"
        );
        assert_eq!(storage_beside(cfg, "/tmp/study.log"), "/tmp/study.log");
        let pg = "postgresql://u:p@host:5432/db";
        assert_eq!(storage_beside(cfg, pg), pg);
        assert_eq!(
            storage_beside(Path::new("tune.toml"), "study.log"),
            "study.log"
        );
    }
}
