/* tests/record_crash.h -- power cut at every write and sync of a record
   workload (test_record_crash_sweep, run by tests/record.c): the crash
   rc_sweep of tests/crash.c on the record layer.  Include after
   tests/harness.h and tests/record_ref.h.

   The workload: a record table (a two-column key, a non-unique index on
   two columns, a unique one) on 512-byte pages, 80 write transactions of
   1..12 inserts, updates (of key and non-key columns), upserts and deletes,
   5% aborted, a reopen every 20; along the way ADD COLUMN, an index built
   from the rows and an index dropped, each in a transaction of its own.
   Every result is compared with the reference (tests/record_ref.h).  As in
   crash.c, a counting run finds the VFS's write, sync and truncate calls;
   then for each call k the workload runs again and power is cut there,
   and every crash state (unsynced writes dropped, kept, torn, reordered:
   tests/fault_vfs.h) must open, hold exactly the rows of the last commit
   that returned DIGBY_OK or of the commit in flight (the stored rc_schema
   equal to that commit's), pass digby_check() -- which proves every row
   has exactly its index entries and every entry its row -- and take a new
   row in a new write transaction.

   Environment:
     DIGBY_TEST_SEED        workload seed (default fixed)
     DIGBY_TEST_CRASH_STEP  rc_sweep every n-th call (default 1; 2 under ASan)
   Printed: crash points and states checked. */

#ifndef DIGBY_TESTS_RECORD_CRASH_H
#define DIGBY_TESTS_RECORD_CRASH_H

#include "fault_vfs.h"

#define rc_PAGE_SIZE 512u
#define rc_NTXN 80
#define rc_REOPEN_EVERY 20
#define rc_ASAN_STEP 2
#define rc_EIO_STEP 3
#define rc_DEFAULT_SEED 0x00c7a54d0ec0bd12ULL
#define rc_MAX_REPORTED 12

static void fv_out_of_memory(const char *what)
{
    print_error("record_crash: out of memory (%s)\n", what);
    fail();
}

/* ---- the power cut (as crash.c's): the cut_at-th write, sync or truncate - */

typedef struct rc_cutter {
    uint64_t calls, cut_at;
    int io_errors;     /* 0: a power cut at a write, sync or truncate; 1: one
                          I/O error (DIGBY_FULL at every other write) at any
                          call but a lock, then the disk works again */
} rc_cutter;

static int rc_cut_hook(fvfs *v, int kind, uint64_t off, uint64_t len)
{
    rc_cutter *c = (rc_cutter *)v->hook_ctx;
    (void)off;
    (void)len;
    if (c->io_errors) {
        if (kind == FV_LOCK || c->calls++ != c->cut_at) return F_NONE;
        return kind == FV_WRITE && c->cut_at % 2 == 0 ? F_FULL : F_EIO;
    }
    if (kind != FV_WRITE && kind != FV_SYNC && kind != FV_TRUNC) return F_NONE;
    return c->calls++ >= c->cut_at ? F_CUT : F_NONE;
}

static fvfs *rc_cut_vfs(rc_cutter *c, uint64_t cut_at, int io_errors)
{
    fvfs *v = fv_new();
    memset(c, 0, sizeof *c);
    c->cut_at = cut_at;
    c->io_errors = io_errors;
    v->hook = rc_cut_hook;
    v->hook_ctx = c;
    return v;
}

/* ---- the workload ------------------------------------------------------- */

typedef struct rc_wl {
    uint64_t rng;
    digby_options o;
    digby_db *db;
    digby_txn *txn;
    digby_rtable *rt;
    rr_model cur, com, inflight;
    int have_table;        /* the table's creation committed */
    int have_inflight, in_commit, stopped, wrong, ntxn_done;
    int stop_rc;
    const char *stop_where;
} rc_wl;

static uint64_t rc_wrnd(void *ctx)
{
    return splitmix(&((rc_wl *)ctx)->rng);
}

static uint64_t rc_wbelow(rc_wl *w, uint64_t n) { return rc_wrnd(w) % n; }

/* The workload stops at the first error (the power cut, normally). */
static int rc_wstop(rc_wl *w, int rc, const char *where)
{
    if (!w->stopped) {
        w->stopped = 1;
        w->stop_rc = rc;
        w->stop_where = where;
    }
    return 1;
}

/* A result the reference did not expect (the power cut gives errors, never
   a different success). */
static int rc_wresult(rc_wl *w, int rc, int want, const char *where)
{
    if (rc == want) return 0;
    if (rc != DIGBY_IOERR && rc != DIGBY_FULL && rc != DIGBY_POISONED) w->wrong = 1;
    return rc_wstop(w, rc, where);
}

static void rc_schema(rr_schema *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->dom = RR_WIDE;
    sc->ncols = 4;
    sc->type[0] = DIGBY_TUPLE_STRING;
    sc->type[1] = DIGBY_TUPLE_INT;
    sc->type[2] = DIGBY_TUPLE_BYTES;
    sc->type[3] = DIGBY_TUPLE_DOUBLE;
    sc->notnull[0] = sc->notnull[1] = 1;
    sc->nkey = 2;
    sc->key[0] = 1;
    sc->key[1] = 0;
    sc->nidx = 2;
    sc->idx_n[0] = 2;
    sc->idx_col[0][0] = 2;
    sc->idx_col[0][1] = 3;
    sc->idx_n[1] = 1;
    sc->idx_col[1][0] = 3;
    sc->idx_unique[1] = 1;
    sc->idx_id[0] = 0;
    sc->idx_id[1] = 1;
    sc->next_idx_id = 2;
    rr_api(sc);
}

static void rc_w_row(rc_wl *w, uint8_t *row)
{
    int c;
    memset(row, 0, RR_MAXCOLS);
    for (c = 0; c < w->cur.sc.ncols; c++)
        row[c] = w->cur.sc.notnull[c] || rc_wbelow(w, 4)
                     ? (uint8_t)(1 + rc_wbelow(w, (uint64_t)rr_dom(&w->cur.sc, w->cur.sc.type[c])))
                     : 0;
}

/* One record write; returns 1 when the workload must stop. */
static int rc_w_op(rc_wl *w)
{
    uint8_t row[RR_MAXCOLS], keyrow[RR_MAXCOLS];
    digby_tuple_item it[RR_MAXCOLS], key[RR_MAXKEY];
    rr_expect e;
    uint64_t r = rc_wbelow(w, 100);
    int rc, n = w->cur.sc.ncols;
    if (r < 55 || !w->cur.nrows) {
        rc_w_row(w, row);
        e = rr_expect_insert(&w->cur, row);
        rr_items(&w->cur, row, it);
        rc = digby_rtable_insert(w->rt, it, (size_t)n);
        if (rc_wresult(w, rc, e.rc, "insert")) return 1;
    } else if (r < 85) {
        int c = (int)rc_wbelow(w, (uint64_t)n);
        memcpy(keyrow, w->cur.rows[rc_wbelow(w, (uint64_t)w->cur.nrows)], RR_MAXCOLS);
        memcpy(row, keyrow, RR_MAXCOLS);
        row[c] = w->cur.sc.notnull[c] || rc_wbelow(w, 4)
                     ? (uint8_t)(1 + rc_wbelow(w, (uint64_t)rr_dom(&w->cur.sc, w->cur.sc.type[c])))
                     : 0;
        rr_items(&w->cur, row, it);
        if (r < 77) {
            e = rr_expect_update(&w->cur, keyrow, row);
            rr_key_items(&w->cur, keyrow, key);
            rc = digby_rtable_update(w->rt, key, (size_t)w->cur.sc.nkey, it, (size_t)n);
        } else {
            e = rr_find(&w->cur, row) >= 0 ? rr_expect_update(&w->cur, row, row)
                                           : rr_expect_insert(&w->cur, row);
            rc = digby_rtable_upsert(w->rt, it, (size_t)n);
        }
        if (rc_wresult(w, rc, e.rc, r < 77 ? "update" : "upsert")) return 1;
    } else {
        memcpy(row, w->cur.rows[rc_wbelow(w, (uint64_t)w->cur.nrows)], RR_MAXCOLS);
        memset(&e, 0, sizeof e);
        e.old = rr_find(&w->cur, row);
        rr_key_items(&w->cur, row, key);
        rc = digby_rtable_delete(w->rt, key, (size_t)w->cur.sc.nkey);
        if (rc_wresult(w, rc, DIGBY_OK, "delete")) return 1;
        rr_apply(&w->cur, &e, NULL);
        return 0;
    }
    if (rc == DIGBY_OK) rr_apply(&w->cur, &e, row);
    return 0;
}

/* A rc_schema change of its own: ADD COLUMN, an index built, one dropped. */
static int rc_w_change(rc_wl *w, int i)
{
    rr_model *m = &w->cur;
    int rc;
    if (i == 20) {
        digby_column col;
        col.name = "c4";
        col.type = DIGBY_TUPLE_INT;
        col.flags = 0;
        rc = digby_rtable_add_column(w->rt, &col);
        if (rc_wresult(w, rc, DIGBY_OK, "add_column")) return 1;
        m->sc.type[4] = DIGBY_TUPLE_INT;
        m->sc.ncols = 5;
    } else if (i == 30) {
        m->sc.idx_n[2] = 2;
        m->sc.idx_col[2][0] = 4;
        m->sc.idx_col[2][1] = 2;
        m->sc.idx_unique[2] = 0;
        m->sc.idx_id[2] = m->sc.next_idx_id++;
        m->sc.nidx = 3;
        rr_api(&m->sc);
        rc = digby_rtable_add_index(w->rt, &m->sc.idx[2]);
        if (rc_wresult(w, rc, DIGBY_OK, "add_index")) return 1;
    } else {
        rc = digby_rtable_drop_index(w->rt, "i0");
        if (rc_wresult(w, rc, DIGBY_OK, "drop_index")) return 1;
        memmove(&m->sc.idx_n[0], &m->sc.idx_n[1], 2 * sizeof(int));
        memmove(&m->sc.idx_col[0], &m->sc.idx_col[1], 2 * sizeof(m->sc.idx_col[0]));
        memmove(&m->sc.idx_unique[0], &m->sc.idx_unique[1], 2 * sizeof(int));
        memmove(&m->sc.idx_id[0], &m->sc.idx_id[1], 2 * sizeof(int));
        m->sc.nidx = 2;
    }
    rr_api(&m->sc);
    return 0;
}

static int rc_w_txn(rc_wl *w, int i)
{
    int rc, k, nops;
    rc = digby_txn_begin(w->db, 0, &w->txn);
    if (rc) { w->txn = NULL; return rc_wstop(w, rc, "begin"); }
    rc = digby_rtable_open(w->txn, "t", &w->cur.sc.s, i == 0 ? DIGBY_RTABLE_CREATE : 0, &w->rt);
    if (rc_wresult(w, rc, DIGBY_OK, "rtable_open")) return 1;
    if (i == 20 || i == 30 || i == 45) {
        if (rc_w_change(w, i)) return 1;
    } else {
        nops = i == 0 ? 0 : 1 + (int)rc_wbelow(w, 12);
        for (k = 0; k < nops; k++)
            if (rc_w_op(w)) return 1;
    }
    if (i > 0 && rc_wbelow(w, 20) == 0) {
        digby_txn_abort(w->txn);
        w->txn = NULL;
        rr_copy(&w->cur, &w->com);
        return 0;
    }
    rr_copy(&w->inflight, &w->cur);
    w->have_inflight = 1;
    w->in_commit = 1;
    rc = digby_txn_commit(w->txn);
    w->txn = NULL;
    w->in_commit = 0;
    if (rc) return rc_wstop(w, rc, "commit");
    w->have_inflight = 0;
    w->have_table = 1;
    rr_copy(&w->com, &w->cur);
    return 0;
}

static void rc_run_workload(rc_wl *w, fvfs *v, uint64_t seed)
{
    int i, rc;
    memset(w, 0, sizeof *w);
    w->rng = seed;
    w->o.page_size = rc_PAGE_SIZE;
    w->o.cache_bytes = 16 * rc_PAGE_SIZE;
    w->o.vfs = &v->vfs;
    rc_schema(&w->cur.sc);
    rr_copy(&w->com, &w->cur);
    rc = digby_open("rc.db", &w->o, &w->db);
    if (rc) { w->db = NULL; rc_wstop(w, rc, "open"); }
    for (i = 0; i < rc_NTXN && !w->stopped; i++) {
        if (i > 0 && i % rc_REOPEN_EVERY == 0) {
            rc = digby_close(w->db);
            w->db = NULL;
            if (rc) { rc_wstop(w, rc, "close"); break; }
            rc = digby_open("rc.db", &w->o, &w->db);
            if (rc) { w->db = NULL; rc_wstop(w, rc, "reopen"); break; }
        }
        if (rc_w_txn(w, i) == 0) w->ntxn_done++;
    }
    if (w->txn) digby_txn_abort(w->txn);
    w->txn = NULL;
    if (w->db) (void)digby_close(w->db);
    w->db = NULL;
}

/* ---- one crash state ----------------------------------------------------- */

typedef struct rc_sweep {
    uint64_t points, states, match_old, match_new, failures;
} rc_sweep;

static void rc_report(rc_sweep *s, uint64_t k, const char *state, const rc_wl *w, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    s->failures++;
    if (s->failures > rc_MAX_REPORTED) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_error("record_crash: FAIL at call %llu (state %s; workload stopped in %s with %s "
                "after %d txns%s): %s\n",
                (unsigned long long)k, state, w->stop_where ? w->stop_where : "-",
                digby_strerror(w->stop_rc), w->ntxn_done,
                w->have_inflight ? ", a commit in flight" : "", msg);
}

/* Does the database hold model m (have: its table exists)? */
static int rc_holds(digby_db *db, const rr_model *m, int have, char *why, size_t n)
{
    digby_txn *r;
    digby_rtable *rt;
    int rc = digby_txn_begin(db, DIGBY_TXN_READONLY, &r), ok;
    if (rc) {
        snprintf(why, n, "begin: %s", digby_strerror(rc));
        return 0;
    }
    rc = digby_rtable_open(r, "t", &m->sc.s, 0, &rt);
    if (!have) {
        ok = rc == DIGBY_NOTFOUND;
        if (!ok) snprintf(why, n, "no table expected, open gave %s", digby_strerror(rc));
    } else if (rc) {
        ok = 0;
        snprintf(why, n, "rtable_open: %s", digby_strerror(rc));
    } else {
        ok = rr_db_equals(m, rt, why, n);
    }
    digby_txn_abort(r);
    return ok;
}

static void rc_check_state(rc_sweep *s, uint64_t k, const char *state, const rc_wl *w,
                        const fvfs *crashed, const img *images)
{
    fvfs *v = fv_from_images(crashed, images);
    digby_db *db = NULL;
    digby_options o;
    digby_check_report rep;
    char why_old[300], why_new[300];
    int rc;
    s->states++;
    memset(&o, 0, sizeof o);
    o.vfs = &v->vfs;
    o.page_size = rc_PAGE_SIZE;
    rc = digby_open("rc.db", &o, &db);
    if (rc) {
        rc_report(s, k, state, w, "digby_open: %s", digby_strerror(rc));
        fv_free(v);
        return;
    }
    if (rc_holds(db, &w->com, w->have_table, why_old, sizeof why_old)) {
        s->match_old++;
    } else if (w->have_inflight && rc_holds(db, &w->inflight, 1, why_new, sizeof why_new)) {
        s->match_new++;
    } else {
        rc_report(s, k, state, w, "rows match neither the last commit (%s)%s%s", why_old,
               w->have_inflight ? " nor the commit in flight: " : "",
               w->have_inflight ? why_new : "");
    }
    memset(&rep, 0, sizeof rep);
    rc = digby_check(db, &rep);
    if (rc) rc_report(s, k, state, w, "digby_check: %s: %s", digby_strerror(rc), rep.message);
    /* a new row in a new write transaction */
    {
        digby_txn *t;
        digby_rtable *rt;
        digby_tuple_item row[RR_MAXCOLS];
        const digby_schema *sc;
        size_t c;
        rc = digby_txn_begin(db, 0, &t);
        if (rc == DIGBY_OK) {
            rc = digby_rtable_open(t, "t", w->have_table ? NULL : &w->com.sc.s,
                                   w->have_table ? 0 : DIGBY_RTABLE_CREATE, &rt);
            if (rc == DIGBY_NOTFOUND) /* the creation was in flight and lost */
                rc = digby_rtable_open(t, "t", &w->com.sc.s, DIGBY_RTABLE_CREATE, &rt);
            if (rc == DIGBY_OK) rc = digby_rtable_schema(rt, &sc);
            if (rc == DIGBY_OK) {
                for (c = 0; c < sc->ncolumns; c++) row[c] = rr_value(sc->columns[c].type, 0);
                row[0] = rr_value(DIGBY_TUPLE_STRING, 2);
                row[1].type = DIGBY_TUPLE_INT;
                row[1].v.i = 999999; /* no key the workload writes */
                rc = digby_rtable_insert(rt, row, sc->ncolumns);
            }
            if (rc == DIGBY_OK) rc = digby_txn_commit(t);
            else digby_txn_abort(t);
        }
        if (rc) rc_report(s, k, state, w, "a write after the crash: %s", digby_strerror(rc));
        else if ((rc = digby_check(db, &rep)) != DIGBY_OK)
            rc_report(s, k, state, w, "digby_check after the new write: %s: %s",
                   digby_strerror(rc), rep.message);
    }
    rc = digby_close(db);
    if (rc) rc_report(s, k, state, w, "close: %s", digby_strerror(rc));
    fv_free(v);
}

static void rc_check_crash_point(rc_sweep *s, uint64_t k, const rc_wl *w, const fvfs *v)
{
    fv_states *st = (fv_states *)calloc(1, sizeof *st);
    uint64_t rng = k * 0x9E3779B97F4A7C15ull + 1;
    int j;
    if (!st) fv_out_of_memory("crash states");
    fv_states_start(st, v);
    fv_states_reordered(st, v, &rng);
    for (j = 0; j < st->n; j++) {
        if (fv_states_dup(st, j, v->nfiles)) continue;
        rc_check_state(s, k, st->name[j], w, v, st->st[j]);
    }
    fv_states_free(st);
    free(st);
}

/* The sweep: io_errors 0, a power cut at every write, sync and truncate
   (every step-th); 1, one I/O error at every step-th VFS call, after which
   the file as the workload left it (every write that succeeded) is
   checked. */
static void rc_run_sweep(int io_errors, uint64_t step)
{
    const char *env = getenv("DIGBY_TEST_SEED");
    uint64_t seed = env && *env ? strtoull(env, NULL, 0) : rc_DEFAULT_SEED, total, k;
    rc_wl *w = (rc_wl *)calloc(1, sizeof(rc_wl));
    rc_cutter cnt;
    fvfs *v;
    rc_sweep s;
    assert_non_null(w);
    v = rc_cut_vfs(&cnt, UINT64_MAX, io_errors);
    rc_run_workload(w, v, seed);
    if (w->stopped)
        fail_msg("the workload failed without a power cut: %s in %s", digby_strerror(w->stop_rc),
                 w->stop_where);
    total = cnt.calls;
    print_message("record_crash: seed=0x%016llx workload: %d txns, %d rows at the end, %llu "
                  "VFS calls to %s\n",
                  (unsigned long long)seed, w->ntxn_done, w->com.nrows,
                  (unsigned long long)total, io_errors ? "fail" : "cut at");
    fv_free(v);
    memset(&s, 0, sizeof s);
    for (k = 0; k < total; k += step) {
        rc_cutter cc;
        fvfs *cv = rc_cut_vfs(&cc, k, io_errors);
        rc_run_workload(w, cv, seed);
        s.points++;
        if (w->wrong) rc_report(&s, k, "-", w, "the workload got a result the model did not expect");
        if (!io_errors) {
            rc_check_crash_point(&s, k, w, cv);
        } else {
            /* the file as the process left it: every write that succeeded */
            img images[FV_MAX_FILES];
            int i;
            memset(images, 0, sizeof images);
            for (i = 0; i < cv->nfiles; i++) img_copy(&images[i], &cv->files[i].cur);
            rc_check_state(&s, k, "live", w, cv, images);
            for (i = 0; i < FV_MAX_FILES; i++) img_free(&images[i]);
        }
        fv_free(cv);
    }
    print_message("record_crash: %llu %s (every %llu. of %llu calls), %llu "
                  "states checked: %llu matched the last commit, %llu the commit in flight; "
                  "%llu failures\n",
                  (unsigned long long)s.points,
                  io_errors ? "I/O errors injected" : "crash points checked",
                  (unsigned long long)step,
                  (unsigned long long)total, (unsigned long long)s.states,
                  (unsigned long long)s.match_old, (unsigned long long)s.match_new,
                  (unsigned long long)s.failures);
    free(w);
    if (s.failures)
        fail_msg("%llu crash-state failures; seed=0x%016llx", (unsigned long long)s.failures,
                 (unsigned long long)seed);
}

static void test_record_crash_sweep(void **state)
{
    const char *env = getenv("DIGBY_TEST_CRASH_STEP");
    uint64_t step = env && *env ? strtoull(env, NULL, 0) : UNDER_ASAN ? rc_ASAN_STEP : 1;
    (void)state;
    rc_run_sweep(0, step < 1 ? 1 : step);
}

/* One I/O error (EIO, or DIGBY_FULL at writes) at a VFS call, every
   rc_EIO_STEP-th call (fewer under ASan; DIGBY_TEST_SCALE makes the step
   smaller): the workload stops at the error, and the file it leaves must
   hold the last or the in-flight commit and pass digby_check. */
static void test_record_io_error_sweep(void **state)
{
    const char *env = getenv("DIGBY_TEST_SCALE");
    double scale = env && *env ? strtod(env, NULL) : 1.0;
    double step = (UNDER_ASAN ? 3.0 : 1.0) * rc_EIO_STEP / (scale > 0 ? scale : 1.0);
    (void)state;
    rc_run_sweep(1, step < 1 ? 1 : (uint64_t)step);
}

#endif /* DIGBY_TESTS_RECORD_CRASH_H */
