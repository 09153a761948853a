/* tests/record_model.h -- the randomized model test of the record layer
   (test_record_model, run by tests/record.c) against a brute-force
   reference (tests/record_ref.h), STYLE.md section 10.  Include after
   tests/harness.h and tests/record_ref.h.

   Each round draws a random schema (2..6 columns of random types, a key
   of 1..3 columns in random order, NOT NULL or not, 0..3 indexes of 1..2
   columns, a third of them unique), a page size and a VFS, and runs random
   operations against the library and the model, comparing every result:
   - inserts (DIGBY_EXISTS on a present key), updates of key and non-key
     columns (DIGBY_NOTFOUND, DIGBY_EXISTS when the key moves onto
     another row's), upserts, deletes, gets, each unique violation
     (DIGBY_CONSTRAINT naming the index and the row the model names, with
     nothing written and the transaction going on);
   - bad writes (too many or too few items, NULL in a NOT NULL or key
     column, an item of another type): DIGBY_INVALID, nothing written;
   - scans with 0..3 random conditions (= < <= > >=), both directions, a
     limit, some through a forced index: the rows, in order, against the
     model's rows filtered and sorted along the index the plan names; the
     planner's choice against the model's own application of the rule;
   - ADD COLUMN, add index (a unique one over clashing rows:
     DIGBY_CONSTRAINT, the first clash in key order), drop index;
   - aborts (the model goes back to the last rm_commit), commits, a read-only
     snapshot beside the open write transaction (it sees the last rm_commit
     only), reopens (the stored schema must equal the model's; the whole
     table compared; digby_check, which proves the index entries).

   Environment:
     DIGBY_TEST_SEED   seed (decimal or 0x hex); default rm_below
     DIGBY_TEST_SCALE  multiply the op budget (float, default 1)
     DIGBY_TEST_ASAN   if set (or built with ASan), a fifth of the ops
     DIGBY_TEST_DIR    directory for POSIX files (default /tmp)
   Printed: the seed, operations by kind, scans and rows compared. */

#ifndef DIGBY_TESTS_RECORD_MODEL_H
#define DIGBY_TESTS_RECORD_MODEL_H

#include "under_asan.h"

#define rm_ROUNDS 16
#define rm_BASE_OPS 120000.0
#define rm_DEFAULT_SEED 0x5eed0000c0de0012ULL

enum { rm_OP_INSERT, rm_OP_UPDATE, rm_OP_UPSERT, rm_OP_DELETE, rm_OP_GET, rm_OP_INVALID, rm_OP_SCAN, rm_OP_ADDCOL,
       rm_OP_ADDIDX, rm_OP_DROPIDX, rm_OP_COMMIT, rm_OP_ABORT, rm_OP_REOPEN, rm_OP_SNAPSHOT, rm_NOPS };
static const char *const rm_op_names[rm_NOPS] = {
    "insert", "update", "upsert", "delete", "get", "invalid", "scan", "add_column",
    "add_index", "drop_index", "commit", "abort", "reopen", "snapshot"};

typedef struct rm_T {
    uint64_t seed, rng;
    int round;
    uint64_t op;
    const char *what;
    digby_vfs *mem;
    char path[512];
    digby_options o;
    digby_db *db;
    digby_txn *w;
    digby_rtable *rt;
    rr_model cur, com;
    uint64_t count[rm_NOPS], rc_seen[32], scan_rows, forced, planned_index, total;
    int max_rows;
} rm_T;

static uint64_t rm_rnd(void *ctx)
{
    rm_T *t = (rm_T *)ctx;
    uint64_t z = (t->rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rm_below(rm_T *t, uint64_t n) { return rm_rnd(t) % n; }

static void rm_die(rm_T *t, int line, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_error("record_model.h:%d: %s\n  seed=0x%016llx round=%d op=%llu (%s)\n"
                "(ops are deterministic given the seed)\n",
                line, msg, (unsigned long long)t->seed, t->round, (unsigned long long)t->op,
                t->what ? t->what : "-");
    fail();
}

#define rm_EXPECT_RC(t, got, want)                                                            \
    do {                                                                                   \
        int g_ = (got), w_ = (want);                                                       \
        if (g_ != w_)                                                                      \
            rm_die((t), __LINE__, "%s returned %s, expected %s (%s)", #got, digby_strerror(g_), \
                digby_strerror(w_), digby_rtable_message((t)->rt));                         \
        if (g_ <= 0 && g_ > -32) (t)->rc_seen[-g_]++;                                      \
    } while (0)

/* ---- rows ------------------------------------------------------------------ */

static void rm_random_row(rm_T *t, const rr_model *m, uint8_t *row)
{
    int c;
    memset(row, 0, RR_MAXCOLS);
    for (c = 0; c < m->sc.ncols; c++)
        row[c] = m->sc.notnull[c] || rm_below(t, 5) ? (uint8_t)(1 + rm_below(t, (uint64_t)rr_dom(&m->sc, m->sc.type[c])))
                                                 : 0;
}

/* An existing row (when there is one and the dice say so), else a random one. */
static void rm_some_row(rm_T *t, const rr_model *m, uint8_t *row, unsigned existing_pct)
{
    if (m->nrows && rm_below(t, 100) < existing_pct)
        memcpy(row, m->rows[rm_below(t, (uint64_t)m->nrows)], RR_MAXCOLS);
    else
        rm_random_row(t, m, row);
}

/* Change 1..2 random columns of row (key columns too). */
static void rm_mutate(rm_T *t, const rr_model *m, uint8_t *row)
{
    int k, n = 1 + (int)rm_below(t, 2);
    for (k = 0; k < n; k++) {
        int c = (int)rm_below(t, (uint64_t)m->sc.ncols);
        int dom = rr_dom(&m->sc, m->sc.type[c]);
        row[c] = m->sc.notnull[c] || rm_below(t, 4) ? (uint8_t)(1 + rm_below(t, (uint64_t)dom)) : 0;
    }
}

/* The library's row equals the model's. */
static void rm_expect_row(rm_T *t, const rr_model *m, const digby_tuple_item *got, size_t n,
                       const uint8_t *row)
{
    digby_tuple_item want[RR_MAXCOLS];
    int c;
    if (n != (size_t)m->sc.ncols) rm_die(t, __LINE__, "%lu columns, expected %d", (unsigned long)n,
                                      m->sc.ncols);
    rr_items(m, row, want);
    for (c = 0; c < m->sc.ncols; c++)
        if (!rr_item_eq(&got[c], &want[c]))
            rm_die(t, __LINE__, "column %d differs: type %d, expected type %d (code %d)", c,
                (int)got[c].type, (int)want[c].type, row[c]);
}

/* After DIGBY_CONSTRAINT: the index and the row the model names. */
static void rm_expect_constraint(rm_T *t, const rr_model *m, const char *index, const uint8_t *other)
{
    digby_constraint con;
    digby_tuple_item want[RR_MAXKEY];
    size_t j;
    rm_EXPECT_RC(t, digby_rtable_constraint(t->rt, &con), DIGBY_OK);
    if (strcmp(con.index, index) != 0)
        rm_die(t, __LINE__, "constraint names index %s, expected %s", con.index, index);
    rr_key_items(m, other, want);
    if (con.nkey != (size_t)m->sc.nkey) rm_die(t, __LINE__, "constraint key of %lu items",
                                            (unsigned long)con.nkey);
    for (j = 0; j < con.nkey; j++)
        if (!rr_item_eq(&con.key[j], &want[j]))
            rm_die(t, __LINE__, "constraint key item %lu differs", (unsigned long)j);
}

/* The result of a write, against what the model expects. */
static void rm_check_write(rm_T *t, int rc, const rr_expect *e, const uint8_t *row)
{
    rm_EXPECT_RC(t, rc, e->rc);
    if (rc == DIGBY_CONSTRAINT)
        rm_expect_constraint(t, &t->cur, t->cur.sc.inames[e->idx], t->cur.rows[e->other]);
    else if (rc == DIGBY_OK)
        rr_apply(&t->cur, e, row);
}

/* ---- the transaction ----------------------------------------------------- */

static void rm_begin(rm_T *t)
{
    if (t->w) return;
    rm_EXPECT_RC(t, digby_txn_begin(t->db, 0, &t->w), DIGBY_OK);
    /* open with the model's schema, or the stored one */
    if (rm_below(t, 2))
        rm_EXPECT_RC(t, digby_rtable_open(t->w, "t", &t->cur.sc.s, 0, &t->rt), DIGBY_OK);
    else
        rm_EXPECT_RC(t, digby_rtable_open(t->w, "t", NULL, 0, &t->rt), DIGBY_OK);
}

static void rm_commit(rm_T *t)
{
    if (!t->w) return;
    rm_EXPECT_RC(t, digby_txn_commit(t->w), DIGBY_OK);
    t->w = NULL;
    t->rt = NULL;
    rr_copy(&t->com, &t->cur);
}

/* The committed state, seen by a read-only transaction. */
static void rm_verify_committed(rm_T *t)
{
    digby_txn *r;
    digby_rtable *rt;
    char why[300];
    rm_EXPECT_RC(t, digby_txn_begin(t->db, DIGBY_TXN_READONLY, &r), DIGBY_OK);
    rm_EXPECT_RC(t, digby_rtable_open(r, "t", &t->com.sc.s, 0, &rt), DIGBY_OK);
    if (!rr_db_equals(&t->com, rt, why, sizeof why))
        rm_die(t, __LINE__, "committed table differs: %s", why);
    digby_txn_abort(r);
}

static void rm_reopen(rm_T *t)
{
    digby_check_report rep;
    int rc;
    rm_commit(t);
    rm_EXPECT_RC(t, digby_close(t->db), DIGBY_OK);
    t->db = NULL;
    rm_EXPECT_RC(t, digby_open(t->path, &t->o, &t->db), DIGBY_OK);
    rm_verify_committed(t);
    memset(&rep, 0, sizeof rep);
    rc = digby_check(t->db, &rep);
    if (rc != DIGBY_OK) rm_die(t, __LINE__, "digby_check: %s: %s", digby_strerror(rc), rep.message);
}

/* ---- operations --------------------------------------------------------- */

static void rm_op_insert(rm_T *t)
{
    uint8_t row[RR_MAXCOLS];
    digby_tuple_item it[RR_MAXCOLS];
    rr_expect e;
    rm_some_row(t, &t->cur, row, 15);
    if (rm_below(t, 3) == 0 && t->cur.nrows) {
        /* a new key with another row's other values: unique clashes */
        memcpy(row, t->cur.rows[rm_below(t, (uint64_t)t->cur.nrows)], RR_MAXCOLS);
        rm_mutate(t, &t->cur, row);
    }
    e = rr_expect_insert(&t->cur, row);
    rr_items(&t->cur, row, it);
    rm_check_write(t, digby_rtable_insert(t->rt, it, (size_t)t->cur.sc.ncols), &e, row);
}

static void rm_op_update(rm_T *t, int upsert)
{
    uint8_t keyrow[RR_MAXCOLS], row[RR_MAXCOLS];
    digby_tuple_item it[RR_MAXCOLS], key[RR_MAXKEY];
    rr_expect e;
    rm_some_row(t, &t->cur, keyrow, 85);
    memcpy(row, keyrow, RR_MAXCOLS);
    rm_mutate(t, &t->cur, row);
    rr_items(&t->cur, row, it);
    if (upsert) {
        e = rr_find(&t->cur, row) >= 0 ? rr_expect_update(&t->cur, row, row)
                                       : rr_expect_insert(&t->cur, row);
        rm_check_write(t, digby_rtable_upsert(t->rt, it, (size_t)t->cur.sc.ncols), &e, row);
        return;
    }
    e = rr_expect_update(&t->cur, keyrow, row);
    rr_key_items(&t->cur, keyrow, key);
    rm_check_write(t, digby_rtable_update(t->rt, key, (size_t)t->cur.sc.nkey, it,
                                       (size_t)t->cur.sc.ncols),
                &e, row);
}

static void rm_op_delete(rm_T *t)
{
    uint8_t row[RR_MAXCOLS];
    digby_tuple_item key[RR_MAXKEY];
    rr_expect e;
    rm_some_row(t, &t->cur, row, 80);
    memset(&e, 0, sizeof e);
    e.old = rr_find(&t->cur, row);
    e.rc = e.old < 0 ? DIGBY_NOTFOUND : DIGBY_OK;
    rr_key_items(&t->cur, row, key);
    rm_check_write(t, digby_rtable_delete(t->rt, key, (size_t)t->cur.sc.nkey), &e, NULL);
}

static void rm_op_get(rm_T *t)
{
    uint8_t row[RR_MAXCOLS];
    digby_tuple_item key[RR_MAXKEY];
    const digby_tuple_item *got;
    size_t n;
    int r;
    rm_some_row(t, &t->cur, row, 70);
    r = rr_find(&t->cur, row);
    rr_key_items(&t->cur, row, key);
    rm_EXPECT_RC(t, digby_rtable_get(t->rt, key, (size_t)t->cur.sc.nkey, &got, &n),
              r < 0 ? DIGBY_NOTFOUND : DIGBY_OK);
    if (r >= 0) rm_expect_row(t, &t->cur, got, n, t->cur.rows[r]);
}

/* A write the library must refuse with DIGBY_INVALID, writing nothing. */
static void rm_op_invalid(rm_T *t)
{
    uint8_t row[RR_MAXCOLS];
    digby_tuple_item it[RR_MAXCOLS + 1], key[RR_MAXKEY + 1];
    size_t n = (size_t)t->cur.sc.ncols;
    int kind = (int)rm_below(t, 4), c, rc;
    rm_some_row(t, &t->cur, row, 50);
    rr_items(&t->cur, row, it);
    rr_key_items(&t->cur, row, key);
    it[n] = it[0];
    if (kind == 0) {
        n = rm_below(t, 2) ? n + 1 : n - 1;
    } else if (kind == 1) {
        /* NULL in a NOT NULL column: a key column is one */
        do c = (int)rm_below(t, (uint64_t)t->cur.sc.ncols);
        while (!t->cur.sc.notnull[c]);
        it[c].type = DIGBY_TUPLE_NULL;
    } else if (kind == 2) {
        c = (int)rm_below(t, (uint64_t)t->cur.sc.ncols);
        it[c] = rr_value(t->cur.sc.type[c] == DIGBY_TUPLE_STRING ? DIGBY_TUPLE_BYTES
                                                                 : DIGBY_TUPLE_STRING, 1);
    } else {
        /* a key of the wrong length */
        rc = rm_below(t, 2) ? digby_rtable_delete(t->rt, key, (size_t)t->cur.sc.nkey + 1)
                         : digby_rtable_get(t->rt, key, (size_t)t->cur.sc.nkey - 1,
                                            (const digby_tuple_item **)&key, &n);
        rm_EXPECT_RC(t, rc, DIGBY_INVALID);
        return;
    }
    switch (rm_below(t, 3)) {
    case 0: rc = digby_rtable_insert(t->rt, it, n); break;
    case 1: rc = digby_rtable_upsert(t->rt, it, n); break;
    default: rc = digby_rtable_update(t->rt, key, (size_t)t->cur.sc.nkey, it, n); break;
    }
    rm_EXPECT_RC(t, rc, DIGBY_INVALID);
}

/* The planner's rule, applied to the model's schema. */
static int rm_model_plan(const rr_model *m, const int *wcol, const digby_where *w, int nw)
{
    int best = -1, best_score = -1, cand;
    for (cand = -1; cand < m->sc.nidx; cand++) {
        int n = cand < 0 ? m->sc.nkey : m->sc.idx_n[cand], neq = 0, range = 0, j, i;
        for (j = 0; j < n; j++) {
            int col = cand < 0 ? m->sc.key[j] : m->sc.idx_col[cand][j], found = 0;
            for (i = 0; i < nw; i++) found |= wcol[i] == col && w[i].op == DIGBY_WHERE_EQ;
            if (!found) break;
            neq++;
        }
        if (neq < n) {
            int col = cand < 0 ? m->sc.key[neq] : m->sc.idx_col[cand][neq];
            for (i = 0; i < nw; i++) range |= wcol[i] == col && w[i].op != DIGBY_WHERE_EQ;
        }
        if (2 * neq + range > best_score) {
            best_score = 2 * neq + range;
            best = cand;
        }
    }
    return best;
}

static void rm_op_scan(rm_T *t)
{
    const rr_model *m = &t->cur;
    digby_where w[3];
    int wcol[3], nw = (int)rm_below(t, 4), i, ord[RR_MAXROWS], n = 0, k = 0, rc, want_idx;
    digby_query q;
    digby_plan p;
    digby_rscan *sc;
    memset(&q, 0, sizeof q);
    for (i = 0; i < nw; i++) {
        int c = (int)rm_below(t, (uint64_t)m->sc.ncols);
        wcol[i] = c;
        w[i].column = m->sc.names[c];
        w[i].op = (digby_where_op)(1 + rm_below(t, 5));
        w[i].value = rr_value(m->sc.type[c], 1 + (int)rm_below(t, (uint64_t)rr_dom(&m->sc, m->sc.type[c])));
        if (w[i].value.type == DIGBY_TUPLE_INT && w[i].value.v.i >= 0 && rm_below(t, 3) == 0) {
            uint64_t u = (uint64_t)w[i].value.v.i; /* an INT column takes UINT values */
            w[i].value.type = DIGBY_TUPLE_UINT;
            w[i].value.v.u = u;
        }
    }
    q.where = nw ? w : NULL;
    q.nwhere = (size_t)nw;
    q.flags = rm_below(t, 2) ? DIGBY_SCAN_REVERSE : 0;
    q.limit = rm_below(t, 3) ? 0 : 1 + rm_below(t, 6);
    if (rm_below(t, 6) == 0) {
        int f = (int)rm_below(t, (uint64_t)m->sc.nidx + 1) - 1;
        q.index = f < 0 ? "primary" : m->sc.inames[f];
        want_idx = f;
        t->forced++;
    } else {
        want_idx = rm_model_plan(m, wcol, w, nw);
    }
    rm_EXPECT_RC(t, digby_rtable_explain(t->rt, &q, &p), DIGBY_OK);
    if (p.index_no != want_idx)
        rm_die(t, __LINE__, "plan \"%s\" reads index %d, the rule says %d", p.text, p.index_no,
            want_idx);
    if (p.index_no >= 0) t->planned_index++;
    for (i = 0; i < m->nrows; i++)
        if (rr_meets(m, m->rows[i], w, wcol, nw)) ord[n++] = i;
    rr_sort(m, p.index_no, ord, n);
    rm_EXPECT_RC(t, digby_rscan_open(t->rt, &q, &sc), DIGBY_OK);
    while ((rc = digby_rscan_next(sc)) == DIGBY_OK) {
        const digby_tuple_item *row;
        size_t nc;
        int want = k < n ? (q.flags ? ord[n - 1 - k] : ord[k]) : -1;
        rm_EXPECT_RC(t, digby_rscan_row(sc, &row, &nc), DIGBY_OK);
        if (want < 0 || (q.limit && (uint64_t)k >= q.limit))
            rm_die(t, __LINE__, "scan \"%s\" gave a row past the %d expected", p.text,
                q.limit && (uint64_t)n > q.limit ? (int)q.limit : n);
        rm_expect_row(t, m, row, nc, m->rows[want]);
        k++;
    }
    rm_EXPECT_RC(t, rc, DIGBY_NOTFOUND);
    if (k != (q.limit && (uint64_t)n > q.limit ? (int)q.limit : n))
        rm_die(t, __LINE__, "scan \"%s\" gave %d rows, expected %d", p.text, k, n);
    t->scan_rows += (uint64_t)k;
    digby_rscan_close(sc);
}

static void rm_op_add_column(rm_T *t)
{
    rr_model *m = &t->cur;
    digby_column col;
    char name[16];
    if (m->sc.ncols == RR_MAXCOLS) return;
    snprintf(name, sizeof name, "c%d", m->sc.ncols);
    col.name = name;
    col.type = rr_types[rm_below(t, 6)];
    col.flags = 0;
    rm_EXPECT_RC(t, digby_rtable_add_column(t->rt, &col), DIGBY_OK);
    m->sc.type[m->sc.ncols] = col.type;
    m->sc.notnull[m->sc.ncols] = 0;
    m->sc.ncols++; /* rows hold code 0 there: NULL */
    rr_api(&m->sc);
}

static void rm_op_add_index(rm_T *t)
{
    rr_model *m = &t->cur;
    int i = m->sc.nidx, ord[RR_MAXROWS], a, b, clash_a = -1;
    if (i == RR_MAXIDX) return;
    rr_random_index(&m->sc, i, rm_rnd, t);
    m->sc.nidx++;
    rr_api(&m->sc);
    if (m->sc.idx_unique[i]) {
        /* the first row, in key order, whose key an earlier row holds */
        for (a = 0; a < m->nrows; a++) ord[a] = a;
        rr_sort(m, -1, ord, m->nrows);
        for (b = 1; b < m->nrows && clash_a < 0; b++)
            for (a = 0; a < b && clash_a < 0; a++)
                if (rr_unique_clash(m, i, m->rows[ord[b]], m->rows[ord[a]])) clash_a = ord[a];
    }
    if (clash_a >= 0) {
        rm_EXPECT_RC(t, digby_rtable_add_index(t->rt, &m->sc.idx[i]), DIGBY_CONSTRAINT);
        rm_expect_constraint(t, m, m->sc.inames[i], m->rows[clash_a]);
        m->sc.nidx--;
        rr_api(&m->sc);
        return;
    }
    rm_EXPECT_RC(t, digby_rtable_add_index(t->rt, &m->sc.idx[i]), DIGBY_OK);
}

static void rm_op_drop_index(rm_T *t)
{
    rr_model *m = &t->cur;
    int i, j;
    if (m->sc.nidx == 0) {
        rm_EXPECT_RC(t, digby_rtable_drop_index(t->rt, "nope"), DIGBY_NOTFOUND);
        return;
    }
    i = (int)rm_below(t, (uint64_t)m->sc.nidx);
    rm_EXPECT_RC(t, digby_rtable_drop_index(t->rt, m->sc.inames[i]), DIGBY_OK);
    for (j = i; j + 1 < m->sc.nidx; j++) {
        m->sc.idx_n[j] = m->sc.idx_n[j + 1];
        memcpy(m->sc.idx_col[j], m->sc.idx_col[j + 1], sizeof(m->sc.idx_col[j]));
        m->sc.idx_unique[j] = m->sc.idx_unique[j + 1];
        m->sc.idx_id[j] = m->sc.idx_id[j + 1];
    }
    m->sc.nidx--;
    rr_api(&m->sc);
}

static int rm_pick_op(rm_T *t)
{
    uint64_t r = rm_below(t, 1000);
    if (r < 240) return rm_OP_INSERT;
    if (r < 380) return rm_OP_UPDATE;
    if (r < 450) return rm_OP_UPSERT;
    if (r < 570) return rm_OP_DELETE;
    if (r < 640) return rm_OP_GET;
    if (r < 670) return rm_OP_INVALID;
    if (r < 850) return rm_OP_SCAN;
    if (r < 854) return rm_OP_ADDCOL;
    if (r < 862) return rm_OP_ADDIDX;
    if (r < 866) return rm_OP_DROPIDX;
    if (r < 950) return rm_OP_COMMIT;
    if (r < 975) return rm_OP_ABORT;
    if (r < 985) return rm_OP_REOPEN;
    return rm_OP_SNAPSHOT;
}

static void rm_run_round(rm_T *t, uint64_t budget)
{
    static const uint32_t pages[3] = {512, 1024, 4096};
    uint64_t i;
    char why[300];
    int posix = t->round % 4 == 3;
    memset(&t->o, 0, sizeof t->o);
    t->o.page_size = pages[rm_below(t, 3)];
    if (posix) {
        const char *dir = getenv("DIGBY_TEST_DIR");
        snprintf(t->path, sizeof t->path, "%s/digby_record_model_%ld_%d.db",
                 dir && *dir ? dir : "/tmp", (long)getpid(), t->round);
        unlink(t->path);
        t->o.flags = DIGBY_OPEN_NO_SYNC;
    } else {
        rm_EXPECT_RC(t, digby_vfs_mem_create(NULL, &t->mem), DIGBY_OK);
        t->o.vfs = t->mem;
        snprintf(t->path, sizeof t->path, "round%d.db", t->round);
    }
    memset(&t->cur, 0, sizeof t->cur);
    rr_random_schema(&t->cur.sc, t->round % 4 == 1 ? RR_WIDE : RR_DOM, rm_rnd, t);
    t->what = "create";
    rm_EXPECT_RC(t, digby_open(t->path, &t->o, &t->db), DIGBY_OK);
    rm_EXPECT_RC(t, digby_txn_begin(t->db, 0, &t->w), DIGBY_OK);
    rm_EXPECT_RC(t, digby_rtable_open(t->w, "t", &t->cur.sc.s, DIGBY_RTABLE_CREATE, &t->rt),
              DIGBY_OK);
    rm_commit(t);
    for (i = 0; i < budget; i++) {
        int op = rm_pick_op(t);
        t->op = i;
        t->what = rm_op_names[op];
        t->count[op]++;
        if (op != rm_OP_COMMIT && op != rm_OP_ABORT && op != rm_OP_REOPEN && op != rm_OP_SNAPSHOT)
            rm_begin(t);
        switch (op) {
        case rm_OP_INSERT: rm_op_insert(t); break;
        case rm_OP_UPDATE: rm_op_update(t, 0); break;
        case rm_OP_UPSERT: rm_op_update(t, 1); break;
        case rm_OP_DELETE: rm_op_delete(t); break;
        case rm_OP_GET: rm_op_get(t); break;
        case rm_OP_INVALID: rm_op_invalid(t); break;
        case rm_OP_SCAN: rm_op_scan(t); break;
        case rm_OP_ADDCOL: rm_op_add_column(t); break;
        case rm_OP_ADDIDX: rm_op_add_index(t); break;
        case rm_OP_DROPIDX: rm_op_drop_index(t); break;
        case rm_OP_COMMIT:
            rm_commit(t);
            if (rm_below(t, 8) == 0) rm_verify_committed(t);
            break;
        case rm_OP_ABORT:
            if (t->w) digby_txn_abort(t->w);
            t->w = NULL;
            t->rt = NULL;
            rr_copy(&t->cur, &t->com);
            break;
        case rm_OP_REOPEN: rm_reopen(t); break;
        default: rm_verify_committed(t); break; /* beside the open write txn */
        }
        if (t->cur.nrows > t->max_rows) t->max_rows = t->cur.nrows;
    }
    t->total += budget;
    t->what = "end of round";
    rm_reopen(t);
    if (t->cur.nrows != t->com.nrows || !t->db) rm_die(t, __LINE__, "model out of step");
    {
        digby_txn *r;
        digby_rtable *rt;
        rm_EXPECT_RC(t, digby_txn_begin(t->db, DIGBY_TXN_READONLY, &r), DIGBY_OK);
        rm_EXPECT_RC(t, digby_rtable_open(r, "t", NULL, 0, &rt), DIGBY_OK);
        if (!rr_db_equals(&t->com, rt, why, sizeof why)) rm_die(t, __LINE__, "final: %s", why);
        digby_txn_abort(r);
    }
    rm_EXPECT_RC(t, digby_close(t->db), DIGBY_OK);
    t->db = NULL;
    if (posix) unlink(t->path);
    else digby_vfs_mem_destroy(t->mem);
    t->mem = NULL;
}

static uint64_t rm_env_seed(void)
{
    const char *s = getenv("DIGBY_TEST_SEED");
    return s && *s ? (uint64_t)strtoull(s, NULL, 0) : rm_DEFAULT_SEED;
}

static void test_record_model(void **state)
{
    rm_T *t = (rm_T *)calloc(1, sizeof(rm_T));
    const char *s = getenv("DIGBY_TEST_SCALE"), *asan = getenv("DIGBY_TEST_ASAN");
    double scale = s && *s ? strtod(s, NULL) : 1.0, total = rm_BASE_OPS;
    int k;
    (void)state;
    assert_non_null(t);
    if (scale > 0) total *= scale;
    if (UNDER_ASAN || (asan && *asan)) total /= 5.0;
    t->seed = rm_env_seed();
    t->rng = t->seed;
    for (t->round = 0; t->round < rm_ROUNDS; t->round++)
        rm_run_round(t, (uint64_t)(total / rm_ROUNDS) + 1);
    print_message("record_model: seed=0x%016llx, %d random schemas, %llu operations:",
                  (unsigned long long)t->seed, rm_ROUNDS, (unsigned long long)t->total);
    for (k = 0; k < rm_NOPS; k++)
        print_message(" %s %llu", rm_op_names[k], (unsigned long long)t->count[k]);
    print_message("\nrecord_model: %llu scan rows compared (%llu scans forced, %llu planned "
                  "through a secondary index; largest table %d rows); results: OK %llu, NOTFOUND %llu, EXISTS %llu, "
                  "INVALID %llu, CONSTRAINT %llu\n",
                  (unsigned long long)t->scan_rows, (unsigned long long)t->forced,
                  (unsigned long long)t->planned_index, t->max_rows, (unsigned long long)t->rc_seen[0],
                  (unsigned long long)t->rc_seen[1], (unsigned long long)t->rc_seen[2],
                  (unsigned long long)t->rc_seen[3], (unsigned long long)t->rc_seen[19]);
    free(t);
}

#endif /* DIGBY_TESTS_RECORD_MODEL_H */
