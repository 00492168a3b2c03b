/*
 * carray.c -- a small stand-in for the `carray` Lua module, used by this
 * project's tests.  It provides arrays of primitive C numbers to Lua and
 * publishes the Carray C API 1.0.0 (include/carray_capi.h), on every array's
 * metatable and on the metatable of the module table.
 *
 * Written for this project from its specification (capi.md section 6) and
 * the documented Lua API of the public lua-carray module; it implements the
 * part of that Lua API the tests need plus a few test helpers whose names
 * start with an underscore.
 *
 * Lua API (positions are 1-based; negative positions count from the end):
 *   carray.new(typename [, count])      new writable array, count zeros
 *   carray._newref(typename, count [, readonly])
 *                                       array over external memory made with
 *                                       the C API's newCarrayRef (zeroed)
 *   carray._refreleased()               how many such memories were released
 *   carray._live()                      number of array structs alive
 *   a:len()  #a                         element count
 *   a:get(p1 [, p2])                    elements p1..p2 (multiple results)
 *   a:set(pos, ...)                     numbers / strings (char types) / arrays
 *   a:append(...)   a:insert(pos, ...)  same value kinds; return a
 *   a:remove(p1 [, p2])                 returns a
 *   a:setlen(n [, shrink])              new elements are 0; returns a
 *   a:reset([shrink])                   length 0; returns a
 *   a:reserve([count])                  returns the reserve (capacity - len)
 *   a:capacity()                        element capacity
 *   a:type()  a:basetype()  a:bitwidth()  a:elementsize()
 *   a:isreadonly()                      boolean
 *   a:readonly()                        new read-only copy of a
 *   a:tostring([p1 [, p2]])             char arrays as string
 */

#if !defined(_GNU_SOURCE)
#  define _GNU_SOURCE 1
#endif

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__) || defined(__APPLE__)
#  include <dlfcn.h>
#  define CARRAY_CAN_PIN 1
#endif

#include "lua.h"
#include "lauxlib.h"

#include "carray_capi.h"

#if defined(__GNUC__)
#  define CARRAY_EXPORT __attribute__((visibility("default")))
#else
#  define CARRAY_EXPORT
#endif

#define CARRAY_MT "carray"

#if LUA_VERSION_NUM >= 502
#  define compat_rawlen(L, i) ((size_t)lua_rawlen((L), (i)))
#else
#  define compat_rawlen(L, i) ((size_t)lua_objlen((L), (i)))
#endif

/* ------------------------------------------------------------------------ */
/* The array struct (shared between Lua states and threads, ref counted)     */
/* ------------------------------------------------------------------------ */

struct carray
{
    int refcount;                 /* atomic */
    carray_type type;
    carray_attr attr;
    size_t elemSize;
    size_t count;
    size_t capacity;
    unsigned char* data;
    int isRef;                    /* data is caller memory (newCarrayRef) */
    void* dataRef;
    size_t refElemCount;          /* count given to newCarrayRef */
    void (*releaseRef)(void* dataRef, size_t count);
};

typedef struct
{
    carray* arr;                  /* NULL until initialized / after __gc */
} CarrayUd;

static int g_liveArrays = 0;      /* atomic */
static int g_refReleased = 0;     /* atomic */

static int atomic_inc(int* p) { return __atomic_add_fetch(p, 1, __ATOMIC_SEQ_CST); }
static int atomic_dec(int* p) { return __atomic_sub_fetch(p, 1, __ATOMIC_SEQ_CST); }
static int atomic_get(int* p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }

/* ------------------------------------------------------------------------ */
/* Element types                                                             */
/* ------------------------------------------------------------------------ */

typedef struct
{
    const char* name;      /* canonical name returned by a:type() */
    size_t size;
    char kind;             /* 'i' signed, 'u' unsigned, 'f' float */
} TypeDesc;

static const TypeDesc g_types[13] = {
    { NULL, 0, 0 },
    { "unsigned char",      sizeof(unsigned char),      'u' },
    { "signed char",        sizeof(signed char),        'i' },
    { "short",              sizeof(short),              'i' },
    { "unsigned short",     sizeof(unsigned short),     'u' },
    { "int",                sizeof(int),                'i' },
    { "unsigned int",       sizeof(unsigned int),       'u' },
    { "long",               sizeof(long),               'i' },
    { "unsigned long",      sizeof(unsigned long),      'u' },
    { "float",              sizeof(float),              'f' },
    { "double",             sizeof(double),             'f' },
    { "long long",          sizeof(long long),          'i' },
    { "unsigned long long", sizeof(unsigned long long), 'u' },
};

static int valid_type(int t)
{
    return t >= 1 && t <= 12;
}

/* Smallest signed (or unsigned) integer type with at least `bits` bits. */
static int int_type_for_bits(int bits, int isUnsigned)
{
    static const int signedOrder[]   = { CARRAY_SCHAR, CARRAY_SHORT, CARRAY_INT, CARRAY_LONG, CARRAY_LLONG };
    static const int unsignedOrder[] = { CARRAY_UCHAR, CARRAY_USHORT, CARRAY_UINT, CARRAY_ULONG, CARRAY_ULLONG };
    const int* order = isUnsigned ? unsignedOrder : signedOrder;
    int i;
    for (i = 0; i < 5; ++i) {
        if (g_types[order[i]].size * CHAR_BIT >= (size_t)bits) {
            return order[i];
        }
    }
    return 0;
}

static int type_from_name(const char* n)
{
    static const struct { const char* name; int type; } aliases[] = {
        { "unsigned char", CARRAY_UCHAR }, { "uchar", CARRAY_UCHAR }, { "char", CARRAY_UCHAR },
        { "signed char", CARRAY_SCHAR }, { "schar", CARRAY_SCHAR },
        { "short", CARRAY_SHORT },
        { "unsigned short", CARRAY_USHORT }, { "ushort", CARRAY_USHORT },
        { "int", CARRAY_INT },
        { "unsigned int", CARRAY_UINT }, { "uint", CARRAY_UINT },
        { "long", CARRAY_LONG },
        { "unsigned long", CARRAY_ULONG }, { "ulong", CARRAY_ULONG },
        { "long long", CARRAY_LLONG }, { "llong", CARRAY_LLONG },
        { "unsigned long long", CARRAY_ULLONG }, { "unsigned llong", CARRAY_ULLONG },
        { "ullong", CARRAY_ULLONG },
        { "float", CARRAY_FLOAT }, { "double", CARRAY_DOUBLE },
        { "number", CARRAY_DOUBLE }, { "float32", CARRAY_FLOAT }, { "float64", CARRAY_DOUBLE },
        { NULL, 0 }
    };
    int i;
    for (i = 0; aliases[i].name != NULL; ++i) {
        if (strcmp(aliases[i].name, n) == 0) {
            return aliases[i].type;
        }
    }
    if (strcmp(n, "integer") == 0) {
        /* the C type of lua_Integer */
#if LUA_VERSION_NUM >= 503
        return sizeof(lua_Integer) == sizeof(long long) ? CARRAY_LLONG
             : sizeof(lua_Integer) == sizeof(long) ? CARRAY_LONG : CARRAY_INT;
#else
        return sizeof(lua_Integer) == sizeof(long) ? CARRAY_LONG : CARRAY_LLONG;
#endif
    }
    if (strncmp(n, "int", 3) == 0 || strncmp(n, "uint", 4) == 0) {
        int isUnsigned = n[0] == 'u';
        const char* bits = n + (isUnsigned ? 4 : 3);
        if (strcmp(bits, "8") == 0)  return int_type_for_bits(8, isUnsigned);
        if (strcmp(bits, "16") == 0) return int_type_for_bits(16, isUnsigned);
        if (strcmp(bits, "32") == 0) return int_type_for_bits(32, isUnsigned);
        if (strcmp(bits, "64") == 0) return int_type_for_bits(64, isUnsigned);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Array struct management (no Lua)                                          */
/* ------------------------------------------------------------------------ */

static carray* arr_alloc(carray_type type, carray_attr attr)
{
    carray* a = (carray*)calloc(1, sizeof(carray));
    if (a == NULL) {
        return NULL;
    }
    a->refcount = 1;
    a->type = type;
    a->attr = attr;
    a->elemSize = g_types[type].size;
    atomic_inc(&g_liveArrays);
    return a;
}

static void arr_free(carray* a)
{
    if (a->isRef) {
        if (a->releaseRef != NULL) {
            a->releaseRef(a->dataRef, a->refElemCount);
        }
    } else {
        free(a->data);
    }
    free(a);
    atomic_dec(&g_liveArrays);
}

static void arr_retain(carray* a)
{
    atomic_inc(&a->refcount);
}

static void arr_release(carray* a)
{
    if (atomic_dec(&a->refcount) == 0) {
        arr_free(a);
    }
}

/* Makes room for at least `needed` elements. Returns 0 on success. */
static int arr_reserve(carray* a, size_t needed, int reservePercent)
{
    size_t newCap;
    unsigned char* p;
    if (needed <= a->capacity) {
        return 0;
    }
    if (a->isRef) {
        return -1;                              /* never reallocates */
    }
    newCap = needed;
    if (reservePercent > 0 && needed / 100 <= SIZE_MAX / 2 / (size_t)reservePercent) {
        size_t extra = needed / 100 * (size_t)reservePercent
                     + needed % 100 * (size_t)reservePercent / 100;
        if (extra <= SIZE_MAX - needed) {
            newCap = needed + extra;
        }
    }
    if (newCap > SIZE_MAX / a->elemSize) {
        if (needed > SIZE_MAX / a->elemSize) {
            return -1;
        }
        newCap = needed;
    }
    p = (unsigned char*)realloc(a->data, newCap * a->elemSize);
    if (p == NULL) {
        return -1;
    }
    a->data = p;
    a->capacity = newCap;
    return 0;
}

/* Frees unused capacity (owned memory only). */
static void arr_shrink(carray* a)
{
    if (a->isRef || a->capacity == a->count) {
        return;
    }
    if (a->count == 0) {
        free(a->data);
        a->data = NULL;
        a->capacity = 0;
    } else {
        unsigned char* p = (unsigned char*)realloc(a->data, a->count * a->elemSize);
        if (p != NULL) {
            a->data = p;
            a->capacity = a->count;
        }
    }
}

/* Sets the count; new elements are filled with `fill` bytes. 0 on success. */
static int arr_setcount(carray* a, size_t newCount, int reservePercent, int fill)
{
    if (newCount > a->count) {
        if (arr_reserve(a, newCount, reservePercent) != 0) {
            return -1;
        }
        memset(a->data + a->count * a->elemSize, fill, (newCount - a->count) * a->elemSize);
    }
    a->count = newCount;
    return 0;
}

/* Inserts `n` elements before `offset`; returns pointer to them or NULL. */
static unsigned char* arr_insert(carray* a, size_t offset, size_t n, int reservePercent, int fill)
{
    unsigned char* p;
    if (offset > a->count || n > SIZE_MAX - a->count) {
        return NULL;
    }
    if (arr_reserve(a, a->count + n, reservePercent) != 0) {
        return NULL;
    }
    if (a->data == NULL) {
        return NULL;                            /* nothing inserted into nothing */
    }
    p = a->data + offset * a->elemSize;
    if (n > 0) {
        memmove(p + n * a->elemSize, p, (a->count - offset) * a->elemSize);
        memset(p, fill, n * a->elemSize);
    }
    a->count += n;
    return p;
}

static void arr_remove(carray* a, size_t offset, size_t n)
{
    if (offset >= a->count || n == 0) {
        return;
    }
    if (n > a->count - offset) {
        n = a->count - offset;
    }
    memmove(a->data + offset * a->elemSize, a->data + (offset + n) * a->elemSize,
            (a->count - offset - n) * a->elemSize);
    a->count -= n;
}

/* Element access via the widest types. */
static int is_float_type(carray_type t)
{
    return g_types[t].kind == 'f';
}

static long long elem_get_int(const carray* a, size_t i)
{
    const void* p = a->data + i * a->elemSize;
    switch (a->type) {
        case CARRAY_UCHAR:  return *(const unsigned char*)p;
        case CARRAY_SCHAR:  return *(const signed char*)p;
        case CARRAY_SHORT:  return *(const short*)p;
        case CARRAY_USHORT: return *(const unsigned short*)p;
        case CARRAY_INT:    return *(const int*)p;
        case CARRAY_UINT:   return *(const unsigned int*)p;
        case CARRAY_LONG:   return *(const long*)p;
        case CARRAY_ULONG:  return (long long)*(const unsigned long*)p;
        case CARRAY_LLONG:  return *(const long long*)p;
        case CARRAY_ULLONG: return (long long)*(const unsigned long long*)p;
        case CARRAY_FLOAT:  return (long long)*(const float*)p;
        case CARRAY_DOUBLE: return (long long)*(const double*)p;
    }
    return 0;
}

static double elem_get_float(const carray* a, size_t i)
{
    const void* p = a->data + i * a->elemSize;
    switch (a->type) {
        case CARRAY_FLOAT:  return *(const float*)p;
        case CARRAY_DOUBLE: return *(const double*)p;
        case CARRAY_ULONG:  return (double)*(const unsigned long*)p;
        case CARRAY_ULLONG: return (double)*(const unsigned long long*)p;
        default:            return (double)elem_get_int(a, i);
    }
}

static void elem_set_int(carray* a, size_t i, long long v)
{
    void* p = a->data + i * a->elemSize;
    switch (a->type) {
        case CARRAY_UCHAR:  *(unsigned char*)p = (unsigned char)v; break;
        case CARRAY_SCHAR:  *(signed char*)p = (signed char)v; break;
        case CARRAY_SHORT:  *(short*)p = (short)v; break;
        case CARRAY_USHORT: *(unsigned short*)p = (unsigned short)v; break;
        case CARRAY_INT:    *(int*)p = (int)v; break;
        case CARRAY_UINT:   *(unsigned int*)p = (unsigned int)v; break;
        case CARRAY_LONG:   *(long*)p = (long)v; break;
        case CARRAY_ULONG:  *(unsigned long*)p = (unsigned long)v; break;
        case CARRAY_LLONG:  *(long long*)p = v; break;
        case CARRAY_ULLONG: *(unsigned long long*)p = (unsigned long long)v; break;
        case CARRAY_FLOAT:  *(float*)p = (float)v; break;
        case CARRAY_DOUBLE: *(double*)p = (double)v; break;
    }
}

static void elem_set_float(carray* a, size_t i, double v)
{
    void* p = a->data + i * a->elemSize;
    switch (a->type) {
        case CARRAY_FLOAT:  *(float*)p = (float)v; break;
        case CARRAY_DOUBLE: *(double*)p = v; break;
        default:            elem_set_int(a, i, (long long)v); break;
    }
}

/* ------------------------------------------------------------------------ */
/* Lua side helpers                                                          */
/* ------------------------------------------------------------------------ */

static int abs_index(lua_State* L, int idx)
{
    return (idx < 0 && idx > LUA_REGISTRYINDEX) ? lua_gettop(L) + idx + 1 : idx;
}

/* The array of the carray userdata at idx, or NULL (no error, stack kept). */
static carray* test_array(lua_State* L, int idx)
{
    CarrayUd* ud;
    int same;
    if (lua_type(L, idx) != LUA_TUSERDATA) {
        return NULL;
    }
    ud = (CarrayUd*)lua_touserdata(L, idx);
    if (!lua_getmetatable(L, idx)) {
        return NULL;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, CARRAY_MT);
    same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (!same || compat_rawlen(L, idx) < sizeof(CarrayUd)) {
        return NULL;
    }
    return ud->arr;
}

static carray* check_array(lua_State* L, int idx)
{
    carray* a = test_array(L, idx);
    if (a == NULL) {
        luaL_argerror(L, idx, "carray expected");
    }
    return a;
}

static carray* check_writable(lua_State* L, int idx)
{
    carray* a = check_array(L, idx);
    if (a->attr == CARRAY_READONLY) {
        luaL_error(L, "carray is read-only");
    }
    return a;
}

static void push_metatable(lua_State* L);

/* Pushes a new (uninitialized) carray userdata with our metatable. */
static CarrayUd* push_ud(lua_State* L)
{
    CarrayUd* ud = (CarrayUd*)lua_newuserdata(L, sizeof(CarrayUd));
    ud->arr = NULL;
    push_metatable(L);
    lua_setmetatable(L, -2);
    return ud;
}

static void push_elem(lua_State* L, const carray* a, size_t i)
{
    if (is_float_type(a->type)) {
        lua_pushnumber(L, (lua_Number)elem_get_float(a, i));
    } else if ((a->type == CARRAY_ULONG || a->type == CARRAY_ULLONG) && elem_get_int(a, i) < 0) {
#if LUA_VERSION_NUM >= 503
        lua_pushinteger(L, (lua_Integer)elem_get_int(a, i));   /* wraps like Lua integers */
#else
        lua_pushnumber(L, (lua_Number)elem_get_float(a, i));
#endif
    } else {
#if LUA_VERSION_NUM >= 503
        lua_pushinteger(L, (lua_Integer)elem_get_int(a, i));
#else
        long long v = elem_get_int(a, i);
        if (v == (long long)(lua_Integer)v) {
            lua_pushinteger(L, (lua_Integer)v);
        } else {
            lua_pushnumber(L, (lua_Number)v);
        }
#endif
    }
}

/* Resolves a 1-based position (negative: from the end) to 0-based. */
static size_t check_pos(lua_State* L, int arg, size_t count, size_t maxPos)
{
    lua_Integer p = luaL_checkinteger(L, arg);
    if (p < 0) {
        p = (lua_Integer)count + p + 1;
    }
    if (p < 1 || (size_t)p > maxPos) {
        luaL_argerror(L, arg, "position out of range");
    }
    return (size_t)p - 1;
}

/* Number of elements the Lua values at [first, last] contribute. */
static size_t count_values(lua_State* L, const carray* a, int first, int last)
{
    size_t total = 0;
    int i;
    int isChar = a->type == CARRAY_UCHAR || a->type == CARRAY_SCHAR;
    for (i = first; i <= last; ++i) {
        const carray* src;
        if (lua_type(L, i) == LUA_TNUMBER) {
            total += 1;
        } else if (isChar && lua_type(L, i) == LUA_TSTRING) {
            total += compat_rawlen(L, i);
        } else if ((src = test_array(L, i)) != NULL) {
            total += src->count;
        } else {
            luaL_argerror(L, i, isChar ? "number, string or carray expected"
                                       : "number or carray expected");
        }
    }
    return total;
}

/* Writes the Lua values at [first, last] to a starting at element `pos`; the
 * space was checked/made by the caller.  `selfCount` is the element count a
 * had before the caller grew it (for arguments that are `a` itself). */
static void write_values(lua_State* L, carray* a, size_t pos, int first, int last, size_t selfCount)
{
    int i;
    for (i = first; i <= last; ++i) {
        if (lua_type(L, i) == LUA_TNUMBER) {
            if (is_float_type(a->type)) {
                elem_set_float(a, pos, (double)lua_tonumber(L, i));
            } else {
                elem_set_int(a, pos, (long long)luaL_checkinteger(L, i));
            }
            pos += 1;
        } else if (lua_type(L, i) == LUA_TSTRING) {
            size_t len;
            const char* s = lua_tolstring(L, i, &len);
            memcpy(a->data + pos, s, len);
            pos += len;
        } else {
            const carray* src = test_array(L, i);
            size_t k;
            if (src == a) {
                /* the array itself: its first selfCount elements */
                if (selfCount > 0) {
                    memmove(a->data + pos * a->elemSize, a->data, selfCount * a->elemSize);
                }
                pos += selfCount;
                continue;
            }
            if (src->type == a->type) {
                if (src->count > 0) {
                    memcpy(a->data + pos * a->elemSize, src->data, src->count * a->elemSize);
                }
                pos += src->count;
            } else {
                for (k = 0; k < src->count; ++k, ++pos) {
                    if (is_float_type(a->type) || is_float_type(src->type)) {
                        elem_set_float(a, pos, elem_get_float(src, k));
                    } else {
                        elem_set_int(a, pos, elem_get_int(src, k));
                    }
                }
            }
        }
    }
}

/* Validates numbers before anything is changed (5.3+ integer conversion). */
static void check_numbers(lua_State* L, const carray* a, int first, int last)
{
    int i;
    if (is_float_type(a->type)) {
        return;
    }
    for (i = first; i <= last; ++i) {
        if (lua_type(L, i) == LUA_TNUMBER) {
            (void)luaL_checkinteger(L, i);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Lua functions                                                             */
/* ------------------------------------------------------------------------ */

static int l_new(lua_State* L)
{
    const char* name = luaL_checkstring(L, 1);
    lua_Integer n = luaL_optinteger(L, 2, 0);
    int type = type_from_name(name);
    CarrayUd* ud;
    carray* a;
    if (type == 0) {
        return luaL_argerror(L, 1, lua_pushfstring(L, "invalid element type '%s'", name));
    }
    if (n < 0) {
        return luaL_argerror(L, 2, "count must not be negative");
    }
    ud = push_ud(L);
    a = arr_alloc((carray_type)type, CARRAY_DEFAULT);
    if (a == NULL) {
        return luaL_error(L, "carray: out of memory");
    }
    ud->arr = a;
    if (arr_setcount(a, (size_t)n, 0, 0) != 0) {
        return luaL_error(L, "carray: cannot allocate %d elements", (int)n);
    }
    return 1;
}

static int l_gc(lua_State* L)
{
    CarrayUd* ud = (CarrayUd*)lua_touserdata(L, 1);
    if (ud != NULL && ud->arr != NULL) {
        carray* a = ud->arr;
        ud->arr = NULL;
        arr_release(a);
    }
    return 0;
}

static int l_tostring_mm(lua_State* L)
{
    lua_pushfstring(L, "carray: %p", lua_touserdata(L, 1));
    return 1;
}

static int l_len(lua_State* L)
{
    carray* a = check_array(L, 1);
    lua_pushinteger(L, (lua_Integer)a->count);
    return 1;
}

static int l_get(lua_State* L)
{
    carray* a = check_array(L, 1);
    size_t p1 = check_pos(L, 2, a->count, a->count);
    size_t p2 = lua_isnoneornil(L, 3) ? p1 : check_pos(L, 3, a->count, a->count);
    size_t i;
    if (p2 < p1) {
        return 0;
    }
    if (p2 - p1 + 1 > (size_t)INT_MAX - 10) {
        return luaL_error(L, "too many results");
    }
    luaL_checkstack(L, (int)(p2 - p1 + 1), "too many results");
    for (i = p1; i <= p2; ++i) {
        push_elem(L, a, i);
    }
    return (int)(p2 - p1 + 1);
}

static int l_set(lua_State* L)
{
    carray* a = check_writable(L, 1);
    size_t pos = check_pos(L, 2, a->count, a->count);
    int top = lua_gettop(L);
    size_t n = count_values(L, a, 3, top);
    if (n > a->count - pos) {
        return luaL_error(L, "carray: elements do not fit into the array length");
    }
    check_numbers(L, a, 3, top);
    write_values(L, a, pos, 3, top, a->count);
    lua_settop(L, 1);
    return 1;
}

static int l_append(lua_State* L)
{
    carray* a = check_writable(L, 1);
    int top = lua_gettop(L);
    size_t n = count_values(L, a, 2, top);
    size_t pos = a->count;
    check_numbers(L, a, 2, top);
    if (n > SIZE_MAX - a->count || arr_setcount(a, a->count + n, 50, 0) != 0) {
        return luaL_error(L, "carray: out of memory");
    }
    write_values(L, a, pos, 2, top, pos);
    lua_settop(L, 1);
    return 1;
}

static int l_insert(lua_State* L)
{
    carray* a = check_writable(L, 1);
    size_t pos = check_pos(L, 2, a->count, a->count + 1);
    int top = lua_gettop(L);
    size_t n = count_values(L, a, 3, top);
    check_numbers(L, a, 3, top);
    if (n > 0) {
        int selfArg = 0, i;
        for (i = 3; i <= top; ++i) {
            if (test_array(L, i) == a) {
                selfArg = 1;
            }
        }
        if (selfArg) {
            return luaL_error(L, "carray: cannot insert an array into itself");
        }
        if (arr_insert(a, pos, n, 50, 0) == NULL) {
            return luaL_error(L, "carray: out of memory");
        }
        write_values(L, a, pos, 3, top, 0);
    }
    lua_settop(L, 1);
    return 1;
}

static int l_remove(lua_State* L)
{
    carray* a = check_writable(L, 1);
    size_t p1 = check_pos(L, 2, a->count, a->count);
    size_t p2 = lua_isnoneornil(L, 3) ? p1 : check_pos(L, 3, a->count, a->count);
    if (p2 >= p1) {
        arr_remove(a, p1, p2 - p1 + 1);
    }
    lua_settop(L, 1);
    return 1;
}

static int l_setlen(lua_State* L)
{
    carray* a = check_writable(L, 1);
    lua_Integer n = luaL_checkinteger(L, 2);
    int shrink = lua_toboolean(L, 3);
    if (n < 0) {
        return luaL_argerror(L, 2, "length must not be negative");
    }
    if (arr_setcount(a, (size_t)n, 0, 0) != 0) {
        return luaL_error(L, "carray: cannot resize to %d elements", (int)n);
    }
    if (shrink) {
        arr_shrink(a);
    }
    lua_settop(L, 1);
    return 1;
}

static int l_reset(lua_State* L)
{
    carray* a = check_writable(L, 1);
    a->count = 0;
    if (lua_toboolean(L, 2)) {
        arr_shrink(a);
    }
    lua_settop(L, 1);
    return 1;
}

static int l_reserve(lua_State* L)
{
    carray* a;
    if (lua_isnoneornil(L, 2)) {
        a = check_array(L, 1);
    } else {
        lua_Integer n;
        a = check_writable(L, 1);
        n = luaL_checkinteger(L, 2);
        if (n > 0) {
            if ((size_t)n > SIZE_MAX - a->count || arr_reserve(a, a->count + (size_t)n, 0) != 0) {
                return luaL_error(L, "carray: out of memory");
            }
        } else {
            arr_shrink(a);
        }
    }
    lua_pushinteger(L, (lua_Integer)(a->capacity - a->count));
    return 1;
}

static int l_capacity(lua_State* L)
{
    carray* a = check_array(L, 1);
    lua_pushinteger(L, (lua_Integer)a->capacity);
    return 1;
}

static int l_type(lua_State* L)
{
    carray* a = check_array(L, 1);
    lua_pushstring(L, g_types[a->type].name);
    return 1;
}

static int l_basetype(lua_State* L)
{
    carray* a = check_array(L, 1);
    char k = g_types[a->type].kind;
    lua_pushstring(L, k == 'f' ? "float" : k == 'u' ? "uint" : "int");
    return 1;
}

static int l_bitwidth(lua_State* L)
{
    carray* a = check_array(L, 1);
    lua_pushinteger(L, (lua_Integer)(a->elemSize * CHAR_BIT));
    return 1;
}

static int l_elementsize(lua_State* L)
{
    carray* a = check_array(L, 1);
    lua_pushinteger(L, (lua_Integer)a->elemSize);
    return 1;
}

static int l_isreadonly(lua_State* L)
{
    carray* a = check_array(L, 1);
    lua_pushboolean(L, a->attr == CARRAY_READONLY);
    return 1;
}

static int l_readonly(lua_State* L)
{
    carray* a = check_array(L, 1);
    CarrayUd* ud = push_ud(L);
    carray* b = arr_alloc(a->type, CARRAY_READONLY);
    if (b == NULL) {
        return luaL_error(L, "carray: out of memory");
    }
    ud->arr = b;
    if (arr_setcount(b, a->count, 0, 0) != 0) {
        return luaL_error(L, "carray: out of memory");
    }
    if (a->count > 0) {
        memcpy(b->data, a->data, a->count * a->elemSize);
    }
    return 1;
}

static int l_tostring(lua_State* L)
{
    carray* a = check_array(L, 1);
    size_t p1, p2;
    if (a->type != CARRAY_UCHAR && a->type != CARRAY_SCHAR) {
        return luaL_error(L, "carray: tostring needs a char array");
    }
    if (lua_isnoneornil(L, 2)) {
        lua_pushlstring(L, (const char*)a->data, a->count);
        return 1;
    }
    p1 = check_pos(L, 2, a->count, a->count);
    p2 = lua_isnoneornil(L, 3) ? p1 : check_pos(L, 3, a->count, a->count);
    if (p2 < p1) {
        lua_pushliteral(L, "");
    } else {
        lua_pushlstring(L, (const char*)a->data + p1, p2 - p1 + 1);
    }
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Carray C API implementation                                               */
/* ------------------------------------------------------------------------ */

static carray* capi_newCarray(lua_State* L, carray_type type, carray_attr attr, size_t count, void** data)
{
    CarrayUd* ud;
    carray* a;
    if (!valid_type((int)type) || (attr != CARRAY_DEFAULT && attr != CARRAY_READONLY)) {
        return NULL;
    }
    if (count > SIZE_MAX / g_types[type].size) {
        return NULL;
    }
    ud = push_ud(L);
    a = arr_alloc(type, attr);
    if (a == NULL) {
        lua_pop(L, 1);
        return NULL;
    }
    ud->arr = a;
    /* The caller fills the storage when it asks for it: make forgotten bytes
     * visible by poisoning; otherwise zero like carray.new(). */
    if (arr_setcount(a, count, 0, data != NULL ? 0xA5 : 0) != 0) {
        lua_pop(L, 1);                          /* __gc frees `a` */
        return NULL;
    }
    if (data != NULL && count > 0) {
        *data = a->data;
    }
    return a;
}

static carray* capi_newCarrayRef(lua_State* L, carray_type type, carray_attr attr, void* dataRef, size_t count,
                                 void (*release)(void* dataRef, size_t count))
{
    CarrayUd* ud;
    carray* a;
    if (!valid_type((int)type) || (attr != CARRAY_DEFAULT && attr != CARRAY_READONLY)) {
        return NULL;
    }
    if (dataRef == NULL && count > 0) {
        return NULL;
    }
    ud = push_ud(L);
    a = arr_alloc(type, attr);
    if (a == NULL) {
        lua_pop(L, 1);
        return NULL;
    }
    a->isRef = 1;
    a->dataRef = dataRef;
    a->refElemCount = count;
    a->releaseRef = release;
    a->data = (unsigned char*)dataRef;
    a->count = count;
    a->capacity = count;
    ud->arr = a;
    return a;
}

static void fill_info(const carray* a, carray_info* info)
{
    if (info != NULL) {
        info->elementType = a->type;
        info->attr = a->attr;
        info->elementSize = a->elemSize;
        info->elementCount = a->count;
        info->elementCapacity = a->capacity;
    }
}

static const carray* capi_toReadableCarray(lua_State* L, int index, carray_info* info)
{
    carray* a = test_array(L, abs_index(L, index));
    if (a != NULL) {
        fill_info(a, info);
    }
    return a;
}

static carray* capi_toWritableCarray(lua_State* L, int index, carray_info* info)
{
    carray* a = test_array(L, abs_index(L, index));
    if (a == NULL || a->attr == CARRAY_READONLY) {
        return NULL;
    }
    fill_info(a, info);
    return a;
}

static void capi_retainCarray(const carray* a)
{
    arr_retain((carray*)a);
}

static void capi_releaseCarray(const carray* a)
{
    arr_release((carray*)a);
}

static void* capi_getWritableElementPtr(carray* a, size_t offset, size_t count)
{
    if (count == 0 || offset >= a->count || count > a->count - offset) {
        return NULL;
    }
    return a->data + offset * a->elemSize;
}

static const void* capi_getReadableElementPtr(const carray* a, size_t offset, size_t count)
{
    if (count == 0 || offset >= a->count || count > a->count - offset) {
        return NULL;
    }
    return a->data + offset * a->elemSize;
}

static void* capi_resizeCarray(carray* a, size_t newCount, int reservePercent)
{
    if (arr_setcount(a, newCount, reservePercent, 0xA5) != 0) {
        return NULL;
    }
    return a->capacity > 0 ? a->data : NULL;
}

static void* capi_insertElements(carray* a, size_t offset, size_t count, int reservePercent)
{
    return arr_insert(a, offset, count, reservePercent, 0xA5);
}

static void capi_removeElements(carray* a, size_t offset, size_t count, int reservePercent)
{
    (void)reservePercent;
    arr_remove(a, offset, count);
}

static const carray_capi g_capi = {
    CARRAY_CAPI_VERSION_MAJOR,
    CARRAY_CAPI_VERSION_MINOR,
    CARRAY_CAPI_VERSION_PATCH,
    NULL,
    capi_newCarray,
    capi_newCarrayRef,
    capi_toReadableCarray,
    capi_toWritableCarray,
    capi_retainCarray,
    capi_releaseCarray,
    capi_getWritableElementPtr,
    capi_getReadableElementPtr,
    capi_resizeCarray,
    capi_insertElements,
    capi_removeElements
};

/* ------------------------------------------------------------------------ */
/* Test helpers on the module table                                          */
/* ------------------------------------------------------------------------ */

static void release_ref_memory(void* dataRef, size_t count)
{
    (void)count;
    free(dataRef);
    atomic_inc(&g_refReleased);
}

static int l_newref(lua_State* L)
{
    const char* name = luaL_checkstring(L, 1);
    lua_Integer n = luaL_checkinteger(L, 2);
    int readonly = lua_toboolean(L, 3);
    int type = type_from_name(name);
    void* mem;
    if (type == 0) {
        return luaL_argerror(L, 1, lua_pushfstring(L, "invalid element type '%s'", name));
    }
    if (n < 0 || (size_t)n > SIZE_MAX / g_types[type].size) {
        return luaL_argerror(L, 2, "invalid count");
    }
    mem = calloc(n > 0 ? (size_t)n : 1, g_types[type].size);
    if (mem == NULL) {
        return luaL_error(L, "carray: out of memory");
    }
    if (capi_newCarrayRef(L, (carray_type)type, readonly ? CARRAY_READONLY : CARRAY_DEFAULT,
                          mem, (size_t)n, release_ref_memory) == NULL) {
        free(mem);
        return luaL_error(L, "carray: newCarrayRef failed");
    }
    return 1;
}

static int l_refreleased(lua_State* L)
{
    lua_pushinteger(L, atomic_get(&g_refReleased));
    return 1;
}

static int l_live(lua_State* L)
{
    lua_pushinteger(L, atomic_get(&g_liveArrays));
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Module setup                                                              */
/* ------------------------------------------------------------------------ */

static void set_funcs(lua_State* L, const luaL_Reg* r)
{
    for (; r->name != NULL; ++r) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
}

/* Pushes the capi userdata: pointer followed by the id string with NUL. */
static void push_capi_ud(lua_State* L)
{
    static const char id[] = CARRAY_CAPI_ID_STRING;
    const carray_capi* api = &g_capi;
    char* ud = (char*)lua_newuserdata(L, sizeof(void*) + sizeof(id));
    memcpy(ud, (const void*)&api, sizeof(void*));
    memcpy(ud + sizeof(void*), id, sizeof(id));
}

#if defined(CARRAY_CAN_PIN)
/* Keeps this shared library loaded until process exit: arrays and the vtable
 * may be used by other modules and threads after this Lua state closes. */
static void pin_library(void)
{
    static int pinned = 0;
    Dl_info info;
    if (__atomic_exchange_n(&pinned, 1, __ATOMIC_SEQ_CST)) {
        return;
    }
    if (dladdr((const void*)&g_capi, &info) != 0 && info.dli_fname != NULL) {
        (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NODELETE | RTLD_NOLOAD);
    }
}
#endif

static const luaL_Reg g_methods[] = {
    { "len",         l_len },
    { "get",         l_get },
    { "set",         l_set },
    { "append",      l_append },
    { "insert",      l_insert },
    { "remove",      l_remove },
    { "setlen",      l_setlen },
    { "reset",       l_reset },
    { "reserve",     l_reserve },
    { "capacity",    l_capacity },
    { "type",        l_type },
    { "basetype",    l_basetype },
    { "bitwidth",    l_bitwidth },
    { "elementsize", l_elementsize },
    { "isreadonly",  l_isreadonly },
    { "readonly",    l_readonly },
    { "tostring",    l_tostring },
    { NULL, NULL }
};

static const luaL_Reg g_module[] = {
    { "new",          l_new },
    { "_newref",      l_newref },
    { "_refreleased", l_refreleased },
    { "_live",        l_live },
    { NULL, NULL }
};

/* Pushes the metatable of the array objects, creating it in this Lua state
 * if needed (the C API may be used in a state before require("carray")). */
static void push_metatable(lua_State* L)
{
    if (!luaL_newmetatable(L, CARRAY_MT)) {
        return;
    }
    lua_pushstring(L, CARRAY_MT);
    lua_setfield(L, -2, "__name");              /* 5.1/5.2 do not set it */
    lua_pushstring(L, CARRAY_MT);
    lua_setfield(L, -2, "__metatable");
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_len);
    lua_setfield(L, -2, "__len");
    lua_pushcfunction(L, l_tostring_mm);
    lua_setfield(L, -2, "__tostring");
    lua_newtable(L);
    set_funcs(L, g_methods);
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, CARRAY_CAPI_ID_STRING);
    push_capi_ud(L);
    lua_rawset(L, -3);
}

CARRAY_EXPORT int luaopen_carray(lua_State* L)
{
#if defined(CARRAY_CAN_PIN)
    pin_library();
#endif
    push_metatable(L);
    lua_pop(L, 1);

    /* module table with a protected metatable carrying the API too */
    lua_newtable(L);
    set_funcs(L, g_module);
    lua_newtable(L);
    lua_pushstring(L, CARRAY_MT);
    lua_setfield(L, -2, "__metatable");
    lua_pushstring(L, CARRAY_CAPI_ID_STRING);
    push_capi_ud(L);
    lua_rawset(L, -3);
    lua_setmetatable(L, -2);
    return 1;
}
