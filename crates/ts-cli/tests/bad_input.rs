//! Every kind of bad input gives a one-line error naming the problem and exit code 2, without a
//! panic and without damaging what was written before.
//!
//! One table, [`cases`]: each row names a case, the files and earlier runs it sets up in a fresh
//! folder, the `tsf` arguments, the exit code, the fragments of the one-line error, and the paths
//! that must be absent, kept byte for byte, or replaced afterwards. [`bad_input`] runs every row
//! and reports every failing row by name. Cases that need links, FIFOs and file modes are
//! separate tests below the table.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;

/// A step that prepares a case's folder before its run.
enum Step {
    /// Writes a file (name relative to the case folder).
    File(&'static str, Vec<u8>),
    /// Writes a copy of the shared trained model changed by the function.
    Model(&'static str, fn(&mut Vec<u8>)),
    /// Creates a folder.
    Dir(&'static str),
    /// Removes an empty folder.
    RemoveDir(&'static str),
    /// Runs `tsf`, which must exit with the code.
    Run(Vec<String>, i32),
}

/// Extra checks of a case after its run, given the case folder and the run's output.
type Check = fn(&Path, &Output) -> Result<(), String>;

/// One row of the table.
struct Case {
    name: &'static str,
    setup: Vec<Step>,
    /// Arguments; `{d}` is the case folder, `{model}` and `{data}` the shared trained model and
    /// its data, `{crate}` this crate's folder.
    args: Vec<String>,
    /// Environment: a value to set, or `None` to remove the variable.
    env: Vec<(&'static str, Option<String>)>,
    /// The exit code: 2 is a one-line error holding every fragment of `says`; 0 is success.
    code: i32,
    says: Vec<&'static str>,
    /// Paths (relative to the case folder) that must not exist after the run.
    absent: Vec<&'static str>,
    /// Paths whose bytes the run must not change.
    kept: Vec<&'static str>,
    /// Paths whose bytes the run must change.
    replaced: Vec<&'static str>,
    check: Option<Check>,
}

fn case(name: &'static str) -> Case {
    Case {
        name,
        setup: Vec::new(),
        args: Vec::new(),
        env: Vec::new(),
        code: 2,
        says: Vec::new(),
        absent: Vec::new(),
        kept: Vec::new(),
        replaced: Vec::new(),
        check: None,
    }
}

impl Case {
    fn file(mut self, name: &'static str, bytes: impl Into<Vec<u8>>) -> Self {
        self.setup.push(Step::File(name, bytes.into()));
        self
    }
    fn model(mut self, name: &'static str, damage: fn(&mut Vec<u8>)) -> Self {
        self.setup.push(Step::Model(name, damage));
        self
    }
    fn dir(mut self, name: &'static str) -> Self {
        self.setup.push(Step::Dir(name));
        self
    }
    fn remove_dir(mut self, name: &'static str) -> Self {
        self.setup.push(Step::RemoveDir(name));
        self
    }
    /// An earlier run that must succeed.
    fn before(mut self, args: Vec<String>) -> Self {
        self.setup.push(Step::Run(args, 0));
        self
    }
    /// An earlier run that must fail with exit code 2.
    fn before_failing(mut self, args: Vec<String>) -> Self {
        self.setup.push(Step::Run(args, 2));
        self
    }
    fn run(mut self, args: Vec<String>) -> Self {
        self.args = args;
        self
    }
    fn env(mut self, key: &'static str, value: Option<String>) -> Self {
        self.env.push((key, value));
        self
    }
    fn fails(mut self, says: &[&'static str]) -> Self {
        self.code = 2;
        self.says = says.to_vec();
        self
    }
    fn succeeds(mut self) -> Self {
        self.code = 0;
        self
    }
    fn absent(mut self, paths: &[&'static str]) -> Self {
        self.absent.extend(paths);
        self
    }
    fn kept(mut self, paths: &[&'static str]) -> Self {
        self.kept.extend(paths);
        self
    }
    fn replaced(mut self, paths: &[&'static str]) -> Self {
        self.replaced.extend(paths);
        self
    }
    fn check(mut self, check: Check) -> Self {
        self.check = Some(check);
        self
    }
}

/// Arguments as owned strings.
fn args(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// A data path: a name in the case folder, or a path with a placeholder as it is.
fn data_path(data: &str) -> String {
    if data.contains('{') {
        data.to_string()
    } else {
        format!("{{d}}/{data}")
    }
}

/// A quick training run (see [`QUICK`]) of `data` into `{d}/out`, with extra arguments.
fn quick(data: &str, extra: &[&str]) -> Vec<String> {
    let mut a = args(&["train", "--data", &data_path(data), "--out", "{d}/out"]);
    a.extend(args(&QUICK));
    a.extend(args(extra));
    a
}

/// A training run of `x.csv` into `{d}/out` that writes its charts.
fn charted() -> Vec<String> {
    args(&[
        "train",
        "--data",
        "{d}/x.csv",
        "--out",
        "{d}/out",
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
    ])
}

/// `tsf backtest` of `x.csv` on target `a` into `{d}/bt`, with extra arguments.
fn backtest(extra: &[&str]) -> Vec<String> {
    let mut a = args(&[
        "backtest",
        "--data",
        "{d}/x.csv",
        "--target",
        "a",
        "--epochs",
        "2",
        "--quiet",
        "--out",
        "{d}/bt",
    ]);
    a.extend(args(extra));
    a
}

/// `tsf groups` of `data` into `{d}/g_out.csv`, with extra arguments.
fn groups(data: &str, extra: &[&str]) -> Vec<String> {
    let mut a = args(&[
        "groups",
        "--data",
        &data_path(data),
        "--out",
        "{d}/g_out.csv",
    ]);
    a.extend(args(extra));
    a
}

/// `tsf evaluate|predict --model MODEL --data DATA`.
fn with(command: &str, model: &str, data: &str) -> Vec<String> {
    args(&[command, "--model", model, "--data", &data_path(data)])
}

/// The memory limit the model-size cases run under: 8 GiB, whatever the machine has.
fn limit() -> Option<String> {
    Some((8u64 << 30).to_string())
}

/// [`csv_text`] of `n` rows with its lines changed by `change`.
fn csv_lines(n: usize, change: impl FnOnce(&mut Vec<String>)) -> String {
    let mut lines: Vec<String> = csv_text(n).lines().map(String::from).collect();
    change(&mut lines);
    lines.join("\n") + "\n"
}

/// 80 rows with column `a` of data row 5 set to `value`.
fn with_cell(value: &str) -> String {
    csv_lines(80, |lines| {
        let parts: Vec<String> = lines[5].split(',').map(String::from).collect();
        lines[5] = format!("{},{},{},{}", parts[0], value, parts[2], parts[3]);
    })
}

/// [`csv_text`] of `n` rows with one more column, `name` in the header and `cell(row)` below.
fn with_column(n: usize, name: &str, cell: impl Fn(usize) -> String) -> String {
    csv_text(n)
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{l},{name}\n")
            } else {
                format!("{l},{}\n", cell(i))
            }
        })
        .collect()
}

/// `n` rows with a text column `region` (north, south, ...).
fn regions(n: usize) -> String {
    with_column(n, "region", |i| ["north", "south"][i % 2].to_string())
}

/// 80 rows with a fifth column `note` whose third data row holds Latin-1 text.
fn latin1() -> Vec<u8> {
    let mut bytes = Vec::new();
    for (i, line) in csv_text(80).lines().enumerate() {
        bytes.extend_from_slice(line.as_bytes());
        match i {
            0 => bytes.extend_from_slice(b",note"),
            3 => bytes.extend_from_slice(b",caf\xe9"),
            _ => bytes.extend_from_slice(b",x"),
        }
        bytes.push(b'\n');
    }
    bytes
}

/// [`regions`] of 60 rows with a Latin-1 byte in its last row.
fn regions_latin1() -> Vec<u8> {
    let mut bytes = regions(60).into_bytes();
    let at = bytes.len() - 2;
    bytes[at] = 0xe9;
    bytes
}

/// The files of a training run that a refused run must keep.
const RUN_FILES: [&str; 4] = [
    "out/model.tsf",
    "out/metrics.json",
    "out/history.json",
    "out/predictions.csv",
];

/// Every case, one row each.
fn cases() -> Vec<Case> {
    let x80 = || csv_text(80);
    let mut t = vec![
        // Files that cannot be read as a table.
        case("missing file")
            .run(quick("nope.csv", &[]))
            .fails(&["nope.csv", "not found"]),
        case("a folder for a file")
            .dir("adir.csv")
            .run(quick("adir.csv", &[]))
            .fails(&["adir.csv", "cannot read"]),
        case("empty file")
            .file("empty.csv", "")
            .run(quick("empty.csv", &[]))
            .fails(&["empty.csv", "empty"]),
        case("header only")
            .file("header_only.csv", "date,a,b,c\n")
            .run(quick("header_only.csv", &[]))
            .fails(&["header_only.csv", "empty"]),
        case("no header")
            .file("nohead.csv", csv_lines(50, |l| drop(l.remove(0))))
            .run(quick("nohead.csv", &[]))
            .fails(&["nohead.csv", "no header"]),
        // Columns.
        case("target not found lists the columns")
            .file("x.csv", csv_text(60))
            .run(quick("x.csv", &["--target", "zzz"]))
            .fails(&["x.csv", "\"zzz\"", "not found", "a, b, c"]),
        case("feature not found")
            .file("x.csv", csv_text(60))
            .run(quick("x.csv", &["--features", "a,qq"]))
            .fails(&["\"qq\"", "not found", "a, b, c"]),
        case("non-numeric cell")
            .file(
                "nn.csv",
                csv_lines(60, |lines| {
                    let parts: Vec<String> = lines[3].split(',').map(String::from).collect();
                    lines[3] = format!("{},{},hello,{}", parts[0], parts[1], parts[3]);
                }),
            )
            .run(quick("nn.csv", &[]))
            .fails(&[
                "nn.csv",
                "column \"b\"",
                "row 3",
                "\"hello\"",
                "not a number",
            ]),
        // Missing values need a fill policy; opting in works for every policy.
        case("NaN cell needs --fill")
            .file("m.csv", with_cell("NaN"))
            .run(quick("m.csv", &[]))
            .fails(&["m.csv", "column \"a\"", "row 5", "NaN", "--fill"]),
        case("infinite cell needs --fill")
            .file("m.csv", with_cell("inf"))
            .run(quick("m.csv", &[]))
            .fails(&["m.csv", "column \"a\"", "row 5", "infinite", "--fill"]),
        case("empty cell needs --fill")
            .file("m.csv", with_cell(""))
            .run(quick("m.csv", &[]))
            .fails(&["m.csv", "column \"a\"", "row 5", "empty", "--fill"]),
        case("--fill ffill fills an empty cell")
            .file("m.csv", with_cell(""))
            .run(quick("m.csv", &["--fill", "ffill"]))
            .succeeds(),
        case("--fill interpolate fills an empty cell")
            .file("m.csv", with_cell(""))
            .run(quick("m.csv", &["--fill", "interpolate"]))
            .succeeds(),
        case("--fill drop drops an empty cell's row")
            .file("m.csv", with_cell(""))
            .run(quick("m.csv", &["--fill", "drop"]))
            .succeeds(),
        // Timestamps and length.
        case("unsorted timestamps")
            .file("u.csv", csv_lines(60, |l| l.swap(10, 11)))
            .run(quick("u.csv", &[]))
            .fails(&["u.csv", "row 11", "sorted"]),
        case("duplicate timestamps")
            .file(
                "dup.csv",
                csv_lines(60, |lines| {
                    let date = lines[20].split(',').next().unwrap().to_string();
                    let rest: Vec<&str> = lines[21].split(',').skip(1).collect();
                    lines[21] = format!("{date},{}", rest.join(","));
                }),
            )
            .run(quick("dup.csv", &[]))
            // Data row 20 of csv_text is month 20 from January 2000.
            .fails(&["dup.csv", "row 21", "duplicate", "2001-08-01"]),
        case("too few rows")
            .file("short.csv", csv_text(15))
            .run(quick("short.csv", &[]))
            .fails(&["short.csv", "15 rows are too few", "sequence length 12"]),
        case("a constant input column gives no NaN")
            .file("k.csv", with_column(80, "k", |_| "7".into()))
            .run(quick("k.csv", &[]))
            .succeeds()
            .check(metrics_have_no_nan),
        case("a constant target is refused")
            .file("k.csv", with_column(80, "k", |_| "7".into()))
            .run(quick("k.csv", &["--target", "k"]))
            .fails(&["k.csv", "\"k\"", "constant"]),
    ];
    // Sizes and rates out of range: the flag's name and value are in the error.
    for (arg, name, value) in [
        ("--hidden-size=0", "hidden_size", "0"),
        ("--num-layers=0", "num_layers", "0"),
        ("--sequence-length=0", "sequence_length", "0"),
        ("--horizon=0", "horizon", "0"),
        ("--epochs=0", "epochs", "0"),
        ("--batch-size=0", "batch_size", "0"),
        ("--learning-rate=0", "learning_rate", "0"),
        ("--learning-rate=-0.1", "learning_rate", "-0.1"),
        ("--dropout=1", "dropout", "1"),
        ("--dropout=-0.2", "dropout", "-0.2"),
        ("--train-split=1.5", "train_split", "1.5"),
        ("--ensemble=0", "ensemble", "0"),
        ("--seed-members=0", "seed_members", "0"),
        ("--season=0", "season", "0"),
        ("--season=70", "season", "shorter than the training part"),
        ("--intervals=1.5", "intervals", "1.5"),
        ("--intervals=0", "intervals", "0"),
        ("--intervals=-0.8", "intervals", "-0.8"),
        ("--intervals=0.8,0.8000001", "0.8000001", "same name as 0.8"),
        ("--intervals=0.9996", "0.9996", "100 % interval"),
        ("--intervals=0.0005", "0.0005", "between 0.001 and 0.999"),
        ("--model=transformer", "model", "transformer"),
        ("--ema-epochs=-1", "ema_epochs", "-1"),
        ("--lstm-window=500", "lstm_window", "500"),
        ("--lstm-window=-1", "lstm-window", "-1"),
        ("--ema-epochs=inf", "ema_epochs", "inf"),
        ("--bounds=1", "bounds", "LO:HI"),
        ("--bounds=3:1", "bounds", "3:1"),
        ("--bounds=zz=0:", "bounds", "\"zz\" is not a target"),
    ] {
        t.push(
            case(arg)
                .file("x.csv", x80())
                .run(quick("x.csv", &[arg]))
                .fails(&[name, value]),
        );
    }
    t.extend([
        // A target value outside its declared range: the column, row, date and value.
        case("a target value below the declared floor")
            .file("x.csv", x80())
            .run(quick("x.csv", &["--bounds", "b=0:"]))
            .fails(&[
                "bounds",
                "\"b\"",
                "holds -0.09572 at row 16 (2001-04-01)",
                "outside the declared range",
            ]),
        // Several seed members asked for with the refit, which trains one network.
        case("--seed-members 3 with --refit-with-validation")
            .file("x.csv", x80())
            .run(quick(
                "x.csv",
                &["--seed-members", "3", "--refit-with-validation", "true"],
            ))
            .fails(&["seed_members", "3", "--refit-with-validation"]),
        // Negative sizes are refused by the argument parser, also with exit code 2.
        case("--hidden-size=-3")
            .file("x.csv", x80())
            .run(quick("x.csv", &["--hidden-size=-3"]))
            .fails(&[]),
    ]);
    // Bad arguments under an 8 GiB memory limit; a refused run writes no folder.
    let limited: Vec<(
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
    )> = vec![
        // Files in other separators and encodings, and a TOML file with NaN (13.7).
        (
            "semicolon-separated file",
            &["--data", "{d}/semi.csv"],
            &["semi.csv", "semicolon-separated", "comma"],
        ),
        (
            "tab-separated file",
            &["--data", "{d}/tab.csv"],
            &["tab.csv", "tab-separated"],
        ),
        (
            "gzip-compressed file",
            &["--data", "{d}/data.csv.gz"],
            &["data.csv.gz", "gzip-compressed", "decompress"],
        ),
        (
            "Latin-1 file",
            &["--data", "{d}/latin1.csv", "--features", "a,b"],
            &["latin1.csv", "not UTF-8", "row 3", "column 5", "re-encode"],
        ),
        (
            "NaN in a TOML file",
            &["--config", "{d}/nan.toml"],
            &["nan.toml", "train.learning_rate", "NaN", "finite"],
        ),
        (
            "-inf in a TOML file",
            &["--config", "{d}/inf.toml"],
            &["inf.toml", "model.dropout", "finite"],
        ),
        // Negative numbers reach our own checks (13.7).
        (
            "--seed -1",
            &["--seed", "-1"],
            &["--seed", "-1", "whole number"],
        ),
        (
            "--hidden-size -3",
            &["--hidden-size", "-3"],
            &["--hidden-size", "-3", "whole number"],
        ),
        (
            "--season -3",
            &["--season", "-3"],
            &["--season", "-3", "whole number"],
        ),
        (
            "--grad-clip -1",
            &["--grad-clip", "-1"],
            &["grad_clip", "-1", "must be >= 0 (0 = off)"],
        ),
        (
            "--grad-clip=-1",
            &["--grad-clip=-1"],
            &["grad_clip", "-1", "must be >= 0 (0 = off)"],
        ),
        (
            "--learning-rate inf",
            &["--learning-rate", "inf"],
            &["learning_rate", "inf", "finite number > 0"],
        ),
        (
            "--learning-rate -0.5",
            &["--learning-rate", "-0.5"],
            &["learning_rate", "-0.5", "finite number > 0"],
        ),
        (
            "--epochs 1.5",
            &["--epochs", "1.5"],
            &["--epochs", "1.5", "whole number"],
        ),
        // A column listed twice (issue 13.1).
        (
            "a feature listed twice",
            &["--features", "a,a,b"],
            &["\"a\"", "more than once", "features"],
        ),
        (
            "a target listed twice",
            &["--target", "b,b"],
            &["\"b\"", "more than once", "targets"],
        ),
        (
            "a feature listed twice beside the targets",
            &["--target", "a,b", "--features", "a,c,b,c"],
            &["\"c\"", "more than once"],
        ),
        // Models too large for the memory, refused before allocating (13.2).
        (
            "--hidden-size 100000",
            &["--hidden-size", "100000"],
            &["too large", "--hidden-size 100000", "parameters", "8.0 GiB"],
        ),
        (
            "--ensemble 1000000",
            &["--ensemble", "1000000"],
            &["too large", "--ensemble 1000000", "8.0 GiB"],
        ),
        (
            "--hidden-size u64::MAX",
            &["--hidden-size", "18446744073709551615"],
            &["too large", "--hidden-size 18446744073709551615"],
        ),
    ];
    for (name, extra, says) in limited {
        t.push(
            case(name)
                .file("x.csv", x80())
                .file("semi.csv", csv_text(80).replace(',', ";"))
                .file("tab.csv", csv_text(80).replace(',', "\t"))
                .file("data.csv.gz", [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3])
                .file("latin1.csv", latin1())
                .file("nan.toml", "[train]\nlearning_rate = nan\n")
                .file("inf.toml", "[model]\ndropout = -inf\n")
                .run(quick("x.csv", extra))
                .env("TSF_MEMORY_LIMIT", limit())
                .fails(says)
                .absent(&["out"]),
        );
    }
    t.extend([
        // Argument errors from the parser are one `error:` line too, naming what is wrong (13.7).
        case("a required flag missing")
            .run(args(&["evaluate", "--data", "x.csv"]))
            .fails(&["required", "--model"]),
        case("a misspelt flag")
            .run(args(&["train", "--epochz", "3"]))
            .fails(&["unexpected argument", "--epochz", "tip:", "--epochs"]),
        // `--grad-clip 0` turns clipping off, also from a TOML file, and nothing written to a
        // pipe holds colour codes (13.7).
        case("--grad-clip 0 is off")
            .file("x.csv", x80())
            .run(quick("x.csv", &["--grad-clip", "0"]))
            .succeeds(),
        case("grad_clip = 0 in a TOML file is off")
            .file("x.csv", x80())
            .file("clip.toml", "[train]\ngrad_clip = 0\n")
            .run(quick("x.csv", &["--config", "{d}/clip.toml"]))
            .succeeds(),
        // A value of the wrong type in a TOML file is named by its key (serde names only the
        // type).
        case("a string where a number belongs in a TOML file")
            .file("x.csv", x80())
            .file("type.toml", "[train]\nepochs = \"3\"\n")
            .run(quick("x.csv", &["--config", "{d}/type.toml"]))
            .fails(&["type.toml", "key train.epochs", "expected usize"]),
        case("logs to a pipe have no colour codes")
            .file("x.csv", x80())
            .run(quick("x.csv", &["--verbose"]))
            .env("RUST_LOG", None)
            .env("NO_COLOR", None)
            .succeeds()
            .check(logs_are_plain),
        // A target left out of `--features` is still an input, and the output says so.
        case("a target missing from the features is added and said")
            .file("x.csv", x80())
            .run(quick("x.csv", &["--target", "c", "--features", "a,b"]))
            .succeeds()
            .check(says_target_added),
        // Model files.
        case("model file missing")
            .run(with("evaluate", "{d}/none.tsf", "{data}"))
            .fails(&["none.tsf", "not found"]),
        case("model file truncated")
            .model("trunc.tsf", |b| b.truncate(b.len() / 2))
            .run(with("predict", "{d}/trunc.tsf", "{data}"))
            .fails(&["trunc.tsf", "truncated"]),
        case("model file with a flipped bit")
            .model("corrupt.tsf", |b| {
                let pos = b.len() - 100;
                b[pos] ^= 0x01;
            })
            .run(with("evaluate", "{d}/corrupt.tsf", "{data}"))
            .fails(&["corrupt.tsf", "checksum"]),
        case("not a model file")
            .model("notamodel.tsf", |b| {
                *b = b"hello, this is not a model file at all, but long enough to have a prefix"
                    .to_vec();
            })
            .run(with("evaluate", "{d}/notamodel.tsf", "{data}"))
            .fails(&["notamodel.tsf", "not a tsf model file"]),
        case("model file of another version")
            .model("v7.tsf", |b| b[8..12].copy_from_slice(&7u32.to_le_bytes()))
            .run(with("evaluate", "{d}/v7.tsf", "{data}"))
            .fails(&["v7.tsf", "version 7", "versions 1 to 2", "tsf 0."]),
        case("predict: an existing --out file is not replaced without --force")
            .file("x.csv", x80())
            .file("mine.csv", "keep me\n")
            .run({
                let mut a = with("predict", "{model}", "x.csv");
                a.extend(args(&["--out", "{d}/mine.csv"]));
                a
            })
            .fails(&["mine.csv", "exists", "--force"])
            .kept(&["mine.csv"]),
        case("prediction data spaced unlike the training data (quarterly for monthly)")
            .file("q.csv", {
                let text = csv_text(240);
                let mut lines = text.lines();
                let mut q = format!("{}\n", lines.next().unwrap());
                for l in lines.step_by(3) {
                    q.push_str(l);
                    q.push('\n');
                }
                q
            })
            .run(with("predict", "{model}", "q.csv"))
            .fails(&["q.csv", "1 quarter apart", "1 month apart"]),
        case("prediction data with other columns")
            .file(
                "other.csv",
                csv_text(60).replacen("date,a,b,c", "date,a,x,c", 1),
            )
            .run(with("predict", "{model}", "other.csv"))
            .fails(&["other.csv", "missing \"b\"", "trained on [a, b, c]"]),
        // An output folder holding a run.
        case("a folder holding a run is refused and kept")
            .file("x.csv", x80())
            .before(quick("x.csv", &[]))
            .run(quick("x.csv", &["--seed", "5"]))
            .fails(&["already holds a run", "--force"])
            .kept(&["out/model.tsf"]),
        case("a bad run with --force keeps the old run")
            .file("x.csv", x80())
            .file("bad.csv", "date,a,b,c\n2000-01-01,1,2,x\n")
            .before(quick("x.csv", &[]))
            .run(quick("bad.csv", &["--force"]))
            .fails(&[])
            .kept(&["out/model.tsf"]),
        case("a good run with --force replaces the old run")
            .file("x.csv", x80())
            .before(quick("x.csv", &[]))
            .run(quick("x.csv", &["--force", "--seed", "5"]))
            .succeeds()
            .replaced(&["out/model.tsf"]),
        // A folder holding only a checkpoint holds an interrupted run: a new run there would
        // leave it for a later `--resume` to bring back.
        case("a folder holding an interrupted run's checkpoint is refused")
            .file("x.csv", x80())
            .dir("out")
            .file("out/checkpoint.tsfck", "an interrupted run's checkpoint")
            .run(quick("x.csv", &[]))
            .fails(&["already holds a run", "checkpoint.tsfck", "--force"])
            .kept(&["out/checkpoint.tsfck"]),
        case("--model hybrid --residual false")
            .file("x.csv", x80())
            .run(quick(
                "x.csv",
                &["--model", "hybrid", "--residual", "false"],
            ))
            .fails(&["residual", "hybrid learns changes", "--model lstm"]),
        case("--lstm-inputs sideways")
            .file("x.csv", x80())
            .run(quick("x.csv", &["--lstm-inputs", "sideways"]))
            .fails(&[
                "lstm-inputs",
                "sideways",
                "expected auto, levels or relative",
            ]),
        case("--lstm-inputs relative --residual false")
            .file("x.csv", x80())
            .run(quick(
                "x.csv",
                &["--lstm-inputs", "relative", "--residual", "false"],
            ))
            .fails(&["lstm_inputs", "relative", "--residual false"]),
        // With `--force`, an earlier run's files that the new run does not write (a chart of
        // more targets, its checkpoint) go, so that none passes for part of the new run (a
        // stale checkpoint would let `--resume` bring the old run back); a user's file stays.
        case("--force removes the earlier run's leftovers, never a user's file")
            .file("x.csv", x80())
            .before(quick("x.csv", &[]))
            .file("out/multivariate_predictions_2.png", "an older run's chart")
            .file("out/checkpoint.tsfck", "an older run's checkpoint")
            .file("out/notes.png", "the user's")
            .run(quick("x.csv", &["--force", "--seed", "5"]))
            .succeeds()
            .replaced(&["out/model.tsf"])
            .absent(&["out/multivariate_predictions_2.png", "out/checkpoint.tsfck"])
            .kept(&["out/notes.png"]),
        case("a failed --force run keeps the earlier run's files, leftovers included")
            .file("x.csv", x80())
            .file("bad.csv", "date,a,b,c\n2000-01-01,1,2,x\n")
            .before(quick("x.csv", &[]))
            .file("out/checkpoint.tsfck", "an older run's checkpoint")
            .run(quick("bad.csv", &["--force"]))
            .fails(&[])
            .kept(&["out/model.tsf", "out/checkpoint.tsfck"]),
        // A run that fails while writing its outputs (here: a chart's path is taken by a folder)
        // leaves the earlier run in the folder as it was, even with `--force` (issue 13.9).
        case("a run failing on its charts keeps the old run")
            .file("x.csv", x80())
            .before(quick("x.csv", &[]))
            .dir("out/training_history.png")
            .run(charted())
            .fails(&["training_history.png", "folder"])
            .kept(&RUN_FILES)
            .absent(&["out/.tsf-staging"]),
        case("once the chart's path is free the run goes through")
            .file("x.csv", x80())
            .before(quick("x.csv", &[]))
            .dir("out/training_history.png")
            .before_failing(charted())
            .remove_dir("out/training_history.png")
            .run(charted())
            .succeeds()
            .check(chart_written),
    ]);
    // `tsf groups` never overwrites a data column, and says a text column is not numeric (13.6).
    let groups_table: [(
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
    ); 6] = [
        (
            "groups: a median named after a data column",
            &["--median", "a=b"],
            &["g.csv", "\"b\"", "already a data column", "=NAME"],
        ),
        (
            "groups: a median named after the date column",
            &["--median", "a=date"],
            &["\"date\"", "already a data column"],
        ),
        (
            "groups: quantiles named after a data column",
            &["--quantiles", "a:2=c"],
            &["\"c\"", "already a data column"],
        ),
        (
            "groups: the median of a text column",
            &["--median", "region"],
            &["g.csv", "\"region\"", "not numeric", "row 1", "\"south\""],
        ),
        (
            "groups: crossing a text column",
            &["--cross", "a,region"],
            &["\"region\"", "not numeric"],
        ),
        (
            "groups: quantiles of a text column",
            &["--quantiles", "region:3"],
            &["\"region\"", "not numeric"],
        ),
    ];
    for (name, extra, says) in groups_table {
        t.push(
            case(name)
                .file("g.csv", regions(60))
                .run(groups("g.csv", extra))
                .fails(says)
                .absent(&["g_out.csv"]),
        );
    }
    t.extend([
        // Files in another separator, encoding or compression are named as for training.
        case("groups: semicolon-separated file")
            .file("semi.csv", regions(60).replace(',', ";"))
            .run(groups("semi.csv", &[]))
            .fails(&["semi.csv", "semicolon-separated"]),
        case("groups: Latin-1 file")
            .file("latin1.csv", regions_latin1())
            .run(groups("latin1.csv", &[]))
            .fails(&["latin1.csv", "not UTF-8", "row 60"]),
        case("groups: gzip-compressed file")
            .file("g.csv.gz", [0x1f, 0x8b, 8, 0, 0, 0])
            .run(groups("g.csv.gz", &[]))
            .fails(&["g.csv.gz", "gzip-compressed"]),
        // A new name works, and so does replacing a group column of an earlier run.
        case("groups: a new column name works")
            .file("g.csv", regions(60))
            .run(groups("g.csv", &["--median", "a=G"]))
            .succeeds(),
        case("groups: an existing output file is not replaced without --force")
            .file("g.csv", regions(60))
            .before(groups("g.csv", &["--median", "a=G"]))
            .run(args(&[
                "groups",
                "--data",
                "{d}/g.csv",
                "--out",
                "{d}/g_out.csv",
                "--median",
                "b=G",
            ]))
            .fails(&["g_out.csv", "exists", "--force"])
            .kept(&["g_out.csv"]),
        case("groups: a group column of an earlier run may be replaced")
            .file("g.csv", regions(60))
            .before(groups("g.csv", &["--median", "a=G"]))
            .run(args(&[
                "groups",
                "--data",
                "{d}/g_out.csv",
                "--out",
                "{d}/again.csv",
                "--median",
                "b=G",
                "--force",
            ]))
            .succeeds(),
        // A text column the run does not use is not read: training names its features and
        // target, evaluation and prediction read the model's columns. A run on every column
        // still refuses it.
        case("an unused text column is not read by train")
            .file("regions.csv", regions(120))
            .run(quick(
                "regions.csv",
                &["--target", "a", "--features", "a,b"],
            ))
            .succeeds(),
        case("an unused text column is not read by evaluate")
            .file("regions.csv", regions(120))
            .before(quick(
                "regions.csv",
                &["--target", "a", "--features", "a,b"],
            ))
            .run(with("evaluate", "{d}/out/model.tsf", "regions.csv"))
            .succeeds(),
        case("an unused text column is not read by predict")
            .file("regions.csv", regions(120))
            .before(quick(
                "regions.csv",
                &["--target", "a", "--features", "a,b"],
            ))
            .run(with("predict", "{d}/out/model.tsf", "regions.csv"))
            .succeeds(),
        case("a run on every column refuses a text column")
            .file("regions.csv", regions(120))
            .run(quick("regions.csv", &["--target", "a"]))
            .fails(&[
                "regions.csv",
                "column \"region\", row 1",
                "\"south\"",
                "not a number",
            ]),
        // A Parquet file from pyarrow with 8- and 16-bit integer columns and columns of types
        // tsf does not read (decimal, time of day, float16, UUID bytes, text).
        case("Parquet with other column types trains on the named columns")
            .run(quick(
                PYARROW,
                &[
                    "--target",
                    "a",
                    "--features",
                    "a,i8,u16",
                    "--sequence-length",
                    "4",
                ],
            ))
            .succeeds(),
        case("Parquet with other column types refuses them on every column")
            .run(quick(PYARROW, &["--target", "a"]))
            .fails(&["pyarrow-all-types.parquet", "column \"tod\"", "Time64"]),
    ]);
    // Backtests that cannot be cut into folds.
    let backtests: [(
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
    ); 7] = [
        (
            "backtest --folds -2",
            &["--folds", "-2"],
            &["--folds", "-2", "whole number"],
        ),
        (
            "backtest --step -1",
            &["--folds", "2", "--step", "-1"],
            &["--step", "-1", "whole number"],
        ),
        (
            "backtest --folds 70",
            &["--folds", "70"],
            &["folds", "70", "rows"],
        ),
        (
            "backtest --folds 0",
            &["--folds", "0"],
            &["folds", "0", ">= 1"],
        ),
        (
            "backtest --step 0",
            &["--folds", "2", "--step", "0"],
            &["step", "0", ">= 1"],
        ),
        (
            "backtest --step under --horizon",
            &["--folds", "2", "--horizon", "3", "--step", "2"],
            &["step", "2", "horizon"],
        ),
        (
            "backtest --refit sometimes",
            &["--refit", "sometimes"],
            &["refit", "sometimes"],
        ),
    ];
    for (name, extra, says) in backtests {
        t.push(
            case(name)
                .file("x.csv", x80())
                .run(backtest(extra))
                .fails(says)
                .absent(&["bt/backtest.json"]),
        );
    }
    t
}

/// The pyarrow Parquet file with many column types.
const PYARROW: &str = "{crate}/../ts-data/tests/fixtures/parquet-writers/pyarrow-all-types.parquet";

fn metrics_have_no_nan(d: &Path, _: &Output) -> Result<(), String> {
    let m = std::fs::read_to_string(d.join("out/metrics.json")).map_err(|e| e.to_string())?;
    if m.contains("NaN") || m.contains("null") {
        return Err(format!("NaN or null in metrics.json: {m}"));
    }
    Ok(())
}

fn logs_are_plain(_: &Path, o: &Output) -> Result<(), String> {
    let err = stderr(o);
    if !err.contains("configuration") {
        return Err(format!("no configuration in the log: {err}"));
    }
    if err.contains('\u{1b}') {
        return Err(format!("colour codes in: {err:?}"));
    }
    Ok(())
}

fn says_target_added(_: &Path, o: &Output) -> Result<(), String> {
    let out = String::from_utf8_lossy(&o.stdout);
    if !out.contains("Inputs: a, b, c (c added to the listed features") {
        return Err(format!("the added target is not said: {out}"));
    }
    Ok(())
}

fn chart_written(d: &Path, _: &Output) -> Result<(), String> {
    if !d.join("out/training_history.png").is_file() {
        return Err("no training_history.png".into());
    }
    Ok(())
}

/// Arguments with the placeholders filled in.
fn fill(args: &[String], d: &Path) -> Vec<String> {
    let crate_dir = env!("CARGO_MANIFEST_DIR");
    args.iter()
        .map(|a| {
            let mut a = a.replace("{d}", d.to_str().unwrap());
            a = a.replace("{crate}", crate_dir);
            if a.contains("{model}") || a.contains("{data}") {
                let (_, model, data) = trained();
                a = a.replace("{model}", model.to_str().unwrap());
                a = a.replace("{data}", data.to_str().unwrap());
            }
            a
        })
        .collect()
}

/// Runs `tsf` with the arguments and the environment changes.
fn run_tsf(args: &[String], env: &[(&'static str, Option<String>)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tsf"));
    cmd.args(args);
    for (key, value) in env {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    cmd.output().expect("run tsf")
}

/// Runs one case in a fresh folder: its problems, none when it passes.
fn run_case(case: &Case) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for step in &case.setup {
        match step {
            Step::File(name, bytes) => std::fs::write(d.join(name), bytes).unwrap(),
            Step::Model(name, damage) => {
                let mut bytes = std::fs::read(&trained().1).unwrap();
                damage(&mut bytes);
                std::fs::write(d.join(name), bytes).unwrap();
            }
            Step::Dir(name) => std::fs::create_dir_all(d.join(name)).unwrap(),
            Step::RemoveDir(name) => std::fs::remove_dir(d.join(name)).unwrap(),
            Step::Run(args, code) => {
                let o = run_tsf(&fill(args, d), &case.env);
                if o.status.code() != Some(*code) {
                    return vec![format!(
                        "setup run {args:?} exited with {:?}, not {code}: {}",
                        o.status.code(),
                        stderr(&o)
                    )];
                }
            }
        }
    }
    let read = |p: &&str| std::fs::read(d.join(p)).ok();
    let kept: Vec<_> = case.kept.iter().map(read).collect();
    let replaced: Vec<_> = case.replaced.iter().map(read).collect();
    let o = run_tsf(&fill(&case.args, d), &case.env);
    let mut problems = if case.code == 2 {
        bad_problems(&o, &case.says)
    } else if o.status.code() != Some(case.code) {
        vec![format!(
            "exit code {:?}, not {}: {}",
            o.status.code(),
            case.code,
            stderr(&o)
        )]
    } else {
        Vec::new()
    };
    for p in &case.absent {
        if d.join(p).exists() {
            problems.push(format!("{p} was written"));
        }
    }
    for (p, before) in case.kept.iter().zip(kept) {
        if before.is_none() || read(p) != before {
            problems.push(format!("{p} was changed (or was never there)"));
        }
    }
    for (p, before) in case.replaced.iter().zip(replaced) {
        if before.is_none() || read(p).is_none() || read(p) == before {
            problems.push(format!("{p} was not replaced"));
        }
    }
    if let Some(check) = case.check
        && let Err(e) = check(d, &o)
    {
        problems.push(e);
    }
    problems
}

/// Runs every case of [`cases`], several at a time, and fails naming every failing case.
#[test]
fn bad_input() {
    let cases = cases();
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "two cases share a name");
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while let Some(case) = cases.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let problems = catch_unwind(AssertUnwindSafe(|| run_case(case)))
                        .unwrap_or_else(|_| vec!["the case panicked (see above)".into()]);
                    if !problems.is_empty() {
                        failures.lock().unwrap().push(format!(
                            "- {}:\n    {}",
                            case.name,
                            problems.join("\n    ")
                        ));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
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

/// `--device wgpu` in a build without the `wgpu` feature (the tests' build) is refused before the
/// data are read, by `train`, `backtest` and `tune` alike, and nothing is written.
#[cfg(not(feature = "wgpu"))]
#[test]
fn a_device_this_build_lacks_is_refused_before_reading_the_data() {
    let d = tempfile::tempdir().unwrap();
    let data = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/pmdarima_wineind.csv"
    );
    let out_dir = d.path().join("out");
    let out = out_dir.to_str().unwrap();
    for command in [
        vec![
            "train",
            "--data",
            data,
            "--target",
            "wine_sales",
            "--out",
            out,
        ],
        vec![
            "backtest",
            "--data",
            data,
            "--target",
            "wine_sales",
            "--folds",
            "2",
            "--out",
            out,
        ],
        vec![
            "tune",
            "--data",
            data,
            "--target",
            "wine_sales",
            "--trials",
            "2",
            "--out",
            out,
        ],
    ] {
        let o = tsf(&[command.as_slice(), &["--device", "wgpu"]].concat());
        assert_bad(&o, &["device", "wgpu", "--features wgpu"]);
        let said = String::from_utf8_lossy(&o.stdout);
        assert!(
            !said.contains("Loaded"),
            "{}: the data were read first: {said}",
            command[0]
        );
        assert!(!out_dir.exists(), "{}: wrote {out}", command[0]);
    }
}
