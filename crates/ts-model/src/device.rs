//! Choosing a Burn device at run time.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// The compute device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// Burn's pure-Rust CPU backend (`flex`).
    #[default]
    Cpu,
    /// A GPU through `wgpu` (needs the `wgpu` cargo feature).
    Wgpu,
}

impl std::str::FromStr for DeviceChoice {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" | "flex" => Ok(Self::Cpu),
            "wgpu" | "gpu" => Ok(Self::Wgpu),
            _ => Err(ModelError::InvalidConfig {
                name: "device".into(),
                value: s.into(),
                reason: "expected cpu or wgpu".into(),
            }),
        }
    }
}

/// Checks, without creating it, that this build has the device `choice` names: a
/// configuration can be refused before any data are read.
///
/// # Errors
/// `wgpu` in a build without the `wgpu` feature.
pub fn check_device(choice: DeviceChoice) -> Result<()> {
    match choice {
        DeviceChoice::Cpu => Ok(()),
        #[cfg(feature = "wgpu")]
        DeviceChoice::Wgpu => Ok(()),
        #[cfg(not(feature = "wgpu"))]
        DeviceChoice::Wgpu => Err(ModelError::InvalidConfig {
            name: "device".into(),
            value: "wgpu".into(),
            reason: "this build has no wgpu support; rebuild with `--features wgpu`".into(),
        }),
    }
}

/// Creates the device, or explains that this build lacks it.
pub fn make_device(choice: DeviceChoice) -> Result<Device> {
    check_device(choice)?;
    Ok(match choice {
        #[cfg(feature = "wgpu")]
        DeviceChoice::Wgpu => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        // Without the feature, `check_device` has refused `wgpu`.
        _ => Device::flex(),
    })
}
