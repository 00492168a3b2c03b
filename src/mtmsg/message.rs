//! Lua values to message bytes and back, for buffers, writers and readers.

use crate::capi::Missing;
use crate::capi::carray::{self, Candidate};
use crate::core::encoding::{Value, Values};
use crate::ffi;
use crate::lua::{Error, LResult, Lua, float_to_integer};
use std::ffi::c_int;

/// The message value of the argument at `idx`, or the argument error for
/// values a message cannot hold.
#[inline]
pub fn arg_value<'a>(l: Lua, idx: c_int) -> LResult<Value<'a>> {
    Ok(match l.type_of(idx) {
        ffi::LUA_TNIL => Value::Nil,
        ffi::LUA_TBOOLEAN => Value::Boolean(l.to_boolean(idx)),
        ffi::LUA_TNUMBER => number_value(l, idx),
        ffi::LUA_TSTRING => Value::String(l.to_string_coerce(idx).unwrap_or_default()),
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
#[inline]
fn number_value<'a>(l: Lua, idx: c_int) -> Value<'a> {
    #[cfg(not(any(lua_api = "51", lua_api = "52")))]
    {
        let _ = float_to_integer;
        if l.is_integer(idx) {
            Value::Integer(l.raw_integer(idx) as i64)
        } else {
            Value::Number(l.raw_number(idx))
        }
    }
    #[cfg(any(lua_api = "51", lua_api = "52"))]
    {
        let n = l.raw_number(idx);
        float_to_integer(n).map_or(Value::Number(n), |i| Value::Integer(i as i64))
    }
}

/// The arguments `first..=last` as message values, checked and measured
/// before anything is locked or changed. The first few values are kept, so
/// writing them does not classify them again.
pub struct Args<'a> {
    l: Lua,
    first: c_int,
    last: c_int,
    cached: [Value<'a>; CACHED],
    /// Element bytes of all the values.
    pub len: usize,
}

const CACHED: usize = 8;

impl<'a> Args<'a> {
    pub fn new(l: Lua, first: c_int, last: c_int) -> Args<'a> {
        Args {
            l,
            first,
            last,
            cached: [Value::Nil; CACHED],
            len: 0,
        }
    }

    /// Checks and measures the values (in place: no copy of the cache).
    pub fn read(&mut self) -> LResult<()> {
        for i in self.first..=self.last {
            let v = arg_value(self.l, i)?;
            self.len = self.len.saturating_add(v.encoded_len());
            if let Some(slot) = self.cached.get_mut((i - self.first) as usize) {
                *slot = v;
            }
        }
        Ok(())
    }

    /// Writes the values into `out` (`len` bytes).
    pub fn write(&self, out: &mut [u8]) {
        let mut at = 0;
        for i in self.first..=self.last {
            let k = (i - self.first) as usize;
            let v = match self.cached.get(k) {
                Some(v) => *v,
                None => match arg_value(self.l, i) {
                    Ok(v) => v,
                    Err(_) => continue,
                },
            };
            at += v.encode(&mut out[at..]);
        }
    }
}

/// Caller-supplied carrays to reuse when receiving (nils skipped).
pub struct Candidates {
    list: Vec<Candidate>,
}

impl Candidates {
    pub fn none() -> Candidates {
        Candidates { list: Vec::new() }
    }

    /// Checks the candidate arguments `first..=top` before anything is taken.
    #[inline]
    pub fn from_args(l: Lua, first: c_int) -> LResult<Candidates> {
        let top = l.top();
        if first > top {
            return Ok(Candidates::none());
        }
        Candidates::collect(l, first, top)
    }

    fn collect(l: Lua, first: c_int, top: c_int) -> LResult<Candidates> {
        let mut list = Vec::new();
        for i in first..=top {
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
    // Every value takes at least one byte, so short messages fit in the
    // LUA_MINSTACK slots a C function has, as do a few values asked for
    // (with room left for a new carray's temporaries); only longer ones are
    // counted.
    let fits = ffi::LUA_MINSTACK as usize - 2;
    let count = if bytes.len() < fits || wanted <= fits - 6 {
        wanted
    } else {
        let count = Values::new(bytes).take(wanted).count();
        if count > 0 && !l.check_stack(count.min(c_int::MAX as usize / 2) as c_int + ffi::LUA_MINSTACK) {
            return Err(Error::plain("mtmsg: too many values in message"));
        }
        count
    };
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
