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
    w:add(nil, true, false, 0, 255, 256, -1, 1.5, "", "a\0b", s300, print)
    w:add() -- adds nothing
    T.eq(w:addmsg(b), true)
    local m = T.pack(b:nextmsg(0))
    T.eq(m.n, 12)
    T.eq(m[1], nil); T.eq(m[2], true); T.eq(m[3], false); T.eq(m[4], 0); T.eq(m[5], 255)
    T.eq(m[6], 256); T.eq(m[7], -1); T.eq(m[8], 1.5); T.eq(m[9], ""); T.eq(m[10], "a\0b")
    T.eq(m[11], s300)
    T.eq(type(m[12]), "function")
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
