//! `cargo xtask bench tune-workers`: scale-out of one study over worker processes.
//!
//! For the journal file and the SQLite (RDB) storage, 1, 2, 4 and 8 worker processes (this
//! program again, `TSF_BENCH_WORKER=1`) share one fresh study of 200 trials of a cheap objective
//! (one float, a 10 ms sleep) with the random sampler (so that the storage, not the sampler, is
//! measured). Reported: trials per minute (all trials over the span from the first worker's first
//! `ask` to the last worker's last `tell`), and the latency of `ask` (creating the trial and
//! sampling) and of `tell` (finishing it): median and 99th percentile over all trials.
//!
//! Then the kill test on the journal, SQLite (and PostgreSQL): 4 workers with heartbeats
//! (interval 0.2 s, grace 1 s, retry 1) run 120 trials of a 50 ms objective; two are killed with
//! SIGKILL after 1 s; after the grace period one more worker runs the remaining trials. Checked:
//! trial numbers unique and gap-free, every trial a worker reported finished present once and
//! `COMPLETE`, no trial left `RUNNING`, every killed trial `FAIL` (and no live worker's trial)
//! and re-run once with its parameters as a `WAITING` copy.
//!
//! With `TSF_BENCH_PG_URL=postgresql://…` (any database; each run uses fresh study names)
//! PostgreSQL is measured and kill-tested too.
//!
//! With `TSF_BENCH_TSF=path/to/tsf` (`cargo xtask bench tune-workers --lstm` builds it and sets
//! it), the real LSTM objective too: 1, 2 and 4 `tsf tune` processes share one study of
//! [`LSTM_TRIALS`] trials on the bundled `data/statsmodels_macrodata.csv` (target `tbilrate`,
//! five features, [`LSTM_EPOCHS`] epochs per trial, the random sampler with a fixed seed and no
//! pruner, so that every configuration trains the same models; no retraining, no charts) on each
//! storage; trials per minute over the span from the first trial's
//! start to the last trial's end (read back from the storage, so process start-up is not
//! counted), and the median trial duration. `TSF_BENCH_LSTM_ONLY=1` skips the cheap objective and
//! the kill tests.
//!
//! `TSF_BENCH_STORAGES=postgresql` (comma-separated: journal, sqlite, postgresql) runs only those.
//!
//! Writes Markdown tables to stdout and `TSF_BENCH_WORKERS_OUT` (JSON) if set.
//! `TSF_BENCH_QUICK=1`: 1 and 2 workers, 60 trials (LSTM: 1 and 2 workers, 8 trials).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use ts_tune::study::Heartbeat;
use ts_tune::{
    Direction, FrozenTrial, NopPruner, OptimizeOptions, RandomSampler, Study, TrialState, storage,
};

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
                    // Which worker ran it: the kill test checks that only killed workers'
                    // trials were failed.
                    t.set_user_attr("pid", json!(std::process::id()))?;
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
    let (killed, mut done) = run_and_kill(kind, &url, &name);
    std::thread::sleep(GRACE + Duration::from_millis(200));
    let study = open_study(&url, &name, 0);
    done.extend(run_the_rest(kind, &url, &name, &study));
    let trials = study.trials().expect("trials");
    check_numbers_and_reports(kind, &trials, &done);
    let (running, failed, retried) = check_failed_and_retried(kind, &trials, &killed);
    json!({"storage": kind, "trials": trials.len(), "complete": trials.iter().filter(|t| t.state == TrialState::Complete).count(),
           "failed": failed, "retried": retried, "running": running,
           "reported_by_workers": done.len()})
}

/// Starts 4 heartbeat workers of 30 trials each, kills the first two with SIGKILL after 1 s and
/// waits for the others; returns the killed workers' pids and the trial numbers all of them
/// reported finished.
fn run_and_kill(kind: &str, url: &str, name: &str) -> (Vec<u64>, Vec<usize>) {
    let mut children: Vec<Child> = (0..4).map(|_| spawn(url, name, 30, 50, true)).collect();
    std::thread::sleep(Duration::from_secs(1));
    let killed: Vec<u64> = children.iter().take(2).map(|c| u64::from(c.id())).collect();
    for c in children.iter_mut().take(2) {
        c.kill().expect("SIGKILL a worker");
    }
    let mut done = Vec::new();
    for (i, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().expect("worker");
        assert!(
            i < 2 || out.status.success(),
            "{kind}: a surviving worker failed"
        );
        done.extend(reported(&out.stdout));
    }
    (killed, done)
}

/// One more heartbeat worker for the trials short of 120 `COMPLETE` ones (at least one); returns
/// the trial numbers it reported finished.
fn run_the_rest(kind: &str, url: &str, name: &str, study: &Study) -> Vec<usize> {
    let complete = study
        .trials()
        .expect("trials")
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .count();
    let rest = 120usize.saturating_sub(complete);
    let c = spawn(url, name, rest.max(1), 50, true);
    let out = c.wait_with_output().expect("worker");
    assert!(out.status.success(), "{kind}: the last worker failed");
    reported(&out.stdout)
}

/// Checks that trial numbers are unique and gap-free, and that every trial a worker saw finish
/// is there once, complete.
fn check_numbers_and_reports(kind: &str, trials: &[FrozenTrial], done: &[usize]) {
    let numbers: Vec<usize> = trials.iter().map(|t| t.number).collect();
    assert_eq!(
        numbers,
        (0..trials.len()).collect::<Vec<_>>(),
        "{kind}: numbers unique and gap-free"
    );
    // Every trial a worker saw finish is there once, complete.
    let mut seen = done.to_vec();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), done.len(), "{kind}: a trial reported twice");
    assert!(
        done.iter()
            .all(|&n| trials[n].state == TrialState::Complete),
        "{kind}: a reported trial is not COMPLETE"
    );
}

/// Checks that no trial is left `RUNNING`, that only the `killed` workers' trials failed (at
/// most one each) and that each failed trial was re-run once with its parameters; returns the
/// numbers of running, failed and re-run trials.
fn check_failed_and_retried(
    kind: &str,
    trials: &[FrozenTrial],
    killed: &[u64],
) -> (usize, usize, usize) {
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
    assert_eq!(
        running, 0,
        "{kind}: a killed worker's trial is still RUNNING"
    );
    // A worker killed between two trials leaves none behind: at most one per killed worker.
    assert!(
        failed.len() <= 2,
        "{kind}: more FAIL trials than killed workers"
    );
    // Only killed workers' trials were failed (a trial killed before it stored its worker's
    // pid has none), never a live worker's.
    for t in &failed {
        let pid = t.user_attrs.get("pid").and_then(Value::as_u64);
        assert!(
            pid.is_none_or(|p| killed.contains(&p)),
            "{kind}: trial {} of a live worker was failed",
            t.number
        );
    }
    assert_eq!(
        retried.len(),
        failed.len(),
        "{kind}: each killed trial re-run once"
    );
    for r in &retried {
        check_retry(kind, trials, r);
    }
    (running, failed.len(), retried.len())
}

/// Checks that the retry `r` of a failed trial finished and ran the failed trial's parameters.
fn check_retry(kind: &str, trials: &[FrozenTrial], r: &FrozenTrial) {
    assert_eq!(
        r.state,
        TrialState::Complete,
        "{kind}: a retry did not finish"
    );
    let first = r.system_attrs["failed_trial"].as_u64().unwrap() as usize;
    // (A worker killed before it sampled leaves a trial without parameters; its retry
    // samples them.)
    assert!(
        trials[first]
            .params
            .iter()
            .all(|(k, v)| r.params.get(k) == Some(v)),
        "{kind}: a retry runs the failed trial's parameters"
    );
}

/// Trials of one LSTM scale-out run (divisible by 1, 2 and 4 workers).
const LSTM_TRIALS: usize = 48;
/// Epochs per LSTM trial.
const LSTM_EPOCHS: usize = 8;

/// `workers` `tsf tune` processes on one study of `total` trials of the LSTM objective.
fn lstm_scale(tsf: &Path, kind: &str, workers: usize, total: usize) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = url_for(kind, dir.path());
    let name = format!("lstm-{workers}-{}-{}", std::process::id(), now_s() as u64);
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/statsmodels_macrodata.csv");
    let per = total / workers;
    let wall = Instant::now();
    let children: Vec<Child> = (0..workers)
        .map(|i| {
            let out = dir.path().join(format!("out-{i}"));
            Command::new(tsf)
                .arg("tune")
                .arg("--data")
                .arg(&data)
                .args([
                    "--target",
                    "tbilrate",
                    "--features",
                    "realgdp,cpi,tbilrate,unemp,infl",
                ])
                .args(["--epochs", &LSTM_EPOCHS.to_string()])
                // The same work in every configuration: the random sampler gives trial number n
                // the same parameters whatever the number of workers, and nothing is pruned.
                .args(["--sampler", "random", "--pruner", "none", "--seed", "7"])
                .args(["--trials", &per.to_string()])
                .args(["--storage", &url, "--study-name", &name])
                .args(["--no-retrain", "--no-charts", "--quiet", "--out"])
                .arg(&out)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn tsf tune")
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().expect("tsf tune");
        assert!(
            out.status.success(),
            "tsf tune on {kind} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let wall = wall.elapsed().as_secs_f64();
    let study = open_study(&url, &name, 0);
    let trials = study.trials().expect("trials");
    let numbers: Vec<usize> = trials.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..per * workers).collect::<Vec<_>>(), "{kind}");
    assert!(trials.iter().all(|t| t.state.is_finished()), "{kind}");
    let start = trials
        .iter()
        .filter_map(|t| t.datetime_start)
        .min()
        .expect("a start");
    let end = trials
        .iter()
        .filter_map(|t| t.datetime_complete)
        .max()
        .expect("an end");
    let span = (end - start).num_milliseconds() as f64 / 1e3;
    let mut durations: Vec<f64> = trials
        .iter()
        .filter_map(|t| {
            Some((t.datetime_complete? - t.datetime_start?).num_milliseconds() as f64 / 1e3)
        })
        .collect();
    let pruned = trials
        .iter()
        .filter(|t| t.state == TrialState::Pruned)
        .count();
    json!({
        "storage": kind, "workers": workers, "trials": trials.len(), "pruned": pruned,
        "trials_per_minute": trials.len() as f64 / span * 60.0,
        "trial_s_median": quantile(&mut durations, 0.5),
        "wall_s": wall,
    })
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
    let machine = machine_name();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {machine}, {cores} cores");
    let mut kinds = storage_kinds();
    let lstm_only = std::env::var_os("TSF_BENCH_LSTM_ONLY").is_some();
    let kinds_lstm = kinds.clone();
    if lstm_only {
        kinds.clear();
    }
    let rows = scale_table(&kinds, counts, total);
    println!();
    let mut kill = Vec::new();
    for &kind in &kinds {
        let r = kill_test(kind);
        println!(
            "kill test ({kind}, 4 workers, 2 killed with SIGKILL, heartbeat 0.2 s, grace 1 s, retry 1): {r}"
        );
        kill.push(r);
    }
    let lstm_rows = match std::env::var_os("TSF_BENCH_TSF") {
        Some(tsf) => lstm_table(&std::path::PathBuf::from(tsf), &kinds_lstm, quick),
        None => Vec::new(),
    };
    if let Ok(out) = std::env::var("TSF_BENCH_WORKERS_OUT") {
        if let Some(p) = Path::new(&out).parent() {
            let _ = std::fs::create_dir_all(p);
        }
        let v = json!({"machine": machine, "cores": cores, "rows": rows, "kill_test": kill,
                       "lstm_rows": lstm_rows});
        std::fs::write(&out, serde_json::to_string_pretty(&v).unwrap()).expect("write results");
    }
}

/// The CPU's model name from `/proc/cpuinfo` (empty where there is none).
fn machine_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or_default().trim().to_string())
        })
        .unwrap_or_default()
}

/// The storages to measure: the journal, SQLite, and PostgreSQL with `TSF_BENCH_PG_URL`; only
/// those `TSF_BENCH_STORAGES` names when it is set.
fn storage_kinds() -> Vec<&'static str> {
    let mut kinds = vec!["journal", "sqlite"];
    if std::env::var_os("TSF_BENCH_PG_URL").is_some() {
        kinds.push("postgresql");
    }
    // TSF_BENCH_STORAGES=postgresql,… keeps only the storages named (to repeat one).
    if let Ok(only) = std::env::var("TSF_BENCH_STORAGES") {
        let only: Vec<&str> = only.split(',').map(str::trim).collect();
        kinds.retain(|k| only.contains(k));
    }
    kinds
}

/// The cheap objective's scale-out on each of `kinds` with each of `counts` workers sharing
/// `total` trials, printed as a Markdown table (nothing without storages); returns the rows.
fn scale_table(kinds: &[&str], counts: &[usize], total: usize) -> Vec<Value> {
    let mut rows = Vec::new();
    if !kinds.is_empty() {
        println!();
        println!("Cheap objective (10 ms sleep, random sampler):");
        println!();
        println!(
            "| storage | workers | trials | trials/min | ask ms (median / p99) | tell ms (median / p99) |"
        );
        println!("|---|---:|---:|---:|---:|---:|");
    }
    for &kind in kinds {
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
    rows
}

/// The LSTM objective's scale-out (`tsf tune` at `tsf`) on each of `kinds`, printed as a
/// Markdown table; returns the rows.
fn lstm_table(tsf: &Path, kinds: &[&str], quick: bool) -> Vec<Value> {
    let (counts, total): (&[usize], usize) = if quick {
        (&[1, 2], 8)
    } else {
        (&[1, 2, 4], LSTM_TRIALS)
    };
    println!();
    println!(
        "LSTM objective (`tsf tune`, statsmodels_macrodata.csv, {LSTM_EPOCHS} epochs per trial, random sampler seed 7, no pruner):"
    );
    println!();
    println!("| storage | workers | trials | pruned | trials/min | median trial s | wall s |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut rows = Vec::new();
    for &kind in kinds {
        for &w in counts {
            let r = lstm_scale(tsf, kind, w, total);
            println!(
                "| {} | {} | {} | {} | {:.1} | {:.2} | {:.1} |",
                kind,
                w,
                r["trials"],
                r["pruned"],
                r["trials_per_minute"].as_f64().unwrap(),
                r["trial_s_median"].as_f64().unwrap(),
                r["wall_s"].as_f64().unwrap()
            );
            rows.push(r);
        }
    }
    rows
}
