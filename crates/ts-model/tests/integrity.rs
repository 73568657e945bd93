//! Model-file integrity, exhaustively on a small file: a changed byte at any position and a cut at
//! any length are detected and reported (never a panic, never a silently different model), and a
//! version mismatch names both versions.

use burn::tensor::Device;
use ts_data::{Scaler, ScalerKind, WindowSpec};
use ts_model::file::{self, ModelHeader};
use ts_model::{ModelConfig, ModelError};

fn small_file() -> (std::path::PathBuf, Vec<u8>) {
    let mut cfg = ModelConfig::new(2, vec![1]);
    cfg.hidden_size = 3;
    cfg.num_layers = 1;
    let model = cfg.init(5, &Device::flex()).unwrap();
    let feats = vec!["x".to_string(), "y".to_string()];
    let header = ModelHeader {
        writer: "tsf test".into(),
        format_version: file::FORMAT_VERSION,
        model: cfg.clone(),
        spec: WindowSpec::new(3, 1, feats.clone(), vec!["y".into()]).unwrap(),
        scaler: Scaler::fit(
            ScalerKind::Standard,
            &feats,
            &[vec![1.0, 2.0, 4.0], vec![3.0, 1.0, 0.5]],
            0..3,
        )
        .unwrap(),
        train_config: serde_json::json!({"seed": 1}),
        extra: serde_json::Value::Null,
    };
    let bytes = file::to_bytes(&model, &header).unwrap();
    (std::path::PathBuf::from("small.tsf"), bytes)
}

#[test]
fn every_flipped_byte_is_detected_and_named() {
    let (path, bytes) = small_file();
    assert!(file::parse(&path, &bytes).is_ok());
    // Prefix: magic 8, version 4, lengths 16, SHA-256 32.
    let prefix = 60;
    let mut checked = 0;
    for pos in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[pos] ^= mask;
            let e = match file::parse(&path, &b) {
                Ok(_) => panic!("byte {pos} ^ {mask:#x} not detected"),
                Err(e) => e,
            };
            assert!(e.to_string().contains("small.tsf"), "{e}");
            match (pos, &e) {
                (0..8, ModelError::BadMagic { .. }) => {}
                (8..12, ModelError::Version { .. }) => {}
                (12..28, ModelError::Truncated { .. }) => {}
                (28.., ModelError::Checksum { .. }) => {}
                _ => panic!("byte {pos} ^ {mask:#x}: unexpected {e:?}"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, bytes.len() * 3);
    assert!(bytes.len() > prefix + 100);
}

#[test]
fn every_truncation_is_detected() {
    let (path, bytes) = small_file();
    for len in 0..bytes.len() {
        assert!(
            file::parse(&path, &bytes[..len]).is_err(),
            "cut at {len} not detected"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        file::parse(&path, &longer),
        Err(ModelError::Truncated { .. })
    ));
}

#[test]
fn a_version_mismatch_names_both_versions() {
    let (path, bytes) = small_file();
    let mut b = bytes.clone();
    b[8..12].copy_from_slice(&7u32.to_le_bytes());
    let e = file::parse(&path, &b).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(
            e,
            ModelError::Version {
                found: 7,
                supported: 2,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(msg.contains('7') && msg.contains('1'), "{msg}");
    assert!(msg.contains("tsf test"), "the writer is named: {msg}");
}
