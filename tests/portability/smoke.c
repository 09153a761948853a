/* smoke: a cmocka-free test of the public API, for the targets where the
   cmocka suites cannot be built (Windows under wine, the DIGBY_NO_POSIX
   build) and as a quick check everywhere else (32-bit, big-endian).  It
   also writes and verifies the cross-endian fixture files.

   Usage:
     smoke DIR                     the smoke test; its files go to DIR
     smoke --write-fixture FILE    write the fixture database (512-byte pages)
     smoke --verify-fixture FILE.. open each fixture read-only (through the
                                   platform VFS and through a copy in the
                                   memory VFS), check its content, run
                                   digby_check
     smoke --same-bytes FILE FILE  the two fixtures are byte for byte the
                                   same but for each meta page's file UUID
                                   and checksum (FORMAT.md): the format does
                                   not depend on the writer's byte order
   Exit status 0 when every check passed; otherwise every failed check is
   printed and the status is 1.

   What the smoke test covers: put/get/delete, versions, scans both ways and
   seeks, overflow values, tables, reopen (and the page size read back from
   the file), digby_check after every phase, a second read-write handle
   (DIGBY_BUSY) and shared read-only handles, snapshot isolation with reader
   threads (pthreads or Win32 threads), the allocator hooks (every byte
   returned at close), and, on 32-bit POSIX without large-file support, that
   a write past 2 GiB is DIGBY_FULL rather than a write at a wrapped offset.
   Under DIGBY_NO_POSIX it runs on the memory VFS and checks that there is no
   default VFS.  Also the tuple codec (05_tuple.h): one tuple of every type
   packs to fixed bytes (integers and doubles are byte-order independent)
   and unpacks back. */
#if !defined(_WIN32) && !defined(DIGBY_NO_POSIX) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#define DIGBY_IMPLEMENTATION
#include "digby.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(DIGBY_NO_THREADS)
#if defined(_WIN32)
#include <windows.h>
#else
#include <pthread.h>
#endif
#endif

/* ---- checks ------------------------------------------------------------- */

static unsigned g_checks, g_failed;

static void check_at(int ok, const char *file, int line, const char *what)
{
    g_checks++;
    if (!ok) {
        g_failed++;
        printf("%s:%d: check failed: %s\n", file, line, what);
        fflush(stdout);
    }
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

/* ---- allocator hooks: count what is in use -------------------------------- */

typedef union hdr {
    size_t n;
    double d;
    long long ll;
    void *p;
} hdr;

/* Reader threads allocate too: the counts are kept under the library's own
   (internal) mutex, which is whatever this build's threads use. */
typedef struct counter {
    size_t in_use, peak;
    unsigned long calls;
    digby__mutex mu;
} counter;

static void cnt_add(counter *c, size_t minus, size_t plus)
{
    digby__mutex_lock(&c->mu);
    c->in_use = c->in_use - minus + plus;
    if (c->in_use > c->peak) c->peak = c->in_use;
    if (plus) c->calls++;
    digby__mutex_unlock(&c->mu);
}

static void *cnt_malloc(void *ctx, size_t n)
{
    hdr *h = (hdr *)malloc(sizeof(hdr) + n);
    if (!h) return NULL;
    h->n = n;
    cnt_add((counter *)ctx, 0, n);
    return h + 1;
}

static void cnt_free(void *ctx, void *p)
{
    hdr *h;
    if (!p) return;
    h = (hdr *)p - 1;
    cnt_add((counter *)ctx, h->n, 0);
    free(h);
}

static void *cnt_realloc(void *ctx, void *p, size_t n)
{
    hdr *h, *nh;
    size_t old;
    if (!p) return cnt_malloc(ctx, n);
    h = (hdr *)p - 1;
    old = h->n;
    nh = (hdr *)realloc(h, sizeof(hdr) + n);
    if (!nh) return NULL;
    nh->n = n;
    cnt_add((counter *)ctx, old, n);
    return nh + 1;
}

static digby_allocator counting(counter *c)
{
    digby_allocator a;
    a.malloc_fn = cnt_malloc;
    a.realloc_fn = cnt_realloc;
    a.free_fn = cnt_free;
    a.ctx = c;
    return a;
}

/* ---- helpers ------------------------------------------------------------- */

static const char *g_dir = ".";

static void path_in_dir(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", g_dir, name);
}

/* Deterministic bytes for key i, value length n, generation g. */
static void fill(uint8_t *p, size_t n, unsigned i, unsigned g)
{
    size_t j;
    uint32_t x = 2166136261u ^ (i * 16777619u) ^ (g * 40503u);
    for (j = 0; j < n; j++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[j] = (uint8_t)x;
    }
}

static size_t keyname(char *buf, unsigned i)
{
    return (size_t)sprintf(buf, "k%06u", i);
}

/* Value length for key i: mostly small, every 97th an overflow value. */
static size_t vlen_of(unsigned i)
{
    if (i % 97 == 5) return 1500 + (i % 7) * 1000;
    return (i * 13) % 90;
}

static void check_clean(digby_db *db)
{
    digby_check_report r;
    int rc = digby_check(db, &r);
    CHECK_OK(rc);
    if (rc) printf("    digby_check: page %llu: %s\n", (unsigned long long)r.bad_pgno, r.message);
}

/* Count the global tree's entries with a forward and a backward scan and
   check their order. */
static void check_scan(digby_db *db, uint64_t want)
{
    digby_txn *txn;
    digby_cursor *cur;
    const void *k;
    size_t kn, prev_n = 0;
    char prev[64];
    uint64_t n = 0;
    int rc;
    if (!CHECK_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &txn))) return;
    if (!CHECK_OK(digby_cursor_open(txn, NULL, &cur))) { digby_txn_abort(txn); return; }
    for (rc = digby_cursor_first(cur); rc == DIGBY_OK; rc = digby_cursor_next(cur)) {
        CHECK_OK(digby_cursor_get(cur, &k, &kn, NULL, NULL, NULL));
        if (n > 0) CHECK(memcmp(prev, k, kn < prev_n ? kn : prev_n) <= 0);
        if (kn < sizeof(prev)) { memcpy(prev, k, kn); prev_n = kn; }
        n++;
    }
    CHECK_RC(rc, DIGBY_NOTFOUND);
    CHECK(n == want);
    n = 0;
    for (rc = digby_cursor_last(cur); rc == DIGBY_OK; rc = digby_cursor_prev(cur)) n++;
    CHECK_RC(rc, DIGBY_NOTFOUND);
    CHECK(n == want);
    digby_cursor_close(cur);
    digby_txn_abort(txn);
}

/* ---- the smoke test --------------------------------------------------------- */

#define NKEYS 2000u

/* Load keys [0, NKEYS) in transactions of 100, then check them all. */
static void load_and_verify(digby_db *db)
{
    unsigned i;
    char key[32];
    uint8_t *buf = (uint8_t *)malloc(8000), *want = (uint8_t *)malloc(8000);
    if (!buf || !want) { CHECK(0); free(buf); free(want); return; }
    for (i = 0; i < NKEYS; i += 100) {
        digby_txn *txn;
        unsigned j;
        if (!CHECK_OK(digby_txn_begin(db, 0, &txn))) break;
        for (j = i; j < i + 100; j++) {
            size_t kn = keyname(key, j), vn = vlen_of(j);
            fill(buf, vn, j, 1);
            CHECK_OK(digby_txn_put(txn, NULL, key, kn, buf, vn, 0));
        }
        CHECK_OK(digby_txn_commit(txn));
    }
    for (i = 0; i < NKEYS; i++) {
        void *v = NULL;
        size_t kn = keyname(key, i), vn = 0;
        uint64_t ver = 0;
        if (CHECK_OK(digby_get(db, key, kn, &v, &vn, &ver))) {
            fill(want, vlen_of(i), i, 1);
            CHECK(vn == vlen_of(i) && memcmp(v, want, vn) == 0);
            CHECK(ver >= 2);
        }
        digby_free(db, v);
    }
    free(buf);
    free(want);
}

static void seeks_and_deletes(digby_db *db)
{
    digby_txn *txn;
    digby_cursor *cur;
    const void *k;
    size_t kn;
    char key[32];
    unsigned i;
    if (CHECK_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &txn))) {
        if (CHECK_OK(digby_cursor_open(txn, NULL, &cur))) {
            CHECK_OK(digby_cursor_seek(cur, "k000500x", 8, DIGBY_SEEK_GE));
            CHECK_OK(digby_cursor_get(cur, &k, &kn, NULL, NULL, NULL));
            CHECK(kn == 7 && memcmp(k, "k000501", 7) == 0);
            CHECK_OK(digby_cursor_seek(cur, "k000500x", 8, DIGBY_SEEK_LT));
            CHECK_OK(digby_cursor_get(cur, &k, &kn, NULL, NULL, NULL));
            CHECK(kn == 7 && memcmp(k, "k000500", 7) == 0);
            CHECK_RC(digby_cursor_seek(cur, "k9", 2, DIGBY_SEEK_GE), DIGBY_NOTFOUND);
            digby_cursor_close(cur);
        }
        digby_txn_abort(txn);
    }
    /* delete every other key, some of them overflow values */
    if (CHECK_OK(digby_txn_begin(db, 0, &txn))) {
        for (i = 0; i < NKEYS; i += 2)
            CHECK_OK(digby_txn_delete(txn, NULL, key, keyname(key, i)));
        CHECK_OK(digby_txn_commit(txn));
    }
    CHECK_RC(digby_delete(db, "k000000", 7), DIGBY_NOTFOUND);
}

static void tables(digby_db *db)
{
    digby_txn *txn;
    digby_table *t;
    const void *v;
    size_t vn;
    uint64_t n = 0;
    if (!CHECK_OK(digby_txn_begin(db, 0, &txn))) return;
    if (CHECK_OK(digby_table_open(txn, "colours", DIGBY_TABLE_CREATE, &t))) {
        CHECK_OK(digby_txn_put(txn, t, "red", 3, "#f00", 4, 0));
        CHECK_OK(digby_txn_put(txn, t, "green", 5, "#0f0", 4, 0));
        CHECK_RC(digby_txn_put(txn, t, "red", 3, "x", 1, DIGBY_PUT_NOOVERWRITE), DIGBY_EXISTS);
    }
    CHECK_OK(digby_table_open(txn, "scratch", DIGBY_TABLE_CREATE, &t));
    CHECK_OK(digby_txn_commit(txn));
    if (!CHECK_OK(digby_txn_begin(db, 0, &txn))) return;
    CHECK_OK(digby_table_drop(txn, "scratch"));
    if (CHECK_OK(digby_table_open(txn, "colours", 0, &t))) {
        CHECK_OK(digby_txn_get(txn, t, "green", 5, &v, &vn, NULL));
        CHECK(vn == 4 && memcmp(v, "#0f0", 4) == 0);
        CHECK_OK(digby_table_count(txn, t, &n));
        CHECK(n == 2);
    }
    CHECK_OK(digby_txn_commit(txn));
}

/* Reopen and check what the earlier phases left. */
static void verify_after_reopen(digby_db *db)
{
    unsigned i;
    char key[32];
    uint8_t *want = (uint8_t *)malloc(8000);
    digby_stats st;
    if (!want) { CHECK(0); return; }
    for (i = 0; i < NKEYS; i++) {
        void *v = NULL;
        size_t kn = keyname(key, i), vn = 0;
        int rc = digby_get(db, key, kn, &v, &vn, NULL);
        if (i % 2 == 0) {
            CHECK_RC(rc, DIGBY_NOTFOUND);
        } else if (CHECK_OK(rc)) {
            fill(want, vlen_of(i), i, 1);
            CHECK(vn == vlen_of(i) && memcmp(v, want, vn) == 0);
        }
        digby_free(db, v);
    }
    free(want);
    if (CHECK_OK(digby_stat(db, &st))) {
        CHECK(st.page_size == 512);
        CHECK(st.entries == NKEYS / 2);
        CHECK(st.tables == 1);
        CHECK(st.overflow_pages > 0);
        CHECK(st.free_pages > 0);
    }
    check_scan(db, NKEYS / 2);
}

#if !defined(DIGBY_NO_THREADS)
/* Snapshot isolation: the writer rewrites keys r0..r49 with one generation
   per commit; readers must never see two generations in one snapshot. */
typedef struct readers_ctx {
    digby_db *db;
    volatile int stop;
    volatile unsigned snapshots;
    unsigned torn, errors;
} readers_ctx;

static void reader_loop(readers_ctx *rc_)
{
    while (!rc_->stop) {
        digby_txn *txn;
        digby_cursor *cur;
        const void *v;
        size_t vn;
        unsigned gen = 0, n = 0;
        int rc;
        if (digby_txn_begin(rc_->db, DIGBY_TXN_READONLY, &txn)) { rc_->errors++; return; }
        if (digby_cursor_open(txn, NULL, &cur)) { rc_->errors++; digby_txn_abort(txn); return; }
        for (rc = digby_cursor_seek(cur, "r", 1, DIGBY_SEEK_GE); rc == DIGBY_OK;
             rc = digby_cursor_next(cur)) {
            unsigned g;
            const void *k;
            size_t kn;
            if (digby_cursor_get(cur, &k, &kn, &v, &vn, NULL) || vn != sizeof(unsigned)) {
                rc_->errors++;
                break;
            }
            memcpy(&g, v, sizeof(g));
            if (n++ == 0) gen = g;
            else if (g != gen) rc_->torn++;
        }
        if (n != 0 && n != 50) rc_->torn++;
        digby_cursor_close(cur);
        digby_txn_abort(txn);
        rc_->snapshots++;
    }
}

#if defined(_WIN32)
static DWORD WINAPI reader_main(LPVOID arg)
{
    reader_loop((readers_ctx *)arg);
    return 0;
}
#else
static void *reader_main(void *arg)
{
    reader_loop((readers_ctx *)arg);
    return NULL;
}
#endif

static void threads(digby_db *db)
{
    readers_ctx ctx[2];
    unsigned i, gen;
    char key[8];
#if defined(_WIN32)
    HANDLE th[2];
#else
    pthread_t th[2];
#endif
    memset(ctx, 0, sizeof(ctx));
    for (i = 0; i < 2; i++) {
        ctx[i].db = db;
#if defined(_WIN32)
        th[i] = CreateThread(NULL, 0, reader_main, &ctx[i], 0, NULL);
        CHECK(th[i] != NULL);
#else
        CHECK(pthread_create(&th[i], NULL, reader_main, &ctx[i]) == 0);
#endif
    }
    /* at least 60 commits, and more until each reader saw a few snapshots */
    for (gen = 1; gen <= 60 || ((ctx[0].snapshots < 3 || ctx[1].snapshots < 3) &&
                                gen < 100000 && !ctx[0].errors && !ctx[1].errors);
         gen++) {
        digby_txn *txn;
        if (!CHECK_OK(digby_txn_begin(db, 0, &txn))) break;
        for (i = 0; i < 50; i++) {
            key[0] = 'r';
            key[1] = (char)('0' + i / 10);
            key[2] = (char)('0' + i % 10);
            CHECK_OK(digby_txn_put(txn, NULL, key, 3, &gen, sizeof(gen), 0));
        }
        CHECK_OK(digby_txn_commit(txn));
    }
    for (i = 0; i < 2; i++) {
        ctx[i].stop = 1;
#if defined(_WIN32)
        WaitForSingleObject(th[i], INFINITE);
        CloseHandle(th[i]);
#else
        pthread_join(th[i], NULL);
#endif
        CHECK(ctx[i].errors == 0);
        CHECK(ctx[i].torn == 0);
        CHECK(ctx[i].snapshots > 0);
    }
    printf("smoke: threads: %u + %u snapshots, none torn\n", ctx[0].snapshots,
           ctx[1].snapshots);
    /* leave the tree as the later phases expect it */
    for (i = 0; i < 50; i++) {
        key[0] = 'r';
        key[1] = (char)('0' + i / 10);
        key[2] = (char)('0' + i % 10);
        CHECK_OK(digby_delete(db, key, 3));
    }
}
#endif

/* Back db up next to path (of vfs), plain then compacted over it (the
   VFS's rename, with and without replacing), and check the copy: it
   opens, verifies and scans like the source. */
static void backups(digby_db *db, const digby_vfs *vfs, const char *path)
{
    char copy[600];
    digby_options o;
    digby_db *c = NULL;
    digby_stats st;
    uint64_t entries;
    int k;
    memset(&st, 0, sizeof(st));
    if (!CHECK_OK(digby_stat(db, &st))) return;
    entries = st.entries;
    snprintf(copy, sizeof(copy), "%s.bak", path);
    vfs->remove(vfs, copy); /* a leftover */
    memset(&o, 0, sizeof(o));
    o.vfs = vfs;
    for (k = 0; k < 2; k++) {
        CHECK_OK(digby_backup(db, copy, vfs, k ? DIGBY_BACKUP_COMPACT | DIGBY_BACKUP_REPLACE : 0));
        CHECK_RC(digby_backup(db, copy, vfs, DIGBY_BACKUP_COMPACT), DIGBY_EXISTS);
        if (!CHECK_OK(digby_open(copy, &o, &c))) continue;
        check_clean(c);
        check_scan(c, entries);
        CHECK_OK(digby_close(c));
    }
    CHECK_OK(vfs->remove(vfs, copy));
}

static void smoke_on(const digby_vfs *vfs, const char *name, const char *label)
{
    digby_options o;
    digby_db *db = NULL, *db2 = NULL, *db3 = NULL;
    int rc;
    counter c;
    char path[512];
    memset(&c, 0, sizeof(c));
    digby__mutex_init(&c.mu);
    memset(&o, 0, sizeof(o));
    if (vfs) path_in_dir(path, sizeof(path), name);
    else snprintf(path, sizeof(path), "%s", name);
    remove(path);
    o.page_size = 512;
    o.cache_bytes = 16 * 512;
    o.vfs = vfs;
    o.allocator = counting(&c);
    printf("smoke: %s\n", label);
    fflush(stdout);
    if (!CHECK_OK(digby_open(path, &o, &db))) { digby__mutex_destroy(&c.mu); return; }
    load_and_verify(db);
    check_scan(db, NKEYS);
    check_clean(db);
    seeks_and_deletes(db);
    tables(db);
    check_clean(db);
    backups(db, vfs, path);
    /* Handles share the file through its lock file (48_lockfile.c) where
       the system allows (the POSIX VFS, Linux, 64-bit atomics, open-file-
       description locks: known only at open; tests/multiproc.c and
       api_errors.c insist on it on Linux x86_64): a second read-write
       handle's commit is seen by the first, and a read-only handle opens
       beside them.  Elsewhere one read-write handle per file, and
       read-only handles conflict with it. */
    rc = vfs && vfs->version >= 4 && vfs->shm_open ? digby_open(path, &o, &db2) : DIGBY_BUSY;
    if (rc == DIGBY_OK) {
        void *v = NULL;
        size_t vn = 0;
        CHECK_OK(digby_put(db2, "shared", 6, "yes", 3));
        if (CHECK_OK(digby_get(db, "shared", 6, &v, &vn, NULL)))
            CHECK(vn == 3 && memcmp(v, "yes", 3) == 0);
        digby_free(db, v);
        CHECK_OK(digby_close(db2));
        o.flags = DIGBY_OPEN_READONLY;
        if (CHECK_OK(digby_open(path, &o, &db2))) CHECK_OK(digby_close(db2));
        CHECK_OK(digby_delete(db, "shared", 6));
    } else {
        CHECK_RC(rc, DIGBY_BUSY);
        /* one read-write handle per file; read-only handles conflict with it */
        CHECK_RC(digby_open(path, &o, &db2), DIGBY_BUSY);
        o.flags = DIGBY_OPEN_READONLY;
        CHECK_RC(digby_open(path, &o, &db2), DIGBY_BUSY);
    }
#if !defined(DIGBY_NO_THREADS)
    threads(db);
#endif
    CHECK_OK(digby_close(db));
    CHECK(c.in_use == 0);
    /* reopen read-only twice, page size from the file */
    o.page_size = 0;
    if (CHECK_OK(digby_open(path, &o, &db2))) {
        if (CHECK_OK(digby_open(path, &o, &db3))) {
            CHECK_RC(digby_put(db3, "x", 1, "y", 1), DIGBY_READONLY);
            CHECK_OK(digby_close(db3));
        }
        verify_after_reopen(db2);
        check_clean(db2);
        CHECK_OK(digby_close(db2));
    }
    CHECK(c.in_use == 0);
    printf("smoke: %s: %lu allocations, peak %lu bytes\n", label, c.calls,
           (unsigned long)c.peak);
    digby__mutex_destroy(&c.mu);
}

/* Platform facts: default VFS, version string, 32-bit offsets. */
static void platform(void)
{
    const char *v = digby_version();
    digby_db *db = NULL;
    const unsigned one = 1;
    printf("smoke: %s; %u-bit size_t, %s-endian\n", v, (unsigned)(sizeof(size_t) * 8),
           *(const unsigned char *)&one ? "little" : "big");
#if defined(DIGBY_NO_THREADS)
    CHECK(strstr(v, " threads") == NULL);
#else
    CHECK(strstr(v, " threads") != NULL);
#endif
#if defined(DIGBY_NO_LOG)
    CHECK(strstr(v, " log") == NULL);
    {
        /* log mode is left out: asking for it is DIGBY_NOFEATURE */
        digby_options lo;
        memset(&lo, 0, sizeof(lo));
        lo.flags = DIGBY_OPEN_LOG;
        CHECK_RC(digby_open("smoke-no-log.digby", &lo, &db), DIGBY_NOFEATURE);
        CHECK(db == NULL);
    }
#endif
#if defined(DIGBY_NO_POSIX)
    CHECK(digby_vfs_posix() == NULL);
    CHECK(digby_vfs_win32() == NULL);
    CHECK(strstr(v, " posix") == NULL && strstr(v, " win32") == NULL);
    CHECK_RC(digby_open("smoke-no-vfs.digby", NULL, &db), DIGBY_INVALID);
    CHECK(db == NULL);
#elif defined(_WIN32)
    CHECK(digby_vfs_posix() == NULL);
    CHECK(digby_vfs_win32() != NULL);
    CHECK(strstr(v, " win32") != NULL);
#else
    CHECK(digby_vfs_posix() != NULL);
    CHECK(digby_vfs_win32() == NULL);
    CHECK(strstr(v, " posix") != NULL);
#endif
#if !defined(DIGBY_NO_POSIX)
    {
        /* NULL options: the platform's VFS, 4096-byte pages */
        char path[512];
        path_in_dir(path, sizeof(path), "smoke-default.digby");
        remove(path);
        if (CHECK_OK(digby_open(path, NULL, &db))) {
            void *val = NULL;
            size_t vn = 0;
            CHECK_OK(digby_put(db, "hello", 5, "world", 5));
            CHECK_OK(digby_get(db, "hello", 5, &val, &vn, NULL));
            CHECK(vn == 5 && val && memcmp(val, "world", 5) == 0);
            digby_free(db, val);
            CHECK(digby_max_key_bytes(db) == 990);
            CHECK_OK(digby_close(db));
        }
        remove(path);
    }
#endif
#if !defined(DIGBY_NO_POSIX) && !defined(_WIN32)
    if (sizeof(off_t) < 8) {
        /* 32-bit off_t: offsets past 2 GiB must fail, not wrap */
        const digby_vfs *vfs = digby_vfs_posix();
        digby_file *f;
        char path[512];
        uint8_t page[512];
        memset(page, 0, sizeof(page));
        path_in_dir(path, sizeof(path), "smoke-offt.bin");
        remove(path);
        if (CHECK_OK(vfs->open(vfs, path, DIGBY_VFS_CREATE, &f))) {
            CHECK_RC(vfs->write(f, UINT64_C(0x80000000), page, sizeof(page)), DIGBY_FULL);
            CHECK_RC(vfs->write(f, UINT64_C(0x100000000), page, sizeof(page)), DIGBY_FULL);
            CHECK_RC(vfs->truncate(f, UINT64_C(0x100000200)), DIGBY_FULL);
            CHECK_OK(vfs->write(f, 0, page, sizeof(page)));
            vfs->close(f);
        }
        remove(path);
        printf("smoke: 32-bit off_t: offsets past 2 GiB are DIGBY_FULL\n");
    }
#endif
}

/* ---- the fixture: the same content written on each byte order -------------- */

#define FX_KEYS 60u

static size_t fx_vlen(unsigned i) { return (i * 7) % 50; }

static int fx_write(const char *path)
{
    digby_options o;
    digby_db *db;
    digby_txn *txn;
    digby_table *t;
    char key[32];
    uint8_t buf[3000];
    unsigned i;
    memset(&o, 0, sizeof(o));
    o.page_size = 512;
    remove(path);
    if (!CHECK_OK(digby_open(path, &o, &db))) return 1;
    /* txn A: the global tree */
    if (CHECK_OK(digby_txn_begin(db, 0, &txn))) {
        for (i = 0; i < FX_KEYS; i++) {
            fill(buf, fx_vlen(i), i, 1);
            CHECK_OK(digby_txn_put(txn, NULL, key, keyname(key, i), buf, fx_vlen(i), 0));
        }
        CHECK_OK(digby_txn_commit(txn));
    }
    /* txn A+1: two tables; "numbers" has 4-byte big-endian keys */
    if (CHECK_OK(digby_txn_begin(db, 0, &txn))) {
        if (CHECK_OK(digby_table_open(txn, "colours", DIGBY_TABLE_CREATE, &t))) {
            CHECK_OK(digby_txn_put(txn, t, "red", 3, "#ff0000", 7, 0));
            CHECK_OK(digby_txn_put(txn, t, "green", 5, "#00ff00", 7, 0));
            CHECK_OK(digby_txn_put(txn, t, "blue", 4, "#0000ff", 7, 0));
        }
        if (CHECK_OK(digby_table_open(txn, "numbers", DIGBY_TABLE_CREATE, &t))) {
            for (i = 0; i < 30; i++) {
                uint8_t k[4];
                char v[16];
                uint32_t n = i * 100000u;
                k[0] = (uint8_t)(n >> 24); k[1] = (uint8_t)(n >> 16);
                k[2] = (uint8_t)(n >> 8); k[3] = (uint8_t)n;
                CHECK_OK(digby_txn_put(txn, t, k, 4, v, (size_t)sprintf(v, "%lu", (unsigned long)n), 0));
            }
        }
        CHECK_OK(digby_txn_commit(txn));
    }
    /* txn A+2: an overflow value */
    fill(buf, sizeof(buf), 4242, 2);
    CHECK_OK(digby_put(db, "big", 3, buf, sizeof(buf)));
    /* txn A+3: deletes (free pages) and overwrites (newer versions) */
    if (CHECK_OK(digby_txn_begin(db, 0, &txn))) {
        for (i = 0; i < FX_KEYS; i++) {
            size_t kn = keyname(key, i);
            if (i % 3 == 0) CHECK_OK(digby_txn_delete(txn, NULL, key, kn));
            else if (i % 5 == 1) {
                fill(buf, fx_vlen(i) + 10, i, 3);
                CHECK_OK(digby_txn_put(txn, NULL, key, kn, buf, fx_vlen(i) + 10, 0));
            }
        }
        CHECK_OK(digby_txn_commit(txn));
    }
    check_clean(db);
    CHECK_OK(digby_close(db));
    return g_failed != 0;
}

static void fx_verify_db(digby_db *db)
{
    char key[32];
    uint8_t want[3000];
    unsigned i, live = 0;
    uint64_t base = 0, ver = 0, n = 0;
    digby_stats st;
    digby_txn *txn;
    digby_table *t;
    digby_cursor *cur;
    void *v = NULL;
    size_t vn = 0;
    const void *cv;
    int rc;
    /* key 2 was written by txn A and never touched again */
    if (CHECK_OK(digby_get(db, key, keyname(key, 2), &v, &vn, &base))) digby_free(db, v);
    CHECK(base >= 2);
    for (i = 0; i < FX_KEYS; i++) {
        size_t kn = keyname(key, i);
        v = NULL;
        rc = digby_get(db, key, kn, &v, &vn, &ver);
        if (i % 3 == 0) {
            CHECK_RC(rc, DIGBY_NOTFOUND);
            continue;
        }
        live++;
        if (!CHECK_OK(rc)) continue;
        if (i % 5 == 1) {
            fill(want, fx_vlen(i) + 10, i, 3);
            CHECK(vn == fx_vlen(i) + 10 && memcmp(v, want, vn) == 0);
            CHECK(ver == base + 3);
        } else {
            fill(want, fx_vlen(i), i, 1);
            CHECK(vn == fx_vlen(i) && (vn == 0 || memcmp(v, want, vn) == 0));
            CHECK(ver == base);
        }
        digby_free(db, v);
    }
    v = NULL;
    if (CHECK_OK(digby_get(db, "big", 3, &v, &vn, &ver))) {
        fill(want, sizeof(want), 4242, 2);
        CHECK(vn == sizeof(want) && memcmp(v, want, vn) == 0);
        CHECK(ver == base + 2);
        digby_free(db, v);
    }
    if (CHECK_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &txn))) {
        if (CHECK_OK(digby_table_open(txn, "colours", 0, &t))) {
            CHECK_OK(digby_txn_get(txn, t, "blue", 4, &cv, &vn, &ver));
            CHECK(vn == 7 && memcmp(cv, "#0000ff", 7) == 0 && ver == base + 1);
        }
        if (CHECK_OK(digby_table_open(txn, "numbers", 0, &t)) &&
            CHECK_OK(digby_cursor_open(txn, t, &cur))) {
            /* big-endian keys sort numerically */
            uint32_t prev = 0;
            for (rc = digby_cursor_first(cur); rc == DIGBY_OK; rc = digby_cursor_next(cur)) {
                const void *k;
                size_t kn;
                uint32_t num;
                char txt[16];
                const uint8_t *kb;
                CHECK_OK(digby_cursor_get(cur, &k, &kn, &cv, &vn, NULL));
                kb = (const uint8_t *)k;
                num = ((uint32_t)kb[0] << 24) | ((uint32_t)kb[1] << 16) |
                      ((uint32_t)kb[2] << 8) | kb[3];
                CHECK(kn == 4 && (n == 0 || num > prev));
                CHECK(vn == (size_t)sprintf(txt, "%lu", (unsigned long)num) &&
                      memcmp(cv, txt, vn) == 0);
                prev = num;
                n++;
            }
            CHECK(n == 30 && prev == 2900000u);
            digby_cursor_close(cur);
        }
        digby_txn_abort(txn);
    }
    if (CHECK_OK(digby_stat(db, &st))) {
        CHECK(st.page_size == 512);
        CHECK(st.entries == live + 1);
        CHECK(st.tables == 2);
        CHECK(st.table_entries == 33);
        CHECK(st.overflow_pages >= 6);
        CHECK(st.last_txid == base + 3);
    }
    check_scan(db, live + 1);
    check_clean(db);
}

static int fx_verify(const char *path)
{
    unsigned before = g_failed;
    digby_options o;
    digby_db *db;
    digby_vfs *mem = NULL;
    FILE *fp;
    long size;
    uint8_t *bytes;
    printf("fixture: %s\n", path);
    memset(&o, 0, sizeof(o));
    o.flags = DIGBY_OPEN_READONLY | DIGBY_OPEN_NO_CREATE;
#if !defined(DIGBY_NO_POSIX)
    /* through the platform's VFS, read-only: the file is not changed */
    if (CHECK_OK(digby_open(path, &o, &db))) {
        fx_verify_db(db);
        CHECK_OK(digby_close(db));
    }
#endif
    /* through a copy in the memory VFS */
    fp = fopen(path, "rb");
    if (!fp) { CHECK(!"cannot read the fixture"); return 1; }
    fseek(fp, 0, SEEK_END);
    size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    bytes = (uint8_t *)malloc(size > 0 ? (size_t)size : 1);
    if (bytes && size > 0 && fread(bytes, 1, (size_t)size, fp) == (size_t)size &&
        CHECK_OK(digby_vfs_mem_create(NULL, &mem))) {
        digby_file *f;
        if (CHECK_OK(mem->open(mem, "fixture", DIGBY_VFS_CREATE, &f))) {
            CHECK_OK(mem->write(f, 0, bytes, (size_t)size));
            mem->close(f);
        }
        o.vfs = mem;
        if (CHECK_OK(digby_open("fixture", &o, &db))) {
            fx_verify_db(db);
            CHECK_OK(digby_close(db));
        }
        digby_vfs_mem_destroy(mem);
    } else {
        CHECK(!"cannot read the fixture");
    }
    free(bytes);
    fclose(fp);
    return g_failed != before;
}

static uint8_t *read_all(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *b = NULL;
    long size;
    *n = 0;
    if (!fp) return NULL;
    if (fseek(fp, 0, SEEK_END) == 0 && (size = ftell(fp)) > 0 && fseek(fp, 0, SEEK_SET) == 0 &&
        (b = (uint8_t *)malloc((size_t)size)) != NULL) {
        if (fread(b, 1, (size_t)size, fp) == (size_t)size) *n = (size_t)size;
        else { free(b); b = NULL; }
    }
    fclose(fp);
    return b;
}

static int same_bytes(const char *a, const char *b)
{
    size_t na, nb, i, diff = 0;
    uint8_t *x = read_all(a, &na), *y = read_all(b, &nb);
    const size_t ps = 512;
    CHECK(x != NULL && y != NULL && na == nb && na >= 2 * ps);
    if (x && y && na == nb && na >= 2 * ps) {
        for (i = 0; i < na; i++) {
            size_t in_page = i % ps;
            int meta = i < 2 * ps;
            if (meta && ((in_page >= DIGBY__M_UUID && in_page < DIGBY__M_UUID + 16) ||
                         in_page >= ps - DIGBY__TRAILER_XXH32))
                continue;
            if (x[i] != y[i]) {
                if (diff++ < 5) printf("same-bytes: byte %lu (page %lu) differs\n",
                                       (unsigned long)i, (unsigned long)(i / ps));
            }
        }
        CHECK(diff == 0);
    }
    free(x);
    free(y);
    printf("same-bytes: %s and %s: %s\n", a, b, g_failed ? "DIFFER" : "identical but for the UUIDs");
    return g_failed != 0;
}

/* The tuple codec: a tuple of every type against its bytes, written out by
   hand from design/tuple.md (tests/tuple.c has the full suite). */
static void tuple_codec(void)
{
    static const uint8_t want[] = {
        0x00,                                           /* null */
        0x01, 'a', 0x00, 0xff, 'b', 0x00,               /* bytes "a\0b" */
        0x02, 'F', 0xc3, 0x94, 0x00,                    /* string "F\u00d4" */
        0x05, 0x00, 0xff, 0x14, 0x00,                   /* nested (null, 0) */
        0x11, 0xab, 0x4b, 0x93,                         /* -5551212 */
        0x0c, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* INT64_MIN */
        0x1c, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* UINT64_MAX */
        0x21, 0x3f, 0xba, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* -42.0 */
        0x21, 0xc0, 0x45, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 42.0 */
        0x26, 0x27,                                     /* false, true */
        0x30, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 /* UUID */
    };
    digby_tuple_item t[12], inner[2], out[16];
    uint8_t buf[128], arena[8];
    uint64_t bits;
    size_t len = 0, count = 0, i;
    memset(t, 0, sizeof t);
    memset(inner, 0, sizeof inner);
    t[0].type = DIGBY_TUPLE_NULL;
    t[1].type = DIGBY_TUPLE_BYTES;
    t[1].v.s.ptr = "a\0b";
    t[1].v.s.len = 3;
    t[2].type = DIGBY_TUPLE_STRING;
    t[2].v.s.ptr = "F\xc3\x94";
    t[2].v.s.len = 3;
    inner[0].type = DIGBY_TUPLE_NULL;
    inner[1].type = DIGBY_TUPLE_INT;
    inner[1].v.i = 0;
    t[3].type = DIGBY_TUPLE_NESTED;
    t[3].v.nested.items = inner;
    t[3].v.nested.count = 2;
    t[4].type = DIGBY_TUPLE_INT;
    t[4].v.i = -5551212;
    t[5].type = DIGBY_TUPLE_INT;
    t[5].v.i = INT64_MIN;
    t[6].type = DIGBY_TUPLE_UINT;
    t[6].v.u = UINT64_MAX;
    t[7].type = DIGBY_TUPLE_DOUBLE;
    bits = UINT64_C(0xc045000000000000); /* the bits of -42.0 */
    memcpy(&t[7].v.d, &bits, 8);
    t[8].type = DIGBY_TUPLE_DOUBLE;
    t[8].v.d = 42.0; /* a double constant: the machine's own layout */
    t[9].type = DIGBY_TUPLE_BOOL;
    t[9].v.b = 0;
    t[10].type = DIGBY_TUPLE_BOOL;
    t[10].v.b = 1;
    t[11].type = DIGBY_TUPLE_UUID;
    for (i = 0; i < 16; i++) t[11].v.uuid[i] = (uint8_t)i;
    if (!CHECK_OK(digby_tuple_pack(t, 12, buf, sizeof buf, &len))) return;
    CHECK(len == sizeof want && memcmp(buf, want, sizeof want) == 0);
    if (!CHECK_OK(digby_tuple_unpack(want, sizeof want, out, 16, &count, arena, sizeof arena,
                                     NULL, NULL)))
        return;
    CHECK(count == 12);
    CHECK(digby_tuple_compare(out, count, t, 12) == 0);
    CHECK(out[4].type == DIGBY_TUPLE_INT && out[4].v.i == -5551212);
    CHECK(out[5].type == DIGBY_TUPLE_INT && out[5].v.i == INT64_MIN);
    CHECK(out[6].type == DIGBY_TUPLE_UINT && out[6].v.u == UINT64_MAX);
    memcpy(&bits, &out[7].v.d, 8);
    CHECK(out[7].type == DIGBY_TUPLE_DOUBLE && bits == UINT64_C(0xc045000000000000));
    CHECK(out[8].type == DIGBY_TUPLE_DOUBLE && out[8].v.d == 42.0);
    CHECK(out[1].v.s.len == 3 && memcmp(out[1].v.s.ptr, "a\0b", 3) == 0);
    CHECK(out[3].v.nested.count == 2 && out[3].v.nested.items[1].type == DIGBY_TUPLE_INT);
    /* order: -42.0 sorts before 42.0, and the bytes agree */
    CHECK(digby_tuple_compare(&out[7], 1, &out[8], 1) < 0);
    CHECK(want[39] == 0x21 && want[48] == 0x21 && memcmp(want + 39, want + 48, 9) < 0);
}

int main(int argc, char **argv)
{
    int i;
    if (argc == 4 && strcmp(argv[1], "--same-bytes") == 0) return same_bytes(argv[2], argv[3]);
    if (argc >= 3 && strcmp(argv[1], "--write-fixture") == 0) {
        if (fx_write(argv[2]) == 0 && fx_verify(argv[2]) == 0) {
            printf("fixture: wrote %s\n", argv[2]);
            return 0;
        }
        printf("fixture: FAILED (%u of %u checks)\n", g_failed, g_checks);
        return 1;
    }
    if (argc >= 3 && strcmp(argv[1], "--verify-fixture") == 0) {
        for (i = 2; i < argc; i++) fx_verify(argv[i]);
        printf("fixture: %s, %u checks, %u failed\n", g_failed ? "FAILED" : "ok",
               g_checks, g_failed);
        return g_failed != 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        printf("usage: smoke DIR | --write-fixture FILE | --verify-fixture FILE... |\n"
               "       --same-bytes FILE FILE\n");
        return 2;
    }
    g_dir = argv[1];
    platform();
    tuple_codec();
    {
        digby_vfs *mem = NULL;
        if (CHECK_OK(digby_vfs_mem_create(NULL, &mem))) {
            smoke_on(mem, "smoke.digby", "memory VFS");
            digby_vfs_mem_destroy(mem);
        }
    }
#if !defined(DIGBY_NO_POSIX)
#if defined(_WIN32)
    smoke_on(digby_vfs_win32(), "smoke.digby", "Win32 VFS");
#else
    smoke_on(digby_vfs_posix(), "smoke.digby", "POSIX VFS");
#endif
    {
        char path[512];
        path_in_dir(path, sizeof(path), "smoke.digby");
        remove(path);
    }
#endif
    printf("smoke: %s, %u checks, %u failed\n", g_failed ? "FAILED" : "ok", g_checks,
           g_failed);
    return g_failed != 0;
}
