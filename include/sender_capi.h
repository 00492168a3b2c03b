/*
 * sender_capi.h -- Sender C API ("_capi_sender", version 1.0.0).
 *
 * Written for this project from its specification (docs: capi.md).  The
 * binary layout, id string and version numbers are those of the public Sender
 * C API, so objects published by any implementation of that API can be used
 * through this header and vice versa.
 *
 * Protocol summary
 * ----------------
 * A Lua object from which native code can take messages stores, in its
 * metatable under the key SENDER_CAPI_ID_STRING, a full userdata of exactly
 * sizeof(void*) + strlen(SENDER_CAPI_ID_STRING) + 1 bytes: a
 * `const sender_capi*` followed by the id string including its NUL.  The
 * vtable lives until the process exits and is never modified.  Use
 * sender_get_capi() below to find and validate it.
 *
 * Messages are moved into a reader (newReader, nextMessageFromSender) and
 * then decoded value by value (nextValueFromReader).  A reader belongs to one
 * thread at a time and can only be used with senders of the implementation
 * that created it (obtain both from the same vtable).
 *
 * All error handlers receive (ehdata, msg, msglen).  `msg` is only valid
 * during the callback and need not be NUL-terminated: use `msglen`.  A callee
 * may call the handler several times during one call; it always calls it on
 * the caller's thread before returning.  A NULL handler is allowed.
 *
 * Layout (LP64): vtable size 88, sender_capi_value size 40; offsets given
 * next to each member.
 */
#ifndef SENDER_CAPI_H
#define SENDER_CAPI_H

#include <stddef.h>
#include <string.h>
#include <limits.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "lua.h"
#include "lauxlib.h"

#define SENDER_CAPI_ID_STRING     "_capi_sender"
#define SENDER_CAPI_VERSION_MAJOR 1
#define SENDER_CAPI_VERSION_MINOR 0
#define SENDER_CAPI_VERSION_PATCH 0

/* Return codes of nextMessageFromSender() (see there). */
#define SENDER_CAPI_RC_OK            0
#define SENDER_CAPI_RC_CLOSED        1
#define SENDER_CAPI_RC_ABORTED       2
#define SENDER_CAPI_RC_NO_MESSAGE    3
#define SENDER_CAPI_RC_TOO_LARGE     4
#define SENDER_CAPI_RC_NO_MEMORY     5
#define SENDER_CAPI_RC_NOTIFY_FAILED 999

/* Opaque sender object and reader (implementation specific). */
typedef struct sender_object sender_object;
typedef struct sender_reader sender_reader;

/* Error callback: see the protocol summary above. */
typedef void (*sender_error_handler)(void* ehdata, const char* msg, size_t msglen);

/* Type tags of the values delivered by nextValueFromReader(). */
typedef enum sender_capi_value_type
{
    SENDER_CAPI_TYPE_NONE          = 0, /* no more values in the reader */
    SENDER_CAPI_TYPE_NIL           = 1,
    SENDER_CAPI_TYPE_BOOLEAN       = 2, /* boolVal (0 or 1)        */
    SENDER_CAPI_TYPE_INTEGER       = 3, /* intVal                  */
    SENDER_CAPI_TYPE_NUMBER        = 4, /* numVal                  */
    SENDER_CAPI_TYPE_LIGHTUSERDATA = 5, /* ptrVal                  */
    SENDER_CAPI_TYPE_CFUNCTION     = 6, /* funcVal                 */
    SENDER_CAPI_TYPE_STRING        = 7, /* strVal.ptr, strVal.len  */
    SENDER_CAPI_TYPE_ARRAY         = 8, /* arrayVal                */
    /* Extension of this implementation (the original modules have no
     * tables in messages): a Lua table sent from Lua.  Its contents are not
     * exposed; the value has no payload (the union is zeroed) and the whole
     * table, nested tables included, is stepped over, so the next call
     * returns the value after it.  Each table given to addmsg (or
     * writer:add) is one TABLE value; tables inside it are part of it.
     * Consumers written for the original API see an unknown type tag here:
     * treat it as unsupported (skip it or reject the message); values after
     * it are read correctly either way.  The vtable and its version are
     * those of the original API. */
    SENDER_CAPI_TYPE_TABLE         = 9
} sender_capi_value_type;

/* Element types of array values (same numbers as the Carray C API's
 * carray_type and the Receiver C API's receiver_array_type). */
typedef enum sender_array_type
{
    SENDER_UCHAR  = 1,  /* unsigned char  */
    SENDER_SCHAR  = 2,  /* signed char    */
    SENDER_SHORT  = 3,  /* short          */
    SENDER_USHORT = 4,  /* unsigned short */
    SENDER_INT    = 5,  /* int            */
    SENDER_UINT   = 6,  /* unsigned int   */
    SENDER_LONG   = 7,  /* long           */
    SENDER_ULONG  = 8,  /* unsigned long  */
    SENDER_FLOAT  = 9,  /* float          */
    SENDER_DOUBLE = 10  /* double         */
#if defined(LLONG_MAX)
    ,
    SENDER_LLONG  = 11, /* long long          */
    SENDER_ULLONG = 12  /* unsigned long long */
#endif
} sender_array_type;

/* One decoded value (size 40).  Pointers (strVal.ptr, arrayVal.data) point
 * into the reader and stay valid until the next call on that reader. */
typedef struct sender_capi_value
{
    /* @0 */
    sender_capi_value_type type;
#if defined(__GNUC__) && !defined(__cplusplus)
    __extension__
#endif
    union {
        int           boolVal;  /* @8 */
        lua_Integer   intVal;   /* @8 */
        lua_Number    numVal;   /* @8 */
        void*         ptrVal;   /* @8 */
        lua_CFunction funcVal;  /* @8 */
        struct {
            const char* ptr;    /* @8  */
            size_t      len;    /* @16 */
        } strVal;
        struct {
            sender_array_type type;         /* @8  */
            size_t            elementSize;  /* @16 */
            size_t            elementCount; /* @24 */
            const void*       data;         /* @32 */
        } arrayVal;
    };
} sender_capi_value;

typedef struct sender_capi sender_capi;

struct sender_capi
{
    /* @0: must equal SENDER_CAPI_VERSION_MAJOR for this layout to apply. */
    int version_major;
    /* @4: consumers accept any minor >= the one they were written for. */
    int version_minor;
    /* @8: informational only. */
    int version_patch;
    /* @16: next vtable (another version of this API) or NULL. */
    const void* next_capi;

    /* @24: Returns the sender behind the Lua value at `index`, or NULL if that
     *      value is not a sender object of this implementation (light
     *      userdata, userdata without metatable and objects of other classes
     *      included).  Must be called on the thread that owns L; does not
     *      modify the stack and does not raise errors.  The pointer is only
     *      guaranteed valid while the Lua value lives: use retainSender(). */
    sender_object* (*toSender)(lua_State* L, int index);

    /* @32: Adds one reference to the sender.  Thread safe. */
    void (*retainSender)(sender_object* s);

    /* @40: Drops a reference taken with retainSender(); the sender may be
     *      freed with the last one.  Thread safe. */
    void (*releaseSender)(sender_object* s);

    /* @48: Creates a reader.  `initialCapacity` bytes are reserved (0: memory
     *      is allocated on first use); `growFactor` (a float!): 0 =
     *      fixed capacity, <= 1 grows by what is needed, otherwise capacity is
     *      multiplied by it.  Returns NULL if allocation fails.  Not thread
     *      safe: a reader is used by one thread at a time. */
    sender_reader* (*newReader)(size_t initialCapacity, float growFactor);

    /* @56: Frees a reader; NULL is accepted and ignored.  Not thread safe. */
    void (*freeReader)(sender_reader* r);

    /* @64: Discards all values held by the reader.  Not thread safe. */
    void (*clearReader)(sender_reader* r);

    /* @72: Stores the reader's next value in *out and advances past it (an
     *      ARRAY or TABLE value is stepped over completely, payload included).  Sets
     *      out->type = SENDER_CAPI_TYPE_NONE when the message is exhausted.
     *      Small integers come back as INTEGER; booleans as 0 or 1.  Not thread
     *      safe. */
    void (*nextValueFromReader)(sender_reader* r, sender_capi_value* out);

    /* @80: Moves the oldest message of the sender into the reader.  The reader
     *      is cleared first: values not yet read from a previous message are
     *      discarded.  Thread safe (any thread, concurrently).
     *      timeout < 0: no deadline; then nonblock != 0 tries once (also giving
     *                   up if the sender is locked by another thread) and
     *                   nonblock == 0 waits until a message arrives;
     *      timeout == 0: a single attempt without waiting for messages;
     *      timeout > 0: waits up to `timeout` seconds.
     *      Returns:
     *        0   a message was moved into the reader;
     *        1   sender closed (stays 1 forever; release it);
     *        2   sender aborted (may work again later);
     *        3   no message (empty, timed out, or busy in nonblock mode);
     *        4   the message does not fit the reader's fixed capacity (the
     *            message stays in the sender);
     *        5   allocation failure;
     *        999 the message was moved into the reader, but the sender's "<"
     *            notifier failed (eh got the text);
     *        other values are implementation specific. */
    int (*nextMessageFromSender)(sender_object* s, sender_reader* r, int nonblock, double timeout,
                                 sender_error_handler eh, void* ehdata);
};

#if defined(__cplusplus) || (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L)
#  define SENDER_CAPI_INLINE static inline
#elif defined(__GNUC__)
#  define SENDER_CAPI_INLINE static __inline__
#else
#  define SENDER_CAPI_INLINE static
#endif

/*
 * Finds the Sender C API of the Lua value at `index` (capi.md section 1.2):
 * raw metatable field SENDER_CAPI_ID_STRING, which must be a full userdata of
 * raw length >= sizeof(void*) + strlen(id) + 1 holding the pointer and then
 * the id string with its NUL; then the first vtable in the next_capi chain
 * with version_major == SENDER_CAPI_VERSION_MAJOR and version_minor >=
 * SENDER_CAPI_VERSION_MINOR.
 *
 * Returns NULL if none is found and then stores in *errorReason (if not
 * NULL): 1 = API present but no compatible version, 2 = no (valid) API.  On
 * success *errorReason is set to 0.  Stack balanced; raises no errors of its
 * own.  Call on the thread that owns L.
 */
SENDER_CAPI_INLINE const sender_capi* sender_get_capi(lua_State* L, int index, int* errorReason)
{
    static const char id[] = SENDER_CAPI_ID_STRING;
    const sender_capi* found = NULL;
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
                const sender_capi* api;
                memcpy((void*)&api, ud, sizeof(void*));
                reason = 1;
                while (api != NULL) {
                    if (api->version_major == SENDER_CAPI_VERSION_MAJOR
                        && api->version_minor >= SENDER_CAPI_VERSION_MINOR)
                    {
                        found = api;
                        reason = 0;
                        break;
                    }
                    api = (const sender_capi*)api->next_capi;
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

#endif /* SENDER_CAPI_H */
