//! The primitives the blocking core synchronises with: std's in the shipped
//! library, loom's under `cfg(loom)`, so that the models in `core::models`
//! explore every interleaving of the very code that ships. The lock, the
//! event counter, the spin, the fd notifier and the state gate take their
//! atomics, cells and mutexes from here. Process-wide statics (the
//! registries, the abort flag, id counters) stay on std: they are not part
//! of the wait and wake protocol, and loom has no `const` constructors.

#[cfg(loom)]
pub use loom::cell::UnsafeCell;
#[cfg(loom)]
pub use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
#[cfg(loom)]
pub use loom::sync::{Mutex, MutexGuard};
#[cfg(not(loom))]
pub use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub use std::sync::{Mutex, MutexGuard};

/// Locks a shim mutex, ignoring poisoning (see `core::sync`).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// std's `UnsafeCell` behind loom's interface (`with`, `with_mut`), which
/// under loom checks every access against the happens-before order.
#[cfg(not(loom))]
pub struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub const fn new(value: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    #[inline]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Lets another thread run (a spinning waiter's courtesy).
#[inline]
pub fn yield_now() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::thread::yield_now();
}

/// Whether a change may skip the wake-up call when the sleepers were
/// already woken (`core::lock::Sleepers`). Always in the shipped library;
/// a model can turn it off to check the protocol with and without it.
#[inline(always)]
pub fn skip_redundant_wakes() -> bool {
    #[cfg(loom)]
    return knobs::SKIP_REDUNDANT_WAKES.load(std::sync::atomic::Ordering::Relaxed);
    #[cfg(not(loom))]
    true
}

/// Settings of the models (process-wide, so models run one at a time; see
/// `core::models`).
#[cfg(loom)]
pub mod knobs {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    pub static SKIP_REDUNDANT_WAKES: AtomicBool = AtomicBool::new(true);
    /// How many times a waiter looks at the event counter before it sleeps
    /// (0: no spin phase). Under loom the spin has no clock.
    pub static SPIN_LOOKS: AtomicU32 = AtomicU32::new(1);

    pub fn set(spin_looks: u32, skip_redundant_wakes: bool) {
        SPIN_LOOKS.store(spin_looks, Ordering::Relaxed);
        SKIP_REDUNDANT_WAKES.store(skip_redundant_wakes, Ordering::Relaxed);
    }

    pub fn spin_looks() -> u32 {
        SPIN_LOOKS.load(Ordering::Relaxed)
    }
}
