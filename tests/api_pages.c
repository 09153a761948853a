/* api_pages: black-box behaviour of the public API on well-formed input:
   overflow values at three page sizes and the reuse of their pages, leaf
   fill under sequential inserts.

   $DIGBY_TEST_SCALE (default 1) multiplies the commits of
   test_overflow_steady_reuse (up to 5 times). */
#define TEST_NAME "api_pages"
#include "api_common.h" /* digby.h with the implementation, harness.h, values, reopen */

/* ---- overflow values -------------------------------------------------- */

/* Keys "ov00", "ov01", ...: key i gets make_val(i, sizes[i]), i < n. */
static void put_ov_values(digby_txn *w, const size_t *sizes, unsigned n)
{
    char k[32];
    unsigned i;
    for (i = 0; i < n; i++) {
        unsigned char *buf = make_val(i, sizes[i]);
        size_t kn = (size_t)sprintf(k, "ov%02u", i);
        ASSERT_OK(digby_txn_put(w, NULL, k, kn, buf, sizes[i], 0));
        free(buf);
    }
}

/* What put_ov_values wrote, committed: digby_get finds each value whole. */
static void expect_ov_values(digby_db *db, const size_t *sizes, unsigned n)
{
    char k[32];
    unsigned i;
    for (i = 0; i < n; i++) {
        void *p;
        size_t vn;
        size_t kn = (size_t)sprintf(k, "ov%02u", i);
        ASSERT_OK(digby_get(db, k, kn, &p, &vn, NULL));
        assert_int_equal(vn, sizes[i]);
        assert_true(val_ok(i, p, vn));
        digby_free(db, p);
    }
}

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
    put_ov_values(w, sizes, n);
    /* readable inside the writing transaction */
    for (i = 0; i < n; i++) {
        kn = (size_t)sprintf(k, "ov%02u", i);
        ASSERT_OK(digby_txn_get(w, NULL, k, kn, &v, &vn, NULL));
        assert_int_equal(vn, sizes[i]);
        assert_true(val_ok(i, v, vn));
    }
    ASSERT_OK(digby_txn_commit(w));

    expect_ov_values(f->db, sizes, n);
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
    if (TEST_LOG_MODE) {
        /* the deletes sit in the memtable: the pages are freed when a
           checkpoint merges them */
        assert_true(st.overflow_pages >= (2u << 20) / ps);
        ASSERT_OK(digby_checkpoint(f->db));
        get_stat(f->db, &st);
        assert_int_equal(st.entries, 0);
    }
    assert_int_equal(st.overflow_pages, 0);
    assert_true(st.free_pages >= (2u << 20) / ps);
    check_thorough(f->db);

    /* two more commits let every reader and the fallback meta move past the
       frees; then writing the same data again must reuse them */
    ASSERT_OK(digby_put(f->db, S("tick"), S("1")));
    ASSERT_OK(digby_put(f->db, S("tick"), S("2")));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    put_ov_values(w, sizes, n);
    ASSERT_OK(digby_txn_commit(w));
    get_stat(f->db, &st);
    if (st.page_count > peak_pages + 8)
        print_error("page_count %llu after rewrite, peak before %llu: freed "
                    "overflow pages were not reused\n",
                    (unsigned long long)st.page_count,
                    (unsigned long long)peak_pages);
    assert_true(st.page_count <= peak_pages + 8);
    expect_ov_values(f->db, sizes, n);
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
        if (TEST_LOG_MODE) ASSERT_OK(digby_checkpoint(probe)); /* into the tree */
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
        if (i % per_txn == per_txn - 1) {
            ASSERT_OK(digby_txn_commit(w));
            /* log mode: each checkpoint appends the commit's keys at the
               right edge of the tree, as each commit does otherwise */
            if (TEST_LOG_MODE) ASSERT_OK(digby_checkpoint(f->db));
        }
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

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_overflow_512),
        T(test_overflow_4096),
        T(test_overflow_65536),
        T(test_overflow_steady_reuse),
        T(test_sequential_fill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
