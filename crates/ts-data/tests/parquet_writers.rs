//! Parquet files written by common writers (`tests/fixtures/parquet-writers/make.py`: pyarrow 26
//! in format versions 1.0 and 2.6, with statistics, page indexes, bloom filters, sorting columns,
//! key-value metadata, dictionaries, every compression, data page v2, and the logical types Arrow
//! writes; fastparquet 2026.9) pass the footer and page checks ts-data runs before polars
//! (`src/parquet_check.rs`), and their numeric columns load with the values written.

use std::path::{Path, PathBuf};

use ts_data::LoadOptions;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/parquet-writers")
        .join(name)
}

fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(fixture(""))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    files
}

fn numeric() -> LoadOptions {
    LoadOptions {
        columns: Some(["a", "b", "i8", "u16", "i64"].map(String::from).to_vec()),
        ..LoadOptions::default()
    }
}

#[test]
fn files_of_common_writers_load() {
    let files = fixtures();
    assert!(files.len() >= 9, "{files:?}");
    let reference = ts_data::load(&fixture("pyarrow-v1.parquet"), &numeric()).unwrap();
    for path in files {
        let frame =
            ts_data::load(&path, &numeric()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(frame.n_rows(), 40, "{}", path.display());
        assert_eq!(frame.columns, ["a", "b", "i8", "u16", "i64"]);
        // make.py writes the same table each time: a daily index from 2020-01-01 (detected), int8
        // values in [-100, 100), uint16 ones up to 60,000.
        assert_eq!(frame.values(), reference.values(), "{}", path.display());
        assert_eq!(frame.time.as_ref().unwrap().label(0), "2020-01-01");
        assert_eq!(frame.time.as_ref().unwrap().label(39), "2020-02-09");
        assert!(frame.column(2).iter().all(|v| (-100.0..100.0).contains(v)));
        assert!(frame.column(3).iter().any(|v| *v > 32_767.0));
    }
}

/// Columns of types ts-data does not read (decimal, time of day, float16, fixed-size binary,
/// strings) are not decoded when the load names its columns, and named among the values they are
/// refused with the column's name.
#[test]
fn other_column_types_are_skipped_or_refused_by_name() {
    let path = fixture("pyarrow-all-types.parquet");
    let e = ts_data::load(&path, &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("pyarrow-all-types.parquet: column \"tod\" is of type Time64(Microsecond), which cannot be read"),
        "{e}"
    );
    let opts = LoadOptions {
        columns: Some(vec!["a".into(), "s".into()]),
        ..LoadOptions::default()
    };
    let e = ts_data::load(&path, &opts).unwrap_err().to_string();
    assert!(e.contains("\"s\"") || e.contains("column s"), "{e}");
    // An unknown column is reported with every column the file has.
    let opts = LoadOptions {
        columns: Some(vec!["a".into(), "nope".into()]),
        ..LoadOptions::default()
    };
    let e = ts_data::load(&path, &opts).unwrap_err().to_string();
    assert!(e.contains("nope") && e.contains("uuid"), "{e}");
}
