-- mtmsg module level, for buffers: module table, error table, metatables,
-- mtmsg.type, ids, lookup by id/name, names, __tostring, lifetime.
-- Edge cases (spec/edge-cases.md): 1-11, 21; decisions.md [1], [75].
local T = require "testlib"
local U = require "buftest_util"
local mtmsg = require "mtmsg"

local FIRST = mtmsg.newbuffer() -- first object of this process: ids start here
local FIRST_ID = FIRST:id()

------------------------------------------------------------------------------
-- module table, _VERSION, _INFO
------------------------------------------------------------------------------
do
    T.eq(type(mtmsg), "table", "require returns a table")
    T.eq(require "mtmsg", mtmsg, "require caches the module table")
    for _, k in ipairs { "newbuffer", "buffer", "newlistener", "listener", "newwriter",
                         "newreader", "abort", "isabort", "sleep", "time", "type" } do
        T.eq(type(mtmsg[k]), "function", "mtmsg." .. k)
    end
    T.eq(type(mtmsg.error), "table", "mtmsg.error")
    T.eq(type(mtmsg._VERSION), "string", "mtmsg._VERSION")
    T.check(mtmsg._VERSION:find("%d"), "_VERSION contains a digit: " .. mtmsg._VERSION)
    T.eq(type(mtmsg._INFO), "string", "mtmsg._INFO")
    T.check(mtmsg._INFO:match("^atomic:[%w_]+,thread:[%w_]+$"),
        "_INFO has the format atomic:<A>,thread:<T>: " .. mtmsg._INFO)
end

------------------------------------------------------------------------------
-- [1] error table (decisions [1]: has_notifier is present)
------------------------------------------------------------------------------
do
    local names = { "ambiguous_name", "has_notifier", "message_size", "no_buffers",
                    "object_closed", "operation_aborted", "out_of_memory", "unknown_object" }
    for _, n in ipairs(names) do
        T.eq(mtmsg.error[n], "mtmsg.error." .. n, "mtmsg.error." .. n)
    end
    local count = 0
    for k, v in pairs(mtmsg.error) do
        count = count + 1
        T.eq(v, "mtmsg.error." .. tostring(k), "entry " .. tostring(k))
    end
    T.eq(count, #names, "number of entries in mtmsg.error")
end

------------------------------------------------------------------------------
-- [2] metatables, methods
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    T.eq(getmetatable(b), "mtmsg.buffer", "getmetatable(buffer)")
    T.eq(getmetatable(mtmsg.buffer(b:id())), "mtmsg.buffer", "getmetatable(mtmsg.buffer(id))")
    local l = mtmsg.newlistener()
    T.eq(getmetatable(l), "mtmsg.listener", "getmetatable(listener)")
    T.eq(getmetatable(l:newbuffer()), "mtmsg.buffer", "getmetatable(listener:newbuffer())")
    T.eq(getmetatable(mtmsg.newwriter()), "mtmsg.writer", "getmetatable(writer)")
    T.eq(getmetatable(mtmsg.newreader()), "mtmsg.reader", "getmetatable(reader)")

    -- the real metatable: registered with luaL_newmetatable, __name set
    local mt = debug.getmetatable(b)
    T.eq(type(mt), "table", "buffer has a metatable")
    T.eq(mt.__name, "mtmsg.buffer", "__name")
    T.eq(mt.__metatable, "mtmsg.buffer", "__metatable")
    T.eq(debug.getregistry()["mtmsg.buffer"], mt, "metatable registered under its name")
    T.eq(type(mt.__tostring), "function", "__tostring")
    T.eq(type(mt.__gc), "function", "__gc")
    T.eq(mt.__eq, nil, "no __eq")
    T.eq(mt.__len, nil, "no __len")
    T.eq(mt.__close, nil, "no __close")
    T.eq(debug.getmetatable(mtmsg.buffer(b:id())), mt, "all buffer objects share the metatable")

    for _, m in ipairs { "id", "name", "addmsg", "setmsg", "msgcnt", "clear", "nextmsg",
                         "notifier", "nonblock", "isnonblock", "close", "abort", "isabort" } do
        T.eq(type(b[m]), "function", "buffer method " .. m)
    end
    T.eq(b.nosuchmethod, nil, "unknown method is nil")
end

------------------------------------------------------------------------------
-- [3] mtmsg.type
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    T.eq(mtmsg.type(b), "mtmsg.buffer")
    T.eq(mtmsg.type(mtmsg.buffer(b:id())), "mtmsg.buffer")
    local l = mtmsg.newlistener()
    T.eq(mtmsg.type(l), "mtmsg.listener")
    T.eq(mtmsg.type(l:newbuffer()), "mtmsg.buffer")
    T.eq(mtmsg.type(mtmsg.newwriter()), "mtmsg.writer")
    T.eq(mtmsg.type(mtmsg.newreader()), "mtmsg.reader")
    T.eq(mtmsg.type(""), "string")
    T.eq(mtmsg.type("mtmsg.buffer"), "string")
    T.eq(mtmsg.type(mtmsg), "table")
    T.eq(mtmsg.type(nil), "nil")
    T.eq(mtmsg.type(1), "number")
    T.eq(mtmsg.type(1.5), "number")
    T.eq(mtmsg.type(true), "boolean")
    T.eq(mtmsg.type(false), "boolean")
    T.eq(mtmsg.type(print), "function")
    T.eq(mtmsg.type(function() end), "function")
    T.eq(mtmsg.type(coroutine.create(function() end)), "thread")
    if T.has_integers then
        -- 5.3+: luaL_newmetatable sets __name, so foreign classes are named too
        T.eq(mtmsg.type(io.stdout), "FILE*", "mtmsg.type(io.stdout)")
    end
    if newproxy then
        T.eq(mtmsg.type(newproxy(true)), "userdata", "userdata with unregistered metatable")
        T.eq(mtmsg.type(newproxy(false)), "userdata", "userdata without metatable")
    end
    if debug.upvalueid then
        local up = 1
        local function f() return up end
        T.eq(mtmsg.type(debug.upvalueid(f, 1)), "userdata", "light userdata")
    end
    -- a table pretending to be a buffer is still a table
    T.eq(mtmsg.type(setmetatable({}, { __name = "mtmsg.buffer" })), "table")
    -- a userdata whose metatable only claims to be a buffer: type() checks
    -- the registry, methods check the real metatable
    local fake = { __name = "mtmsg.buffer", __index = debug.getmetatable(b).__index }
    local fmt = debug.getmetatable(io.stdout)
    debug.setmetatable(io.stdout, fake)
    local ok1, t1 = pcall(mtmsg.type, io.stdout)
    -- luacheck: push ignore 143 (io.stdout posing as a buffer, on purpose)
    local ok2, e2 = pcall(function() return io.stdout:msgcnt() end)
    local ok3, e3 = pcall(function() return io.stdout:addmsg(1) end)
    -- luacheck: pop
    debug.setmetatable(io.stdout, fmt)
    T.eq(ok1, true)
    T.eq(t1, "userdata", "fake __name is not a registered class")
    T.eq(ok2, false, "buffer method on a fake buffer raises")
    T.check(tostring(e2):find("mtmsg.buffer expected", 1, true), "fake buffer: " .. tostring(e2))
    T.eq(ok3, false, "buffer method on a fake buffer raises")
    T.check(tostring(e3):find("mtmsg.buffer expected", 1, true), "fake buffer: " .. tostring(e3))
    if debug.upvalueid then
        local up = 1
        local function f() return up end
        local lud = debug.upvalueid(f, 1)
        local lmt = debug.getmetatable(lud)
        debug.setmetatable(lud, fake)
        local okA, tA = pcall(mtmsg.type, lud)
        local okB, eB = pcall(function() return lud:nextmsg(0) end)
        debug.setmetatable(lud, lmt)
        T.eq(okA, true)
        T.eq(tA, "userdata", "light userdata with a fake metatable")
        T.eq(okB, false)
        T.check(tostring(eB):find("mtmsg.buffer expected", 1, true), "fake light buffer: " .. tostring(eB))
    end
    U.argerr(function() mtmsg.type() end, 1, "type", "value expected")
end

------------------------------------------------------------------------------
-- [4] [5] ids: one shared counter, consecutive, integers in (0, 2^31)
------------------------------------------------------------------------------
do
    local b1 = mtmsg.newbuffer()
    local l1 = mtmsg.newlistener()
    local b2 = l1:newbuffer()
    T.eq(l1:id(), b1:id() + 1, "listener id follows buffer id")
    T.eq(b2:id(), b1:id() + 2, "listener buffer id follows listener id")
    -- lookups, writers and readers do not take ids
    mtmsg.buffer(b1:id())
    mtmsg.buffer(b2:id())
    mtmsg.listener(l1:id())
    mtmsg.newwriter()
    mtmsg.newreader()
    local b3 = mtmsg.newbuffer("idtest")
    T.eq(b3:id(), b2:id() + 1, "next buffer id")
    local b4 = mtmsg.newbuffer(10, 0)
    T.eq(b4:id(), b3:id() + 1, "next buffer id")

    for _, o in ipairs { FIRST, b1, l1, b2, b3, b4 } do
        local id = o:id()
        T.eq(type(id), "number", "id is a number")
        if T.has_integers then
            T.eq(math.type(id), "integer", "id is an integer")
        else
            T.eq(id, math.floor(id), "id is integral")
        end
        T.check(id > 0 and id < 2 ^ 31, "id in (0, 2^31): " .. tostring(id))
        T.eq(o:id(), id, "id is stable")
    end
    T.check(FIRST_ID < b1:id(), "ids increase")
    -- ids are never reused (ids of collected objects neither)
    local seen = {}
    for i = 1, 50 do
        local id = mtmsg.newbuffer():id()
        T.check(not seen[id], "id reused")
        seen[id] = true
        if i % 10 == 0 then collectgarbage() end
    end
end

------------------------------------------------------------------------------
-- [6] references: new object per lookup, own nonblock flag, shared state
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    b:nonblock()
    local r = mtmsg.buffer(b:id())
    T.check(r ~= b, "lookup returns a different object")
    T.check(not rawequal(r, b), "lookup returns a different userdata")
    T.check(mtmsg.buffer(b:id()) ~= r, "each lookup makes a new object")
    T.eq(r:id(), b:id(), "same id")
    T.eq(b:isnonblock(), true, "b nonblock")
    T.eq(r:isnonblock(), false, "nonblock flag is per reference")
    r:abort()
    T.eq(b:isabort(), true, "abort flag is shared")
    r:abort(false)
    T.eq(b:isabort(), false, "abort flag is shared (reset)")
    T.eq(b:addmsg("x", 1), true)
    T.eq(r:msgcnt(), 1, "messages are shared")
    T.results(T.pack(r:nextmsg(0)), "x", 1)
    T.eq(b:msgcnt(), 0, "message consumed through the other reference")
    r:close()
    T.raises_exactly(function() b:addmsg(1) end, U.closed_err(b))
end

------------------------------------------------------------------------------
-- [7] unknown objects: exact errors without position
------------------------------------------------------------------------------
do
    T.raises_exactly(function() mtmsg.buffer("nope") end,
        'mtmsg.error.unknown_object: buffer name "nope"')
    if FIRST_ID > 12345 + 10 then
        -- ids increase from FIRST_ID: 12345 is not used in this process
        T.raises_exactly(function() mtmsg.buffer(12345) end,
            "mtmsg.error.unknown_object: buffer id 12345")
    end
    local unused = mtmsg.newbuffer():id() + 100000
    T.raises_exactly(function() mtmsg.buffer(unused) end,
        "mtmsg.error.unknown_object: buffer id " .. unused)
    T.raises_exactly(function() mtmsg.buffer("x\0y") end,
        'mtmsg.error.unknown_object: buffer name "x\\0y"')
    T.raises_exactly(function() mtmsg.buffer('q"u\\o') end,
        'mtmsg.error.unknown_object: buffer name "q\\"u\\\\o"')
    T.raises_exactly(function() mtmsg.buffer("") end,
        'mtmsg.error.unknown_object: buffer name ""')
    T.raises_exactly(function() mtmsg.buffer("a\nb\1") end,
        'mtmsg.error.unknown_object: buffer name "a\nb\1"')
    T.raises_exactly(function() mtmsg.buffer(-1) end, "mtmsg.error.unknown_object: buffer id -1")
    T.raises_exactly(function() mtmsg.buffer(0) end, "mtmsg.error.unknown_object: buffer id 0")
    -- unnamed buffers (many exist here) never match a name, not even "";
    -- a buffer named "" does
    local empty_named = mtmsg.newbuffer("")
    T.eq(mtmsg.buffer(""):id(), empty_named:id(), 'buffer named "" found')
    -- the error value can be compared with the error table entry
    local ok, err = pcall(function() mtmsg.buffer("nope") end)
    T.eq(ok, false)
    T.check(err:match(mtmsg.error.unknown_object), "matches mtmsg.error.unknown_object")
    T.eq(err:sub(1, #mtmsg.error.unknown_object), mtmsg.error.unknown_object, "error starts with the key")

    -- byte-exact names, embedded NULs
    local z = mtmsg.newbuffer("x\0y")
    T.eq(z:name(), "x\0y", "name with NUL")
    T.eq(mtmsg.buffer("x\0y"):id(), z:id(), "found by name with NUL")
    T.raises_exactly(function() mtmsg.buffer("x") end, 'mtmsg.error.unknown_object: buffer name "x"')
    T.raises_exactly(function() mtmsg.buffer("x\0") end, 'mtmsg.error.unknown_object: buffer name "x\\0"')
    T.raises_exactly(function() mtmsg.buffer("X\0y") end, 'mtmsg.error.unknown_object: buffer name "X\\0y"')
    -- a numeric string is a name, not an id
    T.raises_exactly(function() mtmsg.buffer(tostring(z:id())) end,
        'mtmsg.error.unknown_object: buffer name "' .. z:id() .. '"')
    local n77 = mtmsg.newbuffer("77")
    T.eq(mtmsg.buffer("77"):id(), n77:id(), "numeric-looking name found by name")
end

------------------------------------------------------------------------------
-- [8] ambiguous names
------------------------------------------------------------------------------
do
    local h1 = mtmsg.newbuffer("hugo")
    T.eq(mtmsg.buffer("hugo"):id(), h1:id(), "unique name found")
    local h2 = mtmsg.newbuffer("hugo")
    T.raises_exactly(function() mtmsg.buffer("hugo") end,
        'mtmsg.error.ambiguous_name: buffer name "hugo"')
    -- still found by id
    T.eq(mtmsg.buffer(h1:id()):name(), "hugo")
    T.eq(mtmsg.buffer(h2:id()):id(), h2:id())
    local h3 = mtmsg.newbuffer('a"b')
    local h4 = mtmsg.newbuffer('a"b')
    T.raises_exactly(function() mtmsg.buffer('a"b') end,
        'mtmsg.error.ambiguous_name: buffer name "a\\"b"')
    local d1 = mtmsg.newlistener("dup")
    local d2 = mtmsg.newlistener("dup")
    T.raises_exactly(function() mtmsg.listener("dup") end,
        'mtmsg.error.ambiguous_name: listener name "dup"')
    -- after one of them is gone the name is unique again
    local function make_and_drop()
        local x = mtmsg.newbuffer("dropme")
        return x:id()
    end
    local keep = mtmsg.newbuffer("dropme")
    make_and_drop()
    collectgarbage()
    collectgarbage()
    T.eq(mtmsg.buffer("dropme"):id(), keep:id(), "collected buffer no longer counts")
    local _ = { h1, h2, h3, h4, d1, d2 }
end

------------------------------------------------------------------------------
-- [9] buffers and listeners are separate namespaces / id kinds
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer("same")
    local l = mtmsg.newlistener("same")
    T.eq(mtmsg.buffer("same"):id(), b:id(), "buffer named same")
    T.eq(mtmsg.listener("same"):id(), l:id(), "listener named same")
    T.raises_exactly(function() mtmsg.buffer(l:id()) end,
        "mtmsg.error.unknown_object: buffer id " .. l:id())
    T.raises_exactly(function() mtmsg.listener(b:id()) end,
        "mtmsg.error.unknown_object: listener id " .. b:id())
    local lonly = mtmsg.newlistener("listener-only")
    T.raises_exactly(function() mtmsg.buffer("listener-only") end,
        'mtmsg.error.unknown_object: buffer name "listener-only"')
    -- buffers created by a listener are found like any buffer
    local lb = l:newbuffer("from-listener")
    T.eq(mtmsg.buffer("from-listener"):id(), lb:id())
    T.eq(mtmsg.buffer(lb:id()):name(), "from-listener")
    local _ = lonly
end

------------------------------------------------------------------------------
-- [10] bad lookup arguments
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    local msg = "buffer name or id expected"
    U.argerr(function() mtmsg.buffer() end, 1, "buffer", msg)
    U.argerr(function() mtmsg.buffer(nil) end, 1, "buffer", msg)
    U.argerr(function() mtmsg.buffer(1.5) end, 1, "buffer", msg)
    U.argerr(function() mtmsg.buffer(true) end, 1, "buffer", msg)
    U.argerr(function() mtmsg.buffer({}) end, 1, "buffer", msg)
    U.argerr(function() mtmsg.buffer(b) end, 1, "buffer", msg)
    U.argerr(function() mtmsg.buffer(print) end, 1, "buffer", msg)
    U.argerr(function() mtmsg.buffer(b:id() + 0.5) end, 1, "buffer", msg)
    if T.has_integers then
        U.argerr(function() mtmsg.buffer(2.0) end, 1, "buffer", msg)
        local fid = b:id() + 0.0
        U.argerr(function() mtmsg.buffer(fid) end, 1, "buffer", msg)
    else
        -- 5.1/5.2/LuaJIT: an integral number is an id
        T.eq(mtmsg.buffer(b:id() + 0.0):id(), b:id(), "integral float id")
        if FIRST_ID > 100 then
            T.raises_exactly(function() mtmsg.buffer(2.0) end, "mtmsg.error.unknown_object: buffer id 2")
        end
    end
    -- listener lookup has its own text
    U.argerr(function() mtmsg.listener() end, 1, "listener", "listener name or id expected")
    U.argerr(function() mtmsg.listener(true) end, 1, "listener", "listener name or id expected")
end

------------------------------------------------------------------------------
-- [11] closed buffers stay findable
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer("closed-but-findable")
    b:addmsg("x")
    b:close()
    local r1 = mtmsg.buffer(b:id())
    local r2 = mtmsg.buffer("closed-but-findable")
    T.eq(r1:id(), b:id(), "closed buffer found by id")
    T.eq(r2:id(), b:id(), "closed buffer found by name")
    T.eq(r2:name(), "closed-but-findable")
    T.raises_exactly(function() r1:addmsg(1) end, U.closed_err(b))
    T.raises_exactly(function() r2:nextmsg(0) end,
        'mtmsg.error.object_closed: mtmsg.buffer(name="closed-but-findable",id=' .. b:id() .. ")")
end

------------------------------------------------------------------------------
-- lifetime: a buffer lives while any reference lives; afterwards it is
-- neither findable by id nor by name
------------------------------------------------------------------------------
do
    local function make_gone()
        local x = mtmsg.newbuffer("gone-buffer")
        x:addmsg("lost")
        return x:id()
    end
    local id = make_gone()
    collectgarbage()
    collectgarbage()
    T.raises_exactly(function() mtmsg.buffer(id) end, "mtmsg.error.unknown_object: buffer id " .. id)
    T.raises_exactly(function() mtmsg.buffer("gone-buffer") end,
        'mtmsg.error.unknown_object: buffer name "gone-buffer"')

    local function make_kept()
        local x = mtmsg.newbuffer("kept-buffer")
        x:addmsg("kept", 1)
        return x:id(), mtmsg.buffer(x:id())
    end
    local id2, ref = make_kept()
    collectgarbage()
    collectgarbage()
    T.eq(ref:id(), id2)
    T.eq(mtmsg.buffer(id2):id(), id2, "still findable by id")
    T.eq(mtmsg.buffer("kept-buffer"):id(), id2, "still findable by name")
    T.results(T.pack(ref:nextmsg(0)), "kept", 1)
end

------------------------------------------------------------------------------
-- [21] names
------------------------------------------------------------------------------
do
    T.eq(T.pack(mtmsg.newbuffer():name()).n, 0, "unnamed buffer: name() returns no value")
    T.eq(T.pack(mtmsg.newbuffer(100):name()).n, 0, "size only: unnamed")
    T.eq(T.pack(mtmsg.newbuffer(100, 0):name()).n, 0, "size and grow: unnamed")
    T.eq(T.pack(mtmsg.newlistener():name()).n, 0, "unnamed listener: name() returns no value")
    T.eq(T.pack(mtmsg.newlistener():newbuffer():name()).n, 0, "unnamed listener buffer")
    T.eq(mtmsg.newbuffer("abc"):name(), "abc")
    T.eq(mtmsg.newbuffer("abc", 10):name(), "abc")
    T.eq(mtmsg.newbuffer("abc", 10, 0):name(), "abc")
    T.eq(mtmsg.newbuffer(""):name(), "", "empty name is a name")
    T.eq(mtmsg.newbuffer("10"):name(), "10", "numeric string is a name")
    T.eq(mtmsg.newlistener("ln"):newbuffer("lbn"):name(), "lbn")
    local long = string.rep("n", 1000) .. "\0\255"
    T.eq(mtmsg.newbuffer(long):name(), long, "long binary name")
    T.results(T.pack(mtmsg.newbuffer("single"):name()), "single")
end

------------------------------------------------------------------------------
-- __tostring
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    local s = tostring(b)
    T.check(s:match("^mtmsg%.buffer: 0x%x+ %(id=" .. b:id() .. "%)$"), "tostring unnamed: " .. s)
    local n = mtmsg.newbuffer("q")
    s = tostring(n)
    T.check(s:match('^mtmsg%.buffer: 0x%x+ %(name="q",id=' .. n:id() .. '%)$'), "tostring named: " .. s)
    local r = mtmsg.buffer(n:id())
    s = tostring(r)
    T.check(s:match('^mtmsg%.buffer: 0x%x+ %(name="q",id=' .. n:id() .. '%)$'), "tostring of a lookup: " .. s)
    local z = mtmsg.newbuffer('x\0"y')
    s = tostring(z)
    T.eq(s:match("%(.*%)$"), '(name="x\\0\\"y",id=' .. z:id() .. ")", "tostring quotes the name")
    local lb = mtmsg.newlistener():newbuffer()
    s = tostring(lb)
    T.check(s:match("^mtmsg%.buffer: 0x%x+ %(id=" .. lb:id() .. "%)$"), "tostring listener buffer: " .. s)
    b:close()
    s = tostring(b)
    T.check(s:match("^mtmsg%.buffer: 0x%x+ %(id=" .. b:id() .. "%)$"), "tostring of a closed buffer: " .. s)
end

T.done("buffer_module")
