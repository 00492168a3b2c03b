//! Models of a listener: two buffers delivering round-robin to a blocked
//! consumer; close, abort and the last buffer going, racing a blocked wait.

use super::{ALL_VARIANTS, SHIPPED, check, put, take};
use crate::core::buffer::{Front, TakeError};
use crate::core::listener::{Listener, Source};
use crate::core::shim::{AtomicBool, Ordering};
use crate::core::time::Wait;
use loom::thread;
use std::sync::Arc;

fn listener() -> Arc<Listener> {
    Listener::new(None).expect("mtmsg is not aborted in models")
}

/// Producers on two buffers of one listener; the consumer blocks on the
/// listener. Every message arrives once, each buffer's in order, and
/// round-robin holds: if buffer B's message was queued when A's first was
/// taken, B's comes before A's second.
#[test]
fn two_buffers_deliver_round_robin_to_a_blocked_listener() {
    check("listener, two buffers, round-robin", &SHIPPED, || {
        let l = listener();
        let a = l.new_buffer(None, 1024.0, 2.0).unwrap();
        let b = l.new_buffer(None, 1024.0, 2.0).unwrap();
        let b_queued = Arc::new(AtomicBool::new(false));
        let pa = thread::spawn(move || {
            put(&a, 1, Wait::Poll).unwrap();
            put(&a, 2, Wait::Poll).unwrap();
        });
        let pb = {
            let queued = b_queued.clone();
            thread::spawn(move || {
                put(&b, 10, Wait::Poll).unwrap();
                queued.store(true, Ordering::Release);
            })
        };
        let mut got = Vec::new();
        let mut b_queued_at_first_a = false;
        for _ in 0..3 {
            // Whether B's message was queued is looked at under the lock,
            // as the message is taken.
            let (v, _) = l
                .take(Wait::Forever, |f: &mut Front| {
                    let v = f.bytes()[0];
                    if v == 1 {
                        b_queued_at_first_a = b_queued.load(Ordering::Acquire);
                    }
                    Ok::<u8, ()>(v)
                })
                .unwrap()
                .unwrap();
            got.push(v);
        }
        pa.join().unwrap();
        pb.join().unwrap();
        let pos = |v| got.iter().position(|&x| x == v).unwrap();
        assert!(pos(1) < pos(2), "buffer order: {got:?}");
        if b_queued_at_first_a {
            assert!(pos(10) < pos(2), "round-robin: {got:?}");
        }
        // Both buffers went with their producers, all read.
        assert_eq!(take(Source::Listener(&l), Wait::Poll), Err(TakeError::NoBuffers));
    });
}

/// A consumer blocked on a listener wakes with the right error when the
/// listener is closed or aborted, or its only buffer goes away.
#[test]
fn a_blocked_listener_wakes_with_the_right_error() {
    type Expected = fn() -> TakeError<()>;
    let cases: [(&str, u8, Expected); 3] = [
        ("listener closed racing a blocked take", 0, || TakeError::Closed),
        ("listener aborted racing a blocked take", 1, || TakeError::Aborted),
        ("last buffer dropped racing a blocked take", 2, || TakeError::NoBuffers),
    ];
    for (name, how, error) in cases {
        check(name, &ALL_VARIANTS, move || {
            let l = listener();
            let buffer = l.new_buffer(None, 1024.0, 2.0).unwrap();
            let stopper = {
                let l = l.clone();
                thread::spawn(move || match how {
                    0 => l.close(),
                    1 => l.set_aborted(true),
                    _ => drop(buffer),
                })
            };
            assert_eq!(take(Source::Listener(&l), Wait::Forever), Err(error()));
            stopper.join().unwrap();
        });
    }
}
