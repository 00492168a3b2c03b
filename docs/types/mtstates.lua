---@meta mtstates
-- lua-language-server annotations for the `mtstates` module (reference:
-- docs/api/mtstates.md). Not loaded at run time.

---A value that can cross into or out of a state: nil, boolean, number,
---string, light userdata, a carray (copied into a new carray), or a table of
---these (extension of this project). Functions and other userdata cannot.
---@alias mtstates.value nil|boolean|number|string|lightuserdata|userdata|table

---The setup of a state: a Lua function without upvalues (except `_ENV`) or
---a string of Lua code; it must return the state's callback function first.
---@alias mtstates.setup string|fun(...: mtstates.value): function, ...mtstates.value

---@class mtstateslib
local mtstates = {}

---A reference to a state (owning when made by `newstate`/`singleton`).
---@class mtstates.state
local state = {}

---Creates a state by running `setup` in a new interpreter; returns an owning reference and the setup's extra results.
---@param name? string name of the state (only taken as a name when at least two arguments are given)
---@param libs? boolean true (default): open all standard libraries; false: base and package only, others preloaded
---@param setup mtstates.setup
---@param ... mtstates.value arguments of the setup
---@return mtstates.state state
---@return mtstates.value ... further results of the setup
---@overload fun(setup: mtstates.setup): mtstates.state, ...mtstates.value
---@overload fun(name: string|nil, setup: mtstates.setup, ...: mtstates.value): mtstates.state, ...mtstates.value
---@overload fun(libs: boolean, setup: mtstates.setup, ...: mtstates.value): mtstates.state, ...mtstates.value
function mtstates.newstate(name, libs, setup, ...) end

---Finds an open state by id or name; returns a non-owning reference.
---@param idOrName integer|string
---@return mtstates.state
function mtstates.state(idOrName) end

---Returns an owning reference to the state with this name, creating it from the other arguments if there is none.
---@param name string|integer name (or id) of the state
---@param libs? boolean as for newstate
---@param setup mtstates.setup used only if the state must be created
---@param ... mtstates.value arguments of the setup
---@return mtstates.state state
---@return mtstates.value ... further results of the setup (only when created by this call)
---@overload fun(name: string|integer): mtstates.state
---@overload fun(name: string, setup: mtstates.setup, ...: mtstates.value): mtstates.state, ...mtstates.value
function mtstates.singleton(name, libs, setup, ...) end

---Returns the id of the state the calling code runs in, nil outside mtstates states.
---@return integer|nil
function mtstates.id() end

---Returns the type name of a value; for userdata the registered class name (e.g. "mtstates.state").
---@param value any
---@return string
function mtstates.type(value) end

---Calls the state's callback with the arguments (waiting while another thread's call runs) and returns its results.
---@param ... mtstates.value
---@return mtstates.value ...
function state:call(...) end

---Calls the callback like call, waiting at most `timeout` seconds for the state; returns true and the results, or false on timeout.
---@param timeout number seconds; <= 0: one attempt
---@param ... mtstates.value
---@return boolean called
---@return mtstates.value ...
function state:tcall(timeout, ...) end

---Closes the state (raises mtstates.error.concurrent_access while a call runs).
function state:close() end

---Returns the state's id, unique in the process.
---@return integer
function state:id() end

---Returns the state's name (nothing for an unnamed state).
---@return string|nil
function state:name() end

---Interrupts the state at its next Lua instruction: once (nil), at every instruction (true), or not any more (false).
---@param flag? boolean
function state:interrupt(flag) end

---Tells whether this reference owns the state.
---@return boolean
function state:isowner() end

---Version string, "mtstates <version>".
mtstates._VERSION = ""

---Build information, "atomic:RUST,thread:RUST".
mtstates._INFO = ""

---Error names: each value is the string "mtstates.error.<name>".
mtstates.error = {
    ambiguous_name = "mtstates.error.ambiguous_name",
    concurrent_access = "mtstates.error.concurrent_access",
    interrupted = "mtstates.error.interrupted",
    invoking_state = "mtstates.error.invoking_state",
    object_closed = "mtstates.error.object_closed",
    out_of_memory = "mtstates.error.out_of_memory",
    state_result = "mtstates.error.state_result",
    unknown_object = "mtstates.error.unknown_object",
}

return mtstates
