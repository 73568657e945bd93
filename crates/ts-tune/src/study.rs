//! The study: define-by-run trials, `ask`/`tell`, and [`Study::optimize`] with a thread pool,
//! a trial budget, a timeout and a stop flag (Ctrl-C).

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use serde_json::{Value, json};

use crate::distribution::{Choice, Distribution, ParamValue};
use crate::error::{Result, TuneError, invalid_option};
use crate::pruner::{NopPruner, PruneContext, Pruner};
use crate::sampler::tpe::{RELATIVE_PARAMS_KEY, SYSTEM_ATTR_MAX_LENGTH};
use crate::sampler::{Context, Sampler, SearchSpace, TpeSampler, trial_rng};
use crate::storage::{InMemoryStorage, Storage, record};
use crate::trial::{Direction, FrozenTrial, TrialState};

/// How a trial ended, other than with a value.
#[derive(Debug, Clone, PartialEq)]
pub enum TrialError {
    /// The pruner stopped it ([`Trial::should_prune`] returned `true`).
    Pruned,
    /// The objective failed; the message is stored as the trial's `fail_reason`.
    Failed(String),
}

impl std::fmt::Display for TrialError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Pruned => write!(f, "pruned"),
            Self::Failed(m) => write!(f, "{m}"),
        }
    }
}

impl From<TuneError> for TrialError {
    fn from(e: TuneError) -> Self {
        Self::Failed(e.to_string())
    }
}

#[cfg(feature = "lstm")]
impl From<ts_train::TrainError> for TrialError {
    fn from(e: ts_train::TrainError) -> Self {
        Self::Failed(e.to_string())
    }
}

/// What an objective returns.
pub type ObjectiveResult = std::result::Result<f64, TrialError>;

struct Shared {
    name: String,
    study_id: usize,
    direction: Direction,
    storage: Arc<dyn Storage>,
    sampler: Arc<dyn Sampler>,
    pruner: Arc<dyn Pruner>,
}

/// A study: a named set of trials in a storage, with a sampler and a pruner.
#[derive(Clone)]
pub struct Study {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Study {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Study")
            .field("name", &self.shared.name)
            .field("direction", &self.shared.direction)
            .field("storage", &self.shared.storage.describe())
            .field("sampler", &self.shared.sampler.name())
            .field("pruner", &self.shared.pruner.name())
            .finish()
    }
}

/// Limits of one [`Study::optimize`] call.
#[derive(Debug, Clone, Default)]
pub struct OptimizeOptions {
    /// Trials to run in this call (`None`: until the timeout or the stop flag).
    pub n_trials: Option<usize>,
    /// No new trial starts after this much time.
    pub timeout: Option<Duration>,
    /// Trials evaluated at the same time (threads; 0 or 1 = sequential).
    pub n_jobs: usize,
    /// Set (for example by a Ctrl-C handler) to start no further trial; running trials see it
    /// through [`Trial::stop_requested`].
    pub stop: Option<Arc<AtomicBool>>,
    /// Heartbeats of running trials, and what to do with trials whose heartbeat stopped
    /// (Optuna's `heartbeat_interval`, `grace_period` and `RetryFailedTrialCallback`). Needs a
    /// storage that keeps heartbeats ([`Storage::supports_heartbeat`]: the journal file and the
    /// RDB storages; not the in-memory one).
    pub heartbeat: Option<Heartbeat>,
}

/// Heartbeat settings of [`OptimizeOptions`], with Optuna's semantics: while a trial runs, a
/// thread records its heartbeat every `interval`; before each new trial, the running trials of
/// the study whose last heartbeat is older than the grace period are marked `FAIL`
/// ([`Study::fail_stale_trials`]), and, with `retry_failed`, each is queued again as a `WAITING`
/// copy that the next [`Study::ask`] takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Heartbeat {
    /// Time between two heartbeats of a running trial.
    pub interval: Duration,
    /// Age of the last heartbeat after which a running trial counts as dead (`None`: twice the
    /// interval, as in Optuna).
    pub grace_period: Option<Duration>,
    /// Queue a failed stale trial again, at most this many times per original trial (Optuna's
    /// `RetryFailedTrialCallback(max_retry=N)`); `None`: never.
    pub retry_failed: Option<usize>,
}

impl Heartbeat {
    /// The grace period in force.
    pub fn grace(&self) -> Duration {
        self.grace_period.unwrap_or(self.interval * 2)
    }
}

/// What an [`Study::optimize`] call did.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizeSummary {
    /// Trials finished in this call.
    pub finished: usize,
    /// Whether the stop flag ended the call.
    pub stopped: bool,
    /// Whether the timeout ended the call.
    pub timed_out: bool,
    /// Seconds.
    pub seconds: f64,
}

impl OptimizeSummary {
    /// What ended the call early, as a line, or `None` when it ran its trials: the stop flag
    /// (`Interrupted: the N trials this run ended are kept in STORAGE (…)`, the storage's
    /// password hidden) or the timeout.
    pub fn ending(&self, storage: Option<&str>) -> Option<String> {
        let kept_in = storage.map(|p| format!(" in {}", crate::storage::hide_password(p)));
        if self.stopped {
            let kept_in = kept_in.unwrap_or_default();
            let n = self.finished;
            Some(format!(
                "Interrupted: the {n} trials this run ended are kept{kept_in} (a trial cut short is marked FAIL)."
            ))
        } else if self.timed_out {
            Some(format!("Timeout reached after {:.1} s.", self.seconds))
        } else {
            None
        }
    }
}

impl Study {
    /// Creates the study `name` in `storage`, or loads it if it exists (resuming it). Fails if
    /// the stored study has another direction.
    pub fn load_or_create(
        name: &str,
        direction: Direction,
        storage: Arc<dyn Storage>,
        sampler: Arc<dyn Sampler>,
        pruner: Arc<dyn Pruner>,
    ) -> Result<Self> {
        if name.trim().is_empty() {
            return Err(invalid_option("study name", "\"\"", "must not be empty"));
        }
        let study_id = storage.load_or_create_study(name, direction)?;
        Ok(Self {
            shared: Arc::new(Shared {
                name: name.into(),
                study_id,
                direction,
                storage,
                sampler,
                pruner,
            }),
        })
    }

    /// An in-memory study with a seeded TPE sampler and no pruner.
    pub fn in_memory(direction: Direction, seed: Option<u64>) -> Result<Self> {
        Self::load_or_create(
            "in-memory",
            direction,
            Arc::new(InMemoryStorage::new()),
            Arc::new(TpeSampler::new(seed)),
            Arc::new(NopPruner),
        )
    }

    /// Name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Direction.
    pub fn direction(&self) -> Direction {
        self.shared.direction
    }

    /// The sampler's name.
    pub fn sampler_name(&self) -> String {
        self.shared.sampler.name()
    }

    /// The pruner's name.
    pub fn pruner_name(&self) -> String {
        self.shared.pruner.name()
    }

    /// Where the trials are stored.
    pub fn storage_name(&self) -> String {
        self.shared.storage.describe()
    }

    /// The study's user attributes (Optuna's `study.user_attrs`).
    pub fn user_attrs(&self) -> Result<serde_json::Map<String, Value>> {
        let sid = self.shared.study_id;
        let mut out = serde_json::Map::new();
        self.shared.storage.read(&mut |r| {
            if let Some(s) = r.studies().get(&sid) {
                out = s.user_attrs.clone();
            }
        })?;
        Ok(out)
    }

    /// Sets a study user attribute (Optuna's `study.set_user_attr`).
    pub fn set_user_attr(&self, key: &str, value: Value) -> Result<()> {
        self.shared
            .storage
            .append(crate::storage::record::study_user_attr(
                self.shared.study_id,
                key,
                value,
            ))?;
        Ok(())
    }

    /// Binds the study to one objective: the first run stores `objective` (any JSON describing
    /// what the trials' values measure: data, targets, features, windows) as the user attribute
    /// `key`; a later run with a different description is refused, so that a resumed or shared
    /// study never mixes the values of two objectives.
    ///
    /// # Errors
    /// The stored description differs (the error names both), or the storage fails.
    pub fn bind_objective(&self, key: &str, objective: Value) -> Result<()> {
        // Fields a description gained after the study began are not compared: the stored one
        // did not record them.
        let comparable = |stored: &Value| match (stored, &objective) {
            (Value::Object(s), Value::Object(o)) => Value::Object(
                o.iter()
                    .filter(|(k, _)| s.contains_key(*k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            _ => objective.clone(),
        };
        match self.user_attrs()?.get(key) {
            None => self.set_user_attr(key, objective),
            Some(stored) if *stored == comparable(stored) => Ok(()),
            Some(stored) => Err(TuneError::Study {
                name: self.shared.name.clone(),
                reason: format!(
                    "in {} measures another objective: it was run with {stored}, this run has {objective}; choose another study name (--study-name) or storage",
                    self.shared.storage.describe()
                ),
            }),
        }
    }

    /// Refuses a search space whose distribution of a parameter differs from the one the
    /// study's earlier trials recorded for it (Optuna fails each such trial; a resumed study
    /// would fill with failures): the error names the parameter and both distributions.
    ///
    /// # Errors
    /// [`TuneError::IncompatibleDistribution`], or the storage fails.
    pub fn check_space(&self, space: &BTreeMap<String, Distribution>) -> Result<()> {
        for t in self.trials()? {
            for (name, old) in &t.distributions {
                if let Some(new) = space.get(name)
                    && !old.compatible(new)
                {
                    return Err(TuneError::IncompatibleDistribution {
                        name: name.clone(),
                        old: format!(
                            "{old} in trial {} of study {:?}",
                            t.number, self.shared.name
                        ),
                        new: format!("{new} (choose another --study-name to search a new space)"),
                    });
                }
            }
        }
        Ok(())
    }

    /// Every trial so far (any state), in number order.
    pub fn trials(&self) -> Result<Vec<FrozenTrial>> {
        self.shared.storage.trials(self.shared.study_id)
    }

    /// The best completed trial.
    pub fn best_trial(&self) -> Result<FrozenTrial> {
        best_of(&self.trials()?, self.shared.direction).ok_or_else(|| TuneError::NoCompletedTrial {
            name: self.shared.name.clone(),
        })
    }

    /// Marks `FAIL` the running trials whose last heartbeat is older than `grace` (Optuna's
    /// `fail_stale_trials`); with `retry_failed = Some(n)` each is queued again as a `WAITING`
    /// trial with the same parameters, user attributes and the system attributes `failed_trial`
    /// (the first failed number) and `retry_history`, unless it was already retried `n` times
    /// (Optuna's `RetryFailedTrialCallback`). Returns the trials this call failed.
    pub fn fail_stale_trials(
        &self,
        grace: Duration,
        retry_failed: Option<usize>,
    ) -> Result<Vec<FrozenTrial>> {
        let s = &self.shared;
        let mut failed = Vec::new();
        for tid in s.storage.stale_trials(s.study_id, grace)? {
            if s.storage.fail_trial(tid)? {
                failed.push(s.storage.trial(tid)?);
            }
        }
        for t in &failed {
            tracing::warn!(
                "trial {} sent no heartbeat for {:.1} s; marked FAIL",
                t.number,
                grace.as_secs_f64()
            );
            if let Some(max_retry) = retry_failed {
                let mut attrs = t.system_attrs.clone();
                attrs
                    .entry("failed_trial")
                    .or_insert_with(|| json!(t.number));
                let mut history = attrs
                    .get("retry_history")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                history.push(json!(t.number));
                if max_retry < history.len() {
                    continue;
                }
                attrs.insert("retry_history".into(), Value::Array(history));
                let mut copy = FrozenTrial::new(0, 0, None);
                copy.state = TrialState::Waiting;
                copy.params = t.params.clone();
                copy.distributions = t.distributions.clone();
                copy.user_attrs = t.user_attrs.clone();
                copy.system_attrs = attrs;
                s.storage.add_trial(s.study_id, &copy)?;
            }
        }
        Ok(failed)
    }

    /// Takes the first `WAITING` trial of the study that no other worker takes first.
    /// With `beat`, the claim is also the trial's first heartbeat.
    fn pop_waiting(&self, beat: bool) -> Result<Option<FrozenTrial>> {
        let s = &self.shared;
        for t in s.storage.waiting_trials(s.study_id)? {
            if t.state != TrialState::Waiting {
                continue;
            }
            let won = if beat {
                s.storage.claim_waiting_beating(t.trial_id)?
            } else {
                s.storage.claim_waiting(t.trial_id)?
            };
            if won {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    /// Starts a trial: takes a `WAITING` trial (queued again after a failure, or added by
    /// another program) or creates one, and samples the joint (relative) parameters. A waiting
    /// trial's stored parameters are kept.
    pub fn ask(&self) -> Result<Trial> {
        self.ask_beating(false)
    }

    /// [`Study::ask`]; with `beat`, the write that creates or claims the trial is also its first
    /// heartbeat ([`crate::storage::record::FIRST_HEARTBEAT`]), so that a worker killed at any
    /// point after that leaves a trial that [`Study::fail_stale_trials`] can tell is dead (a
    /// `RUNNING` trial that never sent a heartbeat is never failed).
    fn ask_beating(&self, beat: bool) -> Result<Trial> {
        let s = &self.shared;
        let (trial_id, number, fixed, enqueued) = match self.pop_waiting(beat)? {
            Some(t) => {
                let fixed = t
                    .params
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), (t.distributions.get(k)?.clone(), *v))))
                    .collect();
                // Optuna's `enqueue_trial` keeps the wanted values in `fixed_params`.
                let enqueued = t
                    .system_attrs
                    .get("fixed_params")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                (t.trial_id, t.number, fixed, enqueued)
            }
            None => {
                let (id, n) = if beat {
                    s.storage.create_trial_beating(s.study_id)?
                } else {
                    s.storage.create_trial(s.study_id)?
                };
                (id, n, BTreeMap::new(), serde_json::Map::new())
            }
        };
        let mut rng = trial_rng(s.sampler.seed(), number);
        let trials = s.storage.trials(s.study_id)?;
        let me = trials
            .iter()
            .find(|t| t.trial_id == trial_id)
            .cloned()
            .unwrap_or_else(|| FrozenTrial::new(trial_id, number, None));
        let ctx = Context {
            trials: &trials,
            trial: &me,
            direction: s.direction,
        };
        let relative_space = s.sampler.infer_relative_search_space(&ctx);
        let relative = s.sampler.sample_relative(&ctx, &relative_space, &mut rng);
        if !relative.is_empty() && s.sampler.records_relative_params() {
            let ext: serde_json::Map<String, Value> = relative
                .iter()
                .map(|(k, v)| (k.clone(), relative_space[k].external(*v).to_json()))
                .collect();
            let text = Value::Object(ext).to_string();
            let chars: Vec<char> = text.chars().collect();
            for (i, chunk) in chars.chunks(SYSTEM_ATTR_MAX_LENGTH).enumerate() {
                s.storage.append(record::system_attr(
                    trial_id,
                    &format!("{RELATIVE_PARAMS_KEY}:{i}"),
                    json!(chunk.iter().collect::<String>()),
                ))?;
            }
        }
        Ok(Trial {
            shared: self.shared.clone(),
            trial_id,
            number,
            rng,
            relative_space,
            relative,
            fixed,
            enqueued,
            params: BTreeMap::new(),
            intermediate: BTreeMap::new(),
            bad_report: false,
            stop: None,
        })
    }

    /// Finishes a trial with the objective's result: a finite value completes it, a non-finite
    /// value or [`TrialError::Failed`] fails it (with the reason stored), [`TrialError::Pruned`]
    /// prunes it (its value is the last intermediate value, as in Optuna).
    pub fn tell(&self, trial: Trial, result: ObjectiveResult) -> Result<FrozenTrial> {
        let s = &self.shared;
        let tid = trial.trial_id;
        let (state, value, reason) = match result {
            Ok(v) if v.is_finite() => (TrialState::Complete, Some(v), None),
            Ok(v) => (
                TrialState::Fail,
                None,
                Some(format!("the objective returned {v}")),
            ),
            Err(TrialError::Pruned) => (
                TrialState::Pruned,
                trial.intermediate.values().next_back().copied(),
                None,
            ),
            Err(TrialError::Failed(m)) => (TrialState::Fail, None, Some(m)),
        };
        if let Some(r) = &reason {
            s.storage
                .append(record::system_attr(tid, "fail_reason", json!(r)))?;
            // Logged at info: the reason is stored with the trial (`fail_reason`), and a caller
            // that reports finished trials (`tsf tune`) prints it once.
            tracing::info!("trial {} failed: {r}", trial.number);
        }
        s.storage.append(record::finish(tid, state, value))?;
        s.storage.trial(tid)
    }

    /// Refuses options `optimize` cannot run with: zero trials, heartbeats on a storage that
    /// keeps none, a zero heartbeat interval.
    fn check_options(&self, opts: &OptimizeOptions) -> Result<()> {
        if opts.n_trials == Some(0) {
            return Err(invalid_option("trials", 0, "must be at least 1"));
        }
        if let Some(h) = &opts.heartbeat {
            if !self.shared.storage.supports_heartbeat() {
                return Err(invalid_option(
                    "heartbeat interval",
                    format!("{} s", h.interval.as_secs_f64()),
                    &format!(
                        "{} keeps no heartbeats; use a journal file, sqlite:///FILE or postgresql://…",
                        self.shared.storage.describe()
                    ),
                ));
            }
            if h.interval.is_zero() {
                return Err(invalid_option("heartbeat interval", 0, "must be positive"));
            }
        }
        Ok(())
    }

    /// One trial of `optimize`: fails stale trials first (with heartbeats), asks, beats while
    /// the objective runs, and tells its result; a panicking objective gives a failed trial.
    fn run_trial<F>(&self, objective: &F, opts: &OptimizeOptions) -> Result<FrozenTrial>
    where
        F: Fn(&mut Trial) -> ObjectiveResult + Sync,
    {
        if let Some(h) = &opts.heartbeat {
            self.fail_stale_trials(h.grace(), h.retry_failed)?;
        }
        let mut trial = self.ask_beating(opts.heartbeat.is_some())?;
        trial.stop = opts.stop.clone();
        let _beat = opts
            .heartbeat
            .map(|h| HeartbeatThread::start(&self.shared.storage, trial.trial_id, h.interval));
        let result = catch_unwind(AssertUnwindSafe(|| objective(&mut trial))).unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(TrialError::Failed(format!("the objective panicked: {msg}")))
        });
        self.tell(trial, result)
    }

    /// Runs trials until `opts.n_trials` are done, the timeout passes or the stop flag is set,
    /// `opts.n_jobs` at a time. An objective that errs, panics or returns NaN gives a failed
    /// trial and the study goes on; `on_done` is called after each finished trial. A storage
    /// error stops the study (finished trials are kept) and is returned.
    pub fn optimize<F>(
        &self,
        objective: F,
        opts: &OptimizeOptions,
        on_done: &(dyn Fn(&FrozenTrial) + Sync),
    ) -> Result<OptimizeSummary>
    where
        F: Fn(&mut Trial) -> ObjectiveResult + Sync,
    {
        self.check_options(opts)?;
        let start = Instant::now();
        let claimed = AtomicUsize::new(0);
        let finished = AtomicUsize::new(0);
        let failure: Mutex<Option<TuneError>> = Mutex::new(None);
        let abort = AtomicBool::new(false);
        let timed_out = AtomicBool::new(false);
        let stop_set = || opts.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst));
        let worker = || {
            loop {
                if abort.load(Ordering::SeqCst) || stop_set() {
                    break;
                }
                if opts.timeout.is_some_and(|t| start.elapsed() >= t) {
                    timed_out.store(true, Ordering::SeqCst);
                    break;
                }
                let k = claimed.fetch_add(1, Ordering::SeqCst);
                if opts.n_trials.is_some_and(|n| k >= n) {
                    break;
                }
                match self.run_trial(&objective, opts) {
                    Ok(t) => {
                        finished.fetch_add(1, Ordering::SeqCst);
                        on_done(&t);
                    }
                    Err(e) => {
                        abort.store(true, Ordering::SeqCst);
                        let mut f = failure.lock().unwrap_or_else(|e| e.into_inner());
                        f.get_or_insert(e);
                        break;
                    }
                }
            }
        };
        let jobs = opts.n_jobs.max(1);
        if jobs == 1 {
            worker();
        } else {
            std::thread::scope(|sc| {
                for _ in 0..jobs {
                    sc.spawn(worker);
                }
            });
        }
        if let Some(e) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(e);
        }
        Ok(OptimizeSummary {
            finished: finished.load(Ordering::SeqCst),
            stopped: stop_set(),
            timed_out: timed_out.load(Ordering::SeqCst),
            seconds: start.elapsed().as_secs_f64(),
        })
    }
}

/// Records a trial's heartbeat now and then every interval until dropped (Optuna's
/// `get_heartbeat_thread`).
struct HeartbeatThread {
    stop: Option<std::sync::mpsc::Sender<()>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl HeartbeatThread {
    fn start(storage: &Arc<dyn Storage>, trial_id: usize, interval: Duration) -> Self {
        if let Err(e) = storage.record_heartbeat(trial_id) {
            tracing::warn!("trial id {trial_id}: heartbeat not recorded: {e}");
        }
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let storage = storage.clone();
        let handle = std::thread::spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(interval) {
                if let Err(e) = storage.record_heartbeat(trial_id) {
                    tracing::warn!("trial id {trial_id}: heartbeat not recorded: {e}");
                }
            }
        });
        Self {
            stop: Some(tx),
            handle: Some(handle),
        }
    }
}

impl Drop for HeartbeatThread {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The best completed trial of a list.
pub fn best_of(trials: &[FrozenTrial], direction: Direction) -> Option<FrozenTrial> {
    trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .filter(|t| t.value.is_some_and(|v| !v.is_nan()))
        .min_by(|a, b| {
            direction
                .loss(a.value.unwrap_or(f64::NAN))
                .total_cmp(&direction.loss(b.value.unwrap_or(f64::NAN)))
                .then(a.number.cmp(&b.number))
        })
        .cloned()
}

/// One running trial, handed to the objective.
pub struct Trial {
    shared: Arc<Shared>,
    trial_id: usize,
    number: usize,
    rng: StdRng,
    relative_space: SearchSpace,
    relative: BTreeMap<String, f64>,
    /// Parameters stored before the trial started (a waiting trial's).
    fixed: BTreeMap<String, (Distribution, f64)>,
    /// Values asked for by Optuna's `enqueue_trial` (external representation).
    enqueued: serde_json::Map<String, Value>,
    params: BTreeMap<String, (Distribution, f64)>,
    intermediate: BTreeMap<i64, f64>,
    bad_report: bool,
    stop: Option<Arc<AtomicBool>>,
}

impl std::fmt::Debug for Trial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trial")
            .field("number", &self.number)
            .field("params", &self.params)
            .finish()
    }
}

impl Trial {
    /// 0-based number within the study.
    pub fn number(&self) -> usize {
        self.number
    }

    /// The storage's id of the trial.
    pub fn trial_id(&self) -> usize {
        self.trial_id
    }

    /// The parameters asked for so far.
    pub fn params(&self) -> BTreeMap<String, ParamValue> {
        self.params
            .iter()
            .map(|(k, (d, v))| (k.clone(), d.external(*v)))
            .collect()
    }

    /// Whether the study was asked to stop (Ctrl-C); a long objective should end early and
    /// return an error, which marks the trial failed ("interrupted").
    pub fn stop_requested(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst))
    }

    /// Asks for a parameter of any distribution; returns the internal value (the choice index
    /// for a categorical). Asking again with the same distribution returns the same value; with
    /// a different one it is an error.
    pub fn suggest(&mut self, name: &str, dist: Distribution) -> Result<f64> {
        let dist = dist.validated(name)?;
        if let Some((old, v)) = self.params.get(name) {
            if *old == dist {
                return Ok(*v);
            }
            return Err(TuneError::IncompatibleDistribution {
                name: name.into(),
                old: old.to_string(),
                new: dist.to_string(),
            });
        }
        if let Some((old, v)) = self.fixed.get(name) {
            if !old.compatible(&dist) {
                return Err(TuneError::IncompatibleDistribution {
                    name: name.into(),
                    old: old.to_string(),
                    new: dist.to_string(),
                });
            }
            let v = *v;
            self.params.insert(name.into(), (old.clone(), v));
            return Ok(v);
        }
        let s = self.shared.clone();
        let wanted = self
            .enqueued
            .get(name)
            .and_then(|v| dist.internal_of_json(v))
            .filter(|x| dist.contains(*x));
        let value = match (self.relative.get(name), self.relative_space.get(name)) {
            _ if wanted.is_some() => wanted.unwrap_or_default(),
            (Some(v), Some(d)) if *d == dist => *v,
            _ => {
                let trials = s.storage.trials(s.study_id)?;
                let me = trials
                    .iter()
                    .find(|t| t.trial_id == self.trial_id)
                    .cloned()
                    .unwrap_or_else(|| FrozenTrial::new(self.trial_id, self.number, None));
                let ctx = Context {
                    trials: &trials,
                    trial: &me,
                    direction: s.direction,
                };
                s.sampler
                    .sample_independent(&ctx, name, &dist, &mut self.rng)
            }
        };
        let value = if dist.single() {
            match &dist {
                Distribution::Float { low, .. } => *low,
                Distribution::Int { low, .. } => *low as f64,
                Distribution::Categorical { .. } => 0.0,
            }
        } else {
            value
        };
        debug_assert!(dist.contains(value), "{name}: {value} outside {dist}");
        s.storage
            .append(record::set_param(self.trial_id, name, value, &dist))?;
        self.params.insert(name.into(), (dist, value));
        Ok(value)
    }

    /// A float in `[low, high]` (log scale if `log`).
    pub fn float(&mut self, name: &str, low: f64, high: f64, log: bool) -> Result<f64> {
        self.suggest(name, Distribution::float(low, high, log))
    }

    /// A float on the grid `low, low + step, …, ≤ high`.
    pub fn float_step(&mut self, name: &str, low: f64, high: f64, step: f64) -> Result<f64> {
        self.suggest(
            name,
            Distribution::Float {
                low,
                high,
                log: false,
                step: Some(step),
            },
        )
    }

    /// An integer on the grid `low, low + step, …, ≤ high` (log scale if `log`; then step 1).
    pub fn int(&mut self, name: &str, low: i64, high: i64, step: i64, log: bool) -> Result<i64> {
        let v = self.suggest(
            name,
            Distribution::Int {
                low,
                high,
                log,
                step,
            },
        )?;
        Ok(v as i64)
    }

    /// One of `choices`.
    pub fn categorical(&mut self, name: &str, choices: &[Choice]) -> Result<Choice> {
        let i = self.suggest(
            name,
            Distribution::Categorical {
                choices: choices.to_vec(),
            },
        )?;
        Ok(choices[i as usize].clone())
    }

    /// Reports an intermediate value (for example the validation loss after an epoch). A step
    /// reported twice keeps its first value; a non-finite value is not stored and makes
    /// [`Trial::should_prune`] return `true`.
    pub fn report(&mut self, step: i64, value: f64) -> Result<()> {
        if !value.is_finite() {
            self.bad_report = true;
            return Ok(());
        }
        if self.intermediate.contains_key(&step) {
            tracing::warn!(
                "trial {}: step {step} was already reported; keeping the first value",
                self.number
            );
            return Ok(());
        }
        self.shared
            .storage
            .append(record::intermediate(self.trial_id, step, value))?;
        self.intermediate.insert(step, value);
        Ok(())
    }

    /// Whether the pruner says to stop this trial now.
    pub fn should_prune(&mut self) -> Result<bool> {
        if self.bad_report {
            return Ok(true);
        }
        if self.intermediate.is_empty() {
            return Ok(false);
        }
        let s = self.shared.clone();
        let trials = s.storage.trials(s.study_id)?;
        let Some(me) = trials.iter().find(|t| t.trial_id == self.trial_id) else {
            return Ok(false);
        };
        let mut attrs: Vec<(String, Value)> = Vec::new();
        let prune = s.pruner.prune(
            &PruneContext {
                trials: &trials,
                trial: me,
                direction: s.direction,
            },
            &mut |k, v| attrs.push((k.to_string(), v)),
        );
        for (k, v) in attrs {
            s.storage
                .append(record::system_attr(self.trial_id, &k, v))?;
        }
        Ok(prune)
    }

    /// Stores a user attribute on the trial.
    pub fn set_user_attr(&mut self, key: &str, value: Value) -> Result<()> {
        self.shared
            .storage
            .append(record::user_attr(self.trial_id, key, value))?;
        Ok(())
    }
}
