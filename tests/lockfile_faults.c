/* tests/lockfile_faults.c -- faults in a handle that shares its file.

   Two handles share one real file through the POSIX VFS's lock file
   (FORMAT.md section 14; src_parts/48_lockfile.c): the victim V opens it
   through a VFS that wraps the POSIX one and can fail any call, and with
   an allocator that can fail any allocation; the other handle O opens it
   plainly.  A fixed workload: O creates the file and commits; V opens
   (attach: shm_open, the attach, alive, slot and writer locks; the meta
   and freelist reads); then twelve rounds of a read in V (which takes in
   O's last commit: the refresh reads its meta page), a commit in O, a
   commit in V (the writer lock, the takeover after another handle's
   writer: the meta slot check and the freelist reload), a scan in V every
   fourth round, V closed and opened again in round six; V closed; O
   commits and reads everything; O closed; the file reopened alone.

   The sweep runs the workload once to count V's VFS calls and
   allocations, then once per call and per allocation with that one
   failing, and once with it and every later one failing: I/O error
   (DIGBY_IOERR) at every call (shm_open and shm_lock also DIGBY_NOMEM, as
   for ENOLCK), NULL at every allocation.  Releasing a lock never fails
   (fcntl's unlock does not); shm_close and close cannot fail.  What must
   hold:
   - every call of V returns DIGBY_OK or the injected error (or
     DIGBY_POISONED after it; DIGBY_NOMEM for an allocation), never
     another code (a DIGBY_CORRUPT for an I/O error would be a lie);
   - O is unaffected: each of its commits (DIGBY_TXN_NOWAIT: a writer lock
     V failed to give back shows as DIGBY_BUSY, not a hang) and reads
     succeeds, and reads give exactly the committed state;
   - V's reads that succeed give exactly the committed state too;
   - V's digby_close returns DIGBY_OK;
   - the file, reopened alone, holds every acknowledged commit (a commit
     that failed may or may not be there, whole) and digby_check passes.
   The plain pass sweeps every second point, the encrypted one (a raw key)
   every fifth (make test's time); DIGBY_TEST_SCALE=2 or more: every point
   of both.  A build whose
   POSIX VFS has no lock file (no memory map: DIGBY_NO_MMAP, the ASan
   build) skips the test with a message. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define DIGBY_IMPLEMENTATION
#include "digby.h"

#define TEST_NAME "lockfile_faults"
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NKEYS 16 /* O writes k00..k07, V k08..k15 */
#define ROUNDS 12

static const uint8_t lf_key[32] = {0x6c, 0x66, 0x2d, 0x6b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                   13,   14,   15,   16,   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28};

/* ---- the fault points ---------------------------------------------------- */

static long g_calls, g_allocs;     /* counted in this run */
static long g_at = -1;             /* the point that fails (-1: none) */
static int g_on_alloc;             /* the point counts allocations, not calls */
static int g_persist;              /* ... and every later one fails too */
static int g_rc;                   /* the VFS error injected */
static int g_hit;                  /* the fault was injected */
static const digby_vfs *PX;

#define MAX_POINTS 4096
static unsigned char g_is_shm[MAX_POINTS]; /* call i of the counting run was shm_open or shm_lock */

static int fault_here(long *counter, int is_alloc)
{
    long i = (*counter)++;
    if (g_at < 0 || g_on_alloc != is_alloc) return 0;
    if (i == g_at || (g_persist && i > g_at)) {
        g_hit = 1;
        return 1;
    }
    return 0;
}

static int fv_open(const digby_vfs *v, const char *path, unsigned flags, digby_file **out)
{
    (void)v;
    if (fault_here(&g_calls, 0)) { *out = NULL; return g_rc == DIGBY_NOMEM ? DIGBY_IOERR : g_rc; }
    return PX->open(PX, path, flags, out);
}
static int fv_read(digby_file *f, uint64_t off, void *buf, size_t len, size_t *got)
{
    if (fault_here(&g_calls, 0)) return DIGBY_IOERR;
    return PX->read(f, off, buf, len, got);
}
static int fv_write(digby_file *f, uint64_t off, const void *buf, size_t len)
{
    if (fault_here(&g_calls, 0)) return DIGBY_IOERR;
    return PX->write(f, off, buf, len);
}
static int fv_sync(digby_file *f)
{
    if (fault_here(&g_calls, 0)) return DIGBY_IOERR;
    return PX->sync(f);
}
static int fv_size(digby_file *f, uint64_t *n)
{
    if (fault_here(&g_calls, 0)) return DIGBY_IOERR;
    return PX->size(f, n);
}
static int fv_truncate(digby_file *f, uint64_t n)
{
    if (fault_here(&g_calls, 0)) return DIGBY_IOERR;
    return PX->truncate(f, n);
}
static int fv_lock(digby_file *f, int mode)
{
    if (mode != DIGBY_LOCK_NONE && fault_here(&g_calls, 0)) return DIGBY_IOERR;
    return PX->lock(f, mode);
}
static void fv_close(digby_file *f) { PX->close(f); }
static void note_shm(void)
{
    if (g_at < 0 && g_calls < MAX_POINTS) g_is_shm[g_calls] = 1;
}
static int fv_shm_open(digby_file *f, const char *path, size_t len, void **addr)
{
    note_shm();
    if (fault_here(&g_calls, 0)) return g_rc;
    return PX->shm_open(f, path, len, addr);
}
static int fv_shm_lock(digby_file *f, uint32_t off, uint32_t len, int mode)
{
    if ((mode & 3) != DIGBY_LOCK_NONE) {
        note_shm();
        if (fault_here(&g_calls, 0)) return g_rc;
    }
    return PX->shm_lock(f, off, len, mode);
}
static void fv_shm_close(digby_file *f) { PX->shm_close(f); }

static digby_vfs g_fv;

static void *fa_malloc(void *ctx, size_t n)
{
    (void)ctx;
    return fault_here(&g_allocs, 1) ? NULL : malloc(n);
}
static void *fa_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    return fault_here(&g_allocs, 1) ? NULL : realloc(p, n);
}
static void fa_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

/* ---- the workload and its model ---------------------------------------- */

static int g_enc;
static char g_path[512], g_lock[600];
static int g_cur[NKEYS];   /* committed value number, 0 absent */
static int g_maybe[NKEYS]; /* a failed commit's value number, 0 none */
static int g_vno;
static char g_where[160];  /* what the workload was doing */

static void opts(digby_options *o, int victim)
{
    memset(o, 0, sizeof *o);
    o->flags = DIGBY_OPEN_NO_SYNC;
    o->page_size = 1024;
    o->cache_bytes = 16 * 1024;
    if (g_enc) {
        o->key = lf_key;
        o->key_bytes = sizeof lf_key;
    }
    if (victim) {
        o->vfs = &g_fv;
        o->allocator.malloc_fn = fa_malloc;
        o->allocator.realloc_fn = fa_realloc;
        o->allocator.free_fn = fa_free;
    }
}

static size_t val_of(int vno, char *buf)
{
    size_t n = (size_t)snprintf(buf, 64, "value-%d-", vno), i;
    size_t len = vno % 5 == 0 ? 1500 : 20 + (size_t)(vno % 30); /* some overflow values */
    for (i = n; i < len; i++) buf[i] = (char)('a' + (vno * 7 + (int)i) % 26);
    return len;
}

/* The victim's results: DIGBY_OK, or what the fault explains. */
static void victim_rc(int rc, const char *what)
{
    if (rc == DIGBY_OK) return;
    if (!g_hit)
        fail_msg("%s: %s before any fault was injected (%s)", what, rc_name(rc), g_where);
    if (g_on_alloc ? rc == DIGBY_NOMEM : (rc == g_rc || rc == DIGBY_IOERR || rc == DIGBY_NOMEM))
        return;
    if (rc == DIGBY_POISONED) return;
    fail_msg("%s: %s after an injected %s (%s): expected that error or DIGBY_POISONED", what, rc_name(rc),
             g_on_alloc ? "allocation failure" : rc_name(g_rc), g_where);
}

/* A read of key k through db gave rc, val: exactly the committed state. */
static void read_check(digby_db *db, int k, int rc, const void *v, size_t n, const char *who)
{
    static char want[2048];
    int ok = 0;
    if (rc == DIGBY_NOTFOUND) ok = !g_cur[k] || g_maybe[k] < 0;
    else if (rc == DIGBY_OK) {
        int alt;
        for (alt = 0; alt < 2 && !ok; alt++) {
            int vno = alt ? g_maybe[k] : g_cur[k];
            if (vno > 0) {
                size_t wn = val_of(vno, want);
                ok = wn == n && memcmp(want, v, n) == 0;
            }
        }
    } else {
        return; /* an error: the caller judged it */
    }
    (void)db;
    if (!ok)
        fail_msg("%s read key %d: %s, which is not its committed value %d (a failed commit's: %d) (%s)", who, k,
                 rc == DIGBY_OK ? "a value" : "not found", g_cur[k], g_maybe[k], g_where);
}

static int h_get(digby_db *db, int k, int victim)
{
    char key[8];
    void *v = NULL;
    size_t n = 0;
    int rc;
    snprintf(key, sizeof key, "k%02d", k);
    rc = digby_get(db, key, 3, &v, &n, NULL);
    if (victim) victim_rc(rc == DIGBY_NOTFOUND ? DIGBY_OK : rc, "the victim's get");
    else if (rc != DIGBY_OK && rc != DIGBY_NOTFOUND)
        fail_msg("the other handle's get: %s (%s): it must not feel the victim's fault", rc_name(rc), g_where);
    read_check(db, k, rc, v, n, victim ? "the victim" : "the other handle");
    digby_free(db, v);
    return rc;
}

static void h_put(digby_db *db, int k, int victim)
{
    static char val[2048];
    char key[8];
    digby_txn *t;
    int vno = ++g_vno, rc;
    size_t n = val_of(vno, val);
    snprintf(key, sizeof key, "k%02d", k);
    rc = digby_txn_begin(db, DIGBY_TXN_NOWAIT, &t);
    if (rc == DIGBY_OK) {
        rc = digby_txn_put(t, NULL, key, 3, val, n, 0);
        if (rc) digby_txn_abort(t);
        else {
            rc = digby_txn_commit(t);
            if (rc) g_maybe[k] = vno;
        }
    }
    if (rc == DIGBY_OK) {
        g_cur[k] = vno;
        g_maybe[k] = 0;
    }
    if (victim) victim_rc(rc, "the victim's put");
    else if (rc != DIGBY_OK)
        fail_msg("the other handle's commit (DIGBY_TXN_NOWAIT): %s (%s): it must not feel the victim's fault%s",
                 rc_name(rc), g_where, rc == DIGBY_BUSY ? " (the writer lock was not given back)" : "");
}

static void h_scan(digby_db *db)
{
    digby_txn *t;
    digby_cursor *c;
    int rc, steps = 0;
    rc = digby_txn_begin(db, DIGBY_TXN_READONLY, &t);
    victim_rc(rc, "the victim's snapshot");
    if (rc) return;
    rc = digby_cursor_open(t, NULL, &c);
    victim_rc(rc, "the victim's cursor");
    if (rc == DIGBY_OK) {
        for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
            const void *kp, *vp;
            size_t kn, vn;
            rc = digby_cursor_get(c, &kp, &kn, &vp, &vn, NULL);
            if (rc) break;
            if (kn != 3 || ++steps > NKEYS) fail_msg("the victim's scan: a key no commit wrote (%s)", g_where);
            read_check(db, atoi((const char *)kp + 1) % NKEYS, DIGBY_OK, vp, vn, "the victim's scan");
        }
        if (rc != DIGBY_NOTFOUND) victim_rc(rc, "the victim's scan");
        digby_cursor_close(c);
    }
    digby_txn_abort(t);
}

static digby_db *v_open(void)
{
    digby_options o;
    digby_db *db = NULL;
    int rc;
    opts(&o, 1);
    rc = digby_open(g_path, &o, &db);
    victim_rc(rc, "the victim's digby_open");
    if (rc && db) fail_msg("a failed digby_open left a handle (%s)", g_where);
    return rc ? NULL : db;
}

static void v_close(digby_db *db)
{
    int rc;
    if (!db) return;
    rc = digby_close(db);
    if (rc) fail_msg("the victim's digby_close: %s (%s)", rc_name(rc), g_where);
}

/* One run of the workload (the fault set up by the caller). */
static void workload(void)
{
    digby_options o;
    digby_db *other = NULL, *v, *fresh = NULL;
    int j, k;
    unlink(g_path);
    unlink(g_lock);
    memset(g_cur, 0, sizeof g_cur);
    memset(g_maybe, 0, sizeof g_maybe);
    g_vno = 0;
    g_calls = g_allocs = 0;
    g_hit = 0;
    opts(&o, 0);
    ASSERT_OK(digby_open(g_path, &o, &other));
    for (k = 0; k < 4; k++) h_put(other, k, 0);
    snprintf(g_where, sizeof g_where, "the victim's first open");
    v = v_open();
    for (j = 0; j < ROUNDS; j++) {
        snprintf(g_where, sizeof g_where, "round %d", j);
        if (!v && j % 3 == 2) v = v_open(); /* a failed open, tried again */
        if (v) h_get(v, j % 8, 1);
        h_put(other, j % 8, 0);
        if (v) h_put(v, 8 + j % 8, 1);
        if (v && j % 4 == 3) h_scan(v);
        if (j == 6) {
            v_close(v);
            v = v_open();
        }
    }
    snprintf(g_where, sizeof g_where, "the end");
    v_close(v);
    h_put(other, 7, 0);
    for (k = 0; k < NKEYS; k++) h_get(other, k, 0);
    ASSERT_OK(digby_close(other));
    /* alone: every acknowledged commit, nothing torn */
    opts(&o, 0);
    ASSERT_OK(digby_open(g_path, &o, &fresh));
    for (k = 0; k < NKEYS; k++) h_get(fresh, k, 0);
    check_clean(fresh);
    ASSERT_OK(digby_close(fresh));
}

static void sweep(int enc, int step, long *runs_out)
{
    static const int vfs_rcs[2] = {DIGBY_IOERR, DIGBY_NOMEM};
    long calls, allocs, i, runs = 0;
    int p, r;
    g_enc = enc;
    g_at = -1;
    memset(g_is_shm, 0, sizeof g_is_shm);
    workload();
    calls = g_calls;
    allocs = g_allocs;
    for (g_on_alloc = 0; g_on_alloc < 2; g_on_alloc++) {
        long n = g_on_alloc ? allocs : calls;
        for (i = 0; i < n; i += step) {
            for (p = 0; p < 2; p++) {
                for (r = 0; r < (g_on_alloc ? 1 : 2); r++) {
                    if (r && !(i < MAX_POINTS && g_is_shm[i])) continue; /* NOMEM: the lock file's calls */
                    g_at = i;
                    g_persist = p;
                    g_rc = vfs_rcs[r];
                    workload();
                    runs++;
                }
            }
        }
    }
    g_at = -1;
    g_on_alloc = 0;
    print_message("lockfile_faults%s: %ld VFS calls and %ld allocations of the victim per run; %ld runs with "
                  "one failing (once and from then on; I/O error, and out of memory for the lock file's calls)\n",
                  enc ? " (encrypted)" : "", calls, allocs, runs);
    *runs_out = runs;
}

static void test_sweep(void **state)
{
    long runs = 0;
    (void)state;
    PX = digby_vfs_posix();
    if (!PX || !PX->shm_open) {
        print_message("lockfile_faults: this build's POSIX VFS has no lock file (%s): skipped\n", digby_version());
        skip();
    }
    g_fv = *PX;
    g_fv.open = fv_open;
    g_fv.read = fv_read;
    g_fv.write = fv_write;
    g_fv.sync = fv_sync;
    g_fv.size = fv_size;
    g_fv.truncate = fv_truncate;
    g_fv.lock = fv_lock;
    g_fv.close = fv_close;
    g_fv.shm_open = fv_shm_open;
    g_fv.shm_lock = fv_shm_lock;
    g_fv.shm_close = fv_shm_close;
    make_path(g_path, sizeof g_path, "lf");
    snprintf(g_lock, sizeof g_lock, "%s-lock", g_path);
    sweep(0, test_scale() >= 2 ? 1 : 2, &runs);
    sweep(1, test_scale() >= 2 ? 1 : 5, &runs);
    unlink(g_path);
    unlink(g_lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
