//! A notifier that an event loop can wait on: a file descriptor that is
//! readable while a notification is pending (the idea of ZeroMQ's ZMQ_FD).
//!
//! Linux gets an `eventfd`; other Unix systems a non-blocking pipe (read
//! end polled, write end written). Either way a burst of notifications
//! makes the descriptor readable once: `pending` remembers that it already
//! is, so only the first notification after a `drain` makes a system call.
//!
//! Notifications come from any thread (the buffers' producers), `drain` and
//! `close` from the owner's. The descriptors sit behind a mutex that a
//! notification holds while it writes: `close` cannot free the number
//! under it, and a later notification finds the notifier closed instead of
//! writing to whatever file reuses the number.

use super::shim::{AtomicBool, Mutex, Ordering, lock};
use std::io;
use std::os::fd::RawFd;

/// What `notify` did, in Notify C API terms.
#[derive(Debug, PartialEq, Eq)]
pub enum Notified {
    /// The descriptor is readable (now or already).
    Done,
    /// Closed for good: the caller should disconnect it.
    Closed,
    /// The write failed.
    Failed(io::ErrorKind),
}

#[derive(Clone, Copy)]
struct Fds {
    read: RawFd,
    write: RawFd,
}

pub struct FdNotifier {
    fds: Mutex<Option<Fds>>,
    /// A notification has made the descriptor readable since the last drain.
    pending: AtomicBool,
    closed: AtomicBool,
}

impl FdNotifier {
    pub fn new() -> io::Result<FdNotifier> {
        Ok(FdNotifier {
            fds: Mutex::new(Some(sys::open()?)),
            pending: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        })
    }

    /// The descriptor to poll for reading; None once closed.
    pub fn fd(&self) -> Option<RawFd> {
        lock(&self.fds).map(|f| f.read)
    }

    /// Makes the descriptor readable. Safe from any thread.
    pub fn notify(&self) -> Notified {
        if self.closed.load(Ordering::Acquire) {
            return Notified::Closed;
        }
        // Already readable: a burst costs one write, not one per message.
        if self.pending.swap(true, Ordering::AcqRel) {
            return Notified::Done;
        }
        let fds = lock(&self.fds);
        let Some(f) = *fds else { return Notified::Closed };
        match sys::signal(f.write) {
            Ok(()) => Notified::Done,
            Err(e) => {
                // Let the next notification try again.
                self.pending.store(false, Ordering::Release);
                Notified::Failed(e.kind())
            }
        }
    }

    /// Makes the descriptor unreadable again; returns whether a notification
    /// was pending. Never blocks. `Err` only once closed. Callers look at
    /// what was notified (the buffers) after draining, never before.
    pub fn drain(&self) -> Result<bool, Closed> {
        let fds = lock(&self.fds);
        let f = (*fds).ok_or(Closed)?;
        let was = sys::drain(f.read);
        // Cleared after reading. A notification between the two finds
        // `pending` set and writes nothing, but the caller looks at the
        // buffers after this returns and sees its message. Cleared before
        // reading, with the lock let go in between, a notification could
        // write there, its write be read here, and `pending` stay set with
        // nothing to read: every later notification would then be skipped
        // (seen as a hang). The order alone or the lock alone prevents it;
        // the loom model of notify racing drain checks this.
        //
        // A swap, not a store: reading the `true` of the notifications it
        // clears makes what they notified visible to the caller. After a
        // plain store, a caller that looked at data no lock orders (an
        // atomic, say) could read it stale while the notification that
        // covered it was skipped as pending: lost (found by Miri, modelled
        // by loom's "data visible after drain").
        self.pending.swap(false, Ordering::AcqRel);
        Ok(was)
    }

    /// Closes the descriptors; later notifications report `Closed`.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let taken = lock(&self.fds).take();
        if let Some(f) = taken {
            sys::close(f);
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

impl Drop for FdNotifier {
    fn drop(&mut self) {
        self.close();
    }
}

/// The notifier is closed.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed;

/// Writes `bytes` to the non-blocking descriptor `fd` in one call,
/// retrying when interrupted. A write that would block means the
/// descriptor is as readable as it gets: done too.
fn write_signal(fd: RawFd, bytes: &[u8]) -> io::Result<()> {
    loop {
        // SAFETY: `bytes` is valid for its length; `fd` is ours and open
        // (the caller holds the notifier's descriptor lock).
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n == bytes.len() as isize {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return Ok(()),
            _ => return Err(e),
        }
    }
}

#[cfg(target_os = "linux")]
mod sys {
    use super::Fds;
    use std::io;
    use std::os::fd::RawFd;

    pub fn open() -> io::Result<Fds> {
        // SAFETY: plain system call; the flags are valid for eventfd.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Fds { read: fd, write: fd })
    }

    pub fn signal(fd: RawFd) -> io::Result<()> {
        // WouldBlock: the counter is at its maximum, readable anyway.
        super::write_signal(fd, &1u64.to_ne_bytes())
    }

    pub fn drain(fd: RawFd) -> bool {
        let mut value: u64 = 0;
        loop {
            // SAFETY: reads 8 bytes into `value` from an eventfd we own.
            let n = unsafe { libc::read(fd, (&mut value as *mut u64).cast(), 8) };
            if n == 8 {
                return value > 0;
            }
            if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return false;
        }
    }

    pub fn close(f: Fds) {
        // SAFETY: closes the eventfd we own, once (it was taken out of the notifier).
        unsafe { libc::close(f.read) };
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
mod sys {
    use super::Fds;
    use std::io;
    use std::os::fd::RawFd;

    pub fn open() -> io::Result<Fds> {
        let mut p = [0 as libc::c_int; 2];
        // SAFETY: `p` has room for the two descriptors pipe() returns.
        if unsafe { libc::pipe(p.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        for fd in p {
            // SAFETY: plain fcntl calls on the descriptors just created.
            unsafe {
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                libc::fcntl(fd, libc::F_SETFL, libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK);
            }
        }
        Ok(Fds {
            read: p[0],
            write: p[1],
        })
    }

    pub fn signal(fd: RawFd) -> io::Result<()> {
        // WouldBlock: the pipe is full, readable anyway.
        super::write_signal(fd, b"!")
    }

    pub fn drain(fd: RawFd) -> bool {
        let mut any = false;
        let mut buf = [0u8; 64];
        loop {
            // SAFETY: reads into a live local buffer of its length.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                any = true;
                continue;
            }
            if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return any;
        }
    }

    pub fn close(f: Fds) {
        // SAFETY: closes both ends we own, once (taken out of the notifier).
        unsafe {
            libc::close(f.read);
            libc::close(f.write);
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::sync::Arc;

    /// Whether `fd` is readable now (also used by the loom models).
    pub(in crate::core) fn readable(fd: RawFd) -> bool {
        wait_readable(fd, 0)
    }

    #[test]
    fn a_burst_is_one_readable_state() {
        let n = FdNotifier::new().unwrap();
        let fd = n.fd().unwrap();
        assert!(!readable(fd));
        for _ in 0..1000 {
            assert_eq!(n.notify(), Notified::Done);
        }
        assert!(readable(fd));
        assert_eq!(n.drain(), Ok(true));
        assert!(!readable(fd));
        assert_eq!(n.drain(), Ok(false));
        n.notify();
        assert!(readable(fd));
    }

    #[test]
    fn closed_reports_closed() {
        let n = FdNotifier::new().unwrap();
        n.close();
        assert_eq!(n.notify(), Notified::Closed);
        assert_eq!(n.drain(), Err(Closed));
        assert_eq!(n.fd(), None);
        n.close();
    }

    #[test]
    fn notifications_from_threads_are_never_lost() {
        // A notification racing with a drain is either seen by the drain
        // or leaves the descriptor readable, however the two interleave,
        // and the next notification makes it readable again.
        let n = Arc::new(FdNotifier::new().unwrap());
        let fd = n.fd().unwrap();
        // Miri runs a thread spawn in milliseconds, not microseconds.
        let rounds = if cfg!(miri) { 20 } else { 2000 };
        for _ in 0..rounds {
            let m = n.clone();
            let t = std::thread::spawn(move || m.notify());
            let saw = n.drain().unwrap();
            assert_eq!(t.join().unwrap(), Notified::Done);
            assert!(saw || readable(fd), "a notification was lost");
            let _ = n.drain();
            assert!(!readable(fd));
            n.notify();
            assert!(readable(fd), "notifications stopped making the descriptor readable");
            let _ = n.drain();
        }
    }

    /// Waits until `fd` is readable, at most `ms` milliseconds.
    #[cfg(not(miri))]
    fn wait_readable(fd: RawFd, ms: i32) -> bool {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one live pollfd.
        unsafe { libc::poll(&mut p, 1, ms) == 1 }
    }

    /// Miri has no `poll` but has edge-triggered epoll: a fresh epoll
    /// instance reports a descriptor that is readable when it is added.
    #[cfg(miri)]
    fn wait_readable(fd: RawFd, ms: i32) -> bool {
        let mut event = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLET) as u32,
            u64: 0,
        };
        // SAFETY: plain system calls on a new epoll descriptor (closed
        // here) and one live event record.
        unsafe {
            let ep = libc::epoll_create1(libc::EPOLL_CLOEXEC);
            assert!(ep >= 0);
            assert_eq!(libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut event), 0);
            let n = libc::epoll_wait(ep, &mut event, 1, ms);
            libc::close(ep);
            n == 1
        }
    }

    #[test]
    fn an_event_loop_sees_every_notification() {
        // As an event loop uses it: wait until readable, drain, then look
        // at what was sent. A producer notifies after each "message"; the
        // loop must see the last one without ever waiting in vain.
        // Under Miri (interpreted, a thousand times slower) fewer messages
        // still make the two threads race on `pending` many times.
        const MESSAGES: usize = if cfg!(miri) { 2_000 } else { 2_000_000 };
        let n = Arc::new(FdNotifier::new().unwrap());
        let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (m, s) = (n.clone(), sent.clone());
        let producer = std::thread::spawn(move || {
            for i in 1..=MESSAGES {
                s.store(i, Ordering::Release);
                m.notify();
            }
        });
        let fd = n.fd().unwrap();
        let mut seen = 0;
        while seen < MESSAGES {
            assert!(wait_readable(fd, 10_000), "lost wake-up: saw {seen} of {MESSAGES}");
            n.drain().unwrap();
            seen = sent.load(Ordering::Acquire);
        }
        producer.join().unwrap();
    }
}
