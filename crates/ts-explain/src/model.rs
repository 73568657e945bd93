//! The model seen by the explainers: windows in, one chosen output out, gradients by autodiff.

use std::sync::OnceLock;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use ts_model::Forecaster;

use crate::error::{ExplainError, Result, invalid};

/// A set of input windows `[n, steps, features]`, row-major (window, time step, feature), in the
/// model's (scaled) units.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    /// Number of windows.
    pub n: usize,
    /// Time steps per window.
    pub steps: usize,
    /// Features per time step.
    pub features: usize,
    /// The values, `n × steps × features`.
    pub data: Vec<f32>,
}

impl Inputs {
    /// Wraps a buffer, checking its length and that every value is finite.
    pub fn new(
        what: &str,
        data: Vec<f32>,
        n: usize,
        steps: usize,
        features: usize,
    ) -> Result<Self> {
        if n.checked_mul(steps).and_then(|v| v.checked_mul(features)) != Some(data.len()) {
            return Err(ExplainError::BadLength {
                what: what.into(),
                len: data.len(),
                n,
                steps,
                features,
            });
        }
        if let Some(k) = data.iter().position(|v| !v.is_finite()) {
            let cell = steps * features;
            return Err(ExplainError::NotFinite {
                what: what.into(),
                window: k / cell.max(1),
                step: (k % cell.max(1)) / features.max(1),
                feature: k % features.max(1),
                value: data[k],
            });
        }
        Ok(Self {
            n,
            steps,
            features,
            data,
        })
    }

    /// The inputs of a [`ts_data::Windows`] set.
    pub fn from_windows(what: &str, w: &ts_data::Windows) -> Result<Self> {
        Self::new(what, w.all_x(), w.n, w.lookback, w.n_features)
    }

    /// Cells per window (`steps × features`).
    pub fn cells(&self) -> usize {
        self.steps * self.features
    }

    /// Window `i`, `[steps × features]`.
    pub fn window(&self, i: usize) -> &[f32] {
        let c = self.cells();
        &self.data[i * c..(i + 1) * c]
    }

    /// The windows at positions `idx`.
    pub fn subset(&self, idx: &[usize]) -> Self {
        let mut data = Vec::with_capacity(idx.len() * self.cells());
        for &i in idx {
            data.extend_from_slice(self.window(i));
        }
        Self {
            n: idx.len(),
            steps: self.steps,
            features: self.features,
            data,
        }
    }

    /// The per-cell mean window `[steps × features]`; an error when there are no windows.
    pub fn mean_window(&self, what: &str) -> Result<Vec<f32>> {
        if self.n == 0 {
            return Err(ExplainError::Empty(what.into()));
        }
        let c = self.cells();
        let mut acc = vec![0.0f64; c];
        for i in 0..self.n {
            for (a, v) in acc.iter_mut().zip(self.window(i)) {
                *a += f64::from(*v);
            }
        }
        Ok(acc
            .into_iter()
            .map(|a| (a / self.n as f64) as f32)
            .collect())
    }
}

/// Attributions `[n, steps, features]` (window, time step, feature) for one output.
#[derive(Debug, Clone, PartialEq)]
pub struct Attributions {
    /// Number of windows.
    pub n: usize,
    /// Time steps per window.
    pub steps: usize,
    /// Features per time step.
    pub features: usize,
    /// The values, `n × steps × features`.
    pub values: Vec<f64>,
}

impl Attributions {
    /// Zero attributions of a shape.
    pub fn zeros(n: usize, steps: usize, features: usize) -> Self {
        Self {
            n,
            steps,
            features,
            values: vec![0.0; n * steps * features],
        }
    }

    /// Attribution of window `w`, time step `t`, feature `f`.
    pub fn get(&self, w: usize, t: usize, f: usize) -> f64 {
        self.values[(w * self.steps + t) * self.features + f]
    }

    /// Window `w`'s attributions, `[steps × features]`.
    pub fn window(&self, w: usize) -> &[f64] {
        let c = self.steps * self.features;
        &self.values[w * c..(w + 1) * c]
    }

    /// Sum of window `w`'s attributions.
    pub fn window_sum(&self, w: usize) -> f64 {
        self.window(w).iter().sum()
    }

    /// As nested vectors `[n][steps][features]` (for JSON).
    pub fn nested(&self) -> Vec<Vec<Vec<f64>>> {
        (0..self.n)
            .map(|w| {
                (0..self.steps)
                    .map(|t| (0..self.features).map(|f| self.get(w, t, f)).collect())
                    .collect()
            })
            .collect()
    }
}

/// A differentiable model with inputs `[B, steps, features]` and outputs `[B, outputs]`.
///
/// [`ForecasterModel`] wraps a trained [`Forecaster`]; tests implement it for models whose exact
/// attributions are known (a linear model).
pub trait ExplainModel {
    /// Time steps per window the model expects.
    fn steps(&self) -> usize;
    /// Features per time step.
    fn features(&self) -> usize;
    /// Outputs per window.
    fn outputs(&self) -> usize;
    /// The (non-autodiff) device inputs are placed on.
    fn device(&self) -> &Device;
    /// Inference forward pass on [`ExplainModel::device`].
    fn forward(&self, x: Tensor<3>) -> Tensor<2>;
    /// Forward pass for `x` on `device().autodiff()`, recording the graph back to `x`.
    fn forward_autodiff(&self, x: Tensor<3>) -> Tensor<2>;
    /// Attention weights `[B, steps]` (averaged over ensemble members), or `None` when the model
    /// has no attention.
    fn attention(&self, _x: Tensor<3>) -> Option<Tensor<2>> {
        None
    }
}

/// A [`Forecaster`] prepared for explaining: its inference copy and (built on first use) a copy on
/// the autodiff device, both running the same `Forecaster::forward` code that training uses.
#[derive(Debug)]
pub struct ForecasterModel {
    model: Forecaster,
    autodiff: OnceLock<Forecaster>,
    steps: usize,
    device: Device,
}

impl ForecasterModel {
    /// Wraps `model` (any device; it is moved to `device` in inference mode), which takes windows
    /// of `steps` time steps.
    pub fn new(model: &Forecaster, steps: usize, device: &Device) -> Self {
        let device = device.clone().inner();
        Self {
            model: model.valid().to_device(&device),
            autodiff: OnceLock::new(),
            steps,
            device,
        }
    }

    /// The wrapped model.
    pub fn forecaster(&self) -> &Forecaster {
        &self.model
    }
}

impl ExplainModel for ForecasterModel {
    fn steps(&self) -> usize {
        self.steps
    }
    fn features(&self) -> usize {
        self.model.config.input_size
    }
    fn outputs(&self) -> usize {
        self.model.config.n_outputs()
    }
    fn device(&self) -> &Device {
        &self.device
    }
    fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        self.model.forward(x)
    }
    fn forward_autodiff(&self, x: Tensor<3>) -> Tensor<2> {
        let m = self.autodiff.get_or_init(|| {
            self.model
                .clone()
                .to_device(&self.device.clone().autodiff())
                .no_grad()
        });
        m.forward(x)
    }
    fn attention(&self, x: Tensor<3>) -> Option<Tensor<2>> {
        let out = self.model.forward_full(x, None);
        let n = out.attention.len();
        let first = out.attention.first()?.clone();
        let sum = out
            .attention
            .into_iter()
            .skip(1)
            .fold(first, |acc, w| acc + w);
        Some(if n > 1 { sum.div_scalar(n as f64) } else { sum })
    }
}

pub(crate) fn to_f32<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| ExplainError::Tensor(format!("{e:?}")))
}

/// Runs a model on many windows in batches and returns one output per window.
#[derive(Debug, Clone, Copy)]
pub struct Runner<'m, M: ExplainModel + ?Sized> {
    /// The model.
    pub model: &'m M,
    /// Which output column is explained.
    pub output: usize,
    /// Windows per inference forward pass.
    pub batch: usize,
    /// Windows per autodiff forward/backward pass.
    pub grad_batch: usize,
}

impl<'m, M: ExplainModel + ?Sized> Runner<'m, M> {
    /// A runner for output `output` of `model`, with default batch sizes (2048 windows per
    /// inference pass, 1024 per gradient pass).
    pub fn new(model: &'m M, output: usize) -> Result<Self> {
        if output >= model.outputs() {
            return Err(invalid(
                "output",
                output,
                &format!("the model has {} outputs", model.outputs()),
            ));
        }
        Ok(Self {
            model,
            output,
            batch: 2048,
            grad_batch: 1024,
        })
    }

    /// Checks that `x` holds at least one window of the model's shape.
    pub fn check(&self, what: &str, x: &Inputs) -> Result<()> {
        if x.n == 0 {
            return Err(ExplainError::Empty(what.into()));
        }
        if x.steps != self.model.steps() || x.features != self.model.features() {
            return Err(ExplainError::ShapeMismatch {
                what: what.into(),
                n: x.n,
                steps: x.steps,
                features: x.features,
                model_steps: self.model.steps(),
                model_features: self.model.features(),
            });
        }
        Ok(())
    }

    fn tensor(&self, data: Vec<f32>, n: usize, device: &Device) -> Tensor<3> {
        Tensor::from_data(
            TensorData::new(data, [n, self.model.steps(), self.model.features()]),
            device,
        )
    }

    /// The chosen output for each of `n` windows stored back to back in `data`.
    pub fn predict(&self, data: &[f32], n: usize) -> Result<Vec<f64>> {
        let c = self.model.steps() * self.model.features();
        let outs = self.model.outputs();
        let mut res = Vec::with_capacity(n);
        let mut start = 0;
        while start < n {
            let end = (start + self.batch.max(1)).min(n);
            let x = self.tensor(
                data[start * c..end * c].to_vec(),
                end - start,
                self.model.device(),
            );
            let y = self.model.forward(x).narrow(1, self.output, 1);
            let v = to_f32(y)?;
            debug_assert_eq!(v.len(), end - start);
            let _ = outs;
            res.extend(v.into_iter().map(f64::from));
            start = end;
        }
        if let Some(k) = res.iter().position(|v| !v.is_finite()) {
            return Err(ExplainError::NonFinite {
                method: "forward".into(),
                detail: format!("output of input window {k}"),
            });
        }
        Ok(res)
    }

    /// Predictions for the windows of `x`.
    pub fn predict_inputs(&self, x: &Inputs) -> Result<Vec<f64>> {
        self.predict(&x.data, x.n)
    }

    /// Gradients d output / d input of `n` windows stored back to back in `data`, `[n × cells]`,
    /// by reverse-mode autodiff through the model's forward pass.
    pub fn gradients(&self, data: &[f32], n: usize) -> Result<Vec<f32>> {
        let c = self.model.steps() * self.model.features();
        let ad = self.model.device().clone().autodiff();
        let mut res = Vec::with_capacity(n * c);
        let mut start = 0;
        while start < n {
            let end = (start + self.grad_batch.max(1)).min(n);
            let x = self
                .tensor(data[start * c..end * c].to_vec(), end - start, &ad)
                .require_grad();
            // Windows are independent, so the gradient of the sum is each window's gradient.
            let y = self
                .model
                .forward_autodiff(x.clone())
                .narrow(1, self.output, 1)
                .sum();
            let grads = y.backward();
            let g = x
                .grad(&grads)
                .ok_or_else(|| ExplainError::Tensor("the input received no gradient".into()))?;
            res.extend(to_f32(g)?);
            start = end;
        }
        if let Some(k) = res.iter().position(|v| !v.is_finite()) {
            return Err(ExplainError::NonFinite {
                method: "gradient".into(),
                detail: format!("input window {}", k / c.max(1)),
            });
        }
        Ok(res)
    }
}
