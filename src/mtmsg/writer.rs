//! `mtmsg.writer`: builds a message element by element, then adds it to a
//! buffer in one step. A plain per-state object.

use super::buffer::{put_message, timeout_arg};
use super::errors;
use super::message;
use super::shared::{self, Shared};
use crate::class;
use crate::core::buffer::Buffer;
use crate::core::buffer::{DEFAULT_GROW, DEFAULT_SIZE};
use crate::core::memory::{ByteArea, ReserveError};
use crate::core::time::Wait;
use crate::lua::{Error, LResult, Lua};
use crate::lua_fn;
use std::ffi::CStr;

pub const CLASS: &CStr = c"mtmsg.writer";
const CLASS_NAME: &str = "mtmsg.writer";

pub struct Writer {
    elements: ByteArea,
}

pub fn register(l: Lua) {
    class::register(
        l,
        CLASS,
        &[
            (c"add", add),
            (c"addmsg", addmsg),
            (c"putmsg", putmsg),
            (c"setmsg", setmsg),
            (c"clear", clear),
        ],
        &[(c"__gc", gc)],
        &[Buffer::CLASS],
    );
    l.pop(1);
}

/// `[size[,grow]]` starting at argument 1 (no name).
fn size_args(l: Lua) -> LResult<(f64, f64)> {
    let size = if l.type_of(1) == crate::ffi::LUA_TNONE {
        DEFAULT_SIZE
    } else {
        l.check_number(1)?
    };
    let grow = if l.type_of(2) == crate::ffi::LUA_TNONE {
        DEFAULT_GROW
    } else {
        l.check_number(2)?
    };
    Ok((size, grow))
}

lua_fn! { pub fn new(l) {
    let (size, grow) = size_args(l)?;
    class::push_new(l, CLASS, Writer { elements: ByteArea::new(size, grow) });
    Ok(1)
}}

/// The text a writer or reader has in message_size errors: its default
/// `tostring` (5.3+ use `__name`, older versions say `userdata`).
pub fn default_tostring(l: Lua, class_name: &str) -> Vec<u8> {
    let prefix = if cfg!(any(lua_api = "51", lua_api = "52")) {
        "userdata"
    } else {
        class_name
    };
    format!("{prefix}: {:p}", l.to_pointer(1)).into_bytes()
}

/// A fixed-size writer or reader overflowed: message_size with the total
/// bytes it would need (mtmsg.md §6, edge case 57).
pub fn overflow(l: Lua, e: ReserveError, used: usize, n: usize, capacity: usize, class_name: &str) -> Error {
    match e {
        ReserveError::OutOfMemory { bytes } => errors::out_of_memory(bytes),
        _ => errors::message_size(used + n, capacity, &default_tostring(l, class_name)),
    }
}

fn this<'a>(l: Lua) -> LResult<&'a mut Writer> {
    class::check::<Writer>(l, 1, CLASS_NAME)
}

lua_fn! { fn add(l) {
    let w = this(l)?;
    let top = l.top();
    let mut args = message::Args::new(l, 2, top);
    args.read()?;
    let n = args.len;
    let used = w.elements.len();
    let capacity = w.elements.capacity();
    match w.elements.append(n) {
        Ok(out) => args.write(out),
        Err(e) => return Err(overflow(l, e, used, n, capacity, CLASS_NAME)),
    }
    Ok(0)
}}

/// addmsg, setmsg and putmsg: `how` gets the buffer reference's nonblock flag.
fn send(l: Lua, replace: bool, how: impl FnOnce(bool) -> Wait) -> LResult {
    let w = this(l)?;
    let Some(r) = shared::peer::<Buffer>(l, 2, 1) else {
        return Err(Error::type_error(l, 2, "mtmsg.buffer"));
    };
    let how = how(r.nonblock);
    let b = r
        .get()
        .ok_or_else(|| Error::plain("mtmsg: buffer reference already collected"))?;
    let bytes = w.elements.bytes();
    let ok = put_message(b, replace, how, bytes.len(), |out| out.copy_from_slice(bytes))?;
    if ok {
        w.elements.clear();
    }
    l.push_bool(ok);
    Ok(1)
}

lua_fn! { fn addmsg(l) { send(l, false, Wait::once) }}

lua_fn! { fn setmsg(l) { send(l, true, Wait::once) }}

// `putmsg(buffer [, timeout])` (an extension): addmsg that waits for room.
lua_fn! { fn putmsg(l) {
    let timeout = timeout_arg(l, 3)?;
    send(l, false, |nonblock| Wait::from_timeout(timeout, nonblock))
}}

lua_fn! { fn clear(l) {
    this(l)?.elements.clear();
    Ok(0)
}}

lua_fn! { fn gc(l) {
    if let Some(x) = class::finalizing::<Writer>(l) {
        x.elements.free();
    }
    Ok(0)
}}
