-- Timeouts (single thread): nextmsg(0 / negative / t) on empty buffers,
-- nonblock mode with and without timeout, odd timeout values, mtmsg.time and
-- mtmsg.sleep durations.
-- Edge cases (spec/edge-cases.md): 36-38, 55; spec/mtmsg.md §8, §15.
-- Tolerances are generous (shared CI machines): lower bounds are tight,
-- upper bounds only catch "waited far too long / forever".
local T = require "testlib"
local U = require "buftest_util"
local mtmsg = require "mtmsg"

------------------------------------------------------------------------------
-- mtmsg.time
------------------------------------------------------------------------------
do
    local t = mtmsg.time()
    T.eq(type(t), "number")
    if T.has_integers then T.eq(math.type(t), "float", "time() is a float") end
    T.check(math.abs(t - os.time()) < 2, "time() is seconds since the epoch: " .. t .. " vs " .. os.time())
    -- non-decreasing, sub-second resolution
    local prev, fractional = t, false
    for _ = 1, 20 do
        mtmsg.sleep(0.003)
        local now = mtmsg.time()
        T.check(now >= prev, "time() does not go backwards")
        if now ~= math.floor(now) then fractional = true end
        prev = now
    end
    T.check(fractional, "time() has sub-second precision")
    T.check(prev - t >= 0.05, "20 sleeps of 3 ms take at least 50 ms: " .. (prev - t))
end

------------------------------------------------------------------------------
-- [36] zero and negative timeouts return at once with zero values
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    local dt, r = U.timed(b.nextmsg, b, 0)
    T.eq(r.n, 0, "nextmsg(0) on an empty buffer: zero values")
    T.check(dt < 0.2, "nextmsg(0) returns at once: " .. dt)
    dt, r = U.timed(b.nextmsg, b, -1)
    T.eq(r.n, 0, "nextmsg(-1): zero values")
    T.check(dt < 0.2, "nextmsg(-1) returns at once: " .. dt)
    dt, r = U.timed(b.nextmsg, b, -math.huge)
    T.eq(r.n, 0, "nextmsg(-inf): zero values")
    T.check(dt < 0.2, "nextmsg(-inf) returns at once: " .. dt)
    dt, r = U.timed(b.nextmsg, b, 0.0)
    T.eq(r.n, 0, "nextmsg(0.0): zero values")
    T.check(dt < 0.2, "nextmsg(0.0) returns at once: " .. dt)
    -- nonblock mode without timeout
    b:nonblock()
    dt, r = U.timed(b.nextmsg, b)
    T.eq(r.n, 0, "nonblock nextmsg(): zero values")
    T.check(dt < 0.2, "nonblock nextmsg() returns at once: " .. dt)
    dt, r = U.timed(b.nextmsg, b, nil)
    T.eq(r.n, 0, "nonblock nextmsg(nil): zero values")
    T.check(dt < 0.2, "nonblock nextmsg(nil) returns at once: " .. dt)
    -- zero / negative timeouts deliver queued messages
    b:nonblock(false)
    b:addmsg("a"); b:addmsg("b"); b:addmsg("c")
    T.results(T.pack(b:nextmsg(0)), "a")
    T.results(T.pack(b:nextmsg(-1)), "b")
    T.results(T.pack(b:nextmsg(-math.huge)), "c")
    T.eq(T.pack(b:nextmsg(0)).n, 0)
    -- many zero-timeout polls are cheap (no hidden sleeping)
    dt = U.timed(function() for _ = 1, 1000 do b:nextmsg(0) end end)
    T.check(dt < 1, "1000 x nextmsg(0) take less than 1 s: " .. dt)
end

------------------------------------------------------------------------------
-- [37] nextmsg(0.4) on an empty buffer waits about 0.4 s
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    local dt, r = U.timed(b.nextmsg, b, 0.4)
    T.eq(r.n, 0, "timed out nextmsg returns zero values (not nil)")
    T.check(dt >= 0.38, "nextmsg(0.4) waited at least 0.4 s: " .. dt)
    T.check(dt <= 0.4 + 0.25, "nextmsg(0.4) returned within 0.65 s: " .. dt)
    -- short timeouts
    dt, r = U.timed(b.nextmsg, b, 0.05)
    T.eq(r.n, 0)
    T.check(dt >= 0.04, "nextmsg(0.05) waited: " .. dt)
    T.check(dt < 0.05 + 0.25, "nextmsg(0.05) returned in time: " .. dt)
    -- a numeric timeout with a message queued returns at once
    b:addmsg("quick")
    dt, r = U.timed(b.nextmsg, b, 3)
    T.results(r, "quick")
    T.check(dt < 0.5, "nextmsg(3) with a queued message returns at once: " .. dt)
    -- a closed / aborted buffer does not wait for the timeout
    b:abort()
    dt = U.timed(function() T.raises_exactly(function() b:nextmsg(3) end, U.ABORTED) end)
    T.check(dt < 0.5, "aborted buffer raises without waiting: " .. dt)
    b:abort(false)
    b:close()
    dt = U.timed(function() T.raises_exactly(function() b:nextmsg(3) end, U.closed_err(b)) end)
    T.check(dt < 0.5, "closed buffer raises without waiting: " .. dt)
end

------------------------------------------------------------------------------
-- [38] a positive timeout waits even in nonblock mode
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    b:nonblock()
    local dt, r = U.timed(b.nextmsg, b, 0.3)
    T.eq(r.n, 0)
    T.check(dt >= 0.28, "nonblock nextmsg(0.3) waited: " .. dt)
    T.check(dt <= 0.3 + 0.25, "nonblock nextmsg(0.3) returned in time: " .. dt)
    -- listener buffers behave the same
    local lb = mtmsg.newlistener():newbuffer()
    dt, r = U.timed(lb.nextmsg, lb, 0.2)
    T.eq(r.n, 0)
    T.check(dt >= 0.18, "listener buffer nextmsg(0.2) waited: " .. dt)
    T.check(dt <= 0.2 + 0.25, "listener buffer nextmsg(0.2) returned in time: " .. dt)
end

------------------------------------------------------------------------------
-- odd but valid timeout numbers with a queued message
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    -- (NaN is a bad argument: see buffer_errors_test)
    for _, t in ipairs { math.huge, 1e300, 2 ^ 40, 1e-9 } do
        b:addmsg("m", 1)
        local dt, r = U.timed(b.nextmsg, b, t)
        T.results(r, "m", 1)
        T.check(dt < 0.5, "nextmsg(" .. tostring(t) .. ") with a queued message: " .. dt)
    end
    -- numeric strings are not timeouts (see buffer_errors); numbers as
    -- integers and floats are
    b:addmsg(1)
    T.eq(b:nextmsg(1), 1)
    b:addmsg(2)
    T.eq(b:nextmsg(1.0), 2)
    -- a tiny positive timeout on an empty buffer returns promptly
    local dt, r = U.timed(b.nextmsg, b, 1e-9)
    T.eq(r.n, 0)
    T.check(dt < 0.25, "nextmsg(1e-9) returns promptly: " .. dt)
    dt, r = U.timed(b.nextmsg, b, 0.001)
    T.eq(r.n, 0)
    T.check(dt < 0.25, "nextmsg(0.001) returns promptly: " .. dt)
end

------------------------------------------------------------------------------
-- [55] sleep durations
------------------------------------------------------------------------------
do
    local dt = U.timed(mtmsg.sleep, 0.25)
    T.check(dt >= 0.24, "sleep(0.25) lower bound: " .. dt)
    T.check(dt <= 0.25 + 0.25, "sleep(0.25) upper bound: " .. dt)
    dt = U.timed(mtmsg.sleep, "0.05")
    T.check(dt >= 0.04 and dt <= 0.05 + 0.25, "sleep('0.05'): " .. dt)
    dt = U.timed(mtmsg.sleep, 1e-9)
    T.check(dt < 0.25, "sleep(1e-9): " .. dt)
    dt = U.timed(function() mtmsg.sleep(0); mtmsg.sleep(-5) end)
    T.check(dt < 0.1, "sleep(0), sleep(-5): " .. dt)
end

T.done("buffer_timeouts")
