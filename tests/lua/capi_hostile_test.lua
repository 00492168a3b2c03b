-- Hostile C callers through the Receiver API (capi/capitest.c): unknown
-- array types, absurd element counts and string lengths, writer reuse after
-- failure, full and too-large messages: documented codes, never a crash.
local T = require "testlib"
local mtmsg = require "mtmsg"
local capitest = require "capitest"

-- A fixed 64-byte buffer: the big message (100000 bytes) is too large (5),
-- filling it ends with "full" (4); then clear=1 with a too-large message
-- must leave it as it was (decisions [30]).
local b = mtmsg.newbuffer(64, 0)
local r = capitest.hostile(b)
local keys = {}
for k in pairs(r) do keys[#keys + 1] = k end
table.sort(keys)
for _, k in ipairs(keys) do print(k, r[k]) end
T.check(#keys > 10, "hostile ran its cases")
T.eq(r.fixed_reuse_send_rc, 0, "a fixed writer is reusable after overflow")
T.eq(r.too_large_rc, 5)
T.eq(r.clear_too_large_rc, 5)
T.eq(r.full_rc, 4)
T.check(r.full_after > 0 and r.full_after < 64, "filled until full")
for _, k in ipairs(keys) do
    if k:match("_null$") then T.eq(r[k], true, k) end
end
T.eq(r.fixed_overflow_rc, -1)
T.eq(r.fixed_huge_string_rc, -1)
T.eq(r.fixed_huge_bytes_rc, -1)
T.eq(r.grow_huge_string_rc, -2)
T.eq(r.grow_huge_bytes_rc, -2)
T.eq(r.to_self_ok, true)
-- the buffer still works and holds what hostile() left in it
T.check(b:msgcnt() > 0)
while b:msgcnt() > 0 do b:nextmsg(0) end
T.eq(b:addmsg("still works"), true)
T.eq(b:nextmsg(0), "still works")
T.done("capi_hostile")
