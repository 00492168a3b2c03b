-- Misuses the checker must flag, each on a line ending with `--! <code>`
-- naming the diagnostic expected there (ci/typecheck compares both ways).
local mtmsg = require "mtmsg"
local mtstates = require "mtstates"
local mtthread = require "mtthread"

local buffer = mtmsg.newbuffer("b")
buffer:addmessage("x")                              --! undefined-field
buffer:putmsg("soon", "x")                          --! param-type-mismatch
buffer:nonblock("yes")                              --! param-type-mismatch
mtmsg.newwriter("big")                              --! param-type-mismatch
mtmsg.sleep("1")                                    --! param-type-mismatch
mtmsg.newreader():nextmsg(42)                       --! param-type-mismatch
mtmsg.newfdnotifier():wait()                        --! undefined-field
local state = mtstates.newstate("return function() end")
state:tcall("later")                                --! param-type-mismatch
state:calls()                                       --! undefined-field
mtthread.new(42)                                    --! param-type-mismatch
mtthread.new(function() end):join("x")              --! param-type-mismatch
