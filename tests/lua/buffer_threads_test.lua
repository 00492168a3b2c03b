-- Buffers across threads (module mtthread): waking a blocked nextmsg by
-- addmsg / setmsg / abort / close / global abort, timeouts in threads,
-- mtmsg.sleep interrupted by mtmsg.abort, several waiters, ids and names
-- across threads.
-- Edge cases (spec/edge-cases.md): 37 (in a thread), 52, 53, 56;
-- spec/mtmsg.md §8 (several waiters), §10 (close wakes waiters), §11, §15.
-- Thread functions have no upvalues (they are moved by string.dump).
local T = require "testlib"
local U = require "buftest_util"
local mtmsg = require "mtmsg"

local ABORTED = U.ABORTED

-- Waits in b:nextmsg([timeout]) after signalling "ready"; returns
-- elapsed, pcall ok, number of values, first two values.
local function waiter(bid, rid, use_timeout, timeout)
    local mtmsg = require "mtmsg"
    local b = mtmsg.buffer(bid)
    local function pk(ok, ...) return ok, select("#", ...), ... end
    mtmsg.buffer(rid):addmsg("ready")
    local t0 = mtmsg.time()
    local ok, n, v1, v2
    if use_timeout then
        ok, n, v1, v2 = pk(pcall(b.nextmsg, b, timeout))
    else
        ok, n, v1, v2 = pk(pcall(b.nextmsg, b))
    end
    return mtmsg.time() - t0, ok, n, v1, v2
end

-- Starts `count` waiters on b and waits until they are (very likely) blocked.
local function start_waiters(b, count, use_timeout, timeout)
    local ready = mtmsg.newbuffer()
    local threads = {}
    for i = 1, count do
        threads[i] = U.thread(waiter, b:id(), ready:id(), use_timeout, timeout)
    end
    for _ = 1, count do
        T.eq(ready:nextmsg(10), "ready", "waiter thread started")
    end
    mtmsg.sleep(0.15)
    return threads
end

local function join_waiter(t, b)
    local r = U.join(t, 10, function() b:close() end)
    return { elapsed = r[1], ok = r[2], n = r[3], v1 = r[4], v2 = r[5] }
end

------------------------------------------------------------------------------
-- README example: buffer passed by id to another thread
------------------------------------------------------------------------------
do
    local buffer = mtmsg.newbuffer()
    local thread = U.thread(function(bufferId)
        local mtmsg = require("mtmsg")
        local buffer = mtmsg.buffer(bufferId)
        return buffer:nextmsg()
    end, buffer:id())
    buffer:addmsg("Hello", "world!")
    T.results(U.join(thread, 10, function() buffer:close() end), "Hello", "world!")
end

------------------------------------------------------------------------------
-- a blocked nextmsg is woken by addmsg / setmsg from another thread
------------------------------------------------------------------------------
do
    local cases = {
        { "nextmsg()", false, nil },
        { "nextmsg(nil)", true, nil },
        { "nextmsg(5)", true, 5 },
    }
    for _, case in ipairs(cases) do
        local what = case[1]
        local b = mtmsg.newbuffer()
        local t = start_waiters(b, 1, case[2], case[3])[1]
        b:addmsg("wake", 7)
        local r = join_waiter(t, b)
        T.eq(r.ok, true, what .. ": no error " .. tostring(r.v1))
        T.eq(r.n, 2, what .. ": two values")
        T.eq(r.v1, "wake", what)
        T.eq(r.v2, 7, what)
        T.check(r.elapsed < 4, what .. ": woken promptly: " .. r.elapsed)
        T.eq(b:msgcnt(), 0, what .. ": message consumed by the thread")
    end
    -- setmsg wakes too
    local b = mtmsg.newbuffer()
    local t = start_waiters(b, 1, false)[1]
    b:setmsg("set")
    local r = join_waiter(t, b)
    T.eq(r.ok, true)
    T.eq(r.v1, "set", "setmsg wakes a waiter")
    -- a listener buffer (shares the listener's lock)
    local l = mtmsg.newlistener()
    local lb = l:newbuffer()
    t = start_waiters(lb, 1, true, 5)[1]
    lb:addmsg("lb")
    r = join_waiter(t, lb)
    T.eq(r.v1, "lb", "listener buffer waiter woken")
    -- an empty message wakes and is delivered as zero values
    b = mtmsg.newbuffer()
    t = start_waiters(b, 1, true, 5)[1]
    b:addmsg()
    r = join_waiter(t, b)
    T.eq(r.ok, true)
    T.eq(r.n, 0, "empty message: zero values")
    T.check(r.elapsed < 4, "empty message woke the waiter: " .. r.elapsed)
    T.eq(b:msgcnt(), 0)
end

------------------------------------------------------------------------------
-- [37] timeouts in a thread; a late message stays queued
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    local ready = mtmsg.newbuffer()
    local t = U.thread(waiter, b:id(), ready:id(), true, 0.4)
    T.eq(ready:nextmsg(10), "ready")
    local r = join_waiter(t, b)
    T.eq(r.ok, true)
    T.eq(r.n, 0, "timed out: zero values")
    T.check(r.elapsed >= 0.38, "waited 0.4 s: " .. r.elapsed)
    T.check(r.elapsed <= 0.4 + 0.25, "returned after 0.4 s: " .. r.elapsed)
    b:addmsg("late")
    T.eq(b:msgcnt(), 1, "late message is kept")
    T.eq(b:nextmsg(0), "late")
end

------------------------------------------------------------------------------
-- abort / close / global abort wake a blocked nextmsg; the waiting thread
-- raises the error
------------------------------------------------------------------------------
do
    for _, mode in ipairs { { false }, { true, 10 } } do
        local label = mode[1] and "nextmsg(10)" or "nextmsg()"

        -- buffer:abort()
        local b = mtmsg.newbuffer()
        local t = start_waiters(b, 1, mode[1], mode[2])[1]
        b:abort()
        local r = join_waiter(t, b)
        T.eq(r.ok, false, label .. " aborted: raises")
        T.eq(r.v1, ABORTED, label .. " aborted: error value")
        T.check(r.elapsed < 4, label .. " woken by abort: " .. r.elapsed)
        b:abort(false)
        b:addmsg("usable")
        T.eq(b:nextmsg(0), "usable", "usable after abort(false)")

        -- abort through another reference made in another thread
        b = mtmsg.newbuffer()
        t = start_waiters(b, 1, mode[1], mode[2])[1]
        local a = U.thread(function(bid)
            local mtmsg = require "mtmsg"
            mtmsg.buffer(bid):abort()
            return true
        end, b:id())
        T.results(U.join(a, 10), true)
        r = join_waiter(t, b)
        T.eq(r.v1, ABORTED, label .. " aborted by another thread")
        T.eq(b:isabort(), true)
        b:abort(false)

        -- buffer:close()
        b = mtmsg.newbuffer("close-wakes")
        t = start_waiters(b, 1, mode[1], mode[2])[1]
        b:close()
        r = join_waiter(t, b)
        T.eq(r.ok, false, label .. " closed: raises")
        T.eq(r.v1, 'mtmsg.error.object_closed: mtmsg.buffer(name="close-wakes",id=' .. b:id() .. ")",
            label .. " closed: error value")
        T.check(r.elapsed < 4, label .. " woken by close: " .. r.elapsed)

        -- listener:close() closes and wakes its buffers' waiters
        local l = mtmsg.newlistener()
        local lb = l:newbuffer()
        t = start_waiters(lb, 1, mode[1], mode[2])[1]
        l:close()
        r = join_waiter(t, lb)
        T.eq(r.v1, U.closed_err(lb), label .. " woken by listener:close()")

        -- mtmsg.abort(true)
        b = mtmsg.newbuffer()
        t = start_waiters(b, 1, mode[1], mode[2])[1]
        mtmsg.abort(true)
        r = join_waiter(t, b)
        mtmsg.abort(false)
        T.eq(r.ok, false)
        T.eq(r.v1, ABORTED, label .. " woken by mtmsg.abort(true)")
        T.check(r.elapsed < 4, label .. " woken by global abort: " .. r.elapsed)
        T.eq(b:addmsg(1), true, "usable after mtmsg.abort(false)")
    end
end

------------------------------------------------------------------------------
-- several waiters on one buffer: each message goes to exactly one of them;
-- close and abort wake all of them
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    local ts = start_waiters(b, 3, true, 10)
    b:addmsg("a")
    b:addmsg("b")
    b:addmsg("c")
    local got = {}
    for i = 1, 3 do
        local r = join_waiter(ts[i], b)
        T.eq(r.ok, true)
        got[#got + 1] = r.v1
    end
    table.sort(got)
    T.eq(table.concat(got, ","), "a,b,c", "each waiter got exactly one message")
    T.eq(b:msgcnt(), 0)

    -- messages added in one batch before the waiters block
    ts = start_waiters(b, 3, false)
    for _, v in ipairs { "x", "y", "z" } do b:addmsg(v) end
    got = {}
    for i = 1, 3 do got[#got + 1] = join_waiter(ts[i], b).v1 end
    table.sort(got)
    T.eq(table.concat(got, ","), "x,y,z")

    ts = start_waiters(b, 3, false)
    b:close()
    for i = 1, 3 do
        local r = join_waiter(ts[i], b)
        T.eq(r.v1, U.closed_err(b), "close wakes every waiter (" .. i .. ")")
    end

    local c = mtmsg.newbuffer()
    ts = start_waiters(c, 3, true, 10)
    c:abort()
    for i = 1, 3 do
        local r = join_waiter(ts[i], c)
        T.eq(r.v1, ABORTED, "abort wakes every waiter (" .. i .. ")")
        T.check(r.elapsed < 5, "woken promptly: " .. r.elapsed)
    end
    c:abort(false)
end

------------------------------------------------------------------------------
-- the main thread blocked, another thread acts
------------------------------------------------------------------------------
local function actor(bid, action, delay)
    local mtmsg = require "mtmsg"
    mtmsg.sleep(delay)
    if action == "add" then
        mtmsg.buffer(bid):addmsg("from thread", 42)
    elseif action == "abort" then
        mtmsg.buffer(bid):abort()
    elseif action == "close" then
        mtmsg.buffer(bid):close()
    elseif action == "globalabort" then
        mtmsg.abort(true)
    end
    return action
end

do
    local b = mtmsg.newbuffer()
    local t = U.thread(actor, b:id(), "add", 0.2)
    local dt, r = U.timed(b.nextmsg, b, 5)
    T.results(r, "from thread", 42)
    T.check(dt >= 0.1 and dt < 4, "main woken by the thread's addmsg: " .. dt)
    T.results(U.join(t), "add")

    t = U.thread(actor, b:id(), "abort", 0.2)
    dt, r = U.timed(pcall, b.nextmsg, b, 5)
    T.results(r, false, ABORTED)
    T.check(dt < 4, "main woken by the thread's abort: " .. dt)
    U.join(t)
    T.eq(b:isabort(), true)
    b:abort(false)

    t = U.thread(actor, b:id(), "close", 0.2)
    dt, r = U.timed(pcall, b.nextmsg, b, 8)
    T.results(r, false, U.closed_err(b))
    T.check(dt < 4, "main woken by the thread's close: " .. dt)
    U.join(t)

    -- [56] reversed: another thread's mtmsg.abort(true) wakes mtmsg.sleep here
    local c = mtmsg.newbuffer()
    t = U.thread(actor, c:id(), "globalabort", 0.2)
    dt, r = U.timed(pcall, mtmsg.sleep, 10)
    U.join(t)
    T.eq(mtmsg.isabort(), true, "the abort flag is process-wide")
    T.eq(c:isabort(), true, "the thread's global abort reached this buffer")
    mtmsg.abort(false)
    T.results(r, false, ABORTED)
    T.check(dt < 3, "sleep(10) interrupted: " .. dt)
    T.eq(c:addmsg(1), true)
end

------------------------------------------------------------------------------
-- [56] mtmsg.abort(true) wakes mtmsg.sleep(10) in another thread
------------------------------------------------------------------------------
local function sleeper(rid, secs)
    local mtmsg = require "mtmsg"
    mtmsg.buffer(rid):addmsg("ready")
    local t0 = mtmsg.time()
    local ok, err = pcall(mtmsg.sleep, secs)
    return mtmsg.time() - t0, ok, err
end

do
    for _, secs in ipairs { 10 } do
        local ready = mtmsg.newbuffer()
        local ts = {}
        for i = 1, 2 do ts[i] = U.thread(sleeper, ready:id(), secs) end
        for _ = 1, 2 do T.eq(ready:nextmsg(10), "ready") end
        mtmsg.sleep(0.2)
        local t0 = mtmsg.time()
        mtmsg.abort(true)
        local rs = {}
        for i = 1, 2 do rs[i] = U.join(ts[i], 10) end
        local dt = mtmsg.time() - t0
        mtmsg.abort(false)
        for i = 1, 2 do
            T.eq(rs[i][2], false, "sleep(" .. secs .. ") raised")
            T.eq(rs[i][3], ABORTED, "sleep(" .. secs .. ") raised operation_aborted")
        end
        T.check(dt < 2, "sleepers woken within 2 s: " .. dt)
    end
    -- after abort(false) sleeping works again, in this and other threads
    local ready = mtmsg.newbuffer()
    local t = U.thread(sleeper, ready:id(), 0.2)
    T.eq(ready:nextmsg(10), "ready")
    local r = U.join(t, 10)
    T.eq(r[2], true, "sleep after abort(false)")
    T.check(r[1] >= 0.19, "slept 0.2 s: " .. r[1])
    -- a thread that starts sleeping while the flag is set raises at once
    mtmsg.abort(true)
    t = U.thread(sleeper, ready:id(), 10)
    local ok = pcall(function()
        -- the ready buffer lookup fails while aborted: the thread raises
        return U.join(t, 10)
    end)
    mtmsg.abort(false)
    T.eq(ok, false, "mtmsg.buffer() in the thread raised operation_aborted")
end

------------------------------------------------------------------------------
-- ids and names across threads
------------------------------------------------------------------------------
local function idmaker(outid, n)
    local mtmsg = require "mtmsg"
    local out = mtmsg.buffer(outid)
    local keep = {} -- luacheck: ignore 241 (only holds the objects alive until the next batch)
    for i = 1, n do
        local x
        if i % 3 == 0 then x = mtmsg.newlistener() else x = mtmsg.newbuffer() end
        keep[i] = x
        out:addmsg(x:id())
        if i % 50 == 0 then keep = {} collectgarbage() end
    end
    return n
end

do
    local out = mtmsg.newbuffer()
    local ts = {}
    for i = 1, 4 do ts[i] = U.thread(idmaker, out:id(), 300) end
    local seen, dups = {}, 0
    local mine = {}
    for i = 1, 300 do
        local x = mtmsg.newbuffer()
        mine[#mine + 1] = x:id()
        if i % 50 == 0 then collectgarbage() end
    end
    for i = 1, 4 do T.results(U.join(ts[i], 20), 300) end
    for _, id in ipairs(mine) do
        if seen[id] then dups = dups + 1 end
        seen[id] = true
    end
    T.eq(out:msgcnt(), 1200)
    for _ = 1, 1200 do
        local id = out:nextmsg(0)
        if seen[id] then dups = dups + 1 end
        seen[id] = true
    end
    T.eq(dups, 0, "ids are unique across threads")

    -- a buffer created here is found by name in a thread
    local named = mtmsg.newbuffer("main-named")
    local t = U.thread(function()
        local mtmsg = require "mtmsg"
        local b = mtmsg.buffer("main-named")
        b:addmsg("hi from thread", b:id())
        return b:name()
    end)
    T.results(U.join(t, 10), "main-named")
    T.results(T.pack(named:nextmsg(0)), "hi from thread", named:id())

    -- a buffer created in a thread is found here by name; it lives on
    -- after the thread ended while referenced here
    local ready = mtmsg.newbuffer()
    local done = mtmsg.newbuffer()
    t = U.thread(function(rid, did)
        local mtmsg = require "mtmsg"
        local own = mtmsg.newbuffer("made-in-thread")
        own:addmsg("hello from thread")
        mtmsg.buffer(rid):addmsg(own:id())
        local v = mtmsg.buffer(did):nextmsg(10)
        own = nil -- luacheck: ignore 311 (GC drop)
        collectgarbage()
        collectgarbage()
        return v
    end, ready:id(), done:id())
    local id = ready:nextmsg(10)
    T.eq(type(id), "number")
    local ref = mtmsg.buffer("made-in-thread")
    T.eq(ref:id(), id)
    T.eq(ref:nextmsg(0), "hello from thread")
    done:addmsg("done")
    T.results(U.join(t, 10), "done")
    collectgarbage()
    T.eq(mtmsg.buffer("made-in-thread"):id(), id, "still registered while referenced here")
    T.eq(ref:addmsg("still alive"), true)
    T.eq(ref:nextmsg(0), "still alive")
    ref = nil -- luacheck: ignore 311 (GC drop)
    collectgarbage()
    collectgarbage()
    T.raises_exactly(function() mtmsg.buffer(id) end, "mtmsg.error.unknown_object: buffer id " .. id)
end

------------------------------------------------------------------------------
-- huge timeouts (last: an implementation that cannot represent the deadline
-- must still treat them as "wait", not crash or return at once)
------------------------------------------------------------------------------
do
    for _, secs in ipairs { 1e9, math.huge } do
        local what = "nextmsg(" .. tostring(secs) .. ")"
        local b = mtmsg.newbuffer()
        local t = start_waiters(b, 1, true, secs)[1]
        b:addmsg("wake", 7)
        local r = join_waiter(t, b)
        T.eq(r.ok, true, what .. ": no error " .. tostring(r.v1))
        T.eq(r.n, 2, what .. ": woken with the message")
        T.eq(r.v1, "wake", what)
        T.check(r.elapsed < 4, what .. ": woken promptly: " .. r.elapsed)
        b = mtmsg.newbuffer()
        t = start_waiters(b, 1, true, secs)[1]
        b:abort()
        r = join_waiter(t, b)
        T.eq(r.v1, ABORTED, what .. ": woken by abort")
    end
    for _, secs in ipairs { 1e9, math.huge } do
        local ready = mtmsg.newbuffer()
        local t = U.thread(sleeper, ready:id(), secs)
        T.eq(ready:nextmsg(10), "ready")
        mtmsg.sleep(0.15)
        mtmsg.abort(true)
        local r = U.join(t, 10)
        mtmsg.abort(false)
        T.eq(r[2], false, "sleep(" .. tostring(secs) .. ") raised")
        T.eq(r[3], ABORTED, "sleep(" .. tostring(secs) .. ") interrupted by mtmsg.abort")
        T.check(r[1] < 3, "sleep(" .. tostring(secs) .. ") woken promptly: " .. r[1])
    end
end

T.eq(mtmsg.isabort(), false)
T.done("buffer_threads")
