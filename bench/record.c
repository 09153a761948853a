/* record.c -- the "record" group: digby's record layer (06_record.h) against
 * SQLite with the same schema, side by side in one run (issue #12).
 *
 * The table (N rows, default 1,000,000):
 *   items(id INTEGER, grp INTEGER, score INTEGER, name TEXT, note TEXT,
 *         PRIMARY KEY (id))
 *   index by_grp (grp, score)       -- not unique
 *   index by_name (name) UNIQUE
 * digby: a record table with that schema (NOT NULL on no column but the
 * key); SQLite: a WITHOUT ROWID table with the same columns, the same two
 * indexes (CREATE INDEX, CREATE UNIQUE INDEX), prepared statements.
 * Rows: id a random permutation of 0 .. N-1 (inserted in that order); grp
 * = id's hash mod 1000 (about N/1000 rows per group); score a hash in
 * [0, 1,000,000); name "name-%08x" of a hash of id (unique); note 40 bytes.
 *
 * Workloads, each engine in its own process and directory, engines
 * interleaved workload by workload (the first engine alternates):
 *   insert   N rows, transactions of 1,000 (both maintain both indexes and
 *            check the unique one)
 *   get      N gets by primary key, every column read (one read snapshot)
 *   scan     N/500 range scans through by_grp: grp = g AND score BETWEEN
 *            a AND a+249,999 (about a quarter of a group), every column of
 *            every row read
 *   update   N/10 updates of an indexed column (score), transactions of
 *            1,000: SQLite's UPDATE .. SET score = ? WHERE id = ?; digby
 *            reads the row and writes it back changed (its update takes
 *            the whole row)
 *   delete   N/10 deletes by primary key, transactions of 1,000
 * Durability as in the main benchmark's batched workloads: digby
 * DIGBY_OPEN_NO_SYNC, SQLite journal_mode=WAL, synchronous=NORMAL (neither
 * syncs a commit); SQLite's cache_size 64 MiB; digby on default options
 * (reads from a map of the file).  Both engines' results are checked
 * against each other: rows found by the gets and scans, and a checksum of
 * what they read.
 *
 *   build/record [--results=FILE | --no-results]
 *   env: N (default 1000000), QUICK=1 (N=100000), BENCH_DIR (/tmp/digby-bench)
 *
 * The results go to stdout and, as a section of their own between
 * "<!-- record-bench -->" markers, into RESULTS.md (replacing an earlier
 * such section; the rest of the file is left alone). */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define DIGBY_IMPLEMENTATION
#include "../digby.h"

enum { W_INSERT, W_GET, W_SCAN, W_UPDATE, W_DELETE, NW };
static const char *const wl_names[NW] = {"insert", "get", "scan", "update", "delete"};
enum { E_DIGBY, E_SQLITE, NE };
static const char *const eng_names[NE] = {"digby", "sqlite"};

#define BATCH 1000
#define GROUPS 1000
#define SCORE_MAX 1000000u
#define SCAN_WIDTH 250000u

static uint64_t g_n = 1000000;
static char g_dir[4000] = "/tmp/digby-bench";

typedef struct result {
    int ok;
    double secs;
    uint64_t ops, rows, sum;
    char msg[300];
    char plan[200];        /* scan: the plan the engine chose */
} result;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* The i-th id of a permutation of 0 .. n-1 (i * a + b mod n, a prime to n). */
static uint64_t perm(uint64_t i, uint64_t n, uint64_t salt)
{
    uint64_t a = 2654435761u % n, b = mix(salt) % n;
    while (a < 2) a++;
    for (;;) {
        uint64_t x = a, y = n, t;
        while (y) { t = x % y; x = y; y = t; }
        if (x == 1) break;
        a++;
    }
    return (uint64_t)(((unsigned __int128)i * a + b) % n);
}

/* A row's columns as a function of its id (and of `round`, for score). */
typedef struct row {
    int64_t id, grp, score;
    char name[16], note[48];
    size_t name_len, note_len;
} row;

static void make_row(row *r, uint64_t id, uint64_t round)
{
    uint64_t h = mix(id * 31 + 7);
    r->id = (int64_t)id;
    r->grp = (int64_t)(h % GROUPS);
    r->score = (int64_t)(mix(h ^ round) % SCORE_MAX);
    r->name_len = (size_t)snprintf(r->name, sizeof r->name, "name-%08x", (unsigned)(uint32_t)(id * 2654435761u));
    r->note_len = 40;
    memset(r->note, 'a' + (int)(h % 26), 40);
    r->note[40] = 0;
}

/* ---- digby ------------------------------------------------------------------ */

static const digby_column d_cols[] = {
    {"id", DIGBY_TUPLE_INT, 0},      {"grp", DIGBY_TUPLE_INT, 0},
    {"score", DIGBY_TUPLE_INT, 0},   {"name", DIGBY_TUPLE_STRING, 0},
    {"note", DIGBY_TUPLE_STRING, 0},
};
static const digby_index d_idx[] = {
    {"by_grp", "grp, score", 0},
    {"by_name", "name", DIGBY_INDEX_UNIQUE},
};
static const digby_schema d_schema = {d_cols, 5, "id", d_idx, 2};

typedef struct dg {
    digby_db *db;
    char err[300];
} dg;

static int dg_fail(dg *d, const char *what, int rc)
{
    snprintf(d->err, sizeof d->err, "%s: %s", what, digby_strerror(rc));
    return -1;
}

static void to_items(const row *r, digby_tuple_item *it)
{
    memset(it, 0, 5 * sizeof(*it));
    it[0].type = it[1].type = it[2].type = DIGBY_TUPLE_INT;
    it[0].v.i = r->id;
    it[1].v.i = r->grp;
    it[2].v.i = r->score;
    it[3].type = it[4].type = DIGBY_TUPLE_STRING;
    it[3].v.s.ptr = r->name;
    it[3].v.s.len = r->name_len;
    it[4].v.s.ptr = r->note;
    it[4].v.s.len = r->note_len;
}

/* What a read took from a row: a checksum both engines compute alike. */
static uint64_t row_sum(int64_t id, int64_t grp, int64_t score, const void *name, size_t name_len,
                        size_t note_len)
{
    uint64_t s = (uint64_t)id * 3 + (uint64_t)grp * 5 + (uint64_t)score * 7 + name_len + note_len;
    if (name_len) s += ((const unsigned char *)name)[name_len - 1];
    return s;
}

static uint64_t items_sum(const digby_tuple_item *it)
{
    return row_sum(it[0].v.i, it[1].v.i, it[2].v.i, it[3].v.s.ptr, it[3].v.s.len, it[4].v.s.len);
}

static int dg_open(dg *d, const char *dir)
{
    char path[8500];
    digby_options o;
    digby_txn *t;
    digby_rtable *rt;
    int rc;
    memset(&o, 0, sizeof o);
    o.flags = DIGBY_OPEN_NO_SYNC;
    snprintf(path, sizeof path, "%s/db.digby", dir);
    if ((rc = digby_open(path, &o, &d->db))) return dg_fail(d, "digby_open", rc);
    if ((rc = digby_txn_begin(d->db, 0, &t))) return dg_fail(d, "begin", rc);
    if ((rc = digby_rtable_open(t, "items", &d_schema, DIGBY_RTABLE_CREATE, &rt)))
        return dg_fail(d, "digby_rtable_open", rc);
    if ((rc = digby_txn_commit(t))) return dg_fail(d, "commit", rc);
    return 0;
}

static int dg_run(dg *d, int w, result *r)
{
    uint64_t n = g_n, i, m;
    digby_txn *t = NULL;
    digby_rtable *rt = NULL;
    digby_tuple_item it[5], key;
    const digby_tuple_item *got;
    size_t nc;
    row rw;
    int rc = 0;
    double t0 = now();
    memset(&key, 0, sizeof key);
    key.type = DIGBY_TUPLE_INT;
    switch (w) {
    case W_INSERT:
        for (i = 0; i < n && !rc; i++) {
            if (i % BATCH == 0) {
                if ((rc = digby_txn_begin(d->db, 0, &t))) break;
                if ((rc = digby_rtable_open(t, "items", NULL, 0, &rt))) break;
            }
            make_row(&rw, perm(i, n, 1), 0);
            to_items(&rw, it);
            rc = digby_rtable_insert(rt, it, 5);
            if (!rc && (i % BATCH == BATCH - 1 || i == n - 1)) {
                rc = digby_txn_commit(t);
                t = NULL;
            }
        }
        r->ops = i;
        break;
    case W_GET:
        if ((rc = digby_txn_begin(d->db, DIGBY_TXN_READONLY, &t))) break;
        if ((rc = digby_rtable_open(t, "items", NULL, 0, &rt))) break;
        for (i = 0; i < n; i++) {
            key.v.i = (int64_t)perm(i, n, 2);
            rc = digby_rtable_get(rt, &key, 1, &got, &nc);
            if (rc == DIGBY_NOTFOUND) { rc = 0; continue; }
            if (rc) break;
            r->rows++;
            r->sum += items_sum(got);
        }
        r->ops = i;
        break;
    case W_SCAN: {
        digby_where wh[3];
        digby_query q;
        m = n / 500;
        if ((rc = digby_txn_begin(d->db, DIGBY_TXN_READONLY, &t))) break;
        if ((rc = digby_rtable_open(t, "items", NULL, 0, &rt))) break;
        memset(wh, 0, sizeof wh);
        memset(&q, 0, sizeof q);
        wh[0].column = "grp";
        wh[0].op = DIGBY_WHERE_EQ;
        wh[1].column = wh[2].column = "score";
        wh[1].op = DIGBY_WHERE_GE;
        wh[2].op = DIGBY_WHERE_LE;
        wh[0].value.type = wh[1].value.type = wh[2].value.type = DIGBY_TUPLE_INT;
        q.where = wh;
        q.nwhere = 3;
        for (i = 0; i < m && !rc; i++) {
            digby_rscan *sc;
            uint64_t h = mix(i + 77);
            wh[0].value.v.i = (int64_t)(h % GROUPS);
            wh[1].value.v.i = (int64_t)((h >> 20) % (SCORE_MAX - SCAN_WIDTH));
            wh[2].value.v.i = wh[1].value.v.i + SCAN_WIDTH - 1;
            if (i == 0) {
                digby_plan p;
                if ((rc = digby_rtable_explain(rt, &q, &p))) break;
                if (p.index_no != 0) {
                    snprintf(d->err, sizeof d->err, "the plan is not by_grp: %.200s", p.text);
                    return -1;
                }
                snprintf(r->plan, sizeof r->plan, "%.190s", p.text);
            }
            if ((rc = digby_rscan_open(rt, &q, &sc))) break;
            while ((rc = digby_rscan_next(sc)) == DIGBY_OK) {
                digby_rscan_row(sc, &got, &nc);
                r->rows++;
                r->sum += items_sum(got);
            }
            digby_rscan_close(sc);
            if (rc == DIGBY_NOTFOUND) rc = 0;
        }
        r->ops = i;
        break;
    }
    case W_UPDATE:
    case W_DELETE:
        m = n / 10;
        for (i = 0; i < m && !rc; i++) {
            if (i % BATCH == 0) {
                if ((rc = digby_txn_begin(d->db, 0, &t))) break;
                if ((rc = digby_rtable_open(t, "items", NULL, 0, &rt))) break;
            }
            key.v.i = (int64_t)perm(i, n, w == W_UPDATE ? 3 : 4);
            if (w == W_UPDATE) {
                rc = digby_rtable_get(rt, &key, 1, &got, &nc);
                if (!rc) {
                    memcpy(it, got, sizeof it);
                    it[2].v.i = (int64_t)(mix((uint64_t)key.v.i ^ 99) % SCORE_MAX);
                    rc = digby_rtable_update(rt, &key, 1, it, 5);
                }
            } else {
                rc = digby_rtable_delete(rt, &key, 1);
            }
            if (rc == DIGBY_NOTFOUND) rc = 0;
            if (!rc && (i % BATCH == BATCH - 1 || i == m - 1)) {
                rc = digby_txn_commit(t);
                t = NULL;
            }
        }
        r->ops = i;
        break;
    }
    if (t) {
        if (!rc && (w == W_GET || w == W_SCAN)) digby_txn_abort(t);
        else digby_txn_abort(t);
    }
    r->secs = now() - t0;
    if (rc) return dg_fail(d, wl_names[w], rc);
    return 0;
}

/* ---- SQLite ------------------------------------------------------------------ */

typedef struct sq {
    sqlite3 *db;
    sqlite3_stmt *begin, *commit, *ins, *get, *scan, *upd, *del;
    char err[300];
} sq;

static int sq_fail(sq *s, const char *what)
{
    snprintf(s->err, sizeof s->err, "%s: %s", what, s->db ? sqlite3_errmsg(s->db) : "?");
    return -1;
}

static int sq_open(sq *s, const char *dir)
{
    char path[8500];
    char *msg = NULL;
    snprintf(path, sizeof path, "%s/db.sqlite", dir);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
        return sq_fail(s, "sqlite3_open_v2");
    if (sqlite3_exec(s->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;"
                     "CREATE TABLE items(id INTEGER NOT NULL, grp INTEGER, score INTEGER,"
                     " name TEXT, note TEXT, PRIMARY KEY (id)) WITHOUT ROWID;"
                     "CREATE INDEX by_grp ON items(grp, score);"
                     "CREATE UNIQUE INDEX by_name ON items(name);",
                     NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(s->err, sizeof s->err, "sqlite schema: %s", msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
#define PREP(field, sql) \
    if (sqlite3_prepare_v2(s->db, sql, -1, &s->field, NULL) != SQLITE_OK) return sq_fail(s, sql);
    PREP(begin, "BEGIN");
    PREP(commit, "COMMIT");
    PREP(ins, "INSERT INTO items(id, grp, score, name, note) VALUES(?1, ?2, ?3, ?4, ?5)");
    PREP(get, "SELECT id, grp, score, name, note FROM items WHERE id = ?1");
    PREP(scan, "SELECT id, grp, score, name, note FROM items WHERE grp = ?1 AND score BETWEEN ?2 AND ?3"
               " ORDER BY grp, score");
    PREP(upd, "UPDATE items SET score = ?2 WHERE id = ?1");
    PREP(del, "DELETE FROM items WHERE id = ?1");
#undef PREP
    return 0;
}

static int sq_step_done(sq *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : sq_fail(s, what);
}

static uint64_t sq_row_sum(sqlite3_stmt *st)
{
    int64_t id = sqlite3_column_int64(st, 0), grp = sqlite3_column_int64(st, 1),
            score = sqlite3_column_int64(st, 2);
    const unsigned char *name = sqlite3_column_text(st, 3);
    size_t name_len = (size_t)sqlite3_column_bytes(st, 3);
    (void)sqlite3_column_text(st, 4);
    return row_sum(id, grp, score, name, name_len, (size_t)sqlite3_column_bytes(st, 4));
}

/* The plan SQLite chooses for the scan, to state it. */
static void sq_plan(sq *s, char *out, size_t n)
{
    sqlite3_stmt *st;
    out[0] = 0;
    if (sqlite3_prepare_v2(s->db, "EXPLAIN QUERY PLAN SELECT id, grp, score, name, note FROM items "
                           "WHERE grp = ?1 AND score BETWEEN ?2 AND ?3 ORDER BY grp, score",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        size_t k = strlen(out);
        snprintf(out + k, n - k, "%s%s", k ? "; " : "", (const char *)sqlite3_column_text(st, 3));
    }
    sqlite3_finalize(st);
}

static int sq_run(sq *s, int w, result *r)
{
    uint64_t n = g_n, i, m;
    row rw;
    int rc = 0, in_txn = 0;
    double t0 = now();
    switch (w) {
    case W_INSERT:
        for (i = 0; i < n; i++) {
            if (i % BATCH == 0) {
                if (sq_step_done(s, s->begin, "BEGIN")) return -1;
                in_txn = 1;
            }
            make_row(&rw, perm(i, n, 1), 0);
            sqlite3_bind_int64(s->ins, 1, rw.id);
            sqlite3_bind_int64(s->ins, 2, rw.grp);
            sqlite3_bind_int64(s->ins, 3, rw.score);
            sqlite3_bind_text(s->ins, 4, rw.name, (int)rw.name_len, SQLITE_STATIC);
            sqlite3_bind_text(s->ins, 5, rw.note, (int)rw.note_len, SQLITE_STATIC);
            if (sq_step_done(s, s->ins, "INSERT")) return -1;
            if (i % BATCH == BATCH - 1 || i == n - 1) {
                if (sq_step_done(s, s->commit, "COMMIT")) return -1;
                in_txn = 0;
            }
        }
        r->ops = i;
        break;
    case W_GET:
        if (sq_step_done(s, s->begin, "BEGIN")) return -1;
        for (i = 0; i < n; i++) {
            sqlite3_bind_int64(s->get, 1, (int64_t)perm(i, n, 2));
            rc = sqlite3_step(s->get);
            if (rc == SQLITE_ROW) {
                r->rows++;
                r->sum += sq_row_sum(s->get);
            } else if (rc != SQLITE_DONE) {
                sqlite3_reset(s->get);
                return sq_fail(s, "SELECT by id");
            }
            sqlite3_reset(s->get);
        }
        if (sq_step_done(s, s->commit, "COMMIT")) return -1;
        r->ops = i;
        break;
    case W_SCAN:
        m = n / 500;
        sq_plan(s, r->plan, sizeof r->plan);
        if (sq_step_done(s, s->begin, "BEGIN")) return -1;
        for (i = 0; i < m; i++) {
            uint64_t h = mix(i + 77);
            int64_t lo = (int64_t)((h >> 20) % (SCORE_MAX - SCAN_WIDTH));
            sqlite3_bind_int64(s->scan, 1, (int64_t)(h % GROUPS));
            sqlite3_bind_int64(s->scan, 2, lo);
            sqlite3_bind_int64(s->scan, 3, lo + SCAN_WIDTH - 1);
            while ((rc = sqlite3_step(s->scan)) == SQLITE_ROW) {
                r->rows++;
                r->sum += sq_row_sum(s->scan);
            }
            sqlite3_reset(s->scan);
            if (rc != SQLITE_DONE) return sq_fail(s, "SELECT range");
        }
        if (sq_step_done(s, s->commit, "COMMIT")) return -1;
        r->ops = i;
        break;
    case W_UPDATE:
    case W_DELETE:
        m = n / 10;
        for (i = 0; i < m; i++) {
            int64_t id = (int64_t)perm(i, n, w == W_UPDATE ? 3 : 4);
            if (i % BATCH == 0) {
                if (sq_step_done(s, s->begin, "BEGIN")) return -1;
                in_txn = 1;
            }
            if (w == W_UPDATE) {
                sqlite3_bind_int64(s->upd, 1, id);
                sqlite3_bind_int64(s->upd, 2, (int64_t)(mix((uint64_t)id ^ 99) % SCORE_MAX));
                if (sq_step_done(s, s->upd, "UPDATE")) return -1;
            } else {
                sqlite3_bind_int64(s->del, 1, id);
                if (sq_step_done(s, s->del, "DELETE")) return -1;
            }
            if (i % BATCH == BATCH - 1 || i == m - 1) {
                if (sq_step_done(s, s->commit, "COMMIT")) return -1;
                in_txn = 0;
            }
        }
        r->ops = i;
        break;
    }
    (void)in_txn;
    r->secs = now() - t0;
    return 0;
}

/* ---- processes ------------------------------------------------------------- */

static int io_all(int fd, void *p, size_t n, int wr)
{
    char *c = (char *)p;
    while (n) {
        ssize_t k = wr ? write(fd, c, n) : read(fd, c, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

static void child(int e, const char *dir, int cmd_fd, int res_fd)
{
    dg d;
    sq s;
    int w;
    char *err = e == E_DIGBY ? d.err : s.err;
    int failed;
    memset(&d, 0, sizeof d);
    memset(&s, 0, sizeof s);
    failed = e == E_DIGBY ? dg_open(&d, dir) : sq_open(&s, dir);
    while (io_all(cmd_fd, &w, sizeof w, 0) == 0 && w >= 0) {
        result r;
        memset(&r, 0, sizeof r);
        if (!failed) failed = e == E_DIGBY ? dg_run(&d, w, &r) : sq_run(&s, w, &r);
        r.ok = !failed;
        if (failed) snprintf(r.msg, sizeof r.msg, "%s", err);
        if (io_all(res_fd, &r, sizeof r, 1)) break;
    }
    if (e == E_DIGBY && d.db) digby_close(d.db);
    if (e == E_SQLITE && s.db) {
        sqlite3_finalize(s.begin); sqlite3_finalize(s.commit); sqlite3_finalize(s.ins);
        sqlite3_finalize(s.get); sqlite3_finalize(s.scan); sqlite3_finalize(s.upd);
        sqlite3_finalize(s.del);
        sqlite3_close(s.db);
    }
    _exit(0);
}

static void rm_dir(const char *dir)
{
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "record: could not remove %s\n", dir);
}

/* Replace the record section of path (between the markers) with text. */
static void write_section(const char *path, const char *text)
{
    static const char *const begin = "<!-- record-bench -->", *const end = "<!-- /record-bench -->";
    FILE *f = fopen(path, "rb");
    char *old = NULL, *a, *b;
    long len = 0;
    if (f) {
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        fseek(f, 0, SEEK_SET);
        old = (char *)calloc(1, (size_t)len + 1);
        if (old && fread(old, 1, (size_t)len, f) != (size_t)len) len = 0;
        fclose(f);
    }
    f = fopen(path, "wb");
    if (!f) { perror(path); free(old); return; }
    a = old ? strstr(old, begin) : NULL;
    b = a ? strstr(a, end) : NULL;
    if (a && b) {
        fwrite(old, 1, (size_t)(a - old), f);
        fprintf(f, "%s\n%s%s", begin, text, end);
        fputs(b + strlen(end), f);
    } else {
        if (old && len) fprintf(f, "%s%s", old, old[len - 1] == '\n' ? "\n" : "\n\n");
        fprintf(f, "%s\n%s%s\n", begin, text, end);
    }
    fclose(f);
    free(old);
}

int main(int argc, char **argv)
{
    const char *env, *results = "RESULTS.md";
    result res[NW][NE];
    pid_t pid[NE];
    int cmd[NE], rsp[NE], e, w, i, bad = 0;
    char dir[NE][4200], text[8192], date[64];
    size_t at = 0;
    double t0 = now();
    time_t tt = time(NULL);

    if ((env = getenv("QUICK")) && atoi(env)) g_n = 100000;
    if ((env = getenv("N")) && *env) g_n = strtoull(env, NULL, 10);
    if ((env = getenv("BENCH_DIR")) && *env) snprintf(g_dir, sizeof g_dir, "%s", env);
    for (i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--results=", 10)) results = argv[i] + 10;
        else if (!strcmp(argv[i], "--no-results")) results = NULL;
        else {
            fprintf(stderr, "usage: %s [--results=FILE | --no-results]\n"
                            "env: N, QUICK=1, BENCH_DIR\n", argv[0]);
            return 2;
        }
    }
    if (g_n < 10000 || g_n > UINT32_MAX) { fprintf(stderr, "N must be in [10000, 2^32)\n"); return 2; }
    signal(SIGPIPE, SIG_IGN);
    mkdir(g_dir, 0755);
    fprintf(stderr, "record bench: N=%" PRIu64 ", dir %s\n", g_n, g_dir);
    for (e = 0; e < NE; e++) {
        int p1[2], p2[2];
        snprintf(dir[e], sizeof dir[e], "%s/record-%s", g_dir, eng_names[e]);
        rm_dir(dir[e]);
        if (mkdir(dir[e], 0755)) { perror(dir[e]); return 1; }
        if (pipe(p1) || pipe(p2)) { perror("pipe"); return 1; }
        fflush(NULL);
        pid[e] = fork();
        if (pid[e] < 0) { perror("fork"); return 1; }
        if (pid[e] == 0) {
            close(p1[1]);
            close(p2[0]);
            if (e) { close(cmd[0]); close(rsp[0]); }
            child(e, dir[e], p1[0], p2[1]);
        }
        close(p1[0]);
        close(p2[1]);
        cmd[e] = p1[1];
        rsp[e] = p2[0];
    }
    for (w = 0; w < NW; w++)
        for (i = 0; i < NE; i++) {
            e = (w + i) % NE; /* the first engine alternates */
            memset(&res[w][e], 0, sizeof(result));
            if (io_all(cmd[e], &w, sizeof w, 1) || io_all(rsp[e], &res[w][e], sizeof(result), 0))
                snprintf(res[w][e].msg, sizeof res[w][e].msg, "the process died");
            fprintf(stderr, "  %-7s %-7s %10.0f ops/s  %7.2f s  rows %" PRIu64 "%s%s\n",
                    wl_names[w], eng_names[e],
                    res[w][e].secs > 0 ? res[w][e].ops / res[w][e].secs : 0.0, res[w][e].secs,
                    res[w][e].rows, res[w][e].ok ? "" : "  FAILED: ", res[w][e].msg);
        }
    for (e = 0; e < NE; e++) {
        int stop = -1;
        io_all(cmd[e], &stop, sizeof stop, 1);
        close(cmd[e]);
        close(rsp[e]);
        waitpid(pid[e], NULL, 0);
    }
    for (e = 0; e < NE; e++) rm_dir(dir[e]);

    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %Z", localtime(&tt));
    at += (size_t)snprintf(text + at, sizeof text - at,
        "## Record layer (issue #12): digby's record tables against SQLite\n\n"
        "- date: %s; `bench/build/record` (make -C bench record), N=%" PRIu64 ", wall time %.0f s; "
        "%s, SQLite %s\n"
        "- table items(id INTEGER PRIMARY KEY, grp INTEGER, score INTEGER, name TEXT, note TEXT), "
        "index by_grp(grp, score), unique index by_name(name); SQLite: WITHOUT ROWID, the same "
        "indexes, prepared statements, WAL, synchronous=NORMAL, cache_size 64 MiB; digby: a record "
        "table of that schema, DIGBY_OPEN_NO_SYNC, default options otherwise (reads from a map of "
        "the file). Neither syncs a commit. Each engine in its own process; the first engine "
        "alternates from workload to workload.\n"
        "- insert: N rows in random id order, transactions of 1,000; get: N gets by id; scan: "
        "N/500 scans `grp = ? AND score BETWEEN ? AND ?` (about 250 rows each) through by_grp "
        "(digby's plan: %s; SQLite's: %s); update: N/10 updates of score (indexed), "
        "transactions of 1,000 (digby reads the row and writes it back); delete: N/10 by id. "
        "Every read touches every column.\n\n"
        "| workload | ops | digby ops/s | SQLite ops/s | digby / SQLite | rows read, the same in both |\n"
        "|---|---|---|---|---|---|\n",
        date, g_n, now() - t0, digby_version(), sqlite3_libversion(),
        res[W_SCAN][E_DIGBY].plan[0] ? res[W_SCAN][E_DIGBY].plan : "?",
        res[W_SCAN][E_SQLITE].plan[0] ? res[W_SCAN][E_SQLITE].plan : "?");
    for (w = 0; w < NW; w++) {
        const result *a = &res[w][E_DIGBY], *b = &res[w][E_SQLITE];
        double ra = a->secs > 0 ? a->ops / a->secs : 0, rb = b->secs > 0 ? b->ops / b->secs : 0;
        int agree = a->rows == b->rows && a->sum == b->sum;
        if (!a->ok || !b->ok || !agree) bad = 1;
        at += (size_t)snprintf(text + at, sizeof text - at,
                               "| %s | %" PRIu64 " | %.0f | %.0f | **%.2fx** | %" PRIu64 "%s |\n",
                               wl_names[w], a->ops, ra, rb, rb > 0 ? ra / rb : 0.0, a->rows,
                               !a->ok || !b->ok ? " (failed)"
                               : agree ? "" : " (DIFFERENT from SQLite's)");
    }
    printf("%s", text);
    if (results) write_section(results, text);
    if (bad) fprintf(stderr, "record: a workload failed or the engines read different rows\n");
    return bad;
}
