/* tests/torture/faults.c -- the fault sweeps of the torture suite (issue #5,
   items 1-3): power cut at every write, sync and truncate of W1000; I/O
   errors at every VFS call and at every system call of the POSIX VFS; the
   Nth allocation failing, for every N.

   W1000: a fixed-seed workload of 1,000 write transactions over the global
   tree and four named tables: puts (some NOOVERWRITE), overwrites, deletes,
   range deletes (1% of operations), gets, overflow values, large keys
   (longer than digby_max_key_bytes), table creates and drops, 5% aborts,
   a close and reopen every 250 transactions, a digby_compact after every
   83rd (a shorter run: half-way), a digby_backup (plain and compacting in
   turn; checked against the model by the unfaulted run; not in sys mode)
   after every 97th (a shorter run: a third of the way), and a read-only snapshot held across 30 commits at a time (its gets are checked against the
   model of the commit it began after).  A reference
   model (per tree and key: present, value length, value seed, version)
   follows every call; values are a function of (seed, length).  The
   model, the workload's operations and the in-memory fault VFS are
   tests/crash_model.h and tests/fault_vfs.h, which tests/crash.c (make
   test) runs on a smaller workload.

   Every sweep forks: the parent runs W1000 once; at each chosen call (VFS
   call or allocation) it forks a child in which that call fails, and waits
   for it.  The child lets the workload meet the failure, then checks what
   must hold, reports into a shared counter block, and exits.  A child that
   crashes, aborts, trips a sanitizer or runs past its alarm is a violation.

   Modes (argv[1]):
     crash  power cut at the chosen write/sync/truncate: it and every later
            call fail.  The unsynced writes are resolved five ways: (a) all
            dropped, (b) all kept, (c) the last write torn at 512-byte
            sector boundaries (first, middle, last), (d) kept in another
            order (two random subsets), (e) one sector of an unsynced write
            (the last one, and a random one) turned to garbage.  Each
            distinct image must open, hold exactly the last acknowledged
            commit or the one in flight, pass digby_check, and take a new
            write and commit.  The error must have reached an API call.
     io     at the chosen VFS call (open, read, write, sync, size, truncate,
            lock): DIGBY_IOERR (EIO), DIGBY_FULL (ENOSPC), and for writes a
            short write (the first half of the sectors written, then
            DIGBY_IOERR), each once and persistently (every later call
            fails too).  The error must come back to the caller as itself
            or DIGBY_POISONED; nothing aborts; after a failed sync no
            commit reports success until reopen (begin gives
            DIGBY_POISONED); after a once-error that did not poison, the
            handle commits again; after a persistent one no commit
            succeeds; the database, reopened from what the process wrote
            and from what was synced, holds every acknowledged commit and
            passes digby_check.
     sys    the POSIX VFS on real files, lock file included (FORMAT.md
            section 14; each child gets a copy of it, as of the file: see
            child_own_lock_file), with its system calls wrapped (ld
            --wrap): at the chosen call of pread, pwrite, fdatasync,
            fsync, ftruncate (the lock file's too, at its creation), open: EINTR and short transfers (must be
            invisible: the workload goes on), EIO and ENOSPC (must come back
            as DIGBY_IOERR and DIGBY_FULL), then the checks of io.
     oom    at the chosen allocation through digby_options.allocator: NULL,
            once and persistently.  DIGBY_NOMEM must come back (or
            DIGBY_POISONED after it); after close every allocation made
            through the hooks is freed (and LeakSanitizer runs in the child
            under ASan); the file reopens intact.

   Log mode (-g): every open passes DIGBY_OPEN_LOG with the smallest
   memtable (64 KiB), so commits append to the write-ahead log and
   checkpoints come often (and at every escalation: a large value, a large
   key, a table created or dropped); 40% of transactions commit with
   DIGBY_TXN_NO_SYNC (tests/crash_model.h keeps the states a power cut may
   still leave: such a commit may be lost, whole, until the next durable
   point); every 17th transaction is followed by digby_sync and every
   97th by digby_checkpoint; overflow values are rarer (2% of puts), so
   that most transactions stay in the log (so are the large value put and
   deleted and the scratch table; no large keys, no table drops); and every LOG_CRASH_EVERY (50) transactions, half-way, the
   process "dies" with a live log: the file as it was before digby_close (which
   checkpoints and drops the log) is put back after the close, and the
   reopen replays the log.  The faults thus hit log appends, syncs,
   checkpoints, escalations and replay.  A fault that only the automatic
   checkpoint of a successful commit or digby_close met may go unreported
   (neither can return it: the commit is in the log already, and
   digby_close returns DIGBY_OK); the row counts those, and the checks of
   the contents, of digby_check and of the next commits still apply.

   Options: -p PAGE_SIZE  -e (encrypted, AES-256-GCM)  -z (lz4 on)
            -g (log mode)  -G (log mode as the default open gives it: the
            library's memtable size and W1000 unchanged; the expectations of
            -g below that concern the log, none of its tuning)  -n TXNS (W1000: 1000)  -s STEP (every STEP-th call)
            -f FIRST -l LAST (call range)  -t LABEL (figure row label)
            -o FILE (append the figure row)  -q (quiet)  -B (break the
            expectation on purpose: the sweep must then report violations)
            -L (oom: leak on purpose in each child: the same)
   Exit status: 0 when no violation was seen. */

#define _DEFAULT_SOURCE 1
/* log mode (-g): the memtable's list is folded into its run past 16
   nodes (the library's is 16,384), so that folds come often */
#define DIGBY__MEM_FOLD 16
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "../seen_errors.h" /* the results the sweeps see, for doc_errors.py */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REOPEN_EVERY 250
#define LOG_CRASH_EVERY 50 /* log mode: a reopen with replay, half-way between */
#define LOG_SYNC_EVERY 17
#define LOG_CHECKPOINT_EVERY 97
#define COMPACT_EVERY 83      /* a digby_compact after every 83rd transaction */
#define BACKUP_EVERY 97       /* a digby_backup after every 97th (not in sys mode) */
#define BACKUP_PATH "backup.db"
#define LOG_NOSYNC_PCT 40
#define LOG_HIST_MAX 8
#define LOG_MEMTABLE_BYTES ((size_t)64 << 10)
#define SNAP_EVERY 40
#define SNAP_OPEN 5
#define SNAP_CLOSE 35
#define CHILD_EXTRA_TXNS 2
#define CHILD_ALARM_S 300
#define MAX_REPORTED 20
#define DEFAULT_SEED 0x57100d1b5eedULL
#define DBPATH "w1000.db"

/* W1000's model and mix: 5 trees (global + 4 named), 240 keys; 6% of
   transactions 30-69 operations, the rest 1-10; 50% puts, 15% overwrites,
   23% deletes, 12% gets; in every 20th transaction (by txid) a savepoint,
   six puts after it, a rollback to it and its release. */
#define MODEL_TREES 5
#define MODEL_KEYS 240
#define MODEL_KEY_BYTES 900
#define MODEL_BIG_TXN 30
#define MODEL_SMALL_TXN 10
#define MODEL_DELETE_BELOW 88
#include "../crash_model.h" /* the model and workload, on ../fault_vfs.h */

#if UNDER_ASAN
#include <sanitizer/lsan_interface.h>
#endif

static const uint8_t g_key32[32] = {
    9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

/* ---- configuration and shared results ---------------------------------- */

typedef struct cfg {
    const char *mode;
    uint32_t ps;
    int enc, lz4, log;
    int logx;   /* opened in log mode (-g, -G, DIGBY_LOG_DEFAULT): its expectations */
    int ntxn;
    uint64_t step, first, last;
    const char *label, *out;
    int quiet, brk, leak;
    uint64_t seed;
    char dir[512];
} cfg;

static cfg C;

/* Counters the children add to (the parent waits for each child, so there
   is never more than one writer). */

typedef struct shared {
    uint64_t points, children, states, states_a, states_b, states_torn,
        states_reorder, states_garbage, dup_skipped, a_skipped;
    uint64_t match_old, match_new;
    uint64_t faults, surfaced, swallowed, poisoned_begin, recommitted,
        refused_after_fail, reopens;
    uint64_t rc_hist[32];
    uint64_t violations;
    uint64_t backups;        /* copies made and checked by the unfaulted run */
    uint64_t leak_checks, absorbed;
    uint64_t match_hist;     /* log mode: a state before no-sync commits */
    uint64_t torn_nosync;    /* ... as written, after a short write (see there) */
    uint64_t unreported_ckpt; /* log mode: met only by an automatic checkpoint or close */
    uint64_t replays, replay_commits, syncs, checkpoints, nosync_commits, ckpt_total;
    uint64_t kind_points[FV_NKINDS]; /* faulted calls by kind */
    int a_matched_old;       /* the last child's all-dropped state was checked */
} shared;

static shared *S;
static int g_child;
static const char *g_phase = "";
/* sys mode (see there): */
static int g_sys_armed;        /* count and inject */
static int g_sys_persist;      /* SF_EIO/SF_ENOSPC on every later call */
static int g_sys_failed_sync;  /* a sync was failed */
/* log mode: where the child's fault was injected */
static int g_in_close;         /* the workload is in digby_close */
static int g_inj_in_commit;    /* the fault came inside digby_txn_commit */
static int g_inj_in_close;     /* ... inside digby_close */
static int g_inj_short;        /* the fault was a short write (io mode) */
static int g_inj_meta;         /* ... at a write of a meta page (pages 0, 1) */
static mstate g_hist[LOG_HIST_MAX];
static int g_nofault;          /* the figures' own digby_stat calls: no fault */

static void violation(const char *fmt, ...)
{
    va_list ap;
    S->violations++;
    if (S->violations > MAX_REPORTED) return;
    va_start(ap, fmt);
    fprintf(stderr, "faults %s: VIOLATION: ", C.mode);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fflush(stderr);
}

static void die(const char *msg)
{
    fprintf(stderr, "faults: %s\n", msg);
    exit(2);
}

static void fv_out_of_memory(const char *what)
{
    fprintf(stderr, "faults: out of memory (%s)\n", what);
    exit(2);
}

static void rc_count(int rc)
{
    int i = -rc;
    if (i < 0 || i >= 32) i = 31;
    S->rc_hist[i]++;
}

/* ---- the allocator hooks -------------------------------------------------- */

typedef struct halloc {
    uint64_t calls;       /* allocating calls so far */
    int64_t live;         /* blocks handed out and not freed */
    uint64_t fail_at;     /* fail this call (1-based); 0: never */
    int persist;          /* ... and every later one */
    int failed;           /* a call was refused */
    int (*hook)(struct halloc *a); /* 1: refuse this call */
} halloc;

static halloc H;

static int ha_refuse(void)
{
    H.calls++;
    if (H.fail_at && (H.calls == H.fail_at || (H.persist && H.calls > H.fail_at))) {
        H.failed = 1;
        return 1;
    }
    if (H.hook && H.hook(&H)) {
        H.failed = 1;
        return 1;
    }
    return 0;
}

static void *ha_malloc(void *ctx, size_t n)
{
    void *p;
    (void)ctx;
    if (ha_refuse()) return NULL;
    p = malloc(n);
    if (p) H.live++;
    return p;
}

static void *ha_realloc(void *ctx, void *ptr, size_t n)
{
    void *p;
    (void)ctx;
    if (ha_refuse()) return NULL;
    p = realloc(ptr, n);
    if (p && !ptr) H.live++;
    return p;
}

static void ha_free(void *ctx, void *ptr)
{
    (void)ctx;
    if (ptr) H.live--;
    free(ptr);
}

/* ---- keys and values ------------------------------------------------------- */

static mkey *g_keys;
static unsigned char *g_vb;    /* value scratch */
static size_t g_vmax;

/* Sorted distinct keys: shared prefixes, one of max_key bytes, a few large
   keys (past max_key) that tie on long prefixes. */
static void gen_keys(mkey *keys, uint64_t seed, size_t max_key)
{
    uint64_t s = seed ^ 0x1234567ULL;
    size_t n, j, cap = sizeof keys[0].p - 1;
    if (max_key > cap) max_key = cap;
    n = model_keys_begin(keys, max_key);
    /* (log mode: none; each would escalate its transaction) */
    while (n < (C.log ? 2u : 12u) && max_key + 40 < cap) {
        size_t extra = 1 + (size_t)(splitmix(&s) % 30);
        size_t len = max_key + extra > cap ? cap : max_key + extra;
        memset(keys[n].p, 'L', len);
        for (j = len - extra; j < len; j++) keys[n].p[j] = (unsigned char)('a' + splitmix(&s) % 3);
        keys[n].n = len;
        n = model_key_keep(keys, n);
    }
    model_keys_finish(keys, n, &s, max_key, 80);
}

/* ---- the workload ------------------------------------------------------------ */

static wl W;

static uint32_t wvlen(wl *w)
{
    size_t r = wbelow(w, 100);
    size_t lo = C.ps / 2, span = 2 * (size_t)C.ps;
    if (C.log) {
        /* log mode: values that stay in the memtable (up to an eighth of a
           page, at most 1,500 bytes), and overflow values (which escalate
           their transaction) in 0.5% of puts, not 10% */
        size_t mid = C.ps / 8 > 1500 ? 1500 : C.ps / 8;
        if (r < 40) return (uint32_t)wbelow(w, 41);
        if (r < 99 || wbelow(w, 2)) return (uint32_t)(41 + wbelow(w, mid - 41));
    }
    if (r < 60) return (uint32_t)wbelow(w, 41);
    if (r < 90) return (uint32_t)(41 + wbelow(w, 260));
    if (lo + span > g_vmax) span = g_vmax - lo;
    return (uint32_t)(lo + wbelow(w, span)); /* overflow pages */
}

/* Two gets in the snapshot, against the state it began with. */
static int snap_check(wl *w)
{
    int j;
    for (j = 0; j < 2; j++) {
        int tr = (int)wbelow(w, MODEL_TREES);
        size_t k = wbelow(w, MODEL_KEYS);
        const ment *e = &w->snm.e[tr][k];
        digby_table *t = NULL;
        const void *val = NULL;
        size_t vn = 0;
        uint64_t ver = 0;
        int rc;
        if (tr) {
            rc = digby_table_open(w->snap, tree_names[tr], 0, &t);
            if (rc != (w->snm.exists[tr] ? DIGBY_OK : DIGBY_NOTFOUND))
                return wstop(w, rc, "snapshot table open");
            if (!w->snm.exists[tr]) continue;
        }
        rc = digby_txn_get(w->snap, t, g_keys[k].p, g_keys[k].n, &val, &vn, &ver);
        if (rc != (e->present ? DIGBY_OK : DIGBY_NOTFOUND))
            return wstop(w, rc, "snapshot get");
        if (rc == DIGBY_OK) {
            vfill(g_vb, e->vlen, e->vseed);
            if (vn != e->vlen || (vn && memcmp(val, g_vb, vn)) || ver != e->version)
                return wstop(w, -999, "snapshot get: wrong value");
        }
    }
    return 0;
}

/* One write transaction (crash_model.h's operations, then W1000's own:
   a large value put and deleted, a scratch table); 1 when the workload
   must stop. */
static int w_txn(wl *w)
{
    uint64_t txid;
    int rc;
    if (w_begin(w, &txid) || w_ops(w, txid)) return 1;
    if (txid % 20 == 7) {
        /* a savepoint, puts after it (copies of frozen pages, in log mode
           replaced nodes, an escalation for a large key), a rollback to it
           and its release: the model is as before.  Chosen by txid, so
           that W1000's random sequence stays what it was */
        uint32_t sp = 0;
        size_t j;
        rc = digby_savepoint(w->txn, &sp);
        if (rc != DIGBY_OK) return wstop(w, rc, "savepoint");
        for (j = 0; j < 6; j++) {
            size_t k = (size_t)((txid * 31 + j * 7) % MODEL_KEYS);
            rc = digby_txn_put(w->txn, NULL, g_keys[k].p, g_keys[k].n, g_vb, 40 + j, 0);
            if (rc != DIGBY_OK) return wstop(w, rc, "put after a savepoint");
        }
        rc = digby_rollback_to(w->txn, sp);
        if (rc == DIGBY_OK) rc = digby_release(w->txn, sp);
        if (rc != DIGBY_OK) return wstop(w, rc, "rollback to a savepoint");
    }
    if (wbelow(w, C.log ? 200 : 100) < 5 && (!C.log || wbelow(w, 5) == 0)) {
        /* a large value put and deleted again (log mode: 0.5%): pages taken at the end of the
           file and freed before the commit (which then extends the file by
           truncate) */
        size_t k = wbelow(w, MODEL_KEYS);
        uint32_t vl = (uint32_t)(g_vmax - wbelow(w, C.ps)), vs = (uint32_t)splitmix(&w->rng);
        vfill(g_vb, vl, vs);
        rc = digby_txn_put(w->txn, NULL, g_keys[k].p, g_keys[k].n, g_vb, vl, 0);
        if (rc != DIGBY_OK) return wstop(w, rc, "put (to be deleted)");
        rc = digby_txn_delete(w->txn, NULL, g_keys[k].p, g_keys[k].n);
        if (rc != DIGBY_OK) return wstop(w, rc, "delete (of the put)");
        memset(&w->cm.e[0][k], 0, sizeof(ment));
    }
    if (w->commits == 0 || wbelow(w, C.log ? 400 : 100) < 2) {
        /* a scratch table of up to 40 pages filled, emptied and dropped in
           one transaction: pages taken (in the first transaction: at the
           end of the file) and freed unwritten.  (Meant to make the commit
           extend the file by truncate; this engine gives such tail pages
           back instead, and W1000 makes no truncate call.) */
        digby_table *sc = NULL;
        size_t n = 40 * (size_t)C.ps / 64, j;
        if (n > 2000) n = 2000;
        char kb[32];
        rc = digby_table_open(w->txn, "scratch", DIGBY_TABLE_CREATE, &sc);
        if (rc != DIGBY_OK) return wstop(w, rc, "scratch create");
        for (j = 0; j < 2 * n; j++) {
            snprintf(kb, sizeof kb, "s%08lu", (unsigned long)(j % n));
            if (j < n) rc = digby_txn_put(w->txn, sc, kb, 9, g_vb, 30, 0);
            else rc = digby_txn_delete(w->txn, sc, kb, 9);
            if (rc != DIGBY_OK) return wstop(w, rc, "scratch put/delete");
        }
        rc = digby_table_drop(w->txn, "scratch");
        if (rc != DIGBY_OK) return wstop(w, rc, "scratch drop");
    }
    return w_end(w);
}

static int w_open(wl *w, const char *where)
{
    int rc = digby_open(w->path, &w->opts, &w->db);
    if (rc != DIGBY_OK) {
        w->db = NULL;
        return wstop(w, rc, where);
    }
    return 0;
}

static void set_opts(digby_options *o, const digby_vfs *vfs)
{
    memset(o, 0, sizeof *o);
    o->page_size = C.ps;
    o->vfs = vfs;
    if (C.enc) {
        o->key = g_key32;
        o->key_bytes = sizeof g_key32;
    }
    o->compression = C.lz4 ? DIGBY_COMPRESS_LZ4 : DIGBY_COMPRESS_NONE;
    o->cache_bytes = 64 * (size_t)C.ps;
    /* Every read through the cache, so through pread, the call the
       system-call sweep fails.  A memory map could not follow anyway: a
       child moves the handle to a copy of the file (dup2 over its
       descriptor), while the map it inherited still shows the parent's
       file, which the child's commits do not grow (reads past its end are
       a SIGBUS). */
    o->flags = DIGBY_OPEN_NO_MMAP;
    if (C.logx) o->flags |= DIGBY_OPEN_LOG;
    if (C.log) o->memtable_bytes = LOG_MEMTABLE_BYTES;
}

static void child_finish(wl *w); /* never returns */

/* digby_stat for the row's figures, with no fault injected into it and
   its calls not counted (it may read pages). */
static int stat_nofault(digby_db *db, digby_stats *st)
{
    int rc;
    g_nofault = 1;
    rc = digby_stat(db, st);
    g_nofault = 0;
    return rc;
}

/* Whether a fault was injected (in this child) by now. */
static int fault_seen(const wl *w)
{
    if (C.mode[0] == 'o') return H.failed;
    if (C.mode[0] == 's') return g_child != 0;
    return w->fv && (w->fv->injected || w->fv->cut);
}

/* The bytes of the real file at path (sys mode); *n its length. */
static unsigned char *file_slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *p = NULL;
    long len;
    if (!f) die("crash reopen: cannot read the file");
    if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) die("seek");
    p = (unsigned char *)fv_xmalloc((size_t)len + 1);
    if (fread(p, 1, (size_t)len, f) != (size_t)len) die("crash reopen: short read");
    fclose(f);
    *n = (size_t)len;
    return p;
}

/* Log mode: close and reopen as if the process had died before the close
   (the log live): the file as it was before digby_close is put back (in
   the fault VFS as the durable image: what an application crash leaves
   the OS writes), and the reopen replays the log.  When a fault came
   during the close, the file stays as the close left it. */
static int w_crash_reopen(wl *w)
{
    img saved[FV_MAX_FILES];
    unsigned char *bytes = NULL;
    size_t nbytes = 0;
    int i, before = fault_seen(w), rc;
    digby_stats st;
    memset(&st, 0, sizeof st);
    if (!g_child && stat_nofault(w->db, &st) == DIGBY_OK) S->ckpt_total += st.checkpoints;
    memset(saved, 0, sizeof saved);
    if (w->fv) {
        for (i = 0; i < w->fv->nfiles; i++) img_copy(&saved[i], &w->fv->files[i].cur);
    } else {
        bytes = file_slurp(w->path, &nbytes);
    }
    g_in_close = 1;
    rc = digby_close(w->db);
    g_in_close = 0;
    w->db = NULL;
    if (rc != DIGBY_OK) return wstop(w, -998, "close (before a replay)");
    if (!before && !fault_seen(w)) {
        if (w->fv) {
            for (i = 0; i < w->fv->nfiles; i++) {
                ffile *f = &w->fv->files[i];
                img_copy(&f->cur, &saved[i]);
                img_copy(&f->dur, &saved[i]);
                clear_ops(f);
            }
            w->fv->syncs_ok++; /* a new durable image */
        } else {
            FILE *f = fopen(w->path, "r+b");
            if (!f || fwrite(bytes, 1, nbytes, f) != nbytes) die("crash reopen: write back");
            fclose(f);
            if (truncate(w->path, (off_t)nbytes)) die("crash reopen: truncate");
        }
    }
    for (i = 0; i < FV_MAX_FILES; i++) img_free(&saved[i]);
    free(bytes);
    if (w_open(w, "reopen with replay")) return 1;
    w->nhist = 0; /* as the file stands now, every commit is in it */
    memset(&st, 0, sizeof st);
    if (!g_child && stat_nofault(w->db, &st) == DIGBY_OK) {
        S->replays++;
        S->replay_commits += st.replay_commits;
    }
    return 0;
}

/* One step of the workload: the transaction i (with its snapshot and
   reopen duties; in log mode also syncs, checkpoints and reopens with
   replay).  1 when it stopped. */
static int verify_db(digby_db *db, const mstate *com, const mstate *inflight, int hist,
                     const char *what, int *which);

/* The copy digby_backup just made holds exactly the last commit and checks
   clean (its own calls are not faulted). */
static int backup_verify(wl *w)
{
    digby_options o;
    digby_db *db = NULL;
    int rc, bad, which = 0;
    g_nofault = 1;
    set_opts(&o, w->vfs);
    rc = digby_open(BACKUP_PATH, &o, &db);
    if (rc != DIGBY_OK) {
        violation("the backup after %d txns: digby_open: %s", w->ntxn_done, digby_strerror(rc));
        g_nofault = 0;
        return 1;
    }
    bad = verify_db(db, &w->com, NULL, 0, "the backup", &which);
    rc = digby_close(db);
    g_nofault = 0;
    if (!bad) S->backups++;
    return bad || rc != DIGBY_OK;
}

static int w_step(wl *w, int i)
{
    if (i > 0 && i % REOPEN_EVERY == 0) {
        int rc;
        if (w->snap) { digby_txn_abort(w->snap); w->snap = NULL; }
        if (C.log && !g_child) {
            digby_stats st;
            memset(&st, 0, sizeof st);
            if (stat_nofault(w->db, &st) == DIGBY_OK) S->ckpt_total += st.checkpoints;
        }
        g_in_close = 1;
        rc = digby_close(w->db);
        g_in_close = 0;
        if (rc != DIGBY_OK) { w->db = NULL; return wstop(w, -998, "close"); }
        w->db = NULL;
        if (w_open(w, "reopen")) return 1;
        w->nhist = 0;
    } else if (C.log && i % LOG_CRASH_EVERY == LOG_CRASH_EVERY / 2) {
        if (w->snap) { digby_txn_abort(w->snap); w->snap = NULL; }
        if (w_crash_reopen(w)) return 1;
    }
    if (!w->snap && i % SNAP_EVERY == SNAP_OPEN) {
        int rc = digby_txn_begin(w->db, DIGBY_TXN_READONLY, &w->snap);
        if (rc != DIGBY_OK) { w->snap = NULL; return wstop(w, rc, "snapshot begin"); }
        w->snm = w->com;
    }
    if (w_txn(w)) return 1;
    if (w->snap && snap_check(w)) return 1;
    if (w->snap && i % SNAP_EVERY == SNAP_CLOSE) {
        digby_txn_abort(w->snap);
        w->snap = NULL;
    }
    /* a compaction in place now and then, with the snapshot held or not
       (it must keep reading its data): the state stays the last commit's,
       made durable (log mode: its checkpoint) */
    if (i % COMPACT_EVERY == 41 || (C.ntxn < COMPACT_EVERY && i == C.ntxn / 2)) {
        int rc;
        w->in_commit = 1; /* its commits: a failed meta write poisons */
        rc = digby_compact(w->db, 0, NULL);
        if (rc != DIGBY_OK) return wstop(w, rc, "digby_compact");
        w->in_commit = 0;
        w->nhist = 0;
        if (w->snap && snap_check(w)) return 1;
    }
    /* a hot backup now and then, plain and compacting in turn, beside the
       snapshot; the parent checks the copy against the model (not in sys
       mode: a child would inherit the parent's open copy) */
    if (C.mode[0] != 's' &&
        (i % BACKUP_EVERY == 60 || (C.ntxn < BACKUP_EVERY && i == C.ntxn / 3))) {
        int rc = digby_backup(w->db, BACKUP_PATH, w->vfs,
                              DIGBY_BACKUP_REPLACE | (i / BACKUP_EVERY % 2 ? DIGBY_BACKUP_COMPACT : 0));
        if (rc != DIGBY_OK) return wstop(w, rc, "digby_backup");
        if (!g_child && backup_verify(w)) return wstop(w, -997, "the backup's check");
    }
    if (C.log && i % LOG_SYNC_EVERY == 3) {
        int rc = digby_sync(w->db);
        if (rc != DIGBY_OK) return wstop(w, rc, "digby_sync");
        w->nhist = 0;
        if (!g_child) S->syncs++;
    }
    if (C.log && i % LOG_CHECKPOINT_EVERY == 13) {
        int rc = digby_checkpoint(w->db);
        if (rc != DIGBY_OK) return wstop(w, rc, "digby_checkpoint");
        w->nhist = 0;
        if (!g_child) S->checkpoints++;
    }
    w->ntxn_done++;
    return 0;
}

static void w_init(wl *w, const digby_vfs *vfs, fvfs *fv, const char *path, int use_hooks)
{
    memset(w, 0, sizeof *w);
    w->rng = C.seed;
    w->vfs = vfs;
    w->fv = fv;
    w->path = path;
    w->keys = g_keys;
    w->vb = g_vb;
    w->vlen = wvlen;
    w->wrong_rc = -999; /* a wrong value: a code no API call returns */
    w->limit = C.ntxn;
    /* range deletes (digby_txn_delete_range): 1% of operations, 0.3% in
       log mode, where each escalates (a checkpoint, then copy-on-write) */
    w->range_pm = C.log ? 3 : 10;
    set_opts(&w->opts, vfs);
    if (use_hooks) {
        w->opts.allocator.malloc_fn = ha_malloc;
        w->opts.allocator.realloc_fn = ha_realloc;
        w->opts.allocator.free_fn = ha_free;
    }
    w->cm.exists[0] = w->com.exists[0] = 1;
    if (C.log) {
        w->nosync_pct = LOG_NOSYNC_PCT;
        w->hist = g_hist;
        w->hist_max = LOG_HIST_MAX;
        w->no_drop = 1;
    }
}

/* Run the workload to the end (or the child's limit) or its first error. */
static void w_run(wl *w)
{
    int i;
    if (!w_open(w, "first open")) {
        for (i = 0; i < C.ntxn && i < w->limit; i++)
            if (w_step(w, i)) break;
    }
    if (g_child) child_finish(w);
    if (w->snap) digby_txn_abort(w->snap);
    w->snap = NULL;
    if (w->txn) digby_txn_abort(w->txn);
    w->txn = NULL;
    if (w->nosync_commits > S->nosync_commits) S->nosync_commits = w->nosync_commits;
    if (C.log && !g_child && w->db) {
        digby_stats st;
        memset(&st, 0, sizeof st);
        if (stat_nofault(w->db, &st) == DIGBY_OK) S->ckpt_total += st.checkpoints;
    }
    g_in_close = 1;
    if (w->db && digby_close(w->db) != DIGBY_OK) wstop(w, -998, "final close");
    g_in_close = 0;
    w->db = NULL;
    if (g_child) child_finish(w); /* a child made in the final close */
}

/* ---- verification --------------------------------------------------------- */

/* Open db (already open: pass it) and check: contents equal com, or
   inflight when given, or (hist: log mode's states a power cut may leave,
   W.hist) a state before no-sync commits; digby_check; a new write and
   commit.  Returns 0, or 1 after reporting a violation; *which: 1 matched
   com, 2 inflight, 3 a state of W.hist. */
static int verify_db(digby_db *db, const mstate *com, const mstate *inflight, int hist,
                     const char *what, int *which)
{
    char why_old[300], why_new[300];
    digby_check_report rep;
    write_after wa;
    int rc, bad = 0;
    mstate *brk = NULL;
    if (C.brk) {
        /* the deliberately wrong expectation: one more key in the global tree */
        brk = (mstate *)fv_xmalloc(sizeof *brk);
        *brk = *com;
        brk->e[0][MODEL_KEYS / 2].present = !brk->e[0][MODEL_KEYS / 2].present;
        brk->e[0][MODEL_KEYS / 2].vlen = 3;
        com = brk;
        inflight = NULL;
    }
    *which = 0;
    *which = 0;
    if (db_equals(db, g_keys, com, g_vb, why_old, sizeof why_old)) {
        *which = 1;
    } else if (inflight && db_equals(db, g_keys, inflight, g_vb, why_new, sizeof why_new)) {
        *which = 2;
    } else if (hist && !C.brk && model_match_hist(db, g_keys, &W, g_vb)) {
        *which = 3;
    } else {
        violation("%s: contents match neither the last acknowledged commit (%s)%s%s",
                  what, why_old, inflight ? " nor the one in flight: " : "",
                  inflight ? why_new : "");
        bad = 1;
    }
    free(brk);
    memset(&rep, 0, sizeof rep);
    rc = digby_check(db, &rep);
    if (rc != DIGBY_OK) {
        violation("%s: digby_check: %s: page %llu: %s", what, digby_strerror(rc),
                  (unsigned long long)rep.bad_pgno, rep.message);
        bad = 1;
    }
    model_write_after(db, "after-fault", &wa);
    rc = wa.write_rc != DIGBY_OK ? wa.write_rc : wa.read_rc != DIGBY_OK ? wa.read_rc
                                                                        : wa.check_rc;
    if (rc != DIGBY_OK) {
        violation("%s: a write after reopening: %s", what, digby_strerror(rc));
        bad = 1;
    }
    return bad;
}

/* Open images (one per file of `like`) through a fresh fault-free VFS and
   verify them. */
static int verify_images(const fvfs *like, const img *images, const mstate *com,
                         const mstate *inflight, int hist, const char *what)
{
    fvfs *v = fv_from_images(like, images);
    digby_options o;
    digby_db *db = NULL;
    int rc, bad, which = 0;
    set_opts(&o, &v->vfs);
    S->states++;
    rc = digby_open(DBPATH, &o, &db);
    if (rc != DIGBY_OK) {
        violation("%s: digby_open: %s", what, digby_strerror(rc));
        fv_free(v);
        return 1;
    }
    bad = verify_db(db, com, inflight, hist, what, &which);
    if (which == 1) S->match_old++;
    if (which == 2) S->match_new++;
    if (which == 3) S->match_hist++;
    if (which == 3 && hist == 2) S->torn_nosync++;
    rc = digby_close(db);
    if (rc != DIGBY_OK) {
        violation("%s: close: %s", what, digby_strerror(rc));
        bad = 1;
    }
    fv_free(v);
    return bad;
}

/* ---- crash mode: the states a power cut may leave ---------------------------- */

static void crash_states(wl *w, fvfs *v)
{
    static fv_states st; /* images reused from state to state */
    int i, j, skip_a = 0;
    uint64_t rng = C.seed ^ (S->points * 0x9E3779B97F4A7C15ULL);
    const mstate *infl = w->have_inflight ? &w->inflight : NULL;
    fv_states_start(&st, v); /* (a) dropped, (b) kept, (c) torn */
    /* (d) another order: two random subsets */
    for (i = 0; i < 2; i++) fv_states_reordered(&st, v, &rng);
    /* (e) a sector of garbage: in the last write, and in a random one */
    fv_states_garbage(&st, v, &rng);
    /* the all-dropped image changes only at a sync: skip it when the parent
       saw it checked against the same acknowledged commit */
    skip_a = S->a_matched_old;
    S->a_matched_old = 0;
    for (j = 0; j < st.n; j++) {
        char what[200];
        int bad;
        if (fv_states_dup(&st, j, v->nfiles)) { S->dup_skipped++; continue; }
        if (j == 0 && skip_a) { S->a_skipped++; continue; }
        snprintf(what, sizeof what, "power cut at call %llu (%s), workload stopped in %s "
                 "with %s after %d txns%s, state %s", (unsigned long long)S->points,
                 fv_kind_names[v->inj_kind], w->stop_where ? w->stop_where : "-",
                 digby_strerror(w->stop_rc), w->ntxn_done,
                 w->in_commit ? ", commit in flight" : "", st.name[j]);
        switch (st.name[j][0]) {
        case 'a': S->states_a++; break;
        case 'b': S->states_b++; break;
        case 'c': S->states_torn++; break;
        case 'd': S->states_reorder++; break;
        default: S->states_garbage++; break;
        }
        {
            uint64_t before = S->match_old;
            bad = verify_images(v, st.st[j], &w->com, infl, 1, what);
            if (j == 0 && !bad && S->match_old > before) S->a_matched_old = 1;
        }
    }
}

/* ---- the child's end ------------------------------------------------------- */

static int is_expected_rc(int rc, int injected_rc)
{
    return rc == injected_rc || rc == DIGBY_POISONED;
}

/* After the failure reached the caller: what may the handle do now?
   Persistent: nothing that needs the disk (or memory) may succeed.  Once:
   after a failed sync begin refuses (DIGBY_POISONED) until reopen; else the
   handle commits again (POISONED only when the fault hit a commit). */
static void io_after(wl *w, int injected_rc, int persistent, int failed_sync,
                     const char *what)
{
    int rc, i;
    digby_txn *t = NULL;
    if (persistent) {
        if (w->snap) { digby_txn_abort(w->snap); w->snap = NULL; }
        if (!w->db) {
            /* reads may still work (a full disk): then the probe below */
            rc = digby_open(w->path, &w->opts, &w->db);
            if (rc != DIGBY_OK) {
                w->db = NULL;
                if (!is_expected_rc(rc, injected_rc) && rc != DIGBY_CANTOPEN)
                    violation("%s: open on a failing disk returned %s", what,
                              digby_strerror(rc));
                return;
            }
        }
        rc = digby_txn_begin(w->db, 0, &t);
        if (rc == DIGBY_POISONED) { S->poisoned_begin++; return; }
        if (rc != DIGBY_OK) {
            if (!is_expected_rc(rc, injected_rc))
                violation("%s: begin on a failing disk returned %s", what, digby_strerror(rc));
            return;
        }
        rc = digby_txn_put(t, NULL, "probe", 5, g_vb, 2 * (size_t)C.ps, 0);
        if (rc == DIGBY_OK) {
            rc = digby_txn_commit(t);
            if (rc == DIGBY_OK)
                violation("%s: a commit succeeded while every call fails", what);
            else {
                S->refused_after_fail++;
                if (!is_expected_rc(rc, injected_rc))
                    violation("%s: commit on a failing disk returned %s", what,
                              digby_strerror(rc));
            }
        } else {
            digby_txn_abort(t);
            S->refused_after_fail++;
            if (!is_expected_rc(rc, injected_rc))
                violation("%s: put on a failing disk returned %s", what, digby_strerror(rc));
        }
        return;
    }
    if (w->snap && snap_check(w)) {
        violation("%s: the snapshot broke after a passing fault: %s in %s", what,
                  digby_strerror(w->stop_rc), w->stop_where);
        return;
    }
    if (!w->db) {
        /* the failure was in an open: open again */
        rc = digby_open(w->path, &w->opts, &w->db);
        if (rc != DIGBY_OK) {
            w->db = NULL;
            violation("%s: open after a passing fault: %s", what, digby_strerror(rc));
            return;
        }
    } else if (failed_sync) {
        rc = digby_txn_begin(w->db, 0, &t);
        if (rc == DIGBY_POISONED) { S->poisoned_begin++; return; }
        if (rc != DIGBY_OK) {
            violation("%s: begin after a failed sync returned %s, not POISONED", what,
                      digby_strerror(rc));
            return;
        }
        rc = digby_txn_put(t, NULL, "probe", 5, "x", 1, 0);
        if (rc == DIGBY_OK) rc = digby_txn_commit(t);
        else digby_txn_abort(t);
        if (rc == DIGBY_OK) violation("%s: a commit reported success after a failed sync", what);
        else violation("%s: begin succeeded after a failed sync (commit: %s)", what,
                       digby_strerror(rc));
        return;
    }
    for (i = 0; i < CHILD_EXTRA_TXNS + 1; i++) {
        int was_in_commit = w->in_commit;
        rc = digby_txn_begin(w->db, 0, &t);
        if (rc == DIGBY_POISONED) {
            S->poisoned_begin++;
            /* (log mode: a put, delete or table operation that escalated
               ran a checkpoint, a commit, whose failed meta write poisons
               the handle as any commit's does) */
            if (!was_in_commit && !g_inj_in_commit && !(C.logx && g_inj_meta))
                violation("%s: a passing fault outside a commit poisoned the handle", what);
            return;
        }
        if (rc != DIGBY_OK) {
            violation("%s: begin after a passing fault: %s", what, digby_strerror(rc));
            return;
        }
        digby_txn_abort(t);
        w->stopped = 0;
        w->in_commit = 0;
        w->cm = w->com;
        if (w_txn(w)) {
            violation("%s: a transaction after a passing fault: %s in %s", what,
                      digby_strerror(w->stop_rc), w->stop_where);
            return;
        }
        S->recommitted++;
    }
}

static void child_finish(wl *w)
{
    fvfs *v = w->fv;
    char what[300];
    int persistent = C.mode[0] == 'o' ? H.persist : C.mode[0] == 's' ? g_sys_persist != 0
                     : v->persist_rc != 0;
    int injected_rc = 0, bad = 0;
    /* a sync failed while the handle was open (not in an open) */
    int failed_sync = w->db && (v ? v->failed_sync : g_sys_failed_sync);
    if (C.mode[0] == 'c') {
        /* power cut */
        if (!v->cut) {
            violation("crash point %llu was never reached", (unsigned long long)S->points);
        } else if (!w->stopped && C.logx && (g_inj_in_commit || g_inj_in_close)) {
            S->unreported_ckpt++; /* see the header: log mode */
        } else if (!w->stopped) {
            S->swallowed++;
            violation("power cut at call %llu (%s): the failed call reached no API "
                      "caller (workload finished)", (unsigned long long)S->points,
                      fv_kind_names[v->inj_kind]);
        } else {
            S->surfaced++;
            rc_count(w->stop_rc);
            if (w->stop_rc != DIGBY_IOERR && w->stop_rc != DIGBY_POISONED &&
                w->stop_rc != DIGBY_CORRUPT)
                violation("power cut at call %llu: %s returned %s",
                          (unsigned long long)S->points, w->stop_where,
                          digby_strerror(w->stop_rc));
        }
        if (w->snap) digby_txn_abort(w->snap);
        if (w->txn) digby_txn_abort(w->txn);
        if (w->db) digby_close(w->db);
        w->snap = w->txn = NULL;
        w->db = NULL;
        crash_states(w, v);
        seen_write(); /* _exit runs no atexit handler */
        _exit(0);
    }
    /* io, sys, oom */
    if (C.mode[0] == 'o') injected_rc = DIGBY_NOMEM;
    else injected_rc = g_child; /* the child number holds the code (see below) */
    snprintf(what, sizeof what, "%s%s %s at call %llu%s", g_phase, persistent ? "persistent" : "once",
             C.mode[0] == 'o' ? "allocation failure" : injected_rc == 1 ? "EINTR"
             : injected_rc == 2 ? "short transfer" : digby_strerror(injected_rc),
             (unsigned long long)S->points,
             v && C.mode[0] != 'o' ? (v->injected ? (v->inj_kind == FV_WRITE ? " (write)" : v->inj_kind == FV_SYNC
                                 ? " (sync)" : v->inj_kind == FV_READ ? " (read)"
                                 : v->inj_kind == FV_OPEN ? " (open)" : v->inj_kind == FV_SIZE
                                 ? " (size)" : v->inj_kind == FV_TRUNC ? " (truncate)"
                                 : " (lock)") : "") : "");
    {
        size_t l = strlen(what);
        snprintf(what + l, sizeof what - l, " [after %d txns%s%s%s%s%s]", w->ntxn_done,
                 w->stopped ? ", stopped in " : "", w->stopped ? w->stop_where : "",
                 g_inj_in_commit ? ", injected in a commit" : "",
                 g_inj_in_close ? ", injected in close" : "",
                 w->txn_nosync ? ", last txn no-sync" : "");
    }
    if (w->stopped) {
        S->surfaced++;
        rc_count(w->stop_rc);
        if (!is_expected_rc(w->stop_rc, injected_rc) &&
            !(w->stop_rc == DIGBY_CANTOPEN && strstr(w->stop_where, "open"))) {
            violation("%s: %s returned %s", what, w->stop_where, digby_strerror(w->stop_rc));
            bad = 1;
        }
        if (w->txn) { digby_txn_abort(w->txn); w->txn = NULL; }
        if (!bad) io_after(w, injected_rc, persistent, failed_sync, what);
    } else if (C.mode[0] == 'o') {
        /* an allocation failure the engine worked around (a smaller staging
           buffer, a page not cached): fine if the contents are right */
        if (H.failed) S->absorbed++;
    } else if (!(C.mode[0] == 's' && (injected_rc == 1 || injected_rc == 2))) {
        /* sys mode's EINTR and short transfers (1, 2) must be invisible */
        int injected = C.mode[0] == 'o' ? H.failed : v ? v->injected : 1;
        if (injected && C.logx && (g_inj_in_commit || g_inj_in_close)) {
            S->unreported_ckpt++; /* see the header: log mode */
        } else if (injected) {
            S->swallowed++;
            violation("%s: no API call reported the failure", what);
        }
    }
    if (w->snap) digby_txn_abort(w->snap);
    if (w->txn) digby_txn_abort(w->txn);
    w->snap = w->txn = NULL;
    if (w->db) {
        int rc = digby_close(w->db);
        if (rc != DIGBY_OK) violation("%s: close: %s", what, digby_strerror(rc));
        w->db = NULL;
    }
    g_sys_persist = 0; /* faults off for the checks below */
    g_sys_armed = 0;
    if (C.mode[0] == 'o') {
        H.fail_at = 0;
        H.persist = 0;
        S->leak_checks++;
        if (C.leak) {
            /* -L: leak on purpose (both checks below must fire) */
            void *volatile kept = malloc(100);
            H.live++;
            if (kept) memset(kept, 1, 100);
            kept = NULL;
            (void)kept;
        }
        if (H.live != 0)
            violation("%s: %lld allocations through the hooks not freed after close",
                      what, (long long)H.live);
#if UNDER_ASAN
        if (__lsan_do_recoverable_leak_check())
            violation("%s: LeakSanitizer found leaks", what);
#endif
    }
    /* reopen what the process wrote, and (in memory) what was synced */
    {
        const mstate *infl = w->have_inflight ? &w->inflight : NULL;
        if (v) {
            img cur[FV_MAX_FILES], dur[FV_MAX_FILES];
            int i;
            memset(cur, 0, sizeof cur);
            memset(dur, 0, sizeof dur);
            for (i = 0; i < v->nfiles; i++) {
                img_copy(&cur[i], &v->files[i].cur);
                img_copy(&dur[i], &v->files[i].dur);
            }
            S->reopens += 2;
            strcat(what, ", reopened as written");
            /* Log mode, a short write: a log page that holds no-sync
               commits is rewritten whole by the next commit (FORMAT.md 11),
               so a write that lands half and fails tears the page and the
               no-sync commits on it are lost with no crash at all.  A known
               limitation (tests/TORTURE.md): counted in the row, and still
               only whole commits from the newest back may be lost. */
            verify_images(v, cur, &w->com, infl, C.logx && g_inj_short ? 2 : 0, what);
            strcpy(what + strlen(what) - 7, "synced");
            verify_images(v, dur, &w->com, infl, 1, what);
        } else {
            digby_options o;
            digby_db *db = NULL;
            int rc, which;
            set_opts(&o, w->vfs);
            S->reopens++;
            S->states++;
            rc = digby_open(w->path, &o, &db);
            if (rc != DIGBY_OK) {
                violation("%s: reopen: %s", what, digby_strerror(rc));
            } else {
                verify_db(db, &w->com, infl, 0, what, &which);
                if (which == 1) S->match_old++;
                if (which == 2) S->match_new++;
                digby_close(db);
            }
        }
    }
    seen_write(); /* _exit runs no atexit handler */
    _exit(0);
}

/* ---- forking at a call --------------------------------------------------- */

static uint64_t g_idx;      /* counted calls so far */
static uint64_t g_kinds[FV_NKINDS]; /* ... by kind */

static int selected(uint64_t idx)
{
    if (idx < C.first || idx > C.last) return 0;
    return (idx - C.first) % C.step == 0;
}

/* Fork; the child returns 1, the parent waits and returns 0. */
static int fork_child(void)
{
    pid_t pid;
    int st;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) die("fork failed");
    if (pid == 0) {
        alarm(CHILD_ALARM_S);
        return 1;
    }
    S->children++;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) die("waitpid failed");
    }
    if (WIFSIGNALED(st))
        violation("child at call %llu died of signal %d (%s)", (unsigned long long)g_idx,
                  WTERMSIG(st), WTERMSIG(st) == SIGALRM ? "hang" : "crash");
    else if (WEXITSTATUS(st) != 0)
        violation("child at call %llu exited with status %d (sanitizer or abort)",
                  (unsigned long long)g_idx, WEXITSTATUS(st));
    return 0;
}

/* crash: write, sync, truncate */
static int crash_hook(fvfs *v, int kind, uint64_t off, uint64_t len)
{
    uint64_t idx;
    (void)v;
    (void)off;
    (void)len;
    if (g_child || g_nofault) return F_NONE;
    if (kind != FV_WRITE && kind != FV_SYNC && kind != FV_TRUNC) return F_NONE;
    g_kinds[kind]++;
    idx = g_idx++;
    if (!selected(idx)) return F_NONE;
    S->points = idx;
    S->kind_points[kind]++;
    /* the all-dropped image is the same until the next sync and commit */
    {
        static uint64_t last_syncs = UINT64_MAX, last_commits = UINT64_MAX;
        if (v->syncs_ok != last_syncs || W.commits != last_commits) S->a_matched_old = 0;
        last_syncs = v->syncs_ok;
        last_commits = W.commits;
    }
    if (fork_child()) {
        g_child = 1;
        g_inj_in_commit = W.in_commit;
        g_inj_in_close = g_in_close;
        W.limit = W.ntxn_done + CHILD_EXTRA_TXNS + 1;
        return F_CUT;
    }
    return F_NONE;
}

/* io: every call; three faults (short writes for writes only), once and
   persistently */
static int io_hook(fvfs *v, int kind, uint64_t off, uint64_t len)
{
    static const int faults[3] = {F_EIO, F_FULL, F_SHORT};
    uint64_t idx;
    int f, p;
    (void)len;
    if (g_child || g_nofault) return F_NONE;
    g_kinds[kind]++;
    idx = g_idx++;
    if (!selected(idx)) return F_NONE;
    S->points = idx;
    S->kind_points[kind]++;
    for (f = 0; f < 3; f++) {
        if (faults[f] == F_SHORT && kind != FV_WRITE) continue;
        for (p = 0; p < 2; p++) {
            S->faults++;
            if (fork_child()) {
                int rc = faults[f] == F_FULL ? DIGBY_FULL : DIGBY_IOERR;
                g_child = rc;
                g_inj_short = faults[f] == F_SHORT;
                g_inj_meta = kind == FV_WRITE && off < 2 * (uint64_t)C.ps;
                g_inj_in_commit = W.in_commit;
                g_inj_in_close = g_in_close;
                W.limit = W.ntxn_done + CHILD_EXTRA_TXNS + 1;
                if (p) v->persist_rc = rc;
                return faults[f];
            }
        }
    }
    return F_NONE;
}

/* oom: every allocation, once and persistently */
static int oom_hook(halloc *a)
{
    uint64_t idx;
    int p;
    if (g_child || g_nofault) return 0;
    idx = g_idx++;
    if (!selected(idx)) return 0;
    S->points = idx;
    for (p = 0; p < 2; p++) {
        S->faults++;
        if (fork_child()) {
            g_child = 1;
            g_inj_in_commit = W.in_commit;
            g_inj_in_close = g_in_close;
            W.limit = W.ntxn_done + CHILD_EXTRA_TXNS + 1;
            a->persist = p;
            a->fail_at = a->calls; /* this one (already counted) */
            return 1;
        }
    }
    return 0;
}

/* ---- sys mode: the POSIX VFS under wrapped system calls -------------------- */

/* The wrapped calls (ld --wrap, FAULTS_WRAP in faults.mk): for each, the
   real one (__real_NAME) and the wrapper below (__wrap_NAME). */
#define SYS_WRAPPED(X)                                                        \
    X(ssize_t, pread, (int fd, void *buf, size_t n, off_t off))               \
    X(ssize_t, pwrite, (int fd, const void *buf, size_t n, off_t off))        \
    X(int, fdatasync, (int fd))                                               \
    X(int, fsync, (int fd))                                                   \
    X(int, ftruncate, (int fd, off_t len))                                    \
    X(int, open, (const char *path, int flags, ...))                          \
    X(void *, mmap, (void *addr, size_t len, int prot, int flags, int fd, off_t off))
#define SYS_DECLARE(ret, name, params) ret __real_##name params; ret __wrap_##name params;
SYS_WRAPPED(SYS_DECLARE)
#undef SYS_DECLARE

enum { SYS_PREAD, SYS_PWRITE, SYS_FDATASYNC, SYS_FSYNC, SYS_FTRUNCATE, SYS_OPEN };
enum { SF_NONE, SF_EINTR, SF_SHORT, SF_EIO, SF_ENOSPC };
static int g_sys_real_sync;    /* really sync (off: speed; no power cut here) */
static int g_db_fd = -1;
static char g_parent_path[600];
static char g_child_path[600];
/* the lock file (FORMAT.md section 14) of the parent's handle: its
   descriptor and map (0/NULL: none yet), and the two lock file paths */
static int g_lock_fd = -1;
static void *g_lock_map;
static size_t g_lock_len;
static char g_parent_lock[620];
static char g_child_lock[620];

/* The child of a faulted call (sys mode) goes on with a lock file of its
   own: the parent's descriptor and map would make it share the parent's
   lock file (its commits published there, its locks on the parent's open
   file description).  The lock file's bytes are copied to child.db-lock,
   mapped over the same address and its descriptor put over the old one:
   the handle sees the same bytes and writes its own file from then on.
   Its locks are not carried over: nobody else opens the child's file. */
static void child_own_lock_file(void)
{
    struct stat a, b;
    int nfd;
    snprintf(g_parent_lock, sizeof g_parent_lock, "%s-lock", g_parent_path);
    snprintf(g_child_lock, sizeof g_child_lock, "%s-lock", g_child_path);
    unlink(g_child_lock);
    if (g_lock_fd < 0 || fstat(g_lock_fd, &a) != 0 || stat(g_parent_lock, &b) != 0 ||
        a.st_dev != b.st_dev || a.st_ino != b.st_ino)
        return; /* no lock file open now */
    nfd = __real_open(g_child_lock, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (nfd < 0) _exit(3);
    if (g_lock_map) {
        if (__real_pwrite(nfd, g_lock_map, g_lock_len, 0) != (ssize_t)g_lock_len) _exit(3);
        if (__real_mmap(g_lock_map, g_lock_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, nfd, 0) ==
            MAP_FAILED)
            _exit(3);
    }
    if (dup2(nfd, g_lock_fd) < 0) _exit(3);
    close(nfd);
}

static int sys_hook(int call, size_t n, off_t off)
{
    static const int faults[4] = {SF_EINTR, SF_SHORT, SF_EIO, SF_ENOSPC};
    uint64_t idx;
    int f, p;
    if (!g_sys_armed || g_nofault) return SF_NONE;
    if (g_child) return g_sys_persist;
    idx = g_idx++;
    if (!selected(idx)) return SF_NONE;
    S->points = idx;
    for (f = 0; f < 4; f++) {
        if (faults[f] == SF_SHORT && !((call == SYS_PREAD || call == SYS_PWRITE) && n > 1))
            continue;
        if (faults[f] == SF_ENOSPC && (call == SYS_PREAD || call == SYS_OPEN)) continue;
        for (p = 0; p < 2; p++) {
            if (p && (faults[f] == SF_EINTR || faults[f] == SF_SHORT)) continue;
            S->faults++;
            if (fork_child()) {
                /* a file of its own: copy the database, point the fd at it */
                char buf[65536];
                int in, out;
                ssize_t r;
                g_child = faults[f] == SF_EINTR ? 1 : faults[f] == SF_SHORT ? 2
                        : faults[f] == SF_EIO ? DIGBY_IOERR : DIGBY_FULL;
                W.limit = W.ntxn_done + CHILD_EXTRA_TXNS + 1;
                g_inj_in_commit = W.in_commit;
                g_inj_in_close = g_in_close;
                g_inj_meta = call == SYS_PWRITE && off < 2 * (off_t)C.ps;
                struct stat a, b;
                snprintf(g_child_path, sizeof g_child_path, "%s/child.db", C.dir);
                snprintf(g_parent_path, sizeof g_parent_path, "%s", W.path);
                unlink(g_child_path);
                in = __real_open(W.path, O_RDONLY);
                if (in >= 0) {
                    out = __real_open(g_child_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                    if (out < 0) _exit(3);
                    while ((r = read(in, buf, sizeof buf)) > 0)
                        if (write(out, buf, (size_t)r) != r) _exit(3);
                    close(in);
                    close(out);
                }
                /* the engine's descriptor, if open, now points at the copy */
                if (g_db_fd >= 0 && fstat(g_db_fd, &a) == 0 && stat(g_parent_path, &b) == 0 &&
                    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
                    int nfd = __real_open(g_child_path, O_RDWR);
                    if (nfd < 0 || dup2(nfd, g_db_fd) < 0) _exit(3);
                    close(nfd);
                }
                child_own_lock_file();
                W.path = g_child_path;
                if (p) g_sys_persist = faults[f];
                if ((call == SYS_FDATASYNC || call == SYS_FSYNC) &&
                    (faults[f] == SF_EIO || faults[f] == SF_ENOSPC))
                    g_sys_failed_sync = 1;
                return faults[f];
            }
        }
    }
    return SF_NONE;
}

/* The POSIX VFS, with its lock file (where it has one): a faulted call's
   child goes on with the engine's descriptors pointed at copies of the
   file and of the lock file (child_own_lock_file).  The lock file's
   ftruncate (at its creation) is among the calls faulted. */
static const digby_vfs *sys_vfs(void)
{
    return digby_vfs_posix();
}

static void unlink_lock_file(const char *path)
{
    char lp[700];
    snprintf(lp, sizeof lp, "%s-lock", path);
    unlink(lp);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    void *p = __real_mmap(addr, len, prot, flags, fd, off);
    if (p != MAP_FAILED && fd >= 0 && fd == g_lock_fd && !g_child) {
        g_lock_map = p;
        g_lock_len = len;
    }
    return p;
}

ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t off)
{
    int f = sys_hook(SYS_PREAD, n, off);
    if (f == SF_EINTR) { errno = EINTR; return -1; }
    if (f == SF_EIO) { errno = EIO; return -1; }
    if (f == SF_SHORT) n /= 2;
    return __real_pread(fd, buf, n, off);
}

ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    int f = sys_hook(SYS_PWRITE, n, off);
    if (f == SF_EINTR) { errno = EINTR; return -1; }
    if (f == SF_EIO) { errno = EIO; return -1; }
    if (f == SF_ENOSPC) { errno = ENOSPC; return -1; }
    if (f == SF_SHORT) n /= 2;
    return __real_pwrite(fd, buf, n, off);
}

static int sync_common(int fd, int call)
{
    int f = sys_hook(call, 0, 0);
    if (f == SF_EINTR) { errno = EINTR; return -1; }
    if (f == SF_EIO) { errno = EIO; return -1; }
    if (f == SF_ENOSPC) { errno = ENOSPC; return -1; }
    if (!g_sys_real_sync) return 0;
    return call == SYS_FSYNC ? __real_fsync(fd) : __real_fdatasync(fd);
}

int __wrap_fdatasync(int fd) { return sync_common(fd, SYS_FDATASYNC); }
int __wrap_fsync(int fd) { return sync_common(fd, SYS_FSYNC); }

int __wrap_ftruncate(int fd, off_t len)
{
    int f = sys_hook(SYS_FTRUNCATE, 0, 0);
    if (f == SF_EINTR) { errno = EINTR; return -1; }
    if (f == SF_EIO) { errno = EIO; return -1; }
    if (f == SF_ENOSPC) { errno = ENOSPC; return -1; }
    return __real_ftruncate(fd, len);
}

int __wrap_open(const char *path, int flags, ...)
{
    int f, fd;
    mode_t mode = 0;
    if (flags & O_CREAT) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    if (g_child && g_parent_path[0] && strcmp(path, g_parent_path) == 0)
        path = g_child_path; /* never touch the parent's file */
    if (g_child && g_parent_lock[0] && strcmp(path, g_parent_lock) == 0)
        path = g_child_lock; /* nor its lock file */
    if (!g_child && W.path) {
        size_t n = strlen(W.path);
        if (strncmp(path, W.path, n) == 0 && strcmp(path + n, "-lock") == 0) {
            fd = __real_open(path, flags, mode);
            g_lock_fd = fd;
            g_lock_map = NULL;
            return fd;
        }
    }
    if (!W.path || strcmp(path, W.path) != 0) return __real_open(path, flags, mode);
    f = sys_hook(SYS_OPEN, 0, 0);
    if (f == SF_EINTR) { errno = EINTR; return -1; }
    if (f == SF_EIO) { errno = EIO; return -1; }
    fd = __real_open(path, flags, mode);
    if (fd >= 0 && !g_child) g_db_fd = fd;
    return fd;
}

/* ---- the sweeps -------------------------------------------------------------- */

static size_t max_key_for(void)
{
    digby_vfs *mv = NULL;
    digby_db *db = NULL;
    digby_options o;
    size_t mk;
    if (digby_vfs_mem_create(NULL, &mv) != DIGBY_OK) die("mem vfs");
    set_opts(&o, mv);
    if (digby_open("k.db", &o, &db) != DIGBY_OK) die("scratch open");
    mk = digby_max_key_bytes(db);
    digby_close(db);
    digby_vfs_mem_destroy(mv);
    return mk;
}

static void usage(void)
{
    fprintf(stderr, "usage: faults crash|io|sys|oom [-p PS] [-e] [-z] [-g|-G] [-n TXNS] [-s STEP] "
                    "[-f FIRST] [-l LAST] [-t LABEL] [-o FILE] [-d DIR] [-q] [-B]\n");
    exit(2);
}

static void with_commas(char *out, size_t cap, uint64_t n)
{
    char tmp[32];
    size_t len, i, j = 0;
    snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)n);
    len = strlen(tmp);
    for (i = 0; i < len && j + 2 < cap; i++) {
        if (i && (len - i) % 3 == 0) out[j++] = ',';
        out[j++] = tmp[i];
    }
    out[j] = 0;
}

int main(int argc, char **argv)
{
    int i;
    uint64_t total = 0;
    fvfs *v = NULL;
    time_t t0 = time(NULL);
    char row[1400], logfig[600], a[32], b[32], c[32];
    if (argc < 2) usage();
    memset(&C, 0, sizeof C);
    C.mode = argv[1];
    C.ps = 4096;
    C.ntxn = 1000;
    C.step = 1;
    C.last = UINT64_MAX;
    C.seed = DEFAULT_SEED;
#ifdef DIGBY_LOG_DEFAULT
    C.logx = 1; /* every open without a mode flag is in log mode */
#endif
    strcpy(C.dir, getenv("DIGBY_TEST_DIR") ? getenv("DIGBY_TEST_DIR") : "/tmp");
    for (i = 2; i < argc; i++) {
        const char *o = argv[i];
        const char *arg = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "-e")) C.enc = 1;
        else if (!strcmp(o, "-g")) C.log = C.logx = 1;
        else if (!strcmp(o, "-G")) C.logx = 1;
        else if (!strcmp(o, "-z")) C.lz4 = 1;
        else if (!strcmp(o, "-q")) C.quiet = 1;
        else if (!strcmp(o, "-B")) C.brk = 1;
        else if (!strcmp(o, "-L")) C.leak = 1;
        else if (!arg) usage();
        else if (!strcmp(o, "-p")) { C.ps = (uint32_t)strtoul(arg, NULL, 0); i++; }
        else if (!strcmp(o, "-n")) { C.ntxn = atoi(arg); i++; }
        else if (!strcmp(o, "-s")) { C.step = strtoull(arg, NULL, 0); i++; }
        else if (!strcmp(o, "-f")) { C.first = strtoull(arg, NULL, 0); i++; }
        else if (!strcmp(o, "-l")) { C.last = strtoull(arg, NULL, 0); i++; }
        else if (!strcmp(o, "-t")) {
            /* "a,b_c" reads "a, b c" (labels pass through make without spaces) */
            static char lab[300];
            size_t j = 0;
            const char *q;
            for (q = arg; *q && j + 3 < sizeof lab; q++) {
                if (*q == '_') lab[j++] = ' ';
                else if (*q == ',') { lab[j++] = ','; lab[j++] = ' '; }
                else lab[j++] = *q;
            }
            lab[j] = 0;
            C.label = lab;
            i++;
        }
        else if (!strcmp(o, "-o")) { C.out = arg; i++; }
        else if (!strcmp(o, "-d")) { snprintf(C.dir, sizeof C.dir, "%s", arg); i++; }
        else usage();
    }
    if (C.step < 1) C.step = 1;
    if (strcmp(C.mode, "crash") && strcmp(C.mode, "io") && strcmp(C.mode, "sys") &&
        strcmp(C.mode, "oom"))
        usage();
    S = (shared *)mmap(NULL, sizeof(shared), PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (S == MAP_FAILED) die("mmap");
    memset(S, 0, sizeof *S);
    g_keys = (mkey *)calloc(MODEL_KEYS, sizeof(mkey));
    g_vmax = C.ps / 2 + 2 * (size_t)C.ps;
    if (g_vmax > 100000) g_vmax = 100000;
    g_vb = (unsigned char *)fv_xmalloc(g_vmax + 64);
    if (!g_keys) die("out of memory");
    gen_keys(g_keys, C.seed, max_key_for());

    /* the run without faults first: it must pass, and gives the call count */
    {
        uint64_t calls;
        if (C.mode[0] == 's') {
            static char path[600];
            snprintf(path, sizeof path, "%s/w1000.db", C.dir);
            unlink(path);
            unlink_lock_file(path); /* so that both runs create it */
            w_init(&W, sys_vfs(), NULL, path, 0);
            g_sys_armed = 1;
            C.first = UINT64_MAX; /* count only */
            g_idx = 0;
            w_run(&W);
            g_sys_armed = 0;
        } else {
            v = fv_new();
            v->hook = C.mode[0] == 'c' ? crash_hook : C.mode[0] == 'i' ? io_hook : NULL;
            w_init(&W, &v->vfs, v, DBPATH, C.mode[0] == 'o');
            if (C.mode[0] == 'o') H.hook = oom_hook;
            C.first = UINT64_MAX; /* count only */
            g_idx = 0;
            w_run(&W);
            H.hook = NULL;
            if (C.mode[0] == 'o' && H.live != 0) {
                fprintf(stderr, "faults oom: %lld allocations not freed after close (no "
                        "fault)\n", (long long)H.live);
                return 1;
            }
        }
        calls = g_idx;
        if (W.stopped) {
            fprintf(stderr, "faults %s: W1000 failed without a fault: %s in %s after %d "
                            "txns\n", C.mode, digby_strerror(W.stop_rc), W.stop_where,
                    W.ntxn_done);
            return 1;
        }
        if (v) {
            img cur[FV_MAX_FILES];
            memset(cur, 0, sizeof cur);
            for (i = 0; i < v->nfiles; i++) img_copy(&cur[i], &v->files[i].cur);
            if (verify_images(v, cur, &W.com, NULL, 0, "the file W1000 left, no fault")) {
                fprintf(stderr, "faults %s: the unfaulted file is wrong\n", C.mode);
                return 1;
            }
            for (i = 0; i < v->nfiles; i++) img_free(&cur[i]);
            fv_free(v);
            v = NULL;
        }
        if (!C.quiet)
            printf("faults %s: W1000 (%d txns, %llu commits, %llu aborts, %llu range "
                   "deletes of %llu keys, %llu backups checked, page %u%s%s): "
                   "%llu calls to fault (%llu writes, %llu syncs, %llu truncates, %llu reads)\n",
                   C.mode, W.ntxn_done,
                   (unsigned long long)W.commits, (unsigned long long)W.aborts,
                   (unsigned long long)W.ranges, (unsigned long long)W.range_keys,
                   (unsigned long long)S->backups, C.ps,
                   C.enc ? ", encrypted" : "", C.lz4 ? ", lz4" : "",
                   (unsigned long long)calls, (unsigned long long)g_kinds[FV_WRITE],
                   (unsigned long long)g_kinds[FV_SYNC], (unsigned long long)g_kinds[FV_TRUNC],
                   (unsigned long long)g_kinds[FV_READ]);
        total = calls;
        memset(S, 0, sizeof *S);
    }
    /* the sweep (options again: -f/-l/-s were overwritten for counting) */
    C.step = 1;
    C.first = 0;
    C.last = UINT64_MAX;
    for (i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-s") && i + 1 < argc) C.step = strtoull(argv[i + 1], NULL, 0);
        if (!strcmp(argv[i], "-f") && i + 1 < argc) C.first = strtoull(argv[i + 1], NULL, 0);
        if (!strcmp(argv[i], "-l") && i + 1 < argc) C.last = strtoull(argv[i + 1], NULL, 0);
    }
    if (C.step < 1) C.step = 1;
    g_idx = 0;
    if (C.mode[0] == 's') {
        W.path = NULL;
        {
            static char path[600];
            snprintf(path, sizeof path, "%s/w1000.db", C.dir);
            unlink(path);
            unlink_lock_file(path); /* so that both runs create it */
            w_init(&W, sys_vfs(), NULL, path, 0);
        }
        g_sys_armed = 1;
        w_run(&W);
        g_sys_armed = 0;
        unlink(W.path);
        {
            char p2[700];
            snprintf(p2, sizeof p2, "%s-lock", W.path);
            unlink(p2);
            snprintf(p2, sizeof p2, "%s/child.db", C.dir);
            unlink(p2);
            snprintf(p2, sizeof p2, "%s/child.db-lock", C.dir);
            unlink(p2);
        }
    } else {
        v = fv_new();
        v->hook = C.mode[0] == 'c' ? crash_hook : C.mode[0] == 'i' ? io_hook : NULL;
        w_init(&W, &v->vfs, v, DBPATH, C.mode[0] == 'o');
        if (C.mode[0] == 'o') H.hook = oom_hook;
        w_run(&W);
        H.hook = NULL;
        fv_free(v);
    }
    if (C.mode[0] == 'o') {
        /* open and close of an existing file: every allocation */
        fvfs *v2 = fv_new();
        int save_ntxn = C.ntxn;
        uint64_t save_first = C.first, save_last = C.last, save_step = C.step;
        w_init(&W, &v2->vfs, v2, DBPATH, 1);
        C.ntxn = 5;
        W.limit = 5;
        w_run(&W); /* a small file, no faults */
        if (W.stopped) die("the open/close file could not be made");
        W.stopped = 0;
        W.ntxn_done = 0;
        C.first = 0;
        C.last = UINT64_MAX;
        C.step = 1;
        C.ntxn = 0; /* the parent only opens and closes */
        g_phase = "open/close: ";
        g_idx = 0;
        H.hook = oom_hook;
        w_run(&W);
        H.hook = NULL;
        C.ntxn = save_ntxn;
        C.first = save_first;
        C.last = save_last;
        C.step = save_step;
        fv_free(v2);
    }

    /* figures */
    logfig[0] = 0;
    if (C.log)
        snprintf(logfig, sizeof logfig, "; log mode: W1000 made %llu no-sync commits, %llu "
                 "digby_sync, %llu digby_checkpoint, %llu checkpoints in all (automatic, "
                 "escalations, those; not counting close's), %llu reopens with replay (%llu commits "
                 "replayed); %llu states matched one before no-sync commits (%llu of them "
                 "reopened as written after a short write tore a log page that held no-sync "
                 "commits: a known limitation); %llu faults met "
                 "only by an automatic checkpoint or by close, unreported by design",
                 (unsigned long long)S->nosync_commits, (unsigned long long)S->syncs,
                 (unsigned long long)S->checkpoints, (unsigned long long)S->ckpt_total,
                 (unsigned long long)S->replays,
                 (unsigned long long)S->replay_commits, (unsigned long long)S->match_hist,
                 (unsigned long long)S->torn_nosync,
                 (unsigned long long)S->unreported_ckpt);
    with_commas(a, sizeof a, S->states);
    with_commas(b, sizeof b, S->children);
    with_commas(c, sizeof c, S->violations);
    if (C.mode[0] == 'c') {
        snprintf(row, sizeof row, "| power cut, %s | %s crash states checked (every %llu. of "
                 "%llu write/sync/truncate calls: %llu writes, %llu syncs, %llu truncates cut; "
                 "%llu dropped, %llu kept, %llu torn, %llu "
                 "reordered, %llu garbage sector; %llu matched the last commit, %llu the one "
                 "in flight; %llu duplicate and %llu unchanged all-dropped states skipped)%s | "
                 "%s violations |",
                 C.label ? C.label : "W1000", a, (unsigned long long)C.step,
                 (unsigned long long)total, (unsigned long long)S->kind_points[FV_WRITE],
                 (unsigned long long)S->kind_points[FV_SYNC],
                 (unsigned long long)S->kind_points[FV_TRUNC], (unsigned long long)S->states_a,
                 (unsigned long long)S->states_b, (unsigned long long)S->states_torn,
                 (unsigned long long)S->states_reorder, (unsigned long long)S->states_garbage,
                 (unsigned long long)S->match_old, (unsigned long long)S->match_new,
                 (unsigned long long)S->dup_skipped, (unsigned long long)S->a_skipped, logfig, c);
    } else if (C.mode[0] == 'o') {
        snprintf(row, sizeof row, "| out of memory, %s | %s faulted runs (every %llu. of %llu "
                 "allocations of W1000's first %d txns, then of open/close; once and "
                 "persistent), %llu errors returned, %llu worked around, %llu leak checks, %s reopened states "
                 "checked%s | %s violations |",
                 C.label ? C.label : "W1000", b, (unsigned long long)C.step,
                 (unsigned long long)total, C.ntxn ? C.ntxn : 0,
                 (unsigned long long)S->surfaced, (unsigned long long)S->absorbed,
                 (unsigned long long)S->leak_checks, a, logfig, c);
    } else {
        snprintf(row, sizeof row, "| %s, %s | %s faulted runs (every %llu. of %llu %s; once "
                 "and persistent), %llu errors returned (%llu POISONED begins after a "
                 "failed sync or meta write), %llu recommits, %s reopened states checked "
                 "(%llu held the commit whose sync failed, the rest the last acknowledged "
                 "one)%s | %s violations |",
                 C.mode[0] == 'i' ? "I/O errors (EIO, ENOSPC, short write) at VFS calls"
                                  : "system call faults (EINTR, short, EIO, ENOSPC), POSIX VFS",
                 C.label ? C.label : "W1000", b, (unsigned long long)C.step,
                 (unsigned long long)total, C.mode[0] == 'i' ? "VFS calls" : "system calls",
                 (unsigned long long)S->surfaced, (unsigned long long)S->poisoned_begin,
                 (unsigned long long)S->recommitted, a, (unsigned long long)S->match_new, logfig,
                 c);
    }
    printf("%s\n", row);
    if (!C.quiet) {
        printf("faults %s: %llu s; result codes seen:", C.mode,
               (unsigned long long)(time(NULL) - t0));
        for (i = 0; i < 32; i++)
            if (S->rc_hist[i]) printf(" %s=%llu", digby_strerror(-i),
                                      (unsigned long long)S->rc_hist[i]);
        printf("\n");
    }
    if (C.out) {
        FILE *f = fopen(C.out, "a");
        if (!f) die("cannot write the figure file");
        fprintf(f, "%s\n", row);
        fclose(f);
    }
    free(g_keys);
    free(g_vb);
    return S->violations ? 1 : 0;
}
