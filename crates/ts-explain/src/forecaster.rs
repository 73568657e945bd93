//! [`ExplainModel`] for a trained [`Forecaster`] (feature `lstm`): inference, gradients by Burn's
//! autodiff and attention weights, all through the same `Forecaster::forward` code that training
//! uses.

use std::sync::OnceLock;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use ts_model::Forecaster;

use crate::error::{ExplainError, Result};
use crate::model::ExplainModel;

/// A [`Forecaster`] prepared for explaining: its inference copy and (built on first use) a copy on
/// the autodiff device.
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

    fn tensor(&self, x: &[f32], n: usize, device: &Device) -> Tensor<3> {
        Tensor::from_data(
            TensorData::new(x.to_vec(), [n, self.steps, self.features()]),
            device,
        )
    }
}

fn to_f32<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| ExplainError::ModelFailed(format!("reading tensor data: {e:?}")))
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
    fn forward(&self, x: &[f32], n: usize) -> Result<Vec<f32>> {
        to_f32(self.model.forward(self.tensor(x, n, &self.device)))
    }
    fn gradient(&self, x: &[f32], n: usize, output: usize) -> Result<Vec<f32>> {
        let ad = self.device.clone().autodiff();
        let m = self
            .autodiff
            .get_or_init(|| self.model.clone().to_device(&ad).no_grad());
        let x = self.tensor(x, n, &ad).require_grad();
        // Windows are independent, so the gradient of the sum is each window's gradient.
        let y = m.forward(x.clone()).narrow(1, output, 1).sum();
        let grads = y.backward();
        let g = x
            .grad(&grads)
            .ok_or_else(|| ExplainError::ModelFailed("the input received no gradient".into()))?;
        to_f32(g)
    }
    fn attention(&self, x: &[f32], n: usize) -> Result<Option<Vec<f32>>> {
        let out = self
            .model
            .forward_full(self.tensor(x, n, &self.device), None);
        let members = out.attention.len();
        let Some(first) = out.attention.first().cloned() else {
            return Ok(None);
        };
        let sum = out
            .attention
            .into_iter()
            .skip(1)
            .fold(first, |acc, w| acc + w);
        let mean = if members > 1 {
            sum.div_scalar(members as f64)
        } else {
            sum
        };
        to_f32(mean).map(Some)
    }
}
