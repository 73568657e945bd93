//! How a search runs, as one checked struct: [`TuneSettings`] (trials, timeout, parallel jobs,
//! sampler, pruner, seed, study name, storage, heartbeats; with the `lstm` feature also the LSTM
//! search space). It is the `[tune]` section of a TOML configuration and, with the `clap`
//! feature, a group of command-line flags; [`TuneSettings::over`] lays flags over the file.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Result, TuneError};
use crate::pruner::{MedianPruner, NopPruner, Pruner, SuccessiveHalvingPruner};
use crate::sampler::{RandomSampler, Sampler, TpeSampler};
use crate::storage::{InMemoryStorage, Storage};
use crate::study::Heartbeat;

fn invalid(name: &str, value: impl ToString, reason: &str) -> TuneError {
    TuneError::InvalidOption {
        name: name.into(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// The settings of a search; every field is optional (its default in the field's help).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default, deny_unknown_fields)]
pub struct TuneSettings {
    /// Trials to run in this call [tune.trials] (default 20).
    #[cfg_attr(feature = "clap", arg(long, alias = "n-trials"))]
    pub trials: Option<usize>,
    /// Start no new trial after this many seconds [tune.timeout].
    #[cfg_attr(feature = "clap", arg(long))]
    pub timeout: Option<f64>,
    /// Trials trained at the same time [tune.jobs] (default 1; 1 is reproducible for a seed).
    #[cfg_attr(feature = "clap", arg(long, alias = "n-jobs"))]
    pub jobs: Option<usize>,
    /// Where the study is kept and resumed from, shared by several processes (tsf or Optuna)
    /// [tune.storage] (default: in memory): sqlite:///FILE.db or
    /// postgresql://user:password@host:port/db (Optuna's RDB storage; four slashes before an
    /// absolute SQLite path) or a journal file path (Optuna's JournalStorage format).
    #[cfg_attr(feature = "clap", arg(long))]
    pub storage: Option<String>,
    /// Seconds between heartbeats of a running trial (Optuna's heartbeat_interval; needs
    /// --storage: in the database, or next to a journal file in FILE.heartbeats)
    /// [tune.heartbeat_interval]; a trial silent for the grace period is marked FAIL by the next
    /// worker.
    #[cfg_attr(feature = "clap", arg(long))]
    pub heartbeat_interval: Option<f64>,
    /// Seconds without heartbeat after which a running trial counts as dead (default: twice the
    /// heartbeat interval) [tune.grace_period].
    #[cfg_attr(feature = "clap", arg(long))]
    pub grace_period: Option<f64>,
    /// Queue a trial failed by a missing heartbeat again, up to N times, with its parameters
    /// (Optuna's RetryFailedTrialCallback) [tune.retry_failed].
    #[cfg_attr(feature = "clap", arg(long))]
    pub retry_failed: Option<usize>,
    /// Study name inside the storage [tune.study_name] (default "tsf-tune").
    #[cfg_attr(feature = "clap", arg(long))]
    pub study_name: Option<String>,
    /// Sampler: tpe | tpe-independent | random [tune.sampler] (default tpe).
    #[cfg_attr(feature = "clap", arg(long))]
    pub sampler: Option<String>,
    /// Pruner: none | median | halving [tune.pruner] (default median).
    #[cfg_attr(feature = "clap", arg(long))]
    pub pruner: Option<String>,
    /// Seed of the sampler and of every trial's training [tune.seed] (default 42).
    #[cfg_attr(feature = "clap", arg(long))]
    pub seed: Option<u64>,
    /// The LSTM search space ([tune.space] of the TOML file).
    #[cfg(feature = "lstm")]
    #[cfg_attr(feature = "clap", arg(skip))]
    pub space: crate::objective::LstmSearchSpace,
}

impl TuneSettings {
    /// `self` (flags) over `base` (a file): each setting given here replaces the file's.
    pub fn over(&self, base: &Self) -> Self {
        fn pick<T: Clone>(a: &Option<T>, b: &Option<T>) -> Option<T> {
            a.clone().or_else(|| b.clone())
        }
        Self {
            trials: pick(&self.trials, &base.trials),
            timeout: pick(&self.timeout, &base.timeout),
            jobs: pick(&self.jobs, &base.jobs),
            storage: pick(&self.storage, &base.storage),
            heartbeat_interval: pick(&self.heartbeat_interval, &base.heartbeat_interval),
            grace_period: pick(&self.grace_period, &base.grace_period),
            retry_failed: pick(&self.retry_failed, &base.retry_failed),
            study_name: pick(&self.study_name, &base.study_name),
            sampler: pick(&self.sampler, &base.sampler),
            pruner: pick(&self.pruner, &base.pruner),
            seed: pick(&self.seed, &base.seed),
            #[cfg(feature = "lstm")]
            space: base.space.clone(),
        }
    }

    /// Trials to run (default 20; 0 is an error).
    pub fn trials(&self) -> Result<usize> {
        match self.trials.unwrap_or(20) {
            0 => Err(invalid("--trials", 0, "run at least one trial")),
            n => Ok(n),
        }
    }

    /// The timeout, if any (a positive, finite number of seconds).
    pub fn timeout(&self) -> Result<Option<Duration>> {
        match self.timeout {
            Some(s) if !(s > 0.0 && s.is_finite()) => {
                Err(invalid("--timeout", s, "must be > 0 seconds"))
            }
            Some(s) => Ok(Some(Duration::from_secs_f64(s))),
            None => Ok(None),
        }
    }

    /// Trials at the same time (default 1; 0 is an error).
    pub fn jobs(&self) -> Result<usize> {
        match self.jobs.unwrap_or(1) {
            0 => Err(invalid("--jobs", 0, "use at least 1")),
            n => Ok(n),
        }
    }

    /// The study's name (default "tsf-tune").
    pub fn study_name(&self) -> String {
        self.study_name.clone().unwrap_or_else(|| "tsf-tune".into())
    }

    /// The sampler by name (default TPE, multivariate), seeded with `seed`.
    pub fn sampler(&self, seed: u64) -> Result<Arc<dyn Sampler>> {
        let name = self.sampler.as_deref().unwrap_or("tpe");
        Ok(match name.to_ascii_lowercase().as_str() {
            "tpe" | "tpe-multivariate" => Arc::new(TpeSampler::new(Some(seed))),
            "tpe-independent" | "tpe-univariate" => {
                Arc::new(TpeSampler::new(Some(seed)).with_multivariate(false))
            }
            "random" => Arc::new(RandomSampler::new(Some(seed))),
            other => {
                return Err(invalid(
                    "sampler",
                    format!("{other:?}"),
                    "unknown sampler; expected tpe, tpe-independent or random",
                ));
            }
        })
    }

    /// The pruner by name (default median).
    pub fn pruner(&self) -> Result<Arc<dyn Pruner>> {
        let name = self.pruner.as_deref().unwrap_or("median");
        Ok(match name.to_ascii_lowercase().as_str() {
            "none" | "nop" => Arc::new(NopPruner),
            "median" => Arc::new(MedianPruner::default()),
            "halving" | "successive-halving" | "successive_halving" | "sha" => {
                Arc::new(SuccessiveHalvingPruner::default())
            }
            other => {
                return Err(invalid(
                    "pruner",
                    format!("{other:?}"),
                    "unknown pruner; expected none, median or halving",
                ));
            }
        })
    }

    /// The storage the study lives in ([`crate::storage::open`]; in memory without one).
    pub fn open_storage(&self) -> Result<Arc<dyn Storage>> {
        match &self.storage {
            Some(spec) => crate::storage::open(spec),
            None => Ok(Arc::new(InMemoryStorage::new())),
        }
    }

    /// `--heartbeat-interval`, `--grace-period`, `--retry-failed` as one [`Heartbeat`]: the last
    /// two need the first, the first needs a storage (`--storage`), and the grace period must be
    /// longer than the interval (or live trials would be failed).
    pub fn heartbeat(&self) -> Result<Option<Heartbeat>> {
        let secs = |name: &str, v: f64| -> Result<Duration> {
            if !v.is_finite() || v <= 0.0 {
                return Err(invalid(name, v, "must be a positive number of seconds"));
            }
            Ok(Duration::from_secs_f64(v))
        };
        let Some(interval) = self.heartbeat_interval else {
            if self.grace_period.is_some() || self.retry_failed.is_some() {
                return Err(invalid(
                    "--grace-period/--retry-failed",
                    "given",
                    "they need --heartbeat-interval",
                ));
            }
            return Ok(None);
        };
        let interval = secs("heartbeat interval", interval)?;
        let grace_period = self
            .grace_period
            .map(|g| secs("grace period", g))
            .transpose()?;
        if let Some(g) = grace_period
            && g <= interval
        {
            return Err(invalid(
                "grace period",
                format!("{} s", g.as_secs_f64()),
                &format!(
                    "must be longer than the heartbeat interval ({} s), or live trials would be failed",
                    interval.as_secs_f64()
                ),
            ));
        }
        if self.storage.is_none() {
            return Err(invalid(
                "heartbeat interval",
                format!("{} s", interval.as_secs_f64()),
                "heartbeats need --storage (a journal file, sqlite:///FILE or postgresql://…); a study kept in memory has no other worker to find its dead trials",
            ));
        }
        Ok(Some(Heartbeat {
            interval,
            grace_period,
            retry_failed: self.retry_failed,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_over_the_file_and_checked_values() {
        let file = TuneSettings {
            trials: Some(5),
            sampler: Some("random".into()),
            ..Default::default()
        };
        let flags = TuneSettings {
            trials: Some(7),
            ..Default::default()
        };
        let s = flags.over(&file);
        assert_eq!(s.trials().unwrap(), 7);
        assert_eq!(s.sampler.as_deref(), Some("random"));
        assert_eq!(s.jobs().unwrap(), 1);
        assert!(s.sampler(1).is_ok() && s.pruner().is_ok());
        let bad = |t: TuneSettings| t.heartbeat().unwrap_err().to_string();
        let e = bad(TuneSettings {
            grace_period: Some(5.0),
            ..Default::default()
        });
        assert!(e.contains("--heartbeat-interval"), "{e}");
        let e = bad(TuneSettings {
            heartbeat_interval: Some(10.0),
            grace_period: Some(5.0),
            storage: Some("study.log".into()),
            ..Default::default()
        });
        assert!(e.contains("longer than the heartbeat interval"), "{e}");
        let e = bad(TuneSettings {
            heartbeat_interval: Some(10.0),
            ..Default::default()
        });
        assert!(e.contains("need --storage"), "{e}");
        assert!(
            TuneSettings {
                heartbeat_interval: Some(10.0),
                storage: Some("study.log".into()),
                ..Default::default()
            }
            .heartbeat()
            .unwrap()
            .is_some(),
            "a journal file keeps heartbeats"
        );
        let e = TuneSettings {
            pruner: Some("x".into()),
            ..Default::default()
        }
        .pruner()
        .err()
        .unwrap()
        .to_string();
        assert!(
            e.contains("unknown pruner; expected none, median or halving"),
            "{e}"
        );
        assert!(
            TuneSettings {
                trials: Some(0),
                ..Default::default()
            }
            .trials()
            .is_err()
        );
        assert!(
            TuneSettings {
                timeout: Some(-1.0),
                ..Default::default()
            }
            .timeout()
            .is_err()
        );
    }
}
