/* nolog: a build with DIGBY_NO_LOG (this file: no log, no memtable, no
   merged cursors) beside the full build (writer.c, linked into the same
   program: both use DIGBY_STATIC), which writes files in log mode.

   Here DIGBY_OPEN_LOG is DIGBY_NOFEATURE and digby_version() does not say
   "log"; copy-on-write mode works, and digby_checkpoint and digby_sync
   have nothing to do.  A file whose meta page names a live log (a copy
   of the file of a log-mode handle still open, as a crash leaves it) is
   DIGBY_NOFEATURE, read-write and read-only, and stays as it was: the full
   build then replays its log.  A file a log-mode handle closed cleanly has
   no log and opens here, and back in log mode.

   Built by its own Makefile rule (make test runs it with api_lifecycle). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define DIGBY_NO_LOG
#define DIGBY_STATIC
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "nolog.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ASSERT_RC(expr, want)                                                   \
    do {                                                                        \
        int rc_ = (expr), want_ = (want);                                       \
        if (rc_ != want_) {                                                     \
            print_error("%s:%d: %s\n    returned %d (%s), expected %d (%s)\n",  \
                        __FILE__, __LINE__, #expr, rc_, digby_strerror(rc_),    \
                        want_, digby_strerror(want_));                          \
            fail();                                                             \
        }                                                                       \
    } while (0)
#define ASSERT_OK(expr) ASSERT_RC(expr, DIGBY_OK)

static void make_path(char *buf, size_t n, const char *tag)
{
    const char *dir = getenv("DIGBY_TEST_DIR");
    if (!dir || !*dir) dir = "/tmp";
    snprintf(buf, n, "%s/digby_nolog_%ld_%s.db", dir, (long)getpid(), tag);
    unlink(buf);
}

/* The whole file at path (malloc'd), its length in *n. */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    long len;
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    len = ftell(f);
    assert_true(len > 0);
    rewind(f);
    b = (unsigned char *)malloc((size_t)len);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static void spill(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void expect_keys(digby_db *db, unsigned n)
{
    unsigned i;
    char k[16];
    for (i = 0; i < n; i++) {
        void *v;
        size_t vn;
        sprintf(k, "k%05u", i);
        ASSERT_OK(digby_get(db, k, 6, &v, &vn, NULL));
        assert_int_equal(vn, 6);
        assert_memory_equal(v, k, 6);
        digby_free(db, v);
    }
}

static void test_no_log_mode_here(void **state)
{
    char path[512];
    digby_options o;
    digby_db *db;
    digby_stats st;
    (void)state;
    assert_null(strstr(digby_version(), " log"));
    make_path(path, sizeof(path), "here");
    memset(&o, 0, sizeof(o));
    o.flags = DIGBY_OPEN_LOG;
    db = (digby_db *)&o;
    ASSERT_RC(digby_open(path, &o, &db), DIGBY_NOFEATURE);
    assert_null(db);
    o.flags = DIGBY_OPEN_LOG | DIGBY_OPEN_READONLY;
    ASSERT_RC(digby_open(path, &o, &db), DIGBY_NOFEATURE);
    /* copy-on-write mode, asked for or not */
    o.flags = DIGBY_OPEN_NO_LOG;
    ASSERT_OK(digby_open(path, &o, &db));
    ASSERT_OK(digby_put(db, "a", 1, "1", 1));
    ASSERT_OK(digby_close(db));
    ASSERT_OK(digby_open(path, NULL, &db));
    ASSERT_OK(digby_put(db, "b", 1, "2", 1));
    ASSERT_OK(digby_checkpoint(db)); /* nothing to merge */
    ASSERT_OK(digby_sync(db));
    ASSERT_RC(digby_checkpoint(NULL), DIGBY_INVALID);
    ASSERT_RC(digby_sync(NULL), DIGBY_INVALID);
    ASSERT_OK(digby_stat(db, &st));
    assert_int_equal(st.entries, 2);
    assert_int_equal(st.log_pages, 0);
    assert_int_equal(st.memtable_entries, 0);
    assert_int_equal(st.checkpoints, 0);
    ASSERT_OK(digby_check(db, NULL));
    ASSERT_OK(digby_close(db));
    o.flags = DIGBY_OPEN_READONLY;
    ASSERT_OK(digby_open(path, &o, &db));
    ASSERT_RC(digby_checkpoint(db), DIGBY_READONLY);
    ASSERT_OK(digby_close(db));
    unlink(path);
}

static void test_log_files(void **state)
{
    char path[512], live[512];
    digby_options o;
    digby_db *db;
    void *h;
    unsigned char *img, *after;
    size_t n, n2;
    unsigned keys = 0, replayed = 0;
    (void)state;
    make_path(path, sizeof(path), "clean");
    make_path(live, sizeof(live), "live");
    h = nolog_write(path);
    assert_non_null(h);
    /* the file of a log-mode handle still open: its commits are in the log */
    img = slurp(path, &n);
    spill(live, img, n);
    ASSERT_OK(nolog_close(h));

    db = (digby_db *)&o;
    ASSERT_RC(digby_open(live, NULL, &db), DIGBY_NOFEATURE);
    assert_null(db);
    memset(&o, 0, sizeof(o));
    o.flags = DIGBY_OPEN_READONLY;
    ASSERT_RC(digby_open(live, &o, &db), DIGBY_NOFEATURE);
    o.flags = DIGBY_OPEN_NO_LOG;
    ASSERT_RC(digby_open(live, &o, &db), DIGBY_NOFEATURE);
    after = slurp(live, &n2);
    assert_int_equal(n2, n);
    assert_memory_equal(after, img, n); /* untouched */
    free(after);
    free(img);
    /* the full build replays it */
    ASSERT_OK(nolog_count(live, &keys, &replayed));
    assert_int_equal(keys, NOLOG_KEYS);
    assert_true(replayed > 0);

    /* closed cleanly: no log, it opens here and takes commits */
    ASSERT_OK(digby_open(path, NULL, &db));
    expect_keys(db, NOLOG_KEYS);
    ASSERT_OK(digby_put(db, "here", 4, "x", 1));
    ASSERT_OK(digby_check(db, NULL));
    ASSERT_OK(digby_close(db));
    ASSERT_OK(nolog_count(path, &keys, &replayed));
    assert_int_equal(keys, NOLOG_KEYS + 1);
    assert_int_equal(replayed, 0);
    unlink(path);
    unlink(live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_log_mode_here),
        cmocka_unit_test(test_log_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
