-- Helpers of the stress scripts (tests/stress/*.lua). Not a test itself.
--
-- Every script: prints its seed (MTMSG_STRESS_SEED, else a fixed default),
-- scales its durations and counts by MTMSG_STRESS_SCALE (default 1), runs
-- its threads with join timeouts (a thread that does not finish in time is
-- reported as a HANG and the script fails), prints one line of figures per
-- scenario and fails (error) on any violated invariant.
--
-- Thread functions have no upvalues (mtthread moves them by string.dump):
-- they `require "stresslib"` themselves when they need it.
local mtmsg = require "mtmsg"

local S = {}

S.unpack = table.unpack or unpack

function S.pack(...)
    return { n = select("#", ...), ... }
end

local function env_number(name, default)
    local v = tonumber(os.getenv(name) or "")
    if v == nil then return default end
    return v
end

S.seed = math.floor(env_number("MTMSG_STRESS_SEED", 20240611))
S.scale = env_number("MTMSG_STRESS_SCALE", 1)
S.lua = _VERSION .. (type(jit) == "table" and (" " .. jit.version) or "")

S.failures = 0
local script_name = "stress"
local t_start = mtmsg.time()

function S.start(name)
    script_name = name
    math.randomseed(S.seed)
    io.stdout:setvbuf("line")
    print(string.format("%s: seed=%d scale=%g (%s; MTMSG_STRESS_SEED / MTMSG_STRESS_SCALE)",
        name, S.seed, S.scale, S.lua))
    t_start = mtmsg.time()
end

-- A count scaled by MTMSG_STRESS_SCALE (at least `min`, default 1).
function S.scaled(n, min)
    return math.max(min or 1, math.floor(n * S.scale + 0.5))
end

-- A duration in seconds scaled by MTMSG_STRESS_SCALE.
function S.seconds(t)
    return t * S.scale
end

-- Records a failed invariant; the script fails at S.finish (so that all
-- figures are printed first) unless `fatal`.
function S.check(cond, msg, fatal)
    if not cond then
        S.failures = S.failures + 1
        print("FAILED: " .. tostring(msg))
        if fatal then error("FAILED: " .. tostring(msg), 2) end
    end
    return cond
end

-- Prints "<scenario>: k1=v1 k2=v2 ..." with keys in the given order.
function S.report(scenario, figures)
    local parts = {}
    for i = 1, #figures, 2 do
        local v = figures[i + 1]
        if type(v) == "number" and v ~= math.floor(v) then v = string.format("%.3f", v) end
        parts[#parts + 1] = figures[i] .. "=" .. tostring(v)
    end
    print(string.format("  %s: %s", scenario, table.concat(parts, " ")))
end

function S.finish()
    local elapsed = mtmsg.time() - t_start
    if S.failures > 0 then
        error(string.format("%s: %d invariant(s) violated (seed %d)", script_name, S.failures, S.seed), 0)
    end
    print(string.format("%s: OK in %.1f s", script_name, elapsed))
end

-- mtstates (it always exists now: a failing require fails the script
-- rather than skipping its mtstates part).
function S.mtstates()
    return require "mtstates"
end

-- Starts a thread running fn(...).
function S.thread(fn, ...)
    local mtthread = require "mtthread"
    local t = mtthread.new(fn, ...)
    t:start()
    return t
end

-- Joins a thread within `timeout` seconds. Returns true, results packed
-- ({n=..., ...}) or false, error message, or nil, "HANG". A hung thread is
-- rescued with a global abort so that the process can exit; `rescue` runs
-- first (e.g. closing the object it waits on).
function S.join(t, timeout, rescue)
    local r = S.pack(t:join(timeout or 20))
    if r[1] == nil then
        if rescue then pcall(rescue) end
        mtmsg.abort(true)
        t:join(5)
        mtmsg.abort(false)
        return nil, "HANG"
    end
    if r[1] == false then return false, r[2] end
    local res = { n = r.n - 1 }
    for i = 2, r.n do res[i - 1] = r[i] end
    return true, res
end

-- Joins every thread of `list`; returns the list of packed results and the
-- number of errors and hangs (each reported).
function S.join_all(list, timeout, what, rescue)
    local results, errors, hangs = {}, 0, 0
    for i, t in ipairs(list) do
        local ok, r = S.join(t, timeout, rescue)
        if ok then
            results[i] = r
        elseif ok == nil then
            hangs = hangs + 1
            S.check(false, string.format("%s thread %d HANG (no result within %s s)", what or "", i, timeout or 20))
        else
            errors = errors + 1
            results[i] = { n = 0, error = r }
            S.check(false, string.format("%s thread %d raised: %s", what or "", i, tostring(r)))
        end
    end
    return results, errors, hangs
end

-- A message payload that depends on (p, seq): its length crosses the
-- short/long string boundary (255) and it has binary bytes.
function S.payload(p, seq)
    local len = (seq * 37 + p * 11) % 300
    local c = string.char((p * 7 + seq) % 256)
    return string.rep(c, len)
end

-- Contents check of a message (p, tgt, seq, payload, check_float).
function S.valid(p, tgt, seq, payload, chk)
    return type(p) == "number" and type(seq) == "number" and type(tgt) == "number"
        and payload == S.payload(p, seq) and chk == seq * 2 + 0.5
end

-- Seq lists: "k:s1,s2,...;" for each key of `t` (a table key -> list).
function S.encode_lists(t)
    local parts = {}
    for k, list in pairs(t) do
        parts[#parts + 1] = k .. ":" .. table.concat(list, ",")
    end
    return table.concat(parts, ";")
end

function S.decode_lists(s, f)
    for k, list in string.gmatch(s, "([^:;]+):([^;]*)") do
        for seq in string.gmatch(list, "%d+") do
            f(tonumber(k), tonumber(seq))
        end
    end
end

-- "k=v,k=v" maps of integers.
function S.encode_map(t)
    local parts = {}
    for k, v in pairs(t) do parts[#parts + 1] = k .. "=" .. v end
    return table.concat(parts, ",")
end

function S.decode_map(s, f)
    for k, v in string.gmatch(s, "([^=,]+)=(%d+)") do f(tonumber(k), tonumber(v)) end
end

-- Busy-waits (without mtmsg.sleep, which a global abort interrupts).
function S.spin(seconds)
    local t = mtmsg.time() + seconds
    while mtmsg.time() < t do end
end

return S
