//! The model file: a JSON header with everything needed to use the model, and the weights as
//! safetensors, guarded by a SHA-256 checksum.
//!
//! Layout (all integers little-endian):
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `TSFMODEL` |
//! | 4 | format version (`u32`: 1, or 2 for a network whose LSTM reads part of the window) |
//! | 8 | header length `h` (`u64`) |
//! | 8 | weights length `w` (`u64`) |
//! | 32 | SHA-256 of the header bytes followed by the weight bytes |
//! | h | header, UTF-8 JSON ([`ModelHeader`]) |
//! | w | weights, safetensors (Burn's store) |
//!
//! Loading reads lengths first and refuses a file whose size does not match before allocating
//! anything else, verifies the checksum, then parses JSON and safetensors: nothing in the file is
//! ever executed. Saving writes a temporary file in the target folder, syncs it and renames it into
//! place, so an existing model file is never left half-written.

use std::io::Write;
use std::path::Path;

use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_data::{Scaler, WindowSpec};

use crate::error::{ModelError, Result};
use crate::forecaster::{Forecaster, ModelConfig};

/// Magic bytes at the start of every model file.
pub const MAGIC: &[u8; 8] = b"TSFMODEL";
/// The newest format version this build writes and reads. Version 2 is version 1 plus
/// [`ModelConfig::lstm_window`]: a file is written as version 2 only when that is set
/// ([`version_for`]), so that a build from before refuses it instead of running its LSTM over
/// the whole window; every other file is version 1, which such builds read.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest format version this build reads.
pub const OLDEST_FORMAT_VERSION: u32 = 1;

/// The format version a model file of this architecture is written in (see [`FORMAT_VERSION`]).
pub fn version_for(model: &ModelConfig) -> u32 {
    if model.lstm_window > 0 { 2 } else { 1 }
}

/// Whether this build reads format `version`.
fn readable(version: u32) -> bool {
    (OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&version)
}
const PREFIX: usize = 8 + 4 + 8 + 8 + 32;
/// Largest header accepted (a header is a few kilobytes).
pub const MAX_HEADER: u64 = 64 << 20;

/// Everything stored beside the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelHeader {
    /// Program and version that wrote the file, e.g. `tsf 0.1.0`.
    pub writer: String,
    /// Format version (repeated from the binary prefix).
    pub format_version: u32,
    /// Architecture.
    pub model: ModelConfig,
    /// Window layout, feature and target names.
    pub spec: WindowSpec,
    /// The scaler fitted on the training rows.
    pub scaler: Scaler,
    /// The training configuration used (free-form JSON owned by `ts-train`).
    pub train_config: serde_json::Value,
    /// Anything else worth keeping (data source, time column, metrics, …).
    #[serde(default)]
    pub extra: serde_json::Value,
}

/// A model and its header.
#[derive(Debug)]
pub struct ModelFile {
    /// The header.
    pub header: ModelHeader,
    /// The network, on the device it was loaded to.
    pub model: Forecaster,
}

fn io(path: &Path, e: impl std::fmt::Display) -> ModelError {
    ModelError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Serialises a model and header into the file format's bytes.
pub fn to_bytes(model: &Forecaster, header: &ModelHeader) -> Result<Vec<u8>> {
    if !readable(header.format_version) || header.format_version < version_for(&header.model) {
        return Err(ModelError::Header {
            path: "<memory>".into(),
            message: format!(
                "format version {} cannot be written for this architecture (use {})",
                header.format_version,
                version_for(&header.model)
            ),
        });
    }
    let mut store = SafetensorsStore::from_bytes(None);
    model
        .save_into(&mut store)
        .map_err(|e| ModelError::Weights {
            path: "<memory>".into(),
            message: e.to_string(),
        })?;
    let weights = canonical_safetensors(store.get_bytes().map_err(|e| ModelError::Weights {
        path: "<memory>".into(),
        message: e.to_string(),
    })?);
    let head = serde_json::to_vec_pretty(header).map_err(|e| ModelError::Header {
        path: "<memory>".into(),
        message: e.to_string(),
    })?;
    let mut hasher = Sha256::new();
    hasher.update(&head);
    hasher.update(&weights);
    let digest = hasher.finalize();
    let mut out = Vec::with_capacity(PREFIX + head.len() + weights.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&header.format_version.to_le_bytes());
    out.extend_from_slice(&(head.len() as u64).to_le_bytes());
    out.extend_from_slice(&(weights.len() as u64).to_le_bytes());
    out.extend_from_slice(&digest);
    out.extend_from_slice(&head);
    out.extend_from_slice(&weights);
    Ok(out)
}

/// Rewrites a safetensors buffer's JSON header with its keys in sorted order (padded with spaces
/// to the same length, as the format allows), so that the same weights always give the same bytes:
/// Burn writes the `__metadata__` map in hash order, which differs from run to run. A buffer that
/// does not parse is returned unchanged.
pub fn canonical_safetensors(mut st: Vec<u8>) -> Vec<u8> {
    let Some(n) = st
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(|b: [u8; 8]| u64::from_le_bytes(b) as usize)
    else {
        return st;
    };
    let Some(end) = n.checked_add(8).filter(|&e| e <= st.len()) else {
        return st;
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&st[8..end]) else {
        return st;
    };
    // Insert keys in sorted order at every level, so that the order is sorted whether or not
    // serde_json keeps insertion order (its `preserve_order` feature may be on in a build).
    fn sorted(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => {
                let mut entries: Vec<(String, serde_json::Value)> = m.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                serde_json::Value::Object(
                    entries.into_iter().map(|(k, v)| (k, sorted(v))).collect(),
                )
            }
            other => other,
        }
    }
    let Ok(mut text) = serde_json::to_vec(&sorted(v)) else {
        return st;
    };
    if text.len() > n {
        return st;
    }
    text.resize(n, b' ');
    st[8..end].copy_from_slice(&text);
    st
}

/// What an existing path is, when it is not a regular file: "a symbolic link", "a folder", …;
/// `None` for a regular file or a path that does not exist.
pub fn special_file_kind(path: &Path) -> Option<&'static str> {
    let ft = std::fs::symlink_metadata(path).ok()?.file_type();
    if ft.is_file() {
        return None;
    }
    if ft.is_symlink() {
        return Some("a symbolic link");
    }
    if ft.is_dir() {
        return Some("a folder");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if ft.is_char_device() || ft.is_block_device() {
            return Some("a device");
        }
        if ft.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// Refuses to replace an existing path that is not a regular file (a symbolic link, FIFO,
/// device, socket or folder): outputs are written only into regular files.
pub fn check_output_path(path: &Path) -> Result<()> {
    match special_file_kind(path) {
        None => Ok(()),
        Some(kind) => Err(io(
            path,
            format!(
                "the output path exists and is {kind}, not a regular file; tsf writes only regular files (remove it or choose another path)"
            ),
        )),
    }
}

/// Writes `bytes` to `path` atomically (temporary file in the same folder, fsync, rename).
///
/// An existing `path` that is not a regular file is refused ([`check_output_path`]); the file
/// gets the usual mode for new files (0666 less the umask, e.g. 0644).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// [`write_atomic`] for content written piece by piece: `fill` writes it through a buffered writer
/// into the temporary file, so that large content is never held in memory whole.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    check_output_path(path)?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tsf-").suffix(".tmp");
    // tempfile creates 0600 files; a new output should get the umask's default like any other.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    if !dir.is_dir() {
        let missing = std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("the folder {} does not exist", dir.display()),
        );
        return Err(io(path, missing));
    }
    // The error names the output, not the temporary file next to it.
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(|e| io(path, std::io::Error::from(e.kind())))?;
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
        fill(&mut w).map_err(|e| io(path, e))?;
        w.flush().map_err(|e| io(path, e))?;
    }
    tmp.as_file().sync_all().map_err(|e| io(path, e))?;
    tmp.persist(path).map_err(|e| io(path, e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Saves a model file atomically.
pub fn save(path: &Path, model: &Forecaster, header: &ModelHeader) -> Result<()> {
    let bytes = to_bytes(model, header)?;
    write_atomic(path, &bytes)
}

/// Parses and verifies the bytes of a model file; `path` is used in messages only.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<(ModelHeader, Vec<u8>)> {
    let hlen = check_prefix(path, bytes)?;
    let (head, weights) = bytes[PREFIX..].split_at(hlen);
    let header: ModelHeader = serde_json::from_slice(head).map_err(|e| ModelError::Header {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    check_header(path, &header, weights.len())?;
    let prefix = u32::from_le_bytes(bytes[8..12].try_into().unwrap_or([0; 4]));
    if header.format_version != prefix {
        return Err(ModelError::Header {
            path: path.to_path_buf(),
            message: format!(
                "the header says format version {}, the file's prefix {prefix}",
                header.format_version
            ),
        });
    }
    Ok((header, weights.to_vec()))
}

/// Checks the fixed-size prefix of a model file (magic, format version, lengths that add up to
/// the file's size, SHA-256 of the body); returns the header's length.
fn check_prefix(path: &Path, bytes: &[u8]) -> Result<usize> {
    let found = bytes.len() as u64;
    if bytes.len() < 12 {
        return Err(if bytes.len() >= 8 && &bytes[..8] != MAGIC {
            ModelError::BadMagic {
                path: path.to_path_buf(),
            }
        } else {
            ModelError::Truncated {
                path: path.to_path_buf(),
                expected: PREFIX as u64,
                found,
            }
        });
    }
    if &bytes[..8] != MAGIC {
        return Err(ModelError::BadMagic {
            path: path.to_path_buf(),
        });
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap_or([0; 4]));
    if !readable(version) {
        let writer = if bytes.len() >= PREFIX {
            // Best effort: the writer string may be readable even in another version.
            String::from_utf8_lossy(&bytes[PREFIX..bytes.len().min(PREFIX + 200)])
                .split("\"writer\":")
                .nth(1)
                .and_then(|s| s.split('"').nth(1))
                .unwrap_or("unknown")
                .to_string()
        } else {
            "unknown".into()
        };
        return Err(ModelError::Version {
            path: path.to_path_buf(),
            found: version,
            supported: FORMAT_VERSION,
            writer,
        });
    }
    if bytes.len() < PREFIX {
        return Err(ModelError::Truncated {
            path: path.to_path_buf(),
            expected: PREFIX as u64,
            found,
        });
    }
    let hlen = u64::from_le_bytes(bytes[12..20].try_into().unwrap_or([0; 8]));
    let wlen = u64::from_le_bytes(bytes[20..28].try_into().unwrap_or([0; 8]));
    let expected = (PREFIX as u64)
        .checked_add(hlen)
        .and_then(|v| v.checked_add(wlen))
        .unwrap_or(u64::MAX);
    if hlen > MAX_HEADER || expected != found {
        return Err(ModelError::Truncated {
            path: path.to_path_buf(),
            expected,
            found,
        });
    }
    let stored = &bytes[28..60];
    let body = &bytes[PREFIX..];
    let computed = Sha256::digest(body);
    if computed.as_slice() != stored {
        return Err(ModelError::Checksum {
            path: path.to_path_buf(),
            stored: hex::encode(stored),
            computed: hex::encode(computed),
        });
    }
    Ok(hlen as usize)
}

/// Checks a parsed header against itself and the `weights` bytes that follow it: the version,
/// a valid architecture no larger than the weights stored, and features that agree with the
/// scaler and the model's input size.
fn check_header(path: &Path, header: &ModelHeader, weights: usize) -> Result<()> {
    if !readable(header.format_version) {
        return Err(ModelError::Version {
            path: path.to_path_buf(),
            found: header.format_version,
            supported: FORMAT_VERSION,
            writer: header.writer.clone(),
        });
    }
    header.model.validate().map_err(|e| ModelError::Header {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if header.format_version < version_for(&header.model) {
        return Err(ModelError::Header {
            path: path.to_path_buf(),
            message: format!(
                "format version {} cannot hold lstm_window = {} (version {} can)",
                header.format_version,
                header.model.lstm_window,
                version_for(&header.model)
            ),
        });
    }
    // Refuse an architecture larger than the weights stored (f32 = 4 bytes per parameter) before
    // anything is allocated for it.
    match header
        .model
        .parameter_count()
        .and_then(|n| n.checked_mul(4))
    {
        Some(bytes_needed) if bytes_needed <= weights => {}
        claimed => {
            return Err(ModelError::Header {
                path: path.to_path_buf(),
                message: format!(
                    "the architecture needs {} bytes of weights but the file holds {}",
                    claimed.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string()),
                    weights
                ),
            });
        }
    }
    if header.spec.features.len() != header.model.input_size
        || header.scaler.columns != header.spec.features
    {
        return Err(ModelError::Header {
            path: path.to_path_buf(),
            message: "features, scaler and model input size disagree".into(),
        });
    }
    let bad = |message: String| ModelError::Header {
        path: path.to_path_buf(),
        message,
    };
    let (f, sc) = (header.spec.features.len(), &header.scaler);
    if sc.center.len() != f || sc.scale.len() != f {
        return Err(bad(format!(
            "the scaler holds {} centers and {} scales for {f} features",
            sc.center.len(),
            sc.scale.len()
        )));
    }
    if let Some(k) = (0..f)
        .find(|&k| !(sc.center[k].is_finite() && sc.scale[k].is_finite() && sc.scale[k] != 0.0))
    {
        return Err(bad(format!(
            "the scaler of feature {:?} is not usable (center {}, scale {})",
            header.spec.features[k], sc.center[k], sc.scale[k]
        )));
    }
    let spec = &header.spec;
    if spec.lookback == 0 || spec.horizon == 0 || spec.targets.is_empty() {
        return Err(bad(format!(
            "sequence length {}, horizon {} and {} targets: each must be at least 1",
            spec.lookback,
            spec.horizon,
            spec.targets.len()
        )));
    }
    let targets_ok = spec.target_index.len() == spec.targets.len()
        && spec
            .target_index
            .iter()
            .zip(&spec.targets)
            .all(|(&i, t)| spec.features.get(i) == Some(t));
    if !targets_ok
        || header.model.target_index != spec.target_index
        || header.model.horizon != spec.horizon
        || (header.model.lookback != 0 && header.model.lookback != spec.lookback)
    {
        return Err(bad(
            "targets, horizon or sequence length disagree between the window layout and the model"
                .into(),
        ));
    }
    Ok(())
}

/// Loads a model file onto `device`, verifying size, checksum, header and weights.
pub fn load(path: &Path, device: &Device) -> Result<ModelFile> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ModelError::NotFound {
            path: path.to_path_buf(),
        },
        _ => io(path, e),
    })?;
    let (header, weights) = parse(path, &bytes)?;
    let model = load_weights(path, &header.model, weights, device)?;
    Ok(ModelFile { header, model })
}

/// Builds a model from `config` and fills it with safetensors `weights`, refusing any missing,
/// extra or mis-shaped tensor.
pub fn load_weights(
    path: &Path,
    config: &ModelConfig,
    weights: Vec<u8>,
    device: &Device,
) -> Result<Forecaster> {
    let mut model = config.init(0, device).map_err(|e| ModelError::Header {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut store = SafetensorsStore::from_bytes(Some(weights))
        .validate(true)
        .allow_partial(false);
    let res = model
        .load_from(&mut store)
        .map_err(|e| ModelError::Weights {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    if !res.errors.is_empty() || !res.missing.is_empty() || !res.unused.is_empty() {
        return Err(ModelError::Weights {
            path: path.to_path_buf(),
            message: format!(
                "{} errors, missing {:?}, unused {:?}",
                res.errors.len(),
                res.missing.iter().map(|m| &m.0).collect::<Vec<_>>(),
                res.unused
            ),
        });
    }
    Ok(model)
}
