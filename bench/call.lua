-- benches: call1 call2
-- state:call(1, 2) on a state whose callback returns a + b. call1: from the
-- main thread. call2: from 2 threads at once on the same state (each thread
-- gets the state by id with mtstates.state(id)); calls serialize on the
-- state, so this measures the contended path. ops = calls in total.
local B = dofile(((arg and arg[0] or ""):match("^(.*[/\\])") or "") .. "common.lua")
local mtmsg    = require "mtmsg"
local mtstates = require "mtstates"

local N = B.n(1e6)
local state = mtstates.newstate(function()
    return function(a, b) return a + b end
end)

-- call1 --------------------------------------------------------------------
do
    local function run(n)
        local v
        for _ = 1, n do v = state:call(1, 2) end
        return v
    end
    assert(run(B.n(1e5)) == 3, "wrong result")
    local t0 = B.time()
    local v = run(N)
    local s = B.time() - t0
    assert(v == 3, "wrong result")
    B.report("call1", N, s, { { "us_per_op", s / N * 1e6 } })
end

-- call2 --------------------------------------------------------------------
do
    local T = 2
    local per = B.n(1e6 / T)
    local ready, go, done = mtmsg.newbuffer(), mtmsg.newbuffer(), mtmsg.newbuffer()
    local threads = {}
    for t = 1, T do
        threads[t] = B.spawn(function(stateId, readyId, goId, doneId, n)
            local mtmsg    = require "mtmsg"
            local mtstates = require "mtstates"
            local state = mtstates.state(stateId)
            local ready, go, done = mtmsg.buffer(readyId), mtmsg.buffer(goId), mtmsg.buffer(doneId)
            for _ = 1, 10000 do state:call(1, 2) end   -- warm-up
            ready:addmsg()
            go:nextmsg()
            local sum = 0
            for _ = 1, n do sum = sum + state:call(1, 2) end
            done:addmsg(sum)
        end, state:id(), ready:id(), go:id(), done:id(), per)
    end
    for _ = 1, T do ready:nextmsg() end
    local t0 = B.time()
    for _ = 1, T do go:addmsg("go") end
    local sum = 0
    for _ = 1, T do sum = sum + done:nextmsg() end
    local s = B.time() - t0
    for t = 1, T do B.join(threads[t]) end
    assert(sum == 3 * per * T, "wrong results")
    B.report("call2", per * T, s, { { "threads", T }, { "us_per_op", s / (per * T) * 1e6 } })
end
