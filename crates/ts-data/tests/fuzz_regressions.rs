//! Replays the committed fuzz corpus (`tests/fuzz-corpus/csv/*`: hand-written edge cases and the
//! inputs `cargo fuzz run csv_loader` found interesting) through the CSV loader with every fill
//! policy and time-column option, then through `prepare`: each input gives a frame or an error,
//! never a panic, and every frame that loads is finite and rectangular.

use std::path::Path;

use ts_data::{FillPolicy, LoadOptions, ScalerKind, SplitConfig, WindowSpec, prepare, read_csv};

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/csv");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_corpus_input_loads_or_is_refused_without_panicking() {
    let inputs = corpus();
    assert!(inputs.len() >= 16, "corpus has {} inputs", inputs.len());
    let mut loaded = 0;
    let mut refused = 0;
    for (name, bytes) in &inputs {
        for fill in [
            FillPolicy::Error,
            FillPolicy::Ffill,
            FillPolicy::Interpolate,
            FillPolicy::Drop,
        ] {
            for time_column in [None, Some("none".to_string())] {
                let opts = LoadOptions {
                    time_column,
                    columns: None,
                    fill,
                };
                let source = Path::new(name);
                let result =
                    std::panic::catch_unwind(|| read_csv(source, bytes.as_slice(), None, &opts))
                        .unwrap_or_else(|_| panic!("{name}: the loader panicked"));
                match result {
                    Ok(frame) => {
                        loaded += 1;
                        let n = frame.n_rows();
                        assert!(n > 0, "{name}");
                        assert!(frame.to_columns().iter().all(|c| c.len() == n), "{name}");
                        assert!(
                            frame.to_columns().iter().flatten().all(|v| v.is_finite()),
                            "{name}: non-finite value with {fill}"
                        );
                        let spec = WindowSpec::new(
                            1,
                            1,
                            frame.columns.clone(),
                            vec![frame.columns[0].clone()],
                        )
                        .unwrap();
                        let _ = prepare(&frame, &spec, &SplitConfig::default(), ScalerKind::Robust);
                    }
                    Err(e) => {
                        refused += 1;
                        // Every refusal names the input.
                        assert!(e.to_string().contains(name.as_str()), "{name}: {e}");
                    }
                }
            }
        }
    }
    assert!(
        loaded > 0 && refused > 0,
        "loaded {loaded}, refused {refused}"
    );
}

#[test]
fn known_edge_cases_behave() {
    let load = |text: &str| {
        read_csv(
            Path::new("t.csv"),
            text.as_bytes(),
            None,
            &LoadOptions::default(),
        )
    };
    // A byte-order mark does not end up in the first column's name.
    let f = load("\u{feff}date,a\n2020-01-01,1\n2020-01-02,2\n").unwrap();
    assert_eq!(f.time.as_ref().unwrap().column, "date");
    // Quoted cells with the delimiter inside.
    let f = load("date,\"a,b\"\n2020-01-01,\"1.5\"\n2020-01-02,2\n").unwrap();
    assert_eq!(f.columns, vec!["a,b".to_string()]);
    assert_eq!(f.column(0), vec![1.5, 2.0]);
    // CRLF line ends.
    let f = load("date,a\r\n2020-01-01,1\r\n2020-01-02,2\r\n").unwrap();
    assert_eq!(f.column(0), vec![1.0, 2.0]);
    // Ragged rows are refused, naming the file.
    let e = load("date,a,b\n2020-01-01,1,2\n2020-01-02,3\n").unwrap_err();
    assert!(e.to_string().contains("t.csv"), "{e}");
    // A repeated name (read as polars names it, `a_duplicated_0`) cannot be told apart from its
    // twin: refused, naming both columns, when the load would read it; an empty name too.
    let e = load("x,a,a\n1,2,3\n2,5,6\n").unwrap_err().to_string();
    assert!(
        e.contains("\"a\"") && e.contains("more than once") && e.contains("columns 2, 3"),
        "{e}"
    );
    let e = load("x,a,\n1,2,3\n2,5,6\n").unwrap_err().to_string();
    assert!(e.contains("no name"), "{e}");
    // Also when only the first of the twins is asked for (a model's saved columns): it was
    // read silently, whichever of the two held the values the model knew.
    let only_a = LoadOptions {
        columns: Some(vec!["a".into()]),
        ..LoadOptions::default()
    };
    let e = read_csv(
        Path::new("t.csv"),
        "x,a,b,a\n1,2,3,4\n2,5,6,7\n".as_bytes(),
        None,
        &only_a,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("more than once") && e.contains("columns 2, 4"),
        "{e}"
    );
    let only_b = LoadOptions {
        columns: Some(vec!["b".into()]),
        ..LoadOptions::default()
    };
    read_csv(
        Path::new("t.csv"),
        "x,a,b,a\n1,2,3,4\n2,5,6,7\n".as_bytes(),
        None,
        &only_b,
    )
    .unwrap();
    // A time column whose first cells are empty is still detected by its name, and the empty
    // cell is reported with its row.
    let e = load("date,a\n,1\n2020-01-02,2\n").unwrap_err().to_string();
    assert!(e.contains("row 1"), "{e}");
}

/// Parquet inputs (`tests/fuzz-corpus/parquet/*`): a valid seed loads; the footer that made
/// polars' thrift decoder panic ("thrift bool field", found by `cargo fuzz run parquet_loader`) and
/// the page header claiming -21 values (`oom-page-validity`, which made polars-parquet reserve
/// memory it could not get and abort the process) are refused with an error naming the file, and
/// so is the string column whose dictionary page claims 2^31 - 1 entries in 332 bytes
/// (`oom-dict-page`: polars reserved 32 GiB of string views for it and aborted), and the file whose
/// footer claims 2^40 rows for a page claiming 2^31 - 1 values (`oom-huge-row-group`: the page
/// passed the check against its row group's rows, and polars aborted reserving 32 GiB for it), and
/// the footer of 10,000 groups nested one in another (`deep-schema`: polars' recursive schema
/// conversion overflowed the stack), and footers giving a known field another Thrift type
/// (`oom-footer-list*`: polars read a list header there and aborted reserving 109-136 GB).
#[test]
fn parquet_corpus_loads_or_is_refused_without_panicking() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/parquet");
    let tmp = tempfile::tempdir().unwrap();
    let mut refused = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let src = e.unwrap().path();
        let name = src.file_name().unwrap().to_string_lossy().to_string();
        // The loader picks Parquet by extension.
        let path = tmp.path().join(format!("{name}.parquet"));
        std::fs::copy(&src, &path).unwrap();
        match ts_data::load(&path, &LoadOptions::default()) {
            Ok(f) => assert!(f.n_rows() > 0 && name.starts_with("seed"), "{name}"),
            Err(e) => {
                refused += 1;
                let msg = e.to_string();
                assert!(msg.contains(&name), "{msg}");
                assert!(!name.starts_with("seed"), "{name}: {msg}");
            }
        }
    }
    assert!(refused >= 5);
    // The page-header check names what is wrong.
    let path = tmp.path().join("oom-page-validity.parquet");
    let e = ts_data::load(&path, &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("a page claims -21 values for 12 rows"), "{e}");
    let path = tmp.path().join("oom-dict-page.parquet");
    let e = ts_data::load(&path, &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("column \"time\": the dictionary page claims 2147483647 values, but its 332 bytes hold at most 83"),
        "{e}"
    );
    let path = tmp.path().join("oom-huge-row-group.parquet");
    let e = ts_data::load(&path, &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("its row groups claim 1099511627776 rows, about 32768.0 GiB once decoded"),
        "{e}"
    );
    // Footers writing a known field with another Thrift type (polars read them by their format
    // type, found a list header there and reserved 109-136 GB for it).
    for (name, field) in [
        (
            "oom-footer-list",
            "FileMetaData.version is written as a binary, but the format makes it an i32",
        ),
        (
            "oom-footer-list-2",
            "FileMetaData.row_groups is written as a binary, but the format makes it a list",
        ),
    ] {
        let path = tmp.path().join(format!("{name}.parquet"));
        let e = ts_data::load(&path, &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("footer field {field}")), "{e}");
    }
    let path = tmp.path().join("deep-schema.parquet");
    let e = ts_data::load(&path, &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("schema element \"g\" is nested 65 groups deep; at most 64 are supported"),
        "{e}"
    );
}
