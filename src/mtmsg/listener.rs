//! `mtmsg.listener` userdata: a reference to a shared listener plus this
//! reference's own nonblock flag.

use super::buffer::{self, next_message, timeout_and_candidates};
use super::errors;
use super::message::Candidates;
use crate::class;
use crate::core::listener::{Listener, Source};
use crate::core::time::Wait;
use crate::lua::{Error, LResult, Lua};
use crate::lua_fn;
use std::ffi::{CStr, c_int};
use std::sync::Arc;

pub const CLASS: &CStr = c"mtmsg.listener";
const CLASS_NAME: &str = "mtmsg.listener";

pub struct ListenerRef {
    /// From `Arc::into_raw`; null once collected.
    listener: *const Listener,
    pub nonblock: bool,
}

impl ListenerRef {
    pub fn listener(&self) -> Option<&Listener> {
        // SAFETY: non-null pointers come from Arc::into_raw and are released
        // only in __gc, which nulls them.
        unsafe { self.listener.as_ref() }
    }
}

pub fn register(l: Lua) {
    class::register(
        l,
        CLASS,
        &[
            (c"id", id),
            (c"name", name),
            (c"newbuffer", newbuffer),
            (c"nextmsg", nextmsg),
            (c"nonblock", nonblock),
            (c"isnonblock", isnonblock),
            (c"clear", clear),
            (c"close", close),
            (c"abort", abort),
            (c"isabort", isabort),
        ],
        &[(c"__gc", gc), (c"__tostring", tostring)],
    );
    l.pop(1);
}

pub fn push(l: Lua, listener: Arc<Listener>) {
    class::push_new(
        l,
        CLASS,
        ListenerRef {
            listener: Arc::into_raw(listener),
            nonblock: false,
        },
    );
}

pub fn test<'a>(l: Lua, idx: c_int) -> Option<&'a mut ListenerRef> {
    class::test::<ListenerRef>(l, idx, CLASS)
}

fn this<'a>(l: Lua) -> LResult<(&'a mut ListenerRef, &'a Listener)> {
    let r = class::check::<ListenerRef>(l, 1, CLASS_NAME)?;
    // SAFETY: the userdata outlives this call (it is argument 1).
    let s = unsafe {
        &*(r.listener()
            .ok_or_else(|| Error::plain("mtmsg: listener reference already collected"))? as *const Listener)
    };
    Ok((r, s))
}

/// The listener behind the reference as an `Arc` (for creating buffers).
fn arc(r: &ListenerRef) -> Option<Arc<Listener>> {
    let p = r.listener;
    if p.is_null() {
        return None;
    }
    // SAFETY: p came from Arc::into_raw and is still owned by the userdata.
    unsafe {
        Arc::increment_strong_count(p);
        Some(Arc::from_raw(p))
    }
}

pub fn describe(s: &Listener) -> Vec<u8> {
    class::describe(CLASS_NAME, s.name(), s.id())
}

lua_fn! { fn id(l) {
    let (_, s) = this(l)?;
    l.push_integer(s.id() as _);
    Ok(1)
}}

lua_fn! { fn name(l) {
    let (_, s) = this(l)?;
    Ok(match s.name() {
        Some(n) => {
            l.push_bytes(n);
            1
        }
        None => 0,
    })
}}

lua_fn! { fn newbuffer(l) {
    let (r, s) = this(l)?;
    let (name, size, grow) = super::buffer_args(l, 2)?;
    let owner = arc(r).ok_or_else(|| errors::object_closed(&describe(s)))?;
    let b = owner.new_buffer(name, size, grow).map_err(|e| match errors::put(e, &describe(s)) {
        Err(e) => e,
        Ok(_) => errors::aborted(),
    })?;
    drop(owner);
    buffer::push(l, b);
    Ok(1)
}}

lua_fn! { fn nextmsg(l) {
    let (r, s) = this(l)?;
    let (timeout, first_candidate) = timeout_and_candidates(l, 2)?;
    let candidates = Candidates::from_args(l, first_candidate)?;
    let wait = Wait::from_timeout(timeout, r.nonblock);
    next_message(l, Source::Listener(s), wait, candidates)
}}

lua_fn! { fn nonblock(l) {
    let (r, s) = this(l)?;
    let flag = l.opt_boolean_strict(2)?.unwrap_or(true);
    if let Err(e) = s.check_usable() {
        errors::put(e, &describe(s))?;
    }
    r.nonblock = flag;
    Ok(0)
}}

lua_fn! { fn isnonblock(l) {
    let (r, _) = this(l)?;
    l.push_bool(r.nonblock);
    Ok(1)
}}

lua_fn! { fn clear(l) {
    let (r, s) = this(l)?;
    let ok = match s.clear(r.nonblock) {
        Ok(()) => true,
        Err(e) => errors::put(e, &describe(s))?,
    };
    l.push_bool(ok);
    Ok(1)
}}

lua_fn! { fn close(l) {
    let (_, s) = this(l)?;
    s.close();
    Ok(0)
}}

lua_fn! { fn abort(l) {
    let (_, s) = this(l)?;
    let flag = l.opt_boolean_strict(2)?.unwrap_or(true);
    s.set_aborted(flag);
    Ok(0)
}}

lua_fn! { fn isabort(l) {
    let (_, s) = this(l)?;
    l.push_bool(s.is_aborted());
    Ok(1)
}}

lua_fn! { fn tostring(l) {
    let (_, s) = this(l)?;
    class::tostring(l, CLASS_NAME, s.name(), s.id());
    Ok(1)
}}

lua_fn! { fn gc(l) {
    if let Some(r) = class::finalizing::<ListenerRef>(l) {
        class::release_arc(&mut r.listener);
    }
    Ok(0)
}}
