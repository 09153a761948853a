/* bench.h -- what the benchmark's files share: the configuration, the
 * engine vtable and the table of engines, the workload ids, the result of a
 * workload, the groups and shapes, and the helpers more than one file uses.
 *
 *   bench.c            the driver: groups and shapes, one process per engine, main
 *   workloads.c        keys, values, the workloads and their measurement (the
 *                      engine's own process)
 *   report.c           the tables, printed and written to RESULTS.md
 *   engines.c          the table of engines and the adapters' error text
 *   engine_digby.c     the digby engines on digby's default backend (digby,
 *                      digby-cache, digby-enc: mbedTLS); always built
 *   engine_digby_openssl.c  digby-enc-openssl: digby.h again in its own
 *                      translation unit, DIGBY_STATIC + DIGBY_CRYPTO_OPENSSL;
 *                      linked in when bench/Makefile finds <openssl/evp.h>
 *   digby_adapter.h    the digby adapter both of them compile
 *   engine_lmdb.c, engine_sqlite.c, engine_leveldb.c, engine_rocksdb.c
 *                      the peers' adapters, each linked in when bench/Makefile
 *                      builds that peer
 *   engine_absent.c    the entry of a peer left out (compiled once for each)
 */
#ifndef BENCH_H
#define BENCH_H

#define _GNU_SOURCE
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================== */
/* Configuration                                                            */
/* ======================================================================== */

typedef struct cfg {
    uint64_t n;          /* keys in the key space */
    int key_size;        /* bytes */
    size_t val_size;     /* bytes */
    int sync;            /* 1: every commit durable; 0: the engine's no-sync mode */
    int lz4;             /* 1: lz4 compression on (engines that have it) */
    size_t cache_bytes;  /* each engine's cache; 0: set none (the library's default) */
    size_t memtable_bytes; /* digby-log's digby_options.memtable_bytes; 0: digby's default (64 MiB) */
    int log_stats;       /* 1: after each workload, untimed, read the engine's log figures
                            (engine_t.log_stats: digby-log's digby_stat) */
} cfg_t;

/* Set from the environment in main (bench.c). */
extern uint64_t g_n;
extern size_t g_cache_bytes;
extern double g_max_seconds;
extern char g_dir[4096];
extern int g_quick;
extern uint64_t g_big_n;        /* N of the big group (BIG_N; default 10,000,000) */
extern size_t g_mem_group_bytes; /* memtable_bytes in the memtable group (MEMTABLE_MB, or sized for N) */
extern double g_mproc_secs;     /* the mproc workload's length (MPROC_SECONDS; default 10, QUICK 5) */

/* Thread-local error text: every adapter call that fails writes here
   (engines.c). */
extern __thread char t_err[512];
void set_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For adapters over libraries that return an int code: call `what` failed
   with code rc, text msg.  Sets "what: msg (rc N)"; returns -1. */
int set_rc_err(const char *what, const char *msg, int rc);

double now(void);   /* CLOCK_MONOTONIC, seconds */

/* ======================================================================== */
/* The engine vtable                                                        */
/* ======================================================================== */

struct result;   /* below */

/* Every call returns 0 (ok), 1 (not found / cursor ran off the end) or -1
   (error, text in t_err).  A "session" is one thread's context: its current
   transaction or batch and its one cursor. */
typedef struct engine {
    const char *name;    /* for --engines and the progress lines */
    const char *title;   /* column heading */
    int peer;            /* 1: a peer (digby's ratios are to the best peer) */
    int has_lz4;
    const char *missing; /* non-NULL: not in this build (why) */
    void *(*open)(const char *dir, const cfg_t *c);      /* NULL on error */
    void (*close)(void *db);
    void *(*session)(void *db);                          /* NULL on error */
    void (*session_free)(void *s);
    int (*wbegin)(void *s);            /* start a write transaction / batch */
    int (*wcommit)(void *s);           /* commit it (durable iff cfg.sync) */
    void (*wabort)(void *s);           /* drop it after an error */
    int (*put)(void *s, const void *k, size_t kn, const void *v, size_t vn);
    int (*del)(void *s, const void *k, size_t kn);
    int (*rbegin)(void *s);            /* start a read snapshot */
    void (*rend)(void *s);
    int (*get)(void *s, const void *k, size_t kn, void *buf, size_t cap, size_t *vn);
    int (*cur_open)(void *s);
    void (*cur_close)(void *s);
    int (*seek)(void *s, const void *k, size_t kn);     /* first key >= k */
    int (*seek_le)(void *s, const void *k, size_t kn);  /* last key <= k (then prev) */
    int (*first)(void *s);
    int (*last)(void *s);
    int (*next)(void *s);
    int (*prev)(void *s);
    int (*cur_get)(void *s, const void **k, size_t *kn, const void **v, size_t *vn);
    /* After a write workload, untimed, before the file size is taken: bring
       the files to rest (NULL: nothing to do). */
    void (*quiesce)(void *s);
    const char *(*version)(void); /* the library's version, for the report (NULL: not stated) */
    const char *settings_sync0;   /* stated in the output */
    const char *settings_sync1;
    /* Optional (NULL for every engine but digby-log), both untimed:
       log_stats fills r's memtable / log figures (mt_*, log_*; have_log 1);
       returns 0 or -1.  replay runs the replay workload in a directory of
       its own under dir (fills rp_* in r; status 1 and msg on failure). */
    int (*log_stats)(void *db, struct result *r);
    void (*replay)(const char *dir, const struct cfg *c, struct result *r);
    /* Optional (NULL: the compact workload is n/a): give free space back
       to the file system in place (digby: digby_compact; SQLite: VACUUM).
       0 or -1. */
    int (*compact)(void *s);
} engine_t;

/* ENGINE_O: an adapter's functions (prefix p) with its own open function.
   An adapter without quiesce or version defines p##_quiesce / p##_version
   as NULL. */
#define ENGINE(nm, title, peer, p, lz4, s0, s1) ENGINE_O(nm, title, peer, p##_open, p, lz4, NULL, s0, s1)
#define ENGINE_O(nm, title, peer, op, p, lz4, missing, s0, s1) \
    ENGINE_X(nm, title, peer, op, p, lz4, missing, s0, s1, NULL, NULL)
/* ENGINE_C: ENGINE plus the optional compact function. */
#define ENGINE_C(nm, title, peer, p, lz4, s0, s1, cp) \
    ENGINE_XC(nm, title, peer, p##_open, p, lz4, NULL, s0, s1, NULL, NULL, cp)
/* ENGINE_X: ENGINE_O plus the optional log_stats and replay functions. */
#define ENGINE_X(nm, title, peer, op, p, lz4, missing, s0, s1, ls, rp) \
    ENGINE_XC(nm, title, peer, op, p, lz4, missing, s0, s1, ls, rp, NULL)
#define ENGINE_XC(nm, title, peer, op, p, lz4, missing, s0, s1, ls, rp, cp) \
    { nm, title, peer, lz4, missing, op, p##_close, p##_session, p##_session_free, p##_wbegin, p##_wcommit, \
      p##_wabort, p##_put, p##_del, p##_rbegin, p##_rend, p##_get, p##_cur_open, p##_cur_close, \
      p##_seek, p##_seek_le, p##_first, p##_last, p##_next, p##_prev, p##_cur_get, p##_quiesce, \
      p##_version, s0, s1, ls, rp, cp }

/* Engine indexes (the targets table and the exact-delete check name them). */
enum {
    E_DIGBY, E_DIGBY_CACHE, E_DIGBY_ENC, E_DIGBY_ENC_OSSL, E_DIGBY_LOG, E_LMDB, E_SQLITE, E_LEVELDB, E_ROCKSDB, NENGINES
};

/* Defined by the engine files: engine_digby.c always; digby-enc-openssl by
   engine_digby_openssl.c and each peer by its engine_<peer>.c or, when left
   out of the build, by engine_absent.c. */
extern const engine_t engine_digby, engine_digby_cache, engine_digby_enc, engine_digby_enc_openssl,
    engine_digby_log;
extern const engine_t engine_lmdb, engine_sqlite, engine_leveldb, engine_rocksdb;
extern const engine_t *const engines[NENGINES];   /* by engine index */
/* The names of the engines this build can run (avail 1: no `missing`) or
   not (avail 0), ", "-separated, into buf; returns how many. */
int engine_names(char *buf, size_t n, int avail);

/* ======================================================================== */
/* Workloads                                                                */
/* ======================================================================== */

/* The order is the tables' row order.  The -mem reads are the same as
   readrandom, readseq and seekrandom but run with no reopen before them, so
   that digby-log's memtable still holds what the fill put there (the
   memtable group); replay is digby-log's replay of a full log (its own table). */
enum {
    W_FILLSEQ, W_FILLRANDOM, W_OVERWRITE, W_READRANDOM_MEM, W_READSEQ_MEM, W_SEEKRANDOM_MEM,
    W_READRANDOM, W_READMISSING, W_READSEQ,
    W_READREVERSE, W_SEEKRANDOM, W_READRANDOM2T, W_DELETERANDOM, W_COMPACT, W_FILLSYNC, W_FILLSYNC4T,
    W_FILL100K, W_FILL100K_LZ4, W_MPROC, W_REPLAY, W_COUNT
};
typedef struct wl_info { const char *name; int writes; const char *desc; } wl_info_t;
extern const wl_info_t wl_info[W_COUNT];

/* A round's share: operations lo .. lo+n-1 of n in total. */
#define READ_ROUNDS 5
#define ROUND_LO(n, r, nr) ((n) * (uint64_t)(r) / (uint64_t)(nr))
#define ROUND_N(n, r, nr) (ROUND_LO(n, (r) + 1, nr) - ROUND_LO(n, r, nr))
/* fillsync runs in FILLSYNC_ROUNDS rounds, interleaved with the other
   engines round by round: sync latency on a shared disk drifts a lot. */
#define FILLSYNC_OPS 1000
#define FILLSYNC_ROUNDS 20
/* fillsync4t: FILLSYNC4T_THREADS threads, each its own session making
   durable commits of one put; FILLSYNC4T_OPS in all, in FILLSYNC_ROUNDS
   rounds as fillsync (each round starts the threads afresh). */
#define FILLSYNC4T_THREADS 4
#define FILLSYNC4T_OPS 4000
/* mproc: MPROC_READERS reader processes and one writer process, forked by
   the engine's process after it closed its own handle, each opening the
   database itself. */
#define MPROC_READERS 2
/* mproc runs in MPROC_ROUNDS rounds of MPROC_SECONDS / MPROC_ROUNDS each,
   the engines interleaved round by round (new processes each round). */
#define MPROC_ROUNDS 3
/* Rounds of a workload (bench.c interleaves the engines round by round). */
#define WL_ROUNDS(wl) ((wl) == W_MPROC ? MPROC_ROUNDS \
                       : (wl) == W_FILLSYNC || (wl) == W_FILLSYNC4T ? FILLSYNC_ROUNDS \
                       : (wl) == W_REPLAY || wl_info[wl].writes ? 1 : READ_ROUNDS)

typedef struct result {
    int status;            /* 0 ok, 1 error, 2 wrong answer, 3 n/a, 4 partial, 5 crashed */
    uint64_t ops;          /* operations done */
    uint64_t expect_ops;   /* operations planned */
    uint64_t found;        /* gets/scans that found their key */
    uint64_t expect_found;
    double secs;
    double ops_per_s;
    uint64_t warm_ops;     /* rounds after the first (read workloads): */
    double warm_secs;      /* ... the cache warm from round 1's reads */
    uint64_t file_bytes;   /* apparent size, sum of the engine's directory */
    uint64_t alloc_bytes;  /* st_blocks * 512 */
    uint64_t hwm_kb;       /* VmHWM after the workload */
    uint64_t base_kb;      /* VmRSS when the workload started */
    int hwm_reset;         /* 1: VmHWM was reset at the start */
    double settle_secs;    /* background work after the timed part */
    /* Write amplification (/proc/self/io of the engine's process, every
       thread): from the start of the timed part to after the untimed
       settle and sync() that follow it (summed over rounds). */
    uint64_t io_write;     /* write_bytes: bytes this process caused to be written to storage */
    uint64_t io_cancel;    /* cancelled_write_bytes: dirty page-cache bytes dropped before writeback */
    uint64_t io_wchar;     /* wchar: bytes passed to write()-like calls */
    int io_ok;             /* 1: /proc/self/io was readable */
    uint64_t user_bytes;   /* key + value bytes the workload put (keys only for deletes) */
    /* readrandom: the bytes written by the untimed close and reopen before
       it (digby-log's close merges the memtable; LSMs flush at open). */
    uint64_t reopen_write, reopen_cancel;
    uint64_t rss_anon_kb, rss_file_kb;   /* RssAnon, RssFile at the end of the timed part */
    /* Log figures after the workload (cfg.log_stats, engine_t.log_stats). */
    int have_log;
    uint64_t mt_bytes, mt_entries, mt_checkpoints, log_bytes, log_pages, page_size;
    /* replay (engine_t.replay): the crash image and its replay. */
    uint64_t rp_bound;         /* memtable_bytes the fill ran under */
    uint64_t rp_entries;       /* entries committed before the crash */
    uint64_t rp_mt_bytes;      /* memtable arena bytes at the crash */
    uint64_t rp_file_bytes;    /* the file at the crash */
    double rp_fill_secs;
    uint64_t rp_commits, rp_bytes;     /* what open replayed (digby_stats) */
    double rp_warm_ns, rp_warm_open;   /* replay_ns, digby_open's wall time: read-only open, file in the page cache */
    double rp_cold_ns, rp_cold_open;   /* the same, writable log-mode open after the file was dropped from the page cache */
    int rp_cold_dropped;               /* 1: posix_fadvise(DONTNEED) returned 0 */
    double rp_close_secs;              /* digby_close after the writable open (merges the replayed memtable) */
    /* mproc (W_MPROC): ops, secs and ops_per_s above are the readers' gets,
       summed (ops_per_s: the sum of each reader's gets/s); these are each
       process's own figures, summed over the rounds.  mp_ran 1: every
       process of every round ran to its end. */
    int mp_ran;
    uint64_t mp_read_ops[MPROC_READERS];
    double mp_read_secs[MPROC_READERS];
    uint64_t mp_write_ops, mp_write_commits;
    double mp_write_secs, mp_write_per_s;
    uint64_t mp_reader_hwm_kb, mp_writer_hwm_kb;   /* VmHWM of the children */
    char msg[600];
} result_t;

/* The engine's own process (workloads.c): opens engine eng in dir, then
   runs each workload the parent sends on cmd_fd and answers on res_fd. */
void child_main(int eng, const cfg_t *c, const char *dir, int cmd_fd, int res_fd);
int write_all(int fd, const void *p, size_t n);
int read_all(int fd, void *p, size_t n);

/* ======================================================================== */
/* Groups and shapes (bench.c), results                                     */
/* ======================================================================== */

typedef struct group {
    const char *name;
    int shape;            /* index in shapes[]: key/value sizes, cache, engines, result table */
    int sync, lz4;
    int wl[12];
    int nwl;
    int mem;              /* 1: digby-log's memtable_bytes = g_mem_group_bytes, log figures read */
} group_t;

#define NGROUPS 15
extern const group_t groups[NGROUPS];

/* The shapes, in the order RESULTS.md shows them: the default-options run
   first, then the equal-cache ones. */
enum { SH_DEFAULTS, SH_EQUAL, SH_REDB, SH_BIGCACHE, SH_LOGMODE, SH_BIG, SH_COMPACT, SH_MPROC, NSHAPES };
typedef struct shape {
    int key, val;
    int cache_mult;       /* cache = CACHE_MB * cache_mult; 0: no cache size set
                             (every engine on its library's default) */
    unsigned engines;     /* bit per engine; 0 = all */
    const char *label;
    int big;              /* 1: N is g_big_n (BIG_N), not g_n */
} shape_t;
extern const shape_t shapes[NSHAPES];
uint64_t shape_n(int shape);   /* the N a shape's groups run with */

extern result_t results[NSHAPES][W_COUNT][NENGINES];
extern int ran[NSHAPES][W_COUNT];

/* ======================================================================== */
/* Report (report.c)                                                        */
/* ======================================================================== */

void fmt_ops(char *buf, size_t n, const result_t *r);
void fmt_bytes(char *buf, size_t n, uint64_t b);
void write_report(const char *path, double wall, int argc, char **argv);

#endif
