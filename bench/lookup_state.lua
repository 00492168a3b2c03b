-- benches: lookup_state_name lookup_state_id
-- Among 10,000 named states (all alive, libs=false), mtstates.state(name) and
-- mtstates.state(id) for random names/ids (see B.lookups in common.lua).
local B = dofile(((arg and arg[0] or ""):match("^(.*[/\\])") or "") .. "common.lua")
local mtstates = require "mtstates"

B.lookups("state", 10000, function(name)
    return mtstates.newstate(name, false, "return function() end")
end, mtstates.state)
