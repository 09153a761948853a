/* range_delete: digby_txn_delete_range (issue #14 item 5) against a
   reference set of keys: argument errors, empty ranges, whole tables,
   ranges that cut through leaves and branches of deep trees (512-byte
   pages), overflow values and large keys inside the range (their pages
   come back: a refill does not grow the file), named tables beside the
   global tree, snapshots begun before, abort, cursors of the transaction,
   and log mode (memtable entries, the transaction's own and committed,
   and tree entries in the range).  digby_check runs clean after each
   change; DIGBY_TEST_SCALE scales the key counts and rounds.  make test
   runs it in log mode too (DIGBY_LOG_DEFAULT, as the api_* programs):
   every range delete then escalates its transaction first. */
#define TEST_NAME "range_delete"
#include "api_common.h" /* digby.h with the implementation, harness.h, values, reopen */

/* ---- the reference: key i is "key%07u" of 2i (odd numbers fall between
   keys), value val_byte(i, ..) of vlen(i) bytes ------------------------- */

typedef struct ref {
    unsigned n;              /* keys 0 .. n-1 */
    unsigned char *present;
    size_t (*vlen)(unsigned i);
} ref;

static size_t vlen_small(unsigned i) { return 4 + i % 13; }

/* every third value is an overflow item at 512-byte pages, every seventh
   spans several pages */
static size_t vlen_mixed(unsigned i)
{
    if (i % 7 == 0) return 1500 + (i % 5) * 300;
    if (i % 3 == 0) return 300 + i % 50;
    return 8 + i % 20;
}

static size_t kname(char *buf, unsigned i) { return num_key(buf, 2 * i); }

/* A bound between keys: just above key i (i = -1: below every key). */
static size_t kbetween(char *buf, long i)
{
    if (i < 0) return (size_t)sprintf(buf, "key"); /* a proper prefix of every key */
    return num_key(buf, (unsigned)(2 * i + 1));
}

static void ref_init(ref *r, unsigned n, size_t (*vlen)(unsigned))
{
    r->n = n;
    r->present = (unsigned char *)calloc(n ? n : 1, 1);
    assert_non_null(r->present);
    r->vlen = vlen;
}

static void ref_free(ref *r) { free(r->present); }

static unsigned ref_count(const ref *r)
{
    unsigned i, c = 0;
    for (i = 0; i < r->n; i++) c += r->present[i];
    return c;
}

/* Put keys [a, b) of r in txn's table t, and mark them present. */
static void fill(digby_txn *txn, digby_table *t, ref *r, unsigned a, unsigned b)
{
    char k[32];
    unsigned i;
    for (i = a; i < b; i++) {
        size_t kn = kname(k, i), vn = r->vlen(i);
        unsigned char *v = make_val(i, vn);
        ASSERT_OK(digby_txn_put(txn, t, k, kn, v, vn, 0));
        free(v);
        r->present[i] = 1;
    }
}

/* The table (NULL: the global tree) as txn sees it equals r: a forward
   scan gives exactly the present keys with their values; the count
   agrees. */
static void verify(digby_txn *txn, digby_table *t, const ref *r)
{
    digby_cursor *c = NULL;
    const void *k, *v;
    size_t kn, vn;
    char want[32];
    unsigned i = 0;
    uint64_t n = (uint64_t)-1;
    int rc;
    ASSERT_OK(digby_cursor_open(txn, t, &c));
    for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
        while (i < r->n && !r->present[i]) i++;
        assert_true(i < r->n);
        ASSERT_OK(digby_cursor_get(c, &k, &kn, &v, &vn, NULL));
        assert_int_equal(kn, kname(want, i));
        assert_memory_equal(k, want, kn);
        assert_int_equal(vn, r->vlen(i));
        assert_true(val_ok(i, v, vn));
        i++;
    }
    ASSERT_RC(rc, DIGBY_NOTFOUND);
    while (i < r->n && !r->present[i]) i++;
    assert_int_equal(i, r->n);
    digby_cursor_close(c);
    ASSERT_OK(digby_table_count(txn, t, &n));
    assert_int_equal(n, ref_count(r));
}

/* verify in a new read-only transaction (table: its name, or NULL). */
static void verify_committed(digby_db *db, const char *table, const ref *r)
{
    digby_txn *ro;
    digby_table *t = NULL;
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &ro));
    if (table) ASSERT_OK(digby_table_open(ro, table, 0, &t));
    verify(ro, t, r);
    digby_txn_abort(ro);
}

/* Range delete of keys [a, b) of r (a = -1: lo NULL; b = r->n: hi NULL;
   `between`: the bounds fall between keys instead of on them) in txn;
   the deleted count must be the reference's. */
static void del_range(digby_txn *txn, digby_table *t, ref *r, long a, long b, int between)
{
    char lo[32], hi[32];
    size_t lon = 0, hin = 0;
    uint64_t got = (uint64_t)-1;
    unsigned want = 0;
    long i;
    if (a >= 0) lon = between ? kbetween(lo, a - 1) : kname(lo, (unsigned)a);
    if (b < (long)r->n) hin = between ? kbetween(hi, b - 1) : kname(hi, (unsigned)b);
    for (i = a < 0 ? 0 : a; i < b && i < (long)r->n; i++) {
        want += r->present[i];
        r->present[i] = 0;
    }
    ASSERT_OK(digby_txn_delete_range(txn, t, a >= 0 ? lo : NULL, lon,
                                     b < (long)r->n ? hi : NULL, hin, &got));
    assert_int_equal(got, want);
}

/* del_range's call (between keys) without the checks: *rc and the count
   it returned; r is marked as if it succeeded. */
static void del_range_rc(digby_txn *txn, ref *r, long a, long b, int *rc, uint64_t *got)
{
    char lo[32], hi[32];
    size_t lon = kbetween(lo, a - 1), hin = kbetween(hi, b - 1);
    long i;
    for (i = a; i < b; i++) r->present[i] = 0;
    *got = 7;
    *rc = digby_txn_delete_range(txn, NULL, lo, lon, hi, hin, got);
}

static void open_opts(fixture *f, uint32_t page_size, uint32_t flags)
{
    open_with(f, page_size, flags);
}

static unsigned scaled(unsigned n)
{
    /* at least a quarter: the trees must stay three levels deep at 512
       bytes a page (make torture's quick pass runs at 0.05) */
    double v = n * test_scale();
    if (v < n / 4.0) v = n / 4.0;
    return v > 4e6 ? 4000000u : (unsigned)v;
}

/* ---- arguments ------------------------------------------------------------- */

static void test_arguments(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w, *ro;
    digby_table *t;
    uint64_t n = 7;
    ref r;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ref_init(&r, 20, vlen_small);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    fill(w, NULL, &r, 0, 20);
    ASSERT_OK(digby_table_open(w, "t", DIGBY_TABLE_CREATE, &t));
    ASSERT_OK(digby_txn_commit(w));

    ASSERT_RC(digby_txn_delete_range(NULL, NULL, NULL, 0, NULL, 0, &n), DIGBY_INVALID);
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &ro));
    ASSERT_RC(digby_txn_delete_range(ro, NULL, NULL, 0, NULL, 0, &n), DIGBY_READONLY);
    assert_int_equal(n, 0);
    verify(ro, NULL, &r);
    digby_txn_abort(ro);

    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    n = 7;
    ASSERT_RC(digby_txn_delete_range(w, NULL, NULL, 3, S("b"), &n), DIGBY_INVALID);
    assert_int_equal(n, 0);
    ASSERT_RC(digby_txn_delete_range(w, NULL, S("a"), NULL, 2, &n), DIGBY_INVALID);
    assert_int_equal(n, 0);
    /* lo > hi; also a lo above the empty hi */
    ASSERT_RC(digby_txn_delete_range(w, NULL, S("key0000010"), S("key0000002"), &n),
              DIGBY_INVALID);
    ASSERT_RC(digby_txn_delete_range(w, NULL, S("a"), "", 0, &n), DIGBY_INVALID);
#if SIZE_MAX > 0xFFFFFFFFu
    ASSERT_RC(digby_txn_delete_range(w, NULL, "k", (size_t)DIGBY_MAX_KEY_BYTES + 1, NULL, 0, &n),
              DIGBY_TOOBIG);
    ASSERT_RC(digby_txn_delete_range(w, NULL, NULL, 0, "k", (size_t)DIGBY_MAX_KEY_BYTES + 1, &n),
              DIGBY_TOOBIG);
#endif
    /* lo == hi, and hi the empty key: nothing, no error */
    n = 7;
    ASSERT_OK(digby_txn_delete_range(w, NULL, S("key0000010"), S("key0000010"), &n));
    assert_int_equal(n, 0);
    ASSERT_OK(digby_txn_delete_range(w, NULL, NULL, 0, "", 0, &n));
    assert_int_equal(n, 0);
    ASSERT_OK(digby_txn_delete_range(w, NULL, "", 0, "", 0, NULL));
    /* none of these poisoned the transaction */
    verify(w, NULL, &r);
    ASSERT_OK(digby_txn_put(w, NULL, S("zz"), S("v"), 0));
    ASSERT_OK(digby_txn_delete(w, NULL, S("zz")));
    /* a dropped table's handle */
    ASSERT_OK(digby_table_open(w, "t", 0, &t));
    ASSERT_OK(digby_table_drop(w, "t"));
    ASSERT_RC(digby_txn_delete_range(w, t, NULL, 0, NULL, 0, &n), DIGBY_BADTXN);
    /* an empty table: nothing */
    ASSERT_OK(digby_table_open(w, "u", DIGBY_TABLE_CREATE, &t));
    n = 7;
    ASSERT_OK(digby_txn_delete_range(w, t, NULL, 0, NULL, 0, &n));
    assert_int_equal(n, 0);
    ASSERT_OK(digby_txn_commit(w));
    verify_committed(f->db, NULL, &r);
    ref_free(&r);
}

/* ---- ranges with nothing in them write nothing ---------------------------- */

static void test_empty_ranges(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w;
    digby_stats a, b;
    uint64_t n, id;
    unsigned N = scaled(2000);
    ref r;
    open_opts(f, 512, 0);
    ref_init(&r, N, vlen_small);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    fill(w, NULL, &r, 0, N);
    ASSERT_OK(digby_txn_commit(w));
    ASSERT_OK(digby_checkpoint(f->db)); /* log mode: into the tree */
    get_stat(f->db, &a);
    assert_true(a.depth >= 3);

    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    id = digby_txn_id(w);
    /* between two neighbours; below the first key; above the last */
    del_range(w, NULL, &r, N / 2, N / 2, 1);
    ASSERT_OK(digby_txn_delete_range(w, NULL, S("a"), S("b"), &n));
    assert_int_equal(n, 0);
    ASSERT_OK(digby_txn_delete_range(w, NULL, S("key9"), NULL, 0, &n));
    assert_int_equal(n, 0);
    ASSERT_OK(digby_txn_delete_range(w, NULL, NULL, 0, S("key"), &n));
    assert_int_equal(n, 0);
    verify(w, NULL, &r);
    ASSERT_OK(digby_txn_commit(w));
    /* nothing was written: no commit happened (log mode: the first range
       escalated the transaction, a checkpoint and a commit) */
    get_stat(f->db, &b);
    if (!TEST_LOG_MODE) {
        assert_int_equal(b.page_count, a.page_count);
        assert_int_equal(b.free_pages, a.free_pages);
        ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &w));
        assert_true(digby_txn_id(w) < id);
        digby_txn_abort(w);
    }
    verify_committed(f->db, NULL, &r);
    ref_free(&r);
}

/* ---- whole table, then refill into the freed pages ------------------------ */

static void test_whole_table(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w;
    digby_stats a, b;
    unsigned N = scaled(3000), i;
    ref r;
    open_opts(f, 512, 0);
    ref_init(&r, N, vlen_mixed);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    fill(w, NULL, &r, 0, N);
    ASSERT_OK(digby_txn_commit(w));
    get_stat(f->db, &a);
    assert_true(a.depth >= 3);
    assert_true(a.overflow_pages > 0);

    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    del_range(w, NULL, &r, -1, N, 0);
    verify(w, NULL, &r);
    ASSERT_OK(digby_txn_commit(w));
    get_stat(f->db, &b);
    assert_int_equal(b.depth, 0);
    assert_int_equal(b.entries, 0);
    assert_int_equal(b.leaf_pages + b.branch_pages + b.overflow_pages, 0);
    /* every page of the tree and its items is free (or pending) */
    assert_true(b.free_pages >= a.leaf_pages + a.branch_pages + a.overflow_pages);
    check_thorough(f->db);

    /* some commits later no snapshot or meta page needs them: the same
       data fits in the same file (give or take the freelist's own pages,
       which each commit rewrites: 3% of the file at 512-byte pages) */
    for (i = 0; i < 2; i++) {
        ASSERT_OK(digby_put(f->db, S("tick"), S("tock")));
        ASSERT_OK(digby_delete(f->db, S("tick")));
    }
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    fill(w, NULL, &r, 0, N);
    ASSERT_OK(digby_txn_commit(w));
    get_stat(f->db, &b);
    assert_true(b.page_count <= a.page_count + a.page_count / 16 + 8);
    verify_committed(f->db, NULL, &r);
    ref_free(&r);
}

/* ---- random cuts through a deep tree ---------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Rounds of: refill some keys, then range deletes of every width (inside
   one leaf, across leaves, across branches, unbounded ends), each round a
   commit; checked against the reference after every range and with
   digby_check after every commit. */
static void run_cuts(fixture *f, uint32_t page_size, size_t (*vlen)(unsigned), const char *table)
{
    digby_txn *w;
    digby_table *t = NULL;
    unsigned N = scaled(2500), round, rounds = (unsigned)(6 * test_scale());
    uint64_t s = 0x5eed0001u + page_size;
    digby_stats st;
    ref r;
    open_opts(f, page_size, 0);
    ref_init(&r, N, vlen);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    if (table) ASSERT_OK(digby_table_open(w, table, DIGBY_TABLE_CREATE, &t));
    fill(w, t, &r, 0, N);
    ASSERT_OK(digby_txn_commit(w));
    ASSERT_OK(digby_checkpoint(f->db)); /* log mode: into the tree */
    get_stat(f->db, &st);
    if (!table && page_size == 512) assert_true(st.depth >= 3);
    for (round = 0; round < rounds; round++) {
        unsigned k;
        ASSERT_OK(digby_txn_begin(f->db, 0, &w));
        if (table) ASSERT_OK(digby_table_open(w, table, 0, &t));
        if (round) {
            /* refill a random stretch */
            unsigned a = (unsigned)(rng_next(&s) % N), b = a + (unsigned)(rng_next(&s) % (N / 3));
            fill(w, t, &r, a, b < N ? b : N);
        }
        for (k = 0; k < 6; k++) {
            uint64_t x = rng_next(&s);
            long a = (long)(x % N), width;
            switch ((x >> 20) % 6) {
            case 0: width = 1 + (long)((x >> 32) % 4); break;    /* inside a leaf */
            case 1: width = 5 + (long)((x >> 32) % 40); break;   /* across leaves */
            case 2: width = 50 + (long)((x >> 32) % 400); break; /* across branches */
            case 3: width = (long)N; break;                      /* to the end */
            case 4: width = (long)((x >> 32) % 200); a = -1; break; /* from the start */
            default: width = (long)N / 3; break;
            }
            del_range(w, t, &r, a, a < 0 ? width : a + width > (long)N ? (long)N : a + width,
                      (int)((x >> 40) & 1));
            verify(w, t, &r);
        }
        ASSERT_OK(digby_txn_commit(w));
        check_thorough(f->db);
        verify_committed(f->db, table, &r);
    }
    reopen(f);
    verify_committed(f->db, table, &r);
    ref_free(&r);
}

static void test_cuts_512(void **state) { run_cuts((fixture *)*state, 512, vlen_small, NULL); }
static void test_cuts_512_overflow(void **state)
{
    run_cuts((fixture *)*state, 512, vlen_mixed, NULL);
}
static void test_cuts_4096_table(void **state)
{
    run_cuts((fixture *)*state, 4096, vlen_mixed, "tab");
}

/* ---- many whole subtrees: the tree shrinks and its pages come back ---------- */

static void test_subtrees(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w;
    digby_stats a, b, c;
    unsigned N = scaled(6000), i;
    ref r;
    open_opts(f, 512, 0);
    ref_init(&r, N, vlen_mixed);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    fill(w, NULL, &r, 0, N);
    ASSERT_OK(digby_txn_commit(w));
    get_stat(f->db, &a);
    assert_true(a.depth >= 3);

    /* all but a few keys at both ends: whole subtrees at every level */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    del_range(w, NULL, &r, 3, (long)N - 3, 1);
    verify(w, NULL, &r);
    ASSERT_OK(digby_txn_commit(w));
    get_stat(f->db, &b);
    assert_int_equal(b.entries, 6);
    /* the pages of the middle went: what is left is the two edge paths */
    /* (each end's three keys may straddle a leaf boundary: trimmed edge
       leaves are not merged, Sen & Tarjan) */
    assert_true(b.leaf_pages <= 4);
    assert_true(b.branch_pages <= 2 * (uint64_t)a.depth);
    assert_true(b.depth <= a.depth);
    assert_true(b.overflow_pages <= 6 * 8); /* the six keys' items at most */
    assert_true(b.free_pages + b.leaf_pages + b.branch_pages + b.overflow_pages + 8 >=
                a.leaf_pages + a.branch_pages + a.overflow_pages);
    check_thorough(f->db);

    /* refill once the frees are reusable: no growth */
    for (i = 0; i < 2; i++) {
        ASSERT_OK(digby_put(f->db, S("tick"), S("tock")));
        ASSERT_OK(digby_delete(f->db, S("tick")));
    }
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    fill(w, NULL, &r, 0, N);
    ASSERT_OK(digby_txn_commit(w));
    get_stat(f->db, &c);
    assert_true(c.page_count <= a.page_count + a.page_count / 16 + 8);
    verify_committed(f->db, NULL, &r);

    /* all but the first keys: what is left fits one leaf, and the root
       gives way level by level down to it */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    del_range(w, NULL, &r, 3, (long)N, 0);
    ASSERT_OK(digby_txn_commit(w));
    get_stat(f->db, &c);
    assert_int_equal(c.entries, 3);
    assert_int_equal(c.depth, 1);
    assert_int_equal(c.branch_pages, 0);
    assert_int_equal(c.leaf_pages, 1);
    verify_committed(f->db, NULL, &r);
    ref_free(&r);
}

/* ---- large keys: ranges among keys that share more than max_key bytes ------- */

static void test_large_keys(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w;
    digby_stats a, b;
    const unsigned N = 240;
    size_t mk, len[240], i, j;
    unsigned char *keys[240], *lo, *hi;
    uint64_t n;
    unsigned present[240], want, cnt;
    digby_cursor *c;
    int rc;
    open_opts(f, 512, DIGBY_OPEN_NO_MMAP);
    mk = digby_max_key_bytes(f->db);
    /* families sharing 3 * max_key bytes, keys ordered by index */
    for (i = 0; i < N; i++) {
        len[i] = 3 * mk + 8;
        keys[i] = (unsigned char *)xmalloc(len[i]);
        memset(keys[i], 'A' + (int)(i / 80), len[i]);
        sprintf((char *)keys[i] + 3 * mk, "%06u", (unsigned)i);
        len[i] = 3 * mk + 6;
    }
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    for (i = 0; i < N; i++) {
        size_t vn = i % 4 == 0 ? 900 : 10;
        unsigned char *v = make_val((uint32_t)i, vn);
        ASSERT_OK(digby_txn_put(w, NULL, keys[i], len[i], v, vn, 0));
        free(v);
        present[i] = 1;
    }
    ASSERT_OK(digby_txn_commit(w));
    get_stat(f->db, &a);
    assert_true(a.depth >= 2);
    /* bounds: a key itself, and one between (a prefix of the next key's
       shared part plus a byte) */
    lo = (unsigned char *)xmalloc(3 * mk + 8);
    hi = (unsigned char *)xmalloc(3 * mk + 8);
    for (j = 0; j < 4; j++) {
        size_t x = 7 + 50 * j, y = x + 20 + 17 * j, lon = len[x], hin;
        memcpy(lo, keys[x], lon);
        memcpy(hi, keys[y], len[y]);
        hin = len[y];
        if (j & 1) {
            /* key y - 1 and a 0 byte: between it and key y */
            memcpy(hi, keys[y - 1], len[y - 1]);
            hi[len[y - 1]] = 0;
            hin = len[y - 1] + 1;
        }
        if (j == 3) y = N;           /* and hi NULL */
        ASSERT_OK(digby_txn_begin(f->db, 0, &w));
        want = 0;
        for (i = x; i < y; i++) {
            want += present[i];
            present[i] = 0;
        }
        ASSERT_OK(digby_txn_delete_range(w, NULL, lo, lon, y == N ? NULL : hi,
                                         y == N ? 0 : hin, &n));
        assert_int_equal(n, want);
        ASSERT_OK(digby_txn_commit(w));
        check_thorough(f->db);
        /* a scan gives exactly the present keys */
        ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &w));
        ASSERT_OK(digby_cursor_open(w, NULL, &c));
        i = 0;
        cnt = 0;
        for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
            const void *k, *v;
            size_t kn, vn;
            while (i < N && !present[i]) i++;
            assert_true(i < N);
            ASSERT_OK(digby_cursor_get(c, &k, &kn, &v, &vn, NULL));
            assert_int_equal(kn, len[i]);
            assert_memory_equal(k, keys[i], kn);
            assert_true(val_ok((uint32_t)i, v, vn));
            i++;
            cnt++;
        }
        ASSERT_RC(rc, DIGBY_NOTFOUND);
        while (i < N && !present[i]) i++;
        assert_int_equal(i, N);
        digby_cursor_close(c);
        digby_txn_abort(w);
        (void)cnt;
    }
    /* the large keys' and values' pages came back */
    get_stat(f->db, &b);
    assert_true(b.overflow_pages < a.overflow_pages);
    assert_true(b.free_pages > a.free_pages);
    for (i = 0; i < N; i++) free(keys[i]);
    free(lo);
    free(hi);
}

/* ---- tables beside the global tree ------------------------------------------ */

static void test_tables(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w;
    digby_table *t, *u;
    unsigned N = scaled(1500);
    ref rg, rt, ru;
    uint64_t n;
    open_opts(f, 512, 0);
    ref_init(&rg, N, vlen_small);
    ref_init(&rt, N, vlen_mixed);
    ref_init(&ru, N, vlen_small);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "t", DIGBY_TABLE_CREATE, &t));
    ASSERT_OK(digby_table_open(w, "u", DIGBY_TABLE_CREATE, &u));
    fill(w, NULL, &rg, 0, N);
    fill(w, t, &rt, 0, N);
    fill(w, u, &ru, 0, N);
    ASSERT_OK(digby_txn_commit(w));

    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "t", 0, &t));
    del_range(w, t, &rt, 10, (long)N - 10, 0);
    verify(w, t, &rt);
    verify(w, NULL, &rg);
    ASSERT_OK(digby_txn_commit(w));
    verify_committed(f->db, "t", &rt);
    verify_committed(f->db, "u", &ru);
    verify_committed(f->db, NULL, &rg);
    check_thorough(f->db);

    /* the global tree's range leaves the tables alone; counts survive a
       reopen (the catalog's) */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    del_range(w, NULL, &rg, -1, (long)N / 2, 1);
    ASSERT_OK(digby_txn_commit(w));
    reopen(f);
    verify_committed(f->db, "t", &rt);
    verify_committed(f->db, "u", &ru);
    verify_committed(f->db, NULL, &rg);
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &w));
    ASSERT_OK(digby_table_open(w, "t", 0, &t));
    ASSERT_OK(digby_table_count(w, t, &n));
    assert_int_equal(n, 20);
    digby_txn_abort(w);
    ref_free(&rg);
    ref_free(&rt);
    ref_free(&ru);
}

/* ---- snapshots, abort, cursors ------------------------------------------------ */

static void test_snapshot_and_abort(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w, *snap;
    unsigned N = scaled(2000);
    ref r, before;
    open_opts(f, 512, 0);
    ref_init(&r, N, vlen_mixed);
    ref_init(&before, N, vlen_mixed);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    fill(w, NULL, &r, 0, N);
    ASSERT_OK(digby_txn_commit(w));
    memcpy(before.present, r.present, N);

    /* abort: everything is back */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    del_range(w, NULL, &r, 100, (long)N - 100, 0);
    verify(w, NULL, &r);
    digby_txn_abort(w);
    verify_committed(f->db, NULL, &before);
    check_thorough(f->db);
    memcpy(r.present, before.present, N);

    /* a snapshot begun before keeps every key through the commit and the
       transactions after it (which must not reuse its pages) */
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &snap));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    del_range(w, NULL, &r, 50, (long)N - 50, 1);
    ASSERT_OK(digby_txn_commit(w));
    verify(snap, NULL, &before);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    fill(w, NULL, &r, 60, N / 2); /* new values into freed pages... */
    ASSERT_OK(digby_txn_commit(w));
    verify(snap, NULL, &before); /* ...not the snapshot's */
    verify_committed(f->db, NULL, &r);
    digby_txn_abort(snap);
    check_thorough(f->db);
    ref_free(&r);
    ref_free(&before);
}

static void test_cursors(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w;
    digby_cursor *in, *before, *after;
    unsigned N = scaled(1200) < 1000 ? 1000 : scaled(1200); /* keys 99..900 below */
    const void *k;
    size_t kn;
    char want[32];
    ref r;
    open_opts(f, 512, 0);
    ref_init(&r, N, vlen_small);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    fill(w, NULL, &r, 0, N);
    ASSERT_OK(digby_txn_commit(w));

    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_cursor_open(w, NULL, &in));
    ASSERT_OK(digby_cursor_open(w, NULL, &before));
    ASSERT_OK(digby_cursor_open(w, NULL, &after));
    kn = kname(want, 500);
    ASSERT_OK(digby_cursor_seek(in, want, kn, DIGBY_SEEK_EQ));
    kn = kname(want, 99);
    ASSERT_OK(digby_cursor_seek(before, want, kn, DIGBY_SEEK_EQ));
    kn = kname(want, 900);
    ASSERT_OK(digby_cursor_seek(after, want, kn, DIGBY_SEEK_EQ));
    del_range(w, NULL, &r, 100, 900, 0);
    /* on a deleted key: NOTFOUND; next goes to the first key past the
       range, prev to the last before it */
    ASSERT_RC(digby_cursor_get(in, &k, &kn, NULL, NULL, NULL), DIGBY_NOTFOUND);
    ASSERT_OK(digby_cursor_next(in));
    ASSERT_OK(digby_cursor_get(in, &k, &kn, NULL, NULL, NULL));
    assert_int_equal(kn, kname(want, 900));
    assert_memory_equal(k, want, kn);
    ASSERT_OK(digby_cursor_prev(in));
    ASSERT_OK(digby_cursor_get(in, &k, &kn, NULL, NULL, NULL));
    assert_int_equal(kn, kname(want, 99));
    assert_memory_equal(k, want, kn);
    /* beside the range: the same key, and steps across the gap */
    ASSERT_OK(digby_cursor_get(before, &k, &kn, NULL, NULL, NULL));
    assert_memory_equal(k, want, kn);
    ASSERT_OK(digby_cursor_next(before));
    ASSERT_OK(digby_cursor_get(before, &k, &kn, NULL, NULL, NULL));
    assert_int_equal(kn, kname(want, 900));
    assert_memory_equal(k, want, kn);
    ASSERT_OK(digby_cursor_prev(after));
    ASSERT_OK(digby_cursor_get(after, &k, &kn, NULL, NULL, NULL));
    assert_int_equal(kn, kname(want, 99));
    assert_memory_equal(k, want, kn);
    digby_cursor_close(in);
    digby_cursor_close(before);
    digby_cursor_close(after);
    ASSERT_OK(digby_txn_commit(w));
    verify_committed(f->db, NULL, &r);
    ref_free(&r);
}

/* ---- log mode ----------------------------------------------------------------- */

/* Keys in the tree (checkpointed), in the committed memtable, and the
   transaction's own puts and deletes, all inside the range; abort first,
   then commit, then reopen. */
static void test_log_mode(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w;
    digby_table *t;
    unsigned N = scaled(1500), pass;
    char k[32];
    size_t kn;
    ref r, saved;
    if (!strstr(digby_version(), " log")) skip(); /* a DIGBY_NO_LOG build */
    open_opts(f, 512, DIGBY_OPEN_LOG);
    ref_init(&r, N, vlen_small);
    ref_init(&saved, N, vlen_small);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "t", DIGBY_TABLE_CREATE, &t));
    fill(w, t, &r, 0, N / 2);
    ASSERT_OK(digby_txn_commit(w));
    ASSERT_OK(digby_checkpoint(f->db)); /* the first half in the tree */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "t", 0, &t));
    fill(w, t, &r, N / 2, N); /* the second in the memtable */
    kn = kname(k, 10);
    ASSERT_OK(digby_txn_delete(w, t, k, kn)); /* a tombstone over the tree */
    r.present[10] = 0;
    ASSERT_OK(digby_txn_commit(w));
    memcpy(saved.present, r.present, N);
    for (pass = 0; pass < 2; pass++) {
        ASSERT_OK(digby_txn_begin(f->db, 0, &w));
        ASSERT_OK(digby_table_open(w, "t", 0, &t));
        /* the transaction's own entries: puts inside and outside the
           range, a delete inside, a put over a committed key */
        fill(w, t, &r, N / 4, N / 4 + 5);
        kn = kname(k, N / 3);
        ASSERT_OK(digby_txn_delete(w, t, k, kn));
        r.present[N / 3] = 0;
        kn = kname(k, N - 2);
        ASSERT_OK(digby_txn_delete(w, t, k, kn));
        r.present[N - 2] = 0;
        verify(w, t, &r);
        del_range(w, t, &r, 5, (long)(3 * N / 4), pass);
        verify(w, t, &r);
        if (pass == 0) {
            digby_txn_abort(w);
            memcpy(r.present, saved.present, N);
            verify_committed(f->db, "t", &r);
            continue;
        }
        /* later writes in the same transaction (now copy-on-write) */
        fill(w, t, &r, 7, 9);
        verify(w, t, &r);
        ASSERT_OK(digby_txn_commit(w));
    }
    verify_committed(f->db, "t", &r);
    check_thorough(f->db);
    reopen(f);
    verify_committed(f->db, "t", &r);
    ref_free(&r);
    ref_free(&saved);
}

/* ---- out of memory at every allocation of a range delete ---------------------- */

/* The k-th allocation of a range delete over many subtrees fails, for
   every k until one succeeds: DIGBY_NOMEM comes back, the transaction is
   poisoned (a put gives DIGBY_POISONED), abort leaves the committed data
   whole and digby_check clean, and nothing leaks (the allocator's count
   of live blocks after close). */
static void test_oom_sweep(void **state)
{
    fixture *f = (fixture *)*state;
    digby_options o;
    test_alloc ta;
    digby_txn *w;
    unsigned N = scaled(1500), k;
    uint64_t n = 0;
    int rc = DIGBY_NOMEM;
    ref r, after;
    memset(&o, 0, sizeof o);
    o.page_size = 512;
    o.flags = DIGBY_OPEN_NO_MMAP;
    o.cache_bytes = 16 * 512;
    o.allocator = test_alloc_init(&ta, 0, 0);
    ASSERT_OK(digby_open(f->path, &o, &f->db));
    ref_init(&r, N, vlen_mixed);
    ref_init(&after, N, vlen_mixed);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    fill(w, NULL, &r, 0, N);
    ASSERT_OK(digby_txn_commit(w));
    ASSERT_OK(digby_checkpoint(f->db));
    memcpy(after.present, r.present, N);
    for (k = 1; k < 20000 && rc == DIGBY_NOMEM; k++) {
        ASSERT_OK(digby_txn_begin(f->db, 0, &w));
        ta.fail_at = ta.calls + k;
        memcpy(after.present, r.present, N);
        del_range_rc(w, &after, 10, (long)N - 10, &rc, &n);
        ta.fail_at = 0;
        if (rc == DIGBY_OK) {
            assert_int_equal(n, N - 20);
            verify(w, NULL, &after);
            ASSERT_OK(digby_txn_commit(w));
            break;
        }
        ASSERT_RC(rc, DIGBY_NOMEM);
        assert_int_equal(n, 0);
        ASSERT_RC(digby_txn_put(w, NULL, S("x"), S("y"), 0), DIGBY_POISONED);
        digby_txn_abort(w);
        if (k % 16 == 1) {
            verify_committed(f->db, NULL, &r);
            check_clean(f->db);
        }
    }
    ASSERT_OK(rc);
    assert_true(k > 1); /* some allocation failed on the way */
    print_message("oom sweep: %u allocations of the range delete failed in turn\n", k - 1);
    verify_committed(f->db, NULL, &after);
    check_thorough(f->db);
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;
    assert_int_equal(ta.live, 0);
    ref_free(&r);
    ref_free(&after);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_arguments),
        T(test_empty_ranges),
        T(test_whole_table),
        T(test_cuts_512),
        T(test_cuts_512_overflow),
        T(test_cuts_4096_table),
        T(test_subtrees),
        T(test_large_keys),
        T(test_tables),
        T(test_snapshot_and_abort),
        T(test_cursors),
        T(test_log_mode),
        T(test_oom_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
