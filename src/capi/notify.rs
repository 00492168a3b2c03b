//! The Notify C API (`_capi_notify`, 0.0.2): published by buffers (and
//! states), consumed by `buffer:notifier()`.

use super::{Header, Missing, find};
use crate::core::buffer::Buffer;
use crate::core::fd_notifier::{FdNotifier, Notified};
use crate::core::listener::Listener;
use crate::core::notifier::{Connected, Kind, NOTIFY_CLOSED, Notifier};
use crate::ffi::{self, lua_State};
use crate::lua::{Error, LResult, Lua};
use std::ffi::{CStr, c_char, c_int, c_void};

pub const ID: &CStr = c"_capi_notify";

pub type ErrorHandler = Option<unsafe extern "C" fn(ehdata: *mut c_void, msg: *const c_char, msglen: usize)>;

/// The Notify C API vtable (size 56).
#[repr(C)]
pub struct Api {
    pub header: Header,
    pub to_notifier: Option<unsafe extern "C-unwind" fn(*mut lua_State, c_int) -> *mut c_void>,
    pub retain: Option<unsafe extern "C" fn(*mut c_void)>,
    pub release: Option<unsafe extern "C" fn(*mut c_void)>,
    pub notify: Option<unsafe extern "C" fn(*mut c_void, ErrorHandler, *mut c_void) -> c_int>,
}

// SAFETY: the vtable is immutable and holds only function pointers.
unsafe impl Sync for Api {}

/// Collects error texts passed to an error handler (as `ehdata`).
pub unsafe extern "C" fn collect_errors(ehdata: *mut c_void, msg: *const c_char, msglen: usize) {
    if ehdata.is_null() || msg.is_null() {
        return;
    }
    // SAFETY: ehdata is the &mut Vec<String> we passed; msg is valid for msglen bytes.
    unsafe {
        let out = &mut *(ehdata as *mut Vec<String>);
        let bytes = std::slice::from_raw_parts(msg as *const u8, msglen);
        out.push(String::from_utf8_lossy(bytes).into_owned());
    }
}

/// A notifier object of any implementation, reached through its vtable.
struct Foreign {
    api: &'static Api,
    notifier: *mut c_void,
}

// SAFETY: the Notify C API requires retain, release and notify to be thread safe.
unsafe impl Send for Foreign {}
// SAFETY: as above.
unsafe impl Sync for Foreign {}

impl Notifier for Foreign {
    fn notify(&self, errors: &mut Vec<String>) -> i32 {
        let Some(notify) = self.api.notify else { return 999 };
        // SAFETY: the notifier is retained by us; the handler matches the typedef.
        unsafe {
            notify(
                self.notifier,
                Some(collect_errors),
                errors as *mut Vec<String> as *mut c_void,
            )
        }
    }
}

impl Drop for Foreign {
    fn drop(&mut self) {
        if let Some(release) = self.api.release {
            // SAFETY: we retained it once when connecting.
            unsafe { release(self.notifier) };
        }
    }
}

/// What notifiers connect to: a buffer, or a listener (an extension).
pub trait Notifiable {
    /// `Some` connects, `None` disconnects; an occupied slot gives the
    /// notifier back as `Err(Some(..))`, a closed object gives `Err(None)`.
    fn set_notifier(&self, kind: Kind, n: Option<Connected>) -> Result<(), Option<Connected>>;
}

impl Notifiable for Buffer {
    fn set_notifier(&self, kind: Kind, n: Option<Connected>) -> Result<(), Option<Connected>> {
        Buffer::set_notifier(self, kind, n)
    }
}

impl Notifiable for Listener {
    fn set_notifier(&self, kind: Kind, n: Option<Connected>) -> Result<(), Option<Connected>> {
        Listener::set_notifier(self, kind, n)
    }
}

/// `buffer:notifier(ntf [, type [, threshold]])` (capi.md §3.4), and the
/// same for listeners.
pub fn connect<T: Notifiable>(l: Lua, target: &T, describe: &[u8]) -> LResult {
    if l.type_of(2) == ffi::LUA_TNONE {
        return Err(Error::arg(2, "notifier or nil expected"));
    }
    // `(nil, "<")` disconnects "<" (decisions.md [77]; the original
    // disconnected ">").
    let kind_arg = l.check_option(3, Some(">"), &[">", "<"])?;
    let kind = if kind_arg == 0 { Kind::Added } else { Kind::Removed };
    if l.is_none_or_nil(2) {
        return match target.set_notifier(kind, None) {
            Ok(()) => Ok(0),
            Err(_) => Err(crate::mtmsg::object_closed(describe)),
        };
    }
    let threshold = l.opt_integer(4, 0)?;
    let api = match find(l, 2, ID, 0, 0) {
        // SAFETY: a vtable found under `_capi_notify` with major 0 has this layout.
        Ok(p) => unsafe { &*(p as *const Api) },
        Err(Missing::VersionMismatch) => return Err(Error::arg(2, "notifier api version mismatch")),
        Err(Missing::NoApi) => return Err(Error::arg(2, "notifier expected")),
    };
    let (Some(to_notifier), Some(retain)) = (api.to_notifier, api.retain) else {
        return Err(Error::arg(2, "invalid notifier"));
    };
    // SAFETY: API contract, on the thread owning l.
    let notifier = unsafe { to_notifier(l.raw(), 2) };
    if notifier.is_null() {
        return Err(Error::arg(2, "invalid notifier"));
    }
    // SAFETY: API contract.
    unsafe { retain(notifier) };
    let connected = Connected {
        notifier: Box::new(Foreign { api, notifier }),
        threshold: threshold as i64,
    };
    match target.set_notifier(kind, Some(connected)) {
        Ok(()) => Ok(0),
        // Dropping the refused holder releases the notifier again.
        Err(Some(_)) => Err(crate::mtmsg::has_notifier()),
        Err(None) => Err(crate::mtmsg::object_closed(describe)),
    }
}

// ---- published by buffers -------------------------------------------------

unsafe extern "C-unwind" fn buffer_to_notifier(l: *mut lua_State, idx: c_int) -> *mut c_void {
    super::buffer::to_object(Lua(l), idx)
}

unsafe extern "C" fn buffer_retain(n: *mut c_void) {
    // SAFETY: forwarded contract.
    unsafe { super::buffer::retain(n) }
}

unsafe extern "C" fn buffer_release(n: *mut c_void) {
    // SAFETY: forwarded contract.
    unsafe { super::buffer::release(n) }
}

unsafe extern "C" fn buffer_notify(n: *mut c_void, eh: ErrorHandler, ehdata: *mut c_void) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { super::buffer::notify(n, eh, ehdata) }
}

/// Version 0.0.2, no older versions chained.
const HEADER: Header = Header {
    version_major: 0,
    version_minor: 0,
    version_patch: 2,
    next_capi: std::ptr::null(),
};

pub static BUFFER_API: Api = Api {
    header: HEADER,
    to_notifier: Some(buffer_to_notifier),
    retain: Some(buffer_retain),
    release: Some(buffer_release),
    notify: Some(buffer_notify),
};

pub fn publish_for_buffers(l: Lua) {
    super::publish(l, ID, &BUFFER_API as *const Api as *const c_void);
}

// ---- published by fd notifiers ---------------------------------------------

unsafe extern "C-unwind" fn fd_to_notifier(l: *mut lua_State, idx: c_int) -> *mut c_void {
    crate::mtmsg::fd_notifier::to_notifier(Lua(l), idx).map_or(std::ptr::null_mut(), |p| p as *mut c_void)
}

unsafe extern "C" fn fd_retain(n: *mut c_void) {
    if !n.is_null() {
        // SAFETY: n came from fd_to_notifier, alive while its holder retains it.
        unsafe { std::sync::Arc::increment_strong_count(n as *const FdNotifier) };
    }
}

unsafe extern "C" fn fd_release(n: *mut c_void) {
    if !n.is_null() {
        // SAFETY: releases the reference taken by fd_retain.
        unsafe { std::sync::Arc::decrement_strong_count(n as *const FdNotifier) };
    }
}

/// 0 done, 1 closed, 2 the write failed (the text goes to `eh`).
unsafe extern "C" fn fd_notify(n: *mut c_void, eh: ErrorHandler, ehdata: *mut c_void) -> c_int {
    if n.is_null() {
        return NOTIFY_CLOSED;
    }
    // SAFETY: retained by the caller.
    let n = unsafe { &*(n as *const FdNotifier) };
    match n.notify() {
        Notified::Done => 0,
        Notified::Closed => NOTIFY_CLOSED,
        Notified::Failed(e) => {
            report(eh, ehdata, &format!("mtmsg.fdnotifier: write failed: {e}"));
            2
        }
    }
}

pub static FD_NOTIFIER_API: Api = Api {
    header: HEADER,
    to_notifier: Some(fd_to_notifier),
    retain: Some(fd_retain),
    release: Some(fd_release),
    notify: Some(fd_notify),
};

pub fn publish_for_fd_notifiers(l: Lua) {
    super::publish(l, ID, &FD_NOTIFIER_API as *const Api as *const c_void);
}

/// Passes `text` to an error handler, if there is one.
pub fn report(eh: ErrorHandler, ehdata: *mut c_void, text: &str) {
    if let Some(eh) = eh {
        // SAFETY: handler contract: msg valid for msglen bytes during the call.
        unsafe { eh(ehdata, text.as_ptr() as *const c_char, text.len()) };
    }
}
