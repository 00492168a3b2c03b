-- The Receiver C API of mtmsg.buffer (capi.md §4), driven by the C test
-- module capitest: feeding buffers from several pthreads while Lua consumes
-- with exact accounting, single sends with every value kind and return
-- code, retention by C holders, notifier failures inside a C API call,
-- and hostile writer input (capitest.hostile).
-- Decisions: [30] a rejected msgToReceiver with clear set leaves the buffer
-- as it was; writer-add codes 0 / -1 (fixed writer overflow) / -2 (allocation
-- failure); to-object functions return NULL for foreign values.
local T = require "testlib"
local H = require "lnw_helpers"
local mtmsg = require "mtmsg"
local capitest = require "capitest"
local carray = require "carray"

local collect = H.collect

local function none(...) return select("#", ...) == 0 end

-- Checks one message as sent by capitest.receiver_feed:
-- (t, seq, "t<t>-<seq>", true, seq + 0.5, 1, 2). Returns t, seq.
local function check_feed_msg(m, what)
    T.eq(m.n, 7, (what or "") .. " values")
    local t, seq = m[1], m[2]
    T.eq(m[3], "t" .. tostring(t) .. "-" .. tostring(seq))
    T.eq(m[4], true)
    T.eq(m[5], seq + 0.5)
    T.eq(m[6], 1); T.eq(m[7], 2)
    if T.has_integers then
        T.eq(math.type(t), "integer"); T.eq(math.type(seq), "integer")
        T.eq(math.type(m[5]), "float")
        T.eq(math.type(m[6]), "integer")
    end
    return t, seq
end

-- Consumes `total` feed messages from `src` (buffer or listener) and checks
-- the per-producer order; returns the per-producer counts.
local function consume_feed(src, nthreads, total, timeout)
    local last, counts = {}, {}
    for i = 1, nthreads do last[i] = 0; counts[i] = 0 end
    local bad = 0
    for k = 1, total do
        local m = T.pack(src:nextmsg(timeout or 5))
        if m.n == 0 then
            T.check(false, "message #" .. k .. " of " .. total .. " did not arrive")
        end
        local t, seq = m[1], m[2]
        if m.n ~= 7 or seq ~= last[t] + 1 then
            bad = bad + 1
            if bad < 3 then
                check_feed_msg(m, "message #" .. k)
                T.eq(seq, last[t] + 1, "order of producer " .. tostring(t))
            end
        else
            -- full check for a sample only (speed)
            if k % 97 == 1 then check_feed_msg(m) end
        end
        last[t] = seq
        counts[t] = counts[t] + 1
    end
    T.eq(bad, 0, "messages out of order or malformed")
    return counts
end

H.guard(function()

-- ---------------------------------------------------------------- (a) feeding from pthreads
do -- a growing buffer, 4 producers
    local b = mtmsg.newbuffer()
    local job = capitest.receiver_feed(b, 4, 500)
    local counts = consume_feed(b, 4, 2000)
    for i = 1, 4 do T.eq(counts[i], 500, "producer " .. i) end
    T.results(T.pack(job:join()), 2000, 0, nil)
    T.check(none(b:nextmsg(0)), "nothing more")
    T.eq(b:msgcnt(), 0)
end

do -- two listener buffers fed concurrently, consumed through the listener
    local l = mtmsg.newlistener()
    local b1, b2 = l:newbuffer(), l:newbuffer()
    local j1 = capitest.receiver_feed(b1, 2, 400)
    local j2 = capitest.receiver_feed(b2, 2, 400)
    local per = {}
    for k = 1, 1600 do
        local m = T.pack(l:nextmsg(5))
        T.eq(m.n, 7, "message #" .. k)
        per[m[3]] = (per[m[3]] or 0) + 1
    end
    local dups = 0
    for _, c in pairs(per) do if c ~= 2 then dups = dups + 1 end end
    -- each "t<t>-<seq>" string occurs once per buffer
    T.eq(dups, 0, "every message of both buffers exactly once")
    T.results(T.pack(j1:join()), 800, 0, nil)
    T.results(T.pack(j2:join()), 800, 0, nil)
    T.check(none(l:nextmsg(0)))
end

do -- a small fixed buffer: producers retry on rc 4 while Lua consumes
    local b = mtmsg.newbuffer(48, 0) -- room for one feed message
    local job = capitest.receiver_feed(b, 2, 200)
    local counts = consume_feed(b, 2, 400)
    T.eq(counts[1], 200); T.eq(counts[2], 200)
    T.results(T.pack(job:join()), 400, 0, nil)
    T.eq(b:msgcnt(), 0)
end

do -- nonblock sends: producers retry on rc 3 while Lua consumes
    local b = mtmsg.newbuffer()
    local job = capitest.receiver_feed(b, 4, 300, true)
    local counts = consume_feed(b, 4, 1200)
    for i = 1, 4 do T.eq(counts[i], 300) end
    T.results(T.pack(job:join()), 1200, 0, nil)
end

do -- Lua threads consume concurrently with C producers (listener + reader)
    local l = mtmsg.newlistener()
    local b = l:newbuffer()
    local consumers = {}
    for i = 1, 2 do
        consumers[i] = H.start(function(lid)
            local mtmsg = require "mtmsg"
            local l = mtmsg.listener(lid)
            local r = mtmsg.newreader()
            local n = 0
            while true do
                if not r:nextmsg(l, 5) then return n, "timeout" end
                local t = r:next()
                if t == "stop" then return n end
                n = n + 1
            end
        end, l:id())
    end
    local job = capitest.receiver_feed(b, 3, 400)
    T.results(T.pack(job:join()), 1200, 0, nil)
    b:addmsg("stop"); b:addmsg("stop")
    local total = 0
    for i = 1, 2 do
        local n, err = H.join(consumers[i])
        T.eq(err, nil, "consumer " .. i)
        total = total + n
    end
    T.eq(total, 1200, "each message consumed exactly once")
end

do -- closed / aborted receivers
    local b = mtmsg.newbuffer()
    b:close()
    local sent, rc = capitest.receiver_feed(b, 2, 10):join()
    T.eq(sent, 0); T.eq(rc, 1, "rc 1: receiver closed")
    local a = mtmsg.newbuffer()
    a:abort()
    sent, rc = capitest.receiver_feed(a, 2, 10):join()
    T.eq(sent, 0); T.eq(rc, 2, "rc 2: receiver aborted")
    T.eq(a:msgcnt(), 0)
    a:abort(false)
    T.eq(capitest.receiver_send(a, { 1 }), 0, "usable again after abort(false)")
    mtmsg.abort()
    local grc = capitest.receiver_send(a, { 2 })
    mtmsg.abort(false)
    T.eq(grc, 2, "rc 2 under the global abort")
    T.eq(a:msgcnt(), 1)
end

do -- a C holder keeps the buffer alive and findable
    local b = mtmsg.newbuffer("rcv-retained")
    local id = b:id()
    local job = capitest.receiver_feed(b, 1, 20)
    b = nil -- luacheck: ignore 311 (GC drop)
    collect()
    local r = mtmsg.buffer(id) -- retained by the job until join()
    T.eq(r:name(), "rcv-retained")
    consume_feed(r, 1, 20)
    T.results(T.pack(job:join()), 20, 0, nil)
    T.eq(mtmsg.buffer("rcv-retained"):id(), id, "still referenced by r")
    r = nil -- luacheck: ignore 311 (GC drop)
    job = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.raises_exactly(function() mtmsg.buffer(id) end, "mtmsg.error.unknown_object: buffer id " .. id)
end

-- ---------------------------------------------------------------- receiver_send
do -- every value kind
    local b = mtmsg.newbuffer()
    local ca = carray.new("int", 3); ca:set(1, 7, 8, 9)
    local rc, err = capitest.receiver_send(b, {
        true, false, 42, -7, 300, 2 ^ 40, 1.5, "str", "a\0b",
        { bytes = "\0\1\255" },
        { array = 1, count = 3, data = "abc" },
        { array = 10, count = 2 },
        { array = 5, count = 0 },
        ca,
        "end",
    })
    T.eq(rc, 0); T.eq(err, nil)
    local m = T.pack(b:nextmsg(0))
    T.eq(m.n, 17)
    T.eq(m[1], true); T.eq(m[2], false); T.eq(m[3], 42); T.eq(m[4], -7); T.eq(m[5], 300)
    T.eq(m[6], 2 ^ 40); T.eq(m[7], 1.5); T.eq(m[8], "str"); T.eq(m[9], "a\0b")
    T.eq(m[10], 0); T.eq(m[11], 1); T.eq(m[12], 255) -- addBytesToWriter: one integer per byte
    T.eq(mtmsg.type(m[13]), "carray"); T.eq(m[13]:type(), "unsigned char"); T.eq(m[13]:tostring(), "abc")
    T.eq(m[14]:type(), "double"); T.eq(m[14]:len(), 2); T.eq(m[14]:get(1), 0)
    T.eq(m[15]:type(), "int"); T.eq(m[15]:len(), 0)
    T.eq(m[16]:type(), "int"); T.eq(table.concat({ m[16]:get(1, 3) }, ","), "7,8,9")
    T.check(m[16] ~= ca)
    T.eq(m[17], "end")
    if T.has_integers then
        T.eq(math.type(m[3]), "integer"); T.eq(math.type(m[6]), "float", "2^40 sent as a number")
        T.eq(math.type(m[10]), "integer")
    end

    -- an empty message
    T.eq(capitest.receiver_send(b, {}), 0)
    T.eq(b:msgcnt(), 1)
    T.results(T.pack(b:nextmsg(0)))
    -- nonblock without contention
    T.eq(capitest.receiver_send(b, { "nb" }, false, true), 0)
    T.eq(b:nextmsg(0), "nb")
end

do -- clear (setmsg semantics), full (4), too large (5), [30]
    local b = mtmsg.newbuffer("rcv-fixed", 16, 0)
    b:addmsg("a"); b:addmsg("b"); b:addmsg("c") -- 3 x 4 bytes
    T.eq(capitest.receiver_send(b, { "dd" }), 4, "rc 4: queued + new exceed the fixed size")
    T.eq(b:msgcnt(), 3)
    T.eq(capitest.receiver_send(b, { string.rep("x", 20) }), 5, "rc 5: the message alone is too large")
    T.eq(capitest.receiver_send(b, { string.rep("x", 20) }, true), 5, "rc 5 with clear")
    T.eq(b:msgcnt(), 3, "[30] a rejected clear-send leaves the buffer as it was")
    T.eq(b:nextmsg(0), "a")
    T.eq(capitest.receiver_send(b, { "dd" }), 0, "fits again")
    T.eq(capitest.receiver_send(b, { "set" }, true), 0, "clear: discard, then add")
    T.eq(b:msgcnt(), 1)
    T.results(T.pack(b:nextmsg(0)), "set")
    T.eq(capitest.receiver_send(b, { string.rep("y", 13) }), 0, "exactly 16 bytes")
    T.eq(b:msgcnt(), 1)
    b:close()
    T.eq(capitest.receiver_send(b, { 1 }), 1, "rc 1: closed")
    T.eq(capitest.receiver_send(b, { 1 }, true), 1)
    local a = mtmsg.newbuffer()
    a:abort()
    T.eq(capitest.receiver_send(a, { 1 }), 2, "rc 2: aborted")
    T.eq(capitest.receiver_send(a, { 1 }, true, true), 2)
    a:abort(false)
    T.eq(a:msgcnt(), 0)

    -- a listener buffer: msgToReceiver queues it in its listener
    local l = mtmsg.newlistener()
    local lb1, lb2 = l:newbuffer(), l:newbuffer()
    lb1:addmsg("m1")
    T.eq(capitest.receiver_send(lb2, { "m2" }), 0)
    lb1:addmsg("m3")
    T.eq(capitest.receiver_send(lb2, { "m4" }, true), 0) -- keeps lb2's place
    T.eq(l:nextmsg(0), "m1"); T.eq(l:nextmsg(0), "m4"); T.eq(l:nextmsg(0), "m3")
    T.check(none(l:nextmsg(0)))
end

do -- writer-add return codes (decision: 0 / -1 / -2)
    local b = mtmsg.newbuffer()
    T.results(T.pack(capitest.receiver_send(b, { "12345" }, false, false, 4, 0)), nil, "addStringToWriter failed", -1)
    T.results(T.pack(capitest.receiver_send(b, { true, true, true }, false, false, 4, 0)),
        nil, "addBooleanToWriter failed", -1)
    T.results(T.pack(capitest.receiver_send(b, { 1, 2 }, false, false, 4, 0)), 0, nil)
    T.results(T.pack(capitest.receiver_send(b, { { array = 99, count = 1 } })), nil, "addArrayToWriter failed", "NULL")
    T.results(T.pack(capitest.receiver_send(b, { { array = 0, count = 1 } })), nil, "addArrayToWriter failed", "NULL")
    T.results(T.pack(capitest.receiver_send(b, { { array = 5, count = 100 } }, false, false, 16, 0)),
        nil, "addArrayToWriter failed", "NULL")
    T.eq(b:msgcnt(), 1, "failed writers were not sent")
    T.results(T.pack(b:nextmsg(0)), 1, 2)
end

do -- not receivers
    local l = mtmsg.newlistener()
    T.raises(function() capitest.receiver_send(l, {}) end, "receiver capi not found")
    T.raises(function() capitest.receiver_send(mtmsg.newwriter(), {}) end, "receiver capi not found")
    T.raises(function() capitest.receiver_send(mtmsg.newreader(), {}) end, "receiver capi not found")
    -- a foreign value carrying the buffer metatable: toReceiver gives NULL
    local fake = setmetatable({}, debug.getmetatable(mtmsg.newbuffer()))
    T.raises(function() capitest.receiver_send(fake, {}) end, "invalid receiver (toReceiver returned NULL)")
end

-- ---------------------------------------------------------------- notifiers inside a C API call
do
    local b = mtmsg.newbuffer()
    local nb = mtmsg.newbuffer()
    b:notifier(nb)
    T.eq(capitest.receiver_send(b, { 1 }), 0)
    T.eq(nb:msgcnt(), 1, "msgToReceiver triggers the > notifier")
    b:notifier(nil)

    local n = capitest.new_notifier(5, { "bad thing" })
    b:notifier(n)
    T.results(T.pack(capitest.receiver_send(b, { 2 })), 999, "Error while calling notifier: bad thing")
    T.eq(b:msgcnt(), 2, "the message was stored")
    n:setrc(6, { "first", "second" })
    T.results(T.pack(capitest.receiver_send(b, { 3 })), 999, "Error while calling notifier: first\nsecond")
    n:setrc(7, {})
    T.results(T.pack(capitest.receiver_send(b, { 4 })), 999, "Unknown error while calling notifier. (rc=7)")
    T.eq(b:msgcnt(), 4)
    T.eq(n:count(), 3)
    n:setrc(1)
    T.results(T.pack(capitest.receiver_send(b, { 5 })), 0, nil)
    T.eq(n:count(), 4)
    T.eq(capitest.receiver_send(b, { 6 }), 0)
    T.eq(n:count(), 4, "a closed notifier is not called again")
    T.eq(n:refs(), 1, "and was released")
    -- an aborted notifier buffer (no handler text): rc 2 of the inner notify
    local ab = mtmsg.newbuffer()
    b:notifier(ab)
    ab:abort()
    T.results(T.pack(capitest.receiver_send(b, { 7 })), 999, "Unknown error while calling notifier. (rc=2)")
    T.eq(b:msgcnt(), 7)
end

-- ---------------------------------------------------------------- (d) hostile input
do -- to-object checks, bad arrays, fixed and growing writers on a fixed buffer
    local b = mtmsg.newbuffer(64, 0)
    local r = capitest.hostile(b, 10000, 100000)
    for _, k in ipairs({ "free_null", "to_self_ok", "to_negative_index_ok", "to_light_null", "to_table_null",
                         "to_nil_null", "to_number_null", "to_string_null", "to_plain_udata_null",
                         "to_other_class_null", "writer00_created", "array_bad_type_null", "array_type0_null",
                         "array_negative_type_null", "array_huge_int_null", "array_huge_uchar_null",
                         "array_wrap_double_null", "array_max_double_null", "fixed_writer_created",
                         "fixed_array_overflow_null", "grow_writer_created" }) do
        T.eq(r[k], true, k)
    end
    T.eq(r.pre_add_rc, 0, "pre_add_rc: a (0, 0) writer allocates lazily")
    T.eq(r.bad_array_writer_send_rc, 0, "the writer kept (7) after failed array adds")
    T.eq(r.fixed_overflow_rc, -1, "fixed_overflow_rc")
    T.eq(r.fixed_huge_string_rc, -1, "fixed_huge_string_rc")
    T.eq(r.fixed_wrap_string_rc, -1, "fixed_wrap_string_rc")
    T.eq(r.fixed_huge_bytes_rc, -1, "fixed_huge_bytes_rc")
    T.eq(r.fixed_reuse_add_rc, 0); T.eq(r.fixed_reuse_send_rc, 0)
    T.eq(r.grow_huge_string_rc, -2, "grow_huge_string_rc: allocation failure")
    T.eq(r.grow_huge_bytes_rc, -2, "grow_huge_bytes_rc: allocation failure")
    T.check(r.grow_wrap_string_rc == -1 or r.grow_wrap_string_rc == -2,
        "grow_wrap_string_rc fails: " .. tostring(r.grow_wrap_string_rc))
    T.eq(r.grow_after_add_rc, 0, "the growing writer still works")
    T.eq(r.big_add_rc, 0)
    T.eq(r.too_large_rc, 5, "too_large_rc")
    T.eq(r.clear_too_large_rc, 5, "clear_too_large_rc")
    T.eq(r.full_rc, 4, "full_rc")
    T.eq(r.full_after, 19, "(7) and (true) queued: 58 free bytes hold 19 (1) messages")
    T.eq(r.clear_small_rc, 0)
    T.eq(b:msgcnt(), 1)
    T.results(T.pack(b:nextmsg(0)), 2)
end

do -- the same on a growing buffer
    local b = mtmsg.newbuffer()
    local r = capitest.hostile(b, 300, 100000)
    T.eq(r.to_self_ok, true); T.eq(r.to_light_null, true); T.eq(r.to_plain_udata_null, true)
    T.eq(r.bad_array_writer_send_rc, 0)
    T.eq(r.too_large_rc, 0, "a growing buffer takes a 100000-byte message")
    T.eq(r.clear_too_large_rc, 0)
    T.eq(r.full_rc, 0); T.eq(r.full_after, 300)
    T.eq(r.clear_small_rc, 0)
    T.eq(b:msgcnt(), 1)
    T.results(T.pack(b:nextmsg(0)), 2)
    -- the sequence before the clears: (7), (true), big, big(clear) ...
end

do -- [30] directly: order of the first messages of a hostile run
    local b = mtmsg.newbuffer(64, 0)
    capitest.hostile(b, 0, 100000, { fill = true })
    T.eq(b:msgcnt(), 2, "the rejected big clear-send left (7), (true)")
    T.results(T.pack(b:nextmsg(0)), 7)
    T.results(T.pack(b:nextmsg(0)), true)
end

end)

T.done("capi_receiver")
