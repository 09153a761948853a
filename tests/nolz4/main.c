/* nolz4: a build with DIGBY_NO_LZ4 and DIGBY_NO_CRYPTO (this file) reads a
   file that the full build (writer.c, linked into the same program: both
   use DIGBY_STATIC) wrote with compressed items and large keys.

   It opens the file and reads every item that is not compressed; a
   compressed value or key is DIGBY_NOFEATURE, and asking for compression
   is too.  Large keys are found through their hash, computed here by the
   portable SHA-256 and there by mbedTLS: the two must agree, and
   digby_check recomputes every large key's hash.  Compressed items can
   still be deleted (freeing them reads no chunk).

   Built by its own Makefile rule (make test runs it with large_items). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define DIGBY_NO_LZ4
#define DIGBY_NO_CRYPTO
#define DIGBY_STATIC
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "nolz4.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../sha256_vectors.h" /* FIPS 180-4 vectors, shared with tests/large_items.c */

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

static void make_path(char *buf, size_t n)
{
    const char *dir = getenv("DIGBY_TEST_DIR");
    if (!dir || !*dir) dir = "/tmp";
    snprintf(buf, n, "%s/digby_nolz4_%ld.db", dir, (long)getpid());
    unlink(buf);
}

static void test_no_compression_here(void **state)
{
    char path[512];
    digby_options o;
    digby_db *db;
    digby_txn *w;
    digby_blob *b;
    (void)state;
    assert_null(strstr(digby_version(), "lz4"));
    make_path(path, sizeof(path));
    memset(&o, 0, sizeof(o));
    o.compression = DIGBY_COMPRESS_LZ4;
    ASSERT_RC(digby_open(path, &o, &db), DIGBY_NOFEATURE);
    o.compression = 0;
    ASSERT_OK(digby_open(path, &o, &db));
    ASSERT_OK(digby_txn_begin(db, 0, &w));
    ASSERT_RC(digby_txn_put(w, NULL, "k", 1, "v", 1, DIGBY_PUT_COMPRESS), DIGBY_NOFEATURE);
    ASSERT_RC(digby_txn_put_begin(w, NULL, "k", 1, 10, DIGBY_PUT_COMPRESS, &b), DIGBY_NOFEATURE);
    ASSERT_OK(digby_txn_put(w, NULL, "k", 1, "v", 1, DIGBY_PUT_NO_COMPRESS)); /* not poisoned */
    ASSERT_OK(digby_txn_commit(w));
    ASSERT_OK(digby_check(db, NULL));
    ASSERT_OK(digby_close(db));
    unlink(path);
}

static void test_portable_sha256(void **state)
{
    (void)state;
    check_sha256_short_vectors();
}

static void test_reads_the_full_builds_file(void **state)
{
    char path[512];
    digby_db *db;
    digby_txn *r, *w;
    digby_cursor *c;
    unsigned char *k = (unsigned char *)malloc(30000), buf[64];
    const void *v;
    size_t vn, got, i;
    uint64_t total;
    int rc, seen = 0, refused = 0;
    (void)state;
    assert_non_null(k);
    make_path(path, sizeof(path));
    ASSERT_OK(nolz4_write(path));
    ASSERT_OK(digby_open(path, NULL, &db));
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_txn_get(r, NULL, "plain", 5, &v, &vn, NULL));
    assert_true(vn == 5 && memcmp(v, "value", 5) == 0);
    ASSERT_OK(digby_txn_get(r, NULL, "raw", 3, &v, &vn, NULL));
    assert_int_equal(vn, NOLZ4_RAW_BYTES);
    for (i = 0; i < vn; i++) assert_int_equal(((const unsigned char *)v)[i], nolz4_byte(i));
    /* the compressed value: refused, whole or in part */
    ASSERT_RC(digby_txn_get(r, NULL, "lz4", 3, &v, &vn, NULL), DIGBY_NOFEATURE);
    ASSERT_RC(digby_txn_get_range(r, NULL, "lz4", 3, 10, buf, 10, &got, &total), DIGBY_NOFEATURE);
    /* large keys, found by their hash (and whole-key comparisons) */
    for (i = 0; i < NOLZ4_NBIG; i++) {
        nolz4_key(k, 2000 + 100 * i, (unsigned)i);
        ASSERT_OK(digby_txn_get(r, NULL, k, 2000 + 100 * i, &v, &vn, NULL));
        assert_true(vn == sizeof(unsigned) && memcmp(v, &i, vn) == 0);
    }
    /* the compressed large key: equal hashes find it without its bytes
       (so the two SHA-256s agree) */
    nolz4_key(k, NOLZ4_CKEY_BYTES, 200);
    memset(k, 'M', NOLZ4_CKEY_BYTES - 1);
    ASSERT_OK(digby_txn_get(r, NULL, k, NOLZ4_CKEY_BYTES, &v, &vn, NULL));
    assert_true(vn == 2 && memcmp(v, "ck", 2) == 0);
    /* a scan: every key but the compressed one */
    ASSERT_OK(digby_cursor_open(r, NULL, &c));
    for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
        const void *kp;
        size_t kn;
        rc = digby_cursor_get(c, &kp, &kn, NULL, NULL, NULL);
        if (rc == DIGBY_NOFEATURE) refused++;
        else ASSERT_OK(rc);
        seen++;
    }
    ASSERT_RC(rc, DIGBY_NOTFOUND);
    assert_int_equal(seen, 4 + NOLZ4_NBIG);
    assert_int_equal(refused, 1);
    digby_cursor_close(c);
    digby_txn_abort(r);
    /* compressed items can be deleted: then digby_check, which hashes every
       large key with this build's SHA-256, is clean */
    ASSERT_OK(digby_txn_begin(db, 0, &w));
    ASSERT_OK(digby_txn_delete(w, NULL, "lz4", 3));
    ASSERT_OK(digby_txn_delete(w, NULL, k, NOLZ4_CKEY_BYTES));
    ASSERT_OK(digby_txn_commit(w));
    ASSERT_OK(digby_check(db, NULL));
    ASSERT_OK(digby_close(db));
    unlink(path);
    /* in log mode too: a delete there looks its key up, and must not read
       the value (it once did, and got DIGBY_NOFEATURE) */
    ASSERT_OK(nolz4_write(path));
    {
        digby_options lo;
        memset(&lo, 0, sizeof(lo));
        lo.flags = DIGBY_OPEN_LOG;
        ASSERT_OK(digby_open(path, &lo, &db));
    }
    ASSERT_OK(digby_txn_begin(db, 0, &w));
    ASSERT_OK(digby_txn_delete(w, NULL, "lz4", 3));
    ASSERT_RC(digby_txn_put(w, NULL, "raw", 3, "x", 1, DIGBY_PUT_NOOVERWRITE), DIGBY_EXISTS);
    ASSERT_OK(digby_txn_commit(w));
    ASSERT_OK(digby_delete(db, k, NOLZ4_CKEY_BYTES)); /* a large key: in the tree */
    ASSERT_RC(digby_txn_begin(db, DIGBY_TXN_READONLY, &r), DIGBY_OK);
    ASSERT_RC(digby_txn_get(r, NULL, "lz4", 3, &v, &vn, NULL), DIGBY_NOTFOUND);
    digby_txn_abort(r);
    ASSERT_OK(digby_checkpoint(db)); /* frees its pages, reading no chunk */
    ASSERT_OK(digby_check(db, NULL));
    ASSERT_OK(digby_close(db));
    unlink(path);
    free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_compression_here),
        cmocka_unit_test(test_portable_sha256),
        cmocka_unit_test(test_reads_the_full_builds_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
