//! Build script.
//!
//! 1. Chooses the Lua ABI from the cargo features and tells the crate through
//!    `cfg(lua_api = "5x")` (plus `cfg(luajit)`). The library itself never
//!    links Lua: its `lua_*` symbols resolve from the host interpreter.
//! 2. With feature `vendored`, builds that Lua from vendored sources and links
//!    it into the `lua` bin only (exporting the Lua API so that `require` of
//!    our cdylib works, as with a distribution's interpreter), and into the
//!    lib's own unit-test harness.
//! 3. With feature `vendored`, compiles the C modules under `capi/` (a Carray
//!    C API provider and the C API test drivers) as Lua modules for the tests.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const VERSIONS: [&str; 6] = ["lua51", "lua52", "lua53", "lua54", "lua55", "luajit"];

fn selected_version() -> &'static str {
    let enabled: Vec<&str> = VERSIONS
        .iter()
        .copied()
        .filter(|v| env::var_os(format!("CARGO_FEATURE_{}", v.to_uppercase())).is_some())
        .collect();
    // `lua54` is a default feature: an explicitly named other version wins,
    // so `--features lua51` works without `--no-default-features`.
    let explicit: Vec<&str> = enabled.iter().copied().filter(|v| *v != "lua54").collect();
    match (explicit.len(), enabled.contains(&"lua54")) {
        (0, true) => "lua54",
        (1, _) => explicit[0],
        (0, false) => panic!("select a Lua version feature: one of {VERSIONS:?}"),
        _ => panic!("the Lua version features are mutually exclusive, got {enabled:?}"),
    }
}

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=capi");
    println!("cargo::rerun-if-changed=include");
    println!("cargo::rustc-check-cfg=cfg(lua_api, values(\"51\", \"52\", \"53\", \"54\", \"55\"))");
    println!("cargo::rustc-check-cfg=cfg(luajit)");
    // `--cfg loom`: the loom models of the blocking core (src/core/models).
    println!("cargo::rustc-check-cfg=cfg(loom)");

    let version = selected_version();
    let api = match version {
        "luajit" => "51",
        v => &v[3..],
    };
    println!("cargo::rustc-cfg=lua_api=\"{api}\"");
    if version == "luajit" {
        println!("cargo::rustc-cfg=luajit");
    }
    println!("cargo::rustc-env=MTMSG_LUA_VERSION={version}");

    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    generate_lua_test_list(&out_dir);
    let test_link = out_dir.join("test_link.rs");
    if env::var_os("CARGO_FEATURE_VENDORED").is_none() {
        std::fs::write(&test_link, "").expect("write test_link.rs");
        return;
    }

    let (include_dir, lib_dir, lib_name) = build_vendored_lua(version, &out_dir);
    let archive = lib_dir.join(format!("lib{lib_name}.a"));

    // The interpreter bin: whole archive, Lua API exported for C modules.
    println!("cargo::rustc-link-arg-bins=-Wl,--whole-archive");
    println!("cargo::rustc-link-arg-bins={}", archive.display());
    println!("cargo::rustc-link-arg-bins=-Wl,--no-whole-archive");
    for prefix in ["lua_", "luaL_", "luaopen_", "luaJIT_"] {
        println!("cargo::rustc-link-arg-bins=-Wl,--export-dynamic-symbol={prefix}*");
    }
    // The lib's unit-test harness references the Lua API too (never the cdylib).
    println!("cargo::rustc-link-search=native={}", lib_dir.display());
    std::fs::write(
        &test_link,
        format!("#[link(name = \"{lib_name}\", kind = \"static\")]\nunsafe extern \"C\" {{}}\n"),
    )
    .expect("write test_link.rs");

    let capi_dir = out_dir.join("capi-modules");
    std::fs::create_dir_all(&capi_dir).expect("create capi-modules");
    for module in ["carray", "capitest", "example_notify", "benchfloor"] {
        compile_c_module(module, &include_dir, &capi_dir);
    }
    println!("cargo::rustc-env=MTMSG_CAPI_MODULES={}", capi_dir.display());
    println!("cargo::rustc-env=MTMSG_LUA_INCLUDE={}", include_dir.display());
}

/// Returns (include dir, lib dir, static library name without `lib`/`.a`).
fn build_vendored_lua(version: &str, out_dir: &Path) -> (PathBuf, PathBuf, String) {
    if version == "luajit" {
        let artifacts = luajit_src::Build::new()
            .out_dir(out_dir.join("luajit-build"))
            .lua52compat(false)
            .build();
        return (
            artifacts.include_dir().to_path_buf(),
            artifacts.lib_dir().to_path_buf(),
            "luajit".to_string(),
        );
    }
    let (v, name) = match version {
        "lua51" => (lua_src::Lua51, "lua5.1"),
        "lua52" => (lua_src::Lua52, "lua5.2"),
        "lua53" => (lua_src::Lua53, "lua5.3"),
        "lua54" => (lua_src::Lua54, "lua5.4"),
        _ => (lua_src::Lua55, "lua5.5"),
    };
    let artifacts = lua_src::Build::new().out_dir(out_dir.join("lua-build")).build(v);
    (
        artifacts.include_dir().to_path_buf(),
        artifacts.lib_dir().to_path_buf(),
        name.to_string(),
    )
}

/// Compiles `capi/<module>.c` into the Lua C module `<dir>/<module>.so`.
/// Its Lua symbols stay undefined: they resolve from the host interpreter.
fn compile_c_module(module: &str, lua_include: &Path, dir: &Path) {
    let src = Path::new("capi").join(format!("{module}.c"));
    if !src.exists() {
        return;
    }
    let compiler = cc::Build::new().get_compiler();
    let status = Command::new(compiler.path())
        .args(["-shared", "-fPIC", "-O2", "-g", "-Wall", "-Wextra", "-pthread"])
        .arg("-I")
        .arg(lua_include)
        .arg("-I")
        .arg("include")
        .arg("-o")
        .arg(dir.join(format!("{module}.so")))
        .arg(&src)
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "compiling {} failed", src.display());
}

/// One `#[test]` per `tests/lua/*_test.lua` script and per example
/// `examples/*.lua` (see tests/lua_scripts.rs).
fn generate_lua_test_list(out_dir: &Path) {
    let mut code = String::new();
    for (dir, suffix, prefix) in [("tests/lua", "_test.lua", ""), ("examples", ".lua", "example_")] {
        println!("cargo::rerun-if-changed={dir}");
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter_map(|f| f.strip_suffix(suffix).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        for name in names {
            code.push_str(&format!(
                "#[test]\nfn {prefix}{name}() {{\n    common::run_lua_script(\"{dir}/{name}{suffix}\");\n}}\n"
            ));
        }
    }
    std::fs::write(out_dir.join("lua_tests.rs"), code).expect("write lua_tests.rs");
}
