/* digby_adapter.h -- the digby adapter: the engine_t functions over
 * digby's API (prefix dg; open functions dg_open, dgc_open, dge_open for
 * the variants).  Compiled by engine_digby.c (digby's default build) and
 * again by engine_digby_openssl.c (DIGBY_STATIC + DIGBY_CRYPTO_OPENSSL),
 * each after including ../digby.h with DIGBY_IMPLEMENTATION: every
 * function here is static, so each translation unit's adapter calls its
 * own build of digby.
 */
#ifndef DIGBY_ADAPTER_H
#define DIGBY_ADAPTER_H

#include "bench.h"

typedef struct { digby_db *db; } dg_db;
typedef struct { dg_db *d; digby_txn *txn; digby_cursor *cur; } dg_s;

/* rc of digby call `what`: 0 if DIGBY_OK, else -1 with the error in
   t_err.  dg_found: DIGBY_NOTFOUND is 1 (a miss, or the cursor's end). */
static int dg_check(int rc, const char *what) { return rc == DIGBY_OK ? 0 : set_rc_err(what, digby_strerror(rc), rc); }
static int dg_found(int rc, const char *what) { return rc == DIGBY_NOTFOUND ? 1 : dg_check(rc, what); }

/* The encrypted engines' key: a fixed raw 32-byte key (AES-256-GCM), so
   that open derives nothing (no PBKDF2: a raw key is only HMAC'd into the
   key-encryption key). */
static const uint8_t dg_key[32] = {
    0x64, 0x69, 0x67, 0x62, 0x79, 0x2d, 0x62, 0x65, 0x6e, 0x63, 0x68, 0x2d, 0x6b, 0x65, 0x79, 0x21,
    0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0,
};

/* The options: zeroed (digby's defaults: reads from a map of the file, an
   8 MiB cache), then cache_bytes = CACHE unless the group sets no cache size
   (c->cache_bytes 0), the workload's sync mode and compression, and the
   variant's own: DG_PLAIN nothing more, DG_NO_MMAP DIGBY_OPEN_NO_MMAP,
   DG_ENCRYPTED the key and cipher (an encrypted file is never mapped),
   DG_LOG DIGBY_OPEN_LOG (log mode, issue #11). */
enum { DG_PLAIN, DG_NO_MMAP, DG_ENCRYPTED, DG_LOG };
static void *dg_open_opts(const char *dir, const cfg_t *c, int variant)
{
    char path[4200];
    digby_options o;
    dg_db *d = calloc(1, sizeof *d);
    memset(&o, 0, sizeof o);
    o.cache_bytes = c->cache_bytes;
    o.flags = c->sync ? 0 : DIGBY_OPEN_NO_SYNC;
    o.compression = c->lz4 ? DIGBY_COMPRESS_LZ4 : DIGBY_COMPRESS_NONE;
    if (variant == DG_NO_MMAP) o.flags |= DIGBY_OPEN_NO_MMAP;
#ifdef DIGBY_OPEN_LOG
    if (variant == DG_LOG) o.flags |= DIGBY_OPEN_LOG;
#endif
    if (variant == DG_ENCRYPTED) {
        o.key = dg_key;
        o.key_bytes = sizeof dg_key;
        o.cipher = DIGBY_CIPHER_AES256_GCM;
    }
    snprintf(path, sizeof path, "%s/db.digby", dir);
    if (dg_check(digby_open(path, &o, &d->db), "digby_open")) { free(d); return NULL; }
    return d;
}
static void *dg_open(const char *dir, const cfg_t *c) { return dg_open_opts(dir, c, DG_PLAIN); }
static void *dgc_open(const char *dir, const cfg_t *c) { return dg_open_opts(dir, c, DG_NO_MMAP); }
static void *dge_open(const char *dir, const cfg_t *c) { return dg_open_opts(dir, c, DG_ENCRYPTED); }
static void *dgl_open(const char *dir, const cfg_t *c) { return dg_open_opts(dir, c, DG_LOG); }
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

/* digby's lz4 (digby_options.compression), unless the build leaves it out
   (DIGBY_NO_LZ4: digby_open() would return DIGBY_NOFEATURE). */
#ifndef DIGBY_NO_LZ4
#define DG_HAS_LZ4 1
#define DG_LZ4_NOTE ", compression DIGBY_COMPRESS_LZ4 in the lz4 workload (else none, the default)"
#else
#define DG_HAS_LZ4 0
#define DG_LZ4_NOTE " (built with DIGBY_NO_LZ4: no lz4)"
#endif

/* The encrypted engines' settings (both backends). */
#define DG_ENC_NOTE "as digby cache (encrypted files are never mapped: every page is read through the cache), " \
    "plus key = a fixed raw 32-byte key, cipher DIGBY_CIPHER_AES256_GCM (AES-256-GCM of every page " \
    "written and of every page read into the cache; a raw key: no PBKDF2 at open)"

#endif
