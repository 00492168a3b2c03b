//! A minimal standalone Lua interpreter built from vendored sources, used by
//! the tests and examples: `lua [-e code]... [script [args...]]`.
//!
//! It exports the Lua C API (see build.rs), so C modules — ours included —
//! load through a plain `require`, as with a distribution's `lua` binary.

use mtmsg::ffi;
use mtmsg::lua::{Lua, open_libs};
use std::ffi::CString;
use std::io::Read;
use std::process::ExitCode;

const MSGH: &[u8] = b"local e = ...
if type(e) ~= 'string' then
  local mt = getmetatable(e)
  if mt and mt.__tostring then return tostring(e) end
  e = '(error object is a ' .. type(e) .. ' value)'
end
return debug.traceback(e, 2)";

fn report(l: Lua, status: i32) -> bool {
    if status != ffi::LUA_OK {
        let msg = l.error_message(-1);
        eprintln!("lua: {}", String::from_utf8_lossy(&msg));
        l.pop(1);
        return false;
    }
    true
}

/// Loads a chunk and runs it under the traceback handler with `nargs`
/// arguments already pushed after... (arguments are pushed by the caller).
fn run_chunk(l: Lua, code: &[u8], name: &str, args: &[String]) -> bool {
    let Ok(cname) = CString::new(name) else { return false };
    let base = l.top();
    if !report(l, l.load_buffer(MSGH, c"=msgh")) {
        return false;
    }
    if !report(l, l.load_buffer(code, &cname)) {
        l.set_top(base);
        return false;
    }
    for a in args {
        l.push_str(a);
    }
    let ok = report(l, l.pcall(args.len() as i32, 0, base + 1));
    l.set_top(base);
    ok
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let Some(l) = Lua::new_state() else {
        eprintln!("lua: cannot create state: not enough memory");
        return ExitCode::FAILURE;
    };
    open_libs(l);

    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "-e" => {
                let Some(code) = args.get(i + 1) else {
                    eprintln!("lua: '-e' needs argument");
                    return ExitCode::FAILURE;
                };
                if !run_chunk(l, code.as_bytes(), "=(command line)", &[]) {
                    return ExitCode::FAILURE;
                }
                i += 2;
            }
            "-v" => {
                l.get_global(c"_VERSION");
                println!("{}", String::from_utf8_lossy(l.to_bytes(-1).unwrap_or_default()));
                l.pop(1);
                i += 1;
            }
            _ => break,
        }
    }
    if i >= args.len() {
        return ExitCode::SUCCESS;
    }

    // The global `arg`: script at 0, its arguments from 1, interpreter at -i.
    l.new_table(args.len() as i32, 1);
    for (k, a) in args.iter().enumerate() {
        l.push_str(a);
        l.raw_set_index(-2, k as mtmsg::lua::Integer - i as mtmsg::lua::Integer);
    }
    set_global(l, c"arg");

    let script = &args[i];
    let code = if script == "-" {
        let mut s = Vec::new();
        if std::io::stdin().read_to_end(&mut s).is_err() {
            eprintln!("lua: cannot read stdin");
            return ExitCode::FAILURE;
        }
        s
    } else {
        match std::fs::read(script) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("lua: cannot open {script}: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    // Skip a leading `#!` line, as lua.c does.
    let code = if code.starts_with(b"#") {
        let end = code.iter().position(|&c| c == b'\n').unwrap_or(code.len());
        let mut c = code[end..].to_vec();
        c.insert(0, b'-');
        c.insert(0, b'-');
        c
    } else {
        code
    };
    let ok = run_chunk(l, &code, &format!("@{script}"), &args[i + 1..]);
    // SAFETY: the state is ours and no longer used.
    unsafe { l.close() };
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn set_global(l: Lua, name: &std::ffi::CStr) {
    #[allow(unexpected_cfgs)]
    {
        l.get_global(c"_G");
        l.insert(-2);
        l.set_field(-2, name);
        l.pop(1);
    }
}
