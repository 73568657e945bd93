//! Parquet loading with validation: any bytes give a frame or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ts_data::{LoadOptions, load};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fuzz.parquet");
    std::fs::write(&path, data).expect("write");
    if let Ok(frame) = load(&path, &LoadOptions::default()) {
        let n = frame.n_rows();
        assert!(frame.to_columns().iter().all(|c| c.len() == n));
        assert!(frame.to_columns().iter().flatten().all(|v| v.is_finite()));
    }
});
