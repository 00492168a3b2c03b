//! What differs in the Lua 5.1 C API (also LuaJIT 2.1, which keeps the 5.1 ABI).
use super::{lua_Hook, lua_Number, lua_State, lua_Writer};
use std::ffi::{c_char, c_int, c_void};

pub type lua_Integer = isize;

pub const LUA_REGISTRYINDEX: c_int = -10000;
pub const LUA_GLOBALSINDEX: c_int = -10002;

pub const fn lua_upvalueindex(i: c_int) -> c_int {
    LUA_GLOBALSINDEX - i
}

unsafe extern "C-unwind" {
    pub fn lua_pushlstring(L: *mut lua_State, s: *const c_char, l: usize);
    pub fn lua_tonumber(L: *mut lua_State, idx: c_int) -> lua_Number;
    pub fn lua_tointeger(L: *mut lua_State, idx: c_int) -> lua_Integer;
    pub fn lua_objlen(L: *mut lua_State, idx: c_int) -> usize;
    pub fn lua_newuserdata(L: *mut lua_State, sz: usize) -> *mut c_void;
    pub fn lua_getfield(L: *mut lua_State, idx: c_int, k: *const c_char);
    pub fn lua_rawget(L: *mut lua_State, idx: c_int);
    pub fn lua_rawgeti(L: *mut lua_State, idx: c_int, n: c_int);
    pub fn lua_rawseti(L: *mut lua_State, idx: c_int, n: c_int);
    pub fn lua_setmetatable(L: *mut lua_State, objindex: c_int) -> c_int;
    pub fn lua_insert(L: *mut lua_State, idx: c_int);
    pub fn lua_remove(L: *mut lua_State, idx: c_int);
    pub fn lua_replace(L: *mut lua_State, idx: c_int);
    pub fn lua_call(L: *mut lua_State, nargs: c_int, nresults: c_int);
    pub fn lua_pcall(L: *mut lua_State, nargs: c_int, nresults: c_int, errfunc: c_int) -> c_int;
    pub fn lua_dump(L: *mut lua_State, writer: lua_Writer, data: *mut c_void) -> c_int;
    pub fn lua_sethook(L: *mut lua_State, func: Option<lua_Hook>, mask: c_int, count: c_int) -> c_int;
    pub fn luaL_loadbuffer(L: *mut lua_State, buff: *const c_char, sz: usize, name: *const c_char) -> c_int;
    pub fn luaL_openlibs(L: *mut lua_State);
}

// Uniform names for what the later versions spell differently.

/// # Safety
/// `L` is a live state.
pub unsafe fn lua_tonumber_compat(L: *mut lua_State, idx: c_int) -> lua_Number {
    // SAFETY: forwarded contract.
    unsafe { lua_tonumber(L, idx) }
}

/// # Safety
/// `L` is a live state.
pub unsafe fn lua_rawlen_compat(L: *mut lua_State, idx: c_int) -> usize {
    // SAFETY: forwarded contract.
    unsafe { lua_objlen(L, idx) }
}

/// # Safety
/// `L` is a live state.
pub unsafe fn lua_newuserdata_compat(L: *mut lua_State, sz: usize) -> *mut c_void {
    // SAFETY: forwarded contract.
    unsafe { lua_newuserdata(L, sz) }
}
