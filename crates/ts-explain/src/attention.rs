//! Attention weights of a model that has attention ([`ExplainModel::attention`]).

use crate::error::{ExplainError, Result};
use crate::model::{ExplainModel, Inputs, Runner, check_len};

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
    while start < x.n {
        let end = (start + r.batch.max(1)).min(x.n);
        let v = m
            .attention(&x.data[start * c..end * c], end - start)?
            .ok_or_else(|| ExplainError::Unsupported {
                method: "attention".into(),
                reason: "the model has no attention layer (train with --model attention)".into(),
            })?;
        check_len("attention", v.len(), (end - start) * x.steps)?;
        for row in v.chunks(x.steps.max(1)) {
            weights.push(row.iter().map(|v| f64::from(*v)).collect::<Vec<f64>>());
        }
        start = end;
    }
    let mean = (0..x.steps)
        .map(|t| weights.iter().map(|w| w[t]).sum::<f64>() / x.n.max(1) as f64)
        .collect();
    Ok(AttentionResult { weights, mean })
}
