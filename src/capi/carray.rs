//! Consumer side of the Carray C API (`_capi_carray`, major 1): reading
//! carrays passed in messages and creating or reusing them on receipt.

use super::{Header, Missing, find};
use crate::ffi::lua_State;
use crate::lua::{Error, LResult, Lua};
use std::ffi::{c_int, c_void};

pub const ID: &std::ffi::CStr = c"_capi_carray";

/// `carray_info` (size 32).
#[repr(C)]
#[derive(Default)]
pub struct Info {
    pub element_type: c_int,
    pub attr: c_int,
    pub element_size: usize,
    pub element_count: usize,
    pub element_capacity: usize,
}

/// The Carray C API vtable (size 112).
#[repr(C)]
pub struct Api {
    pub header: Header,
    pub new_carray:
        Option<unsafe extern "C-unwind" fn(*mut lua_State, c_int, c_int, usize, *mut *mut c_void) -> *mut c_void>,
    pub new_carray_ref: Option<unsafe extern "C-unwind" fn()>,
    pub to_readable: Option<unsafe extern "C-unwind" fn(*mut lua_State, c_int, *mut Info) -> *const c_void>,
    pub to_writable: Option<unsafe extern "C-unwind" fn(*mut lua_State, c_int, *mut Info) -> *mut c_void>,
    pub retain: Option<unsafe extern "C" fn(*const c_void)>,
    pub release: Option<unsafe extern "C" fn(*const c_void)>,
    pub writable_ptr: Option<unsafe extern "C" fn(*mut c_void, usize, usize) -> *mut c_void>,
    pub readable_ptr: Option<unsafe extern "C" fn(*const c_void, usize, usize) -> *const c_void>,
    pub resize: Option<unsafe extern "C" fn(*mut c_void, usize, c_int) -> *mut c_void>,
    pub insert: Option<unsafe extern "C" fn()>,
    pub remove: Option<unsafe extern "C" fn()>,
}

/// The API of the carray at `idx`, if the value publishes one.
pub fn api_of(l: Lua, idx: c_int) -> Result<&'static Api, Missing> {
    // SAFETY: a vtable found under `_capi_carray` with major 1 has this layout
    // and lives for the process.
    find(l, idx, ID, 1, 0).map(|p| unsafe { &*(p as *const Api) })
}

/// A readable carray's element type, size, count and bytes.
pub struct Readable<'a> {
    pub elem_type: u8,
    pub elem_size: u8,
    pub count: usize,
    pub data: &'a [u8],
}

/// Reads the carray at `idx` for sending. Ok(None) if the value is not a carray.
pub fn readable<'a>(l: Lua, idx: c_int) -> Result<Option<Readable<'a>>, Missing> {
    let api = match api_of(l, idx) {
        Ok(api) => api,
        Err(Missing::NoApi) => return Ok(None),
        Err(e) => return Err(e),
    };
    let (Some(to_readable), Some(readable_ptr)) = (api.to_readable, api.readable_ptr) else {
        return Ok(None);
    };
    let mut info = Info::default();
    // SAFETY: API contract: checks the value at idx, fills info.
    let arr = unsafe { to_readable(l.raw(), idx, &mut info) };
    if arr.is_null() || info.element_size > 255 {
        return Ok(None);
    }
    let len = info.element_size.saturating_mul(info.element_count);
    let data = if len == 0 {
        &[][..]
    } else {
        // SAFETY: the carray owns element_count elements; the value stays on
        // the caller's stack (unchanged) while the slice is used.
        let p = unsafe { readable_ptr(arr, 0, info.element_count) } as *const u8;
        if p.is_null() {
            return Ok(None);
        }
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts(p, len) }
    };
    Ok(Some(Readable {
        elem_type: info.element_type as u8,
        elem_size: info.element_size as u8,
        count: info.element_count,
        data,
    }))
}

/// A caller-supplied carray to reuse on receipt.
pub struct Candidate {
    pub idx: c_int,
    api: &'static Api,
    arr: *mut c_void,
    elem_type: c_int,
    elem_size: usize,
}

/// Checks a candidate argument (non-nil): a writable carray of a known API.
pub fn candidate(l: Lua, idx: c_int) -> LResult<Candidate> {
    let api = match api_of(l, idx) {
        Ok(api) => api,
        Err(Missing::VersionMismatch) => return Err(Error::arg(idx, "incompatible carray capi version number")),
        Err(Missing::NoApi) => return Err(Error::arg(idx, "carray expected")),
    };
    let mut info = Info::default();
    let arr = api.to_writable.map_or(std::ptr::null_mut(), |f| {
        // SAFETY: API contract: checks the value at idx, fills info.
        unsafe { f(l.raw(), idx, &mut info) }
    });
    if arr.is_null() {
        let readable = api.to_readable.is_some_and(|f| {
            // SAFETY: API contract (info may be NULL).
            unsafe { !f(l.raw(), idx, std::ptr::null_mut()).is_null() }
        });
        return Err(Error::arg(
            idx,
            if readable {
                "writable carray expected"
            } else {
                "carray expected"
            },
        ));
    }
    Ok(Candidate {
        idx,
        api,
        arr,
        elem_type: info.element_type,
        elem_size: info.element_size,
    })
}

impl Candidate {
    pub fn matches(&self, elem_type: u8, elem_size: u8) -> bool {
        self.elem_type == elem_type as c_int && self.elem_size == elem_size as usize
    }

    /// Resizes to `count` elements and copies `data` in.
    pub fn fill(&self, l: Lua, count: usize, data: &[u8]) -> LResult<()> {
        let resize = self
            .api
            .resize
            .ok_or_else(|| Error::arg(self.idx, "cannot resize carray"))?;
        // SAFETY: API contract; arr is the writable carray at idx, alive on the stack.
        let p = unsafe { resize(self.arr, count, 0) } as *mut u8;
        if count == 0 {
            // NULL is also "no storage" for an empty array: that is success.
            return Ok(());
        }
        if p.is_null() {
            return Err(Error::arg(self.idx, "cannot resize carray"));
        }
        let _ = l;
        // SAFETY: after a successful resize the storage holds count elements,
        // exactly data.len() bytes.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) };
        Ok(())
    }

    pub fn reset(&self) {
        if let Some(resize) = self.api.resize {
            // SAFETY: API contract; shrinking to 0 cannot fail meaningfully.
            unsafe { resize(self.arr, 0, 0) };
        }
    }
}

/// Creates a new writable carray with `data` and pushes it, using the API of
/// the `carray` module required in this state (table at `module_idx`).
pub fn push_new(l: Lua, api: &Api, elem_type: u8, count: usize, data: &[u8]) -> LResult<()> {
    let new = api.new_carray.ok_or_else(|| Error::plain("carray capi not found"))?;
    let mut p: *mut c_void = std::ptr::null_mut();
    // SAFETY: API contract: pushes the new carray (or raises on OOM).
    let arr = unsafe { new(l.raw(), elem_type as c_int, 0, count, &mut p) };
    if arr.is_null() {
        return Err(Error::located(format!(
            "internal error creating carray for type {elem_type}"
        )));
    }
    if count > 0 && !p.is_null() {
        // SAFETY: newCarray returned storage for count elements of this type.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p as *mut u8, data.len()) };
    }
    Ok(())
}

/// The Carray API for creating arrays in this state: `require('carray')`'s
/// module table publishes it in its metatable (capi.md §6.1).
pub fn require_api(l: Lua) -> LResult<&'static Api> {
    l.get_global(c"require");
    l.push_str("carray");
    if l.pcall(1, 1, 0) != 0 {
        return Err(Error::Pushed);
    }
    let api = api_of(l, -1);
    l.pop(1);
    api.map_err(|m| {
        Error::plain(match m {
            Missing::VersionMismatch => "carray capi version mismatch",
            Missing::NoApi => "carray capi not found",
        })
    })
}
