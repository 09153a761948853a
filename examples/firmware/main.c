/* digby on a microcontroller with no operating system.

   The image has no POSIX, no threads and no heap: the database lives in a
   fixed block of RAM (ramvfs.c, standing in for battery-backed SRAM or a
   flash partition) and everything the library allocates comes from a
   fixed arena (arena.c) through digby_options.allocator.  The compile-time
   fallback allocator (DIGBY_MALLOC...) is set to fail, so nothing can reach
   the C library's heap unnoticed.

   The program is also the footprint measurement of README.md ("Portability
   and footprint").  The workload: with 512-byte pages, the smallest cache
   the library accepts (16 pages) and one reader slot, open a database,
   store 1,000 sensor records (one commit each), read every one back, scan
   them in order, close.  It runs the workload three ways:
     1. in the whole arena: the heap peak is what the library asks for when
        memory is plentiful;
     2. in ever smaller arenas (a bisection): the smallest arena in which
        it still succeeds, allocator headers and fragmentation included
        (the library gets by without its optional buffers there);
     3. in the whole arena again, followed by what else a device needs: an
        overflow value, deletes, digby_check, and a "reboot" (close and
        reopen) that finds the data, and the same checks again.
   It prints the figures and PASS or FAIL, and stops with status 0 or 1.

   Build: see the Makefile (arm-none-eabi-gcc, Cortex-M4, newlib-nano) or
   build main.c arena.c ramvfs.c board_host.c with any C99 compiler. */
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void *fw_no_heap(size_t n);

#define DIGBY_NO_POSIX
#define DIGBY_NO_THREADS
/* No lz4 or mbedTLS on the device: nothing compressed or encrypted; large
   keys hash with digby's portable SHA-256. */
#define DIGBY_NO_LZ4
#define DIGBY_NO_CRYPTO
#define DIGBY_MALLOC(n) fw_no_heap(n)
#define DIGBY_REALLOC(p, n) ((void)(p), fw_no_heap(n))
#define DIGBY_FREE(p) ((void)(p))
#define DIGBY_IMPLEMENTATION
#include "digby.h"

#include "arena.h"
#include "board.h"
#include "ramvfs.h"

#ifndef FW_ARENA_BYTES
#define FW_ARENA_BYTES (96 * 1024)  /* the heap the library may use */
#endif
#ifndef FW_STORAGE_BYTES
#define FW_STORAGE_BYTES (96 * 1024) /* the database's RAM block */
#endif
#define FW_RECORDS 1000u

static uint64_t arena_mem[FW_ARENA_BYTES / 8];
static uint64_t storage_mem[FW_STORAGE_BYTES / 8];
static fw_arena arena;
static fw_ramvfs ram;
static int failures;
static int quiet;  /* during the bisection: failures are expected */
static size_t reopen_peak;

static void *fw_no_heap(size_t n)
{
    (void)n;
    return NULL;
}

static void say(const char *fmt, ...)
{
    char line[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fw_puts(line);
}

static int ok(int rc, const char *what)
{
    if (rc != DIGBY_OK) {
        if (!quiet) say("FAIL: %s: %s\n", what, digby_strerror(rc));
        failures++;
    }
    return rc == DIGBY_OK;
}

static void expect(int cond, const char *what)
{
    if (!cond) {
        if (!quiet) say("FAIL: %s\n", what);
        failures++;
    }
}

/* Record i: key "sensor/0042", value 16 bytes (id, reading, sequence). */
static size_t record_key(char *key, unsigned i)
{
    return (size_t)snprintf(key, 16, "sensor/%04u", i);
}

static void record_value(uint8_t *v, unsigned i)
{
    uint32_t reading = 20000u + (i * 37u) % 1000u, seq = i * 7u;
    unsigned j;
    for (j = 0; j < 4; j++) {
        v[j] = (uint8_t)(i >> (8 * j));
        v[4 + j] = (uint8_t)(reading >> (8 * j));
        v[8 + j] = (uint8_t)(seq >> (8 * j));
        v[12 + j] = (uint8_t)(0xA5u ^ j ^ i);
    }
}

static digby_options options(void)
{
    digby_options o;
    memset(&o, 0, sizeof(o));
    o.page_size = 512;            /* the smallest page */
    o.cache_bytes = 16 * 512;     /* the smallest cache: 16 pages */
    o.max_readers = 1;            /* one snapshot at a time */
    o.vfs = &ram.vfs;
    o.allocator.malloc_fn = fw_arena_malloc;
    o.allocator.realloc_fn = fw_arena_realloc;
    o.allocator.free_fn = fw_arena_free;
    o.allocator.ctx = &arena;
    return o;
}

/* The measured workload: open, 1,000 puts, 1,000 gets, one scan. */
static digby_db *workload(void)
{
    digby_options o = options();
    digby_db *db;
    digby_txn *txn;
    digby_cursor *cur;
    char key[16], prev[16];
    uint8_t val[16];
    unsigned i, n = 0;
    int rc;
    if (!ok(digby_open("sensors.digby", &o, &db), "open")) return NULL;
    for (i = 0; i < FW_RECORDS && !failures; i++) {
        record_value(val, i);
        ok(digby_put(db, key, record_key(key, i), val, sizeof(val)), "put");
    }
    for (i = 0; i < FW_RECORDS && !failures; i++) {
        void *got = NULL;
        size_t got_bytes = 0;
        if (ok(digby_get(db, key, record_key(key, i), &got, &got_bytes, NULL), "get")) {
            record_value(val, i);
            expect(got_bytes == sizeof(val) && memcmp(got, val, sizeof(val)) == 0,
                   "get: the value read back differs");
        }
        digby_free(db, got);
    }
    if (ok(digby_txn_begin(db, DIGBY_TXN_READONLY, &txn), "begin")) {
        if (ok(digby_cursor_open(txn, NULL, &cur), "cursor")) {
            for (rc = digby_cursor_first(cur); rc == DIGBY_OK; rc = digby_cursor_next(cur)) {
                const void *k;
                size_t kn;
                ok(digby_cursor_get(cur, &k, &kn, NULL, NULL, NULL), "cursor get");
                expect(kn == 11 && (n == 0 || memcmp(prev, k, kn) < 0), "scan order");
                memcpy(prev, k, kn < sizeof(prev) ? kn : sizeof(prev));
                n++;
            }
            expect(rc == DIGBY_NOTFOUND && n == FW_RECORDS, "scan: count");
            digby_cursor_close(cur);
        }
        digby_txn_abort(txn);
    }
    return db;
}

/* The rest a device needs; not part of the measurement. */
static void more(digby_db *db)
{
    static uint8_t blob[2000], back[2000];
    digby_options o = options();
    digby_check_report rep;
    digby_stats st;
    char key[16];
    void *got = NULL;
    size_t got_bytes = 0;
    unsigned i;
    for (i = 0; i < sizeof(blob); i++) blob[i] = (uint8_t)(i * 131u + 7u);
    ok(digby_put(db, "config/blob", 11, blob, sizeof(blob)), "put overflow value");
    if (ok(digby_get(db, "config/blob", 11, &got, &got_bytes, NULL), "get overflow value")) {
        memcpy(back, got, got_bytes < sizeof(back) ? got_bytes : sizeof(back));
        expect(got_bytes == sizeof(blob) && memcmp(back, blob, sizeof(blob)) == 0,
               "overflow value differs");
    }
    digby_free(db, got);
    for (i = 0; i < FW_RECORDS; i += 10)
        ok(digby_delete(db, key, record_key(key, i)), "delete");
    ok(digby_check(db, &rep), "check");
    ok(digby_close(db), "close");
    expect(arena.in_use == 0, "close left memory allocated");
    /* reboot: the RAM block keeps the file */
    o.flags = DIGBY_OPEN_NO_CREATE;
    fw_arena_reset_peak(&arena);
    if (ok(digby_open("sensors.digby", &o, &db), "reopen")) {
        reopen_peak = arena.peak;
        if (ok(digby_stat(db, &st), "stat"))
            expect(st.entries == FW_RECORDS - FW_RECORDS / 10 + 1, "entries after reopen");
        ok(digby_check(db, &rep), "check after reopen");
        ok(digby_close(db), "close");
    }
    expect(arena.in_use == 0, "close left memory allocated");
}

/* Run the workload in the first `arena_bytes` of the arena, on a fresh
   RAM file.  Returns the database, open, or NULL. */
static digby_db *fresh_run(size_t arena_bytes)
{
    failures = 0;
    fw_arena_init(&arena, arena_mem, arena_bytes);
    fw_ramvfs_init(&ram, storage_mem, sizeof(storage_mem));
    return workload();
}

/* Does the workload (open to close) succeed in an arena of this size? */
static int fits(size_t arena_bytes)
{
    digby_db *db = fresh_run(arena_bytes);
    if (db && digby_close(db) != DIGBY_OK) failures++;
    return failures == 0;
}

int main(void)
{
    digby_db *db;
    size_t lo = 1024, hi = sizeof(arena_mem), peak, high;
    say("%s, %u-bit, arena %u bytes\n", digby_version(), (unsigned)(sizeof(void *) * 8),
        (unsigned)sizeof(arena_mem));
    /* 1: plenty of memory */
    if (!fits(sizeof(arena_mem))) {
        say("FAIL: the workload does not run in the whole arena\n");
        return 1;
    }
    say("footprint: open + %u puts + gets + scan, 512-byte pages, 16-page cache: "
        "heap peak %u bytes (arena high-water %u), file %u bytes\n",
        FW_RECORDS, (unsigned)arena.peak, (unsigned)arena.high_water, (unsigned)ram.size);
    /* 2: the smallest arena, to 64 bytes */
    quiet = 1;
    while (hi - lo > 64) {
        size_t mid = (lo + (hi - lo) / 2) & ~(size_t)7;
        if (fits(mid)) hi = mid;
        else lo = mid;
    }
    quiet = 0;
    fits(hi);
    peak = arena.peak;
    high = arena.high_water;
    say("footprint: smallest arena that runs it: %u bytes (heap peak there %u bytes, "
        "%lu requests refused)\n", (unsigned)hi, (unsigned)peak, arena.failures);
    (void)high;
    /* 3: the rest */
    db = fresh_run(sizeof(arena_mem));
    if (db) more(db);
    say("reopen: heap peak during digby_open %u bytes\n", (unsigned)reopen_peak);
    say("%s\n", failures ? "FAIL" : "PASS");
    return failures != 0;
}
