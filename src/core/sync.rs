//! Small helpers over std's mutex and condition variable.
//!
//! Poisoning is ignored: a panic is caught at the FFI boundary, and the data
//! our locks protect is kept consistent by every operation before any point
//! that could panic.

use std::sync::{Condvar, Mutex, MutexGuard, TryLockError};
use std::time::Instant;

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
