/* log_mode: directed tests of log mode's checkpoints (DIGBY_OPEN_LOG) that
   the randomized model and crash sweep reach only by chance.

   test_checkpoint_parts_and_spills: checkpoints of random keys rewrite far
   more leaves than their budget (a 16-page cache: 16 dirty pages).  Those
   the memtable's bound starts commit in parts; the one a large put starts
   (an escalation, which has a single txid) writes leaves early and lets
   them go (digby__dirty_spill), reading one back when a key lands in it
   again.  Every key must read back with its newest value and version,
   before and after a reopen, and digby_check must pass; the part and
   spill counts must be non-zero.  At 512 B and 4 KiB pages, plain and
   AES-256-GCM (a spilled page is sealed like any other, and read back
   through its seal).

   test_checkpoint_memory: a checkpoint of a full memtable holds no more
   dirty pages than its budget: counted through a custom allocator (the
   largest number of page-sized buffers live at once during the
   checkpoint: the pool of spare buffers hides reuse, so this counts the
   buffers the checkpoint had to add).  Without parts or spilling it adds
   one per leaf it rewrites.

   test_memtable_fold: with the library's own fold threshold (16,384 list
   entries), enough commits that the memtable's skip list is folded into
   its sorted run several times, with overwrites, deletes, an aborted
   transaction (dead entries) and snapshots taken between folds; every
   get, and cursors in both directions and seeks, must show exactly the
   reference state of the snapshot or of the newest commit, before and
   after a checkpoint; then keys of another table, first with the prefix
   every key so far shares and then without, so that a fold must make a
   long run's entries again with a shorter prefix.

   test_append_commits: with DIGBY_OPEN_NO_SYNC, a transaction of
   ascending puts after the tree's last key commits to the tree (the
   memtable stays empty) with its own txid as every version, in the global
   tree and in a table, while a snapshot from before still reads its
   state; a transaction of ascending puts that do not all follow the
   tree's last key, one with a delete, and one below the size threshold
   are logged (the memtable holds them).  After two append commits in a
   row, the next transaction commits to the tree whatever it does, with
   its txid as every version, and a logged one follows it.  Every key
   reads back, before and after a reopen.

   test_log_damage: a file at 512 B pages (plain and AES-256-GCM) whose
   log holds DMG_COMMITS durable commits (one spans pages), copied as it
   is while the handle is open (a crash after the last sync).  Each log
   page but the last, one bit flipped in its payload, then zeroed: open
   (read-only and read-write) returns DIGBY_CORRUPT, where replay used to
   stop at the page and open the commits before it as if the later ones
   had never been made (FORMAT.md 11.1).  The last page damaged: a torn
   tail, which ends the log quietly (every commit but the last).  The
   newest meta page (the copy-on-write commit the log follows) zeroed:
   DIGBY_CORRUPT, where open used to replay the log over the commit before
   it and show later commits without it.  The intact copy opens with
   every commit and passes digby_check. */
#define TEST_NAME "log_mode"
#include "api_common.h"

enum { NKEYS = 6000, TXN_PUTS = 200, MEM_KEYS = 20000 };

static void key_of(unsigned i, char *k) { snprintf(k, 16, "k%08u", (i * 2654435761u) % 100000000u); }

/* Value of key i in round r: its length varies, 20..59 bytes (inline in a
   leaf even at 512 B pages: the memtable keeps it). */
static size_t val_of(unsigned i, unsigned r, char *v)
{
    size_t n = 20 + (i * 7 + r * 13) % 40, j;
    for (j = 0; j < n; j++) v[j] = (char)('a' + (i + r + j) % 26);
    return n;
}

/* Put every key with round r's value, in transactions of TXN_PUTS. */
static void put_round(digby_db *db, unsigned r, uint64_t *ver)
{
    char k[16], v[128];
    unsigned i;
    for (i = 0; i < NKEYS; i += TXN_PUTS) {
        digby_txn *t;
        unsigned j;
        ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_NO_SYNC, &t));
        for (j = i; j < i + TXN_PUTS && j < NKEYS; j++) {
            key_of(j, k);
            ASSERT_OK(digby_txn_put(t, NULL, k, strlen(k), v, val_of(j, r, v), 0));
            ver[j] = digby_txn_id(t);
        }
        ASSERT_OK(digby_txn_commit(t));
    }
}

/* Every key has round r's value and the version recorded for it. */
static void verify_round(digby_db *db, unsigned r, const uint64_t *ver)
{
    char k[16], v[128];
    unsigned i;
    for (i = 0; i < NKEYS; i++) {
        void *got;
        size_t n, want;
        uint64_t version;
        key_of(i, k);
        want = val_of(i, r, v);
        ASSERT_OK(digby_get(db, k, strlen(k), &got, &n, &version));
        assert_int_equal(n, want);
        assert_memory_equal(got, v, n);
        assert_int_equal(version, ver[i]);
        digby_free(db, got);
    }
}

static void parts_run(uint32_t page_size, int encrypted)
{
    static const uint8_t key32[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                      17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
    const char *path = "parts.db";
    digby_vfs *vfs;
    digby_options o;
    digby_db *db;
    digby_stats st;
    uint64_t *ver;
    unsigned r;
    /* the memory VFS: hundreds of parts, each a commit with a sync */
    ASSERT_OK(digby_vfs_mem_create(NULL, &vfs));
    memset(&o, 0, sizeof(o));
    o.vfs = vfs;
    o.flags = DIGBY_OPEN_LOG;
    o.page_size = page_size;
    o.cache_bytes = 16 * (size_t)page_size; /* checkpoints keep 8 dirty pages */
    o.memtable_bytes = (size_t)256 << 10;
    if (encrypted) {
        o.key = key32;
        o.key_bytes = sizeof(key32);
    }
    ver = (uint64_t *)calloc(NKEYS, sizeof(*ver));
    assert_non_null(ver);
    ASSERT_OK(digby_open(path, &o, &db));
    /* three rounds over every key: the memtable passes its bound many
       times, and every checkpoint's keys are spread over the whole tree */
    for (r = 0; r < 3; r++) put_round(db, r, ver);
    ASSERT_OK(digby_stat(db, &st));
    print_message("parts %u B%s: %llu checkpoints, %llu parts\n", page_size,
                  encrypted ? " AES" : "", (unsigned long long)st.checkpoints,
                  (unsigned long long)st.checkpoint_parts);
    assert_true(st.checkpoints >= 3);
    assert_true(st.checkpoint_parts > 0);
    verify_round(db, 2, ver);
    check_passes(db);
    ASSERT_OK(digby_close(db));
    /* a memtable that holds a whole round, then a put too large for it:
       its transaction checkpoints under its own txid, spilling */
    o.memtable_bytes = (size_t)16 << 20;
    ASSERT_OK(digby_open(path, &o, &db));
    verify_round(db, 2, ver);
    put_round(db, 3, ver);
    {
        static char large[20000];
        digby_txn *t;
        memset(large, 'L', sizeof(large));
        ASSERT_OK(digby_txn_begin(db, 0, &t));
        ASSERT_OK(digby_txn_put(t, NULL, "large", 5, large, sizeof(large), 0));
        ASSERT_OK(digby_txn_commit(t));
    }
    ASSERT_OK(digby_stat(db, &st));
    print_message("spill %u B%s: %llu checkpoints, %llu leaves spilled\n", page_size,
                  encrypted ? " AES" : "", (unsigned long long)st.checkpoints,
                  (unsigned long long)st.checkpoint_spilled);
    assert_true(st.checkpoint_spilled > 0);
    for (r = 0; r < 2; r++) {
        verify_round(db, 3, ver);
        check_passes(db);
        ASSERT_OK(digby_close(db));
        ASSERT_OK(digby_open(path, &o, &db));
    }
    ASSERT_OK(digby_close(db));
    digby_vfs_mem_destroy(vfs);
    free(ver);
}

static void test_checkpoint_parts_and_spills(void **state)
{
    (void)state;
    parts_run(512, 0);
    parts_run(4096, 0);
    parts_run(4096, 1);
}

/* ---- memory of a checkpoint ------------------------------------------------- */

/* Page-sized allocations live at once (page buffers: dirty pages, the
   cache's frames, the pool), counted by a wrapping allocator. */
static size_t g_page, g_live, g_peak;
static int g_counting;

static void *cnt_malloc(void *ctx, size_t n)
{
    size_t *p = (size_t *)malloc(n + 16);
    (void)ctx;
    if (!p) return NULL;
    p[0] = n;
    if (n == g_page && g_counting && ++g_live > g_peak) g_peak = g_live;
    return (char *)p + 16;
}

static void cnt_free(void *ctx, void *q)
{
    size_t *p;
    (void)ctx;
    if (!q) return;
    p = (size_t *)((char *)q - 16);
    if (p[0] == g_page && g_counting && g_live) g_live--;
    free(p);
}

static void *cnt_realloc(void *ctx, void *q, size_t n)
{
    size_t *p, *np, old;
    if (!q) return cnt_malloc(ctx, n);
    p = (size_t *)((char *)q - 16);
    old = p[0];
    np = (size_t *)realloc(p, n + 16);
    if (!np) return NULL;
    if (g_counting && old == g_page && g_live) g_live--;
    np[0] = n;
    if (g_counting && n == g_page && ++g_live > g_peak) g_peak = g_live;
    return (char *)np + 16;
}

static void test_checkpoint_memory(void **state)
{
    const char *path = "mem.db";
    char k[16], v[128];
    digby_vfs *vfs;
    digby_options o;
    digby_db *db;
    digby_stats st;
    unsigned i;
    (void)state;
    ASSERT_OK(digby_vfs_mem_create(NULL, &vfs)); /* fast syncs */
    memset(&o, 0, sizeof(o));
    o.vfs = vfs;
    o.flags = DIGBY_OPEN_LOG | DIGBY_OPEN_NO_MMAP;
    o.page_size = 4096;
    o.cache_bytes = 64 * 4096;          /* 64 frames: a budget of 32 dirty pages */
    o.memtable_bytes = (size_t)8 << 20; /* no checkpoint before digby_checkpoint() */
    o.allocator.malloc_fn = cnt_malloc;
    o.allocator.realloc_fn = cnt_realloc;
    o.allocator.free_fn = cnt_free;
    g_page = 4096;
    ASSERT_OK(digby_open(path, &o, &db));
    /* a tree of MEM_KEYS keys (hundreds of leaves), then one memtable of
       overwrites of all of them: its checkpoint rewrites every leaf */
    for (i = 0; i < MEM_KEYS; i++) {
        key_of(i, k);
        ASSERT_OK(digby_put(db, k, strlen(k), v, val_of(i, 0, v)));
    }
    ASSERT_OK(digby_checkpoint(db));
    {
        digby_txn *t;
        ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_NO_SYNC, &t));
        for (i = 0; i < MEM_KEYS; i++) {
            key_of(i, k);
            ASSERT_OK(digby_txn_put(t, NULL, k, strlen(k), v, val_of(i, 1, v), 0));
        }
        ASSERT_OK(digby_txn_commit(t));
    }
    g_counting = 1;
    g_live = g_peak = 0;
    ASSERT_OK(digby_checkpoint(db));
    g_counting = 0;
    ASSERT_OK(digby_stat(db, &st));
    print_message("checkpoint of %u overwrites: at most %zu page buffers added (cache 64 "
                  "frames, budget 32 dirty pages); %llu parts, %llu leaves\n",
                  MEM_KEYS, g_peak, (unsigned long long)st.checkpoint_parts,
                  (unsigned long long)st.leaf_pages);
    assert_true(st.checkpoint_parts > 0);
    /* the budget (32 dirty pages) and a few more (the log's page images,
       the commit's staging): far below the hundreds of leaves it rewrote
       (in one commit: one per leaf, 329 of them here) */
    assert_true(g_peak <= 32 + 16);
    /* ...and the checkpoint rewrote every leaf: far more than that */
    assert_true(st.leaf_pages > 3 * (32 + 16));
    for (i = 0; i < MEM_KEYS; i++) {
        void *got;
        size_t n;
        key_of(i, k);
        ASSERT_OK(digby_get(db, k, strlen(k), &got, &n, NULL));
        assert_int_equal(n, val_of(i, 1, v));
        assert_memory_equal(got, v, n);
        digby_free(db, got);
    }
    check_passes(db);
    ASSERT_OK(digby_close(db));
    digby_vfs_mem_destroy(vfs);
}

/* ---- folds of the memtable's list into its run ------------------------------ */

enum { FOLD_KEYS = 40000, FOLD_TXN = 1000, FOLD_ROUNDS = 3 };

/* Key number i, and its value in round r (0: absent). */
static void fold_key(unsigned i, char *k) { snprintf(k, 16, "f%07u", i); }
static size_t fold_val(unsigned i, unsigned r, char *v)
{
    return (size_t)snprintf(v, 64, "v%u.%u", i, r);
}

/* The state of round r (after r + 1 rounds of writes): round q puts every
   key not divisible by q + 2 ... the last round touching a key decides:
   round q writes key i unless i % (q + 3) == 1, and deletes it when
   i % (q + 5) == 0.  Returns the round of key i's value, or 0 (absent). */
static unsigned fold_state(unsigned i, unsigned r)
{
    unsigned q, s = 0;
    for (q = 0; q <= r; q++) {
        if (i % (q + 3) == 1 && q > 0) continue;
        s = (i % (q + 5) == 0 && q > 0) ? 0 : q + 1;
    }
    return s;
}

/* The number of a cursor's key "f%07u" (not NUL-terminated). */
static unsigned fold_num(const void *k, size_t kl)
{
    char b[16];
    assert_int_equal(kl, 8);
    memcpy(b, (const char *)k + 1, 7);
    b[7] = 0;
    return (unsigned)strtoul(b, NULL, 10);
}

/* Every key reads as state round r says, through gets, cursors both ways
   and seeks of transaction t. */
static void fold_verify(digby_txn *t, unsigned r)
{
    char k[16], v[64];
    digby_cursor *c;
    const void *ck, *cv;
    size_t ckl, cvl;
    unsigned i, n = 0, last = 0;
    int rc;
    for (i = 0; i < FOLD_KEYS; i++) {
        const void *got;
        size_t gl;
        unsigned s = fold_state(i, r);
        fold_key(i, k);
        rc = digby_txn_get(t, NULL, k, strlen(k), &got, &gl, NULL);
        if (!s) {
            assert_int_equal(rc, DIGBY_NOTFOUND);
            continue;
        }
        ASSERT_OK(rc);
        assert_int_equal(gl, fold_val(i, s - 1, v));
        assert_memory_equal(got, v, gl);
    }
    /* forward: every present key once, in order */
    ASSERT_OK(digby_cursor_open(t, NULL, &c));
    for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
        unsigned j;
        ASSERT_OK(digby_cursor_get(c, &ck, &ckl, &cv, &cvl, NULL));
        assert_int_equal(ckl, 8);
        j = fold_num(ck, ckl);
        assert_true(n == 0 || j > last);
        for (i = n ? last + 1 : 0; i < j; i++) assert_int_equal(fold_state(i, r), 0);
        assert_true(fold_state(j, r) != 0);
        assert_int_equal(cvl, fold_val(j, fold_state(j, r) - 1, v));
        assert_memory_equal(cv, v, cvl);
        last = j;
        n++;
    }
    assert_int_equal(rc, DIGBY_NOTFOUND);
    /* backward: the same keys, in reverse */
    for (rc = digby_cursor_last(c); rc == DIGBY_OK; rc = digby_cursor_prev(c)) {
        unsigned j;
        ASSERT_OK(digby_cursor_get(c, &ck, &ckl, &cv, &cvl, NULL));
        j = fold_num(ck, ckl);
        assert_true(fold_state(j, r) != 0);
        assert_true(j <= last);
        last = j;
        n--;
    }
    assert_int_equal(rc, DIGBY_NOTFOUND);
    assert_int_equal(n, 0);
    /* seeks: the first present key at or after, and the last at or
       before, each of a sample */
    for (i = 0; i < FOLD_KEYS; i += 97) {
        unsigned j = i;
        int b = (int)i;
        while (j < FOLD_KEYS && !fold_state(j, r)) j++;
        while (b >= 0 && !fold_state((unsigned)b, r)) b--;
        fold_key(i, k);
        rc = digby_cursor_seek(c, k, strlen(k), DIGBY_SEEK_GE);
        if (j == FOLD_KEYS) {
            assert_int_equal(rc, DIGBY_NOTFOUND);
        } else {
            ASSERT_OK(rc);
            ASSERT_OK(digby_cursor_get(c, &ck, &ckl, &cv, &cvl, NULL));
            assert_int_equal(fold_num(ck, ckl), j);
        }
        rc = digby_cursor_seek(c, k, strlen(k), DIGBY_SEEK_LE);
        if (b < 0) {
            assert_int_equal(rc, DIGBY_NOTFOUND);
        } else {
            ASSERT_OK(rc);
            ASSERT_OK(digby_cursor_get(c, &ck, &ckl, &cv, &cvl, NULL));
            assert_int_equal(fold_num(ck, ckl), (unsigned)b);
        }
    }
    digby_cursor_close(c);
}

static void test_memtable_fold(void **state)
{
    char k[16], v[64];
    digby_vfs *vfs;
    digby_options o;
    digby_db *db;
    digby_stats st;
    digby_txn *snap[FOLD_ROUNDS], *t;
    unsigned r, i, j;
    (void)state;
    ASSERT_OK(digby_vfs_mem_create(NULL, &vfs));
    memset(&o, 0, sizeof(o));
    o.vfs = vfs;
    o.flags = DIGBY_OPEN_LOG; /* the default memtable bound: no checkpoint */
    ASSERT_OK(digby_open("fold.db", &o, &db));
    {
        /* made now: creating a table later would checkpoint (an
           escalation) and start an empty memtable */
        digby_table *tab;
        ASSERT_OK(digby_txn_begin(db, 0, &t));
        ASSERT_OK(digby_table_open(t, "other", DIGBY_TABLE_CREATE, &tab));
        ASSERT_OK(digby_txn_commit(t));
    }
    for (r = 0; r < FOLD_ROUNDS; r++) {
        /* keys in a scattered order, so that folds interleave old and new */
        for (i = 0; i < FOLD_KEYS; i += FOLD_TXN) {
            ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_NO_SYNC, &t));
            for (j = i; j < i + FOLD_TXN; j++) {
                unsigned x = (j * 7919u) % FOLD_KEYS;
                if (r > 0 && x % (r + 3) == 1) continue;
                fold_key(x, k);
                if (r > 0 && x % (r + 5) == 0) {
                    int rc = digby_txn_delete(t, NULL, k, strlen(k));
                    assert_true(rc == DIGBY_OK || rc == DIGBY_NOTFOUND);
                } else {
                    ASSERT_OK(digby_txn_put(t, NULL, k, strlen(k), v, fold_val(x, r, v), 0));
                }
            }
            ASSERT_OK(digby_txn_commit(t));
            if (i == FOLD_KEYS / 2) {
                /* an aborted transaction's entries (dead) among the rest */
                ASSERT_OK(digby_txn_begin(db, 0, &t));
                for (j = 0; j < 3000; j++) {
                    fold_key((j * 13u) % FOLD_KEYS, k);
                    ASSERT_OK(digby_txn_put(t, NULL, k, strlen(k), "dead", 4, 0));
                }
                digby_txn_abort(t);
            }
        }
        ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &snap[r]));
    }
    ASSERT_OK(digby_stat(db, &st));
    print_message("memtable: %llu entries, %llu folds, %llu checkpoints\n",
                  (unsigned long long)st.memtable_entries, (unsigned long long)st.memtable_folds,
                  (unsigned long long)st.checkpoints);
    assert_true(st.memtable_folds >= 3);
    /* every snapshot reads its own round, before and after a checkpoint */
    for (r = 0; r < FOLD_ROUNDS; r++) fold_verify(snap[r], r);
    ASSERT_OK(digby_checkpoint(db));
    for (r = 0; r < FOLD_ROUNDS; r++) {
        fold_verify(snap[r], r);
        digby_txn_abort(snap[r]);
    }
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &t));
    fold_verify(t, FOLD_ROUNDS - 1);
    digby_txn_abort(t);
    /* keys of another table with another first byte: the prefix all the
       memtable's keys share shrinks to nothing, and the next fold makes
       the run's entries again; a snapshot from before keeps its view */
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &snap[0]));
    for (i = 0; i < 2 * FOLD_KEYS; i += FOLD_TXN) {
        digby_table *tab;
        ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_NO_SYNC, &t));
        ASSERT_OK(digby_table_open(t, "other", 0, &tab));
        for (j = i; j < i + FOLD_TXN; j++) {
            /* first keys with the global tree's prefix (the run grows
               past a fold), then without */
            unsigned x = (j * 7919u) % FOLD_KEYS;
            if (j < FOLD_KEYS) fold_key(x, k);
            else snprintf(k, sizeof(k), "x%u", x);
            ASSERT_OK(digby_txn_put(t, tab, k, strlen(k), k, strlen(k), 0));
        }
        ASSERT_OK(digby_txn_commit(t));
        if (i == FOLD_KEYS) {
            /* one entry in the global tree too: its key has no prefix
               in common with the others either */
            ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_NO_SYNC, &t));
            ASSERT_OK(digby_txn_put(t, NULL, "a", 1, "x", 1, 0));
            ASSERT_OK(digby_txn_delete(t, NULL, "a", 1));
            ASSERT_OK(digby_txn_commit(t));
        }
    }
    ASSERT_OK(digby_stat(db, &st));
    print_message("after another table: %llu folds, %llu checkpoints\n",
                  (unsigned long long)st.memtable_folds, (unsigned long long)st.checkpoints);
    fold_verify(snap[0], FOLD_ROUNDS - 1);
    digby_txn_abort(snap[0]);
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &t));
    fold_verify(t, FOLD_ROUNDS - 1);
    {
        digby_table *tab;
        const void *got;
        size_t gl;
        ASSERT_OK(digby_table_open(t, "other", 0, &tab));
        for (i = 0; i < 2 * FOLD_KEYS; i += 13) {
            if (i < FOLD_KEYS) fold_key(i, k);
            else snprintf(k, sizeof(k), "x%u", i - FOLD_KEYS);
            ASSERT_OK(digby_txn_get(t, tab, k, strlen(k), &got, &gl, NULL));
            assert_int_equal(gl, strlen(k));
            assert_memory_equal(got, k, gl);
        }
        assert_int_equal(digby_txn_get(t, tab, "x40000", 6, &got, &gl, NULL), DIGBY_NOTFOUND);
        assert_int_equal(digby_txn_get(t, NULL, "x1", 2, &got, &gl, NULL), DIGBY_NOTFOUND);
    }
    digby_txn_abort(t);
    check_passes(db);
    ASSERT_OK(digby_close(db));
    digby_vfs_mem_destroy(vfs);
}

/* ---- transactions that append at the tree's end ----------------------------- */

enum { APP_TXN = 500, APP_TXNS = 6 };

static void app_key(unsigned i, char *k) { snprintf(k, 16, "a%08u", i); }

/* Commit puts of keys [lo, hi) step `step` to table tab (NULL: the global
   tree); returns the transaction's id. */
static uint64_t app_commit(digby_db *db, const char *table, unsigned lo, unsigned hi,
                           unsigned step, int with_delete)
{
    char k[16];
    digby_txn *t;
    digby_table *tab = NULL;
    uint64_t id;
    unsigned i;
    ASSERT_OK(digby_txn_begin(db, 0, &t));
    if (table) ASSERT_OK(digby_table_open(t, table, 0, &tab));
    for (i = lo; i < hi; i += step) {
        app_key(i, k);
        ASSERT_OK(digby_txn_put(t, tab, k, strlen(k), k, strlen(k), 0));
    }
    if (with_delete) {
        app_key(lo, k);
        ASSERT_OK(digby_txn_delete(t, tab, k, strlen(k)));
    }
    id = digby_txn_id(t);
    ASSERT_OK(digby_txn_commit(t));
    return id;
}

/* Keys [lo, hi) step `step` of table (NULL: global) read back with
   version ver (0: any). */
static void app_check(digby_txn *t, const char *table, unsigned lo, unsigned hi, unsigned step,
                      uint64_t ver)
{
    char k[16];
    digby_table *tab = NULL;
    unsigned i;
    if (table) ASSERT_OK(digby_table_open(t, table, 0, &tab));
    for (i = lo; i < hi; i += step) {
        const void *got;
        size_t gl;
        uint64_t v;
        app_key(i, k);
        ASSERT_OK(digby_txn_get(t, tab, k, strlen(k), &got, &gl, &v));
        assert_int_equal(gl, strlen(k));
        assert_memory_equal(got, k, gl);
        if (ver) assert_int_equal(v, ver);
    }
}

static void test_append_commits(void **state)
{
    digby_vfs *vfs;
    digby_options o;
    digby_db *db;
    digby_stats st;
    digby_txn *t, *snap;
    uint64_t ids[APP_TXNS], tid, tid2, tid3;
    unsigned r;
    (void)state;
    ASSERT_OK(digby_vfs_mem_create(NULL, &vfs));
    memset(&o, 0, sizeof(o));
    o.vfs = vfs;
    o.flags = DIGBY_OPEN_LOG | DIGBY_OPEN_NO_SYNC;
    ASSERT_OK(digby_open("append.db", &o, &db));
    ASSERT_OK(digby_txn_begin(db, 0, &t));
    {
        digby_table *tab;
        ASSERT_OK(digby_table_open(t, "tab", DIGBY_TABLE_CREATE, &tab));
    }
    ASSERT_OK(digby_txn_commit(t));
    /* appends: straight to the tree, the memtable stays empty */
    for (r = 0; r < APP_TXNS; r++) {
        ids[r] = app_commit(db, NULL, r * APP_TXN, (r + 1) * APP_TXN, 1, 0);
        if (r == 2) ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &snap));
    }
    tid = app_commit(db, "tab", 0, APP_TXN, 1, 0);
    ASSERT_OK(digby_stat(db, &st));
    print_message("appends: memtable %llu entries, %llu checkpoints\n",
                  (unsigned long long)st.memtable_entries, (unsigned long long)st.checkpoints);
    assert_int_equal(st.memtable_entries, 0);
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &t));
    for (r = 0; r < APP_TXNS; r++) app_check(t, NULL, r * APP_TXN, (r + 1) * APP_TXN, 1, ids[r]);
    app_check(t, "tab", 0, APP_TXN, 1, tid);
    digby_txn_abort(t);
    /* the snapshot taken after three commits sees them and nothing more */
    app_check(snap, NULL, 0, 3 * APP_TXN, 1, 0);
    {
        const void *got;
        size_t gl;
        char k[16];
        app_key(3 * APP_TXN, k);
        assert_int_equal(digby_txn_get(snap, NULL, k, strlen(k), &got, &gl, NULL),
                         DIGBY_NOTFOUND);
    }
    digby_txn_abort(snap);
    /* after append commits in a row the next transaction begins in
       copy-on-write mode: a hundred ascending puts (too few for the
       append path) and then puts among the keys go to the tree with their
       txids as versions (the memtable stays empty); each ends the streak,
       which two append commits start again */
    tid2 = app_commit(db, NULL, 300000, 300000 + 100, 1, 0);
    ASSERT_OK(digby_stat(db, &st));
    assert_int_equal(st.memtable_entries, 0);
    app_commit(db, NULL, 300100, 300100 + 100, 1, 0);                /* logged: no streak */
    ASSERT_OK(digby_stat(db, &st));
    assert_int_equal(st.memtable_entries, 100);
    ASSERT_OK(digby_checkpoint(db));
    app_commit(db, NULL, 400000, 400000 + APP_TXN, 1, 0);
    app_commit(db, NULL, 400000 + APP_TXN, 400000 + 2 * APP_TXN, 1, 0);
    tid3 = app_commit(db, NULL, 2, 300000, 997, 0);                   /* among the keys */
    ASSERT_OK(digby_stat(db, &st));
    assert_int_equal(st.memtable_entries, 0);
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &t));
    app_check(t, NULL, 300000, 300000 + 100, 1, tid2);
    app_check(t, NULL, 2, 300000, 997, tid3);
    app_check(t, NULL, 400000, 400000 + 2 * APP_TXN, 1, 0);
    digby_txn_abort(t);
    /* not appends: logged (the memtable holds them) */
    app_commit(db, NULL, 1, APP_TXNS * APP_TXN * 2, 7, 0);         /* among the keys */
    ASSERT_OK(digby_stat(db, &st));
    assert_true(st.memtable_entries > 0);
    ASSERT_OK(digby_checkpoint(db));
    app_commit(db, NULL, 100000, 100000 + APP_TXN, 1, 1);            /* a delete */
    ASSERT_OK(digby_stat(db, &st));
    assert_true(st.memtable_entries > 0);
    ASSERT_OK(digby_checkpoint(db));
    app_commit(db, NULL, 200000, 200000 + 100, 1, 0);                /* too few */
    ASSERT_OK(digby_stat(db, &st));
    assert_int_equal(st.memtable_entries, 100);
    for (r = 0; r < 2; r++) {
        ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &t));
        app_check(t, NULL, 0, APP_TXNS * APP_TXN, 1, 0);
        app_check(t, NULL, 1, APP_TXNS * APP_TXN * 2, 7, 0);
        app_check(t, NULL, 100001, 100000 + APP_TXN, 1, 0);
        app_check(t, NULL, 200000, 200000 + 100, 1, 0);
        app_check(t, NULL, 300000, 300000 + 200, 1, 0);
        app_check(t, NULL, 400000, 400000 + 2 * APP_TXN, 1, 0);
        app_check(t, "tab", 0, APP_TXN, 1, tid);
        digby_txn_abort(t);
        check_passes(db);
        ASSERT_OK(digby_close(db));
        ASSERT_OK(digby_open("append.db", &o, &db));
    }
    ASSERT_OK(digby_close(db));
    digby_vfs_mem_destroy(vfs);
}

/* ---- Damage inside the log -------------------------------------------- */

enum { DMG_PAGE = 512, DMG_COMMITS = 8, DMG_SPAN = 3 };

static uint64_t dmg_le64(const unsigned char *p)
{
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* The file as the handle left it, open (no close: its log is live). */
static unsigned char *dmg_image(digby_vfs *vfs, size_t *n)
{
    digby_file *f;
    uint64_t size;
    size_t got;
    unsigned char *b;
    ASSERT_OK(vfs->open(vfs, "dmg.db", 0, &f));
    ASSERT_OK(vfs->size(f, &size));
    b = (unsigned char *)malloc((size_t)size);
    assert_non_null(b);
    ASSERT_OK(vfs->read(f, 0, b, (size_t)size, &got));
    assert_int_equal(got, size);
    vfs->close(f);
    *n = (size_t)size;
    return b;
}

static char dmg_what[80]; /* the trial, for messages */

/* Open image (n bytes) in a fresh memory VFS; DIGBY_OK or the open's
   error.  On success: *last, the last commit whose key reads back (-1:
   none), and digby_check must pass. */
static int dmg_open(const unsigned char *img, size_t n, unsigned flags, int enc, int *last)
{
    static const uint8_t key[32] = {7, 7, 7, 7, 1, 2, 3, 4};
    digby_vfs *vfs;
    digby_file *f;
    digby_options o;
    digby_db *db;
    int rc, c;
    ASSERT_OK(digby_vfs_mem_create(NULL, &vfs));
    ASSERT_OK(vfs->open(vfs, "dmg.db", DIGBY_VFS_CREATE, &f));
    ASSERT_OK(vfs->write(f, 0, img, n));
    vfs->close(f);
    memset(&o, 0, sizeof(o));
    o.vfs = vfs;
    o.flags = flags | DIGBY_OPEN_NO_CREATE;
    if (enc) { o.key = key; o.key_bytes = sizeof(key); }
    rc = digby_open("dmg.db", &o, &db);
    if (rc == DIGBY_OK) {
        *last = -1;
        for (c = 0; c < DMG_COMMITS; c++) {
            char k[16];
            void *v;
            size_t vn;
            snprintf(k, sizeof(k), "c%02d.00", c);
            if (digby_get(db, k, strlen(k), &v, &vn, NULL) != DIGBY_OK) break;
            digby_free(db, v);
            *last = c;
        }
        /* no commit after a missing one */
        for (; c < DMG_COMMITS; c++) {
            char k[16];
            void *v;
            size_t vn;
            snprintf(k, sizeof(k), "c%02d.00", c);
            ASSERT_RC(digby_get(db, k, strlen(k), &v, &vn, NULL), DIGBY_NOTFOUND);
        }
        {
            digby_check_report rep;
            memset(&rep, 0, sizeof(rep));
            rc = digby_check(db, &rep);
            if (rc) print_error("digby_check (%s, %s): page %llu: %s\n", dmg_what,
                                (flags & DIGBY_OPEN_READONLY) ? "read-only" : "read-write",
                                (unsigned long long)rep.bad_pgno, rep.message);
            ASSERT_OK(rc);
        }
        ASSERT_OK(digby_close(db));
    }
    digby_vfs_mem_destroy(vfs);
    return rc;
}

static void dmg_run(int enc)
{
    static const uint8_t key[32] = {7, 7, 7, 7, 1, 2, 3, 4};
    digby_vfs *vfs;
    digby_options o;
    digby_db *db;
    digby_txn *t;
    unsigned char *img, *work;
    size_t n, p, npages;
    uint64_t log_lsn = 0, top = 0, lsn;
    size_t meta_slot = 0, logp[64], nlog = 0;
    int c, j, last, ro;
    char k[32], v[64];
    ASSERT_OK(digby_vfs_mem_create(NULL, &vfs));
    memset(&o, 0, sizeof(o));
    o.vfs = vfs;
    o.page_size = DMG_PAGE;
    o.flags = DIGBY_OPEN_LOG;
    if (enc) { o.key = key; o.key_bytes = sizeof(key); }
    ASSERT_OK(digby_open("dmg.db", &o, &db));
    /* a table created: a copy-on-write commit, which the log follows */
    ASSERT_OK(digby_txn_begin(db, 0, &t));
    {
        digby_table *tab;
        ASSERT_OK(digby_table_open(t, "tab", DIGBY_TABLE_CREATE, &tab));
    }
    ASSERT_OK(digby_txn_commit(t));
    for (c = 0; c < DMG_COMMITS; c++) {
        digby_table *tab;
        int puts = c == DMG_SPAN ? 24 : 3;
        ASSERT_OK(digby_txn_begin(db, 0, &t));
        ASSERT_OK(digby_table_open(t, "tab", 0, &tab));
        for (j = 0; j < puts; j++) {
            snprintf(k, sizeof(k), "c%02d.%02d", c, j);
            memset(v, 'a' + c, sizeof(v));
            ASSERT_OK(digby_txn_put(t, j % 2 ? tab : NULL, k, strlen(k), v, 20 + (size_t)j, 0));
        }
        ASSERT_OK(digby_txn_commit(t));
    }
    img = dmg_image(vfs, &n);
    work = (unsigned char *)malloc(n);
    assert_non_null(work);
    /* the intact copy: every commit */
    snprintf(dmg_what, sizeof(dmg_what), "intact");
    for (ro = 0; ro < 2; ro++) {
        ASSERT_OK(dmg_open(img, n, ro ? DIGBY_OPEN_READONLY : DIGBY_OPEN_LOG, enc, &last));
        assert_int_equal(last, DMG_COMMITS - 1);
    }
    /* the newest meta page, and the log pages from its head on by LSN
       (FORMAT.md 1, 3, 11.1: type, txid/LSN and, in a plain file, log_lsn
       in clear; an encrypted meta page's log_lsn is sealed: every log page
       of the file is newer than the table's commit there) */
    npages = n / DMG_PAGE;
    for (p = 0; p < 2; p++)
        if (img[p * DMG_PAGE] == 1 && dmg_le64(img + p * DMG_PAGE + 16) > top) {
            top = dmg_le64(img + p * DMG_PAGE + 16);
            meta_slot = p;
        }
    if (!enc) log_lsn = dmg_le64(img + meta_slot * DMG_PAGE + 184);
    for (lsn = log_lsn; nlog < 64; lsn++) {
        size_t found = 0;
        for (p = 2; p < npages && !found; p++)
            if (img[p * DMG_PAGE] == 7 && dmg_le64(img + p * DMG_PAGE + 16) == lsn) found = p;
        if (!found && lsn == log_lsn) continue; /* (encrypted: the first LSN) */
        if (!found) break;
        logp[nlog++] = found;
    }
    print_message("log damage (%s): %zu log pages\n", enc ? "encrypted" : "plain", nlog);
    assert_true(nlog >= DMG_COMMITS);
    for (p = 0; p < nlog; p++) {
        int how;
        for (how = 0; how < 2; how++) {
            unsigned char *pg = work + logp[p] * DMG_PAGE;
            memcpy(work, img, n);
            if (how == 0) pg[40] ^= 0x10; /* a bit of the payload */
            else memset(pg, 0, DMG_PAGE);
            snprintf(dmg_what, sizeof(dmg_what), "log page %zu of %zu (page %zu) %s", p + 1,
                     nlog, logp[p], how ? "zeroed" : "bit flipped");
            for (ro = 0; ro < 2; ro++) {
                int rc = dmg_open(work, n, ro ? DIGBY_OPEN_READONLY : DIGBY_OPEN_LOG, enc, &last);
                if (p + 1 < nlog) {
                    if (rc != DIGBY_CORRUPT)
                        print_error("%s, %s: open %s, last commit %d\n", dmg_what,
                                    ro ? "read-only" : "read-write", rc_name(rc), last);
                    assert_int_equal(rc, DIGBY_CORRUPT);
                } else {
                    /* the tail: quietly every commit but the last */
                    ASSERT_OK(rc);
                    assert_int_equal(last, DMG_COMMITS - 2);
                }
            }
        }
    }
    /* the newest meta page lost: the log after it says it was durable */
    memcpy(work, img, n);
    memset(work + meta_slot * DMG_PAGE, 0, DMG_PAGE);
    snprintf(dmg_what, sizeof(dmg_what), "newest meta page zeroed");
    for (ro = 0; ro < 2; ro++)
        ASSERT_RC(dmg_open(work, n, ro ? DIGBY_OPEN_READONLY : DIGBY_OPEN_LOG, enc, &last),
                  DIGBY_CORRUPT);
    free(work);
    free(img);
    ASSERT_OK(digby_close(db));
    digby_vfs_mem_destroy(vfs);
}

static void test_log_damage(void **state)
{
    (void)state;
    dmg_run(0);
    dmg_run(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpoint_parts_and_spills),
        cmocka_unit_test(test_checkpoint_memory),
        cmocka_unit_test(test_memtable_fold),
        cmocka_unit_test(test_append_commits),
        cmocka_unit_test(test_log_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
