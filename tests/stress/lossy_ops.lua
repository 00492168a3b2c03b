-- As random_ops.lua, plus setmsg (buffer and writer), buffer:clear() and
-- listener:clear() from every thread: messages are discarded on purpose, so
-- the accounting checks that nothing is duplicated, corrupted, reordered or
-- invented, and that received + discarded == sent (see opslib.lua).
local S = require "stresslib"
local ops = require "opslib"

S.start("lossy_ops")
local r = ops.run("lossy", true, 16, S.seconds(8))
S.check(r.lost > 0, "setmsg/clear discarded nothing: the lossy operations did not run")
S.finish()
