-- benches: lookup_buffer_name lookup_buffer_id
-- Among 10,000 named buffers (all alive), mtmsg.buffer(name) and
-- mtmsg.buffer(id) for random names/ids (see B.lookups in common.lua).
local B = dofile(((arg and arg[0] or ""):match("^(.*[/\\])") or "") .. "common.lua")
local mtmsg = require "mtmsg"

B.lookups("buffer", 10000, mtmsg.newbuffer, mtmsg.buffer)
