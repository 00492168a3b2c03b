/*
 * benchfloor.c -- the floor of the `newstate` benchmark (bench/newstate.lua):
 * what creating and closing a Lua state with the standard libraries costs
 * in plain C, with nothing of mtstates around it.
 *
 *   local benchfloor = require "benchfloor"
 *   benchfloor.statecycle(n)   -- n times: luaL_newstate(); luaL_openlibs();
 *                              -- lua_close(); returns nothing
 *
 * Compiles against the headers of Lua 5.1 to 5.5 and LuaJIT; its Lua
 * symbols resolve from the host interpreter (as for capi/carray.c).
 */

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#if defined(__GNUC__)
#  define BENCHFLOOR_EXPORT __attribute__((visibility("default")))
#else
#  define BENCHFLOOR_EXPORT
#endif

/* statecycle(n): n state cycles (n >= 0). */
static int statecycle(lua_State* L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    lua_Integer i;
    luaL_argcheck(L, n >= 0, 1, "count must be >= 0");
    for (i = 0; i < n; ++i) {
        lua_State* S = luaL_newstate();
        if (S == NULL) {
            return luaL_error(L, "luaL_newstate failed (out of memory)");
        }
        luaL_openlibs(S);
        lua_close(S);
    }
    return 0;
}

static const luaL_Reg g_module[] = {
    { "statecycle", statecycle },
    { NULL, NULL }
};

BENCHFLOOR_EXPORT int luaopen_benchfloor(lua_State* L)
{
    const luaL_Reg* r;
    lua_newtable(L);
    for (r = g_module; r->name != NULL; ++r) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
    return 1;
}
