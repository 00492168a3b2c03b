-- The library pins itself (src/pin.rs: RTLD_NODELETE) so that it stays
-- mapped after the Lua state that loaded it dlcloses it: other threads may
-- still run its code, and objects or vtables may still be used.
--
-- A child interpreter requires a module, makes its state dlclose every C
-- library right away (the loader's __gc, what lua_close does; no thread
-- started, so nothing else keeps the library), then checks that the library
-- is still mapped and still works (a method call on an existing object).
--
-- Known failure (reported): with the vendored interpreter (target/*/lua) the
-- library is unmapped, and the call crashes (SIGSEGV). The `lua` bin links
-- the mtmsg rlib and build.rs exports `luaopen_*` from it
-- (--export-dynamic-symbol=luaopen_*), so the executable defines
-- luaopen_mtmsg too; inside libmtmsg.so, `crate::luaopen_mtmsg as *const _`
-- (src/pin.rs) then resolves to the executable's copy (symbol
-- interposition), dladdr names the executable, and the NODELETE dlopen pins
-- the executable instead of the library. (It also makes valgrind report the
-- static registries as definitely lost: the library is gone at exit.)
local S = require "stresslib"

S.start("library_pin")

local CHILD = [==[
local module = ...
local m = require(module)
local obj
if module == "mtmsg" then obj = m.newbuffer() elseif module == "mtthread" then obj = m.new("return 1") end
local function maps()
    local f = io.open("/proc/self/maps")
    local n = 0
    for line in f:lines() do
        if line:find("/" .. module .. ".so", 1, true) or line:find("libmtmsg", 1, true) then n = n + 1 end
    end
    f:close()
    return n
end
local before = maps()
for _, v in pairs(debug.getregistry()) do
    if type(v) == "table" then
        local is_clibs = false
        for kk, vv in pairs(v) do
            if type(kk) == "string" and kk:find("%.so$") and type(vv) == "userdata" then is_clibs = true end
        end
        local mt = getmetatable(v)
        if is_clibs and mt and mt.__gc then
            mt.__gc(v)
            for kk in pairs(v) do v[kk] = nil end
        end
    end
end
local after = maps()
io.write(string.format("maps_before=%d maps_after_dlclose=%d ", before, after))
io.flush()
-- a call into the library after its state's handle is gone
local ok = pcall(function() return tostring(obj) end)
print("call_after_dlclose=" .. tostring(ok))
os.exit(0)
]==]

local interp = arg and arg[-1]
local path = os.tmpname()
local f = io.open(path, "w")
f:write(CHILD)
f:close()
local failed = 0
for _, module in ipairs { "mtmsg", "mtthread" } do
    local p = io.popen(string.format("'%s' '%s' %s 2>&1; echo \"exit=$?\"", interp, path, module))
    local out = p:read("*a")
    p:close()
    local line = out:match("(maps_before=[^\n]*)") or out:gsub("\n", " | ")
    local exit = out:match("exit=(%d+)")
    S.report("require " .. module, { "exit", exit, "child", "[" .. line .. "]" })
    local after = tonumber(out:match("maps_after_dlclose=(%d+)"))
    if exit ~= "0" or not after or after == 0 or not out:find("call_after_dlclose=true", 1, true) then
        failed = failed + 1
    end
end
os.remove(path)
S.check(failed == 0, failed .. " case(s): the library was unmapped when its loading state dlclosed it")
S.finish()
