-- Correct uses of the whole API: the checker must report nothing here
-- (ci/typecheck; this file is type-checked, not run).
local mtmsg = require "mtmsg"
local mtstates = require "mtstates"
local mtthread = require "mtthread"

local buffer = mtmsg.newbuffer("b", 1024, 2)
local unnamed = mtmsg.newbuffer()
local sized = mtmsg.newbuffer(1024)
buffer:addmsg("text", 1, true, nil, { 1, 2 })
buffer:setmsg(1.5)
local added = buffer:putmsg(0.5, "x")
local first, second = buffer:nextmsg(0.1)
local count = buffer:msgcnt() + 1
buffer:clear()
buffer:nonblock(true)
local nonblocking = buffer:isnonblock()
local id = buffer:id() + 1
local name = buffer:name()
buffer:abort(false)
local aborted = buffer:isabort()
print(added, first, second, count, nonblocking, id, name, aborted, unnamed, sized)

local listener = mtmsg.newlistener("l")
local lbuffer = listener:newbuffer("lb", 64)
local fd = mtmsg.newfdnotifier()
lbuffer:notifier(fd, ">")
listener:notifier(fd, ">", 10)
print(listener:nextmsg(0), listener:id(), listener:name(), listener:isnonblock(), listener:isabort())
listener:clear()
print(fd:fd() + 0, fd:drain(), fd:notify(), fd:isclosed())
fd:close()

local writer = mtmsg.newwriter(256)
writer:add("a", 2)
writer:addmsg(buffer)
print(writer:putmsg(buffer, 1))
writer:setmsg(buffer)
writer:clear()
local reader = mtmsg.newreader()
print(reader:nextmsg(buffer, 0.5), reader:next(2), reader:nextmsg(listener))
reader:clear()

print(mtmsg.buffer("b"), mtmsg.buffer(id), mtmsg.listener("l"), mtmsg.type(buffer))
mtmsg.abort(false)
print(mtmsg.isabort(), mtmsg.time() + 1, mtmsg._VERSION, mtmsg._INFO, mtmsg.error.object_closed)
mtmsg.sleep(0.01)
buffer:close()
listener:close()

local state = mtstates.newstate("return function(x) return x end")
local named = mtstates.newstate("s", "return function(...) return ... end")
print(state:call(1), state:tcall(0.5, 2), state:id() + 1, named:name(), state:isowner())
state:interrupt(true)
print(mtstates.state("s"), mtstates.singleton("one", "return function() end"), mtstates.id(), mtstates.type(state))
print(mtstates._VERSION, mtstates._INFO, mtstates.error.interrupted)
state:close()

local thread = mtthread.new(function(x) return x end, 1)
thread:start()
print(thread:alive(), thread:join(), thread:join(0.5), mtthread._VERSION)
