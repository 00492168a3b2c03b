//! Runs the Lua test scripts `tests/lua/*_test.lua` and the examples
//! `examples/*.lua` with the interpreter under test (vendored, or the one
//! in `MTMSG_TEST_LUA`), loading the modules through `require` from the
//! library under test (`MTMSG_TEST_LIB`, or the one this build made), exactly
//! as users do. Each script runs in its own process and passes when it
//! exits with status 0. build.rs generates one `#[test]` per script, so
//! adding a script is all it takes.
//!
//! The `load_*` tests come first in spirit: each loads one module into a
//! fresh process and uses it, so a library that crashes (or hangs) on
//! `require` under some interpreter fails under its own name, with the
//! signal that killed the process, before any script has to explain it.

mod common;

include!(concat!(env!("OUT_DIR"), "/lua_tests.rs"));

/// Loads `module` alone into a fresh interpreter process and runs `usage`.
fn load_and_use(module: &str, usage: &str) {
    let code = format!("local m = require '{module}'\n{usage}\nio.write('ok')");
    let out = common::run_lua_code(&format!("require '{module}' in a fresh process"), &code);
    assert_eq!(out, "ok", "require '{module}': unexpected output");
}

#[test]
fn load_mtmsg() {
    load_and_use(
        "mtmsg",
        "local b = m.newbuffer('load')
         assert(m.type(b) == 'mtmsg.buffer')
         assert(b:addmsg(1, 'two', true) == true)
         local x, y, z = b:nextmsg()
         assert(x == 1 and y == 'two' and z == true)
         local l = m.newlistener()
         local b2 = l:newbuffer()
         b2:addmsg('hi')
         assert(l:nextmsg(0) == 'hi')
         local w, r = m.newwriter(), m.newreader()
         w:add(42); assert(w:addmsg(b)); assert(r:nextmsg(b)); assert(r:next() == 42)
         assert(m.buffer('load'):id() == b:id())",
    );
}

#[test]
fn load_mtstates() {
    load_and_use(
        "mtstates",
        "local s = m.newstate('load', 'return function(a, b) return a + b end')
         assert(m.type(s) == 'mtstates.state')
         assert(s:call(2, 3) == 5)
         assert(m.state('load'):call(1, 1) == 2)
         local ok2, err = pcall(s.call, s, {})
         assert(not ok2 and m.type(s) == 'mtstates.state')
         s:close()",
    );
}

#[test]
fn load_mtthread() {
    load_and_use(
        "mtthread",
        "local t = m.new(function(x) return x * 2 end, 21)
         t:start()
         local ok, v = t:join(30)
         assert(ok == true and v == 42, tostring(v))",
    );
}

#[test]
fn load_all_three_in_one_process() {
    load_and_use(
        "mtmsg",
        "local mtstates, mtthread = require 'mtstates', require 'mtthread'
         local b = m.newbuffer()
         local t = mtthread.new(function(id)
             local mtmsg = require 'mtmsg'
             local s = require('mtstates').newstate('return function(x) return x + 1 end')
             local y = s:call(41)
             mtmsg.buffer(id):addmsg(y)
         end, b:id())
         t:start()
         assert(b:nextmsg(30) == 42)
         assert(t:join(30) == true)",
    );
}
