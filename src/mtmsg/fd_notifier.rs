//! `mtmsg.fdnotifier` userdata (an extension): a notifier with a file
//! descriptor for event loops (see `core::fd_notifier`). It publishes the
//! Notify C API, so `buffer:notifier(n)` and C libraries can notify it.
//!
//! The Lua object owns the descriptor: `close()` and `__gc` close it, and
//! buffers still connected then find the notifier closed and disconnect it.

use super::errors;
use crate::class;
use crate::core::fd_notifier::FdNotifier;
use crate::lua::{Error, LResult, Lua};
use crate::lua_fn;
use std::ffi::{CStr, c_int};
use std::sync::Arc;

pub const CLASS: &CStr = c"mtmsg.fdnotifier";
const CLASS_NAME: &str = "mtmsg.fdnotifier";

/// The userdata payload: one reference (from `Arc::into_raw`; null once
/// collected). C holders retain the same `Arc`.
pub struct FdNotifierRef {
    ptr: *const FdNotifier,
}

pub fn register(l: Lua) {
    class::register(
        l,
        CLASS,
        &[
            (c"fd", fd),
            (c"drain", drain),
            (c"notify", notify),
            (c"close", close),
            (c"isclosed", isclosed),
        ],
        &[(c"__gc", gc), (c"__tostring", tostring)],
        &[],
    );
    crate::capi::notify::publish_for_fd_notifiers(l);
    l.pop(1);
}

/// The notifier behind the userdata at `idx`, for the Notify C API.
pub fn to_notifier(l: Lua, idx: c_int) -> Option<*const FdNotifier> {
    let r = class::test::<FdNotifierRef>(l, idx, CLASS)?;
    (!r.ptr.is_null()).then_some(r.ptr)
}

fn this<'a>(l: Lua) -> LResult<&'a FdNotifier> {
    let r = class::check::<FdNotifierRef>(l, 1, CLASS_NAME)?;
    // SAFETY: non-null pointers come from Arc::into_raw and are released
    // only in __gc, which nulls them; the userdata is argument 1.
    unsafe { r.ptr.as_ref() }.ok_or_else(|| Error::plain("mtmsg: mtmsg.fdnotifier already collected"))
}

fn closed() -> Error {
    errors::object_closed(CLASS_NAME.as_bytes())
}

lua_fn! { pub fn new(l) {
    let n = FdNotifier::new().map_err(|e| Error::plain(format!("mtmsg: cannot create fdnotifier: {e}")))?;
    class::push_new(l, CLASS, FdNotifierRef { ptr: Arc::into_raw(Arc::new(n)) });
    Ok(1)
}}

lua_fn! { fn fd(l) {
    let fd = this(l)?.fd().ok_or_else(closed)?;
    l.push_integer(fd as _);
    Ok(1)
}}

lua_fn! { fn drain(l) {
    let was = this(l)?.drain().map_err(|_| closed())?;
    l.push_bool(was);
    Ok(1)
}}

lua_fn! { fn notify(l) {
    use crate::core::fd_notifier::Notified;
    match this(l)?.notify() {
        Notified::Done => Ok(0),
        Notified::Closed => Err(closed()),
        Notified::Failed(e) => Err(Error::plain(format!("mtmsg: fdnotifier write failed: {e}"))),
    }
}}

lua_fn! { fn close(l) {
    this(l)?.close();
    Ok(0)
}}

lua_fn! { fn isclosed(l) {
    l.push_bool(this(l)?.is_closed());
    Ok(1)
}}

lua_fn! { fn tostring(l) {
    let n = this(l)?;
    let state = match n.fd() {
        Some(fd) => format!("fd={fd}"),
        None => "closed".to_string(),
    };
    l.push_str(&format!("{CLASS_NAME}: {:p} ({state})", l.to_pointer(1)));
    Ok(1)
}}

lua_fn! { fn gc(l) {
    if let Some(r) = class::finalizing::<FdNotifierRef>(l) {
        // SAFETY: as in `this`; the pointer is released right after.
        if let Some(n) = unsafe { r.ptr.as_ref() } {
            n.close();
        }
        class::release_arc(&mut r.ptr);
    }
    Ok(0)
}}
