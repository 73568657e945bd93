//! Parquet loading with validation: any bytes give a frame or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ts_data::{LoadOptions, load};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fuzz.parquet");
    std::fs::write(&path, data).expect("write");
    // Every column, then only two named ones (the projected read; the seeds written by pyarrow
    // and fastparquet have columns "a" and "b").
    let named = LoadOptions {
        columns: Some(vec!["a".into(), "b".into()]),
        ..LoadOptions::default()
    };
    for opts in [LoadOptions::default(), named] {
        if let Ok(frame) = load(&path, &opts) {
            let n = frame.n_rows();
            assert!(frame.to_columns().iter().all(|c| c.len() == n));
            assert!(frame.to_columns().iter().flatten().all(|v| v.is_finite()));
        }
    }
});
