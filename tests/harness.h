/* tests/harness.h -- what the cmocka test programs share (tests/api_*.c,
   large_items.c, crypto.c, threads.c).

   Include it after digby.h (which the program includes with
   DIGBY_IMPLEMENTATION), having defined TEST_NAME, the program's name:
   its files are $DIGBY_TEST_DIR/digby_TEST_NAME_<pid>_<n>_<tag>.db.

       #define DIGBY_IMPLEMENTATION
       #include "digby.h"
       #define TEST_NAME "api_kv"
       #include "harness.h"

   A program may define TEST_RC_NAMES, more case labels for rc_name (crypto.c
   names its own code for wrong data), before it includes this file.

   Environment:
     DIGBY_TEST_DIR    where files go (default /tmp)
     DIGBY_TEST_SCALE  multiplies the heavier tests' loops (default 1; each
                       program says how it reads it)

   Everything here is static and marked unused-safe: a program uses what it
   needs (the tests build with -Wall -Wextra -Werror). */
#ifndef DIGBY_TESTS_HARNESS_H
#define DIGBY_TESTS_HARNESS_H

#ifndef TEST_NAME
#error "define TEST_NAME (the program's name) before including tests/harness.h"
#endif

#include "digby.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__GNUC__) || defined(__clang__)
#define TEST_UNUSED __attribute__((unused))
#else
#define TEST_UNUSED
#endif

/* ---- result codes ------------------------------------------------------- */

#ifndef TEST_RC_NAMES
#define TEST_RC_NAMES
#endif

/* The name of a result code, for failure messages. */
TEST_UNUSED static const char *rc_name(int rc)
{
    switch (rc) {
#define RC_CASE(name, value, text) case value: return #name;
        DIGBY__ERRORS(RC_CASE)
#undef RC_CASE
    TEST_RC_NAMES
    default: return "(not a digby code)";
    }
}

#define ASSERT_RC(expr, want)                                                 \
    do {                                                                      \
        int rc_ = (expr), want_ = (want);                                     \
        if (rc_ != want_) {                                                   \
            print_error("%s:%d: %s\n    returned %s (%d), expected %s (%d)\n", \
                        __FILE__, __LINE__, #expr, rc_name(rc_), rc_,         \
                        rc_name(want_), want_);                               \
            fail();                                                           \
        }                                                                     \
    } while (0)
#define ASSERT_OK(expr) ASSERT_RC(expr, DIGBY_OK)

/* rc must be one of two codes. */
#define ASSERT_RC2(expr, a, b)                                                \
    do {                                                                      \
        int rc_ = (expr);                                                     \
        if (rc_ != (a) && rc_ != (b)) {                                       \
            print_error("%s:%d: %s\n    returned %s (%d), expected %s or %s\n", \
                        __FILE__, __LINE__, #expr, rc_name(rc_), rc_,         \
                        rc_name(a), rc_name(b));                              \
            fail();                                                           \
        }                                                                     \
    } while (0)

/* A string literal as (pointer, length). */
#define S(lit) (lit), (sizeof(lit) - 1)

/* ---- environment -------------------------------------------------------- */

/* $DIGBY_TEST_DIR, or /tmp when unset or empty. */
TEST_UNUSED static const char *test_dir(void)
{
    const char *dir = getenv("DIGBY_TEST_DIR");
    return dir && *dir ? dir : "/tmp";
}

static unsigned g_file_seq;

/* A fresh, unique file name under $DIGBY_TEST_DIR; any old file removed. */
TEST_UNUSED static void make_path(char *buf, size_t n, const char *tag)
{
    snprintf(buf, n, "%s/digby_" TEST_NAME "_%ld_%u_%s.db", test_dir(), (long)getpid(),
             g_file_seq++, tag);
    unlink(buf);
}

/* $DIGBY_TEST_SCALE as a number; 1 when unset or not above 0. */
TEST_UNUSED static double test_scale(void)
{
    const char *s = getenv("DIGBY_TEST_SCALE");
    double v = s ? atof(s) : 1.0;
    return v > 0 ? v : 1.0;
}

/* The scale as a whole multiplier: its integer part, at least 1. */
TEST_UNUSED static long test_scale_whole(void)
{
    double v = test_scale();
    return v < 1 ? 1 : v > 1e9 ? 1000000000L : (long)v;
}

/* The scale, at most max (a program that only shrinks its runs). */
TEST_UNUSED static double test_scale_capped(double max)
{
    double v = test_scale();
    return v < max ? v : max;
}

/* ---- small helpers ------------------------------------------------------ */

TEST_UNUSED static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    assert_non_null(p);
    return p;
}

/* Byte order of keys (memcmp, then the shorter first): -1, 0 or 1. */
TEST_UNUSED static int keycmp(const void *a, size_t an, const void *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    if (c) return c < 0 ? -1 : 1;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

/* "key%07u" */
TEST_UNUSED static size_t num_key(char *buf, unsigned i)
{
    return (size_t)sprintf(buf, "key%07u", i);
}

/* ---- checks --------------------------------------------------------------- */

/* digby_check must return DIGBY_OK (the report is printed when not).  r may
   be NULL; it is filled with 0x5a bytes first, so that a field the check
   leaves alone shows. */
TEST_UNUSED static void check_passes_r(digby_db *db, digby_check_report *r)
{
    digby_check_report local;
    int rc;
    if (!r) r = &local;
    memset(r, 0x5a, sizeof(*r));
    rc = digby_check(db, r);
    if (rc != DIGBY_OK)
        print_error("digby_check: %s: bad_pgno %llu: %.199s\n", rc_name(rc),
                    (unsigned long long)r->bad_pgno, r->message);
    ASSERT_OK(rc);
}

TEST_UNUSED static void check_passes(digby_db *db) { check_passes_r(db, NULL); }

/* digby_check must come back clean: DIGBY_OK, no page named, no message.
   r may be NULL. */
TEST_UNUSED static void check_clean_r(digby_db *db, digby_check_report *r)
{
    digby_check_report local;
    if (!r) r = &local;
    check_passes_r(db, r);
    assert_int_equal(r->bad_pgno, 0);
    assert_int_equal(r->message[0], '\0');
}

TEST_UNUSED static void check_clean(digby_db *db) { check_clean_r(db, NULL); }

/* check_clean, and more of what a clean check promises: digby_check with no
   report agrees, and it visited at least every tree page and at most the
   whole file. */
TEST_UNUSED static void check_thorough(digby_db *db)
{
    digby_check_report r;
    digby_stats st;
    check_clean_r(db, &r);
    ASSERT_OK(digby_check(db, NULL));
    ASSERT_OK(digby_stat(db, &st));
    assert_true(r.pages_checked >= st.branch_pages + st.leaf_pages + st.overflow_pages);
    assert_true(r.pages_checked <= st.page_count);
}

TEST_UNUSED static void get_stat(digby_db *db, digby_stats *st)
{
    memset(st, 0xa5, sizeof(*st));
    ASSERT_OK(digby_stat(db, st));
}

/* digby_get must give exactly want/want_bytes. */
TEST_UNUSED static void expect_get(digby_db *db, const void *key, size_t key_bytes,
                                   const void *want, size_t want_bytes)
{
    void *v = NULL;
    size_t vn = (size_t)-1;
    ASSERT_OK(digby_get(db, key, key_bytes, &v, &vn, NULL));
    assert_non_null(v);
    assert_int_equal(vn, want_bytes);
    if (want_bytes) assert_memory_equal(v, want, want_bytes);
    digby_free(db, v);
}

TEST_UNUSED static void expect_missing(digby_db *db, const void *key, size_t key_bytes)
{
    void *v = NULL;
    size_t vn = 0;
    ASSERT_RC(digby_get(db, key, key_bytes, &v, &vn, NULL), DIGBY_NOTFOUND);
}

/* ---- the fixture: a file name per test, the database checked and closed -- */

typedef struct fixture {
    char path[512];
    digby_db *db;
} fixture;

TEST_UNUSED static int setup(void **state)
{
    fixture *f = (fixture *)calloc(1, sizeof(*f));
    if (!f) return -1;
    make_path(f->path, sizeof(f->path), "t");
    *state = f;
    return 0;
}

/* The file is unlinked first (the open handle keeps working), so that it
   goes even when the check or the close fails.  check: the program's
   digby_check (check_clean, or a stricter one). */
TEST_UNUSED static int fixture_teardown(void **state, void (*check)(digby_db *))
{
    fixture *f = (fixture *)*state;
    digby_db *db = f->db;
    unlink(f->path);
    free(f);
    *state = NULL;
    if (db) {
        check(db);
        ASSERT_OK(digby_close(db));
    }
    return 0;
}

/* ---- test VFSs, allocators, cursors -------------------------------------- */

/* A test VFS's table: version, ctx, and its eight functions named
   prefix_open, prefix_read, prefix_write, prefix_sync, prefix_size,
   prefix_truncate, prefix_lock, prefix_close (no map: digby reads through
   its cache).  vfs is a digby_vfs lvalue. */
#define TEST_VFS_INIT(vfs, ctx_, prefix)                                      \
    do {                                                                      \
        (vfs).version = DIGBY_VFS_VERSION;                                    \
        (vfs).ctx = (ctx_);                                                   \
        (vfs).open = prefix##_open;                                           \
        (vfs).read = prefix##_read;                                           \
        (vfs).write = prefix##_write;                                         \
        (vfs).sync = prefix##_sync;                                           \
        (vfs).size = prefix##_size;                                           \
        (vfs).truncate = prefix##_truncate;                                   \
        (vfs).lock = prefix##_lock;                                           \
        (vfs).close = prefix##_close;                                         \
    } while (0)

/* An allocator that counts its calls and live blocks, and can fail the
   fail_at-th call to malloc_fn or realloc_fn (and, when persistent, every
   call after it). */
typedef struct test_alloc {
    long calls;      /* calls to malloc_fn and realloc_fn */
    long fail_at;    /* the fail_at-th call fails; 0 never */
    int persistent;  /* and every call after it */
    long live;       /* blocks allocated and not yet freed */
    long failed;     /* calls made to fail */
} test_alloc;

TEST_UNUSED static int test_alloc_should_fail(test_alloc *a)
{
    a->calls++;
    if (a->fail_at && (a->calls == a->fail_at || (a->persistent && a->calls > a->fail_at))) {
        a->failed++;
        return 1;
    }
    return 0;
}

TEST_UNUSED static void *test_alloc_malloc(void *ctx, size_t n)
{
    test_alloc *a = (test_alloc *)ctx;
    void *p;
    if (test_alloc_should_fail(a)) return NULL;
    p = malloc(n ? n : 1);
    if (p) a->live++;
    return p;
}

TEST_UNUSED static void *test_alloc_realloc(void *ctx, void *ptr, size_t n)
{
    test_alloc *a = (test_alloc *)ctx;
    void *p;
    if (test_alloc_should_fail(a)) return NULL;
    p = realloc(ptr, n ? n : 1);
    if (p && !ptr) a->live++;
    return p;
}

TEST_UNUSED static void test_alloc_free(void *ctx, void *ptr)
{
    test_alloc *a = (test_alloc *)ctx;
    if (ptr) a->live--;
    free(ptr);
}

/* *a zeroed, set to fail as said (fail_at 0: never), and an allocator on it. */
TEST_UNUSED static digby_allocator test_alloc_init(test_alloc *a, long fail_at, int persistent)
{
    digby_allocator al;
    memset(a, 0, sizeof(*a));
    a->fail_at = fail_at;
    a->persistent = persistent;
    al.malloc_fn = test_alloc_malloc;
    al.realloc_fn = test_alloc_realloc;
    al.free_fn = test_alloc_free;
    al.ctx = a;
    return al;
}

/* A read-only transaction (*r) and a cursor on its global tree. */
TEST_UNUSED static digby_cursor *read_cursor(digby_db *db, digby_txn **r)
{
    digby_cursor *c = NULL;
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, r));
    ASSERT_OK(digby_cursor_open(*r, NULL, &c));
    return c;
}

/* Closes read_cursor's cursor and ends its transaction. */
TEST_UNUSED static void read_cursor_end(digby_cursor *c, digby_txn *r)
{
    digby_cursor_close(c);
    digby_txn_abort(r);
}

/* TEST_LOG_MODE: 1 when digby_open with neither DIGBY_OPEN_LOG nor
   DIGBY_OPEN_NO_LOG opens in log mode (DIGBY_LOG_DEFAULT), 0 when it opens
   in copy-on-write mode.  A check that holds in one mode only (page counts,
   txids, which commit open falls back to) tests `if (TEST_LOG_MODE)` and
   says what the other mode does instead. */
#ifdef DIGBY_LOG_DEFAULT
#define TEST_LOG_MODE 1
#else
#define TEST_LOG_MODE 0
#endif

/* A snapshot's id against the last commit the test made: equal, but in log
   mode checkpoints are commits of their own, so the id may be larger. */
#define SNAP_ID_OK(id, last) (TEST_LOG_MODE ? (id) >= (last) : (id) == (last))

#endif /* DIGBY_TESTS_HARNESS_H */
