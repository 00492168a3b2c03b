-- benches: floor
-- The floor: an empty method call on a userdata from Lua (carray's a:len() if
-- the carray module loads, else buffer:isnonblock()). Other results are
-- divided by it (floor_ratio = floor ops/s / ops/s, computed by bench/run).
local B = dofile(((arg and arg[0] or ""):match("^(.*[/\\])") or "") .. "common.lua")
local mtmsg = require "mtmsg"

local N = B.n(1e7)
local obj, method, kind
local ok, carray = pcall(require, "carray")
if ok and type(carray) == "table" and carray.new then
    obj, kind = carray.new("int", 1), "carray.len"
    method = "len"
else
    obj, kind = mtmsg.newbuffer(), "buffer.isnonblock"
    method = "isnonblock"
end

local run
if method == "len" then
    run = function(n) local o = obj for _ = 1, n do o:len() end end
else
    run = function(n) local o = obj for _ = 1, n do o:isnonblock() end end
end

run(B.n(1e6))                              -- warm-up
local t0 = B.time()
run(N)
local s = B.time() - t0
B.report("floor", N, s, { { "ns_per_op", s / N * 1e9 }, { "floor", kind } })
