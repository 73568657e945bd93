//! A stack of Burn's built-in `nn::Lstm` layers with a linear head, the reference point for the
//! fused layer's speed in `cargo xtask bench`.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig, Lstm, LstmConfig};
use burn::tensor::{Device, Tensor};

/// Stacked `nn::Lstm` + `nn::Linear` on the last time step.
#[derive(Module, Debug)]
pub struct BurnLstmStack {
    /// The layers.
    pub layers: Vec<Lstm>,
    /// The head.
    pub head: Linear,
}

impl BurnLstmStack {
    /// Builds the stack.
    pub fn new(
        input: usize,
        hidden: usize,
        layers: usize,
        outputs: usize,
        device: &Device,
    ) -> Self {
        let layers = (0..layers)
            .map(|l| {
                LstmConfig::new(if l == 0 { input } else { hidden }, hidden, true).init(device)
            })
            .collect();
        Self {
            layers,
            head: LinearConfig::new(hidden, outputs).init(device),
        }
    }

    /// `x [B, T, I]` → `[B, outputs]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let mut seq = x;
        for l in &self.layers {
            seq = l.forward(seq, None).0;
        }
        let [b, t, h] = seq.dims();
        self.head.forward(seq.narrow(1, t - 1, 1).reshape([b, h]))
    }
}
