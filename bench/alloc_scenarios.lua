-- Scenarios at a given size, for bench/allocs (heap allocations per message).
local mtmsg = require "mtmsg"
local mtthread = require "mtthread"
local N = tonumber(os.getenv("N"))
local scen = os.getenv("SCEN")
if scen == "single" then
  local b = mtmsg.newbuffer()
  for _ = 1, N do b:addmsg("abc", 42, true); b:nextmsg() end
elseif scen == "stream" then
  local b = mtmsg.newbuffer()
  local t = mtthread.new(function(id, n)
    local b = require("mtmsg").buffer(id)
    for i = 1, n do b:addmsg("abc", i, true) end
  end, b:id(), N)
  t:start()
  for _ = 1, N do b:nextmsg() end
  t:join()
elseif scen == "pingpong" then
  local a, b = mtmsg.newbuffer(), mtmsg.newbuffer()
  local t = mtthread.new(function(ia, ib, n)
    local m = require("mtmsg")
    local a, b = m.buffer(ia), m.buffer(ib)
    for _ = 1, n do b:addmsg(a:nextmsg()) end
  end, a:id(), b:id(), N)
  t:start()
  for i = 1, N do a:addmsg("x", i); b:nextmsg() end
  t:join()
elseif scen == "fanin" then
  local l = mtmsg.newlistener()
  local bs, ts = {}, {}
  for k = 1, 4 do bs[k] = l:newbuffer() end
  for k = 1, 4 do
    ts[k] = mtthread.new(function(id, n)
      local b = require("mtmsg").buffer(id)
      for i = 1, n do b:addmsg(i) end
    end, bs[k]:id(), N)
    ts[k]:start()
  end
  for _ = 1, 4 * N do l:nextmsg() end
  for k = 1, 4 do ts[k]:join() end
elseif scen == "big1" then
  -- 64 KiB messages, one thread: the message's block is recycled.
  local b = mtmsg.newbuffer()
  local s64 = string.rep("x", 65536)
  for _ = 1, N do b:addmsg(s64); b:nextmsg() end
elseif scen == "big2" then
  -- 64 KiB messages between two threads, at most 32 in flight: blocks go
  -- back and forth through the queue.
  local q, ack = mtmsg.newbuffer(), mtmsg.newbuffer()
  local t = mtthread.new(function(iq, ia, n)
    local m = require("mtmsg")
    local q, ack = m.buffer(iq), m.buffer(ia)
    local s64 = string.rep("x", 65536)
    for i = 1, n do
      if i > 32 and (i - 1) % 16 == 0 then ack:nextmsg() end
      q:addmsg(s64)
    end
  end, q:id(), ack:id(), N)
  t:start()
  for i = 1, N do q:nextmsg(); if i % 16 == 0 then ack:addmsg() end end
  t:join()
end
