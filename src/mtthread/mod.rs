//! The `mtthread` Lua module: OS threads, each running a function in a Lua
//! state of its own, so users need no third-party thread library.
//!
//! `mtthread.new(fn_or_code, ...)` makes a thread object; `t:start()` runs
//! it; `t:join([timeout])` gives `true, results...`, `false, message` when
//! the function raised, or `nil, "timeout"`; `t:alive()`. Functions (without
//! upvalues) move by `string.dump`; arguments and results are message values.

use crate::class;
use crate::core::sync::{lock, wait, wait_until};
use crate::core::time::deadline_after;
use crate::ffi;
use crate::lua::{Error, LResult, Lua, open_libs};
use crate::lua_fn;
use crate::mtmsg::message::Candidates;
use std::ffi::{CStr, c_int};
use std::sync::{Arc, Condvar, Mutex};

const CLASS: &CStr = c"mtthread.thread";
const CLASS_NAME: &str = "mtthread.thread";

enum Status {
    Created,
    Running,
    Finished(Result<Vec<u8>, Vec<u8>>),
}

struct Shared {
    status: Mutex<Status>,
    done: Condvar,
}

struct Thread {
    shared: *const Shared,
    /// Binary chunk (dumped function) or source code.
    code: Vec<u8>,
    args: Vec<u8>,
}

pub fn open(l: Lua) -> LResult {
    class::register(
        l,
        CLASS,
        &[(c"start", start), (c"join", join), (c"alive", alive)],
        &[(c"__gc", gc), (c"__tostring", tostring)],
        &[],
    );
    l.pop(1);
    l.new_table(0, 4);
    l.set_functions(&[(c"new", new)]);
    l.push_str(concat!("mtthread ", env!("CARGO_PKG_VERSION")));
    l.set_field(-2, c"_VERSION");
    Ok(1)
}

/// Encodes the values `first..=last` of `l` as message elements.
fn encode_values(l: Lua, first: c_int, last: c_int) -> LResult<Vec<u8>> {
    let mut args = crate::mtmsg::Args::new(l, first, last);
    args.read()?;
    let mut out = vec![0u8; args.len];
    args.write(&mut out);
    Ok(out)
}

/// Pushes decoded values: the thread's arguments or its results.
fn push_values(l: Lua, bytes: &[u8]) -> LResult<c_int> {
    crate::mtmsg::message::push_values(l, bytes, None, Candidates::none()).map(|(n, _)| n)
}

/// Checks that the function at `idx` has no upvalues other than `_ENV`.
pub fn check_no_upvalues(l: Lua, idx: c_int, fname: &str) -> LResult<()> {
    let mut n = 1;
    while let Some(name) = l.upvalue_name(idx, n) {
        if !(n == 1 && name == b"_ENV") {
            return Err(Error::arg(
                idx,
                format!("{fname} function uses upvalue '{}'", String::from_utf8_lossy(&name)),
            ));
        }
        n += 1;
    }
    Ok(())
}

lua_fn! { fn new(l) {
    let code = match l.type_of(1) {
        ffi::LUA_TSTRING => l.to_bytes(1).unwrap_or_default().to_vec(),
        ffi::LUA_TFUNCTION if !l.is_cfunction(1) => {
            check_no_upvalues(l, 1, "thread")?;
            l.push_value(1);
            let dumped = l.dump_function();
            l.pop(1);
            dumped.ok_or_else(|| Error::arg(1, "cannot dump function"))?
        }
        _ => return Err(Error::type_error(l, 1, "lua function or code string")),
    };
    let args = encode_values(l, 2, l.top())?;
    let shared = Arc::new(Shared { status: Mutex::new(Status::Created), done: Condvar::new() });
    class::push_new(l, CLASS, Thread { shared: Arc::into_raw(shared), code, args });
    Ok(1)
}}

fn this<'a>(l: Lua) -> LResult<(&'a mut Thread, &'a Shared)> {
    let t = class::check::<Thread>(l, 1, CLASS_NAME)?;
    // SAFETY: shared comes from Arc::into_raw, released only in __gc.
    let s = unsafe { t.shared.as_ref() }.ok_or_else(|| Error::plain("mtthread: thread object collected"))?;
    Ok((t, s))
}

lua_fn! { fn start(l) {
    let (t, s) = this(l)?;
    {
        let mut st = lock(&s.status);
        if !matches!(*st, Status::Created) {
            return Err(Error::plain("mtthread: thread already started"));
        }
        *st = Status::Running;
    }
    let code = std::mem::take(&mut t.code);
    let args = std::mem::take(&mut t.args);
    // SAFETY: the userdata holds a strong reference; take one more for the thread.
    let shared = unsafe {
        Arc::increment_strong_count(t.shared);
        Arc::from_raw(t.shared)
    };
    let spawned = std::thread::Builder::new().name("mtthread".into()).spawn(move || {
        let result = run(&code, &args);
        let mut st = lock(&shared.status);
        *st = Status::Finished(result);
        shared.done.notify_all();
    });
    if let Err(e) = spawned {
        *lock(&s.status) = Status::Finished(Err(format!("cannot start thread: {e}").into_bytes()));
        return Err(Error::plain(format!("mtthread: cannot start thread: {e}")));
    }
    Ok(0)
}}

/// Message handler: appends a traceback to string errors.
const MSGH: &[u8] = b"local e = ...
if type(e) == 'string' and debug and debug.traceback then return debug.traceback(e, 2) end
return e";

/// Runs the thread's code in a fresh state; Ok(encoded results) or Err(message).
fn run(code: &[u8], args: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
    let l = Lua::new_state().ok_or_else(|| b"not enough memory".to_vec())?;
    let result = std::panic::catch_unwind(|| run_in(l, code, args))
        .unwrap_or_else(|_| Err(b"mtthread: internal error (panic)".to_vec()));
    // SAFETY: the state is ours alone and no longer used.
    unsafe { l.close() };
    result
}

fn run_in(l: Lua, code: &[u8], args: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
    open_libs(l);
    if l.load_buffer(MSGH, c"=mtthread") != ffi::LUA_OK {
        return Err(l.error_message(-1));
    }
    if l.load_buffer(code, c"=mtthread") != ffi::LUA_OK {
        return Err(l.error_message(-1));
    }
    let nargs = push_values(l, args).map_err(|e| e.into_text(l))?;
    if l.pcall(nargs, ffi::LUA_MULTRET, 1) != ffi::LUA_OK {
        return Err(l.error_message(-1));
    }
    let top = l.top();
    encode_values(l, 2, top).map_err(|e| {
        let mut text = b"mtthread: the thread function returned a value that cannot be passed: ".to_vec();
        text.extend(e.into_text(l));
        text
    })
}

lua_fn! { fn join(l) {
    let (_, s) = this(l)?;
    let timeout = if l.is_none_or_nil(2) { None } else { Some(l.check_number(2)?) };
    let mut st = lock(&s.status);
    if matches!(*st, Status::Created) {
        return Err(Error::plain("mtthread: thread not started"));
    }
    match timeout.map(|t| deadline_after(t.max(0.0))) {
        None | Some(None) => {
            while matches!(*st, Status::Running) {
                st = wait(&s.done, st);
            }
        }
        Some(Some(deadline)) => {
            while matches!(*st, Status::Running) {
                let (g, expired) = wait_until(&s.done, st, deadline);
                st = g;
                if expired && matches!(*st, Status::Running) {
                    drop(st);
                    l.push_nil();
                    l.push_str("timeout");
                    return Ok(2);
                }
            }
        }
    }
    let outcome = match &*st {
        Status::Finished(Ok(results)) => Ok(results.clone()),
        Status::Finished(Err(msg)) => Err(msg.clone()),
        _ => Err(b"mtthread: internal error".to_vec()),
    };
    drop(st);
    match outcome {
        Ok(results) => {
            l.push_bool(true);
            Ok(1 + push_values(l, &results)?)
        }
        Err(msg) => {
            l.push_bool(false);
            l.push_bytes(&msg);
            Ok(2)
        }
    }
}}

lua_fn! { fn alive(l) {
    let (_, s) = this(l)?;
    l.push_bool(matches!(*lock(&s.status), Status::Running));
    Ok(1)
}}

lua_fn! { fn tostring(l) {
    this(l)?;
    l.push_str(&format!("{CLASS_NAME}: {:p}", l.to_pointer(1)));
    Ok(1)
}}

lua_fn! { fn gc(l) {
    // A running thread keeps its own reference and simply runs on, detached.
    if let Some(t) = class::finalizing::<Thread>(l) {
        drop(std::mem::take(&mut t.code));
        drop(std::mem::take(&mut t.args));
        class::release_arc(&mut t.shared);
    }
    Ok(0)
}}
