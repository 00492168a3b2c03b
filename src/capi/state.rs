//! The C APIs that `mtstates.state` objects publish (capi.md §3.3, §4.5):
//! Notify 0.0.2 and Receiver 2.0.0. C holders get the shared `State` (the
//! pointer inside an `Arc`): retain / release move its use count only, so
//! they keep the record alive but not the interpreter. Notifications and
//! messages run the state callback synchronously on the calling thread.

use super::notify::{self, ErrorHandler};
use super::receiver::{self, Writer};
use super::{Header, publish};
use crate::ffi::lua_State;
use crate::lua::Lua;
use crate::mtstates::{self, State};
use std::ffi::{c_char, c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

const _: () = assert!(std::mem::size_of::<receiver::Api>() == 128);
const _: () = assert!(std::mem::size_of::<notify::Api>() == 56);

/// Stores the state's C API vtables in the metatable on top of the stack.
pub fn publish_all(l: Lua) {
    publish(l, notify::ID, &NOTIFY_API as *const notify::Api as *const c_void);
    publish(l, receiver::ID, &RECEIVER_API as *const receiver::Api as *const c_void);
}

// ---- objects ------------------------------------------------------------------

unsafe extern "C-unwind" fn to_state(l: *mut lua_State, idx: c_int) -> *mut c_void {
    mtstates::to_object(Lua(l), idx) as *mut c_void
}

unsafe extern "C" fn retain(p: *mut c_void) {
    if !p.is_null() {
        // SAFETY: p came from `to_state` and is kept alive by its holder.
        unsafe { Arc::increment_strong_count(p as *const State) };
    }
}

unsafe extern "C" fn release(p: *mut c_void) {
    if !p.is_null() {
        // Dropping the last reference frees the record (never with an open
        // interpreter: owners hold references too), so no Lua code runs in
        // arbitrary C contexts.
        let r = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: releases a reference taken by `retain`.
            unsafe { Arc::decrement_strong_count(p as *const State) }
        }));
        drop(r);
    }
}

/// Runs the callback with `args`; reports errors to `eh`. Never unwinds.
fn deliver(p: *mut c_void, args: &[u8], eh: ErrorHandler, ehdata: *mut c_void) -> c_int {
    if p.is_null() {
        return 1;
    }
    // SAFETY: p is a retained state (API contract).
    let s = unsafe { &*(p as *const State) };
    let report = |text: &[u8]| {
        if let Some(eh) = eh {
            // SAFETY: handler contract: msg valid for msglen bytes during the call.
            unsafe { eh(ehdata, text.as_ptr() as *const c_char, text.len()) };
        }
    };
    catch_unwind(AssertUnwindSafe(|| mtstates::deliver(s, args, report))).unwrap_or(999)
}

// ---- Notify -------------------------------------------------------------------

unsafe extern "C" fn notify(p: *mut c_void, eh: ErrorHandler, ehdata: *mut c_void) -> c_int {
    deliver(p, &[], eh, ehdata)
}

pub static NOTIFY_API: notify::Api = notify::Api {
    header: Header {
        version_major: 0,
        version_minor: 0,
        version_patch: 2,
        next_capi: std::ptr::null(),
    },
    to_notifier: Some(to_state),
    retain: Some(retain),
    release: Some(release),
    notify: Some(notify),
};

// ---- Receiver -----------------------------------------------------------------
// Writers are the shared ones of `capi::receiver` (same capacity rules and
// add* codes as for buffers); only delivery differs.

/// Calls the callback with the writer's values; `clear` and `nonblock` are
/// ignored (capi.md §4.5). The writer is cleared on success only.
unsafe extern "C" fn msg_to_receiver(
    p: *mut c_void,
    w: *mut Writer,
    _clear: c_int,
    _nonblock: c_int,
    eh: ErrorHandler,
    ehdata: *mut c_void,
) -> c_int {
    // SAFETY: API contract: a live writer owned by this thread (or NULL).
    let Some(w) = (unsafe { w.as_mut() }) else {
        return deliver(p, &[], eh, ehdata);
    };
    let rc = deliver(p, w.elements.bytes(), eh, ehdata);
    if rc == 0 {
        w.elements.clear();
    }
    rc
}

pub static RECEIVER_API: receiver::Api = receiver::Api {
    header: Header {
        version_major: 2,
        version_minor: 0,
        version_patch: 0,
        next_capi: std::ptr::null(),
    },
    to_receiver: to_state,
    retain,
    release,
    new_writer: receiver::new_writer,
    free_writer: receiver::free_writer,
    msg_to_receiver,
    clear_writer: receiver::clear_writer,
    add_boolean: receiver::add_boolean,
    add_integer: receiver::add_integer,
    add_number: receiver::add_number,
    add_string: receiver::add_string,
    add_bytes: receiver::add_bytes,
    add_array: receiver::add_array,
};
