//! Listeners: one lock group shared with the buffers they create, delivering
//! their buffers' messages round-robin per buffer (mtmsg.md §13).

use super::abort;
use super::buffer::{Buffer, Front, Group, ListenerState, OBJECT_IDS, PutError, TakeError, connect};
use super::memory::ByteArea;
use super::notifier::{Connected, Kind, NotifyOutcome};
use super::registry::{Found, Registered, Registry};
use super::time::Wait;
use std::sync::Arc;

pub static LISTENERS: Registry<Listener> = Registry::new();

/// Where a message is taken from: a buffer or a listener.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    Buffer(&'a Buffer),
    Listener(&'a Listener),
}

impl Source<'_> {
    /// `Buffer::take` or `Listener::take`.
    pub fn take<R, E>(
        self,
        how: Wait,
        f: impl FnOnce(&mut Front) -> Result<R, E>,
    ) -> Result<Option<(R, NotifyOutcome)>, TakeError<E>> {
        match self {
            Source::Buffer(b) => b.take(how, f),
            Source::Listener(l) => l.take(how, f),
        }
    }
}

pub struct Listener {
    id: u64,
    name: Option<Box<[u8]>>,
    group: Arc<Group>,
}

impl Registered for Listener {
    fn id(&self) -> u64 {
        self.id
    }
    fn name(&self) -> Option<&[u8]> {
        self.name.as_deref()
    }
}

impl Listener {
    /// Fails only when mtmsg is aborted.
    pub fn new(name: Option<&[u8]>) -> Option<Arc<Listener>> {
        let _creation = abort::creation_lock();
        if abort::is_aborted() {
            return None;
        }
        let state = ListenerState::new();
        let l = Arc::new(Listener {
            id: OBJECT_IDS.next_id(),
            name: name.map(Into::into),
            group: Group::new(Some(state)),
        });
        LISTENERS.insert(&l);
        Some(l)
    }

    pub fn find_id(id: u64) -> Option<Arc<Listener>> {
        LISTENERS.find_id(id, |_| true)
    }

    pub fn find_name(name: &[u8]) -> Found<Listener> {
        LISTENERS.find_name(name, |_| true)
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn name(&self) -> Option<&[u8]> {
        self.name.as_deref()
    }

    /// A new buffer connected to this listener.
    pub fn new_buffer(self: &Arc<Self>, name: Option<&[u8]>, size: f64, grow: f64) -> Result<Arc<Buffer>, PutError> {
        let _creation = abort::creation_lock();
        if abort::is_aborted() {
            return Err(PutError::Aborted);
        }
        let mut g = self.group.lock();
        let Some(l) = g.listener.as_mut() else {
            return Err(PutError::Closed);
        };
        if l.closed {
            return Err(PutError::Closed);
        }
        if l.aborted {
            return Err(PutError::Aborted);
        }
        l.connected += 1;
        let slot = g.add_slot(ByteArea::new(size, grow));
        drop(g);
        Ok(Buffer::register(name, self.group.clone(), slot, Some(self.clone())))
    }

    /// Takes the next message of the first ready buffer (see `Buffer::take`).
    pub fn take<R, E>(
        &self,
        how: Wait,
        f: impl FnOnce(&mut Front) -> Result<R, E>,
    ) -> Result<Option<(R, NotifyOutcome)>, TakeError<E>> {
        self.group.take(how, f, |g| match g.listener.as_ref() {
            None => Err(TakeError::Closed),
            Some(l) if l.closed => Err(TakeError::Closed),
            Some(l) if l.aborted => Err(TakeError::Aborted),
            Some(l) if l.connected == 0 => Err(TakeError::NoBuffers),
            Some(l) => Ok(l.ready.front().copied()),
        })
    }

    /// Empties every connected buffer. Err(Busy) in nonblock mode when busy.
    pub fn clear(&self, nonblock: bool) -> Result<(), PutError> {
        let mut g = self.group.lock_for(Wait::once(nonblock)).ok_or(PutError::Busy)?;
        if g.listener.as_ref().is_some_and(|l| l.closed) {
            return Err(PutError::Closed);
        }
        let mut orphans = Vec::new();
        for i in 0..g.slots.len() {
            if let Some(s) = g.slots[i].as_mut() {
                s.queue.clear();
                if s.orphan {
                    orphans.push(i);
                }
                g.set_count(i, 0);
            }
            g.unready(i);
        }
        let dropped: Vec<_> = orphans.into_iter().map(|i| g.remove_slot(i)).collect();
        self.group.release_room(g);
        drop(dropped);
        Ok(())
    }

    /// Closes the listener and every connected buffer.
    pub fn close(&self) {
        let mut g = self.group.lock();
        if g.listener.as_ref().is_some_and(|l| l.closed) {
            return;
        }
        let mut notifiers = Vec::new();
        for i in 0..g.slots.len() {
            if g.slots[i].as_ref().is_some_and(|s| !s.closed) {
                notifiers.push(g.close_slot(i));
            }
        }
        let own = g.listener.as_mut().map(|l| {
            l.closed = true;
            std::mem::take(&mut l.notifiers)
        });
        self.group.wake(g);
        drop(notifiers);
        drop(own);
    }

    /// Sets or clears the abort flag of the listener and of every connected buffer.
    pub fn set_aborted(&self, flag: bool) {
        let mut g = self.group.lock();
        if let Some(l) = g.listener.as_mut() {
            l.aborted = flag;
        }
        for i in 0..g.slots.len() {
            if g.slots[i].is_some() {
                g.set_slot_aborted(i, flag);
            }
        }
        self.group.wake(g);
    }

    pub fn is_aborted(&self) -> bool {
        self.group.lock().listener.as_ref().is_some_and(|l| l.aborted)
    }

    /// Connects (`Some`) or disconnects (`None`) a listener notifier (an
    /// extension), as `Buffer::set_notifier` does for a buffer.
    pub fn set_notifier(&self, kind: Kind, n: Option<Connected>) -> Result<(), Option<Connected>> {
        let mut g = self.group.lock();
        let Some(l) = g.listener.as_mut().filter(|l| !l.closed) else {
            return Err(None);
        };
        let old = connect(&mut l.notifiers[kind as usize], n)?;
        drop(g);
        drop(old);
        Ok(())
    }

    /// Checks closed, then aborted (for `nonblock()`).
    pub fn check_usable(&self) -> Result<(), PutError> {
        let g = self.group.lock();
        match g.listener.as_ref() {
            Some(l) if l.closed => Err(PutError::Closed),
            Some(l) if l.aborted => Err(PutError::Aborted),
            _ => Ok(()),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        LISTENERS.remove(self.id, self.name.as_deref());
    }
}
