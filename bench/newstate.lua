-- benches: newstate
-- mtstates.newstate(setup) (all standard libraries, setup function moved by
-- string.dump, returns the callback) plus state:close(); ops = states.
local B = dofile(((arg and arg[0] or ""):match("^(.*[/\\])") or "") .. "common.lua")
local mtstates = require "mtstates"

local N = B.n(3e3)
local function setup()
    return function(a, b) return a + b end
end

local function run(n)
    for _ = 1, n do
        local st = mtstates.newstate(setup)
        st:close()
    end
end

run(B.n(300))
local check = mtstates.newstate(setup)
assert(check:call(1, 2) == 3, "wrong result")
check:close()
collectgarbage()
local t0 = B.time()
run(N)
local s = B.time() - t0
B.report("newstate", N, s, { { "us_per_op", s / N * 1e6 } })
