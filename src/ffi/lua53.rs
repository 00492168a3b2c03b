//! What differs in the Lua 5.3, 5.4 and 5.5 C APIs (from 5.1, and between them).
use super::{lua_Hook, lua_Number, lua_State, lua_Writer};
use std::ffi::{c_char, c_int, c_void};

pub type lua_Integer = i64;
pub type lua_KContext = isize;
pub type lua_KFunction =
    Option<unsafe extern "C-unwind" fn(L: *mut lua_State, status: c_int, ctx: lua_KContext) -> c_int>;

#[cfg(not(lua_api = "55"))]
pub const LUA_REGISTRYINDEX: c_int = -1_000_000 - 1000;
#[cfg(lua_api = "55")]
pub const LUA_REGISTRYINDEX: c_int = -(c_int::MAX / 2 + 1000);

pub const fn lua_upvalueindex(i: c_int) -> c_int {
    LUA_REGISTRYINDEX - i
}

unsafe extern "C-unwind" {
    pub fn lua_pushlstring(L: *mut lua_State, s: *const c_char, l: usize) -> *const c_char;
    pub fn lua_tonumberx(L: *mut lua_State, idx: c_int, isnum: *mut c_int) -> lua_Number;
    pub fn lua_tointegerx(L: *mut lua_State, idx: c_int, isnum: *mut c_int) -> lua_Integer;
    pub fn lua_isinteger(L: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_rawlen(L: *mut lua_State, idx: c_int) -> usize;
    #[cfg(lua_api = "53")]
    pub fn lua_newuserdata(L: *mut lua_State, sz: usize) -> *mut c_void;
    #[cfg(not(lua_api = "53"))]
    pub fn lua_newuserdatauv(L: *mut lua_State, sz: usize, nuvalue: c_int) -> *mut c_void;
    pub fn lua_getfield(L: *mut lua_State, idx: c_int, k: *const c_char) -> c_int;
    pub fn lua_rawget(L: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_rawgeti(L: *mut lua_State, idx: c_int, n: lua_Integer) -> c_int;
    pub fn lua_rawseti(L: *mut lua_State, idx: c_int, n: lua_Integer);
    pub fn lua_setmetatable(L: *mut lua_State, objindex: c_int) -> c_int;
    pub fn lua_rotate(L: *mut lua_State, idx: c_int, n: c_int);
    pub fn lua_copy(L: *mut lua_State, fromidx: c_int, toidx: c_int);
    pub fn lua_callk(L: *mut lua_State, nargs: c_int, nresults: c_int, ctx: lua_KContext, k: lua_KFunction);
    pub fn lua_pcallk(
        L: *mut lua_State,
        nargs: c_int,
        nresults: c_int,
        errfunc: c_int,
        ctx: lua_KContext,
        k: lua_KFunction,
    ) -> c_int;
    pub fn lua_dump(L: *mut lua_State, writer: lua_Writer, data: *mut c_void, strip: c_int) -> c_int;
    #[cfg(lua_api = "53")]
    pub fn lua_sethook(L: *mut lua_State, func: Option<lua_Hook>, mask: c_int, count: c_int) -> c_int;
    #[cfg(not(lua_api = "53"))]
    pub fn lua_sethook(L: *mut lua_State, func: Option<lua_Hook>, mask: c_int, count: c_int);
    pub fn luaL_loadbufferx(
        L: *mut lua_State,
        buff: *const c_char,
        sz: usize,
        name: *const c_char,
        mode: *const c_char,
    ) -> c_int;
    #[cfg(not(lua_api = "55"))]
    pub fn luaL_openlibs(L: *mut lua_State);
    #[cfg(lua_api = "55")]
    pub fn luaL_openselectedlibs(L: *mut lua_State, load: c_int, preload: c_int);
    pub fn luaL_traceback(L: *mut lua_State, L1: *mut lua_State, msg: *const c_char, level: c_int);
}

// Uniform names for what the versions spell differently.

/// # Safety
/// `L` is a live state.
pub unsafe fn lua_tonumber_compat(L: *mut lua_State, idx: c_int) -> lua_Number {
    // SAFETY: forwarded contract; a NULL isnum is allowed.
    unsafe { lua_tonumberx(L, idx, std::ptr::null_mut()) }
}

/// # Safety
/// `L` is a live state.
pub unsafe fn lua_rawlen_compat(L: *mut lua_State, idx: c_int) -> usize {
    // SAFETY: forwarded contract.
    unsafe { lua_rawlen(L, idx) }
}

/// # Safety
/// `L` is a live state.
pub unsafe fn lua_newuserdata_compat(L: *mut lua_State, sz: usize) -> *mut c_void {
    #[cfg(lua_api = "53")]
    // SAFETY: forwarded contract.
    unsafe {
        lua_newuserdata(L, sz)
    }
    #[cfg(not(lua_api = "53"))]
    // SAFETY: forwarded contract; we use no user values.
    unsafe {
        lua_newuserdatauv(L, sz, 0)
    }
}
