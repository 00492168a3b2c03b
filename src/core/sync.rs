//! Small helpers over std's mutex and condition variable.
//!
//! Poisoning is ignored: a panic is caught at the FFI boundary, and the data
//! our locks protect is kept consistent by every operation before any point
//! that could panic.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// None if another thread holds the lock.
pub fn try_lock<T>(m: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match m.try_lock() {
        Ok(g) => Some(g),
        Err(TryLockError::Poisoned(e)) => Some(e.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

pub fn wait<'a, T>(c: &Condvar, g: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    c.wait(g).unwrap_or_else(|e| e.into_inner())
}

/// Waits until notified or until `deadline`; returns the guard and whether
/// the deadline has passed.
pub fn wait_until<'a, T>(c: &Condvar, g: MutexGuard<'a, T>, deadline: Instant) -> (MutexGuard<'a, T>, bool) {
    let now = Instant::now();
    if now >= deadline {
        return (g, true);
    }
    let (g, _) = c.wait_timeout(g, deadline - now).unwrap_or_else(|e| e.into_inner());
    (g, Instant::now() >= deadline)
}

/// How long a waiter spins before parking: long enough for a reply from a
/// thread running on another core, short enough not to burn a core when
/// nothing comes.
pub const SPIN: Duration = Duration::from_micros(20);

/// Spins (then yields a few times) until `counter` differs from `seen`, for
/// at most `SPIN` and never past `deadline`. Returns whether it changed.
pub fn spin_until_changed(counter: &AtomicU64, seen: u64, deadline: Option<Instant>) -> bool {
    let start = Instant::now();
    let limit = match deadline {
        Some(d) if d < start + SPIN => d,
        _ => start + SPIN,
    };
    let mut i = 0u32;
    loop {
        if counter.load(Ordering::Acquire) != seen {
            return true;
        }
        i = i.wrapping_add(1);
        if i % 64 == 0 {
            if Instant::now() >= limit {
                return false;
            }
            // With more runnable threads than cores, let the sender run.
            if i % 1024 == 0 {
                std::thread::yield_now();
            }
        }
        std::hint::spin_loop();
    }
}
