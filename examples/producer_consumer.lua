-- Producer and consumer threads exchanging messages through a buffer.
-- Run: ci/lua examples/producer_consumer.lua [count]
local mtmsg    = require "mtmsg"
local mtthread = require "mtthread"

local count = tonumber(arg and arg[1]) or 100000
local queue = mtmsg.newbuffer()
local done  = mtmsg.newbuffer()

-- Threads get ids, not objects; each looks the buffers up in its own state.
local consumer = mtthread.new(function(queueId, doneId)
    local mtmsg = require "mtmsg"
    local queue, done = mtmsg.buffer(queueId), mtmsg.buffer(doneId)
    local received, sum = 0, 0
    while true do
        local kind, n = queue:nextmsg()
        if kind == "end" then break end
        received, sum = received + 1, sum + n
    end
    done:addmsg(received, sum)
end, queue:id(), done:id())

local producer = mtthread.new(function(queueId, count)
    local mtmsg = require "mtmsg"
    local queue = mtmsg.buffer(queueId)
    for i = 1, count do queue:addmsg("item", i) end
    queue:addmsg("end")
end, queue:id(), count)

local start = mtmsg.time()
consumer:start()
producer:start()
local received, sum = done:nextmsg()
local seconds = mtmsg.time() - start
assert(producer:join())
assert(consumer:join())

assert(received == count, "lost messages")
assert(sum == count * (count + 1) / 2, "wrong sum")
print(string.format("%d messages from producer to consumer thread in %.3f s (%.2f M msg/s)",
                    received, seconds, received / seconds / 1e6))
