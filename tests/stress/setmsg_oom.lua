-- A setmsg that fails with out_of_memory must leave the buffer exactly as it
-- was (decisions [30]: "a setmsg that fails leaves the buffer exactly as it
-- was"), like one that fails with message_size.
--
-- Found by the byte_area fuzz target (fuzz/fuzz_targets/byte_area.rs).
-- Known failure (reported): core::memory::ByteArea::replace checks the new
-- size against the capacity rules, then clears the area, then appends; the
-- append can still fail with OutOfMemory (the check allows a grown capacity
-- that cannot be allocated), and the area is left empty. In
-- core::buffer::Buffer::put the slot's message count is not reset on that
-- error, so the buffer keeps reporting its old msgcnt() and nextmsg() then
-- returns that many phantom empty messages (zero values) instead of the
-- original ones: the queued messages are lost and replaced by garbage.
-- A grow factor whose next capacity cannot be allocated (here 1e300, or 1e10
-- on a machine with less than 10 TB) triggers it; so would any real
-- allocation failure.
local S = require "stresslib"
local mtmsg = require "mtmsg"

S.start("setmsg_oom")

local function case(what, b, do_set)
    b:addmsg("a", 1)
    b:addmsg("b", 2)
    b:addmsg("c", 3)
    local ok, err = pcall(do_set)
    local cnt = b:msgcnt()
    local got = {}
    for _ = 1, 5 do
        local r = S.pack(b:nextmsg(0))
        if r.n == 0 and b:msgcnt() == 0 and #got >= cnt then break end
        got[#got + 1] = r.n == 0 and "<empty>" or (tostring(r[1]) .. tostring(r[2]))
    end
    local seen = table.concat(got, ",")
    S.report(what, { "setmsg_ok", ok, "error", "[" .. tostring(err):sub(1, 60) .. "]", "msgcnt_after", cnt,
        "messages_after", "[" .. seen .. "]" })
    S.check(not ok and tostring(err):find("mtmsg.error.out_of_memory", 1, true), what .. ": expected out_of_memory")
    S.check(seen == "a1,b2,c3", what .. ": the buffer changed: [" .. seen .. "] instead of [a1,b2,c3]")
end

do
    local b = mtmsg.newbuffer(1024, 1e300)
    case("buffer:setmsg, grow 1e300", b, function() return b:setmsg(string.rep("x", 2000)) end)
end
do
    local b = mtmsg.newbuffer(1024, 1e300)
    local w = mtmsg.newwriter()
    w:add(string.rep("y", 5000))
    case("writer:setmsg, grow 1e300", b, function() return w:setmsg(b) end)
end
do
    local l = mtmsg.newlistener()
    local b = l:newbuffer(1024, 1e300)
    case("listener buffer setmsg, grow 1e300", b, function() return b:setmsg(string.rep("x", 2000)) end)
end
S.finish()
