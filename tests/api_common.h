/* tests/api_common.h -- what the api_* programs (api_kv.c, api_pages.c,
   api_tables.c, api_cursor.c, api_lifecycle.c: the black-box tests of the
   public API on well-formed input, once tests/api_basic.c) share beyond
   tests/harness.h: deterministic values, the fixture's teardown with
   check_thorough, opening with options, reopening.

   In every api_* program files go to $DIGBY_TEST_DIR (default /tmp), and
   every test that opens a database runs digby_check() clean
   (check_thorough) before it closes it.

   It is each program's prelude: define TEST_NAME (see harness.h), then
   include it first; it includes digby.h with the implementation. */
#ifndef DIGBY_TESTS_API_COMMON_H
#define DIGBY_TESTS_API_COMMON_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "harness.h"

#include <sys/stat.h>

/* ---- values ------------------------------------------------------------- */

/* Deterministic bytes for a (seed, length) value; verify with val_ok. */
TEST_UNUSED static unsigned char val_byte(uint32_t seed, size_t j)
{
    uint32_t x = seed * 2654435761u + (uint32_t)j * 40503u + (uint32_t)(j >> 9);
    x ^= x >> 13;
    return (unsigned char)(x * 97u >> 3);
}

TEST_UNUSED static unsigned char *make_val(uint32_t seed, size_t n)
{
    unsigned char *v = (unsigned char *)malloc(n ? n : 1);
    size_t j;
    assert_non_null(v);
    for (j = 0; j < n; j++) v[j] = val_byte(seed, j);
    return v;
}

TEST_UNUSED static int val_ok(uint32_t seed, const void *p, size_t n)
{
    const unsigned char *v = (const unsigned char *)p;
    size_t j;
    for (j = 0; j < n; j++)
        if (v[j] != val_byte(seed, j)) return 0;
    return 1;
}

TEST_UNUSED static uint64_t get_version(digby_db *db, const void *key, size_t key_bytes)
{
    void *v = NULL;
    size_t vn = 0;
    uint64_t ver = 0;
    ASSERT_OK(digby_get(db, key, key_bytes, &v, &vn, &ver));
    digby_free(db, v);
    return ver;
}

/* The table `name`, opened in txn (it must exist), holds `want` entries;
   returns its handle. */
TEST_UNUSED static digby_table *expect_table_count(digby_txn *txn, const char *name,
                                                   uint64_t want)
{
    digby_table *t = NULL;
    uint64_t n = (uint64_t)-1;
    ASSERT_OK(digby_table_open(txn, name, 0, &t));
    ASSERT_OK(digby_table_count(txn, t, &n));
    assert_int_equal(n, want);
    return t;
}

/* ---- the fixture (tests/harness.h), checked with check_thorough ------------ */

TEST_UNUSED static int teardown(void **state) { return fixture_teardown(state, check_thorough); }

TEST_UNUSED static void open_with(fixture *f, uint32_t page_size, uint32_t flags)
{
    digby_options o;
    memset(&o, 0, sizeof(o));
    o.page_size = page_size;
    o.flags = flags;
    f->db = (digby_db *)&o; /* must be overwritten */
    ASSERT_OK(digby_open(f->path, &o, &f->db));
    assert_non_null(f->db);
}

TEST_UNUSED static void reopen(fixture *f)
{
    check_thorough(f->db);
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    check_thorough(f->db);
}

#endif /* DIGBY_TESTS_API_COMMON_H */
