//! `tsf train --checkpoint-every K` and `tsf train --resume DIR`: a run stopped by Ctrl-C and
//! resumed ends with the same metrics as an uninterrupted run.

mod common;

use std::path::Path;

use common::*;

fn args<'a>(data: &'a str, out: &'a str, epochs: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--data",
        data,
        "--target",
        "a",
        "--epochs",
        epochs,
        // One network, for speed (`auto` is checked by
        // `a_resumed_auto_run_chooses_among_the_same_networks`).
        "--model",
        "lstm",
        "--hidden-size",
        "16",
        "--batch-size",
        "8",
        "--patience",
        "0",
        "--quiet",
        "--no-charts",
        "--out",
        out,
    ]
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Training losses of history.json as exact text (seconds differ between runs).
fn losses(h: &serde_json::Value) -> Vec<String> {
    h["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{} {} {}", r["epoch"], r["train_loss"], r["val_loss"]))
        .collect()
}

#[cfg(unix)]
#[test]
fn ctrl_c_writes_a_checkpoint_and_resume_matches_the_uninterrupted_run() {
    let d = tempfile::tempdir().unwrap();
    let data = write(d.path(), "x.csv", &csv_text(600));
    let data = data.to_str().unwrap();
    let epochs = "40";
    let full = d.path().join("full");
    let o = tsf(&args(data, full.to_str().unwrap(), epochs));
    assert!(o.status.success(), "{}", stderr(&o));

    let run = d.path().join("run");
    let mut a = args(data, run.to_str().unwrap(), epochs);
    a.extend(["--checkpoint-every", "5"]);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_tsf"))
        .args(&a)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first periodic checkpoint, then interrupt.
    let ck = run.join("checkpoint.tsfck");
    let start = std::time::Instant::now();
    while !ck.exists() {
        assert!(start.elapsed().as_secs() < 120, "no checkpoint written");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(150));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(0) {
        // The run finished before the signal arrived; nothing to resume.
        eprintln!("run finished before SIGINT; resuming a finished run");
    } else {
        assert_eq!(output.status.code(), Some(130), "{err}");
        assert!(err.contains("--resume"), "{err}");
        eprintln!("interrupted: {err}");
        let h = json(&run.join("history.json"));
        assert_eq!(h["interrupted"], true);
    }
    // Training options other than the output ones are refused with --resume.
    let o = tsf(&["train", "--resume", run.to_str().unwrap(), "--epochs", "3"]);
    assert_bad(&o, &["--resume", "drop the other training options"]);
    // Resume and finish.
    let o = tsf(&[
        "train",
        "--resume",
        run.to_str().unwrap(),
        "--quiet",
        "--no-charts",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (hf, hr) = (
        json(&full.join("history.json")),
        json(&run.join("history.json")),
    );
    assert_eq!(hr["interrupted"], false);
    assert_eq!(losses(&hf), losses(&hr));
    assert_eq!(hf["best_epoch"], hr["best_epoch"]);
    assert_eq!(
        json(&full.join("metrics.json")),
        json(&run.join("metrics.json"))
    );
    assert_eq!(
        std::fs::read_to_string(full.join("predictions.csv")).unwrap(),
        std::fs::read_to_string(run.join("predictions.csv")).unwrap()
    );
}

#[test]
fn resume_without_a_checkpoint_or_with_other_data_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let o = tsf(&["train", "--resume", d.path().to_str().unwrap()]);
    assert_bad(&o, &["checkpoint.tsfck", "no checkpoint"]);

    let data = write(d.path(), "x.csv", &csv_text(200));
    let run = d.path().join("run");
    let mut a = args(data.to_str().unwrap(), run.to_str().unwrap(), "2");
    a.extend(["--checkpoint-every", "1"]);
    let o = tsf(&a);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(run.join("checkpoint.tsfck").is_file());
    // The data file changes under the run: resuming is refused, naming the file.
    write(d.path(), "x.csv", &csv_text(230));
    let o = tsf(&["train", "--resume", run.to_str().unwrap()]);
    assert_bad(&o, &["x.csv", "differ from those the checkpoint"]);
    // A damaged checkpoint is refused with the checksum named.
    write(d.path(), "x.csv", &csv_text(200));
    let ck = run.join("checkpoint.tsfck");
    let mut bytes = std::fs::read(&ck).unwrap();
    let i = bytes.len() - 7;
    bytes[i] ^= 1;
    std::fs::write(&ck, bytes).unwrap();
    let o = tsf(&["train", "--resume", run.to_str().unwrap()]);
    assert_bad(&o, &["checkpoint", "checksum"]);
}

/// `--model auto` trains two networks; a checkpoint holds the one being trained. A resumed run
/// trains the other again from its start (deterministic) instead of dropping it, so that it
/// chooses among the same networks: resuming from the last checkpoint of a finished run (the
/// hybrid's, the second network) ends with the finished run's metrics, choice and predictions.
/// It used to keep the hybrid alone.
#[test]
fn a_resumed_auto_run_chooses_among_the_same_networks() {
    let d = tempfile::tempdir().unwrap();
    let data = write(d.path(), "x.csv", &csv_text(300));
    let run = d.path().join("run");
    let o = tsf(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--target",
        "a",
        "--epochs",
        "6",
        "--hidden-size",
        "8",
        "--checkpoint-every",
        "2",
        "--quiet",
        "--no-charts",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let metrics = json(&run.join("metrics.json"));
    let names: Vec<&str> = metrics["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["lstm", "hybrid"], "{metrics}");
    let predictions = std::fs::read_to_string(run.join("predictions.csv")).unwrap();
    let o = tsf(&[
        "train",
        "--resume",
        run.to_str().unwrap(),
        "--quiet",
        "--no-charts",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&run.join("metrics.json")), metrics);
    assert_eq!(
        std::fs::read_to_string(run.join("predictions.csv")).unwrap(),
        predictions
    );
}

/// A training value changed by a little (within the column's range, so the fitted scaler and
/// every count stay the same) is refused too: the fingerprint hashes the values.
#[test]
fn resume_refuses_a_changed_training_value() {
    let d = tempfile::tempdir().unwrap();
    let text = csv_text(200);
    let data = write(d.path(), "x.csv", &text);
    let run = d.path().join("run");
    let mut a = args(data.to_str().unwrap(), run.to_str().unwrap(), "2");
    a.extend(["--checkpoint-every", "1"]);
    let o = tsf(&a);
    assert!(o.status.success(), "{}", stderr(&o));
    // Row 51 of column a, nudged in its last printed digit.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut cells: Vec<String> = lines[51].split(',').map(str::to_string).collect();
    let v: f64 = cells[1].parse().unwrap();
    cells[1] = format!("{:.5}", v + 0.00001);
    lines[51] = cells.join(",");
    write(d.path(), "x.csv", &(lines.join("\n") + "\n"));
    let o = tsf(&["train", "--resume", run.to_str().unwrap()]);
    assert_bad(&o, &["x.csv", "differ from those the checkpoint"]);
    // The same data again resumes.
    write(d.path(), "x.csv", &text);
    let o = tsf(&["train", "--resume", run.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A run started with a relative `--data` path resumes from another folder: the checkpoint names
/// the file by its absolute path.
#[test]
fn a_relative_data_path_resumes_from_another_folder() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "x.csv", &csv_text(200));
    let in_dir = |dir: &Path, args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tsf"))
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap()
    };
    let mut a = args("x.csv", "run", "2");
    a.extend(["--checkpoint-every", "1"]);
    let o = in_dir(d.path(), &a);
    assert!(o.status.success(), "{}", stderr(&o));
    let elsewhere = tempfile::tempdir().unwrap();
    let run = d.path().join("run");
    let o = in_dir(
        elsewhere.path(),
        &["train", "--resume", run.to_str().unwrap(), "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

/// `--out` with `--resume` is refused: the run is written into its own folder.
#[test]
fn resume_refuses_another_output_folder() {
    let d = tempfile::tempdir().unwrap();
    let o = tsf(&[
        "train",
        "--resume",
        d.path().to_str().unwrap(),
        "--out",
        d.path().join("elsewhere").to_str().unwrap(),
    ]);
    assert_bad(&o, &["--out", "--resume"]);
    assert!(!d.path().join("elsewhere").exists());
}
