/* api_lifecycle: black-box behaviour of the public API on well-formed input:
   abort, reopen, digby_stat, page sizes, the in-memory VFS and the
   version string. */
#define TEST_NAME "api_lifecycle"
#include "api_common.h" /* digby.h with the implementation, harness.h, values, reopen */

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
    uint64_t wid;
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
    wid = digby_txn_id(w);
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
    if (TEST_LOG_MODE) {
        /* creating t2 escalated the transaction: a checkpoint, the commit
           just before its id, went first; the abort committed nothing */
        assert_int_equal(s1.last_txid, wid - 1);
        assert_true(s1.last_txid > s0.last_txid);
        assert_int_equal(get_version(f->db, S("keep")), s0.last_txid);
    } else {
        assert_int_equal(s1.last_txid, s0.last_txid);
    }
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
    if (TEST_LOG_MODE) {
        /* close and open checkpoint (commits of their own); the aborted
           transaction's id is no version */
        assert_true(s1.last_txid > wid - 1);
        assert_int_equal(get_version(f->db, S("keep")), s0.last_txid);
        assert_int_equal(get_version(f->db, S("gone")), s0.last_txid);
    } else {
        assert_int_equal(s1.last_txid, s0.last_txid);
    }
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
    uint64_t vers[N], prev;
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
    prev = s0.last_txid;

    for (round = 0; round < 2; round++) {
        reopen(f);
        get_stat(f->db, &s1);
        if (TEST_LOG_MODE) {
            /* the same pages, but close merges the memtable and drops the
               log and a log-mode open starts one again: two checkpoints,
               each a commit (the versions below stay those of the puts) */
            assert_true(s1.last_txid >= prev + 2);
            prev = s1.last_txid;
        } else {
            assert_int_equal(s1.last_txid, s0.last_txid);
        }
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
        expect_table_count(r, "two", 2);
        expect_table_count(r, "empty", 0);
        digby_txn_abort(r);
    }
}

/* The sums of digby_stat's page counts hold. */
static void stat_sums_ok(const digby_stats *s)
{
    uint64_t sum = s->meta_pages + s->branch_pages + s->leaf_pages + s->overflow_pages +
                   s->freelist_pages + s->free_pages;
    if (sum > s->page_count)
        print_error("stat: meta %llu + branch %llu + leaf %llu + overflow "
                    "%llu + freelist %llu + free %llu > page_count %llu\n",
                    (unsigned long long)s->meta_pages, (unsigned long long)s->branch_pages,
                    (unsigned long long)s->leaf_pages, (unsigned long long)s->overflow_pages,
                    (unsigned long long)s->freelist_pages, (unsigned long long)s->free_pages,
                    (unsigned long long)s->page_count);
    assert_true(sum <= s->page_count);
    assert_int_equal(s->meta_pages, 2);
    if (TEST_LOG_MODE)
        /* the log chooses its next page before it writes it: that one page
           may lie past the end of the file (counted, not yet written) */
        assert_true(s->file_bytes + s->page_size >= s->page_count * s->page_size);
    else
        assert_true(s->file_bytes >= s->page_count * s->page_size);
    assert_true(s->depth <= 32);
}

/* digby_stat into *st, its sums sane, and the global tree's shape. */
static void get_stat_tree(digby_db *db, digby_stats *st, uint32_t depth, uint64_t entries,
                          uint64_t leaf_pages, uint64_t branch_pages)
{
    get_stat(db, st);
    stat_sums_ok(st);
    assert_int_equal(st->depth, depth);
    assert_int_equal(st->entries, entries);
    assert_int_equal(st->leaf_pages, leaf_pages);
    assert_int_equal(st->branch_pages, branch_pages);
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

    /* fresh */
    get_stat_tree(f->db, &st, 0, 0, 0, 0);
    assert_int_equal(st.page_size, 4096);
    assert_int_equal(st.tables, 0);
    assert_int_equal(st.table_entries, 0);
    assert_int_equal(st.overflow_pages, 0);
    assert_true(st.page_count >= 2);
    last = st.last_txid;

    /* one key: one leaf */
    ASSERT_OK(digby_put(f->db, S("k"), S("v")));
    if (TEST_LOG_MODE) {
        /* in the memtable, counted, no leaf until a checkpoint merges it */
        get_stat_tree(f->db, &st, 0, 1, 0, 0);
        assert_int_equal(st.memtable_entries, 1);
        assert_true(st.last_txid > last);
        ASSERT_OK(digby_checkpoint(f->db));
        get_stat(f->db, &st);
        assert_int_equal(st.memtable_entries, 0);
    }
    get_stat_tree(f->db, &st, 1, 1, 1, 0);
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
    stat_sums_ok(&st);
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
    stat_sums_ok(&st);
    assert_int_equal(st.entries, 20001);
    if (TEST_LOG_MODE) {
        /* the delete sits in the memtable: the value's pages are freed
           when a checkpoint merges it */
        assert_true(st.overflow_pages >= 40000 / 4096);
        ASSERT_OK(digby_checkpoint(f->db));
        get_stat(f->db, &st);
        stat_sums_ok(&st);
        assert_int_equal(st.entries, 20001);
    }
    assert_int_equal(st.overflow_pages, 0);
    assert_true(st.free_pages >= 40000 / 4096);
    free(big);
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
    test_alloc ca;
    digby_allocator al;
    unsigned char *big = make_val(4, 100000);
    digby_stats st;
    unsigned i;
    char k[32];
    size_t kn;
    const void *v;
    size_t vn;
    (void)state;

    al = test_alloc_init(&ca, 0, 0); /* counts, to prove the memory VFS frees everything */
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
        T(test_abort_discards),
        T(test_reopen_keeps_everything),
        T(test_stat_fields),
        T(test_page_size),
        T(test_mem_vfs),
        T(test_version_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
