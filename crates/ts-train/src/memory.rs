//! Refuses, before anything is allocated, a model too large to train on this machine.
//!
//! [`estimate`] computes, from the architecture alone, the parameter count and the memory a
//! training run needs: the weights, the best epoch's copy, the gradients, Adam's two moment
//! buffers and the inference copy (6 × 4 bytes per parameter), plus one batch's activations
//! (ensemble × layers × sequence length × batch × hidden × (4 gates + 3 states), kept for the
//! backward pass and matched by their gradients, 4 bytes each), plus the batch's inputs.
//! [`check`] compares it with [`memory_limit`]: the machine's total memory (`MemTotal` of
//! `/proc/meminfo`, lowered by a cgroup v2 `memory.max`), or the `TSF_MEMORY_LIMIT` environment
//! variable (bytes) when set.

use ts_model::{ModelConfig, ModelKind};

use crate::error::{Result, TrainError};

/// The environment variable that overrides the machine's memory (bytes), for tests and for
/// machines whose limit the files do not tell.
pub const MEMORY_LIMIT_ENV: &str = "TSF_MEMORY_LIMIT";

/// Bytes of one `f32`.
const F32: u128 = 4;
/// Copies of the parameters a run holds: weights, best-epoch copy, gradients, Adam's two moments,
/// inference copy.
const PARAMETER_COPIES: u128 = 6;
/// Values kept per hidden unit, time step, layer and window: 4 gates, cell, hidden, tanh(cell).
const ACTIVATIONS_PER_UNIT: u128 = 7;

/// What a training run of an architecture needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Trainable parameters (every ensemble member).
    pub parameters: u128,
    /// Estimated peak bytes of a training run.
    pub bytes: u128,
}

/// The parameter count and training memory of `model` trained with batches of `batch` windows of
/// `lookback` steps (exact arithmetic, no overflow; nothing is allocated).
pub fn estimate(model: &ModelConfig, lookback: usize, batch: usize) -> MemoryEstimate {
    // Saturating: a size from the command line may be up to `usize::MAX`.
    let mul = |xs: &[u128]| xs.iter().fold(1u128, |a, &x| a.saturating_mul(x));
    let h = model.hidden_size as u128;
    let layers = model.num_layers as u128;
    let input = model.input_size as u128;
    let first = mul(&[4, h, input.saturating_add(h).saturating_add(2)]);
    let rest = mul(&[4, h, h.saturating_add(h).saturating_add(2)]);
    let mut per_member = first.saturating_add(mul(&[rest, layers.saturating_sub(1)]));
    if model.kind == ModelKind::Attention {
        per_member = per_member.saturating_add(mul(&[h, h]).saturating_add(mul(&[2, h])));
    }
    let o = model.n_outputs() as u128;
    per_member = per_member.saturating_add(mul(&[o, h]).saturating_add(o));
    let ensemble = model.ensemble as u128;
    let parameters = mul(&[per_member, ensemble]);
    let (lookback, batch) = (lookback as u128, batch as u128);
    let activations = mul(&[
        ensemble,
        layers,
        lookback,
        batch,
        h,
        ACTIVATIONS_PER_UNIT * 2 * F32,
    ]);
    let inputs = mul(&[lookback, batch, input, F32]);
    MemoryEstimate {
        parameters,
        bytes: mul(&[parameters, PARAMETER_COPIES * F32])
            .saturating_add(activations)
            .saturating_add(inputs),
    }
}

/// The memory a run may use: `TSF_MEMORY_LIMIT` (bytes) when set, else the machine's total memory
/// (`/proc/meminfo`), lowered to a cgroup v2 limit when one is set; `None` when neither is known.
pub fn memory_limit() -> Option<u64> {
    if let Ok(v) = std::env::var(MEMORY_LIMIT_ENV)
        && let Ok(n) = v.trim().parse::<u64>()
    {
        return Some(n);
    }
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| mem_total(&t));
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok());
    match (total, cgroup) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `MemTotal` of a `/proc/meminfo` text, in bytes.
pub fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line
        .trim_start_matches("MemTotal:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

/// Bytes as "12.3 GiB".
pub fn human_bytes(bytes: u128) -> String {
    const UNITS: [&str; 7] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Refuses an architecture whose parameters do not fit in memory addresses or whose training
/// (see [`estimate`]) needs more than `limit` bytes ([`TrainError::TooLarge`]); `None` checks only
/// that the parameter count is addressable.
pub fn check(model: &ModelConfig, lookback: usize, batch: usize, limit: Option<u64>) -> Result<()> {
    let e = estimate(model, lookback, batch);
    let addressable = e.parameters.saturating_mul(F32) <= usize::MAX as u128;
    let fits = limit.is_none_or(|l| e.bytes <= l as u128);
    if addressable && fits {
        return Ok(());
    }
    Err(TrainError::TooLarge {
        settings: format!(
            "--hidden-size {}, --num-layers {}, --ensemble {}, --batch-size {}, --sequence-length {} ({} inputs)",
            model.hidden_size, model.num_layers, model.ensemble, batch, lookback, model.input_size
        ),
        parameters: e.parameters,
        needed: human_bytes(e.bytes),
        available: limit.map_or_else(|| "less than that".to_string(), |l| human_bytes(l as u128)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(hidden: usize, layers: usize, ensemble: usize) -> ModelConfig {
        ModelConfig {
            hidden_size: hidden,
            num_layers: layers,
            ensemble,
            ..ModelConfig::new(3, vec![0])
        }
    }

    #[test]
    fn parameters_match_the_model_count() {
        for m in [model(64, 2, 1), model(8, 3, 4), model(17, 1, 2)] {
            assert_eq!(
                estimate(&m, 12, 32).parameters,
                m.parameter_count().unwrap() as u128
            );
        }
        let a = ModelConfig {
            kind: ModelKind::Attention,
            ..model(16, 2, 1)
        };
        assert_eq!(
            estimate(&a, 12, 32).parameters,
            a.parameter_count().unwrap() as u128
        );
    }

    #[test]
    fn the_seed_model_fits_and_huge_ones_are_refused() {
        let gib = 1u64 << 30;
        // The seed's model needs a few MiB.
        let seed = estimate(&model(64, 2, 1), 12, 32);
        assert!(seed.bytes < 16 << 20, "{}", seed.bytes);
        check(&model(64, 2, 1), 12, 32, Some(gib)).unwrap();
        // The cases: hidden 100,000 and an ensemble of a million.
        let e = check(&model(100_000, 2, 1), 12, 32, Some(64 * gib)).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("--hidden-size 100000"), "{msg}");
        assert!(msg.contains("64.0 GiB"), "{msg}");
        assert!(msg.contains("parameters"), "{msg}");
        let e = check(&model(8, 2, 1_000_000), 12, 32, Some(64 * gib)).unwrap_err();
        assert!(e.to_string().contains("--ensemble 1000000"), "{e}");
        // Without a known limit only an unaddressable parameter count is refused.
        check(&model(100_000, 2, 1), 12, 32, None).unwrap();
        assert!(check(&model(usize::MAX, usize::MAX, usize::MAX), 12, 32, None).is_err());
        assert!(check(&model(1 << 40, 2, 1), 12, 32, None).is_err());
    }

    #[test]
    fn meminfo_is_read() {
        let text = "MemTotal:       16318412 kB\nMemFree:         1234 kB\n";
        assert_eq!(mem_total(text), Some(16_318_412 * 1024));
        assert_eq!(mem_total("nothing"), None);
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(12), "12 bytes");
    }
}
