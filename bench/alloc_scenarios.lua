-- Scenarios 1-4 at a given size, for bench/allocs (heap allocations per message).
local mtmsg = require "mtmsg"
local mtthread = require "mtthread"
local N = tonumber(os.getenv("N"))
local scen = os.getenv("SCEN")
if scen == "single" then
  local b = mtmsg.newbuffer()
  for i = 1, N do b:addmsg("abc", 42, true); b:nextmsg() end
elseif scen == "stream" then
  local b = mtmsg.newbuffer()
  local t = mtthread.new(function(id, n) local b = require("mtmsg").buffer(id) for i = 1, n do b:addmsg("abc", i, true) end end, b:id(), N)
  t:start()
  for i = 1, N do b:nextmsg() end
  t:join()
elseif scen == "pingpong" then
  local a, b = mtmsg.newbuffer(), mtmsg.newbuffer()
  local t = mtthread.new(function(ia, ib, n) local m = require("mtmsg") local a, b = m.buffer(ia), m.buffer(ib) for i = 1, n do b:addmsg(a:nextmsg()) end end, a:id(), b:id(), N)
  t:start()
  for i = 1, N do a:addmsg("x", i); b:nextmsg() end
  t:join()
elseif scen == "fanin" then
  local l = mtmsg.newlistener()
  local bs, ts = {}, {}
  for k = 1, 4 do bs[k] = l:newbuffer() end
  for k = 1, 4 do ts[k] = mtthread.new(function(id, n) local b = require("mtmsg").buffer(id) for i = 1, n do b:addmsg(i) end end, bs[k]:id(), N) ts[k]:start() end
  for i = 1, 4 * N do l:nextmsg() end
  for k = 1, 4 do ts[k]:join() end
end
