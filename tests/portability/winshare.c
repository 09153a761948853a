/* winshare: handles and processes sharing one file through the Win32 VFS's
   lock file (22_vfs_win32.c, 48_lockfile.c, FORMAT.md section 14): the
   Windows counterpart of tests/multiproc.c, which is a POSIX program
   (fork, pipes).  cmocka-free like smoke.c; built with mingw-w64 by
   make port-win and run under wine.

   Usage:
     winshare DIR                  every test below; files go to DIR
     winshare --child ROLE ...     one role of a child process (this program
                                   started by CreateProcess: every process
                                   opens the database itself)
   Exit status 0 when every check passed; otherwise every failed check is
   printed and the status is 1.

   Tests:
     vfs_locks        the Win32 VFS's shm_open/shm_lock/shm_close alone: bad
                      arguments are DIGBY_INVALID; two digby_files on one
                      path see one view and conflict; a lock taken again
                      is no change; exclusive to shared and back; a
                      refused upgrade keeps the shared lock; probes; a
                      range is locked all or nothing; DIGBY_SHM_WAIT
                      waits; shm_close lets every lock go
     two_handles      three handles in one process (two read-write, one
                      read-only): a commit of one is seen by the others; a
                      snapshot reads its own values exactly while the other
                      handle commits 40 times over them (pages freed and
                      reused; a cache of 16 pages, so pages are read again);
                      the second handle writes after the first (stale
                      freelist reloaded); digby_check clean in both
     writer_lock      one read-write transaction among the handles: another
                      handle's DIGBY_TXN_NOWAIT begin is DIGBY_BUSY, a
                      snapshot begins beside it, a blocking begin in a
                      thread waits until the writer commits and then sees
                      its commit
     log_mode         log-mode handles share the file: a read-only handle
                      and a second log-mode one read the first's log; a
                      copy-on-write handle merges it before it writes
     readers          2 reader processes (read-only handles) check that
                      every snapshot is exactly one commit, commits never go
                      backwards, while this process commits 60 times
     counters         2 processes and this one increment one counter 100
                      times each: no update lost
     killed_writer    a process holding a write transaction: DIGBY_TXN_NOWAIT
                      here is DIGBY_BUSY; killed (TerminateProcess), its
                      writer lock goes (how long Windows takes is timed and
                      printed), its uncommitted put is nowhere, the next
                      writer commits, digby_check clean
     killed_reader    a process holding a snapshot: while it lives the file
                      grows with every commit (its pages are held); killed,
                      its slot is cleared by a writer and 100 more commits
                      do not grow the file
   What wine cannot show: this runs under wine's emulation of LockFileEx,
   CreateFileMapping and process exit, not under Windows' kernel (see
   README, Processes). */
#if !defined(_WIN32)
#error "winshare.c is a Windows program (make port-win builds it with mingw-w64)"
#endif
#define DIGBY_IMPLEMENTATION
#include "digby.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

/* ---- checks (as smoke.c) -------------------------------------------------- */

static unsigned g_checks, g_failed;

static int check_at(int ok, const char *file, int line, const char *what)
{
    g_checks++;
    if (!ok) {
        g_failed++;
        printf("%s:%d: check failed: %s\n", file, line, what);
        fflush(stdout);
    }
    return ok;
}

static int check_rc_at(int rc, int want, const char *file, int line, const char *what)
{
    g_checks++;
    if (rc != want) {
        g_failed++;
        printf("%s:%d: %s\n    returned %d (%s), expected %d (%s)\n", file, line,
               what, rc, digby_strerror(rc), want, digby_strerror(want));
        fflush(stdout);
    }
    return rc == want;
}

#define CHECK(cond) check_at((cond) != 0, __FILE__, __LINE__, #cond)
#define CHECK_RC(expr, want) check_rc_at((expr), (want), __FILE__, __LINE__, #expr)
#define CHECK_OK(expr) check_rc_at((expr), DIGBY_OK, __FILE__, __LINE__, #expr)

/* ---- the workload: generation g overwrites every key ------------------------ */

#define NKEYS 300u

static uint64_t mix64(uint64_t z) /* splitmix64's finalizer */
{
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* every 25th value takes overflow pages (512-byte pages) */
static size_t val_len(uint64_t gen, unsigned k)
{
    return k % 25 == 0 ? 1500 : 16 + (size_t)((k * 7u + gen * 13u) % 180u);
}

static void val_fill(unsigned char *v, uint64_t gen, unsigned k, size_t n)
{
    size_t i;
    uint64_t x = mix64(gen * 1000003u + k);
    for (i = 0; i < n; i++) v[i] = (unsigned char)((x >> ((i % 8) * 8)) + i);
    for (i = 0; i < 8; i++) v[i] = (unsigned char)(gen >> (i * 8));
}

static size_t key_of(char *buf, unsigned k)
{
    return (size_t)sprintf(buf, "k%04u", k);
}

static void u64_le(unsigned char *b, uint64_t v)
{
    unsigned i;
    for (i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (i * 8));
}

static uint64_t le_u64(const unsigned char *b)
{
    uint64_t v = 0;
    unsigned i;
    for (i = 0; i < 8; i++) v |= (uint64_t)b[i] << (i * 8);
    return v;
}

/* One transaction: every key at generation gen, and "gen". */
static int write_gen(digby_db *db, uint64_t gen)
{
    unsigned char v[1500], g[8];
    char key[16];
    digby_txn *txn;
    unsigned k;
    int rc = digby_txn_begin(db, 0, &txn);
    if (rc) return rc;
    for (k = 0; k < NKEYS && rc == DIGBY_OK; k++) {
        size_t n = val_len(gen, k);
        val_fill(v, gen, k, n);
        rc = digby_txn_put(txn, NULL, key, key_of(key, k), v, n, 0);
    }
    u64_le(g, gen);
    if (rc == DIGBY_OK) rc = digby_txn_put(txn, NULL, "gen", 3, g, 8, 0);
    if (rc) { digby_txn_abort(txn); return rc; }
    return digby_txn_commit(txn);
}

/* Check that txn sees exactly one generation, every key of it; *gen_out is
   that generation.  Returns 0, or -1 with a message in why. */
static int check_gen(digby_txn *txn, uint64_t *gen_out, char *why, size_t why_bytes)
{
    unsigned char want[1500];
    const void *v = NULL;
    size_t vn = 0;
    char key[16];
    unsigned k;
    uint64_t gen;
    int rc = digby_txn_get(txn, NULL, "gen", 3, &v, &vn, NULL);
    if (rc || vn != 8) {
        snprintf(why, why_bytes, "get gen: %s, %u bytes", digby_strerror(rc),
                 rc ? 0u : (unsigned)vn);
        return -1;
    }
    gen = le_u64((const unsigned char *)v);
    for (k = 0; k < NKEYS; k++) {
        size_t n = val_len(gen, k);
        vn = 0;
        rc = digby_txn_get(txn, NULL, key, key_of(key, k), &v, &vn, NULL);
        val_fill(want, gen, k, n);
        if (rc || vn != n || memcmp(v, want, n) != 0) {
            snprintf(why, why_bytes, "snapshot of gen %lu: key %u: %s, %u bytes (want %u)%s",
                     (unsigned long)gen, k, digby_strerror(rc), (unsigned)vn, (unsigned)n,
                     rc == DIGBY_OK && vn >= 8
                         ? (le_u64((const unsigned char *)v) == gen ? ", wrong bytes"
                                                                    : ", another generation")
                         : "");
            return -1;
        }
    }
    *gen_out = gen;
    return 0;
}

/* A snapshot of db, checked; its generation, or UINT64_MAX on failure (a
   check failed). */
static uint64_t snapshot_gen(digby_db *db, int line)
{
    digby_txn *txn;
    uint64_t gen = UINT64_MAX;
    char why[200];
    int rc = digby_txn_begin(db, DIGBY_TXN_READONLY, &txn);
    check_rc_at(rc, DIGBY_OK, __FILE__, line, "digby_txn_begin(READONLY)");
    if (rc) return gen;
    if (check_gen(txn, &gen, why, sizeof(why))) {
        check_at(0, __FILE__, line, why);
        gen = UINT64_MAX;
    }
    digby_txn_abort(txn);
    return gen;
}

static void check_clean(digby_db *db)
{
    digby_check_report r;
    memset(&r, 0, sizeof(r));
    if (!CHECK_OK(digby_check(db, &r))) printf("    digby_check: %s\n", r.message);
}

static char g_dir[400];

static void path_in_dir(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", g_dir, name);
}

static void fresh(char *path, size_t n, const char *name)
{
    char lock[480];
    path_in_dir(path, n, name);
    remove(path);
    snprintf(lock, sizeof(lock), "%s-lock", path);
    remove(lock);
}

static digby_options opts(uint32_t flags)
{
    digby_options o;
    memset(&o, 0, sizeof(o));
    o.page_size = 512;
    o.cache_bytes = 16 * 512;
    o.flags = flags;
    return o;
}

static uint64_t file_bytes(const char *path)
{
    WIN32_FILE_ATTRIBUTE_DATA a;
    if (!GetFileAttributesExA(path, GetFileExInfoStandard, &a)) return 0;
    return ((uint64_t)a.nFileSizeHigh << 32) | a.nFileSizeLow;
}

/* ---- two_handles --------------------------------------------------------- */

static void test_two_handles(void)
{
    char path[512], why[200];
    digby_options o = opts(0), ro = opts(DIGBY_OPEN_READONLY);
    digby_db *a = NULL, *b = NULL, *r = NULL;
    digby_txn *held = NULL;
    uint64_t gen, g;
    printf("winshare: two_handles\n");
    fflush(stdout);
    fresh(path, sizeof(path), "two.digby");
    if (!CHECK_OK(digby_open(path, &o, &a))) return;
    if (!CHECK_OK(digby_open(path, &o, &b))) { digby_close(a); return; }
    CHECK_OK(write_gen(a, 1));
    if (CHECK_OK(digby_open(path, &ro, &r))) CHECK(snapshot_gen(r, __LINE__) == 1);
    CHECK(snapshot_gen(b, __LINE__) == 1);
    /* a snapshot in b across 40 commits of a */
    if (CHECK_OK(digby_txn_begin(b, DIGBY_TXN_READONLY, &held))) {
        for (gen = 2; gen <= 41; gen++) {
            if (!CHECK_OK(write_gen(a, gen))) break;
            if (gen % 10 == 1) {
                if (check_gen(held, &g, why, sizeof(why)) != 0) check_at(0, __FILE__, __LINE__, why);
                else CHECK(g == 1);
                CHECK(snapshot_gen(b, __LINE__) == gen);
                if (r) CHECK(snapshot_gen(r, __LINE__) == gen);
            }
        }
        if (check_gen(held, &g, why, sizeof(why)) != 0) check_at(0, __FILE__, __LINE__, why);
        else CHECK(g == 1);
        digby_txn_abort(held);
    }
    /* b writes after a (it reloads the freelist), then a again */
    CHECK_OK(write_gen(b, 42));
    CHECK(snapshot_gen(a, __LINE__) == 42);
    CHECK_OK(write_gen(a, 43));
    CHECK(snapshot_gen(b, __LINE__) == 43);
    if (r) CHECK(snapshot_gen(r, __LINE__) == 43);
    check_clean(a);
    check_clean(b);
    if (r) CHECK_OK(digby_close(r));
    CHECK_OK(digby_close(b));
    CHECK_OK(digby_close(a));
}

/* ---- vfs_locks: the Win32 VFS's shm_* alone ------------------------------- */

typedef struct {
    const digby_vfs *vfs;
    digby_file *f;
    uint32_t byte;
    volatile LONG done;
    int rc;
} lock_waiter;

static DWORD WINAPI lock_waiter_main(LPVOID arg)
{
    lock_waiter *w = (lock_waiter *)arg;
    w->rc = w->vfs->shm_lock(w->f, w->byte, 1, DIGBY_LOCK_EXCLUSIVE | DIGBY_SHM_WAIT);
    InterlockedExchange(&w->done, 1);
    return 0;
}

static void test_vfs_locks(void)
{
    const digby_vfs *vfs = digby_vfs_win32();
    char path[512];
    digby_file *a = NULL, *b = NULL;
    void *ma = NULL, *mb = NULL, *mx = NULL;
    const int X = DIGBY_LOCK_EXCLUSIVE, S = DIGBY_LOCK_SHARED, N = DIGBY_LOCK_NONE;
    const int P = DIGBY_SHM_PROBE;
    lock_waiter w;
    HANDLE th;
    printf("winshare: vfs_locks\n");
    fflush(stdout);
    fresh(path, sizeof(path), "vfs.digby");
    if (!CHECK(vfs && vfs->version >= 4 && vfs->shm_open && vfs->shm_lock && vfs->shm_close))
        return;
    if (!CHECK_OK(vfs->open(vfs, path, DIGBY_VFS_CREATE, &a))) return;
    if (!CHECK_OK(vfs->open(vfs, path, DIGBY_VFS_CREATE, &b))) { vfs->close(a); return; }
    /* before shm_open, and bad arguments */
    CHECK_RC(vfs->shm_lock(a, 0, 1, X), DIGBY_INVALID);
    CHECK_RC(vfs->shm_open(a, path, 0, &ma), DIGBY_INVALID);
    if (!CHECK_OK(vfs->shm_open(a, path, 16384, &ma))) goto out;
    CHECK_RC(vfs->shm_open(a, path, 16384, &mx), DIGBY_INVALID);
    if (!CHECK_OK(vfs->shm_open(b, path, 16384, &mb))) goto out;
    CHECK(ma != NULL && mb != NULL && file_bytes(path) == 0);
    {
        char lp[520];
        snprintf(lp, sizeof(lp), "%s-lock", path);
        CHECK(file_bytes(lp) == 16384);
    }
    CHECK_RC(vfs->shm_lock(a, 16384, 1, X), DIGBY_INVALID);
    CHECK_RC(vfs->shm_lock(a, 16383, 2, X), DIGBY_INVALID);
    CHECK_RC(vfs->shm_lock(a, 0xFFFFFFFFu, 2, X), DIGBY_INVALID);
    CHECK_RC(vfs->shm_lock(a, 5, 0, X), DIGBY_INVALID);
    CHECK_RC(vfs->shm_lock(a, 5, 1, 3), DIGBY_INVALID);
    CHECK_RC(vfs->shm_lock(a, 5, 1, X | 0x100), DIGBY_INVALID);
    CHECK_RC(vfs->shm_lock(a, 5, 1, N | P), DIGBY_INVALID);
    /* one view of one file: a's stores show in b's map */
    if (ma && mb) {
        ((volatile uint8_t *)ma)[100] = 0x5A;
        CHECK(((volatile uint8_t *)mb)[100] == 0x5A);
    }
    /* the locks belong to the digby_file: a and b conflict */
    CHECK_OK(vfs->shm_lock(a, 1, 1, X));
    CHECK_OK(vfs->shm_lock(a, 1, 1, X)); /* again: no change */
    CHECK_RC(vfs->shm_lock(b, 1, 1, X), DIGBY_BUSY);
    CHECK_RC(vfs->shm_lock(b, 1, 1, S), DIGBY_BUSY);
    CHECK_RC(vfs->shm_lock(b, 1, 1, X | P), DIGBY_BUSY);
    CHECK_OK(vfs->shm_lock(a, 1, 1, S | P)); /* its own lock: nobody else's */
    /* exclusive to shared: b may share it, not take it */
    CHECK_OK(vfs->shm_lock(a, 1, 1, S));
    CHECK_OK(vfs->shm_lock(a, 1, 1, S)); /* again: no change (no second lock) */
    CHECK_OK(vfs->shm_lock(b, 1, 1, S | P));
    CHECK_RC(vfs->shm_lock(b, 1, 1, X | P), DIGBY_BUSY);
    CHECK_OK(vfs->shm_lock(b, 1, 1, S));
    CHECK_RC(vfs->shm_lock(a, 1, 1, X | P), DIGBY_NOFEATURE);
    /* a refused upgrade keeps the shared lock */
    CHECK_RC(vfs->shm_lock(a, 1, 1, X), DIGBY_BUSY);
    CHECK_OK(vfs->shm_lock(b, 1, 1, N));
    CHECK_RC(vfs->shm_lock(b, 1, 1, X), DIGBY_BUSY); /* a still holds it shared */
    CHECK_OK(vfs->shm_lock(a, 1, 1, X));             /* upgrade, alone */
    CHECK_RC(vfs->shm_lock(b, 1, 1, S), DIGBY_BUSY);
    CHECK_OK(vfs->shm_lock(a, 1, 1, N));
    CHECK_OK(vfs->shm_lock(a, 1, 1, N)); /* again: nothing held, no change */
    CHECK_OK(vfs->shm_lock(b, 1, 1, X));
    CHECK_OK(vfs->shm_lock(b, 1, 1, N));
    /* ranges: all or nothing */
    CHECK_OK(vfs->shm_lock(a, 10, 4, X));
    CHECK_RC(vfs->shm_lock(b, 8, 4, X), DIGBY_BUSY);
    CHECK_OK(vfs->shm_lock(a, 8, 2, X | P)); /* b let 8 and 9 go again */
    CHECK_OK(vfs->shm_lock(b, 9, 1, S));
    CHECK_RC(vfs->shm_lock(b, 8, 4, X), DIGBY_BUSY);
    CHECK_OK(vfs->shm_lock(a, 8, 1, X | P)); /* 8 went back to none, */
    CHECK_RC(vfs->shm_lock(a, 9, 1, X | P), DIGBY_BUSY); /* 9 to shared */
    CHECK_OK(vfs->shm_lock(a, 9, 1, S | P));
    CHECK_OK(vfs->shm_lock(b, 9, 1, N));
    CHECK_OK(vfs->shm_lock(a, 11, 2, N));     /* part of a range */
    CHECK_OK(vfs->shm_lock(b, 11, 2, X));
    CHECK_RC(vfs->shm_lock(b, 10, 1, X), DIGBY_BUSY);
    CHECK_OK(vfs->shm_lock(b, 11, 2, N));
    CHECK_OK(vfs->shm_lock(a, 10, 4, N));
    CHECK_OK(vfs->shm_lock(b, 10, 6, X));
    CHECK_OK(vfs->shm_lock(b, 10, 6, N));
    /* DIGBY_SHM_WAIT waits for the other digby_file's lock */
    CHECK_OK(vfs->shm_lock(a, 2, 1, X));
    memset(&w, 0, sizeof(w));
    w.vfs = vfs;
    w.f = b;
    w.byte = 2;
    th = CreateThread(NULL, 0, lock_waiter_main, &w, 0, NULL);
    if (CHECK(th != NULL)) {
        Sleep(200);
        CHECK(InterlockedCompareExchange(&w.done, 0, 0) == 0);
        CHECK_OK(vfs->shm_lock(a, 2, 1, N));
        CHECK(WaitForSingleObject(th, 30000) == WAIT_OBJECT_0);
        CloseHandle(th);
        CHECK_OK(w.rc);
        CHECK_RC(vfs->shm_lock(a, 2, 1, X), DIGBY_BUSY);
    }
    /* shm_close lets b's locks go at once, and b can open it again */
    CHECK_OK(vfs->shm_lock(b, 64, 1, X));
    CHECK_OK(vfs->shm_lock(b, 0, 1, S));
    vfs->shm_close(b);
    vfs->shm_close(b); /* twice: nothing */
    CHECK_RC(vfs->shm_lock(b, 64, 1, X), DIGBY_INVALID);
    CHECK_OK(vfs->shm_lock(a, 64, 1, X));
    CHECK_OK(vfs->shm_lock(a, 0, 1, X));
    CHECK_OK(vfs->shm_lock(a, 2, 1, X));
    if (CHECK_OK(vfs->shm_open(b, path, 16384, &mb)))
        CHECK_RC(vfs->shm_lock(b, 0, 1, S), DIGBY_BUSY);
out:
    vfs->close(b); /* closes its lock file too */
    vfs->close(a);
    CHECK_OK(vfs->remove(vfs, path));
}

/* ---- writer_lock ---------------------------------------------------------- */

typedef struct {
    digby_db *db;
    volatile LONG begun;  /* the blocking begin returned */
    int rc_begin, rc_get, rc_commit;
    char seen[8];
} waiter_ctx;

static DWORD WINAPI waiter_main(LPVOID arg)
{
    waiter_ctx *w = (waiter_ctx *)arg;
    digby_txn *txn = NULL;
    const void *v;
    size_t vn = 0;
    w->rc_begin = digby_txn_begin(w->db, 0, &txn);
    InterlockedExchange(&w->begun, 1);
    if (w->rc_begin) return 0;
    w->rc_get = digby_txn_get(txn, NULL, "w", 1, &v, &vn, NULL);
    if (w->rc_get == DIGBY_OK && vn < sizeof(w->seen)) memcpy(w->seen, v, vn);
    w->rc_commit = digby_txn_put(txn, NULL, "w2", 2, "b", 1, 0);
    if (w->rc_commit) digby_txn_abort(txn);
    else w->rc_commit = digby_txn_commit(txn);
    return 0;
}

static void test_writer_lock(void)
{
    char path[512];
    digby_options o = opts(0), ro = opts(DIGBY_OPEN_READONLY);
    digby_db *a = NULL, *b = NULL, *r = NULL;
    digby_txn *wa = NULL, *t = NULL;
    waiter_ctx w;
    HANDLE th;
    void *v = NULL;
    size_t vn = 0;
    printf("winshare: writer_lock\n");
    fflush(stdout);
    fresh(path, sizeof(path), "wlock.digby");
    if (!CHECK_OK(digby_open(path, &o, &a))) return;
    if (!CHECK_OK(digby_open(path, &o, &b))) { digby_close(a); return; }
    CHECK_OK(write_gen(a, 1));
    if (!CHECK_OK(digby_open(path, &ro, &r))) r = NULL;
    if (!CHECK_OK(digby_txn_begin(a, 0, &wa))) goto out;
    CHECK_OK(digby_txn_put(wa, NULL, "w", 1, "a", 1, 0));
    /* another handle's writer: busy at once with NOWAIT */
    if (!CHECK_RC(digby_txn_begin(b, DIGBY_TXN_NOWAIT, &t), DIGBY_BUSY)) digby_txn_abort(t);
    if (r) CHECK_RC(digby_txn_begin(r, 0, &t), DIGBY_READONLY);
    /* snapshots begin beside it and do not see it */
    CHECK(snapshot_gen(b, __LINE__) == 1);
    if (r) CHECK(snapshot_gen(r, __LINE__) == 1);
    /* a blocking begin waits for it */
    memset(&w, 0, sizeof(w));
    w.db = b;
    th = CreateThread(NULL, 0, waiter_main, &w, 0, NULL);
    CHECK(th != NULL);
    Sleep(300);
    CHECK(InterlockedCompareExchange(&w.begun, 0, 0) == 0);
    CHECK_OK(digby_txn_commit(wa));
    if (th) {
        CHECK(WaitForSingleObject(th, 30000) == WAIT_OBJECT_0);
        CloseHandle(th);
        CHECK_OK(w.rc_begin);
        CHECK_OK(w.rc_get);
        CHECK(memcmp(w.seen, "a", 1) == 0);
        CHECK_OK(w.rc_commit);
    }
    if (CHECK_OK(digby_get(a, "w2", 2, &v, &vn, NULL))) CHECK(vn == 1 && memcmp(v, "b", 1) == 0);
    digby_free(a, v);
    /* and NOWAIT succeeds once nobody writes */
    if (CHECK_OK(digby_txn_begin(b, DIGBY_TXN_NOWAIT, &t))) digby_txn_abort(t);
    check_clean(b);
out:
    if (r) CHECK_OK(digby_close(r));
    CHECK_OK(digby_close(b));
    CHECK_OK(digby_close(a));
}

/* ---- log_mode ------------------------------------------------------------- */

static void test_log_mode(void)
{
    char path[512];
    digby_options o = opts(0), lg = opts(DIGBY_OPEN_LOG), ro = opts(DIGBY_OPEN_READONLY);
    digby_db *a = NULL, *b = NULL, *r = NULL;
    void *v = NULL;
    size_t vn = 0;
    printf("winshare: log_mode\n");
    fflush(stdout);
    fresh(path, sizeof(path), "logmode.digby");
    if (!CHECK_OK(digby_open(path, &lg, &a))) return;
    CHECK_OK(digby_put(a, "x", 1, "1", 1));
    /* a read-only handle and another log-mode one read the first's log */
    if (!CHECK_OK(digby_open(path, &ro, &r))) goto out;
    if (!CHECK_OK(digby_open(path, &lg, &b))) goto out;
    if (CHECK_OK(digby_get(r, "x", 1, &v, &vn, NULL))) CHECK(vn == 1 && memcmp(v, "1", 1) == 0);
    digby_free(r, v);
    v = NULL;
    CHECK_OK(digby_put(b, "y", 1, "2", 1));
    if (CHECK_OK(digby_get(a, "y", 1, &v, &vn, NULL))) CHECK(vn == 1 && memcmp(v, "2", 1) == 0);
    digby_free(a, v);
    v = NULL;
    CHECK_OK(digby_put(a, "x", 1, "3", 1));
    if (CHECK_OK(digby_get(r, "x", 1, &v, &vn, NULL))) CHECK(vn == 1 && memcmp(v, "3", 1) == 0);
    digby_free(r, v);
    v = NULL;
    CHECK_OK(digby_close(b));
    b = NULL;
    /* a copy-on-write handle merges the log before it writes */
    if (!CHECK_OK(digby_open(path, &o, &b))) goto out;
    CHECK_OK(digby_put(b, "z", 1, "4", 1));
    if (CHECK_OK(digby_get(a, "x", 1, &v, &vn, NULL))) CHECK(vn == 1 && memcmp(v, "3", 1) == 0);
    digby_free(a, v);
    v = NULL;
    if (CHECK_OK(digby_get(a, "z", 1, &v, &vn, NULL))) CHECK(vn == 1 && memcmp(v, "4", 1) == 0);
    digby_free(a, v);
    check_clean(a);
    check_clean(b);
out:
    if (r) CHECK_OK(digby_close(r));
    if (b) CHECK_OK(digby_close(b));
    CHECK_OK(digby_close(a));
}

/* ---- child processes ------------------------------------------------------ */

static char g_self[1024];

/* Start this program as "--child ROLE PATH ARG EVENT"; the child sets the
   named event EVENT when it is ready (an event created here first). */
typedef struct {
    PROCESS_INFORMATION pi;
    HANDLE ready;
    int ok;
} child;

static void child_start(child *c, const char *role, const char *path, const char *arg,
                        unsigned n)
{
    char cmd[2048], ev[64];
    STARTUPINFOA si;
    memset(c, 0, sizeof(*c));
    snprintf(ev, sizeof(ev), "digby-winshare-%lu-%u", (unsigned long)GetCurrentProcessId(), n);
    c->ready = CreateEventA(NULL, TRUE, FALSE, ev);
    CHECK(c->ready != NULL);
    snprintf(cmd, sizeof(cmd), "\"%s\" --child %s \"%s\" %s %s", g_self, role, path, arg, ev);
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    c->ok = CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &c->pi) != 0;
    if (!c->ok) printf("    CreateProcess(%s) failed: %lu\n", cmd, (unsigned long)GetLastError());
    CHECK(c->ok);
}

/* Wait until the child said it is ready (or ended). */
static int child_ready(child *c, DWORD ms)
{
    HANDLE hs[2];
    DWORD r;
    if (!c->ok) return 0;
    hs[0] = c->ready;
    hs[1] = c->pi.hProcess;
    r = WaitForMultipleObjects(2, hs, FALSE, ms);
    return r == WAIT_OBJECT_0;
}

/* Wait for the child's end; its exit status (or -1: still running after ms,
   then killed). */
static int child_end(child *c, DWORD ms)
{
    DWORD code = 0;
    int rc = -1;
    if (!c->ok) return -1;
    if (WaitForSingleObject(c->pi.hProcess, ms) != WAIT_OBJECT_0) {
        TerminateProcess(c->pi.hProcess, 99);
        WaitForSingleObject(c->pi.hProcess, INFINITE);
    } else if (GetExitCodeProcess(c->pi.hProcess, &code)) {
        rc = (int)code;
    }
    CloseHandle(c->pi.hProcess);
    CloseHandle(c->pi.hThread);
    CloseHandle(c->ready);
    c->ok = 0;
    return rc;
}

static void child_kill(child *c)
{
    if (!c->ok) return;
    TerminateProcess(c->pi.hProcess, 9);
    WaitForSingleObject(c->pi.hProcess, INFINITE);
}

static int child_fail(const char *role, const char *what, int rc)
{
    printf("    child %s (pid %lu): %s: %s\n", role, (unsigned long)GetCurrentProcessId(), what,
           digby_strerror(rc));
    fflush(stdout);
    return 1;
}

static void child_signal(const char *ev)
{
    HANDLE h = OpenEventA(EVENT_MODIFY_STATE, FALSE, ev);
    if (h) { SetEvent(h); CloseHandle(h); }
}

/* reader PATH FINAL EVENT: snapshots of a read-only handle until one is
   generation FINAL (60 s at most): each exactly one generation, none older
   than the one before.  Ready after its first snapshot. */
static int child_reader(const char *path, const char *final_s, const char *ev)
{
    digby_options o = opts(DIGBY_OPEN_READONLY);
    digby_db *db = NULL;
    uint64_t final = strtoull(final_s, NULL, 10), last = 0, gen = 0;
    unsigned long snaps = 0, changes = 0;
    DWORD t0 = GetTickCount();
    char why[200];
    int rc = digby_open(path, &o, &db);
    if (rc) return child_fail("reader", "open", rc);
    while (gen < final && GetTickCount() - t0 < 60000) {
        digby_txn *txn;
        rc = digby_txn_begin(db, DIGBY_TXN_READONLY, &txn);
        if (rc) return child_fail("reader", "begin", rc);
        if (check_gen(txn, &gen, why, sizeof(why))) {
            printf("    child reader: %s\n", why);
            return 1;
        }
        digby_txn_abort(txn);
        if (gen < last) {
            printf("    child reader: gen %lu after %lu\n", (unsigned long)gen, (unsigned long)last);
            return 1;
        }
        if (gen != last) changes++;
        last = gen;
        if (snaps++ == 0) child_signal(ev);
    }
    printf("    child reader: %lu snapshots, %lu generations seen, last %lu\n", snaps, changes,
           (unsigned long)gen);
    fflush(stdout);
    rc = digby_close(db);
    if (rc) return child_fail("reader", "close", rc);
    return gen == final ? 0 : 2;
}

static int counter_add(digby_db *db, unsigned n)
{
    unsigned i;
    int rc = DIGBY_OK;
    for (i = 0; i < n && rc == DIGBY_OK; i++) {
        digby_txn *txn;
        const void *v;
        size_t vn;
        unsigned char b[8];
        uint64_t c = 0;
        rc = digby_txn_begin(db, 0, &txn);
        if (rc) break;
        rc = digby_txn_get(txn, NULL, "ctr", 3, &v, &vn, NULL);
        if (rc == DIGBY_OK && vn == 8) c = le_u64((const unsigned char *)v);
        else if (rc == DIGBY_NOTFOUND) rc = DIGBY_OK;
        u64_le(b, c + 1);
        if (rc == DIGBY_OK) rc = digby_txn_put(txn, NULL, "ctr", 3, b, 8, 0);
        if (rc) { digby_txn_abort(txn); break; }
        rc = digby_txn_commit(txn);
    }
    return rc;
}

/* counter PATH N EVENT: N increments, each its own write transaction,
   once the event EVENT + "go" is set (all counters start together). */
static int child_counter(const char *path, const char *n_s, const char *ev)
{
    digby_options o = opts(0);
    digby_db *db = NULL;
    char go[80];
    HANDLE h;
    int rc = digby_open(path, &o, &db);
    if (rc) return child_fail("counter", "open", rc);
    snprintf(go, sizeof(go), "%sgo", ev);
    h = OpenEventA(SYNCHRONIZE, FALSE, go);
    child_signal(ev);
    if (!h) return child_fail("counter", "no go event", DIGBY_INVALID);
    WaitForSingleObject(h, 60000);
    CloseHandle(h);
    rc = counter_add(db, (unsigned)strtoul(n_s, NULL, 10));
    if (rc) return child_fail("counter", "increment", rc);
    rc = digby_close(db);
    return rc ? child_fail("counter", "close", rc) : 0;
}

/* holdwrite PATH - EVENT: a write transaction with a put in it, held until
   the process is killed. */
static int child_holdwrite(const char *path, const char *unused, const char *ev)
{
    digby_options o = opts(0);
    digby_db *db = NULL;
    digby_txn *txn;
    int rc = digby_open(path, &o, &db);
    (void)unused;
    if (rc) return child_fail("holdwrite", "open", rc);
    rc = digby_txn_begin(db, 0, &txn);
    if (rc) return child_fail("holdwrite", "begin", rc);
    rc = digby_txn_put(txn, NULL, "ghost", 5, "boo", 3, 0);
    if (rc) return child_fail("holdwrite", "put", rc);
    child_signal(ev);
    Sleep(120000);
    return 3; /* not killed */
}

/* holdread PATH - EVENT: a snapshot, held until the process is killed. */
static int child_holdread(const char *path, const char *unused, const char *ev)
{
    digby_options o = opts(0);
    digby_db *db = NULL;
    digby_txn *txn;
    uint64_t gen;
    char why[200];
    int rc = digby_open(path, &o, &db);
    (void)unused;
    if (rc) return child_fail("holdread", "open", rc);
    rc = digby_txn_begin(db, DIGBY_TXN_READONLY, &txn);
    if (rc) return child_fail("holdread", "begin", rc);
    if (check_gen(txn, &gen, why, sizeof(why))) {
        printf("    child holdread: %s\n", why);
        return 1;
    }
    child_signal(ev);
    Sleep(120000);
    return 3;
}

static int child_main(int argc, char **argv)
{
    const char *role;
    if (argc != 6) {
        printf("winshare --child ROLE PATH ARG EVENT\n");
        return 2;
    }
    role = argv[2];
    if (!strcmp(role, "reader")) return child_reader(argv[3], argv[4], argv[5]);
    if (!strcmp(role, "counter")) return child_counter(argv[3], argv[4], argv[5]);
    if (!strcmp(role, "holdwrite")) return child_holdwrite(argv[3], argv[4], argv[5]);
    if (!strcmp(role, "holdread")) return child_holdread(argv[3], argv[4], argv[5]);
    printf("winshare: unknown role %s\n", role);
    return 2;
}

/* ---- tests with processes ------------------------------------------------- */

static void test_readers(void)
{
    char path[512];
    digby_options o = opts(0);
    digby_db *db = NULL;
    child c[2];
    uint64_t gen;
    unsigned i;
    printf("winshare: readers\n");
    fflush(stdout);
    fresh(path, sizeof(path), "readers.digby");
    if (!CHECK_OK(digby_open(path, &o, &db))) return;
    CHECK_OK(write_gen(db, 1));
    for (i = 0; i < 2; i++) child_start(&c[i], "reader", path, "61", i);
    for (i = 0; i < 2; i++) CHECK(child_ready(&c[i], 60000));
    for (gen = 2; gen <= 61; gen++) {
        if (!CHECK_OK(write_gen(db, gen))) break;
        if (gen % 4 == 0) Sleep(5); /* let the readers see many of them */
    }
    for (i = 0; i < 2; i++) CHECK(child_end(&c[i], 90000) == 0);
    check_clean(db);
    CHECK_OK(digby_close(db));
}

static void test_counters(void)
{
    char path[512];
    digby_options o = opts(0);
    digby_db *db = NULL;
    child c[2];
    unsigned i;
    void *v = NULL;
    size_t vn = 0;
    char go[80];
    HANDLE goh;
    printf("winshare: counters\n");
    fflush(stdout);
    fresh(path, sizeof(path), "counters.digby");
    if (!CHECK_OK(digby_open(path, &o, &db))) return;
    CHECK_OK(write_gen(db, 1));
    for (i = 0; i < 2; i++) {
        snprintf(go, sizeof(go), "digby-winshare-%lu-%ugo", (unsigned long)GetCurrentProcessId(),
                 10 + i);
        goh = CreateEventA(NULL, TRUE, FALSE, go); /* left to the process's end */
        CHECK(goh != NULL);
        child_start(&c[i], "counter", path, "100", 10 + i);
    }
    for (i = 0; i < 2; i++) {
        CHECK(child_ready(&c[i], 60000));
        snprintf(go, sizeof(go), "digby-winshare-%lu-%ugo", (unsigned long)GetCurrentProcessId(),
                 10 + i);
        goh = OpenEventA(EVENT_MODIFY_STATE, FALSE, go);
        if (CHECK(goh != NULL)) { SetEvent(goh); CloseHandle(goh); }
    }
    CHECK_OK(counter_add(db, 100));
    for (i = 0; i < 2; i++) CHECK(child_end(&c[i], 90000) == 0);
    if (CHECK_OK(digby_get(db, "ctr", 3, &v, &vn, NULL))) {
        CHECK(vn == 8 && le_u64((const unsigned char *)v) == 300);
        if (vn == 8) printf("    counter: %lu (want 300)\n", (unsigned long)le_u64((const unsigned char *)v));
    }
    digby_free(db, v);
    check_clean(db);
    CHECK_OK(digby_close(db));
}

static void test_killed_writer(void)
{
    char path[512];
    digby_options o = opts(0);
    digby_db *db = NULL;
    digby_txn *t = NULL;
    child c;
    DWORD t0;
    int rc = DIGBY_BUSY;
    void *v = NULL;
    size_t vn = 0;
    printf("winshare: killed_writer\n");
    fflush(stdout);
    fresh(path, sizeof(path), "kwriter.digby");
    if (!CHECK_OK(digby_open(path, &o, &db))) return;
    CHECK_OK(write_gen(db, 1));
    child_start(&c, "holdwrite", path, "-", 20);
    if (CHECK(child_ready(&c, 60000))) {
        if (!CHECK_RC(digby_txn_begin(db, DIGBY_TXN_NOWAIT, &t), DIGBY_BUSY)) digby_txn_abort(t);
        child_kill(&c);
        /* the writer lock goes when Windows releases the dead process's
           locks: poll, 30 s at most */
        t0 = GetTickCount();
        while (GetTickCount() - t0 < 30000) {
            rc = digby_txn_begin(db, DIGBY_TXN_NOWAIT, &t);
            if (rc != DIGBY_BUSY) break;
            Sleep(10);
        }
        printf("    the killed writer's lock went after %lu ms\n",
               (unsigned long)(GetTickCount() - t0));
        if (CHECK_OK(rc)) {
            CHECK_RC(digby_txn_get(t, NULL, "ghost", 5, (const void **)&v, &vn, NULL),
                     DIGBY_NOTFOUND);
            v = NULL;
            CHECK_OK(digby_txn_put(t, NULL, "after", 5, "yes", 3, 0));
            CHECK_OK(digby_txn_commit(t));
        }
    }
    child_end(&c, 1000);
    CHECK(snapshot_gen(db, __LINE__) == 1);
    CHECK_RC(digby_get(db, "ghost", 5, &v, &vn, NULL), DIGBY_NOTFOUND);
    if (CHECK_OK(digby_get(db, "after", 5, &v, &vn, NULL))) CHECK(vn == 3);
    digby_free(db, v);
    CHECK_OK(write_gen(db, 2));
    check_clean(db);
    CHECK_OK(digby_close(db));
}

static void test_killed_reader(void)
{
    char path[512];
    digby_options o = opts(0);
    digby_db *db = NULL;
    child c;
    uint64_t gen = 1, held0, held1, s0, s1;
    printf("winshare: killed_reader\n");
    fflush(stdout);
    fresh(path, sizeof(path), "kreader.digby");
    if (!CHECK_OK(digby_open(path, &o, &db))) return;
    for (; gen <= 10; gen++) CHECK_OK(write_gen(db, gen));
    child_start(&c, "holdread", path, "-", 30);
    if (!CHECK(child_ready(&c, 60000))) {
        child_end(&c, 1000);
        CHECK_OK(digby_close(db));
        return;
    }
    /* held: every commit's freed pages stay */
    held0 = file_bytes(path);
    for (; gen <= 30; gen++) CHECK_OK(write_gen(db, gen));
    held1 = file_bytes(path);
    printf("    with a live snapshot in another process: %lu -> %lu bytes over 20 commits\n",
           (unsigned long)held0, (unsigned long)held1);
    CHECK(held1 > held0 + 20 * 16 * 512);
    child_kill(&c);
    child_end(&c, 1000);
    /* a writer clears the dead slot within 64 write transactions (once
       Windows let the dead process's lock on it go) */
    for (; gen <= 130; gen++) CHECK_OK(write_gen(db, gen));
    s0 = file_bytes(path);
    for (; gen <= 230; gen++) CHECK_OK(write_gen(db, gen));
    s1 = file_bytes(path);
    printf("    after the kill: %lu bytes, 100 commits later %lu bytes\n", (unsigned long)s0,
           (unsigned long)s1);
    CHECK(s1 <= s0);
    CHECK(snapshot_gen(db, __LINE__) == 230);
    check_clean(db);
    CHECK_OK(digby_close(db));
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "--child")) return child_main(argc, argv);
    if (argc != 2) {
        printf("usage: winshare DIR | winshare --child ROLE PATH ARG EVENT\n");
        return 2;
    }
    snprintf(g_dir, sizeof(g_dir), "%s", argv[1]);
    if (!GetModuleFileNameA(NULL, g_self, sizeof(g_self)) ||
        GetLastError() == ERROR_INSUFFICIENT_BUFFER) {
        printf("winshare: GetModuleFileNameA failed\n");
        return 1;
    }
    test_vfs_locks();
    test_two_handles();
    test_writer_lock();
    test_log_mode();
    test_readers();
    test_counters();
    test_killed_writer();
    test_killed_reader();
    printf("winshare: %s, %u checks, %u failed\n", g_failed ? "FAILED" : "ok", g_checks,
           g_failed);
    return g_failed != 0;
}
