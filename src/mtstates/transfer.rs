//! Copies values between two Lua stacks (mtstates.md §4): nil, booleans,
//! numbers (integer subtype kept on 5.3+; integral values become integers
//! on 5.1/5.2), strings, light userdata and carrays (copied into a new
//! writable carray made by the target's `require('carray')`). Everything
//! else is refused with `type '<t>' not supported`.

use crate::capi::Missing;
use crate::capi::carray::{self, Api};
use crate::core::encoding::Value;
use crate::ffi;
use crate::lua::{Integer, Lua, float_to_integer};
use std::ffi::{c_int, c_void};

/// Pushes values onto one target stack; caches the target's Carray API.
pub struct Transfer {
    to: Lua,
    carray: Option<&'static Api>,
}

impl Transfer {
    pub fn new(to: Lua) -> Transfer {
        Transfer { to, carray: None }
    }

    /// Copies the value at `idx` of `from` onto the target. The caller has
    /// checked the target's stack space. Err is the message text.
    pub fn copy(&mut self, from: Lua, idx: c_int) -> Result<(), String> {
        let to = self.to;
        match from.type_of(idx) {
            ffi::LUA_TNIL => to.push_nil(),
            ffi::LUA_TBOOLEAN => to.push_bool(from.to_boolean(idx)),
            ffi::LUA_TNUMBER => push_number(from, idx, to),
            ffi::LUA_TSTRING => {
                let s = from.to_bytes(idx).unwrap_or_default();
                to.push_bytes(s)
            }
            ffi::LUA_TLIGHTUSERDATA => to.push_light_userdata(from.to_userdata(idx)),
            ffi::LUA_TUSERDATA => match carray::readable(from, idx) {
                Ok(Some(a)) => self.new_carray(a.elem_type, a.count, a.data)?,
                Ok(None) | Err(Missing::NoApi) => return Err(not_supported("userdata")),
                Err(Missing::VersionMismatch) => return Err("carray version mismatch".into()),
            },
            t => return Err(not_supported(type_name(t))),
        }
        Ok(())
    }

    /// Pushes a decoded message value (Receiver C API writers).
    pub fn push_value(&mut self, v: Value) -> Result<(), String> {
        let to = self.to;
        match v {
            Value::Nil => to.push_nil(),
            Value::Boolean(b) => to.push_bool(b),
            Value::Integer(i) => to.push_integer(i as Integer),
            Value::Number(n) => to.push_number(n),
            Value::String(s) => to.push_bytes(s),
            Value::LightUserdata(p) => to.push_light_userdata(p as *mut c_void),
            Value::CFunction(_) => return Err(not_supported("function")),
            Value::Array {
                elem_type, count, data, ..
            } => self.new_carray(elem_type, count, data)?,
        }
        Ok(())
    }

    /// A new writable carray with a copy of `data`, pushed on the target.
    fn new_carray(&mut self, elem_type: u8, count: usize, data: &[u8]) -> Result<(), String> {
        let api = match self.carray {
            Some(api) => api,
            None => *self
                .carray
                .insert(require_carray(self.to).map_err(|e| format!("error creating carray: {e}"))?),
        };
        let Some(new) = api.new_carray else {
            return Err("error creating carray: carray capi not found".into());
        };
        let mut p: *mut c_void = std::ptr::null_mut();
        // SAFETY: Carray C API contract: pushes the new array on the target
        // stack and, for count > 0, returns storage for `count` elements.
        let arr = unsafe { new(self.to.raw(), elem_type as c_int, 0, count, &mut p) };
        if arr.is_null() {
            return Err(format!(
                "error creating carray: cannot create carray of type {elem_type}"
            ));
        }
        if count > 0 && !p.is_null() {
            // SAFETY: the storage holds count elements of this type, which
            // is exactly data.len() bytes (size and count of the source).
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p as *mut u8, data.len()) };
        }
        Ok(())
    }
}

fn not_supported(type_name: &str) -> String {
    format!("type '{type_name}' not supported")
}

fn type_name(t: c_int) -> &'static str {
    match t {
        ffi::LUA_TTABLE => "table",
        ffi::LUA_TFUNCTION => "function",
        ffi::LUA_TTHREAD => "thread",
        ffi::LUA_TUSERDATA | ffi::LUA_TLIGHTUSERDATA => "userdata",
        ffi::LUA_TNONE => "no value",
        _ => "?",
    }
}

/// Integers stay integers (5.3+); on 5.1/5.2 integral values are pushed as
/// integers, which turns -0.0 into 0 (as the original does there).
fn push_number(from: Lua, idx: c_int, to: Lua) {
    if let Some(i) = from.to_exact_integer(idx) {
        to.push_integer(i);
        return;
    }
    let n = from.raw_number(idx);
    #[cfg(any(lua_api = "51", lua_api = "52"))]
    if let Some(i) = float_to_integer(n) {
        to.push_integer(i);
        return;
    }
    #[cfg(not(any(lua_api = "51", lua_api = "52")))]
    let _ = float_to_integer;
    to.push_number(n);
}

/// The Carray C API of `require('carray')` in `l` (protected; stack balanced).
fn require_carray(l: Lua) -> Result<&'static Api, String> {
    let top = l.top();
    l.push_raw_global(c"require");
    l.push_str("carray");
    if l.pcall(1, 1, 0) != ffi::LUA_OK {
        let msg = String::from_utf8_lossy(&l.error_message(-1)).into_owned();
        l.set_top(top);
        return Err(msg);
    }
    let api = carray::api_of(l, -1);
    l.set_top(top);
    api.map_err(|m| {
        match m {
            Missing::VersionMismatch => "carray capi version mismatch",
            Missing::NoApi => "carray capi not found",
        }
        .to_string()
    })
}
