/* tests/crypto.c -- encrypted databases (FORMAT.md section 10).

   - a known plaintext (keys, values inline and in overflow pages, table
     names) appears nowhere in an encrypted file, and does in a plain one;
   - a wrong key, no key, the other kind of key, and a key for a plain file
     are DIGBY_WRONGKEY, and leave the file untouched;
   - every single-bit flip of a small encrypted file is detected: open,
     reads or digby_check fail, or open falls back to the previous commit;
     a flip is never read as data, and the only flips that change nothing
     are in the older meta page or in free pages;
   - swapping two pages, copying a page from another file (same key and
     content, or a byte copy of the same file that went on), putting back
     an older version of a page, editing the clear header and truncating
     the file are detected;
   - digby_change_passphrase and digby_rekey (with a cipher change, large
     keys and compressed items) survive a power cut at every write and
     sync: every crash state (nothing unsynced kept, all kept, the last
     write torn) opens, under the old or the new key, with exactly the same
     content, checks clean and takes a commit; after they return only the
     new key opens the file;
   - a random workload (puts, overwrites, deletes, overflow values, large
     keys, lz4-compressed items, three trees, aborts, reopens, rekeys,
     passphrase changes, automatic key rotation) matches an in-memory
     reference after every commit;
   - readers in four threads decrypt side by side while a writer commits;
   - no nonce repeats over every page written, across aborts, reopens and
     a byte copy of the file written on by both copies;
   - the commit hook hands out each commit's id, which exposes a file
     rolled back as a whole.

   Files live in an in-memory test VFS that can cut the power at the n-th
   write or sync and record every page written.  Every test that opens a
   database runs digby_check() clean on it.  $DIGBY_TEST_SCALE multiplies
   the random workload. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define DIGBY_IMPLEMENTATION
#include "digby.h"

#define WRONG 1000 /* compare(): the database holds other data */
#define TEST_NAME "crypto"
#define TEST_RC_NAMES case WRONG: return "WRONG DATA";
#include "harness.h" /* rc_name, ASSERT_RC, check_passes, test_scale, xmalloc */

#include <pthread.h>

/* ---- helpers ------------------------------------------------------------ */

static int long_keys;   /* some keys are large keys (overflow items) */
static int compress_on; /* new databases compress large items (lz4) */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static const uint8_t key16[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t key32[32] = {
    0x60, 0x3d, 0xeb, 0x10, 0x15, 0xca, 0x71, 0xbe, 0x2b, 0x73, 0xae, 0xf0, 0x85, 0x7d, 0x77, 0x81,
    0x1f, 0x35, 0x2c, 0x07, 0x3b, 0x61, 0x08, 0xd7, 0x2d, 0x98, 0x10, 0xa3, 0x09, 0x14, 0xdf, 0xf4};
static const uint8_t other32[32] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
                                    9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};

/* ---- the test VFS: images in memory, power cuts, a record of nonces ------- */

#define MAX_FILES 4
#define SECTOR 512u

typedef struct img {
    unsigned char *p;
    size_t n, cap;
} img;

static void img_resize(img *m, size_t n)
{
    if (n > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        unsigned char *p;
        while (cap < n) cap *= 2;
        p = (unsigned char *)realloc(m->p, cap);
        assert_non_null(p);
        m->p = p;
        m->cap = cap;
    }
    if (n > m->n) memset(m->p + m->n, 0, n - m->n);
    m->n = n;
}

static void img_write(img *m, uint64_t off, const void *buf, size_t len)
{
    if (off + len > m->n) img_resize(m, (size_t)(off + len));
    memcpy(m->p + off, buf, len);
}

static void img_set(img *m, const unsigned char *p, size_t n)
{
    m->n = 0;
    img_resize(m, n);
    if (n) memcpy(m->p, p, n);
}

static void img_free(img *m)
{
    free(m->p);
    memset(m, 0, sizeof(*m));
}

typedef struct op {
    uint64_t off;    /* write offset, or new size */
    size_t len;
    unsigned char *data; /* NULL: a truncate */
} op;

typedef struct tfile {
    char path[64];
    int used;
    img cur;         /* what reads see */
    img dur;         /* what survives a power cut */
    op *ops;         /* writes and truncates since the last sync */
    size_t nops, cap_ops;
} tfile;

typedef struct tvfs {
    digby_vfs vfs;
    tfile files[MAX_FILES];
    uint64_t calls;          /* writes, syncs, truncates */
    uint64_t cut_at;         /* the refused call; UINT64_MAX: never */
    int cut;
    /* nonce record: page size and every nonce written */
    uint32_t rec_ps;
    unsigned char *nonces;
    size_t nnonces, cap_nonces;
} tvfs;

typedef struct thandle {
    tvfs *v;
    tfile *f;
} thandle;

static thandle *TH(digby_file *f) { return (thandle *)(void *)f; }

static int tv_refuse(tvfs *v)
{
    if (v->cut) return 1;
    if (v->calls++ == v->cut_at) { v->cut = 1; return 1; }
    return 0;
}

static int tv_open(const digby_vfs *vfs, const char *path, unsigned flags, digby_file **out)
{
    tvfs *v = (tvfs *)vfs->ctx;
    thandle *h;
    int i, freei = -1;
    tfile *f = NULL;
    if (v->cut) return DIGBY_IOERR;
    for (i = 0; i < MAX_FILES; i++) {
        if (v->files[i].used && strcmp(v->files[i].path, path) == 0) f = &v->files[i];
        else if (!v->files[i].used && freei < 0) freei = i;
    }
    if (!f) {
        if (!(flags & DIGBY_VFS_CREATE) || freei < 0) return DIGBY_CANTOPEN;
        f = &v->files[freei];
        memset(f, 0, sizeof(*f));
        f->used = 1;
        snprintf(f->path, sizeof(f->path), "%s", path);
    }
    h = (thandle *)xmalloc(sizeof(*h));
    h->v = v;
    h->f = f;
    *out = (digby_file *)(void *)h;
    return DIGBY_OK;
}

static int tv_read(digby_file *fh, uint64_t off, void *buf, size_t len, size_t *got)
{
    thandle *h = TH(fh);
    size_t n = 0;
    if (h->v->cut) return DIGBY_IOERR;
    if (off < h->f->cur.n) n = DIGBY__MIN(len, (size_t)(h->f->cur.n - off));
    if (n) memcpy(buf, h->f->cur.p + off, n);
    *got = n;
    return DIGBY_OK;
}

static void tv_record(tvfs *v, uint64_t off, const unsigned char *buf, size_t len)
{
    uint32_t ps = v->rec_ps;
    size_t i;
    if (!ps || off % ps || len % ps) return;
    for (i = 0; i < len; i += ps) {
        if (v->nnonces == v->cap_nonces) {
            v->cap_nonces = v->cap_nonces ? 2 * v->cap_nonces : 4096;
            v->nonces = (unsigned char *)realloc(v->nonces, v->cap_nonces * 12);
            assert_non_null(v->nonces);
        }
        memcpy(v->nonces + 12 * v->nnonces++, buf + i + ps - 28, 12);
    }
}

/* A new entry at the end of f's log of unsynced writes and truncates. */
static op *tv_new_op(tfile *f)
{
    if (f->nops == f->cap_ops) {
        f->cap_ops = f->cap_ops ? 2 * f->cap_ops : 64;
        f->ops = (op *)realloc(f->ops, f->cap_ops * sizeof(op));
        assert_non_null(f->ops);
    }
    return &f->ops[f->nops++];
}

static int tv_write(digby_file *fh, uint64_t off, const void *buf, size_t len)
{
    thandle *h = TH(fh);
    tfile *f = h->f;
    op *o;
    if (tv_refuse(h->v)) return DIGBY_IOERR;
    tv_record(h->v, off, (const unsigned char *)buf, len);
    img_write(&f->cur, off, buf, len);
    o = tv_new_op(f);
    o->off = off;
    o->len = len;
    o->data = (unsigned char *)xmalloc(len);
    memcpy(o->data, buf, len);
    return DIGBY_OK;
}

static void tv_drop_ops(tfile *f)
{
    size_t i;
    for (i = 0; i < f->nops; i++) free(f->ops[i].data);
    f->nops = 0;
}

static int tv_sync(digby_file *fh)
{
    thandle *h = TH(fh);
    if (tv_refuse(h->v)) return DIGBY_IOERR;
    img_set(&h->f->dur, h->f->cur.p, h->f->cur.n);
    tv_drop_ops(h->f);
    return DIGBY_OK;
}

static int tv_size(digby_file *fh, uint64_t *size)
{
    thandle *h = TH(fh);
    if (h->v->cut) return DIGBY_IOERR;
    *size = h->f->cur.n;
    return DIGBY_OK;
}

static int tv_truncate(digby_file *fh, uint64_t size)
{
    thandle *h = TH(fh);
    tfile *f = h->f;
    op *o;
    if (tv_refuse(h->v)) return DIGBY_IOERR;
    if (size < f->cur.n) f->cur.n = (size_t)size;
    else img_resize(&f->cur, (size_t)size);
    o = tv_new_op(f);
    o->off = size;
    o->len = 0;
    o->data = NULL;
    return DIGBY_OK;
}

static int tv_lock(digby_file *fh, int mode)
{
    (void)fh;
    (void)mode;
    return DIGBY_OK;
}

static void tv_close(digby_file *fh)
{
    free(TH(fh));
}

static tvfs *tv_new(void)
{
    tvfs *v = (tvfs *)xmalloc(sizeof(*v));
    memset(v, 0, sizeof(*v));
    TEST_VFS_INIT(v->vfs, v, tv);
    v->cut_at = UINT64_MAX;
    return v;
}

static tfile *tv_file(tvfs *v, const char *path)
{
    int i;
    for (i = 0; i < MAX_FILES; i++)
        if (v->files[i].used && strcmp(v->files[i].path, path) == 0) return &v->files[i];
    for (i = 0; i < MAX_FILES; i++)
        if (!v->files[i].used) {
            tfile *f = &v->files[i];
            memset(f, 0, sizeof(*f));
            f->used = 1;
            snprintf(f->path, sizeof(f->path), "%s", path);
            return f;
        }
    fail();
    return NULL;
}

/* Set a file's image (durable, nothing pending). */
static void tv_put(tvfs *v, const char *path, const unsigned char *p, size_t n)
{
    tfile *f = tv_file(v, path);
    img_set(&f->cur, p, n);
    img_set(&f->dur, p, n);
    tv_drop_ops(f);
}

/* A copy of a file's current image. */
static unsigned char *tv_get(tvfs *v, const char *path, size_t *n)
{
    tfile *f = tv_file(v, path);
    unsigned char *p = (unsigned char *)xmalloc(f->cur.n);
    memcpy(p, f->cur.p, f->cur.n);
    *n = f->cur.n;
    return p;
}

static void tv_free(tvfs *v)
{
    int i;
    for (i = 0; i < MAX_FILES; i++) {
        tv_drop_ops(&v->files[i]);
        free(v->files[i].ops);
        img_free(&v->files[i].cur);
        img_free(&v->files[i].dur);
    }
    free(v->nonces);
    free(v);
}

/* ---- opening ------------------------------------------------------------- */

typedef struct keyspec {
    const char *pass;
    const uint8_t *key;
    size_t key_bytes;
} keyspec;

static const keyspec K_PASS = {"correct horse battery staple", NULL, 0};
static const keyspec K_PASS2 = {"a new passphrase", NULL, 0};
static const keyspec K_RAW16 = {NULL, key16, 16};
static const keyspec K_RAW32 = {NULL, key32, 32};
static const keyspec K_NONE = {NULL, NULL, 0};

static digby_options opts_for(tvfs *v, uint32_t ps, keyspec k)
{
    digby_options o;
    memset(&o, 0, sizeof(o));
    o.page_size = ps;
    o.vfs = v ? &v->vfs : NULL;
    o.passphrase = k.pass;
    o.key = k.key;
    o.key_bytes = k.key_bytes;
    o.kdf_iterations = 16; /* tests: cheap; the default is 600000 */
    o.compression = compress_on ? DIGBY_COMPRESS_LZ4 : DIGBY_COMPRESS_NONE;
    o.cache_bytes = 64 * 1024;
    return o;
}

static int open_db(tvfs *v, const char *path, uint32_t ps, keyspec k, digby_db **db)
{
    digby_options o = opts_for(v, ps, k);
    return digby_open(path, &o, db);
}

static void close_db(digby_db *db)
{
    check_passes(db);
    ASSERT_OK(digby_close(db));
}

/* ---- the reference model ----------------------------------------------------- */

#define NT 3      /* the global tree and two tables */
#define NK 160    /* keys per tree */

static const char *const tnames[NT] = {NULL, "alpha", "beta.table"};

typedef struct ref {
    unsigned char *val[NT][NK];
    size_t len[NT][NK];
    int present[NT][NK];
} ref;

#define KB 1100 /* room for a key */

/* Key i: "key-%05u", and with long_keys every 11th one 1000 bytes long. */
static size_t key_of(unsigned i, char *buf)
{
    size_t n = (size_t)snprintf(buf, KB, "key-%05u", i);
    if (long_keys && i % 11 == 0) {
        memset(buf + n, 'L', 1000 - n);
        n = 1000;
    }
    return n;
}

static void ref_free(ref *r)
{
    unsigned t, i;
    for (t = 0; t < NT; t++)
        for (i = 0; i < NK; i++) free(r->val[t][i]);
    memset(r, 0, sizeof(*r));
}

static void ref_copy(ref *dst, const ref *src)
{
    unsigned t, i;
    ref_free(dst);
    for (t = 0; t < NT; t++)
        for (i = 0; i < NK; i++) {
            dst->present[t][i] = src->present[t][i];
            dst->len[t][i] = src->len[t][i];
            if (src->present[t][i]) {
                dst->val[t][i] = (unsigned char *)xmalloc(src->len[t][i]);
                memcpy(dst->val[t][i], src->val[t][i], src->len[t][i]);
            }
        }
}

static void ref_put(ref *r, unsigned t, unsigned i, const unsigned char *v, size_t n)
{
    free(r->val[t][i]);
    r->val[t][i] = (unsigned char *)xmalloc(n);
    memcpy(r->val[t][i], v, n);
    r->len[t][i] = n;
    r->present[t][i] = 1;
}

static void ref_del(ref *r, unsigned t, unsigned i)
{
    free(r->val[t][i]);
    r->val[t][i] = NULL;
    r->present[t][i] = 0;
    r->len[t][i] = 0;
}

/* Value bytes: a function of the seed; n up to 3000 (overflow pages). */
static size_t make_val(uint64_t seed, unsigned char *buf, size_t max)
{
    uint64_t s = seed;
    size_t n = (size_t)(splitmix(&s) % 7 == 0 ? 600 + splitmix(&s) % 2400 : splitmix(&s) % 60);
    size_t i;
    if (n > max) n = max;
    for (i = 0; i < n; i++) buf[i] = (unsigned char)('a' + splitmix(&s) % 26);
    if (n >= 600 && splitmix(&s) % 2) /* compressible */
        for (i = 24; i < n; i++) buf[i] = buf[i % 24];
    return n;
}

static int compare_gets = 1; /* compare() also gets every key */

/* The database against r, in a fresh read-only transaction: a forward scan
   of every tree and a get of every key.  DIGBY_OK, WRONG (other data), or
   the error met. */
static int compare(digby_db *db, const ref *r)
{
    digby_txn *txn;
    unsigned t;
    int rc = digby_txn_begin(db, DIGBY_TXN_READONLY, &txn);
    if (rc) return rc;
    for (t = 0; t < NT && rc == DIGBY_OK; t++) {
        digby_table *tab = NULL;
        digby_cursor *c;
        unsigned i = 0;
        if (tnames[t]) {
            rc = digby_table_open(txn, tnames[t], 0, &tab);
            if (rc == DIGBY_NOTFOUND) { /* only before the first write */
                for (i = 0; i < NK && !r->present[t][i]; i++) {}
                rc = i == NK ? DIGBY_OK : WRONG;
                continue;
            }
            if (rc) break;
        }
        rc = digby_cursor_open(txn, tab, &c);
        if (rc) break;
        for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
            const void *k, *v;
            size_t kn, vn;
            char kb[KB];
            size_t kl;
            rc = digby_cursor_get(c, &k, &kn, &v, &vn, NULL);
            if (rc) break;
            while (i < NK && !r->present[t][i]) i++;
            if (i == NK) { rc = WRONG; break; }
            kl = key_of(i, kb);
            if (kn != kl || memcmp(k, kb, kl) != 0 || vn != r->len[t][i] ||
                (vn && memcmp(v, r->val[t][i], vn) != 0)) {
                rc = WRONG;
                break;
            }
            i++;
        }
        digby_cursor_close(c);
        if (rc == DIGBY_NOTFOUND) {
            rc = DIGBY_OK;
            while (i < NK && !r->present[t][i]) i++;
            if (i != NK) rc = WRONG;
        }
        for (i = 0; i < NK && rc == DIGBY_OK && compare_gets; i++) {
            const void *v;
            size_t vn, kl;
            char kb[KB];
            kl = key_of(i, kb);
            rc = digby_txn_get(txn, tab, kb, kl, &v, &vn, NULL);
            if (rc == DIGBY_NOTFOUND) rc = r->present[t][i] ? WRONG : DIGBY_OK;
            else if (rc == DIGBY_OK && (!r->present[t][i] || vn != r->len[t][i] ||
                                        (vn && memcmp(v, r->val[t][i], vn) != 0)))
                rc = WRONG;
        }
    }
    digby_txn_abort(txn);
    return rc;
}

/* One transaction of random changes to db and r (tables created first). */
static void random_txn(digby_db *db, ref *r, uint64_t *rng, unsigned nops, int commit)
{
    digby_txn *txn;
    digby_table *tabs[NT];
    ref shadow;
    unsigned t, k;
    unsigned char *buf = (unsigned char *)xmalloc(4096);
    memset(&shadow, 0, sizeof(shadow));
    if (!commit) ref_copy(&shadow, r);
    ASSERT_OK(digby_txn_begin(db, 0, &txn));
    tabs[0] = NULL;
    for (t = 1; t < NT; t++) ASSERT_OK(digby_table_open(txn, tnames[t], DIGBY_TABLE_CREATE, &tabs[t]));
    for (k = 0; k < nops; k++) {
        unsigned i = (unsigned)(splitmix(rng) % NK);
        char kb[KB];
        size_t kl = key_of(i, kb);
        t = (unsigned)(splitmix(rng) % NT);
        if (splitmix(rng) % 4 == 0) {
            int rc = digby_txn_delete(txn, tabs[t], kb, kl);
            ASSERT_RC(rc, r->present[t][i] ? DIGBY_OK : DIGBY_NOTFOUND);
            ref_del(r, t, i);
        } else {
            size_t n = make_val(splitmix(rng), buf, 4096);
            ASSERT_OK(digby_txn_put(txn, tabs[t], kb, kl, buf, n, 0));
            ref_put(r, t, i, buf, n);
        }
    }
    if (commit) {
        ASSERT_OK(digby_txn_commit(txn));
    } else {
        digby_txn_abort(txn);
        ref_copy(r, &shadow);
        ref_free(&shadow);
    }
    free(buf);
}

/* A fresh database `path` in v with some content (kept in r). */
static void build(tvfs *v, const char *path, uint32_t ps, keyspec k, ref *r,
                  uint64_t seed, unsigned ntxn, unsigned nops)
{
    digby_db *db;
    unsigned i;
    ASSERT_OK(open_db(v, path, ps, k, &db));
    for (i = 0; i < ntxn; i++) random_txn(db, r, &seed, nops, 1);
    ASSERT_RC(compare(db, r), DIGBY_OK);
    close_db(db);
}

static int contains(const unsigned char *p, size_t n, const char *needle)
{
    size_t m = strlen(needle), i;
    for (i = 0; i + m <= n; i++)
        if (p[i] == (unsigned char)needle[0] && memcmp(p + i, needle, m) == 0) return 1;
    return 0;
}

/* ---- tests ---------------------------------------------------------------- */

/* A known plaintext, anywhere in keys, values and table names, never
   reaches an encrypted file. */
static void test_plaintext_absent(void **state)
{
    static const uint32_t sizes[2] = {512, 4096};
    const keyspec kinds[4] = {K_PASS, K_RAW16, K_RAW32, K_NONE};
    unsigned s, kk, i;
    (void)state;
    for (s = 0; s < 2; s++)
        for (kk = 0; kk < 4; kk++) {
            tvfs *v = tv_new();
            digby_db *db;
            digby_txn *txn;
            digby_table *tab;
            unsigned char *img, *big = (unsigned char *)xmalloc(20000);
            size_t n;
            for (i = 0; i + 16 <= 20000; i += 16) memcpy(big + i, "PLAINTEXTMARKER.", 16);
            ASSERT_OK(open_db(v, "p.db", sizes[s], kinds[kk], &db));
            ASSERT_OK(digby_txn_begin(db, 0, &txn));
            ASSERT_OK(digby_table_open(txn, "PLAINTEXTMARKER-table", DIGBY_TABLE_CREATE, &tab));
            for (i = 0; i < 200; i++) {
                char kb[64];
                int kl = snprintf(kb, sizeof(kb), "PLAINTEXTMARKER-key-%u", i);
                ASSERT_OK(digby_txn_put(txn, i % 2 ? tab : NULL, kb, (size_t)kl, big,
                                        i % 10 == 0 ? 3000 + i : 40, 0));
            }
            ASSERT_OK(digby_txn_commit(txn));
            ASSERT_OK(digby_put(db, "k", 1, big, 20000));
            ASSERT_OK(digby_delete(db, "k", 1)); /* freed pages too */
            close_db(db);
            img = tv_get(v, "p.db", &n);
            if (kinds[kk].pass || kinds[kk].key) {
                assert_false(contains(img, n, "PLAINTEXT"));
                assert_false(contains(img, n, "MARKER"));
            } else {
                assert_true(contains(img, n, "PLAINTEXTMARKER")); /* the test can fail */
            }
            /* and the data is all there */
            ASSERT_OK(open_db(v, "p.db", 0, kinds[kk], &db));
            ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &txn));
            ASSERT_OK(digby_table_open(txn, "PLAINTEXTMARKER-table", 0, &tab));
            {
                uint64_t e0, e1;
                ASSERT_OK(digby_table_count(txn, NULL, &e0));
                ASSERT_OK(digby_table_count(txn, tab, &e1));
                assert_true(e0 == 100 && e1 == 100);
            }
            digby_txn_abort(txn);
            close_db(db);
            free(img);
            free(big);
            tv_free(v);
        }
}

static void test_wrong_key(void **state)
{
    tvfs *v = tv_new();
    digby_db *db;
    ref r;
    unsigned char *before, *after;
    size_t nb, na;
    keyspec wrong_pass = {"correct horse battery stapler", NULL, 0};
    keyspec other_raw = {NULL, other32, 32};
    keyspec short16 = {NULL, key32, 16};
    keyspec bad_len = {NULL, key32, 20};
    keyspec empty = {"", NULL, 0};
    keyspec both = {"x", key16, 16};
    digby_options o;
    (void)state;
    memset(&r, 0, sizeof(r));
    build(v, "pass.db", 512, K_PASS, &r, 1, 3, 40);
    ref_free(&r);
    build(v, "raw.db", 4096, K_RAW32, &r, 2, 2, 40);
    ref_free(&r);
    build(v, "plain.db", 1024, K_NONE, &r, 3, 2, 40);
    before = tv_get(v, "pass.db", &nb);
    ASSERT_RC(open_db(v, "pass.db", 0, wrong_pass, &db), DIGBY_WRONGKEY);
    ASSERT_RC(open_db(v, "pass.db", 0, K_RAW32, &db), DIGBY_WRONGKEY);
    ASSERT_RC(open_db(v, "pass.db", 0, K_NONE, &db), DIGBY_WRONGKEY);
    ASSERT_RC(open_db(v, "raw.db", 0, other_raw, &db), DIGBY_WRONGKEY);
    ASSERT_RC(open_db(v, "raw.db", 0, short16, &db), DIGBY_WRONGKEY);
    ASSERT_RC(open_db(v, "raw.db", 0, K_PASS, &db), DIGBY_WRONGKEY);
    ASSERT_RC(open_db(v, "plain.db", 0, K_PASS, &db), DIGBY_WRONGKEY);
    ASSERT_RC(open_db(v, "pass.db", 0, bad_len, &db), DIGBY_INVALID);
    ASSERT_RC(open_db(v, "pass.db", 0, empty, &db), DIGBY_INVALID);
    ASSERT_RC(open_db(v, "pass.db", 0, both, &db), DIGBY_INVALID);
    o = opts_for(v, 0, K_PASS);
    o.cipher = 3;
    ASSERT_RC(digby_open("pass.db", &o, &db), DIGBY_INVALID);
    /* read-only opens check the key the same way */
    o = opts_for(v, 0, wrong_pass);
    o.flags = DIGBY_OPEN_READONLY;
    ASSERT_RC(digby_open("pass.db", &o, &db), DIGBY_WRONGKEY);
    o = opts_for(v, 0, K_PASS);
    o.flags = DIGBY_OPEN_READONLY;
    ASSERT_OK(digby_open("pass.db", &o, &db));
    check_passes(db);
    ASSERT_RC(digby_rekey(db, 0), DIGBY_READONLY);
    ASSERT_OK(digby_close(db));
    after = tv_get(v, "pass.db", &na);
    assert_true(na == nb && memcmp(before, after, nb) == 0);
    /* the right keys */
    ASSERT_RC(open_db(v, "pass.db", 4096, K_PASS, &db), DIGBY_PAGESIZE);
    ASSERT_OK(open_db(v, "pass.db", 512, K_PASS, &db));
    close_db(db);
    ASSERT_OK(open_db(v, "raw.db", 0, K_RAW32, &db));
    ASSERT_RC(digby_change_passphrase(db, NULL, NULL, 0), DIGBY_INVALID);
    ASSERT_RC(digby_change_passphrase(db, "a", key16, 16), DIGBY_INVALID);
    ASSERT_RC(digby_change_passphrase(db, NULL, key16, 15), DIGBY_INVALID);
    ASSERT_RC(digby_rekey(db, 7), DIGBY_INVALID);
    close_db(db);
    ASSERT_OK(open_db(v, "plain.db", 0, K_NONE, &db));
    ASSERT_RC(digby_rekey(db, 0), DIGBY_INVALID);
    ASSERT_RC(digby_change_passphrase(db, "x", NULL, 0), DIGBY_INVALID);
    close_db(db);
    assert_true(strstr(digby_version(), " aes-gcm") != NULL);
    free(before);
    free(after);
    ref_free(&r);
    tv_free(v);
}

/* Pages no committed tree reaches in the file: the free and pending pages
   a read-write open loads (white-box). */
static unsigned char *free_pages(tvfs *v, const char *path, keyspec k, uint64_t *npages)
{
    digby_db *db;
    unsigned char *isfree;
    size_t i;
    ASSERT_OK(open_db(v, path, 0, k, &db));
    *npages = db->meta.page_count;
    isfree = (unsigned char *)xmalloc((size_t)*npages);
    memset(isfree, 0, (size_t)*npages);
    for (i = 0; i < db->free.n; i++) isfree[db->free.v[i]] = 1;
    ASSERT_OK(digby_close(db));
    return isfree;
}

/* The id of the snapshot a database opened at. */
static uint64_t snapshot_txid(digby_db *db)
{
    digby_txn *ro;
    uint64_t id;
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &ro));
    id = digby_txn_id(ro);
    digby_txn_abort(ro);
    return id;
}

/* Open `path` (image already tampered with) and classify what it shows:
   0 = nothing noticed: the newest commit (txid_n, state rn), exactly;
   1 = an error somewhere (open, reads, check), or the previous commit
   (state rp) opened instead.  Other data fails the test. */
static int tampered(tvfs *v, const char *path, keyspec k, const ref *rn, const ref *rp,
                    uint64_t txid_n)
{
    digby_db *db;
    uint64_t id;
    int rc = open_db(v, path, 0, k, &db), c;
    if (rc) return 1;
    id = snapshot_txid(db);
    if (id != txid_n && id != txid_n - 1) {
        print_error("tampered file opened at commit %lu\n", (unsigned long)id);
        fail();
    }
    rc = compare(db, id == txid_n ? rn : rp);
    if (rc == WRONG) {
        print_error("tampered file read as other data\n");
        fail();
    }
    c = digby_check(db, NULL);
    digby_close(db);
    return rc != DIGBY_OK || c != DIGBY_OK || id != txid_n;
}

/* test_tamper's damaged files, all put at "t.db" under K_PASS: each must
   be noticed (tampered() 1); detected counts them. */
typedef struct tamper_case {
    tvfs *v;
    const ref *rn, *rp;
    uint64_t txid_n;
    uint64_t detected;
} tamper_case;

static void expect_tampered(tamper_case *tc, const unsigned char *img, size_t n)
{
    tv_put(tc->v, "t.db", img, n);
    assert_int_equal(tampered(tc->v, "t.db", K_PASS, tc->rn, tc->rp, tc->txid_n), 1);
    tc->detected++;
}

/* A small file: first commit (second == 0) a few entries in every tree,
   one in overflow pages; second commit one overwrite. */
static void small_commit(digby_db *db, ref *r, int second)
{
    digby_txn *txn;
    digby_table *tabs[NT];
    unsigned char val[1200];
    unsigned t, i;
    char kb[KB];
    size_t kl;
    memset(val, 'v', sizeof(val));
    ASSERT_OK(digby_txn_begin(db, 0, &txn));
    tabs[0] = NULL;
    for (t = 1; t < NT; t++) ASSERT_OK(digby_table_open(txn, tnames[t], DIGBY_TABLE_CREATE, &tabs[t]));
    for (t = 0; t < NT && !second; t++)
        for (i = 0; i < 4; i++) {
            size_t n = t == 1 && i == 2 ? sizeof(val) : 10 + i;
            kl = key_of(i * 7 + t, kb);
            ASSERT_OK(digby_txn_put(txn, tabs[t], kb, kl, val, n, 0));
            ref_put(r, t, i * 7 + t, val, n);
        }
    if (second) {
        kl = key_of(7, kb);
        ASSERT_OK(digby_txn_put(txn, NULL, kb, kl, "new", 3, 0));
        ref_put(r, 0, 7, (const unsigned char *)"new", 3);
    }
    ASSERT_OK(digby_txn_commit(txn));
}

/* Every single-bit flip of a small encrypted file. */
static void test_bit_flips(void **state)
{
    tvfs *v = tv_new();
    ref rp, rn;
    unsigned char *good, *isfree, *bad;
    size_t n, bit;
    uint64_t npages, missed = 0, flips = 0, newest_slot, txid_n;
    digby_db *db;
    (void)state;
    memset(&rp, 0, sizeof(rp));
    memset(&rn, 0, sizeof(rn));
    ASSERT_OK(open_db(v, "f.db", 512, K_RAW16, &db));
    small_commit(db, &rp, 0);
    ref_copy(&rn, &rp);
    small_commit(db, &rn, 1);
    newest_slot = db->meta.txid & 1;
    txid_n = db->meta.txid;
    close_db(db);
    good = tv_get(v, "f.db", &n);
    isfree = free_pages(v, "f.db", K_RAW16, &npages);
    assert_true(npages * 512 == n);
    bad = (unsigned char *)xmalloc(n);
    compare_gets = 0; /* the scans read every page */
    for (bit = 0; bit < 8 * n; bit++) {
        uint64_t pg = bit / 8 / 512;
        memcpy(bad, good, n);
        bad[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        tv_put(v, "f.db", bad, n);
        flips++;
        if (!tampered(v, "f.db", K_RAW16, &rn, &rp, txid_n)) {
            /* unnoticed: only where the newest state does not look */
            if (!(pg < 2 && pg != newest_slot) && !(pg >= 2 && isfree[pg])) {
                print_error("flip of bit %lu (page %lu) went unnoticed\n",
                            (unsigned long)bit, (unsigned long)pg);
                fail();
            }
            missed++;
        }
    }
    compare_gets = 1;
    print_message("bit flips: %lu flips of a %lu-page file, %lu harmless (older meta page, free pages)\n",
                  (unsigned long)flips, (unsigned long)npages, (unsigned long)missed);
    free(good);
    free(bad);
    free(isfree);
    ref_free(&rp);
    ref_free(&rn);
    tv_free(v);
}

/* Swapped pages, pages from another file or from an older copy of this
   one, header edits, truncation. */
static void test_tamper(void **state)
{
    tvfs *v = tv_new();
    ref rp, rn, rtwin;
    unsigned char *good, *isfree, *bad, *twin, *old, *fork;
    const unsigned char *src[3];
    size_t n, n2, nold, nfork, src_n[3];
    uint64_t npages, seed = 11, seed2, p, q, txid_n;
    digby_db *db;
    const uint32_t ps = 1024;
    unsigned i, s;
    tamper_case tc;
    (void)state;
    memset(&rp, 0, sizeof(rp));
    memset(&rn, 0, sizeof(rn));
    memset(&rtwin, 0, sizeof(rtwin));
    ASSERT_OK(open_db(v, "t.db", ps, K_PASS, &db));
    for (i = 0; i < 4; i++) random_txn(db, &rp, &seed, 60, 1);
    old = tv_get(v, "t.db", &nold); /* an older copy of the file */
    for (i = 0; i < 4; i++) random_txn(db, &rp, &seed, 60, 1);
    ref_copy(&rn, &rp);
    random_txn(db, &rn, &seed, 2, 1);
    txid_n = db->meta.txid;
    close_db(db);
    tc.v = v;
    tc.rn = &rn;
    tc.rp = &rp;
    tc.txid_n = txid_n;
    tc.detected = 0;
    good = tv_get(v, "t.db", &n);
    isfree = free_pages(v, "t.db", K_PASS, &npages);
    bad = (unsigned char *)xmalloc(n + nold);
    /* a twin: same key, same workload, another file */
    seed2 = 11;
    ASSERT_OK(open_db(v, "twin.db", ps, K_PASS, &db));
    for (i = 0; i < 8; i++) random_txn(db, &rtwin, &seed2, 60, 1);
    random_txn(db, &rtwin, &seed2, 2, 1);
    close_db(db);
    twin = tv_get(v, "twin.db", &n2);
    /* a byte copy of the file that went on with other commits */
    tv_put(v, "fork.db", good, n);
    ASSERT_OK(open_db(v, "fork.db", 0, K_PASS, &db));
    seed2 = 99;
    for (i = 0; i < 3; i++) random_txn(db, &rtwin, &seed2, 30, 1);
    ASSERT_OK(digby_close(db));
    fork = tv_get(v, "fork.db", &nfork);
    compare_gets = 0; /* the scans read every page in use */

    src[0] = twin;
    src_n[0] = n2;
    src[1] = fork;
    src_n[1] = nfork;
    src[2] = old;
    src_n[2] = nold;
    for (p = 2; p < npages; p++) {
        if (isfree[p]) continue;
        /* swap with the next few pages in use */
        for (q = p + 1; q < npages && q <= p + 6; q++) {
            if (isfree[q]) continue;
            memcpy(bad, good, n);
            memcpy(bad + p * ps, good + q * ps, ps);
            memcpy(bad + q * ps, good + p * ps, ps);
            expect_tampered(&tc, bad, n);
        }
        /* from the twin, from the fork, from the older copy */
        for (s = 0; s < 3; s++) {
            if ((p + 1) * ps > src_n[s] || memcmp(good + p * ps, src[s] + p * ps, ps) == 0)
                continue;
            memcpy(bad, good, n);
            memcpy(bad + p * ps, src[s] + p * ps, ps);
            expect_tampered(&tc, bad, n);
        }
    }
    /* the clear header, edited in both meta pages at once */
    for (i = 0; i < DIGBY__M_CLEAR_END; i++) {
        memcpy(bad, good, n);
        bad[i] ^= 0x10;
        bad[ps + i] ^= 0x10;
        expect_tampered(&tc, bad, n);
    }
    /* truncation at every page boundary (a file of at most two pages is a
       creation cut short: see test_truncated_to_meta_pages) */
    for (p = 3; p < npages; p++) expect_tampered(&tc, good, (size_t)(p * ps));
    /* a whole older copy of the file: consistent, and only the commit
       anchor (test_commit_anchor) can tell */
    compare_gets = 1;
    print_message("tampering: %lu cases, all detected\n", (unsigned long)tc.detected);
    free(good);
    free(bad);
    free(twin);
    free(old);
    free(fork);
    free(isfree);
    ref_free(&rp);
    ref_free(&rn);
    ref_free(&rtwin);
    tv_free(v);
}

/* A committed file cut down to its two meta pages is refused, not taken
   for a creation cut short and made afresh (encrypted or not). */
static void test_truncated_to_meta_pages(void **state)
{
    const keyspec kinds[2] = {K_PASS, K_NONE};
    unsigned kk;
    (void)state;
    for (kk = 0; kk < 2; kk++) {
        tvfs *v = tv_new();
        ref r;
        unsigned char *img;
        size_t n;
        digby_db *db;
        memset(&r, 0, sizeof(r));
        build(v, "u.db", 512, kinds[kk], &r, 4, 2, 30);
        img = tv_get(v, "u.db", &n);
        tv_put(v, "u.db", img, 1024);
        ASSERT_RC(open_db(v, "u.db", 0, kinds[kk], &db), DIGBY_CORRUPT);
        tv_put(v, "u.db", img, 512);
        ASSERT_RC(open_db(v, "u.db", 0, kinds[kk], &db), DIGBY_CORRUPT);
        free(img);
        ref_free(&r);
        tv_free(v);
    }
}

/* ---- power cuts during digby_change_passphrase and digby_rekey ------------- */

enum { OP_PASSPHRASE, OP_RAWKEY, OP_REKEY, OP_REKEY_CIPHER };

/* Open (read-write), run the operation, close.  The fault VFS may refuse
   any write; returns the operation's result (or the open's). */
static int run_op(tvfs *v, int what, keyspec k)
{
    digby_db *db;
    int rc = open_db(v, "c.db", 0, k, &db);
    if (rc) return rc;
    switch (what) {
    case OP_PASSPHRASE: rc = digby_change_passphrase(db, K_PASS2.pass, NULL, 0); break;
    case OP_RAWKEY: rc = digby_change_passphrase(db, NULL, key32, 32); break;
    case OP_REKEY: rc = digby_rekey(db, 0); break;
    default: rc = digby_rekey(db, DIGBY_CIPHER_AES256_GCM); break;
    }
    digby_close(db);
    return rc;
}

/* Check a crash state: it opens under the old or the new key, holds r
   exactly, checks clean and takes a new commit.  `done`: the operation
   returned DIGBY_OK before the cut, so only the new key may open it.
   Counted as old or new by the user key, or (same user key: a rekey) by
   the data key, old_dkey before the rekey. */
static void check_state(const unsigned char *p, size_t n, keyspec oldk, keyspec newk,
                        const ref *r, int done, const uint8_t *old_dkey,
                        unsigned *n_old, unsigned *n_new)
{
    tvfs *v = tv_new();
    digby_db *db;
    int rc, is_new;
    tv_put(v, "s.db", p, n);
    rc = open_db(v, "s.db", 0, newk, &db);
    if (rc == DIGBY_OK) {
        is_new = 1;
    } else {
        ASSERT_RC(rc, DIGBY_WRONGKEY);
        assert_false(done);
        ASSERT_OK(open_db(v, "s.db", 0, oldk, &db));
        is_new = 0;
    }
    if (oldk.pass == newk.pass && oldk.key == newk.key)
        is_new = memcmp(db->crypt->cur.key, old_dkey, 32) != 0;
    if (is_new) (*n_new)++;
    else (*n_old)++;
    ASSERT_RC(compare(db, r), DIGBY_OK);
    check_passes(db);
    ASSERT_OK(digby_put(db, "after", 5, "crash", 5));
    close_db(db);
    if (done && (oldk.pass != newk.pass || oldk.key != newk.key))
        ASSERT_RC(open_db(v, "s.db", 0, oldk, &db), DIGBY_WRONGKEY);
    tv_free(v);
}

static void power_cut_sweep(int what, keyspec oldk, keyspec newk, uint32_t ps)
{
    tvfs *v = tv_new();
    ref r;
    unsigned char *base;
    size_t n;
    uint64_t calls, k, seed = 5;
    unsigned n_old = 0, n_new = 0, states = 0;
    uint8_t dkey[32];
    digby_db *db;
    memset(&r, 0, sizeof(r));
    ASSERT_OK(open_db(v, "c.db", ps, oldk, &db));
    random_txn(db, &r, &seed, 150, 1);
    random_txn(db, &r, &seed, 20, 1);
    memcpy(dkey, db->crypt->cur.key, 32);
    close_db(db);
    base = tv_get(v, "c.db", &n);
    /* count the calls */
    v->calls = 0;
    ASSERT_OK(run_op(v, what, oldk));
    calls = v->calls;
    for (k = 0; k < calls; k++) {
        tfile *f;
        int rc;
        size_t i;
        tv_put(v, "c.db", base, n);
        v->calls = 0;
        v->cut = 0;
        v->cut_at = k;
        rc = run_op(v, what, oldk);
        v->cut_at = UINT64_MAX;
        v->cut = 0;
        f = tv_file(v, "c.db");
        /* (a) only what was synced */
        check_state(f->dur.p, f->dur.n, oldk, newk, &r, rc == DIGBY_OK, dkey, &n_old, &n_new);
        /* (b) every write reached the disk */
        check_state(f->cur.p, f->cur.n, oldk, newk, &r, rc == DIGBY_OK, dkey, &n_old, &n_new);
        states += 2;
        /* (c) the last write torn after its first sector */
        if (f->nops && f->ops[f->nops - 1].data && f->ops[f->nops - 1].len > SECTOR) {
            img t;
            memset(&t, 0, sizeof(t));
            img_set(&t, f->dur.p, f->dur.n);
            for (i = 0; i < f->nops; i++) {
                const op *o = &f->ops[i];
                size_t len = i + 1 == f->nops ? SECTOR : o->len;
                if (o->data) img_write(&t, o->off, o->data, len);
                else if (o->off < t.n) t.n = (size_t)o->off;
                else img_resize(&t, (size_t)o->off);
            }
            check_state(t.p, t.n, oldk, newk, &r, rc == DIGBY_OK, dkey, &n_old, &n_new);
            img_free(&t);
            states++;
        }
    }
    print_message("power cut at each of %lu calls: %u states, %u opened with the old key, %u with the new\n",
                  (unsigned long)calls, states, n_old, n_new);
    assert_true(n_new > 0 && n_old > 0);
    free(base);
    ref_free(&r);
    tv_free(v);
}

static void test_passphrase_power_cut(void **state)
{
    (void)state;
    power_cut_sweep(OP_PASSPHRASE, K_PASS, K_PASS2, 512);
    power_cut_sweep(OP_RAWKEY, K_PASS, K_RAW32, 4096);
}

static void test_rekey_power_cut(void **state)
{
    (void)state;
    power_cut_sweep(OP_REKEY, K_RAW32, K_RAW32, 512);
    long_keys = compress_on = 1; /* large keys and compressed items too */
    power_cut_sweep(OP_REKEY_CIPHER, K_RAW16, K_RAW16, 1024);
    long_keys = compress_on = 0;
}

/* ---- rekey ------------------------------------------------------------------ */

static void test_rekey(void **state)
{
    tvfs *v = tv_new();
    ref r;
    uint64_t seed = 21;
    uint8_t before[32];
    digby_db *db;
    digby_txn *ro;
    (void)state;
    memset(&r, 0, sizeof(r));
    long_keys = compress_on = 1;
    ASSERT_OK(open_db(v, "r.db", 512, K_RAW16, &db));
    random_txn(db, &r, &seed, 200, 1);
    assert_int_equal(db->crypt->cur.cipher, DIGBY_CIPHER_AES128_GCM);
    memcpy(before, db->crypt->cur.key, 32);
    /* a live snapshot must not outlive its key */
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &ro));
    ASSERT_RC(digby_rekey(db, 0), DIGBY_BUSY);
    digby_txn_abort(ro);
    ASSERT_OK(digby_rekey(db, DIGBY_CIPHER_AES256_GCM));
    assert_int_equal(db->crypt->cur.cipher, DIGBY_CIPHER_AES256_GCM);
    assert_true(memcmp(before, db->crypt->cur.key, 32) != 0);
    ASSERT_RC(compare(db, &r), DIGBY_OK);
    check_passes(db);
    random_txn(db, &r, &seed, 50, 1);
    close_db(db);
    ASSERT_OK(open_db(v, "r.db", 0, K_RAW16, &db));
    assert_int_equal(db->crypt->cur.cipher, DIGBY_CIPHER_AES256_GCM);
    ASSERT_RC(compare(db, &r), DIGBY_OK);
    ASSERT_OK(digby_rekey(db, DIGBY_CIPHER_AES128_GCM));
    ASSERT_OK(digby_change_passphrase(db, "now a passphrase", NULL, 0));
    close_db(db);
    ASSERT_RC(open_db(v, "r.db", 0, K_RAW16, &db), DIGBY_WRONGKEY);
    {
        keyspec np = {"now a passphrase", NULL, 0};
        ASSERT_OK(open_db(v, "r.db", 0, np, &db));
    }
    assert_int_equal(db->crypt->cur.cipher, DIGBY_CIPHER_AES128_GCM);
    ASSERT_RC(compare(db, &r), DIGBY_OK);
    close_db(db);
    long_keys = compress_on = 0;
    ref_free(&r);
    tv_free(v);
}

/* The data key rotates by itself after rekey_after_writes page writes. */
static void test_auto_rotation(void **state)
{
    tvfs *v = tv_new();
    ref r;
    uint64_t seed = 33;
    uint8_t first[32];
    unsigned i, rotations = 0;
    digby_db *db;
    digby_options o = opts_for(v, 512, K_PASS);
    (void)state;
    memset(&r, 0, sizeof(r));
    o.rekey_after_writes = 400;
    ASSERT_OK(digby_open("a.db", &o, &db));
    memcpy(first, db->crypt->cur.key, 32);
    for (i = 0; i < 40; i++) {
        uint8_t k[32];
        memcpy(k, db->crypt->cur.key, 32);
        random_txn(db, &r, &seed, 40, 1);
        if (memcmp(k, db->crypt->cur.key, 32) != 0) rotations++;
        assert_true(db->crypt->cur.writes < 400 + 200);
    }
    assert_true(rotations >= 2);
    assert_true(memcmp(first, db->crypt->cur.key, 32) != 0);
    ASSERT_RC(compare(db, &r), DIGBY_OK);
    close_db(db);
    ASSERT_OK(digby_open("a.db", &o, &db));
    ASSERT_RC(compare(db, &r), DIGBY_OK);
    close_db(db);
    print_message("automatic rotation: %u rekeys in 40 commits (every 400 page writes)\n", rotations);
    ref_free(&r);
    tv_free(v);
}

/* ---- the random workload ------------------------------------------------------ */

static void test_model(void **state)
{
    static const uint32_t sizes[3] = {512, 4096, 1024};
    unsigned s;
    (void)state;
    for (s = 0; s < 3; s++) {
        tvfs *v = tv_new();
        ref r;
        uint64_t seed = 0xC0FFEE00u + s, rounds = (uint64_t)(100 * test_scale()), i;
        unsigned n_rekey = 0, n_pass = 0, n_reopen = 0, n_abort = 0;
        keyspec cur = s == 1 ? K_RAW32 : K_PASS;
        digby_db *db;
        memset(&r, 0, sizeof(r));
        long_keys = s != 1;
        compress_on = s != 0;
        ASSERT_OK(open_db(v, "m.db", sizes[s], cur, &db));
        for (i = 0; i < rounds; i++) {
            uint64_t what = splitmix(&seed) % 20;
            if (what == 0) {
                ASSERT_OK(digby_rekey(db, (uint32_t)(1 + splitmix(&seed) % 2)));
                n_rekey++;
            } else if (what == 1) {
                keyspec nk = splitmix(&seed) % 2 ? K_PASS2 : K_RAW16;
                if (nk.pass == cur.pass && nk.key == cur.key) nk = K_PASS;
                ASSERT_OK(digby_change_passphrase(db, nk.pass, nk.key, nk.key_bytes));
                cur = nk;
                n_pass++;
            } else if (what == 2) {
                close_db(db);
                ASSERT_OK(open_db(v, "m.db", 0, cur, &db));
                n_reopen++;
            } else if (what == 3) {
                random_txn(db, &r, &seed, 1 + (unsigned)(splitmix(&seed) % 40), 0);
                n_abort++;
            } else {
                random_txn(db, &r, &seed, 1 + (unsigned)(splitmix(&seed) % 40), 1);
            }
            ASSERT_RC(compare(db, &r), DIGBY_OK);
        }
        close_db(db);
        long_keys = compress_on = 0;
        print_message("model %u-byte pages%s%s: %lu rounds, %u rekeys, %u key changes, %u reopens, %u aborts\n",
                      sizes[s], s != 1 ? ", large keys" : "", s != 0 ? ", lz4" : "",
                      (unsigned long)rounds, n_rekey, n_pass, n_reopen, n_abort);
        ref_free(&r);
        tv_free(v);
    }
}

/* ---- nonces -------------------------------------------------------------------- */

static int cmp12(const void *a, const void *b)
{
    return memcmp(a, b, 12);
}

static void test_nonces_unique(void **state)
{
    tvfs *v = tv_new();
    ref r, r2;
    uint64_t seed = 44, seed2, i, dups = 0;
    unsigned char *copy;
    size_t n;
    digby_db *db, *db2;
    /* at least 10 rounds: one reopen without a clean close */
    unsigned rounds = (unsigned)(40 * test_scale()) < 10 ? 10 : (unsigned)(40 * test_scale());
    (void)state;
    memset(&r, 0, sizeof(r));
    memset(&r2, 0, sizeof(r2));
    v->rec_ps = 512;
    ASSERT_OK(open_db(v, "n.db", 512, K_RAW32, &db));
    for (i = 0; i < rounds; i++) {
        random_txn(db, &r, &seed, 40, i % 5 != 4); /* aborts reuse txids */
        if (i % 10 == 9) { /* a reopen without a clean close's help */
            ASSERT_OK(digby_close(db));
            ASSERT_OK(open_db(v, "n.db", 0, K_RAW32, &db));
        }
    }
    ASSERT_OK(digby_close(db));
    /* a byte copy of the file, and both copies go on the same way */
    copy = tv_get(v, "n.db", &n);
    tv_put(v, "n2.db", copy, n);
    ref_copy(&r2, &r);
    seed2 = seed;
    ASSERT_OK(open_db(v, "n.db", 0, K_RAW32, &db));
    ASSERT_OK(open_db(v, "n2.db", 0, K_RAW32, &db2));
    for (i = 0; i < rounds; i++) {
        random_txn(db, &r, &seed, 40, 1);
        random_txn(db2, &r2, &seed2, 40, 1);
    }
    ASSERT_OK(digby_rekey(db, 0));
    close_db(db);
    close_db(db2);
    /* power cuts in the middle of commits; the durable image goes on */
    for (i = 0; i < 5; i++) {
        digby_txn *txn;
        unsigned char big[3000];
        tfile *f = tv_file(v, "n.db");
        unsigned j;
        memset(big, 'x', sizeof(big));
        ASSERT_OK(open_db(v, "n.db", 0, K_RAW32, &db));
        v->calls = 0;
        v->cut_at = 2 + i;
        ASSERT_OK(digby_txn_begin(db, 0, &txn));
        for (j = 0; j < 30; j++) {
            char kb[KB];
            size_t kl = key_of(j, kb);
            if (digby_txn_put(txn, NULL, kb, kl, big, sizeof(big), 0)) break;
        }
        assert_int_not_equal(digby_txn_commit(txn), DIGBY_OK);
        ASSERT_OK(digby_close(db));
        v->cut = 0;
        v->cut_at = UINT64_MAX;
        tv_put(v, "n.db", f->dur.p, f->dur.n);
        ASSERT_OK(open_db(v, "n.db", 0, K_RAW32, &db));
        random_txn(db, &r, &seed, 40, 1);
        ASSERT_RC(compare(db, &r), DIGBY_OK);
        close_db(db);
    }
    qsort(v->nonces, v->nnonces, 12, cmp12);
    for (i = 1; i < v->nnonces; i++)
        if (memcmp(v->nonces + 12 * (i - 1), v->nonces + 12 * i, 12) == 0) dups++;
    print_message("nonces: %lu page writes (aborts, reopens, power cuts, a copied file), %lu repeated\n",
                  (unsigned long)v->nnonces, (unsigned long)dups);
    assert_true(v->nnonces > 25 * (uint64_t)rounds); /* > 1,000 at scale 1 */
    assert_true(dups == 0);
    /* and the generator itself, many more times (white-box) */
    {
        size_t want = (size_t)(1000000 * test_scale()), k;
        unsigned char *all = (unsigned char *)xmalloc(want * 12);
        ASSERT_OK(open_db(v, "n.db", 0, K_RAW32, &db));
        for (k = 0; k < want; k++) ASSERT_OK(digby__random(db, all + 12 * k, 12));
        ASSERT_OK(digby_close(db));
        qsort(all, want, 12, cmp12);
        for (k = 1; k < want; k++) assert_true(memcmp(all + 12 * (k - 1), all + 12 * k, 12) != 0);
        print_message("nonces: %lu more from the DRBG, none repeated\n", (unsigned long)want);
        free(all);
    }
    free(copy);
    ref_free(&r);
    ref_free(&r2);
    tv_free(v);
}

/* ---- the commit anchor ---------------------------------------------------------- */

typedef struct anchor {
    uint64_t last;
    unsigned calls;
} anchor;

static void on_commit(void *ctx, uint64_t txid)
{
    anchor *a = (anchor *)ctx;
    assert_true(txid > a->last);
    a->last = txid;
    a->calls++;
}

static void test_commit_anchor(void **state)
{
    tvfs *v = tv_new();
    anchor a = {0, 0};
    digby_options o = opts_for(v, 4096, K_PASS);
    digby_db *db;
    digby_txn *ro;
    unsigned char *old;
    size_t n;
    (void)state;
    o.on_commit = on_commit;
    o.on_commit_ctx = &a;
    ASSERT_OK(digby_open("h.db", &o, &db));
    ASSERT_OK(digby_put(db, "a", 1, "1", 1));
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &ro));
    assert_true(digby_txn_id(ro) == a.last);
    digby_txn_abort(ro);
    assert_int_equal(a.calls, 1);
    close_db(db);
    old = tv_get(v, "h.db", &n);
    ASSERT_OK(digby_open("h.db", &o, &db));
    ASSERT_OK(digby_put(db, "a", 1, "2", 1));
    ASSERT_OK(digby_change_passphrase(db, "x", NULL, 0)); /* two commits */
    assert_int_equal(a.calls, 4);
    close_db(db);
    /* the whole file put back: it opens, consistent, but behind the anchor */
    tv_put(v, "h.db", old, n);
    ASSERT_OK(digby_open("h.db", &o, &db));
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &ro));
    assert_true(digby_txn_id(ro) < a.last);
    digby_txn_abort(ro);
    close_db(db);
    free(old);
    tv_free(v);
}

/* ---- threads: readers decrypt side by side (each takes its own AES-GCM
   context from the data key's pool) while a writer commits ------------------ */

typedef struct reader_arg {
    digby_db *db;
    int failures;
    unsigned scans;
} reader_arg;

static void *reader_main(void *p)
{
    reader_arg *a = (reader_arg *)p;
    unsigned i;
    for (i = 0; i < 30; i++) {
        digby_txn *txn;
        digby_cursor *c;
        int rc;
        if (digby_txn_begin(a->db, DIGBY_TXN_READONLY, &txn)) { a->failures++; continue; }
        if (digby_cursor_open(txn, NULL, &c)) { a->failures++; digby_txn_abort(txn); continue; }
        for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {}
        if (rc != DIGBY_NOTFOUND) a->failures++;
        digby_cursor_close(c);
        digby_txn_abort(txn);
        a->scans++;
    }
    return NULL;
}

static void test_threads(void **state)
{
    digby_vfs *mem;
    digby_db *db;
    digby_options o = opts_for(NULL, 512, K_RAW32);
    ref r;
    uint64_t seed = 77;
    pthread_t th[4];
    reader_arg args[4];
    unsigned i;
    (void)state;
    memset(&r, 0, sizeof(r));
    ASSERT_OK(digby_vfs_mem_create(NULL, &mem));
    o.vfs = mem;
    o.cache_bytes = 16 * 512; /* small: most reads decrypt */
    ASSERT_OK(digby_open("th.db", &o, &db));
    for (i = 0; i < 5; i++) random_txn(db, &r, &seed, 100, 1);
    for (i = 0; i < 4; i++) {
        memset(&args[i], 0, sizeof(args[i]));
        args[i].db = db;
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &args[i]), 0);
    }
    for (i = 0; i < 10; i++) random_txn(db, &r, &seed, 30, 1);
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(args[i].failures, 0);
        assert_true(args[i].scans == 30);
    }
    ASSERT_RC(compare(db, &r), DIGBY_OK);
    close_db(db);
    digby_vfs_mem_destroy(mem);
    ref_free(&r);
}

/* ---- handles sharing an encrypted file (48_lockfile.c) -------------------- */

typedef struct open_probe {
    const char *path;
    int calls, rc;
} open_probe;

/* on_commit hook: another handle's digby_open while the commit's handle
   rekeys (its answer in rc: DIGBY_BUSY expected). */
static void probe_open(void *ctx, uint64_t txid)
{
    open_probe *p = (open_probe *)ctx;
    digby_options o = opts_for(NULL, 0, K_RAW32);
    digby_db *other = NULL;
    (void)txid;
    p->calls++;
    p->rc = digby_open(p->path, &o, &other);
    if (other) digby_close(other);
}

/* Two handles (the POSIX VFS's lock file) of one encrypted file: each
   reads the other's commits, unsealed with the data key it holds; the
   count of pages sealed under the key is the file's, not the handle's; a
   wrong key still fails; digby_rekey is refused while the other is
   attached (and keeps others out while it runs); a passphrase change by
   one is taken in by the other, whose commits then carry the new header
   (the old key no longer opens the file) and whose digby_rekey is refused
   (it holds the old passphrase's KEK). */
static void test_shared_handles(void **state)
{
    const digby_vfs *px = digby_vfs_posix();
    char path[256], lock[300];
    digby_db *a, *b, *c = NULL, *w = NULL;
    digby_options o;
    ref r;
    uint64_t seed = 91;
    uint8_t k0[32];
    keyspec np = {"shared new passphrase", NULL, 0};
    open_probe probe;
    int rc;
    (void)state;
    if (!px || !px->shm_open) {
        print_message("shared handles: this build's POSIX VFS has no lock file (%s): skipped\n",
                      digby_version());
        skip();
    }
    memset(&r, 0, sizeof(r));
    snprintf(path, sizeof path, "/tmp/digby-crypto-shared-%ld.db", (long)getpid());
    snprintf(lock, sizeof lock, "%s-lock", path);
    unlink(path);
    unlink(lock);
    long_keys = compress_on = 1;
    ASSERT_OK(open_db(NULL, path, 1024, K_RAW32, &a));
    random_txn(a, &r, &seed, 120, 1);
    rc = open_db(NULL, path, 0, K_RAW32, &b);
    if (rc != DIGBY_OK)
        fail_msg("a second handle of an encrypted file with the right key: %s, expected DIGBY_OK (encrypted "
                 "files are shared like plain ones)", rc_name(rc));
    ASSERT_RC(compare(b, &r), DIGBY_OK);
    /* each takes the other's commits in: meta page and pages under the data key */
    random_txn(a, &r, &seed, 80, 1);
    ASSERT_RC(compare(b, &r), DIGBY_OK);
    random_txn(b, &r, &seed, 80, 1);
    ASSERT_RC(compare(a, &r), DIGBY_OK);
    random_txn(b, &r, &seed, 40, 0); /* aborted */
    random_txn(a, &r, &seed, 40, 1);
    ASSERT_RC(compare(b, &r), DIGBY_OK);
    if (a->crypt->cur.writes != b->crypt->cur.writes)
        fail_msg("after both handles wrote, handle 1 counts %llu pages sealed under the data key and handle 2 "
                 "%llu: both must count the file's writes (rotation bound)",
                 (unsigned long long)a->crypt->cur.writes, (unsigned long long)b->crypt->cur.writes);
    /* a wrong key, or none, beside them: as alone */
    ASSERT_RC(digby_open(path, NULL, &w), DIGBY_WRONGKEY);
    {
        keyspec wk = {NULL, other32, 32};
        ASSERT_RC(open_db(NULL, path, 0, wk, &w), DIGBY_WRONGKEY);
    }
    /* a read-only third handle */
    o = opts_for(NULL, 0, K_RAW32);
    o.flags = DIGBY_OPEN_READONLY;
    ASSERT_OK(digby_open(path, &o, &c));
    ASSERT_RC(compare(c, &r), DIGBY_OK);
    /* no new data key while others hold the old one */
    memcpy(k0, a->crypt->cur.key, 32);
    ASSERT_RC(digby_rekey(a, 0), DIGBY_BUSY);
    ASSERT_RC(digby_rekey(c, 0), DIGBY_READONLY);
    assert_memory_equal(k0, a->crypt->cur.key, 32);
    random_txn(b, &r, &seed, 30, 1);
    ASSERT_RC(compare(a, &r), DIGBY_OK);
    ASSERT_RC(compare(c, &r), DIGBY_OK);
    ASSERT_OK(digby_close(c));
    /* a passphrase change beside another handle */
    ASSERT_OK(digby_change_passphrase(a, np.pass, NULL, 0));
    ASSERT_RC(compare(b, &r), DIGBY_OK);
    random_txn(b, &r, &seed, 60, 1);
    ASSERT_RC(compare(a, &r), DIGBY_OK);
    ASSERT_RC(digby_rekey(b, 0), DIGBY_WRONGKEY);
    ASSERT_OK(digby_close(a));
    ASSERT_RC(digby_rekey(b, 0), DIGBY_WRONGKEY);
    random_txn(b, &r, &seed, 60, 1); /* both meta pages now b's */
    random_txn(b, &r, &seed, 60, 1);
    close_db(b);
    ASSERT_RC(open_db(NULL, path, 0, K_RAW32, &a), DIGBY_WRONGKEY);
    ASSERT_OK(open_db(NULL, path, 0, np, &a));
    ASSERT_RC(compare(a, &r), DIGBY_OK);
    ASSERT_OK(digby_change_passphrase(a, NULL, key32, 32));
    /* alone, a rekey runs, and keeps other opens out meanwhile */
    ASSERT_OK(digby_close(a));
    memset(&probe, 0, sizeof(probe));
    probe.path = path;
    probe.rc = 1;
    o = opts_for(NULL, 0, K_RAW32);
    o.on_commit = probe_open;
    o.on_commit_ctx = &probe;
    ASSERT_OK(digby_open(path, &o, &a));
    memcpy(k0, a->crypt->cur.key, 32);
    ASSERT_OK(digby_rekey(a, DIGBY_CIPHER_AES128_GCM));
    assert_true(memcmp(k0, a->crypt->cur.key, 32) != 0);
    if (probe.calls < 2 || probe.rc != DIGBY_BUSY)
        fail_msg("another handle's digby_open during a rekey (its commits): %s after %d calls, expected "
                 "DIGBY_BUSY: it would hold the old data key", rc_name(probe.rc), probe.calls);
    a->on_commit = NULL;
    ASSERT_OK(open_db(NULL, path, 0, K_RAW32, &b));
    ASSERT_RC(compare(b, &r), DIGBY_OK);
    random_txn(b, &r, &seed, 60, 1);
    ASSERT_RC(compare(a, &r), DIGBY_OK);
    ASSERT_OK(digby_close(b));
    close_db(a);
    long_keys = compress_on = 0;
    ref_free(&r);
    unlink(path);
    unlink(lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plaintext_absent),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_truncated_to_meta_pages),
        cmocka_unit_test(test_passphrase_power_cut),
        cmocka_unit_test(test_rekey_power_cut),
        cmocka_unit_test(test_rekey),
        cmocka_unit_test(test_auto_rotation),
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_nonces_unique),
        cmocka_unit_test(test_commit_anchor),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_shared_handles),
    };
    if (getenv("DIGBY_TEST_FILTER")) cmocka_set_test_filter(getenv("DIGBY_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
