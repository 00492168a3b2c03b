-- benches: bounded unbounded
-- The stream scenario (a producer thread sends ("abc", i) to the consumer,
-- the main thread; the producer is the faster side) through two buffers:
--   unbounded  newbuffer(): addmsg never fails, the queue grows as far as
--              the producer gets ahead;
--   bounded    newbuffer(65536, 0) and putmsg: the producer waits for room
--              (our extension), so at most 64 KiB is ever queued.
-- Both run in alternating slices of the same process (ops = messages),
-- each slice with a new buffer and producer thread. Reported:
-- vs_unbounded (bounded ops_per_s / unbounded ops_per_s, 1 = as fast),
-- max_queued (the most messages seen queued, sampled every 1,000 reads)
-- and max_queued_kib (that many messages' bytes as the buffer counts them).
-- Original modules have no putmsg: then only `unbounded` is measured and
-- `bounded` is reported SKIPPED, so `bench/run --against` still gives the
-- original's unbounded stream in the same run (bounded ours / unbounded
-- original is the extension's cost against the original).
local B = dofile(((arg and arg[0] or ""):match("^(.*[/\\])") or "") .. "common.lua")
local mtmsg = require "mtmsg"

local has_putmsg = mtmsg.newbuffer().putmsg ~= nil

local N = B.n(1e6)          -- messages per measurement, over all slices
local SLICES = 4
local BOUND = 65536

-- Bytes one ("abc", i) message takes in a buffer: as many as fit in 64 KiB.
local per_message
do
    local b = mtmsg.newbuffer(BOUND, 0)
    local n = 0
    while b:addmsg("abc", 100000 + n) do n = n + 1 end
    per_message = BOUND / n
end

-- One slice: n messages through a new buffer; returns seconds, max queued.
local function slice(bounded, n)
    local queue = bounded and mtmsg.newbuffer(BOUND, 0) or mtmsg.newbuffer()
    local go = mtmsg.newbuffer()
    local producer = B.spawn(function(queueId, goId, n, bounded)
        local mtmsg = require "mtmsg"
        local queue, go = mtmsg.buffer(queueId), mtmsg.buffer(goId)
        go:nextmsg()
        if bounded then
            for i = 1, n do queue:putmsg(nil, "abc", i) end
        else
            for i = 1, n do queue:addmsg("abc", i) end
        end
    end, queue:id(), go:id(), n, bounded)
    local t0 = B.time()
    go:addmsg("go")
    local sum, max_queued = 0, 0
    for k = 1, n do
        local _, i = queue:nextmsg()
        sum = sum + i
        if k % 1000 == 0 then
            local c = queue:msgcnt()
            if c > max_queued then max_queued = c end
        end
    end
    local s = B.time() - t0
    B.join(producer)
    assert(sum == n * (n + 1) / 2, "lost or reordered messages")
    return s, max_queued
end

local kinds = has_putmsg and { false, true } or { false }
for _, bounded in ipairs(kinds) do slice(bounded, B.n(1e5)) end   -- warm-up
local per = math.max(1, math.floor(N / SLICES))
local time, queued = { [false] = 0, [true] = 0 }, { [false] = 0, [true] = 0 }
for _ = 1, SLICES do
    for _, bounded in ipairs(kinds) do
        local s, q = slice(bounded, per)
        time[bounded] = time[bounded] + s
        queued[bounded] = math.max(queued[bounded], q)
    end
end
local n = per * SLICES
local function kib(messages) return string.format("%.1f", messages * per_message / 1024) end
if not has_putmsg then
    io.write('bench=bounded SKIPPED reason="this mtmsg has no putmsg"\n')
else B.report("bounded", n, time[true], { { "us_per_op", time[true] / n * 1e6 },
    { "vs_unbounded", string.format("%.3f", time[false] / time[true]) },
    { "max_queued", queued[true] }, { "max_queued_kib", kib(queued[true]) } }) end
B.report("unbounded", n, time[false], { { "us_per_op", time[false] / n * 1e6 },
    { "max_queued", queued[false] }, { "max_queued_kib", kib(queued[false]) } })
