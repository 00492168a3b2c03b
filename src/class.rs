//! Userdata classes: protected metatables registered by name, methods that
//! check `self` against the class metatable, and `type()` of a value.

use crate::ffi;
use crate::lua::{Error, Function, LResult, Lua};
use std::ffi::{CStr, c_int};

/// Registers (once per Lua state) the metatable `name` with `__name`,
/// `__metatable = name`, `__index` = the methods, and the metamethods.
/// Every method and metamethod gets the metatable as upvalue 1, which makes
/// the `self` check one pointer comparison, and the metatables of the
/// already registered classes `peers` as upvalues 2, 3, ... (see `peer`).
/// Leaves the metatable on the stack.
pub fn register(
    l: Lua,
    name: &CStr,
    methods: &[(&CStr, Function)],
    metamethods: &[(&CStr, Function)],
    peers: &[&CStr],
) {
    if !l.new_metatable(name) {
        return;
    }
    l.push_bytes(name.to_bytes());
    l.set_field(-2, c"__name");
    l.push_bytes(name.to_bytes());
    l.set_field(-2, c"__metatable");
    let metatable = l.abs_index(-1);
    let upvalues = 1 + peers.len() as c_int;
    let push_closure = |f: Function| {
        l.push_value(metatable);
        for peer in peers {
            l.get_registry_field(peer);
        }
        l.push_cclosure(f, upvalues);
    };
    l.new_table(0, methods.len() as c_int);
    for (method, f) in methods {
        push_closure(*f);
        l.set_field(-2, method);
    }
    l.set_field(-2, c"__index");
    for (method, f) in metamethods {
        push_closure(*f);
        l.set_field(-2, method);
    }
}

/// The payload of the userdata at `idx` if its metatable is upvalue
/// `upvalue`, else null. (A light userdata cannot have that metatable.)
fn instance_ptr(l: Lua, idx: c_int, upvalue: c_int) -> *mut std::ffi::c_void {
    let p = l.to_userdata(idx);
    if p.is_null() || !l.get_metatable(idx) {
        return std::ptr::null_mut();
    }
    let same = l.raw_equal(-1, ffi::lua_upvalueindex(upvalue));
    l.pop(1);
    if same { p } else { std::ptr::null_mut() }
}

/// The userdata at `idx` if it is of the `n`th peer class given to
/// `register` (n = 1, 2, ...), or None: the metatable compared with an
/// upvalue, not looked up by name.
pub fn peer<'a, T>(l: Lua, idx: c_int, n: c_int) -> Option<&'a mut T> {
    let p = instance_ptr(l, idx, 1 + n) as *mut T;
    // SAFETY: the metatable proves this userdata was created by us as a T.
    unsafe { p.as_mut() }
}

/// The userdata of class `name` at `idx` (checked against upvalue 1).
pub fn check<'a, T>(l: Lua, idx: c_int, name: &str) -> LResult<&'a mut T> {
    let p = instance_ptr(l, idx, 1) as *mut T;
    if p.is_null() {
        return Err(Error::type_error(l, idx, name));
    }
    // SAFETY: the metatable proves this userdata was created by us as a T.
    Ok(unsafe { &mut *p })
}

/// The userdata of a `__gc` call, or None for any other value: from 5.2 on,
/// a table given our metatable is finalized too, and `__gc` must not raise.
pub fn finalizing<'a, T>(l: Lua) -> Option<&'a mut T> {
    let p = instance_ptr(l, 1, 1) as *mut T;
    // SAFETY: the metatable proves this userdata was created by us as a T.
    unsafe { p.as_mut() }
}

/// Releases the `Arc` reference a userdata holds (from `Arc::into_raw`),
/// once: the pointer is nulled.
pub fn release_arc<T>(p: &mut *const T) {
    let p = std::mem::replace(p, std::ptr::null());
    if !p.is_null() {
        // SAFETY: p came from Arc::into_raw and is released exactly once.
        drop(unsafe { std::sync::Arc::from_raw(p) });
    }
}

/// The userdata of the registered class `name` at `idx`, or None.
pub fn test<'a, T>(l: Lua, idx: c_int, name: &CStr) -> Option<&'a mut T> {
    if l.has_registered_metatable(idx, name) {
        // SAFETY: the metatable proves this userdata was created by us as a T.
        Some(unsafe { &mut *(l.to_userdata(idx) as *mut T) })
    } else {
        None
    }
}

/// Creates a userdata holding `value` with the class metatable `name`
/// (already registered in this state) and leaves it on the stack.
pub fn push_new<T>(l: Lua, name: &CStr, value: T) -> *mut T {
    let p = l.new_userdata(value);
    l.get_registry_field(name);
    l.set_metatable(-2);
    p
}

/// `mtmsg.type(v)` / `mtstates.type(v)`: the `__name` of a userdata whose
/// metatable is registered under that name, else the basic type name.
pub fn type_name(l: Lua) -> LResult {
    if l.type_of(1) == ffi::LUA_TNONE {
        return Err(Error::arg(1, "value expected"));
    }
    if l.type_of(1) == ffi::LUA_TUSERDATA && l.get_metatable(1) {
        if l.get_field(-1, c"__name") == ffi::LUA_TSTRING {
            l.push_value(-1);
            let registered = l.raw_get(ffi::LUA_REGISTRYINDEX) == ffi::LUA_TTABLE && l.raw_equal(-1, -3);
            l.pop(1);
            if registered {
                return Ok(1);
            }
        }
        l.pop(2);
    }
    l.push_str(l.basic_type_name(1));
    Ok(1)
}

/// Quotes a name for error texts and `tostring`: `"..."` with NUL, `"` and
/// `\` escaped, other bytes raw.
pub fn quote(name: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in name {
        match c {
            0 => out.extend_from_slice(b"\\0"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

/// `class(id=N)` or `class(name="q",id=N)`, the object text of error messages.
pub fn describe(class: &str, name: Option<&[u8]>, id: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(class.len() + 32);
    out.extend_from_slice(class.as_bytes());
    out.push(b'(');
    if let Some(name) = name {
        out.extend_from_slice(b"name=");
        quote(name, &mut out);
        out.push(b',');
    }
    out.extend_from_slice(format!("id={})", id as i32).as_bytes());
    out
}

/// `class: 0x<address> (id=N)` / `(name="q",id=N)`, the `__tostring` text.
pub fn tostring(l: Lua, class: &str, name: Option<&[u8]>, id: u64) {
    let mut out = format!("{class}: {:p} ", l.to_pointer(1)).into_bytes();
    let d = describe("", name, id);
    out.extend_from_slice(&d);
    l.push_bytes(&out);
}
