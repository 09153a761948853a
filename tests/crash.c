/* tests/crash.c -- power cut at every write and sync (STYLE.md section 10).

   A fault-injecting in-memory VFS keeps, per file, a durable image and the
   list of writes (and truncates) since the last sync.  A fixed workload of
   a few hundred transactions (puts, overwrites, deletes, overflow values,
   large keys, lz4 compression of half the values, table create/drop,
   aborts, reopens) runs once to count the VFS's write,
   sync and truncate calls.  Then, for every such call k, the workload runs
   again from scratch and power is cut at call k: that call and every later
   call (reads included) fail with DIGBY_IOERR, and the workload stops at the
   first error.  The unsynced writes are then resolved three ways:
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

   Environment:
     DIGBY_TEST_SEED  workload seed (default fixed)
     DIGBY_TEST_ASAN  if set (or built with ASan), sweep every
                      CRASH_ASAN_STEP-th call only
     DIGBY_TEST_CRASH_STEP  sweep every n-th call (overrides the above)
     DIGBY_TEST_CRASH_FROM  start the sweep at this call (to rerun a failure)

   Printed: the number of crash points and crash states checked. */

#define DIGBY_IMPLEMENTATION
#include "digby.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define PAGE_SIZE 1024u
#define SECTOR 512u
#define NTXN 220
#define NTREES 4 /* global + 3 named */
#define NKEYS 300
#define REOPEN_EVERY 50
#define MAX_FILES 4
#define CRASH_ASAN_STEP 1
#define DEFAULT_SEED 0x00c7a54d00d1b100ULL
#define MAX_REPORTED 12

static const char *const tree_names[NTREES] = {"(global)", "alpha", "beta",
                                               "gamma.long.name"};

/* ---- small helpers ----------------------------------------------------- */

/* The encrypted sweep's key (NULL: plain files) and its stride. */
static const uint8_t *g_key;
static size_t g_key_bytes;
static uint64_t g_min_step = 1;

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        print_error("crash: out of memory\n");
        fail();
    }
    return p;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

typedef struct img {
    unsigned char *p;
    size_t n, cap;
} img;

static void img_reserve(img *m, size_t n)
{
    if (n > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        unsigned char *p;
        while (cap < n) cap *= 2;
        p = (unsigned char *)realloc(m->p, cap);
        if (!p) {
            print_error("crash: out of memory\n");
            fail();
        }
        m->p = p;
        m->cap = cap;
    }
}

/* Set the size; growth reads as zeros. */
static void img_resize(img *m, size_t n)
{
    img_reserve(m, n);
    if (n > m->n) memset(m->p + m->n, 0, n - m->n);
    m->n = n;
}

static void img_write(img *m, uint64_t off, const void *buf, size_t len)
{
    if (off + len > m->n) img_resize(m, (size_t)(off + len));
    if (len) memcpy(m->p + off, buf, len);
}

static void img_copy(img *dst, const img *src)
{
    dst->n = 0;
    img_resize(dst, 0);
    img_reserve(dst, src->n);
    if (src->n) memcpy(dst->p, src->p, src->n);
    dst->n = src->n;
}

static void img_free(img *m)
{
    free(m->p);
    m->p = NULL;
    m->n = m->cap = 0;
}

/* ---- the fault-injecting VFS ---------------------------------------------- */

enum { K_WRITE = 0, K_SYNC = 1, K_TRUNC = 2 };

typedef struct fop {
    int kind;        /* K_WRITE or K_TRUNC */
    uint64_t off;    /* K_WRITE: offset; K_TRUNC: new size */
    size_t len;
    unsigned char *data;
    uint64_t seq;    /* global order of unsynced ops */
} fop;

typedef struct ffile {
    char path[256];
    int exists;
    img dur;         /* what survives a power cut for sure */
    img cur;         /* what reads see */
    fop *ops;        /* unsynced writes/truncates, oldest first */
    size_t nops, ops_cap;
} ffile;

typedef struct fvfs {
    digby_vfs vfs;   /* vfs.ctx points back here */
    ffile files[MAX_FILES];
    int nfiles;
    uint64_t seq;
    uint64_t calls;          /* counted: write, sync, truncate */
    uint64_t cut_at;         /* index of the refused call; UINT64_MAX: never */
    int cut;                 /* power is off */
    int cut_kind;
    int cut_in_close;        /* the cut call came from digby_close */
    int in_close;            /* set by the workload around digby_close */
    uint64_t n_write, n_sync, n_trunc;
    /* determinism: (kind, offset, length) of each call of the counting run */
    uint64_t *trace;
    size_t ntrace, trace_cap;
    int recording;
    int diverged;
    uint64_t diverged_at;
} fvfs;

typedef struct fhandle {
    fvfs *v;
    ffile *f;
    int readonly;
} fhandle;

static fhandle *FH(digby_file *f) { return (fhandle *)(void *)f; }

static uint64_t call_hash(int kind, uint64_t off, uint64_t len)
{
    uint64_t s = ((uint64_t)kind << 56) ^ (off * 0x100000001B3ULL) ^ (len << 20);
    return splitmix(&s);
}

/* Count a write/sync/truncate call; 1 when power is (now) off. */
static int fv_refuse(fvfs *v, int kind, uint64_t off, uint64_t len)
{
    uint64_t idx, h;
    if (v->cut) return 1;
    idx = v->calls++;
    h = call_hash(kind, off, len);
    if (v->recording) {
        if (v->ntrace == v->trace_cap) {
            size_t cap = v->trace_cap ? v->trace_cap * 2 : 1024;
            uint64_t *p = (uint64_t *)realloc(v->trace, cap * sizeof(uint64_t));
            if (!p) return 1;
            v->trace = p;
            v->trace_cap = cap;
        }
        v->trace[v->ntrace++] = h;
    } else if (v->trace && !v->diverged &&
               (idx >= v->ntrace || v->trace[idx] != h)) {
        v->diverged = 1;
        v->diverged_at = idx;
    }
    if (idx >= v->cut_at) {
        v->cut = 1;
        v->cut_kind = kind;
        v->cut_in_close = v->in_close;
        return 1;
    }
    if (kind == K_WRITE) v->n_write++;
    else if (kind == K_SYNC) v->n_sync++;
    else v->n_trunc++;
    return 0;
}

static void push_op(fvfs *v, ffile *f, int kind, uint64_t off, const void *buf,
                    size_t len)
{
    fop *o;
    if (f->nops == f->ops_cap) {
        size_t cap = f->ops_cap ? f->ops_cap * 2 : 64;
        fop *p = (fop *)realloc(f->ops, cap * sizeof(fop));
        if (!p) {
            print_error("crash: out of memory\n");
            fail();
        }
        f->ops = p;
        f->ops_cap = cap;
    }
    o = &f->ops[f->nops++];
    o->kind = kind;
    o->off = off;
    o->len = len;
    o->data = NULL;
    if (kind == K_WRITE) {
        o->data = (unsigned char *)xmalloc(len);
        if (len) memcpy(o->data, buf, len);
    }
    o->seq = v->seq++;
}

static void clear_ops(ffile *f)
{
    size_t i;
    for (i = 0; i < f->nops; i++) free(f->ops[i].data);
    f->nops = 0;
}

static int fv_open(const digby_vfs *vfs, const char *path, unsigned flags,
                   digby_file **out)
{
    fvfs *v = (fvfs *)vfs->ctx;
    ffile *f = NULL;
    fhandle *h;
    int i;
    if (!out) return DIGBY_INVALID;
    *out = NULL;
    if (v->cut) return DIGBY_IOERR;
    if (!path || strlen(path) >= sizeof f->path) return DIGBY_CANTOPEN;
    for (i = 0; i < v->nfiles; i++)
        if (v->files[i].exists && strcmp(v->files[i].path, path) == 0)
            f = &v->files[i];
    if (!f) {
        if (!(flags & DIGBY_VFS_CREATE) || (flags & DIGBY_VFS_READONLY))
            return DIGBY_CANTOPEN;
        if (v->nfiles == MAX_FILES) return DIGBY_CANTOPEN;
        f = &v->files[v->nfiles++];
        memset(f, 0, sizeof *f);
        strcpy(f->path, path);
        f->exists = 1; /* a created file is durable in its directory */
    }
    h = (fhandle *)malloc(sizeof *h);
    if (!h) return DIGBY_NOMEM;
    h->v = v;
    h->f = f;
    h->readonly = (flags & DIGBY_VFS_READONLY) != 0;
    *out = (digby_file *)(void *)h;
    return DIGBY_OK;
}

static int fv_read(digby_file *fh, uint64_t off, void *buf, size_t len,
                   size_t *got)
{
    fhandle *h = FH(fh);
    const img *m = &h->f->cur;
    size_t n = 0;
    if (got) *got = 0;
    if (h->v->cut) return DIGBY_IOERR;
    if (off < m->n) {
        n = m->n - (size_t)off < len ? m->n - (size_t)off : len;
        memcpy(buf, m->p + off, n);
    }
    if (got) *got = n;
    return DIGBY_OK;
}

static int fv_write(digby_file *fh, uint64_t off, const void *buf, size_t len)
{
    fhandle *h = FH(fh);
    if (fv_refuse(h->v, K_WRITE, off, len)) return DIGBY_IOERR;
    if (h->readonly) return DIGBY_IOERR;
    img_write(&h->f->cur, off, buf, len);
    push_op(h->v, h->f, K_WRITE, off, buf, len);
    return DIGBY_OK;
}

static int fv_sync(digby_file *fh)
{
    fhandle *h = FH(fh);
    if (fv_refuse(h->v, K_SYNC, 0, 0)) return DIGBY_IOERR;
    img_copy(&h->f->dur, &h->f->cur);
    clear_ops(h->f);
    return DIGBY_OK;
}

static int fv_size(digby_file *fh, uint64_t *size_bytes)
{
    fhandle *h = FH(fh);
    if (h->v->cut) return DIGBY_IOERR;
    *size_bytes = h->f->cur.n;
    return DIGBY_OK;
}

static int fv_truncate(digby_file *fh, uint64_t size_bytes)
{
    fhandle *h = FH(fh);
    if (fv_refuse(h->v, K_TRUNC, size_bytes, 0)) return DIGBY_IOERR;
    if (h->readonly) return DIGBY_IOERR;
    img_resize(&h->f->cur, (size_t)size_bytes);
    push_op(h->v, h->f, K_TRUNC, size_bytes, NULL, 0);
    return DIGBY_OK;
}

static int fv_lock(digby_file *fh, int mode)
{
    fhandle *h = FH(fh);
    if (h->v->cut && mode != DIGBY_LOCK_NONE) return DIGBY_IOERR;
    return DIGBY_OK;
}

static void fv_close(digby_file *fh) { free(FH(fh)); }

static fvfs *fv_new(void)
{
    fvfs *v = (fvfs *)calloc(1, sizeof(fvfs));
    if (!v) {
        print_error("crash: out of memory\n");
        fail();
    }
    v->vfs.version = DIGBY_VFS_VERSION;
    v->vfs.ctx = v;
    v->vfs.open = fv_open;
    v->vfs.read = fv_read;
    v->vfs.write = fv_write;
    v->vfs.sync = fv_sync;
    v->vfs.size = fv_size;
    v->vfs.truncate = fv_truncate;
    v->vfs.lock = fv_lock;
    v->vfs.close = fv_close;
    v->cut_at = UINT64_MAX;
    return v;
}

static void fv_free(fvfs *v)
{
    int i;
    if (!v) return;
    for (i = 0; i < v->nfiles; i++) {
        clear_ops(&v->files[i]);
        free(v->files[i].ops);
        img_free(&v->files[i].dur);
        img_free(&v->files[i].cur);
    }
    free(v->trace);
    free(v);
}

/* ---- the model -------------------------------------------------------- */

typedef struct ment {
    uint32_t vlen, vseed;
    uint64_t version;
    int present;
} ment;

typedef struct mstate {
    int exists[NTREES];
    ment e[NTREES][NKEYS];
} mstate;

typedef struct mkey {
    unsigned char p[700];
    size_t n;
} mkey;

static void vfill(unsigned char *b, size_t n, uint32_t seed)
{
    uint64_t w = ((uint64_t)seed << 32) ^ 0x9E3779B97F4A7C15ULL ^ (uint64_t)n, o = 0;
    size_t i = 0;
    int runs = seed & 1; /* half the values compress: each word four times */
    while (i < n) {
        size_t k = n - i < 8 ? n - i : 8;
        if (!runs || (i & 31) == 0) {
            w = w * 6364136223846793005ULL + 1442695040888963407ULL;
            o = w ^ (w >> 29);
        }
        memcpy(b + i, &o, k);
        i += k;
    }
}

static int kcmp(const unsigned char *a, size_t an, const unsigned char *b,
                size_t bn)
{
    size_t m = an < bn ? an : bn;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c < 0 ? -1 : 1;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

static int mkey_cmp(const void *x, const void *y)
{
    const mkey *a = (const mkey *)x, *b = (const mkey *)y;
    return kcmp(a->p, a->n, b->p, b->n);
}

/* Sorted, distinct keys with shared prefixes; one of max_key bytes, and
   large keys (longer than max_key: in overflow pages) that tie on their
   first 200 bytes or on more than max_key. */
static void gen_keys(mkey *keys, uint64_t seed, size_t max_key)
{
    static const char *const pre[6] = {"", "a", "ab", "user/", "user/00", "\xff"};
    uint64_t s = seed ^ 0x1234567ULL;
    size_t n = 0, i, j;
    if (max_key > sizeof keys[0].p - 300) max_key = sizeof keys[0].p - 300;
    keys[n++].n = 0;
    memset(keys[n].p, 'm', max_key);
    keys[n++].n = max_key;
    while (n < 24) {
        size_t base = n % 2 ? 200 : max_key + 20;
        size_t len = (n % 2 ? max_key : base) + 1 + (size_t)(splitmix(&s) % 280);
        memset(keys[n].p, n % 2 ? 'L' : 'T', base);
        for (j = base; j < len; j++) keys[n].p[j] = (unsigned char)('a' + splitmix(&s) % 3);
        keys[n].n = len;
        for (i = 0; i < n; i++)
            if (mkey_cmp(&keys[i], &keys[n]) == 0) break;
        if (i == n) n++;
    }
    while (n < NKEYS) {
        const char *p = pre[splitmix(&s) % 6];
        size_t pl = strlen(p), sl = (size_t)(splitmix(&s) % 24), len;
        if (splitmix(&s) % 20 == 0) sl = (size_t)(splitmix(&s) % 120);
        len = pl + sl > max_key ? max_key : pl + sl;
        memcpy(keys[n].p, p, pl < len ? pl : len);
        for (j = pl; j < len; j++)
            keys[n].p[j] = (unsigned char)('a' + splitmix(&s) % 6);
        keys[n].n = len;
        for (i = 0; i < n; i++)
            if (mkey_cmp(&keys[i], &keys[n]) == 0) break;
        if (i == n) n++;
    }
    qsort(keys, NKEYS, sizeof(mkey), mkey_cmp);
}

/* ---- the workload --------------------------------------------------------- */

typedef struct wl {
    uint64_t rng;
    fvfs *v;
    digby_db *db;
    digby_txn *txn;
    digby_options opts;
    const mkey *keys;
    unsigned char *vb;
    mstate cm;      /* current, including the open txn */
    mstate com;     /* after the last commit that returned DIGBY_OK */
    int in_commit;  /* the failed call was a commit */
    int stopped;    /* an error stopped the workload */
    int stop_rc;
    const char *stop_where;
    int ntxn_done;
    uint64_t commits, aborts;
} wl;

static size_t wbelow(wl *w, size_t n) { return (size_t)(splitmix(&w->rng) % n); }

static uint32_t wvlen(wl *w)
{
    size_t r = wbelow(w, 100);
    if (r < 60) return (uint32_t)wbelow(w, 41);
    if (r < 88) return (uint32_t)(41 + wbelow(w, 260));
    return (uint32_t)(1000 + wbelow(w, 3001)); /* overflow pages at 1 KiB */
}

/* Record an unexpected result: the workload stops here. */
static int wstop(wl *w, int rc, const char *where)
{
    w->stopped = 1;
    w->stop_rc = rc;
    w->stop_where = where;
    return 1;
}

static digby_table *wtable(wl *w, int tr, digby_table **h, int *rc)
{
    *rc = DIGBY_OK;
    if (tr == 0) return NULL;
    if (!h[tr]) *rc = digby_table_open(w->txn, tree_names[tr], 0, &h[tr]);
    return h[tr];
}

static int w_present_key(wl *w, int tr)
{
    size_t s = wbelow(w, NKEYS), i;
    for (i = 0; i < NKEYS; i++) {
        size_t k = (s + i) % NKEYS;
        if (w->cm.e[tr][k].present) return (int)k;
    }
    return -1;
}

/* One write transaction; returns 1 when the workload must stop. */
static int w_txn(wl *w)
{
    digby_table *h[NTREES] = {NULL, NULL, NULL, NULL};
    uint64_t txid;
    size_t nops, i;
    int rc;
    rc = digby_txn_begin(w->db, 0, &w->txn);
    if (rc != DIGBY_OK) return wstop(w, rc, "txn_begin");
    txid = digby_txn_id(w->txn);
    nops = wbelow(w, 100) < 6 ? 40 + wbelow(w, 40) : 1 + wbelow(w, 12);
    for (i = 0; i < nops; i++) {
        int tr = (int)wbelow(w, NTREES);
        size_t r = wbelow(w, 100);
        digby_table *t;
        if (tr && !w->cm.exists[tr]) {
            rc = digby_table_open(w->txn, tree_names[tr], DIGBY_TABLE_CREATE, &h[tr]);
            if (rc != DIGBY_OK) return wstop(w, rc, "table create");
            w->cm.exists[tr] = 1;
            continue;
        }
        if (tr && r < 2) {
            rc = digby_table_drop(w->txn, tree_names[tr]);
            if (rc != DIGBY_OK) return wstop(w, rc, "table drop");
            w->cm.exists[tr] = 0;
            memset(w->cm.e[tr], 0, sizeof w->cm.e[tr]);
            h[tr] = NULL;
            continue;
        }
        t = wtable(w, tr, h, &rc);
        if (rc != DIGBY_OK) return wstop(w, rc, "table open");
        if (r < 50 || (r < 65 && w_present_key(w, tr) < 0)) {
            /* put (some with NOOVERWRITE) */
            size_t k = wbelow(w, NKEYS);
            uint32_t vl = wvlen(w), vs = (uint32_t)splitmix(&w->rng);
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
            int k = w_present_key(w, tr);
            uint32_t vl = wvlen(w), vs = (uint32_t)splitmix(&w->rng);
            ment *e = &w->cm.e[tr][k];
            vfill(w->vb, vl, vs);
            rc = digby_txn_put(w->txn, t, w->keys[k].p, w->keys[k].n, w->vb, vl, 0);
            if (rc != DIGBY_OK) return wstop(w, rc, "overwrite");
            e->vlen = vl;
            e->vseed = vs;
            e->version = txid;
        } else if (r < 90) {
            /* delete: mostly present keys, sometimes missing ones */
            int k = w_present_key(w, tr);
            int want;
            if (k < 0 || wbelow(w, 5) == 0) k = (int)wbelow(w, NKEYS);
            want = w->cm.e[tr][k].present ? DIGBY_OK : DIGBY_NOTFOUND;
            rc = digby_txn_delete(w->txn, t, w->keys[k].p, w->keys[k].n);
            if (rc != want) return wstop(w, rc, "delete");
            memset(&w->cm.e[tr][k], 0, sizeof(ment));
        } else {
            /* get */
            size_t k = wbelow(w, NKEYS);
            const ment *e = &w->cm.e[tr][k];
            const void *val = NULL;
            size_t vn = 0;
            uint64_t ver = 0;
            rc = digby_txn_get(w->txn, t, w->keys[k].p, w->keys[k].n, &val, &vn, &ver);
            if (rc != (e->present ? DIGBY_OK : DIGBY_NOTFOUND))
                return wstop(w, rc, "get");
            if (rc == DIGBY_OK) {
                vfill(w->vb, e->vlen, e->vseed);
                if (vn != e->vlen || (vn && memcmp(val, w->vb, vn)) ||
                    ver != e->version)
                    return wstop(w, 0, "get returned a wrong value");
            }
        }
    }
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
    if (rc != DIGBY_OK) return wstop(w, rc, "commit");
    w->in_commit = 0;
    w->com = w->cm;
    w->commits++;
    return 0;
}

static int w_close(wl *w)
{
    int rc;
    w->v->in_close = 1;
    rc = digby_close(w->db);
    w->v->in_close = 0;
    w->db = NULL;
    return rc;
}

/* Run the workload against v until the end or the first error. */
static void run_workload(wl *w, fvfs *v, const mkey *keys, uint64_t seed)
{
    int i, rc;
    memset(w, 0, sizeof *w);
    w->rng = seed;
    w->v = v;
    w->keys = keys;
    w->vb = (unsigned char *)xmalloc(8192);
    w->opts.page_size = PAGE_SIZE;
    w->opts.key = g_key;
    w->opts.key_bytes = g_key_bytes;
    w->opts.cache_bytes = 16 * PAGE_SIZE;
    w->opts.compression = DIGBY_COMPRESS_LZ4;
    w->opts.vfs = &v->vfs;
    w->cm.exists[0] = w->com.exists[0] = 1;
    rc = digby_open("crash.db", &w->opts, &w->db);
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
            rc = digby_open("crash.db", &w->opts, &w->db);
            if (rc != DIGBY_OK) {
                w->db = NULL;
                wstop(w, rc, "reopen");
                break;
            }
        }
        w_txn(w);
        if (!w->stopped) w->ntxn_done++;
    }
    if (w->txn) digby_txn_abort(w->txn);
    w->txn = NULL;
    if (w->db) (void)w_close(w);
    free(w->vb);
    w->vb = NULL;
}

/* ---- verification of one crash state ----------------------------------- */

typedef struct listed {
    int n;
    char name[NTREES][64];
    uint64_t entries[NTREES];
} listed;

static int list_cb(void *ctx, const char *name, size_t name_bytes,
                   uint64_t entries)
{
    listed *l = (listed *)ctx;
    if (l->n >= NTREES || name_bytes >= sizeof l->name[0]) return 1;
    memcpy(l->name[l->n], name, name_bytes);
    l->name[l->n][name_bytes] = 0;
    l->entries[l->n] = entries;
    l->n++;
    return 0;
}

/* 1 when everything the database shows equals m; otherwise why. */
static int db_equals(digby_db *db, const mkey *keys, const mstate *m,
                     char *why, size_t cap)
{
    digby_txn *txn = NULL;
    digby_cursor *c = NULL;
    listed l;
    int tr, rc, ok = 0, expect_tables = 0;
    unsigned char *vb = (unsigned char *)xmalloc(8192);
    rc = digby_txn_begin(db, DIGBY_TXN_READONLY, &txn);
    if (rc != DIGBY_OK) {
        snprintf(why, cap, "read txn: %s", digby_strerror(rc));
        free(vb);
        return 0;
    }
    memset(&l, 0, sizeof l);
    rc = digby_table_list(txn, list_cb, &l);
    for (tr = 1; tr < NTREES; tr++) expect_tables += m->exists[tr];
    if (rc != DIGBY_OK || l.n != expect_tables) {
        snprintf(why, cap, "table_list: rc %d, %d tables, model %d", rc, l.n,
                 expect_tables);
        goto out;
    }
    for (tr = 0; tr < NTREES; tr++) {
        digby_table *h = NULL;
        size_t k = 0, seen = 0, i;
        const void *key, *val;
        size_t kn, vn;
        uint64_t ver;
        if (tr) {
            rc = digby_table_open(txn, tree_names[tr], 0, &h);
            if (rc != (m->exists[tr] ? DIGBY_OK : DIGBY_NOTFOUND)) {
                snprintf(why, cap, "table %s: open gives %s, model %s",
                         tree_names[tr], digby_strerror(rc),
                         m->exists[tr] ? "exists" : "absent");
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
            while (k < NKEYS && !m->e[tr][k].present) k++;
            if (k == NKEYS || kcmp((const unsigned char *)key, kn, keys[k].p,
                                   keys[k].n) != 0) {
                snprintf(why, cap, "tree %s entry %lu: key differs (db %lu bytes%s)",
                         tree_names[tr], (unsigned long)seen, (unsigned long)kn,
                         k == NKEYS ? ", model has no more" : "");
                goto out;
            }
            vfill(vb, m->e[tr][k].vlen, m->e[tr][k].vseed);
            if (vn != m->e[tr][k].vlen || (vn && memcmp(val, vb, vn)) ||
                ver != m->e[tr][k].version) {
                snprintf(why, cap, "tree %s key #%lu: value/version differ "
                         "(db %lu bytes v%llu, model %lu bytes v%llu)",
                         tree_names[tr], (unsigned long)k, (unsigned long)vn,
                         (unsigned long long)ver,
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
        for (i = k; i < NKEYS; i++)
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
    free(vb);
    return ok;
}

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
                        const fvfs *crashed, img *images)
{
    fvfs *v = fv_new();
    digby_db *db = NULL;
    digby_options o;
    digby_check_report rep;
    digby_txn *txn = NULL;
    char why_old[300], why_new[300];
    const void *val;
    size_t vn;
    int i, rc;
    s->states++;
    for (i = 0; i < crashed->nfiles; i++) {
        ffile *f = &v->files[v->nfiles++];
        memset(f, 0, sizeof *f);
        strcpy(f->path, crashed->files[i].path);
        f->exists = crashed->files[i].exists;
        img_copy(&f->dur, &images[i]);
        img_copy(&f->cur, &images[i]);
    }
    memset(&o, 0, sizeof o);
    o.vfs = &v->vfs;
    o.page_size = PAGE_SIZE;
    o.key = g_key;
    o.key_bytes = g_key_bytes;
    rc = digby_open("crash.db", &o, &db);
    if (rc != DIGBY_OK) {
        report(s, k, state, w, "digby_open returned %s", digby_strerror(rc));
        fv_free(v);
        return;
    }
    if (db_equals(db, s->keys, &w->com, why_old, sizeof why_old)) {
        s->match_old++;
    } else if (w->in_commit &&
               db_equals(db, s->keys, &w->cm, why_new, sizeof why_new)) {
        s->match_new++;
    } else {
        digby_stats st;
        memset(&st, 0, sizeof st);
        digby_stat(db, &st);
        report(s, k, state, w, "contents match neither the last commit (%s)%s%s "
               "[opened txid %llu, discarded %llu]",
               why_old, w->in_commit ? " nor the commit in flight: " : "",
               w->in_commit ? why_new : "", (unsigned long long)st.last_txid,
               (unsigned long long)st.discarded_txid);
    }
    memset(&rep, 0, sizeof rep);
    rc = digby_check(db, &rep);
    if (rc != DIGBY_OK)
        report(s, k, state, w, "digby_check: %s: page %llu: %s",
               digby_strerror(rc), (unsigned long long)rep.bad_pgno, rep.message);
    /* the database takes a new write transaction */
    rc = digby_txn_begin(db, 0, &txn);
    if (rc == DIGBY_OK) {
        rc = digby_txn_put(txn, NULL, "after-crash", 11, "ok", 2, 0);
        if (rc == DIGBY_OK) {
            rc = digby_txn_commit(txn);
        } else {
            digby_txn_abort(txn);
        }
    }
    if (rc != DIGBY_OK) {
        report(s, k, state, w, "write after recovery: %s", digby_strerror(rc));
    } else {
        rc = digby_txn_begin(db, DIGBY_TXN_READONLY, &txn);
        if (rc == DIGBY_OK) {
            rc = digby_txn_get(txn, NULL, "after-crash", 11, &val, &vn, NULL);
            if (rc == DIGBY_OK && (vn != 2 || memcmp(val, "ok", 2) != 0))
                rc = DIGBY_CORRUPT;
            digby_txn_abort(txn);
        }
        if (rc != DIGBY_OK)
            report(s, k, state, w, "reading the write after recovery: %s",
                   digby_strerror(rc));
        rc = digby_check(db, &rep);
        if (rc != DIGBY_OK)
            report(s, k, state, w, "digby_check after the new write: %s: %s",
                   digby_strerror(rc), rep.message);
    }
    rc = digby_close(db);
    if (rc != DIGBY_OK) report(s, k, state, w, "close: %s", digby_strerror(rc));
    fv_free(v);
}

/* Apply the unsynced ops of f to base, up to (not including) index `upto`. */
static void apply_ops(img *m, const ffile *f, size_t upto)
{
    size_t i;
    for (i = 0; i < upto; i++) {
        const fop *o = &f->ops[i];
        if (o->kind == K_WRITE) img_write(m, o->off, o->data, o->len);
        else img_resize(m, (size_t)o->off);
    }
}

static int same_images(const img *a, const img *b, int n)
{
    int i;
    for (i = 0; i < n; i++)
        if (a[i].n != b[i].n || (a[i].n && memcmp(a[i].p, b[i].p, a[i].n)))
            return 0;
    return 1;
}

#define MAX_STATES 7
#define REORDER_STATES 2

/* Apply a pseudo-random subset of the unsynced ops (each kept with
   probability 1/2): the disk persisted them in another order than issued. */
static void apply_subset(img *m, const ffile *f, uint64_t *rng)
{
    size_t i;
    for (i = 0; i < f->nops; i++) {
        const fop *o = &f->ops[i];
        if (splitmix(rng) & 1) continue;
        if (o->kind == K_WRITE) img_write(m, o->off, o->data, o->len);
        else img_resize(m, (size_t)o->off);
    }
}

/* Build the crash states for the stopped run and check each distinct one. */
static void check_crash_point(sweep *s, uint64_t k, const wl *w, const fvfs *v)
{
    img st[MAX_STATES][MAX_FILES];
    const char *names[MAX_STATES];
    int ns = 0, i, j, last_file = -1;
    uint64_t last_seq = 0;
    memset(st, 0, sizeof st);

    /* the globally last unsynced op */
    for (i = 0; i < v->nfiles; i++) {
        const ffile *f = &v->files[i];
        if (f->nops && (last_file < 0 || f->ops[f->nops - 1].seq > last_seq)) {
            last_file = i;
            last_seq = f->ops[f->nops - 1].seq;
        }
    }
    /* (a) all dropped, (b) all kept */
    for (i = 0; i < v->nfiles; i++) img_copy(&st[0][i], &v->files[i].dur);
    names[ns++] = "a:dropped";
    for (i = 0; i < v->nfiles; i++) {
        img_copy(&st[1][i], &v->files[i].dur);
        apply_ops(&st[1][i], &v->files[i], v->files[i].nops);
    }
    names[ns++] = "b:kept";
    /* (c) the last write torn */
    if (last_file >= 0 && v->files[last_file].ops[v->files[last_file].nops - 1].kind
                              == K_WRITE) {
        const ffile *f = &v->files[last_file];
        const fop *o = &f->ops[f->nops - 1];
        uint64_t first_b = (o->off / SECTOR + 1) * SECTOR;
        uint64_t end = o->off + o->len, cuts[3];
        int ncuts = 0, c;
        if (first_b >= end) {
            cuts[ncuts++] = o->off; /* one sector: the write is lost whole */
        } else {
            uint64_t last_b = ((end - 1) / SECTOR) * SECTOR;
            uint64_t nb = (last_b - first_b) / SECTOR + 1;
            uint64_t mid_b = first_b + (nb / 2) * SECTOR;
            cuts[ncuts++] = first_b;
            if (mid_b != first_b && mid_b != last_b) cuts[ncuts++] = mid_b;
            if (last_b != first_b) cuts[ncuts++] = last_b;
        }
        for (c = 0; c < ncuts && ns < MAX_STATES; c++) {
            for (i = 0; i < v->nfiles; i++) {
                img_copy(&st[ns][i], &v->files[i].dur);
                apply_ops(&st[ns][i], &v->files[i],
                          i == last_file ? v->files[i].nops - 1 : v->files[i].nops);
            }
            {
                img *m = &st[ns][last_file];
                size_t keep = (size_t)(cuts[c] - o->off);
                /* the size may already cover the whole write; the sectors
                   not written keep their old bytes (zeros past the old end) */
                if (end > m->n) img_resize(m, (size_t)end);
                if (keep) memcpy(m->p + o->off, o->data, keep);
            }
            names[ns++] = "c:torn";
        }
    }
    /* (d) kept in another order: random subsets of the unsynced writes */
    for (j = 0; j < REORDER_STATES && ns < MAX_STATES; j++) {
        uint64_t rng = k * 0x9E3779B97F4A7C15ull + (uint64_t)j + 1;
        for (i = 0; i < v->nfiles; i++) {
            img_copy(&st[ns][i], &v->files[i].dur);
            apply_subset(&st[ns][i], &v->files[i], &rng);
        }
        names[ns++] = "d:reordered";
    }
    for (j = 0; j < ns; j++) {
        int dup = 0;
        for (i = 0; i < j && !dup; i++) dup = same_images(st[i], st[j], v->nfiles);
        if (dup) continue;
        if (names[j][0] == 'a') s->states_a++;
        else if (names[j][0] == 'b') s->states_b++;
        else if (names[j][0] == 'd') s->states_reorder++;
        else s->states_torn++;
        check_state(s, k, names[j], w, v, st[j]);
    }
    for (j = 0; j < MAX_STATES; j++)
        for (i = 0; i < MAX_FILES; i++) img_free(&st[j][i]);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static uint64_t env_seed(void)
{
    const char *s = getenv("DIGBY_TEST_SEED");
    return s && *s ? (uint64_t)strtoull(s, NULL, 0) : DEFAULT_SEED;
}

static void test_crash_sweep(void **state)
{
    uint64_t seed = env_seed(), total, k, step = 1;
    mkey *keys = (mkey *)calloc(NKEYS, sizeof(mkey));
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
    v = fv_new();
    v->recording = 1;
    run_workload(w, v, keys, seed);
    if (w->stopped)
        fail_msg("workload failed without a power cut: %s in %s", digby_strerror(w->stop_rc),
                 w->stop_where);
    total = v->calls;
    print_message("crash: seed=0x%016llx workload: %d txns (%llu commits, %llu "
                  "aborts), %llu VFS calls to cut at (%llu writes, %llu syncs, "
                  "%llu truncates)\n",
                  (unsigned long long)seed, w->ntxn_done,
                  (unsigned long long)w->commits, (unsigned long long)w->aborts,
                  (unsigned long long)total, (unsigned long long)v->n_write,
                  (unsigned long long)v->n_sync, (unsigned long long)v->n_trunc);
    memset(&s, 0, sizeof s);
    s.keys = keys;
    /* the finished file itself */
    {
        img images[MAX_FILES];
        int i;
        memset(images, 0, sizeof images);
        for (i = 0; i < v->nfiles; i++) {
            img_copy(&images[i], &v->files[i].dur);
            apply_ops(&images[i], &v->files[i], v->files[i].nops);
        }
        check_state(&s, total, "final", w, v, images);
        for (i = 0; i < MAX_FILES; i++) img_free(&images[i]);
        if (s.failures) fail_msg("the uncrashed workload's file is wrong (%llu failures)",
                                 (unsigned long long)s.failures);
        memset(&s, 0, sizeof s);
        s.keys = keys;
    }

    env = getenv("DIGBY_TEST_ASAN");
    if (UNDER_ASAN || (env && *env)) step = CRASH_ASAN_STEP;
    env = getenv("DIGBY_TEST_CRASH_STEP");
    if (env && *env) step = strtoull(env, NULL, 0);
    if (step < g_min_step) step = g_min_step;
    if (step < 1) step = 1;
    env = getenv("DIGBY_TEST_CRASH_FROM"); /* start the sweep at this call */
    k = (env && *env) ? strtoull(env, NULL, 0) : 0;

    for (; k < total; k += step) {
        fvfs *cv = fv_new();
        cv->cut_at = k;
        cv->trace = v->trace; /* borrowed: compared, not freed */
        cv->ntrace = v->ntrace;
        run_workload(w, cv, keys, seed);
        s.points++;
        if (cv->cut_kind == K_WRITE) s.points_write++;
        else if (cv->cut_kind == K_SYNC) s.points_sync++;
        else s.points_trunc++;
        if (w->in_commit) s.points_in_commit++;
        if (cv->diverged && cv->diverged_at < k) {
            s.nondeterministic++;
            report(&s, k, "-", w, "the VFS call sequence differs from the counting "
                   "run at call %llu (nondeterministic engine?)",
                   (unsigned long long)cv->diverged_at);
        }
        if (w->stopped && (!cv->cut || w->stop_rc == DIGBY_OK)) {
            report(&s, k, "-", w, "the workload failed in %s (%s) for a reason "
                   "other than the power cut", w->stop_where,
                   digby_strerror(w->stop_rc));
        } else if (!cv->cut) {
            report(&s, k, "-", w, "the workload never reached call %llu", (unsigned long long)k);
        } else if (!w->stopped && !cv->cut_in_close) {
            /* a refused write or sync that no API call reported */
            s.swallowed++;
            report(&s, k, "-", w, "call %llu (%s) failed but every API call returned "
                   "success", (unsigned long long)k,
                   cv->cut_kind == K_WRITE ? "write" : cv->cut_kind == K_SYNC ? "sync"
                                                                         : "truncate");
        }
        check_crash_point(&s, k, w, cv);
        cv->trace = NULL;
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
        cmocka_unit_test(test_crash_sweep),
        cmocka_unit_test(test_crash_sweep_encrypted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
