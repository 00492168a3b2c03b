-- benches: stream
-- A producer thread streams small messages ("abc", i) to the consumer (main
-- thread) through one buffer; ops = messages. The buffer is unbounded: the
-- producer may run ahead of the consumer.
local B = dofile(((arg and arg[0] or ""):match("^(.*[/\\])") or "") .. "common.lua")
local mtmsg = require "mtmsg"

local N = B.n(1e6)
local W = B.n(1e5)                         -- warm-up messages, not timed
local queue = mtmsg.newbuffer()
local ready = mtmsg.newbuffer()
local go    = mtmsg.newbuffer()

local producer = B.spawn(function(queueId, readyId, goId, w, n)
    local mtmsg = require "mtmsg"
    local queue, ready, go = mtmsg.buffer(queueId), mtmsg.buffer(readyId), mtmsg.buffer(goId)
    for i = 1, w do queue:addmsg("abc", i) end
    ready:addmsg("ready")
    go:nextmsg()
    for i = 1, n do queue:addmsg("abc", i) end
end, queue:id(), ready:id(), go:id(), W, N)

for _ = 1, W do queue:nextmsg() end        -- warm-up
ready:nextmsg()

local t0 = B.time()
go:addmsg("go")
local sum = 0
for _ = 1, N do
    local _, i = queue:nextmsg()
    sum = sum + i
end
local s = B.time() - t0
B.join(producer)
assert(sum == N * (N + 1) / 2, "lost or reordered messages")
B.report("stream", N, s, { { "us_per_op", s / N * 1e6 } })
