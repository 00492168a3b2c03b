-- Helpers shared by the listener / writer / reader / notifier / C API test
-- scripts (not a test script itself).
local T = require "testlib"

local H = {}

H.unpack = table.unpack or unpack

-- Expects an argument error "bad argument #n to 'fname' (msg)".
-- On 5.1/LuaJIT the function name may be reported as '?'; everything else
-- is checked exactly (message in parentheses at the end of the text).
function H.argerr(f, n, fname, msg)
    local err = T.raises(f, "bad argument #" .. n .. " to '")
    local tail = "(" .. msg .. ")"
    T.check(err:sub(-#tail) == tail, "argument error " .. string.format("%q", err) .. " should end with " .. tail)
    local named = err:find("bad argument #" .. n .. " to '" .. fname .. "' ", 1, true)
    if not named and (T.lua51 or T.luajit) then
        named = err:find("bad argument #" .. n .. " to '?' ", 1, true)
    end
    T.check(named, "argument error " .. string.format("%q", err) .. " should name '" .. fname .. "'")
    return err
end

-- Escapes a string for use in a Lua pattern.
function H.pesc(s)
    return (s:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"))
end

-- Checks that the error raised by f is exactly `prefix`, or (when
-- `with_pos`) "<chunk>:<line>: " .. prefix.
function H.raises_pos(f, text)
    local err = T.raises(f, text)
    T.check(err:match("^.+:%d+: " .. H.pesc(text) .. "$"),
        "error " .. string.format("%q", err) .. " should be '<pos>: " .. text .. "'")
    return err
end

function H.collect()
    collectgarbage()
    collectgarbage()
    collectgarbage()
end

-- Threads ------------------------------------------------------------------

local mtmsg = require "mtmsg"

function H.start(f, ...)
    local mtthread = require "mtthread"
    local t = mtthread.new(f, ...)
    t:start()
    return t
end

-- Waits until the thread has finished (at most `secs` seconds, default 8),
-- returns its results; raises if it failed or does not finish in time (then
-- it aborts everything to wake the thread and joins it first).
function H.join(t, secs)
    secs = T.hang_limit(secs or 8)
    -- mtthread's join waits on the thread itself: no polling (a poll loop
    -- has to spin while mtmsg is aborted, and a spinning thread can starve
    -- the others under valgrind's scheduler)
    local r = T.pack(t:join(secs))
    if r[1] == nil and r[2] == "timeout" then
        mtmsg.abort(true)
        pcall(t.join, t, 5)
        mtmsg.abort(false)
        error("thread did not finish within " .. secs .. " s", 2)
    end
    if not r[1] then error("thread failed: " .. tostring(r[2]), 2) end
    return H.unpack(r, 2, r.n)
end

-- Runs f; on failure aborts all mtmsg operations first (so that no helper
-- thread stays blocked forever), then re-raises.
function H.guard(f)
    local ok, err = xpcall(f, debug.traceback)
    if not ok then
        mtmsg.abort(true)
        error(err, 0)
    end
end

return H
