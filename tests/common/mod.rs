//! Shared helpers of the integration tests: where the built library, the
//! vendored interpreter and the C test modules are, and how to run a script.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The vendored interpreter built by this package.
pub fn vendored_lua() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lua"))
}

/// The interpreter the scripts run with: `MTMSG_TEST_LUA` (e.g. a
/// distribution's `/usr/bin/lua5.4`) or else the vendored one.
pub fn lua_bin() -> PathBuf {
    match std::env::var_os("MTMSG_TEST_LUA") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => vendored_lua(),
    }
}

/// A directory with `mtmsg.so`, `mtstates.so` and `mtthread.so` (symlinks to
/// the one cdylib, so the process loads it once) and the C test modules.
pub fn module_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let bin = vendored_lua();
        let profile_dir = bin.parent().expect("bin dir");
        let lib = profile_dir.join("deps").join("libmtmsg.so");
        assert!(lib.exists(), "{} not built", lib.display());
        let dir = profile_dir.join("lua-modules");
        std::fs::create_dir_all(&dir).expect("create module dir");
        let capi = Path::new(env!("MTMSG_CAPI_MODULES"));
        let mut links = vec![
            ("mtmsg.so", lib.clone()),
            ("mtstates.so", lib.clone()),
            ("mtthread.so", lib.clone()),
        ];
        for m in ["carray.so", "capitest.so", "example_notify.so"] {
            if capi.join(m).exists() {
                links.push((m, capi.join(m)));
            }
        }
        for (name, target) in links {
            let link = dir.join(name);
            // Tests run in parallel threads: replace atomically via a temp name.
            let tmp = dir.join(format!(".{name}.{}", std::process::id()));
            let _ = std::fs::remove_file(&tmp);
            std::os::unix::fs::symlink(&target, &tmp).expect("symlink");
            std::fs::rename(&tmp, &link).expect("rename symlink");
        }
        dir
    })
}

pub fn lua_cpath() -> String {
    format!("{}/?.so", module_dir().display())
}

pub fn lua_path() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    format!("{}/tests/lua/?.lua;{}/include/?.lua", root.display(), root.display())
}

/// A command running the vendored interpreter with the test environment.
pub fn lua_command() -> Command {
    let mut c = Command::new(lua_bin());
    c.env("LUA_CPATH", lua_cpath())
        .env("LUA_PATH", lua_path())
        .env_remove("LUA_INIT")
        .env_remove("LUA_INIT_5_2")
        .env_remove("LUA_INIT_5_3")
        .env_remove("LUA_INIT_5_4")
        .env_remove("LUA_INIT_5_5");
    c
}

/// Runs tests/lua/<script> and fails the test with its output if it fails.
pub fn run_lua_script(script: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("lua")
        .join(script);
    let out = lua_command()
        .arg(&path)
        .current_dir(path.parent().expect("tests/lua"))
        .output()
        .expect("run the vendored lua");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    print!("{stdout}");
}
