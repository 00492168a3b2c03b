//! Raw bindings to the Lua C API, laid out by Lua version.
//!
//! `mod.rs` declares what is identical in every supported Lua (5.1 to 5.5 and
//! LuaJIT 2.1, LP64); `lua51.rs` .. `lua55.rs` declare what differs. Nothing
//! here is linked: the symbols resolve from the host interpreter when Lua
//! loads our module. Every function that may raise a Lua error is declared
//! `C-unwind`, since LuaJIT raises by unwinding through our frames.
//!
//! Code outside `ffi` and `lua` never uses these directly; `crate::lua` wraps
//! them in a version-free layer.
#![allow(non_camel_case_types, non_snake_case, dead_code)]

use std::ffi::{c_char, c_int, c_void};

#[cfg(lua_api = "51")]
mod lua51;
#[cfg(lua_api = "51")]
pub use lua51::*;
#[cfg(lua_api = "52")]
mod lua52;
#[cfg(lua_api = "52")]
pub use lua52::*;
#[cfg(any(lua_api = "53", lua_api = "54", lua_api = "55"))]
mod lua53;
#[cfg(any(lua_api = "53", lua_api = "54", lua_api = "55"))]
pub use lua53::*;

/// Opaque interpreter state.
#[repr(C)]
pub struct lua_State {
    _private: [u8; 0],
}

pub type lua_Number = f64;
/// A Lua C function. Its C return type is `int`; ours is [`lua_Results`],
/// which fills the whole return register (see there).
pub type lua_CFunction = unsafe extern "C-unwind" fn(L: *mut lua_State) -> lua_Results;

/// What a `lua_CFunction` returns: the number of results, an `int` in C,
/// zero-extended to the full return register.
///
/// LuaJIT's interpreter on x64 (and the other 64-bit ports) uses all 64 bits
/// of the return register after calling a C function (`lea RA,
/// [BASE+RC*8]` in vm_x64.dasc), relying on what C compilers happen to emit
/// for an `int`: a 32-bit move, which clears the upper half. The ABI leaves
/// the upper half undefined, and optimised Rust does leave garbage there (a
/// `Result<c_int, _>` read back with a 64-bit load), which crashed LuaJIT
/// in `lj_vm_return` on the first `require`. Returning a register-wide
/// integer holding the zero-extended count makes the upper half zero by
/// construction; PUC Lua and every C caller read the low half, the same int.
/// On 32-bit targets `usize` is `int`-sized and nothing changes.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct lua_Results(usize);

impl lua_Results {
    /// `n` results (`n >= 0`; Lua C functions never return less).
    #[inline]
    pub const fn new(n: c_int) -> Self {
        Self(n as u32 as usize)
    }
}
pub type lua_Writer =
    unsafe extern "C-unwind" fn(L: *mut lua_State, p: *const c_void, sz: usize, ud: *mut c_void) -> c_int;
/// The `lua_Debug` argument is only passed on, never read, so its
/// version-specific layout does not matter here.
pub type lua_Hook = unsafe extern "C-unwind" fn(L: *mut lua_State, ar: *mut c_void);

pub const LUA_MULTRET: c_int = -1;

pub const LUA_TNONE: c_int = -1;
pub const LUA_TNIL: c_int = 0;
pub const LUA_TBOOLEAN: c_int = 1;
pub const LUA_TLIGHTUSERDATA: c_int = 2;
pub const LUA_TNUMBER: c_int = 3;
pub const LUA_TSTRING: c_int = 4;
pub const LUA_TTABLE: c_int = 5;
pub const LUA_TFUNCTION: c_int = 6;
pub const LUA_TUSERDATA: c_int = 7;
pub const LUA_TTHREAD: c_int = 8;

pub const LUA_OK: c_int = 0;
pub const LUA_ERRRUN: c_int = 2;
pub const LUA_ERRSYNTAX: c_int = 3;
pub const LUA_ERRMEM: c_int = 4;

pub const LUA_MASKCALL: c_int = 1;
pub const LUA_MASKRET: c_int = 2;
pub const LUA_MASKLINE: c_int = 4;
pub const LUA_MASKCOUNT: c_int = 8;

pub const LUA_MINSTACK: c_int = 20;

unsafe extern "C-unwind" {
    pub fn lua_close(L: *mut lua_State);
    pub fn lua_newthread(L: *mut lua_State) -> *mut lua_State;

    pub fn lua_gettop(L: *mut lua_State) -> c_int;
    pub fn lua_settop(L: *mut lua_State, idx: c_int);
    pub fn lua_pushvalue(L: *mut lua_State, idx: c_int);
    pub fn lua_checkstack(L: *mut lua_State, sz: c_int) -> c_int;
    pub fn lua_xmove(from: *mut lua_State, to: *mut lua_State, n: c_int);

    pub fn lua_isnumber(L: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_isstring(L: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_iscfunction(L: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_isuserdata(L: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_type(L: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_typename(L: *mut lua_State, tp: c_int) -> *const c_char;
    pub fn lua_rawequal(L: *mut lua_State, idx1: c_int, idx2: c_int) -> c_int;

    pub fn lua_toboolean(L: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_tolstring(L: *mut lua_State, idx: c_int, len: *mut usize) -> *const c_char;
    pub fn lua_tocfunction(L: *mut lua_State, idx: c_int) -> Option<lua_CFunction>;
    pub fn lua_touserdata(L: *mut lua_State, idx: c_int) -> *mut c_void;
    pub fn lua_tothread(L: *mut lua_State, idx: c_int) -> *mut lua_State;
    pub fn lua_topointer(L: *mut lua_State, idx: c_int) -> *const c_void;

    pub fn lua_pushnil(L: *mut lua_State);
    pub fn lua_pushnumber(L: *mut lua_State, n: lua_Number);
    pub fn lua_pushinteger(L: *mut lua_State, n: lua_Integer);
    pub fn lua_pushcclosure(L: *mut lua_State, f: lua_CFunction, n: c_int);
    pub fn lua_pushboolean(L: *mut lua_State, b: c_int);
    pub fn lua_pushlightuserdata(L: *mut lua_State, p: *mut c_void);
    pub fn lua_pushthread(L: *mut lua_State) -> c_int;

    pub fn lua_createtable(L: *mut lua_State, narr: c_int, nrec: c_int);
    pub fn lua_getmetatable(L: *mut lua_State, objindex: c_int) -> c_int;
    pub fn lua_setfield(L: *mut lua_State, idx: c_int, k: *const c_char);
    pub fn lua_rawset(L: *mut lua_State, idx: c_int);

    pub fn lua_error(L: *mut lua_State) -> c_int;
    pub fn lua_next(L: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_concat(L: *mut lua_State, n: c_int);
    pub fn lua_getupvalue(L: *mut lua_State, funcindex: c_int, n: c_int) -> *const c_char;

    pub fn luaL_newmetatable(L: *mut lua_State, tname: *const c_char) -> c_int;
    pub fn luaL_getmetafield(L: *mut lua_State, obj: c_int, e: *const c_char) -> c_int;
    pub fn luaL_argerror(L: *mut lua_State, numarg: c_int, extramsg: *const c_char) -> c_int;
    pub fn luaL_where(L: *mut lua_State, lvl: c_int);
    pub fn luaL_checkstack(L: *mut lua_State, sz: c_int, msg: *const c_char);
    pub fn luaL_newstate() -> *mut lua_State;
    pub fn luaL_ref(L: *mut lua_State, t: c_int) -> c_int;
    pub fn luaL_unref(L: *mut lua_State, t: c_int, r: c_int);
}

// ---- mtstates: standard library openers and debug interface ---------------
//
// Added for mtstates (libs = false puts the standard libraries into
// `package.preload`; tracebacks on 5.1). Kept together in this block.

unsafe extern "C-unwind" {
    pub fn luaopen_base(L: *mut lua_State) -> lua_Results;
    pub fn luaopen_package(L: *mut lua_State) -> lua_Results;
    pub fn luaopen_table(L: *mut lua_State) -> lua_Results;
    pub fn luaopen_io(L: *mut lua_State) -> lua_Results;
    pub fn luaopen_os(L: *mut lua_State) -> lua_Results;
    pub fn luaopen_string(L: *mut lua_State) -> lua_Results;
    pub fn luaopen_math(L: *mut lua_State) -> lua_Results;
    pub fn luaopen_debug(L: *mut lua_State) -> lua_Results;
    #[cfg(not(lua_api = "51"))]
    pub fn luaopen_coroutine(L: *mut lua_State) -> lua_Results;
    #[cfg(lua_api = "52")]
    pub fn luaopen_bit32(L: *mut lua_State) -> lua_Results;
    #[cfg(any(lua_api = "53", lua_api = "54", lua_api = "55"))]
    pub fn luaopen_utf8(L: *mut lua_State) -> lua_Results;
    #[cfg(not(lua_api = "51"))]
    pub fn luaL_requiref(L: *mut lua_State, modname: *const c_char, openf: lua_CFunction, glb: c_int);
    #[cfg(lua_api = "51")]
    pub fn lua_getstack(L: *mut lua_State, level: c_int, ar: *mut lua_Debug51) -> c_int;
    #[cfg(lua_api = "51")]
    pub fn lua_getinfo(L: *mut lua_State, what: *const c_char, ar: *mut lua_Debug51) -> c_int;
}

/// `lua_Debug` of Lua 5.1 and LuaJIT (LUA_IDSIZE 60).
#[cfg(lua_api = "51")]
#[repr(C)]
pub struct lua_Debug51 {
    pub event: c_int,
    pub name: *const c_char,
    pub namewhat: *const c_char,
    pub what: *const c_char,
    pub source: *const c_char,
    pub currentline: c_int,
    pub nups: c_int,
    pub linedefined: c_int,
    pub lastlinedefined: c_int,
    pub short_src: [c_char; 60],
    pub i_ci: c_int,
}
