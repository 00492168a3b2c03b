-- From Lua 5.2 on, a table given one of our metatables is finalized too:
-- our __gc must accept it silently (an error there breaks the collector).
local T = require "testlib"
local mtmsg = require "mtmsg"
local mtstates = require "mtstates"
local mtthread = require "mtthread"

local objects = {
    mtmsg.newbuffer(), mtmsg.newlistener(), mtmsg.newwriter(), mtmsg.newreader(),
    mtstates.newstate("return function() end"),
    mtthread.new("return 1"),
}
for _, o in ipairs(objects) do
    local mt = debug.getmetatable(o)
    T.check(type(mt.__gc) == "function")
    setmetatable({}, mt)
    -- __gc called directly with wrong values does not raise either
    T.eq(select("#", mt.__gc({})), 0)
    T.eq(select("#", mt.__gc(nil)), 0)
end
collectgarbage()
collectgarbage()
-- the real objects still work
T.eq(objects[1]:addmsg(1), true)
T.eq(objects[1]:nextmsg(), 1)
T.done("gc_foreign")
