-- Stress around the C APIs, driven by the capitest C module (POSIX threads
-- calling the Receiver, Sender and Notify vtables of our objects):
--   1. C feeder threads (Receiver) and Lua producers put messages into one
--      buffer; C reader threads (Sender) and Lua consumers take them
--      concurrently: exact totals, per-producer order, intact contents;
--   2. C feeders hold the only references (retain) to a listener buffer
--      whose Lua reference is collected while they feed: the listener gets
--      every message, then no_buffers once they release it;
--   3. Notify storms from C threads into a buffer with a ">" notifier buffer:
--      one empty message per notify in each;
--   4. close / abort while C feeders and readers are busy: they stop with
--      rc 1 / 2, nothing hangs;
--   5. with mtstates: C feeders into a state (its callback runs on the
--      feeder threads): the callback sees every message exactly once.
local S = require "stresslib"
local mtmsg = require "mtmsg"

S.start("capi_stress")

local capitest = require "capitest" -- built with every test build: never skipped

-- Lua messages shaped like capitest's feeder messages, so that its reader
-- threads check them too: (t, seq, "t<t>-<seq>", true, seq + 0.5, 1, 2).
local function lua_producer(t, bid, n)
    local mtmsg = require "mtmsg"
    local b = mtmsg.buffer(bid)
    for seq = 1, n do
        assert(b:addmsg(t, seq, "t" .. t .. "-" .. seq, true, seq + 0.5, 1, 2))
    end
    return n
end

local function lua_consumer(bid, quota)
    local mtmsg = require "mtmsg"
    local b = mtmsg.buffer(bid)
    local last, got, order, corrupt = {}, 0, 0, 0
    while got < quota do
        local t, seq, s, bool, f, one, two = b:nextmsg(10)
        if t == nil then break end
        got = got + 1
        if s ~= "t" .. t .. "-" .. seq or bool ~= true or f ~= seq + 0.5 or one ~= 1 or two ~= 2 then
            corrupt = corrupt + 1
        end
        if seq <= (last[t] or 0) then order = order + 1 end
        last[t] = seq
    end
    return got, order, corrupt
end

------------------------------------------------------------------------------
-- 1
------------------------------------------------------------------------------
do
    local F, N = 4, S.scaled(100000, 100)   -- C feeders
    local LP, M = 2, S.scaled(50000, 100)   -- Lua producers
    local total = F * N + LP * M
    local X = math.floor(total / 2)         -- read by C readers
    local LC = 3
    local quota = math.floor((total - X) / LC)
    X = total - quota * LC
    local b = mtmsg.newbuffer()
    local feed = capitest.receiver_feed(b, F, N, false, 20)
    local readers = capitest.sender_threads(b, 3, X, 0.05, 20)
    local threads = {}
    for k = 1, LP do threads[#threads + 1] = S.thread(lua_producer, 1000 + k, b:id(), M) end
    for _ = 1, LC do threads[#threads + 1] = S.thread(lua_consumer, b:id(), quota) end
    local sent, feed_rc, feed_err = feed:join()
    local read, read_rc, order_ok, read_err, diag = readers:join()
    local results = S.join_all(threads, 60, "capi 1")
    local lua_sent, lua_got, order, corrupt = 0, 0, 0, 0
    for i, r in pairs(results) do
        if i <= LP then lua_sent = lua_sent + (r[1] or 0)
        elseif r.n >= 3 then
            lua_got, order, corrupt = lua_got + r[1], order + r[2], corrupt + r[3]
        end
    end
    S.report("C feed + Lua produce / C read + Lua consume", { "c_feeders", F, "lua_producers", LP,
        "c_readers", 3, "lua_consumers", LC, "c_sent", sent, "lua_sent", lua_sent, "c_read", read,
        "lua_read", lua_got, "left", b:msgcnt(), "c_order_ok", order_ok, "lua_out_of_order", order,
        "lua_corrupt", corrupt, "feed_rc", feed_rc, "read_rc", read_rc })
    S.check(feed_rc == 0, "C feeders: rc " .. tostring(feed_rc) .. " " .. tostring(feed_err))
    S.check(read_rc == 0, "C readers: rc " .. tostring(read_rc) .. " " .. tostring(read_err))
    S.check(order_ok == true, "C readers: order/contents: " .. tostring(diag))
    S.check(sent == F * N and lua_sent == LP * M, "everything sent")
    S.check(read == X and lua_got == quota * LC, "everything read exactly once")
    S.check(b:msgcnt() == 0, "buffer empty at the end")
    S.check(order == 0 and corrupt == 0, "Lua consumers: order and contents")
end

------------------------------------------------------------------------------
-- 2
------------------------------------------------------------------------------
do
    local ROUNDS, F, N = S.scaled(5, 1), 4, S.scaled(20000, 50)
    local delivered, expected, nobuf, hangs = 0, 0, 0, 0
    for _ = 1, ROUNDS do
        local l = mtmsg.newlistener()
        local lb = l:newbuffer()
        local feed = capitest.receiver_feed(lb, F, N, false, 20)
        local consumer = S.thread(function(lid, _total)
            local mtmsg = require "mtmsg"
            local l = mtmsg.listener(lid)
            local n, last, order = 0, {}, 0
            while true do
                local ok, t, seq = pcall(l.nextmsg, l, 10)
                if not ok then return n, order, tostring(t) end
                if t == nil then return n, order, "timeout" end
                if seq <= (last[t] or 0) then order = order + 1 end
                last[t] = seq
                n = n + 1
            end
        end, l:id(), F * N)
        -- the C feeders now hold the only references
        lb = nil -- luacheck: ignore 311 (GC drop)
        collectgarbage()
        collectgarbage()
        local sent, rc = feed:join()
        feed = nil -- luacheck: ignore 311 (GC drop)
        collectgarbage()   -- the job's own reference goes with its userdata
        expected = expected + F * N
        S.check(sent == F * N and rc == 0, "orphan feed: sent " .. tostring(sent) .. " rc " .. tostring(rc))
        local ok, r = S.join(consumer, 30, function() l:close() end)
        if ok then
            delivered = delivered + r[1]
            S.check(r[2] == 0, "orphan feed: out of order")
            if r[3]:find("mtmsg.error.no_buffers", 1, true) then nobuf = nobuf + 1 end
        else
            hangs = hangs + 1
            S.check(false, "orphan consumer: " .. tostring(r))
        end
    end
    S.report("C holders only (listener buffer collected)", { "rounds", ROUNDS, "c_feeders", F, "messages", expected,
        "delivered", delivered, "lost", expected - delivered, "ended_no_buffers", nobuf, "hangs", hangs })
    S.check(delivered == expected, "orphan feed: delivered " .. delivered .. " of " .. expected)
    S.check(nobuf == ROUNDS, "orphan feed: consumer did not end with no_buffers")
end

------------------------------------------------------------------------------
-- 3
------------------------------------------------------------------------------
do
    local T, C = 8, S.scaled(5000, 10)
    local src = mtmsg.newbuffer()
    local ntf = mtmsg.newbuffer()
    src:notifier(ntf, ">")
    local ok_n, first_rc, text = capitest.notify(src, T, C)
    S.report("notify storm", { "threads", T, "notifies", T * C, "rc0", ok_n, "src_msgcnt", src:msgcnt(),
        "notifier_msgcnt", ntf:msgcnt() })
    S.check(ok_n == T * C and first_rc == 0, "notify: " .. tostring(first_rc) .. " " .. tostring(text))
    S.check(src:msgcnt() == T * C and ntf:msgcnt() == T * C, "one message per notify in each buffer")
end

------------------------------------------------------------------------------
-- 4
------------------------------------------------------------------------------
do
    local ROUNDS = S.scaled(10, 2)
    local stopped, slow = 0, 0
    local rcs = {}
    for round = 1, ROUNDS do
        local b = mtmsg.newbuffer(256, 0)   -- small: feeders retry on rc 4 (full)
        local feed = capitest.receiver_feed(b, 4, 1000000, round % 2 == 0, 30)
        local readers = capitest.sender_threads(b, 2, 1000000000, 0.05, 30)
        mtmsg.sleep(0.02 + math.random() * 0.05)
        local t0 = mtmsg.time()
        local action = (round % 3 == 0) and "abort" or "close"
        if action == "abort" then b:abort() else b:close() end
        local _, frc = feed:join()
        local _, rrc = readers:join()
        local took = mtmsg.time() - t0
        if took > 5 then slow = slow + 1 end
        rcs[#rcs + 1] = action .. ":" .. frc .. "/" .. rrc
        local want = action == "abort" and 2 or 1
        if frc == want and rrc == want then stopped = stopped + 1 end
        S.check(frc == want and rrc == want, string.format("%s while feeding: feed rc %s, read rc %s (want %d)",
            action, tostring(frc), tostring(rrc), want))
    end
    S.report("close/abort under C load", { "rounds", ROUNDS, "stopped_with_rc", stopped, "slow_over_5s", slow,
        "rcs", table.concat(rcs, ",") })
    S.check(slow == 0, "C threads took long to stop")
end

------------------------------------------------------------------------------
-- 5
------------------------------------------------------------------------------
local mtstates = S.mtstates()
if not mtstates then
    print("  C feed into a state: skipped: mtstates not available")
else
    local F, N = 4, S.scaled(10000, 20)
    local st = mtstates.newstate(function()
        local seen, count, bad = {}, 0, 0
        return function(t, seq)
            if t == "stats" then return count, bad end
            local k = t * 1000000 + seq
            if seen[k] then bad = bad + 1 end
            seen[k] = true
            count = count + 1
        end
    end)
    local feed = capitest.receiver_feed(st, F, N, false, 20)
    local sent, rc, err = feed:join()
    local count, bad = st:call("stats")
    S.report("C feed into a state", { "c_feeders", F, "sent", sent, "callbacks", count, "duplicated", bad, "rc", rc })
    S.check(rc == 0, "state feed rc " .. tostring(rc) .. " " .. tostring(err))
    S.check(sent == F * N and count == F * N and bad == 0, "state saw every message once")
end

S.finish()
