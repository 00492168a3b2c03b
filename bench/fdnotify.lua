-- benches: fdnotify blocked
-- Wake-up latency from another thread: a producer thread sends a message
-- with its send time every ~0.5 ms; ops = messages, reported latency =
-- receive time - send time (median and 99th percentile, microseconds):
--   fdnotify  the main thread sleeps in a luv event loop polling an
--             mtmsg.newfdnotifier() connected to the buffer, then drains
--             the buffer (our extension);
--   blocked   the main thread waits in buffer:nextmsg() (the baseline any
--             mtmsg offers).
-- Both run in alternating slices of the same process. Needs luv (Debian's
-- lua-luv: bench/run puts the distribution's Lua modules on LUA_CPATH).
-- Without newfdnotifier (the original modules) or without luv only
-- `blocked` is measured and `fdnotify` is reported SKIPPED, so `bench/run
-- --against` gives the original's blocked wake-up in the same run.
local B = dofile(((arg and arg[0] or ""):match("^(.*[/\\])") or "") .. "common.lua")
local mtmsg = require "mtmsg"
local has_luv, uv = pcall(require, "luv")
local skip = not mtmsg.newfdnotifier and "this mtmsg has no newfdnotifier"
    or not has_luv and "luv does not load (apt-get install lua-luv)"

local N = B.n(4000)          -- messages per measurement, over all slices
local SLICES = 4
local PAUSE = 0.0005

local function producer(queueId, goId, n, pause)
    local mtmsg = require "mtmsg"
    local queue, go = mtmsg.buffer(queueId), mtmsg.buffer(goId)
    go:nextmsg()
    for _ = 1, n do
        mtmsg.sleep(pause)
        queue:addmsg(mtmsg.time())
    end
end

local function slice(event_loop, n, latencies)
    local queue, go = mtmsg.newbuffer(), mtmsg.newbuffer()
    local t = B.spawn(producer, queue:id(), go:id(), n, PAUSE)
    local got = 0
    go:addmsg("go")
    if event_loop then
        local notifier = mtmsg.newfdnotifier()
        queue:notifier(notifier)
        local poll = uv.new_poll(notifier:fd())
        poll:start("r", function()
            notifier:drain()
            local now = B.time()
            while true do
                local sent = queue:nextmsg(0)
                if sent == nil then break end
                got = got + 1
                latencies[#latencies + 1] = now - sent
            end
            if got == n then poll:stop(); poll:close() end
        end)
        uv.run()
        notifier:close()
    else
        for _ = 1, n do
            local sent = queue:nextmsg()
            latencies[#latencies + 1] = B.time() - sent
        end
    end
    B.join(t)
end

local function percentile(sorted, p)
    return sorted[math.max(1, math.floor(#sorted * p + 0.5))]
end

local kinds = skip and { false } or { true, false }
for _, event_loop in ipairs(kinds) do slice(event_loop, 100, {}) end   -- warm-up
local per = math.max(1, math.floor(N / SLICES))
local lat, time = { [true] = {}, [false] = {} }, { [true] = 0, [false] = 0 }
for _ = 1, SLICES do
    for _, event_loop in ipairs(kinds) do
        local t0 = B.time()
        slice(event_loop, per, lat[event_loop])
        time[event_loop] = time[event_loop] + B.time() - t0
    end
end
if skip then io.write('bench=fdnotify SKIPPED reason="', skip, '"\n') end
for _, event_loop in ipairs(kinds) do
    local l = lat[event_loop]
    table.sort(l)
    B.report(event_loop and "fdnotify" or "blocked", #l, time[event_loop], {
        { "latency_median_us", string.format("%.1f", percentile(l, 0.5) * 1e6) },
        { "latency_p99_us", string.format("%.1f", percentile(l, 0.99) * 1e6) },
        { "latency_max_us", string.format("%.1f", l[#l] * 1e6) } })
end
