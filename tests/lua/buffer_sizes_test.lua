-- Buffer construction and sizes: size/grow arguments, fixed-size buffers
-- (false vs message_size), byte accounting of message elements, growth,
-- reuse of consumed space, large messages.
-- Edge cases (spec/edge-cases.md): 12-18, 20, 29 (fixed-size part), 30.
-- Size rules: spec/mtmsg.md §5 (element sizes, header 1 or 9 bytes), §6.
local T = require "testlib"
local U = require "buftest_util"
local mtmsg = require "mtmsg"

local rep = string.rep

------------------------------------------------------------------------------
-- [12] [13] newbuffer("hugo", 4, 0)
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer("hugo", 4, 0)
    T.eq(b:name(), "hugo")
    T.eq(b:addmsg("1"), true, "4-byte message fits a 4-byte buffer")
    T.raises_exactly(function() b:addmsg("m2") end,
        'mtmsg.error.message_size: message size 5 exceeds limit of 4 bytes for mtmsg.buffer(name="hugo",id='
        .. b:id() .. ")")
    T.eq(b:msgcnt(), 1, "message_size stores nothing")
    T.eq(b:addmsg("2"), false, "buffer full: false")
    T.eq(b:msgcnt(), 1, "false stores nothing")
    T.results(T.pack(b:nextmsg()), "1")
    T.eq(b:addmsg("2"), true, "space is free again")
    T.results(T.pack(b:nextmsg()), "2")
    T.eq(b:msgcnt(), 0)
    -- the error matches the error table entry
    local ok, err = pcall(function() b:addmsg("m2") end)
    T.eq(ok, false)
    T.check(err:match(mtmsg.error.message_size), "matches mtmsg.error.message_size")
end

------------------------------------------------------------------------------
-- byte accounting: a message of total size S fits newbuffer(S, 0) exactly;
-- newbuffer(S - 1, 0) raises message_size naming S.
------------------------------------------------------------------------------
local function sized(what, size, ...)
    local args = T.pack(...)
    local b = mtmsg.newbuffer(size, 0)
    T.eq(b:addmsg(U.unpack(args, 1, args.n)), true, what .. ": fits in " .. size)
    T.eq(b:msgcnt(), 1, what)
    T.eq(b:addmsg(U.unpack(args, 1, args.n)), false, what .. ": second copy does not fit")
    local got = T.pack(b:nextmsg(0))
    T.eq(got.n, args.n, what .. ": number of values")
    for i = 1, args.n do
        if type(args[i]) == "function" then
            -- C functions: 5.1 makes a new closure (not ==); see buffer_values
            T.eq(type(got[i]), "function", what .. ": value " .. i)
        else
            T.eq(got[i], args[i], what .. ": value " .. i)
        end
    end
    if size > 1 then
        local s = mtmsg.newbuffer(size - 1, 0)
        T.raises_exactly(function() s:addmsg(U.unpack(args, 1, args.n)) end, U.size_err(size, size - 1, s))
        T.eq(s:msgcnt(), 0, what .. ": nothing stored")
        T.raises_exactly(function() s:setmsg(U.unpack(args, 1, args.n)) end, U.size_err(size, size - 1, s))
        T.eq(s:msgcnt(), 0, what .. ": nothing stored by setmsg")
    end
end

sized("empty message", 1)
sized("nil", 2, nil)
sized("nil, nil", 3, nil, nil)
sized("true", 3, true)
sized("false", 3, false)
sized("0", 3, 0)
sized("255", 3, 255)
sized("256", 10, 256)
sized("-1", 10, -1)
sized("2^31", 10, 2 ^ 31)
sized("0.5", 10, 0.5)
sized("-1.5", 10, -1.5)
sized("math.huge", 10, math.huge)
sized("empty string", 3, "")
sized("1-char string", 4, "a")
sized("252-char string", 255, rep("x", 252))
sized("253-char string", 264, rep("x", 253))    -- 255 element bytes: 9-byte header
sized("255-char string", 266, rep("x", 255))
sized("256-char string", 274, rep("x", 256))   -- long string: 9 + len
sized("1000-char string", 1018, rep("x", 1000))
sized("three small ints", 7, 1, 2, 3)
sized("127 booleans", 255, U.unpack((function() local t = {} for i = 1, 127 do t[i] = true end return t end)()))
sized("128 booleans", 265, U.unpack((function() local t = {} for i = 1, 128 do t[i] = true end return t end)()))
sized("mixed", 1 + 1 + 2 + 2 + 9 + 9 + 5, nil, true, 7, 1000, 0.25, "abc")
if not T.luajit then
    sized("C function", 10, string.rep)
end
if debug.upvalueid then
    local up = 0
    local function f() return up end
    sized("light userdata", 10, debug.upvalueid(f, 1))
end
if T.has_integers then
    -- 5.3+: the float subtype is kept (9 bytes)
    sized("1.0", 10, 1.0)
    sized("255.0", 10, 255.0)
    sized("-0.0", 10, -tonumber("0.0"))
    sized("math.maxinteger", 10, math.maxinteger)
    sized("math.mininteger", 10, math.mininteger)
else
    -- 5.1/5.2/LuaJIT: integral numbers are stored as integers
    sized("1.0", 3, 1.0)
    sized("255.0", 3, 255.0)
    sized("-0.0", 3, -tonumber("0.0"))
    sized("2^53", 10, 2 ^ 53)
end

------------------------------------------------------------------------------
-- [14] newbuffer(0, 0): the first message allocates twice its size
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer(0, 0)
    T.eq(b:addmsg(rep("a", 11)), true, "first message (14 bytes) accepted")
    T.eq(b:addmsg("b"), true, "4 more bytes fit into 28")
    T.eq(b:addmsg(rep("c", 15)), false, "18 more bytes do not fit: false")
    T.raises_exactly(function() b:addmsg(rep("d", 100)) end, U.size_err(103, 28, b))
    T.eq(b:msgcnt(), 2)
    T.eq(b:nextmsg(), rep("a", 11))
    T.eq(b:addmsg(rep("c", 15)), true, "fits after the first message was consumed")
    U.expect_msgs(b, { T.pack("b"), T.pack(rep("c", 15)) })
end

------------------------------------------------------------------------------
-- [15] newbuffer(255, 0)
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer(255, 0)
    T.eq(b:addmsg(rep("x", 252)), true, "252-byte string fits 255")
    T.eq(b:addmsg(""), false, "nothing more fits")
    local c = mtmsg.newbuffer(255, 0)
    T.raises_exactly(function() c:addmsg(rep("x", 253)) end, U.size_err(264, 255, c))
    T.eq(c:msgcnt(), 0)
end

------------------------------------------------------------------------------
-- [16] small fixed buffers
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer(3, 0)
    T.eq(b:addmsg(255), true)
    T.eq(b:nextmsg(), 255)
    T.eq(b:addmsg(true), true)
    T.eq(b:nextmsg(), true)
    T.eq(b:addmsg(nil, nil), true)
    T.results(T.pack(b:nextmsg()), nil, nil)
    T.raises_exactly(function() b:addmsg(256) end, U.size_err(10, 3, b))
    T.eq(b:msgcnt(), 0)
    local n9 = mtmsg.newbuffer(9, 0)
    T.raises_exactly(function() n9:addmsg(0.5) end, U.size_err(10, 9, n9))
    local n10 = mtmsg.newbuffer(10, 0)
    T.eq(n10:addmsg(0.5), true)
    T.eq(n10:nextmsg(), 0.5)
end

------------------------------------------------------------------------------
-- [17] fractional and negative size / grow
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer(1.7, 0)   -- truncated to 1 byte
    T.eq(b:addmsg(), true, "empty message (1 byte) fits")
    T.raises_exactly(function() b:addmsg(1) end, U.size_err(3, 1, b))
    T.eq(b:addmsg(), false, "second empty message does not fit")
    T.eq(b:msgcnt(), 1)

    local n = mtmsg.newbuffer(-5, -1)   -- size 0, grow 0
    T.eq(n:addmsg("abc"), true, "first message accepted (allocates 2 x 6 bytes)")
    T.eq(n:addmsg("abc"), true, "second 6-byte message fits into 12")
    T.eq(n:addmsg("abc"), false, "then the buffer is full")
    T.raises_exactly(function() n:addmsg(rep("z", 20)) end, U.size_err(23, 12, n))
    U.expect_msgs(n, { T.pack("abc"), T.pack("abc") })

    local g = mtmsg.newbuffer(-5)       -- size 0, default grow: grows
    for i = 1, 200 do T.eq(g:addmsg(i, rep("g", i)), true) end
    T.eq(g:msgcnt(), 200)
    for i = 1, 200 do T.results(T.pack(g:nextmsg(0)), i, rep("g", i)) end

    local s = mtmsg.newbuffer("neg", -1) -- named, negative size: size 0, grows
    T.eq(s:name(), "neg")
    T.eq(s:addmsg(rep("s", 5000)), true)
    T.eq(s:nextmsg(), rep("s", 5000))
end

------------------------------------------------------------------------------
-- [18] grow factors <= 1 grow exactly to what is needed
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer(4, 0.5)
    for i = 0, 9 do T.eq(b:addmsg("abc" .. i), true, "message " .. i) end
    T.eq(b:msgcnt(), 10)
    for i = 0, 9 do T.eq(b:nextmsg(0), "abc" .. i) end
    local c = mtmsg.newbuffer(1, 1)
    for i = 1, 50 do T.eq(c:addmsg(rep("c", i)), true) end
    for i = 1, 50 do T.eq(c:nextmsg(0), rep("c", i)) end
    local d = mtmsg.newbuffer(8, 1.5)
    for i = 1, 50 do T.eq(d:addmsg(i, 1.5, "d"), true) end
    for i = 1, 50 do T.results(T.pack(d:nextmsg(0)), i, 1.5, "d") end
end

------------------------------------------------------------------------------
-- [20] numeric strings, extra arguments
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer("10")
    T.eq(b:name(), "10", "string first argument is the name")
    T.eq(b:addmsg(rep("x", 2000)), true, "default size/grow: grows")
    local n = mtmsg.newbuffer("n", "10", "0")
    T.eq(n:name(), "n")
    T.eq(n:addmsg(rep("x", 7)), true, "10 bytes fit")
    T.eq(n:addmsg(""), false, "fixed at 10 bytes")
    local n2 = mtmsg.newbuffer("n2", "10", "0")
    T.raises_exactly(function() n2:addmsg(rep("x", 8)) end, U.size_err(11, 10, n2))
    local n3 = mtmsg.newbuffer("n3", " 0x10 ", "0")   -- Lua number coercion: 16
    T.eq(n3:addmsg(rep("x", 13)), true, "16 bytes fit")
    T.eq(n3:addmsg(""), false)
    local q = mtmsg.newbuffer("test01", 18, 18, 1.9)
    T.eq(q:name(), "test01", "extra arguments ignored")
    T.eq(q:addmsg(rep("q", 100)), true)
    local e = mtmsg.newbuffer(4, 0, "ignored", {})
    T.eq(T.pack(e:name()).n, 0)
    T.eq(e:addmsg("1"), true)
    T.eq(e:addmsg("1"), false, "grow 0 was used")
    local f = mtmsg.newbuffer("5", 0)   -- name "5", size 0, default grow
    T.eq(f:name(), "5")
    for i = 1, 100 do T.eq(f:addmsg(i), true) end
end

------------------------------------------------------------------------------
-- fixed buffers fill exactly; false leaves contents untouched
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer(12, 0)
    T.eq(b:addmsg("a"), true)
    T.eq(b:addmsg("b"), true)
    T.eq(b:addmsg("c"), true)
    T.eq(b:addmsg("d"), false)
    T.eq(b:addmsg(), false, "even an empty message does not fit")
    U.expect_msgs(b, { T.pack("a"), T.pack("b"), T.pack("c") })
    -- empty: a message of the full capacity fits
    T.eq(b:addmsg(rep("z", 9)), true)
    T.eq(b:nextmsg(), rep("z", 9))
end

------------------------------------------------------------------------------
-- consumed space is reused: only queued bytes count
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer(20, 0)
    T.eq(b:addmsg("m000000"), true)   -- 10 bytes
    T.eq(b:addmsg("m000001"), true)   -- 20 bytes
    T.eq(b:addmsg("m000002"), false)
    for i = 2, 2001 do
        T.eq(b:nextmsg(0), string.format("m%06d", i - 2), "FIFO while cycling")
        T.eq(b:addmsg(string.format("m%06d", i)), true, "space reused, round " .. i)
    end
    U.expect_msgs(b, { T.pack("m002000"), T.pack("m002001") })
    -- a buffer that was full and was cleared takes the same again
    T.eq(b:addmsg("m000000"), true)
    T.eq(b:addmsg("m000001"), true)
    T.eq(b:clear(), true)
    T.eq(b:addmsg("m000003"), true)
    T.eq(b:addmsg("m000004"), true)
    T.eq(b:addmsg("m000005"), false)
end

------------------------------------------------------------------------------
-- [29] [30] setmsg on fixed buffers (decisions [30]: a failing setmsg leaves
-- the buffer exactly as it was)
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer(10, 0)
    T.eq(b:addmsg("12345"), true)      -- 8 bytes
    T.eq(b:addmsg("1"), false)         -- 4 more do not fit
    T.eq(b:setmsg("1234567"), true)    -- replaces: 10 bytes fit
    T.eq(b:msgcnt(), 1)
    T.raises_exactly(function() b:setmsg("12345678") end, U.size_err(11, 10, b))
    T.eq(b:msgcnt(), 1, "failed setmsg keeps the queued message")
    T.eq(b:nextmsg(0), "1234567", "failed setmsg keeps the queued message")
    -- several queued messages survive a failing setmsg
    local c = mtmsg.newbuffer(12, 0)
    c:addmsg("a"); c:addmsg("b"); c:addmsg("c")
    T.raises_exactly(function() c:setmsg(rep("x", 11)) end, U.size_err(14, 12, c))
    U.expect_msgs(c, { T.pack("a"), T.pack("b"), T.pack("c") }, "after failing setmsg")
    -- the README example: setmsg on a 4-byte buffer with the "hugo" test
    local h = mtmsg.newbuffer("hugo2", 4, 0)
    T.eq(h:addmsg("1"), true)
    T.raises_exactly(function() h:setmsg("m2") end,
        'mtmsg.error.message_size: message size 5 exceeds limit of 4 bytes for mtmsg.buffer(name="hugo2",id='
        .. h:id() .. ")")
    T.eq(h:msgcnt(), 1)
    T.eq(h:nextmsg(0), "1")
end

------------------------------------------------------------------------------
-- default size (1024) grows; large messages and many values
------------------------------------------------------------------------------
do
    local b = mtmsg.newbuffer()
    local big = rep("0123456789abcdef", 65536)   -- 1 MiB
    T.eq(b:addmsg(big, 1, big), true)
    T.eq(b:addmsg("after"), true)
    local x, one, y = b:nextmsg(0)
    T.eq(#x, #big)
    T.check(x == big and y == big, "1 MiB strings arrive intact")
    T.eq(one, 1)
    T.eq(b:nextmsg(0), "after")

    local many = {}
    for i = 1, 5000 do many[i] = (i % 3 == 0) and tostring(i) or i end
    T.eq(b:addmsg(U.unpack(many)), true, "5000 values")
    local got = T.pack(b:nextmsg(0))
    T.eq(got.n, 5000, "5000 values returned")
    for i = 1, 5000 do
        if got[i] ~= many[i] then T.eq(got[i], many[i], "value " .. i) end
    end

    for i = 1, 1000 do T.eq(b:addmsg(i, rep("v", i)), true) end
    T.eq(b:msgcnt(), 1000)
    for i = 1, 1000 do
        local n, s = b:nextmsg(0)
        if n ~= i or s ~= rep("v", i) then T.eq(n, i, "message " .. i) end
    end
    T.eq(b:msgcnt(), 0)

    local small = mtmsg.newbuffer(16)   -- grow factor 2 by default
    T.eq(small:addmsg(rep("s", 100000)), true)
    T.eq(small:nextmsg(), rep("s", 100000))
end

------------------------------------------------------------------------------
-- impossible sizes: out_of_memory (at construction or on the first message),
-- never a crash; nothing is stored
------------------------------------------------------------------------------
do
    for _, size in ipairs { 2 ^ 62, 1e15 } do
        local ok, b = pcall(mtmsg.newbuffer, size, 0)
        if ok then
            local e = T.raises(function() b:addmsg(1) end, "mtmsg.error.out_of_memory")
            T.eq(e:sub(1, #mtmsg.error.out_of_memory), mtmsg.error.out_of_memory, "no position prefix")
            T.eq(b:msgcnt(), 0, "nothing stored")
            T.eq(T.pack(b:nextmsg(0)).n, 0)
        else
            T.check(tostring(b):find("mtmsg.error.out_of_memory", 1, true),
                "newbuffer(" .. size .. "): " .. tostring(b))
        end
    end
    -- other buffers are unaffected
    local c = mtmsg.newbuffer()
    T.eq(c:addmsg(rep("c", 3000)), true)
    T.eq(c:nextmsg(), rep("c", 3000))
end

T.done("buffer_sizes")
