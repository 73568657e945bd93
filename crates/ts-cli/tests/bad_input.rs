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
        ("--season", "0", "season"),
        ("--intervals", "1.5", "intervals"),
        ("--intervals", "0", "intervals"),
        ("--intervals", "-0.8", "intervals"),
        ("--model", "transformer", "model"),
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

/// [`train_on`] with the memory limit set to 8 GiB (`TSF_MEMORY_LIMIT`), whatever the machine has.
fn train_limited(
    dir: &std::path::Path,
    data: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    let out = dir.join("out");
    let mut args = vec![
        "train",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(QUICK);
    args.extend(extra);
    std::process::Command::new(env!("CARGO_BIN_EXE_tsf"))
        .args(&args)
        .env("TSF_MEMORY_LIMIT", (8u64 << 30).to_string())
        .output()
        .unwrap()
}

/// Bad arguments, one row per case: the extra arguments of a quick run on a good file and the
/// fragments its one-line error must hold.
#[test]
fn bad_arguments() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "x.csv", &csv_text(80));
    // Files in other separators and encodings, and a TOML file with NaN (13.7).
    let semi = write(d.path(), "semi.csv", &csv_text(80).replace(',', ";"));
    let tab = write(d.path(), "tab.csv", &csv_text(80).replace(',', "\t"));
    let gz = d.path().join("data.csv.gz");
    std::fs::write(&gz, [0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 3, 1, 2, 3]).unwrap();
    let latin1 = d.path().join("latin1.csv");
    let mut bytes = Vec::new();
    for (i, line) in csv_text(80).lines().enumerate() {
        bytes.extend_from_slice(line.as_bytes());
        if i == 3 {
            bytes.extend_from_slice(b",caf\xe9");
        } else if i == 0 {
            bytes.extend_from_slice(b",note");
        } else {
            bytes.extend_from_slice(b",x");
        }
        bytes.push(b'\n');
    }
    std::fs::write(&latin1, bytes).unwrap();
    let nan_toml = write(d.path(), "nan.toml", "[train]\nlearning_rate = nan\n");
    let inf_toml = write(d.path(), "inf.toml", "[model]\ndropout = -inf\n");
    let (semi, tab, gz, latin1) = (
        semi.to_str().unwrap(),
        tab.to_str().unwrap(),
        gz.to_str().unwrap(),
        latin1.to_str().unwrap(),
    );
    let (nan_toml, inf_toml) = (nan_toml.to_str().unwrap(), inf_toml.to_str().unwrap());
    let table: &[(&[&str], &[&str])] = &[
        (
            &["--data", semi],
            &["semi.csv", "semicolon-separated", "comma"],
        ),
        (&["--data", tab], &["tab.csv", "tab-separated"]),
        (
            &["--data", gz],
            &["data.csv.gz", "gzip-compressed", "decompress"],
        ),
        (
            &["--data", latin1, "--features", "a,b"],
            &["latin1.csv", "not UTF-8", "row 3", "column 5", "re-encode"],
        ),
        (
            &["--config", nan_toml],
            &["nan.toml", "train.learning_rate", "NaN", "finite"],
        ),
        (
            &["--config", inf_toml],
            &["inf.toml", "model.dropout", "finite"],
        ),
        // Negative numbers reach our own checks (13.7).
        (&["--seed", "-1"], &["--seed", "-1", "whole number"]),
        (
            &["--hidden-size", "-3"],
            &["--hidden-size", "-3", "whole number"],
        ),
        (
            &["--grad-clip", "-1"],
            &["grad_clip", "-1", "must be >= 0 (0 = off)"],
        ),
        (
            &["--grad-clip=-1"],
            &["grad_clip", "-1", "must be >= 0 (0 = off)"],
        ),
        (
            &["--learning-rate", "inf"],
            &["learning_rate", "inf", "finite number > 0"],
        ),
        (
            &["--learning-rate", "-0.5"],
            &["learning_rate", "-0.5", "finite number > 0"],
        ),
        (&["--epochs", "1.5"], &["--epochs", "1.5", "whole number"]),
        // A column listed twice (issue 13.1).
        (
            &["--features", "a,a,b"],
            &["\"a\"", "more than once", "features"],
        ),
        (
            &["--target", "b,b"],
            &["\"b\"", "more than once", "targets"],
        ),
        (
            &["--target", "a,b", "--features", "a,c,b,c"],
            &["\"c\"", "more than once"],
        ),
        // Models too large for the memory (8 GiB here), refused before allocating (13.2).
        (
            &["--hidden-size", "100000"],
            &["too large", "--hidden-size 100000", "parameters", "8.0 GiB"],
        ),
        (
            &["--ensemble", "1000000"],
            &["too large", "--ensemble 1000000", "8.0 GiB"],
        ),
        (
            &["--hidden-size", "18446744073709551615"],
            &["too large", "--hidden-size 18446744073709551615"],
        ),
    ];
    for (args, fragments) in table {
        let o = train_limited(d.path(), &p, args);
        assert_bad(&o, fragments);
        assert!(
            !d.path().join("out").exists(),
            "{args:?}: a refused run wrote its folder"
        );
    }
}

/// Argument errors from the parser are one `error:` line too, naming what is wrong (13.7).
#[test]
fn parser_errors_are_one_line() {
    assert_bad(
        &tsf(&["evaluate", "--data", "x.csv"]),
        &["required", "--model"],
    );
    assert_bad(
        &tsf(&["train", "--epochz", "3"]),
        &["unexpected argument", "--epochz", "tip:", "--epochs"],
    );
}

/// `--grad-clip 0` turns clipping off (also from a TOML file), and nothing written to a pipe holds
/// colour codes (13.7).
#[test]
fn grad_clip_zero_is_off_and_logs_have_no_colour_codes() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "x.csv", &csv_text(80));
    let o = train_on(d.path(), &p, &["--grad-clip", "0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cfg = write(d.path(), "clip.toml", "[train]\ngrad_clip = 0\n");
    let o = train_on(
        d.path(),
        &p,
        &["--config", cfg.to_str().unwrap(), "--force"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = d.path().join("out");
    let mut args = vec![
        "train",
        "--data",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(QUICK);
    args.extend(["--verbose", "--force"]);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tsf"))
        .args(&args)
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("configuration"), "{err}");
    assert!(!err.contains('\u{1b}'), "colour codes in: {err:?}");
}

/// A target left out of `--features` is still an input, and the output says so.
#[test]
fn target_missing_from_features_is_added_and_said() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "x.csv", &csv_text(80));
    let o = train_on(d.path(), &p, &["--target", "c", "--features", "a,b"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("Inputs: a, b, c (c added to the listed features"),
        "{out}"
    );
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

/// Outputs go only into regular files, never over an input, with the umask's usual mode
/// (issue 13.3).
#[cfg(unix)]
#[test]
fn outputs_only_into_regular_files_and_never_over_an_input() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, model, data) = trained();
    let d = tempfile::tempdir().unwrap();
    let copy = d.path().join("copy.csv");
    std::fs::copy(data, &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    let args = |cmd: &'static str, out: &std::path::Path, data: &std::path::Path| {
        tsf(&[
            cmd,
            "--model",
            model.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
    };
    // The input itself, by the same path, through a link and through `..`.
    for out in [
        copy.clone(),
        d.path().join("sub/../copy.csv"),
        d.path().join("hard.csv"),
    ] {
        std::fs::create_dir_all(d.path().join("sub")).unwrap();
        if out.ends_with("hard.csv") && !out.exists() {
            std::fs::hard_link(&copy, &out).unwrap();
        }
        assert_bad(&args("predict", &out, &copy), &["same file as the input"]);
        assert_eq!(std::fs::read(&copy).unwrap(), before);
    }
    assert_bad(
        &args("evaluate", model, &copy),
        &["same file as the input", "model.tsf"],
    );
    // A symbolic link, a FIFO, a folder: refused, left as they are.
    let target = d.path().join("target.txt");
    std::fs::write(&target, "keep").unwrap();
    let link = d.path().join("link.csv");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert_bad(
        &args("predict", &link, data),
        &["link.csv", "symbolic link", "regular file"],
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    let fifo = d.path().join("fifo.csv");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    assert_bad(&args("predict", &fifo, data), &["fifo.csv", "FIFO"]);
    assert_bad(&args("evaluate", d.path(), data), &["folder"]);
    // A new output gets 0666 less the umask, not tempfile's 0600.
    let umask = std::process::Command::new("sh")
        .args(["-c", "umask"])
        .output()
        .unwrap();
    let umask = u32::from_str_radix(String::from_utf8_lossy(&umask.stdout).trim(), 8).unwrap();
    let out = d.path().join("forecast.csv");
    let o = args("predict", &out, data);
    assert!(o.status.success(), "{}", stderr(&o));
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o666 & !umask, "mode {mode:o}, umask {umask:o}");
    let mode = std::fs::metadata(dir.join("run/model.tsf"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o666 & !umask, "model.tsf mode {mode:o}");
}

/// `tsf groups` never overwrites a data column, and says a text column is not numeric (13.6).
#[test]
fn groups_refuse_a_data_column_name_and_a_text_column() {
    let d = tempfile::tempdir().unwrap();
    let text: String = csv_text(60)
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
    let p = write(d.path(), "g.csv", &text);
    let out = d.path().join("g_out.csv");
    let groups = |extra: &[&str]| {
        let mut args = vec![
            "groups",
            "--data",
            p.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        tsf(&args)
    };
    let table: &[(&[&str], &[&str])] = &[
        (
            &["--median", "a=b"],
            &["g.csv", "\"b\"", "already a data column", "=NAME"],
        ),
        (
            &["--median", "a=date"],
            &["\"date\"", "already a data column"],
        ),
        (
            &["--quantiles", "a:2=c"],
            &["\"c\"", "already a data column"],
        ),
        (
            &["--median", "region"],
            &["g.csv", "\"region\"", "not numeric", "row 1", "\"south\""],
        ),
        (&["--cross", "a,region"], &["\"region\"", "not numeric"]),
        (&["--quantiles", "region:3"], &["\"region\"", "not numeric"]),
    ];
    for (args, fragments) in table {
        assert_bad(&groups(args), fragments);
        assert!(!out.exists(), "{args:?} wrote its output");
    }
    // Files in another separator, encoding or compression are named as for training.
    let semi = write(d.path(), "semi.csv", &text.replace(',', ";"));
    let latin1 = d.path().join("latin1.csv");
    let mut bytes = text.clone().into_bytes();
    let at = bytes.len() - 2;
    bytes[at] = 0xe9;
    std::fs::write(&latin1, bytes).unwrap();
    let gz = d.path().join("g.csv.gz");
    std::fs::write(&gz, [0x1f, 0x8b, 8, 0, 0, 0]).unwrap();
    for (file, fragments) in [
        (&semi, &["semi.csv", "semicolon-separated"][..]),
        (&latin1, &["latin1.csv", "not UTF-8", "row 60"][..]),
        (&gz, &["g.csv.gz", "gzip-compressed"][..]),
    ] {
        let o = tsf(&[
            "groups",
            "--data",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_bad(&o, fragments);
    }
    // A new name works, and so does replacing a group column of an earlier run.
    let o = groups(&["--median", "a=G"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let again = d.path().join("again.csv");
    let o = tsf(&[
        "groups",
        "--data",
        out.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
        "--median",
        "b=G",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A run that fails while writing its outputs (here: a chart's path is taken by a folder) leaves
/// the earlier run in the folder as it was, even with `--force` (issue 13.9).
#[test]
fn a_run_failing_on_its_charts_keeps_the_old_run() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "x.csv", &csv_text(80));
    assert!(train_on(d.path(), &p, &[]).status.success());
    let out = d.path().join("out");
    let before: Vec<Vec<u8>> = [
        "model.tsf",
        "metrics.json",
        "history.json",
        "predictions.csv",
    ]
    .iter()
    .map(|f| std::fs::read(out.join(f)).unwrap())
    .collect();
    std::fs::create_dir(out.join("training_history.png")).unwrap();
    let mut args = vec![
        "train",
        "--data",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--epochs",
        "2",
        "--hidden-size",
        "8",
        "--quiet",
        "--target",
        "b",
        "--force",
        "--seed",
        "9",
    ];
    let o = tsf(&args);
    assert_bad(&o, &["training_history.png", "folder"]);
    let after: Vec<Vec<u8>> = [
        "model.tsf",
        "metrics.json",
        "history.json",
        "predictions.csv",
    ]
    .iter()
    .map(|f| std::fs::read(out.join(f)).unwrap())
    .collect();
    assert!(before == after, "the old run was changed");
    assert!(!out.join(".tsf-staging").exists());
    // Once the path is free the run goes through.
    std::fs::remove_dir(out.join("training_history.png")).unwrap();
    args.push("--quiet");
    let o = tsf(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("training_history.png").is_file());
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

#[test]
fn backtest_refuses_impossible_folds() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "x.csv", &csv_text(80));
    let out = d.path().join("bt");
    for (extra, words) in [
        (&["--folds", "70"][..], &["folds", "70", "rows"][..]),
        (&["--folds", "0"][..], &["folds", "0"][..]),
        (&["--folds", "2", "--step", "0"][..], &["step", "0"][..]),
        (
            &["--folds", "2", "--horizon", "3", "--step", "2"][..],
            &["step", "2", "horizon"][..],
        ),
        (&["--refit", "sometimes"][..], &["refit", "sometimes"][..]),
    ] {
        let mut args = vec![
            "backtest",
            "--data",
            p.to_str().unwrap(),
            "--target",
            "a",
            "--epochs",
            "2",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = tsf(&args);
        assert_bad(&o, words);
        assert!(!out.join("backtest.json").exists());
    }
}
