/* tests/crash.c -- power cut at every write and sync (STYLE.md section 10).

   The fault-injecting in-memory VFS (tests/fault_vfs.h) keeps, per file, a
   durable image and the list of writes (and truncates) since the last
   sync.  A fixed workload of a few hundred transactions (tests/crash_model.h:
   puts, overwrites, deletes, range deletes, overflow values, large keys,
   lz4 compression of half the values, table create/drop, aborts; here
   also reopens, checkpoints and compactions in place) runs
   once to count the VFS's write, sync and truncate calls.  Then, for every
   such call k, the workload runs again from scratch and power is cut at
   call k: that call and every later call (reads included) fail with
   DIGBY_IOERR, and the workload stops at the first error.  The unsynced
   writes are then resolved four ways:
     (a) all dropped                     -> the durable image
     (b) all kept                        -> the image the process saw
     (c) all kept except the last write, which is torn at 512-byte sector
         granularity: a prefix of its sectors is new, the rest old (up to
         three tear points: first, middle and last sector boundary; a write
         inside one sector is torn by dropping it whole)
     (d) kept in another order: two pseudo-random subsets of the unsynced
         writes (each kept with probability 1/2), as a disk that reorders
         writes between syncs would leave them
   Each distinct resulting image is opened with digby_open() through a fresh
   VFS, and must: open; equal exactly the model state after the last commit
   that returned DIGBY_OK, or the state of the commit in flight at the cut;
   pass digby_check(); accept a new write transaction.

   tests/torture/faults.c sweeps the same VFS and model at full size
   (W1000, make torture).

   Environment:
     DIGBY_TEST_SEED  workload seed (default fixed)
     DIGBY_TEST_ASAN  if set (or built with ASan), sweep every
                      CRASH_ASAN_STEP-th call only
     DIGBY_TEST_CRASH_STEP  sweep every n-th call (overrides the above)
     DIGBY_TEST_CRASH_FROM  start the sweep at this call (to rerun a failure)

   Printed: the number of crash points and crash states checked. */

#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "seen_errors.h" /* the results the sweep sees, for doc_errors.py */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define PAGE_SIZE 1024u
#define NTXN 220
#define REOPEN_EVERY 50
#define CRASH_ASAN_STEP 1
#define DEFAULT_SEED 0x00c7a54d00d1b100ULL
#define MAX_REPORTED 12
#define REORDER_STATES 2

/* The workload: 4 trees (global + 3 named), 300 keys; 6% of transactions
   40-79 operations, the rest 1-12; 50% puts, 15% overwrites, 25% deletes,
   10% gets. */
#define MODEL_TREES 4
#define MODEL_KEYS 300
#define MODEL_KEY_BYTES 700
#define MODEL_BIG_TXN 40
#define MODEL_SMALL_TXN 12
#define MODEL_DELETE_BELOW 90
#define RANGE_PM 15 /* 1.5% of operations: digby_txn_delete_range */
#include "crash_model.h" /* and fault_vfs.h */

static void fv_out_of_memory(const char *what)
{
    print_error("crash: out of memory (%s)\n", what);
    fail();
}

/* The encrypted sweep's key (NULL: plain files) and its stride. */
static const uint8_t *g_key;
static size_t g_key_bytes;
static uint64_t g_min_step = 1;
#ifndef CRASH_STEP_SCALE
#define CRASH_STEP_SCALE 1 /* tests/crash_log.c sweeps every fourth call */
#endif

/* ---- the power cut: at the cut_at-th write, sync or truncate ------------- */

/* The fault VFS's hook state (hook_ctx): counts write, sync and truncate
   calls and cuts the power at call cut_at.  The counting run records each
   call's (kind, offset, length); a rerun that calls otherwise before its cut
   is nondeterministic. */
typedef struct cutter {
    uint64_t calls;          /* counted: write, sync, truncate */
    uint64_t cut_at;         /* index of the refused call; UINT64_MAX: never */
    int cut_in_close;        /* the cut call came from digby_close */
    int in_close;            /* set by the workload around digby_close */
    uint64_t n_write, n_sync, n_trunc;
    uint64_t *trace;
    size_t ntrace, trace_cap;
    int recording;
    int diverged;
    uint64_t diverged_at;
} cutter;

static uint64_t call_hash(int kind, uint64_t off, uint64_t len)
{
    uint64_t s = ((uint64_t)kind << 56) ^ (off * 0x100000001B3ULL) ^ (len << 20);
    return splitmix(&s);
}

static int cut_hook(fvfs *v, int kind, uint64_t off, uint64_t len)
{
    cutter *c = (cutter *)v->hook_ctx;
    uint64_t idx, h;
    if (kind != FV_WRITE && kind != FV_SYNC && kind != FV_TRUNC) return F_NONE;
    idx = c->calls++;
    h = call_hash(kind, off, len);
    if (c->recording) {
        if (c->ntrace == c->trace_cap) {
            size_t cap = c->trace_cap ? c->trace_cap * 2 : 1024;
            uint64_t *p = (uint64_t *)realloc(c->trace, cap * sizeof(uint64_t));
            if (!p) return F_EIO;
            c->trace = p;
            c->trace_cap = cap;
        }
        c->trace[c->ntrace++] = h;
    } else if (c->trace && !c->diverged && (idx >= c->ntrace || c->trace[idx] != h)) {
        c->diverged = 1;
        c->diverged_at = idx;
    }
    if (idx >= c->cut_at) {
        c->cut_in_close = c->in_close;
        return F_CUT;
    }
    if (kind == FV_WRITE) c->n_write++;
    else if (kind == FV_SYNC) c->n_sync++;
    else c->n_trunc++;
    return F_NONE;
}

/* A fault VFS that cuts at call cut_at (UINT64_MAX: never). */
static fvfs *cut_vfs(cutter *c, uint64_t cut_at)
{
    fvfs *v = fv_new();
    memset(c, 0, sizeof *c);
    c->cut_at = cut_at;
    v->hook = cut_hook;
    v->hook_ctx = c;
    return v;
}

/* ---- the workload --------------------------------------------------------- */

static uint32_t wvlen(wl *w)
{
    size_t r = wbelow(w, 100);
    if (r < 60) return (uint32_t)wbelow(w, 41);
    if (r < 88) return (uint32_t)(41 + wbelow(w, 260));
    return (uint32_t)(1000 + wbelow(w, 3001)); /* overflow pages at 1 KiB */
}
#define VALUE_SCRATCH 8192 /* more than wvlen's longest */

/* Sorted, distinct keys with shared prefixes; one of max_key bytes, and
   large keys (longer than max_key: in overflow pages) that tie on their
   first 200 bytes or on more than max_key. */
static void gen_keys(mkey *keys, uint64_t seed, size_t max_key)
{
    uint64_t s = seed ^ 0x1234567ULL;
    size_t n, j;
    if (max_key > sizeof keys[0].p - 300) max_key = sizeof keys[0].p - 300;
    n = model_keys_begin(keys, max_key);
    while (n < 24) {
        size_t base = n % 2 ? 200 : max_key + 20;
        size_t len = (n % 2 ? max_key : base) + 1 + (size_t)(splitmix(&s) % 280);
        memset(keys[n].p, n % 2 ? 'L' : 'T', base);
        for (j = base; j < len; j++) keys[n].p[j] = (unsigned char)('a' + splitmix(&s) % 3);
        keys[n].n = len;
        n = model_key_keep(keys, n);
    }
    model_keys_finish(keys, n, &s, max_key, 120);
}

/* One write transaction; returns 1 when the workload must stop. */
static int w_txn(wl *w)
{
    uint64_t txid;
    if (w_begin(w, &txid) || w_ops(w, txid)) return 1;
    return w_end(w);
}

static int w_close(wl *w)
{
    cutter *c = (cutter *)w->fv->hook_ctx;
    int rc;
    c->in_close = 1;
    rc = digby_close(w->db);
    c->in_close = 0;
    w->db = NULL;
    return rc;
}

/* Run the workload against v until the end or the first error. */
static void run_workload(wl *w, fvfs *v, const mkey *keys, uint64_t seed)
{
    int i, rc;
    memset(w, 0, sizeof *w);
    w->rng = seed;
    w->fv = v;
    w->vfs = &v->vfs;
    w->path = "crash.db";
    w->keys = keys;
    w->vb = (unsigned char *)fv_xmalloc(VALUE_SCRATCH);
    w->vlen = wvlen;
    w->wrong_rc = DIGBY_OK; /* a wrong value stops the workload with no error */
    w->range_pm = RANGE_PM;
    w->opts.page_size = PAGE_SIZE;
    w->opts.key = g_key;
    w->opts.key_bytes = g_key_bytes;
    w->opts.cache_bytes = 16 * PAGE_SIZE;
    w->opts.compression = DIGBY_COMPRESS_LZ4;
    w->opts.vfs = w->vfs;
#ifdef CRASH_MEMTABLE_BYTES
    w->opts.memtable_bytes = CRASH_MEMTABLE_BYTES;
#endif
    w->cm.exists[0] = w->com.exists[0] = 1;
    rc = digby_open(w->path, &w->opts, &w->db);
    if (rc != DIGBY_OK) {
        wstop(w, rc, "first open");
        w->db = NULL;
    }
    for (i = 0; i < NTXN && !w->stopped; i++) {
        if (i > 0 && i % REOPEN_EVERY == 0) {
            rc = w_close(w);
            if (rc != DIGBY_OK) {
                wstop(w, rc, "close before reopen");
                break;
            }
            rc = digby_open(w->path, &w->opts, &w->db);
            if (rc != DIGBY_OK) {
                w->db = NULL;
                wstop(w, rc, "reopen");
                break;
            }
        }
        w_txn(w);
        if (!w->stopped) w->ntxn_done++;
        /* now and then a checkpoint or a sync of its own (log mode: the
           memtable merged into the tree, no-sync commits made durable;
           nothing to do in copy-on-write mode) */
        if (!w->stopped && i % 23 == 11) {
            rc = digby_checkpoint(w->db);
            if (rc != DIGBY_OK) wstop(w, rc, "checkpoint");
        }
        if (!w->stopped && i % 31 == 7) {
            rc = digby_sync(w->db);
            if (rc != DIGBY_OK) wstop(w, rc, "sync");
        }
        /* and a compaction in place (its merge, relocation and shrink
           commits and the truncation; every other one only gives back a
           free tail): the state must stay the last commit's */
        if (!w->stopped && i % 29 == 19) {
            w->in_commit = 1; /* it commits (the state stays the same) */
            rc = digby_compact(w->db, i % 58 == 48 ? DIGBY_COMPACT_TRUNCATE_ONLY : 0, NULL);
            if (rc != DIGBY_OK) wstop(w, rc, "compact");
            else w->in_commit = 0;
        }
    }
    if (w->txn) digby_txn_abort(w->txn);
    w->txn = NULL;
    if (w->db) (void)w_close(w);
    free(w->vb);
    w->vb = NULL;
}

/* ---- verification of one crash state ----------------------------------- */

typedef struct sweep {
    const mkey *keys;
    uint64_t points, states, match_old, match_new, failures;
    uint64_t points_in_commit, points_write, points_sync, points_trunc;
    uint64_t states_a, states_b, states_torn, states_reorder;
    uint64_t nondeterministic, swallowed;
} sweep;

static void report(sweep *s, uint64_t k, const char *state, const wl *w,
                   const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    s->failures++;
    if (s->failures > MAX_REPORTED) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_error("crash: FAIL at call %llu (state %s; workload stopped in %s with "
                "%s after %d txns%s): %s\n",
                (unsigned long long)k, state,
                w->stop_where ? w->stop_where : "-",
                digby_strerror(w->stop_rc), w->ntxn_done,
                w->in_commit ? ", commit in flight" : "", msg);
}


/* Open the image through a fresh VFS and check it. */
static void check_state(sweep *s, uint64_t k, const char *state, const wl *w,
                        const fvfs *crashed, const img *images)
{
    fvfs *v = fv_from_images(crashed, images);
    digby_db *db = NULL;
    digby_options o;
    digby_check_report rep;
    write_after wa;
    unsigned char *vb = (unsigned char *)fv_xmalloc(VALUE_SCRATCH);
    char why_old[300], why_new[300];
    int rc;
    s->states++;
    memset(&o, 0, sizeof o);
    o.vfs = &v->vfs;
    o.page_size = PAGE_SIZE;
    o.key = g_key;
    o.key_bytes = g_key_bytes;
    rc = digby_open("crash.db", &o, &db);
    if (rc != DIGBY_OK) {
        report(s, k, state, w, "digby_open returned %s", digby_strerror(rc));
        fv_free(v);
        free(vb);
        return;
    }
    if (db_equals(db, s->keys, &w->com, vb, why_old, sizeof why_old)) {
        s->match_old++;
    } else if (w->have_inflight &&
               db_equals(db, s->keys, &w->inflight, vb, why_new, sizeof why_new)) {
        s->match_new++;
    } else {
        digby_stats st;
        memset(&st, 0, sizeof st);
        digby_stat(db, &st);
        report(s, k, state, w, "contents match neither the last commit (%s)%s%s "
               "[opened txid %llu, discarded %llu]",
               why_old, w->have_inflight ? " nor the commit in flight: " : "",
               w->have_inflight ? why_new : "", (unsigned long long)st.last_txid,
               (unsigned long long)st.discarded_txid);
    }
    free(vb);
    memset(&rep, 0, sizeof rep);
    rc = digby_check(db, &rep);
    if (rc != DIGBY_OK)
        report(s, k, state, w, "digby_check: %s: page %llu: %s",
               digby_strerror(rc), (unsigned long long)rep.bad_pgno, rep.message);
    /* the database takes a new write transaction */
    model_write_after(db, "after-crash", &wa);
    if (wa.write_rc != DIGBY_OK) {
        report(s, k, state, w, "write after recovery: %s", digby_strerror(wa.write_rc));
    } else {
        if (wa.read_rc != DIGBY_OK)
            report(s, k, state, w, "reading the write after recovery: %s",
                   digby_strerror(wa.read_rc));
        if (wa.check_rc != DIGBY_OK)
            report(s, k, state, w, "digby_check after the new write: %s: %s",
                   digby_strerror(wa.check_rc), wa.rep.message);
    }
    rc = digby_close(db);
    if (rc != DIGBY_OK) report(s, k, state, w, "close: %s", digby_strerror(rc));
    fv_free(v);
}

/* Build the crash states for the stopped run and check each distinct one. */
static void check_crash_point(sweep *s, uint64_t k, const wl *w, const fvfs *v)
{
    fv_states *st = (fv_states *)calloc(1, sizeof *st);
    int j;
    if (!st) fv_out_of_memory("crash states");
    fv_states_start(st, v); /* (a) dropped, (b) kept, (c) torn */
    /* (d) kept in another order: random subsets of the unsynced writes */
    for (j = 0; j < REORDER_STATES; j++) {
        uint64_t rng = k * 0x9E3779B97F4A7C15ull + (uint64_t)j + 1;
        fv_states_reordered(st, v, &rng);
    }
    for (j = 0; j < st->n; j++) {
        if (fv_states_dup(st, j, v->nfiles)) continue;
        if (st->name[j][0] == 'a') s->states_a++;
        else if (st->name[j][0] == 'b') s->states_b++;
        else if (st->name[j][0] == 'd') s->states_reorder++;
        else s->states_torn++;
        check_state(s, k, st->name[j], w, v, st->st[j]);
    }
    fv_states_free(st);
    free(st);
}

static uint64_t env_seed(void)
{
    const char *s = getenv("DIGBY_TEST_SEED");
    return s && *s ? (uint64_t)strtoull(s, NULL, 0) : DEFAULT_SEED;
}

static void test_crash_sweep(void **state)
{
    uint64_t seed = env_seed(), total, k, step = 1;
    mkey *keys = (mkey *)calloc(MODEL_KEYS, sizeof(mkey));
    cutter cnt;
    fvfs *v;
    wl *w = (wl *)calloc(1, sizeof(wl));
    sweep s;
    size_t max_key;
    const char *env;
    (void)state;
    assert_non_null(keys);
    assert_non_null(w);

    /* max key length for this page size, from a scratch database */
    {
        digby_vfs *mv = NULL;
        digby_db *db = NULL;
        digby_options o;
        memset(&o, 0, sizeof o);
        assert_int_equal(digby_vfs_mem_create(NULL, &mv), DIGBY_OK);
        o.vfs = mv;
        o.page_size = PAGE_SIZE;
        o.key = g_key;
        o.key_bytes = g_key_bytes;
        assert_int_equal(digby_open("k.db", &o, &db), DIGBY_OK);
        max_key = digby_max_key_bytes(db);
        assert_int_equal(digby_close(db), DIGBY_OK);
        digby_vfs_mem_destroy(mv);
    }
    gen_keys(keys, seed, max_key);

    /* counting run */
    v = cut_vfs(&cnt, UINT64_MAX);
    cnt.recording = 1;
    run_workload(w, v, keys, seed);
    if (w->stopped)
        fail_msg("workload failed without a power cut: %s in %s", digby_strerror(w->stop_rc),
                 w->stop_where);
    total = cnt.calls;
    print_message("crash: seed=0x%016llx workload: %d txns (%llu commits, %llu "
                  "aborts; %llu range deletes of %llu keys), %llu VFS calls to cut "
                  "at (%llu writes, %llu syncs, %llu truncates)\n",
                  (unsigned long long)seed, w->ntxn_done,
                  (unsigned long long)w->commits, (unsigned long long)w->aborts,
                  (unsigned long long)w->ranges, (unsigned long long)w->range_keys,
                  (unsigned long long)total, (unsigned long long)cnt.n_write,
                  (unsigned long long)cnt.n_sync, (unsigned long long)cnt.n_trunc);
    memset(&s, 0, sizeof s);
    s.keys = keys;
    /* the finished file itself */
    {
        img images[FV_MAX_FILES];
        int i;
        memset(images, 0, sizeof images);
        for (i = 0; i < v->nfiles; i++) {
            img_copy(&images[i], &v->files[i].dur);
            apply_ops(&images[i], &v->files[i], v->files[i].nops);
        }
        check_state(&s, total, "final", w, v, images);
        for (i = 0; i < FV_MAX_FILES; i++) img_free(&images[i]);
        if (s.failures) fail_msg("the uncrashed workload's file is wrong (%llu failures)",
                                 (unsigned long long)s.failures);
        memset(&s, 0, sizeof s);
        s.keys = keys;
    }

    env = getenv("DIGBY_TEST_ASAN");
    if (UNDER_ASAN || (env && *env)) step = CRASH_ASAN_STEP;
    env = getenv("DIGBY_TEST_CRASH_STEP");
    if (env && *env) step = strtoull(env, NULL, 0);
    else step *= CRASH_STEP_SCALE;
    if (step < g_min_step) step = g_min_step;
    if (step < 1) step = 1;
    env = getenv("DIGBY_TEST_CRASH_FROM"); /* start the sweep at this call */
    k = (env && *env) ? strtoull(env, NULL, 0) : 0;

    for (; k < total; k += step) {
        cutter cc;
        fvfs *cv = cut_vfs(&cc, k);
        cc.trace = cnt.trace; /* borrowed: compared, not freed */
        cc.ntrace = cnt.ntrace;
        run_workload(w, cv, keys, seed);
        s.points++;
        if (cv->inj_kind == FV_SYNC) s.points_sync++;
        else if (cv->inj_kind == FV_TRUNC) s.points_trunc++;
        else s.points_write++;
        if (w->in_commit) s.points_in_commit++;
        if (cc.diverged && cc.diverged_at < k) {
            s.nondeterministic++;
            report(&s, k, "-", w, "the VFS call sequence differs from the counting "
                   "run at call %llu (nondeterministic engine?)",
                   (unsigned long long)cc.diverged_at);
        }
        if (w->stopped && (!cv->cut || w->stop_rc == DIGBY_OK)) {
            report(&s, k, "-", w, "the workload failed in %s (%s) for a reason "
                   "other than the power cut", w->stop_where,
                   digby_strerror(w->stop_rc));
        } else if (!cv->cut) {
            report(&s, k, "-", w, "the workload never reached call %llu", (unsigned long long)k);
        } else if (!w->stopped && !cc.cut_in_close) {
            /* a refused write or sync that no API call reported */
            s.swallowed++;
            report(&s, k, "-", w, "call %llu (%s) failed but every API call returned "
                   "success", (unsigned long long)k, fv_kind_names[cv->inj_kind]);
        }
        check_crash_point(&s, k, w, cv);
        fv_free(cv);
    }
    print_message("crash: %llu crash points checked (every %llu. of %llu calls: %llu "
                  "writes, %llu syncs, %llu truncates; %llu inside a commit), %llu "
                  "crash states checked (%llu all-dropped, %llu all-kept, %llu torn, %llu reordered; "
                  "duplicates skipped): %llu matched the last commit, %llu the commit "
                  "in flight; %llu failures\n",
                  (unsigned long long)s.points, (unsigned long long)step,
                  (unsigned long long)total, (unsigned long long)s.points_write,
                  (unsigned long long)s.points_sync, (unsigned long long)s.points_trunc,
                  (unsigned long long)s.points_in_commit, (unsigned long long)s.states,
                  (unsigned long long)s.states_a, (unsigned long long)s.states_b,
                  (unsigned long long)s.states_torn, (unsigned long long)s.states_reorder,
                  (unsigned long long)s.match_old,
                  (unsigned long long)s.match_new, (unsigned long long)s.failures);
    fv_free(v);
    free(cnt.trace);
    free(keys);
    free(w);
    if (s.failures)
        fail_msg("%llu crash-state failures (first %d printed above); seed=0x%016llx",
                 (unsigned long long)s.failures, MAX_REPORTED, (unsigned long long)seed);
}

/* The same sweep on an AES-256-GCM file (lz4 on, as in the plain sweep):
   every page sealed with a random nonce, verified by its tag at open.
   Every second crash point (every sixth under ASan): AES makes each rerun
   slower. */
static void test_crash_sweep_encrypted(void **state)
{
    static const uint8_t key[32] = {
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
    g_key = key;
    g_key_bytes = sizeof key;
    g_min_step = UNDER_ASAN ? 6 : 2; /* keeps make test within its budget */
    test_crash_sweep(state);
    g_key = NULL;
    g_key_bytes = 0;
    g_min_step = 1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#ifndef DIGBY_CRYPTO_OPENSSL /* openssl-crash: only what the backend changes */
        cmocka_unit_test(test_crash_sweep),
#endif
        cmocka_unit_test(test_crash_sweep_encrypted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
