-- A ">" notifier cycle between buffers: b:notifier(b, ">"), or a -> b -> a.
-- Each addmsg notifies the next buffer, whose notify adds an empty message,
-- which notifies the next one, and so on without end. The original C module
-- also recursed without bound (spec capi.md §3.4: "do not rely on it"); but
-- a Lua program must not be able to crash the process: the expected outcome
-- is a result or an error string (e.g. a notifier error raised by addmsg,
-- or the connection being refused).
--
-- Known failure (reported): the process aborts with "thread 'main' has
-- overflowed its stack" (SIGABRT): core::buffer::Buffer::put -> notify ->
-- capi::buffer::notify -> Buffer::put -> ... recurses without a depth limit.
-- Each case runs in a child interpreter so that the crash is reported
-- instead of killing this script.
local S = require "stresslib"

S.start("notifier_cycle")

local CASES = {
    { "self >", [[
        local mtmsg = require "mtmsg"
        local b = mtmsg.newbuffer()
        local ok, err = pcall(b.notifier, b, b, ">")
        if ok then ok, err = pcall(b.addmsg, b, 1) end
        print("survived", ok, (tostring(err):gsub("\n.*", "")))
    ]] },
    { "a > b > a", [[
        local mtmsg = require "mtmsg"
        local a, b = mtmsg.newbuffer(), mtmsg.newbuffer()
        local ok, err = pcall(a.notifier, a, b, ">")
        if ok then ok, err = pcall(b.notifier, b, a, ">") end
        if ok then ok, err = pcall(a.addmsg, a, 1) end
        print("survived", ok, (tostring(err):gsub("\n.*", "")))
    ]] },
    { "listener buffers a > b > a", [[
        local mtmsg = require "mtmsg"
        local l = mtmsg.newlistener()
        local a, b = l:newbuffer(), l:newbuffer()
        local ok, err = pcall(a.notifier, a, b, ">")
        if ok then ok, err = pcall(b.notifier, b, a, ">") end
        if ok then ok, err = pcall(a.addmsg, a, 1) end
        print("survived", ok, (tostring(err):gsub("\n.*", "")))
    ]] },
}

local interp = arg and arg[-1]
local crashed = 0
for _, case in ipairs(CASES) do
    local path = os.tmpname()
    local f = io.open(path, "w")
    f:write(case[2])
    f:close()
    local p = io.popen(string.format("'%s' '%s' 2>&1; echo \"exit=$?\"", interp, path))
    local out = p:read("*a")
    p:close()
    os.remove(path)
    local survived = out:match("survived[^\n]*")
    local exit = out:match("exit=(%d+)")
    S.report(case[1], { "exit", exit, "outcome", survived and ("[" .. survived .. "]") or
        ("[" .. (out:match("([^\n]*overflow[^\n]*)") or out:gsub("\n", " | "):sub(1, 120)) .. "]") })
    if not (survived and exit == "0") then crashed = crashed + 1 end
end
S.check(crashed == 0, crashed .. " notifier cycle case(s) crashed the process")
S.finish()
