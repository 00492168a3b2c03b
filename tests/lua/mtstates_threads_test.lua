-- mtstates across threads (mtthread): the README examples, contention of
-- 2-8 threads on one state with call and tcall timeouts, interrupting a
-- busy loop from another thread, close while another thread is inside a
-- call, lookups during another thread's setup, singleton races (one
-- construction only; waiting for a construction that fails), mtmsg.abort
-- inside a state, buffer:notifier(state) from several threads, owners in
-- thread states.
-- Edge cases 102, 103, 112, 117, 118; decisions: a caller that waited for a
-- busy state re-checks closed; a singleton waiting on a failed construction
-- does not hang.
local T = require "testlib"
local H = require "lnw_helpers"
local mtmsg = require "mtmsg"
local mtstates = require "mtstates"

local start, join, collect = H.start, H.join, H.collect

-- runs f in a thread and returns its results (raises if it failed)
local function in_thread(f, ...)
    return join(start(f, ...), 20)
end

H.guard(function()

-- ---------------------------------------------------------------- README example 1
do
    local state = mtstates.newstate(function(init)
        local list = { init }
        local cmds = {
            add = function(arg) list[#list + 1] = arg end,
            get = function() return table.concat(list, " ") end
        }
        return function(cmd, ...)
            return cmds[cmd](...)
        end
    end, "Hello")
    local thread = start(function(stateId)
        local mtstates = require("mtstates")
        local state = mtstates.state(stateId)
        return state:call("add", "World")
    end, state:id())
    T.results(T.pack(join(thread)))
    T.eq(state:call("get"), "Hello World")
end

-- ---------------------------------------------------------------- README example 2
do
    local state = mtstates.newstate(function()
        local list = {}
        local cmds = {
            add = function(arg) list[#list + 1] = arg end,
            get = function() return table.concat(list, " ") end
        }
        return function(cmd, ...)
            return cmds[cmd](...)
        end
    end)
    local threadIn = mtmsg.newbuffer()
    local threadOut = mtmsg.newbuffer()
    local thread = start(function(threadInId, threadOutId)
        local mtstates = require("mtstates")
        local mtmsg = require("mtmsg")
        local threadIn = mtmsg.buffer(threadInId)
        local threadOut = mtmsg.buffer(threadOutId)
        while true do
            local cmd, stateId, arg = threadIn:nextmsg()
            if cmd == "finish" then
                threadOut:addmsg("finished")
                break
            else
                local state = mtstates.state(stateId)
                state:call(cmd, arg)
                threadOut:addmsg("done")
            end
        end
    end, threadIn:id(), threadOut:id())
    threadIn:addmsg("add", state:id(), "Hello")
    threadIn:addmsg("add", state:id(), "World")
    T.eq(threadOut:nextmsg(5), "done")
    T.eq(threadOut:nextmsg(5), "done")
    T.eq(state:call("get"), "Hello World")
    threadIn:addmsg("finish")
    T.eq(threadOut:nextmsg(5), "finished")
    join(thread)
end

-- ---------------------------------------------------------------- contention: call
for _, NT in ipairs { 2, 8 } do
    local N = 200
    local s = mtstates.newstate(function()
        local n, inside, max = 0, 0, 0
        return function(cmd)
            if cmd == "inc" then
                inside = inside + 1
                if inside > max then max = inside end
                local v = n
                for _ = 1, 50 do v = v + 0 end
                n = v + 1
                inside = inside - 1
                return n
            end
            return n, max
        end
    end)
    local threads = {}
    for t = 1, NT do
        threads[t] = start(function(id, N)
            local s = require("mtstates").state(id)
            local last = 0
            for _ = 1, N do
                local v = s:call("inc")
                if v <= last then error("not increasing") end
                last = v
            end
            return last
        end, s:id(), N)
    end
    for t = 1, NT do
        local last = join(threads[t], 30)
        T.check(last >= N and last <= NT * N, "thread's last value " .. tostring(last))
    end
    local n, max = s:call("get")
    T.eq(n, NT * N, NT .. " threads: every call counted")
    T.eq(max, 1, "never two calls inside at once")
end

-- ---------------------------------------------------------------- contention: tcall with timeouts
do
    local NT, N = 4, 100
    local s = mtstates.newstate(function()
        local mtmsg = require "mtmsg"
        local n = 0
        return function(cmd)
            if cmd == "inc" then
                mtmsg.sleep(0.0005)
                n = n + 1
            end
            return n
        end
    end)
    local threads = {}
    for t = 1, NT do
        threads[t] = start(function(id, N)
            local s = require("mtstates").state(id)
            local ok_count, timeouts = 0, 0
            while ok_count < N do
                local ok, v = s:tcall(0.0002, "inc")
                if ok then
                    ok_count = ok_count + 1
                    if type(v) ~= "number" then error("bad result") end
                else
                    if v ~= nil then error("a timed out tcall returns only false") end
                    timeouts = timeouts + 1
                end
            end
            local polls = 0
            for _ = 1, 20 do
                if s:tcall(0, "get") then polls = polls + 1 end
            end
            return ok_count, timeouts
        end, s:id(), N)
    end
    local total_timeouts = 0
    for t = 1, NT do
        local ok_count, timeouts = join(threads[t], 60)
        T.eq(ok_count, N)
        total_timeouts = total_timeouts + timeouts
    end
    T.eq(s:call("get"), NT * N, "tcall: every successful call counted once")
    print("tcall contention: " .. total_timeouts .. " timeouts")
end

-- ---------------------------------------------------------------- tcall(0) on an idle state, looked up elsewhere
-- (decision: timeout <= 0 gives up only when the state is busy; a lookup
-- or a reference going on another thread does not make it busy. A single
-- try-lock of the state's flags gave false here now and then.)
do
    local s = mtstates.newstate(function() return function() return "idle" end end)
    local stop = mtmsg.newbuffer()
    local looker = start(function(id, stopId)
        local mtstates, mtmsg = require "mtstates", require "mtmsg"
        local stop = mtmsg.buffer(stopId)
        local lookups = 0
        repeat
            for _ = 1, 100 do
                if not mtstates.state(id):isowner() then lookups = lookups + 1 end
            end
        until stop:nextmsg(0)
        return lookups
    end, s:id(), stop:id())
    local polls, refused = 0, 0
    local t0 = mtmsg.time()
    while mtmsg.time() - t0 < 0.5 or polls < 20000 do
        polls = polls + 1
        if s:tcall(0) ~= true then refused = refused + 1 end
    end
    stop:addmsg("stop")
    local lookups = join(looker, 20)
    T.check(lookups > 0, "the other thread looked the state up")
    T.eq(refused, 0, "tcall(0) refused on an idle state (" .. polls .. " polls, " .. lookups .. " lookups)")
end

-- ---------------------------------------------------------------- [102] tcall while another thread runs a long call
do
    local sync = mtmsg.newbuffer()
    local s = mtstates.newstate(function(syncId)
        local mtmsg = require "mtmsg"
        local sync = mtmsg.buffer(syncId)
        local calls = 0
        return function(cmd, secs)
            calls = calls + 1
            if cmd == "long" then
                sync:addmsg("inside")
                mtmsg.sleep(secs)
            end
            return cmd, calls
        end
    end, sync:id())
    local function long_call(secs)
        local t = start(function(id, secs)
            return require("mtstates").state(id):call("long", secs)
        end, s:id(), secs)
        T.eq(sync:nextmsg(5), "inside")
        return t
    end
    -- tcall(0.5) gives up after ~0.5 s and returns only false
    local t = long_call(1.0)
    local t0 = mtmsg.time()
    local r = T.pack(s:tcall(0.5, "short"))
    local dt = mtmsg.time() - t0
    T.results(r, false)
    T.check(dt > 0.4 and dt < 0.95, "tcall(0.5) waited " .. dt .. " s")
    T.results(T.pack(s:tcall(0, "short")), false)
    T.results(T.pack(s:tcall(-1, "short")), false)
    join(t)
    -- tcall(1.5) gets in when the 1 s call ends
    t = long_call(1.0)
    t0 = mtmsg.time()
    r = T.pack(s:tcall(1.5, "short"))
    dt = mtmsg.time() - t0
    T.eq(r[1], true)
    T.eq(r[2], "short")
    T.check(dt > 0.6 and dt < 1.45, "tcall(1.5) waited " .. dt .. " s")
    join(t)
    -- call waits for the running call
    t = long_call(0.6)
    t0 = mtmsg.time()
    T.eq(s:call("short"), "short")
    dt = mtmsg.time() - t0
    T.check(dt > 0.3 and dt < 3, "call waited " .. dt .. " s")
    join(t)
end

-- ---------------------------------------------------------------- [103] close while another thread is inside
do
    local sync = mtmsg.newbuffer()
    local go = mtmsg.newbuffer()
    local s = mtstates.newstate(function(syncId, goId)
        local mtmsg = require "mtmsg"
        local sync, go = mtmsg.buffer(syncId), mtmsg.buffer(goId)
        return function()
            sync:addmsg("inside")
            go:nextmsg(10)
            return "finished"
        end
    end, sync:id(), go:id())
    local t = start(function(id) return require("mtstates").state(id):call() end, s:id())
    T.eq(sync:nextmsg(5), "inside")
    T.raises_exactly(function() s:close() end, "mtstates.error.concurrent_access: mtstates.state(id=" .. s:id() .. ")")
    T.raises_exactly(function() mtstates.state(s:id()):close() end,
        "mtstates.error.concurrent_access: mtstates.state(id=" .. s:id() .. ")")
    -- interrupt(false) does not wait for the running call
    s:interrupt(false)
    go:addmsg("go")
    T.eq(join(t), "finished")
    s:close()
    T.raises(function() s:call() end, "mtstates.error.object_closed")
end

-- ---------------------------------------------------------------- waiting callers when the state closes meanwhile
do
    local sync = mtmsg.newbuffer()
    local go = mtmsg.newbuffer()
    local out = mtmsg.newbuffer()
    local s = mtstates.newstate(function(syncId, goId)
        local mtmsg = require "mtmsg"
        local sync, go = mtmsg.buffer(syncId), mtmsg.buffer(goId)
        return function(cmd)
            if cmd == "block" then
                sync:addmsg("inside")
                go:nextmsg(10)
            end
            return cmd
        end
    end, sync:id(), go:id())
    local id = s:id()
    local blocker = start(function(id) return require("mtstates").state(id):call("block") end, id)
    T.eq(sync:nextmsg(5), "inside")
    -- waiters: one call, one tcall with a long timeout
    local waiters = {}
    for i = 1, 2 do
        waiters[i] = start(function(id, outId, i)
            local mtstates, mtmsg = require "mtstates", require "mtmsg"
            local s = mtstates.state(id)
            mtmsg.buffer(outId):addmsg("waiting")
            local ok, err
            if i == 1 then
                ok, err = pcall(s.call, s, "late")
            else
                ok, err = pcall(s.tcall, s, 20, "late")
            end
            return ok, err
        end, id, out:id(), i)
    end
    T.eq(out:nextmsg(5), "waiting")
    T.eq(out:nextmsg(5), "waiting")
    mtmsg.sleep(0.2)
    -- the owner goes while the call runs: closed right after it
    s = nil -- luacheck: ignore 311 (GC drop)
    collect()
    go:addmsg("go")
    T.eq(join(blocker), "block", "the running call completes")
    for i = 1, 2 do
        local ok, err = join(waiters[i])
        T.eq(ok, false, "waiter " .. i)
        T.check(tostring(err):find("mtstates.error.object_closed", 1, true), "waiter " .. i .. ": " .. tostring(err))
    end
    T.raises(function() mtstates.state(id) end, "mtstates.error.unknown_object")
end

-- ---------------------------------------------------------------- interrupting a busy loop from another thread
do
    local sync = mtmsg.newbuffer()
    local s = mtstates.newstate(function(syncId)
        local mtmsg = require "mtmsg"
        local sync = mtmsg.buffer(syncId)
        -- LuaJIT runs no hooks in compiled code
        if jit then jit.off() end
        return function(cmd, x)
            if cmd == "loop" then
                sync:addmsg("looping")
                local i = 0
                while true do i = i + 1 end
            elseif cmd == "pcall-loop" then
                local _, err = pcall(function()
                    sync:addmsg("looping")
                    local i = 0
                    while true do i = i + 1 end
                end)
                return "caught", tostring(err)
            end
            return x + 5
        end
    end, sync:id())
    local t = start(function(id)
        local s = require("mtstates").state(id)
        local ok, err = pcall(s.call, s, "loop")
        return ok, err
    end, s:id())
    T.eq(sync:nextmsg(5), "looping")
    mtmsg.sleep(0.05)
    s:interrupt()
    local ok, err = join(t)
    T.eq(ok, false)
    T.check(err:find("mtstates.error.invoking_state: mtstates.state(id=" .. s:id() .. "): ", 1, true), err)
    T.check(err:find("mtstates.error.interrupted", 1, true), err)
    T.eq(s:call("add", 1), 6, "usable after the interrupt")

    -- caught inside the callback (test02)
    t = start(function(id) return require("mtstates").state(id):call("pcall-loop") end, s:id())
    T.eq(sync:nextmsg(5), "looping")
    mtmsg.sleep(0.05)
    s:interrupt()
    local what, msg = join(t)
    T.eq(what, "caught")
    T.check(msg:find("mtstates.error.interrupted", 1, true) and not msg:find("invoking_state", 1, true), msg)

    -- interrupt(true) from another thread: every call fails until interrupt(false)
    t = start(function(id) local s = require("mtstates").state(id) return pcall(s.call, s, "loop") end, s:id())
    T.eq(sync:nextmsg(5), "looping")
    T.results(T.pack(in_thread(function(id)
        local s = require("mtstates").state(id)
        s:interrupt(true)
        return true
    end, s:id())), true)
    local ok, err = join(t)
    T.eq(ok, false)
    T.check(err:find("mtstates.error.interrupted", 1, true), err)
    T.raises(function() s:call("add", 1) end, "mtstates.error.interrupted")
    T.raises(function() s:call("add", 2) end, "mtstates.error.interrupted")
    s:interrupt(false)
    T.eq(s:call("add", 10), 15)
end

-- ---------------------------------------------------------------- [112] lookups during another thread's setup
do
    local threadIn = mtmsg.newbuffer()
    local threadOut = mtmsg.newbuffer()
    local firstId = mtstates.newstate(function() return function() end end):id()
    local thread = start(function(threadInId, threadOutId)
        local mtstates = require("mtstates")
        local mtmsg = require("mtmsg")
        local threadIn = mtmsg.buffer(threadInId)
        local threadOut = mtmsg.buffer(threadOutId)
        threadOut:addmsg("started")
        local s = mtstates.newstate("foo112", function(threadInId)
            local mtmsg = require("mtmsg")
            local threadIn = mtmsg.buffer(threadInId)
            assert(threadIn:nextmsg(10) == "stop")
            return function() return "ok" end
        end, threadInId)
        threadOut:addmsg("created", s:id())
        assert(threadIn:nextmsg(10) == "stop")
        threadOut:addmsg("finished")
    end, threadIn:id(), threadOut:id())
    T.eq(threadOut:nextmsg(5), "started")
    mtmsg.sleep(0.2)
    T.raises_exactly(function() mtstates.state("foo112") end, "mtstates.error.unknown_object: state name \"foo112\"")
    T.raises_exactly(function() mtstates.state(firstId + 1) end,
        "mtstates.error.unknown_object: state id " .. (firstId + 1))
    local s2 = mtstates.newstate("foo112", "return function() end")
    T.eq(s2:name(), "foo112")
    T.eq(mtstates.state("foo112"):id(), s2:id())
    threadIn:addmsg("stop")
    local msg, createdId = threadOut:nextmsg(5)
    T.eq(msg, "created")
    T.eq(createdId, firstId + 1, "the constructing state had the next id")
    T.raises_exactly(function() mtstates.state("foo112") end, "mtstates.error.ambiguous_name: state name \"foo112\"")
    s2 = nil -- luacheck: ignore 311 (GC drop)
    collect()
    local s = mtstates.state("foo112")
    T.eq(s:call(), "ok")
    threadIn:addmsg("stop")
    T.eq(threadOut:nextmsg(5), "finished")
    join(thread)
    -- the thread's state ended: it held the only owner
    collect()
    T.raises(function() s:call() end, "mtstates.error.object_closed")
end

-- ---------------------------------------------------------------- singleton race: one construction
do
    local NT = 8
    local created = mtmsg.newbuffer()
    local out = mtmsg.newbuffer()
    local release = mtmsg.newbuffer()
    local threads = {}
    for t = 1, NT do
        threads[t] = start(function(createdId, outId, releaseId)
            local mtstates, mtmsg = require "mtstates", require "mtmsg"
            local s = mtstates.singleton("race", function(createdId)
                local mtmsg = require "mtmsg"
                mtmsg.buffer(createdId):addmsg("created")
                mtmsg.sleep(0.2)
                local calls = 0
                return function() calls = calls + 1 return calls end
            end, createdId)
            s:call()
            mtmsg.buffer(outId):addmsg(s:id(), s:isowner())
            mtmsg.buffer(releaseId):nextmsg(20)
            return s:id()
        end, created:id(), out:id(), release:id())
    end
    local ids = {}
    for _ = 1, NT do
        local id, owner = out:nextmsg(10)
        T.eq(owner, true)
        ids[#ids + 1] = id
    end
    for t = 2, NT do T.eq(ids[t], ids[1], "same state everywhere") end
    T.eq(created:msgcnt(), 1, "constructed exactly once")
    local mine = mtstates.singleton("race", "error('not called')")
    T.eq(mine:id(), ids[1])
    T.eq(mine:call(), NT + 1, "every thread called the one state")
    for _ = 1, NT do release:addmsg("go") end
    for t = 1, NT do T.eq(join(threads[t]), ids[1]) end
    collect()
    T.eq(mine:call(), NT + 2, "still open while this owner lives")
end

-- ---------------------------------------------------------------- singleton waiting on a construction that fails
do
    local sync = mtmsg.newbuffer()
    local A = start(function(syncId)
        local mtstates = require "mtstates"
        local ok, err = pcall(mtstates.singleton, "retry", function(syncId, fail)
            local mtmsg = require "mtmsg"
            mtmsg.buffer(syncId):addmsg("constructing")
            mtmsg.sleep(0.4)
            if fail then error("construction failed on purpose") end
            return function() return "A" end
        end, syncId, true)
        return ok, err
    end, sync:id())
    T.eq(sync:nextmsg(5), "constructing")
    local B = start(function()
        local mtstates, mtmsg = require "mtstates", require "mtmsg"
        local t0 = mtmsg.time()
        local ok, err = pcall(mtstates.singleton, "retry", "return function() return 'B' end")
        return ok, err, mtmsg.time() - t0
    end)
    local ok, err = join(A)
    T.eq(ok, false)
    T.check(err:find("construction failed on purpose", 1, true), err)
    -- decisions.md: the waiter raises instead of hanging
    local okB, errB, waited = join(B)
    T.eq(okB, false)
    T.check(errB:find("mtstates.error.invoking_state", 1, true), errB)
    T.check(errB:find("construction failed in another thread", 1, true), errB)
    T.check(waited > 0.1, "B waited for A's construction (" .. waited .. " s)")
    -- the name is free again: the next singleton creates the state
    T.eq(mtstates.singleton("retry", "return function() return 'C' end"):call(), "C")
end

-- ---------------------------------------------------------------- [117] mtmsg.abort inside a state
do
    local s = mtstates.newstate(function()
        local mtmsg = require "mtmsg"
        return function() mtmsg.sleep(10) return "slept" end
    end)
    local t = start(function()
        local mtmsg = require "mtmsg"
        mtmsg.sleep(0.3)
        mtmsg.abort(true)
    end)
    local t0 = mtmsg.time()
    local err = T.raises(function() s:call() end, "mtstates.error.invoking_state")
    T.check(err:find("mtmsg.error.operation_aborted", 1, true), err)
    T.check(mtmsg.time() - t0 < 5, "failed quickly")
    join(t)
    mtmsg.abort(false)
    T.eq(mtmsg.isabort(), false)
end

end)

-- ---------------------------------------------------------------- [118] buffer:notifier(state)
H.guard(function()
do
    local log = mtmsg.newbuffer()
    local s = mtstates.newstate(function(logId)
        local mtmsg, mtstates = require "mtmsg", require "mtstates"
        local log = mtmsg.buffer(logId)
        local n = 0
        local fail = false
        return function(...)
            local nargs = select("#", ...)
            if nargs > 0 then
                local cmd = ...
                if cmd == "count" then return n end
                if cmd == "fail" then fail = select(2, ...) return end
                if cmd == "thread" then return mtstates.id() end
            end
            n = n + 1
            if fail then error("notified callback failed", 0) end
            log:addmsg(nargs)
        end
    end, log:id())
    local b = mtmsg.newbuffer()
    b:notifier(s)
    T.eq(b:addmsg("x"), true)
    T.eq(s:call("count"), 1)
    T.eq(log:nextmsg(0), 0, "called with zero arguments")
    b:addmsg()
    b:addmsg(nil)
    T.eq(s:call("count"), 3)
    T.eq(b:msgcnt(), 3)
    -- from several threads
    local NT, N = 4, 100
    local threads = {}
    for t = 1, NT do
        threads[t] = start(function(bid, N)
            local b = require("mtmsg").buffer(bid)
            for i = 1, N do b:addmsg(i) end
            return true
        end, b:id(), N)
    end
    for t = 1, NT do join(threads[t], 30) end
    T.eq(s:call("count"), 3 + NT * N, "one notification per addmsg from any thread")
    T.eq(b:msgcnt(), 3 + NT * N)
    log:clear()
    -- a failing callback: addmsg stores the message, then raises
    s:call("fail", true)
    local before = b:msgcnt()
    local err = T.raises(function() b:addmsg("y") end, "Error while calling notifier: notified callback failed")
    T.check(err:sub(1, #"Error while calling notifier: ") == "Error while calling notifier: ", err)
    T.check(err:find("stack traceback:", 1, true), "with inner traceback: " .. err)
    T.eq(b:msgcnt(), before + 1, "message stored")
    s:call("fail", false)
    T.eq(b:addmsg("z"), true, "still connected")
    -- a closed state is dropped silently
    T.eq(s:call("count"), 5 + NT * N, "the failed notification and the next counted")
    s:close()
    T.eq(b:addmsg("after close"), true)
    T.eq(b:addmsg("again"), true)
    -- and a new notifier can be connected
    local s2 = mtstates.newstate("return function() end")
    b:notifier(s2)
    b:addmsg("1")
    -- an ownerless state: the holder does not keep the interpreter
    local b2 = mtmsg.newbuffer()
    local s3 = mtstates.newstate("local n = 0 return function(x) n = n + 1 return n end")
    b2:notifier(s3)
    b2:addmsg(1)
    local r = mtstates.state(s3:id())
    T.eq(r:call("get"), 2)
    s3 = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.raises(function() r:call() end, "mtstates.error.object_closed")
    T.eq(b2:addmsg(2), true, "ownerless state dropped as notifier")
    b2:notifier(nil)
    -- a state notifying itself through a buffer from inside its callback (nested)
    local selfb = mtmsg.newbuffer()
    local ss = mtstates.newstate(function(bid)
        local mtmsg = require "mtmsg"
        local b = mtmsg.buffer(bid)
        local n = 0
        return function(cmd)
            n = n + 1
            if cmd == "add" then b:addmsg("from inside") end
            return n
        end
    end, selfb:id())
    selfb:notifier(ss)
    T.eq(ss:call("add"), 2, "the nested notification ran on the same thread")
end
end)

T.done("mtstates_threads")
