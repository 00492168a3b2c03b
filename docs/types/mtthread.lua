---@meta mtthread
-- lua-language-server annotations for the `mtthread` module (reference:
-- docs/api/mtthread.md). This project's own module (an extension: the
-- original modules have none). Not loaded at run time.

---A value that can be passed to or returned from a thread (a message value):
---nil, boolean, number, string, light userdata, C function, carray, or a
---table of these.
---@alias mtthread.value nil|boolean|number|string|lightuserdata|function|userdata|table

---@class mtthreadlib
local mtthread = {}

---An OS thread running a Lua function in a Lua state of its own.
---@class mtthread.thread
local thread = {}

---Creates a (not yet started) thread that will run `fn(...)`; fn is a Lua function without upvalues or Lua code.
---@param fn string|fun(...: mtthread.value): ...mtthread.value
---@param ... mtthread.value arguments, copied now
---@return mtthread.thread
function mtthread.new(fn, ...) end

---Starts the thread (raises if it was started before).
function thread:start() end

---Waits for the thread: true and its results, false and the error message, or nil and "timeout".
---@param timeout? number seconds; nil: no limit; <= 0: only look
---@return boolean|nil ok
---@return mtthread.value ... results, the error message, or "timeout"
function thread:join(timeout) end

---Tells whether the thread has been started and has not ended yet.
---@return boolean
function thread:alive() end

---Version string, "mtthread <version>".
mtthread._VERSION = ""

return mtthread
