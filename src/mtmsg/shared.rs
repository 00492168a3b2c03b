//! What buffer and listener references have in common: a userdata holding
//! one reference to a process-wide object plus its own nonblock flag, and
//! the methods that only read or set the object's flags.

use super::errors;
use crate::class;
use crate::core::buffer::{Buffer, PutError};
use crate::core::listener::Listener;
use crate::core::registry::Registered;
use crate::ffi::{self, lua_State};
use crate::lua::{Error, Function, LResult, Lua, entry};
use std::ffi::{CStr, c_int};
use std::sync::Arc;

/// A shared object with a Lua class.
pub trait Shared: Registered + Sized {
    const CLASS: &'static CStr;
    const CLASS_NAME: &'static str;
    fn check_usable(&self) -> Result<(), PutError>;
    fn close(&self);
    fn set_aborted(&self, flag: bool);
    fn is_aborted(&self) -> bool;
}

impl Shared for Buffer {
    const CLASS: &'static CStr = c"mtmsg.buffer";
    const CLASS_NAME: &'static str = "mtmsg.buffer";
    fn check_usable(&self) -> Result<(), PutError> {
        Buffer::check_usable(self)
    }
    fn close(&self) {
        Buffer::close(self)
    }
    fn set_aborted(&self, flag: bool) {
        Buffer::set_aborted(self, flag)
    }
    fn is_aborted(&self) -> bool {
        Buffer::is_aborted(self)
    }
}

impl Shared for Listener {
    const CLASS: &'static CStr = c"mtmsg.listener";
    const CLASS_NAME: &'static str = "mtmsg.listener";
    fn check_usable(&self) -> Result<(), PutError> {
        Listener::check_usable(self)
    }
    fn close(&self) {
        Listener::close(self)
    }
    fn set_aborted(&self, flag: bool) {
        Listener::set_aborted(self, flag)
    }
    fn is_aborted(&self) -> bool {
        Listener::is_aborted(self)
    }
}

/// The userdata payload. `repr(C)`: the object pointer comes first, which
/// LuaJIT FFI users rely on (include/mtmsg_ffi.lua).
#[repr(C)]
pub struct SharedRef<T> {
    /// From `Arc::into_raw`; null once collected.
    ptr: *const T,
    pub nonblock: bool,
}

impl<T> SharedRef<T> {
    pub fn get(&self) -> Option<&T> {
        // SAFETY: non-null pointers come from Arc::into_raw and are released
        // only in __gc, which nulls them.
        unsafe { self.ptr.as_ref() }
    }

    /// A new strong reference to the object.
    pub fn arc(&self) -> Option<Arc<T>> {
        let p = self.ptr;
        if p.is_null() {
            return None;
        }
        // SAFETY: p came from Arc::into_raw and is still owned by the userdata.
        unsafe {
            Arc::increment_strong_count(p);
            Some(Arc::from_raw(p))
        }
    }
}

pub fn push<T: Shared>(l: Lua, object: Arc<T>) {
    class::push_new(
        l,
        T::CLASS,
        SharedRef {
            ptr: Arc::into_raw(object),
            nonblock: false,
        },
    );
}

/// The reference at `idx` if it is of the `n`th peer class of the running
/// method (see `class::register`).
pub fn peer<'a, T: Shared>(l: Lua, idx: c_int, n: c_int) -> Option<&'a mut SharedRef<T>> {
    class::peer::<SharedRef<T>>(l, idx, n)
}

/// The reference at `idx` (checked against the registered class metatable).
pub fn test<'a, T: Shared>(l: Lua, idx: c_int) -> Option<&'a mut SharedRef<T>> {
    class::test::<SharedRef<T>>(l, idx, T::CLASS)
}

/// The reference at `idx` and its object, or the error for a collected one.
pub fn get<T: Shared>(r: &SharedRef<T>) -> LResult<&T> {
    r.get()
        .ok_or_else(|| Error::plain(format!("mtmsg: {} reference already collected", T::CLASS_NAME)))
}

/// `self` of a method: the reference and its object.
pub fn this<'a, T: Shared>(l: Lua) -> LResult<(&'a mut SharedRef<T>, &'a T)> {
    let r = class::check::<SharedRef<T>>(l, 1, T::CLASS_NAME)?;
    // SAFETY: the userdata outlives this call (it is argument 1).
    let o = unsafe { &*(get(r)? as *const T) };
    Ok((r, o))
}

/// `mtmsg.buffer(id=N)` / `(name="q",id=N)`, the object text of errors.
pub fn describe<T: Shared>(o: &T) -> Vec<u8> {
    class::describe(T::CLASS_NAME, o.name(), o.id())
}

/// The methods every shared reference has, for `class::register`.
pub fn methods<T: Shared>() -> [(&'static CStr, Function); 7] {
    [
        (c"id", id::<T>),
        (c"name", name::<T>),
        (c"nonblock", nonblock::<T>),
        (c"isnonblock", isnonblock::<T>),
        (c"close", close::<T>),
        (c"abort", abort::<T>),
        (c"isabort", isabort::<T>),
    ]
}

/// `__gc` and `__tostring`.
pub fn metamethods<T: Shared>() -> [(&'static CStr, Function); 2] {
    [(c"__gc", gc::<T>), (c"__tostring", tostring::<T>)]
}

unsafe extern "C-unwind" fn id<T: Shared>(raw: *mut lua_State) -> ffi::lua_Results {
    entry(raw, |l| {
        let (_, o) = this::<T>(l)?;
        l.push_integer(o.id() as _);
        Ok(1)
    })
}

unsafe extern "C-unwind" fn name<T: Shared>(raw: *mut lua_State) -> ffi::lua_Results {
    entry(raw, |l| {
        let (_, o) = this::<T>(l)?;
        Ok(match o.name() {
            Some(n) => {
                l.push_bytes(n);
                1
            }
            None => 0,
        })
    })
}

unsafe extern "C-unwind" fn nonblock<T: Shared>(raw: *mut lua_State) -> ffi::lua_Results {
    entry(raw, |l| {
        let (r, o) = this::<T>(l)?;
        let flag = l.opt_boolean_strict(2)?.unwrap_or(true);
        if let Err(e) = o.check_usable() {
            errors::put(e, &describe(o))?;
        }
        r.nonblock = flag;
        Ok(0)
    })
}

unsafe extern "C-unwind" fn isnonblock<T: Shared>(raw: *mut lua_State) -> ffi::lua_Results {
    entry(raw, |l| {
        let (r, _) = this::<T>(l)?;
        l.push_bool(r.nonblock);
        Ok(1)
    })
}

unsafe extern "C-unwind" fn close<T: Shared>(raw: *mut lua_State) -> ffi::lua_Results {
    entry(raw, |l| {
        let (_, o) = this::<T>(l)?;
        o.close();
        Ok(0)
    })
}

unsafe extern "C-unwind" fn abort<T: Shared>(raw: *mut lua_State) -> ffi::lua_Results {
    entry(raw, |l| {
        let (_, o) = this::<T>(l)?;
        let flag = l.opt_boolean_strict(2)?.unwrap_or(true);
        o.set_aborted(flag);
        Ok(0)
    })
}

unsafe extern "C-unwind" fn isabort<T: Shared>(raw: *mut lua_State) -> ffi::lua_Results {
    entry(raw, |l| {
        let (_, o) = this::<T>(l)?;
        l.push_bool(o.is_aborted());
        Ok(1)
    })
}

unsafe extern "C-unwind" fn tostring<T: Shared>(raw: *mut lua_State) -> ffi::lua_Results {
    entry(raw, |l| {
        let (_, o) = this::<T>(l)?;
        class::tostring(l, T::CLASS_NAME, o.name(), o.id());
        Ok(1)
    })
}

unsafe extern "C-unwind" fn gc<T: Shared>(raw: *mut lua_State) -> ffi::lua_Results {
    entry(raw, |l| {
        if let Some(r) = class::finalizing::<SharedRef<T>>(l) {
            class::release_arc(&mut r.ptr);
        }
        Ok(0)
    })
}
