-- Writers and readers: newwriter/newreader, writer:add/addmsg/setmsg/clear,
-- reader:next/nextmsg/clear, with buffers and listeners, sizes, errors,
-- and a reader blocked on another thread's message.
-- Edge cases 57-64, 66, 67 (65 and 73 need carrays: carray_values_test.lua),
-- decisions [27] (unsupported values), [30] (failing setmsg leaves the buffer).
local T = require "testlib"
local H = require "lnw_helpers"
local mtmsg = require "mtmsg"

local argerr = H.argerr

local function none(...) return select("#", ...) == 0 end

-- ---------------------------------------------------------------- classes
do
    local w, r = mtmsg.newwriter(), mtmsg.newreader()
    T.eq(getmetatable(w), "mtmsg.writer")
    T.eq(getmetatable(r), "mtmsg.reader")
    T.eq(mtmsg.type(w), "mtmsg.writer")
    T.eq(mtmsg.type(r), "mtmsg.reader")
    T.eq(type(w), "userdata")
    -- no __tostring: the default text (5.3+: "<__name>: 0x..")
    if T.has_integers then
        T.check(tostring(w):match("^mtmsg%.writer: 0x%x+$"), tostring(w))
        T.check(tostring(r):match("^mtmsg%.reader: 0x%x+$"), tostring(r))
    else
        T.check(tostring(w):match("^userdata: "), tostring(w))
    end
    -- constructors: numeric rules [57]
    T.raises(function() mtmsg.newwriter("") end, "number expected, got string")
    T.raises(function() mtmsg.newwriter(nil) end, "number expected, got nil")
    T.raises(function() mtmsg.newreader(nil) end, "number expected, got nil")
    T.raises(function() mtmsg.newreader({}) end, "number expected, got table")
    T.check(mtmsg.newwriter(1, 2), "newwriter(1, 2)")
    T.check(mtmsg.newwriter(1, 2.5), "newwriter(1, 2.5)")
    T.check(mtmsg.newwriter("16", "0"), "numeric strings")
    T.check(mtmsg.newreader(0, 0), "newreader(0, 0)")
    T.check(mtmsg.newwriter(-3, -1), "negative size and grow")
end

-- ---------------------------------------------------------------- README equivalences
do
    local b = mtmsg.newbuffer()
    local w = mtmsg.newwriter()
    w:add("foo1"); w:add("foo2", "foo3"); T.eq(w:addmsg(b), true)
    T.eq(b:msgcnt(), 1)
    T.results(T.pack(b:nextmsg(0)), "foo1", "foo2", "foo3")

    local r = mtmsg.newreader()
    b:addmsg("a", "b", "c")
    T.eq(r:nextmsg(b), true)
    T.eq(b:msgcnt(), 0, "message removed")
    local a = r:next()
    local x, c = r:next(2)
    T.eq(a, "a"); T.eq(x, "b"); T.eq(c, "c")
    T.check(none(r:next()), "exhausted")
    T.check(none(r:next(5)), "exhausted")
end

-- ---------------------------------------------------------------- writer
do -- all value kinds through a writer
    local b = mtmsg.newbuffer()
    local w = mtmsg.newwriter()
    local s300 = string.rep("x\0", 150)
    w:add(nil, true, false, 0, 255, 256, -1, 1.5, "", "a\0b", s300, mtmsg.time)
    w:add() -- adds nothing
    T.eq(w:addmsg(b), true)
    local m = T.pack(b:nextmsg(0))
    T.eq(m.n, 12)
    T.eq(m[1], nil); T.eq(m[2], true); T.eq(m[3], false); T.eq(m[4], 0); T.eq(m[5], 255)
    T.eq(m[6], 256); T.eq(m[7], -1); T.eq(m[8], 1.5); T.eq(m[9], ""); T.eq(m[10], "a\0b")
    T.eq(m[11], s300)
    T.eq(type(m[12]), "function")
    T.near(m[12](), mtmsg.time(), 5, "the C function arrives callable")
    if T.has_integers then
        T.eq(math.type(m[6]), "integer")
        T.eq(math.type(m[8]), "float")
    end
end

do -- writer is emptied by a successful addmsg/setmsg, kept on false [66] [67]
    local b = mtmsg.newbuffer()
    local w = mtmsg.newwriter()
    T.eq(w:addmsg(b), true, "empty writer")
    T.eq(b:msgcnt(), 1, "[67] an empty writer adds an empty message")
    T.results(T.pack(b:nextmsg(0)))
    T.eq(b:msgcnt(), 0)
    w:add("first")
    w:clear()
    w:add("second")
    w:addmsg(b)
    T.results(T.pack(b:nextmsg(0)), "second")
    w:add(1)
    w:addmsg(b)
    w:addmsg(b) -- now empty again
    T.results(T.pack(b:nextmsg(0)), 1)
    T.results(T.pack(b:nextmsg(0)))

    -- [66] full fixed buffer: false, the writer keeps its elements
    local f = mtmsg.newbuffer(8, 0)
    T.eq(f:addmsg("abc"), true) -- 1 + 5 bytes
    w:add("x", 1)               -- 1 + 3 + 2 bytes: fits alone, not together
    T.eq(w:addmsg(f), false, "full fixed buffer")
    T.eq(f:msgcnt(), 1)
    T.eq(f:clear(), true)
    T.eq(w:addmsg(f), true, "same elements after clear")
    T.results(T.pack(f:nextmsg(0)), "x", 1)
    T.eq(w:addmsg(f), true)
    T.results(T.pack(f:nextmsg(0))) -- the writer was emptied by the success
    -- a message larger than the fixed buffer: message_size
    w:add(string.rep("z", 10))
    T.raises_exactly(function() w:addmsg(f) end,
        "mtmsg.error.message_size: message size 13 exceeds limit of 8 bytes for mtmsg.buffer(id=" .. f:id() .. ")")
    T.eq(f:msgcnt(), 0)
    w:clear()
end

do -- writer:setmsg [30]
    local b = mtmsg.newbuffer()
    local w = mtmsg.newwriter()
    b:addmsg(1); b:addmsg(2); b:addmsg(3)
    w:add("s", 1)
    T.eq(w:setmsg(b), true)
    T.eq(b:msgcnt(), 1, "setmsg discards queued messages")
    T.results(T.pack(b:nextmsg(0)), "s", 1)
    T.eq(w:setmsg(b), true, "empty writer sets an empty message")
    T.eq(b:msgcnt(), 1)
    T.results(T.pack(b:nextmsg(0)))

    local f = mtmsg.newbuffer("wr-fixed", 8, 0)
    f:addmsg("abc")
    w:add("x", 1)
    T.eq(w:setmsg(f), true, "fits after the discard")
    T.eq(f:msgcnt(), 1)
    T.results(T.pack(f:nextmsg(0)), "x", 1)
    f:addmsg("keep")
    w:add(string.rep("z", 10))
    T.raises_exactly(function() w:setmsg(f) end,
        'mtmsg.error.message_size: message size 13 exceeds limit of 8 bytes for mtmsg.buffer(name="wr-fixed",id='
            .. f:id() .. ')')
    T.eq(f:msgcnt(), 1, "[30] a failing setmsg leaves the buffer as it was")
    T.results(T.pack(f:nextmsg(0)), "keep")
    w:clear()

    -- setmsg keeps the buffer's place in its listener's queue (README m4)
    local l = mtmsg.newlistener()
    local b1, b2 = l:newbuffer(), l:newbuffer()
    b1:addmsg("m1"); b2:addmsg("m2"); b1:addmsg("m3")
    w:add("m4"); w:setmsg(b2)
    w:add("m5"); w:addmsg(b2)
    T.eq(l:nextmsg(0), "m1")
    T.eq(l:nextmsg(0), "m4")
    T.eq(l:nextmsg(0), "m3")
    T.eq(l:nextmsg(0), "m5")
    T.check(none(l:nextmsg(0)))
end

do -- writer: target checks
    local w = mtmsg.newwriter()
    local l = mtmsg.newlistener()
    local e = T.raises(function() w:addmsg(l) end, "mtmsg.buffer expected, got ")
    T.check(e:find("bad argument #1 to '", 1, true), e)
    if T.has_integers then
        argerr(function() w:addmsg(l) end, 1, "addmsg", "mtmsg.buffer expected, got mtmsg.listener")
        argerr(function() w:setmsg(l) end, 1, "setmsg", "mtmsg.buffer expected, got mtmsg.listener")
        argerr(function() w:addmsg(w) end, 1, "addmsg", "mtmsg.buffer expected, got mtmsg.writer")
    end
    argerr(function() w:addmsg() end, 1, "addmsg", "mtmsg.buffer expected, got no value")
    argerr(function() w:addmsg("x") end, 1, "addmsg", "mtmsg.buffer expected, got string")
    argerr(function() w:setmsg(1) end, 1, "setmsg", "mtmsg.buffer expected, got number")

    local c = mtmsg.newbuffer("wr-closed")
    c:close()
    w:add(1)
    local cerr = 'mtmsg.error.object_closed: mtmsg.buffer(name="wr-closed",id=' .. c:id() .. ')'
    T.raises_exactly(function() w:addmsg(c) end, cerr)
    T.raises_exactly(function() w:setmsg(c) end, cerr)
    local a = mtmsg.newbuffer()
    a:abort()
    T.raises_exactly(function() w:addmsg(a) end, "mtmsg.error.operation_aborted")
    T.raises_exactly(function() w:setmsg(a) end, "mtmsg.error.operation_aborted")
    a:abort(false)
    T.eq(w:addmsg(a), true)
    T.results(T.pack(a:nextmsg(0)), 1)
    -- writers are not affected by abort themselves
    mtmsg.abort()
    local ok = pcall(function()
        local w2 = mtmsg.newwriter()
        w2:add(1, 2)
        w2:clear()
        local r2 = mtmsg.newreader()
        r2:clear()
        T.check(none(r2:next()))
    end)
    mtmsg.abort(false)
    T.check(ok, "newwriter/add/clear, newreader/next/clear work while aborted")
end

do -- [27] unsupported values raise and store nothing
    local b = mtmsg.newbuffer()
    local w = mtmsg.newwriter()
    argerr(function() w:add({f = function() end}) end, 1, "add", 'parameter type not supported: function at key "f"')
    argerr(function() w:add(1, function() end) end, 2, "add", "parameter type not supported")
    argerr(function() w:add(1, 2, coroutine.create(function() end)) end, 3, "add", "parameter type not supported")
    argerr(function() w:add(b) end, 1, "add", "parameter type not supported")
    argerr(function() w:add(w) end, 1, "add", "parameter type not supported")
    T.eq(w:addmsg(b), true)
    T.results(T.pack(b:nextmsg(0))) -- nothing stored by the failed adds
end

do -- writer sizes [57]
    local w = mtmsg.newwriter(4, 0)
    w:add("1")
    T.raises_exactly(function() w:add("1") end,
        "mtmsg.error.message_size: message size 6 exceeds limit of 4 bytes for " .. tostring(w))
    local b = mtmsg.newbuffer()
    T.eq(w:addmsg(b), true, "the writer keeps what fitted")
    T.results(T.pack(b:nextmsg(0)), "1")
    w:add("12")
    T.raises(function() w:add(nil) end, "mtmsg.error.message_size: message size 5 exceeds limit of 4 bytes")
    w:clear()
    w:add("12") -- clear made room again
    w:clear()

    -- capacity 0: the first allocation is twice what is needed, then fixed
    local z = mtmsg.newwriter(0, 0)
    z:add("12345") -- 7 bytes -> capacity 14
    z:add("12345") -- 14 bytes in total
    T.raises_exactly(function() z:add(1) end,
        "mtmsg.error.message_size: message size 16 exceeds limit of 14 bytes for " .. tostring(z))

    -- [58] grow 1: grows by what is needed
    local g = mtmsg.newwriter(4, 1)
    for i = 1, 4000 do g:add(i) end
    T.eq(g:addmsg(b), true)
    local r = mtmsg.newreader(4, 1)
    T.eq(r:nextmsg(b), true)
    local okall = true
    for i = 1, 4000 do
        local v = r:next()
        if v ~= i then okall = false; T.eq(v, i, "reader value #" .. i) end
    end
    T.check(okall)
    T.check(none(r:next()), "then nothing")
end

-- ---------------------------------------------------------------- reader
do -- [59] fixed reader too small: message_size, the message stays queued
    local b = mtmsg.newbuffer()
    b:addmsg("a", "b")
    local r = mtmsg.newreader(4, 0)
    T.raises_exactly(function() r:nextmsg(b) end,
        "mtmsg.error.message_size: message size 6 exceeds limit of 4 bytes for " .. tostring(r))
    T.eq(b:msgcnt(), 1, "message stays queued")
    local r6 = mtmsg.newreader(6, 0)
    T.eq(r6:nextmsg(b), true, "exactly fitting reader")
    T.results(T.pack(r6:next(5)), "a", "b")
end

do -- [60] timeout on an empty buffer
    local b = mtmsg.newbuffer()
    local r = mtmsg.newreader()
    b:addmsg("old1", "old2")
    r:nextmsg(b)
    T.eq(r:next(), "old1")
    local t0 = mtmsg.time()
    T.eq(r:nextmsg(b, 0.5), false)
    T.near(mtmsg.time() - t0, 0.5, 0.2, "reader:nextmsg(b, 0.5) waits")
    T.check(none(r:next()), "[60] the reader was emptied")
    T.eq(r:nextmsg(b, 0), false)
    T.eq(r:nextmsg(b, -1), false)
end

do -- [61] nextmsg discards unread elements; [62] counts
    local b = mtmsg.newbuffer()
    local r = mtmsg.newreader()
    b:addmsg(1, 2, 3)
    b:addmsg("x", "y")
    T.eq(r:nextmsg(b), true)
    T.eq(r:next(), 1)
    T.eq(r:nextmsg(b), true)
    T.results(T.pack(r:next(-1)), "x", "y")
    T.check(none(r:next()))

    b:addmsg(1, nil, 3, nil, 5, 6)
    r:nextmsg(b)
    T.results(T.pack(r:next(0)))
    T.results(T.pack(r:next(2)), 1, nil)
    T.results(T.pack(r:next()), 3)
    T.results(T.pack(r:next(nil)), nil)
    if T.has_integers then
        T.raises(function() r:next(1.5) end, "number has no integer representation")
        T.results(T.pack(r:next(1.0)), 5) -- integral float count
    else
        T.results(T.pack(r:next(1.5)), 5) -- 5.1: count truncated
    end
    T.results(T.pack(r:next(10)), 6)
    T.results(T.pack(r:next(10)))
    T.results(T.pack(r:next(-1)))

    b:addmsg("a", "b", "c")
    r:nextmsg(b)
    r:clear()
    T.check(none(r:next()), "reader:clear() removes the elements")
    T.check(none(r:next(-1)))

    -- an empty message: true, nothing to read
    b:addmsg()
    T.eq(r:nextmsg(b), true)
    T.check(none(r:next()))
    T.eq(b:msgcnt(), 0)
end

do -- [63] [64] argument errors
    local b = mtmsg.newbuffer()
    local l = mtmsg.newlistener()
    local lb = l:newbuffer()
    local w = mtmsg.newwriter()
    local r = mtmsg.newreader()
    b:addmsg(1)
    r:nextmsg(b)
    argerr(function() r:next("1") end, 1, "next", "integer or carray expected")
    argerr(function() r:next(true) end, 1, "next", "integer or carray expected")
    argerr(function() r:next(1, "1") end, 2, "next", "carray expected")
    argerr(function() r:next(1, {}) end, 2, "next", "carray expected")
    argerr(function() r:nextmsg(w) end, 1, "nextmsg", "mtmsg.buffer or mtmsg.listener expected")
    argerr(function() r:nextmsg() end, 1, "nextmsg", "mtmsg.buffer or mtmsg.listener expected")
    argerr(function() r:nextmsg(1) end, 1, "nextmsg", "mtmsg.buffer or mtmsg.listener expected")
    argerr(function() r:nextmsg(r) end, 1, "nextmsg", "mtmsg.buffer or mtmsg.listener expected")
    argerr(function() r:nextmsg(b, "1") end, 2, "nextmsg", "timeout seconds expected")
    argerr(function() r:nextmsg(l, "1") end, 2, "nextmsg", "timeout seconds expected")
    argerr(function() r:nextmsg(b, true) end, 2, "nextmsg", "timeout seconds expected")
    argerr(function() r:nextmsg(b, {}) end, 2, "nextmsg", "timeout seconds expected")
    local _ = lb
end

do -- reader with listeners, closed, aborted sources; emptied first
    local l = mtmsg.newlistener("rd-L")
    local r = mtmsg.newreader()
    T.raises_exactly(function() r:nextmsg(l) end,
        'mtmsg.error.no_buffers: mtmsg.listener(name="rd-L",id=' .. l:id() .. ')')
    T.raises_exactly(function() r:nextmsg(l, 0) end,
        'mtmsg.error.no_buffers: mtmsg.listener(name="rd-L",id=' .. l:id() .. ')')
    local a, b = l:newbuffer(), l:newbuffer()
    a:addmsg("a1"); a:addmsg("a2"); b:addmsg("b1")
    local got = {}
    for i = 1, 3 do
        T.eq(r:nextmsg(l, 0), true)
        got[i] = r:next()
    end
    T.eq(table.concat(got, " "), "a1 b1 a2", "round robin through a reader")
    T.eq(r:nextmsg(l, 0), false)
    local t0 = mtmsg.time()
    T.eq(r:nextmsg(l, 0.3), false)
    T.near(mtmsg.time() - t0, 0.3, 0.15)

    -- emptied first, also when an error follows
    a:addmsg("x", "y")
    r:nextmsg(l)
    b:abort()
    T.raises_exactly(function() r:nextmsg(b) end, "mtmsg.error.operation_aborted")
    T.check(none(r:next()), "reader emptied before the aborted error")
    b:abort(false)
    a:addmsg("x", "y")
    r:nextmsg(a)
    l:abort()
    T.raises_exactly(function() r:nextmsg(l, 0) end, "mtmsg.error.operation_aborted")
    T.check(none(r:next()), "reader emptied before the aborted error")
    l:abort(false)
    local c = mtmsg.newbuffer()
    c:addmsg("c1", "c2")
    r:nextmsg(c)
    c:close()
    T.raises_exactly(function() r:nextmsg(c, 0) end, "mtmsg.error.object_closed: mtmsg.buffer(id=" .. c:id() .. ")")
    T.check(none(r:next()), "reader emptied before the closed error")
    l:close()
    T.raises_exactly(function() r:nextmsg(l) end,
        'mtmsg.error.object_closed: mtmsg.listener(name="rd-L",id=' .. l:id() .. ')')
end

do -- nonblock mode of the source decides when no timeout is given
    local b = mtmsg.newbuffer()
    local l = mtmsg.newlistener()
    local lb = l:newbuffer()
    local r = mtmsg.newreader()
    b:nonblock(); l:nonblock()
    local t0 = mtmsg.time()
    T.eq(r:nextmsg(b), false, "nonblock buffer, empty: false at once")
    T.eq(r:nextmsg(l), false, "nonblock listener, empty: false at once")
    T.check(mtmsg.time() - t0 < 0.2)
    b:addmsg("nb"); lb:addmsg("lnb")
    T.eq(r:nextmsg(b), true); T.eq(r:next(), "nb")
    T.eq(r:nextmsg(l), true); T.eq(r:next(), "lnb")
    t0 = mtmsg.time()
    T.eq(r:nextmsg(b, 0.3), false)
    T.near(mtmsg.time() - t0, 0.3, 0.15, "a timeout waits even in nonblock mode")
    -- the writer uses the target's flag too: no contention, so true
    local w = mtmsg.newwriter()
    w:add(1)
    T.eq(w:addmsg(b), true)
end

-- ---------------------------------------------------------------- threads
H.guard(function()
    local b = mtmsg.newbuffer()
    local l = mtmsg.newlistener()
    local lb = l:newbuffer()
    local r = mtmsg.newreader()
    -- a reader blocked on a buffer and on a listener, woken by a writer in
    -- another thread
    local t = H.start(function(bid, lbid)
        local mtmsg = require "mtmsg"
        local w = mtmsg.newwriter()
        mtmsg.sleep(0.3)
        w:add("from", "thread", 1)
        assert(w:addmsg(mtmsg.buffer(bid)))
        mtmsg.sleep(0.3)
        w:add("to-listener")
        assert(w:setmsg(mtmsg.buffer(lbid)))
        return true
    end, b:id(), lb:id())
    local t0 = mtmsg.time()
    T.eq(r:nextmsg(b), true)
    T.check(mtmsg.time() - t0 > 0.15, "blocked")
    T.results(T.pack(r:next(-1)), "from", "thread", 1)
    T.eq(r:nextmsg(l, 5), true)
    T.results(T.pack(r:next(-1)), "to-listener")
    T.eq(H.join(t), true)

    -- producer thread with a writer, consumer (main) with a reader: exact accounting
    local N = 1000
    t = H.start(function(bid, n)
        local mtmsg = require "mtmsg"
        local w = mtmsg.newwriter(18, 0) -- two 9-byte integers
        local b = mtmsg.buffer(bid)
        for i = 1, n do
            w:add(i)
            w:add(-i)
            assert(w:addmsg(b))
        end
        return n
    end, b:id(), N)
    local sum = 0
    for i = 1, N do
        T.eq(r:nextmsg(b, 5), true)
        local x, y = r:next(2)
        if x ~= i or y ~= -i then T.eq(x, i); T.eq(y, -i) end
        sum = sum + x
    end
    T.eq(sum, N * (N + 1) / 2)
    T.eq(H.join(t), N)
    T.eq(b:msgcnt(), 0)
end)

T.done("writer_reader")
