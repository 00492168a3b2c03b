/*
 * example_notify: a complete small C library that notifies Lua objects from
 * its own thread through the Notify C API (include/notify_capi.h).
 *
 *   local ticker = require("example_notify")
 *   local t = ticker.start(obj, count, interval_ms)  -- obj: an mtmsg buffer,
 *                                                    -- an mtstates state, ...
 *   t:join()  --> number of successful notifications, last return code
 *
 * A buffer receives one empty message per notification; a state's callback
 * is called (with no arguments) on the ticker's thread.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lua.h"
#include "lauxlib.h"
#include "notify_capi.h"

typedef struct {
    const notify_capi* api;
    notify_notifier* notifier;
    int count;
    int interval_ms;
    int ok;
    int last_rc;
    pthread_t thread;
    int joined;
} ticker;

static void* run(void* arg)
{
    ticker* t = (ticker*)arg;
    int i;
    for (i = 0; i < t->count; ++i) {
        struct timespec ts;
        ts.tv_sec = t->interval_ms / 1000;
        ts.tv_nsec = (long)(t->interval_ms % 1000) * 1000000L;
        nanosleep(&ts, NULL);
        /* Thread safe by the Notify API's contract; no handler: the return
         * code is all we need. */
        t->last_rc = t->api->notify(t->notifier, NULL, NULL);
        if (t->last_rc != 0) {
            break; /* 1: closed for good; others: failure */
        }
        t->ok++;
    }
    return NULL;
}

static int join(lua_State* L)
{
    ticker* t = (ticker*)luaL_checkudata(L, 1, "example_notify.ticker");
    if (!t->joined) {
        pthread_join(t->thread, NULL);
        t->joined = 1;
        t->api->releaseNotifier(t->notifier); /* balances retainNotifier */
    }
    lua_pushinteger(L, t->ok);
    lua_pushinteger(L, t->last_rc);
    return 2;
}

static int start(lua_State* L)
{
    int reason;
    const notify_capi* api = notify_get_capi(L, 1, &reason);
    notify_notifier* n;
    ticker* t;
    if (api == NULL) {
        return luaL_argerror(L, 1, reason == 1 ? "notify capi version mismatch" : "notifier expected");
    }
    n = api->toNotifier(L, 1);
    if (n == NULL) {
        return luaL_argerror(L, 1, "invalid notifier");
    }
    t = (ticker*)lua_newuserdata(L, sizeof(ticker));
    memset(t, 0, sizeof(*t));
    t->api = api;
    t->notifier = n;
    t->count = (int)luaL_checkinteger(L, 2);
    t->interval_ms = (int)luaL_optinteger(L, 3, 10);
    luaL_getmetatable(L, "example_notify.ticker");
    lua_setmetatable(L, -2);
    /* Keep the object alive for the thread, whatever Lua does with it. */
    api->retainNotifier(n);
    if (pthread_create(&t->thread, NULL, run, t) != 0) {
        api->releaseNotifier(n);
        t->joined = 1;
        return luaL_error(L, "cannot start thread");
    }
    return 1;
}

int luaopen_example_notify(lua_State* L)
{
    if (luaL_newmetatable(L, "example_notify.ticker")) {
        lua_pushcfunction(L, join);
        lua_setfield(L, -2, "__gc");
        lua_newtable(L);
        lua_pushcfunction(L, join);
        lua_setfield(L, -2, "join");
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, start);
    lua_setfield(L, -2, "start");
    return 1;
}
