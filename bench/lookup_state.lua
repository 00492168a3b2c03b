-- benches: lookup_state_name lookup_state_id
-- Among 10,000 named states (all alive, libs=false), mtstates.state(name) and
-- mtstates.state(id) for random names/ids (indices drawn before timing); the
-- returned object is dropped. ops = lookups. A measurement stops early after
-- BENCH_MAX_SECONDS (default 8) of lookups, so a linear-time lookup still
-- finishes; ops then reports the lookups actually made.
local B = dofile(((arg and arg[0] or ""):match("^(.*[/\\])") or "") .. "common.lua")
local mtstates = require "mtstates"

local COUNT = 10000
local N = B.n(1e6)
local MAX = tonumber(os.getenv("BENCH_MAX_SECONDS") or "") or 8
local CHUNK = 1000

local objects, names, ids = {}, {}, {}
for i = 1, COUNT do
    names[i] = string.format("bench.state.%05d", i)
    objects[i] = mtstates.newstate(names[i], false, "return function() end")
    ids[i] = objects[i]:id()
end
math.randomseed(12345)
local pick = {}
for i = 1, N do pick[i] = math.random(COUNT) end

local function measure(bench, keys)
    local lookup = mtstates.state
    for i = 1, math.min(N, 1000) do lookup(keys[pick[i]]) end   -- warm-up
    assert(lookup(keys[pick[1]]):id() == ids[pick[1]], "wrong object")
    collectgarbage()
    local done, t0 = 0, B.time()
    local s
    repeat
        local last = math.min(done + CHUNK, N)
        for i = done + 1, last do lookup(keys[pick[i]]) end
        done = last
        s = B.time() - t0
    until done >= N or s > MAX
    B.report(bench, done, s, { { "objects", COUNT }, { "us_per_op", s / done * 1e6 } })
end

measure("lookup_state_name", names)
measure("lookup_state_id", ids)
