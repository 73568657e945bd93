//! Optuna's `JournalStorage` with a `JournalFileBackend`: an append-only file with one JSON record
//! per line.
//!
//! Writers take Optuna's lock (a symbolic link `<file>.lock`, broken after 30 s without change,
//! or at once when it names a tsf process on this machine that no longer runs) and an exclusive
//! `flock` on the file, read every record other workers appended since the last read, cut off a
//! torn last line left by a writer that died mid-write, append their record, and `fsync`.
//! Readers ignore a torn last line. Several processes (tsf or Optuna) can therefore share one file.
//!
//! Heartbeats of running trials live next to the journal, in `<journal>.heartbeats` (one JSON
//! line per heartbeat, written under the same discipline with its own `<journal>.heartbeats.lock`),
//! never in the journal itself: Optuna's replay stops at an unknown `op_code`, so the journal
//! keeps only Optuna's ten operations and Optuna reads it unchanged.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Appended, Replay, Storage, iso, parse_time};
use crate::error::{Result, TuneError};
use crate::trial::TrialState;

/// Seconds after which an unchanged lock is considered abandoned (Optuna's grace period).
const GRACE: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct Inner {
    replay: Replay,
    /// Bytes of complete lines read so far.
    offset: u64,
    /// Complete lines read so far.
    lines: usize,
}

/// An Optuna-compatible journal file, with the heartbeats of its running trials in
/// `<journal>.heartbeats`.
#[derive(Debug)]
pub struct JournalStorage {
    path: PathBuf,
    worker_prefix: String,
    inner: Mutex<Inner>,
    heartbeats: HeartbeatFile,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> TuneError {
    TuneError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// A random UUID (version 4) in its usual text form.
fn uuid4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Rewrites Python's non-standard `NaN`, `Infinity` and `-Infinity` tokens (outside strings) as
/// strings so that a strict JSON parser accepts the line.
pub(crate) fn python_tokens(line: &str) -> std::borrow::Cow<'_, str> {
    if !line.contains("NaN") && !line.contains("Infinity") {
        return line.into();
    }
    let mut out = String::with_capacity(line.len() + 8);
    let mut in_str = false;
    let mut escaped = false;
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '"' {
            in_str = true;
            out.push(c);
            rest = &rest[1..];
            continue;
        }
        let mut matched = false;
        for tok in ["-Infinity", "Infinity", "NaN"] {
            if rest.starts_with(tok) {
                out.push('"');
                out.push_str(tok);
                out.push('"');
                rest = &rest[tok.len()..];
                matched = true;
                break;
            }
        }
        if !matched {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out.into()
}

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Optuna's `JournalFileSymlinkLock`: `<file>.lock` is a symbolic link while someone writes.
/// tsf points the link at `<file>#tsf:<host>:<pid>` so that another tsf process on the same host
/// can tell at once that the holder died; Optuna never reads the link target.
struct SymlinkLock {
    lock: PathBuf,
}

impl SymlinkLock {
    fn acquire(target: &Path) -> std::io::Result<Self> {
        let lock = PathBuf::from(format!("{}.lock", target.display()));
        let me = format!(
            "{}#tsf:{}:{}",
            target.display(),
            hostname(),
            std::process::id()
        );
        let mut sleep = Duration::from_millis(1);
        let mut last_seen: Option<(std::time::SystemTime, PathBuf)> = None;
        let mut since = Instant::now();
        loop {
            match make_link(&me, &lock) {
                Ok(()) => return Ok(Self { lock }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let Ok(meta) = fs::symlink_metadata(&lock) else {
                        continue;
                    };
                    let target = fs::read_link(&lock).unwrap_or_default();
                    if holder_is_dead(&target) {
                        Self::force_release(&lock);
                        continue;
                    }
                    let seen = (meta.modified()?, target);
                    if last_seen.as_ref() != Some(&seen) {
                        last_seen = Some(seen);
                        since = Instant::now();
                    } else if since.elapsed() > GRACE {
                        tracing::warn!(
                            "{}: the lock has not been released for {} s; breaking it",
                            lock.display(),
                            GRACE.as_secs()
                        );
                        Self::force_release(&lock);
                        sleep = Duration::from_millis(1);
                        continue;
                    }
                    std::thread::sleep(sleep);
                    sleep = (sleep * 2).min(Duration::from_millis(50));
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn force_release(lock: &Path) {
        let tmp = PathBuf::from(format!("{}{}.rename", lock.display(), uuid4()));
        if fs::rename(lock, &tmp).is_ok() {
            let _ = fs::remove_file(&tmp);
        }
    }
}

#[cfg(unix)]
fn make_link(target: &str, lock: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, lock)
}

#[cfg(not(unix))]
fn make_link(_target: &str, lock: &Path) -> std::io::Result<()> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(lock)
        .map(|_| ())
}

/// Whether a lock target written by tsf names a process on this host that no longer runs.
fn holder_is_dead(target: &Path) -> bool {
    let t = target.to_string_lossy();
    let Some((_, tail)) = t.rsplit_once("#tsf:") else {
        return false;
    };
    let Some((host, pid)) = tail.rsplit_once(':') else {
        return false;
    };
    if host.is_empty() || host != hostname() || !Path::new("/proc/self").exists() {
        return false;
    }
    match pid.parse::<u32>() {
        Ok(pid) => pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists(),
        Err(_) => false,
    }
}

impl Drop for SymlinkLock {
    fn drop(&mut self) {
        Self::force_release(&self.lock);
    }
}

impl JournalStorage {
    /// Opens (creating if missing) a journal file and reads it. A file that is not an Optuna
    /// journal is an error naming the line.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if path.is_dir() {
            return Err(io_err(&path, "is a folder, not a journal file"));
        }
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
            && !parent.exists()
        {
            fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
        }
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io_err(&path, e))?;
        let s = Self {
            heartbeats: HeartbeatFile::next_to(&path),
            path,
            worker_prefix: format!("{}-", uuid4()),
            inner: Mutex::new(Inner {
                replay: Replay::default(),
                offset: 0,
                lines: 0,
            }),
        };
        {
            let mut inner = s.lock_inner();
            s.sync(&mut inner)?;
        }
        Ok(s)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file that keeps the heartbeats of running trials: `<journal>.heartbeats`, next to the
    /// journal (created by the first heartbeat).
    pub fn heartbeat_path(&self) -> &Path {
        &self.heartbeats.path
    }

    fn lock_inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn worker_id(&self) -> String {
        let t = format!("{:?}", std::thread::current().id());
        let digits: String = t.chars().filter(char::is_ascii_digit).collect();
        format!("{}{}", self.worker_prefix, digits)
    }

    /// Reads the complete lines appended since the last read. Returns the file length.
    fn sync(&self, inner: &mut Inner) -> Result<u64> {
        let mut f = File::open(&self.path).map_err(|e| io_err(&self.path, e))?;
        let len = f.metadata().map_err(|e| io_err(&self.path, e))?.len();
        if len < inner.offset {
            return Err(io_err(
                &self.path,
                format!(
                    "the journal shrank from {} to {len} bytes while in use; it was replaced or truncated",
                    inner.offset
                ),
            ));
        }
        f.seek(SeekFrom::Start(inner.offset))
            .map_err(|e| io_err(&self.path, e))?;
        let mut buf = Vec::with_capacity((len - inner.offset) as usize);
        f.read_to_end(&mut buf).map_err(|e| io_err(&self.path, e))?;
        let mut start = 0;
        while let Some(nl) = buf[start..].iter().position(|&b| b == b'\n') {
            let line = &buf[start..start + nl];
            let line_no = inner.lines + 1;
            let bad = |reason: String| TuneError::Journal {
                path: self.path.clone(),
                line: line_no,
                reason,
            };
            let text = std::str::from_utf8(line)
                .map_err(|_| bad("not UTF-8 text; this is not an Optuna journal file".into()))?;
            if !text.trim().is_empty() {
                let v: Value = serde_json::from_str(&python_tokens(text)).map_err(|e| {
                    bad(format!(
                        "not a JSON record ({e}); this is not an Optuna journal file"
                    ))
                })?;
                inner
                    .replay
                    .apply(&v)
                    .map_err(|r| bad(format!("not an Optuna journal record: {r}")))?;
            }
            inner.lines += 1;
            start += nl + 1;
            inner.offset += nl as u64 + 1;
        }
        Ok(len)
    }
}

impl Storage for JournalStorage {
    fn append(&self, mut rec: Value) -> Result<Appended> {
        rec["worker_id"] = Value::String(self.worker_id());
        let mut inner = self.lock_inner();
        let _link = SymlinkLock::acquire(&self.path).map_err(|e| io_err(&self.path, e))?;
        let mut f = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| io_err(&self.path, e))?;
        f.lock().map_err(|e| io_err(&self.path, e))?;
        let len = self.sync(&mut inner)?;
        if len > inner.offset {
            // A writer died in the middle of a line; its record never existed.
            tracing::warn!(
                "{}: removing a torn last line ({} bytes)",
                self.path.display(),
                len - inner.offset
            );
            f.set_len(inner.offset).map_err(|e| io_err(&self.path, e))?;
        }
        inner.replay.check(&rec)?;
        let mut line = serde_json::to_string(&rec).map_err(|e| io_err(&self.path, e))?;
        line.push('\n');
        f.write_all(line.as_bytes())
            .and_then(|_| f.sync_data())
            .map_err(|e| io_err(&self.path, e))?;
        let _ = f.unlock();
        drop(_link);
        let line_no = inner.lines + 1;
        inner
            .replay
            .apply(&rec)
            .map_err(|reason| TuneError::Journal {
                path: self.path.clone(),
                line: line_no,
                reason,
            })?;
        inner.lines += 1;
        inner.offset += line.len() as u64;
        Ok(Appended::of(&inner.replay))
    }

    fn read(&self, f: &mut dyn FnMut(&Replay)) -> Result<()> {
        let mut inner = self.lock_inner();
        self.sync(&mut inner)?;
        f(&inner.replay);
        Ok(())
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn supports_heartbeat(&self) -> bool {
        true
    }

    fn record_heartbeat(&self, trial_id: usize) -> Result<()> {
        self.heartbeats.record(trial_id, &self.worker_prefix, &|| {
            // Only trials known to have finished lose their heartbeats when the file is
            // compacted; the journal is read first so that other workers' trials are known.
            let mut finished = BTreeSet::new();
            self.read(&mut |r| {
                finished = r
                    .trials
                    .iter()
                    .filter(|(_, t)| t.state.is_finished())
                    .map(|(id, _)| *id)
                    .collect();
            })?;
            Ok(finished)
        })
    }

    fn stale_trials(&self, study_id: usize, grace: Duration) -> Result<Vec<usize>> {
        // Running trials with their first heartbeat when the record that started them was one.
        let mut running: Vec<(usize, Option<DateTime<Utc>>)> = Vec::new();
        self.read(&mut |r| {
            running = r
                .study_trials(study_id)
                .iter()
                .filter(|t| t.state == TrialState::Running)
                .map(|t| (t.trial_id, r.first_heartbeat(t.trial_id)))
                .collect();
        })?;
        if running.is_empty() {
            return Ok(Vec::new());
        }
        self.heartbeats.stale(&running, grace, Utc::now())
    }
}

/// Size (bytes) above which the writer of a heartbeat first compacts the heartbeat file to the
/// last heartbeat of each trial not known to have finished (about 10,000 heartbeats).
const COMPACT_ABOVE: u64 = 1 << 20;

/// `<journal>.heartbeats`: one JSON line per heartbeat, `{"trial_id": ID, "heartbeat": TIME,
/// "worker_id": W}` (the storage-wide trial id of the journal, UTC time stamps as the journal
/// writes them); the last line of a trial is its last heartbeat (Optuna's `trial_heartbeats`
/// row). Written under the journal's discipline (a symbolic-link lock
/// `<journal>.heartbeats.lock` and an exclusive `flock`, torn last lines cut off, `fsync`); read
/// incrementally. A writer that finds the file above [`COMPACT_ABOVE`] rewrites it (a new file
/// renamed over the old one) with only the trials that have not finished; readers notice the
/// new file and read it again.
#[derive(Debug)]
struct HeartbeatFile {
    path: PathBuf,
    compact_above: u64,
    state: Mutex<Beats>,
}

/// What has been read of a heartbeat file.
#[derive(Debug, Default)]
struct Beats {
    /// Last heartbeat per trial id.
    last: BTreeMap<usize, DateTime<Utc>>,
    /// Bytes of complete lines read so far.
    offset: u64,
    /// Complete lines read so far.
    lines: usize,
    /// Device and inode of the file read (a compacted file is a new one).
    file: (u64, u64),
}

#[cfg(unix)]
fn file_identity(m: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn file_identity(_: &fs::Metadata) -> (u64, u64) {
    (0, 0)
}

impl HeartbeatFile {
    fn next_to(journal: &Path) -> Self {
        let mut p = journal.as_os_str().to_os_string();
        p.push(".heartbeats");
        Self {
            path: PathBuf::from(p),
            compact_above: COMPACT_ABOVE,
            state: Mutex::new(Beats::default()),
        }
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, Beats> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the complete lines added since the last read (the whole file again when it was
    /// replaced or shrank). Returns the file length; a missing file has no heartbeats.
    fn sync(&self, beats: &mut Beats) -> Result<u64> {
        let mut f = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                *beats = Beats::default();
                return Ok(0);
            }
            Err(e) => return Err(io_err(&self.path, e)),
        };
        let meta = f.metadata().map_err(|e| io_err(&self.path, e))?;
        let len = meta.len();
        let file = file_identity(&meta);
        if file != beats.file || len < beats.offset {
            *beats = Beats {
                file,
                ..Beats::default()
            };
        }
        f.seek(SeekFrom::Start(beats.offset))
            .map_err(|e| io_err(&self.path, e))?;
        let mut buf = Vec::with_capacity((len - beats.offset) as usize);
        f.read_to_end(&mut buf).map_err(|e| io_err(&self.path, e))?;
        let mut start = 0;
        while let Some(nl) = buf[start..].iter().position(|&b| b == b'\n') {
            let line = &buf[start..start + nl];
            let bad = |reason: &str| TuneError::Journal {
                path: self.path.clone(),
                line: beats.lines + 1,
                reason: format!("{reason}; this is not a tsf heartbeat file"),
            };
            let text = std::str::from_utf8(line).map_err(|_| bad("not UTF-8 text"))?;
            if !text.trim().is_empty() {
                let v: Value = serde_json::from_str(text).map_err(|_| bad("not a JSON record"))?;
                let id = v
                    .get("trial_id")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| bad("no \"trial_id\""))?;
                let at =
                    parse_time(v.get("heartbeat")).ok_or_else(|| bad("no \"heartbeat\" time"))?;
                beats.last.insert(id as usize, at);
            }
            beats.lines += 1;
            start += nl + 1;
            beats.offset += nl as u64 + 1;
        }
        Ok(len)
    }

    /// Appends a heartbeat of `trial_id` now. `finished` lists the trials whose heartbeats a
    /// compaction may drop.
    fn record(
        &self,
        trial_id: usize,
        worker: &str,
        finished: &dyn Fn() -> Result<BTreeSet<usize>>,
    ) -> Result<()> {
        let mut beats = self.lock_state();
        let _link = SymlinkLock::acquire(&self.path).map_err(|e| io_err(&self.path, e))?;
        let mut f = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(|e| io_err(&self.path, e))?;
        f.lock().map_err(|e| io_err(&self.path, e))?;
        let len = self.sync(&mut beats)?;
        if len > beats.offset {
            tracing::warn!(
                "{}: removing a torn last line ({} bytes)",
                self.path.display(),
                len - beats.offset
            );
            f.set_len(beats.offset).map_err(|e| io_err(&self.path, e))?;
        }
        let now = Utc::now();
        let line = |id: usize, at: DateTime<Utc>| {
            format!(
                "{}\n",
                json!({"trial_id": id, "heartbeat": iso(at), "worker_id": worker})
            )
        };
        let new = line(trial_id, now);
        if beats.offset + new.len() as u64 > self.compact_above {
            let finished = finished()?;
            let mut text = String::new();
            for (&id, &at) in &beats.last {
                if id != trial_id && !finished.contains(&id) {
                    text.push_str(&line(id, at));
                }
            }
            text.push_str(&new);
            let mut tmp = self.path.as_os_str().to_os_string();
            tmp.push(format!(".{}.tmp", uuid4()));
            let tmp = PathBuf::from(tmp);
            let written = File::create(&tmp)
                .and_then(|mut t| t.write_all(text.as_bytes()).and_then(|_| t.sync_data()))
                .and_then(|_| fs::rename(&tmp, &self.path));
            if let Err(e) = written {
                let _ = fs::remove_file(&tmp);
                return Err(io_err(&self.path, e));
            }
            drop(f);
            self.sync(&mut beats)?;
        } else {
            f.write_all(new.as_bytes())
                .and_then(|_| f.sync_data())
                .map_err(|e| io_err(&self.path, e))?;
            let _ = f.unlock();
            beats.last.insert(trial_id, now);
            beats.lines += 1;
            beats.offset += new.len() as u64;
        }
        Ok(())
    }

    /// The trials among `running` (with their first heartbeat from the journal, if any) whose
    /// last heartbeat is more than `grace` before `now` (trials that never sent one are not
    /// stale, as in Optuna).
    fn stale(
        &self,
        running: &[(usize, Option<DateTime<Utc>>)],
        grace: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<usize>> {
        let mut beats = self.lock_state();
        self.sync(&mut beats)?;
        let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
        Ok(running
            .iter()
            .filter(|(id, first)| {
                let last = beats.last.get(id).copied().max(*first);
                last.is_some_and(|at| now - at > grace)
            })
            .map(|(id, _)| *id)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_tokens_become_strings_outside_strings_only() {
        assert_eq!(
            python_tokens(r#"{"a":NaN,"b":"NaN x","c":-Infinity,"d":[Infinity]}"#),
            r#"{"a":"NaN","b":"NaN x","c":"-Infinity","d":["Infinity"]}"#
        );
    }

    fn ids(ids: &[usize]) -> Vec<(usize, Option<DateTime<Utc>>)> {
        ids.iter().map(|&i| (i, None)).collect()
    }

    #[test]
    fn heartbeats_keep_the_last_per_trial_and_compaction_drops_finished_trials() {
        let dir = tempfile::tempdir().unwrap();
        let mut hb = HeartbeatFile::next_to(&dir.path().join("j.log"));
        assert!(hb.path.ends_with("j.log.heartbeats"));
        hb.compact_above = 2_000;
        let none = || Ok(BTreeSet::new());
        // No file yet: nothing is stale.
        let now = Utc::now();
        assert!(
            hb.stale(&ids(&[0, 1]), Duration::ZERO, now)
                .unwrap()
                .is_empty()
        );
        for round in 0..40 {
            for id in 0..3 {
                if id == 2 && round > 0 {
                    continue;
                }
                hb.record(id, "w", &|| Ok([1usize].into_iter().collect()))
                    .unwrap();
            }
        }
        let text = fs::read_to_string(&hb.path).unwrap();
        assert!(text.len() < 2_000, "compacted: {} bytes", text.len());
        // Trial 1 finished: its heartbeats went with the last compaction unless written after it.
        let later = Utc::now() + chrono::Duration::seconds(10);
        let stale = hb
            .stale(&ids(&[0, 2, 7]), Duration::from_secs(5), later)
            .unwrap();
        assert_eq!(stale, vec![0, 2], "trial 7 never sent a heartbeat");
        assert!(
            hb.stale(&ids(&[0, 2]), Duration::from_secs(60), later)
                .unwrap()
                .is_empty()
        );
        // A second reader sees the same; a torn last line is ignored, then cut by the next writer.
        let other = HeartbeatFile::next_to(&dir.path().join("j.log"));
        let mut f = OpenOptions::new().append(true).open(&hb.path).unwrap();
        f.write_all(b"{\"trial_id\": 9, \"heart").unwrap();
        assert_eq!(
            other
                .stale(&ids(&[0, 2, 9]), Duration::from_secs(5), later)
                .unwrap(),
            vec![0, 2]
        );
        hb.record(9, "w", &none).unwrap();
        let text = fs::read_to_string(&hb.path).unwrap();
        assert!(
            text.lines()
                .all(|l| serde_json::from_str::<Value>(l).is_ok())
        );
        assert_eq!(
            other
                .stale(&ids(&[9]), Duration::from_secs(5), later)
                .unwrap(),
            vec![9]
        );
        // Not a heartbeat file: an error naming the file and line.
        fs::write(
            &hb.path,
            "{\"trial_id\": 1, \"heartbeat\": \"2026-01-01T00:00:00.000000+00:00\"}\nhello\n",
        )
        .unwrap();
        let e = other
            .stale(&ids(&[1]), Duration::ZERO, later)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("heartbeat file"), "{e}");
        // A trial whose start record was its first heartbeat is stale from then on.
        fs::remove_file(&hb.path).unwrap();
        let started = later - chrono::Duration::seconds(3);
        let stale = other
            .stale(
                &[(4, Some(started)), (5, None)],
                Duration::from_secs(2),
                later,
            )
            .unwrap();
        assert_eq!(stale, vec![4]);
        assert!(
            other
                .stale(&[(4, Some(started))], Duration::from_secs(5), later)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn dead_holder_detection_needs_this_host() {
        assert!(!holder_is_dead(Path::new("/x/journal.log")));
        assert!(!holder_is_dead(Path::new(
            "/x/j.log#tsf:some-other-host-xyz:1"
        )));
        if Path::new("/proc/self").exists() && !hostname().is_empty() {
            let live = format!("/x/j.log#tsf:{}:{}", hostname(), std::process::id());
            assert!(!holder_is_dead(Path::new(&live)));
            let dead = format!("/x/j.log#tsf:{}:{}", hostname(), u32::MAX - 7);
            assert!(holder_is_dead(Path::new(&dead)));
        }
    }
}
