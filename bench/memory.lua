-- benches: mem_buffers mem_messages mem_states
-- Resident memory growth (RSS from /proc/self/statm, after two full garbage
-- collections before each reading): mem_buffers = 10,000 empty buffers kept
-- referenced; mem_messages = one buffer holding 1e6 messages
-- b:addmsg("abc", i); mem_states = 1,000 idle states
-- mtstates.newstate(function() return function() end end) (standard
-- libraries; the setup function must return the callback) kept referenced.
--
-- `lua memory.lua` runs each measurement in a fresh process (the same
-- interpreter with the same options, found in arg[-n]) and relays its line;
-- `lua memory.lua NAME` runs the measurement NAME in this process. Prints
--   bench=NAME ops=N bytes=B bytes_per_op=X page_size=P
-- (no ops_per_s: bench/run treats a line with bytes= and no ops_per_s as a
-- memory measurement).
local B = dofile(((arg and arg[0] or ""):match("^(.*[/\\])") or "") .. "common.lua")

local NAMES = { "mem_buffers", "mem_messages", "mem_states" }

local function shell_quote(s)
    return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- No measurement named: one child process per measurement.
local which = arg and arg[1]
if not which then
    local lowest = 0
    while arg[lowest - 1] ~= nil do lowest = lowest - 1 end
    assert(lowest < 0, "memory.lua: cannot tell the interpreter (arg[-1] is missing)")
    local cmd = {}
    for i = lowest, 0 do cmd[#cmd + 1] = shell_quote(arg[i]) end
    cmd = table.concat(cmd, " ")
    for _, name in ipairs(NAMES) do
        local p = assert(io.popen(cmd .. " " .. name, "r"))
        local out = p:read("*a")
        local ok, how, code = p:close()
        local line = out:match("(bench=" .. name .. " [^\n]*)")
        if not line or (ok == nil and how ~= nil) then
            error(string.format("%s: the child process failed (%s %s)%s", name,
                                tostring(how), tostring(code),
                                line and "" or ": no result line"))
        end
        io.write(line, "\n")
        io.stdout:flush()
    end
    return
end

-- The page size: BENCH_PAGE_SIZE, else the kernel page size of the first
-- mapping in /proc/self/smaps (the unit of statm), else 4096.
local function page_size()
    local env = tonumber(os.getenv("BENCH_PAGE_SIZE") or "")
    if env then return env end
    local f = io.open("/proc/self/smaps")
    if f then
        for line in f:lines() do
            local kb = line:match("^KernelPageSize:%s*(%d+)%s*kB")
            if kb then f:close() return tonumber(kb) * 1024 end
        end
        f:close()
    end
    return 4096
end
local PAGE = page_size()

local function collect()
    collectgarbage("collect")
    collectgarbage("collect")
end

-- Resident set size in bytes (second field of /proc/self/statm, in pages).
local function rss()
    collect()
    local f = assert(io.open("/proc/self/statm"))
    local line = f:read("*l")
    f:close()
    local pages = line and line:match("^%d+%s+(%d+)")
    return assert(tonumber(pages), "cannot read /proc/self/statm") * PAGE
end

-- A list pre-sized to n slots, so that keeping n objects adds no table growth.
local function slots(n)
    local t = {}
    for i = 1, n do t[i] = false end
    return t
end

-- setup() builds what is not counted (warm-up objects, holders); fill(ctx)
-- makes the n objects counted.
local function measure(name, n, setup, fill)
    local ctx = setup(n)
    local before = rss()
    fill(ctx, n)
    local after = rss()
    local bytes = after - before
    io.write(string.format("bench=%s ops=%d bytes=%d bytes_per_op=%.6g page_size=%d rss_before=%d\n",
                           name, n, bytes, bytes / n, PAGE, before))
    io.stdout:flush()
    return ctx   -- still referenced until here
end

local function mem_buffers()
    local mtmsg = require "mtmsg"
    local keep = measure("mem_buffers", B.n(1e4),
        function(n)
            return { warm = mtmsg.newbuffer(), list = slots(n) }
        end,
        function(ctx, n)
            local list = ctx.list
            for i = 1, n do list[i] = mtmsg.newbuffer() end
        end)
    assert(keep.list[#keep.list]:msgcnt() == 0, "wrong buffer")
end

local function mem_messages()
    local mtmsg = require "mtmsg"
    local keep = measure("mem_messages", B.n(1e6),
        function()
            local b = mtmsg.newbuffer()
            b:addmsg("abc", 0)            -- warm-up
            assert(b:nextmsg() == "abc", "wrong message")
            return { buffer = b }
        end,
        function(ctx, n)
            local b = ctx.buffer
            for i = 1, n do b:addmsg("abc", i) end
        end)
    assert(keep.buffer:msgcnt() == B.n(1e6), "messages lost (a bounded buffer?)")
end

local function mem_states()
    local mtstates = require "mtstates"
    -- Both implementations require the setup function to return the
    -- state's callback: the smallest one.
    local function setup() return function() end end
    local keep = measure("mem_states", B.n(1e3),
        function(n)
            return { warm = mtstates.newstate(setup), list = slots(n) }
        end,
        function(ctx, n)
            local list = ctx.list
            for i = 1, n do list[i] = mtstates.newstate(setup) end
        end)
    for _, st in ipairs(keep.list) do st:close() end
    keep.warm:close()
end

local run = ({ mem_buffers = mem_buffers, mem_messages = mem_messages,
               mem_states = mem_states })[which]
if not run then
    error("memory.lua: unknown measurement '" .. which .. "' (one of " .. table.concat(NAMES, ", ") .. ")")
end
run()
