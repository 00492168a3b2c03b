-- Buffers under contention (module mtthread): producers / consumers with
-- exact accounting (nothing lost, nothing duplicated, order per producer),
-- fixed-size buffers returning false, nextmsg(0) under contention
-- (decisions: returns a queued message even if another thread holds the
-- lock), nonblock mode (false / nothing only when busy, never losing
-- messages), setmsg atomicity.
-- spec/mtmsg.md §7, §8; decisions.md "nextmsg(0)".
-- Thread functions have no upvalues (they are moved by string.dump).
local T = require "testlib"
local U = require "buftest_util"
local mtmsg = require "mtmsg"

-- Adds (pid, i) for i = 1..n to buffer bid; retries when addmsg returns
-- false (fixed-size buffer full, or busy in nonblock mode). Returns the
-- number of false results.
local function producer(bid, pid, n, nonblock, rid)
    local mtmsg = require "mtmsg"
    local b = mtmsg.buffer(bid)
    if nonblock then b:nonblock() end
    if rid then mtmsg.buffer(rid):addmsg("go") end
    local falses = 0
    for i = 1, n do
        while true do
            local ok = b:addmsg(pid, i)
            if ok == true then break end
            if ok ~= false then error("addmsg returned " .. tostring(ok)) end
            falses = falses + 1
            if falses % 50 == 0 then mtmsg.sleep(0.001) end
        end
    end
    return falses
end

-- Takes (pid, i) messages until (0, 0) and forwards them as (cid, pid, i)
-- to buffer outid. Returns the count and whether the order per producer was
-- increasing.
local function consumer(bid, outid, cid)
    local mtmsg = require "mtmsg"
    local b, out = mtmsg.buffer(bid), mtmsg.buffer(outid)
    local count, order_ok, last = 0, true, {}
    while true do
        local p, i = b:nextmsg(8)
        if p == nil then return count, order_ok, "timeout" end
        if p == 0 then break end
        if last[p] and i <= last[p] then order_ok = false end
        last[p] = i
        out:addmsg(cid, p, i)
        count = count + 1
    end
    return count, order_ok, "stopped"
end

local function run_mpmc(label, b, P, N, C)
    local out = mtmsg.newbuffer()
    local cons, prods = {}, {}
    for c = 1, C do cons[c] = U.thread(consumer, b:id(), out:id(), c) end
    for p = 1, P do prods[p] = U.thread(producer, b:id(), p, N, false) end
    for p = 1, P do
        local r = U.join(prods[p], 20, function() b:close() end)
        T.eq(type(r[1]), "number", label .. ": producer " .. p .. " finished")
    end
    for _ = 1, C do
        while not b:addmsg(0, 0) do mtmsg.sleep(0.001) end
    end
    local total = 0
    for c = 1, C do
        local r = U.join(cons[c], 20, function() b:close() end)
        T.eq(r[3], "stopped", label .. ": consumer " .. c .. " got its stop message")
        T.eq(r[2], true, label .. ": consumer " .. c .. " saw each producer's messages in order")
        total = total + r[1]
    end
    T.eq(total, P * N, label .. ": messages consumed")
    T.eq(out:msgcnt(), P * N, label .. ": messages forwarded")
    local seen, dups, bad = {}, 0, 0
    for p = 1, P do seen[p] = {} end
    for _ = 1, P * N do
        local c, p, i = out:nextmsg(0)
        if type(c) ~= "number" or c < 1 or c > C or not seen[p] or type(i) ~= "number" then
            bad = bad + 1
        elseif seen[p][i] then
            dups = dups + 1
        else
            seen[p][i] = true
        end
    end
    T.eq(bad, 0, label .. ": malformed messages")
    T.eq(dups, 0, label .. ": duplicated messages")
    local missing = 0
    for p = 1, P do
        for i = 1, N do if not seen[p][i] then missing = missing + 1 end end
    end
    T.eq(missing, 0, label .. ": lost messages")
    T.eq(b:msgcnt(), 0, label .. ": buffer empty at the end")
end

------------------------------------------------------------------------------
-- several producers and consumers, growing buffer
------------------------------------------------------------------------------
run_mpmc("growing buffer", mtmsg.newbuffer(), 3, 3000, 2)

------------------------------------------------------------------------------
-- fixed-size buffer: producers get false while full and retry
------------------------------------------------------------------------------
run_mpmc("fixed buffer", mtmsg.newbuffer(64, 0), 3, 800, 2)

------------------------------------------------------------------------------
-- one producer, the main thread consumes: exact FIFO order
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    local N = 20000
    local t = U.thread(producer, b:id(), 1, N, false)
    local wrong = 0
    for i = 1, N do
        local p, v = b:nextmsg(8)
        if p ~= 1 or v ~= i then wrong = wrong + 1 end
    end
    T.eq(wrong, 0, "FIFO order with one producer")
    T.results(U.join(t, 20), 0)
    T.eq(b:msgcnt(), 0)
end

------------------------------------------------------------------------------
-- decisions: nextmsg(0) returns a queued message even while another thread
-- keeps taking the buffer's lock
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    local K = 3000
    for i = 1, K do b:addmsg(0, i) end
    local ready = mtmsg.newbuffer()
    local t = U.thread(producer, b:id(), 1, 60000, false, ready:id())
    T.eq(ready:nextmsg(10), "go")
    local misses, wrong = 0, 0
    for i = 1, K do
        -- at least K - i + 1 messages are queued here
        local r = T.pack(b:nextmsg(0))
        if r.n == 0 then
            misses = misses + 1
        elseif r[1] ~= 0 or r[2] ~= i then
            wrong = wrong + 1
        end
    end
    local still_running = t:alive()
    T.eq(misses, 0, "nextmsg(0) never returned nothing while messages were queued")
    T.eq(wrong, 0, "nextmsg(0) returned the queued messages in order")
    -- same for negative timeouts
    local misses2 = 0
    if still_running then
        for _ = 1, 500 do
            if b:msgcnt() > 0 and T.pack(b:nextmsg(-1)).n == 0 then misses2 = misses2 + 1 end
        end
    end
    T.results(U.join(t, 20), 0)
    T.eq(misses2, 0, "nextmsg(-1) never returned nothing while messages were queued")
    -- everything the producer added is there, in order
    local n, wrong2, last = 0, 0, 0
    while true do
        local r = T.pack(b:nextmsg(0))
        if r.n == 0 then break end
        n = n + 1
        if r[1] ~= 1 or r[2] <= last then wrong2 = wrong2 + 1 end
        last = r[2]
    end
    T.eq(wrong2, 0, "producer's messages in order")
    T.eq(last, 60000, "last producer message present")
    T.eq(b:msgcnt(), 0)
end

------------------------------------------------------------------------------
-- nonblock consumer: nothing only when empty or busy, never a lost message
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    local nb = mtmsg.buffer(b:id())
    nb:nonblock()
    local N = 20000
    local ready = mtmsg.newbuffer()
    local t = U.thread(producer, b:id(), 1, N, false, ready:id())
    T.eq(ready:nextmsg(10), "go")
    local expect, empties, wrong = 1, 0, 0
    local deadline = mtmsg.time() + 15
    while expect <= N and mtmsg.time() < deadline do
        local r = T.pack(nb:nextmsg())
        if r.n == 0 then
            empties = empties + 1
        elseif r.n ~= 2 or r[1] ~= 1 or r[2] ~= expect then
            wrong = wrong + 1
            expect = expect + 1
        else
            expect = expect + 1
        end
    end
    T.eq(expect, N + 1, "nonblock consumer received all messages")
    T.eq(wrong, 0, "nonblock consumer received them in order")
    T.results(U.join(t, 20), 0)
    -- uncontended again: nonblock operations succeed
    T.eq(T.pack(nb:nextmsg()).n, 0, "empty")
    T.eq(nb:addmsg("a"), true, "nonblock addmsg without contention")
    T.eq(nb:setmsg("b"), true, "nonblock setmsg without contention")
    T.results(T.pack(nb:nextmsg()), "b")
    T.eq(nb:clear(), true, "nonblock clear without contention")
end

------------------------------------------------------------------------------
-- nonblock producer: false when busy, retried; the consumer gets everything
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    local N = 20000
    local t = U.thread(producer, b:id(), 1, N, true)
    local wrong = 0
    for i = 1, N do
        local p, v = b:nextmsg(8)
        if p ~= 1 or v ~= i then wrong = wrong + 1 end
    end
    T.eq(wrong, 0, "messages of a nonblock producer: all, in order")
    local r = U.join(t, 20)
    T.eq(type(r[1]), "number", "producer returned its false count")
    T.eq(b:msgcnt(), 0, "nothing extra was stored")
    T.eq(T.pack(b:nextmsg(0)).n, 0)
end

------------------------------------------------------------------------------
-- nonblock clear under contention: true or false only; afterwards true
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    local nb = mtmsg.buffer(b:id())
    nb:nonblock()
    local ready = mtmsg.newbuffer()
    local t = U.thread(producer, b:id(), 1, 30000, false, ready:id())
    T.eq(ready:nextmsg(10), "go")
    local trues, falses, other = 0, 0, 0
    while t:alive() do
        local r = T.pack(nb:clear())
        if r.n == 1 and r[1] == true then
            trues = trues + 1
        elseif r.n == 1 and r[1] == false then
            falses = falses + 1
        else
            other = other + 1
        end
    end
    T.results(U.join(t, 20), 0)
    T.eq(other, 0, "clear returns exactly true or false")
    -- whatever was not cleared is still in order
    local last, wrong = 0, 0
    while true do
        local r = T.pack(b:nextmsg(0))
        if r.n == 0 then break end
        if r[2] <= last then wrong = wrong + 1 end
        last = r[2]
    end
    T.eq(wrong, 0, "remaining messages in order")
    b:addmsg(1)
    T.eq(nb:clear(), true, "clear without contention")
    T.eq(b:msgcnt(), 0)
end

------------------------------------------------------------------------------
-- setmsg under contention is atomic: at most one message, increasing values
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    local N = 20000
    local ready = mtmsg.newbuffer()
    local t = U.thread(function(bid, rid, n)
        local mtmsg = require "mtmsg"
        local b = mtmsg.buffer(bid)
        mtmsg.buffer(rid):addmsg("go")
        for i = 1, n do
            if b:setmsg(i, "x" .. i) ~= true then error("setmsg failed at " .. i) end
        end
        return n
    end, b:id(), ready:id(), N)
    T.eq(ready:nextmsg(10), "go")
    local last, wrong, toomany = 0, 0, 0
    while t:alive() do
        local c = b:msgcnt()
        if c > 1 then toomany = toomany + 1 end
        local r = T.pack(b:nextmsg(0))
        if r.n == 2 then
            if r[1] <= last or r[2] ~= "x" .. r[1] then wrong = wrong + 1 end
            last = r[1]
        elseif r.n ~= 0 then
            wrong = wrong + 1
        end
    end
    T.results(U.join(t, 20), N)
    T.eq(toomany, 0, "msgcnt never above 1 with setmsg only")
    T.eq(wrong, 0, "values increase and messages are whole")
    local r = T.pack(b:nextmsg(0))
    if r.n > 0 then last = r[1] end
    T.eq(last, N, "the last setmsg wins")
    T.eq(b:msgcnt(), 0)
end

------------------------------------------------------------------------------
-- close / global abort while threads are adding and taking messages: every
-- thread ends with the exact error, nothing crashes, the buffer stays closed
------------------------------------------------------------------------------
local function hammer(bid, rid, role)
    local mtmsg = require "mtmsg"
    local b = mtmsg.buffer(bid)
    mtmsg.buffer(rid):addmsg("go")
    local n = 0
    local ok, err = pcall(function()
        while true do
            if role == "add" then
                b:addmsg("v", n, string.rep("x", n % 300))
            elseif role == "set" then
                b:setmsg("s", n)
            else
                b:nextmsg()
            end
            n = n + 1
        end
    end)
    return ok, err, n
end

do
    for _, stop in ipairs { "close", "abort" } do
        local b = mtmsg.newbuffer("hammered")
        local ready = mtmsg.newbuffer()
        local ts = {}
        for i, role in ipairs { "add", "add", "set", "next", "next" } do
            ts[i] = U.thread(hammer, b:id(), ready:id(), role)
        end
        for _ = 1, #ts do T.eq(ready:nextmsg(10), "go") end
        mtmsg.sleep(0.2)
        if stop == "close" then b:close() else mtmsg.abort(true) end
        local want = stop == "close" and U.closed_err(b) or U.ABORTED
        for i = 1, #ts do
            local r = U.join(ts[i], 10, function() b:close() end)
            T.eq(r[1], false, stop .. ": thread " .. i .. " stopped by an error")
            T.eq(r[2], want, stop .. ": thread " .. i .. " error")
        end
        if stop == "close" then
            T.eq(b:msgcnt(), 0, "closed: msgcnt 0")
            T.raises_exactly(function() b:addmsg(1) end, want)
        else
            mtmsg.abort(false)
            -- usable again; the queued messages are intact and in order: a
            -- setmsg replaces every message, so its message can only come
            -- first; the values of each adder increase, so the "v" values
            -- are a merge of two increasing sequences (checked greedily:
            -- a value follows the higher of the two last values below it)
            local first, wrong, hi, lo = true, 0, -1, -1
            while true do
                local r = T.pack(b:nextmsg(0))
                if r.n == 0 then break end
                if r[1] == "v" and r[3] ~= string.rep("x", r[2] % 300) then wrong = wrong + 1 end
                if r[1] ~= "v" and r[1] ~= "s" then wrong = wrong + 1 end
                if r[1] == "s" and not first then wrong = wrong + 1 end
                if r[1] == "v" then
                    if r[2] > hi then
                        hi = r[2]
                    elseif r[2] > lo then
                        lo = r[2]
                    else
                        wrong = wrong + 1
                    end
                end
                first = false
            end
            T.eq(wrong, 0, "messages intact and in order after a global abort")
            T.eq(b:addmsg("after"), true)
            T.eq(b:nextmsg(0), "after")
        end
    end
end

------------------------------------------------------------------------------
-- registry under churn: threads create and drop named buffers while the
-- main thread looks up a stable buffer by name and id
------------------------------------------------------------------------------
do
    local stable = mtmsg.newbuffer("stable-name")
    local ready = mtmsg.newbuffer()
    local ts = {}
    for i = 1, 3 do
        ts[i] = U.thread(function(rid, n)
            local mtmsg = require "mtmsg"
            mtmsg.buffer(rid):addmsg("go")
            for j = 1, n do
                local x = mtmsg.newbuffer("churn")
                local _ = mtmsg.newbuffer("stable-name-not")
                x:addmsg(j)
                if j % 20 == 0 then collectgarbage() end
            end
            return n
        end, ready:id(), 2000)
    end
    for _ = 1, 3 do T.eq(ready:nextmsg(10), "go") end
    local bad = 0
    for _ = 1, 2000 do
        local ok, r = pcall(mtmsg.buffer, "stable-name")
        if not ok or r:id() ~= stable:id() then bad = bad + 1 end
        ok, r = pcall(mtmsg.buffer, stable:id())
        if not ok or r:name() ~= "stable-name" then bad = bad + 1 end
    end
    for i = 1, 3 do T.results(U.join(ts[i], 20), 2000) end
    T.eq(bad, 0, "lookups of a stable buffer never failed during churn")
    collectgarbage()
    collectgarbage()
end

T.eq(mtmsg.isabort(), false)
T.done("buffer_contention")
