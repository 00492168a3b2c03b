-- LuaJIT FFI consumers: the C APIs of buffers (and states) used from FFI
-- through include/mtmsg_ffi.lua, which reads the vtables from the
-- metatables as the headers describe. Runs under LuaJIT only.
local T = require "testlib"
if not T.luajit then
    print("luajit_ffi: not LuaJIT, nothing to test")
    return
end
local mtmsg = require "mtmsg"
local capi = require "mtmsg_ffi"
local ffi = require "ffi"

do -- Receiver: add messages from FFI, read them back with nextmsg
    local b = mtmsg.newbuffer()
    local r = capi.receiver(b)
    local w = r:writer()
    T.eq(w:add(1, "two", true, 4.5), 0)
    T.results(T.pack(r:send(w)), 0, nil)
    T.results(T.pack(b:nextmsg(0)), 1, "two", true, 4.5)
    -- an int array element
    local p = ffi.cast("int*", w:addarray(5, 3))
    p[0], p[1], p[2] = 7, 8, 9
    T.eq(r:send(w), 0)
    T.eq(b:msgcnt(), 1)
    -- fixed-size buffer: too large (5) and full (4)
    local small = mtmsg.newbuffer(4, 0)
    local rs = capi.receiver(small)
    local w2 = rs:writer()
    w2:add("123456")
    T.eq(rs:send(w2), 5, "message alone too large")
    w2:clear(); w2:add("1")
    T.eq(rs:send(w2), 0)
    w2:add("1")
    T.eq(rs:send(w2), 4, "queue full")
    small:close()
    T.eq(rs:send(w2), 1, "closed")
end

do -- Sender: drain a buffer from FFI
    local b = mtmsg.newbuffer()
    b:addmsg("a", 2, false)
    local s = capi.sender(b)
    local rd = s:reader()
    T.eq(s:next(rd, 0), 0)
    local v = rd:values()
    T.eq(v.n, 3); T.eq(v[1], "a"); T.eq(v[2], 2); T.eq(v[3], false)
    T.eq(s:next(rd, 0), 3, "no message")
    -- a table (our extension) is one opaque value; what follows is intact
    b:addmsg({ 1, { 2 } }, "after")
    T.eq(s:next(rd, 0), 0)
    v = rd:values()
    T.eq(v.n, 2); T.eq(v[1], capi.TABLE); T.eq(v[2], "after")
end

do -- Notify: one empty message per notify
    local b = mtmsg.newbuffer()
    local n = capi.notifier(b)
    T.eq(n:notify(), 0)
    T.eq(n:notify(), 0)
    T.eq(b:msgcnt(), 2)
    T.eq(select("#", b:nextmsg(0)), 0)
    b:abort()
    T.eq(n:notify(), 2, "aborted")
    b:abort(false)
end

do -- no API on other values; the holder keeps the buffer alive
    T.eq(capi.api({}, "receiver"), nil)
    local id
    local r -- luacheck: ignore 231 (only holds the FFI holder alive)
    do
        local b = mtmsg.newbuffer("ffi-held")
        id = b:id()
        r = capi.receiver(b)
    end
    collectgarbage(); collectgarbage()
    T.eq(mtmsg.buffer(id):id(), id, "retained by the FFI holder")
    r = nil
    collectgarbage(); collectgarbage()
    T.raises(function() mtmsg.buffer(id) end, "mtmsg.error.unknown_object")
end

T.done("luajit_ffi")
