/* engine_sqlite.c -- the SQLite adapter (linked in when bench/Makefile builds sqlite). */
#include "bench.h"

#include <sqlite3.h>

typedef struct { char path[4200]; cfg_t c; void *main; } sq_db;
typedef struct {
    sq_db *d; sqlite3 *db;
    sqlite3_stmt *begin, *wbegin, *commit, *rollback, *put, *get, *del, *seek, *seek_le, *first, *last;
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
    sqlite3_finalize(s->begin); sqlite3_finalize(s->wbegin); sqlite3_finalize(s->commit); sqlite3_finalize(s->rollback);
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
    char pragmas[512], cache[64];
    char *msg = NULL;
    s->d = d;
    if (sqlite3_open_v2(d->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        sq_fail(s, "sqlite3_open_v2");
        sq_session_free(s);
        return NULL;
    }
    /* Several connections may write at once (fillsync4t): wait for the
       write lock rather than fail with SQLITE_BUSY. */
    sqlite3_busy_timeout(s->db, 60000);
    /* cache_size only when the group sets a cache (else SQLite's default,
       -2000: 2000 KiB per connection) */
    snprintf(cache, sizeof cache, "PRAGMA cache_size=-%zu;", d->c.cache_bytes / 1024);
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; %s"
             "CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID;",
             d->c.sync ? "FULL" : "NORMAL", d->c.cache_bytes ? cache : "");
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
    /* write transactions take the write lock at BEGIN (the busy handler
       waits for it), never by upgrading a read lock, which SQLite may
       refuse at once with SQLITE_BUSY_SNAPSHOT */
    PREP(wbegin, "BEGIN IMMEDIATE");
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
static int sq_wbegin(void *sp) { sq_s *s = sp; return sq_exec1(s, s->wbegin, "BEGIN IMMEDIATE"); }
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

/* The compact workload: VACUUM (in WAL mode it goes through the log; the
   untimed quiesce's wal_checkpoint(TRUNCATE) then shrinks the file). */
static int sq_compact(void *sp)
{
    sq_s *s = sp;
    char *msg = NULL;
    if (sqlite3_exec(s->db, "VACUUM", NULL, NULL, &msg) != SQLITE_OK) {
        set_err("VACUUM: %s", msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

#define sq_version sqlite3_libversion

const engine_t engine_sqlite =
    ENGINE_C("sqlite", "sqlite", 1, sq, 0,
           "WITHOUT ROWID table kv(k BLOB PRIMARY KEY, v BLOB), journal_mode=WAL, synchronous=NORMAL, "
           "cache_size=-CACHE_KIB (= CACHE), INSERT OR REPLACE, prepared statements, write transactions BEGIN IMMEDIATE, busy_timeout 60 s, one connection per thread; "
           "after each write workload, untimed, PRAGMA wal_checkpoint(TRUNCATE) before the file size is taken",
           "same, synchronous=FULL", sq_compact);
