/* bench.c -- digby against LMDB, SQLite, LevelDB and RocksDB, side by side.
 * This file is the driver (groups, the engines' processes, main); bench.h
 * lists the others.
 *
 * In the style of LevelDB's db_bench: one adapter per engine behind a small
 * vtable, the same workloads with the same deterministic keys and values for
 * every engine, engines interleaved workload by workload.
 *
 * Process model: for each workload group (a fresh database and the workloads
 * that run on it in order) the parent forks one child per engine.  Each
 * child opens its engine in its own directory and then waits on a pipe; the
 * parent sends each workload to each child in turn (the starting engine
 * rotates from workload to workload), so machine drift hits all engines
 * alike, and peak RSS (VmHWM, reset per workload through
 * /proc/self/clear_refs when the kernel allows it) belongs to one engine.
 * After each workload, untimed, a child waits until its own background
 * threads go quiet (LSM flushes and compactions) and then calls sync(), so
 * that one engine's deferred work does not land on the next engine's clock.
 *
 *   build/bench [--engines=digby,lmdb,...] [--workloads=fillrandom,...]
 *               [--groups=random,...] [--results=FILE] [--no-results]
 *   engines: digby (default options: reads from a map of the file),
 *   digby-cache (digby again with DIGBY_OPEN_NO_MMAP: every read through the
 *   bounded cache), digby-enc (AES-256-GCM, a fixed raw key, mbedTLS),
 *   digby-enc-openssl (the same with the OpenSSL backend; built in when
 *   <openssl/evp.h> is installed) -- none of them a peer -- and lmdb,
 *   sqlite, leveldb, rocksdb: those that bench/Makefile built in (the
 *   others read n/a).  Groups: "defaults" runs the random group's
 *   workloads with every engine on its library's default options (no cache
 *   size set); the others give every engine a CACHE_MB cache.
 *   env: N (default 1000000), QUICK=1 (N=100000), BENCH_DIR
 *        (/tmp/digby-bench), CACHE_MB (64), BENCH_MAX_SECONDS (900: a
 *        workload that runs longer is stopped and reported as partial),
 *        BIG_N (the big group's N, default 10000000), MEMTABLE_MB
 *        (digby-log's memtable_bytes in the memtable group; default room
 *        for all N entries at 200 bytes each, at least 64), MPROC_SECONDS
 *        (the mproc workload's length, default 10; QUICK=1: 5).
 *
 * Log mode (issue #11): the sync group runs fillsync then fillsync4t (4
 * threads, each its own session, each put its own durable commit; rounds
 * interleaved as fillsync's); the memtable group (digby, digby-log) reads
 * right after the fill with digby-log's memtable still full (the -mem
 * workloads: no reopen), then readrandom's reopen checkpoints and the same
 * reads run again; the replay group has digby-log time digby_open of a
 * crash image with a full log (engine_t.replay, digby_adapter.h); the big
 * group runs fillrandom and readrandom at N = BIG_N; the compact group
 * (digby and SQLite) runs fillrandom and deleterandom, then gives the space
 * back: digby_compact against VACUUM (the file size table compares them).
 * Every workload's
 * bytes written (/proc/self/io: write_bytes - cancelled_write_bytes,
 * the untimed settle and sync() after it included) give its write
 * amplification (report.c).
 *
 * Multi-process (issue #14): the mproc group loads N keys (fillrandom),
 * then mproc: the engine's process closes its handle and forks 2 reader
 * processes (readrandom, each get its own read transaction) and a writer
 * process (overwrite, transactions of 1,000), each opening the database
 * itself, started together for MPROC_SECONDS / 3, in 3 rounds interleaved
 * with the other engines (new processes each round); digby, LMDB and SQLite (WAL)
 * on their default options.  A process that fails (digby without
 * multi-process support: DIGBY_BUSY at the second open) makes the engine's
 * figure n/a, with the reason.
 */
#include "bench.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* ======================================================================== */
/* Configuration                                                            */
/* ======================================================================== */

uint64_t g_n = 1000000;
size_t g_cache_bytes = (size_t)64 << 20;
double g_max_seconds = 900;
char g_dir[4096] = "/tmp/digby-bench";
int g_quick = 0;
uint64_t g_big_n = 10000000;
size_t g_mem_group_bytes = 0;   /* set in main */
double g_mproc_secs = 10;

/* ======================================================================== */
/* Parent: groups, interleaving                                             */
/* ======================================================================== */

/* Unsized, so that a row added without raising NGROUPS (bench.h) does not compile. */
const group_t groups[] = {
    /* The random group with every engine on its library's default options:
       no cache size set (issue #13's first table). */
    { "defaults", SH_DEFAULTS, 0, 0, { W_FILLRANDOM, W_OVERWRITE, W_READRANDOM, W_READMISSING, W_READSEQ,
                                       W_READREVERSE, W_SEEKRANDOM, W_READRANDOM2T, W_DELETERANDOM }, 9, 0 },
    { "seq", SH_EQUAL, 0, 0, { W_FILLSEQ }, 1, 0 },
    { "random", SH_EQUAL, 0, 0, { W_FILLRANDOM, W_OVERWRITE, W_READRANDOM, W_READMISSING, W_READSEQ,
                                  W_READREVERSE, W_SEEKRANDOM, W_READRANDOM2T, W_DELETERANDOM }, 9, 0 },
    /* fillsync, then fillsync4t into the same database (1,000 keys more
       than empty): digby's ratio to its own single-thread fillsync is taken
       within the group's processes. */
    { "sync", SH_EQUAL, 1, 0, { W_FILLSYNC, W_FILLSYNC4T }, 2, 0 },
    { "100K", SH_EQUAL, 0, 0, { W_FILL100K }, 1, 0 },
    { "100K-lz4", SH_EQUAL, 0, 1, { W_FILL100K_LZ4 }, 1, 0 },
    { "redb-seq", SH_REDB, 0, 0, { W_FILLSEQ }, 1, 0 },
    { "redb-random", SH_REDB, 0, 0, { W_FILLRANDOM, W_OVERWRITE, W_READRANDOM, W_READMISSING, W_READSEQ,
                                      W_READREVERSE, W_SEEKRANDOM, W_READRANDOM2T, W_DELETERANDOM }, 9, 0 },
    { "redb-sync", SH_REDB, 1, 0, { W_FILLSYNC }, 1, 0 },
    /* Supplement: the same reads with a cache larger than the database, so
       that digby's cache-hit path (digby-cache, and the encrypted engines,
       which always read through the cache) is compared with LMDB's (whose
       mmap has the whole file in the OS page cache in every run). */
    { "bigcache", SH_BIGCACHE, 0, 0, { W_FILLRANDOM, W_READRANDOM, W_READMISSING, W_READSEQ, W_SEEKRANDOM,
                                       W_READRANDOM2T }, 6, 0 },
    /* digby-log's reads while its memtable holds the data (memtable_bytes
       sized so that the fill runs no checkpoint), then the same reads after
       the reopen before readrandom (digby_close merges the memtable: a
       checkpoint); digby beside it. */
    { "memtable", SH_LOGMODE, 0, 0, { W_FILLRANDOM, W_READRANDOM_MEM, W_READSEQ_MEM, W_SEEKRANDOM_MEM,
                                      W_READRANDOM, W_READSEQ, W_SEEKRANDOM }, 7, 1 },
    /* digby-log: replay time of a full log (engine_t.replay). */
    { "replay", SH_LOGMODE, 0, 0, { W_REPLAY }, 1, 0 },
    /* How cost grows: N = BIG_N (10M by default), no target. */
    { "big", SH_BIG, 0, 0, { W_FILLRANDOM, W_READRANDOM }, 2, 0 },
    /* Space given back (issue #14 item 3): the file after fillrandom and
       deleterandom, then after digby_compact / SQLite's VACUUM. */
    { "compact", SH_COMPACT, 0, 0, { W_FILLRANDOM, W_DELETERANDOM, W_COMPACT }, 3, 0 },
    /* Issue #14: 2 reader processes doing readrandom while a writer
       process runs overwrite, each process its own handle (wl_mproc,
       workloads.c); digby, LMDB and SQLite on their default options. */
    { "mproc", SH_MPROC, 0, 0, { W_FILLRANDOM, W_MPROC }, 2, 0 },
};

const shape_t shapes[NSHAPES] = {
    [SH_DEFAULTS] = { 16, 100, 0, 0, "16-byte keys, 100-byte values, every engine on its default options" },
    [SH_EQUAL] = { 16, 100, 1, 0, "16-byte keys, 100-byte values" },
    [SH_REDB] = { 24, 150, 1, 0, "redb-shaped: 24-byte keys, 150-byte values" },
    [SH_BIGCACHE] = { 16, 100, 8, (1u << E_DIGBY) | (1u << E_DIGBY_CACHE) | (1u << E_DIGBY_ENC) |
                                      (1u << E_DIGBY_ENC_OSSL) | (1u << E_LMDB),
                      "16-byte keys, 100-byte values, cache 8x larger (digby's engines and LMDB only)" },
    [SH_LOGMODE] = { 16, 100, 1, (1u << E_DIGBY) | (1u << E_DIGBY_LOG),
                     "digby-log's memtable and log: 16-byte keys, 100-byte values (digby and digby-log only)" },
    [SH_BIG] = { 16, 100, 1, (1u << E_DIGBY) | (1u << E_DIGBY_LOG) | (1u << E_LMDB) | (1u << E_LEVELDB) |
                                 (1u << E_ROCKSDB),
                 "big: 16-byte keys, 100-byte values, N = BIG_N (digby, digby-log, LMDB, LevelDB, RocksDB)", 1 },
    [SH_COMPACT] = { 16, 100, 1, (1u << E_DIGBY) | (1u << E_SQLITE),
                     "compaction in place: 16-byte keys, 100-byte values, fillrandom, deleterandom (half the "
                     "keys), then digby_compact against SQLite's VACUUM (digby and SQLite only)" },
    [SH_MPROC] = { 16, 100, 0, (1u << E_DIGBY) | (1u << E_DIGBY_LOG) | (1u << E_LMDB) | (1u << E_SQLITE),
                   "multi-process: 16-byte keys, 100-byte values, every engine on its default options (digby, "
                   "digby-log, LMDB, SQLite)" },
};

uint64_t shape_n(int shape) { return shapes[shape].big ? g_big_n : g_n; }

result_t results[NSHAPES][W_COUNT][NENGINES];
int ran[NSHAPES][W_COUNT];
static int engine_on[NENGINES];
static int wl_on[W_COUNT];
static int group_on[NGROUPS];

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}
static void rm_rf(const char *p) { nftw(p, rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

static void run_group(int gi)
{
    const group_t *g = &groups[gi];
    cfg_t c;
    pid_t pid[NENGINES];
    int cmd[NENGINES], res[NENGINES], alive[NENGINES];
    char dir[NENGINES][4200];
    int e, k, wi;
    static int rotation = 0;

    memset(&c, 0, sizeof c);
    c.n = shape_n(g->shape);
    c.memtable_bytes = g->mem ? g_mem_group_bytes : 0;
    c.log_stats = g->mem;
    c.key_size = shapes[g->shape].key;
    c.val_size = (size_t)shapes[g->shape].val;
    c.sync = g->sync;
    c.lz4 = g->lz4;
    c.cache_bytes = g_cache_bytes * (size_t)shapes[g->shape].cache_mult;

    if (c.cache_bytes)
        fprintf(stderr, "== group %s (%s, N=%" PRIu64 ", cache %zu MiB%s)\n", g->name, shapes[g->shape].label, c.n,
                c.cache_bytes >> 20, g->mem ? ", digby-log memtable_bytes sized for N" : "");
    else
        fprintf(stderr, "== group %s (%s, N=%" PRIu64 ", no cache size set)\n", g->name, shapes[g->shape].label,
                c.n);
    fflush(stderr);
    for (e = 0; e < NENGINES; e++) {
        int p1[2], p2[2];
        alive[e] = 0;
        pid[e] = -1;
        if (!engine_on[e] || engines[e]->missing || (g->lz4 && !engines[e]->has_lz4)) continue;
        if (shapes[g->shape].engines && !(shapes[g->shape].engines & (1u << e))) continue;
        snprintf(dir[e], sizeof dir[e], "%s/%s-%s", g_dir, g->name, engines[e]->name);
        rm_rf(dir[e]);
        if (mkdir(dir[e], 0755)) { perror(dir[e]); continue; }
        if (pipe(p1) || pipe(p2)) { perror("pipe"); exit(1); }
        fflush(NULL);
        pid[e] = fork();
        if (pid[e] < 0) { perror("fork"); exit(1); }
        if (pid[e] == 0) {
            close(p1[1]); close(p2[0]);
            for (k = 0; k < e; k++) if (alive[k]) { close(cmd[k]); close(res[k]); }
            child_main(e, &c, dir[e], p1[0], p2[1]);
        }
        close(p1[0]); close(p2[1]);
        cmd[e] = p1[1]; res[e] = p2[0];
        alive[e] = 1;
    }

    for (wi = 0; wi < g->nwl; wi++) {
        int wl = g->wl[wi];
        int skip = !wl_on[wl];
        int round, nrounds = WL_ROUNDS(wl);
        ran[g->shape][wl] = !skip;
        for (e = 0; e < NENGINES; e++) memset(&results[g->shape][wl][e], 0, sizeof(result_t));
        for (round = 0; round < nrounds; round++, rotation++)
        for (k = 0; k < NENGINES; k++) {
            result_t *r, rr;
            int status;
            int msg[3] = { wl, round, nrounds };
            e = (k + rotation) % NENGINES;
            r = &results[g->shape][wl][e];
            if (r->status == 1 || r->status == 5) continue;   /* failed in an earlier round */
            if (!engine_on[e] || (shapes[g->shape].engines && !(shapes[g->shape].engines & (1u << e)))) {
                r->status = 3;
                continue;
            }
            if (engines[e]->missing) {
                r->status = 3;
                snprintf(r->msg, sizeof r->msg, "%s", engines[e]->missing);
                continue;
            }
            if (g->lz4 && !engines[e]->has_lz4) {
                r->status = 3;
                snprintf(r->msg, sizeof r->msg, "no lz4 in this engine");
                continue;
            }
            if (skip) continue;
            if (!alive[e]) {
                r->status = 5;
                snprintf(r->msg, sizeof r->msg, "process gone after an earlier crash");
                continue;
            }
            if (write_all(cmd[e], msg, sizeof msg) || read_all(res[e], &rr, sizeof rr)) {
                memset(r, 0, sizeof *r);
                r->status = 5;
                waitpid(pid[e], &status, 0);
                if (WIFSIGNALED(status))
                    snprintf(r->msg, sizeof r->msg, "child killed by signal %d (%s)",
                             WTERMSIG(status), strsignal(WTERMSIG(status)));
                else
                    snprintf(r->msg, sizeof r->msg, "child exited (status %d)", WEXITSTATUS(status));
                alive[e] = 0;
                close(cmd[e]); close(res[e]);
            } else if (round == 0) {
                *r = rr;
            } else if (wl == W_MPROC) {   /* each process's figures, summed; the rates from the sums */
                int q;
                double rate = 0;
                rr.mp_ran = r->mp_ran && rr.mp_ran;
                for (q = 0; q < MPROC_READERS; q++) {
                    rr.mp_read_ops[q] += r->mp_read_ops[q];
                    rr.mp_read_secs[q] += r->mp_read_secs[q];
                    if (rr.mp_read_secs[q] > 0) rate += rr.mp_read_ops[q] / rr.mp_read_secs[q];
                }
                rr.mp_write_ops += r->mp_write_ops;
                rr.mp_write_commits += r->mp_write_commits;
                rr.mp_write_secs += r->mp_write_secs;
                rr.mp_write_per_s = rr.mp_write_secs > 0 ? rr.mp_write_ops / rr.mp_write_secs : 0;
                if (r->mp_reader_hwm_kb > rr.mp_reader_hwm_kb) rr.mp_reader_hwm_kb = r->mp_reader_hwm_kb;
                if (r->mp_writer_hwm_kb > rr.mp_writer_hwm_kb) rr.mp_writer_hwm_kb = r->mp_writer_hwm_kb;
                if (r->hwm_kb > rr.hwm_kb) rr.hwm_kb = r->hwm_kb;
                rr.ops += r->ops;
                rr.expect_ops += r->expect_ops;
                rr.found += r->found;
                rr.expect_found += r->expect_found;
                rr.secs += r->secs;
                rr.ops_per_s = rate;
                if (r->status && !rr.status) { rr.status = r->status; memcpy(rr.msg, r->msg, sizeof rr.msg); }
                *r = rr;
            } else {                      /* add this round to the earlier ones */
                uint64_t hwm = r->hwm_kb > rr.hwm_kb ? r->hwm_kb : rr.hwm_kb;
                rr.warm_ops = r->warm_ops + rr.ops;
                rr.warm_secs = r->warm_secs + rr.secs;
                rr.ops += r->ops;
                rr.expect_ops += r->expect_ops;
                rr.found += r->found;
                rr.expect_found += r->expect_found;
                rr.secs += r->secs;
                if (r->settle_secs > rr.settle_secs) rr.settle_secs = r->settle_secs;
                rr.io_write += r->io_write;
                rr.io_cancel += r->io_cancel;
                rr.io_wchar += r->io_wchar;
                rr.io_ok = rr.io_ok && r->io_ok;
                rr.user_bytes += r->user_bytes;
                rr.reopen_write += r->reopen_write;
                rr.reopen_cancel += r->reopen_cancel;
                if (r->rss_anon_kb > rr.rss_anon_kb) rr.rss_anon_kb = r->rss_anon_kb;
                if (r->rss_file_kb > rr.rss_file_kb) rr.rss_file_kb = r->rss_file_kb;
                if (!rr.have_log && r->have_log) {   /* the first round's log figures */
                    rr.have_log = 1;
                    rr.mt_bytes = r->mt_bytes; rr.mt_entries = r->mt_entries;
                    rr.mt_checkpoints = r->mt_checkpoints; rr.log_bytes = r->log_bytes;
                    rr.log_pages = r->log_pages; rr.page_size = r->page_size;
                }
                rr.ops_per_s = rr.secs > 0 ? rr.ops / rr.secs : 0;
                rr.hwm_kb = hwm;
                if (r->status && !rr.status) { rr.status = r->status; memcpy(rr.msg, r->msg, sizeof rr.msg); }
                *r = rr;
            }
            if (round + 1 == nrounds) {
                char ops[64], sz[32];
                fmt_ops(ops, sizeof ops, r);
                fmt_bytes(sz, sizeof sz, r->file_bytes);
                char extra[160] = "";
                if (wl_info[wl].writes && r->user_bytes && r->io_ok)
                    snprintf(extra, sizeof extra, "  wamp %.2f", (double)(r->io_write - r->io_cancel) / r->user_bytes);
                if (r->have_log)
                    snprintf(extra + strlen(extra), sizeof extra - strlen(extra),
                             "  memtable %" PRIu64 " entries, %" PRIu64 " checkpoints", r->mt_entries, r->mt_checkpoints);
                if (wl == W_MPROC && r->mp_ran)
                    snprintf(extra + strlen(extra), sizeof extra - strlen(extra),
                             "  readers %" PRIu64 " + %" PRIu64 " gets; writer %.0f puts/s (%" PRIu64 " commits)",
                             r->mp_read_ops[0], r->mp_read_ops[1], r->mp_write_per_s, r->mp_write_commits);
                if (wl == W_REPLAY && r->rp_bytes)
                    snprintf(extra + strlen(extra), sizeof extra - strlen(extra),
                             "  replay %.1f MiB: %.3f s warm, %.3f s cold (open %.3f s)", r->rp_bytes / 1048576.0,
                             r->rp_warm_ns * 1e-9, r->rp_cold_ns * 1e-9, r->rp_cold_open);
                fprintf(stderr, "  %-13s %-17s %12s ops/s  %7.2f s  file %10s  hwm %6.1f MiB  settle %.1f s%s%s%s\n",
                        wl_info[wl].name, engines[e]->name, ops, r->secs, sz, r->hwm_kb / 1024.0,
                        r->settle_secs, extra, r->msg[0] ? "  -- " : "", r->msg);
                fflush(stderr);
            }
        }
    }
    for (e = 0; e < NENGINES; e++) {
        int stop[3] = { -1, 0, 0 }, status;
        if (!alive[e]) continue;
        write_all(cmd[e], stop, sizeof stop);
        close(cmd[e]); close(res[e]);
        waitpid(pid[e], &status, 0);
    }
    for (e = 0; e < NENGINES; e++) if (pid[e] > 0) rm_rf(dir[e]);
}

/* ---- main ----------------------------------------------------------------- */

static int list_has(const char *list, const char *name)
{
    const char *p = list;
    size_t n = strlen(name);
    while (p && *p) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return 1;
        p = c ? c + 1 : NULL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *results_path = "RESULTS.md", *only_engines = NULL, *only_wl = NULL, *only_groups = NULL;
    const char *env;
    double t0;
    int i;

    if ((env = getenv("QUICK")) && atoi(env)) { g_quick = 1; g_n = 100000; g_mproc_secs = 5; }
    if ((env = getenv("N")) && *env) g_n = strtoull(env, NULL, 10);
    if ((env = getenv("BENCH_DIR")) && *env) snprintf(g_dir, sizeof g_dir, "%s", env);
    if ((env = getenv("CACHE_MB")) && *env) g_cache_bytes = (size_t)strtoull(env, NULL, 10) << 20;
    if ((env = getenv("BENCH_MAX_SECONDS")) && *env) g_max_seconds = atof(env);
    if ((env = getenv("BIG_N")) && *env) g_big_n = strtoull(env, NULL, 10);
    if ((env = getenv("MPROC_SECONDS")) && *env) g_mproc_secs = atof(env);
    /* The memtable group: room for all N entries (about 165 bytes of arena
       each at 16/100, measured on digby 0.2), at least digby's default. */
    g_mem_group_bytes = (size_t)((g_n * 200 + ((1u << 20) - 1)) >> 20) << 20;
    if (g_mem_group_bytes < ((size_t)64 << 20)) g_mem_group_bytes = (size_t)64 << 20;
    if ((env = getenv("MEMTABLE_MB")) && *env) g_mem_group_bytes = (size_t)strtoull(env, NULL, 10) << 20;
    for (i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--engines=", 10)) only_engines = argv[i] + 10;
        else if (!strncmp(argv[i], "--workloads=", 12)) only_wl = argv[i] + 12;
        else if (!strncmp(argv[i], "--groups=", 9)) only_groups = argv[i] + 9;
        else if (!strncmp(argv[i], "--results=", 10)) results_path = argv[i] + 10;
        else if (!strcmp(argv[i], "--no-results")) results_path = NULL;
        else {
            char avail[256], left_out[256];
            engine_names(avail, sizeof avail, 1);
            fprintf(stderr, "usage: %s [--engines=a,b] [--workloads=a,b] [--groups=a,b] [--results=FILE | --no-results]\n"
                            "engines: %s\n", argv[0], avail);
            if (engine_names(left_out, sizeof left_out, 0))
                fprintf(stderr, "not in this build: %s\n", left_out);
            fprintf(stderr, "env: N, QUICK=1, BENCH_DIR, CACHE_MB, BENCH_MAX_SECONDS, BIG_N, MEMTABLE_MB, MPROC_SECONDS\n");
            return 2;
        }
    }
    if (g_n < 1000 || g_n > UINT32_MAX) { fprintf(stderr, "N must be in [1000, 2^32)\n"); return 2; }
    if (g_big_n < 1000 || g_big_n > UINT32_MAX) { fprintf(stderr, "BIG_N must be in [1000, 2^32)\n"); return 2; }
    if (!(g_mproc_secs > 0 && g_mproc_secs <= 3600)) { fprintf(stderr, "MPROC_SECONDS must be in (0, 3600]\n"); return 2; }
    for (i = 0; i < NENGINES; i++) engine_on[i] = !only_engines || list_has(only_engines, engines[i]->name);
    for (i = 0; i < W_COUNT; i++) wl_on[i] = !only_wl || list_has(only_wl, wl_info[i].name);
    for (i = 0; i < NGROUPS; i++) group_on[i] = !only_groups || list_has(only_groups, groups[i].name);

    signal(SIGPIPE, SIG_IGN);
    rm_rf(g_dir);
    if (mkdir(g_dir, 0755) && errno != EEXIST) { perror(g_dir); return 1; }
    fprintf(stderr, "digby bench: N=%" PRIu64 ", cache %zu MiB, dir %s\n", g_n, g_cache_bytes >> 20, g_dir);
    for (i = 0; i < NENGINES; i++)
        if (engines[i]->missing) fprintf(stderr, "  %s: %s\n", engines[i]->name, engines[i]->missing);
    t0 = now();
    for (i = 0; i < NGROUPS; i++) {
        int k, any = 0;
        if (!group_on[i]) continue;
        for (k = 0; k < groups[i].nwl; k++) any |= wl_on[groups[i].wl[k]];
        if (any) run_group(i);
    }
    write_report(results_path, now() - t0, argc, argv);
    rm_rf(g_dir);
    return 0;
}
