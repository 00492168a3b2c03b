//! Copies values between two Lua stacks (mtstates.md §4): nil, booleans,
//! numbers (integer subtype kept on 5.3+; integral values become integers
//! on 5.1/5.2), strings, light userdata and carrays (copied into a new
//! writable carray made by the target's `require('carray')`) and tables of
//! those (our extension, through the message encoding). Everything else is
//! refused with `type '<t>' not supported`.

use crate::capi::Missing;
use crate::capi::carray::{self, Api};
use crate::core::encoding::{self, Value};
use crate::ffi;
use crate::lua::{Integer, Lua};
use crate::mtmsg::message::{Refusal, STATE, classify};
use crate::mtmsg::tables::{Encoder, push_table};
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

    /// Copies the values `first..=last` of `from` onto the target (stack
    /// space checked by the caller). Err is the index in `from` of the
    /// value that cannot travel, and the message text.
    pub fn copy_range(&mut self, from: Lua, first: c_int, last: c_int) -> Result<(), (c_int, String)> {
        for i in first..=last {
            let copied = match classify(from, i, STATE) {
                Ok(v) => self.push_value(v),
                Err(Refusal::Table) => self.copy_table(from, i),
                Err(r) => Err(r.text()),
            };
            if let Err(e) = copied {
                return Err((i, e));
            }
        }
        Ok(())
    }

    /// A table goes through the message encoding (Lua-side recursion,
    /// sharing and the nesting limit live there).
    #[cold]
    fn copy_table(&mut self, from: Lua, idx: c_int) -> Result<(), String> {
        let mut encoder = Encoder::pooled(STATE);
        let pushed = match encoder.encode(from, idx) {
            Err(f) => Err(f.state_text()),
            Ok(()) => match encoding::decode(&encoder.out) {
                Some((table, _)) => push_table(self.to, table, &mut self.carray)
                    .map_err(|e| String::from_utf8_lossy(&e.into_text(self.to)).into_owned()),
                None => Err("table encoding failed".into()),
            },
        };
        encoder.recycle();
        pushed
    }

    /// Pushes a message value onto the target (arrays as new carrays).
    #[inline(always)]
    pub fn push_value(&mut self, v: Value) -> Result<(), String> {
        let to = self.to;
        match v {
            Value::Nil => to.push_nil(),
            Value::Boolean(b) => to.push_bool(b),
            Value::Integer(i) => to.push_integer(i as Integer),
            Value::Number(n) => to.push_number(n),
            Value::String(s) => to.push_bytes(s),
            Value::LightUserdata(p) => to.push_light_userdata(p as *mut c_void),
            Value::CFunction(_) => return Err(Refusal::Type("function").text()),
            Value::Table(_) | Value::TableRef(_) => return Err(Refusal::Table.text()),
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
