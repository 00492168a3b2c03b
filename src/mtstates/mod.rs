//! The `mtstates` Lua module: Lua states that any thread can call into.
//!
//! `state` is the shared object (interpreter, busy flag, owners, close and
//! interrupt), `setup` creates states, `invoke` runs their callback,
//! `transfer` copies values between interpreters, `object` is the
//! `mtstates.state` userdata with its methods, `errors` the error values.
//! The Notify and Receiver C APIs of states are in `crate::capi::state`.

mod errors;
mod invoke;
mod object;
mod setup;
mod state;
mod transfer;

pub use invoke::{Args, CallError};
pub use object::test as state_userdata;
pub use state::State;

use crate::class;
use crate::core::registry::Found;
use crate::core::sync::lock;
use crate::core::time::Wait;
use crate::ffi;
use crate::lua::{LResult, Lua};
use crate::lua_fn;
use crate::mtmsg::{Key, key_arg, lookup_error, set_module_info};
use state::{CREATION_LOCK, Construction, ID_KEY, STATES};
use std::sync::Arc;

pub const VERSION: &str = concat!("mtstates ", env!("CARGO_PKG_VERSION"));

pub fn open(l: Lua) -> LResult {
    object::register(l);
    l.new_table(0, 8);
    l.set_functions(&[
        (c"newstate", newstate),
        (c"state", state_lookup),
        (c"singleton", singleton),
        (c"id", id_fn),
        (c"type", type_fn),
    ]);
    set_module_info(l, "mtstates", &errors::NAMES, VERSION);
    Ok(1)
}

lua_fn! { fn newstate(l) {
    let (name, setup) = setup::parse_newstate(l)?;
    let state = setup::register(name.as_deref());
    setup::create(l, state, &setup)
}}

/// A lookup error of `state()` / `singleton()`.
fn not_found(key: &Key, ambiguous: bool) -> crate::lua::Error {
    lookup_error(
        "mtstates",
        if ambiguous { "ambiguous_name" } else { "unknown_object" },
        "state",
        key,
    )
}

/// A constructed, open state by id or name.
fn find_visible(key: &Key) -> LResult<Arc<State>> {
    match *key {
        Key::Id(id) => STATES
            .find_id(id, State::is_visible)
            .ok_or_else(|| not_found(key, false)),
        Key::Name(name) => match STATES.find_name(name, State::is_visible) {
            Found::One(s) => Ok(s),
            Found::None => Err(not_found(key, false)),
            Found::Ambiguous => Err(not_found(key, true)),
        },
    }
}

lua_fn! { fn state_lookup(l) {
    let key = key_arg(l, 1, "state")?;
    let s = find_visible(&key)?;
    object::push(l, s, false);
    Ok(1)
}}

lua_fn! {
/// `singleton(name|id, [libs,] setup, ...)`: an owning reference to the
/// state with this name, created from the other arguments if there is
/// none. Waiting for another thread's construction happens without any
/// global lock; if that construction fails, the search starts again (and
/// this call may create the state itself).
fn singleton(l) {
    let key = key_arg(l, 1, "state")?;
    let name = match key {
        Key::Id(_) => {
            let s = find_visible(&key)?;
            if !s.add_owner() {
                return Err(not_found(&key, false));
            }
            object::push(l, s, true);
            return Ok(1);
        }
        Key::Name(name) => name,
    };
    // Parsed up front (nothing is locked yet), reported only when needed.
    let mut parsed = Some(setup::parse_setup(l, 2));
    loop {
        let g = lock(&CREATION_LOCK);
        let found = match STATES.find_name(name, State::is_live) {
            Found::Ambiguous => {
                drop(g);
                return Err(not_found(&key, true));
            }
            Found::One(s) => s,
            Found::None => {
                let setup = match parsed.take() {
                    Some(Ok(setup)) => setup,
                    Some(Err(e)) => return Err(e),
                    None => return Err(crate::lua::Error::plain("mtstates: internal error (setup)")),
                };
                let s = State::new(Some(name));
                STATES.insert(&s);
                drop(g);
                return setup::create(l, s, &setup);
            }
        };
        drop(g);
        match found.wait_constructed() {
            Construction::Done => {
                if found.add_owner() {
                    object::push(l, found, true);
                    return Ok(1);
                }
            }
            // decisions.md: the waiter raises (it neither hangs nor runs
            // its own setup behind the failed one's back).
            Construction::Failed => {
                return Err(errors::invoking_state(Some(&found), b"state construction failed in another thread"));
            }
            Construction::OwnThread => return Err(errors::concurrent_access(&found)),
        }
    }
}}

lua_fn! { fn id_fn(l) {
    if l.get_registry_field(ID_KEY) != ffi::LUA_TNUMBER || !l.is_integer(-1) {
        l.pop(1);
        l.push_nil();
    }
    Ok(1)
}}

lua_fn! { fn type_fn(l) { class::type_name(l) }}

/// `toNotifier` / `toReceiver`: the state behind a `mtstates.state`
/// userdata, NULL for anything else.
pub fn to_object(l: Lua, idx: std::ffi::c_int) -> *const State {
    state_userdata(l, idx).unwrap_or(std::ptr::null())
}

/// Runs the state callback for a C API caller on this thread, waiting
/// without timeout (nested if this thread is inside the state already).
/// Returns the C API code: 0 ok, 1 closed, 990 error (text to `report`),
/// 999 stack cannot grow.
pub fn deliver(s: &State, args: &[u8], report: impl FnOnce(&[u8])) -> i32 {
    let busy = match s.enter(Wait::Forever) {
        Ok(busy) => busy,
        Err(_) => return 1,
    };
    let r = invoke::call(&busy, Args::Encoded(args), None);
    drop(busy);
    match r {
        Ok(_) => 0,
        Err(CallError::Stack) => 999,
        Err(CallError::Arg(_, text) | CallError::Result(_, text)) => {
            report(text.as_bytes());
            990
        }
        Err(CallError::Runtime(text)) => {
            report(&text);
            990
        }
    }
}
