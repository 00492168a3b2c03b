-- benches: bigstring1 bigstring2
-- 64 KiB string messages. bigstring1: one thread, b:addmsg(s) then
-- b:nextmsg(). bigstring2: a producer thread and the consumer (main thread),
-- with flow control (the producer is at most 2*K messages ahead: the consumer
-- acknowledges every K messages), so buffer memory stays bounded.
-- ops = messages; bytes_per_s = payload bytes per second.
local B = dofile(((arg and arg[0] or ""):match("^(.*[/\\])") or "") .. "common.lua")
local mtmsg = require "mtmsg"

local SIZE = 64 * 1024
local N = B.n(1e5)
local s64 = string.rep("x", SIZE - 8) .. "01234567"

-- bigstring1 ---------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    local function run(n)
        local m
        for _ = 1, n do
            b:addmsg(s64)
            m = b:nextmsg()
        end
        return m
    end
    run(B.n(1e4))
    local t0 = B.time()
    local m = run(N)
    local s = B.time() - t0
    assert(m == s64, "wrong message")
    B.report("bigstring1", N, s, { { "bytes_per_s", N * SIZE / s }, { "msg_bytes", SIZE } })
end

-- bigstring2 ---------------------------------------------------------------
do
    local K = 16
    local W = B.n(1e4)
    local queue = mtmsg.newbuffer()
    local ack   = mtmsg.newbuffer()
    local ready = mtmsg.newbuffer()
    local go    = mtmsg.newbuffer()
    local producer = B.spawn(function(queueId, ackId, readyId, goId, size, k, w, n)
        local mtmsg = require "mtmsg"
        local queue, ack = mtmsg.buffer(queueId), mtmsg.buffer(ackId)
        local ready, go = mtmsg.buffer(readyId), mtmsg.buffer(goId)
        local s64 = string.rep("x", size - 8) .. "01234567"
        local function send(n)
            for i = 1, n do
                if i > 2 * k and (i - 1) % k == 0 then ack:nextmsg() end
                queue:addmsg(s64)
            end
        end
        send(w)
        ready:addmsg("ready")
        go:nextmsg()
        send(n)
    end, queue:id(), ack:id(), ready:id(), go:id(), SIZE, K, W, N)

    local function receive(n)
        local m
        for i = 1, n do
            m = queue:nextmsg()
            if i % K == 0 then ack:addmsg() end
        end
        return m
    end
    receive(W)
    ready:nextmsg()
    ack:clear()                             -- acks the producer did not take
    local t0 = B.time()
    go:addmsg("go")
    local m = receive(N)
    local s = B.time() - t0
    B.join(producer)
    assert(m == s64, "wrong message")
    B.report("bigstring2", N, s, { { "bytes_per_s", N * SIZE / s }, { "msg_bytes", SIZE },
                                   { "window", 2 * K } })
end
