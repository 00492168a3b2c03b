-- Bad arguments to buffer functions and methods: the documented argument
-- error (right argument number, decisions [65], [75]) and the buffer is left
-- exactly as it was.
-- Edge cases (spec/edge-cases.md): 10, 19, 39; decisions [27], [65], [75].
-- Unsupported message values are in buffer_values_test.lua.
local T = require "testlib"
local U = require "buftest_util"
local mtmsg = require "mtmsg"

local argerr = U.argerr

-- a buffer with known contents and flags, checked after every failed call
local b = mtmsg.newbuffer("errs")
b:addmsg("m1", 1)
b:addmsg("m2", 2)

local function unchanged(what)
    T.eq(b:msgcnt(), 2, what .. ": msgcnt unchanged")
    T.eq(b:isnonblock(), false, what .. ": nonblock flag unchanged")
    T.eq(b:isabort(), false, what .. ": abort flag unchanged")
    T.eq(mtmsg.isabort(), false, what .. ": global abort flag unchanged")
end

------------------------------------------------------------------------------
-- [39] [65] nextmsg: the first argument must be nil, a number or a carray
------------------------------------------------------------------------------
do
    local msg = "timeout seconds or carray expected"
    local co = coroutine.create(function() end)
    for _, case in ipairs {
        { "string '1'", "1" },
        { "string '0'", "0" },
        { "string 'x'", "x" },
        { "empty string", "" },
        { "true", true },
        { "false", false },
        { "table", {} },
        { "Lua function", function() end },
        { "C function", print },
        { "coroutine", co },
        { "buffer", mtmsg.newbuffer() },
        { "the buffer itself", b },
        { "listener", mtmsg.newlistener() },
        { "writer", mtmsg.newwriter() },
        { "file", io.stdout },
    } do
        local what, v = case[1], case[2]
        argerr(function() b:nextmsg(v) end, 1, "nextmsg", msg)
        unchanged("nextmsg(" .. what .. ")")
    end
    -- NaN is not a timeout (brief / docs/compat.md [65]); with messages queued
    local zero = tonumber("0")
    local nan = zero / zero
    argerr(function() b:nextmsg(nan) end, 1, "nextmsg", msg)
    argerr(function() b:nextmsg(-nan) end, 1, "nextmsg", msg)
    unchanged("nextmsg(NaN)")
    -- the same in nonblock mode (another reference) and on an empty buffer
    local nb = mtmsg.buffer(b:id())
    nb:nonblock()
    argerr(function() nb:nextmsg("1") end, 1, "nextmsg", msg)
    argerr(function() nb:nextmsg(true) end, 1, "nextmsg", msg)
    local e = mtmsg.newbuffer()
    local dt = U.timed(function()
        argerr(function() e:nextmsg("0.5") end, 1, "nextmsg", msg)
        argerr(function() e:nextmsg(false) end, 1, "nextmsg", msg)
        argerr(function() e:nextmsg(nan) end, 1, "nextmsg", msg)
        argerr(function() nb:nextmsg(nan) end, 1, "nextmsg", msg)
    end)
    T.check(dt < 0.4, "argument errors do not wait: " .. dt)
    unchanged("nextmsg on other references")
    -- junk after the timeout: must be carrays (the message stays queued)
    argerr(function() b:nextmsg(0, "xx") end, 2, "nextmsg", "carray expected")
    unchanged("nextmsg(0, 'xx')")
    argerr(function() b:nextmsg(nil, {}) end, 2, "nextmsg", "carray expected")
    unchanged("nextmsg(nil, {})")
    argerr(function() b:nextmsg(nil, nil, 5) end, 3, "nextmsg", "carray expected")
    unchanged("nextmsg(nil, nil, 5)")
end

------------------------------------------------------------------------------
-- nonblock / abort flags: boolean if given
------------------------------------------------------------------------------
do
    argerr(function() b:nonblock("x") end, 1, "nonblock", "boolean expected, got string")
    argerr(function() b:nonblock(nil) end, 1, "nonblock", "boolean expected, got nil")
    argerr(function() b:nonblock(1) end, 1, "nonblock", "boolean expected, got number")
    argerr(function() b:nonblock({}) end, 1, "nonblock", "boolean expected, got table")
    unchanged("nonblock(bad)")
    local nb = mtmsg.buffer(b:id())
    nb:nonblock()
    argerr(function() nb:nonblock("false") end, 1, "nonblock", "boolean expected, got string")
    argerr(function() nb:nonblock(0) end, 1, "nonblock", "boolean expected, got number")
    T.eq(nb:isnonblock(), true, "failed nonblock() keeps the flag set")

    argerr(function() b:abort(nil) end, 1, "abort", "boolean expected, got nil")
    argerr(function() b:abort(1) end, 1, "abort", "boolean expected, got number")
    argerr(function() b:abort("true") end, 1, "abort", "boolean expected, got string")
    argerr(function() b:abort({}) end, 1, "abort", "boolean expected, got table")
    unchanged("abort(bad)")

    argerr(function() mtmsg.abort(nil) end, 1, "abort", "boolean expected, got nil")
    argerr(function() mtmsg.abort(0) end, 1, "abort", "boolean expected, got number")
    argerr(function() mtmsg.abort("yes") end, 1, "abort", "boolean expected, got string")
    unchanged("mtmsg.abort(bad)")
end

------------------------------------------------------------------------------
-- [19] [20] newbuffer arguments
------------------------------------------------------------------------------
do
    local before = mtmsg.newbuffer():id()
    argerr(function() mtmsg.newbuffer(nil) end, 1, "newbuffer", "number expected, got nil")
    argerr(function() mtmsg.newbuffer(true) end, 1, "newbuffer", "number expected, got boolean")
    argerr(function() mtmsg.newbuffer({}) end, 1, "newbuffer", "number expected, got table")
    argerr(function() mtmsg.newbuffer("n", nil) end, 2, "newbuffer", "number expected, got nil")
    argerr(function() mtmsg.newbuffer("n", "x") end, 2, "newbuffer", "number expected, got string")
    argerr(function() mtmsg.newbuffer("n", false) end, 2, "newbuffer", "number expected, got boolean")
    argerr(function() mtmsg.newbuffer("n", 10, "x") end, 3, "newbuffer", "number expected, got string")
    argerr(function() mtmsg.newbuffer("n", 10, true) end, 3, "newbuffer", "number expected, got boolean")
    argerr(function() mtmsg.newbuffer(10, "x") end, 2, "newbuffer", "number expected, got string")
    argerr(function() mtmsg.newbuffer(10, {}) end, 2, "newbuffer", "number expected, got table")
    -- a failed newbuffer registers nothing: names stay unknown, and the
    -- next buffer still works
    T.raises_exactly(function() mtmsg.buffer("n") end, 'mtmsg.error.unknown_object: buffer name "n"')
    local after = mtmsg.newbuffer()
    T.check(after:id() > before, "ids still increase")
    T.eq(after:addmsg(1), true)

    -- newlistener: a string if given
    argerr(function() mtmsg.newlistener(nil) end, 1, "newlistener", "string expected, got nil")
    argerr(function() mtmsg.newlistener(1) end, 1, "newlistener", "string expected, got number")
    argerr(function() mtmsg.newlistener(true) end, 1, "newlistener", "string expected, got boolean")
    -- listener:newbuffer takes the same arguments as mtmsg.newbuffer
    local l = mtmsg.newlistener()
    argerr(function() l:newbuffer(nil) end, 1, "newbuffer", "number expected, got nil")
    argerr(function() l:newbuffer("n", "x") end, 2, "newbuffer", "number expected, got string")
    local lb = l:newbuffer("lb", 4, 0)
    T.eq(lb:addmsg("1"), true)
    T.eq(lb:addmsg("1"), false, "listener:newbuffer size/grow")
end

------------------------------------------------------------------------------
-- [10] lookup arguments (see also buffer_module_test)
------------------------------------------------------------------------------
do
    local msg = "buffer name or id expected"
    argerr(function() mtmsg.buffer() end, 1, "buffer", msg)
    argerr(function() mtmsg.buffer(nil) end, 1, "buffer", msg)
    argerr(function() mtmsg.buffer(1.5) end, 1, "buffer", msg)
    argerr(function() mtmsg.buffer(true) end, 1, "buffer", msg)
    argerr(function() mtmsg.buffer({}) end, 1, "buffer", msg)
    argerr(function() mtmsg.buffer(b) end, 1, "buffer", msg)
    local zero = tonumber("0")
    argerr(function() mtmsg.buffer(zero / zero) end, 1, "buffer", msg)
    if T.has_integers then
        argerr(function() mtmsg.buffer(math.huge) end, 1, "buffer", msg)
    end
    unchanged("mtmsg.buffer(bad)")
end

------------------------------------------------------------------------------
-- sleep / type / time
------------------------------------------------------------------------------
do
    argerr(function() mtmsg.sleep("x") end, 1, "sleep", "number expected, got string")
    argerr(function() mtmsg.sleep() end, 1, "sleep", "number expected, got no value")
    argerr(function() mtmsg.sleep({}) end, 1, "sleep", "number expected, got table")
    argerr(function() mtmsg.type() end, 1, "type", "value expected")
    T.eq(type(mtmsg.time()), "number")
    T.eq(type(mtmsg.time(1, 2, 3)), "number", "time ignores arguments")
    unchanged("sleep/type")
end

------------------------------------------------------------------------------
-- errors through pcall leave everything usable
------------------------------------------------------------------------------
do
    for i = 1, 1000 do
        pcall(b.addmsg, b, {f = print, g = function() end})
        pcall(b.nextmsg, b, "x")
        pcall(mtmsg.buffer, "no such buffer " .. i)
        pcall(mtmsg.newbuffer, "n", "x")
    end
    unchanged("after many failed calls")
    U.expect_msgs(b, { T.pack("m1", 1), T.pack("m2", 2) }, "errs buffer")
end

T.done("buffer_errors")
