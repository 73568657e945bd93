//! Worker threads for the inference path that spin for a moment between calls instead of sleeping.
//!
//! Inference calls come back to back (a batch loop, a stream of requests), each a few hundred µs
//! to a few ms of work split across the cores. On rayon's pool the workers go to sleep between
//! calls, and waking them costs time; worse, on a busy or shared machine a sleeping worker's core
//! is handed to another process, whose run evicts the packed weights from that core's caches.
//! PyTorch's OpenMP threads spin between calls for the same reason. Here each worker spins for
//! [`SPIN`] after its last job, then parks until the next one. The calling thread runs chunk 0
//! itself, so no more threads than cores are busy. Training's batch chunks (forward and BPTT) use
//! the same workers through [`map`].
//!
//! One caller at a time: a call that finds the pool in use (another thread's inference) returns
//! `false` and the caller runs its chunks on rayon instead, as it does when the pool has too few
//! workers. Set `TSF_SPIN_POOL=off` to always use rayon (for A/B measurements).

#![allow(unsafe_code)] // lifetime erasure of the job reference; see `run`.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a worker spins for its next job before it parks.
const SPIN: Duration = Duration::from_millis(2);

const IDLE: u32 = 0;
const READY: u32 = 1;
const DONE: u32 = 2;

/// A job: the shared closure and the chunk index to run it with.
type Job = (*const (dyn Fn(usize) + Sync + 'static), usize);

struct Slot {
    state: AtomicU32,
    job: UnsafeCell<Option<Job>>,
    panicked: AtomicBool,
    thread: OnceLock<std::thread::Thread>,
}

// SAFETY: `job` is written by the submitting thread only while `state` is IDLE (the worker does
// not touch it then) and read by the worker only after it saw READY (Acquire, pairing with the
// submitter's Release store); the closure it points to is `Sync`.
unsafe impl Sync for Slot {}
// SAFETY: as above; the raw pointer is only dereferenced under that protocol.
unsafe impl Send for Slot {}

struct Pool {
    slots: Vec<Arc<Slot>>,
    busy: Mutex<()>,
}

static POOL: OnceLock<Option<Pool>> = OnceLock::new();

fn pool() -> Option<&'static Pool> {
    POOL.get_or_init(|| {
        if std::env::var("TSF_SPIN_POOL").is_ok_and(|v| v == "0" || v.eq_ignore_ascii_case("off")) {
            return None;
        }
        let workers = rayon::current_num_threads().saturating_sub(1);
        let mut slots = Vec::with_capacity(workers);
        for k in 0..workers {
            let slot = Arc::new(Slot {
                state: AtomicU32::new(IDLE),
                job: UnsafeCell::new(None),
                panicked: AtomicBool::new(false),
                thread: OnceLock::new(),
            });
            let mine = slot.clone();
            let handle = std::thread::Builder::new()
                .name(format!("tsf-infer-{}", k + 1))
                .spawn(move || worker(&mine))
                .ok()?;
            let _ = slot.thread.set(handle.thread().clone());
            slots.push(slot);
        }
        (!slots.is_empty()).then(|| Pool {
            slots,
            busy: Mutex::new(()),
        })
    })
    .as_ref()
}

fn worker(slot: &Slot) {
    loop {
        let since = Instant::now();
        while slot.state.load(Ordering::Acquire) != READY {
            if since.elapsed() < SPIN {
                std::hint::spin_loop();
            } else {
                // `unpark` before `park` leaves a token, so a job posted in between is not missed.
                std::thread::park();
            }
        }
        // SAFETY: READY was seen with Acquire; the submitter wrote the job before its Release
        // store and waits for DONE before the closure it points to goes out of scope.
        let job = unsafe { (*slot.job.get()).take() };
        if let Some((f, index)) = job {
            // SAFETY: see above; the closure outlives this call.
            let f = unsafe { &*f };
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(index)));
            if run.is_err() {
                slot.panicked.store(true, Ordering::Relaxed);
            }
        }
        slot.state.store(DONE, Ordering::Release);
    }
}

/// `items.iter().map(f).collect()`, the items shared among the calling thread and the pool's
/// workers (rayon when the pool is in use or disabled; one item runs on the calling thread).
/// The results are in the items' order whoever computed them.
pub(crate) fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    use rayon::prelude::*;
    if items.len() < 2 {
        return items.iter().map(f).collect();
    }
    let out: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let ran = run(items.len(), &|i| {
        let r = f(&items[i]);
        *out[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
    });
    if !ran {
        return items.par_iter().map(&f).collect();
    }
    out.into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("`run` returned after every item ran")
        })
        .collect()
}

/// Runs `f(0)`, …, `f(n - 1)` on the calling thread and the pool's workers (participant `k` of
/// `t` runs `k`, `k + t`, …; the caller is participant 0), and returns once all have finished.
/// Returns `false`, running nothing, when the pool is disabled or in use by another thread. A
/// panic in a worker's chunk is raised again here once every chunk has finished.
pub(crate) fn run(n: usize, f: &(dyn Fn(usize) + Sync)) -> bool {
    if n < 2 {
        return false;
    }
    let Some(pool) = pool() else {
        return false;
    };
    let t = n.min(pool.slots.len() + 1);
    let strided = |k: usize| {
        for i in (k..n).step_by(t) {
            f(i);
        }
    };
    let f: &(dyn Fn(usize) + Sync) = &strided;
    // A chunk's panic unwinds through here holding the lock; the pool is still sound then.
    let _busy = match pool.busy.try_lock() {
        Ok(g) => g,
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return false,
    };
    let used = &pool.slots[..t - 1];
    // SAFETY: only the lifetime is erased. `Wait` below does not return (nor unwind past this
    // frame) before every worker handed this job has stored DONE, after which no worker holds the
    // pointer, so the closure outlives every use.
    let erased: *const (dyn Fn(usize) + Sync + 'static) =
        unsafe { std::mem::transmute(f as *const (dyn Fn(usize) + Sync + '_)) };
    /// Waits for the handed-out chunks, also when the caller's own chunk panics.
    struct Wait<'a>(&'a [Arc<Slot>]);
    impl Drop for Wait<'_> {
        fn drop(&mut self) {
            for slot in self.0 {
                let since = Instant::now();
                while slot.state.load(Ordering::Acquire) != DONE {
                    if since.elapsed() < SPIN {
                        std::hint::spin_loop();
                    } else {
                        std::thread::yield_now();
                    }
                }
                slot.state.store(IDLE, Ordering::Relaxed);
            }
        }
    }
    let wait = Wait(used);
    for (k, slot) in used.iter().enumerate() {
        // SAFETY: the slot is IDLE (every earlier call waited for DONE and reset it), so its
        // worker does not read `job` until the READY store below.
        unsafe { *slot.job.get() = Some((erased, k + 1)) };
        slot.state.store(READY, Ordering::Release);
        if let Some(t) = slot.thread.get() {
            t.unpark();
        }
    }
    f(0);
    drop(wait);
    // Every flag is cleared, not only up to the first one set.
    let panicked = used.iter().fold(false, |any, s| {
        s.panicked.swap(false, Ordering::Relaxed) | any
    });
    if panicked {
        panic!("an inference worker thread panicked");
    }
    true
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// The tests share the one pool; run them one at a time. Other tests of this crate infer
    /// meanwhile, so a call may find the pool in use: [`until_run`] retries.
    static SERIAL: Mutex<()> = Mutex::new(());

    /// `run(n, f)` again until the pool was free (it runs nothing when it is not).
    fn until_run(n: usize, f: &(dyn Fn(usize) + Sync)) {
        for _ in 0..10_000 {
            if run(n, f) {
                return;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        panic!("the pool stayed in use");
    }

    #[test]
    fn every_chunk_runs_once_and_calls_can_race() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let Some(p) = pool() else {
            return;
        };
        let n = p.slots.len() + 1;
        let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
        for _ in 0..200 {
            until_run(n, &|i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
        }
        for h in &hits {
            assert_eq!(h.load(Ordering::Relaxed), 200);
        }
        // More chunks than threads: shared among them, each run once. One: not run here.
        let many: Vec<AtomicUsize> = (0..3 * n + 1).map(|_| AtomicUsize::new(0)).collect();
        until_run(many.len(), &|i| {
            many[i].fetch_add(1, Ordering::Relaxed);
        });
        assert!(many.iter().all(|h| h.load(Ordering::Relaxed) == 1));
        assert!(!run(1, &|_| {}));
        let squares = map(&(0..50).collect::<Vec<u64>>(), |&i| i * i);
        assert_eq!(squares, (0..50).map(|i| i * i).collect::<Vec<u64>>());
        // Concurrent callers: each call runs all its chunks or none.
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..100 {
                        let mine = AtomicUsize::new(0);
                        let ok = run(n, &|_| {
                            mine.fetch_add(1, Ordering::Relaxed);
                        });
                        assert_eq!(mine.load(Ordering::Relaxed), if ok { n } else { 0 });
                    }
                });
            }
        });
    }

    #[test]
    fn a_panicking_chunk_is_raised_after_all_finish() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let Some(p) = pool() else {
            return;
        };
        let n = p.slots.len() + 1;
        let done = AtomicUsize::new(0);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            until_run(n, &|i| {
                if i == n - 1 {
                    panic!("chunk {i}");
                }
                std::thread::sleep(Duration::from_millis(5));
                done.fetch_add(1, Ordering::Relaxed);
            })
        }));
        let message = r.unwrap_err();
        assert_eq!(
            message.downcast_ref::<&str>(),
            Some(&"an inference worker thread panicked")
        );
        assert_eq!(done.load(Ordering::Relaxed), n - 1);
        // The pool still works, its panic flag cleared.
        let ran = AtomicUsize::new(0);
        until_run(n, &|_| {
            ran.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(ran.load(Ordering::Relaxed), n);
    }
}
