//! Message decoding on arbitrary bytes: `decode`, `Values` and
//! `decode_header` must never panic or read out of bounds, must report a
//! length within the input, and whatever they decode must encode back to
//! bytes that decode to the same value (with `encoded_len` agreeing).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtmsg::core::encoding::{self, Value, Values};

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
    }
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
