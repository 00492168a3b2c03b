-- benches: writer
-- A writer builds a message of 8 elements (one w:add(...) of 8 values) and
-- adds it with w:addmsg(b); a reader takes it with r:nextmsg(b) and r:next(8).
-- One thread; ops = messages.
local B = dofile(((arg and arg[0] or ""):match("^(.*[/\\])") or "") .. "common.lua")
local mtmsg = require "mtmsg"

local N = B.n(1e6)
local b = mtmsg.newbuffer()
local w = mtmsg.newwriter()
local r = mtmsg.newreader()

local function run(n)
    local e1, e8, _
    for i = 1, n do
        w:add(i, "abc", true, 1.5, "defghijk", 42, false, i)
        w:addmsg(b)
        r:nextmsg(b)
        e1, _, _, _, _, _, _, e8 = r:next(8)
    end
    return e1, e8
end

run(B.n(1e5))
local t0 = B.time()
local e1, e8 = run(N)
local s = B.time() - t0
assert(e1 == N and e8 == N, "wrong elements")
B.report("writer", N, s, { { "elements", 8 }, { "us_per_op", s / N * 1e6 } })
