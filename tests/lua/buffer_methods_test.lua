-- Buffer methods (single thread): addmsg / nextmsg FIFO, return values,
-- msgcnt, setmsg, clear, nonblock / isnonblock, close (buffer and through
-- its listener).
-- Edge cases (spec/edge-cases.md): 28, 31-36; decisions [30], [33], [35].
local T = require "testlib"
local U = require "buftest_util"
local mtmsg = require "mtmsg"

------------------------------------------------------------------------------
-- README example 1 without threads; return values
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    T.eq(b:msgcnt(), 0)
    if T.has_integers then T.eq(math.type(b:msgcnt()), "integer") end
    T.results(T.pack(b:addmsg("Hello", "world!")), true)
    T.eq(b:msgcnt(), 1)
    T.results(T.pack(b:nextmsg()), "Hello", "world!")
    T.eq(b:msgcnt(), 0)
    T.results(T.pack(b:setmsg("s")), true)
    T.results(T.pack(b:clear()), true)
    T.results(T.pack(b:clear()), true) -- clear of an empty buffer
    T.eq(T.pack(b:nextmsg(0)).n, 0, "empty: nothing")
end

------------------------------------------------------------------------------
-- FIFO order, msgcnt bookkeeping, interleaving
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    for i = 1, 100 do
        T.eq(b:addmsg(i, "m" .. i), true)
        T.eq(b:msgcnt(), i)
    end
    for i = 1, 50 do
        T.results(T.pack(b:nextmsg()), i, "m" .. i)
        T.eq(b:msgcnt(), 100 - i)
    end
    for i = 101, 150 do b:addmsg(i, "m" .. i) end
    T.eq(b:msgcnt(), 100)
    for i = 51, 150 do T.results(T.pack(b:nextmsg(0)), i, "m" .. i) end
    T.eq(b:msgcnt(), 0)
    -- nextmsg with a timeout returns a queued message at once
    b:addmsg("t")
    local dt, r = U.timed(b.nextmsg, b, 5)
    T.results(r, "t")
    T.check(dt < 1, "queued message returned without waiting: " .. dt)
    b:addmsg("n")
    T.results(T.pack(b:nextmsg(nil)), "n")
end

------------------------------------------------------------------------------
-- [28] setmsg replaces all queued messages
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    b:addmsg("a"); b:addmsg("b"); b:addmsg("c")
    T.eq(b:msgcnt(), 3)
    T.eq(b:setmsg("new", 1), true)
    T.eq(b:msgcnt(), 1)
    U.expect_msgs(b, { T.pack("new", 1) })
    -- setmsg on an empty buffer adds
    T.eq(b:setmsg("only"), true)
    T.eq(b:msgcnt(), 1)
    -- addmsg after setmsg appends
    b:addmsg("after")
    U.expect_msgs(b, { T.pack("only"), T.pack("after") })
    -- setmsg through another reference
    b:addmsg(1); b:addmsg(2)
    T.eq(mtmsg.buffer(b:id()):setmsg(3), true)
    U.expect_msgs(b, { T.pack(3) })
    -- setmsg on a buffer that had messages consumed partially
    for i = 1, 10 do b:addmsg(i) end
    b:nextmsg(); b:nextmsg()
    b:setmsg("x")
    U.expect_msgs(b, { T.pack("x") })
end

------------------------------------------------------------------------------
-- [31] clear
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    for i = 1, 5 do b:addmsg(i) end
    T.results(T.pack(b:clear()), true)
    T.eq(b:msgcnt(), 0)
    T.eq(T.pack(b:nextmsg(0)).n, 0)
    b:addmsg("after clear")
    U.expect_msgs(b, { T.pack("after clear") })
    -- clear works on an aborted buffer (not abort-checked)
    b:addmsg(1); b:addmsg(2)
    b:abort()
    T.results(T.pack(b:clear()), true) -- clear while aborted
    T.eq(b:msgcnt(), 0)
    b:abort(false)
    T.eq(T.pack(b:nextmsg(0)).n, 0, "really cleared")
    -- clear through another reference
    b:addmsg(1)
    T.eq(mtmsg.buffer(b:id()):clear(), true)
    T.eq(b:msgcnt(), 0)
end

------------------------------------------------------------------------------
-- nonblock without contention: a single thread never sees itself busy
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    T.eq(b:isnonblock(), false, "blocking by default")
    b:nonblock()
    T.eq(b:isnonblock(), true, "nonblock()")
    T.eq(T.pack(b:nextmsg()).n, 0, "[36] nonblock nextmsg on empty buffer: nothing, at once")
    T.eq(T.pack(b:nextmsg(nil)).n, 0, "nonblock nextmsg(nil)")
    T.eq(b:addmsg("a"), true)
    T.eq(b:addmsg("b"), true)
    T.eq(b:setmsg("c"), true)
    T.eq(b:addmsg("d"), true)
    T.eq(b:msgcnt(), 2)
    T.results(T.pack(b:nextmsg()), "c")
    T.eq(b:clear(), true)
    T.eq(b:msgcnt(), 0)
    b:nonblock(false)
    T.eq(b:isnonblock(), false, "nonblock(false)")
    b:nonblock(true)
    T.eq(b:isnonblock(), true, "nonblock(true)")
    -- the flag belongs to the reference
    local r = mtmsg.buffer(b:id())
    T.eq(r:isnonblock(), false)
    r:nonblock()
    b:nonblock(false)
    T.eq(r:isnonblock(), true)
    T.eq(b:isnonblock(), false)
    -- listener buffers too
    local l = mtmsg.newlistener()
    local lb = l:newbuffer()
    lb:nonblock()
    T.eq(lb:isnonblock(), true)
    T.eq(lb:addmsg(1), true)
    T.eq(lb:nextmsg(), 1)
    T.eq(T.pack(lb:nextmsg()).n, 0)
    -- nonblock works on a fixed-size buffer: false only when full
    local f = mtmsg.newbuffer(4, 0)
    f:nonblock()
    T.eq(f:addmsg("1"), true)
    T.eq(f:addmsg("2"), false)
    T.eq(f:nextmsg(), "1")
end

------------------------------------------------------------------------------
-- [32] [33] close (decisions [33]: msgcnt is 0 after close)
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    b:addmsg("m1")
    b:addmsg("m2")
    T.eq(b:msgcnt(), 2)
    local id = b:id()
    b:close()
    local closed = "mtmsg.error.object_closed: mtmsg.buffer(id=" .. id .. ")"
    T.eq(b:msgcnt(), 0, "[33] msgcnt after close")
    T.raises_exactly(function() b:addmsg("x") end, closed)
    T.raises_exactly(function() b:addmsg() end, closed)
    T.raises_exactly(function() b:setmsg("x") end, closed)
    T.raises_exactly(function() b:clear() end, closed)
    T.raises_exactly(function() b:nextmsg() end, closed)
    T.raises_exactly(function() b:nextmsg(0) end, closed)
    T.raises_exactly(function() b:nextmsg(0.1) end, closed)
    T.raises_exactly(function() b:nonblock() end, closed)
    T.raises_exactly(function() b:nonblock(true) end, closed)
    T.raises_exactly(function() b:notifier(mtmsg.newbuffer()) end, closed)
    local w = mtmsg.newwriter()
    w:add("w")
    T.raises_exactly(function() w:addmsg(b) end, closed)
    T.raises_exactly(function() w:setmsg(b) end, closed)
    T.raises_exactly(function() mtmsg.newreader():nextmsg(b) end, closed)
    T.raises_exactly(function() mtmsg.newreader():nextmsg(b, 0) end, closed)
    -- these do not raise
    T.eq(b:id(), id)
    T.eq(T.pack(b:name()).n, 0)
    T.eq(b:msgcnt(), 0)
    T.eq(b:isnonblock(), false)
    T.eq(b:isabort(), false)
    b:abort()
    T.eq(b:isabort(), true, "abort works on a closed buffer")
    b:abort(false)
    T.eq(b:isabort(), false)
    b:close()
    b:close()
    T.check(tostring(b):find("(id=" .. id .. ")", 1, true), "tostring of a closed buffer")
    -- still closed after abort/unabort: closed is checked first
    b:abort()
    T.raises_exactly(function() b:addmsg("x") end, closed)
    T.raises_exactly(function() b:nextmsg(0) end, closed)
    b:abort(false)

    -- a nonblock reference gets the same errors
    local nb = mtmsg.buffer(id)
    T.eq(nb:isnonblock(), false)
    T.raises_exactly(function() nb:nonblock() end, closed)
    T.raises_exactly(function() nb:addmsg(1) end, closed)

    -- a named buffer, closed through another reference
    local n = mtmsg.newbuffer("to-close")
    n:addmsg(1)
    n:nonblock()
    mtmsg.buffer("to-close"):close()
    local nclosed = 'mtmsg.error.object_closed: mtmsg.buffer(name="to-close",id=' .. n:id() .. ")"
    T.raises_exactly(function() n:addmsg(1) end, nclosed)
    T.raises_exactly(function() n:nextmsg() end, nclosed)
    T.raises_exactly(function() n:clear() end, nclosed)
    T.eq(n:name(), "to-close")
    T.eq(n:isnonblock(), true)
    T.eq(n:msgcnt(), 0)
    -- the error value can be matched against the error table
    local ok, err = pcall(function() n:addmsg(1) end)
    T.eq(ok, false)
    T.check(err:match(mtmsg.error.object_closed), "matches mtmsg.error.object_closed")

    -- closing a fixed buffer / an empty buffer / an aborted buffer
    local f = mtmsg.newbuffer(4, 0)
    f:close()
    T.raises_exactly(function() f:addmsg("12345678") end, U.closed_err(f))
    local a = mtmsg.newbuffer()
    a:addmsg(1)
    a:abort()
    a:close()
    T.eq(a:msgcnt(), 0)
    T.raises_exactly(function() a:nextmsg(0) end, U.closed_err(a))
    a:abort(false)
    T.raises_exactly(function() a:nextmsg(0) end, U.closed_err(a))
end

------------------------------------------------------------------------------
-- [34] [35] closing a listener closes its buffers
-- (decisions [33]: msgcnt 0; [35]: newbuffer on a closed listener raises)
------------------------------------------------------------------------------
do
    local l = mtmsg.newlistener()
    local b1 = l:newbuffer()
    local b2 = l:newbuffer("lbnamed")
    b1:addmsg("x")
    b1:addmsg("y")
    b2:addmsg("z")
    l:close()
    T.raises_exactly(function() b1:addmsg("y") end, U.closed_err(b1))
    T.raises_exactly(function() b2:addmsg("y") end,
        'mtmsg.error.object_closed: mtmsg.buffer(name="lbnamed",id=' .. b2:id() .. ")")
    T.raises_exactly(function() b1:nextmsg(0) end, U.closed_err(b1))
    T.raises_exactly(function() b2:setmsg(1) end, U.closed_err(b2))
    T.eq(b1:msgcnt(), 0, "msgcnt of a buffer closed by its listener")
    T.eq(b2:msgcnt(), 0, "msgcnt of a buffer closed by its listener")
    local lclosed = "mtmsg.error.object_closed: mtmsg.listener(id=" .. l:id() .. ")"
    T.raises_exactly(function() l:nextmsg(0) end, lclosed)
    T.raises_exactly(function() l:clear() end, lclosed)
    T.raises_exactly(function() l:nonblock() end, lclosed)
    l:abort()
    T.eq(l:isabort(), true)
    l:abort(false)
    T.eq(l:isabort(), false)
    -- [35] decisions: every operation on a closed listener raises object_closed
    T.raises(function() l:newbuffer() end, "mtmsg.error.object_closed")
    T.raises(function() l:newbuffer("n") end, "mtmsg.error.object_closed")
    -- a buffer of another listener is not affected
    local l2 = mtmsg.newlistener()
    local other = l2:newbuffer()
    T.eq(other:addmsg(1), true)
    T.eq(l2:nextmsg(0), 1)
end

------------------------------------------------------------------------------
-- buffer methods called on the wrong object
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    local l = mtmsg.newlistener()
    for _, m in ipairs { "id", "name", "addmsg", "setmsg", "msgcnt", "clear", "nextmsg",
                         "nonblock", "isnonblock", "close", "abort", "isabort" } do
        local f = b[m]
        T.raises(function() f(nil) end, "mtmsg.buffer expected")
        T.raises(function() f(1) end, "mtmsg.buffer expected")
        T.raises(function() f({}) end, "mtmsg.buffer expected")
        T.raises(function() f(l) end, "mtmsg.buffer expected")
        T.raises(function() f(mtmsg.newwriter()) end, "mtmsg.buffer expected")
        T.raises(function() f(io.stdout) end, "mtmsg.buffer expected")
    end
    -- nothing happened to the buffer
    T.eq(b:msgcnt(), 0)
    T.eq(b:addmsg(1), true)
    T.eq(b:nextmsg(), 1)
    T.eq(l:isabort(), false)
end

T.done("buffer_methods")
