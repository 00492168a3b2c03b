//! The shared state object: one Lua interpreter that any thread may call
//! into, one call (or one thread's nest of calls) at a time.
//!
//! Who may use the interpreter when, and when it is closed, is the state's
//! `Gate` (core::gate, Lua-free and model-checked). `interrupt()` reaches
//! the interpreter without the gate: through `hook_target`, guarded
//! against a concurrent close by `hook_users`.

pub use crate::core::gate::{Construction, Enter};
use crate::core::gate::{Gate, Released};
use crate::core::registry::{IdCounter, Registered, Registry};
use crate::core::time::Wait;
use crate::ffi;
use crate::lua::Lua;
use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

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

// SAFETY: the interpreter pointer is only used by the thread that holds the
// gate (or, for closing, by the thread the gate handed it out to).
unsafe impl Send for Interp {}

pub struct State {
    id: u64,
    name: Option<Box<[u8]>>,
    gate: Gate<Interp>,
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
        if let Some(interp) = self.state.gate.leave() {
            self.state.shut(interp);
        }
    }
}

impl State {
    /// A new state record, busy on the calling thread (its construction).
    pub fn new(name: Option<&[u8]>) -> Arc<State> {
        Arc::new(State {
            id: STATE_IDS.next_id(),
            name: name.map(Box::from),
            gate: Gate::new(current_thread()),
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

    /// Constructed and not closed: what `state()` can find.
    pub fn is_visible(&self) -> bool {
        self.gate.is_open()
    }

    /// Not closed (possibly under construction): what `singleton()` finds.
    pub fn is_live(&self) -> bool {
        self.gate.is_live()
    }

    /// Construction succeeded: the state becomes usable and findable, with
    /// one owner (the reference about to be returned).
    pub fn finish(&self, interp: Interp) {
        self.hook_target.store(interp.lua.raw(), Ordering::SeqCst);
        self.gate.finish(interp);
    }

    /// Construction failed (its interpreter is already closed).
    pub fn fail(&self) {
        self.gate.fail();
    }

    /// Waits until another thread's construction of this state has ended.
    pub fn wait_constructed(&self) -> Construction {
        self.gate.wait_constructed(current_thread())
    }

    /// A new owning reference; false if the state is closed.
    pub fn add_owner(&self) -> bool {
        self.gate.add_owner()
    }

    /// An owning reference is gone. The last one closes the state: now if
    /// it is idle, else when the running call ends.
    pub fn release_owner(&self) {
        match self.gate.release_owner() {
            Released::Kept => {}
            Released::ClosedInUse => self.hook_target.store(std::ptr::null_mut(), Ordering::SeqCst),
            Released::Closed(interp) => self.shut(interp),
        }
    }

    /// `state:close()`: Err(()) if a call is running (on any thread).
    pub fn close(&self) -> Result<(), ()> {
        if let Some(interp) = self.gate.close().map_err(drop)? {
            self.shut(interp);
        }
        Ok(())
    }

    /// Closes an interpreter the gate handed out (no lock held: `__gc`
    /// metamethods run here), once no `interrupt()` is touching it.
    fn shut(&self, interp: Interp) {
        self.hook_target.store(std::ptr::null_mut(), Ordering::SeqCst);
        while self.hook_users.load(Ordering::SeqCst) != 0 {
            std::thread::yield_now();
        }
        // SAFETY: the gate handed the interpreter out once, closed and idle,
        // so no thread uses it and no one else can reach it any more.
        unsafe { interp.lua.close() };
    }

    /// Takes the interpreter for a call. A thread already inside the state
    /// enters again at once (nested); others wait per `how` (see `Gate::enter`).
    pub fn enter(&self, how: Wait) -> Result<Busy<'_>, Enter> {
        let interp = self.gate.enter(how, current_thread())?;
        Ok(Busy { state: self, interp })
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
        if let Some(interp) = self.gate.take_resource() {
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
