-- Producers waiting for room (putmsg, writer:putmsg) on small fixed-size
-- buffers, standalone and a listener's, with consumers on other threads.
--   clean rounds: producers retry a message whose putmsg timed out; every
--      message arrives exactly once, intact, in each producer's order as
--      each consumer sees it;
--   chaos rounds: the main thread clears, aborts and un-aborts the buffer
--      while they run, then closes it: messages may be cleared away, but
--      none is duplicated, corrupted or reordered, and every blocked
--      producer and consumer returns (no lost wake-up, no hang).
local S = require "stresslib"
local mtmsg = require "mtmsg"

S.start("bounded_pipeline")

local DURATION = S.seconds(6)
local PRODUCERS, CONSUMERS = 3, 2

local function producer(p, seed, count, bid, chaos)
    local mtmsg = require "mtmsg"
    math.randomseed(seed)
    local b = mtmsg.buffer(bid)
    local w = mtmsg.newwriter()
    local sent, falses, errors, other = 0, 0, 0, ""
    local s = 1
    while s <= count do
        local payload = string.rep(string.char(65 + (p + s) % 26), (p * 7 + s) % 31)
        local op = math.random(4)
        local ok, r
        if op == 1 then
            ok, r = pcall(b.putmsg, b, nil, p, s, payload)
        elseif op == 2 then
            ok, r = pcall(b.putmsg, b, math.random() * 0.002, p, s, payload)
        elseif op == 3 then
            ok, r = pcall(b.putmsg, b, 0, p, s, payload)
        else
            w:clear()
            w:add(p, s, payload)
            ok, r = pcall(w.putmsg, w, b, math.random(2) == 1 and 0.001 or nil)
        end
        if ok and r == true then
            sent, s = sent + 1, s + 1
        elseif ok and r == false then
            falses = falses + 1
        elseif chaos and tostring(r):find("mtmsg.error.operation_aborted", 1, true) then
            errors = errors + 1
            mtmsg.sleep(0.0005)
        elseif chaos and tostring(r):find("mtmsg.error.object_closed", 1, true) then
            break
        else
            other = tostring(r)
            break
        end
    end
    return p, sent, falses, errors, other
end

local function consumer(seed, bid, lid, chaos)
    local mtmsg = require "mtmsg"
    math.randomseed(seed)
    local b = mtmsg.buffer(bid)
    local l = lid and mtmsg.listener(lid)
    local reader = mtmsg.newreader()
    local recv, bad, other = {}, 0, ""
    local function got(p, s, payload)
        if p == nil then return end
        if type(s) ~= "number" or payload ~= string.rep(string.char(65 + (p + s) % 26), (p * 7 + s) % 31) then
            bad = bad + 1
            return
        end
        local list = recv[p]
        if not list then list = {}; recv[p] = list end
        list[#list + 1] = s
    end
    while true do
        local op = math.random(3)
        local ok, a, c, d
        if op == 1 then
            ok, a, c, d = pcall(b.nextmsg, b, 0.05)
        elseif op == 2 and l then
            ok, a, c, d = pcall(l.nextmsg, l, 0.05)
        else
            ok, a = pcall(reader.nextmsg, reader, b, 0.05)
            if ok and a then a, c, d = reader:next(3) end
        end
        if ok then
            got(a, c, d)
        elseif tostring(a):find("mtmsg.error.object_closed", 1, true) then
            break
        elseif chaos and tostring(a):find("mtmsg.error.operation_aborted", 1, true) then
            mtmsg.sleep(0.0005)
        else
            other = tostring(a)
            break
        end
        -- consumers slower than producers now and then: buffers fill up
        if math.random(50) == 1 then mtmsg.sleep(0.001) end
    end
    return recv, bad, other          -- tables travel as thread results
end

local totals = { rounds = 0, chaos = 0, delivered = 0, falses = 0, aborted_errors = 0, cleared = 0 }
local t_end = mtmsg.time() + DURATION
local round = 0
while mtmsg.time() < t_end do
    round = round + 1
    local chaos = round % 2 == 0
    local size = math.random(48, 400)
    local l = (round % 3 == 0) and mtmsg.newlistener() or nil
    local b = l and l:newbuffer(size, 0) or mtmsg.newbuffer(size, 0)
    local count = S.scaled(chaos and 1500 or 1000, 50)
    local producers, consumers = {}, {}
    for c = 1, CONSUMERS do
        consumers[c] = S.thread(consumer, S.seed + round * 100 + c, b:id(), l and l:id(), chaos)
    end
    for p = 1, PRODUCERS do
        producers[p] = S.thread(producer, p, S.seed + round * 100 + 10 + p, count, b:id(), chaos)
    end
    local rescue = function() b:close() end
    if chaos then
        -- clear, abort and un-abort at random while they run, then close
        local actions = math.random(5, 20)
        for _ = 1, actions do
            mtmsg.sleep(math.random() * 0.01)
            local a = math.random(3)
            if a == 1 then
                b:clear()
                totals.cleared = totals.cleared + 1
            elseif a == 2 then
                b:abort(); mtmsg.sleep(0.001); b:abort(false)
            else
                if l then l:clear() else b:clear() end
                totals.cleared = totals.cleared + 1
            end
        end
        b:close()
    end
    local results = S.join_all(producers, 30, "producer", rescue)
    if not chaos then
        -- everything sent: wait until the consumers have read it, then close
        local deadline = mtmsg.time() + 30
        while b:msgcnt() > 0 and mtmsg.time() < deadline do mtmsg.sleep(0.001) end
        S.check(b:msgcnt() == 0, "round " .. round .. ": consumers drain the buffer")
        b:close()
    end
    local got = S.join_all(consumers, 30, "consumer", rescue)
    -- checks
    local seen = {}
    for p = 1, PRODUCERS do seen[p] = {} end
    for c = 1, CONSUMERS do
        local r = got[c]
        if r then
            S.check(r[2] == 0, "round " .. round .. ": corrupt messages: " .. tostring(r[2]))
            S.check(r[3] == "", "round " .. round .. ": consumer error: " .. tostring(r[3]))
            for p, list in pairs(r[1]) do
                local prev = 0
                for _, s in ipairs(list) do
                    if s <= prev or seen[p][s] then
                        S.check(s > prev, "round " .. round .. ": producer " .. p .. " in order for one consumer")
                        S.check(not seen[p][s],
                            "round " .. round .. ": message " .. p .. "/" .. s .. " delivered twice")
                    end
                    seen[p][s] = true
                    prev = s
                    totals.delivered = totals.delivered + 1
                end
            end
        end
    end
    for p = 1, PRODUCERS do
        local r = results[p]
        if r then
            S.check(r[5] == "", "round " .. round .. ": producer error: " .. tostring(r[5]))
            totals.falses = totals.falses + r[3]
            totals.aborted_errors = totals.aborted_errors + r[4]
            if not chaos then
                S.check(r[2] == count, "round " .. round .. ": producer " .. p .. " sent all")
                for s = 1, count do
                    if not seen[p][s] then
                        S.check(false, "round " .. round .. ": message " .. p .. "/" .. s .. " lost")
                        break
                    end
                end
            end
        end
    end
    totals.rounds = totals.rounds + 1
    if chaos then totals.chaos = totals.chaos + 1 end
end

S.report("bounded_pipeline", { "rounds", totals.rounds, "chaos_rounds", totals.chaos, "delivered", totals.delivered,
    "putmsg_false", totals.falses, "aborted_errors", totals.aborted_errors, "clears", totals.cleared })
S.finish()
