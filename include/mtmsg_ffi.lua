-- mtmsg_ffi: use the Notify, Receiver and Sender C APIs of mtmsg buffers and
-- mtstates states from LuaJIT's FFI. LuaJIT only.
--
--   local capi = require "mtmsg_ffi"
--   local r = capi.receiver(buffer)          -- or a state
--   local w = r:writer()                     -- freed by the GC
--   w:add(1, "two", true, 4.5)
--   assert(r:send(w) == 0)                   -- rc as in receiver_capi.h
--   local s = capi.sender(buffer)
--   local rd = s:reader()
--   if s:next(rd, 1.0) == 0 then local values = rd:values() end
--   capi.notifier(buffer_or_state):notify()
--
-- The vtables are found in the object's metatable exactly as the headers
-- describe (id string key, pointer followed by the id, version checked).
-- The C object pointer (what toReceiver() etc. would return from C) is the
-- first pointer of the userdata payload of this implementation's objects.
-- Every object obtained here is retained, and released when collected.
local ffi = require "ffi"

ffi.cdef [[
typedef struct mtmsg_ffi_header {
    int version_major, version_minor, version_patch;
    const void* next_capi;
} mtmsg_ffi_header;

typedef void (*mtmsg_ffi_error_handler)(void* ehdata, const char* msg, size_t msglen);

typedef struct notify_capi {
    int version_major, version_minor, version_patch;
    const void* next_capi;
    void* (*toNotifier)(void* L, int index);
    void  (*retainNotifier)(void* n);
    void  (*releaseNotifier)(void* n);
    int   (*notify)(void* n, mtmsg_ffi_error_handler eh, void* ehdata);
} notify_capi;

typedef struct receiver_capi {
    int version_major, version_minor, version_patch;
    const void* next_capi;
    void* (*toReceiver)(void* L, int index);
    void  (*retainReceiver)(void* r);
    void  (*releaseReceiver)(void* r);
    void* (*newWriter)(size_t initialCapacity, float growFactor);
    void  (*freeWriter)(void* w);
    int   (*msgToReceiver)(void* r, void* w, int clear, int nonblock,
                           mtmsg_ffi_error_handler eh, void* ehdata);
    void  (*clearWriter)(void* w);
    int   (*addBooleanToWriter)(void* w, int b);
    int   (*addIntegerToWriter)(void* w, int64_t i);
    int   (*addNumberToWriter)(void* w, double n);
    int   (*addStringToWriter)(void* w, const char* s, size_t len);
    int   (*addBytesToWriter)(void* w, const unsigned char* s, size_t len);
    void* (*addArrayToWriter)(void* w, int type, size_t elementCount);
} receiver_capi;

typedef struct sender_capi_value {
    int type;
    union {
        int boolVal;
        int64_t intVal;
        double numVal;
        void* ptrVal;
        void* funcVal;
        struct { const char* ptr; size_t len; } strVal;
        struct { int type; size_t elementSize; size_t elementCount; void* data; } arrayVal;
    };
} sender_capi_value;

typedef struct sender_capi {
    int version_major, version_minor, version_patch;
    const void* next_capi;
    void* (*toSender)(void* L, int index);
    void  (*retainSender)(void* s);
    void  (*releaseSender)(void* s);
    void* (*newReader)(size_t initialCapacity, float growFactor);
    void  (*freeReader)(void* r);
    void  (*clearReader)(void* r);
    void  (*nextValueFromReader)(void* r, sender_capi_value* out);
    int   (*nextMessageFromSender)(void* s, void* r, int nonblock, double timeout,
                                   mtmsg_ffi_error_handler eh, void* ehdata);
} sender_capi;
]]

local M = {}

local APIS = {
    notify   = { id = "_capi_notify",   ctype = "const notify_capi*",   major = 0, minor = 0 },
    receiver = { id = "_capi_receiver", ctype = "const receiver_capi*", major = 2, minor = 0 },
    sender   = { id = "_capi_sender",   ctype = "const sender_capi*",   major = 1, minor = 0 },
}

local voidpp = ffi.typeof("void**")
local header_p = ffi.typeof("const mtmsg_ffi_header*")

-- The vtable of API `kind` published by `obj`, or nil and a reason.
function M.api(obj, kind)
    local spec = assert(APIS[kind], "unknown C API")
    local mt = debug.getmetatable(obj)
    local holder = mt and rawget(mt, spec.id)
    if type(holder) ~= "userdata" then return nil, "no " .. kind .. " C API" end
    local base = ffi.cast("const char*", holder)
    local id = ffi.string(base + ffi.sizeof("void*"), #spec.id + 1)
    if id ~= spec.id .. "\0" then return nil, "no " .. kind .. " C API" end
    local p = ffi.cast(voidpp, holder)[0]
    while p ~= nil do
        local h = ffi.cast(header_p, p)
        if h.version_major == spec.major and h.version_minor >= spec.minor then
            return ffi.cast(spec.ctype, p)
        end
        p = h.next_capi
    end
    return nil, kind .. " C API version mismatch"
end

local function object_pointer(obj)
    local p = ffi.cast(voidpp, obj)[0]
    assert(p ~= nil, "object already collected")
    return p
end

local function retained(api, obj, retain, release)
    local p = object_pointer(obj)
    api[retain](p)
    return ffi.gc(ffi.cast("void*", p), function(q) api[release](q) end)
end

-- Error texts passed to an error handler are collected into `last_errors`.
local last_errors = {}
local handler = ffi.cast("mtmsg_ffi_error_handler", function(_, msg, len)
    last_errors[#last_errors + 1] = ffi.string(msg, len)
end)

local function errors()
    local e = table.concat(last_errors, "\n")
    last_errors = {}
    return e ~= "" and e or nil
end

-- Notify ---------------------------------------------------------------------

local Notifier = {}
Notifier.__index = Notifier

function M.notifier(obj)
    local api = assert(M.api(obj, "notify"))
    return setmetatable({ api = api, obj = retained(api, obj, "retainNotifier", "releaseNotifier") }, Notifier)
end

-- Returns the notify() code and the error text, if any.
function Notifier:notify()
    local rc = self.api.notify(self.obj, handler, nil)
    return rc, errors()
end

-- Receiver -------------------------------------------------------------------

local Receiver, Writer = {}, {}
Receiver.__index, Writer.__index = Receiver, Writer

function M.receiver(obj)
    local api = assert(M.api(obj, "receiver"))
    return setmetatable({ api = api, obj = retained(api, obj, "retainReceiver", "releaseReceiver") }, Receiver)
end

function Receiver:writer(capacity, grow)
    local api = self.api
    local w = api.newWriter(capacity or 0, grow or 2)
    assert(w ~= nil, "out of memory")
    return setmetatable({ api = api, w = ffi.gc(w, api.freeWriter) }, Writer)
end

-- Adds values: booleans, numbers (integral ones as integers), strings.
-- Returns 0 or the first failing add code.
function Writer:add(...)
    local api, w = self.api, self.w
    for i = 1, select("#", ...) do
        local v = select(i, ...)
        local t, rc = type(v)
        if t == "boolean" then rc = api.addBooleanToWriter(w, v and 1 or 0)
        elseif t == "number" and v == math.floor(v) and v >= -2^63 and v < 2^63 then rc = api.addIntegerToWriter(w, v)
        elseif t == "number" then rc = api.addNumberToWriter(w, v)
        elseif t == "string" then rc = api.addStringToWriter(w, v, #v)
        else error("bad argument #" .. i .. " to 'add' (boolean, number or string expected)") end
        if rc ~= 0 then return rc end
    end
    return 0
end

-- Adds an array element of C type number `ctype` (1..12) and returns a
-- pointer to its `count` elements, to be filled before the next call.
function Writer:addarray(ctype, count)
    return self.api.addArrayToWriter(self.w, ctype, count)
end

function Writer:clear() self.api.clearWriter(self.w) end

-- Delivers the writer's values as one message; returns rc and error text.
function Receiver:send(writer, clear, nonblock)
    local rc = self.api.msgToReceiver(self.obj, writer.w, clear and 1 or 0, nonblock and 1 or 0, handler, nil)
    return rc, errors()
end

-- Sender ---------------------------------------------------------------------

local Sender, Reader = {}, {}
Sender.__index, Reader.__index = Sender, Reader

function M.sender(obj)
    local api = assert(M.api(obj, "sender"))
    return setmetatable({ api = api, obj = retained(api, obj, "retainSender", "releaseSender") }, Sender)
end

function Sender:reader(capacity, grow)
    local api = self.api
    local r = api.newReader(capacity or 0, grow or 2)
    assert(r ~= nil, "out of memory")
    return setmetatable({ api = api, r = ffi.gc(r, api.freeReader), v = ffi.new("sender_capi_value") }, Reader)
end

-- Takes the next message into `reader`; timeout < 0 waits without limit.
function Sender:next(reader, timeout, nonblock)
    local rc = self.api.nextMessageFromSender(self.obj, reader.r, nonblock and 1 or 0, timeout or -1, handler, nil)
    return rc, errors()
end

-- Stands for a table sent from Lua (SENDER_CAPI_TYPE_TABLE, our
-- extension): the Sender C API does not expose a table's contents.
M.TABLE = setmetatable({}, { __tostring = function() return "mtmsg_ffi.TABLE" end })

-- The values of the message in the reader, as a table with field n; arrays
-- become { type =, elementSize =, count =, bytes = string }, tables M.TABLE.
function Reader:values()
    local api, r, v, out = self.api, self.r, self.v, { n = 0 }
    while true do
        api.nextValueFromReader(r, v)
        local t, x = tonumber(v.type)
        if t == 0 then break
        elseif t == 1 then x = nil
        elseif t == 2 then x = v.boolVal ~= 0
        elseif t == 3 then x = tonumber(v.intVal)
        elseif t == 4 then x = tonumber(v.numVal)
        elseif t == 5 or t == 6 then x = v.ptrVal
        elseif t == 7 then x = ffi.string(v.strVal.ptr, v.strVal.len)
        elseif t == 8 then
            local a = v.arrayVal
            x = { type = tonumber(a.type), elementSize = tonumber(a.elementSize), count = tonumber(a.elementCount),
                  bytes = ffi.string(a.data, a.elementSize * a.elementCount) }
        elseif t == 9 then
            x = M.TABLE
        end
        out.n = out.n + 1
        out[out.n] = x
    end
    return out
end

return M
