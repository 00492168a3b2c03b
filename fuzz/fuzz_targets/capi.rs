//! The Receiver C API writer paths and the Sender C API reader paths of
//! `mtmsg.buffer`, called exactly as a C library calls them: through the
//! vtables found in the metatable of buffer objects (`_capi_receiver`,
//! `_capi_sender`) of a Lua 5.4 state running in this process, with our own
//! copy of the layouts of capi.md (a C caller has its own headers too).
//!
//! The input is a sequence of operations: new/free/clear writers (any
//! capacity and grow factor, also fixed and tiny), add booleans, integers,
//! floats, strings, byte lists and arrays (also unknown types and absurd
//! counts), send to one of three buffers (growing, fixed-size, listener
//! buffer; with and without `clear`), take messages into readers (growing
//! and fixed-size), read values (all or some), and read messages through
//! Lua's `buffer:nextmsg`. A model of every buffer's queue checks that the
//! messages come out exactly as written (values, types, order), that return
//! codes are the documented ones, and that a failed send changes neither the
//! buffer nor the writer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtmsg::lua::Lua;
use std::collections::VecDeque;
use std::ffi::{CStr, c_char, c_float, c_int, c_void};
use std::sync::Mutex;

type Eh = Option<unsafe extern "C" fn(*mut c_void, *const c_char, usize)>;

#[repr(C)]
struct Header {
    major: c_int,
    minor: c_int,
    patch: c_int,
    next: *const c_void,
}

#[repr(C)]
struct ReceiverApi {
    header: Header,
    to_receiver: unsafe extern "C-unwind" fn(*mut mtmsg::ffi::lua_State, c_int) -> *mut c_void,
    retain: unsafe extern "C" fn(*mut c_void),
    release: unsafe extern "C" fn(*mut c_void),
    new_writer: unsafe extern "C" fn(usize, c_float) -> *mut c_void,
    free_writer: unsafe extern "C" fn(*mut c_void),
    msg_to_receiver: unsafe extern "C" fn(*mut c_void, *mut c_void, c_int, c_int, Eh, *mut c_void) -> c_int,
    clear_writer: unsafe extern "C" fn(*mut c_void),
    add_boolean: unsafe extern "C" fn(*mut c_void, c_int) -> c_int,
    add_integer: unsafe extern "C" fn(*mut c_void, i64) -> c_int,
    add_number: unsafe extern "C" fn(*mut c_void, f64) -> c_int,
    add_string: unsafe extern "C" fn(*mut c_void, *const c_char, usize) -> c_int,
    add_bytes: unsafe extern "C" fn(*mut c_void, *const u8, usize) -> c_int,
    add_array: unsafe extern "C" fn(*mut c_void, c_int, usize) -> *mut c_void,
}

#[repr(C)]
struct SenderApi {
    header: Header,
    to_sender: unsafe extern "C-unwind" fn(*mut mtmsg::ffi::lua_State, c_int) -> *mut c_void,
    retain: unsafe extern "C" fn(*mut c_void),
    release: unsafe extern "C" fn(*mut c_void),
    new_reader: unsafe extern "C" fn(usize, c_float) -> *mut c_void,
    free_reader: unsafe extern "C" fn(*mut c_void),
    clear_reader: unsafe extern "C" fn(*mut c_void),
    next_value: unsafe extern "C" fn(*mut c_void, *mut SenderValue),
    next_message: unsafe extern "C" fn(*mut c_void, *mut c_void, c_int, f64, Eh, *mut c_void) -> c_int,
}

#[repr(C)]
#[derive(Default)]
struct SenderValue {
    value_type: c_int,
    payload: [usize; 4],
}

const T_NONE: c_int = 0;
const T_BOOLEAN: c_int = 2;
const T_INTEGER: c_int = 3;
const T_NUMBER: c_int = 4;
const T_STRING: c_int = 7;
const T_ARRAY: c_int = 8;

/// One value as written.
#[derive(Clone, Debug, PartialEq)]
enum MValue {
    Boolean(bool),
    Integer(i64),
    Number(u64),
    String(Vec<u8>),
    Array { ty: c_int, size: usize, data: Vec<u8> },
}

fn element_size(ty: c_int) -> Option<usize> {
    Some(match ty {
        1 | 2 => 1,
        3 | 4 => 2,
        5 | 6 | 9 => 4,
        7 | 8 | 10 | 11 | 12 => 8,
        _ => return None,
    })
}

struct Harness {
    l: Lua,
    recv: &'static ReceiverApi,
    send: &'static SenderApi,
    iterations: u64,
}

// SAFETY: the harness (and its Lua state) is only used under the mutex.
unsafe impl Send for Harness {}

const SETUP: &[u8] = br#"
local mtmsg = require "mtmsg"
H = {}
function H.make(s1, g1, s2)
    local l = mtmsg.newlistener()
    return mtmsg.newbuffer(s1, g1), mtmsg.newbuffer(s2, 0), l:newbuffer(), l
end
-- reads one message through Lua and describes its values
function H.read(b)
    local t = table.pack(pcall(b.nextmsg, b, 0))
    if not t[1] then return "error: " .. tostring(t[2]) end
    local out = { tostring(t.n - 1) }
    for i = 2, t.n do
        local v = t[i]
        if math.type(v) == "integer" then out[#out + 1] = "i" .. v
        elseif math.type(v) == "float" then out[#out + 1] = "f" .. string.format("%016x", string.unpack("<i8", string.pack("<d", v)))
        elseif type(v) == "boolean" then out[#out + 1] = v and "b1" or "b0"
        elseif type(v) == "string" then out[#out + 1] = "s" .. #v .. ":" .. v
        else out[#out + 1] = "?" .. type(v) end
    end
    return table.concat(out, "|")
end
"#;

fn describe(values: &[MValue]) -> Option<Vec<u8>> {
    let mut out = format!("{}", values.len()).into_bytes();
    for v in values {
        out.push(b'|');
        match v {
            MValue::Integer(i) => out.extend_from_slice(format!("i{i}").as_bytes()),
            MValue::Number(bits) => out.extend_from_slice(format!("f{bits:016x}").as_bytes()),
            MValue::Boolean(b) => out.extend_from_slice(if *b { b"b1" } else { b"b0" }),
            MValue::String(s) => {
                out.extend_from_slice(format!("s{}:", s.len()).as_bytes());
                out.extend_from_slice(s);
            }
            MValue::Array { .. } => return None, // needs the carray module in Lua
        }
    }
    Some(out)
}

fn api_of(l: Lua, idx: c_int, id: &CStr) -> *const c_void {
    assert_ne!(
        l.get_meta_field(idx, id),
        mtmsg::ffi::LUA_TNIL,
        "no {id:?} in the metatable"
    );
    let ud = l.to_userdata(-1) as *const u8;
    let psize = std::mem::size_of::<*const c_void>();
    let idb = id.to_bytes_with_nul();
    assert!(!ud.is_null() && l.raw_len(-1) >= psize + idb.len());
    // SAFETY: checked size: a pointer followed by the id string (capi.md §1.1).
    let (p, tag) = unsafe {
        (
            (ud as *const *const c_void).read_unaligned(),
            std::slice::from_raw_parts(ud.add(psize), idb.len()),
        )
    };
    assert_eq!(tag, idb);
    l.pop(1);
    p
}

fn run_lua(l: Lua, code: &[u8]) {
    assert_eq!(
        l.load_buffer(code, c"=fuzz"),
        0,
        "load: {}",
        String::from_utf8_lossy(&l.error_message(-1))
    );
    assert_eq!(
        l.pcall(0, 0, 0),
        0,
        "run: {}",
        String::from_utf8_lossy(&l.error_message(-1))
    );
}

fn harness() -> &'static Mutex<Harness> {
    static H: std::sync::OnceLock<Mutex<Harness>> = std::sync::OnceLock::new();
    H.get_or_init(|| {
        let l = Lua::new_state().expect("lua state");
        mtmsg::lua::open_libs(l);
        l.get_global(c"package");
        l.get_field(-1, c"preload");
        l.push_cfunction(mtmsg::luaopen_mtmsg);
        l.set_field(-2, c"mtmsg");
        l.pop(2);
        run_lua(l, SETUP);
        // one buffer to find the vtables (they are static)
        run_lua(l, b"HB = require('mtmsg').newbuffer()");
        l.get_global(c"HB");
        let recv = api_of(l, -1, c"_capi_receiver") as *const ReceiverApi;
        let send = api_of(l, -1, c"_capi_sender") as *const SenderApi;
        l.pop(1);
        // SAFETY: published vtables live for the process.
        let (recv, send) = unsafe { (&*recv, &*send) };
        assert_eq!((recv.header.major, recv.header.minor), (2, 0));
        assert_eq!((send.header.major, send.header.minor), (1, 0));
        Mutex::new(Harness {
            l,
            recv,
            send,
            iterations: 0,
        })
    })
}

struct Input<'a> {
    data: &'a [u8],
}

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }
    fn bytes(&mut self, n: usize) -> Option<&[u8]> {
        if self.data.len() < n {
            return None;
        }
        let (a, b) = self.data.split_at(n);
        self.data = b;
        Some(a)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.bytes(8)?.try_into().ok()?))
    }
    fn u16(&mut self) -> Option<usize> {
        Some(u16::from_le_bytes(self.bytes(2)?.try_into().ok()?) as usize)
    }
}

/// Writer and reader capacities: small or fixed, never a mid-sized huge
/// one (the area allocates its whole capacity, see the report).
fn capacity_of(sel: u8) -> (usize, f32) {
    const CAPS: [usize; 8] = [0, 1, 4, 16, 64, 255, 1024, 4096];
    const GROWS: [f32; 8] = [0.0, 0.0, 0.5, 1.0, 2.0, 3.0, -1.0, f32::NAN];
    (CAPS[(sel & 7) as usize], GROWS[((sel >> 3) & 7) as usize])
}

struct Writer {
    w: *mut c_void,
    values: Vec<MValue>,
    fixed: bool,
}

struct Reader {
    r: *mut c_void,
    fixed: bool,
}

fuzz_target!(|data: &[u8]| {
    let mut h = harness().lock().unwrap_or_else(|e| e.into_inner());
    h.iterations += 1;
    let l = h.l;
    let (recv, send) = (h.recv, h.send);
    let base = l.top();
    let mut inp = Input { data };
    let (Some(s1), Some(g1), Some(s2)) = (inp.byte(), inp.byte(), inp.byte()) else {
        return;
    };

    // three buffers: growing (or fixed by chance), fixed, a listener's
    l.get_global(c"H");
    l.get_field(-1, c"make");
    l.push_number([0.0, 8.0, 64.0, 1024.0][(s1 & 3) as usize]);
    l.push_number([2.0, 0.0, 1.0, 0.5][(g1 & 3) as usize]);
    l.push_number([0.0, 12.0, 40.0, 300.0][(s2 & 3) as usize]);
    assert_eq!(l.pcall(3, 4, 0), 0);
    let first = l.top() - 3; // buffers at first, first+1, first+2; listener at first+3
    let fixed_buf = [(g1 & 3) == 1, true, false];
    let mut objs = [std::ptr::null_mut(); 3];
    let mut senders = [std::ptr::null_mut(); 3];
    for k in 0..3 {
        // SAFETY: API contract: a buffer on the stack of this state.
        unsafe {
            objs[k] = (recv.to_receiver)(l.0, first + k as c_int);
            senders[k] = (send.to_sender)(l.0, first + k as c_int);
            assert!(!objs[k].is_null() && objs[k] == senders[k]);
            (recv.retain)(objs[k]);
            (send.retain)(senders[k]);
        }
    }
    let mut queues: [VecDeque<Vec<MValue>>; 3] = Default::default();
    let mut writers: Vec<Writer> = Vec::new();
    let mut readers: Vec<Reader> = Vec::new();
    let mut ops = 0;

    while let Some(op) = inp.byte() {
        ops += 1;
        if ops > 300 {
            break;
        }
        let wi = if writers.is_empty() {
            None
        } else {
            Some((op as usize >> 4) % writers.len())
        };
        // SAFETY (all blocks below): writers and readers are live objects of
        // these vtables, the buffers are retained; pointers passed with a
        // length point to that many bytes.
        match op % 16 {
            0 => {
                if writers.len() < 3 {
                    let (cap, grow) = capacity_of(inp.byte().unwrap_or(0));
                    let w = unsafe { (recv.new_writer)(cap, grow) };
                    assert!(!w.is_null());
                    writers.push(Writer {
                        w,
                        values: Vec::new(),
                        fixed: grow.is_nan() || grow <= 0.0,
                    });
                }
            }
            1 => {
                if let Some(i) = wi {
                    let w = writers.swap_remove(i);
                    unsafe { (recv.free_writer)(w.w) };
                }
                unsafe { (recv.free_writer)(std::ptr::null_mut()) };
            }
            2 => {
                if let Some(i) = wi {
                    unsafe { (recv.clear_writer)(writers[i].w) };
                    writers[i].values.clear();
                }
            }
            3 => {
                if let (Some(i), Some(b)) = (wi, inp.byte()) {
                    let rc = unsafe { (recv.add_boolean)(writers[i].w, b as c_int - 128) };
                    check_add(rc, &mut writers[i], MValue::Boolean(b != 128));
                }
            }
            4 => {
                if let (Some(i), Some(x)) = (wi, inp.u64()) {
                    let x = match x % 5 {
                        0 => (x >> 8) as i64 % 256,
                        1 => i64::MIN,
                        2 => i64::MAX,
                        _ => x as i64,
                    };
                    let rc = unsafe { (recv.add_integer)(writers[i].w, x) };
                    check_add(rc, &mut writers[i], MValue::Integer(x));
                }
            }
            5 => {
                if let (Some(i), Some(x)) = (wi, inp.u64()) {
                    let rc = unsafe { (recv.add_number)(writers[i].w, f64::from_bits(x)) };
                    check_add(rc, &mut writers[i], MValue::Number(x));
                }
            }
            6 => {
                if let (Some(i), Some(n)) = (wi, inp.u16()) {
                    let n = n % 600;
                    let s: Vec<u8> = (0..n).map(|k| (k * 7 + n) as u8).collect();
                    let rc = unsafe { (recv.add_string)(writers[i].w, s.as_ptr() as *const c_char, s.len()) };
                    check_add(rc, &mut writers[i], MValue::String(s));
                }
            }
            7 => {
                if let (Some(i), Some(n)) = (wi, inp.byte()) {
                    let s: Vec<u8> = (0..n as usize).map(|k| (k * 31) as u8).collect();
                    let before = writers[i].values.len();
                    let rc = unsafe { (recv.add_bytes)(writers[i].w, s.as_ptr(), s.len()) };
                    assert!(rc == 0 || rc == -1, "add_bytes rc {rc}");
                    if rc == 0 {
                        writers[i].values.extend(s.iter().map(|&b| MValue::Integer(b as i64)));
                    } else {
                        assert!(writers[i].fixed, "a growing writer refused {} bytes", s.len());
                        assert_eq!(writers[i].values.len(), before);
                    }
                }
            }
            8 => {
                // arrays: known and unknown types, small and absurd counts
                if let (Some(i), Some(t), Some(c)) = (wi, inp.byte(), inp.u16()) {
                    let ty = (t % 16) as c_int - 1;
                    let count = match t >> 4 {
                        0 => usize::MAX,
                        1 => usize::MAX / 2,
                        2 => 1usize << 62,
                        3 => 1usize << 45,
                        _ => c % 300,
                    };
                    let p = unsafe { (recv.add_array)(writers[i].w, ty, count) };
                    match element_size(ty) {
                        Some(size) if count < 1000 && !p.is_null() => {
                            let bytes: Vec<u8> = (0..size * count).map(|k| (k * 13 + 5) as u8).collect();
                            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), p as *mut u8, bytes.len()) };
                            writers[i].values.push(MValue::Array { ty, size, data: bytes });
                        }
                        Some(_) if count < 1000 => {
                            assert!(writers[i].fixed, "a growing writer refused an array of {count}");
                        }
                        _ => assert!(p.is_null(), "add_array({ty}, {count}) did not fail"),
                    }
                }
            }
            9 | 10 => {
                // send to a buffer (10: with clear, i.e. setmsg)
                if let (Some(i), Some(k)) = (wi, inp.byte()) {
                    let k = k as usize % 3;
                    let clear = op % 16 == 10;
                    let rc = unsafe {
                        (recv.msg_to_receiver)(objs[k], writers[i].w, clear as c_int, 0, None, std::ptr::null_mut())
                    };
                    match rc {
                        0 => {
                            if clear {
                                queues[k].clear();
                            }
                            queues[k].push_back(std::mem::take(&mut writers[i].values));
                        }
                        4 | 5 => assert!(fixed_buf[k], "a growing buffer returned {rc}"),
                        _ => panic!("msg_to_receiver rc {rc}"),
                    }
                    if rc != 0 {
                        // the writer keeps its values: sending it to the
                        // growing listener buffer must deliver them
                        let again =
                            unsafe { (recv.msg_to_receiver)(objs[2], writers[i].w, 0, 0, None, std::ptr::null_mut()) };
                        assert_eq!(again, 0);
                        queues[2].push_back(std::mem::take(&mut writers[i].values));
                    }
                }
            }
            11 => {
                if readers.len() < 3 {
                    let (cap, grow) = capacity_of(inp.byte().unwrap_or(0));
                    let r = unsafe { (send.new_reader)(cap, grow) };
                    assert!(!r.is_null());
                    readers.push(Reader {
                        r,
                        fixed: grow.is_nan() || grow <= 0.0,
                    });
                }
            }
            12 | 13 => {
                // take a message into a reader, read all (12) or some (13) values
                if readers.is_empty() {
                    continue;
                }
                let Some(sel) = inp.byte() else { break };
                let r = &readers[sel as usize % readers.len()];
                let k = (sel as usize >> 2) % 3;
                let rc = unsafe { (send.next_message)(senders[k], r.r, 1, 0.0, None, std::ptr::null_mut()) };
                match rc {
                    0 => {
                        let want = queues[k].pop_front().expect("a message the model does not have");
                        let upto = if op % 16 == 13 {
                            (sel as usize >> 4) % (want.len() + 1)
                        } else {
                            usize::MAX
                        };
                        check_reader(send, r.r, &want, upto);
                    }
                    3 => assert!(
                        queues[k].is_empty(),
                        "no message, but the model has {}",
                        queues[k].len()
                    ),
                    4 => assert!(r.fixed && !queues[k].is_empty(), "does not fit a growing reader"),
                    _ => panic!("next_message rc {rc}"),
                }
            }
            14 => {
                // read through Lua
                let Some(k) = inp.byte() else { break };
                let k = k as usize % 3;
                let front_desc = queues[k].front().map(|m| describe(m));
                if let Some(None) = front_desc {
                    continue; // arrays need the carray module in Lua
                }
                l.get_global(c"H");
                l.get_field(-1, c"read");
                l.push_value(first + k as c_int);
                assert_eq!(l.pcall(1, 1, 0), 0);
                let got = l.to_bytes(-1).unwrap_or_default().to_vec();
                l.pop(2);
                match front_desc {
                    Some(Some(want)) => {
                        assert_eq!(got, want, "Lua read {:?}", String::from_utf8_lossy(&got));
                        queues[k].pop_front();
                    }
                    _ => assert_eq!(got, b"0", "Lua read from an empty buffer"),
                }
            }
            _ => {
                // a reader cleared, or hostile NULLs (documented as tolerated)
                if let Some(r) = readers.first() {
                    unsafe { (send.clear_reader)(r.r) };
                    let mut v = SenderValue::default();
                    unsafe { (send.next_value)(r.r, &mut v) };
                    assert_eq!(v.value_type, T_NONE);
                }
                unsafe {
                    (send.free_reader)(std::ptr::null_mut());
                    (recv.clear_writer)(std::ptr::null_mut());
                    assert_ne!((recv.add_boolean)(std::ptr::null_mut(), 1), 0);
                    assert!((recv.add_array)(std::ptr::null_mut(), 5, 1).is_null());
                    assert_ne!((recv.add_string)(std::ptr::null_mut(), std::ptr::null(), 5), 0);
                }
            }
        }
    }

    // drain: what is left comes out exactly as the model says
    let r = unsafe { (send.new_reader)(0, 2.0) };
    for k in 0..3 {
        loop {
            let rc = unsafe { (send.next_message)(senders[k], r, 1, 0.0, None, std::ptr::null_mut()) };
            if rc == 3 {
                break;
            }
            assert_eq!(rc, 0, "drain rc");
            let want = queues[k]
                .pop_front()
                .expect("the buffer has more messages than the model");
            check_reader(send, r, &want, usize::MAX);
        }
        assert!(queues[k].is_empty(), "buffer {k} lost {} messages", queues[k].len());
    }
    unsafe {
        (send.free_reader)(r);
        for w in writers {
            (recv.free_writer)(w.w);
        }
        for rd in readers {
            (send.free_reader)(rd.r);
        }
        for k in 0..3 {
            (recv.release)(objs[k]);
            (send.release)(senders[k]);
        }
    }
    l.set_top(base);
    if h.iterations.is_multiple_of(256) {
        run_lua(l, b"collectgarbage()");
    }
});

fn check_add(rc: c_int, w: &mut Writer, v: MValue) {
    match rc {
        0 => w.values.push(v),
        -1 => assert!(w.fixed, "a growing writer refused {v:?}"),
        _ => panic!("add rc {rc}"),
    }
}

/// Reads up to `upto` values from the reader and compares them with `want`;
/// reading everything also checks the end (NONE, twice).
fn check_reader(send: &SenderApi, r: *mut c_void, want: &[MValue], upto: usize) {
    for (i, w) in want.iter().enumerate() {
        if i >= upto {
            return;
        }
        let mut v = SenderValue::default();
        // SAFETY: a live reader; v is writable.
        unsafe { (send.next_value)(r, &mut v) };
        let p = v.payload;
        let got = match v.value_type {
            T_BOOLEAN => {
                assert!(p[0] == 0 || p[0] == 1, "boolean {}", p[0]);
                MValue::Boolean(p[0] != 0)
            }
            T_INTEGER => MValue::Integer(p[0] as i64),
            T_NUMBER => MValue::Number(p[0] as u64),
            // SAFETY: the value points into the reader, valid until the next call.
            T_STRING => MValue::String(unsafe { std::slice::from_raw_parts(p[0] as *const u8, p[1]) }.to_vec()),
            T_ARRAY => MValue::Array {
                ty: p[0] as c_int,
                size: p[1],
                // SAFETY: as above; element size * count bytes.
                data: unsafe { std::slice::from_raw_parts(p[3] as *const u8, p[1] * p[2]) }.to_vec(),
            },
            t => panic!("value {i}: type {t}, want {w:?}"),
        };
        assert_eq!(&got, w, "value {i}");
    }
    for _ in 0..2 {
        let mut v = SenderValue::default();
        // SAFETY: as above.
        unsafe { (send.next_value)(r, &mut v) };
        assert_eq!(v.value_type, T_NONE, "more values than written");
    }
}
