//! The C APIs that `mtmsg.buffer` objects publish: Notify, Receiver, Sender.
//! C holders get the shared `Buffer` (the pointer inside an `Arc`) and keep
//! it alive with the same reference count that Lua references use.

use super::notify::{self, ErrorHandler};
use crate::core::buffer::{Buffer, PutError};
use crate::core::memory::ReserveError;
use crate::core::notifier::NotifyOutcome;
use crate::core::time::Wait;
use crate::lua::Lua;
use std::ffi::{c_int, c_void};
use std::sync::Arc;

/// Stores the buffer's C API vtables in the metatable on top of the stack.
pub fn publish_all(l: Lua) {
    notify::publish_for_buffers(l);
    super::publish(
        l,
        super::receiver::ID,
        &super::receiver::BUFFER_API as *const _ as *const c_void,
    );
    super::publish(
        l,
        super::sender::ID,
        &super::sender::BUFFER_API as *const _ as *const c_void,
    );
}

/// `toNotifier` / `toReceiver` / `toSender`: the buffer behind a
/// `mtmsg.buffer` userdata, NULL for anything else.
pub fn to_object(l: Lua, idx: c_int) -> *mut c_void {
    match crate::mtmsg::shared_userdata::<Buffer>(l, idx).and_then(|r| r.get()) {
        Some(b) => b as *const Buffer as *mut c_void,
        None => std::ptr::null_mut(),
    }
}

/// # Safety
/// `p` was returned by `to_object` and is kept alive by its holder.
pub unsafe fn retain(p: *mut c_void) {
    if !p.is_null() {
        // SAFETY: p points into a live Arc<Buffer>.
        unsafe { Arc::increment_strong_count(p as *const Buffer) };
    }
}

/// # Safety
/// `p` was retained before.
pub unsafe fn release(p: *mut c_void) {
    if !p.is_null() {
        // SAFETY: releases the reference taken by `retain`.
        unsafe { Arc::decrement_strong_count(p as *const Buffer) };
    }
}

/// The Receiver C API codes for a failed put.
pub fn put_error_code(e: &PutError) -> c_int {
    match e {
        PutError::Closed => 1,
        PutError::Aborted => 2,
        PutError::Busy => 3,
        PutError::Memory(ReserveError::Full) => 4,
        PutError::Memory(ReserveError::TooLarge { .. }) => 5,
        PutError::Memory(ReserveError::OutOfMemory { .. }) => 6,
    }
}

/// The code of a successful operation whose notifier may have failed
/// (999, with the text passed to `eh`).
pub fn outcome_code(outcome: NotifyOutcome, eh: ErrorHandler, ehdata: *mut c_void) -> c_int {
    match outcome.error_text() {
        None => 0,
        Some((text, _)) => {
            notify::report(eh, ehdata, &text);
            999
        }
    }
}

/// `notify`: adds one empty message (capi.md §3.2).
///
/// # Safety
/// `p` is a retained buffer.
pub unsafe fn notify(p: *mut c_void, eh: ErrorHandler, ehdata: *mut c_void) -> c_int {
    // SAFETY: retained by the caller.
    let b = unsafe { &*(p as *const Buffer) };
    match b.put(false, Wait::Poll, 0, |_| {}) {
        Ok(outcome) => outcome_code(outcome, eh, ehdata),
        Err(e) => put_error_code(&e),
    }
}
