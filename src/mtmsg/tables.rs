//! Tables as message values (our extension): a Lua table to encoded bytes
//! and back, for mtmsg, mtstates and mtthread alike. The byte format is in
//! `core::encoding`.
//!
//! Contents are read raw (`lua_next`, no metamethods) and metatables are
//! not carried. Sharing is kept within one value: the encoder numbers the
//! tables of a value in order of first appearance and writes a reference
//! when it meets one again (cycles included); the decoder remembers exactly
//! the tables that are referenced again, in a scratch table below the value
//! it builds. Each value is thus self-contained, so values of one message
//! can be read separately (`reader:next(n)`, the Sender C API) and written
//! separately (`writer:add`).

use super::message::{Policy, Refusal, classify_as, push_plain};
use crate::capi::carray;
use crate::core::encoding::{self, Value, Values};
use crate::ffi;
use crate::lua::{Error, Integer, LResult, Lua};
use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::c_int;
use std::hash::{BuildHasherDefault, Hasher};

/// How deeply tables may nest inside one value: deep enough for real data,
/// shallow enough that neither side's recursion can exhaust a C stack.
pub const MAX_DEPTH: usize = 200;

/// Why a value inside (or as) an argument cannot travel, and where.
#[derive(Debug)]
pub struct Failure {
    pub refusal: Refusal,
    /// Keys from the argument down to the offending entry (outermost first
    /// once `encode` returns).
    path: Vec<String>,
    /// The offending value is the key of the last entry, not its value.
    as_key: bool,
}

impl Failure {
    fn new(refusal: Refusal) -> Failure {
        Failure {
            refusal,
            path: Vec::new(),
            as_key: false,
        }
    }

    /// Where the value sits, e.g. ` at key "list" > 3 > "cb"`; empty for a
    /// value given directly as an argument.
    pub fn place(&self) -> String {
        let mut s = String::new();
        if self.as_key {
            s.push_str(" as a key");
        }
        if self.path.is_empty() {
            return s;
        }
        s.push_str(" at key ");
        // A path through a deep table: its start and its end tell the story.
        let shown: Vec<&str> = if self.path.len() > 8 {
            let n = self.path.len();
            let mut v: Vec<&str> = self.path[..3].iter().map(String::as_str).collect();
            v.push("...");
            v.extend(self.path[n - 3..].iter().map(String::as_str));
            v
        } else {
            self.path.iter().map(String::as_str).collect()
        };
        s.push_str(&shown.join(" > "));
        s
    }

    /// mtmsg's words: `parameter type not supported` (the original's text
    /// for values given directly), with the type and place inside a table.
    pub fn message_text(&self) -> String {
        match self.refusal {
            Refusal::Type(_) if self.path.is_empty() && !self.as_key => "parameter type not supported".into(),
            Refusal::Type(t) => format!("parameter type not supported: {t}{}", self.place()),
            r => format!("{}{}", r.text(), self.place()),
        }
    }

    /// mtstates' words: `type 'function' not supported` plus the place.
    pub fn state_text(&self) -> String {
        format!("{}{}", self.refusal.text(), self.place())
    }
}

/// Table pointers are distinct addresses: a multiplicative hash suffices.
#[derive(Default)]
struct PointerHasher(u64);

impl Hasher for PointerHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(26);
    }
}

/// A table already written: its number and where its header is.
struct Seen {
    index: u32,
    header: usize,
}

/// Encodes values (tables included) of one message into `out`.
pub struct Encoder {
    pub out: Vec<u8>,
    seen: HashMap<usize, Seen, BuildHasherDefault<PointerHasher>>,
    tables: u32,
    policy: Policy,
}

thread_local! {
    /// One spare encoder per thread, so that a message with tables does not
    /// allocate its buffers and map anew every time.
    static SPARE: Cell<Option<Box<Encoder>>> = const { Cell::new(None) };
}

/// What a spare encoder may keep; a bigger one is freed, not kept.
const SPARE_BYTES: usize = 64 * 1024;

impl Encoder {
    /// An empty encoder (the thread's spare if it has one).
    pub fn pooled(policy: Policy) -> Box<Encoder> {
        let mut e = SPARE.with(|s| s.take()).unwrap_or_else(|| {
            Box::new(Encoder {
                out: Vec::with_capacity(256),
                seen: HashMap::default(),
                tables: 0,
                policy,
            })
        });
        e.out.clear();
        e.policy = policy;
        e
    }

    /// Gives the encoder back for the thread's next message.
    pub fn recycle(self: Box<Encoder>) {
        if self.out.capacity() <= SPARE_BYTES && self.seen.capacity() <= SPARE_BYTES / 16 {
            SPARE.with(|s| s.set(Some(self)));
        }
    }

    /// Appends the value at `idx` of `l`. On failure the stack is as it was
    /// and `out` holds a partial encoding (discard the encoder).
    pub fn encode(&mut self, l: Lua, idx: c_int) -> Result<(), Failure> {
        self.seen.clear();
        self.tables = 0;
        let top = l.top();
        let idx = l.abs_index(idx);
        let r = self.value(l, idx, 0);
        if let Err(mut f) = r {
            l.set_top(top);
            f.path.reverse();
            return Err(f);
        }
        Ok(())
    }

    /// Encodes the value at `idx`; returns it unless it is a table.
    #[inline]
    fn value(&mut self, l: Lua, idx: c_int, depth: usize) -> Result<Option<Value<'_>>, Failure> {
        let t = l.type_of(idx);
        if t == ffi::LUA_TTABLE {
            self.table(l, idx, depth + 1)?;
            return Ok(None);
        }
        let v = classify_as(l, idx, t, self.policy).map_err(Failure::new)?;
        v.encode_into(&mut self.out);
        Ok(Some(v))
    }

    /// The table at absolute index `idx`, `depth` tables deep.
    fn table(&mut self, l: Lua, idx: c_int, depth: usize) -> Result<(), Failure> {
        let key = l.to_pointer(idx) as usize;
        if let Some(seen) = self.seen.get(&key) {
            encoding::mark_shared(&mut self.out, seen.header);
            Value::TableRef(seen.index).encode_into(&mut self.out);
            return Ok(());
        }
        if depth > MAX_DEPTH {
            return Err(Failure::new(Refusal::TooDeep));
        }
        if !l.check_stack(4) {
            return Err(Failure::new(Refusal::Stack));
        }
        let header = encoding::begin_table(&mut self.out);
        let index = self.tables;
        self.tables = index.checked_add(1).ok_or(Failure::new(Refusal::TooLarge))?;
        self.seen.insert(key, Seen { index, header });
        let (mut entries, mut sequence) = (0u32, 0u32);
        l.push_nil();
        while l.next(idx) {
            let (k, v) = (l.top() - 1, l.top());
            let next_in_sequence = match self.value(l, k, depth) {
                Ok(key) => key == Some(Value::Integer(sequence as i64 + 1)),
                Err(mut f) => {
                    // The key itself is refused, or something inside a table key.
                    if f.path.is_empty() && !f.as_key {
                        f.as_key = true;
                    } else {
                        f.path.push(describe_key(l, k));
                    }
                    return Err(f);
                }
            };
            if let Err(mut f) = self.value(l, v, depth) {
                f.path.push(describe_key(l, k));
                return Err(f);
            }
            if next_in_sequence && sequence < u32::MAX {
                sequence += 1;
            }
            entries = entries.checked_add(1).ok_or(Failure::new(Refusal::TooLarge))?;
            l.pop(1);
        }
        encoding::end_table(&mut self.out, header, entries, sequence).map_err(|_| Failure::new(Refusal::TooLarge))
    }
}

/// A key as an error message shows it: strings quoted (and cut short),
/// numbers as Lua prints them, other values by type.
fn describe_key(l: Lua, k: c_int) -> String {
    match l.type_of(k) {
        ffi::LUA_TSTRING => {
            let s = l.to_bytes(k).unwrap_or_default();
            let cut = s.len() > 40;
            let s = String::from_utf8_lossy(&s[..s.len().min(40)]).into_owned();
            let quoted: String = s.escape_debug().collect();
            format!("\"{quoted}{}\"", if cut { "..." } else { "" })
        }
        ffi::LUA_TNUMBER => match l.to_exact_integer(k) {
            Some(i) => i.to_string(),
            None => format!("{}", l.raw_number(k)),
        },
        ffi::LUA_TBOOLEAN => l.to_boolean(k).to_string(),
        _ => format!("({})", l.basic_type_name(k)),
    }
}

/// Pushes a table value: a new table with the contents of `v`.
pub fn push_table(l: Lua, v: Value, api: &mut Option<&'static carray::Api>) -> LResult<()> {
    let mut d = Decoder {
        base: l.top() + 1,
        memo: false,
        tables: 0,
        carray: api.take(),
    };
    let r = d.push(l, v, 0);
    *api = d.carray;
    if d.memo {
        l.remove(d.base);
    }
    r
}

/// Builds one value's tables, remembering those referenced again.
struct Decoder {
    /// Where the memo table goes: the stack slot of the value being built.
    base: c_int,
    memo: bool,
    tables: u32,
    carray: Option<&'static carray::Api>,
}

fn corrupt() -> Error {
    Error::plain("mtmsg: corrupt table in message")
}

impl Decoder {
    fn push(&mut self, l: Lua, v: Value, depth: usize) -> LResult<()> {
        match v {
            Value::Table(bytes) => {
                let t = encoding::Table::parse(bytes).ok_or_else(corrupt)?;
                self.push_table(l, t, depth + 1)
            }
            Value::TableRef(n) => {
                if !self.memo || l.raw_get_index(self.base, n as Integer + 1) != ffi::LUA_TTABLE {
                    return Err(corrupt());
                }
                Ok(())
            }
            v => push_plain(l, v, &mut self.carray),
        }
    }

    fn push_table(&mut self, l: Lua, table: encoding::Table, depth: usize) -> LResult<()> {
        let encoding::Table {
            shared,
            entries,
            sequence,
            body,
        } = table;
        if depth > MAX_DEPTH || !l.check_stack(ffi::LUA_MINSTACK) {
            return Err(corrupt());
        }
        // Sizes are hints from the message; a corrupt one must not allocate
        // more than the body could fill (an entry takes at least 3 bytes).
        let most = (body.len() / 3) as u32;
        let narr = sequence.min(most);
        let nrec = entries.saturating_sub(sequence).min(most);
        l.new_table(narr as c_int, nrec as c_int);
        let index = self.tables;
        self.tables = index.checked_add(1).ok_or_else(corrupt)?;
        if shared {
            if !self.memo {
                l.new_table(0, 0);
                l.insert(self.base);
                self.memo = true;
            }
            l.push_value(-1);
            l.raw_set_index(self.base, index as Integer + 1);
        }
        let mut values = Values::new(body);
        while let Some(key) = values.next() {
            let value = values.next().ok_or_else(corrupt)?;
            match key {
                // Nil and NaN keys make lua_rawset raise: only a corrupt message has them.
                Value::Nil => return Err(corrupt()),
                Value::Number(n) if n.is_nan() => return Err(corrupt()),
                Value::Integer(i) if i32::try_from(i).is_ok() => {
                    self.push(l, value, depth)?;
                    l.raw_set_index(-2, i as Integer);
                }
                _ => {
                    self.push(l, key, depth)?;
                    self.push(l, value, depth)?;
                    l.raw_set(-3);
                }
            }
        }
        Ok(())
    }
}
