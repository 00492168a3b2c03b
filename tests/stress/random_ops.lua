-- 16 threads doing random operations for about 10 s on 4 shared buffers and
-- 4 buffers of one listener: addmsg (blocking and nonblock references),
-- writer:addmsg, nextmsg (timeout 0, short timeouts, nonblock), listener
-- nextmsg, reader:nextmsg, lookups by id, msgcnt, GC steps. No setmsg and no
-- clear here, so the accounting is exact: every message sent (true
-- returned) is received exactly once, each producer's messages in order
-- per target, contents intact (see opslib.lua). lossy_ops.lua adds setmsg
-- and clear.
local S = require "stresslib"
local ops = require "opslib"

S.start("random_ops")
ops.run("exact", false, 16, S.seconds(10))
S.finish()
