/* White-box tests of src_parts/50_node.c: slotted branch and leaf pages
   built in plain buffers with a fake digby_db (only the sizes set).

   Page buffers are allocated with exactly db->usable bytes, so under ASan
   any read past the usable area (into where the trailer would be) is
   caught: the tree code must never look past it. */
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "unit_common.h"

/* An empty node page, as digby__page_new makes it; usable bytes only. */
static uint8_t *new_page(const digby_db *db, unsigned type)
{
    uint8_t *p = (uint8_t *)malloc(db->usable);
    assert_non_null(p);
    memset(p, 0, db->usable);
    p[0] = (uint8_t)type;
    digby__put16(p + 4, (uint16_t)db->usable);
    digby__put64(p + 8, 77);
    digby__put64(p + 16, 5);
    return p;
}

static uint8_t *clone_page(const digby_db *db, const uint8_t *src)
{
    uint8_t *p = (uint8_t *)malloc(db->usable);
    assert_non_null(p);
    memcpy(p, src, db->usable);
    return p;
}

static unsigned contig(const uint8_t *p)
{
    return digby__node_upper(p) - (DIGBY__HDR + 2 * digby__node_n(p));
}

static size_t used_bytes(const uint8_t *p)
{
    size_t u = 0;
    unsigned i;
    for (i = 0; i < digby__node_n(p); i++) u += digby__node_cell_size(p, i);
    return u;
}

/* Invariants every page built by the node functions keeps. */
static void assert_sound(const digby_db *db, const uint8_t *p)
{
    assert_int_equal(digby__node_validate(db, p), 0);
    assert_true(DIGBY__HDR + 2 * digby__node_n(p) <= digby__node_upper(p));
    /* garbage accounting is exact: live + dead bytes fill the cell area */
    assert_int_equal(used_bytes(p) + digby__node_garbage(p),
                     db->usable - digby__node_upper(p));
}

/* Leaf keys strictly rising, in slot order. */
static void assert_leaf_sorted(const uint8_t *p)
{
    unsigned i, n = digby__node_n(p);
    for (i = 1; i < n; i++) {
        size_t al, bl;
        const uint8_t *a = digby__node_key(p, i - 1, &al), *b = digby__node_key(p, i, &bl);
        assert_true(digby__keycmp(a, al, b, bl) < 0);
    }
}

/* Insert a leaf cell at its search position; returns digby__node_insert's
   result.  The key must be new. */
static int leaf_add(const digby_db *db, uint8_t *p, const void *key, size_t klen,
                    const void *val, size_t vlen, uint8_t *tmp)
{
    uint8_t cell[4096];
    int exact;
    unsigned i = digby__node_search(p, key, klen, &exact);
    size_t sz = digby__leaf_cell_encode(cell, key, klen, vlen, 0, 9, val, vlen);
    assert_false(exact);
    return digby__node_insert(db, p, i, cell, sz, tmp);
}

/* ---- cell codecs ----------------------------------------------------------- */

static void test_leaf_cell_layout(void **state)
{
    uint8_t c[64];
    digby__cell d;
    static const uint8_t inline_bytes[] = {0x02, 'a', 'b', 0x18, 0x05, 'x', 'y', 'z'};
    /* vlen 1000, overflow: packed 8001 = 0x1f41 -> c1 3e; version 300 -> ac 02 */
    static const uint8_t ovf_bytes[] = {0x01, 'k', 0xc1, 0x3e, 0xac, 0x02,
                                        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
    uint8_t ref[8];
    size_t n;
    (void)state;
    n = digby__leaf_cell_encode(c, "ab", 2, 3, 0, 5, "xyz", 3);
    assert_int_equal(n, sizeof inline_bytes);
    assert_memory_equal(c, inline_bytes, n);
    digby__leaf_cell_at(c, &d);
    assert_int_equal(d.key_bytes, 2);
    assert_memory_equal(d.key, "ab", 2);
    assert_true(d.vlen == 3);
    assert_int_equal(d.flags, 0);
    assert_true(d.version == 5);
    assert_memory_equal(d.val, "xyz", 3);
    assert_int_equal(d.size, n);

    digby__put64(ref, UINT64_C(0x0102030405060708));
    n = digby__leaf_cell_encode(c, "k", 1, 1000, DIGBY__CELL_OVERFLOW, 300, ref, 8);
    assert_int_equal(n, sizeof ovf_bytes);
    assert_memory_equal(c, ovf_bytes, n);
    digby__leaf_cell_at(c, &d);
    assert_true(d.vlen == 1000);
    assert_int_equal(d.flags, DIGBY__CELL_OVERFLOW);
    assert_true(d.version == 300);
    assert_true(digby__get64(d.val) == UINT64_C(0x0102030405060708));
    assert_int_equal(d.size, n);
}

static void test_leaf_cell_round_trip(void **state)
{
    uint8_t c[300], key[128], val[128], ref[8];
    int i;
    (void)state;
    seed(1);
    /* edge cases first, then random */
    for (i = 0; i < 5000; i++) {
        size_t klen = i == 0 ? 0 : rndn(128), vlen = i < 2 ? 0 : rndn(128), n, k;
        uint64_t version = i == 2 ? UINT64_MAX : (i == 3 ? 0 : rnd() >> rndn(64));
        int ovf = i > 4 && rndn(2);
        uint64_t big = i == 4 ? DIGBY_MAX_VALUE_BYTES : rnd() % ((uint64_t)DIGBY_MAX_VALUE_BYTES + 1);
        digby__cell d;
        for (k = 0; k < klen; k++) key[k] = (uint8_t)rnd();
        for (k = 0; k < vlen; k++) val[k] = (uint8_t)rnd();
        if (ovf || i == 4) {
            if (big == 0) big = 1;
            digby__put64(ref, rnd());
            n = digby__leaf_cell_encode(c, key, klen, big, DIGBY__CELL_OVERFLOW, version, ref, 8);
            assert_int_equal(n, digby__varint_len(klen) + klen + digby__varint_len(big << 3 | 1) +
                                    digby__varint_len(version) + 8);
        } else {
            n = digby__leaf_cell_encode(c, key, klen, vlen, 0, version, val, vlen);
            assert_int_equal(n, digby__varint_len(klen) + klen + digby__varint_len(vlen << 3) +
                                    digby__varint_len(version) + vlen);
        }
        digby__leaf_cell_at(c, &d);
        assert_int_equal(d.size, n);
        assert_int_equal(d.key_bytes, klen);
        if (klen) assert_memory_equal(d.key, key, klen);
        assert_true(d.version == version);
        if (ovf || i == 4) {
            assert_int_equal(d.flags, DIGBY__CELL_OVERFLOW);
            assert_true(d.vlen == big);
            assert_memory_equal(d.val, ref, 8);
        } else {
            assert_int_equal(d.flags, 0);
            assert_true(d.vlen == vlen);
            if (vlen) assert_memory_equal(d.val, val, vlen);
        }
    }
}

static void test_branch_cell_codec(void **state)
{
    uint8_t c[400], key[300];
    static const uint8_t expect[] = {0x0a, 0, 0, 0, 0, 0, 0, 0x80,  /* child */
                                     0x01, 0x02, 0, 0, 0, 0, 0, 0,  /* child_txid */
                                     0x03, 's', 'e', 'p'};
    digby__cell d;
    size_t n, k;
    int i;
    (void)state;
    n = digby__branch_cell_encode(c, UINT64_C(0x800000000000000a), 0x0201, "sep", 3);
    assert_int_equal(n, sizeof expect);
    assert_memory_equal(c, expect, n);
    digby__branch_cell_at(c, &d);
    assert_true(d.child == UINT64_C(0x800000000000000a));
    assert_true(d.child_txid == 0x0201);
    assert_int_equal(d.key_bytes, 3);
    assert_memory_equal(d.key, "sep", 3);
    assert_int_equal(d.size, n);
    /* minus infinity: no key */
    n = digby__branch_cell_encode(c, 2, 1, NULL, 0);
    assert_int_equal(n, 17);
    digby__branch_cell_at(c, &d);
    assert_int_equal(d.key_bytes, 0);
    assert_int_equal(d.size, 17);
    seed(2);
    for (i = 0; i < 3000; i++) {
        size_t klen = rndn(300);
        uint64_t child = rnd(), txid = rnd();
        for (k = 0; k < klen; k++) key[k] = (uint8_t)rnd();
        n = digby__branch_cell_encode(c, child, txid, key, klen);
        assert_int_equal(n, 16 + digby__varint_len(klen) + klen);
        digby__branch_cell_at(c, &d);
        assert_true(d.child == child && d.child_txid == txid);
        assert_int_equal(d.key_bytes, klen);
        if (klen) assert_memory_equal(d.key, key, klen);
        assert_int_equal(d.size, n);
    }
}

/* ---- leaf pages -------------------------------------------------------------- */

static void test_leaf_build_and_search(void **state)
{
    digby_db db;
    uint8_t *p, *tmp;
    /* in the order they must sort: unsigned bytes, prefixes first */
    static const char *const keys[] = {"", "\x00", "\x00\x00", "a", "ab", "abc", "b",
                                       "\x7f", "\x80", "\x80\x00", "\xfe", "\xff", "\xff\xff"};
    static const size_t klens[] = {0, 1, 2, 1, 2, 3, 1, 1, 1, 2, 1, 1, 2};
    const unsigned nk = sizeof klens / sizeof klens[0];
    static const unsigned order[] = {6, 0, 12, 3, 9, 1, 11, 4, 7, 2, 10, 8, 5};
    unsigned i;
    int exact;
    (void)state;
    fake_db(&db, 4096);
    p = new_page(&db, DIGBY__PAGE_LEAF);
    tmp = (uint8_t *)malloc(db.usable);
    for (i = 0; i < nk; i++) {
        unsigned k = order[i];
        assert_int_equal(leaf_add(&db, p, keys[k], klens[k], keys[k], klens[k], tmp), 0);
        assert_sound(&db, p);
    }
    assert_int_equal(digby__node_n(p), nk);
    for (i = 0; i < nk; i++) {
        size_t kl;
        const uint8_t *k = digby__node_key(p, i, &kl);
        digby__cell c;
        assert_int_equal(kl, klens[i]);
        if (kl) assert_memory_equal(k, keys[i], kl);
        digby__node_cell(p, i, &c);
        assert_true(c.vlen == klens[i]);
        if (kl) assert_memory_equal(c.val, keys[i], kl);
        assert_int_equal(digby__node_search(p, keys[i], klens[i], &exact), i);
        assert_true(exact);
    }
    assert_leaf_sorted(p);
    /* insertion points */
    assert_int_equal(digby__node_search(p, "aa", 2, &exact), 4);
    assert_false(exact);
    assert_int_equal(digby__node_search(p, "abcd", 4, &exact), 6);
    assert_false(exact);
    assert_int_equal(digby__node_search(p, "\x00\x00\x00", 3, &exact), 3);
    assert_false(exact);
    assert_int_equal(digby__node_search(p, "c", 1, &exact), 7);
    assert_false(exact);
    assert_int_equal(digby__node_search(p, "\x80\x01", 2, &exact), 10);
    assert_false(exact);
    assert_int_equal(digby__node_search(p, "\xff\xff\xff", 3, &exact), nk);
    assert_false(exact);
    free(p);
    free(tmp);
}

static int keycmp_v(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    return digby__keycmp(a, an, b, bn);
}

/* A random model of one leaf: inserts, replaces and removes against a
   sorted reference; after every step the page holds exactly the model,
   validates, and its garbage accounting is exact.  A failed insert must
   leave the page unchanged and really not fit. */
typedef struct mcell {
    uint8_t key[24];
    size_t klen;
    uint8_t val[2500];
    size_t vlen;
} mcell;

static void random_key(uint8_t *k, size_t *klen)
{
    static const uint8_t alpha[] = {0x00, 'a', 'b', 0x7f, 0x80, 0xff};
    size_t i;
    *klen = rndn(7);
    for (i = 0; i < *klen; i++) k[i] = alpha[rndn(sizeof alpha)];
}

static void leaf_model_run(uint32_t page_size, uint64_t s, int steps)
{
    digby_db db;
    uint8_t *p, *tmp, *before, *cell;
    mcell **m;
    size_t nm = 0;
    int step, fails = 0, compactions = 0;
    fake_db(&db, page_size);
    p = new_page(&db, DIGBY__PAGE_LEAF);
    tmp = (uint8_t *)malloc(db.usable);
    before = (uint8_t *)malloc(db.usable);
    cell = (uint8_t *)malloc(db.page_size);
    m = (mcell **)calloc(4000, sizeof *m);
    assert_non_null(m);
    seed(s);
    for (step = 0; step < steps; step++) {
        unsigned op = rndn(10), i;
        if (op < 6 || nm == 0) {
            /* insert or replace (as digby__btree_put does: remove then insert) */
            uint8_t k[24];
            size_t klen, vlen, sz, maxv = db.max_cell - 16 < 2500 ? db.max_cell - 16 : 2500;
            int exact, rc;
            random_key(k, &klen);
            vlen = rndn(4) ? rndn(40) : rndn((unsigned)maxv);
            i = digby__node_search(p, k, klen, &exact);
            {
                /* the model agrees on the position */
                size_t j = 0;
                while (j < nm && keycmp_v(m[j]->key, m[j]->klen, k, klen) < 0) j++;
                assert_int_equal(i, j);
                assert_int_equal(exact, j < nm && keycmp_v(m[j]->key, m[j]->klen, k, klen) == 0);
            }
            {
                uint8_t v[2500];
                size_t t;
                for (t = 0; t < vlen; t++) v[t] = (uint8_t)rnd();
                sz = digby__leaf_cell_encode(cell, k, klen, vlen, 0, step, v, vlen);
                assert_true(sz <= db.max_cell);
                if (exact) {
                    digby__node_remove(p, i);
                    free(m[i]);
                    memmove(&m[i], &m[i + 1], (nm - i - 1) * sizeof *m);
                    nm--;
                    assert_sound(&db, p);
                }
                memcpy(before, p, db.usable);
                {
                    unsigned room = contig(p) + digby__node_garbage(p);
                    int needs_compact = contig(p) < sz + 2;
                    rc = digby__node_insert(&db, p, i, cell, sz, tmp);
                    if (rc) {
                        assert_true(room < sz + 2);
                        assert_memory_equal(p, before, db.usable);
                        fails++;
                        continue;
                    }
                    assert_true(room >= sz + 2);
                    if (needs_compact) {
                        compactions++;
                        /* compaction left no garbage behind */
                        assert_int_equal(digby__node_garbage(p), 0);
                    }
                }
                assert_true(nm < 4000);
                memmove(&m[i + 1], &m[i], (nm - i) * sizeof *m);
                m[i] = (mcell *)malloc(sizeof **m);
                assert_non_null(m[i]);
                memcpy(m[i]->key, k, klen);
                m[i]->klen = klen;
                memcpy(m[i]->val, v, vlen);
                m[i]->vlen = vlen;
                nm++;
            }
        } else if (op < 9) {
            unsigned g = digby__node_garbage(p), up = digby__node_upper(p), off;
            size_t sz;
            i = rndn((unsigned)nm);
            off = digby__node_off(p, i);
            sz = digby__node_cell_size(p, i);
            digby__node_remove(p, i);
            if (off == up) {
                assert_int_equal(digby__node_upper(p), up + sz);
                assert_int_equal(digby__node_garbage(p), g);
            } else {
                assert_int_equal(digby__node_upper(p), up);
                assert_int_equal(digby__node_garbage(p), g + sz);
            }
            free(m[i]);
            memmove(&m[i], &m[i + 1], (nm - i - 1) * sizeof *m);
            nm--;
            if (nm == 0) {
                /* an empty page is not a valid page: start again */
                assert_int_not_equal(digby__node_validate(&db, p), 0);
                free(p);
                p = new_page(&db, DIGBY__PAGE_LEAF);
                continue;
            }
        } else {
            size_t live = used_bytes(p);
            digby__node_compact(&db, p, tmp);
            assert_int_equal(digby__node_garbage(p), 0);
            assert_int_equal(digby__node_upper(p), db.usable - live);
        }
        /* the page is the model */
        assert_int_equal(digby__node_n(p), nm);
        assert_sound(&db, p);
        for (i = 0; i < nm; i++) {
            digby__cell c;
            int exact;
            digby__node_cell(p, i, &c);
            assert_int_equal(c.key_bytes, m[i]->klen);
            if (c.key_bytes) assert_memory_equal(c.key, m[i]->key, c.key_bytes);
            assert_true(c.vlen == m[i]->vlen);
            if (m[i]->vlen) assert_memory_equal(c.val, m[i]->val, m[i]->vlen);
            assert_int_equal(digby__node_search(p, m[i]->key, m[i]->klen, &exact), i);
            assert_true(exact);
        }
        assert_leaf_sorted(p);
    }
    /* the run exercised the interesting paths */
    assert_true(fails > 0);
    assert_true(compactions > 0);
    while (nm) free(m[--nm]);
    free(m);
    free(cell);
    free(before);
    free(tmp);
    free(p);
}

static void test_leaf_model_512(void **state) { (void)state; leaf_model_run(512, 11, 20000); }
static void test_leaf_model_4096(void **state) { (void)state; leaf_model_run(4096, 12, 12000); }
static void test_leaf_model_65536(void **state) { (void)state; leaf_model_run(65536, 13, 3000); }

static void test_garbage_and_compact(void **state)
{
    digby_db db;
    uint8_t *p, *tmp, *copy;
    char k[8], v[50];
    unsigned i, up, g;
    size_t sz, live;
    (void)state;
    fake_db(&db, 512);
    p = new_page(&db, DIGBY__PAGE_LEAF);
    tmp = (uint8_t *)malloc(db.usable);
    memset(v, 'v', sizeof v);
    for (i = 0; i < 6; i++) {
        snprintf(k, sizeof k, "k%u", i);
        assert_int_equal(leaf_add(&db, p, k, 2, v, 20 + i, tmp), 0);
    }
    assert_int_equal(digby__node_garbage(p), 0);
    /* k5 was inserted last: it sits at upper; removing it moves upper */
    up = digby__node_upper(p);
    assert_int_equal(digby__node_off(p, 5), up);
    sz = digby__node_cell_size(p, 5);
    digby__node_remove(p, 5);
    assert_int_equal(digby__node_upper(p), up + sz);
    assert_int_equal(digby__node_garbage(p), 0);
    assert_sound(&db, p);
    /* k1 is inside the cell area: its bytes become garbage */
    up = digby__node_upper(p);
    sz = digby__node_cell_size(p, 1);
    digby__node_remove(p, 1);
    assert_int_equal(digby__node_upper(p), up);
    assert_int_equal(digby__node_garbage(p), sz);
    g = digby__node_garbage(p);
    sz = digby__node_cell_size(p, 2);
    digby__node_remove(p, 2); /* k3 */
    assert_int_equal(digby__node_garbage(p), g + sz);
    assert_sound(&db, p);
    /* compaction squeezes out the two dead cells */
    copy = clone_page(&db, p);
    live = used_bytes(p);
    digby__node_compact(&db, p, tmp);
    assert_int_equal(digby__node_garbage(p), 0);
    assert_int_equal(digby__node_upper(p), db.usable - live);
    assert_int_equal(digby__node_n(p), 3);
    assert_sound(&db, p);
    /* same cells, same order, packed from the end in slot order */
    for (i = 0; i < 3; i++) {
        digby__cell a, b;
        digby__node_cell(copy, i, &a);
        digby__node_cell(p, i, &b);
        assert_int_equal(a.size, b.size);
        assert_memory_equal(copy + digby__node_off(copy, i), p + digby__node_off(p, i), a.size);
    }
    assert_int_equal(digby__node_off(p, 0), db.usable - digby__node_cell_size(p, 0));
    for (i = 1; i < 3; i++)
        assert_int_equal(digby__node_off(p, i),
                         digby__node_off(p, i - 1) - digby__node_cell_size(p, i));
    /* compacting a compact page changes nothing */
    memcpy(copy, p, db.usable);
    digby__node_compact(&db, p, tmp);
    assert_memory_equal(copy, p, db.usable);
    free(copy);
    free(tmp);
    free(p);
}

static void test_full_detection(void **state)
{
    digby_db db;
    uint8_t *p, *tmp, *before, cell[200];
    char k[4], v[200];
    unsigned i;
    size_t sz;
    (void)state;
    fake_db(&db, 512);
    assert_int_equal(db.usable, 508);
    assert_int_equal(db.max_cell, 119);
    p = new_page(&db, DIGBY__PAGE_LEAF);
    tmp = (uint8_t *)malloc(db.usable);
    before = (uint8_t *)malloc(db.usable);
    memset(v, 'x', sizeof v);
    /* four cells of exactly max_cell bytes fill a page exactly */
    for (i = 0; i < 4; i++) {
        k[0] = 'k'; k[1] = (char)('0' + i);
        sz = digby__leaf_cell_encode(cell, k, 2, 113, 0, 1, v, 113);
        assert_int_equal(sz, db.max_cell);
        assert_int_equal(digby__node_insert(&db, p, i, cell, sz, tmp), 0);
        assert_sound(&db, p);
    }
    assert_int_equal(contig(p), 0);
    /* full: even the smallest cell does not fit, and the page is unchanged */
    sz = digby__leaf_cell_encode(cell, "z", 1, 0, 0, 1, NULL, 0);
    memcpy(before, p, db.usable);
    assert_int_equal(digby__node_insert(&db, p, 4, cell, sz, tmp), 1);
    assert_memory_equal(before, p, db.usable);
    /* free a middle cell: 119 bytes of garbage + 2 bytes of slot */
    digby__node_remove(p, 1);
    assert_int_equal(digby__node_garbage(p), 119);
    assert_int_equal(contig(p), 2);
    /* one byte too many still does not fit, unchanged (no compaction) */
    memcpy(before, p, db.usable);
    sz = digby__leaf_cell_encode(cell, "k1", 2, 114, 0, 1, v, 114);
    assert_int_equal(sz, 120);
    assert_int_equal(digby__node_insert(&db, p, 1, cell, sz, tmp), 1);
    assert_memory_equal(before, p, db.usable);
    /* exactly the room there is: fits after compaction */
    sz = digby__leaf_cell_encode(cell, "k1", 2, 113, 0, 1, v, 113);
    assert_int_equal(digby__node_insert(&db, p, 1, cell, sz, tmp), 0);
    assert_int_equal(digby__node_garbage(p), 0);
    assert_int_equal(contig(p), 0);
    assert_int_equal(digby__node_n(p), 4);
    assert_sound(&db, p);
    assert_leaf_sorted(p);
    free(before);
    free(tmp);
    free(p);
}

/* ---- branch pages ------------------------------------------------------------ */

static void branch_add(const digby_db *db, uint8_t *p, unsigned at, uint64_t child,
                       const char *key, size_t klen)
{
    uint8_t cell[2048];
    size_t sz = digby__branch_cell_encode(cell, child, child + 1000, key, klen);
    assert_int_equal(digby__node_insert(db, p, at, cell, sz, NULL), 0);
}

static void test_branch_search(void **state)
{
    digby_db db;
    uint8_t *p;
    int exact;
    unsigned i;
    digby__cell c;
    (void)state;
    fake_db(&db, 4096);
    p = new_page(&db, DIGBY__PAGE_BRANCH);
    branch_add(&db, p, 0, 100, NULL, 0);
    assert_sound(&db, p);
    /* one child: everything goes there */
    assert_int_equal(digby__node_search(p, "", 0, &exact), 0);
    assert_int_equal(digby__node_search(p, "\xff\xff", 2, &exact), 0);
    branch_add(&db, p, 1, 101, "b", 1);
    branch_add(&db, p, 2, 102, "d", 1);
    branch_add(&db, p, 3, 103, "dd", 2);
    branch_add(&db, p, 4, 104, "\x80", 1);
    assert_sound(&db, p);
    /* slot 0 is minus infinity: even the empty key and keys below every
       separator go there */
    assert_int_equal(digby__node_search(p, "", 0, &exact), 0);
    assert_int_equal(digby__node_search(p, "\x00", 1, &exact), 0);
    assert_int_equal(digby__node_search(p, "a", 1, &exact), 0);
    assert_int_equal(digby__node_search(p, "azzz", 4, &exact), 0);
    /* key[i] <= k < key[i+1] */
    assert_int_equal(digby__node_search(p, "b", 1, &exact), 1);
    assert_true(exact);
    assert_int_equal(digby__node_search(p, "b\x00", 2, &exact), 1);
    assert_int_equal(digby__node_search(p, "c", 1, &exact), 1);
    assert_int_equal(digby__node_search(p, "d", 1, &exact), 2);
    assert_true(exact);
    assert_int_equal(digby__node_search(p, "d\x00", 2, &exact), 2);
    assert_int_equal(digby__node_search(p, "dc", 2, &exact), 2);
    assert_int_equal(digby__node_search(p, "dd", 2, &exact), 3);
    assert_int_equal(digby__node_search(p, "zz", 2, &exact), 3);
    assert_int_equal(digby__node_search(p, "\x7f", 1, &exact), 3);
    assert_int_equal(digby__node_search(p, "\x80", 1, &exact), 4);
    assert_int_equal(digby__node_search(p, "\xff", 1, &exact), 4);
    for (i = 0; i < 5; i++) {
        digby__node_cell(p, i, &c);
        assert_true(c.child == 100 + i);
        assert_true(c.child_txid == 1100 + i);
    }
    /* point a slot at a new child */
    digby__branch_set_child(p, 3, 999, 42);
    digby__node_cell(p, 3, &c);
    assert_true(c.child == 999 && c.child_txid == 42);
    assert_int_equal(c.key_bytes, 2);
    assert_memory_equal(c.key, "dd", 2);
    assert_sound(&db, p);
    free(p);
}

/* Random separators against a linear reference. */
static void test_branch_search_random(void **state)
{
    digby_db db;
    uint8_t *p;
    uint8_t seps[200][8];
    size_t slen[200];
    unsigned n = 1, i, round;
    (void)state;
    fake_db(&db, 4096);
    seed(3);
    for (round = 0; round < 20; round++) {
        p = new_page(&db, DIGBY__PAGE_BRANCH);
        branch_add(&db, p, 0, 2, NULL, 0);
        n = 1;
        slen[0] = 0;
        while (n < 150) {
            uint8_t k[8];
            size_t kl;
            int exact;
            unsigned at;
            random_key(k, &kl);
            if (kl == 0) continue;
            at = digby__node_search(p, k, kl, &exact);
            if (exact) continue;
            at++;
            branch_add(&db, p, at, n + 2, (const char *)k, kl);
            memmove(&seps[at + 1], &seps[at], (n - at) * sizeof seps[0]);
            memmove(&slen[at + 1], &slen[at], (n - at) * sizeof slen[0]);
            memcpy(seps[at], k, kl);
            slen[at] = kl;
            n++;
        }
        assert_sound(&db, p);
        for (i = 0; i < 2000; i++) {
            uint8_t k[8];
            size_t kl;
            int exact;
            unsigned want = 0, j;
            random_key(k, &kl);
            for (j = 1; j < n; j++)
                if (digby__keycmp(seps[j], slen[j], k, kl) <= 0) want = j;
            assert_int_equal(digby__node_search(p, k, kl, &exact), want);
        }
        free(p);
    }
}

/* Keys long enough for a two-byte length varint (>= 128 bytes), sharing
   long prefixes, in a leaf and as branch separators. */
static void test_long_keys(void **state)
{
    digby_db db;
    uint8_t *leaf, *br, *tmp, key[1000];
    static const size_t lens[] = {0, 1, 126, 127, 128, 129, 200, 255, 256, 300, 500, 990};
    const unsigned nl = sizeof lens / sizeof lens[0];
    unsigned i, j;
    int exact;
    (void)state;
    fake_db(&db, 4096);
    assert_int_equal(db.max_key, 990);
    leaf = new_page(&db, DIGBY__PAGE_LEAF);
    br = new_page(&db, DIGBY__PAGE_BRANCH);
    tmp = (uint8_t *)malloc(db.usable);
    memset(key, 'm', sizeof key);
    branch_add(&db, br, 0, 2, NULL, 0);
    /* "mmm...m" of each length: each a proper prefix of the next */
    for (i = nl; i-- > 0;) {
        assert_int_equal(leaf_add(&db, leaf, key, lens[i], "v", 1, tmp), 0);
        if (lens[i]) {
            unsigned at = digby__node_search(br, key, lens[i], &exact);
            assert_false(exact);
            branch_add(&db, br, at + 1, 100 + i, (const char *)key, lens[i]);
        }
    }
    assert_sound(&db, leaf);
    assert_sound(&db, br);
    assert_leaf_sorted(leaf);
    for (i = 0; i < nl; i++) {
        size_t kl;
        const uint8_t *k = digby__node_key(leaf, i, &kl);
        digby__cell c;
        assert_int_equal(kl, lens[i]);
        assert_true(kl == 0 || memcmp(k, key, kl) == 0);
        digby__node_cell(leaf, i, &c);
        assert_ptr_equal(c.key, k);
        assert_int_equal(c.size, digby__varint_len(lens[i]) + lens[i] + 3);
        assert_int_equal(digby__node_search(leaf, key, lens[i], &exact), i);
        assert_true(exact);
        if (i > 0) {
            k = digby__node_key(br, i, &kl);
            assert_int_equal(kl, lens[i]);
            assert_int_equal(digby__node_search(br, key, lens[i], &exact), i);
            assert_true(exact);
        }
    }
    /* between the lengths: insertion points and children */
    for (i = 0; i + 1 < nl; i++) {
        if (lens[i] + 1 == lens[i + 1]) continue;
        assert_int_equal(digby__node_search(leaf, key, lens[i] + 1, &exact), i + 1);
        assert_false(exact);
        assert_int_equal(digby__node_search(br, key, lens[i] + 1, &exact), i);
    }
    /* same long prefix, last byte higher or lower */
    for (j = 0; j < nl; j++) {
        size_t L = lens[j];
        if (L < 2) continue;
        key[L - 1] = 'n';
        assert_int_equal(digby__node_search(leaf, key, L, &exact), nl);
        assert_false(exact);
        assert_int_equal(digby__node_search(br, key, L, &exact), nl - 1);
        key[L - 1] = 'l';
        assert_int_equal(digby__node_search(leaf, key, L, &exact), j);
        assert_false(exact);
        assert_int_equal(digby__node_search(br, key, L, &exact), j - 1);
        key[L - 1] = 'm';
    }
    free(tmp);
    free(br);
    free(leaf);
}

/* ---- digby__node_validate: crafted bad pages --------------------------------- */

/* A page holding one cell of the given bytes at offset off (upper = off). */
static uint8_t *one_cell_page(const digby_db *db, unsigned type, unsigned off,
                              const uint8_t *bytes, size_t n)
{
    uint8_t *p = new_page(db, type);
    assert_true(off + n <= db->usable);
    memcpy(p + off, bytes, n);
    digby__put16(p + 2, 1);
    digby__put16(p + 4, (uint16_t)off);
    digby__put16(p + DIGBY__HDR, (uint16_t)off);
    return p;
}

#define REJECT(db, p) assert_int_not_equal(digby__node_validate((db), (p)), 0)
#define ACCEPT(db, p) assert_int_equal(digby__node_validate((db), (p)), 0)

/* A page of one cell (one_cell_page) accepted or rejected, then freed. */
#define CELL_VERDICT(verdict, db, type, off, bytes, n)                        \
    do {                                                                      \
        uint8_t *cp_ = one_cell_page((db), (type), (off), (bytes), (n));      \
        verdict((db), cp_);                                                   \
        free(cp_);                                                            \
    } while (0)
#define CELL_ACCEPT(db, type, off, bytes, n) CELL_VERDICT(ACCEPT, db, type, off, bytes, n)
#define CELL_REJECT(db, type, off, bytes, n) CELL_VERDICT(REJECT, db, type, off, bytes, n)

static uint8_t *sample_leaf(const digby_db *db)
{
    uint8_t *p = new_page(db, DIGBY__PAGE_LEAF), cell[64], ref[8];
    size_t sz;
    assert_int_equal(leaf_add(db, p, "apple", 5, "red", 3, NULL), 0);
    assert_int_equal(leaf_add(db, p, "kiwi", 4, "", 0, NULL), 0);
    digby__put64(ref, 1234);
    sz = digby__leaf_cell_encode(cell, "melon", 5, 100000, DIGBY__CELL_OVERFLOW, 3, ref, 8);
    assert_int_equal(digby__node_insert(db, p, 2, cell, sz, NULL), 0);
    ACCEPT(db, p);
    return p;
}

static uint8_t *sample_branch(const digby_db *db)
{
    uint8_t *p = new_page(db, DIGBY__PAGE_BRANCH);
    branch_add(db, p, 0, 10, NULL, 0);
    branch_add(db, p, 1, 11, "g", 1);
    branch_add(db, p, 2, 12, "p", 1);
    ACCEPT(db, p);
    return p;
}

static void test_validate_header_fields(void **state)
{
    digby_db db;
    uint8_t *base, *p;
    unsigned t, v, b;
    (void)state;
    fake_db(&db, 512);
    for (b = 0; b < 2; b++) {
        unsigned n, up;
        base = b ? sample_branch(&db) : sample_leaf(&db);
        n = digby__node_n(base);
        up = digby__node_upper(base);
        p = clone_page(&db, base);
        /* type */
        for (t = 0; t < 256; t++) {
            p[0] = (uint8_t)t;
            if (t == base[0]) ACCEPT(&db, p);
            else if (t == DIGBY__PAGE_BRANCH || t == DIGBY__PAGE_LEAF) {} /* other layout */
            else REJECT(&db, p);
        }
        p[0] = base[0];
        /* flags: every non-zero value */
        for (v = 1; v < 256; v++) { p[1] = (uint8_t)v; REJECT(&db, p); }
        p[1] = 0;
        ACCEPT(&db, p);
        /* count: empty page, and slot arrays running into the cells */
        digby__put16(p + 2, 0);
        REJECT(&db, p);
        digby__put16(p + 2, (uint16_t)((up - DIGBY__HDR) / 2 + 1));
        REJECT(&db, p);
        digby__put16(p + 2, (uint16_t)((db.usable - DIGBY__HDR) / 2 + 1));
        REJECT(&db, p);
        digby__put16(p + 2, 0xffff);
        REJECT(&db, p);
        digby__put16(p + 2, (uint16_t)n);
        ACCEPT(&db, p);
        /* upper: past the usable area, into the slot array, zero */
        digby__put16(p + 4, (uint16_t)(db.usable + 1));
        REJECT(&db, p);
        digby__put16(p + 4, (uint16_t)db.page_size);
        REJECT(&db, p);
        digby__put16(p + 4, 0xffff);
        REJECT(&db, p);
        digby__put16(p + 4, (uint16_t)(DIGBY__HDR + 2 * n - 1));
        REJECT(&db, p);
        digby__put16(p + 4, 0);
        REJECT(&db, p);
        /* upper above the lowest cell: that slot points below upper */
        digby__put16(p + 4, (uint16_t)(up + 1));
        REJECT(&db, p);
        digby__put16(p + 4, (uint16_t)up);
        ACCEPT(&db, p);
        /* garbage: more dead bytes than the cell area leaves */
        digby__put16(p + 6, (uint16_t)(db.usable - up - used_bytes(p) + 1));
        REJECT(&db, p);
        digby__put16(p + 6, 0xffff);
        REJECT(&db, p);
        digby__put16(p + 6, 0);
        ACCEPT(&db, p);
        /* slot offsets: below upper, at/after the usable end, inside the
           header and slot array, in the trailer */
        for (v = 0; v < n; v++) {
            unsigned off = digby__node_off(p, v);
            static const unsigned bad[] = {0, 1, 8, DIGBY__HDR, 0xffff};
            unsigned j;
            digby__put16(p + DIGBY__HDR + 2 * v, (uint16_t)(up - 1));
            REJECT(&db, p);
            digby__put16(p + DIGBY__HDR + 2 * v, (uint16_t)db.usable);
            REJECT(&db, p);
            digby__put16(p + DIGBY__HDR + 2 * v, (uint16_t)(db.page_size - 1));
            REJECT(&db, p);
            for (j = 0; j < sizeof bad / sizeof bad[0]; j++) {
                digby__put16(p + DIGBY__HDR + 2 * v, (uint16_t)bad[j]);
                REJECT(&db, p);
            }
            digby__put16(p + DIGBY__HDR + 2 * v, (uint16_t)off);
            ACCEPT(&db, p);
        }
        free(p);
        free(base);
    }
}

static void test_validate_leaf_cells(void **state)
{
    digby_db db;
    uint8_t c[64];
    unsigned end;
    size_t n;
    (void)state;
    fake_db(&db, 512);
    end = db.usable;
    /* a good one-cell page at the very end: accepted */
    n = digby__leaf_cell_encode(c, "key", 3, 4, 0, 7, "valu", 4);
    CELL_ACCEPT(&db, DIGBY__PAGE_LEAF, end - (unsigned)n, c, n);
    /* the same cell one byte too close to the end: its value runs past */
    CELL_REJECT(&db, DIGBY__PAGE_LEAF, end - (unsigned)n + 1, c, n - 1);
    /* key length past the page */
    c[0] = 0x7f; c[1] = 'a';
    CELL_REJECT(&db, DIGBY__PAGE_LEAF, end - 2, c, 2);
    {
        /* key length past the page, by a huge varint */
        static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 'a', 0x00, 0x00};
        CELL_REJECT(&db, DIGBY__PAGE_LEAF, end - 40, huge, sizeof huge);
    }
    /* key fits, then the packed length varint is cut off by the end */
    c[0] = 0x01; c[1] = 'a'; c[2] = 0x80;
    CELL_REJECT(&db, DIGBY__PAGE_LEAF, end - 3, c, 3);
    /* key fits, nothing after it */
    c[0] = 0x01; c[1] = 'a';
    CELL_REJECT(&db, DIGBY__PAGE_LEAF, end - 2, c, 2);
    /* version varint missing / cut off */
    c[0] = 0x01; c[1] = 'a'; c[2] = 0x00;
    CELL_REJECT(&db, DIGBY__PAGE_LEAF, end - 3, c, 3);
    c[3] = 0x81;
    CELL_REJECT(&db, DIGBY__PAGE_LEAF, end - 4, c, 4);
    /* minimal good cell: empty key, empty value, version 0 */
    c[0] = 0; c[1] = 0; c[2] = 0;
    CELL_ACCEPT(&db, DIGBY__PAGE_LEAF, end - 3, c, 3);
    /* value length past the page */
    c[0] = 0; c[1] = 2 << 3; c[2] = 0; c[3] = 'x';
    CELL_REJECT(&db, DIGBY__PAGE_LEAF, end - 4, c, 4);
    /* unknown cell flag bits 1 and 2 */
    {
        unsigned f;
        for (f = 2; f < 8; f++) {
            c[0] = 0; c[1] = (uint8_t)f; c[2] = 0;
            CELL_REJECT(&db, DIGBY__PAGE_LEAF, end - 3, c, 3);
        }
    }
    /* vlen above DIGBY_MAX_VALUE_BYTES (overflow cell) */
    {
        uint8_t ref[8] = {0};
        n = digby__leaf_cell_encode(c, "k", 1, (uint64_t)DIGBY_MAX_VALUE_BYTES + 1,
                                    DIGBY__CELL_OVERFLOW, 1, ref, 8);
        CELL_REJECT(&db, DIGBY__PAGE_LEAF, end - (unsigned)n, c, n);
        n = digby__leaf_cell_encode(c, "k", 1, DIGBY_MAX_VALUE_BYTES,
                                    DIGBY__CELL_OVERFLOW, 1, ref, 8);
        CELL_ACCEPT(&db, DIGBY__PAGE_LEAF, end - (unsigned)n, c, n);
        /* the overflow reference cut off by the end */
        CELL_REJECT(&db, DIGBY__PAGE_LEAF, end - (unsigned)n + 1, c, n - 1);
        /* an overflow value of 0 bytes */
        n = digby__leaf_cell_encode(c, "k", 1, 0, DIGBY__CELL_OVERFLOW, 1, ref, 8);
        CELL_REJECT(&db, DIGBY__PAGE_LEAF, end - (unsigned)n, c, n);
    }
    /* varints running off the end, at every position in the cell */
    {
        unsigned k;
        for (k = 1; k <= 12; k++) {
            memset(c, 0x80, k);
            CELL_REJECT(&db, DIGBY__PAGE_LEAF, end - k, c, k);
        }
    }
    /* an 11-byte varint well inside the page */
    memset(c, 0x80, 10);
    c[10] = 0x00;
    memset(c + 11, 0, 8);
    CELL_REJECT(&db, DIGBY__PAGE_LEAF, end - 40, c, 19);
}

static void test_validate_branch_cells(void **state)
{
    digby_db db;
    uint8_t *p, c[64];
    unsigned end;
    size_t n;
    (void)state;
    fake_db(&db, 512);
    end = db.usable;
    n = digby__branch_cell_encode(c, 5, 6, NULL, 0);
    CELL_ACCEPT(&db, DIGBY__PAGE_BRANCH, end - (unsigned)n, c, n);
    /* the 16-byte child reference with no room for the key length */
    CELL_REJECT(&db, DIGBY__PAGE_BRANCH, end - 16, c, 16);
    CELL_REJECT(&db, DIGBY__PAGE_BRANCH, end - 8, c, 8);
    CELL_REJECT(&db, DIGBY__PAGE_BRANCH, end - 1, c, 1);
    /* slot 0 must have an empty key */
    n = digby__branch_cell_encode(c, 5, 6, "a", 1);
    CELL_REJECT(&db, DIGBY__PAGE_BRANCH, end - (unsigned)n, c, n);
    /* key length varint running off the end */
    memset(c + 16, 0x80, 4);
    CELL_REJECT(&db, DIGBY__PAGE_BRANCH, end - 20, c, 20);
    /* a separator in slot 1 whose key runs past the end */
    p = sample_branch(&db);
    {
        unsigned off = digby__node_off(p, 1);
        p[off + 16] = 0x7f; /* 127 key bytes: only 19 bytes to the end */
        REJECT(&db, p);
    }
    free(p);
    /* later slots may have keys; slot 1 with an empty key is allowed by the
       page format (order is the tree's concern) */
    p = new_page(&db, DIGBY__PAGE_BRANCH);
    branch_add(&db, p, 0, 3, NULL, 0);
    branch_add(&db, p, 1, 4, NULL, 0);
    ACCEPT(&db, p);
    free(p);
}

/* A leaf whose last cell's key length, read from the page, runs into the
   trailer by exactly one byte. */
static void test_validate_key_into_trailer(void **state)
{
    digby_db db;
    uint8_t c[16];
    (void)state;
    fake_db(&db, 4096);
    c[0] = 0x05;
    memcpy(c + 1, "abcd", 4);
    CELL_REJECT(&db, DIGBY__PAGE_LEAF, db.usable - 5, c, 5);
}

/* ---- fuzz: random mutations of valid pages ----------------------------------- */

static void check_accepted(const digby_db *db, const uint8_t *p, uint8_t *tmp)
{
    unsigned n = digby__node_n(p), i, upper = digby__node_upper(p);
    const uint8_t *end = p + db->usable;
    int exact;
    for (i = 0; i < n; i++) {
        digby__cell c;
        unsigned off = digby__node_off(p, i);
        size_t kl;
        const uint8_t *k;
        assert_true(off >= upper && off < db->usable);
        digby__node_cell(p, i, &c);
        assert_true(off + c.size <= db->usable);
        assert_true(c.key >= p + off && c.key + c.key_bytes <= end);
        k = digby__node_key(p, i, &kl);
        assert_ptr_equal(k, c.key);
        assert_int_equal(kl, c.key_bytes);
        if (p[0] == DIGBY__PAGE_LEAF) {
            size_t vb = (c.flags & DIGBY__CELL_OVERFLOW) ? 8 : (size_t)c.vlen;
            assert_true(c.val >= c.key + c.key_bytes && c.val + vb <= end);
            assert_int_equal(c.flags & ~DIGBY__CELL_FLAGS_KNOWN, 0);
        } else if (i == 0) {
            assert_int_equal(c.key_bytes, 0);
        }
        /* searching for a key on the page does not crash */
        (void)digby__node_search(p, c.key, c.key_bytes, &exact);
    }
    (void)digby__node_search(p, "", 0, &exact);
    (void)digby__node_search(p, "\xff\xff\xff\xff", 4, &exact);
    /* compaction of an accepted page stays inside it and gives a page
       that still validates with the same cells */
    {
        uint8_t *q = clone_page(db, p);
        digby__node_compact(db, q, tmp);
        assert_int_equal(digby__node_validate(db, q), 0);
        assert_int_equal(digby__node_garbage(q), 0);
        for (i = 0; i < n; i++) {
            size_t a = digby__node_cell_size(p, i);
            assert_int_equal(a, digby__node_cell_size(q, i));
            assert_memory_equal(p + digby__node_off(p, i), q + digby__node_off(q, i), a);
        }
        /* and an insert into it either fits and validates or changes nothing */
        {
            uint8_t cell[40], *before = clone_page(db, q);
            size_t sz;
            unsigned at;
            if (q[0] == DIGBY__PAGE_LEAF) {
                sz = digby__leaf_cell_encode(cell, "fz", 2, 3, 0, 1, "abc", 3);
                at = rndn(n + 1);
            } else {
                sz = digby__branch_cell_encode(cell, 9, 9, "fz", 2);
                at = 1 + rndn(n);
            }
            if (digby__node_insert(db, q, at, cell, sz, tmp))
                assert_memory_equal(q, before, db->usable);
            else
                assert_int_equal(digby__node_validate(db, q), 0);
            free(before);
        }
        free(q);
    }
}

static void mutate(const digby_db *db, uint8_t *p)
{
    unsigned k, nmut = 1 + rndn(4);
    for (k = 0; k < nmut; k++) {
        unsigned what = rndn(8), at;
        switch (what) {
        case 0: /* a random byte anywhere */
            p[rndn(db->usable)] = (uint8_t)rnd();
            break;
        case 1: /* a bit flip anywhere */
            at = rndn(db->usable);
            p[at] ^= (uint8_t)(1u << rndn(8));
            break;
        case 2: /* a header u16 to a random or boundary value */
            at = 2 + 2 * rndn(3);
            switch (rndn(4)) {
            case 0: digby__put16(p + at, (uint16_t)rnd()); break;
            case 1: digby__put16(p + at, (uint16_t)(digby__get16(p + at) + 1)); break;
            case 2: digby__put16(p + at, (uint16_t)(digby__get16(p + at) - 1)); break;
            default: digby__put16(p + at, (uint16_t)(db->usable - rndn(4))); break;
            }
            break;
        case 3: { /* a slot to a nearby or boundary offset */
            unsigned n = digby__node_n(p);
            if (!n || DIGBY__HDR + 2 * n > db->usable) break;
            at = DIGBY__HDR + 2 * rndn(n);
            if (rndn(2)) digby__put16(p + at, (uint16_t)(db->usable - 1 - rndn(20)));
            else digby__put16(p + at, (uint16_t)(digby__get16(p + at) + rndn(7) - 3));
            break;
        }
        case 4: { /* a byte inside the cell area, where the varints are */
            unsigned up = digby__node_upper(p);
            if (up >= db->usable) break;
            at = up + rndn(db->usable - up);
            p[at] = (uint8_t)(rndn(2) ? 0x80 | rnd() : rnd());
            break;
        }
        case 5: /* a count bump */
            digby__put16(p + 2, (uint16_t)(digby__node_n(p) + rndn(3) - 1));
            break;
        case 6: /* the last bytes of the usable area */
            p[db->usable - 1 - rndn(12)] = (uint8_t)(0x80 | rnd());
            break;
        default: /* flags */
            if (rndn(4) == 0) p[1] = (uint8_t)rnd();
            break;
        }
    }
}

static void fuzz_page(const digby_db *db, const uint8_t *base, int iters, int *accepted)
{
    uint8_t *p = (uint8_t *)malloc(db->usable), *tmp = (uint8_t *)malloc(db->usable);
    int i;
    for (i = 0; i < iters; i++) {
        memcpy(p, base, db->usable);
        mutate(db, p);
        if (digby__node_validate(db, p) == 0) {
            (*accepted)++;
            check_accepted(db, p, tmp);
        }
    }
    free(tmp);
    free(p);
}

static uint8_t *random_leaf(const digby_db *db, unsigned want)
{
    uint8_t *p = new_page(db, DIGBY__PAGE_LEAF), cell[2000], ref[8];
    unsigned tries = 0;
    while (digby__node_n(p) < want && tries++ < 10 * want) {
        uint8_t k[24], v[64];
        size_t kl, sz, vl = rndn(40), t;
        int exact;
        unsigned at;
        random_key(k, &kl);
        at = digby__node_search(p, k, kl, &exact);
        if (exact) continue;
        for (t = 0; t < vl; t++) v[t] = (uint8_t)rnd();
        if (rndn(4) == 0) {
            digby__put64(ref, rnd());
            sz = digby__leaf_cell_encode(cell, k, kl, 1 + rndn(100000), DIGBY__CELL_OVERFLOW,
                                         rnd() >> rndn(64), ref, 8);
        } else {
            sz = digby__leaf_cell_encode(cell, k, kl, vl, 0, rnd() >> rndn(64), v, vl);
        }
        if (digby__node_insert(db, p, at, cell, sz, NULL)) break;
    }
    /* some garbage too */
    if (digby__node_n(p) > 3) digby__node_remove(p, 1);
    assert_sound(db, p);
    return p;
}

static uint8_t *random_branch(const digby_db *db, unsigned want)
{
    uint8_t *p = new_page(db, DIGBY__PAGE_BRANCH);
    unsigned tries = 0;
    branch_add(db, p, 0, rnd(), NULL, 0);
    while (digby__node_n(p) < want && tries++ < 10 * want) {
        uint8_t k[24], cell[64];
        size_t kl, sz;
        int exact;
        unsigned at;
        random_key(k, &kl);
        if (!kl) continue;
        at = digby__node_search(p, k, kl, &exact);
        if (exact) continue;
        sz = digby__branch_cell_encode(cell, rnd(), rnd(), k, kl);
        if (digby__node_insert(db, p, at + 1, cell, sz, NULL)) break;
    }
    if (digby__node_n(p) > 3) digby__node_remove(p, 2);
    assert_sound(db, p);
    return p;
}

static void test_fuzz_validate(void **state)
{
    static const uint32_t sizes[] = {512, 4096};
    unsigned s, r;
    int accepted = 0;
    (void)state;
    seed(0xF022);
    for (s = 0; s < 2; s++) {
        digby_db db;
        fake_db(&db, sizes[s]);
        for (r = 0; r < 6; r++) {
            unsigned want = r < 2 ? 2 + r : 500;
            uint8_t *p = (r & 1) ? random_branch(&db, want) : random_leaf(&db, want);
            fuzz_page(&db, p, sizes[s] == 512 ? 6000 : 2000, &accepted);
            free(p);
        }
        {
            /* the handcrafted samples too */
            uint8_t *p = sample_leaf(&db);
            fuzz_page(&db, p, 3000, &accepted);
            free(p);
            p = sample_branch(&db);
            fuzz_page(&db, p, 3000, &accepted);
            free(p);
        }
    }
    /* the mutations reach both outcomes */
    assert_true(accepted > 1000);
}

/* Pure random bytes: validate never crashes. */
static void test_fuzz_random_bytes(void **state)
{
    digby_db db;
    uint8_t *p, *tmp;
    int i, accepted = 0;
    size_t k;
    (void)state;
    fake_db(&db, 512);
    p = (uint8_t *)malloc(db.usable);
    tmp = (uint8_t *)malloc(db.usable);
    seed(0xBADBAD);
    for (i = 0; i < 20000; i++) {
        unsigned n;
        for (k = 0; k < db.usable; k++) p[k] = (uint8_t)rnd();
        p[0] = (uint8_t)(DIGBY__PAGE_BRANCH + rndn(2));
        p[1] = 0;
        /* plausible headers so that some get deep into the cells */
        n = 1 + rndn(3);
        digby__put16(p + 2, (uint16_t)n);
        digby__put16(p + 4, (uint16_t)(db.usable - 1 - rndn(60)));
        digby__put16(p + 6, 0);
        for (k = 0; k < n; k++)
            digby__put16(p + DIGBY__HDR + 2 * k, (uint16_t)(db.usable - 1 - rndn(60)));
        if (digby__node_validate(&db, p) == 0) {
            accepted++;
            check_accepted(&db, p, tmp);
        }
    }
    free(tmp);
    free(p);
    print_message("random pages accepted: %d of 20000\n", accepted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaf_cell_layout),
        cmocka_unit_test(test_leaf_cell_round_trip),
        cmocka_unit_test(test_branch_cell_codec),
        cmocka_unit_test(test_leaf_build_and_search),
        cmocka_unit_test(test_leaf_model_512),
        cmocka_unit_test(test_leaf_model_4096),
        cmocka_unit_test(test_leaf_model_65536),
        cmocka_unit_test(test_garbage_and_compact),
        cmocka_unit_test(test_full_detection),
        cmocka_unit_test(test_branch_search),
        cmocka_unit_test(test_branch_search_random),
        cmocka_unit_test(test_long_keys),
        cmocka_unit_test(test_validate_header_fields),
        cmocka_unit_test(test_validate_leaf_cells),
        cmocka_unit_test(test_validate_branch_cells),
        cmocka_unit_test(test_validate_key_into_trailer),
        cmocka_unit_test(test_fuzz_validate),
        cmocka_unit_test(test_fuzz_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
