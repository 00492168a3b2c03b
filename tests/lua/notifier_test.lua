-- buffer:notifier(ntf[, type[, threshold]]) with buffers as notifiers (the
-- Notify C API of mtmsg.buffer used from Lua): arguments, slots, thresholds,
-- triggering operations, failing/closed notifiers, retention and release on
-- disconnect and garbage collection, README example06, notification from
-- other threads.
-- Edge cases 76-84; decisions [1] (has_notifier in the error table) and
-- [77] (notifier(nil, "<") disconnects the "<" notifier).
local T = require "testlib"
local H = require "lnw_helpers"
local mtmsg = require "mtmsg"

local argerr, collect = H.argerr, H.collect

local function none(...) return select("#", ...) == 0 end

-- message count of a buffer known only by id, without keeping it alive
local function count_of(id)
    local b = mtmsg.buffer(id)
    local c = b:msgcnt()
    b = nil -- luacheck: ignore 311 (GC drop)
    return c
end

local function unknown(id)
    T.raises_exactly(function() mtmsg.buffer(id) end, "mtmsg.error.unknown_object: buffer id " .. id)
end

-- waits (at most 5 s) for one message in b, which must be empty
local waiter_reader = mtmsg.newreader()
local function wait_note(b, what)
    T.eq(waiter_reader:nextmsg(b, 5), true, what or "notification arrived")
    T.check(none(waiter_reader:next()), "a notification is an empty message")
end

local UNKNOWN = "^.+:%d+: Unknown error while calling notifier%. %(rc=(%d+)%)$"

-- expects "<chunk>:<line>: Unknown error while calling notifier. (rc=<rc>)"
local function notifier_failed(f, rc)
    local err = T.raises(f, "Unknown error while calling notifier. (rc=" .. rc .. ")")
    T.eq(err:match(UNKNOWN), tostring(rc), "error text " .. err)
end

H.guard(function()

-- ---------------------------------------------------------------- [1] [76] arguments
T.eq(mtmsg.error.has_notifier, "mtmsg.error.has_notifier", "[1] has_notifier in the error table")

do
    local b = mtmsg.newbuffer()
    local n = mtmsg.newbuffer()
    argerr(function() b:notifier() end, 1, "notifier", "notifier or nil expected")
    argerr(function() b:notifier(1) end, 1, "notifier", "notifier expected")
    argerr(function() b:notifier("x") end, 1, "notifier", "notifier expected")
    argerr(function() b:notifier(true) end, 1, "notifier", "notifier expected")
    argerr(function() b:notifier({}) end, 1, "notifier", "notifier expected")
    argerr(function() b:notifier(print) end, 1, "notifier", "notifier expected")
    argerr(function() b:notifier(mtmsg.newlistener()) end, 1, "notifier", "notifier expected")
    argerr(function() b:notifier(mtmsg.newwriter()) end, 1, "notifier", "notifier expected")
    argerr(function() b:notifier(mtmsg.newreader()) end, 1, "notifier", "notifier expected")
    argerr(function() b:notifier(n, "x") end, 2, "notifier", "invalid option 'x'")
    argerr(function() b:notifier(n, "<>") end, 2, "notifier", "invalid option '<>'")
    argerr(function() b:notifier(n, ">", "x") end, 3, "notifier", "number expected, got string")
    argerr(function() b:notifier(n, "<", {}) end, 3, "notifier", "number expected, got table")
    if T.has_integers then
        argerr(function() b:notifier(n, ">", 1.5) end, 3, "notifier", "number has no integer representation")
    end
    -- a foreign value that carries the buffer metatable (and so a valid
    -- Notify C API) is not a buffer: toNotifier gives NULL
    local fake = setmetatable({}, debug.getmetatable(n))
    argerr(function() b:notifier(fake) end, 1, "notifier", "invalid notifier")
    -- nothing got connected by the failing calls
    b:addmsg(1)
    T.eq(n:msgcnt(), 0, "no notifier connected by failed calls")
    b:nextmsg(0)
    T.eq(n:msgcnt(), 0)

    -- one notifier per slot [76]
    b:notifier(n)
    local n2 = mtmsg.newbuffer()
    T.raises_exactly(function() b:notifier(n2) end, "mtmsg.error.has_notifier")
    T.raises_exactly(function() b:notifier(n2, ">") end, "mtmsg.error.has_notifier")
    T.raises_exactly(function() b:notifier(n, ">", 3) end, "mtmsg.error.has_notifier")
    T.raises_exactly(function() mtmsg.buffer(b:id()):notifier(n2) end, "mtmsg.error.has_notifier")
    b:notifier(n2, "<") -- the other slot is free
    T.raises_exactly(function() b:notifier(n, "<") end, "mtmsg.error.has_notifier")
    b:addmsg("x")
    T.eq(n:msgcnt(), 1, "> notified once")
    T.eq(n2:msgcnt(), 0)
    T.eq(b:nextmsg(0), "x")
    T.eq(n2:msgcnt(), 1, "< notified once")
    T.eq(n:msgcnt(), 1)
    T.results(T.pack(n:nextmsg(0))) -- the notification is an empty message
end

-- ---------------------------------------------------------------- [77] disconnect
do
    local b = mtmsg.newbuffer()
    local up, down = mtmsg.newbuffer(), mtmsg.newbuffer()
    b:notifier(up, ">")
    b:notifier(down, "<")
    b:addmsg(1)
    b:nextmsg(0)
    T.eq(up:msgcnt(), 1); T.eq(down:msgcnt(), 1)
    b:notifier(nil, "<") -- [77] disconnects "<"
    b:addmsg(2)
    b:nextmsg(0)
    T.eq(up:msgcnt(), 2, "> still connected")
    T.eq(down:msgcnt(), 1, "< disconnected")
    T.raises_exactly(function() b:notifier(mtmsg.newbuffer(), ">") end, "mtmsg.error.has_notifier")
    b:notifier(down, "<") -- the "<" slot is free again
    b:notifier(nil, ">")
    b:addmsg(3)
    b:nextmsg(0)
    T.eq(up:msgcnt(), 2, "> disconnected by (nil, '>')")
    T.eq(down:msgcnt(), 2, "< reconnected")
    b:notifier(nil, ">") -- empty slot: no-op
    b:notifier(up)
    b:addmsg(4)
    T.eq(up:msgcnt(), 3)
    b:notifier(nil) -- (nil) disconnects ">"
    b:addmsg(5)
    T.eq(up:msgcnt(), 3, "> disconnected by (nil)")
    b:notifier(up, ">")
    b:notifier(nil, nil)
    b:addmsg(6)
    T.eq(up:msgcnt(), 3, "> disconnected by (nil, nil)")
    b:notifier(nil, "<")
    b:clear()
    b:addmsg(7); b:nextmsg(0)
    T.eq(down:msgcnt(), 2, "< disconnected again")
    b:notifier(nil, "<") -- no-op
end

-- ---------------------------------------------------------------- [78] thresholds
do
    local b, n = mtmsg.newbuffer(), mtmsg.newbuffer()
    b:notifier(n, ">", 2)
    b:addmsg(1); T.eq(n:msgcnt(), 0, "count 1 > 2? no")
    b:addmsg(2); T.eq(n:msgcnt(), 0, "count 2 > 2? no")
    b:addmsg(3); T.eq(n:msgcnt(), 1, "count 3 > 2")
    b:addmsg(4); T.eq(n:msgcnt(), 2, "count 4 > 2")
    b:nextmsg(0); b:nextmsg(0)
    b:addmsg(5); T.eq(n:msgcnt(), 3, "count 3 again")
    b:nextmsg(0); b:nextmsg(0)
    b:addmsg(6); T.eq(n:msgcnt(), 3, "count 2: no")

    local c, d = mtmsg.newbuffer(), mtmsg.newbuffer()
    for i = 1, 4 do c:addmsg(i) end
    c:notifier(d, "<", 2)
    c:nextmsg(0); T.eq(d:msgcnt(), 0, "count 3 < 2? no")
    c:nextmsg(0); T.eq(d:msgcnt(), 0, "count 2 < 2? no")
    c:nextmsg(0); T.eq(d:msgcnt(), 1, "count 1 < 2")
    c:nextmsg(0); T.eq(d:msgcnt(), 2, "count 0 < 2")
    T.check(none(c:nextmsg(0)))
    T.eq(d:msgcnt(), 2, "nothing removed: no notification")

    local e, f = mtmsg.newbuffer(), mtmsg.newbuffer()
    e:notifier(f, ">", -1)
    for i = 1, 3 do e:addmsg(i) end
    T.eq(f:msgcnt(), 3, "negative threshold: every addition")
    e:notifier(nil)
    e:clear()
    e:notifier(f, ">", 0)
    e:addmsg(1); e:addmsg(2)
    T.eq(f:msgcnt(), 5, "threshold 0: every addition")

    local g, h = mtmsg.newbuffer(), mtmsg.newbuffer()
    for i = 1, 3 do g:addmsg(i) end
    g:notifier(h, "<", 0)
    g:nextmsg(0); g:nextmsg(0); g:nextmsg(0)
    T.eq(h:msgcnt(), 3, "< threshold 0: every removal")
    g:notifier(nil, "<")
    for i = 1, 3 do g:addmsg(i) end
    g:notifier(h, "<", -5)
    g:nextmsg(0); g:nextmsg(0)
    T.eq(h:msgcnt(), 5, "< negative threshold: every removal")
    g:notifier(nil, "<")
    g:notifier(h, "<") -- default threshold
    g:nextmsg(0)
    T.eq(h:msgcnt(), 6)
    g:addmsg(1); g:addmsg(2); g:addmsg(3)
    g:notifier(nil, "<")
    g:notifier(h, "<", 1)
    g:nextmsg(0); T.eq(h:msgcnt(), 6, "count 2 < 1? no")
    g:nextmsg(0); T.eq(h:msgcnt(), 6, "count 1 < 1? no")
    g:nextmsg(0); T.eq(h:msgcnt(), 7, "count 0 < 1")
end

-- ---------------------------------------------------------------- [79] triggering operations
do
    local b = mtmsg.newbuffer()
    local up, down = mtmsg.newbuffer(), mtmsg.newbuffer()
    b:notifier(up, ">")
    b:notifier(down, "<")
    b:addmsg(1); b:addmsg(2); b:addmsg(3)
    T.eq(up:msgcnt(), 3)
    T.eq(b:setmsg("s"), true)
    T.eq(up:msgcnt(), 4, "setmsg triggers >")
    T.eq(down:msgcnt(), 0, "the discard part of setmsg does not trigger <")
    T.eq(b:clear(), true)
    T.eq(down:msgcnt(), 0, "clear does not trigger <")
    local w = mtmsg.newwriter()
    w:add(1); w:addmsg(b)
    T.eq(up:msgcnt(), 5, "writer:addmsg triggers >")
    w:add(2); w:setmsg(b)
    T.eq(up:msgcnt(), 6, "writer:setmsg triggers >")
    T.eq(down:msgcnt(), 0)
    local r = mtmsg.newreader()
    T.eq(r:nextmsg(b), true)
    T.eq(r:next(), 2)
    T.eq(down:msgcnt(), 1, "reader:nextmsg triggers <")
    b:addmsg(); b:addmsg(nil)
    T.eq(up:msgcnt(), 8, "empty and nil messages trigger >")
    b:nextmsg(0); b:nextmsg(0)
    T.eq(down:msgcnt(), 3, "buffer:nextmsg triggers <")
    -- timeouts, failed adds and errors do not notify
    T.check(none(b:nextmsg(0)))
    T.eq(down:msgcnt(), 3)
    b:abort()
    T.raises(function() b:addmsg(1) end, "mtmsg.error.operation_aborted")
    b:abort(false)
    T.eq(up:msgcnt(), 8, "aborted addmsg: no notification")
    b:addmsg(1)
    b:abort(); b:abort(false)
    T.eq(down:msgcnt(), 3, "abort does not notify")
    b:close()
    T.eq(down:msgcnt(), 3, "close does not notify")
    T.eq(up:msgcnt(), 9)

    -- listener operations on listener buffers
    local l = mtmsg.newlistener()
    local lb = l:newbuffer()
    local lup, ldown = mtmsg.newbuffer(), mtmsg.newbuffer()
    lb:notifier(lup, ">")
    lb:notifier(ldown, "<")
    lb:addmsg(1); lb:addmsg(2); lb:addmsg(3)
    T.eq(l:nextmsg(0), 1)
    T.eq(ldown:msgcnt(), 1, "listener:nextmsg triggers <")
    T.eq(r:nextmsg(l, 0), true)
    T.eq(ldown:msgcnt(), 2, "reader:nextmsg(listener) triggers <")
    T.eq(l:clear(), true)
    T.eq(ldown:msgcnt(), 2, "listener:clear does not trigger <")
    T.eq(lup:msgcnt(), 3)
end

-- ---------------------------------------------------------------- [80] [81] failing notifiers
do -- [80] a closed notifier is dropped
    local b, n = mtmsg.newbuffer(), mtmsg.newbuffer()
    b:notifier(n)
    b:addmsg(1)
    T.eq(n:msgcnt(), 1)
    n:close()
    T.eq(b:addmsg(2), true, "[80] addmsg to a buffer with a closed notifier")
    T.eq(b:msgcnt(), 2)
    local n2 = mtmsg.newbuffer()
    b:notifier(n2) -- the slot was cleared
    b:addmsg(3)
    T.eq(n2:msgcnt(), 1)

    local c, d = mtmsg.newbuffer(), mtmsg.newbuffer()
    c:notifier(d, "<")
    c:addmsg(1); c:addmsg(2)
    d:close()
    T.eq(c:nextmsg(0), 1, "removal with a closed < notifier")
    c:notifier(n2, "<") -- the slot was cleared
    T.eq(c:nextmsg(0), 2)
    T.eq(n2:msgcnt(), 2)
end

do -- [81] aborted notifier: rc=2, message stored, notifier stays connected
    local b, n = mtmsg.newbuffer(), mtmsg.newbuffer()
    b:notifier(n)
    n:abort()
    notifier_failed(function() b:addmsg("m1") end, 2)
    T.eq(b:msgcnt(), 1, "the message was stored")
    T.raises_exactly(function() b:notifier(mtmsg.newbuffer()) end, "mtmsg.error.has_notifier")
    notifier_failed(function() b:setmsg("m2") end, 2)
    T.eq(b:msgcnt(), 1)
    local w = mtmsg.newwriter()
    w:add("m3")
    notifier_failed(function() w:addmsg(b) end, 2)
    T.eq(b:msgcnt(), 2, "writer message stored")
    n:abort(false)
    T.eq(b:addmsg("m4"), true)
    T.eq(n:msgcnt(), 1, "still connected")
    T.eq(b:nextmsg(0), "m2")
    T.eq(b:nextmsg(0), "m3")
    T.eq(b:nextmsg(0), "m4")

    -- a full fixed notifier buffer: rc=4
    local c = mtmsg.newbuffer()
    local f = mtmsg.newbuffer(1, 0) -- room for exactly one empty message
    c:notifier(f)
    T.eq(c:addmsg(1), true)
    T.eq(f:msgcnt(), 1)
    notifier_failed(function() c:addmsg(2) end, 4)
    T.eq(c:msgcnt(), 2)
    f:nextmsg(0)
    T.eq(c:addmsg(3), true)

    -- a failing "<" notifier: the message was removed anyway
    local d, dn = mtmsg.newbuffer(), mtmsg.newbuffer()
    d:addmsg("r1"); d:addmsg("r2")
    d:notifier(dn, "<")
    dn:abort()
    notifier_failed(function() d:nextmsg(0) end, 2)
    T.eq(d:msgcnt(), 1, "removed")
    local r = mtmsg.newreader()
    notifier_failed(function() r:nextmsg(d) end, 2)
    T.eq(d:msgcnt(), 0)
    T.eq(r:next(), "r2", "the reader got the message")
    dn:abort(false)

    local l = mtmsg.newlistener()
    local lb = l:newbuffer()
    lb:addmsg("l1")
    lb:notifier(dn, "<")
    dn:abort()
    notifier_failed(function() l:nextmsg(0) end, 2)
    T.eq(lb:msgcnt(), 0)
    dn:abort(false)
end

-- ---------------------------------------------------------------- closed / aborted connecting buffer
do
    local b, n = mtmsg.newbuffer("nt-closed"), mtmsg.newbuffer()
    b:abort()
    b:notifier(n) -- abort is not checked
    b:notifier(nil)
    b:abort(false)
    b:close()
    local cerr = 'mtmsg.error.object_closed: mtmsg.buffer(name="nt-closed",id=' .. b:id() .. ')'
    T.raises_exactly(function() b:notifier(n) end, cerr)
    T.raises_exactly(function() b:notifier(n, "<") end, cerr)
    T.raises_exactly(function() b:notifier(nil) end, cerr)
end

-- ---------------------------------------------------------------- [82] retention and release
do -- a notifier buffer without Lua references stays alive while connected
    local b = mtmsg.newbuffer()
    local n = mtmsg.newbuffer("nt-retained")
    local nid = n:id()
    b:notifier(n)
    n = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.eq(count_of(nid), 0, "[82] findable by id")
    T.eq(mtmsg.buffer("nt-retained"):id(), nid, "findable by name")
    b:addmsg(1); b:addmsg(2)
    collect()
    T.eq(count_of(nid), 2, "still notified")
    b:notifier(nil)
    collect()
    unknown(nid)
end

do -- the connecting buffer is collected first: the notifier is released
    local b = mtmsg.newbuffer()
    local n = mtmsg.newbuffer()
    local nid = n:id()
    b:notifier(n, "<")
    n = nil -- luacheck: ignore 311 (GC drop)
    b:addmsg(1)
    b:nextmsg(0)
    collect()
    T.eq(count_of(nid), 1)
    b = nil -- luacheck: ignore 311 (GC drop)
    collect()
    unknown(nid)

    -- both slots hold the same notifier: retained twice, released twice
    local c = mtmsg.newbuffer()
    local m = mtmsg.newbuffer()
    local mid = m:id()
    c:notifier(m, ">")
    c:notifier(m, "<")
    m = nil -- luacheck: ignore 311 (GC drop)
    collect()
    c:addmsg(1); c:nextmsg(0)
    T.eq(count_of(mid), 2)
    c:notifier(nil, ">")
    collect()
    T.eq(count_of(mid), 2, "still retained by the < slot")
    c = nil -- luacheck: ignore 311 (GC drop)
    collect()
    unknown(mid)

    -- a Lua reference survives the release
    local d = mtmsg.newbuffer()
    local k = mtmsg.newbuffer()
    d:notifier(k)
    d:addmsg(1)
    d = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.eq(k:msgcnt(), 1, "notifier with its own reference is unaffected")
    k:addmsg("own")
    T.eq(k:msgcnt(), 2)
end

do -- one notifier shared by two buffers: released after both are gone
    local a, b = mtmsg.newbuffer(), mtmsg.newbuffer()
    local n = mtmsg.newbuffer()
    local nid = n:id()
    a:notifier(n); b:notifier(n)
    n = nil -- luacheck: ignore 311 (GC drop)
    a = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.eq(count_of(nid), 0, "retained by b")
    b:addmsg(1)
    T.eq(count_of(nid), 1)
    b = nil -- luacheck: ignore 311 (GC drop)
    collect()
    unknown(nid)
end

do -- a collected listener buffer with messages keeps its notifiers until
   -- its messages are consumed, then releases them
    local l = mtmsg.newlistener()
    local lb = l:newbuffer()
    local n = mtmsg.newbuffer()
    local nid = n:id()
    lb:notifier(n, "<")
    n = nil -- luacheck: ignore 311 (GC drop)
    lb:addmsg("g1"); lb:addmsg("g2")
    lb = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.eq(count_of(nid), 0, "retained")
    T.eq(l:nextmsg(0), "g1")
    T.eq(count_of(nid), 1, "< notified by listener:nextmsg of a collected buffer")
    T.eq(l:nextmsg(0), "g2")
    collect()
    unknown(nid)
    T.raises(function() l:nextmsg(0) end, "mtmsg.error.no_buffers")
end

do -- a buffer notifying itself on removal [84]
    local b = mtmsg.newbuffer()
    local bid = b:id()
    b:notifier(b, "<")
    b:addmsg("x")
    T.results(T.pack(b:nextmsg(0)), "x")
    T.eq(b:msgcnt(), 1, "[84] an empty message left behind")
    T.results(T.pack(b:nextmsg(0)))
    T.eq(b:msgcnt(), 1, "and again")
    b:notifier(nil, "<")
    T.results(T.pack(b:nextmsg(0)))
    T.eq(b:msgcnt(), 0)
    b = nil -- luacheck: ignore 311 (GC drop)
    collect()
    unknown(bid)
end

do -- notifier chains: a notifier buffer with its own notifier
    local a, b, c = mtmsg.newbuffer(), mtmsg.newbuffer(), mtmsg.newbuffer()
    a:notifier(b)
    b:notifier(c)
    a:addmsg(1); a:addmsg(2)
    T.eq(b:msgcnt(), 2)
    T.eq(c:msgcnt(), 2)
    -- a listener buffer as notifier wakes the listener
    local l = mtmsg.newlistener()
    local lb = l:newbuffer()
    local s = mtmsg.newbuffer()
    s:notifier(lb)
    s:addmsg("payload")
    T.results(T.pack(l:nextmsg(0)))
    T.eq(lb:msgcnt(), 0)
    T.check(none(l:nextmsg(0)))
end

-- ---------------------------------------------------------------- [83] example06
do
    local n = mtmsg.newbuffer()
    local b1, b2 = mtmsg.newbuffer(), mtmsg.newbuffer()
    b1:notifier(n); b2:notifier(n)
    b1:addmsg("x"); b2:addmsg(nil); b1:addmsg(); b2:addmsg(1, 2)
    T.eq(n:msgcnt(), 4, "[83] one empty message per addmsg")
    for _ = 1, 4 do T.results(T.pack(n:nextmsg(0))) end
    T.eq(n:msgcnt(), 0)
end

do -- README example06 with a real thread
    local threadIn = mtmsg.newbuffer()
    local lst = mtmsg.newlistener()
    local threadOut1 = lst:newbuffer()
    local threadOut2 = lst:newbuffer()
    local notifier = mtmsg.newbuffer()
    threadOut1:notifier(notifier)
    threadOut2:notifier(notifier)
    local thread = H.start(function(inId, outId1, outId2)
        local mtmsg = require "mtmsg"
        local threadIn = mtmsg.buffer(inId)
        local threadOut1 = mtmsg.buffer(outId1)
        local threadOut2 = mtmsg.buffer(outId2)
        threadOut1:addmsg("started")
        assert(threadIn:nextmsg() == "next1")
        threadOut2:addmsg(nil)
        assert(threadIn:nextmsg() == "next2")
        threadOut1:addmsg()
        assert(threadIn:nextmsg() == "exit")
        threadOut1:addmsg("finished")
        return true
    end, threadIn:id(), threadOut1:id(), threadOut2:id())
    wait_note(notifier)
    T.results(T.pack(threadOut1:nextmsg(0)), "started")
    T.results(T.pack(threadOut2:nextmsg(0)))
    threadIn:addmsg("next1")
    wait_note(notifier)
    T.results(T.pack(threadOut1:nextmsg(0)))
    T.results(T.pack(threadOut2:nextmsg(0)), nil)
    threadIn:addmsg("next2")
    wait_note(notifier)
    T.eq(threadOut1:msgcnt(), 1, "the empty message")
    T.results(T.pack(threadOut1:nextmsg(0)))
    T.results(T.pack(threadOut2:nextmsg(0)))
    threadIn:addmsg("exit")
    wait_note(notifier)
    T.results(T.pack(threadOut1:nextmsg(0)), "finished")
    T.results(T.pack(threadOut2:nextmsg(0)))
    T.eq(H.join(thread), true)
end

-- ---------------------------------------------------------------- threads
do -- notifications from other threads, exact count
    local NT, N = 3, 200
    local b = mtmsg.newbuffer()
    local n = mtmsg.newbuffer()
    b:notifier(n, ">")
    local threads = {}
    for i = 1, NT do
        threads[i] = H.start(function(bid, n)
            local mtmsg = require "mtmsg"
            local b = mtmsg.buffer(bid)
            for s = 1, n do assert(b:addmsg(s)) end
            return n
        end, b:id(), N)
    end
    local got = 0
    for _ = 1, NT * N do
        wait_note(n)
        got = got + 1
    end
    for i = 1, NT do T.eq(H.join(threads[i]), N) end
    T.eq(got, NT * N)
    T.eq(n:msgcnt(), 0, "exactly one notification per message")
    T.eq(b:msgcnt(), NT * N)
end

do -- the notifier's last Lua reference lives in a thread that ends; the
   -- connection keeps it alive; connecting from that thread works
    local b = mtmsg.newbuffer()
    local t = H.start(function(bid)
        local mtmsg = require "mtmsg"
        local n = mtmsg.newbuffer("nt-thread-notifier")
        mtmsg.buffer(bid):notifier(n, ">")
        return n:id()
    end, b:id())
    local nid = H.join(t)
    t = nil -- luacheck: ignore 311 (GC drop)
    collect()
    b:addmsg(1); b:addmsg(2); b:addmsg(3)
    T.eq(count_of(nid), 3, "notifier created in an ended thread still notified")
    T.eq(mtmsg.buffer("nt-thread-notifier"):id(), nid)
    b:notifier(nil)
    collect()
    unknown(nid)

    -- a buffer collected in one thread while another thread adds to it
    -- through its own reference; the notifier sees every message
    local n = mtmsg.newbuffer()
    local src = mtmsg.newbuffer()
    src:notifier(n)
    local sid = src:id()
    local ready = mtmsg.newbuffer()
    t = H.start(function(sid, readyid, n)
        local mtmsg = require "mtmsg"
        local s = mtmsg.buffer(sid)
        mtmsg.buffer(readyid):addmsg("have-ref")
        for i = 1, n do s:addmsg(i) end
        return s:msgcnt()
    end, sid, ready:id(), 500)
    T.eq(ready:nextmsg(5), "have-ref")
    src = nil -- luacheck: ignore 311 (GC drop)
    collect()
    local cnt = H.join(t)
    T.eq(cnt, 500)
    T.eq(n:msgcnt(), 500)
    t = nil -- luacheck: ignore 311 (GC drop)
    collect()
    unknown(sid)
end

end)

T.done("notifier")
