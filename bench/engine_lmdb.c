/* engine_lmdb.c -- the LMDB adapter (linked in when bench/Makefile builds lmdb). */
#include "bench.h"

#include <lmdb.h>

typedef struct { MDB_env *env; MDB_dbi dbi; } lm_db;
typedef struct { lm_db *d; MDB_txn *txn; MDB_cursor *cur; MDB_val ck, cv; } lm_s;

/* rc of LMDB call `what`: 0 if MDB_SUCCESS, else -1 with the error in
   t_err.  lm_found: MDB_NOTFOUND is 1 (a miss, or the cursor's end). */
static int lm_check(int rc, const char *what) { return rc == MDB_SUCCESS ? 0 : set_rc_err(what, mdb_strerror(rc), rc); }
static int lm_found(int rc, const char *what) { return rc == MDB_NOTFOUND ? 1 : lm_check(rc, what); }
static void *lm_open(const char *dir, const cfg_t *c)
{
    lm_db *d = calloc(1, sizeof *d);
    MDB_txn *txn;
    int rc;
    if ((rc = mdb_env_create(&d->env))) goto fail;
    if ((rc = mdb_env_set_mapsize(d->env, (size_t)64 << 30))) goto fail;
    if ((rc = mdb_env_set_maxreaders(d->env, 126))) goto fail;
    if ((rc = mdb_env_open(d->env, dir, c->sync ? 0 : MDB_NOSYNC, 0644))) goto fail;
    if ((rc = mdb_txn_begin(d->env, NULL, 0, &txn))) goto fail;
    if ((rc = mdb_dbi_open(txn, NULL, 0, &d->dbi))) { mdb_txn_abort(txn); goto fail; }
    if ((rc = mdb_txn_commit(txn))) goto fail;
    return d;
fail:
    lm_check(rc, "mdb open");
    if (d->env) mdb_env_close(d->env);
    free(d);
    return NULL;
}
static void lm_close(void *db) { lm_db *d = db; mdb_env_close(d->env); free(d); }
static void *lm_session(void *db) { lm_s *s = calloc(1, sizeof *s); s->d = db; return s; }
static void lm_session_free(void *sp) { free(sp); }
/* wbegin and rbegin: a transaction, read-write (flags 0) or MDB_RDONLY. */
static int lm_begin(lm_s *s, unsigned flags, const char *what)
{
    return lm_check(mdb_txn_begin(s->d->env, NULL, flags, &s->txn), what);
}
static int lm_wbegin(void *sp) { return lm_begin(sp, 0, "mdb_txn_begin"); }
static int lm_rbegin(void *sp) { return lm_begin(sp, MDB_RDONLY, "mdb_txn_begin(RDONLY)"); }
static int lm_wcommit(void *sp)
{
    lm_s *s = sp;
    int rc = mdb_txn_commit(s->txn);
    s->txn = NULL;   /* ended either way */
    return lm_check(rc, "mdb_txn_commit");
}
/* wabort and rend: the transaction's end (none after a failed commit). */
static void lm_end(void *sp) { lm_s *s = sp; if (s->txn) mdb_txn_abort(s->txn); s->txn = NULL; }
#define lm_wabort lm_end
#define lm_rend lm_end
static int lm_put(void *sp, const void *k, size_t kn, const void *v, size_t vn)
{
    lm_s *s = sp;
    MDB_val key = { kn, (void *)k }, val = { vn, (void *)v };
    return lm_check(mdb_put(s->txn, s->d->dbi, &key, &val, 0), "mdb_put");
}
static int lm_del(void *sp, const void *k, size_t kn)
{
    lm_s *s = sp;
    MDB_val key = { kn, (void *)k };
    return lm_found(mdb_del(s->txn, s->d->dbi, &key, NULL), "mdb_del");
}
static int lm_get(void *sp, const void *k, size_t kn, void *buf, size_t cap, size_t *vn)
{
    lm_s *s = sp;
    MDB_val key = { kn, (void *)k }, val;
    int rc = lm_found(mdb_get(s->txn, s->d->dbi, &key, &val), "mdb_get");
    if (rc) return rc;
    memcpy(buf, val.mv_data, val.mv_size < cap ? val.mv_size : cap);
    *vn = val.mv_size;
    return 0;
}
static int lm_cur_open(void *sp)
{
    lm_s *s = sp;
    return lm_check(mdb_cursor_open(s->txn, s->d->dbi, &s->cur), "mdb_cursor_open");
}
static void lm_cur_close(void *sp) { lm_s *s = sp; mdb_cursor_close(s->cur); s->cur = NULL; }
static int lm_move(lm_s *s, MDB_cursor_op op)
{
    return lm_found(mdb_cursor_get(s->cur, &s->ck, &s->cv, op), "mdb_cursor_get");
}
static int lm_seek(void *sp, const void *k, size_t kn)
{
    lm_s *s = sp;
    s->ck.mv_data = (void *)k;
    s->ck.mv_size = kn;
    return lm_move(s, MDB_SET_RANGE);
}
static int lm_seek_le(void *sp, const void *k, size_t kn)
{
    lm_s *s = sp;
    int rc = lm_seek(sp, k, kn);
    if (rc == 1) return lm_move(s, MDB_LAST);
    if (rc == 0 && (s->ck.mv_size != kn || memcmp(s->ck.mv_data, k, kn))) {
        size_t n = s->ck.mv_size < kn ? s->ck.mv_size : kn;
        int c = memcmp(s->ck.mv_data, k, n);
        if (c > 0 || (c == 0 && s->ck.mv_size > kn)) return lm_move(s, MDB_PREV);
    }
    return rc;
}
static int lm_first(void *sp) { return lm_move(sp, MDB_FIRST); }
static int lm_last(void *sp) { return lm_move(sp, MDB_LAST); }
static int lm_next(void *sp) { return lm_move(sp, MDB_NEXT); }
static int lm_prev(void *sp) { return lm_move(sp, MDB_PREV); }
static int lm_cur_get(void *sp, const void **k, size_t *kn, const void **v, size_t *vn)
{
    lm_s *s = sp;
    *k = s->ck.mv_data; *kn = s->ck.mv_size; *v = s->cv.mv_data; *vn = s->cv.mv_size;
    return 0;
}

static const char *lm_version(void) { return mdb_version(NULL, NULL, NULL); }
#define lm_quiesce NULL

const engine_t engine_lmdb =
    ENGINE("lmdb", "lmdb", 1, lm, 0,
           "mapsize 64 GiB, MDB_NOSYNC, plain mdb_put (no MDB_APPEND), OS page cache",
           "mapsize 64 GiB, flags 0 (commit syncs), OS page cache");
