//! The Receiver C API (`_capi_receiver`, 2.0.0): C code builds a message in
//! a writer and hands it to a receiver (a buffer here; states publish their
//! own vtable with the same writer functions).

use super::Header;
use super::notify::ErrorHandler;
use crate::core::encoding::{self, Value};
use crate::core::memory::{ByteArea, ReserveError};
use crate::core::time::Wait;
use crate::ffi::lua_State;
use std::ffi::{CStr, c_char, c_float, c_int, c_void};

pub const ID: &CStr = c"_capi_receiver";

/// A C API writer: the encoded elements of one message under construction.
pub struct Writer {
    pub elements: ByteArea,
}

pub type Object = c_void;

/// The Receiver C API vtable (size 128).
#[repr(C)]
pub struct Api {
    pub header: Header,
    pub to_receiver: unsafe extern "C-unwind" fn(*mut lua_State, c_int) -> *mut Object,
    pub retain: unsafe extern "C" fn(*mut Object),
    pub release: unsafe extern "C" fn(*mut Object),
    pub new_writer: unsafe extern "C" fn(usize, c_float) -> *mut Writer,
    pub free_writer: unsafe extern "C" fn(*mut Writer),
    pub msg_to_receiver:
        unsafe extern "C" fn(*mut Object, *mut Writer, c_int, c_int, ErrorHandler, *mut c_void) -> c_int,
    pub clear_writer: unsafe extern "C" fn(*mut Writer),
    pub add_boolean: unsafe extern "C" fn(*mut Writer, c_int) -> c_int,
    pub add_integer: unsafe extern "C" fn(*mut Writer, i64) -> c_int,
    pub add_number: unsafe extern "C" fn(*mut Writer, f64) -> c_int,
    pub add_string: unsafe extern "C" fn(*mut Writer, *const c_char, usize) -> c_int,
    pub add_bytes: unsafe extern "C" fn(*mut Writer, *const u8, usize) -> c_int,
    pub add_array: unsafe extern "C" fn(*mut Writer, c_int, usize) -> *mut c_void,
}

// SAFETY: the vtable is immutable and holds only function pointers.
unsafe impl Sync for Api {}

/// Element size of a C API array type (capi.md §1.5), None if unknown.
pub fn element_size(array_type: c_int) -> Option<u8> {
    Some(match array_type {
        1 | 2 => 1,
        3 | 4 => 2,
        5 | 6 | 9 => 4,
        7 | 8 | 10 | 11 | 12 => 8,
        _ => return None,
    })
}

pub unsafe extern "C" fn new_writer(capacity: usize, grow: c_float) -> *mut Writer {
    std::panic::catch_unwind(|| {
        Box::into_raw(Box::new(Writer {
            elements: ByteArea::with_capacity(capacity, grow as f64),
        }))
    })
    .unwrap_or(std::ptr::null_mut())
}

pub unsafe extern "C" fn free_writer(w: *mut Writer) {
    if !w.is_null() {
        // SAFETY: w came from new_writer and is freed once (caller contract).
        drop(unsafe { Box::from_raw(w) });
    }
}

pub unsafe extern "C" fn clear_writer(w: *mut Writer) {
    // SAFETY: caller contract: a live writer (NULL tolerated).
    if let Some(w) = unsafe { w.as_mut() } {
        w.elements.clear();
    }
}

/// 0 on success, -1 when a fixed-capacity writer would overflow, -2 when
/// allocation fails (one convention for buffers and states).
fn add_code(e: ReserveError) -> c_int {
    match e {
        ReserveError::OutOfMemory { .. } => -2,
        _ => -1,
    }
}

fn add_value(w: *mut Writer, v: Value) -> c_int {
    // SAFETY: caller contract: a live writer owned by this thread.
    let Some(w) = (unsafe { w.as_mut() }) else { return -2 };
    match w.elements.append(v.encoded_len()) {
        Ok(out) => {
            v.encode(out);
            0
        }
        Err(e) => add_code(e),
    }
}

pub unsafe extern "C" fn add_boolean(w: *mut Writer, b: c_int) -> c_int {
    add_value(w, Value::Boolean(b != 0))
}

pub unsafe extern "C" fn add_integer(w: *mut Writer, i: i64) -> c_int {
    add_value(w, Value::Integer(i))
}

pub unsafe extern "C" fn add_number(w: *mut Writer, n: f64) -> c_int {
    add_value(w, Value::Number(n))
}

pub unsafe extern "C" fn add_string(w: *mut Writer, s: *const c_char, len: usize) -> c_int {
    if s.is_null() && len > 0 {
        return -2;
    }
    // SAFETY: caller contract: a live writer owned by this thread.
    let Some(w) = (unsafe { w.as_mut() }) else { return -2 };
    // Room first: `len` is only trusted once the writer could hold it.
    let header = if len <= 255 { 2 } else { 9 };
    // Saturating: an absurd length is "too large" for a fixed writer (-1)
    // and an allocation failure for a growing one (-2).
    let total = len.saturating_add(header);
    match w.elements.append(total) {
        Ok(out) => {
            let bytes = if len == 0 {
                &[][..]
            } else {
                // SAFETY: caller contract: s is valid for len bytes.
                unsafe { std::slice::from_raw_parts(s as *const u8, len) }
            };
            Value::String(bytes).encode(out);
            0
        }
        Err(e) => add_code(e),
    }
}

/// One integer value (0..255) per byte.
pub unsafe extern "C" fn add_bytes(w: *mut Writer, s: *const u8, len: usize) -> c_int {
    if len == 0 {
        return 0;
    }
    if s.is_null() {
        return -2;
    }
    // SAFETY: caller contract: a live writer owned by this thread.
    let Some(w) = (unsafe { w.as_mut() }) else { return -2 };
    let total = len.saturating_mul(2);
    match w.elements.append(total) {
        Ok(out) => {
            // SAFETY: caller contract: s is valid for len bytes (the writer
            // could hold them, so len is not absurd).
            let bytes = unsafe { std::slice::from_raw_parts(s, len) };
            for (i, b) in bytes.iter().enumerate() {
                Value::Integer(*b as i64).encode(&mut out[2 * i..]);
            }
            0
        }
        Err(e) => add_code(e),
    }
}

/// Appends an array element and returns its (uninitialized) element bytes.
pub unsafe extern "C" fn add_array(w: *mut Writer, array_type: c_int, count: usize) -> *mut c_void {
    // SAFETY: caller contract: a live writer owned by this thread.
    let Some(w) = (unsafe { w.as_mut() }) else {
        return std::ptr::null_mut();
    };
    let Some(size) = element_size(array_type) else {
        return std::ptr::null_mut();
    };
    let Some(data_len) = (size as usize).checked_mul(count) else {
        return std::ptr::null_mut();
    };
    let Some(total) = data_len.checked_add(encoding::ARRAY_HEADER_LEN) else {
        return std::ptr::null_mut();
    };
    match w.elements.append(total) {
        Ok(out) => {
            let n = encoding::encode_array_header(out, array_type as u8, size, count);
            out[n..].as_mut_ptr() as *mut c_void
        }
        Err(_) => std::ptr::null_mut(),
    }
}

// ---- buffers ----------------------------------------------------------------

unsafe extern "C-unwind" fn buffer_to_receiver(l: *mut lua_State, idx: c_int) -> *mut Object {
    super::buffer::to_object(crate::lua::Lua(l), idx)
}

unsafe extern "C" fn buffer_retain(p: *mut Object) {
    // SAFETY: forwarded contract.
    unsafe { super::buffer::retain(p) }
}

unsafe extern "C" fn buffer_release(p: *mut Object) {
    // SAFETY: forwarded contract.
    unsafe { super::buffer::release(p) }
}

unsafe extern "C" fn buffer_msg_to_receiver(
    p: *mut Object,
    w: *mut Writer,
    clear: c_int,
    nonblock: c_int,
    eh: ErrorHandler,
    ehdata: *mut c_void,
) -> c_int {
    // SAFETY: caller contract: a retained buffer and a live writer.
    let (Some(b), Some(w)) = (unsafe { (p as *const crate::core::buffer::Buffer).as_ref() }, unsafe {
        w.as_mut()
    }) else {
        return 1;
    };
    let bytes = w.elements.bytes();
    let rc = match b.put(clear != 0, Wait::once(nonblock != 0), bytes.len(), |out| {
        out.copy_from_slice(bytes)
    }) {
        Ok(outcome) => super::buffer::outcome_code(outcome, eh, ehdata),
        Err(e) => super::buffer::put_error_code(&e),
    };
    if rc == 0 {
        w.elements.clear();
    }
    rc
}

pub static BUFFER_API: Api = Api {
    header: Header {
        version_major: 2,
        version_minor: 0,
        version_patch: 0,
        next_capi: std::ptr::null(),
    },
    to_receiver: buffer_to_receiver,
    retain: buffer_retain,
    release: buffer_release,
    new_writer,
    free_writer,
    msg_to_receiver: buffer_msg_to_receiver,
    clear_writer,
    add_boolean,
    add_integer,
    add_number,
    add_string,
    add_bytes,
    add_array,
};
