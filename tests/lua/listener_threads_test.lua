-- Listeners used from several threads (mtthread): blocking nextmsg woken by
-- another thread's addmsg, exact accounting with several producers and
-- consumers, abort/close waking waiters, listener buffers garbage-collected
-- in a producer thread while the main thread reads (edge 47 across threads).
local T = require "testlib"
local H = require "lnw_helpers"
local mtmsg = require "mtmsg"

local start, join, collect = H.start, H.join, H.collect

local function none(...) return select("#", ...) == 0 end

H.guard(function()

-- 1. blocking listener:nextmsg() woken by another thread's addmsg
do
    local l = mtmsg.newlistener()
    local b = l:newbuffer()
    local t = start(function(bid)
        local mtmsg = require "mtmsg"
        local b = mtmsg.buffer(bid)
        mtmsg.sleep(0.3)
        return b:addmsg("hello", 42)
    end, b:id())
    local t0 = mtmsg.time()
    T.results(T.pack(l:nextmsg()), "hello", 42)
    local dt = mtmsg.time() - t0
    T.check(dt > 0.15 and dt < 3, "blocked until the message arrived (" .. dt .. " s)")
    T.results(T.pack(join(t)), true)

    -- a long timeout returns as soon as a message arrives
    t = start(function(bid)
        local mtmsg = require "mtmsg"
        mtmsg.sleep(0.2)
        mtmsg.buffer(bid):addmsg("early")
    end, b:id())
    t0 = mtmsg.time()
    T.eq(l:nextmsg(6), "early")
    dt = mtmsg.time() - t0
    T.check(dt > 0.1 and dt < 3, "woken before the timeout (" .. dt .. " s)")
    join(t)

    -- a nonblock listener reference still waits when given a timeout
    local r = mtmsg.listener(l:id())
    r:nonblock()
    t = start(function(bid)
        local mtmsg = require "mtmsg"
        mtmsg.sleep(0.2)
        mtmsg.buffer(bid):addmsg("nb")
    end, b:id())
    T.eq(r:nextmsg(6), "nb")
    join(t)
end

-- 2. several producer threads, one buffer each, exact accounting
do
    local NT, N = 4, 400
    local l = mtmsg.newlistener()
    local bufs, threads = {}, {}
    for i = 1, NT do bufs[i] = l:newbuffer() end
    for i = 1, NT do
        threads[i] = start(function(bid, tid, n)
            local mtmsg = require "mtmsg"
            local b = mtmsg.buffer(bid)
            for s = 1, n do
                assert(b:addmsg(tid, s, "payload-" .. tid .. "-" .. s))
            end
            return n
        end, bufs[i]:id(), i, N)
    end
    local last, count = {}, {}
    for i = 1, NT do last[i] = 0; count[i] = 0 end
    for _ = 1, NT * N do
        local tid, s, p = l:nextmsg(5)
        T.check(tid ~= nil, "message arrived in time")
        T.eq(s, last[tid] + 1, "FIFO per buffer (thread " .. tostring(tid) .. ")")
        T.eq(p, "payload-" .. tid .. "-" .. s)
        last[tid] = s
        count[tid] = count[tid] + 1
    end
    for i = 1, NT do
        T.eq(count[i], N, "all messages of thread " .. i)
        T.eq(join(threads[i]), N)
        T.eq(bufs[i]:msgcnt(), 0)
    end
    T.check(none(l:nextmsg(0)), "nothing more")
end

-- 3. producers create their own listener buffers, fill them and end; the
--    buffers are collected (thread states closed) while main reads, yet
--    every message is delivered and the buffers are not findable any more.
do
    local NT, N = 3, 300
    local l = mtmsg.newlistener()
    local keeper = l:newbuffer() -- luacheck: ignore 231 (held: keeps the listener from raising no_buffers)
    local names = {}
    local threads = {}
    for i = 1, NT do
        names[i] = "lt-gc-producer-" .. i
        threads[i] = start(function(lid, name, tid, n)
            local mtmsg = require "mtmsg"
            local b = mtmsg.listener(lid):newbuffer(name)
            for s = 1, n do assert(b:addmsg(tid, s)) end
            local id = b:id()
            b = nil -- luacheck: ignore 311 (GC drop)
            collectgarbage(); collectgarbage()
            -- the buffer still holds messages (main reads concurrently) or
            -- was consumed; either way it is not findable any more
            local ok = pcall(mtmsg.buffer, id)
            return id, ok
        end, l:id(), names[i], i, N)
    end
    local last, total = {}, 0
    for i = 1, NT do last[i] = 0 end
    for _ = 1, NT * N do
        local tid, s = l:nextmsg(5)
        T.check(tid ~= nil, "message arrived in time")
        T.eq(s, last[tid] + 1, "FIFO per producer")
        last[tid] = s
        total = total + 1
    end
    T.eq(total, NT * N)
    for i = 1, NT do
        local id, found = join(threads[i])
        T.eq(found, false, "a collected listener buffer is not findable")
        T.raises(function() mtmsg.buffer(id) end, "mtmsg.error.unknown_object")
        T.raises(function() mtmsg.buffer(names[i]) end, "mtmsg.error.unknown_object")
    end
    threads = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.check(none(l:nextmsg(0)), "keeper still connected")
    keeper = nil
    collect()
    T.raises_exactly(function() l:nextmsg(0) end, "mtmsg.error.no_buffers: mtmsg.listener(id=" .. l:id() .. ")")
end

-- 4. messages of a buffer collected in a finished thread are delivered later
do
    local l = mtmsg.newlistener()
    local t = start(function(lid)
        local mtmsg = require "mtmsg"
        local b = mtmsg.listener(lid):newbuffer("lt-late")
        b:addmsg("late1")
        b:addmsg("late2", 2)
        return b:id()
    end, l:id())
    local id = join(t)
    t = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.raises(function() mtmsg.buffer(id) end, "mtmsg.error.unknown_object")
    T.results(T.pack(l:nextmsg(0)), "late1")
    T.results(T.pack(l:nextmsg(0)), "late2", 2)
    T.raises(function() l:nextmsg(0) end, "mtmsg.error.no_buffers")
end

-- 5. several consumer threads on one listener: each message exactly once
do
    local NC, N = 3, 600
    local l = mtmsg.newlistener()
    local b1, b2 = l:newbuffer(), l:newbuffer()
    local threads = {}
    for i = 1, NC do
        threads[i] = start(function(lid)
            local mtmsg = require "mtmsg"
            local l = mtmsg.listener(lid)
            local sum, cnt, seen = 0, 0, {}
            while true do
                local v = l:nextmsg(5)
                if v == nil then return false, "timeout" end
                if v == "stop" then break end
                sum = sum + v
                cnt = cnt + 1
                seen[#seen + 1] = v
            end
            return true, sum, cnt, table.concat(seen, ",")
        end, l:id())
    end
    local expect = 0
    for i = 1, N do
        local b = (i % 2 == 0) and b1 or b2
        T.eq(b:addmsg(i), true)
        expect = expect + i
    end
    for _ = 1, NC do b1:addmsg("stop") end
    local sum, cnt, seen = 0, 0, {}
    for i = 1, NC do
        local ok, s, c, list = join(threads[i])
        T.eq(ok, true, "consumer " .. i .. " finished")
        sum, cnt = sum + s, cnt + c
        for digits in string.gmatch(list, "%d+") do
            local v = tonumber(digits) -- (5.5: loop variables are constant)
            T.check(not seen[v], "message " .. v .. " delivered once")
            seen[v] = true
        end
    end
    T.eq(cnt, N, "every message consumed exactly once")
    T.eq(sum, expect)
    T.eq(b1:msgcnt() + b2:msgcnt(), 0)
end

-- 6. abort and close wake threads blocked in listener:nextmsg()
local function waiter(lid, readyid)
    local mtmsg = require "mtmsg"
    local l = mtmsg.listener(lid)
    mtmsg.buffer(readyid):addmsg("waiting")
    local t0 = mtmsg.time()
    local ok, err = pcall(function() return l:nextmsg() end)
    return ok, err, mtmsg.time() - t0
end

do -- listener:abort()
    local l = mtmsg.newlistener()
    local b = l:newbuffer()
    local ready = mtmsg.newbuffer()
    local t = start(waiter, l:id(), ready:id())
    T.eq(ready:nextmsg(5), "waiting")
    mtmsg.sleep(0.2)
    local t0 = mtmsg.time()
    l:abort()
    local ok, err = join(t)
    T.eq(ok, false)
    T.eq(err, "mtmsg.error.operation_aborted")
    T.check(mtmsg.time() - t0 < 2, "abort woke the waiter")
    l:abort(false)
    b:addmsg("after")
    T.eq(l:nextmsg(0), "after", "usable again after abort(false)")
end

do -- mtmsg.abort() (process-wide)
    local l = mtmsg.newlistener()
    local b = l:newbuffer()
    local ready = mtmsg.newbuffer()
    local t = start(waiter, l:id(), ready:id())
    T.eq(ready:nextmsg(5), "waiting")
    mtmsg.sleep(0.2)
    mtmsg.abort()
    local ok, err = join(t)
    mtmsg.abort(false)
    T.eq(ok, false)
    T.eq(err, "mtmsg.error.operation_aborted")
    local _ = b
end

do -- listener:close() wakes two waiters
    local l = mtmsg.newlistener("lt-closing")
    local b = l:newbuffer()
    local ready = mtmsg.newbuffer()
    local t1 = start(waiter, l:id(), ready:id())
    local t2 = start(waiter, l:id(), ready:id())
    T.eq(ready:nextmsg(5), "waiting")
    T.eq(ready:nextmsg(5), "waiting")
    mtmsg.sleep(0.2)
    l:close()
    local expect = 'mtmsg.error.object_closed: mtmsg.listener(name="lt-closing",id=' .. l:id() .. ')'
    for _, t in ipairs({ t1, t2 }) do
        local ok, err, dt = join(t)
        T.eq(ok, false)
        T.eq(err, expect)
        T.check(dt > 0.1, "the waiter was blocked before close")
    end
    T.raises(function() b:addmsg(1) end, "mtmsg.error.object_closed")
end

do -- a waiter with a timeout sees the message added by a thread that
   -- creates its buffer on the fly (listener found by name)
    local l = mtmsg.newlistener("lt-by-name")
    local keeper = l:newbuffer()
    local t = start(function()
        local mtmsg = require "mtmsg"
        local b = mtmsg.listener("lt-by-name"):newbuffer()
        mtmsg.sleep(0.1)
        b:addmsg("from-new-buffer")
        -- keep b until the main thread got it
        mtmsg.sleep(0.3)
        return b:msgcnt()
    end)
    T.eq(l:nextmsg(5), "from-new-buffer")
    T.eq(join(t), 0)
    local _ = keeper
end

do -- README example (mtmsg.error.unknown_object section)
    local threadIn = mtmsg.newbuffer()
    local lst = mtmsg.newlistener()
    local threadOut = lst:newbuffer()
    local thread = start(function(inId, outId)
        local mtmsg = require("mtmsg")
        local threadIn = mtmsg.buffer(inId)
        local threadOut = mtmsg.buffer(outId)
        threadOut:addmsg("started")
        assert(threadIn:nextmsg() == "exit")
        threadOut:addmsg("finished")
        return true
    end, threadIn:id(), threadOut:id())
    T.eq(lst:nextmsg(5), "started")
    threadOut = nil -- luacheck: ignore 311 (GC drop: now it's safe)
    collect()
    threadIn:addmsg("exit")
    T.eq(lst:nextmsg(5), "finished")
    T.eq(join(thread), true)
    thread = nil -- luacheck: ignore 311 (GC drop)
    collect()
    local _, err = pcall(function() lst:nextmsg(2) end) -- README: nextmsg()
    T.check(type(err) == "string" and err:match(mtmsg.error.no_buffers), "README: no_buffers after the thread ended")
end

end)

T.done("listener_threads")
