//! Training checkpoints: everything needed to continue a run exactly where it stopped.
//!
//! A checkpoint holds the training weights, the best-so-far weights, the moving average of the
//! weights (`train.ema_epochs`, when on), the optimizer state (Burn's
//! [`OptimizerRecord`], burnpack bytes), the exact state of both random generators (shuffling and
//! dropout), the history, the epoch and position inside it, the best epoch and its validation loss,
//! the early-stopping counter, the configuration and a fingerprint of the data. The learning-rate
//! schedule is a pure function of the epoch, so the epoch is its position. On the CPU backend a
//! resumed run therefore reaches bit-identical weights and metrics to an uninterrupted one.
//!
//! File layout (integers little-endian), written atomically (temporary file, fsync, rename):
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `TSFCKPT1` |
//! | 4 | format version (`u32`: 2, or 1 without averaged weights) |
//! | 5 × 8 | lengths of the five sections (`u64` each; four in version 1) |
//! | 32 | SHA-256 of the sections |
//! | … | meta, UTF-8 JSON ([`CheckpointMeta`]) |
//! | … | training weights (safetensors) |
//! | … | best weights (safetensors) |
//! | … | optimizer state (burnpack) |
//! | … | averaged weights (safetensors; version 2 only) |
//!
//! A run without averaging writes version 1: the first four sections only (the layout of the
//! builds from before the averaged weights existed, which can resume it); both are read.
//!
//! Floating-point values that decide the rest of the run (losses, the running epoch sum) are
//! stored as their bit patterns, since decimal JSON need not round-trip exactly.

use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::{ModuleOptimizer, OptimizerRecord};
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::{Bytes, Device, Tensor};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_model::file::{load_weights, write_atomic};
use ts_model::forecaster::RngState;
use ts_model::{Forecaster, ModelConfig};

use crate::config::ForecastConfig;
use crate::error::{Result, TrainError};
use crate::trainer::EpochRecord;

/// File name of the checkpoint inside a run folder.
pub const CHECKPOINT_FILE: &str = "checkpoint.tsfck";
/// Magic bytes at the start of a checkpoint.
pub const MAGIC: &[u8; 8] = b"TSFCKPT1";
/// Checkpoint format version.
pub const FORMAT_VERSION: u32 = 2;
/// Sections of a checkpoint of each format version (index = version).
const SECTIONS: [usize; 3] = [0, 4, 5];
/// Bytes before the sections in a file of `sections` sections.
const fn prefix(sections: usize) -> usize {
    8 + 4 + sections * 8 + 32
}
/// Largest meta section accepted (the history of a very long run is still far below this).
const MAX_META: u64 = 256 << 20;

/// Where the training loop stands inside an epoch that was interrupted between two batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochPosition {
    /// 1-based epoch under way.
    pub epoch: usize,
    /// Index of the next batch to run.
    pub next_batch: usize,
    /// Sum of the batch losses so far (bits of an `f64`).
    pub loss_total_bits: u64,
    /// Batches run so far in this epoch.
    pub batches: usize,
    /// Seconds spent in this epoch so far.
    pub seconds: f64,
}

/// One history record with its losses as bit patterns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct ExactRecord {
    epoch: usize,
    train_loss: u64,
    val_loss: Option<u64>,
    seconds: f64,
}

/// The loop's state at a batch boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Complete epochs.
    pub epochs_done: usize,
    /// Position inside the next epoch when the run stopped between two batches.
    pub in_epoch: Option<EpochPosition>,
    /// History of the complete epochs.
    pub history: Vec<EpochRecord>,
    /// Validation loss of the untrained model.
    pub initial_val_loss: Option<f64>,
    /// Epoch of the best weights so far.
    pub best_epoch: usize,
    /// Their validation loss.
    pub best_val_loss: Option<f64>,
    /// Epochs since the last improvement (early stopping).
    pub stale: usize,
    /// Whether early stopping has already ended the run.
    pub stopped_early: bool,
    /// Whether the run has gone past the point where the patience alone would have stopped it
    /// (the cosine schedule's first half, see [`crate::config::TrainConfig::counted_stale`]):
    /// from then on a better epoch replaces the kept weights only when clearly better on
    /// validation.
    pub extended: bool,
    /// Seconds spent training before this checkpoint.
    pub seconds: f64,
    /// Order of the training windows (after the latest shuffle).
    pub order: Vec<usize>,
    /// Shuffling generator.
    pub shuffle_rng: RngState,
    /// Dropout generator.
    pub dropout_rng: RngState,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ExactProgress {
    epochs_done: usize,
    in_epoch: Option<EpochPosition>,
    history: Vec<ExactRecord>,
    initial_val_loss: Option<u64>,
    best_epoch: usize,
    best_val_loss: Option<u64>,
    stale: usize,
    stopped_early: bool,
    #[serde(default)]
    extended: bool,
    seconds: f64,
    order: Vec<usize>,
    shuffle_rng: RngState,
    dropout_rng: RngState,
}

impl From<&Progress> for ExactProgress {
    fn from(p: &Progress) -> Self {
        Self {
            epochs_done: p.epochs_done,
            in_epoch: p.in_epoch.clone(),
            history: p
                .history
                .iter()
                .map(|r| ExactRecord {
                    epoch: r.epoch,
                    train_loss: r.train_loss.to_bits(),
                    val_loss: r.val_loss.map(f64::to_bits),
                    seconds: r.seconds,
                })
                .collect(),
            initial_val_loss: p.initial_val_loss.map(f64::to_bits),
            best_epoch: p.best_epoch,
            best_val_loss: p.best_val_loss.map(f64::to_bits),
            stale: p.stale,
            stopped_early: p.stopped_early,
            extended: p.extended,
            seconds: p.seconds,
            order: p.order.clone(),
            shuffle_rng: p.shuffle_rng.clone(),
            dropout_rng: p.dropout_rng.clone(),
        }
    }
}

impl From<ExactProgress> for Progress {
    fn from(p: ExactProgress) -> Self {
        Self {
            epochs_done: p.epochs_done,
            in_epoch: p.in_epoch,
            history: p
                .history
                .iter()
                .map(|r| EpochRecord {
                    epoch: r.epoch,
                    train_loss: f64::from_bits(r.train_loss),
                    val_loss: r.val_loss.map(f64::from_bits),
                    seconds: r.seconds,
                })
                .collect(),
            initial_val_loss: p.initial_val_loss.map(f64::from_bits),
            best_epoch: p.best_epoch,
            best_val_loss: p.best_val_loss.map(f64::from_bits),
            stale: p.stale,
            stopped_early: p.stopped_early,
            extended: p.extended,
            seconds: p.seconds,
            order: p.order,
            shuffle_rng: p.shuffle_rng,
            dropout_rng: p.dropout_rng,
        }
    }
}

/// The JSON part of a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Program and version that wrote it.
    pub writer: String,
    /// The run's configuration.
    pub config: ForecastConfig,
    /// How often the run writes checkpoints (epochs; 0 = only when interrupted).
    pub every: usize,
    /// The architecture of both stored networks.
    pub model: ModelConfig,
    /// A fingerprint of the prepared data (rows, columns, date range, fitted scaler); a resumed
    /// run refuses data that differs. Compared as text.
    pub data_fingerprint: String,
    /// Parameter ids of the training weights in visiting order (the optimizer state is keyed
    /// by them).
    pub param_ids: Vec<u64>,
    progress: ExactProgress,
}

impl CheckpointMeta {
    /// The loop's state.
    pub fn progress(&self) -> Progress {
        self.progress.clone().into()
    }
}

/// A checkpoint loaded from disk, ready to continue.
#[derive(Debug)]
pub struct Resume {
    /// The JSON part.
    pub meta: CheckpointMeta,
    /// Training weights (inference copy; [`crate::trainer::fit_with`] moves them to autodiff).
    pub model: Forecaster,
    /// Best weights so far.
    pub best: Forecaster,
    /// The moving average of the weights (`train.ema_epochs`; none when off, or in a
    /// version 1 file).
    pub average: Option<Forecaster>,
    /// Optimizer state.
    pub optimizer: OptimizerRecord,
}

/// What the training loop hands to a [`Checkpointer`].
pub struct Snapshot<'a> {
    /// Training weights (autodiff).
    pub model: &'a Forecaster,
    /// Best weights so far (inference copy).
    pub best: &'a Forecaster,
    /// The moving average of the weights (inference copy), when averaging is on.
    pub average: Option<&'a Forecaster>,
    /// The optimizer.
    pub optimizer: &'a ModuleOptimizer,
    /// The loop's state.
    pub progress: Progress,
}

/// Receives checkpoints from the training loop.
pub trait Checkpointer {
    /// Write a checkpoint after every this many complete epochs (0: only when interrupted).
    fn every(&self) -> usize;
    /// Writes one checkpoint.
    fn save(&mut self, snapshot: &Snapshot<'_>) -> Result<()>;
}

fn err(path: &Path, message: impl std::fmt::Display) -> TrainError {
    TrainError::Checkpoint {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

struct IdCollector(Vec<u64>);
impl ModuleVisitor for IdCollector {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.id.val());
    }
}

/// Parameter ids of a model in visiting order.
pub fn param_ids(model: &Forecaster) -> Vec<u64> {
    let mut c = IdCollector(Vec::new());
    model.visit(&mut c);
    c.0
}

struct IdAssigner<'a> {
    ids: &'a [u64],
    next: usize,
}
impl ModuleMapper for IdAssigner<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let id = self.ids.get(self.next).copied();
        self.next += 1;
        match id {
            Some(id) => {
                let (_, value, mapper) = param.consume();
                Param::from_mapped_value(ParamId::from(id), value, mapper)
            }
            None => param,
        }
    }
}

/// Gives the model's parameters the ids stored in a checkpoint, so that the restored optimizer
/// state finds them. Fails if the counts differ.
pub fn assign_param_ids(model: Forecaster, ids: &[u64]) -> Result<Forecaster> {
    let n = param_ids(&model).len();
    if n != ids.len() {
        return Err(TrainError::InvalidConfig {
            name: "checkpoint".into(),
            value: format!("{} parameter ids", ids.len()),
            reason: format!("the model has {n} parameter tensors"),
        });
    }
    let mut m = IdAssigner { ids, next: 0 };
    Ok(model.map(&mut m))
}

fn weights_bytes(model: &Forecaster, path: &Path) -> Result<Vec<u8>> {
    let mut store = SafetensorsStore::from_bytes(None);
    model.save_into(&mut store).map_err(|e| err(path, e))?;
    Ok(ts_model::file::canonical_safetensors(
        store.get_bytes().map_err(|e| err(path, e))?,
    ))
}

/// Serialises a checkpoint.
pub fn to_bytes(
    path: &Path,
    config: &ForecastConfig,
    every: usize,
    data_fingerprint: &str,
    snapshot: &Snapshot<'_>,
) -> Result<Vec<u8>> {
    let meta = CheckpointMeta {
        writer: crate::pipeline::writer(),
        config: config.clone(),
        every,
        model: snapshot.model.config.clone(),
        data_fingerprint: data_fingerprint.to_string(),
        param_ids: param_ids(snapshot.model),
        progress: (&snapshot.progress).into(),
    };
    let meta = serde_json::to_vec(&meta).map_err(|e| err(path, e))?;
    let model = weights_bytes(&snapshot.model.valid(), path)?;
    let best = weights_bytes(snapshot.best, path)?;
    let optim = snapshot
        .optimizer
        .into_bytes()
        .map_err(|e| err(path, format!("optimizer state: {e:?}")))?;
    // Without an average the file is version 1 (four sections), which builds from before the
    // average existed resume too.
    let average = match snapshot.average {
        Some(a) => Some(weights_bytes(a, path)?),
        None => None,
    };
    let mut sections: Vec<&[u8]> = vec![&meta, &model, &best, &optim[..]];
    let version = match &average {
        Some(a) => {
            sections.push(a);
            FORMAT_VERSION
        }
        None => 1,
    };
    let mut hasher = Sha256::new();
    for s in &sections {
        hasher.update(s);
    }
    let digest = hasher.finalize();
    let total: usize = sections.iter().map(|s| s.len()).sum();
    let mut out = Vec::with_capacity(prefix(sections.len()) + total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
    for s in &sections {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    }
    out.extend_from_slice(&digest);
    for s in &sections {
        out.extend_from_slice(s);
    }
    Ok(out)
}

/// Verifies a checkpoint's bytes and splits them into meta and the binary sections (training,
/// best and averaged weights, optimizer state; the averaged weights empty in a version 1 file).
fn split(path: &Path, bytes: &[u8]) -> Result<(CheckpointMeta, [Vec<u8>; 4])> {
    let least = prefix(SECTIONS[1]);
    if bytes.len() < least {
        return Err(err(
            path,
            format!(
                "truncated: {} bytes, a checkpoint has at least {least}",
                bytes.len()
            ),
        ));
    }
    if &bytes[..8] != MAGIC {
        return Err(err(path, "not a tsf checkpoint (bad magic bytes)"));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap_or([0; 4]));
    let n = match SECTIONS.get(version as usize) {
        Some(&n) if n > 0 => n,
        _ => {
            return Err(err(
                path,
                format!(
                    "checkpoint format version {version}, this build reads versions 1 to \
                     {FORMAT_VERSION}"
                ),
            ));
        }
    };
    let head = prefix(n);
    if bytes.len() < head {
        return Err(err(
            path,
            format!(
                "truncated: {} bytes, a version {version} checkpoint has at least {head}",
                bytes.len()
            ),
        ));
    }
    let lens: Vec<u64> = (0..n)
        .map(|i| {
            let at = 12 + 8 * i;
            u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]))
        })
        .collect();
    let expected = lens
        .iter()
        .try_fold(head as u64, |acc, &l| acc.checked_add(l))
        .unwrap_or(u64::MAX);
    if lens[0] > MAX_META || expected != bytes.len() as u64 {
        return Err(err(
            path,
            format!(
                "truncated or damaged: the sections add up to {expected} bytes, the file has {}",
                bytes.len()
            ),
        ));
    }
    let body = &bytes[head..];
    let stored = &bytes[head - 32..head];
    let computed = Sha256::digest(body);
    if computed.as_slice() != stored {
        return Err(err(
            path,
            format!(
                "checksum mismatch (stored {}, computed {}): the file is corrupted",
                hex::encode(stored),
                hex::encode(computed)
            ),
        ));
    }
    let mut at = 0usize;
    let mut parts: Vec<&[u8]> = Vec::with_capacity(n);
    for l in lens {
        let l = l as usize;
        parts.push(&body[at..at + l]);
        at += l;
    }
    let meta: CheckpointMeta =
        serde_json::from_slice(parts[0]).map_err(|e| err(path, format!("meta: {e}")))?;
    let average = parts.get(4).map_or_else(Vec::new, |a| a.to_vec());
    Ok((
        meta,
        [
            parts[1].to_vec(),
            parts[2].to_vec(),
            average,
            parts[3].to_vec(),
        ],
    ))
}

/// Reads and verifies a checkpoint file (size, checksum, meta, weights, optimizer state).
pub fn load(path: &Path, device: &Device) -> Result<Resume> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => err(path, "no checkpoint here"),
        _ => err(path, e),
    })?;
    let (meta, [model, best, average, optim]) = split(path, &bytes)?;
    meta.config.validate()?;
    let progress = meta.progress();
    if progress.shuffle_rng.restore().is_none() || progress.dropout_rng.restore().is_none() {
        return Err(err(path, "malformed random-generator state"));
    }
    let mc = meta.model.clone();
    mc.validate()?;
    match mc.parameter_count().and_then(|n| n.checked_mul(4)) {
        Some(need)
            if need <= model.len()
                && need <= best.len()
                && (average.is_empty() || need <= average.len()) => {}
        _ => {
            return Err(err(
                path,
                "the architecture needs more weights than the checkpoint holds",
            ));
        }
    }
    let model = load_weights(path, &mc, model, device)?;
    let model = assign_param_ids(model, &meta.param_ids).map_err(|e| err(path, e))?;
    let best = load_weights(path, &mc, best, device)?;
    let average = if average.is_empty() {
        None
    } else {
        Some(load_weights(path, &mc, average, device)?)
    };
    let optimizer = OptimizerRecord::from_bytes(Bytes::from_bytes_vec(optim))
        .map_err(|e| err(path, format!("optimizer state: {e:?}")))?;
    Ok(Resume {
        meta,
        model,
        best,
        average,
        optimizer,
    })
}

/// Writes checkpoints into a file every `every` epochs and when training is interrupted.
#[derive(Debug, Clone)]
pub struct FileCheckpointer {
    /// The checkpoint file.
    pub path: PathBuf,
    /// Epochs between checkpoints (0: only when interrupted).
    pub every: usize,
    /// The run's configuration.
    pub config: ForecastConfig,
    /// The data fingerprint ([`CheckpointMeta::data_fingerprint`]).
    pub data_fingerprint: String,
    /// Checkpoints written so far.
    pub written: usize,
}

impl Checkpointer for FileCheckpointer {
    fn every(&self) -> usize {
        self.every
    }

    fn save(&mut self, snapshot: &Snapshot<'_>) -> Result<()> {
        let bytes = to_bytes(
            &self.path,
            &self.config,
            self.every,
            &self.data_fingerprint,
            snapshot,
        )?;
        write_atomic(&self.path, &bytes).map_err(|e| err(&self.path, e))?;
        self.written += 1;
        Ok(())
    }
}
