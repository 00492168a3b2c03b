//! The Sender C API (`_capi_sender`, 1.0.0): C code takes messages out of a
//! buffer into a reader and reads their values one by one.

use super::Header;
use super::notify::ErrorHandler;
use crate::core::buffer::{Buffer, TakeError};
use crate::core::encoding::{self, Value};
use crate::core::memory::{ByteArea, ReserveError};
use crate::core::time::Wait;
use crate::ffi::lua_State;
use std::ffi::{CStr, c_float, c_int, c_void};

pub const ID: &CStr = c"_capi_sender";

/// A C API reader: the remaining elements of the last message taken.
pub struct Reader {
    elements: ByteArea,
}

/// `sender_capi_value` (size 40).
#[repr(C)]
pub struct SenderValue {
    pub value_type: c_int,
    pub payload: [usize; 4],
}

const NONE: c_int = 0;
const NIL: c_int = 1;
const BOOLEAN: c_int = 2;
const INTEGER: c_int = 3;
const NUMBER: c_int = 4;
const LIGHTUSERDATA: c_int = 5;
const CFUNCTION: c_int = 6;
const STRING: c_int = 7;
const ARRAY: c_int = 8;
/// Our extension: a table, stepped over whole; its contents are not
/// exposed (`SENDER_CAPI_TYPE_TABLE` in include/sender_capi.h).
const TABLE: c_int = 9;

/// The Sender C API vtable (size 88).
#[repr(C)]
pub struct Api {
    pub header: Header,
    pub to_sender: unsafe extern "C-unwind" fn(*mut lua_State, c_int) -> *mut c_void,
    pub retain: unsafe extern "C" fn(*mut c_void),
    pub release: unsafe extern "C" fn(*mut c_void),
    pub new_reader: unsafe extern "C" fn(usize, c_float) -> *mut Reader,
    pub free_reader: unsafe extern "C" fn(*mut Reader),
    pub clear_reader: unsafe extern "C" fn(*mut Reader),
    pub next_value: unsafe extern "C" fn(*mut Reader, *mut SenderValue),
    pub next_message: unsafe extern "C" fn(*mut c_void, *mut Reader, c_int, f64, ErrorHandler, *mut c_void) -> c_int,
}

// SAFETY: the vtable is immutable and holds only function pointers.
unsafe impl Sync for Api {}

unsafe extern "C" fn new_reader(capacity: usize, grow: c_float) -> *mut Reader {
    std::panic::catch_unwind(|| {
        Box::into_raw(Box::new(Reader {
            elements: ByteArea::with_capacity(capacity, grow as f64),
        }))
    })
    .unwrap_or(std::ptr::null_mut())
}

unsafe extern "C" fn free_reader(r: *mut Reader) {
    if !r.is_null() {
        // SAFETY: r came from new_reader and is freed once (caller contract).
        drop(unsafe { Box::from_raw(r) });
    }
}

unsafe extern "C" fn clear_reader(r: *mut Reader) {
    // SAFETY: caller contract: a live reader (NULL tolerated).
    if let Some(r) = unsafe { r.as_mut() } {
        r.elements.clear();
    }
}

/// The next value, NONE when the message is exhausted. Pointers in the
/// value point into the reader and stay valid until the next reader call.
unsafe extern "C" fn next_value(r: *mut Reader, out: *mut SenderValue) {
    // SAFETY: caller contract: a live reader and a writable value.
    let (Some(r), Some(out)) = (unsafe { r.as_mut() }, unsafe { out.as_mut() }) else {
        return;
    };
    out.payload = [0; 4];
    let Some((v, n)) = encoding::decode(r.elements.bytes()) else {
        out.value_type = NONE;
        r.elements.clear();
        return;
    };
    out.value_type = match v {
        Value::Nil => NIL,
        Value::Boolean(b) => {
            out.payload[0] = b as usize;
            BOOLEAN
        }
        Value::Integer(i) => {
            out.payload[0] = i as usize;
            INTEGER
        }
        Value::Number(x) => {
            out.payload[0] = x.to_bits() as usize;
            NUMBER
        }
        Value::LightUserdata(p) => {
            out.payload[0] = p;
            LIGHTUSERDATA
        }
        Value::CFunction(p) => {
            out.payload[0] = p;
            CFUNCTION
        }
        Value::String(s) => {
            out.payload = [s.as_ptr() as usize, s.len(), 0, 0];
            STRING
        }
        Value::Array {
            elem_type,
            elem_size,
            count,
            data,
        } => {
            out.payload = [elem_type as usize, elem_size as usize, count, data.as_ptr() as usize];
            ARRAY
        }
        Value::Table(_) | Value::TableRef(_) => TABLE,
    };
    // The bytes stay in place until the next reader call (consume never moves them).
    r.elements.consume(n);
}

unsafe extern "C-unwind" fn to_sender(l: *mut lua_State, idx: c_int) -> *mut c_void {
    super::buffer::to_object(crate::lua::Lua(l), idx)
}

unsafe extern "C" fn retain(p: *mut c_void) {
    // SAFETY: forwarded contract.
    unsafe { super::buffer::retain(p) }
}

unsafe extern "C" fn release(p: *mut c_void) {
    // SAFETY: forwarded contract.
    unsafe { super::buffer::release(p) }
}

/// Moves the oldest message into the reader (cleared first). Codes: 0 read,
/// 1 closed, 2 aborted, 3 no message, 4 does not fit the reader, 5 out of
/// memory, 999 read but the "<" notifier failed.
unsafe extern "C" fn next_message(
    p: *mut c_void,
    r: *mut Reader,
    nonblock: c_int,
    timeout: f64,
    eh: ErrorHandler,
    ehdata: *mut c_void,
) -> c_int {
    // SAFETY: caller contract: a retained buffer and a live reader.
    let (Some(b), Some(r)) = (unsafe { (p as *const Buffer).as_ref() }, unsafe { r.as_mut() }) else {
        return 1;
    };
    r.elements.clear();
    let wait = if timeout < 0.0 {
        Wait::from_timeout(None, nonblock != 0)
    } else {
        Wait::from_timeout(Some(timeout), false)
    };
    let elements = &mut r.elements;
    let result = b.take(wait, |m| {
        let bytes = m.bytes();
        elements.append(bytes.len()).map(|out| out.copy_from_slice(bytes))
    });
    match result {
        Ok(None) => 3,
        Ok(Some(((), outcome))) => super::buffer::outcome_code(outcome, eh, ehdata),
        Err(TakeError::Closed) => 1,
        Err(TakeError::Aborted) => 2,
        Err(TakeError::NoBuffers) => 3,
        Err(TakeError::Rejected(ReserveError::OutOfMemory { .. })) => 5,
        Err(TakeError::Rejected(_)) => 4,
    }
}

pub static BUFFER_API: Api = Api {
    header: Header {
        version_major: 1,
        version_minor: 0,
        version_patch: 0,
        next_capi: std::ptr::null(),
    },
    to_sender,
    retain,
    release,
    new_reader,
    free_reader,
    clear_reader,
    next_value,
    next_message,
};
