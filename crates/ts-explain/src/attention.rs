//! Attention weights of the attention variant of the model.

use burn::tensor::{Tensor, TensorData};

use crate::error::{ExplainError, Result};
use crate::model::{ExplainModel, Inputs, Runner, to_f32};

/// Attention weights per window and their average.
#[derive(Debug, Clone, PartialEq)]
pub struct AttentionResult {
    /// `[n][steps]`, each row sums to 1 (mean over ensemble members).
    pub weights: Vec<Vec<f64>>,
    /// Mean over windows, `[steps]`.
    pub mean: Vec<f64>,
}

/// The attention weights the model puts on each time step of each window; an error for a model
/// without attention.
pub fn attention<M: ExplainModel + ?Sized>(r: &Runner<M>, x: &Inputs) -> Result<AttentionResult> {
    r.check("explained windows", x)?;
    let m = r.model;
    let mut weights = Vec::with_capacity(x.n);
    let c = x.cells();
    let mut start = 0;
    while start < x.n.max(1) {
        let end = (start + r.batch.max(1)).min(x.n);
        let xt = Tensor::<3>::from_data(
            TensorData::new(
                x.data[start * c..end * c].to_vec(),
                [end - start, x.steps, x.features],
            ),
            m.device(),
        );
        let w = m.attention(xt).ok_or_else(|| ExplainError::Unsupported {
            method: "attention".into(),
            reason: "the model has no attention layer (train with --model attention)".into(),
        })?;
        let v = to_f32(w)?;
        for row in v.chunks(x.steps.max(1)) {
            weights.push(row.iter().map(|v| f64::from(*v)).collect::<Vec<f64>>());
        }
        if end == x.n {
            break;
        }
        start = end;
    }
    weights.truncate(x.n);
    let mean = (0..x.steps)
        .map(|t| weights.iter().map(|w| w[t]).sum::<f64>() / x.n.max(1) as f64)
        .collect();
    Ok(AttentionResult { weights, mean })
}
