/*
 * carray_capi.h -- Carray C API ("_capi_carray", version 1.0.0).
 *
 * Written for this project from its specification (docs: capi.md section 6).
 * The binary layout, id string and version numbers are those of the public
 * Carray C API (published by the `carray` Lua module), so arrays of any
 * implementation of that API can be used through this header.  In this
 * repository the API is implemented by the test stand-in capi/carray.c.
 *
 * Protocol summary
 * ----------------
 * Every carray object's metatable, and the metatable of the module table
 * returned by require("carray"), stores under the key CARRAY_CAPI_ID_STRING a
 * full userdata of exactly sizeof(void*) + strlen(CARRAY_CAPI_ID_STRING) + 1
 * bytes: a `const carray_capi*` followed by the id string including its NUL.
 * The vtable lives until the process exits and is never modified.  Use
 * carray_get_capi() below to find and validate it.
 *
 * Layout (LP64): vtable size 112, carray_info size 32; offsets given next to
 * each member.
 */
#ifndef CARRAY_CAPI_H
#define CARRAY_CAPI_H

#include <stddef.h>
#include <string.h>
#include <limits.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "lua.h"
#include "lauxlib.h"

#define CARRAY_CAPI_ID_STRING     "_capi_carray"
#define CARRAY_CAPI_VERSION_MAJOR 1
#define CARRAY_CAPI_VERSION_MINOR 0
#define CARRAY_CAPI_VERSION_PATCH 0

/* Opaque array object (implementation specific). */
typedef struct carray carray;

/* Element types (same numbers as receiver_array_type / sender_array_type). */
typedef enum carray_type
{
    CARRAY_UCHAR  = 1,  /* unsigned char  */
    CARRAY_SCHAR  = 2,  /* signed char    */
    CARRAY_SHORT  = 3,  /* short          */
    CARRAY_USHORT = 4,  /* unsigned short */
    CARRAY_INT    = 5,  /* int            */
    CARRAY_UINT   = 6,  /* unsigned int   */
    CARRAY_LONG   = 7,  /* long           */
    CARRAY_ULONG  = 8,  /* unsigned long  */
    CARRAY_FLOAT  = 9,  /* float          */
    CARRAY_DOUBLE = 10  /* double         */
#if defined(LLONG_MAX)
    ,
    CARRAY_LLONG  = 11, /* long long          */
    CARRAY_ULLONG = 12  /* unsigned long long */
#endif
} carray_type;

/* Array attributes. */
typedef enum carray_attr
{
    CARRAY_DEFAULT  = 0, /* writable */
    CARRAY_READONLY = 1  /* toWritableCarray() refuses it */
} carray_attr;

/* Description of an array, filled by toReadableCarray/toWritableCarray. */
typedef struct carray_info
{
    carray_type elementType;     /* @0  */
    carray_attr attr;            /* @4  */
    size_t      elementSize;     /* @8  bytes per element */
    size_t      elementCount;    /* @16 current number of elements */
    size_t      elementCapacity; /* @24 elements that fit without reallocation */
} carray_info;

typedef struct carray_capi carray_capi;

struct carray_capi
{
    /* @0: must equal CARRAY_CAPI_VERSION_MAJOR for this layout to apply. */
    int version_major;
    /* @4: consumers accept any minor >= the one they were written for. */
    int version_minor;
    /* @8: informational only. */
    int version_patch;
    /* @16: next vtable (another version of this API) or NULL. */
    const void* next_capi;

    /* @24: Creates an array of `count` elements of type `type` with attribute
     *      `attr` and pushes the new Lua object onto L's stack.  If `data` is
     *      not NULL and count > 0, *data receives the element storage (its
     *      contents are unspecified: the caller fills it).  Returns NULL (and
     *      pushes nothing) for an invalid type/attr or when the element
     *      storage cannot be allocated; may raise Lua memory errors.  Owner
     *      thread of L only. */
    carray* (*newCarray)(lua_State* L, carray_type type, carray_attr attr, size_t count, void** data);

    /* @32: Like newCarray, but the array uses the caller's memory `dataRef`
     *      (count elements) instead of allocating its own.  `release` (may be
     *      NULL) is called with (dataRef, count) when the array is freed.
     *      Such an array never reallocates: it cannot grow beyond `count`
     *      elements.  Owner thread of L only. */
    carray* (*newCarrayRef)(lua_State* L, carray_type type, carray_attr attr, void* dataRef, size_t count,
                            void (*release)(void* dataRef, size_t count));

    /* @40: Returns the array behind the Lua value at `index` (read-only or
     *      not), or NULL if the value is not an array of this implementation.
     *      Fills *info unless info is NULL.  Does not modify the stack, raises
     *      no errors.  Owner thread of L only. */
    const carray* (*toReadableCarray)(lua_State* L, int index, carray_info* info);

    /* @48: As toReadableCarray, but returns NULL also for read-only arrays. */
    carray* (*toWritableCarray)(lua_State* L, int index, carray_info* info);

    /* @56: Adds a reference: the array stays valid without its Lua value.
     *      Thread safe. */
    void (*retainCarray)(const carray* a);

    /* @64: Drops a reference taken with retainCarray().  Thread safe. */
    void (*releaseCarray)(const carray* a);

    /* @72: Pointer to elements [offset, offset + count), or NULL if that range
     *      is empty or exceeds the current element count.  Valid until the
     *      array is resized.  Not thread safe against concurrent resizing. */
    void* (*getWritableElementPtr)(carray* a, size_t offset, size_t count);

    /* @80: Same for reading; NULL when count is 0 or the range is out of
     *      bounds. */
    const void* (*getReadableElementPtr)(const carray* a, size_t offset, size_t count);

    /* @88: Sets the element count to `newCount`; new elements have
     *      unspecified contents.  When growing, capacity for `reservePercent`
     *      percent more elements is reserved (0: exactly what is needed).
     *      Returns the element storage, or NULL on failure or when the result
     *      has no storage at all (e.g. newCount 0 on an array of capacity 0). */
    void* (*resizeCarray)(carray* a, size_t newCount, int reservePercent);

    /* @96: Inserts `count` elements (unspecified contents) before element
     *      `offset` (0 <= offset <= element count) and returns a pointer to the
     *      first inserted element, or NULL on failure. */
    void* (*insertElements)(carray* a, size_t offset, size_t count, int reservePercent);

    /* @104: Removes elements [offset, offset + count) (clipped to the element
     *      count).  Never reallocates in this implementation. */
    void (*removeElements)(carray* a, size_t offset, size_t count, int reservePercent);
};

#if defined(__cplusplus) || (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L)
#  define CARRAY_CAPI_INLINE static inline
#elif defined(__GNUC__)
#  define CARRAY_CAPI_INLINE static __inline__
#else
#  define CARRAY_CAPI_INLINE static
#endif

/*
 * Finds the Carray C API of the Lua value at `index` (a carray object or the
 * carray module table), following capi.md section 1.2: raw metatable field
 * CARRAY_CAPI_ID_STRING, which must be a full userdata of raw length >=
 * sizeof(void*) + strlen(id) + 1 holding the pointer and then the id string
 * with its NUL; then the first vtable in the next_capi chain with
 * version_major == CARRAY_CAPI_VERSION_MAJOR and version_minor >=
 * CARRAY_CAPI_VERSION_MINOR.
 *
 * Returns NULL if none is found and then stores in *errorReason (if not
 * NULL): 1 = API present but no compatible version, 2 = no (valid) API.  On
 * success *errorReason is set to 0.  Stack balanced; raises no errors of its
 * own.  Call on the thread that owns L.
 */
CARRAY_CAPI_INLINE const carray_capi* carray_get_capi(lua_State* L, int index, int* errorReason)
{
    static const char id[] = CARRAY_CAPI_ID_STRING;
    const carray_capi* found = NULL;
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
                const carray_capi* api;
                memcpy((void*)&api, ud, sizeof(void*));
                reason = 1;
                while (api != NULL) {
                    if (api->version_major == CARRAY_CAPI_VERSION_MAJOR
                        && api->version_minor >= CARRAY_CAPI_VERSION_MINOR)
                    {
                        found = api;
                        reason = 0;
                        break;
                    }
                    api = (const carray_capi*)api->next_capi;
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

#endif /* CARRAY_CAPI_H */
