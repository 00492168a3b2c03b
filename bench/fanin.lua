-- benches: fanin
-- 4 producer threads, each with its own buffer made by one listener
-- (listener:newbuffer() in the main thread, ids passed to the threads); the
-- main thread consumes everything with listener:nextmsg(); ops = messages.
local B = dofile(((arg and arg[0] or ""):match("^(.*[/\\])") or "") .. "common.lua")
local mtmsg = require "mtmsg"

local P = 4
local per = B.n(1e6 / P)
local N = per * P
local listener = mtmsg.newlistener()
local ready = mtmsg.newbuffer()
local go    = mtmsg.newbuffer()
local buffers, threads = {}, {}          -- keep the buffers referenced

for p = 1, P do
    buffers[p] = listener:newbuffer()
    threads[p] = B.spawn(function(bufferId, readyId, goId, p, n)
        local mtmsg = require "mtmsg"
        local buffer = mtmsg.buffer(bufferId)
        local ready, go = mtmsg.buffer(readyId), mtmsg.buffer(goId)
        local warm = mtmsg.newbuffer()  -- warm-up on a private buffer
        for i = 1, 10000 do warm:addmsg(p, i) warm:nextmsg() end
        ready:addmsg(p)
        go:nextmsg()
        for i = 1, n do buffer:addmsg(p, i) end
    end, buffers[p]:id(), ready:id(), go:id(), p, per)
end

-- warm-up of the consumer side
local wb = listener:newbuffer()
for i = 1, 10000 do wb:addmsg(0, i) listener:nextmsg() end

for _ = 1, P do ready:nextmsg() end
local t0 = B.time()
for _ = 1, P do go:addmsg("go") end
local counts = {}
for p = 1, P do counts[p] = 0 end
for _ = 1, N do
    local p = listener:nextmsg()
    counts[p] = counts[p] + 1
end
local s = B.time() - t0
for p = 1, P do B.join(threads[p]) end
for p = 1, P do assert(counts[p] == per, "lost messages") end
B.report("fanin", N, s, { { "producers", P }, { "us_per_op", s / N * 1e6 } })
