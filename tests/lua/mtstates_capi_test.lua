-- The Notify and Receiver C APIs of mtstates.state, driven from C by the
-- capitest module (capi/capitest.c), also from several POSIX threads:
-- lookup and versions, toNotifier / toReceiver on foreign values, notify
-- (zero arguments, re-entrant, rc 0 / 1 / 990), receiver writers (values,
-- bytes, arrays, capacity rules, add* codes -1), msgToReceiver (rc 0 / 1 /
-- 990, writer kept on failure), receiver_feed from threads.
-- capi.md §3.3, §4.5; decisions: to-object functions return NULL for
-- foreign values; add* return 0 / -1 / -2 for states too.
local T = require "testlib"
local H = require "lnw_helpers"
local mtmsg = require "mtmsg"
local mtstates = require "mtstates"

-- The C test modules are part of every test build (build.rs): a missing
-- one is a failure, not a reason to skip.
local capitest = require "capitest"
local carray = require "carray"
local has_carray = true

local collect = H.collect

H.guard(function()

-- a state that records what it is called with
local function recorder()
    return mtstates.newstate(function()
        local mtstates = require "mtstates"
        local count, last, fail = 0, { n = 0 }, nil
        local unpack = table.unpack or unpack
        return function(...)
            local cmd = ...
            if cmd == "__count" then return count end
            if cmd == "__last" then return unpack(last, 1, last.n) end
            if cmd == "__fail" then fail = select(2, ...) return end
            if cmd == "__notify_self" then
                local capitest = require "capitest"
                local me = mtstates.state(mtstates.id())
                local before = count
                local a, b, c = capitest.notify(me)
                return a, b, c, count - before
            end
            count = count + 1
            last = { n = select("#", ...), ... }
            if fail then error(fail, 0) end
        end
    end)
end

-- ---------------------------------------------------------------- lookup
do
    local s = recorder()
    T.results(T.pack(capitest.lookup(s, "notify")), 0, 0, 2)
    T.results(T.pack(capitest.lookup(s, "receiver")), 2, 0, 0)
    T.results(T.pack(capitest.lookup(s, "sender")), nil, 2)
    local info = capitest.capi_info(s, "_capi_notify")
    T.eq(info.fieldtype, "userdata")
    T.eq(info.idmatch, true)
    local info = capitest.capi_info(s, "_capi_receiver")
    T.eq(info.fieldtype, "userdata")
    T.eq(info.idmatch, true)
    T.eq(#info.versions, 1)
end

-- ---------------------------------------------------------------- notify
do
    local s = recorder()
    T.results(T.pack(capitest.notify(s)), 1, 0, nil)
    T.eq(s:call("__count"), 1)
    T.eq(select("#", s:call("__last")), 0, "notify passes no arguments")
    T.results(T.pack(capitest.notify(s, 0, 10)), 10, 0, nil)
    T.eq(s:call("__count"), 11)
    -- from 4 threads at once
    T.results(T.pack(capitest.notify(s, 4, 100)), 400, 0, nil)
    T.eq(s:call("__count"), 411, "every notification ran the callback once")
    -- re-entrant: a notify from inside the state's own callback runs nested
    T.results(T.pack(s:call("__notify_self")), 1, 0, nil, 1)
    -- callback error: 990 with message and inner traceback
    s:call("__fail", "notify failed here")
    local n, rc, text = capitest.notify(s)
    T.eq(n, 0)
    T.eq(rc, 990)
    T.check(text:find("notify failed here", 1, true), text)
    T.check(text:find("stack traceback:", 1, true), "inner traceback: " .. text)
    T.check(not text:find("invoking_state", 1, true), text)
    local n, rc = capitest.notify(s, 3, 2)
    T.eq(n, 0)
    T.eq(rc, 990)
    s:call("__fail", nil)
    -- persistent interrupt: deliveries fail
    s:interrupt(true)
    local n, rc, text = capitest.notify(s)
    T.eq(n, 0)
    T.eq(rc, 990)
    T.check(text:find("mtstates.error.interrupted", 1, true), text)
    s:interrupt(false)
    T.results(T.pack(capitest.notify(s)), 1, 0, nil)
    -- closed: 1, and every later call too
    s:close()
    T.results(T.pack(capitest.notify(s)), 0, 1, nil)
    T.results(T.pack(capitest.notify(s, 2, 5)), 0, 1, nil)
    -- ownerless (owner collected): 1
    local s2 = recorder()
    local r = mtstates.state(s2:id())
    T.results(T.pack(capitest.notify(r)), 1, 0, nil)
    s2 = nil -- luacheck: ignore 311 (GC drop)
    collect()
    T.results(T.pack(capitest.notify(r)), 0, 1, nil)
end

-- ---------------------------------------------------------------- receiver_send
do
    local s = recorder()
    local rc, text = capitest.receiver_send(s, { 1, 2.5, "x\0y", true, false, -7, 300 })
    T.eq(rc, 0)
    T.eq(text, nil)
    T.results(T.pack(s:call("__last")), 1, 2.5, "x\0y", true, false, -7, 300)
    if T.has_integers then
        local a, b = s:call("__last")
        T.eq(math.type(a), "integer")
        T.eq(math.type(b), "float")
    end
    -- bytes: one integer per byte
    T.eq(capitest.receiver_send(s, { "a", { bytes = "\1\0\255" }, "b" }), 0)
    T.results(T.pack(s:call("__last")), "a", 1, 0, 255, "b")
    -- empty message
    T.eq(capitest.receiver_send(s, {}), 0)
    T.eq(select("#", s:call("__last")), 0)
    -- clear and nonblock are ignored
    T.eq(capitest.receiver_send(s, { 5 }, true, true), 0)
    T.results(T.pack(s:call("__last")), 5)
    -- fixed capacity writer: -1 when it would overflow, then the message is delivered as it was
    local r = T.pack(capitest.receiver_send(s, { "this string is too long" }, false, false, 4, 0))
    T.results(r, nil, "addStringToWriter failed", -1)
    -- unknown array type: NULL
    local r = T.pack(capitest.receiver_send(s, { { array = 13, count = 1 } }))
    T.results(r, nil, "addArrayToWriter failed", "NULL")
    local r = T.pack(capitest.receiver_send(s, { { array = 0, count = 1 } }))
    T.results(r, nil, "addArrayToWriter failed", "NULL")
    -- arrays arrive as new carrays in the state
    if has_carray then
        local a = carray.new("int", 3)
        a:set(1, 10, 20, 30)
        T.eq(capitest.receiver_send(s, { "arr", a, { array = 10, count = 2, data = string.rep("\0", 16) } }), 0)
        local what, x, y = s:call("__last")
        T.eq(what, "arr")
        T.eq(x:type(), "int")
        T.results(T.pack(x:get(1, 3)), 10, 20, 30)
        T.eq(y:type(), "double")
        T.results(T.pack(y:get(1, 2)), 0, 0)
        -- every element type
        for t = 1, 12 do
            T.eq(capitest.receiver_send(s, { { array = t, count = 2 } }), 0, "array type " .. t)
            local v = s:call("__last")
            T.eq(v:len(), 2, "array type " .. t)
        end
        -- empty array
        T.eq(capitest.receiver_send(s, { { array = 5, count = 0 } }), 0)
        T.eq(s:call("__last"):len(), 0)
        -- a state without carray: 990, "error creating carray"
        local nc = mtstates.newstate(function()
            package.loaded.carray = nil
            package.preload.carray = function() error("no carray here", 0) end
            return function() end
        end)
        local rc, text = capitest.receiver_send(nc, { 1, a })
        T.eq(rc, 990)
        T.check(text:find("error creating carray: no carray here", 1, true), text)
        T.eq(capitest.receiver_send(nc, { 1 }), 0)
    end
    -- callback error: 990, text with traceback
    s:call("__fail", "receiver failed")
    local rc, text = capitest.receiver_send(s, { 1 })
    T.eq(rc, 990)
    T.check(text:find("receiver failed\nstack traceback:", 1, true), text)
    s:call("__fail", nil)
    -- closed
    s:close()
    T.eq(capitest.receiver_send(s, { 1 }), 1)
    T.eq(capitest.receiver_send(s, { 1 }), 1)
end

-- ---------------------------------------------------------------- hostile calls
do
    local s = recorder()
    local r = capitest.hostile(s, 20, 1000)
    for _, k in ipairs { "free_null", "to_self_ok", "to_negative_index_ok", "to_light_null", "to_table_null",
        "to_nil_null", "to_number_null", "to_string_null", "to_plain_udata_null", "to_other_class_null",
        "writer00_created", "array_bad_type_null", "array_type0_null", "array_negative_type_null",
        "array_huge_int_null", "array_huge_uchar_null", "array_wrap_double_null", "array_max_double_null",
        "fixed_writer_created", "fixed_array_overflow_null", "grow_writer_created" } do
        T.eq(r[k], true, k)
    end
    T.eq(r.pre_add_rc, 0)
    T.eq(r.bad_array_writer_send_rc, 0, "failed array adds leave the writer intact")
    -- (the writer functions are shared with buffers; capi_receiver_test pins
    -- their exact codes)
    T.eq(r.fixed_overflow_rc, -1)
    T.eq(r.fixed_huge_string_rc, -1)
    T.check(r.fixed_wrap_string_rc == -1 or r.fixed_wrap_string_rc == -2, "fixed_wrap_string_rc")
    T.eq(r.fixed_huge_bytes_rc, -1)
    T.eq(r.fixed_reuse_add_rc, 0)
    T.eq(r.fixed_reuse_send_rc, 0)
    T.eq(r.grow_huge_string_rc, -2)
    T.eq(r.grow_huge_bytes_rc, -2)
    T.eq(r.grow_after_add_rc, 0)
    T.eq(r.big_add_rc, 0)
    T.eq(r.too_large_rc, 0, "states have no size limit")
    T.eq(r.clear_too_large_rc, 0)
    T.eq(r.full_rc, 0)
    T.eq(r.full_after, 20)
    T.eq(r.clear_small_rc, 0)
    T.results(T.pack(s:call("__last")), 2)
    -- the big message arrived as one string argument
    T.eq(s:call("__count"), 1 + 1 + 1 + 1 + 20 + 1)
end

-- ---------------------------------------------------------------- receiver_feed from threads
do
    local s = mtstates.newstate(function()
        local seen, count, bad = {}, 0, nil
        return function(...)
            local n = select("#", ...)
            if n == 0 then return count, bad end
            local t, seq, str, b, num, x1, x2 = ...
            count = count + 1
            if n ~= 7 or str ~= "t" .. t .. "-" .. seq or b ~= true or num ~= seq + 0.5 or x1 ~= 1 or x2 ~= 2 then
                bad = bad or ("bad message " .. tostring(t) .. "/" .. tostring(seq))
            end
            local last = seen[t] or 0
            if seq ~= last + 1 then bad = bad or ("out of order " .. t .. ": " .. seq) end
            seen[t] = seq
        end
    end)
    local job = capitest.receiver_feed(s, 4, 250)
    local sent, rc, text = job:join()
    T.eq(sent, 1000)
    T.eq(rc, 0)
    T.eq(text, nil)
    local count, bad = s:call()
    T.eq(count, 1000, "every message ran the callback")
    T.eq(bad, nil)
    -- with Lua callers at the same time
    local job = capitest.receiver_feed(s, 3, 100)
    for _ = 1, 50 do s:call() end
    local sent, rc = job:join()
    T.eq(sent, 300)
    T.eq(rc, 0)
    T.eq(s:call(), 1300)
    -- the feed stops with rc 1 when the last owner goes meanwhile (the
    -- state closes right after the running delivery; the job's retain keeps
    -- only the record)
    local slow = mtstates.newstate(function()
        local mtmsg = require "mtmsg"
        return function() mtmsg.sleep(0.001) end
    end)
    local job = capitest.receiver_feed(slow, 2, 100000)
    mtmsg.sleep(0.1)
    slow = nil -- luacheck: ignore 311 (GC drop)
    collect()
    local sent, rc = job:join()
    T.check(sent > 0 and sent < 200000, "stopped early (" .. sent .. ")")
    T.eq(rc, 1)
end

end)

T.done("mtstates_capi")
