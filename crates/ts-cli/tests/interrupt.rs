//! Ctrl-C (SIGINT) and SIGTERM during training stop after the current batch and still write the
//! run, exiting with 130 and 143.

mod common;

use common::*;

#[cfg(unix)]
#[test]
fn sigint_stops_training_and_writes_the_best_epoch_so_far() {
    stops_and_writes("INT", 130);
}

/// SIGTERM (what `timeout`, Docker and Kubernetes send) is handled like Ctrl-C (issue 13.4).
#[cfg(unix)]
#[test]
fn sigterm_stops_training_and_writes_the_best_epoch_so_far() {
    stops_and_writes("TERM", 143);
}

#[cfg(unix)]
fn stops_and_writes(signal: &str, code: i32) {
    let d = tempfile::tempdir().unwrap();
    let data = write(d.path(), "x.csv", &csv_text(400));
    let out = d.path().join("run");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tsf"))
        .args([
            "train",
            "--data",
            data.to_str().unwrap(),
            "--target",
            "a",
            "--epochs",
            "100000",
            "--patience",
            "0",
            "--quiet",
            "--no-charts",
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until training is under way, then send SIGINT.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = std::time::Instant::now();
    let output = loop {
        if child.try_wait().unwrap().is_some() {
            break child.wait_with_output().unwrap();
        }
        assert!(
            start.elapsed().as_secs() < 60,
            "tsf did not stop after SIG{signal}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{err}");
    assert!(err.contains("Interrupted"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for f in [
        "model.tsf",
        "metrics.json",
        "history.json",
        "predictions.csv",
        "checkpoint.tsfck",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let h: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("history.json")).unwrap()).unwrap();
    assert_eq!(h["interrupted"], true);
    assert!(h["history"].as_array().unwrap().len() < 100000);
}
