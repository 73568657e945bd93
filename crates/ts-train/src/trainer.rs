//! The training loop: mini-batches, Adam/AdamW, validation every epoch, early stopping that keeps
//! the best epoch's weights.

use std::time::Instant;

use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use chacha20::ChaCha12Rng;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use ts_data::Windows;
use ts_model::forecaster::RngState;
use ts_model::{DropoutRng, Forecaster};

use crate::checkpoint::{Checkpointer, EpochPosition, Progress, Resume, Snapshot, param_ids};
use crate::config::{LossKind, OptimizerKind, TrainConfig};
use crate::error::{Result, TrainError};

/// One epoch of the history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (with dropout).
    pub train_loss: f64,
    /// Validation loss after the epoch (no dropout), when there is a validation part.
    pub val_loss: Option<f64>,
    /// Wall-clock seconds of the epoch.
    pub seconds: f64,
}

/// What a training run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// One record per epoch run.
    pub history: Vec<EpochRecord>,
    /// Validation loss of the untrained model (epoch 0; for residual models, the naive forecast).
    pub initial_val_loss: Option<f64>,
    /// Epoch whose weights were kept (0 = the untrained model was best on validation).
    pub best_epoch: usize,
    /// Validation loss of the kept weights.
    pub best_val_loss: Option<f64>,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// Whether the observer asked to stop (for example on Ctrl-C).
    pub interrupted: bool,
    /// Total seconds.
    pub seconds: f64,
    /// The chosen network's second run on the training and validation windows
    /// (`train.refit_with_validation`), when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refit: Option<RefitRecord>,
    /// The networks trained from other seeds after the choice and averaged with the chosen
    /// one (`train.seed_members`), in order; empty without.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seed_members: Vec<MemberRecord>,
}

/// One more network of the chosen architecture, trained from another seed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MemberRecord {
    /// The seed its start was drawn from.
    pub seed: u64,
    /// The epoch kept (0: its untrained start, training not clearly better on validation).
    pub best_epoch: usize,
    /// Its validation loss.
    pub best_val_loss: Option<f64>,
    /// Seconds.
    pub seconds: f64,
}

/// The chosen network trained again on the training and validation windows together.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RefitRecord {
    /// Epochs run (those the first run kept).
    pub epochs: usize,
    /// Windows trained on.
    pub windows: usize,
    /// Seconds.
    pub seconds: f64,
}

/// Receives progress while training.
pub trait Observer {
    /// Called once before the first epoch.
    fn on_start(&mut self, _epochs: usize, _train_windows: usize, _val_windows: usize) {}
    /// Called after each epoch with the epoch kept so far.
    fn on_epoch(&mut self, _record: &EpochRecord, _best_epoch: usize) {}
    /// Called once at the end.
    fn on_end(&mut self, _report: &TrainReport) {}
    /// Polled between batches; `true` stops training after the current batch.
    fn should_stop(&self) -> bool {
        false
    }
}

/// An observer that does nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;
impl Observer for Silent {}

/// Loss between predictions and targets as a tensor (for back-propagation).
pub fn loss_tensor(pred: Tensor<2>, y: Tensor<2>, cfg: &TrainConfig) -> Tensor<1> {
    let d = pred - y;
    match cfg.loss {
        LossKind::Mse => d.powi_scalar(2).mean(),
        LossKind::Mae => d.abs().mean(),
        LossKind::Huber => {
            let a = d.abs();
            let q = a.clone().clamp_max(cfg.huber_delta);
            (q.clone() * q.clone() * 0.5 + (a - q) * cfg.huber_delta).mean()
        }
        LossKind::Mixed => {
            let w = cfg.mse_weight;
            d.clone().powi_scalar(2).mean() * w + d.abs().mean() * (1.0 - w)
        }
    }
}

/// The loss of each element of `pred - y` (`[batch, outputs]`), before averaging.
fn elementwise_loss(d: Tensor<2>, cfg: &TrainConfig) -> Tensor<2> {
    match cfg.loss {
        LossKind::Mse => d.powi_scalar(2),
        LossKind::Mae => d.abs(),
        LossKind::Huber => {
            let a = d.abs();
            let q = a.clone().clamp_max(cfg.huber_delta);
            q.clone() * q.clone() * 0.5 + (a - q) * cfg.huber_delta
        }
        LossKind::Mixed => {
            let w = cfg.mse_weight;
            d.clone().powi_scalar(2) * w + d.abs() * (1.0 - w)
        }
    }
}

/// The loss weighted per window: `mean_ij(w_i * loss_ij)` with `w` of shape `[batch, 1]`; equal to
/// [`loss_tensor`] when every weight is 1.
pub fn weighted_loss_tensor(
    pred: Tensor<2>,
    y: Tensor<2>,
    w: Tensor<2>,
    cfg: &TrainConfig,
) -> Tensor<1> {
    (elementwise_loss(pred - y, cfg) * w).mean()
}

/// Per-window weights of `cfg.sample_weights`, checked against the number of training windows and
/// normalised to mean 1.
fn normalised_weights(cfg: &TrainConfig, n: usize) -> Result<Option<Vec<f32>>> {
    let Some(w) = &cfg.sample_weights else {
        return Ok(None);
    };
    let bad = |reason: String| TrainError::InvalidConfig {
        name: "sample weights".into(),
        value: format!("{} values", w.len()),
        reason,
    };
    if w.len() != n {
        return Err(bad(format!(
            "expected one weight per training window ({n})"
        )));
    }
    if let Some(i) = w.iter().position(|v| !v.is_finite() || *v < 0.0) {
        return Err(bad(format!(
            "weight {i} is {}; weights must be finite and >= 0",
            w[i]
        )));
    }
    let mean = w.iter().map(|v| *v as f64).sum::<f64>() / n.max(1) as f64;
    if mean <= 0.0 {
        return Err(bad("all weights are 0".into()));
    }
    Ok(Some(w.iter().map(|v| (*v as f64 / mean) as f32).collect()))
}

/// The same loss on plain slices (for validation).
pub fn loss_value(pred: &[f32], y: &[f32], cfg: &TrainConfig) -> f64 {
    let n = pred.len().min(y.len()).max(1) as f64;
    let mut acc = 0.0;
    for (p, t) in pred.iter().zip(y) {
        let d = (*p - *t) as f64;
        let a = d.abs();
        acc += match cfg.loss {
            LossKind::Mse => d * d,
            LossKind::Mae => a,
            LossKind::Huber => {
                let q = a.min(cfg.huber_delta);
                0.5 * q * q + cfg.huber_delta * (a - q)
            }
            LossKind::Mixed => cfg.mse_weight * d * d + (1.0 - cfg.mse_weight) * a,
        };
    }
    acc / n
}

fn make_optimizer(cfg: &TrainConfig) -> ModuleOptimizer {
    let clip = cfg
        .grad_clip
        .filter(|c| *c > 0.0)
        .map(|c| GradientClippingConfig::Norm(c as f32));
    match cfg.optimizer {
        OptimizerKind::Adam => {
            let wd =
                (cfg.weight_decay > 0.0).then(|| WeightDecayConfig::new(cfg.weight_decay as f32));
            AdamConfig::new()
                .with_epsilon(1e-8)
                .with_weight_decay(wd)
                .with_grad_clipping(clip)
                .init()
        }
        OptimizerKind::AdamW => AdamWConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(cfg.weight_decay as f32)
            .with_grad_clipping(clip)
            .init(),
    }
}

/// Input tensor `[n, lookback, features]` of a set of windows.
pub fn x_tensor(w: &Windows, device: &Device) -> Tensor<3> {
    Tensor::from_data(
        TensorData::new(w.all_x(), [w.n, w.lookback, w.n_features]),
        device,
    )
}

/// Forecasts (scaled) of every window with an inference copy of the model, in batches,
/// `[w.n, outputs]`. A forecast that cannot be read back from the device, or one of the wrong
/// length, is an error ([`TrainError::Inference`]), never an empty or short result.
pub fn predict_scaled(
    model: &Forecaster,
    w: &Windows,
    device: &Device,
    batch: usize,
) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(w.n * model.config.n_outputs());
    let batch = batch.max(1);
    let mut start = 0;
    while start < w.n {
        let end = (start + batch).min(w.n);
        let data = w.gather_x(start..end);
        let x = Tensor::<3>::from_data(
            TensorData::new(data, [end - start, w.lookback, w.n_features]),
            device,
        );
        let y = model.forward(x);
        out.extend(forecast_values(y.into_data(), start, end)?);
        start = end;
    }
    let expected = w.n * model.config.n_outputs();
    if out.len() != expected {
        return Err(TrainError::Inference {
            message: format!(
                "{} forecast values for {} windows × {} outputs",
                out.len(),
                w.n,
                model.config.n_outputs()
            ),
        });
    }
    Ok(out)
}

/// The `f32` values of the forecasts of windows `start..end`, or [`TrainError::Inference`].
fn forecast_values(data: TensorData, start: usize, end: usize) -> Result<Vec<f32>> {
    data.try_to_vec::<f32>().map_err(|e| TrainError::Inference {
        message: format!("cannot read the forecasts of windows {start}..{end}: {e:?}"),
    })
}

/// Trains `model` (built on any device; it is moved to `device` with autodiff) on `train`, validating
/// on `validation` after every epoch. Returns the inference copy of the best epoch's weights.
pub fn fit(
    model: Forecaster,
    train: &Windows,
    validation: &Windows,
    cfg: &TrainConfig,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<(Forecaster, TrainReport)> {
    fit_with(model, train, validation, cfg, device, observer, None, None)
}

/// [`fit`] that can continue from a checkpoint (`resume`; `model` is then ignored) and hand
/// checkpoints to `checkpointer` every [`Checkpointer::every`] epochs and when the observer stops
/// the run. Continuing from a checkpoint gives bit-identical results to an uninterrupted run on the
/// CPU backend: the weights, the optimizer state, both random generators, the window order, the
/// epoch and the position inside it are all restored.
#[allow(clippy::too_many_arguments)]
pub fn fit_with(
    model: Forecaster,
    train: &Windows,
    validation: &Windows,
    cfg: &TrainConfig,
    device: &Device,
    observer: &mut dyn Observer,
    resume: Option<Resume>,
    checkpointer: Option<&mut dyn Checkpointer>,
) -> Result<(Forecaster, TrainReport)> {
    if train.n == 0 {
        return Err(TrainError::InvalidConfig {
            name: "training windows".into(),
            value: "0".into(),
            reason: "nothing to train on".into(),
        });
    }
    let mut run = TrainingRun::start(model, train, validation, cfg, device, resume)?;
    observer.on_start(cfg.epochs, train.n, validation.n);
    let interrupted = run.epochs(observer, checkpointer)?;
    let (best, report) = run.finish(interrupted);
    observer.on_end(&report);
    Ok((best.to_device(device), report))
}

/// Trains `model` on `train` with no validation part for the first `epochs` epochs of `cfg`'s
/// run (the learning-rate schedule that of `cfg.epochs` epochs, cut after `epochs`), and returns
/// the last epoch's weights (the moving average of them when `cfg.ema_epochs` is on). What
/// [`mod@crate::fit`] uses to train a chosen network again on the training and validation windows
/// (`train.refit_with_validation`).
pub fn fit_epochs(
    model: Forecaster,
    train: &Windows,
    cfg: &TrainConfig,
    epochs: usize,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<(Forecaster, TrainReport)> {
    if train.n == 0 || epochs == 0 {
        return Err(TrainError::InvalidConfig {
            name: "refit".into(),
            value: format!("{} windows, {epochs} epochs", train.n),
            reason: "nothing to train on".into(),
        });
    }
    let validation = Windows::default();
    let mut run = TrainingRun::start(model, train, &validation, cfg, device, None)?;
    run.last_epoch = epochs.min(cfg.epochs);
    observer.on_start(run.last_epoch, train.n, 0);
    let interrupted = run.epochs(observer, None)?;
    let (best, report) = run.finish(interrupted);
    observer.on_end(&report);
    Ok((best.to_device(device), report))
}

/// The training loop's state: the network being trained (autodiff), the best weights so far, the
/// optimizer, the random generators, the window order and the [`Progress`] a checkpoint holds.
struct TrainingRun<'a> {
    cfg: &'a TrainConfig,
    train: &'a Windows,
    validation: &'a Windows,
    device: &'a Device,
    /// The autodiff device the batches live on.
    ad: Device,
    /// Per-window loss weights (normalised), if any.
    weights: Option<Vec<f32>>,
    optim: ModuleOptimizer,
    model: Forecaster,
    best: Forecaster,
    progress: Progress,
    shuffle_rng: ChaCha12Rng,
    dropout: DropoutRng,
    order: Vec<usize>,
    in_epoch: Option<EpochPosition>,
    start: Instant,
    /// The moving average of the weights (`train.ema_epochs`), when on.
    average: Option<Average>,
    /// The last epoch to run (`cfg.epochs` but for [`fit_epochs`]).
    last_epoch: usize,
}

/// An exponential moving average of a network's weights (Polyak averaging): after each
/// optimizer step each parameter moves `1 − decay` of the way to the new weights. It starts
/// from the untrained network, so that early in training it stays near the start.
struct Average {
    /// The float parameters in visiting order, flattened, without autodiff.
    values: Vec<Tensor<1>>,
    /// Weight of the old average at each step.
    decay: f64,
}

impl Average {
    /// The average of `cfg.ema_epochs` epochs of `steps_per_epoch` steps, starting at `start`
    /// (none when averaging is off).
    fn new(start: &Forecaster, cfg: &TrainConfig, steps_per_epoch: usize) -> Option<Self> {
        (cfg.ema_epochs > 0.0).then(|| Self {
            values: flat_params(start),
            decay: 1.0 - 1.0 / (cfg.ema_epochs * steps_per_epoch as f64).max(1.0),
        })
    }

    /// Moves the average towards `model`'s weights.
    fn update(&mut self, model: &Forecaster) {
        let d = self.decay;
        for (a, w) in self.values.iter_mut().zip(flat_params(model)) {
            *a = a.clone().mul_scalar(d) + w.mul_scalar(1.0 - d);
        }
    }

    /// The averaged network: `model`'s inference copy with the averaged weights.
    fn network(&self, model: &Forecaster) -> Forecaster {
        with_params(model.valid(), &self.values)
    }
}

/// The float parameters of a network in visiting order, flattened, without autodiff.
fn flat_params(model: &Forecaster) -> Vec<Tensor<1>> {
    struct Collect(Vec<Tensor<1>>);
    impl burn::module::ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            let t = param.val();
            let t = if t.is_autodiff() { t.inner() } else { t };
            let n = t.shape().num_elements();
            self.0.push(t.reshape([n]));
        }
    }
    let mut c = Collect(Vec::new());
    model.visit(&mut c);
    c.0
}

/// `model` with its float parameters replaced by `values` (in visiting order, flattened).
fn with_params(model: Forecaster, values: &[Tensor<1>]) -> Forecaster {
    struct Put<'a>(&'a [Tensor<1>], usize);
    impl burn::module::ModuleMapper for Put<'_> {
        fn map_float<const D: usize>(
            &mut self,
            param: burn::module::Param<Tensor<D>>,
        ) -> burn::module::Param<Tensor<D>> {
            let v = self.0[self.1].clone();
            self.1 += 1;
            param.map(|t| v.reshape(t.shape()))
        }
    }
    model.map(&mut Put(values, 0))
}

impl<'a> TrainingRun<'a> {
    /// A fresh run, or the state a checkpoint holds.
    fn start(
        model: Forecaster,
        train: &'a Windows,
        validation: &'a Windows,
        cfg: &'a TrainConfig,
        device: &'a Device,
        resume: Option<Resume>,
    ) -> Result<Self> {
        let start = Instant::now();
        if !(cfg.ema_epochs >= 0.0 && cfg.ema_epochs.is_finite()) {
            return Err(crate::error::invalid(
                "ema_epochs",
                cfg.ema_epochs,
                "must be 0 (no weight averaging) or a finite number of epochs > 0 (e.g. 3)",
            ));
        }
        let weights = normalised_weights(cfg, train.n)?;
        let ad = device.clone().autodiff();
        let optim = make_optimizer(cfg);
        let steps = train.n.div_ceil(cfg.batch_size.max(1));
        let (model, best, mut progress, optim, average) = match resume {
            Some(mut r) => {
                // On the training device, as the weights; a checkpoint without the average
                // (written with averaging off) starts it at the weights it holds.
                let averaged = r.average.take().map(|a| a.to_device(device));
                let (model, best, progress, optim) = Self::resumed(r, train, &ad, device, optim)?;
                let average = Average::new(averaged.as_ref().unwrap_or(&model), cfg, steps);
                (model, best, progress, optim, average)
            }
            None => {
                let model = Self::trainable(model, device);
                let initial = (validation.n > 0)
                    .then(|| validation_loss(&model.valid(), validation, cfg, device))
                    .transpose()?;
                let progress = Self::fresh_progress(&model, train, cfg, initial);
                let best = model.valid();
                let average = Average::new(&model, cfg, steps);
                (model, best, progress, optim, average)
            }
        };
        let bad_state = || TrainError::InvalidConfig {
            name: "checkpoint".into(),
            value: "random generator state".into(),
            reason: "malformed".into(),
        };
        let shuffle_rng = progress.shuffle_rng.restore().ok_or_else(bad_state)?;
        let dropout = DropoutRng::from_state(model.config.dropout, &progress.dropout_rng)
            .ok_or_else(bad_state)?;
        let order = std::mem::take(&mut progress.order);
        let in_epoch = progress.in_epoch.take();
        Ok(Self {
            cfg,
            train,
            validation,
            device,
            ad,
            weights,
            optim,
            model,
            best,
            progress,
            shuffle_rng,
            dropout,
            order,
            in_epoch,
            start,
            average,
            last_epoch: cfg.epochs,
        })
    }

    /// The weights, optimizer state and progress of a checkpoint, on the training device.
    fn resumed(
        r: Resume,
        train: &Windows,
        ad: &Device,
        device: &Device,
        optim: ModuleOptimizer,
    ) -> Result<(Forecaster, Forecaster, Progress, ModuleOptimizer)> {
        let p = r.meta.progress();
        if p.order.len() != train.n {
            return Err(TrainError::InvalidConfig {
                name: "checkpoint".into(),
                value: format!("{} training windows", p.order.len()),
                reason: format!("the data now gives {} training windows", train.n),
            });
        }
        // `fork` gives the weights their own autodiff graph on the training device; the ids are
        // kept so that the restored optimizer state finds its parameters.
        let ids = param_ids(&r.model);
        let model = r.model.fork(ad).train();
        if param_ids(&model) != ids {
            return Err(TrainError::InvalidConfig {
                name: "checkpoint".into(),
                value: "parameter ids".into(),
                reason: "changed while moving the weights to the training device".into(),
            });
        }
        let optim = optim.load_record(r.optimizer);
        Ok((model, r.best.to_device(device), p, optim))
    }

    /// The model on the autodiff device with every parameter trainable.
    fn trainable(model: Forecaster, device: &Device) -> Forecaster {
        let on_autodiff = model
            .members
            .first()
            .is_some_and(|m| m.head_bias.val().device().is_autodiff());
        if on_autodiff {
            return model;
        }
        // Moving onto the autodiff device neither records the graph nor marks the parameters
        // trainable: do both, parameter by parameter.
        struct Trainable(Device);
        impl burn::module::ModuleMapper for Trainable {
            fn map_float<const D: usize>(
                &mut self,
                param: burn::module::Param<Tensor<D>>,
            ) -> burn::module::Param<Tensor<D>> {
                param.map(|t| t.to_device(&self.0).autodiff().require_grad())
            }
        }
        model.map(&mut Trainable(device.clone()))
    }

    /// The progress of a run that has not started: the generators seeded from the configuration.
    fn fresh_progress(
        model: &Forecaster,
        train: &Windows,
        cfg: &TrainConfig,
        initial: Option<f64>,
    ) -> Progress {
        Progress {
            epochs_done: 0,
            in_epoch: None,
            history: Vec::with_capacity(cfg.epochs),
            initial_val_loss: initial,
            best_epoch: 0,
            best_val_loss: initial,
            stale: 0,
            stopped_early: false,
            extended: false,
            seconds: 0.0,
            order: (0..train.n).collect(),
            shuffle_rng: RngState::of(&ChaCha12Rng::seed_from_u64(cfg.seed.wrapping_add(1))),
            dropout_rng: DropoutRng::new(model.config.dropout, cfg.seed.wrapping_add(2)).state(),
        }
    }

    /// Runs the remaining epochs; true when the observer stopped the run.
    fn epochs(
        &mut self,
        observer: &mut dyn Observer,
        mut checkpointer: Option<&mut dyn Checkpointer>,
    ) -> Result<bool> {
        let cfg = self.cfg;
        let every = checkpointer.as_ref().map_or(0, |c| c.every());
        for epoch in self.progress.epochs_done + 1..=self.last_epoch {
            if self.progress.stopped_early {
                break;
            }
            let t0 = Instant::now();
            let (first_batch, mut total, mut batches, seconds_before) = match self.in_epoch.take() {
                Some(pos) if pos.epoch == epoch => (
                    pos.next_batch,
                    f64::from_bits(pos.loss_total_bits),
                    pos.batches,
                    pos.seconds,
                ),
                _ => {
                    if cfg.shuffle {
                        self.order.shuffle(&mut self.shuffle_rng);
                    }
                    (0, 0.0, 0usize, 0.0)
                }
            };
            let lr = cfg.lr_schedule.rate(cfg.learning_rate, epoch, cfg.epochs);
            let mut interrupted = false;
            let n_batches = self.order.len().div_ceil(cfg.batch_size);
            for bi in first_batch..n_batches {
                if observer.should_stop() {
                    interrupted = true;
                    if let Some(c) = checkpointer.as_deref_mut() {
                        let position = EpochPosition {
                            epoch,
                            next_batch: bi,
                            loss_total_bits: total.to_bits(),
                            batches,
                            seconds: seconds_before + t0.elapsed().as_secs_f64(),
                        };
                        self.save(c, Some(position))?;
                    }
                    break;
                }
                let end = ((bi + 1) * cfg.batch_size).min(self.order.len());
                let chunk = self.order[bi * cfg.batch_size..end].to_vec();
                total += self.batch(&chunk, lr, epoch)?;
                batches += 1;
            }
            if batches == 0 {
                // Stopped before the epoch's first batch: nothing to record.
                return Ok(interrupted);
            }
            let record = EpochRecord {
                epoch,
                train_loss: total / batches as f64,
                val_loss: None,
                seconds: seconds_before + t0.elapsed().as_secs_f64(),
            };
            let record = self.end_epoch(record)?;
            observer.on_epoch(&record, self.progress.best_epoch);
            if interrupted {
                return Ok(true);
            }
            self.progress.epochs_done = epoch;
            let has_val = self.validation.n > 0;
            let patience = cfg.patience_for(n_batches);
            if patience > 0 && has_val && self.progress.stale >= patience {
                if cfg.counted_stale(self.progress.stale, epoch, n_batches) >= patience {
                    self.progress.stopped_early = true;
                } else {
                    self.progress.extended = true;
                }
            }
            if let Some(c) = checkpointer.as_deref_mut()
                && every > 0
                && (epoch.is_multiple_of(every)
                    || epoch == cfg.epochs
                    || self.progress.stopped_early)
            {
                self.save(c, None)?;
            }
        }
        Ok(false)
    }

    /// One optimizer step on the windows `chunk`; returns the batch's loss (the mean over the
    /// ensemble's members).
    fn batch(&mut self, chunk: &[usize], lr: f64, epoch: usize) -> Result<f64> {
        let (train, cfg, ad) = (self.train, self.cfg, &self.ad);
        let (b, o) = (chunk.len(), train.n_outputs);
        let mut xb = Vec::with_capacity(b * train.lookback * train.n_features);
        let mut yb = Vec::with_capacity(b * o);
        for &i in chunk {
            xb.extend_from_slice(train.x_of(i));
            yb.extend_from_slice(train.y_of(i));
        }
        let x = Tensor::<3>::from_data(
            TensorData::new(xb, [b, train.lookback, train.n_features]),
            ad,
        );
        let y = Tensor::<2>::from_data(TensorData::new(yb, [b, o]), ad);
        let out = self.model.forward_full(x, Some(&mut self.dropout));
        let n_members = out.members.len() as f64;
        let wb = self.weights.as_ref().map(|w| {
            let v: Vec<f32> = chunk.iter().map(|&i| w[i]).collect();
            Tensor::<2>::from_data(TensorData::new(v, [b, 1]), ad)
        });
        let mut loss: Option<Tensor<1>> = None;
        for m in out.members {
            let l = match &wb {
                Some(w) => weighted_loss_tensor(m, y.clone(), w.clone(), cfg),
                None => loss_tensor(m, y.clone(), cfg),
            };
            loss = Some(match loss {
                Some(acc) => acc + l,
                None => l,
            });
        }
        let loss = loss.expect("at least one member").div_scalar(n_members);
        let lv: f64 = loss.clone().into_scalar::<f32>() as f64;
        if !lv.is_finite() {
            return Err(TrainError::Diverged { epoch, loss: lv });
        }
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        // The step takes the weights by value (uniquely held, so updated in place); the best
        // weights stand in for the moment it runs.
        let model = std::mem::replace(&mut self.model, self.best.clone());
        self.model = self.optim.step(lr, model, grads);
        if let Some(avg) = self.average.as_mut() {
            avg.update(&self.model);
        }
        Ok(lv)
    }

    /// Validates the epoch's weights, records the epoch and keeps the weights when they are the
    /// best so far (the last epoch's without a validation part).
    fn end_epoch(&mut self, mut record: EpochRecord) -> Result<EpochRecord> {
        let inference = match &self.average {
            Some(avg) => avg.network(&self.model),
            None => self.model.valid(),
        };
        let vl = (self.validation.n > 0)
            .then(|| validation_loss(&inference, self.validation, self.cfg, self.device))
            .transpose()?;
        record.val_loss = vl;
        let p = &mut self.progress;
        p.history.push(record);
        // Past the point where the patience alone would have stopped the run, a lower loss
        // must also be clearly lower: more epochs are more draws of the validation noise.
        let accept = match (vl, p.best_val_loss) {
            (Some(v), Some(bv)) if v < bv => {
                !p.extended
                    || crate::fit::clearly_better(
                        &self.best,
                        &inference,
                        self.validation,
                        self.device,
                        self.best.config.horizon.max(1),
                    )?
            }
            _ => false,
        };
        match (vl, p.best_val_loss) {
            (Some(v), Some(_)) if accept => {
                p.best_val_loss = Some(v);
                self.best = inference;
                p.best_epoch = record.epoch;
                p.stale = 0;
            }
            (Some(_), Some(_)) => p.stale += 1,
            _ => {
                // No validation part: keep the last epoch.
                self.best = inference;
                p.best_epoch = record.epoch;
            }
        }
        Ok(record)
    }

    /// Hands a checkpoint of the current state (inside an epoch at `position`, or between
    /// epochs) to the checkpointer.
    fn save(&self, c: &mut dyn Checkpointer, position: Option<EpochPosition>) -> Result<()> {
        let mut p = self.progress.clone();
        if position.is_some() {
            p.in_epoch = position;
        }
        p.seconds += self.start.elapsed().as_secs_f64();
        p.order = self.order.clone();
        p.shuffle_rng = RngState::of(&self.shuffle_rng);
        p.dropout_rng = self.dropout.state();
        let average = self.average.as_ref().map(|a| a.network(&self.model));
        c.save(&Snapshot {
            model: &self.model,
            best: &self.best,
            average: average.as_ref(),
            optimizer: &self.optim,
            progress: p,
        })
    }

    /// The best weights and the run's report.
    fn finish(self, interrupted: bool) -> (Forecaster, TrainReport) {
        let p = self.progress;
        let report = TrainReport {
            history: p.history,
            initial_val_loss: p.initial_val_loss,
            best_epoch: p.best_epoch,
            best_val_loss: p.best_val_loss,
            stopped_early: p.stopped_early,
            interrupted,
            seconds: p.seconds + self.start.elapsed().as_secs_f64(),
            refit: None,
            seed_members: Vec::new(),
        };
        (self.best, report)
    }
}

/// The loss of a model's forecasts of a set of windows.
pub(crate) fn validation_loss(
    m: &Forecaster,
    validation: &Windows,
    cfg: &TrainConfig,
    device: &Device,
) -> Result<f64> {
    let p = predict_scaled(m, validation, device, 512)?;
    Ok(loss_value(&p, &validation.all_y(), cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Forecasts that cannot be read as `f32` are an error, not an empty result that would make
    /// the epoch's validation loss 0 and keep it as the best (issue 13.5).
    #[test]
    fn unreadable_forecasts_are_an_error() {
        let wrong = TensorData::new(vec![1i64, 2, 3], [3, 1]);
        let e = forecast_values(wrong, 0, 3).unwrap_err();
        assert!(matches!(e, TrainError::Inference { .. }), "{e}");
        assert!(e.to_string().contains("windows 0..3"), "{e}");
        let right = TensorData::new(vec![1.0f32, 2.0, 3.0], [3, 1]);
        assert_eq!(forecast_values(right, 0, 3).unwrap(), vec![1.0, 2.0, 3.0]);
    }
}
