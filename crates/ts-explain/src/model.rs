//! The model seen by the explainers (plain buffers in and out), the windows and attributions
//! they work on, and the [`Runner`] that batches inputs into large forward and gradient passes.

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

/// A model seen by the explainers: windows `[n, steps, features]` in, outputs `[n, outputs]` out,
/// all plain row-major `f32` buffers, so any model can be explained (a Burn or PyTorch network, a
/// linear model, a closure over a remote service).
///
/// Perturbation methods (SHAP, LIME, occlusion, permutation importance) need only
/// [`ExplainModel::forward`]; gradient methods (saliency, input × gradient, integrated gradients,
/// SmoothGrad) also need [`ExplainModel::gradient`]; the attention report needs
/// [`ExplainModel::attention`]. With the `lstm` feature, `ForecasterModel` implements it for a
/// trained `ts_model::Forecaster` (gradients by Burn's autodiff).
pub trait ExplainModel {
    /// Time steps per window the model expects.
    fn steps(&self) -> usize;
    /// Features per time step.
    fn features(&self) -> usize;
    /// Outputs per window.
    fn outputs(&self) -> usize;
    /// Inference on `n` windows stored back to back in `x` (`n × steps × features` values):
    /// `n × outputs` values, window by window.
    fn forward(&self, x: &[f32], n: usize) -> Result<Vec<f32>>;
    /// d output\[`output`\] / d input for each of `n` windows stored back to back in `x`:
    /// `n × steps × features` values, one per input cell. Windows are independent. The default
    /// refuses ([`ExplainError::Unsupported`]): a model without gradients can still be explained
    /// by the perturbation methods.
    fn gradient(&self, x: &[f32], n: usize, output: usize) -> Result<Vec<f32>> {
        let _ = (x, n, output);
        Err(ExplainError::Unsupported {
            method: "gradient".into(),
            reason: "the model provides no gradients (use shap, lime or occlusion)".into(),
        })
    }
    /// Attention weights `n × steps` (each window's row sums to 1), or `None` when the model has
    /// no attention (the default).
    fn attention(&self, x: &[f32], n: usize) -> Result<Option<Vec<f32>>> {
        let _ = (x, n);
        Ok(None)
    }
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

    /// The chosen output for each of `n` windows stored back to back in `data`.
    pub fn predict(&self, data: &[f32], n: usize) -> Result<Vec<f64>> {
        let c = self.model.steps() * self.model.features();
        let outs = self.model.outputs();
        let mut res = Vec::with_capacity(n);
        let mut start = 0;
        while start < n {
            let end = (start + self.batch.max(1)).min(n);
            let y = self.model.forward(&data[start * c..end * c], end - start)?;
            check_len("forward", y.len(), (end - start) * outs)?;
            res.extend(y.chunks(outs.max(1)).map(|row| f64::from(row[self.output])));
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
    /// from [`ExplainModel::gradient`], `grad_batch` windows per call.
    pub fn gradients(&self, data: &[f32], n: usize) -> Result<Vec<f32>> {
        let c = self.model.steps() * self.model.features();
        let mut res = Vec::with_capacity(n * c);
        let mut start = 0;
        while start < n {
            let end = (start + self.grad_batch.max(1)).min(n);
            let g = self
                .model
                .gradient(&data[start * c..end * c], end - start, self.output)?;
            check_len("gradient", g.len(), (end - start) * c)?;
            res.extend(g);
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

/// An error unless a model call returned `want` values.
pub(crate) fn check_len(method: &str, got: usize, want: usize) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(ExplainError::BadOutput {
            method: method.into(),
            got,
            want,
        })
    }
}
