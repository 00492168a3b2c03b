//! Loom models of the blocking core: every interleaving of the wait and
//! wake protocol, within a preemption bound, of the very code that ships
//! (its primitives come from `core::shim`). Run by `ci/loom`:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test --release --lib core::models -- --test-threads=1
//! ```
//!
//! A lost wake-up shows as a deadlock (every thread blocked), which loom
//! reports; a wrong outcome fails an assertion. Each model prints how many
//! executions it explored and how long that took.

mod buffer;
mod fd_notifier;
mod gate;
mod listener;

use super::buffer::{Buffer, Front};
use super::shim::knobs;
use super::time::Wait;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The protocol variants a model runs under (see `core::shim::knobs`).
#[derive(Clone, Copy, Debug)]
pub struct Variant {
    /// Looks at the event counter before sleeping (0: no spin phase).
    pub spin_looks: u32,
    /// Skip the wake-up call when the sleepers were woken already.
    pub skip_redundant_wakes: bool,
}

/// The spin phase on and off, the skipped wake on and off.
pub const ALL_VARIANTS: [Variant; 4] = [
    Variant {
        spin_looks: 0,
        skip_redundant_wakes: true,
    },
    Variant {
        spin_looks: 1,
        skip_redundant_wakes: true,
    },
    Variant {
        spin_looks: 0,
        skip_redundant_wakes: false,
    },
    Variant {
        spin_looks: 1,
        skip_redundant_wakes: false,
    },
];

/// The shipped settings (as far as a model has them).
pub const SHIPPED: [Variant; 1] = [Variant {
    spin_looks: 1,
    skip_redundant_wakes: true,
}];

/// Models share the knobs: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Checks `model` under each variant with loom; the preemption bound is
/// `LOOM_MAX_PREEMPTIONS` (default 4, as in ci/loom).
pub fn check(name: &str, variants: &[Variant], model: impl Fn() + Sync + Send + 'static) {
    let _serial = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let model = Arc::new(model);
    let bound = std::env::var("LOOM_MAX_PREEMPTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    for v in variants {
        knobs::set(v.spin_looks, v.skip_redundant_wakes);
        let executions = Arc::new(AtomicUsize::new(0));
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(bound);
        let t0 = Instant::now();
        let (m, n) = (model.clone(), executions.clone());
        builder.check(move || {
            n.fetch_add(1, Ordering::Relaxed);
            m();
        });
        eprintln!(
            "loom model {name} (spin looks {}, skip redundant wakes {}, preemption bound {bound}): {} executions in {:.2} s",
            v.spin_looks,
            v.skip_redundant_wakes,
            executions.load(Ordering::Relaxed),
            t0.elapsed().as_secs_f64()
        );
    }
}

/// A standalone buffer (`size` bytes, fixed if `grow` is 0).
pub fn buffer(size: f64, grow: f64) -> Arc<Buffer> {
    Buffer::new(None, size, grow).expect("mtmsg is not aborted in models")
}

/// The bytes a one-byte message `v` takes in a buffer.
pub fn message_size() -> f64 {
    (super::encoding::header_len(1) + 1) as f64
}

/// Adds the one-byte message `v`, waiting per `how` for room.
pub fn put(b: &Buffer, v: u8, how: Wait) -> Result<(), super::buffer::PutError> {
    b.put(false, how, 1, |d| d[0] = v).map(drop)
}

/// Takes a one-byte message.
pub fn take(source: super::listener::Source<'_>, how: Wait) -> Result<Option<u8>, super::buffer::TakeError<()>> {
    source
        .take(how, |f: &mut Front| Ok::<u8, ()>(f.bytes()[0]))
        .map(|got| got.map(|(v, _)| v))
}
