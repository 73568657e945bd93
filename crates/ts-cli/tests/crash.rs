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
        if name.ends_with(".tmp") || name == ".tsf-staging" {
            // A temporary file of an interrupted atomic write (`.tsf-*.tmp` from the model,
            // checkpoint and JSON writers, `<chart>.tmp` from ts-viz), or the staging folder of
            // outputs not yet moved into place: never the real files.
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
                    t.starts_with("timestamp,target,step,actual,predicted,naive")
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

/// Finished trials of every study in a journal: (study, number) → (state, value bits).
fn finished_trials(
    journal: &Path,
) -> std::collections::BTreeMap<(usize, usize), (String, Option<u64>)> {
    use ts_tune::storage::JournalStorage;
    use ts_tune::storage::Storage;
    use ts_tune::trial::TrialState;
    let s = JournalStorage::open(journal)
        .unwrap_or_else(|e| panic!("the journal does not open after a kill: {e}"));
    let mut out = std::collections::BTreeMap::new();
    s.read(&mut |r| {
        for id in r.studies().keys() {
            for t in r.study_trials(*id) {
                if matches!(
                    t.state,
                    TrialState::Complete | TrialState::Pruned | TrialState::Fail
                ) {
                    out.insert(
                        (*id, t.number),
                        (format!("{:?}", t.state), t.value.map(f64::to_bits)),
                    );
                }
            }
        }
    })
    .unwrap();
    out
}

#[cfg(unix)]
#[test]
#[ignore = "slow: run with cargo xtask crash"]
fn sigkill_during_tuning_loses_no_finished_trial() {
    let d = tempfile::tempdir().unwrap();
    let data = write(d.path(), "d.csv", &csv_text(150));
    let cfg = write(
        d.path(),
        "tune.toml",
        "[train]\nepochs = 4\n\n[tune]\nseed = 3\n\n[tune.space]\nhidden_size = [4, 8]\nbatch_size = [16, 32]\n",
    );
    let journal = d.path().join("study.log");
    let out = d.path().join("out");
    let args = |trials: &'static str| -> Vec<String> {
        [
            "tune",
            "--config",
            cfg.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--target",
            "b",
            "--quiet",
            "--trials",
            trials,
            "--storage",
            journal.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--force",
            "--no-charts",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    // How long a few trials take here, to spread the kills over a run.
    let t0 = Instant::now();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tsf"))
        .args(args("3"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let run_ms = t0.elapsed().as_millis() as u64;
    let mut seen = finished_trials(&journal);
    assert_eq!(seen.len(), 3);
    let mut moments = Moments(0x2545_f491_4f6c_dd1d);
    let (mut kills, mut finished_early, mut outputs_checked) = (0, 0, 0);
    while kills < KILLS {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tsf"))
            .args(args("4"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let wait = Duration::from_millis(moments.next_ms(run_ms + 100));
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
            child.wait().unwrap();
            finished_early += 1;
        } else {
            child.kill().unwrap();
            child.wait().unwrap();
            kills += 1;
        }
        // Every finished trial seen so far is still there, unchanged.
        let now = finished_trials(&journal);
        for (k, v) in &seen {
            assert_eq!(now.get(k), Some(v), "finished trial {k:?} lost or changed");
        }
        seen = now;
        // Output files that exist load.
        let cpu = ts_model::make_device(ts_model::DeviceChoice::Cpu).unwrap();
        for e in std::fs::read_dir(&out).into_iter().flatten().flatten() {
            let p = e.path();
            match p.extension().and_then(|x| x.to_str()) {
                Some("json") => {
                    serde_json::from_str::<serde_json::Value>(
                        &std::fs::read_to_string(&p).unwrap(),
                    )
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                    outputs_checked += 1;
                }
                Some("tsf") => {
                    ts_model::file::load(&p, &cpu)
                        .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                    outputs_checked += 1;
                }
                _ => {}
            }
        }
    }
    // The study continues after all the kills.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tsf"))
        .args(args("1"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("resuming after"), "{stdout}");
    let last = finished_trials(&journal);
    assert!(last.len() > seen.len());
    eprintln!(
        "tune crash test: {kills} SIGKILLs ({finished_early} runs finished before their kill), {} finished trials kept across kills, none lost; {outputs_checked} output files loaded; the study resumed",
        seen.len()
    );
}
