//! Lua values to message bytes and back, for buffers, writers and readers.

use crate::capi::Missing;
use crate::capi::carray::{self, Candidate};
use crate::core::encoding::{Value, Values};
use crate::ffi;
use crate::lua::{Error, LResult, Lua, float_to_integer};
use std::cell::Cell;
use std::ffi::c_int;

/// The message value of the argument at `idx`, or the argument error for
/// values a message cannot hold.
pub fn arg_value<'a>(l: Lua, idx: c_int) -> LResult<Value<'a>> {
    Ok(match l.type_of(idx) {
        ffi::LUA_TNIL => Value::Nil,
        ffi::LUA_TBOOLEAN => Value::Boolean(l.to_boolean(idx)),
        ffi::LUA_TNUMBER => number_value(l, idx),
        ffi::LUA_TSTRING => Value::String(l.to_bytes(idx).unwrap_or_default()),
        ffi::LUA_TLIGHTUSERDATA => Value::LightUserdata(l.to_userdata(idx) as usize),
        ffi::LUA_TFUNCTION => match transportable_cfunction(l, idx) {
            Some(f) => Value::CFunction(f as usize),
            None => return Err(not_supported(idx)),
        },
        ffi::LUA_TUSERDATA => match carray::readable(l, idx) {
            Ok(Some(a)) => Value::Array {
                elem_type: a.elem_type,
                elem_size: a.elem_size,
                count: a.count,
                data: a.data,
            },
            Ok(None) => return Err(not_supported(idx)),
            Err(Missing::VersionMismatch) => return Err(Error::arg(idx, "carray version mismatch")),
            Err(Missing::NoApi) => return Err(not_supported(idx)),
        },
        _ => return Err(not_supported(idx)),
    })
}

/// Only the C function pointer travels. LuaJIT's built-ins are fast functions
/// (no C function at all) or C closures whose upvalue the function needs, so
/// there a C function is sendable only without upvalues.
fn transportable_cfunction(l: Lua, idx: c_int) -> Option<ffi::lua_CFunction> {
    if !l.is_cfunction(idx) {
        return None;
    }
    if cfg!(luajit) && l.upvalue_name(idx, 1).is_some() {
        return None;
    }
    l.to_cfunction(idx)
}

fn not_supported(idx: c_int) -> Error {
    Error::arg(idx, "parameter type not supported")
}

/// Integers stay integers; on 5.1/5.2/LuaJIT every integral value becomes one.
fn number_value<'a>(l: Lua, idx: c_int) -> Value<'a> {
    match l.to_exact_integer(idx) {
        Some(i) => Value::Integer(i as i64),
        None => {
            let n = l.raw_number(idx);
            #[cfg(any(lua_api = "51", lua_api = "52"))]
            if let Some(i) = float_to_integer(n) {
                return Value::Integer(i as i64);
            }
            #[cfg(not(any(lua_api = "51", lua_api = "52")))]
            let _ = float_to_integer;
            Value::Number(n)
        }
    }
}

/// Element bytes of the arguments `first..=last` (argument errors first,
/// before anything is locked or changed).
pub fn measure(l: Lua, first: c_int, last: c_int) -> LResult<usize> {
    let mut total = 0usize;
    for i in first..=last {
        total = total.saturating_add(arg_value(l, i)?.encoded_len());
    }
    Ok(total)
}

/// Writes the arguments (already measured) into `out`.
pub fn write(l: Lua, first: c_int, last: c_int, out: &mut [u8]) {
    let mut at = 0;
    for i in first..=last {
        if let Ok(v) = arg_value(l, i) {
            at += v.encode(&mut out[at..]);
        }
    }
}

thread_local! {
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Runs `f` with this thread's scratch buffer (no allocation per message in
/// a steady state; a nested use gets a fresh one).
pub fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let mut v = SCRATCH.with(|s| s.take());
    let r = f(&mut v);
    v.clear();
    SCRATCH.with(|s| s.set(v));
    r
}

/// Caller-supplied carrays to reuse when receiving (nils skipped).
pub struct Candidates {
    list: Vec<Candidate>,
}

impl Candidates {
    /// Checks the candidate arguments `first..=top` before anything is taken.
    pub fn from_args(l: Lua, first: c_int) -> LResult<Candidates> {
        let mut list = Vec::new();
        for i in first..=l.top() {
            if !l.is_none_or_nil(i) {
                list.push(carray::candidate(l, i)?);
            }
        }
        Ok(Candidates { list })
    }
}

/// Pushes the values of `bytes` (at most `max` of them; all if None), reusing
/// candidates for arrays; the remaining candidates are reset to length 0.
/// Returns (values pushed, bytes consumed).
pub fn push_values(l: Lua, bytes: &[u8], max: Option<usize>, candidates: Candidates) -> LResult<(c_int, usize)> {
    let mut values = Values::new(bytes);
    let wanted = max.unwrap_or(usize::MAX);
    let count = Values::new(bytes).take(wanted).count();
    if count > 0 && !l.check_stack(count.min(c_int::MAX as usize / 2) as c_int + ffi::LUA_MINSTACK) {
        return Err(Error::plain("mtmsg: too many values in message"));
    }
    let mut pending = candidates.list.into_iter();
    let mut created_api: Option<&'static carray::Api> = None;
    let mut pushed = 0;
    while pushed < count {
        let Some(v) = values.next() else { break };
        match v {
            Value::Nil => l.push_nil(),
            Value::Boolean(b) => l.push_bool(b),
            Value::Integer(i) => l.push_integer(i as _),
            Value::Number(n) => l.push_number(n),
            Value::String(s) => l.push_bytes(s),
            Value::LightUserdata(p) => l.push_light_userdata(p as *mut _),
            Value::CFunction(p) => {
                // SAFETY: p was read from a C function value of this process.
                let f: ffi::lua_CFunction = unsafe { std::mem::transmute::<usize, ffi::lua_CFunction>(p) };
                l.push_cfunction(f)
            }
            Value::Array {
                elem_type,
                elem_size,
                count,
                data,
            } => {
                let mut reused = false;
                for c in pending.by_ref() {
                    if c.matches(elem_type, elem_size) {
                        c.fill(l, count, data)?;
                        l.push_value(c.idx);
                        reused = true;
                        break;
                    }
                    c.reset();
                }
                if !reused {
                    let api = match created_api {
                        Some(api) => api,
                        None => *created_api.insert(carray::require_api(l)?),
                    };
                    carray::push_new(l, api, elem_type, count, data)?;
                }
            }
        }
        pushed += 1;
    }
    for c in pending {
        c.reset();
    }
    let consumed = bytes.len() - values.remaining().len();
    Ok((pushed as c_int, consumed))
}
