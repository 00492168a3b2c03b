-- Listener API (single thread): construction, lookup, ids/names/__tostring,
-- listener:newbuffer, delivery order, clear, close, abort, nonblock,
-- no_buffers and garbage collection of listener buffers.
-- Edge cases 40-51 (and the listener parts of 4, 19, 21, 34, 35, 36-39);
-- decisions [35] (closed listener: newbuffer raises) and [45] (clear resets msgcnt).
local T = require "testlib"
local H = require "lnw_helpers"
local mtmsg = require "mtmsg"

local argerr, collect = H.argerr, H.collect

local function none(...) return select("#", ...) == 0 end

-- ---------------------------------------------------------------- creation
do
    local l = mtmsg.newlistener()
    T.eq(getmetatable(l), "mtmsg.listener", "getmetatable(listener)")
    T.eq(mtmsg.type(l), "mtmsg.listener", "mtmsg.type(listener)")
    T.eq(type(l), "userdata")
    local id = l:id()
    T.eq(type(id), "number")
    if T.has_integers then T.eq(math.type(id), "integer", "id is an integer") end
    T.check(id >= 0 and id < 2 ^ 31, "id range")
    T.check(none(l:name()), "unnamed listener: name() returns no values")
    T.check(tostring(l):match("^mtmsg%.listener: 0x%x+ %(id=" .. id .. "%)$"),
        "tostring(listener) = " .. tostring(l))
    T.eq(l:isnonblock(), false)
    T.eq(l:isabort(), false)

    local n = mtmsg.newlistener("lst-named")
    T.results(T.pack(n:name()), "lst-named")
    T.check(tostring(n):match('^mtmsg%.listener: 0x%x+ %(name="lst%-named",id=' .. n:id() .. '%)$'),
        "tostring(named listener) = " .. tostring(n))

    -- quoting of names in __tostring: NUL -> \0, " -> \", \ -> \\
    local q = mtmsg.newlistener('a"b\0c\\d')
    T.eq(q:name(), 'a"b\0c\\d', "binary name kept")
    local expect = 'mtmsg.listener: 0x%x+ %(name="a\\"b\\0c\\\\d",id=' .. q:id() .. '%)'
    T.check(tostring(q):match("^" .. expect .. "$"), "quoted tostring " .. tostring(q))

    -- argument rules [19]
    T.raises(function() mtmsg.newlistener(nil) end, "string expected, got nil")
    T.raises(function() mtmsg.newlistener(1) end, "string expected, got number")
    T.raises(function() mtmsg.newlistener({}) end, "string expected, got table")
end

-- ids: one shared counter for buffers and listeners [4]
do
    local b = mtmsg.newbuffer()
    local l = mtmsg.newlistener()
    local lb = l:newbuffer()
    local l2 = mtmsg.newlistener("x")
    T.eq(l:id(), b:id() + 1, "listener id follows buffer id")
    T.eq(lb:id(), l:id() + 1, "listener buffer id follows listener id")
    T.eq(l2:id(), lb:id() + 1, "next listener id")
    T.eq(getmetatable(lb), "mtmsg.buffer")
    T.eq(mtmsg.type(lb), "mtmsg.buffer")
end

-- ---------------------------------------------------------------- lookup
do
    local l = mtmsg.newlistener("lookup-L")
    local r1 = mtmsg.listener(l:id())
    local r2 = mtmsg.listener("lookup-L")
    T.check(r1 ~= l and r2 ~= l and r1 ~= r2, "each lookup creates a new userdata")
    T.eq(r1:id(), l:id())
    T.eq(r2:id(), l:id())
    T.eq(r2:name(), "lookup-L")
    T.eq(getmetatable(r1), "mtmsg.listener")

    -- per-userdata nonblock flag, shared abort flag
    l:nonblock()
    T.eq(l:isnonblock(), true)
    T.eq(r1:isnonblock(), false, "nonblock is per reference")
    T.eq(mtmsg.listener(l:id()):isnonblock(), false)
    l:nonblock(false)
    T.eq(l:isnonblock(), false)
    r1:abort()
    T.eq(l:isabort(), true, "abort is shared")
    r2:abort(false)
    T.eq(l:isabort(), false)

    -- a buffer created through one reference is delivered through another
    local b = r1:newbuffer()
    b:addmsg("via-ref")
    T.results(T.pack(r2:nextmsg(0)), "via-ref")

    -- unknown / ambiguous
    T.raises_exactly(function() mtmsg.listener("nope-listener") end,
        'mtmsg.error.unknown_object: listener name "nope-listener"')
    local unused = l:id() + 100000
    T.raises_exactly(function() mtmsg.listener(unused) end,
        "mtmsg.error.unknown_object: listener id " .. unused)
    T.raises_exactly(function() mtmsg.listener("x\0y") end,
        'mtmsg.error.unknown_object: listener name "x\\0y"')
    local d1 = mtmsg.newlistener("dup")
    local d2 = mtmsg.newlistener("dup")
    T.raises_exactly(function() mtmsg.listener("dup") end,
        'mtmsg.error.ambiguous_name: listener name "dup"')
    T.eq(mtmsg.error.ambiguous_name, "mtmsg.error.ambiguous_name")
    T.eq(mtmsg.error.unknown_object, "mtmsg.error.unknown_object")
    T.eq(mtmsg.error.no_buffers, "mtmsg.error.no_buffers")

    -- separate namespaces and kinds [9]
    local sb = mtmsg.newbuffer("same")
    local sl = mtmsg.newlistener("same")
    T.eq(mtmsg.listener("same"):id(), sl:id())
    T.eq(mtmsg.buffer("same"):id(), sb:id())
    T.raises_exactly(function() mtmsg.buffer(sl:id()) end, "mtmsg.error.unknown_object: buffer id " .. sl:id())
    T.raises_exactly(function() mtmsg.listener(sb:id()) end, "mtmsg.error.unknown_object: listener id " .. sb:id())

    -- a listener buffer is an ordinary buffer for lookups
    local nb = l:newbuffer("lookup-LB")
    T.eq(mtmsg.buffer("lookup-LB"):id(), nb:id())
    T.eq(nb:name(), "lookup-LB")
    mtmsg.buffer(nb:id()):addmsg("found")
    T.results(T.pack(l:nextmsg(0)), "found")

    -- bad arguments
    argerr(function() mtmsg.listener() end, 1, "listener", "listener name or id expected")
    argerr(function() mtmsg.listener(true) end, 1, "listener", "listener name or id expected")
    argerr(function() mtmsg.listener({}) end, 1, "listener", "listener name or id expected")
    argerr(function() mtmsg.listener(1.5) end, 1, "listener", "listener name or id expected")
    if T.has_integers then
        argerr(function() mtmsg.listener(l:id() + 0.0) end, 1, "listener", "listener name or id expected")
    else
        T.eq(mtmsg.listener(l:id() + 0.0):id(), l:id(), "5.1: integral float id accepted")
    end
    local _, _ = d1, d2
end

-- a listener is freed (and unknown) when its last reference and all its
-- buffers are gone; it lives on while a buffer lives [48]
do
    local l = mtmsg.newlistener("gc-listener-1")
    local id = l:id()
    local b = l:newbuffer()
    l = nil -- luacheck: ignore 311 (GC drop)
    collect()
    local r = mtmsg.listener("gc-listener-1")
    T.eq(r:id(), id, "listener kept alive by its buffer, found by name")
    T.eq(mtmsg.listener(id):id(), id, "found by id")
    b:addmsg("still")
    T.results(T.pack(r:nextmsg(0)), "still")
    r = nil -- luacheck: ignore 311 (GC drop)
    b = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.raises_exactly(function() mtmsg.listener(id) end, "mtmsg.error.unknown_object: listener id " .. id)
    T.raises_exactly(function() mtmsg.listener("gc-listener-1") end,
        'mtmsg.error.unknown_object: listener name "gc-listener-1"')

    local l2 = mtmsg.newlistener()
    local id2 = l2:id()
    l2 = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.raises_exactly(function() mtmsg.listener(id2) end, "mtmsg.error.unknown_object: listener id " .. id2)
end

-- ---------------------------------------------------------------- newbuffer arguments
do
    local l = mtmsg.newlistener()
    local b = l:newbuffer("lb-fixed", 4, 0)
    T.eq(b:name(), "lb-fixed")
    T.eq(b:addmsg("1"), true)
    T.eq(b:addmsg("2"), false, "fixed listener buffer full")
    T.raises_exactly(function() b:addmsg("m2") end,
        'mtmsg.error.message_size: message size 5 exceeds limit of 4 bytes for mtmsg.buffer(name="lb-fixed",id='
            .. b:id() .. ')')
    T.results(T.pack(l:nextmsg(0)), "1")
    T.eq(b:addmsg("2"), true)
    local n = l:newbuffer("10")
    T.eq(n:name(), "10", "string first argument is a name")
    local u = l:newbuffer(10, 0)
    T.check(none(u:name()), "number first argument is a size")
    T.raises(function() l:newbuffer(nil) end, "number expected, got nil")
    local g = l:newbuffer(4, 0.5)
    for i = 1, 10 do T.eq(g:addmsg("abc"), true, "grow 0.5 #" .. i) end
    T.eq(g:msgcnt(), 10)
end

-- ---------------------------------------------------------------- delivery order
-- README example / [42]
do
    local lst = mtmsg.newlistener()
    local b1 = lst:newbuffer()
    local b2 = lst:newbuffer()
    T.eq(b1:addmsg("m1"), true)
    T.eq(b2:addmsg("m2"), true)
    T.eq(b1:addmsg("m3"), true)
    T.eq(b2:setmsg("m4"), true)
    T.eq(b2:addmsg("m5"), true)
    T.results(T.pack(lst:nextmsg()), "m1")
    T.results(T.pack(lst:nextmsg()), "m4")
    T.results(T.pack(lst:nextmsg()), "m3")
    T.results(T.pack(lst:nextmsg()), "m5")
    T.check(none(lst:nextmsg(0)), "nothing left")
end

-- [40] round robin between buffers
do
    local l = mtmsg.newlistener()
    local A, B, C = l:newbuffer(), l:newbuffer(), l:newbuffer()
    A:addmsg("a1"); A:addmsg("a2"); A:addmsg("a3")
    B:addmsg("b1")
    C:addmsg("c1"); C:addmsg("c2")
    local got = {}
    for i = 1, 6 do got[i] = l:nextmsg(0) end
    T.eq(table.concat(got, " "), "a1 b1 c1 a2 c2 a3")
    T.check(none(l:nextmsg(0)))
    T.eq(A:msgcnt() + B:msgcnt() + C:msgcnt(), 0)
end

-- [41]
do
    local l = mtmsg.newlistener()
    local b1, b2 = l:newbuffer(), l:newbuffer()
    b1:addmsg("m1"); b1:addmsg("m2"); b2:addmsg("m3")
    T.eq(l:nextmsg(0), "m1")
    T.eq(l:nextmsg(0), "m3")
    T.eq(l:nextmsg(0), "m2")
    T.check(none(l:nextmsg(0)))
end

-- [43] clear dequeues a buffer; a later add appends it at the end
do
    local l = mtmsg.newlistener()
    local a, b = l:newbuffer(), l:newbuffer()
    a:addmsg("a1"); b:addmsg("b1")
    T.eq(a:clear(), true)
    a:addmsg("a2")
    T.eq(l:nextmsg(0), "b1")
    T.eq(l:nextmsg(0), "a2")
    T.check(none(l:nextmsg(0)))
end

-- [44] reading a listener buffer directly moves it to the end
do
    local l = mtmsg.newlistener()
    local a, b = l:newbuffer(), l:newbuffer()
    a:addmsg("a1"); a:addmsg("a2"); b:addmsg("b1")
    T.eq(a:nextmsg(0), "a1")
    T.eq(l:nextmsg(0), "b1")
    T.eq(l:nextmsg(0), "a2")
    T.check(none(l:nextmsg(0)))
end

-- message values through a listener: several values, nils, empty messages
do
    local l = mtmsg.newlistener()
    local b = l:newbuffer()
    b:addmsg(1, "two", true, nil, 2.5)
    b:addmsg(nil, nil)
    b:addmsg()
    b:addmsg(false)
    T.results(T.pack(l:nextmsg(0)), 1, "two", true, nil, 2.5)
    T.results(T.pack(l:nextmsg(0)), nil, nil)
    T.eq(b:msgcnt(), 2)
    T.results(T.pack(l:nextmsg(0)))
    T.eq(b:msgcnt(), 1, "empty message consumed")
    T.results(T.pack(l:nextmsg(0)), false)
    T.eq(b:msgcnt(), 0)
end

-- ---------------------------------------------------------------- timeouts / nonblock
do
    local l = mtmsg.newlistener()
    local b = l:newbuffer()
    T.check(none(l:nextmsg(0)), "timeout 0")
    T.check(none(l:nextmsg(-1)), "negative timeout")
    local t0 = mtmsg.time()
    T.check(none(l:nextmsg(0.3)), "timed out")
    T.near(mtmsg.time() - t0, 0.3, 0.15, "listener nextmsg(0.3) waits")
    b:addmsg("x")
    t0 = mtmsg.time()
    T.eq(l:nextmsg(2), "x", "message available: no waiting")
    T.check(mtmsg.time() - t0 < 0.5)

    l:nonblock()
    T.eq(l:isnonblock(), true)
    t0 = mtmsg.time()
    T.check(none(l:nextmsg()), "nonblock nextmsg on empty listener returns nothing")
    T.check(mtmsg.time() - t0 < 0.2, "without waiting")
    b:addmsg("y")
    T.eq(l:nextmsg(), "y", "nonblock nextmsg gets an available message")
    t0 = mtmsg.time()
    T.check(none(l:nextmsg(0.3)), "timeout in nonblock mode")
    T.near(mtmsg.time() - t0, 0.3, 0.15, "timeout > 0 waits even in nonblock mode")
    T.eq(l:clear(), true, "nonblock clear without contention")
    l:nonblock(false)
    T.eq(l:isnonblock(), false)

    argerr(function() l:nonblock("x") end, 1, "nonblock", "boolean expected, got string")
    argerr(function() l:abort("x") end, 1, "abort", "boolean expected, got string")
    argerr(function() l:abort(nil) end, 1, "abort", "boolean expected, got nil")
    argerr(function() l:nextmsg("1") end, 1, "nextmsg", "timeout seconds or carray expected")
    argerr(function() l:nextmsg("0") end, 1, "nextmsg", "timeout seconds or carray expected")
    argerr(function() l:nextmsg(true) end, 1, "nextmsg", "timeout seconds or carray expected")
    argerr(function() l:nextmsg({}) end, 1, "nextmsg", "timeout seconds or carray expected")
    argerr(function() l:nextmsg(b) end, 1, "nextmsg", "timeout seconds or carray expected")
end

-- ---------------------------------------------------------------- clear [45]
do
    local l = mtmsg.newlistener()
    local a, b = l:newbuffer(), l:newbuffer()
    a:addmsg("a1"); a:addmsg("a2"); b:addmsg("b1")
    T.eq(l:clear(), true)
    T.check(none(l:nextmsg(0)), "cleared listener delivers nothing")
    T.eq(a:msgcnt(), 0, "[45] listener:clear() resets msgcnt")
    T.eq(b:msgcnt(), 0, "[45] listener:clear() resets msgcnt")
    T.check(none(a:nextmsg(0)), "cleared buffer is empty")
    b:addmsg("b2"); a:addmsg("a3")
    T.eq(a:msgcnt(), 1)
    T.eq(l:nextmsg(0), "b2", "after clear: new order by arrival of first message")
    T.eq(l:nextmsg(0), "a3")
    T.eq(a:msgcnt(), 0)
    T.eq(l:clear(), true, "clear of an empty listener")
    local e = mtmsg.newlistener()
    T.eq(e:clear(), true, "clear of a listener without buffers")
end

-- ---------------------------------------------------------------- no_buffers [46] [47]
do
    local l = mtmsg.newlistener()
    local id = l:id()
    T.raises_exactly(function() l:nextmsg() end, "mtmsg.error.no_buffers: mtmsg.listener(id=" .. id .. ")")
    T.raises_exactly(function() l:nextmsg(0) end, "mtmsg.error.no_buffers: mtmsg.listener(id=" .. id .. ")")
    local t0 = mtmsg.time()
    T.raises_exactly(function() l:nextmsg(3) end, "mtmsg.error.no_buffers: mtmsg.listener(id=" .. id .. ")")
    T.check(mtmsg.time() - t0 < 1, "no_buffers is raised without waiting")
    l:nonblock()
    T.raises_exactly(function() l:nextmsg() end, "mtmsg.error.no_buffers: mtmsg.listener(id=" .. id .. ")")
    local n = mtmsg.newlistener("nb-named")
    T.raises_exactly(function() n:nextmsg(0) end,
        'mtmsg.error.no_buffers: mtmsg.listener(name="nb-named",id=' .. n:id() .. ')')
    local err = T.raises(function() n:nextmsg(0) end)
    T.check(err:match(mtmsg.error.no_buffers), "README: err:match(mtmsg.error.no_buffers)")

    -- the only buffer collected while empty [46]
    local g = mtmsg.newlistener()
    local gb = g:newbuffer()
    gb:addmsg("x")
    T.eq(g:nextmsg(0), "x")
    T.check(none(g:nextmsg(0)))
    gb = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.raises_exactly(function() g:nextmsg(0) end, "mtmsg.error.no_buffers: mtmsg.listener(id=" .. g:id() .. ")")

    -- a collected buffer with messages is unregistered but still delivers [47]
    local m = mtmsg.newlistener()
    local mb = m:newbuffer("gcbuf")
    local mbid = mb:id()
    mb:addmsg("g1"); mb:addmsg("g2", 2)
    mb = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.raises_exactly(function() mtmsg.buffer("gcbuf") end, 'mtmsg.error.unknown_object: buffer name "gcbuf"')
    T.raises_exactly(function() mtmsg.buffer(mbid) end, "mtmsg.error.unknown_object: buffer id " .. mbid)
    T.results(T.pack(m:nextmsg(0)), "g1")
    T.results(T.pack(m:nextmsg(0)), "g2", 2)
    T.raises_exactly(function() m:nextmsg(0) end, "mtmsg.error.no_buffers: mtmsg.listener(id=" .. m:id() .. ")")

    -- mixed: collected buffer with messages plus a live one
    local x = mtmsg.newlistener()
    local live = x:newbuffer()
    local dead = x:newbuffer()
    dead:addmsg("d1"); live:addmsg("l1"); dead:addmsg("d2")
    dead = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.eq(x:nextmsg(0), "d1")
    T.eq(x:nextmsg(0), "l1")
    T.eq(x:nextmsg(0), "d2")
    T.check(none(x:nextmsg(0)), "live buffer still connected: no error")
    live = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.raises(function() x:nextmsg(0) end, "mtmsg.error.no_buffers")

    -- a collected buffer with messages is dropped by listener:clear()
    local c = mtmsg.newlistener()
    local cb = c:newbuffer("gcbuf-clear")
    cb:addmsg(1)
    cb = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.eq(c:clear(), true)
    T.raises(function() c:nextmsg(0) end, "mtmsg.error.no_buffers")
end

-- [48] empty or closed buffers stay connected
do
    local l = mtmsg.newlistener()
    local b = l:newbuffer()
    b:close()
    T.check(none(l:nextmsg(0)), "only a closed buffer: nextmsg(0) returns nothing")
    local e = l:newbuffer()
    T.check(none(l:nextmsg(0)), "empty buffer: nothing")
    local _ = e
end

-- ---------------------------------------------------------------- close [34] [35]
do
    local l = mtmsg.newlistener("closing-L")
    local lid = l:id()
    local b1, b2 = l:newbuffer(), l:newbuffer("closing-B")
    b1:addmsg("x"); b2:addmsg("y"); b2:addmsg("z")
    l:close()
    local lerr = 'mtmsg.error.object_closed: mtmsg.listener(name="closing-L",id=' .. lid .. ')'
    T.raises_exactly(function() l:nextmsg(0) end, lerr)
    T.raises_exactly(function() l:nextmsg() end, lerr)
    T.raises_exactly(function() l:clear() end, lerr)
    T.raises_exactly(function() l:nonblock() end, lerr)
    T.raises_exactly(function() l:newbuffer() end, lerr) -- decision [35]
    T.raises_exactly(function() l:newbuffer("after-close") end, lerr)
    T.raises_exactly(function() b1:addmsg("a") end, "mtmsg.error.object_closed: mtmsg.buffer(id=" .. b1:id() .. ")")
    T.raises_exactly(function() b2:addmsg("a") end,
        'mtmsg.error.object_closed: mtmsg.buffer(name="closing-B",id=' .. b2:id() .. ')')
    T.raises(function() b2:nextmsg(0) end, "mtmsg.error.object_closed")
    T.eq(b1:msgcnt(), 0, "[33] closed buffers report 0 messages")
    T.eq(b2:msgcnt(), 0, "[33] closed buffers report 0 messages")
    -- still working (edge 34 and §10)
    T.eq(l:id(), lid)
    T.eq(l:name(), "closing-L")
    T.eq(l:isnonblock(), false)
    T.eq(l:isabort(), false)
    l:abort()
    T.eq(l:isabort(), true)
    l:abort(false)
    T.check(tostring(l):match("^mtmsg%.listener: "))
    -- a closed listener stays registered
    T.eq(mtmsg.listener(lid):id(), lid)
    T.raises_exactly(function() mtmsg.listener(lid):nextmsg(0) end, lerr)
end

-- close with no buffers, and a listener closed while it is nonblock
do
    local l = mtmsg.newlistener()
    l:nonblock()
    l:close()
    T.raises_exactly(function() l:nextmsg() end, "mtmsg.error.object_closed: mtmsg.listener(id=" .. l:id() .. ")")
end

-- ---------------------------------------------------------------- abort [49] [50] [51]
do
    local l = mtmsg.newlistener()
    local b1, b2 = l:newbuffer(), l:newbuffer()
    b1:addmsg("m1"); b1:addmsg("m2"); b2:addmsg("m3"); b2:addmsg("m5")
    l:abort()
    T.eq(l:isabort(), true)
    T.eq(b1:isabort(), true, "listener abort aborts its buffers")
    T.eq(b2:isabort(), true)
    T.raises_exactly(function() l:nextmsg(0) end, "mtmsg.error.operation_aborted")
    T.raises_exactly(function() l:nextmsg() end, "mtmsg.error.operation_aborted")
    T.raises_exactly(function() b1:addmsg("x") end, "mtmsg.error.operation_aborted")
    T.raises_exactly(function() b2:setmsg("x") end, "mtmsg.error.operation_aborted")
    T.raises_exactly(function() l:newbuffer() end, "mtmsg.error.operation_aborted") -- [51]
    T.raises_exactly(function() l:nonblock() end, "mtmsg.error.operation_aborted")
    b1:abort(false)
    T.eq(b1:isabort(), false)
    T.eq(l:isabort(), true)
    T.eq(b1:addmsg("m4"), true, "[49] un-aborted buffer accepts messages")
    T.raises_exactly(function() l:nextmsg(0) end, "mtmsg.error.operation_aborted")
    T.eq(b1:msgcnt(), 3)
    T.eq(b2:msgcnt(), 2)
    l:abort(false)
    T.eq(l:isabort(), false)
    T.eq(b2:isabort(), false)
    local got = {}
    for i = 1, 5 do got[i] = l:nextmsg(0) end
    T.eq(table.concat(got, " "), "m1 m3 m2 m5 m4", "[49] order after abort(false)")
    T.check(none(l:nextmsg(0)))

    -- listener:abort(false) also clears flags set individually
    b2:abort()
    T.eq(b2:isabort(), true)
    l:abort(false)
    T.eq(b2:isabort(), false)
    -- listener:abort(true) on a listener reference found by id
    mtmsg.listener(l:id()):abort(true)
    T.eq(l:isabort(), true)
    T.eq(l:clear(), true, "[51] clear on an aborted listener")
    l:abort(false)
end

do -- [50] aborting one buffer hides its messages
    local l = mtmsg.newlistener()
    local a, b = l:newbuffer(), l:newbuffer()
    a:addmsg("a1"); b:addmsg("b1"); a:addmsg("a2")
    b:abort()
    T.eq(l:nextmsg(0), "a1")
    T.eq(l:nextmsg(0), "a2")
    T.check(none(l:nextmsg(0)), "aborted buffer's messages are hidden")
    T.eq(b:msgcnt(), 1, "but kept")
    T.raises_exactly(function() b:nextmsg(0) end, "mtmsg.error.operation_aborted")
    b:abort(false)
    T.eq(l:nextmsg(0), "b1")
    T.check(none(l:nextmsg(0)))

    -- un-aborting re-queues at the end of the ready queue
    a:addmsg("a3"); b:addmsg("b2")
    a:abort(); a:abort(false)
    T.eq(l:nextmsg(0), "b2")
    T.eq(l:nextmsg(0), "a3")
end

do -- order of checks: closed before aborted before no_buffers
    local l = mtmsg.newlistener()
    l:abort()
    T.raises_exactly(function() l:nextmsg(0) end, "mtmsg.error.operation_aborted")
    T.eq(l:clear(), true)
    l:close()
    T.raises_exactly(function() l:nextmsg(0) end, "mtmsg.error.object_closed: mtmsg.listener(id=" .. l:id() .. ")")
end

-- global abort reaches listeners and their lookups
do
    local l = mtmsg.newlistener("glob-abort-L")
    local b = l:newbuffer()
    b:addmsg("kept")
    mtmsg.abort()
    T.eq(mtmsg.isabort(), true)
    T.eq(l:isabort(), true)
    T.raises_exactly(function() mtmsg.newlistener() end, "mtmsg.error.operation_aborted")
    T.raises_exactly(function() mtmsg.listener(l:id()) end, "mtmsg.error.operation_aborted")
    T.raises_exactly(function() mtmsg.listener("glob-abort-L") end, "mtmsg.error.operation_aborted")
    T.raises_exactly(function() l:newbuffer() end, "mtmsg.error.operation_aborted")
    T.raises_exactly(function() l:nextmsg(0) end, "mtmsg.error.operation_aborted")
    T.eq(l:clear(), true, "clear is not abort-checked")
    mtmsg.abort(false)
    T.eq(mtmsg.isabort(), false)
    T.eq(l:isabort(), false)
    T.eq(b:isabort(), false)
    T.eq(mtmsg.listener("glob-abort-L"):id(), l:id())
    T.check(none(l:nextmsg(0)), "cleared while aborted")
end

T.done("listener")
