-- mtstates under concurrency:
--   1. interrupt storms against busy states: callers keep calling states
--      whose callbacks run Lua loops, interrupter threads interrupt them
--      (once, persistent then off): every call returns its correct result
--      or raises an error containing mtstates.error.interrupted; afterwards
--      every state still works and its data is intact;
--   2. dozens of threads blocked in call / tcall(long timeout) on a busy
--      state; the running callback is interrupted persistently: every
--      waiter wakes with interrupted (or tcall's false), none hangs;
--   3. close racing call: callers call a state by a non-owning reference
--      while its owner closes it (close raises concurrent_access while a
--      call runs, and is retried): every call returns its result or raises
--      object_closed (unknown_object at lookup), no hang, no other error;
--   4. the owner's thread exits (its reference collected) while other
--      threads call through non-owning references.
local S = require "stresslib"
local mtmsg = require "mtmsg"

S.start("mtstates_stress")

local mtstates = S.mtstates()

local INTERRUPTED = "mtstates.error.interrupted"
local CLOSED = "mtstates.error.object_closed"
local BUSY = "mtstates.error.concurrent_access"

-- A state whose callback spins in Lua for `ms` milliseconds and returns
-- x * 2 and its call counter; its data is checked by "check".
local SETUP = [[
    local mtmsg = require "mtmsg"
    local calls, data = 0, {}
    for i = 1, 100 do data[i] = i end
    return function(cmd, x, ms)
        if cmd == "check" then
            for i = 1, 100 do if data[i] ~= i then return false, calls end end
            return true, calls
        end
        calls = calls + 1
        local t = mtmsg.time() + (ms or 0) / 1000
        local k = 0
        repeat
            k = k + 1
            data[k % 100 + 1] = data[k % 100 + 1]   -- touch the data
        until mtmsg.time() >= t
        if cmd == "catch" then
            -- an interrupt caught inside the callback
            local ok, err = pcall(function()
                local t2 = mtmsg.time() + 0.002
                repeat until mtmsg.time() >= t2
            end)
            if not ok then return "caught", tostring(err) end
        end
        return x * 2, calls
    end
]]

------------------------------------------------------------------------------
-- 1
------------------------------------------------------------------------------
do
    local NSTATES, CALLERS, INTERRUPTERS = 4, 8, 3
    local DURATION = S.seconds(4)
    local states, ids = {}, {}
    for i = 1, NSTATES do
        states[i] = mtstates.newstate(SETUP)
        ids[i] = states[i]:id()
    end
    local function caller(seed, duration, ...)
        local mtstates = require "mtstates"
        local mtmsg = require "mtmsg"
        math.randomseed(seed)
        local ids = { ... }
        local refs = {}
        for i, id in ipairs(ids) do refs[i] = mtstates.state(id) end
        local ok_calls, interrupted, caught, wrong, other = 0, 0, 0, 0, ""
        local deadline = mtmsg.time() + duration
        while mtmsg.time() < deadline do
            local s = refs[math.random(#refs)]
            local x = math.random(1000)
            local cmd = math.random(5) == 1 and "catch" or "run"
            local ok, r, r2
            if math.random(2) == 1 then
                ok, r, r2 = pcall(s.call, s, cmd, x, math.random(0, 3))
            else
                local tok
                ok, tok, r, r2 = pcall(s.tcall, s, 5, cmd, x, math.random(0, 3))
                if not ok then
                    r = tok
                elseif tok ~= true then
                    ok, r = false, "tcall returned " .. tostring(tok)
                end
            end
            if ok and r == x * 2 then
                ok_calls = ok_calls + 1
            elseif ok and r == "caught" then
                if tostring(r2):find("mtstates.error.interrupted", 1, true) then
                    caught = caught + 1
                else
                    wrong = wrong + 1
                end
            elseif not ok and tostring(r):find("mtstates.error.interrupted", 1, true) then
                interrupted = interrupted + 1
            elseif ok then
                wrong = wrong + 1
            else
                other = tostring(r)
                break
            end
        end
        return ok_calls, interrupted, caught, wrong, other
    end
    local function interrupter(seed, duration, ...)
        local mtstates = require "mtstates"
        local mtmsg = require "mtmsg"
        math.randomseed(seed)
        local ids = { ... }
        local refs = {}
        for i, id in ipairs(ids) do refs[i] = mtstates.state(id) end
        local n = 0
        local deadline = mtmsg.time() + duration
        while mtmsg.time() < deadline do
            local s = refs[math.random(#refs)]
            local op = math.random(10)
            if op <= 7 then
                s:interrupt()
            elseif op <= 9 then
                s:interrupt(true)
                mtmsg.sleep(0.001)
                s:interrupt(false)
            else
                s:interrupt(nil)
            end
            n = n + 1
            mtmsg.sleep(math.random() * 0.01)
        end
        for _, s in ipairs(refs) do s:interrupt(false) end
        return n
    end
    local threads = {}
    for c = 1, CALLERS do threads[#threads + 1] = S.thread(caller, S.seed + c, DURATION, S.unpack(ids)) end
    for k = 1, INTERRUPTERS do
        threads[#threads + 1] = S.thread(interrupter, S.seed + 50 + k, DURATION, S.unpack(ids))
    end
    local results = S.join_all(threads, DURATION + 30, "interrupt storm", function()
        for _, s in ipairs(states) do pcall(s.interrupt, s, true) end
    end)
    local f = { ok = 0, interrupted = 0, caught = 0, wrong = 0, interrupts = 0 }
    for i, r in pairs(results) do
        if i <= CALLERS and r.n >= 5 then
            f.ok, f.interrupted, f.caught, f.wrong = f.ok + r[1], f.interrupted + r[2], f.caught + r[3], f.wrong + r[4]
            S.check(r[5] == "", "caller: unexpected error: " .. tostring(r[5]))
        elseif i > CALLERS and r.n >= 1 then
            f.interrupts = f.interrupts + r[1]
        end
    end
    -- every state still works and its data is intact (a once-interrupt may
    -- still be pending: it costs one call)
    local intact = 0
    for _, s in ipairs(states) do
        s:interrupt(false)
        local ok, good = pcall(s.call, s, "check")
        if not ok then ok, good = pcall(s.call, s, "check") end
        if ok and good == true then intact = intact + 1 end
        local ok2, r = pcall(s.call, s, "run", 21, 0)
        S.check(ok2 and r == 42, "state works after the storm: " .. tostring(r))
    end
    S.report("interrupt storm", { "states", NSTATES, "callers", CALLERS, "interrupters", INTERRUPTERS,
        "interrupts", f.interrupts, "calls_ok", f.ok, "calls_interrupted", f.interrupted,
        "caught_inside", f.caught, "wrong_results", f.wrong, "states_intact", intact })
    S.check(f.wrong == 0, "interrupt storm: wrong results " .. f.wrong)
    S.check(intact == NSTATES, "interrupt storm: state data damaged")
    S.check(f.interrupted > 0, "interrupt storm: no call was interrupted")
end

------------------------------------------------------------------------------
-- 2
------------------------------------------------------------------------------
do
    local WAITERS = S.scaled(32, 4)
    local s = mtstates.newstate(SETUP)
    local function long_caller(id, ready_id, kind)
        local mtstates = require "mtstates"
        local mtmsg = require "mtmsg"
        local s = mtstates.state(id)
        mtmsg.buffer(ready_id):addmsg(1)
        local ok, a, b
        if kind == "call" then
            ok, a = pcall(s.call, s, "run", 1, 60000)
        else
            ok, a, b = pcall(s.tcall, s, 120, "run", 1, 60000)
        end
        return ok, tostring(a), tostring(b)
    end
    local ready = mtmsg.newbuffer()
    local list = {}
    for i = 1, WAITERS do list[i] = S.thread(long_caller, s:id(), ready:id(), i % 2 == 0 and "call" or "tcall") end
    for _ = 1, WAITERS do S.check(ready:nextmsg(10) == 1, "waiter started", true) end
    mtmsg.sleep(0.2)
    local t0 = mtmsg.time()
    s:interrupt(true)
    local results, _, hangs = S.join_all(list, 20, "blocked caller", function() s:interrupt(true) end)
    local woke = mtmsg.time() - t0
    s:interrupt(false)
    local interrupted = 0
    for _, r in pairs(results) do
        if r[1] == false and r[2]:find(INTERRUPTED, 1, true) then interrupted = interrupted + 1 end
    end
    local ok, r = pcall(s.call, s, "run", 5, 0)
    S.report("waiters on a busy state, interrupt(true)", { "waiters", WAITERS, "interrupted", interrupted,
        "hangs", hangs, "seconds_to_wake_all", woke, "usable_after", ok and r == 10 })
    S.check(interrupted == WAITERS, "every blocked caller raised interrupted: " .. interrupted)
    S.check(ok and r == 10, "state usable after interrupt(false): " .. tostring(r))
end

-- 2b: the same, but the busy call is released and the state closed while
-- the waiters queue: each waiter gets its result or object_closed (the
-- decision: a caller that waited re-checks for close), none hangs.
do
    local WAITERS = S.scaled(32, 4)
    local gate = mtmsg.newbuffer()
    local s = mtstates.newstate(nil, [[
        local mtmsg = require "mtmsg"
        local gate = mtmsg.buffer(...)
        return function(cmd, x)
            if cmd == "block" then gate:nextmsg() end
            return x * 2
        end
    ]], gate:id())
    local blocker = S.thread(function(id)
        local mtstates = require "mtstates"
        return mtstates.state(id):call("block", 1)
    end, s:id())
    mtmsg.sleep(0.1)
    local ready = mtmsg.newbuffer()
    local list = {}
    for i = 1, WAITERS do
        list[i] = S.thread(function(id, ready_id, i, kind)
            local mtstates = require "mtstates"
            local mtmsg = require "mtmsg"
            local s = mtstates.state(id)
            mtmsg.buffer(ready_id):addmsg(1)
            if kind == "call" then
                local ok, r = pcall(s.call, s, "run", i)
                return ok, tostring(r)
            end
            local ok, tok, r = pcall(s.tcall, s, 60, "run", i)
            if not ok then return false, tostring(tok) end
            return tok, tostring(r)
        end, s:id(), ready:id(), i, i % 2 == 0 and "call" or "tcall")
    end
    for _ = 1, WAITERS do S.check(ready:nextmsg(10) == 1, "2b waiter started", true) end
    mtmsg.sleep(0.1)
    local busy_err = select(2, pcall(s.close, s))
    gate:addmsg("go")
    local tries = 0
    while not pcall(s.close, s) do
        tries = tries + 1
        if tries % 64 == 0 then mtmsg.sleep(0.0002) end
    end
    local results, _, hangs = S.join_all(list, 20, "2b waiter", function() gate:close() end)
    S.join_all({ blocker }, 10, "2b blocker")
    local got, closed, other = 0, 0, 0
    for i, r in pairs(results) do
        if r[1] == true and r[2] == tostring(i * 2) then
            got = got + 1
        elseif r[1] == false and r[2]:find(CLOSED, 1, true) then
            closed = closed + 1
        else
            other = other + 1
            S.check(false, "2b waiter " .. i .. " got " .. tostring(r[1]) .. " " .. tostring(r[2]))
        end
    end
    S.report("waiters on a busy state, released and closed", { "waiters", WAITERS, "results", got,
        "object_closed", closed, "other", other, "hangs", hangs, "close_retries", tries,
        "close_while_busy", (tostring(busy_err):match("mtstates%.error%.%w+") or tostring(busy_err)) })
    S.check(tostring(busy_err):find(BUSY, 1, true), "close during a call raises concurrent_access")
end

------------------------------------------------------------------------------
-- 3
------------------------------------------------------------------------------
do
    local ROUNDS, CALLERS = S.scaled(30, 3), 8
    local f = { ok = 0, closed = 0, unknown = 0, busy = 0, other = 0, hangs = 0 }
    for _ = 1, ROUNDS do
        local s = mtstates.newstate(SETUP)
        local id = s:id()
        local list = {}
        for c = 1, CALLERS do
            list[c] = S.thread(function(id, n)
                local mtstates = require "mtstates"
                local ok_n, closed, unknown, other = 0, 0, 0, ""
                local ok, s = pcall(mtstates.state, id)
                if not ok then
                    if tostring(s):find("mtstates.error.unknown_object", 1, true) then return 0, 0, 1, "" end
                    return 0, 0, 0, tostring(s)
                end
                for i = 1, n do
                    if i % 4 == 0 then require("mtmsg").sleep(0.0005) end
                    local cok, r = pcall(s.call, s, "run", i, 0.5)
                    if cok and r == i * 2 then
                        ok_n = ok_n + 1
                    elseif not cok and tostring(r):find("mtstates.error.object_closed", 1, true) then
                        closed = closed + 1
                        break
                    else
                        other = tostring(r)
                        break
                    end
                end
                return ok_n, closed, unknown, other
            end, id, 200)
        end
        mtmsg.sleep(math.random() * 0.02)
        -- close, retrying while a call runs
        local tries = 0
        while true do
            tries = tries + 1
            local ok, err = pcall(s.close, s)
            if ok then break end
            if tostring(err):find(BUSY, 1, true) then
                f.busy = f.busy + 1
            else
                S.check(false, "close raised " .. tostring(err))
                break
            end
            if tries % 64 == 0 then mtmsg.sleep(0.0002) end
            if tries > 1000000 then
                S.check(false, "close never succeeded")
                break
            end
        end
        local results, _, hangs = S.join_all(list, 20, "close race caller")
        f.hangs = f.hangs + hangs
        for _, r in pairs(results) do
            if r.n >= 4 then
                f.ok, f.closed, f.unknown = f.ok + r[1], f.closed + r[2], f.unknown + r[3]
                if r[4] ~= "" then
                    f.other = f.other + 1
                    S.check(false, "close race: caller got " .. r[4])
                end
            end
        end
        S.check(not pcall(mtstates.state, id), "closed state still found")
    end
    S.report("close racing call", { "rounds", ROUNDS, "callers", ROUNDS * CALLERS, "calls_ok", f.ok,
        "object_closed", f.closed, "unknown_object", f.unknown, "close_concurrent_access", f.busy,
        "other_errors", f.other, "hangs", f.hangs })
end

------------------------------------------------------------------------------
-- 4
------------------------------------------------------------------------------
do
    local ROUNDS = S.scaled(20, 2)
    local f = { ok = 0, closed = 0, other = 0, hangs = 0 }
    for _ = 1, ROUNDS do
        local ids = mtmsg.newbuffer()
        local acks = mtmsg.newbuffer()
        local owner = S.thread(function(ids_id, acks_id, n, setup)
            local mtstates = require "mtstates"
            local mtmsg = require "mtmsg"
            local s = mtstates.newstate(setup)
            local ids, acks = mtmsg.buffer(ids_id), mtmsg.buffer(acks_id)
            for _ = 1, n do ids:addmsg(s:id()) end
            for _ = 1, n do acks:nextmsg(10) end
            -- exit: the owning reference is collected with this state
            return s:id()
        end, ids:id(), acks:id(), 6, SETUP)
        local callers = {}
        for c = 1, 6 do
            callers[c] = S.thread(function(ids_id, acks_id)
                local mtstates = require "mtstates"
                local mtmsg = require "mtmsg"
                local s = mtstates.state(mtmsg.buffer(ids_id):nextmsg(10))
                mtmsg.buffer(acks_id):addmsg(1)
                local ok_n = 0
                for i = 1, 100000 do
                    local ok, r = pcall(s.call, s, "run", i, 0)
                    if ok and r == i * 2 then
                        ok_n = ok_n + 1
                    elseif not ok and tostring(r):find("mtstates.error.object_closed", 1, true) then
                        return ok_n, 1, ""
                    else
                        return ok_n, 0, tostring(r)
                    end
                end
                return ok_n, 0, "never closed"
            end, ids:id(), acks:id())
        end
        local _, _, h1 = S.join_all({ owner }, 20, "owner")
        local results, _, h2 = S.join_all(callers, 30, "owner-gone caller")
        f.hangs = f.hangs + h1 + h2
        for _, r in pairs(results) do
            if r.n >= 3 then
                f.ok, f.closed = f.ok + r[1], f.closed + r[2]
                if r[3] ~= "" then
                    f.other = f.other + 1
                    S.check(false, "owner gone: caller got " .. r[3])
                end
            end
        end
    end
    S.report("owner thread exits during calls", { "rounds", ROUNDS, "callers", ROUNDS * 6, "calls_ok", f.ok,
        "object_closed", f.closed, "other", f.other, "hangs", f.hangs })
    S.check(f.closed == ROUNDS * 6, "every caller ended with object_closed")
end

S.finish()
