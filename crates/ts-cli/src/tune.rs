//! `tsf tune`: hyperparameter search for the LSTM forecaster (ts-tune), then the best
//! configuration retrained on training + validation data, results JSON and charts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use serde::Deserialize;
use ts_data::load;
use ts_model::file::write_atomic;
use ts_train::pipeline;
use ts_train::progress::ProgressBar;
use ts_train::{ForecastConfig, TargetSpec};
use ts_tune::objective::{LstmObjective, LstmSearchSpace, retrain_best};
use ts_tune::report::OptimizationResults;
use ts_tune::{
    Direction, Distribution, FrozenTrial, Heartbeat, InMemoryStorage, MedianPruner, NopPruner,
    OptimizeOptions, Pruner, RandomSampler, Sampler, Storage, Study, SuccessiveHalvingPruner,
    TpeSampler, TrialState,
};

/// `tsf tune`: flags override the `[tune]` section of the TOML config, which overrides defaults.
// The field docs are clap's help text: `[data]`, `[device]` there are TOML sections, not links.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Debug, Args)]
pub struct TuneArgs {
    /// TOML configuration: [data], [model], [train], `device` as for `tsf train`, plus [tune]
    /// (trials, timeout, jobs, sampler, pruner, seed, study_name, storage) and [tune.space]
    /// (hidden_size, num_layers, dropout, learning_rate, weight_decay, batch_size, optimizer).
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
    #[arg(long, alias = "seq-len")]
    pub sequence_length: Option<usize>,
    /// Share of the training part held out for validation (the tuned objective) [data.validation].
    #[arg(long)]
    pub validation: Option<f64>,
    /// Maximum epochs per trial [train.epochs].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Early-stopping patience per trial [train.patience].
    #[arg(long)]
    pub patience: Option<usize>,
    /// Trials to run in this call [tune.trials] (default 20).
    #[arg(long, alias = "n-trials")]
    pub trials: Option<usize>,
    /// Start no new trial after this many seconds [tune.timeout].
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Trials trained at the same time [tune.jobs] (default 1; 1 is reproducible for a seed).
    #[arg(long, alias = "n-jobs")]
    pub jobs: Option<usize>,
    /// Where the study is kept and resumed from, shared by several processes (tsf or Optuna)
    /// [tune.storage] (default: in memory): sqlite:///FILE.db or
    /// postgresql://user:password@host:port/db (Optuna's RDB storage; four slashes before an
    /// absolute SQLite path) or a journal file path (Optuna's JournalStorage format).
    #[arg(long)]
    pub storage: Option<String>,
    /// Seconds between heartbeats of a running trial (Optuna's heartbeat_interval; RDB
    /// storages) [tune.heartbeat_interval]; a trial silent for the grace period is marked FAIL by
    /// the next worker.
    #[arg(long)]
    pub heartbeat_interval: Option<f64>,
    /// Seconds without heartbeat after which a running trial counts as dead (default: twice the
    /// heartbeat interval) [tune.grace_period].
    #[arg(long)]
    pub grace_period: Option<f64>,
    /// Queue a trial failed by a missing heartbeat again, up to N times, with its parameters
    /// (Optuna's RetryFailedTrialCallback) [tune.retry_failed].
    #[arg(long)]
    pub retry_failed: Option<usize>,
    /// Study name inside the storage [tune.study_name] (default "tsf-tune").
    #[arg(long)]
    pub study_name: Option<String>,
    /// Sampler: tpe | tpe-independent | random [tune.sampler] (default tpe).
    #[arg(long)]
    pub sampler: Option<String>,
    /// Pruner: none | median | halving [tune.pruner] (default median).
    #[arg(long)]
    pub pruner: Option<String>,
    /// Seed of the sampler and of every trial's training [tune.seed] (default 42).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Device: cpu | wgpu [device].
    #[arg(long)]
    pub device: Option<String>,
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

/// The `[tune]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TuneSection {
    trials: Option<usize>,
    timeout: Option<f64>,
    jobs: Option<usize>,
    sampler: Option<String>,
    pruner: Option<String>,
    seed: Option<u64>,
    study_name: Option<String>,
    storage: Option<String>,
    heartbeat_interval: Option<f64>,
    grace_period: Option<f64>,
    retry_failed: Option<usize>,
    space: LstmSearchSpace,
}

/// Files that mark a folder as holding tuning results.
const TUNE_FILES: [&str; 2] = ["optimization_results.json", "best_model.tsf"];

fn read_config(a: &TuneArgs) -> Result<(ForecastConfig, TuneSection)> {
    let mut base = serde_json::to_value(ForecastConfig::default())?;
    let mut tune = TuneSection::default();
    if let Some(path) = &a.config {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow!("{}: cannot read config: {e}", path.display()))?;
        let mut t: toml::Table = toml::from_str(&text)
            .map_err(|e| anyhow!("{}: invalid TOML: {}", path.display(), e.message()))?;
        if let Some((key, v)) = crate::commands::non_finite(&toml::Value::Table(t.clone()), "") {
            anyhow::bail!("{}: {key} = {v}: must be a finite number", path.display());
        }
        if let Some(section) = t.remove("tune") {
            tune = section.try_into().map_err(|e: toml::de::Error| {
                anyhow!("{}: [tune]: {}", path.display(), e.message())
            })?;
        }
        crate::commands::merge(&mut base, serde_json::to_value(t)?);
    }
    let mut cfg: ForecastConfig = serde_json::from_value(base).map_err(|e| match &a.config {
        Some(p) => anyhow!("{}: {e}", p.display()),
        None => anyhow!("{e}"),
    })?;
    if let Some(path) = &a.config {
        crate::commands::resolve_data_path(&mut cfg, path);
    }
    if let Some(v) = &a.data {
        cfg.data.path = Some(v.clone());
    }
    if let Some(v) = &a.target {
        cfg.data.target = TargetSpec::One(v.clone());
    }
    if let Some(v) = &a.features {
        cfg.data.features = v
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
    }
    if let Some(v) = a.sequence_length {
        cfg.data.sequence_length = Some(v);
    }
    if let Some(v) = a.validation {
        cfg.data.validation = v;
    }
    if let Some(v) = a.epochs {
        cfg.train.epochs = v;
    }
    if let Some(v) = a.patience {
        cfg.train.patience = v;
    }
    if let Some(v) = &a.device {
        cfg.device = v.parse()?;
    }
    macro_rules! flag {
        ($f:ident) => {
            if a.$f.is_some() {
                tune.$f = a.$f.clone();
            }
        };
    }
    flag!(trials);
    flag!(timeout);
    flag!(jobs);
    flag!(sampler);
    flag!(pruner);
    flag!(seed);
    flag!(study_name);
    flag!(storage);
    flag!(heartbeat_interval);
    flag!(grace_period);
    flag!(retry_failed);
    if let Some(s) = tune.seed {
        cfg.train.seed = s;
    }
    cfg.validate()?;
    Ok((cfg, tune))
}

/// `--heartbeat-interval`, `--grace-period`, `--retry-failed` as one [`Heartbeat`].
fn heartbeat_options(t: &TuneSection) -> Result<Option<Heartbeat>> {
    let secs = |name: &str, v: f64| -> Result<Duration> {
        if !v.is_finite() || v <= 0.0 {
            bail!("invalid {name} = {v}: must be a positive number of seconds");
        }
        Ok(Duration::from_secs_f64(v))
    };
    let Some(interval) = t.heartbeat_interval else {
        if t.grace_period.is_some() || t.retry_failed.is_some() {
            bail!("--grace-period and --retry-failed need --heartbeat-interval");
        }
        return Ok(None);
    };
    let interval = secs("heartbeat interval", interval)?;
    let grace_period = t
        .grace_period
        .map(|g| secs("grace period", g))
        .transpose()?;
    if let Some(g) = grace_period
        && g <= interval
    {
        bail!(
            "invalid grace period = {} s: must be longer than the heartbeat interval ({} s), or live trials would be failed",
            g.as_secs_f64(),
            interval.as_secs_f64()
        );
    }
    Ok(Some(Heartbeat {
        interval,
        grace_period,
        retry_failed: t.retry_failed,
    }))
}

fn make_sampler(name: &str, seed: u64) -> Result<Arc<dyn Sampler>> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "tpe" | "tpe-multivariate" => Arc::new(TpeSampler::new(Some(seed))),
        "tpe-independent" | "tpe-univariate" => {
            Arc::new(TpeSampler::new(Some(seed)).with_multivariate(false))
        }
        "random" => Arc::new(RandomSampler::new(Some(seed))),
        other => bail!("unknown sampler {other:?}: expected tpe, tpe-independent or random"),
    })
}

fn make_pruner(name: &str) -> Result<Arc<dyn Pruner>> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "none" | "nop" => Arc::new(NopPruner),
        "median" => Arc::new(MedianPruner::default()),
        "halving" | "successive-halving" | "successive_halving" | "sha" => {
            Arc::new(SuccessiveHalvingPruner::default())
        }
        other => bail!("unknown pruner {other:?}: expected none, median or halving"),
    })
}

fn fmt_value(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.6}")).unwrap_or_else(|| "-".into())
}

/// `tsf tune`.
pub fn tune(a: TuneArgs) -> Result<()> {
    let (cfg, t) = read_config(&a)?;
    let n_trials = t.trials.unwrap_or(20);
    if n_trials == 0 {
        bail!("invalid --trials 0: run at least one trial");
    }
    let timeout = match t.timeout {
        Some(s) if !(s > 0.0 && s.is_finite()) => {
            bail!("invalid --timeout {s}: must be > 0 seconds")
        }
        Some(s) => Some(Duration::from_secs_f64(s)),
        None => None,
    };
    let jobs = t.jobs.unwrap_or(1);
    if jobs == 0 {
        bail!("invalid --jobs 0: use at least 1");
    }
    let seed = t.seed.unwrap_or(cfg.train.seed);
    let sampler = make_sampler(t.sampler.as_deref().unwrap_or("tpe"), seed)?;
    let pruner = make_pruner(t.pruner.as_deref().unwrap_or("median"))?;
    let (data_path, load_options) = crate::commands::data_source(&cfg)?;
    if a.out.exists() && !a.out.is_dir() {
        bail!(
            "{}: output path exists and is not a folder",
            a.out.display()
        );
    }
    if !a.force
        && let Some(f) = TUNE_FILES.iter().find(|f| a.out.join(f).exists())
    {
        bail!(
            "{}: output folder already holds tuning results ({f}); use --force to overwrite it or choose another --out",
            a.out.display()
        );
    }
    let frame = load(&data_path, &load_options)?;
    if matches!(&cfg.data.target, TargetSpec::One(s) if s.trim().is_empty()) {
        bail!(
            "no target: pass --target COLUMN (one of: {}), a comma-separated list, or \"all\"",
            frame.columns.join(", ")
        );
    }
    let objective = LstmObjective::new(&frame, cfg.clone(), &t.space)?;
    let space: BTreeMap<String, Distribution> = objective.space().clone();
    let heartbeat = heartbeat_options(&t)?;
    let storage: Arc<dyn Storage> = match &t.storage {
        Some(spec) => ts_tune::storage::open(spec)?,
        None => Arc::new(InMemoryStorage::new()),
    };
    let study_name = t.study_name.clone().unwrap_or_else(|| "tsf-tune".into());
    let study = Study::load_or_create(&study_name, Direction::Minimize, storage, sampler, pruner)?;
    // A study keeps one objective: resuming it with other targets, features or windows is refused.
    study.bind_objective("tsf_objective", objective.description())?;
    let earlier = study.trials()?.len();
    let p = objective.prepared();
    println!(
        "Loaded {}: {} rows; target {}; windows: train {}, validation {}, test {}",
        data_path.display(),
        frame.n_rows(),
        p.spec.targets.join(", "),
        p.train.n,
        p.validation.n,
        p.test.n
    );
    println!(
        "Study {:?} in {}{}: sampler {}, pruner {}, {} trial{}, {} at a time{}",
        study.name(),
        study.storage_name(),
        if earlier > 0 {
            format!(" (resuming after {earlier} trials)")
        } else {
            String::new()
        },
        study.sampler_name(),
        study.pruner_name(),
        n_trials,
        if n_trials == 1 { "" } else { "s" },
        jobs,
        timeout
            .map(|d| format!(", timeout {:.0} s", d.as_secs_f64()))
            .unwrap_or_default()
    );
    for (k, d) in &space {
        println!("  {k}: {d}");
    }

    // Ctrl-C or SIGTERM: no new trial starts, running ones stop after their current batch (marked
    // failed), finished trials are kept and written.
    let stop = Arc::new(AtomicBool::new(false));
    let terminated = Arc::new(AtomicBool::new(false));
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let _ = signal_hook::flag::register(SIGINT, stop.clone());
        let _ = signal_hook::flag::register(SIGTERM, stop.clone());
        let _ = signal_hook::flag::register(SIGTERM, terminated.clone());
    }

    let bar = if a.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(n_trials as u64)
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} trial {pos}/{len} [{bar:30}] {msg} ({elapsed})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    let best: Mutex<Option<(f64, usize)>> = Mutex::new(
        ts_tune::study::best_of(&study.trials()?, Direction::Minimize)
            .and_then(|b| Some((b.value?, b.number))),
    );
    let quiet = a.quiet;
    let on_done = |tr: &FrozenTrial| {
        let mut b = best.lock().unwrap_or_else(|e| e.into_inner());
        if tr.state == TrialState::Complete
            && let Some(v) = tr.value
            && b.is_none_or(|(bv, _)| v < bv)
        {
            *b = Some((v, tr.number));
        }
        let best_text = b
            .map(|(v, n)| format!("best {v:.6} (trial {n})"))
            .unwrap_or_else(|| "no completed trial yet".into());
        bar.inc(1);
        bar.set_message(best_text.clone());
        if !quiet {
            let state = match tr.state {
                TrialState::Complete => format!("value {}", fmt_value(tr.value)),
                TrialState::Pruned => format!("pruned at epoch {}", tr.last_step().unwrap_or(0)),
                TrialState::Fail => format!(
                    "failed: {}",
                    tr.system_attrs
                        .get("fail_reason")
                        .and_then(|v| v.as_str())
                        .unwrap_or("?")
                ),
                other => format!("{other:?}"),
            };
            let line = format!("Trial {}: {state}; {best_text}", tr.number);
            if bar.is_hidden() {
                println!("{line}");
            } else {
                bar.println(line);
            }
        }
    };
    let summary = study.optimize(
        |trial| objective.evaluate(trial),
        &OptimizeOptions {
            n_trials: Some(n_trials),
            timeout,
            n_jobs: jobs,
            stop: Some(stop.clone()),
            heartbeat,
        },
        &on_done,
    );
    bar.finish_and_clear();
    let summary = summary?;
    let interrupted = summary.stopped;
    if interrupted {
        eprintln!(
            "Interrupted: {} trials finished in this run are kept{}.",
            summary.finished,
            t.storage
                .as_ref()
                .map(|p| format!(" in {}", ts_tune::storage::hide_password(p)))
                .unwrap_or_default()
        );
    }
    if summary.timed_out {
        println!("Timeout reached after {:.1} s.", summary.seconds);
    }

    let loss = format!("{:?}", cfg.train.loss).to_uppercase();
    let objective_name = format!("validation loss ({loss}, scaled units)");
    let results = OptimizationResults::of(&study, &objective_name)?;
    let c = results.counts;
    println!(
        "Trials in the study: {} complete, {} pruned, {} failed{}",
        c.complete,
        c.pruned,
        c.fail,
        if c.running > 0 {
            format!(", {} running or abandoned", c.running)
        } else {
            String::new()
        }
    );
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create output folder", a.out.display()))?;
    let mut json = serde_json::to_value(&results)?;
    json["search_space"] = serde_json::Value::Object(
        space
            .iter()
            .map(|(k, d)| (k.clone(), serde_json::json!(d.to_string())))
            .collect(),
    );
    let Some(best_trial) = results.best.clone() else {
        write_json(&a.out.join("optimization_results.json"), &json)?;
        bail!(
            "no trial completed (see {}); nothing to retrain",
            a.out.join("optimization_results.json").display()
        );
    };
    println!(
        "Best trial {}: validation loss {}",
        best_trial.number,
        fmt_value(best_trial.value)
    );
    for (k, v) in &best_trial.params {
        println!("  {k}: {}", v.label());
    }
    println!("Parameter importance ({}):", results.importances.method);
    for (k, v) in &results.importances.values {
        println!("  {k}: {v:.3}");
    }
    if !a.no_charts {
        charts(&a.out, &study.trials()?, &space, &results, &objective_name)?;
    }
    if !a.no_retrain && !interrupted {
        let best_epoch = best_trial
            .user_attrs
            .get("best_epoch")
            .and_then(|v| v.as_u64())
            .map(|e| e as usize);
        println!(
            "Retraining the best configuration on training + validation data ({} epochs)...",
            best_epoch.unwrap_or(cfg.train.epochs).max(1)
        );
        let mut progress = ProgressBar::new(a.quiet, 0).with_stop_flag(stop.clone());
        let outcome = retrain_best(&frame, &cfg, &best_trial.params, best_epoch, &mut progress)?;
        let path = a.out.join("best_model.tsf");
        pipeline::save_model(&path, &outcome)?;
        let mut test = serde_json::Map::new();
        for tm in &outcome.test.targets {
            println!(
                "Test set {}: RMSE {:.6} (naive {:.6}), MAE {:.6}, R² {:.4}",
                tm.target,
                tm.original.rmse,
                tm.naive.original.rmse,
                tm.original.mae,
                tm.original.r2
            );
            test.insert(
                tm.target.clone(),
                serde_json::json!({"original": tm.original, "naive": tm.naive.original, "beats_naive": tm.beats_naive}),
            );
        }
        json["best_model"] = serde_json::json!({
            "path": "best_model.tsf",
            "trained_on": "training + validation parts",
            "epochs": outcome.report.history.len(),
            "test_windows": outcome.test.windows,
            "test": test,
        });
        println!("Saved {}", path.display());
    }
    write_json(&a.out.join("optimization_results.json"), &json)?;
    println!("Wrote {}", a.out.display());
    if interrupted {
        std::process::exit(if terminated.load(Ordering::SeqCst) {
            143
        } else {
            130
        });
    }
    Ok(())
}

fn write_json(path: &Path, v: &serde_json::Value) -> Result<()> {
    write_atomic(path, serde_json::to_string_pretty(v)?.as_bytes())
        .with_context(|| format!("{}: cannot write", path.display()))
}

fn charts(
    out: &Path,
    trials: &[FrozenTrial],
    space: &BTreeMap<String, Distribution>,
    results: &OptimizationResults,
    objective_name: &str,
) -> Result<()> {
    let pick = |s: TrialState| -> Vec<(usize, f64)> {
        trials
            .iter()
            .filter(|t| t.state == s)
            .filter_map(|t| Some((t.number, t.value?)))
            .collect()
    };
    let value_name = {
        let mut c = objective_name.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    };
    ts_viz::optimization_history(
        &ts_viz::OptimizationHistoryChart {
            title: format!("Optimization history ({})", results.sampler),
            value_name: value_name.clone(),
            completed: pick(TrialState::Complete),
            pruned: pick(TrialState::Pruned),
            minimize: true,
        },
        out,
        "optimization_history",
    )?;
    let (labels, values): (Vec<String>, Vec<f64>) =
        results.importances.values.iter().cloned().unzip();
    if !labels.is_empty() {
        ts_viz::feature_bars(
            &ts_viz::BarsChart {
                title: "Parameter importance".into(),
                value_desc: format!("Share of importance: {}", results.importances.method),
                labels,
                values,
            },
            out,
            "param_importances",
        )?;
    }
    let done: Vec<&FrozenTrial> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete && t.value.is_some_and(f64::is_finite))
        .collect();
    let params: Vec<ts_viz::ParamSeries> = space
        .iter()
        .filter(|(_, d)| !d.single())
        .map(|(k, d)| ts_viz::ParamSeries {
            name: k.clone(),
            x: done
                .iter()
                .map(|t| t.params.get(k).copied().unwrap_or(f64::NAN))
                .collect(),
            log: matches!(
                d,
                Distribution::Float { log: true, .. } | Distribution::Int { log: true, .. }
            ),
            categories: match d {
                Distribution::Categorical { choices } => {
                    choices.iter().map(|c| c.label()).collect()
                }
                _ => Vec::new(),
            },
        })
        .take(ts_viz::MAX_PARAM_PANELS)
        .collect();
    if !params.is_empty() {
        ts_viz::parameter_correlations(
            &ts_viz::CorrelationChart {
                title: format!("{value_name} against each parameter (completed trials)"),
                value_name,
                values: done.iter().map(|t| t.value.unwrap_or(f64::NAN)).collect(),
                params,
            },
            out,
            "parameter_correlations",
        )?;
    }
    Ok(())
}
