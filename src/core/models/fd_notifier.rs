//! Models of the fd notifier: a notification racing a drain is never lost,
//! notifying never stops making the descriptor readable, and what was
//! notified is visible after the drain.

use super::{SHIPPED, check};
use crate::core::fd_notifier::tests::readable;
use crate::core::fd_notifier::{FdNotifier, Notified};
use loom::thread;
use std::sync::Arc;

#[test]
fn a_notification_racing_a_drain_is_never_lost() {
    check("fd notifier, notify racing drain", &SHIPPED, || {
        let n = Arc::new(FdNotifier::new().unwrap());
        let fd = n.fd().unwrap();
        let notifier = {
            let n = n.clone();
            thread::spawn(move || n.notify())
        };
        let saw = n.drain().unwrap();
        assert_eq!(notifier.join().unwrap(), Notified::Done);
        assert!(saw || readable(fd), "a notification was lost");
        // However they interleaved, the next notification makes the
        // descriptor readable (a `pending` flag left set with nothing to
        // read would swallow every later one).
        assert_eq!(n.notify(), Notified::Done);
        assert!(readable(fd), "notifications stopped making the descriptor readable");
        assert_eq!(n.drain(), Ok(true));
        assert!(!readable(fd));
    });
}

/// A notification racing `close` either lands before it or reports closed.
#[test]
fn a_notification_racing_close_reports_done_or_closed() {
    check("fd notifier, notify racing close", &SHIPPED, || {
        let n = Arc::new(FdNotifier::new().unwrap());
        let notifier = {
            let n = n.clone();
            thread::spawn(move || n.notify())
        };
        n.close();
        let r = notifier.join().unwrap();
        assert!(matches!(r, Notified::Done | Notified::Closed), "{r:?}");
        assert_eq!(n.notify(), Notified::Closed);
    });
}

/// What was notified is visible after the drain that saw the notification
/// (or the descriptor is still readable): the event loop's pattern of
/// draining, then looking at the data, with nothing else (no lock)
/// ordering the two threads.
#[test]
fn data_notified_is_seen_after_the_drain() {
    use crate::core::shim::{AtomicBool, Ordering};
    check("fd notifier, data visible after drain", &SHIPPED, || {
        let n = Arc::new(FdNotifier::new().unwrap());
        let fd = n.fd().unwrap();
        // The loop has drained an earlier notification, of data it has
        // seen: `pending` was set before.
        n.notify();
        let data = Arc::new(AtomicBool::new(false));
        let producer = {
            let (n, data) = (n.clone(), data.clone());
            thread::spawn(move || {
                data.store(true, Ordering::Release);
                n.notify()
            })
        };
        n.drain().unwrap();
        let seen = data.load(Ordering::Acquire);
        assert_eq!(producer.join().unwrap(), Notified::Done);
        assert!(
            seen || readable(fd),
            "the data was notified but neither seen nor left readable"
        );
    });
}
