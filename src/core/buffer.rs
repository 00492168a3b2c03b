//! Message buffers, the lock groups they live in, and their blocking queue.
//!
//! A standalone buffer has a group of its own; a listener's buffers all share
//! the listener's group, hence one lock (mtmsg.md §8). A group holds its
//! buffers' queues in slots. A buffer object (`Buffer`) is the shared,
//! reference-counted handle that Lua userdata and C API holders point to;
//! when the last one goes, the slot is freed, or, if it still holds messages
//! for a listener, kept as an orphan until the listener has read them.

use super::abort;
use super::lock::{EventCount, Lock, LockGuard, Sleepers};
use super::memory::{ByteArea, ReserveError};
use super::notifier::{self, Connected, Kind, NotifyOutcome};
pub use super::queue::Front;
use super::queue::{Elements, MessageQueue};
use super::registry::{Found, IdCounter, Registered, Registry};
use super::sync::SpinBudget;
use super::time::Wait;
use std::collections::VecDeque;
use std::sync::Arc;

/// Buffers and listeners draw ids from one counter (mtmsg.md §2).
pub static OBJECT_IDS: IdCounter = IdCounter::new();
pub static BUFFERS: Registry<Buffer> = Registry::new();

pub const DEFAULT_SIZE: f64 = 1024.0;
pub const DEFAULT_GROW: f64 = 2.0;

/// One buffer's queue and flags, inside its group.
pub(super) struct Slot {
    pub queue: MessageQueue,
    /// Messages queued; every change goes through `GroupState::set_count`
    /// or is followed by `count_changed`, which keep the listener's total.
    count: usize,
    pub closed: bool,
    pub aborted: bool,
    /// In the listener's ready queue.
    pub ready: bool,
    /// The buffer object is gone; the slot stays until its messages are read.
    pub orphan: bool,
    pub notifiers: [Option<Arc<Connected>>; 2],
}

impl Slot {
    /// The placeholder of a slot that does not exist.
    fn closed() -> Slot {
        Slot {
            closed: true,
            ..Slot::new(ByteArea::new(0.0, 0.0))
        }
    }

    fn new(queue: ByteArea) -> Slot {
        Slot {
            queue: MessageQueue::new(queue),
            count: 0,
            closed: false,
            aborted: false,
            ready: false,
            orphan: false,
            notifiers: [None, None],
        }
    }
}

/// A listener's own state, inside its group.
pub(super) struct ListenerState {
    pub closed: bool,
    pub aborted: bool,
    /// Slots with messages, in delivery order (round-robin per buffer).
    pub ready: VecDeque<usize>,
    /// Connected slots (live buffers and orphans).
    pub connected: usize,
    /// Messages queued in all of them (for the listener's notifiers).
    pub count: usize,
    /// `listener:notifier()` (an extension): as a buffer's, on the total.
    pub notifiers: [Option<Arc<Connected>>; 2],
}

impl ListenerState {
    pub fn new() -> ListenerState {
        ListenerState {
            closed: false,
            aborted: false,
            ready: VecDeque::new(),
            connected: 0,
            count: 0,
            notifiers: [None, None],
        }
    }
}

pub(super) struct GroupState {
    pub slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    pub listener: Option<ListenerState>,
    /// Threads asleep on `events`: wake-ups are skipped when none sleep.
    sleepers: Sleepers,
    /// Writers waiting for room in a full buffer of this group (`putmsg`):
    /// while there are any, taking a message counts as a change (`wake`).
    /// Programs that never wait for room pay nothing for this on `take`.
    room_waiters: usize,
}

/// A lock domain: one lock and one event counter for a set of buffers.
pub(super) struct Group {
    pub state: Lock<GroupState>,
    /// Counts changes waiters care about (see `wake`): a waiter spins on it
    /// briefly without the lock, then sleeps on it (see `lock`).
    events: EventCount,
    spin: SpinBudget,
}

pub(super) type Guard<'a> = LockGuard<'a, GroupState>;

/// Notifiers taken out of a slot. They are dropped (which may release the
/// last reference to another buffer) only after the group lock is released.
pub(super) type Detached = [Option<Arc<Connected>>; 2];

impl Group {
    pub fn new(listener: Option<ListenerState>) -> Arc<Group> {
        Arc::new(Group {
            state: Lock::new(GroupState {
                slots: Vec::new(),
                free: Vec::new(),
                listener,
                sleepers: Sleepers::new(),
                room_waiters: 0,
            }),
            events: EventCount::new(),
            spin: SpinBudget::new(),
        })
    }

    /// Locks for an operation: `TryOnce` gives up (None) when busy.
    pub fn lock_for(&self, how: Wait) -> Option<Guard<'_>> {
        if how == Wait::TryOnce {
            self.state.try_lock()
        } else {
            Some(self.state.lock())
        }
    }

    pub fn lock(&self) -> Guard<'_> {
        self.state.lock()
    }

    /// Waits for a change; returns the guard and false once `how` has no
    /// time left (TryOnce and Poll never wait). May return true without a
    /// change: callers look again.
    pub fn wait<'a>(&'a self, g: Guard<'a>, how: Wait) -> (Guard<'a>, bool) {
        let deadline = match how {
            Wait::TryOnce | Wait::Poll => return (g, false),
            Wait::Forever => None,
            Wait::Until(d) => Some(d),
        };
        // A message often arrives within microseconds (ping-pong, a
        // consumer catching up): spin on the event counter without the lock
        // first, which saves both sides the futex calls of sleeping.
        let seen = self.events.current();
        drop(g);
        let changed = self.spin.spin_until_changed(self.events.counter(), seen, deadline);
        let g = self.lock();
        if changed || self.events.current() != seen {
            return (g, true);
        }
        let g = self.events.sleep(g, |s| &mut s.sleepers, seen, deadline);
        let more = deadline.is_none_or(|d| std::time::Instant::now() < d) || self.events.current() != seen;
        (g, more)
    }

    /// Takes the next message of the slot that `pick` names (None: wait per
    /// `how`; an error stops). `f` gets the message under the lock and may
    /// refuse it (the message then stays queued).
    pub fn take<R, E>(
        &self,
        how: Wait,
        f: impl FnOnce(&mut Front) -> Result<R, E>,
        pick: impl Fn(&mut GroupState) -> Result<Option<usize>, TakeError<E>>,
    ) -> Result<Option<(R, NotifyOutcome)>, TakeError<E>> {
        let Some(mut g) = self.lock_for(how) else {
            return Ok(None);
        };
        loop {
            if let Some(slot) = pick(&mut g)? {
                let (r, due, detached) = g.take_from_slot(slot, f).map_err(TakeError::Rejected)?;
                let listener_due = g.listener_due(Kind::Removed);
                self.release_room(g);
                drop(detached);
                let outcome = notify_slot(self, slot, Kind::Removed, due);
                return Ok(Some((
                    r,
                    outcome.and(notify_listener(self, Kind::Removed, listener_due)),
                )));
            }
            let (g2, more) = self.wait(g, how);
            g = g2;
            if !more {
                return Ok(None);
            }
        }
    }

    /// Unlocks after room was freed: wakes the writers waiting for room,
    /// if there are any (then every waiter, who all re-check).
    pub fn release_room(&self, g: Guard<'_>) {
        if g.room_waiters > 0 {
            self.wake(g);
        }
    }

    /// Waits for room as a writer: like `wait`, counted in `room_waiters`
    /// so that takers wake it.
    fn wait_for_room<'a>(&'a self, mut g: Guard<'a>, how: Wait) -> (Guard<'a>, bool) {
        g.room_waiters += 1;
        let (mut g, more) = self.wait(g, how);
        g.room_waiters -= 1;
        (g, more)
    }

    /// Unlocks and wakes every waiter (they re-check their condition).
    pub fn wake(&self, mut g: Guard<'_>) {
        let wake = self.events.advance(&mut g.sleepers);
        self.events.unlock_and_wake(g, wake);
    }
}

impl GroupState {
    /// Sets slot `i`'s message count, keeping the listener's total.
    #[inline]
    pub fn set_count(&mut self, i: usize, count: usize) {
        let s = self.slot(i);
        let old = std::mem::replace(&mut s.count, count);
        self.count_changed(old, count);
    }

    /// A slot's count went from `old` to `new`: keeps the listener's total.
    #[inline]
    fn count_changed(&mut self, old: usize, new: usize) {
        if let Some(l) = self.listener.as_mut() {
            l.count = l.count - old + new;
        }
    }

    /// The listener's notifier of `kind`, if one is due for its total.
    #[inline]
    pub fn listener_due(&self, kind: Kind) -> Option<Arc<Connected>> {
        let l = self.listener.as_ref()?;
        l.notifiers[kind as usize]
            .as_ref()
            .filter(|n| n.is_due(kind, l.count))
            .cloned()
    }

    #[inline]
    pub fn slot(&mut self, i: usize) -> &mut Slot {
        if !matches!(self.slots.get(i), Some(Some(_))) {
            return self.slot_placeholder(i);
        }
        self.slots[i].get_or_insert_with(Slot::closed)
    }

    #[cold]
    fn slot_placeholder(&mut self, i: usize) -> &mut Slot {
        // Slots of live buffers are never freed (see `Buffer::drop`), and
        // orphans are only reached through the ready queue; the closed
        // placeholder only keeps this function total.
        if i >= self.slots.len() {
            self.slots.resize_with(i + 1, || None);
        }
        self.slots[i].get_or_insert_with(Slot::closed)
    }

    pub fn add_slot(&mut self, queue: ByteArea) -> usize {
        let slot = Slot::new(queue);
        match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(slot);
                i
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        }
    }

    /// Frees a slot; returns its notifiers, to be dropped outside the lock.
    pub fn remove_slot(&mut self, i: usize) -> Detached {
        self.unready(i);
        let slot = self.slots[i].take();
        self.free.push(i);
        if let Some(l) = self.listener.as_mut() {
            l.connected -= 1;
        }
        slot.map(|s| s.notifiers).unwrap_or_default()
    }

    /// Appends slot `i` to the listener's ready queue if it has visible messages.
    pub fn make_ready(&mut self, i: usize) {
        let Some(l) = self.listener.as_mut() else { return };
        let Some(s) = self.slots[i].as_mut() else { return };
        if !s.ready && s.count > 0 && !s.aborted && !s.closed {
            s.ready = true;
            l.ready.push_back(i);
        }
    }

    pub fn unready(&mut self, i: usize) {
        let Some(l) = self.listener.as_mut() else { return };
        let Some(s) = self.slots[i].as_mut() else { return };
        if s.ready {
            s.ready = false;
            // A listener takes from the front: the common case is O(1).
            if l.ready.front() == Some(&i) {
                l.ready.pop_front();
            } else {
                l.ready.retain(|&j| j != i);
            }
        }
    }

    /// Closes slot `i`: frees its memory; returns its notifiers.
    pub fn close_slot(&mut self, i: usize) -> Detached {
        self.unready(i);
        self.set_count(i, 0);
        let s = self.slot(i);
        s.closed = true;
        s.queue.free();
        std::mem::take(&mut s.notifiers)
    }

    pub fn set_slot_aborted(&mut self, i: usize, flag: bool) {
        self.slot(i).aborted = flag;
        if flag { self.unready(i) } else { self.make_ready(i) }
    }

    /// Removes the first message of slot `i` into `f`; keeps it if `f` fails.
    /// Returns `f`'s result, the "<" notifier if one is due, and the
    /// notifiers of an orphan slot freed by this (to drop after unlocking).
    pub fn take_from_slot<R, E>(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut Front) -> Result<R, E>,
    ) -> Result<(R, Option<Arc<Connected>>, Detached), E> {
        let s = self.slot(i);
        let mut front = s.queue.front();
        let r = f(&mut front)?;
        front.remove();
        s.count -= 1;
        let left = s.count;
        let due = s.notifiers[Kind::Removed as usize]
            .clone()
            .filter(|n| n.is_due(Kind::Removed, left));
        self.count_changed(left + 1, left);
        // Round-robin: a buffer read from goes to the end of the ready queue.
        self.unready(i);
        let mut detached = Detached::default();
        if left > 0 {
            self.make_ready(i);
        } else if self.slots[i].as_ref().is_some_and(|s| s.orphan) {
            detached = self.remove_slot(i);
        }
        Ok((r, due, detached))
    }
}

/// Why a message could not be added.
#[derive(Debug, PartialEq)]
pub enum PutError {
    Busy,
    Closed,
    Aborted,
    Memory(ReserveError),
}

/// Why `take` raised instead of returning a message or nothing.
#[derive(Debug, PartialEq)]
pub enum TakeError<E> {
    Closed,
    Aborted,
    NoBuffers,
    /// The caller's function refused the message (it stays queued).
    Rejected(E),
}

/// The shared buffer object.
pub struct Buffer {
    id: u64,
    name: Option<Box<[u8]>>,
    pub(super) group: Arc<Group>,
    pub(super) slot: usize,
    listener: Option<Arc<super::listener::Listener>>,
}

impl Registered for Buffer {
    fn id(&self) -> u64 {
        self.id
    }
    fn name(&self) -> Option<&[u8]> {
        self.name.as_deref()
    }
}

/// Sets the global abort flag and applies it to every buffer and listener.
pub fn abort_all(flag: bool) {
    let _creation = abort::creation_lock();
    abort::set_aborted(flag);
    for b in BUFFERS.all() {
        b.set_aborted(flag);
    }
    for l in super::listener::LISTENERS.all() {
        l.set_aborted(flag);
    }
}

impl Buffer {
    /// A standalone buffer. Fails only when mtmsg is aborted.
    pub fn new(name: Option<&[u8]>, size: f64, grow: f64) -> Option<Arc<Buffer>> {
        let _creation = abort::creation_lock();
        if abort::is_aborted() {
            return None;
        }
        let group = Group::new(None);
        let slot = group.lock().add_slot(ByteArea::new(size, grow));
        Some(Buffer::register(name, group, slot, None))
    }

    pub(super) fn register(
        name: Option<&[u8]>,
        group: Arc<Group>,
        slot: usize,
        listener: Option<Arc<super::listener::Listener>>,
    ) -> Arc<Buffer> {
        let b = Arc::new(Buffer {
            id: OBJECT_IDS.next_id(),
            name: name.map(Into::into),
            group,
            slot,
            listener,
        });
        BUFFERS.insert(&b);
        b
    }

    pub fn find_id(id: u64) -> Option<Arc<Buffer>> {
        BUFFERS.find_id(id, |_| true)
    }

    pub fn find_name(name: &[u8]) -> Found<Buffer> {
        BUFFERS.find_name(name, |_| true)
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn name(&self) -> Option<&[u8]> {
        self.name.as_deref()
    }

    pub fn listener_id(&self) -> Option<u64> {
        self.listener.as_ref().map(|l| l.id())
    }

    /// Adds one message whose elements take `len` bytes, written by `write`.
    /// `replace` discards the queued messages first (setmsg; a failed
    /// setmsg leaves the buffer as it was). A full fixed-size buffer gives
    /// `Memory(Full)` once `how` has no time left: `Wait::once` never waits
    /// for room, a timeout waits for a reader to free it (`putmsg`). A
    /// message larger than the whole buffer fails at once (`TooLarge`).
    /// Returns the outcome of the ">" notifier.
    pub fn put(
        &self,
        replace: bool,
        how: Wait,
        len: usize,
        write: impl FnOnce(&mut [u8]),
    ) -> Result<NotifyOutcome, PutError> {
        let mut elements = Elements::prepare(len, write).map_err(PutError::Memory)?;
        let Some(mut g) = self.group.lock_for(how) else {
            elements.recycle();
            return Err(PutError::Busy);
        };
        let failed = loop {
            let s = g.slot(self.slot);
            if s.closed {
                break PutError::Closed;
            } else if s.aborted {
                break PutError::Aborted;
            }
            match s.queue.push(replace, elements) {
                Ok(()) => return Ok(self.added(g, replace)),
                Err((ReserveError::Full, unused)) => {
                    elements = unused;
                    let (g2, more) = self.group.wait_for_room(g, how);
                    g = g2;
                    if !more {
                        break PutError::Memory(ReserveError::Full);
                    }
                }
                Err((e, unused)) => {
                    elements = unused;
                    break PutError::Memory(e);
                }
            }
        };
        drop(g);
        elements.recycle();
        Err(failed)
    }

    /// Counts a message just stored, unlocks and wakes, and calls the ">"
    /// notifier if it is due.
    fn added(&self, mut g: Guard<'_>, replace: bool) -> NotifyOutcome {
        let s = g.slot(self.slot);
        let old = s.count;
        let count = if replace { 1 } else { old + 1 };
        s.count = count;
        let due = s.notifiers[Kind::Added as usize]
            .clone()
            .filter(|n| n.is_due(Kind::Added, count));
        g.count_changed(old, count);
        let listener_due = g.listener_due(Kind::Added);
        if replace || count == 1 {
            // setmsg keeps the buffer's place in the listener's ready queue.
            g.make_ready(self.slot);
        }
        self.group.wake(g);
        self.notify(Kind::Added, due)
            .and(notify_listener(&self.group, Kind::Added, listener_due))
    }

    /// Takes the next message: `f` gets its element bytes under the lock
    /// and may refuse it (then it stays queued). Ok(None): no message
    /// (timed out, or busy in TryOnce mode).
    pub fn take<R, E>(
        &self,
        how: Wait,
        f: impl FnOnce(&mut Front) -> Result<R, E>,
    ) -> Result<Option<(R, NotifyOutcome)>, TakeError<E>> {
        let slot = self.slot;
        self.group.take(how, f, |g| {
            let s = g.slot(slot);
            if s.closed {
                Err(TakeError::Closed)
            } else if s.aborted {
                Err(TakeError::Aborted)
            } else {
                Ok((s.count > 0).then_some(slot))
            }
        })
    }

    /// Calls a due notifier (outside the lock); disconnects it if it
    /// reports that it is closed.
    pub(super) fn notify(&self, kind: Kind, due: Option<Arc<Connected>>) -> NotifyOutcome {
        notify_slot(&self.group, self.slot, kind, due)
    }

    pub fn count(&self) -> usize {
        let mut g = self.group.lock();
        g.slot(self.slot).count
    }

    /// Removes all messages. Err(Busy) in nonblock mode when busy.
    pub fn clear(&self, nonblock: bool) -> Result<(), PutError> {
        let mut g = self.group.lock_for(Wait::once(nonblock)).ok_or(PutError::Busy)?;
        let s = g.slot(self.slot);
        if s.closed {
            return Err(PutError::Closed);
        }
        s.queue.clear();
        g.set_count(self.slot, 0);
        g.unready(self.slot);
        self.group.release_room(g);
        Ok(())
    }

    pub fn close(&self) {
        let mut g = self.group.lock();
        if g.slot(self.slot).closed {
            return;
        }
        let notifiers = g.close_slot(self.slot);
        self.group.wake(g);
        drop(notifiers);
    }

    pub fn is_closed(&self) -> bool {
        self.group.lock().slot(self.slot).closed
    }

    pub fn set_aborted(&self, flag: bool) {
        let mut g = self.group.lock();
        g.set_slot_aborted(self.slot, flag);
        self.group.wake(g);
    }

    pub fn is_aborted(&self) -> bool {
        self.group.lock().slot(self.slot).aborted
    }

    /// Checks closed, then aborted (for `nonblock()`).
    pub fn check_usable(&self) -> Result<(), PutError> {
        let mut g = self.group.lock();
        let s = g.slot(self.slot);
        if s.closed {
            Err(PutError::Closed)
        } else if s.aborted {
            Err(PutError::Aborted)
        } else {
            Ok(())
        }
    }

    /// Connects (`Some`) or disconnects (`None`) a notifier. Connecting to
    /// an occupied slot gives back the notifier as `Err(Some(..))`; a closed
    /// buffer gives `Err(None)`.
    pub fn set_notifier(&self, kind: Kind, n: Option<Connected>) -> Result<(), Option<Connected>> {
        let mut g = self.group.lock();
        let s = g.slot(self.slot);
        if s.closed {
            return Err(None);
        }
        let old = connect(&mut s.notifiers[kind as usize], n)?;
        drop(g);
        drop(old);
        Ok(())
    }
}

/// Connects `n` to an empty `place` (an occupied one gives it back), or
/// disconnects (`None`); returns the notifier taken out, to be dropped
/// after unlocking.
pub(super) fn connect(
    place: &mut Option<Arc<Connected>>,
    n: Option<Connected>,
) -> Result<Option<Arc<Connected>>, Option<Connected>> {
    match n {
        Some(n) if place.is_some() => Err(Some(n)),
        Some(n) => Ok(place.replace(Arc::new(n))),
        None => Ok(place.take()),
    }
}

/// Calls a due notifier of the listener of `group` (outside the lock);
/// disconnects it if it reports that it is closed.
#[inline]
pub(super) fn notify_listener(group: &Group, kind: Kind, due: Option<Arc<Connected>>) -> NotifyOutcome {
    match due {
        None => NotifyOutcome::Done,
        Some(n) => call_notifier(group, n, |g| {
            g.listener.as_mut().map(|l| &mut l.notifiers[kind as usize])
        }),
    }
}

/// Calls a due notifier of slot `slot` (outside the lock); disconnects it if
/// it reports that it is closed.
#[inline]
pub(super) fn notify_slot(group: &Group, slot: usize, kind: Kind, due: Option<Arc<Connected>>) -> NotifyOutcome {
    match due {
        None => NotifyOutcome::Done,
        Some(n) => call_notifier(group, n, |g| {
            g.slots[slot].as_mut().map(|s| &mut s.notifiers[kind as usize])
        }),
    }
}

/// Calls `n`; if it reports that it is closed, empties the place `place`
/// finds for it, if that still holds `n` (another thread may have replaced it).
fn call_notifier(
    group: &Group,
    n: Arc<Connected>,
    place: impl FnOnce(&mut GroupState) -> Option<&mut Option<Arc<Connected>>>,
) -> NotifyOutcome {
    notifier::call(&n, || {
        let mut g = group.lock();
        let removed = place(&mut g).and_then(|p| {
            if p.as_ref().is_some_and(|c| Arc::ptr_eq(c, &n)) {
                p.take()
            } else {
                None
            }
        });
        drop(g);
        drop(removed);
    })
}

impl Drop for Buffer {
    fn drop(&mut self) {
        BUFFERS.remove(self.id, self.name.as_deref());
        let mut g = self.group.lock();
        let has_listener = g.listener.is_some();
        let keep = {
            let s = g.slot(self.slot);
            has_listener && s.count > 0 && !s.closed
        };
        let notifiers = if keep {
            g.slot(self.slot).orphan = true;
            [None, None]
        } else {
            g.remove_slot(self.slot)
        };
        // A listener blocked in nextmsg re-checks (it may now have no buffers).
        self.group.wake(g);
        drop(notifiers);
    }
}
