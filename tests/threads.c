/* threads: concurrency through the public API, with pthreads.

   test_snapshot_readers: reader threads scan the global tree and a table
   (forward and backward) in read-only transactions while a writer commits
   hundreds of transactions of overwrites, inserts and deletes.  Every
   commit leaves an invariant a single scan can check: all data keys of both
   trees carry the same generation and the writer's txn id, each value has a
   checksum, and a "~count" key holds the generation and the number of data
   keys.  A torn or mixed snapshot breaks it.

   test_writer_waits: a second writer's digby_txn_begin blocks until the
   first writer's transaction ends, then sees its commit.

   test_two_writers: two writer threads increment a shared counter and add
   one key per transaction while readers check counter == number of keys.

   test_group_commit: in log mode, four writer threads commit one key per
   transaction, durable (one of them mixes in DIGBY_TXN_NO_SYNC), on a VFS
   whose sync takes a millisecond, while a reader checks that snapshots
   only grow; the threads must share syncs (fewer log syncs than durable
   commits), the commit hook must run once per durable commit, and every
   key must be there, before and after a reopen.

   test_log_writers_and_checkpoints (THREADS_LOG: tests/torture/tsan_log.c,
   under ThreadSanitizer in make torture): three writers in log mode, no-sync
   and durable commits, checkpoints and syncs, readers holding snapshots
   across them.

   Files go to $DIGBY_TEST_DIR (default /tmp).  Each test runs digby_check
   clean before closing.  Threads never call cmocka: they record the first
   failure, and the main thread asserts after joining them. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define DIGBY_IMPLEMENTATION
#include "digby.h"

#define TEST_NAME "threads"
#include "harness.h" /* rc_name, ASSERT_RC, make_path, check_passes, test_scale_capped */

#include <pthread.h>
#include <sched.h>
#include <time.h>

/* ---- helpers ------------------------------------------------------------ */

/* DIGBY_TEST_SCALE below 1 shrinks the runs (the ThreadSanitizer slice of
   tests/torture/tsan.mk); larger values change nothing here. */
static double run_scale(void) { return test_scale_capped(1.0); }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static void put64(unsigned char *p, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void put32(unsigned char *p, uint32_t v)
{
    int i;
    for (i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint32_t fnv1a(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

/* ---- failure recording from threads ---------------------------------- */

typedef struct shared {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    digby_db *db;
    int stop;            /* writers done (or a failure): readers finish */
    int nerr;
    char err[1024];
    /* test_writer_waits */
    int a_has_txn, a_committing;
    /* statistics */
    long scans[8];
    long commits[4];
} shared;

/* A thread's argument: the state it shares, and its number (the index of
   its counters in shared). */
typedef struct thread_arg {
    shared *s;
    int id;
    digby_db *db;        /* its own handle (test_two_handles), or NULL: s->db */
} thread_arg;

#define ARG_DB(ca) ((ca)->db ? (ca)->db : (ca)->s->db)

static void tfail(shared *s, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&s->mu);
    if (!s->nerr) {
        int n = snprintf(s->err, sizeof(s->err), "%s:%d: ", file, line);
        if (n < 0) n = 0;
        va_start(ap, fmt);
        vsnprintf(s->err + n, sizeof(s->err) - (size_t)n, fmt, ap);
        va_end(ap);
    }
    s->nerr++;
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

#define TCHECK(s, cond, ...)                                                  \
    do {                                                                      \
        if (!(cond)) {                                                        \
            tfail((s), __FILE__, __LINE__, __VA_ARGS__);                      \
            goto out;                                                         \
        }                                                                     \
    } while (0)

#define TRC(s, expr, want)                                                    \
    do {                                                                      \
        int trc_ = (expr), twant_ = (want);                                   \
        if (trc_ != twant_) {                                                 \
            tfail((s), __FILE__, __LINE__, "%s returned %s, expected %s",     \
                  #expr, rc_name(trc_), rc_name(twant_));                     \
            goto out;                                                         \
        }                                                                     \
    } while (0)

static int stopped(shared *s)
{
    int v;
    pthread_mutex_lock(&s->mu);
    v = s->stop;
    pthread_mutex_unlock(&s->mu);
    return v;
}

static void set_stop(shared *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void shared_init(shared *s, digby_db *db)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->db = db;
}

static void shared_finish(shared *s)
{
    if (s->nerr) print_error("%d thread failure(s); first: %s\n", s->nerr, s->err);
    assert_int_equal(s->nerr, 0);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
}

/* ======================================================================== */
/* Snapshot consistency                                                     */
/* ======================================================================== */

enum { NK = 48, VAL_MAX = 28 + 200 + 5000 };

static unsigned keys_in_gen(uint64_t g)
{
    return 16 + (unsigned)((g * 7) % 33); /* 16 .. 48 */
}

static size_t val_len(uint64_t g, unsigned idx)
{
    size_t l = 28 + (size_t)((g * 31 + idx * 17) % 200);
    if (idx % 8 == 3) l += 5000; /* an overflow value */
    return l;
}

/* gen, txid, idx, len, filler, fnv32 */
static size_t make_value(unsigned char *v, uint64_t g, uint64_t txid, unsigned idx)
{
    size_t l = val_len(g, idx), j;
    put64(v, g);
    put64(v + 8, txid);
    put32(v + 16, idx);
    put32(v + 20, (uint32_t)l);
    for (j = 24; j < l - 4; j++) v[j] = (unsigned char)(g * 131 + idx * 7 + j);
    put32(v + l - 4, fnv1a(v, l - 4));
    return l;
}

/* NULL when fine, else what is wrong. */
static const char *value_bad(const unsigned char *v, size_t l, unsigned idx)
{
    if (l < 28) return "value too short";
    if (get32(v + 20) != l) return "value length field differs from its length";
    if (get32(v + 16) != idx) return "value belongs to another key";
    if (get32(v + l - 4) != fnv1a(v, l - 4)) return "value checksum mismatch (torn value)";
    if (l != val_len(get64(v), idx)) return "value length wrong for its generation";
    return NULL;
}

static size_t make_count(unsigned char *v, uint64_t g, uint64_t txid, unsigned n)
{
    put64(v, g);
    put64(v + 8, txid);
    put32(v + 16, n);
    put32(v + 20, fnv1a(v, 20));
    return 24;
}

typedef struct scan_result {
    uint64_t gen, txid;
    unsigned n;
} scan_result;

/* Scan one tree fully in one direction and check the invariant.  Returns 0
   and fills *res, or -1 after recording a failure. */
static int scan_tree(shared *s, digby_txn *r, digby_table *t, int backward,
                     scan_result *res)
{
    digby_cursor *c = NULL;
    int rc, have_count = 0, seen = 0, expect_idx = 0;
    uint64_t data_gen = 0, data_txid = 0;
    unsigned count_n = 0;
    uint64_t count_gen = 0, count_txid = 0;
    const void *k, *v;
    size_t kn, vn;
    uint64_t ver;

    TRC(s, digby_cursor_open(r, t, &c), DIGBY_OK);
    rc = backward ? digby_cursor_last(c) : digby_cursor_first(c);
    while (rc == DIGBY_OK) {
        TRC(s, digby_cursor_get(c, &k, &kn, &v, &vn, &ver), DIGBY_OK);
        if (kn == 6 && memcmp(k, "~count", 6) == 0) {
            const unsigned char *cv = (const unsigned char *)v;
            TCHECK(s, !have_count, "two ~count keys");
            TCHECK(s, backward ? seen == 0 : 1, "~count is not the last key");
            TCHECK(s, vn == 24 && get32(cv + 20) == fnv1a(cv, 20), "~count value torn");
            count_gen = get64(cv);
            count_txid = get64(cv + 8);
            count_n = get32(cv + 16);
            TCHECK(s, ver == count_txid, "~count version %llu, its value says txid %llu",
                   (unsigned long long)ver, (unsigned long long)count_txid);
            have_count = 1;
        } else {
            unsigned idx;
            const char *why;
            TCHECK(s, kn == 3 && ((const char *)k)[0] == 'k', "unexpected key of %u bytes",
                   (unsigned)kn);
            TCHECK(s, !have_count || backward, "data key after ~count");
            idx = (unsigned)(((const char *)k)[1] - '0') * 10 +
                  (unsigned)(((const char *)k)[2] - '0');
            if (backward) {
                if (seen == (have_count ? 1 : 0)) expect_idx = (int)idx; /* highest */
                TCHECK(s, (int)idx == expect_idx, "backward scan: key k%02u, expected k%02d",
                       idx, expect_idx);
                expect_idx--;
            } else {
                TCHECK(s, (int)idx == expect_idx, "forward scan: key k%02u, expected k%02d",
                       idx, expect_idx);
                expect_idx++;
            }
            why = value_bad((const unsigned char *)v, vn, idx);
            TCHECK(s, why == NULL, "k%02u: %s", idx, why ? why : "");
            if (seen == (backward && have_count ? 1 : 0)) {
                data_gen = get64((const unsigned char *)v);
                data_txid = get64((const unsigned char *)v + 8);
            }
            TCHECK(s, get64((const unsigned char *)v) == data_gen,
                   "mixed snapshot: k%02u has generation %llu, others %llu", idx,
                   (unsigned long long)get64((const unsigned char *)v),
                   (unsigned long long)data_gen);
            TCHECK(s, ver == data_txid, "k%02u: version %llu, its value says txid %llu",
                   idx, (unsigned long long)ver, (unsigned long long)data_txid);
        }
        seen++;
        TCHECK(s, seen <= NK + 1, "more keys than ever written");
        rc = backward ? digby_cursor_prev(c) : digby_cursor_next(c);
    }
    TRC(s, rc, DIGBY_NOTFOUND);
    TCHECK(s, have_count, "no ~count key");
    TCHECK(s, (unsigned)seen == count_n + 1, "%d data keys, ~count says %u", seen - 1, count_n);
    TCHECK(s, count_n == keys_in_gen(count_gen), "generation %llu should have %u keys, has %u",
           (unsigned long long)count_gen, keys_in_gen(count_gen), count_n);
    TCHECK(s, backward ? expect_idx == -1 : expect_idx == (int)count_n,
           "data keys are not k00..k%02u", count_n - 1);
    TCHECK(s, data_gen == count_gen, "mixed snapshot: data generation %llu, ~count %llu",
           (unsigned long long)data_gen, (unsigned long long)count_gen);
    TCHECK(s, data_txid == count_txid, "mixed snapshot: data txid %llu, ~count %llu",
           (unsigned long long)data_txid, (unsigned long long)count_txid);
    res->gen = count_gen;
    res->txid = count_txid;
    res->n = count_n;
    digby_cursor_close(c);
    return 0;
out:
    digby_cursor_close(c);
    return -1;
}

static void *snapshot_reader(void *p)
{
    thread_arg *ra = (thread_arg *)p;
    shared *s = ra->s;
    digby_txn *r = NULL;
    uint64_t last_gen = 0, last_id = 0;
    uint32_t rng = 7u + (uint32_t)ra->id * 7919u;
    long iter = 0;
    int final_pass = 0;

    for (;;) {
        scan_result a, b, tf, tb;
        digby_table *t;
        uint64_t id, cnt;
        int i;
        if (stopped(s)) {
            if (final_pass) break;
            final_pass = 1; /* one more scan after the writer ended */
        }
        TRC(s, digby_txn_begin(s->db, DIGBY_TXN_READONLY, &r), DIGBY_OK);
        id = digby_txn_id(r);
        TCHECK(s, id >= last_id, "snapshot id went back from %llu to %llu",
               (unsigned long long)last_id, (unsigned long long)id);
        if (scan_tree(s, r, NULL, 0, &a)) goto out;
        if (scan_tree(s, r, NULL, 1, &b)) goto out;
        TRC(s, digby_table_open(r, "t", 0, &t), DIGBY_OK);
        if (scan_tree(s, r, t, (int)(iter & 1), &tf)) goto out;
        if (scan_tree(s, r, t, !(iter & 1), &tb)) goto out;
        TCHECK(s, a.gen == b.gen && a.gen == tf.gen && a.gen == tb.gen,
               "one snapshot, different generations: %llu %llu %llu %llu",
               (unsigned long long)a.gen, (unsigned long long)b.gen,
               (unsigned long long)tf.gen, (unsigned long long)tb.gen);
        TCHECK(s, SNAP_ID_OK(id, a.txid), "snapshot id %llu, but its last commit was txn %llu",
               (unsigned long long)id, (unsigned long long)a.txid);
        TCHECK(s, a.gen >= last_gen, "generation went back from %llu to %llu",
               (unsigned long long)last_gen, (unsigned long long)a.gen);
        TRC(s, digby_table_count(r, NULL, &cnt), DIGBY_OK);
        TCHECK(s, cnt == a.n + 1, "count %llu, scan %u", (unsigned long long)cnt, a.n + 1);
        TRC(s, digby_table_count(r, t, &cnt), DIGBY_OK);
        TCHECK(s, cnt == a.n + 1, "table count %llu, scan %u", (unsigned long long)cnt,
               a.n + 1);
        /* point lookups agree with the scan */
        for (i = 0; i < 8; i++) {
            char k[4];
            const void *v;
            size_t vn;
            unsigned idx;
            int rc;
            rng = rng * 1103515245u + 12345u;
            idx = (rng >> 8) % NK;
            sprintf(k, "k%02u", idx);
            rc = digby_txn_get(r, (i & 1) ? t : NULL, k, 3, &v, &vn, NULL);
            if (idx < a.n) {
                TRC(s, rc, DIGBY_OK);
                TCHECK(s, value_bad((const unsigned char *)v, vn, idx) == NULL &&
                              get64((const unsigned char *)v) == a.gen,
                       "get k%02u disagrees with the scan", idx);
            } else {
                TRC(s, rc, DIGBY_NOTFOUND);
            }
        }
        last_gen = a.gen;
        last_id = id;
        if (iter & 1) digby_txn_abort(r);
        else TRC(s, digby_txn_commit(r), DIGBY_OK);
        r = NULL;
        /* the integrity check runs beside the writer */
        if (ra->id == 0 && iter % 25 == 10) {
            digby_check_report rep;
            int rc;
            memset(&rep, 0, sizeof(rep));
            rc = digby_check(s->db, &rep);
            TCHECK(s, rc == DIGBY_OK, "digby_check beside the writer: %s: %s", rc_name(rc),
                   rep.message);
        }
        iter++;
    }
out:
    if (r) digby_txn_abort(r);
    pthread_mutex_lock(&s->mu);
    s->scans[ra->id] = iter;
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Write generation g: keys k00..k(n-1) in both trees, delete the rest,
   ~count last.  Returns 0 or -1 (failure recorded). */
static int write_gen(shared *s, digby_txn *w, digby_table *t, uint64_t g)
{
    static unsigned char v[VAL_MAX];
    unsigned n = keys_in_gen(g), i;
    uint64_t txid = digby_txn_id(w);
    int tree, rc;
    for (tree = 0; tree < 2; tree++) {
        digby_table *tt = tree ? t : NULL;
        for (i = 0; i < NK; i++) {
            char k[4];
            sprintf(k, "k%02u", i);
            if (i < n) {
                size_t l = make_value(v, g, txid, i);
                TRC(s, digby_txn_put(w, tt, k, 3, v, l, 0), DIGBY_OK);
            } else {
                rc = digby_txn_delete(w, tt, k, 3);
                TCHECK(s, rc == DIGBY_OK || rc == DIGBY_NOTFOUND, "delete k%02u: %s", i,
                       rc_name(rc));
            }
        }
        make_count(v, g, txid, n);
        TRC(s, digby_txn_put(w, tt, "~count", 6, v, 24, 0), DIGBY_OK);
    }
    return 0;
out:
    return -1;
}

typedef struct writer_arg {
    shared *s;
    uint64_t gens;       /* most generations to write */
    double seconds;      /* or stop after this long */
    uint64_t last_gen;   /* out */
} writer_arg;

static void *snapshot_writer(void *p)
{
    writer_arg *wa = (writer_arg *)p;
    shared *s = wa->s;
    digby_txn *w = NULL;
    digby_table *t;
    uint64_t g;
    double t0 = now_s();
    for (g = 1; g <= wa->gens && now_s() - t0 < wa->seconds && !stopped(s); g++) {
        const void *v;
        size_t vn;
        TRC(s, digby_txn_begin(s->db, 0, &w), DIGBY_OK);
        /* a write transaction starts from the last commit */
        TRC(s, digby_txn_get(w, NULL, "~count", 6, &v, &vn, NULL), DIGBY_OK);
        TCHECK(s, vn == 24 && get64((const unsigned char *)v) == g - 1,
               "writer sees generation %llu, expected %llu",
               (unsigned long long)get64((const unsigned char *)v), (unsigned long long)(g - 1));
        TRC(s, digby_table_open(w, "t", 0, &t), DIGBY_OK);
        if (write_gen(s, w, t, g)) goto out;
        /* now and then: churn in the catalog */
        if (g % 37 == 0) {
            digby_table *x;
            char name[32];
            sprintf(name, "scratch-%llu", (unsigned long long)g);
            TRC(s, digby_table_open(w, name, DIGBY_TABLE_CREATE, &x), DIGBY_OK);
            TRC(s, digby_txn_put(w, x, S("k"), S("v"), 0), DIGBY_OK);
            if (g > 37) {
                sprintf(name, "scratch-%llu", (unsigned long long)(g - 37));
                TRC(s, digby_table_drop(w, name), DIGBY_OK);
            }
        }
        /* and now and then an aborted generation */
        if (g % 23 == 0) {
            digby_txn_abort(w);
            w = NULL;
            TRC(s, digby_txn_begin(s->db, 0, &w), DIGBY_OK);
            TRC(s, digby_table_open(w, "t", 0, &t), DIGBY_OK);
            if (write_gen(s, w, t, g)) goto out;
        }
        TRC(s, digby_txn_commit(w), DIGBY_OK);
        w = NULL;
        wa->last_gen = g;
        pthread_mutex_lock(&s->mu);
        s->commits[0]++;
        pthread_mutex_unlock(&s->mu);
    }
out:
    if (w) digby_txn_abort(w);
    set_stop(s);
    return NULL;
}

static void run_snapshot_test(uint32_t page_size, int nreaders, uint32_t flags)
{
    char path[512];
    digby_db *db;
    digby_options o;
    digby_txn *w;
    digby_table *t;
    shared s;
    pthread_t rt[4], wt;
    thread_arg ra[4];
    writer_arg wa;
    int i;
    long total = 0;
    double t0;

    make_path(path, sizeof(path), "snap");
    memset(&o, 0, sizeof(o));
    o.page_size = page_size;
    o.flags = flags;
    ASSERT_OK(digby_open(path, &o, &db));
    if (flags & DIGBY_OPEN_MMAP) {
        digby_stats st;
        ASSERT_OK(digby_stat(db, &st));
        /* the map is in use where the build can map */
        assert_true((st.mapped_bytes > 0) == (strstr(digby_version(), " mmap") != NULL));
    }
    shared_init(&s, db);
    /* generation 0 */
    ASSERT_OK(digby_txn_begin(db, 0, &w));
    ASSERT_OK(digby_table_open(w, "t", DIGBY_TABLE_CREATE, &t));
    assert_int_equal(write_gen(&s, w, t, 0), 0);
    ASSERT_OK(digby_txn_commit(w));

    memset(&wa, 0, sizeof(wa));
    wa.s = &s;
    wa.gens = (uint64_t)(400 * run_scale());
    if (wa.gens < 60) wa.gens = 60;
    wa.seconds = 6.0;
    t0 = now_s();
    for (i = 0; i < nreaders; i++) {
        ra[i].s = &s;
        ra[i].id = i;
        assert_int_equal(pthread_create(&rt[i], NULL, snapshot_reader, &ra[i]), 0);
    }
    assert_int_equal(pthread_create(&wt, NULL, snapshot_writer, &wa), 0);
    assert_int_equal(pthread_join(wt, NULL), 0);
    for (i = 0; i < nreaders; i++) {
        assert_int_equal(pthread_join(rt[i], NULL), 0);
        total += s.scans[i];
    }
    print_message("page size %u: %llu generations, %d readers, %ld snapshots "
                  "checked, %.1f s\n", page_size ? page_size : 4096,
                  (unsigned long long)wa.last_gen, nreaders, total, now_s() - t0);
    shared_finish(&s);
    assert_true(wa.last_gen >= 50);
    for (i = 0; i < nreaders; i++) assert_true(s.scans[i] >= 1);

    /* the final state is the last generation */
    {
        digby_txn *r;
        void *v;
        size_t vn;
        ASSERT_OK(digby_get(db, S("~count"), &v, &vn, NULL));
        assert_int_equal(vn, 24);
        assert_int_equal(get64((const unsigned char *)v), wa.last_gen);
        digby_free(db, v);
        ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &r));
        ASSERT_OK(digby_table_open(r, "t", 0, &t));
        {
            uint64_t cnt;
            ASSERT_OK(digby_table_count(r, t, &cnt));
            assert_int_equal(cnt, keys_in_gen(wa.last_gen) + 1);
        }
        digby_txn_abort(r);
    }
    check_passes(db);
    ASSERT_OK(digby_close(db));
    /* and after a reopen */
    ASSERT_OK(digby_open(path, NULL, &db));
    check_passes(db);
    {
        void *v;
        size_t vn;
        ASSERT_OK(digby_get(db, S("~count"), &v, &vn, NULL));
        assert_int_equal(get64((const unsigned char *)v), wa.last_gen);
        digby_free(db, v);
    }
    ASSERT_OK(digby_close(db));
    unlink(path);
}

static void test_snapshot_readers(void **state)
{
    (void)state;
    run_snapshot_test(0, 3, 0);
}

/* Small pages: deeper trees, more splits and overflow chains per commit;
   and tree pages read from the memory map (DIGBY_OPEN_MMAP), whose
   verified-page table every thread reads and writes. */
static void test_snapshot_readers_small_pages(void **state)
{
    (void)state;
    run_snapshot_test(512, 2, DIGBY_OPEN_NO_SYNC | DIGBY_OPEN_MMAP);
}

/* ======================================================================== */
/* A second writer waits                                                    */
/* ======================================================================== */

static void *writer_a(void *p)
{
    shared *s = (shared *)p;
    digby_txn *w = NULL;
    TRC(s, digby_txn_begin(s->db, 0, &w), DIGBY_OK);
    TRC(s, digby_txn_put(w, NULL, S("owner"), S("A"), 0), DIGBY_OK);
    pthread_mutex_lock(&s->mu);
    s->a_has_txn = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    sleep_ms(300); /* B is blocked in digby_txn_begin meanwhile */
    TRC(s, digby_txn_put(w, NULL, S("a-was-here"), S("1"), 0), DIGBY_OK);
    pthread_mutex_lock(&s->mu);
    s->a_committing = 1;
    pthread_mutex_unlock(&s->mu);
    TRC(s, digby_txn_commit(w), DIGBY_OK);
    w = NULL;
out:
    if (w) digby_txn_abort(w);
    return NULL;
}

static void *writer_b(void *p)
{
    shared *s = (shared *)p;
    digby_txn *w = NULL;
    const void *v;
    size_t vn;
    double t0, waited;
    int a_committing;
    pthread_mutex_lock(&s->mu);
    while (!s->a_has_txn && !s->stop) pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (stopped(s)) return NULL;
    t0 = now_s();
    TRC(s, digby_txn_begin(s->db, 0, &w), DIGBY_OK);
    waited = now_s() - t0;
    pthread_mutex_lock(&s->mu);
    a_committing = s->a_committing;
    pthread_mutex_unlock(&s->mu);
    TCHECK(s, a_committing, "second writer began while the first was still open");
    TCHECK(s, waited > 0.2, "second writer waited only %.3f s", waited);
    /* it starts from A's commit */
    TRC(s, digby_txn_get(w, NULL, S("owner"), &v, &vn, NULL), DIGBY_OK);
    TCHECK(s, vn == 1 && memcmp(v, "A", 1) == 0, "second writer does not see A's commit");
    TRC(s, digby_txn_get(w, NULL, S("a-was-here"), &v, &vn, NULL), DIGBY_OK);
    TRC(s, digby_txn_put(w, NULL, S("owner"), S("B"), 0), DIGBY_OK);
    TRC(s, digby_txn_commit(w), DIGBY_OK);
    w = NULL;
out:
    if (w) digby_txn_abort(w);
    return NULL;
}

static void test_writer_waits(void **state)
{
    char path[512];
    digby_db *db;
    shared s;
    pthread_t a, b;
    digby_txn *r;
    const void *v;
    size_t vn;
    (void)state;
    make_path(path, sizeof(path), "wait");
    ASSERT_OK(digby_open(path, NULL, &db));
    ASSERT_OK(digby_put(db, S("owner"), S("nobody")));
    shared_init(&s, db);
    assert_int_equal(pthread_create(&b, NULL, writer_b, &s), 0);
    assert_int_equal(pthread_create(&a, NULL, writer_a, &s), 0);
    /* readers are not blocked by the open write transaction */
    pthread_mutex_lock(&s.mu);
    while (!s.a_has_txn && !s.stop) pthread_cond_wait(&s.cv, &s.mu);
    pthread_mutex_unlock(&s.mu);
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_txn_get(r, NULL, S("owner"), &v, &vn, NULL));
    assert_int_equal(vn, 6); /* A's write is not visible yet */
    digby_txn_abort(r);
    assert_int_equal(pthread_join(a, NULL), 0);
    assert_int_equal(pthread_join(b, NULL), 0);
    shared_finish(&s);
    {
        void *pv;
        ASSERT_OK(digby_get(db, S("owner"), &pv, &vn, NULL));
        assert_int_equal(vn, 1);
        assert_memory_equal(pv, "B", 1);
        digby_free(db, pv);
    }
    check_passes(db);
    ASSERT_OK(digby_close(db));
    unlink(path);
}

/* ======================================================================== */
/* Two writers making progress                                              */
/* ======================================================================== */

enum { PER_WRITER_FULL = 150 };
static int PER_WRITER = PER_WRITER_FULL;

static void *counter_writer(void *p)
{
    thread_arg *ca = (thread_arg *)p;
    shared *s = ca->s;
    digby_txn *w = NULL;
    int i;
    uint64_t last_id = 0;
    for (i = 0; i < PER_WRITER && !stopped(s); i++) {
        const void *v;
        size_t vn;
        uint64_t ctr;
        unsigned char buf[8];
        char k[32];
        TRC(s, digby_txn_begin(ARG_DB(ca), 0, &w), DIGBY_OK);
        TCHECK(s, digby_txn_id(w) > last_id, "txn ids must grow");
        last_id = digby_txn_id(w);
        TRC(s, digby_txn_get(w, NULL, S("ctr"), &v, &vn, NULL), DIGBY_OK);
        TCHECK(s, vn == 8, "ctr has %u bytes", (unsigned)vn);
        ctr = get64((const unsigned char *)v);
        put64(buf, ctr + 1);
        sprintf(k, "w%d-%04d", ca->id, i);
        /* NOOVERWRITE: a lost update would show as EXISTS or a low ctr */
        TRC(s, digby_txn_put(w, NULL, k, strlen(k), buf, 8, DIGBY_PUT_NOOVERWRITE), DIGBY_OK);
        if (i % 3 == ca->id) sched_yield();
        TRC(s, digby_txn_put(w, NULL, S("ctr"), buf, 8, 0), DIGBY_OK);
        TRC(s, digby_txn_commit(w), DIGBY_OK);
        w = NULL;
        pthread_mutex_lock(&s->mu);
        s->commits[ca->id]++;
        pthread_mutex_unlock(&s->mu);
    }
out:
    if (w) digby_txn_abort(w);
    return NULL;
}

static void *counter_reader(void *p)
{
    thread_arg *ca = (thread_arg *)p;
    shared *s = ca->s;
    digby_txn *r = NULL;
    digby_cursor *c = NULL;
    uint64_t last = 0;
    long iter = 0;
    while (!stopped(s)) {
        const void *v;
        size_t vn;
        uint64_t ctr, keys = 0, maxval = 0;
        int rc;
        TRC(s, digby_txn_begin(ARG_DB(ca), DIGBY_TXN_READONLY, &r), DIGBY_OK);
        TRC(s, digby_txn_get(r, NULL, S("ctr"), &v, &vn, NULL), DIGBY_OK);
        ctr = get64((const unsigned char *)v);
        TCHECK(s, ctr >= last, "counter went back");
        TRC(s, digby_cursor_open(r, NULL, &c), DIGBY_OK);
        rc = digby_cursor_seek(c, S("w"), DIGBY_SEEK_GE);
        TCHECK(s, rc == DIGBY_OK || (rc == DIGBY_NOTFOUND && ctr == 0),
               "seek w: %s with counter %llu", rc_name(rc), (unsigned long long)ctr);
        for (; rc == DIGBY_OK; rc = digby_cursor_next(c)) {
            const void *k;
            size_t kn;
            uint64_t x;
            TRC(s, digby_cursor_get(c, &k, &kn, &v, &vn, NULL), DIGBY_OK);
            if (kn < 1 || ((const char *)k)[0] != 'w') break;
            x = get64((const unsigned char *)v);
            if (x > maxval) maxval = x;
            keys++;
        }
        TCHECK(s, keys == ctr, "snapshot with counter %llu has %llu keys",
               (unsigned long long)ctr, (unsigned long long)keys);
        TCHECK(s, maxval == ctr, "largest key value %llu, counter %llu",
               (unsigned long long)maxval, (unsigned long long)ctr);
        digby_cursor_close(c);
        c = NULL;
        digby_txn_abort(r);
        r = NULL;
        last = ctr;
        iter++;
    }
out:
    digby_cursor_close(c);
    if (r) digby_txn_abort(r);
    pthread_mutex_lock(&s->mu);
    s->scans[ca->id] = iter;
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Two counter writers and two checking readers, each thread on handle
   h[its id] (all four the same handle in test_two_writers); every
   writer's commits counted, the counter and keys checked at the end. */
static void counter_run(shared *s, digby_db *const h[4], const char *what)
{
    pthread_t wt[2], rt[2];
    thread_arg wa[2], ra[2];
    unsigned char zero[8];
    int i, j;
    memset(zero, 0, sizeof(zero));
    ASSERT_OK(digby_put(h[2], S("ctr"), zero, 8));
    memset(wa, 0, sizeof(wa));
    memset(ra, 0, sizeof(ra));
    shared_init(s, h[0]);
    for (i = 0; i < 2; i++) {
        ra[i].s = s;
        ra[i].id = 2 + i;
        ra[i].db = h[2 + i];
        assert_int_equal(pthread_create(&rt[i], NULL, counter_reader, &ra[i]), 0);
    }
    for (i = 0; i < 2; i++) {
        wa[i].s = s;
        wa[i].id = i;
        wa[i].db = h[i];
        assert_int_equal(pthread_create(&wt[i], NULL, counter_writer, &wa[i]), 0);
    }
    for (i = 0; i < 2; i++) assert_int_equal(pthread_join(wt[i], NULL), 0);
    set_stop(s);
    for (i = 0; i < 2; i++) assert_int_equal(pthread_join(rt[i], NULL), 0);
    print_message("%s: %ld + %ld commits; readers %ld + %ld snapshots\n", what,
                  s->commits[0], s->commits[1], s->scans[2], s->scans[3]);
    shared_finish(s);
    assert_int_equal(s->commits[0], PER_WRITER);
    assert_int_equal(s->commits[1], PER_WRITER);
    for (i = 0; i < 4; i++) {
        void *v;
        size_t vn;
        ASSERT_OK(digby_get(h[i], S("ctr"), &v, &vn, NULL));
        assert_int_equal(get64((const unsigned char *)v), 2 * PER_WRITER);
        digby_free(h[i], v);
    }
    for (i = 0; i < 2; i++)
        for (j = 0; j < PER_WRITER; j++) {
            void *v;
            size_t vn;
            char k[32];
            sprintf(k, "w%d-%04d", i, j);
            ASSERT_OK(digby_get(h[3], k, strlen(k), &v, &vn, NULL));
            digby_free(h[3], v);
        }
    for (i = 0; i < 4; i++) check_passes(h[i]);
}

static void test_two_writers(void **state)
{
    char path[512];
    digby_db *db;
    digby_db *h[4];
    shared s;
    (void)state;
    make_path(path, sizeof(path), "two");
    ASSERT_OK(digby_open(path, NULL, &db));
    h[0] = h[1] = h[2] = h[3] = db;
    counter_run(&s, h, "two writers");
    ASSERT_OK(digby_close(db));
    unlink(path);
}

/* test_two_writers with a handle per thread, as processes sharing the
   file have (48_lockfile.c): writers on two read-write handles take turns
   through the lock file's writer lock, each reloading the freelist the
   other wrote; readers on a third and a read-only fourth handle see each
   commit whole (their handles take in the other's meta pages).  Under
   ThreadSanitizer, the lock file's atomics and each handle's refresh.
   Skipped where handles cannot share (log mode's writer; no lock file). */
static void test_two_handles(void **state)
{
    char path[512];
    digby_db *h[4];
    digby_options ro;
    shared s;
    const digby_vfs *v = digby_vfs_posix();
    int i;
    (void)state;
    if (!v || v->version < 4 || !v->shm_open) {
        print_message("two handles: handles do not share files in this build\n");
        return;
    }
    make_path(path, sizeof(path), "handles");
    memset(&ro, 0, sizeof(ro));
    ro.flags = DIGBY_OPEN_READONLY;
    for (i = 0; i < 3; i++) ASSERT_OK(digby_open(path, NULL, &h[i]));
    ASSERT_OK(digby_open(path, &ro, &h[3]));
    counter_run(&s, h, "two handles");
    for (i = 0; i < 4; i++) ASSERT_OK(digby_close(h[i]));
    unlink(path);
}

/* test_two_handles in log mode (a 64 KiB memtable: checkpoints every few
   dozen commits), and mixed: the writers' commits go to the log, which
   the other handles read on into memtables of their own (48_lockfile.c);
   a writer taking over from the other reads the log to its end and
   appends after it.  mixed: the second writer's handle is copy-on-write,
   so each of its transactions first merges the other's log into the tree
   and the other starts a new log. */
static void two_handles_log(int mixed)
{
    char path[512];
    digby_db *h[4];
    digby_options lg, ro;
    shared s;
    const digby_vfs *v = digby_vfs_posix();
    int i;
    if (!v || v->version < 4 || !v->shm_open) {
        print_message("two handles: handles do not share files in this build\n");
        return;
    }
    make_path(path, sizeof(path), mixed ? "mixed" : "handles-log");
    memset(&lg, 0, sizeof(lg));
    lg.flags = DIGBY_OPEN_LOG;
    lg.memtable_bytes = (size_t)64 << 10;
    ro = lg;
    ro.flags = DIGBY_OPEN_READONLY;
    ASSERT_OK(digby_open(path, &lg, &h[0]));
    if (mixed) ASSERT_OK(digby_open(path, NULL, &h[1]));
    else ASSERT_OK(digby_open(path, &lg, &h[1]));
    ASSERT_OK(digby_open(path, &lg, &h[2]));
    ASSERT_OK(digby_open(path, &ro, &h[3]));
    counter_run(&s, h, mixed ? "two handles, log mode and copy-on-write" : "two handles, log mode");
    for (i = 0; i < 4; i++) ASSERT_OK(digby_close(h[i]));
    unlink(path);
}

static void test_two_handles_log(void **state)
{
    (void)state;
    two_handles_log(0);
}

static void test_two_handles_mixed(void **state)
{
    (void)state;
    two_handles_log(1);
}

#ifdef THREADS_LOG
/* ---- log mode: committing threads and readers across checkpoints ------------

   (tests/torture/tsan_log.c, ThreadSanitizer only: make torture.)  Three
   writer threads commit in log mode (DIGBY_OPEN_LOG, a 64 KiB memtable:
   checkpoints come every few dozen commits), every second commit
   DIGBY_TXN_NO_SYNC; each commit puts one new key "w<id>-<n>" and sets the
   thread's counter "c<id>" = n + 1.  Writer 0 also calls digby_checkpoint
   and writer 1 digby_sync now and then.  Two readers hold each snapshot
   across several commits (and so across checkpoints): in it the "w" keys
   number exactly c0 + c1 + c2, and reading the counters again at the end
   gives what they gave at the start. */
#define LOG_WRITERS 3
#define LOG_PER_WRITER 400

static uint64_t log_ctr(digby_txn *t, int id, int *rc)
{
    char k[8];
    const void *v;
    size_t vn;
    uint64_t n = 0;
    sprintf(k, "c%d", id);
    *rc = digby_txn_get(t, NULL, k, strlen(k), &v, &vn, NULL);
    if (*rc == DIGBY_OK && vn == 8) n = get64((const unsigned char *)v);
    if (*rc == DIGBY_NOTFOUND) *rc = DIGBY_OK;
    return n;
}

static void *log_writer(void *arg)
{
    thread_arg *a = (thread_arg *)arg;
    shared *s = a->s;
    long n, per = (long)(LOG_PER_WRITER * run_scale());
    unsigned char val[300], cnt[8];
    char k[32];
    if (per < 40) per = 40;
    for (n = 0; n < per && !stopped(s); n++) {
        digby_txn *t = NULL;
        sprintf(k, "w%d-%05ld", a->id, n);
        memset(val, 'a' + a->id, sizeof val);
        put64(cnt, (uint64_t)n + 1);
        TRC(s, digby_txn_begin(s->db, n % 2 ? DIGBY_TXN_NO_SYNC : 0, &t), DIGBY_OK);
        TRC(s, digby_txn_put(t, NULL, k, strlen(k), val, sizeof val, 0), DIGBY_OK);
        sprintf(k, "c%d", a->id);
        TRC(s, digby_txn_put(t, NULL, k, strlen(k), cnt, 8, 0), DIGBY_OK);
        TRC(s, digby_txn_commit(t), DIGBY_OK);
        if (a->id == 0 && n % 37 == 36) TRC(s, digby_checkpoint(s->db), DIGBY_OK);
        if (a->id == 1 && n % 23 == 22) TRC(s, digby_sync(s->db), DIGBY_OK);
        pthread_mutex_lock(&s->mu);
        s->commits[a->id]++;
        pthread_mutex_unlock(&s->mu);
    }
out:
    return NULL;
}

static void *log_reader(void *arg)
{
    thread_arg *a = (thread_arg *)arg;
    shared *s = a->s;
    long iter = 0;
    digby_txn *r = NULL;
    digby_cursor *c = NULL;
    while (!stopped(s)) {
        uint64_t before[LOG_WRITERS], sum = 0, keys = 0;
        int i, rc;
        TRC(s, digby_txn_begin(s->db, DIGBY_TXN_READONLY, &r), DIGBY_OK);
        for (i = 0; i < LOG_WRITERS; i++) {
            before[i] = log_ctr(r, i, &rc);
            TRC(s, rc, DIGBY_OK);
            sum += before[i];
        }
        sleep_ms(2); /* commits and checkpoints go on meanwhile */
        TRC(s, digby_cursor_open(r, NULL, &c), DIGBY_OK);
        for (rc = digby_cursor_seek(c, "w", 1, DIGBY_SEEK_GE); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
            const void *k, *v;
            size_t kn, vn;
            TRC(s, digby_cursor_get(c, &k, &kn, &v, &vn, NULL), DIGBY_OK);
            if (kn == 0 || ((const char *)k)[0] != 'w') break;
            TCHECK(s, vn == 300, "value of %u bytes", (unsigned)vn);
            keys++;
        }
        TCHECK(s, rc == DIGBY_OK || rc == DIGBY_NOTFOUND, "scan: %s", rc_name(rc));
        digby_cursor_close(c);
        c = NULL;
        TCHECK(s, keys == sum, "snapshot: %llu w keys, counters say %llu",
               (unsigned long long)keys, (unsigned long long)sum);
        for (i = 0; i < LOG_WRITERS; i++) {
            uint64_t again = log_ctr(r, i, &rc);
            TRC(s, rc, DIGBY_OK);
            TCHECK(s, again == before[i], "counter c%d moved in a snapshot: %llu then %llu", i,
                   (unsigned long long)before[i], (unsigned long long)again);
        }
        digby_txn_abort(r);
        r = NULL;
        iter++;
    }
out:
    if (c) digby_cursor_close(c);
    if (r) digby_txn_abort(r);
    pthread_mutex_lock(&s->mu);
    s->scans[a->id] = iter;
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void test_log_writers_and_checkpoints(void **state)
{
    char path[512];
    digby_db *db;
    digby_options o;
    digby_stats st;
    shared s;
    pthread_t wt[LOG_WRITERS], rt[2];
    thread_arg wa[LOG_WRITERS], ra[2];
    int i, rc;
    uint64_t sum = 0;
    (void)state;
    make_path(path, sizeof(path), "logthreads");
    unlink(path);
    memset(&o, 0, sizeof o);
    o.flags = DIGBY_OPEN_LOG;
    o.memtable_bytes = (size_t)64 << 10;
    ASSERT_OK(digby_open(path, &o, &db));
    shared_init(&s, db);
    for (i = 0; i < 2; i++) {
        ra[i].s = &s;
        ra[i].id = 4 + i;
        assert_int_equal(pthread_create(&rt[i], NULL, log_reader, &ra[i]), 0);
    }
    for (i = 0; i < LOG_WRITERS; i++) {
        wa[i].s = &s;
        wa[i].id = i;
        assert_int_equal(pthread_create(&wt[i], NULL, log_writer, &wa[i]), 0);
    }
    for (i = 0; i < LOG_WRITERS; i++) assert_int_equal(pthread_join(wt[i], NULL), 0);
    set_stop(&s);
    for (i = 0; i < 2; i++) assert_int_equal(pthread_join(rt[i], NULL), 0);
    memset(&st, 0, sizeof st);
    ASSERT_OK(digby_stat(db, &st));
    print_message("log mode: %ld + %ld + %ld commits, %llu checkpoints; readers %ld + %ld "
                  "snapshots\n", s.commits[0], s.commits[1], s.commits[2],
                  (unsigned long long)st.checkpoints, s.scans[4], s.scans[5]);
    shared_finish(&s);
    assert_true(st.checkpoints >= 3);
    for (i = 0; i < LOG_WRITERS; i++) {
        digby_txn *r;
        ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &r));
        sum += log_ctr(r, i, &rc);
        ASSERT_OK(rc);
        digby_txn_abort(r);
        assert_true(s.commits[i] >= 40);
    }
    assert_int_equal(sum, (uint64_t)(s.commits[0] + s.commits[1] + s.commits[2]));
    check_passes(db);
    ASSERT_OK(digby_close(db));
    unlink(path);
}
#endif

/* ======================================================================== */
/* Group commit (log mode)                                                  */
/* ======================================================================== */

enum { GC_THREADS = 4 };
static int GC_PER = 150;
static const digby_vfs *gc_posix;
static pthread_mutex_t gc_mu = PTHREAD_MUTEX_INITIALIZER;
static long gc_hook_calls, gc_durable;

/* The POSIX VFS with a sync that also takes a millisecond (a disk's
   flush), so that commits from several threads meet at it. */
static int gc_slow_sync(digby_file *f)
{
    int rc = gc_posix->sync(f);
    sleep_ms(1);
    return rc;
}

static void gc_hook(void *ctx, uint64_t txid)
{
    (void)ctx;
    (void)txid;
    pthread_mutex_lock(&gc_mu);
    gc_hook_calls++;
    pthread_mutex_unlock(&gc_mu);
}

static void *gc_writer(void *arg)
{
    thread_arg *a = (thread_arg *)arg;
    shared *s = a->s;
    digby_txn *t = NULL;
    char k[32];
    int i;
    for (i = 0; i < GC_PER && !stopped(s); i++) {
        /* thread 3: every other commit asks for no sync */
        unsigned flags = a->id == 3 && (i & 1) ? DIGBY_TXN_NO_SYNC : 0;
        sprintf(k, "g%d-%05d", a->id, i);
        TRC(s, digby_txn_begin(s->db, flags, &t), DIGBY_OK);
        TRC(s, digby_txn_put(t, NULL, k, strlen(k), k, strlen(k), 0), DIGBY_OK);
        TRC(s, digby_txn_commit(t), DIGBY_OK);
        t = NULL;
        pthread_mutex_lock(&s->mu);
        s->commits[a->id]++;
        pthread_mutex_unlock(&s->mu);
        if (!flags) {
            pthread_mutex_lock(&gc_mu);
            gc_durable++;
            pthread_mutex_unlock(&gc_mu);
        }
    }
out:
    if (t) digby_txn_abort(t);
    return NULL;
}

/* Snapshots only grow: each one has at least as many keys as the one
   before, and its txid is no smaller. */
static void *gc_reader(void *arg)
{
    thread_arg *a = (thread_arg *)arg;
    shared *s = a->s;
    digby_txn *r = NULL;
    digby_cursor *c = NULL;
    long last_n = 0, iter = 0;
    uint64_t last_id = 0;
    while (!stopped(s)) {
        long n = 0;
        int rc;
        TRC(s, digby_txn_begin(s->db, DIGBY_TXN_READONLY, &r), DIGBY_OK);
        TCHECK(s, digby_txn_id(r) >= last_id, "snapshot txid went back");
        last_id = digby_txn_id(r);
        TRC(s, digby_cursor_open(r, NULL, &c), DIGBY_OK);
        for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) n++;
        TRC(s, rc, DIGBY_NOTFOUND);
        TCHECK(s, n >= last_n, "snapshot lost keys: %ld after %ld", n, last_n);
        last_n = n;
        digby_cursor_close(c);
        c = NULL;
        digby_txn_abort(r);
        r = NULL;
        iter++;
    }
out:
    digby_cursor_close(c);
    if (r) digby_txn_abort(r);
    pthread_mutex_lock(&s->mu);
    s->scans[a->id] = iter;
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void test_group_commit(void **state)
{
    char path[512], k[32];
    digby_options o;
    digby_vfs vfs;
    digby_db *db;
    digby_stats st;
    shared s;
    pthread_t wt[GC_THREADS], rt;
    thread_arg wa[GC_THREADS], ra;
    long total = 0;
    int i, j;
    (void)state;
    gc_posix = digby_vfs_posix();
    vfs = *gc_posix;
    vfs.sync = gc_slow_sync;
    memset(&o, 0, sizeof(o));
    o.vfs = &vfs;
    o.flags = DIGBY_OPEN_LOG;
    o.on_commit = gc_hook;
    make_path(path, sizeof(path), "group");
    unlink(path);
    ASSERT_OK(digby_open(path, &o, &db));
    gc_hook_calls = gc_durable = 0;
    shared_init(&s, db);
    ra.s = &s;
    ra.id = 4;
    assert_int_equal(pthread_create(&rt, NULL, gc_reader, &ra), 0);
    for (i = 0; i < GC_THREADS; i++) {
        wa[i].s = &s;
        wa[i].id = i;
        assert_int_equal(pthread_create(&wt[i], NULL, gc_writer, &wa[i]), 0);
    }
    for (i = 0; i < GC_THREADS; i++) assert_int_equal(pthread_join(wt[i], NULL), 0);
    set_stop(&s);
    assert_int_equal(pthread_join(rt, NULL), 0);
    for (i = 0; i < GC_THREADS; i++) total += s.commits[i];
    shared_finish(&s);
    assert_int_equal(total, GC_THREADS * GC_PER);
    ASSERT_OK(digby_stat(db, &st));
    print_message("group commit: %ld commits (%ld durable) in %llu log syncs; reader %ld snapshots\n",
                  total, gc_durable, (unsigned long long)st.log_syncs, s.scans[4]);
    /* syncs shared: fewer than the durable commits (4 threads against a
       1 ms sync meet there nearly every time) */
    assert_true(st.log_syncs > 0);
    assert_true((long)st.log_syncs < gc_durable);
    assert_int_equal(gc_hook_calls, gc_durable);
    check_passes(db);
    ASSERT_OK(digby_close(db));
    o.on_commit = NULL;
    ASSERT_OK(digby_open(path, &o, &db));
    for (i = 0; i < GC_THREADS; i++)
        for (j = 0; j < GC_PER; j++) {
            void *v;
            size_t vn;
            sprintf(k, "g%d-%05d", i, j);
            ASSERT_OK(digby_get(db, k, strlen(k), &v, &vn, NULL));
            assert_memory_equal(v, k, vn);
            digby_free(db, v);
        }
    check_passes(db);
    ASSERT_OK(digby_close(db));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_readers),
        cmocka_unit_test(test_snapshot_readers_small_pages),
        cmocka_unit_test(test_writer_waits),
        cmocka_unit_test(test_two_writers),
        cmocka_unit_test(test_two_handles),
        cmocka_unit_test(test_two_handles_log),
        cmocka_unit_test(test_two_handles_mixed),
        cmocka_unit_test(test_group_commit),
#ifdef THREADS_LOG
        cmocka_unit_test(test_log_writers_and_checkpoints),
#endif
    };
    PER_WRITER = (int)(PER_WRITER_FULL * run_scale());
    if (PER_WRITER < 20) PER_WRITER = 20;
    GC_PER = (int)(GC_PER * run_scale());
    if (GC_PER < 20) GC_PER = 20;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
