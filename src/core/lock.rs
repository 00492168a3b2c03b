//! The lock and the event counter of a buffer group, on futexes.
//!
//! Why not std's `Mutex` and `Condvar`: a contended std mutex spins before
//! it sleeps. A producer and a consumer that meet on one buffer then take
//! turns message by message, and every turn moves the lock's and the
//! queue's cache lines between cores: a 2-thread stream ran at a quarter of
//! the original module's speed (bench/README, "Locking"). This lock sleeps
//! at once when it is taken, as glibc's default mutex does, so one side runs
//! alone on warm caches while the other sleeps, and the queue is handed over
//! in batches.
//!
//! Waiting for a change is a futex wait on the group's event counter, which
//! every change increments under the lock: a waiter that saw value `v`
//! sleeps only while the counter is still `v`, so no wake-up is lost between
//! its last look and its sleep (`core::models` checks this with loom).

use super::futex::Futex;
use super::shim::{AtomicU32, Ordering, UnsafeCell, skip_redundant_wakes};
use std::ops::{Deref, DerefMut};
use std::time::Instant;

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
/// Locked, and a thread may be asleep waiting for it.
const CONTENDED: u32 = 2;

pub struct Lock<T> {
    state: Futex,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through a guard, and one guard exists
// at a time (the state word); T moves between threads with the lock.
unsafe impl<T: Send> Sync for Lock<T> {}
// SAFETY: as above; owning the lock owns the value.
unsafe impl<T: Send> Send for Lock<T> {}

pub struct LockGuard<'a, T> {
    lock: &'a Lock<T>,
}

impl<T> Lock<T> {
    pub fn new(value: T) -> Lock<T> {
        Lock {
            state: Futex::new(UNLOCKED),
            value: UnsafeCell::new(value),
        }
    }

    pub fn lock(&self) -> LockGuard<'_, T> {
        if self
            .state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        LockGuard { lock: self }
    }

    /// The value, through exclusive ownership of the lock.
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` excludes every guard and every other access.
        self.value.with_mut(|p| unsafe { &mut *p })
    }

    /// None if another thread holds the lock.
    pub fn try_lock(&self) -> Option<LockGuard<'_, T>> {
        self.state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| LockGuard { lock: self })
    }

    #[cold]
    fn lock_contended(&self) {
        // Marked CONTENDED, the holder wakes a sleeper when it unlocks. A
        // thread that gets the lock this way keeps the mark (there may be
        // other sleepers): one extra wake call at worst.
        while self.state.swap(CONTENDED, Ordering::Acquire) != UNLOCKED {
            self.state.wait(CONTENDED, None);
        }
    }
}

impl<T> Deref for LockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard is the only one (see `Lock`).
        self.lock.value.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for LockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard is the only one, and it is borrowed mutably.
        self.lock.value.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for LockGuard<'_, T> {
    fn drop(&mut self) {
        if self.lock.state.swap(UNLOCKED, Ordering::Release) == CONTENDED {
            self.lock.state.wake(1);
        }
    }
}

/// A counter of changes that threads can sleep on until it moves.
///
/// Protocol (the owner's lock serializes it): a waiter reads `current()`
/// and registers in the owner's `Sleepers` under the lock, unlocks and
/// calls `wait`; a change calls `advance` under the lock and, if that says
/// so, `wake_all` after unlocking.
pub struct EventCount(Futex);

/// The threads asleep on an `EventCount`, kept under the owner's lock.
/// One wake call covers every sleeper registered before it, so later
/// changes skip the call (a futex syscall) until someone registers again:
/// a producer streaming to a sleeping consumer makes one call, not one per
/// message until the consumer is scheduled.
#[derive(Default)]
pub struct Sleepers {
    count: usize,
    /// A wake call was made after the latest registration.
    woken: bool,
}

impl Sleepers {
    pub const fn new() -> Sleepers {
        Sleepers { count: 0, woken: false }
    }

    pub fn register(&mut self) {
        self.count += 1;
        self.woken = false;
    }

    pub fn unregister(&mut self) {
        self.count -= 1;
    }
}

impl Default for EventCount {
    fn default() -> Self {
        EventCount::new()
    }
}

impl EventCount {
    pub fn new() -> EventCount {
        EventCount(Futex::new(0))
    }

    pub fn current(&self) -> u32 {
        self.0.load(Ordering::Acquire)
    }

    /// Counts one change; true if `wake_all` must follow (after unlocking).
    /// Callers serialize (they hold the owner's lock), so a plain store
    /// does: no locked instruction per message.
    #[must_use]
    pub fn advance(&self, sleepers: &mut Sleepers) -> bool {
        let next = self.0.load(Ordering::Relaxed).wrapping_add(1);
        self.0.store(next, Ordering::Release);
        let wake = sleepers.count > 0 && !(sleepers.woken && skip_redundant_wakes());
        sleepers.woken |= wake;
        wake
    }

    /// Wakes every thread sleeping in `wait`.
    pub fn wake_all(&self) {
        self.0.wake(i32::MAX);
    }

    /// Unlocks, then wakes the sleepers if `advance` said so: woken after
    /// the unlock, they do not find the lock taken.
    pub fn unlock_and_wake<T>(&self, g: LockGuard<'_, T>, wake: bool) {
        drop(g);
        if wake {
            self.wake_all();
        }
    }

    /// The waiting side of the protocol: registers in the owner's sleepers
    /// (found by `sleepers`) under the lock, unlocks, sleeps while the
    /// counter is `seen` (until woken or `deadline`), locks again and
    /// unregisters. A sleeper registered under the lock is seen by every
    /// later change, and its futex wait returns at once if one came already.
    pub fn sleep<'a, T>(
        &self,
        mut g: LockGuard<'a, T>,
        sleepers: fn(&mut T) -> &mut Sleepers,
        seen: u32,
        deadline: Option<Instant>,
    ) -> LockGuard<'a, T> {
        let lock = g.lock;
        sleepers(&mut g).register();
        drop(g);
        self.wait(seen, deadline);
        let mut g = lock.lock();
        sleepers(&mut g).unregister();
        g
    }

    /// Sleeps while the counter is `seen`, until woken or `deadline`. May
    /// return early (the caller looks again).
    pub fn wait(&self, seen: u32, deadline: Option<Instant>) {
        self.0.wait(seen, deadline);
    }

    /// The raw counter, for spinning on it.
    pub fn counter(&self) -> &AtomicU32 {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn the_lock_excludes_and_nothing_is_lost() {
        // Under Miri (interpreted) fewer rounds still contend many times.
        let rounds = if cfg!(miri) { 1_000 } else { 20_000 };
        let lock = Arc::new(Lock::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for _ in 0..rounds {
                        *lock.lock() += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*lock.lock(), 4 * rounds);
    }

    #[test]
    fn try_lock_fails_while_held() {
        let lock = Lock::new(());
        let g = lock.lock();
        assert!(lock.try_lock().is_none());
        drop(g);
        assert!(lock.try_lock().is_some());
    }

    #[test]
    fn a_waiter_wakes_on_advance_and_times_out_without() {
        let events = Arc::new(EventCount::new());
        let seen = events.current();
        let t0 = Instant::now();
        events.wait(seen, Some(t0 + Duration::from_millis(20)));
        assert!(t0.elapsed() >= Duration::from_millis(20));

        let sleepers = Arc::new(Lock::new(Sleepers::new()));
        sleepers.lock().register();
        let waker = {
            let (events, sleepers) = (events.clone(), sleepers.clone());
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(10));
                if events.advance(&mut sleepers.lock()) {
                    events.wake_all();
                }
            })
        };
        while events.current() == seen {
            events.wait(seen, None);
        }
        sleepers.lock().unregister();
        waker.join().unwrap();
    }

    #[test]
    fn one_wake_call_covers_the_sleepers_registered_before_it() {
        let events = EventCount::new();
        let mut sleepers = Sleepers::new();
        assert!(!events.advance(&mut sleepers), "nobody sleeps");
        sleepers.register();
        assert!(events.advance(&mut sleepers));
        assert!(!events.advance(&mut sleepers), "already woken");
        sleepers.register();
        assert!(events.advance(&mut sleepers), "a new sleeper needs a new call");
        sleepers.unregister();
        sleepers.unregister();
        assert!(!events.advance(&mut sleepers));
    }
}
