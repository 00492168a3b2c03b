-- Lua-level API fuzzer: calls every public function of mtmsg, mtthread (and
-- mtstates when it loads), and every method and metamethod of their objects
-- (found through debug.getmetatable, so new methods are covered too), with
-- random argument types and values: nil, booleans, integers (huge,
-- negative, boundaries), floats (NaN, inf, -0.0, tiny), strings (empty,
-- binary, long, numeric-looking), tables (also with hostile metatables, cycles, tables as keys),
-- functions (Lua and C), coroutines, light userdata, and userdata of every
-- kind (buffers, listeners, writers, readers, fd notifiers, threads,
-- states, carrays, a C notifier, a file). Wrong `self` values are tried too.
--
-- Every call runs under pcall: the outcome must be results or an error
-- string. A crash fails the process; a call that never returns is detected
-- by a watchdog thread (blocking calls such as nextmsg() or putmsg() on a full buffer without timeout are
-- woken after 0.15 s by aborting the buffers and listeners passed to them;
-- a call that still does not return within 5 s is reported as a HANG and
-- the process exits with status 3).
--
-- Seed: MTMSG_FUZZ_SEED, else MTMSG_STRESS_SEED, else a fixed default;
-- printed at start. Iterations: MTMSG_FUZZ_ITERS (default 60000 x scale),
-- bounded by MTMSG_FUZZ_SECONDS (default 10 x scale).
--
-- Inputs that would only measure the machine are kept out: sizes between
-- 1e7 and 1e13 bytes become 1e13 (fails at once) and grow factors between
-- 16 and 1e20 become 1e20, since a buffer allocates (and zero-fills) its
-- whole capacity (see the report: ByteArea zero-fill); ">" notifier cycles
-- between buffers are not built unless MTMSG_FUZZ_CYCLES=1, since they
-- overflow the stack (reported: notifier_cycle.lua).
local S = require "stresslib"
local mtmsg = require "mtmsg"
local mtthread = require "mtthread"

S.start("fuzz_api")

local SEED = math.floor(tonumber(os.getenv("MTMSG_FUZZ_SEED") or "") or S.seed)
local ITERS = math.floor(tonumber(os.getenv("MTMSG_FUZZ_ITERS") or "") or S.scaled(150000, 100))
local SECONDS = tonumber(os.getenv("MTMSG_FUZZ_SECONDS") or "") or S.seconds(10)
local ALLOW_CYCLES = os.getenv("MTMSG_FUZZ_CYCLES") == "1"
-- the watchdog reports the hanging call with its arguments
local DESCRIBE = os.getenv("MTMSG_FUZZ_DESCRIBE") ~= "0"
math.randomseed(SEED)
print(string.format("  fuzz seed=%d (MTMSG_FUZZ_SEED) iterations<=%d seconds<=%g", SEED, ITERS, SECONDS))

local mtstates = S.mtstates()
-- The C test modules are built with every test build: required, not optional.
local carray = require "carray"
local capitest = require "capitest"

------------------------------------------------------------------------------
-- Watchdog
------------------------------------------------------------------------------
local hb = mtmsg.newbuffer()
-- a gap of ids, so that lookups of pool ids +- small deltas miss hb
local gap = {} -- luacheck: ignore 241 (only holds the buffers: their ids stay taken)
for i = 1, 16 do gap[i] = mtmsg.newbuffer() end

local watchdog = S.thread(function(hb_id)
    local mtmsg = require "mtmsg"
    local hb = mtmsg.buffer(hb_id)
    local rescues, stuck_since, last, wake = 0, nil, "?", ""
    local function hang(how)
        io.stderr:write("fuzz_api: HANG: no return from " .. last .. " for 5 s " .. how .. "\n")
        if os.getenv("MTMSG_FUZZ_HANG_WAIT") then
            -- keep the process for a debugger
            while true do local t = os.time() + 1 while os.time() < t do end end
        end
        os.exit(3)
    end
    while true do
        local ok, i, what, ids = pcall(hb.nextmsg, hb, 0.15)
        if ok and i == "stop" then return rescues end
        if ok and i ~= nil then
            last, wake = tostring(what), tostring(ids)
            stuck_since = nil
        elseif ok then
            -- no heartbeat for 0.15 s: the fuzzer is blocked in a call;
            -- abort the buffers and listeners it was given (this never
            -- touches the global flag, which the fuzzer itself resets)
            stuck_since = stuck_since or mtmsg.time()
            if mtmsg.time() - stuck_since > 5 then hang("despite aborting its objects: " .. wake) end
            rescues = rescues + 1
            for kind, id in wake:gmatch("(%a)(%d+)") do
                pcall(function()
                    if kind == "b" then mtmsg.buffer(tonumber(id)):abort() else mtmsg.listener(tonumber(id)):abort() end
                end)
            end
        else
            -- hb aborted or the global flag set by a fuzz call: the fuzzer
            -- resets it after that call
            local t = mtmsg.time() + 0.001
            while mtmsg.time() < t do end
            stuck_since = stuck_since or mtmsg.time()
            if mtmsg.time() - stuck_since > 5 then hang("(heartbeat buffer unusable: " .. tostring(i) .. ")") end
        end
    end
end, hb:id())

------------------------------------------------------------------------------
-- Values
------------------------------------------------------------------------------
local maxint = math.maxinteger or 2 ^ 53
local minint = math.mininteger or -2 ^ 53
local SPECIAL_NUMBERS = {
    0, 1, -1, 2, 3, 7, 254, 255, 256, 257, 1023, 1024, 4096, 65535, 65536, 2 ^ 31 - 1, 2 ^ 31, -2 ^ 31,
    2 ^ 32, 2 ^ 53, 2 ^ 53 + 1, -2 ^ 53, 2 ^ 63, -2 ^ 63, 2 ^ 64, maxint, minint, maxint - 1, minint + 1,
    0.5, -0.5, 1.5, 1e-300, -1e-300, 5e-324, 1e300, -1e300, 1e308, -1e308, 1 / 0, -1 / 0, 0 / 0, -(0 / 0),
    -0.0, 0.001, 0.0001, 1e7, 1e13, 1e19, 3.5, 2.0, 10.0, -2.0,
}
local SPECIAL_STRINGS = {
    "", "x", "\0", "\0\0\0", "a\0b", "<", ">", "<<", "> ", "1", "0", "-1", "0.5", "1e3", " 10 ", "0x10",
    "nan", "inf", "-inf", "true", "nil", "hugo", "fz-name", "\255\254", string.rep("z", 255),
    string.rep("y", 256), string.rep("\0", 300), "return 1", "return ...", "error('boom')",
    "return function(...) return ... end", "local m = require 'mtmsg' return m.time()", "mtmsg.buffer",
    "mtmsg.listener", "mtmsg.writer", "mtmsg.reader", "mtthread.thread", "mtstates.state", "carray",
    "_capi_notify", "_capi_receiver", "_capi_sender", "%s%s%s%n", "\n\r\t", "int", "double", "char",
}

local function rand_string()
    local r = math.random(10)
    if r <= 6 then return SPECIAL_STRINGS[math.random(#SPECIAL_STRINGS)] end
    local len = (r <= 9) and math.random(0, 40) or math.random(0, 70000)
    local t = {}
    for i = 1, math.min(len, 64) do t[i] = string.char(math.random(0, 255)) end
    local s = table.concat(t)
    if len > 64 then s = string.rep(s, math.floor(len / 64) + 1):sub(1, len) end
    return s
end

local function rand_number()
    local r = math.random(10)
    if r <= 6 then return SPECIAL_NUMBERS[math.random(#SPECIAL_NUMBERS)] end
    if r <= 8 then return math.random(-300, 300) end
    if r == 9 then return (math.random() - 0.5) * 10 ^ math.random(-10, 20) end
    return math.random(0, 2 ^ 31 - 1) * (math.random(2) == 1 and 1 or -1)
end

-- Objects: rebuilt regularly (old ones are left to the GC).
local pool = {}
local ids = {}

local hostile_mt = {
    __index = function() error("hostile __index") end,
    __newindex = function() error("hostile __newindex") end,
    __tostring = function() error("hostile __tostring") end,
    __len = function() error("hostile __len") end,
    __eq = function() error("hostile __eq") end,
    __name = "mtmsg.buffer",
    __metatable = "mtmsg.buffer",
}

local function noup1() end
local function noup2(...) return ... end
local function noup3(a) error(a) end
local function noup4() return require("mtmsg").time() end
local up_value = 1
local function withup() return up_value end

local light = nil
if debug.upvalueid then
    local ok, l = pcall(debug.upvalueid, withup, 1)
    if ok and type(l) == "userdata" then light = l end
end

local function build_pool()
    pool = {}
    local function add(kind, v)
        pool[#pool + 1] = { kind = kind, v = v }
        return v
    end
    local b = add("buffer", mtmsg.newbuffer())
    add("buffer", mtmsg.newbuffer("fz-name", 64, 0))
    add("buffer", mtmsg.newbuffer("fz-name", 0, 0))
    add("buffer", mtmsg.newbuffer(8, 1.5))
    local closed = add("buffer", mtmsg.newbuffer())
    closed:close()
    local aborted = add("buffer", mtmsg.newbuffer())
    aborted:abort()
    local nb = add("buffer", mtmsg.buffer(b:id()))
    nb:nonblock()
    b:addmsg(1, "two", 3.5, true, nil)
    local l = add("listener", mtmsg.newlistener("fz-listener"))
    local lb1 = add("buffer", l:newbuffer())
    add("buffer", l:newbuffer("fz-lb", 32, 0))
    lb1:addmsg("lb")
    -- full fixed-size buffers: putmsg waits on them (the watchdog wakes it)
    local full = add("buffer", mtmsg.newbuffer(32, 0))
    while full:addmsg("full") do end
    local lfull = add("buffer", l:newbuffer(24, 0))
    while lfull:addmsg("lfull") do end
    local fdn = add("fdnotifier", mtmsg.newfdnotifier())
    full:notifier(fdn, "<")
    add("fdnotifier", mtmsg.newfdnotifier()):close()
    add("listener", mtmsg.newlistener())            -- no buffers
    local lc = add("listener", mtmsg.newlistener())
    add("buffer", lc:newbuffer())
    lc:close()
    add("writer", mtmsg.newwriter())
    add("writer", mtmsg.newwriter(8, 0))
    add("reader", mtmsg.newreader())
    add("reader", mtmsg.newreader(8, 0))
    add("thread", mtthread.new(noup1))
    local t = add("thread", mtthread.new(noup2, 1, "x"))
    t:start()
    if carray then
        add("carray", carray.new("int", 3))
        add("carray", carray.new("double", 0))
        add("carray", carray.new("char", 5))
        local okr, ro = pcall(function() return carray.new("short", 2):readonly() end)
        if okr then add("carray", ro) end
    end
    if capitest then
        local ok, n = pcall(capitest.new_notifier)
        if ok then add("notifier", n) end
    end
    if mtstates then
        local ok, s = pcall(mtstates.newstate, "return function(...) return ... end")
        if ok then add("state", s) end
        ok, s = pcall(mtstates.newstate, "fz-state", "return function(x) return x end")
        if ok then
            add("state", s)
            local ok2, r = pcall(mtstates.state, s:id())
            if ok2 then add("state", r) end
        end
        ok, s = pcall(mtstates.newstate, "return function() end")
        if ok then
            pcall(s.close, s)
            add("state", s)
        end
    end
    add("file", io.stdout)
    ids = {}
    for _, e in ipairs(pool) do
        if e.kind == "buffer" or e.kind == "listener" or e.kind == "state" then
            local ok, id = pcall(function() return e.v:id() end)
            if ok then ids[#ids + 1] = id end
        end
    end
end

local extra = {}   -- objects that fuzz calls returned
local function remember(v)
    local ty = mtmsg.type(v)
    if ty ~= "userdata" and type(v) == "userdata" then
        if #extra < 64 then extra[#extra + 1] = v else extra[math.random(#extra)] = v end
    end
end

local function rand_object()
    if #extra > 0 and math.random(4) == 1 then return extra[math.random(#extra)] end
    return pool[math.random(#pool)].v
end

local function rand_value(depth)
    local r = math.random(100)
    if r <= 8 then return nil
    elseif r <= 12 then return math.random(2) == 1
    elseif r <= 35 then return rand_number()
    elseif r <= 40 then
        -- an id of a pool object, maybe off by a little
        if #ids == 0 then return 0 end
        return ids[math.random(#ids)] + (math.random(4) == 1 and math.random(-2, 2) or 0)
    elseif r <= 58 then return rand_string()
    elseif r <= 62 then
        if (depth or 0) > 1 then return {} end
        local t = { rand_value((depth or 0) + 1), rand_value((depth or 0) + 1) }
        if math.random(3) == 1 then setmetatable(t, hostile_mt) end
        -- tables travel (read raw): also cyclic ones and tables as keys
        if math.random(4) == 1 then rawset(t, "self", t) end
        if math.random(4) == 1 then rawset(t, t, rand_value((depth or 0) + 1) or 0) end
        return t
    elseif r <= 66 then
        local fs = {
            noup1, noup2, noup3, noup4, withup, print, error, mtmsg.newbuffer, tostring, coroutine.wrap(noup1)
        }
        return fs[math.random(#fs)]
    elseif r <= 68 then
        local co = coroutine.create(noup2)
        if math.random(2) == 1 then coroutine.resume(co) end
        return co
    elseif r <= 70 then
        return light or io.stderr
    else
        return rand_object()
    end
end

------------------------------------------------------------------------------
-- Targets
------------------------------------------------------------------------------
local targets = {}
local function add_module(prefix, m)
    local names = {}
    for name, f in pairs(m) do
        if type(f) == "function" then names[#names + 1] = name end
    end
    table.sort(names)
    for _, name in ipairs(names) do
        targets[#targets + 1] = { name = prefix .. "." .. name, f = m[name], module = true }
    end
end
add_module("mtmsg", mtmsg)
add_module("mtthread", mtthread)
if mtstates then add_module("mtstates", mtstates) end

-- methods and metamethods of each class, found from one sample object
build_pool()
local classes_seen = {}
for _, e in ipairs(pool) do
    local class = mtmsg.type(e.v)
    if class ~= "userdata" and not classes_seen[class]
        and (class:find("^mtmsg") or class:find("^mtthread") or class:find("^mtstates")) then
        classes_seen[class] = true
        local mt = debug.getmetatable(e.v)
        local names = {}
        for name, f in pairs(mt.__index or {}) do
            if type(f) == "function" then names[#names + 1] = name end
        end
        for name, f in pairs(mt) do
            if type(f) == "function" then names[#names + 1] = name end
        end
        table.sort(names)
        for _, name in ipairs(names) do
            local f = (mt.__index or {})[name] or mt[name]
            targets[#targets + 1] = { name = class .. ":" .. name, f = f, class = class, method = name }
        end
    end
end
local class_list = {}
for c in pairs(classes_seen) do class_list[#class_list + 1] = c end
table.sort(class_list)
print("  classes: " .. table.concat(class_list, ", ") .. "; targets: " .. #targets)

local function object_of(class)
    local candidates = {}
    for _, e in ipairs(pool) do
        if mtmsg.type(e.v) == class then candidates[#candidates + 1] = e.v end
    end
    for _, v in ipairs(extra) do
        if mtmsg.type(v) == class then candidates[#candidates + 1] = v end
    end
    if #candidates == 0 then return nil end
    return candidates[math.random(#candidates)]
end

------------------------------------------------------------------------------
-- Sanitizing (see the header)
------------------------------------------------------------------------------
local SIZE_TARGETS = {
    ["mtmsg.newbuffer"] = true, ["mtmsg.newwriter"] = true, ["mtmsg.newreader"] = true,
    ["mtmsg.listener:newbuffer"] = true,
}
local BLOCKING = {
    ["mtmsg.buffer:nextmsg"] = 1, ["mtmsg.listener:nextmsg"] = 1, ["mtmsg.reader:nextmsg"] = 2,
    ["mtmsg.buffer:putmsg"] = 1, ["mtmsg.writer:putmsg"] = 2, ["mtmsg.sleep"] = 1,
}
local sanitized = { sizes = 0, timeouts = 0, cycles = 0 }

local function sanitize(t, args, n)
    if SIZE_TARGETS[t.name] then
        for i = 1, n do
            local v = args[i]
            if type(v) == "number" and v == v then
                if v > 1e7 and v < 1e13 then
                    args[i] = 1e13
                    sanitized.sizes = sanitized.sizes + 1
                elseif v > 16 and v < 1e20 and i == n then
                    args[i] = 1e20
                    sanitized.sizes = sanitized.sizes + 1
                end
            end
        end
        -- a grow factor may be any later number: keep them all out of the range
        for i = 1, n do
            local v = args[i]
            if type(v) == "number" and v > 16 and v < 1e20 and v ~= 1e13 then
                args[i] = 1e20
                sanitized.sizes = sanitized.sizes + 1
            end
        end
    end
    local pos = BLOCKING[t.name]
    if pos and t.class then pos = pos + 1 end
    if t.name == "mtmsg.sleep" and (tonumber(args[1]) or 0) > 0.01 then
        -- mtmsg.sleep can only be woken by the global abort: never long
        args[1] = 0.01
        sanitized.timeouts = sanitized.timeouts + 1
    end
    if pos and t.name ~= "mtmsg.sleep" and math.random(200) > 1 then
        -- mostly do not block (the watchdog costs 0.15 s per blocked call)
        local v = args[pos]
        if v == nil or (type(v) == "number" and (v > 0.002 or v ~= v)) then
            args[pos] = (math.random(2) == 1) and 0 or 0.001
            if n < pos then n = pos end
            sanitized.timeouts = sanitized.timeouts + 1
        end
    end
    if t.method == "notifier" and not ALLOW_CYCLES then
        -- only edges to buffers with a higher id: no ">" cycles
        local self, ntf = args[1], args[2]
        if mtmsg.type(self) == "mtmsg.buffer" and mtmsg.type(ntf) == "mtmsg.buffer" and args[3] ~= "<" then
            local ok, ordered = pcall(function() return ntf:id() > self:id() end)
            if not (ok and ordered) then
                args[2] = mtmsg.newbuffer()
                sanitized.cycles = sanitized.cycles + 1
            end
        end
    end
    return n
end

------------------------------------------------------------------------------
-- Main loop
------------------------------------------------------------------------------
local stats = { calls = 0, ok = 0, err = 0, nonstring = 0, wrong_self = 0, gc = 0, pool_rebuilds = 0, max_call = 0 }
local per_target = {}
local error_kinds = {}
local nonstring_examples = {}

local function pack(...) return { n = select("#", ...), ... } end

local t_end = mtmsg.time() + SECONDS
local iter = 0
while iter < ITERS and mtmsg.time() < t_end do
    iter = iter + 1
    if iter % 400 == 0 then
        build_pool()
        extra = {}
        stats.pool_rebuilds = stats.pool_rebuilds + 1
    end
    if iter % 97 == 0 then
        collectgarbage()
        stats.gc = stats.gc + 1
    end
    local t = targets[math.random(#targets)]
    -- explicit __gc calls leave the pool's objects unusable: keep them rare
    while t.method == "__gc" and math.random(10) > 1 do t = targets[math.random(#targets)] end
    local n = math.random(0, 5)
    local args = {}
    local first = 1
    if t.class then
        -- self: usually an object of the class, sometimes anything
        if math.random(10) > 1 then
            args[1] = object_of(t.class)
        else
            args[1] = rand_value()
            stats.wrong_self = stats.wrong_self + 1
        end
        first = 2
        n = n + 1
    end
    for i = first, n do args[i] = rand_value() end
    n = sanitize(t, args, n)
    local tries = 0
    local desc = t.name
    if DESCRIBE then
        local parts = {}
        for i = 1, n do
            local v = args[i]
            local d = type(v) == "string" and string.format("%q", v:sub(1, 20))
                or type(v) == "table" and "table" or select(2, pcall(tostring, v))
            if type(v) == "userdata" then d = mtmsg.type(v) .. "(" .. tostring(select(2, pcall(tostring, v))) .. ")" end
            parts[i] = d
        end
        desc = t.name .. "(" .. table.concat(parts, ", ") .. ")"
    end
    local wake = {}
    for i = 1, n do
        local ty = mtmsg.type(args[i])
        if ty == "mtmsg.buffer" or ty == "mtmsg.listener" then
            local ok, id = pcall(function() return args[i]:id() end)
            if ok then wake[#wake + 1] = (ty == "mtmsg.buffer" and "b" or "l") .. id end
        end
    end
    while not pcall(hb.setmsg, hb, iter, desc, table.concat(wake, " ")) do
        -- aborted by the watchdog (or hb found and aborted by a fuzz call)
        mtmsg.abort(false)
        tries = tries + 1
        S.check(tries < 1000, "the heartbeat buffer is unusable: " .. tostring(hb:isabort()), true)
    end
    local t0 = mtmsg.time()
    local r = pack(pcall(t.f, (table.unpack or unpack)(args, 1, n)))
    local dt = mtmsg.time() - t0
    if mtmsg.isabort() then mtmsg.abort(false) end
    if dt > stats.max_call then stats.max_call = dt end
    stats.calls = stats.calls + 1
    local pt = per_target[t.name]
    if not pt then
        pt = { ok = 0, err = 0 }
        per_target[t.name] = pt
    end
    if r[1] then
        stats.ok = stats.ok + 1
        pt.ok = pt.ok + 1
        for i = 2, r.n do remember(r[i]) end
    else
        stats.err = stats.err + 1
        pt.err = pt.err + 1
        local e = r[2]
        if type(e) ~= "string" then
            -- every error of these modules is a string (hostile metamethods
            -- in the argument pool raise strings too)
            stats.nonstring = stats.nonstring + 1
            if #nonstring_examples < 5 then
                nonstring_examples[#nonstring_examples + 1] = t.name .. " raised a " .. type(e) .. ": " .. tostring(e)
            end
        else
            local kind = e:gsub("0x%x+", "0x"):gsub("%-?%d+", "N"):sub(1, 90)
            error_kinds[kind] = (error_kinds[kind] or 0) + 1
        end
    end
end
mtmsg.abort(false)
hb:setmsg("stop")
local ok_wd, wd = S.join(watchdog, 10)
local rescues = ok_wd and wd[1] or -1

local nkinds = 0
for _ in pairs(error_kinds) do nkinds = nkinds + 1 end
local covered, total_targets, never_ok = 0, #targets, {}
for _, t in ipairs(targets) do
    local pt = per_target[t.name]
    if pt then
        covered = covered + 1
        if pt.ok == 0 then never_ok[#never_ok + 1] = t.name end
    end
end
S.report("fuzz", { "seed", SEED, "iterations", iter, "calls", stats.calls, "results", stats.ok, "errors", stats.err,
    "wrong_self", stats.wrong_self, "targets_covered", covered .. "/" .. total_targets,
    "distinct_error_kinds", nkinds, "non_string_errors", stats.nonstring, "watchdog_rescues", rescues,
    "max_call_s", stats.max_call, "pool_rebuilds", stats.pool_rebuilds, "gc_cycles", stats.gc })
S.report("fuzz sanitized",
    { "sizes", sanitized.sizes, "timeouts", sanitized.timeouts, "notifier_cycles_avoided", sanitized.cycles })
if #never_ok > 0 then print("  targets that never returned normally: " .. table.concat(never_ok, ", ")) end
for _, e in ipairs(nonstring_examples) do print("  non-string error: " .. e) end
if os.getenv("MTMSG_FUZZ_VERBOSE") then
    local kinds = {}
    for k, c in pairs(error_kinds) do kinds[#kinds + 1] = string.format("%7d  %s", c, k) end
    table.sort(kinds)
    for _, k in ipairs(kinds) do print(k) end
end
S.check(stats.nonstring == 0, "mtmsg functions raised non-string errors")
S.check(covered == total_targets, "not every target was called")
S.finish()
