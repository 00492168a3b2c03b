//! The `mtmsg` Lua module: message buffers, listeners, writers and readers.

mod buffer;
mod errors;
pub mod fd_notifier;
mod listener;
pub mod message;
mod reader;
pub mod tables;
mod writer;

mod shared;

pub use errors::{has_notifier, object_closed};
pub use message::Args;
pub use shared::test as shared_userdata;

use crate::class;
use crate::core::abort;
use crate::core::buffer::{Buffer, DEFAULT_GROW, DEFAULT_SIZE, abort_all};
use crate::core::listener::Listener;
use crate::core::registry::Found;
use crate::core::time;
use crate::ffi;
use crate::lua::{Error, LResult, Lua};
use crate::lua_fn;
use std::ffi::c_int;
use std::sync::Arc;

pub const VERSION: &str = concat!("mtmsg ", env!("CARGO_PKG_VERSION"));
pub const INFO: &str = "atomic:RUST,thread:RUST";

pub fn open(l: Lua) -> LResult {
    buffer::register(l);
    listener::register(l);
    writer::register(l);
    reader::register(l);
    fd_notifier::register(l);

    l.new_table(0, 16);
    l.set_functions(&[
        (c"newbuffer", newbuffer),
        (c"buffer", buffer_lookup),
        (c"newlistener", newlistener),
        (c"listener", listener_lookup),
        (c"newwriter", writer::new),
        (c"newreader", reader::new),
        (c"newfdnotifier", fd_notifier::new),
        (c"abort", abort_fn),
        (c"isabort", isabort),
        (c"time", time_fn),
        (c"sleep", sleep),
        (c"type", type_fn),
    ]);
    set_module_info(l, "mtmsg", &errors::NAMES, VERSION);
    Ok(1)
}

/// Sets `error`, `_VERSION` and `_INFO` in the module table on top.
pub fn set_module_info(l: Lua, module: &str, error_names: &[&str], version: &str) {
    push_error_table(l, module, error_names);
    l.set_field(-2, c"error");
    l.push_str(version);
    l.set_field(-2, c"_VERSION");
    l.push_str(INFO);
    l.set_field(-2, c"_INFO");
}

/// A table `{ name = "<module>.error.<name>" }`.
fn push_error_table(l: Lua, module: &str, names: &[&str]) {
    l.new_table(0, names.len() as c_int);
    for name in names {
        l.push_str(name);
        l.push_str(&format!("{module}.error.{name}"));
        l.raw_set(-3);
    }
}

/// `[name,][size[,grow]]` starting at `first`: a name only if that argument
/// is a string; size and grow with number coercion (mtmsg.md §4).
pub fn buffer_args<'a>(l: Lua, first: c_int) -> LResult<(Option<&'a [u8]>, f64, f64)> {
    let (name, next) = if l.type_of(first) == ffi::LUA_TSTRING {
        (l.to_bytes(first), first + 1)
    } else {
        (None, first)
    };
    let size = if l.type_of(next) == ffi::LUA_TNONE {
        DEFAULT_SIZE
    } else {
        l.check_number(next)?
    };
    let grow = if l.type_of(next + 1) == ffi::LUA_TNONE {
        DEFAULT_GROW
    } else {
        l.check_number(next + 1)?
    };
    Ok((name, size, grow))
}

lua_fn! { fn newbuffer(l) {
    let (name, size, grow) = buffer_args(l, 1)?;
    let b = Buffer::new(name, size, grow).ok_or_else(errors::aborted)?;
    shared::push(l, b);
    Ok(1)
}}

/// An id or name argument, as the lookups take it (mtmsg.md §3).
pub enum Key<'a> {
    Id(u64),
    Name(&'a [u8]),
}

pub fn key_arg<'a>(l: Lua, idx: c_int, what: &str) -> LResult<Key<'a>> {
    if l.type_of(idx) == ffi::LUA_TSTRING {
        return Ok(Key::Name(l.to_bytes(idx).unwrap_or_default()));
    }
    match l.to_exact_integer(idx) {
        Some(id) => Ok(Key::Id(id as u64)),
        None => Err(Error::arg(idx, format!("{what} name or id expected"))),
    }
}

/// The `unknown_object` / `ambiguous_name` errors of a lookup.
pub fn lookup_error(module: &str, error: &str, what: &str, key: &Key) -> Error {
    let mut b = format!("{module}.error.{error}: {what} ").into_bytes();
    match key {
        Key::Id(id) => b.extend_from_slice(format!("id {}", *id as i32).as_bytes()),
        Key::Name(n) => {
            b.extend_from_slice(b"name ");
            class::quote(n, &mut b);
        }
    }
    Error::Bytes(b)
}

fn find<T>(l: Lua, what: &str, by_id: fn(u64) -> Option<Arc<T>>, by_name: fn(&[u8]) -> Found<T>) -> LResult<Arc<T>> {
    let key = key_arg(l, 1, what)?;
    if abort::is_aborted() {
        return Err(errors::aborted());
    }
    let found = match key {
        Key::Id(id) => by_id(id).ok_or(false),
        Key::Name(n) => match by_name(n) {
            Found::One(o) => Ok(o),
            Found::None => Err(false),
            Found::Ambiguous => Err(true),
        },
    };
    found.map_err(|ambiguous| {
        lookup_error(
            "mtmsg",
            if ambiguous { "ambiguous_name" } else { "unknown_object" },
            what,
            &key,
        )
    })
}

lua_fn! { fn buffer_lookup(l) {
    let b = find(l, "buffer", Buffer::find_id, Buffer::find_name)?;
    shared::push(l, b);
    Ok(1)
}}

lua_fn! { fn newlistener(l) {
    let name = if l.type_of(1) == ffi::LUA_TNONE { None } else if l.type_of(1) == ffi::LUA_TSTRING {
        l.to_bytes(1)
    } else {
        return Err(Error::type_error(l, 1, "string"));
    };
    let listener = Listener::new(name).ok_or_else(errors::aborted)?;
    shared::push(l, listener);
    Ok(1)
}}

lua_fn! { fn listener_lookup(l) {
    let found = find(l, "listener", Listener::find_id, Listener::find_name)?;
    shared::push(l, found);
    Ok(1)
}}

lua_fn! { fn abort_fn(l) {
    let flag = l.opt_boolean_strict(1)?.unwrap_or(true);
    abort_all(flag);
    Ok(0)
}}

lua_fn! { fn isabort(l) {
    l.push_bool(abort::is_aborted());
    Ok(1)
}}

lua_fn! { fn time_fn(l) {
    l.push_number(time::now_seconds());
    Ok(1)
}}

lua_fn! { fn sleep(l) {
    let t = l.check_number(1)?;
    if !abort::sleep(t) {
        return Err(errors::aborted());
    }
    Ok(0)
}}

lua_fn! { fn type_fn(l) { class::type_name(l) }}
