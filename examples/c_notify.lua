-- A C thread notifying Lua through the Notify C API (capi/example_notify.c):
-- first a buffer (one empty message per notification, consumed here), then
-- a state (its callback runs on the C thread). Run: ci/lua examples/c_notify.lua
local mtmsg    = require "mtmsg"
local mtstates = require "mtstates"
local ticker   = require "example_notify"

-- 1. Buffer: the C thread adds an empty message every 20 ms.
local wakeups = mtmsg.newbuffer()
local t = ticker.start(wakeups, 5, 20)
for i = 1, 5 do
    assert(wakeups:nextmsg(2) == nil and wakeups:msgcnt() == 0)
    print("woken by the C thread", i)
end
print("buffer notified:", t:join())

-- 2. State: notify calls the state's callback with no arguments.
local counts = mtmsg.newbuffer()
local state = mtstates.newstate(function(countsId)
    local mtmsg = require "mtmsg"
    local out = mtmsg.buffer(countsId)
    local n = 0
    return function() n = n + 1; out:addmsg(n) end
end, counts:id())
local t2 = ticker.start(state, 3, 10)
for _ = 1, 3 do print("state callback ran, count", counts:nextmsg(2)) end
print("state notified:", t2:join())
