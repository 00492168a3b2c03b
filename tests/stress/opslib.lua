-- Random concurrent operations on shared buffers and one listener, with
-- exact accounting (used by random_ops.lua and lossy_ops.lua).
--
-- Targets 1..4 are standalone buffers, 5..8 buffers of one listener. Every
-- thread is a producer and a consumer. A message is
--   (producer, target, seq, payload(producer, seq), seq * 2 + 0.5)
-- where seq counts the messages the producer put into that target
-- successfully (1, 2, ...; a `false` return does not use up a seq).
-- Every consumer checks contents and that, per (producer, target), the seqs
-- it gets increase (a FIFO read by several consumers gives each of them an
-- increasing subsequence). At the end every message sent must have been
-- received exactly once (lossy = false), or at most once (lossy = true:
-- setmsg and clear discard messages on purpose).
local S = require "stresslib"
local mtmsg = require "mtmsg"

local M = {}

local NT = 8

-- The thread function (no upvalues).
local function worker(p, seed, duration, lossy, lid, ...)
    local mtmsg = require "mtmsg"
    local S = require "stresslib"
    math.randomseed(seed)
    local ids = { ... }
    local NT = #ids
    local HALF = math.floor(NT / 2)
    local bufs, nb = {}, {}
    for t = 1, NT do
        bufs[t] = mtmsg.buffer(ids[t])
        nb[t] = mtmsg.buffer(ids[t])
        nb[t]:nonblock()
    end
    local L = mtmsg.listener(lid)
    local Lnb = mtmsg.listener(lid)
    Lnb:nonblock()
    local w, r = mtmsg.newwriter(), mtmsg.newreader()
    local nextseq = {}
    for t = 1, NT do nextseq[t] = 1 end
    local recv, last = {}, {}
    local c = { ops = 0, adds = 0, false_adds = 0, takes = 0, empty = 0, order = 0, corrupt = 0,
        setmsgs = 0, clears = 0, lookups = 0, reader = 0, writer = 0 }
    local function got(q, tgt, seq, payload, chk)
        if q == nil then
            c.empty = c.empty + 1
            return
        end
        if not S.valid(q, tgt, seq, payload, chk) then
            c.corrupt = c.corrupt + 1
            return
        end
        local k = tgt * 100 + q
        if seq <= (last[k] or 0) then c.order = c.order + 1 end
        last[k] = seq
        local l = recv[k]
        if not l then
            l = {}
            recv[k] = l
        end
        l[#l + 1] = seq
        c.takes = c.takes + 1
    end
    local function send(tgt, how, replace)
        local seq = nextseq[tgt]
        local payload, chk = S.payload(p, seq), seq * 2 + 0.5
        local ok
        local b = (how % 2 == 1) and bufs[tgt] or nb[tgt]
        if how <= 2 then
            if replace then
                ok = b:setmsg(p, tgt, seq, payload, chk)
            else
                ok = b:addmsg(p, tgt, seq, payload, chk)
            end
        else
            c.writer = c.writer + 1
            w:add(p, tgt)
            w:add(seq, payload, chk)
            if replace then ok = w:setmsg(b) else ok = w:addmsg(b) end
            if not ok then w:clear() end
        end
        if ok then
            nextseq[tgt] = seq + 1
            c.adds = c.adds + 1
            if replace then c.setmsgs = c.setmsgs + 1 end
        else
            c.false_adds = c.false_adds + 1
        end
    end
    local deadline = mtmsg.time() + duration
    while true do
        c.ops = c.ops + 1
        if c.ops % 32 == 0 and mtmsg.time() >= deadline then break end
        local op = math.random(1000)
        if op <= 440 then
            send(math.random(NT), math.random(4), false)
        elseif lossy and op <= 450 then
            send(math.random(NT), math.random(4), true)
        elseif op <= 600 then
            got(bufs[math.random(HALF)]:nextmsg(0))
        elseif op <= 640 then
            got(nb[math.random(HALF)]:nextmsg())
        elseif op <= 660 then
            got(bufs[math.random(HALF)]:nextmsg(0.0005))
        elseif op <= 780 then
            got(L:nextmsg(0))
        elseif op <= 820 then
            got(Lnb:nextmsg())
        elseif op <= 840 then
            got(L:nextmsg(0.0005))
        elseif op <= 900 then
            local src = math.random(3) == 1 and L or bufs[math.random(NT)]
            c.reader = c.reader + 1
            if r:nextmsg(src, 0) then
                got(r:next(5))
                if r:next() ~= nil then c.corrupt = c.corrupt + 1 end
            else
                c.empty = c.empty + 1
            end
        elseif op <= 930 then
            -- a fresh reference by id; later operations go through it
            local t = math.random(NT)
            bufs[t] = mtmsg.buffer(ids[t])
            c.lookups = c.lookups + 1
        elseif op <= 950 then
            local _ = bufs[math.random(NT)]:msgcnt()
        elseif op <= 980 then
            -- a listener buffer read directly
            got(bufs[HALF + math.random(HALF)]:nextmsg(0))
        elseif lossy and op <= 985 then
            if nb[math.random(NT)]:clear() then c.clears = c.clears + 1 end
        elseif lossy and op <= 986 then
            if Lnb:clear() then c.clears = c.clears + 1 end
        else
            collectgarbage("step")
        end
    end
    local sent = {}
    for t = 1, NT do sent[t] = nextseq[t] - 1 end
    local counters = {}
    for k, v in pairs(c) do counters[#counters + 1] = k .. "=" .. v end
    return p, table.concat(counters, ","), S.encode_map(sent), S.encode_lists(recv)
end

M.worker = worker

function M.run(scenario, lossy, nthreads, duration)
    local L = mtmsg.newlistener()
    local targets, ids = {}, {}
    for t = 1, NT do
        if t <= NT / 2 then targets[t] = mtmsg.newbuffer() else targets[t] = L:newbuffer() end
        ids[t] = targets[t]:id()
    end
    local threads = {}
    for p = 1, nthreads do
        threads[p] = S.thread(worker, p, S.seed * 1000 + p, duration, lossy, L:id(), S.unpack(ids))
    end
    local results = S.join_all(threads, duration + 30, scenario, function() L:close() end)

    local sent, counts = {}, {}         -- [tgt*100+p] -> sent / receipts per seq
    local totals = { ops = 0, adds = 0, false_adds = 0, takes = 0, empty = 0, order = 0, corrupt = 0,
        setmsgs = 0, clears = 0, lookups = 0, reader = 0, writer = 0 }
    local function receipt(k, seq)
        local cs = counts[k]
        if not cs then
            cs = {}
            counts[k] = cs
        end
        cs[seq] = (cs[seq] or 0) + 1
    end
    for _, r in pairs(results) do
        if r.n and r.n >= 4 then
            local p = r[1]
            for k, v in string.gmatch(r[2], "(%w+)=(%d+)") do
                totals[k] = (totals[k] or 0) + tonumber(v)
            end
            S.decode_map(r[3], function(tgt, n) sent[tgt * 100 + p] = n end)
            S.decode_lists(r[4], receipt)
        end
    end
    -- drain what is left, checking contents and order too
    local drained, last = 0, {}
    local function drain_one(q, tgt, seq, payload, chk)
        if q == nil then return false end
        drained = drained + 1
        if not S.valid(q, tgt, seq, payload, chk) then
            totals.corrupt = totals.corrupt + 1
            return true
        end
        local k = tgt * 100 + q
        if seq <= (last[k] or 0) then totals.order = totals.order + 1 end
        last[k] = seq
        receipt(k, seq)
        return true
    end
    while drain_one(L:nextmsg(0)) do end
    for t = 1, NT / 2 do
        while drain_one(targets[t]:nextmsg(0)) do end
    end
    for t = 1, NT do
        S.check(targets[t]:msgcnt() == 0, scenario .. ": target " .. t .. " not empty after draining")
    end

    local total_sent, received, lost, dup, beyond = 0, 0, 0, 0, 0
    for k, n in pairs(sent) do
        total_sent = total_sent + n
        local cs = counts[k] or {}
        for seq = 1, n do
            local c = cs[seq] or 0
            if c == 0 then lost = lost + 1 end
            if c > 1 then dup = dup + c - 1 end
            received = received + c
        end
    end
    for k, cs in pairs(counts) do
        local n = sent[k] or 0
        for seq, c in pairs(cs) do
            if seq > n then beyond = beyond + c end
        end
    end
    S.report(scenario, {
        "threads", nthreads, "seconds", duration, "ops", totals.ops, "sent", total_sent,
        "false_returns", totals.false_adds, "received", received, "drained_at_end", drained,
        "empty_reads", totals.empty, "setmsg", totals.setmsgs, "clear", totals.clears,
        "writer", totals.writer, "reader", totals.reader, "lookups", totals.lookups })
    S.report(scenario .. " accounting", {
        "lost", lost, "duplicated", dup, "unknown", beyond, "out_of_order", totals.order,
        "corrupt", totals.corrupt })
    S.check(dup == 0, scenario .. ": duplicated messages: " .. dup)
    S.check(beyond == 0, scenario .. ": messages never sent: " .. beyond)
    S.check(totals.order == 0, scenario .. ": out-of-order receipts: " .. totals.order)
    S.check(totals.corrupt == 0, scenario .. ": corrupt messages: " .. totals.corrupt)
    S.check(total_sent > 0 and received > 0, scenario .. ": no traffic")
    if lossy then
        S.check(received + lost == total_sent, scenario .. ": received + discarded == sent")
    else
        S.check(lost == 0, scenario .. ": lost messages: " .. lost)
        S.check(received == total_sent, scenario .. ": received " .. received .. " of " .. total_sent)
    end
    return { sent = total_sent, received = received, lost = lost, dup = dup }
end

return M
