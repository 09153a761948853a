/* tests/crash_model.h -- the reference model and the workload of the
   power-cut and fault sweeps (tests/crash.c, tests/torture/faults.c), on
   the fault VFS of tests/fault_vfs.h.

   The model holds, per tree (the global tree and named tables) and key,
   whether the key is present, its value's length and seed (a value is a
   function of both: vfill) and its version.  The workload runs write
   transactions of random operations (puts, some NOOVERWRITE, overwrites,
   deletes, range deletes, gets, table creates and drops; 5% aborted) and
   keeps the model of the open transaction (cm), of the last acknowledged
   commit (com) and of a commit that failed (inflight: it may have reached the disk).
   db_equals compares a database with a model; model_write_after checks
   that a recovered database takes a write.

   Log mode's no-sync commits (set nosync_pct, hist and hist_max): that
   share of transactions begins with DIGBY_TXN_NO_SYNC, and hist keeps the
   state before each no-sync commit since the last durable point (a
   durable commit; the program resets nhist after digby_sync,
   digby_checkpoint or a reopen).  A power cut may leave any of those
   states (a no-sync commit lost whole, with every later one), and never
   one older: model_match_hist.  No transaction begins no-sync while hist
   is full.

   The including program sets the sizes and the mix first:
     MODEL_TREES        trees (at most 5): the global tree and named tables
     MODEL_KEYS         keys in the key space
     MODEL_KEY_BYTES    room for one key (large keys are longer than
                        digby_max_key_bytes)
     MODEL_BIG_TXN      6% of transactions have MODEL_BIG_TXN + 0..39
                        operations
     MODEL_SMALL_TXN    the rest 1..MODEL_SMALL_TXN
     MODEL_DELETE_BELOW the operation mix, per 100: puts below 50,
                        overwrites below 65, deletes below this, gets;
                        and (the wl's range_pm, per 1000) range deletes of
                        up to 24, 100 or MODEL_KEYS keys
                        (digby_txn_delete_range)
   Everything here is static and unused-safe. */
#ifndef DIGBY_TESTS_CRASH_MODEL_H
#define DIGBY_TESTS_CRASH_MODEL_H

#include "fault_vfs.h"
#include "vfill.h" /* vfill: the value of (seed, length) */

#if !defined(MODEL_TREES) || !defined(MODEL_KEYS) || !defined(MODEL_KEY_BYTES) ||        \
    !defined(MODEL_BIG_TXN) || !defined(MODEL_SMALL_TXN) || !defined(MODEL_DELETE_BELOW)
#error "define MODEL_TREES, MODEL_KEYS, MODEL_KEY_BYTES, MODEL_BIG_TXN, MODEL_SMALL_TXN and MODEL_DELETE_BELOW before including tests/crash_model.h"
#endif
#if MODEL_TREES > 5
#error "MODEL_TREES: at most 5 trees are named"
#endif

/* tree 0 is the global tree */
FV_UNUSED static const char *const tree_names[5] = {"(global)", "alpha", "beta",
                                                    "gamma.long.name", "delta"};

/* ---- the model ------------------------------------------------------------ */

typedef struct ment {
    uint32_t vlen, vseed;
    uint64_t version;
    int present;
} ment;

typedef struct mstate {
    int exists[MODEL_TREES];
    ment e[MODEL_TREES][MODEL_KEYS];
} mstate;

typedef struct mkey {
    unsigned char p[MODEL_KEY_BYTES];
    size_t n;
} mkey;

FV_UNUSED static int kcmp(const unsigned char *a, size_t an, const unsigned char *b,
                          size_t bn)
{
    size_t m = an < bn ? an : bn;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c < 0 ? -1 : 1;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

FV_UNUSED static int mkey_cmp(const void *x, const void *y)
{
    const mkey *a = (const mkey *)x, *b = (const mkey *)y;
    return kcmp(a->p, a->n, b->p, b->n);
}

/* Key generation, in three steps: model_keys_begin (the empty key and one
   of max_key bytes), the program's large keys (each offered with
   model_key_keep), model_keys_finish (short keys, then sorted). */
FV_UNUSED static size_t model_keys_begin(mkey *keys, size_t max_key)
{
    keys[0].n = 0;
    memset(keys[1].p, 'm', max_key);
    keys[1].n = max_key;
    return 2;
}

/* keys[n] joins keys[0..n) unless it is there already: the new count. */
FV_UNUSED static size_t model_key_keep(mkey *keys, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (mkey_cmp(&keys[i], &keys[n]) == 0) return n;
    return n + 1;
}

/* Fill keys[n..MODEL_KEYS) with distinct keys of up to max_key bytes under
   shared prefixes (one in 20 with a suffix of up to long_tail bytes), and
   sort all. */
FV_UNUSED static void model_keys_finish(mkey *keys, size_t n, uint64_t *s, size_t max_key,
                                        size_t long_tail)
{
    static const char *const pre[6] = {"", "a", "ab", "user/", "user/00", "\xff"};
    size_t j;
    while (n < MODEL_KEYS) {
        const char *p = pre[splitmix(s) % 6];
        size_t pl = strlen(p), sl = (size_t)(splitmix(s) % 24), len;
        if (splitmix(s) % 20 == 0) sl = (size_t)(splitmix(s) % long_tail);
        len = pl + sl > max_key ? max_key : pl + sl;
        memcpy(keys[n].p, p, pl < len ? pl : len);
        for (j = pl; j < len; j++) keys[n].p[j] = (unsigned char)('a' + splitmix(s) % 6);
        keys[n].n = len;
        n = model_key_keep(keys, n);
    }
    qsort(keys, MODEL_KEYS, sizeof(mkey), mkey_cmp);
}

/* ---- the workload -------------------------------------------------------- */

typedef struct wl wl;
struct wl {
    uint64_t rng;
    const mkey *keys;
    unsigned char *vb;       /* value scratch, as long as the longest value */
    uint32_t (*vlen)(wl *w); /* the length of a new value */
    int wrong_rc;            /* stop_rc of a get that returns a wrong value */
    const digby_vfs *vfs;
    fvfs *fv;                /* the fault VFS, or NULL (faults.c's sys mode) */
    const char *path;
    digby_db *db;
    digby_txn *txn;
    digby_txn *snap;         /* faults.c: a snapshot held across commits */
    digby_options opts;
    mstate cm;               /* current, with the open transaction */
    mstate com;              /* the last acknowledged commit */
    mstate inflight;         /* a commit that failed: may be on disk */
    mstate snm;              /* what the snapshot must show */
    int have_inflight;
    int in_commit;           /* the commit in flight failed */
    int stopped, stop_rc;    /* an unexpected result stopped the workload */
    const char *stop_where;
    int ntxn_done, limit;
    uint64_t commits, aborts;
    /* log mode's no-sync commits (0, NULL: none) */
    int nosync_pct;          /* per 100 transactions, begun DIGBY_TXN_NO_SYNC */
    int txn_nosync;          /* the open transaction is one */
    mstate *hist;            /* the states a power cut may still leave */
    int nhist, hist_max;
    uint64_t nosync_commits;
    int no_drop;             /* no table drops (log mode: each escalates) */
    int range_pm;            /* per 1000 operations, a range delete (0: none;
                                log mode: each escalates) */
    uint64_t ranges, range_keys; /* range deletes made, keys they deleted */
};

FV_UNUSED static size_t wbelow(wl *w, size_t n) { return (size_t)(splitmix(&w->rng) % n); }

/* Record an unexpected result (the first one): the workload stops. */
FV_UNUSED static int wstop(wl *w, int rc, const char *where)
{
    if (!w->stopped) {
        w->stopped = 1;
        w->stop_rc = rc;
        w->stop_where = where;
    }
    return 1;
}

/* A key present in tree tr, from a random start; -1 when none is. */
FV_UNUSED static int present_key(wl *w, int tr)
{
    size_t s = wbelow(w, MODEL_KEYS), i;
    for (i = 0; i < MODEL_KEYS; i++) {
        size_t k = (s + i) % MODEL_KEYS;
        if (w->cm.e[tr][k].present) return (int)k;
    }
    return -1;
}

/* Begin a write transaction; 1 when the workload must stop. */
FV_UNUSED static int w_begin(wl *w, uint64_t *txid)
{
    unsigned fl = 0;
    int rc;
    if (w->nosync_pct && w->nhist < w->hist_max && wbelow(w, 100) < (size_t)w->nosync_pct)
        fl = DIGBY_TXN_NO_SYNC;
    w->txn_nosync = fl != 0;
    rc = digby_txn_begin(w->db, fl, &w->txn);
    if (rc != DIGBY_OK) { w->txn = NULL; return wstop(w, rc, "txn_begin"); }
    *txid = digby_txn_id(w->txn);
    return 0;
}

/* The random operations of the open transaction; 1 when the workload must
   stop. */
FV_UNUSED static int w_ops(wl *w, uint64_t txid)
{
    digby_table *h[MODEL_TREES];
    size_t nops, i;
    int rc;
    memset(h, 0, sizeof h);
    nops = wbelow(w, 100) < 6 ? MODEL_BIG_TXN + wbelow(w, 40) : 1 + wbelow(w, MODEL_SMALL_TXN);
    for (i = 0; i < nops; i++) {
        int tr = (int)wbelow(w, MODEL_TREES);
        size_t r = wbelow(w, 100);
        digby_table *t = NULL;
        if (tr && !w->cm.exists[tr]) {
            rc = digby_table_open(w->txn, tree_names[tr], DIGBY_TABLE_CREATE, &h[tr]);
            if (rc != DIGBY_OK) return wstop(w, rc, "table create");
            w->cm.exists[tr] = 1;
            continue;
        }
        if (tr && r < 2 && !w->no_drop) {
            rc = digby_table_drop(w->txn, tree_names[tr]);
            if (rc != DIGBY_OK) return wstop(w, rc, "table drop");
            w->cm.exists[tr] = 0;
            memset(w->cm.e[tr], 0, sizeof w->cm.e[tr]);
            h[tr] = NULL;
            continue;
        }
        if (tr) {
            if (!h[tr]) {
                rc = digby_table_open(w->txn, tree_names[tr], 0, &h[tr]);
                if (rc != DIGBY_OK) return wstop(w, rc, "table open");
            }
            t = h[tr];
        }
        if (w->range_pm && wbelow(w, 1000) < (size_t)w->range_pm) {
            /* delete range [key a, key b): up to 24 keys wide, 100 or
               MODEL_KEYS (then often [key a, the end): whole subtrees) */
            size_t wr = wbelow(w, 10), a = wbelow(w, MODEL_KEYS), k;
            size_t b = a + wbelow(w, wr < 6 ? 24 : wr < 9 ? 100 : MODEL_KEYS);
            uint64_t got = 0, want = 0;
            int open_end = b >= MODEL_KEYS;
            for (k = a; k < b && k < MODEL_KEYS; k++) {
                want += w->cm.e[tr][k].present != 0;
                memset(&w->cm.e[tr][k], 0, sizeof(ment));
            }
            rc = digby_txn_delete_range(w->txn, t, w->keys[a].p, w->keys[a].n,
                                        open_end ? NULL : w->keys[b].p,
                                        open_end ? 0 : w->keys[b].n, &got);
            if (rc != DIGBY_OK) return wstop(w, rc, "delete range");
            if (got != want) return wstop(w, w->wrong_rc, "delete range: wrong count");
            w->ranges++;
            w->range_keys += want;
            continue;
        }
        if (r < 50 || (r < 65 && present_key(w, tr) < 0)) {
            /* put (some with NOOVERWRITE) */
            size_t k = wbelow(w, MODEL_KEYS);
            uint32_t vl = w->vlen(w), vs = (uint32_t)splitmix(&w->rng);
            unsigned fl = wbelow(w, 10) == 0 ? DIGBY_PUT_NOOVERWRITE : 0;
            int want = fl && w->cm.e[tr][k].present ? DIGBY_EXISTS : DIGBY_OK;
            vfill(w->vb, vl, vs);
            rc = digby_txn_put(w->txn, t, w->keys[k].p, w->keys[k].n, w->vb, vl, fl);
            if (rc != want) return wstop(w, rc, "put");
            if (want == DIGBY_OK) {
                ment *e = &w->cm.e[tr][k];
                e->present = 1;
                e->vlen = vl;
                e->vseed = vs;
                e->version = txid;
            }
        } else if (r < 65) {
            /* overwrite */
            int k = present_key(w, tr);
            uint32_t vl = w->vlen(w), vs = (uint32_t)splitmix(&w->rng);
            ment *e = &w->cm.e[tr][k];
            vfill(w->vb, vl, vs);
            rc = digby_txn_put(w->txn, t, w->keys[k].p, w->keys[k].n, w->vb, vl, 0);
            if (rc != DIGBY_OK) return wstop(w, rc, "overwrite");
            e->vlen = vl;
            e->vseed = vs;
            e->version = txid;
        } else if (r < MODEL_DELETE_BELOW) {
            /* delete: mostly present keys, sometimes missing ones */
            int k = present_key(w, tr), want;
            if (k < 0 || wbelow(w, 5) == 0) k = (int)wbelow(w, MODEL_KEYS);
            want = w->cm.e[tr][k].present ? DIGBY_OK : DIGBY_NOTFOUND;
            rc = digby_txn_delete(w->txn, t, w->keys[k].p, w->keys[k].n);
            if (rc != want) return wstop(w, rc, "delete");
            memset(&w->cm.e[tr][k], 0, sizeof(ment));
        } else {
            /* get */
            size_t k = wbelow(w, MODEL_KEYS);
            const ment *e = &w->cm.e[tr][k];
            const void *val = NULL;
            size_t vn = 0;
            uint64_t ver = 0;
            rc = digby_txn_get(w->txn, t, w->keys[k].p, w->keys[k].n, &val, &vn, &ver);
            if (rc != (e->present ? DIGBY_OK : DIGBY_NOTFOUND)) return wstop(w, rc, "get");
            if (rc == DIGBY_OK) {
                vfill(w->vb, e->vlen, e->vseed);
                if (vn != e->vlen || (vn && memcmp(val, w->vb, vn)) || ver != e->version)
                    return wstop(w, w->wrong_rc, "get: wrong value");
            }
        }
    }
    return 0;
}

/* End the open transaction: 5% aborted, the rest committed.  A failed
   commit is kept as in flight (it may have reached the disk).  1 when the
   workload must stop. */
FV_UNUSED static int w_end(wl *w)
{
    int rc;
    if (wbelow(w, 100) < 5) {
        digby_txn_abort(w->txn);
        w->txn = NULL;
        w->cm = w->com;
        w->aborts++;
        return 0;
    }
    w->in_commit = 1;
    rc = digby_txn_commit(w->txn);
    w->txn = NULL;
    if (rc != DIGBY_OK) {
        w->inflight = w->cm;
        w->have_inflight = 1;
        return wstop(w, rc, "commit");
    }
    w->in_commit = 0;
    if (w->txn_nosync) {
        /* not durable yet: the state before it may still be what a power
           cut leaves */
        w->hist[w->nhist++] = w->com;
        w->nosync_commits++;
    } else {
        /* durable, and with it every commit before it */
        w->nhist = 0;
    }
    w->com = w->cm;
    w->have_inflight = 0;
    w->commits++;
    return 0;
}

/* ---- checks ---------------------------------------------------------------- */

typedef struct listed {
    int n;
    char name[MODEL_TREES][64];
} listed;

FV_UNUSED static int list_cb(void *ctx, const char *name, size_t name_bytes, uint64_t entries)
{
    listed *l = (listed *)ctx;
    (void)entries;
    if (l->n >= MODEL_TREES || name_bytes >= sizeof l->name[0]) return 1;
    memcpy(l->name[l->n], name, name_bytes);
    l->name[l->n][name_bytes] = 0;
    l->n++;
    return 0;
}

/* 1 when everything the database shows equals m (keys: the key space, vb:
   value scratch); otherwise 0 and why. */
FV_UNUSED static int db_equals(digby_db *db, const mkey *keys, const mstate *m,
                               unsigned char *vb, char *why, size_t cap)
{
    digby_txn *txn = NULL;
    digby_cursor *c = NULL;
    listed l;
    int tr, rc, ok = 0, expect = 0;
    rc = digby_txn_begin(db, DIGBY_TXN_READONLY, &txn);
    if (rc != DIGBY_OK) {
        snprintf(why, cap, "read txn: %s", digby_strerror(rc));
        return 0;
    }
    memset(&l, 0, sizeof l);
    rc = digby_table_list(txn, list_cb, &l);
    for (tr = 1; tr < MODEL_TREES; tr++) expect += m->exists[tr];
    if (rc != DIGBY_OK || l.n != expect) {
        snprintf(why, cap, "table_list: %s, %d tables, model %d", digby_strerror(rc),
                 l.n, expect);
        goto out;
    }
    for (tr = 0; tr < MODEL_TREES; tr++) {
        digby_table *h = NULL;
        size_t k = 0, seen = 0, i;
        const void *key, *val;
        size_t kn, vn;
        uint64_t ver;
        if (tr) {
            rc = digby_table_open(txn, tree_names[tr], 0, &h);
            if (rc != (m->exists[tr] ? DIGBY_OK : DIGBY_NOTFOUND)) {
                snprintf(why, cap, "table %s: open gives %s, model %s", tree_names[tr],
                         digby_strerror(rc), m->exists[tr] ? "exists" : "absent");
                goto out;
            }
            if (!m->exists[tr]) continue;
        }
        rc = digby_cursor_open(txn, h, &c);
        if (rc != DIGBY_OK) {
            snprintf(why, cap, "cursor_open: %s", digby_strerror(rc));
            goto out;
        }
        for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
            rc = digby_cursor_get(c, &key, &kn, &val, &vn, &ver);
            if (rc != DIGBY_OK) break;
            while (k < MODEL_KEYS && !m->e[tr][k].present) k++;
            if (k == MODEL_KEYS ||
                kcmp((const unsigned char *)key, kn, keys[k].p, keys[k].n) != 0) {
                snprintf(why, cap, "tree %s entry %lu: key differs (db %lu bytes%s)",
                         tree_names[tr], (unsigned long)seen, (unsigned long)kn,
                         k == MODEL_KEYS ? ", model has no more" : "");
                goto out;
            }
            vfill(vb, m->e[tr][k].vlen, m->e[tr][k].vseed);
            if (vn != m->e[tr][k].vlen || (vn && memcmp(val, vb, vn)) ||
                ver != m->e[tr][k].version) {
                snprintf(why, cap, "tree %s key #%lu: value/version differ (db %lu bytes "
                         "v%llu, model %lu bytes v%llu)", tree_names[tr], (unsigned long)k,
                         (unsigned long)vn, (unsigned long long)ver,
                         (unsigned long)m->e[tr][k].vlen,
                         (unsigned long long)m->e[tr][k].version);
                goto out;
            }
            k++;
            seen++;
        }
        if (rc != DIGBY_NOTFOUND) {
            snprintf(why, cap, "tree %s: scan ended with %s", tree_names[tr],
                     digby_strerror(rc));
            goto out;
        }
        for (i = k; i < MODEL_KEYS; i++)
            if (m->e[tr][i].present) {
                snprintf(why, cap, "tree %s: db has %lu entries, model more",
                         tree_names[tr], (unsigned long)seen);
                goto out;
            }
        digby_cursor_close(c);
        c = NULL;
    }
    ok = 1;
out:
    if (c) digby_cursor_close(c);
    digby_txn_abort(txn);
    return ok;
}

/* The no-sync history: 1 + the index of the state in w->hist that db
   shows (the newest first), or 0 when none. */
FV_UNUSED static int model_match_hist(digby_db *db, const mkey *keys, const wl *w,
                                      unsigned char *vb)
{
    char why[300];
    int i;
    for (i = w->nhist - 1; i >= 0; i--)
        if (db_equals(db, keys, &w->hist[i], vb, why, sizeof why)) return i + 1;
    return 0;
}

/* What model_write_after saw: each step's result (a step not reached stays
   DIGBY_OK). */
typedef struct write_after {
    int write_rc;  /* put of key = "ok" and commit */
    int read_rc;   /* reading it back (DIGBY_CORRUPT: other bytes) */
    int check_rc;  /* digby_check after it; rep holds its report */
    digby_check_report rep;
} write_after;

/* A recovered database must take a write: put key = "ok" and commit, read
   it back, digby_check.  The checks run when the write succeeded. */
FV_UNUSED static void model_write_after(digby_db *db, const char *key, write_after *wa)
{
    digby_txn *txn = NULL;
    const void *val;
    size_t vn;
    int rc;
    memset(wa, 0, sizeof *wa);
    rc = digby_txn_begin(db, 0, &txn);
    if (rc == DIGBY_OK) {
        rc = digby_txn_put(txn, NULL, key, strlen(key), "ok", 2, 0);
        if (rc == DIGBY_OK) rc = digby_txn_commit(txn);
        else digby_txn_abort(txn);
    }
    wa->write_rc = rc;
    if (rc != DIGBY_OK) return;
    rc = digby_txn_begin(db, DIGBY_TXN_READONLY, &txn);
    if (rc == DIGBY_OK) {
        rc = digby_txn_get(txn, NULL, key, strlen(key), &val, &vn, NULL);
        if (rc == DIGBY_OK && (vn != 2 || memcmp(val, "ok", 2) != 0)) rc = DIGBY_CORRUPT;
        digby_txn_abort(txn);
    }
    wa->read_rc = rc;
    wa->check_rc = digby_check(db, &wa->rep);
}

#endif /* DIGBY_TESTS_CRASH_MODEL_H */
