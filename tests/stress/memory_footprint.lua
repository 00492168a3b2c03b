-- Memory footprint of large capacities: a buffer, writer or reader with a
-- large size must not cost that much resident memory (nor the time to touch
-- it) before the bytes are used. The size is a limit and a reservation; the
-- original C module mallocs it, which the kernel backs lazily.
--
-- Known failure (reported): core::memory::ByteArea::make_room grows the
-- physical Vec to the whole logical capacity with `resize(target, 0)`,
-- writing zeros over it: mtmsg.newbuffer(1e9, 0) followed by one small
-- addmsg makes the process resident size grow by 1 GB and takes about a
-- second (writers and readers, and capacity growth by a large grow factor,
-- alike).
local S = require "stresslib"
local mtmsg = require "mtmsg"

S.start("memory_footprint")

local function rss_kb()
    local f = io.open("/proc/self/status")
    if not f then return nil end
    local v
    for line in f:lines() do
        local n = line:match("^VmRSS:%s*(%d+)")
        if n then v = tonumber(n) end
    end
    f:close()
    return v
end

if not rss_kb() then
    error("/proc/self/status has no VmRSS: cannot measure the footprint")
end

local SIZE = 1e9
local LIMIT_KB = 64 * 1024
local cases = {
    { "newbuffer(1e9, 0):addmsg(1)", function()
        local b = mtmsg.newbuffer(SIZE, 0)
        assert(b:addmsg(1))
        return b
    end },
    { "newwriter(1e9, 0):add(1)", function()
        local w = mtmsg.newwriter(SIZE, 0)
        w:add(1)
        return w
    end },
    { "newreader(1e9, 0):nextmsg(b)", function()
        local b = mtmsg.newbuffer()
        b:addmsg(1)
        local r = mtmsg.newreader(SIZE, 0)
        assert(r:nextmsg(b, 0))
        return r
    end },
    { "newbuffer(1024, 1e6) growing once", function()
        local b = mtmsg.newbuffer(1024, 1e6)
        assert(b:addmsg(string.rep("x", 2000)))
        return b
    end },
}
local bad = 0
for _, case in ipairs(cases) do
    collectgarbage()
    local before = rss_kb()
    local t0 = mtmsg.time()
    local ok, keep = pcall(case[2])
    local dt = mtmsg.time() - t0
    local grew = rss_kb() - before
    S.report(case[1], { "ok", ok, "seconds", dt, "rss_growth_MB", string.format("%.1f", grew / 1024) })
    if ok and grew > LIMIT_KB then bad = bad + 1 end
    S.check(ok or tostring(keep):find("out_of_memory", 1, true), case[1] .. ": " .. tostring(keep))
    keep = nil -- luacheck: ignore 311 (GC drop)
    collectgarbage()
end
S.check(bad == 0, bad .. " case(s) made the resident size grow by more than " .. math.floor(LIMIT_KB / 1024) .. " MB")
S.finish()
