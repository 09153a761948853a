/* large_items: large keys, overflow items, streaming value I/O, compression.

   Large keys (past digby_max_key_bytes) in families that tie on the bytes
   a large key's cell keeps (224) and on more than max_key bytes (tie
   separators), mixed with ordinary keys; gets, scans both ways and seeks
   against a sorted reference; overwrite and delete free every page.
   Compression on and off and per put; files reopened; values at chunk
   boundaries; incompressible data; range reads at every chunk boundary;
   streaming puts in odd-sized pieces; SHA-256 test vectors.  The 4 GiB - 1
   value is tests/long/huge_value.c (make longtest); this file covers the
   same code with small sizes.

   Files go to $DIGBY_TEST_DIR (default /tmp).  Every test that opens a
   database runs digby_check() clean before it closes it. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define DIGBY_IMPLEMENTATION
#include "digby.h"

#define TEST_NAME "large_items"
#include "harness.h" /* rc_name, ASSERT_RC, make_path, check_clean, keycmp, xmalloc */
#include "sha256_vectors.h" /* FIPS 180-4 vectors, shared with tests/nolz4/main.c */

/* ---- helpers ------------------------------------------------------------ */

static uint64_t g_rng = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}
static size_t below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

static digby_db *open_db(const char *path, uint32_t page_size, uint32_t compression)
{
    digby_options o;
    digby_db *db = NULL;
    memset(&o, 0, sizeof(o));
    o.page_size = page_size;
    o.flags = DIGBY_OPEN_NO_SYNC;
    o.compression = compression;
    ASSERT_OK(digby_open(path, &o, &db));
    return db;
}

/* Value bytes: compressible (a few distinct words, repeated) or not. */
static unsigned char val_byte(uint32_t seed, uint64_t j, int compressible)
{
    uint64_t x;
    if (compressible) {
        x = (j / 16) % 61 + seed;
        return (unsigned char)("digby large values compress well"[x % 32] ^ (j % 16 == 0));
    }
    x = (seed + 1) * 0x9e3779b97f4a7c15u + j * 0xbf58476d1ce4e5b9u;
    x ^= x >> 31;
    x *= 0x94d049bb133111ebu;
    return (unsigned char)(x >> 56);
}

static unsigned char *make_val(uint32_t seed, size_t n, int compressible)
{
    unsigned char *v = (unsigned char *)xmalloc(n);
    size_t j;
    for (j = 0; j < n; j++) v[j] = val_byte(seed, j, compressible);
    return v;
}

static int val_ok(uint32_t seed, uint64_t off, const unsigned char *p, size_t n, int compressible)
{
    size_t j;
    for (j = 0; j < n; j++)
        if (p[j] != val_byte(seed, off + j, compressible)) return 0;
    return 1;
}

/* ---- the key space ---------------------------------------------------------- */

typedef struct bkey {
    unsigned char *p;
    size_t n;
    int present;
    uint32_t vseed;
    size_t vlen;
} bkey;

static size_t g_nkeys;
static bkey *g_keys;

static int bkey_cmp(const void *a, const void *b)
{
    const bkey *x = (const bkey *)a, *y = (const bkey *)b;
    return keycmp(x->p, x->n, y->p, y->n);
}

static void add_key(size_t *n, const unsigned char *p, size_t len)
{
    g_keys[*n].p = (unsigned char *)xmalloc(len);
    if (len) memcpy(g_keys[*n].p, p, len);
    g_keys[*n].n = len;
    (*n)++;
}

/* Families of keys: large keys that tie on their first 230 bytes (past
   the 224 a large key's cell keeps), large keys that tie on max_key + 50
   bytes (tie separators), ordinary keys among them, keys of exactly the
   shared prefix, and ordinary short keys. */
static void gen_keys(size_t mk, size_t per_family)
{
    size_t cap = 4 * per_family + 64, n = 0, f, i, j, base, len;
    size_t big = mk + 2500;
    unsigned char *b = (unsigned char *)xmalloc(big + 64);
    g_keys = (bkey *)calloc(cap, sizeof(bkey));
    assert_non_null(g_keys);
    for (f = 0; f < 3; f++) {
        base = f == 0 ? 230 : (f == 1 ? mk + 50 : 20);
        for (i = 0; i < base; i++) b[i] = (unsigned char)('A' + f);
        b[base / 2] = (unsigned char)'=';
        add_key(&n, b, base); /* the shared prefix itself */
        b[base] = 0;
        add_key(&n, b, base + 1);
        for (i = 0; i < per_family; i++) {
            if (i % 5 == 0 && base + 1 < mk) len = base + 1 + below(mk - base);
            else len = mk + 1 + below(big - mk);
            if (len <= base) len = base + 1;
            for (j = base; j < len; j++) b[j] = (unsigned char)('a' + below(3));
            /* some pairs differ only in their very last byte */
            add_key(&n, b, len);
            if (i % 7 == 0) {
                b[len - 1] ^= 1;
                add_key(&n, b, len);
            }
        }
    }
    for (i = 0; i < per_family; i++) {
        len = 1 + below(40);
        for (j = 0; j < len; j++) b[j] = (unsigned char)('a' + below(26));
        add_key(&n, b, len);
    }
    add_key(&n, b, 0);
    memset(b, 'z', mk + 1);
    add_key(&n, b, mk);
    add_key(&n, b, mk + 1);
    free(b);
    qsort(g_keys, n, sizeof(bkey), bkey_cmp);
    for (i = 0, j = 0; i < n; i++) {
        if (j && bkey_cmp(&g_keys[j - 1], &g_keys[i]) == 0) {
            free(g_keys[i].p);
            continue;
        }
        g_keys[j++] = g_keys[i];
    }
    g_nkeys = j;
}

static void free_keys(void)
{
    size_t i;
    for (i = 0; i < g_nkeys; i++) free(g_keys[i].p);
    free(g_keys);
    g_keys = NULL;
    g_nkeys = 0;
}

/* Every key present has its value; every other key is missing. */
static void verify_gets(digby_db *db)
{
    digby_txn *r;
    size_t i;
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &r));
    for (i = 0; i < g_nkeys; i++) {
        const void *v;
        size_t vn;
        int rc = digby_txn_get(r, NULL, g_keys[i].p, g_keys[i].n, &v, &vn, NULL);
        if (!g_keys[i].present) {
            ASSERT_RC(rc, DIGBY_NOTFOUND);
            continue;
        }
        ASSERT_OK(rc);
        assert_int_equal(vn, g_keys[i].vlen);
        assert_true(val_ok(g_keys[i].vseed, 0, (const unsigned char *)v, vn, 1));
    }
    digby_txn_abort(r);
}

/* Scans both ways give exactly the present keys, in order. */
static void verify_scans(digby_db *db)
{
    digby_txn *r;
    digby_cursor *c = read_cursor(db, &r);
    size_t i = 0;
    int rc;
    for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
        const void *k, *v;
        size_t kn, vn;
        while (i < g_nkeys && !g_keys[i].present) i++;
        assert_true(i < g_nkeys);
        ASSERT_OK(digby_cursor_get(c, &k, &kn, &v, &vn, NULL));
        assert_int_equal(kn, g_keys[i].n);
        assert_memory_equal(k, g_keys[i].p, kn);
        assert_int_equal(vn, g_keys[i].vlen);
        i++;
    }
    ASSERT_RC(rc, DIGBY_NOTFOUND);
    while (i < g_nkeys && !g_keys[i].present) i++;
    assert_int_equal(i, g_nkeys);
    i = g_nkeys;
    for (rc = digby_cursor_last(c); rc == DIGBY_OK; rc = digby_cursor_prev(c)) {
        const void *k;
        size_t kn;
        while (i > 0 && !g_keys[i - 1].present) i--;
        assert_true(i > 0);
        i--;
        ASSERT_OK(digby_cursor_get(c, &k, &kn, NULL, NULL, NULL));
        assert_int_equal(kn, g_keys[i].n);
        assert_memory_equal(k, g_keys[i].p, kn);
    }
    ASSERT_RC(rc, DIGBY_NOTFOUND);
    while (i > 0 && !g_keys[i - 1].present) i--;
    assert_int_equal(i, 0);
    read_cursor_end(c, r);
}

/* Index of the first present key >= (or > when strict) probe; g_nkeys if none. */
static size_t ref_ge(const unsigned char *p, size_t n, int strict)
{
    size_t i;
    for (i = 0; i < g_nkeys; i++) {
        int c;
        if (!g_keys[i].present) continue;
        c = keycmp(g_keys[i].p, g_keys[i].n, p, n);
        if (c > 0 || (c == 0 && !strict)) return i;
    }
    return g_nkeys;
}

static size_t ref_le(const unsigned char *p, size_t n, int strict)
{
    size_t i;
    for (i = g_nkeys; i > 0; i--) {
        int c;
        if (!g_keys[i - 1].present) continue;
        c = keycmp(g_keys[i - 1].p, g_keys[i - 1].n, p, n);
        if (c < 0 || (c == 0 && !strict)) return i - 1;
    }
    return g_nkeys;
}

static void expect_seek(digby_cursor *c, const unsigned char *p, size_t n, digby_seek_op op)
{
    size_t want = 0;
    int rc = digby_cursor_seek(c, p, n, op);
    switch (op) {
    case DIGBY_SEEK_GE: want = ref_ge(p, n, 0); break;
    case DIGBY_SEEK_GT: want = ref_ge(p, n, 1); break;
    case DIGBY_SEEK_LE: want = ref_le(p, n, 0); break;
    case DIGBY_SEEK_LT: want = ref_le(p, n, 1); break;
    case DIGBY_SEEK_EQ:
        want = ref_ge(p, n, 0);
        if (want < g_nkeys && keycmp(g_keys[want].p, g_keys[want].n, p, n) != 0) want = g_nkeys;
        break;
    }
    if (want == g_nkeys) {
        ASSERT_RC(rc, DIGBY_NOTFOUND);
    } else {
        const void *k;
        size_t kn;
        ASSERT_OK(rc);
        ASSERT_OK(digby_cursor_get(c, &k, &kn, NULL, NULL, NULL));
        assert_int_equal(kn, g_keys[want].n);
        assert_memory_equal(k, g_keys[want].p, kn);
    }
}

/* Seeks with every operator on every key, its neighbours and prefixes. */
static void verify_seeks(digby_db *db, size_t stride)
{
    digby_txn *r;
    digby_cursor *c = read_cursor(db, &r);
    size_t i;
    unsigned op;
    for (i = 0; i < g_nkeys; i += stride) {
        const bkey *k = &g_keys[i];
        unsigned char *p = (unsigned char *)xmalloc(k->n + 2);
        if (k->n) memcpy(p, k->p, k->n);
        for (op = 0; op <= DIGBY_SEEK_EQ; op++) {
            expect_seek(c, p, k->n, (digby_seek_op)op);
            if (k->n) {
                expect_seek(c, p, k->n - 1, (digby_seek_op)op);
                p[k->n - 1]++;
                expect_seek(c, p, k->n, (digby_seek_op)op);
                p[k->n - 1]--;
            }
            p[k->n] = 0;
            expect_seek(c, p, k->n + 1, (digby_seek_op)op);
            if (k->n > 300) expect_seek(c, p, 300, (digby_seek_op)op);
        }
        free(p);
    }
    read_cursor_end(c, r);
}

/* Tie separators in the global tree (white-box). */
static unsigned count_ties(digby_db *db)
{
    digby_txn *r;
    struct { uint64_t pgno, txid; unsigned next; } st[DIGBY__MAX_DEPTH];
    int sp = 0;
    unsigned ties = 0;
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &r));
    if (r->meta.main.depth < 2) { digby_txn_abort(r); return 0; }
    st[0].pgno = r->meta.main.root;
    st[0].txid = r->meta.main.root_txid;
    st[0].next = 0;
    while (sp >= 0) {
        const uint8_t *p;
        digby__frame *f;
        ASSERT_OK(digby__page_get(r, st[sp].pgno, st[sp].txid, &p, &f));
        if (p[0] == DIGBY__PAGE_BRANCH && st[sp].next < digby__node_n(p)) {
            digby__cell cell;
            unsigned i = st[sp].next++;
            if (i == 0) {
                unsigned j;
                for (j = 1; j < digby__node_n(p); j++) ties += (unsigned)digby__branch_tie(p, j);
            }
            digby__node_cell(p, i, &cell);
            digby__page_unpin(db, f);
            if ((uint32_t)sp + 2 < r->meta.main.depth) {
                sp++;
                st[sp].pgno = cell.child;
                st[sp].txid = cell.child_txid;
                st[sp].next = 0;
            }
            continue;
        }
        digby__page_unpin(db, f);
        sp--;
    }
    digby_txn_abort(r);
    return ties;
}

/* ---- large keys ------------------------------------------------------------- */

static void put_key(digby_txn *w, size_t i, unsigned flags)
{
    bkey *k = &g_keys[i];
    unsigned char *v;
    k->vseed = (uint32_t)rnd();
    k->vlen = below(4) == 0 ? 2000 + below(150000) : below(40);
    v = make_val(k->vseed, k->vlen, 1);
    ASSERT_OK(digby_txn_put(w, NULL, k->p, k->n, v, k->vlen, flags));
    k->present = 1;
    free(v);
}

static void run_large_keys(uint32_t ps, uint32_t compression, size_t per_family)
{
    char path[512];
    digby_db *db;
    digby_txn *w;
    digby_stats st;
    size_t i, *order, mk;
    unsigned ties;
    make_path(path, sizeof(path), "large");
    db = open_db(path, ps, compression);
    mk = digby_max_key_bytes(db);
    gen_keys(mk, per_family);
    order = (size_t *)xmalloc(g_nkeys * sizeof(size_t));
    for (i = 0; i < g_nkeys; i++) order[i] = i;
    for (i = g_nkeys; i > 1; i--) {
        size_t j = below(i), t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    /* insert in random order, in a few transactions, some compressed */
    for (i = 0; i < g_nkeys; i++) {
        if (i % 40 == 0) ASSERT_OK(digby_txn_begin(db, 0, &w));
        put_key(w, order[i], i % 3 == 0 ? DIGBY_PUT_COMPRESS : 0);
        if (i % 40 == 39 || i + 1 == g_nkeys) ASSERT_OK(digby_txn_commit(w));
    }
    check_clean(db);
    verify_gets(db);
    verify_scans(db);
    verify_seeks(db, ps == 512 ? 3 : 1);
    ties = count_ties(db);
    if (ps == 4096) assert_true(ties > 0);
    print_message("large keys, %u-byte pages, compression %u: %lu keys (max_key %lu), %u tie separators\n",
                  ps, compression, (unsigned long)g_nkeys, (unsigned long)mk, ties);

    /* reopened */
    ASSERT_OK(digby_close(db));
    db = open_db(path, 0, compression);
    verify_gets(db);
    verify_scans(db);

    /* overwrite half, delete a third, in random order */
    ASSERT_OK(digby_txn_begin(db, 0, &w));
    for (i = 0; i < g_nkeys; i++) {
        size_t k = order[i];
        if (i % 2 == 0) {
            put_key(w, k, 0);
        } else if (i % 3 == 0) {
            ASSERT_OK(digby_txn_delete(w, NULL, g_keys[k].p, g_keys[k].n));
            g_keys[k].present = 0;
        }
    }
    ASSERT_OK(digby_txn_commit(w));
    check_clean(db);
    verify_gets(db);
    verify_scans(db);
    verify_seeks(db, 7);

    /* delete everything (large keys through the auto-commit helper too):
       every overflow page is freed */
    ASSERT_OK(digby_txn_begin(db, 0, &w));
    for (i = 0; i < g_nkeys; i++) {
        size_t k = order[i];
        if (!g_keys[k].present || i % 9 == 0) continue;
        ASSERT_OK(digby_txn_delete(w, NULL, g_keys[k].p, g_keys[k].n));
        g_keys[k].present = 0;
    }
    ASSERT_OK(digby_txn_commit(w));
    for (i = 0; i < g_nkeys; i++) {
        if (!g_keys[i].present) continue;
        ASSERT_OK(digby_delete(db, g_keys[i].p, g_keys[i].n));
        ASSERT_RC(digby_delete(db, g_keys[i].p, g_keys[i].n), DIGBY_NOTFOUND);
        g_keys[i].present = 0;
    }
    check_clean(db);
    verify_scans(db);
    if (TEST_LOG_MODE) {
        /* deletes of keys that sit in their leaf went to the memtable: a
           checkpoint merges them; the live log keeps its pages */
        ASSERT_OK(digby_checkpoint(db));
        check_clean(db);
        get_stat(db, &st);
        assert_true(st.memtable_entries == 0);
        assert_true(st.log_pages >= 1);
    }
    get_stat(db, &st);
    assert_true(st.entries == 0);
    assert_true(st.overflow_pages == 0);
    assert_true(st.leaf_pages == 0 && st.branch_pages == 0);
    if (TEST_LOG_MODE)
        assert_true(st.free_pages + st.freelist_pages + st.log_pages + 2 == st.page_count);
    else
        assert_true(st.free_pages + st.freelist_pages + 2 == st.page_count);
    ASSERT_OK(digby_close(db));
    unlink(path);
    free(order);
    free_keys();
}

static void test_large_keys_512(void **state) { (void)state; run_large_keys(512, 0, 25); }
static void test_large_keys_4096(void **state) { (void)state; run_large_keys(4096, 0, 120); }
static void test_large_keys_4096_lz4(void **state) { (void)state; run_large_keys(4096, DIGBY_COMPRESS_LZ4, 60); }
static void test_large_keys_65536(void **state) { (void)state; run_large_keys(65536, 0, 12); }

/* A cursor on a large key in a read-write transaction survives writes:
   the key under it deleted, overwritten, keys put beside it. */
static void test_cursor_large_keys_writes(void **state)
{
    char path[512];
    digby_db *db;
    digby_txn *w;
    digby_cursor *c;
    unsigned char *k[6];
    size_t kn = 3000, i, n;
    const void *kp, *vp;
    (void)state;
    make_path(path, sizeof(path), "cur");
    db = open_db(path, 4096, 0);
    for (i = 0; i < 6; i++) {
        k[i] = (unsigned char *)xmalloc(kn);
        memset(k[i], 'k', kn);
        k[i][kn - 1] = (unsigned char)('0' + 2 * i); /* ties on all but the last byte */
    }
    ASSERT_OK(digby_txn_begin(db, 0, &w));
    for (i = 0; i < 6; i++) ASSERT_OK(digby_txn_put(w, NULL, k[i], kn, &i, sizeof(i), 0));
    ASSERT_OK(digby_cursor_open(w, NULL, &c));
    ASSERT_OK(digby_cursor_seek(c, k[2], kn, DIGBY_SEEK_EQ));
    /* delete the entry under the cursor: next and prev still work */
    ASSERT_OK(digby_txn_delete(w, NULL, k[2], kn));
    ASSERT_RC(digby_cursor_get(c, &kp, &n, NULL, NULL, NULL), DIGBY_NOTFOUND);
    ASSERT_OK(digby_cursor_next(c));
    ASSERT_OK(digby_cursor_get(c, &kp, &n, &vp, NULL, NULL));
    assert_int_equal(n, kn);
    assert_memory_equal(kp, k[3], kn);
    ASSERT_OK(digby_txn_delete(w, NULL, k[3], kn));
    ASSERT_OK(digby_cursor_prev(c));
    ASSERT_OK(digby_cursor_get(c, &kp, &n, NULL, NULL, NULL));
    assert_memory_equal(kp, k[1], kn);
    /* overwrite it, and put a key between it and the next */
    ASSERT_OK(digby_txn_put(w, NULL, k[1], kn, "new", 3, 0));
    k[2][kn - 1] = '3';
    ASSERT_OK(digby_txn_put(w, NULL, k[2], kn, "mid", 3, 0));
    ASSERT_OK(digby_cursor_get(c, &kp, &n, &vp, &i, NULL));
    assert_memory_equal(kp, k[1], kn);
    assert_int_equal(i, 3);
    assert_memory_equal(vp, "new", 3);
    ASSERT_OK(digby_cursor_next(c));
    ASSERT_OK(digby_cursor_get(c, &kp, &n, &vp, NULL, NULL));
    assert_memory_equal(kp, k[2], kn);
    ASSERT_OK(digby_cursor_next(c));
    ASSERT_OK(digby_cursor_get(c, &kp, &n, NULL, NULL, NULL));
    assert_memory_equal(kp, k[4], kn);
    digby_cursor_close(c);
    ASSERT_OK(digby_txn_commit(w));
    check_clean(db);
    ASSERT_OK(digby_close(db));
    unlink(path);
    for (i = 0; i < 6; i++) free(k[i]);
}

/* Large keys in a table that is dropped: every page comes back. */
static void test_large_keys_table_drop(void **state)
{
    char path[512];
    digby_db *db;
    digby_txn *w;
    digby_table *t;
    digby_stats st;
    unsigned char *k = (unsigned char *)xmalloc(20000), *v = make_val(7, 300000, 0);
    unsigned i;
    (void)state;
    make_path(path, sizeof(path), "drop");
    db = open_db(path, 1024, DIGBY_COMPRESS_LZ4);
    memset(k, 'q', 20000);
    ASSERT_OK(digby_txn_begin(db, 0, &w));
    ASSERT_OK(digby_table_open(w, "big", DIGBY_TABLE_CREATE, &t));
    for (i = 0; i < 40; i++) {
        k[19999 - i] = (unsigned char)i;
        ASSERT_OK(digby_txn_put(w, t, k, 10000 + 250 * i, v, 1000 * i, 0));
    }
    ASSERT_OK(digby_txn_commit(w));
    check_clean(db);
    get_stat(db, &st);
    assert_true(st.overflow_pages > 40);
    ASSERT_OK(digby_txn_begin(db, 0, &w));
    ASSERT_OK(digby_table_drop(w, "big"));
    ASSERT_OK(digby_txn_commit(w));
    check_clean(db);
    get_stat(db, &st);
    assert_true(st.overflow_pages == 0 && st.tables == 0);
    ASSERT_OK(digby_close(db));
    unlink(path);
    free(k);
    free(v);
}

/* ---- compression --------------------------------------------------------------- */

static void put_val(digby_db *db, const char *key, uint32_t seed, size_t n, int compressible,
                    unsigned flags)
{
    digby_txn *w;
    unsigned char *v = make_val(seed, n, compressible);
    ASSERT_OK(digby_txn_begin(db, 0, &w));
    ASSERT_OK(digby_txn_put(w, NULL, key, strlen(key), v, n, flags));
    ASSERT_OK(digby_txn_commit(w));
    free(v);
}

static void expect_val(digby_db *db, const char *key, uint32_t seed, size_t n, int compressible)
{
    void *v;
    size_t vn;
    ASSERT_OK(digby_get(db, key, strlen(key), &v, &vn, NULL));
    assert_int_equal(vn, n);
    assert_true(val_ok(seed, 0, (const unsigned char *)v, vn, compressible));
    digby_free(db, v);
}

/* Overflow pages one value takes (stat before and after the put). */
static uint64_t pages_of(digby_db *db, const char *key, uint32_t seed, size_t n, int compressible,
                         unsigned flags)
{
    digby_stats a, b;
    get_stat(db, &a);
    put_val(db, key, seed, n, compressible, flags);
    get_stat(db, &b);
    return b.overflow_pages - a.overflow_pages;
}

static const size_t g_sizes[] = {3000, 5000, 65535, 65536, 65537, 131072, 3 * 65536 + 1,
                                 5 * 65536 + 4321};

static void test_compression_roundtrip(void **state)
{
    char path[512];
    digby_db *db;
    size_t i;
    uint64_t raw, lz4, off, inc;
    char key[32];
    digby_options o;
    (void)state;
    make_path(path, sizeof(path), "lz4");
    db = open_db(path, 4096, DIGBY_COMPRESS_LZ4);
    for (i = 0; i < sizeof(g_sizes) / sizeof(g_sizes[0]); i++) {
        size_t n = g_sizes[i];
        sprintf(key, "raw%lu", (unsigned long)i);
        raw = pages_of(db, key, (uint32_t)i, n, 1, DIGBY_PUT_NO_COMPRESS);
        sprintf(key, "lz4%lu", (unsigned long)i);
        lz4 = pages_of(db, key, (uint32_t)i, n, 1, 0);
        sprintf(key, "inc%lu", (unsigned long)i);
        inc = pages_of(db, key, (uint32_t)i, n, 0, 0);
        sprintf(key, "off%lu", (unsigned long)i);
        off = pages_of(db, key, (uint32_t)i, n, 0, DIGBY_PUT_NO_COMPRESS);
        print_message("value %7lu bytes: %3lu pages raw, %3lu lz4; incompressible %3lu (raw %lu)\n",
                      (unsigned long)n, (unsigned long)raw, (unsigned long)lz4,
                      (unsigned long)inc, (unsigned long)off);
        if (n > 4096) assert_true(lz4 < raw);
        assert_true(inc == off); /* incompressible data is stored raw */
    }
    check_clean(db);
    ASSERT_OK(digby_close(db));

    /* reopened without compression: everything reads back */
    db = open_db(path, 0, 0);
    for (i = 0; i < sizeof(g_sizes) / sizeof(g_sizes[0]); i++) {
        sprintf(key, "raw%lu", (unsigned long)i);
        expect_val(db, key, (uint32_t)i, g_sizes[i], 1);
        sprintf(key, "lz4%lu", (unsigned long)i);
        expect_val(db, key, (uint32_t)i, g_sizes[i], 1);
        sprintf(key, "inc%lu", (unsigned long)i);
        expect_val(db, key, (uint32_t)i, g_sizes[i], 0);
    }
    /* DIGBY_PUT_COMPRESS without the option; overwrite compressed with raw */
    raw = pages_of(db, "x", 1, 300000, 1, 0);
    lz4 = pages_of(db, "y", 1, 300000, 1, DIGBY_PUT_COMPRESS);
    assert_true(lz4 < raw);
    put_val(db, "y", 2, 200000, 1, 0);
    expect_val(db, "y", 2, 200000, 1);
    put_val(db, "x", 3, 200001, 1, DIGBY_PUT_COMPRESS);
    expect_val(db, "x", 3, 200001, 1);
    {
        digby_txn *w;
        ASSERT_OK(digby_txn_begin(db, 0, &w));
        ASSERT_RC(digby_txn_put(w, NULL, "z", 1, "v", 1,
                                DIGBY_PUT_COMPRESS | DIGBY_PUT_NO_COMPRESS), DIGBY_INVALID);
        ASSERT_RC(digby_txn_put(w, NULL, "z", 1, "v", 1, 0x80), DIGBY_INVALID);
        ASSERT_OK(digby_txn_put(w, NULL, "z", 1, "v", 1, 0)); /* not poisoned */
        ASSERT_OK(digby_txn_commit(w));
    }
    check_clean(db);
    ASSERT_OK(digby_close(db));
    memset(&o, 0, sizeof(o));
    o.compression = 7;
    ASSERT_RC(digby_open(path, &o, &db), DIGBY_INVALID);
    assert_non_null(strstr(digby_version(), " lz4"));
    unlink(path);
}

/* Incompressible data takes no more pages than raw; data that compresses
   at first and then does not stores those chunks raw. */
static void test_incompressible(void **state)
{
    char path[512];
    digby_db *db;
    digby_txn *w;
    unsigned char *v;
    size_t n = 8 * 65536 + 17, j;
    uint64_t before, raw_pages, mixed_pages;
    digby_stats st;
    (void)state;
    make_path(path, sizeof(path), "incomp");
    db = open_db(path, 4096, DIGBY_COMPRESS_LZ4);
    v = make_val(5, n, 0);
    get_stat(db, &st);
    before = st.overflow_pages;
    put_val(db, "rand", 5, n, 0, 0);
    get_stat(db, &st);
    raw_pages = st.overflow_pages - before;
    /* the same bytes with a compressible first chunk */
    for (j = 0; j < 65536; j++) v[j] = val_byte(9, j, 1);
    ASSERT_OK(digby_txn_begin(db, 0, &w));
    ASSERT_OK(digby_txn_put(w, NULL, "mixed", 5, v, n, 0));
    ASSERT_OK(digby_txn_commit(w));
    get_stat(db, &st);
    mixed_pages = st.overflow_pages - before - raw_pages;
    print_message("incompressible %lu bytes: %lu pages; compressible first chunk: %lu pages\n",
                  (unsigned long)n, (unsigned long)raw_pages, (unsigned long)mixed_pages);
    /* the raw chunks cost their bytes plus 4 each in the chunk table */
    assert_true(mixed_pages <= raw_pages + 1);
    {
        void *g;
        size_t gn;
        ASSERT_OK(digby_get(db, "mixed", 5, &g, &gn, NULL));
        assert_int_equal(gn, n);
        assert_memory_equal(g, v, n);
        digby_free(db, g);
    }
    check_clean(db);
    ASSERT_OK(digby_close(db));
    unlink(path);
    free(v);
}

/* ---- range reads ------------------------------------------------------------------ */

static void expect_range(digby_txn *r, const char *key, uint32_t seed, size_t vlen, int comp,
                         uint64_t off, size_t len, unsigned char *buf)
{
    size_t got = 12345, want = off >= vlen ? 0 : (size_t)(vlen - off < len ? vlen - off : len);
    uint64_t total = 0;
    ASSERT_OK(digby_txn_get_range(r, NULL, key, strlen(key), off, buf, len, &got, &total));
    assert_int_equal(got, want);
    assert_true(total == vlen);
    assert_true(val_ok(seed, off, buf, got, comp));
}

static void run_range_reads(uint32_t ps)
{
    char path[512];
    digby_db *db;
    digby_txn *r;
    digby_cursor *c;
    size_t vlen = 5 * 65536 + 123, got, i;
    unsigned char *buf = (unsigned char *)xmalloc(5 * 65536 + 123 + 140000);
    static const size_t lens[] = {1, 2, 100, 4096, 65535, 65536, 65537, 140000};
    uint64_t b, total;
    int comp;
    make_path(path, sizeof(path), "range");
    db = open_db(path, ps, 0);
    put_val(db, "raw", 11, vlen, 1, 0);
    put_val(db, "lz4", 12, vlen, 1, DIGBY_PUT_COMPRESS);
    put_val(db, "inc", 13, vlen, 0, DIGBY_PUT_COMPRESS);
    put_val(db, "small", 14, 20, 1, 0);
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &r));
    for (comp = 0; comp < 3; comp++) {
        const char *key = comp == 0 ? "raw" : comp == 1 ? "lz4" : "inc";
        uint32_t seed = (uint32_t)(11 + comp);
        int cm = comp < 2;
        /* at every chunk and page boundary, and either side */
        for (b = 0; b <= vlen + 65536; b += 65536) {
            int d;
            for (d = -1; d <= 1; d++) {
                uint64_t off = (uint64_t)((int64_t)b + d);
                if (b == 0 && d < 0) continue;
                for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
                    expect_range(r, key, seed, vlen, cm, off, lens[i], buf);
            }
        }
        for (b = ps - 24; b < vlen; b += 7 * (ps - 24))
            expect_range(r, key, seed, vlen, cm, b - 1, 3, buf);
        for (i = 0; i < 200; i++)
            expect_range(r, key, seed, vlen, cm, below(vlen + 10), below(70000), buf);
        expect_range(r, key, seed, vlen, cm, 0, vlen, buf);
        /* the length only */
        got = 1;
        ASSERT_OK(digby_txn_get_range(r, NULL, key, 3, 10, NULL, 0, &got, &total));
        assert_true(got == 0 && total == vlen);
    }
    expect_range(r, "small", 14, 20, 1, 5, 10, buf);
    expect_range(r, "small", 14, 20, 1, 20, 10, buf);
    ASSERT_RC(digby_txn_get_range(r, NULL, "none", 4, 0, buf, 10, &got, NULL), DIGBY_NOTFOUND);
    ASSERT_RC(digby_txn_get_range(r, NULL, "raw", 3, 0, NULL, 10, &got, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_txn_get_range(r, NULL, "raw", 3, 0, buf, 10, NULL, NULL), DIGBY_INVALID);
    /* under a cursor */
    ASSERT_OK(digby_cursor_open(r, NULL, &c));
    ASSERT_RC(digby_cursor_get_range(c, 0, buf, 10, &got, NULL), DIGBY_NOTFOUND);
    ASSERT_OK(digby_cursor_seek(c, "lz4", 3, DIGBY_SEEK_EQ));
    ASSERT_OK(digby_cursor_get_range(c, 65530, buf, 20, &got, &total));
    assert_true(got == 20 && total == vlen);
    assert_true(val_ok(12, 65530, buf, 20, 1));
    ASSERT_OK(digby_cursor_next(c));
    ASSERT_OK(digby_cursor_get_range(c, 2 * 65536, buf, 65536, &got, &total));
    assert_true(got == 65536 && val_ok(11, 2 * 65536, buf, got, 1));
    digby_cursor_close(c);
    digby_txn_abort(r);
    check_clean(db);
    ASSERT_OK(digby_close(db));
    unlink(path);
    free(buf);
}

static void test_range_reads_512(void **state) { (void)state; run_range_reads(512); }
static void test_range_reads_4096(void **state) { (void)state; run_range_reads(4096); }

/* ---- streaming puts ------------------------------------------------------------------ */

/* Write a value of n bytes in pieces of odd sizes. */
static void stream_put(digby_txn *w, digby_table *t, const void *key, size_t kn, uint32_t seed,
                       size_t n, int compressible, unsigned flags)
{
    static const size_t pieces[] = {1, 7, 4093, 65537, 3, 100000, 65536, 12, 511};
    digby_blob *b;
    unsigned char *v = make_val(seed, n, compressible);
    size_t done = 0, i = 0;
    ASSERT_OK(digby_txn_put_begin(w, t, key, kn, n, flags, &b));
    while (done < n) {
        size_t p = pieces[i++ % (sizeof(pieces) / sizeof(pieces[0]))];
        if (p > n - done) p = n - done;
        ASSERT_OK(digby_blob_write(b, v + done, p));
        done += p;
    }
    ASSERT_OK(digby_blob_finish(b));
    free(v);
}

static void test_streaming_put(void **state)
{
    char path[512];
    digby_db *db;
    digby_txn *w;
    digby_blob *b, *b2;
    digby_stats st, st2;
    unsigned char *large_key = (unsigned char *)xmalloc(5000);
    size_t i;
    int comp;
    (void)state;
    memset(large_key, 'K', 5000);
    make_path(path, sizeof(path), "stream");
    db = open_db(path, 4096, 0);
    ASSERT_OK(digby_txn_begin(db, 0, &w));
    for (comp = 0; comp < 2; comp++) {
        unsigned flags = comp ? DIGBY_PUT_COMPRESS : 0;
        for (i = 0; i < sizeof(g_sizes) / sizeof(g_sizes[0]); i++) {
            char key[32];
            sprintf(key, "s%d-%lu", comp, (unsigned long)i);
            stream_put(w, NULL, key, strlen(key), (uint32_t)i, g_sizes[i], 1, flags);
        }
        stream_put(w, NULL, comp ? "tiny1" : "tiny0", 5, 3, 10, 1, flags); /* fits its leaf */
        stream_put(w, NULL, comp ? "empty1" : "empty0", 6, 3, 0, 1, flags);
        large_key[4999] = (unsigned char)comp;
        stream_put(w, NULL, large_key, 5000, 77, 400000, comp, flags);
    }
    ASSERT_OK(digby_txn_commit(w));
    check_clean(db);
    ASSERT_OK(digby_close(db));
    db = open_db(path, 0, 0);
    for (comp = 0; comp < 2; comp++) {
        void *v;
        size_t vn;
        for (i = 0; i < sizeof(g_sizes) / sizeof(g_sizes[0]); i++) {
            char key[32];
            sprintf(key, "s%d-%lu", comp, (unsigned long)i);
            expect_val(db, key, (uint32_t)i, g_sizes[i], 1);
        }
        expect_val(db, comp ? "tiny1" : "tiny0", 3, 10, 1);
        expect_val(db, comp ? "empty1" : "empty0", 3, 0, 1);
        large_key[4999] = (unsigned char)comp;
        ASSERT_OK(digby_get(db, large_key, 5000, &v, &vn, NULL));
        assert_int_equal(vn, 400000);
        assert_true(val_ok(77, 0, (const unsigned char *)v, vn, comp));
        digby_free(db, v);
    }

    /* errors: too many bytes, too few, NOOVERWRITE at begin and at finish,
       one at a time */
    get_stat(db, &st);
    ASSERT_OK(digby_txn_begin(db, 0, &w));
    ASSERT_RC(digby_txn_put_begin(w, NULL, "s0-1", 4, 10, DIGBY_PUT_NOOVERWRITE, &b), DIGBY_EXISTS);
    assert_null(b);
    ASSERT_OK(digby_txn_put_begin(w, NULL, "new", 3, 100000, DIGBY_PUT_NOOVERWRITE, &b));
    ASSERT_RC(digby_txn_put_begin(w, NULL, "other", 5, 1, 0, &b2), DIGBY_BUSY);
    ASSERT_OK(digby_blob_write(b, large_key, 5000));
    ASSERT_RC(digby_blob_finish(b), DIGBY_INVALID); /* still open */
    ASSERT_RC(digby_blob_write(b, large_key, 100000), DIGBY_INVALID);
    for (i = 5000; i < 100000; i += 5000) ASSERT_OK(digby_blob_write(b, large_key, 5000));
    ASSERT_OK(digby_txn_put(w, NULL, "new", 3, "meanwhile", 9, 0));
    ASSERT_RC(digby_blob_finish(b), DIGBY_EXISTS);
    /* abort frees what was written */
    ASSERT_OK(digby_txn_put_begin(w, NULL, "gone", 4, 300000, DIGBY_PUT_COMPRESS, &b));
    for (i = 0; i < 60; i++) ASSERT_OK(digby_blob_write(b, large_key, 5000));
    digby_blob_abort(b);
    /* commit drops an unfinished one */
    ASSERT_OK(digby_txn_put_begin(w, NULL, large_key, 5000, 300000, 0, &b));
    for (i = 0; i < 20; i++) ASSERT_OK(digby_blob_write(b, large_key, 5000));
    ASSERT_OK(digby_txn_commit(w));
    check_clean(db);
    {
        void *v;
        size_t vn;
        ASSERT_RC(digby_get(db, "gone", 4, &v, &vn, NULL), DIGBY_NOTFOUND);
        ASSERT_OK(digby_get(db, "new", 3, &v, &vn, NULL));
        assert_int_equal(vn, 9);
        digby_free(db, v);
        large_key[4999] = 0;
        ASSERT_OK(digby_get(db, large_key, 5000, &v, &vn, NULL));
        assert_int_equal(vn, 400000); /* not replaced */
        digby_free(db, v);
    }
    get_stat(db, &st2);
    /* the abandoned values' pages are free again (two commits later) */
    ASSERT_OK(digby_put(db, "tick", 4, "1", 1));
    ASSERT_OK(digby_put(db, "tick", 4, "2", 1));
    get_stat(db, &st2);
    assert_true(st2.overflow_pages == st.overflow_pages);
    assert_true(st2.page_count - st2.free_pages <= st.page_count - st.free_pages + 2);
    /* read-only and aborted transactions */
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &w));
    ASSERT_RC(digby_txn_put_begin(w, NULL, "x", 1, 1, 0, &b), DIGBY_READONLY);
    digby_txn_abort(w);
    ASSERT_OK(digby_txn_begin(db, 0, &w));
    ASSERT_OK(digby_txn_put_begin(w, NULL, "x", 1, 200000, 0, &b));
    ASSERT_OK(digby_blob_write(b, large_key, 5000));
    digby_txn_abort(w);
    digby_blob_abort(NULL);
    check_clean(db);
    ASSERT_OK(digby_close(db));
    unlink(path);
    free(large_key);
}

/* ---- limits and hashes ------------------------------------------------------------------ */

static void test_toobig(void **state)
{
    char path[512];
    digby_db *db;
    digby_txn *w;
    digby_blob *b;
    unsigned char one = 1;
    (void)state;
    make_path(path, sizeof(path), "toobig");
    db = open_db(path, 4096, 0);
    ASSERT_OK(digby_txn_begin(db, 0, &w));
    ASSERT_RC(digby_txn_put_begin(w, NULL, "k", 1, (uint64_t)DIGBY_MAX_VALUE_BYTES + 1, 0, &b),
              DIGBY_TOOBIG);
#if SIZE_MAX > 0xFFFFFFFFu
    /* 4 GiB: refused before a byte is read */
    ASSERT_RC(digby_txn_put(w, NULL, &one, (size_t)DIGBY_MAX_KEY_BYTES + 1, "v", 1, 0), DIGBY_TOOBIG);
    ASSERT_RC(digby_txn_put(w, NULL, "k", 1, &one, (size_t)DIGBY_MAX_VALUE_BYTES + 1, 0),
              DIGBY_TOOBIG);
    ASSERT_RC(digby_txn_put_begin(w, NULL, &one, (size_t)DIGBY_MAX_KEY_BYTES + 1, 1, 0, &b),
              DIGBY_TOOBIG);
#endif
    ASSERT_OK(digby_txn_put(w, NULL, "k", 1, &one, 1, 0));
    ASSERT_OK(digby_txn_commit(w));
    check_clean(db);
    ASSERT_OK(digby_close(db));
    unlink(path);
}

/* FIPS 180-4 examples, through whichever implementation this build has. */
static void test_sha256_vectors(void **state)
{
    uint8_t h[32];
    unsigned char *m = (unsigned char *)xmalloc(1000000);
    digby__sha256 s;
    size_t i;
    (void)state;
    check_sha256_short_vectors();
    /* a million 'a's, fed in 997-byte pieces */
    memset(m, 'a', 1000000);
    digby__sha256_init(&s);
    for (i = 0; i < 1000000; i += 997) digby__sha256_update(&s, m + i, i + 997 > 1000000 ? 1000000 - i : 997);
    digby__sha256_final(&s, h);
    expect_sha256(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(m);
}

/* A damaged index page (resealed, so only its content is wrong) is
   reported, not followed. */
static void test_damaged_index(void **state)
{
    char path[512];
    digby_db *db;
    digby_txn *r;
    digby_check_report rep;
    const void *v;
    size_t vn, kl;
    uint64_t root;
    uint8_t *page;
    FILE *fp;
    (void)state;
    make_path(path, sizeof(path), "damage");
    db = open_db(path, 1024, 0);
    put_val(db, "v", 1, 100000, 0, 0);
    /* not the newest commit (whose damage open would take for a crash) */
    ASSERT_OK(digby_put(db, "w", 1, "1", 1));
    ASSERT_OK(digby_put(db, "w", 1, "2", 1));
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &r));
    {
        const uint8_t *leaf;
        digby__frame *f;
        digby__cell c;
        int exact;
        ASSERT_OK(digby__page_get(r, r->meta.main.root, r->meta.main.root_txid, &leaf, &f));
        digby__node_cell(leaf, digby__node_search(leaf, "v", 1, &exact), &c);
        assert_true(exact);
        assert_true(c.flags & DIGBY__CELL_OVERFLOW);
        root = digby__get64(c.val);
        digby__page_unpin(db, f);
        (void)kl;
    }
    digby_txn_abort(r);
    ASSERT_OK(digby_close(db));
    page = (uint8_t *)xmalloc(1024);
    fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, (long)(root * 1024), SEEK_SET), 0);
    assert_int_equal(fread(page, 1, 1024, fp), 1024);
    assert_int_equal(page[0], DIGBY__PAGE_OVFINDEX);
    digby__put64(page + DIGBY__HDR + 8, digby__get64(page + DIGBY__HDR)); /* a page twice */
    {
        digby_db fake;
        memset(&fake, 0, sizeof(fake));
        fake.page_size = 1024;
        fake.trailer = DIGBY__TRAILER_XXH32;
        fake.usable = 1024 - fake.trailer;
        digby__page_checksum(&fake, page);
    }
    assert_int_equal(fseek(fp, (long)(root * 1024), SEEK_SET), 0);
    assert_int_equal(fwrite(page, 1, 1024, fp), 1024);
    fclose(fp);
    free(page);
    db = open_db(path, 0, 0);
    ASSERT_RC(digby_check(db, &rep), DIGBY_CORRUPT);
    assert_true(rep.message[0] != 0);
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &r));
    ASSERT_RC(digby_txn_get(r, NULL, "v", 1, &v, &vn, NULL), DIGBY_CORRUPT);
    digby_txn_abort(r);
    ASSERT_OK(digby_close(db));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_large_keys_512),
        cmocka_unit_test(test_large_keys_4096),
        cmocka_unit_test(test_large_keys_4096_lz4),
        cmocka_unit_test(test_large_keys_65536),
        cmocka_unit_test(test_cursor_large_keys_writes),
        cmocka_unit_test(test_large_keys_table_drop),
        cmocka_unit_test(test_compression_roundtrip),
        cmocka_unit_test(test_incompressible),
        cmocka_unit_test(test_range_reads_512),
        cmocka_unit_test(test_range_reads_4096),
        cmocka_unit_test(test_streaming_put),
        cmocka_unit_test(test_toobig),
        cmocka_unit_test(test_damaged_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
