-- The Sender C API of mtmsg.buffer (capi.md §5), driven by capitest:
-- draining values (every kind, arrays stepped over), return codes,
-- timeouts, "<" notifiers, listener buffers, several reading pthreads fed
-- by Lua threads or by C producers, retention.
-- Decision: nextMessageFromSender clears the reader first and
-- nextValueFromReader steps over an array's payload.
local T = require "testlib"
local H = require "lnw_helpers"
local mtmsg = require "mtmsg"
local capitest = require "capitest"
local carray = require "carray"

local collect = H.collect

-- sender value types
local NIL, BOOLEAN, INTEGER, NUMBER, CFUNCTION, STRING, ARRAY, TABLE = 1, 2, 3, 4, 6, 7, 8, 9

local function types_of(m)
    local t = {}
    for i = 1, m.n do t[i] = m.types[i] end
    return table.concat(t, ",")
end

H.guard(function()

-- ---------------------------------------------------------------- (b) values
do
    local b = mtmsg.newbuffer()
    local ints = carray.new("int", 2) -- all zero: the original decoded the payload as 8 NILs
    local chars = carray.new("char"); chars:append("xyz")
    local dbl = carray.new("double", 3); dbl:set(1, 1.5, 2.5, 3.5)
    local long = string.rep("L", 300) .. "\0end"
    b:addmsg(nil, true, false, 7, 300, -1, 1.5, "str", mtmsg.time, ints, "after", chars, carray.new("short", 0), dbl,
        long, 0)
    local msgs, rc, err = capitest.sender_drain(b, 1, 0)
    T.eq(rc, 0); T.eq(err, nil)
    T.eq(#msgs, 1)
    local m = msgs[1]
    T.eq(m.n, 16, "16 values: arrays are stepped over")
    T.eq(types_of(m), table.concat({ NIL, BOOLEAN, BOOLEAN, INTEGER, INTEGER, INTEGER, NUMBER, STRING, CFUNCTION,
        ARRAY, STRING, ARRAY, ARRAY, ARRAY, STRING, INTEGER }, ","))
    T.eq(m[2], true); T.eq(m[3], false)
    T.eq(m[4], 7); T.eq(m[5], 300); T.eq(m[6], -1); T.eq(m[7], 1.5); T.eq(m[8], "str")
    T.eq(type(m[9]), "function")
    T.near(m[9](), mtmsg.time(), 5, "the C function pointer comes back callable")
    if not (T.lua51 or T.luajit) then T.eq(m[9], mtmsg.time, "5.2+: the same C function") end
    T.eq(m[10].type, 5); T.eq(m[10].elementSize, 4); T.eq(m[10].count, 2); T.eq(m[10].bytes, string.rep("\0", 8))
    T.eq(m[11], "after", "the value after an array")
    T.eq(m[12].type, 1); T.eq(m[12].elementSize, 1); T.eq(m[12].count, 3); T.eq(m[12].bytes, "xyz")
    T.eq(m[13].type, 3); T.eq(m[13].count, 0); T.eq(m[13].bytes, "")
    T.eq(m[14].type, 10); T.eq(m[14].elementSize, 8); T.eq(m[14].count, 3); T.eq(#m[14].bytes, 24)
    T.eq(m[15], long)
    T.eq(m[16], 0)
    T.eq(b:msgcnt(), 0, "the message was removed")

    -- tables (our extension): one TABLE value each, no payload, stepped
    -- over whole (nested tables and arrays in them included); a table met
    -- again in the message is another TABLE value; what follows is intact
    local shared = { "s", { dbl, { ints } } }
    local cyc = { shared = shared }
    cyc.self = cyc
    b:addmsg(1, cyc, "after table", shared, 2.5, {}, cyc, long, { [shared] = shared })
    msgs, rc = capitest.sender_drain(b, 1, 0)
    T.eq(rc, 0)
    m = msgs[1]
    T.eq(m.n, 9)
    T.eq(types_of(m), table.concat({ INTEGER, TABLE, STRING, TABLE, NUMBER, TABLE, TABLE, STRING, TABLE }, ","))
    T.eq(m[1], 1); T.eq(m[3], "after table"); T.eq(m[5], 2.5); T.eq(m[8], long)
    for _, i in ipairs({ 2, 4, 6, 7, 9 }) do T.eq(m[i], "<table>", "no payload in value " .. i) end
    T.eq(b:msgcnt(), 0)

    -- several messages, then rc 3 (no message)
    b:addmsg(1); b:addmsg(); b:addmsg("x", "y"); b:addmsg(nil)
    msgs, rc = capitest.sender_drain(b, 10, 0)
    T.eq(#msgs, 4); T.eq(rc, 3, "rc 3: no message")
    T.eq(msgs[1].n, 1); T.eq(msgs[1][1], 1)
    T.eq(msgs[2].n, 0, "an empty message")
    T.eq(msgs[3].n, 2); T.eq(msgs[3][2], "y")
    T.eq(msgs[4].n, 1); T.eq(msgs[4].types[1], NIL)

    -- the same reader over messages of different lengths: no stale values
    b:addmsg("a1", "a2", "a3", carray.new("int", 4))
    b:addmsg("b1")
    b:addmsg(carray.new("double", 1), "c2")
    msgs = capitest.sender_drain(b, 3, 0)
    T.eq(msgs[1].n, 4); T.eq(msgs[2].n, 1); T.eq(msgs[2][1], "b1")
    T.eq(msgs[3].n, 2); T.eq(msgs[3][2], "c2")
    T.eq(types_of(msgs[3]), ARRAY .. "," .. STRING)

    if T.has_integers then
        b:addmsg(1.0, 2 ^ 53, math.maxinteger)
        msgs = capitest.sender_drain(b, 1, 0)
        T.eq(types_of(msgs[1]), NUMBER .. "," .. NUMBER .. "," .. INTEGER)
        T.eq(msgs[1][3], math.maxinteger)
    else
        b:addmsg(1.0, 0.5)
        msgs = capitest.sender_drain(b, 1, 0)
        T.eq(types_of(msgs[1]), INTEGER .. "," .. NUMBER, "5.1: integral numbers are integers")
    end
end

-- ---------------------------------------------------------------- return codes and timeouts
do
    local b = mtmsg.newbuffer()
    local t0 = mtmsg.time()
    local msgs, rc = capitest.sender_drain(b, 1, 0.3)
    T.eq(#msgs, 0); T.eq(rc, 3)
    T.near(mtmsg.time() - t0, 0.3, 0.15, "timeout 0.3 waits")
    t0 = mtmsg.time()
    msgs, rc = capitest.sender_drain(b, 1, -1, true)
    T.eq(rc, 3, "no timeout + nonblock: one attempt")
    T.eq(#msgs, 0)
    T.check(mtmsg.time() - t0 < 0.2)
    msgs, rc = capitest.sender_drain(b, 1, 0)
    T.eq(rc, 3)
    T.eq(#msgs, 0)
    msgs, rc = capitest.sender_drain(b, 1, -5, true)
    T.eq(rc, 3, "negative timeout: no deadline, nonblock decides")
    T.eq(#msgs, 0)

    -- woken by a Lua thread's addmsg
    local t = H.start(function(bid)
        local mtmsg = require "mtmsg"
        mtmsg.sleep(0.2)
        mtmsg.buffer(bid):addmsg("wake")
        return true
    end, b:id())
    t0 = mtmsg.time()
    msgs, rc = capitest.sender_drain(b, 1, 5)
    T.eq(rc, 0); T.eq(msgs[1][1], "wake")
    T.check(mtmsg.time() - t0 < 3, "woken before the timeout")
    H.join(t)
    -- no timeout, blocking
    t = H.start(function(bid)
        local mtmsg = require "mtmsg"
        mtmsg.sleep(0.2)
        mtmsg.buffer(bid):addmsg("wake2")
        return true
    end, b:id())
    msgs, rc = capitest.sender_drain(b, 1, -1)
    T.eq(rc, 0); T.eq(msgs[1][1], "wake2")
    H.join(t)

    -- closed: 1, aborted: 2 (messages kept)
    b:addmsg("kept")
    b:abort()
    msgs, rc = capitest.sender_drain(b, 1, 0)
    T.eq(rc, 2); T.eq(#msgs, 0)
    T.eq(b:msgcnt(), 1)
    b:abort(false)
    msgs, rc = capitest.sender_drain(b, 5, 0)
    T.eq(#msgs, 1); T.eq(msgs[1][1], "kept")
    T.eq(rc, 3, "timeout after the kept message")
    b:close()
    msgs, rc = capitest.sender_drain(b, 1, 0)
    T.eq(rc, 1, "rc 1: closed")
    T.eq(#msgs, 0)
    msgs, rc = capitest.sender_drain(b, 1, -1)
    T.eq(rc, 1)
    T.eq(#msgs, 0)

    -- aborting wakes a C reader blocked without timeout
    local w = mtmsg.newbuffer()
    t = H.start(function(bid)
        local mtmsg = require "mtmsg"
        mtmsg.sleep(0.3)
        mtmsg.buffer(bid):abort()
        return true
    end, w:id())
    t0 = mtmsg.time()
    msgs, rc = capitest.sender_drain(w, 1, -1)
    T.eq(rc, 2, "woken by abort")
    T.eq(#msgs, 0)
    T.check(mtmsg.time() - t0 < 3)
    H.join(t)

    -- not senders
    T.raises(function() capitest.sender_drain(mtmsg.newlistener(), 1, 0) end, "sender capi not found")
    T.raises(function() capitest.sender_drain(mtmsg.newwriter(), 1, 0) end, "sender capi not found")
    local fake = setmetatable({}, debug.getmetatable(mtmsg.newbuffer()))
    T.raises(function() capitest.sender_drain(fake, 1, 0) end, "invalid sender (toSender returned NULL)")
end

-- ---------------------------------------------------------------- "<" notifiers
do
    local b = mtmsg.newbuffer()
    local nb = mtmsg.newbuffer()
    b:notifier(nb, "<")
    b:addmsg(1); b:addmsg(2)
    local msgs, rc = capitest.sender_drain(b, 5, 0)
    T.eq(#msgs, 2); T.eq(rc, 3)
    T.eq(nb:msgcnt(), 2, "nextMessageFromSender triggers <")
    b:notifier(nil, "<")
    local n = capitest.new_notifier(9, { "drain failed" })
    b:notifier(n, "<", 0)
    b:addmsg("x"); b:addmsg("y")
    local err
    msgs, rc, err = capitest.sender_drain(b, 5, 0)
    T.eq(rc, 999, "rc 999: the < notifier failed")
    T.eq(err, "Error while calling notifier: drain failed")
    T.eq(#msgs, 1, "the message was moved into the reader")
    T.eq(msgs[1][1], "x")
    T.eq(b:msgcnt(), 1)
    n:setrc(0)
    msgs, rc = capitest.sender_drain(b, 5, 0)
    T.eq(#msgs, 1); T.eq(msgs[1][1], "y")
    T.eq(rc, 3)
    T.eq(n:count(), 2)
end

-- ---------------------------------------------------------------- listener buffers
do
    local l = mtmsg.newlistener()
    local a, c = l:newbuffer(), l:newbuffer()
    a:addmsg("a1"); a:addmsg("a2"); c:addmsg("c1")
    local msgs = capitest.sender_drain(a, 1, 0)
    T.eq(msgs[1][1], "a1")
    local rest = {}
    rest[#rest + 1] = l:nextmsg(0)
    rest[#rest + 1] = l:nextmsg(0)
    table.sort(rest)
    T.eq(table.concat(rest, " "), "a2 c1", "the listener sees the remaining messages once")
    T.eq(select("#", l:nextmsg(0)), 0)
    a:addmsg("a3")
    msgs = capitest.sender_drain(a, 1, 0)
    T.eq(msgs[1][1], "a3")
    T.eq(select("#", l:nextmsg(0)), 0, "drained buffer left the ready queue")
end

-- ---------------------------------------------------------------- pthread readers
do -- Lua threads produce, C threads read (ordering checked per producer)
    local b = mtmsg.newbuffer()
    local NP, N = 3, 300
    local job = capitest.sender_threads(b, 3, NP * N, 0.1, 8)
    local producers = {}
    for p = 1, NP do
        producers[p] = H.start(function(bid, t, n)
            local mtmsg = require "mtmsg"
            local b = mtmsg.buffer(bid)
            for seq = 1, n do
                assert(b:addmsg(t, seq, "t" .. t .. "-" .. seq, true, seq + 0.5, 1, 2))
            end
            return n
        end, b:id(), p, N)
    end
    for p = 1, NP do T.eq(H.join(producers[p]), N) end
    local total, rc, ok, text, diag = job:join()
    T.eq(total, NP * N, "every message read exactly once")
    T.eq(rc, 0, "first error rc " .. tostring(text))
    T.eq(ok, true, "order and contents: " .. tostring(diag))
    T.eq(b:msgcnt(), 0)
end

do -- C producers and C readers on one buffer
    local b = mtmsg.newbuffer()
    local readers = capitest.sender_threads(b, 4, 2000, 0.05, 8)
    local feed = capitest.receiver_feed(b, 4, 500)
    T.results(T.pack(feed:join()), 2000, 0, nil)
    local total, rc, ok, text, diag = readers:join()
    T.eq(total, 2000)
    T.eq(rc, 0, tostring(text))
    T.eq(ok, true, tostring(diag))
    T.eq(b:msgcnt(), 0)
end

do -- C readers on a fixed buffer with C producers (backpressure both ways)
    local b = mtmsg.newbuffer(100, 0)
    local readers = capitest.sender_threads(b, 2, 800, 0, 8)
    local feed = capitest.receiver_feed(b, 4, 200)
    T.results(T.pack(feed:join()), 800, 0, nil)
    local total, rc, ok, text, diag = readers:join()
    T.eq(total, 800); T.eq(rc, 0, tostring(text)); T.eq(ok, true, tostring(diag))
end

do -- readers retain the buffer; closing it ends them with rc 1
    local b = mtmsg.newbuffer("snd-retained")
    local id = b:id()
    local readers = capitest.sender_threads(b, 2, 10, 0.05, 8)
    b:addmsg(1, 1); b:addmsg(1, 2)
    b = nil -- luacheck: ignore 311 (GC drop)
    collect()
    local r = mtmsg.buffer(id)
    mtmsg.sleep(0.2)
    r:close()
    r = nil -- luacheck: ignore 311 (GC drop)
    local total, rc = readers:join()
    T.eq(total, 2)
    T.eq(rc, 1, "closed while reading")
    readers = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.raises_exactly(function() mtmsg.buffer(id) end, "mtmsg.error.unknown_object: buffer id " .. id)
end

end)

T.done("capi_sender")
