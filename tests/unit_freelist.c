/* White-box tests of src_parts/46_freelist.c, driving a database on the
   in-memory VFS: pages freed while a snapshot is live wait for it, the
   freelist survives a reopen, and long freelists span many pages. */
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "unit_common.h"

static void env_open(env *e, uint32_t page_size)
{
    env_init(e, "fl.db", page_size);
    env_start(e);
}

/* Two commits of the same 300 keys (40-byte values of `first`, then of
   `second`) at 512-byte pages: the second frees the first's pages. */
static void open_with_frees(env *e, char first, char second)
{
    env_open(e, 512);
    commit_puts(e, 300, first, 40);
    commit_puts(e, 300, second, 40);
}

static void check_values(digby_txn *txn, int n, char fill, size_t vlen)
{
    char k[16];
    int i;
    for (i = 0; i < n; i++) {
        const void *v;
        size_t vn;
        snprintf(k, sizeof k, "k%06d", i);
        assert_int_equal(digby_txn_get(txn, NULL, k, strlen(k), &v, &vn, NULL), DIGBY_OK);
        assert_int_equal(vn, vlen);
        assert_int_equal(((const char *)v)[0], fill);
        assert_int_equal(((const char *)v)[vn - 1], fill);
    }
}

static int in_free(const digby_db *db, uint64_t pg)
{
    size_t i;
    for (i = 0; i < db->free.n; i++)
        if (db->free.v[i] == pg) return 1;
    return 0;
}

static int in_pending(const digby_db *db, uint64_t pg)
{
    size_t i;
    for (i = 0; i < db->npending; i++)
        if (db->pending[i].pgno == pg) return 1;
    for (i = 0; i < db->ncpending; i++) /* replaced freelist chains */
        if (db->cpending[i].pgno == pg) return 1;
    return 0;
}

/* Page numbers pending with the given txid. */
static size_t pending_of(const digby_db *db, uint64_t txid, uint64_t *out, size_t max)
{
    size_t i, n = 0;
    for (i = 0; i < db->npending; i++)
        if (db->pending[i].txid == txid) {
            assert_true(n < max);
            out[n++] = db->pending[i].pgno;
        }
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

/* free + pending page numbers, sorted ascending; the caller frees. */
static uint64_t *union_sorted(const digby_db *db, size_t *n)
{
    uint64_t *u = (uint64_t *)malloc((db->free.n + db->npending + db->ncpending + 1) * sizeof *u);
    size_t i, k = 0;
    for (i = 0; i < db->free.n; i++) u[k++] = db->free.v[i];
    for (i = 0; i < db->npending; i++) u[k++] = db->pending[i].pgno;
    for (i = 0; i < db->ncpending; i++) u[k++] = db->cpending[i].pgno;
    qsort(u, k, sizeof *u, cmp_u64);
    for (i = 1; i < k; i++) assert_true(u[i - 1] < u[i]); /* no page twice */
    *n = k;
    return u;
}

/* free + pending are the n pages of u. */
static void assert_union_is(const digby_db *db, const uint64_t *u, size_t n)
{
    size_t na;
    uint64_t *after = union_sorted(db, &na);
    assert_int_equal(na, n);
    assert_memory_equal(after, u, n * sizeof *u);
    free(after);
}

static void assert_free_sorted_desc(const digby_db *db)
{
    size_t i;
    for (i = 1; i < db->free.n; i++) assert_true(db->free.v[i - 1] > db->free.v[i]);
}

static void assert_stat_matches(env *e)
{
    digby_stats st;
    assert_int_equal(digby_stat(e->db, &st), DIGBY_OK);
    assert_true(st.free_pages == e->db->free.n + e->db->npending + e->db->ncpending);
    assert_true(st.freelist_pages == e->db->freelist_pages.n);
    assert_true(st.page_count == e->db->meta.page_count);
}

/* ---- snapshots hold pages back ---------------------------------------------- */

static void test_snapshot_blocks_reuse(void **state)
{
    env e;
    digby_txn *r, *w;
    uint64_t p[2000];
    size_t np, i, j;
    uint64_t lowest;
    (void)state;
    env_open(&e, 512);
    commit_puts(&e, 300, 'a', 40);                 /* txid 2 */
    assert_true(e.db->meta.txid == 2);
    assert_int_equal(digby_txn_begin(e.db, DIGBY_TXN_READONLY, &r), DIGBY_OK);
    assert_true(digby_txn_id(r) == 2);
    commit_puts(&e, 300, 'b', 40);                 /* txid 3 frees txid 2's pages */
    np = pending_of(e.db, 3, p, 2000);
    assert_true(np > 20);
    for (i = 0; i < np; i++) assert_false(in_free(e.db, p[i]));
    assert_stat_matches(&e);
    /* the next writer: the snapshot at 2 still reaches those pages */
    assert_int_equal(digby_txn_begin(e.db, 0, &w), DIGBY_OK);
    for (i = 0; i < np; i++) {
        assert_false(in_free(e.db, p[i]));
        assert_true(in_pending(e.db, p[i]));
    }
    put_keys(w, NULL, 300, 'c', 40);
    for (i = 0; i < w->dirty.cap; i++)
        for (j = 0; w->dirty.keys[i] && j < np; j++)
            if (w->dirty.keys[i] == p[j])
                fail_msg("page %llu, pending for the live snapshot, reused",
                         (unsigned long long)p[j]);
    for (i = 0; i < w->popped.n; i++)
        for (j = 0; j < np; j++) assert_true(w->popped.v[i] != p[j]);
    assert_int_equal(digby_txn_commit(w), DIGBY_OK); /* txid 4 */
    /* the snapshot reads its own values, untouched */
    check_values(r, 300, 'a', 40);
    assert_stat_matches(&e);
    env_check(&e);
    digby_txn_abort(r);
    /* snapshot gone: the next writer may reuse them, lowest page first */
    assert_int_equal(digby_txn_begin(e.db, 0, &w), DIGBY_OK);
    for (i = 0; i < np; i++) assert_true(in_free(e.db, p[i]));
    assert_int_equal(e.db->npending, 0);
    assert_free_sorted_desc(e.db);
    lowest = e.db->free.v[e.db->free.n - 1];
    assert_int_equal(digby_txn_put(w, NULL, "k000000", 7, "z", 1, 0), DIGBY_OK);
    assert_non_null(digby__dirty_get(w, lowest));
    assert_true(w->popped.n >= 1);
    assert_true(w->popped.v[0] == lowest);
    assert_false(in_free(e.db, lowest));
    assert_int_equal(digby_txn_commit(w), DIGBY_OK);
    assert_stat_matches(&e);
    env_close(&e);
}

/* Two snapshots: pages wait for the oldest snapshot that can reach them,
   and no longer. */
static void test_oldest_snapshot_decides(void **state)
{
    env e;
    digby_txn *r1, *r2, *w;
    static uint64_t p3[2000], p4[2000];
    size_t n3, n4, i;
    (void)state;
    env_open(&e, 512);
    commit_puts(&e, 200, 'a', 40);                          /* 2 */
    assert_int_equal(digby_txn_begin(e.db, DIGBY_TXN_READONLY, &r1), DIGBY_OK);
    commit_puts(&e, 200, 'b', 40);                          /* 3 */
    assert_int_equal(digby_txn_begin(e.db, DIGBY_TXN_READONLY, &r2), DIGBY_OK);
    assert_true(digby_txn_id(r2) == 3);
    commit_puts(&e, 200, 'c', 40);                          /* 4 */
    n3 = pending_of(e.db, 3, p3, 2000);
    n4 = pending_of(e.db, 4, p4, 2000);
    assert_true(n3 > 0 && n4 > 0);
    /* r1 (at 2) holds both */
    assert_int_equal(digby_txn_begin(e.db, 0, &w), DIGBY_OK);
    for (i = 0; i < n3; i++) assert_true(in_pending(e.db, p3[i]));
    for (i = 0; i < n4; i++) assert_true(in_pending(e.db, p4[i]));
    digby_txn_abort(w);
    digby_txn_abort(r1);
    /* r2 (at 3) still reaches what 4 freed, not what 3 freed */
    assert_int_equal(digby_txn_begin(e.db, 0, &w), DIGBY_OK);
    for (i = 0; i < n3; i++) assert_true(in_free(e.db, p3[i]));
    for (i = 0; i < n4; i++) {
        assert_true(in_pending(e.db, p4[i]));
        assert_false(in_free(e.db, p4[i]));
    }
    put_keys(w, NULL, 200, 'd', 40);
    for (i = 0; i < n4; i++) assert_null(digby__dirty_get(w, p4[i]));
    assert_int_equal(digby_txn_commit(w), DIGBY_OK);       /* 5 */
    check_values(r2, 200, 'b', 40);
    env_check(&e);
    digby_txn_abort(r2);
    assert_int_equal(digby_txn_begin(e.db, 0, &w), DIGBY_OK);
    for (i = 0; i < n4; i++) assert_true(in_free(e.db, p4[i]));
    assert_int_equal(e.db->npending, 0);
    digby_txn_abort(w);
    env_close(&e);
}

/* A snapshot taken after the commit that freed the pages does not hold
   them: it cannot reach them. */
static void test_newer_snapshot_does_not_block(void **state)
{
    env e;
    digby_txn *r, *w;
    static uint64_t p[2000];
    size_t n, i;
    (void)state;
    env_open(&e, 512);
    commit_puts(&e, 200, 'a', 40);
    commit_puts(&e, 200, 'b', 40);
    n = pending_of(e.db, e.db->meta.txid, p, 2000);
    assert_true(n > 0);
    assert_int_equal(digby_txn_begin(e.db, DIGBY_TXN_READONLY, &r), DIGBY_OK);
    assert_int_equal(digby_txn_begin(e.db, 0, &w), DIGBY_OK);
    for (i = 0; i < n; i++) assert_true(in_free(e.db, p[i]));
    put_keys(w, NULL, 200, 'c', 40);
    assert_int_equal(digby_txn_commit(w), DIGBY_OK);
    check_values(r, 200, 'b', 40);
    digby_txn_abort(r);
    env_close(&e);
}

/* An aborted writer gives back the free pages it took. */
static void test_abort_returns_pages(void **state)
{
    env e;
    digby_txn *w;
    uint64_t *before;
    size_t nb;
    uint64_t pc;
    (void)state;
    open_with_frees(&e, 'a', 'b');
    assert_int_equal(digby_txn_begin(e.db, 0, &w), DIGBY_OK);
    digby_txn_abort(w); /* releases the pending pages into free */
    before = union_sorted(e.db, &nb);
    assert_true(nb > 20);
    pc = e.db->meta.page_count;
    assert_int_equal(digby_txn_begin(e.db, 0, &w), DIGBY_OK);
    put_keys(w, NULL, 300, 'c', 40);
    assert_true(w->popped.n > 0);
    digby_txn_abort(w);
    assert_union_is(e.db, before, nb);
    assert_free_sorted_desc(e.db);
    assert_true(e.db->meta.page_count == pc);
    free(before);
    env_close(&e);
}

/* ---- persistence ------------------------------------------------------------------- */

/* Walk the persisted chain by hand (FORMAT.md section 8) and return the
   page numbers of its free and pending lists, sorted. */
static uint64_t *read_chain(env *e, size_t *nout, size_t *chain_pages)
{
    digby_db *db = e->db;
    const digby__meta *m = &db->meta;
    uint8_t *buf = (uint8_t *)malloc(db->page_size);
    uint64_t *words = (uint64_t *)malloc((m->free_count + 1) * sizeof *words);
    uint64_t *out, pg = m->free_root, nw = 0, nfree, npend, i;
    size_t per = (db->usable - DIGBY__FREELIST_HDR) / 8, k = 0;
    *chain_pages = 0;
    while (pg) {
        unsigned n;
        assert_int_equal(digby__page_read_raw(db, pg, buf), DIGBY_OK);
        assert_int_equal(buf[0], DIGBY__PAGE_FREELIST);
        assert_true(digby__get64(buf + 16) == m->txid);
        assert_true(db->freelist_pages.v[*chain_pages] == pg);
        n = digby__get16(buf + 2);
        assert_true(n <= per);
        assert_true(nw + n <= m->free_count);
        for (i = 0; i < n; i++) words[nw++] = digby__get64(buf + DIGBY__FREELIST_HDR + 8 * i);
        (*chain_pages)++;
        pg = digby__get64(buf + 24);
    }
    assert_true(nw == m->free_count);
    assert_int_equal(*chain_pages, db->freelist_pages.n);
    out = (uint64_t *)malloc((nw + 1) * sizeof *out);
    if (nw) {
        nfree = words[0];
        npend = words[1 + nfree];
        assert_true(nw == 2 + nfree + 2 * npend);
        for (i = 0; i < nfree; i++) out[k++] = words[1 + i];
        for (i = 0; i < npend; i++) {
            assert_true(words[2 + nfree + 2 * i] <= m->txid);
            out[k++] = words[2 + nfree + 2 * i + 1];
        }
        /* the chain is sized before its own pages are taken from the
           lists (each taking away one word): no bigger than that needs */
        assert_true(*chain_pages <= (nw + *chain_pages + per - 1) / per);
    }
    qsort(out, k, sizeof *out, cmp_u64);
    *nout = k;
    free(words);
    free(buf);
    return out;
}

/* The chain on disk lists what memory holds (free + pending): returns
   that list (the caller frees it) and its length in *nu. */
static uint64_t *chain_matches_memory(env *e, size_t *nu)
{
    size_t nc, cp;
    uint64_t *u = union_sorted(e->db, nu), *chain = read_chain(e, &nc, &cp);
    assert_int_equal(nc, *nu);
    assert_memory_equal(chain, u, *nu * sizeof *u);
    free(chain);
    return u;
}

/* Table "big": 1500 values of 600 bytes, two overflow pages each. */
static void create_big(env *e)
{
    digby_txn *w;
    digby_table *t;
    assert_int_equal(digby_txn_begin(e->db, 0, &w), DIGBY_OK);
    assert_int_equal(digby_table_open(w, "big", DIGBY_TABLE_CREATE, &t), DIGBY_OK);
    put_keys(w, t, 1500, 'x', 600);
    assert_int_equal(digby_txn_commit(w), DIGBY_OK);
}

/* Drop it: every page of the table pending on the dropping commit. */
static void drop_big(env *e)
{
    digby_txn *w;
    assert_int_equal(digby_txn_begin(e->db, 0, &w), DIGBY_OK);
    assert_int_equal(digby_table_drop(w, "big"), DIGBY_OK);
    assert_int_equal(digby_txn_commit(w), DIGBY_OK);
}

static void test_freelist_persists_across_reopen(void **state)
{
    env e;
    digby_txn *r;
    uint64_t *u, fl[64];
    size_t nu, nfl, i;
    (void)state;
    open_with_frees(&e, 'a', 'b');
    /* keep pending pages around: a snapshot during two more commits */
    assert_int_equal(digby_txn_begin(e.db, DIGBY_TXN_READONLY, &r), DIGBY_OK);
    commit_puts(&e, 300, 'c', 40);
    commit_puts(&e, 150, 'd', 40);
    digby_txn_abort(r);
    /* a small commit: its begin frees what waited for the snapshot, it uses
       a few of those pages and leaves its own frees pending */
    assert_int_equal(digby_put(e.db, "k000001", 7, "z", 1), DIGBY_OK);
    assert_true(e.db->free.n > 0);
    assert_true(e.db->npending > 0);
    /* what is on disk is what is in memory */
    u = chain_matches_memory(&e, &nu);
    nfl = e.db->freelist_pages.n;
    assert_true(nfl >= 1 && nfl < 64);
    memcpy(fl, e.db->freelist_pages.v, nfl * sizeof fl[0]);
    assert_stat_matches(&e);
    env_check(&e);
    env_reopen(&e);
    /* after reopen every listed page is free at once */
    assert_int_equal(e.db->npending, 0);
    assert_free_sorted_desc(e.db);
    assert_union_is(e.db, u, nu);
    assert_int_equal(e.db->freelist_pages.n, nfl);
    for (i = 0; i < nfl; i++) assert_true(e.db->freelist_pages.v[i] == fl[i]);
    assert_stat_matches(&e);
    env_check(&e);
    free(u);
    /* and it keeps working */
    commit_puts(&e, 300, 'e', 40);
    env_reopen(&e);
    u = chain_matches_memory(&e, &nu);
    free(u);
    env_close(&e);
}

/* An empty freelist is no chain at all, and stays so across a reopen. */
static void test_empty_freelist(void **state)
{
    env e;
    digby_stats st;
    (void)state;
    env_open(&e, 512);
    assert_true(e.db->meta.free_root == 0 && e.db->meta.free_count == 0);
    assert_int_equal(e.db->freelist_pages.n, 0);
    env_reopen(&e);
    assert_int_equal(e.db->free.n, 0);
    assert_int_equal(e.db->freelist_pages.n, 0);
    /* a first commit of fresh pages frees nothing */
    assert_int_equal(digby_put(e.db, "a", 1, "b", 1), DIGBY_OK);
    assert_true(e.db->meta.free_root == 0 && e.db->meta.free_count == 0);
    assert_int_equal(digby_stat(e.db, &st), DIGBY_OK);
    assert_true(st.free_pages == 0 && st.freelist_pages == 0);
    env_close(&e);
}

/* Thousands of free pages at 512-byte pages: a chain of many freelist
   pages, written, read back and reused. */
static void test_long_freelist(void **state)
{
    env e;
    digby_txn *w;
    digby_table *t;
    digby_stats st, st2;
    uint64_t *u, pc;
    size_t nu;
    char v[40];
    (void)state;
    env_open(&e, 512);
    commit_puts(&e, 100, 'g', 20);
    create_big(&e);
    assert_int_equal(digby_stat(e.db, &st), DIGBY_OK);
    assert_true(st.overflow_pages >= 3000);
    env_check(&e);
    drop_big(&e);
    assert_true(e.db->npending + e.db->free.n >= 3000);
    assert_int_equal(digby_stat(e.db, &st), DIGBY_OK);
    /* 2 + nfree + 2 x npending words, 59 words a page */
    assert_true(st.freelist_pages >= 3000 * 2 / 59);
    assert_stat_matches(&e);
    env_check(&e);
    u = chain_matches_memory(&e, &nu);
    env_reopen(&e);
    assert_union_is(e.db, u, nu);
    free(u);
    assert_int_equal(digby_stat(e.db, &st2), DIGBY_OK);
    assert_true(st2.free_pages == st.free_pages);
    assert_true(st2.freelist_pages == st.freelist_pages);
    env_check(&e);
    /* the free pages are all reusable now: a new table of fewer pages
       does not grow the file */
    pc = e.db->meta.page_count;
    assert_int_equal(digby_txn_begin(e.db, 0, &w), DIGBY_OK);
    assert_int_equal(digby_table_open(w, "again", DIGBY_TABLE_CREATE, &t), DIGBY_OK);
    put_keys(w, t, 700, 'y', 600);
    memset(v, 'q', sizeof v);
    assert_int_equal(digby_txn_put(w, NULL, "extra", 5, v, sizeof v, 0), DIGBY_OK);
    assert_int_equal(digby_txn_commit(w), DIGBY_OK);
    assert_true(e.db->meta.page_count == pc);
    assert_stat_matches(&e);
    env_check(&e);
    u = chain_matches_memory(&e, &nu);
    free(u);
    env_reopen(&e);
    assert_stat_matches(&e);
    env_close(&e);
}

/* The chain is sized before its own pages are taken from the free list,
   so it can end in a page holding no words (FORMAT.md section 8: trailing
   pages may hold no words).  Such a chain must load and check clean. */
static void test_chain_with_empty_trailing_page(void **state)
{
    env e;
    digby_txn *w;
    uint8_t buf[512];
    uint64_t *u;
    size_t nu;
    char k[32];
    static char v[1000];
    int r, i, found = -1;
    (void)state;
    env_open(&e, 512);
    create_big(&e);
    drop_big(&e);
    memset(v, 'y', sizeof v);
    /* small commits shrink the list a few words at a time */
    for (r = 0; r < 600 && found < 0; r++) {
        size_t n = e.db->freelist_pages.n;
        assert_true(n > 0);
        assert_int_equal(digby__page_read_raw(e.db, e.db->freelist_pages.v[n - 1], buf), DIGBY_OK);
        if (digby__get16(buf + 2) == 0) { found = r; break; }
        assert_int_equal(digby_txn_begin(e.db, 0, &w), DIGBY_OK);
        for (i = 0; i < 1 + r % 5; i++) {
            snprintf(k, sizeof k, "r%03d%02d", r, i);
            assert_int_equal(digby_txn_put(w, NULL, k, strlen(k), v, 300 + (size_t)(r % 3) * 200, 0),
                             DIGBY_OK);
        }
        assert_int_equal(digby_txn_commit(w), DIGBY_OK);
    }
    if (found < 0) {
        env_close(&e);
        print_message("no chain with an empty trailing page came up; skipped\n");
        skip();
    }
    assert_stat_matches(&e);
    env_check(&e);
    u = union_sorted(e.db, &nu);
    env_reopen(&e);
    assert_union_is(e.db, u, nu);
    free(u);
    assert_stat_matches(&e);
    env_close(&e);
}

/* digby_check follows the whole chain and marks every page of it: a
   freelist page (validly sealed) whose next names itself or a tree page,
   or a chain that lists its own first page as free, is reported.  The
   last page's next is past the stream's last word, which loading the
   freelist never reads.  (The chain is always the newest commit's: on a
   reopen, open's verification of that commit walks it the same way and
   sets the commit aside; tests/cli_test.sh covers that side.) */
static void test_check_reports_damaged_chain(void **state)
{
    env e;
    digby_check_report rep;
    uint8_t orig[512], buf[512];
    uint64_t pg;
    int how;
    (void)state;
    open_with_frees(&e, 'x', 'y');
    assert_true(e.db->freelist_pages.n > 0);
    for (how = 0; how < 3; how++) {
        /* how 0, 1: the chain's last page; 2: its first */
        pg = how < 2 ? e.db->freelist_pages.v[e.db->freelist_pages.n - 1] : e.db->meta.free_root;
        assert_int_equal(digby__page_read_raw(e.db, pg, orig), DIGBY_OK);
        memcpy(buf, orig, sizeof buf);
        if (how < 2) {
            assert_int_equal(digby__get64(orig + 24), 0);
            digby__put64(buf + 24, how == 0 ? pg : e.db->meta.main.root);
        } else {
            /* the first listed page: a free one (word 1) if nfree > 0,
               else the first pending one (words: 0, npending, txid, pgno) */
            size_t word = digby__get64(orig + DIGBY__FREELIST_HDR) ? 1 : 3;
            assert_true(digby__get16(orig + 2) > word);
            digby__put64(buf + DIGBY__FREELIST_HDR + 8 * word, pg);
        }
        digby__page_checksum(e.db, buf);
        assert_int_equal(e.db->vfs->write(e.db->file, pg * 512, buf, 512), DIGBY_OK);
        assert_int_equal(digby_check(e.db, &rep), DIGBY_CORRUPT);
        assert_true(rep.bad_pgno == pg || rep.bad_pgno == e.db->meta.main.root);
        assert_true(rep.message[0] != 0);
        assert_int_equal(e.db->vfs->write(e.db->file, pg * 512, orig, 512), DIGBY_OK);
        env_check(&e);
    }
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_blocks_reuse),
        cmocka_unit_test(test_oldest_snapshot_decides),
        cmocka_unit_test(test_newer_snapshot_does_not_block),
        cmocka_unit_test(test_abort_returns_pages),
        cmocka_unit_test(test_freelist_persists_across_reopen),
        cmocka_unit_test(test_empty_freelist),
        cmocka_unit_test(test_long_freelist),
        cmocka_unit_test(test_chain_with_empty_trailing_page),
        cmocka_unit_test(test_check_reports_damaged_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
