//! The shared state object: one Lua interpreter that any thread may call
//! into, one call (or one thread's nest of calls) at a time.
//!
//! Locking: `inner` guards the flags and is only ever held for a few
//! instructions, never while Lua code runs and never while an interpreter
//! is closed (closing runs `__gc` metamethods, which may reach other states).
//! Exclusive use of the interpreter is the *busy* flag (`busy` = the id of
//! the owning thread, `depth` = nesting on that thread), not the mutex.
//! `interrupt()` reaches the interpreter without taking `inner`: through
//! `hook_target`, guarded against a concurrent close by `hook_users`.

use crate::core::lock::{EventCount, Lock, LockGuard, Sleepers};
use crate::core::registry::{IdCounter, Registered, Registry};
use crate::core::time::Wait;
use crate::ffi;
use crate::lua::Lua;
use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// States have their own id counter (independent of mtmsg's).
pub static STATE_IDS: IdCounter = IdCounter::new();
pub static STATES: Registry<State> = Registry::new();

/// Held while a new state is registered and while `singleton()` looks a
/// name up, so that a singleton search and the registration of the state
/// it then creates are one step. Never held while waiting or running Lua.
pub static CREATION_LOCK: Mutex<()> = Mutex::new(());

/// The registry key of a state's own id inside its interpreter.
pub const ID_KEY: &std::ffi::CStr = c"mtstates.id";

pub const INTERRUPTED: &str = "mtstates.error.interrupted";

// ---- thread identity ----------------------------------------------------------

static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static THREAD_ID: Cell<u64> = const { Cell::new(0) };
}

/// A process-unique id of the calling thread (never 0, never reused, so a
/// finished thread's id cannot be mistaken for a new thread's).
pub fn current_thread() -> u64 {
    THREAD_ID.with(|t| {
        if t.get() == 0 {
            t.set(NEXT_THREAD.fetch_add(1, Ordering::Relaxed));
        }
        t.get()
    })
}

// ---- the state ------------------------------------------------------------------

/// A constructed interpreter and the registry reference of its callback.
#[derive(Clone, Copy)]
pub struct Interp {
    pub lua: Lua,
    pub callback: c_int,
}

struct Inner {
    interp: Option<Interp>,
    /// Setup finished successfully: findable by `state()`.
    constructed: bool,
    /// Closed (or construction failed): unfindable, calls fail. The
    /// interpreter may still exist while a call runs (pending close).
    closed: bool,
    /// Thread owning the interpreter (0 = idle).
    busy: u64,
    /// Nested calls on the busy thread.
    depth: usize,
    /// Owning Lua references.
    owners: usize,
    /// Threads asleep on `changed`: wake-ups (a futex call each) are
    /// skipped when none sleep, which is the common case of every call.
    sleepers: Sleepers,
}

// SAFETY: the interpreter pointer is only used by the thread that holds the
// busy flag (or, for closing, by the thread that took it out of `interp`).
unsafe impl Send for Inner {}

pub struct State {
    id: u64,
    name: Option<Box<[u8]>>,
    inner: Lock<Inner>,
    /// Counts changes of `inner` that waiters care about (see core::lock).
    changed: EventCount,
    /// The interpreter for `interrupt()`; null once closed.
    hook_target: AtomicPtr<ffi::lua_State>,
    /// `interrupt()` calls currently using `hook_target`.
    hook_users: AtomicUsize,
}

impl Registered for State {
    fn id(&self) -> u64 {
        self.id
    }

    fn name(&self) -> Option<&[u8]> {
        self.name.as_deref()
    }
}

/// Why a call could not enter the state.
#[derive(Debug, PartialEq)]
pub enum Enter {
    Closed,
    Timeout,
}

/// Outcome of waiting for another thread's construction.
pub enum Construction {
    Done,
    Failed,
    /// The construction runs on this very thread (waiting would deadlock).
    OwnThread,
}

/// Interrupt mode of `state:interrupt([flag])`.
#[derive(Clone, Copy)]
pub enum Interrupt {
    Once,
    Always,
    Off,
}

/// Exclusive use of the interpreter; leaving happens on drop.
pub struct Busy<'a> {
    state: &'a State,
    pub interp: Interp,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.state.leave();
    }
}

impl State {
    /// A new state record, busy on the calling thread (its construction).
    pub fn new(name: Option<&[u8]>) -> Arc<State> {
        Arc::new(State {
            id: STATE_IDS.next_id(),
            name: name.map(Box::from),
            inner: Lock::new(Inner {
                interp: None,
                constructed: false,
                closed: false,
                busy: current_thread(),
                depth: 1,
                owners: 0,
                sleepers: Sleepers::new(),
            }),
            changed: EventCount::new(),
            hook_target: AtomicPtr::new(std::ptr::null_mut()),
            hook_users: AtomicUsize::new(0),
        })
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn name(&self) -> Option<&[u8]> {
        self.name.as_deref()
    }

    fn lock(&self) -> LockGuard<'_, Inner> {
        self.inner.lock()
    }

    /// Counts a change; true if sleepers must be woken (by `wake_after`).
    fn change(&self, g: &mut Inner) -> bool {
        self.changed.advance(&mut g.sleepers)
    }

    /// Unlocks, then wakes the sleepers if `change` said so.
    fn unlock_and_wake(&self, g: LockGuard<'_, Inner>, wake: bool) {
        self.changed.unlock_and_wake(g, wake);
    }

    /// Sleeps until a change or `deadline`; returns the guard again.
    fn wait<'a>(&'a self, g: LockGuard<'a, Inner>, deadline: Option<Instant>) -> LockGuard<'a, Inner> {
        let seen = self.changed.current();
        self.changed.sleep(g, |i| &mut i.sleepers, seen, deadline)
    }

    /// Constructed and not closed: what `state()` can find.
    pub fn is_visible(&self) -> bool {
        let g = self.lock();
        g.constructed && !g.closed
    }

    /// Not closed (possibly under construction): what `singleton()` finds.
    pub fn is_live(&self) -> bool {
        !self.lock().closed
    }

    /// Construction succeeded: the state becomes usable and findable, with
    /// one owner (the reference about to be returned).
    pub fn finish(&self, interp: Interp) {
        let mut g = self.lock();
        g.interp = Some(interp);
        g.constructed = true;
        g.busy = 0;
        g.depth = 0;
        g.owners += 1;
        self.hook_target.store(interp.lua.raw(), Ordering::SeqCst);
        let wake = self.change(&mut g);
        self.unlock_and_wake(g, wake);
    }

    /// Construction failed (its interpreter is already closed).
    pub fn fail(&self) {
        let mut g = self.lock();
        g.closed = true;
        g.busy = 0;
        g.depth = 0;
        let wake = self.change(&mut g);
        self.unlock_and_wake(g, wake);
    }

    /// Waits until another thread's construction of this state has ended.
    pub fn wait_constructed(&self) -> Construction {
        let me = current_thread();
        let mut g = self.lock();
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

    /// A new owning reference; false if the state is closed.
    pub fn add_owner(&self) -> bool {
        let mut g = self.lock();
        if g.closed || !g.constructed {
            return false;
        }
        g.owners += 1;
        true
    }

    /// An owning reference is gone. The last one closes the state: now if
    /// it is idle, else when the running call ends.
    pub fn release_owner(&self) {
        let mut g = self.lock();
        g.owners = g.owners.saturating_sub(1);
        if g.owners > 0 || g.closed {
            return;
        }
        let wake = self.mark_closed(&mut g);
        let to_close = if g.busy == 0 { g.interp.take() } else { None };
        self.unlock_and_wake(g, wake);
        if let Some(interp) = to_close {
            self.shut(interp);
        }
    }

    /// `state:close()`: Err(()) if a call is running (on any thread).
    pub fn close(&self) -> Result<(), ()> {
        let mut g = self.lock();
        if g.closed {
            return Ok(());
        }
        if g.busy != 0 {
            return Err(());
        }
        let wake = self.mark_closed(&mut g);
        let to_close = g.interp.take();
        self.unlock_and_wake(g, wake);
        if let Some(interp) = to_close {
            self.shut(interp);
        }
        Ok(())
    }

    /// Returns whether sleepers must be woken (see `change`).
    fn mark_closed(&self, g: &mut Inner) -> bool {
        g.closed = true;
        self.hook_target.store(std::ptr::null_mut(), Ordering::SeqCst);
        self.change(g)
    }

    /// Closes an interpreter taken out of `inner` (no lock held: `__gc`
    /// metamethods run here), once no `interrupt()` is touching it.
    fn shut(&self, interp: Interp) {
        self.hook_target.store(std::ptr::null_mut(), Ordering::SeqCst);
        while self.hook_users.load(Ordering::SeqCst) != 0 {
            std::thread::yield_now();
        }
        // SAFETY: the interpreter was taken out of `inner` while idle, so no
        // thread uses it and no one else can reach it any more.
        unsafe { interp.lua.close() };
    }

    /// Takes the interpreter for a call. A thread already inside the state
    /// enters again at once (nested); others wait per `how`: `Poll` gives up
    /// at once if the lock or the state is busy, `Until` at the deadline.
    /// A caller that waited re-checks whether the state was closed meanwhile.
    pub fn enter(&self, how: Wait) -> Result<Busy<'_>, Enter> {
        let me = current_thread();
        let mut g = match how {
            Wait::Poll | Wait::TryOnce => self.inner.try_lock().ok_or(Enter::Timeout)?,
            _ => self.lock(),
        };
        loop {
            let interp = match (g.closed, g.interp) {
                (false, Some(interp)) => interp,
                _ => return Err(Enter::Closed),
            };
            if g.busy == me {
                g.depth += 1;
                return Ok(Busy { state: self, interp });
            }
            if g.busy == 0 {
                g.busy = me;
                g.depth = 1;
                return Ok(Busy { state: self, interp });
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

    /// Ends a call; the outermost one frees the state, closes it if its last
    /// owner went meanwhile, and wakes the waiters.
    fn leave(&self) {
        let mut g = self.lock();
        g.depth = g.depth.saturating_sub(1);
        if g.depth > 0 {
            return;
        }
        g.busy = 0;
        let wake = self.change(&mut g);
        let to_close = if g.closed { g.interp.take() } else { None };
        self.unlock_and_wake(g, wake);
        if let Some(interp) = to_close {
            self.shut(interp);
        }
    }

    /// `state:interrupt(...)`: installs or removes the interrupt hook from
    /// any thread without waiting for a running call. Err(()) if closed.
    pub fn interrupt(&self, mode: Interrupt) -> Result<(), ()> {
        self.hook_users.fetch_add(1, Ordering::SeqCst);
        let target = self.hook_target.load(Ordering::SeqCst);
        let r = if target.is_null() {
            Err(())
        } else {
            let l = Lua(target);
            let mask = ffi::LUA_MASKCALL | ffi::LUA_MASKRET | ffi::LUA_MASKCOUNT;
            match mode {
                Interrupt::Once => l.set_hook(Some(hook_once), mask, 1),
                Interrupt::Always => l.set_hook(Some(hook_always), mask, 1),
                Interrupt::Off => l.set_hook(None, 0, 0),
            }
            Ok(())
        };
        self.hook_users.fetch_sub(1, Ordering::SeqCst);
        r
    }
}

impl Drop for State {
    fn drop(&mut self) {
        STATES.remove(self.id, self.name.as_deref());
        let inner = self.inner.get_mut();
        if let Some(interp) = inner.interp.take() {
            // Unreachable in practice (the last owner closes it first).
            // SAFETY: the last reference is gone: nobody uses the interpreter.
            unsafe { interp.lua.close() };
        }
    }
}

/// Raises the interrupt error. Only plain values are alive here.
unsafe fn raise_interrupted(l: *mut ffi::lua_State) {
    Lua(l).push_str(INTERRUPTED);
    // SAFETY: called from a hook of a running state; the error is on top.
    unsafe { ffi::lua_error(l) };
}

/// Interrupt once: removes itself, then raises.
unsafe extern "C-unwind" fn hook_once(l: *mut ffi::lua_State, _ar: *mut c_void) {
    Lua(l).set_hook(None, 0, 0);
    // SAFETY: l is the running state that called this hook.
    unsafe { raise_interrupted(l) }
}

/// Interrupt at every event until removed.
unsafe extern "C-unwind" fn hook_always(l: *mut ffi::lua_State, _ar: *mut c_void) {
    // SAFETY: l is the running state that called this hook.
    unsafe { raise_interrupted(l) }
}
