//! The process-wide abort flag of mtmsg and the sleep that it interrupts.

use super::sync::{lock, wait_until};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};

static ABORTED: AtomicBool = AtomicBool::new(false);
static SLEEPERS: Mutex<()> = Mutex::new(());
static WAKE: Condvar = Condvar::new();

/// Serializes object creation with `abort_all`: an object is either created
/// before an abort (and then aborted by it) or after (and then refused), and
/// concurrent aborts apply in one order.
static CREATION: Mutex<()> = Mutex::new(());

pub fn creation_lock() -> std::sync::MutexGuard<'static, ()> {
    lock(&CREATION)
}

pub fn is_aborted() -> bool {
    ABORTED.load(Ordering::Acquire)
}

/// Sets the global flag and wakes every sleeper. Applying the flag to each
/// object is the caller's business (mtmsg does it for buffers and listeners).
pub fn set_aborted(flag: bool) {
    let _g = lock(&SLEEPERS);
    ABORTED.store(flag, Ordering::Release);
    WAKE.notify_all();
}

/// Sleeps for `seconds`; returns false if aborted before or while sleeping.
/// `seconds <= 0` returns at once, without looking at the flag.
pub fn sleep(seconds: f64) -> bool {
    if seconds.is_nan() || seconds <= 0.0 {
        return true;
    }
    let Some(deadline) = super::time::deadline_after(seconds) else {
        // Effectively forever: sleep until aborted.
        let mut g = lock(&SLEEPERS);
        while !is_aborted() {
            g = super::sync::wait(&WAKE, g);
        }
        return false;
    };
    let mut g = lock(&SLEEPERS);
    loop {
        if is_aborted() {
            return false;
        }
        let (g2, expired) = wait_until(&WAKE, g, deadline);
        g = g2;
        if expired {
            return !is_aborted();
        }
    }
}
