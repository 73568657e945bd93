//! Optuna's `JournalStorage` with a `JournalFileBackend`: an append-only file with one JSON record
//! per line.
//!
//! Writers take Optuna's lock (a symbolic link `<file>.lock`, broken after 30 s without change,
//! or at once when it names a tsf process on this machine that no longer runs) and an exclusive
//! `flock` on the file, read every record other workers appended since the last read, cut off a
//! torn last line left by a writer that died mid-write, append their record, and `fsync`.
//! Readers ignore a torn last line. Several processes (tsf or Optuna) can therefore share one file.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Appended, Replay, Storage};
use crate::error::{Result, TuneError};

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

/// An Optuna-compatible journal file.
#[derive(Debug)]
pub struct JournalStorage {
    path: PathBuf,
    worker_prefix: String,
    inner: Mutex<Inner>,
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
