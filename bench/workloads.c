/* workloads.c -- the engine's own process: keys, values and randomness, the
 * workloads, and what is measured around each (time, VmHWM, settling of
 * background work, file size).  The parent (bench.c) sends it workloads
 * through a pipe; child_main runs them.
 */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

const wl_info_t wl_info[W_COUNT] = {
    [W_FILLSEQ] = { "fillseq", 1, "N puts in key order, transactions of 1,000, not synced" },
    [W_FILLRANDOM] = { "fillrandom", 1, "N puts in random order (a permutation), transactions of 1,000, not synced" },
    [W_OVERWRITE] = { "overwrite", 1, "N puts of random existing keys, transactions of 1,000, not synced" },
    [W_READRANDOM_MEM] = { "readrandom-mem", 0, "as readrandom, but with no reopen before it: run right after the fill, so that digby-log's memtable still holds what the fill committed (the memtable group)" },
    [W_READSEQ_MEM] = { "readseq-mem", 0, "as readseq, the memtable as readrandom-mem left it" },
    [W_SEEKRANDOM_MEM] = { "seekrandom-mem", 0, "as seekrandom, the memtable as readrandom-mem left it" },
    [W_READRANDOM] = { "readrandom", 0, "N gets of random existing keys, after closing and reopening the database, one read snapshot per round" },
    [W_READMISSING] = { "readmissing", 0, "N gets of random absent keys (between present ones)" },
    [W_READSEQ] = { "readseq", 0, "one forward cursor scan of all keys" },
    [W_READREVERSE] = { "readreverse", 0, "one backward cursor scan of all keys" },
    [W_SEEKRANDOM] = { "seekrandom", 0, "N seeks (>= a random existing key), each followed by 10 nexts; ops = seeks" },
    [W_READRANDOM2T] = { "readrandom2t", 0, "N gets of random existing keys split over 2 threads (each its own snapshot); ops/s in total" },
    [W_DELETERANDOM] = { "deleterandom", 1, "N/2 deletes of distinct random existing keys, transactions of 1,000, not synced" },
    [W_COMPACT] = { "compact", 1, "give the free space back to the file system, once: digby_compact(db, 0) (merge sparse leaves, move live pages down, truncate; the handle stays open), SQLite VACUUM (then the untimed wal_checkpoint(TRUNCATE)); ops = 1, the size after it in the file size table" },
    [W_FILLSYNC] = { "fillsync", 1, "1,000 puts of random keys into an empty database, each its own durable commit; run as 20 rounds of 50, the engines interleaved round by round (sync latency on this shared disk drifts by 10x within minutes)" },
    [W_FILLSYNC4T] = { "fillsync4t", 1, "4 threads, each with its own session (SQLite: its own connection), each put of a random key its own durable commit, 4,000 in all, into the database fillsync left; run as 20 rounds of 200 (50 per thread; threads started afresh each round, the clock from a barrier to the last thread's end), interleaved as fillsync; ops/s in total. Writers serialize in every engine but the LSMs' and digby's group commit (when it is in the build) can share one sync among the threads waiting" },
    [W_FILL100K] = { "fill100K", 1, "N/100 puts of 100,000-byte incompressible values, random order, transactions of 100, not synced" },
    [W_FILL100K_LZ4] = { "fill100K-lz4", 1, "as fill100K, values compressible ~2:1, lz4 on (engines without lz4: n/a)" },
    [W_MPROC] = { "mproc", 1, "multi-process readrandom under overwrite, the mproc group (after its fillrandom): the engine's process closes its handle and forks 2 reader processes and 1 writer process, each of which opens the database itself (digby: digby_open of the same path; LMDB: its own environment; SQLite: its own connection, WAL); when all three are open they start together and run for MPROC_SECONDS / 3 (MPROC_SECONDS default 10; QUICK 5), in 3 rounds interleaved with the other engines (new processes each round): each reader does gets of random existing keys, each get in its own read transaction / snapshot (begin, get, end), checking the value's length; the writer puts random existing keys in transactions of 1,000, not synced (overwrite). ops/s = the readers' gets/s, each reader's own rate summed; the writer's puts/s in the mproc table. A process that fails says why and exits non-zero: the engine reads n/a" },
    [W_REPLAY] = { "replay", 0, "digby-log only: a forked process commits transactions of 1,000 random puts (no sync) until digby-log's memtable is one commit short of its bound (default 64 MiB), then _exit()s without digby_close: the log is live in the file, no checkpoint; then, timed, digby_open of that image: read-only with the file in the page cache (warm), and writable in log mode after fsync and posix_fadvise(DONTNEED) (cold: the log read from the device); digby_stats gives the replay's commits, bytes and nanoseconds" },
};

typedef struct wctx {
    const engine_t *e;
    void *db;
    void *s;              /* the main thread's session */
    cfg_t c;
    const char *dir;
    uint32_t *perm;       /* fill order (random groups) */
    pool_t pool;
} wctx_t;

double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#define CHECK_DEADLINE(i, t0) \
    (((i) & 1023) == 0 && g_max_seconds > 0 && now() - (t0) > g_max_seconds)

/* The end of a timed loop: i operations done since t0.  failed_at (NULL:
   none failed) names what failed, "at op 7: <the adapter's error>". */
static void end_timed(result_t *res, uint64_t i, double t0, const char *failed_at)
{
    res->ops = i;
    res->secs = now() - t0;
    if (failed_at) {
        res->status = 1;
        snprintf(res->msg, sizeof res->msg, "at %s %" PRIu64 ": %s", failed_at, i, t_err);
    }
}

/* A read snapshot with the session's cursor open in it (scans, seeks);
   -1 when either fails (then neither is open). */
static int cursor_begin(const engine_t *e, void *s)
{
    if (e->rbegin(s)) return -1;
    if (e->cur_open(s)) { e->rend(s); return -1; }
    return 0;
}
static void cursor_end(const engine_t *e, void *s)
{
    e->cur_close(s);
    e->rend(s);
}

/* Puts count keys, key number keyno(i), in transactions of `batch`. */
typedef uint64_t (*keyfn)(wctx_t *w, uint64_t i, uint64_t *rng);

static uint64_t key_seq(wctx_t *w, uint64_t i, uint64_t *r) { (void)w; (void)r; return 2 * i; }
static uint64_t key_perm(wctx_t *w, uint64_t i, uint64_t *r) { (void)r; return 2 * (uint64_t)w->perm[i]; }
static uint64_t key_rand(wctx_t *w, uint64_t i, uint64_t *r) { (void)i; return 2 * rng_below(r, w->c.n); }

static void do_puts_s(wctx_t *w, void *s, result_t *res, uint64_t count, int batch, keyfn kf,
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
            if (e->wbegin(s)) goto fail;
            in_txn = 1;
        }
        make_key(key, w->c.key_size, kf(w, i, &rk));
        if (del) {
            rc = e->del(s, key, (size_t)w->c.key_size);
            if (rc < 0) goto fail;
            if (rc == 0) res->found++;
        } else {
            if (e->put(s, key, (size_t)w->c.key_size, pool_value(&w->pool, &rv, vsize), vsize)) goto fail;
        }
        if ((i + 1) % (uint64_t)batch == 0) {
            in_txn = 0;
            if (e->wcommit(s)) goto fail_committed;
        }
    }
    if (in_txn) { in_txn = 0; if (e->wcommit(s)) goto fail_committed; }
    end_timed(res, i, t0, NULL);
    return;
fail:
    if (in_txn) e->wabort(s);
fail_committed:
    end_timed(res, i, t0, "op");
}

static void do_puts(wctx_t *w, result_t *res, uint64_t count, int batch, keyfn kf,
                    uint64_t seed, size_t vsize, int del)
{
    do_puts_s(w, w->s, res, count, batch, kf, seed, vsize, del);
    res->user_bytes = res->ops * ((uint64_t)w->c.key_size + (del ? 0 : vsize));
}

/* fillsync4t: nthreads threads, each its own session, each put its own
   commit (durable: the group's sync mode). */
typedef struct {
    wctx_t *w; void *s; uint64_t count, seed; result_t r; pthread_barrier_t *bar;
} wthr_t;

static void *writer_thread(void *arg)
{
    wthr_t *t = arg;
    pthread_barrier_wait(t->bar);
    do_puts_s(t->w, t->s, &t->r, t->count, 1, key_rand, t->seed, t->w->c.val_size, 0);
    return NULL;
}

static void do_puts_threads(wctx_t *w, result_t *res, int nthreads, uint64_t total, uint64_t seed)
{
    wthr_t t[8];
    pthread_t tid[8];
    pthread_barrier_t bar;
    double t0;
    int i;
    memset(t, 0, sizeof t);
    pthread_barrier_init(&bar, NULL, (unsigned)nthreads + 1);
    /* every session first (SQLite: a connection each), untimed */
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
    }
    for (i = 0; i < nthreads; i++) pthread_create(&tid[i], NULL, writer_thread, &t[i]);
    pthread_barrier_wait(&bar);
    t0 = now();
    for (i = 0; i < nthreads; i++) pthread_join(tid[i], NULL);
    res->secs = now() - t0;
    for (i = 0; i < nthreads; i++) {
        res->ops += t[i].r.ops;
        res->expect_ops += t[i].r.expect_ops;
        if (t[i].r.status && !res->status) {
            res->status = t[i].r.status;
            snprintf(res->msg, sizeof res->msg, "thread %d: %s", i, t[i].r.msg);
        }
        w->e->session_free(t[i].s);
    }
    res->user_bytes = res->ops * ((uint64_t)w->c.key_size + w->c.val_size);
    pthread_barrier_destroy(&bar);
}

/* count gets of key numbers 2*rand (+1 when missing) in one read snapshot. */
typedef struct { wctx_t *w; void *s; uint64_t count, seed; int missing; result_t r; double t0; } getjob_t;

static void do_gets(wctx_t *w, void *s, result_t *res, uint64_t count, uint64_t seed, int missing)
{
    char key[64], buf[256];
    uint64_t i = 0, r = seed;
    size_t vn;
    int rc = 0;
    double t0 = now();
    res->expect_ops = count;
    if (w->e->rbegin(s)) { end_timed(res, 0, t0, "op"); return; }
    for (i = 0; i < count; i++) {
        if (CHECK_DEADLINE(i, t0)) { res->status = 4; break; }
        make_key(key, w->c.key_size, 2 * rng_below(&r, w->c.n) + (missing ? 1 : 0));
        rc = w->e->get(s, key, (size_t)w->c.key_size, buf, sizeof buf, &vn);
        if (rc < 0) break;
        if (rc == 0) {
            res->found++;
            if (vn != w->c.val_size) {
                res->status = 2;
                snprintf(res->msg, sizeof res->msg, "value of %zu bytes, expected %zu", vn, w->c.val_size);
            }
        }
    }
    w->e->rend(s);
    end_timed(res, i, t0, rc < 0 ? "op" : NULL);
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
    if (cursor_begin(e, w->s)) { end_timed(res, 0, t0, "entry"); return; }
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
    cursor_end(e, w->s);
    res->found = i;
    end_timed(res, i, t0, rc < 0 ? "entry" : NULL);
    if (sum == 42) fputc(' ', stderr);   /* keep the reads */
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
    if (cursor_begin(e, w->s)) { end_timed(res, 0, t0, "seek"); return; }
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
    cursor_end(e, w->s);
    end_timed(res, i, t0, rc < 0 ? "seek" : NULL);
    if (sum == 42) fputc(' ', stderr);   /* keep the reads */
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

/* All n bytes through fd, written (writing) or read, again after EINTR;
   -1 on an error or an early end. */
static int io_all(int fd, char *c, size_t n, int writing)
{
    while (n) {
        ssize_t k = writing ? write(fd, c, n) : read(fd, c, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        c += k; n -= (size_t)k;
    }
    return 0;
}
int write_all(int fd, const void *p, size_t n) { return io_all(fd, (char *)p, n, 1); }
int read_all(int fd, void *p, size_t n) { return io_all(fd, p, n, 0); }

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
static NOINLINE void wl_compact(wctx_t *w, result_t *r)
{
    double t0;
    r->expect_ops = 1;
    if (!w->e->compact) {
        r->status = 3;
        snprintf(r->msg, sizeof r->msg, "no compaction in place in this engine");
        return;
    }
    t0 = now();
    if (w->e->compact(w->s)) {
        r->status = 1;
        snprintf(r->msg, sizeof r->msg, "compact: %s", t_err);
    } else {
        r->ops = 1;
    }
    r->secs = now() - t0;
}
static NOINLINE void wl_fillsync(wctx_t *w, result_t *r, int round)
{
    do_puts(w, r, FILLSYNC_OPS / FILLSYNC_ROUNDS, 1, key_rand, 109 + 1000 * (uint64_t)round, w->c.val_size, 0);
}
static NOINLINE void wl_fillsync4t(wctx_t *w, result_t *r, int round)
{
    do_puts_threads(w, r, FILLSYNC4T_THREADS, FILLSYNC4T_OPS / FILLSYNC_ROUNDS, 111 + 1000 * (uint64_t)round);
}
static NOINLINE void wl_fill100k(wctx_t *w, result_t *r) { do_puts(w, r, w->c.n / 100, 100, key_perm, 110, 100000, 0); }

/* ---- mproc: readers and a writer, each a process of its own --------------- */

/* What each forked process reports through its pipe: first an int
   (MP_READY once its database is open, MP_FAILED if the open failed), then
   this, when it ends (at once after MP_FAILED). */
enum { MP_READY = 1, MP_FAILED = 2 };
typedef struct mp_child {
    int status;           /* 0 ok, 1 error, 2 wrong answer */
    uint64_t ops, found, commits;
    double secs;
    uint64_t hwm_kb;
    char msg[400];
} mp_child_t;

static void mp_tag(char *buf, size_t n, int role)
{
    if (role == MPROC_READERS) snprintf(buf, n, "writer");
    else snprintf(buf, n, "reader %d", role + 1);
}

/* The forked process: role 0 .. MPROC_READERS-1 a reader, MPROC_READERS
   the writer.  It opens the engine itself (nothing of the parent's handle
   survives: the parent closed it before the fork), says MP_READY, waits
   for the parent to close the go pipe, runs for g_mproc_secs, closes the
   engine (untimed) and reports.  Exits 0, or 1 after printing why. */
static void mp_child_main(wctx_t *w, int role, int go_fd, int res_fd)
{
    const engine_t *e = w->e;
    mp_child_t m;
    void *db, *s = NULL;
    char tag[32], key[64], buf[256];
    uint64_t rk = 112 + 7919 * (uint64_t)role, rv = rk ^ 0xABCDEF, i;
    int hello, rc = 0, in_txn = 0;
    double t0, deadline;
    memset(&m, 0, sizeof m);
    mp_tag(tag, sizeof tag, role);
    db = e->open(w->dir, &w->c);
    if (db && !(s = e->session(db))) { e->close(db); db = NULL; }
    if (!db) {
        m.status = 1;
        snprintf(m.msg, sizeof m.msg, "%s: open: %.300s", tag, t_err);
        fprintf(stderr, "  mproc %s %s\n", e->name, m.msg);
        hello = MP_FAILED;
        write_all(res_fd, &hello, sizeof hello);
        write_all(res_fd, &m, sizeof m);
        _exit(1);
    }
    hello = MP_READY;
    if (write_all(res_fd, &hello, sizeof hello)) _exit(1);
    for (;;) {   /* the start: the parent closes the go pipe (EOF) */
        ssize_t k = read(go_fd, buf, 1);
        if (k >= 0 || errno != EINTR) break;
    }
    t0 = now();
    deadline = t0 + g_mproc_secs / MPROC_ROUNDS;
    if (role == MPROC_READERS) {
        while (now() < deadline) {
            if (e->wbegin(s)) { rc = -1; break; }
            in_txn = 1;
            for (i = 0; i < 1000; i++) {
                make_key(key, w->c.key_size, 2 * rng_below(&rk, w->c.n));
                if (e->put(s, key, (size_t)w->c.key_size, pool_value(&w->pool, &rv, w->c.val_size), w->c.val_size)) {
                    rc = -1;
                    break;
                }
            }
            if (rc) break;
            in_txn = 0;
            if (e->wcommit(s)) { rc = -1; break; }
            m.ops += 1000;
            m.commits++;
        }
        if (rc < 0) {   /* the error's text, before wabort can overwrite it */
            m.status = 1;
            snprintf(m.msg, sizeof m.msg, "%s: after %" PRIu64 " ops: %.300s", tag, m.ops, t_err);
        }
        if (in_txn) e->wabort(s);
    } else {
        size_t vn;
        for (i = 0;; i++) {
            if ((i & 255) == 0 && now() >= deadline) break;
            make_key(key, w->c.key_size, 2 * rng_below(&rk, w->c.n));
            if (e->rbegin(s)) { rc = -1; break; }
            rc = e->get(s, key, (size_t)w->c.key_size, buf, sizeof buf, &vn);
            e->rend(s);
            if (rc < 0) break;
            if (rc == 1 || vn != w->c.val_size) {
                m.status = 2;
                snprintf(m.msg, sizeof m.msg, "%s: get %" PRIu64 ": %s", tag, i,
                         rc == 1 ? "an existing key not found" : "a value of the wrong length");
                rc = 0;
                break;
            }
            m.found++;
        }
        m.ops = i;
    }
    m.secs = now() - t0;
    if (rc < 0 && !m.status) {
        m.status = 1;
        snprintf(m.msg, sizeof m.msg, "%s: after %" PRIu64 " ops: %.300s", tag, m.ops, t_err);
    }
    e->session_free(s);
    e->close(db);
    m.hwm_kb = proc_status_kb("VmHWM");
    if (m.status) fprintf(stderr, "  mproc %s %s\n", e->name, m.msg);
    write_all(res_fd, &m, sizeof m);
    _exit(m.status ? 1 : 0);
}

/* n bytes from fd within secs seconds; -1 on an error, an early end or
   the time running out. */
static int read_within(int fd, void *p, size_t n, double secs)
{
    double end = now() + secs;
    char *c = p;
    while (n) {
        struct pollfd pf = { fd, POLLIN, 0 };
        double left = end - now();
        ssize_t k;
        int pr;
        if (left <= 0) return -1;
        pr = poll(&pf, 1, (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) return -1;
        k = read(fd, c, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        c += k; n -= (size_t)k;
    }
    return 0;
}

static int open_engine(wctx_t *w);
static void close_engine(wctx_t *w);

static NOINLINE void wl_mproc(wctx_t *w, result_t *r)
{
    enum { NP = MPROC_READERS + 1 };
    pid_t pid[NP];
    int res[NP], go[2], i, k, failed = -1, bad = 0;
    mp_child_t m[NP];
    char tag[32];
    double rate = 0, wall = 0;
    memset(m, 0, sizeof m);
    /* no handle crosses a fork: the engine's own is closed, and opened
       again after the children end */
    close_engine(w);
    if (pipe(go)) { r->status = 1; snprintf(r->msg, sizeof r->msg, "pipe failed"); goto reopen; }
    for (i = 0; i < NP; i++) {
        int p[2];
        pid[i] = -1;
        res[i] = -1;
        if (pipe(p)) break;
        fflush(NULL);
        pid[i] = fork();
        if (pid[i] < 0) { close(p[0]); close(p[1]); break; }
        if (pid[i] == 0) {
            close(go[1]);
            close(p[0]);
            for (k = 0; k < i; k++) close(res[k]);
            mp_child_main(w, i, go[0], p[1]);
        }
        close(p[1]);
        res[i] = p[0];
    }
    close(go[0]);
    if (i < NP) {
        r->status = 3;
        snprintf(r->msg, sizeof r->msg, "pipe or fork failed for process %d", i + 1);
        bad = 1;
    }
    /* every process open, or the first failure's reason */
    for (i = 0; i < NP && !bad; i++) {
        int hello = 0;
        mp_tag(tag, sizeof tag, i);
        if (read_within(res[i], &hello, sizeof hello, 300) || hello != MP_READY) {
            if (hello == MP_FAILED && read_within(res[i], &m[i], sizeof m[i], 10) == 0)
                snprintf(r->msg, sizeof r->msg, "%s", m[i].msg);
            else
                snprintf(r->msg, sizeof r->msg, "%s: ended or hung before its open finished", tag);
            r->status = 3;
            failed = i;
            bad = 1;
        }
    }
    if (bad) {   /* stop the others: none has started */
        for (i = 0; i < NP; i++) if (pid[i] > 0 && i != failed) kill(pid[i], SIGKILL);
    }
    close(go[1]);   /* the start */
    for (i = 0; i < NP && !bad; i++) {
        mp_tag(tag, sizeof tag, i);
        if (read_within(res[i], &m[i], sizeof m[i], g_mproc_secs + 600)) {
            r->status = 3;
            snprintf(r->msg, sizeof r->msg, "%s: ended without a report, or hung", tag);
            bad = 1;
            for (k = 0; k < NP; k++) if (pid[k] > 0) kill(pid[k], SIGKILL);
        } else if (m[i].status && !r->status) {
            r->status = m[i].status == 2 ? 2 : 3;
            snprintf(r->msg, sizeof r->msg, "%s", m[i].msg);
        }
    }
    for (i = 0; i < NP; i++) {
        int st;
        if (res[i] >= 0) close(res[i]);
        if (pid[i] <= 0 || waitpid(pid[i], &st, 0) != pid[i]) continue;
        if (!bad && !r->status && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            mp_tag(tag, sizeof tag, i);
            r->status = 3;
            if (WIFSIGNALED(st))
                snprintf(r->msg, sizeof r->msg, "%s killed by signal %d (%s)", tag, WTERMSIG(st), strsignal(WTERMSIG(st)));
            else
                snprintf(r->msg, sizeof r->msg, "%s exited with status %d", tag, WEXITSTATUS(st));
        }
    }
    if (!bad) {
        for (i = 0; i < MPROC_READERS; i++) {
            r->mp_read_ops[i] = m[i].ops;
            r->mp_read_secs[i] = m[i].secs;
            r->ops += m[i].ops;
            r->found += m[i].found;
            if (m[i].secs > 0) rate += m[i].ops / m[i].secs;
            if (m[i].secs > wall) wall = m[i].secs;
            if (m[i].hwm_kb > r->mp_reader_hwm_kb) r->mp_reader_hwm_kb = m[i].hwm_kb;
        }
        r->mp_write_ops = m[MPROC_READERS].ops;
        r->mp_write_commits = m[MPROC_READERS].commits;
        r->mp_write_secs = m[MPROC_READERS].secs;
        r->mp_write_per_s = r->mp_write_secs > 0 ? r->mp_write_ops / r->mp_write_secs : 0;
        r->mp_writer_hwm_kb = m[MPROC_READERS].hwm_kb;
        r->expect_ops = r->expect_found = r->ops;
        r->secs = wall;
        r->ops_per_s = rate;
        r->mp_ran = r->status == 0;
    }
reopen:
    if (open_engine(w))
        snprintf(r->msg + strlen(r->msg), sizeof r->msg - strlen(r->msg), "%sreopen after mproc: %s",
                 r->msg[0] ? "; " : "", t_err);
}

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

/* /proc/self/io: the whole process (every thread, the engines' background
   threads included).  write_bytes counts the page-cache bytes this process
   dirtied (each page once per writeback cycle, at the time it is dirtied)
   plus direct I/O; cancelled_write_bytes the dirty bytes later dropped by a
   truncate or unlink before writeback.  Returns 0, or -1 when unreadable. */
typedef struct { uint64_t wchar, write_bytes, cancelled; } pio_t;
static int proc_io(pio_t *io)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    int got = 0;
    memset(io, 0, sizeof *io);
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "wchar:", 6)) { io->wchar = strtoull(line + 6, NULL, 10); got |= 1; }
        else if (!strncmp(line, "write_bytes:", 12)) { io->write_bytes = strtoull(line + 12, NULL, 10); got |= 2; }
        else if (!strncmp(line, "cancelled_write_bytes:", 22)) { io->cancelled = strtoull(line + 22, NULL, 10); got |= 4; }
    }
    fclose(f);
    return got == 7 ? 0 : -1;
}

static void run_workload(wctx_t *w, int wl, int round, int nrounds, result_t *r)
{
    int reopen_failed = 0, io_ok;
    pio_t io0, io1;
    memset(r, 0, sizeof *r);
    if ((wl == W_READRANDOM && round == 0)) {   /* after a reopen (untimed) */
        int ok = proc_io(&io0) == 0;
        close_engine(w);
        if (open_engine(w)) reopen_failed = 1;
        if (ok && proc_io(&io1) == 0) {
            r->reopen_write = io1.write_bytes - io0.write_bytes;
            r->reopen_cancel = io1.cancelled - io0.cancelled;
        }
    }
    if (wl == W_FILLRANDOM) { free(w->perm); w->perm = make_perm(w->c.n, 1); }
    if (wl == W_DELETERANDOM) { free(w->perm); w->perm = make_perm(w->c.n, 2); }
    if (wl == W_FILL100K || wl == W_FILL100K_LZ4) { free(w->perm); w->perm = make_perm(w->c.n / 100, 3); }
    r->hwm_reset = reset_hwm();
    r->base_kb = proc_status_kb("VmRSS");
    io_ok = proc_io(&io0) == 0;
    if (reopen_failed || (!w->db && wl != W_MPROC)) {
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
        case W_COMPACT: wl_compact(w, r); break;
        case W_FILLSYNC: wl_fillsync(w, r, round); break;
        case W_FILLSYNC4T: wl_fillsync4t(w, r, round); break;
        case W_FILL100K: case W_FILL100K_LZ4: wl_fill100k(w, r); break;
        case W_MPROC: wl_mproc(w, r); break;
        case W_READRANDOM_MEM: wl_readrandom(w, r, round, nrounds); r->expect_found = r->ops; break;
        case W_READSEQ_MEM: wl_readseq(w, r, round, nrounds); r->expect_found = r->expect_ops; break;
        case W_SEEKRANDOM_MEM: wl_seekrandom(w, r, round, nrounds); r->expect_found = r->ops; break;
        case W_REPLAY:
            if (w->e->replay) {
                w->e->replay(w->dir, &w->c, r);
            } else {
                r->status = 3;
                snprintf(r->msg, sizeof r->msg, "no log in this engine");
            }
            break;
        }
        /* Answers must be right: LSM deletes do not say whether the key
           was there, so deleterandom is checked on the B-trees only. */
        if (r->status == 0 && !wl_info[wl].writes && r->found != r->expect_found) {
            r->status = 2;
            snprintf(r->msg, sizeof r->msg, "found %" PRIu64 " keys, expected %" PRIu64,
                     r->found, r->expect_found);
        }
        if (r->status == 0 && wl == W_DELETERANDOM && w->e != engines[E_LEVELDB] &&
            w->e != engines[E_ROCKSDB] && r->found != r->ops) {
            r->status = 2;
            snprintf(r->msg, sizeof r->msg, "deleted %" PRIu64 " keys of %" PRIu64, r->found, r->ops);
        }
        if (r->status == 4)
            snprintf(r->msg, sizeof r->msg, "stopped after %.0f s: %" PRIu64 " of %" PRIu64 " ops",
                     g_max_seconds, r->ops, r->expect_ops);
    }
    if (wl != W_MPROC) r->ops_per_s = r->secs > 0 ? r->ops / r->secs : 0;   /* mproc: each reader's rate, summed */
    r->hwm_kb = proc_status_kb("VmHWM");
    if (wl == W_MPROC)   /* the largest of the forked processes' */
        r->hwm_kb = r->mp_reader_hwm_kb > r->mp_writer_hwm_kb ? r->mp_reader_hwm_kb : r->mp_writer_hwm_kb;
    r->rss_anon_kb = proc_status_kb("RssAnon");
    r->rss_file_kb = proc_status_kb("RssFile");
    if (wl_info[wl].writes && w->s && w->e->quiesce) w->e->quiesce(w->s);
    r->settle_secs = settle();
    sync();
    /* the untimed quiesce, settle and sync are in the count: deferred work
       (LSM flushes and compactions, SQLite's checkpoint) belongs to the
       workload that caused it */
    if (io_ok && proc_io(&io1) == 0) {
        r->io_ok = 1;
        r->io_write = io1.write_bytes - io0.write_bytes;
        r->io_cancel = io1.cancelled - io0.cancelled;
        r->io_wchar = io1.wchar - io0.wchar;
    }
    dir_size(w->dir, &r->file_bytes, &r->alloc_bytes);
    if (w->c.log_stats && w->db && w->e->log_stats && w->e->log_stats(w->db, r))
        snprintf(r->msg + strlen(r->msg), sizeof r->msg - strlen(r->msg), "%slog stats: %s",
                 r->msg[0] ? "; " : "", t_err);
}

void child_main(int eng, const cfg_t *c, const char *dir, int cmd_fd, int res_fd)
{
    wctx_t w;
    int cmd[3];   /* workload, round, rounds */
    result_t r;
    memset(&w, 0, sizeof w);
    w.e = engines[eng];
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
