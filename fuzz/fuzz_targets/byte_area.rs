//! `ByteArea` (the memory of buffers, writers and readers) driven by a
//! sequence of operations decoded from the input, checked against a model
//! of its contents: the bytes in use are always exactly the model's, a
//! failed operation changes nothing, the logical capacity never shrinks,
//! is never exceeded, and with grow 0 (and a non-zero size) stays fixed,
//! with `Full` / `TooLarge` exactly when the capacity rules say so.
//!
//! Known failure (reported): `replace` that fails with `OutOfMemory` has
//! already cleared the area (see tests/stress/setmsg_oom.lua); set
//! MTMSG_FUZZ_ALLOW_KNOWN=1 to fuzz past it.
//!
//! Sizes and grow factors are drawn from ranges whose allocations either
//! succeed quickly or fail at once (a capacity of 2^45 bytes): the area
//! allocates and zero-fills its whole logical capacity (reported), so a
//! mid-sized huge capacity would only measure the machine.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtmsg::core::memory::{ByteArea, ReserveError};
use std::collections::VecDeque;

struct Input<'a> {
    data: &'a [u8],
}

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }
    fn u16(&mut self) -> Option<usize> {
        Some(((self.byte()? as usize) << 8) | self.byte()? as usize)
    }
}

const HUGE: f64 = (1u64 << 45) as f64;

/// MTMSG_FUZZ_ALLOW_KNOWN=1: do not stop at the known (reported) bug, to
/// measure the rest; ci/fuzz leaves it unset, so the bug fails the run.
fn known_bugs_allowed() -> bool {
    static ALLOW: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ALLOW.get_or_init(|| std::env::var_os("MTMSG_FUZZ_ALLOW_KNOWN").is_some_and(|v| v == "1"))
}

fn size_of(sel: u8, extra: usize) -> f64 {
    match sel % 8 {
        0 => 0.0,
        1 => (extra % 64) as f64,
        2 => extra as f64,
        3 => extra as f64 + 0.7,
        4 => -(extra as f64),
        5 => f64::NAN,
        6 => HUGE,
        _ => (extra % 4096) as f64,
    }
}

fn grow_of(sel: u8) -> f64 {
    const GROWS: [f64; 12] = [
        0.0,
        0.0,
        0.5,
        1.0,
        1.5,
        2.0,
        3.0,
        4.0,
        -1.0,
        f64::NAN,
        1e300,
        f64::INFINITY,
    ];
    GROWS[sel as usize % GROWS.len()]
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input { data };
    let (Some(sel), Some(extra), Some(gsel)) = (inp.byte(), inp.u16(), inp.byte()) else {
        return;
    };
    let size = size_of(sel, extra);
    let grow = grow_of(gsel);
    let mut area = ByteArea::new(size, grow);
    let fixed = grow.is_nan() || grow <= 0.0;
    let mut model: VecDeque<u8> = VecDeque::new();
    let mut fill: u8 = 0;
    let mut ops = 0;
    while let Some(op) = inp.byte() {
        ops += 1;
        if ops > 400 {
            break;
        }
        let Some(n) = inp.u16() else { break };
        let before_cap = area.capacity();
        let before_len = area.len();
        // grow 0: fixed once the capacity is non-zero (a zero size gets twice
        // the first need, then is fixed)
        let fixed_now = fixed && before_cap > 0;
        match op % 8 {
            0 | 1 => {
                // append n bytes (n up to 64 KiB)
                let expect_full = fixed_now && before_len + n > before_cap;
                match area.append(n) {
                    Ok(out) => {
                        assert_eq!(out.len(), n);
                        for b in out.iter_mut() {
                            *b = fill;
                            model.push_back(fill);
                            fill = fill.wrapping_add(1);
                        }
                        assert!(
                            !expect_full,
                            "fixed area accepted {n} bytes over {before_len} of {before_cap}"
                        );
                    }
                    Err(ReserveError::Full) => {
                        assert!(
                            expect_full && n <= before_cap,
                            "Full with {before_len} + {n} of {before_cap}"
                        );
                    }
                    Err(ReserveError::TooLarge { size, limit }) => {
                        assert!(expect_full && n > before_cap && size == n && limit == before_cap);
                    }
                    Err(ReserveError::OutOfMemory { .. }) => {
                        assert!(
                            before_cap as f64 >= HUGE || grow >= 1e300,
                            "out of memory for {n} bytes"
                        );
                    }
                }
            }
            2 => {
                let k = n.min(model.len() + 3);
                area.consume(k);
                for _ in 0..k.min(model.len()) {
                    model.pop_front();
                }
            }
            3 => {
                let k = n % 300;
                area.truncate_end(k);
                for _ in 0..k.min(model.len()) {
                    model.pop_back();
                }
            }
            4 => {
                // replace: everything becomes n new bytes, or nothing changes
                match area.replace(n) {
                    Ok(out) => {
                        assert_eq!(out.len(), n);
                        model.clear();
                        for b in out.iter_mut() {
                            *b = fill;
                            model.push_back(fill);
                            fill = fill.wrapping_add(1);
                        }
                        assert!(
                            !(fixed_now && n > before_cap),
                            "fixed area replaced with {n} > {before_cap}"
                        );
                    }
                    Err(ReserveError::Full) => panic!("replace reported Full"),
                    Err(ReserveError::TooLarge { .. }) => assert!(fixed_now && n > before_cap),
                    Err(ReserveError::OutOfMemory { .. }) => {
                        assert!(
                            before_cap as f64 >= HUGE || grow >= 1e300,
                            "out of memory replacing {n} bytes"
                        );
                        if known_bugs_allowed() && area.len() != model.len() {
                            // Known bug (reported, tests/stress/setmsg_oom.lua):
                            // replace clears before an append that can still
                            // fail. Follow the area to keep fuzzing the rest.
                            model.clear();
                        }
                    }
                }
            }
            5 => {
                let r = area.check(n);
                if let Ok(c) = r {
                    assert!(c >= before_len + n);
                }
            }
            6 => {
                if n % 2 == 0 {
                    area.clear();
                } else {
                    area.free();
                }
                model.clear();
            }
            _ => {
                // a burst of small appends and consumes (compaction paths)
                for i in 0..(n % 64) {
                    if let Ok(out) = area.append(1 + i % 5) {
                        for b in out.iter_mut() {
                            *b = fill;
                            model.push_back(fill);
                            fill = fill.wrapping_add(1);
                        }
                    }
                    let k = i % 4;
                    area.consume(k);
                    for _ in 0..k.min(model.len()) {
                        model.pop_front();
                    }
                }
            }
        }
        // invariants after every operation
        assert_eq!(area.len(), model.len(), "length after op {}", op % 8);
        assert_eq!(area.is_empty(), model.is_empty());
        assert!(
            area.bytes().iter().eq(model.iter()),
            "contents differ after op {}",
            op % 8
        );
        assert!(area.capacity() >= before_cap, "capacity shrank");
        if !area.is_empty() || before_cap > 0 {
            // bytes in use never exceed the logical capacity
            assert!(
                area.len() <= area.capacity(),
                "{} bytes in a capacity of {}",
                area.len(),
                area.capacity()
            );
        }
        if fixed_now {
            assert_eq!(area.capacity(), before_cap, "a fixed area changed its capacity");
        }
    }
});
