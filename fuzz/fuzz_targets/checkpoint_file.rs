//! The training-checkpoint loader: any bytes are refused with an error or give a checkpoint,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("checkpoint.tsfck");
    std::fs::write(&path, data).expect("write");
    let device = ts_model::make_device(ts_model::DeviceChoice::Cpu).expect("cpu");
    let _ = ts_train::checkpoint::load(&path, &device);
});
