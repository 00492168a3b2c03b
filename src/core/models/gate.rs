//! Models of the state call queue (`core::gate`): two callers and one
//! state, close and the last owner going racing a call, and a poll of an
//! idle state while another thread merely looks at it.

use super::{SHIPPED, check};
use crate::core::gate::{Construction, Enter, Gate, InUse, Released};
use crate::core::shim::{AtomicUsize, Ordering};
use crate::core::time::Wait;
use loom::thread;
use std::sync::Arc;

/// The resource: a number standing for an interpreter.
const INTERP: u32 = 42;
const MAIN: u64 = 1;
const OTHER: u64 = 2;
const THIRD: u64 = 3;

/// A constructed gate with one owner.
fn open_gate() -> Arc<Gate<u32>> {
    let gate = Arc::new(Gate::new(MAIN));
    gate.finish(INTERP);
    gate
}

/// Two threads call one state: they never use it at the same time, and
/// both calls run.
#[test]
fn two_callers_take_turns() {
    check("gate, two callers", &SHIPPED, || {
        let gate = open_gate();
        let inside = Arc::new(AtomicUsize::new(0));
        let call = |gate: &Gate<u32>, inside: &AtomicUsize, me: u64| {
            assert_eq!(gate.enter(Wait::Forever, me), Ok(INTERP));
            assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two threads inside");
            inside.fetch_sub(1, Ordering::SeqCst);
            assert_eq!(gate.leave(), None);
        };
        let other = {
            let (gate, inside) = (gate.clone(), inside.clone());
            thread::spawn(move || call(&gate, &inside, OTHER))
        };
        call(&gate, &inside, MAIN);
        other.join().unwrap();
        assert_eq!(gate.close(), Ok(Some(INTERP)));
    });
}

/// `close` racing a call (with a nested call inside it): close fails while
/// the call runs; otherwise the call finds the state closed. The
/// interpreter is handed out for closing exactly once.
#[test]
fn close_racing_a_call() {
    check("gate, close racing a call", &SHIPPED, || {
        let gate = open_gate();
        let caller = {
            let gate = gate.clone();
            thread::spawn(move || match gate.enter(Wait::Forever, OTHER) {
                Ok(r) => {
                    assert_eq!(gate.enter(Wait::Poll, OTHER), Ok(r), "nested call");
                    assert_eq!(gate.leave(), None);
                    assert_eq!(gate.leave(), None);
                    true
                }
                Err(e) => {
                    assert_eq!(e, Enter::Closed);
                    false
                }
            })
        };
        let closed = gate.close();
        let called = caller.join().unwrap();
        match closed {
            Ok(Some(INTERP)) => {}
            Err(InUse) => {
                assert!(called, "close failed but no call ran");
                assert_eq!(gate.close(), Ok(Some(INTERP)));
            }
            other => panic!("close: {other:?}"),
        }
        assert_eq!(gate.close(), Ok(None));
    });
}

/// The last owner goes while another thread calls or waits to call: the
/// interpreter is handed out exactly once, by whichever comes last, and a
/// waiting caller finds the state closed.
#[test]
fn the_last_owner_going_racing_calls() {
    check("gate, last owner going racing two callers", &SHIPPED, || {
        let gate = open_gate();
        let handed_out = Arc::new(AtomicUsize::new(0));
        let callers: Vec<_> = [OTHER, THIRD]
            .into_iter()
            .map(|me| {
                let (gate, handed_out) = (gate.clone(), handed_out.clone());
                thread::spawn(move || {
                    if gate.enter(Wait::Forever, me).is_ok() && gate.leave() == Some(INTERP) {
                        handed_out.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        match gate.release_owner() {
            Released::Closed(INTERP) => {
                handed_out.fetch_add(1, Ordering::SeqCst);
            }
            Released::ClosedInUse => {}
            other => panic!("release: {other:?}"),
        }
        callers.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(handed_out.load(Ordering::SeqCst), 1);
        assert_eq!(gate.enter(Wait::Poll, MAIN), Err(Enter::Closed));
    });
}

/// `tcall(0)` (Poll) on an idle state succeeds even while another thread
/// looks the state up and takes an owner reference. A single try-lock
/// failed here whenever the lookup held the flags' lock.
#[test]
fn polling_an_idle_gate_succeeds_while_another_thread_looks_at_it() {
    check("gate, poll while another thread looks", &SHIPPED, || {
        let gate = open_gate();
        let looker = {
            let gate = gate.clone();
            thread::spawn(move || {
                assert!(gate.is_open());
                assert!(gate.add_owner());
                assert_eq!(gate.release_owner(), Released::Kept);
            })
        };
        assert_eq!(gate.enter(Wait::Poll, MAIN), Ok(INTERP));
        assert_eq!(gate.leave(), None);
        looker.join().unwrap();
    });
}

/// A thread waiting for another thread's construction wakes when it
/// finishes or fails; the builder itself is told not to wait.
#[test]
fn waiting_for_a_construction_ends_with_it() {
    for (name, succeeds) in [
        ("gate, wait for a construction that finishes", true),
        ("gate, wait for a construction that fails", false),
    ] {
        check(name, &SHIPPED, move || {
            let gate = Arc::new(Gate::new(MAIN));
            let waiter = {
                let gate = gate.clone();
                thread::spawn(move || gate.wait_constructed(OTHER))
            };
            assert_eq!(gate.wait_constructed(MAIN), Construction::OwnThread);
            if succeeds {
                gate.finish(INTERP);
            } else {
                gate.fail();
            }
            let expected = if succeeds {
                Construction::Done
            } else {
                Construction::Failed
            };
            assert_eq!(waiter.join().unwrap(), expected);
            assert_eq!(gate.add_owner(), succeeds);
        });
    }
}
