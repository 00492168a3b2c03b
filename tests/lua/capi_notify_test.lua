-- The Notify C API in both directions (capi.md §3):
--  * mtmsg.buffer as a notifier, notified from pthreads (capitest.notify);
--  * a C notifier (capitest.new_notifier) connected with buffer:notifier():
--    thresholds, retain/release on connect, disconnect and garbage
--    collection, rc 1 closing it, other rc raising "Error while calling
--    notifier: ..." or "<pos>: Unknown error while calling notifier. (rc=N)",
--    notifications from C producers/consumers, a disconnect while a
--    notification is in flight;
--  * objects publishing fake or malformed Notify APIs (capitest.fake_object).
-- Edge cases 78-81 with a C notifier; decision [77].
local T = require "testlib"
local H = require "lnw_helpers"
local mtmsg = require "mtmsg"
local capitest = require "capitest"

local collect, argerr = H.collect, H.argerr

local UNKNOWN = "^.+:%d+: Unknown error while calling notifier%. %(rc=(%-?%d+)%)$"

local function unknown_error(f, rc)
    local err = T.raises(f, "Unknown error while calling notifier. (rc=" .. rc .. ")")
    T.eq(err:match(UNKNOWN), tostring(rc), "error text " .. err)
end

-- the number of (empty) messages in b, consuming them; checks they are empty
local function drain_empty(b)
    local r = mtmsg.newreader()
    local n = 0
    while r:nextmsg(b, 0) do
        T.eq(select("#", r:next()), 0, "notification = empty message")
        n = n + 1
    end
    return n
end

H.guard(function()

local live0 = capitest.live_notifiers()

-- ---------------------------------------------------------------- buffers notified from C
do
    local b = mtmsg.newbuffer()
    T.results(T.pack(capitest.notify(b, 0, 5)), 5, 0, nil)
    T.eq(b:msgcnt(), 5)
    T.eq(drain_empty(b), 5)
    T.results(T.pack(capitest.notify(b, 4, 250)), 1000, 0, nil)
    T.eq(b:msgcnt(), 1000, "one empty message per notify, from 4 pthreads")
    T.eq(drain_empty(b), 1000)

    -- full fixed buffer: rc 4
    local f = mtmsg.newbuffer(3, 0)
    local ok, rc = capitest.notify(f, 0, 5)
    T.eq(ok, 3, "three 1-byte empty messages fit"); T.eq(rc, 4)
    -- aborted: rc 2; closed: rc 1 (each thread stops at rc 1)
    local a = mtmsg.newbuffer()
    a:abort()
    ok, rc = capitest.notify(a, 0, 3)
    T.eq(ok, 0); T.eq(rc, 2)
    T.eq(a:msgcnt(), 0)
    a:abort(false)
    a:close()
    ok, rc = capitest.notify(a, 3, 10)
    T.eq(ok, 0); T.eq(rc, 1)

    -- the notified buffer's own ">" notifier failing: rc 999 with the text
    local c = mtmsg.newbuffer()
    local n = capitest.new_notifier(5, { "inner failure" })
    c:notifier(n)
    T.results(T.pack(capitest.notify(c, 0, 1)), 0, 999, "Error while calling notifier: inner failure")
    T.eq(c:msgcnt(), 1, "the empty message was added")
    n:setrc(5, {})
    T.results(T.pack(capitest.notify(c, 0, 1)), 0, 999, "Unknown error while calling notifier. (rc=5)")
    c:notifier(nil)
    -- chained: notifying c notifies its ">" buffer notifier
    local d = mtmsg.newbuffer()
    c:notifier(d)
    T.results(T.pack(capitest.notify(c, 2, 10)), 20, 0, nil)
    T.eq(d:msgcnt(), 20)

    -- a Lua thread waits on a listener whose buffer is notified from C
    local l = mtmsg.newlistener()
    local lb = l:newbuffer()
    local t = H.start(function(lid, n)
        local mtmsg = require "mtmsg"
        local l = mtmsg.listener(lid)
        local r = mtmsg.newreader()
        local got = 0
        while got < n and r:nextmsg(l, 5) do got = got + 1 end
        return got
    end, l:id(), 400)
    T.results(T.pack(capitest.notify(lb, 4, 100)), 400, 0, nil)
    T.eq(H.join(t), 400)
    T.eq(lb:msgcnt(), 0)

    -- not notifiers
    T.raises(function() capitest.notify(mtmsg.newlistener()) end, "notify capi not found")
    T.raises(function() capitest.notify(mtmsg.newwriter()) end, "notify capi not found")
    local fake = setmetatable({}, debug.getmetatable(b))
    T.raises(function() capitest.notify(fake) end, "invalid notifier (toNotifier returned NULL)")
end

-- ---------------------------------------------------------------- a C notifier: connect, count, thresholds
collect()
T.eq(capitest.live_notifiers(), live0, "notifiers of the previous block freed")
do
    local n = capitest.new_notifier()
    T.eq(n:refs(), 1)
    T.eq(capitest.live_notifiers(), live0 + 1)
    local b = mtmsg.newbuffer()
    b:notifier(n)
    T.eq(n:refs(), 2, "retained once on connect")
    b:addmsg(1); b:addmsg(2); b:setmsg(3)
    T.eq(n:count(), 3)
    b:nextmsg(0)
    T.eq(n:count(), 3, "> is not called on removal")
    T.raises_exactly(function() b:notifier(n) end, "mtmsg.error.has_notifier")
    T.eq(n:refs(), 2, "a refused connect does not retain")
    b:notifier(nil)
    T.eq(n:refs(), 1, "released once on disconnect")
    b:addmsg(4)
    T.eq(n:count(), 3)

    -- [78] ">" threshold 2
    b:clear()
    b:notifier(n, ">", 2)
    b:addmsg(1); b:addmsg(2)
    T.eq(n:count(), 3)
    b:addmsg(3); T.eq(n:count(), 4)
    b:addmsg(4); T.eq(n:count(), 5)
    b:notifier(nil, ">")
    -- "<" threshold 2 on 4 messages: notified at 1 and 0
    local m = capitest.new_notifier()
    b:notifier(m, "<", 2)
    T.eq(m:refs(), 2)
    b:nextmsg(0); b:nextmsg(0)
    T.eq(m:count(), 0)
    b:nextmsg(0); T.eq(m:count(), 1)
    b:nextmsg(0); T.eq(m:count(), 2)
    -- [77] (nil, "<") releases the "<" notifier only
    b:notifier(n, ">")
    b:notifier(nil, "<")
    T.eq(m:refs(), 1, "[77] < released")
    T.eq(n:refs(), 2, "> still connected")
    b:notifier(nil)
    T.eq(n:refs(), 1)

    -- both slots with the same notifier
    b:notifier(n, ">"); b:notifier(n, "<")
    T.eq(n:refs(), 3)
    b:addmsg(1); b:nextmsg(0)
    T.eq(n:count(), 7)
    b = nil
    collect()
    T.eq(n:refs(), 1, "released twice when the buffer is collected")
    n, m = nil, nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.eq(capitest.live_notifiers(), live0, "all test notifiers freed")
end

-- ---------------------------------------------------------------- retention and release
collect()
do -- the Lua object goes first: the connection keeps the notifier alive
    local b = mtmsg.newbuffer()
    local n = capitest.new_notifier()
    b:notifier(n)
    n = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.eq(capitest.live_notifiers(), live0 + 1, "kept alive by the buffer")
    b:addmsg(1) -- still callable
    b:notifier(nil)
    T.eq(capitest.live_notifiers(), live0, "freed on disconnect")

    local c = mtmsg.newbuffer()
    c:notifier(capitest.new_notifier(), "<")
    collect()
    T.eq(capitest.live_notifiers(), live0 + 1)
    c:addmsg(1); c:nextmsg(0)
    c = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.eq(capitest.live_notifiers(), live0, "freed with the buffer")
end

do -- a collected listener buffer keeps its notifier until its messages are consumed
    local l = mtmsg.newlistener()
    local lb = l:newbuffer()
    local n = capitest.new_notifier()
    lb:notifier(n, "<")
    lb:addmsg(1); lb:addmsg(2)
    lb = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.eq(n:refs(), 2)
    T.eq(l:nextmsg(0), 1)
    T.eq(n:count(), 1)
    T.eq(l:nextmsg(0), 2)
    T.eq(n:count(), 2)
    collect()
    T.eq(n:refs(), 1, "released after the last message of the collected buffer")
    T.raises(function() l:nextmsg(0) end, "mtmsg.error.no_buffers")
end

do -- a buffer closed while connected: notifier not called by close
    local b = mtmsg.newbuffer()
    local n = capitest.new_notifier()
    b:notifier(n, "<")
    b:addmsg(1)
    b:close()
    T.eq(n:count(), 0)
    b = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.eq(n:refs(), 1, "released when the closed buffer is freed")
end

-- ---------------------------------------------------------------- rc 1 closes the notifier
do
    local b = mtmsg.newbuffer()
    local n = capitest.new_notifier(1)
    b:notifier(n)
    T.eq(b:addmsg(1), true, "rc 1: the operation succeeds")
    T.eq(n:count(), 1)
    T.eq(n:refs(), 1, "rc 1: released")
    b:addmsg(2)
    T.eq(n:count(), 1, "never called again")
    local m = capitest.new_notifier()
    b:notifier(m) -- the slot is free
    b:addmsg(3)
    T.eq(m:count(), 1)
    b:notifier(nil)

    n:setrc(1)
    b:notifier(n, "<")
    T.eq(b:nextmsg(0), 1)
    T.eq(n:count(), 2); T.eq(n:refs(), 1)
    T.eq(b:nextmsg(0), 2)
    T.eq(n:count(), 2)
    b:notifier(m, "<")
    T.eq(m:refs(), 2)
    b:notifier(nil, "<")

    -- rc 1 while 4 pthreads feed the buffer: released exactly once
    local c = mtmsg.newbuffer()
    local k = capitest.new_notifier(1)
    c:notifier(k)
    T.results(T.pack(capitest.receiver_feed(c, 4, 200):join()), 800, 0, nil)
    T.eq(k:refs(), 1)
    T.check(k:count() >= 1, "called at least once")
    c:notifier(m) -- the slot is free
    T.eq(m:refs(), 2)
    c:notifier(nil)
end

-- ---------------------------------------------------------------- other rc: errors
do
    local b = mtmsg.newbuffer()
    local n = capitest.new_notifier(5, { "bad thing" })
    b:notifier(n)
    T.raises_exactly(function() b:addmsg("m1") end, "Error while calling notifier: bad thing")
    T.eq(b:msgcnt(), 1, "the message was added")
    T.eq(n:refs(), 2, "still connected")
    T.raises_exactly(function() b:notifier(capitest.new_notifier()) end, "mtmsg.error.has_notifier")
    n:setrc(42, { "first", "second" })
    T.raises_exactly(function() b:setmsg("m2") end, "Error while calling notifier: first\nsecond")
    T.eq(b:msgcnt(), 1)
    local w = mtmsg.newwriter()
    w:add("m3")
    T.raises_exactly(function() w:addmsg(b) end, "Error while calling notifier: first\nsecond")
    T.eq(b:msgcnt(), 2)
    n:setrc(5, {})
    unknown_error(function() b:addmsg("m4") end, 5)
    n:setrc(-1, {})
    unknown_error(function() b:addmsg("m5") end, -1)
    n:setrc(2, {})
    unknown_error(function() b:addmsg("m6") end, 2)
    T.eq(b:msgcnt(), 5)
    T.eq(n:count(), 6)
    n:setrc(0)
    T.eq(b:addmsg("m7"), true)
    b:notifier(nil)
    T.eq(n:refs(), 1)

    -- "<": the message is removed anyway
    local d = capitest.new_notifier(3, { "on removal" })
    b:notifier(d, "<")
    T.raises_exactly(function() b:nextmsg(0) end, "Error while calling notifier: on removal")
    T.eq(b:msgcnt(), 5)
    local r = mtmsg.newreader()
    T.raises_exactly(function() r:nextmsg(b) end, "Error while calling notifier: on removal")
    T.eq(b:msgcnt(), 4)
    T.eq(r:next(), "m3", "the reader got the message")
    d:setrc(3, {})
    unknown_error(function() b:nextmsg(0) end, 3)
    T.eq(b:msgcnt(), 3)
    -- not triggering: clear
    b:clear()
    T.eq(d:count(), 3)
    b:notifier(nil, "<")

    -- through a listener
    local l = mtmsg.newlistener()
    local lb = l:newbuffer()
    lb:addmsg("x")
    lb:notifier(d, "<")
    d:setrc(4, { "listener removal" })
    T.raises_exactly(function() l:nextmsg(0) end, "Error while calling notifier: listener removal")
    T.eq(lb:msgcnt(), 0)
    lb:notifier(nil, "<")
end

-- ---------------------------------------------------------------- C producers and consumers
do
    local b = mtmsg.newbuffer()
    local up, down = capitest.new_notifier(), capitest.new_notifier()
    b:notifier(up, ">")
    b:notifier(down, "<")
    local feed = capitest.receiver_feed(b, 4, 500)
    local readers = capitest.sender_threads(b, 3, 2000, 0.05, 8)
    T.results(T.pack(feed:join()), 2000, 0, nil)
    local total, rc, ok = readers:join()
    T.eq(total, 2000); T.eq(rc, 0); T.eq(ok, true)
    T.eq(up:count(), 2000, "one > notification per message from 4 pthreads")
    T.eq(down:count(), 2000, "one < notification per removal from 3 pthreads")
    b:notifier(nil); b:notifier(nil, "<")
    T.eq(up:refs(), 1); T.eq(down:refs(), 1)

    -- a failing notifier inside C API calls: rc 999 and the text
    local bad = capitest.new_notifier(8, { "feed notifier" })
    b:notifier(bad)
    local sent, frc, text = capitest.receiver_feed(b, 2, 5):join()
    T.eq(sent, 0, "999 is not counted as rc 0 by the feeder")
    T.eq(frc, 999); T.eq(text, "Error while calling notifier: feed notifier")
    T.eq(b:msgcnt(), 2, "each thread stored one message before stopping")
    b:notifier(nil)
end

-- ---------------------------------------------------------------- disconnect while a notification is in flight
do
    local b = mtmsg.newbuffer()
    local n = capitest.new_notifier()
    n:setdelay(400)
    b:notifier(n)
    local t = H.start(function(bid)
        local mtmsg = require "mtmsg"
        local t0 = mtmsg.time()
        mtmsg.buffer(bid):addmsg("slow")
        return mtmsg.time() - t0
    end, b:id())
    local deadline = mtmsg.time() + 3
    while n:count() == 0 and mtmsg.time() < deadline do mtmsg.sleep(0.01) end
    T.eq(n:count(), 1, "notification started")
    b:notifier(nil) -- disconnect during the call
    T.check(n:refs() >= 2, "not released while the notification is in flight (refs " .. n:refs() .. ")")
    local m = capitest.new_notifier()
    b:notifier(m) -- the slot is free for a new notifier meanwhile
    local dt = H.join(t)
    T.check(dt > 0.3, "addmsg waited for the slow notifier")
    T.eq(n:refs(), 1, "released after the in-flight notification")
    b:addmsg("next")
    T.eq(m:count(), 1)
    T.eq(n:count(), 1)
    b:notifier(nil)

    -- the Lua object of the in-flight notifier collected meanwhile
    collect()
    local k = capitest.new_notifier()
    k:setdelay(300)
    local before = capitest.live_notifiers()
    b:notifier(k)
    k = nil -- luacheck: ignore 311 (GC drop)
    t = H.start(function(bid)
        local mtmsg = require "mtmsg"
        return mtmsg.buffer(bid):addmsg("slow2")
    end, b:id())
    mtmsg.sleep(0.1)
    b:notifier(nil)
    collect()
    T.eq(H.join(t), true)
    T.eq(capitest.live_notifiers(), before - 1, "freed after the call returned")
end

-- ---------------------------------------------------------------- fake / malformed Notify APIs
do
    local b = mtmsg.newbuffer()
    local function fake(mode, ...) return capitest.fake_object("_capi_notify", mode, ...) end
    argerr(function() b:notifier(fake("valid")) end, 1, "notifier", "invalid notifier")
    argerr(function() b:notifier(fake("long")) end, 1, "notifier", "invalid notifier")
    argerr(function() b:notifier(fake("protected")) end, 1, "notifier", "invalid notifier")
    argerr(function() b:notifier(fake("chain", { 0, 7, 0 })) end, 1, "notifier", "invalid notifier")
    argerr(function() b:notifier(fake("chain", { 1, 0, 0 }, { 0, 0, 2 })) end, 1, "notifier", "invalid notifier")
    argerr(function() b:notifier(fake("chain", { 1, 0, 0 })) end, 1, "notifier", "notifier api version mismatch")
    argerr(function() b:notifier(fake("chain", { 1, 0, 0 }, { 2, 0, 0 })) end, 1, "notifier",
        "notifier api version mismatch")
    argerr(function() b:notifier(fake("nullptr")) end, 1, "notifier", "notifier api version mismatch")
    for _, mode in ipairs({ "short", "badid", "light", "string", "none", "index" }) do
        argerr(function() b:notifier(fake(mode)) end, 1, "notifier", "notifier expected")
    end
    -- a fake of another API is no notifier
    argerr(function() b:notifier(capitest.fake_object("_capi_receiver", "valid")) end, 1, "notifier",
        "notifier expected")
    -- nothing was connected
    local n = capitest.new_notifier()
    b:notifier(n)
    b:notifier(nil)
end

collect()
T.eq(capitest.live_notifiers(), live0, "no notifier leaked")

end)

T.done("capi_notify")
