-- mtstates on one thread: module table, newstate argument parsing, libs,
-- setup and callback results and errors (exact texts), call / tcall /
-- close / interrupt / isowner / id, singleton, ownership and garbage
-- collection, nested and chained calls, carrays, README examples that need
-- no thread.
-- Edge cases 85-101, 104-111, 113-116 (the threaded ones are in
-- mtstates_threads_test.lua); decisions: [111] singleton's first argument is
-- always the name, interrupt() on a closed state raises object_closed.
local T = require "testlib"
local H = require "lnw_helpers"
local mtstates = require "mtstates"

local argerr, collect = H.argerr, H.collect
local unpack = H.unpack

local C_TB = "\nstack traceback:\n\t[C]: in ?\n\t[C]: in ?"

local function none(...) return select("#", ...) == 0 end

-- errors raised by mtstates carry no position prefix
local function raises_plain(f, prefix)
    local err = T.raises(f, prefix)
    T.eq(err:sub(1, #prefix), prefix, "error starts with " .. prefix)
    return err
end

-- the argument-error name of a module function on this Lua version
local NEWSTATE = "newstate"
local SINGLETON = "singleton"

-- ---------------------------------------------------------------- [85] module
do
    T.eq(type(mtstates), "table")
    for _, f in ipairs { "newstate", "state", "singleton", "id", "type" } do
        T.eq(type(mtstates[f]), "function", f)
    end
    T.eq(type(mtstates._VERSION), "string")
    T.check(mtstates._VERSION:match("^mtstates "), "_VERSION " .. mtstates._VERSION)
    T.check(mtstates._INFO:match("^atomic:.+,thread:.+$"), "_INFO " .. mtstates._INFO)
    local names = {}
    for k, v in pairs(mtstates.error) do
        names[#names + 1] = k
        T.eq(v, "mtstates.error." .. k)
    end
    table.sort(names)
    T.eq(table.concat(names, ","),
         "ambiguous_name,concurrent_access,interrupted,invoking_state,object_closed,out_of_memory,"
             .. "state_result,unknown_object",
         "exactly the 8 error names")
    T.eq(mtstates.error.state_result, "mtstates.error.state_result")

    local s = mtstates.newstate("return function() return 3 end")
    T.eq(getmetatable(s), "mtstates.state")
    T.eq(mtstates.type(s), "mtstates.state")
    T.eq(mtstates.type(1), "number")
    T.eq(mtstates.type(nil), "nil")
    T.eq(mtstates.type("x"), "string")
    T.eq(mtstates.type({}), "table")
    T.eq(mtstates.type(print), "function")
    -- only 5.3+ give metatables a __name (luaL_newmetatable)
    T.eq(mtstates.type(io.stdout), T.has_integers and "FILE*" or "userdata")
    T.eq(mtstates.type(coroutine.create(function() end)), "thread")
    T.eq(mtstates.type(require("mtmsg").newbuffer()), "mtmsg.buffer")
    T.raises(function() mtstates.type() end, "bad argument #1")
    T.eq(type(s:id()), "number")
    T.check(math.floor(s:id()) == s:id() and s:id() >= 0, "id is a non-negative integer")
    T.eq(s:isowner(), true)
    T.check(none(s:name()), "no name")
    T.check(tostring(s):match("^mtstates%.state: 0x%x+ %(id=" .. s:id() .. "%)$"), "tostring " .. tostring(s))
    local n = mtstates.newstate("q\"\\x", "return function() end")
    T.eq(n:name(), "q\"\\x")
    T.check(tostring(n):match("^mtstates%.state: 0x%x+ %(name=\"q\\\"\\\\x\",id=" .. n:id() .. "%)$"),
        "tostring " .. tostring(n))
    -- ids are consecutive
    local a = mtstates.newstate("return function() end")
    local b = mtstates.newstate("return function() end")
    T.eq(b:id(), a:id() + 1, "consecutive ids")
    -- methods check self
    T.raises(function() s.call({}) end, "mtstates.state expected")
    T.raises(function() s.id(nil) end, "mtstates.state expected")
end

-- ---------------------------------------------------------------- [86] [87] argument parsing
do
    argerr(function() mtstates.newstate() end, 1, NEWSTATE, "lua function expected")
    argerr(function() mtstates.newstate(nil) end, 1, NEWSTATE, "lua function expected")
    T.raises(function() mtstates.newstate("foo") end, "bad argument #1")
    T.raises(function() mtstates.newstate("foo") end, "[string \"foo\"]:1:")
    T.raises(function() mtstates.newstate("foo", "xxx") end, "bad argument #2")
    T.raises(function() mtstates.newstate("foo", true, "xxx") end, "bad argument #3")
    T.raises(function() mtstates.newstate("foo", true, "xxx", "foo2") end, "bad argument #3")
    argerr(function() mtstates.newstate("foo", true, 2, "foo2") end, 3, NEWSTATE, "lua function expected")
    argerr(function() mtstates.newstate("foo", true, mtstates.newstate, "foo2") end, 3, NEWSTATE,
        "lua function expected")
    argerr(function() mtstates.newstate(print) end, 1, NEWSTATE, "lua function expected")
    argerr(function() mtstates.newstate(mtstates.newstate) end, 1, NEWSTATE, "lua function expected")
    argerr(function() mtstates.newstate("n", false) end, 3, NEWSTATE, "lua function expected")
    argerr(function() mtstates.newstate("code", 1) end, 2, NEWSTATE, "lua function expected")
    argerr(function() mtstates.newstate({}) end, 1, NEWSTATE, "lua function expected")
    -- load errors: the message with the inner traceback inside the parentheses
    local err = T.raises(function() mtstates.newstate(nil, "return +") end, "bad argument #2")
    T.check(err:sub(-#C_TB - 1) == C_TB .. ")", "load error with inner traceback: " .. err)
    T.check(err:find("[string \"return +\"]:1:", 1, true), "chunk name is the code: " .. err)
    -- the chunk name is the code text itself (first line)
    local err = T.raises(function() mtstates.newstate("local x = 1\nerror('in setup')") end, "in setup")
    T.check(err:find("[string \"local x = 1...\"]:2: in setup", 1, true), err)
end

-- ---------------------------------------------------------------- [88] upvalues
do
    local up = 1
    argerr(function() mtstates.newstate(function() return up end) end, 1, NEWSTATE, "state function uses upvalue 'up'")
    argerr(function() mtstates.newstate("n", true, function() return up end) end, 3, NEWSTATE,
        "state function uses upvalue 'up'")
    -- globals only: accepted
    local s = mtstates.newstate(function() return function() return tostring(print ~= nil) end end)
    T.eq(s:call(), "true")
    -- [95] globals of the creating state are not visible
    -- luacheck: push globals GLOBAL_VAR_OF_CREATOR (a global of this state, on purpose)
    GLOBAL_VAR_OF_CREATOR = 1
    T.raises(function()
        mtstates.newstate(function() return function() end, GLOBAL_VAR_OF_CREATOR + 1 end)
    end, "mtstates.error.invoking_state: ")
    GLOBAL_VAR_OF_CREATOR = nil
    -- luacheck: pop
end

-- ---------------------------------------------------------------- [89] [90] names and results
do
    local r = T.pack(mtstates.newstate("return function(x) return x + 2 end, 4, 5"))
    T.eq(r.n, 3)
    T.eq(mtstates.type(r[1]), "mtstates.state")
    T.results(T.pack(r[2], r[3]), 4, 5)
    T.check(none(r[1]:name()), "single string argument: no name")
    T.eq(r[1]:call(40), 42)

    T.check(none(mtstates.newstate(nil, "return function() end"):name()), "nil name")
    T.eq(mtstates.newstate("n", "return function() end"):name(), "n")
    T.check(none(mtstates.newstate(true, function() return function() end end):name()), "libs true, no name")
    T.check(none(mtstates.newstate(false, function() return function() end end):name()), "libs false, no name")
    T.eq(mtstates.newstate("n2", false, "return function() end"):name(), "n2")

    -- code with arguments needs the name slot
    local s, a, b = mtstates.newstate(nil, "local x, y = ... return function() return x, y end, y, x", 7, "s")
    T.results(T.pack(s:call()), 7, "s")
    T.eq(a, "s")
    T.eq(b, 7)
    -- function setup with arguments and results of every transferable kind
    local p = T.pack(mtstates.newstate(function(...)
        local args = { n = select("#", ...), ... }
        local unpack = table.unpack or _G.unpack
        return function() return unpack(args, 1, args.n) end, ...
    end, nil, true, false, 1, 2.5, "x\0y", -0.0))
    T.eq(p.n, 8)
    T.results(T.pack(unpack(p, 2, p.n)), nil, true, false, 1, 2.5, "x\0y", -0.0)
    T.results(T.pack(p[1]:call()), nil, true, false, 1, 2.5, "x\0y", -0.0)
    if T.has_integers then
        T.eq(math.type(p[5]), "integer")
        T.eq(math.type(p[6]), "float")
        local s = mtstates.newstate(function() return function(...) return ... end end)
        T.eq(math.type(s:call(1.0)), "float", "1.0 stays float")
        T.eq(math.type(s:call(3)), "integer")
        T.eq(1 / s:call(-0.0), -math.huge, "-0.0 keeps its sign")
        T.eq(s:call(math.maxinteger), math.maxinteger)
        T.eq(s:call(math.mininteger), math.mininteger)
    else
        T.eq(1 / p[8], math.huge, "5.1/5.2: -0.0 passes as integer 0")
    end
    local s = mtstates.newstate(function() return function(...) return ... end end)
    T.check(none(s:call()), "nothing in, nothing out")
    -- light userdata (the same pointer comes back): a vtable pointer from
    -- capitest, on every Lua version (5.1 has no debug.upvalueid)
    local capitest = require "capitest"
    local lud = capitest.capi_info(require("mtmsg").newbuffer(), "_capi_notify").vtable
    T.eq(type(lud), "userdata")
    local vt = T.pack(s:call(lud, 1, lud))
    T.eq(vt.n, 3)
    T.check(vt[1] == lud and vt[3] == lud, "light userdata: the same pointer comes back")
    T.eq(vt[2], 1)
    -- zero results
    T.check(none(mtstates.newstate("return function() end"):call()), "zero results")
end

-- ---------------------------------------------------------------- [91] libs
do
    local s = mtstates.newstate(function()
        return function() return type(table), type(string), type(debug), type(io), type(os), type(math) end
    end)
    T.results(T.pack(s:call()), "table", "table", "table", "table", "table", "table")
    local s = mtstates.newstate(false, function()
        return function(what)
            if what == "before" then
                return type(string), type(debug), type(io), type(package), type(require), type(print),
                       type(coroutine), package.loaded.string == nil
            else
                local string = require("string")
                local debug = require("debug")
                local tab = require("table")
                local math = require("math")
                return string.format("%d", 42), type(debug.traceback), tab.concat({ 1, 2 }, "-"), math.floor(2.5)
            end
        end
    end)
    local r = T.pack(s:call("before"))
    T.results(T.pack(unpack(r, 1, 6)), "nil", "nil", "nil", "table", "function", "function")
    if not (T.lua51 or T.luajit) then
        T.eq(r[7], "nil", "coroutine nil until required")
        T.eq(r[8], true, "package.loaded.string is nil")
        T.eq(s:call(), "42") -- (first result only)
        local c = mtstates.newstate(false,
            "return function() return type(coroutine), type(require('coroutine').create) end")
        T.results(T.pack(c:call()), "nil", "function")
    end
    T.results(T.pack(s:call("after")), "42", "function", "1-2", 2)
end

-- ---------------------------------------------------------------- [92] [93] setup results
do
    local err = raises_plain(function() mtstates.newstate(function() end) end, "mtstates.error.state_result: ")
    T.check(err:find("state setup function returned nothing but a function is required as first result parameter",
        1, true), err)
    T.check(err:find("stack traceback:", 1, true), "inner traceback: " .. err)
    local err = raises_plain(function() mtstates.newstate(function() return 1 end) end, "mtstates.error.state_result: ")
    T.check(err:find("returned number but a function", 1, true), err)
    T.check(not err:find("invoking_state", 1, true), "state_result is not wrapped: " .. err)
    local err = raises_plain(function() mtstates.newstate("return {}") end, "mtstates.error.state_result: ")
    T.check(err:find("returned table but", 1, true), err)
    -- README: err:match(mtstates.error.state_result)
    local _, err = pcall(function() mtstates.newstate(function() end) end)
    T.check(err:match(mtstates.error.state_result), "README state_result example")

    local err = raises_plain(function()
        mtstates.newstate(function() return function() end, "", {coroutine.create(function() end)} end)
    end, "mtstates.error.state_result: ")
    T.check(err:find("state setup function returned bad parameter #3: type 'thread' not supported at key 1", 1, true),
        err)
    T.check(err:sub(-#C_TB) == C_TB, "inner traceback: " .. err)
    raises_plain(function() mtstates.newstate(function() return function() end, print end) end,
        "mtstates.error.state_result: state setup function returned bad parameter #2: type 'function' not supported")
    -- C function as callback works
    local s = mtstates.newstate("return tostring")
    T.eq(s:call(12), "12", "C function as callback")
    local s = mtstates.newstate("return select")
    T.results(T.pack(s:call(2, "a", "b")), "b")
end

-- ---------------------------------------------------------------- [94] [96] setup errors
do
    local line = debug.getinfo(1, "l").currentline + 1
    local err = raises_plain(function() mtstates.newstate(function() error("boom") end) end,
        "mtstates.error.invoking_state: ")
    local src = debug.getinfo(1, "S").short_src
    T.check(err:find("mtstates.error.invoking_state: " .. src .. ":" .. line .. ": boom\nstack traceback:", 1, true),
        err)
    -- "in function 'error'" (5.4) or "in global 'error'" (5.5)
    T.check(err:find("in %a+ 'error'"), "inner traceback from the erroring function: " .. err)
    local err = raises_plain(function() mtstates.newstate(function() error({}) end) end,
        "mtstates.error.invoking_state: ")
    T.check(err:find("mtstates.error.invoking_state: (error object is a table value)\nstack traceback:", 1, true), err)
    T.raises_exactly(function()
        mtstates.newstate(function() error(setmetatable({}, { __tostring = function() return "TS" end })) end)
    end, "mtstates.error.invoking_state: TS")
    raises_plain(function() mtstates.newstate(function() error(42, 0) end) end,
        "mtstates.error.invoking_state: 42\nstack traceback:")
    -- an inner state's state_result inside a setup: wrapped in invoking_state
    local err = raises_plain(function()
        mtstates.newstate(function()
            local mtstates = require "mtstates"
            mtstates.newstate(function() return function() end, print end)
            return function() end
        end)
    end, "mtstates.error.invoking_state: ")
    T.check(err:find("mtstates.error.state_result", 1, true), err)
    -- unsupported setup arguments
    argerr(function() mtstates.newstate(nil, "return function() end", 1, {x = {print}}) end, 4, NEWSTATE,
        "type 'function' not supported at key \"x\" > 1" .. C_TB)
    argerr(function() mtstates.newstate(function() return function() end end, print) end, 2, NEWSTATE,
        "type 'function' not supported" .. C_TB)
    argerr(function() mtstates.newstate(function() return function() end end, coroutine.create(function() end)) end,
        2, NEWSTATE, "type 'thread' not supported" .. C_TB)
    argerr(function() mtstates.newstate(function() return function() end end, io.stdout) end, 2, NEWSTATE,
        "type 'userdata' not supported" .. C_TB)
    argerr(function() mtstates.newstate(function() return function() end end, mtstates.newstate("return print")) end, 2,
        NEWSTATE, "type 'userdata' not supported" .. C_TB)
end

-- ---------------------------------------------------------------- [97] [98] [99] call errors and results
do
    local s = mtstates.newstate(function()
        return function(cmd, ...)
            if cmd == "err" then error("cb failed") end
            if cmd == "tab" then return {f = print} end
            if cmd == "obj" then
                local mtstates = require "mtstates"
                return mtstates.id(), mtstates.newstate("return print")
            end
            return ...
        end
    end)
    argerr(function() s:call("x", 2, {{}, {print}}) end, 3, "call",
        "type 'function' not supported at key 2 > 1" .. C_TB)
    argerr(function() s:call(1, coroutine.create(function() end)) end, 2, "call", "type 'thread' not supported" .. C_TB)
    T.raises(function() s:call(print) end, "type 'function' not supported")
    argerr(function() s:tcall(1, "x", {[print] = 1}) end, 3, "tcall", "type 'function' not supported as a key" .. C_TB)
    local err = raises_plain(function() s:call("tab") end,
        "mtstates.error.state_result: state callback function returned bad parameter #1: "
            .. "type 'function' not supported at key \"f\"")
    T.check(err:sub(-#C_TB) == C_TB, err)
    raises_plain(function() s:call("obj") end,
        "mtstates.error.state_result: state callback function returned bad parameter #2: type 'userdata' not supported")
    local err = raises_plain(function() s:call("err") end,
        "mtstates.error.invoking_state: mtstates.state(id=" .. s:id() .. "): ")
    T.check(err:find("cb failed\nstack traceback:", 1, true), err)
    T.check(err:find("\n\t%[C%]: [^\n]*$"), "traceback ends in C: " .. err)
    local n = mtstates.newstate("q", "return function() error('x', 0) end")
    raises_plain(function() n:call() end,
        "mtstates.error.invoking_state: mtstates.state(name=\"q\",id=" .. n:id() .. "): x\nstack traceback:")
    -- the state stays usable after errors
    T.results(T.pack(s:call("echo", 1, "2")), 1, "2")
    -- many values
    local many = {}
    for i = 1, 300 do many[i] = i end
    local r = T.pack(s:call("echo", unpack(many)))
    T.eq(r.n, 300)
    T.eq(r[300], 300)
end

-- ---------------------------------------------------------------- [100] close
do
    local s = mtstates.newstate("c", "return function() return 1 end")
    local id = s:id()
    local r = mtstates.state(id)
    s:close()
    local closed = "mtstates.error.object_closed: mtstates.state(name=\"c\",id=" .. id .. ")"
    T.raises_exactly(function() s:call() end, closed)
    T.raises_exactly(function() s:tcall(0) end, closed)
    T.raises_exactly(function() s:tcall(1) end, closed)
    T.raises_exactly(function() r:call() end, closed)
    T.raises_exactly(function() s:interrupt() end, closed)
    T.raises_exactly(function() s:interrupt(false) end, closed)
    T.eq(s:id(), id)
    T.eq(s:name(), "c")
    T.eq(s:isowner(), true)
    T.eq(r:isowner(), false)
    T.check(tostring(s):find("(name=\"c\",id=" .. id .. ")", 1, true), tostring(s))
    s:close()
    r:close()
    T.raises_exactly(function() mtstates.state(id) end, "mtstates.error.unknown_object: state id " .. id)
    T.raises_exactly(function() mtstates.state("c") end, "mtstates.error.unknown_object: state name \"c\"")
    -- a non-owning reference may close too
    local s = mtstates.newstate("return function() return 1 end")
    mtstates.state(s:id()):close()
    T.raises(function() s:call() end, "mtstates.error.object_closed")
end

-- ---------------------------------------------------------------- [101] tcall
do
    local s = mtstates.newstate("local c = 0 return function(x) c = c + 1 return c + 100, x end")
    T.results(T.pack(s:tcall(0)), true, 101, nil)
    T.results(T.pack(s:tcall(-1, 5)), true, 102, 5)
    T.results(T.pack(s:tcall(1, 100)), true, 103, 100)
    T.results(T.pack(s:tcall("0.5", 1)), true, 104, 1)
    argerr(function() s:tcall() end, 1, "tcall", "number expected, got no value")
    T.raises(function() s:tcall("x") end, "bad argument #1 to 'tcall' (number expected, got string)")
    T.raises(function() s:tcall({}) end, "number expected")
    local e = mtstates.newstate("return function() end")
    T.results(T.pack(e:tcall(0)), true)
end

-- ---------------------------------------------------------------- [103] close from inside
do
    local s = mtstates.newstate(function()
        local mtstates = require "mtstates"
        return function(id) if id then mtstates.state(id):close() end return "ok" end
    end)
    local err = raises_plain(function() s:call(s:id()) end,
        "mtstates.error.invoking_state: mtstates.state(id=" .. s:id() .. "): ")
    T.check(err:find("mtstates.error.concurrent_access: mtstates.state(id=" .. s:id() .. ")", 1, true), err)
    T.eq(s:call(), "ok", "still usable")
    s:close()
end

-- ---------------------------------------------------------------- [104] [105] interrupt on an idle state
do
    local s = mtstates.newstate("return function(x) return x + 1 end")
    s:interrupt()
    T.raises_exactly(function() s:call(1) end,
        "mtstates.error.invoking_state: mtstates.state(id=" .. s:id() .. "): mtstates.error.interrupted")
    T.eq(s:call(1), 2, "once")
    s:interrupt(nil)
    T.raises(function() s:call(1) end, "mtstates.error.interrupted")
    T.eq(s:call(2), 3)
    argerr(function() s:interrupt("") end, 1, "interrupt", "boolean expected")
    argerr(function() s:interrupt(1) end, 1, "interrupt", "boolean expected")
    argerr(function() s:interrupt({}) end, 1, "interrupt", "boolean expected")
    s:interrupt(true)
    for _ = 1, 4 do
        T.raises(function() s:call(1) end, "mtstates.error.interrupted")
    end
    T.raises(function() s:tcall(0, 1) end, "mtstates.error.interrupted")
    s:interrupt(false)
    T.eq(s:call(4), 5)
    T.eq(s:call(5), 6)
    s:interrupt(false)
    T.eq(s:call(6), 7)
end

-- ---------------------------------------------------------------- [106] interrupt caught inside the callback
do
    local s = mtstates.newstate(function()
        local mtstates = require "mtstates"
        -- LuaJIT runs no hooks in compiled code
        if jit then jit.off() end
        return function(id)
            local ok, err = pcall(function()
                mtstates.state(id):interrupt()
                local i = 0
                while true do i = i + 1 end
            end)
            return ok, err
        end
    end)
    local ok, err = s:call(s:id())
    T.eq(ok, false)
    T.check(tostring(err):find("mtstates.error.interrupted", 1, true), tostring(err))
    T.check(not tostring(err):find("invoking_state", 1, true), tostring(err))
    T.eq(select(1, s:call(0 + s:id())) == false, true, "interrupts again (once each time)")
end

-- ---------------------------------------------------------------- [107] mtstates.id()
do
    T.eq(mtstates.id(), nil)
    local s, during = mtstates.newstate(function()
        local mtstates = require "mtstates"
        return function() return mtstates.id() end, mtstates.id()
    end)
    T.eq(during, s:id(), "id during setup")
    T.eq(s:call(), s:id(), "id in the callback")
    if T.has_integers then T.eq(math.type(s:call()), "integer") end
    local s = mtstates.newstate(false, "return function() return require('mtstates').id() end")
    T.eq(s:call(), s:id(), "id with libs false")
    -- a coroutine inside the state sees the same id
    local s = mtstates.newstate(
        "return function() return coroutine.wrap(function() return require('mtstates').id() end)() end")
    T.eq(s:call(), s:id())
end

-- ---------------------------------------------------------------- [108] [109] [110] [111] singleton
do
    local setup = "local n = 0 return function() n = n + 1 return n end, 'extra'"
    local r1 = T.pack(mtstates.singleton("sgl", setup))
    T.eq(r1.n, 2, "created: state plus extra results")
    T.eq(r1[2], "extra")
    local s1 = r1[1]
    local r2 = T.pack(mtstates.singleton("sgl", setup))
    T.eq(r2.n, 1, "found: only the state")
    local s2 = r2[1]
    T.eq(s2:id(), s1:id())
    T.eq(s1:isowner(), true)
    T.eq(s2:isowner(), true)
    T.eq(mtstates.state("sgl"):id(), s1:id())
    T.eq(s1:call(), 1)
    T.eq(s2:call(), 2, "same interpreter")
    -- setup arguments are ignored when found (even invalid ones)
    T.eq(mtstates.singleton("sgl"):call(), 3)
    T.eq(mtstates.singleton("sgl", {}):call(), 4)
    -- owning by id
    local r = mtstates.state(s1:id())
    T.eq(r:isowner(), false)
    local o = mtstates.singleton(s1:id())
    T.eq(o:isowner(), true)
    T.eq(o:id(), s1:id())
    -- [111] first argument always the name; missing setup is a bad argument
    argerr(function() mtstates.singleton("sgl-missing") end, 2, SINGLETON, "lua function expected")
    T.raises(function() mtstates.singleton("sgl-missing", "syntax error here") end, "bad argument #2")
    argerr(function() mtstates.singleton("sgl-missing", true, 1) end, 3, SINGLETON, "lua function expected")
    local s, x = mtstates.singleton("sgl-new", false, function(a) return function() return a end, a end, 9)
    T.eq(s:name(), "sgl-new")
    T.eq(s:call(), 9)
    T.eq(x, 9)
    argerr(function() mtstates.singleton() end, 1, SINGLETON, "state name or id expected")
    argerr(function() mtstates.singleton(nil, "return print") end, 1, SINGLETON, "state name or id expected")
    argerr(function() mtstates.singleton(1.5) end, 1, SINGLETON, "state name or id expected")
    argerr(function() mtstates.singleton({}) end, 1, SINGLETON, "state name or id expected")
    T.raises_exactly(function() mtstates.singleton(s1:id() + 100000) end,
        "mtstates.error.unknown_object: state id " .. (s1:id() + 100000))

    -- [109] duplicate names
    local a = mtstates.newstate("dup", "return function() return 'a' end")
    local b = mtstates.newstate("dup", "return function() return 'b' end")
    T.raises_exactly(function() mtstates.singleton("dup", "return function() return 'new' end") end,
        "mtstates.error.ambiguous_name: state name \"dup\"")
    T.raises_exactly(function() mtstates.state("dup") end, "mtstates.error.ambiguous_name: state name \"dup\"")
    a:close()
    T.eq(mtstates.singleton("dup", "return function() return 'new' end"):call(), "b")
    b:close()
    local c = mtstates.singleton("dup", "return function() return 'new' end")
    T.eq(c:call(), "new")
    T.eq(mtstates.state("dup"):call(), "new")

    -- a failed creation leaves nothing behind
    T.raises(function() mtstates.singleton("sgl-fail", "error('no')") end, "mtstates.error.invoking_state")
    T.raises(function() mtstates.state("sgl-fail") end, "mtstates.error.unknown_object")
    T.eq(mtstates.singleton("sgl-fail", "return function() return 'ok' end"):call(), "ok")

    -- singleton of a state's own name inside its setup would wait for itself
    local err = T.raises(function()
        mtstates.singleton("sgl-self", function()
            require("mtstates").singleton("sgl-self", "return print")
            return function() end
        end)
    end, "mtstates.error.invoking_state")
    T.check(err:find("mtstates.error.concurrent_access", 1, true), err)
end

-- ---------------------------------------------------------------- state() lookup errors
do
    argerr(function() mtstates.state() end, 1, "state", "state name or id expected")
    argerr(function() mtstates.state(true) end, 1, "state", "state name or id expected")
    argerr(function() mtstates.state(2.5) end, 1, "state", "state name or id expected")
    T.raises_exactly(function() mtstates.state("no such state") end,
        "mtstates.error.unknown_object: state name \"no such state\"")
    T.raises_exactly(function() mtstates.state("a\0b\"") end,
        "mtstates.error.unknown_object: state name \"a\\0b\\\"\"")
end

-- ---------------------------------------------------------------- inner tracebacks without the debug library
do
    -- libs false: no debug library in the state (5.1 builds the traceback itself)
    local s = mtstates.newstate(false, "local function f() error('fb') end return function() f() end")
    local err = T.raises(function() s:call() end, "fb\nstack traceback:\n\t[C]: in ")
    T.check(err:find("fb\nstack traceback:\n\t%[C%]: in %a+ 'error'\n\t"), err) -- function (5.4) / global (5.5)
    T.check(err:find("in function <[string \"local function f() error('fb')", 1, true), err)
    T.check(err:find("\n\t%[C%]: [^\n]*$"), "ends in C: " .. err)
end

-- ---------------------------------------------------------------- [113] [114] nested calls
do
    local s = mtstates.newstate(function()
        local mtstates = require "mtstates"
        local list = {}
        return function(cmd, arg)
            if cmd == "add" then list[#list + 1] = arg
            elseif cmd == "add2" then
                local me = mtstates.state(mtstates.id())
                me:call("add", arg)
                me:call("add", arg)
                return me:call("get")
            elseif cmd == "bad" then
                return mtstates.state(mtstates.id()):call("add", print)
            elseif cmd == "get" then return table.concat(list, ",")
            elseif cmd == "tcall" then
                return mtstates.state(mtstates.id()):tcall(0, "get")
            end
        end
    end)
    T.eq(s:call("add2", "x"), "x,x")
    T.results(T.pack(s:call("tcall")), true, "x,x")
    local err = raises_plain(function() s:call("bad") end,
        "mtstates.error.invoking_state: mtstates.state(id=" .. s:id() .. "): ")
    T.check(err:find("bad argument #2 to 'call' (type 'function' not supported)", 1, true)
        or (T.luajit and err:find("(type 'function' not supported)", 1, true)), err)

    -- s1 -> s2 -> s1 on one thread
    local s1 = mtstates.newstate(function()
        local mtstates = require "mtstates"
        local n = 0
        return function(cmd, other)
            if cmd == "inc" then n = n + 1 return n end
            return mtstates.state(other):call("via", mtstates.id())
        end
    end)
    local s2 = mtstates.newstate(function()
        local mtstates = require "mtstates"
        return function(_cmd, back)
            return mtstates.state(back):call("inc") * 10
        end
    end)
    T.eq(s1:call("go", s2:id()), 10)
    T.eq(s1:call("go", s2:id()), 20)
    -- nested error wrapping
    local inner = mtstates.newstate("i", "return function() error('deep', 0) end")
    local outer = mtstates.newstate("o", function()
        local mtstates = require "mtstates"
        return function(id) return mtstates.state(id):call() end
    end)
    raises_plain(function() outer:call(inner:id()) end,
        "mtstates.error.invoking_state: mtstates.state(name=\"o\",id=" .. outer:id() .. "): "
            .. "mtstates.error.invoking_state: mtstates.state(name=\"i\",id=" .. inner:id() .. "): "
            .. "deep\nstack traceback:")
end

-- ---------------------------------------------------------------- [115] ownership (README unknown_object example)
do
    local s1 = mtstates.newstate("return function() return 3 end")
    local id = s1:id()
    local s2 = mtstates.state(id)
    local s3 = mtstates.state(id)
    T.eq(s1:isowner(), true)
    T.eq(s2:isowner(), false)
    T.eq(s3:isowner(), false)
    s2 = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.eq(s3:call(), 3)
    T.eq(mtstates.state(id):id(), id)
    s1 = nil -- luacheck: ignore 311 (GC drop)
    collect()
    local _, err = pcall(function() s3:call() end)
    T.check(err:match(mtstates.error.object_closed), err)
    local _, err = pcall(function() mtstates.state(id) end)
    T.check(err:match(mtstates.error.unknown_object), err)
    T.eq(s3:id(), id)

    -- a state holding a non-owning reference to itself
    local s = mtstates.newstate(function()
        local mtstates = require "mtstates"
        local me
        return function(_cmd)
            me = me or mtstates.state(mtstates.id())
            return me:id()
        end
    end)
    local id = s:id()
    T.eq(s:call(), id)
    local r = mtstates.state(id)
    s = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.raises(function() r:call() end, "mtstates.error.object_closed")
    T.raises(function() mtstates.state(id) end, "mtstates.error.unknown_object")

    -- two owners: the state lives until both are gone
    local a = mtstates.singleton("own2", "return function() return 'alive' end") -- luacheck: ignore 231 (an owner)
    local b = mtstates.singleton("own2", "return function() return 'new' end") -- luacheck: ignore 231 (an owner)
    local r = mtstates.state("own2")
    a = nil
    collect()
    T.eq(r:call(), "alive")
    b = nil
    collect()
    T.raises(function() r:call() end, "mtstates.error.object_closed")
    T.eq(mtstates.singleton("own2", "return function() return 'new' end"):call(), "new")

    -- last owner collected while its call runs: closed right after the call
    local X = mtstates.newstate(function()
        local mtstates = require "mtstates"
        local owner = mtstates.singleton("pending-close", function() -- luacheck: ignore 231 (held, then dropped)
            local mtstates = require "mtstates"
            return function(xid)
                local me = mtstates.state(mtstates.id())
                local r = mtstates.state(xid):call("drop")
                -- closed meanwhile: not findable, and even this thread's
                -- nested call is refused
                local ok, err = pcall(function() return mtstates.state(mtstates.id()) end)
                local ok2, err2 = pcall(function() return me:call() end)
                return "finished:" .. tostring(r), ok, err, ok2, err2
            end
        end)
        return function(cmd)
            if cmd == "drop" then
                owner = nil
                collectgarbage()
                collectgarbage()
                return "dropped"
            end
        end
    end)
    local S = mtstates.state("pending-close")
    local r = T.pack(S:call(X:id()))
    T.eq(r[1], "finished:dropped", "the running call completes")
    T.eq(r[2], false, "not findable any more")
    T.check(tostring(r[3]):find("mtstates.error.unknown_object", 1, true), tostring(r[3]))
    T.eq(r[4], false)
    T.check(tostring(r[5]):find("mtstates.error.object_closed", 1, true), tostring(r[5]))
    T.raises(function() S:call(X:id()) end, "mtstates.error.object_closed: mtstates.state(name=\"pending-close\"")
end

-- ---------------------------------------------------------------- [116] carrays
local carray = require "carray" -- built with every test build: never skipped
do
    local s = mtstates.newstate(function(a)
        local first = a
        return function(arr, v)
            if v then arr:set(1, v) end
            return arr, first
        end
    end, carray.new("int", 3))
    local a = carray.new("int", 3)
    a:set(1, 7, 8, 9)
    local b, first = s:call(a, 100)
    T.check(b ~= a, "a new array comes back")
    T.eq(mtstates.type(b), "carray")
    T.results(T.pack(a:get(1, 3)), 7, 8, 9)
    T.results(T.pack(b:get(1, 3)), 100, 8, 9)
    T.eq(b:type(), "int")
    T.eq(first:len(), 3)
    -- element types survive
    for _, t in ipairs { "unsigned char", "double", "short", "unsigned long long", "float" } do
        local x = carray.new(t, 2)
        x:set(1, 1, 2)
        local y = s:call(x)
        T.eq(y:type(), x:type(), t)
        T.results(T.pack(y:get(1, 2)), 1, 2)
    end
    local empty = s:call(carray.new("int"))
    T.eq(empty:len(), 0)
    -- a read-only array arrives writable
    local ro = carray.new("int", 1):readonly()
    local w = s:call(ro)
    T.eq(w:isreadonly(), false)
    -- setup results
    local s2, arr = mtstates.newstate(function()
        local c = require "carray" local x = c.new("double", 2) x:set(1, 0.5, 1.5) return function() return x end, x
    end)
    T.results(T.pack(arr:get(1, 2)), 0.5, 1.5)
    T.results(T.pack(s2:call():get(1, 2)), 0.5, 1.5)
end

-- ---------------------------------------------------------------- README second example shape, no threads
do
    local state = mtstates.newstate(function()
        local list = {}
        local cmds = {
            add = function(arg) list[#list + 1] = arg end,
            get = function() return table.concat(list, " ") end
        }
        return function(cmd, ...)
            return cmds[cmd](...)
        end
    end)
    state:call("add", "Hello")
    mtstates.state(state:id()):call("add", "World")
    T.eq(state:call("get"), "Hello World")
end

T.done("mtstates_basic")
