//! The Lua-free core shared by the Lua bindings and the C APIs: ids and
//! names, message encoding and memory, buffers and listeners with their
//! blocking queues, notifiers, a state's call queue (`gate`), abort and
//! time. Its synchronisation primitives come from `shim`, so that the loom
//! models in `models` (under `--cfg loom`) check the code that ships.

pub mod abort;
pub mod buffer;
pub mod encoding;
pub mod fd_notifier;
pub mod futex;
pub mod gate;
pub mod listener;
pub mod lock;
pub mod memory;
pub mod notifier;
pub mod queue;
pub mod registry;
pub mod shim;
pub mod sync;
pub mod time;

#[cfg(all(test, loom))]
mod models;
