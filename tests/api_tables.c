/* api_tables: black-box behaviour of the public API on well-formed input:
   named tables: create, open, count, list, drop. */
#define TEST_NAME "api_tables"
#include "api_common.h" /* digby.h with the implementation, harness.h, values, reopen */

/* ---- tables ---------------------------------------------------------------- */

typedef struct list_acc {
    unsigned n;
    char names[16][64];
    uint64_t entries[16];
    int stop_at;   /* return stop_rc on this call number (1-based), 0: never */
    int stop_rc;   /* 0: 7 */
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
    if (a->stop_at && (int)a->n == a->stop_at) return a->stop_rc ? a->stop_rc : 7;
    return 0;
}

/* digby_table_list in txn gives exactly the n tables names[], in that
   order, with counts[] entries. */
static void expect_listed(digby_txn *txn, const char *const *names, const uint64_t *counts,
                          unsigned n)
{
    list_acc acc;
    unsigned i;
    memset(&acc, 0, sizeof(acc));
    ASSERT_OK(digby_table_list(txn, list_cb, &acc));
    assert_int_equal(acc.n, n);
    for (i = 0; i < n; i++) {
        assert_string_equal(acc.names[i], names[i]);
        assert_int_equal(acc.entries[i], counts[i]);
    }
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
    tbeta = expect_table_count(w, "beta", 5);
    ASSERT_OK(digby_txn_get(w, tbeta, S("b3"), &v, &vn, NULL));
    assert_int_equal(vn, 4);
    ASSERT_RC(digby_table_open(w, "missing", 0, &t2), DIGBY_NOTFOUND);
    ASSERT_RC(digby_table_open(w, "bet", 0, &t2), DIGBY_NOTFOUND);
    ASSERT_RC(digby_table_open(w, "betaa", 0, &t2), DIGBY_NOTFOUND);
    /* list: name order (bytewise), with entry counts */
    expect_listed(w, order, counts, 5);
    /* a non-zero return stops the walk and is returned */
    memset(&acc, 0, sizeof(acc));
    acc.stop_at = 2;
    ASSERT_RC(digby_table_list(w, list_cb, &acc), 7);
    assert_int_equal(acc.n, 2);
    /* ... whatever it is: -1 (DIGBY_NOTFOUND's value) too, which the walk
       once took for its own end and turned into DIGBY_OK */
    memset(&acc, 0, sizeof(acc));
    acc.stop_at = 3;
    acc.stop_rc = -1;
    ASSERT_RC(digby_table_list(w, list_cb, &acc), -1);
    assert_int_equal(acc.n, 3);
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
    expect_listed(r, order, counts, 5);
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
        expect_table_count(r, name, 1);
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
    {
        static const char *const kept[] = {"keep"};
        static const uint64_t kept_n[] = {10};
        expect_listed(r, kept, kept_n, 1);
    }
    ASSERT_RC(digby_table_open(r, "big", 0, &t), DIGBY_NOTFOUND);
    expect_table_count(r, "keep", 10);
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
    expect_table_count(r, "keep", 0);
    expect_table_count(r, "big", 1);
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

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_tables),
        T(test_table_drop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
