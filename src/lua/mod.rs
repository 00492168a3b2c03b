//! A thin, version-free layer over the raw bindings in `crate::ffi`.
//!
//! Everything that differs between Lua versions is settled here, so the
//! bindings of mtmsg, mtstates and mtthread never mention a version.
//! [`Lua`] is a copyable handle on a `lua_State*`; its methods never raise a
//! Lua error except where noted (memory errors aside, as in any C module).
//! Errors are returned as [`Error`] and raised once, by [`entry`], after every
//! Rust value of the call has been dropped.

mod entry;
mod error;
mod values;

pub use entry::{Function, entry};
pub use error::{Error, LResult};

use crate::ffi;
use std::ffi::{CStr, c_char, c_int, c_void};

/// A Lua stack, valid for the duration of one C function call.
#[derive(Clone, Copy)]
pub struct Lua(pub *mut ffi::lua_State);

/// Lua's integer type in this build (64 bits on every supported platform).
pub type Integer = ffi::lua_Integer;

impl Lua {
    pub fn raw(self) -> *mut ffi::lua_State {
        self.0
    }

    // ---- stack -------------------------------------------------------------

    pub fn top(self) -> c_int {
        // SAFETY: self.0 is a live state (type invariant).
        unsafe { ffi::lua_gettop(self.0) }
    }

    pub fn set_top(self, idx: c_int) {
        // SAFETY: live state; callers pass valid indices.
        unsafe { ffi::lua_settop(self.0, idx) }
    }

    pub fn pop(self, n: c_int) {
        self.set_top(-n - 1)
    }

    pub fn push_value(self, idx: c_int) {
        // SAFETY: live state; valid index.
        unsafe { ffi::lua_pushvalue(self.0, idx) }
    }

    pub fn abs_index(self, idx: c_int) -> c_int {
        if idx > 0 || idx <= ffi::LUA_REGISTRYINDEX {
            idx
        } else {
            self.top() + idx + 1
        }
    }

    /// Grows the stack for `n` more values; false if that is impossible.
    pub fn check_stack(self, n: c_int) -> bool {
        // SAFETY: live state.
        unsafe { ffi::lua_checkstack(self.0, n) != 0 }
    }

    /// Moves the top value to position `idx`.
    pub fn insert(self, idx: c_int) {
        #[cfg(any(lua_api = "51", lua_api = "52"))]
        // SAFETY: live state; valid index.
        unsafe {
            ffi::lua_insert(self.0, idx)
        }
        #[cfg(not(any(lua_api = "51", lua_api = "52")))]
        // SAFETY: live state; valid index.
        unsafe {
            ffi::lua_rotate(self.0, idx, 1)
        }
    }

    pub fn remove(self, idx: c_int) {
        #[cfg(any(lua_api = "51", lua_api = "52"))]
        // SAFETY: live state; valid index.
        unsafe {
            ffi::lua_remove(self.0, idx)
        }
        #[cfg(not(any(lua_api = "51", lua_api = "52")))]
        // SAFETY: live state; valid index.
        unsafe {
            ffi::lua_rotate(self.0, idx, -1);
            ffi::lua_settop(self.0, -2);
        }
    }

    // ---- types -------------------------------------------------------------

    pub fn type_of(self, idx: c_int) -> c_int {
        // SAFETY: live state; lua_type accepts any acceptable index.
        unsafe { ffi::lua_type(self.0, idx) }
    }

    pub fn is_none_or_nil(self, idx: c_int) -> bool {
        self.type_of(idx) <= ffi::LUA_TNIL
    }

    /// The basic type name of the value at `idx` (`"no value"` for none).
    pub fn basic_type_name(self, idx: c_int) -> &'static str {
        match self.type_of(idx) {
            ffi::LUA_TNONE => "no value",
            ffi::LUA_TNIL => "nil",
            ffi::LUA_TBOOLEAN => "boolean",
            ffi::LUA_TLIGHTUSERDATA | ffi::LUA_TUSERDATA => "userdata",
            ffi::LUA_TNUMBER => "number",
            ffi::LUA_TSTRING => "string",
            ffi::LUA_TTABLE => "table",
            ffi::LUA_TFUNCTION => "function",
            ffi::LUA_TTHREAD => "thread",
            _ => "?",
        }
    }

    /// The type name that the standard "X expected, got Y" errors show:
    /// from 5.3 on a string `__name` metafield wins, and light userdata is
    /// named as such.
    pub fn error_type_name(self, idx: c_int) -> String {
        #[cfg(not(any(lua_api = "51", lua_api = "52")))]
        {
            if let Some(name) = self.meta_field_bytes(idx, c"__name") {
                return String::from_utf8_lossy(&name).into_owned();
            }
            if self.type_of(idx) == ffi::LUA_TLIGHTUSERDATA {
                return "light userdata".into();
            }
        }
        self.basic_type_name(idx).into()
    }

    // ---- reading values ----------------------------------------------------

    pub fn to_boolean(self, idx: c_int) -> bool {
        // SAFETY: live state.
        unsafe { ffi::lua_toboolean(self.0, idx) != 0 }
    }

    /// The number at `idx`, with Lua's string coercion; None if not convertible.
    pub fn to_number(self, idx: c_int) -> Option<f64> {
        #[cfg(lua_api = "51")]
        // SAFETY: live state.
        unsafe {
            if ffi::lua_isnumber(self.0, idx) != 0 {
                Some(ffi::lua_tonumber(self.0, idx))
            } else {
                None
            }
        }
        #[cfg(not(lua_api = "51"))]
        // SAFETY: live state; isnum is a valid out pointer.
        unsafe {
            let mut isnum = 0;
            let n = ffi::lua_tonumberx(self.0, idx, &mut isnum);
            if isnum != 0 { Some(n) } else { None }
        }
    }

    /// True if the value is a number stored as an integer (5.3+), or, on
    /// 5.1/5.2/LuaJIT, a number with an exactly representable integral value.
    pub fn is_integer(self, idx: c_int) -> bool {
        #[cfg(not(any(lua_api = "51", lua_api = "52")))]
        // SAFETY: live state.
        unsafe {
            ffi::lua_isinteger(self.0, idx) != 0
        }
        #[cfg(any(lua_api = "51", lua_api = "52"))]
        {
            self.type_of(idx) == ffi::LUA_TNUMBER && self.raw_number_as_integer(idx).is_some()
        }
    }

    /// On 5.1/5.2 (no integer subtype): the number at `idx` as an integer if
    /// its value is integral and in range.
    #[cfg(any(lua_api = "51", lua_api = "52"))]
    fn raw_number_as_integer(self, idx: c_int) -> Option<Integer> {
        // SAFETY: live state; the caller checked the type is number.
        let n = unsafe { ffi::lua_tonumber_compat(self.0, idx) };
        float_to_integer(n)
    }

    /// Reads an integer argument the way `luaL_checkinteger` does for this
    /// Lua version: 5.3+ needs an integral value ("number has no integer
    /// representation"), 5.1/5.2 truncate. Numeric strings are coerced.
    pub fn to_integer_arg(self, idx: c_int) -> IntegerArg {
        let Some(n) = self.to_number(idx) else {
            return IntegerArg::NotNumber;
        };
        #[cfg(not(any(lua_api = "51", lua_api = "52")))]
        {
            if self.is_integer(idx) {
                // SAFETY: live state; the value is an integer.
                return IntegerArg::Ok(unsafe { ffi::lua_tointegerx(self.0, idx, std::ptr::null_mut()) });
            }
            match float_to_integer(n) {
                Some(i) => IntegerArg::Ok(i),
                None => IntegerArg::NoIntegerRep,
            }
        }
        #[cfg(any(lua_api = "51", lua_api = "52"))]
        {
            // lua_tointeger truncates (like the C cast) on these versions.
            if n.is_nan() || !(i64::MIN as f64..-(i64::MIN as f64)).contains(&n) {
                return IntegerArg::Ok(if n > 0.0 { Integer::MAX } else { Integer::MIN });
            }
            IntegerArg::Ok(n as Integer)
        }
    }

    /// The integer value of a number at `idx` stored as integer (5.3+), or
    /// integral (5.1/5.2); None otherwise. No string coercion.
    pub fn to_exact_integer(self, idx: c_int) -> Option<Integer> {
        if self.type_of(idx) != ffi::LUA_TNUMBER {
            return None;
        }
        #[cfg(not(any(lua_api = "51", lua_api = "52")))]
        {
            if self.is_integer(idx) {
                // SAFETY: live state; the value is an integer.
                Some(unsafe { ffi::lua_tointegerx(self.0, idx, std::ptr::null_mut()) })
            } else {
                None
            }
        }
        #[cfg(any(lua_api = "51", lua_api = "52"))]
        {
            self.raw_number_as_integer(idx)
        }
    }

    /// The value of a number stored as an integer (caller checked `is_integer`).
    #[cfg(not(any(lua_api = "51", lua_api = "52")))]
    pub fn raw_integer(self, idx: c_int) -> Integer {
        // SAFETY: live state; the value is an integer.
        unsafe { ffi::lua_tointegerx(self.0, idx, std::ptr::null_mut()) }
    }

    /// The raw float of a number value (no coercion; caller checked the type).
    pub fn raw_number(self, idx: c_int) -> f64 {
        // SAFETY: live state.
        unsafe { ffi::lua_tonumber_compat(self.0, idx) }
    }

    /// The bytes of a string value (only strings: numbers are not converted,
    /// since `lua_tolstring` would change them in place).
    pub fn to_bytes<'a>(self, idx: c_int) -> Option<&'a [u8]> {
        if self.type_of(idx) != ffi::LUA_TSTRING {
            return None;
        }
        // SAFETY: live state; a string value stays alive while it is on the
        // stack, which callers guarantee for the lifetime they use.
        unsafe {
            let mut len = 0usize;
            let p = ffi::lua_tolstring(self.0, idx, &mut len);
            if p.is_null() {
                None
            } else {
                Some(std::slice::from_raw_parts(p as *const u8, len))
            }
        }
    }

    /// Like `lua_tolstring`: strings and numbers (numbers are converted in place).
    pub fn to_string_coerce<'a>(self, idx: c_int) -> Option<&'a [u8]> {
        // SAFETY: live state; see to_bytes.
        unsafe {
            let mut len = 0usize;
            let p = ffi::lua_tolstring(self.0, idx, &mut len);
            if p.is_null() {
                None
            } else {
                Some(std::slice::from_raw_parts(p as *const u8, len))
            }
        }
    }

    pub fn to_userdata(self, idx: c_int) -> *mut c_void {
        // SAFETY: live state.
        unsafe { ffi::lua_touserdata(self.0, idx) }
    }

    pub fn to_cfunction(self, idx: c_int) -> Option<ffi::lua_CFunction> {
        // SAFETY: live state.
        unsafe { ffi::lua_tocfunction(self.0, idx) }
    }

    pub fn is_cfunction(self, idx: c_int) -> bool {
        // SAFETY: live state.
        unsafe { ffi::lua_iscfunction(self.0, idx) != 0 }
    }

    pub fn to_pointer(self, idx: c_int) -> *const c_void {
        // SAFETY: live state.
        unsafe { ffi::lua_topointer(self.0, idx) }
    }

    pub fn raw_len(self, idx: c_int) -> usize {
        // SAFETY: live state.
        unsafe { ffi::lua_rawlen_compat(self.0, idx) }
    }

    pub fn raw_equal(self, a: c_int, b: c_int) -> bool {
        // SAFETY: live state.
        unsafe { ffi::lua_rawequal(self.0, a, b) != 0 }
    }

    // ---- pushing values ----------------------------------------------------

    pub fn push_nil(self) {
        // SAFETY: live state; callers keep stack space (LUA_MINSTACK or checked).
        unsafe { ffi::lua_pushnil(self.0) }
    }

    pub fn push_bool(self, b: bool) {
        // SAFETY: as push_nil.
        unsafe { ffi::lua_pushboolean(self.0, b as c_int) }
    }

    pub fn push_integer(self, n: Integer) {
        // SAFETY: as push_nil.
        unsafe { ffi::lua_pushinteger(self.0, n) }
    }

    pub fn push_number(self, n: f64) {
        // SAFETY: as push_nil.
        unsafe { ffi::lua_pushnumber(self.0, n) }
    }

    pub fn push_bytes(self, s: &[u8]) {
        // SAFETY: as push_nil; s is valid for s.len() bytes.
        unsafe {
            ffi::lua_pushlstring(self.0, s.as_ptr() as *const c_char, s.len());
        }
    }

    pub fn push_str(self, s: &str) {
        self.push_bytes(s.as_bytes())
    }

    #[allow(clippy::not_unsafe_ptr_arg_deref)] // stored by Lua, never dereferenced
    pub fn push_light_userdata(self, p: *mut c_void) {
        // SAFETY: as push_nil.
        unsafe { ffi::lua_pushlightuserdata(self.0, p) }
    }

    pub fn push_cfunction(self, f: ffi::lua_CFunction) {
        self.push_cclosure(f, 0)
    }

    pub fn push_cclosure(self, f: ffi::lua_CFunction, upvalues: c_int) {
        // SAFETY: as push_nil; `upvalues` values are on the stack.
        unsafe { ffi::lua_pushcclosure(self.0, f, upvalues) }
    }

    pub fn new_table(self, narr: c_int, nrec: c_int) {
        // SAFETY: as push_nil.
        unsafe { ffi::lua_createtable(self.0, narr, nrec) }
    }

    /// Creates a full userdata holding `value` (no user values).
    pub fn new_userdata<T>(self, value: T) -> *mut T {
        // SAFETY: live state; Lua aligns userdata memory to at least 8 bytes
        // (LUAI_MAXALIGN), enough for every T we store (checked below).
        unsafe {
            debug_assert!(std::mem::align_of::<T>() <= 8);
            let p = ffi::lua_newuserdata_compat(self.0, std::mem::size_of::<T>()) as *mut T;
            p.write(value);
            p
        }
    }

    /// Allocates a raw full userdata of `size` bytes.
    pub fn new_raw_userdata(self, size: usize) -> *mut u8 {
        // SAFETY: live state.
        unsafe { ffi::lua_newuserdata_compat(self.0, size) as *mut u8 }
    }

    // ---- tables and metatables ---------------------------------------------

    pub fn set_field(self, idx: c_int, key: &CStr) {
        // SAFETY: live state; the table is ours (no __newindex metamethods).
        unsafe { ffi::lua_setfield(self.0, idx, key.as_ptr()) }
    }

    /// `t[key]` without metamethods on our own tables; returns the value type.
    pub fn get_field(self, idx: c_int, key: &CStr) -> c_int {
        // SAFETY: live state.
        unsafe {
            ffi::lua_getfield(self.0, idx, key.as_ptr());
        }
        self.type_of(-1)
    }

    pub fn raw_get(self, idx: c_int) -> c_int {
        // SAFETY: live state; key on top.
        unsafe {
            ffi::lua_rawget(self.0, idx);
        }
        self.type_of(-1)
    }

    pub fn raw_set(self, idx: c_int) {
        // SAFETY: live state; key and value on top.
        unsafe { ffi::lua_rawset(self.0, idx) }
    }

    pub fn raw_get_index(self, idx: c_int, n: Integer) -> c_int {
        // SAFETY: live state.
        unsafe {
            ffi::lua_rawgeti(self.0, idx, n as _);
        }
        self.type_of(-1)
    }

    /// `lua_next`: raw traversal; the previous key is on top (nil to start).
    /// Pushes the next key and value and returns true, or pops the key and
    /// returns false at the end. The table must be at an absolute index and
    /// the key must be an unconverted key of that table.
    pub fn next(self, table: c_int) -> bool {
        // SAFETY: live state; table at `table`, key on top (caller contract).
        unsafe { ffi::lua_next(self.0, table) != 0 }
    }

    pub fn raw_set_index(self, idx: c_int, n: Integer) {
        // SAFETY: live state; value on top.
        unsafe { ffi::lua_rawseti(self.0, idx, n as _) }
    }

    /// Pushes the metatable of the value at `idx`; false (nothing pushed) if none.
    pub fn get_metatable(self, idx: c_int) -> bool {
        // SAFETY: live state.
        unsafe { ffi::lua_getmetatable(self.0, idx) != 0 }
    }

    pub fn set_metatable(self, idx: c_int) {
        // SAFETY: live state; metatable on top.
        unsafe {
            ffi::lua_setmetatable(self.0, idx);
        }
    }

    /// `luaL_newmetatable`: true if created, false if it existed; pushes it.
    pub fn new_metatable(self, name: &CStr) -> bool {
        // SAFETY: live state.
        unsafe { ffi::luaL_newmetatable(self.0, name.as_ptr()) != 0 }
    }

    /// Pushes `registry[name]`, returns its type.
    pub fn get_registry_field(self, name: &CStr) -> c_int {
        self.get_field(ffi::LUA_REGISTRYINDEX, name)
    }

    /// Pushes the raw metafield `field` of the value at `idx` if present
    /// (`luaL_getmetafield` semantics); returns its type or LUA_TNIL (nothing pushed).
    pub fn get_meta_field(self, idx: c_int, field: &CStr) -> c_int {
        // SAFETY: live state; luaL_getmetafield does a raw lookup.
        let t = unsafe { ffi::luaL_getmetafield(self.0, idx, field.as_ptr()) };
        // 5.1/5.2 return a boolean; normalize to the pushed value's type.
        if t == 0 { ffi::LUA_TNIL } else { self.type_of(-1) }
    }

    /// A string metafield's bytes, copied (stack left balanced).
    pub fn meta_field_bytes(self, idx: c_int, field: &CStr) -> Option<Vec<u8>> {
        let t = self.get_meta_field(idx, field);
        if t == ffi::LUA_TNIL {
            return None;
        }
        let r = if t == ffi::LUA_TSTRING {
            self.to_bytes(-1).map(|b| b.to_vec())
        } else {
            None
        };
        self.pop(1);
        r
    }

    /// True if the value at `idx` is a full userdata whose metatable is the
    /// one registered under `name`.
    pub fn has_registered_metatable(self, idx: c_int, name: &CStr) -> bool {
        if self.type_of(idx) != ffi::LUA_TUSERDATA || !self.get_metatable(idx) {
            return false;
        }
        self.get_registry_field(name);
        let same = self.raw_equal(-1, -2);
        self.pop(2);
        same
    }

    /// Sets the functions of `funcs` into the table on top.
    pub fn set_functions(self, funcs: &[(&CStr, Function)]) {
        for (name, f) in funcs {
            self.push_cfunction(*f);
            self.set_field(-2, name);
        }
    }

    /// Pushes the global `name`; returns its type.
    pub fn get_global(self, name: &CStr) -> c_int {
        #[cfg(lua_api = "51")]
        {
            self.get_field(ffi::LUA_GLOBALSINDEX, name)
        }
        #[cfg(not(lua_api = "51"))]
        {
            const LUA_RIDX_GLOBALS: Integer = 2;
            self.raw_get_index(ffi::LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
            let t = self.get_field(-1, name);
            self.remove(-2);
            t
        }
    }

    // ---- calls ---------------------------------------------------------------

    /// `lua_pcall`; returns the status code.
    pub fn pcall(self, nargs: c_int, nresults: c_int, msgh: c_int) -> c_int {
        #[cfg(lua_api = "51")]
        // SAFETY: live state; function and arguments are on the stack.
        unsafe {
            ffi::lua_pcall(self.0, nargs, nresults, msgh)
        }
        #[cfg(not(lua_api = "51"))]
        // SAFETY: as above.
        unsafe {
            ffi::lua_pcallk(self.0, nargs, nresults, msgh, 0, None)
        }
    }

    /// Loads a chunk (text or binary); returns the status code.
    pub fn load_buffer(self, code: &[u8], chunkname: &CStr) -> c_int {
        #[cfg(lua_api = "51")]
        // SAFETY: live state; code is valid for its length.
        unsafe {
            ffi::luaL_loadbuffer(self.0, code.as_ptr() as *const c_char, code.len(), chunkname.as_ptr())
        }
        #[cfg(not(lua_api = "51"))]
        // SAFETY: as above.
        unsafe {
            ffi::luaL_loadbufferx(
                self.0,
                code.as_ptr() as *const c_char,
                code.len(),
                chunkname.as_ptr(),
                std::ptr::null(),
            )
        }
    }

    /// `lua_dump` of the function on top, debug info kept. None if it fails.
    pub fn dump_function(self) -> Option<Vec<u8>> {
        unsafe extern "C-unwind" fn writer(
            _l: *mut ffi::lua_State,
            p: *const c_void,
            sz: usize,
            ud: *mut c_void,
        ) -> c_int {
            // Lua 5.5 ends a dump with a call that passes no data.
            if p.is_null() || sz == 0 {
                return 0;
            }
            // SAFETY: ud is the &mut Vec<u8> passed below; p is valid for sz bytes.
            unsafe {
                let out = &mut *(ud as *mut Vec<u8>);
                out.extend_from_slice(std::slice::from_raw_parts(p as *const u8, sz));
            }
            0
        }
        let mut out: Vec<u8> = Vec::new();
        let ud = &mut out as *mut Vec<u8> as *mut c_void;
        #[cfg(any(lua_api = "51", lua_api = "52"))]
        // SAFETY: live state; function on top; writer matches lua_Writer.
        let rc = unsafe { ffi::lua_dump(self.0, writer, ud) };
        #[cfg(not(any(lua_api = "51", lua_api = "52")))]
        // SAFETY: as above.
        let rc = unsafe { ffi::lua_dump(self.0, writer, ud, 0) };
        if rc == 0 { Some(out) } else { None }
    }

    /// The name of upvalue `n` of the function at `idx`, if it has one;
    /// pops the pushed upvalue value.
    pub fn upvalue_name(self, idx: c_int, n: c_int) -> Option<Vec<u8>> {
        // SAFETY: live state; lua_getupvalue pushes a value only when it
        // returns non-NULL.
        unsafe {
            let p = ffi::lua_getupvalue(self.0, idx, n);
            if p.is_null() {
                return None;
            }
            let name = CStr::from_ptr(p).to_bytes().to_vec();
            self.pop(1);
            Some(name)
        }
    }

    pub fn is_lua_function(self, idx: c_int) -> bool {
        self.type_of(idx) == ffi::LUA_TFUNCTION && !self.is_cfunction(idx)
    }

    /// Pushes the position prefix `luaL_where(L, level)` ("chunk:line: ").
    pub fn push_where(self, level: c_int) {
        // SAFETY: live state.
        unsafe { ffi::luaL_where(self.0, level) }
    }

    pub fn concat(self, n: c_int) {
        // SAFETY: live state; n values on the stack (strings or numbers here).
        unsafe { ffi::lua_concat(self.0, n) }
    }

    pub fn xmove_to(self, to: Lua, n: c_int) {
        // SAFETY: both states belong to the same global state (callers ensure).
        unsafe { ffi::lua_xmove(self.0, to.0, n) }
    }
}

/// Result of reading an integer argument.
pub enum IntegerArg {
    Ok(Integer),
    NotNumber,
    NoIntegerRep,
}

/// The integer value of `n` if it is integral and fits `Integer`.
pub fn float_to_integer(n: f64) -> Option<Integer> {
    // -2^63 and 2^63 are exact as f64; 2^63 itself does not fit.
    const MIN: f64 = i64::MIN as f64;
    if n.floor() == n && (MIN..-MIN).contains(&n) {
        Some(n as Integer)
    } else {
        None
    }
}

impl Lua {
    /// A fresh interpreter of the host's Lua (None when out of memory).
    pub fn new_state() -> Option<Lua> {
        // SAFETY: luaL_newstate has no preconditions.
        let l = unsafe { ffi::luaL_newstate() };
        if l.is_null() { None } else { Some(Lua(l)) }
    }

    /// Closes an interpreter made by `new_state`.
    ///
    /// # Safety
    /// No other reference to the state is used afterwards.
    pub unsafe fn close(self) {
        // SAFETY: forwarded contract.
        unsafe { ffi::lua_close(self.0) }
    }

    /// The message of the error value on top: strings as they are, other
    /// values as `(error object is a X value)` (the standalone interpreter's
    /// wording).
    pub fn error_message(self, idx: c_int) -> Vec<u8> {
        match self.type_of(idx) {
            ffi::LUA_TSTRING | ffi::LUA_TNUMBER => self.to_string_coerce(idx).unwrap_or_default().to_vec(),
            _ => format!("(error object is a {} value)", self.basic_type_name(idx)).into_bytes(),
        }
    }
}

/// Opens the standard libraries in a fresh state.
pub fn open_libs(l: Lua) {
    #[cfg(not(lua_api = "55"))]
    // SAFETY: live state.
    unsafe {
        ffi::luaL_openlibs(l.0)
    }
    #[cfg(lua_api = "55")]
    // SAFETY: live state.
    unsafe {
        ffi::luaL_openselectedlibs(l.0, !0, 0)
    }
}

// ---- added for mtstates ------------------------------------------------------

impl Lua {
    /// `lua_call`. It raises on error, so only raw C functions (no Rust
    /// value with a destructor alive, no `entry`) may use it.
    pub fn call(self, nargs: c_int, nresults: c_int) {
        #[cfg(lua_api = "51")]
        // SAFETY: live state; function and arguments are on the stack.
        unsafe {
            ffi::lua_call(self.0, nargs, nresults)
        }
        #[cfg(not(lua_api = "51"))]
        // SAFETY: as above.
        unsafe {
            ffi::lua_callk(self.0, nargs, nresults, 0, None)
        }
    }

    /// `lua_sethook`; safe to call from another thread as far as Lua goes
    /// (it only stores the hook fields), if the state stays alive meanwhile.
    pub fn set_hook(self, hook: Option<ffi::lua_Hook>, mask: c_int, count: c_int) {
        // SAFETY: live state (caller's contract).
        unsafe {
            ffi::lua_sethook(self.0, hook, mask, count);
        }
    }

    /// `luaL_ref(L, LUA_REGISTRYINDEX)`: pops the top value, returns its reference.
    pub fn make_ref(self) -> c_int {
        // SAFETY: live state; a value is on top.
        unsafe { ffi::luaL_ref(self.0, ffi::LUA_REGISTRYINDEX) }
    }

    /// Pushes the global `name` by raw access (no metamethods, cannot raise
    /// other than for memory); returns its type.
    pub fn push_raw_global(self, name: &CStr) -> c_int {
        #[cfg(lua_api = "51")]
        {
            self.push_bytes(name.to_bytes());
            self.raw_get(ffi::LUA_GLOBALSINDEX)
        }
        #[cfg(not(lua_api = "51"))]
        {
            const LUA_RIDX_GLOBALS: Integer = 2;
            self.raw_get_index(ffi::LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
            self.push_bytes(name.to_bytes());
            let t = self.raw_get(-2);
            self.remove(-2);
            t
        }
    }

    /// Pushes `msg` followed by "\nstack traceback:" and the stack from
    /// `level` on (level 0 = the running C function), as `luaL_traceback`
    /// does. For message handlers; raises nothing but memory errors. On 5.1
    /// (no luaL_traceback) `debug.traceback` is used when present, else an
    /// equivalent built from `lua_getstack` / `lua_getinfo`.
    pub fn push_traceback(self, msg: &[u8], level: c_int) {
        #[cfg(not(lua_api = "51"))]
        {
            self.push_bytes(msg);
            self.push_str("\n");
            // SAFETY: live state; a NULL message is allowed.
            unsafe { ffi::luaL_traceback(self.0, self.0, std::ptr::null(), level) };
            self.concat(3);
        }
        #[cfg(lua_api = "51")]
        {
            let top = self.top();
            if self.push_raw_global(c"debug") == ffi::LUA_TTABLE {
                self.push_str("traceback");
                if self.raw_get(-2) == ffi::LUA_TFUNCTION {
                    self.push_bytes(msg);
                    // One more level: debug.traceback itself is level 0.
                    self.push_integer((level + 1) as Integer);
                    if self.pcall(2, 1, 0) == ffi::LUA_OK && self.type_of(-1) == ffi::LUA_TSTRING {
                        self.insert(top + 1);
                        self.set_top(top + 1);
                        return;
                    }
                }
            }
            self.set_top(top);
            let text = self.traceback_51(msg, level);
            self.push_bytes(&text);
        }
    }

    /// The traceback text of Lua 5.1's `debug.traceback`, built by hand.
    #[cfg(lua_api = "51")]
    fn traceback_51(self, msg: &[u8], first: c_int) -> Vec<u8> {
        const LEVELS1: c_int = 12;
        const LEVELS2: c_int = 10;
        let cstr = |p: *const c_char| -> Vec<u8> {
            if p.is_null() {
                Vec::new()
            } else {
                // SAFETY: lua_getinfo fills NUL-terminated strings.
                unsafe { CStr::from_ptr(p) }.to_bytes().to_vec()
            }
        };
        let mut out = msg.to_vec();
        out.extend_from_slice(b"\nstack traceback:");
        // SAFETY: lua_Debug51 is plain data; all-zero is a valid value.
        let mut ar: ffi::lua_Debug51 = unsafe { std::mem::zeroed() };
        let mut level = first;
        let mut firstpart = true;
        // SAFETY (whole loop): live state; `ar` is a valid lua_Debug of this ABI.
        while unsafe { ffi::lua_getstack(self.0, level, &mut ar) } != 0 {
            level += 1;
            if level > LEVELS1 && firstpart {
                // SAFETY: as above.
                if unsafe { ffi::lua_getstack(self.0, level + LEVELS2, &mut ar) } == 0 {
                    level -= 1;
                } else {
                    out.extend_from_slice(b"\n\t...");
                    // SAFETY: as above.
                    while unsafe { ffi::lua_getstack(self.0, level + LEVELS2, &mut ar) } != 0 {
                        level += 1;
                    }
                }
                firstpart = false;
                continue;
            }
            // SAFETY: as above; `ar` was filled by lua_getstack.
            unsafe { ffi::lua_getinfo(self.0, c"Snl".as_ptr(), &mut ar) };
            // SAFETY: short_src is NUL-terminated by lua_getinfo.
            let short_src = unsafe { CStr::from_ptr(ar.short_src.as_ptr()) }.to_bytes().to_vec();
            out.extend_from_slice(b"\n\t");
            out.extend_from_slice(&short_src);
            out.push(b':');
            if ar.currentline > 0 {
                out.extend_from_slice(format!("{}:", ar.currentline).as_bytes());
            }
            let namewhat = cstr(ar.namewhat);
            let what = cstr(ar.what);
            if !namewhat.is_empty() {
                out.extend_from_slice(b" in function '");
                out.extend_from_slice(&cstr(ar.name));
                out.push(b'\'');
            } else if what.first() == Some(&b'm') {
                out.extend_from_slice(b" in main chunk");
            } else if matches!(what.first(), Some(b'C') | Some(b't')) {
                out.extend_from_slice(b" ?");
            } else {
                out.extend_from_slice(b" in function <");
                out.extend_from_slice(&short_src);
                out.extend_from_slice(format!(":{}>", ar.linedefined).as_bytes());
            }
        }
        out
    }

    /// Opens the base library and `package` in a fresh state and puts the
    /// other standard libraries into `package.preload` (loadable by
    /// `require`). May raise (memory errors): call it protected.
    pub fn open_base_with_preload(self) {
        #[cfg(lua_api = "51")]
        {
            self.push_cfunction(ffi::luaopen_base);
            self.push_str("");
            self.call(1, 0);
            self.push_cfunction(ffi::luaopen_package);
            self.push_str("package");
            self.call(1, 0);
            self.push_raw_global(c"package");
        }
        #[cfg(not(lua_api = "51"))]
        // SAFETY: live state; the openers are the host's standard ones.
        unsafe {
            ffi::luaL_requiref(self.0, c"_G".as_ptr(), ffi::luaopen_base, 1);
            self.pop(1);
            ffi::luaL_requiref(self.0, c"package".as_ptr(), ffi::luaopen_package, 1);
        }
        let libs: &[(&CStr, ffi::lua_CFunction)] = &[
            #[cfg(not(lua_api = "51"))]
            (c"coroutine", ffi::luaopen_coroutine),
            (c"table", ffi::luaopen_table),
            (c"io", ffi::luaopen_io),
            (c"os", ffi::luaopen_os),
            (c"string", ffi::luaopen_string),
            (c"math", ffi::luaopen_math),
            #[cfg(lua_api = "52")]
            (c"bit32", ffi::luaopen_bit32),
            #[cfg(any(lua_api = "53", lua_api = "54", lua_api = "55"))]
            (c"utf8", ffi::luaopen_utf8),
            (c"debug", ffi::luaopen_debug),
        ];
        if self.type_of(-1) == ffi::LUA_TTABLE {
            self.push_str("preload");
            if self.raw_get(-2) == ffi::LUA_TTABLE {
                for (name, f) in libs {
                    self.push_cfunction(*f);
                    self.set_field(-2, name);
                }
            }
            self.pop(1);
        }
        self.pop(1);
    }
}
