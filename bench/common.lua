-- Shared helpers for the bench scripts (bench/*.lua). Loaded with
--   local B = dofile(((arg and arg[0] or ""):match("^(.*[/\\])") or "") .. "common.lua")
-- Uses only the public mtmsg API (mtmsg.time for the wall clock).
local mtmsg = require "mtmsg"

local B = {}

B.scale = tonumber(os.getenv("BENCH_SCALE") or "") or 1
B.threads_module = os.getenv("BENCH_THREADS") or "mtthread"
B.time = mtmsg.time

-- Op count scaled by BENCH_SCALE (at least 1).
function B.n(count)
    local n = math.floor(count * B.scale + 0.5)
    if n < 1 then n = 1 end
    return n
end

-- The thread module (mtthread, llthreads2.ex, ...): new(fn, ...), :start(), :join().
function B.threads()
    return require(B.threads_module)
end

-- Starts a thread running fn (no upvalues) with the given arguments.
function B.spawn(fn, ...)
    local t = B.threads().new(fn, ...)
    t:start()
    return t
end

-- Joins a thread and raises its error, if any.
function B.join(t)
    local ok, err = t:join()
    if not ok then error("thread failed: " .. tostring(err), 2) end
end

local function fmt(v)
    if math.type and math.type(v) == "integer" then return tostring(v) end
    if v == math.floor(v) and math.abs(v) < 1e15 then return string.format("%d", v) end
    return string.format("%.6g", v)
end

-- Prints the one machine-readable line of a measurement:
--   bench=NAME ops=N seconds=S ops_per_s=R [key=value ...]
-- extra: list of {key, value} pairs (kept in order).
function B.report(name, ops, seconds, extra)
    local parts = { "bench=" .. name, "ops=" .. fmt(ops),
                    string.format("seconds=%.6f", seconds),
                    string.format("ops_per_s=%.6g", ops / seconds) }
    for _, kv in ipairs(extra or {}) do
        local v = kv[2]
        if type(v) == "number" then v = fmt(v) end
        parts[#parts + 1] = kv[1] .. "=" .. tostring(v)
    end
    io.write(table.concat(parts, " "), "\n")
    io.stdout:flush()
end

-- The lookup benchmarks: among `count` live named objects made by
-- `new(name)`, `lookup(name)` and `lookup(id)` for random keys (drawn before
-- timing), reported as `<prefix>_name` and `<prefix>_id`. A measurement stops
-- early after BENCH_MAX_SECONDS (default 8), so a linear-time lookup still
-- finishes; ops then reports the lookups actually made.
function B.lookups(prefix, count, new, lookup)
    local N = B.n(1e6)
    local MAX = tonumber(os.getenv("BENCH_MAX_SECONDS") or "") or 8
    local CHUNK = 1000
    local objects, names, ids = {}, {}, {}
    for i = 1, count do
        names[i] = string.format("bench.%s.%05d", prefix, i)
        objects[i] = new(names[i])
        ids[i] = objects[i]:id()
    end
    math.randomseed(12345)
    local pick = {}
    for i = 1, N do pick[i] = math.random(count) end

    local function measure(bench, keys)
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
        B.report(bench, done, s, { { "objects", count }, { "us_per_op", s / done * 1e6 } })
    end
    measure("lookup_" .. prefix .. "_name", names)
    measure("lookup_" .. prefix .. "_id", ids)
    return objects
end

return B
