//! mtmsg, mtstates and mtthread for Lua 5.1-5.5 and LuaJIT, in one library.
//!
//! Layout: `core` is Lua-free (registry of ids and names, message encoding,
//! buffers and listeners, notifiers, abort, time); `capi` publishes and
//! consumes the C ABI vtables on top of it; `mtmsg`, `mtstates` and
//! `mtthread` are the thin Lua bindings; `lua` and `ffi` are our own Lua
//! bindings. The three `luaopen_*` functions are the only exported symbols.

// lua_Integer is isize on Lua 5.1/5.2/LuaJIT and i64 from 5.3 on: casts
// between them are needed on some versions and no-ops on others.
#![allow(clippy::unnecessary_cast)]

pub mod core;
pub mod ffi;
pub mod lua;

mod capi;
mod class;
mod mtmsg;
mod mtstates;
mod mtthread;
mod pin;

/// For the fuzz targets only (not an API): pushes the values of a
/// message's element bytes onto `l` as `buffer:nextmsg` does, tables
/// included; returns how many, or None when the bytes are refused (the
/// stack may then hold partial values: reset it).
#[doc(hidden)]
pub fn fuzz_push_message(l: lua::Lua, elements: &[u8]) -> Option<std::ffi::c_int> {
    mtmsg::message::push_values(l, elements, None, mtmsg::message::Candidates::none())
        .map(|(n, _)| n)
        .ok()
}

// The lib's unit-test harness links the vendored Lua (the cdylib never does).
#[cfg(test)]
include!(concat!(env!("OUT_DIR"), "/test_link.rs"));

/// `require "mtmsg"`
///
/// # Safety
/// Called by Lua with a live state.
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn luaopen_mtmsg(l: *mut ffi::lua_State) -> ffi::lua_Results {
    pin::keep_loaded();
    lua::entry(l, mtmsg::open)
}

/// `require "mtthread"`
///
/// # Safety
/// Called by Lua with a live state.
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn luaopen_mtthread(l: *mut ffi::lua_State) -> ffi::lua_Results {
    pin::keep_loaded();
    lua::entry(l, mtthread::open)
}

/// `require "mtstates"`
///
/// # Safety
/// Called by Lua with a live state.
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn luaopen_mtstates(l: *mut ffi::lua_State) -> ffi::lua_Results {
    pin::keep_loaded();
    lua::entry(l, mtstates::open)
}
