//! `mtmsg.buffer` userdata: a reference to a shared buffer plus this
//! reference's own nonblock flag.

use super::errors;
use super::message::{self, Candidates};
use crate::capi::Missing;
use crate::class;
use crate::core::buffer::{Buffer, TakeError};
use crate::core::listener::Source;
use crate::core::time::Wait;
use crate::ffi;
use crate::lua::{Error, LResult, Lua};
use crate::lua_fn;
use std::ffi::{CStr, c_int};
use std::sync::Arc;

pub const CLASS: &CStr = c"mtmsg.buffer";
const CLASS_NAME: &str = "mtmsg.buffer";

/// The userdata payload. `repr(C)`: the object pointer comes first, which
/// LuaJIT FFI users rely on (include/mtmsg_ffi.lua).
#[repr(C)]
pub struct BufferRef {
    /// From `Arc::into_raw`; null once collected.
    buffer: *const Buffer,
    pub nonblock: bool,
}

impl BufferRef {
    pub fn buffer(&self) -> Option<&Buffer> {
        // SAFETY: non-null pointers come from Arc::into_raw and are released
        // only in __gc, which nulls them.
        unsafe { self.buffer.as_ref() }
    }
}

pub fn register(l: Lua) {
    class::register(
        l,
        CLASS,
        &[
            (c"id", id),
            (c"name", name),
            (c"addmsg", addmsg),
            (c"setmsg", setmsg),
            (c"msgcnt", msgcnt),
            (c"clear", clear),
            (c"nextmsg", nextmsg),
            (c"notifier", notifier),
            (c"nonblock", nonblock),
            (c"isnonblock", isnonblock),
            (c"close", close),
            (c"abort", abort),
            (c"isabort", isabort),
        ],
        &[(c"__gc", gc), (c"__tostring", tostring)],
    );
    crate::capi::buffer::publish_all(l);
    l.pop(1);
}

/// Pushes a new reference to `buffer`.
pub fn push(l: Lua, buffer: Arc<Buffer>) {
    class::push_new(
        l,
        CLASS,
        BufferRef {
            buffer: Arc::into_raw(buffer),
            nonblock: false,
        },
    );
}

/// The buffer reference at `idx` (checked against the class metatable in
/// the registry, for functions outside the buffer methods).
pub fn test<'a>(l: Lua, idx: c_int) -> Option<&'a mut BufferRef> {
    class::test::<BufferRef>(l, idx, CLASS)
}

fn this<'a>(l: Lua) -> LResult<(&'a mut BufferRef, &'a Buffer)> {
    let r = class::check::<BufferRef>(l, 1, CLASS_NAME)?;
    // SAFETY: the userdata outlives this call (it is argument 1).
    let b = unsafe {
        &*(r.buffer()
            .ok_or_else(|| Error::plain("mtmsg: buffer reference already collected"))? as *const Buffer)
    };
    Ok((r, b))
}

pub fn describe(b: &Buffer) -> Vec<u8> {
    class::describe(CLASS_NAME, b.name(), b.id())
}

lua_fn! { fn id(l) {
    let (_, b) = this(l)?;
    l.push_integer(b.id() as _);
    Ok(1)
}}

lua_fn! { fn name(l) {
    let (_, b) = this(l)?;
    Ok(match b.name() {
        Some(n) => {
            l.push_bytes(n);
            1
        }
        None => 0,
    })
}}

/// addmsg / setmsg / writer:addmsg share this: puts `len` bytes written by
/// `write` and returns the Lua result (true, false, or the error).
pub fn put_message(
    b: &Buffer,
    replace: bool,
    nonblock: bool,
    len: usize,
    write: impl FnOnce(&mut [u8]),
) -> LResult<bool> {
    match b.put(replace, nonblock, len, write) {
        Ok(outcome) => errors::notified(outcome).map(|_| true),
        Err(e) => errors::put(e, &describe(b)),
    }
}

fn add_or_set(l: Lua, replace: bool) -> LResult {
    let (r, b) = this(l)?;
    let top = l.top();
    let mut args = message::Args::new(l, 2, top);
    args.read()?;
    let ok = put_message(b, replace, r.nonblock, args.len, |out| args.write(out))?;
    l.push_bool(ok);
    Ok(1)
}

lua_fn! { fn addmsg(l) { add_or_set(l, false) }}

lua_fn! { fn setmsg(l) { add_or_set(l, true) }}

lua_fn! { fn msgcnt(l) {
    let (_, b) = this(l)?;
    l.push_integer(b.count() as _);
    Ok(1)
}}

lua_fn! { fn clear(l) {
    let (r, b) = this(l)?;
    let ok = match b.clear(r.nonblock) {
        Ok(()) => true,
        Err(e) => errors::put(e, &describe(b))?,
    };
    l.push_bool(ok);
    Ok(1)
}}

/// Reads the optional timeout argument at `idx`: Ok(Some(t)) for a number,
/// Ok(None) for nil/none; a carray means "no timeout" and starts the
/// candidates (returned as the index where candidates start).
pub fn timeout_and_candidates(l: Lua, idx: c_int) -> LResult<(Option<f64>, c_int)> {
    match l.type_of(idx) {
        ffi::LUA_TNONE | ffi::LUA_TNIL => Ok((None, idx + 1)),
        ffi::LUA_TNUMBER => {
            let t = l.raw_number(idx);
            if t.is_nan() {
                return Err(Error::arg(idx, "timeout seconds or carray expected"));
            }
            Ok((Some(t), idx + 1))
        }
        ffi::LUA_TUSERDATA => match crate::capi::carray::api_of(l, idx) {
            Ok(_) => Ok((None, idx)),
            Err(Missing::VersionMismatch) => Err(Error::arg(idx, "incompatible carray capi version number")),
            Err(Missing::NoApi) => Err(Error::arg(idx, "timeout seconds or carray expected")),
        },
        _ => Err(Error::arg(idx, "timeout seconds or carray expected")),
    }
}

/// Takes the next message of a buffer or listener and pushes its values.
pub fn next_message(l: Lua, source: Source, wait: Wait, candidates: Candidates) -> LResult {
    message::with_scratch(|scratch| {
        let copy = |bytes: &[u8]| -> Result<(), ()> {
            scratch.extend_from_slice(bytes);
            Ok(())
        };
        match source.take(wait, copy) {
            Ok(None) => Ok(0),
            Ok(Some(((), outcome))) => {
                let (n, _) = message::push_values(l, scratch, None, candidates)?;
                errors::notified(outcome)?;
                Ok(n)
            }
            Err(e) => Err(take_error(e, source)),
        }
    })
}

lua_fn! { fn nextmsg(l) {
    let (r, b) = this(l)?;
    let (timeout, first_candidate) = timeout_and_candidates(l, 2)?;
    let candidates = Candidates::from_args(l, first_candidate)?;
    let wait = Wait::from_timeout(timeout, r.nonblock);
    next_message(l, Source::Buffer(b), wait, candidates)
}}

/// The error text of a buffer or listener (only built for errors).
pub fn describe_source(source: Source) -> Vec<u8> {
    match source {
        Source::Buffer(b) => describe(b),
        Source::Listener(s) => super::listener::describe(s),
    }
}

pub fn take_error<E>(e: TakeError<E>, source: Source) -> Error {
    match e {
        TakeError::Closed => errors::object_closed(&describe_source(source)),
        TakeError::Aborted => errors::aborted(),
        TakeError::NoBuffers => errors::with_detail("no_buffers", &describe_source(source)),
        TakeError::Rejected(_) => Error::plain("mtmsg: internal error (rejected)"),
    }
}

lua_fn! { fn notifier(l) {
    let (_, b) = this(l)?;
    crate::capi::notify::connect_to_buffer(l, b, &describe(b))
}}

lua_fn! { fn nonblock(l) {
    let (r, b) = this(l)?;
    let flag = l.opt_boolean_strict(2)?.unwrap_or(true);
    if let Err(e) = b.check_usable() {
        errors::put(e, &describe(b))?;
    }
    r.nonblock = flag;
    Ok(0)
}}

lua_fn! { fn isnonblock(l) {
    let (r, _) = this(l)?;
    l.push_bool(r.nonblock);
    Ok(1)
}}

lua_fn! { fn close(l) {
    let (_, b) = this(l)?;
    b.close();
    Ok(0)
}}

lua_fn! { fn abort(l) {
    let (_, b) = this(l)?;
    let flag = l.opt_boolean_strict(2)?.unwrap_or(true);
    b.set_aborted(flag);
    Ok(0)
}}

lua_fn! { fn isabort(l) {
    let (_, b) = this(l)?;
    l.push_bool(b.is_aborted());
    Ok(1)
}}

lua_fn! { fn tostring(l) {
    let (_, b) = this(l)?;
    class::tostring(l, CLASS_NAME, b.name(), b.id());
    Ok(1)
}}

lua_fn! { fn gc(l) {
    if let Some(r) = class::finalizing::<BufferRef>(l) {
        class::release_arc(&mut r.buffer);
    }
    Ok(0)
}}
