-- Dozens of threads blocked in buffer:nextmsg, listener:nextmsg,
-- reader:nextmsg (with and without timeouts, nonblock references with a
-- timeout) and mtmsg.sleep; then the object is closed or aborted, the
-- listener closed or aborted, everything aborted globally, or the
-- listener's last buffer garbage-collected. Every waiter must wake with the
-- documented error; a waiter that does not finish within its join timeout
-- is a HANG. Each round runs once with the waiters surely blocked (after
-- their "ready" message and a pause) and once racing (the action comes
-- while they are still starting). A last round mixes messages and close:
-- each waiter gets a message or the close error, no message twice.
local S = require "stresslib"
local mtmsg = require "mtmsg"

S.start("abort_close_wake")

local WAITERS = S.scaled(40, 4)
local ITER = S.scaled(3, 1)

local CLOSED = "mtmsg.error.object_closed"
local ABORTED = "mtmsg.error.operation_aborted"
local NO_BUFFERS = "mtmsg.error.no_buffers"

-- kind: what the waiter blocks in; on: "b" (buffer id) or "l" (listener id)
local BUFFER_KINDS = { "bnext", "bnext_nil", "bnext_t", "bnb_t", "rnext", "rnext_t" }
local LISTENER_KINDS = { "lnext", "lnext_t", "lnb_t", "rlnext", "rlnext_t" }

local function waiter(kind, obj_id, ready_id)
    local mtmsg = require "mtmsg"
    local t0
    local ok, a, b = pcall(function()
        local ready = mtmsg.buffer(ready_id)
        local is_listener = kind:sub(1, 1) == "l" or kind:sub(1, 2) == "rl"
        local obj
        if kind == "sleep" then
            obj = nil
        elseif is_listener then
            obj = mtmsg.listener(obj_id)
        else
            obj = mtmsg.buffer(obj_id)
        end
        ready:addmsg(kind)
        t0 = mtmsg.time()
        if kind == "bnext" or kind == "lnext" then
            return obj:nextmsg()
        elseif kind == "bnext_nil" then
            return obj:nextmsg(nil)
        elseif kind == "bnext_t" or kind == "lnext_t" then
            return obj:nextmsg(60)
        elseif kind == "bnb_t" or kind == "lnb_t" then
            obj:nonblock()
            return obj:nextmsg(60)
        elseif kind == "rnext" or kind == "rlnext" then
            local r = mtmsg.newreader()
            r:nextmsg(obj)
            return r:next(2)
        elseif kind == "rnext_t" or kind == "rlnext_t" then
            local r = mtmsg.newreader()
            if not r:nextmsg(obj, 60) then return "timeout" end
            return r:next(2)
        elseif kind == "sleep" then
            mtmsg.sleep(60)
            return "slept"
        end
        error("unknown kind " .. kind)
    end)
    return ok, a, b, t0 and (mtmsg.time() - t0) or -1
end

-- Starts n waiters of the given kinds (cycling) on obj_id; waits for them to
-- be blocked unless racing.
local function start_waiters(n, kinds, obj_id, racing, list)
    list = list or {}
    local ready = mtmsg.newbuffer()
    -- keep it alive while racing waiters may still look it up
    list.ready = list.ready or {}
    list.ready[#list.ready + 1] = ready
    local first = #list
    for i = 1, n do
        local kind = kinds[(i - 1) % #kinds + 1]
        list[first + i] = { kind = kind, t = S.thread(waiter, kind, obj_id, ready:id()) }
    end
    if racing then
        mtmsg.sleep(math.random() * 0.004)
    else
        for _ = 1, n do
            S.check(ready:nextmsg(10) ~= nil, "waiter started", true)
        end
        mtmsg.sleep(0.1)
    end
    return list
end

local figures = { rounds = 0, waiters = 0, woken = 0, hangs = 0, wrong = 0, max_wake = 0 }

-- Joins the waiters; each must fail with `expected` (a substring).
local function expect_all(list, expected, what, t_action, rescue)
    for _, w in ipairs(list) do
        figures.waiters = figures.waiters + 1
        local ok, r = S.join(w.t, 15, rescue)
        if ok == nil then
            figures.hangs = figures.hangs + 1
            S.check(false, what .. ": " .. w.kind .. " waiter HANG")
        elseif not ok then
            figures.wrong = figures.wrong + 1
            S.check(false, what .. ": " .. w.kind .. " thread raised " .. tostring(r))
        else
            local pok, err = r[1], r[2]
            if pok == false and tostring(err):find(expected, 1, true) then
                figures.woken = figures.woken + 1
            else
                figures.wrong = figures.wrong + 1
                S.check(false, string.format("%s: %s waiter returned %s, %s (expected error %s)",
                    what, w.kind, tostring(pok), tostring(err), expected))
            end
        end
    end
    local wake = mtmsg.time() - t_action
    if wake > figures.max_wake then figures.max_wake = wake end
end

for _ = 1, ITER do
    for _, racing in ipairs { false, true } do
        local mode = racing and "racing" or "blocked"
        figures.rounds = figures.rounds + 6

        -- buffer:close()
        local b = mtmsg.newbuffer()
        local list = start_waiters(WAITERS, BUFFER_KINDS, b:id(), racing)
        local t = mtmsg.time()
        b:close()
        expect_all(list, CLOSED, "buffer close (" .. mode .. ")", t)

        -- buffer:abort() (through another reference)
        b = mtmsg.newbuffer()
        list = start_waiters(WAITERS, BUFFER_KINDS, b:id(), racing)
        t = mtmsg.time()
        mtmsg.buffer(b:id()):abort()
        expect_all(list, ABORTED, "buffer abort (" .. mode .. ")", t, function() b:close() end)

        -- listener:close(): waiters on the listener and on its buffer
        local l = mtmsg.newlistener()
        local lb = l:newbuffer()
        list = start_waiters(WAITERS, LISTENER_KINDS, l:id(), racing)
        start_waiters(math.floor(WAITERS / 4), BUFFER_KINDS, lb:id(), racing, list)
        t = mtmsg.time()
        l:close()
        expect_all(list, CLOSED, "listener close (" .. mode .. ")", t)

        -- listener:abort()
        l = mtmsg.newlistener()
        lb = l:newbuffer()
        list = start_waiters(WAITERS, LISTENER_KINDS, l:id(), racing)
        start_waiters(math.floor(WAITERS / 4), BUFFER_KINDS, lb:id(), racing, list)
        t = mtmsg.time()
        l:abort()
        expect_all(list, ABORTED, "listener abort (" .. mode .. ")", t, function() l:close() end)

        -- mtmsg.abort(): every kind, mtmsg.sleep included
        b = mtmsg.newbuffer()
        l = mtmsg.newlistener()
        lb = l:newbuffer() -- luacheck: ignore 311 (held: the listener needs a buffer)
        list = start_waiters(math.floor(WAITERS / 2), BUFFER_KINDS, b:id(), racing)
        start_waiters(math.floor(WAITERS / 2), LISTENER_KINDS, l:id(), racing, list)
        start_waiters(math.floor(WAITERS / 4), { "sleep" }, 0, racing, list)
        t = mtmsg.time()
        mtmsg.abort(true)
        expect_all(list, ABORTED, "global abort (" .. mode .. ")", t)
        mtmsg.abort(false)

        -- the listener's only buffer is garbage-collected: no_buffers
        l = mtmsg.newlistener()
        lb = l:newbuffer() -- luacheck: ignore 311 (held: the listener needs a buffer)
        list = start_waiters(WAITERS, LISTENER_KINDS, l:id(), racing)
        t = mtmsg.time()
        lb = nil -- luacheck: ignore 311 (GC drop)
        collectgarbage()
        collectgarbage()
        expect_all(list, NO_BUFFERS, "listener buffer collected (" .. mode .. ")", t, function() l:close() end)
    end
end

-- Messages racing with close: each waiter gets one message or object_closed.
do
    local got, closed_err, dup, bad, hangs = 0, 0, 0, 0, 0
    for _ = 1, ITER do
        local b = mtmsg.newbuffer()
        local list = start_waiters(WAITERS, { "bnext", "bnext_t", "rnext", "rnext_t" }, b:id(), false)
        local n = math.random(WAITERS)
        for i = 1, n do b:addmsg("m", i) end
        mtmsg.sleep(math.random() * 0.003)
        b:close()
        local seen = {}
        for _, w in ipairs(list) do
            local ok, r = S.join(w.t, 15)
            if ok == nil then
                hangs = hangs + 1
                S.check(false, "message/close race: HANG")
            elseif ok and r[1] == true and r[2] == "m" then
                got = got + 1
                if seen[r[3]] then dup = dup + 1 end
                seen[r[3]] = true
            elseif ok and r[1] == false and tostring(r[2]):find(CLOSED, 1, true) then
                closed_err = closed_err + 1
            else
                bad = bad + 1
                S.check(false, "message/close race: unexpected " .. tostring(ok and r[2] or r))
            end
        end
    end
    S.report("message/close race", { "waiters", WAITERS * ITER, "got_message", got, "object_closed", closed_err,
        "duplicated", dup, "unexpected", bad, "hangs", hangs })
    S.check(dup == 0, "a message was delivered twice")
end

S.report("wake", { "rounds", figures.rounds, "waiters", figures.waiters, "woken_with_documented_error",
    figures.woken, "wrong_result", figures.wrong, "hangs", figures.hangs, "max_wake_s", figures.max_wake })
S.check(figures.woken == figures.waiters, "every waiter woke with the documented error")
S.finish()
