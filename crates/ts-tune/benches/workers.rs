//! `cargo xtask bench tune-workers`: scale-out of one study over worker processes.
//!
//! For the journal file and the SQLite (RDB) storage, 1, 2, 4 and 8 worker processes (this
//! program again, `TSF_BENCH_WORKER=1`) share one fresh study of 200 trials of a cheap objective
//! (one float, a 10 ms sleep) with the random sampler (so that the storage, not the sampler, is
//! measured). Reported: trials per minute (all trials over the span from the first worker's first
//! `ask` to the last worker's last `tell`), and the latency of `ask` (creating the trial and
//! sampling) and of `tell` (finishing it): median and 99th percentile over all trials.
//!
//! Then the kill test on SQLite (and PostgreSQL): 4 workers with heartbeats (interval 0.2 s,
//! grace 1 s, retry 1) run 120 trials of a 50 ms objective; two are killed with SIGKILL after
//! 1 s; after the grace period one more worker runs the remaining trials. Checked: trial numbers
//! unique and gap-free, every trial a worker reported finished present once and `COMPLETE`, no
//! trial left `RUNNING`, every killed trial `FAIL` (not before the grace period) and re-run once
//! with its parameters as a `WAITING` copy.
//!
//! With `TSF_BENCH_PG_URL=postgresql://…` (any database; each run uses fresh study names)
//! PostgreSQL is measured and kill-tested too.
//! Writes a Markdown table to stdout and `TSF_BENCH_WORKERS_OUT` (JSON) if set.
//! `TSF_BENCH_QUICK=1`: 1 and 2 workers, 60 trials.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use ts_tune::study::Heartbeat;
use ts_tune::{Direction, NopPruner, OptimizeOptions, RandomSampler, Study, TrialState, storage};

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

fn open_study(url: &str, name: &str, seed: u64) -> Study {
    Study::load_or_create(
        name,
        Direction::Minimize,
        storage::open(url).expect("storage"),
        Arc::new(RandomSampler::new(Some(seed))),
        Arc::new(NopPruner),
    )
    .expect("study")
}

/// A worker process: runs `TSF_BENCH_TRIALS` trials with ask/tell and prints one JSON line.
fn worker() {
    let url = std::env::var("TSF_BENCH_URL").expect("TSF_BENCH_URL");
    let trials: usize = std::env::var("TSF_BENCH_TRIALS")
        .expect("TSF_BENCH_TRIALS")
        .parse()
        .expect("a number");
    let sleep = Duration::from_millis(
        std::env::var("TSF_BENCH_SLEEP_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10),
    );
    let name = std::env::var("TSF_BENCH_STUDY").expect("TSF_BENCH_STUDY");
    let study = open_study(&url, &name, std::process::id() as u64);
    if std::env::var("TSF_BENCH_HEARTBEAT").is_ok() {
        let opts = OptimizeOptions {
            n_trials: Some(trials),
            heartbeat: Some(Heartbeat {
                interval: BEAT,
                grace_period: Some(GRACE),
                retry_failed: Some(1),
            }),
            ..Default::default()
        };
        study
            .optimize(
                |t| {
                    let x = t.float("x", -5.0, 5.0, false)?;
                    std::thread::sleep(sleep);
                    Ok(x * x)
                },
                &opts,
                &|t| println!("{}", json!({"done": t.number})),
            )
            .expect("optimize");
        return;
    }
    let (mut asks, mut tells) = (Vec::new(), Vec::new());
    let start = now_s();
    for _ in 0..trials {
        let t0 = Instant::now();
        let mut t = study.ask().expect("ask");
        let x = t.float("x", -5.0, 5.0, false).expect("suggest");
        asks.push(t0.elapsed().as_secs_f64());
        std::thread::sleep(sleep);
        let t1 = Instant::now();
        study.tell(t, Ok(x * x)).expect("tell");
        tells.push(t1.elapsed().as_secs_f64());
    }
    let end = now_s();
    println!(
        "{}",
        json!({"start": start, "end": end, "ask": asks, "tell": tells})
    );
}

fn spawn(url: &str, name: &str, trials: usize, sleep_ms: u64, heartbeat: bool) -> Child {
    let mut c = Command::new(std::env::current_exe().expect("exe"));
    c.env("TSF_BENCH_WORKER", "1")
        .env("TSF_BENCH_STUDY", name)
        .env("TSF_BENCH_URL", url)
        .env("TSF_BENCH_TRIALS", trials.to_string())
        .env("TSF_BENCH_SLEEP_MS", sleep_ms.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if heartbeat {
        c.env("TSF_BENCH_HEARTBEAT", "1");
    }
    c.spawn().expect("spawn a worker")
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn url_for(kind: &str, dir: &Path) -> String {
    match kind {
        "journal" => dir.join("bench.log").display().to_string(),
        // An empty database given by the caller; each run uses its own study there.
        "postgresql" => std::env::var("TSF_BENCH_PG_URL").expect("TSF_BENCH_PG_URL"),
        _ => format!("sqlite:///{}", dir.join("bench.db").display()),
    }
}

fn scale(kind: &str, workers: usize, total: usize) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = url_for(kind, dir.path());
    // The PostgreSQL database outlives the run: a fresh study name per run.
    let name = format!("bench-{workers}-{}-{}", std::process::id(), now_s() as u64);
    drop(open_study(&url, &name, 0)); // the study exists before the race
    let per = total / workers;
    let children: Vec<Child> = (0..workers)
        .map(|_| spawn(&url, &name, per, 10, false))
        .collect();
    let (mut start, mut end) = (f64::INFINITY, 0.0f64);
    let (mut asks, mut tells) = (Vec::new(), Vec::new());
    for c in children {
        let out = c.wait_with_output().expect("worker");
        assert!(out.status.success(), "a worker failed");
        let v: Value = serde_json::from_slice(&out.stdout).expect("worker JSON");
        start = start.min(v["start"].as_f64().unwrap());
        end = end.max(v["end"].as_f64().unwrap());
        asks.extend(
            v["ask"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_f64),
        );
        tells.extend(
            v["tell"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_f64),
        );
    }
    let study = open_study(&url, &name, 0);
    let trials = study.trials().expect("trials");
    let numbers: Vec<usize> = trials.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..per * workers).collect::<Vec<_>>(), "{kind}");
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
    let n = trials.len() as f64;
    json!({
        "storage": kind, "workers": workers, "trials": trials.len(),
        "trials_per_minute": n / (end - start) * 60.0,
        "ask_ms_median": quantile(&mut asks, 0.5) * 1e3, "ask_ms_p99": quantile(&mut asks, 0.99) * 1e3,
        "tell_ms_median": quantile(&mut tells, 0.5) * 1e3, "tell_ms_p99": quantile(&mut tells, 0.99) * 1e3,
    })
}

/// Heartbeat settings of the kill test's workers.
const BEAT: Duration = Duration::from_millis(200);
const GRACE: Duration = Duration::from_secs(1);

/// The trial numbers a worker reported as finished (one `{"done": N}` line each; a killed
/// worker's lines up to its death).
fn reported(out: &[u8]) -> Vec<usize> {
    String::from_utf8_lossy(out)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["done"].as_u64().map(|n| n as usize))
        .collect()
}

/// The kill test on one storage: 4 workers with heartbeats on 120 trials of a 50 ms objective,
/// two killed with SIGKILL after 1 s, one more worker after the grace period.
fn kill_test(kind: &str) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = url_for(kind, dir.path());
    let name = format!("kill-{}-{}", std::process::id(), now_s() as u64);
    drop(open_study(&url, &name, 0));
    let mut children: Vec<Child> = (0..4).map(|_| spawn(&url, &name, 30, 50, true)).collect();
    std::thread::sleep(Duration::from_secs(1));
    let killed_at = chrono::Utc::now();
    for c in children.iter_mut().take(2) {
        c.kill().expect("SIGKILL a worker");
    }
    let mut done = Vec::new();
    for c in children {
        done.extend(reported(&c.wait_with_output().expect("worker").stdout));
    }
    std::thread::sleep(GRACE + Duration::from_millis(200));
    let study = open_study(&url, &name, 0);
    let complete = study
        .trials()
        .expect("trials")
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .count();
    let rest = 120usize.saturating_sub(complete);
    let c = spawn(&url, &name, rest.max(1), 50, true);
    let out = c.wait_with_output().expect("worker");
    assert!(out.status.success(), "{kind}: the last worker failed");
    done.extend(reported(&out.stdout));
    let trials = study.trials().expect("trials");
    let numbers: Vec<usize> = trials.iter().map(|t| t.number).collect();
    assert_eq!(
        numbers,
        (0..trials.len()).collect::<Vec<_>>(),
        "{kind}: numbers unique and gap-free"
    );
    // Every trial a worker saw finish is there once, complete.
    let mut seen = done.clone();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), done.len(), "{kind}: a trial reported twice");
    assert!(
        done.iter().all(|&n| trials[n].state == TrialState::Complete),
        "{kind}: a reported trial is not COMPLETE"
    );
    let running = trials
        .iter()
        .filter(|t| t.state == TrialState::Running)
        .count();
    let failed: Vec<_> = trials
        .iter()
        .filter(|t| t.state == TrialState::Fail)
        .collect();
    let retried = trials
        .iter()
        .filter(|t| t.system_attrs.contains_key("failed_trial"))
        .collect::<Vec<_>>();
    assert_eq!(running, 0, "{kind}: a killed worker's trial is still RUNNING");
    // A worker killed between two trials leaves none behind: at most one per killed worker.
    assert!(
        failed.len() <= 2,
        "{kind}: more FAIL trials than killed workers"
    );
    // Failed only once the grace period had passed since the last heartbeat (sent at most one
    // interval before the kill).
    let earliest = killed_at + chrono::Duration::from_std(GRACE - BEAT).unwrap()
        - chrono::Duration::milliseconds(50);
    for t in &failed {
        let at = t.datetime_complete.expect("a FAIL trial has an end time");
        assert!(
            at >= earliest,
            "{kind}: trial {} failed {} ms after the kill, before the grace period",
            t.number,
            (at - killed_at).num_milliseconds()
        );
    }
    assert_eq!(
        retried.len(),
        failed.len(),
        "{kind}: each killed trial re-run once"
    );
    for r in &retried {
        assert_eq!(r.state, TrialState::Complete, "{kind}: a retry did not finish");
        let first = r.system_attrs["failed_trial"].as_u64().unwrap() as usize;
        assert_eq!(
            r.params, trials[first].params,
            "{kind}: a retry runs the failed trial's parameters"
        );
    }
    json!({"storage": kind, "trials": trials.len(), "complete": trials.iter().filter(|t| t.state == TrialState::Complete).count(),
           "failed": failed.len(), "retried": retried.len(), "running": running,
           "reported_by_workers": done.len()})
}

fn main() {
    if std::env::var("TSF_BENCH_WORKER").is_ok() {
        worker();
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let quick = std::env::var("TSF_BENCH_QUICK").is_ok();
    let (counts, total): (&[usize], usize) = if quick {
        (&[1, 2], 60)
    } else {
        (&[1, 2, 4, 8], 200)
    };
    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or_default().trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {machine}, {cores} cores; objective: 10 ms sleep, random sampler");
    println!();
    println!(
        "| storage | workers | trials | trials/min | ask ms (median / p99) | tell ms (median / p99) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let mut rows = Vec::new();
    let mut kinds = vec!["journal", "sqlite"];
    if std::env::var_os("TSF_BENCH_PG_URL").is_some() {
        kinds.push("postgresql");
    }
    // The journal keeps no heartbeats yet.
    let kill_kinds: Vec<&str> = kinds.iter().copied().filter(|k| *k != "journal").collect();
    for kind in kinds {
        for &w in counts {
            let r = scale(kind, w, total);
            println!(
                "| {} | {} | {} | {:.0} | {:.2} / {:.2} | {:.2} / {:.2} |",
                kind,
                w,
                r["trials"],
                r["trials_per_minute"].as_f64().unwrap(),
                r["ask_ms_median"].as_f64().unwrap(),
                r["ask_ms_p99"].as_f64().unwrap(),
                r["tell_ms_median"].as_f64().unwrap(),
                r["tell_ms_p99"].as_f64().unwrap()
            );
            rows.push(r);
        }
    }
    println!();
    let mut kill = Vec::new();
    for kind in kill_kinds {
        let r = kill_test(kind);
        println!(
            "kill test ({kind}, 4 workers, 2 killed with SIGKILL, heartbeat 0.2 s, grace 1 s, retry 1): {r}"
        );
        kill.push(r);
    }
    if let Ok(out) = std::env::var("TSF_BENCH_WORKERS_OUT") {
        if let Some(p) = Path::new(&out).parent() {
            let _ = std::fs::create_dir_all(p);
        }
        let v = json!({"machine": machine, "cores": cores, "rows": rows, "kill_test": kill});
        std::fs::write(&out, serde_json::to_string_pretty(&v).unwrap()).expect("write results");
    }
}
