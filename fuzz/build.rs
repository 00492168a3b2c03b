//! Builds Lua 5.4 from vendored sources and links it into the fuzz targets:
//! the `capi` target runs a Lua state in process (the library itself never
//! links Lua; its `lua_*` symbols come from the host, here this binary).
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let artifacts = lua_src::Build::new().build(lua_src::Lua54);
    println!("cargo::rustc-link-search=native={}", artifacts.lib_dir().display());
    println!("cargo::rustc-link-lib=static=lua5.4");
}
