-- benches: single
-- One thread: b:addmsg("abc", 42, true) then b:nextmsg(); ops = pairs.
local B = dofile(((arg and arg[0] or ""):match("^(.*[/\\])") or "") .. "common.lua")
local mtmsg = require "mtmsg"

local N = B.n(1e6)
local b = mtmsg.newbuffer()

local function run(n)
    for _ = 1, n do
        b:addmsg("abc", 42, true)
        b:nextmsg()
    end
end

run(B.n(1e5))                              -- warm-up
local a, x, c = (function() b:addmsg("abc", 42, true) return b:nextmsg() end)()
assert(a == "abc" and x == 42 and c == true, "wrong message")

local t0 = B.time()
run(N)
local s = B.time() - t0
B.report("single", N, s, { { "us_per_op", s / N * 1e6 } })
