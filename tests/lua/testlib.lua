-- Minimal test helpers for the Lua test scripts (no dependencies).
-- A script passes when it runs to the end; every failed check raises.
local T = {}

local checks = 0

-- How much slower than native this run is: MTMSG_TEST_SLOWDOWN (ci/valgrind
-- sets it under memcheck and ThreadSanitizer, which slow threads down by
-- one or two orders of magnitude). Only the limits that tell a hang from a
-- slow thread are scaled; a real hang still fails, just later.
T.slowdown = tonumber(os.getenv("MTMSG_TEST_SLOWDOWN") or "") or 1

-- `secs` seconds as a hang limit, scaled by T.slowdown.
function T.hang_limit(secs)
    return secs * T.slowdown
end

local function fail(msg, level)
    error(msg, (level or 1) + 2)
end

function T.check(cond, msg)
    checks = checks + 1
    if not cond then fail("check failed: " .. tostring(msg or "")) end
    return cond
end

local function show(v)
    if type(v) == "string" then return string.format("%q", v) end
    return tostring(v)
end

function T.eq(actual, expected, msg)
    checks = checks + 1
    if actual ~= expected and not (actual ~= actual and expected ~= expected) then
        fail(string.format("%sexpected %s, got %s", msg and (msg .. ": ") or "", show(expected), show(actual)))
    end
end

-- Packs results with their count: T.pack(f()) -> {n = select("#", ...), ...}
function T.pack(...)
    return { n = select("#", ...), ... }
end

-- Checks the exact number and values of results.
function T.results(packed, ...)
    local want = T.pack(...)
    T.eq(packed.n, want.n, "number of results")
    for i = 1, want.n do T.eq(packed[i], want[i], "result #" .. i) end
end

-- Runs f, expects an error whose string contains `pattern` (plain find
-- unless `is_pattern`); returns the error message.
function T.raises(f, pattern, is_pattern)
    checks = checks + 1
    local ok, err = pcall(f)
    if ok then fail("expected an error containing " .. show(pattern)) end
    local s = tostring(err)
    if pattern and not s:find(pattern, 1, not is_pattern) then
        fail("error " .. show(s) .. " does not contain " .. show(pattern))
    end
    return s
end

-- Runs f, expects an error equal to `expected`.
function T.raises_exactly(f, expected)
    checks = checks + 1
    local ok, err = pcall(f)
    if ok then fail("expected the error " .. show(expected)) end
    if err ~= expected then fail("error " .. show(err) .. " is not " .. show(expected)) end
end

function T.near(actual, expected, tolerance, msg)
    checks = checks + 1
    if math.abs(actual - expected) > tolerance then
        fail(string.format("%s%s is not within %s of %s", msg and (msg .. ": ") or "", actual, tolerance, expected))
    end
end

T.lua51 = _VERSION == "Lua 5.1"
T.lua52 = _VERSION == "Lua 5.2"
T.luajit = type(jit) == "table"
-- Lua 5.3+ with a separate integer subtype
T.has_integers = math.type ~= nil

-- luv (libuv's Lua binding, Debian's lua-luv, found through LUA_CPATH) for
-- the event-loop checks, or nil where it cannot be had: Debian has no luv
-- for Lua 5.5 (said on stdout); elsewhere a missing luv fails the test in
-- CI (MTMSG_CI_STRICT=1) and is reported as skipped on a developer machine.
function T.luv()
    local ok, uv = pcall(require, "luv")
    if ok then return uv end
    if _VERSION == "Lua 5.5" then
        print("no luv for Lua 5.5 (Debian packages it for 5.1-5.4): event-loop checks not run")
        return nil
    end
    if os.getenv("MTMSG_CI_STRICT") == "1" then
        error("luv is missing (apt-get install lua-luv): " .. tostring(uv), 2)
    end
    print("SKIP event-loop checks: luv is missing (apt-get install lua-luv)")
    return nil
end

-- The number of open file descriptors of this process (Linux /proc) whose
-- target contains `kind` (all if nil), and what they are (one line each,
-- for failure messages).
function T.open_fds(kind)
    local stat = assert(io.open("/proc/self/stat"))
    local pid = stat:read("*l"):match("^(%d+)")
    stat:close()
    local ls = assert(io.popen("ls -l /proc/" .. pid .. "/fd"))
    local n, lines = 0, {}
    for line in ls:lines() do
        local fd, target = line:match("(%d+) %-> (.*)$")
        if fd and (not kind or target:find(kind, 1, true)) then
            n = n + 1
            lines[#lines + 1] = fd .. " -> " .. target
        end
    end
    ls:close()
    return n, table.concat(lines, "\n")
end

-- Collects garbage until the count of open descriptors of `kind` is the
-- same over three full collections (finalizers that close descriptors may
-- run some collections late); returns it and the listing.
function T.settled_fds(kind)
    local n, list = T.open_fds(kind)
    local same = 0
    for _ = 1, 50 do
        collectgarbage()
        local m, l = T.open_fds(kind)
        if m == n then same = same + 1 else same = 0 end
        n, list = m, l
        if same == 3 then break end
    end
    return n, list
end

function T.done(name)
    print(string.format("%s: %d checks passed", name or arg and arg[0] or "test", checks))
end

return T
