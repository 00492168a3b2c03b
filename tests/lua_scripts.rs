//! Runs the Lua test scripts `tests/lua/*_test.lua` with the vendored
//! interpreter, loading the modules through `require` from the built shared
//! library, exactly as users do. Each script runs in its own process and
//! passes when it exits with status 0. build.rs generates one `#[test]` per
//! script, so adding a script is all it takes.

mod common;

include!(concat!(env!("OUT_DIR"), "/lua_tests.rs"));
