//! `mtmsg.listener` userdata: the listener-only methods (the common ones
//! are in `shared`).

use super::buffer::next_message;
use super::errors;
use super::shared::{self, Shared, describe, this};
use crate::class;
use crate::core::listener::{Listener, Source};
use crate::lua::Lua;
use crate::lua_fn;

pub fn register(l: Lua) {
    let own: &[(&std::ffi::CStr, crate::lua::Function)] = &[
        (c"newbuffer", newbuffer),
        (c"nextmsg", nextmsg),
        (c"clear", clear),
        (c"notifier", notifier),
    ];
    class::register(
        l,
        Listener::CLASS,
        &[shared::methods::<Listener>().as_slice(), own].concat(),
        &shared::metamethods::<Listener>(),
        &[],
    );
    l.pop(1);
}

lua_fn! { fn newbuffer(l) {
    let (r, s) = this::<Listener>(l)?;
    let (name, size, grow) = super::buffer_args(l, 2)?;
    let owner = r.arc().ok_or_else(|| errors::object_closed(&describe(s)))?;
    let b = owner.new_buffer(name, size, grow).map_err(|e| match errors::put(e, &describe(s)) {
        Err(e) => e,
        Ok(_) => errors::aborted(),
    })?;
    drop(owner);
    shared::push(l, b);
    Ok(1)
}}

lua_fn! { fn nextmsg(l) {
    let (r, s) = this::<Listener>(l)?;
    next_message(l, Source::Listener(s), r.nonblock)
}}

lua_fn! { fn clear(l) {
    let (r, s) = this::<Listener>(l)?;
    let ok = match s.clear(r.nonblock) {
        Ok(()) => true,
        Err(e) => errors::put(e, &describe(s))?,
    };
    l.push_bool(ok);
    Ok(1)
}}

// `listener:notifier(ntf [, type [, threshold]])` (an extension): as
// buffer:notifier, counting the messages of all the listener's buffers.
lua_fn! { fn notifier(l) {
    let (_, s) = this::<Listener>(l)?;
    crate::capi::notify::connect(l, s, &describe(s))
}}
