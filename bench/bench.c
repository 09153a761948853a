/* bench.c -- digby against LMDB, SQLite, LevelDB and RocksDB, side by side.
 *
 * In the style of LevelDB's db_bench: one adapter per engine behind a small
 * vtable, the same workloads with the same deterministic keys and values for
 * every engine, engines interleaved workload by workload.
 *
 * Process model: for each workload group (a fresh database and the workloads
 * that run on it in order) the parent forks one child per engine.  Each
 * child opens its engine in its own directory and then waits on a pipe; the
 * parent sends each workload to each child in turn (the starting engine
 * rotates from workload to workload), so machine drift hits all engines
 * alike, and peak RSS (VmHWM, reset per workload through
 * /proc/self/clear_refs when the kernel allows it) belongs to one engine.
 * After each workload, untimed, a child waits until its own background
 * threads go quiet (LSM flushes and compactions) and then calls sync(), so
 * that one engine's deferred work does not land on the next engine's clock.
 *
 *   build/bench [--engines=digby,lmdb,...] [--workloads=fillrandom,...]
 *               [--groups=random,...] [--results=FILE] [--no-results]
 *   engines: digby, digby-enc (digby again with AES-256-GCM encryption on, a
 *   fixed raw key; not a peer), digby-mmap (digby again with DIGBY_OPEN_MMAP;
 *   not a peer), lmdb, sqlite, leveldb, rocksdb.
 *   env: N (default 1000000), QUICK=1 (N=100000), BENCH_DIR
 *        (/tmp/digby-bench), CACHE_MB (64), BENCH_MAX_SECONDS (900: a
 *        workload that runs longer is stopped and reported as partial).
 */
#define _GNU_SOURCE
#define DIGBY_IMPLEMENTATION
#include "../digby.h"

#include <lmdb.h>
#include <sqlite3.h>
#include <leveldb/c.h>
#include <rocksdb/c.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ======================================================================== */
/* Configuration                                                            */
/* ======================================================================== */

typedef struct cfg {
    uint64_t n;          /* keys in the key space */
    int key_size;        /* bytes */
    size_t val_size;     /* bytes */
    int sync;            /* 1: every commit durable; 0: the engine's no-sync mode */
    int lz4;             /* 1: lz4 compression on (engines that have it) */
    size_t cache_bytes;  /* each engine's cache */
} cfg_t;

static uint64_t g_n = 1000000;
static size_t g_cache_bytes = (size_t)64 << 20;
static double g_max_seconds = 900;
static char g_dir[4096] = "/tmp/digby-bench";
static int g_quick = 0;

/* Thread-local error text: every adapter call that fails writes here. */
static __thread char t_err[512];

static void set_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t_err, sizeof t_err, fmt, ap);
    va_end(ap);
}

/* ======================================================================== */
/* The engine vtable                                                        */
/* ======================================================================== */

/* Every call returns 0 (ok), 1 (not found / cursor ran off the end) or -1
   (error, text in t_err).  A "session" is one thread's context: its current
   transaction or batch and its one cursor. */
typedef struct engine {
    const char *name;    /* for --engines and the progress lines */
    const char *title;   /* column heading */
    int peer;            /* 1: a peer (digby's ratios are to the best peer) */
    int has_lz4;
    const char *missing; /* non-NULL: not in this build (why) */
    void *(*open)(const char *dir, const cfg_t *c);      /* NULL on error */
    void (*close)(void *db);
    void *(*session)(void *db);                          /* NULL on error */
    void (*session_free)(void *s);
    int (*wbegin)(void *s);            /* start a write transaction / batch */
    int (*wcommit)(void *s);           /* commit it (durable iff cfg.sync) */
    void (*wabort)(void *s);           /* drop it after an error */
    int (*put)(void *s, const void *k, size_t kn, const void *v, size_t vn);
    int (*del)(void *s, const void *k, size_t kn);
    int (*rbegin)(void *s);            /* start a read snapshot */
    void (*rend)(void *s);
    int (*get)(void *s, const void *k, size_t kn, void *buf, size_t cap, size_t *vn);
    int (*cur_open)(void *s);
    void (*cur_close)(void *s);
    int (*seek)(void *s, const void *k, size_t kn);     /* first key >= k */
    int (*seek_le)(void *s, const void *k, size_t kn);  /* last key <= k (then prev) */
    int (*first)(void *s);
    int (*last)(void *s);
    int (*next)(void *s);
    int (*prev)(void *s);
    int (*cur_get)(void *s, const void **k, size_t *kn, const void **v, size_t *vn);
    /* After a write workload, untimed, before the file size is taken: bring
       the files to rest (NULL: nothing to do). */
    void (*quiesce)(void *s);
    const char *settings_sync0;   /* stated in the output */
    const char *settings_sync1;
} engine_t;

/* ---- digby ----------------------------------------------------------------- */

typedef struct { digby_db *db; } dg_db;
typedef struct { dg_db *d; digby_txn *txn; digby_cursor *cur; } dg_s;

static int dg_fail(const char *what, int rc)
{
    set_err("%s: %s (rc %d)", what, digby_strerror(rc), rc);
    return -1;
}

/* The encrypted engine's key: a fixed raw 32-byte key (AES-256-GCM), so
   that open derives nothing (no PBKDF2: a raw key is only HMAC'd into the
   key-encryption key). */
static const uint8_t dg_key[32] = {
    0x64, 0x69, 0x67, 0x62, 0x79, 0x2d, 0x62, 0x65, 0x6e, 0x63, 0x68, 0x2d, 0x6b, 0x65, 0x79, 0x21,
    0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0,
};

/* variant: 0 plain, 1 encrypted, 2 DIGBY_OPEN_MMAP */
static void *dg_open_opts(const char *dir, const cfg_t *c, int variant)
{
    char path[4200];
    digby_options o;
    dg_db *d = calloc(1, sizeof *d);
    int rc;
    memset(&o, 0, sizeof o);
    o.cache_bytes = c->cache_bytes;
    o.flags = c->sync ? 0 : DIGBY_OPEN_NO_SYNC;
    o.compression = c->lz4 ? DIGBY_COMPRESS_LZ4 : DIGBY_COMPRESS_NONE;
    if (variant == 2) o.flags |= DIGBY_OPEN_MMAP;
    if (variant == 1) {
        o.key = dg_key;
        o.key_bytes = sizeof dg_key;
        o.cipher = DIGBY_CIPHER_AES256_GCM;
    }
    snprintf(path, sizeof path, "%s/db.digby", dir);
    rc = digby_open(path, &o, &d->db);
    if (rc) { dg_fail("digby_open", rc); free(d); return NULL; }
    return d;
}
static void *dg_open(const char *dir, const cfg_t *c) { return dg_open_opts(dir, c, 0); }
static void *dge_open(const char *dir, const cfg_t *c) { return dg_open_opts(dir, c, 1); }
static void *dgm_open(const char *dir, const cfg_t *c) { return dg_open_opts(dir, c, 2); }
static void dg_close(void *db)
{
    dg_db *d = db;
    int rc = digby_close(d->db);
    if (rc) fprintf(stderr, "digby_close: %s\n", digby_strerror(rc));
    free(d);
}
static void *dg_session(void *db) { dg_s *s = calloc(1, sizeof *s); s->d = db; return s; }
static void dg_session_free(void *sp) { free(sp); }
static int dg_wbegin(void *sp)
{
    dg_s *s = sp;
    int rc = digby_txn_begin(s->d->db, 0, &s->txn);
    return rc ? dg_fail("digby_txn_begin", rc) : 0;
}
static int dg_wcommit(void *sp)
{
    dg_s *s = sp;
    int rc = digby_txn_commit(s->txn);
    s->txn = NULL;
    return rc ? dg_fail("digby_txn_commit", rc) : 0;
}
static void dg_wabort(void *sp) { dg_s *s = sp; digby_txn_abort(s->txn); s->txn = NULL; s->cur = NULL; }
static int dg_put(void *sp, const void *k, size_t kn, const void *v, size_t vn)
{
    dg_s *s = sp;
    int rc = digby_txn_put(s->txn, NULL, k, kn, v, vn, 0);
    return rc ? dg_fail("digby_txn_put", rc) : 0;
}
static int dg_del(void *sp, const void *k, size_t kn)
{
    dg_s *s = sp;
    int rc = digby_txn_delete(s->txn, NULL, k, kn);
    if (rc == DIGBY_NOTFOUND) return 1;
    return rc ? dg_fail("digby_txn_delete", rc) : 0;
}
static int dg_rbegin(void *sp)
{
    dg_s *s = sp;
    int rc = digby_txn_begin(s->d->db, DIGBY_TXN_READONLY, &s->txn);
    return rc ? dg_fail("digby_txn_begin(READONLY)", rc) : 0;
}
static void dg_rend(void *sp) { dg_s *s = sp; digby_txn_abort(s->txn); s->txn = NULL; s->cur = NULL; }
static int dg_get(void *sp, const void *k, size_t kn, void *buf, size_t cap, size_t *vn)
{
    dg_s *s = sp;
    const void *v;
    size_t n;
    int rc = digby_txn_get(s->txn, NULL, k, kn, &v, &n, NULL);
    if (rc == DIGBY_NOTFOUND) return 1;
    if (rc) return dg_fail("digby_txn_get", rc);
    memcpy(buf, v, n < cap ? n : cap);
    *vn = n;
    return 0;
}
static int dg_cur_open(void *sp)
{
    dg_s *s = sp;
    int rc = digby_cursor_open(s->txn, NULL, &s->cur);
    return rc ? dg_fail("digby_cursor_open", rc) : 0;
}
static void dg_cur_close(void *sp) { dg_s *s = sp; digby_cursor_close(s->cur); s->cur = NULL; }
static int dg_move(int rc, const char *what)
{
    if (rc == DIGBY_NOTFOUND) return 1;
    return rc ? dg_fail(what, rc) : 0;
}
static int dg_seek(void *sp, const void *k, size_t kn)
{
    return dg_move(digby_cursor_seek(((dg_s *)sp)->cur, k, kn, DIGBY_SEEK_GE), "digby_cursor_seek");
}
static int dg_seek_le(void *sp, const void *k, size_t kn)
{
    return dg_move(digby_cursor_seek(((dg_s *)sp)->cur, k, kn, DIGBY_SEEK_LE), "digby_cursor_seek(LE)");
}
static int dg_first(void *sp) { return dg_move(digby_cursor_first(((dg_s *)sp)->cur), "digby_cursor_first"); }
static int dg_last(void *sp) { return dg_move(digby_cursor_last(((dg_s *)sp)->cur), "digby_cursor_last"); }
static int dg_next(void *sp) { return dg_move(digby_cursor_next(((dg_s *)sp)->cur), "digby_cursor_next"); }
static int dg_prev(void *sp) { return dg_move(digby_cursor_prev(((dg_s *)sp)->cur), "digby_cursor_prev"); }
static int dg_cur_get(void *sp, const void **k, size_t *kn, const void **v, size_t *vn)
{
    int rc = digby_cursor_get(((dg_s *)sp)->cur, k, kn, v, vn, NULL);
    return rc ? dg_fail("digby_cursor_get", rc) : 0;
}

/* ---- LMDB ------------------------------------------------------------------ */

typedef struct { MDB_env *env; MDB_dbi dbi; } lm_db;
typedef struct { lm_db *d; MDB_txn *txn; MDB_cursor *cur; MDB_val ck, cv; } lm_s;

static int lm_fail(const char *what, int rc)
{
    set_err("%s: %s (rc %d)", what, mdb_strerror(rc), rc);
    return -1;
}
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
    lm_fail("mdb open", rc);
    if (d->env) mdb_env_close(d->env);
    free(d);
    return NULL;
}
static void lm_close(void *db) { lm_db *d = db; mdb_env_close(d->env); free(d); }
static void *lm_session(void *db) { lm_s *s = calloc(1, sizeof *s); s->d = db; return s; }
static void lm_session_free(void *sp) { free(sp); }
static int lm_wbegin(void *sp)
{
    lm_s *s = sp;
    int rc = mdb_txn_begin(s->d->env, NULL, 0, &s->txn);
    return rc ? lm_fail("mdb_txn_begin", rc) : 0;
}
static int lm_wcommit(void *sp)
{
    lm_s *s = sp;
    int rc = mdb_txn_commit(s->txn);
    s->txn = NULL;
    return rc ? lm_fail("mdb_txn_commit", rc) : 0;
}
static void lm_wabort(void *sp) { lm_s *s = sp; if (s->txn) mdb_txn_abort(s->txn); s->txn = NULL; }
static int lm_put(void *sp, const void *k, size_t kn, const void *v, size_t vn)
{
    lm_s *s = sp;
    MDB_val key = { kn, (void *)k }, val = { vn, (void *)v };
    int rc = mdb_put(s->txn, s->d->dbi, &key, &val, 0);
    return rc ? lm_fail("mdb_put", rc) : 0;
}
static int lm_del(void *sp, const void *k, size_t kn)
{
    lm_s *s = sp;
    MDB_val key = { kn, (void *)k };
    int rc = mdb_del(s->txn, s->d->dbi, &key, NULL);
    if (rc == MDB_NOTFOUND) return 1;
    return rc ? lm_fail("mdb_del", rc) : 0;
}
static int lm_rbegin(void *sp)
{
    lm_s *s = sp;
    int rc = mdb_txn_begin(s->d->env, NULL, MDB_RDONLY, &s->txn);
    return rc ? lm_fail("mdb_txn_begin(RDONLY)", rc) : 0;
}
static void lm_rend(void *sp) { lm_s *s = sp; mdb_txn_abort(s->txn); s->txn = NULL; }
static int lm_get(void *sp, const void *k, size_t kn, void *buf, size_t cap, size_t *vn)
{
    lm_s *s = sp;
    MDB_val key = { kn, (void *)k }, val;
    int rc = mdb_get(s->txn, s->d->dbi, &key, &val);
    if (rc == MDB_NOTFOUND) return 1;
    if (rc) return lm_fail("mdb_get", rc);
    memcpy(buf, val.mv_data, val.mv_size < cap ? val.mv_size : cap);
    *vn = val.mv_size;
    return 0;
}
static int lm_cur_open(void *sp)
{
    lm_s *s = sp;
    int rc = mdb_cursor_open(s->txn, s->d->dbi, &s->cur);
    return rc ? lm_fail("mdb_cursor_open", rc) : 0;
}
static void lm_cur_close(void *sp) { lm_s *s = sp; mdb_cursor_close(s->cur); s->cur = NULL; }
static int lm_move(lm_s *s, MDB_cursor_op op)
{
    int rc = mdb_cursor_get(s->cur, &s->ck, &s->cv, op);
    if (rc == MDB_NOTFOUND) return 1;
    return rc ? lm_fail("mdb_cursor_get", rc) : 0;
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

/* ---- SQLite ---------------------------------------------------------------- */

typedef struct { char path[4200]; cfg_t c; void *main; } sq_db;
typedef struct {
    sq_db *d; sqlite3 *db;
    sqlite3_stmt *begin, *commit, *rollback, *put, *get, *del, *seek, *seek_le, *first, *last;
    sqlite3_stmt *cur;   /* the statement the cursor steps, NULL when none */
    int cur_desc;
} sq_s;

static int sq_fail(sq_s *s, const char *what)
{
    set_err("%s: %s", what, s && s->db ? sqlite3_errmsg(s->db) : "?");
    return -1;
}
static void sq_session_free(void *sp)
{
    sq_s *s = sp;
    if (!s) return;
    sqlite3_finalize(s->begin); sqlite3_finalize(s->commit); sqlite3_finalize(s->rollback);
    sqlite3_finalize(s->put); sqlite3_finalize(s->get); sqlite3_finalize(s->del);
    sqlite3_finalize(s->seek); sqlite3_finalize(s->seek_le);
    sqlite3_finalize(s->first); sqlite3_finalize(s->last);
    sqlite3_close(s->db);
    free(s);
}
static void *sq_session(void *dbp)
{
    sq_db *d = dbp;
    sq_s *s = calloc(1, sizeof *s);
    char pragmas[512];
    char *msg = NULL;
    s->d = d;
    if (sqlite3_open_v2(d->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        sq_fail(s, "sqlite3_open_v2");
        sq_session_free(s);
        return NULL;
    }
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA cache_size=-%zu;"
             "CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID;",
             d->c.sync ? "FULL" : "NORMAL", d->c.cache_bytes / 1024);
    if (sqlite3_exec(s->db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
        set_err("sqlite pragmas: %s", msg ? msg : "?");
        sqlite3_free(msg);
        sq_session_free(s);
        return NULL;
    }
#define PREP(field, sql) \
    if (sqlite3_prepare_v2(s->db, sql, -1, &s->field, NULL) != SQLITE_OK) { \
        sq_fail(s, "prepare " sql); sq_session_free(s); return NULL; }
    PREP(begin, "BEGIN");
    PREP(commit, "COMMIT");
    PREP(rollback, "ROLLBACK");
    PREP(put, "INSERT OR REPLACE INTO kv(k, v) VALUES(?1, ?2)");
    PREP(get, "SELECT v FROM kv WHERE k = ?1");
    PREP(del, "DELETE FROM kv WHERE k = ?1");
    PREP(seek, "SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k");
    PREP(seek_le, "SELECT k, v FROM kv WHERE k <= ?1 ORDER BY k DESC");
    PREP(first, "SELECT k, v FROM kv ORDER BY k");
    PREP(last, "SELECT k, v FROM kv ORDER BY k DESC");
#undef PREP
    return s;
}
static void *sq_open(const char *dir, const cfg_t *c)
{
    sq_db *d = calloc(1, sizeof *d);
    snprintf(d->path, sizeof d->path, "%s/db.sqlite", dir);
    d->c = *c;
    return d;
}
static void sq_close(void *dbp) { free(dbp); }
static int sq_exec1(sq_s *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : sq_fail(s, what);
}
static int sq_wbegin(void *sp) { sq_s *s = sp; return sq_exec1(s, s->begin, "BEGIN"); }
static int sq_wcommit(void *sp) { sq_s *s = sp; return sq_exec1(s, s->commit, "COMMIT"); }
static void sq_wabort(void *sp) { sq_s *s = sp; sq_exec1(s, s->rollback, "ROLLBACK"); }
static int sq_put(void *sp, const void *k, size_t kn, const void *v, size_t vn)
{
    sq_s *s = sp;
    sqlite3_bind_blob(s->put, 1, k, (int)kn, SQLITE_STATIC);
    sqlite3_bind_blob(s->put, 2, v, (int)vn, SQLITE_STATIC);
    return sq_exec1(s, s->put, "INSERT");
}
static int sq_del(void *sp, const void *k, size_t kn)
{
    sq_s *s = sp;
    sqlite3_bind_blob(s->del, 1, k, (int)kn, SQLITE_STATIC);
    if (sq_exec1(s, s->del, "DELETE")) return -1;
    return sqlite3_changes(s->db) ? 0 : 1;
}
static int sq_rbegin(void *sp) { sq_s *s = sp; return sq_exec1(s, s->begin, "BEGIN"); }
static void sq_rend(void *sp) { sq_s *s = sp; sq_exec1(s, s->commit, "COMMIT"); }
static int sq_get(void *sp, const void *k, size_t kn, void *buf, size_t cap, size_t *vn)
{
    sq_s *s = sp;
    int rc;
    sqlite3_bind_blob(s->get, 1, k, (int)kn, SQLITE_STATIC);
    rc = sqlite3_step(s->get);
    if (rc == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(s->get, 0);
        memcpy(buf, sqlite3_column_blob(s->get, 0), n < cap ? n : cap);
        *vn = n;
        sqlite3_reset(s->get);
        return 0;
    }
    sqlite3_reset(s->get);
    return rc == SQLITE_DONE ? 1 : sq_fail(s, "SELECT");
}
/* Copy the WAL into the database file and truncate it, so that the size
   taken is the database's, not database + log of recent pages. */
static void sq_quiesce(void *sp)
{
    sq_s *s = sp;
    sqlite3_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
}
static int sq_cur_open(void *sp) { ((sq_s *)sp)->cur = NULL; return 0; }
static void sq_cur_close(void *sp)
{
    sq_s *s = sp;
    if (s->cur) sqlite3_reset(s->cur);
    s->cur = NULL;
}
static int sq_step(sq_s *s)
{
    int rc = sqlite3_step(s->cur);
    if (rc == SQLITE_ROW) return 0;
    if (rc == SQLITE_DONE) return 1;
    return sq_fail(s, "cursor step");
}
static int sq_start(sq_s *s, sqlite3_stmt *st, int desc)
{
    if (s->cur) sqlite3_reset(s->cur);
    s->cur = st;
    s->cur_desc = desc;
    return sq_step(s);
}
static int sq_seek(void *sp, const void *k, size_t kn)
{
    sq_s *s = sp;
    if (s->cur) sqlite3_reset(s->cur);
    sqlite3_bind_blob(s->seek, 1, k, (int)kn, SQLITE_TRANSIENT);
    return sq_start(s, s->seek, 0);
}
static int sq_seek_le(void *sp, const void *k, size_t kn)
{
    sq_s *s = sp;
    if (s->cur) sqlite3_reset(s->cur);
    sqlite3_bind_blob(s->seek_le, 1, k, (int)kn, SQLITE_TRANSIENT);
    return sq_start(s, s->seek_le, 1);
}
static int sq_first(void *sp) { sq_s *s = sp; return sq_start(s, s->first, 0); }
static int sq_last(void *sp) { sq_s *s = sp; return sq_start(s, s->last, 1); }
/* A statement steps one way: next on an ascending scan, prev on a
   descending one (all that the workloads need). */
static int sq_next(void *sp)
{
    sq_s *s = sp;
    if (!s->cur || s->cur_desc) { set_err("sqlite adapter: next needs an ascending scan"); return -1; }
    return sq_step(s);
}
static int sq_prev(void *sp)
{
    sq_s *s = sp;
    if (!s->cur || !s->cur_desc) { set_err("sqlite adapter: prev needs a descending scan"); return -1; }
    return sq_step(s);
}
static int sq_cur_get(void *sp, const void **k, size_t *kn, const void **v, size_t *vn)
{
    sq_s *s = sp;
    *k = sqlite3_column_blob(s->cur, 0); *kn = (size_t)sqlite3_column_bytes(s->cur, 0);
    *v = sqlite3_column_blob(s->cur, 1); *vn = (size_t)sqlite3_column_bytes(s->cur, 1);
    return 0;
}

/* ---- LevelDB --------------------------------------------------------------- */

typedef struct {
    leveldb_t *db; leveldb_options_t *opt; leveldb_cache_t *cache;
    leveldb_filterpolicy_t *filter; leveldb_writeoptions_t *wo; leveldb_readoptions_t *ro;
} ld_db;
typedef struct { ld_db *d; leveldb_writebatch_t *batch; leveldb_iterator_t *it; } ld_s;

static int ld_fail(const char *what, char *msg)
{
    set_err("%s: %s", what, msg ? msg : "?");
    leveldb_free(msg);
    return -1;
}
static void *ld_open(const char *dir, const cfg_t *c)
{
    ld_db *d = calloc(1, sizeof *d);
    char *err = NULL;
    d->opt = leveldb_options_create();
    leveldb_options_set_create_if_missing(d->opt, 1);
    leveldb_options_set_compression(d->opt, leveldb_no_compression);
    d->cache = leveldb_cache_create_lru(c->cache_bytes);
    leveldb_options_set_cache(d->opt, d->cache);
    d->filter = leveldb_filterpolicy_create_bloom(10);
    leveldb_options_set_filter_policy(d->opt, d->filter);
    d->wo = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(d->wo, (unsigned char)c->sync);
    d->ro = leveldb_readoptions_create();
    d->db = leveldb_open(d->opt, dir, &err);
    if (err) {
        ld_fail("leveldb_open", err);
        leveldb_options_destroy(d->opt); leveldb_cache_destroy(d->cache);
        leveldb_filterpolicy_destroy(d->filter); leveldb_writeoptions_destroy(d->wo);
        leveldb_readoptions_destroy(d->ro); free(d);
        return NULL;
    }
    return d;
}
static void ld_close(void *dbp)
{
    ld_db *d = dbp;
    leveldb_close(d->db);
    leveldb_options_destroy(d->opt); leveldb_cache_destroy(d->cache);
    leveldb_filterpolicy_destroy(d->filter); leveldb_writeoptions_destroy(d->wo);
    leveldb_readoptions_destroy(d->ro); free(d);
}
static void *ld_session(void *db) { ld_s *s = calloc(1, sizeof *s); s->d = db; s->batch = leveldb_writebatch_create(); return s; }
static void ld_session_free(void *sp) { ld_s *s = sp; leveldb_writebatch_destroy(s->batch); free(s); }
static int ld_wbegin(void *sp) { leveldb_writebatch_clear(((ld_s *)sp)->batch); return 0; }
static int ld_wcommit(void *sp)
{
    ld_s *s = sp;
    char *err = NULL;
    leveldb_write(s->d->db, s->d->wo, s->batch, &err);
    leveldb_writebatch_clear(s->batch);
    return err ? ld_fail("leveldb_write", err) : 0;
}
static void ld_wabort(void *sp) { leveldb_writebatch_clear(((ld_s *)sp)->batch); }
static int ld_put(void *sp, const void *k, size_t kn, const void *v, size_t vn)
{
    leveldb_writebatch_put(((ld_s *)sp)->batch, k, kn, v, vn);
    return 0;
}
static int ld_del(void *sp, const void *k, size_t kn)
{
    leveldb_writebatch_delete(((ld_s *)sp)->batch, k, kn);
    return 0;
}
static int ld_rbegin(void *sp) { (void)sp; return 0; }
static void ld_rend(void *sp) { (void)sp; }
static int ld_get(void *sp, const void *k, size_t kn, void *buf, size_t cap, size_t *vn)
{
    ld_s *s = sp;
    char *err = NULL;
    size_t n = 0;
    char *v = leveldb_get(s->d->db, s->d->ro, k, kn, &n, &err);
    if (err) return ld_fail("leveldb_get", err);
    if (!v) return 1;
    memcpy(buf, v, n < cap ? n : cap);
    *vn = n;
    leveldb_free(v);
    return 0;
}
static int ld_cur_open(void *sp) { ld_s *s = sp; s->it = leveldb_create_iterator(s->d->db, s->d->ro); return 0; }
static void ld_cur_close(void *sp) { ld_s *s = sp; leveldb_iter_destroy(s->it); s->it = NULL; }
static int ld_valid(ld_s *s)
{
    char *err = NULL;
    if (leveldb_iter_valid(s->it)) return 0;
    leveldb_iter_get_error(s->it, &err);
    return err ? ld_fail("leveldb iterator", err) : 1;
}
static int ld_seek(void *sp, const void *k, size_t kn) { ld_s *s = sp; leveldb_iter_seek(s->it, k, kn); return ld_valid(s); }
static int ld_seek_le(void *sp, const void *k, size_t kn)
{
    ld_s *s = sp;
    size_t n;
    const char *got;
    int rc;
    leveldb_iter_seek(s->it, k, kn);
    rc = ld_valid(s);
    if (rc == 1) { leveldb_iter_seek_to_last(s->it); return ld_valid(s); }
    if (rc < 0) return rc;
    got = leveldb_iter_key(s->it, &n);
    if (n != kn || memcmp(got, k, kn)) { leveldb_iter_prev(s->it); return ld_valid(s); }
    return 0;
}
static int ld_first(void *sp) { ld_s *s = sp; leveldb_iter_seek_to_first(s->it); return ld_valid(s); }
static int ld_last(void *sp) { ld_s *s = sp; leveldb_iter_seek_to_last(s->it); return ld_valid(s); }
static int ld_next(void *sp) { ld_s *s = sp; leveldb_iter_next(s->it); return ld_valid(s); }
static int ld_prev(void *sp) { ld_s *s = sp; leveldb_iter_prev(s->it); return ld_valid(s); }
static int ld_cur_get(void *sp, const void **k, size_t *kn, const void **v, size_t *vn)
{
    ld_s *s = sp;
    *k = leveldb_iter_key(s->it, kn);
    *v = leveldb_iter_value(s->it, vn);
    return 0;
}

/* ---- RocksDB --------------------------------------------------------------- */

typedef struct {
    rocksdb_t *db; rocksdb_options_t *opt; rocksdb_block_based_table_options_t *bbo;
    rocksdb_cache_t *cache; rocksdb_writeoptions_t *wo; rocksdb_readoptions_t *ro;
} rk_db;
typedef struct { rk_db *d; rocksdb_writebatch_t *batch; rocksdb_iterator_t *it; } rk_s;

static int rk_fail(const char *what, char *msg)
{
    set_err("%s: %s", what, msg ? msg : "?");
    rocksdb_free(msg);
    return -1;
}
static void *rk_open(const char *dir, const cfg_t *c)
{
    rk_db *d = calloc(1, sizeof *d);
    char *err = NULL;
    d->opt = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(d->opt, 1);
    rocksdb_options_increase_parallelism(d->opt, 2);
    rocksdb_options_set_compression(d->opt, c->lz4 ? rocksdb_lz4_compression : rocksdb_no_compression);
    d->bbo = rocksdb_block_based_options_create();
    d->cache = rocksdb_cache_create_lru(c->cache_bytes);
    rocksdb_block_based_options_set_block_cache(d->bbo, d->cache);
    rocksdb_block_based_options_set_filter_policy(d->bbo, rocksdb_filterpolicy_create_bloom(10));
    rocksdb_options_set_block_based_table_factory(d->opt, d->bbo);
    d->wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(d->wo, (unsigned char)c->sync);
    d->ro = rocksdb_readoptions_create();
    d->db = rocksdb_open(d->opt, dir, &err);
    if (err) {
        rk_fail("rocksdb_open", err);
        rocksdb_options_destroy(d->opt); rocksdb_block_based_options_destroy(d->bbo);
        rocksdb_cache_destroy(d->cache); rocksdb_writeoptions_destroy(d->wo);
        rocksdb_readoptions_destroy(d->ro); free(d);
        return NULL;
    }
    return d;
}
static void rk_close(void *dbp)
{
    rk_db *d = dbp;
    rocksdb_close(d->db);
    rocksdb_options_destroy(d->opt); rocksdb_block_based_options_destroy(d->bbo);
    rocksdb_cache_destroy(d->cache); rocksdb_writeoptions_destroy(d->wo);
    rocksdb_readoptions_destroy(d->ro); free(d);
}
static void *rk_session(void *db) { rk_s *s = calloc(1, sizeof *s); s->d = db; s->batch = rocksdb_writebatch_create(); return s; }
static void rk_session_free(void *sp) { rk_s *s = sp; rocksdb_writebatch_destroy(s->batch); free(s); }
static int rk_wbegin(void *sp) { rocksdb_writebatch_clear(((rk_s *)sp)->batch); return 0; }
static int rk_wcommit(void *sp)
{
    rk_s *s = sp;
    char *err = NULL;
    rocksdb_write(s->d->db, s->d->wo, s->batch, &err);
    rocksdb_writebatch_clear(s->batch);
    return err ? rk_fail("rocksdb_write", err) : 0;
}
static void rk_wabort(void *sp) { rocksdb_writebatch_clear(((rk_s *)sp)->batch); }
static int rk_put(void *sp, const void *k, size_t kn, const void *v, size_t vn)
{
    rocksdb_writebatch_put(((rk_s *)sp)->batch, k, kn, v, vn);
    return 0;
}
static int rk_del(void *sp, const void *k, size_t kn)
{
    rocksdb_writebatch_delete(((rk_s *)sp)->batch, k, kn);
    return 0;
}
static int rk_rbegin(void *sp) { (void)sp; return 0; }
static void rk_rend(void *sp) { (void)sp; }
static int rk_get(void *sp, const void *k, size_t kn, void *buf, size_t cap, size_t *vn)
{
    rk_s *s = sp;
    char *err = NULL;
    size_t n = 0;
    char *v = rocksdb_get(s->d->db, s->d->ro, k, kn, &n, &err);
    if (err) return rk_fail("rocksdb_get", err);
    if (!v) return 1;
    memcpy(buf, v, n < cap ? n : cap);
    *vn = n;
    rocksdb_free(v);
    return 0;
}
static int rk_cur_open(void *sp) { rk_s *s = sp; s->it = rocksdb_create_iterator(s->d->db, s->d->ro); return 0; }
static void rk_cur_close(void *sp) { rk_s *s = sp; rocksdb_iter_destroy(s->it); s->it = NULL; }
static int rk_valid(rk_s *s)
{
    char *err = NULL;
    if (rocksdb_iter_valid(s->it)) return 0;
    rocksdb_iter_get_error(s->it, &err);
    return err ? rk_fail("rocksdb iterator", err) : 1;
}
static int rk_seek(void *sp, const void *k, size_t kn) { rk_s *s = sp; rocksdb_iter_seek(s->it, k, kn); return rk_valid(s); }
static int rk_seek_le(void *sp, const void *k, size_t kn)
{
    rk_s *s = sp;
    rocksdb_iter_seek_for_prev(s->it, k, kn);
    return rk_valid(s);
}
static int rk_first(void *sp) { rk_s *s = sp; rocksdb_iter_seek_to_first(s->it); return rk_valid(s); }
static int rk_last(void *sp) { rk_s *s = sp; rocksdb_iter_seek_to_last(s->it); return rk_valid(s); }
static int rk_next(void *sp) { rk_s *s = sp; rocksdb_iter_next(s->it); return rk_valid(s); }
static int rk_prev(void *sp) { rk_s *s = sp; rocksdb_iter_prev(s->it); return rk_valid(s); }
static int rk_cur_get(void *sp, const void **k, size_t *kn, const void **v, size_t *vn)
{
    rk_s *s = sp;
    *k = rocksdb_iter_key(s->it, kn);
    *v = rocksdb_iter_value(s->it, vn);
    return 0;
}

#define dg_quiesce NULL
#define lm_quiesce NULL
#define ld_quiesce NULL
#define rk_quiesce NULL

/* ---- the table of engines ------------------------------------------------- */

/* ENGINE_O: an adapter's functions (prefix p) with its own open function. */
#define ENGINE(nm, title, peer, p, lz4, s0, s1) ENGINE_O(nm, title, peer, p##_open, p, lz4, NULL, s0, s1)
#define ENGINE_O(nm, title, peer, op, p, lz4, missing, s0, s1) \
    { nm, title, peer, lz4, missing, op, p##_close, p##_session, p##_session_free, p##_wbegin, p##_wcommit, \
      p##_wabort, p##_put, p##_del, p##_rbegin, p##_rend, p##_get, p##_cur_open, p##_cur_close, \
      p##_seek, p##_seek_le, p##_first, p##_last, p##_next, p##_prev, p##_cur_get, p##_quiesce, s0, s1 }

/* digby's lz4 (digby_options.compression) and encryption, unless the
   build leaves them out (DIGBY_NO_LZ4, DIGBY_NO_CRYPTO: digby_open()
   would return DIGBY_NOFEATURE). */
#ifndef DIGBY_NO_LZ4
#define DG_HAS_LZ4 1
#define DG_LZ4_NOTE ", compression DIGBY_COMPRESS_LZ4 in the lz4 workload (else none, the default)"
#else
#define DG_HAS_LZ4 0
#define DG_LZ4_NOTE " (built with DIGBY_NO_LZ4: no lz4)"
#endif
#ifndef DIGBY_NO_CRYPTO
#define DG_NO_ENC NULL
#else
#define DG_NO_ENC "built with DIGBY_NO_CRYPTO: no encryption"
#endif

/* Engine indexes (the targets table and the exact-delete check name them). */
enum { E_DIGBY, E_DIGBY_ENC, E_DIGBY_MMAP, E_LMDB, E_SQLITE, E_LEVELDB, E_ROCKSDB };

static const engine_t engines[] = {
    ENGINE("digby", "digby", 0, dg, DG_HAS_LZ4,
           "page_size 4096 (default), cache_bytes = CACHE, flags DIGBY_OPEN_NO_SYNC" DG_LZ4_NOTE,
           "page_size 4096 (default), cache_bytes = CACHE, flags 0 (commit syncs)"),
    /* Not a peer: every digby workload once more, encrypted. */
    ENGINE_O("digby-enc", "digby encrypted", 0, dge_open, dg, DG_HAS_LZ4, DG_NO_ENC,
             "as digby, plus key = a fixed raw 32-byte key, cipher DIGBY_CIPHER_AES256_GCM (AES-256-GCM "
             "of every page written and of every page read into the cache; a raw key: no PBKDF2 at open)",
             "as digby, plus the same key and cipher"),
    /* Not a peer: every digby workload once more, reading through a map. */
    ENGINE_O("digby-mmap", "digby mmap", 0, dgm_open, dg, DG_HAS_LZ4, NULL,
             "as digby, plus flags DIGBY_OPEN_MMAP (branch and leaf pages read in place from a read-only "
             "map of the file, large values copied out of it, each page verified the first time it is "
             "read; the cache holds only freelist pages; the mapped file lives in the OS page cache, as "
             "LMDB's does)",
             "as digby, plus DIGBY_OPEN_MMAP"),
    ENGINE("lmdb", "lmdb", 1, lm, 0,
           "mapsize 64 GiB, MDB_NOSYNC, plain mdb_put (no MDB_APPEND), OS page cache",
           "mapsize 64 GiB, flags 0 (commit syncs), OS page cache"),
    ENGINE("sqlite", "sqlite", 1, sq, 0,
           "WITHOUT ROWID table kv(k BLOB PRIMARY KEY, v BLOB), journal_mode=WAL, synchronous=NORMAL, "
           "cache_size=-CACHE_KIB (= CACHE), INSERT OR REPLACE, prepared statements, one connection per thread; "
           "after each write workload, untimed, PRAGMA wal_checkpoint(TRUNCATE) before the file size is taken",
           "same, synchronous=FULL"),
    ENGINE("leveldb", "leveldb", 1, ld, 0,
           "compression off (no lz4 in LevelDB), LRU block cache = CACHE, bloom filter 10 bits/key, "
           "write_buffer 4 MiB (default), WriteBatch, sync=false",
           "same, WriteOptions sync=true"),
    ENGINE("rocksdb", "rocksdb", 1, rk, 1,
           "compression off (lz4 in the lz4 workload), LRU block cache = CACHE, bloom filter 10 bits/key, "
           "increase_parallelism(2), write_buffer 64 MiB (default), WriteBatch, sync=false",
           "same, WriteOptions sync=true"),
};
#define NENGINES ((int)(sizeof engines / sizeof engines[0]))

/* ======================================================================== */
/* Keys, values, randomness                                                 */
/* ======================================================================== */

static uint64_t rng_next(uint64_t *s)    /* splitmix64 */
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}
static uint64_t rng_below(uint64_t *s, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)rng_next(s) * n) >> 64);
}

/* Key number v as ksz zero-padded decimal digits.  Key numbers present in
   the database are even (2*i); odd ones are the missing keys, spread evenly
   through the key space. */
static inline void make_key(char *buf, int ksz, uint64_t v)
{
    int i;
    for (i = ksz - 1; i >= 0; i--) { buf[i] = (char)('0' + v % 10); v /= 10; }
}

static uint32_t *make_perm(uint64_t n, uint64_t seed)
{
    uint32_t *p = malloc(n * sizeof *p);
    uint64_t i, s = seed;
    for (i = 0; i < n; i++) p[i] = (uint32_t)i;
    for (i = n; i > 1; i--) {
        uint64_t j = rng_below(&s, i);
        uint32_t t = p[i - 1]; p[i - 1] = p[j]; p[j] = t;
    }
    return p;
}

/* Value pool: values are slices of it at random offsets.  Incompressible
   (random bytes), or compressible about 2:1 (each 64-byte run is 32 random
   printable bytes then the same 32 again), like db_bench's. */
typedef struct { char *buf; size_t len; } pool_t;

static void pool_make(pool_t *p, size_t vsize, int compressible, uint64_t seed)
{
    size_t i;
    uint64_t s = seed;
    p->len = ((size_t)1 << 20) + vsize;
    p->buf = malloc(p->len);
    for (i = 0; i < p->len; i += 8) {
        uint64_t r = rng_next(&s);
        size_t j;
        for (j = 0; j < 8 && i + j < p->len; j++) p->buf[i + j] = (char)(r >> (8 * j));
    }
    if (compressible) {
        for (i = 0; i < p->len; i++) p->buf[i] = (char)(' ' + (unsigned char)p->buf[i] % 95);
        for (i = 0; i + 64 <= p->len; i += 64) memcpy(p->buf + i + 32, p->buf + i, 32);
    }
}
static inline const char *pool_value(const pool_t *p, uint64_t *s, size_t vsize)
{
    return p->buf + rng_below(s, p->len - vsize);
}

/* ======================================================================== */
/* Workloads                                                                */
/* ======================================================================== */

enum {
    W_FILLSEQ, W_FILLRANDOM, W_OVERWRITE, W_READRANDOM, W_READMISSING, W_READSEQ,
    W_READREVERSE, W_SEEKRANDOM, W_READRANDOM2T, W_DELETERANDOM, W_FILLSYNC,
    W_FILL100K, W_FILL100K_LZ4, W_COUNT
};
static const struct { const char *name; int writes; const char *desc; } wl_info[W_COUNT] = {
    { "fillseq", 1, "N puts in key order, transactions of 1,000, not synced" },
    { "fillrandom", 1, "N puts in random order (a permutation), transactions of 1,000, not synced" },
    { "overwrite", 1, "N puts of random existing keys, transactions of 1,000, not synced" },
    { "readrandom", 0, "N gets of random existing keys, after closing and reopening the database, one read snapshot per round" },
    { "readmissing", 0, "N gets of random absent keys (between present ones)" },
    { "readseq", 0, "one forward cursor scan of all keys" },
    { "readreverse", 0, "one backward cursor scan of all keys" },
    { "seekrandom", 0, "N seeks (>= a random existing key), each followed by 10 nexts; ops = seeks" },
    { "readrandom2t", 0, "N gets of random existing keys split over 2 threads (each its own snapshot); ops/s in total" },
    { "deleterandom", 1, "N/2 deletes of distinct random existing keys, transactions of 1,000, not synced" },
    { "fillsync", 1, "1,000 puts of random keys into an empty database, each its own durable commit; run as 20 rounds of 50, the engines interleaved round by round (sync latency on this shared disk drifts by 10x within minutes)" },
    { "fill100K", 1, "N/100 puts of 100,000-byte incompressible values, random order, transactions of 100, not synced" },
    { "fill100K-lz4", 1, "as fill100K, values compressible ~2:1, lz4 on (engines without lz4: n/a)" },
};

/* A round's share: operations lo .. lo+n-1 of n in total. */
#define READ_ROUNDS 5
#define ROUND_LO(n, r, nr) ((n) * (uint64_t)(r) / (uint64_t)(nr))
#define ROUND_N(n, r, nr) (ROUND_LO(n, (r) + 1, nr) - ROUND_LO(n, r, nr))

typedef struct result {
    int status;            /* 0 ok, 1 error, 2 wrong answer, 3 n/a, 4 partial, 5 crashed */
    uint64_t ops;          /* operations done */
    uint64_t expect_ops;   /* operations planned */
    uint64_t found;        /* gets/scans that found their key */
    uint64_t expect_found;
    double secs;
    double ops_per_s;
    uint64_t warm_ops;     /* rounds after the first (read workloads): */
    double warm_secs;      /* ... the cache warm from round 1's reads */
    uint64_t file_bytes;   /* apparent size, sum of the engine's directory */
    uint64_t alloc_bytes;  /* st_blocks * 512 */
    uint64_t hwm_kb;       /* VmHWM after the workload */
    uint64_t base_kb;      /* VmRSS when the workload started */
    int hwm_reset;         /* 1: VmHWM was reset at the start */
    double settle_secs;    /* background work after the timed part */
    char msg[600];
} result_t;

typedef struct wctx {
    const engine_t *e;
    void *db;
    void *s;              /* the main thread's session */
    cfg_t c;
    const char *dir;
    uint32_t *perm;       /* fill order (random groups) */
    pool_t pool;
} wctx_t;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#define CHECK_DEADLINE(i, t0) \
    (((i) & 1023) == 0 && g_max_seconds > 0 && now() - (t0) > g_max_seconds)

/* Puts count keys, key number keyno(i), in transactions of `batch`. */
typedef uint64_t (*keyfn)(wctx_t *w, uint64_t i, uint64_t *rng);

static uint64_t key_seq(wctx_t *w, uint64_t i, uint64_t *r) { (void)w; (void)r; return 2 * i; }
static uint64_t key_perm(wctx_t *w, uint64_t i, uint64_t *r) { (void)r; return 2 * (uint64_t)w->perm[i]; }
static uint64_t key_rand(wctx_t *w, uint64_t i, uint64_t *r) { (void)i; return 2 * rng_below(r, w->c.n); }

static void do_puts(wctx_t *w, result_t *res, uint64_t count, int batch, keyfn kf,
                    uint64_t seed, size_t vsize, int del)
{
    char key[64];
    uint64_t i, rk = seed, rv = seed ^ 0xABCDEF;
    const engine_t *e = w->e;
    int in_txn = 0, rc;
    double t0 = now();
    res->expect_ops = count;
    for (i = 0; i < count; i++) {
        if (!in_txn) {
            if (CHECK_DEADLINE(i, t0)) { res->status = 4; break; }
            if (e->wbegin(w->s)) goto fail;
            in_txn = 1;
        }
        make_key(key, w->c.key_size, kf(w, i, &rk));
        if (del) {
            rc = e->del(w->s, key, (size_t)w->c.key_size);
            if (rc < 0) goto fail;
            if (rc == 0) res->found++;
        } else {
            if (e->put(w->s, key, (size_t)w->c.key_size, pool_value(&w->pool, &rv, vsize), vsize)) goto fail;
        }
        if ((i + 1) % (uint64_t)batch == 0) {
            in_txn = 0;
            if (e->wcommit(w->s)) goto fail_committed;
        }
    }
    if (in_txn) { in_txn = 0; if (e->wcommit(w->s)) goto fail_committed; }
    res->ops = i;
    res->secs = now() - t0;
    return;
fail:
    if (in_txn) e->wabort(w->s);
fail_committed:
    res->ops = i;
    res->secs = now() - t0;
    res->status = 1;
    snprintf(res->msg, sizeof res->msg, "at op %" PRIu64 ": %s", i, t_err);
}

/* count gets of key numbers 2*rand (+1 when missing) in one read snapshot. */
typedef struct { wctx_t *w; void *s; uint64_t count, seed; int missing; result_t r; double t0; } getjob_t;

static void do_gets(wctx_t *w, void *s, result_t *res, uint64_t count, uint64_t seed, int missing)
{
    char key[64], buf[256];
    uint64_t i = 0, r = seed;
    size_t vn;
    int rc;
    double t0 = now();
    res->expect_ops = count;
    if (w->e->rbegin(s)) goto fail;
    for (i = 0; i < count; i++) {
        if (CHECK_DEADLINE(i, t0)) { res->status = 4; break; }
        make_key(key, w->c.key_size, 2 * rng_below(&r, w->c.n) + (missing ? 1 : 0));
        rc = w->e->get(s, key, (size_t)w->c.key_size, buf, sizeof buf, &vn);
        if (rc < 0) { w->e->rend(s); goto fail; }
        if (rc == 0) {
            res->found++;
            if (vn != w->c.val_size) {
                res->status = 2;
                snprintf(res->msg, sizeof res->msg, "value of %zu bytes, expected %zu", vn, w->c.val_size);
            }
        }
    }
    w->e->rend(s);
    res->ops = i;
    res->secs = now() - t0;
    return;
fail:
    res->ops = i;
    res->secs = now() - t0;
    res->status = 1;
    snprintf(res->msg, sizeof res->msg, "at op %" PRIu64 ": %s", i, t_err);
}

/* Scan the entries with key numbers lo .. hi-1 (a round's share of the key
   space): forward from lo, or backward from hi-1.  The first and the last
   round start with first/last, the others with a seek. */
static void do_scan(wctx_t *w, result_t *res, int reverse, uint64_t lo, uint64_t hi)
{
    const engine_t *e = w->e;
    const void *k, *v;
    size_t kn, vn;
    char key[64];
    uint64_t i = 0, sum = 0, count = hi - lo;
    int rc;
    double t0 = now();
    res->expect_ops = count;
    if (e->rbegin(w->s)) goto fail;
    if (e->cur_open(w->s)) { e->rend(w->s); goto fail; }
    if (!reverse && lo == 0) rc = e->first(w->s);
    else if (!reverse) { make_key(key, w->c.key_size, 2 * lo); rc = e->seek(w->s, key, (size_t)w->c.key_size); }
    else if (hi == w->c.n) rc = e->last(w->s);
    else { make_key(key, w->c.key_size, 2 * (hi - 1)); rc = e->seek_le(w->s, key, (size_t)w->c.key_size); }
    while (rc == 0) {
        if (e->cur_get(w->s, &k, &kn, &v, &vn)) { rc = -1; break; }
        sum += ((const unsigned char *)k)[kn - 1] + ((const unsigned char *)v)[0] + vn;
        if (++i == count) break;
        if (CHECK_DEADLINE(i, t0)) { res->status = 4; rc = 1; break; }
        rc = reverse ? e->prev(w->s) : e->next(w->s);
    }
    e->cur_close(w->s);
    e->rend(w->s);
    res->ops = res->found = i;
    res->secs = now() - t0;
    if (rc < 0) goto fail;
    if (sum == 42) fputc(' ', stderr);   /* keep the reads */
    return;
fail:
    res->ops = i;
    res->secs = now() - t0;
    res->status = 1;
    snprintf(res->msg, sizeof res->msg, "at entry %" PRIu64 ": %s", i, t_err);
}

static void do_seeks(wctx_t *w, result_t *res, uint64_t count, uint64_t seed)
{
    const engine_t *e = w->e;
    const void *k, *v;
    size_t kn, vn;
    char key[64];
    uint64_t i = 0, r = seed, sum = 0;
    int rc = 0, j;
    double t0 = now();
    res->expect_ops = count;
    if (e->rbegin(w->s)) goto fail;
    if (e->cur_open(w->s)) { e->rend(w->s); goto fail; }
    for (i = 0; i < count; i++) {
        if (CHECK_DEADLINE(i, t0)) { res->status = 4; break; }
        make_key(key, w->c.key_size, 2 * rng_below(&r, w->c.n));
        rc = e->seek(w->s, key, (size_t)w->c.key_size);
        if (rc < 0) break;
        if (rc == 1) continue;
        res->found++;
        for (j = 0; j < 10 && rc == 0; j++) {
            if ((rc = e->cur_get(w->s, &k, &kn, &v, &vn)) != 0) break;
            sum += ((const unsigned char *)v)[0] + vn;
            rc = e->next(w->s);
        }
        if (rc < 0) break;
    }
    e->cur_close(w->s);
    e->rend(w->s);
    res->ops = i;
    res->secs = now() - t0;
    if (rc < 0) goto fail;
    if (sum == 42) fputc(' ', stderr);
    return;
fail:
    res->ops = i;
    res->secs = now() - t0;
    res->status = 1;
    snprintf(res->msg, sizeof res->msg, "at seek %" PRIu64 ": %s", i, t_err);
}

/* readrandom with 2 threads, each its own session and snapshot. */
typedef struct {
    wctx_t *w; void *s; uint64_t count, seed; result_t r; pthread_barrier_t *bar;
} thr_t;

static void *reader_thread(void *arg)
{
    thr_t *t = arg;
    pthread_barrier_wait(t->bar);
    do_gets(t->w, t->s, &t->r, t->count, t->seed, 0);
    return NULL;
}

static void do_gets_threads(wctx_t *w, result_t *res, int nthreads, uint64_t total, uint64_t seed)
{
    thr_t t[8];
    pthread_t tid[8];
    pthread_barrier_t bar;
    double t0;
    int i;
    memset(t, 0, sizeof t);
    pthread_barrier_init(&bar, NULL, (unsigned)nthreads + 1);
    for (i = 0; i < nthreads; i++) {
        t[i].w = w;
        t[i].s = w->e->session(w->db);
        if (!t[i].s) {
            res->status = 1;
            snprintf(res->msg, sizeof res->msg, "session: %s", t_err);
            while (--i >= 0) w->e->session_free(t[i].s);
            pthread_barrier_destroy(&bar);
            return;
        }
        t[i].count = ROUND_N(total, i, nthreads);
        t[i].seed = seed + (uint64_t)i * 7919;
        t[i].bar = &bar;
        pthread_create(&tid[i], NULL, reader_thread, &t[i]);
    }
    pthread_barrier_wait(&bar);
    t0 = now();
    for (i = 0; i < nthreads; i++) pthread_join(tid[i], NULL);
    res->secs = now() - t0;
    for (i = 0; i < nthreads; i++) {
        res->ops += t[i].r.ops;
        res->expect_ops += t[i].r.expect_ops;
        res->found += t[i].r.found;
        if (t[i].r.status && !res->status) {
            res->status = t[i].r.status;
            snprintf(res->msg, sizeof res->msg, "thread %d: %s", i, t[i].r.msg);
        }
        w->e->session_free(t[i].s);
    }
    pthread_barrier_destroy(&bar);
}

/* ======================================================================== */
/* Child process: one engine, one group                                     */
/* ======================================================================== */

static uint64_t proc_status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t fl = strlen(field);
    uint64_t v = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, fl) && line[fl] == ':') { v = strtoull(line + fl + 1, NULL, 10); break; }
    fclose(f);
    return v;
}

static int reset_hwm(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    int ok;
    if (fd < 0) return 0;
    ok = write(fd, "5", 1) == 1;
    close(fd);
    return ok;
}

static void dir_size(const char *dir, uint64_t *apparent, uint64_t *alloc)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[4608];
    struct stat st;
    *apparent = *alloc = 0;
    if (!d) return;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            *apparent += (uint64_t)st.st_size;
            *alloc += (uint64_t)st.st_blocks * 512;
        }
    }
    closedir(d);
}

static double cpu_secs(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

/* Wait (untimed) until this process's background threads stop using CPU:
   less than 2% of one core over 250 ms, at most 300 s. */
static double settle(void)
{
    double t0 = now(), c0 = cpu_secs(), c1;
    struct timespec ts = { 0, 250 * 1000 * 1000 };
    for (;;) {
        nanosleep(&ts, NULL);
        c1 = cpu_secs();
        if (c1 - c0 < 0.005 || now() - t0 > 300) break;
        c0 = c1;
    }
    return now() - t0;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t k = write(fd, c, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        c += k; n -= (size_t)k;
    }
    return 0;
}
static int read_all(int fd, void *p, size_t n)
{
    char *c = p;
    while (n) {
        ssize_t k = read(fd, c, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        c += k; n -= (size_t)k;
    }
    return 0;
}

/* One function per workload so that a profiler can single it out
   (valgrind --toggle-collect=wl_readrandom). */
#define NOINLINE __attribute__((noinline))
/* Read workloads run in READ_ROUNDS rounds, each a share of the operations
   (scans: of the key range), interleaved with the other engines round by
   round so that drift hits all alike.  Write workloads run in one go: their
   background work (LSM compactions) must stay on their clock. */
static NOINLINE void wl_fillseq(wctx_t *w, result_t *r) { do_puts(w, r, w->c.n, 1000, key_seq, 101, w->c.val_size, 0); }
static NOINLINE void wl_fillrandom(wctx_t *w, result_t *r) { do_puts(w, r, w->c.n, 1000, key_perm, 102, w->c.val_size, 0); }
static NOINLINE void wl_overwrite(wctx_t *w, result_t *r) { do_puts(w, r, w->c.n, 1000, key_rand, 103, w->c.val_size, 0); }
static NOINLINE void wl_readrandom(wctx_t *w, result_t *r, int rd, int nr)
{
    do_gets(w, w->s, r, ROUND_N(w->c.n, rd, nr), 104 + 1000 * (uint64_t)rd, 0);
}
static NOINLINE void wl_readmissing(wctx_t *w, result_t *r, int rd, int nr)
{
    do_gets(w, w->s, r, ROUND_N(w->c.n, rd, nr), 105 + 1000 * (uint64_t)rd, 1);
}
static NOINLINE void wl_readseq(wctx_t *w, result_t *r, int rd, int nr)
{
    do_scan(w, r, 0, ROUND_LO(w->c.n, rd, nr), ROUND_LO(w->c.n, rd + 1, nr));
}
static NOINLINE void wl_readreverse(wctx_t *w, result_t *r, int rd, int nr)
{
    /* backward through the key space: round 0 takes the top range */
    do_scan(w, r, 1, ROUND_LO(w->c.n, nr - 1 - rd, nr), ROUND_LO(w->c.n, nr - rd, nr));
}
static NOINLINE void wl_seekrandom(wctx_t *w, result_t *r, int rd, int nr)
{
    do_seeks(w, r, ROUND_N(w->c.n, rd, nr), 106 + 1000 * (uint64_t)rd);
}
static NOINLINE void wl_readrandom2t(wctx_t *w, result_t *r, int rd, int nr)
{
    do_gets_threads(w, r, 2, ROUND_N(w->c.n, rd, nr), 107 + 1000 * (uint64_t)rd);
}
static NOINLINE void wl_deleterandom(wctx_t *w, result_t *r) { do_puts(w, r, w->c.n / 2, 1000, key_perm, 108, 0, 1); }
/* fillsync runs in FILLSYNC_ROUNDS rounds, interleaved with the other
   engines round by round: sync latency on a shared disk drifts a lot. */
#define FILLSYNC_OPS 1000
#define FILLSYNC_ROUNDS 20
static NOINLINE void wl_fillsync(wctx_t *w, result_t *r, int round)
{
    do_puts(w, r, FILLSYNC_OPS / FILLSYNC_ROUNDS, 1, key_rand, 109 + 1000 * (uint64_t)round, w->c.val_size, 0);
}
static NOINLINE void wl_fill100k(wctx_t *w, result_t *r) { do_puts(w, r, w->c.n / 100, 100, key_perm, 110, 100000, 0); }

static int open_engine(wctx_t *w)
{
    w->db = w->e->open(w->dir, &w->c);
    if (!w->db) return -1;
    w->s = w->e->session(w->db);
    if (!w->s) { w->e->close(w->db); w->db = NULL; return -1; }
    return 0;
}
static void close_engine(wctx_t *w)
{
    if (w->s) w->e->session_free(w->s);
    if (w->db) w->e->close(w->db);
    w->s = w->db = NULL;
}

static void run_workload(wctx_t *w, int wl, int round, int nrounds, result_t *r)
{
    int reopen_failed = 0;
    memset(r, 0, sizeof *r);
    if (wl == W_READRANDOM && round == 0) {   /* after a reopen (untimed) */
        close_engine(w);
        if (open_engine(w)) reopen_failed = 1;
    }
    if (wl == W_FILLRANDOM) { free(w->perm); w->perm = make_perm(w->c.n, 1); }
    if (wl == W_DELETERANDOM) { free(w->perm); w->perm = make_perm(w->c.n, 2); }
    if (wl == W_FILL100K || wl == W_FILL100K_LZ4) { free(w->perm); w->perm = make_perm(w->c.n / 100, 3); }
    r->hwm_reset = reset_hwm();
    r->base_kb = proc_status_kb("VmRSS");
    if (reopen_failed || !w->db) {
        r->status = 1;
        snprintf(r->msg, sizeof r->msg, "open: %s", t_err);
    } else {
        switch (wl) {
        case W_FILLSEQ: wl_fillseq(w, r); break;
        case W_FILLRANDOM: wl_fillrandom(w, r); break;
        case W_OVERWRITE: wl_overwrite(w, r); break;
        case W_READRANDOM: wl_readrandom(w, r, round, nrounds); r->expect_found = r->ops; break;
        case W_READMISSING: wl_readmissing(w, r, round, nrounds); r->expect_found = 0; break;
        case W_READSEQ: wl_readseq(w, r, round, nrounds); r->expect_found = r->expect_ops; break;
        case W_READREVERSE: wl_readreverse(w, r, round, nrounds); r->expect_found = r->expect_ops; break;
        case W_SEEKRANDOM: wl_seekrandom(w, r, round, nrounds); r->expect_found = r->ops; break;
        case W_READRANDOM2T: wl_readrandom2t(w, r, round, nrounds); r->expect_found = r->ops; break;
        case W_DELETERANDOM: wl_deleterandom(w, r); r->expect_found = r->ops; break;
        case W_FILLSYNC: wl_fillsync(w, r, round); break;
        case W_FILL100K: case W_FILL100K_LZ4: wl_fill100k(w, r); break;
        }
        /* Answers must be right: LSM deletes do not say whether the key
           was there, so deleterandom is checked on the B-trees only. */
        if (r->status == 0 && !wl_info[wl].writes && r->found != r->expect_found) {
            r->status = 2;
            snprintf(r->msg, sizeof r->msg, "found %" PRIu64 " keys, expected %" PRIu64,
                     r->found, r->expect_found);
        }
        if (r->status == 0 && wl == W_DELETERANDOM && w->e != &engines[E_LEVELDB] &&
            w->e != &engines[E_ROCKSDB] && r->found != r->ops) {
            r->status = 2;
            snprintf(r->msg, sizeof r->msg, "deleted %" PRIu64 " keys of %" PRIu64, r->found, r->ops);
        }
        if (r->status == 4)
            snprintf(r->msg, sizeof r->msg, "stopped after %.0f s: %" PRIu64 " of %" PRIu64 " ops",
                     g_max_seconds, r->ops, r->expect_ops);
    }
    r->ops_per_s = r->secs > 0 ? r->ops / r->secs : 0;
    r->hwm_kb = proc_status_kb("VmHWM");
    if (wl_info[wl].writes && w->s && w->e->quiesce) w->e->quiesce(w->s);
    r->settle_secs = settle();
    sync();
    dir_size(w->dir, &r->file_bytes, &r->alloc_bytes);
}

static void child_main(int eng, const cfg_t *c, const char *dir, int cmd_fd, int res_fd)
{
    wctx_t w;
    int cmd[3];   /* workload, round, rounds */
    result_t r;
    memset(&w, 0, sizeof w);
    w.e = &engines[eng];
    w.c = *c;
    w.dir = dir;
    pool_make(&w.pool, c->val_size > 100000 ? c->val_size : 100000, c->lz4, 77);
    if (open_engine(&w))
        fprintf(stderr, "%s: open failed: %s\n", w.e->name, t_err);
    while (read_all(cmd_fd, cmd, sizeof cmd) == 0 && cmd[0] >= 0) {
        run_workload(&w, cmd[0], cmd[1], cmd[2], &r);
        if (write_all(res_fd, &r, sizeof r)) break;
    }
    close_engine(&w);
    _exit(0);
}

/* ======================================================================== */
/* Parent: groups, interleaving, tables                                     */
/* ======================================================================== */

typedef struct group {
    const char *name;
    int shape;            /* index in shapes[]: key/value sizes, cache, engines, result table */
    int sync, lz4;
    int wl[12];
    int nwl;
} group_t;

static const group_t groups[] = {
    { "seq", 0, 0, 0, { W_FILLSEQ }, 1 },
    { "random", 0, 0, 0, { W_FILLRANDOM, W_OVERWRITE, W_READRANDOM, W_READMISSING, W_READSEQ,
                           W_READREVERSE, W_SEEKRANDOM, W_READRANDOM2T, W_DELETERANDOM }, 9 },
    { "sync", 0, 1, 0, { W_FILLSYNC }, 1 },
    { "100K", 0, 0, 0, { W_FILL100K }, 1 },
    { "100K-lz4", 0, 0, 1, { W_FILL100K_LZ4 }, 1 },
    { "redb-seq", 1, 0, 0, { W_FILLSEQ }, 1 },
    { "redb-random", 1, 0, 0, { W_FILLRANDOM, W_OVERWRITE, W_READRANDOM, W_READMISSING, W_READSEQ,
                                W_READREVERSE, W_SEEKRANDOM, W_READRANDOM2T, W_DELETERANDOM }, 9 },
    { "redb-sync", 1, 1, 0, { W_FILLSYNC }, 1 },
    /* Supplement: the same reads with a cache larger than the database, so
       that digby's cache-hit path is compared with LMDB's (whose mmap has
       the whole file in the OS page cache in every run). */
    { "bigcache", 2, 0, 0, { W_FILLRANDOM, W_READRANDOM, W_READMISSING, W_READSEQ, W_SEEKRANDOM,
                             W_READRANDOM2T }, 6 },
};
#define NGROUPS ((int)(sizeof groups / sizeof groups[0]))

#define NSHAPES 3
static const struct {
    int key, val;
    int cache_mult;       /* cache = CACHE_MB * cache_mult */
    unsigned engines;     /* bit per engine; 0 = all */
    const char *label;
} shapes[NSHAPES] = {
    { 16, 100, 1, 0, "16-byte keys, 100-byte values" },
    { 24, 150, 1, 0, "redb-shaped: 24-byte keys, 150-byte values" },
    { 16, 100, 8, (1u << E_DIGBY) | (1u << E_DIGBY_ENC) | (1u << E_LMDB),
      "16-byte keys, 100-byte values, cache 8x larger (digby, digby encrypted and LMDB only)" },
};

static result_t results[NSHAPES][W_COUNT][NENGINES];
static int ran[NSHAPES][W_COUNT];
static int engine_on[NENGINES];
static int wl_on[W_COUNT];
static int group_on[NGROUPS];

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}
static void rm_rf(const char *p) { nftw(p, rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

static void fmt_ops(char *buf, size_t n, const result_t *r)
{
    double v = r->ops_per_s;
    switch (r->status) {
    case 1: snprintf(buf, n, "ERROR"); return;
    case 3: snprintf(buf, n, "n/a"); return;
    case 5: snprintf(buf, n, "CRASH"); return;
    default: break;
    }
    if (v >= 1e6) snprintf(buf, n, "%.2fM", v / 1e6);
    else if (v >= 1e4) snprintf(buf, n, "%.0fK", v / 1e3);
    else if (v >= 1e3) snprintf(buf, n, "%.1fK", v / 1e3);
    else snprintf(buf, n, "%.0f", v);
    if (r->status == 2) strncat(buf, " (WRONG)", n - strlen(buf) - 1);
    if (r->status == 4) strncat(buf, " (partial)", n - strlen(buf) - 1);
}
static void fmt_bytes(char *buf, size_t n, uint64_t b)
{
    if (b >= (uint64_t)10 << 30) snprintf(buf, n, "%.1f GiB", b / 1073741824.0);
    else if (b >= (uint64_t)1 << 20) snprintf(buf, n, "%.1f MiB", b / 1048576.0);
    else snprintf(buf, n, "%.0f KiB", b / 1024.0);
}
static int ok_status(int st) { return st == 0 || st == 4; }

static void run_group(int gi)
{
    const group_t *g = &groups[gi];
    cfg_t c;
    pid_t pid[NENGINES];
    int cmd[NENGINES], res[NENGINES], alive[NENGINES];
    char dir[NENGINES][4200];
    int e, k, wi;
    static int rotation = 0;

    memset(&c, 0, sizeof c);
    c.n = g_n;
    c.key_size = shapes[g->shape].key;
    c.val_size = (size_t)shapes[g->shape].val;
    c.sync = g->sync;
    c.lz4 = g->lz4;
    c.cache_bytes = g_cache_bytes * (size_t)shapes[g->shape].cache_mult;

    fprintf(stderr, "== group %s (%s, N=%" PRIu64 ", cache %zu MiB)\n", g->name, shapes[g->shape].label, g_n,
            c.cache_bytes >> 20);
    fflush(stderr);
    for (e = 0; e < NENGINES; e++) {
        int p1[2], p2[2];
        alive[e] = 0;
        pid[e] = -1;
        if (!engine_on[e] || engines[e].missing || (g->lz4 && !engines[e].has_lz4)) continue;
        if (shapes[g->shape].engines && !(shapes[g->shape].engines & (1u << e))) continue;
        snprintf(dir[e], sizeof dir[e], "%s/%s-%s", g_dir, g->name, engines[e].name);
        rm_rf(dir[e]);
        if (mkdir(dir[e], 0755)) { perror(dir[e]); continue; }
        if (pipe(p1) || pipe(p2)) { perror("pipe"); exit(1); }
        fflush(NULL);
        pid[e] = fork();
        if (pid[e] < 0) { perror("fork"); exit(1); }
        if (pid[e] == 0) {
            close(p1[1]); close(p2[0]);
            for (k = 0; k < e; k++) if (alive[k]) { close(cmd[k]); close(res[k]); }
            child_main(e, &c, dir[e], p1[0], p2[1]);
        }
        close(p1[0]); close(p2[1]);
        cmd[e] = p1[1]; res[e] = p2[0];
        alive[e] = 1;
    }

    for (wi = 0; wi < g->nwl; wi++) {
        int wl = g->wl[wi];
        int skip = !wl_on[wl];
        int round, nrounds = wl == W_FILLSYNC ? FILLSYNC_ROUNDS : wl_info[wl].writes ? 1 : READ_ROUNDS;
        ran[g->shape][wl] = !skip;
        for (e = 0; e < NENGINES; e++) memset(&results[g->shape][wl][e], 0, sizeof(result_t));
        for (round = 0; round < nrounds; round++, rotation++)
        for (k = 0; k < NENGINES; k++) {
            result_t *r, rr;
            int status;
            int msg[3] = { wl, round, nrounds };
            e = (k + rotation) % NENGINES;
            r = &results[g->shape][wl][e];
            if (r->status == 1 || r->status == 5) continue;   /* failed in an earlier round */
            if (!engine_on[e] || (shapes[g->shape].engines && !(shapes[g->shape].engines & (1u << e)))) {
                r->status = 3;
                continue;
            }
            if (engines[e].missing) {
                r->status = 3;
                snprintf(r->msg, sizeof r->msg, "%s", engines[e].missing);
                continue;
            }
            if (g->lz4 && !engines[e].has_lz4) {
                r->status = 3;
                snprintf(r->msg, sizeof r->msg, "no lz4 in this engine");
                continue;
            }
            if (skip) continue;
            if (!alive[e]) {
                r->status = 5;
                snprintf(r->msg, sizeof r->msg, "process gone after an earlier crash");
                continue;
            }
            if (write_all(cmd[e], msg, sizeof msg) || read_all(res[e], &rr, sizeof rr)) {
                memset(r, 0, sizeof *r);
                r->status = 5;
                waitpid(pid[e], &status, 0);
                if (WIFSIGNALED(status))
                    snprintf(r->msg, sizeof r->msg, "child killed by signal %d (%s)",
                             WTERMSIG(status), strsignal(WTERMSIG(status)));
                else
                    snprintf(r->msg, sizeof r->msg, "child exited (status %d)", WEXITSTATUS(status));
                alive[e] = 0;
                close(cmd[e]); close(res[e]);
            } else if (round == 0) {
                *r = rr;
            } else {                      /* add this round to the earlier ones */
                uint64_t hwm = r->hwm_kb > rr.hwm_kb ? r->hwm_kb : rr.hwm_kb;
                rr.warm_ops = r->warm_ops + rr.ops;
                rr.warm_secs = r->warm_secs + rr.secs;
                rr.ops += r->ops;
                rr.expect_ops += r->expect_ops;
                rr.found += r->found;
                rr.expect_found += r->expect_found;
                rr.secs += r->secs;
                if (r->settle_secs > rr.settle_secs) rr.settle_secs = r->settle_secs;
                rr.ops_per_s = rr.secs > 0 ? rr.ops / rr.secs : 0;
                rr.hwm_kb = hwm;
                if (r->status && !rr.status) { rr.status = r->status; memcpy(rr.msg, r->msg, sizeof rr.msg); }
                *r = rr;
            }
            if (round + 1 == nrounds) {
                char ops[64], sz[32];
                fmt_ops(ops, sizeof ops, r);
                fmt_bytes(sz, sizeof sz, r->file_bytes);
                fprintf(stderr, "  %-13s %-9s %12s ops/s  %7.2f s  file %10s  hwm %6.1f MiB  settle %.1f s%s%s\n",
                        wl_info[wl].name, engines[e].name, ops, r->secs, sz, r->hwm_kb / 1024.0,
                        r->settle_secs, r->msg[0] ? "  -- " : "", r->msg);
                fflush(stderr);
            }
        }
    }
    for (e = 0; e < NENGINES; e++) {
        int stop[3] = { -1, 0, 0 }, status;
        if (!alive[e]) continue;
        write_all(cmd[e], stop, sizeof stop);
        close(cmd[e]); close(res[e]);
        waitpid(pid[e], &status, 0);
    }
    for (e = 0; e < NENGINES; e++) if (pid[e] > 0) rm_rf(dir[e]);
}

/* ---- report -------------------------------------------------------------- */

typedef struct { char *buf; size_t len, cap; } sbuf;
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) { b->len += (size_t)n; return; }
        b->cap = b->cap * 2 + (size_t)n + 1024;
        b->buf = realloc(b->buf, b->cap);
    }
}

static void cmd_output(char *out, size_t n, const char *cmd)
{
    FILE *p = popen(cmd, "r");
    size_t k = 0;
    out[0] = 0;
    if (!p) return;
    k = fread(out, 1, n - 1, p);
    out[k] = 0;
    pclose(p);
    while (k > 0 && (out[k - 1] == '\n' || out[k - 1] == ' ')) out[--k] = 0;
}

/* The best peer (not digby, encrypted or not) for a workload: index or -1. */
static int best_peer(int shape, int wl)
{
    int e, best = -1;
    for (e = 0; e < NENGINES; e++) {
        const result_t *r = &results[shape][wl][e];
        if (!engines[e].peer || !ok_status(r->status) || r->ops_per_s <= 0) continue;
        if (best < 0 || r->ops_per_s > results[shape][wl][best].ops_per_s) best = e;
    }
    return best;
}

static void table_throughput(sbuf *b, int shape)
{
    int wl, e;
    char cell[64];
    sb_printf(b, "\n### Throughput, ops/s (%s, N = %" PRIu64 ", cache %zu MiB)\n\n", shapes[shape].label, g_n,
              (g_cache_bytes * (size_t)shapes[shape].cache_mult) >> 20);
    sb_printf(b, "The digby encrypted and digby mmap columns are not peers; in brackets, their ratio to plaintext digby.\n\n");
    sb_printf(b, "| workload |");
    for (e = 0; e < NENGINES; e++) sb_printf(b, " %s |", engines[e].title);
    sb_printf(b, " best peer | digby / best |\n|---|");
    for (e = 0; e < NENGINES; e++) sb_printf(b, "---:|");
    sb_printf(b, "---|---:|\n");
    for (wl = 0; wl < W_COUNT; wl++) {
        int bp;
        const result_t *d = &results[shape][wl][E_DIGBY];
        if (!ran[shape][wl]) continue;
        sb_printf(b, "| %s |", wl_info[wl].name);
        for (e = 0; e < NENGINES; e++) {
            const result_t *r = &results[shape][wl][e];
            fmt_ops(cell, sizeof cell, r);
            if ((e == E_DIGBY_ENC || e == E_DIGBY_MMAP) && ok_status(r->status) && r->ops_per_s > 0 && ok_status(d->status) &&
                d->ops_per_s > 0)
                sb_printf(b, " %s (%.2f×) |", cell, r->ops_per_s / d->ops_per_s);
            else
                sb_printf(b, " %s |", cell);
        }
        bp = best_peer(shape, wl);
        if (bp >= 0 && ok_status(d->status) && d->ops_per_s > 0)
            sb_printf(b, " %s | **%.2f×** |\n", engines[bp].name, d->ops_per_s / results[shape][wl][bp].ops_per_s);
        else
            sb_printf(b, " %s | n/a |\n", bp >= 0 ? engines[bp].name : "-");
    }
}

static void table_sizes(sbuf *b, int shape)
{
    int wl, e;
    char cell[64];
    sb_printf(b, "\n### File size after each write workload (%s)\n\n", shapes[shape].label);
    sb_printf(b, "Apparent bytes of every file in the engine's directory (WAL, logs and lock files included), "
                 "after the engine's background work went quiet, the engine still open (SQLite: after "
                 "`PRAGMA wal_checkpoint(TRUNCATE)`, so the -wal file is empty; LSMs: their write-ahead log "
                 "is included).\n\n| after |");
    for (e = 0; e < NENGINES; e++) sb_printf(b, " %s |", engines[e].title);
    sb_printf(b, " digby / smallest peer |\n|---|");
    for (e = 0; e < NENGINES; e++) sb_printf(b, "---:|");
    sb_printf(b, "---:|\n");
    for (wl = 0; wl < W_COUNT; wl++) {
        uint64_t best = 0;
        if (!ran[shape][wl] || !wl_info[wl].writes) continue;
        sb_printf(b, "| %s |", wl_info[wl].name);
        for (e = 0; e < NENGINES; e++) {
            const result_t *r = &results[shape][wl][e];
            if (r->status == 3 || r->status == 5 || r->file_bytes == 0) { sb_printf(b, " n/a |"); continue; }
            fmt_bytes(cell, sizeof cell, r->file_bytes);
            sb_printf(b, " %s |", cell);
            if (engines[e].peer && (best == 0 || r->file_bytes < best)) best = r->file_bytes;
        }
        if (best && results[shape][wl][E_DIGBY].file_bytes && results[shape][wl][E_DIGBY].status != 3)
            sb_printf(b, " %.2f× |\n", (double)results[shape][wl][E_DIGBY].file_bytes / best);
        else
            sb_printf(b, " n/a |\n");
    }
}

static void table_rss(sbuf *b, int shape)
{
    int wl, e;
    sb_printf(b, "\n### Peak RSS per workload, MiB (%s)\n\n", shapes[shape].label);
    sb_printf(b, "VmHWM of the engine's own process, reset at the start of each workload; it includes "
                 "the harness's key permutation and value pool (the \"base\" column is digby's RSS "
                 "when its workload started) and, for LMDB, the pages of its memory map that were touched.\n\n| workload |");
    for (e = 0; e < NENGINES; e++) sb_printf(b, " %s |", engines[e].title);
    sb_printf(b, " digby base |\n|---|");
    for (e = 0; e < NENGINES; e++) sb_printf(b, "---:|");
    sb_printf(b, "---:|\n");
    for (wl = 0; wl < W_COUNT; wl++) {
        if (!ran[shape][wl]) continue;
        sb_printf(b, "| %s |", wl_info[wl].name);
        for (e = 0; e < NENGINES; e++) {
            const result_t *r = &results[shape][wl][e];
            if (r->status == 3 || r->status == 5 || r->hwm_kb == 0) sb_printf(b, " n/a |");
            else sb_printf(b, " %.1f |", r->hwm_kb / 1024.0);
        }
        if (results[shape][wl][E_DIGBY].hwm_kb) sb_printf(b, " %.1f |\n", results[shape][wl][E_DIGBY].base_kb / 1024.0);
        else sb_printf(b, " n/a |\n");
    }
}

static void table_settle(sbuf *b, int shape)
{
    int wl, e, any = 0;
    for (wl = 0; wl < W_COUNT; wl++)
        for (e = 0; e < NENGINES; e++)
            if (ran[shape][wl] && results[shape][wl][e].settle_secs > 1.0) any = 1;
    if (!any) return;
    sb_printf(b, "\n### Background work after the timed part, seconds (%s)\n\n", shapes[shape].label);
    sb_printf(b, "Time until the engine's process stopped using CPU (flushes, compactions); not in the "
                 "throughput figures; the longest wait after any round. 0.25 s means idle at once.\n\n| workload |");
    for (e = 0; e < NENGINES; e++) sb_printf(b, " %s |", engines[e].title);
    sb_printf(b, "\n|---|");
    for (e = 0; e < NENGINES; e++) sb_printf(b, "---:|");
    sb_printf(b, "\n");
    for (wl = 0; wl < W_COUNT; wl++) {
        if (!ran[shape][wl]) continue;
        sb_printf(b, "| %s |", wl_info[wl].name);
        for (e = 0; e < NENGINES; e++) {
            const result_t *r = &results[shape][wl][e];
            if (r->status == 3 || r->status == 5) sb_printf(b, " n/a |");
            else sb_printf(b, " %.1f |", r->settle_secs);
        }
        sb_printf(b, "\n");
    }
}

/* The targets, evaluated on the 16/100 run. */
static void table_targets(sbuf *b)
{
    static const int lmdb_x1[] = { W_READRANDOM, W_READMISSING, W_READSEQ, W_SEEKRANDOM, W_FILLSEQ, W_FILL100K };
    const int S = 0, LM = E_LMDB, SQ = E_SQLITE, LD = E_LEVELDB, RK = E_ROCKSDB;
    size_t i;
    sb_printf(b, "\n### The issue's targets (16-byte keys, 100-byte values)\n\n"
                 "| target | digby | required | met? |\n|---|---:|---:|---|\n");
#define R(wl, e) (&results[S][wl][e])
#define OK(wl, e) (ran[S][wl] && ok_status(R(wl, e)->status) && R(wl, e)->ops_per_s > 0)
    for (i = 0; i < sizeof lmdb_x1 / sizeof lmdb_x1[0]; i++) {
        int wl = lmdb_x1[i];
        if (!ran[S][wl]) continue;
        if (OK(wl, E_DIGBY) && OK(wl, LM))
            sb_printf(b, "| %s ≥ 1.0× LMDB | %.0f/s | %.0f/s | %s (%.2f×) |\n", wl_info[wl].name,
                      R(wl, E_DIGBY)->ops_per_s, R(wl, LM)->ops_per_s,
                      R(wl, E_DIGBY)->ops_per_s >= R(wl, LM)->ops_per_s ? "met" : "**missed**",
                      R(wl, E_DIGBY)->ops_per_s / R(wl, LM)->ops_per_s);
        else
            sb_printf(b, "| %s ≥ 1.0× LMDB | - | - | not measured |\n", wl_info[wl].name);
        if (OK(wl, E_DIGBY_MMAP) && OK(wl, LM))
            sb_printf(b, "| %s ≥ 1.0× LMDB, digby mmap | %.0f/s | %.0f/s | %s (%.2f×) |\n", wl_info[wl].name,
                      R(wl, E_DIGBY_MMAP)->ops_per_s, R(wl, LM)->ops_per_s,
                      R(wl, E_DIGBY_MMAP)->ops_per_s >= R(wl, LM)->ops_per_s ? "met" : "**missed**",
                      R(wl, E_DIGBY_MMAP)->ops_per_s / R(wl, LM)->ops_per_s);
    }
    {
        static const int w2[] = { W_FILLRANDOM, W_DELETERANDOM };
        for (i = 0; i < 2; i++) {
            int wl = w2[i];
            double lsm, need;
            if (!ran[S][wl]) continue;
            if (!(OK(wl, E_DIGBY) && OK(wl, LM) && (OK(wl, LD) || OK(wl, RK)))) {
                sb_printf(b, "| %s ≥ 1.5× LMDB and ≥ 0.5× best LSM | - | - | not measured |\n", wl_info[wl].name);
                continue;
            }
            lsm = OK(wl, LD) ? R(wl, LD)->ops_per_s : 0;
            if (OK(wl, RK) && R(wl, RK)->ops_per_s > lsm) lsm = R(wl, RK)->ops_per_s;
            need = 1.5 * R(wl, LM)->ops_per_s;
            if (0.5 * lsm > need) need = 0.5 * lsm;
            sb_printf(b, "| %s ≥ 1.5× LMDB and ≥ 0.5× best LSM | %.0f/s | %.0f/s | %s (%.2f× LMDB, %.2f× best LSM) |\n",
                      wl_info[wl].name, R(wl, E_DIGBY)->ops_per_s, need,
                      R(wl, E_DIGBY)->ops_per_s >= need ? "met" : "**missed**",
                      R(wl, E_DIGBY)->ops_per_s / R(wl, LM)->ops_per_s, R(wl, E_DIGBY)->ops_per_s / lsm);
        }
    }
    if (ran[S][W_OVERWRITE]) {
        double lsm = 0;
        if (OK(W_OVERWRITE, LD)) lsm = R(W_OVERWRITE, LD)->ops_per_s;
        if (OK(W_OVERWRITE, RK) && R(W_OVERWRITE, RK)->ops_per_s > lsm) lsm = R(W_OVERWRITE, RK)->ops_per_s;
        if (OK(W_OVERWRITE, E_DIGBY) && lsm > 0)
            sb_printf(b, "| overwrite ≥ 0.6× best LSM | %.0f/s | %.0f/s | %s (%.2f×) |\n",
                      R(W_OVERWRITE, E_DIGBY)->ops_per_s, 0.6 * lsm,
                      R(W_OVERWRITE, E_DIGBY)->ops_per_s >= 0.6 * lsm ? "met" : "**missed**",
                      R(W_OVERWRITE, E_DIGBY)->ops_per_s / lsm);
    }
    if (ran[S][W_FILLSYNC]) {
        int bp = best_peer(S, W_FILLSYNC);
        if (bp >= 0 && OK(W_FILLSYNC, E_DIGBY))
            sb_printf(b, "| fillsync ≥ best peer | %.0f/s | %.0f/s (%s) | %s (%.2f×) |\n",
                      R(W_FILLSYNC, E_DIGBY)->ops_per_s, R(W_FILLSYNC, bp)->ops_per_s, engines[bp].name,
                      R(W_FILLSYNC, E_DIGBY)->ops_per_s >= R(W_FILLSYNC, bp)->ops_per_s ? "met" : "**missed**",
                      R(W_FILLSYNC, E_DIGBY)->ops_per_s / R(W_FILLSYNC, bp)->ops_per_s);
    }
    if (ran[S][W_FILLRANDOM] && R(W_FILLRANDOM, E_DIGBY)->file_bytes && R(W_FILLRANDOM, LM)->file_bytes &&
        R(W_FILLRANDOM, SQ)->file_bytes) {
        uint64_t d = R(W_FILLRANDOM, E_DIGBY)->file_bytes, l = R(W_FILLRANDOM, LM)->file_bytes,
                 q = R(W_FILLRANDOM, SQ)->file_bytes, raw = g_n * (16 + 100);
        uint64_t need = l && q ? (l < q ? l : q) : (l ? l : q);
        sb_printf(b, "| file after fillrandom < SQLite's and LMDB's | %.0f MiB (%.2f× raw) | < %.0f MiB | %s "
                     "(LMDB %.2f× raw, SQLite %.2f× raw; raw = N × 116 B) |\n",
                  d / 1048576.0, (double)d / raw, need / 1048576.0,
                  need && d < need ? "met" : "**missed**", (double)l / raw, (double)q / raw);
    }
    {
        /* With the data in cache: from the bigcache group (cache larger than
           the database) when the encrypted engine ran there, else from the
           default group.  readrandom starts after a reopen, so its first
           round reads (and decrypts) each page into an empty cache; the
           target is judged on the later rounds, which find the pages there. */
        int sh = -1, k;
        static const int cand[2] = { 2, 0 };   /* shapes: bigcache, default */
        for (k = 0; k < 2 && sh < 0; k++) {
            const result_t *d = &results[cand[k]][W_READRANDOM][E_DIGBY];
            const result_t *x = &results[cand[k]][W_READRANDOM][E_DIGBY_ENC];
            if (ran[cand[k]][W_READRANDOM] && ok_status(d->status) && d->ops_per_s > 0 &&
                ok_status(x->status) && x->ops_per_s > 0)
                sh = cand[k];
        }
        if (sh >= 0) {
            const result_t *d = &results[sh][W_READRANDOM][E_DIGBY];
            const result_t *x = &results[sh][W_READRANDOM][E_DIGBY_ENC];
            /* the encrypted file when the reads began: after the last write
               workload before readrandom in its group */
            const result_t *fd = &results[sh][ran[sh][W_OVERWRITE] ? W_OVERWRITE : W_FILLRANDOM][E_DIGBY_ENC];
            size_t cache = g_cache_bytes * (size_t)shapes[sh].cache_mult;
            int warm = d->warm_secs > 0 && x->warm_secs > 0 && d->warm_ops && x->warm_ops;
            double dw = warm ? d->warm_ops / d->warm_secs : d->ops_per_s;
            double xw = warm ? x->warm_ops / x->warm_secs : x->ops_per_s;
            char db[64] = "?", how[160];
            if (fd->file_bytes) fmt_bytes(db, sizeof db, fd->file_bytes);
            if (warm)
                snprintf(how, sizeof how, "on rounds 2–%d, the pages in the cache; all %d rounds, the first "
                         "reading each page after the reopen: %.2f×", READ_ROUNDS, READ_ROUNDS,
                         x->ops_per_s / d->ops_per_s);
            else
                snprintf(how, sizeof how, "all rounds");
            sb_printf(b, "| encrypted readrandom ≥ 0.8× plaintext digby, data in cache | %.0f/s | %.0f/s | %s "
                         "(%.2f× %s; %s group: cache %zu MiB, encrypted file %s%s) |\n",
                      xw, 0.8 * dw, xw >= 0.8 * dw ? "met" : "**missed**", xw / dw, how,
                      sh == 2 ? "bigcache" : "default (no bigcache result)", cache >> 20, db,
                      fd->file_bytes > cache ? ": **not** all in cache" : "");
        } else {
            sb_printf(b, "| encrypted readrandom ≥ 0.8× plaintext digby, data in cache | - | - | not measured "
                         "(needs readrandom of digby and digby-enc in the bigcache or the default group) |\n");
        }
    }
    if (ran[S][W_FILLRANDOM]) {
        /* base: the smallest RSS digby's process had when a workload began
           (harness arrays and the library, before the cache filled) */
        uint64_t peak = 0, base = 0;
        int wl;
        for (wl = 0; wl < W_COUNT; wl++) {
            if (!ran[S][wl] || !R(wl, E_DIGBY)->hwm_kb) continue;
            if (R(wl, E_DIGBY)->hwm_kb > peak) peak = R(wl, E_DIGBY)->hwm_kb;
            if (R(wl, E_DIGBY)->base_kb && (base == 0 || R(wl, E_DIGBY)->base_kb < base)) base = R(wl, E_DIGBY)->base_kb;
        }
        sb_printf(b, "| peak RSS bounded by the cache (%zu MiB) | %.0f MiB peak (harness base ≈ %.0f MiB) | ≤ cache + harness | %s |\n",
                  g_cache_bytes >> 20, peak / 1024.0, base / 1024.0,
                  peak <= base + (g_cache_bytes >> 10) + 16 * 1024 ? "met at this N (peak ≤ base + cache + 16 MiB)"
                                                                  : "**missed** (peak > base + cache + 16 MiB)");
    }
#undef R
#undef OK
}

static void write_report(const char *path, double wall, int argc, char **argv)
{
    sbuf b = { NULL, 0, 0 };
    char date[64], cpu[256], kern[256], pkgs[2048], git[128], mem[64], fs[256];
    time_t t = time(NULL);
    int e, s, i;
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
    cmd_output(cpu, sizeof cpu, "grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'");
    cmd_output(kern, sizeof kern, "uname -srm");
    cmd_output(mem, sizeof mem, "awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo");
    cmd_output(pkgs, sizeof pkgs, "dpkg-query -W -f='${Package} ${Version}\\n' liblmdb-dev libsqlite3-dev "
                                  "libleveldb-dev librocksdb-dev libxxhash-dev liblz4-dev libmbedtls-dev 2>/dev/null | sort -u | sed 's/^/    /'");
#ifdef BENCH_DIGBY_REV
    snprintf(git, sizeof git, "%s", BENCH_DIGBY_REV);
#else
    cmd_output(git, sizeof git, "git -C .. rev-parse --short HEAD 2>/dev/null");
#endif
    {
        char c2[4400];
        snprintf(c2, sizeof c2, "df -T '%s' 2>/dev/null | awk 'NR==2 {print $2 \" on \" $1}'", g_dir);
        cmd_output(fs, sizeof fs, c2);
    }
    sb_printf(&b, "# digby benchmark results\n\n");
    sb_printf(&b, "- date: %s; wall time %.0f s\n", date, wall);
    sb_printf(&b, "- command: `");
    for (i = 0; i < argc; i++) sb_printf(&b, "%s%s", i ? " " : "", argv[i]);
    sb_printf(&b, "` with N=%" PRIu64 "%s\n", g_n, g_quick ? " (QUICK=1)" : "");
    sb_printf(&b, "- machine: %ld cores (nproc), %s, %s RAM, kernel %s; databases in %s (%s)\n",
              sysconf(_SC_NPROCESSORS_ONLN), cpu, mem, kern, g_dir, fs);
    sb_printf(&b, "- digby: %s, built from %s\n", digby_version(), git[0] ? git : "?");
    sb_printf(&b, "- packages (dpkg-query -W):\n\n%s\n", pkgs);
    sb_printf(&b, "    SQLite library %s, LMDB library %s\n", sqlite3_libversion(), mdb_version(NULL, NULL, NULL));
    sb_printf(&b, "\n## Settings\n\nEvery engine gets the same durability per workload: the batched fills, "
                  "overwrite and deleterandom use each engine's no-sync mode (commits reach the OS, not the disk); "
                  "fillsync makes every commit durable. Each engine has a %zu MiB cache where it has one "
                  "(`CACHE_MB`), except in the supplementary bigcache group (8x, larger than the database), "
                  "run for digby, digby encrypted and LMDB only. Every digby workload runs once more with "
                  "encryption on (digby encrypted: its own process and database, in the same rotation as the "
                  "others, not counted as a peer), and once more with DIGBY_OPEN_MMAP (digby mmap: likewise; "
                  "not a peer, and its resident set grows with the file, as LMDB's does).\n\n| engine | batched workloads | fillsync |\n|---|---|---|\n", g_cache_bytes >> 20);
    for (e = 0; e < NENGINES; e++)
        sb_printf(&b, "| %s | %s | %s |\n", engines[e].title, engines[e].settings_sync0, engines[e].settings_sync1);
    sb_printf(&b, "\nCACHE = %zu MiB. Reads: each thread reads inside one read transaction / snapshot "
                  "(LMDB, digby: a read-only txn; SQLite: BEGIN ... COMMIT; LevelDB, RocksDB: default ReadOptions) "
                  "and copies each value into its own buffer. Gets check the value length; reads and scans check "
                  "how many keys they found (a wrong count is marked WRONG).\n", g_cache_bytes >> 20);
    sb_printf(&b, "\n## Workloads\n\nKeys are zero-padded decimal numbers; present keys are even numbers, "
                  "absent ones odd (so misses fall between present keys). Fixed seeds: every engine gets the same "
                  "keys and values. Values are random bytes (incompressible) unless stated.\n\n");
    for (i = 0; i < W_COUNT; i++) sb_printf(&b, "- **%s**: %s\n", wl_info[i].name, wl_info[i].desc);
    sb_printf(&b, "\nGroups (each a fresh database per engine, the workloads in this order): ");
    for (i = 0; i < NGROUPS; i++) {
        int k;
        sb_printf(&b, "%s%s [", i ? "; " : "", groups[i].name);
        for (k = 0; k < groups[i].nwl; k++) sb_printf(&b, "%s%s", k ? ", " : "", wl_info[groups[i].wl[k]].name);
        sb_printf(&b, "]");
    }
    sb_printf(&b, ".\n\nMethod: one process per (engine, group), driven through a pipe; for each workload the "
                  "engines run one after the other (the first engine rotates), so drift hits all alike. The clock "
                  "covers the operations and commits only (not open/close). After each workload, untimed, the "
                  "process waits until its background threads stop using CPU and calls sync(). A workload running "
                  "longer than %.0f s is stopped and marked partial.\n", g_max_seconds);

    for (s = 0; s < NSHAPES; s++) {
        int any = 0;
        for (i = 0; i < W_COUNT; i++) any |= ran[s][i];
        if (!any) continue;
        sb_printf(&b, "\n## %s\n", shapes[s].label);
        table_throughput(&b, s);
        table_sizes(&b, s);
        table_rss(&b, s);
        table_settle(&b, s);
    }
    table_targets(&b);
    {
        int any = 0, wl;
        for (s = 0; s < NSHAPES; s++)
            for (wl = 0; wl < W_COUNT; wl++)
                for (e = 0; e < NENGINES; e++) {
                    const result_t *r = &results[s][wl][e];
                    if (!ran[s][wl] || !r->msg[0] || r->status == 3) continue;
                    if (!any) sb_printf(&b, "\n## Errors and notes\n\n");
                    any = 1;
                    sb_printf(&b, "- %s, %s, %s: %s\n", shapes[s].label, wl_info[wl].name, engines[e].title, r->msg);
                }
        if (!results[0][W_FILLRANDOM][0].hwm_reset && ran[0][W_FILLRANDOM])
            sb_printf(&b, "\nNote: /proc/self/clear_refs was not writable: peak RSS is cumulative per (engine, group).\n");
    }

    fputs("\n", stdout);
    fwrite(b.buf, 1, b.len, stdout);
    fflush(stdout);
    if (path) {
        FILE *f = fopen(path, "w");
        if (!f) { perror(path); }
        else { fwrite(b.buf, 1, b.len, f); fclose(f); fprintf(stderr, "wrote %s\n", path); }
    }
    free(b.buf);
}

/* ---- main ----------------------------------------------------------------- */

static int list_has(const char *list, const char *name)
{
    const char *p = list;
    size_t n = strlen(name);
    while (p && *p) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return 1;
        p = c ? c + 1 : NULL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *results_path = "RESULTS.md", *only_engines = NULL, *only_wl = NULL, *only_groups = NULL;
    const char *env;
    double t0;
    int i;

    if ((env = getenv("QUICK")) && atoi(env)) { g_quick = 1; g_n = 100000; }
    if ((env = getenv("N")) && *env) g_n = strtoull(env, NULL, 10);
    if ((env = getenv("BENCH_DIR")) && *env) snprintf(g_dir, sizeof g_dir, "%s", env);
    if ((env = getenv("CACHE_MB")) && *env) g_cache_bytes = (size_t)strtoull(env, NULL, 10) << 20;
    if ((env = getenv("BENCH_MAX_SECONDS")) && *env) g_max_seconds = atof(env);
    for (i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--engines=", 10)) only_engines = argv[i] + 10;
        else if (!strncmp(argv[i], "--workloads=", 12)) only_wl = argv[i] + 12;
        else if (!strncmp(argv[i], "--groups=", 9)) only_groups = argv[i] + 9;
        else if (!strncmp(argv[i], "--results=", 10)) results_path = argv[i] + 10;
        else if (!strcmp(argv[i], "--no-results")) results_path = NULL;
        else {
            fprintf(stderr, "usage: %s [--engines=a,b] [--workloads=a,b] [--groups=a,b] [--results=FILE | --no-results]\n"
                            "engines: digby, digby-enc, digby-mmap, lmdb, sqlite, leveldb, rocksdb\n"
                            "env: N, QUICK=1, BENCH_DIR, CACHE_MB, BENCH_MAX_SECONDS\n", argv[0]);
            return 2;
        }
    }
    if (g_n < 1000 || g_n > UINT32_MAX) { fprintf(stderr, "N must be in [1000, 2^32)\n"); return 2; }
    for (i = 0; i < NENGINES; i++) engine_on[i] = !only_engines || list_has(only_engines, engines[i].name);
    for (i = 0; i < W_COUNT; i++) wl_on[i] = !only_wl || list_has(only_wl, wl_info[i].name);
    for (i = 0; i < NGROUPS; i++) group_on[i] = !only_groups || list_has(only_groups, groups[i].name);

    signal(SIGPIPE, SIG_IGN);
    rm_rf(g_dir);
    if (mkdir(g_dir, 0755) && errno != EEXIST) { perror(g_dir); return 1; }
    fprintf(stderr, "digby bench: N=%" PRIu64 ", cache %zu MiB, dir %s\n", g_n, g_cache_bytes >> 20, g_dir);
    t0 = now();
    for (i = 0; i < NGROUPS; i++) {
        int k, any = 0;
        if (!group_on[i]) continue;
        for (k = 0; k < groups[i].nwl; k++) any |= wl_on[groups[i].wl[k]];
        if (any) run_group(i);
    }
    write_report(results_path, now() - t0, argc, argv);
    rm_rf(g_dir);
    return 0;
}
