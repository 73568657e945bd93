//! CSV loading with validation, then preparing windows: any bytes give a frame or an error,
//! never a panic. The first byte picks the missing-value policy and the time-column option.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ts_data::{FillPolicy, LoadOptions, ScalerKind, SplitConfig, WindowSpec, prepare, read_csv};

fuzz_target!(|data: &[u8]| {
    let (sel, text) = match data.split_first() {
        Some((s, t)) => (*s, t),
        None => (0, data),
    };
    let fill = [
        FillPolicy::Error,
        FillPolicy::Ffill,
        FillPolicy::Interpolate,
        FillPolicy::Drop,
    ][(sel & 3) as usize];
    let time_column = match (sel >> 2) & 3 {
        0 => None,
        1 => Some("none".to_string()),
        2 => Some("date".to_string()),
        _ => Some("a".to_string()),
    };
    let opts = LoadOptions {
        time_column,
        columns: None,
        fill,
    };
    let path = std::path::Path::new("fuzz.csv");
    let Ok(frame) = read_csv(path, text, Some(text.len() as u64), &opts) else {
        return;
    };
    // Every frame that loads is usable: windows over every column with the first as target.
    let n = frame.n_rows();
    assert!(frame.to_columns().iter().all(|c| c.len() == n));
    assert!(frame.to_columns().iter().flatten().all(|v| v.is_finite()));
    let _ = frame.date_range();
    let lookback = 1 + (sel as usize >> 4) % 4;
    if let Ok(spec) = WindowSpec::new(
        lookback,
        1,
        frame.columns.clone(),
        vec![frame.columns[0].clone()],
    ) {
        for kind in [ScalerKind::MinMax, ScalerKind::Standard, ScalerKind::Robust] {
            if let Ok(p) = prepare(&frame, &spec, &SplitConfig::default(), kind) {
                assert!(p.train.n > 0 && p.test.n > 0);
                for i in 0..p.train.n {
                    assert_eq!(p.train.x_of(i).len(), lookback * spec.features.len());
                }
            }
        }
    }
});
