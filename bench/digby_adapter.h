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

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
    if (variant == DG_LOG) {
        o.flags |= DIGBY_OPEN_LOG;
        o.memtable_bytes = c->memtable_bytes;   /* 0: digby's default, 64 MiB */
    }
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

/* The compact workload: digby_compact on the open handle. */
static int dg_compact(void *sp)
{
    return dg_check(digby_compact(((dg_s *)sp)->d->db, 0, NULL), "digby_compact");
}
#define dg_version digby_version

/* ---- digby-log's log figures and replay (engine_t.log_stats, .replay) ---- */

#ifdef DIGBY_OPEN_LOG
/* digby_stat: it walks and verifies every page (log pages too), so it is
   called only untimed. */
static int dg_log_stats(void *db, result_t *r)
{
    digby_stats st;
    if (dg_check(digby_stat(((dg_db *)db)->db, &st), "digby_stat")) return -1;
    r->have_log = 1;
    r->mt_bytes = st.memtable_bytes;
    r->mt_entries = st.memtable_entries;
    r->mt_checkpoints = st.checkpoints;
    r->log_bytes = st.log_bytes;
    r->log_pages = st.log_pages;
    r->page_size = st.page_size;
    return 0;
}

#define DG_DEFAULT_MEMTABLE ((uint64_t)64 << 20)   /* digby_options.memtable_bytes 0 */

static uint64_t dg_mix(uint64_t z)   /* splitmix64's finalizer */
{
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}
static double dg_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* What the forked filler reports through its pipe. */
typedef struct {
    int ok;
    uint64_t entries, mt_bytes, log_bytes, checkpoints;
    double secs;
    char msg[400];
} dg_fill_t;

/* The forked process: commit transactions of 1,000 puts of distinct
   pseudo-random keys until the memtable is about one commit short of
   bound (a commit that passes the bound would run a checkpoint: then the
   fill failed), report, and _exit without digby_close: the log stays live
   in the file, as after a crash. */
static void dg_replay_fill(const char *path, const cfg_t *c, uint64_t bound, int fd)
{
    digby_options o;
    digby_db *db = NULL;
    digby_stats st;
    dg_fill_t f;
    char key[32], *vals;
    size_t vlen = ((size_t)1 << 20) + c->val_size, i;
    uint64_t n = 0, batches = 0, since = 0, gap = 16, ck0, k;
    double t0 = dg_now();
    int rc;
    memset(&f, 0, sizeof f);
    vals = malloc(vlen);
    for (i = 0; i < vlen; i++) vals[i] = (char)dg_mix(i + 1);
    memset(&o, 0, sizeof o);
    o.flags = DIGBY_OPEN_LOG | (c->sync ? 0 : DIGBY_OPEN_NO_SYNC);
    o.cache_bytes = c->cache_bytes;
    o.memtable_bytes = c->memtable_bytes;
    if ((rc = digby_open(path, &o, &db)) || (rc = digby_stat(db, &st))) {
        snprintf(f.msg, sizeof f.msg, "filler: digby_open/digby_stat: %s", digby_strerror(rc));
        goto out;
    }
    ck0 = st.checkpoints;
    for (;;) {
        digby_txn *txn;
        if ((rc = digby_txn_begin(db, 0, &txn))) break;
        for (i = 0; i < 1000 && rc == DIGBY_OK; i++, n++) {
            int j;
            /* key number: even, below 10^15, distinct with high probability */
            k = 2 * (dg_mix(n + 0x5EED) % UINT64_C(500000000000000));
            for (j = c->key_size - 1; j >= 0; j--) { key[j] = (char)('0' + k % 10); k /= 10; }
            rc = digby_txn_put(txn, NULL, key, (size_t)c->key_size,
                               vals + dg_mix(n) % (vlen - c->val_size), c->val_size, 0);
        }
        if (rc) { digby_txn_abort(txn); break; }
        if ((rc = digby_txn_commit(txn))) break;
        batches++;
        if (++since < gap) continue;
        since = 0;
        if ((rc = digby_stat(db, &st))) break;
        if (st.checkpoints != ck0) break;
        {
            uint64_t per = st.memtable_bytes / batches + 1;
            uint64_t left = st.memtable_bytes < bound ? bound - st.memtable_bytes : 0;
            if (left < 3 * per) break;            /* one more commit might pass the bound */
            gap = (left / per - 2) / 2;           /* halve the distance each time */
            if (gap < 1) gap = 1;
        }
    }
    if (rc == DIGBY_OK) rc = digby_stat(db, &st);
    if (rc) {
        snprintf(f.msg, sizeof f.msg, "filler: %s after %" PRIu64 " puts", digby_strerror(rc), n);
    } else if (st.checkpoints != ck0) {
        snprintf(f.msg, sizeof f.msg, "filler: a checkpoint ran during the fill (%" PRIu64 " puts): "
                 "the memtable passed its bound", n);
    } else {
        f.ok = 1;
        f.entries = st.memtable_entries;
        f.mt_bytes = st.memtable_bytes;
        f.log_bytes = st.log_bytes;
        f.checkpoints = st.checkpoints;
    }
out:
    f.secs = dg_now() - t0;
    if (write(fd, &f, sizeof f) != (ssize_t)sizeof f) _exit(2);
    _exit(0);   /* no digby_close: the crash image */
}

/* One timed digby_open of the crash image, its replay figures, close. */
static int dg_replay_open(const char *path, const cfg_t *c, int readonly, double *open_s, double *replay_ns,
                          uint64_t *commits, uint64_t *bytes, double *close_s, result_t *r)
{
    digby_options o;
    digby_db *db;
    digby_stats st;
    double t0;
    int rc;
    memset(&o, 0, sizeof o);
    o.flags = DIGBY_OPEN_LOG | DIGBY_OPEN_NO_CREATE | (readonly ? DIGBY_OPEN_READONLY : 0) |
              (c->sync ? 0 : DIGBY_OPEN_NO_SYNC);
    o.cache_bytes = c->cache_bytes;
    o.memtable_bytes = c->memtable_bytes;
    t0 = dg_now();
    rc = digby_open(path, &o, &db);
    *open_s = dg_now() - t0;
    if (rc) {
        snprintf(r->msg, sizeof r->msg, "digby_open(%s) of the crash image: %s",
                 readonly ? "read-only" : "log mode", digby_strerror(rc));
        return -1;
    }
    rc = digby_stat(db, &st);
    if (rc == DIGBY_OK) {
        *replay_ns = (double)st.replay_ns;
        *commits = st.replay_commits;
        *bytes = st.replay_bytes;
    } else {
        snprintf(r->msg, sizeof r->msg, "digby_stat after replay: %s", digby_strerror(rc));
    }
    t0 = dg_now();
    if (digby_close(db) && rc == DIGBY_OK) rc = DIGBY_IOERR;
    if (close_s) *close_s = dg_now() - t0;
    return rc ? -1 : 0;
}

static void dg_replay(const char *dir, const cfg_t *c, result_t *r)
{
    char sub[4200], path[4300];
    uint64_t bound = c->memtable_bytes ? c->memtable_bytes : DG_DEFAULT_MEMTABLE, commits = 0, bytes = 0;
    dg_fill_t f;
    struct stat sb;
    int pfd[2], status, fd;
    pid_t pid;
    r->rp_bound = bound;
    snprintf(sub, sizeof sub, "%s/replay", dir);
    snprintf(path, sizeof path, "%s/db.digby", sub);
    mkdir(sub, 0755);
    unlink(path);
    if (pipe(pfd)) { r->status = 1; snprintf(r->msg, sizeof r->msg, "pipe failed"); return; }
    fflush(NULL);
    pid = fork();
    if (pid < 0) { r->status = 1; snprintf(r->msg, sizeof r->msg, "fork failed"); return; }
    if (pid == 0) { close(pfd[0]); dg_replay_fill(path, c, bound, pfd[1]); }
    close(pfd[1]);
    memset(&f, 0, sizeof f);
    if (read(pfd[0], &f, sizeof f) != (ssize_t)sizeof f) snprintf(f.msg, sizeof f.msg, "filler died");
    close(pfd[0]);
    waitpid(pid, &status, 0);
    r->rp_fill_secs = f.secs;
    if (!f.ok) { r->status = 1; snprintf(r->msg, sizeof r->msg, "%s", f.msg); goto done; }
    r->rp_entries = f.entries;
    r->rp_mt_bytes = f.mt_bytes;
    r->have_log = 1;
    r->log_bytes = f.log_bytes;
    r->mt_checkpoints = f.checkpoints;
    if (stat(path, &sb) == 0) r->rp_file_bytes = (uint64_t)sb.st_size;
    /* warm: the file as the filler left it, in the page cache; a read-only
       handle replays into its memtable and merges nothing */
    if (dg_replay_open(path, c, 1, &r->rp_warm_open, &r->rp_warm_ns, &commits, &bytes, NULL, r)) {
        r->status = 1;
        goto done;
    }
    /* cold: to the device, out of the page cache, then the writable open a
       restart after a crash makes */
    if ((fd = open(path, O_RDONLY)) >= 0) {
        if (fsync(fd) == 0 && posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0) r->rp_cold_dropped = 1;
        close(fd);
    }
    if (dg_replay_open(path, c, 0, &r->rp_cold_open, &r->rp_cold_ns, &r->rp_commits, &r->rp_bytes,
                       &r->rp_close_secs, r)) {
        r->status = 1;
        goto done;
    }
    if (commits != r->rp_commits || bytes != r->rp_bytes)
        snprintf(r->msg, sizeof r->msg, "the read-only open replayed %" PRIu64 " commits / %" PRIu64
                 " bytes, the writable one %" PRIu64 " / %" PRIu64, commits, bytes, r->rp_commits, r->rp_bytes);
    r->ops = r->rp_commits;
    r->secs = r->rp_cold_ns * 1e-9;
done:
    unlink(path);
    rmdir(sub);
}
#else
#define dg_log_stats NULL
#define dg_replay NULL
#endif

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
