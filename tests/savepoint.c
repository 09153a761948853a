/* savepoint: digby_savepoint, digby_rollback_to and digby_release (issue #14
   item 4) in copy-on-write and in log mode.

   - the SQLite rules on a short script: a rollback keeps its savepoint and
     discards the newer ones, a release merges into the enclosing level,
     writes after a rollback commit, ids never come back;
   - every error code: NULL arguments, a read-only transaction, unknown and
     released ids, a streaming put or a record table in the way, the depth
     limit, out of memory while taking a savepoint and while copying a
     frozen page (the transaction goes on, or only abort works);
   - table handles and cursors across a rollback (void handles: BADTXN;
     cursors unpositioned);
   - log mode: a transaction that escalates to the tree after a savepoint
     (a large value), rolled back to before it, keeps the escalation's
     checkpoint of the other commits and loses only its own writes;
   - random puts, deletes, overflow values, large keys, streaming puts,
     table creates and drops under a stack of savepoints, against a
     reference with a copy per savepoint; 512-byte pages and a 16-page
     cache (hundreds of pages touched, checkpoints that spill their
     leaves); every commit compared whole with the reference, digby_check
     clean, and a reopen at the end; after every operation (white-box: this
     program has the implementation) the transaction's page lists hold no
     page twice and no reusable page was written to the file since the
     transaction began (a VFS notes the writes);
   - ascending puts (the append path) across a savepoint, and the append
     hint never on a leaf a savepoint froze (a put at the end of a middle
     leaf, then one past the tree's end, rolled back).

   Scaled by DIGBY_TEST_SCALE (the random runs' transactions). */
#define TEST_NAME "savepoint"
/* checkpoints (log mode's escalations among them) spill their leaves past
   2 dirty pages: an escalation after a savepoint runs such a checkpoint
   (spilling is a checkpoint's own transaction's; a user's never spills) */
#define DIGBY__CHECKPOINT_PAGES 2
#include "api_common.h"

/* ---- a reference: NT trees of NK keys ------------------------------------- */

#define NT 3                /* 0: the global tree, 1: "t1", 2: "t2" */
#define NK 400              /* key indices */
#define MAXSP 12            /* live savepoints the random runs keep */
static const char *const tnames[NT] = {"", "t1", "t2"};

typedef struct rent {
    uint32_t len, seed;
    int present;
} rent;

typedef struct rstate {
    int exists[NT];
    uint64_t count[NT];
    rent e[NT][NK];
} rstate;

/* Key i: "key" and five digits, or for every 37th a large key (past the
   handle's max_key: overflow pages) of deterministic bytes. */
static size_t key_of(digby_db *db, unsigned i, unsigned char *buf)
{
    size_t n, j;
    if (i % 37 != 5) return (size_t)sprintf((char *)buf, "key%05u", i);
    n = digby_max_key_bytes(db) + 20 + i;
    memcpy(buf, "key", 3);
    sprintf((char *)buf + 3, "%05u", i);
    for (j = 8; j < n; j++) buf[j] = (unsigned char)('a' + (i * 7 + j) % 26);
    return n;
}

/* ---- the fixture's database ----------------------------------------------- */

static void open_db_vfs(fixture *f, int log, uint32_t page_size, size_t cache_bytes,
                        const digby_vfs *vfs)
{
    digby_options o;
    memset(&o, 0, sizeof(o));
    o.vfs = vfs;
    o.page_size = page_size;
    o.cache_bytes = cache_bytes;
    o.flags = log ? DIGBY_OPEN_LOG : DIGBY_OPEN_NO_LOG;
    o.memtable_bytes = log ? (size_t)64 << 10 : 0;
    ASSERT_OK(digby_open(f->path, &o, &f->db));
}

static void open_db(fixture *f, int log, uint32_t page_size, size_t cache_bytes)
{
    open_db_vfs(f, log, page_size, cache_bytes, NULL);
}

/* txn's view of tree h (NULL: the global tree) is e[] with count
   entries: every key by get (value and absence), a scan both ways
   counting them, and digby_table_count. */
static void expect_tree(digby_db *db, digby_txn *txn, digby_table *h, const rent *e,
                        uint64_t count, unsigned char *kb)
{
    digby_cursor *c = NULL;
    uint64_t n = 0, cnt = (uint64_t)-1;
    unsigned i;
    int rc;
    for (i = 0; i < NK; i++) {
        const void *v = NULL;
        size_t vn = 0, kn = key_of(db, i, kb);
        rc = digby_txn_get(txn, h, kb, kn, &v, &vn, NULL);
        if (!e[i].present) {
            if (rc != DIGBY_NOTFOUND) fail_msg("key %u: %s, expected NOTFOUND", i, digby_strerror(rc));
            continue;
        }
        if (rc != DIGBY_OK) fail_msg("key %u: %s, expected its value", i, digby_strerror(rc));
        assert_int_equal(vn, e[i].len);
        if (!val_ok(e[i].seed, v, vn)) fail_msg("key %u: wrong value bytes", i);
    }
    ASSERT_OK(digby_table_count(txn, h, &cnt));
    assert_int_equal(cnt, count);
    ASSERT_OK(digby_cursor_open(txn, h, &c));
    for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) n++;
    ASSERT_RC(rc, DIGBY_NOTFOUND);
    assert_int_equal(n, count);
    n = 0;
    for (rc = digby_cursor_last(c); rc == DIGBY_OK; rc = digby_cursor_prev(c)) n++;
    ASSERT_RC(rc, DIGBY_NOTFOUND);
    assert_int_equal(n, count);
    digby_cursor_close(c);
}

/* txn's whole state is st (tables that do not exist: NOTFOUND). */
static void expect_state(digby_db *db, digby_txn *txn, const rstate *st, unsigned char *kb)
{
    int tr;
    for (tr = 0; tr < NT; tr++) {
        digby_table *h = NULL;
        if (tr) {
            int rc = digby_table_open(txn, tnames[tr], 0, &h);
            if (!st->exists[tr]) { ASSERT_RC(rc, DIGBY_NOTFOUND); continue; }
            ASSERT_OK(rc);
        }
        expect_tree(db, txn, h, st->e[tr], st->count[tr], kb);
    }
}

/* The committed state is st, in a new read-only transaction. */
static void expect_committed(digby_db *db, const rstate *st, unsigned char *kb)
{
    digby_txn *r = NULL;
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &r));
    expect_state(db, r, st, kb);
    digby_txn_abort(r);
}

/* ---- the SQLite rules on a script ----------------------------------------- */

static void put_s(digby_txn *w, digby_table *h, const char *k, const char *v)
{
    ASSERT_OK(digby_txn_put(w, h, k, strlen(k), v, strlen(v), 0));
}

static void want_s(digby_txn *w, digby_table *h, const char *k, const char *v)
{
    const void *got = NULL;
    size_t n = 0;
    int rc = digby_txn_get(w, h, k, strlen(k), &got, &n, NULL);
    if (!v) {
        if (rc != DIGBY_NOTFOUND) fail_msg("%s: %s, expected NOTFOUND", k, digby_strerror(rc));
        return;
    }
    if (rc != DIGBY_OK) fail_msg("%s: %s, expected \"%s\"", k, digby_strerror(rc), v);
    if (n != strlen(v) || memcmp(got, v, n) != 0)
        fail_msg("%s: \"%.*s\", expected \"%s\"", k, (int)n, (const char *)got, v);
}

static void run_rules(fixture *f, int log)
{
    digby_txn *w;
    uint32_t s1, s2, s3, s4;
    uint64_t entries = 0;
    open_db(f, log, 4096, 0);
    ASSERT_OK(digby_put(f->db, S("a"), S("0")));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    put_s(w, NULL, "a", "1");
    ASSERT_OK(digby_savepoint(w, &s1));
    assert_true(s1 != 0);
    put_s(w, NULL, "a", "2");
    put_s(w, NULL, "b", "2");
    ASSERT_OK(digby_savepoint(w, &s2));
    assert_true(s2 != 0 && s2 != s1);
    ASSERT_OK(digby_txn_delete(w, NULL, S("a")));
    put_s(w, NULL, "c", "3");
    want_s(w, NULL, "a", NULL);
    /* rollback to s2: a and b as at s2, no c; s2 stays */
    ASSERT_OK(digby_rollback_to(w, s2));
    want_s(w, NULL, "a", "2");
    want_s(w, NULL, "b", "2");
    want_s(w, NULL, "c", NULL);
    put_s(w, NULL, "d", "4");
    ASSERT_OK(digby_rollback_to(w, s2)); /* again: s2 is still there */
    want_s(w, NULL, "d", NULL);
    put_s(w, NULL, "d", "5");
    ASSERT_OK(digby_savepoint(w, &s3));
    put_s(w, NULL, "e", "6");
    /* releasing s2 merges s2 and s3 into s1's level */
    ASSERT_OK(digby_release(w, s2));
    ASSERT_RC(digby_rollback_to(w, s2), DIGBY_NOTFOUND);
    ASSERT_RC(digby_release(w, s3), DIGBY_NOTFOUND);
    want_s(w, NULL, "d", "5");
    want_s(w, NULL, "e", "6");
    ASSERT_OK(digby_table_count(w, NULL, &entries));
    assert_int_equal(entries, 4); /* a b d e */
    /* rollback to the outer one discards everything since, inner ones too */
    ASSERT_OK(digby_savepoint(w, &s4));
    put_s(w, NULL, "f", "7");
    ASSERT_OK(digby_rollback_to(w, s1));
    ASSERT_RC(digby_rollback_to(w, s4), DIGBY_NOTFOUND);
    want_s(w, NULL, "a", "1");
    want_s(w, NULL, "b", NULL);
    want_s(w, NULL, "d", NULL);
    want_s(w, NULL, "e", NULL);
    want_s(w, NULL, "f", NULL);
    /* go on writing after the rollback, then commit with s1 still live */
    put_s(w, NULL, "g", "8");
    ASSERT_OK(digby_txn_commit(w));
    expect_get(f->db, S("a"), S("1"));
    expect_get(f->db, S("g"), S("8"));
    expect_missing(f->db, S("b"));
    expect_missing(f->db, S("e"));
    /* a savepoint at the start, rolled back: the commit changes nothing */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_savepoint(w, &s1));
    put_s(w, NULL, "a", "9");
    ASSERT_OK(digby_rollback_to(w, s1));
    ASSERT_OK(digby_txn_commit(w));
    expect_get(f->db, S("a"), S("1"));
    /* abort with savepoints live */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_savepoint(w, &s1));
    put_s(w, NULL, "h", "x");
    ASSERT_OK(digby_savepoint(w, &s2));
    digby_txn_abort(w);
    expect_missing(f->db, S("h"));
}

static void test_rules_cow(void **state) { run_rules((fixture *)*state, 0); }
static void test_rules_log(void **state) { run_rules((fixture *)*state, 1); }

/* Ascending puts take the append path (straight into the rightmost leaf,
   kept by the transaction): after a savepoint that leaf is frozen, and
   after a rollback it may be gone. */
static void test_appends(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w;
    uint32_t s1;
    uint64_t n = 0;
    char k[16];
    unsigned i;
    open_db(f, 0, 4096, 0);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    for (i = 0; i < 100; i++) {
        sprintf(k, "k%05u", i);
        ASSERT_OK(digby_txn_put(w, NULL, k, 6, "v", 1, 0));
    }
    ASSERT_OK(digby_savepoint(w, &s1));
    for (; i < 150; i++) {
        sprintf(k, "k%05u", i);
        ASSERT_OK(digby_txn_put(w, NULL, k, 6, "w", 1, 0));
    }
    ASSERT_OK(digby_rollback_to(w, s1));
    ASSERT_OK(digby_table_count(w, NULL, &n));
    assert_int_equal(n, 100);
    want_s(w, NULL, "k00100", NULL);
    want_s(w, NULL, "k00099", "v");
    for (i = 100; i < 130; i++) {
        sprintf(k, "k%05u", i);
        ASSERT_OK(digby_txn_put(w, NULL, k, 6, "x", 1, 0));
    }
    ASSERT_OK(digby_rollback_to(w, s1));
    for (i = 100; i < 120; i++) {
        sprintf(k, "k%05u", i);
        ASSERT_OK(digby_txn_put(w, NULL, k, 6, "y", 1, 0));
    }
    ASSERT_OK(digby_txn_commit(w));
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &w));
    ASSERT_OK(digby_table_count(w, NULL, &n));
    assert_int_equal(n, 120);
    want_s(w, NULL, "k00119", "y");
    want_s(w, NULL, "k00120", NULL);
    digby_txn_abort(w);
}

/* The append hint after a savepoint (a bug the model test found): a put
   that lands at the end of a leaf in the middle of the tree set the hint
   to the tree's rightmost leaf, whose whole path was dirty -- but that
   leaf, written before the savepoint, is frozen; the next put past the
   tree's last key went into it in place and survived a rollback.  Every
   key in turn is deleted and put back (the last key of some leaf is one
   of them), then a key past the end is put and rolled back. */
static void test_append_hint_frozen(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w;
    uint32_t s1;
    uint64_t n = 0;
    char k[16], v[100];
    unsigned i;
    open_db(f, 0, 4096, 0);
    memset(v, 'v', sizeof(v));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    for (i = 0; i < 1000; i++) {
        sprintf(k, "k%05u", i);
        ASSERT_OK(digby_txn_put(w, NULL, k, 6, v, sizeof(v), 0));
    }
    ASSERT_OK(digby_txn_commit(w));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    /* the rightmost leaf and its path: this transaction's, dirty */
    ASSERT_OK(digby_txn_put(w, NULL, "k99999", 6, "e", 1, 0));
    for (i = 0; i < 1000; i++) {
        sprintf(k, "k%05u", i);
        ASSERT_OK(digby_savepoint(w, &s1));
        ASSERT_OK(digby_txn_delete(w, NULL, k, 6));
        ASSERT_OK(digby_txn_put(w, NULL, k, 6, "w", 1, 0));
        ASSERT_OK(digby_txn_put(w, NULL, "k99999z", 7, "z", 1, 0));
        ASSERT_OK(digby_rollback_to(w, s1));
        ASSERT_OK(digby_release(w, s1));
        {
            const void *got = NULL;
            size_t gn = 0;
            int rc = digby_txn_get(w, NULL, "k99999z", 7, &got, &gn, NULL);
            if (rc != DIGBY_NOTFOUND)
                fail_msg("after re-putting %s: k99999z %s after the rollback, expected NOTFOUND",
                         k, digby_strerror(rc));
        }
        want_s(w, NULL, "k99999", "e");
    }
    ASSERT_OK(digby_table_count(w, NULL, &n));
    assert_int_equal(n, 1001);
    ASSERT_OK(digby_txn_commit(w));
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &w));
    ASSERT_OK(digby_table_count(w, NULL, &n));
    assert_int_equal(n, 1001);
    want_s(w, NULL, "k99999z", NULL);
    {
        const void *got = NULL;
        size_t gn = 0;
        ASSERT_OK(digby_txn_get(w, NULL, "k00500", 6, &got, &gn, NULL));
        assert_int_equal(gn, sizeof(v));
        assert_memory_equal(got, v, sizeof(v));
    }
    digby_txn_abort(w);
}

/* ---- errors ---------------------------------------------------------------- */

static void test_errors(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w, *r;
    digby_blob *b = NULL;
    uint32_t id = 77, s1, s2;
    unsigned i;
    open_db(f, 0, 4096, 0);
    ASSERT_RC(digby_savepoint(NULL, &id), DIGBY_INVALID);
    assert_int_equal(id, 0);
    ASSERT_RC(digby_rollback_to(NULL, 1), DIGBY_INVALID);
    ASSERT_RC(digby_release(NULL, 1), DIGBY_INVALID);
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_RC(digby_savepoint(r, &id), DIGBY_READONLY);
    ASSERT_RC(digby_rollback_to(r, 1), DIGBY_READONLY);
    ASSERT_RC(digby_release(r, 1), DIGBY_READONLY);
    digby_txn_abort(r);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_RC(digby_savepoint(w, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_rollback_to(w, 0), DIGBY_NOTFOUND);
    ASSERT_RC(digby_rollback_to(w, 12345), DIGBY_NOTFOUND);
    ASSERT_RC(digby_release(w, 1), DIGBY_NOTFOUND);
    ASSERT_OK(digby_savepoint(w, &s1));
    /* a streaming put in the way */
    ASSERT_OK(digby_txn_put_begin(w, NULL, S("blob"), 10, 0, &b));
    ASSERT_RC(digby_savepoint(w, &id), DIGBY_BUSY);
    assert_int_equal(id, 0);
    ASSERT_RC(digby_rollback_to(w, s1), DIGBY_BUSY);
    ASSERT_OK(digby_blob_write(b, "0123456789", 10));
    ASSERT_OK(digby_blob_finish(b));
    ASSERT_OK(digby_savepoint(w, &s2));
    ASSERT_OK(digby_rollback_to(w, s1));
    want_s(w, NULL, "blob", NULL);
    ASSERT_RC(digby_release(w, s2), DIGBY_NOTFOUND);
    /* the depth limit; ids are never reused */
    ASSERT_OK(digby_release(w, s1));
    for (i = 0; i < DIGBY_MAX_SAVEPOINTS; i++) {
        ASSERT_OK(digby_savepoint(w, &id));
        assert_true(id != s1 && id != s2);
        if (i == 0) s1 = id;
    }
    ASSERT_RC(digby_savepoint(w, &id), DIGBY_FULL);
    assert_int_equal(id, 0);
    ASSERT_OK(digby_rollback_to(w, s1)); /* one left */
    ASSERT_OK(digby_savepoint(w, &id));
    put_s(w, NULL, "k", "v");
    ASSERT_OK(digby_txn_commit(w));
    expect_get(f->db, S("k"), S("v"));
}

/* Record tables are not covered: a savepoint with one open is BUSY, and so
   is opening one while a savepoint lives. */
static void test_record_tables_busy(void **state)
{
    fixture *f = (fixture *)*state;
    static const digby_column cols[] = {{"k", DIGBY_TUPLE_INT, 0}, {"v", DIGBY_TUPLE_STRING, 0}};
    static const digby_schema sch = {cols, 2, "k", NULL, 0};
    digby_txn *w;
    digby_rtable *rt = NULL;
    uint32_t id;
    open_db(f, 0, 4096, 0);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_savepoint(w, &id));
    ASSERT_RC(digby_rtable_open(w, "r", &sch, DIGBY_RTABLE_CREATE, &rt), DIGBY_BUSY);
    assert_null(rt);
    ASSERT_OK(digby_release(w, id));
    ASSERT_OK(digby_rtable_open(w, "r", &sch, DIGBY_RTABLE_CREATE, &rt));
    ASSERT_RC(digby_savepoint(w, &id), DIGBY_BUSY);
    assert_int_equal(id, 0);
    ASSERT_OK(digby_txn_commit(w));
}

/* ---- tables and cursors across a rollback ------------------------------------ */

static void run_tables_cursors(fixture *f, int log)
{
    digby_txn *w;
    digby_table *t1 = NULL, *t2 = NULL, *t3 = NULL, *t1b = NULL;
    digby_cursor *c0 = NULL, *c3 = NULL;
    const void *k, *v;
    size_t kn, vn;
    uint32_t s1;
    open_db(f, log, 4096, 0);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "t1", DIGBY_TABLE_CREATE, &t1));
    ASSERT_OK(digby_table_open(w, "t2", DIGBY_TABLE_CREATE, &t2));
    put_s(w, t1, "x", "1");
    put_s(w, t2, "y", "2");
    put_s(w, NULL, "m", "0");
    put_s(w, NULL, "n", "0");
    ASSERT_OK(digby_txn_commit(w));

    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "t1", 0, &t1));
    ASSERT_OK(digby_cursor_open(w, NULL, &c0));
    ASSERT_OK(digby_cursor_seek(c0, S("n"), DIGBY_SEEK_EQ));
    ASSERT_OK(digby_savepoint(w, &s1));
    /* after it: t1 dropped, t3 created, t2 opened, a cursor on t3 */
    ASSERT_OK(digby_table_drop(w, "t1"));
    ASSERT_RC(digby_txn_put(w, t1, "z", 1, "z", 1, 0), DIGBY_BADTXN);
    ASSERT_OK(digby_table_open(w, "t3", DIGBY_TABLE_CREATE, &t3));
    put_s(w, t3, "w", "3");
    ASSERT_OK(digby_table_open(w, "t2", 0, &t2));
    put_s(w, t2, "y", "22");
    ASSERT_OK(digby_cursor_open(w, t3, &c3));
    ASSERT_OK(digby_cursor_first(c3));
    put_s(w, NULL, "a", "new");
    ASSERT_OK(digby_cursor_get(c0, &k, &kn, &v, &vn, NULL));
    assert_int_equal(kn, 1);
    assert_memory_equal(k, "n", 1);

    ASSERT_OK(digby_rollback_to(w, s1));
    /* t1 is back under its old handle; t3 and the t2 handle opened since are void */
    want_s(w, t1, "x", "1");
    ASSERT_RC(digby_txn_put(w, t3, "q", 1, "q", 1, 0), DIGBY_BADTXN);
    ASSERT_RC(digby_txn_put(w, t2, "q", 1, "q", 1, 0), DIGBY_BADTXN);
    ASSERT_RC(digby_table_open(w, "t3", 0, &t3), DIGBY_NOTFOUND);
    ASSERT_OK(digby_table_open(w, "t2", 0, &t2));
    want_s(w, t2, "y", "2");
    ASSERT_OK(digby_table_open(w, "t1", 0, &t1b));
    assert_ptr_equal(t1b, t1);
    /* cursors: unpositioned; on a void handle, BADTXN */
    ASSERT_RC(digby_cursor_get(c0, &k, &kn, &v, &vn, NULL), DIGBY_NOTFOUND);
    ASSERT_OK(digby_cursor_next(c0)); /* from the first entry */
    ASSERT_OK(digby_cursor_get(c0, &k, &kn, &v, &vn, NULL));
    assert_int_equal(kn, 1);
    assert_memory_equal(k, "m", 1);
    ASSERT_OK(digby_cursor_next(c0));
    ASSERT_OK(digby_cursor_get(c0, &k, &kn, NULL, NULL, NULL));
    assert_memory_equal(k, "n", 1);
    ASSERT_RC(digby_cursor_next(c0), DIGBY_NOTFOUND);
    ASSERT_RC(digby_cursor_first(c3), DIGBY_BADTXN);
    digby_cursor_close(c3);
    /* the catalog as at the savepoint */
    put_s(w, t1, "x2", "2");
    ASSERT_OK(digby_txn_commit(w));
    {
        digby_txn *r;
        digby_table *h;
        ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
        ASSERT_RC(digby_table_open(r, "t3", 0, &h), DIGBY_NOTFOUND);
        ASSERT_OK(digby_table_open(r, "t1", 0, &h));
        want_s(r, h, "x", "1");
        want_s(r, h, "x2", "2");
        ASSERT_OK(digby_table_open(r, "t2", 0, &h));
        want_s(r, h, "y", "2");
        want_s(r, NULL, "a", NULL);
        digby_txn_abort(r);
    }
}

static void test_tables_cursors_cow(void **state) { run_tables_cursors((fixture *)*state, 0); }
static void test_tables_cursors_log(void **state) { run_tables_cursors((fixture *)*state, 1); }

/* ---- log mode: escalation after a savepoint ------------------------------------ */

static void test_log_escalation(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w;
    digby_stats st0, st1;
    unsigned char *big = make_val(9, 50000);
    uint32_t s1, s2;
    open_db(f, 1, 4096, 0);
    /* other transactions' commits, in the memtable */
    ASSERT_OK(digby_put(f->db, S("other1"), S("o1")));
    ASSERT_OK(digby_put(f->db, S("a"), S("committed")));
    get_stat(f->db, &st0);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    put_s(w, NULL, "a", "1");
    put_s(w, NULL, "b", "1");
    ASSERT_OK(digby_savepoint(w, &s1));
    put_s(w, NULL, "a", "2");       /* a node frozen by s1, replaced */
    ASSERT_OK(digby_txn_delete(w, NULL, S("b")));
    put_s(w, NULL, "c", "2");
    ASSERT_OK(digby_savepoint(w, &s2));
    put_s(w, NULL, "c", "3");
    put_s(w, NULL, "d", "3");
    /* a value too large for the memtable: the transaction escalates */
    ASSERT_OK(digby_txn_put(w, NULL, S("big"), big, 50000, 0));
    get_stat(f->db, &st1);
    assert_true(st1.checkpoints > st0.checkpoints);
    want_s(w, NULL, "c", "3");
    put_s(w, NULL, "e", "4");
    ASSERT_OK(digby_rollback_to(w, s2));
    want_s(w, NULL, "a", "2");
    want_s(w, NULL, "b", NULL);
    want_s(w, NULL, "c", "2");
    want_s(w, NULL, "d", NULL);
    want_s(w, NULL, "e", NULL);
    want_s(w, NULL, "big", NULL);
    want_s(w, NULL, "other1", "o1");
    ASSERT_OK(digby_rollback_to(w, s1));
    want_s(w, NULL, "a", "1");
    want_s(w, NULL, "b", "1");
    want_s(w, NULL, "c", NULL);
    want_s(w, NULL, "other1", "o1");
    put_s(w, NULL, "f", "5");
    ASSERT_OK(digby_txn_commit(w));
    expect_get(f->db, S("a"), S("1"));
    expect_get(f->db, S("b"), S("1"));
    expect_get(f->db, S("f"), S("5"));
    expect_get(f->db, S("other1"), S("o1"));
    expect_missing(f->db, S("c"));
    expect_missing(f->db, S("big"));
    reopen(f);
    expect_get(f->db, S("a"), S("1"));
    expect_get(f->db, S("other1"), S("o1"));
    expect_missing(f->db, S("big"));
    free(big);
}

/* ---- out of memory ----------------------------------------------------------------- */

/* The n-th allocation after the transaction's first writes fails, for every
   n until none does: a savepoint that fails leaves the transaction as it
   was (it goes on and commits); a write that fails poisons it (commit:
   POISONED, nothing of it committed); a rollback never fails. */
static void test_oom(void **state)
{
    fixture *f = (fixture *)*state;
    long n;
    int done = 0, log;
    for (log = 0; log < 2; log++)
    for (done = 0, n = 1; !done && n < 5000; n++) {
        test_alloc ta;
        digby_options o;
        digby_txn *w;
        uint32_t id = 0;
        unsigned i;
        int rc = DIGBY_OK, poisoned = 0;
        char k[16];
        memset(&o, 0, sizeof(o));
        o.page_size = 512;
        o.flags = log ? DIGBY_OPEN_LOG : DIGBY_OPEN_NO_LOG;
        o.allocator = test_alloc_init(&ta, 0, 0);
        remove(f->path);
        ASSERT_OK(digby_open(f->path, &o, &f->db));
        ASSERT_OK(digby_txn_begin(f->db, 0, &w));
        for (i = 0; i < 60; i++) {
            sprintf(k, "k%03u", i);
            ASSERT_OK(digby_txn_put(w, NULL, k, 4, "v0", 2, 0));
        }
        ASSERT_OK(digby_txn_commit(w));
        ASSERT_OK(digby_txn_begin(f->db, 0, &w));
        for (i = 0; i < 60; i += 2) {
            sprintf(k, "k%03u", i);
            ASSERT_OK(digby_txn_put(w, NULL, k, 4, "v1", 2, 0));
        }
        ta.fail_at = ta.calls + n;
        rc = digby_savepoint(w, &id);
        if (rc == DIGBY_NOMEM) {
            assert_int_equal(id, 0);
            ta.fail_at = 0;
            rc = digby_savepoint(w, &id); /* the transaction goes on */
            ASSERT_OK(rc);
        } else {
            ASSERT_OK(rc);
        }
        for (i = 0; i < 60 && rc == DIGBY_OK; i++) {
            sprintf(k, "k%03u", i);
            rc = digby_txn_put(w, NULL, k, 4, "v2-longer-value", 15, 0);
        }
        if (rc == DIGBY_OK) {
            ta.fail_at = 0;
            ASSERT_OK(digby_rollback_to(w, id));
            want_s(w, NULL, "k000", "v1");
            want_s(w, NULL, "k001", "v0");
        } else {
            ASSERT_RC(rc, DIGBY_NOMEM);
            poisoned = 1;
            ta.fail_at = 0;
            ASSERT_RC(digby_rollback_to(w, id), DIGBY_POISONED);
            ASSERT_RC(digby_release(w, id), DIGBY_POISONED);
            ASSERT_RC(digby_savepoint(w, &id), DIGBY_POISONED);
            assert_int_equal(id, 0);
        }
        done = ta.failed == 0;
        rc = digby_txn_commit(w);
        ASSERT_RC(rc, poisoned ? DIGBY_POISONED : DIGBY_OK);
        expect_get(f->db, S("k000"), poisoned ? "v0" : "v1", 2);
        expect_get(f->db, S("k001"), S("v0"));
        check_thorough(f->db);
        ASSERT_OK(digby_close(f->db));
        f->db = NULL;
        assert_int_equal(ta.live, 0);
    }
    assert_true(done);
}

/* ---- white-box: the write transaction's page lists ------------------------------ */

/* (This program has the implementation: it may look inside.)  Between
   calls, a copy-on-write transaction's own_free, freed and sp_deferred
   hold no page twice and share none; no page of own_free or freed has a
   dirty buffer (deferred ones keep theirs); and no page of own_free was
   written to the file in this transaction (DIGBY__SP_WRITTEN): a page is
   never written twice before the commit's sync, rollbacks or not. */
/* A VFS that notes the pages written through it (test-only state): the
   POSIX VFS with its write wrapped. */
static digby_vfs g_rec_vfs;
static unsigned char *g_written;     /* per page: written since the mark */
static size_t g_written_cap;
static uint32_t g_rec_page = 512;

static int rec_write(digby_file *f, uint64_t offset, const void *buf, size_t len)
{
    uint64_t p, last = (offset + len - 1) / g_rec_page;
    for (p = offset / g_rec_page; len && p <= last; p++) {
        if (p >= g_written_cap) {
            size_t ncap = (size_t)p * 2 + 64;
            g_written = (unsigned char *)realloc(g_written, ncap);
            assert_non_null(g_written);
            memset(g_written + g_written_cap, 0, ncap - g_written_cap);
            g_written_cap = ncap;
        }
        g_written[p] = 1;
    }
    return digby_vfs_posix()->write(f, offset, buf, len);
}

static void rec_mark(void)
{
    if (g_written) memset(g_written, 0, g_written_cap);
}

static int rec_seen(uint64_t p) { return p < g_written_cap && g_written[p]; }

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void lists_ok(digby_txn *w)
{
    size_t n = w->own_free.n + w->freed.n + w->sp_deferred.n, i, m = 0;
    uint64_t *v = (uint64_t *)xmalloc((n + 1) * sizeof(uint64_t));
    for (i = 0; i < w->own_free.n; i++) {
        uint64_t p = w->own_free.v[i];
        v[m++] = p;
        if (digby__dirty_get(w, p)) fail_msg("own_free page %llu is dirty", (unsigned long long)p);
        if (p >= w->meta.page_count) fail_msg("own_free page %llu past the end", (unsigned long long)p);
        if ((digby__sp_lvl_get(w, p) & DIGBY__SP_WRITTEN) || (!w->db->log.on && rec_seen(p)))
            fail_msg("own_free page %llu was written to the file", (unsigned long long)p);
    }
    for (i = 0; i < w->freed.n; i++) {
        v[m++] = w->freed.v[i];
        if (digby__dirty_get(w, w->freed.v[i]))
            fail_msg("freed page %llu is dirty", (unsigned long long)w->freed.v[i]);
    }
    for (i = 0; i < w->sp_deferred.n; i++) v[m++] = w->sp_deferred.v[i];
    qsort(v, m, sizeof(uint64_t), u64_cmp);
    for (i = 1; i < m; i++)
        if (v[i] == v[i - 1]) fail_msg("page %llu listed twice", (unsigned long long)v[i]);
    free(v);
}

/* ---- random operations under a stack of savepoints ----------------------------- */

typedef struct rnd_t {
    fixture *f;
    uint64_t rng;
    int log;
    digby_txn *w;
    digby_table *h[NT];         /* open handles (NULL: none yet) */
    rstate cur, com;            /* the transaction's state, the committed one */
    rstate *sp;                 /* MAXSP copies of cur */
    digby_table *sp_h[MAXSP][NT];
    uint32_t sp_id[MAXSP];
    int nsp;
    unsigned char *kb;          /* a key buffer */
    uint64_t n_sp, n_rollback, n_release, n_blob, n_esc;
} rnd_t;

static uint64_t rnd_next(rnd_t *r)
{
    uint64_t z = (r->rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static unsigned rnd_below(rnd_t *r, unsigned n) { return (unsigned)(rnd_next(r) % n); }

static digby_table *rnd_h(rnd_t *r, int tr)
{
    if (tr == 0) return NULL;
    if (!r->h[tr]) ASSERT_OK(digby_table_open(r->w, tnames[tr], 0, &r->h[tr]));
    return r->h[tr];
}

static uint32_t rnd_len(rnd_t *r)
{
    unsigned x = rnd_below(r, 100);
    if (x < 60) return rnd_below(r, 40);
    /* log mode: fewer overflow values, so that a transaction writes to the
       memtable longer and escalates with more savepoints behind it */
    if (x < (r->log ? 97u : 85u)) return 100 + rnd_below(r, 400);
    return 1000 + rnd_below(r, 6000); /* overflow pages */
}

static void rnd_put(rnd_t *r, int tr, unsigned i, uint32_t len, uint32_t seed)
{
    rent *e = &r->cur.e[tr][i];
    if (!e->present) r->cur.count[tr]++;
    e->present = 1;
    e->len = len;
    e->seed = seed;
}

static void rnd_savepoint(rnd_t *r)
{
    if (r->nsp == MAXSP) return;
    ASSERT_OK(digby_savepoint(r->w, &r->sp_id[r->nsp]));
    r->sp[r->nsp] = r->cur;
    memcpy(r->sp_h[r->nsp], r->h, sizeof(r->h));
    r->nsp++;
    r->n_sp++;
}

/* One operation of the write transaction. */
static void rnd_op(rnd_t *r)
{
    digby_db *db = r->f->db;
    unsigned x = rnd_below(r, 1000), i = rnd_below(r, NK);
    int tr = (int)rnd_below(r, NT), k;
    size_t kn = key_of(db, i, r->kb);
    if (tr && !r->cur.exists[tr]) {
        ASSERT_OK(digby_table_open(r->w, tnames[tr], DIGBY_TABLE_CREATE, &r->h[tr]));
        r->cur.exists[tr] = 1;
        return;
    }
    if (x < 550) { /* put */
        uint32_t len = rnd_len(r), seed = (uint32_t)rnd_next(r);
        unsigned char *v = make_val(seed, len);
        ASSERT_OK(digby_txn_put(r->w, rnd_h(r, tr), r->kb, kn, v, len, 0));
        free(v);
        rnd_put(r, tr, i, len, seed);
    } else if (x < 750) { /* delete */
        rent *e = &r->cur.e[tr][i];
        ASSERT_RC(digby_txn_delete(r->w, rnd_h(r, tr), r->kb, kn),
                  e->present ? DIGBY_OK : DIGBY_NOTFOUND);
        if (e->present) r->cur.count[tr]--;
        e->present = 0;
    } else if (x < 780 && (!r->log || rnd_below(r, 4) == 0)) { /* a streaming put */
        uint32_t len = 1 + rnd_len(r), seed = (uint32_t)rnd_next(r), done = 0;
        unsigned char *v = make_val(seed, len);
        digby_blob *b = NULL;
        ASSERT_OK(digby_txn_put_begin(r->w, rnd_h(r, tr), r->kb, kn, len, 0, &b));
        while (done < len) {
            uint32_t piece = 1 + rnd_below(r, 3000);
            if (piece > len - done) piece = len - done;
            ASSERT_OK(digby_blob_write(b, v + done, piece));
            done += piece;
        }
        ASSERT_OK(digby_blob_finish(b));
        free(v);
        rnd_put(r, tr, i, len, seed);
        r->n_blob++;
    } else if (x < 790 && tr) { /* drop */
        ASSERT_OK(digby_table_drop(r->w, tnames[tr]));
        memset(r->cur.e[tr], 0, sizeof(r->cur.e[tr]));
        r->cur.count[tr] = 0;
        r->cur.exists[tr] = 0;
        r->h[tr] = NULL;
    } else if (x < 880) { /* savepoint */
        rnd_savepoint(r);
    } else if (x < 940) { /* rollback */
        if (!r->nsp) return;
        k = rnd_below(r, 2) ? r->nsp - 1 : (int)rnd_below(r, (unsigned)r->nsp);
        ASSERT_OK(digby_rollback_to(r->w, r->sp_id[k]));
        r->cur = r->sp[k];
        memcpy(r->h, r->sp_h[k], sizeof(r->h));
        r->nsp = k + 1;
        r->n_rollback++;
        if (rnd_below(r, 4) == 0) expect_state(db, r->w, &r->cur, r->kb);
        /* expect_state opened handles of its own: the same ones */
    } else if (x < 980) { /* release */
        if (!r->nsp) return;
        k = (int)rnd_below(r, (unsigned)r->nsp);
        ASSERT_OK(digby_release(r->w, r->sp_id[k]));
        r->nsp = k;
        r->n_release++;
    } else {
        expect_state(db, r->w, &r->cur, r->kb);
    }
}

static void run_random(fixture *f, int log, uint64_t seed)
{
    rnd_t *r = (rnd_t *)calloc(1, sizeof(*r));
    long txns = (long)(40 * test_scale()) + 4, t;
    assert_non_null(r);
    r->sp = (rstate *)calloc(MAXSP, sizeof(rstate));
    assert_non_null(r->sp);
    r->f = f;
    r->rng = seed;
    r->log = log;
    g_rec_vfs = *digby_vfs_posix();
    g_rec_vfs.write = rec_write;
    g_rec_page = 512;
    open_db_vfs(f, log, 512, 16 * 512, &g_rec_vfs);
    r->kb = (unsigned char *)xmalloc(digby_max_key_bytes(f->db) + NK + 64);
    r->cur.exists[0] = 1;
    r->com = r->cur;
    for (t = 0; t < txns; t++) {
        unsigned n = 20 + rnd_below(r, 300), j;
        int commit = rnd_below(r, 10) < 8;
        if (log) {
            /* other commits in the memtable, for the escalation's
               checkpoint to merge (and spill) */
            for (j = 0; j < 30; j++) {
                unsigned i = rnd_below(r, NK);
                uint32_t len = rnd_below(r, 40), vs = (uint32_t)rnd_next(r);
                unsigned char *v = make_val(vs, len);
                size_t kn = key_of(f->db, i, r->kb);
                if (kn > digby_max_key_bytes(f->db)) { free(v); continue; }
                ASSERT_OK(digby_put(f->db, r->kb, kn, v, len));
                free(v);
                rnd_put(r, 0, i, len, vs);
            }
            r->com = r->cur;
        }
        ASSERT_OK(digby_txn_begin(f->db, 0, &r->w));
        rec_mark();
        memset(r->h, 0, sizeof(r->h));
        r->nsp = 0;
        /* log mode: often a savepoint first, while the transaction is in
           the memtable (most escalate later) */
        if (log && rnd_below(r, 2)) rnd_savepoint(r);
        for (j = 0; j < n; j++) {
            int had = r->nsp, logged = r->w->logged;
            rnd_op(r);
            /* (white-box) the transaction went to the tree with savepoints live */
            if (had && logged && !r->w->logged) r->n_esc++;
            if (!r->w->logged) lists_ok(r->w);
        }
        if (rnd_below(r, 3) == 0) expect_state(f->db, r->w, &r->cur, r->kb);
        if (commit) {
            ASSERT_OK(digby_txn_commit(r->w));
            r->com = r->cur;
        } else {
            digby_txn_abort(r->w);
            r->cur = r->com;
        }
        r->w = NULL;
        expect_committed(f->db, &r->com, r->kb);
        if (t % 8 == 7) check_thorough(f->db);
    }
    if (log) {
        digby_stats st;
        get_stat(f->db, &st);
        assert_true(st.checkpoint_spilled > 0);
    }
    reopen(f);
    expect_committed(f->db, &r->com, r->kb);
    print_message("savepoint %s: %ld txns, %llu savepoints, %llu rollbacks, %llu releases, "
                  "%llu streaming puts, %llu escalations with savepoints live\n",
                  log ? "log" : "cow", txns, (unsigned long long)r->n_sp,
                  (unsigned long long)r->n_rollback, (unsigned long long)r->n_release,
                  (unsigned long long)r->n_blob, (unsigned long long)r->n_esc);
    assert_true(r->n_rollback > 0 && r->n_release > 0);
    if (log) assert_true(r->n_esc > 0);
    free(r->kb);
    free(r->sp);
    free(r);
    free(g_written);
    g_written = NULL;
    g_written_cap = 0;
}

static void test_random_cow(void **state) { run_random((fixture *)*state, 0, 0x5a17e0001ULL); }
static void test_random_log(void **state) { run_random((fixture *)*state, 1, 0x5a17e0002ULL); }

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_rules_cow),
        T(test_rules_log),
        T(test_appends),
        T(test_append_hint_frozen),
        T(test_errors),
        T(test_record_tables_busy),
        T(test_tables_cursors_cow),
        T(test_tables_cursors_log),
        T(test_log_escalation),
        T(test_oom),
        T(test_random_cow),
        T(test_random_log),
    };
    if (getenv("DIGBY_TEST_FILTER")) cmocka_set_test_filter(getenv("DIGBY_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
