-- Tables as values (issue 13, our extension): round trips through buffers,
-- listeners, writers and readers, state calls and setups, thread arguments
-- and results; sharing and cycles; raw reads without metatables; every
-- rejection with its path and nothing stored; the nesting limit; sizes
-- counted toward fixed capacities. Threads are real OS threads (mtthread),
-- each with its own lua_State.
local T = require "testlib"
local H = require "lnw_helpers"
local mtmsg = require "mtmsg"
local mtstates = require "mtstates"

local argerr = H.argerr
local unpack = table.unpack or unpack

-- Deep structural equality (keys compared by value; tables as keys are
-- matched by their contents' `same`, which the tests below avoid needing).
local function same(a, b, seen)
    if type(a) ~= "table" or type(b) ~= "table" then
        if a ~= a and b ~= b then return true end -- NaN
        return a == b and math.type == nil or a == b and math.type(a) == math.type(b)
    end
    seen = seen or {}
    if seen[a] then return seen[a] == b end
    seen[a] = b
    for k, v in next, a do
        if type(k) ~= "table" and not same(v, rawget(b, k), seen) then return false end
    end
    for k in next, b do
        if type(k) ~= "table" and rawget(a, k) == nil then return false end
    end
    return true
end

local function count(t)
    local n = 0
    for _ in next, t do n = n + 1 end
    return n
end

local record = { name = "widget", id = 42, price = 9.5, tags = { "a", "b" }, ok = true, big = 2 ^ 40,
    neg = -7, long = string.rep("x", 300) .. "\0tail", [1] = "one", [2.5] = "two and a half", [true] = false,
    [-1] = "minus one" }
local holes = { 1, nil, 3, nil, 5, n = 5 }
local list = {}
for i = 1, 1000 do list[i] = i * 3 end

-- ---------------------------------------------------------------- buffer round trips
do
    local b = mtmsg.newbuffer()
    for _, t in ipairs({ {}, record, holes, list, { {}, { {} } }, { a = { b = { c = { d = "deep" } } } } }) do
        b:addmsg(t)
        local r = b:nextmsg()
        T.check(type(r) == "table" and r ~= t, "a new table arrives")
        T.check(same(t, r), "same contents")
        T.eq(count(r), count(t), "same number of entries")
    end
    -- the issue's example, and the values around a table are intact
    b:addmsg(1, { x = 1, list = { 1, 2, 3 } }, "after")
    local a, t, c = b:nextmsg()
    T.eq(a, 1); T.eq(c, "after"); T.eq(t.x, 1); T.eq(#t.list, 3); T.eq(t.list[3], 3)
    if math.type then
        b:addmsg({ 1, 1.0, 2 ^ 53, -0.0 })
        local r = b:nextmsg()
        T.eq(math.type(r[1]), "integer"); T.eq(math.type(r[2]), "float", "float subtype kept")
        T.eq(1 / r[4], -math.huge, "-0.0 kept")
    end
    -- light userdata and C functions travel inside tables too
    b:addmsg({ f = mtmsg.time })
    local r = b:nextmsg()
    T.eq(type(r.f), "function"); T.near(r.f(), mtmsg.time(), 5)
    -- nextmsg into the same stack many times: no stack growth
    for i = 1, 2000 do b:addmsg({ i, { i } }) end
    for i = 1, 2000 do local r = b:nextmsg(); T.check(r[1] == i and r[2][1] == i) end
    -- setmsg replaces with a table
    b:addmsg("old"); b:setmsg({ "new" })
    T.eq(b:msgcnt(), 1); T.eq(b:nextmsg()[1], "new")
end

-- ---------------------------------------------------------------- sharing and cycles
do
    local b = mtmsg.newbuffer()
    local shared = { "shared" }
    local t = { a = shared, b = shared, list = { shared, shared } }
    t.self = t
    t[t] = "table as its own key"
    t[shared] = shared
    b:addmsg(t, "mid", shared, t)
    local r, mid, s2, r2 = b:nextmsg()
    T.eq(mid, "mid")
    T.check(s2 ~= r.a and s2[1] == "shared", "sharing is kept within one value: another value is another copy")
    T.check(r2 ~= r and r2.self == r2 and r2.a == r2.b, "the same table as two values: two copies, each intact")
    T.check(r.a == r.b and r.a == r.list[1] and r.list[1] == r.list[2], "a shared subtable arrives once")
    T.eq(r.a[1], "shared")
    T.check(r.self == r, "a cycle survives")
    T.eq(r[r], "table as its own key")
    T.check(r[r.a] == r.a, "a shared table as key and value")
    -- two messages: two copies
    b:addmsg(shared); b:addmsg(shared)
    T.check(b:nextmsg() ~= b:nextmsg(), "separate messages give separate tables")
    -- a long cycle
    local ring = {}
    local node = ring
    for i = 1, 150 do node.next = { i = i }; node = node.next end
    node.next = ring
    b:addmsg(ring)
    local rr = b:nextmsg()
    local n = rr
    for _ = 1, 151 do n = n.next end
    T.check(n == rr, "a ring of 151 tables comes back as a ring")
end

-- ---------------------------------------------------------------- raw reads, no metatables
do
    local b = mtmsg.newbuffer()
    local mt = {
        __index = function() return "from __index" end,
        __len = function() return 99 end,
        __pairs = function() error("__pairs must not be called") end,
        __newindex = function() error("__newindex must not be called") end,
    }
    local t = setmetatable({ real = 1, 10, 20 }, mt)
    b:addmsg(t)
    local r = b:nextmsg()
    T.eq(getmetatable(r), nil, "metatables are not carried")
    T.eq(r.real, 1); T.eq(r.missing, nil, "no __index on the copy")
    T.eq(#r, 2); T.eq(count(r), 3)
    -- a protected metatable does not hide the contents either
    b:addmsg(setmetatable({ x = 1 }, { __metatable = "locked" }))
    T.eq(b:nextmsg().x, 1)
end

-- ---------------------------------------------------------------- rejections store nothing
do
    local b = mtmsg.newbuffer()
    b:addmsg("keep")
    local co = coroutine.create(function() end)
    local P = "parameter type not supported"
    argerr(function() b:addmsg({ cb = function() end }) end, 1, "addmsg", P .. ': function at key "cb"')
    argerr(function() b:addmsg(1, { x = { y = { co } } }) end, 2, "addmsg", P .. ': thread at key "x" > "y" > 1')
    argerr(function() b:addmsg({ f = io.stdout }) end, 1, "addmsg", P .. ': userdata at key "f"')
    argerr(function() b:addmsg({ f = b }) end, 1, "addmsg", P .. ': userdata at key "f"')
    argerr(function() b:addmsg({ [function() end] = 1 }) end, 1, "addmsg", P .. ": function as a key")
    argerr(function() b:addmsg({ k = { [co] = 1 } }) end, 1, "addmsg", P .. ': thread as a key at key "k"')
    argerr(function() b:addmsg({ [{ print = function() end }] = 1 }) end, 1, "addmsg",
        P .. ': function at key (table) > "print"')
    argerr(function() b:addmsg({ [2.5] = { [true] = { function() end } } }) end, 1, "addmsg",
        P .. ": function at key 2.5 > true > 1")
    argerr(function() b:setmsg({ mtmsg.time, function() end }) end, 1, "setmsg", P .. ": function at key 2")
    -- a long key is cut short in the message
    argerr(function() b:addmsg({ [string.rep("k", 100)] = function() end }) end, 1, "addmsg",
        P .. ': function at key "' .. string.rep("k", 40) .. '..."')
    T.eq(b:msgcnt(), 1, "nothing stored")
    T.eq(b:nextmsg(), "keep", "nothing replaced by the failed setmsg")
    -- a cycle with a bad value in it is still reported (and terminates)
    local cyc = {}
    cyc.me = cyc
    cyc.bad = function() end
    argerr(function() b:addmsg(cyc) end, 1, "addmsg", P .. ': function at key "bad"')
    T.eq(b:msgcnt(), 0)
    -- writers: nothing appended on error
    local w = mtmsg.newwriter()
    w:add("a")
    argerr(function() w:add({ 1 }, { mtmsg.time, function() end }) end, 2, "add", P .. ": function at key 2")
    w:add({ "b" })
    T.check(w:addmsg(b))
    local x, y, z = b:nextmsg()
    T.eq(x, "a"); T.eq(y[1], "b"); T.eq(z, nil)
end

-- ---------------------------------------------------------------- nesting limit
do
    local b = mtmsg.newbuffer()
    local function nest(levels)
        local top = {}
        local t = top
        for _ = 2, levels do t.a = {}; t = t.a end
        t.leaf = "leaf"
        return top
    end
    T.check(b:addmsg(nest(200)), "200 levels travel")
    local r = b:nextmsg()
    local depth = 1
    while r.a do r = r.a; depth = depth + 1 end
    T.eq(depth, 200); T.eq(r.leaf, "leaf")
    local DEEP = "tables nested more than 200 levels deep"
    argerr(function() b:addmsg(nest(201)) end, 1, "addmsg", DEEP .. ' at key "a" > "a" > "a" > ... > "a" > "a" > "a"')
    argerr(function() b:addmsg(0, { x = nest(200) }) end, 2, "addmsg",
        DEEP .. ' at key "x" > "a" > "a" > ... > "a" > "a" > "a"')
    -- far beyond the limit: a clean error, no C stack overflow
    argerr(function() b:addmsg(nest(100000)) end, 1, "addmsg",
        DEEP .. ' at key "a" > "a" > "a" > ... > "a" > "a" > "a"')
    T.eq(b:msgcnt(), 0)
    local s = mtstates.newstate("return function(t) return t end")
    T.check(s:call(nest(200)).a, "200 levels through a state")
    T.raises(function() s:call(nest(201)) end, "tables nested more than 200 levels deep")
end

-- ---------------------------------------------------------------- sizes (fixed buffers stay exact)
do
    -- a table: 14 bytes + its keys and values; a repeated table: 5 bytes;
    -- the message header: 1 byte below 255 element bytes
    local function fits(size, ...)
        local b = mtmsg.newbuffer(size, 0)
        local ok = pcall(b.addmsg, b, ...)
        return ok
    end
    local cases = {
        { 15, {} },
        { 19, { 1 } },                       -- 14 + key 1 (2) + value 1 (2)
        { 20, { x = 1 } },                   -- 14 + "x" (3) + 1 (2)
        { 37, { x = 1, y = { } } },          -- 14 + 5 + "y" (3) + {} (14)
        { 36, { {}, "s" } },                 -- 14 + (2 + 14) + (2 + 3)
    }
    local t = {}
    cases[#cases + 1] = { 38, { t, t } }    -- 14 + (2 + 14) + (2 + 5)
    local c = {}
    c.c = c
    cases[#cases + 1] = { 23, c }           -- 14 + "c" (3) + reference (5)
    cases[#cases + 1] = { 1 + 14 + 14, t, t } -- two values: two tables
    for i, case in ipairs(cases) do
        local size = case[1]
        T.check(fits(size, unpack(case, 2)), "case " .. i .. " fits in " .. size)
        T.check(not fits(size - 1, unpack(case, 2)),
            "case " .. i .. " does not fit in " .. (size - 1))
    end
    -- a fixed writer counts the same bytes
    local w = mtmsg.newwriter(14, 0)
    w:add({})
    T.raises(function() w:add(1) end, "mtmsg.error.message_size")
end

-- ---------------------------------------------------------------- listeners, writers, readers
do
    local l = mtmsg.newlistener()
    local b = l:newbuffer()
    b:addmsg({ via = "listener" }, 2)
    local t, two = l:nextmsg()
    T.eq(t.via, "listener"); T.eq(two, 2)
    local w, r = mtmsg.newwriter(), mtmsg.newreader()
    local shared = { 7 }
    w:add(shared, "x")
    w:add({ shared })
    T.check(w:addmsg(b))
    T.check(r:nextmsg(b))
    local a = r:next()
    local x, c = r:next(2)
    T.eq(a[1], 7); T.eq(x, "x"); T.eq(c[1][1], 7)
    T.check(c[1] ~= a, "separate values, separate copies")
    -- values with shared tables written by separate add calls and read one
    -- by one: each value is self-contained
    local s1 = { "s1" }
    local s2 = { "s2" }
    w:add({ s1, s1 }, 0)
    w:add({ s2, { s2 } })
    T.check(w:addmsg(b))
    T.check(r:nextmsg(b))
    local v1 = r:next()
    T.check(v1[1] == v1[2] and v1[1][1] == "s1")
    T.eq(r:next(), 0)
    local v3 = r:next()
    T.check(v3[1] == v3[2][1] and v3[1][1] == "s2")
    T.eq(r:next(), nil)
    T.eq(r:next(), nil)
end

-- ---------------------------------------------------------------- states
do
    local s, extra, init_back = mtstates.newstate(function(init)
        local saved = init
        return function(cmd, ...)
            if cmd == "init" then return saved end
            if cmd == "echo" then return ... end
            if cmd == "make" then
                local t = { n = 1 }
                t.self = t
                return t, t
            end
        end, { setup = "result" }, init
    end, { config = { level = 3 } })
    T.eq(s:call("init").config.level, 3, "setup argument table")
    T.eq(extra.setup, "result", "setup result table")
    T.eq(init_back.config.level, 3)
    local one = mtstates.singleton("tables-singleton", function(t) return function() return t.v end end,
        { v = "single" })
    T.eq(one:call(), "single", "singleton setup argument table")
    local t = { x = { y = 1 } }
    t.x.back = t
    local r1, r2 = s:call("echo", t, t.x)
    T.eq(r1.x.y, 1); T.check(r1.x.back == r1, "cycle through a call")
    T.check(r2 ~= r1.x and r2.back.x == r2, "another argument is another copy, with its own cycle")
    local m1, m2 = s:call("make")
    T.check(m1.self == m1 and m2.self == m2 and m2 ~= m1, "results: a copy each")
    local ok, tt = s:tcall(0, "echo", { 1, 2 })
    T.check(ok and tt[2] == 2, "tcall")
    -- a state calling itself re-entrantly with a table
    local s2 = mtstates.newstate(function()
        local mtstates = require "mtstates"
        return function(cmd, t)
            if cmd == "self" then
                local me = mtstates.state(mtstates.id())
                local r = me:call("echo", { inner = t })
                return r.inner.v
            end
            return t
        end
    end)
    T.eq(s2:call("self", { v = "re-entrant" }), "re-entrant")
end

-- ---------------------------------------------------------------- across threads
H.guard(function()
    local b = mtmsg.newbuffer()
    local back = mtmsg.newbuffer()
    local th = H.start(function(bid, backid, arg)
        local mtmsg = require "mtmsg"
        local b, back = mtmsg.buffer(bid), mtmsg.buffer(backid)
        -- echo every table back with a mark, until "stop"
        while true do
            local t = b:nextmsg(10)
            if t == "stop" or t == nil then break end
            t.seen_by_thread = true
            back:addmsg(t, t.self == t)
        end
        arg.self = arg
        return arg, { done = true }
    end, b:id(), back:id(), { arg = "to the thread", list = { 1, 2, 3 } })
    for i = 1, 200 do
        local t = { i = i, nested = { i, { i } } }
        t.self = t
        b:addmsg(t)
        local r, cyclic = back:nextmsg(10)
        T.check(r and r.i == i and r.nested[2][1] == i and r.seen_by_thread, "round trip " .. i)
        T.check(cyclic and r.self == r, "cycle kept both ways")
    end
    b:addmsg("stop")
    local arg, done = H.join(th)
    T.eq(arg.arg, "to the thread"); T.eq(arg.list[3], 3); T.check(arg.self == arg, "thread result with a cycle")
    T.check(done.done)

    -- several producers, one consumer
    local q = mtmsg.newbuffer()
    local producers = {}
    for p = 1, 3 do
        producers[p] = H.start(function(qid, p)
            local q = require("mtmsg").buffer(qid)
            for i = 1, 300 do q:addmsg({ p = p, i = i, pad = { string.rep("x", i % 50) } }) end
        end, q:id(), p)
    end
    local last = { 0, 0, 0 }
    for _ = 1, 900 do
        local t = q:nextmsg(10)
        T.check(t and t.i == last[t.p] + 1 and #t.pad[1] == t.i % 50, "in order per producer")
        last[t.p] = t.i
    end
    for p = 1, 3 do H.join(producers[p]) end

    -- a state called from several threads with tables
    local s = mtstates.newstate("counter", function()
        local n = 0
        return function(t) n = n + #t.items; return { total = n } end
    end)
    local callers = {}
    for c = 1, 3 do
        callers[c] = H.start(function()
            local s = require("mtstates").state("counter")
            local r
            for _ = 1, 100 do r = s:call({ items = { 1, 2 } }) end
            return r.total
        end)
    end
    for c = 1, 3 do T.check(H.join(callers[c]) <= 600) end
    T.eq(s:call({ items = {} }).total, 600)

    -- a bad value in a thread's results is reported by join
    local bad = require("mtthread").new(function() return { f = function() end } end)
    bad:start()
    local ok, err = bad:join(10)
    T.eq(ok, false)
    T.check(tostring(err):find('function at key "f"', 1, true), err)
end)

T.done("tables")
