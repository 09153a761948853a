/* tests/torture/fuzz_ops.c -- libFuzzer target: an operation sequence checked
   against a reference model.

   Input: one configuration byte (bits 0-1: page size 512, 1024, 4096, 512;
   bit 2: encrypted with a fixed raw key; bit 3: lz4 compression on by
   default; bit 4: the smallest page cache; bit 5: a real file (in $TMPDIR,
   else /tmp) through the POSIX VFS with DIGBY_OPEN_MMAP and a map as small
   as the file, so that commits remap it while snapshots hold older maps;
   else the in-memory VFS), then operations, each an opcode
   byte and its argument bytes (missing bytes read as 0).  Every byte string
   is a valid program.

   Operations: put (NOOVERWRITE, compression flags), delete, get, commit,
   abort, table create and drop (and a put through a dropped table's handle:
   DIGBY_BADTXN), cursor seek with GE/GT/LE/LT/EQ and steps both ways,
   a read-only snapshot kept across commits and checked against the state it
   began with, a full scan of every tree both ways with counts and the table
   list, close and reopen, a streaming put in pieces, a ranged get, and
   digby_check.  Keys include the empty key and large keys (longer than the
   page's key limit) sharing a long prefix, so tie separators appear; values
   include overflow values, compressible or not.

   The model: per tree (the global tree and three named tables) and per key
   of a fixed key space, present?, value length, value seed and version (the
   writing transaction's id); values are a function of (key, seed, length).
   The committed state, the write transaction's state and the snapshot's
   state are three copies.  Any difference aborts (a crash to libFuzzer).

   -DFUZZ_REPLAY builds a main that replays input files. */
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "det_entropy.h"
#include "fuzz_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h> /* getpid */

#define NT 4
#define NK 40
#define MAXV 6000
#define MAXK 600

static const char *const tnames[NT] = { NULL, "t1", "tab/two", "t\xff" };

typedef struct ent {
    uint8_t present;
    uint8_t seed;
    uint32_t len;
    uint64_t ver;
} ent;

typedef struct state {
    ent e[NT][NK];
    uint8_t exists[NT];
} state;

/* ---- the fuzzer's world -------------------------------------------------- */

static const uint8_t *in;
static size_t in_n, in_pos;
static digby_vfs *vfs;
static digby_db *db;
static digby_options opts;
static uint64_t ent_seed;
static digby_txn *wtxn, *snap_txn;
static digby_table *wtab[NT];       /* table handles of wtxn */
static digby_table *stab[NT];       /* of snap_txn */
static state committed, work, snap;
static uint64_t committed_txid;

static uint8_t keybuf[NK][MAXK];
static size_t keylen[NK];
static int order[NK];               /* key ids in key order */
static int rank_of[NK];
static uint8_t vbuf[MAXV], vbuf2[MAXV];

static void die(const char *what, int rc, int line)
{
    fprintf(stderr, "fuzz_ops:%d: divergence: %s (rc %d %s)\n", line, what, rc,
            digby_strerror(rc));
    abort();
}
#define DIE(what, rc) die(what, rc, __LINE__)
#define EXPECT_RC(x, want) do { int r_ = (x); if (r_ != (want)) die(#x " returned the wrong code", r_, __LINE__); } while (0)

static uint8_t next_byte(void)
{
    return in_pos < in_n ? in[in_pos++] : 0;
}


static int keycmp_raw(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t m = an < bn ? an : bn;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c;
    return an < bn ? -1 : an > bn;
}

static int cmp_ids(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return keycmp_raw(keybuf[x], keylen[x], keybuf[y], keylen[y]);
}

static void make_keys(void)
{
    int i;
    for (i = 0; i < NK; i++) {
        if (i == 0) {
            keylen[i] = 0;                       /* the empty key */
        } else if (i % 8 == 7) {
            /* large keys: a long shared prefix, the id at the end */
            size_t n = 100 + (size_t)i * 12;
            memset(keybuf[i], 'P', n);
            keybuf[i][n - 2] = (uint8_t)('0' + i / 10);
            keybuf[i][n - 1] = (uint8_t)('0' + i % 10);
            keylen[i] = n;
        } else {
            keylen[i] = (size_t)sprintf((char *)keybuf[i], "%c%d", "abcP"[i % 4], i * 3);
        }
        order[i] = i;
    }
    qsort(order, NK, sizeof order[0], cmp_ids);
    for (i = 0; i < NK; i++) rank_of[order[i]] = i;
}

static void vfill(uint8_t *v, int kid, uint8_t seed, uint32_t len)
{
    uint32_t i, x = (uint32_t)kid * 2654435761u + seed * 40503u + 1;
    for (i = 0; i < len; i++) {
        if (seed & 1) {
            v[i] = (uint8_t)(seed + i / 50);      /* compressible */
        } else {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            v[i] = (uint8_t)x;
        }
    }
}

static uint32_t vlen_of(uint8_t b)
{
    if (b < 200) return b / 4;
    return (uint32_t)(b - 200) * 100 + 100;      /* up to 5600: overflow */
}

static void check_value(int kid, const ent *e, const void *v, size_t vn, uint64_t ver)
{
    if (vn != e->len) DIE("value length", (int)vn);
    vfill(vbuf2, kid, e->seed, e->len);
    if (vn && memcmp(v, vbuf2, vn) != 0) DIE("value bytes", 0);
    if (ver != e->ver) DIE("version", (int)ver);
}

/* ---- transactions and tables ----------------------------------------------- */

static void begin_write(void)
{
    if (wtxn) return;
    EXPECT_RC(digby_txn_begin(db, 0, &wtxn), DIGBY_OK);
    memset(wtab, 0, sizeof wtab);
    work = committed;
}

static void end_write(int commit)
{
    if (!wtxn) return;
    if (commit) {
        uint64_t id = digby_txn_id(wtxn), now;
        digby_txn *r;
        EXPECT_RC(digby_txn_commit(wtxn), DIGBY_OK);
        /* a transaction that wrote nothing commits nothing: the snapshot
           id stays, and then the state must not have changed */
        EXPECT_RC(digby_txn_begin(db, DIGBY_TXN_READONLY, &r), DIGBY_OK);
        now = digby_txn_id(r);
        digby_txn_abort(r);
        if (now != id && (now != committed_txid || memcmp(&work, &committed, sizeof work) != 0))
            DIE("commit: the new snapshot id is neither the transaction's nor unchanged", (int)now);
        committed = work;
        committed_txid = now;
    } else {
        digby_txn_abort(wtxn);
    }
    wtxn = NULL;
    memset(wtab, 0, sizeof wtab);
}

static void end_snapshot(void)
{
    if (!snap_txn) return;
    digby_txn_abort(snap_txn);
    snap_txn = NULL;
    memset(stab, 0, sizeof stab);
}

/* The table handle of tree t in txn (tabs caches them); 0 and *out NULL
   for the global tree; DIGBY_NOTFOUND when the model says it is missing. */
static int table_in(digby_txn *txn, digby_table **tabs, const state *s, int t,
                    digby_table **out)
{
    *out = NULL;
    if (t == 0) return DIGBY_OK;
    if (tabs[t]) { *out = tabs[t]; return DIGBY_OK; }
    if (!s->exists[t]) {
        EXPECT_RC(digby_table_open(txn, tnames[t], 0, out), DIGBY_NOTFOUND);
        return DIGBY_NOTFOUND;
    }
    EXPECT_RC(digby_table_open(txn, tnames[t], 0, out), DIGBY_OK);
    tabs[t] = *out;
    return DIGBY_OK;
}

/* A read view: the write transaction if one is open, else a fresh
   read-only transaction of the committed state (*fresh set). */
typedef struct view {
    digby_txn *txn;
    digby_table **tabs;
    const state *s;
    int fresh;
    digby_table *own[NT];
} view;

static void view_open(view *v, int use_snapshot)
{
    memset(v, 0, sizeof *v);
    if (use_snapshot && snap_txn) {
        v->txn = snap_txn; v->tabs = stab; v->s = &snap;
    } else if (wtxn) {
        v->txn = wtxn; v->tabs = wtab; v->s = &work;
    } else {
        EXPECT_RC(digby_txn_begin(db, DIGBY_TXN_READONLY, &v->txn), DIGBY_OK);
        if (digby_txn_id(v->txn) != committed_txid) DIE("snapshot id is not the last commit", 0);
        v->tabs = v->own; v->s = &committed; v->fresh = 1;
    }
}

static void view_close(view *v)
{
    if (v->fresh) digby_txn_abort(v->txn);
}

/* ---- checks of a whole view ------------------------------------------------ */

static int list_cb(void *ctx, const char *name, size_t n, uint64_t entries)
{
    const state *s = (const state *)ctx;
    int t, found = -1;
    uint64_t cnt = 0;
    int k;
    for (t = 1; t < NT; t++)
        if (strlen(tnames[t]) == n && memcmp(tnames[t], name, n) == 0) found = t;
    if (found < 0 || !s->exists[found]) DIE("table list names a missing table", 0);
    for (k = 0; k < NK; k++) cnt += s->e[found][k].present;
    if (cnt != entries) DIE("table list count", (int)entries);
    return 0;
}

static void scan_view(view *v)
{
    int t, i;
    EXPECT_RC(digby_table_list(v->txn, list_cb, (void *)v->s), DIGBY_OK);
    for (t = 0; t < NT; t++) {
        digby_table *tab;
        digby_cursor *c;
        uint64_t cnt = 0, n = 0;
        int rc;
        if (table_in(v->txn, v->tabs, v->s, t, &tab) != DIGBY_OK) continue;
        for (i = 0; i < NK; i++) cnt += v->s->e[t][order[i]].present;
        EXPECT_RC(digby_table_count(v->txn, tab, &n), DIGBY_OK);
        if (n != cnt) DIE("table count", (int)n);
        EXPECT_RC(digby_cursor_open(v->txn, tab, &c), DIGBY_OK);
        i = 0;
        for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
            const void *k, *val;
            size_t kn, vn;
            uint64_t ver;
            while (i < NK && !v->s->e[t][order[i]].present) i++;
            if (i == NK) DIE("forward scan: extra key", 0);
            EXPECT_RC(digby_cursor_get(c, &k, &kn, &val, &vn, &ver), DIGBY_OK);
            if (keycmp_raw((const uint8_t *)k, kn, keybuf[order[i]], keylen[order[i]]))
                DIE("forward scan: wrong key", i);
            check_value(order[i], &v->s->e[t][order[i]], val, vn, ver);
            i++;
        }
        EXPECT_RC(rc, DIGBY_NOTFOUND);
        while (i < NK && !v->s->e[t][order[i]].present) i++;
        if (i != NK) DIE("forward scan: missing key", i);
        i = NK - 1;
        for (rc = digby_cursor_last(c); rc == DIGBY_OK; rc = digby_cursor_prev(c)) {
            const void *k;
            size_t kn;
            while (i >= 0 && !v->s->e[t][order[i]].present) i--;
            if (i < 0) DIE("backward scan: extra key", 0);
            EXPECT_RC(digby_cursor_get(c, &k, &kn, NULL, NULL, NULL), DIGBY_OK);
            if (keycmp_raw((const uint8_t *)k, kn, keybuf[order[i]], keylen[order[i]]))
                DIE("backward scan: wrong key", i);
            i--;
        }
        EXPECT_RC(rc, DIGBY_NOTFOUND);
        while (i >= 0 && !v->s->e[t][order[i]].present) i--;
        if (i >= 0) DIE("backward scan: missing key", i);
        digby_cursor_close(c);
    }
}

/* ---- operations ------------------------------------------------------------- */

static void op_put(void)
{
    uint8_t a = next_byte(), kb = next_byte(), lb = next_byte(), seed = next_byte();
    int t = a % NT, kid = kb % NK, rc, want;
    unsigned flags = 0;
    digby_table *tab;
    ent *e;
    uint32_t len = vlen_of(lb);
    begin_write();
    if (table_in(wtxn, wtab, &work, t, &tab) != DIGBY_OK) return;
    if (a & 0x10) flags |= DIGBY_PUT_NOOVERWRITE;
    if ((a & 0x60) == 0x20) flags |= DIGBY_PUT_COMPRESS;
    if ((a & 0x60) == 0x40) flags |= DIGBY_PUT_NO_COMPRESS;
    if ((a & 0x60) == 0x60) flags |= DIGBY_PUT_COMPRESS | DIGBY_PUT_NO_COMPRESS;
    e = &work.e[t][kid];
    want = DIGBY_OK;
    if ((flags & DIGBY_PUT_COMPRESS) && (flags & DIGBY_PUT_NO_COMPRESS)) want = DIGBY_INVALID;
    else if ((flags & DIGBY_PUT_NOOVERWRITE) && e->present) want = DIGBY_EXISTS;
    vfill(vbuf, kid, seed, len);
    rc = digby_txn_put(wtxn, tab, keybuf[kid], keylen[kid], vbuf, len, flags);
    if (rc != want) DIE("put", rc);
    if (rc == DIGBY_OK) {
        e->present = 1; e->seed = seed; e->len = len; e->ver = digby_txn_id(wtxn);
    }
}

static void op_blob(void)
{
    uint8_t a = next_byte(), kb = next_byte(), lb = next_byte(), seed = next_byte();
    uint8_t piece = next_byte();
    int t = a % NT, kid = kb % NK, rc;
    uint32_t len = vlen_of(lb), done = 0, step = piece % 64 ? (uint32_t)(piece % 64) * 37 : 1;
    digby_table *tab;
    digby_blob *b;
    ent *e;
    begin_write();
    if (table_in(wtxn, wtab, &work, t, &tab) != DIGBY_OK) return;
    e = &work.e[t][kid];
    vfill(vbuf, kid, seed, len);
    rc = digby_txn_put_begin(wtxn, tab, keybuf[kid], keylen[kid], len,
                             (a & 0x10) ? DIGBY_PUT_NOOVERWRITE : 0, &b);
    if ((a & 0x10) && e->present) { EXPECT_RC(rc, DIGBY_EXISTS); return; }
    EXPECT_RC(rc, DIGBY_OK);
    while (done < len) {
        uint32_t n = len - done < step ? len - done : step;
        EXPECT_RC(digby_blob_write(b, vbuf + done, n), DIGBY_OK);
        done += n;
    }
    if (a & 0x80) {   /* one byte too many: refused, nothing taken */
        EXPECT_RC(digby_blob_write(b, vbuf, 1), DIGBY_INVALID);
    }
    if ((a & 0x20) && len > 0) {
        digby_blob_abort(b);
        return;
    }
    EXPECT_RC(digby_blob_finish(b), DIGBY_OK);
    e->present = 1; e->seed = seed; e->len = len; e->ver = digby_txn_id(wtxn);
}

static void op_delete(void)
{
    uint8_t a = next_byte(), kb = next_byte();
    int t = a % NT, kid = kb % NK, rc;
    digby_table *tab;
    ent *e;
    begin_write();
    if (table_in(wtxn, wtab, &work, t, &tab) != DIGBY_OK) return;
    e = &work.e[t][kid];
    rc = digby_txn_delete(wtxn, tab, keybuf[kid], keylen[kid]);
    if (rc != (e->present ? DIGBY_OK : DIGBY_NOTFOUND)) DIE("delete", rc);
    e->present = 0;
}

static void op_get(void)
{
    uint8_t a = next_byte(), kb = next_byte();
    int t = a % NT, kid = kb % NK, rc;
    digby_table *tab;
    view v;
    const void *val;
    size_t vn;
    uint64_t ver;
    view_open(&v, a & 0x10);
    if (table_in(v.txn, v.tabs, v.s, t, &tab) == DIGBY_OK) {
        const ent *e = &v.s->e[t][kid];
        rc = digby_txn_get(v.txn, tab, keybuf[kid], keylen[kid], &val, &vn, &ver);
        if (rc != (e->present ? DIGBY_OK : DIGBY_NOTFOUND)) DIE("get", rc);
        if (rc == DIGBY_OK) check_value(kid, e, val, vn, ver);
    }
    view_close(&v);
}

static void op_range(void)
{
    uint8_t a = next_byte(), kb = next_byte(), ob = next_byte(), lb = next_byte();
    int t = a % NT, kid = kb % NK, rc;
    digby_table *tab;
    view v;
    uint8_t buf[3 * 255];
    size_t got, want_got, n = (size_t)lb * 3;
    uint64_t total, off = (uint64_t)ob * 23;
    view_open(&v, a & 0x10);
    if (table_in(v.txn, v.tabs, v.s, t, &tab) == DIGBY_OK) {
        const ent *e = &v.s->e[t][kid];
        rc = digby_txn_get_range(v.txn, tab, keybuf[kid], keylen[kid], off, buf, n,
                                 &got, &total);
        if (rc != (e->present ? DIGBY_OK : DIGBY_NOTFOUND)) DIE("get_range", rc);
        if (rc == DIGBY_OK) {
            if (total != e->len) DIE("get_range total", (int)total);
            want_got = off >= e->len ? 0 : (e->len - off < n ? (size_t)(e->len - off) : n);
            if (got != want_got) DIE("get_range got", (int)got);
            vfill(vbuf2, kid, e->seed, e->len);
            if (got && memcmp(buf, vbuf2 + off, got) != 0) DIE("get_range bytes", 0);
        }
    }
    view_close(&v);
}

/* The model's answer to a seek: an index into order[] or -1. */
static int model_seek(const state *s, int t, int kid, int op)
{
    int r = rank_of[kid], i;
    switch (op) {
    case DIGBY_SEEK_GE: for (i = r; i < NK; i++) if (s->e[t][order[i]].present) return i; return -1;
    case DIGBY_SEEK_GT: for (i = r + 1; i < NK; i++) if (s->e[t][order[i]].present) return i; return -1;
    case DIGBY_SEEK_LE: for (i = r; i >= 0; i--) if (s->e[t][order[i]].present) return i; return -1;
    case DIGBY_SEEK_LT: for (i = r - 1; i >= 0; i--) if (s->e[t][order[i]].present) return i; return -1;
    default: return s->e[t][kid].present ? r : -1;
    }
}

static void op_cursor(void)
{
    uint8_t a = next_byte(), kb = next_byte(), sb = next_byte(), steps = next_byte();
    int t = a % NT, kid = kb % NK, op = sb % 5, pos, rc, j;
    digby_table *tab;
    digby_cursor *c;
    view v;
    view_open(&v, a & 0x10);
    if (table_in(v.txn, v.tabs, v.s, t, &tab) != DIGBY_OK) { view_close(&v); return; }
    EXPECT_RC(digby_cursor_open(v.txn, tab, &c), DIGBY_OK);
    if (sb & 0x80) {
        rc = (sb & 0x40) ? digby_cursor_last(c) : digby_cursor_first(c);
        pos = (sb & 0x40) ? model_seek(v.s, t, order[NK - 1], DIGBY_SEEK_LE)
                          : model_seek(v.s, t, order[0], DIGBY_SEEK_GE);
    } else {
        rc = digby_cursor_seek(c, keybuf[kid], keylen[kid], (digby_seek_op)op);
        pos = model_seek(v.s, t, kid, op);
    }
    for (j = 0; ; j++) {
        if (pos < 0) {
            if (rc != DIGBY_NOTFOUND) DIE("cursor: expected no entry", rc);
        } else {
            const void *k, *val;
            size_t kn, vn;
            uint64_t ver;
            if (rc != DIGBY_OK) DIE("cursor: expected an entry", rc);
            EXPECT_RC(digby_cursor_get(c, &k, &kn, &val, &vn, &ver), DIGBY_OK);
            if (keycmp_raw((const uint8_t *)k, kn, keybuf[order[pos]], keylen[order[pos]]))
                DIE("cursor: wrong key", pos);
            check_value(order[pos], &v.s->e[t][order[pos]], val, vn, ver);
        }
        if (j >= (steps & 7)) break;
        /* an unpositioned cursor: next is first, prev is last */
        if ((steps >> (3 + j % 5)) & 1) {
            rc = digby_cursor_next(c);
            pos = model_seek(v.s, t, pos < 0 ? order[0] : order[pos],
                             pos < 0 ? DIGBY_SEEK_GE : DIGBY_SEEK_GT);
        } else {
            rc = digby_cursor_prev(c);
            pos = model_seek(v.s, t, pos < 0 ? order[NK - 1] : order[pos],
                             pos < 0 ? DIGBY_SEEK_LE : DIGBY_SEEK_LT);
        }
    }
    digby_cursor_close(c);
    view_close(&v);
}

static void op_table_create(void)
{
    int t = 1 + next_byte() % (NT - 1);
    digby_table *tab;
    begin_write();
    EXPECT_RC(digby_table_open(wtxn, tnames[t], DIGBY_TABLE_CREATE, &tab), DIGBY_OK);
    if (wtab[t] && wtab[t] != tab) DIE("a second open gave another handle", 0);
    wtab[t] = tab;
    work.exists[t] = 1;
}

static void op_table_drop(void)
{
    int t = 1 + next_byte() % (NT - 1), k;
    digby_table *old;
    begin_write();
    if (!work.exists[t]) {
        EXPECT_RC(digby_table_drop(wtxn, tnames[t]), DIGBY_NOTFOUND);
        return;
    }
    table_in(wtxn, wtab, &work, t, &old);
    EXPECT_RC(digby_table_drop(wtxn, tnames[t]), DIGBY_OK);
    EXPECT_RC(digby_txn_put(wtxn, old, "x", 1, "y", 1, 0), DIGBY_BADTXN);
    wtab[t] = NULL;
    work.exists[t] = 0;
    for (k = 0; k < NK; k++) work.e[t][k].present = 0;
}

static void op_snapshot(void)
{
    uint8_t a = next_byte();
    if (!snap_txn) {
        EXPECT_RC(digby_txn_begin(db, DIGBY_TXN_READONLY, &snap_txn), DIGBY_OK);
        if (digby_txn_id(snap_txn) != committed_txid) DIE("snapshot id", (int)(digby_txn_id(snap_txn) * 1000 + committed_txid));
        memset(stab, 0, sizeof stab);
        snap = committed;
    } else {
        view v;
        view_open(&v, 1);
        scan_view(&v);
        if (a & 1) end_snapshot();
    }
}

static void op_scan(void)
{
    view v;
    view_open(&v, next_byte() & 1);
    scan_view(&v);
    view_close(&v);
}

static char path[4200] = "f"; /* the database: "f" in the memory VFS, or a file */

static void do_open(void)
{
    EXPECT_RC(digby_open(path, &opts, &db), DIGBY_OK);
}

static void op_reopen(void)
{
    view v;
    end_snapshot();
    end_write(next_byte() & 1);
    EXPECT_RC(digby_close(db), DIGBY_OK);
    do_open();
    EXPECT_RC(digby_check(db, NULL), DIGBY_OK);
    view_open(&v, 0);
    scan_view(&v);
    view_close(&v);
}

static void op_check(void)
{
    digby_check_report rep;
    int rc = digby_check(db, &rep);
    if (rc != DIGBY_OK) {
        fprintf(stderr, "check: %s (page %llu)\n", rep.message,
                (unsigned long long)rep.bad_pgno);
        DIE("digby_check", rc);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t psz[4] = { 512, 1024, 4096, 512 };
    uint8_t cfgb;
    static int keys_made;
    if (!keys_made) { make_keys(); keys_made = 1; }
    in = data; in_n = size; in_pos = 0;
    cfgb = next_byte();
    memset(&opts, 0, sizeof opts);
    if (cfgb & 32) {
        fuzz_map_path(path, sizeof path, "fuzz_ops_map");
        remove(path);
        vfs = NULL;
        opts.flags = DIGBY_OPEN_MMAP;
        opts.map_bytes = 1;
    } else {
        strcpy(path, "f");
        if (digby_vfs_mem_create(NULL, &vfs) != DIGBY_OK) abort();
    }
    opts.vfs = vfs;
    opts.page_size = psz[cfgb & 3];
    if (cfgb & 4) { opts.key = fuzz_key; opts.key_bytes = sizeof fuzz_key; }
    opts.compression = (cfgb & 8) ? DIGBY_COMPRESS_LZ4 : DIGBY_COMPRESS_NONE;
    opts.cache_bytes = (cfgb & 16) ? 1 : 0;
    ent_seed = 7;
    opts.entropy = det_entropy;
    opts.entropy_ctx = &ent_seed;
    memset(&committed, 0, sizeof committed);
    wtxn = snap_txn = NULL;
    memset(wtab, 0, sizeof wtab);
    memset(stab, 0, sizeof stab);
    do_open();
    {
        digby_txn *t;
        EXPECT_RC(digby_txn_begin(db, DIGBY_TXN_READONLY, &t), DIGBY_OK);
        committed_txid = digby_txn_id(t);
        digby_txn_abort(t);
    }
    while (in_pos < in_n) {
        switch (next_byte() % 16) {
        case 0: case 1: case 2: op_put(); break;
        case 3: op_delete(); break;
        case 4: op_get(); break;
        case 5: end_write(1); break;
        case 6: end_write(0); break;
        case 7: op_table_create(); break;
        case 8: op_table_drop(); break;
        case 9: case 10: op_cursor(); break;
        case 11: op_snapshot(); break;
        case 12: op_scan(); break;
        case 13: op_reopen(); break;
        case 14: op_blob(); break;
        default: if (in_pos & 1) op_range(); else op_check(); break;
        }
    }
    /* the end: commit, reopen, everything against the model, check */
    end_snapshot();
    end_write(1);
    EXPECT_RC(digby_close(db), DIGBY_OK);
    do_open();
    op_check();
    {
        view v;
        view_open(&v, 0);
        scan_view(&v);
        view_close(&v);
    }
    EXPECT_RC(digby_close(db), DIGBY_OK);
    fuzz_release(vfs, path);
    return 0;
}

#ifdef FUZZ_REPLAY
FUZZ_REPLAY_MAIN("fuzz_ops", "no divergence")
#endif
