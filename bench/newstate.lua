-- benches: newstate newstate_floor
-- newstate: mtstates.newstate(setup) (all standard libraries, setup function
-- moved by string.dump, returns the callback) plus state:close(); ops =
-- states. newstate_floor: the same count of luaL_newstate(); luaL_openlibs();
-- lua_close() in plain C (benchfloor.statecycle, capi/benchfloor.c), when the
-- benchfloor module loads; else a `bench=newstate_floor SKIPPED` line.
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

-- The floor: the bare C cost of the same states.
local ok, benchfloor = pcall(require, "benchfloor")
if not (ok and type(benchfloor) == "table" and benchfloor.statecycle) then
    local why = tostring(benchfloor)
    why = why:match("^(module '[^']+' not found)") or why:gsub("%s+", " "):sub(1, 160)
    io.write('bench=newstate_floor SKIPPED reason="benchfloor does not load: ', why:gsub('"', "'"), '"\n')
    return
end
benchfloor.statecycle(B.n(300))
collectgarbage()
t0 = B.time()
benchfloor.statecycle(N)
s = B.time() - t0
B.report("newstate_floor", N, s, { { "us_per_op", s / N * 1e6 } })
