//! Lua values to message bytes and back, for buffers, writers and readers.

use super::tables::{Encoder, MAX_DEPTH, push_table};
use crate::capi::Missing;
use crate::capi::carray::{self, Candidate};
use crate::core::encoding::{Value, Values};
use crate::ffi;
use crate::lua::{Error, LResult, Lua, float_to_integer};
use std::ffi::c_int;

/// Which values may travel besides the common ones.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// C functions travel as pointers in mtmsg messages; mtstates refuses them.
    pub c_functions: bool,
}

pub const MESSAGE: Policy = Policy { c_functions: true };
pub const STATE: Policy = Policy { c_functions: false };

/// Why a value cannot travel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Refusal {
    /// The Lua type (as `type()` names it) has no message form.
    Type(&'static str),
    /// A table: `classify` leaves those to `tables::Encoder`.
    Table,
    CarrayVersion,
    TooDeep,
    TooLarge,
    Stack,
}

impl Refusal {
    /// The reason in the words shared by mtmsg and mtstates.
    pub fn text(self) -> String {
        match self {
            Refusal::Type(t) => format!("type '{t}' not supported"),
            Refusal::Table => "type 'table' not supported".into(),
            Refusal::CarrayVersion => "carray version mismatch".into(),
            Refusal::TooDeep => format!("tables nested more than {MAX_DEPTH} levels deep"),
            Refusal::TooLarge => "table too large".into(),
            Refusal::Stack => "stack overflow".into(),
        }
    }
}

/// The message value of the value at `idx` (not a table: those are
/// encoded by `tables::Encoder`).
#[inline(always)]
pub fn classify<'a>(l: Lua, idx: c_int, policy: Policy) -> Result<Value<'a>, Refusal> {
    classify_as(l, idx, l.type_of(idx), policy)
}

/// `classify` for a value whose type `t` the caller already has.
#[inline(always)]
pub fn classify_as<'a>(l: Lua, idx: c_int, t: c_int, policy: Policy) -> Result<Value<'a>, Refusal> {
    Ok(match t {
        ffi::LUA_TNIL => Value::Nil,
        ffi::LUA_TBOOLEAN => Value::Boolean(l.to_boolean(idx)),
        ffi::LUA_TNUMBER => number_value(l, idx),
        ffi::LUA_TSTRING => Value::String(l.to_string_coerce(idx).unwrap_or_default()),
        ffi::LUA_TLIGHTUSERDATA => Value::LightUserdata(l.to_userdata(idx) as usize),
        ffi::LUA_TFUNCTION => match transportable_cfunction(l, idx) {
            Some(f) if policy.c_functions => Value::CFunction(f as usize),
            _ => return Err(Refusal::Type("function")),
        },
        ffi::LUA_TUSERDATA => match carray::readable(l, idx) {
            Ok(Some(a)) => Value::Array {
                elem_type: a.elem_type,
                elem_size: a.elem_size,
                count: a.count,
                data: a.data,
            },
            Ok(None) | Err(Missing::NoApi) => return Err(Refusal::Type("userdata")),
            Err(Missing::VersionMismatch) => return Err(Refusal::CarrayVersion),
        },
        ffi::LUA_TTABLE => return Err(Refusal::Table),
        ffi::LUA_TTHREAD => return Err(Refusal::Type("thread")),
        _ => return Err(Refusal::Type("no value")),
    })
}

/// The message value of the argument at `idx`, or the argument error for
/// values a message cannot hold (tables are handled by `Args`).
#[inline]
pub fn arg_value<'a>(l: Lua, idx: c_int) -> LResult<Value<'a>> {
    classify(l, idx, MESSAGE).map_err(|r| arg_error(idx, r))
}

/// The original's words for a value given directly as argument `idx`.
#[cold]
fn arg_error(idx: c_int, r: Refusal) -> Error {
    match r {
        Refusal::CarrayVersion => Error::arg(idx, "carray version mismatch"),
        _ => Error::arg(idx, "parameter type not supported"),
    }
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
/// writing them does not classify them again; tables are encoded once, here.
pub struct Args<'a> {
    l: Lua,
    first: c_int,
    last: c_int,
    cached: [Value<'a>; CACHED],
    /// The table arguments' encodings, one after the other.
    tables: Option<Box<Encoder>>,
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
            tables: None,
            len: 0,
        }
    }

    /// Checks and measures the values (in place: no copy of the cache).
    pub fn read(&mut self) -> LResult<()> {
        for i in self.first..=self.last {
            let len = match classify(self.l, i, MESSAGE) {
                Ok(v) => {
                    if let Some(slot) = self.cached.get_mut((i - self.first) as usize) {
                        *slot = v;
                    }
                    v.encoded_len()
                }
                Err(Refusal::Table) => self.read_table(i)?,
                Err(r) => return Err(arg_error(i, r)),
            };
            self.len = self.len.saturating_add(len);
        }
        Ok(())
    }

    /// Encodes the table argument `i`; returns its encoded length.
    #[cold]
    fn read_table(&mut self, i: c_int) -> LResult<usize> {
        let encoder = self.tables.get_or_insert_with(|| Encoder::pooled(MESSAGE));
        let start = encoder.out.len();
        encoder.encode(self.l, i).map_err(|f| Error::arg(i, f.message_text()))?;
        Ok(encoder.out.len() - start)
    }

    /// Writes the values into `out` (`len` bytes).
    #[inline]
    pub fn write(&self, out: &mut [u8]) {
        if let Some(encoder) = self.tables.as_deref() {
            return self.write_with_tables(encoder, out);
        }
        let mut at = 0;
        for i in self.first..=self.last {
            if let Some(v) = self.value(i) {
                at += v.encode(&mut out[at..]);
            }
        }
    }

    /// The (checked) non-table argument `i`.
    #[inline(always)]
    fn value(&self, i: c_int) -> Option<Value<'a>> {
        match self.cached.get((i - self.first) as usize) {
            Some(v) => Some(*v),
            None => arg_value(self.l, i).ok(),
        }
    }

    #[cold]
    fn write_with_tables(&self, encoder: &Encoder, out: &mut [u8]) {
        let mut at = 0;
        // The table arguments' encodings, in order, each a complete value.
        let mut tables = Values::new(&encoder.out);
        for i in self.first..=self.last {
            let v = if self.l.type_of(i) == ffi::LUA_TTABLE {
                tables.next()
            } else {
                self.value(i)
            };
            if let Some(v) = v {
                at += v.encode(&mut out[at..]);
            }
        }
    }
}

impl Drop for Args<'_> {
    fn drop(&mut self) {
        if let Some(encoder) = self.tables.take() {
            encoder.recycle();
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
                    push_plain(l, v, &mut created_api)?;
                }
            }
            Value::Table(_) | Value::TableRef(_) => push_table(l, v, &mut created_api)?,
            v => push_plain(l, v, &mut created_api)?,
        }
        pushed += 1;
    }
    for c in pending {
        c.reset();
    }
    let consumed = bytes.len() - values.remaining().len();
    Ok((pushed as c_int, consumed))
}

#[cold]
fn not_plain() -> Error {
    Error::plain("mtmsg: table outside a message")
}

/// Pushes a value that is not a table; arrays become new carrays (the
/// Carray C API of `require('carray')`, looked up once into `api`).
#[inline(always)]
pub fn push_plain(l: Lua, v: Value, api: &mut Option<&'static carray::Api>) -> LResult<()> {
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
            elem_type, count, data, ..
        } => {
            let api = match *api {
                Some(api) => api,
                None => *api.insert(carray::require_api(l)?),
            };
            carray::push_new(l, api, elem_type, count, data)?;
        }
        Value::Table(_) | Value::TableRef(_) => return Err(not_plain()),
    }
    Ok(())
}
