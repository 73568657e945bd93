//! Crash test (`cargo xtask crash`; ignored in the normal suite): `tsf train --checkpoint-every 1`
//! is killed with SIGKILL at random moments; after every kill each file in the run folder must
//! load, and the run must continue with `--resume`. At the end the run that was killed over and
//! over must equal an uninterrupted run with the same seed.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;

const KILLS: usize = 20;

fn train_args<'a>(data: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--data",
        data,
        "--target",
        "a",
        "--epochs",
        "60",
        "--hidden-size",
        "16",
        "--batch-size",
        "16",
        "--patience",
        "0",
        "--quiet",
        "--out",
        out,
        "--checkpoint-every",
        "1",
    ]
}

/// A small deterministic generator for the kill moments (xorshift).
struct Moments(u64);
impl Moments {
    fn next_ms(&mut self, max: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % max.max(1)
    }
}

/// Checks every file of a run folder: checkpoint, model, JSON files, predictions and charts.
/// Returns how many files were checked and how many stray temporary files were seen.
fn check_folder(dir: &Path) -> (usize, usize) {
    let mut checked = 0;
    let mut stray = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (0, 0);
    };
    let cpu = ts_model::make_device(ts_model::DeviceChoice::Cpu).unwrap();
    for e in entries {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".tmp") {
            // A temporary file of an interrupted atomic write (`.tsf-*.tmp` from the model,
            // checkpoint and JSON writers, `<chart>.tmp` from ts-viz): never the real file.
            stray += 1;
            continue;
        }
        match p.extension().and_then(|x| x.to_str()) {
            Some("tsfck") => {
                ts_train::checkpoint::load(&p, &cpu)
                    .unwrap_or_else(|e| panic!("{name} does not load: {e}"));
            }
            Some("tsf") => {
                ts_train::pipeline::load_model(&p)
                    .unwrap_or_else(|e| panic!("{name} does not load: {e}"));
            }
            Some("json") => {
                let t = std::fs::read_to_string(&p).unwrap();
                serde_json::from_str::<serde_json::Value>(&t)
                    .unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
            }
            Some("csv") => {
                let t = std::fs::read_to_string(&p).unwrap();
                assert!(
                    t.starts_with("timestamp,target,step,actual,predicted,naive\n")
                        && t.ends_with('\n'),
                    "{name} is cut"
                );
            }
            Some("png") => {
                let b = std::fs::read(&p).unwrap();
                assert!(
                    b.starts_with(b"\x89PNG") && b.ends_with(b"IEND\xaeB`\x82"),
                    "{name}"
                );
            }
            Some("svg") => {
                let t = std::fs::read_to_string(&p).unwrap();
                assert!(t.trim_end().ends_with("</svg>"), "{name} is cut");
            }
            _ => panic!("unexpected file {name}"),
        }
        checked += 1;
    }
    (checked, stray)
}

#[cfg(unix)]
#[test]
#[ignore = "slow: run with cargo xtask crash"]
fn sigkill_never_corrupts_a_run_and_resume_reaches_the_uninterrupted_result() {
    let d = tempfile::tempdir().unwrap();
    let data = write(d.path(), "x.csv", &csv_text(500));
    let data = data.to_str().unwrap();
    let full = d.path().join("full");
    let t0 = Instant::now();
    let o = tsf(&train_args(data, full.to_str().unwrap()));
    assert!(o.status.success(), "{}", stderr(&o));
    let full_ms = t0.elapsed().as_millis() as u64;

    let run = d.path().join("run");
    let run_s = run.to_str().unwrap();
    let mut moments = Moments(0x9e37_79b9_7f4a_7c15);
    let (mut kills, mut resumed, mut fresh, mut finished_early) = (0, 0, 0, 0);
    let (mut files_checked, mut stray_tmp) = (0, 0);
    while kills < KILLS {
        let has_ck = run.join("checkpoint.tsfck").exists();
        let args: Vec<&str> = if has_ck {
            resumed += 1;
            vec!["train", "--resume", run_s, "--quiet"]
        } else {
            fresh += 1;
            let mut a = train_args(data, run_s);
            a.push("--force");
            a
        };
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tsf"))
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Anywhere from start-up to well into training (a third of a full run at most).
        let wait = Duration::from_millis(moments.next_ms(full_ms / 3 + 50));
        let started = Instant::now();
        let mut done = false;
        while started.elapsed() < wait {
            if child.try_wait().unwrap().is_some() {
                done = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if done {
            // The run finished before the kill: start over from scratch to keep killing.
            finished_early += 1;
            std::fs::remove_dir_all(&run).unwrap();
            continue;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        let (c, s) = check_folder(&run);
        files_checked += c;
        stray_tmp += s;
    }
    // Finish: resume until done, then compare with the uninterrupted run.
    let args: Vec<&str> = if run.join("checkpoint.tsfck").exists() {
        vec!["train", "--resume", run_s, "--quiet"]
    } else {
        let mut a = train_args(data, run_s);
        a.push("--force");
        a
    };
    let o = tsf(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let (c, _) = check_folder(&run);
    files_checked += c;
    let json = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    assert_eq!(
        json(&full.join("metrics.json")),
        json(&run.join("metrics.json"))
    );
    eprintln!(
        "crash test: {kills} SIGKILLs ({fresh} fresh starts, {resumed} resumes, {finished_early} runs finished before their kill), {files_checked} files checked after kills, all loaded; {stray_tmp} stray temporary files seen; final metrics equal the uninterrupted run's"
    );
}
