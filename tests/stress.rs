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

use std::path::{Path, PathBuf};
use std::time::Instant;

fn stress_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("stress")
}

/// Runs tests/stress/<script>; fails with its output if it fails, crashes
/// or outlives the kill timeout (`MTMSG_STRESS_KILL`, default 120 s).
fn run_stress_script(script: &str) {
    let dir = stress_dir();
    let lua_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("lua");
    let mut command = common::lua_command();
    command
        .env(
            "LUA_PATH",
            format!("{}/?.lua;{}/?.lua", dir.display(), lua_dir.display()),
        )
        .arg(dir.join(script))
        .current_dir(&dir);
    let start = Instant::now();
    let stdout = common::run_to_success(command, script, common::timeout_from_env("MTMSG_STRESS_KILL", 120));
    print!("{stdout}");
    println!("{script}: {:.1} s", start.elapsed().as_secs_f64());
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
    bounded_pipeline,
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
