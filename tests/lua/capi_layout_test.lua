-- C API publication and layouts (capi.md §1-§6): struct sizes and offsets
-- of the public headers (LP64), the capi userdata in the buffer metatable
-- (id strings, versions, one static vtable per API), which classes publish
-- what, and carray objects with fake/malformed Carray APIs in messages.
local T = require "testlib"
local H = require "lnw_helpers"
local mtmsg = require "mtmsg"
local capitest = require "capitest"
local carray = require "carray"

local argerr = H.argerr

-- ---------------------------------------------------------------- (e) layout
do
    local L = capitest.layout()
    local function fields(t, expect, what)
        for k, v in pairs(expect) do T.eq(t[k], v, what .. "." .. k) end
    end
    local header = { version_major = 0, version_minor = 4, version_patch = 8, next_capi = 16 }
    fields(L.notify, header, "notify")
    fields(L.notify, { size = 56, toNotifier = 24, retainNotifier = 32, releaseNotifier = 40, notify = 48 }, "notify")
    fields(L.receiver, header, "receiver")
    fields(L.receiver, {
        size = 128, toReceiver = 24, retainReceiver = 32, releaseReceiver = 40, newWriter = 48, freeWriter = 56,
        msgToReceiver = 64, clearWriter = 72, addBooleanToWriter = 80, addIntegerToWriter = 88,
        addNumberToWriter = 96, addStringToWriter = 104, addBytesToWriter = 112, addArrayToWriter = 120,
    }, "receiver")
    fields(L.sender, header, "sender")
    fields(L.sender, {
        size = 88, toSender = 24, retainSender = 32, releaseSender = 40, newReader = 48, freeReader = 56,
        clearReader = 64, nextValueFromReader = 72, nextMessageFromSender = 80,
    }, "sender")
    fields(L.sender_value, {
        size = 40, type = 0, boolVal = 8, intVal = 8, numVal = 8, ptrVal = 8, funcVal = 8,
        strVal_ptr = 8, strVal_len = 16, arrayVal_type = 8, arrayVal_elementSize = 16,
        arrayVal_elementCount = 24, arrayVal_data = 32,
    }, "sender_value")
    fields(L.carray, header, "carray")
    fields(L.carray, {
        size = 112, newCarray = 24, newCarrayRef = 32, toReadableCarray = 40, toWritableCarray = 48,
        retainCarray = 56, releaseCarray = 64, getWritableElementPtr = 72, getReadableElementPtr = 80,
        resizeCarray = 88, insertElements = 96, removeElements = 104,
    }, "carray")
    fields(L.carray_info,
        { size = 32, elementType = 0, attr = 4, elementSize = 8, elementCount = 16, elementCapacity = 24 },
        "carray_info")
end

-- ---------------------------------------------------------------- what buffers publish
do
    local b = mtmsg.newbuffer()
    local l = mtmsg.newlistener()
    local lb = l:newbuffer()
    T.results(T.pack(capitest.lookup(b, "notify")), 0, 0, 2)
    T.results(T.pack(capitest.lookup(b, "receiver")), 2, 0, 0)
    T.results(T.pack(capitest.lookup(b, "sender")), 1, 0, 0)
    T.results(T.pack(capitest.lookup(b, "carray")), nil, 2)
    T.results(T.pack(capitest.lookup(lb, "sender")), 1, 0, 0)
    for _, api in ipairs({ "notify", "receiver", "sender", "carray" }) do
        T.results(T.pack(capitest.lookup(l, api)), nil, 2)
        T.results(T.pack(capitest.lookup(mtmsg.newwriter(), api)), nil, 2)
        T.results(T.pack(capitest.lookup(mtmsg.newreader(), api)), nil, 2)
    end
    T.results(T.pack(capitest.lookup(carray.new("int"), "carray")), 1, 0, 0)

    local ids = { _capi_notify = { 0, 0, 2 }, _capi_receiver = { 2, 0, 0 }, _capi_sender = { 1, 0, 0 } }
    local b2 = mtmsg.newbuffer()
    for id, v in pairs(ids) do
        local i = capitest.capi_info(b, id)
        T.check(i, id .. " in the buffer metatable")
        T.eq(i.fieldtype, "userdata", id)
        T.eq(i.rawlen, 8 + #id + 1, id .. ": pointer + id string + NUL")
        T.eq(i.idmatch, true, id)
        T.eq(i.capi_has_metatable, false, id .. ": the capi userdata has no metatable")
        T.eq(#i.versions, 1, id .. ": one vtable in the chain")
        T.eq(table.concat(i.versions[1], "."), table.concat(v, "."), id .. " version")
        T.eq(capitest.capi_info(b2, id).vtable, i.vtable, id .. ": one static vtable for all buffers")
        T.eq(capitest.capi_info(lb, id).vtable, i.vtable, id .. ": listener buffers too")
        T.eq(capitest.capi_info(l, id), nil, "listener: no " .. id)
    end
    T.eq(capitest.capi_info(b, "_capi_carray"), nil)
    T.eq(getmetatable(b), "mtmsg.buffer", "the capi entries sit behind __metatable")

    -- the same vtable from another thread's Lua state
    local vt = tostring(capitest.capi_info(b, "_capi_notify").vtable)
    local t = H.start(function(bid)
        local mtmsg = require "mtmsg"
        local capitest = require "capitest"
        return tostring(capitest.capi_info(mtmsg.buffer(bid), "_capi_notify").vtable)
    end, b:id())
    T.eq(H.join(t), vt, "the vtable is process-wide")
end

-- ---------------------------------------------------------------- fake Carray APIs in messages
do
    local b = mtmsg.newbuffer()
    local w = mtmsg.newwriter()
    local function fake(mode, ...) return capitest.fake_object("_capi_carray", mode, ...) end
    argerr(function() b:addmsg(1, fake("chain", { 2, 0, 0 })) end, 2, "addmsg", "carray version mismatch")
    argerr(function() b:setmsg(fake("nullptr")) end, 1, "setmsg", "carray version mismatch")
    argerr(function() w:add(fake("chain", { 0, 9, 0 })) end, 1, "add", "carray version mismatch")
    T.eq(b:msgcnt(), 0, "nothing stored")
    -- userdata without a (valid) Carray API: not a supported value [27]
    for _, mode in ipairs({ "short", "badid", "light", "string", "none", "index" }) do
        argerr(function() b:addmsg(fake(mode)) end, 1, "addmsg", "parameter type not supported")
    end
    T.eq(b:msgcnt(), 0)
    -- receiving into a candidate with a wrong API version
    b:addmsg(carray.new("int", 2))
    argerr(function() b:nextmsg(nil, fake("chain", { 2, 0, 0 })) end, 2, "nextmsg",
        "incompatible carray capi version number")
    argerr(function() b:nextmsg(fake("chain", { 2, 0, 0 })) end, 1, "nextmsg",
        "incompatible carray capi version number")
    T.eq(b:msgcnt(), 1, "the message stays queued")
    local a = b:nextmsg(0)
    T.eq(a:len(), 2)
end

T.done("capi_layout")
