//! Exclusive, re-entrant use of one resource by one thread at a time, the
//! others waiting for it, and the life cycle around it: built by one
//! thread, then owned, then closed. It is an mtstates state's call queue;
//! the resource is the state's interpreter.
//!
//! The lock guards the flags and is held for a few instructions only, never
//! while the resource is in use and never while it is closed: exclusive
//! use is the *busy* flag (the id of the using thread, with a nesting depth
//! for calls that come back on that thread), so a call may run for as long
//! as it likes while other threads look the gate up or wait with a timeout.
//! Waiting is the group protocol of `core::lock` (an event counter that
//! every change advances). Threads are named by the caller's ids (never 0).

use super::lock::{EventCount, Lock, LockGuard, Sleepers};
use super::time::Wait;
use std::time::Instant;

struct Flags<T> {
    resource: Option<T>,
    /// Construction finished successfully.
    constructed: bool,
    /// Closed, or construction failed: entering fails. The resource may
    /// still exist while a call runs (the last `leave` hands it out).
    closed: bool,
    /// The thread using the resource (0 = idle).
    busy: u64,
    /// Nested uses on the busy thread.
    depth: usize,
    /// Owning references; the last one going closes the gate.
    owners: usize,
    /// Threads asleep on `changed`: wake-ups (a futex call each) are
    /// skipped when none sleep, which is the common case of every call.
    sleepers: Sleepers,
}

pub struct Gate<T> {
    flags: Lock<Flags<T>>,
    /// Counts changes of `flags` that waiters care about.
    changed: EventCount,
}

/// Why a thread could not enter.
#[derive(Debug, PartialEq)]
pub enum Enter {
    Closed,
    Timeout,
}

/// Outcome of waiting for another thread's construction.
#[derive(Debug, PartialEq)]
pub enum Construction {
    Done,
    Failed,
    /// The construction runs on this very thread (waiting would deadlock).
    OwnThread,
}

/// `close` refused: the resource is in use (on any thread).
#[derive(Debug, PartialEq)]
pub struct InUse;

/// What letting go of an owning reference did.
#[derive(Debug, PartialEq)]
pub enum Released<T> {
    /// Other owners remain (or it was closed already).
    Kept,
    /// That was the last owner and the resource is in use: closed now,
    /// handed out by the last `leave`.
    ClosedInUse,
    /// That was the last owner: closed now; the caller closes `T`.
    Closed(T),
}

impl<T: Copy> Gate<T> {
    /// A gate under construction by thread `builder` (busy on it).
    pub fn new(builder: u64) -> Gate<T> {
        Gate {
            flags: Lock::new(Flags {
                resource: None,
                constructed: false,
                closed: false,
                busy: builder,
                depth: 1,
                owners: 0,
                sleepers: Sleepers::new(),
            }),
            changed: EventCount::new(),
        }
    }

    /// Records a change and unlocks, waking the sleepers if any wait.
    fn changed_and_unlock(&self, mut g: LockGuard<'_, Flags<T>>) {
        let wake = self.changed.advance(&mut g.sleepers);
        self.changed.unlock_and_wake(g, wake);
    }

    /// Sleeps until a change or `deadline`; returns the guard again.
    fn wait<'a>(&'a self, g: LockGuard<'a, Flags<T>>, deadline: Option<Instant>) -> LockGuard<'a, Flags<T>> {
        let seen = self.changed.current();
        self.changed.sleep(g, |f| &mut f.sleepers, seen, deadline)
    }

    /// Constructed and not closed.
    pub fn is_open(&self) -> bool {
        let g = self.flags.lock();
        g.constructed && !g.closed
    }

    /// Not closed (possibly under construction).
    pub fn is_live(&self) -> bool {
        !self.flags.lock().closed
    }

    /// Construction succeeded: the gate opens, idle, with one owner (the
    /// reference about to be returned).
    pub fn finish(&self, resource: T) {
        let mut g = self.flags.lock();
        g.resource = Some(resource);
        g.constructed = true;
        g.busy = 0;
        g.depth = 0;
        g.owners += 1;
        self.changed_and_unlock(g);
    }

    /// Construction failed (the caller has disposed of the resource).
    pub fn fail(&self) {
        let mut g = self.flags.lock();
        g.closed = true;
        g.busy = 0;
        g.depth = 0;
        self.changed_and_unlock(g);
    }

    /// Waits (as thread `me`) until the construction has ended.
    pub fn wait_constructed(&self, me: u64) -> Construction {
        let mut g = self.flags.lock();
        loop {
            if g.closed {
                return Construction::Failed;
            }
            if g.constructed {
                return Construction::Done;
            }
            if g.busy == me {
                return Construction::OwnThread;
            }
            g = self.wait(g, None);
        }
    }

    /// A new owning reference; false if closed or not constructed.
    pub fn add_owner(&self) -> bool {
        let mut g = self.flags.lock();
        if g.closed || !g.constructed {
            return false;
        }
        g.owners += 1;
        true
    }

    /// An owning reference is gone; the last one closes the gate.
    pub fn release_owner(&self) -> Released<T> {
        let mut g = self.flags.lock();
        g.owners = g.owners.saturating_sub(1);
        if g.owners > 0 || g.closed {
            return Released::Kept;
        }
        g.closed = true;
        let released = match g.busy {
            0 => g.resource.take().map_or(Released::Kept, Released::Closed),
            _ => Released::ClosedInUse,
        };
        self.changed_and_unlock(g);
        released
    }

    /// Closes an idle gate: Ok(Some(resource)) for the caller to close,
    /// Ok(None) if it was closed already.
    pub fn close(&self) -> Result<Option<T>, InUse> {
        let mut g = self.flags.lock();
        if g.closed {
            return Ok(None);
        }
        if g.busy != 0 {
            return Err(InUse);
        }
        g.closed = true;
        let resource = g.resource.take();
        self.changed_and_unlock(g);
        Ok(resource)
    }

    /// Takes the resource for thread `me`. A thread already inside enters
    /// again at once (nested); others wait per `how`: `TryOnce` gives up
    /// if the flags are locked, `TryOnce` and `Poll` if the gate is busy,
    /// `Until` at the deadline. A thread that waited sees a close that
    /// happened meanwhile.
    pub fn enter(&self, how: Wait, me: u64) -> Result<T, Enter> {
        // Poll takes the lock even when it is held: it is held for a few
        // instructions only, and another thread merely looking the gate up
        // (or dropping a reference) must not make an idle gate look busy.
        let mut g = match how {
            Wait::TryOnce => self.flags.try_lock().ok_or(Enter::Timeout)?,
            _ => self.flags.lock(),
        };
        loop {
            let resource = match (g.closed, g.resource) {
                (false, Some(r)) => r,
                _ => return Err(Enter::Closed),
            };
            if g.busy == me || g.busy == 0 {
                g.busy = me;
                g.depth += 1;
                return Ok(resource);
            }
            g = match how {
                Wait::Poll | Wait::TryOnce => return Err(Enter::Timeout),
                Wait::Forever => self.wait(g, None),
                Wait::Until(deadline) => {
                    let g2 = self.wait(g, Some(deadline));
                    let expired = Instant::now() >= deadline;
                    if expired && g2.busy != 0 && g2.busy != me && !g2.closed {
                        return Err(Enter::Timeout);
                    }
                    g2
                }
            };
        }
    }

    /// Ends a use; the outermost one frees the gate and wakes the waiters.
    /// Returns the resource if the gate was closed meanwhile (its last
    /// owner went): the caller closes it.
    pub fn leave(&self) -> Option<T> {
        let mut g = self.flags.lock();
        g.depth = g.depth.saturating_sub(1);
        if g.depth > 0 {
            return None;
        }
        g.busy = 0;
        let resource = if g.closed { g.resource.take() } else { None };
        self.changed_and_unlock(g);
        resource
    }

    /// The resource, through exclusive ownership (the last reference is
    /// gone: nobody else can reach it).
    pub fn take_resource(&mut self) -> Option<T> {
        self.flags.get_mut().resource.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn open_gate() -> Gate<u32> {
        let gate = Gate::new(1);
        gate.finish(42);
        gate
    }

    #[test]
    fn nested_calls_keep_it_busy_until_the_outermost_leaves() {
        let gate = open_gate();
        assert_eq!(gate.enter(Wait::Forever, 7), Ok(42));
        assert_eq!(gate.enter(Wait::TryOnce, 7), Ok(42), "nested, on the same thread");
        assert_eq!(gate.enter(Wait::Poll, 8), Err(Enter::Timeout), "busy on another thread");
        assert_eq!(gate.close(), Err(InUse), "close while in use");
        assert_eq!(gate.leave(), None);
        assert_eq!(
            gate.enter(Wait::Poll, 8),
            Err(Enter::Timeout),
            "still inside the outer call"
        );
        assert_eq!(gate.leave(), None);
        assert_eq!(gate.enter(Wait::Poll, 8), Ok(42));
        assert_eq!(gate.leave(), None);
        assert_eq!(gate.close(), Ok(Some(42)));
        assert_eq!(gate.close(), Ok(None));
        assert_eq!(gate.enter(Wait::Poll, 8), Err(Enter::Closed));
    }

    #[test]
    fn the_last_owner_going_during_a_call_closes_it_at_the_end() {
        let gate = open_gate();
        assert!(gate.add_owner());
        assert_eq!(gate.enter(Wait::Forever, 7), Ok(42));
        assert_eq!(gate.release_owner(), Released::Kept);
        assert_eq!(gate.release_owner(), Released::ClosedInUse);
        assert!(!gate.is_open() && !gate.is_live() && !gate.add_owner());
        assert_eq!(gate.leave(), Some(42), "the last leave hands the resource out");
        let mut idle = open_gate();
        assert_eq!(idle.release_owner(), Released::Closed(42));
        assert_eq!(idle.take_resource(), None);
    }

    #[test]
    fn a_construction_ends_for_its_waiters() {
        let gate = Arc::new(Gate::<u32>::new(1));
        assert!(gate.is_live() && !gate.is_open());
        assert_eq!(gate.wait_constructed(1), Construction::OwnThread);
        let waiter = {
            let gate = gate.clone();
            std::thread::spawn(move || gate.wait_constructed(2))
        };
        gate.fail();
        assert_eq!(waiter.join().unwrap(), Construction::Failed);
        assert!(!gate.add_owner());
    }

    #[test]
    fn a_timed_wait_gives_up_at_its_deadline() {
        let gate = Arc::new(open_gate());
        assert_eq!(gate.enter(Wait::Forever, 7), Ok(42));
        let t0 = Instant::now();
        let until = Wait::Until(t0 + Duration::from_millis(20));
        let other = {
            let gate = gate.clone();
            std::thread::spawn(move || gate.enter(until, 8))
        };
        assert_eq!(other.join().unwrap(), Err(Enter::Timeout));
        assert!(t0.elapsed() >= Duration::from_millis(20));
        assert_eq!(gate.leave(), None);
    }

    #[test]
    fn threads_take_turns_and_every_call_runs() {
        let rounds = if cfg!(miri) { 50 } else { 5_000 };
        let gate = Arc::new(open_gate());
        let inside = Arc::new(AtomicUsize::new(0));
        let calls = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let (gate, inside, calls) = (gate.clone(), inside.clone(), calls.clone());
                std::thread::spawn(move || {
                    for _ in 0..rounds {
                        assert_eq!(gate.enter(Wait::Forever, 10 + t), Ok(42));
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two threads inside");
                        calls.fetch_add(1, Ordering::Relaxed);
                        inside.fetch_sub(1, Ordering::SeqCst);
                        assert_eq!(gate.leave(), None);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(calls.load(Ordering::Relaxed), 4 * rounds);
    }
}
