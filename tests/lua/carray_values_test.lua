-- carray objects as message values (the Carray C API consumed by mtmsg):
-- sending copies, receiving into new or caller-supplied arrays through
-- buffer:nextmsg, listener:nextmsg and reader:next, writer:add, sizes,
-- read-only and reference arrays, argument errors, threads.
-- Edge cases 68-75 and 65; decisions [65] (a carray in the timeout slot of
-- reader:nextmsg is an argument error), [74] (reusing a capacity-0 carray
-- for an empty element works), [75] (listener reports the true argument #).
local T = require "testlib"
local H = require "lnw_helpers"
local mtmsg = require "mtmsg"
local carray = require "carray"

local argerr = H.argerr

local function none(...) return select("#", ...) == 0 end

local function ints(...)
    local a = carray.new("int", select("#", ...))
    if select("#", ...) > 0 then a:set(1, ...) end
    return a
end

local function contents(a)
    if a:len() == 0 then return "" end
    return table.concat({ a:get(1, a:len()) }, ",")
end

local function is_carray(v)
    return mtmsg.type(v) == "carray"
end

H.guard(function()

T.eq(mtmsg.type(carray.new("int", 1)), "carray", "mtmsg.type of a carray")

-- ---------------------------------------------------------------- [68] copies
do
    local b = mtmsg.newbuffer()
    local a = ints(1, 2, 3)
    T.eq(b:addmsg(a), true)
    a:set(1, 99) -- the message holds a copy
    local r = b:nextmsg(0)
    T.check(is_carray(r), "received a carray")
    T.check(r ~= a, "[68] a new object")
    T.eq(r:type(), "int")
    T.eq(contents(r), "1,2,3")
    T.eq(r:isreadonly(), false, "received arrays are writable")
    r:set(1, 7)
    T.eq(contents(a), "99,2,3", "independent of the original")

    -- several element types, mixed with other values, order kept
    local d = carray.new("double", 2); d:set(1, 1.5, -2.25)
    local c = carray.new("char", 0); c:append("hello\0world")
    local ll = carray.new("long long", 1); ll:set(1, -123456789012)
    local us = carray.new("unsigned short", 2); us:set(1, 65535, 7)
    local sc = carray.new("signed char", 1); sc:set(1, -5)
    local f = carray.new("float", 1); f:set(1, 0.5)
    b:addmsg("pre", d, 7, c, nil, ll, us, sc, f, true)
    local m = T.pack(b:nextmsg(0))
    T.eq(m.n, 10)
    T.eq(m[1], "pre"); T.eq(m[3], 7); T.eq(m[5], nil); T.eq(m[10], true)
    T.eq(m[2]:type(), "double"); T.eq(contents(m[2]), "1.5,-2.25")
    T.eq(m[4]:type(), "unsigned char"); T.eq(m[4]:tostring(), "hello\0world")
    T.eq(m[6]:type(), "long long"); T.eq(m[6]:get(1), -123456789012)
    T.eq(m[7]:type(), "unsigned short"); T.eq(contents(m[7]), "65535,7")
    T.eq(m[8]:type(), "signed char"); T.eq(m[8]:get(1), -5)
    T.eq(m[9]:type(), "float"); T.eq(m[9]:get(1), 0.5)

    -- empty arrays travel fine
    b:addmsg(carray.new("double", 0), carray.new("char"))
    local e1, e2 = b:nextmsg(0)
    T.eq(e1:type(), "double"); T.eq(e1:len(), 0)
    T.eq(e2:type(), "unsigned char"); T.eq(e2:len(), 0)

    -- read-only and reference arrays can be sent; received copies are writable
    local ro = ints(4, 5):readonly()
    T.eq(ro:isreadonly(), true)
    local ref = carray._newref("int", 3, true)
    b:addmsg(ro, ref)
    local x, y = b:nextmsg(0)
    T.eq(contents(x), "4,5"); T.eq(x:isreadonly(), false)
    T.eq(contents(y), "0,0,0"); T.eq(y:isreadonly(), false)
    ref = nil -- luacheck: ignore 311 (GC drop)
    H.collect()

    -- a large array
    local big = carray.new("int", 100000)
    big:set(100000, 42)
    b:addmsg(big)
    local got = b:nextmsg(0)
    T.eq(got:len(), 100000)
    T.eq(got:get(100000), 42)
    T.eq(got:get(1), 0)
end

-- ---------------------------------------------------------------- sizes
do -- a carray counts 11 + elementSize * count bytes, plus the header
    local b = mtmsg.newbuffer("ca-fixed", 24, 0)
    T.eq(b:addmsg(ints(1, 2, 3)), true, "1 + 11 + 12 = 24 bytes fit")
    T.eq(b:addmsg(ints()), false, "full")
    b:clear()
    local c = mtmsg.newbuffer("ca-fixed2", 23, 0)
    T.raises_exactly(function() c:addmsg(ints(1, 2, 3)) end,
        'mtmsg.error.message_size: message size 24 exceeds limit of 23 bytes for mtmsg.buffer(name="ca-fixed2",id='
            .. c:id() .. ')')
    T.eq(c:addmsg(ints()), true, "an empty int array: 12 bytes")
    local w = mtmsg.newwriter(11, 0)
    w:add(carray.new("double", 0))
    T.raises(function() w:add(carray.new("char", 0)) end,
        "mtmsg.error.message_size: message size 22 exceeds limit of 11 bytes")
end

-- ---------------------------------------------------------------- [69] [70] reuse
do
    local b = mtmsg.newbuffer()
    local a1 = carray.new("int")
    b:addmsg(ints(1, 2))
    T.eq(b:nextmsg(nil, a1), a1, "[69] nextmsg(nil, a1) returns a1")
    T.eq(contents(a1), "1,2")
    b:addmsg(ints(3))
    T.eq(b:nextmsg(a1), a1, "[69] nextmsg(a1) returns a1")
    T.eq(contents(a1), "3")
    b:addmsg(ints(4, 5, 6))
    T.eq(b:nextmsg(0, a1), a1, "[69] nextmsg(0, a1) returns a1")
    T.eq(contents(a1), "4,5,6")
    b:addmsg("no", "arrays")
    T.results(T.pack(b:nextmsg(nil, a1)), "no", "arrays")
    T.eq(a1:len(), 0, "[69] an unused candidate is reset to length 0")
    T.check(none(b:nextmsg(0, a1)), "no message")

    -- nextmsg(a1) without timeout blocks like nextmsg(): use nonblock here
    local nb = mtmsg.buffer(b:id())
    nb:nonblock()
    T.check(none(nb:nextmsg(a1)), "carray first: no timeout, nonblock decides")

    -- [70] a non-carray candidate: argument error, the message stays queued
    b:addmsg(ints(7, 8))
    argerr(function() b:nextmsg(a1, "xx") end, 2, "nextmsg", "carray expected")
    T.eq(b:msgcnt(), 1, "[70] the message stays queued")
    argerr(function() b:nextmsg(nil, a1, {}) end, 3, "nextmsg", "carray expected")
    argerr(function() b:nextmsg(0, a1, mtmsg.newbuffer()) end, 3, "nextmsg", "carray expected")
    argerr(function() b:nextmsg(nil, "xx") end, 2, "nextmsg", "carray expected")
    T.eq(b:msgcnt(), 1)
    local v = b:nextmsg(0, nil, a1, nil)
    T.eq(v, a1, "nils are skipped")
    T.eq(contents(a1), "7,8")
    b:addmsg(1)
    argerr(function() b:nextmsg(nil, a1, 5) end, 3, "nextmsg", "carray expected")
    T.eq(b:msgcnt(), 1)
    T.eq(b:nextmsg(0), 1)

    -- read-only candidates
    local ro = ints(1):readonly()
    b:addmsg(ints(1, 2))
    argerr(function() b:nextmsg(nil, ro) end, 2, "nextmsg", "writable carray expected")
    T.eq(b:msgcnt(), 1)
    T.eq(contents(b:nextmsg(0)), "1,2")
    b:addmsg("x")
    argerr(function() b:nextmsg(nil, ro) end, 2, "nextmsg", "writable carray expected")
    T.eq(b:msgcnt(), 1)
    b:clear()
end

-- ---------------------------------------------------------------- [71] [72]
do
    local b = mtmsg.newbuffer()
    local a1 = carray.new("int", 1)
    local a2 = carray.new("char", 5)
    b:addmsg(ints(1, 2, 3), ints(4, 5, 6))
    local v1, v2 = b:nextmsg(nil, a2, a1, nil)
    T.eq(v1, a1, "[71] first element into the int candidate")
    T.eq(a2:len(), 0, "[71] the char candidate is reset and consumed")
    T.check(is_carray(v2) and v2 ~= a1 and v2 ~= a2, "[71] second element: a new carray")
    T.eq(contents(v1), "1,2,3")
    T.eq(contents(v2), "4,5,6")

    local c1, c2 = carray.new("int", 7), carray.new("int", 0)
    b:addmsg(ints(1, 2, 3), ints(4, 5, 6))
    local w1, w2 = b:nextmsg(nil, c1, c2)
    T.eq(w1, c1, "[72]"); T.eq(w2, c2, "[72]")
    T.eq(c1:len(), 3); T.eq(c2:len(), 3, "[72] a2 resized to 3")
    T.eq(contents(c2), "4,5,6")

    -- more candidates than array elements: the rest are reset
    local d1, d2, d3 = ints(9, 9), ints(9), carray.new("double", 3)
    b:addmsg("s", ints(5), 1)
    local s, got, one = b:nextmsg(nil, d1, d2, d3)
    T.eq(s, "s"); T.eq(got, d1); T.eq(one, 1)
    T.eq(contents(d1), "5")
    T.eq(d2:len(), 0); T.eq(d3:len(), 0)

    -- [74] a capacity-0 candidate for an empty array element
    local z = carray.new("int")
    T.eq(z:capacity(), 0)
    b:addmsg(carray.new("int", 0))
    local zz = b:nextmsg(nil, z)
    T.eq(zz, z, "[74] the capacity-0 carray is reused")
    T.eq(z:len(), 0)
    T.eq(b:msgcnt(), 0)
    local l = mtmsg.newlistener()
    local lb = l:newbuffer()
    lb:addmsg(carray.new("double", 0))
    local zd = carray.new("double")
    T.eq(l:nextmsg(0, zd), zd, "[74] through a listener")
    local r = mtmsg.newreader()
    lb:addmsg(carray.new("double", 0))
    r:nextmsg(lb)
    T.eq(r:next(zd), zd, "[74] through a reader")
end

-- ---------------------------------------------------------------- listener [75]
do
    local l = mtmsg.newlistener()
    local lb = l:newbuffer()
    local b = mtmsg.newbuffer()
    local arr = carray.new("int")
    lb:addmsg(ints(1))
    b:addmsg(ints(1))
    argerr(function() b:nextmsg(nil, arr, "xx") end, 3, "nextmsg", "carray expected")
    argerr(function() l:nextmsg(nil, arr, "xx") end, 3, "nextmsg", "carray expected") -- [75]
    argerr(function() l:nextmsg(0, arr, "xx") end, 3, "nextmsg", "carray expected")
    argerr(function() l:nextmsg(arr, "xx") end, 2, "nextmsg", "carray expected")
    argerr(function() l:nextmsg(nil, "xx") end, 2, "nextmsg", "carray expected")
    local ro = ints(1):readonly()
    argerr(function() l:nextmsg(nil, arr, ro) end, 3, "nextmsg", "writable carray expected")
    T.eq(lb:msgcnt(), 1, "the message stays queued")
    T.eq(l:nextmsg(nil, arr), arr)
    T.eq(contents(arr), "1")
    lb:addmsg(ints(2, 3))
    T.eq(l:nextmsg(arr), arr)
    T.eq(contents(arr), "2,3")
    b:clear()
end

-- ---------------------------------------------------------------- reader / writer [73] [65]
do
    local b = mtmsg.newbuffer()
    local w = mtmsg.newwriter()
    local r = mtmsg.newreader()
    w:add(ints(1, 2, 3), "mid", carray.new("char", 30))
    w:addmsg(b)
    T.eq(r:nextmsg(b), true)
    local a1 = carray.new("int")
    a1:setlen(10)
    T.eq(r:next(a1), a1, "[73] reader:next(a1) reuses a1")
    T.eq(a1:len(), 3)
    T.eq(contents(a1), "1,2,3")
    T.eq(r:next(), "mid")
    local c = r:next(a1)
    T.eq(a1:len(), 0, "[73] a different type resets the candidate")
    T.check(is_carray(c) and c ~= a1, "a new array")
    T.eq(c:type(), "unsigned char")
    T.eq(c:len(), 30)
    T.check(none(r:next(carray.new("int"))), "[73] empty reader")
    local keep = ints(1, 2)
    T.check(none(r:next(1, keep)))
    T.eq(keep:len(), 0, "candidates are reset even when nothing is returned")

    -- count plus candidates
    w:add(ints(1), ints(2), ints(3))
    w:addmsg(b)
    r:nextmsg(b)
    local p, q = ints(), ints()
    local x1, x2 = r:next(2, p, q)
    T.eq(x1, p); T.eq(x2, q)
    T.eq(contents(p) .. "|" .. contents(q), "1|2")
    local x3 = r:next(-1, p, q)
    T.eq(x3, p)
    T.eq(contents(p), "3")
    T.eq(q:len(), 0, "unused candidate reset")
    w:add(5); w:addmsg(b)
    r:nextmsg(b)
    argerr(function() r:next(1, ints():readonly()) end, 2, "next", "writable carray expected")
    r:clear()

    -- [65] decision: a carray in the timeout slot is an argument error
    b:addmsg("m")
    argerr(function() r:nextmsg(b, carray.new("int")) end, 2, "nextmsg", "timeout seconds expected")
    local l = mtmsg.newlistener()
    local lb = l:newbuffer()
    lb:addmsg("m")
    argerr(function() r:nextmsg(l, carray.new("int")) end, 2, "nextmsg", "timeout seconds expected")
    T.eq(b:msgcnt(), 1); T.eq(lb:msgcnt(), 1)

    -- writer copies at add time
    local src = ints(1, 2)
    w:add(src)
    src:set(1, 100)
    w:addmsg(b)
    b:nextmsg(0) -- "m"
    T.eq(contents(b:nextmsg(0)), "1,2", "writer:add copies the array")
end

-- ---------------------------------------------------------------- threads
do
    local b = mtmsg.newbuffer()
    local back = mtmsg.newbuffer()
    local t = H.start(function(bid, backid)
        local mtmsg = require "mtmsg"
        local carray = require "carray"
        local b, back = mtmsg.buffer(bid), mtmsg.buffer(backid)
        local reuse = carray.new("double")
        for i = 1, 50 do
            local a = b:nextmsg(5, reuse)
            assert(a == reuse, "reused in the thread")
            local sum = 0
            for k = 1, a:len() do sum = sum + a:get(k) end
            local out = carray.new("long", 2)
            out:set(1, i, sum)
            back:addmsg(out)
        end
        return true
    end, b:id(), back:id())
    for i = 1, 50 do
        local a = carray.new("double", i)
        for k = 1, i do a:set(k, k) end
        b:addmsg(a)
    end
    local recv = carray.new("long")
    for i = 1, 50 do
        local a = back:nextmsg(5, recv)
        T.eq(a, recv)
        T.eq(contents(a), string.format("%d,%d", i, i * (i + 1) / 2))
    end
    T.eq(H.join(t), true)
end

end)

T.done("carray_values")
