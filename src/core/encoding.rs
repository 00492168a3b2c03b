//! The byte encoding of message values, with the original modules' sizes.
//!
//! Sizes count toward buffer, writer and reader capacities, so they follow
//! the original exactly: nil 1, boolean 2, integer 0..255 2, other integer 9,
//! float 9, string 2+len (len <= 255) or 9+len, light userdata 9, C function
//! 9, array 11 + element size * count. A message is a header (1 byte when its
//! elements take fewer than 255 bytes, else 9) followed by its elements.
//! Multi-byte fields are native-endian: the bytes never leave the process.
//!
//! Tables (our extension; the originals have none) take 14 bytes plus the
//! sizes of their keys and values, entry by entry; a table met again within
//! the same value (shared or cyclic) takes 5 bytes, a reference by the order
//! in which the value's tables first appear (each value is self-contained). The header: tag, flags (bit 0: referenced
//! again later, so the decoder must remember it), entry count, a hint of how
//! many entries form the sequence 1..n, and the body length, so that a table
//! is stepped over without reading its contents.

const NIL: u8 = 0;
const BOOLEAN: u8 = 1;
const BYTE: u8 = 2;
const INTEGER: u8 = 3;
const NUMBER: u8 = 4;
const SHORT_STRING: u8 = 5;
const LONG_STRING: u8 = 6;
const LIGHT_USERDATA: u8 = 7;
const C_FUNCTION: u8 = 8;
const ARRAY: u8 = 9;
const TABLE: u8 = 10;
const TABLE_REF: u8 = 11;

/// Bytes of a table's header (tag, flags, entries, sequence hint, body length).
pub const TABLE_HEADER_LEN: usize = 14;

/// Bytes of a reference to a table met earlier in the same value.
pub const TABLE_REF_LEN: usize = 5;

const TABLE_SHARED: u8 = 1;

/// Where a long string's bytes start in its encoding (after tag and length).
pub const LONG_STRING_PAYLOAD: usize = 9;

/// Bytes of an array element's fixed part (tag, type, element size, count).
pub const ARRAY_HEADER_LEN: usize = 11;

/// One message value, borrowing its bytes from the encoded form.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Nil,
    Boolean(bool),
    Integer(i64),
    Number(f64),
    String(&'a [u8]),
    LightUserdata(usize),
    CFunction(usize),
    Array {
        elem_type: u8,
        elem_size: u8,
        count: usize,
        data: &'a [u8],
    },
    /// A table: its whole encoding, header included (`Table::parse` reads
    /// it). One slice keeps `Value` as small and plain as the scalars need.
    Table(&'a [u8]),
    /// The `n`th table (0-based, in order of first appearance) of the value.
    TableRef(u32),
}

impl Value<'_> {
    /// The encoded size in bytes.
    #[inline]
    pub fn encoded_len(&self) -> usize {
        match *self {
            Value::Nil => 1,
            Value::Boolean(_) => 2,
            Value::Integer(i) if (0..=255).contains(&i) => 2,
            Value::Integer(_) | Value::Number(_) | Value::LightUserdata(_) | Value::CFunction(_) => 9,
            Value::String(s) if s.len() <= 255 => 2 + s.len(),
            Value::String(s) => 9 + s.len(),
            Value::Array { elem_size, count, .. } => array_len(elem_size, count),
            Value::Table(bytes) => bytes.len(),
            Value::TableRef(_) => TABLE_REF_LEN,
        }
    }

    /// Writes the value into `out` (at least `encoded_len` bytes); returns
    /// the bytes written.
    #[inline]
    pub fn encode(&self, out: &mut [u8]) -> usize {
        match *self {
            Value::Nil => {
                out[0] = NIL;
                1
            }
            Value::Boolean(b) => {
                out[0] = BOOLEAN;
                out[1] = b as u8;
                2
            }
            Value::Integer(i) if (0..=255).contains(&i) => {
                out[0] = BYTE;
                out[1] = i as u8;
                2
            }
            Value::Integer(i) => put_word(out, INTEGER, i as u64),
            Value::Number(n) => put_word(out, NUMBER, n.to_bits()),
            Value::LightUserdata(p) => put_word(out, LIGHT_USERDATA, p as u64),
            Value::CFunction(p) => put_word(out, C_FUNCTION, p as u64),
            Value::String(s) if s.len() <= 255 => {
                out[0] = SHORT_STRING;
                out[1] = s.len() as u8;
                out[2..2 + s.len()].copy_from_slice(s);
                2 + s.len()
            }
            Value::String(s) => {
                put_word(out, LONG_STRING, s.len() as u64);
                out[9..9 + s.len()].copy_from_slice(s);
                9 + s.len()
            }
            Value::Array {
                elem_type,
                elem_size,
                count,
                data,
            } => {
                let n = encode_array_header(out, elem_type, elem_size, count);
                out[n..n + data.len()].copy_from_slice(data);
                n + data.len()
            }
            Value::Table { .. } | Value::TableRef(_) => self.encode_table(out),
        }
    }

    /// Tables stay out of line: table-free messages keep the small `encode`.
    #[cold]
    #[inline(never)]
    fn encode_table(&self, out: &mut [u8]) -> usize {
        match *self {
            Value::Table(bytes) => {
                out[..bytes.len()].copy_from_slice(bytes);
                bytes.len()
            }
            Value::TableRef(n) => {
                out[0] = TABLE_REF;
                out[1..5].copy_from_slice(&n.to_ne_bytes());
                TABLE_REF_LEN
            }
            _ => 0,
        }
    }

    /// Appends the encoding to `out`.
    #[inline]
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let mut fixed = [0u8; ARRAY_HEADER_LEN];
        let (head, payload): (usize, &[u8]) = match *self {
            Value::String(s) if s.len() <= 255 => {
                fixed[0] = SHORT_STRING;
                fixed[1] = s.len() as u8;
                (2, s)
            }
            Value::String(s) => (put_word(&mut fixed, LONG_STRING, s.len() as u64), s),
            Value::Array {
                elem_type,
                elem_size,
                count,
                data,
            } => (encode_array_header(&mut fixed, elem_type, elem_size, count), data),
            Value::Table(bytes) => (0, bytes),
            _ => (self.encode(&mut fixed), &[]),
        };
        out.extend_from_slice(&fixed[..head]);
        out.extend_from_slice(payload);
    }
}

fn write_table_header(out: &mut [u8], shared: bool, entries: u32, sequence: u32, body_len: u32) {
    out[0] = TABLE;
    out[1] = if shared { TABLE_SHARED } else { 0 };
    out[2..6].copy_from_slice(&entries.to_ne_bytes());
    out[6..10].copy_from_slice(&sequence.to_ne_bytes());
    out[10..14].copy_from_slice(&body_len.to_ne_bytes());
}

/// Builds a table's encoding in place: `begin_table`, then its entries
/// (key, value, key, value, ...), then `end_table`.
pub fn begin_table(out: &mut Vec<u8>) -> usize {
    let at = out.len();
    out.resize(at + TABLE_HEADER_LEN, 0);
    at
}

/// The table's body is too long for its 32-bit length field.
#[derive(Debug)]
pub struct TableTooLarge;

/// Completes the header of the table begun at `at` (its body runs to the end
/// of `out`).
pub fn end_table(out: &mut [u8], at: usize, entries: u32, sequence: u32) -> Result<(), TableTooLarge> {
    let body_len = u32::try_from(out.len() - at - TABLE_HEADER_LEN).map_err(|_| TableTooLarge)?;
    // A reference met inside the table (a cycle) has already marked it.
    let shared = out[at + 1] & TABLE_SHARED != 0;
    write_table_header(&mut out[at..], shared, entries, sequence, body_len);
    Ok(())
}

/// Marks the table begun at `at` as referenced again later in its value.
pub fn mark_shared(out: &mut [u8], at: usize) {
    out[at + 1] |= TABLE_SHARED;
}

/// Encoded size of an array element, saturating on absurd counts.
pub fn array_len(elem_size: u8, count: usize) -> usize {
    (elem_size as usize)
        .saturating_mul(count)
        .saturating_add(ARRAY_HEADER_LEN)
}

/// Writes an array's fixed part; the caller writes the element bytes after it.
pub fn encode_array_header(out: &mut [u8], elem_type: u8, elem_size: u8, count: usize) -> usize {
    out[0] = ARRAY;
    out[1] = elem_type;
    out[2] = elem_size;
    out[3..11].copy_from_slice(&(count as u64).to_ne_bytes());
    ARRAY_HEADER_LEN
}

#[inline]
fn put_word(out: &mut [u8], tag: u8, w: u64) -> usize {
    out[0] = tag;
    out[1..9].copy_from_slice(&w.to_ne_bytes());
    9
}

#[inline]
fn word(b: &[u8]) -> Option<u64> {
    Some(u64::from_ne_bytes(b.get(..8)?.try_into().ok()?))
}

/// Decodes the value at the start of `bytes`; returns it and its length.
/// None at the end or on malformed input (never reads out of bounds).
/// Always inlined, for the reason given at `Values::next`.
#[inline(always)]
pub fn decode(bytes: &[u8]) -> Option<(Value<'_>, usize)> {
    let tag = *bytes.first()?;
    let rest = &bytes[1..];
    Some(match tag {
        NIL => (Value::Nil, 1),
        BOOLEAN => (Value::Boolean(*rest.first()? != 0), 2),
        BYTE => (Value::Integer(*rest.first()? as i64), 2),
        INTEGER => (Value::Integer(word(rest)? as i64), 9),
        NUMBER => (Value::Number(f64::from_bits(word(rest)?)), 9),
        LIGHT_USERDATA => (Value::LightUserdata(word(rest)? as usize), 9),
        C_FUNCTION => (Value::CFunction(word(rest)? as usize), 9),
        SHORT_STRING => {
            let len = *rest.first()? as usize;
            (Value::String(rest.get(1..1 + len)?), 2 + len)
        }
        LONG_STRING => {
            let len = usize::try_from(word(rest)?).ok()?;
            (Value::String(rest.get(8..8usize.checked_add(len)?)?), 9 + len)
        }
        ARRAY => {
            let elem_type = *rest.first()?;
            let elem_size = *rest.get(1)?;
            let count = usize::try_from(word(rest.get(2..)?)?).ok()?;
            let n = (elem_size as usize).checked_mul(count)?;
            let data = rest.get(10..10usize.checked_add(n)?)?;
            (
                Value::Array {
                    elem_type,
                    elem_size,
                    count,
                    data,
                },
                ARRAY_HEADER_LEN + n,
            )
        }
        TABLE => {
            let len = TABLE_HEADER_LEN.checked_add(quad(bytes.get(..TABLE_HEADER_LEN)?, 10) as usize)?;
            (Value::Table(bytes.get(..len)?), len)
        }
        TABLE_REF => (Value::TableRef(quad(rest.get(..4)?, 0)), TABLE_REF_LEN),
        _ => return None,
    })
}

fn quad(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// A table's header fields and body, from a `Value::Table`'s bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Table<'a> {
    /// Referenced again later in its value: the decoder must remember it.
    pub shared: bool,
    pub entries: u32,
    /// How many entries form the sequence 1..n (a presizing hint).
    pub sequence: u32,
    /// `entries` key/value pairs, each as two values.
    pub body: &'a [u8],
}

impl<'a> Table<'a> {
    /// Splits bytes that `decode` returned as a `Value::Table`.
    pub fn parse(bytes: &'a [u8]) -> Option<Table<'a>> {
        let header = bytes.get(..TABLE_HEADER_LEN)?;
        if header[0] != TABLE {
            return None;
        }
        Some(Table {
            shared: header[1] & TABLE_SHARED != 0,
            entries: quad(header, 2),
            sequence: quad(header, 6),
            body: bytes.get(TABLE_HEADER_LEN..TABLE_HEADER_LEN.checked_add(quad(header, 10) as usize)?)?,
        })
    }
}

/// Iterates over the values of an element sequence.
pub struct Values<'a> {
    rest: &'a [u8],
}

impl<'a> Values<'a> {
    pub fn new(bytes: &'a [u8]) -> Values<'a> {
        Values { rest: bytes }
    }

    /// The bytes not yet decoded.
    pub fn remaining(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Iterator for Values<'a> {
    type Item = Value<'a>;

    /// Always inlined, like `decode`: a value returned through memory is
    /// stored field by field and loaded whole, a store-forwarding stall
    /// that cost table-free messages ~10% (measured on bench/writer).
    #[inline(always)]
    fn next(&mut self) -> Option<Value<'a>> {
        match decode(self.rest) {
            Some((v, n)) => {
                self.rest = &self.rest[n..];
                Some(v)
            }
            None => {
                self.rest = &[];
                None
            }
        }
    }
}

/// The header size for a message whose elements take `elements_len` bytes.
pub fn header_len(elements_len: usize) -> usize {
    if elements_len < 255 { 1 } else { 9 }
}

/// Writes a message header; returns its length.
pub fn encode_header(out: &mut [u8], elements_len: usize) -> usize {
    if elements_len < 255 {
        out[0] = elements_len as u8;
        1
    } else {
        out[0] = 255;
        out[1..9].copy_from_slice(&(elements_len as u64).to_ne_bytes());
        9
    }
}

/// Reads a message header: (header length, elements length).
pub fn decode_header(bytes: &[u8]) -> Option<(usize, usize)> {
    match *bytes.first()? {
        255 => Some((9, usize::try_from(word(&bytes[1..])?).ok()?)),
        n => Some((1, n as usize)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_original() {
        assert_eq!(Value::Nil.encoded_len(), 1);
        assert_eq!(Value::Boolean(true).encoded_len(), 2);
        assert_eq!(Value::Integer(255).encoded_len(), 2);
        assert_eq!(Value::Integer(256).encoded_len(), 9);
        assert_eq!(Value::Integer(-1).encoded_len(), 9);
        assert_eq!(Value::Number(0.5).encoded_len(), 9);
        assert_eq!(Value::String(&[0; 255]).encoded_len(), 257);
        assert_eq!(Value::String(&[0; 256]).encoded_len(), 265);
        assert_eq!(header_len(254), 1);
        assert_eq!(header_len(255), 9);
    }

    #[test]
    fn values_round_trip() {
        let long = vec![7u8; 300];
        let data = [1u8, 2, 3, 4, 5, 6, 7, 8];
        let values = [
            Value::Nil,
            Value::Boolean(false),
            Value::Integer(200),
            Value::Integer(-5),
            Value::Number(-0.0),
            Value::String(b"a\0b"),
            Value::String(&long),
            Value::LightUserdata(0xdead),
            Value::CFunction(0xbeef),
            Value::Array {
                elem_type: 5,
                elem_size: 4,
                count: 2,
                data: &data,
            },
        ];
        let mut out = vec![0u8; values.iter().map(|v| v.encoded_len()).sum()];
        let mut at = 0;
        for v in &values {
            at += v.encode(&mut out[at..]);
        }
        assert_eq!(at, out.len());
        let back: Vec<Value> = Values::new(&out).collect();
        assert_eq!(back.len(), values.len());
        for (a, b) in back.iter().zip(values.iter()) {
            match (a, b) {
                (Value::Number(x), Value::Number(y)) => assert_eq!(x.to_bits(), y.to_bits()),
                _ => assert_eq!(a, b),
            }
        }
    }

    #[test]
    fn tables_are_stepped_over_whole() {
        // {1 = "a", t = <ref 0>} then 7
        let mut out = Vec::new();
        let at = begin_table(&mut out);
        Value::Integer(1).encode_into(&mut out);
        Value::String(b"a").encode_into(&mut out);
        Value::String(b"t").encode_into(&mut out);
        Value::TableRef(0).encode_into(&mut out);
        mark_shared(&mut out, at);
        end_table(&mut out, at, 2, 1).unwrap();
        Value::Integer(7).encode_into(&mut out);
        let body_len = 2 + 3 + 3 + TABLE_REF_LEN;
        assert_eq!(out.len(), TABLE_HEADER_LEN + body_len + 2);
        let mut values = Values::new(&out);
        let Some(Value::Table(bytes)) = values.next() else {
            panic!("a table first")
        };
        let Table {
            shared,
            entries,
            sequence,
            body,
        } = Table::parse(bytes).unwrap();
        assert!(shared, "a cycle marks the table before end_table");
        assert_eq!((entries, sequence, body.len()), (2, 1, body_len));
        let inner: Vec<Value> = Values::new(body).collect();
        assert_eq!(
            inner,
            [
                Value::Integer(1),
                Value::String(b"a"),
                Value::String(b"t"),
                Value::TableRef(0)
            ]
        );
        assert_eq!(values.next(), Some(Value::Integer(7)));
        // re-encoding gives the same bytes
        let (v, n) = decode(&out).unwrap();
        assert_eq!(v.encoded_len(), n);
        let mut again = vec![0; n];
        v.encode(&mut again);
        assert_eq!(again, out[..n]);
    }

    #[test]
    fn table_lengths_are_checked() {
        let mut out = Vec::new();
        let at = begin_table(&mut out);
        Value::Nil.encode_into(&mut out);
        end_table(&mut out, at, 1, 0).unwrap();
        assert!(decode(&out[..out.len() - 1]).is_none(), "body cut short");
        assert!(decode(&out[..5]).is_none(), "header cut short");
        assert!(decode(&[TABLE_REF, 1, 0]).is_none());
    }

    #[test]
    fn truncated_input_stops_decoding() {
        let mut out = [0u8; 9];
        Value::Integer(1 << 40).encode(&mut out);
        assert!(decode(&out[..5]).is_none());
        assert!(decode(&[SHORT_STRING, 10, b'x']).is_none());
    }
}
