-- Message values through buffers: nil/empty messages, numbers (integer and
-- float subtypes per Lua version), strings, light userdata, C functions, and
-- unsupported values (decisions [27]: argument error, nothing stored).
-- Edge cases (spec/edge-cases.md): 22-27.
local T = require "testlib"
local U = require "buftest_util"
local mtmsg = require "mtmsg"

local b = mtmsg.newbuffer()

-- sends the values as one message and returns the packed received message
local function roundtrip(...)
    T.eq(b:addmsg(...), true, "addmsg")
    T.eq(b:msgcnt(), 1, "one message queued")
    local r = T.pack(b:nextmsg(0))
    T.eq(b:msgcnt(), 0, "message consumed")
    return r
end

------------------------------------------------------------------------------
-- [22] nil values and empty messages
------------------------------------------------------------------------------
do
    T.results(roundtrip(nil, nil), nil, nil)
    T.results(roundtrip(nil), nil)
    T.results(roundtrip(1, nil, nil), 1, nil, nil)
    T.results(roundtrip(nil, 2, nil), nil, 2, nil)
    -- empty message: counted, delivered as zero values
    T.results(T.pack(b:addmsg()), true)
    T.eq(b:msgcnt(), 1, "empty message counts")
    T.results(T.pack(b:addmsg()), true)
    T.eq(b:msgcnt(), 2)
    T.eq(T.pack(b:nextmsg()).n, 0, "empty message: zero values")
    T.eq(b:msgcnt(), 1, "msgcnt decremented")
    T.eq(T.pack(b:nextmsg(0)).n, 0, "empty message: zero values")
    T.eq(b:msgcnt(), 0)
    -- empty messages keep their place in the queue
    b:addmsg("a"); b:addmsg(); b:addmsg("c")
    U.expect_msgs(b, { T.pack("a"), T.pack(), T.pack("c") })
    -- setmsg of an empty message
    b:addmsg("x"); b:addmsg("y")
    T.eq(b:setmsg(), true)
    U.expect_msgs(b, { T.pack() }, "setmsg()")
end

------------------------------------------------------------------------------
-- booleans, strings
------------------------------------------------------------------------------
do
    T.results(roundtrip(true, false), true, false)
    T.results(roundtrip(""), "")
    T.results(roundtrip("\0"), "\0")
    T.results(roundtrip("a\0b\0"), "a\0b\0")
    local all = {}
    for i = 0, 255 do all[#all + 1] = string.char(i) end
    all = table.concat(all)
    T.results(roundtrip(all), all)
    T.results(roundtrip(all .. all .. all), all .. all .. all)
    for _, len in ipairs { 254, 255, 256, 257, 65535, 65536, 70000 } do
        local s = string.rep("\0\1\255", len):sub(1, len)
        local r = roundtrip(s, len)
        T.eq(r.n, 2)
        T.eq(#r[1], len, "string length " .. len)
        T.check(r[1] == s, "string of length " .. len .. " arrives byte-identical")
        T.eq(r[2], len)
    end
    -- the received string is an ordinary Lua string
    local r = roundtrip("abc")
    T.eq(type(r[1]), "string")
    T.eq(r[1]:upper(), "ABC")
end

------------------------------------------------------------------------------
-- [23] [24] numbers
------------------------------------------------------------------------------
local negzero = -tonumber("0.0")
local zero = tonumber("0")
local nan = zero / zero

do
    -- values that compare equal on every version
    for _, v in ipairs { 0, 1, 255, 256, -1, -255, -256, 65535, 65536, 2 ^ 31, -2 ^ 31, 2 ^ 32,
                         2 ^ 53, -2 ^ 53, 2 ^ 63, -2 ^ 63, 1e300, -1e300, 0.5, -0.5, 0.1, 1 / 3,
                         math.pi, 1e-300, tonumber("5e-324"), math.huge, -math.huge, 123456789.125 } do
        local r = roundtrip(v)
        T.eq(r.n, 1)
        T.eq(type(r[1]), "number")
        T.eq(r[1], v, "number " .. string.format("%.17g", v))
    end
    local r = roundtrip(nan)
    T.check(r[1] ~= r[1], "NaN arrives as NaN")
    r = roundtrip(math.huge, -math.huge)
    T.eq(r[1], math.huge, "inf")
    T.eq(r[2], -math.huge, "-inf")
end

if T.has_integers then
    -- [23] 5.3+: integer / float subtypes are kept exactly
    local function sub(v) return math.type(roundtrip(v)[1]) end
    T.eq(sub(1.0), "float", "1.0 stays float")
    T.eq(sub(0.0), "float", "0.0 stays float")
    T.eq(sub(255.0), "float", "255.0 stays float")
    T.eq(sub(2 ^ 53), "float", "2^53 stays float")
    T.eq(sub(0), "integer")
    T.eq(sub(255), "integer")
    T.eq(sub(256), "integer")
    T.eq(sub(-1), "integer")
    T.eq(sub(math.maxinteger), "integer")
    T.eq(sub(math.mininteger), "integer")
    T.eq(roundtrip(math.maxinteger)[1], math.maxinteger, "maxinteger exact")
    T.eq(roundtrip(math.mininteger)[1], math.mininteger, "mininteger exact")
    T.eq(roundtrip(math.maxinteger - 1)[1], math.maxinteger - 1, "maxinteger-1 exact")
    local big = math.tointeger(2 ^ 53) + 1
    T.eq(roundtrip(big)[1], big, "2^53+1 as integer exact")
    T.eq(math.type(roundtrip(big)[1]), "integer")
    local r = roundtrip(negzero)
    T.eq(math.type(r[1]), "float")
    T.eq(1 / r[1], -math.huge, "-0.0 keeps its sign")
    r = roundtrip(nan, math.huge)
    T.eq(math.type(r[1]), "float")
    T.eq(math.type(r[2]), "float")
    r = roundtrip(1, 1.0, 2, 2.0)
    T.eq(math.type(r[1]), "integer"); T.eq(math.type(r[2]), "float")
    T.eq(math.type(r[3]), "integer"); T.eq(math.type(r[4]), "float")
    T.eq(math.tointeger(roundtrip(3.0)[1]), 3)
else
    -- [24] 5.1/5.2/LuaJIT: integral values travel as integers, -0.0 as 0
    local r = roundtrip(negzero)
    T.eq(r[1], 0)
    T.eq(1 / r[1], math.huge, "-0.0 arrives as 0")
    r = roundtrip(1.0)
    T.eq(r[1], 1)
    T.eq(tostring(r[1]), "1")
    r = roundtrip(2 ^ 53, -2 ^ 63, 2 ^ 63)
    T.eq(r[1], 2 ^ 53)
    T.eq(r[2], -2 ^ 63)
    T.eq(r[3], 2 ^ 63)
end

------------------------------------------------------------------------------
-- [25] C functions
------------------------------------------------------------------------------
if not T.luajit then
    -- (LuaJIT's standard library functions are fast functions, not plain
    -- lua_CFunctions: not used here.)
    local r = roundtrip(string.rep, print)
    T.eq(r.n, 2)
    T.eq(type(r[1]), "function")
    T.eq(r[1]("ab", 3), "ababab", "received C function is callable")
    if T.lua51 then
        T.check(r[1] ~= string.rep, "5.1: a new C closure")
        T.check(r[2] ~= print, "5.1: a new C closure")
    else
        T.eq(r[1], string.rep, "5.2+: the same light C function")
        T.eq(r[2], print, "5.2+: the same light C function")
    end
    -- received C functions can be sent again
    r = roundtrip(r[1])
    T.eq(r[1]("x", 2), "xx")
end

------------------------------------------------------------------------------
-- [26] light userdata
------------------------------------------------------------------------------
if debug.upvalueid then
    local up1, up2 = 1, 2
    local function f() return up1, up2 end
    local lud1, lud2 = debug.upvalueid(f, 1), debug.upvalueid(f, 2)
    T.eq(type(lud1), "userdata")
    local r = roundtrip(lud1, lud2, lud1)
    T.eq(r.n, 3)
    T.eq(type(r[1]), "userdata")
    T.check(r[1] == lud1, "light userdata arrives as the same pointer")
    T.check(r[2] == lud2, "light userdata arrives as the same pointer")
    T.check(r[3] == lud1, "light userdata arrives as the same pointer")
    T.check(r[1] ~= r[2], "different pointers stay different")
    T.eq(getmetatable(r[1]), nil)
end

------------------------------------------------------------------------------
-- mixed messages keep order and types
------------------------------------------------------------------------------
do
    b:addmsg("first", 1, true, nil, 2.5)
    b:addmsg()
    b:addmsg(false)
    b:addmsg(nil, "last")
    U.expect_msgs(b, {
        T.pack("first", 1, true, nil, 2.5),
        T.pack(),
        T.pack(false),
        T.pack(nil, "last"),
    })
end

------------------------------------------------------------------------------
-- [27] unsupported values (decisions [27]): argument error naming the right
-- argument, nothing stored, the buffer is unchanged
------------------------------------------------------------------------------
do
    local other = mtmsg.newbuffer()
    local lst = mtmsg.newlistener()
    local co = coroutine.create(function() end)
    local unsupported = {
        { "Lua function", function() end },
        { "coroutine", co },
        { "file", io.stdout },
        { "buffer object", other },
        { "the buffer itself", b },
        { "listener object", lst },
        { "writer object", mtmsg.newwriter() },
        { "reader object", mtmsg.newreader() },
    }
    if newproxy then
        unsupported[#unsupported + 1] = { "newproxy userdata", newproxy(true) }
    end
    local msg = "parameter type not supported"
    b:addmsg("keep1")
    b:addmsg("keep2", 2)
    for _, case in ipairs(unsupported) do
        local what, v = case[1], case[2]
        U.argerr(function() b:addmsg(v) end, 1, "addmsg", msg)
        U.argerr(function() b:addmsg(1, v) end, 2, "addmsg", msg)
        U.argerr(function() b:addmsg(nil, nil, v) end, 3, "addmsg", msg)
        U.argerr(function() b:addmsg("a", "b", "c", v, "e") end, 4, "addmsg", msg)
        U.argerr(function() b:setmsg(v) end, 1, "setmsg", msg)
        U.argerr(function() b:setmsg("x", v) end, 2, "setmsg", msg)
        T.eq(b:msgcnt(), 2, what .. ": nothing stored, nothing discarded")
    end
    -- the first unsupported argument is reported
    U.argerr(function() b:addmsg(1, co, print, function() end) end, 2, "addmsg", msg)
    U.argerr(function() b:addmsg(1, 2, function() end, co) end, 3, "addmsg", msg)
    -- also in nonblock mode and on a fixed-size buffer
    local nb = mtmsg.buffer(b:id())
    nb:nonblock()
    U.argerr(function() nb:addmsg(co) end, 1, "addmsg", msg)
    U.argerr(function() nb:setmsg(co) end, 1, "setmsg", msg)
    local fixed = mtmsg.newbuffer(4, 0)
    fixed:addmsg("1")
    U.argerr(function() fixed:addmsg(co) end, 1, "addmsg", msg)
    U.argerr(function() fixed:setmsg({co}) end, 1, "setmsg", msg .. ": thread at key 1")
    U.expect_msgs(fixed, { T.pack("1") })
    U.expect_msgs(b, { T.pack("keep1"), T.pack("keep2", 2) }, "after unsupported values")
    T.eq(other:msgcnt(), 0)
    -- the buffer still works normally
    T.results(roundtrip("ok"), "ok")
end

T.done("buffer_values")
