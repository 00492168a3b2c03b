-- Abort (single thread): buffer:abort / isabort, mtmsg.abort / isabort, which
-- operations are checked, and that messages survive an abort.
-- Edge cases (spec/edge-cases.md): 6 (shared flag), 31 (clear), 52-55.
-- Every section that sets the global flag resets it (mtmsg.abort(false)).
local T = require "testlib"
local U = require "buftest_util"
local mtmsg = require "mtmsg"

local ABORTED = U.ABORTED

T.eq(mtmsg.isabort(), false, "not aborted at start")

------------------------------------------------------------------------------
-- [52] buffer:abort() keeps the messages
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    T.eq(b:isabort(), false)
    b:addmsg("queued", 1)
    b:abort()
    T.eq(b:isabort(), true, "abort()")
    T.eq(mtmsg.isabort(), false, "buffer abort is not global")
    T.raises_exactly(function() b:nextmsg(0) end, ABORTED)
    T.raises_exactly(function() b:nextmsg() end, ABORTED)
    T.raises_exactly(function() b:nextmsg(0.5) end, ABORTED)
    T.raises_exactly(function() b:addmsg("x") end, ABORTED)
    T.raises_exactly(function() b:setmsg("x") end, ABORTED)
    T.raises_exactly(function() b:nonblock() end, ABORTED)
    T.eq(b:isnonblock(), false, "failed nonblock() did not change the flag")
    T.eq(b:msgcnt(), 1, "msgcnt works and the message is kept")
    -- still aborted through another reference; lookup works
    local r = mtmsg.buffer(b:id())
    T.eq(r:isabort(), true)
    T.raises_exactly(function() r:nextmsg(0) end, ABORTED)
    -- nonblock references are aborted too
    local nb = mtmsg.buffer(b:id())
    T.raises_exactly(function() nb:nonblock() end, ABORTED)
    b:abort(false)
    T.eq(b:isabort(), false, "abort(false)")
    T.eq(r:isabort(), false)
    U.expect_msgs(b, { T.pack("queued", 1) }, "message delivered after abort(false)")
    b:abort(true)
    T.eq(b:isabort(), true, "abort(true)")
    b:abort(true)
    T.eq(b:isabort(), true, "abort twice")
    b:abort(false)
    b:abort(false)
    T.eq(b:isabort(), false, "unabort twice")
    T.eq(b:addmsg("again"), true)
    T.eq(b:nextmsg(), "again")
    -- a failing setmsg on an aborted buffer leaves the messages
    b:addmsg(1); b:addmsg(2)
    b:abort()
    T.raises_exactly(function() b:setmsg(3) end, ABORTED)
    b:abort(false)
    U.expect_msgs(b, { T.pack(1), T.pack(2) }, "setmsg while aborted discards nothing")
    -- nonblock mode does not hide the abort
    b:nonblock()
    b:addmsg(5)
    b:abort()
    T.raises_exactly(function() b:nextmsg() end, ABORTED)
    T.raises_exactly(function() b:addmsg(6) end, ABORTED)
    b:abort(false)
    T.eq(b:nextmsg(), 5)
    -- ops that are not abort-checked
    b:addmsg(7)
    b:abort()
    T.eq(b:clear(), true, "[31] clear works while aborted")
    T.eq(b:msgcnt(), 0)
    T.eq(b:isnonblock(), true)
    T.eq(type(b:id()), "number")
    T.check(tostring(b):find("mtmsg.buffer", 1, true))
    b:close()
    T.raises_exactly(function() b:addmsg(1) end, U.closed_err(b))
end

------------------------------------------------------------------------------
-- [53] [55] global abort
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer("global-abort")
    local l = mtmsg.newlistener("global-abort-l")
    local lb = l:newbuffer()
    b:addmsg("kept")
    lb:addmsg("kept too")
    local bid = b:id()
    mtmsg.abort()
    T.eq(mtmsg.isabort(), true, "mtmsg.abort()")
    T.eq(b:isabort(), true, "existing buffer aborted")
    T.eq(lb:isabort(), true, "existing listener buffer aborted")
    T.eq(l:isabort(), true, "existing listener aborted")
    -- raise exactly operation_aborted (no detail text)
    T.raises_exactly(function() mtmsg.newbuffer() end, ABORTED)
    T.raises_exactly(function() mtmsg.newbuffer("n", 10, 0) end, ABORTED)
    T.raises_exactly(function() mtmsg.newlistener() end, ABORTED)
    T.raises_exactly(function() mtmsg.buffer(bid) end, ABORTED)
    T.raises_exactly(function() mtmsg.buffer("global-abort") end, ABORTED)
    T.raises_exactly(function() mtmsg.buffer("no-such-name") end, ABORTED) -- checked before lookup
    T.raises_exactly(function() mtmsg.listener("global-abort-l") end, ABORTED)
    T.raises_exactly(function() l:newbuffer() end, ABORTED)
    T.raises_exactly(function() b:nonblock() end, ABORTED)
    T.raises_exactly(function() b:addmsg(1) end, ABORTED)
    T.raises_exactly(function() b:setmsg(1) end, ABORTED)
    T.raises_exactly(function() b:nextmsg(0) end, ABORTED)
    T.raises_exactly(function() lb:addmsg(1) end, ABORTED)
    local dt = U.timed(function()
        T.raises_exactly(function() mtmsg.sleep(0.1) end, ABORTED)
        T.raises_exactly(function() mtmsg.sleep(5) end, ABORTED)
    end)
    T.check(dt < 1, "sleep raises at once while aborted: " .. dt)
    -- these work
    T.eq(mtmsg.isabort(), true)
    T.eq(b:msgcnt(), 1)
    T.eq(type(mtmsg.newwriter()), "userdata", "newwriter works while aborted")
    T.eq(type(mtmsg.newreader()), "userdata", "newreader works while aborted")
    mtmsg.sleep(0)
    mtmsg.sleep(-1)
    T.eq(type(mtmsg.time()), "number")
    T.eq(mtmsg.type(b), "mtmsg.buffer")
    T.eq(b:name(), "global-abort")
    local c = lb -- clear is not abort-checked
    T.eq(c:clear(), true)
    T.eq(lb:msgcnt(), 0)
    mtmsg.abort(true)
    T.eq(mtmsg.isabort(), true, "abort(true)")
    mtmsg.abort(false)
    T.eq(mtmsg.isabort(), false, "abort(false)")
    T.eq(b:isabort(), false, "buffer flag cleared")
    T.eq(l:isabort(), false, "listener flag cleared")
    T.eq(lb:isabort(), false)
    U.expect_msgs(b, { T.pack("kept") }, "messages survive a global abort")
    T.eq(mtmsg.buffer(bid):id(), bid)
    local nb = mtmsg.newbuffer()
    T.eq(nb:isabort(), false, "new buffer after abort(false)")
    T.eq(nb:addmsg(1), true)
    mtmsg.sleep(0.01)
end

------------------------------------------------------------------------------
-- [54] mtmsg.abort(false) also clears individual flags; bad arguments
------------------------------------------------------------------------------
do
    local b1 = mtmsg.newbuffer()
    local b2 = mtmsg.newbuffer()
    b1:abort()
    T.eq(b1:isabort(), true)
    T.eq(mtmsg.isabort(), false)
    mtmsg.abort(false)
    T.eq(b1:isabort(), false, "mtmsg.abort(false) clears a buffer's own flag")
    T.eq(b2:isabort(), false)
    T.eq(b1:addmsg(1), true)

    U.argerr(function() mtmsg.abort(nil) end, 1, "abort", "boolean expected, got nil")
    U.argerr(function() mtmsg.abort(1) end, 1, "abort", "boolean expected, got number")
    U.argerr(function() mtmsg.abort("true") end, 1, "abort", "boolean expected, got string")
    U.argerr(function() mtmsg.abort({}) end, 1, "abort", "boolean expected, got table")
    T.eq(mtmsg.isabort(), false, "failed abort calls did not abort")
    T.eq(b1:isabort(), false)
    mtmsg.abort(true)
    U.argerr(function() mtmsg.abort(nil) end, 1, "abort", "boolean expected, got nil")
    T.eq(mtmsg.isabort(), true, "failed abort call did not un-abort")
    mtmsg.abort(false)

    U.argerr(function() b1:abort(nil) end, 1, "abort", "boolean expected, got nil")
    U.argerr(function() b1:abort(0) end, 1, "abort", "boolean expected, got number")
    U.argerr(function() b1:abort("x") end, 1, "abort", "boolean expected, got string")
    T.eq(b1:isabort(), false, "failed abort calls did not abort the buffer")
    b1:abort()
    U.argerr(function() b1:abort(nil) end, 1, "abort", "boolean expected, got nil")
    T.eq(b1:isabort(), true)
    b1:abort(false)
    U.expect_msgs(b1, { T.pack(1) })
end

------------------------------------------------------------------------------
-- [55] sleep arguments
------------------------------------------------------------------------------
do
    local dt = U.timed(function()
        mtmsg.sleep(-1)
        mtmsg.sleep(0)
        mtmsg.sleep(-math.huge)
    end)
    T.check(dt < 0.5, "sleep(<=0) returns at once: " .. dt)
    U.argerr(function() mtmsg.sleep("x") end, 1, "sleep", "number expected, got string")
    U.argerr(function() mtmsg.sleep() end, 1, "sleep", "number expected, got no value")
    U.argerr(function() mtmsg.sleep(nil) end, 1, "sleep", "number expected, got nil")
    U.argerr(function() mtmsg.sleep({}) end, 1, "sleep", "number expected, got table")
    U.argerr(function() mtmsg.sleep(true) end, 1, "sleep", "number expected, got boolean")
    dt = U.timed(mtmsg.sleep, "0.01")
    T.check(dt >= 0.005 and dt < 1, "sleep('0.01') sleeps about 10 ms: " .. dt)
    dt = U.timed(mtmsg.sleep, 0.2)
    T.check(dt >= 0.19, "sleep(0.2) lower bound: " .. dt)
    T.check(dt < 0.2 + 0.5, "sleep(0.2) upper bound: " .. dt)
end

T.eq(mtmsg.isabort(), false)
T.done("buffer_abort")
