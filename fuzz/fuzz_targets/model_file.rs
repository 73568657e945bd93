//! The model-file loader: any bytes are refused with an error or load a model that runs, never a
//! panic or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ts_model::file;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.tsf");
    let Ok((header, weights)) = file::parse(path, data) else {
        return;
    };
    let device = ts_model::make_device(ts_model::DeviceChoice::Cpu).expect("cpu");
    let _ = file::load_weights(path, &header.model, weights, &device);
});
