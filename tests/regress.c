/* Regression tests: one per engine bug found, each named after what broke. */
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "unit_common.h"

static int has_bytes(const uint8_t *p, size_t n, const char *s, size_t sn)
{
    size_t i;
    for (i = 0; i + sn <= n; i++)
        if (memcmp(p + i, s, sn) == 0) return 1;
    return 0;
}

static void batch(digby_txn *t, char c, int del)
{
    char k[16], v[40];
    int i;
    memset(v, 0, sizeof v);
    for (i = 0; i < 100; i++) {
        snprintf(k, sizeof k, "%c%05d", c, i);
        if (del) assert_int_equal(digby_txn_delete(t, NULL, k, strlen(k)), DIGBY_OK);
        else assert_int_equal(digby_txn_put(t, NULL, k, strlen(k), v, sizeof v, 0), DIGBY_OK);
    }
}

/* A transaction that allocated pages at the end of the file and freed them
   again before commit never wrote them; the meta page still counted them,
   so the file was shorter than page_count and reopen silently fell back to
   the previous commit (found by tests/model.c, seed 6). */
static void test_tail_pages_freed_before_commit(void **state)
{
    env e;
    digby_txn *txn;
    void *val;
    size_t vn;
    (void)state;
    env_init(&e, "x.db", 512);
    env_start(&e);
    assert_int_equal(digby_txn_begin(e.db, 0, &txn), DIGBY_OK);
    batch(txn, 'a', 0);
    batch(txn, 'b', 0);
    batch(txn, 'b', 1);
    batch(txn, 'a', 1);
    assert_int_equal(digby_txn_put(txn, NULL, "keep", 4, "x", 1, 0), DIGBY_OK);
    assert_int_equal(digby_txn_commit(txn), DIGBY_OK);
    env_check(&e);
    env_reopen(&e);
    assert_int_equal(digby_get(e.db, "keep", 4, &val, &vn, NULL), DIGBY_OK);
    assert_int_equal(vn, 1);
    digby_free(e.db, val);
    env_close(&e);
}

/* With one sync per commit, a meta page may reach the disk before the pages
   of its commit.  Open verifies every page the newest commit wrote and, if
   one fails, opens the previous commit instead -- which must be whole. */
/* "f.db" (4096-byte pages) with two commits, "old" then "new", closed;
   st the stats before the close. */
static void old_then_new(env *e, digby_stats *st)
{
    env_init(e, "f.db", 0);
    env_start(e);
    assert_int_equal(digby_put(e->db, "old", 3, "1", 1), DIGBY_OK);
    assert_int_equal(digby_put(e->db, "new", 3, "2", 1), DIGBY_OK);
    assert_int_equal(digby_stat(e->db, st), DIGBY_OK);
}

/* Flip a bit of the leaf (4096-byte pages) that holds "new": the newest
   commit's, in a one-leaf tree. */
static void damage_new_leaf(env *e, digby_file *fh, uint64_t page_count)
{
    uint8_t page[4096];
    size_t got;
    uint64_t pg;
    int found = 0;
    for (pg = 2; pg < page_count && !found; pg++) {
        assert_int_equal(e->vfs->read(fh, pg * 4096, page, 4096, &got), DIGBY_OK);
        if (page[0] == 3 && has_bytes(page, 4096, "new", 3)) {
            page[100] ^= 1;
            assert_int_equal(e->vfs->write(fh, pg * 4096, page, 4096), DIGBY_OK);
            found = 1;
        }
    }
    assert_true(found);
}

static void test_newest_commit_damaged_falls_back(void **state)
{
    env e;
    digby_file *fh;
    digby_stats st;
    void *val;
    size_t vn;
    (void)state;
    old_then_new(&e, &st);
    assert_int_equal(digby_discarded_txid(e.db), 0);
    assert_int_equal(digby_discarded_txid(NULL), 0);
    assert_int_equal(digby_close(e.db), DIGBY_OK);
    /* damage the root leaf, written by the newest commit (a one-leaf tree) */
    assert_int_equal(e.vfs->open(e.vfs, "f.db", 0, &fh), DIGBY_OK);
    damage_new_leaf(&e, fh, st.page_count);
    e.vfs->close(fh);
    env_start(&e);
    assert_int_equal(digby_get(e.db, "new", 3, &val, &vn, NULL), DIGBY_NOTFOUND);
    assert_int_equal(digby_get(e.db, "old", 3, &val, &vn, NULL), DIGBY_OK);
    digby_free(e.db, val);
    assert_int_equal(digby_discarded_txid(e.db), st.last_txid);
    env_check(&e);
    assert_int_equal(digby_put(e.db, "again", 5, "3", 1), DIGBY_OK);
    env_close(&e);
}

/* The previous commit's meta page was taken as the fallback without a look
   at its page count: a meta page whose checksum verifies but which counts
   far more pages than the file holds was opened when the newest commit
   failed to verify, and digby_check then sized its page bitmap by that
   count (2^40 pages: a 128 GiB allocation).  Such a meta page is no
   fallback; open reports the damage (found by tests/torture/fuzz_open.c). */
static void test_fallback_meta_counting_pages_past_the_file(void **state)
{
    env e;
    digby_db *db;
    digby_file *fh;
    digby_stats st;
    uint8_t page[4096];
    size_t got;
    uint64_t slot;
    (void)state;
    old_then_new(&e, &st);
    assert_int_equal(digby_close(e.db), DIGBY_OK);
    assert_int_equal(e.vfs->open(e.vfs, "f.db", 0, &fh), DIGBY_OK);
    /* the older meta page counts 2^40 pages, its checksum made right */
    slot = (st.last_txid - 1) % 2;
    assert_int_equal(e.vfs->read(fh, slot * 4096, page, 4096, &got), DIGBY_OK);
    assert_int_equal(digby__get64(page + 56), st.last_txid - 1);
    digby__put64(page + 64, (uint64_t)1 << 40);
    digby__put32(page + 4092, (uint32_t)XXH32(page, 4092, DIGBY__XXH_SEED));
    assert_int_equal(e.vfs->write(fh, slot * 4096, page, 4096), DIGBY_OK);
    /* and the newest commit's leaf is damaged */
    damage_new_leaf(&e, fh, st.page_count);
    e.vfs->close(fh);
    assert_int_equal(digby_open("f.db", &e.o, &db), DIGBY_CORRUPT);
    e.o.flags = DIGBY_OPEN_READONLY;
    assert_int_equal(digby_open("f.db", &e.o, &db), DIGBY_CORRUPT);
    digby_vfs_mem_destroy(e.vfs);
}

/* Out of memory while open grew its meta page buffer to the file's page
   size was taken for a meta page that does not verify: open returned
   DIGBY_CORRUPT for a sound file (found by tests/torture/faults.c oom, the
   4th allocation of opening a 4096-byte-page file).  Every allocation of
   open is failed here, from each one on: only DIGBY_NOMEM may come back. */
static unsigned long oom_calls, oom_from;

static void *oom_malloc(void *ctx, size_t n)
{
    (void)ctx;
    if (oom_from && ++oom_calls >= oom_from) return NULL;
    return malloc(n);
}

static void *oom_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    if (oom_from && ++oom_calls >= oom_from) return NULL;
    return realloc(p, n);
}

static void oom_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static void test_open_out_of_memory_is_not_corruption(void **state)
{
    env e;
    unsigned long n;
    int rc, opened = 0;
    (void)state;
    env_init(&e, "m.db", 0);
    e.o.allocator.malloc_fn = oom_malloc;
    e.o.allocator.realloc_fn = oom_realloc;
    e.o.allocator.free_fn = oom_free;
    oom_from = 0;
    env_start(&e);
    assert_int_equal(digby_put(e.db, "k", 1, "v", 1), DIGBY_OK);
    assert_int_equal(digby_close(e.db), DIGBY_OK);
    for (n = 1; n < 200 && !opened; n++) {
        oom_calls = 0;
        oom_from = n;
        rc = digby_open(e.name, &e.o, &e.db);
        if (rc == DIGBY_OK) {
            opened = 1;
            oom_from = 0;
            assert_int_equal(digby_close(e.db), DIGBY_OK);
        } else if (rc != DIGBY_NOMEM) {
            fail_msg("open with allocation %lu on failing: %s", n, digby_strerror(rc));
        }
    }
    assert_true(opened);
    digby_vfs_mem_destroy(e.vfs);
}

/* A read error on the second meta slot was taken for a slot that does not
   verify: open went on with the other, older commit, silently losing the
   newest acknowledged one (and the next commit overwrote it for good).
   Found by tests/torture/faults.c (io and sys sweeps: EIO at the read of a
   reopen).  A failed read of either slot must fail the open. */
static digby_vfs fail_vfs;
static const digby_vfs *fail_base;
static uint64_t fail_read_off = UINT64_MAX;

static int fail_read(digby_file *f, uint64_t off, void *buf, size_t len, size_t *got)
{
    if (off == fail_read_off) {
        *got = 0;
        return DIGBY_IOERR;
    }
    return fail_base->read(f, off, buf, len, got);
}

static void test_meta_slot_read_error_fails_open(void **state)
{
    env e;
    digby_db *db;
    digby_stats st;
    void *val;
    size_t vn;
    int i;
    (void)state;
    env_init(&e, "s.db", 0);
    fail_base = e.vfs;
    fail_vfs = *e.vfs;
    fail_vfs.read = fail_read;
    e.o.vfs = &fail_vfs;
    env_start(&e);
    db = e.db;
    for (i = 0; i < 4; i++) {
        assert_int_equal(digby_put(db, "k", 1, i % 2 ? "new" : "old", 3), DIGBY_OK);
        assert_int_equal(digby_stat(db, &st), DIGBY_OK);
        if (st.last_txid % 2 == 1 && i > 0) break; /* the newest in slot 1 */
    }
    assert_int_equal(st.last_txid % 2, 1);
    assert_int_equal(digby_close(db), DIGBY_OK);
    fail_read_off = 4096; /* slot 1 */
    assert_int_equal(digby_open("s.db", &e.o, &db), DIGBY_IOERR);
    fail_read_off = 0;    /* slot 0 */
    assert_int_equal(digby_open("s.db", &e.o, &db), DIGBY_IOERR);
    fail_read_off = UINT64_MAX;
    assert_int_equal(digby_open("s.db", &e.o, &db), DIGBY_OK);
    assert_int_equal(digby_stat(db, &st), DIGBY_OK);
    assert_int_equal(st.last_txid % 2, 1);
    assert_int_equal(digby_get(db, "k", 1, &val, &vn, NULL), DIGBY_OK);
    assert_int_equal(vn, 3);
    assert_memory_equal(val, i % 2 ? "new" : "old", 3);
    digby_free(db, val);
    assert_int_equal(digby_close(db), DIGBY_OK);
    digby_vfs_mem_destroy(e.vfs);
}

/* A leaf whose keys are out of order (its checksum made right: damage that
   the page checks, which do not compare keys, let through) was split with
   the prefix its first and last keys share; a middle key without that
   prefix was recoded with a key length that wrapped around, and the next
   put read far outside the page (found by tests/torture/fuzz_open.c).  A
   rebuild now checks every key against the prefix: DIGBY_CORRUPT. */
static void test_split_of_a_leaf_with_keys_out_of_order(void **state)
{
    env e;
    digby_db *db;
    digby_txn *txn;
    digby_table *t;
    digby_file *fh;
    digby_stats st;
    uint8_t page[512];
    char key[32];
    size_t got;
    uint64_t pg;
    int i, rc = DIGBY_OK, found = 0;
    (void)state;
    env_init(&e, "f.db", 512);
    env_start(&e);
    db = e.db;
    /* table t: one leaf, written by appends (no prefix factored out), in
       a commit older than the newest (whose pages open verifies) */
    assert_int_equal(digby_txn_begin(db, 0, &txn), DIGBY_OK);
    assert_int_equal(digby_table_open(txn, "t", DIGBY_TABLE_CREATE, &t), DIGBY_OK);
    for (i = 0; i < 30; i++) {
        snprintf(key, sizeof key, "e%04d", i);
        assert_int_equal(digby_txn_put(txn, t, key, 5, "v", 1, 0), DIGBY_OK);
    }
    assert_int_equal(digby_txn_commit(txn), DIGBY_OK);
    assert_int_equal(digby_put(db, "g", 1, "v", 1), DIGBY_OK);
    assert_int_equal(digby_stat(db, &st), DIGBY_OK);
    assert_int_equal(digby_close(db), DIGBY_OK);
    /* key e0012 becomes a0012: out of order, outside the prefix "e00" */
    assert_int_equal(e.vfs->open(e.vfs, "f.db", 0, &fh), DIGBY_OK);
    for (pg = 2; pg < st.page_count && !found; pg++) {
        uint8_t *k;
        assert_int_equal(e.vfs->read(fh, pg * 512, page, 512, &got), DIGBY_OK);
        if (page[0] != 3 || page[1] != 0) continue;
        for (k = page + 24; k + 5 < page + 508 && !found; k++)
            if (memcmp(k, "e0012", 5) == 0) { k[0] = 'a'; found = 1; }
        digby__put32(page + 508, (uint32_t)XXH32(page, 508, DIGBY__XXH_SEED));
        assert_int_equal(e.vfs->write(fh, pg * 512, page, 512), DIGBY_OK);
    }
    assert_true(found);
    e.vfs->close(fh);
    assert_int_equal(digby_open("f.db", &e.o, &db), DIGBY_OK);
    /* puts into the middle until the leaf splits: the split is refused */
    assert_int_equal(digby_txn_begin(db, 0, &txn), DIGBY_OK);
    assert_int_equal(digby_table_open(txn, "t", 0, &t), DIGBY_OK);
    for (i = 0; i < 100 && rc == DIGBY_OK; i++) {
        snprintf(key, sizeof key, "e0007%02d", i);
        rc = digby_txn_put(txn, t, key, 7, "v", 1, 0);
    }
    assert_int_equal(rc, DIGBY_CORRUPT);
    digby_txn_abort(txn);
    assert_int_equal(digby_close(db), DIGBY_OK);
    digby_vfs_mem_destroy(e.vfs);
}

/* Log mode: commits made with DIGBY_TXN_NO_SYNC are durable at the next
   durable commit (DIGBY_TXN_NO_SYNC's promise).  A durable commit that
   changed nothing (only gets, or deletes of missing keys) returned at once
   without the sync, so a power cut after it still lost the no-sync commits
   before it (found by tests/torture/faults.c crash -g, 65536-byte pages).
   The memory VFS's sync is counted here. */
static int g_syncs;
static int (*g_mem_sync)(digby_file *f);
static int counting_sync(digby_file *f)
{
    g_syncs++;
    return g_mem_sync(f);
}

static void test_empty_durable_commit_syncs_no_sync_commits(void **state)
{
    env e;
    digby_vfs counted;
    digby_txn *txn;
    const void *val;
    size_t vn;
    int before;
    (void)state;
    env_init(&e, "x.db", 4096);
    counted = *e.vfs;
    g_mem_sync = counted.sync;
    counted.sync = counting_sync;
    e.o.vfs = &counted;
    e.o.flags = DIGBY_OPEN_LOG;
    env_start(&e);
    assert_int_equal(digby_txn_begin(e.db, DIGBY_TXN_NO_SYNC, &txn), DIGBY_OK);
    assert_int_equal(digby_txn_put(txn, NULL, "a", 1, "1", 1, 0), DIGBY_OK);
    before = g_syncs;
    assert_int_equal(digby_txn_commit(txn), DIGBY_OK);
    assert_int_equal(g_syncs, before); /* no-sync: no sync */
    /* a durable commit with nothing in it: gets and a missing delete */
    assert_int_equal(digby_txn_begin(e.db, 0, &txn), DIGBY_OK);
    assert_int_equal(digby_txn_get(txn, NULL, "a", 1, &val, &vn, NULL), DIGBY_OK);
    assert_int_equal(digby_txn_delete(txn, NULL, "b", 1), DIGBY_NOTFOUND);
    assert_int_equal(digby_txn_commit(txn), DIGBY_OK);
    assert_int_equal(g_syncs, before + 1); /* the no-sync commit is durable now */
    /* and with nothing unsynced, an empty commit syncs nothing */
    assert_int_equal(digby_txn_begin(e.db, 0, &txn), DIGBY_OK);
    assert_int_equal(digby_txn_commit(txn), DIGBY_OK);
    assert_int_equal(g_syncs, before + 1);
    env_close(&e);
}

/* The bytes of file name on vfs (malloc'd; *n its length). */
static uint8_t *file_bytes(digby_vfs *vfs, const char *name, size_t *n)
{
    digby_file *f;
    uint64_t size;
    size_t got;
    uint8_t *p;
    assert_int_equal(vfs->open(vfs, name, 0, &f), DIGBY_OK);
    assert_int_equal(vfs->size(f, &size), DIGBY_OK);
    p = (uint8_t *)malloc((size_t)size + 1);
    assert_non_null(p);
    assert_int_equal(vfs->read(f, 0, p, (size_t)size, &got), DIGBY_OK);
    assert_int_equal(got, (size_t)size);
    vfs->close(f);
    *n = (size_t)size;
    return p;
}

/* Log mode: after a crash that kept a later log page but not the last
   rewrite of the page before it (writes reordered), that page's older
   version ends without the start of the record that the later page goes
   on with.  Replay skipped the orphan fragment and applied the commits
   after it: a later no-sync commit without an earlier one (found by
   tests/torture/faults.c crash -g, 512-byte pages, AES).  It must end
   there. */
static void test_replay_stops_at_an_orphan_fragment(void **state)
{
    env e;
    digby_txn *txn;
    digby_file *f;
    uint8_t *s1, *s2;
    size_t n1, n2, pg, ps = 512;
    char k[16], v[40];
    const void *val;
    size_t vn;
    int i, restored = 0;
    (void)state;
    env_init(&e, "x.db", (uint32_t)ps);
    e.o.flags = DIGBY_OPEN_LOG;
    env_start(&e);
    assert_int_equal(digby_txn_begin(e.db, 0, &txn), DIGBY_OK);
    assert_int_equal(digby_txn_put(txn, NULL, "a", 1, "1", 1, 0), DIGBY_OK);
    assert_int_equal(digby_txn_commit(txn), DIGBY_OK); /* durable */
    assert_int_equal(digby_txn_begin(e.db, DIGBY_TXN_NO_SYNC, &txn), DIGBY_OK);
    assert_int_equal(digby_txn_put(txn, NULL, "b", 1, "2", 1, 0), DIGBY_OK);
    assert_int_equal(digby_txn_commit(txn), DIGBY_OK); /* a new page P: [b] */
    s1 = file_bytes(e.vfs, "x.db", &n1);
    /* C spans P's rest and the next page; D follows it */
    assert_int_equal(digby_txn_begin(e.db, DIGBY_TXN_NO_SYNC, &txn), DIGBY_OK);
    memset(v, 'c', sizeof v);
    for (i = 0; i < 12; i++) {
        snprintf(k, sizeof k, "c%02d", i);
        assert_int_equal(digby_txn_put(txn, NULL, k, strlen(k), v, sizeof v, 0), DIGBY_OK);
    }
    assert_int_equal(digby_txn_commit(txn), DIGBY_OK);
    assert_int_equal(digby_txn_begin(e.db, DIGBY_TXN_NO_SYNC, &txn), DIGBY_OK);
    assert_int_equal(digby_txn_put(txn, NULL, "d", 1, "4", 1, 0), DIGBY_OK);
    assert_int_equal(digby_txn_commit(txn), DIGBY_OK);
    s2 = file_bytes(e.vfs, "x.db", &n2);
    /* the crash image: s2 with every log page that s1 had already put
       back to its s1 version (P before C's first fragment reached it) */
    for (pg = 2; (pg + 1) * ps <= n1 && (pg + 1) * ps <= n2; pg++) {
        if (s1[pg * ps] == 7 && s2[pg * ps] == 7 && memcmp(s1 + pg * ps, s2 + pg * ps, ps)) {
            memcpy(s2 + pg * ps, s1 + pg * ps, ps);
            restored++;
        }
    }
    assert_int_equal(restored, 1);
    assert_int_equal(digby_close(e.db), DIGBY_OK);
    assert_int_equal(e.vfs->open(e.vfs, "x.db", 0, &f), DIGBY_OK);
    assert_int_equal(f ? e.vfs->truncate(f, 0) : -1, DIGBY_OK);
    assert_int_equal(e.vfs->write(f, 0, s2, n2), DIGBY_OK);
    e.vfs->close(f);
    free(s1);
    free(s2);
    env_start(&e);
    assert_int_equal(digby_txn_begin(e.db, DIGBY_TXN_READONLY, &txn), DIGBY_OK);
    assert_int_equal(digby_txn_get(txn, NULL, "a", 1, &val, &vn, NULL), DIGBY_OK);
    assert_int_equal(digby_txn_get(txn, NULL, "b", 1, &val, &vn, NULL), DIGBY_OK);
    assert_int_equal(digby_txn_get(txn, NULL, "c00", 3, &val, &vn, NULL), DIGBY_NOTFOUND);
    /* D came after C: lost with it, never applied without it */
    assert_int_equal(digby_txn_get(txn, NULL, "d", 1, &val, &vn, NULL), DIGBY_NOTFOUND);
    digby_txn_abort(txn);
    env_close(&e);
}

/* Log mode: a put or delete made its memtable node, then failed to note
   it in the transaction's list (growing the list: DIGBY_NOMEM).  Abort
   then left the node live under the aborted transaction's txid, which the
   next transaction reuses, so the aborted put became visible with the next
   commit and reached the tree at the checkpoint (found by
   tests/torture/faults.c oom -g).  Every allocation fails from the i-th
   put of a transaction on, for each i: after the abort, no key of it may
   show. */
static void test_log_put_out_of_memory_leaves_no_entry(void **state)
{
    env e;
    digby_txn *txn;
    const void *val;
    size_t vn;
    char k[32];
    int i, j, rc, failed = 0;
    (void)state;
    env_init(&e, "m.db", 4096);
    e.o.flags = DIGBY_OPEN_LOG;
    e.o.allocator.malloc_fn = oom_malloc;
    e.o.allocator.realloc_fn = oom_realloc;
    e.o.allocator.free_fn = oom_free;
    oom_from = 0;
    env_start(&e);
    for (i = 0; i < 140; i++) {
        assert_int_equal(digby_txn_begin(e.db, 0, &txn), DIGBY_OK);
        rc = DIGBY_OK;
        for (j = 0; j < 140 && rc == DIGBY_OK; j++) {
            if (j == i) {
                oom_calls = 0;
                oom_from = 1;
            }
            snprintf(k, sizeof k, "t%03d-%03d", i, j);
            rc = digby_txn_put(txn, NULL, k, strlen(k), "v", 1, 0);
        }
        oom_from = 0;
        digby_txn_abort(txn);
        if (rc == DIGBY_OK) continue;
        assert_int_equal(rc, DIGBY_NOMEM);
        failed++;
        /* the next transaction takes the aborted one's txid */
        assert_int_equal(digby_txn_begin(e.db, 0, &txn), DIGBY_OK);
        assert_int_equal(digby_txn_put(txn, NULL, "z", 1, "z", 1, 0), DIGBY_OK);
        assert_int_equal(digby_txn_commit(txn), DIGBY_OK);
        assert_int_equal(digby_txn_begin(e.db, DIGBY_TXN_READONLY, &txn), DIGBY_OK);
        for (j = 0; j < 140; j++) {
            snprintf(k, sizeof k, "t%03d-%03d", i, j);
            if (digby_txn_get(txn, NULL, k, strlen(k), &val, &vn, NULL) != DIGBY_NOTFOUND)
                fail_msg("put %s of an aborted transaction (allocations failing from "
                         "put %d) is visible", k, i);
        }
        digby_txn_abort(txn);
    }
    assert_true(failed > 0);
    env_close(&e);
}

/* Each commit persisted the freelist in a chain of pages and made the
   chain it replaced pending, like any freed page, until every snapshot had
   moved past it; the chain lists every pending page, so with a snapshot
   held, each commit's chain grew by the last one's: 2/(words a page holds)
   a commit, geometrically.  A model run (512-byte pages, a log mode
   checkpoint in parts past a held snapshot) grew a file of 1,857 pages to
   three million and ran out of memory.  Replaced chains now wait only for
   the next commit. */
static void test_freelist_chain_under_held_snapshot(void **state)
{
    env e;
    digby_txn *snap, *t;
    digby_stats st;
    char k[16], v[40];
    int i;
    (void)state;
    memset(v, 'v', sizeof v);
    env_init(&e, "chain.db", 512);
    env_start(&e);
    for (i = 0; i < 400; i++) {
        snprintf(k, sizeof k, "k%05d", i);
        assert_int_equal(digby_put(e.db, k, strlen(k), v, sizeof v), DIGBY_OK);
    }
    assert_int_equal(digby_txn_begin(e.db, DIGBY_TXN_READONLY, &snap), DIGBY_OK);
    /* 600 commits of one put each, with the snapshot held: each frees a
       leaf and its branches (pending behind the snapshot) and the last
       chain */
    for (i = 0; i < 600; i++) {
        snprintf(k, sizeof k, "k%05d", (i * 7) % 400);
        assert_int_equal(digby_txn_begin(e.db, 0, &t), DIGBY_OK);
        assert_int_equal(digby_txn_put(t, NULL, k, strlen(k), v, sizeof v, 0), DIGBY_OK);
        assert_int_equal(digby_txn_commit(t), DIGBY_OK);
    }
    assert_int_equal(digby_stat(e.db, &st), DIGBY_OK);
    print_message("600 commits past a held snapshot: %llu pages, %llu freelist pages\n",
                  (unsigned long long)st.page_count, (unsigned long long)st.freelist_pages);
    /* the pages the commits freed behind the snapshot (a few each), and a
       chain that lists them: linear, not 1.033^600 */
    assert_true(st.page_count < 6000);
    digby_txn_abort(snap);
    env_check(&e);
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tail_pages_freed_before_commit),
        cmocka_unit_test(test_newest_commit_damaged_falls_back),
        cmocka_unit_test(test_fallback_meta_counting_pages_past_the_file),
        cmocka_unit_test(test_split_of_a_leaf_with_keys_out_of_order),
        cmocka_unit_test(test_open_out_of_memory_is_not_corruption),
        cmocka_unit_test(test_meta_slot_read_error_fails_open),
        cmocka_unit_test(test_empty_durable_commit_syncs_no_sync_commits),
        cmocka_unit_test(test_replay_stops_at_an_orphan_fragment),
        cmocka_unit_test(test_log_put_out_of_memory_leaves_no_entry),
        cmocka_unit_test(test_freelist_chain_under_held_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
