//! mtstates' error values (mtstates.md §5): plain strings starting with
//! `mtstates.error.<name>`, raised without position prefix.

use super::state::State;
use crate::class;
use crate::lua::Error;

/// The keys of the `mtstates.error` table.
pub const NAMES: [&str; 8] = [
    "ambiguous_name",
    "concurrent_access",
    "interrupted",
    "invoking_state",
    "object_closed",
    "out_of_memory",
    "state_result",
    "unknown_object",
];

pub const CLASS_NAME: &str = "mtstates.state";

/// The inner traceback of errors detected by our own code at the C level of
/// the called interpreter (argument transfer, loading, result checks), as
/// the original module reports them.
pub const C_TRACEBACK: &[u8] = b"\nstack traceback:\n\t[C]: in ?\n\t[C]: in ?";

/// `mtstates.state(id=N)` / `mtstates.state(name="q",id=N)`.
pub fn describe(s: &State) -> Vec<u8> {
    class::describe(CLASS_NAME, s.name(), s.id())
}

fn with_detail(name: &str, detail: &[u8]) -> Error {
    let mut b = format!("mtstates.error.{name}: ").into_bytes();
    b.extend_from_slice(detail);
    Error::Bytes(b)
}

pub fn object_closed(s: &State) -> Error {
    with_detail("object_closed", &describe(s))
}

pub fn concurrent_access(s: &State) -> Error {
    with_detail("concurrent_access", &describe(s))
}

pub fn out_of_memory() -> Error {
    Error::plain("mtstates.error.out_of_memory")
}

/// A runtime error inside a state: `invoking_state: [<statestr>: ]<inner>`.
pub fn invoking_state(s: Option<&State>, inner: &[u8]) -> Error {
    let mut detail = Vec::with_capacity(inner.len() + 48);
    if let Some(s) = s {
        detail.extend_from_slice(&describe(s));
        detail.extend_from_slice(b": ");
    }
    detail.extend_from_slice(inner);
    with_detail("invoking_state", &detail)
}

/// A bad result of a setup or callback function (with inner traceback).
pub fn state_result(text: &[u8]) -> Error {
    let mut detail = text.to_vec();
    detail.extend_from_slice(C_TRACEBACK);
    with_detail("state_result", &detail)
}

/// An argument that could not be moved into a state. The text carries the
/// inner traceback, except for a nested call from the state's own
/// interpreter (as the original does).
pub fn bad_transfer(arg: std::ffi::c_int, text: &[u8], with_traceback: bool) -> Error {
    let mut msg = String::from_utf8_lossy(text).into_owned();
    if with_traceback {
        msg.push_str(&String::from_utf8_lossy(C_TRACEBACK));
    }
    Error::arg(arg, msg)
}
