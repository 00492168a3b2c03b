---@meta mtmsg
-- lua-language-server annotations for the mtmsg module (docs/api/mtmsg.md).

---A value a message can hold: nil, booleans, numbers, strings, light
---userdata, C functions, carrays, and (an extension) tables of those.
---@alias mtmsg.value nil|boolean|number|string|lightuserdata|function|userdata|table

---An object publishing the Notify C API: a buffer, an fd notifier, an
---mtstates state, or a third-party notifier.
---@alias mtmsg.notifier mtmsg.buffer|mtmsg.fdnotifier|mtstates.state|userdata

---Notifier slot: ">" after additions, "<" after removals.
---@alias mtmsg.notifytype
---| ">"
---| "<"

---@class mtmsglib
local mtmsg = {}

---@class mtmsg.buffer
local buffer = {}

---@class mtmsg.listener
local listener = {}

---@class mtmsg.writer
local writer = {}

---@class mtmsg.reader
local reader = {}

---@class mtmsg.fdnotifier
local fdnotifier = {}

-- Module functions ----------------------------------------------------------

---Creates a buffer (default size 1024 bytes, growFactor 2; growFactor 0 = fixed size).
---@param name? string
---@param size? integer
---@param growFactor? number
---@return mtmsg.buffer
---@overload fun(size?: integer, growFactor?: number): mtmsg.buffer
function mtmsg.newbuffer(name, size, growFactor) end

---Makes a new reference to an existing buffer, found by id or unique name.
---@param idOrName integer|string
---@return mtmsg.buffer
function mtmsg.buffer(idOrName) end

---Creates a listener, which reads the messages of all buffers made by it.
---@param name? string
---@return mtmsg.listener
function mtmsg.newlistener(name) end

---Makes a new reference to an existing listener, found by id or unique name.
---@param idOrName integer|string
---@return mtmsg.listener
function mtmsg.listener(idOrName) end

---Creates a writer that builds one message value by value.
---@param size? integer
---@param growFactor? number
---@return mtmsg.writer
function mtmsg.newwriter(size, growFactor) end

---Creates a reader that takes one message and returns its values one by one.
---@param size? integer
---@param growFactor? number
---@return mtmsg.reader
function mtmsg.newreader(size, growFactor) end

---Creates a notifier with a pollable file descriptor (extension).
---@return mtmsg.fdnotifier
function mtmsg.newfdnotifier() end

---Aborts (default) or with false resumes every buffer and listener of the process.
---@param flag? boolean
function mtmsg.abort(flag) end

---Tells whether mtmsg.abort() is in effect.
---@return boolean
function mtmsg.isabort() end

---Wall-clock seconds since the Unix epoch, as a float.
---@return number
function mtmsg.time() end

---Suspends the calling thread; raises operation_aborted on mtmsg.abort().
---@param seconds number
function mtmsg.sleep(seconds) end

---Type name of a value: the class name for registered userdata, else type(value).
---@param value any
---@return string
function mtmsg.type(value) end

-- Buffer methods --------------------------------------------------------------

---Adds the values as one message; false if nonblock and busy, or a fixed buffer is full.
---@param ... mtmsg.value
---@return boolean added
function buffer:addmsg(...) end

---Adds the values as one message, waiting for room in a fixed buffer (extension).
---@param timeout number|nil seconds; nil waits without limit
---@param ... mtmsg.value
---@return boolean added false when the timeout passed first
function buffer:putmsg(timeout, ...) end

---Replaces all queued messages with one message of the values.
---@param ... mtmsg.value
---@return boolean set
function buffer:setmsg(...) end

---Takes the oldest message and returns its values; no values on timeout.
---@param timeout? number|userdata seconds, or the first carray to reuse
---@param ... userdata carrays to reuse
---@return mtmsg.value ...
function buffer:nextmsg(timeout, ...) end

---Number of queued messages.
---@return integer
function buffer:msgcnt() end

---Discards all queued messages; false if nonblock and busy.
---@return boolean
function buffer:clear() end

---Connects a notifier to the ">" (default) or "<" slot, or disconnects it with nil.
---@param ntf mtmsg.notifier|nil
---@param type? mtmsg.notifytype
---@param threshold? integer
function buffer:notifier(ntf, type, threshold) end

---Switches nonblock mode of this reference on (default) or off.
---@param flag? boolean
function buffer:nonblock(flag) end

---Tells whether this reference is in nonblock mode.
---@return boolean
function buffer:isnonblock() end

---The buffer's process-wide id.
---@return integer
function buffer:id() end

---The buffer's name; no value for an unnamed buffer.
---@return string|nil
function buffer:name() end

---Closes the buffer for every reference; later operations raise object_closed.
function buffer:close() end

---Aborts (default) or with false resumes the buffer.
---@param flag? boolean
function buffer:abort(flag) end

---Tells whether the buffer is aborted.
---@return boolean
function buffer:isabort() end

-- Listener methods ------------------------------------------------------------

---Creates a buffer connected to this listener.
---@param name? string
---@param size? integer
---@param growFactor? number
---@return mtmsg.buffer
---@overload fun(self: mtmsg.listener, size?: integer, growFactor?: number): mtmsg.buffer
function listener:newbuffer(name, size, growFactor) end

---Takes the next message from the listener's buffers (round-robin); no values on timeout.
---@param timeout? number|userdata seconds, or the first carray to reuse
---@param ... userdata carrays to reuse
---@return mtmsg.value ...
function listener:nextmsg(timeout, ...) end

---Discards the messages of all the listener's buffers; false if nonblock and busy.
---@return boolean
function listener:clear() end

---Connects a notifier for all the listener's buffers, or disconnects it with nil (extension).
---@param ntf mtmsg.notifier|nil
---@param type? mtmsg.notifytype
---@param threshold? integer
function listener:notifier(ntf, type, threshold) end

---Switches nonblock mode of this reference on (default) or off.
---@param flag? boolean
function listener:nonblock(flag) end

---Tells whether this reference is in nonblock mode.
---@return boolean
function listener:isnonblock() end

---The listener's process-wide id.
---@return integer
function listener:id() end

---The listener's name; no value for an unnamed listener.
---@return string|nil
function listener:name() end

---Closes the listener and all its buffers.
function listener:close() end

---Aborts (default) or with false resumes the listener and all its buffers.
---@param flag? boolean
function listener:abort(flag) end

---Tells whether the listener is aborted.
---@return boolean
function listener:isabort() end

-- Writer methods --------------------------------------------------------------

---Appends values to the message being built.
---@param ... mtmsg.value
function writer:add(...) end

---Adds the collected values to the buffer as one message and empties the writer.
---@param buffer mtmsg.buffer
---@return boolean added
function writer:addmsg(buffer) end

---As addmsg, waiting for room in a fixed buffer (extension).
---@param buffer mtmsg.buffer
---@param timeout? number seconds; nil waits without limit
---@return boolean added false when the timeout passed first
function writer:putmsg(buffer, timeout) end

---Replaces the buffer's messages with the collected values and empties the writer.
---@param buffer mtmsg.buffer
---@return boolean set
function writer:setmsg(buffer) end

---Discards the collected values.
function writer:clear() end

-- Reader methods --------------------------------------------------------------

---Returns up to count (default 1, negative: all) of the remaining values.
---@param count? integer|userdata count, or the first carray to reuse
---@param ... userdata carrays to reuse
---@return mtmsg.value ...
function reader:next(count, ...) end

---Takes the next message of a buffer or listener into the reader; false on timeout.
---@param source mtmsg.buffer|mtmsg.listener
---@param timeout? number
---@return boolean taken
function reader:nextmsg(source, timeout) end

---Discards the values left in the reader.
function reader:clear() end

-- Fdnotifier methods (extension) ----------------------------------------------

---The file descriptor to poll for reading.
---@return integer
function fdnotifier:fd() end

---Makes the descriptor unreadable again; true if a notification was pending.
---@return boolean
function fdnotifier:drain() end

---Makes the descriptor readable.
function fdnotifier:notify() end

---Closes the descriptor; connected buffers then drop the notifier.
function fdnotifier:close() end

---Tells whether the notifier is closed.
---@return boolean
function fdnotifier:isclosed() end

-- Module fields ---------------------------------------------------------------

---The module version, "mtmsg <version>".
mtmsg._VERSION = ""

---Build information, "atomic:RUST,thread:RUST".
mtmsg._INFO = ""

---Error names; raised errors are strings starting with these.
mtmsg.error = {
    ambiguous_name = "mtmsg.error.ambiguous_name",
    has_notifier = "mtmsg.error.has_notifier",
    message_size = "mtmsg.error.message_size",
    no_buffers = "mtmsg.error.no_buffers",
    object_closed = "mtmsg.error.object_closed",
    operation_aborted = "mtmsg.error.operation_aborted",
    out_of_memory = "mtmsg.error.out_of_memory",
    unknown_object = "mtmsg.error.unknown_object",
}

return mtmsg
