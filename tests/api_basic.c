/* api_basic: black-box behaviour of the public API on well-formed input.

   put/get/delete (auto-commit and in transactions), NOOVERWRITE, versions,
   empty keys and values, the largest key at three page sizes, overflow values
   and the reuse of their pages, leaf fill under sequential inserts, tables,
   cursors (positioning, seeks, scans, writes under an open cursor), abort,
   reopen, digby_stat, page sizes and the in-memory VFS.

   Files go to $DIGBY_TEST_DIR (default /tmp).  $DIGBY_TEST_SCALE (default 1)
   multiplies the loop counts of the heavier tests.  Every test that opens a
   database runs digby_check() clean before it closes it. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define DIGBY_IMPLEMENTATION
#include "digby.h"

#define TEST_NAME "api_basic"
#include "harness.h" /* rc_name, ASSERT_RC, make_path, check_thorough, the fixture */

#include <sys/stat.h>

/* ---- helpers ------------------------------------------------------------ */

/* Deterministic bytes for a (seed, length) value; verify with check_val. */
static unsigned char val_byte(uint32_t seed, size_t j)
{
    uint32_t x = seed * 2654435761u + (uint32_t)j * 40503u + (uint32_t)(j >> 9);
    x ^= x >> 13;
    return (unsigned char)(x * 97u >> 3);
}

static unsigned char *make_val(uint32_t seed, size_t n)
{
    unsigned char *v = (unsigned char *)malloc(n ? n : 1);
    size_t j;
    assert_non_null(v);
    for (j = 0; j < n; j++) v[j] = val_byte(seed, j);
    return v;
}

static int val_ok(uint32_t seed, const void *p, size_t n)
{
    const unsigned char *v = (const unsigned char *)p;
    size_t j;
    for (j = 0; j < n; j++)
        if (v[j] != val_byte(seed, j)) return 0;
    return 1;
}

static uint64_t get_version(digby_db *db, const void *key, size_t key_bytes)
{
    void *v = NULL;
    size_t vn = 0;
    uint64_t ver = 0;
    ASSERT_OK(digby_get(db, key, key_bytes, &v, &vn, &ver));
    digby_free(db, v);
    return ver;
}

/* ---- fixture (tests/harness.h) ------------------------------------------ */

static int teardown(void **state) { return fixture_teardown(state, check_thorough); }

static void open_with(fixture *f, uint32_t page_size, uint32_t flags)
{
    digby_options o;
    memset(&o, 0, sizeof(o));
    o.page_size = page_size;
    o.flags = flags;
    f->db = (digby_db *)&o; /* must be overwritten */
    ASSERT_OK(digby_open(f->path, &o, &f->db));
    assert_non_null(f->db);
}

static void reopen(fixture *f)
{
    check_thorough(f->db);
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    check_thorough(f->db);
}

/* ---- put / get / delete ---------------------------------------------------- */

static void test_autocommit_put_get_delete(void **state)
{
    fixture *f = (fixture *)*state;
    void *v;
    size_t vn;
    uint64_t ver1, ver2;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));

    expect_missing(f->db, S("hello"));
    ASSERT_OK(digby_put(f->db, S("hello"), S("world")));
    v = NULL;
    vn = 0;
    ver1 = 0;
    ASSERT_OK(digby_get(f->db, S("hello"), &v, &vn, &ver1));
    assert_non_null(v);
    assert_int_equal(vn, 5);
    assert_memory_equal(v, "world", 5);
    assert_true(ver1 > 0);
    digby_free(f->db, v);
    expect_get(f->db, S("hello"), S("world"));

    /* neighbours of the key are not it */
    expect_missing(f->db, S("hell"));
    expect_missing(f->db, S("hello!"));
    expect_missing(f->db, S("hellO"));
    expect_missing(f->db, S("Hello"));

    /* overwrite replaces value and version */
    ASSERT_OK(digby_put(f->db, S("hello"), S("there, world")));
    expect_get(f->db, S("hello"), S("there, world"));
    ver2 = get_version(f->db, S("hello"));
    assert_true(ver2 > ver1);

    /* binary keys: NUL and 0xff bytes are ordinary bytes */
    ASSERT_OK(digby_put(f->db, S("\0"), S("nul")));
    ASSERT_OK(digby_put(f->db, S("\0\0"), S("nulnul")));
    ASSERT_OK(digby_put(f->db, S("\xff"), S("ff")));
    ASSERT_OK(digby_put(f->db, S("a\0b"), S("a-nul-b")));
    ASSERT_OK(digby_put(f->db, S("a"), S("just a")));
    expect_get(f->db, S("\0"), S("nul"));
    expect_get(f->db, S("\0\0"), S("nulnul"));
    expect_get(f->db, S("\xff"), S("ff"));
    expect_get(f->db, S("a\0b"), S("a-nul-b"));
    expect_get(f->db, S("a"), S("just a"));
    expect_missing(f->db, S("a\0"));

    /* delete */
    ASSERT_OK(digby_delete(f->db, S("hello")));
    expect_missing(f->db, S("hello"));
    ASSERT_RC(digby_delete(f->db, S("hello")), DIGBY_NOTFOUND);
    ASSERT_RC(digby_delete(f->db, S("never-there")), DIGBY_NOTFOUND);
    expect_get(f->db, S("a"), S("just a"));

    /* put after delete */
    ASSERT_OK(digby_put(f->db, S("hello"), S("again")));
    expect_get(f->db, S("hello"), S("again"));
}

static void test_txn_put_get_delete(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w, *r;
    char k[32], want[32];
    const void *v;
    size_t vn, kn;
    unsigned i;
    uint64_t n;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));

    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    assert_non_null(w);
    for (i = 0; i < 50; i++) {
        kn = num_key(k, i);
        sprintf(want, "value-%u", i);
        ASSERT_OK(digby_txn_put(w, NULL, k, kn, want, strlen(want), 0));
    }
    /* the transaction sees its own writes */
    for (i = 0; i < 50; i++) {
        kn = num_key(k, i);
        sprintf(want, "value-%u", i);
        v = NULL;
        ASSERT_OK(digby_txn_get(w, NULL, k, kn, &v, &vn, NULL));
        assert_int_equal(vn, strlen(want));
        assert_memory_equal(v, want, vn);
    }
    for (i = 0; i < 50; i += 5) {
        kn = num_key(k, i);
        ASSERT_OK(digby_txn_delete(w, NULL, k, kn));
        ASSERT_RC(digby_txn_get(w, NULL, k, kn, &v, &vn, NULL), DIGBY_NOTFOUND);
        /* NOTFOUND is an answer, not a failure: it must not poison */
        ASSERT_RC(digby_txn_delete(w, NULL, k, kn), DIGBY_NOTFOUND);
    }
    ASSERT_OK(digby_table_count(w, NULL, &n));
    assert_int_equal(n, 40);

    /* a snapshot begun before the commit does not see it, before or after */
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    kn = num_key(k, 1);
    ASSERT_RC(digby_txn_get(r, NULL, k, kn, &v, &vn, NULL), DIGBY_NOTFOUND);
    ASSERT_OK(digby_txn_commit(w));
    ASSERT_RC(digby_txn_get(r, NULL, k, kn, &v, &vn, NULL), DIGBY_NOTFOUND);
    ASSERT_OK(digby_table_count(r, NULL, &n));
    assert_int_equal(n, 0);
    digby_txn_abort(r);

    /* a new snapshot sees all of it */
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    for (i = 0; i < 50; i++) {
        kn = num_key(k, i);
        sprintf(want, "value-%u", i);
        if (i % 5 == 0) {
            ASSERT_RC(digby_txn_get(r, NULL, k, kn, &v, &vn, NULL), DIGBY_NOTFOUND);
        } else {
            ASSERT_OK(digby_txn_get(r, NULL, k, kn, &v, &vn, NULL));
            assert_int_equal(vn, strlen(want));
            assert_memory_equal(v, want, vn);
            expect_get(f->db, k, kn, want, strlen(want));
        }
    }
    ASSERT_OK(digby_table_count(r, NULL, &n));
    assert_int_equal(n, 40);
    ASSERT_OK(digby_txn_commit(r)); /* a read-only commit just ends it */

    /* read-write transaction: delete and re-put the same key; overwrite */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    kn = num_key(k, 7);
    ASSERT_OK(digby_txn_delete(w, NULL, k, kn));
    ASSERT_OK(digby_txn_put(w, NULL, k, kn, S("back"), 0));
    kn = num_key(k, 8);
    ASSERT_OK(digby_txn_put(w, NULL, k, kn, S("first"), 0));
    ASSERT_OK(digby_txn_put(w, NULL, k, kn, S("second, longer"), 0));
    ASSERT_OK(digby_txn_commit(w));
    kn = num_key(k, 7);
    expect_get(f->db, k, kn, S("back"));
    kn = num_key(k, 8);
    expect_get(f->db, k, kn, S("second, longer"));
}

static void test_nooverwrite(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w;
    const void *v;
    size_t vn;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));

    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_txn_put(w, NULL, S("k"), S("v1"), DIGBY_PUT_NOOVERWRITE));
    ASSERT_RC(digby_txn_put(w, NULL, S("k"), S("v2"), DIGBY_PUT_NOOVERWRITE),
              DIGBY_EXISTS);
    ASSERT_OK(digby_txn_get(w, NULL, S("k"), &v, &vn, NULL));
    assert_int_equal(vn, 2);
    assert_memory_equal(v, "v1", 2);
    ASSERT_OK(digby_txn_put(w, NULL, S("k"), S("v3"), 0));
    /* deleted in this txn: NOOVERWRITE may put it back */
    ASSERT_OK(digby_txn_put(w, NULL, S("d"), S("d1"), 0));
    ASSERT_OK(digby_txn_delete(w, NULL, S("d")));
    ASSERT_OK(digby_txn_put(w, NULL, S("d"), S("d2"), DIGBY_PUT_NOOVERWRITE));
    ASSERT_OK(digby_txn_commit(w)); /* EXISTS did not poison it */
    expect_get(f->db, S("k"), S("v3"));
    expect_get(f->db, S("d"), S("d2"));

    /* committed keys are present for NOOVERWRITE too */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_RC(digby_txn_put(w, NULL, S("k"), S("v4"), DIGBY_PUT_NOOVERWRITE),
              DIGBY_EXISTS);
    ASSERT_OK(digby_txn_put(w, NULL, S("k2"), S("x"), DIGBY_PUT_NOOVERWRITE));
    ASSERT_OK(digby_txn_commit(w));
    expect_get(f->db, S("k"), S("v3"));
    expect_get(f->db, S("k2"), S("x"));

    /* an overflow value is kept as well */
    {
        unsigned char *big = make_val(77, 20000);
        ASSERT_OK(digby_txn_begin(f->db, 0, &w));
        ASSERT_OK(digby_txn_put(w, NULL, S("big"), big, 20000, DIGBY_PUT_NOOVERWRITE));
        ASSERT_RC(digby_txn_put(w, NULL, S("big"), S("small"), DIGBY_PUT_NOOVERWRITE),
                  DIGBY_EXISTS);
        ASSERT_OK(digby_txn_commit(w));
        expect_get(f->db, S("big"), big, 20000);
        free(big);
    }
}

static void test_versions(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w, *r;
    digby_cursor *c;
    uint64_t id1, id2, id3, id4, ver, vc;
    const void *v, *key;
    size_t vn, kn;
    digby_stats st;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));

    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    id1 = digby_txn_id(w);
    assert_true(id1 > 0);
    ASSERT_OK(digby_txn_put(w, NULL, S("a"), S("a1"), 0));
    ver = 0;
    ASSERT_OK(digby_txn_get(w, NULL, S("a"), &v, &vn, &ver));
    assert_int_equal(ver, id1); /* own writes carry the txn's id */
    ASSERT_OK(digby_txn_commit(w));
    assert_int_equal(get_version(f->db, S("a")), id1);
    get_stat(f->db, &st);
    assert_int_equal(st.last_txid, id1);

    /* a snapshot's id is the id of the commit it sees */
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    assert_int_equal(digby_txn_id(r), id1);
    ASSERT_OK(digby_txn_get(r, NULL, S("a"), &v, &vn, &ver));
    assert_int_equal(ver, id1);
    digby_txn_abort(r);

    /* an unrelated commit leaves the version alone */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    id2 = digby_txn_id(w);
    assert_true(id2 > id1);
    ASSERT_OK(digby_txn_put(w, NULL, S("b"), S("b1"), 0));
    ASSERT_OK(digby_txn_commit(w));
    assert_int_equal(get_version(f->db, S("a")), id1);
    assert_int_equal(get_version(f->db, S("b")), id2);

    /* an auto-commit gets a new id */
    ASSERT_OK(digby_put(f->db, S("c"), S("c1")));
    ver = get_version(f->db, S("c"));
    assert_true(ver > id2);
    assert_int_equal(get_version(f->db, S("a")), id1);
    get_stat(f->db, &st);
    assert_int_equal(st.last_txid, ver);

    /* overwrite changes it */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    id3 = digby_txn_id(w);
    assert_true(id3 > ver);
    ASSERT_OK(digby_txn_put(w, NULL, S("a"), S("a1"), 0)); /* same bytes */
    ASSERT_OK(digby_txn_commit(w));
    assert_int_equal(get_version(f->db, S("a")), id3);
    assert_int_equal(get_version(f->db, S("b")), id2);

    /* an aborted overwrite leaves it */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_txn_put(w, NULL, S("a"), S("a2"), 0));
    digby_txn_abort(w);
    assert_int_equal(get_version(f->db, S("a")), id3);
    expect_get(f->db, S("a"), S("a1"));

    /* delete and re-insert gives the new id */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    id4 = digby_txn_id(w);
    assert_true(id4 > id3);
    ASSERT_OK(digby_txn_delete(w, NULL, S("b")));
    ASSERT_OK(digby_txn_put(w, NULL, S("b"), S("b2"), 0));
    ASSERT_OK(digby_txn_commit(w));
    assert_int_equal(get_version(f->db, S("b")), id4);

    /* cursors report the same versions */
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_cursor_open(r, NULL, &c));
    ASSERT_OK(digby_cursor_first(c));
    do {
        ASSERT_OK(digby_cursor_get(c, &key, &kn, NULL, NULL, &vc));
        assert_int_equal(vc, get_version(f->db, key, kn));
    } while (digby_cursor_next(c) == DIGBY_OK);
    digby_cursor_close(c);
    digby_txn_abort(r);

    /* versions survive a reopen; new ids keep growing */
    reopen(f);
    assert_int_equal(get_version(f->db, S("a")), id3);
    assert_int_equal(get_version(f->db, S("b")), id4);
    get_stat(f->db, &st);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    assert_true(digby_txn_id(w) > st.last_txid);
    assert_true(digby_txn_id(w) > id4);
    digby_txn_abort(w);
}

static void test_empty_key_and_value(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *r;
    digby_cursor *c;
    const void *k, *v;
    size_t kn, vn;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));

    ASSERT_OK(digby_put(f->db, NULL, 0, S("for the empty key")));
    ASSERT_OK(digby_put(f->db, S("k"), NULL, 0));
    ASSERT_OK(digby_put(f->db, S("e"), "", 0));
    ASSERT_OK(digby_put(f->db, S("\0"), S("nul key")));
    expect_get(f->db, NULL, 0, S("for the empty key"));
    expect_get(f->db, "", 0, S("for the empty key"));
    expect_get(f->db, S("k"), NULL, 0); /* checks a non-NULL pointer */
    expect_get(f->db, S("e"), NULL, 0);
    expect_get(f->db, S("\0"), S("nul key"));

    /* the empty key sorts first, then "\0" */
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_cursor_open(r, NULL, &c));
    ASSERT_OK(digby_cursor_first(c));
    ASSERT_OK(digby_cursor_get(c, &k, &kn, &v, &vn, NULL));
    assert_int_equal(kn, 0);
    assert_int_equal(vn, 17);
    assert_memory_equal(v, "for the empty key", 17);
    ASSERT_OK(digby_cursor_next(c));
    ASSERT_OK(digby_cursor_get(c, &k, &kn, NULL, NULL, NULL));
    assert_int_equal(kn, 1);
    assert_int_equal(((const unsigned char *)k)[0], 0);
    ASSERT_OK(digby_cursor_seek(c, NULL, 0, DIGBY_SEEK_EQ));
    ASSERT_OK(digby_cursor_get(c, &k, &kn, NULL, NULL, NULL));
    assert_int_equal(kn, 0);
    ASSERT_RC(digby_cursor_seek(c, NULL, 0, DIGBY_SEEK_LT), DIGBY_NOTFOUND);
    ASSERT_OK(digby_cursor_seek(c, S("k"), DIGBY_SEEK_EQ));
    ASSERT_OK(digby_cursor_get(c, NULL, NULL, &v, &vn, NULL));
    assert_int_equal(vn, 0);
    ASSERT_OK(digby_txn_get(r, NULL, NULL, 0, &v, &vn, NULL));
    assert_int_equal(vn, 17);
    ASSERT_OK(digby_txn_get(r, NULL, S("e"), &v, &vn, NULL));
    assert_int_equal(vn, 0);
    digby_cursor_close(c);
    digby_txn_abort(r);

    reopen(f);
    expect_get(f->db, NULL, 0, S("for the empty key"));
    expect_get(f->db, S("k"), NULL, 0);
    ASSERT_OK(digby_delete(f->db, NULL, 0));
    expect_missing(f->db, NULL, 0);
    ASSERT_RC(digby_delete(f->db, NULL, 0), DIGBY_NOTFOUND);
    expect_get(f->db, S("\0"), S("nul key"));
    /* empty key in a table, empty value with NOOVERWRITE */
    {
        digby_txn *w;
        digby_table *t;
        ASSERT_OK(digby_txn_begin(f->db, 0, &w));
        ASSERT_OK(digby_table_open(w, "tab", DIGBY_TABLE_CREATE, &t));
        ASSERT_OK(digby_txn_put(w, t, NULL, 0, NULL, 0, DIGBY_PUT_NOOVERWRITE));
        ASSERT_RC(digby_txn_put(w, t, NULL, 0, NULL, 0, DIGBY_PUT_NOOVERWRITE),
                  DIGBY_EXISTS);
        ASSERT_OK(digby_txn_commit(w));
        ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
        ASSERT_OK(digby_table_open(r, "tab", 0, &t));
        ASSERT_OK(digby_txn_get(r, t, NULL, 0, &v, &vn, NULL));
        assert_int_equal(vn, 0);
        digby_txn_abort(r);
    }
}

/* ---- largest keys ------------------------------------------------------- */

static void run_max_key(fixture *f, uint32_t page_size, unsigned nkeys)
{
    digby_txn *w, *r;
    digby_cursor *c;
    size_t mk, kn, vn;
    unsigned char *key, *prev;
    const void *k, *v;
    digby_stats st;
    unsigned i, seen;
    unsigned char *big;

    open_with(f, page_size, DIGBY_OPEN_NO_SYNC);
    get_stat(f->db, &st);
    assert_int_equal(st.page_size, page_size);
    mk = digby_max_key_bytes(f->db);
    if (page_size == 512) assert_int_equal(mk, 94);
    if (page_size == 4096) assert_int_equal(mk, 990);
    assert_true(mk >= 94 && mk < page_size);

    key = (unsigned char *)malloc(mk + 1);
    prev = (unsigned char *)malloc(mk + 1);
    assert_non_null(key);
    assert_non_null(prev);
    memset(key, 'x', mk + 1);

    ASSERT_OK(digby_put(f->db, key, mk, S("max")));
    expect_get(f->db, key, mk, S("max"));
    /* one byte more is a large key (overflow pages), beside the largest */
    ASSERT_OK(digby_put(f->db, key, mk + 1, S("large")));
    expect_get(f->db, key, mk + 1, S("large"));
    expect_get(f->db, key, mk, S("max"));
    ASSERT_OK(digby_delete(f->db, key, mk + 1));
    expect_get(f->db, key, mk, S("max"));

    /* TOOBIG (4 GiB, refused before reading it) does not poison a
       transaction */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
#if SIZE_MAX > 0xFFFFFFFFu
    ASSERT_RC(digby_txn_put(w, NULL, key, (size_t)DIGBY_MAX_KEY_BYTES + 1, S("too big"), 0),
              DIGBY_TOOBIG);
#endif
    ASSERT_OK(digby_txn_put(w, NULL, key, mk - 1, S("max-1"), 0));
    ASSERT_OK(digby_txn_put(w, NULL, key, mk / 2, S("half"), 0));
    ASSERT_OK(digby_txn_commit(w));
    expect_get(f->db, key, mk - 1, S("max-1"));
    expect_get(f->db, key, mk / 2, S("half"));

    /* many largest keys that differ only at the end force splits on long
       common prefixes; then some that differ at the start */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    for (i = 0; i < nkeys; i++) {
        memset(key, 'p', mk);
        key[mk - 2] = (unsigned char)(i >> 8);
        key[mk - 1] = (unsigned char)i;
        ASSERT_OK(digby_txn_put(w, NULL, key, mk, &i, sizeof(i), 0));
        memset(key, 'q', mk);
        key[0] = (unsigned char)(i >> 8);
        key[1] = (unsigned char)i;
        ASSERT_OK(digby_txn_put(w, NULL, key, mk, &i, sizeof(i), 0));
    }
    /* a largest key with an overflow value */
    big = make_val(page_size, (size_t)page_size * 3 + 5);
    memset(key, 'z', mk);
    ASSERT_OK(digby_txn_put(w, NULL, key, mk, big, (size_t)page_size * 3 + 5, 0));
    ASSERT_OK(digby_txn_commit(w));

    for (i = 0; i < nkeys; i++) {
        memset(key, 'p', mk);
        key[mk - 2] = (unsigned char)(i >> 8);
        key[mk - 1] = (unsigned char)i;
        expect_get(f->db, key, mk, &i, sizeof(i));
        memset(key, 'q', mk);
        key[0] = (unsigned char)(i >> 8);
        key[1] = (unsigned char)i;
        expect_get(f->db, key, mk, &i, sizeof(i));
    }
    memset(key, 'z', mk);
    expect_get(f->db, key, mk, big, (size_t)page_size * 3 + 5);
    free(big);

    /* a scan returns them all, in order */
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_cursor_open(r, NULL, &c));
    seen = 0;
    kn = 0;
    while (digby_cursor_next(c) == DIGBY_OK) {
        size_t pn = kn;
        ASSERT_OK(digby_cursor_get(c, &k, &kn, &v, &vn, NULL));
        assert_true(kn <= mk);
        if (seen) assert_true(keycmp(prev, pn, k, kn) < 0);
        memcpy(prev, k, kn);
        seen++;
    }
    assert_int_equal(seen, 2 * nkeys + 4);
    digby_cursor_close(c);
    digby_txn_abort(r);
    get_stat(f->db, &st);
    assert_int_equal(st.entries, 2 * nkeys + 4);
    if (nkeys >= 100) assert_true(st.depth >= 2);

    /* and the limit survives a reopen */
    reopen(f);
    assert_int_equal(digby_max_key_bytes(f->db), mk);
    memset(key, 'x', mk + 1);
    ASSERT_OK(digby_put(f->db, key, mk + 1, S("large")));
    expect_get(f->db, key, mk + 1, S("large"));
    ASSERT_OK(digby_delete(f->db, key, mk + 1));
    expect_get(f->db, key, mk, S("max"));
    free(key);
    free(prev);
}

static void test_max_key_512(void **state) { run_max_key((fixture *)*state, 512, 400); }
static void test_max_key_4096(void **state) { run_max_key((fixture *)*state, 4096, 300); }
static void test_max_key_65536(void **state) { run_max_key((fixture *)*state, 65536, 60); }

/* ---- overflow values -------------------------------------------------- */

static void run_overflow(fixture *f, uint32_t ps)
{
    size_t sizes[24];
    unsigned n = 0, i;
    digby_txn *w, *r;
    digby_cursor *c;
    char k[32];
    size_t kn, vn;
    const void *v, *kk;
    unsigned char *buf;
    digby_stats st, peak;
    uint64_t peak_pages;

    sizes[n++] = 0;
    sizes[n++] = 1;
    sizes[n++] = ps / 4;
    sizes[n++] = ps / 2 - 1;
    sizes[n++] = ps / 2;
    sizes[n++] = ps / 2 + 1;
    sizes[n++] = ps - 64;
    sizes[n++] = ps - 1;
    sizes[n++] = ps;
    sizes[n++] = ps + 1;
    sizes[n++] = 2 * (size_t)ps - 1;
    sizes[n++] = 2 * (size_t)ps;
    sizes[n++] = 2 * (size_t)ps + 1;
    sizes[n++] = 3 * (size_t)ps + 17;
    sizes[n++] = 10 * (size_t)ps - 33;
    sizes[n++] = 1u << 20;
    sizes[n++] = (1u << 20) + 1;

    open_with(f, ps, 0);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    for (i = 0; i < n; i++) {
        buf = make_val(i, sizes[i]);
        kn = (size_t)sprintf(k, "ov%02u", i);
        ASSERT_OK(digby_txn_put(w, NULL, k, kn, buf, sizes[i], 0));
        free(buf);
    }
    /* readable inside the writing transaction */
    for (i = 0; i < n; i++) {
        kn = (size_t)sprintf(k, "ov%02u", i);
        ASSERT_OK(digby_txn_get(w, NULL, k, kn, &v, &vn, NULL));
        assert_int_equal(vn, sizes[i]);
        assert_true(val_ok(i, v, vn));
    }
    ASSERT_OK(digby_txn_commit(w));

    for (i = 0; i < n; i++) {
        void *p;
        kn = (size_t)sprintf(k, "ov%02u", i);
        ASSERT_OK(digby_get(f->db, k, kn, &p, &vn, NULL));
        assert_int_equal(vn, sizes[i]);
        assert_true(val_ok(i, p, vn));
        digby_free(f->db, p);
    }
    get_stat(f->db, &st);
    assert_true(st.overflow_pages >= (2u << 20) / ps);
    check_thorough(f->db);

    /* overwrite: each key gets the size of its mirror, new contents */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    for (i = 0; i < n; i++) {
        size_t sz = sizes[n - 1 - i];
        buf = make_val(1000 + i, sz);
        kn = (size_t)sprintf(k, "ov%02u", i);
        ASSERT_OK(digby_txn_put(w, NULL, k, kn, buf, sz, 0));
        free(buf);
    }
    ASSERT_OK(digby_txn_commit(w));
    reopen(f);
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_cursor_open(r, NULL, &c));
    i = 0;
    while (digby_cursor_next(c) == DIGBY_OK) {
        ASSERT_OK(digby_cursor_get(c, &kk, &kn, &v, &vn, NULL));
        sprintf(k, "ov%02u", i);
        assert_int_equal(kn, 4);
        assert_memory_equal(kk, k, 4);
        assert_int_equal(vn, sizes[n - 1 - i]);
        assert_true(val_ok(1000 + i, v, vn));
        i++;
    }
    assert_int_equal(i, n);
    /* and backwards */
    while (digby_cursor_prev(c) == DIGBY_OK) {
        i--;
        ASSERT_OK(digby_cursor_get(c, NULL, NULL, &v, &vn, NULL));
        assert_int_equal(vn, sizes[n - 1 - i]);
        assert_true(val_ok(1000 + i, v, vn));
    }
    assert_int_equal(i, 0);
    digby_cursor_close(c);
    digby_txn_abort(r);
    get_stat(f->db, &peak);
    peak_pages = peak.page_count;

    /* delete them all: the overflow pages go to the freelist */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    for (i = 0; i < n; i++) {
        kn = (size_t)sprintf(k, "ov%02u", i);
        ASSERT_OK(digby_txn_delete(w, NULL, k, kn));
        ASSERT_RC(digby_txn_get(w, NULL, k, kn, &v, &vn, NULL), DIGBY_NOTFOUND);
    }
    ASSERT_OK(digby_txn_commit(w));
    for (i = 0; i < n; i++) {
        kn = (size_t)sprintf(k, "ov%02u", i);
        expect_missing(f->db, k, kn);
    }
    get_stat(f->db, &st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.overflow_pages, 0);
    assert_true(st.free_pages >= (2u << 20) / ps);
    check_thorough(f->db);

    /* two more commits let every reader and the fallback meta move past the
       frees; then writing the same data again must reuse them */
    ASSERT_OK(digby_put(f->db, S("tick"), S("1")));
    ASSERT_OK(digby_put(f->db, S("tick"), S("2")));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    for (i = 0; i < n; i++) {
        buf = make_val(i, sizes[i]);
        kn = (size_t)sprintf(k, "ov%02u", i);
        ASSERT_OK(digby_txn_put(w, NULL, k, kn, buf, sizes[i], 0));
        free(buf);
    }
    ASSERT_OK(digby_txn_commit(w));
    get_stat(f->db, &st);
    if (st.page_count > peak_pages + 8)
        print_error("page_count %llu after rewrite, peak before %llu: freed "
                    "overflow pages were not reused\n",
                    (unsigned long long)st.page_count,
                    (unsigned long long)peak_pages);
    assert_true(st.page_count <= peak_pages + 8);
    for (i = 0; i < n; i++) {
        void *p;
        kn = (size_t)sprintf(k, "ov%02u", i);
        ASSERT_OK(digby_get(f->db, k, kn, &p, &vn, NULL));
        assert_int_equal(vn, sizes[i]);
        assert_true(val_ok(i, p, vn));
        digby_free(f->db, p);
    }
}

static void test_overflow_512(void **state) { run_overflow((fixture *)*state, 512); }
static void test_overflow_4096(void **state) { run_overflow((fixture *)*state, 4096); }
static void test_overflow_65536(void **state) { run_overflow((fixture *)*state, 65536); }

/* A steady overwrite loop of the same keys must not grow the file. */
static void test_overflow_steady_reuse(void **state)
{
    fixture *f = (fixture *)*state;
    enum { NKEYS = 100, VAL = 3 * 1024, WARM = 40, MID = 100 };
    unsigned commits = 200 * (unsigned)(test_scale_whole() > 5 ? 5 : test_scale_whole());
    unsigned g, i;
    char k[32];
    size_t kn, vn;
    unsigned char *buf;
    digby_stats st;
    uint64_t ref_pages = 0, ref_bytes = 0, late_pages = 0, late_bytes = 0;
    void *p;

    open_with(f, 0, DIGBY_OPEN_NO_SYNC);
    for (g = 0; g < commits; g++) {
        digby_txn *w;
        ASSERT_OK(digby_txn_begin(f->db, 0, &w));
        for (i = 0; i < NKEYS; i++) {
            buf = make_val(g * 1000 + i, VAL);
            kn = num_key(k, i);
            ASSERT_OK(digby_txn_put(w, NULL, k, kn, buf, VAL, 0));
            free(buf);
        }
        ASSERT_OK(digby_txn_commit(w));
        get_stat(f->db, &st);
        if (g >= WARM && g < MID) {
            if (st.page_count > ref_pages) ref_pages = st.page_count;
            if (st.file_bytes > ref_bytes) ref_bytes = st.file_bytes;
        } else if (g >= MID) {
            if (st.page_count > late_pages) late_pages = st.page_count;
            if (st.file_bytes > late_bytes) late_bytes = st.file_bytes;
        }
        if (g == MID) check_thorough(f->db);
    }
    print_message("steady overwrite: page_count max %llu in commits %d..%d, "
                  "%llu after; file %llu then %llu bytes\n",
                  (unsigned long long)ref_pages, WARM, MID - 1,
                  (unsigned long long)late_pages,
                  (unsigned long long)ref_bytes, (unsigned long long)late_bytes);
    assert_true(late_pages <= ref_pages + ref_pages / 20 + 4);
    assert_true(late_bytes <= ref_bytes + ref_bytes / 20 + 4 * 65536);
    /* the live data is ~100 pages; the file must not be far beyond a few
       copies of it */
    assert_true(late_pages < 1000);
    for (i = 0; i < NKEYS; i++) {
        kn = num_key(k, i);
        ASSERT_OK(digby_get(f->db, k, kn, &p, &vn, NULL));
        assert_int_equal(vn, VAL);
        assert_true(val_ok((commits - 1) * 1000 + i, p, vn));
        digby_free(f->db, p);
    }
}

/* ---- leaf fill under sequential inserts ------------------------------- */

static void test_sequential_fill(void **state)
{
    fixture *f = (fixture *)*state;
    char path2[512], k[32], val[32];
    digby_db *probe;
    digby_options o;
    digby_stats st;
    unsigned i, cap = 0, total = 100000, per_txn = 10000;
    uint64_t min_leaves;
    size_t kn;
    digby_txn *w, *r;
    digby_cursor *c;

    /* How many of these entries one leaf holds: insert until the root
       splits.  Key and value both 10 bytes. */
    make_path(path2, sizeof(path2), "probe");
    memset(&o, 0, sizeof(o));
    o.flags = DIGBY_OPEN_NO_SYNC;
    ASSERT_OK(digby_open(path2, &o, &probe));
    for (i = 0; i < 5000 && !cap; i++) {
        kn = num_key(k, i);
        sprintf(val, "val%07u", i);
        ASSERT_OK(digby_put(probe, k, kn, val, 10));
        get_stat(probe, &st);
        if (st.depth > 1) cap = i; /* i entries fit, the (i+1)th split */
    }
    assert_true(cap > 10);
    check_thorough(probe);
    ASSERT_OK(digby_close(probe));
    unlink(path2);

    open_with(f, 0, DIGBY_OPEN_NO_SYNC);
    for (i = 0; i < total; i++) {
        if (i % per_txn == 0) ASSERT_OK(digby_txn_begin(f->db, 0, &w));
        kn = num_key(k, i);
        sprintf(val, "val%07u", i);
        ASSERT_OK(digby_txn_put(w, NULL, k, kn, val, 10, 0));
        if (i % per_txn == per_txn - 1) ASSERT_OK(digby_txn_commit(w));
    }
    get_stat(f->db, &st);
    assert_int_equal(st.entries, total);
    min_leaves = (total + cap - 1) / cap;
    print_message("sequential fill: %u entries per leaf at most; %llu leaves, "
                  "minimum %llu (%.3fx); depth %u\n", cap,
                  (unsigned long long)st.leaf_pages,
                  (unsigned long long)min_leaves,
                  (double)st.leaf_pages / (double)min_leaves, st.depth);
    assert_true(st.leaf_pages * 100 <= min_leaves * 115 + 100);
    assert_true(st.depth >= 2);

    /* everything is there, in order */
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_cursor_open(r, NULL, &c));
    for (i = 0; i < total; i++) {
        const void *kk, *vv;
        size_t kkn, vvn;
        ASSERT_OK(digby_cursor_next(c));
        ASSERT_OK(digby_cursor_get(c, &kk, &kkn, &vv, &vvn, NULL));
        kn = num_key(k, i);
        sprintf(val, "val%07u", i);
        assert_int_equal(kkn, kn);
        assert_memory_equal(kk, k, kn);
        assert_int_equal(vvn, 10);
        assert_memory_equal(vv, val, 10);
    }
    ASSERT_RC(digby_cursor_next(c), DIGBY_NOTFOUND);
    digby_cursor_close(c);
    digby_txn_abort(r);
}

/* ---- tables ---------------------------------------------------------------- */

typedef struct list_acc {
    unsigned n;
    char names[16][64];
    uint64_t entries[16];
    int stop_at;   /* return 7 on this call number (1-based), 0: never */
} list_acc;

static int list_cb(void *ctx, const char *name, size_t name_bytes, uint64_t entries)
{
    list_acc *a = (list_acc *)ctx;
    if (a->n < 16 && name_bytes < 64) {
        memcpy(a->names[a->n], name, name_bytes);
        a->names[a->n][name_bytes] = '\0';
        a->entries[a->n] = entries;
    }
    a->n++;
    return (a->stop_at && (int)a->n == a->stop_at) ? 7 : 0;
}

static void test_tables(void **state)
{
    fixture *f = (fixture *)*state;
    static const char *const order[] = {"a", "ab", "alpha", "beta", "gamma"};
    static const uint64_t counts[] = {1, 2, 3, 5, 0};
    digby_txn *w, *r;
    digby_table *ta, *tab, *talpha, *tbeta, *tgamma, *t2;
    const void *v;
    size_t vn;
    uint64_t n;
    unsigned i;
    char k[16];
    list_acc acc;
    digby_stats st;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));

    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "gamma", DIGBY_TABLE_CREATE, &tgamma));
    ASSERT_OK(digby_table_open(w, "beta", DIGBY_TABLE_CREATE, &tbeta));
    ASSERT_OK(digby_table_open(w, "alpha", DIGBY_TABLE_CREATE, &talpha));
    ASSERT_OK(digby_table_open(w, "ab", DIGBY_TABLE_CREATE, &tab));
    ASSERT_OK(digby_table_open(w, "a", DIGBY_TABLE_CREATE, &ta));
    /* the same name gives the same handle, with or without CREATE */
    ASSERT_OK(digby_table_open(w, "beta", DIGBY_TABLE_CREATE, &t2));
    assert_ptr_equal(t2, tbeta);
    ASSERT_OK(digby_table_open(w, "beta", 0, &t2));
    assert_ptr_equal(t2, tbeta);
    ASSERT_RC(digby_table_open(w, "missing", 0, &t2), DIGBY_NOTFOUND);

    ASSERT_OK(digby_txn_put(w, ta, S("x"), S("a-x"), 0));
    ASSERT_OK(digby_txn_put(w, tab, S("x"), S("ab-x"), 0));
    ASSERT_OK(digby_txn_put(w, tab, S("y"), S("ab-y"), 0));
    for (i = 0; i < 3; i++) {
        sprintf(k, "%c", 'x' + i);
        ASSERT_OK(digby_txn_put(w, talpha, k, 1, S("alpha"), 0));
    }
    for (i = 0; i < 5; i++) {
        sprintf(k, "b%u", i);
        ASSERT_OK(digby_txn_put(w, tbeta, k, 2, S("beta"), 0));
    }
    ASSERT_OK(digby_txn_put(w, NULL, S("x"), S("global-x"), 0));
    /* same key, different trees */
    ASSERT_OK(digby_txn_get(w, NULL, S("x"), &v, &vn, NULL));
    assert_int_equal(vn, 8);
    assert_memory_equal(v, "global-x", 8);
    ASSERT_OK(digby_txn_get(w, ta, S("x"), &v, &vn, NULL));
    assert_int_equal(vn, 3);
    assert_memory_equal(v, "a-x", 3);
    ASSERT_RC(digby_txn_get(w, tgamma, S("x"), &v, &vn, NULL), DIGBY_NOTFOUND);
    ASSERT_RC(digby_txn_get(w, NULL, S("b0"), &v, &vn, NULL), DIGBY_NOTFOUND);
    ASSERT_OK(digby_table_count(w, talpha, &n));
    assert_int_equal(n, 3);
    ASSERT_OK(digby_table_count(w, NULL, &n));
    assert_int_equal(n, 1);
    /* listing sees the uncommitted tables of its own transaction */
    memset(&acc, 0, sizeof(acc));
    ASSERT_OK(digby_table_list(w, list_cb, &acc));
    assert_int_equal(acc.n, 5);
    ASSERT_OK(digby_txn_commit(w));

    /* a later transaction opens them by name */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "beta", 0, &tbeta));
    ASSERT_OK(digby_table_count(w, tbeta, &n));
    assert_int_equal(n, 5);
    ASSERT_OK(digby_txn_get(w, tbeta, S("b3"), &v, &vn, NULL));
    assert_int_equal(vn, 4);
    ASSERT_RC(digby_table_open(w, "missing", 0, &t2), DIGBY_NOTFOUND);
    ASSERT_RC(digby_table_open(w, "bet", 0, &t2), DIGBY_NOTFOUND);
    ASSERT_RC(digby_table_open(w, "betaa", 0, &t2), DIGBY_NOTFOUND);
    /* list: name order (bytewise), with entry counts */
    memset(&acc, 0, sizeof(acc));
    ASSERT_OK(digby_table_list(w, list_cb, &acc));
    assert_int_equal(acc.n, 5);
    for (i = 0; i < 5; i++) {
        assert_string_equal(acc.names[i], order[i]);
        assert_int_equal(acc.entries[i], counts[i]);
    }
    /* a non-zero return stops the walk and is returned */
    memset(&acc, 0, sizeof(acc));
    acc.stop_at = 2;
    ASSERT_RC(digby_table_list(w, list_cb, &acc), 7);
    assert_int_equal(acc.n, 2);
    digby_txn_abort(w);

    /* read-only transactions open, read and list tables */
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_table_open(r, "alpha", 0, &talpha));
    ASSERT_OK(digby_txn_get(r, talpha, S("z"), &v, &vn, NULL));
    assert_int_equal(vn, 5);
    assert_memory_equal(v, "alpha", 5);
    memset(&acc, 0, sizeof(acc));
    ASSERT_OK(digby_table_list(r, list_cb, &acc));
    assert_int_equal(acc.n, 5);
    digby_txn_abort(r);

    get_stat(f->db, &st);
    assert_int_equal(st.tables, 5);
    assert_int_equal(st.table_entries, 11);
    assert_int_equal(st.entries, 1);

    /* the global tree is independent of the tables */
    ASSERT_OK(digby_delete(f->db, S("x")));
    expect_missing(f->db, S("x"));
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_table_open(r, "a", 0, &ta));
    ASSERT_OK(digby_txn_get(r, ta, S("x"), &v, &vn, NULL));
    assert_int_equal(vn, 3);
    ASSERT_OK(digby_table_count(r, NULL, &n));
    assert_int_equal(n, 0);
    digby_txn_abort(r);

    /* tables survive a reopen */
    reopen(f);
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    memset(&acc, 0, sizeof(acc));
    ASSERT_OK(digby_table_list(r, list_cb, &acc));
    assert_int_equal(acc.n, 5);
    for (i = 0; i < 5; i++) {
        assert_string_equal(acc.names[i], order[i]);
        assert_int_equal(acc.entries[i], counts[i]);
    }
    digby_txn_abort(r);

    /* a name of 255 bytes is fine */
    {
        char name[256];
        memset(name, 'n', 255);
        name[255] = '\0';
        ASSERT_OK(digby_txn_begin(f->db, 0, &w));
        ASSERT_OK(digby_table_open(w, name, DIGBY_TABLE_CREATE, &t2));
        ASSERT_OK(digby_txn_put(w, t2, S("k"), S("v"), 0));
        ASSERT_OK(digby_txn_commit(w));
        ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
        ASSERT_OK(digby_table_open(r, name, 0, &t2));
        ASSERT_OK(digby_table_count(r, t2, &n));
        assert_int_equal(n, 1);
        digby_txn_abort(r);
    }
}

static void test_table_drop(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w, *r;
    digby_table *big, *keep, *t;
    digby_stats s1, s2, s3;
    unsigned i;
    char k[32];
    size_t kn;
    uint64_t n;
    unsigned char *val = make_val(5, 10000);
    list_acc acc;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));

    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "big", DIGBY_TABLE_CREATE, &big));
    ASSERT_OK(digby_table_open(w, "keep", DIGBY_TABLE_CREATE, &keep));
    for (i = 0; i < 3000; i++) {
        kn = num_key(k, i);
        ASSERT_OK(digby_txn_put(w, big, k, kn, val, i % 100 == 0 ? 10000 : 100, 0));
    }
    for (i = 0; i < 10; i++) {
        kn = num_key(k, i);
        ASSERT_OK(digby_txn_put(w, keep, k, kn, val, 50, 0));
        ASSERT_OK(digby_txn_put(w, NULL, k, kn, val, 60, 0));
    }
    ASSERT_OK(digby_txn_commit(w));
    get_stat(f->db, &s1);
    assert_int_equal(s1.tables, 2);
    assert_int_equal(s1.table_entries, 3010);

    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_drop(w, "big"));
    ASSERT_RC(digby_table_open(w, "big", 0, &t), DIGBY_NOTFOUND);
    ASSERT_RC(digby_table_drop(w, "big"), DIGBY_NOTFOUND);
    ASSERT_RC(digby_table_drop(w, "nonexistent"), DIGBY_NOTFOUND);
    ASSERT_RC(digby_table_drop(w, "kee"), DIGBY_NOTFOUND);
    ASSERT_OK(digby_txn_commit(w)); /* NOTFOUND did not poison it */
    get_stat(f->db, &s2);
    print_message("drop: free_pages %llu -> %llu, leaf_pages %llu -> %llu\n",
                  (unsigned long long)s1.free_pages, (unsigned long long)s2.free_pages,
                  (unsigned long long)s1.leaf_pages, (unsigned long long)s2.leaf_pages);
    assert_true(s2.free_pages > s1.free_pages + 60);
    assert_true(s2.leaf_pages < s1.leaf_pages);
    assert_true(s2.overflow_pages < s1.overflow_pages);
    assert_int_equal(s2.tables, 1);
    assert_int_equal(s2.table_entries, 10);
    assert_int_equal(s2.entries, 10);

    /* the rest is untouched */
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    memset(&acc, 0, sizeof(acc));
    ASSERT_OK(digby_table_list(r, list_cb, &acc));
    assert_int_equal(acc.n, 1);
    assert_string_equal(acc.names[0], "keep");
    assert_int_equal(acc.entries[0], 10);
    ASSERT_RC(digby_table_open(r, "big", 0, &t), DIGBY_NOTFOUND);
    ASSERT_OK(digby_table_open(r, "keep", 0, &keep));
    ASSERT_OK(digby_table_count(r, keep, &n));
    assert_int_equal(n, 10);
    digby_txn_abort(r);
    check_thorough(f->db);

    /* re-created, it is empty; a drop and re-create in one transaction too */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "big", DIGBY_TABLE_CREATE, &big));
    ASSERT_OK(digby_table_count(w, big, &n));
    assert_int_equal(n, 0);
    ASSERT_OK(digby_txn_put(w, big, S("one"), S("1"), 0));
    ASSERT_OK(digby_table_drop(w, "keep"));
    ASSERT_OK(digby_table_open(w, "keep", DIGBY_TABLE_CREATE, &keep));
    ASSERT_OK(digby_table_count(w, keep, &n));
    assert_int_equal(n, 0);
    ASSERT_OK(digby_txn_commit(w));
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_table_open(r, "keep", 0, &keep));
    ASSERT_OK(digby_table_count(r, keep, &n));
    assert_int_equal(n, 0);
    ASSERT_OK(digby_table_open(r, "big", 0, &big));
    ASSERT_OK(digby_table_count(r, big, &n));
    assert_int_equal(n, 1);
    digby_txn_abort(r);

    /* the dropped pages are reused: refill a table the same way */
    ASSERT_OK(digby_put(f->db, S("tick"), S("1")));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "again", DIGBY_TABLE_CREATE, &t));
    for (i = 0; i < 3000; i++) {
        kn = num_key(k, i);
        ASSERT_OK(digby_txn_put(w, t, k, kn, val, i % 100 == 0 ? 10000 : 100, 0));
    }
    ASSERT_OK(digby_txn_commit(w));
    get_stat(f->db, &s3);
    print_message("drop: page_count %llu before the drop, %llu after refilling\n",
                  (unsigned long long)s1.page_count, (unsigned long long)s3.page_count);
    assert_true(s3.page_count <= s1.page_count + 16);
    free(val);
}

/* ---- cursors ------------------------------------------------------------- */

/* Expect the cursor on exactly `want` (NUL-terminated text key). */
static void expect_at(digby_cursor *c, const char *want)
{
    const void *k;
    size_t kn;
    ASSERT_OK(digby_cursor_get(c, &k, &kn, NULL, NULL, NULL));
    if (kn != strlen(want) || memcmp(k, want, kn) != 0)
        print_error("cursor at \"%.*s\", expected \"%s\"\n", (int)kn,
                    (const char *)k, want);
    assert_int_equal(kn, strlen(want));
    assert_memory_equal(k, want, kn);
}

/* Reference seek over a sorted array; -1 when nothing qualifies. */
static int ref_seek(const char *const *keys, int n, const char *t, size_t tn,
                    digby_seek_op op)
{
    int i;
    switch (op) {
    case DIGBY_SEEK_GE:
        for (i = 0; i < n; i++) if (keycmp(keys[i], strlen(keys[i]), t, tn) >= 0) return i;
        return -1;
    case DIGBY_SEEK_GT:
        for (i = 0; i < n; i++) if (keycmp(keys[i], strlen(keys[i]), t, tn) > 0) return i;
        return -1;
    case DIGBY_SEEK_LE:
        for (i = n - 1; i >= 0; i--) if (keycmp(keys[i], strlen(keys[i]), t, tn) <= 0) return i;
        return -1;
    case DIGBY_SEEK_LT:
        for (i = n - 1; i >= 0; i--) if (keycmp(keys[i], strlen(keys[i]), t, tn) < 0) return i;
        return -1;
    case DIGBY_SEEK_EQ:
        for (i = 0; i < n; i++) if (keycmp(keys[i], strlen(keys[i]), t, tn) == 0) return i;
        return -1;
    }
    return -1;
}

static const char *const op_names[] = {"GE", "GT", "LE", "LT", "EQ"};

static void test_cursor_small(void **state)
{
    fixture *f = (fixture *)*state;
    static const char *const keys[] = {"b", "ba", "d", "f", "h"};
    static const char *const targets[] = {"", "a", "b", "b\x01", "ba", "baa", "c",
                                          "d", "e", "f", "g", "h", "h\0", "i", "\xff"};
    const int n = 5;
    unsigned ti;
    int i, op;
    digby_txn *r, *w;
    digby_cursor *c;
    const void *v;
    size_t vn;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));

    /* insert out of order */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    for (i = n - 1; i >= 0; i--)
        ASSERT_OK(digby_txn_put(w, NULL, keys[i], strlen(keys[i]), keys[i],
                                strlen(keys[i]), 0));
    ASSERT_OK(digby_txn_commit(w));

    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_cursor_open(r, NULL, &c));
    /* unpositioned */
    ASSERT_RC(digby_cursor_get(c, NULL, NULL, NULL, NULL, NULL), DIGBY_NOTFOUND);

    ASSERT_OK(digby_cursor_first(c));
    expect_at(c, "b");
    ASSERT_OK(digby_cursor_get(c, NULL, NULL, &v, &vn, NULL));
    assert_int_equal(vn, 1);
    assert_memory_equal(v, "b", 1);
    for (i = 1; i < n; i++) {
        ASSERT_OK(digby_cursor_next(c));
        expect_at(c, keys[i]);
    }
    ASSERT_RC(digby_cursor_next(c), DIGBY_NOTFOUND);
    ASSERT_RC(digby_cursor_get(c, NULL, NULL, NULL, NULL, NULL), DIGBY_NOTFOUND);
    ASSERT_OK(digby_cursor_next(c)); /* unpositioned: next is first */
    expect_at(c, "b");

    ASSERT_OK(digby_cursor_last(c));
    expect_at(c, "h");
    for (i = n - 2; i >= 0; i--) {
        ASSERT_OK(digby_cursor_prev(c));
        expect_at(c, keys[i]);
    }
    ASSERT_RC(digby_cursor_prev(c), DIGBY_NOTFOUND);
    ASSERT_RC(digby_cursor_get(c, NULL, NULL, NULL, NULL, NULL), DIGBY_NOTFOUND);
    ASSERT_OK(digby_cursor_prev(c)); /* unpositioned: prev is last */
    expect_at(c, "h");

    /* every seek operator before, at, between and after keys */
    for (ti = 0; ti < sizeof(targets) / sizeof(targets[0]); ti++) {
        const char *t = targets[ti];
        size_t tn = strlen(t) + (ti == 12); /* "h\0" is two bytes */
        for (op = 0; op <= 4; op++) {
            int want = ref_seek(keys, n, t, tn, (digby_seek_op)op);
            int rc = digby_cursor_seek(c, t, tn, (digby_seek_op)op);
            if (want < 0) {
                if (rc != DIGBY_NOTFOUND)
                    print_error("seek %s \"%s\": expected NOTFOUND\n", op_names[op], t);
                ASSERT_RC(rc, DIGBY_NOTFOUND);
                ASSERT_RC(digby_cursor_get(c, NULL, NULL, NULL, NULL, NULL),
                          DIGBY_NOTFOUND);
                continue;
            }
            if (rc != DIGBY_OK)
                print_error("seek %s \"%s\": expected \"%s\"\n", op_names[op], t,
                            keys[want]);
            ASSERT_OK(rc);
            expect_at(c, keys[want]);
            /* neighbours from the seek position */
            if (want + 1 < n) {
                ASSERT_OK(digby_cursor_next(c));
                expect_at(c, keys[want + 1]);
                ASSERT_OK(digby_cursor_prev(c));
            } else {
                ASSERT_RC(digby_cursor_next(c), DIGBY_NOTFOUND);
                ASSERT_OK(digby_cursor_seek(c, t, tn, (digby_seek_op)op));
            }
            expect_at(c, keys[want]);
            if (want > 0) {
                ASSERT_OK(digby_cursor_prev(c));
                expect_at(c, keys[want - 1]);
            } else {
                ASSERT_RC(digby_cursor_prev(c), DIGBY_NOTFOUND);
            }
        }
    }
    digby_cursor_close(c);
    digby_txn_abort(r);
}

static void test_cursor_empty_tree(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *r, *w;
    digby_cursor *c;
    digby_table *t;
    int op;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));

    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_cursor_open(r, NULL, &c));
    ASSERT_RC(digby_cursor_first(c), DIGBY_NOTFOUND);
    ASSERT_RC(digby_cursor_last(c), DIGBY_NOTFOUND);
    ASSERT_RC(digby_cursor_next(c), DIGBY_NOTFOUND);
    ASSERT_RC(digby_cursor_prev(c), DIGBY_NOTFOUND);
    for (op = 0; op <= 4; op++) {
        ASSERT_RC(digby_cursor_seek(c, S("k"), (digby_seek_op)op), DIGBY_NOTFOUND);
        ASSERT_RC(digby_cursor_seek(c, NULL, 0, (digby_seek_op)op), DIGBY_NOTFOUND);
    }
    ASSERT_RC(digby_cursor_get(c, NULL, NULL, NULL, NULL, NULL), DIGBY_NOTFOUND);
    digby_cursor_close(c);
    digby_txn_abort(r);

    /* a new table, and a tree emptied by deletes */
    ASSERT_OK(digby_put(f->db, S("k"), S("v")));
    ASSERT_OK(digby_delete(f->db, S("k")));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "empty", DIGBY_TABLE_CREATE, &t));
    ASSERT_OK(digby_cursor_open(w, t, &c));
    ASSERT_RC(digby_cursor_first(c), DIGBY_NOTFOUND);
    ASSERT_RC(digby_cursor_last(c), DIGBY_NOTFOUND);
    for (op = 0; op <= 4; op++)
        ASSERT_RC(digby_cursor_seek(c, S("k"), (digby_seek_op)op), DIGBY_NOTFOUND);
    digby_cursor_close(c);
    ASSERT_OK(digby_cursor_open(w, NULL, &c));
    ASSERT_RC(digby_cursor_first(c), DIGBY_NOTFOUND);
    ASSERT_RC(digby_cursor_prev(c), DIGBY_NOTFOUND);
    for (op = 0; op <= 4; op++)
        ASSERT_RC(digby_cursor_seek(c, S("k"), (digby_seek_op)op), DIGBY_NOTFOUND);
    digby_cursor_close(c);
    ASSERT_OK(digby_txn_commit(w));
}

/* Many keys over many pages (in a table): full scans both ways and seeks at
   pseudo-random targets against arithmetic. */
static void test_cursor_large(void **state)
{
    fixture *f = (fixture *)*state;
    enum { N = 5000 };
    digby_txn *w, *r;
    digby_table *t;
    digby_cursor *c;
    char k[32];
    size_t kn, vn;
    const void *kk, *v;
    unsigned i, it;
    uint32_t rng = 12345;
    unsigned char *big = make_val(9, 5000);
    ASSERT_OK(digby_open(f->path, NULL, &f->db));

    /* keys key0000000, key0000002, ... key0009998 */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "t", DIGBY_TABLE_CREATE, &t));
    for (i = 0; i < N; i++) {
        unsigned j = (i * 7919u) % N; /* scattered insertion order */
        kn = num_key(k, 2 * j);
        ASSERT_OK(digby_txn_put(w, t, k, kn, big, j % 97 == 0 ? 5000 : 50, 0));
    }
    ASSERT_OK(digby_txn_commit(w));

    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_table_open(r, "t", 0, &t));
    ASSERT_OK(digby_cursor_open(r, t, &c));
    for (i = 0; i < N; i++) {
        ASSERT_RC(i == 0 ? digby_cursor_first(c) : digby_cursor_next(c), DIGBY_OK);
        ASSERT_OK(digby_cursor_get(c, &kk, &kn, &v, &vn, NULL));
        num_key(k, 2 * i);
        assert_int_equal(kn, 10);
        assert_memory_equal(kk, k, 10);
        assert_int_equal(vn, i % 97 == 0 ? 5000 : 50);
        assert_memory_equal(v, big, vn);
    }
    ASSERT_RC(digby_cursor_next(c), DIGBY_NOTFOUND);
    for (i = N; i-- > 0;) {
        ASSERT_RC(i == N - 1 ? digby_cursor_last(c) : digby_cursor_prev(c), DIGBY_OK);
        ASSERT_OK(digby_cursor_get(c, &kk, &kn, NULL, NULL, NULL));
        num_key(k, 2 * i);
        assert_memory_equal(kk, k, 10);
    }
    ASSERT_RC(digby_cursor_prev(c), DIGBY_NOTFOUND);

    for (it = 0; it < 3000; it++) {
        int op, want;
        unsigned target;
        rng = rng * 1103515245u + 12345u;
        target = (rng >> 8) % (2 * N + 4); /* a few past the last key */
        num_key(k, target);
        for (op = 0; op <= 4; op++) {
            int rc = digby_cursor_seek(c, k, 10, (digby_seek_op)op);
            int even = target % 2 == 0;
            /* key j is 2j: GE ceil(t/2), GT floor(t/2)+1, LE floor(t/2),
               LT ceil(t/2)-1, EQ t/2 for even t; clipped to 0..N-1 */
            switch (op) {
            case DIGBY_SEEK_GE: want = (int)((target + 1) / 2); break;
            case DIGBY_SEEK_GT: want = (int)(target / 2 + 1); break;
            case DIGBY_SEEK_LE: want = (int)(target / 2); if (want > N - 1) want = N - 1; break;
            case DIGBY_SEEK_LT: want = (int)((target + 1) / 2) - 1; if (want > N - 1) want = N - 1; break;
            default: want = even ? (int)(target / 2) : -1; break;
            }
            if (want >= N) want = -1;
            if (want < 0) {
                if (rc != DIGBY_NOTFOUND)
                    print_error("seek %s %s: expected NOTFOUND\n", op_names[op], k);
                ASSERT_RC(rc, DIGBY_NOTFOUND);
                continue;
            }
            if (rc != DIGBY_OK)
                print_error("seek %s %s: expected index %d\n", op_names[op], k, want);
            ASSERT_OK(rc);
            ASSERT_OK(digby_cursor_get(c, &kk, &kn, NULL, NULL, NULL));
            {
                char wk[32];
                num_key(wk, 2 * (unsigned)want);
                if (memcmp(kk, wk, 10) != 0)
                    print_error("seek %s %s: got %.10s, expected %s\n", op_names[op], k,
                                (const char *)kk, wk);
                assert_memory_equal(kk, wk, 10);
                if (want + 1 < N) {
                    ASSERT_OK(digby_cursor_next(c));
                    ASSERT_OK(digby_cursor_get(c, &kk, &kn, NULL, NULL, NULL));
                    num_key(wk, 2 * (unsigned)want + 2);
                    assert_memory_equal(kk, wk, 10);
                    ASSERT_OK(digby_cursor_prev(c));
                }
                if (want > 0) {
                    ASSERT_OK(digby_cursor_prev(c));
                    ASSERT_OK(digby_cursor_get(c, &kk, &kn, NULL, NULL, NULL));
                    num_key(wk, 2 * (unsigned)want - 2);
                    assert_memory_equal(kk, wk, 10);
                }
            }
        }
    }
    digby_cursor_close(c);
    digby_txn_abort(r);
    free(big);
}

static void test_cursor_prefix_scan(void **state)
{
    fixture *f = (fixture *)*state;
    static const char *const all[] = {"ap", "apo", "app", "apple", "apple pie",
                                      "applesauce", "apply", "apq", "b",
                                      "a\xff", "a\xff\x01", "a\xff\xff", "a"};
    static const char *const appl[] = {"apple", "apple pie", "applesauce", "apply"};
    static const char *const aff[] = {"a\xff", "a\xff\x01", "a\xff\xff"};
    digby_txn *w, *r;
    digby_cursor *c;
    const void *k;
    size_t kn;
    unsigned i;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        ASSERT_OK(digby_txn_put(w, NULL, all[i], strlen(all[i]), S("v"), 0));
    ASSERT_OK(digby_txn_commit(w));

    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_cursor_open(r, NULL, &c));
    /* forward: seek GE prefix, step while the prefix matches */
    i = 0;
    if (digby_cursor_seek(c, S("appl"), DIGBY_SEEK_GE) == DIGBY_OK) {
        do {
            ASSERT_OK(digby_cursor_get(c, &k, &kn, NULL, NULL, NULL));
            if (kn < 4 || memcmp(k, "appl", 4) != 0) break;
            assert_true(i < 4);
            expect_at(c, appl[i]);
            i++;
        } while (digby_cursor_next(c) == DIGBY_OK);
    }
    assert_int_equal(i, 4);
    /* reverse: seek LT the successor prefix "appm", step back */
    i = 4;
    ASSERT_OK(digby_cursor_seek(c, S("appm"), DIGBY_SEEK_LT));
    do {
        ASSERT_OK(digby_cursor_get(c, &k, &kn, NULL, NULL, NULL));
        if (kn < 4 || memcmp(k, "appl", 4) != 0) break;
        assert_true(i > 0);
        i--;
        expect_at(c, appl[i]);
    } while (digby_cursor_prev(c) == DIGBY_OK);
    assert_int_equal(i, 0);
    /* prefix ending in 0xff: its successor is "b" */
    i = 0;
    ASSERT_OK(digby_cursor_seek(c, S("a\xff"), DIGBY_SEEK_GE));
    do {
        ASSERT_OK(digby_cursor_get(c, &k, &kn, NULL, NULL, NULL));
        if (kn < 2 || memcmp(k, "a\xff", 2) != 0) break;
        expect_at(c, aff[i]);
        i++;
    } while (digby_cursor_next(c) == DIGBY_OK);
    assert_int_equal(i, 3);
    ASSERT_OK(digby_cursor_seek(c, S("b"), DIGBY_SEEK_LT));
    expect_at(c, "a\xff\xff");
    /* a prefix nothing has */
    ASSERT_OK(digby_cursor_seek(c, S("apn"), DIGBY_SEEK_GE));
    expect_at(c, "apo");
    ASSERT_RC(digby_cursor_seek(c, S("c"), DIGBY_SEEK_GE), DIGBY_NOTFOUND);
    digby_cursor_close(c);
    digby_txn_abort(r);
}

/* Cursor correctness while its own transaction writes. */
static void test_cursor_writes_same_txn(void **state)
{
    fixture *f = (fixture *)*state;
    enum { N = 1000 };
    digby_txn *w, *r;
    digby_cursor *c;
    char k[32], kk[32];
    const void *key, *v;
    size_t kn, vn;
    unsigned i, visits;
    unsigned char *val = make_val(3, 100);
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    for (i = 0; i < N; i++) {
        kn = num_key(k, i);
        ASSERT_OK(digby_txn_put(w, NULL, k, kn, val, 100, 0));
    }
    ASSERT_OK(digby_txn_commit(w));

    /* A: point changes around the cursor */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_cursor_open(w, NULL, &c));
    num_key(k, 100);
    ASSERT_OK(digby_cursor_seek(c, k, 10, DIGBY_SEEK_EQ));
    ASSERT_OK(digby_txn_delete(w, NULL, k, 10));
    ASSERT_RC(digby_cursor_get(c, NULL, NULL, NULL, NULL, NULL), DIGBY_NOTFOUND);
    ASSERT_OK(digby_cursor_next(c)); /* continues with the following key */
    expect_at(c, "key0000101");
    ASSERT_OK(digby_cursor_prev(c)); /* 100 is gone */
    expect_at(c, "key0000099");
    ASSERT_OK(digby_cursor_next(c));
    expect_at(c, "key0000101");
    /* an insert just ahead is seen; one behind is not revisited */
    ASSERT_OK(digby_txn_put(w, NULL, S("key0000101a"), S("new"), 0));
    ASSERT_OK(digby_txn_put(w, NULL, S("key0000050a"), S("new"), 0));
    expect_at(c, "key0000101");
    ASSERT_OK(digby_cursor_next(c));
    expect_at(c, "key0000101a");
    ASSERT_OK(digby_cursor_get(c, NULL, NULL, &v, &vn, NULL));
    assert_int_equal(vn, 3);
    assert_memory_equal(v, "new", 3);
    ASSERT_OK(digby_cursor_next(c));
    expect_at(c, "key0000102");
    /* overwriting the current key: the cursor reads the new value */
    ASSERT_OK(digby_txn_put(w, NULL, S("key0000102"), S("changed"), 0));
    expect_at(c, "key0000102");
    ASSERT_OK(digby_cursor_get(c, NULL, NULL, &v, &vn, NULL));
    assert_int_equal(vn, 7);
    assert_memory_equal(v, "changed", 7);
    /* deleting a long run ahead (whole pages) */
    for (i = 103; i < 600; i++) {
        kn = num_key(k, i);
        ASSERT_OK(digby_txn_delete(w, NULL, k, kn));
    }
    ASSERT_OK(digby_cursor_next(c));
    expect_at(c, "key0000600");
    /* deleting the current key and then stepping back */
    ASSERT_OK(digby_txn_delete(w, NULL, S("key0000600")));
    ASSERT_OK(digby_cursor_prev(c));
    expect_at(c, "key0000102");
    /* insert far ahead, then jump there */
    ASSERT_OK(digby_txn_put(w, NULL, S("zzz"), S("end"), 0));
    ASSERT_OK(digby_cursor_last(c));
    expect_at(c, "zzz");
    digby_cursor_close(c);
    digby_txn_abort(w);

    /* B: iterate forward, deleting every third key as it goes */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_cursor_open(w, NULL, &c));
    visits = 0;
    while (digby_cursor_next(c) == DIGBY_OK) {
        ASSERT_OK(digby_cursor_get(c, &key, &kn, NULL, NULL, NULL));
        num_key(kk, visits);
        assert_int_equal(kn, 10);
        assert_memory_equal(key, kk, 10);
        if (visits % 3 == 0) {
            memcpy(k, key, kn);
            ASSERT_OK(digby_txn_delete(w, NULL, k, kn));
        }
        visits++;
        assert_true(visits <= N);
    }
    assert_int_equal(visits, N);
    /* then backwards, deleting the odd ones of the rest */
    visits = 0;
    i = N;
    while (digby_cursor_prev(c) == DIGBY_OK) {
        do i--; while (i % 3 == 0);
        ASSERT_OK(digby_cursor_get(c, &key, &kn, NULL, NULL, NULL));
        num_key(kk, i);
        assert_memory_equal(key, kk, 10);
        if (i % 2 == 1) {
            memcpy(k, key, kn);
            ASSERT_OK(digby_txn_delete(w, NULL, k, kn));
        }
        visits++;
        assert_true(visits <= N);
    }
    assert_int_equal(visits, N - (N + 2) / 3);
    digby_cursor_close(c);
    ASSERT_OK(digby_txn_commit(w));
    for (i = 0; i < N; i++) {
        kn = num_key(k, i);
        if (i % 3 == 0 || i % 2 == 1) expect_missing(f->db, k, kn);
        else expect_get(f->db, k, kn, val, 100);
    }
    check_thorough(f->db);

    /* C: iterate forward, inserting a key just after each one seen */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_cursor_open(w, NULL, &c));
    visits = 0;
    while (digby_cursor_next(c) == DIGBY_OK) {
        ASSERT_OK(digby_cursor_get(c, &key, &kn, NULL, NULL, NULL));
        memcpy(k, key, kn);
        if (visits % 2 == 0) {
            assert_int_equal(kn, 10);
            k[10] = 'x';
            ASSERT_OK(digby_txn_put(w, NULL, k, 11, S("inserted"), 0));
        } else {
            assert_int_equal(kn, 11); /* the one just inserted */
            assert_int_equal(k[10], 'x');
        }
        visits++;
        assert_true(visits <= 4 * N);
    }
    assert_int_equal(visits, 2 * 333); /* 333 keys were left by part B */
    {
        uint64_t cnt;
        ASSERT_OK(digby_table_count(w, NULL, &cnt));
        assert_int_equal(cnt, 2 * 333);
    }
    digby_cursor_close(c);
    ASSERT_OK(digby_txn_commit(w));

    /* D: a read-only cursor keeps its snapshot while others commit */
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_cursor_open(r, NULL, &c));
    ASSERT_OK(digby_cursor_first(c));
    expect_at(c, "key0000002");
    ASSERT_OK(digby_delete(f->db, S("key0000004")));
    ASSERT_OK(digby_put(f->db, S("key0000002y"), S("later")));
    ASSERT_OK(digby_cursor_next(c));
    expect_at(c, "key0000002x");
    ASSERT_OK(digby_cursor_next(c));
    expect_at(c, "key0000004");
    ASSERT_OK(digby_cursor_get(c, NULL, NULL, &v, &vn, NULL));
    assert_int_equal(vn, 100);
    assert_memory_equal(v, val, 100);
    digby_cursor_close(c);
    digby_txn_abort(r);
    free(val);
}

/* ---- abort, reopen, stat, page size, memory VFS ------------------------- */

static void test_abort_discards(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w;
    digby_table *t1, *t2;
    digby_cursor *c;
    digby_stats s0, s1;
    const void *v;
    size_t vn;
    unsigned i;
    char k[32];
    ASSERT_OK(digby_open(f->path, NULL, &f->db));

    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_txn_put(w, NULL, S("keep"), S("1"), 0));
    ASSERT_OK(digby_txn_put(w, NULL, S("gone"), S("x"), 0));
    ASSERT_OK(digby_table_open(w, "t1", DIGBY_TABLE_CREATE, &t1));
    ASSERT_OK(digby_txn_put(w, t1, S("a"), S("A"), 0));
    ASSERT_OK(digby_txn_commit(w));
    get_stat(f->db, &s0);

    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_txn_put(w, NULL, S("new"), S("n"), 0));
    ASSERT_OK(digby_txn_put(w, NULL, S("keep"), S("2"), 0));
    ASSERT_OK(digby_txn_delete(w, NULL, S("gone")));
    ASSERT_OK(digby_table_open(w, "t2", DIGBY_TABLE_CREATE, &t2));
    for (i = 0; i < 2000; i++) {
        size_t kn = num_key(k, i);
        ASSERT_OK(digby_txn_put(w, t2, k, kn, k, kn, 0));
        ASSERT_OK(digby_txn_put(w, NULL, k, kn, k, kn, 0));
    }
    ASSERT_OK(digby_table_drop(w, "t1"));
    ASSERT_OK(digby_cursor_open(w, NULL, &c)); /* abort closes it */
    ASSERT_OK(digby_cursor_first(c));
    digby_txn_abort(w);

    expect_missing(f->db, S("new"));
    expect_get(f->db, S("keep"), S("1"));
    expect_get(f->db, S("gone"), S("x"));
    expect_missing(f->db, S("key0000001"));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_RC(digby_table_open(w, "t2", 0, &t2), DIGBY_NOTFOUND);
    ASSERT_OK(digby_table_open(w, "t1", 0, &t1));
    ASSERT_OK(digby_txn_get(w, t1, S("a"), &v, &vn, NULL));
    assert_int_equal(vn, 1);
    digby_txn_abort(w);
    get_stat(f->db, &s1);
    assert_int_equal(s1.last_txid, s0.last_txid);
    assert_int_equal(s1.entries, s0.entries);
    assert_int_equal(s1.tables, 1);
    assert_int_equal(s1.table_entries, 1);
    assert_int_equal(s1.page_count, s0.page_count);
    digby_txn_abort(NULL);

    /* a read-only abort, then the same after a reopen */
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &w));
    digby_txn_abort(w);
    reopen(f);
    expect_missing(f->db, S("new"));
    expect_get(f->db, S("keep"), S("1"));
    get_stat(f->db, &s1);
    assert_int_equal(s1.last_txid, s0.last_txid);
    assert_int_equal(s1.tables, 1);
    /* and a commit after an abort works */
    ASSERT_OK(digby_put(f->db, S("after"), S("abort")));
    expect_get(f->db, S("after"), S("abort"));
}

static void test_reopen_keeps_everything(void **state)
{
    fixture *f = (fixture *)*state;
    enum { N = 500 };
    digby_txn *w, *r;
    digby_table *t;
    char k[32];
    size_t kn, vn;
    unsigned i, round;
    uint64_t vers[N], n;
    digby_stats s0, s1;
    const void *v;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));

    for (i = 0; i < N; i++) {
        unsigned char *val;
        size_t sz = i % 50 == 0 ? 9000 + i : i % 300;
        if (i % 100 == 0) ASSERT_OK(digby_txn_begin(f->db, 0, &w));
        kn = num_key(k, i);
        val = make_val(i, sz);
        ASSERT_OK(digby_txn_put(w, NULL, k, kn, val, sz, 0));
        free(val);
        vers[i] = digby_txn_id(w);
        if (i % 100 == 99) {
            ASSERT_OK(digby_table_open(w, i < 300 ? "one" : "two",
                                       DIGBY_TABLE_CREATE, &t));
            ASSERT_OK(digby_txn_put(w, t, k, kn, S("in a table"), 0));
            ASSERT_OK(digby_txn_commit(w));
        }
    }
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "empty", DIGBY_TABLE_CREATE, &t));
    for (i = 0; i < N; i += 7) {
        kn = num_key(k, i);
        ASSERT_OK(digby_txn_delete(w, NULL, k, kn));
    }
    ASSERT_OK(digby_txn_commit(w));
    get_stat(f->db, &s0);

    for (round = 0; round < 2; round++) {
        reopen(f);
        get_stat(f->db, &s1);
        assert_int_equal(s1.last_txid, s0.last_txid);
        assert_int_equal(s1.entries, s0.entries);
        assert_int_equal(s1.page_count, s0.page_count);
        assert_int_equal(s1.tables, 3);
        assert_int_equal(s1.table_entries, 5);
        assert_int_equal(s1.depth, s0.depth);
        assert_int_equal(s1.leaf_pages, s0.leaf_pages);
        assert_int_equal(s1.overflow_pages, s0.overflow_pages);
        assert_int_equal(s1.free_pages, s0.free_pages);
        ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
        for (i = 0; i < N; i++) {
            size_t sz = i % 50 == 0 ? 9000 + i : i % 300;
            uint64_t ver;
            kn = num_key(k, i);
            if (i % 7 == 0) {
                ASSERT_RC(digby_txn_get(r, NULL, k, kn, &v, &vn, NULL), DIGBY_NOTFOUND);
                continue;
            }
            ASSERT_OK(digby_txn_get(r, NULL, k, kn, &v, &vn, &ver));
            assert_int_equal(vn, sz);
            assert_true(val_ok(i, v, vn));
            assert_int_equal(ver, vers[i]);
        }
        ASSERT_OK(digby_table_open(r, "two", 0, &t));
        ASSERT_OK(digby_table_count(r, t, &n));
        assert_int_equal(n, 2);
        ASSERT_OK(digby_table_open(r, "empty", 0, &t));
        ASSERT_OK(digby_table_count(r, t, &n));
        assert_int_equal(n, 0);
        digby_txn_abort(r);
    }
}

static void test_stat_fields(void **state)
{
    fixture *f = (fixture *)*state;
    digby_stats st;
    digby_txn *w, *r;
    digby_table *t;
    unsigned i;
    char k[32];
    size_t kn;
    uint64_t last;
    unsigned char *big = make_val(1, 40000);
    ASSERT_OK(digby_open(f->path, NULL, &f->db));

#define STAT_SUM_OK(s)                                                        \
    do {                                                                      \
        uint64_t sum_ = (s).meta_pages + (s).branch_pages + (s).leaf_pages +  \
                        (s).overflow_pages + (s).freelist_pages + (s).free_pages; \
        if (sum_ > (s).page_count)                                            \
            print_error("stat: meta %llu + branch %llu + leaf %llu + overflow " \
                        "%llu + freelist %llu + free %llu > page_count %llu\n", \
                        (unsigned long long)(s).meta_pages,                   \
                        (unsigned long long)(s).branch_pages,                 \
                        (unsigned long long)(s).leaf_pages,                   \
                        (unsigned long long)(s).overflow_pages,               \
                        (unsigned long long)(s).freelist_pages,               \
                        (unsigned long long)(s).free_pages,                   \
                        (unsigned long long)(s).page_count);                  \
        assert_true(sum_ <= (s).page_count);                                  \
        assert_int_equal((s).meta_pages, 2);                                  \
        assert_true((s).file_bytes >= (s).page_count * (s).page_size);        \
        assert_true((s).depth <= 32);                                         \
    } while (0)

    /* fresh */
    get_stat(f->db, &st);
    STAT_SUM_OK(st);
    assert_int_equal(st.page_size, 4096);
    assert_int_equal(st.depth, 0);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.tables, 0);
    assert_int_equal(st.table_entries, 0);
    assert_int_equal(st.leaf_pages, 0);
    assert_int_equal(st.branch_pages, 0);
    assert_int_equal(st.overflow_pages, 0);
    assert_true(st.page_count >= 2);
    last = st.last_txid;

    /* one key: one leaf */
    ASSERT_OK(digby_put(f->db, S("k"), S("v")));
    get_stat(f->db, &st);
    STAT_SUM_OK(st);
    assert_int_equal(st.depth, 1);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.leaf_pages, 1);
    assert_int_equal(st.branch_pages, 0);
    assert_true(st.last_txid > last);
    last = st.last_txid;

    /* many keys: branches, depth >= 2 */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    for (i = 0; i < 20000; i++) {
        kn = num_key(k, i);
        ASSERT_OK(digby_txn_put(w, NULL, k, kn, k, kn, 0));
    }
    ASSERT_OK(digby_txn_put(w, NULL, S("big"), big, 40000, 0));
    ASSERT_OK(digby_table_open(w, "t", DIGBY_TABLE_CREATE, &t));
    for (i = 0; i < 30; i++) {
        kn = num_key(k, i);
        ASSERT_OK(digby_txn_put(w, t, k, kn, k, kn, 0));
    }
    ASSERT_OK(digby_table_open(w, "u", DIGBY_TABLE_CREATE, &t));
    ASSERT_OK(digby_txn_commit(w));
    get_stat(f->db, &st);
    STAT_SUM_OK(st);
    assert_int_equal(st.entries, 20002);
    assert_int_equal(st.tables, 2);
    assert_int_equal(st.table_entries, 30);
    assert_true(st.depth >= 2 && st.depth <= 5);
    assert_true(st.branch_pages >= 1);
    /* 20000 entries of ~20 bytes need well over 50 leaves of 4 KiB */
    assert_true(st.leaf_pages >= 50 && st.leaf_pages <= 2000);
    assert_true(st.overflow_pages >= 40000 / 4096);
    assert_true(st.overflow_pages <= 40000 / 4096 + 2);
    assert_true(st.last_txid > last);
    print_message("stat: depth %u, page_count %llu = meta %llu + branch %llu + "
                  "leaf %llu + overflow %llu + freelist %llu + free %llu (+%lld)\n",
                  st.depth, (unsigned long long)st.page_count,
                  (unsigned long long)st.meta_pages, (unsigned long long)st.branch_pages,
                  (unsigned long long)st.leaf_pages, (unsigned long long)st.overflow_pages,
                  (unsigned long long)st.freelist_pages, (unsigned long long)st.free_pages,
                  (long long)(st.page_count - st.meta_pages - st.branch_pages -
                              st.leaf_pages - st.overflow_pages - st.freelist_pages -
                              st.free_pages));

    /* stat works beside open transactions and sees only commits */
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_txn_delete(w, NULL, S("big")));
    {
        digby_stats s2;
        get_stat(f->db, &s2);
        assert_int_equal(s2.entries, st.entries);
        assert_int_equal(s2.last_txid, st.last_txid);
    }
    ASSERT_OK(digby_txn_commit(w));
    digby_txn_abort(r);
    get_stat(f->db, &st);
    STAT_SUM_OK(st);
    assert_int_equal(st.entries, 20001);
    assert_int_equal(st.overflow_pages, 0);
    assert_true(st.free_pages >= 40000 / 4096);
    free(big);
#undef STAT_SUM_OK
}

static void test_page_size(void **state)
{
    fixture *f = (fixture *)*state;
    digby_options o;
    digby_db *db2;
    digby_stats st;
    unsigned i;
    char k[32];
    size_t kn;
    uint32_t ps;

    open_with(f, 512, 0);
    for (i = 0; i < 200; i++) {
        kn = num_key(k, i);
        ASSERT_OK(digby_put(f->db, k, kn, k, kn));
    }
    check_thorough(f->db);
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;

    /* 0: the file's size */
    memset(&o, 0, sizeof(o));
    ASSERT_OK(digby_open(f->path, &o, &f->db));
    get_stat(f->db, &st);
    assert_int_equal(st.page_size, 512);
    assert_int_equal(digby_max_key_bytes(f->db), 94);
    for (i = 0; i < 200; i++) {
        kn = num_key(k, i);
        expect_get(f->db, k, kn, k, kn);
    }
    check_thorough(f->db);
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;

    /* a different size is refused, nothing is opened */
    o.page_size = 4096;
    db2 = (digby_db *)&o;
    ASSERT_RC(digby_open(f->path, &o, &db2), DIGBY_PAGESIZE);
    assert_null(db2);
    o.page_size = 65536;
    ASSERT_RC(digby_open(f->path, &o, &db2), DIGBY_PAGESIZE);
    o.page_size = 1024;
    ASSERT_RC(digby_open(f->path, &o, &db2), DIGBY_PAGESIZE);
    /* the same size is fine */
    o.page_size = 512;
    ASSERT_OK(digby_open(f->path, &o, &f->db));
    get_stat(f->db, &st);
    assert_int_equal(st.page_size, 512);
    check_thorough(f->db);
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;

    /* every allowed size works for a new file; 0 means 4096 */
    for (ps = 0; ps <= 65536; ps = ps ? ps * 2 : 512) {
        char p[512];
        make_path(p, sizeof(p), "ps");
        memset(&o, 0, sizeof(o));
        o.page_size = ps;
        ASSERT_OK(digby_open(p, &o, &db2));
        get_stat(db2, &st);
        assert_int_equal(st.page_size, ps ? ps : 4096);
        {
            digby_txn *w;
            ASSERT_OK(digby_txn_begin(db2, 0, &w));
            for (i = 0; i < 300; i++) {
                kn = num_key(k, i);
                ASSERT_OK(digby_txn_put(w, NULL, k, kn, k, kn, 0));
            }
            ASSERT_OK(digby_txn_commit(w));
        }
        check_thorough(db2);
        ASSERT_OK(digby_close(db2));
        ASSERT_OK(digby_open(p, NULL, &db2));
        get_stat(db2, &st);
        assert_int_equal(st.page_size, ps ? ps : 4096);
        assert_int_equal(st.entries, 300);
        kn = num_key(k, 299);
        expect_get(db2, k, kn, k, kn);
        check_thorough(db2);
        ASSERT_OK(digby_close(db2));
        unlink(p);
    }
}

/* An allocator that counts, to prove the memory VFS frees everything. */
typedef struct count_alloc {
    long live;
    long calls;
} count_alloc;

static void *ca_malloc(void *ctx, size_t n)
{
    count_alloc *a = (count_alloc *)ctx;
    void *p = malloc(n ? n : 1);
    a->calls++;
    if (p) a->live++;
    return p;
}

static void *ca_realloc(void *ctx, void *ptr, size_t n)
{
    count_alloc *a = (count_alloc *)ctx;
    void *p = realloc(ptr, n ? n : 1);
    a->calls++;
    if (p && !ptr) a->live++;
    return p;
}

static void ca_free(void *ctx, void *ptr)
{
    count_alloc *a = (count_alloc *)ctx;
    if (ptr) a->live--;
    free(ptr);
}

static void test_mem_vfs(void **state)
{
    /* a path in a directory that does not exist: only memory can hold it */
    static const char *const p1 = "/nonexistent-digby-dir/mem-a.db";
    static const char *const p2 = "/nonexistent-digby-dir/mem-b.db";
    digby_vfs *vfs = NULL;
    digby_options o;
    digby_db *a, *b;
    digby_txn *w, *r;
    digby_table *t;
    count_alloc ca;
    digby_allocator al;
    unsigned char *big = make_val(4, 100000);
    digby_stats st;
    unsigned i;
    char k[32];
    size_t kn;
    const void *v;
    size_t vn;
    (void)state;

    memset(&ca, 0, sizeof(ca));
    al.malloc_fn = ca_malloc;
    al.realloc_fn = ca_realloc;
    al.free_fn = ca_free;
    al.ctx = &ca;
    ASSERT_OK(digby_vfs_mem_create(&al, &vfs));
    assert_non_null(vfs);
    assert_int_equal(vfs->version, DIGBY_VFS_VERSION);

    memset(&o, 0, sizeof(o));
    o.vfs = vfs;
    o.flags = DIGBY_OPEN_NO_CREATE;
    ASSERT_RC(digby_open(p1, &o, &a), DIGBY_CANTOPEN);
    o.flags = 0;
    ASSERT_OK(digby_open(p1, &o, &a));
    ASSERT_OK(digby_txn_begin(a, 0, &w));
    for (i = 0; i < 3000; i++) {
        kn = num_key(k, i);
        ASSERT_OK(digby_txn_put(w, NULL, k, kn, k, kn, 0));
    }
    ASSERT_OK(digby_txn_put(w, NULL, S("big"), big, 100000, 0));
    ASSERT_OK(digby_table_open(w, "t", DIGBY_TABLE_CREATE, &t));
    ASSERT_OK(digby_txn_put(w, t, S("tk"), S("tv"), 0));
    ASSERT_OK(digby_txn_commit(w));
    expect_get(a, S("big"), big, 100000);
    /* a second read-write handle on the same memory file is refused */
    {
        digby_db *dup = NULL;
        ASSERT_RC(digby_open(p1, &o, &dup), DIGBY_BUSY);
    }
    check_thorough(a);
    ASSERT_OK(digby_close(a));

    /* another path is another database */
    ASSERT_OK(digby_open(p2, &o, &b));
    get_stat(b, &st);
    assert_int_equal(st.entries, 0);
    ASSERT_OK(digby_put(b, S("only in b"), S("1")));
    check_thorough(b);

    /* the first one is still there */
    o.flags = DIGBY_OPEN_NO_CREATE;
    ASSERT_OK(digby_open(p1, &o, &a));
    expect_get(a, S("big"), big, 100000);
    expect_missing(a, S("only in b"));
    ASSERT_OK(digby_txn_begin(a, DIGBY_TXN_READONLY, &r));
    for (i = 0; i < 3000; i++) {
        kn = num_key(k, i);
        ASSERT_OK(digby_txn_get(r, NULL, k, kn, &v, &vn, NULL));
        assert_int_equal(vn, kn);
    }
    ASSERT_OK(digby_table_open(r, "t", 0, &t));
    ASSERT_OK(digby_txn_get(r, t, S("tk"), &v, &vn, NULL));
    digby_txn_abort(r);
    check_thorough(a);
    ASSERT_OK(digby_close(a));
    ASSERT_OK(digby_close(b));
    digby_vfs_mem_destroy(vfs);
    assert_int_equal(ca.live, 0);
    assert_true(ca.calls > 0);
    free(big);

    /* NULL allocator: the default one */
    ASSERT_OK(digby_vfs_mem_create(NULL, &vfs));
    o.vfs = vfs;
    o.flags = 0;
    ASSERT_OK(digby_open("x", &o, &a));
    ASSERT_OK(digby_put(a, S("k"), S("v")));
    check_thorough(a);
    ASSERT_OK(digby_close(a));
    digby_vfs_mem_destroy(vfs);
}

static void test_version_string(void **state)
{
    const char *v = digby_version();
    (void)state;
    assert_non_null(v);
    assert_true(strncmp(v, "digby " DIGBY_VERSION_STRING, 6 + strlen(DIGBY_VERSION_STRING)) == 0);
    assert_non_null(digby_vfs_posix());
    assert_int_equal(digby_vfs_posix()->version, DIGBY_VFS_VERSION);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_autocommit_put_get_delete),
        T(test_txn_put_get_delete),
        T(test_nooverwrite),
        T(test_versions),
        T(test_empty_key_and_value),
        T(test_max_key_512),
        T(test_max_key_4096),
        T(test_max_key_65536),
        T(test_overflow_512),
        T(test_overflow_4096),
        T(test_overflow_65536),
        T(test_overflow_steady_reuse),
        T(test_sequential_fill),
        T(test_tables),
        T(test_table_drop),
        T(test_cursor_small),
        T(test_cursor_empty_tree),
        T(test_cursor_large),
        T(test_cursor_prefix_scan),
        T(test_cursor_writes_same_txn),
        T(test_abort_discards),
        T(test_reopen_keeps_everything),
        T(test_stat_fields),
        T(test_page_size),
        T(test_mem_vfs),
        T(test_version_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
