//! Helpers shared by the CLI tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Runs `tsf` with arguments.
pub fn tsf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tsf"))
        .args(args)
        .output()
        .expect("run tsf")
}

/// Runs `tsf evaluate|predict --model MODEL --data DATA`.
pub fn with_model(command: &str, model: &Path, data: &Path) -> Output {
    with_model_and(command, model, data, &[])
}

/// [`with_model`] with more arguments (e.g. `--future-only`).
pub fn with_model_and(command: &str, model: &Path, data: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        command,
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ];
    args.extend(extra);
    tsf(&args)
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Asserts a one-line error with exit code 2, no panic, mentioning every fragment.
pub fn assert_bad(o: &Output, fragments: &[&str]) {
    let problems = bad_problems(o, fragments);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What keeps `o` from being a one-line error with exit code 2, no panic, mentioning every
/// fragment: one message per problem, none when it is such an error.
pub fn bad_problems(o: &Output, fragments: &[&str]) -> Vec<String> {
    let err = stderr(o);
    let mut problems = Vec::new();
    if o.status.code() != Some(2) {
        problems.push(format!(
            "exit code {:?}, not 2; stderr: {err}",
            o.status.code()
        ));
    }
    if err.contains("panicked") {
        problems.push(format!("panic: {err}"));
    }
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() != 1 {
        problems.push(format!("one line expected: {err}"));
    }
    if !lines.first().is_some_and(|l| l.starts_with("error: ")) {
        problems.push(format!("no \"error: \" line first: {err}"));
    }
    for f in fragments {
        if !err.contains(f) {
            problems.push(format!("expected {f:?} in: {err}"));
        }
    }
    problems
}

/// A CSV with a date column and three smooth series.
pub fn csv_text(n: usize) -> String {
    let mut s = String::from("date,a,b,c\n");
    for i in 0..n {
        let t = i as f64;
        let y = 2000 + i / 12;
        let m = i % 12 + 1;
        s.push_str(&format!(
            "{y}-{m:02}-01,{:.5},{:.5},{:.5}\n",
            (t / 6.0).sin() + t * 0.01,
            (t / 9.0).cos(),
            (t / 4.0).sin() * 0.5 + 1.0
        ));
    }
    s
}

/// Writes a file into `dir`.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Arguments for a quick training run.
pub const QUICK: [&str; 8] = [
    "--epochs",
    "2",
    "--hidden-size",
    "8",
    "--quiet",
    "--no-charts",
    "--target",
    "b",
];

/// A quick training run of `data` into `out` (see [`QUICK`]), with extra arguments.
pub fn train_quick(data: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(QUICK);
    args.extend(extra);
    tsf(&args)
}

/// A model trained once for all tests of a binary: (folder, model path, data path).
pub fn trained() -> &'static (PathBuf, PathBuf, PathBuf) {
    static CELL: OnceLock<(PathBuf, PathBuf, PathBuf)> = OnceLock::new();
    CELL.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let data = write(&dir, "train.csv", &csv_text(120));
        let out = dir.join("run");
        let o = train_quick(&data, &out, &[]);
        assert!(o.status.success(), "training failed: {}", stderr(&o));
        (dir.clone(), out.join("model.tsf"), data)
    })
}
