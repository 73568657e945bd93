//! Forecasting networks: a stacked LSTM with a linear head, an attention variant, and ensembles.

use burn::module::{Module, Param};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use chacha20::ChaCha12Rng;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::lstm::{FusedLstm, LstmKernel, param1, param2, uniform};

/// Which network to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Stacked LSTM; the head reads the last time step's hidden state.
    #[default]
    Lstm,
    /// Stacked LSTM with additive attention over all time steps; the head reads the
    /// attention-weighted sum of hidden states.
    Attention,
}

impl std::str::FromStr for ModelKind {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "lstm" => Ok(Self::Lstm),
            "attention" | "attention-lstm" | "attention_lstm" => Ok(Self::Attention),
            _ => Err(ModelError::InvalidConfig {
                name: "model".into(),
                value: s.into(),
                reason: "expected lstm or attention".into(),
            }),
        }
    }
}

/// Architecture of a forecaster; stored in the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Network kind.
    pub kind: ModelKind,
    /// Input features per time step.
    pub input_size: usize,
    /// LSTM hidden size.
    pub hidden_size: usize,
    /// Stacked LSTM layers.
    pub num_layers: usize,
    /// Dropout between LSTM layers and before the head, in [0, 1).
    pub dropout: f64,
    /// Steps ahead predicted at once.
    pub horizon: usize,
    /// Index of each target among the input features.
    pub target_index: Vec<usize>,
    /// Predict the change from the last observed value of each target (the output is
    /// `last value + head(...)`) instead of the level.
    pub residual: bool,
    /// Number of ensemble members (1 = a single network); the forecast is their mean.
    pub ensemble: usize,
    /// Feed the LSTM each window relative to its last row (every feature minus its last value),
    /// so that the network sees shapes, not levels: a level shift between training and test data
    /// costs nothing (the per-window normalisation of NLinear / RevIN; undone at the output by
    /// the residual base).
    #[serde(default)]
    pub input_norm: bool,
    /// Add a linear branch from each target's own last `lookback` values (relative to the last
    /// one) to its `horizon` outputs, shared by the targets (the "NLinear" lesson). It starts as
    /// the seasonal naive forecast when `1 < season <= lookback`, else at zero (the naive
    /// forecast), so that the untrained model is that baseline.
    #[serde(default)]
    pub linear: bool,
    /// Time steps per window (needed by the linear branch).
    #[serde(default)]
    pub lookback: usize,
    /// Seasonal period in rows the linear branch starts from (1 or 0 = none).
    #[serde(default)]
    pub season: usize,
    /// The LSTM layers read only the last `lstm_window` rows of each window (0 = all of it), while
    /// the linear branch reads the whole window: a window sized for a long season (a week of
    /// half-hourly data, 336 rows) costs the recurrent layers only the rows they use (the last
    /// day). Left out of model files when 0, so that builds from before read them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lstm_window: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl ModelConfig {
    /// The seed's architecture for `input_size` features and one target at feature 0.
    pub fn new(input_size: usize, target_index: Vec<usize>) -> Self {
        Self {
            kind: ModelKind::Lstm,
            input_size,
            hidden_size: 64,
            num_layers: 2,
            dropout: 0.2,
            horizon: 1,
            target_index,
            residual: true,
            ensemble: 1,
            input_norm: false,
            linear: false,
            lookback: 0,
            season: 0,
            lstm_window: 0,
        }
    }

    /// Rows of a `t`-row window the LSTM layers read ([`ModelConfig::lstm_window`]).
    pub fn lstm_rows(&self, t: usize) -> usize {
        match self.lstm_window {
            0 => t,
            w => w.min(t),
        }
    }

    /// Outputs per window: horizon × targets.
    pub fn n_outputs(&self) -> usize {
        self.horizon * self.target_index.len()
    }

    /// Number of trainable parameters this architecture has (computed, nothing allocated);
    /// `None` if it overflows.
    pub fn parameter_count(&self) -> Option<usize> {
        let h = self.hidden_size;
        let mut per_member = 0usize;
        for l in 0..self.num_layers {
            let input = if l == 0 { self.input_size } else { h };
            let layer = h
                .checked_mul(4)?
                .checked_mul(input.checked_add(h)?.checked_add(2)?)?;
            per_member = per_member.checked_add(layer)?;
        }
        if self.kind == ModelKind::Attention {
            per_member = per_member.checked_add(h.checked_mul(h)?.checked_add(2 * h)?)?;
        }
        let o = self.n_outputs();
        per_member = per_member.checked_add(o.checked_mul(h)?.checked_add(o)?)?;
        if self.linear {
            per_member = per_member.checked_add(
                self.horizon
                    .checked_mul(self.lookback)?
                    .checked_add(self.horizon)?,
            )?;
        }
        per_member.checked_mul(self.ensemble)
    }

    /// Checks every size and probability.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &str, value: String, reason: &str| {
            Err(ModelError::InvalidConfig {
                name: name.into(),
                value,
                reason: reason.into(),
            })
        };
        if self.input_size == 0 {
            return bad("input_size", "0".into(), "must be at least 1");
        }
        if self.hidden_size == 0 {
            return bad("hidden_size", "0".into(), "must be at least 1");
        }
        if self.num_layers == 0 {
            return bad("num_layers", "0".into(), "must be at least 1");
        }
        if self.horizon == 0 {
            return bad("horizon", "0".into(), "must be at least 1");
        }
        if self.ensemble == 0 {
            return bad("ensemble", "0".into(), "must be at least 1");
        }
        if !(self.dropout.is_finite() && (0.0..1.0).contains(&self.dropout)) {
            return bad("dropout", self.dropout.to_string(), "must be in [0, 1)");
        }
        if self.target_index.is_empty() {
            return bad("targets", "(none)".into(), "at least one target");
        }
        if self.linear && self.lookback == 0 {
            return bad(
                "lookback",
                "0".into(),
                "the linear branch needs the window length",
            );
        }
        if self.lstm_window > 0 && self.lookback > 0 && self.lstm_window > self.lookback {
            return bad(
                "lstm_window",
                self.lstm_window.to_string(),
                &format!("must not exceed the window ({} rows)", self.lookback),
            );
        }
        if self.linear && !self.residual {
            return bad(
                "residual",
                "false".into(),
                "the linear branch forecasts the change from the last value: it needs residual = true",
            );
        }
        if let Some(t) = self.target_index.iter().find(|&&t| t >= self.input_size) {
            return bad(
                "target_index",
                t.to_string(),
                "must point at an input feature",
            );
        }
        Ok(())
    }

    /// Builds the network with weights drawn from `seed`.
    pub fn init(&self, seed: u64, device: &Device) -> Result<Forecaster> {
        self.validate()?;
        let mut rng = StdRng::seed_from_u64(seed);
        let members = (0..self.ensemble)
            .map(|_| LstmNet::new(self, &mut rng, device))
            .collect();
        Ok(Forecaster {
            members,
            config: self.clone(),
            kernel: LstmKernel::Auto,
        })
    }
}

/// Additive (Bahdanau) attention over hidden states: `score_t = v · tanh(W h_t + b)`.
#[derive(Module, Debug)]
pub struct Attention {
    /// `[H, H]` projection (PyTorch layout, out × in).
    pub weight: Param<Tensor<2>>,
    /// `[H]` bias.
    pub bias: Param<Tensor<1>>,
    /// `[1, H]` scoring vector.
    pub score: Param<Tensor<2>>,
}

impl Attention {
    fn new(h: usize, rng: &mut StdRng, device: &Device) -> Self {
        let k = 1.0 / (h as f64).sqrt();
        Self {
            weight: param2(uniform(rng, h * h, k), [h, h], device),
            bias: param1(uniform(rng, h, k), h, device),
            score: param2(uniform(rng, h, k), [1, h], device),
        }
    }

    /// `hs [B, T, H]` → (context `[B, H]`, weights `[B, T]`).
    pub fn forward(&self, hs: Tensor<3>) -> (Tensor<2>, Tensor<2>) {
        let [b, t, h] = hs.dims();
        let flat = hs.clone().reshape([b * t, h]);
        let e = (flat.matmul(self.weight.val().transpose())
            + self.bias.val().unsqueeze_dim::<2>(0))
        .tanh();
        let scores = e.matmul(self.score.val().transpose()).reshape([b, t, 1]);
        let w = softmax(scores, 1);
        let ctx = (hs * w.clone()).sum_dim(1).reshape([b, h]);
        (ctx, w.reshape([b, t]))
    }
}

/// The linear branch: `horizon` outputs from the `lookback` values of one target, the same
/// weights for every target (channel-independent).
#[derive(Module, Debug)]
pub struct LinearSkip {
    /// Weights `[horizon, lookback]` (PyTorch layout, out × in); input `j` is the value
    /// `lookback − 1 − j` rows before the last one, minus the last value.
    pub weight: Param<Tensor<2>>,
    /// Bias `[horizon]`.
    pub bias: Param<Tensor<1>>,
}

/// The seasonal naive forecast as linear-branch weights `[horizon, lookback]` (row-major): output
/// `s` (0-based) reads the row one season before its forecast row
/// ([`ts_data::seasonal_lag`] rows before the last one). Zero weights (the naive forecast) when
/// `season <= 1` or the window is shorter than a season.
pub fn seasonal_naive_weights(horizon: usize, lookback: usize, season: usize) -> Vec<f32> {
    let mut w = vec![0.0f32; horizon * lookback];
    if season > 1 && season <= lookback {
        for s in 0..horizon {
            let back = ts_data::seasonal_lag(season, s + 1);
            w[s * lookback + (lookback - 1 - back)] = 1.0;
        }
    }
    w
}

/// The mean of the last `seasons` seasonal lags as linear-branch weights `[horizon, lookback]`
/// (row-major): output `s` averages the rows 1, 2, …, `seasons` seasons before its forecast row
/// that the window holds, `1/seasons` each. `seasons = 1` is [`seasonal_naive_weights`]. `None`
/// when `season <= 1` or some output's `seasons`-th lag lies before the window.
pub fn seasonal_mean_weights(
    horizon: usize,
    lookback: usize,
    season: usize,
    seasons: usize,
) -> Option<Vec<f32>> {
    seasonal_share_weights(horizon, lookback, season, &vec![1.0; seasons])
}

/// A weighted mean of the last `shares.len()` seasonal lags as linear-branch weights
/// `[horizon, lookback]` (row-major): output `s` gives the row `k + 1` seasons before its
/// forecast row the share `shares[k] / Σ shares`. Shares `1, r, r²` are the seasonal
/// component of exponential smoothing (Holt–Winters, smoothing `1 − r`) cut after three seasons;
/// equal shares are [`seasonal_mean_weights`]. `None` when `season <= 1`, no share is positive,
/// or some output's last lag lies before the window.
pub fn seasonal_share_weights(
    horizon: usize,
    lookback: usize,
    season: usize,
    shares: &[f32],
) -> Option<Vec<f32>> {
    let total: f32 = shares.iter().sum();
    if season <= 1 || shares.is_empty() || total.is_nan() || total <= 0.0 {
        return None;
    }
    let mut w = vec![0.0f32; horizon * lookback];
    for s in 0..horizon {
        let first = ts_data::seasonal_lag(season, s + 1);
        for (k, share) in shares.iter().enumerate() {
            let back = first + k * season;
            if back >= lookback {
                return None;
            }
            w[s * lookback + (lookback - 1 - back)] = share / total;
        }
    }
    Some(w)
}

impl LinearSkip {
    /// The branch as the seasonal naive forecast ([`seasonal_naive_weights`]), bias zero.
    fn seasonal_naive(horizon: usize, lookback: usize, season: usize, device: &Device) -> Self {
        let w = seasonal_naive_weights(horizon, lookback, season);
        Self {
            weight: param2(w, [horizon, lookback], device),
            bias: param1(vec![0.0; horizon], horizon, device),
        }
    }
}

/// One network: stacked fused LSTM layers, optional attention, a linear head, an optional
/// linear branch.
#[derive(Module, Debug)]
pub struct LstmNet {
    /// LSTM layers, bottom first.
    pub layers: Vec<FusedLstm>,
    /// Attention block of the attention variant.
    pub attention: Option<Attention>,
    /// Head weights `[outputs, H]` (PyTorch layout).
    pub head_weight: Param<Tensor<2>>,
    /// Head bias `[outputs]`.
    pub head_bias: Param<Tensor<1>>,
    /// Linear branch over each target's history ([`ModelConfig::linear`]).
    pub linear: Option<LinearSkip>,
}

impl LstmNet {
    /// The top layer's hidden states (size `h`) for the time-major input `tm [T·B, F]`: every step
    /// `[T·B, H]` when the net has attention, else the last one `[B, H]`. The fused and the
    /// layer-by-layer paths draw the dropout masks in the same order.
    fn top_states(
        &self,
        tm: Tensor<2>,
        [t, b, h]: [usize; 3],
        fused: bool,
        mut dropout: Option<&mut DropoutRng>,
    ) -> Tensor<2> {
        let n_layers = self.layers.len();
        let need_all = self.attention.is_some();
        if fused {
            let masks = match dropout {
                Some(d) if n_layers > 1 => d.mask((n_layers - 1) * t * b * h),
                _ => None,
            };
            return crate::lstm::fused_stack(&self.layers, tm, t, masks, need_all);
        }
        let mut seq = tm;
        for layer in &self.layers[..n_layers - 1] {
            let out = layer.forward_time_major(seq, t, true);
            seq = match dropout.as_deref_mut() {
                Some(d) => d.apply(out),
                None => out,
            };
        }
        self.layers[n_layers - 1].forward_time_major(seq, t, need_all)
    }

    fn new(cfg: &ModelConfig, rng: &mut StdRng, device: &Device) -> Self {
        let h = cfg.hidden_size;
        let layers = (0..cfg.num_layers)
            .map(|l| FusedLstm::new(if l == 0 { cfg.input_size } else { h }, h, rng, device))
            .collect();
        let attention = (cfg.kind == ModelKind::Attention).then(|| Attention::new(h, rng, device));
        let o = cfg.n_outputs();
        let k = 1.0 / (h as f64).sqrt();
        // In residual mode the head starts at zero, so an untrained network is exactly the
        // last-value forecast and training can only move away from it when that helps.
        let (w, b) = if cfg.residual {
            (vec![0.0; o * h], vec![0.0; o])
        } else {
            (uniform(rng, o * h, k), uniform(rng, o, k))
        };
        let linear = cfg
            .linear
            .then(|| LinearSkip::seasonal_naive(cfg.horizon, cfg.lookback, cfg.season, device));
        Self {
            layers,
            attention,
            head_weight: param2(w, [o, h], device),
            head_bias: param1(b, o, device),
            linear,
        }
    }
}

/// The exact state of a ChaCha12 generator (the algorithm behind rand's `StdRng`): seed, stream and
/// position, so that a checkpointed run continues with the very same random numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The 256-bit key, hex.
    pub seed: String,
    /// Stream (nonce).
    pub stream: u64,
    /// Position in the stream in 32-bit words (a 68-bit number, as decimal text).
    pub word_pos: String,
}

impl RngState {
    /// Captures a generator's state.
    pub fn of(rng: &ChaCha12Rng) -> Self {
        Self {
            seed: hex::encode(rng.get_seed()),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    /// Rebuilds the generator, or `None` if the state is malformed.
    pub fn restore(&self) -> Option<ChaCha12Rng> {
        let seed: [u8; 32] = hex::decode(&self.seed).ok()?.try_into().ok()?;
        let pos: u128 = self.word_pos.parse().ok()?;
        if pos >= 1 << 68 {
            return None;
        }
        let mut rng = ChaCha12Rng::from_seed(seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(pos);
        Some(rng)
    }
}

/// Source of dropout masks: a seeded generator, so that training is reproducible on every backend.
/// It draws the same numbers as `StdRng::seed_from_u64(seed)`, and its state can be saved
/// ([`DropoutRng::state`]) and restored ([`DropoutRng::from_state`]).
#[derive(Debug)]
pub struct DropoutRng {
    rng: ChaCha12Rng,
    /// Drop probability.
    pub p: f64,
}

impl DropoutRng {
    /// Masks with drop probability `p`, drawn from `seed`.
    pub fn new(p: f64, seed: u64) -> Self {
        Self {
            rng: ChaCha12Rng::seed_from_u64(seed),
            p,
        }
    }

    /// The generator's exact state.
    pub fn state(&self) -> RngState {
        RngState::of(&self.rng)
    }

    /// A generator continuing from a saved state, or `None` if the state is malformed.
    pub fn from_state(p: f64, state: &RngState) -> Option<Self> {
        Some(Self {
            rng: state.restore()?,
            p,
        })
    }

    /// Applies inverted dropout to `x`.
    pub fn apply<const D: usize>(&mut self, x: Tensor<D>) -> Tensor<D> {
        let shape = x.shape();
        match self.mask(shape.num_elements()) {
            Some(mask) => {
                let m = Tensor::<D>::from_data(TensorData::new(mask, shape), &x.device());
                x * m
            }
            None => x,
        }
    }

    /// The next inverted-dropout mask of `n` values (`0` or `1 / (1 - p)`), or `None` when `p` is 0.
    /// [`DropoutRng::apply`] draws exactly this mask, so both paths consume the same numbers.
    pub fn mask(&mut self, n: usize) -> Option<Vec<f32>> {
        if self.p <= 0.0 {
            return None;
        }
        let keep = 1.0 - self.p;
        let scale = (1.0 / keep) as f32;
        Some(
            (0..n)
                .map(|_| {
                    if self.rng.random::<f64>() < keep {
                        scale
                    } else {
                        0.0
                    }
                })
                .collect(),
        )
    }
}

/// Output of a forward pass.
#[derive(Debug, Clone)]
pub struct ForwardOutput {
    /// Forecast `[B, outputs]` (ensemble mean).
    pub prediction: Tensor<2>,
    /// Each member's forecast.
    pub members: Vec<Tensor<2>>,
    /// Attention weights `[B, T]` per member (attention variant only).
    pub attention: Vec<Tensor<2>>,
}

/// A forecaster: one or more networks and the configuration they were built from.
#[derive(Module, Debug)]
pub struct Forecaster {
    /// Ensemble members (one for a single network).
    pub members: Vec<LstmNet>,
    /// The architecture.
    #[module(skip)]
    pub config: ModelConfig,
    /// Which implementation runs the LSTM layers (not saved: a property of the run, not the model).
    #[module(skip)]
    pub kernel: LstmKernel,
}

impl Forecaster {
    /// The same model running its LSTM layers with `kernel`.
    pub fn with_kernel(mut self, kernel: LstmKernel) -> Self {
        self.kernel = kernel;
        self
    }

    /// Inference forward pass (no dropout): `x [B, T, F]` → `[B, horizon × targets]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        self.forward_full(x, None).prediction
    }

    /// Forward pass with optional dropout masks, returning member outputs and attention weights.
    pub fn forward_full(
        &self,
        x: Tensor<3>,
        mut dropout: Option<&mut DropoutRng>,
    ) -> ForwardOutput {
        let [b, t, f] = x.dims();
        let cfg = &self.config;
        let h = cfg.hidden_size;
        let device = x.device();
        // Each window relative to its last row, for the normalised LSTM input and the linear
        // branch.
        let rel = (cfg.input_norm || cfg.linear).then(|| x.clone() - x.clone().narrow(1, t - 1, 1));
        let lstm_in = match (&rel, cfg.input_norm) {
            (Some(r), true) => r.clone(),
            _ => x.clone(),
        };
        // The rows the LSTM layers read: the last `lstm_window` of the window.
        let window = t;
        let (lstm_in, t) = match cfg.lstm_rows(t) {
            rows if rows < t => (lstm_in.narrow(1, t - rows, rows), rows),
            _ => (lstm_in, t),
        };
        let tm = lstm_in.swap_dims(0, 1).reshape([t * b, f]);
        let base = if cfg.residual {
            Some(self.last_values(x, &device))
        } else {
            None
        };
        // The targets' relative histories `[B·targets, T]` the linear branches read.
        let lin_in = match (&rel, cfg.linear) {
            (Some(r), true) => Some(self.target_histories(r.clone(), &device)),
            _ => None,
        };
        let mut members = Vec::with_capacity(self.members.len());
        let mut attention = Vec::new();
        let fused = self.kernel.fused_on(&device);
        for net in &self.members {
            let top = net.top_states(tm.clone(), [t, b, h], fused, dropout.as_deref_mut());
            let mut feat = match &net.attention {
                Some(att) => {
                    let (ctx, w) = att.forward(top.reshape([t, b, h]).swap_dims(0, 1));
                    // Weights over the whole window: none on the rows the LSTM does not read.
                    let w = match window - t {
                        0 => w,
                        unread => Tensor::cat(vec![Tensor::zeros([b, unread], &device), w], 1),
                    };
                    attention.push(w);
                    ctx
                }
                None => top,
            };
            if let Some(d) = dropout.as_deref_mut() {
                feat = d.apply(feat);
            }
            let mut y = feat.matmul(net.head_weight.val().transpose())
                + net.head_bias.val().unsqueeze_dim::<2>(0);
            if let (Some(lin), Some(hist)) = (&net.linear, &lin_in) {
                y = y + self.linear_branch(lin, hist.clone(), b);
            }
            if let Some(b0) = &base {
                y = y + b0.clone();
            }
            members.push(y);
        }
        let prediction = if members.len() == 1 {
            members[0].clone()
        } else {
            let n = members.len() as f64;
            members
                .iter()
                .skip(1)
                .fold(members[0].clone(), |acc, m| acc + m.clone())
                .div_scalar(n)
        };
        ForwardOutput {
            prediction,
            members,
            attention,
        }
    }

    /// The last observed value of each target, repeated per horizon step: `[B, outputs]`.
    fn last_values(&self, x: Tensor<3>, device: &Device) -> Tensor<2> {
        let [b, t, f] = x.dims();
        let cfg = &self.config;
        let o = cfg.n_outputs();
        let nt = cfg.target_index.len();
        // One-hot selection matrix [F, outputs], so that selection and repetition are one matmul.
        let mut sel = vec![0.0f32; f * o];
        for step in 0..cfg.horizon {
            for (k, &ti) in cfg.target_index.iter().enumerate() {
                sel[ti * o + step * nt + k] = 1.0;
            }
        }
        let sel = Tensor::<2>::from_data(TensorData::new(sel, [f, o]), device);
        x.narrow(1, t - 1, 1).reshape([b, f]).matmul(sel)
    }

    /// Each target's column of the windows `x [B, T, F]`, as rows `[B·targets, T]` (window-major).
    fn target_histories(&self, x: Tensor<3>, device: &Device) -> Tensor<2> {
        let [b, t, f] = x.dims();
        let idx = &self.config.target_index;
        let nt = idx.len();
        let mut sel = vec![0.0f32; f * nt];
        for (k, &ti) in idx.iter().enumerate() {
            sel[ti * nt + k] = 1.0;
        }
        let sel = Tensor::<2>::from_data(TensorData::new(sel, [f, nt]), device);
        x.reshape([b * t, f])
            .matmul(sel)
            .reshape([b, t, nt])
            .swap_dims(1, 2)
            .reshape([b * nt, t])
    }

    /// The linear branch on target histories `[B·targets, T]`: `[B, horizon × targets]`,
    /// step-major like the head.
    fn linear_branch(&self, lin: &LinearSkip, hist: Tensor<2>, b: usize) -> Tensor<2> {
        let horizon = self.config.horizon;
        let nt = self.config.target_index.len();
        (hist.matmul(lin.weight.val().transpose()) + lin.bias.val().unsqueeze_dim::<2>(0))
            .reshape([b, nt, horizon])
            .swap_dims(1, 2)
            .reshape([b, horizon * nt])
    }

    /// Replaces the linear branch of every member with `weight` (`[horizon, lookback]`, row-major)
    /// and `bias` (`[horizon]`), e.g. a closed-form least-squares fit, before training.
    ///
    /// # Errors
    /// A model without a linear branch, or buffers of the wrong length.
    pub fn set_linear(&mut self, weight: &[f32], bias: &[f32]) -> Result<()> {
        let (h, l) = (self.config.horizon, self.config.lookback);
        if !self.config.linear || weight.len() != h * l || bias.len() != h {
            return Err(ModelError::InvalidConfig {
                name: "linear".into(),
                value: format!("{} weights, {} biases", weight.len(), bias.len()),
                reason: format!(
                    "the model needs a linear branch of {h} × {l} weights and {h} biases"
                ),
            });
        }
        for net in &mut self.members {
            if let Some(lin) = &mut net.linear {
                let device = lin.weight.val().device();
                lin.weight = param2(weight.to_vec(), [h, l], &device);
                lin.bias = param1(bias.to_vec(), h, &device);
            }
        }
        Ok(())
    }

    /// Number of trainable parameters.
    pub fn parameter_count(&self) -> usize {
        self.num_params()
    }
}
