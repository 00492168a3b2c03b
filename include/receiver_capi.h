/*
 * receiver_capi.h -- Receiver C API ("_capi_receiver", version 2.0.0).
 *
 * Written for this project from its specification (docs: capi.md).  The
 * binary layout, id string and version numbers are those of the public
 * Receiver C API, so objects published by any implementation of that API can
 * be used through this header and vice versa.
 *
 * Protocol summary
 * ----------------
 * A Lua object that can receive messages from native code stores, in its
 * metatable under the key RECEIVER_CAPI_ID_STRING, a full userdata of exactly
 * sizeof(void*) + strlen(RECEIVER_CAPI_ID_STRING) + 1 bytes: a
 * `const receiver_capi*` followed by the id string including its NUL.  The
 * vtable lives until the process exits and is never modified.  Use
 * receiver_get_capi() below to find and validate it.
 *
 * A message is built in a writer (newWriter, add*) and then handed to a
 * receiver with msgToReceiver.  A writer belongs to one thread at a time and
 * can only be used with receivers of the implementation that created it
 * (obtain both from the same vtable).
 *
 * All error handlers receive (ehdata, msg, msglen).  `msg` is only valid
 * during the callback and need not be NUL-terminated: use `msglen`.  A callee
 * may call the handler several times during one call; it always calls it on
 * the caller's thread before returning.  A NULL handler is allowed.
 *
 * Layout (LP64): size 128, offsets given next to each member.
 */
#ifndef RECEIVER_CAPI_H
#define RECEIVER_CAPI_H

#include <stddef.h>
#include <string.h>
#include <limits.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "lua.h"
#include "lauxlib.h"

#define RECEIVER_CAPI_ID_STRING     "_capi_receiver"
#define RECEIVER_CAPI_VERSION_MAJOR 2
#define RECEIVER_CAPI_VERSION_MINOR 0
#define RECEIVER_CAPI_VERSION_PATCH 0

/* Return codes of msgToReceiver() (see there). */
#define RECEIVER_CAPI_RC_OK            0
#define RECEIVER_CAPI_RC_CLOSED        1
#define RECEIVER_CAPI_RC_ABORTED       2
#define RECEIVER_CAPI_RC_BUSY          3
#define RECEIVER_CAPI_RC_FULL          4
#define RECEIVER_CAPI_RC_TOO_LARGE     5
#define RECEIVER_CAPI_RC_NO_MEMORY     6
#define RECEIVER_CAPI_RC_CALLBACK_ERR  990 /* this project's states */
#define RECEIVER_CAPI_RC_NOTIFY_FAILED 999 /* this project: see msgToReceiver */

/* Return codes of the add*ToWriter() functions (this project, buffers and
 * states alike). */
#define RECEIVER_CAPI_ADD_OK          0
#define RECEIVER_CAPI_ADD_OVERFLOW  (-1) /* fixed-capacity writer would overflow */
#define RECEIVER_CAPI_ADD_NO_MEMORY (-2) /* allocation failed */

/* Opaque receiver object and writer (implementation specific). */
typedef struct receiver_object receiver_object;
typedef struct receiver_writer receiver_writer;

/* Error callback: see the protocol summary above. */
typedef void (*receiver_error_handler)(void* ehdata, const char* msg, size_t msglen);

/* Element types of arrays in messages (same numbers as the Carray C API's
 * carray_type and the Sender C API's sender_array_type). */
typedef enum receiver_array_type
{
    RECEIVER_UCHAR  = 1,  /* unsigned char  */
    RECEIVER_SCHAR  = 2,  /* signed char    */
    RECEIVER_SHORT  = 3,  /* short          */
    RECEIVER_USHORT = 4,  /* unsigned short */
    RECEIVER_INT    = 5,  /* int            */
    RECEIVER_UINT   = 6,  /* unsigned int   */
    RECEIVER_LONG   = 7,  /* long           */
    RECEIVER_ULONG  = 8,  /* unsigned long  */
    RECEIVER_FLOAT  = 9,  /* float          */
    RECEIVER_DOUBLE = 10  /* double         */
#if defined(LLONG_MAX)
    ,
    RECEIVER_LLONG  = 11, /* long long          */
    RECEIVER_ULLONG = 12  /* unsigned long long */
#endif
} receiver_array_type;

typedef struct receiver_capi receiver_capi;

struct receiver_capi
{
    /* @0: must equal RECEIVER_CAPI_VERSION_MAJOR for this layout to apply. */
    int version_major;
    /* @4: consumers accept any minor >= the one they were written for. */
    int version_minor;
    /* @8: informational only. */
    int version_patch;
    /* @16: next vtable (another version of this API) or NULL. */
    const void* next_capi;

    /* @24: Returns the receiver behind the Lua value at `index`, or NULL if
     *      that value is not a receiver object of this implementation (light
     *      userdata, userdata without metatable and objects of other classes
     *      included).  Must be called on the thread that owns L; does not
     *      modify the stack and does not raise errors.  The pointer is only
     *      guaranteed valid while the Lua value lives: use retainReceiver(). */
    receiver_object* (*toReceiver)(lua_State* L, int index);

    /* @32: Adds one reference to the receiver.  Thread safe. */
    void (*retainReceiver)(receiver_object* r);

    /* @40: Drops a reference taken with retainReceiver(); the receiver may be
     *      freed with the last one.  Thread safe. */
    void (*releaseReceiver)(receiver_object* r);

    /* @48: Creates a writer.  `initialCapacity` bytes are reserved (0: memory
     *      is allocated on first use); `growFactor` (a float!)
     *      controls growth: 0 = fixed capacity, <= 1 grows by what is needed,
     *      otherwise capacity is multiplied by it.  Returns NULL if allocation
     *      fails.  Not thread safe: a writer is used by one thread at a time. */
    receiver_writer* (*newWriter)(size_t initialCapacity, float growFactor);

    /* @56: Frees a writer; NULL is accepted and ignored.  Not thread safe. */
    void (*freeWriter)(receiver_writer* w);

    /* @64: Delivers the writer's values as one message.  Thread safe (any
     *      thread, concurrently with other senders).
     *      clear != 0: discard the receiver's queued messages first (setmsg
     *                  semantics; this project leaves them untouched if the
     *                  message is rejected).
     *      nonblock != 0: return 3 instead of waiting when the receiver is
     *                  locked by another thread.
     *      Returns:
     *        0   accepted; the writer has been cleared;
     *        1   receiver closed (stays 1 forever; release it);
     *        2   receiver aborted (may work again later);
     *        3   nonblock and receiver busy;
     *        4   queued messages + this one exceed a fixed memory limit;
     *        5   this message alone exceeds the fixed memory limit;
     *        6   out of memory;
     *        990 (states) the callback or the argument conversion raised an
     *            error; eh got message and traceback;
     *        999 buffers: the message WAS delivered but the receiver's ">"
     *            notifier failed (eh got the text); states: the state's stack
     *            could not be grown;
     *        other values are implementation specific.
     *      The writer is cleared only when 0 is returned.  States run their
     *      callback synchronously on the calling thread, waiting for the state
     *      to become free; they ignore `clear` and `nonblock`. */
    int (*msgToReceiver)(receiver_object* r, receiver_writer* w, int clear, int nonblock,
                         receiver_error_handler eh, void* ehdata);

    /* @72: Removes all values from the writer.  Not thread safe. */
    void (*clearWriter)(receiver_writer* w);

    /* @80..@112: Each appends one value (addBytesToWriter: `len` integer values
     *      0..255, one per byte).  `addStringToWriter` copies `len` bytes (binary
     *      safe, no NUL needed).  Return 0 (RECEIVER_CAPI_ADD_OK) on success,
     *      -1 (RECEIVER_CAPI_ADD_OVERFLOW) if a fixed-capacity writer would
     *      overflow, -2 (RECEIVER_CAPI_ADD_NO_MEMORY) if allocation fails; on
     *      failure the writer keeps its previous values.  Not thread safe. */
    /* @80 */  int (*addBooleanToWriter)(receiver_writer* w, int b);
    /* @88 */  int (*addIntegerToWriter)(receiver_writer* w, lua_Integer i);
    /* @96 */  int (*addNumberToWriter)(receiver_writer* w, lua_Number n);
    /* @104 */ int (*addStringToWriter)(receiver_writer* w, const char* s, size_t len);
    /* @112 */ int (*addBytesToWriter)(receiver_writer* w, const unsigned char* s, size_t len);

    /* @120: Appends one array value of `elementCount` elements of type `t` and
     *      returns a pointer to elementSize * elementCount uninitialized bytes
     *      that the caller must fill before the next call on this writer.
     *      Returns NULL for an unknown type, on size overflow, if a fixed
     *      writer would overflow or if allocation fails (the writer then keeps
     *      its previous values).  For elementCount == 0 a non-NULL pointer
     *      (to no usable bytes) is returned on success.  Not thread safe. */
    void* (*addArrayToWriter)(receiver_writer* w, receiver_array_type t, size_t elementCount);
};

#if defined(__cplusplus) || (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L)
#  define RECEIVER_CAPI_INLINE static inline
#elif defined(__GNUC__)
#  define RECEIVER_CAPI_INLINE static __inline__
#else
#  define RECEIVER_CAPI_INLINE static
#endif

/*
 * Finds the Receiver C API of the Lua value at `index` (capi.md section 1.2):
 * raw metatable field RECEIVER_CAPI_ID_STRING, which must be a full userdata
 * of raw length >= sizeof(void*) + strlen(id) + 1 holding the pointer and then
 * the id string with its NUL; then the first vtable in the next_capi chain
 * with version_major == RECEIVER_CAPI_VERSION_MAJOR and version_minor >=
 * RECEIVER_CAPI_VERSION_MINOR.
 *
 * Returns NULL if none is found and then stores in *errorReason (if not
 * NULL): 1 = API present but no compatible version, 2 = no (valid) API.  On
 * success *errorReason is set to 0.  Stack balanced; raises no errors of its
 * own.  Call on the thread that owns L.
 */
RECEIVER_CAPI_INLINE const receiver_capi* receiver_get_capi(lua_State* L, int index, int* errorReason)
{
    static const char id[] = RECEIVER_CAPI_ID_STRING;
    const receiver_capi* found = NULL;
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
                const receiver_capi* api;
                memcpy((void*)&api, ud, sizeof(void*));
                reason = 1;
                while (api != NULL) {
                    if (api->version_major == RECEIVER_CAPI_VERSION_MAJOR
                        && api->version_minor >= RECEIVER_CAPI_VERSION_MINOR)
                    {
                        found = api;
                        reason = 0;
                        break;
                    }
                    api = (const receiver_capi*)api->next_capi;
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

#endif /* RECEIVER_CAPI_H */
