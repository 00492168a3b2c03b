-- Waiting for room (an extension): buffer:putmsg(timeout, ...) and
-- writer:putmsg(buffer [, timeout]) add a message to a fixed-size buffer
-- (grow factor 0), waiting until it fits. Single-thread semantics first
-- (arguments, timeouts, errors, nonblock, notifiers), then real threads:
-- producers blocked on a full buffer while a consumer drains it, wakes by
-- nextmsg / clear / setmsg / close / abort, and buffers of a listener.
-- Thread functions have no upvalues (they are moved by string.dump).
local T = require "testlib"
local U = require "buftest_util"
local mtmsg = require "mtmsg"

local MSG = "0123456789"

-- A fixed-size buffer of `size` bytes filled with MSG messages until the
-- next one does not fit; returns it and how many it holds.
local function full_buffer(size, name)
    local b = name and mtmsg.newbuffer(name, size, 0) or mtmsg.newbuffer(size, 0)
    local n = 0
    while b:addmsg(MSG) do n = n + 1 end
    return b, n
end

------------------------------------------------------------------------------
-- Room available: putmsg is addmsg with a timeout in front
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer(64, 0)
    T.results(T.pack(b:putmsg(nil, "a", 1, true)), true)
    T.results(T.pack(b:putmsg(5, "b", nil, 2.5)), true)
    T.results(T.pack(b:putmsg(0)), true)           -- an empty message
    T.results(T.pack(b:putmsg()), true)            -- no timeout, empty message
    T.results(T.pack(b:nextmsg(0)), "a", 1, true)
    T.results(T.pack(b:nextmsg(0)), "b", nil, 2.5)
    T.eq(b:msgcnt(), 2)
    T.results(T.pack(b:nextmsg(0)))
    T.results(T.pack(b:nextmsg(0)))
    T.eq(b:msgcnt(), 0)
    -- a growing buffer never waits: putmsg is addmsg there
    local g = mtmsg.newbuffer(16, 2)
    for i = 1, 1000 do T.eq(g:putmsg(nil, MSG, i), true) end
    T.eq(g:msgcnt(), 1000)
    -- tables travel as with addmsg
    T.eq(b:putmsg(nil, { x = 1 }), true)
    T.eq(b:nextmsg(0).x, 1)
end

------------------------------------------------------------------------------
-- Argument errors: the timeout is a number or nil, nothing is stored
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer(64, 0)
    local E = "timeout seconds or nil expected"
    U.argerr(function() b:putmsg("1", "x") end, 1, "putmsg", E)
    U.argerr(function() b:putmsg(0 / 0, "x") end, 1, "putmsg", E)
    U.argerr(function() b:putmsg({}, "x") end, 1, "putmsg", E)
    U.argerr(function() b:putmsg(true, "x") end, 1, "putmsg", E)
    U.argerr(function() b:putmsg(nil, function() end) end, 2, "putmsg", "parameter type not supported")
    T.eq(b:msgcnt(), 0, "nothing stored after argument errors")
    T.raises(function() b.putmsg(1, nil, "x") end, "mtmsg.buffer expected")
    local w = mtmsg.newwriter()
    w:add("x")
    U.argerr(function() w:putmsg(b, "1") end, 2, "putmsg", E)
    U.argerr(function() w:putmsg(b, 0 / 0) end, 2, "putmsg", E)
    U.argerr(function() w:putmsg(nil, 1) end, 1, "putmsg", "mtmsg.buffer expected, got nil")
    T.eq(b:msgcnt(), 0)
end

------------------------------------------------------------------------------
-- Full buffer, no reader: zero / negative timeouts give false at once, a
-- timeout gives false after it; the buffer is unchanged
------------------------------------------------------------------------------
do
    local b, n = full_buffer(64)
    T.check(n >= 2, "a 64-byte buffer holds a few messages: " .. n)
    local dt, r = U.timed(b.putmsg, b, 0, MSG)
    T.results(r, false)
    T.check(dt < 0.2, "putmsg(0) on a full buffer returns at once: " .. dt)
    dt, r = U.timed(b.putmsg, b, -1, MSG)
    T.results(r, false)
    T.check(dt < 0.2, "putmsg(-1) returns at once: " .. dt)
    dt, r = U.timed(b.putmsg, b, 0.15, MSG)
    T.results(r, false)
    T.check(dt >= 0.14, "putmsg(0.15) waits its timeout: " .. dt)
    T.check(dt < T.hang_limit(5), "putmsg(0.15) does not wait far longer: " .. dt)
    T.eq(b:msgcnt(), n, "nothing added by timed-out putmsg")
    -- an empty message still fits where MSG does not? Only if it does:
    -- putmsg agrees with addmsg on what fits.
    T.eq(b:putmsg(0), b:addmsg() and true or false)
end

------------------------------------------------------------------------------
-- A message that can never fit fails at once, whatever the timeout
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer(32, 0)
    local big = string.rep("x", 100)
    local t0 = mtmsg.time()
    local e = T.raises(function() b:putmsg(nil, big) end, "mtmsg.error.message_size")
    T.check(mtmsg.time() - t0 < 0.5, "too large: no waiting")
    -- the same text addmsg raises
    local e2 = T.raises(function() b:addmsg(big) end, "mtmsg.error.message_size")
    T.eq(e, e2, "putmsg and addmsg raise the same message_size error")
    T.check(e:find("exceeds limit of 32 bytes", 1, true), e)
    -- with a full buffer too (it could not fit even when empty)
    local f = full_buffer(32)
    T.raises(function() f:putmsg(nil, big) end, "mtmsg.error.message_size")
    T.raises(function() f:putmsg(10, big) end, "mtmsg.error.message_size")
    -- a writer's message as well; the writer keeps it
    local w = mtmsg.newwriter()
    w:add(big)
    T.raises(function() w:putmsg(f) end, "mtmsg.error.message_size")
    T.raises(function() w:putmsg(f, 5) end, "mtmsg.error.message_size")
    local g = mtmsg.newbuffer()
    T.eq(w:addmsg(g), true, "the writer still held its message")
    T.eq(g:nextmsg(0), big)
end

------------------------------------------------------------------------------
-- Closed and aborted buffers raise as addmsg does
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer(64, 0)
    b:close()
    T.raises_exactly(function() b:putmsg(nil, 1) end, U.closed_err(b))
    T.raises_exactly(function() b:putmsg(1, 1) end, U.closed_err(b))
    local a = mtmsg.newbuffer(64, 0)
    a:abort()
    T.raises_exactly(function() a:putmsg(nil, 1) end, U.ABORTED)
    a:abort(false)
    T.eq(a:putmsg(nil, 1), true)
    mtmsg.abort()
    T.raises_exactly(function() a:putmsg(nil, 1) end, U.ABORTED)
    local w = mtmsg.newwriter()
    w:add(1)
    T.raises_exactly(function() w:putmsg(a) end, U.ABORTED)
    mtmsg.abort(false)
    T.eq(a:putmsg(0, 2), true)
    T.raises_exactly(function() w:putmsg(b) end, U.closed_err(b))
end

------------------------------------------------------------------------------
-- Nonblock references: without a timeout putmsg waits for nothing (as
-- nextmsg), with one it waits
------------------------------------------------------------------------------
do
    local b = full_buffer(64)
    b:nonblock()
    local dt, r = U.timed(b.putmsg, b, nil, MSG)
    T.results(r, false)
    T.check(dt < 0.2, "nonblock putmsg(nil) on a full buffer returns at once: " .. dt)
    dt, r = U.timed(b.putmsg, b, 0.1, MSG)
    T.results(r, false)
    T.check(dt >= 0.09, "nonblock putmsg(0.1) waits: " .. dt)
end

------------------------------------------------------------------------------
-- The ">" notifier is called for putmsg as for addmsg; "<" on removal
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer(64, 0)
    local added, removed = mtmsg.newbuffer(), mtmsg.newbuffer()
    b:notifier(added, ">")
    b:notifier(removed, "<")
    T.eq(b:putmsg(nil, 1), true)
    T.eq(added:msgcnt(), 1, "putmsg notifies '>'")
    T.eq(b:putmsg(0, 2), true)
    T.eq(added:msgcnt(), 2)
    b:nextmsg()
    T.eq(removed:msgcnt(), 1)
    -- a timed-out putmsg adds nothing and notifies nothing
    local f = full_buffer(64)
    f:notifier(added, ">")
    added:clear()
    T.eq(f:putmsg(0.05, MSG), false)
    T.eq(added:msgcnt(), 0, "no notification without a message")
end

------------------------------------------------------------------------------
-- Writer: the message is sent when it fits, kept when not
------------------------------------------------------------------------------
do
    local b, n = full_buffer(64)
    local w = mtmsg.newwriter()
    w:add(MSG)
    T.eq(w:putmsg(b, 0), false)
    T.eq(w:putmsg(b, 0.05), false)
    b:nextmsg()
    T.eq(w:putmsg(b), true, "fits after one message was read")
    T.eq(b:msgcnt(), n)
    T.eq(w:addmsg(mtmsg.newbuffer()), true, "the writer is empty after putmsg: an empty message")
end

------------------------------------------------------------------------------
-- Threads: a producer blocked on a full buffer resumes when the consumer
-- frees room, not before; a message that needs more room than one read
-- frees waits for enough
------------------------------------------------------------------------------
local function blocked_producer(bid, rid, msg, timeout)
    local mtmsg = require "mtmsg"
    local b = mtmsg.buffer(bid)
    mtmsg.buffer(rid):addmsg("ready")
    local ok, r = pcall(b.putmsg, b, timeout, msg)
    return mtmsg.time(), ok, r
end

do
    local b, n = full_buffer(64, "putmsg.full")
    local ready = mtmsg.newbuffer()
    local t = U.thread(blocked_producer, b:id(), ready:id(), "LATE-56789", nil)
    T.eq(ready:nextmsg(10), "ready")
    mtmsg.sleep(0.2)
    T.eq(b:msgcnt(), n, "the producer is blocked: nothing added while full")
    local freed_at = mtmsg.time()
    T.eq(b:nextmsg(0), MSG)
    local r = U.join(t, 10, function() b:close() end)
    T.eq(r[2], true, "putmsg succeeded: " .. tostring(r[3]))
    T.eq(r[3], true)
    T.check(r[1] >= freed_at, "resumed after the room was freed")
    T.check(r[1] - freed_at < T.hang_limit(1), "resumed promptly: " .. (r[1] - freed_at))
    T.eq(b:msgcnt(), n, "one read, one added")
    for _ = 1, n - 1 do T.eq(b:nextmsg(0), MSG) end
    T.eq(b:nextmsg(0), "LATE-56789", "the waiting message comes last")
end

do
    -- 64-byte buffer with MSG messages; the big message needs the room of
    -- all of them: one read is not enough, reading all is
    local b, n = full_buffer(64)
    local big = string.rep("y", 50)
    local ready = mtmsg.newbuffer()
    local t = U.thread(blocked_producer, b:id(), ready:id(), big, nil)
    T.eq(ready:nextmsg(10), "ready")
    mtmsg.sleep(0.1)
    b:nextmsg()
    mtmsg.sleep(0.2)
    T.eq(b:msgcnt(), n - 1, "one read does not make room for the big message")
    for _ = 2, n do T.eq(b:nextmsg(0), MSG) end
    local r = U.join(t, 10, function() b:close() end)
    T.results(T.pack(r[2], r[3]), true, true)
    T.eq(b:nextmsg(0), big)
end

------------------------------------------------------------------------------
-- Threads: every way room appears or the wait ends wakes the producer
------------------------------------------------------------------------------
local function expect_wake(what, action, want_ok, want)
    local b = full_buffer(64)
    local ready = mtmsg.newbuffer()
    local t = U.thread(blocked_producer, b:id(), ready:id(), MSG, nil)
    T.eq(ready:nextmsg(10), "ready")
    mtmsg.sleep(0.15)
    local at = mtmsg.time()
    action(b)
    local r = U.join(t, 10, function() b:close() end)
    T.eq(r[2], want_ok, what .. ": putmsg " .. (want_ok and "succeeds" or "raises") .. " (" .. tostring(r[3]) .. ")")
    T.eq(r[3], want(b), what .. ": result")
    T.check(r[1] >= at and r[1] - at < T.hang_limit(1), what .. ": woken promptly: " .. (r[1] - at))
    return b
end

expect_wake("clear", function(b) b:clear() end, true, function() return true end)
expect_wake("setmsg", function(b) b:setmsg("only") end, true, function() return true end)
expect_wake("close", function(b) b:close() end, false, U.closed_err)
expect_wake("abort", function(b) b:abort() end, false, function() return U.ABORTED end)
expect_wake("mtmsg.abort", function() mtmsg.abort() end, false, function() return U.ABORTED end)
mtmsg.abort(false)
expect_wake("reader:nextmsg", function(b) mtmsg.newreader():nextmsg(b) end, true, function() return true end)

do
    -- a timeout in a thread ends the wait with false
    local b = full_buffer(64)
    local ready = mtmsg.newbuffer()
    local t = U.thread(blocked_producer, b:id(), ready:id(), MSG, 0.2)
    T.eq(ready:nextmsg(10), "ready")
    local r = U.join(t, 10, function() b:close() end)
    T.results(T.pack(r[2], r[3]), true, false)
end

------------------------------------------------------------------------------
-- Threads: producers faster than the consumer through a small buffer;
-- nothing lost or duplicated, order kept per producer, every producer done
------------------------------------------------------------------------------
do
    local PRODUCERS, COUNT = 3, 3000
    local q = mtmsg.newbuffer(256, 0)
    local threads = {}
    for p = 1, PRODUCERS do
        threads[p] = U.thread(function(qid, p, count)
            local mtmsg = require "mtmsg"
            local q = mtmsg.buffer(qid)
            local w = mtmsg.newwriter()
            for i = 1, count do
                if i % 2 == 0 then
                    assert(q:putmsg(nil, p, i) == true)
                else
                    w:add(p, i)
                    assert(w:putmsg(q) == true)
                end
            end
            return count
        end, q:id(), p, COUNT)
    end
    local next_of = {}
    for p = 1, PRODUCERS do next_of[p] = 1 end
    local max_count = 0
    for k = 1, PRODUCERS * COUNT do
        local p, i = q:nextmsg(T.hang_limit(10))
        T.check(p ~= nil, "message " .. k .. " arrived")
        if i ~= next_of[p] then
            T.eq(i, next_of[p], "producer " .. p .. " in order")
        end
        next_of[p] = i + 1
        if k % 7 == 0 then mtmsg.sleep(0) end
        local c = q:msgcnt()
        if c > max_count then max_count = c end
    end
    for p = 1, PRODUCERS do
        T.eq(U.join(threads[p], 20, function() q:close() end)[1], COUNT)
        T.eq(next_of[p], COUNT + 1, "producer " .. p .. ": all messages")
    end
    T.eq(q:msgcnt(), 0, "nothing left or duplicated")
    T.check(max_count <= 256, "never more queued than fits")
end

------------------------------------------------------------------------------
-- Buffers of a listener: room freed by listener:nextmsg and listener:clear
------------------------------------------------------------------------------
do
    local l = mtmsg.newlistener()
    local b = l:newbuffer(64, 0)
    local other = l:newbuffer()
    other:addmsg("other")
    local n = 0
    while b:addmsg(MSG) do n = n + 1 end
    local ready = mtmsg.newbuffer()
    local t = U.thread(blocked_producer, b:id(), ready:id(), "FROMTHREAD", nil)
    T.eq(ready:nextmsg(10), "ready")
    mtmsg.sleep(0.15)
    T.eq(b:msgcnt(), n)
    -- round-robin: the first listener read may come from `other`
    repeat local m = l:nextmsg(1) until m == MSG
    local r = U.join(t, 10, function() l:close() end)
    T.results(T.pack(r[2], r[3]), true, true)
    T.eq(b:msgcnt(), n)
    -- listener:clear wakes too
    local t2 = U.thread(blocked_producer, b:id(), ready:id(), "AFTERCLEAR", nil)
    T.eq(ready:nextmsg(10), "ready")
    mtmsg.sleep(0.15)
    l:clear()
    local r2 = U.join(t2, 10, function() l:close() end)
    T.results(T.pack(r2[2], r2[3]), true, true)
    T.eq(b:msgcnt(), 1)
    T.eq(l:nextmsg(0), "AFTERCLEAR")
    -- closing the listener wakes a waiting producer with object_closed
    while b:addmsg(MSG) do end
    local t3 = U.thread(blocked_producer, b:id(), ready:id(), MSG, nil)
    T.eq(ready:nextmsg(10), "ready")
    mtmsg.sleep(0.15)
    l:close()
    local r3 = U.join(t3, 10)
    T.eq(r3[2], false)
    T.eq(r3[3], U.closed_err(b))
end

T.done("putmsg_test")
