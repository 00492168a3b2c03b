//! Stress tests: the Lua scripts `tests/stress/*.lua`, each run by the
//! vendored interpreter in its own process with the modules on `LUA_CPATH`
//! (as tests/lua_scripts.rs does for the functional tests).
//!
//! They are `#[ignore]`d so that a plain `cargo test` skips them; `ci/stress`
//! runs them with `cargo test --release --test stress -- --ignored`. Each
//! script bounds its own running time (about 15 s at most) and prints its
//! figures; this harness also kills a script that runs longer than
//! `MTMSG_STRESS_KILL` seconds (default 120), so that a hang fails the test
//! instead of blocking CI.
//!
//! Environment passed through to the scripts: `MTMSG_STRESS_SEED` (random
//! seed, printed by every script), `MTMSG_STRESS_SCALE` (a factor on
//! durations and iteration counts, default 1).

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn stress_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("stress")
}

/// Runs tests/stress/<script>; fails with its output if it fails, crashes
/// or outlives the kill timeout.
fn run_stress_script(script: &str) {
    let dir = stress_dir();
    let path = dir.join(script);
    let lua_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("lua");
    let kill_after: u64 = std::env::var("MTMSG_STRESS_KILL")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let mut child = common::lua_command()
        .env(
            "LUA_PATH",
            format!("{}/?.lua;{}/?.lua", dir.display(), lua_dir.display()),
        )
        .arg(&path)
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the vendored lua");
    // Drain the pipes in threads so that a chatty script cannot block.
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out_pipe.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err_pipe.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for lua") {
            break Some(status);
        }
        if start.elapsed() > Duration::from_secs(kill_after) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    let elapsed = start.elapsed().as_secs_f64();
    match status {
        None => panic!("{script} HUNG: killed after {kill_after} s\n--- stdout\n{stdout}\n--- stderr\n{stderr}"),
        Some(status) => assert!(
            status.success(),
            "{script} failed ({status}) after {elapsed:.1} s:\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        ),
    }
    print!("{stdout}");
    println!("{script}: {elapsed:.1} s");
}

macro_rules! stress {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            #[ignore = "stress: run by ci/stress"]
            fn $name() {
                run_stress_script(concat!(stringify!($name), ".lua"));
            }
        )*
        /// Every script in tests/stress (except helper modules) has a test above.
        const SCRIPTS: &[&str] = &[$(stringify!($name)),*];
    };
}

stress! {
    thread_churn,
    random_ops,
    lossy_ops,
    abort_close_wake,
    abort_race,
    notifier_cycle,
    memory_footprint,
    setmsg_oom,
    library_pin,
    gc_while_blocked,
    fixed_size,
    capi_stress,
    mtstates_stress,
    fuzz_api,
}

/// Not ignored: a script added to tests/stress without a test here fails.
#[test]
fn every_stress_script_has_a_test() {
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(stress_dir()).expect("tests/stress") {
        let name = entry.expect("dir entry").file_name().into_string().expect("utf-8 name");
        let Some(stem) = name.strip_suffix(".lua") else {
            continue;
        };
        // Helper modules are named *lib.lua.
        if stem.ends_with("lib") {
            continue;
        }
        if !SCRIPTS.contains(&stem) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "add these scripts to the stress! list in tests/stress.rs: {missing:?}"
    );
}
