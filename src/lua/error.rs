//! Errors computed in Rust and raised into Lua by the entry point.

use super::Lua;
use crate::ffi;
use std::borrow::Cow;
use std::ffi::c_int;

/// A Lua error to raise once the Rust side of a call has been dropped.
#[derive(Debug)]
pub enum Error {
    /// Raised as the plain string, without position (module errors such as
    /// `mtmsg.error.object_closed: ...`).
    Plain(Cow<'static, str>),
    /// Raised like `luaL_error`: prefixed with the caller's position.
    Located(Cow<'static, str>),
    /// Raised like `luaL_argerror(L, arg, msg)`: "bad argument #n to 'f' (msg)".
    Arg(c_int, Cow<'static, str>),
    /// Raised as the plain byte string (module errors that quote names).
    Bytes(Vec<u8>),
    /// The error value is already on top of the stack.
    Pushed,
}

/// The result of a Lua C function body: the number of results pushed.
pub type LResult<T = c_int> = Result<T, Error>;

impl Error {
    pub fn plain(s: impl Into<Cow<'static, str>>) -> Error {
        Error::Plain(s.into())
    }

    pub fn located(s: impl Into<Cow<'static, str>>) -> Error {
        Error::Located(s.into())
    }

    pub fn arg(arg: c_int, s: impl Into<Cow<'static, str>>) -> Error {
        Error::Arg(arg, s.into())
    }

    /// The standard "X expected, got Y" argument error.
    pub fn type_error(l: Lua, arg: c_int, expected: &str) -> Error {
        Error::Arg(
            arg,
            format!("{expected} expected, got {}", l.error_type_name(arg)).into(),
        )
    }
}

impl Error {
    /// The message, for errors reported elsewhere than by raising them in
    /// `l` (an argument error gives its text without the argument number).
    pub fn into_text(self, l: Lua) -> Vec<u8> {
        match self {
            Error::Plain(s) | Error::Located(s) | Error::Arg(_, s) => s.into_owned().into_bytes(),
            Error::Bytes(b) => b,
            Error::Pushed => {
                let text = l.error_message(-1);
                l.pop(1);
                text
            }
        }
    }
}

/// Pushes the error's message and returns the argument number for argument
/// errors. Consumes `err`, so nothing with a destructor outlives this call.
fn push_message(l: Lua, err: Error) -> Option<c_int> {
    match err {
        Error::Plain(s) => {
            l.push_str(&s);
            None
        }
        Error::Located(s) => {
            l.push_where(1);
            l.push_str(&s);
            l.concat(2);
            None
        }
        Error::Arg(n, s) => {
            l.push_str(&s);
            Some(n)
        }
        Error::Bytes(b) => {
            l.push_bytes(&b);
            None
        }
        Error::Pushed => None,
    }
}

/// Raises `err` in `l`. Never returns.
pub(super) fn raise(l: Lua, err: Error) -> c_int {
    let arg = push_message(l, err);
    // Only plain values are live from here on: the longjmp (or LuaJIT's
    // unwind) skips no destructor.
    match arg {
        // SAFETY: the message is a string on top of the stack, alive while
        // luaL_argerror formats it.
        Some(n) => unsafe { ffi::luaL_argerror(l.0, n, ffi::lua_tolstring(l.0, -1, std::ptr::null_mut())) },
        // SAFETY: the error value is on top of the stack.
        None => unsafe { ffi::lua_error(l.0) },
    }
}
