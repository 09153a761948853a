/* compact: digby_compact (issue #14 item 3), compaction in place.  Each
   case fills a database, deletes most of it (scattered keys, so that live
   pages stay high in the file), compacts, and checks: the file shrank (its
   size on disk and the one digby_compact reports), digby_check runs clean,
   every remaining key reads back with its value and version, deleted keys
   stay gone, and the same holds after a reopen.  Cases: 512-byte, 4 KiB
   and 64 KiB pages; overflow values and large keys (plain and compressed);
   named tables and a record table; an encrypted file; log mode; a
   read-only snapshot held across the compaction (it reads all its data,
   the file keeps the pages it reaches, and a second compaction after it
   ends truncates); DIGBY_COMPACT_TRUNCATE_ONLY; argument and read-only
   handle errors.  DIGBY_TEST_SCALE scales the key counts. */
#define TEST_NAME "compact"
#include "api_common.h" /* digby.h with the implementation, harness.h, values, reopen */

#include <pthread.h>

/* ---- a reference of keys --------------------------------------------------- */

#define K_TABLE_GLOBAL 0

typedef struct spec {
    uint32_t page_size;
    unsigned open_flags;     /* DIGBY_OPEN_* */
    int encrypted;
    int tables;              /* keys spread over the global tree and two tables */
    int overflow;            /* every fifth value spans pages */
    int large_keys;          /* every eleventh key is a large key */
    int compress;            /* puts with DIGBY_PUT_COMPRESS */
    unsigned keys;           /* before scaling */
    unsigned keep;           /* one key in `keep` stays (0: 10) */
    unsigned shrink_pct;     /* the file must shrink by this much at least (0: 33) */
} spec;

static const uint8_t k_key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

/* n at DIGBY_TEST_SCALE, at least half of n (below that the files are a
   few pages and a compaction's gain, which the tests measure, is lost in
   the branch and freelist pages: make portability's 0.1 failed at 400
   keys) and at least 50. */
static unsigned scaled(unsigned n)
{
    double v = n * test_scale();
    if (v < n / 2) v = n / 2;
    return v < 50 ? 50 : (unsigned)v;
}

/* Key i: "key%07u", then for a large key bytes up to max_key + 100. */
static size_t make_key(digby_db *db, const spec *s, unsigned i, unsigned char *buf)
{
    size_t n = num_key((char *)buf, i);
    if (s->large_keys && i % 11 == 0) {
        size_t want = digby_max_key_bytes(db) + 100 + i % 50, j;
        for (j = n; j < want; j++) buf[j] = (unsigned char)('a' + (i + j) % 26);
        n = want;
    }
    return n;
}

static size_t make_vlen(const spec *s, unsigned i)
{
    if (s->overflow && i % 5 == 0) return 2 * s->page_size + 100 + (i % 7) * 37;
    return 8 + i % 40;
}

static digby_table *table_of(digby_txn *txn, const spec *s, unsigned i)
{
    digby_table *t = NULL;
    if (!s->tables || i % 3 == 0) return NULL;
    ASSERT_OK(digby_table_open(txn, i % 3 == 1 ? "alpha" : "beta", DIGBY_TABLE_CREATE, &t));
    return t;
}

static void open_spec(fixture *f, const spec *s)
{
    digby_options o;
    memset(&o, 0, sizeof(o));
    o.page_size = s->page_size;
    o.flags = s->open_flags;
    if (s->encrypted) {
        o.key = k_key;
        o.key_bytes = sizeof(k_key);
    }
    ASSERT_OK(digby_open(f->path, &o, &f->db));
}

static void reopen_spec(fixture *f, const spec *s)
{
    check_thorough(f->db);
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;
    open_spec(f, s);
    check_thorough(f->db);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* Put keys [0, n) in batches of commits. */
static void fill(digby_db *db, const spec *s, unsigned n)
{
    unsigned char *k = (unsigned char *)xmalloc(digby_max_key_bytes(db) + 200);
    unsigned i = 0;
    while (i < n) {
        digby_txn *w;
        unsigned end = i + 500 < n ? i + 500 : n;
        ASSERT_OK(digby_txn_begin(db, 0, &w));
        for (; i < end; i++) {
            size_t kn = make_key(db, s, i, k), vn = make_vlen(s, i);
            unsigned char *v = make_val(i, vn);
            ASSERT_OK(digby_txn_put(w, table_of(w, s, i), k, kn, v, vn,
                                    s->compress ? DIGBY_PUT_COMPRESS : 0));
            free(v);
        }
        ASSERT_OK(digby_txn_commit(w));
    }
    free(k);
}

/* Whether key i stays: one in `keep`, spread over the key space. */
static int kept(unsigned i, unsigned keep) { return i % keep == keep / 2; }

static void delete_most(digby_db *db, const spec *s, unsigned n, unsigned keep)
{
    unsigned char *k = (unsigned char *)xmalloc(digby_max_key_bytes(db) + 200);
    unsigned i = 0;
    while (i < n) {
        digby_txn *w;
        unsigned end = i + 700 < n ? i + 700 : n;
        ASSERT_OK(digby_txn_begin(db, 0, &w));
        for (; i < end; i++) {
            if (kept(i, keep)) continue;
            ASSERT_OK(digby_txn_delete(w, table_of(w, s, i), k, make_key(db, s, i, k)));
        }
        ASSERT_OK(digby_txn_commit(w));
    }
    free(k);
}

/* txn sees exactly the keys of [0, n) that `present` says, with their
   values; versions, when vers is given, as recorded there. */
static void verify_in(digby_txn *txn, const spec *s, unsigned n, unsigned keep,
                      uint64_t *vers)
{
    unsigned char *k = (unsigned char *)xmalloc(digby_max_key_bytes(txn->db) + 200);
    unsigned i;
    for (i = 0; i < n; i++) {
        const void *v;
        size_t vn, kn = make_key(txn->db, s, i, k);
        uint64_t ver = 0;
        int rc = digby_txn_get(txn, table_of(txn, s, i), k, kn, &v, &vn, &ver);
        if (keep && !kept(i, keep)) {
            ASSERT_RC(rc, DIGBY_NOTFOUND);
            continue;
        }
        ASSERT_OK(rc);
        assert_int_equal(vn, make_vlen(s, i));
        assert_true(val_ok(i, v, vn));
        if (vers && vers[i]) assert_int_equal(ver, vers[i]);
        if (vers && !vers[i]) vers[i] = ver;
    }
    free(k);
}

static void verify(digby_db *db, const spec *s, unsigned n, unsigned keep, uint64_t *vers)
{
    digby_txn *r;
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &r));
    verify_in(r, s, n, keep, vers);
    digby_txn_abort(r);
}

/* The whole cycle for one spec. */
static void run_spec(fixture *f, const spec *s)
{
    unsigned n = scaled(s->keys), keep = s->keep ? s->keep : 10;
    unsigned pct = s->shrink_pct ? s->shrink_pct : 33;
    uint64_t *vers = (uint64_t *)calloc(n, sizeof(uint64_t));
    uint64_t before, after, reported = 0, again = 0;
    digby_stats st;
    assert_non_null(vers);
    open_spec(f, s);
    fill(f->db, s, n);
    delete_most(f->db, s, n, keep);
    verify(f->db, s, n, keep, vers);
    before = file_size(f->path);
    ASSERT_OK(digby_compact(f->db, 0, &reported));
    after = file_size(f->path);
    print_message("page %u%s%s%s%s%s: %u keys, 1 in %u kept: %llu -> %llu bytes\n",
                  s->page_size, s->tables ? " tables" : "", s->overflow ? " overflow" : "",
                  s->large_keys ? " large-keys" : "", s->encrypted ? " encrypted" : "",
                  (s->open_flags & DIGBY_OPEN_LOG) ? " log" : "", n, keep,
                  (unsigned long long)before, (unsigned long long)after);
    assert_int_equal(reported, after);
    /* 90% deleted: at least a third of the file comes back */
    assert_true(after <= before - before / 100 * pct);
    check_thorough(f->db);
    verify(f->db, s, n, keep, vers);
    /* the pages in use: the file holds them and little more */
    get_stat(f->db, &st);
    assert_true(after % s->page_size == 0);
    /* a second call finds nothing to move and the size stays */
    ASSERT_OK(digby_compact(f->db, 0, &again));
    assert_true(again <= after);
    reopen_spec(f, s);
    verify(f->db, s, n, keep, vers);
    /* the file works on: writes after a compaction */
    fill(f->db, s, n / 4);
    check_thorough(f->db);
    free(vers);
}

static void test_plain_4096(void **state)
{
    spec s = {4096, 0, 0, 0, 0, 0, 0, 4000, 0, 0};
    run_spec((fixture *)*state, &s);
}

/* Every other key deleted: each leaf half empty, none empty; repacking
   the leaves (with new separators in deep branches at 512 bytes) is what
   gives space back. */
static void test_half_512(void **state)
{
    spec s = {512, 0, 0, 0, 0, 0, 0, 6000, 2, 25};
    run_spec((fixture *)*state, &s);
}

static void test_half_4096_tables(void **state)
{
    spec s = {4096, 0, 0, 1, 0, 0, 0, 20000, 2, 25};
    run_spec((fixture *)*state, &s);
}

static void test_512_overflow_large_keys(void **state)
{
    spec s = {512, 0, 0, 0, 1, 1, 0, 1500, 0, 0};
    run_spec((fixture *)*state, &s);
}

static void test_tables_compressed(void **state)
{
    spec s = {1024, 0, 0, 1, 1, 1, 1, 1500, 0, 0};
    run_spec((fixture *)*state, &s);
}

static void test_64k(void **state)
{
    /* not scaled up: 150 MB at scale 1 */
    spec s = {65536, 0, 0, 1, 1, 0, 0, 3000, 0, 0};
    if (test_scale() > 1) s.keys = (unsigned)(3000 / test_scale());
    run_spec((fixture *)*state, &s);
}

static void test_encrypted(void **state)
{
    spec s = {1024, 0, 1, 1, 1, 1, 0, 1200, 0, 0};
    run_spec((fixture *)*state, &s);
}

static void test_log_mode(void **state)
{
    spec s = {1024, DIGBY_OPEN_LOG, 0, 1, 1, 0, 0, 1500, 0, 0};
    run_spec((fixture *)*state, &s);
}

static void test_no_mmap(void **state)
{
    spec s = {2048, DIGBY_OPEN_NO_MMAP, 0, 1, 1, 0, 0, 1500, 0, 0};
    run_spec((fixture *)*state, &s);
}

/* A snapshot begun before the compaction reads all its data throughout
   (with memory-mapped reads: a page cut from the file would be SIGBUS),
   and the pages it reaches stay in the file; once it ends, a second
   compaction gives them back. */
static void test_snapshot_held(void **state)
{
    fixture *f = (fixture *)*state;
    spec s = {1024, 0, 0, 1, 1, 0, 0, 1500, 0, 0};
    unsigned n = scaled(s.keys), keep = 10;
    uint64_t first = 0, second = 0, before;
    digby_txn *snap, *old;
    open_spec(f, &s);
    fill(f->db, &s, n);
    /* an older snapshot still sees every key */
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &old));
    delete_most(f->db, &s, n, keep);
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &snap));
    before = file_size(f->path);
    ASSERT_OK(digby_compact(f->db, 0, &first));
    /* (log mode: the checkpoint before it writes the memtable's commits
       into the tree, which may take new pages while the snapshots hold
       the free ones) */
    if (!TEST_LOG_MODE) assert_true(first <= before);
    verify_in(old, &s, n, 0, NULL);
    verify_in(snap, &s, n, keep, NULL);
    check_passes(f->db);
    digby_txn_abort(old);
    /* snap still reaches the pages the relocation left */
    ASSERT_OK(digby_compact(f->db, 0, &second));
    verify_in(snap, &s, n, keep, NULL);
    digby_txn_abort(snap);
    ASSERT_OK(digby_compact(f->db, 0, &second));
    print_message("snapshots held: %llu -> %llu bytes; after they end: %llu\n",
                  (unsigned long long)before, (unsigned long long)first,
                  (unsigned long long)second);
    assert_true(second < first);
    assert_true(second < before - before / 3);
    assert_int_equal(second, file_size(f->path));
    verify(f->db, &s, n, keep, NULL);
    reopen_spec(f, &s);
    verify(f->db, &s, n, keep, NULL);
}

/* TRUNCATE_ONLY moves nothing: it gives back a free tail only. */
static void test_truncate_only(void **state)
{
    fixture *f = (fixture *)*state;
    spec s = {4096, 0, 0, 0, 0, 0, 0, 3000, 0, 0};
    unsigned n = scaled(s.keys), i;
    uint64_t before, sz = 0;
    digby_txn *w;
    char k[32];
    open_spec(f, &s);
    fill(f->db, &s, n);
    before = file_size(f->path);
    /* delete the upper half of the keys: the pages written last, high in
       the file, mostly */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    for (i = n / 2; i < n; i++) ASSERT_OK(digby_txn_delete(w, NULL, k, num_key(k, i)));
    ASSERT_OK(digby_txn_commit(w));
    ASSERT_OK(digby_compact(f->db, DIGBY_COMPACT_TRUNCATE_ONLY, &sz));
    assert_true(sz <= before);
    check_thorough(f->db);
    verify(f->db, &s, n / 2, 0, NULL);
    ASSERT_OK(digby_compact(f->db, 0, &sz));
    assert_true(sz < before);
    verify(f->db, &s, n / 2, 0, NULL);
    reopen_spec(f, &s);
}

/* A record table (rows and an index) survives a compaction. */
static void test_record_table(void **state)
{
    fixture *f = (fixture *)*state;
    static const digby_column cols[] = {
        {"id", DIGBY_TUPLE_INT, DIGBY_COLUMN_NOT_NULL},
        {"name", DIGBY_TUPLE_STRING, 0},
        {"size", DIGBY_TUPLE_INT, 0},
    };
    static const digby_index idx[] = {{"by_size", "size", 0}};
    digby_schema sch;
    digby_rtable *rt;
    digby_txn *w;
    unsigned n = scaled(3000), i;
    uint64_t before, after = 0, rows = 0;
    char name[128];
    memset(&sch, 0, sizeof(sch));
    sch.columns = cols;
    sch.ncolumns = 3;
    sch.primary_key = "id";
    sch.indexes = idx;
    sch.nindexes = 1;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_rtable_open(w, "things", &sch, DIGBY_RTABLE_CREATE, &rt));
    for (i = 0; i < n; i++) {
        digby_tuple_item row[3];
        int len = sprintf(name, "thing-%u-%0*u", i, (int)(i % 60), i);
        row[0].type = DIGBY_TUPLE_INT;
        row[0].v.i = (int64_t)i;
        row[1].type = DIGBY_TUPLE_STRING;
        row[1].v.s.ptr = name;
        row[1].v.s.len = (size_t)len;
        row[2].type = DIGBY_TUPLE_INT;
        row[2].v.i = (int64_t)(i * 7 % 1000);
        ASSERT_OK(digby_rtable_insert(rt, row, 3));
    }
    ASSERT_OK(digby_txn_commit(w));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_rtable_open(w, "things", NULL, 0, &rt));
    for (i = 0; i < n; i++) {
        digby_tuple_item key[1];
        if (i % 8 == 3) continue;
        key[0].type = DIGBY_TUPLE_INT;
        key[0].v.i = (int64_t)i;
        ASSERT_OK(digby_rtable_delete(rt, key, 1));
    }
    ASSERT_OK(digby_txn_commit(w));
    before = file_size(f->path);
    ASSERT_OK(digby_compact(f->db, 0, &after));
    assert_true(after < before);
    check_thorough(f->db);
    reopen(f);
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &w));
    ASSERT_OK(digby_rtable_open(w, "things", NULL, 0, &rt));
    ASSERT_OK(digby_rtable_count(rt, &rows));
    assert_int_equal(rows, (n + 4) / 8);
    for (i = 3; i < n; i += 8) {
        digby_tuple_item key[1];
        const digby_tuple_item *row;
        size_t nc;
        key[0].type = DIGBY_TUPLE_INT;
        key[0].v.i = (int64_t)i;
        ASSERT_OK(digby_rtable_get(rt, key, 1, &row, &nc));
        assert_int_equal(nc, 3);
        assert_int_equal(row[2].v.i, (int64_t)(i * 7 % 1000));
    }
    digby_txn_abort(w);
}

/* Readers in other threads, each looping over short snapshots and a long
   one, while the main thread deletes, compacts and refills: every read
   finds what its snapshot holds (memory-mapped reads: a page cut from the
   file under a reader would be SIGBUS). */
typedef struct reader_arg {
    digby_db *db;
    const spec *s;
    unsigned n;
    pthread_mutex_t *mu;     /* guards *stop */
    int *stop;
    unsigned long reads;     /* this thread's own */
    int failed;
} reader_arg;

static int reader_stopped(reader_arg *a)
{
    int v;
    pthread_mutex_lock(a->mu);
    v = *a->stop;
    pthread_mutex_unlock(a->mu);
    return v;
}

static void *reader_main(void *p)
{
    reader_arg *a = (reader_arg *)p;
    unsigned char k[64];
    unsigned round = 0;
    while (!reader_stopped(a) && !a->failed) {
        digby_txn *r;
        unsigned i, present = 0;
        if (digby_txn_begin(a->db, DIGBY_TXN_READONLY, &r) != DIGBY_OK) { a->failed = 1; break; }
        /* the keys of [0, n) a snapshot holds: all of one kind or the
           other per key (even keys stay, odd ones come and go) */
        for (i = round % 7; i < a->n; i += 7) {
            const void *v;
            size_t vn;
            size_t kn = num_key((char *)k, i);
            int rc = digby_txn_get(r, NULL, k, kn, &v, &vn, NULL);
            if (rc == DIGBY_OK) {
                present++;
                if (vn != make_vlen(a->s, i) || !val_ok(i, v, vn)) a->failed = 2;
            } else if (rc != DIGBY_NOTFOUND || i % 2 == 0) {
                a->failed = 3;
            }
            a->reads++;
        }
        (void)present;
        digby_txn_abort(r);
        round++;
    }
    return NULL;
}

static void test_readers_threads(void **state)
{
    fixture *f = (fixture *)*state;
    spec s = {1024, 0, 0, 0, 1, 0, 0, 3000, 0, 0};
    reader_arg a[2];
    pthread_t th[2];
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    unsigned n = scaled(s.keys), cycle, i;
    unsigned long reads = 0;
    int stop = 0;
    char k[32];
    open_spec(f, &s);
    fill(f->db, &s, n);
    memset(a, 0, sizeof a);
    for (i = 0; i < 2; i++) {
        a[i].db = f->db;
        a[i].s = &s;
        a[i].n = n;
        a[i].mu = &mu;
        a[i].stop = &stop;
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &a[i]), 0);
    }
    for (cycle = 0; cycle < 6; cycle++) {
        digby_txn *w;
        uint64_t sz = 0;
        /* the odd keys go, the file is compacted, they come back */
        ASSERT_OK(digby_txn_begin(f->db, 0, &w));
        for (i = 1; i < n; i += 2) ASSERT_OK(digby_txn_delete(w, NULL, k, num_key(k, i)));
        ASSERT_OK(digby_txn_commit(w));
        ASSERT_OK(digby_compact(f->db, 0, &sz));
        assert_true(sz > 0);
        ASSERT_OK(digby_txn_begin(f->db, 0, &w));
        for (i = 1; i < n; i += 2) {
            size_t vn = make_vlen(&s, i);
            unsigned char *v = make_val(i, vn);
            ASSERT_OK(digby_txn_put(w, NULL, k, num_key(k, i), v, vn, 0));
            free(v);
        }
        ASSERT_OK(digby_txn_commit(w));
    }
    pthread_mutex_lock(&mu);
    stop = 1;
    pthread_mutex_unlock(&mu);
    for (i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(a[i].failed, 0);
        reads += a[i].reads;
    }
    print_message("readers beside compactions: %lu reads\n", reads);
    assert_true(reads > 0);
    check_thorough(f->db);
    verify(f->db, &s, n, 0, NULL);
}

static void test_errors(void **state)
{
    fixture *f = (fixture *)*state;
    digby_options o;
    digby_db *ro;
    uint64_t sz = 123;
    ASSERT_RC(digby_compact(NULL, 0, &sz), DIGBY_INVALID);
    assert_int_equal(sz, 0);
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_RC(digby_compact(f->db, 0x80, NULL), DIGBY_INVALID);
    /* an empty file: nothing to do, NULL out param */
    ASSERT_OK(digby_compact(f->db, 0, NULL));
    ASSERT_OK(digby_compact(f->db, 0, &sz));
    assert_int_equal(sz, file_size(f->path));
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;
    memset(&o, 0, sizeof(o));
    o.flags = DIGBY_OPEN_READONLY;
    ASSERT_OK(digby_open(f->path, &o, &ro));
    ASSERT_RC(digby_compact(ro, 0, &sz), DIGBY_READONLY);
    ASSERT_OK(digby_close(ro));
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_errors),
        T(test_plain_4096),
        T(test_half_512),
        T(test_half_4096_tables),
        T(test_512_overflow_large_keys),
        T(test_tables_compressed),
        T(test_64k),
        T(test_encrypted),
        T(test_log_mode),
        T(test_no_mmap),
        T(test_snapshot_held),
        T(test_readers_threads),
        T(test_truncate_only),
        T(test_record_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
