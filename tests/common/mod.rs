//! Shared helpers of the integration tests: where the built library, the
//! vendored interpreter and the C test modules are, and how to run a script.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

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

/// The module library under test: `MTMSG_TEST_LIB` (ci/test-all sets it to
/// the library built exactly as luarocks builds it) or else the cdylib this
/// `cargo test` built.
pub fn module_lib() -> PathBuf {
    match std::env::var_os("MTMSG_TEST_LIB") {
        Some(p) if !p.is_empty() => {
            let lib = PathBuf::from(p);
            assert!(lib.exists(), "MTMSG_TEST_LIB={} does not exist", lib.display());
            std::fs::canonicalize(&lib).expect("canonical MTMSG_TEST_LIB")
        }
        _ => {
            let lib = vendored_lua()
                .parent()
                .expect("bin dir")
                .join("deps")
                .join("libmtmsg.so");
            assert!(lib.exists(), "{} not built", lib.display());
            lib
        }
    }
}

/// A directory with `mtmsg.so`, `mtstates.so` and `mtthread.so` (symlinks to
/// the one library under test, so the process loads it once) and the C test
/// modules. Each library under test gets its own directory.
pub fn module_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let lib = module_lib();
        let profile_dir = vendored_lua().parent().expect("bin dir").to_path_buf();
        let shipped = std::env::var_os("MTMSG_TEST_LIB").is_some_and(|p| !p.is_empty());
        let dir = profile_dir.join(if shipped { "lua-modules-shipped" } else { "lua-modules" });
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

/// Our modules first, then the distribution's Lua C modules for the Lua
/// version under test (Debian's lua-luv for the event-loop tests), the
/// same directory `ci/lua` adds.
pub fn lua_cpath() -> String {
    let mut path = format!("{}/?.so", module_dir().display());
    if let Some(dir) = distribution_cmodules() {
        path.push_str(&format!(";{dir}/?.so"));
    }
    path
}

/// `/usr/lib/<arch>-linux-gnu/lua/<5.x>` for the version under test, if it
/// exists (LuaJIT uses 5.1's).
fn distribution_cmodules() -> Option<String> {
    let abi = match env!("MTMSG_LUA_VERSION") {
        "lua51" | "luajit" => "5.1",
        "lua52" => "5.2",
        "lua53" => "5.3",
        "lua54" => "5.4",
        "lua55" => "5.5",
        _ => return None,
    };
    let dir = format!("/usr/lib/{}-linux-gnu/lua/{abi}", std::env::consts::ARCH);
    Path::new(&dir).is_dir().then_some(dir)
}

pub fn lua_path() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    format!("{}/tests/lua/?.lua;{}/include/?.lua", root.display(), root.display())
}

/// A command running the interpreter under test with the test environment.
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

/// A time limit in seconds from the environment variable `var`, else
/// `default` (`MTMSG_TEST_TIMEOUT` for test scripts, `MTMSG_STRESS_KILL`
/// for stress scripts).
pub fn timeout_from_env(var: &str, default: u64) -> Duration {
    let secs = std::env::var(var).ok().and_then(|s| s.parse().ok()).unwrap_or(default);
    Duration::from_secs(secs)
}

/// How a finished (or killed) interpreter process ended, in words: a crash
/// names its signal, so a segfault on load reads as one.
fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => {
            let name = match sig {
                4 => "SIGILL",
                6 => "SIGABRT",
                7 => "SIGBUS",
                8 => "SIGFPE",
                9 => "SIGKILL",
                11 => "SIGSEGV",
                _ => "signal",
            };
            format!(
                "killed by signal {sig} ({name}){}",
                if status.core_dumped() { ", core dumped" } else { "" }
            )
        }
        _ => format!("{status}"),
    }
}

/// Runs `command` to the end or until `timeout`, collecting its output.
/// Fails the test, naming `what`, the interpreter and how the process
/// ended, unless it exits with status 0. Returns its stdout.
pub fn run_to_success(mut command: Command, what: &str, timeout: Duration) -> String {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start {}: {e}", lua_bin().display()));
    // Drain both pipes on threads so a chatty process cannot block on them.
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait().expect("wait for the interpreter") {
            break (status, false);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            break (child.wait().expect("wait for the killed interpreter"), true);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    let ended = if timed_out {
        format!("hung: killed after {} s", timeout.as_secs())
    } else {
        describe_exit(status)
    };
    assert!(
        status.success() && !timed_out,
        "{what} failed with {} and module library {}: {ended}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        lua_bin().display(),
        module_lib().display(),
    );
    stdout
}

/// Runs the script at `path` (relative to the package root) in a fresh
/// interpreter process, from the script's directory; fails the test with
/// its output unless it exits with status 0.
pub fn run_lua_script(path: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let mut command = lua_command();
    command.arg(&path).current_dir(path.parent().expect("script dir"));
    let what = path.file_name().expect("script name").to_string_lossy().into_owned();
    let stdout = run_to_success(command, &what, timeout_from_env("MTMSG_TEST_TIMEOUT", 600));
    print!("{stdout}");
}

/// Runs a chunk of Lua code given with `-e` in a fresh interpreter process.
pub fn run_lua_code(what: &str, code: &str) -> String {
    let mut command = lua_command();
    command.arg("-e").arg(code);
    run_to_success(command, what, timeout_from_env("MTMSG_TEST_TIMEOUT", 600))
}
