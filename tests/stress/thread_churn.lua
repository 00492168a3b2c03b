-- 1,000 short-lived threads (waves of 8) that each load the modules in a
-- fresh Lua state, use shared buffers and a listener, make and drop their own
-- objects, sometimes raise, sometimes leave a detached grandchild thread
-- running, and exit (closing their state, which unloads the module as far
-- as Lua is concerned) -- while background threads keep using buffers.
-- Checks: every churn thread's message arrives exactly once, background
-- traffic is exact, nothing hangs or crashes (library unload safety).
local S = require "stresslib"
local mtmsg = require "mtmsg"

S.start("thread_churn")

-- phase 1: 1,000 threads in waves of 8; phase 2: 3,000 more in waves of 32
local PHASES = { { S.scaled(1000, 16), 8 }, { S.scaled(8000, 16), 32 } }
local TOTAL = PHASES[1][1] + PHASES[2][1]
local has_states = S.mtstates() ~= nil

local shared = mtmsg.newbuffer("churn-shared")
local lst = mtmsg.newlistener("churn-listener")
local lbuf = lst:newbuffer("churn-lbuf")
local stop = mtmsg.newbuffer()
local bg_out = mtmsg.newbuffer()

local function churn(i, shared_id, lbuf_id, use_states)
    local mtmsg = require "mtmsg"
    local b = mtmsg.buffer(shared_id)
    -- by name too (the registry is hammered by many states at once)
    local b2 = mtmsg.buffer("churn-shared")
    assert(b2:id() == shared_id)
    assert(b:addmsg("churn", i, string.rep("x", i % 300)))
    local lb = mtmsg.buffer(lbuf_id)
    assert(lb:addmsg("l", i))
    -- own objects, used and dropped (or left to lua_close)
    local own = mtmsg.newbuffer("churn-own-" .. i, 64, i % 2)
    for k = 1, 5 do own:addmsg(k, i) end
    for k = 1, 5 do
        local a, c = own:nextmsg(0)
        assert(a == k and c == i)
    end
    local l = mtmsg.newlistener()
    local x = l:newbuffer()
    x:addmsg("x")
    assert(l:nextmsg(0) == "x")
    local w, r = mtmsg.newwriter(), mtmsg.newreader()
    w:add(i, "w")
    w:addmsg(own)
    assert(r:nextmsg(own, 0))
    assert(r:next() == i)
    if i % 3 == 0 then
        -- leave references alive: collected by lua_close at thread end
        _G.keep = { own, l, x, w, r, b, lb }
    elseif i % 3 == 1 then
        own:close()
        l:close()
    end
    if use_states then
        local mtstates = require "mtstates"
        local s = mtstates.newstate("return function(x) return x + 1 end")
        assert(s:call(i) == i + 1)
        if i % 2 == 0 then s:close() end
    end
    if i % 11 == 0 then
        -- a detached grandchild: its thread object is collected while it runs
        local mtthread = require "mtthread"
        local g = mtthread.new(function(i, shared_id)
            local mtmsg = require "mtmsg"
            mtmsg.sleep(0.002)
            mtmsg.buffer(shared_id):addmsg("grand", i, "")
        end, i, shared_id)
        g:start()
    end
    if i % 7 == 0 then
        error("deliberate error " .. i)
    end
    return i
end

-- Background: keeps using buffers (and a listener) while states come and go.
local function background(k, stop_id, out_id)
    local mtmsg = require "mtmsg"
    local stop = mtmsg.buffer(stop_id)
    local out = mtmsg.buffer(out_id)
    local l = mtmsg.newlistener()
    local bufs = { l:newbuffer(), l:newbuffer(), l:newbuffer() }
    local own = mtmsg.newbuffer(32, 0)
    local rounds, msgs = 0, 0
    while stop:msgcnt() == 0 do
        rounds = rounds + 1
        for j = 1, 3 do bufs[j]:addmsg(k, rounds, j) end
        for j = 1, 3 do
            local kk, rr, jj = l:nextmsg(1)
            assert(kk == k and rr == rounds and jj == j, "background listener order")
            msgs = msgs + 1
        end
        if own:addmsg(rounds) then
            assert(own:nextmsg(0) == rounds)
            msgs = msgs + 1
        end
        out:addmsg(k, rounds)
    end
    return rounds, msgs
end

local bgs = {}
for k = 1, 2 do bgs[k] = S.thread(background, k, stop:id(), bg_out:id()) end

local started, joined_ok, deliberate, other_errors, hangs = 0, 0, 0, 0, 0
local t0 = mtmsg.time()
local i = 0
for _, phase in ipairs(PHASES) do
    local last = i + phase[1]
    local WAVE = phase[2]
    while i < last do
        local wave = {}
        for j = 1, math.min(WAVE, last - i) do
            i = i + 1
            wave[j] = { i, S.thread(churn, i, shared:id(), lbuf:id(), has_states) }
            started = started + 1
        end
        for _, e in ipairs(wave) do
            local ok, r = S.join(e[2], 20)
            if ok then
                joined_ok = joined_ok + 1
                S.check(r[1] == e[1], "churn thread " .. e[1] .. " returned " .. tostring(r[1]))
            elseif ok == nil then
                hangs = hangs + 1
                S.check(false, "churn thread " .. e[1] .. " HANG")
            elseif tostring(r):find("deliberate error " .. e[1], 1, true) then
                deliberate = deliberate + 1
            else
                other_errors = other_errors + 1
                S.check(false, "churn thread " .. e[1] .. " raised: " .. tostring(r))
            end
        end
        -- keep the main state's garbage (thread objects) moving too
        if i % 64 == 0 then collectgarbage() end
    end
end
local churn_time = mtmsg.time() - t0

-- Grandchildren are detached: wait (bounded) for their messages.
local expected_grand = math.floor(TOTAL / 11)
local seen, grand, lost, dup, bad = {}, {}, 0, 0, 0
local got_churn, got_grand = 0, 0
local deadline = mtmsg.time() + 10
while got_churn < TOTAL or got_grand < expected_grand do
    local left = deadline - mtmsg.time()
    if left <= 0 then break end
    local kind, n, s = shared:nextmsg(left)
    if kind == "churn" then
        got_churn = got_churn + 1
        if seen[n] then dup = dup + 1 end
        seen[n] = true
        if s ~= string.rep("x", n % 300) then bad = bad + 1 end
    elseif kind == "grand" then
        got_grand = got_grand + 1
        if grand[n] then dup = dup + 1 end
        grand[n] = true
    elseif kind ~= nil then
        bad = bad + 1
    end
end
for n = 1, TOTAL do if not seen[n] then lost = lost + 1 end end
for n = 11, TOTAL, 11 do if not grand[n] then lost = lost + 1 end end
-- the listener copy of every churn message
local lseen, lcount = {}, 0
while true do
    local tag, n = lst:nextmsg(0)
    if tag == nil then break end
    lcount = lcount + 1
    if tag ~= "l" or lseen[n] then dup = dup + 1 end
    lseen[n] = true
end
for n = 1, TOTAL do if not lseen[n] then lost = lost + 1 end end

stop:addmsg("stop")
local bg_results = S.join_all(bgs, 20, "background")
local bg_rounds, bg_msgs = 0, 0
for _, r in pairs(bg_results) do
    bg_rounds = bg_rounds + (r[1] or 0)
    bg_msgs = bg_msgs + (r[2] or 0)
end
-- every background round left one message in bg_out, in order per thread
local last, bg_lost = { 0, 0 }, 0
while true do
    local k, r = bg_out:nextmsg(0)
    if k == nil then break end
    if r ~= last[k] + 1 then bg_lost = bg_lost + 1 end
    last[k] = r
end
S.check(last[1] + last[2] == bg_rounds, "background rounds " .. bg_rounds .. " vs messages " .. (last[1] + last[2]))

S.report("churn", {
    "threads", started, "waves", PHASES[1][1] .. "x8+" .. PHASES[2][1] .. "x32", "ok", joined_ok,
    "deliberate_errors", deliberate, "other_errors", other_errors, "hangs", hangs,
    "grandchildren", got_grand .. "/" .. expected_grand,
    "seconds", churn_time, "threads_per_s", started / churn_time })
S.report("messages", { "churn", got_churn, "listener", lcount, "lost", lost, "duplicated", dup, "corrupt", bad })
S.report("background", { "threads", #bgs, "rounds", bg_rounds, "messages", bg_msgs, "lost", bg_lost })
S.check(joined_ok + deliberate == TOTAL, "every churn thread finished")
S.check(deliberate == math.floor(TOTAL / 7), "deliberate errors: " .. deliberate)
S.check(lost == 0, "lost messages: " .. lost)
S.check(dup == 0, "duplicated messages: " .. dup)
S.check(bad == 0, "corrupt messages: " .. bad)
S.check(bg_lost == 0, "background messages lost/out of order: " .. bg_lost)
S.check(shared:msgcnt() == 0 and lbuf:msgcnt() == 0, "buffers drained")
-- the churn threads' own named buffers are all gone (collected or closed
-- with their states), except that closed ones are also gone once unreferenced
local found = 0
for n = 1, TOTAL do
    if pcall(mtmsg.buffer, "churn-own-" .. n) then found = found + 1 end
end
S.check(found == 0, "buffers of finished threads still registered: " .. found)
------------------------------------------------------------------------------
-- Unload: a child interpreter starts threads that run module code, then
-- makes its main state dlclose its C libraries right away (what lua_close
-- does; here by running the loader's __gc by hand), then waits while the
-- threads run, finish and close their own states (the last Lua handles on
-- the library) and the thread runner goes on in library code, then joins
-- them. Without the library pinning itself this crashes (unmapped code).
------------------------------------------------------------------------------
local CHILD = [==[
local mtthread = require "mtthread"
local function maps()
    local f = io.open("/proc/self/maps")
    if not f then return -1 end
    local n = 0
    for line in f:lines() do if line:find("mtmsg", 1, true) or line:find("mtthread", 1, true) then n = n + 1 end end
    f:close()
    return n
end
local ts = {}
for i = 1, 8 do
    ts[i] = mtthread.new(function(i)
        local mtmsg = require "mtmsg"
        local b = mtmsg.newbuffer()
        local t, n = mtmsg.time() + 0.3 + i * 0.05, 0
        while mtmsg.time() < t do
            b:addmsg(i, n)
            assert(b:nextmsg(0) == i)
            n = n + 1
        end
        return n
    end, i)
    ts[i]:start()
end
local before = maps()
-- dlclose every C library of this state now (the handles table's __gc)
local unloaded = 0
for k, v in pairs(debug.getregistry()) do
    if type(v) == "table" then
        local mt = getmetatable(v)
        local is_clibs = false
        for kk, vv in pairs(v) do
            if type(kk) == "string" and kk:find("%.so$") and type(vv) == "userdata" then is_clibs = true end
        end
        if is_clibs and mt and mt.__gc then
            mt.__gc(v)
            for kk in pairs(v) do v[kk] = nil end
            unloaded = unloaded + 1
        end
    elseif type(k) == "string" and k:find("^LOADLIB: ") then
        local mt = getmetatable(v)
        if mt and mt.__gc then mt.__gc(v); unloaded = unloaded + 1 end
    end
end
local after = maps()
-- wait (without calling the library) until every thread has ended
local t0 = os.time()
while os.time() - t0 < 2 do end
local total = 0
for i = 1, 8 do
    local ok, n = ts[i]:join(10)
    assert(ok == true, "thread " .. i .. ": " .. tostring(n))
    total = total + n
end
print(string.format("unloaded=%d maps_before=%d maps_after_unload=%d maps_end=%d ops=%d",
    unloaded, before, after, maps(), total))
]==]
do
    local interp = arg and arg[-1]
    local path = os.tmpname()
    local f = io.open(path, "w")
    f:write(CHILD)
    f:close()
    local runs, ok_runs, last = S.scaled(3, 1), 0, ""
    for _ = 1, runs do
        local p = io.popen(string.format("'%s' '%s' 2>&1; echo \"exit=$?\"", interp, path))
        local out = p:read("*a")
        p:close()
        if out:find("exit=0", 1, true) and out:find("unloaded=", 1, true) then
            ok_runs = ok_runs + 1
            last = out:match("(unloaded=[^\n]*)")
        else
            S.check(false, "unload child failed: " .. out)
        end
    end
    os.remove(path)
    S.report("unload",
        { "children", runs, "ok", ok_runs, "threads_per_child", 8, "last", "[" .. tostring(last) .. "]" })
    S.check(last == "" or not last:find("unloaded=0 ", 1, true), "the child found no C library handles to unload")
end

S.finish()
