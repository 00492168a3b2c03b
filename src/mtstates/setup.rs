//! Creating a state (mtstates.md §2, §3): argument parsing, a fresh
//! interpreter with its id and libraries, the setup function run in it,
//! and the callback it returns.

use super::errors;
use super::invoke::{error_text, message_handler, trampoline};
use super::object;
use super::state::{CREATION_LOCK, ID_KEY, Interp, STATES, State};
use super::transfer::Transfer;
use crate::core::sync::lock;
use crate::ffi;
use crate::lua::{Error, Integer, LResult, Lua, open_libs};
use std::ffi::{CString, c_int, c_void};
use std::sync::Arc;

/// The setup chunk: source text or a dumped Lua function.
pub enum Code {
    Text(Vec<u8>),
    Dumped(Vec<u8>),
}

/// Parsed `[libs,]setup[,...]` arguments.
pub struct Setup {
    pub libs: bool,
    pub code: Code,
    /// Argument position of the setup (for load errors).
    pub code_arg: c_int,
    /// First extra argument for the setup function (up to the top).
    pub first_arg: c_int,
}

/// `newstate([name,][libs,]setup[,...])`: the name slot exists only with at
/// least two arguments (a single string is setup code). Returns the name
/// (copied) and the rest.
pub fn parse_newstate(l: Lua) -> LResult<(Option<Vec<u8>>, Setup)> {
    let mut arg = 1;
    let mut name = None;
    if l.top() >= 2 {
        match l.type_of(1) {
            ffi::LUA_TSTRING => {
                name = l.to_bytes(1).map(<[u8]>::to_vec);
                arg = 2;
            }
            ffi::LUA_TNIL => arg = 2,
            _ => {}
        }
    }
    Ok((name, parse_setup(l, arg)?))
}

/// `[libs,]setup[,...]` starting at `arg`.
pub fn parse_setup(l: Lua, mut arg: c_int) -> LResult<Setup> {
    let mut libs = true;
    if l.type_of(arg) == ffi::LUA_TBOOLEAN {
        libs = l.to_boolean(arg);
        arg += 1;
    }
    let code_arg = arg;
    let code = if l.type_of(arg) == ffi::LUA_TSTRING {
        Code::Text(l.to_bytes(arg).unwrap_or_default().to_vec())
    } else if l.is_lua_function(arg) {
        crate::mtthread::check_no_upvalues(l, arg, "state")?;
        l.push_value(arg);
        let dumped = l.dump_function();
        l.pop(1);
        Code::Dumped(dumped.ok_or_else(errors::out_of_memory)?)
    } else {
        return Err(Error::arg(arg, "lua function expected"));
    };
    Ok(Setup {
        libs,
        code,
        code_arg,
        first_arg: arg + 1,
    })
}

/// Registers a new state record (under the creation lock).
pub fn register(name: Option<&[u8]>) -> Arc<State> {
    let state = State::new(name);
    let _g = lock(&CREATION_LOCK);
    STATES.insert(&state);
    state
}

/// Builds the registered `state` (busy on this thread) with `setup`,
/// pushes the owning reference and the setup's extra results. On failure
/// the state is marked failed (waiting singletons retry) and the error is
/// returned.
pub fn create(l: Lua, state: Arc<State>, setup: &Setup) -> LResult {
    // The userdata first (as the original): a memory error here leaves
    // nothing half-built. It gets the state once construction succeeded.
    let ud = object::push_empty(l);
    let ud_idx = l.top();
    match build(l, &state, setup) {
        Ok(interp) => {
            state.finish(interp);
            // SAFETY: ud is the userdata just pushed at ud_idx, still alive.
            unsafe { object::fill(&mut *ud, state, true) };
            Ok(l.top() - ud_idx + 1)
        }
        Err(e) => {
            state.fail();
            Err(e)
        }
    }
}

struct InitJob {
    id: Integer,
    libs: bool,
}

/// Runs protected in the new interpreter: stores its id, opens libraries.
unsafe extern "C-unwind" fn init_state(raw: *mut ffi::lua_State) -> ffi::lua_Results {
    let l = Lua(raw);
    // SAFETY: argument 1 is the light userdata pointing to the caller's InitJob.
    let (id, libs) = unsafe {
        let job = &*(l.to_userdata(1) as *const InitJob);
        (job.id, job.libs)
    };
    l.push_integer(id);
    l.set_field(ffi::LUA_REGISTRYINDEX, ID_KEY);
    if libs {
        open_libs(l);
    } else {
        l.open_base_with_preload();
    }
    ffi::lua_Results::new(0)
}

/// The chunk name of setup code: the code text itself (up to a NUL).
fn chunk_name(code: &Code) -> CString {
    match code {
        Code::Text(text) => {
            let end = text.iter().position(|&c| c == 0).unwrap_or(text.len());
            CString::new(&text[..end]).unwrap_or_default()
        }
        Code::Dumped(_) => c"=(mtstates setup)".to_owned(),
    }
}

/// Closes an interpreter that never became a state's.
fn discard(l2: Lua) {
    // SAFETY: the interpreter was created by `build` and is used by no one else.
    unsafe { l2.close() };
}

fn build(l: Lua, state: &State, setup: &Setup) -> LResult<Interp> {
    let l2 = Lua::new_state().ok_or_else(errors::out_of_memory)?;
    let mut job = InitJob {
        id: state.id() as Integer,
        libs: setup.libs,
    };
    l2.push_cfunction(init_state);
    l2.push_light_userdata(&mut job as *mut InitJob as *mut c_void);
    if l2.pcall(1, 0, 0) != ffi::LUA_OK {
        discard(l2);
        return Err(errors::out_of_memory());
    }
    l2.set_top(0);
    l2.push_cfunction(message_handler);
    l2.push_cfunction(trampoline);
    let (bytes, name) = match &setup.code {
        Code::Text(t) => (t.as_slice(), chunk_name(&setup.code)),
        Code::Dumped(d) => (d.as_slice(), chunk_name(&setup.code)),
    };
    if l2.load_buffer(bytes, &name) != ffi::LUA_OK {
        let text = l2.error_message(-1);
        discard(l2);
        return Err(errors::bad_transfer(setup.code_arg, &text, true));
    }
    let first = setup.first_arg;
    let last = l.top() - 1; // the state userdata is on top
    let nargs = (last - first + 1).max(0);
    if !l2.check_stack(nargs + ffi::LUA_MINSTACK) {
        discard(l2);
        return Err(errors::out_of_memory());
    }
    if let Err((i, e)) = Transfer::new(l2).copy_range(l, first, last) {
        discard(l2);
        return Err(errors::bad_transfer(i, e.as_bytes(), true));
    }
    if l2.pcall(nargs + 1, ffi::LUA_MULTRET, 1) != ffi::LUA_OK {
        let text = error_text(l2, -1);
        discard(l2);
        return Err(errors::invoking_state(None, &text));
    }
    // Results at 2 ..= top: the callback, then extra results.
    let top = l2.top();
    let n = top - 1;
    let l_top = l.top();
    if n >= 2 {
        if !l.check_stack(n + ffi::LUA_MINSTACK) {
            discard(l2);
            return Err(errors::out_of_memory());
        }
        if let Err((i, e)) = Transfer::new(l).copy_range(l2, 3, top) {
            discard(l2);
            l.set_top(l_top);
            let text = format!("state setup function returned bad parameter #{}: {e}", i - 1);
            return Err(errors::state_result(text.as_bytes()));
        }
    }
    if n < 1 || l2.type_of(2) != ffi::LUA_TFUNCTION {
        let what = if n < 1 { "nothing" } else { l2.basic_type_name(2) };
        let text = format!("state setup function returned {what} but a function is required as first result parameter");
        discard(l2);
        l.set_top(l_top);
        return Err(errors::state_result(text.as_bytes()));
    }
    l2.push_value(2);
    let callback = l2.make_ref();
    l2.set_top(0);
    Ok(Interp { lua: l2, callback })
}
