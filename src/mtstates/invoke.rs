//! Running code inside a state's interpreter: the message handler that
//! produces the inner error text, the trampoline that calls the function,
//! and one call of the state callback with arguments from a Lua stack (Lua
//! callers) or from encoded values (Receiver / Notify C APIs).
//!
//! Only the thread holding the state's busy flag (`Busy`) runs any of this.
//! Everything that may raise in the called interpreter runs under
//! `lua_pcall` with the message handler; nothing raises in the caller.

use super::state::{Busy, INTERRUPTED};
use super::transfer::Transfer;
use crate::core::encoding::Values;
use crate::ffi;
use crate::lua::Lua;
use crate::lua_fn;
use std::ffi::c_int;

/// Where the arguments of a call come from.
pub enum Args<'a> {
    /// Values `first..=last` of a Lua stack.
    Stack { from: Lua, first: c_int, last: c_int },
    /// Encoded message values (a Receiver C API writer's contents).
    Encoded(&'a [u8]),
}

/// Why a call failed.
pub enum CallError {
    /// Argument at this position (of the source stack, or the value's
    /// position among encoded values, from 1) cannot be transferred.
    Arg(c_int, String),
    /// The called function raised: the message handler's text.
    Runtime(Vec<u8>),
    /// Result number k (from 1) cannot be transferred back.
    Result(c_int, String),
    /// The interpreter's stack cannot be grown.
    Stack,
}

lua_fn! {
/// The message handler inside a state (mtstates.md §5): strings (and
/// numbers) get a traceback, except the interrupt error; other values
/// with a string-producing `__tostring` become that string; anything else
/// `(error object is a <type> value)` plus traceback.
pub fn message_handler(l) {
    if matches!(l.type_of(1), ffi::LUA_TSTRING | ffi::LUA_TNUMBER) {
        let msg = l.to_string_coerce(1).unwrap_or_default();
        if msg == INTERRUPTED.as_bytes() {
            l.set_top(1);
            return Ok(1);
        }
        l.push_traceback(msg, 1);
        return Ok(1);
    }
    if l.get_meta_field(1, c"__tostring") == ffi::LUA_TFUNCTION {
        l.push_value(1);
        if l.pcall(1, 1, 0) == ffi::LUA_OK && l.type_of(-1) == ffi::LUA_TSTRING {
            return Ok(1);
        }
    }
    l.set_top(1);
    let msg = format!("(error object is a {} value)", l.basic_type_name(1));
    l.push_traceback(msg.as_bytes(), 1);
    Ok(1)
}}

/// Calls its first argument with the others and returns all results.
/// A raw C function: it raises through `lua_call` with no Rust value alive.
pub unsafe extern "C-unwind" fn trampoline(raw: *mut ffi::lua_State) -> ffi::lua_Results {
    let l = Lua(raw);
    let n = l.top();
    l.call(n - 1, ffi::LUA_MULTRET);
    ffi::lua_Results::new(l.top())
}

/// The error text left by a failed `pcall` with our message handler.
pub fn error_text(l: Lua, idx: c_int) -> Vec<u8> {
    match l.to_bytes(idx) {
        Some(b) => b.to_vec(),
        None => b"unknown error".to_vec(),
    }
}

/// Pushes the arguments onto `to` (stack space checked by the caller).
fn push_args(tr: &mut Transfer, args: &Args) -> Result<c_int, CallError> {
    match *args {
        Args::Stack { from, first, last } => {
            tr.copy_range(from, first, last)
                .map_err(|(i, e)| CallError::Arg(i, e))?;
            Ok((last - first + 1).max(0))
        }
        Args::Encoded(bytes) => {
            let mut n = 0;
            for v in Values::new(bytes) {
                n += 1;
                tr.push_value(v).map_err(|e| CallError::Arg(n, e))?;
            }
            Ok(n)
        }
    }
}

fn arg_count(args: &Args) -> usize {
    match *args {
        Args::Stack { first, last, .. } => (last - first + 1).max(0) as usize,
        Args::Encoded(bytes) => Values::new(bytes).count(),
    }
}

/// Where results go: a Lua stack (with a leading `true` for tcall), or
/// nowhere (C APIs discard them).
pub struct Results {
    pub to: Lua,
    pub timed: bool,
}

/// Calls the state callback. Returns the number of values pushed on
/// `results.to` (0 without results).
pub fn call(busy: &Busy, args: Args, results: Option<Results>) -> Result<c_int, CallError> {
    let l2 = busy.interp.lua;
    let base = l2.top();
    let nargs = arg_count(&args);
    if nargs > (c_int::MAX / 2) as usize || !l2.check_stack(nargs as c_int + ffi::LUA_MINSTACK) {
        return Err(CallError::Stack);
    }
    l2.push_cfunction(message_handler);
    l2.push_cfunction(trampoline);
    l2.raw_get_index(ffi::LUA_REGISTRYINDEX, busy.interp.callback as _);
    let mut tr = Transfer::new(l2);
    let nargs = match push_args(&mut tr, &args) {
        Ok(n) => n,
        Err(e) => {
            l2.set_top(base);
            return Err(e);
        }
    };
    let nresults = if results.is_some() { ffi::LUA_MULTRET } else { 0 };
    if l2.pcall(nargs + 1, nresults, base + 1) != ffi::LUA_OK {
        let text = error_text(l2, -1);
        l2.set_top(base);
        return Err(CallError::Runtime(text));
    }
    let Some(Results { to, timed }) = results else {
        l2.set_top(base);
        return Ok(0);
    };
    // Results are at base+2 ..= top of the called stack.
    let first = base + 2;
    let last = l2.top();
    let n = (last - first + 1).max(0);
    let same = to.raw() == l2.raw();
    let to_base = to.top();
    if !to.check_stack(n + 1 + ffi::LUA_MINSTACK) {
        l2.set_top(base);
        return Err(CallError::Stack);
    }
    if timed {
        to.push_bool(true);
    }
    if let Err((i, e)) = Transfer::new(to).copy_range(l2, first, last) {
        to.set_top(to_base);
        if !same {
            l2.set_top(base);
        }
        return Err(CallError::Result(i - first + 1, e));
    }
    // Called from the state's own interpreter: the copies are on top of the
    // same stack and the C function returns just those.
    if !same {
        l2.set_top(base);
    }
    Ok(n + timed as c_int)
}
