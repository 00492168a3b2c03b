//! Notifiers connected to a buffer: called after messages are added (">")
//! or removed ("<"), outside every lock, on the thread that did it.

use std::cell::Cell;
use std::sync::Arc;

/// Something that can be notified: in practice an object published through
/// the Notify C API (another buffer, a state, a third-party object).
/// Dropping it releases the notifier.
pub trait Notifier: Send + Sync {
    /// Returns the Notify C API code: 0 success, 1 closed (never call
    /// again), other values failure. Error texts go to `errors`.
    fn notify(&self, errors: &mut Vec<String>) -> i32;
}

/// Return code of a notifier that is closed for good.
pub const NOTIFY_CLOSED: i32 = 1;

/// A connected notifier and its threshold. Shared (`Arc`) so that a
/// notification in flight keeps it alive while another thread disconnects it.
pub struct Connected {
    pub notifier: Box<dyn Notifier>,
    pub threshold: i64,
}

/// Which notifier slot of a buffer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// ">": notified after a message is added.
    Added = 0,
    /// "<": notified after a message is removed.
    Removed = 1,
}

impl Connected {
    /// Whether a notification is due, given the message count after the operation.
    pub fn is_due(&self, kind: Kind, count: usize) -> bool {
        let count = count as i64;
        match kind {
            Kind::Added => count > self.threshold,
            Kind::Removed => self.threshold <= 0 || count < self.threshold,
        }
    }
}

/// What happened when a notifier was called after an operation. One word:
/// every message operation returns it, and the rare failure is boxed.
#[derive(Debug, PartialEq)]
pub enum NotifyOutcome {
    /// Not due, succeeded, or closed (and then disconnected).
    Done,
    Failed(Box<NotifyFailure>),
}

/// The notifier failed with `rc`; `errors` holds what it reported.
#[derive(Debug, PartialEq)]
pub struct NotifyFailure {
    pub rc: i32,
    pub errors: Vec<String>,
}

impl NotifyOutcome {
    fn failed(rc: i32, errors: Vec<String>) -> NotifyOutcome {
        NotifyOutcome::Failed(Box::new(NotifyFailure { rc, errors }))
    }
}

impl NotifyOutcome {
    /// The outcome of two notifications made in turn: the first failure.
    #[inline]
    pub fn and(self, other: NotifyOutcome) -> NotifyOutcome {
        match self {
            NotifyOutcome::Done => other,
            failed => failed,
        }
    }

    /// The text for an error raised in Lua, and whether it gets a position
    /// prefix ("Unknown error ..." does, "Error while calling ..." does not).
    pub fn error_text(&self) -> Option<(String, bool)> {
        match self {
            NotifyOutcome::Done => None,
            NotifyOutcome::Failed(f) if !f.errors.is_empty() => {
                Some((format!("Error while calling notifier: {}", f.errors.join("\n")), false))
            }
            NotifyOutcome::Failed(f) => Some((format!("Unknown error while calling notifier. (rc={})", f.rc), true)),
        }
    }
}

/// How deeply notifications may nest on one thread. A notifier that adds to
/// a buffer notifies that buffer's notifiers in turn; a cycle of ">"
/// notifiers (`b:notifier(b, ">")`) would recurse until the stack overflows
/// (the original crashes). Past this depth the innermost one fails instead.
pub const MAX_DEPTH: u32 = 64;

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Calls `n` and classifies the result; `on_closed` runs when the notifier
/// reports that it is closed for good.
pub fn call(n: &Arc<Connected>, on_closed: impl FnOnce()) -> NotifyOutcome {
    let mut errors = Vec::new();
    let depth = DEPTH.with(Cell::get);
    if depth >= MAX_DEPTH {
        errors.push(format!(
            "notifications nested more than {MAX_DEPTH} deep (a cycle of notifiers?)"
        ));
        return NotifyOutcome::failed(999, errors);
    }
    DEPTH.with(|d| d.set(depth + 1));
    let rc = n.notifier.notify(&mut errors);
    DEPTH.with(|d| d.set(depth));
    match rc {
        0 => NotifyOutcome::Done,
        NOTIFY_CLOSED => {
            on_closed();
            NotifyOutcome::Done
        }
        rc => NotifyOutcome::failed(rc, errors),
    }
}
