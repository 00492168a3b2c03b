-- Helpers shared by the buffer_*_test.lua scripts (not a test itself: only
-- files ending in _test.lua are run).
local T = require "testlib"
local mtmsg = require "mtmsg"

local U = {}

U.unpack = table.unpack or unpack

-- Lua versions whose luaL_argerror reliably names the called function.
-- On 5.1 / LuaJIT only "bad argument #n" and "(msg)" are checked.
U.full_argerr = not (T.lua51 or T.luajit)

local function show(s)
    return string.format("%q", tostring(s))
end

-- Expects `f` to raise a standard argument error:
--   "<where>: bad argument #<n> to '<fname>' (<msg>)"
-- `f` must call the function as a statement (NOT `return g()`: a tail call
-- loses the function name).
function U.argerr(f, n, fname, msg)
    local e = T.raises(f, "bad argument #" .. n .. " ")
    T.check(e:find("(" .. msg .. ")", 1, true),
        "error " .. show(e) .. " does not contain " .. show("(" .. msg .. ")"))
    if U.full_argerr then
        local want = "bad argument #" .. n .. " to '" .. fname .. "' (" .. msg .. ")"
        T.check(e:find(want, 1, true), "error " .. show(e) .. " does not contain " .. show(want))
    end
    return e
end

-- Exact text of module errors about a buffer.
function U.bufstr(b)
    local name = b:name()
    if name then
        return 'mtmsg.buffer(name="' .. U.quote(name) .. '",id=' .. b:id() .. ')'
    end
    return "mtmsg.buffer(id=" .. b:id() .. ")"
end

-- Quoting used by the module for names: NUL -> \0, " -> \", \ -> \\.
function U.quote(s)
    return (s:gsub('[%z"\\]', function(c)
        if c == "\0" then return "\\0" end
        return "\\" .. c
    end))
end

function U.closed_err(b)
    return "mtmsg.error.object_closed: " .. U.bufstr(b)
end

function U.size_err(size, limit, b)
    return "mtmsg.error.message_size: message size " .. size .. " exceeds limit of "
        .. limit .. " bytes for " .. U.bufstr(b)
end

U.ABORTED = "mtmsg.error.operation_aborted"

-- Checks that `b` holds exactly the messages in `list` (each a T.pack
-- table), consuming them with nextmsg(0), and is empty afterwards.
function U.expect_msgs(b, list, what)
    what = what and (what .. ": ") or ""
    T.eq(b:msgcnt(), #list, what .. "msgcnt")
    for i, want in ipairs(list) do
        local got = T.pack(b:nextmsg(0))
        T.eq(got.n, want.n, what .. "message " .. i .. ": number of values")
        for k = 1, want.n do
            T.eq(got[k], want[k], what .. "message " .. i .. " value " .. k)
        end
    end
    T.eq(b:msgcnt(), 0, what .. "msgcnt after reading all")
    T.eq(T.pack(b:nextmsg(0)).n, 0, what .. "nothing more")
end

-- Seconds taken by f(...) (wall clock via mtmsg.time) and its packed results.
function U.timed(f, ...)
    local t0 = mtmsg.time()
    local r = T.pack(f(...))
    return mtmsg.time() - t0, r
end

-- Threads (module mtthread). The thread function must not have upvalues.
function U.thread(fn, ...)
    local mtthread = require "mtthread"
    local t = mtthread.new(fn, ...)
    t:start()
    return t
end

-- Joins `t` (waiting at most `timeout` seconds) and returns the packed
-- results of the thread function (without the leading true). If the thread
-- hangs, tries to unblock it (rescue function, then a global abort) so that
-- the process can still exit, and fails.
function U.join(t, timeout, rescue)
    timeout = T.hang_limit(timeout or 20)
    local r = T.pack(t:join(timeout))
    if r[1] ~= true then
        local alive = t:alive()
        if alive then
            if rescue then pcall(rescue) end
            mtmsg.abort(true)
            pcall(t.join, t, 5)
            mtmsg.abort(false)
            error("thread did not finish within " .. timeout .. " s", 2)
        end
        error("thread failed: " .. tostring(r[2]), 2)
    end
    local res = { n = r.n - 1 }
    for i = 2, r.n do res[i - 1] = r[i] end
    return res
end

return U
