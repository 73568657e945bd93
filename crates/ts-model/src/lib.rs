//! # ts-model: Burn modules and the model file
//!
//! ```
//! use burn::tensor::{Device, Tensor, TensorData};
//! use ts_model::ModelConfig;
//!
//! // Three input columns, the forecast is of column 0; an LSTM of 8 units over 12 steps.
//! let mut config = ModelConfig::new(3, vec![0]);
//! config.hidden_size = 8;
//! let device = Device::flex();
//! let model = config.init(42, &device).unwrap();
//! let x = Tensor::<3>::from_data(TensorData::new(vec![0.5f32; 2 * 12 * 3], [2, 12, 3]), &device);
//! assert_eq!(model.forward(x).dims(), [2, 1]); // two windows, one step of one target
//! assert_eq!(Some(model.parameter_count()), config.parameter_count());
//! ```
//!
//! - [`FusedLstm`]: an LSTM layer with fused gate weights in PyTorch's layout (`weight_ih [4H, I]`,
//!   `weight_hh [4H, H]`, two biases, gates i, f, g, o): one matmul projects the inputs of all time
//!   steps, one matmul per step does the recurrent part. Parameter counts equal PyTorch's.
//! - [`ext`] and [`kernel`]: the whole stack as one custom Burn operation on the flex CPU backend,
//!   with hand-written backpropagation through time ([`LstmKernel`] picks it or tensor operations).
//! - [`Forecaster`]: one or more [`LstmNet`]s (stacked LSTM, dropout between layers and before the
//!   head, optional additive attention, linear head on the last step or the attention context).
//!   With `residual = true` (the default) the network predicts the change from the last observed
//!   value, and starts out as exactly the last-value forecast.
//! - [`mod@file`]: the safe model file (JSON header + safetensors + SHA-256, atomic saves).
//! - [`torch`]: loading PyTorch `nn.LSTM` + `nn.Linear` safetensors weights ([`load_pytorch_lstm`]).
//! - [`baseline`]: a stack of Burn's own `nn::Lstm`, for benchmarks.
//!
//! Everything is generic over Burn backends through run-time [`burn::tensor::Device`]s: `flex`
//! (pure-Rust CPU) by default, `wgpu` with the `wgpu` feature.

pub mod baseline;
pub mod device;
pub mod error;
pub mod ext;
pub mod file;
pub mod forecaster;
pub mod kernel;
#[cfg(target_arch = "x86_64")]
mod kernel_avx2;
pub mod lstm;
mod spin_pool;
pub mod torch;

pub use device::{DeviceChoice, check_device, make_device};
pub use error::{ModelError, Result};
pub use file::{ModelFile, ModelHeader};
pub use forecaster::{
    Attention, DropoutRng, Forecaster, ForwardOutput, LstmNet, ModelConfig, ModelKind,
};
pub use lstm::{FusedLstm, LstmKernel, fused_stack, reference_lstm_layer};
pub use torch::load_pytorch_lstm;
