//! A 32-bit word that threads can sleep on until it changes: Linux's futex.
//!
//! `wait(expected)` sleeps only while the word still holds `expected`, and
//! the check and the sleep are one step with respect to `wake`: a change
//! made before `wake` is either seen by the check or wakes the sleeper.
//! On systems without futexes (anything but Linux) a waiter polls, sleeping
//! 50 µs between looks: correct, only slower. Under loom the word gets a
//! mutex and a condition variable that give the same guarantee.

use super::shim::AtomicU32;
use std::ops::Deref;
use std::time::Instant;

pub struct Futex {
    word: AtomicU32,
    #[cfg(loom)]
    sleep: loom::sync::Mutex<()>,
    #[cfg(loom)]
    woken: loom::sync::Condvar,
}

/// The word itself, for loads, stores and compare-exchanges.
impl Deref for Futex {
    type Target = AtomicU32;
    #[inline]
    fn deref(&self) -> &AtomicU32 {
        &self.word
    }
}

impl Futex {
    pub fn new(value: u32) -> Futex {
        Futex {
            word: AtomicU32::new(value),
            #[cfg(loom)]
            sleep: loom::sync::Mutex::new(()),
            #[cfg(loom)]
            woken: loom::sync::Condvar::new(),
        }
    }
}

#[cfg(all(target_os = "linux", not(loom)))]
impl Futex {
    /// Sleeps while the word is `expected`, until woken or `deadline`. May
    /// return early (the caller looks again).
    pub fn wait(&self, expected: u32, deadline: Option<Instant>) {
        let timeout = match deadline {
            None => None,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return;
                }
                Some(libc::timespec {
                    tv_sec: left.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
                    tv_nsec: left.subsec_nanos() as _,
                })
            }
        };
        let timeout_ptr = timeout
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // Errors (EAGAIN, EINTR, ETIMEDOUT) all mean "look again".
        // SAFETY: the word is a live u32 for the call; FUTEX_WAIT reads it atomically.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                self.word.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                expected,
                timeout_ptr,
            );
        }
    }

    /// Wakes at most `n` threads sleeping in `wait`.
    pub fn wake(&self, n: i32) {
        // SAFETY: FUTEX_WAKE only uses the address as a key.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                self.word.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                n,
            );
        }
    }
}

#[cfg(all(not(target_os = "linux"), not(loom)))]
impl Futex {
    pub fn wait(&self, expected: u32, deadline: Option<Instant>) {
        use super::shim::Ordering;
        use std::time::Duration;
        if self.word.load(Ordering::Acquire) != expected {
            return;
        }
        let mut nap = Duration::from_micros(50);
        if let Some(d) = deadline {
            nap = nap.min(d.saturating_duration_since(Instant::now()));
        }
        std::thread::sleep(nap);
    }

    pub fn wake(&self, _n: i32) {}
}

#[cfg(loom)]
impl Futex {
    /// A model has no clock: a wait with a deadline returns at once, as if
    /// it had timed out (callers look again, then see their deadline).
    pub fn wait(&self, expected: u32, deadline: Option<Instant>) {
        let g = self.sleep.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.word.load(super::shim::Ordering::SeqCst) != expected || deadline.is_some() {
            return;
        }
        drop(self.woken.wait(g));
    }

    pub fn wake(&self, n: i32) {
        let _g = self.sleep.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if n == 1 {
            self.woken.notify_one();
        } else {
            self.woken.notify_all();
        }
    }
}
