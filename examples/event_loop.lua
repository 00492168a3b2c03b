-- One event loop (luv, libuv's Lua binding) waiting on an mtmsg buffer and
-- a timer at once. Two producer threads send work into a small fixed-size
-- buffer with putmsg, which waits for room when the loop falls behind; an
-- fd notifier connected to the buffer makes its descriptor readable, and
-- the loop drains the buffer whenever it is. Meanwhile a timer ticks.
-- Needs luv: apt-get install lua-luv (Lua 5.1-5.4, LuaJIT; ci/lua finds
-- Debian's modules), or luarocks install luv.
-- Run: ci/lua examples/event_loop.lua [messages per producer]
local ok, uv = pcall(require, "luv")
if not ok then
    print("this example needs luv (libuv for Lua): apt-get install lua-luv, or luarocks install luv")
    return
end
local mtmsg    = require "mtmsg"
local mtthread = require "mtthread"

local count = tonumber(arg and arg[1]) or 500

-- 2 KiB, fixed (grow factor 0): producers that get ahead of the loop wait.
local inbox = mtmsg.newbuffer("event_loop.inbox", 2048, 0)
local notifier = mtmsg.newfdnotifier()
inbox:notifier(notifier)            -- ">": notified after every addition

local function producer(name, count, pause)
    local mtmsg = require "mtmsg"
    local inbox = mtmsg.buffer("event_loop.inbox")
    for i = 1, count do
        -- waits (here without limit) while the inbox is full
        inbox:putmsg(nil, name, i, mtmsg.time())
        if pause > 0 and i % 50 == 0 then mtmsg.sleep(pause) end
    end
    inbox:putmsg(nil, name, "done")
end
local threads = {
    mtthread.new(producer, "fast", count, 0),
    mtthread.new(producer, "slow", count, 0.02),
}

local received, finished, ticks, worst = { fast = 0, slow = 0 }, 0, 0, 0
local poll, timer = uv.new_poll(notifier:fd()), uv.new_timer()

timer:start(50, 50, function()
    ticks = ticks + 1
end)

poll:start("r", function(err)
    assert(not err, err)
    notifier:drain()                -- readable again only after the next addition
    local now = mtmsg.time()
    while true do
        local name, i, sent = inbox:nextmsg(0)
        if name == nil then break end
        if i == "done" then
            finished = finished + 1
        else
            assert(i == received[name] + 1, "messages of one producer arrive in order")
            received[name] = i
            worst = math.max(worst, now - sent)
        end
    end
    if finished == #threads then
        poll:stop(); poll:close(); timer:close()
    end
end)

for _, t in ipairs(threads) do t:start() end
local start = mtmsg.time()
uv.run()                            -- returns when no handle is left
for _, t in ipairs(threads) do assert(t:join()) end
notifier:close()

assert(received.fast == count and received.slow == count, "every message arrived")
print(string.format("%d + %d messages through a 2 KiB buffer in %.2f s; the timer ticked %d times meanwhile",
    received.fast, received.slow, mtmsg.time() - start, ticks))
print(string.format("longest a message waited in the inbox: %.1f ms", worst * 1e3))
