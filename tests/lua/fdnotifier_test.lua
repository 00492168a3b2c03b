-- mtmsg.newfdnotifier() (an extension): a notifier with a file descriptor
-- that is readable while a notification is pending, for event loops.
-- Methods and errors, bursts coalescing into one readable state, buffers
-- and listeners' buffers notifying it, the Notify C API from C threads,
-- no descriptor leaked over create/close/collect cycles, and a real event
-- loop (luv) waiting on a buffer and a timer at once, with the wake-up
-- latency from another thread.
-- Thread functions have no upvalues (they are moved by string.dump).
local T = require "testlib"
local U = require "buftest_util"
local mtmsg = require "mtmsg"
local capitest = require "capitest"

local CLOSED = "mtmsg.error.object_closed: mtmsg.fdnotifier"

------------------------------------------------------------------------------
-- The object: fd, drain, notify, close, isclosed, tostring, type
------------------------------------------------------------------------------
do
    local n = mtmsg.newfdnotifier()
    T.eq(mtmsg.type(n), "mtmsg.fdnotifier")
    local fd = n:fd()
    T.eq(type(fd), "number")
    T.check(fd >= 0 and fd == math.floor(fd), "fd is a descriptor number: " .. fd)
    T.eq(n:fd(), fd, "the same descriptor every time")
    T.check(tostring(n):find("^mtmsg%.fdnotifier: ") and tostring(n):find("(fd=" .. fd .. ")", 1, true),
        tostring(n))
    T.eq(n:isclosed(), false)
    T.results(T.pack(n:drain()), false)
    T.results(T.pack(n:notify()))
    T.results(T.pack(n:drain()), true)
    T.results(T.pack(n:drain()), false)
    -- a burst is one pending state
    for _ = 1, 1000 do n:notify() end
    T.eq(n:drain(), true)
    T.eq(n:drain(), false)
    n:close()
    T.eq(n:isclosed(), true)
    T.check(tostring(n):find("(closed)", 1, true), tostring(n))
    T.raises_exactly(function() n:fd() end, CLOSED)
    T.raises_exactly(function() n:drain() end, CLOSED)
    T.raises_exactly(function() n:notify() end, CLOSED)
    n:close()   -- twice is fine
    -- methods check self
    T.raises(function() n.fd(mtmsg.newbuffer()) end, "mtmsg.fdnotifier expected")
    T.raises(function() n.drain(nil) end, "mtmsg.fdnotifier expected")
    -- each notifier has its own descriptor
    local a, b = mtmsg.newfdnotifier(), mtmsg.newfdnotifier()
    T.check(a:fd() ~= b:fd(), "distinct descriptors")
    a:notify()
    T.eq(b:drain(), false, "notifying one does not touch another")
    T.eq(a:drain(), true)
    a:close(); b:close()
end

------------------------------------------------------------------------------
-- As a buffer's notifier: ">" on additions (threshold honoured), "<" on
-- removals; a closed notifier is disconnected by the buffer
------------------------------------------------------------------------------
do
    local n = mtmsg.newfdnotifier()
    local b = mtmsg.newbuffer()
    b:notifier(n)
    T.eq(n:drain(), false)
    b:addmsg(1)
    T.eq(n:drain(), true, "addmsg notifies")
    for i = 1, 100 do b:addmsg(i) end
    T.eq(n:drain(), true, "a burst of 100 messages: one pending state")
    T.eq(n:drain(), false)
    b:setmsg("x")
    T.eq(n:drain(), true, "setmsg notifies")
    local w = mtmsg.newwriter()
    w:add(1); w:addmsg(b)
    T.eq(n:drain(), true, "writer:addmsg notifies")
    b:nextmsg(); b:nextmsg()
    T.eq(n:drain(), false, "removals do not notify '>'")
    b:notifier(nil)
    b:addmsg(1)
    T.eq(n:drain(), false, "disconnected")
    -- threshold: notified when more than 2 messages are queued
    b:clear()
    b:notifier(n, ">", 2)
    b:addmsg(1); b:addmsg(2)
    T.eq(n:drain(), false, "2 messages: not above the threshold")
    b:addmsg(3)
    T.eq(n:drain(), true, "3 messages: notified")
    -- "<": a producer waits for the consumer to read
    local r = mtmsg.newfdnotifier()
    b:notifier(r, "<")
    b:nextmsg()
    T.eq(r:drain(), true, "nextmsg notifies '<'")
    -- one notifier for several buffers, among them a listener's
    local l = mtmsg.newlistener()
    local lb1, lb2 = l:newbuffer(), l:newbuffer()
    local s = mtmsg.newfdnotifier()
    lb1:notifier(s); lb2:notifier(s); b:notifier(nil); b:notifier(s)
    lb2:addmsg("x")
    T.eq(s:drain(), true, "a listener's buffer notifies")
    lb1:addmsg("y"); b:addmsg("z")
    T.eq(s:drain(), true)
    T.eq(l:nextmsg(0), "x")
    -- closing the notifier: additions still succeed, and the buffer lets go
    -- of it (its slot is free again)
    s:close()
    T.eq(lb1:addmsg(1), true, "adding to a buffer whose notifier is closed succeeds")
    lb1:notifier(mtmsg.newfdnotifier())   -- no has_notifier: the closed one was disconnected
    n:close(); r:close()
end

------------------------------------------------------------------------------
-- listener:notifier (an extension): one notifier for all of a listener's
-- buffers, also those made later; thresholds count the messages of all
------------------------------------------------------------------------------
do
    local l = mtmsg.newlistener()
    local b1 = l:newbuffer()
    local n = capitest.new_notifier()
    l:notifier(n)
    T.eq(n:refs(), 2, "retained once")
    b1:addmsg(1)
    T.eq(n:count(), 1, "an addition to a buffer notifies the listener's '>'")
    local b2 = l:newbuffer()
    b2:addmsg(2); b2:setmsg(3)
    T.eq(n:count(), 3, "buffers made after connecting notify too; setmsg notifies")
    local w = mtmsg.newwriter(); w:add(1); w:addmsg(b2)
    T.eq(n:count(), 4, "writer:addmsg notifies")
    T.raises_exactly(function() l:notifier(capitest.new_notifier()) end, "mtmsg.error.has_notifier")
    -- threshold: the total of both buffers (b1: 1, b2: 2 messages queued)
    l:notifier(nil)
    T.eq(n:refs(), 1, "released on disconnect")
    l:notifier(n, ">", 4)
    b1:addmsg(4)
    T.eq(n:count(), 4, "4 messages in all: not above the threshold")
    b2:addmsg(5)
    T.eq(n:count(), 5, "5 in all: notified")
    -- "<": after listener:nextmsg and after a buffer's own nextmsg
    local r = capitest.new_notifier()
    l:notifier(r, "<", 4)
    l:nextmsg(0)
    T.eq(r:count(), 0, "listener:nextmsg: 4 left, not below 4")
    b1:nextmsg(0)
    T.eq(r:count(), 1, "a buffer's nextmsg: 3 left, below 4")
    -- clear and setmsg's discarding reset the total without notifying
    l:clear()
    T.eq(r:count(), 1, "clear does not notify")
    b1:addmsg("a"); b1:addmsg("b"); b2:addmsg("c")
    local before = n:count()
    b1:setmsg("only")                 -- b1: 1, b2: 1 -> total 2
    T.eq(n:count(), before, "setmsg leaving 2 in all: not above 4")
    T.eq(b1:msgcnt() + b2:msgcnt(), 2)
    l:nextmsg(0)
    T.eq(r:count(), 2, "total 1 after a read: below 4")
    -- (nil, "<") disconnects "<" only
    l:notifier(nil, "<")
    T.eq(r:refs(), 1)
    T.eq(n:refs(), 2)
    -- a buffer that goes away with messages still counts until they are read
    local b3 = l:newbuffer()
    b3:addmsg("orphan")
    b3 = nil -- luacheck: ignore 311 (GC drop)
    collectgarbage(); collectgarbage()
    l:notifier(nil)
    local m = capitest.new_notifier()
    l:notifier(m, "<")
    local got = 0
    while l:nextmsg(0) ~= nil do got = got + 1 end
    T.eq(got, 2, "the orphan's message is delivered")
    T.eq(m:count(), 2, "each read notifies '<' (threshold 0)")
    -- closing the listener releases its notifiers; connecting then fails
    l:close()
    T.eq(m:refs(), 1, "close releases the listener's notifiers")
    T.raises_exactly(function() l:notifier(n) end, "mtmsg.error.object_closed: mtmsg.listener(id=" .. l:id() .. ")")
    -- a closed notifier is disconnected, operations go on
    local l2 = mtmsg.newlistener()
    local lb = l2:newbuffer()
    local f = mtmsg.newfdnotifier()
    l2:notifier(f)
    lb:addmsg(1)
    T.eq(f:drain(), true)
    f:close()
    T.eq(lb:addmsg(2), true)
    l2:notifier(mtmsg.newfdnotifier())   -- the closed one was disconnected
    -- arguments as buffer:notifier's
    T.raises(function() l2:notifier() end, "notifier or nil expected")
    T.raises(function() l2:notifier(1) end, "notifier expected")
    T.raises(function() l2:notifier(nil, "x") end, "invalid option")
end

------------------------------------------------------------------------------
-- The Notify C API: published like a buffer's, usable from C threads
------------------------------------------------------------------------------
do
    local n = mtmsg.newfdnotifier()
    T.results(T.pack(capitest.lookup(n, "notify")), 0, 0, 2)
    local ok, rc, err = capitest.notify(n, 4, 500)
    T.results(T.pack(ok, rc, err), 2000, 0, nil)
    T.eq(n:drain(), true, "4 C threads x 500 notifications: pending")
    T.eq(n:drain(), false, "... one pending state")
    -- the example C library's ticker thread
    local ticker = require "example_notify"
    local t = ticker.start(n, 3, 5)
    T.results(T.pack(t:join()), 3, 0)
    T.eq(n:drain(), true)
    -- closed: every call returns 1 (closed for good)
    n:close()
    T.results(T.pack(capitest.notify(n)), 0, 1, nil)
    -- a buffer of another module instance holding it is fine: retain and
    -- release keep the object alive after the Lua reference is gone
    local m = mtmsg.newfdnotifier()
    local b = mtmsg.newbuffer()
    b:notifier(m)
    local job = ticker.start(m, 2, 50)
    m = nil -- luacheck: ignore 311 (GC drop)
    collectgarbage(); collectgarbage()   -- __gc closes the descriptor
    local okn, last = job:join()
    T.check(okn <= 2 and (last == 0 or last == 1), "ticker after __gc: " .. okn .. ", rc " .. last)
    T.eq(b:addmsg(1), true, "the buffer disconnects the collected notifier")
    b:notifier(mtmsg.newfdnotifier())
end

------------------------------------------------------------------------------
-- Descriptors are closed by close() and by __gc: none leak. Counted are the
-- eventfds of this process (what a notifier holds on Linux; luv, which has
-- its own, is not loaded yet), once finalizers have settled: notifiers of
-- the sections above may be finalized a collection late (seen on Lua 5.5).
------------------------------------------------------------------------------
do
    local kind = "eventfd"
    local before, before_list = T.settled_fds(kind)
    local live = {} -- luacheck: ignore 331 (only holds 4 notifiers alive)
    for i = 1, 2000 do
        local n = mtmsg.newfdnotifier()
        if i % 2 == 0 then n:close() end
        if i % 3 == 0 then
            local b = mtmsg.newbuffer()
            b:notifier(n)
            b:addmsg(i)
        end
        if i % 500 == 1 then live[#live + 1] = n end
        if i % 100 == 0 then collectgarbage() end
    end
    T.eq((T.open_fds(kind)), before + 4, "open eventfds: the 4 unclosed notifiers still referenced")
    live = nil -- luacheck: ignore 311 (GC drop)
    local after, after_list = T.settled_fds(kind)
    T.eq(after, before, "open eventfds after 2000 notifiers (before:\n" .. before_list .. "\nafter:\n"
        .. after_list .. "\n)")
end

------------------------------------------------------------------------------
-- Notified from other threads while this one drains: never lost
------------------------------------------------------------------------------
do
    local n = mtmsg.newfdnotifier()
    local b = mtmsg.newbuffer("fdnotifier.threads")
    b:notifier(n)
    local COUNT = 2000
    local producer = U.thread(function(count)
        local mtmsg = require "mtmsg"
        local b = mtmsg.buffer("fdnotifier.threads")
        for i = 1, count do
            b:addmsg(i)
            if i % 100 == 0 then mtmsg.sleep(0.001) end
        end
    end, COUNT)
    local got = 0
    local deadline = mtmsg.time() + T.hang_limit(20)
    while got < COUNT and mtmsg.time() < deadline do
        if n:drain() then
            -- whatever was added before the notification is there now
            while b:nextmsg(0) do got = got + 1 end
        else
            mtmsg.sleep(0.0005)
        end
    end
    -- every message was followed by a notification: after the last drain
    -- found nothing pending, nothing may be left
    U.join(producer, 10)
    if n:drain() then
        while b:nextmsg(0) do got = got + 1 end
    end
    T.eq(got, COUNT, "every message seen through notifications")
    T.eq(b:msgcnt(), 0)
    n:close()
end

------------------------------------------------------------------------------
-- A real event loop (luv): one loop waits on a buffer (through the
-- notifier's descriptor) and a timer at once; messages come from another
-- thread, and from a C thread through the Notify C API
------------------------------------------------------------------------------
local uv = T.luv()
if uv then
    local n = mtmsg.newfdnotifier()
    local inbox = mtmsg.newbuffer("fdnotifier.loop")
    inbox:notifier(n)
    local COUNT = 200
    local producer = U.thread(function(count)
        local mtmsg = require "mtmsg"
        local inbox = mtmsg.buffer("fdnotifier.loop")
        for i = 1, count do
            mtmsg.sleep(0.002)
            inbox:addmsg(i, mtmsg.time())
        end
    end, COUNT)
    local got, ticks, latencies, wakeups = 0, 0, {}, 0
    local poll = uv.new_poll(n:fd())
    local timer = uv.new_timer()
    local guard = uv.new_timer()
    local function finish()
        poll:stop(); poll:close(); timer:close(); guard:close()
    end
    timer:start(5, 5, function() ticks = ticks + 1 end)
    guard:start(math.floor(T.hang_limit(30) * 1000), 0, function()
        print("event loop gave up after " .. got .. " messages")
        finish()
    end)
    poll:start("r", function(err)
        assert(not err, err)
        wakeups = wakeups + 1
        n:drain()
        local now = mtmsg.time()
        while true do
            local i, sent = inbox:nextmsg(0)
            if i == nil then break end
            got = got + 1
            T.eq(i, got, "in order")
            latencies[#latencies + 1] = now - sent
        end
        if got == COUNT then finish() end
    end)
    uv.run()
    U.join(producer, 10)
    T.eq(got, COUNT, "every message arrived through the event loop")
    T.check(ticks > 10, "the timer ran while the loop waited on the buffer: " .. ticks)
    T.check(wakeups <= COUNT, "at most one wake-up per message: " .. wakeups)
    table.sort(latencies)
    local median, p99 = latencies[math.floor(#latencies / 2)], latencies[math.floor(#latencies * 0.99)]
    print(string.format("event loop wake-up latency: median %.1f us, p99 %.1f us (%d wake-ups)",
        median * 1e6, p99 * 1e6, wakeups))
    T.check(median < T.hang_limit(0.05), "median wake-up latency: " .. median)

    -- producers as fast as small buffers let them (putmsg waits for the
    -- loop to read), each with its own buffer of one listener, whose
    -- notifier the loop polls: the loop only learns of messages through
    -- the descriptor, so one lost wake-up leaves it waiting
    local PRODUCERS, FAST = 2, 20000
    local listener = mtmsg.newlistener()
    local fn = mtmsg.newfdnotifier()
    listener:notifier(fn)
    local producers = {}
    for p = 1, PRODUCERS do
        local b = listener:newbuffer(2048, 0)
        producers[p] = U.thread(function(bid, p, count)
            local mtmsg = require "mtmsg"
            local b = mtmsg.buffer(bid)
            for i = 1, count do b:putmsg(nil, p, i) end
        end, b:id(), p, FAST)
    end
    local next_of, total = { 1, 1 }, 0
    local fpoll, fguard = uv.new_poll(fn:fd()), uv.new_timer()
    local function fdone() fpoll:stop(); fpoll:close(); fguard:close() end
    fguard:start(math.floor(T.hang_limit(30) * 1000), 0, function()
        print("lost wake-up? the loop saw " .. total .. " messages")
        fdone()
    end)
    fpoll:start("r", function()
        fn:drain()
        while true do
            local p, i = listener:nextmsg(0)
            if p == nil then break end
            if i ~= next_of[p] then T.eq(i, next_of[p], "producer " .. p .. " in order") end
            next_of[p] = i + 1
            total = total + 1
        end
        if total == PRODUCERS * FAST then fdone() end
    end)
    uv.run()
    for p = 1, PRODUCERS do U.join(producers[p], 10, function() listener:close() end) end
    T.eq(total, PRODUCERS * FAST, "every message seen through the descriptor")
    fn:close()

    -- a C thread (example_notify) notifying the loop's notifier
    local c = mtmsg.newfdnotifier()
    local ticker = require("example_notify").start(c, 5, 10)
    local seen = 0
    local cpoll, cguard = uv.new_poll(c:fd()), uv.new_timer()
    cguard:start(math.floor(T.hang_limit(20) * 1000), 0, function() cpoll:close(); cguard:close() end)
    cpoll:start("r", function()
        c:drain()
        seen = seen + 1
        if seen == 5 then cpoll:close(); cguard:close() end
    end)
    uv.run()
    T.eq(seen, 5, "5 notifications from a C thread 10 ms apart: 5 wake-ups")
    T.results(T.pack(ticker:join()), 5, 0)
    c:close()
    n:close()
end

T.done("fdnotifier_test")
