-- A worker pool on mtstates: more states than threads. Each state keeps its
-- own data; any worker thread may call any state (calls to one state are
-- serialized by mtstates). Run: ci/lua examples/worker_pool.lua
local mtmsg    = require "mtmsg"
local mtstates = require "mtstates"
local mtthread = require "mtthread"

local NSTATES, NWORKERS, NTASKS = 8, 2, 2000

-- Each state is an accumulator with its own Lua interpreter.
local states = {}
for i = 1, NSTATES do
    states[i] = mtstates.newstate(function(name)
        local sum, calls = 0, 0
        return function(cmd, x)
            if cmd == "add" then sum, calls = sum + x, calls + 1
            elseif cmd == "get" then return name, sum, calls end
        end
    end, "acc" .. i)
end

local tasks, done = mtmsg.newbuffer(), mtmsg.newbuffer()
local workers = {}
for w = 1, NWORKERS do
    workers[w] = mtthread.new(function(tasksId, doneId)
        local mtmsg, mtstates = require "mtmsg", require "mtstates"
        local tasks, done = mtmsg.buffer(tasksId), mtmsg.buffer(doneId)
        local handled = 0
        while true do
            local stateId, x = tasks:nextmsg()
            if not stateId then break end            -- empty message: stop
            mtstates.state(stateId):call("add", x)
            handled = handled + 1
        end
        done:addmsg(handled)
    end, tasks:id(), done:id())
    workers[w]:start()
end

local expected = {}
for t = 1, NTASKS do
    local i = t % NSTATES + 1
    tasks:addmsg(states[i]:id(), t)
    expected[i] = (expected[i] or 0) + t
end
for _ = 1, NWORKERS do tasks:addmsg() end      -- one stop message per worker

local handled = 0
for _ = 1, NWORKERS do handled = handled + done:nextmsg() end
for w = 1, NWORKERS do assert(workers[w]:join()) end
assert(handled == NTASKS)
for i = 1, NSTATES do
    local name, sum, calls = states[i]:call("get")
    assert(sum == expected[i], name)
    print(string.format("%s: %d calls, sum %d", name, calls, sum))
end
print(string.format("%d tasks on %d states by %d worker threads", NTASKS, NSTATES, NWORKERS))
