/*
 * notify_capi.h -- Notify C API ("_capi_notify", version 0.0.2).
 *
 * Written for this project from its specification (docs: capi.md).  The
 * binary layout, id string and version numbers are those of the public Notify
 * C API, so objects published by any implementation of that API can be used
 * through this header and vice versa.
 *
 * Protocol summary
 * ----------------
 * A Lua object (usually a full userdata) that can be notified from native
 * code stores, in its metatable under the key NOTIFY_CAPI_ID_STRING, a full
 * userdata of exactly sizeof(void*) + strlen(NOTIFY_CAPI_ID_STRING) + 1 bytes:
 * a `const notify_capi*` followed by the id string including its NUL.  The
 * vtable it points to lives until the process exits and is never modified.
 * Use notify_get_capi() below to find and validate it.
 *
 * All error handlers receive (ehdata, msg, msglen).  `msg` is only valid
 * during the callback and need not be NUL-terminated: use `msglen`.  A callee
 * may call the handler several times during one call; it always calls it on
 * the caller's thread before returning.  A NULL handler is allowed: errors are
 * then reported through the return code only.
 *
 * Layout (LP64): size 56, offsets given next to each member.
 */
#ifndef NOTIFY_CAPI_H
#define NOTIFY_CAPI_H

#include <stddef.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "lua.h"
#include "lauxlib.h"

#define NOTIFY_CAPI_ID_STRING     "_capi_notify"
#define NOTIFY_CAPI_VERSION_MAJOR 0
#define NOTIFY_CAPI_VERSION_MINOR 0
#define NOTIFY_CAPI_VERSION_PATCH 2

/* Return codes of notify(). Other values are implementation-specific failures. */
#define NOTIFY_CAPI_RC_OK      0 /* notified */
#define NOTIFY_CAPI_RC_CLOSED  1 /* notifier closed for good: release it, never call it again */

/* Opaque notifier object (implementation specific). */
typedef struct notify_notifier notify_notifier;

/* Error callback: see the protocol summary above. */
typedef void (*notifier_error_handler)(void* ehdata, const char* msg, size_t msglen);

typedef struct notify_capi notify_capi;

struct notify_capi
{
    /* @0: must equal NOTIFY_CAPI_VERSION_MAJOR for this layout to apply. */
    int version_major;
    /* @4: consumers accept any minor >= the one they were written for. */
    int version_minor;
    /* @8: informational only. */
    int version_patch;
    /* @16: next vtable (another version of this API) or NULL.  Consumers walk
     *      this chain until they find a compatible version. */
    const void* next_capi;

    /* @24: Returns the notifier behind the Lua value at `index`, or NULL if
     *      that value is not a notifier object of this implementation (light
     *      userdata, userdata without metatable and objects of other classes
     *      included).  Must be called on the thread that owns L; does not
     *      modify the Lua stack and does not raise errors.  The returned
     *      pointer is only guaranteed valid while the Lua value is alive;
     *      call retainNotifier() to keep it. */
    notify_notifier* (*toNotifier)(lua_State* L, int index);

    /* @32: Adds one reference to the notifier so that it stays valid without
     *      the Lua value.  Thread safe. */
    void (*retainNotifier)(notify_notifier* n);

    /* @40: Drops one reference taken with retainNotifier(); the notifier may
     *      be freed when the last reference goes.  Thread safe. */
    void (*releaseNotifier)(notify_notifier* n);

    /* @48: Notifies.  Thread safe; may be called from any thread, also
     *      concurrently, and runs synchronously on the calling thread.
     *      Returns:
     *        0 (NOTIFY_CAPI_RC_OK)     success;
     *        1 (NOTIFY_CAPI_RC_CLOSED) the notifier is closed: every later call
     *                                  returns 1 too; the caller should release
     *                                  it and never call it again;
     *        any other value           implementation-specific failure; the
     *                                  handler `eh` (if not NULL) usually got a
     *                                  description (possibly in several calls).
     *      Values used by this project's implementations: buffers return the
     *      Receiver C API codes 2 (aborted), 4 (full), 5 (too large), 6 (out of
     *      memory), 999 (the empty message was added but the buffer's own ">"
     *      notifier failed); states return 990 (callback raised an error, eh got
     *      message and traceback) and 999 (state stack could not be grown);
     *      fd notifiers (mtmsg.newfdnotifier) return 2 (writing to the
     *      descriptor failed, eh got the system's error text). */
    int (*notify)(notify_notifier* n, notifier_error_handler eh, void* ehdata);
};

#if defined(__cplusplus) || (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L)
#  define NOTIFY_CAPI_INLINE static inline
#elif defined(__GNUC__)
#  define NOTIFY_CAPI_INLINE static __inline__
#else
#  define NOTIFY_CAPI_INLINE static
#endif

/*
 * Finds the Notify C API of the Lua value at `index` (capi.md section 1.2):
 *
 *  1. raw lookup of NOTIFY_CAPI_ID_STRING in the value's real metatable
 *     (luaL_getmetafield; __metatable and __index are irrelevant);
 *  2. the field must be a full userdata whose raw length is at least
 *     sizeof(void*) + strlen(id) + 1 and whose bytes after the pointer equal
 *     the id string including its NUL;
 *  3. follows the next_capi chain starting at the stored pointer and returns
 *     the first vtable with version_major == NOTIFY_CAPI_VERSION_MAJOR and
 *     version_minor >= NOTIFY_CAPI_VERSION_MINOR.
 *
 * Returns NULL if none is found and then stores in *errorReason (if
 * errorReason is not NULL): 1 = an API was found but no compatible version,
 * 2 = no (valid) API at all.  On success *errorReason is set to 0.
 * Leaves the Lua stack balanced in every case; never raises errors (apart from
 * Lua's own memory errors).  Call on the thread that owns L.
 */
NOTIFY_CAPI_INLINE const notify_capi* notify_get_capi(lua_State* L, int index, int* errorReason)
{
    static const char id[] = NOTIFY_CAPI_ID_STRING;
    const notify_capi* found = NULL;
    int reason = 2;
    if (luaL_getmetafield(L, index, id) != 0) {
        if (lua_type(L, -1) == LUA_TUSERDATA) {
            const char* ud = (const char*)lua_touserdata(L, -1);
#if LUA_VERSION_NUM >= 502
            size_t len = (size_t)lua_rawlen(L, -1);
#else
            size_t len = (size_t)lua_objlen(L, -1);
#endif
            if (ud != NULL && len >= sizeof(void*) + sizeof(id)
                && memcmp(ud + sizeof(void*), id, sizeof(id)) == 0)
            {
                const notify_capi* api;
                memcpy((void*)&api, ud, sizeof(void*));
                reason = 1;
                while (api != NULL) {
                    if (api->version_major == NOTIFY_CAPI_VERSION_MAJOR
                        && api->version_minor >= NOTIFY_CAPI_VERSION_MINOR)
                    {
                        found = api;
                        reason = 0;
                        break;
                    }
                    api = (const notify_capi*)api->next_capi;
                }
            }
        }
        lua_pop(L, 1);
    }
    if (errorReason != NULL) {
        *errorReason = reason;
    }
    return found;
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* NOTIFY_CAPI_H */
