/*
 * capitest.c -- Lua C module `capitest`: drives objects through the Notify,
 * Receiver and Sender C APIs (include/<api>_capi.h), also from POSIX threads,
 * and provides hostile inputs, fake API publishers and a layout dump.  Test
 * aid only; written for this project from capi.md.
 *
 * Every function taking `obj` finds the API with the header helper
 * (xxx_get_capi) and the object with toXxx(); it raises an argument error
 * "<api> capi not found", "<api> capi version mismatch" or
 * "invalid <kind> (to<Kind> returned NULL)" otherwise.
 *
 * receiver_feed(obj, nthreads, nmsgs [, nonblock [, giveup=30]]) -> job
 *     nthreads (1..256) pthreads; thread t (1-based) sends nmsgs messages
 *     (t, seq, "t<t>-<seq>", true, seq + 0.5, 1, 2), seq = 1..nmsgs; the
 *     last two values come from addBytesToWriter("\1\2").  rc 3 -> retry
 *     (yield), rc 4 -> sleep 1 ms and retry, for at most `giveup` seconds per
 *     message; any other rc (and add* failures: their -1/-2) is recorded and
 *     ends that thread.  obj is retained by the job (and by every thread)
 *     until join.  job:join() -> sent (rc 0 deliveries), first_rc_or_0,
 *     error_text_or_nil; repeatable.  job:stop() makes retrying threads give
 *     up.  Collecting an unjoined job stops and joins it.
 * receiver_send(obj, values [, clear [, nonblock [, capacity=0 [, grow=2]]]])
 *     -> rc, error_text_or_nil
 *     One msgToReceiver from the calling thread with a writer
 *     newWriter(capacity, grow).  values: array table of booleans, numbers
 *     (integers -> addIntegerToWriter, on 5.1/5.2 every integral number),
 *     strings, carrays (copied with addArrayToWriter), {bytes = "..."} ->
 *     addBytesToWriter, {array = typecode, count = n [, data = "raw bytes"]}
 *     -> addArrayToWriter with any type code (data zero-padded).  If an add
 *     fails: returns nil, "<function> failed", rc (rc is the string "NULL"
 *     for addArrayToWriter).  error_text: everything passed to the error
 *     handler, joined by "\n".
 * sender_drain(obj, maxcount, timeout [, nonblock])
 *     -> messages, last_rc, error_text_or_nil
 *     (timeout < 0: no deadline, see sender_capi.h.)
 *     Reader newReader(0, 2); up to maxcount nextMessageFromSender calls,
 *     stopping at the first rc ~= 0 (a message of an rc 999 call is still
 *     listed).  Each message is {n = count, types = {type codes}, v1, ...};
 *     nil values are holes; ARRAY values are {type=, elementSize=, count=,
 *     bytes=}; unknown type codes give the string "<unknown value type N>".
 * sender_threads(obj, nthreads, total [, timeout=0.1 [, giveup=10]]) -> job
 *     pthreads, each with its own reader, read until `total` messages were
 *     read in all (never more); rc 3 -> retry, giving up when no thread read
 *     anything for `giveup` seconds (records rc 3, text "gave up waiting for
 *     messages"); other rc -> recorded, thread ends.  Messages whose first
 *     two values are integers (t, seq) are checked: seq increasing per t
 *     within each thread and, with 7 values, receiver_feed's exact contents.
 *     job:join() -> read_total, first_rc_or_0, ok, error_text_or_nil,
 *     diag_or_nil (first check failure).  job:stop() as above.
 * notify(obj [, nthreads=0 [, count=1]])
 *     -> n_rc0, first_nonzero_rc_or_0, error_text_or_nil
 *     nthreads 0: `count` calls on the calling thread; otherwise every one of
 *     nthreads pthreads calls notify `count` times.  A thread stops after rc 1.
 * new_notifier([rc=0 [, messages]]) -> notifier ("capitest.notifier")
 *     Publishes the Notify C API 0.0.2.  notify() counts, sleeps the delay,
 *     and returns rc; if rc is not 0/1 it first calls the error handler once
 *     per string of `messages` (default {"capitest notifier failed"}; {} ->
 *     no call).  Methods: count(), setrc(rc [, messages]), setdelay(ms),
 *     refs() (reference count: 1 for the Lua object + retains).
 * live_notifiers() -> number of notifier structs not yet freed.
 * hostile(obj [, fill_limit=10000 [, big_size=100000 [, skip]]]) -> results
 *     Hostile Receiver API calls; returns raw results by name (see l_hostile).
 *     skip: {to=, arrays=, fixed=, grow=, big=, fill= true} omits groups.
 * carray_check(carray_or_module) -> all_ok, {failed_check_name = true}
 *     Exercises every Carray C API member of the given implementation.
 * layout() -> {notify=, receiver=, sender=, sender_value=, carray=,
 *     carray_info=}: each {size = sizeof, <member> = offsetof}; nested
 *     members as strVal_ptr, arrayVal_data, ...
 * lookup(obj, "notify"|"receiver"|"sender"|"carray")
 *     -> major, minor, patch | nil, reason   (header helper, stack checked)
 * capi_info(obj, id) -> nil | {fieldtype=, rawlen=, idmatch=,
 *     capi_has_metatable=, versions = {{major, minor, patch}, ...}, vtable=}
 * fake_object(id, mode, ...) -> userdata with its own metatable publishing:
 *     "valid"     a vtable of the version consumers of id require
 *     "chain", {major, minor [, patch]}, ...   vtables linked by next_capi
 *     "short"     capi userdata without the id's NUL (too short)
 *     "long"      capi userdata with 16 extra bytes (valid)
 *     "badid"     id bytes differ      "light"  light userdata field
 *     "string"    string field         "none"   no field
 *     "index"     field only via __index          "nullptr" NULL vtable pointer
 *     "protected" valid, with __metatable = "fake"
 *     Fake vtables: Notify ones use capitest's notifier functions (their
 *     toNotifier returns NULL for the fake); others return NULL / fail.
 */

#if !defined(_GNU_SOURCE)
#  define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__linux__) || defined(__APPLE__)
#  include <dlfcn.h>
#  define CAPITEST_CAN_PIN 1
#endif

#include "lua.h"
#include "lauxlib.h"

#include "notify_capi.h"
#include "receiver_capi.h"
#include "sender_capi.h"
#include "carray_capi.h"

#if defined(__GNUC__)
#  define CAPITEST_EXPORT __attribute__((visibility("default")))
#else
#  define CAPITEST_EXPORT
#endif

#if LUA_VERSION_NUM >= 502
#  define compat_rawlen(L, i) ((size_t)lua_rawlen((L), (i)))
#else
#  define compat_rawlen(L, i) ((size_t)lua_objlen((L), (i)))
#endif

#define MAX_THREADS 256

/* ------------------------------------------------------------------------ */
/* Small utilities                                                           */
/* ------------------------------------------------------------------------ */

static long atomic_addl(long* p, long d) { return __atomic_add_fetch(p, d, __ATOMIC_SEQ_CST); }
static long atomic_getl(long* p)         { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static void atomic_setl(long* p, long v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static int  atomic_addi(int* p, int d)   { return __atomic_add_fetch(p, d, __ATOMIC_SEQ_CST); }
static int  atomic_geti(int* p)          { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static void atomic_seti(int* p, int v)   { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }

static void sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void set_funcs(lua_State* L, const luaL_Reg* r)
{
    for (; r->name != NULL; ++r) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
}

/* Pushes the metatable `name`, creating it (with __gc and methods) if new. */
static void push_class(lua_State* L, const char* name, lua_CFunction gc, const luaL_Reg* methods)
{
    if (luaL_newmetatable(L, name)) {
        lua_pushstring(L, name);
        lua_setfield(L, -2, "__name");
        if (gc != NULL) {
            lua_pushcfunction(L, gc);
            lua_setfield(L, -2, "__gc");
        }
        lua_newtable(L);
        if (methods != NULL) {
            set_funcs(L, methods);
        }
        lua_setfield(L, -2, "__index");
    }
}

/* Userdata at idx with metatable registered as `name`, or NULL. */
static void* test_udata(lua_State* L, int idx, const char* name)
{
    void* p = lua_touserdata(L, idx);
    int same;
    if (p == NULL || lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx)) {
        return NULL;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, name);
    same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same ? p : NULL;
}

static void* check_udata(lua_State* L, int idx, const char* name)
{
    void* p = test_udata(L, idx, name);
    if (p == NULL) {
        luaL_argerror(L, idx, lua_pushfstring(L, "%s expected", name));
    }
    return p;
}

static int abs_index(lua_State* L, int idx)
{
    return (idx < 0 && idx > LUA_REGISTRYINDEX) ? lua_gettop(L) + idx + 1 : idx;
}

/* Is the number at idx to be sent as an integer? */
static int is_integer_value(lua_State* L, int idx)
{
#if LUA_VERSION_NUM >= 503
    return lua_isinteger(L, idx);
#else
    lua_Number n = lua_tonumber(L, idx);
    return n >= -9223372036854775808.0 && n < 9223372036854775808.0
        && (lua_Number)(lua_Integer)n == n;
#endif
}

static int check_int_range(lua_State* L, int arg, lua_Integer def, lua_Integer lo, lua_Integer hi)
{
    lua_Integer v = luaL_optinteger(L, arg, def);
    if (v < lo || v > hi) {
        luaL_argerror(L, arg, "value out of range");
    }
    return (int)v;
}

/* Error texts passed to an error handler (several calls joined by "\n"). */
typedef struct
{
    char buf[2048];
    size_t len;
    int calls;
} ErrText;

static void errtext_init(ErrText* e)
{
    e->buf[0] = '\0';
    e->len = 0;
    e->calls = 0;
}

static void errtext_handler(void* ehdata, const char* msg, size_t msglen)
{
    ErrText* e = (ErrText*)ehdata;
    size_t room;
    if (e->calls++ > 0 && e->len < sizeof(e->buf) - 1) {
        e->buf[e->len++] = '\n';
    }
    room = sizeof(e->buf) - 1 - e->len;
    if (msg == NULL) {
        msglen = 0;
    }
    if (msglen > room) {
        msglen = room;
    }
    memcpy(e->buf + e->len, msg, msglen);
    e->len += msglen;
    e->buf[e->len] = '\0';
}

static void errtext_push(lua_State* L, const ErrText* e)
{
    if (e->calls > 0) {
        lua_pushlstring(L, e->buf, e->len);
    } else {
        lua_pushnil(L);
    }
}

/* Shared "first error" record of a thread job. */
typedef struct
{
    pthread_mutex_t mutex;
    int rc;
    int hasText;
    char text[2048];
} FirstError;

static void firsterr_init(FirstError* f)
{
    pthread_mutex_init(&f->mutex, NULL);
    f->rc = 0;
    f->hasText = 0;
    f->text[0] = '\0';
}

static void firsterr_record(FirstError* f, int rc, const char* text, size_t len)
{
    pthread_mutex_lock(&f->mutex);
    if (f->rc == 0) {
        f->rc = rc;
        if (text != NULL) {
            if (len > sizeof(f->text) - 1) {
                len = sizeof(f->text) - 1;
            }
            memcpy(f->text, text, len);
            f->text[len] = '\0';
            f->hasText = 1;
        }
    }
    pthread_mutex_unlock(&f->mutex);
}

static void firsterr_record_et(FirstError* f, int rc, const ErrText* e)
{
    firsterr_record(f, rc, e->calls > 0 ? e->buf : NULL, e->len);
}

static void firsterr_push(lua_State* L, FirstError* f)
{
    pthread_mutex_lock(&f->mutex);
    lua_pushinteger(L, f->rc);
    if (f->hasText) {
        lua_pushstring(L, f->text);
    } else {
        lua_pushnil(L);
    }
    pthread_mutex_unlock(&f->mutex);
}

/* ------------------------------------------------------------------------ */
/* Obtaining APIs and objects (Lua errors on failure)                        */
/* ------------------------------------------------------------------------ */

static const receiver_capi* check_receiver(lua_State* L, int arg, receiver_object** obj)
{
    int reason = 0;
    const receiver_capi* api = receiver_get_capi(L, arg, &reason);
    if (api == NULL) {
        luaL_argerror(L, arg, reason == 1 ? "receiver capi version mismatch" : "receiver capi not found");
    }
    *obj = api->toReceiver(L, arg);
    if (*obj == NULL) {
        luaL_argerror(L, arg, "invalid receiver (toReceiver returned NULL)");
    }
    return api;
}

static const sender_capi* check_sender(lua_State* L, int arg, sender_object** obj)
{
    int reason = 0;
    const sender_capi* api = sender_get_capi(L, arg, &reason);
    if (api == NULL) {
        luaL_argerror(L, arg, reason == 1 ? "sender capi version mismatch" : "sender capi not found");
    }
    *obj = api->toSender(L, arg);
    if (*obj == NULL) {
        luaL_argerror(L, arg, "invalid sender (toSender returned NULL)");
    }
    return api;
}

static const notify_capi* check_notify(lua_State* L, int arg, notify_notifier** obj)
{
    int reason = 0;
    const notify_capi* api = notify_get_capi(L, arg, &reason);
    if (api == NULL) {
        luaL_argerror(L, arg, reason == 1 ? "notify capi version mismatch" : "notify capi not found");
    }
    *obj = api->toNotifier(L, arg);
    if (*obj == NULL) {
        luaL_argerror(L, arg, "invalid notifier (toNotifier returned NULL)");
    }
    return api;
}

/* Writers and readers wrapped in userdata so that Lua errors cannot leak them. */
typedef struct
{
    const receiver_capi* api;
    receiver_writer* w;
} WriterBox;

static int writerbox_gc(lua_State* L)
{
    WriterBox* b = (WriterBox*)lua_touserdata(L, 1);
    if (b != NULL && b->w != NULL) {
        b->api->freeWriter(b->w);
        b->w = NULL;
    }
    return 0;
}

static receiver_writer* push_writer(lua_State* L, const receiver_capi* api, size_t cap, float grow)
{
    WriterBox* b = (WriterBox*)lua_newuserdata(L, sizeof(WriterBox));
    b->api = api;
    b->w = NULL;
    push_class(L, "capitest.writerbox", writerbox_gc, NULL);
    lua_setmetatable(L, -2);
    b->w = api->newWriter(cap, grow);
    if (b->w == NULL) {
        luaL_error(L, "capitest: newWriter(%d, %f) returned NULL", (int)cap, (double)grow);
    }
    return b->w;
}

typedef struct
{
    const sender_capi* api;
    sender_reader* r;
} ReaderBox;

static int readerbox_gc(lua_State* L)
{
    ReaderBox* b = (ReaderBox*)lua_touserdata(L, 1);
    if (b != NULL && b->r != NULL) {
        b->api->freeReader(b->r);
        b->r = NULL;
    }
    return 0;
}

static sender_reader* push_reader(lua_State* L, const sender_capi* api, size_t cap, float grow)
{
    ReaderBox* b = (ReaderBox*)lua_newuserdata(L, sizeof(ReaderBox));
    b->api = api;
    b->r = NULL;
    push_class(L, "capitest.readerbox", readerbox_gc, NULL);
    lua_setmetatable(L, -2);
    b->r = api->newReader(cap, grow);
    if (b->r == NULL) {
        luaL_error(L, "capitest: newReader(%d, %f) returned NULL", (int)cap, (double)grow);
    }
    return b->r;
}

/* ------------------------------------------------------------------------ */
/* receiver_feed                                                             */
/* ------------------------------------------------------------------------ */

typedef struct FeedJob FeedJob;

typedef struct
{
    FeedJob* job;
    int t;
    int started;
    pthread_t tid;
} FeedThread;

struct FeedJob
{
    const receiver_capi* api;
    receiver_object* obj;
    int nthreads;
    long nmsgs;
    int nonblock;
    double giveup;             /* max seconds retrying one message */
    int stop;                  /* atomic */
    long sent;                 /* atomic */
    int joined;
    FirstError err;
    FeedThread threads[1];     /* nthreads entries */
};

static const char* feed_add_message(const receiver_capi* api, receiver_writer* w, int t, long seq, int* rc)
{
    static const unsigned char bytes[2] = { 1, 2 };
    char s[64];
    int n = snprintf(s, sizeof(s), "t%d-%ld", t, seq);
    api->clearWriter(w);
    if ((*rc = api->addIntegerToWriter(w, (lua_Integer)t)) != 0) return "addIntegerToWriter";
    if ((*rc = api->addIntegerToWriter(w, (lua_Integer)seq)) != 0) return "addIntegerToWriter";
    if ((*rc = api->addStringToWriter(w, s, (size_t)n)) != 0) return "addStringToWriter";
    if ((*rc = api->addBooleanToWriter(w, 1)) != 0) return "addBooleanToWriter";
    if ((*rc = api->addNumberToWriter(w, (lua_Number)seq + 0.5)) != 0) return "addNumberToWriter";
    if ((*rc = api->addBytesToWriter(w, bytes, 2)) != 0) return "addBytesToWriter";
    return NULL;
}

static void* feed_thread(void* arg)
{
    FeedThread* th = (FeedThread*)arg;
    FeedJob* job = th->job;
    const receiver_capi* api = job->api;
    receiver_writer* w;
    long seq;
    double retryStart;
    api->retainReceiver(job->obj);
    w = api->newWriter(64, 2.0f);
    if (w == NULL) {
        static const char msg[] = "newWriter returned NULL";
        firsterr_record(&job->err, -2, msg, sizeof(msg) - 1);
        goto done;
    }
    for (seq = 1; seq <= job->nmsgs; ++seq) {
        int rc = 0;
        const char* failed = feed_add_message(api, w, th->t, seq, &rc);
        if (failed != NULL) {
            char msg[128];
            int n = snprintf(msg, sizeof(msg), "%s failed (rc=%d)", failed, rc);
            firsterr_record(&job->err, rc, msg, (size_t)n);
            goto out;
        }
        for (retryStart = 0.0;;) {
            ErrText et;
            errtext_init(&et);
            rc = api->msgToReceiver(job->obj, w, 0, job->nonblock, errtext_handler, &et);
            if (rc == 0) {
                atomic_addl(&job->sent, 1);
                break;
            }
            if (retryStart == 0.0) {
                retryStart = now_seconds();
            }
            if ((rc == 3 || rc == 4) && !atomic_geti(&job->stop) && now_seconds() - retryStart < job->giveup) {
                if (rc == 3) {
                    sched_yield();
                } else {
                    sleep_ms(1);
                }
                continue;
            }
            firsterr_record_et(&job->err, rc, &et);
            goto out;
        }
    }
out:
    api->freeWriter(w);
done:
    api->releaseReceiver(job->obj);
    return NULL;
}

static void feed_join(FeedJob* job)
{
    int i;
    if (job->joined) {
        return;
    }
    for (i = 0; i < job->nthreads; ++i) {
        if (job->threads[i].started) {
            pthread_join(job->threads[i].tid, NULL);
        }
    }
    job->joined = 1;
    job->api->releaseReceiver(job->obj);       /* the job's own reference */
}

typedef struct
{
    FeedJob* job;
} FeedHandle;

static int feedhandle_gc(lua_State* L)
{
    FeedHandle* h = (FeedHandle*)lua_touserdata(L, 1);
    if (h != NULL && h->job != NULL) {
        FeedJob* job = h->job;
        h->job = NULL;
        atomic_seti(&job->stop, 1);
        feed_join(job);
        pthread_mutex_destroy(&job->err.mutex);
        free(job);
    }
    return 0;
}

static FeedJob* check_feedjob(lua_State* L)
{
    FeedHandle* h = (FeedHandle*)check_udata(L, 1, "capitest.feedjob");
    if (h->job == NULL) {
        luaL_argerror(L, 1, "job already collected");
    }
    return h->job;
}

static int feedhandle_join(lua_State* L)
{
    FeedJob* job = check_feedjob(L);
    feed_join(job);
    lua_pushinteger(L, (lua_Integer)atomic_getl(&job->sent));
    firsterr_push(L, &job->err);
    return 3;
}

static int feedhandle_stop(lua_State* L)
{
    FeedJob* job = check_feedjob(L);
    atomic_seti(&job->stop, 1);
    return 0;
}

static const luaL_Reg g_feedMethods[] = {
    { "join", feedhandle_join },
    { "stop", feedhandle_stop },
    { NULL, NULL }
};

static int l_receiver_feed(lua_State* L)
{
    receiver_object* obj;
    const receiver_capi* api = check_receiver(L, 1, &obj);
    int nthreads = check_int_range(L, 2, 1, 1, MAX_THREADS);
    lua_Integer nmsgs = luaL_checkinteger(L, 3);
    int nonblock = lua_toboolean(L, 4);
    double giveup = (double)luaL_optnumber(L, 5, 30.0);
    FeedHandle* h;
    FeedJob* job;
    int i;
    luaL_argcheck(L, nmsgs >= 0, 3, "must not be negative");
    h = (FeedHandle*)lua_newuserdata(L, sizeof(FeedHandle));
    h->job = NULL;
    push_class(L, "capitest.feedjob", feedhandle_gc, g_feedMethods);
    lua_setmetatable(L, -2);
    job = (FeedJob*)calloc(1, sizeof(FeedJob) + sizeof(FeedThread) * (size_t)nthreads);
    if (job == NULL) {
        return luaL_error(L, "capitest: out of memory");
    }
    job->api = api;
    job->obj = obj;
    job->nthreads = nthreads;
    job->nmsgs = (long)nmsgs;
    job->nonblock = nonblock;
    job->giveup = giveup;
    firsterr_init(&job->err);
    api->retainReceiver(obj);                  /* released by feed_join */
    h->job = job;
    for (i = 0; i < nthreads; ++i) {
        FeedThread* th = &job->threads[i];
        th->job = job;
        th->t = i + 1;
        if (pthread_create(&th->tid, NULL, feed_thread, th) == 0) {
            th->started = 1;
        } else {
            static const char msg[] = "pthread_create failed";
            firsterr_record(&job->err, -100, msg, sizeof(msg) - 1);
            break;
        }
    }
    return 1;
}

/* ------------------------------------------------------------------------ */
/* receiver_send                                                             */
/* ------------------------------------------------------------------------ */

static size_t elem_size_of(int type)
{
    switch (type) {
        case 1: return sizeof(unsigned char);
        case 2: return sizeof(signed char);
        case 3: return sizeof(short);
        case 4: return sizeof(unsigned short);
        case 5: return sizeof(int);
        case 6: return sizeof(unsigned int);
        case 7: return sizeof(long);
        case 8: return sizeof(unsigned long);
        case 9: return sizeof(float);
        case 10: return sizeof(double);
        case 11: return sizeof(long long);
        case 12: return sizeof(unsigned long long);
        default: return 0;
    }
}

/* Adds the Lua value at idx to the writer.  Returns the add rc and sets
 * *fn to the name of the failing function (for add failures). */
static int add_lua_value(lua_State* L, const receiver_capi* api, receiver_writer* w, int idx, int pos,
                         const char** fn)
{
    switch (lua_type(L, idx)) {
        case LUA_TBOOLEAN:
            *fn = "addBooleanToWriter";
            return api->addBooleanToWriter(w, lua_toboolean(L, idx));
        case LUA_TNUMBER:
            if (is_integer_value(L, idx)) {
                *fn = "addIntegerToWriter";
                return api->addIntegerToWriter(w, lua_tointeger(L, idx));
            }
            *fn = "addNumberToWriter";
            return api->addNumberToWriter(w, lua_tonumber(L, idx));
        case LUA_TSTRING: {
            size_t len;
            const char* s = lua_tolstring(L, idx, &len);
            *fn = "addStringToWriter";
            return api->addStringToWriter(w, s, len);
        }
        case LUA_TTABLE: {
            int rc = 0;
            lua_getfield(L, idx, "bytes");
            if (lua_type(L, -1) == LUA_TSTRING) {
                size_t len;
                const char* s = lua_tolstring(L, -1, &len);
                *fn = "addBytesToWriter";
                rc = api->addBytesToWriter(w, (const unsigned char*)s, len);
                lua_pop(L, 1);
                return rc;
            }
            lua_pop(L, 1);
            lua_getfield(L, idx, "array");
            if (lua_type(L, -1) == LUA_TNUMBER) {
                int type = (int)lua_tointeger(L, -1);
                lua_Integer count;
                size_t dlen = 0;
                const char* data = NULL;
                void* p;
                lua_getfield(L, idx, "count");
                count = lua_tointeger(L, -1);
                lua_getfield(L, idx, "data");
                if (lua_type(L, -1) == LUA_TSTRING) {
                    data = lua_tolstring(L, -1, &dlen);
                }
                if (count < 0) {
                    return luaL_error(L, "capitest: value #%d: negative array count", pos);
                }
                *fn = "addArrayToWriter";
                p = api->addArrayToWriter(w, (receiver_array_type)type, (size_t)count);
                if (p == NULL) {
                    rc = -99;                   /* marker: addArrayToWriter returned NULL */
                } else {
                    size_t es = elem_size_of(type);
                    size_t need = (es != 0 && (size_t)count <= SIZE_MAX / es) ? es * (size_t)count : 0;
                    if (need > 0) {
                        size_t ncopy = dlen < need ? dlen : need;
                        if (ncopy > 0) {
                            memcpy(p, data, ncopy);
                        }
                        if (ncopy < need) {
                            memset((char*)p + ncopy, 0, need - ncopy);
                        }
                    }
                }
                lua_pop(L, 3);
                return rc;
            }
            lua_pop(L, 1);
            return luaL_error(L, "capitest: value #%d: table needs field 'bytes' or 'array'", pos);
        }
        case LUA_TUSERDATA: {
            int reason = 0;
            const carray_capi* capi = carray_get_capi(L, idx, &reason);
            carray_info info;
            const carray* a;
            void* p;
            if (capi == NULL) {
                return luaL_error(L, "capitest: value #%d: %s", pos,
                                  reason == 1 ? "carray version mismatch" : "userdata is not a carray");
            }
            memset(&info, 0, sizeof(info));
            a = capi->toReadableCarray(L, idx, &info);
            if (a == NULL) {
                return luaL_error(L, "capitest: value #%d: toReadableCarray returned NULL", pos);
            }
            *fn = "addArrayToWriter";
            p = api->addArrayToWriter(w, (receiver_array_type)info.elementType, info.elementCount);
            if (p == NULL) {
                return -99;
            }
            if (info.elementCount > 0) {
                const void* src = capi->getReadableElementPtr(a, 0, info.elementCount);
                if (src == NULL) {
                    return luaL_error(L, "capitest: value #%d: getReadableElementPtr returned NULL", pos);
                }
                memcpy(p, src, info.elementSize * info.elementCount);
            }
            return 0;
        }
        default:
            return luaL_error(L, "capitest: value #%d: type %s not supported", pos, luaL_typename(L, idx));
    }
}

static int l_receiver_send(lua_State* L)
{
    receiver_object* obj;
    const receiver_capi* api = check_receiver(L, 1, &obj);
    int clear, nonblock, i, n, rc;
    lua_Integer cap;
    float grow;
    receiver_writer* w;
    ErrText et;
    luaL_checktype(L, 2, LUA_TTABLE);
    clear = lua_toboolean(L, 3);
    nonblock = lua_toboolean(L, 4);
    cap = luaL_optinteger(L, 5, 0);
    grow = (float)luaL_optnumber(L, 6, 2.0);
    luaL_argcheck(L, cap >= 0, 5, "must not be negative");
    lua_settop(L, 6);
    w = push_writer(L, api, (size_t)cap, grow);   /* at index 7 */
    n = (int)compat_rawlen(L, 2);
    for (i = 1; i <= n; ++i) {
        const char* fn = "?";
        lua_rawgeti(L, 2, i);
        rc = add_lua_value(L, api, w, lua_gettop(L), i, &fn);
        lua_pop(L, 1);
        if (rc != 0) {
            lua_pushnil(L);
            lua_pushfstring(L, "%s failed", fn);
            if (rc == -99) {
                lua_pushstring(L, "NULL");
            } else {
                lua_pushinteger(L, rc);
            }
            return 3;
        }
    }
    api->retainReceiver(obj);
    errtext_init(&et);
    rc = api->msgToReceiver(obj, w, clear, nonblock, errtext_handler, &et);
    api->releaseReceiver(obj);
    lua_pushinteger(L, rc);
    errtext_push(L, &et);
    return 2;
}

/* ------------------------------------------------------------------------ */
/* Sender: converting a reader's message                                     */
/* ------------------------------------------------------------------------ */

/* Pushes {n=, types={...}, v1, v2, ...} with the reader's values. */
static void push_reader_message(lua_State* L, const sender_capi* api, sender_reader* r)
{
    int n = 0;
    lua_newtable(L);                           /* message */
    lua_newtable(L);                           /* types */
    for (;;) {
        sender_capi_value v;
        memset(&v, 0xA5, sizeof(v)); /* a TABLE value must come back with a zeroed union */
        api->nextValueFromReader(r, &v);
        if (v.type == SENDER_CAPI_TYPE_NONE) {
            break;
        }
        if (++n > 1000000) {
            luaL_error(L, "capitest: more than 1000000 values in one message (reader not advancing?)");
        }
        switch (v.type) {
            case SENDER_CAPI_TYPE_NIL:           lua_pushnil(L); break;
            case SENDER_CAPI_TYPE_BOOLEAN:       lua_pushboolean(L, v.boolVal); break;
            case SENDER_CAPI_TYPE_INTEGER:       lua_pushinteger(L, v.intVal); break;
            case SENDER_CAPI_TYPE_NUMBER:        lua_pushnumber(L, v.numVal); break;
            case SENDER_CAPI_TYPE_LIGHTUSERDATA: lua_pushlightuserdata(L, v.ptrVal); break;
            case SENDER_CAPI_TYPE_CFUNCTION:     lua_pushcfunction(L, v.funcVal); break;
            case SENDER_CAPI_TYPE_STRING:        lua_pushlstring(L, v.strVal.ptr, v.strVal.len); break;
            case SENDER_CAPI_TYPE_ARRAY: {
                size_t es = v.arrayVal.elementSize, cnt = v.arrayVal.elementCount;
                lua_newtable(L);
                lua_pushinteger(L, (lua_Integer)v.arrayVal.type);
                lua_setfield(L, -2, "type");
                lua_pushinteger(L, (lua_Integer)es);
                lua_setfield(L, -2, "elementSize");
                lua_pushinteger(L, (lua_Integer)cnt);
                lua_setfield(L, -2, "count");
                if (es != 0 && cnt != 0 && v.arrayVal.data != NULL && cnt <= SIZE_MAX / es) {
                    lua_pushlstring(L, (const char*)v.arrayVal.data, es * cnt);
                } else {
                    lua_pushliteral(L, "");
                }
                lua_setfield(L, -2, "bytes");
                break;
            }
            case SENDER_CAPI_TYPE_TABLE:
                /* no payload: the union must come back zeroed */
                if (v.intVal == 0 && v.arrayVal.elementSize == 0 && v.arrayVal.elementCount == 0
                    && v.arrayVal.data == NULL) {
                    lua_pushliteral(L, "<table>");
                } else {
                    lua_pushliteral(L, "<table with payload>");
                }
                break;
            default:
                lua_pushfstring(L, "<unknown value type %d>", (int)v.type);
                break;
        }
        lua_rawseti(L, -3, n);
        lua_pushinteger(L, (lua_Integer)v.type);
        lua_rawseti(L, -2, n);
    }
    lua_setfield(L, -2, "types");
    lua_pushinteger(L, n);
    lua_setfield(L, -2, "n");
}

static int l_sender_drain(lua_State* L)
{
    sender_object* obj;
    const sender_capi* api = check_sender(L, 1, &obj);
    lua_Integer maxcount = luaL_checkinteger(L, 2);
    double timeout = (double)luaL_checknumber(L, 3);
    int nonblock = lua_toboolean(L, 4);
    sender_reader* r;
    lua_Integer i, got = 0;
    int rc = 0;
    ErrText et;
    lua_settop(L, 4);
    r = push_reader(L, api, 0, 2.0f);          /* index 5 */
    lua_newtable(L);                           /* index 6: list */
    errtext_init(&et);
    for (i = 0; i < maxcount; ++i) {
        errtext_init(&et);
        rc = api->nextMessageFromSender(obj, r, nonblock, timeout, errtext_handler, &et);
        if (rc == 0 || rc == SENDER_CAPI_RC_NOTIFY_FAILED) {
            push_reader_message(L, api, r);
            lua_rawseti(L, 6, (int)++got);
        }
        if (rc != 0) {
            break;
        }
    }
    lua_pushvalue(L, 6);
    lua_pushinteger(L, rc);
    errtext_push(L, &et);
    return 3;
}

/* ------------------------------------------------------------------------ */
/* sender_threads                                                            */
/* ------------------------------------------------------------------------ */

typedef struct ReadJob ReadJob;

typedef struct
{
    ReadJob* job;
    int started;
    pthread_t tid;
} ReadThread;

struct ReadJob
{
    const sender_capi* api;
    sender_object* obj;
    int nthreads;
    long total;
    double timeout;
    double giveup;
    long claimed;              /* atomic: messages claimed (read or being read) */
    long readTotal;            /* atomic */
    long lastProgressMs;       /* atomic, ms since job start */
    double startTime;
    int stop;                  /* atomic */
    int orderOk;               /* atomic: 1 until a violation */
    int joined;
    FirstError err;
    pthread_mutex_t diagMutex;
    char diag[512];
    ReadThread threads[1];
};

static void read_diag(ReadJob* job, const char* text)
{
    atomic_seti(&job->orderOk, 0);
    pthread_mutex_lock(&job->diagMutex);
    if (job->diag[0] == '\0') {
        snprintf(job->diag, sizeof(job->diag), "%s", text);
    }
    pthread_mutex_unlock(&job->diagMutex);
}

/* Checks one message shaped like receiver_feed's (t, seq, "t<t>-<seq>", true,
 * seq + 0.5, 1, 2).  Messages whose first two values are not integers are not
 * checked.  lastSeq[t] tracks the order per producer within this thread. */
static void read_check(ReadJob* job, sender_reader* r, long** lastSeq, size_t* lastCap)
{
    const sender_capi* api = job->api;
    sender_capi_value v[8];
    int n = 0;
    long t, seq;
    char diag[256];
    for (;;) {
        sender_capi_value x;
        memset(&x, 0, sizeof(x));
        api->nextValueFromReader(r, &x);
        if (x.type == SENDER_CAPI_TYPE_NONE) {
            break;
        }
        if (n < 8) {
            v[n] = x;
        }
        if (++n > 1000000) {
            read_diag(job, "reader not advancing");
            return;
        }
    }
    if (n < 2 || v[0].type != SENDER_CAPI_TYPE_INTEGER || v[1].type != SENDER_CAPI_TYPE_INTEGER) {
        return;
    }
    t = (long)v[0].intVal;
    seq = (long)v[1].intVal;
    if (t >= 0 && t < 65536) {
        if ((size_t)t >= *lastCap) {
            size_t newCap = (size_t)t + 16;
            long* p = (long*)realloc(*lastSeq, newCap * sizeof(long));
            if (p == NULL) {
                read_diag(job, "out of memory");
                return;
            }
            memset(p + *lastCap, 0, (newCap - *lastCap) * sizeof(long));
            *lastSeq = p;
            *lastCap = newCap;
        }
        if (seq <= (*lastSeq)[t]) {
            snprintf(diag, sizeof(diag), "producer %ld: seq %ld after %ld", t, seq, (*lastSeq)[t]);
            read_diag(job, diag);
        }
        (*lastSeq)[t] = seq;
    }
    if (n == 7) {
        char s[64];
        int slen = snprintf(s, sizeof(s), "t%ld-%ld", t, seq);
        int ok = v[2].type == SENDER_CAPI_TYPE_STRING && v[2].strVal.len == (size_t)slen
              && memcmp(v[2].strVal.ptr, s, (size_t)slen) == 0
              && v[3].type == SENDER_CAPI_TYPE_BOOLEAN && v[3].boolVal == 1
              && v[4].type == SENDER_CAPI_TYPE_NUMBER && v[4].numVal == (lua_Number)seq + 0.5
              && v[5].type == SENDER_CAPI_TYPE_INTEGER && v[5].intVal == 1
              && v[6].type == SENDER_CAPI_TYPE_INTEGER && v[6].intVal == 2;
        if (!ok) {
            snprintf(diag, sizeof(diag), "producer %ld seq %ld: message contents differ", t, seq);
            read_diag(job, diag);
        }
    } else {
        snprintf(diag, sizeof(diag), "producer %ld seq %ld: %d values instead of 7", t, seq, n);
        read_diag(job, diag);
    }
}

static long job_ms(ReadJob* job)
{
    return (long)((now_seconds() - job->startTime) * 1000.0);
}

static void* read_thread(void* arg)
{
    ReadThread* th = (ReadThread*)arg;
    ReadJob* job = th->job;
    const sender_capi* api = job->api;
    sender_reader* r;
    long* lastSeq = NULL;
    size_t lastCap = 0;
    api->retainSender(job->obj);
    r = api->newReader(0, 2.0f);
    if (r == NULL) {
        static const char msg[] = "newReader returned NULL";
        firsterr_record(&job->err, -2, msg, sizeof(msg) - 1);
        goto done;
    }
    while (!atomic_geti(&job->stop)) {
        ErrText et;
        int rc;
        if (atomic_addl(&job->claimed, 1) > job->total) {
            atomic_addl(&job->claimed, -1);
            break;
        }
        errtext_init(&et);
        rc = api->nextMessageFromSender(job->obj, r, 0, job->timeout, errtext_handler, &et);
        if (rc == 0 || rc == SENDER_CAPI_RC_NOTIFY_FAILED) {
            atomic_addl(&job->readTotal, 1);
            atomic_setl(&job->lastProgressMs, job_ms(job));
            read_check(job, r, &lastSeq, &lastCap);
            if (rc != 0) {
                firsterr_record_et(&job->err, rc, &et);
                break;
            }
            continue;
        }
        atomic_addl(&job->claimed, -1);
        if (rc == SENDER_CAPI_RC_NO_MESSAGE) {
            if (job_ms(job) - atomic_getl(&job->lastProgressMs) > (long)(job->giveup * 1000.0)) {
                static const char msg[] = "gave up waiting for messages";
                firsterr_record(&job->err, rc, msg, sizeof(msg) - 1);
                break;
            }
            sched_yield();
            continue;
        }
        firsterr_record_et(&job->err, rc, &et);
        break;
    }
    api->freeReader(r);
done:
    free(lastSeq);
    api->releaseSender(job->obj);
    return NULL;
}

static void read_join(ReadJob* job)
{
    int i;
    if (job->joined) {
        return;
    }
    for (i = 0; i < job->nthreads; ++i) {
        if (job->threads[i].started) {
            pthread_join(job->threads[i].tid, NULL);
        }
    }
    job->joined = 1;
    job->api->releaseSender(job->obj);
}

typedef struct
{
    ReadJob* job;
} ReadHandle;

static int readhandle_gc(lua_State* L)
{
    ReadHandle* h = (ReadHandle*)lua_touserdata(L, 1);
    if (h != NULL && h->job != NULL) {
        ReadJob* job = h->job;
        h->job = NULL;
        atomic_seti(&job->stop, 1);
        read_join(job);
        pthread_mutex_destroy(&job->err.mutex);
        pthread_mutex_destroy(&job->diagMutex);
        free(job);
    }
    return 0;
}

static ReadJob* check_readjob(lua_State* L)
{
    ReadHandle* h = (ReadHandle*)check_udata(L, 1, "capitest.readjob");
    if (h->job == NULL) {
        luaL_argerror(L, 1, "job already collected");
    }
    return h->job;
}

static int readhandle_join(lua_State* L)
{
    ReadJob* job = check_readjob(L);
    read_join(job);
    lua_pushinteger(L, (lua_Integer)atomic_getl(&job->readTotal));
    firsterr_push(L, &job->err);               /* rc, text */
    lua_pushboolean(L, atomic_geti(&job->orderOk));
    lua_insert(L, -2);                         /* total, rc, ok, text */
    if (job->diag[0] != '\0') {
        lua_pushstring(L, job->diag);
    } else {
        lua_pushnil(L);
    }
    return 5;
}

static int readhandle_stop(lua_State* L)
{
    ReadJob* job = check_readjob(L);
    atomic_seti(&job->stop, 1);
    return 0;
}

static const luaL_Reg g_readMethods[] = {
    { "join", readhandle_join },
    { "stop", readhandle_stop },
    { NULL, NULL }
};

static int l_sender_threads(lua_State* L)
{
    sender_object* obj;
    const sender_capi* api = check_sender(L, 1, &obj);
    int nthreads = check_int_range(L, 2, 1, 1, MAX_THREADS);
    lua_Integer total = luaL_checkinteger(L, 3);
    double timeout = lua_isnoneornil(L, 4) ? 0.1 : (double)luaL_checknumber(L, 4);
    double giveup = (double)luaL_optnumber(L, 5, 10.0);
    ReadHandle* h;
    ReadJob* job;
    int i;
    luaL_argcheck(L, total >= 0, 3, "must not be negative");
    h = (ReadHandle*)lua_newuserdata(L, sizeof(ReadHandle));
    h->job = NULL;
    push_class(L, "capitest.readjob", readhandle_gc, g_readMethods);
    lua_setmetatable(L, -2);
    job = (ReadJob*)calloc(1, sizeof(ReadJob) + sizeof(ReadThread) * (size_t)nthreads);
    if (job == NULL) {
        return luaL_error(L, "capitest: out of memory");
    }
    job->api = api;
    job->obj = obj;
    job->nthreads = nthreads;
    job->total = (long)total;
    job->timeout = timeout;
    job->giveup = giveup;
    job->orderOk = 1;
    job->startTime = now_seconds();
    firsterr_init(&job->err);
    pthread_mutex_init(&job->diagMutex, NULL);
    api->retainSender(obj);                    /* released by read_join */
    h->job = job;
    for (i = 0; i < nthreads; ++i) {
        ReadThread* th = &job->threads[i];
        th->job = job;
        if (pthread_create(&th->tid, NULL, read_thread, th) == 0) {
            th->started = 1;
        } else {
            static const char msg[] = "pthread_create failed";
            firsterr_record(&job->err, -100, msg, sizeof(msg) - 1);
            break;
        }
    }
    return 1;
}

/* ------------------------------------------------------------------------ */
/* notify                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct
{
    const notify_capi* api;
    notify_notifier* n;
    long count;
    long ok;                   /* atomic */
    FirstError err;
} NotifyJob;

static void notify_loop(NotifyJob* job)
{
    long i;
    for (i = 0; i < job->count; ++i) {
        ErrText et;
        int rc;
        errtext_init(&et);
        rc = job->api->notify(job->n, errtext_handler, &et);
        if (rc == 0) {
            atomic_addl(&job->ok, 1);
            continue;
        }
        firsterr_record_et(&job->err, rc, &et);
        if (rc == NOTIFY_CAPI_RC_CLOSED) {
            break;                              /* never call a closed notifier again */
        }
    }
}

static void* notify_thread(void* arg)
{
    NotifyJob* job = (NotifyJob*)arg;
    job->api->retainNotifier(job->n);
    notify_loop(job);
    job->api->releaseNotifier(job->n);
    return NULL;
}

static int l_notify(lua_State* L)
{
    notify_notifier* n;
    const notify_capi* api = check_notify(L, 1, &n);
    int nthreads = check_int_range(L, 2, 0, 0, MAX_THREADS);
    lua_Integer count = luaL_optinteger(L, 3, 1);
    NotifyJob job;
    luaL_argcheck(L, count >= 0, 3, "must not be negative");
    job.api = api;
    job.n = n;
    job.count = (long)count;
    job.ok = 0;
    firsterr_init(&job.err);
    api->retainNotifier(n);
    if (nthreads == 0) {
        notify_loop(&job);
    } else {
        pthread_t tids[MAX_THREADS];
        int started[MAX_THREADS];
        int i;
        for (i = 0; i < nthreads; ++i) {
            started[i] = pthread_create(&tids[i], NULL, notify_thread, &job) == 0;
            if (!started[i]) {
                static const char msg[] = "pthread_create failed";
                firsterr_record(&job.err, -100, msg, sizeof(msg) - 1);
            }
        }
        for (i = 0; i < nthreads; ++i) {
            if (started[i]) {
                pthread_join(tids[i], NULL);
            }
        }
    }
    api->releaseNotifier(n);
    lua_pushinteger(L, (lua_Integer)job.ok);
    firsterr_push(L, &job.err);
    pthread_mutex_destroy(&job.err.mutex);
    return 3;
}

/* ------------------------------------------------------------------------ */
/* A Notify C API implementation of our own: capitest.notifier               */
/* ------------------------------------------------------------------------ */

#define NOTIFIER_MT "capitest.notifier"

typedef struct
{
    int refcount;              /* atomic */
    int count;                 /* atomic: notify calls */
    int rc;                    /* atomic */
    int delayMs;               /* atomic */
    pthread_mutex_t mutex;     /* guards msgs */
    char** msgs;
    int nmsgs;
} TestNotifier;

typedef struct
{
    TestNotifier* tn;
} NotifierUd;

static int g_liveNotifiers = 0; /* atomic */

static void tn_free_msgs(TestNotifier* tn)
{
    int i;
    for (i = 0; i < tn->nmsgs; ++i) {
        free(tn->msgs[i]);
    }
    free(tn->msgs);
    tn->msgs = NULL;
    tn->nmsgs = 0;
}

static notify_notifier* tn_toNotifier(lua_State* L, int index)
{
    NotifierUd* ud = (NotifierUd*)test_udata(L, abs_index(L, index), NOTIFIER_MT);
    return ud != NULL ? (notify_notifier*)ud->tn : NULL;
}

static void tn_retain(notify_notifier* n)
{
    atomic_addi(&((TestNotifier*)n)->refcount, 1);
}

static void tn_release(notify_notifier* n)
{
    TestNotifier* tn = (TestNotifier*)n;
    if (atomic_addi(&tn->refcount, -1) == 0) {
        tn_free_msgs(tn);
        pthread_mutex_destroy(&tn->mutex);
        free(tn);
        atomic_addi(&g_liveNotifiers, -1);
    }
}

static int tn_notify(notify_notifier* n, notifier_error_handler eh, void* ehdata)
{
    TestNotifier* tn = (TestNotifier*)n;
    int rc, delay;
    atomic_addi(&tn->count, 1);
    delay = atomic_geti(&tn->delayMs);
    if (delay > 0) {
        sleep_ms(delay);
    }
    rc = atomic_geti(&tn->rc);
    if (rc != 0 && rc != 1 && eh != NULL) {
        int i;
        pthread_mutex_lock(&tn->mutex);
        for (i = 0; i < tn->nmsgs; ++i) {
            eh(ehdata, tn->msgs[i], strlen(tn->msgs[i]));
        }
        pthread_mutex_unlock(&tn->mutex);
    }
    return rc;
}

static const notify_capi g_notifierCapi = {
    NOTIFY_CAPI_VERSION_MAJOR,
    NOTIFY_CAPI_VERSION_MINOR,
    NOTIFY_CAPI_VERSION_PATCH,
    NULL,
    tn_toNotifier,
    tn_retain,
    tn_release,
    tn_notify
};

static TestNotifier* check_notifier_ud(lua_State* L)
{
    NotifierUd* ud = (NotifierUd*)check_udata(L, 1, NOTIFIER_MT);
    if (ud->tn == NULL) {
        luaL_argerror(L, 1, "notifier already collected");
    }
    return ud->tn;
}

/* Sets rc and messages from arguments rcArg and rcArg + 1. */
static void tn_configure(lua_State* L, TestNotifier* tn, int rcArg)
{
    char** msgs = NULL;
    int nmsgs = 0, i;
    int rc = (int)luaL_optinteger(L, rcArg, 0);
    if (lua_isnoneornil(L, rcArg + 1)) {
        static const char def[] = "capitest notifier failed";
        msgs = (char**)malloc(sizeof(char*));
        if (msgs != NULL && (msgs[0] = (char*)malloc(sizeof(def))) != NULL) {
            memcpy(msgs[0], def, sizeof(def));
            nmsgs = 1;
        }
    } else {
        int n;
        luaL_checktype(L, rcArg + 1, LUA_TTABLE);
        n = (int)compat_rawlen(L, rcArg + 1);
        for (i = 1; i <= n; ++i) {
            lua_rawgeti(L, rcArg + 1, i);
            if (lua_type(L, -1) != LUA_TSTRING) {
                luaL_argerror(L, rcArg + 1, "table of strings expected");
            }
            lua_pop(L, 1);
        }
        msgs = (char**)calloc((size_t)(n > 0 ? n : 1), sizeof(char*));
        for (i = 1; msgs != NULL && i <= n; ++i) {
            size_t len;
            const char* s;
            lua_rawgeti(L, rcArg + 1, i);
            s = lua_tolstring(L, -1, &len);
            msgs[nmsgs] = (char*)malloc(len + 1);
            if (msgs[nmsgs] != NULL) {
                memcpy(msgs[nmsgs], s, len + 1);
                ++nmsgs;
            }
            lua_pop(L, 1);
        }
    }
    pthread_mutex_lock(&tn->mutex);
    tn_free_msgs(tn);
    tn->msgs = msgs;
    tn->nmsgs = nmsgs;
    pthread_mutex_unlock(&tn->mutex);
    atomic_seti(&tn->rc, rc);
}

static int notifier_gc(lua_State* L)
{
    NotifierUd* ud = (NotifierUd*)lua_touserdata(L, 1);
    if (ud != NULL && ud->tn != NULL) {
        TestNotifier* tn = ud->tn;
        ud->tn = NULL;
        tn_release((notify_notifier*)tn);
    }
    return 0;
}

static int notifier_count(lua_State* L)
{
    lua_pushinteger(L, atomic_geti(&check_notifier_ud(L)->count));
    return 1;
}

static int notifier_setrc(lua_State* L)
{
    TestNotifier* tn = check_notifier_ud(L);
    luaL_checkinteger(L, 2);
    tn_configure(L, tn, 2);
    lua_settop(L, 1);
    return 1;
}

static int notifier_setdelay(lua_State* L)
{
    TestNotifier* tn = check_notifier_ud(L);
    atomic_seti(&tn->delayMs, (int)luaL_checkinteger(L, 2));
    lua_settop(L, 1);
    return 1;
}

static int notifier_refs(lua_State* L)
{
    lua_pushinteger(L, atomic_geti(&check_notifier_ud(L)->refcount));
    return 1;
}

static const luaL_Reg g_notifierMethods[] = {
    { "count",    notifier_count },
    { "setrc",    notifier_setrc },
    { "setdelay", notifier_setdelay },
    { "refs",     notifier_refs },
    { NULL, NULL }
};

static void push_capi_ud(lua_State* L, const void* api, const char* id)
{
    size_t idlen = strlen(id);
    char* ud = (char*)lua_newuserdata(L, sizeof(void*) + idlen + 1);
    memcpy(ud, (const void*)&api, sizeof(void*));
    memcpy(ud + sizeof(void*), id, idlen + 1);
}

static void push_notifier_mt(lua_State* L)
{
    if (luaL_newmetatable(L, NOTIFIER_MT)) {
        lua_pushstring(L, NOTIFIER_MT);
        lua_setfield(L, -2, "__name");
        lua_pushcfunction(L, notifier_gc);
        lua_setfield(L, -2, "__gc");
        lua_newtable(L);
        set_funcs(L, g_notifierMethods);
        lua_setfield(L, -2, "__index");
        lua_pushstring(L, NOTIFY_CAPI_ID_STRING);
        push_capi_ud(L, &g_notifierCapi, NOTIFY_CAPI_ID_STRING);
        lua_rawset(L, -3);
    }
}

static int l_new_notifier(lua_State* L)
{
    NotifierUd* ud;
    TestNotifier* tn;
    int udIdx;
    lua_settop(L, 2);
    ud = (NotifierUd*)lua_newuserdata(L, sizeof(NotifierUd));
    udIdx = lua_gettop(L);
    ud->tn = NULL;
    push_notifier_mt(L);
    lua_setmetatable(L, -2);
    tn = (TestNotifier*)calloc(1, sizeof(TestNotifier));
    if (tn == NULL) {
        return luaL_error(L, "capitest: out of memory");
    }
    tn->refcount = 1;                          /* the Lua object's reference */
    pthread_mutex_init(&tn->mutex, NULL);
    atomic_addi(&g_liveNotifiers, 1);
    ud->tn = tn;
    tn_configure(L, tn, 1);
    lua_pushvalue(L, udIdx);
    return 1;
}

static int l_live_notifiers(lua_State* L)
{
    lua_pushinteger(L, atomic_geti(&g_liveNotifiers));
    return 1;
}

/* ------------------------------------------------------------------------ */
/* hostile                                                                   */
/* ------------------------------------------------------------------------ */

static void res_bool(lua_State* L, int res, const char* key, int v)
{
    lua_pushboolean(L, v);
    lua_setfield(L, res, key);
}

static void res_int(lua_State* L, int res, const char* key, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, res, key);
}

/* Is group `name` listed (as a true field) in the skip table at `arg`? */
static int skipped(lua_State* L, int arg, const char* name)
{
    int r;
    if (lua_type(L, arg) != LUA_TTABLE) {
        return 0;
    }
    lua_getfield(L, arg, name);
    r = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return r;
}

/* hostile(obj [, fill_limit [, big_size [, skip]]]): groups "to", "arrays",
 * "fixed", "grow", "big", "fill" run in this order unless skip[group]. */
static int l_hostile(lua_State* L)
{
    static const char small[] = "small";
    static const char longer[] = "this string is longer than four bytes";
    receiver_object* obj;
    const receiver_capi* api = check_receiver(L, 1, &obj);
    lua_Integer fillLimit = luaL_optinteger(L, 2, 10000);
    lua_Integer bigSize = luaL_optinteger(L, 3, 100000);
    receiver_writer *w, *wf, *wg, *wt;
    char* big;
    int res, rc;
    lua_Integer k;
    ErrText et;
    luaL_argcheck(L, bigSize >= 0 && bigSize <= (1 << 30), 3, "out of range");
    if (!lua_isnoneornil(L, 4)) {
        luaL_checktype(L, 4, LUA_TTABLE);
    }
    lua_settop(L, 4);
    lua_newtable(L);
    res = lua_gettop(L);

    api->freeWriter(NULL);
    res_bool(L, res, "free_null", 1);

    if (!skipped(L, 4, "to")) {
        /* toReceiver on assorted values: only our own objects give non-NULL */
        res_bool(L, res, "to_self_ok", api->toReceiver(L, 1) != NULL);
        lua_pushvalue(L, 1);
        res_bool(L, res, "to_negative_index_ok", api->toReceiver(L, -1) != NULL);
        lua_pop(L, 1);
        lua_pushlightuserdata(L, (void*)obj);
        res_bool(L, res, "to_light_null", api->toReceiver(L, -1) == NULL);
        lua_pop(L, 1);
        lua_newtable(L);
        res_bool(L, res, "to_table_null", api->toReceiver(L, -1) == NULL);
        lua_pop(L, 1);
        lua_pushnil(L);
        res_bool(L, res, "to_nil_null", api->toReceiver(L, -1) == NULL);
        lua_pop(L, 1);
        lua_pushinteger(L, 42);
        res_bool(L, res, "to_number_null", api->toReceiver(L, -1) == NULL);
        lua_pop(L, 1);
        lua_pushliteral(L, "receiver");
        res_bool(L, res, "to_string_null", api->toReceiver(L, -1) == NULL);
        lua_pop(L, 1);
        memset(lua_newuserdata(L, 64), 0, 64);
        res_bool(L, res, "to_plain_udata_null", api->toReceiver(L, -1) == NULL);
        lua_pop(L, 1);
        lua_pushcfunction(L, l_new_notifier);
        lua_call(L, 0, 1);
        res_bool(L, res, "to_other_class_null", api->toReceiver(L, -1) == NULL);
        lua_pop(L, 1);
    }

    /* a lazily allocated writer and bad arrays: the writer must keep (7) */
    w = skipped(L, 4, "arrays") ? NULL : api->newWriter(0, 0.0f);
    res_bool(L, res, "writer00_created", w != NULL || skipped(L, 4, "arrays"));
    if (w != NULL) {
        res_int(L, res, "pre_add_rc", api->addIntegerToWriter(w, 7));
        res_bool(L, res, "array_bad_type_null", api->addArrayToWriter(w, (receiver_array_type)99, 1) == NULL);
        res_bool(L, res, "array_type0_null", api->addArrayToWriter(w, (receiver_array_type)0, 1) == NULL);
        res_bool(L, res, "array_negative_type_null", api->addArrayToWriter(w, (receiver_array_type)-1, 1) == NULL);
        res_bool(L, res, "array_huge_int_null", api->addArrayToWriter(w, RECEIVER_INT, SIZE_MAX / 2) == NULL);
        res_bool(L, res, "array_huge_uchar_null", api->addArrayToWriter(w, RECEIVER_UCHAR, SIZE_MAX / 2) == NULL);
        res_bool(L, res, "array_wrap_double_null",
                 api->addArrayToWriter(w, RECEIVER_DOUBLE, SIZE_MAX / 8 + 1) == NULL);
        res_bool(L, res, "array_max_double_null", api->addArrayToWriter(w, RECEIVER_DOUBLE, SIZE_MAX) == NULL);
        errtext_init(&et);
        res_int(L, res, "bad_array_writer_send_rc", api->msgToReceiver(obj, w, 0, 0, errtext_handler, &et));
        api->freeWriter(w);
    }

    /* a fixed 4-byte writer: overflows fail with -1, then it is reused */
    wf = skipped(L, 4, "fixed") ? NULL : api->newWriter(4, 0.0f);
    res_bool(L, res, "fixed_writer_created", wf != NULL || skipped(L, 4, "fixed"));
    if (wf != NULL) {
        res_int(L, res, "fixed_overflow_rc", api->addStringToWriter(wf, longer, sizeof(longer) - 1));
        res_int(L, res, "fixed_huge_string_rc", api->addStringToWriter(wf, small, SIZE_MAX / 2));
        res_int(L, res, "fixed_wrap_string_rc", api->addStringToWriter(wf, small, SIZE_MAX));
        res_int(L, res, "fixed_huge_bytes_rc",
                api->addBytesToWriter(wf, (const unsigned char*)small, SIZE_MAX / 2));
        res_bool(L, res, "fixed_array_overflow_null", api->addArrayToWriter(wf, RECEIVER_INT, 100) == NULL);
        api->clearWriter(wf);
        res_int(L, res, "fixed_reuse_add_rc", api->addBooleanToWriter(wf, 1));
        errtext_init(&et);
        res_int(L, res, "fixed_reuse_send_rc", api->msgToReceiver(obj, wf, 0, 0, errtext_handler, &et));
        api->freeWriter(wf);
    }

    /* a growing writer: impossible sizes fail without crashing */
    wg = api->newWriter(0, 2.0f);
    res_bool(L, res, "grow_writer_created", wg != NULL);
    if (wg != NULL && !skipped(L, 4, "grow")) {
        res_int(L, res, "grow_huge_string_rc", api->addStringToWriter(wg, small, SIZE_MAX / 2));
        res_int(L, res, "grow_wrap_string_rc", api->addStringToWriter(wg, small, SIZE_MAX - 4));
        res_int(L, res, "grow_huge_bytes_rc",
                api->addBytesToWriter(wg, (const unsigned char*)small, SIZE_MAX / 2));
        res_int(L, res, "grow_after_add_rc", api->addIntegerToWriter(wg, 1));
        api->clearWriter(wg);
    }

    /* a message of big_size bytes: too large for a small fixed buffer (5);
     * with clear set it must leave the buffer as it was */
    wt = skipped(L, 4, "big") ? NULL : api->newWriter(0, 2.0f);
    big = wt != NULL ? (char*)malloc((size_t)bigSize + 1) : NULL;
    if (wt != NULL && big != NULL) {
        memset(big, 'x', (size_t)bigSize);
        res_int(L, res, "big_add_rc", api->addStringToWriter(wt, big, (size_t)bigSize));
        errtext_init(&et);
        rc = api->msgToReceiver(obj, wt, 0, 0, errtext_handler, &et);
        res_int(L, res, "too_large_rc", rc);
        if (et.calls > 0) {
            lua_pushlstring(L, et.buf, et.len);
            lua_setfield(L, res, "too_large_text");
        }
        api->clearWriter(wt);
        api->addStringToWriter(wt, big, (size_t)bigSize);
        errtext_init(&et);
        res_int(L, res, "clear_too_large_rc", api->msgToReceiver(obj, wt, 1, 0, errtext_handler, &et));
    }
    free(big);
    if (wt != NULL) {
        api->freeWriter(wt);
    }

    /* fill with (1) messages until the receiver refuses (4 for a fixed
     * buffer), then setmsg-style (2) */
    if (wg != NULL && !skipped(L, 4, "fill")) {
        rc = 0;
        for (k = 0; k < fillLimit; ++k) {
            api->clearWriter(wg);
            api->addIntegerToWriter(wg, 1);
            errtext_init(&et);
            rc = api->msgToReceiver(obj, wg, 0, 0, errtext_handler, &et);
            if (rc != 0) {
                break;
            }
        }
        res_int(L, res, "full_rc", rc);
        res_int(L, res, "full_after", k);
        api->clearWriter(wg);
        api->addIntegerToWriter(wg, 2);
        errtext_init(&et);
        res_int(L, res, "clear_small_rc", api->msgToReceiver(obj, wg, 1, 0, errtext_handler, &et));
    }
    if (wg != NULL) {
        api->freeWriter(wg);
    }
    lua_pushvalue(L, res);
    return 1;
}

/* ------------------------------------------------------------------------ */
/* layout                                                                    */
/* ------------------------------------------------------------------------ */

#if defined(UINTPTR_MAX) && UINTPTR_MAX == 0xffffffffffffffffu
/* capi.md sizes (LP64) checked at compile time as well */
typedef char capitest_check_notify[sizeof(notify_capi) == 56 ? 1 : -1];
typedef char capitest_check_receiver[sizeof(receiver_capi) == 128 ? 1 : -1];
typedef char capitest_check_sender[sizeof(sender_capi) == 88 ? 1 : -1];
typedef char capitest_check_value[sizeof(sender_capi_value) == 40 ? 1 : -1];
typedef char capitest_check_carray[sizeof(carray_capi) == 112 ? 1 : -1];
typedef char capitest_check_info[sizeof(carray_info) == 32 ? 1 : -1];
#endif

#define LAYOUT_FIELD(T, m, name) \
    (lua_pushinteger(L, (lua_Integer)offsetof(T, m)), lua_setfield(L, -2, name))
#define LAYOUT_HEADER(T) \
    (LAYOUT_FIELD(T, version_major, "version_major"), \
     LAYOUT_FIELD(T, version_minor, "version_minor"), \
     LAYOUT_FIELD(T, version_patch, "version_patch"), \
     LAYOUT_FIELD(T, next_capi, "next_capi"))
#define LAYOUT_SIZE(T) \
    (lua_pushinteger(L, (lua_Integer)sizeof(T)), lua_setfield(L, -2, "size"))

static int l_layout(lua_State* L)
{
    lua_newtable(L);

    lua_newtable(L);
    LAYOUT_SIZE(notify_capi);
    LAYOUT_HEADER(notify_capi);
    LAYOUT_FIELD(notify_capi, toNotifier, "toNotifier");
    LAYOUT_FIELD(notify_capi, retainNotifier, "retainNotifier");
    LAYOUT_FIELD(notify_capi, releaseNotifier, "releaseNotifier");
    LAYOUT_FIELD(notify_capi, notify, "notify");
    lua_setfield(L, -2, "notify");

    lua_newtable(L);
    LAYOUT_SIZE(receiver_capi);
    LAYOUT_HEADER(receiver_capi);
    LAYOUT_FIELD(receiver_capi, toReceiver, "toReceiver");
    LAYOUT_FIELD(receiver_capi, retainReceiver, "retainReceiver");
    LAYOUT_FIELD(receiver_capi, releaseReceiver, "releaseReceiver");
    LAYOUT_FIELD(receiver_capi, newWriter, "newWriter");
    LAYOUT_FIELD(receiver_capi, freeWriter, "freeWriter");
    LAYOUT_FIELD(receiver_capi, msgToReceiver, "msgToReceiver");
    LAYOUT_FIELD(receiver_capi, clearWriter, "clearWriter");
    LAYOUT_FIELD(receiver_capi, addBooleanToWriter, "addBooleanToWriter");
    LAYOUT_FIELD(receiver_capi, addIntegerToWriter, "addIntegerToWriter");
    LAYOUT_FIELD(receiver_capi, addNumberToWriter, "addNumberToWriter");
    LAYOUT_FIELD(receiver_capi, addStringToWriter, "addStringToWriter");
    LAYOUT_FIELD(receiver_capi, addBytesToWriter, "addBytesToWriter");
    LAYOUT_FIELD(receiver_capi, addArrayToWriter, "addArrayToWriter");
    lua_setfield(L, -2, "receiver");

    lua_newtable(L);
    LAYOUT_SIZE(sender_capi);
    LAYOUT_HEADER(sender_capi);
    LAYOUT_FIELD(sender_capi, toSender, "toSender");
    LAYOUT_FIELD(sender_capi, retainSender, "retainSender");
    LAYOUT_FIELD(sender_capi, releaseSender, "releaseSender");
    LAYOUT_FIELD(sender_capi, newReader, "newReader");
    LAYOUT_FIELD(sender_capi, freeReader, "freeReader");
    LAYOUT_FIELD(sender_capi, clearReader, "clearReader");
    LAYOUT_FIELD(sender_capi, nextValueFromReader, "nextValueFromReader");
    LAYOUT_FIELD(sender_capi, nextMessageFromSender, "nextMessageFromSender");
    lua_setfield(L, -2, "sender");

    lua_newtable(L);
    LAYOUT_SIZE(sender_capi_value);
    LAYOUT_FIELD(sender_capi_value, type, "type");
    LAYOUT_FIELD(sender_capi_value, boolVal, "boolVal");
    LAYOUT_FIELD(sender_capi_value, intVal, "intVal");
    LAYOUT_FIELD(sender_capi_value, numVal, "numVal");
    LAYOUT_FIELD(sender_capi_value, ptrVal, "ptrVal");
    LAYOUT_FIELD(sender_capi_value, funcVal, "funcVal");
    LAYOUT_FIELD(sender_capi_value, strVal.ptr, "strVal_ptr");
    LAYOUT_FIELD(sender_capi_value, strVal.len, "strVal_len");
    LAYOUT_FIELD(sender_capi_value, arrayVal.type, "arrayVal_type");
    LAYOUT_FIELD(sender_capi_value, arrayVal.elementSize, "arrayVal_elementSize");
    LAYOUT_FIELD(sender_capi_value, arrayVal.elementCount, "arrayVal_elementCount");
    LAYOUT_FIELD(sender_capi_value, arrayVal.data, "arrayVal_data");
    lua_setfield(L, -2, "sender_value");

    lua_newtable(L);
    LAYOUT_SIZE(carray_capi);
    LAYOUT_HEADER(carray_capi);
    LAYOUT_FIELD(carray_capi, newCarray, "newCarray");
    LAYOUT_FIELD(carray_capi, newCarrayRef, "newCarrayRef");
    LAYOUT_FIELD(carray_capi, toReadableCarray, "toReadableCarray");
    LAYOUT_FIELD(carray_capi, toWritableCarray, "toWritableCarray");
    LAYOUT_FIELD(carray_capi, retainCarray, "retainCarray");
    LAYOUT_FIELD(carray_capi, releaseCarray, "releaseCarray");
    LAYOUT_FIELD(carray_capi, getWritableElementPtr, "getWritableElementPtr");
    LAYOUT_FIELD(carray_capi, getReadableElementPtr, "getReadableElementPtr");
    LAYOUT_FIELD(carray_capi, resizeCarray, "resizeCarray");
    LAYOUT_FIELD(carray_capi, insertElements, "insertElements");
    LAYOUT_FIELD(carray_capi, removeElements, "removeElements");
    lua_setfield(L, -2, "carray");

    lua_newtable(L);
    LAYOUT_SIZE(carray_info);
    LAYOUT_FIELD(carray_info, elementType, "elementType");
    LAYOUT_FIELD(carray_info, attr, "attr");
    LAYOUT_FIELD(carray_info, elementSize, "elementSize");
    LAYOUT_FIELD(carray_info, elementCount, "elementCount");
    LAYOUT_FIELD(carray_info, elementCapacity, "elementCapacity");
    lua_setfield(L, -2, "carray_info");

    return 1;
}

/* ------------------------------------------------------------------------ */
/* lookup / capi_info                                                        */
/* ------------------------------------------------------------------------ */

typedef struct
{
    int version_major;
    int version_minor;
    int version_patch;
    const void* next_capi;
} CapiHeader;

static int l_lookup(lua_State* L)
{
    static const char* const names[] = { "notify", "receiver", "sender", "carray", NULL };
    int which, top, reason = -1;
    const void* api = NULL;
    luaL_checkany(L, 1);
    which = luaL_checkoption(L, 2, NULL, names);
    lua_settop(L, 2);
    top = lua_gettop(L);
    switch (which) {
        case 0: api = notify_get_capi(L, 1, &reason); break;
        case 1: api = receiver_get_capi(L, 1, &reason); break;
        case 2: api = sender_get_capi(L, 1, &reason); break;
        default: api = carray_get_capi(L, 1, &reason); break;
    }
    if (lua_gettop(L) != top) {
        return luaL_error(L, "capitest.lookup: stack not balanced (%d -> %d)", top, lua_gettop(L));
    }
    if (api == NULL) {
        lua_pushnil(L);
        lua_pushinteger(L, reason);
        return 2;
    }
    lua_pushinteger(L, ((const CapiHeader*)api)->version_major);
    lua_pushinteger(L, ((const CapiHeader*)api)->version_minor);
    lua_pushinteger(L, ((const CapiHeader*)api)->version_patch);
    return 3;
}

static int l_capi_info(lua_State* L)
{
    const char* id = luaL_checkstring(L, 2);
    size_t idlen = strlen(id);
    int field;
    luaL_checkany(L, 1);
    lua_settop(L, 2);
    if (luaL_getmetafield(L, 1, id) == 0) {
        lua_pushnil(L);
        return 1;
    }
    field = lua_gettop(L);
    lua_newtable(L);
    lua_pushstring(L, luaL_typename(L, field));
    lua_setfield(L, -2, "fieldtype");
    if (lua_type(L, field) == LUA_TUSERDATA) {
        const char* ud = (const char*)lua_touserdata(L, field);
        size_t len = compat_rawlen(L, field);
        int idmatch = len >= sizeof(void*) + idlen + 1 && memcmp(ud + sizeof(void*), id, idlen + 1) == 0;
        lua_pushinteger(L, (lua_Integer)len);
        lua_setfield(L, -2, "rawlen");
        lua_pushboolean(L, idmatch);
        lua_setfield(L, -2, "idmatch");
        if (lua_getmetatable(L, field)) {
            lua_pop(L, 1);
            lua_pushboolean(L, 1);
        } else {
            lua_pushboolean(L, 0);
        }
        lua_setfield(L, -2, "capi_has_metatable");
        if (idmatch) {
            const CapiHeader* h;
            int n = 0;
            memcpy((void*)&h, ud, sizeof(void*));
            lua_newtable(L);
            while (h != NULL && n < 16) {
                lua_newtable(L);
                lua_pushinteger(L, h->version_major);
                lua_rawseti(L, -2, 1);
                lua_pushinteger(L, h->version_minor);
                lua_rawseti(L, -2, 2);
                lua_pushinteger(L, h->version_patch);
                lua_rawseti(L, -2, 3);
                lua_rawseti(L, -2, ++n);
                h = (const CapiHeader*)h->next_capi;
            }
            lua_setfield(L, -2, "versions");
            lua_pushlightuserdata(L, *(void* const*)(const void*)ud);
            lua_setfield(L, -2, "vtable");
        }
    }
    return 1;
}

/* ------------------------------------------------------------------------ */
/* fake_object: publishers of fake or malformed APIs                         */
/* ------------------------------------------------------------------------ */

static receiver_object* fr_toReceiver(lua_State* L, int i) { (void)L; (void)i; return NULL; }
static void fr_retain(receiver_object* r) { (void)r; }
static receiver_writer* fr_newWriter(size_t c, float g) { (void)c; (void)g; return NULL; }
static void fr_freeWriter(receiver_writer* w) { (void)w; }
static int fr_msg(receiver_object* r, receiver_writer* w, int c, int nb, receiver_error_handler eh, void* d)
{ (void)r; (void)w; (void)c; (void)nb; (void)eh; (void)d; return 1; }
static int fr_addBool(receiver_writer* w, int b) { (void)w; (void)b; return -1; }
static int fr_addInt(receiver_writer* w, lua_Integer i) { (void)w; (void)i; return -1; }
static int fr_addNum(receiver_writer* w, lua_Number n) { (void)w; (void)n; return -1; }
static int fr_addStr(receiver_writer* w, const char* s, size_t l) { (void)w; (void)s; (void)l; return -1; }
static int fr_addBytes(receiver_writer* w, const unsigned char* s, size_t l) { (void)w; (void)s; (void)l; return -1; }
static void* fr_addArray(receiver_writer* w, receiver_array_type t, size_t n) { (void)w; (void)t; (void)n; return NULL; }

static sender_object* fs_toSender(lua_State* L, int i) { (void)L; (void)i; return NULL; }
static void fs_retain(sender_object* s) { (void)s; }
static sender_reader* fs_newReader(size_t c, float g) { (void)c; (void)g; return NULL; }
static void fs_freeReader(sender_reader* r) { (void)r; }
static void fs_nextValue(sender_reader* r, sender_capi_value* out) { (void)r; out->type = SENDER_CAPI_TYPE_NONE; }
static int fs_nextMsg(sender_object* s, sender_reader* r, int nb, double t, sender_error_handler eh, void* d)
{ (void)s; (void)r; (void)nb; (void)t; (void)eh; (void)d; return 1; }

static carray* fc_new(lua_State* L, carray_type t, carray_attr a, size_t n, void** d)
{ (void)L; (void)t; (void)a; (void)n; (void)d; return NULL; }
static carray* fc_newRef(lua_State* L, carray_type t, carray_attr a, void* r, size_t n, void (*rel)(void*, size_t))
{ (void)L; (void)t; (void)a; (void)r; (void)n; (void)rel; return NULL; }
static const carray* fc_toReadable(lua_State* L, int i, carray_info* info) { (void)L; (void)i; (void)info; return NULL; }
static carray* fc_toWritable(lua_State* L, int i, carray_info* info) { (void)L; (void)i; (void)info; return NULL; }
static void fc_retain(const carray* a) { (void)a; }
static void* fc_getW(carray* a, size_t o, size_t n) { (void)a; (void)o; (void)n; return NULL; }
static const void* fc_getR(const carray* a, size_t o, size_t n) { (void)a; (void)o; (void)n; return NULL; }
static void* fc_resize(carray* a, size_t n, int p) { (void)a; (void)n; (void)p; return NULL; }
static void* fc_insert(carray* a, size_t o, size_t n, int p) { (void)a; (void)o; (void)n; (void)p; return NULL; }
static void fc_remove(carray* a, size_t o, size_t n, int p) { (void)a; (void)o; (void)n; (void)p; }

typedef union
{
    CapiHeader h;
    notify_capi n;
    receiver_capi r;
    sender_capi s;
    carray_capi c;
} FakeVtable;

/* Fake vtables live until process exit (like real ones); they are kept in a
 * global list so that leak checkers see them as reachable. */
typedef struct FakeAlloc
{
    FakeVtable v;
    struct FakeAlloc* nextAlloc;
} FakeAlloc;

static FakeAlloc* g_fakeAllocs = NULL;
static pthread_mutex_t g_fakeMutex = PTHREAD_MUTEX_INITIALIZER;

/* A process-lifetime vtable for `id` with the given version whose functions
 * are harmless: to*() return NULL, others fail. */
static const void* make_fake_vtable(const char* id, int major, int minor, int patch, const void* next)
{
    FakeAlloc* a = (FakeAlloc*)calloc(1, sizeof(FakeAlloc));
    FakeVtable* v;
    if (a == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&g_fakeMutex);
    a->nextAlloc = g_fakeAllocs;
    g_fakeAllocs = a;
    pthread_mutex_unlock(&g_fakeMutex);
    v = &a->v;
    if (strcmp(id, NOTIFY_CAPI_ID_STRING) == 0) {
        v->n = g_notifierCapi;                  /* toNotifier(fake) gives NULL */
    } else if (strcmp(id, RECEIVER_CAPI_ID_STRING) == 0) {
        v->r.toReceiver = fr_toReceiver;
        v->r.retainReceiver = fr_retain;
        v->r.releaseReceiver = fr_retain;
        v->r.newWriter = fr_newWriter;
        v->r.freeWriter = fr_freeWriter;
        v->r.msgToReceiver = fr_msg;
        v->r.clearWriter = fr_freeWriter;
        v->r.addBooleanToWriter = fr_addBool;
        v->r.addIntegerToWriter = fr_addInt;
        v->r.addNumberToWriter = fr_addNum;
        v->r.addStringToWriter = fr_addStr;
        v->r.addBytesToWriter = fr_addBytes;
        v->r.addArrayToWriter = fr_addArray;
    } else if (strcmp(id, SENDER_CAPI_ID_STRING) == 0) {
        v->s.toSender = fs_toSender;
        v->s.retainSender = fs_retain;
        v->s.releaseSender = fs_retain;
        v->s.newReader = fs_newReader;
        v->s.freeReader = fs_freeReader;
        v->s.clearReader = fs_freeReader;
        v->s.nextValueFromReader = fs_nextValue;
        v->s.nextMessageFromSender = fs_nextMsg;
    } else if (strcmp(id, CARRAY_CAPI_ID_STRING) == 0) {
        v->c.newCarray = fc_new;
        v->c.newCarrayRef = fc_newRef;
        v->c.toReadableCarray = fc_toReadable;
        v->c.toWritableCarray = fc_toWritable;
        v->c.retainCarray = fc_retain;
        v->c.releaseCarray = fc_retain;
        v->c.getWritableElementPtr = fc_getW;
        v->c.getReadableElementPtr = fc_getR;
        v->c.resizeCarray = fc_resize;
        v->c.insertElements = fc_insert;
        v->c.removeElements = fc_remove;
    }
    v->h.version_major = major;
    v->h.version_minor = minor;
    v->h.version_patch = patch;
    v->h.next_capi = next;
    return v;
}

/* The version a consumer of `id` requires (what a valid publisher offers). */
static void required_version(const char* id, int* major, int* minor, int* patch)
{
    *major = *minor = *patch = 0;
    if (strcmp(id, NOTIFY_CAPI_ID_STRING) == 0) {
        *major = NOTIFY_CAPI_VERSION_MAJOR; *minor = NOTIFY_CAPI_VERSION_MINOR; *patch = NOTIFY_CAPI_VERSION_PATCH;
    } else if (strcmp(id, RECEIVER_CAPI_ID_STRING) == 0) {
        *major = RECEIVER_CAPI_VERSION_MAJOR; *minor = RECEIVER_CAPI_VERSION_MINOR; *patch = RECEIVER_CAPI_VERSION_PATCH;
    } else if (strcmp(id, SENDER_CAPI_ID_STRING) == 0) {
        *major = SENDER_CAPI_VERSION_MAJOR; *minor = SENDER_CAPI_VERSION_MINOR; *patch = SENDER_CAPI_VERSION_PATCH;
    } else if (strcmp(id, CARRAY_CAPI_ID_STRING) == 0) {
        *major = CARRAY_CAPI_VERSION_MAJOR; *minor = CARRAY_CAPI_VERSION_MINOR; *patch = CARRAY_CAPI_VERSION_PATCH;
    }
}

static int l_fake_object(lua_State* L)
{
    static const char* const modes[] = {
        "valid", "chain", "short", "long", "badid", "light", "string", "none", "index", "protected",
        "nullptr", NULL
    };
    const char* id = luaL_checkstring(L, 1);
    size_t idlen = strlen(id);
    int mode = luaL_checkoption(L, 2, NULL, modes);
    int top = lua_gettop(L);
    int major, minor, patch, obj, mt;
    const void* vt;
    char* ud;
    required_version(id, &major, &minor, &patch);
    if (mode == 1) {                            /* chain: build from the last */
        int i;
        vt = NULL;
        luaL_argcheck(L, top >= 3, 3, "version table expected");
        for (i = top; i >= 3; --i) {
            luaL_checktype(L, i, LUA_TTABLE);
            lua_rawgeti(L, i, 1);
            lua_rawgeti(L, i, 2);
            lua_rawgeti(L, i, 3);
            vt = make_fake_vtable(id, (int)lua_tointeger(L, -3), (int)lua_tointeger(L, -2),
                                  (int)lua_tointeger(L, -1), vt);
            lua_pop(L, 3);
            if (vt == NULL) {
                return luaL_error(L, "capitest: out of memory");
            }
        }
    } else {
        vt = make_fake_vtable(id, major, minor, patch, NULL);
        if (vt == NULL) {
            return luaL_error(L, "capitest: out of memory");
        }
    }
    lua_newuserdata(L, sizeof(void*));
    obj = lua_gettop(L);
    lua_newtable(L);
    mt = lua_gettop(L);
    switch (mode) {
        case 0: case 1: case 9:                 /* valid, chain, protected */
            lua_pushstring(L, id);
            push_capi_ud(L, vt, id);
            lua_rawset(L, mt);
            if (mode == 9) {
                lua_pushliteral(L, "fake");
                lua_setfield(L, mt, "__metatable");
            }
            break;
        case 2:                                 /* short: the NUL is missing */
            lua_pushstring(L, id);
            ud = (char*)lua_newuserdata(L, sizeof(void*) + idlen);
            memcpy(ud, (const void*)&vt, sizeof(void*));
            memcpy(ud + sizeof(void*), id, idlen);
            lua_rawset(L, mt);
            break;
        case 3:                                 /* long: extra bytes are fine */
            lua_pushstring(L, id);
            ud = (char*)lua_newuserdata(L, sizeof(void*) + idlen + 1 + 16);
            memset(ud, 0x5A, sizeof(void*) + idlen + 1 + 16);
            memcpy(ud, (const void*)&vt, sizeof(void*));
            memcpy(ud + sizeof(void*), id, idlen + 1);
            lua_rawset(L, mt);
            break;
        case 4:                                 /* badid: other id bytes */
            lua_pushstring(L, id);
            ud = (char*)lua_newuserdata(L, sizeof(void*) + idlen + 1);
            memcpy(ud, (const void*)&vt, sizeof(void*));
            memcpy(ud + sizeof(void*), id, idlen + 1);
            if (idlen > 0) {
                ud[sizeof(void*) + idlen - 1] ^= 0x01;
            }
            lua_rawset(L, mt);
            break;
        case 5:                                 /* light userdata field */
            lua_pushstring(L, id);
            lua_pushlightuserdata(L, (void*)vt);
            lua_rawset(L, mt);
            break;
        case 6:                                 /* string field */
            lua_pushstring(L, id);
            lua_pushstring(L, id);
            lua_rawset(L, mt);
            break;
        case 7:                                 /* no field at all */
            break;
        case 8:                                 /* only reachable via __index */
            lua_newtable(L);
            lua_pushstring(L, id);
            push_capi_ud(L, vt, id);
            lua_rawset(L, -3);
            lua_setfield(L, mt, "__index");
            break;
        default:                                /* nullptr: NULL vtable pointer */
            lua_pushstring(L, id);
            push_capi_ud(L, NULL, id);
            lua_rawset(L, mt);
            break;
    }
    lua_setmetatable(L, obj);
    lua_settop(L, obj);
    return 1;
}

/* ------------------------------------------------------------------------ */
/* carray_check: runs every Carray C API member once                         */
/* ------------------------------------------------------------------------ */

#define CHECK(name, cond) \
    do { if (!(cond)) { lua_pushboolean(L, 1); lua_setfield(L, failures, name); ++nfail; } } while (0)

/* carray_check(carray_object_or_module) -> all_ok, {failed_check_name = true} */
static int l_carray_check(lua_State* L)
{
    int reason = 0, failures, top, nfail = 0;
    const carray_capi* api;
    carray_info info;
    carray *a, *b, *c;
    void* data = NULL;
    int* ip;
    const int* rp;
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    api = carray_get_capi(L, 1, &reason);
    if (api == NULL) {
        return luaL_argerror(L, 1, reason == 1 ? "carray capi version mismatch" : "carray capi not found");
    }
    lua_newtable(L);
    failures = lua_gettop(L);

    top = lua_gettop(L);
    a = api->newCarray(L, CARRAY_INT, CARRAY_DEFAULT, 3, &data);
    CHECK("new_ok", a != NULL && data != NULL && lua_gettop(L) == top + 1);
    if (a == NULL || data == NULL) {
        lua_pushboolean(L, 0);
        lua_pushvalue(L, failures);
        return 2;
    }
    ip = (int*)data;
    ip[0] = 1; ip[1] = 2; ip[2] = 3;
    memset(&info, 0, sizeof(info));
    CHECK("to_readable_same", api->toReadableCarray(L, -1, &info) == a);
    CHECK("info", info.elementType == CARRAY_INT && info.attr == CARRAY_DEFAULT && info.elementSize == sizeof(int)
                  && info.elementCount == 3 && info.elementCapacity >= 3);
    CHECK("to_writable_same", api->toWritableCarray(L, -1, NULL) == a);
    CHECK("to_readable_abs_index", api->toReadableCarray(L, lua_gettop(L), NULL) == a);
    CHECK("readable_ptr", api->getReadableElementPtr(a, 0, 3) == data);
    CHECK("readable_ptr_offset", api->getReadableElementPtr(a, 1, 2) == (const void*)(ip + 1));
    CHECK("readable_ptr_count0_null", api->getReadableElementPtr(a, 0, 0) == NULL);
    CHECK("readable_ptr_range_null", api->getReadableElementPtr(a, 2, 2) == NULL);
    CHECK("writable_ptr", api->getWritableElementPtr(a, 0, 3) == data);
    ip = (int*)api->resizeCarray(a, 5, 0);
    CHECK("resize_grow", ip != NULL && ip[0] == 1 && ip[1] == 2 && ip[2] == 3);
    api->toReadableCarray(L, -1, &info);
    CHECK("resize_count", info.elementCount == 5);
    ip = (int*)api->insertElements(a, 0, 2, 0);
    if (ip != NULL) {
        ip[0] = 9; ip[1] = 8;
    }
    rp = (const int*)api->getReadableElementPtr(a, 0, 7);
    CHECK("insert", ip != NULL && rp != NULL && rp[0] == 9 && rp[1] == 8 && rp[2] == 1 && rp[4] == 3);
    api->removeElements(a, 0, 2, 0);
    rp = (const int*)api->getReadableElementPtr(a, 0, 5);
    CHECK("remove", rp != NULL && rp[0] == 1 && rp[2] == 3 && api->getReadableElementPtr(a, 0, 6) == NULL);
    CHECK("resize_zero_keeps_storage", api->resizeCarray(a, 0, 0) != NULL);
    CHECK("resize_zero_count", api->getReadableElementPtr(a, 0, 1) == NULL);

    /* retain keeps the array alive without its Lua value */
    api->resizeCarray(a, 1, 0);
    ((int*)api->getWritableElementPtr(a, 0, 1))[0] = 77;
    api->retainCarray(a);
    lua_pop(L, 1);
    lua_gc(L, LUA_GCCOLLECT, 0);
    lua_gc(L, LUA_GCCOLLECT, 0);
    rp = (const int*)api->getReadableElementPtr(a, 0, 1);
    CHECK("retained", rp != NULL && rp[0] == 77);
    api->releaseCarray(a);

    /* an empty array without capacity has no storage */
    top = lua_gettop(L);
    data = (void*)&top;
    b = api->newCarray(L, CARRAY_DOUBLE, CARRAY_DEFAULT, 0, &data);
    CHECK("new_empty", b != NULL && lua_gettop(L) == top + 1 && data == (void*)&top);
    if (b != NULL) {
        CHECK("resize_empty_null", api->resizeCarray(b, 0, 0) == NULL);
        CHECK("resize_empty_grow", api->resizeCarray(b, 2, 100) != NULL);
        api->toReadableCarray(L, -1, &info);
        CHECK("reserve_percent", info.elementCount == 2 && info.elementCapacity >= 4);
        lua_pop(L, 1);
    }

    /* invalid arguments push nothing */
    top = lua_gettop(L);
    CHECK("new_bad_type_null", api->newCarray(L, (carray_type)99, CARRAY_DEFAULT, 1, NULL) == NULL
                               && lua_gettop(L) == top);
    CHECK("new_bad_attr_null", api->newCarray(L, CARRAY_INT, (carray_attr)7, 1, NULL) == NULL
                               && lua_gettop(L) == top);
    CHECK("new_huge_null", api->newCarray(L, CARRAY_DOUBLE, CARRAY_DEFAULT, SIZE_MAX / 4, NULL) == NULL
                           && lua_gettop(L) == top);

    /* read-only arrays */
    c = api->newCarray(L, CARRAY_SHORT, CARRAY_READONLY, 2, &data);
    CHECK("new_readonly", c != NULL);
    if (c != NULL) {
        CHECK("readonly_not_writable", api->toWritableCarray(L, -1, &info) == NULL);
        CHECK("readonly_readable", api->toReadableCarray(L, -1, &info) == c && info.attr == CARRAY_READONLY);
        lua_pop(L, 1);
    }

    /* non-arrays */
    lua_pushlightuserdata(L, (void*)a);
    CHECK("light_not_array", api->toReadableCarray(L, -1, NULL) == NULL);
    lua_pop(L, 1);
    lua_newtable(L);
    CHECK("table_not_array", api->toReadableCarray(L, -1, NULL) == NULL);
    lua_pop(L, 1);
    memset(lua_newuserdata(L, 16), 0, 16);
    CHECK("plain_udata_not_array", api->toReadableCarray(L, -1, NULL) == NULL);
    lua_pop(L, 1);

    lua_pushboolean(L, nfail == 0);
    lua_pushvalue(L, failures);
    return 2;
}

#undef CHECK

/* ------------------------------------------------------------------------ */
/* Module                                                                    */
/* ------------------------------------------------------------------------ */

#if defined(CAPITEST_CAN_PIN)
/* Keeps this library loaded until process exit: notifiers and fake vtables
 * handed to other modules may be used after this Lua state closes. */
static void pin_library(void)
{
    static int pinned = 0;
    Dl_info info;
    if (__atomic_exchange_n(&pinned, 1, __ATOMIC_SEQ_CST)) {
        return;
    }
    if (dladdr((const void*)&g_notifierCapi, &info) != 0 && info.dli_fname != NULL) {
        (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NODELETE | RTLD_NOLOAD);
    }
}
#endif

static const luaL_Reg g_module[] = {
    { "receiver_feed",  l_receiver_feed },
    { "receiver_send",  l_receiver_send },
    { "sender_drain",   l_sender_drain },
    { "sender_threads", l_sender_threads },
    { "notify",         l_notify },
    { "new_notifier",   l_new_notifier },
    { "live_notifiers", l_live_notifiers },
    { "hostile",        l_hostile },
    { "layout",         l_layout },
    { "lookup",         l_lookup },
    { "capi_info",      l_capi_info },
    { "fake_object",    l_fake_object },
    { "carray_check",   l_carray_check },
    { NULL, NULL }
};

CAPITEST_EXPORT int luaopen_capitest(lua_State* L)
{
#if defined(CAPITEST_CAN_PIN)
    pin_library();
#endif
    push_notifier_mt(L);
    lua_pop(L, 1);
    lua_newtable(L);
    set_funcs(L, g_module);
    return 1;
}
