//! Loading real files: the bundled CSVs, Parquet, and missing-value policies.

use std::path::PathBuf;

use polars::prelude::*;
use ts_data::{DataError, FillPolicy, LoadOptions, load};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(name)
}

#[test]
fn loads_bundled_macro_data() {
    let f = load(&data("statsmodels_macrodata.csv"), &LoadOptions::default()).unwrap();
    assert_eq!(f.n_rows(), 203);
    assert_eq!(f.columns.len(), 14);
    assert_eq!(f.time.as_ref().unwrap().column, "date");
    assert_eq!(
        f.date_range(),
        ("1959-01-01".to_string(), "2009-07-01".to_string())
    );
    let i = f.column_index("tbilrate").unwrap();
    assert_eq!(f.column(i)[0], 2.82);
}

#[test]
fn loads_bundled_fred_and_pmdarima_data() {
    let f = load(
        &data("macro_fred_monthly_1990_2025.csv"),
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!((f.n_rows(), f.columns.len()), (423, 3));
    assert_eq!(f.time.as_ref().unwrap().column, "Date");
    assert_eq!(
        f.date_range(),
        ("1990-01-01".to_string(), "2025-03-01".to_string())
    );
    let i = f.column_index("Federal Funds Rate").unwrap();
    assert_eq!(f.column(i)[0], 8.23);

    let w = load(&data("pmdarima_wineind.csv"), &LoadOptions::default()).unwrap();
    assert_eq!((w.n_rows(), w.columns.len()), (176, 1));
    assert_eq!(
        w.date_range(),
        ("1980-01-01".to_string(), "1994-08-01".to_string())
    );
    assert_eq!(w.column(0)[0], 15136.0);

    let t = load(&data("pmdarima_taylor.csv"), &LoadOptions::default()).unwrap();
    assert_eq!((t.n_rows(), t.columns.len()), (4032, 1));
    assert_eq!(t.time.as_ref().unwrap().column, "time");
    assert_eq!(t.column(0)[0], 22262.0);
}

#[test]
fn co2_gaps_need_a_policy_and_interpolate_fills_them() {
    let err = load(&data("statsmodels_co2.csv"), &LoadOptions::default()).unwrap_err();
    assert!(
        matches!(err, DataError::Missing { ref column, .. } if column == "co2"),
        "{err}"
    );
    let f = load(
        &data("statsmodels_co2.csv"),
        &LoadOptions {
            fill: FillPolicy::Interpolate,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(f.n_rows(), 2284);
    assert!(f.column(0).iter().all(|v| v.is_finite()));
    // What the policy did is kept with the frame, for the run summary.
    assert_eq!(f.missing.filled, vec![("co2".to_string(), 59)]);
    assert_eq!(f.missing.policy, "interpolate");
    assert!(
        f.missing
            .to_string()
            .starts_with("59 missing cells filled (interpolate): co2 59")
    );
    let d = load(
        &data("statsmodels_co2.csv"),
        &LoadOptions {
            fill: FillPolicy::Drop,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(d.n_rows(), 2284 - 59);
    assert_eq!(d.missing.dropped_rows, 59);
    assert!(d.missing.filled.is_empty());
}

#[test]
fn parquet_with_date_column_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    let days: Vec<i32> = (0..40).map(|i| 18_000 + i * 7).collect();
    let date = Series::new("when".into(), days)
        .cast(&DataType::Date)
        .unwrap();
    let a = Series::new(
        "a".into(),
        (0..40).map(|i| i as f64 * 0.5).collect::<Vec<_>>(),
    );
    let b = Series::new(
        "b".into(),
        (0..40).map(|i| (i * 3) as i64).collect::<Vec<_>>(),
    );
    let mut df = DataFrame::new_infer_height(vec![date.into(), a.into(), b.into()]).unwrap();
    let file = std::fs::File::create(&path).unwrap();
    ParquetWriter::new(file).finish(&mut df).unwrap();
    let f = load(&path, &LoadOptions::default()).unwrap();
    assert_eq!(f.columns, vec!["a".to_string(), "b".to_string()]);
    assert_eq!(f.time.as_ref().unwrap().column, "when");
    assert_eq!(f.label(0), "2019-04-14");
    assert_eq!(f.column(1)[39], 117.0);
}

/// A Parquet time column of text dates such as `01/02/1980` is read in one order, as in a CSV:
/// monthly day-first dates stay monthly.
#[test]
fn parquet_text_dates_day_first_stay_monthly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.parquet");
    let dates: Vec<String> = (0..30)
        .map(|i| format!("01/{:02}/{}", i % 12 + 1, 1980 + i / 12))
        .collect();
    let date = Series::new("date".into(), dates);
    let a = Series::new("a".into(), (0..30).map(f64::from).collect::<Vec<_>>());
    let mut df = DataFrame::new_infer_height(vec![date.into(), a.into()]).unwrap();
    let file = std::fs::File::create(&path).unwrap();
    ParquetWriter::new(file).finish(&mut df).unwrap();
    let f = load(&path, &LoadOptions::default()).unwrap();
    assert_eq!(f.label(1), "1980-02-01");
    assert_eq!(f.label(29), "1982-06-01");
}

#[test]
fn selected_columns_and_explicit_time_column() {
    let opts = LoadOptions {
        time_column: Some("date".into()),
        columns: Some(vec!["unemp".into(), "infl".into()]),
        fill: FillPolicy::Error,
    };
    let f = load(&data("statsmodels_macrodata.csv"), &opts).unwrap();
    assert_eq!(f.columns, vec!["unemp".to_string(), "infl".to_string()]);
    let bad = LoadOptions {
        columns: Some(vec!["nope".into()]),
        ..Default::default()
    };
    let err = load(&data("statsmodels_macrodata.csv"), &bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"nope\"") && err.contains("realgdp"), "{err}");
}
