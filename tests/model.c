/* tests/model.c -- randomized model-based test (STYLE.md section 10).

   Random operations run against digby and against a reference model that is
   deliberately simple: a sorted array of every key the test can ever use
   (the "key space"), and per tree (global tree + 4 named tables) one entry
   per key: present?, value length, value seed, version.  Values are never
   stored: their bytes are a pure function of (seed, length) (vfill()).

   What is checked:
   - every put / overwrite / delete / get result code and value, in the
     write transaction that did it (own writes visible, version = txid);
   - cursor seeks with GE/GT/LE/LT/EQ followed by next/prev steps, full
     forward and reverse scans, prefix scans, a cursor kept across writes
     to its own transaction;
   - range deletes (digby_txn_delete_range): bounds on, between, or
     prefixes of key-space keys, open ends, lo > hi (DIGBY_INVALID); the
     count returned; also under a cursor kept across writes;
   - NOOVERWRITE (DIGBY_EXISTS), deletes of missing keys (DIGBY_NOTFOUND),
     too-long keys (DIGBY_TOOBIG), stale table handles (DIGBY_BADTXN),
     writes in read-only transactions (DIGBY_READONLY);
   - table create/drop/list/count;
   - abort rolls back to the last commit; commit makes the state durable;
   - after every commit, abort and reopen: the whole database against the
     model (every tree scanned in both directions, table list, counts, gets)
     in a fresh read-only transaction; digby_check() after every reopen and
     at the end;
   - compaction in place (digby_compact) between transactions: the state
     unchanged, a held snapshot unchanged;
   - snapshot isolation: a read-only transaction begun before a write
     transaction, sometimes kept across several commits, still shows the
     state it began with;
   - versions: every value's version equals digby_txn_id() of the write
     transaction that stored it (for the auto-commit helpers: the id of the
     snapshot right after them).

   Configurations: in-memory VFS and POSIX VFS (files in $DIGBY_TEST_DIR,
   default /tmp) at page sizes 512, 4096 and 65536; the op budget is split
   evenly among them.

   Environment:
     DIGBY_TEST_SEED   seed (decimal or 0x hex); default below
     DIGBY_TEST_SCALE  multiply the op budget (float, default 1)
     DIGBY_TEST_ASAN   if set (or built with ASan), run 1/5 of the ops
     DIGBY_TEST_DIR    directory for POSIX files (default /tmp)
     DIGBY_TEST_CONFIG run only the configuration of this name (to reproduce
                       a failure; the ops of each configuration do not
                       depend on the others)

   Assumption: keys sort bytewise (memcmp, a proper prefix first). */

#define DIGBY_IMPLEMENTATION
#include "digby.h"

/* A snapshot's id against the last commit the model made: equal, but in
   log mode (DIGBY_LOG_DEFAULT) checkpoints are commits of their own. */
#ifdef DIGBY_LOG_DEFAULT
#define SNAP_ID_OK(id, last) ((id) >= (last))
#else
#define SNAP_ID_OK(id, last) ((id) == (last))
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "under_asan.h" /* UNDER_ASAN */
#include "vfill.h"      /* vfill: the values */

#define NTREES 5                 /* 0 = global tree, 1..4 = named tables */
#define MODEL_SAVEPOINTS 6       /* live savepoints at most (the model's copies) */
#define NKEYS_TARGET 2500        /* size of the key space per configuration */
#ifdef MODEL_BASE_OPS
#define BASE_OPS MODEL_BASE_OPS
#else
#define BASE_OPS 1000000.0       /* total ops at scale 1 */
#endif
#define DEFAULT_SEED 0x00d16b7e57ed0001ULL

static const char *const tree_names[NTREES] = {
    "(global)", "a", "a/b", "tab_0042", "zz.yy"
};

/* ---- configurations ------------------------------------------------------ */

typedef struct cfg {
    const char *name;
    int posix;
    uint32_t page_size;
    size_t cache_bytes;
    uint32_t flags;
    uint32_t compression;
    int encrypted;          /* AES-GCM under a raw key */
    uint64_t map_bytes;     /* with DIGBY_OPEN_MMAP: pages past it use the cache */
} cfg;

static cfg cfgs[] = {
    {"mem-512", 0, 512, 0, 0, 0, 0, 0},
    {"mem-4096-cache16", 0, 4096, 16 * 4096, 0, 0, 0, 0},
    {"mem-65536-lz4", 0, 65536, 0, 0, DIGBY_COMPRESS_LZ4, 0, 0},
    /* DIGBY_OPEN_NO_MMAP: a 16-page cache under pressure on the POSIX VFS */
    {"posix-512-cache16-lz4", 1, 512, 16 * 512, DIGBY_OPEN_NO_MMAP, DIGBY_COMPRESS_LZ4, 0, 0},
    {"posix-4096-lz4", 1, 4096, 0, 0, DIGBY_COMPRESS_LZ4, 0, 0},
    {"posix-65536-nosync", 1, 65536, 0, DIGBY_OPEN_NO_SYNC, 0, 0, 0},
    {"mem-4096-cache16-aes-lz4", 0, 4096, 16 * 4096, 0, DIGBY_COMPRESS_LZ4, 1, 0},
    /* reads from a memory map of 48 pages at first; the file outgrows it */
    {"posix-1024-mmap48-cache16", 1, 1024, 16 * 1024, DIGBY_OPEN_MMAP, 0, 0, 48 * 1024},
};
#define NCFG (sizeof cfgs / sizeof cfgs[0])

/* Totals over all configurations, printed at the end (test-only state). */
static uint64_t total_ops, total_calls, total_commits, total_checks;
#ifdef MODEL_MEMTABLE_BYTES
static uint64_t total_spilled; /* leaves spilled + parts committed by checkpoints */
#endif

/* ---- the model ----------------------------------------------------------- */

typedef struct mkey {
    unsigned char *p;
    size_t n;
} mkey;

typedef struct ment {
    uint32_t vlen;
    uint32_t vseed;
    uint64_t version;
    unsigned char present;
} ment;

typedef struct mtree {
    int exists;
    size_t count;
    ment *e; /* one per key-space key */
} mtree;

typedef struct mstate {
    mtree t[NTREES];
} mstate;

enum { PHASE_GROW = 0, PHASE_SHRINK = 1 };

typedef struct T {
    const cfg *c;
    uint64_t seed;
    uint64_t rng;
    uint64_t op, budget, txn_no, calls;
    uint64_t n_compacts;
    uint64_t n_commits, n_aborts, n_reopens, n_checks, n_snap, n_auto,
        n_drops, n_creates, n_large, n_ranges, n_range_keys;
    const char *what; /* operation in progress, for failure messages */
    const char *sub;  /* the check running inside it, or NULL */
    int phase;
    int appends_next;      /* the next write transaction appends too */
    uint64_t phase_left;

    digby_vfs *memvfs;
    const digby_vfs *vfs;
    char path[600];
    digby_options opts;
    digby_db *db;
    size_t max_key;
    size_t key_limit; /* longest key generated: large keys go past max_key */

    digby_txn *w;     /* the write transaction */
    digby_txn *snap;  /* a long-lived read-only snapshot */
    digby_txn *ro;    /* short read-only transaction used for checks */
    digby_cursor *cur;
    int snap_left;
    digby_table *h[NTREES];
    int h_open[NTREES];
    int modified;
    uint64_t txid, last_txid;

    mkey *keys;
    size_t nkeys;
    mstate cm;   /* current: includes the write txn's changes */
    mstate com;  /* last committed */
    mstate sm;   /* what t->snap must show */

    unsigned char *vbuf;
    size_t vbuf_cap;
    unsigned char *kbuf; /* probe keys, key_limit + 16 bytes */
    size_t recent;       /* a recently used key index, for locality */
    int map_grew;        /* DIGBY_OPEN_MMAP: the file outgrew the first map */
    /* checkpoint_spilled + checkpoint_parts: all, this handle's */
    uint64_t spilled, spilled_handle;

    /* savepoints of the write transaction, oldest first: the model, the
       table handles and `modified` as they were at each */
    int nsp;
    uint32_t sp_id[MODEL_SAVEPOINTS];
    mstate spm[MODEL_SAVEPOINTS];
    digby_table *sp_h[MODEL_SAVEPOINTS][NTREES];
    int sp_hopen[MODEL_SAVEPOINTS][NTREES];
    int sp_modified[MODEL_SAVEPOINTS];
    uint32_t sp_gone;   /* an id released or rolled past, 0: none */
    uint64_t n_sp, n_sp_rollbacks, n_sp_releases;
} T;

/* ---- failure reporting --------------------------------------------------- */

static void die(T *t, int line, const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_error("model.c:%d: %s\n"
                "  seed=0x%016llx config=%s op=%llu txn=%llu (%s) while: %s%s%s\n"
                "  reproduce: DIGBY_TEST_SEED=0x%llx DIGBY_TEST_CONFIG=%s ./model "
                "(ops are deterministic given the seed)\n",
                line, msg, (unsigned long long)t->seed, t->c->name,
                (unsigned long long)t->op, (unsigned long long)t->txn_no,
                t->phase == PHASE_GROW ? "grow" : "shrink",
                t->what ? t->what : "-", t->sub ? ": " : "", t->sub ? t->sub : "",
                (unsigned long long)t->seed, t->c->name);
    fail();
}

#define CHECK(t, cond)                                                        \
    do {                                                                      \
        if (!(cond)) die((t), __LINE__, "check failed: %s", #cond);          \
    } while (0)

#define CHECK_RC(t, got, want)                                                \
    do {                                                                      \
        int g_ = (got), w_ = (want);                                          \
        (t)->calls++;                                                         \
        if (g_ != w_)                                                         \
            die((t), __LINE__, "%s returned %d (%s), expected %d (%s)", #got,  \
                g_, digby_strerror(g_), w_, digby_strerror(w_));              \
    } while (0)

static void *xmalloc(T *t, size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) die(t, __LINE__, "test out of memory (%lu bytes)", (unsigned long)n);
    return p;
}

static void *xcalloc(T *t, size_t n, size_t s)
{
    void *p = calloc(n ? n : 1, s ? s : 1);
    if (!p) die(t, __LINE__, "test out of memory");
    return p;
}

/* ---- deterministic randomness ------------------------------------------- */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rnd(T *t) { return splitmix(&t->rng); }

static size_t below(T *t, size_t n) { return n ? (size_t)(rnd(t) % n) : 0; }

static int chance(T *t, unsigned pct) { return below(t, 100) < pct; }

/* ---- values: bytes are a function of (seed, length): vfill (tests/vfill.h) */

static unsigned char *vbuf(T *t, size_t n)
{
    if (n > t->vbuf_cap) {
        free(t->vbuf);
        t->vbuf_cap = n + 4096;
        t->vbuf = (unsigned char *)xmalloc(t, t->vbuf_cap);
    }
    return t->vbuf;
}

static int vequal(T *t, const void *p, size_t n, const ment *e)
{
    unsigned char *b;
    if (n != e->vlen) return 0;
    if (n == 0) return 1;
    if (!p) return 0;
    b = vbuf(t, n);
    vfill(b, n, e->vseed);
    return memcmp(b, p, n) == 0;
}

static uint32_t pick_vlen(T *t)
{
    size_t r = below(t, 1000);
    if (r < 400) return (uint32_t)below(t, 17);
    if (r < 750) return (uint32_t)(17 + below(t, 240));
    if (r < 920) return (uint32_t)(257 + below(t, 1800));
    t->n_large++;
    if (r < 990) return (uint32_t)(2048 + below(t, 18 * 1024 + 1));
    /* one to three pages, whatever the page size */
    return (uint32_t)(t->c->page_size + below(t, 2 * (size_t)t->c->page_size + 1));
}

/* ---- keys ------------------------------------------------------------------ */

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

static void hexkey(const void *p, size_t n, char *out, size_t cap)
{
    const unsigned char *b = (const unsigned char *)p;
    size_t i, o = 0;
    o += (size_t)snprintf(out, cap, "[%lu]", (unsigned long)n);
    for (i = 0; i < n && i < 24 && o + 3 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%02x", b[i]);
    if (n > 24 && o + 4 < cap) snprintf(out + o, cap - o, "...");
}

static void add_key(T *t, size_t *n, size_t cap, const unsigned char *p,
                    size_t len)
{
    if (*n >= cap || len > t->key_limit) return;
    t->keys[*n].p = (unsigned char *)xmalloc(t, len);
    if (len) memcpy(t->keys[*n].p, p, len);
    t->keys[*n].n = len;
    (*n)++;
}

/* A few thousand keys with shared prefixes, from 0 bytes to max_key. */
static void gen_keys(T *t)
{
    const size_t cap = NKEYS_TARGET + 64 + 64;
    size_t max = t->max_key, n = 0, i, j, long_n;
    unsigned char *buf = (unsigned char *)xmalloc(t, max + 1);
    unsigned char longp[2][256];
    struct {
        const unsigned char *p;
        size_t n;
    } pre[16];
    size_t npre = 0;

    t->keys = (mkey *)xcalloc(t, cap, sizeof(mkey));
    long_n = max * 3 / 4 < 200 ? max * 3 / 4 : 200;
    for (i = 0; i < long_n; i++) longp[0][i] = (unsigned char)('a' + below(t, 26));
    memcpy(longp[1], longp[0], long_n);
    if (long_n) longp[1][long_n - 1] ^= 1;

#define PRE(s, len) (pre[npre].p = (const unsigned char *)(s), pre[npre].n = (len), npre++)
    PRE("", 0);
    PRE("a", 1);
    PRE("ab", 2);
    PRE("abc", 3);
    PRE("user/", 5);
    PRE("user/0000/", 10);
    PRE("\0", 1);
    PRE("\0\0", 2);
    PRE("\xff", 1);
    PRE("\xff\xff\xfe", 3);
    PRE("k", 1);
    PRE(longp[0], long_n);
    PRE(longp[1], long_n);
#undef PRE

    /* special keys */
    add_key(t, &n, cap, buf, 0);
    memset(buf, 'z', max);
    add_key(t, &n, cap, buf, max);
    add_key(t, &n, cap, buf, max - 1);
    memset(buf, 0xff, max);
    add_key(t, &n, cap, buf, max);
    memcpy(buf, longp[0], long_n);
    for (i = long_n; i < max; i++) buf[i] = (unsigned char)below(t, 256);
    add_key(t, &n, cap, buf, max);
    for (i = 0; i < 5; i++) {
        static const unsigned char singles[5] = {0x00, 0x01, 0x7f, 0x80, 0xff};
        add_key(t, &n, cap, &singles[i], 1);
    }

    /* large keys (longer than max_key, kept in overflow pages): families
       that share their first 230 bytes (past the bytes a large key's cell
       keeps) or their first max_key + 40 (past a separator's reach), with
       some ordinary keys among them */
    {
        size_t lim = t->key_limit, f, m, base, len;
        unsigned char *bb = (unsigned char *)xmalloc(t, lim + 1);
        for (f = 0; f < 3; f++) {
            base = f == 0 ? 230 : (f == 1 ? max + 40 : 40);
            if (base > lim - 8) base = lim - 8;
            for (i = 0; i < base; i++) bb[i] = (unsigned char)('A' + f + below(t, 2));
            for (m = 0; m < 16; m++) {
                len = m < 3 && base < max ? base + 1 + below(t, max - base)
                                          : max + 1 + below(t, lim - max);
                if (len <= base) len = base + 1;
                for (i = base; i < len; i++) bb[i] = (unsigned char)('a' + below(t, 3));
                add_key(t, &n, cap, bb, len);
            }
        }
        free(bb);
    }

    while (n < NKEYS_TARGET) {
        size_t pi = below(t, npre), r = below(t, 100), slen, len, alpha;
        if (r < 70) slen = below(t, 13);
        else if (r < 90) slen = 13 + below(t, 52);
        else if (r < 98) slen = 65 + below(t, 236);
        else slen = below(t, max + 1);
        len = pre[pi].n + slen;
        if (len > max) len = max;
        memcpy(buf, pre[pi].p, pre[pi].n < len ? pre[pi].n : len);
        alpha = below(t, 10);
        for (j = pre[pi].n; j < len; j++) {
            if (alpha < 5) buf[j] = (unsigned char)('a' + below(t, 4));
            else if (alpha < 8) buf[j] = (unsigned char)('0' + below(t, 10));
            else buf[j] = (unsigned char)below(t, 256);
        }
        add_key(t, &n, cap, buf, len);
    }
    free(buf);

    qsort(t->keys, n, sizeof(mkey), mkey_cmp);
    for (i = 0, j = 0; i < n; i++) {
        if (j > 0 && mkey_cmp(&t->keys[j - 1], &t->keys[i]) == 0) {
            free(t->keys[i].p);
            continue;
        }
        t->keys[j++] = t->keys[i];
    }
    t->nkeys = j;
}

/* first index whose key is >= probe */
static size_t lower_bound(const T *t, const unsigned char *k, size_t n)
{
    size_t lo = 0, hi = t->nkeys;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (kcmp(t->keys[mid].p, t->keys[mid].n, k, n) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* key-space index equal to the probe, or -1 */
static long exact_index(const T *t, const unsigned char *k, size_t n)
{
    size_t lb = lower_bound(t, k, n);
    if (lb < t->nkeys && kcmp(t->keys[lb].p, t->keys[lb].n, k, n) == 0)
        return (long)lb;
    return -1;
}

/* A probe key for gets and seeks, in t->kbuf: a key-space key, a prefix or
   extension of one, a neighbour, or random bytes. */
static size_t gen_probe(T *t)
{
    const mkey *k = &t->keys[below(t, t->nkeys)];
    size_t r = below(t, 100), n, i;
    unsigned char *b = t->kbuf;
    if (r < 40) {
        n = k->n;
        if (n) memcpy(b, k->p, n);
    } else if (r < 60) {
        n = below(t, k->n + 1);
        if (n) memcpy(b, k->p, n);
    } else if (r < 75) {
        n = k->n;
        if (n) memcpy(b, k->p, n);
        for (i = 1 + below(t, 3); i > 0 && n < t->key_limit; i--)
            b[n++] = (unsigned char)below(t, 256);
    } else if (r < 90) {
        n = k->n;
        if (n) {
            memcpy(b, k->p, n);
            b[n - 1] = (unsigned char)(b[n - 1] + (chance(t, 50) ? 1 : 255));
        } else {
            b[0] = (unsigned char)below(t, 256);
            n = 1;
        }
    } else {
        n = below(t, 9);
        for (i = 0; i < n; i++) b[i] = (unsigned char)('a' + below(t, 5));
    }
    return n;
}

/* ---- model state --------------------------------------------------------- */

static void ms_init(T *t, mstate *m)
{
    int i;
    for (i = 0; i < NTREES; i++) {
        m->t[i].exists = i == 0;
        m->t[i].count = 0;
        m->t[i].e = (ment *)xcalloc(t, t->nkeys, sizeof(ment));
    }
}

static void ms_free(mstate *m)
{
    int i;
    for (i = 0; i < NTREES; i++) {
        free(m->t[i].e);
        m->t[i].e = NULL;
    }
}

static void ms_copy(const T *t, mstate *dst, const mstate *src)
{
    int i;
    for (i = 0; i < NTREES; i++) {
        dst->t[i].exists = src->t[i].exists;
        dst->t[i].count = src->t[i].count;
        memcpy(dst->t[i].e, src->t[i].e, t->nkeys * sizeof(ment));
    }
}

static void m_put(mtree *m, size_t k, uint32_t vlen, uint32_t vseed,
                  uint64_t version)
{
    ment *e = &m->e[k];
    if (!e->present) m->count++;
    e->present = 1;
    e->vlen = vlen;
    e->vseed = vseed;
    e->version = version;
}

static void m_del(mtree *m, size_t k)
{
    if (m->e[k].present) m->count--;
    memset(&m->e[k], 0, sizeof(ment));
}

static long m_first_from(const T *t, const mtree *m, long i)
{
    if (i < 0) i = 0;
    for (; i < (long)t->nkeys; i++)
        if (m->e[i].present) return i;
    return -1;
}

static long m_last_upto(const T *t, const mtree *m, long i)
{
    if (i >= (long)t->nkeys) i = (long)t->nkeys - 1;
    for (; i >= 0; i--)
        if (m->e[i].present) return i;
    return -1;
}

/* Model of digby_cursor_seek: the key-space index it lands on, or -1. */
static long m_seek(const T *t, const mtree *m, const unsigned char *k,
                   size_t n, digby_seek_op op)
{
    long lb = (long)lower_bound(t, k, n);
    int exact = lb < (long)t->nkeys &&
                kcmp(t->keys[lb].p, t->keys[lb].n, k, n) == 0;
    switch (op) {
    case DIGBY_SEEK_GE: return m_first_from(t, m, lb);
    case DIGBY_SEEK_GT: return m_first_from(t, m, exact ? lb + 1 : lb);
    case DIGBY_SEEK_LE: return m_last_upto(t, m, exact ? lb : lb - 1);
    case DIGBY_SEEK_LT: return m_last_upto(t, m, lb - 1);
    case DIGBY_SEEK_EQ: return exact && m->e[lb].present ? lb : -1;
    }
    return -1;
}

/* A random present key of the tree, or -1 when it is empty. */
static long pick_present(T *t, const mtree *m)
{
    long s, k;
    if (m->count == 0) return -1;
    s = (long)below(t, t->nkeys);
    k = m_first_from(t, m, s);
    if (k < 0) k = m_first_from(t, m, 0);
    return k;
}

/* A key-space index: uniform, or near the last one used (locality). */
static size_t pick_key(T *t)
{
    size_t k;
    if (chance(t, 25)) {
        long d = (long)below(t, 11) - 5;
        long r = (long)t->recent + d;
        if (r < 0) r = 0;
        if (r >= (long)t->nkeys) r = (long)t->nkeys - 1;
        k = (size_t)r;
    } else {
        k = below(t, t->nkeys);
    }
    t->recent = k;
    return k;
}

/* A key pointer for the API: sometimes NULL for the empty key. */
static const void *kptr(T *t, size_t k)
{
    if (t->keys[k].n == 0 && chance(t, 50)) return NULL;
    return t->keys[k].p;
}

/* ---- comparisons against the database ----------------------------------- */

/* The cursor's entry must be model entry k of m (k < 0: NOTFOUND). */
static void cur_expect(T *t, digby_cursor *c, const mtree *m, long k)
{
    const void *key = NULL, *val = NULL;
    size_t kn = 0, vn = 0;
    uint64_t ver = 0;
    int rc = digby_cursor_get(c, &key, &kn, &val, &vn, &ver);
    char a[100], b[100];
    t->calls++;
    if (k < 0) {
        if (rc != DIGBY_NOTFOUND) {
            hexkey(key, kn, a, sizeof a);
            die(t, __LINE__, "cursor_get returned %d (%s) key %s, expected NOTFOUND",
                rc, digby_strerror(rc), rc == DIGBY_OK ? a : "-");
        }
        return;
    }
    if (rc != DIGBY_OK)
        die(t, __LINE__, "cursor_get returned %d (%s), expected an entry", rc,
            digby_strerror(rc));
    if (kcmp((const unsigned char *)key, kn, t->keys[k].p, t->keys[k].n) != 0) {
        hexkey(key, kn, a, sizeof a);
        hexkey(t->keys[k].p, t->keys[k].n, b, sizeof b);
        die(t, __LINE__, "cursor at key %s, model expects key %s (index %ld)", a,
            b, k);
    }
    if (!vequal(t, val, vn, &m->e[k])) {
        hexkey(key, kn, a, sizeof a);
        die(t, __LINE__, "cursor value for key %s: %lu bytes, model %lu bytes "
            "(seed %u): contents differ", a, (unsigned long)vn,
            (unsigned long)m->e[k].vlen, m->e[k].vseed);
    }
    if (ver != m->e[k].version) {
        hexkey(key, kn, a, sizeof a);
        die(t, __LINE__, "cursor version for key %s: %llu, model %llu", a,
            (unsigned long long)ver, (unsigned long long)m->e[k].version);
    }
}

/* Move the cursor (+1 next, -1 prev) and compare; returns the new position
   (-1 = unpositioned).  From an unpositioned cursor next is first and prev
   is last. */
static long cur_step(T *t, digby_cursor *c, const mtree *m, long k, int dir)
{
    int rc;
    long want;
    if (dir > 0) {
        want = m_first_from(t, m, k < 0 ? 0 : k + 1);
        rc = digby_cursor_next(c);
    } else {
        want = k < 0 ? m_last_upto(t, m, (long)t->nkeys - 1)
                     : m_last_upto(t, m, k - 1);
        rc = digby_cursor_prev(c);
    }
    CHECK_RC(t, rc, want < 0 ? DIGBY_NOTFOUND : DIGBY_OK);
    cur_expect(t, c, m, want);
    return want;
}

/* Look key k up through digby_txn_get and compare with the model. */
static void get_expect(T *t, digby_txn *txn, digby_table *h, const mtree *m,
                       const unsigned char *key, size_t kn, long k)
{
    const void *val = NULL;
    size_t vn = 0;
    uint64_t ver = 0;
    int want_ver = chance(t, 90);
    int rc = digby_txn_get(txn, h, kn ? key : (chance(t, 50) ? NULL : key), kn,
                           &val, &vn, want_ver ? &ver : NULL);
    char a[100];
    int present = k >= 0 && m->e[k].present;
    t->calls++;
    if (!present) {
        if (rc != DIGBY_NOTFOUND) {
            hexkey(key, kn, a, sizeof a);
            die(t, __LINE__, "txn_get(%s) returned %d (%s), model: absent", a,
                rc, digby_strerror(rc));
        }
        return;
    }
    if (rc != DIGBY_OK) {
        hexkey(key, kn, a, sizeof a);
        die(t, __LINE__, "txn_get(%s) returned %d (%s), model: present", a, rc,
            digby_strerror(rc));
    }
    if (!vequal(t, val, vn, &m->e[k])) {
        hexkey(key, kn, a, sizeof a);
        die(t, __LINE__, "txn_get(%s): %lu bytes, model %lu bytes: contents "
            "differ", a, (unsigned long)vn, (unsigned long)m->e[k].vlen);
    }
    if (want_ver && ver != m->e[k].version) {
        hexkey(key, kn, a, sizeof a);
        die(t, __LINE__, "txn_get(%s): version %llu, model %llu", a,
            (unsigned long long)ver, (unsigned long long)m->e[k].version);
    }
}

static void scan_tree(T *t, digby_txn *txn, digby_table *h, const mtree *m,
                      int reverse)
{
    digby_cursor *c = NULL;
    long k;
    int rc;
    size_t seen = 0;
    CHECK_RC(t, digby_cursor_open(txn, h, &c), DIGBY_OK);
    t->cur = c;
    if (reverse) {
        k = m_last_upto(t, m, (long)t->nkeys - 1);
        rc = digby_cursor_last(c);
    } else {
        k = m_first_from(t, m, 0);
        rc = digby_cursor_first(c);
    }
    for (;;) {
        CHECK_RC(t, rc, k < 0 ? DIGBY_NOTFOUND : DIGBY_OK);
        cur_expect(t, c, m, k);
        if (k < 0) break;
        seen++;
        if (reverse) {
            k = m_last_upto(t, m, k - 1);
            rc = digby_cursor_prev(c);
        } else {
            k = m_first_from(t, m, k + 1);
            rc = digby_cursor_next(c);
        }
    }
    CHECK(t, seen == m->count);
    /* ran off the end: unpositioned; one more step wraps to first/last */
    if (chance(t, 20)) cur_step(t, c, m, -1, reverse ? -1 : 1);
    digby_cursor_close(c);
    t->cur = NULL;
}

typedef struct listed {
    int n;
    char name[NTREES][64];
    uint64_t entries[NTREES];
    int overflow;
} listed;

static int list_cb(void *ctx, const char *name, size_t name_bytes,
                   uint64_t entries)
{
    listed *l = (listed *)ctx;
    if (l->n >= NTREES || name_bytes >= sizeof l->name[0]) {
        l->overflow = 1;
        return 0;
    }
    memcpy(l->name[l->n], name, name_bytes);
    l->name[l->n][name_bytes] = 0;
    l->entries[l->n] = entries;
    l->n++;
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(tree_names[*(const int *)a], tree_names[*(const int *)b]);
}

/* Compare everything visible in txn with model state m: table set, table
   list, counts, full scans (both directions when `both`), a few gets. */
static void check_state(T *t, digby_txn *txn, const mstate *m, int both)
{
    digby_table *h[NTREES];
    listed l;
    int order[NTREES], no = 0, i;
    t->sub = "full state check";
    t->n_checks++;
    h[0] = NULL;
    for (i = 1; i < NTREES; i++) {
        h[i] = NULL;
        if (m->t[i].exists) {
            CHECK_RC(t, digby_table_open(txn, tree_names[i], 0, &h[i]), DIGBY_OK);
            CHECK(t, h[i] != NULL);
            order[no++] = i;
        } else {
            CHECK_RC(t, digby_table_open(txn, tree_names[i], 0, &h[i]),
                     DIGBY_NOTFOUND);
        }
    }
    memset(&l, 0, sizeof l);
    CHECK_RC(t, digby_table_list(txn, list_cb, &l), DIGBY_OK);
    CHECK(t, !l.overflow);
    qsort(order, (size_t)no, sizeof(int), name_cmp);
    if (l.n != no)
        die(t, __LINE__, "table_list gave %d tables, model has %d", l.n, no);
    for (i = 0; i < no; i++) {
        if (strcmp(l.name[i], tree_names[order[i]]) != 0)
            die(t, __LINE__, "table_list entry %d is \"%s\", model \"%s\"", i,
                l.name[i], tree_names[order[i]]);
        if (l.entries[i] != m->t[order[i]].count)
            die(t, __LINE__, "table_list: \"%s\" has %llu entries, model %lu",
                l.name[i], (unsigned long long)l.entries[i],
                (unsigned long)m->t[order[i]].count);
    }
    for (i = 0; i < NTREES; i++) {
        uint64_t cnt = 0;
        int g;
        if (!m->t[i].exists) continue;
        CHECK_RC(t, digby_table_count(txn, h[i], &cnt), DIGBY_OK);
        if (cnt != m->t[i].count)
            die(t, __LINE__, "table_count(%s) = %llu, model %lu", tree_names[i],
                (unsigned long long)cnt, (unsigned long)m->t[i].count);
        scan_tree(t, txn, h[i], &m->t[i], 0);
        if (both) scan_tree(t, txn, h[i], &m->t[i], 1);
        for (g = 0; g < 3; g++) {
            size_t kn = gen_probe(t);
            get_expect(t, txn, h[i], &m->t[i], t->kbuf, kn,
                       exact_index(t, t->kbuf, kn));
        }
    }
    t->sub = NULL;
}

/* Check the last committed state in a fresh read-only transaction. */
static uint64_t check_committed(T *t, const mstate *m)
{
    uint64_t id;
    CHECK_RC(t, digby_txn_begin(t->db, DIGBY_TXN_READONLY, &t->ro), DIGBY_OK);
    id = digby_txn_id(t->ro);
    check_state(t, t->ro, m, 1);
    if (chance(t, 50)) {
        CHECK_RC(t, digby_txn_commit(t->ro), DIGBY_OK);
    } else {
        digby_txn_abort(t->ro);
    }
    t->ro = NULL;
    return id;
}

static void run_digby_check(T *t)
{
    digby_check_report rep;
    int rc;
    memset(&rep, 0, sizeof rep);
    rc = digby_check(t->db, &rep);
    t->calls++;
    if (rc != DIGBY_OK)
        die(t, __LINE__, "digby_check returned %d (%s): page %llu: %s", rc,
            digby_strerror(rc), (unsigned long long)rep.bad_pgno, rep.message);
    CHECK(t, rep.message[0] == 0);
    if ((t->opts.flags & DIGBY_OPEN_MMAP) && strstr(digby_version(), " mmap")) {
        /* the map is in use and covers the file (a configuration that
           silently fell back to the cache would test nothing new) */
        digby_stats st;
        memset(&st, 0, sizeof st);
        rc = digby_stat(t->db, &st);
        t->calls++;
        CHECK(t, rc == DIGBY_OK);
        CHECK(t, st.mapped_bytes >= st.page_count * st.page_size);
        if (t->opts.map_bytes && st.mapped_bytes > t->opts.map_bytes) t->map_grew = 1;
    }
}

/* ---- operations inside the write transaction ------------------------------ */

enum {
    OP_PUT, OP_OVERWRITE, OP_NOOVER, OP_DEL_PRESENT, OP_DEL_RANDOM, OP_GET,
    OP_SEEK, OP_PREFIX, OP_FULLSCAN, OP_CSTABLE, OP_COUNT, OP_TOOBIG,
    OP_SAMEHANDLE, OP_DROP, OP_RANGEDEL, OP_SAVEPOINT, OP_ROLLBACK, OP_RELEASE, OP__N
};

/* weights per 10000, per phase; the rest goes to OP_GET */
static const unsigned op_weight[2][OP__N] = {
    /* grow */
    {3500, 1000, 500, 700, 300, 0, 1200, 300, 40, 200, 100, 20, 40, 2, 15, 120, 50, 50},
    /* shrink */
    {1200, 600, 200, 3000, 600, 0, 1200, 300, 40, 200, 100, 20, 40, 2, 40, 120, 50, 50},
};

static digby_table *wh(T *t, int tr)
{
    if (tr == 0) return NULL;
    if (!t->h_open[tr]) {
        CHECK_RC(t, digby_table_open(t->w, tree_names[tr], 0, &t->h[tr]), DIGBY_OK);
        CHECK(t, t->h[tr] != NULL);
        t->h_open[tr] = 1;
    }
    return t->h[tr];
}

static void w_put(T *t, int tr, size_t k, unsigned flags)
{
    uint32_t vlen = pick_vlen(t), vseed = (uint32_t)rnd(t);
    unsigned char *b = vbuf(t, vlen);
    mtree *m = &t->cm.t[tr];
    int want = (flags & DIGBY_PUT_NOOVERWRITE) && m->e[k].present ? DIGBY_EXISTS
                                                                   : DIGBY_OK;
    vfill(b, vlen, vseed);
    CHECK_RC(t, digby_txn_put(t->w, wh(t, tr), kptr(t, k), t->keys[k].n, b, vlen,
                              flags),
             want);
    if (want == DIGBY_OK) {
        m_put(m, k, vlen, vseed, t->txid);
        t->modified = 1;
    }
}

static void w_del(T *t, int tr, size_t k)
{
    mtree *m = &t->cm.t[tr];
    int want = m->e[k].present ? DIGBY_OK : DIGBY_NOTFOUND;
    CHECK_RC(t, digby_txn_delete(t->w, wh(t, tr), kptr(t, k), t->keys[k].n), want);
    if (want == DIGBY_OK) {
        m_del(m, k);
        t->modified = 1;
    }
}

static void w_create(T *t, int tr)
{
    digby_table *h = NULL;
    t->what = "table create";
    if (chance(t, 50))
        CHECK_RC(t, digby_table_open(t->w, tree_names[tr], 0, &h), DIGBY_NOTFOUND);
    CHECK_RC(t, digby_table_open(t->w, tree_names[tr], DIGBY_TABLE_CREATE, &h),
             DIGBY_OK);
    CHECK(t, h != NULL);
    CHECK(t, t->cm.t[tr].count == 0);
    t->cm.t[tr].exists = 1;
    t->h[tr] = h;
    t->h_open[tr] = 1;
    t->modified = 1;
    t->n_creates++;
}

static void w_drop(T *t)
{
    int tr = 1 + (int)below(t, NTREES - 1);
    t->what = "table drop";
    if (!t->cm.t[tr].exists) {
        CHECK_RC(t, digby_table_drop(t->w, tree_names[tr]), DIGBY_NOTFOUND);
        return;
    }
    CHECK_RC(t, digby_table_drop(t->w, tree_names[tr]), DIGBY_OK);
    memset(t->cm.t[tr].e, 0, t->nkeys * sizeof(ment));
    t->cm.t[tr].count = 0;
    t->cm.t[tr].exists = 0;
    t->modified = 1;
    t->n_drops++;
    if (t->h_open[tr]) {
        /* the old handle is dead now; BADTXN does not poison the txn */
        CHECK_RC(t, digby_txn_put(t->w, t->h[tr], "x", 1, "y", 1, 0),
                 DIGBY_BADTXN);
        t->h_open[tr] = 0;
        t->h[tr] = NULL;
    }
}

/* A bound for a range delete near key-space key k, to b: the key itself,
   a prefix of it, or it with a byte appended (between it and the next);
   returns its length. */
static size_t range_bound(T *t, size_t k, unsigned char *b)
{
    const mkey *key = &t->keys[k];
    size_t r = below(t, 100), n = key->n;
    if (n) memcpy(b, key->p, n);
    if (r < 20 && n) n = below(t, n);
    else if (r < 35) b[n++] = (unsigned char)below(t, 256);
    return n;
}

/* digby_txn_delete_range over [lo, hi): bounds near key-space keys (lo
   near key `near`, or a random one when near < 0), mostly a few keys
   apart, sometimes far, sometimes open (NULL); the count and every key's
   fate checked against the model. */
static void w_range(T *t, int tr, long near)
{
    mtree *m = &t->cm.t[tr];
    unsigned char *lo = t->kbuf, *hi = vbuf(t, t->key_limit + 16), *x;
    size_t li = near < 0 ? pick_key(t) : (size_t)near, hi_i, lon = 0, hin = 0;
    size_t r = below(t, 100), a, b, k, xn;
    int lo_null = chance(t, 10), hi_null, count = chance(t, 90);
    uint64_t got = 7, want = 0;
    t->what = "delete range";
    if (r < 60) hi_i = li + below(t, 8);
    else if (r < 92) hi_i = li + below(t, 100);
    else hi_i = li + below(t, t->nkeys);
    hi_null = hi_i >= t->nkeys || chance(t, 3);
    if (!lo_null) lon = range_bound(t, li, lo);
    if (!hi_null) hin = range_bound(t, hi_i, hi);
    if (!lo_null && !hi_null && kcmp(lo, lon, hi, hin) > 0) {
        /* a prefix bound can fall below the other: DIGBY_INVALID, which
           changes nothing; then the range the right way round */
        CHECK_RC(t, digby_txn_delete_range(t->w, wh(t, tr), lo, lon, hi, hin, &got),
                 DIGBY_INVALID);
        CHECK(t, got == 0);
        x = lo; lo = hi; hi = x;
        xn = lon; lon = hin; hin = xn;
    }
    a = lo_null ? 0 : lower_bound(t, lo, lon);
    b = hi_null ? t->nkeys : lower_bound(t, hi, hin);
    for (k = a; k < b; k++)
        if (m->e[k].present) {
            m_del(m, k);
            want++;
        }
    CHECK_RC(t, digby_txn_delete_range(t->w, wh(t, tr), lo_null ? NULL : lo, lon,
                                       hi_null ? NULL : hi, hin, count ? &got : NULL),
             DIGBY_OK);
    if (count && got != want)
        die(t, __LINE__, "delete range on %s deleted %llu keys, model %llu", tree_names[tr],
            (unsigned long long)got, (unsigned long long)want);
    if (want) t->modified = 1;
    t->n_ranges++;
    t->n_range_keys += want;
}

/* Savepoints: take one (the model's state pushed), roll back to one (the
   model's state as it was; table handles opened since are void, cursors
   start over) or release one (the model unchanged). */
static void w_savepoint(T *t)
{
    uint32_t id = 0;
    int tr;
    t->what = "savepoint";
    if (t->nsp == MODEL_SAVEPOINTS) return;
    CHECK_RC(t, digby_savepoint(t->w, &id), DIGBY_OK);
    CHECK(t, id != 0);
    if (!t->spm[t->nsp].t[0].e) ms_init(t, &t->spm[t->nsp]);
    ms_copy(t, &t->spm[t->nsp], &t->cm);
    t->sp_id[t->nsp] = id;
    for (tr = 0; tr < NTREES; tr++) {
        t->sp_h[t->nsp][tr] = t->h[tr];
        t->sp_hopen[t->nsp][tr] = t->h_open[tr];
    }
    t->sp_modified[t->nsp] = t->modified;
    t->nsp++;
    t->n_sp++;
}

static void w_sp_end(T *t, int rollback)
{
    int k, tr;
    if (t->sp_gone && chance(t, 10)) {
        t->what = "savepoint: an id no longer live";
        CHECK_RC(t, rollback ? digby_rollback_to(t->w, t->sp_gone)
                             : digby_release(t->w, t->sp_gone),
                 DIGBY_NOTFOUND);
    }
    if (t->nsp == 0) return;
    /* mostly the newest ones */
    k = chance(t, 60) ? t->nsp - 1 : (int)below(t, (size_t)t->nsp);
    if (!rollback) {
        t->what = "release";
        CHECK_RC(t, digby_release(t->w, t->sp_id[k]), DIGBY_OK);
        t->sp_gone = t->sp_id[k];
        t->nsp = k;
        t->n_sp_releases++;
        return;
    }
    t->what = "rollback to a savepoint";
    CHECK_RC(t, digby_rollback_to(t->w, t->sp_id[k]), DIGBY_OK);
    if (k + 1 < t->nsp) t->sp_gone = t->sp_id[k + 1];
    t->nsp = k + 1;
    ms_copy(t, &t->cm, &t->spm[k]);
    for (tr = 1; tr < NTREES; tr++) {
        if (t->h_open[tr] && (!t->sp_hopen[k][tr] || t->h[tr] != t->sp_h[k][tr]) &&
            chance(t, 30)) {
            /* a handle opened since is void */
            CHECK_RC(t, digby_txn_put(t->w, t->h[tr], "x", 1, "y", 1, 0), DIGBY_BADTXN);
        }
        t->h[tr] = t->sp_h[k][tr];
        t->h_open[tr] = t->sp_hopen[k][tr];
    }
    t->modified = t->sp_modified[k];
    t->n_sp_rollbacks++;
    /* the state as it was, from the handles as they were */
    if (chance(t, 5)) {
        t->what = "state after rollback";
        for (tr = 0; tr < NTREES; tr++) {
            if (!t->cm.t[tr].exists) continue;
            scan_tree(t, t->w, wh(t, tr), &t->cm.t[tr], chance(t, 50));
        }
    }
}

static void w_seek(T *t, int tr, digby_txn *txn, digby_table *h, const mtree *m)
{
    digby_cursor *c = NULL;
    size_t kn, steps;
    long k;
    digby_seek_op op = (digby_seek_op)below(t, 5);
    (void)tr;
    t->what = "cursor seek + steps";
    CHECK_RC(t, digby_cursor_open(txn, h, &c), DIGBY_OK);
    t->cur = c;
    if (chance(t, 10)) {
        /* first / last */
        int last = chance(t, 50);
        k = last ? m_last_upto(t, m, (long)t->nkeys - 1) : m_first_from(t, m, 0);
        CHECK_RC(t, last ? digby_cursor_last(c) : digby_cursor_first(c),
                 k < 0 ? DIGBY_NOTFOUND : DIGBY_OK);
    } else {
        kn = gen_probe(t);
        k = m_seek(t, m, t->kbuf, kn, op);
        CHECK_RC(t, digby_cursor_seek(c, kn ? t->kbuf : NULL, kn, op),
                 k < 0 ? DIGBY_NOTFOUND : DIGBY_OK);
    }
    cur_expect(t, c, m, k);
    for (steps = below(t, 9); steps > 0; steps--)
        k = cur_step(t, c, m, k, chance(t, 50) ? 1 : -1);
    digby_cursor_close(c);
    t->cur = NULL;
}

static void w_prefix(T *t, digby_txn *txn, digby_table *h, const mtree *m)
{
    const mkey *src = &t->keys[below(t, t->nkeys)];
    size_t pn = below(t, (src->n < 12 ? src->n : 12) + 1), got = 0;
    digby_cursor *c = NULL;
    long k;
    int rc;
    t->what = "prefix scan";
    if (pn) memcpy(t->kbuf, src->p, pn);
    CHECK_RC(t, digby_cursor_open(txn, h, &c), DIGBY_OK);
    t->cur = c;
    k = m_first_from(t, m, (long)lower_bound(t, t->kbuf, pn));
    rc = digby_cursor_seek(c, pn ? t->kbuf : NULL, pn, DIGBY_SEEK_GE);
    for (;;) {
        CHECK_RC(t, rc, k < 0 ? DIGBY_NOTFOUND : DIGBY_OK);
        cur_expect(t, c, m, k); /* also the first key past the prefix */
        if (k < 0 || t->keys[k].n < pn || (pn && memcmp(t->keys[k].p, t->kbuf, pn)))
            break;
        got++;
        k = m_first_from(t, m, k + 1);
        rc = digby_cursor_next(c);
    }
    (void)got;
    digby_cursor_close(c);
    t->cur = NULL;
}

/* A cursor stays correct across writes in its own transaction. */
static void w_cstable(T *t, int tr)
{
    mtree *m = &t->cm.t[tr];
    long k = pick_present(t, m), want;
    digby_cursor *c = NULL;
    int nmut, del_self, i, rc, dir;
    if (k < 0) {
        w_put(t, tr, pick_key(t), 0);
        return;
    }
    t->what = "cursor across writes";
    CHECK_RC(t, digby_cursor_open(t->w, wh(t, tr), &c), DIGBY_OK);
    t->cur = c;
    CHECK_RC(t, digby_cursor_seek(c, kptr(t, (size_t)k), t->keys[k].n,
                                  DIGBY_SEEK_EQ),
             DIGBY_OK);
    cur_expect(t, c, m, k);
    for (nmut = 1 + (int)below(t, 4), i = 0; i < nmut; i++) {
        long j = k + (long)below(t, 21) - 10;
        if (j < 0 || j >= (long)t->nkeys || j == k) continue;
        if (chance(t, 60)) w_put(t, tr, (size_t)j, 0);
        else if (chance(t, 90)) w_del(t, tr, (size_t)j);
        else w_range(t, tr, j); /* may take the cursor's key with it */
    }
    del_self = chance(t, 30);
    if (del_self && m->e[k].present) w_del(t, tr, (size_t)k);
    t->what = "cursor across writes: get after writes";
    cur_expect(t, c, m, m->e[k].present ? k : -1);
    dir = chance(t, 50) ? 1 : -1;
    t->what = "cursor across writes: step after writes";
    want = dir > 0 ? m_first_from(t, m, k + 1) : m_last_upto(t, m, k - 1);
    rc = dir > 0 ? digby_cursor_next(c) : digby_cursor_prev(c);
    CHECK_RC(t, rc, want < 0 ? DIGBY_NOTFOUND : DIGBY_OK);
    cur_expect(t, c, m, want);
    cur_step(t, c, m, want, chance(t, 50) ? 1 : -1);
    digby_cursor_close(c);
    t->cur = NULL;
}

static void do_op(T *t)
{
    int tr = (int)below(t, NTREES), op;
    size_t r, acc = 0;
    mtree *m;
    if (tr && !t->cm.t[tr].exists) {
        w_create(t, tr);
        return;
    }
    m = &t->cm.t[tr];
    r = below(t, 10000);
    for (op = 0; op < OP__N; op++) {
        acc += op_weight[t->phase][op];
        if (r < acc) break;
    }
    if (op == OP__N) op = OP_GET;
    switch (op) {
    case OP_PUT:
        t->what = "put";
        w_put(t, tr, pick_key(t), 0);
        break;
    case OP_OVERWRITE: {
        long k = pick_present(t, m);
        t->what = "overwrite";
        w_put(t, tr, k < 0 ? pick_key(t) : (size_t)k, 0);
        break;
    }
    case OP_NOOVER: {
        long k = chance(t, 50) ? pick_present(t, m) : -1;
        t->what = "put NOOVERWRITE";
        w_put(t, tr, k < 0 ? pick_key(t) : (size_t)k, DIGBY_PUT_NOOVERWRITE);
        break;
    }
    case OP_DEL_PRESENT: {
        long k = pick_present(t, m);
        t->what = "delete present";
        w_del(t, tr, k < 0 ? pick_key(t) : (size_t)k);
        break;
    }
    case OP_DEL_RANDOM:
        t->what = "delete random";
        if (chance(t, 70)) {
            w_del(t, tr, pick_key(t));
        } else {
            /* a probe key: mostly not in the key space */
            size_t kn = gen_probe(t);
            long k = exact_index(t, t->kbuf, kn);
            if (k >= 0) {
                w_del(t, tr, (size_t)k);
            } else {
                CHECK_RC(t, digby_txn_delete(t->w, wh(t, tr), kn ? t->kbuf : NULL,
                                             kn),
                         DIGBY_NOTFOUND);
            }
        }
        break;
    case OP_GET:
        t->what = "get";
        if (chance(t, 70)) {
            size_t k = pick_key(t);
            get_expect(t, t->w, wh(t, tr), m, t->keys[k].p, t->keys[k].n, (long)k);
        } else {
            size_t kn = gen_probe(t);
            get_expect(t, t->w, wh(t, tr), m, t->kbuf, kn,
                       exact_index(t, t->kbuf, kn));
        }
        break;
    case OP_SEEK:
        w_seek(t, tr, t->w, wh(t, tr), m);
        break;
    case OP_PREFIX:
        w_prefix(t, t->w, wh(t, tr), m);
        break;
    case OP_FULLSCAN:
        t->what = "full scan in write txn";
        scan_tree(t, t->w, wh(t, tr), m, chance(t, 50));
        break;
    case OP_CSTABLE:
        w_cstable(t, tr);
        break;
    case OP_COUNT: {
        uint64_t n = 0;
        t->what = "table_count";
        CHECK_RC(t, digby_table_count(t->w, wh(t, tr), &n), DIGBY_OK);
        if (n != m->count)
            die(t, __LINE__, "table_count(%s) = %llu in write txn, model %lu",
                tree_names[tr], (unsigned long long)n, (unsigned long)m->count);
        break;
    }
    case OP_TOOBIG: {
        /* 4 GiB: refused before its bytes are read (64-bit only) */
        unsigned char *b = vbuf(t, 16);
        t->what = "put with too long key";
        memset(b, 'q', 16);
#if SIZE_MAX > 0xFFFFFFFFu
        CHECK_RC(t, digby_txn_put(t->w, wh(t, tr), b, (size_t)DIGBY_MAX_KEY_BYTES + 1, "v", 1, 0),
                 DIGBY_TOOBIG);
#endif
        break;
    }
    case OP_SAMEHANDLE:
        if (tr) {
            digby_table *h = NULL;
            t->what = "table_open twice";
            CHECK_RC(t, digby_table_open(t->w, tree_names[tr], 0, &h), DIGBY_OK);
            CHECK(t, h == wh(t, tr));
        }
        break;
    case OP_DROP:
        w_drop(t);
        break;
    case OP_RANGEDEL:
        w_range(t, tr, -1);
        break;
    case OP_SAVEPOINT:
        w_savepoint(t);
        break;
    case OP_ROLLBACK:
        w_sp_end(t, 1);
        break;
    case OP_RELEASE:
        w_sp_end(t, 0);
        break;
    }
}

/* ---- transactions, helpers, reopen --------------------------------------- */

static void end_snapshot(T *t)
{
    const char *saved = t->what;
    t->what = "snapshot isolation: old snapshot vs its model";
    check_state(t, t->snap, &t->sm, chance(t, 50));
    digby_txn_abort(t->snap);
    t->snap = NULL;
    t->what = saved;
}

static size_t txn_length(T *t)
{
    size_t r = below(t, 100);
    if (r < 30) return 1 + below(t, 8);
    if (r < 80) return 10 + below(t, 190);
    return 200 + below(t, 1800);
}

/* A transaction of ascending puts after a tree's last key: log mode's
   append path, and after two such commits in a row on a handle that does
   not sync, a transaction begun in copy-on-write mode (66_log_mode.c);
   with the key space's end taken, ascending puts from a random key. */
static void w_appends(T *t)
{
    int tr = (int)below(t, NTREES);
    size_t n = 128 + below(t, 128), k, i;
    if (tr && !t->cm.t[tr].exists) {
        w_create(t, tr);
        return;
    }
    k = (size_t)(m_last_upto(t, &t->cm.t[tr], (long)t->nkeys - 1) + 1);
    if (k + n > t->nkeys) k = below(t, t->nkeys - n);
    t->what = "ascending puts";
    for (i = 0; i < n && t->op < t->budget; i++, t->op++) {
        /* keys and values small enough for log mode's memtable */
        uint32_t vlen = (uint32_t)below(t, 48), vseed = (uint32_t)rnd(t);
        unsigned char *b = vbuf(t, vlen);
        if (t->keys[k + i].n > 64) continue;
        vfill(b, vlen, vseed);
        CHECK_RC(t, digby_txn_put(t->w, wh(t, tr), kptr(t, k + i), t->keys[k + i].n, b, vlen, 0),
                 DIGBY_OK);
        m_put(&t->cm.t[tr], k + i, vlen, vseed, t->txid);
        t->modified = 1;
    }
}

static void write_txn(T *t)
{
    size_t n, i;
    uint64_t snap_id = 0;
    int appends;
    t->txn_no++;
    t->what = "begin";
    if (!t->snap && chance(t, 25)) {
        CHECK_RC(t, digby_txn_begin(t->db, DIGBY_TXN_READONLY, &t->snap), DIGBY_OK);
        CHECK(t, SNAP_ID_OK(digby_txn_id(t->snap), t->last_txid));
        ms_copy(t, &t->sm, &t->com);
        t->snap_left = chance(t, 30) ? 2 + (int)below(t, 4) : 1;
        t->n_snap++;
    }
    if (t->snap) snap_id = digby_txn_id(t->snap);
    appends = t->appends_next || chance(t, 8);
    if (appends && chance(t, 50)) {
        /* log mode's append path needs an empty memtable */
        t->what = "digby_checkpoint";
        CHECK_RC(t, digby_checkpoint(t->db), DIGBY_OK);
    }
    CHECK_RC(t, digby_txn_begin(t->db, 0, &t->w), DIGBY_OK);
    t->txid = digby_txn_id(t->w);
    if (t->txid <= t->last_txid)
        die(t, __LINE__, "write txn id %llu not above last committed %llu",
            (unsigned long long)t->txid, (unsigned long long)t->last_txid);
    memset(t->h_open, 0, sizeof t->h_open);
    t->modified = 0;
    t->nsp = 0;
    t->sp_gone = 0;
    if (appends) {
        t->appends_next = chance(t, 70);
        w_appends(t);
    } else {
        for (n = txn_length(t), i = 0; i < n && t->op < t->budget; i++, t->op++) {
            if (t->phase_left-- == 0) {
                t->phase = !t->phase;
                t->phase_left = 5000 + below(t, 30000);
            }
            do_op(t);
        }
    }
    if (t->snap) {
        /* a few lookups in the old snapshot while the writer is live */
        int g;
        t->what = "snapshot lookups during write";
        CHECK(t, digby_txn_id(t->snap) == snap_id);
        for (g = 0; g < 4; g++) {
            int tr = (int)below(t, NTREES);
            size_t kn = gen_probe(t);
            digby_table *h = NULL;
            if (!t->sm.t[tr].exists) continue;
            if (tr) CHECK_RC(t, digby_table_open(t->snap, tree_names[tr], 0, &h),
                             DIGBY_OK);
            get_expect(t, t->snap, h, &t->sm.t[tr], t->kbuf, kn,
                       exact_index(t, t->kbuf, kn));
        }
    }
    if (chance(t, 85)) {
        uint64_t id;
        t->what = "commit";
        CHECK_RC(t, digby_txn_commit(t->w), DIGBY_OK);
        t->w = NULL;
        t->n_commits++;
        ms_copy(t, &t->com, &t->cm);
        t->what = "check after commit";
        id = check_committed(t, &t->com);
        if (t->modified && !SNAP_ID_OK(id, t->txid))
            die(t, __LINE__, "snapshot after commit of txn %llu has id %llu",
                (unsigned long long)t->txid, (unsigned long long)id);
        if (id < t->last_txid)
            die(t, __LINE__, "snapshot id went back from %llu to %llu",
                (unsigned long long)t->last_txid, (unsigned long long)id);
        t->last_txid = id;
    } else {
        uint64_t id;
        t->what = "abort";
        digby_txn_abort(t->w);
        t->w = NULL;
        t->n_aborts++;
        ms_copy(t, &t->cm, &t->com);
        t->what = "check after abort";
        id = check_committed(t, &t->com);
        if (!SNAP_ID_OK(id, t->last_txid))
            die(t, __LINE__, "snapshot after abort has id %llu, last commit %llu",
                (unsigned long long)id, (unsigned long long)t->last_txid);
    }
    if (t->snap && --t->snap_left <= 0) end_snapshot(t);
}

/* Auto-commit helpers on the global tree; each is its own commit. */
static void auto_ops(T *t)
{
    int n = 1 + (int)below(t, 4), i;
    mtree *m = &t->cm.t[0];
    t->n_auto++;
    for (i = 0; i < n && t->op < t->budget; i++, t->op++) {
        size_t k = pick_key(t), r = below(t, 3);
        if (r == 0) {
            uint32_t vlen = pick_vlen(t), vseed = (uint32_t)rnd(t);
            unsigned char *b = vbuf(t, vlen);
            uint64_t id, ver = 0;
            t->what = "digby_put";
            vfill(b, vlen, vseed);
            CHECK_RC(t, digby_put(t->db, kptr(t, k), t->keys[k].n, b, vlen), DIGBY_OK);
            CHECK_RC(t, digby_txn_begin(t->db, DIGBY_TXN_READONLY, &t->ro), DIGBY_OK);
            id = digby_txn_id(t->ro);
            /* the put's version: its commit's txid, which the snapshot
               includes; a log mode checkpoint that its commit set off
               may have published a newer one */
            {
                const void *got;
                size_t gl;
                CHECK_RC(t, digby_txn_get(t->ro, NULL, kptr(t, k), t->keys[k].n, &got, &gl,
                                          &ver),
                         DIGBY_OK);
            }
            digby_txn_abort(t->ro);
            t->ro = NULL;
            CHECK(t, id > t->last_txid);
            CHECK(t, ver > t->last_txid && ver <= id);
            t->last_txid = id;
            m_put(m, k, vlen, vseed, ver);
        } else if (r == 1) {
            int want = m->e[k].present ? DIGBY_OK : DIGBY_NOTFOUND;
            t->what = "digby_delete";
            CHECK_RC(t, digby_delete(t->db, kptr(t, k), t->keys[k].n), want);
            if (want == DIGBY_OK) {
                uint64_t id;
                m_del(m, k);
                CHECK_RC(t, digby_txn_begin(t->db, DIGBY_TXN_READONLY, &t->ro),
                         DIGBY_OK);
                id = digby_txn_id(t->ro);
                digby_txn_abort(t->ro);
                t->ro = NULL;
                CHECK(t, id > t->last_txid);
                t->last_txid = id;
            }
        } else {
            void *v = NULL;
            size_t vn = 0;
            uint64_t ver = 0;
            int rc;
            t->what = "digby_get";
            rc = digby_get(t->db, kptr(t, k), t->keys[k].n, &v, &vn,
                           chance(t, 80) ? &ver : NULL);
            CHECK_RC(t, rc, m->e[k].present ? DIGBY_OK : DIGBY_NOTFOUND);
            if (rc == DIGBY_OK) {
                CHECK(t, v != NULL);
                if (!vequal(t, v, vn, &m->e[k])) {
                    digby_free(t->db, v);
                    die(t, __LINE__, "digby_get value differs (%lu bytes, model %lu)",
                        (unsigned long)vn, (unsigned long)m->e[k].vlen);
                }
                digby_free(t->db, v);
                if (ver != 0 && ver != m->e[k].version)
                    die(t, __LINE__, "digby_get version %llu, model %llu",
                        (unsigned long long)ver,
                        (unsigned long long)m->e[k].version);
            }
        }
    }
    ms_copy(t, &t->com, &t->cm);
    t->what = "check after auto-commit helpers";
    CHECK(t, SNAP_ID_OK(check_committed(t, &t->com), t->last_txid));
}

/* A compaction in place between transactions (sometimes only its free
   tail given back): the committed state is unchanged, every tree checked
   against the model afterwards; an old snapshot, when one is held, is
   checked when it ends (end_snapshot), as always. */
static void compact_op(T *t)
{
    uint64_t id, bytes = 0;
    t->what = "digby_compact";
    t->op++;
    t->n_compacts++;
    CHECK_RC(t, digby_compact(t->db, chance(t, 25) ? DIGBY_COMPACT_TRUNCATE_ONLY : 0, &bytes),
             DIGBY_OK);
    t->calls++;
    CHECK(t, bytes > 0);
    t->what = "check after digby_compact";
    id = check_committed(t, &t->com);
    CHECK(t, id >= t->last_txid);
    t->last_txid = id;
}

/* A short read-only transaction: lookups, seeks, refused writes. */
static void ro_txn(T *t)
{
    int i, tr;
    digby_table *h = NULL;
    t->what = "read-only txn";
    CHECK_RC(t, digby_txn_begin(t->db, DIGBY_TXN_READONLY, &t->ro), DIGBY_OK);
    CHECK(t, SNAP_ID_OK(digby_txn_id(t->ro), t->last_txid));
    for (i = 0; i < 10; i++) {
        size_t kn;
        tr = (int)below(t, NTREES);
        if (!t->com.t[tr].exists) continue;
        h = NULL;
        if (tr) CHECK_RC(t, digby_table_open(t->ro, tree_names[tr], 0, &h), DIGBY_OK);
        if (chance(t, 50)) {
            kn = gen_probe(t);
            get_expect(t, t->ro, h, &t->com.t[tr], t->kbuf, kn,
                       exact_index(t, t->kbuf, kn));
        } else {
            w_seek(t, tr, t->ro, h, &t->com.t[tr]);
        }
    }
    t->what = "read-only txn: refused writes";
    CHECK_RC(t, digby_txn_put(t->ro, NULL, "k", 1, "v", 1, 0), DIGBY_READONLY);
    CHECK_RC(t, digby_table_open(t->ro, "never_created", DIGBY_TABLE_CREATE, &h),
             DIGBY_READONLY);
    CHECK_RC(t, digby_txn_commit(t->ro), DIGBY_OK);
    t->ro = NULL;
}

/* digby_stat agrees with the committed model. */
static void stat_check(T *t)
{
    digby_stats st;
    uint64_t tables = 0, tentries = 0;
    int i;
    memset(&st, 0, sizeof st);
    CHECK_RC(t, digby_stat(t->db, &st), DIGBY_OK);
    if (st.checkpoint_spilled + st.checkpoint_parts > t->spilled_handle) {
        t->spilled += st.checkpoint_spilled + st.checkpoint_parts - t->spilled_handle;
        t->spilled_handle = st.checkpoint_spilled + st.checkpoint_parts;
    }
    for (i = 1; i < NTREES; i++)
        if (t->com.t[i].exists) {
            tables++;
            tentries += t->com.t[i].count;
        }
    if (st.page_size != t->c->page_size || st.entries != t->com.t[0].count ||
        st.tables != tables || st.table_entries != tentries ||
        !SNAP_ID_OK(st.last_txid, t->last_txid) || st.meta_pages != 2)
        die(t, __LINE__, "digby_stat: page_size %lu entries %llu tables %llu "
            "table_entries %llu last_txid %llu meta_pages %llu; model: %lu %lu "
            "%llu %llu %llu 2", (unsigned long)st.page_size,
            (unsigned long long)st.entries, (unsigned long long)st.tables,
            (unsigned long long)st.table_entries, (unsigned long long)st.last_txid,
            (unsigned long long)st.meta_pages, (unsigned long)t->c->page_size,
            (unsigned long)t->com.t[0].count, (unsigned long long)tables,
            (unsigned long long)tentries, (unsigned long long)t->last_txid);
}

static void db_open(T *t, int page_size_zero)
{
    digby_options o = t->opts;
    if (page_size_zero) o.page_size = 0;
    t->spilled_handle = 0;
    CHECK_RC(t, digby_open(t->path, &o, &t->db), DIGBY_OK);
    CHECK(t, t->db != NULL);
}

static void reopen(T *t)
{
    uint64_t id;
    t->what = "reopen";
    t->n_reopens++;
    if (t->snap) {
        CHECK_RC(t, digby_close(t->db), DIGBY_BUSY);
        end_snapshot(t);
    }
#ifdef MODEL_MEMTABLE_BYTES
    {
        /* the handle's spill count, before it goes */
        digby_stats st;
        CHECK_RC(t, digby_stat(t->db, &st), DIGBY_OK);
        if (st.checkpoint_spilled + st.checkpoint_parts > t->spilled_handle)
            t->spilled += st.checkpoint_spilled + st.checkpoint_parts - t->spilled_handle;
    }
#endif
    CHECK_RC(t, digby_close(t->db), DIGBY_OK);
    t->db = NULL;
    db_open(t, chance(t, 50));
    CHECK(t, digby_max_key_bytes(t->db) == t->max_key);
    t->what = "digby_check after reopen";
    run_digby_check(t);
    t->what = "check after reopen";
    id = check_committed(t, &t->com);
    if (!SNAP_ID_OK(id, t->last_txid))
        die(t, __LINE__, "after reopen the snapshot id is %llu, last commit %llu",
            (unsigned long long)id, (unsigned long long)t->last_txid);
    t->what = "digby_stat after reopen";
    stat_check(t);
}

/* ---- test driver ------------------------------------------------------------ */

static double env_double(const char *name, double dflt)
{
    const char *s = getenv(name);
    return s && *s ? strtod(s, NULL) : dflt;
}

static uint64_t env_seed(void)
{
    const char *s = getenv("DIGBY_TEST_SEED");
    return s && *s ? (uint64_t)strtoull(s, NULL, 0) : DEFAULT_SEED;
}

/* Built with AddressSanitizer (UNDER_ASAN)?  The env variable says so too. */
static int under_asan(void)
{
    const char *asan = getenv("DIGBY_TEST_ASAN");
    return UNDER_ASAN || (asan && *asan);
}

static uint64_t ops_per_config(void)
{
    double total = BASE_OPS * env_double("DIGBY_TEST_SCALE", 1.0);
    if (under_asan()) total /= 5.0;
    if (total < NCFG) total = NCFG;
    return (uint64_t)(total / (double)NCFG + 0.999);
}

static int setup(void **state)
{
    const cfg *c = (const cfg *)*state;
    T *t = (T *)calloc(1, sizeof(T));
    size_t i;
    if (!t) return -1;
    t->c = c;
    t->seed = env_seed();
    t->rng = t->seed;
    for (i = 0; i < NCFG; i++)
        if (&cfgs[i] == c) t->rng ^= (uint64_t)(i + 1) * 0xA24BAED4963EE407ULL;
    (void)splitmix(&t->rng);
    t->budget = ops_per_config();
    t->phase = PHASE_GROW;
    t->phase_left = 5000 + below(t, 30000);
    if (c->posix) {
        const char *dir = getenv("DIGBY_TEST_DIR");
        t->vfs = digby_vfs_posix();
        snprintf(t->path, sizeof t->path, "%s/digby_model_%ld_%s.db",
                 dir && *dir ? dir : "/tmp", (long)getpid(), c->name);
        remove(t->path);
    } else {
        if (digby_vfs_mem_create(NULL, &t->memvfs) != DIGBY_OK) {
            free(t);
            return -1;
        }
        t->vfs = t->memvfs;
        snprintf(t->path, sizeof t->path, "model.db");
    }
    t->opts.page_size = c->page_size;
    t->opts.cache_bytes = c->cache_bytes;
    t->opts.flags = c->flags;
    t->opts.compression = c->compression;
    t->opts.map_bytes = c->map_bytes;
#ifdef MODEL_MEMTABLE_BYTES
    /* every other configuration: a small memtable, so that checkpoints
       come often and spill their leaves (checked at the end) */
    if ((c - cfgs) % 2 == 0) t->opts.memtable_bytes = MODEL_MEMTABLE_BYTES;
#endif
    if (c->encrypted) {
        static const uint8_t key[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
        t->opts.key = key;
        t->opts.key_bytes = sizeof key;
    }
    t->opts.vfs = t->vfs;
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    T *t = (T *)*state;
    int i, bad = 0;
    if (t->cur) digby_cursor_close(t->cur);
    if (t->w) digby_txn_abort(t->w);
    if (t->ro) digby_txn_abort(t->ro);
    if (t->snap) digby_txn_abort(t->snap);
    if (t->db) {
        digby_check_report rep;
        memset(&rep, 0, sizeof rep);
        if (digby_check(t->db, &rep) != DIGBY_OK) {
            print_error("teardown: digby_check: page %llu: %s\n",
                        (unsigned long long)rep.bad_pgno, rep.message);
            bad = 1;
        }
        if (digby_close(t->db) != DIGBY_OK) bad = 1;
    }
    if (t->memvfs) digby_vfs_mem_destroy(t->memvfs);
    if (t->c->posix) remove(t->path);
    for (i = 0; i < (int)t->nkeys; i++) free(t->keys[i].p);
    free(t->keys);
    ms_free(&t->cm);
    ms_free(&t->com);
    ms_free(&t->sm);
    for (i = 0; i < MODEL_SAVEPOINTS; i++) ms_free(&t->spm[i]);
    free(t->vbuf);
    free(t->kbuf);
    free(t);
    return bad ? -1 : 0;
}

static void test_model(void **state)
{
    T *t = (T *)*state;
    const char *only = getenv("DIGBY_TEST_CONFIG");
    if (t->c->posix && !t->vfs) skip();
    if (only && *only && strcmp(only, t->c->name) != 0) skip();
#ifdef DIGBY_CRYPTO_OPENSSL
    /* the OpenSSL build (make test's openssl-model) changes only the
       crypto backend: only an encrypted configuration says more */
    if (!t->c->encrypted) skip();
#endif
    print_message("model %s: seed=0x%016llx ops=%llu\n", t->c->name,
                  (unsigned long long)t->seed, (unsigned long long)t->budget);
    t->what = "first open";
    db_open(t, 0);
    t->max_key = digby_max_key_bytes(t->db);
    CHECK(t, t->max_key >= 1);
    t->key_limit = t->max_key + 600;
    t->kbuf = (unsigned char *)xmalloc(t, t->key_limit + 16);
    gen_keys(t);
    ms_init(t, &t->cm);
    ms_init(t, &t->com);
    ms_init(t, &t->sm);
    run_digby_check(t);
    t->last_txid = check_committed(t, &t->com);

    while (t->op < t->budget) {
        size_t r = below(t, 1000);
        if (r < 20) reopen(t);
        else if (r < 35) auto_ops(t);
        else if (r < 50) ro_txn(t);
        else if (r < 55) compact_op(t);
        else write_txn(t);
    }
    if (t->snap) end_snapshot(t);
    reopen(t);
    t->what = "final digby_check";
    run_digby_check(t);
    /* a map configuration must have outgrown its first map (readers
       holding snapshots then keep reading the older one) */
    if (t->c->map_bytes && strstr(digby_version(), " mmap")) CHECK(t, t->map_grew);
#ifdef MODEL_MEMTABLE_BYTES
    total_spilled += t->spilled;
    print_message("model %s: %llu leaves spilled and parts committed by checkpoints\n", t->c->name,
                  (unsigned long long)t->spilled);
#endif
    print_message("model %s: %llu ops, %llu API calls, %llu txns (%llu commits, "
                  "%llu aborts), %llu reopens, %llu full checks, %llu snapshots, "
                  "%llu helper bursts, %llu creates, %llu drops, %llu large "
                  "values, %llu range deletes (%llu keys), %lu keys (max %lu bytes)\n",
                  t->c->name, (unsigned long long)t->op,
                  (unsigned long long)t->calls, (unsigned long long)t->txn_no,
                  (unsigned long long)t->n_commits,
                  (unsigned long long)t->n_aborts,
                  (unsigned long long)t->n_reopens,
                  (unsigned long long)t->n_checks, (unsigned long long)t->n_snap,
                  (unsigned long long)t->n_auto,
                  (unsigned long long)t->n_creates,
                  (unsigned long long)t->n_drops,
                  (unsigned long long)t->n_large, (unsigned long long)t->n_ranges,
                  (unsigned long long)t->n_range_keys, (unsigned long)t->nkeys,
                  (unsigned long)t->max_key);
    print_message("model %s: %llu savepoints, %llu rollbacks to one, %llu releases, "
                  "%llu compactions\n",
                  t->c->name, (unsigned long long)t->n_sp,
                  (unsigned long long)t->n_sp_rollbacks, (unsigned long long)t->n_sp_releases,
                  (unsigned long long)t->n_compacts);
    total_ops += t->op;
    total_calls += t->calls;
    total_commits += t->n_commits;
    total_checks += t->n_checks;
}

/* A table name of the full DIGBY_MAX_TABLE_NAME bytes works at every page
   size (the contract says 1..255), and survives a reopen. */
#define LT_OK(call)                                                           \
    do {                                                                      \
        int rc_ = (call);                                                     \
        if (rc_ != DIGBY_OK)                                                  \
            fail_msg("page size %u, %d-byte table name: %s returned %s",     \
                     (unsigned)sizes[i], DIGBY_MAX_TABLE_NAME, #call,         \
                     digby_strerror(rc_));                                    \
    } while (0)

static void test_long_table_name(void **state)
{
    static const uint32_t sizes[3] = {512, 4096, 65536};
    char name[DIGBY_MAX_TABLE_NAME + 2];
    int i, bad = 0;
    (void)state;
    memset(name, 'n', DIGBY_MAX_TABLE_NAME);
    name[DIGBY_MAX_TABLE_NAME] = 0;
    for (i = 0; i < 3; i++) {
        digby_vfs *vfs = NULL;
        digby_options o;
        digby_db *db = NULL;
        digby_txn *txn = NULL;
        digby_table *tb = NULL;
        digby_check_report rep;
        const void *v = NULL;
        size_t vn = 0;
        memset(&o, 0, sizeof o);
        LT_OK(digby_vfs_mem_create(NULL, &vfs));
        o.vfs = vfs;
        o.page_size = sizes[i];
        LT_OK(digby_open("long.db", &o, &db));
        if (digby_max_key_bytes(db) < DIGBY_MAX_TABLE_NAME) {
            /* a table name is a catalog key: small pages cap it at the key
               limit (94 bytes at 512); longer is DIGBY_TOOBIG, and a name
               of exactly the limit works */
            size_t lim = digby_max_key_bytes(db);
            LT_OK(digby_txn_begin(db, 0, &txn));
            assert_int_equal(digby_table_open(txn, name, DIGBY_TABLE_CREATE, &tb),
                             DIGBY_TOOBIG);
            name[lim] = 0;
            LT_OK(digby_table_open(txn, name, DIGBY_TABLE_CREATE, &tb));
            LT_OK(digby_txn_put(txn, tb, "k", 1, "v", 1, 0));
            LT_OK(digby_txn_commit(txn));
            LT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &txn));
            LT_OK(digby_table_open(txn, name, 0, &tb));
            LT_OK(digby_txn_get(txn, tb, "k", 1, &v, &vn, NULL));
            assert_int_equal(vn, 1);
            digby_txn_abort(txn);
            memset(&rep, 0, sizeof rep);
            LT_OK(digby_check(db, &rep));
            name[lim] = 'n';
            LT_OK(digby_close(db));
            digby_vfs_mem_destroy(vfs);
            continue;
        }
        LT_OK(digby_txn_begin(db, 0, &txn));
        LT_OK(digby_table_open(txn, name, DIGBY_TABLE_CREATE, &tb));
        LT_OK(digby_txn_put(txn, tb, "k", 1, "v", 1, 0));
        /* 256 bytes is one too many */
        name[DIGBY_MAX_TABLE_NAME] = 'n';
        name[DIGBY_MAX_TABLE_NAME + 1] = 0;
        assert_int_not_equal(digby_table_open(txn, name, DIGBY_TABLE_CREATE, &tb),
                             DIGBY_OK);
        name[DIGBY_MAX_TABLE_NAME] = 0;
        digby_txn_abort(txn);
        /* the abort above discarded it; do it again and commit */
        LT_OK(digby_txn_begin(db, 0, &txn));
        LT_OK(digby_table_open(txn, name, DIGBY_TABLE_CREATE, &tb));
        LT_OK(digby_txn_put(txn, tb, "k", 1, "v", 1, 0));
        LT_OK(digby_txn_commit(txn));
        LT_OK(digby_close(db));
        db = NULL;
        LT_OK(digby_open("long.db", &o, &db));
        memset(&rep, 0, sizeof rep);
        if (digby_check(db, &rep) != DIGBY_OK) {
            /* reported at the end, after cleaning up */
            print_error("page size %u, %d-byte table name: digby_check: page "
                        "%llu: %s\n", (unsigned)sizes[i], DIGBY_MAX_TABLE_NAME,
                        (unsigned long long)rep.bad_pgno, rep.message);
            bad++;
        }
        LT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &txn));
        LT_OK(digby_table_open(txn, name, 0, &tb));
        LT_OK(digby_txn_get(txn, tb, "k", 1, &v, &vn, NULL));
        assert_int_equal(vn, 1);
        assert_memory_equal(v, "v", 1);
        digby_txn_abort(txn);
        LT_OK(digby_close(db));
        digby_vfs_mem_destroy(vfs);
    }
    if (bad) fail_msg("digby_check failed for %d page size(s)", bad);
}

int main(void)
{
    struct CMUnitTest tests[NCFG + 1];
    size_t i;
    int rc;
    print_message("model: seed=0x%016llx (set DIGBY_TEST_SEED to change), "
                  "%llu ops per configuration\n",
                  (unsigned long long)env_seed(),
                  (unsigned long long)ops_per_config());
    for (i = 0; i < NCFG; i++) {
        struct CMUnitTest u =
            cmocka_unit_test_prestate_setup_teardown(test_model, setup, teardown,
                                                     &cfgs[i]);
        u.name = cfgs[i].name;
        tests[i] = u;
    }
    {
        struct CMUnitTest u = cmocka_unit_test(test_long_table_name);
        tests[NCFG] = u;
    }
    rc = _cmocka_run_group_tests("model", tests, NCFG + 1, NULL, NULL);
#ifdef MODEL_MEMTABLE_BYTES
    /* checkpoints must have spilled leaves or committed in parts
       somewhere, or those paths went untested */
    print_message("model: %llu leaves spilled and parts committed by checkpoints\n",
                  (unsigned long long)total_spilled);
    if (total_spilled == 0) {
        print_error("model: no checkpoint spilled a leaf or came in parts\n");
        rc++;
    }
#endif
    print_message("model: total %llu ops, %llu API calls, %llu commits, %llu "
                  "full checks; seed=0x%016llx\n",
                  (unsigned long long)total_ops, (unsigned long long)total_calls,
                  (unsigned long long)total_commits,
                  (unsigned long long)total_checks,
                  (unsigned long long)env_seed());
    /* make torture: a row for the summary table (tests/torture/faults.mk
       sets DIGBY_TORTURE_OUT); rc counts the configurations that diverged */
    if (getenv("DIGBY_TORTURE_OUT")) {
        char path[1024];
        FILE *f;
        snprintf(path, sizeof path, "%s/model.txt", getenv("DIGBY_TORTURE_OUT"));
        f = fopen(path, "w");
        if (f) {
            fprintf(f, "| model check (tests/model.c, DIGBY_TEST_SCALE=%s, seed 0x%016llx; "
                    "%d configurations, snapshots held across commits) | %llu operations "
                    "checked (%llu API calls, %llu commits, %llu full checks) | %d "
                    "divergences |\n",
                    getenv("DIGBY_TEST_SCALE") ? getenv("DIGBY_TEST_SCALE") : "1",
                    (unsigned long long)env_seed(), (int)NCFG,
                    (unsigned long long)total_ops, (unsigned long long)total_calls,
                    (unsigned long long)total_commits, (unsigned long long)total_checks, rc);
            fclose(f);
        }
    }
    return rc;
}
