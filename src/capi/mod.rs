//! The C ABI vtables: published by our objects (Notify, Receiver, Sender)
//! and consumed from other objects (Notify, Carray), laid out exactly as
//! capi.md says (LP64).

pub mod buffer;
pub mod carray;
pub mod notify;
pub mod receiver;
pub mod sender;
pub mod state;

use crate::ffi;
use crate::lua::Lua;
use std::ffi::{CStr, c_int, c_void};

/// The first members of every C API vtable.
#[repr(C)]
pub struct Header {
    pub version_major: c_int,
    pub version_minor: c_int,
    pub version_patch: c_int,
    pub next_capi: *const c_void,
}

/// Why an object offers no usable C API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// Reason 1: an API is there, but no version in its chain is compatible.
    VersionMismatch,
    /// Reason 2: no (valid) API at all.
    NoApi,
}

/// Finds the C API published under `id` in the metatable of the value at
/// `idx` and walks its version chain (capi.md §1.2). Stack stays balanced.
pub fn find(l: Lua, idx: c_int, id: &CStr, major: c_int, minor: c_int) -> Result<*const Header, Missing> {
    if l.get_meta_field(idx, id) == ffi::LUA_TNIL {
        return Err(Missing::NoApi);
    }
    let id_bytes = id.to_bytes_with_nul();
    let ptr_size = std::mem::size_of::<*const c_void>();
    let ud = l.to_userdata(-1) as *const u8;
    let valid = l.type_of(-1) == ffi::LUA_TUSERDATA && !ud.is_null() && l.raw_len(-1) >= ptr_size + id_bytes.len();
    // SAFETY: the userdata has at least ptr_size + id length bytes (checked).
    let first = valid
        .then(|| unsafe {
            let tag = std::slice::from_raw_parts(ud.add(ptr_size), id_bytes.len());
            (tag == id_bytes).then(|| (ud as *const *const Header).read_unaligned())
        })
        .flatten();
    l.pop(1);
    let mut api = first.ok_or(Missing::NoApi)?;
    while !api.is_null() {
        // SAFETY: published vtables live for the process (capi.md §1.1) and
        // start with the common header.
        let h = unsafe { &*api };
        if h.version_major == major && h.version_minor >= minor {
            return Ok(api);
        }
        api = h.next_capi as *const Header;
    }
    Err(Missing::VersionMismatch)
}

/// Stores the C API `vtable` under `id` in the table on top (a metatable):
/// a userdata of pointer + id string, as capi.md §1.1 lays it out.
pub fn publish(l: Lua, id: &CStr, vtable: *const c_void) {
    let id_bytes = id.to_bytes_with_nul();
    let ptr_size = std::mem::size_of::<*const c_void>();
    let ud = l.new_raw_userdata(ptr_size + id_bytes.len());
    // SAFETY: ud has exactly ptr_size + id length bytes.
    unsafe {
        (ud as *mut *const c_void).write_unaligned(vtable);
        std::ptr::copy_nonoverlapping(id_bytes.as_ptr(), ud.add(ptr_size), id_bytes.len());
    }
    l.push_bytes(id.to_bytes());
    l.insert(-2);
    l.raw_set(-3);
}
