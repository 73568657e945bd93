//! The fused LSTM layer and its stack.
//!
//! Weights use PyTorch's layout: `weight_ih [4H, I]`, `weight_hh [4H, H]`, `bias_ih [4H]`,
//! `bias_hh [4H]`, gate order (i, f, g, o). The input projections of all time steps are one matmul;
//! each time step then costs one `[B, H] × [H, 4H]` matmul, one sigmoid over all four gates and a
//! handful of element-wise operations. Internally sequences are kept time-major and flattened
//! (`[T·B, features]`), so that per-step slices are contiguous row blocks.

use burn::backend::Dispatch;
use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::ext::{LstmBackend, fused_available};
use rand::RngExt;
use rand::rngs::StdRng;

/// One LSTM layer with fused gate weights.
#[derive(Module, Debug)]
pub struct FusedLstm {
    /// Input-to-hidden weights `[4H, I]`, gates (i, f, g, o).
    pub weight_ih: Param<Tensor<2>>,
    /// Hidden-to-hidden weights `[4H, H]`.
    pub weight_hh: Param<Tensor<2>>,
    /// Input bias `[4H]`.
    pub bias_ih: Param<Tensor<1>>,
    /// Hidden bias `[4H]`.
    pub bias_hh: Param<Tensor<1>>,
    /// Hidden size `H`.
    pub hidden: usize,
}

/// Uniform `U(-k, k)` values from a seeded generator.
pub(crate) fn uniform(rng: &mut StdRng, n: usize, k: f64) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-k..k) as f32).collect()
}

pub(crate) fn param2(v: Vec<f32>, shape: [usize; 2], device: &Device) -> Param<Tensor<2>> {
    Param::from_tensor(Tensor::from_data(TensorData::new(v, shape), device))
}

pub(crate) fn param1(v: Vec<f32>, n: usize, device: &Device) -> Param<Tensor<1>> {
    Param::from_tensor(Tensor::from_data(TensorData::new(v, [n]), device))
}

impl FusedLstm {
    /// A layer initialised like PyTorch: every weight and bias from `U(-1/√H, 1/√H)`.
    pub fn new(input: usize, hidden: usize, rng: &mut StdRng, device: &Device) -> Self {
        let k = 1.0 / (hidden as f64).sqrt();
        let g = 4 * hidden;
        Self {
            weight_ih: param2(uniform(rng, g * input, k), [g, input], device),
            weight_hh: param2(uniform(rng, g * hidden, k), [g, hidden], device),
            bias_ih: param1(uniform(rng, g, k), g, device),
            bias_hh: param1(uniform(rng, g, k), g, device),
            hidden,
        }
    }

    /// Input size `I`.
    pub fn input_size(&self) -> usize {
        self.weight_ih.dims()[1]
    }

    /// Runs the layer over a time-major flattened sequence `x [T·B, I]` with zero initial state.
    /// Returns every hidden state, time-major flattened `[T·B, H]`, when `all_steps`, else only the
    /// last one `[B, H]`.
    pub fn forward_time_major(&self, x: Tensor<2>, steps: usize, all_steps: bool) -> Tensor<2> {
        let [tb, _] = x.dims();
        let b = tb / steps;
        let h = self.hidden;
        let bias = (self.bias_ih.val() + self.bias_hh.val()).unsqueeze_dim::<2>(0);
        // One matmul for the input part of all time steps.
        let xp = x.matmul(self.weight_ih.val().transpose()) + bias;
        let w_hh_t = self.weight_hh.val().transpose();
        let mut hs: Option<Tensor<2>> = None;
        let mut cs: Option<Tensor<2>> = None;
        let mut outs = Vec::with_capacity(if all_steps { steps } else { 0 });
        for t in 0..steps {
            let xt = xp.clone().narrow(0, t * b, b);
            let z = match &hs {
                Some(hp) => xt + hp.clone().matmul(w_hh_t.clone()),
                None => xt,
            };
            let s = sigmoid(z.clone());
            let i = s.clone().narrow(1, 0, h);
            let f = s.clone().narrow(1, h, h);
            let o = s.narrow(1, 3 * h, h);
            let g = z.narrow(1, 2 * h, h).tanh();
            let c = match cs {
                Some(cp) => f * cp + i * g,
                None => i * g,
            };
            let hn = o * c.clone().tanh();
            if all_steps {
                outs.push(hn.clone());
            }
            hs = Some(hn);
            cs = Some(c);
        }
        if all_steps {
            Tensor::cat(outs, 0)
        } else {
            hs.expect("at least one time step")
        }
    }

    /// Batch-first convenience: `x [B, T, I]` → all hidden states `[B, T, H]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, t, i] = x.dims();
        let tm = x.swap_dims(0, 1).reshape([t * b, i]);
        let out = self.forward_time_major(tm, t, true);
        out.reshape([t, b, self.hidden]).swap_dims(0, 1)
    }
}

/// Which implementation runs a stack of [`FusedLstm`] layers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LstmKernel {
    /// The fused custom operation where the backend has it (flex), tensor operations elsewhere.
    #[default]
    Auto,
    /// Always tensor operations ([`FusedLstm::forward_time_major`] per layer): the reference the
    /// fused operation is tested against, and the path of backends without the operation (wgpu).
    TensorOps,
}

impl LstmKernel {
    /// Whether this choice runs the fused operation on `device`.
    pub fn fused_on(self, device: &Device) -> bool {
        self == Self::Auto && fused_available(device)
    }
}

/// Runs a whole stack of layers as one fused operation (see [`crate::ext`]): `x [T·B, I]`
/// time-major → the top layer's hidden states `[T·B, H]`, time-major (`all_steps`), or those of the
/// last step `[B, H]`. `masks` holds `layers - 1`
/// inverted dropout masks `[T·B, H]`, concatenated, for the outputs of all layers but the top one.
/// Only for devices where [`crate::ext::fused_available`] holds.
///
/// # Panics
/// If `layers` is empty, the hidden sizes differ, or the mask length is wrong.
pub fn fused_stack(
    layers: &[FusedLstm],
    x: Tensor<2>,
    steps: usize,
    masks: Option<Vec<f32>>,
    all_steps: bool,
) -> Tensor<2> {
    let hidden = layers.first().expect("at least one layer").hidden;
    assert!(
        layers.iter().all(|l| l.hidden == hidden),
        "fused_stack: hidden sizes differ"
    );
    let device = x.device();
    let mut parts: Vec<Tensor<1>> = Vec::with_capacity(4 * layers.len());
    for l in layers {
        let [g, i] = l.weight_ih.dims();
        parts.push(l.weight_ih.val().reshape([g * i]));
        parts.push(l.weight_hh.val().reshape([g * hidden]));
        parts.push(l.bias_ih.val());
        parts.push(l.bias_hh.val());
    }
    let params = Tensor::cat(parts, 0);
    let use_masks = masks.is_some();
    let m = masks.unwrap_or_else(|| vec![0.0]);
    let n = m.len();
    let masks = Tensor::<1>::from_data(TensorData::new(m, [n]), &device);
    let out = <Dispatch as LstmBackend>::lstm_stack(
        x.into_dispatch(),
        params.into_dispatch(),
        masks.into_dispatch(),
        steps,
        hidden,
        layers.len(),
        use_masks,
        all_steps,
    );
    Tensor::from_dispatch(out)
}

/// A plain `f64` reference implementation of one LSTM layer (PyTorch's equations), used by tests and
/// for checking the tensor version. `w_ih` is `[4H][I]` row-major, `w_hh` `[4H][H]`.
/// `x` is `[T][I]` for one sequence; returns every hidden state `[T][H]`.
pub fn reference_lstm_layer(
    x: &[Vec<f64>],
    w_ih: &[f64],
    w_hh: &[f64],
    b_ih: &[f64],
    b_hh: &[f64],
    hidden: usize,
) -> Vec<Vec<f64>> {
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    let inp = x.first().map_or(0, Vec::len);
    let mut h = vec![0.0; hidden];
    let mut c = vec![0.0; hidden];
    let mut out = Vec::with_capacity(x.len());
    for xt in x {
        let mut z = vec![0.0; 4 * hidden];
        for (r, zr) in z.iter_mut().enumerate() {
            let mut acc = b_ih[r] + b_hh[r];
            for k in 0..inp {
                acc += w_ih[r * inp + k] * xt[k];
            }
            for k in 0..hidden {
                acc += w_hh[r * hidden + k] * h[k];
            }
            *zr = acc;
        }
        for j in 0..hidden {
            let i = sig(z[j]);
            let f = sig(z[hidden + j]);
            let g = z[2 * hidden + j].tanh();
            let o = sig(z[3 * hidden + j]);
            c[j] = f * c[j] + i * g;
            h[j] = o * c[j].tanh();
        }
        out.push(h.clone());
    }
    out
}
