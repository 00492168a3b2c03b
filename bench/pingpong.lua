-- benches: pingpong
-- Two threads bounce one message through two buffers; ops = round trips,
-- us_per_op = microseconds per round trip (two wake-ups of a waiting thread).
local B = dofile(((arg and arg[0] or ""):match("^(.*[/\\])") or "") .. "common.lua")
local mtmsg = require "mtmsg"

local N = B.n(1e5)
local W = B.n(1e4)                         -- warm-up round trips, not timed
local ping = mtmsg.newbuffer()
local pong = mtmsg.newbuffer()

local echo = B.spawn(function(pingId, pongId, count)
    local mtmsg = require "mtmsg"
    local ping, pong = mtmsg.buffer(pingId), mtmsg.buffer(pongId)
    for _ = 1, count do
        pong:addmsg(ping:nextmsg())
    end
end, ping:id(), pong:id(), W + N)

local function run(n)
    local v = 0
    for i = 1, n do
        ping:addmsg(i)
        v = pong:nextmsg()
    end
    return v
end

run(W)
local t0 = B.time()
local last = run(N)
local s = B.time() - t0
B.join(echo)
assert(last == N, "wrong echo")
B.report("pingpong", N, s, { { "us_per_op", s / N * 1e6 } })
