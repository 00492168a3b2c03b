//! `mtmsg.buffer` userdata: the buffer-only methods (the common ones are
//! in `shared`), and the message-taking code buffers and listeners share.

use super::errors;
use super::message::{self, Candidates};
use super::shared::{self, Shared, SharedRef};
use crate::capi::Missing;
use crate::class;
use crate::core::buffer::{Buffer, Front, TakeError};
use crate::core::listener::Source;
use crate::core::queue;
use crate::core::time::Wait;
use crate::ffi;
use crate::lua::{Error, LResult, Lua};
use crate::lua_fn;
use std::ffi::{CStr, c_int};

pub fn register(l: Lua) {
    let own: &[(&CStr, crate::lua::Function)] = &[
        (c"addmsg", addmsg),
        (c"setmsg", setmsg),
        (c"putmsg", putmsg),
        (c"msgcnt", msgcnt),
        (c"clear", clear),
        (c"nextmsg", nextmsg),
        (c"notifier", notifier),
    ];
    class::register(
        l,
        Buffer::CLASS,
        &[shared::methods::<Buffer>().as_slice(), own].concat(),
        &shared::metamethods::<Buffer>(),
        &[],
    );
    crate::capi::buffer::publish_all(l);
    l.pop(1);
}

fn this<'a>(l: Lua) -> LResult<(&'a mut SharedRef<Buffer>, &'a Buffer)> {
    shared::this::<Buffer>(l)
}

pub fn describe(b: &Buffer) -> Vec<u8> {
    shared::describe(b)
}

/// addmsg / setmsg / putmsg and the writer's share this: puts `len` bytes
/// written by `write` and returns the Lua result (true, false, or the error).
pub fn put_message(b: &Buffer, replace: bool, how: Wait, len: usize, write: impl FnOnce(&mut [u8])) -> LResult<bool> {
    match b.put(replace, how, len, write) {
        Ok(outcome) => errors::notified(outcome).map(|_| true),
        Err(e) => errors::put(e, &describe(b)),
    }
}

/// addmsg, setmsg and putmsg: the message is the arguments from `first`
/// on; `how` gets the reference's nonblock flag.
fn add_or_set(l: Lua, replace: bool, first: c_int, how: impl FnOnce(bool) -> LResult<Wait>) -> LResult {
    let (r, b) = this(l)?;
    let how = how(r.nonblock)?;
    let top = l.top();
    let mut args = message::Args::new(l, first, top);
    args.read()?;
    let ok = put_message(b, replace, how, args.len, |out| args.write(out))?;
    l.push_bool(ok);
    Ok(1)
}

lua_fn! { fn addmsg(l) { add_or_set(l, false, 2, |nonblock| Ok(Wait::once(nonblock))) }}

lua_fn! { fn setmsg(l) { add_or_set(l, true, 2, |nonblock| Ok(Wait::once(nonblock))) }}

// `putmsg(timeout, ...)` (an extension): addmsg that waits for room in a
// full fixed-size buffer, at most `timeout` seconds (nil: no limit).
lua_fn! { fn putmsg(l) {
    add_or_set(l, false, 3, |nonblock| Ok(Wait::from_timeout(timeout_arg(l, 2)?, nonblock)))
}}

/// An optional timeout in seconds at `idx`: a number (not NaN) or nil.
pub fn timeout_arg(l: Lua, idx: c_int) -> LResult<Option<f64>> {
    match l.type_of(idx) {
        ffi::LUA_TNONE | ffi::LUA_TNIL => Ok(None),
        ffi::LUA_TNUMBER if !l.raw_number(idx).is_nan() => Ok(Some(l.raw_number(idx))),
        _ => Err(Error::arg(idx, "timeout seconds or nil expected")),
    }
}

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

/// Messages up to this size are taken into a stack array, larger ones into
/// the thread's scratch vector (a large one's block changes places with it).
const SMALL_MESSAGE: usize = 64;

/// `nextmsg([timeout][, carray...])` of a buffer or listener: takes the
/// next message and pushes its values. Most calls have no arguments, which
/// one `lua_gettop` tells.
pub fn next_message(l: Lua, source: Source, nonblock: bool) -> LResult {
    let (wait, candidates) = if l.top() <= 1 {
        (Wait::from_timeout(None, nonblock), Candidates::none())
    } else {
        let (timeout, first_candidate) = timeout_and_candidates(l, 2)?;
        (
            Wait::from_timeout(timeout, nonblock),
            Candidates::from_args(l, first_candidate)?,
        )
    };
    let mut small = [0u8; SMALL_MESSAGE];
    let mut large: Option<Vec<u8>> = None;
    // Written by the taker: results returned through memory cost a
    // store-forwarding stall on every call (seen in profiles).
    let mut range = 0..0;
    let take = |m: &mut Front| -> Result<(), ()> {
        let bytes = m.bytes();
        if let Some(out) = small.get_mut(..bytes.len()) {
            out.copy_from_slice(bytes);
            range = 0..bytes.len();
            return Ok(());
        }
        let mut scratch = queue::take_scratch();
        range = m.move_into(&mut scratch);
        large = Some(scratch);
        Ok(())
    };
    let outcome = match source.take(wait, take) {
        Ok(None) => return Ok(0),
        Ok(Some(((), outcome))) => outcome,
        Err(e) => return Err(take_error(e, source)),
    };
    let bytes = match &large {
        Some(v) => v.get(range),
        None => small.get(range),
    };
    let pushed = message::push_values(l, bytes.unwrap_or_default(), None, candidates);
    if let Some(v) = large {
        queue::keep_scratch(v);
    }
    let (n, _) = pushed?;
    errors::notified(outcome)?;
    Ok(n)
}

lua_fn! { fn nextmsg(l) {
    let (r, b) = this(l)?;
    next_message(l, Source::Buffer(b), r.nonblock)
}}

/// The error text of a buffer or listener (only built for errors).
pub fn describe_source(source: Source) -> Vec<u8> {
    match source {
        Source::Buffer(b) => describe(b),
        Source::Listener(s) => shared::describe(s),
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
    crate::capi::notify::connect(l, b, &describe(b))
}}
