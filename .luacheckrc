-- luacheck configuration for the Lua code of examples/, tests/ and bench/
-- (run by ci/lint: `luacheck examples tests bench`).

-- The scripts run on Lua 5.1 to 5.5 and LuaJIT and guard version differences
-- at runtime (table.unpack or unpack, math.type, jit, setfenv, ...): every
-- standard's globals are known. No other global is: a test that sets one on
-- purpose says so inline (`-- luacheck: push globals X (reason)`).
std = "max"

-- Warning codes in the output, for inline `-- luacheck: ignore NNN`.
codes = true

-- The default, stated: longer lines are wrapped; a long literal that must
-- stay would carry an inline `-- luacheck: ignore 631 (reason)`.
max_line_length = 120

ignore = {
    -- Shadowing and redefinition (411-433) are deliberate: a function run by
    -- mtthread, mtstates.newstate/singleton or a bench thread is serialized
    -- and runs in a fresh Lua state without upvalues, so it re-requires its
    -- modules and re-opens its buffers under the same names as the code
    -- around it; and tests reuse `ok, err`, `s`, `r`, ... case after case.
    "4",
}

-- Not ignored: 311 (value assigned to a variable is unused). It found results
-- the tests never checked, so it stays on. The GC tests' reference drops
-- (`x = nil` before collectgarbage(), so that the object can be collected)
-- and the few assignments that only keep an object alive are marked where
-- they are: `-- luacheck: ignore 311 (GC drop)`, `(held: ...)`. Likewise
-- 231/241/331 for a variable that only holds objects alive.
