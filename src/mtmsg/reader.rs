//! `mtmsg.reader`: takes a whole message from a buffer or listener in one
//! step, then hands out its elements one by one. A plain per-state object.

use super::buffer::take_error;
use super::errors;
use super::message::{self, Candidates};
use super::shared::{self, Shared};
use super::writer::overflow;
use crate::class;
use crate::core::buffer::{Buffer, Front};
use crate::core::buffer::{DEFAULT_GROW, DEFAULT_SIZE};
use crate::core::listener::Listener;
use crate::core::listener::Source;
use crate::core::memory::{ByteArea, ReserveError};
use crate::core::time::Wait;
use crate::ffi;
use crate::lua::{Error, LResult, Lua};
use crate::lua_fn;
use std::ffi::CStr;

pub const CLASS: &CStr = c"mtmsg.reader";
const CLASS_NAME: &str = "mtmsg.reader";

pub struct Reader {
    elements: ByteArea,
}

pub fn register(l: Lua) {
    class::register(
        l,
        CLASS,
        &[(c"next", next), (c"nextmsg", nextmsg), (c"clear", clear)],
        &[(c"__gc", gc)],
        &[Buffer::CLASS, Listener::CLASS],
    );
    l.pop(1);
}

lua_fn! { pub fn new(l) {
    let size = if l.type_of(1) == ffi::LUA_TNONE { DEFAULT_SIZE } else { l.check_number(1)? };
    let grow = if l.type_of(2) == ffi::LUA_TNONE { DEFAULT_GROW } else { l.check_number(2)? };
    class::push_new(l, CLASS, Reader { elements: ByteArea::new(size, grow) });
    Ok(1)
}}

fn this<'a>(l: Lua) -> LResult<&'a mut Reader> {
    class::check::<Reader>(l, 1, CLASS_NAME)
}

lua_fn! { fn next(l) {
    let r = this(l)?;
    let (count, first_candidate) = match l.type_of(2) {
        ffi::LUA_TNONE | ffi::LUA_TNIL => (1, 3),
        ffi::LUA_TNUMBER => (l.check_integer(2)?, 3),
        ffi::LUA_TUSERDATA if crate::capi::carray::api_of(l, 2).is_ok() => (1, 2),
        _ => return Err(Error::arg(2, "integer or carray expected")),
    };
    let candidates = Candidates::from_args(l, first_candidate)?;
    let max = if count < 0 { None } else { Some(count as usize) };
    let (n, consumed) = message::push_values(l, r.elements.bytes(), max, candidates)?;
    r.elements.consume(consumed);
    Ok(n)
}}

lua_fn! { fn nextmsg(l) {
    let r = this(l)?;
    r.elements.clear();
    let timeout = match l.type_of(3) {
        ffi::LUA_TNONE | ffi::LUA_TNIL => None,
        ffi::LUA_TNUMBER if !l.raw_number(3).is_nan() => Some(l.raw_number(3)),
        // The original silently took a carray here as "no timeout";
        // decisions.md [65] makes every non-number an argument error.
        _ => return Err(Error::arg(3, "timeout seconds expected")),
    };
    let elements = &mut r.elements;
    let capacity = elements.capacity();
    let mut copy = |m: &mut Front| -> Result<(), ReserveError> {
        let bytes = m.bytes();
        elements.append(bytes.len()).map(|out| out.copy_from_slice(bytes))
    };
    let source = if let Some(b) = shared::peer::<Buffer>(l, 2, 1) {
        let nonblock = b.nonblock;
        let b = b.get().ok_or_else(|| Error::plain("mtmsg: buffer reference already collected"))?;
        (Source::Buffer(b), nonblock)
    } else if let Some(s) = shared::peer::<Listener>(l, 2, 2) {
        let nonblock = s.nonblock;
        let s = s.get().ok_or_else(|| Error::plain("mtmsg: listener reference already collected"))?;
        (Source::Listener(s), nonblock)
    } else {
        return Err(Error::arg(2, "mtmsg.buffer or mtmsg.listener expected"));
    };
    let (source, nonblock) = source;
    let result = source.take(Wait::from_timeout(timeout, nonblock), &mut copy);
    match result {
        Ok(None) => l.push_bool(false),
        Ok(Some(((), outcome))) => {
            errors::notified(outcome)?;
            l.push_bool(true)
        }
        Err(crate::core::buffer::TakeError::Rejected(e)) => {
            let needed = match e {
                ReserveError::TooLarge { size, .. } => size,
                _ => 0,
            };
            return Err(overflow(l, e, 0, needed, capacity, CLASS_NAME));
        }
        Err(e) => return Err(take_error(e, source)),
    }
    Ok(1)
}}

lua_fn! { fn clear(l) {
    this(l)?.elements.clear();
    Ok(0)
}}

lua_fn! { fn gc(l) {
    if let Some(x) = class::finalizing::<Reader>(l) {
        x.elements.free();
    }
    Ok(0)
}}
