//! mtmsg's error values (mtmsg.md §16).

use crate::core::buffer::PutError;
use crate::core::memory::ReserveError;
use crate::core::notifier::NotifyOutcome;
use crate::lua::Error;

/// The keys of the `mtmsg.error` table.
pub const NAMES: [&str; 8] = [
    "ambiguous_name",
    "has_notifier",
    "message_size",
    "no_buffers",
    "object_closed",
    "operation_aborted",
    "out_of_memory",
    "unknown_object",
];

pub fn with_detail(name: &str, detail: &[u8]) -> Error {
    let mut b = format!("mtmsg.error.{name}: ").into_bytes();
    b.extend_from_slice(detail);
    Error::Bytes(b)
}

pub fn object_closed(obj: &[u8]) -> Error {
    with_detail("object_closed", obj)
}

pub fn aborted() -> Error {
    Error::plain("mtmsg.error.operation_aborted")
}

pub fn has_notifier() -> Error {
    Error::plain("mtmsg.error.has_notifier")
}

pub fn message_size(size: usize, limit: usize, obj: &[u8]) -> Error {
    let mut b =
        format!("mtmsg.error.message_size: message size {size} exceeds limit of {limit} bytes for ").into_bytes();
    b.extend_from_slice(obj);
    Error::Bytes(b)
}

pub fn out_of_memory(bytes: usize) -> Error {
    Error::plain(format!("mtmsg.error.out_of_memory: failed to allocate {bytes} bytes"))
}

/// A memory error of a buffer, writer or reader described by `obj`.
pub fn memory(e: ReserveError, obj: &[u8]) -> Error {
    match e {
        ReserveError::TooLarge { size, limit } => message_size(size, limit, obj),
        ReserveError::OutOfMemory { bytes } => out_of_memory(bytes),
        ReserveError::Full => Error::plain("mtmsg: internal error (full)"),
    }
}

/// The Lua outcome of a failed put: Ok(false) where the API returns false.
pub fn put(e: PutError, obj: &[u8]) -> Result<bool, Error> {
    match e {
        PutError::Busy | PutError::Memory(ReserveError::Full) => Ok(false),
        PutError::Closed => Err(object_closed(obj)),
        PutError::Aborted => Err(aborted()),
        PutError::Memory(m) => Err(memory(m, obj)),
    }
}

/// Raises a notifier failure after the operation itself succeeded.
#[inline]
pub fn notified(outcome: NotifyOutcome) -> Result<(), Error> {
    if outcome == NotifyOutcome::Done {
        return Ok(());
    }
    notifier_error(outcome)
}

#[cold]
fn notifier_error(outcome: NotifyOutcome) -> Result<(), Error> {
    match outcome.error_text() {
        None => Ok(()),
        Some((text, false)) => Err(Error::plain(text)),
        Some((text, true)) => Err(Error::located(text)),
    }
}
