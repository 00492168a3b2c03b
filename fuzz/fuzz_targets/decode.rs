//! Message decoding on arbitrary bytes: `decode`, `Values` and
//! `decode_header` must never panic or read out of bounds, must report a
//! length within the input, and whatever they decode must encode back to
//! bytes that decode to the same value (with `encoded_len` agreeing).
//! Tables: their bodies are walked the same way, entry by entry, and the
//! bytes are pushed into a Lua 5.4 state by the library's own table decoder
//! (as `buffer:nextmsg` does), which must refuse corrupt input cleanly: no
//! crash, no Lua error escaping, no runaway recursion or allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtmsg::core::encoding::{self, Value, Values};
use mtmsg::lua::Lua;
use std::sync::{Mutex, OnceLock};

/// One Lua state for all runs (the fuzzer is single-threaded; the mutex
/// makes the sharing sound).
struct State(Lua);
// SAFETY: only used under the mutex, by one thread at a time.
unsafe impl Send for State {}

fn lua() -> &'static Mutex<State> {
    static L: OnceLock<Mutex<State>> = OnceLock::new();
    L.get_or_init(|| {
        let l = Lua::new_state().expect("lua state");
        mtmsg::lua::open_libs(l);
        Mutex::new(State(l))
    })
}

/// Steps through a table's body as a reader would, checking every entry.
fn walk(v: &Value, depth: usize) {
    let Value::Table(bytes) = v else { return };
    let Some(encoding::Table { body, .. }) = encoding::Table::parse(bytes) else {
        panic!("decode returned a table that does not parse")
    };
    if depth > 250 {
        return;
    }
    let mut it = Values::new(body);
    let mut last_left = body.len();
    while let Some(x) = it.next() {
        let left = it.remaining().len();
        check_value(&x, last_left - left, last_left);
        walk(&x, depth + 1);
        last_left = left;
    }
}

/// The Lua-side decoder on the whole input as a message's elements.
fn push_into_lua(data: &[u8]) {
    let guard = lua().lock().unwrap_or_else(|e| e.into_inner());
    let l = guard.0;
    l.set_top(0);
    if let Some(n) = mtmsg::fuzz_push_message(l, data) {
        assert_eq!(l.top(), n, "exactly the values are left on the stack");
    }
    l.set_top(0);
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        // NaN payloads and -0.0 must survive bit for bit
        (Value::Number(x), Value::Number(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

fn check_value(v: &Value, consumed: usize, input_len: usize) {
    assert!(
        consumed >= 1 && consumed <= input_len,
        "consumed {consumed} of {input_len}"
    );
    // The canonical encoding is never longer than what was consumed (the
    // decoder accepts non-canonical forms, e.g. a small integer as 8 bytes).
    let n = v.encoded_len();
    assert!(n <= consumed, "encoded_len {n} > consumed {consumed} for {v:?}");
    let mut out = vec![0u8; n];
    let written = v.encode(&mut out);
    assert_eq!(written, n, "encode wrote {written}, encoded_len says {n}");
    let (back, m) = encoding::decode(&out).expect("re-encoded value decodes");
    assert_eq!(m, n);
    assert!(same(&back, v), "round trip changed {v:?} into {back:?}");
    if let Value::Array {
        elem_size, count, data, ..
    } = v
    {
        assert_eq!(data.len(), *elem_size as usize * count);
    }
}

fuzz_target!(|data: &[u8]| {
    // one value
    if let Some((v, n)) = encoding::decode(data) {
        check_value(&v, n, data.len());
        walk(&v, 0);
    }
    push_into_lua(data);
    // a whole element sequence; `remaining` shrinks until decoding stops
    let mut it = Values::new(data);
    let mut total = 0usize;
    let mut last_left = data.len();
    while let Some(v) = it.next() {
        let left = it.remaining().len();
        assert!(left < last_left, "Values did not advance");
        let consumed = last_left - left;
        check_value(&v, consumed, last_left);
        total += consumed;
        last_left = left;
    }
    assert!(total <= data.len());
    assert!(it.remaining().is_empty(), "a stopped iterator has no remaining bytes");
    assert!(it.next().is_none(), "a stopped iterator stays stopped");
    // a message header
    if let Some((h, len)) = encoding::decode_header(data) {
        assert!(h == 1 || h == 9);
        assert!(h <= data.len());
        if h == 1 {
            assert!(len < 255);
        }
        // round trip of the header (only canonical forms compare equal)
        if encoding::header_len(len) == h {
            let mut out = [0u8; 9];
            let w = encoding::encode_header(&mut out, len);
            assert_eq!(w, h);
            assert_eq!(encoding::decode_header(&out[..w]), Some((h, len)));
        }
    }
});
