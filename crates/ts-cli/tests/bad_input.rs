//! Every kind of bad input gives a one-line error naming the problem and exit code 2, without a
//! panic and without damaging what was written before. One test per case.

mod common;

use std::path::PathBuf;

use common::*;

fn train_on(dir: &std::path::Path, data: &std::path::Path, extra: &[&str]) -> std::process::Output {
    train_quick(data, &dir.join("out"), extra)
}

#[test]
fn missing_file() {
    let d = tempfile::tempdir().unwrap();
    let o = train_on(d.path(), &d.path().join("nope.csv"), &[]);
    assert_bad(&o, &["nope.csv", "not found"]);
}

#[test]
fn unreadable_file() {
    let d = tempfile::tempdir().unwrap();
    let sub = d.path().join("adir.csv");
    std::fs::create_dir(&sub).unwrap();
    let o = train_on(d.path(), &sub, &[]);
    assert_bad(&o, &["adir.csv", "cannot read"]);
}

#[test]
fn empty_file() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "empty.csv", "");
    assert_bad(&train_on(d.path(), &p, &[]), &["empty.csv", "empty"]);
    let p = write(d.path(), "header_only.csv", "date,a,b,c\n");
    assert_bad(&train_on(d.path(), &p, &[]), &["header_only.csv", "empty"]);
}

#[test]
fn no_header() {
    let d = tempfile::tempdir().unwrap();
    let text: String = csv_text(50)
        .lines()
        .skip(1)
        .map(|l| format!("{l}\n"))
        .collect();
    let p = write(d.path(), "nohead.csv", &text);
    assert_bad(&train_on(d.path(), &p, &[]), &["nohead.csv", "no header"]);
}

#[test]
fn target_not_found_lists_columns() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "x.csv", &csv_text(60));
    let o = train_on(d.path(), &p, &["--target", "zzz"]);
    assert_bad(&o, &["x.csv", "\"zzz\"", "not found", "a, b, c"]);
}

#[test]
fn feature_not_found() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "x.csv", &csv_text(60));
    let o = train_on(d.path(), &p, &["--features", "a,qq"]);
    assert_bad(&o, &["\"qq\"", "not found", "a, b, c"]);
}

#[test]
fn non_numeric_column() {
    let d = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = csv_text(60).lines().map(String::from).collect();
    let parts: Vec<&str> = lines[3].split(',').collect();
    lines[3] = format!("{},{},hello,{}", parts[0], parts[1], parts[3]);
    let p = write(d.path(), "nn.csv", &(lines.join("\n") + "\n"));
    assert_bad(
        &train_on(d.path(), &p, &[]),
        &[
            "nn.csv",
            "column \"b\"",
            "row 3",
            "\"hello\"",
            "not a number",
        ],
    );
}

fn with_cell(value: &str) -> String {
    let mut lines: Vec<String> = csv_text(80).lines().map(String::from).collect();
    let parts: Vec<String> = lines[5].split(',').map(String::from).collect();
    lines[5] = format!("{},{},{},{}", parts[0], value, parts[2], parts[3]);
    lines.join("\n") + "\n"
}

#[test]
fn nan_inf_and_empty_cells_need_a_fill_policy() {
    let d = tempfile::tempdir().unwrap();
    for (v, what) in [("NaN", "NaN"), ("inf", "infinite"), ("", "empty")] {
        let p = write(d.path(), "m.csv", &with_cell(v));
        assert_bad(
            &train_on(d.path(), &p, &[]),
            &["m.csv", "column \"a\"", "row 5", what, "--fill"],
        );
    }
    // Opting in works, for every policy.
    for fill in ["ffill", "interpolate", "drop"] {
        let p = write(d.path(), "m.csv", &with_cell(""));
        let o = train_on(d.path(), &p, &["--fill", fill, "--force"]);
        assert!(o.status.success(), "{fill}: {}", stderr(&o));
    }
}

#[test]
fn unsorted_timestamps() {
    let d = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = csv_text(60).lines().map(String::from).collect();
    lines.swap(10, 11);
    let p = write(d.path(), "u.csv", &(lines.join("\n") + "\n"));
    assert_bad(&train_on(d.path(), &p, &[]), &["u.csv", "row 11", "sorted"]);
}

#[test]
fn duplicate_timestamps() {
    let d = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = csv_text(60).lines().map(String::from).collect();
    let date = lines[20].split(',').next().unwrap().to_string();
    let rest: Vec<String> = lines[21].split(',').skip(1).map(String::from).collect();
    lines[21] = format!("{date},{}", rest.join(","));
    let p = write(d.path(), "dup.csv", &(lines.join("\n") + "\n"));
    assert_bad(
        &train_on(d.path(), &p, &[]),
        &["dup.csv", "row 21", "duplicate", &date],
    );
}

#[test]
fn too_few_rows() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "short.csv", &csv_text(15));
    assert_bad(
        &train_on(d.path(), &p, &[]),
        &["short.csv", "15 rows are too few", "sequence length 12"],
    );
}

#[test]
fn constant_column_gives_no_nan_and_constant_target_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let text: String = csv_text(80)
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{l},k\n")
            } else {
                format!("{l},7\n")
            }
        })
        .collect();
    let p = write(d.path(), "k.csv", &text);
    let o = train_on(d.path(), &p, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = std::fs::read_to_string(d.path().join("out/metrics.json")).unwrap();
    assert!(!m.contains("NaN") && !m.contains("null"), "{m}");
    let o = train_on(d.path(), &p, &["--target", "k", "--force"]);
    assert_bad(&o, &["k.csv", "\"k\"", "constant"]);
}

#[test]
fn bad_sizes_and_rates() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "x.csv", &csv_text(80));
    for (flag, value, name) in [
        ("--hidden-size", "0", "hidden_size"),
        ("--num-layers", "0", "num_layers"),
        ("--sequence-length", "0", "sequence_length"),
        ("--horizon", "0", "horizon"),
        ("--epochs", "0", "epochs"),
        ("--batch-size", "0", "batch_size"),
        ("--learning-rate", "0", "learning_rate"),
        ("--learning-rate", "-0.1", "learning_rate"),
        ("--dropout", "1", "dropout"),
        ("--dropout", "-0.2", "dropout"),
        ("--train-split", "1.5", "train_split"),
        ("--ensemble", "0", "ensemble"),
    ] {
        let arg = format!("{flag}={value}");
        let o = train_on(d.path(), &p, &[&arg]);
        assert_bad(&o, &[name, value]);
    }
    // Negative sizes are refused by the argument parser, also with exit code 2.
    let o = train_on(d.path(), &p, &["--hidden-size=-3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!stderr(&o).contains("panicked"));
}

/// Writes a copy of the shared trained model, changed by `damage`, as `name` beside it.
fn damaged_model(name: &str, damage: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let (dir, model, _) = trained();
    let mut bytes = std::fs::read(model).unwrap();
    damage(&mut bytes);
    let p = dir.join(name);
    std::fs::write(&p, &bytes).unwrap();
    p
}

#[test]
fn model_file_missing() {
    let (dir, _, data) = trained();
    let o = with_model("evaluate", &dir.join("none.tsf"), data);
    assert_bad(&o, &["none.tsf", "not found"]);
}

#[test]
fn model_file_truncated() {
    let p = damaged_model("trunc.tsf", |b| b.truncate(b.len() / 2));
    let o = with_model("predict", &p, &trained().2);
    assert_bad(&o, &["trunc.tsf", "truncated"]);
}

#[test]
fn model_file_corrupted() {
    let data = &trained().2;
    let p = damaged_model("corrupt.tsf", |b| {
        let pos = b.len() - 100;
        b[pos] ^= 0x01;
    });
    assert_bad(
        &with_model("evaluate", &p, data),
        &["corrupt.tsf", "checksum"],
    );
    let p2 = damaged_model("notamodel.tsf", |b| {
        *b = b"hello, this is not a model file at all, but long enough to have a prefix".to_vec();
    });
    assert_bad(
        &with_model("evaluate", &p2, data),
        &["notamodel.tsf", "not a tsf model file"],
    );
}

#[test]
fn model_file_incompatible_version() {
    let p = damaged_model("v7.tsf", |b| b[8..12].copy_from_slice(&7u32.to_le_bytes()));
    let o = with_model("evaluate", &p, &trained().2);
    assert_bad(&o, &["v7.tsf", "version 7", "version 1", "tsf 0."]);
}

#[test]
fn prediction_data_with_other_columns() {
    let (dir, model, _) = trained();
    let text = csv_text(60).replacen("date,a,b,c", "date,a,x,c", 1);
    let p = write(dir, "other.csv", &text);
    let o = with_model("predict", model, &p);
    assert_bad(&o, &["other.csv", "missing \"b\"", "trained on [a, b, c]"]);
}

#[test]
fn output_folder_with_a_run_is_refused_and_kept() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "x.csv", &csv_text(80));
    assert!(train_on(d.path(), &p, &[]).status.success());
    let before = std::fs::read(d.path().join("out/model.tsf")).unwrap();
    let o = train_on(d.path(), &p, &["--seed", "5"]);
    assert_bad(&o, &["already holds a run", "--force"]);
    assert_eq!(
        std::fs::read(d.path().join("out/model.tsf")).unwrap(),
        before
    );
    // A bad run with --force still leaves the old run intact.
    let bad = write(d.path(), "bad.csv", "date,a,b,c\n2000-01-01,1,2,x\n");
    let o = train_on(d.path(), &bad, &["--force"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        std::fs::read(d.path().join("out/model.tsf")).unwrap(),
        before
    );
    // With --force a good run replaces it.
    let o = train_on(d.path(), &p, &["--force", "--seed", "5"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(
        std::fs::read(d.path().join("out/model.tsf")).unwrap(),
        before
    );
}

/// A text column the run does not use is not read: training names its features and target,
/// evaluation and prediction read the model's columns. A run on every column still refuses it.
#[test]
fn unused_text_column_is_not_read() {
    let d = tempfile::tempdir().unwrap();
    let text: String = csv_text(120)
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let region = if i == 0 {
                "region"
            } else {
                ["north", "south"][i % 2]
            };
            format!("{l},{region}\n")
        })
        .collect();
    let p = write(d.path(), "regions.csv", &text);
    let o = train_on(d.path(), &p, &["--target", "a", "--features", "a,b"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let model = d.path().join("out/model.tsf");
    for command in ["evaluate", "predict"] {
        let o = with_model(command, &model, &p);
        assert!(o.status.success(), "{command}: {}", stderr(&o));
    }
    let o = train_quick(&p, &d.path().join("all"), &["--target", "a"]);
    assert_bad(
        &o,
        &[
            "regions.csv",
            "column \"region\", row 1",
            "\"south\"",
            "not a number",
        ],
    );
}

/// A Parquet file from pyarrow with 8- and 16-bit integer columns and columns of types tsf does
/// not read (decimal, time of day, float16, UUID bytes, text): a run naming its columns trains.
#[test]
fn parquet_with_other_column_types_trains_on_the_named_columns() {
    let d = tempfile::tempdir().unwrap();
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ts-data/tests/fixtures/parquet-writers/pyarrow-all-types.parquet");
    let o = train_on(
        d.path(),
        &p,
        &[
            "--target",
            "a",
            "--features",
            "a,i8,u16",
            "--sequence-length",
            "4",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = train_quick(&p, &d.path().join("all"), &["--target", "a"]);
    assert_bad(
        &o,
        &["pyarrow-all-types.parquet", "column \"tod\"", "Time64"],
    );
}
