/* backup: digby_backup, plain and compacting: the copy opens, passes
   digby_check and holds exactly the snapshot's entries with their versions
   (global tree, tables, overflow values, large keys, deleted keys), at
   page sizes 512, 4096 and 65536, encrypted, in log mode with entries not
   yet checkpointed, and while a writer thread commits; errors (NULL,
   flags, an existing file, a VFS without rename) and an injected failure
   at every call the copy makes leave no file behind.  Sizes scale with
   DIGBY_TEST_SCALE. */
#define TEST_NAME "backup"
/* a tiny spill budget, so that compacting copies spill leaves and read
   them back (74_backup.c) */
#define DIGBY__BACKUP_PAGES 16
#include "api_common.h" /* digby.h with the implementation, harness.h, values */

#include <pthread.h>

#include "fault_vfs.h" /* the power-cut VFS of tests/crash.c */
#include "seen_errors.h" /* the results the sweeps see, for doc_errors.py */

static void fv_out_of_memory(const char *what)
{
    print_error("backup: out of memory (%s)\n", what);
    fail();
}

/* ---- a database with every kind of entry ----------------------------------- */

/* n entries in the global tree and in tables "alpha" and "beta", an empty
   table "empty": inline values, overflow values (some compressed), large
   keys; then every fifth key deleted and every seventh rewritten, so the
   file has free pages and several versions. */
static void populate(digby_db *db, unsigned n)
{
    static const char *const names[] = {"alpha", "beta"};
    size_t mk = digby_max_key_bytes(db), ps;
    digby_txn *txn;
    digby_table *tab;
    digby_stats st;
    unsigned i, t;
    char key[32];
    unsigned char *big, *lk;
    get_stat(db, &st);
    ps = st.page_size;
    big = make_val(7, 3 * ps + 100);
    lk = make_val(9, mk + 300);
    ASSERT_OK(digby_txn_begin(db, 0, &txn));
    ASSERT_OK(digby_table_open(txn, "empty", DIGBY_TABLE_CREATE, &tab));
    for (t = 0; t < 2; t++) ASSERT_OK(digby_table_open(txn, names[t], DIGBY_TABLE_CREATE, &tab));
    ASSERT_OK(digby_txn_commit(txn));
    for (i = 0; i < n; i += 50) {
        unsigned j;
        ASSERT_OK(digby_txn_begin(db, 0, &txn));
        for (j = i; j < i + 50 && j < n; j++) {
            size_t kn = num_key(key, j), vn = (j * 37u) % 300;
            digby_table *tt = NULL;
            if (j % 3) ASSERT_OK(digby_table_open(txn, names[j % 3 - 1], 0, &tt));
            if (j % 41 == 0) {
                /* an overflow value, compressed on every other one (a
                   compressible one: lz4 is kept only when it saves pages) */
                int comp = j % 82 == 0;
                unsigned char *v = comp ? (unsigned char *)calloc(1, 3 * ps + 100) : big;
                assert_non_null(v);
                v[0] = (unsigned char)j;
                ASSERT_OK(digby_txn_put(txn, tt, key, kn, v, 3 * ps + 100 - j % 5,
                                        comp ? DIGBY_PUT_COMPRESS : DIGBY_PUT_NO_COMPRESS));
                if (comp) free(v);
            } else if (j % 53 == 0) {
                /* a large key */
                memcpy(lk, key, kn);
                lk[mk + 299] = (unsigned char)j;
                ASSERT_OK(digby_txn_put(txn, tt, lk, mk + 300, key, kn, 0));
            } else {
                unsigned char *v = make_val(j, vn);
                ASSERT_OK(digby_txn_put(txn, tt, key, kn, v, vn, 0));
                free(v);
            }
        }
        ASSERT_OK(digby_txn_commit(txn));
    }
    ASSERT_OK(digby_txn_begin(db, 0, &txn));
    for (i = 0; i < n; i++) {
        size_t kn = num_key(key, i);
        digby_table *tt = NULL;
        if (i % 3) ASSERT_OK(digby_table_open(txn, names[i % 3 - 1], 0, &tt));
        if (i % 5 == 0 && i % 53) ASSERT_OK(digby_txn_delete(txn, tt, key, kn));
        else if (i % 7 == 0 && i % 41 && i % 53) ASSERT_OK(digby_txn_put(txn, tt, key, kn, S("re"), 0));
    }
    ASSERT_OK(digby_txn_commit(txn));
    free(big);
    free(lk);
}

/* ---- what a snapshot holds, as bytes ---------------------------------------- */

typedef struct dump {
    unsigned char *p;
    size_t n, cap;
} dump;

static void dump_add(dump *d, const void *p, size_t n)
{
    if (d->n + n > d->cap) {
        size_t cap = d->cap ? d->cap : 4096;
        while (cap < d->n + n) cap *= 2;
        d->p = (unsigned char *)realloc(d->p, cap);
        assert_non_null(d->p);
        d->cap = cap;
    }
    if (n) memcpy(d->p + d->n, p, n);
    d->n += n;
}

static void dump_u64(dump *d, uint64_t v) { dump_add(d, &v, sizeof(v)); }

/* Every entry of one tree (table NULL: the global tree) with its version;
   the key `skip` (NULL: none) left out. */
static void dump_tree(dump *d, digby_txn *txn, digby_table *t, const char *skip)
{
    digby_cursor *c;
    const void *k, *v;
    size_t kn, vn;
    uint64_t ver, count = 0, skipped = 0, entries;
    int rc;
    ASSERT_OK(digby_cursor_open(txn, t, &c));
    for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
        ASSERT_OK(digby_cursor_get(c, &k, &kn, &v, &vn, &ver));
        if (skip && kn == strlen(skip) && memcmp(k, skip, kn) == 0) {
            skipped++;
            continue;
        }
        count++;
        dump_u64(d, kn);
        dump_add(d, k, kn);
        dump_u64(d, vn);
        dump_add(d, v, vn);
        dump_u64(d, ver);
    }
    ASSERT_RC(rc, DIGBY_NOTFOUND);
    digby_cursor_close(c);
    ASSERT_OK(digby_table_count(txn, t, &entries));
    assert_int_equal(entries, count + skipped);
    dump_u64(d, count);
}

typedef struct dump_ctx {
    dump *d;
    digby_txn *txn;
    const char *skip_table;
} dump_ctx;

static int dump_table(void *ctx, const char *name, size_t name_bytes, uint64_t entries)
{
    dump_ctx *x = (dump_ctx *)ctx;
    char buf[256];
    digby_table *t;
    (void)entries;
    memcpy(buf, name, name_bytes);
    buf[name_bytes] = 0;
    if (x->skip_table && strcmp(buf, x->skip_table) == 0) return 0;
    dump_u64(x->d, name_bytes);
    dump_add(x->d, name, name_bytes);
    ASSERT_OK(digby_table_open(x->txn, buf, 0, &t));
    dump_tree(x->d, x->txn, t, NULL);
    return 0;
}

/* The whole snapshot of txn: the global tree (without key skip_key), then
   every table but skip_table, by name. */
static void dump_txn(dump *d, digby_txn *txn, const char *skip_key, const char *skip_table)
{
    dump_ctx x;
    x.d = d;
    x.txn = txn;
    x.skip_table = skip_table;
    dump_tree(d, txn, NULL, skip_key);
    ASSERT_OK(digby_table_list(txn, dump_table, &x));
}

static void dump_db(dump *d, digby_db *db)
{
    digby_txn *r;
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &r));
    dump_txn(d, r, NULL, NULL);
    digby_txn_abort(r);
}

static void assert_same(const dump *a, const dump *b)
{
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->p, b->p, a->n);
}

/* ---- the copy ------------------------------------------------------------------- */

static unsigned scaled(unsigned n)
{
    double v = n * test_scale_capped(20);
    return v < 100 ? 100 : (unsigned)v;
}

/* Open the copy at path (with opts), check it thoroughly, compare it with
   want, and give its stats. */
static void verify_copy(const char *path, const digby_options *opts, const dump *want,
                        digby_stats *st)
{
    digby_db *c;
    dump got;
    memset(&got, 0, sizeof(got));
    ASSERT_OK(digby_open(path, opts, &c));
    check_thorough(c);
    dump_db(&got, c);
    assert_same(want, &got);
    get_stat(c, st);
    assert_int_equal(st->discarded_txid, 0);
    ASSERT_OK(digby_close(c));
    free(got.p);
}

/* Back db up both ways to path.plain and path.compact and verify both:
   same entries and versions, the newest commit the snapshot's, the
   compact copy without free pages and no larger than the plain one. */
static void backup_both(fixture *f, const digby_options *opts, digby_stats *plain,
                        digby_stats *compact)
{
    char p1[600], p2[600];
    dump want;
    digby_txn *r;
    uint64_t snap;
    memset(&want, 0, sizeof(want));
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    dump_txn(&want, r, NULL, NULL);
    snap = digby_txn_id(r);
    digby_txn_abort(r);
    snprintf(p1, sizeof(p1), "%s.plain", f->path);
    snprintf(p2, sizeof(p2), "%s.compact", f->path);
    unlink(p1);
    unlink(p2);
    ASSERT_OK(digby_backup(f->db, p1, NULL, 0));
    ASSERT_OK(digby_backup(f->db, p2, NULL, DIGBY_BACKUP_COMPACT));
    verify_copy(p1, opts, &want, plain);
    verify_copy(p2, opts, &want, compact);
    /* (log mode: opening the copy may commit a checkpoint of its own) */
    assert_true(SNAP_ID_OK(plain->last_txid, snap));
    assert_true(SNAP_ID_OK(compact->last_txid, snap));
    assert_int_equal(compact->free_pages, 0);
    assert_true(compact->page_count <= plain->page_count);
    unlink(p1);
    unlink(p2);
    free(want.p);
}

static void run_kinds(fixture *f, uint32_t page_size, unsigned n)
{
    digby_stats src, plain, compact;
    open_with(f, page_size, DIGBY_OPEN_NO_SYNC);
    populate(f->db, scaled(n));
    /* log mode: the tree alone, without the memtable's deletes, holds
       overflow values those deleted */
    ASSERT_OK(digby_checkpoint(f->db));
    get_stat(f->db, &src);
    assert_true(src.free_pages > 0); /* fragmented: deletes freed pages */
    backup_both(f, NULL, &plain, &compact);
    if (!TEST_LOG_MODE) assert_int_equal(plain.page_count, src.page_count);
    assert_true(compact.page_count < src.page_count);
    assert_true(compact.leaf_pages <= src.leaf_pages);
    assert_int_equal(compact.entries, src.entries);
    assert_int_equal(compact.table_entries, src.table_entries);
    assert_int_equal(compact.tables, src.tables);
    /* every item written again as it was: compressed or not */
    assert_int_equal(compact.overflow_pages, src.overflow_pages);
}

static void test_kinds_4096(void **state) { run_kinds((fixture *)*state, 4096, 1500); }
static void test_kinds_512(void **state) { run_kinds((fixture *)*state, 512, 600); }
static void test_kinds_65536(void **state) { run_kinds((fixture *)*state, 65536, 400); }

static void test_empty(void **state)
{
    fixture *f = (fixture *)*state;
    digby_stats plain, compact;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    backup_both(f, NULL, &plain, &compact);
    assert_int_equal(compact.entries, 0);
    if (!TEST_LOG_MODE) assert_int_equal(compact.page_count, 2); /* (else a log page) */
}

/* ---- encrypted ------------------------------------------------------------------ */

static void test_encrypted(void **state)
{
    fixture *f = (fixture *)*state;
    digby_options o, bad;
    digby_stats plain, compact;
    char p[600];
    digby_db *c = NULL;
    memset(&o, 0, sizeof(o));
    o.passphrase = "correct horse";
    o.kdf_iterations = 1000;
    o.flags = DIGBY_OPEN_NO_SYNC;
    ASSERT_OK(digby_open(f->path, &o, &f->db));
    populate(f->db, scaled(400));
    backup_both(f, &o, &plain, &compact);
    /* the copy opens only with the passphrase */
    snprintf(p, sizeof(p), "%s.enc", f->path);
    unlink(p);
    ASSERT_OK(digby_backup(f->db, p, NULL, DIGBY_BACKUP_COMPACT));
    bad = o;
    bad.passphrase = "wrong horse";
    ASSERT_RC(digby_open(p, &bad, &c), DIGBY_WRONGKEY);
    bad.passphrase = NULL;
    ASSERT_RC(digby_open(p, &bad, &c), DIGBY_WRONGKEY);
    bad.flags |= DIGBY_OPEN_READONLY;
    ASSERT_RC(digby_open(p, &bad, &c), DIGBY_WRONGKEY);
    unlink(p);
}

/* ---- log mode ------------------------------------------------------------------- */

static void test_log_mode(void **state)
{
    fixture *f = (fixture *)*state;
    digby_options o;
    digby_stats st, plain, compact;
    memset(&o, 0, sizeof(o));
    o.flags = DIGBY_OPEN_LOG | DIGBY_OPEN_NO_SYNC;
    o.memtable_bytes = (size_t)64 << 20;
    ASSERT_OK(digby_open(f->path, &o, &f->db));
    populate(f->db, scaled(800));
    ASSERT_OK(digby_checkpoint(f->db));
    /* then commits that only the memtable and the log hold */
    {
        digby_txn *txn;
        digby_table *t;
        ASSERT_OK(digby_txn_begin(f->db, 0, &txn));
        ASSERT_OK(digby_table_open(txn, "alpha", 0, &t));
        ASSERT_OK(digby_txn_put(txn, NULL, S("mem-only"), S("in the log"), 0));
        ASSERT_OK(digby_txn_put(txn, t, S("mem-only"), S("table too"), 0));
        ASSERT_OK(digby_txn_delete(txn, NULL, S("key0000003")));
        ASSERT_OK(digby_txn_commit(txn));
    }
    get_stat(f->db, &st);
    assert_true(st.memtable_entries > 0);
    assert_true(st.log_pages > 0);
    /* the copies hold the memtable's commits and no log (a read-only
       handle would replay one and count its pages) */
    memset(&o, 0, sizeof(o));
    o.flags = DIGBY_OPEN_READONLY;
    backup_both(f, &o, &plain, &compact);
    assert_int_equal(plain.log_pages, 0);
    assert_int_equal(compact.log_pages, 0);
    assert_int_equal(plain.memtable_entries, 0);
    get_stat(f->db, &st); /* the source was not checkpointed */
    assert_true(st.memtable_entries > 0);
}

/* ---- a writer commits while the copy is made ---------------------------------- */

#define W_KEEP 3

typedef struct writer {
    digby_db *db;
    volatile int stop;
    unsigned done;        /* commits made */
    uint64_t *txids;      /* txid of commit i */
    unsigned cap;
} writer;

static void w_key(char *buf, unsigned i) { sprintf(buf, "w%08u", i); }

/* Commit i: table "w" gets key i and loses key i - W_KEEP; "hot" in the
   global tree becomes i; and a base key is rewritten and put back, so that
   pages are freed and reused all the time. */
static void *writer_main(void *arg)
{
    writer *w = (writer *)arg;
    unsigned i;
    for (i = 0; !w->stop && i < w->cap; i++) {
        digby_txn *txn;
        digby_table *t;
        char k[16];
        unsigned char hv[4];
        if (digby_txn_begin(w->db, 0, &txn)) break;
        memcpy(hv, &i, 4);
        w_key(k, i);
        if (digby_table_open(txn, "w", DIGBY_TABLE_CREATE, &t) ||
            digby_txn_put(txn, t, k, strlen(k), k, strlen(k), 0) ||
            digby_txn_put(txn, NULL, S("hot"), hv, 4, 0)) {
            digby_txn_abort(txn);
            break;
        }
        if (i >= W_KEEP) {
            w_key(k, i - W_KEEP);
            if (digby_txn_delete(txn, t, k, strlen(k))) { digby_txn_abort(txn); break; }
        }
        w->txids[i] = digby_txn_id(txn);
        if (digby_txn_commit(txn)) break;
        w->done = i + 1;
    }
    return NULL;
}

static void run_concurrent(fixture *f, unsigned flags)
{
    digby_options o;
    writer w;
    pthread_t th;
    dump base, got;
    char p[600], k[16];
    digby_db *c;
    digby_txn *r;
    digby_table *t;
    const void *v;
    size_t vn;
    uint64_t ver, id, n;
    unsigned i, hot, before, after;
    memset(&o, 0, sizeof(o));
    o.flags = DIGBY_OPEN_NO_SYNC;
    ASSERT_OK(digby_open(f->path, &o, &f->db));
    populate(f->db, scaled(2000));
    memset(&base, 0, sizeof(base));
    memset(&got, 0, sizeof(got));
    dump_db(&base, f->db);
    memset(&w, 0, sizeof(w));
    w.db = f->db;
    w.cap = 1000000;
    w.txids = (uint64_t *)calloc(w.cap, sizeof(uint64_t));
    assert_non_null(w.txids);
    snprintf(p, sizeof(p), "%s.copy", f->path);
    unlink(p);
    assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
    while (w.done < 20) sched_yield();
    before = w.done;
    ASSERT_OK(digby_backup(f->db, p, NULL, flags));
    after = w.done;
    w.stop = 1;
    pthread_join(th, NULL);
    assert_true(w.done >= 20);

    /* the copy is the state right after writer commit `hot`, exactly */
    ASSERT_OK(digby_open(p, NULL, &c));
    check_thorough(c);
    ASSERT_OK(digby_txn_begin(c, DIGBY_TXN_READONLY, &r));
    id = digby_txn_id(r);
    ASSERT_OK(digby_txn_get(r, NULL, S("hot"), &v, &vn, &ver));
    assert_int_equal(vn, 4);
    memcpy(&hot, v, 4);
    assert_true(hot + 1 >= before && hot < after); /* a commit made meanwhile */
    assert_int_equal(ver, w.txids[hot]);
    assert_true(SNAP_ID_OK(id, w.txids[hot]));
    dump_txn(&got, r, "hot", "w");
    assert_same(&base, &got);
    ASSERT_OK(digby_table_open(r, "w", 0, &t));
    ASSERT_OK(digby_table_count(r, t, &n));
    assert_int_equal(n, hot + 1 < W_KEEP ? hot + 1 : W_KEEP);
    for (i = hot + 1 >= W_KEEP ? hot + 1 - W_KEEP : 0; i <= hot; i++) {
        w_key(k, i);
        ASSERT_OK(digby_txn_get(r, t, k, strlen(k), &v, &vn, &ver));
        assert_int_equal(vn, strlen(k));
        assert_memory_equal(v, k, vn);
        assert_int_equal(ver, w.txids[i]);
    }
    digby_txn_abort(r);
    ASSERT_OK(digby_close(c));
    unlink(p);
    free(w.txids);
    free(base.p);
    free(got.p);
}

static void test_concurrent_plain(void **state) { run_concurrent((fixture *)*state, 0); }
static void test_concurrent_compact(void **state)
{
    run_concurrent((fixture *)*state, DIGBY_BACKUP_COMPACT);
}

/* ---- errors --------------------------------------------------------------------- */

static void test_errors(void **state)
{
    fixture *f = (fixture *)*state;
    char p[600];
    digby_vfs old;
    FILE *fp;
    dump want, got;
    digby_stats st;
    memset(&want, 0, sizeof(want));
    memset(&got, 0, sizeof(got));
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_put(f->db, S("a"), S("1")));
    snprintf(p, sizeof(p), "%s.copy", f->path);
    ASSERT_RC(digby_backup(NULL, p, NULL, 0), DIGBY_INVALID);
    ASSERT_RC(digby_backup(f->db, NULL, NULL, 0), DIGBY_INVALID);
    ASSERT_RC(digby_backup(f->db, p, NULL, 0x80), DIGBY_INVALID);
    /* a VFS of an older version has no rename */
    old = *digby_vfs_posix();
    old.version = 2;
    ASSERT_RC(digby_backup(f->db, p, &old, 0), DIGBY_NOFEATURE);
    old.version = 3;
    old.rename = NULL;
    ASSERT_RC(digby_backup(f->db, p, &old, 0), DIGBY_NOFEATURE);
    /* an existing file stays as it is without DIGBY_BACKUP_REPLACE */
    fp = fopen(p, "w");
    assert_non_null(fp);
    fputs("precious", fp);
    fclose(fp);
    ASSERT_RC(digby_backup(f->db, p, NULL, 0), DIGBY_EXISTS);
    ASSERT_RC(digby_backup(f->db, p, NULL, DIGBY_BACKUP_COMPACT), DIGBY_EXISTS);
    fp = fopen(p, "r");
    assert_non_null(fp);
    {
        char buf[16] = {0};
        assert_non_null(fgets(buf, sizeof(buf), fp));
        assert_string_equal(buf, "precious");
    }
    fclose(fp);
    ASSERT_OK(digby_backup(f->db, p, NULL, DIGBY_BACKUP_REPLACE));
    dump_db(&want, f->db);
    verify_copy(p, NULL, &want, &st);
    ASSERT_OK(digby_put(f->db, S("b"), S("2")));
    ASSERT_OK(digby_backup(f->db, p, NULL, DIGBY_BACKUP_REPLACE | DIGBY_BACKUP_COMPACT));
    want.n = 0;
    dump_db(&want, f->db);
    verify_copy(p, NULL, &want, &st);
    unlink(p);
    free(want.p);
    free(got.p);
}

/* ---- a failure at every call the copy makes ----------------------------------- */

/* The in-memory VFS, with the nth call of the copy's (open, write, sync,
   truncate, rename) failing with rc. */
typedef struct ivfs {
    digby_vfs vfs;
    const digby_vfs *base;
    long calls, fail_at;
    int rc;
} ivfs;

static ivfs g_ivfs;

static int i_fail(void)
{
    return ++g_ivfs.calls == g_ivfs.fail_at;
}

static int i_open(const digby_vfs *v, const char *path, unsigned flags, digby_file **out)
{
    (void)v;
    if ((flags & DIGBY_VFS_CREATE) && i_fail()) return g_ivfs.rc;
    return g_ivfs.base->open(g_ivfs.base, path, flags, out);
}
static int i_read(digby_file *fh, uint64_t off, void *buf, size_t len, size_t *got)
{
    return g_ivfs.base->read(fh, off, buf, len, got);
}
static int i_write(digby_file *fh, uint64_t off, const void *buf, size_t len)
{
    return i_fail() ? g_ivfs.rc : g_ivfs.base->write(fh, off, buf, len);
}
static int i_sync(digby_file *fh) { return i_fail() ? g_ivfs.rc : g_ivfs.base->sync(fh); }
static int i_size(digby_file *fh, uint64_t *n) { return g_ivfs.base->size(fh, n); }
static int i_truncate(digby_file *fh, uint64_t n)
{
    return i_fail() ? g_ivfs.rc : g_ivfs.base->truncate(fh, n);
}
static int i_lock(digby_file *fh, int mode) { return g_ivfs.base->lock(fh, mode); }
static void i_close(digby_file *fh) { g_ivfs.base->close(fh); }
static int i_rename(const digby_vfs *v, const char *a, const char *b, unsigned flags)
{
    (void)v;
    return i_fail() ? g_ivfs.rc : g_ivfs.base->rename(g_ivfs.base, a, b, flags);
}
static int i_remove(const digby_vfs *v, const char *path)
{
    (void)v;
    return g_ivfs.base->remove(g_ivfs.base, path);
}

static int mem_exists(const digby_vfs *v, const char *path)
{
    digby_file *fh;
    if (v->open(v, path, DIGBY_VFS_READONLY, &fh) != DIGBY_OK) return 0;
    v->close(fh);
    return 1;
}

static void run_faults(unsigned flags, int rc, const char *passphrase)
{
    digby_vfs *mem;
    digby_options o;
    digby_db *db, *c;
    dump want, got;
    long n;
    int done = 0;
    ASSERT_OK(digby_vfs_mem_create(NULL, &mem));
    memset(&o, 0, sizeof(o));
    o.vfs = mem;
    o.page_size = 512;
    o.passphrase = passphrase;
    o.kdf_iterations = 1000;
    ASSERT_OK(digby_open("src", &o, &db));
    populate(db, 200);
    memset(&want, 0, sizeof(want));
    memset(&got, 0, sizeof(got));
    dump_db(&want, db);
    TEST_VFS_INIT(g_ivfs.vfs, &g_ivfs, i);
    g_ivfs.vfs.rename = i_rename;
    g_ivfs.vfs.remove = i_remove;
    g_ivfs.base = mem;
    g_ivfs.rc = rc;
    for (n = 1; !done; n++) {
        int r;
        g_ivfs.calls = 0;
        g_ivfs.fail_at = n;
        r = digby_backup(db, "copy", &g_ivfs.vfs, flags);
        assert_false(mem_exists(mem, "copy.digby-tmp"));
        if (g_ivfs.calls < n) {
            /* no call failed: the whole copy */
            ASSERT_OK(r);
            done = 1;
            break;
        }
        ASSERT_RC(r, rc);
        assert_false(mem_exists(mem, "copy"));
    }
    assert_true(n > 4);
    o.vfs = mem;
    ASSERT_OK(digby_open("copy", &o, &c));
    check_thorough(c);
    dump_db(&got, c);
    assert_same(&want, &got);
    ASSERT_OK(digby_close(c));
    check_thorough(db); /* the source is untouched */
    want.n = 0;
    dump_db(&want, db);
    assert_same(&want, &got);
    ASSERT_OK(digby_close(db));
    digby_vfs_mem_destroy(mem);
    free(want.p);
    free(got.p);
}

/* A copy that replaces a file a handle has open: the handle reads on what
   it opened (the in-memory VFS keeps a replaced file until its last close,
   as POSIX keeps an unlinked one). */
static void test_replace_open_file(void **state)
{
    digby_vfs *mem;
    digby_options o;
    digby_db *db, *old, *c;
    dump want, got;
    (void)state;
    ASSERT_OK(digby_vfs_mem_create(NULL, &mem));
    memset(&o, 0, sizeof(o));
    o.vfs = mem;
    memset(&want, 0, sizeof(want));
    memset(&got, 0, sizeof(got));
    ASSERT_OK(digby_open("src", &o, &db));
    ASSERT_OK(digby_put(db, S("k"), S("first")));
    ASSERT_OK(digby_backup(db, "copy", mem, 0));
    ASSERT_OK(digby_put(db, S("k"), S("second")));
    ASSERT_OK(digby_open("copy", &o, &old));
    ASSERT_RC(digby_backup(db, "copy", mem, DIGBY_BACKUP_COMPACT), DIGBY_EXISTS);
    ASSERT_OK(digby_backup(db, "copy", mem, DIGBY_BACKUP_COMPACT | DIGBY_BACKUP_REPLACE));
    expect_get(old, S("k"), S("first"));
    check_thorough(old);
    ASSERT_OK(digby_close(old));
    ASSERT_OK(digby_open("copy", &o, &c));
    expect_get(c, S("k"), S("second"));
    dump_db(&want, db);
    dump_db(&got, c);
    assert_same(&want, &got);
    ASSERT_OK(digby_close(c));
    ASSERT_OK(digby_close(db));
    ASSERT_OK(mem->remove(mem, "copy"));
    ASSERT_RC(mem->remove(mem, "copy"), DIGBY_CANTOPEN);
    digby_vfs_mem_destroy(mem);
    free(want.p);
    free(got.p);
}

static void test_faults_plain(void **state)
{
    (void)state;
    run_faults(0, DIGBY_IOERR, NULL);
}
static void test_faults_compact(void **state)
{
    (void)state;
    run_faults(DIGBY_BACKUP_COMPACT, DIGBY_FULL, NULL);
}
static void test_faults_encrypted(void **state)
{
    (void)state;
    run_faults(DIGBY_BACKUP_COMPACT, DIGBY_IOERR, "pw");
}

/* ---- out of memory at every allocation ---------------------------------------- */

/* The source's allocator fails its nth call (every n in turn): the backup
   returns DIGBY_NOMEM and leaves no file, or makes the whole copy (past
   its last allocation, or where digby does without: a smaller staging
   buffer, no held pages); the live block count comes back to where it
   was. */
static void run_oom(unsigned flags)
{
    digby_vfs *mem;
    digby_options o;
    digby_db *db, *c;
    test_alloc ta;
    dump want, got;
    long n, live, oks = 0;
    ASSERT_OK(digby_vfs_mem_create(NULL, &mem));
    memset(&o, 0, sizeof(o));
    o.vfs = mem;
    o.page_size = 1024;
    o.allocator = test_alloc_init(&ta, 0, 0);
    ASSERT_OK(digby_open("src", &o, &db));
    populate(db, 150);
    memset(&want, 0, sizeof(want));
    memset(&got, 0, sizeof(got));
    dump_db(&want, db);
    live = ta.live;
    for (n = 1;; n++) {
        int r;
        ta.calls = 0;
        ta.fail_at = n;
        r = digby_backup(db, "copy", NULL, flags);
        ta.fail_at = 0;
        assert_int_equal(ta.live, live);
        assert_false(mem_exists(mem, "copy.digby-tmp"));
        if (r == DIGBY_OK) {
            digby_options co = o;
            memset(&co.allocator, 0, sizeof(co.allocator));
            ASSERT_OK(digby_open("copy", &co, &c));
            check_thorough(c);
            got.n = 0;
            dump_db(&got, c);
            assert_same(&want, &got);
            ASSERT_OK(digby_close(c));
            ASSERT_OK(mem->remove(mem, "copy"));
            if (ta.calls < n) break; /* no allocation failed */
            oks++;
            continue;
        }
        ASSERT_RC(r, DIGBY_NOMEM);
        assert_false(mem_exists(mem, "copy"));
    }
    assert_true(n > 3 && oks < n / 2);
    check_thorough(db);
    ASSERT_OK(digby_close(db));
    digby_vfs_mem_destroy(mem);
    free(want.p);
    free(got.p);
}

static void test_oom_plain(void **state)
{
    (void)state;
    run_oom(0);
}
static void test_oom_compact(void **state)
{
    (void)state;
    run_oom(DIGBY_BACKUP_COMPACT);
}

/* ---- a power cut at every write, sync, truncate and rename of the copy ------ */

/* The cut: at the cut_at-th counted call (UINT64_MAX: never). */
typedef struct bcut {
    uint64_t calls, cut_at;
} bcut;

static int bcut_hook(fvfs *v, int kind, uint64_t off, uint64_t len)
{
    bcut *c = (bcut *)v->hook_ctx;
    (void)off;
    (void)len;
    if (kind != FV_WRITE && kind != FV_SYNC && kind != FV_TRUNC && kind != FV_RENAME &&
        kind != FV_REMOVE)
        return F_NONE;
    return c->calls++ >= c->cut_at ? F_CUT : F_NONE;
}

/* Back src up to "copy" of a fault VFS cut at call k; then every state the
   disk may hold after the cut has no file "copy", or one that opens,
   passes digby_check and holds want.  *present: states with the copy;
   returns the backup's result. */
static int cut_backup(digby_db *src, unsigned flags, uint64_t k, const dump *want,
                      bcut *c, unsigned *present, unsigned *absent)
{
    fvfs *v = fv_new();
    fv_states *st = (fv_states *)calloc(1, sizeof *st);
    int rc, j;
    assert_non_null(st);
    c->calls = 0;
    c->cut_at = k;
    v->hook = bcut_hook;
    v->hook_ctx = c;
    rc = digby_backup(src, "copy", &v->vfs, flags);
    fv_states_start(st, v);
    for (j = 0; j < 2; j++) {
        uint64_t rng = k * 0x9E3779B97F4A7C15ull + (uint64_t)j + 1;
        fv_states_reordered(st, v, &rng);
    }
    for (j = 0; j < st->n; j++) {
        fvfs *after = fv_from_images(v, st->st[j]);
        digby_options o;
        digby_db *c2;
        dump got;
        if (!fv_find(after, "copy")) {
            /* a copy that returned DIGBY_OK is durable */
            assert_int_not_equal(rc, DIGBY_OK);
            (*absent)++;
            fv_free(after);
            continue;
        }
        (*present)++;
        memset(&o, 0, sizeof(o));
        memset(&got, 0, sizeof(got));
        o.vfs = &after->vfs;
        o.flags = DIGBY_OPEN_READONLY | DIGBY_OPEN_NO_CREATE;
        ASSERT_OK(digby_open("copy", &o, &c2));
        check_clean(c2);
        dump_db(&got, c2);
        assert_same(want, &got);
        assert_int_equal(digby_discarded_txid(c2), 0);
        ASSERT_OK(digby_close(c2));
        free(got.p);
        fv_free(after);
    }
    fv_states_free(st);
    free(st);
    fv_free(v);
    return rc;
}

static void run_crash_sweep(unsigned flags)
{
    digby_vfs *mem;
    digby_options o;
    digby_db *db;
    dump want;
    bcut c;
    uint64_t k, total;
    unsigned present = 0, absent = 0;
    ASSERT_OK(digby_vfs_mem_create(NULL, &mem));
    memset(&o, 0, sizeof(o));
    o.vfs = mem;
    o.page_size = 512;
    ASSERT_OK(digby_open("src", &o, &db));
    populate(db, 150);
    memset(&want, 0, sizeof(want));
    dump_db(&want, db);
    ASSERT_OK(cut_backup(db, flags, UINT64_MAX, &want, &c, &present, &absent));
    total = c.calls;
    assert_true(total > 3);
    for (k = 0; k < total; k++)
        ASSERT_RC(cut_backup(db, flags, k, &want, &c, &present, &absent), DIGBY_IOERR);
    /* cuts before the rename leave no copy, the rest a whole one */
    assert_true(present > 0 && absent > 0);
    check_thorough(db);
    ASSERT_OK(digby_close(db));
    digby_vfs_mem_destroy(mem);
    free(want.p);
}

static void test_crash_plain(void **state)
{
    (void)state;
    run_crash_sweep(0);
}
static void test_crash_compact(void **state)
{
    (void)state;
    run_crash_sweep(DIGBY_BACKUP_COMPACT);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_kinds_4096),
        T(test_kinds_512),
        T(test_kinds_65536),
        T(test_empty),
        T(test_encrypted),
        T(test_log_mode),
        T(test_concurrent_plain),
        T(test_concurrent_compact),
        T(test_errors),
        T(test_replace_open_file),
        T(test_faults_plain),
        T(test_faults_compact),
        T(test_faults_encrypted),
        T(test_oom_plain),
        T(test_oom_compact),
        T(test_crash_plain),
        T(test_crash_compact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
