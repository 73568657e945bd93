//! Loading a PyTorch `nn.LSTM` + `nn.Linear` model saved as safetensors.
//!
//! The expected keys are exactly PyTorch's names for
//!
//! ```text
//! lstm = nn.LSTM(input_size=I, hidden_size=H, num_layers=L, batch_first=True)
//! fc   = nn.Linear(H, O)
//! f(x) = fc(lstm(x)[0][:, -1, :])
//! ```
//!
//! i.e. `lstm.weight_ih_l{k}` `[4H, I_k]`, `lstm.weight_hh_l{k}` `[4H, H]`, `lstm.bias_ih_l{k}`,
//! `lstm.bias_hh_l{k}` `[4H]` for every layer `k`, `fc.weight` `[O, H]` and `fc.bias` `[O]`.
//! [`FusedLstm`](crate::FusedLstm) uses PyTorch's layout and gate order, so loading is a renaming.
//! The sizes are read from the file's header; the result is a plain (non-residual) single-network
//! [`Forecaster`] without dropout whose `O` outputs are the horizon steps of one target (feature 0).

use std::path::Path;

use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;

use crate::error::{ModelError, Result};
use crate::forecaster::{Forecaster, ModelConfig, ModelKind};

fn weights_error(path: &Path, message: impl Into<String>) -> ModelError {
    ModelError::Weights {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Shapes of the tensors in a safetensors file, read from its JSON header.
fn shapes(path: &Path, bytes: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>> {
    let len = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
        .ok_or_else(|| weights_error(path, "file is shorter than a safetensors header"))?;
    let end = usize::try_from(len)
        .ok()
        .and_then(|l| l.checked_add(8))
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| {
            weights_error(
                path,
                format!("safetensors header length {len} exceeds the file size"),
            )
        })?;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..end])
        .map_err(|e| weights_error(path, format!("invalid safetensors header: {e}")))?;
    match header {
        serde_json::Value::Object(m) => Ok(m),
        _ => Err(weights_error(
            path,
            "safetensors header is not a JSON object",
        )),
    }
}

fn shape_of(
    path: &Path,
    map: &serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Result<Vec<usize>> {
    let entry = map
        .get(key)
        .ok_or_else(|| weights_error(path, format!("missing tensor {key:?}")))?;
    entry
        .get("shape")
        .and_then(|s| s.as_array())
        .and_then(|a| {
            a.iter()
                .map(|v| v.as_u64().and_then(|u| usize::try_from(u).ok()))
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| weights_error(path, format!("tensor {key:?} has no valid shape")))
}

/// The architecture stored in a PyTorch LSTM safetensors file (see the module docs).
pub fn pytorch_lstm_config(path: &Path, bytes: &[u8]) -> Result<ModelConfig> {
    let map = shapes(path, bytes)?;
    let wih0 = shape_of(path, &map, "lstm.weight_ih_l0")?;
    let whh0 = shape_of(path, &map, "lstm.weight_hh_l0")?;
    let fc = shape_of(path, &map, "fc.weight")?;
    let (&[g, input], &[g2, hidden], &[outputs, fc_in]) =
        (wih0.as_slice(), whh0.as_slice(), fc.as_slice())
    else {
        return Err(weights_error(
            path,
            format!(
                "expected 2-d lstm.weight_ih_l0, lstm.weight_hh_l0 and fc.weight, found shapes {wih0:?}, {whh0:?}, {fc:?}"
            ),
        ));
    };
    if g != 4 * hidden || g2 != g || fc_in != hidden || hidden == 0 || outputs == 0 {
        return Err(weights_error(
            path,
            format!(
                "inconsistent shapes: weight_ih_l0 {wih0:?}, weight_hh_l0 {whh0:?}, fc.weight {fc:?} (expected [4H, I], [4H, H], [O, H])"
            ),
        ));
    }
    let num_layers = (0..)
        .take_while(|k| map.contains_key(&format!("lstm.weight_ih_l{k}")))
        .count();
    Ok(ModelConfig {
        kind: ModelKind::Lstm,
        input_size: input,
        hidden_size: hidden,
        num_layers,
        dropout: 0.0,
        horizon: outputs,
        target_index: vec![0],
        residual: false,
        ensemble: 1,
        input_norm: false,
        linear: false,
        lookback: 0,
        season: 0,
        lstm_window: 0,
    })
}

/// Loads `nn.LSTM` + `nn.Linear` weights saved by PyTorch (safetensors, float32 or float64) into a
/// [`Forecaster`] on `device`. Residual mode is off, so the forecaster computes exactly
/// `fc(lstm(x)[0][:, -1, :])`. Any missing, extra or mis-shaped tensor is an error naming it.
pub fn load_pytorch_lstm(path: &Path, device: &Device) -> Result<Forecaster> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ModelError::NotFound {
            path: path.to_path_buf(),
        },
        _ => ModelError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        },
    })?;
    let config = pytorch_lstm_config(path, &bytes)?;
    let mut model = config.init(0, device)?;
    let mut store = SafetensorsStore::from_bytes(Some(bytes))
        .validate(true)
        .allow_partial(false)
        .with_key_remapping(r"^lstm\.weight_ih_l(\d+)$", "members.0.layers.$1.weight_ih")
        .with_key_remapping(r"^lstm\.weight_hh_l(\d+)$", "members.0.layers.$1.weight_hh")
        .with_key_remapping(r"^lstm\.bias_ih_l(\d+)$", "members.0.layers.$1.bias_ih")
        .with_key_remapping(r"^lstm\.bias_hh_l(\d+)$", "members.0.layers.$1.bias_hh")
        .with_key_remapping(r"^fc\.weight$", "members.0.head_weight")
        .with_key_remapping(r"^fc\.bias$", "members.0.head_bias");
    let res = model
        .load_from(&mut store)
        .map_err(|e| weights_error(path, e.to_string()))?;
    if !res.errors.is_empty() || !res.missing.is_empty() || !res.unused.is_empty() {
        return Err(weights_error(
            path,
            format!(
                "not a PyTorch LSTM + Linear file: {} errors {:?}, missing {:?}, unused {:?}",
                res.errors.len(),
                res.errors,
                res.missing.iter().map(|m| &m.0).collect::<Vec<_>>(),
                res.unused
            ),
        ));
    }
    Ok(model)
}
