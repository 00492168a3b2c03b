-- The API reference (docs/api/*.md) and the editor annotations
-- (docs/types/*.lua) document exactly what the modules have: every module
-- function, field and error name, and every method of every class, on the
-- Lua version this runs on. Grammar read: docs/api/README.md "Completeness".
local T = require "testlib"

local MODULES = { "mtmsg", "mtstates", "mtthread" }

-- The API of the original C modules (names only, from their documentation):
-- an entry is marked **Extension.** exactly when it is not one of these.
local ORIGINAL = {}
for _, names in ipairs {
    { "mtmsg.", "newbuffer buffer newlistener listener newwriter newreader abort isabort time sleep type "
        .. "_VERSION _INFO" },
    { "mtmsg.error.", "ambiguous_name has_notifier message_size no_buffers object_closed operation_aborted "
        .. "out_of_memory unknown_object" },
    { "buffer:", "id name addmsg setmsg msgcnt clear nextmsg notifier nonblock isnonblock close abort isabort" },
    { "listener:", "id name newbuffer nextmsg nonblock isnonblock clear close abort isabort" },
    { "writer:", "add addmsg setmsg clear" },
    { "reader:", "next nextmsg clear" },
    { "mtstates.", "newstate state singleton id type _VERSION _INFO" },
    { "mtstates.error.", "ambiguous_name concurrent_access interrupted invoking_state object_closed "
        .. "out_of_memory state_result unknown_object" },
    { "state:", "id name call tcall interrupt isowner close" },
} do
    for name in names[2]:gmatch("%S+") do ORIGINAL[names[1] .. name] = true end
end

-- Tests run with their own directory as the working directory.
local ROOT = "../../"

local function read(path)
    local f = io.open(ROOT .. path, "r")
    if not f then return nil end
    local text = f:read("*a")
    f:close()
    return text
end

local function lines(text)
    local out = {}
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do out[#out + 1] = line end
    return out
end

local function sorted(set)
    local out = {}
    for k in pairs(set) do out[#out + 1] = k end
    table.sort(out)
    return out
end

-- What exists: "M.f", "M.field", "M.error.e", "class:m"; classes by short
-- name ("buffer" for mtmsg.buffer) with their C API fields.
local actual, classes, modules = {}, {}, {}
for _, m in ipairs(MODULES) do
    local M = require(m)
    modules[m] = true
    for k, v in pairs(M) do
        if k == "error" then
            T.eq(type(v), "table", m .. ".error")
            for e in pairs(v) do actual[m .. ".error." .. e] = true end
        else
            actual[m .. "." .. k] = true
        end
    end
end
for key, mt in pairs(debug.getregistry()) do
    local m, short
    if type(key) == "string" then m, short = key:match("^(%w+)%.(%w+)$") end
    if m and modules[m] and type(mt) == "table" and type(mt.__index) == "table" then
        T.check(not classes[short], "two classes named " .. short)
        classes[short] = { full = key, capi = {} }
        for method in pairs(mt.__index) do actual[short .. ":" .. method] = true end
        for field in pairs(mt) do
            if type(field) == "string" and field:match("^_capi_") then classes[short].capi[field] = true end
        end
    end
end
-- Every class is registered once its module is loaded.
for _, c in ipairs { "buffer", "listener", "writer", "reader", "fdnotifier", "state", "thread" } do
    T.check(classes[c], "class " .. c .. " not found in the registry")
end

-- An item name read from the docs: returns the key and nil, or nil and why
-- it is not an item of ours.
local function item_key(prefix, sep, name)
    if sep == "." and modules[prefix] then return prefix .. "." .. name end
    if sep == ":" and classes[prefix] then return prefix .. ":" .. name end
    return nil, "unknown module or class '" .. prefix .. "'"
end

local problems = {}
local function problem(fmt, ...) problems[#problems + 1] = string.format(fmt, ...) end

-- The reference: level-3 headings starting with a code span.
local reference, pages = {}, 0
for _, page in ipairs { "README.md", "mtmsg.md", "mtstates.md", "mtthread.md", "capi.md" } do
    local path = "docs/api/" .. page
    local text = read(path)
    T.check(text, "cannot read " .. ROOT .. path)
    pages = pages + 1
    local ls = lines(text)
    for i, line in ipairs(ls) do
        local span = line:match("^###%s+`([^`]+)`")
        if span then
            local key, why
            local m, e = span:match("^(%w+)%.error%.([%w_]+)")
            if m then
                key, why = item_key(m, ".", "error")
                key = key and m .. ".error." .. e
            else
                local prefix, sep, name = span:match("^([%w_]+)([%.:])([%w_]+)")
                if prefix then key, why = item_key(prefix, sep, name) else why = "not a name" end
            end
            if not key then
                problem("%s:%d: heading `%s`: %s", path, i, span, why)
            else
                if reference[key] then problem("%s:%d: `%s` documented twice", path, i, key) end
                reference[key] = path .. ":" .. i
                -- The entry's first non-blank line says whether it is new.
                local j = i + 1
                while ls[j] and ls[j]:match("^%s*$") do j = j + 1 end
                local marked = ls[j] ~= nil and ls[j]:match("^%*%*Extension%.%*%*") ~= nil
                local original = ORIGINAL[key] or false
                if marked == original then
                    problem("%s:%d: `%s` %s", path, i, key, original
                        and "is in the original modules but marked **Extension.**"
                        or "is an extension but its entry does not start with **Extension.**")
                end
            end
        end
    end
end

-- The annotations: `function M.f(`, `function class:m(`, `M.field =` and
-- the `M.error = {` table, one `name = ...` per line up to `}`.
local annotated = {}
for _, m in ipairs(MODULES) do
    local path = "docs/types/" .. m .. ".lua"
    local text = read(path)
    T.check(text, "cannot read " .. ROOT .. path)
    local chunk, err = (loadstring or load)(text, "@" .. path)
    T.check(chunk, "annotations do not compile: " .. tostring(err))
    T.check(text:match("^%-%-%-@meta " .. m), path .. " starts with ---@meta " .. m)
    local in_errors = false
    for i, line in ipairs(lines(text)) do
        local function add(key, why)
            if not key then return problem("%s:%d: %s", path, i, why) end
            if annotated[key] then problem("%s:%d: `%s` annotated twice", path, i, key) end
            annotated[key] = path .. ":" .. i
        end
        if in_errors then
            if line:match("^}") then
                in_errors = false
            else
                local e = line:match("^%s*([%w_]+)%s*=")
                if e then add(m .. ".error." .. e) end
            end
        elseif line:match("^" .. m .. "%.error%s*=%s*{") then
            in_errors = true
        else
            local prefix, sep, name = line:match("^function%s+([%w_]+)([%.:])([%w_]+)%s*%(")
            if not prefix then prefix, name = line:match("^([%w_]+)%.([%w_]+)%s*="); sep = "." end
            if prefix then add(item_key(prefix, sep, name)) end
        end
    end
    T.check(not in_errors, path .. ": " .. m .. ".error table not closed by a line '}'")
end
local capi = read("docs/api/capi.md")
for short, class in pairs(classes) do
    local m = class.full:match("^(%w+)")
    local types = read("docs/types/" .. m .. ".lua")
    if not types:find("---@class " .. class.full, 1, true) then
        problem("docs/types/%s.lua: no ---@class %s", m, class.full)
    end
    -- The C API fields are described in capi.md by name.
    for field in pairs(class.capi) do
        if not capi:find(field, 1, true) then problem("docs/api/capi.md: %s's %s not described", short, field) end
    end
end

-- Both directions, for both documents.
for _, key in ipairs(sorted(actual)) do
    if not reference[key] then problem("`%s` exists but docs/api has no heading for it", key) end
    if not annotated[key] then problem("`%s` exists but docs/types does not annotate it", key) end
end
for _, key in ipairs(sorted(reference)) do
    if not actual[key] then problem("%s: documents `%s`, which does not exist", reference[key], key) end
end
for _, key in ipairs(sorted(annotated)) do
    if not actual[key] then problem("%s: annotates `%s`, which does not exist", annotated[key], key) end
end

-- Every Lua example of the reference runs, each in a fresh environment with
-- the three modules required (an example may use any of them by its usual
-- name), except where the example needs luv and this Lua has none (T.luv:
-- a failure in CI except on Lua 5.5) or needs LuaJIT's FFI.
local luv
local examples, skipped = 0, 0
-- capi.md's LuaJIT FFI example runs on LuaJIT only.
package.path = ROOT .. "include/?.lua;" .. package.path
for _, page in ipairs { "mtmsg.md", "mtstates.md", "mtthread.md", "capi.md" } do
    local path = "docs/api/" .. page
    local ls, block, start = lines(read(path)), nil, nil
    for i, line in ipairs(ls) do
        if block then
            if line:match("^```%s*$") then
                local code = table.concat(block, "\n")
                local needs_luv = code:find('require%s*%(?%s*"luv"') ~= nil
                if needs_luv and luv == nil then luv = T.luv() or false end
                local needs_ffi = code:find('require%s*%(?%s*"mtmsg_ffi"') ~= nil
                if needs_luv and not luv or needs_ffi and not jit then
                    skipped = skipped + 1
                else
                    local env = setmetatable({
                        mtmsg = require "mtmsg", mtstates = require "mtstates", mtthread = require "mtthread",
                        print = function() end,
                    }, { __index = _G })
                    local chunk, err = (loadstring or load)(code, "@" .. path .. ":" .. start)
                    if chunk and setfenv then setfenv(chunk, env) end
                    if chunk and not setfenv then chunk, err = load(code, "@" .. path .. ":" .. start, "t", env) end
                    local ok, run_err = false, err
                    if chunk then ok, run_err = pcall(chunk) end
                    if not ok then problem("%s:%d: example fails: %s", path, start, tostring(run_err)) end
                    examples = examples + 1
                end
                block = nil
            else
                block[#block + 1] = line
            end
        elseif line:match("^```lua%s*$") then
            block, start = {}, i
        end
    end
end

if #problems > 0 then
    error(#problems .. " mismatches between the modules and their documentation:\n  "
        .. table.concat(problems, "\n  "), 0)
end
local n = #sorted(actual)
T.check(n > 80, "only " .. n .. " items found")
T.check(pages == 5, "pages")
T.check(examples > 50, "only " .. examples .. " examples run")
print(string.format("api_docs_test: %d items, %d examples run, %d skipped (no luv or not LuaJIT)", n, examples,
    skipped))
T.done("api_docs_test")
