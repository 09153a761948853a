/* engine_digby.c -- the digby adapter and the three engines built on it:
 * digby, digby-enc (AES-256-GCM on; not a peer) and digby-mmap
 * (DIGBY_OPEN_MMAP; not a peer).  Always built; it also compiles digby.h
 * itself (DIGBY_IMPLEMENTATION).
 */
#include "bench.h"

#define DIGBY_IMPLEMENTATION
#include "../digby.h"

typedef struct { digby_db *db; } dg_db;
typedef struct { dg_db *d; digby_txn *txn; digby_cursor *cur; } dg_s;

/* rc of digby call `what`: 0 if DIGBY_OK, else -1 with the error in
   t_err.  dg_found: DIGBY_NOTFOUND is 1 (a miss, or the cursor's end). */
static int dg_check(int rc, const char *what) { return rc == DIGBY_OK ? 0 : set_rc_err(what, digby_strerror(rc), rc); }
static int dg_found(int rc, const char *what) { return rc == DIGBY_NOTFOUND ? 1 : dg_check(rc, what); }

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
    if (dg_check(digby_open(path, &o, &d->db), "digby_open")) { free(d); return NULL; }
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
/* wbegin and rbegin: a transaction, read-write (flags 0) or read-only. */
static int dg_begin(dg_s *s, unsigned flags, const char *what)
{
    return dg_check(digby_txn_begin(s->d->db, flags, &s->txn), what);
}
static int dg_wbegin(void *sp) { return dg_begin(sp, 0, "digby_txn_begin"); }
static int dg_rbegin(void *sp) { return dg_begin(sp, DIGBY_TXN_READONLY, "digby_txn_begin(READONLY)"); }
static int dg_wcommit(void *sp)
{
    dg_s *s = sp;
    int rc = digby_txn_commit(s->txn);
    s->txn = NULL;   /* ended either way */
    return dg_check(rc, "digby_txn_commit");
}
/* wabort and rend: the transaction's end, with its cursor. */
static void dg_end(void *sp) { dg_s *s = sp; digby_txn_abort(s->txn); s->txn = NULL; s->cur = NULL; }
#define dg_wabort dg_end
#define dg_rend dg_end
static int dg_put(void *sp, const void *k, size_t kn, const void *v, size_t vn)
{
    return dg_check(digby_txn_put(((dg_s *)sp)->txn, NULL, k, kn, v, vn, 0), "digby_txn_put");
}
static int dg_del(void *sp, const void *k, size_t kn)
{
    return dg_found(digby_txn_delete(((dg_s *)sp)->txn, NULL, k, kn), "digby_txn_delete");
}
static int dg_get(void *sp, const void *k, size_t kn, void *buf, size_t cap, size_t *vn)
{
    const void *v;
    size_t n;
    int rc = dg_found(digby_txn_get(((dg_s *)sp)->txn, NULL, k, kn, &v, &n, NULL), "digby_txn_get");
    if (rc) return rc;
    memcpy(buf, v, n < cap ? n : cap);
    *vn = n;
    return 0;
}
static int dg_cur_open(void *sp)
{
    dg_s *s = sp;
    return dg_check(digby_cursor_open(s->txn, NULL, &s->cur), "digby_cursor_open");
}
static void dg_cur_close(void *sp) { dg_s *s = sp; digby_cursor_close(s->cur); s->cur = NULL; }
static int dg_seek(void *sp, const void *k, size_t kn)
{
    return dg_found(digby_cursor_seek(((dg_s *)sp)->cur, k, kn, DIGBY_SEEK_GE), "digby_cursor_seek");
}
static int dg_seek_le(void *sp, const void *k, size_t kn)
{
    return dg_found(digby_cursor_seek(((dg_s *)sp)->cur, k, kn, DIGBY_SEEK_LE), "digby_cursor_seek(LE)");
}
static int dg_first(void *sp) { return dg_found(digby_cursor_first(((dg_s *)sp)->cur), "digby_cursor_first"); }
static int dg_last(void *sp) { return dg_found(digby_cursor_last(((dg_s *)sp)->cur), "digby_cursor_last"); }
static int dg_next(void *sp) { return dg_found(digby_cursor_next(((dg_s *)sp)->cur), "digby_cursor_next"); }
static int dg_prev(void *sp) { return dg_found(digby_cursor_prev(((dg_s *)sp)->cur), "digby_cursor_prev"); }
static int dg_cur_get(void *sp, const void **k, size_t *kn, const void **v, size_t *vn)
{
    return dg_check(digby_cursor_get(((dg_s *)sp)->cur, k, kn, v, vn, NULL), "digby_cursor_get");
}

#define dg_quiesce NULL
#define dg_version digby_version

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

const engine_t engine_digby =
    ENGINE("digby", "digby", 0, dg, DG_HAS_LZ4,
           "page_size 4096 (default), cache_bytes = CACHE, flags DIGBY_OPEN_NO_SYNC" DG_LZ4_NOTE,
           "page_size 4096 (default), cache_bytes = CACHE, flags 0 (commit syncs)");
/* Not a peer: every digby workload once more, encrypted. */
const engine_t engine_digby_enc =
    ENGINE_O("digby-enc", "digby encrypted", 0, dge_open, dg, DG_HAS_LZ4, DG_NO_ENC,
             "as digby, plus key = a fixed raw 32-byte key, cipher DIGBY_CIPHER_AES256_GCM (AES-256-GCM "
             "of every page written and of every page read into the cache; a raw key: no PBKDF2 at open)",
             "as digby, plus the same key and cipher");
/* Not a peer: every digby workload once more, reading through a map. */
const engine_t engine_digby_mmap =
    ENGINE_O("digby-mmap", "digby mmap", 0, dgm_open, dg, DG_HAS_LZ4, NULL,
             "as digby, plus flags DIGBY_OPEN_MMAP (branch and leaf pages read in place from a read-only "
             "map of the file, large values copied out of it, each page verified the first time it is "
             "read; the cache holds only freelist pages; the mapped file lives in the OS page cache, as "
             "LMDB's does)",
             "as digby, plus DIGBY_OPEN_MMAP");
