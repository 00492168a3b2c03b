//! Models of one buffer: a producer and a blocked consumer, two consumers
//! and one message, close and abort racing a blocked wait, a writer waiting
//! for room in a full buffer.

use super::{ALL_VARIANTS, SHIPPED, buffer, check, message_size, put, take};
use crate::core::buffer::{Buffer, PutError, TakeError};
use crate::core::listener::Source;
use crate::core::time::Wait;
use loom::thread;

/// A consumer blocked on an empty buffer gets the message a producer adds,
/// with and without the spin phase and the skipped wake (a lost wake-up
/// is a deadlock).
#[test]
fn a_blocked_consumer_gets_the_message() {
    check("producer and blocked consumer", &ALL_VARIANTS, || {
        let b = buffer(1024.0, 2.0);
        let producer = {
            let b = b.clone();
            thread::spawn(move || put(&b, 7, Wait::Poll))
        };
        assert_eq!(take(Source::Buffer(&b), Wait::Forever), Ok(Some(7)));
        assert_eq!(producer.join().unwrap(), Ok(()));
    });
}

/// Two messages in a row to a consumer that blocks between them: the
/// skipped wake-up of the second must not strand the consumer.
#[test]
fn a_consumer_gets_two_messages_sent_in_a_row() {
    check("producer of two, blocked consumer", &ALL_VARIANTS, || {
        let b = buffer(1024.0, 2.0);
        let producer = {
            let b = b.clone();
            thread::spawn(move || {
                put(&b, 1, Wait::Poll).unwrap();
                put(&b, 2, Wait::Poll).unwrap();
            })
        };
        assert_eq!(take(Source::Buffer(&b), Wait::Forever), Ok(Some(1)));
        assert_eq!(take(Source::Buffer(&b), Wait::Forever), Ok(Some(2)));
        producer.join().unwrap();
    });
}

/// Two consumers wait for one message: exactly one gets it; the winner
/// closes the buffer, which wakes the other with `Closed`.
#[test]
fn two_consumers_one_message_exactly_one_gets_it() {
    check("two consumers, one message", &SHIPPED, || {
        let b = buffer(1024.0, 2.0);
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let b = b.clone();
                thread::spawn(move || {
                    let got = take(Source::Buffer(&b), Wait::Forever);
                    if got.is_ok() {
                        b.close();
                    }
                    got
                })
            })
            .collect();
        put(&b, 9, Wait::Poll).unwrap();
        let mut results: Vec<_> = consumers.into_iter().map(|t| t.join().unwrap()).collect();
        results.sort_by_key(|r| r.is_err());
        assert_eq!(results, [Ok(Some(9)), Err(TakeError::Closed)]);
    });
}

/// `close` and `abort` wake a blocked consumer with their error.
#[test]
fn close_and_abort_wake_a_blocked_consumer_with_their_error() {
    type Stop = fn(&Buffer);
    type Expected = fn() -> TakeError<()>;
    let cases: [(&str, Stop, Expected); 2] = [
        ("close racing a blocked take", |b| b.close(), || TakeError::Closed),
        (
            "abort racing a blocked take",
            |b| b.set_aborted(true),
            || TakeError::Aborted,
        ),
    ];
    for (name, stop, error) in cases {
        check(name, &ALL_VARIANTS, move || {
            let b = buffer(1024.0, 2.0);
            let stopper = {
                let b = b.clone();
                thread::spawn(move || stop(&b))
            };
            assert_eq!(take(Source::Buffer(&b), Wait::Forever), Err(error()));
            stopper.join().unwrap();
        });
    }
}

/// A writer blocked on a full fixed-size buffer gets room when a reader
/// takes the message or clears the buffer, and fails with `Closed` when
/// the buffer is closed instead.
#[test]
fn a_writer_waiting_for_room_wakes_when_room_is_made() {
    for (name, make_room) in [
        ("writer waiting for room, reader takes", 0u8),
        ("writer waiting for room, reader clears", 1),
    ] {
        check(name, &ALL_VARIANTS, move || {
            let b = buffer(message_size(), 0.0);
            put(&b, 1, Wait::Poll).unwrap();
            let writer = {
                let b = b.clone();
                thread::spawn(move || put(&b, 2, Wait::Forever))
            };
            match make_room {
                0 => assert_eq!(take(Source::Buffer(&b), Wait::Poll).map(|m| m.is_some()), Ok(true)),
                _ => b.clear(false).unwrap(),
            }
            assert_eq!(writer.join().unwrap(), Ok(()));
            assert_eq!(take(Source::Buffer(&b), Wait::Poll), Ok(Some(2)));
        });
    }
    check("writer waiting for room, buffer closed", &SHIPPED, || {
        let b = buffer(message_size(), 0.0);
        put(&b, 1, Wait::Poll).unwrap();
        let writer = {
            let b = b.clone();
            thread::spawn(move || put(&b, 2, Wait::Forever))
        };
        b.close();
        assert_eq!(writer.join().unwrap(), Err(PutError::Closed));
    });
}
