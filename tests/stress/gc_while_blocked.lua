-- Objects garbage-collected in one Lua state while other threads block on
-- them or write to them through their own references.
--   A. the creating thread drops its buffer and exits while producers and
--      blocked consumers go on with their references: exact accounting,
--      and the buffer is gone once the last reference is;
--   B. producers make listener buffers, fill them, drop them and exit while
--      a consumer blocks in listener:nextmsg: every message is delivered
--      (orphaned buffers), then no_buffers;
--   C. a buffer whose creator has exited wakes a waiter blocked on it;
--   D. a notifier buffer whose Lua references are all gone keeps getting
--      notifications from concurrent producers; disconnected, it goes;
--   E. lookups racing with the last reference going away (create, drop,
--      collect in a loop against lookups by name and id).
local S = require "stresslib"
local mtmsg = require "mtmsg"

S.start("gc_while_blocked")

local ROUNDS = S.scaled(20, 2)

------------------------------------------------------------------------------
-- A
------------------------------------------------------------------------------
do
    local sent, received, order, gone, hangs = 0, 0, 0, 0, 0
    for _ = 1, ROUNDS do
        local P, N = 4, 200
        -- ids go out through `ids`, acknowledgements come back through `acks`
        local ids = mtmsg.newbuffer()
        local acks = mtmsg.newbuffer()
        local list = {}
        local creator = S.thread(function(ids_id, acks_id, users)
            local mtmsg = require "mtmsg"
            local ids, acks = mtmsg.buffer(ids_id), mtmsg.buffer(acks_id)
            local b = mtmsg.newbuffer(64, 1.5)
            for _ = 1, users do ids:addmsg(b:id()) end
            for _ = 1, users do assert(acks:nextmsg(10) == "have") end
            b = nil -- luacheck: ignore 311 (GC drop)
            collectgarbage()
            collectgarbage()
            return true
        end, ids:id(), acks:id(), 2 * P)
        for k = 1, P do
            list[#list + 1] = S.thread(function(k, ids_id, acks_id, n, producer)
                local mtmsg = require "mtmsg"
                local ids, acks = mtmsg.buffer(ids_id), mtmsg.buffer(acks_id)
                local id = ids:nextmsg(10)
                local b = mtmsg.buffer(id)
                acks:addmsg("have")
                local count, order = 0, 0
                if producer then
                    for i = 1, n do assert(b:addmsg(k, i)) end
                    count = n
                else
                    local last = {}
                    for _ = 1, n do
                        local p, i = b:nextmsg(10)
                        if p == nil then break end
                        if i <= (last[p] or 0) then order = order + 1 end
                        last[p] = i
                        count = count + 1
                    end
                end
                return count, order, id
            end, k, ids:id(), acks:id(), N, true)
            list[#list + 1] = S.thread(function(_k, ids_id, acks_id, n)
                local mtmsg = require "mtmsg"
                local ids, acks = mtmsg.buffer(ids_id), mtmsg.buffer(acks_id)
                local id = ids:nextmsg(10)
                local b = mtmsg.buffer(id)
                acks:addmsg("have")
                local count, order, last = 0, 0, {}
                for _ = 1, n do
                    local p, i = b:nextmsg(10)
                    if p == nil then break end
                    if i <= (last[p] or 0) then order = order + 1 end
                    last[p] = i
                    count = count + 1
                end
                return count, order, id
            end, k, ids:id(), acks:id(), N)
        end
        local _, _, h1 = S.join_all({ creator }, 20, "A creator")
        local results, _, h2 = S.join_all(list, 30, "A user")
        hangs = hangs + h1 + h2
        local bid
        for i, r in pairs(results) do
            if r.n >= 3 then
                if i % 2 == 1 then sent = sent + r[1] else received = received + r[1] end
                order = order + r[2]
                bid = r[3]
            end
        end
        collectgarbage()
        if bid and not pcall(mtmsg.buffer, bid) then gone = gone + 1 end
    end
    S.report("A creator exits", { "rounds", ROUNDS, "threads", ROUNDS * 9, "sent", sent, "received", received,
        "lost", sent - received, "out_of_order", order, "gone_after_last_ref", gone .. "/" .. ROUNDS, "hangs", hangs })
    S.check(sent == received, "A: lost messages " .. (sent - received))
    S.check(order == 0, "A: out of order " .. order)
    S.check(gone == ROUNDS, "A: buffer still registered after its last reference went")
end

------------------------------------------------------------------------------
-- B
------------------------------------------------------------------------------
do
    local PRODUCERS, K = 24, 300
    local delivered, expected, nobuf, order, hangs = 0, 0, 0, 0, 0
    for _ = 1, math.max(1, math.floor(ROUNDS / 4)) do
        local lst = mtmsg.newlistener()
        local anchor = lst:newbuffer() -- luacheck: ignore 231 (held: the listener keeps a buffer)
        local consumer = S.thread(function(lid)
            local mtmsg = require "mtmsg"
            local l = mtmsg.listener(lid)
            local n, last, order = 0, {}, 0
            while true do
                local ok, p, i = pcall(l.nextmsg, l, 10)
                if not ok then return n, order, tostring(p) end
                if p == nil then return n, order, "timeout" end
                if i <= (last[p] or 0) then order = order + 1 end
                last[p] = i
                n = n + 1
            end
        end, lst:id())
        local producers = {}
        for p = 1, PRODUCERS do
            producers[p] = S.thread(function(lid, p, k)
                local mtmsg = require "mtmsg"
                local l = mtmsg.listener(lid)
                local b = l:newbuffer(0, 1.2)
                for i = 1, k do assert(b:addmsg(p, i, string.rep("p", i % 40))) end
                -- drop the buffer with its messages still queued
                b = nil -- luacheck: ignore 311 (GC drop)
                collectgarbage()
                return k
            end, lst:id(), p, K)
        end
        local _, _, h = S.join_all(producers, 20, "B producer")
        hangs = hangs + h
        expected = expected + PRODUCERS * K
        anchor = nil
        collectgarbage()
        collectgarbage()
        local ok, r = S.join(consumer, 20, function() lst:close() end)
        if ok then
            delivered = delivered + r[1]
            order = order + r[2]
            if tostring(r[3]):find("mtmsg.error.no_buffers", 1, true) then nobuf = nobuf + 1 end
        else
            hangs = hangs + 1
            S.check(false, "B consumer: " .. tostring(r))
        end
    end
    S.report("B orphaned listener buffers", { "producers", PRODUCERS, "messages", expected, "delivered", delivered,
        "lost", expected - delivered, "out_of_order", order, "ended_with_no_buffers", nobuf, "hangs", hangs })
    S.check(delivered == expected, "B: delivered " .. delivered .. " of " .. expected)
    S.check(order == 0, "B: out of order")
    S.check(nobuf == math.max(1, math.floor(ROUNDS / 4)), "B: consumer did not end with no_buffers")
end

------------------------------------------------------------------------------
-- C
------------------------------------------------------------------------------
do
    local woken, hangs = 0, 0
    local WAITERS = 16
    for _ = 1, ROUNDS do
        local ids = mtmsg.newbuffer()
        local ready = mtmsg.newbuffer()
        local creator = S.thread(function(ids_id, ready_id, n)
            local mtmsg = require "mtmsg"
            local b = mtmsg.newbuffer()
            local ids, ready = mtmsg.buffer(ids_id), mtmsg.buffer(ready_id)
            for _ = 1, n do ids:addmsg(b:id()) end
            -- exit (dropping our reference) once every waiter has its own
            for _ = 1, n do assert(ready:nextmsg(10) == 1) end
            ids:addmsg(b:id())
            return b:id()
        end, ids:id(), ready:id(), WAITERS)
        local waiters = {}
        for k = 1, WAITERS do
            waiters[k] = S.thread(function(ids_id, ready_id)
                local mtmsg = require "mtmsg"
                local b = mtmsg.buffer(mtmsg.buffer(ids_id):nextmsg(10))
                mtmsg.buffer(ready_id):addmsg(1)
                return b:nextmsg()
            end, ids:id(), ready:id())
        end
        -- the creator exits (its state closed, its reference collected)
        S.join_all({ creator }, 10, "C creator")
        mtmsg.sleep(0.05)
        local b = mtmsg.buffer(ids:nextmsg(0))
        for k = 1, WAITERS do b:addmsg("wake", k) end
        local results, _, h = S.join_all(waiters, 10, "C waiter", function() b:close() end)
        hangs = hangs + h
        for _, r in pairs(results) do
            if r[1] == "wake" then woken = woken + 1 end
        end
    end
    S.report("C creator gone, waiters woken",
        { "rounds", ROUNDS, "waiters", ROUNDS * WAITERS, "woken", woken, "hangs", hangs })
    S.check(woken == ROUNDS * WAITERS, "C: woken " .. woken)
end

------------------------------------------------------------------------------
-- D
------------------------------------------------------------------------------
do
    local P, N = 6, 2000
    local notified, adds, gone, hangs = 0, 0, 0, 0
    for _ = 1, math.max(1, math.floor(ROUNDS / 4)) do
        local src = mtmsg.newbuffer()
        local ntf = mtmsg.newbuffer()
        local ntf_id = ntf:id()
        src:notifier(ntf, ">")
        ntf = nil -- luacheck: ignore 311 (GC drop)
        collectgarbage()
        collectgarbage()
        local counter = S.thread(function(ntf_id, total)
            local mtmsg = require "mtmsg"
            local ntf = mtmsg.buffer(ntf_id) -- alive through the notifier holder only
            local r = mtmsg.newreader()
            local n = 0
            -- each notification is one empty message
            while n < total and r:nextmsg(ntf, 10) do n = n + 1 end
            return n
        end, ntf_id, P * N)
        local producers = {}
        for p = 1, P do
            producers[p] = S.thread(function(src_id, n)
                local mtmsg = require "mtmsg"
                local src = mtmsg.buffer(src_id)
                for i = 1, n do
                    assert(src:addmsg(i))
                    if i % 64 == 0 then collectgarbage("step") end
                end
                return n
            end, src:id(), N)
        end
        local _, _, h = S.join_all(producers, 30, "D producer")
        hangs = hangs + h
        adds = adds + P * N
        local ok, r = S.join(counter, 30)
        if ok then notified = notified + r[1] else hangs = hangs + 1 end
        -- disconnect: the notifier buffer has no reference left and goes
        src:notifier(nil, ">")
        collectgarbage()
        if not pcall(mtmsg.buffer, ntf_id) then gone = gone + 1 end
    end
    S.report("D notifier without Lua references", { "producers", P, "adds", adds, "notifications", notified,
        "notifier_gone_after_disconnect", gone, "hangs", hangs })
    S.check(notified == adds, "D: notifications " .. notified .. " for " .. adds .. " adds")
    S.check(gone == math.max(1, math.floor(ROUNDS / 4)), "D: notifier buffer still alive after disconnect")
end

------------------------------------------------------------------------------
-- E
------------------------------------------------------------------------------
do
    local DURATION = S.seconds(2)
    local ids = mtmsg.newbuffer()
    local dropper = S.thread(function(ids_id, duration)
        local mtmsg = require "mtmsg"
        local ids = mtmsg.buffer(ids_id)
        local t, n = mtmsg.time() + duration, 0
        while mtmsg.time() < t do
            local b = mtmsg.newbuffer("gc-race")
            ids:setmsg(b:id())
            b:addmsg("x")
            b = nil -- luacheck: ignore 311 (GC drop)
            n = n + 1
            if n % 4 == 0 then collectgarbage() else collectgarbage("step") end
        end
        return n
    end, ids:id(), DURATION)
    local finders = {}
    for k = 1, 4 do
        finders[k] = S.thread(function(ids_id, duration, k)
            local mtmsg = require "mtmsg"
            local ids = mtmsg.buffer(ids_id)
            ids:nonblock()
            local t = mtmsg.time() + duration
            local found, unknown, ambiguous, other, used = 0, 0, 0, 0, 0
            local last_id
            while mtmsg.time() < t do
                local ok, b
                if k % 2 == 0 then
                    ok, b = pcall(mtmsg.buffer, "gc-race")
                else
                    local id = ids:msgcnt() > 0 and mtmsg.buffer(ids_id):nextmsg(0) or last_id
                    if id then
                        last_id = id
                        mtmsg.buffer(ids_id):setmsg(id)
                        ok, b = pcall(mtmsg.buffer, id)
                    else
                        ok, b = false, "mtmsg.error.unknown_object"
                    end
                end
                if ok then
                    found = found + 1
                    -- our reference keeps it alive: it must work
                    if b:addmsg("y") and b:nextmsg(0) ~= nil then used = used + 1 end
                    b = nil -- luacheck: ignore 311 (GC drop)
                elseif tostring(b):find("unknown_object", 1, true) then
                    unknown = unknown + 1
                elseif tostring(b):find("ambiguous_name", 1, true) then
                    ambiguous = ambiguous + 1
                else
                    other = other + 1
                end
                if (found + unknown) % 16 == 0 then collectgarbage("step") end
            end
            return found, unknown, ambiguous, other, used
        end, ids:id(), DURATION, k)
    end
    local ok, r = S.join(dropper, DURATION + 20)
    local created = ok and r[1] or 0
    local results = S.join_all(finders, DURATION + 20, "E finder")
    local found, unknown, ambiguous, other, used = 0, 0, 0, 0, 0
    for _, x in pairs(results) do
        if x.n >= 5 then
            found, unknown, ambiguous, other, used =
                found + x[1], unknown + x[2], ambiguous + x[3], other + x[4], used + x[5]
        end
    end
    S.report("E lookup vs last reference", { "created_dropped", created, "found", found, "used_ok", used,
        "unknown_object", unknown, "ambiguous_name", ambiguous, "other_errors", other })
    S.check(other == 0, "E: unexpected lookup errors: " .. other)
    S.check(used == found, "E: a found buffer did not work: " .. (found - used))
    S.check(created > 0 and found > 0, "E: no traffic")
end

S.finish()
