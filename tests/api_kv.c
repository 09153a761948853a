/* api_kv: black-box behaviour of the public API on well-formed input:
   put/get/delete (auto-commit and in transactions), NOOVERWRITE, versions,
   empty keys and values, the largest key at three page sizes. */
#define TEST_NAME "api_kv"
#include "api_common.h" /* digby.h with the implementation, harness.h, values, reopen */

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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
