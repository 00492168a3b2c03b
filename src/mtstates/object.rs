//! `mtstates.state` userdata: a reference to a shared state, owning or not
//! (mtstates.md §8), with the state methods.

use super::errors::{self, CLASS_NAME};
use super::invoke::{self, Args, CallError, Results};
use super::state::{Enter, Interrupt, State};
use crate::class;
use crate::core::time::Wait;
use crate::ffi;
use crate::lua::{Error, LResult, Lua};
use crate::lua_fn;
use std::ffi::{CStr, c_int};
use std::sync::Arc;

pub const CLASS: &CStr = c"mtstates.state";

/// The userdata payload.
pub struct StateRef {
    /// From `Arc::into_raw` (one use count); null until filled and after __gc.
    state: *const State,
    owner: bool,
}

pub fn register(l: Lua) {
    class::register(
        l,
        CLASS,
        &[
            (c"id", id),
            (c"name", name),
            (c"call", call),
            (c"tcall", tcall),
            (c"interrupt", interrupt),
            (c"isowner", isowner),
            (c"close", close),
        ],
        &[(c"__gc", gc), (c"__tostring", tostring)],
        &[],
    );
    crate::capi::state::publish_all(l);
    l.pop(1);
}

/// Pushes a state userdata that references nothing yet.
pub fn push_empty(l: Lua) -> *mut StateRef {
    class::push_new(
        l,
        CLASS,
        StateRef {
            state: std::ptr::null(),
            owner: false,
        },
    )
}

/// Makes an empty reference point to `state` (taking over that Arc).
pub fn fill(r: &mut StateRef, state: Arc<State>, owner: bool) {
    r.state = Arc::into_raw(state);
    r.owner = owner;
}

/// Pushes a new reference to `state`. For owners the caller has counted
/// the owner already (`State::add_owner`).
pub fn push(l: Lua, state: Arc<State>, owner: bool) {
    let ud = push_empty(l);
    // SAFETY: ud is the userdata just pushed.
    fill(unsafe { &mut *ud }, state, owner);
}

/// The state behind a `mtstates.state` userdata at `idx` (metatable
/// checked against the registry), or None for any other value.
pub fn test(l: Lua, idx: c_int) -> Option<*const State> {
    let r = class::test::<StateRef>(l, idx, CLASS)?;
    (!r.state.is_null()).then_some(r.state)
}

fn this<'a>(l: Lua) -> LResult<(&'a StateRef, &'a State)> {
    let r = class::check::<StateRef>(l, 1, CLASS_NAME)?;
    // SAFETY: the userdata (argument 1) holds a use count for the call.
    let s = unsafe { r.state.as_ref() }.ok_or_else(|| Error::plain("mtstates: state reference already collected"))?;
    Ok((r, s))
}

lua_fn! { fn id(l) {
    let (_, s) = this(l)?;
    l.push_integer(s.id() as _);
    Ok(1)
}}

lua_fn! { fn name(l) {
    let (_, s) = this(l)?;
    Ok(match s.name() {
        Some(n) => {
            l.push_bytes(n);
            1
        }
        None => 0,
    })
}}

lua_fn! { fn isowner(l) {
    let (r, _) = this(l)?;
    l.push_bool(r.owner);
    Ok(1)
}}

lua_fn! { fn close(l) {
    let (_, s) = this(l)?;
    s.close().map_err(|_| errors::concurrent_access(s))?;
    Ok(0)
}}

lua_fn! { fn interrupt(l) {
    let (_, s) = this(l)?;
    let mode = match l.type_of(2) {
        ffi::LUA_TNONE | ffi::LUA_TNIL => Interrupt::Once,
        ffi::LUA_TBOOLEAN if l.to_boolean(2) => Interrupt::Always,
        ffi::LUA_TBOOLEAN => Interrupt::Off,
        _ => return Err(Error::arg(2, "boolean expected")),
    };
    s.interrupt(mode).map_err(|_| errors::object_closed(s))?;
    Ok(0)
}}

lua_fn! { fn call(l) {
    let (_, s) = this(l)?;
    invoke_from_lua(l, s, 2, Wait::Forever, false)
}}

lua_fn! { fn tcall(l) {
    let (_, s) = this(l)?;
    let timeout = l.check_number(2)?;
    invoke_from_lua(l, s, 3, Wait::from_timeout(Some(timeout), false), true)
}}

/// `state:call(...)` / `state:tcall(timeout, ...)` with arguments from `first`.
fn invoke_from_lua(l: Lua, s: &State, first: c_int, wait: Wait, timed: bool) -> LResult {
    let busy = match s.enter(wait) {
        Ok(busy) => busy,
        Err(Enter::Closed) => return Err(errors::object_closed(s)),
        Err(Enter::Timeout) => {
            l.push_bool(false);
            return Ok(1);
        }
    };
    let own_interpreter = busy.interp.lua.raw() == l.raw();
    let args = Args::Stack {
        from: l,
        first,
        last: l.top(),
    };
    let r = invoke::call(&busy, args, Some(Results { to: l, timed }));
    // Leaving may close the interpreter (last owner gone meanwhile).
    drop(busy);
    r.map_err(|e| match e {
        CallError::Arg(k, text) => errors::bad_transfer(k, text.as_bytes(), !own_interpreter),
        CallError::Runtime(text) => errors::invoking_state(Some(s), &text),
        CallError::Result(k, text) => {
            errors::state_result(format!("state callback function returned bad parameter #{k}: {text}").as_bytes())
        }
        CallError::Stack => errors::out_of_memory(),
    })
}

lua_fn! { fn tostring(l) {
    let (_, s) = this(l)?;
    class::tostring(l, CLASS_NAME, s.name(), s.id());
    Ok(1)
}}

lua_fn! { fn gc(l) {
    if let Some(r) = class::finalizing::<StateRef>(l) {
        if r.owner {
            // SAFETY: a non-null pointer is the reference this userdata holds.
            if let Some(state) = unsafe { r.state.as_ref() } {
                state.release_owner();
            }
        }
        class::release_arc(&mut r.state);
    }
    Ok(0)
}}
