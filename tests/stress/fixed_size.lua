-- Fixed-size buffers (grow 0) under concurrent load, and setmsg storms.
--   1. producers add messages of random sizes to small fixed buffers
--      (standalone and listener buffers, addmsg and writer:addmsg, some
--      references nonblock), consumers take them (nextmsg, listener,
--      fixed-size readers that are sometimes too small): `false` returns
--      and message_size errors happen, never corruption; exact accounting;
--   2. setmsg storm: threads setmsg (and writer:setmsg, and oversized setmsg
--      that must fail and change nothing) on one buffer while consumers
--      read: every message read is intact and from the producer's newest
--      seqs, never duplicated, never the oversized one; msgcnt stays <= 1.
local S = require "stresslib"
local mtmsg = require "mtmsg"

S.start("fixed_size")

local DURATION = S.seconds(5)

------------------------------------------------------------------------------
-- 1
------------------------------------------------------------------------------
local function producer(p, seed, duration, ...)
    local mtmsg = require "mtmsg"
    math.randomseed(seed)
    local ids = { ... }
    local bufs = {}
    for t, id in ipairs(ids) do
        bufs[t] = mtmsg.buffer(id)
        if (p + t) % 3 == 0 then bufs[t]:nonblock() end
    end
    local w = mtmsg.newwriter(96, 0)
    local seq, sent, falses, too_big, other = {}, 0, 0, 0, ""
    for t = 1, #ids do seq[t] = 1 end
    local deadline = mtmsg.time() + duration
    local n = 0
    while true do
        n = n + 1
        if n % 16 == 0 and mtmsg.time() >= deadline then break end
        local t = math.random(#ids)
        local s = seq[t]
        -- 2 + 2 + 2..9 + 2 + len bytes of elements (+1 header): up to ~96;
        -- the buffers hold 48..120 bytes, so some messages never fit
        local len = math.random(0, 80)
        local ok, r
        if math.random(4) == 1 then
            ok, r = pcall(function()
                w:clear()
                w:add(p, t, s)
                w:add(string.rep(string.char(65 + (p + s) % 26), len))
                return w:addmsg(bufs[t])
            end)
        else
            ok, r = pcall(bufs[t].addmsg, bufs[t], p, t, s, string.rep(string.char(65 + (p + s) % 26), len))
        end
        if ok and r == true then
            seq[t] = s + 1
            sent = sent + 1
        elseif ok and r == false then
            falses = falses + 1
        elseif not ok and tostring(r):find("mtmsg.error.message_size", 1, true) then
            too_big = too_big + 1
        else
            other = tostring(r)
            break
        end
        if falses % 8 == 7 then mtmsg.sleep(0.0002) end
    end
    local sent_map = {}
    for t = 1, #ids do sent_map[t] = seq[t] - 1 end
    local S = require "stresslib"
    return p, sent, falses, too_big, other, S.encode_map(sent_map)
end

local function consumer(c, seed, duration, lid, ...)
    local mtmsg = require "mtmsg"
    local S = require "stresslib"
    math.randomseed(seed)
    local ids = { ... }
    local bufs = {}
    for t, id in ipairs(ids) do bufs[t] = mtmsg.buffer(id) end
    local L = mtmsg.listener(lid)
    local small = mtmsg.newreader(40, 0)  -- too small for the larger messages
    local recv, last, stats = {}, {}, { got = 0, order = 0, corrupt = 0, reader_too_small = 0, other = "" }
    local function got(p, t, s, str)
        if p == nil then return end
        if type(t) ~= "number" or type(s) ~= "number" or str ~= string.rep(string.char(65 + (p + s) % 26), #str) then
            stats.corrupt = stats.corrupt + 1
            return
        end
        local k = t * 100 + p
        if s <= (last[k] or 0) then stats.order = stats.order + 1 end
        last[k] = s
        local l = recv[k]
        if not l then l = {}; recv[k] = l end
        l[#l + 1] = s
        stats.got = stats.got + 1
    end
    local deadline = mtmsg.time() + duration
    local n = 0
    while true do
        n = n + 1
        if n % 16 == 0 and mtmsg.time() >= deadline then break end
        local t = math.random(#ids)
        local op = math.random(10)
        if op <= 5 then
            got(bufs[t]:nextmsg(0.001))
        elseif op <= 7 then
            local ok, r = pcall(small.nextmsg, small, bufs[t], 0)
            if ok and r then
                got(small:next(4))
            elseif not ok then
                if tostring(r):find("mtmsg.error.message_size", 1, true) then
                    stats.reader_too_small = stats.reader_too_small + 1
                else
                    stats.other = tostring(r)
                    break
                end
            end
        else
            got(L:nextmsg(0.001))
        end
    end
    return c, stats.got, stats.order, stats.corrupt, stats.reader_too_small, stats.other, S.encode_lists(recv)
end

do
    local L = mtmsg.newlistener()
    local targets, ids = {}, {}
    local sizes = { 48, 64, 100, 120 }
    for t = 1, 4 do targets[t] = mtmsg.newbuffer(sizes[t], 0) end
    for t = 5, 8 do targets[t] = L:newbuffer(sizes[t - 4], 0) end
    -- a zero-sized buffer: its first message fixes the capacity (twice that)
    targets[9] = mtmsg.newbuffer(0, 0)
    for t = 1, #targets do ids[t] = targets[t]:id() end
    local P, C = 6, 6
    local threads = {}
    for p = 1, P do threads[#threads + 1] = S.thread(producer, p, S.seed + p, DURATION, S.unpack(ids)) end
    for c = 1, C do
        threads[#threads + 1] = S.thread(consumer, c, S.seed + 100 + c, DURATION + 0.2, L:id(), S.unpack(ids))
    end
    local results = S.join_all(threads, DURATION + 30, "fixed")
    local sent, counts = {}, {}
    local f = { sent = 0, falses = 0, too_big = 0, got = 0, order = 0, corrupt = 0, reader_small = 0 }
    for i, r in pairs(results) do
        if i <= P and r.n >= 6 then
            f.sent, f.falses, f.too_big = f.sent + r[2], f.falses + r[3], f.too_big + r[4]
            S.check(r[5] == "", "producer error: " .. tostring(r[5]))
            local p = r[1]
            S.decode_map(r[6], function(t, n) sent[t * 100 + p] = n end)
        elseif i > P and r.n >= 7 then
            f.got, f.order, f.corrupt, f.reader_small =
                f.got + r[2], f.order + r[3], f.corrupt + r[4], f.reader_small + r[5]
            S.check(r[6] == "", "consumer error: " .. tostring(r[6]))
            S.decode_lists(r[7], function(k, s)
                counts[k] = counts[k] or {}
                counts[k][s] = (counts[k][s] or 0) + 1
            end)
        end
    end
    -- drain
    local drained = 0
    for t = 1, #targets do
        local last = {}
        while true do
            local p, tt, s, str = targets[t]:nextmsg(0)
            if p == nil then break end
            if tt ~= t then f.corrupt = f.corrupt + 1 end
            drained = drained + 1
            local k = t * 100 + p
            if s <= (last[k] or 0) then f.order = f.order + 1 end
            last[k] = s
            if str ~= string.rep(string.char(65 + (p + s) % 26), #str) then f.corrupt = f.corrupt + 1 end
            counts[k] = counts[k] or {}
            counts[k][s] = (counts[k][s] or 0) + 1
        end
    end
    S.check(L:nextmsg(0) == nil, "listener empty after draining its buffers")
    local lost, dup, unknown, total = 0, 0, 0, 0
    for k, n in pairs(sent) do
        total = total + n
        for s = 1, n do
            local c = counts[k] and counts[k][s] or 0
            if c == 0 then lost = lost + 1 elseif c > 1 then dup = dup + c - 1 end
        end
    end
    for k, cs in pairs(counts) do
        for s, c in pairs(cs) do if s > (sent[k] or 0) then unknown = unknown + c end end
    end
    S.report("fixed buffers", { "producers", P, "consumers", C, "buffers", #targets, "sent", total,
        "false_returns", f.falses, "message_size_errors", f.too_big, "received", f.got + drained,
        "reader_too_small", f.reader_small })
    S.report("fixed accounting", { "lost", lost, "duplicated", dup, "unknown", unknown, "out_of_order", f.order,
        "corrupt", f.corrupt })
    S.check(total == f.sent, "sent maps agree")
    S.check(lost == 0 and dup == 0 and unknown == 0, "exact accounting")
    S.check(f.order == 0 and f.corrupt == 0, "order and contents")
    S.check(f.falses > 0, "the fixed buffers never returned false (no pressure)")
    S.check(f.too_big > 0, "no message_size errors (sizes too small)")
end

------------------------------------------------------------------------------
-- 2
------------------------------------------------------------------------------
local function setter(p, seed, duration, bid, fixed)
    local mtmsg = require "mtmsg"
    math.randomseed(seed)
    local b = mtmsg.buffer(bid)
    local w = mtmsg.newwriter()
    local s, sets, falses, refused, too_big, other = 0, 0, 0, 0, 0, ""
    local function set(f, ...)
        local ok, r = pcall(f, ...)
        if ok then return r end
        -- a zero-sized buffer is fixed by its first message: later longer
        -- messages do not fit
        if tostring(r):find("mtmsg.error.message_size", 1, true) then
            too_big = too_big + 1
            return nil
        end
        error(r, 0)
    end
    local deadline = mtmsg.time() + duration
    while mtmsg.time() < deadline do
        local op = math.random(10)
        if op <= 6 then
            s = s + 1
            local r = set(b.setmsg, b, p, s, string.rep("s", s % 50))
            if r then sets = sets + 1 elseif r == false then falses = falses + 1 end
        elseif op <= 8 then
            s = s + 1
            w:add(p, s, string.rep("s", s % 50))
            local r = set(w.setmsg, w, b)
            if r then sets = sets + 1 else w:clear() end
            if r == false then falses = falses + 1 end
        elseif fixed then
            -- oversized: must fail with message_size and leave the buffer alone
            local ok, err = pcall(b.setmsg, b, p, -1, string.rep("X", 400))
            if not ok and tostring(err):find("mtmsg.error.message_size", 1, true) then
                refused = refused + 1
            else
                other = tostring(err)
                break
            end
        end
    end
    return p, s, sets, falses, refused, other, too_big
end

local function getter(seed, duration, bid)
    local mtmsg = require "mtmsg"
    math.randomseed(seed)
    local b = mtmsg.buffer(bid)
    local last, got, order, corrupt, maxcnt = {}, 0, 0, 0, 0
    local deadline = mtmsg.time() + duration
    while mtmsg.time() < deadline do
        local c = b:msgcnt()
        if c > maxcnt then maxcnt = c end
        local p, s, str = b:nextmsg(0.001)
        if p ~= nil then
            got = got + 1
            if s == -1 or str ~= string.rep("s", s % 50) then corrupt = corrupt + 1 end
            if s <= (last[p] or 0) then order = order + 1 end
            last[p] = s
        end
    end
    return got, order, corrupt, maxcnt
end

do
    local results_all = {} -- luacheck: ignore 241 (only holds the three buffers alive)
    local f = { sets = 0, falses = 0, refused = 0, got = 0, order = 0, corrupt = 0, maxcnt = 0 }
    for _, spec in ipairs { { 128, 0 }, { 0, 0 }, { 1024, 2 } } do
        local b = mtmsg.newbuffer(spec[1], spec[2])
        local threads = {}
        for p = 1, 6 do
            threads[#threads + 1] = S.thread(setter, p, S.seed + 200 + p, DURATION / 3, b:id(), spec[2] == 0)
        end
        for c = 1, 3 do threads[#threads + 1] = S.thread(getter, S.seed + 300 + c, DURATION / 3, b:id()) end
        local results = S.join_all(threads, DURATION + 30, "setmsg storm")
        for i, r in pairs(results) do
            if i <= 6 and r.n >= 6 then
                f.sets, f.falses, f.refused = f.sets + r[3], f.falses + r[4], f.refused + r[5]
                f.too_big = (f.too_big or 0) + r[7]
                S.check(r[6] == "", "setter: " .. tostring(r[6]))
            elseif i > 6 and r.n >= 4 then
                f.got, f.order, f.corrupt = f.got + r[1], f.order + r[2], f.corrupt + r[3]
                if r[4] > f.maxcnt then f.maxcnt = r[4] end
            end
        end
        S.check(b:msgcnt() <= 1, "after a setmsg-only storm msgcnt is at most 1: " .. b:msgcnt())
        local p, s = b:nextmsg(0)
        S.check(p == nil or s ~= -1, "the oversized setmsg never landed")
        results_all[#results_all + 1] = b
    end
    S.report("setmsg storm", { "buffers", 3, "setters", 18, "getters", 9, "setmsg_true", f.sets,
        "setmsg_false", f.falses, "oversized_refused", f.refused, "message_size", f.too_big, "received", f.got,
        "max_msgcnt_seen", f.maxcnt,
        "out_of_order", f.order, "corrupt", f.corrupt })
    S.check(f.order == 0, "setmsg storm: out of order")
    S.check(f.corrupt == 0, "setmsg storm: corrupt or oversized message read")
    S.check(f.maxcnt <= 1, "setmsg storm: msgcnt above 1 seen")
end

S.finish()
