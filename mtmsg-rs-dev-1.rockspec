-- Builds with cargo for the Lua that runs luarocks (stock "command" backend):
--   luarocks make mtmsg-rs-dev-1.rockspec
package = "mtmsg-rs"
version = "dev-1"
source = {
   url = "git+https://example.invalid/mtmsg-rs.git",
}
description = {
   summary = "mtmsg, mtstates and mtthread for Lua 5.1-5.5 and LuaJIT, in Rust",
   detailed = [[
      Drop-in reimplementations of the mtmsg (message buffers between threads)
      and mtstates (Lua states callable from any thread) modules, plus mtthread
      (threads). Objects publish the Notify, Receiver and Sender C APIs.
   ]],
   license = "MIT",
}
dependencies = {
   "lua >= 5.1, < 5.6",
}
build = {
   type = "command",
   -- The cargo feature comes from the interpreter itself (luarocks has no
   -- version variable). One library serves the three module names; each
   -- gets its own file, as luarocks installs files, not links.
   build_command = [[cargo build --release --no-default-features --features "$($(LUA) -e 'local v = _VERSION:match("%d+%.%d+"):gsub("%.", "") print(type(jit) == "table" and "luajit" or "lua" .. v)')" && cp target/release/libmtmsg.so mtmsg.so && cp mtmsg.so mtstates.so && cp mtmsg.so mtthread.so]],
   install_command = [[mkdir -p "$(PREFIX)/include" && cp include/notify_capi.h include/receiver_capi.h include/sender_capi.h "$(PREFIX)/include/"]],
   -- The API reference and the lua-language-server annotations
   -- (docs/types) go to the rock's folder: `luarocks show --rock-dir mtmsg-rs`.
   copy_directories = { "docs" },
   install = {
      lib = {
         mtmsg = "mtmsg.so",
         mtstates = "mtstates.so",
         mtthread = "mtthread.so",
      },
   },
}
