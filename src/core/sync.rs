//! Small helpers over std's mutex and condition variable.
//!
//! Poisoning is ignored: a panic is caught at the FFI boundary, and the data
//! our locks protect is kept consistent by every operation before any point
//! that could panic.

use super::shim::{AtomicU32, Ordering};
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

/// The longest a waiter spins before parking: long enough for a reply from
/// a thread running on another core, short enough not to burn a core when
/// nothing comes.
pub const SPIN: Duration = Duration::from_micros(20);

/// An adaptive spin budget (in microseconds, 0..=SPIN), shared by the
/// waiters of one object: it doubles when spinning paid off and halves when
/// it did not, so an overloaded machine (peers not running) parks at once
/// while an idle one keeps the fast path.
// Under loom the spin is counted in looks, not microseconds (see below).
#[cfg_attr(loom, allow(dead_code))]
pub struct SpinBudget(AtomicU32);

impl Default for SpinBudget {
    fn default() -> Self {
        SpinBudget::new()
    }
}

impl SpinBudget {
    pub fn new() -> SpinBudget {
        SpinBudget(AtomicU32::new(SPIN.as_micros() as u32))
    }

    /// Spins (yielding now and then) until `counter` differs from `seen`,
    /// within the budget and never past `deadline`. Returns whether it changed.
    #[cfg(not(loom))]
    pub fn spin_until_changed(&self, counter: &AtomicU32, seen: u32, deadline: Option<Instant>) -> bool {
        let budget = self.0.load(Ordering::Relaxed);
        // Even a zero budget polls once in a while: it is how it recovers.
        let micros = budget.max(1);
        let start = Instant::now();
        let limit = match deadline {
            Some(d) if d < start + Duration::from_micros(micros as u64) => d,
            _ => start + Duration::from_micros(micros as u64),
        };
        let mut i = 0u32;
        let changed = loop {
            if counter.load(Ordering::Acquire) != seen {
                break true;
            }
            i = i.wrapping_add(1);
            if i % 64 == 0 {
                if Instant::now() >= limit {
                    break false;
                }
                // With more runnable threads than cores, let the sender run.
                if i % 1024 == 0 {
                    std::thread::yield_now();
                }
            }
            std::hint::spin_loop();
        };
        let max = SPIN.as_micros() as u32;
        let next = if changed {
            (budget * 2).clamp(1, max)
        } else {
            budget / 2
        };
        self.0.store(next, Ordering::Relaxed);
        changed
    }

    /// A model has no clock: the spin is a set number of looks (a knob),
    /// each followed by a yield, so that loom also runs the other side.
    #[cfg(loom)]
    pub fn spin_until_changed(&self, counter: &AtomicU32, seen: u32, _deadline: Option<Instant>) -> bool {
        for _ in 0..super::shim::knobs::spin_looks() {
            if counter.load(Ordering::Acquire) != seen {
                return true;
            }
            super::shim::yield_now();
        }
        false
    }
}
