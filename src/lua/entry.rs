//! The one place where Rust code returns to Lua: results or a raised error.

use super::Lua;
use super::error::{Error, LResult, raise};
use crate::ffi;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// A Lua C function.
pub type Function = ffi::lua_CFunction;

/// Runs the body of a Lua C function. A returned error, or a panic, is
/// raised as a Lua error after the body and all its values are gone.
///
/// Bodies must not call Lua API functions that raise (except for memory
/// errors): a foreign unwind cannot cross `catch_unwind`.
#[inline]
pub fn entry(raw: *mut ffi::lua_State, body: impl FnOnce(Lua) -> LResult) -> ffi::lua_Results {
    let l = Lua(raw);
    let err = match catch_unwind(AssertUnwindSafe(|| body(l))) {
        Ok(Ok(n)) => return ffi::lua_Results::new(n),
        Ok(Err(e)) => e,
        Err(_panic) => Error::plain("mtmsg: internal error (a panic was caught)"),
    };
    ffi::lua_Results::new(raise(l, err))
}

/// Defines a Lua C function whose body returns `LResult`:
/// `lua_fn! { fn name(l) { ...; Ok(1) } }`.
#[macro_export]
macro_rules! lua_fn {
    ($(#[$m:meta])* $vis:vis fn $name:ident($l:ident) $body:block) => {
        $(#[$m])*
        $vis unsafe extern "C-unwind" fn $name(raw: *mut $crate::ffi::lua_State) -> $crate::ffi::lua_Results {
            $crate::lua::entry(raw, |$l: $crate::lua::Lua| -> $crate::lua::LResult { $body })
        }
    };
}
