-- benches: tables_record format_record tables_array format_array
-- One thread, round trips through one buffer, each giving the receiver a
-- new table equal to the one sent (ops = round trips):
--   tables_record  b:addmsg(record) / b:nextmsg() with a record of 8 string
--                  keys holding numbers and strings (our extension);
--   format_record  what a user writes without it: string.format into one
--                  string, addmsg / nextmsg, string.match and tonumber back
--                  into a new table;
--   tables_array   the same with an array of 1,000 numbers;
--   format_array   table.concat(array, ",") and gmatch / tonumber back.
-- The two ways of each pair run in alternating slices of the same process,
-- so their ratio (vs_format = tables ops_per_s / format ops_per_s, > 1:
-- tables are faster) is measured on the same interpreter at the same time.
-- Original modules have no tables: the script then stops with an error.
local B = dofile(((arg and arg[0] or ""):match("^(.*[/\\])") or "") .. "common.lua")
local mtmsg = require "mtmsg"

-- The originals store a table as corrupt data, and reading it back may
-- crash them: only our builds ("mtmsg <version>") are probed.
if not tostring(mtmsg._VERSION):match("^mtmsg ") then
    error("this mtmsg has no tables in messages", 0)
end
local b = mtmsg.newbuffer()
do
    local ok, t = pcall(function() b:addmsg({ 1 }); return b:nextmsg() end)
    if not (ok and type(t) == "table" and t[1] == 1) then
        error("this mtmsg has no tables in messages", 0)
    end
end

local record = { id = 42, name = "widget", price = 9.5, qty = 7, active = "yes", color = "blue",
                 x = 1.25, y = -3 }
local array = {}
for i = 1, 1000 do array[i] = i * 1.5 end

-- n round trips of table t through the buffer; returns the last copy.
local function round_trips(t)
    return function(n)
        local r
        for _ = 1, n do
            b:addmsg(t)
            r = b:nextmsg()
        end
        return r
    end
end
local table_record, table_array = round_trips(record), round_trips(array)

local FORMAT = "%d\t%s\t%.17g\t%d\t%s\t%s\t%.17g\t%.17g"
local PATTERN = "^(.-)\t(.-)\t(.-)\t(.-)\t(.-)\t(.-)\t(.-)\t(.*)$"
local function format_record(n)
    local r
    for _ = 1, n do
        local t = record
        b:addmsg(string.format(FORMAT, t.id, t.name, t.price, t.qty, t.active, t.color, t.x, t.y))
        local id, name, price, qty, active, color, x, y = b:nextmsg():match(PATTERN)
        r = { id = tonumber(id), name = name, price = tonumber(price), qty = tonumber(qty), active = active,
              color = color, x = tonumber(x), y = tonumber(y) }
    end
    return r
end

local concat, tonumber = table.concat, tonumber
local function format_array(n)
    local r
    for _ = 1, n do
        b:addmsg(concat(array, ","))
        r = {}
        local i = 0
        for v in b:nextmsg():gmatch("[^,]+") do
            i = i + 1
            r[i] = tonumber(v)
        end
    end
    return r
end

local function same(a, c)
    for k, v in pairs(a) do if c[k] ~= v then return false end end
    for k in pairs(c) do if a[k] == nil then return false end end
    return true
end
assert(same(table_record(1), record) and same(format_record(1), record), "record round trip")
assert(same(table_array(1), array) and same(format_array(1), array), "array round trip")

-- Times `a` and `f` over n round trips each, in alternating slices.
local function pair(a, f, n)
    local slices = 4
    local per = math.max(1, math.floor(n / slices))
    a(math.max(1, math.floor(per / 10))); f(math.max(1, math.floor(per / 10)))   -- warm-up
    local ta, tf = 0, 0
    for _ = 1, slices do
        local t0 = B.time(); a(per); ta = ta + B.time() - t0
        t0 = B.time(); f(per); tf = tf + B.time() - t0
    end
    return per * slices, ta, tf
end

local n, ta, tf = pair(table_record, format_record, B.n(2e5))
B.report("tables_record", n, ta, { { "us_per_op", ta / n * 1e6 }, { "vs_format", string.format("%.3f", tf / ta) } })
B.report("format_record", n, tf, { { "us_per_op", tf / n * 1e6 } })
n, ta, tf = pair(table_array, format_array, B.n(2e3))
B.report("tables_array", n, ta, { { "us_per_op", ta / n * 1e6 }, { "vs_format", string.format("%.3f", tf / ta) } })
B.report("format_array", n, tf, { { "us_per_op", tf / n * 1e6 } })
