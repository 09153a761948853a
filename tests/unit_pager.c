/* White-box tests of src_parts/42_pager.c and 30_page_seal.c: the page
   cache (through a real database on the in-memory VFS), the write
   transaction's dirty map, and the page trailer. */
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "unit_common.h"

/* ---- a database on the memory VFS -------------------------------------- */

/* Counters summed over every cache shard (large caches are sharded). */
static uint64_t cache_sum(digby_db *db, int which)
{
    uint64_t t = 0;
    unsigned i;
    for (i = 0; i < (db->nshards ? db->nshards : 1); i++) {
        digby__cache *c = i == 0 ? &db->cache : &db->xshards[i - 1];
        t += which == 0 ? c->hits : which == 1 ? c->misses : c->nframes;
    }
    return t;
}

static void env_open(env *e, uint32_t page_size, size_t cache_bytes)
{
    env_init(e, "pager.db", page_size);
    e->o.cache_bytes = cache_bytes;
    env_start(e);
}

/* Empty the cache and zero its counters (open may read pages through it,
   e.g. to verify the newest commit). */
static void cache_reset(env *e)
{
    size_t bytes = e->o.cache_bytes ? e->o.cache_bytes : (size_t)8 << 20;
    digby__cache_release(e->db);
    assert_int_equal(digby__cache_init(e->db, bytes), DIGBY_OK);
    assert_int_equal(cache_sum(e->db, 2), 0);
}

/* n keys with 60-byte values: at 512-byte pages about six to a leaf. */
static void fill(env *e, int n)
{
    commit_puts(e, n, 'v', 60);
}

typedef struct pref {
    uint64_t pgno, txid;
    int leaf;
} pref;

/* Every tree page of the global tree, found by raw reads (the cache is not
   touched). */
static size_t collect(digby_db *db, pref *out, size_t max)
{
    uint8_t *buf = (uint8_t *)malloc(db->page_size);
    size_t head = 0, n = 0;
    assert_non_null(buf);
    if (db->meta.main.root) {
        out[n].pgno = db->meta.main.root;
        out[n].txid = db->meta.main.root_txid;
        n++;
    }
    while (head < n) {
        unsigned i;
        assert_int_equal(digby__page_read_raw(db, out[head].pgno, buf), DIGBY_OK);
        assert_int_equal(digby__node_validate(db, buf), 0);
        out[head].leaf = buf[0] == DIGBY__PAGE_LEAF;
        if (!out[head].leaf) {
            for (i = 0; i < digby__node_n(buf); i++) {
                digby__cell c;
                digby__node_cell(buf, i, &c);
                assert_true(n < max);
                out[n].pgno = c.child;
                out[n].txid = c.child_txid;
                n++;
            }
        }
        head++;
    }
    free(buf);
    return n;
}

/* Only the leaves, in page order of discovery. */
static size_t leaves(digby_db *db, pref *out, size_t max)
{
    pref *all = (pref *)malloc(max * sizeof *all);
    size_t n = collect(db, all, max), i, k = 0;
    for (i = 0; i < n; i++)
        if (all[i].leaf) out[k++] = all[i];
    free(all);
    return k;
}

/* Reopen, empty the cache (a cold start) and list the leaves. */
static size_t reopen_cold(env *e, pref *lv, size_t max)
{
    env_reopen(e);
    cache_reset(e);
    return leaves(e->db, lv, max);
}

/* Frames on the shard's replacement ring (every cached frame, pinned or
   not; orphans are off it), and how many of them are pinned. */
static size_t ring_len(const digby__cache *c, size_t *pinned)
{
    const digby__frame *f;
    size_t n = 0, p = 0;
    for (f = c->lru.lnext; f != &c->lru; f = f->lnext) {
        assert_true(f->in_lru);
        assert_true(f->pgno != 0);
        assert_ptr_equal(f->lnext->lprev, f);
        p += f->pins != 0;
        n++;
    }
    if (pinned) *pinned = p;
    return n;
}

/* Unpinned frames: the ones eviction may take. */
static size_t lru_len(const digby__cache *c)
{
    size_t pinned, n = ring_len(c, &pinned);
    return n - pinned;
}

/* The frame caching page pgno, or NULL. */
static digby__frame *cached(digby_db *db, uint64_t pgno)
{
    return digby__cache_find(digby__shard(db, pgno), pgno);
}

static void get_ok(digby_txn *txn, const pref *r, const uint8_t **page, digby__frame **pin)
{
    assert_int_equal(digby__page_get(txn, r->pgno, r->txid, page, pin), DIGBY_OK);
    assert_non_null(*pin);
    assert_true(digby__get64(*page + 8) == r->pgno);
}

/* A page got and pinned, and its frame. */
typedef struct pinned {
    const uint8_t *page;
    digby__frame *frame;
} pinned;

static void pin(digby_txn *txn, const pref *r, pinned *pn)
{
    get_ok(txn, r, &pn->page, &pn->frame);
}

/* A get whose pin is dropped at once. */
static void get_once(digby_txn *txn, const pref *r)
{
    const uint8_t *p;
    digby__frame *f;
    get_ok(txn, r, &p, &f);
    digby__page_unpin(txn->db, f);
}

/* ---- cache ----------------------------------------------------------------- */

static void test_cache_hit_miss(void **state)
{
    env e;
    digby_txn *txn;
    pref lv[1000];
    const uint8_t *p1, *p2;
    digby__frame *f1, *f2;
    pref root;
    size_t n;
    (void)state;
    /* 128 pages: too few for transactions to hold branch pages (see
       test_held_branch_pages), so every get pins */
    env_open(&e, 512, 128 * 512);
    fill(&e, 500);
    n = reopen_cold(&e, lv, 1000);
    assert_true(cache_sum(e.db, 0) == 0 && cache_sum(e.db, 1) == 0);
    assert_true(n > 10);
    root.pgno = e.db->meta.main.root;
    root.txid = e.db->meta.main.root_txid;
    assert_int_equal(digby_txn_begin(e.db, DIGBY_TXN_READONLY, &txn), DIGBY_OK);
    get_ok(txn, &root, &p1, &f1);
    assert_true(cache_sum(e.db, 1) == 1 && cache_sum(e.db, 0) == 0);
    assert_int_equal(f1->pins, 1);
    /* a second read while pinned: a hit on the same frame */
    get_ok(txn, &root, &p2, &f2);
    assert_true(cache_sum(e.db, 1) == 1 && cache_sum(e.db, 0) == 1);
    assert_ptr_equal(f1, f2);
    assert_ptr_equal(p1, p2);
    assert_int_equal(f1->pins, 2);
    digby__page_unpin(e.db, f2);
    digby__page_unpin(e.db, f1);
    assert_int_equal(f1->pins, 0);
    assert_int_equal(lru_len(f1->home), 1);
    /* and after unpinning: still a hit */
    get_ok(txn, &root, &p2, &f2);
    assert_true(cache_sum(e.db, 1) == 1 && cache_sum(e.db, 0) == 2);
    assert_ptr_equal(f1, f2);
    assert_int_equal(lru_len(f1->home), 0); /* pinned frames cannot be evicted */
    assert_int_equal(ring_len(f1->home, NULL), 1); /* but stay on the ring */
    digby__page_unpin(e.db, f2);
    /* a leaf: miss, then hit */
    get_ok(txn, &lv[3], &p1, &f1);
    digby__page_unpin(e.db, f1);
    get_ok(txn, &lv[3], &p2, &f2);
    digby__page_unpin(e.db, f2);
    assert_true(cache_sum(e.db, 1) == 2 && cache_sum(e.db, 0) == 3);
    assert_int_equal(cache_sum(e.db, 2), 2);
    digby_txn_abort(txn);
    /* a commit hands its written tree pages to the cache: the new root is
       a hit without a read */
    assert_int_equal(digby_put(e.db, "k000001", 7, "x", 1), DIGBY_OK);
    assert_non_null(cached(e.db, e.db->meta.main.root));
    env_close(&e);
}

/* With room in the cache, a transaction keeps the branch pages it reads
   pinned until it ends and finds them again without the cache (no lookup,
   no pin); leaves are pinned per get as before. */
static void test_held_branch_pages(void **state)
{
    env e;
    digby_txn *txn, *txn2;
    pref lv[1000], root;
    const uint8_t *p1, *p2;
    digby__frame *f1, *f2, *rf;
    (void)state;
    env_open(&e, 512, 0); /* 8 MiB: 16384 pages */
    fill(&e, 500);
    assert_true(reopen_cold(&e, lv, 1000) > 10);
    root.pgno = e.db->meta.main.root;
    root.txid = e.db->meta.main.root_txid;
    assert_int_equal(digby_txn_begin(e.db, DIGBY_TXN_READONLY, &txn), DIGBY_OK);
    assert_int_equal(digby__page_get(txn, root.pgno, root.txid, &p1, &f1), DIGBY_OK);
    assert_null(f1); /* the transaction holds it */
    assert_true(cache_sum(e.db, 1) == 1 && cache_sum(e.db, 0) == 0);
    rf = cached(e.db, root.pgno);
    assert_non_null(rf);
    assert_int_equal(rf->pins, 1);
    assert_int_equal(txn->held_n, 1);
    assert_int_equal(e.db->held_total, 1);
    /* again: the same bytes, and the cache is not asked */
    assert_int_equal(digby__page_get(txn, root.pgno, root.txid, &p2, &f2), DIGBY_OK);
    assert_null(f2);
    assert_ptr_equal(p1, p2);
    assert_true(cache_sum(e.db, 1) == 1 && cache_sum(e.db, 0) == 0);
    assert_int_equal(rf->pins, 1);
    /* a wrong txid is still caught */
    assert_int_equal(digby__page_get(txn, root.pgno, root.txid + 1, &p2, &f2), DIGBY_CORRUPT);
    /* a leaf is pinned per get */
    get_ok(txn, &lv[2], &p1, &f1);
    assert_int_equal(f1->pins, 1);
    digby__page_unpin(e.db, f1);
    assert_int_equal(f1->pins, 0);
    /* a second reader holds its own pin on the same frame */
    assert_int_equal(digby_txn_begin(e.db, DIGBY_TXN_READONLY, &txn2), DIGBY_OK);
    assert_int_equal(digby__page_get(txn2, root.pgno, root.txid, &p2, &f2), DIGBY_OK);
    assert_null(f2);
    assert_int_equal(rf->pins, 2);
    assert_int_equal(e.db->held_total, 2);
    digby_txn_abort(txn);
    assert_int_equal(rf->pins, 1);
    digby_txn_abort(txn2);
    assert_int_equal(rf->pins, 0);
    assert_int_equal(e.db->held_total, 0);
    assert_int_equal(lru_len(rf->home) > 0, 1);
    /* a commit while a reader holds the old root: the reader keeps reading
       its snapshot, the writer's new root replaces nothing it holds */
    assert_int_equal(digby_txn_begin(e.db, DIGBY_TXN_READONLY, &txn), DIGBY_OK);
    assert_int_equal(digby__page_get(txn, root.pgno, root.txid, &p1, &f1), DIGBY_OK);
    assert_int_equal(digby_put(e.db, "k000001", 7, "y", 1), DIGBY_OK);
    assert_true(e.db->meta.main.root != root.pgno);
    assert_int_equal(digby__page_get(txn, root.pgno, root.txid, &p2, &f2), DIGBY_OK);
    assert_ptr_equal(p1, p2);
    assert_true(digby__get64(p2 + 8) == root.pgno);
    digby_txn_abort(txn);
    assert_int_equal(e.db->held_total, 0);
    env_close(&e);
}

/* All transactions together hold at most 1/8 of the cache; a transaction
   that finds that share taken stops holding (held_off) and pins per get,
   without asking again. */
static void test_held_share_of_the_cache(void **state)
{
    env e;
    pref *all = (pref *)malloc(4000 * sizeof *all);
    digby_txn *txn[8];
    size_t n, i, nb = 0, share;
    int t, stopped = -1;
    (void)state;
    env_open(&e, 512, 512 * 512); /* 512 pages: tables of 16, 64 in all */
    fill(&e, 3000);
    env_reopen(&e);
    n = collect(e.db, all, 4000);
    for (i = 0; i < n; i++) nb += !all[i].leaf;
    assert_true(nb > 16); /* more branch pages than one table takes */
    share = e.db->cache.capacity * (e.db->nshards ? e.db->nshards : 1) / 8;
    assert_int_equal(share, 64);
    for (t = 0; t < 8; t++) {
        assert_int_equal(digby_txn_begin(e.db, DIGBY_TXN_READONLY, &txn[t]), DIGBY_OK);
        for (i = 0; i < n; i++) {
            const uint8_t *p;
            digby__frame *f;
            if (all[i].leaf) continue;
            assert_int_equal(digby__page_get(txn[t], all[i].pgno, all[i].txid, &p, &f), DIGBY_OK);
            assert_true(digby__get64(p + 8) == all[i].pgno);
            digby__page_unpin(e.db, f);
        }
        assert_true(txn[t]->held_n <= 12); /* 3/4 of its 16 */
        assert_true(e.db->held_total <= share);
        if (txn[t]->held_n < 12 && stopped < 0) stopped = t;
    }
    /* 8 readers would hold 96: the share stopped one of them */
    assert_true(stopped >= 0);
    assert_true(txn[stopped]->held_off);
    assert_int_equal(e.db->held_total, share);
    for (t = 0; t < 8; t++) digby_txn_abort(txn[t]);
    assert_int_equal(e.db->held_total, 0);
    free(all);
    env_close(&e);
}

/* The smallest cache (16 frames) over 3000 keys, reopened cold, and a
   reader; the leaves (at least `want`, at most 1000) listed in lv. */
static size_t small_cache_reader(env *e, pref *lv, size_t want, digby_txn **txn)
{
    size_t n;
    env_open(e, 512, 1); /* rounds up to the minimum, 16 pages */
    assert_int_equal(e->db->cache.capacity, 16);
    fill(e, 3000);
    assert_true(cache_sum(e->db, 2) <= 16); /* commits respect it too */
    n = reopen_cold(e, lv, 1000);
    assert_true(n >= want);
    assert_int_equal(digby_txn_begin(e->db, DIGBY_TXN_READONLY, txn), DIGBY_OK);
    return n;
}

/* The end of a small_cache_reader test: the cache at its 16 frames. */
static void small_cache_done(env *e, digby_txn *txn)
{
    assert_int_equal(cache_sum(e->db, 2), 16);
    digby_txn_abort(txn);
    env_close(e);
}

static void test_cache_capacity_and_lru(void **state)
{
    env e;
    digby_txn *txn;
    pref lv[1000];
    size_t i;
    (void)state;
    small_cache_reader(&e, lv, 300, &txn);
    for (i = 0; i < 300; i++) {
        get_once(txn, &lv[i]);
        assert_true(cache_sum(e.db, 2) <= 16);
        assert_true(cache_sum(e.db, 2) == (i + 1 < 16 ? i + 1 : 16));
        assert_int_equal(lru_len(&e.db->cache), cache_sum(e.db, 2));
    }
    assert_true(cache_sum(e.db, 1) == 300 && cache_sum(e.db, 0) == 0);
    /* the last 16 are cached, the rest were evicted */
    for (i = 0; i < 300; i++) {
        digby__frame *g = cached(e.db, lv[i].pgno);
        if (i >= 284) assert_non_null(g);
        else assert_null(g);
    }
    /* a page used again gets a second chance: touch 284 (the oldest)
       again, then read a new page: 285 is evicted, 284 stays */
    get_once(txn, &lv[284]);
    assert_true(cache_sum(e.db, 0) == 1);
    get_once(txn, &lv[300]);
    assert_null(cached(e.db, lv[285].pgno));
    assert_non_null(cached(e.db, lv[284].pgno));
    assert_non_null(cached(e.db, lv[286].pgno));
    small_cache_done(&e, txn);
}

static void test_cache_capacity_from_bytes(void **state)
{
    env e;
    (void)state;
    env_open(&e, 512, 40 * 512 + 511);
    assert_int_equal(e.db->cache.capacity, 40);
    assert_true(e.db->cache.nbuckets >= 2 * e.db->cache.capacity);
    assert_true((e.db->cache.nbuckets & (e.db->cache.nbuckets - 1)) == 0);
    env_close(&e);
}

static void test_cache_never_evicts_pinned(void **state)
{
    env e;
    digby_txn *txn;
    pref lv[1000];
    pinned pn[10];
    uint8_t copy[10][512];
    size_t i, j;
    (void)state;
    small_cache_reader(&e, lv, 320, &txn);
    for (j = 0; j < 10; j++) {
        pin(txn, &lv[j * 7], &pn[j]);
        memcpy(copy[j], pn[j].page, 512);
    }
    for (i = 10; i < 320; i++) {
        if (i % 7 == 0 && i < 70) continue;
        get_once(txn, &lv[i]);
        assert_true(cache_sum(e.db, 2) <= e.db->cache.capacity);
        assert_true(lru_len(&e.db->cache) <= e.db->cache.capacity - 10);
        if (i % 50 == 0) {
            for (j = 0; j < 10; j++) {
                assert_ptr_equal(cached(e.db, lv[j * 7].pgno), pn[j].frame);
                assert_ptr_equal(pn[j].frame->data, pn[j].page);
                assert_memory_equal(pn[j].page, copy[j], 512);
            }
        }
    }
    for (j = 0; j < 10; j++) {
        assert_ptr_equal(cached(e.db, lv[j * 7].pgno), pn[j].frame);
        assert_memory_equal(pn[j].page, copy[j], 512); /* ASan: never freed */
        assert_int_equal(pn[j].frame->pins, 1);
        assert_true(pn[j].frame->in_lru); /* on the ring, skipped by the hand */
        digby__page_unpin(e.db, pn[j].frame);
    }
    small_cache_done(&e, txn);
}

static void test_cache_overshoot_when_all_pinned(void **state)
{
    env e;
    digby_txn *txn;
    pref lv[1000];
    pinned pn[41];
    size_t n, j;
    (void)state;
    n = small_cache_reader(&e, lv, 40, &txn);
    for (j = 0; j < 40; j++) {
        pin(txn, &lv[j], &pn[j]);
        assert_int_equal(cache_sum(e.db, 2), j + 1);
    }
    /* 40 frames for a 16-frame cache: nothing could be evicted */
    assert_int_equal(cache_sum(e.db, 2), 40);
    assert_int_equal(lru_len(&e.db->cache), 0);
    for (j = 0; j < 40; j++) {
        assert_ptr_equal(cached(e.db, lv[j].pgno), pn[j].frame);
        assert_true(digby__get64(pn[j].page + 8) == lv[j].pgno);
    }
    /* pinning one twice is a hit, no new frame */
    pin(txn, &lv[5], &pn[40]);
    assert_ptr_equal(pn[40].frame, pn[5].frame);
    assert_int_equal(cache_sum(e.db, 2), 40);
    assert_true(cache_sum(e.db, 1) == 40 && cache_sum(e.db, 0) == 1);
    /* unpinning shrinks the cache back to its capacity */
    for (j = 0; j <= 40; j++) {
        digby__page_unpin(e.db, pn[j].frame);
        assert_true(cache_sum(e.db, 2) >= 16);
    }
    assert_int_equal(cache_sum(e.db, 2), 16);
    assert_int_equal(lru_len(&e.db->cache), 16);
    /* the cache works normally afterwards */
    for (j = 40; j < 60 && j < n; j++) {
        get_once(txn, &lv[j]);
        assert_int_equal(cache_sum(e.db, 2), 16);
    }
    small_cache_done(&e, txn);
}

static void write_raw(env *e, uint64_t pgno, const uint8_t *page)
{
    assert_int_equal(e->db->vfs->write(e->db->file, pgno * e->db->page_size, page,
                                       e->db->page_size), DIGBY_OK);
}

static void test_cache_rejects_bad_pages(void **state)
{
    env e;
    digby_txn *txn;
    pref lv[1000];
    uint8_t good[512], bad[512];
    const uint8_t *p;
    digby__frame *f;
    size_t n;
    (void)state;
    env_open(&e, 512, 0);
    fill(&e, 300);
    n = reopen_cold(&e, lv, 1000);
    assert_true(n > 5);
    assert_int_equal(digby__page_read_raw(e.db, lv[2].pgno, good), DIGBY_OK);
    assert_int_equal(digby_txn_begin(e.db, DIGBY_TXN_READONLY, &txn), DIGBY_OK);
    /* bit rot: the trailer catches it; nothing enters the cache */
    memcpy(bad, good, 512);
    bad[200] ^= 0x10;
    write_raw(&e, lv[2].pgno, bad);
    assert_int_equal(digby__page_get(txn, lv[2].pgno, lv[2].txid, &p, &f), DIGBY_CORRUPT);
    assert_null(f);
    assert_true(digby_corrupt_pgno(e.db) == lv[2].pgno);
    assert_int_equal(cache_sum(e.db, 2), 0);
    assert_null(cached(e.db, lv[2].pgno));
    /* a sealed page with a bad structure: validated on the way in */
    memcpy(bad, good, 512);
    bad[1] = 1; /* flags */
    digby__page_checksum(e.db, bad);
    write_raw(&e, lv[2].pgno, bad);
    assert_int_equal(digby__page_get(txn, lv[2].pgno, lv[2].txid, &p, &f), DIGBY_CORRUPT);
    assert_int_equal(cache_sum(e.db, 2), 0);
    /* a misdirected write: a good page, but another page's */
    assert_int_equal(digby__page_read_raw(e.db, lv[3].pgno, bad), DIGBY_OK);
    write_raw(&e, lv[2].pgno, bad);
    assert_int_equal(digby__page_get(txn, lv[2].pgno, lv[2].txid, &p, &f), DIGBY_CORRUPT);
    assert_int_equal(cache_sum(e.db, 2), 0);
    /* repaired: read fine */
    write_raw(&e, lv[2].pgno, good);
    get_once(txn, &lv[2]);
    /* the wrong txid (a lost write), on a miss and on a hit; the pin is
       dropped either way */
    assert_int_equal(digby__page_get(txn, lv[2].pgno, lv[2].txid + 1, &p, &f), DIGBY_CORRUPT);
    assert_int_equal(digby__page_get(txn, lv[4].pgno, lv[4].txid + 1, &p, &f), DIGBY_CORRUPT);
    f = cached(e.db, lv[2].pgno);
    assert_non_null(f);
    assert_int_equal(f->pins, 0);
    f = cached(e.db, lv[4].pgno);
    if (f) assert_int_equal(f->pins, 0);
    /* page numbers outside the snapshot */
    assert_int_equal(digby__page_get(txn, 0, 0, &p, &f), DIGBY_CORRUPT);
    assert_int_equal(digby__page_get(txn, 1, 1, &p, &f), DIGBY_CORRUPT);
    assert_int_equal(digby__page_get(txn, txn->meta.page_count, 1, &p, &f), DIGBY_CORRUPT);
    assert_int_equal(digby__page_get(txn, UINT64_MAX, 1, &p, &f), DIGBY_CORRUPT);
    digby_txn_abort(txn);
    env_close(&e);
}

/* ---- dirty map ---------------------------------------------------------------- */

typedef struct fake {
    digby_db db;
    digby_txn txn;
} fake;

static void fake_init(fake *fk)
{
    memset(fk, 0, sizeof *fk);
    fk->txn.db = &fk->db;
}

static void fake_free_map(fake *fk)
{
    /* the values are not heap blocks here: free only the arrays */
    free(fk->txn.dirty.keys);
    free(fk->txn.dirty.vals);
    memset(&fk->txn.dirty, 0, sizeof fk->txn.dirty);
}

static uint8_t val_space[1 << 16];
static uint8_t *val_of(uint64_t k) { return &val_space[(k * 7) % sizeof val_space]; }

/* Open addressing invariants: no duplicates, count right, and no empty slot
   between any key's home and where it sits (else get would miss it). */
static void assert_map_sound(const digby__dirty *d)
{
    size_t i, occupied = 0;
    for (i = 0; i < d->cap; i++) {
        size_t h, j;
        if (!d->keys[i]) continue;
        occupied++;
        h = digby__dirty_slot(d->keys[i], d->cap);
        for (j = h; j != i; j = (j + 1) & (d->cap - 1)) {
            if (!d->keys[j]) fail_msg("key %llu at slot %zu, home %zu: hole at %zu",
                                      (unsigned long long)d->keys[i], i, h, j);
            if (d->keys[j] == d->keys[i]) fail_msg("duplicate key");
        }
    }
    assert_int_equal(occupied, d->count);
    if (d->cap) assert_true(d->count * 4 < d->cap * 3);
}

/* Page numbers whose home slot in a map of `cap` slots is `home`. */
static size_t keys_with_home(size_t cap, size_t home, uint64_t *out, size_t want,
                             uint64_t start)
{
    size_t n = 0;
    uint64_t k;
    for (k = start; n < want; k++)
        if (digby__dirty_slot(k, cap) == home) out[n++] = k;
    return n;
}

static void test_dirty_basic(void **state)
{
    fake fk;
    digby__dirty *d = &fk.txn.dirty;
    uint64_t k;
    (void)state;
    fake_init(&fk);
    assert_null(digby__dirty_get(&fk.txn, 5));
    assert_null(digby__dirty_remove(&fk.txn, 5));
    assert_int_equal(digby__dirty_put(&fk.txn, 5, val_of(5)), DIGBY_OK);
    assert_int_equal(d->cap, 64);
    assert_int_equal(d->count, 1);
    assert_ptr_equal(digby__dirty_get(&fk.txn, 5), val_of(5));
    /* replacing keeps the count */
    assert_int_equal(digby__dirty_put(&fk.txn, 5, val_of(6)), DIGBY_OK);
    assert_int_equal(d->count, 1);
    assert_ptr_equal(digby__dirty_get(&fk.txn, 5), val_of(6));
    assert_null(digby__dirty_get(&fk.txn, 6));
    assert_null(digby__dirty_remove(&fk.txn, 6));
    assert_ptr_equal(digby__dirty_remove(&fk.txn, 5), val_of(6));
    assert_int_equal(d->count, 0);
    assert_null(digby__dirty_get(&fk.txn, 5));
    assert_null(digby__dirty_remove(&fk.txn, 5));
    /* growth keeps everything */
    for (k = 2; k < 5002; k++) {
        assert_int_equal(digby__dirty_put(&fk.txn, k, val_of(k)), DIGBY_OK);
        if (k % 500 == 0) assert_map_sound(d);
    }
    assert_int_equal(d->count, 5000);
    assert_true((d->cap & (d->cap - 1)) == 0);
    assert_map_sound(d);
    for (k = 2; k < 5002; k++) assert_ptr_equal(digby__dirty_get(&fk.txn, k), val_of(k));
    assert_null(digby__dirty_get(&fk.txn, 5002));
    assert_null(digby__dirty_get(&fk.txn, UINT64_MAX));
    fake_free_map(&fk);
}

/* Backward-shift deletion across the end of the table: A and B both live
   at home 62 (A at 62, B at 63), C's home is 63 (it sits at 0), D's home
   is 0 (it sits at 1).  Removing A must shift B, C and D back one each. */
static void test_dirty_backward_shift_wraps(void **state)
{
    fake fk;
    digby__dirty *d = &fk.txn.dirty;
    uint64_t h62[2], h63[1], h0[1], h10[2], h11[1];
    (void)state;
    fake_init(&fk);
    keys_with_home(64, 62, h62, 2, 2);
    keys_with_home(64, 63, h63, 1, 2);
    keys_with_home(64, 0, h0, 1, 2);
    assert_int_equal(digby__dirty_put(&fk.txn, h62[0], val_of(h62[0])), DIGBY_OK);
    assert_int_equal(digby__dirty_put(&fk.txn, h62[1], val_of(h62[1])), DIGBY_OK);
    assert_int_equal(digby__dirty_put(&fk.txn, h63[0], val_of(h63[0])), DIGBY_OK);
    assert_int_equal(digby__dirty_put(&fk.txn, h0[0], val_of(h0[0])), DIGBY_OK);
    assert_int_equal(d->cap, 64);
    assert_true(d->keys[62] == h62[0] && d->keys[63] == h62[1]);
    assert_true(d->keys[0] == h63[0] && d->keys[1] == h0[0]);
    assert_ptr_equal(digby__dirty_remove(&fk.txn, h62[0]), val_of(h62[0]));
    assert_true(d->keys[62] == h62[1]);
    assert_true(d->keys[63] == h63[0]);
    assert_true(d->keys[0] == h0[0]);
    assert_true(d->keys[1] == 0);
    assert_ptr_equal(d->vals[62], val_of(h62[1]));
    assert_ptr_equal(d->vals[63], val_of(h63[0]));
    assert_ptr_equal(d->vals[0], val_of(h0[0]));
    assert_map_sound(d);
    /* an entry at its home does not move: X home 10, Y home 11 */
    keys_with_home(64, 10, h10, 2, 2);
    keys_with_home(64, 11, h11, 1, 2);
    assert_int_equal(digby__dirty_put(&fk.txn, h10[0], val_of(h10[0])), DIGBY_OK);
    assert_int_equal(digby__dirty_put(&fk.txn, h11[0], val_of(h11[0])), DIGBY_OK);
    assert_int_equal(digby__dirty_put(&fk.txn, h10[1], val_of(h10[1])), DIGBY_OK);
    /* 10: X, 11: Y, 12: X2 (home 10) */
    assert_true(d->keys[10] == h10[0] && d->keys[11] == h11[0] && d->keys[12] == h10[1]);
    assert_non_null(digby__dirty_remove(&fk.txn, h10[0]));
    /* Y stays at its home; X2 moves into the hole at 10 */
    assert_true(d->keys[11] == h11[0]);
    assert_true(d->keys[10] == h10[1]);
    assert_true(d->keys[12] == 0);
    assert_map_sound(d);
    assert_ptr_equal(digby__dirty_get(&fk.txn, h10[1]), val_of(h10[1]));
    assert_ptr_equal(digby__dirty_get(&fk.txn, h11[0]), val_of(h11[0]));
    fake_free_map(&fk);
}

/* Many keys piled on a few home slots around the wrap point, random puts
   and removes against a reference, the table never growing (cap 64). */
static void test_dirty_colliding_random(void **state)
{
    fake fk;
    digby__dirty *d = &fk.txn.dirty;
    uint64_t pool[120];
    uint8_t *ref[120];
    size_t np = 0, present = 0, i;
    static const size_t homes[] = {60, 61, 62, 63, 0, 1, 2, 30};
    int step;
    (void)state;
    fake_init(&fk);
    for (i = 0; i < sizeof homes / sizeof homes[0]; i++)
        np += keys_with_home(64, homes[i], pool + np, 15, 2);
    memset(ref, 0, sizeof ref);
    seed(77);
    for (step = 0; step < 30000; step++) {
        size_t k = rndn((unsigned)np);
        if (rndn(2) && (ref[k] || present < 46)) {
            uint8_t *v = val_of(pool[k] + (uint64_t)step);
            assert_int_equal(digby__dirty_put(&fk.txn, pool[k], v), DIGBY_OK);
            if (!ref[k]) present++;
            ref[k] = v;
        } else {
            assert_ptr_equal(digby__dirty_remove(&fk.txn, pool[k]), ref[k]);
            if (ref[k]) present--;
            ref[k] = NULL;
        }
        if (d->cap) assert_int_equal(d->cap, 64);
        assert_int_equal(d->count, present);
        for (i = 0; i < np; i++) assert_ptr_equal(digby__dirty_get(&fk.txn, pool[i]), ref[i]);
        if (step % 16 == 0) assert_map_sound(d);
    }
    assert_map_sound(d);
    fake_free_map(&fk);
}

/* Unbounded random use with growth, against a reference array. */
static void test_dirty_random_growth(void **state)
{
    enum { RANGE = 6000 };
    fake fk;
    digby__dirty *d = &fk.txn.dirty;
    static uint8_t *ref[RANGE];
    size_t present = 0, i;
    int step;
    (void)state;
    fake_init(&fk);
    memset(ref, 0, sizeof ref);
    seed(78);
    for (step = 0; step < 60000; step++) {
        uint64_t k = 2 + rndn(step < 30000 ? RANGE - 2 : 300);
        if (rndn(3)) {
            uint8_t *v = val_of(k + (uint64_t)step);
            assert_int_equal(digby__dirty_put(&fk.txn, k, v), DIGBY_OK);
            if (!ref[k]) present++;
            ref[k] = v;
        } else {
            assert_ptr_equal(digby__dirty_remove(&fk.txn, k), ref[k]);
            if (ref[k]) present--;
            ref[k] = NULL;
        }
        assert_int_equal(d->count, present);
        if (step % 5000 == 0) {
            assert_map_sound(d);
            for (i = 2; i < RANGE; i++) assert_ptr_equal(digby__dirty_get(&fk.txn, i), ref[i]);
        }
    }
    assert_map_sound(d);
    for (i = 2; i < RANGE; i++) assert_ptr_equal(digby__dirty_get(&fk.txn, i), ref[i]);
    fake_free_map(&fk);
}

/* digby__dirty_release frees every buffer (LeakSanitizer checks). */
static void test_dirty_release(void **state)
{
    fake fk;
    uint64_t k;
    (void)state;
    fake_init(&fk);
    for (k = 2; k < 300; k++) {
        uint8_t *b = (uint8_t *)malloc(16);
        assert_int_equal(digby__dirty_put(&fk.txn, k, b), DIGBY_OK);
    }
    for (k = 2; k < 300; k += 3) free(digby__dirty_remove(&fk.txn, k));
    digby__dirty_release(&fk.txn);
    assert_null(fk.txn.dirty.keys);
    assert_int_equal(fk.txn.dirty.cap, 0);
    assert_int_equal(fk.txn.dirty.count, 0);
    assert_null(digby__dirty_get(&fk.txn, 5));
}

/* ---- page trailer ---------------------------------------------------------------- */

static void seal_verify_run(uint32_t page_size, int all_bits)
{
    digby_db db;
    uint8_t *p = (uint8_t *)malloc(page_size);
    uint32_t i, n = page_size - DIGBY__TRAILER_XXH32;
    uint64_t pgno = 12345;
    fake_db(&db, page_size);
    for (i = 0; i < page_size; i++) p[i] = (uint8_t)rnd();
    digby__put64(p + 8, pgno);
    digby__page_checksum(&db, p);
    /* the trailer: xxHash32 of [0, P-4), seed "digb", little-endian */
    assert_true(digby__get32(p + n) == (uint32_t)XXH32(p, n, 0x64696762u));
    assert_int_equal(digby__page_verify(&db, p, pgno), DIGBY_OK);
    /* the wrong page number */
    assert_int_equal(digby__page_verify(&db, p, pgno + 1), DIGBY_CORRUPT);
    assert_int_equal(digby__page_verify(&db, p, 0), DIGBY_CORRUPT);
    assert_int_equal(digby__page_verify(&db, p, pgno | ((uint64_t)1 << 63)), DIGBY_CORRUPT);
    /* any single flipped bit, trailer included */
    if (all_bits) {
        for (i = 0; i < page_size * 8; i++) {
            p[i >> 3] ^= (uint8_t)(1u << (i & 7));
            if (digby__page_verify(&db, p, pgno) != DIGBY_CORRUPT)
                fail_msg("page size %u: flipping bit %u not detected", page_size, i);
            p[i >> 3] ^= (uint8_t)(1u << (i & 7));
        }
    } else {
        for (i = 0; i < 3000; i++) {
            uint32_t b = (uint32_t)(rnd() % ((uint64_t)page_size * 8));
            if (i < 32) b = n * 8 + i; /* every trailer bit */
            p[b >> 3] ^= (uint8_t)(1u << (b & 7));
            if (digby__page_verify(&db, p, pgno) != DIGBY_CORRUPT)
                fail_msg("page size %u: flipping bit %u not detected", page_size, b);
            p[b >> 3] ^= (uint8_t)(1u << (b & 7));
        }
    }
    assert_int_equal(digby__page_verify(&db, p, pgno), DIGBY_OK);
    /* a page claiming the right number but resealed after a change is fine
       (the trailer protects content, the number protects placement) */
    p[100] ^= 1;
    digby__page_checksum(&db, p);
    assert_int_equal(digby__page_verify(&db, p, pgno), DIGBY_OK);
    /* an all-zero page never verifies as page 0 (its checksum is not 0) */
    memset(p, 0, page_size);
    assert_int_equal(digby__page_verify(&db, p, 0), DIGBY_CORRUPT);
    free(p);
}

static void test_seal_verify(void **state)
{
    (void)state;
    seed(99);
    seal_verify_run(512, 1);
    seal_verify_run(4096, 1);
    seal_verify_run(65536, 0);
}

/* ---- no heap garbage on disk ---------------------------------------------------- */

/* An allocator that fills every new block with 0xA5, as a heap full of
   old data would. */
static void *poison_malloc(void *ctx, size_t n)
{
    void *p = malloc(n);
    (void)ctx;
    if (p) memset(p, 0xA5, n);
    return p;
}
static void *poison_realloc(void *ctx, void *p, size_t n) { (void)ctx; return realloc(p, n); }
static void poison_free(void *ctx, void *p) { (void)ctx; free(p); }

/* Longest run of 0xA5 bytes in [0, n). */
static size_t poison_run(const uint8_t *p, size_t n)
{
    size_t i, run = 0, best = 0;
    for (i = 0; i < n; i++) {
        run = p[i] == 0xA5 ? run + 1 : 0;
        if (run > best) best = run;
    }
    return best;
}

/* Pages a commit writes must not carry uninitialised heap memory (the
   free gap of a new branch or leaf page): it would leak whatever the
   process had in memory into the file, and makes files differ run to
   run.  Fresh pages should start zeroed, as meta, freelist and overflow
   pages do. */
static void test_new_pages_carry_no_heap_garbage(void **state)
{
    env e;
    pref all[2000];
    uint8_t page[512];
    size_t n, i, worst = 0, first;
    uint64_t worst_pg = 0;
    char k[16], v[30];
    digby_txn *txn;
    (void)state;
    env_init(&e, "pager.db", 512);
    e.o.allocator.malloc_fn = poison_malloc;
    e.o.allocator.realloc_fn = poison_realloc;
    e.o.allocator.free_fn = poison_free;
    env_start(&e);
    /* one small leaf */
    assert_int_equal(digby_put(e.db, "a", 1, "b", 1), DIGBY_OK);
    assert_int_equal(digby__page_read_raw(e.db, e.db->meta.main.root, page), DIGBY_OK);
    first = poison_run(page, 508);
    /* many pages, splits included */
    memset(v, 'v', sizeof v);
    assert_int_equal(digby_txn_begin(e.db, 0, &txn), DIGBY_OK);
    for (i = 0; i < 2000; i++) {
        snprintf(k, sizeof k, "%06u", (unsigned)((i * 7919) % 2000));
        assert_int_equal(digby_txn_put(txn, NULL, k, strlen(k), v, sizeof v, 0), DIGBY_OK);
    }
    assert_int_equal(digby_txn_commit(txn), DIGBY_OK);
    n = collect(e.db, all, 2000);
    for (i = 0; i < n; i++) {
        size_t r;
        assert_int_equal(digby__page_read_raw(e.db, all[i].pgno, page), DIGBY_OK);
        r = poison_run(page, 508);
        if (r > worst) { worst = r; worst_pg = all[i].pgno; }
    }
    env_close(&e);
    if (first >= 8)
        fail_msg("a new leaf page went to disk with %zu bytes of uninitialised heap "
                 "memory (its free gap)", first);
    if (worst >= 8)
        fail_msg("page %llu went to disk with a run of %zu bytes of uninitialised heap "
                 "memory", (unsigned long long)worst_pg, worst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_hit_miss),
        cmocka_unit_test(test_held_branch_pages),
        cmocka_unit_test(test_held_share_of_the_cache),
        cmocka_unit_test(test_cache_capacity_and_lru),
        cmocka_unit_test(test_cache_capacity_from_bytes),
        cmocka_unit_test(test_cache_never_evicts_pinned),
        cmocka_unit_test(test_cache_overshoot_when_all_pinned),
        cmocka_unit_test(test_cache_rejects_bad_pages),
        cmocka_unit_test(test_dirty_basic),
        cmocka_unit_test(test_dirty_backward_shift_wraps),
        cmocka_unit_test(test_dirty_colliding_random),
        cmocka_unit_test(test_dirty_random_growth),
        cmocka_unit_test(test_dirty_release),
        cmocka_unit_test(test_seal_verify),
        cmocka_unit_test(test_new_pages_carry_no_heap_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
