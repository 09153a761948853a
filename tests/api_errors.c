/* api_errors: bad input and error paths of the public API.

   NULL arguments, bad options, digby_strerror, read-only transactions and
   handles, files that are not digby databases, truncated and corrupted files,
   meta page fallback, locking between handles and processes, failed writes,
   syncs and reads (through a fault-injecting VFS of our own), allocation
   failures, closing with live transactions, and stale table handles.

   Files go to $DIGBY_TEST_DIR (default /tmp).  Every test that opens a
   database runs digby_check() before closing it: clean, or -- where the test
   corrupts the file on purpose -- reporting the damaged page. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define DIGBY_IMPLEMENTATION
#include "digby.h"

#define TEST_NAME "api_errors"
#include "harness.h" /* rc_name, ASSERT_RC, make_path, check_clean, the fixture */

#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

/* ---- helpers ------------------------------------------------------------ */

/* Whole-file helpers (POSIX). */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *buf;
    long n;
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    buf = (unsigned char *)malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static void spill(const char *path, const void *buf, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    if (len) assert_int_equal(fwrite(buf, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void copy_file(const char *from, const char *to)
{
    size_t n;
    unsigned char *b = slurp(from, &n);
    spill(to, b, n);
    free(b);
}

static void xor_byte(const char *path, uint64_t off, unsigned char mask)
{
    int fd = open(path, O_RDWR);
    unsigned char b;
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
    b ^= mask;
    assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
    close(fd);
}

/* Every offset of needle in hay; returns the count (at most max stored). */
static unsigned find_all(const unsigned char *hay, size_t n, const void *needle,
                         size_t nn, size_t *offs, unsigned max)
{
    unsigned c = 0;
    size_t i;
    for (i = 0; i + nn <= n; i++)
        if (memcmp(hay + i, needle, nn) == 0) {
            if (c < max) offs[c] = i;
            c++;
        }
    return c;
}

/* ---- fixture (tests/harness.h) ------------------------------------------ */

static int teardown(void **state) { return fixture_teardown(state, check_clean); }

/* ---- a fault-injecting in-memory VFS ------------------------------------ */

/* Files live in memory as two images: `cur` (what reads see) and `dur`
   (what survived the last successful sync).  A failed sync throws away
   everything since the last good one (cur = dur), as a kernel that drops
   dirty pages after an I/O error would.  Each fault is a countdown: the
   n-th call of that kind from now fails once; 0 disarms it.  A failed write
   can be torn: half its bytes land before the error. */
typedef struct fv_node {
    struct fv_node *next;
    char path[256];
    unsigned char *cur, *dur;
    size_t cur_len, dur_len;
    int shared, excl;
} fv_node;

typedef struct fault_vfs {
    digby_vfs vfs;
    fv_node *nodes;
    long fail_write_in, fail_sync_in, fail_read_in;
    int write_rc, sync_rc, read_rc;
    int torn;            /* a failing write writes half first */
    int keep_on_sync_fail; /* a failing sync keeps the unsynced data */
    long writes, syncs, reads, failures;
} fault_vfs;

typedef struct fv_file {
    fault_vfs *fv;
    fv_node *node;
    int lock;
} fv_file;

static int fv_fire(long *countdown)
{
    if (*countdown > 0 && --*countdown == 0) return 1;
    return 0;
}

static int fv_setlen(unsigned char **buf, size_t *len, size_t n)
{
    if (n > *len) {
        unsigned char *p = (unsigned char *)realloc(*buf, n ? n : 1);
        if (!p) return DIGBY_NOMEM;
        memset(p + *len, 0, n - *len);
        *buf = p;
    }
    *len = n;
    return DIGBY_OK;
}

static int fv_copy(unsigned char **dst, size_t *dlen, const unsigned char *src, size_t slen)
{
    unsigned char *p = (unsigned char *)realloc(*dst, slen ? slen : 1);
    if (!p) return DIGBY_NOMEM;
    if (slen) memcpy(p, src, slen);
    *dst = p;
    *dlen = slen;
    return DIGBY_OK;
}

static int fv_open(const digby_vfs *vfs, const char *path, unsigned flags, digby_file **out)
{
    fault_vfs *fv = (fault_vfs *)vfs->ctx;
    fv_node *n;
    fv_file *f;
    for (n = fv->nodes; n; n = n->next)
        if (strcmp(n->path, path) == 0) break;
    if (!n) {
        if (!(flags & DIGBY_VFS_CREATE) || (flags & DIGBY_VFS_READONLY) ||
            strlen(path) >= sizeof(n->path))
            return DIGBY_CANTOPEN;
        n = (fv_node *)calloc(1, sizeof(*n));
        if (!n) return DIGBY_NOMEM;
        strcpy(n->path, path);
        n->next = fv->nodes;
        fv->nodes = n;
    }
    f = (fv_file *)calloc(1, sizeof(*f));
    if (!f) return DIGBY_NOMEM;
    f->fv = fv;
    f->node = n;
    *out = (digby_file *)(void *)f;
    return DIGBY_OK;
}

static int fv_read(digby_file *file, uint64_t off, void *buf, size_t len, size_t *got)
{
    fv_file *f = (fv_file *)(void *)file;
    fv_node *n = f->node;
    size_t avail = 0;
    f->fv->reads++;
    if (fv_fire(&f->fv->fail_read_in)) {
        f->fv->failures++;
        *got = 0;
        return f->fv->read_rc;
    }
    if (off < n->cur_len) {
        avail = n->cur_len - (size_t)off;
        if (avail > len) avail = len;
        memcpy(buf, n->cur + off, avail);
    }
    *got = avail;
    return DIGBY_OK;
}

static int fv_write(digby_file *file, uint64_t off, const void *buf, size_t len)
{
    fv_file *f = (fv_file *)(void *)file;
    fv_node *n = f->node;
    size_t end = (size_t)off + len;
    int fire;
    f->fv->writes++;
    fire = fv_fire(&f->fv->fail_write_in);
    if (fire) {
        f->fv->failures++;
        if (!f->fv->torn) return f->fv->write_rc;
        len /= 2;
        end = (size_t)off + len;
    }
    if (end > n->cur_len && fv_setlen(&n->cur, &n->cur_len, end)) return DIGBY_NOMEM;
    memcpy(n->cur + off, buf, len);
    return fire ? f->fv->write_rc : DIGBY_OK;
}

static int fv_sync(digby_file *file)
{
    fv_file *f = (fv_file *)(void *)file;
    fv_node *n = f->node;
    f->fv->syncs++;
    if (fv_fire(&f->fv->fail_sync_in)) {
        f->fv->failures++;
        if (!f->fv->keep_on_sync_fail &&
            fv_copy(&n->cur, &n->cur_len, n->dur, n->dur_len))
            return DIGBY_NOMEM;
        return f->fv->sync_rc;
    }
    return fv_copy(&n->dur, &n->dur_len, n->cur, n->cur_len);
}

static int fv_size(digby_file *file, uint64_t *size)
{
    fv_file *f = (fv_file *)(void *)file;
    *size = f->node->cur_len;
    return DIGBY_OK;
}

static int fv_truncate(digby_file *file, uint64_t size)
{
    fv_file *f = (fv_file *)(void *)file;
    return fv_setlen(&f->node->cur, &f->node->cur_len, (size_t)size);
}

static int fv_lock(digby_file *file, int mode)
{
    fv_file *f = (fv_file *)(void *)file;
    fv_node *n = f->node;
    /* drop our own lock first, then see whether the new one fits */
    if (f->lock == DIGBY_LOCK_SHARED) n->shared--;
    if (f->lock == DIGBY_LOCK_EXCLUSIVE) n->excl--;
    if ((mode == DIGBY_LOCK_SHARED && n->excl) ||
        (mode == DIGBY_LOCK_EXCLUSIVE && (n->excl || n->shared))) {
        if (f->lock == DIGBY_LOCK_SHARED) n->shared++;
        if (f->lock == DIGBY_LOCK_EXCLUSIVE) n->excl++;
        return DIGBY_BUSY;
    }
    f->lock = mode;
    if (mode == DIGBY_LOCK_SHARED) n->shared++;
    if (mode == DIGBY_LOCK_EXCLUSIVE) n->excl++;
    return DIGBY_OK;
}

static void fv_close(digby_file *file)
{
    fv_file *f = (fv_file *)(void *)file;
    fv_lock(file, DIGBY_LOCK_NONE);
    free(f);
}

static void fv_init(fault_vfs *fv)
{
    memset(fv, 0, sizeof(*fv));
    TEST_VFS_INIT(fv->vfs, fv, fv);
    fv->write_rc = DIGBY_IOERR;
    fv->sync_rc = DIGBY_IOERR;
    fv->read_rc = DIGBY_IOERR;
}

static void fv_disarm(fault_vfs *fv)
{
    fv->fail_write_in = fv->fail_sync_in = fv->fail_read_in = 0;
    fv->torn = 0;
    fv->keep_on_sync_fail = 0;
}

static void fv_destroy(fault_vfs *fv)
{
    while (fv->nodes) {
        fv_node *n = fv->nodes;
        fv->nodes = n->next;
        assert_int_equal(n->shared, 0);
        assert_int_equal(n->excl, 0);
        free(n->cur);
        free(n->dur);
        free(n);
    }
}

static void fv_open_db(fault_vfs *fv, const char *path, digby_db **db)
{
    digby_options o;
    memset(&o, 0, sizeof(o));
    o.vfs = &fv->vfs;
    *db = NULL;
    ASSERT_OK(digby_open(path, &o, db));
}

/* ---- NULLs and bad arguments ------------------------------------------- */

static void test_null_arguments(void **state)
{
    fixture *f = (fixture *)*state;
    digby_db *db = NULL;
    digby_txn *w, *r;
    digby_table *t;
    digby_cursor *c;
    digby_stats st;
    const void *v;
    void *pv;
    size_t vn;
    uint64_t n;
    digby_vfs *vfs;

    ASSERT_RC(digby_open(NULL, NULL, &db), DIGBY_INVALID);
    assert_null(db);
    ASSERT_RC(digby_open(f->path, NULL, NULL), DIGBY_INVALID);
    ASSERT_OK(digby_close(NULL));
    ASSERT_RC(digby_vfs_mem_create(NULL, NULL), DIGBY_INVALID);
    digby_txn_abort(NULL);
    digby_cursor_close(NULL);

    /* database-level calls with NULL db */
    ASSERT_RC(digby_put(NULL, S("k"), S("v")), DIGBY_INVALID);
    ASSERT_RC(digby_get(NULL, S("k"), &pv, &vn, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_delete(NULL, S("k")), DIGBY_INVALID);
    ASSERT_RC(digby_txn_begin(NULL, 0, &w), DIGBY_INVALID);
    ASSERT_RC(digby_stat(NULL, &st), DIGBY_INVALID);
    ASSERT_RC(digby_check(NULL, NULL), DIGBY_INVALID);

    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_put(f->db, S("k"), S("v")));
    /* NULL key or value with a non-zero length */
    ASSERT_RC(digby_put(f->db, NULL, 3, S("v")), DIGBY_INVALID);
    ASSERT_RC(digby_put(f->db, S("k"), NULL, 3), DIGBY_INVALID);
    ASSERT_RC(digby_get(f->db, NULL, 3, &pv, &vn, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_get(f->db, S("k"), NULL, &vn, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_get(f->db, S("k"), &pv, NULL, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_delete(f->db, NULL, 3), DIGBY_INVALID);
    ASSERT_RC(digby_txn_begin(f->db, 0, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_stat(f->db, NULL), DIGBY_INVALID);
    digby_free(f->db, NULL);
    expect_get(f->db, S("k"), S("v"));

    /* transaction-level calls */
    ASSERT_RC(digby_txn_commit(NULL), DIGBY_INVALID);
    ASSERT_RC(digby_txn_put(NULL, NULL, S("k"), S("v"), 0), DIGBY_INVALID);
    ASSERT_RC(digby_txn_get(NULL, NULL, S("k"), &v, &vn, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_txn_delete(NULL, NULL, S("k")), DIGBY_INVALID);
    ASSERT_RC(digby_table_open(NULL, "t", DIGBY_TABLE_CREATE, &t), DIGBY_INVALID);
    ASSERT_RC(digby_table_drop(NULL, "t"), DIGBY_INVALID);
    ASSERT_RC(digby_table_count(NULL, NULL, &n), DIGBY_INVALID);
    ASSERT_RC(digby_cursor_open(NULL, NULL, &c), DIGBY_INVALID);

    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_RC(digby_txn_put(w, NULL, NULL, 3, S("v"), 0), DIGBY_INVALID);
    ASSERT_RC(digby_txn_put(w, NULL, S("k"), NULL, 3, 0), DIGBY_INVALID);
    ASSERT_RC(digby_txn_get(w, NULL, NULL, 3, &v, &vn, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_txn_get(w, NULL, S("k"), NULL, &vn, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_txn_get(w, NULL, S("k"), &v, NULL, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_txn_delete(w, NULL, NULL, 3), DIGBY_INVALID);
    ASSERT_RC(digby_table_open(w, NULL, DIGBY_TABLE_CREATE, &t), DIGBY_INVALID);
    ASSERT_RC(digby_table_open(w, "t", DIGBY_TABLE_CREATE, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_table_open(w, "", DIGBY_TABLE_CREATE, &t), DIGBY_INVALID);
    {
        char name[257];
        memset(name, 'n', 256);
        name[256] = '\0';
        ASSERT_RC(digby_table_open(w, name, DIGBY_TABLE_CREATE, &t), DIGBY_INVALID);
        ASSERT_RC(digby_table_drop(w, name), DIGBY_INVALID);
    }
    ASSERT_RC(digby_table_drop(w, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_table_drop(w, ""), DIGBY_INVALID);
    ASSERT_RC(digby_table_list(w, NULL, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_table_count(w, NULL, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_cursor_open(w, NULL, NULL), DIGBY_INVALID);
    ASSERT_OK(digby_cursor_open(w, NULL, &c));
    ASSERT_RC(digby_cursor_seek(c, NULL, 3, DIGBY_SEEK_GE), DIGBY_INVALID);
    ASSERT_RC(digby_cursor_seek(c, S("k"), (digby_seek_op)99), DIGBY_INVALID);
    ASSERT_RC(digby_cursor_seek(NULL, S("k"), DIGBY_SEEK_GE), DIGBY_INVALID);
    ASSERT_RC(digby_cursor_first(NULL), DIGBY_INVALID);
    ASSERT_RC(digby_cursor_last(NULL), DIGBY_INVALID);
    ASSERT_RC(digby_cursor_next(NULL), DIGBY_INVALID);
    ASSERT_RC(digby_cursor_prev(NULL), DIGBY_INVALID);
    ASSERT_RC(digby_cursor_get(NULL, NULL, NULL, NULL, NULL, NULL), DIGBY_INVALID);
    ASSERT_OK(digby_cursor_first(c));
    ASSERT_OK(digby_cursor_get(c, NULL, NULL, NULL, NULL, NULL)); /* all may be NULL */
    digby_cursor_close(c);
    /* INVALID does not poison: the transaction still commits */
    ASSERT_OK(digby_txn_put(w, NULL, S("k2"), S("v2"), 0));
    ASSERT_OK(digby_txn_commit(w));
    expect_get(f->db, S("k2"), S("v2"));

    /* a value longer than 4 GiB - 1 is TOOBIG, found before reading it */
    if (sizeof(size_t) > 4) {
        char one = 'x';
        size_t huge = (size_t)DIGBY_MAX_VALUE_BYTES + 1;
        ASSERT_RC(digby_put(f->db, S("huge"), &one, huge), DIGBY_TOOBIG);
        ASSERT_OK(digby_txn_begin(f->db, 0, &w));
        ASSERT_RC(digby_txn_put(w, NULL, S("huge"), &one, huge, 0), DIGBY_TOOBIG);
        ASSERT_OK(digby_txn_commit(w));
        expect_missing(f->db, S("huge"));
    }

    /* the same in a read-only transaction */
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_RC(digby_txn_get(r, NULL, NULL, 3, &v, &vn, NULL), DIGBY_INVALID);
    ASSERT_OK(digby_txn_get(r, NULL, S("k"), &v, &vn, NULL));
    digby_txn_abort(r);

    ASSERT_OK(digby_vfs_mem_create(NULL, &vfs));
    digby_vfs_mem_destroy(vfs);
}

static void test_bad_options(void **state)
{
    fixture *f = (fixture *)*state;
    static const uint32_t bad_sizes[] = {0x300, 256, 131072, 100, 511, 513,
                                         65535, 0x80000000u, 0xffffffffu};
    digby_options o;
    digby_db *db;
    unsigned i;
    for (i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
        memset(&o, 0, sizeof(o));
        o.page_size = bad_sizes[i];
        db = (digby_db *)&o;
        ASSERT_RC(digby_open(f->path, &o, &db), DIGBY_INVALID);
        assert_null(db);
    }
    /* bad page size on an existing file is INVALID, not PAGESIZE */
    ASSERT_OK(digby_open(f->path, NULL, &db));
    check_clean(db);
    ASSERT_OK(digby_close(db));
    memset(&o, 0, sizeof(o));
    o.page_size = 0x300;
    ASSERT_RC(digby_open(f->path, &o, &db), DIGBY_INVALID);
    unlink(f->path);
}

/* Real functions for the partial-allocator test. */
static void *pa_malloc(void *ctx, size_t n) { (void)ctx; return malloc(n ? n : 1); }
static void *pa_realloc(void *ctx, void *p, size_t n) { (void)ctx; return realloc(p, n ? n : 1); }
static void pa_free(void *ctx, void *p) { (void)ctx; free(p); }

static void test_partial_allocator(void **state)
{
    fixture *f = (fixture *)*state;
    digby_options o;
    digby_db *db;
    unsigned mask;
    struct stat sb;
    for (mask = 1; mask < 7; mask++) { /* every non-empty, incomplete set */
        memset(&o, 0, sizeof(o));
        if (mask & 1) o.allocator.malloc_fn = pa_malloc;
        if (mask & 2) o.allocator.realloc_fn = pa_realloc;
        if (mask & 4) o.allocator.free_fn = pa_free;
        db = (digby_db *)&o;
        ASSERT_RC(digby_open(f->path, &o, &db), DIGBY_INVALID);
        assert_null(db);
    }
    /* nothing was created by the refused opens */
    assert_int_equal(stat(f->path, &sb), -1);
    /* the full set works */
    memset(&o, 0, sizeof(o));
    o.allocator.malloc_fn = pa_malloc;
    o.allocator.realloc_fn = pa_realloc;
    o.allocator.free_fn = pa_free;
    ASSERT_OK(digby_open(f->path, &o, &f->db));
    ASSERT_OK(digby_put(f->db, S("k"), S("v")));
    expect_get(f->db, S("k"), S("v"));
}

/* ---- strerror ------------------------------------------------------------ */

static void test_strerror(void **state)
{
    static const int codes[] = {
#define CODE(name, value, text) name,
        DIGBY__ERRORS(CODE)
#undef CODE
    };
    static const char *const texts[] = {
#define TEXT(name, value, text) text,
        DIGBY__ERRORS(TEXT)
#undef TEXT
    };
    /* and the first free value below the lowest code (set below) */
    static int unknown[] = {0, 1, 2, 100, -100, -999, -1000, 12345,
                            -2147483647 - 1, 2147483647};
    const size_t n = sizeof(codes) / sizeof(codes[0]);
    size_t i, j;
    (void)state;
    for (i = 0; i < n; i++)
        if (codes[i] - 1 < unknown[0]) unknown[0] = codes[i] - 1;
    assert_int_equal(DIGBY_OK, 0);
    for (i = 0; i < n; i++) {
        const char *s = digby_strerror(codes[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_equal(s, texts[i]);
        assert_null(strchr(s, '\n'));
        if (i) assert_true(codes[i] < 0);
        for (j = 0; j < i; j++) {
            assert_true(codes[i] != codes[j]);
            assert_true(strcmp(s, digby_strerror(codes[j])) != 0);
        }
    }
    for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        const char *s = digby_strerror(unknown[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        for (j = 0; j < n; j++) assert_true(strcmp(s, texts[j]) != 0);
    }
}

/* ---- read-only transactions and handles --------------------------------- */

static void test_readonly(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *r, *w;
    digby_table *t;
    digby_options o;
    digby_db *ro, *ro2;
    const void *v;
    size_t vn;
    void *pv;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_txn_put(w, NULL, S("k"), S("v"), 0));
    ASSERT_OK(digby_table_open(w, "t", DIGBY_TABLE_CREATE, &t));
    ASSERT_OK(digby_txn_put(w, t, S("tk"), S("tv"), 0));
    ASSERT_OK(digby_txn_commit(w));

    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_RC(digby_txn_put(r, NULL, S("k"), S("x"), 0), DIGBY_READONLY);
    ASSERT_RC(digby_txn_put(r, NULL, S("new"), S("x"), 0), DIGBY_READONLY);
    ASSERT_RC(digby_txn_delete(r, NULL, S("k")), DIGBY_READONLY);
    ASSERT_RC(digby_table_open(r, "t2", DIGBY_TABLE_CREATE, &t), DIGBY_READONLY);
    /* CREATE of an existing table in a read-only txn: the doc reads
       "CREATE in a read-only txn" -> READONLY; LMDB's mdb_dbi_open only
       refuses when it would really create.  Both are accepted. */
    ASSERT_RC2(digby_table_open(r, "t", DIGBY_TABLE_CREATE, &t), DIGBY_READONLY, DIGBY_OK);
    ASSERT_RC(digby_table_drop(r, "t"), DIGBY_READONLY);
    ASSERT_OK(digby_table_open(r, "t", 0, &t));
    ASSERT_RC(digby_txn_put(r, t, S("tk"), S("x"), 0), DIGBY_READONLY);
    ASSERT_RC(digby_txn_delete(r, t, S("tk")), DIGBY_READONLY);
    /* READONLY does not spoil the snapshot */
    ASSERT_OK(digby_txn_get(r, NULL, S("k"), &v, &vn, NULL));
    assert_int_equal(vn, 1);
    ASSERT_OK(digby_txn_get(r, t, S("tk"), &v, &vn, NULL));
    ASSERT_OK(digby_txn_commit(r));
    expect_get(f->db, S("k"), S("v"));
    check_clean(f->db);
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;

    /* a read-only handle */
    memset(&o, 0, sizeof(o));
    o.flags = DIGBY_OPEN_READONLY;
    ASSERT_OK(digby_open(f->path, &o, &ro));
    ASSERT_RC(digby_txn_begin(ro, 0, &w), DIGBY_READONLY);
    ASSERT_RC(digby_put(ro, S("k"), S("x")), DIGBY_READONLY);
    ASSERT_RC(digby_put(ro, S("new"), S("x")), DIGBY_READONLY);
    ASSERT_RC(digby_delete(ro, S("k")), DIGBY_READONLY);
    ASSERT_OK(digby_get(ro, S("k"), &pv, &vn, NULL));
    digby_free(ro, pv);
    ASSERT_OK(digby_txn_begin(ro, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_table_open(r, "t", 0, &t));
    ASSERT_RC(digby_table_open(r, "t2", DIGBY_TABLE_CREATE, &t), DIGBY_READONLY);
    digby_txn_abort(r);
    /* two read-only handles share the file */
    ASSERT_OK(digby_open(f->path, &o, &ro2));
    expect_get(ro2, S("k"), S("v"));
    check_clean(ro2);
    ASSERT_OK(digby_close(ro2));
    check_clean(ro);
    ASSERT_OK(digby_close(ro));

    /* a read-only handle cannot create a file */
    {
        char p[512];
        struct stat sb;
        make_path(p, sizeof(p), "ro-missing");
        ro = (digby_db *)&o;
        ASSERT_RC(digby_open(p, &o, &ro), DIGBY_CANTOPEN);
        assert_null(ro);
        assert_int_equal(stat(p, &sb), -1);
    }
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    expect_get(f->db, S("k"), S("v"));
}

/* ---- files that are not databases --------------------------------------- */

static void expect_notdigby_unchanged(const char *path)
{
    static const uint32_t flag_sets[] = {0, DIGBY_OPEN_NO_CREATE, DIGBY_OPEN_READONLY};
    size_t n0, n1;
    unsigned char *before = slurp(path, &n0), *after;
    unsigned i;
    for (i = 0; i < 3; i++) {
        digby_options o;
        digby_db *db = NULL;
        memset(&o, 0, sizeof(o));
        o.flags = flag_sets[i];
        db = (digby_db *)&o;
        ASSERT_RC(digby_open(path, &o, &db), DIGBY_NOTDIGBY);
        assert_null(db);
        o.page_size = 4096;
        ASSERT_RC(digby_open(path, &o, &db), DIGBY_NOTDIGBY);
    }
    after = slurp(path, &n1);
    assert_int_equal(n1, n0); /* a failed open never writes */
    if (n0) assert_memory_equal(before, after, n0);
    free(before);
    free(after);
}

static void test_not_digby_files(void **state)
{
    fixture *f = (fixture *)*state;
    unsigned char *buf;
    uint32_t x = 2463534242u;
    size_t i;
    digby_options o;
    struct stat sb;

    /* random bytes */
    buf = (unsigned char *)malloc(16384);
    assert_non_null(buf);
    for (i = 0; i < 16384; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (unsigned char)x;
    }
    spill(f->path, buf, 16384);
    expect_notdigby_unchanged(f->path);
    /* short random file */
    spill(f->path, buf, 700);
    expect_notdigby_unchanged(f->path);
    /* zeros: a creation cut short before its first sync can leave a file of
       zero bytes; a read-only open refuses it untouched, a read-write open
       creates the database afresh, as for an empty file */
    memset(buf, 0, 16384);
    spill(f->path, buf, 8192);
    {
        digby_options zo;
        digby_db *zdb = NULL;
        size_t zn;
        unsigned char *after;
        memset(&zo, 0, sizeof(zo));
        zo.flags = DIGBY_OPEN_READONLY;
        ASSERT_RC(digby_open(f->path, &zo, &zdb), DIGBY_NOTDIGBY);
        after = slurp(f->path, &zn);
        assert_int_equal(zn, 8192);
        assert_memory_equal(after, buf, 8192);
        free(after);
        ASSERT_OK(digby_open(f->path, NULL, &zdb));
        ASSERT_OK(digby_put(zdb, S("z"), S("0")));
        check_clean(zdb);
        ASSERT_OK(digby_close(zdb));
    }
    free(buf);
    /* a text file, and a short one */
    {
        FILE *fp = fopen(f->path, "w");
        assert_non_null(fp);
        for (i = 0; i < 1000; i++)
            fprintf(fp, "line %u: the quick brown fox jumps over the lazy dog\n", (unsigned)i);
        fclose(fp);
    }
    expect_notdigby_unchanged(f->path);
    spill(f->path, "hello\n", 6);
    expect_notdigby_unchanged(f->path);

    /* An empty file.  The API doc is silent.  Decision (SQLite's reading:
       a zero-length file is an empty database): a plain open makes a new
       database in it; NO_CREATE only concerns a missing file (CANTOPEN), so
       it opens an existing empty file the same way; READONLY cannot write
       the meta pages and refuses it as not a digby file, leaving it empty. */
    spill(f->path, "", 0);
    memset(&o, 0, sizeof(o));
    o.flags = DIGBY_OPEN_READONLY;
    ASSERT_RC(digby_open(f->path, &o, &f->db), DIGBY_NOTDIGBY);
    assert_null(f->db);
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_size, 0);
    o.flags = DIGBY_OPEN_NO_CREATE;
    ASSERT_OK(digby_open(f->path, &o, &f->db));
    ASSERT_OK(digby_put(f->db, S("nc"), S("v")));
    check_clean(f->db);
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;
    spill(f->path, "", 0);
    o.flags = DIGBY_OPEN_READONLY;
    ASSERT_RC(digby_open(f->path, &o, &f->db), DIGBY_NOTDIGBY);
    assert_null(f->db);
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_size, 0);
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_put(f->db, S("k"), S("v")));
    check_clean(f->db);
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;
    o.flags = DIGBY_OPEN_NO_CREATE;
    ASSERT_OK(digby_open(f->path, &o, &f->db));
    expect_get(f->db, S("k"), S("v"));
}

static void test_cantopen(void **state)
{
    fixture *f = (fixture *)*state;
    digby_options o;
    digby_db *db;
    struct stat sb;
    memset(&o, 0, sizeof(o));
    o.flags = DIGBY_OPEN_NO_CREATE;
    db = (digby_db *)&o;
    ASSERT_RC(digby_open(f->path, &o, &db), DIGBY_CANTOPEN);
    assert_null(db);
    assert_int_equal(stat(f->path, &sb), -1);
    ASSERT_RC(digby_open("/nonexistent-digby-dir/x.db", NULL, &db), DIGBY_CANTOPEN);
    /* a directory */
    ASSERT_RC(digby_open(test_dir(), NULL, &db), DIGBY_CANTOPEN);
    ASSERT_RC(digby_open("", NULL, &db), DIGBY_CANTOPEN);
    assert_null(db);
}

/* ---- damaged files --------------------------------------------------------- */

/* The value of key i in build_marked's databases: "MARK%05u-" then dots,
   60 bytes used of v's 64. */
static void marked_val(char *v, unsigned i)
{
    memset(v, '.', 64);
    sprintf(v, "MARK%05u", i);
    v[9] = '-';
}

/* One more commit that leaves the global tree alone: a key in the table
   "other" (created if need be). */
static void commit_elsewhere(digby_db *db)
{
    digby_txn *w;
    digby_table *t;
    ASSERT_OK(digby_txn_begin(db, 0, &w));
    ASSERT_OK(digby_table_open(w, "other", DIGBY_TABLE_CREATE, &t));
    ASSERT_OK(digby_txn_put(w, t, "x", 1, "y", 1, 0));
    ASSERT_OK(digby_txn_commit(w));
}

/* Build a database of `n` keys whose values carry a findable marker:
   "MARK%05u" then padding to 60 bytes (marked_val). */
static void build_marked(const char *path, unsigned n, uint32_t page_size,
                         digby_stats *st_out)
{
    digby_db *db;
    digby_txn *w;
    digby_options o;
    unsigned i;
    char k[32], v[64];
    memset(&o, 0, sizeof(o));
    o.page_size = page_size;
    ASSERT_OK(digby_open(path, &o, &db));
    ASSERT_OK(digby_txn_begin(db, 0, &w));
    for (i = 0; i < n; i++) {
        size_t kn = num_key(k, i);
        marked_val(v, i);
        ASSERT_OK(digby_txn_put(w, NULL, k, kn, v, 60, 0));
    }
    ASSERT_OK(digby_txn_commit(w));
    /* one more commit that leaves the global tree alone: a damaged page of
       the newest commit would make open fall back to the previous commit
       (one sync per commit; see tests/regress.c), while damage to an older
       page must surface as DIGBY_CORRUPT, which is what these tests test */
    commit_elsewhere(db);
    check_clean(db);
    if (st_out) get_stat(db, st_out);
    ASSERT_OK(digby_close(db));
}

/* Log mode: a file cut short after its last checkpoint (a copy of the
   file of an open handle, as a power cut leaves it, cut at the
   checkpoint's page count) opens: every checkpointed commit is there, and
   of the commits in the log after it a prefix survives, each whole; the
   rest are lost without an error, as SQLite's WAL loses a cut tail
   (README, "Log mode").  path holds 1510 keys, key0000000.. */
static void truncated_log_tail(const char *path)
{
    digby_db *db;
    digby_txn *w;
    digby_stats ck, st;
    char p[512], k[32], v[200];
    unsigned j, tail, kept = 0;
    uint64_t full_pages;
    int prefix = 1;
    make_path(p, sizeof(p), "logtail");
    ASSERT_OK(digby_open(path, NULL, &db));
    ASSERT_OK(digby_checkpoint(db));
    get_stat(db, &ck);
    assert_int_equal(ck.entries, 1510);
    /* more log pages than the file has free: the log grows past the
       checkpoint's extent */
    tail = (unsigned)ck.free_pages + 30;
    memset(v, 't', sizeof(v));
    for (j = 0; j < tail; j++) {
        /* durable commits: each starts a log page of its own */
        ASSERT_OK(digby_txn_begin(db, 0, &w));
        sprintf(k, "tail%03ua", j);
        ASSERT_OK(digby_txn_put(w, NULL, k, strlen(k), v, sizeof(v), 0));
        sprintf(k, "tail%03ub", j);
        ASSERT_OK(digby_txn_put(w, NULL, k, strlen(k), v, sizeof(v), 0));
        ASSERT_OK(digby_txn_commit(w));
    }
    get_stat(db, &st);
    assert_int_equal(st.checkpoints, ck.checkpoints); /* all in the log */
    copy_file(path, p);
    ASSERT_OK(digby_close(db));
    /* written log pages lie past the checkpoint's extent, so the cut
       loses some of the tail */
    assert_true(st.page_count >= ck.page_count + 2);
    full_pages = st.page_count;
    assert_int_equal(truncate(p, (off_t)(ck.page_count * ck.page_size)), 0);

    ASSERT_OK(digby_open(p, NULL, &db));
    get_stat(db, &st);
    for (j = 0; j < 1510; j++) {
        void *pv;
        size_t vn, kn = num_key(k, j);
        ASSERT_OK(digby_get(db, k, kn, &pv, &vn, NULL));
        digby_free(db, pv);
    }
    for (j = 0; j < tail; j++) {
        void *pv;
        size_t vn;
        int ra, rb;
        sprintf(k, "tail%03ua", j);
        ra = digby_get(db, k, strlen(k), &pv, &vn, NULL);
        if (ra == DIGBY_OK) digby_free(db, pv);
        sprintf(k, "tail%03ub", j);
        rb = digby_get(db, k, strlen(k), &pv, &vn, NULL);
        if (rb == DIGBY_OK) digby_free(db, pv);
        assert_true(ra == DIGBY_OK || ra == DIGBY_NOTFOUND);
        assert_int_equal(ra, rb); /* whole */
        if (ra == DIGBY_OK) {
            assert_true(prefix); /* no commit after a lost one */
            kept++;
        } else {
            prefix = 0;
        }
    }
    print_message("log tail cut at the checkpoint's %llu pages (the file had %llu): "
                  "%u of %u commits after the checkpoint kept\n",
                  (unsigned long long)ck.page_count, (unsigned long long)full_pages,
                  kept, tail);
    assert_true(kept < tail);
    assert_int_equal(st.entries, 1510 + 2 * kept);
    check_clean(db);
    ASSERT_OK(digby_close(db));
    unlink(p);
}

static void test_truncated_file(void **state)
{
    fixture *f = (fixture *)*state;
    digby_db *db;
    digby_txn *w;
    digby_stats st;
    unsigned i, variant;
    char k[32];
    uint64_t extent;

    /* a large commit, then a small one: each meta page records more than
       half of the file */
    ASSERT_OK(digby_open(f->path, NULL, &db));
    for (variant = 0; variant < 2; variant++) {
        unsigned n = variant ? 10 : 1500;
        ASSERT_OK(digby_txn_begin(db, 0, &w));
        for (i = 0; i < n; i++) {
            char v[200];
            size_t kn = num_key(k, variant * 1500 + i);
            memset(v, 'a' + (int)(i % 26), sizeof(v));
            ASSERT_OK(digby_txn_put(w, NULL, k, kn, v, sizeof(v), 0));
        }
        ASSERT_OK(digby_txn_commit(w));
        /* log mode: the commits went to the log; a checkpoint and close's
           checkpoint write the meta pages, each recording the whole tree */
        if (TEST_LOG_MODE && variant == 0) ASSERT_OK(digby_checkpoint(db));
    }
    get_stat(db, &st);
    check_clean(db);
    ASSERT_OK(digby_close(db));
    if (TEST_LOG_MODE) {
        /* the file as close's checkpoint left it (no log) */
        digby_options ro;
        memset(&ro, 0, sizeof(ro));
        ro.flags = DIGBY_OPEN_READONLY;
        ASSERT_OK(digby_open(f->path, &ro, &db));
        get_stat(db, &st);
        assert_int_equal(st.log_pages, 0);
        ASSERT_OK(digby_close(db));
    }
    extent = st.page_count * st.page_size;
    assert_true(st.page_count > 60);

    for (variant = 0; variant < 4; variant++) {
        char p[512];
        uint64_t cut;
        int rc;
        make_path(p, sizeof(p), "trunc");
        copy_file(f->path, p);
        switch (variant) {
        case 0: cut = extent / 2 / st.page_size * st.page_size; break;
        case 1: cut = extent / 2 + 123; break;
        case 2: cut = extent - 1; break;
        default: cut = 300; break;
        }
        assert_int_equal(truncate(p, (off_t)cut), 0);
        db = NULL;
        rc = digby_open(p, NULL, &db);
        if (variant == 3) {
            /* less than a page: no meta page at all */
            ASSERT_RC2(rc, DIGBY_NOTDIGBY, DIGBY_CORRUPT);
        } else if (variant == 2 && rc == DIGBY_OK) {
            /* one byte short: the newest meta page does not fit, the
               previous one may; falling back to it is acceptable if the
               result is that commit, whole and clean */
            digby_stats s2;
            get_stat(db, &s2);
            if (TEST_LOG_MODE)
                /* the previous checkpoint (1500 entries) and the log after
                   it: the small commit, whole or not at all */
                assert_true(s2.entries == 1500 || s2.entries == 1510);
            else
                assert_int_equal(s2.entries, 1500);
            assert_true(s2.last_txid < st.last_txid);
            check_clean(db);
            print_message("truncated by one byte: opened the previous commit\n");
        } else {
            /* FORMAT/API: a file shorter than its meta page records */
            ASSERT_RC(rc, DIGBY_CORRUPT);
        }
        if (rc == DIGBY_OK) digby_close(db);
        unlink(p);
    }
    if (TEST_LOG_MODE) truncated_log_tail(f->path);
}

static void test_corrupt_leaf(void **state)
{
    fixture *f = (fixture *)*state;
    digby_stats st;
    unsigned char *img;
    size_t len, offs[8];
    unsigned nhits, i;
    char v[64], k[32];
    uint64_t bad[8];
    digby_check_report rep;
    digby_txn *w, *r;
    digby_cursor *c;
    void *pv;
    size_t vn;
    int rc;

    build_marked(f->path, 2000, 4096, &st);
    img = slurp(f->path, &len);
    marked_val(v, 1000);
    nhits = find_all(img, len, v, 10, offs, 8);
    assert_true(nhits >= 1 && nhits <= 8);
    free(img);
    /* flip one byte of the value in every copy (normally one) */
    for (i = 0; i < nhits; i++) {
        bad[i] = offs[i] / st.page_size;
        assert_true(bad[i] >= 2); /* not a meta page */
        xor_byte(f->path, offs[i] + 4, 0x01);
    }

    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    /* the damaged page is found, the rest still reads */
    ASSERT_RC(digby_get(f->db, S("key0001000"), &pv, &vn, NULL), DIGBY_CORRUPT);
    marked_val(v, 0);
    expect_get(f->db, S("key0000000"), v, 60);
    marked_val(v, 1999);
    expect_get(f->db, S("key0001999"), v, 60);

    memset(&rep, 0, sizeof(rep));
    ASSERT_RC(digby_check(f->db, &rep), DIGBY_CORRUPT);
    print_message("check on a flipped byte in page %llu: bad_pgno %llu: %s\n",
                  (unsigned long long)bad[0], (unsigned long long)rep.bad_pgno,
                  rep.message);
    for (i = 0; i < nhits; i++)
        if (rep.bad_pgno == bad[i]) break;
    assert_true(i < nhits);
    assert_true(rep.message[0] != '\0');

    /* a scan meets it and stops with CORRUPT, never crashes */
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_cursor_open(r, NULL, &c));
    for (i = 0; i < 3000; i++) {
        rc = i ? digby_cursor_next(c) : digby_cursor_first(c);
        if (rc == DIGBY_OK) rc = digby_cursor_get(c, NULL, NULL, NULL, NULL, NULL);
        if (rc != DIGBY_OK) break;
    }
    ASSERT_RC(rc, DIGBY_CORRUPT);
    assert_true(i < 2000);
    for (i = 0; i < 3000; i++) {
        rc = i ? digby_cursor_prev(c) : digby_cursor_last(c);
        if (rc == DIGBY_OK) rc = digby_cursor_get(c, NULL, NULL, NULL, NULL, NULL);
        if (rc != DIGBY_OK) break;
    }
    ASSERT_RC(rc, DIGBY_CORRUPT);
    ASSERT_RC(digby_cursor_seek(c, S("key0001000"), DIGBY_SEEK_GE), DIGBY_CORRUPT);
    digby_cursor_close(c);
    digby_txn_abort(r);

    if (TEST_LOG_MODE) {
        /* log mode: a put reads no tree page (it goes to the memtable), a
           delete looks its key up.  A delete that meets the damage fails
           and poisons its transaction; a put of the damaged key commits
           and reads back; the checkpoint that would merge it into the
           damaged leaf fails and changes nothing: the log keeps it,
           across a reopen too */
        ASSERT_OK(digby_txn_begin(f->db, 0, &w));
        ASSERT_RC(digby_txn_delete(w, NULL, S("key0001000")), DIGBY_CORRUPT);
        ASSERT_RC(digby_txn_put(w, NULL, S("key0000000"), S("new"), 0), DIGBY_POISONED);
        ASSERT_RC(digby_txn_commit(w), DIGBY_POISONED);
        ASSERT_RC(digby_delete(f->db, S("key0001000")), DIGBY_CORRUPT);
        ASSERT_OK(digby_put(f->db, S("key0001000"), S("new")));
        expect_get(f->db, S("key0001000"), S("new"));
        ASSERT_OK(digby_put(f->db, S("key0000000"), S("new")));
        ASSERT_RC(digby_checkpoint(f->db), DIGBY_CORRUPT);
        expect_get(f->db, S("key0001000"), S("new"));
        expect_get(f->db, S("key0000000"), S("new"));
        ASSERT_RC(digby_check(f->db, &rep), DIGBY_CORRUPT);
        ASSERT_OK(digby_close(f->db));
        ASSERT_OK(digby_open(f->path, NULL, &f->db));
        expect_get(f->db, S("key0001000"), S("new"));
        expect_get(f->db, S("key0000000"), S("new"));
        marked_val(v, 1999);
        expect_get(f->db, S("key0001999"), v, 60);
    } else {
        /* a write that touches it fails and poisons its transaction */
        ASSERT_OK(digby_txn_begin(f->db, 0, &w));
        ASSERT_RC(digby_txn_put(w, NULL, S("key0001000"), S("new"), 0), DIGBY_CORRUPT);
        ASSERT_RC(digby_txn_put(w, NULL, S("key0000000"), S("new"), 0), DIGBY_POISONED);
        ASSERT_RC(digby_txn_commit(w), DIGBY_POISONED);
        ASSERT_RC(digby_delete(f->db, S("key0001000")), DIGBY_CORRUPT);
        /* writes elsewhere still work */
        ASSERT_OK(digby_put(f->db, S("key0000000"), S("new")));
        expect_get(f->db, S("key0000000"), S("new"));
    }
    ASSERT_RC(digby_check(f->db, &rep), DIGBY_CORRUPT);
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;
    (void)k;
}

/* db (opened asking for a map it cannot have) reads through its cache:
   mapped_bytes stays 0 and a put and get work; then closed. */
static void expect_unmapped_works(digby_db *db)
{
    digby_stats st;
    ASSERT_OK(digby_put(db, S("k"), S("v")));
    get_stat(db, &st);
    assert_int_equal(st.mapped_bytes, 0);
    expect_get(db, S("k"), S("v"));
    ASSERT_OK(digby_close(db));
}

/* DIGBY_OPEN_MMAP: tree pages read from the memory map are verified the
   first time they are read (a flipped byte is DIGBY_CORRUPT, as through
   the cache); digby_check verifies every page again, even ones the map
   already trusts; writes through the handle read back; an encrypted file
   or the memory VFS fall back to the cache (mapped_bytes 0) and work. */
static void test_mmap_reads(void **state)
{
    fixture *f = (fixture *)*state;
    digby_options o;
    digby_stats st, s2;
    digby_check_report rep;
    unsigned char *img;
    size_t len, offs[8];
    unsigned nhits, i;
    char v[64], k[32];
    void *pv;
    size_t vn;

    /* a build that cannot map (32-bit, no mmap) reads through the cache:
       the same answers, mapped_bytes 0 */
    int can_map = strstr(digby_version(), " mmap") != NULL;

    build_marked(f->path, 2000, 4096, &st);
    memset(&o, 0, sizeof(o));
    o.flags = DIGBY_OPEN_MMAP;

    /* the map is the default: no flag maps as DIGBY_OPEN_MMAP does, and
       DIGBY_OPEN_NO_MMAP reads through the cache; both flags together are
       a contradiction */
    o.flags = 0;
    ASSERT_OK(digby_open(f->path, &o, &f->db));
    get_stat(f->db, &s2);
    assert_int_equal(s2.mapped_bytes, can_map ? st.file_bytes : 0);
    ASSERT_OK(digby_close(f->db));
    o.flags = DIGBY_OPEN_NO_MMAP;
    ASSERT_OK(digby_open(f->path, &o, &f->db));
    get_stat(f->db, &s2);
    assert_int_equal(s2.mapped_bytes, 0);
    expect_get(f->db, S("key0000007"), (marked_val(v, 7), v), 60);
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;
    o.flags = DIGBY_OPEN_MMAP | DIGBY_OPEN_NO_MMAP;
    ASSERT_RC(digby_open(f->path, &o, &f->db), DIGBY_INVALID);
    assert_null(f->db);
    o.flags = DIGBY_OPEN_MMAP;

    /* sound: every key reads back through the map */
    ASSERT_OK(digby_open(f->path, &o, &f->db));
    get_stat(f->db, &s2);
    assert_int_equal(s2.mapped_bytes, can_map ? st.file_bytes : 0);
    for (i = 0; i < 2000; i++) {
        size_t kn = num_key(k, i);
        marked_val(v, i);
        expect_get(f->db, k, kn, v, 60);
    }
    check_clean(f->db);
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;

    /* a flipped byte in a leaf, before open */
    img = slurp(f->path, &len);
    marked_val(v, 1000);
    nhits = find_all(img, len, v, 10, offs, 8);
    assert_true(nhits >= 1 && nhits <= 8);
    free(img);
    for (i = 0; i < nhits; i++) xor_byte(f->path, offs[i] + 4, 0x01);
    ASSERT_OK(digby_open(f->path, &o, &f->db));
    ASSERT_RC(digby_get(f->db, S("key0001000"), &pv, &vn, NULL), DIGBY_CORRUPT);
    marked_val(v, 1999);
    expect_get(f->db, S("key0001999"), v, 60);
    ASSERT_RC(digby_check(f->db, &rep), DIGBY_CORRUPT);
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;

    /* the same flip made after the page was verified: the handle goes on
       trusting the page (documented), but digby_check looks again */
    for (i = 0; i < nhits; i++) xor_byte(f->path, offs[i] + 4, 0x01);
    ASSERT_OK(digby_open(f->path, &o, &f->db));
    marked_val(v, 1000);
    expect_get(f->db, S("key0001000"), v, 60);
    check_clean(f->db);
    for (i = 0; i < nhits; i++) xor_byte(f->path, offs[i] + 4, 0x01);
    if (can_map) {
        /* (through the cache, check reads the cached copy: no news) */
        memset(&rep, 0, sizeof(rep));
        ASSERT_RC(digby_check(f->db, &rep), DIGBY_CORRUPT);
        for (i = 0; i < nhits; i++)
            if (rep.bad_pgno == offs[i] / st.page_size) break;
        assert_true(i < nhits);
    }
    for (i = 0; i < nhits; i++) xor_byte(f->path, offs[i] + 4, 0x01);
    check_clean(f->db);

    /* writes through the handle: new and reused pages read back right */
    for (i = 0; i < 2000; i += 3) {
        size_t kn = num_key(k, i);
        ASSERT_OK(digby_put(f->db, k, kn, "rewritten", 9));
    }
    for (i = 0; i < 2000; i++) {
        size_t kn = num_key(k, i);
        marked_val(v, i);
        if (i % 3 == 0) expect_get(f->db, k, kn, "rewritten", 9);
        else expect_get(f->db, k, kn, v, 60);
    }
    /* (log mode: the puts sit in the log and the memtable; the map grows
       with the tree, which a checkpoint writes) */
    if (TEST_LOG_MODE) ASSERT_OK(digby_checkpoint(f->db));
    get_stat(f->db, &s2);
    assert_int_equal(s2.mapped_bytes, can_map ? s2.page_count * s2.page_size : 0);
    check_clean(f->db);
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;

    {
        /* the file outgrows its map (64 KiB here) while a reader holds a
           snapshot: the reader goes on reading through the old mapping,
           new transactions through the new one */
        char p[512];
        digby_db *db;
        digby_txn *r, *w;
        make_path(p, sizeof(p), "mmapgrow");
        o.map_bytes = 64 << 10;
        ASSERT_OK(digby_open(p, &o, &db));
        ASSERT_OK(digby_put(db, S("first"), S("1")));
        ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &r));
        for (i = 0; i < 4000; i++) {
            size_t kn = num_key(k, i);
            marked_val(v, i);
            if (i % 500 == 0) ASSERT_OK(digby_txn_begin(db, 0, &w));
            ASSERT_OK(digby_txn_put(w, NULL, k, kn, v, 60, 0));
            if (i % 500 == 499) ASSERT_OK(digby_txn_commit(w));
        }
        /* log mode: the checkpoint writes the tree, past the map */
        if (TEST_LOG_MODE) ASSERT_OK(digby_checkpoint(db));
        get_stat(db, &s2);
        if (can_map) {
            assert_true(s2.mapped_bytes > (64u << 10));
            assert_true(s2.mapped_bytes >= s2.page_count * s2.page_size);
        }
        {
            const void *pv2;
            size_t vn2;
            ASSERT_OK(digby_txn_get(r, NULL, S("first"), &pv2, &vn2, NULL));
            assert_int_equal(vn2, 1);
            ASSERT_RC(digby_txn_get(r, NULL, S("key0000000"), &pv2, &vn2, NULL), DIGBY_NOTFOUND);
        }
        digby_txn_abort(r);
        for (i = 0; i < 4000; i += 7) {
            size_t kn = num_key(k, i);
            marked_val(v, i);
            expect_get(db, k, kn, v, 60);
        }
        check_clean(db);
        ASSERT_OK(digby_close(db));
        unlink(p);
        o.map_bytes = 0;
    }
    {
        /* overflow pages are read in place from the map too: a flipped
           byte in a large value before open is DIGBY_CORRUPT; after the
           page was verified the handle trusts it, and digby_check looks
           again */
        static unsigned char big[20000];
        static const char mark[] = "OVERFLOW-MARK-7f3a";
        char p[512];
        digby_db *db;
        digby_check_report r2;
        size_t bn = sizeof(big), moffs[4];
        unsigned nm, j;
        make_path(p, sizeof(p), "mmapovf");
        for (i = 0; i < bn; i++) big[i] = (unsigned char)(i * 7 + 3);
        memcpy(big + 9000, mark, sizeof(mark) - 1);
        ASSERT_OK(digby_open(p, &o, &db));
        ASSERT_OK(digby_put(db, S("big"), big, bn));
        ASSERT_OK(digby_put(db, S("small"), S("s")));
        ASSERT_OK(digby_close(db));
        img = slurp(p, &len);
        nm = find_all(img, len, mark, sizeof(mark) - 1, moffs, 4);
        free(img);
        assert_int_equal(nm, 1);
        xor_byte(p, moffs[0] + 3, 0x10);
        ASSERT_OK(digby_open(p, &o, &db));
        ASSERT_RC(digby_get(db, S("big"), &pv, &vn, NULL), DIGBY_CORRUPT);
        expect_get(db, S("small"), S("s"));
        ASSERT_OK(digby_close(db));
        xor_byte(p, moffs[0] + 3, 0x10);
        ASSERT_OK(digby_open(p, &o, &db));
        for (j = 0; j < 2; j++) expect_get(db, S("big"), big, bn);
        xor_byte(p, moffs[0] + 3, 0x10);
        if (can_map) {
            /* trusted: the handle does not look again (documented; a get
               now would return the damaged bytes, as LMDB's would) */
            memset(&r2, 0, sizeof(r2));
            ASSERT_RC(digby_check(db, &r2), DIGBY_CORRUPT);
            assert_int_equal(r2.bad_pgno, moffs[0] / 4096);
        } else {
            /* through the cache: overflow pages are read (and checked)
               at every get */
            ASSERT_RC(digby_get(db, S("big"), &pv, &vn, NULL), DIGBY_CORRUPT);
        }
        xor_byte(p, moffs[0] + 3, 0x10);
        check_clean(db);
        ASSERT_OK(digby_close(db));
        unlink(p);
    }
    {
        /* a new file with the smallest map asked for (1 byte: as large as
           the file, the two meta pages): the map still reserves a page
           past them, and commits grow it to cover the file (a map of the
           meta pages alone was once refused, and never made again: found
           by fuzz_open's mode bit 4) */
        char p[512];
        digby_db *db;
        make_path(p, sizeof(p), "mmaptiny");
        o.map_bytes = 1;
        ASSERT_OK(digby_open(p, &o, &db));
        for (i = 0; i < 300; i++) {
            size_t kn = num_key(k, i);
            marked_val(v, i);
            ASSERT_OK(digby_put(db, k, kn, v, 60));
        }
        if (TEST_LOG_MODE) ASSERT_OK(digby_checkpoint(db)); /* the tree */
        get_stat(db, &s2);
        assert_true(s2.page_count > 3);
        assert_int_equal(s2.mapped_bytes, can_map ? s2.page_count * s2.page_size : 0);
        check_clean(db);
        ASSERT_OK(digby_close(db));
        unlink(p);
        o.map_bytes = 0;
    }
#ifndef DIGBY_NO_CRYPTO
    {
        /* an encrypted file: pages must be decrypted, so no map */
        static const uint8_t key[16] = {1, 2, 3};
        char p[512];
        digby_db *db;
        make_path(p, sizeof(p), "mmapenc");
        o.key = key;
        o.key_bytes = sizeof(key);
        ASSERT_OK(digby_open(p, &o, &db));
        expect_unmapped_works(db);
        unlink(p);
        o.key = NULL;
        o.key_bytes = 0;
    }
#endif
    {
        /* a VFS without map */
        digby_vfs *mem;
        digby_db *db;
        ASSERT_OK(digby_vfs_mem_create(NULL, &mem));
        o.vfs = mem;
        ASSERT_OK(digby_open("m.db", &o, &db));
        expect_unmapped_works(db);
        digby_vfs_mem_destroy(mem);
    }
}

/* A page with a valid checksum at the wrong place (a misdirected write):
   every page holding key 1500's value (normally one; stale copies in free
   pages are possible) gets the bytes of a page holding key 100's value. */
static void test_misdirected_page(void **state)
{
    fixture *f = (fixture *)*state;
    digby_stats st;
    unsigned char *img;
    size_t len, offa, offb[8];
    unsigned nb, i;
    char v[64];
    uint64_t pa, pb[8];
    digby_check_report rep;
    void *pv;
    size_t vn;

    build_marked(f->path, 2000, 4096, &st);
    img = slurp(f->path, &len);
    marked_val(v, 100);
    assert_true(find_all(img, len, v, 10, &offa, 1) >= 1);
    marked_val(v, 1500);
    nb = find_all(img, len, v, 10, offb, 8);
    assert_true(nb >= 1 && nb <= 8);
    pa = offa / st.page_size;
    for (i = 0; i < nb; i++) {
        pb[i] = offb[i] / st.page_size;
        assert_true(pa != pb[i]);
        memcpy(img + pb[i] * st.page_size, img + pa * st.page_size, st.page_size);
    }
    spill(f->path, img, len);
    free(img);

    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_RC(digby_get(f->db, S("key0001500"), &pv, &vn, NULL), DIGBY_CORRUPT);
    marked_val(v, 0);
    expect_get(f->db, S("key0000000"), v, 60);
    memset(&rep, 0, sizeof(rep));
    ASSERT_RC(digby_check(f->db, &rep), DIGBY_CORRUPT);
    print_message("check on page %llu holding a copy of page %llu: bad_pgno %llu: %s\n",
                  (unsigned long long)pb[0], (unsigned long long)pa,
                  (unsigned long long)rep.bad_pgno, rep.message);
    for (i = 0; i < nb; i++)
        if (rep.bad_pgno == pb[i]) break;
    assert_true(i < nb);
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;
}

/* A damaged overflow page. */
static void test_corrupt_overflow(void **state)
{
    fixture *f = (fixture *)*state;
    digby_stats st;
    unsigned char *img, *val;
    size_t len, off, i;
    digby_check_report rep;
    void *pv;
    size_t vn;
    char marker[16];

    val = (unsigned char *)malloc(30000);
    assert_non_null(val);
    for (i = 0; i < 30000; i++) val[i] = (unsigned char)('a' + i % 23);
    memcpy(val + 15000, "OVFMARKER-12345", 15);
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_put(f->db, S("big"), val, 30000));
    ASSERT_OK(digby_put(f->db, S("small"), S("fine")));
    get_stat(f->db, &st);
    assert_true(st.overflow_pages >= 7);
    check_clean(f->db);
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;

    img = slurp(f->path, &len);
    memcpy(marker, "OVFMARKER-12345", 15);
    assert_int_equal(find_all(img, len, marker, 15, &off, 1), 1);
    free(img);
    xor_byte(f->path, off + 3, 0x20);

    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_RC(digby_get(f->db, S("big"), &pv, &vn, NULL), DIGBY_CORRUPT);
    expect_get(f->db, S("small"), S("fine"));
    memset(&rep, 0, sizeof(rep));
    ASSERT_RC(digby_check(f->db, &rep), DIGBY_CORRUPT);
    assert_int_equal(rep.bad_pgno, off / st.page_size);
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;
    free(val);
}

/* Meta pages are pages 0 and 1 (FORMAT.md); the main tree's entry count is
   a u64 at byte 88 of a meta page.  Changing it leaves a well-formed meta
   page whose checksum no longer matches. */
#define META_ENTRIES_OFF 88

static void test_meta_fallback(void **state)
{
    fixture *f = (fixture *)*state;
    char p[2][512], p2[512];
    digby_db *db;
    digby_stats st;
    uint32_t ps;
    int slot, saw_new = 0, saw_old = 0;
    uint64_t txids[2];
    digby_options o;

    ASSERT_OK(digby_open(f->path, NULL, &db));
    ASSERT_OK(digby_put(db, S("k"), S("old")));        /* previous state: 1 entry */
    {
        digby_txn *w;
        ASSERT_OK(digby_txn_begin(db, 0, &w));
        ASSERT_OK(digby_txn_put(w, NULL, S("k"), S("new"), 0));
        ASSERT_OK(digby_txn_put(w, NULL, S("k2"), S("new"), 0));
        ASSERT_OK(digby_txn_commit(w)); /* newest state: 2 entries */
    }
    get_stat(db, &st);
    ps = st.page_size;
    check_clean(db);
    ASSERT_OK(digby_close(db));

    for (slot = 0; slot < 2; slot++) {
        make_path(p[slot], sizeof(p[slot]), slot ? "meta1" : "meta0");
        copy_file(f->path, p[slot]);
        xor_byte(p[slot], (uint64_t)slot * ps + META_ENTRIES_OFF, 0x04);
        ASSERT_OK(digby_open(p[slot], NULL, &db));
        get_stat(db, &st);
        txids[slot] = st.last_txid;
        if (st.entries == 2) {
            saw_new++;
            expect_get(db, S("k"), S("new"));
        } else {
            assert_int_equal(st.entries, 1);
            saw_old++;
            expect_get(db, S("k"), S("old"));
            expect_missing(db, S("k2"));
        }
        check_clean(db);
        /* it goes on from there, and the next commit heals the bad slot */
        ASSERT_OK(digby_put(db, S("after"), S("x")));
        ASSERT_OK(digby_put(db, S("after2"), S("y")));
        check_clean(db);
        ASSERT_OK(digby_close(db));
        ASSERT_OK(digby_open(p[slot], NULL, &db));
        expect_get(db, S("after"), S("x"));
        expect_get(db, S("after2"), S("y"));
        check_clean(db);
        ASSERT_OK(digby_close(db));
        unlink(p[slot]);
    }
    /* one copy lost the newest meta and fell back, the other did not */
    if (TEST_LOG_MODE) {
        /* log mode: both commits went to the log, and close's checkpoint
           wrote the newest meta page; the previous one is the checkpoint
           open made, whose log (freed by close's, not yet reused) replays
           both commits: the fallback loses nothing but that checkpoint */
        assert_int_equal(saw_new, 2);
        assert_int_equal(saw_old, 0);
        assert_true(txids[0] != txids[1]);
    } else {
        assert_int_equal(saw_new, 1);
        assert_int_equal(saw_old, 1);
    }

    /* both metas damaged */
    make_path(p2, sizeof(p2), "meta01");
    copy_file(f->path, p2);
    xor_byte(p2, META_ENTRIES_OFF, 0x04);
    xor_byte(p2, (uint64_t)ps + META_ENTRIES_OFF, 0x04);
    db = (digby_db *)&o;
    ASSERT_RC2(digby_open(p2, NULL, &db), DIGBY_CORRUPT, DIGBY_NOTDIGBY);
    assert_null(db);
    memset(&o, 0, sizeof(o));
    o.flags = DIGBY_OPEN_READONLY;
    ASSERT_RC2(digby_open(p2, &o, &db), DIGBY_CORRUPT, DIGBY_NOTDIGBY);
    /* both metas zeroed */
    {
        size_t len;
        unsigned char *img = slurp(f->path, &len);
        memset(img, 0, 2 * (size_t)ps);
        spill(p2, img, len);
        free(img);
        ASSERT_RC2(digby_open(p2, NULL, &db), DIGBY_CORRUPT, DIGBY_NOTDIGBY);
    }
    unlink(p2);
    /* the original is fine */
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    expect_get(f->db, S("k"), S("new"));
}

/* ---- locking ------------------------------------------------------------------ */

/* Open in a child process; its exit status is -rc. */
static int child_open(const char *path, uint32_t flags)
{
    pid_t pid = fork();
    int status = 0;
    assert_true(pid >= 0);
    if (pid == 0) {
        digby_options o;
        digby_db *db = NULL;
        int rc;
        memset(&o, 0, sizeof(o));
        o.flags = flags;
        rc = digby_open(path, &o, &db);
        if (rc == DIGBY_OK) rc = digby_close(db);
        _exit(rc < 0 ? -rc : rc);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return -WEXITSTATUS(status);
}

/* Put key k = v in a child process (its own handle, opened with flags);
   its exit status is -rc. */
static int child_put_flags(const char *path, uint32_t flags, const char *k, const char *v)
{
    pid_t pid = fork();
    int status = 0;
    assert_true(pid >= 0);
    if (pid == 0) {
        digby_options o;
        digby_db *db = NULL;
        int rc;
        memset(&o, 0, sizeof(o));
        o.flags = flags;
        rc = digby_open(path, &o, &db);
        if (rc == DIGBY_OK) rc = digby_put(db, k, strlen(k), v, strlen(v));
        if (db) {
            int rc2 = digby_close(db);
            if (rc == DIGBY_OK) rc = rc2;
        }
        _exit(rc < 0 ? -rc : rc);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return -WEXITSTATUS(status);
}

static int child_put(const char *path, const char *k, const char *v)
{
    return child_put_flags(path, 0, k, v);
}

/* Read key k in a child process (its own handle, opened with flags):
   -rc of the get, DIGBY_CORRUPT when the value is not v. */
static int child_get(const char *path, uint32_t flags, const char *k, const char *v)
{
    pid_t pid = fork();
    int status = 0;
    assert_true(pid >= 0);
    if (pid == 0) {
        digby_options o;
        digby_db *db = NULL;
        void *got = NULL;
        size_t n = 0;
        int rc;
        memset(&o, 0, sizeof(o));
        o.flags = flags;
        rc = digby_open(path, &o, &db);
        if (rc == DIGBY_OK) rc = digby_get(db, k, strlen(k), &got, &n, NULL);
        if (rc == DIGBY_OK && (n != strlen(v) || memcmp(got, v, n) != 0)) rc = DIGBY_CORRUPT;
        if (db) {
            digby_free(db, got);
            (void)digby_close(db);
        }
        _exit(rc < 0 ? -rc : rc);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return -WEXITSTATUS(status);
}

/* Whether handles share files here: the POSIX VFS has the lock file
   (Linux, with mmap: not in the DIGBY_NO_MMAP builds). */
static int sharing(void)
{
    const digby_vfs *v = digby_vfs_posix();
    return v && v->version >= 4 && v->shm_open != NULL;
}

/* Other processes share the file (48_lockfile.c): any number of handles,
   read-write or not, in either mode, each process's commits seen by the
   others (a log-mode handle's in its log, which the others read on).
   (Encrypted files are shared too: tests/crypto.c test_shared_handles.) */
static void test_share_other_process(void **state)
{
    fixture *f = (fixture *)*state;
    digby_db *ro1, *ro2;
    digby_options ro, lg;
    memset(&ro, 0, sizeof(ro));
    ro.flags = DIGBY_OPEN_READONLY;
    memset(&lg, 0, sizeof(lg));
    lg.flags = DIGBY_OPEN_LOG;

    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_put(f->db, S("k"), S("v")));
    if (!sharing()) {
        /* the VFS has no lock file here: a writer is alone */
        ASSERT_RC(child_open(f->path, 0), DIGBY_BUSY);
        ASSERT_RC(child_open(f->path, DIGBY_OPEN_READONLY), DIGBY_BUSY);
        ASSERT_RC(child_open(f->path, DIGBY_OPEN_NO_CREATE), DIGBY_BUSY);
    } else {
        ASSERT_RC(child_open(f->path, 0), DIGBY_OK);
        ASSERT_RC(child_open(f->path, DIGBY_OPEN_READONLY), DIGBY_OK);
        ASSERT_RC(child_open(f->path, DIGBY_OPEN_NO_CREATE), DIGBY_OK);
        ASSERT_RC(child_open(f->path, DIGBY_OPEN_LOG), DIGBY_OK);
        /* a commit in another process is seen here, and ours there */
        ASSERT_RC(child_put(f->path, "k3", "v3"), DIGBY_OK);
        expect_get(f->db, S("k3"), S("v3"));
    }
    ASSERT_OK(digby_put(f->db, S("k2"), S("v2")));
    check_clean(f->db);
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;

    /* closed: others may open */
    ASSERT_RC(child_open(f->path, 0), DIGBY_OK);

    /* read-only handles share with each other, and with writers elsewhere */
    ASSERT_OK(digby_open(f->path, &ro, &ro1));
    ASSERT_OK(digby_open(f->path, &ro, &ro2));
    ASSERT_RC(child_open(f->path, DIGBY_OPEN_READONLY), DIGBY_OK);
    if (sharing()) {
        ASSERT_RC(child_open(f->path, DIGBY_OPEN_LOG), DIGBY_OK);
        ASSERT_RC(child_put(f->path, "k4", "v4"), DIGBY_OK);
        expect_get(ro1, S("k4"), S("v4"));
        /* a log-mode writer elsewhere: its commit, which its close merged */
        ASSERT_RC(child_put_flags(f->path, DIGBY_OPEN_LOG, "k5", "v5"), DIGBY_OK);
        expect_get(ro2, S("k5"), S("v5"));
    } else {
        ASSERT_RC(child_open(f->path, 0), DIGBY_BUSY);
        ASSERT_RC(child_open(f->path, DIGBY_OPEN_LOG), DIGBY_BUSY);
    }
    expect_get(ro1, S("k2"), S("v2"));
    check_clean(ro2);
    ASSERT_OK(digby_close(ro2));
    check_clean(ro1);
    ASSERT_OK(digby_close(ro1));
    ASSERT_RC(child_open(f->path, DIGBY_OPEN_LOG), DIGBY_OK);

    /* a log-mode writer: its commits stay in its log, which other
       processes read on; another log-mode writer's commits go to the same
       log; a copy-on-write writer merges the log into the tree first */
    ASSERT_OK(digby_open(f->path, &lg, &f->db));
    ASSERT_OK(digby_put(f->db, S("k6"), S("v6")));
    if (sharing()) {
        ASSERT_OK(digby_open(f->path, &ro, &ro1));
        expect_get(ro1, S("k6"), S("v6"));
        ASSERT_RC(child_get(f->path, DIGBY_OPEN_READONLY, "k6", "v6"), DIGBY_OK);
        ASSERT_RC(child_get(f->path, DIGBY_OPEN_LOG, "k6", "v6"), DIGBY_OK);
        ASSERT_RC(child_put_flags(f->path, DIGBY_OPEN_LOG, "k7", "v7"), DIGBY_OK);
        expect_get(f->db, S("k7"), S("v7"));
        expect_get(ro1, S("k7"), S("v7"));
        ASSERT_OK(digby_put(f->db, S("k8"), S("v8")));
        expect_get(ro1, S("k8"), S("v8"));
        ASSERT_RC(child_put(f->path, "k9", "v9"), DIGBY_OK);
        expect_get(f->db, S("k9"), S("v9"));
        expect_get(f->db, S("k8"), S("v8"));
        ASSERT_OK(digby_put(f->db, S("k10"), S("v10")));
        ASSERT_RC(child_get(f->path, 0, "k10", "v10"), DIGBY_OK);
        expect_get(ro1, S("k10"), S("v10"));
        expect_get(ro1, S("k6"), S("v6"));
        check_clean(ro1);
        ASSERT_OK(digby_close(ro1));
    } else {
        ASSERT_RC(child_open(f->path, 0), DIGBY_BUSY);
        ASSERT_RC(child_open(f->path, DIGBY_OPEN_READONLY), DIGBY_BUSY);
    }
    check_clean(f->db);
    ASSERT_OK(digby_close(f->db));
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    expect_get(f->db, S("k6"), S("v6"));
}

/* An open that must be refused with BUSY; a handle it wrongly returns is
   closed before the test fails. */
static void expect_busy_open(const char *path, const digby_options *o, int line)
{
    digby_db *db = NULL;
    int rc = digby_open(path, o, &db);
    if (rc == DIGBY_OK) digby_close(db);
    if (rc != DIGBY_BUSY) {
        print_error("%s:%d: second open returned %s, expected DIGBY_BUSY\n",
                    __FILE__, line, rc_name(rc));
        fail();
    }
    assert_null(rc == DIGBY_OK ? NULL : db);
}

/* The lock file is not trusted (FORMAT.md section 14): whatever another
   process leaves in FILE-lock, a writer builds on the newest commit in the
   file and loses none, and the rest is a clear error or correct data.
   Found by tests/torture/fuzz_lockfile.c: with the published txid put
   back, a second handle that had not seen the newest commits built on an
   older one and overwrote the newest meta page (two commits lost). */
static void lock_write_u64(const char *lock, size_t off, uint64_t v)
{
    int fd = open(lock, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, &v, 8, (off_t)off), 8);
    close(fd);
}

static void test_lockfile_lies(void **state)
{
    fixture *f = (fixture *)*state;
    digby_db *h2;
    char lock[600];
    unsigned char junk[16384 - 64];
    int fd, rc;
    if (!sharing()) skip();
    snprintf(lock, sizeof lock, "%s-lock", f->path);
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_open(f->path, NULL, &h2));
    ASSERT_OK(digby_put(f->db, S("a"), S("1")));
    ASSERT_OK(digby_put(f->db, S("b"), S("2")));
    /* the published txid put back to the first commit: h2 is not told */
    lock_write_u64(lock, 16, 1);
    ASSERT_OK(digby_put(h2, S("c"), S("3")));
    expect_get(h2, S("a"), S("1"));
    expect_get(h2, S("b"), S("2"));
    expect_get(f->db, S("c"), S("3"));
    ASSERT_OK(digby_put(f->db, S("d"), S("4")));
    expect_get(h2, S("d"), S("4"));
    /* a txid past every commit: an error for every transaction that would
       take it in, and nothing written */
    lock_write_u64(lock, 16, 1000);
    rc = digby_put(h2, S("e"), S("5"));
    if (rc != DIGBY_CORRUPT)
        fail_msg("a write while the lock file names a commit the file lacks: %s, expected DIGBY_CORRUPT",
                 rc_name(rc));
    ASSERT_RC(digby_put(f->db, S("e"), S("5")), DIGBY_CORRUPT);
    /* absurd epoch, slot count in use, every slot garbage */
    lock_write_u64(lock, 24, UINT64_MAX);
    lock_write_u64(lock, 32, UINT64_MAX);
    memset(junk, 0xA5, sizeof junk);
    fd = open(lock, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, junk, sizeof junk, 64), (ssize_t)sizeof junk);
    close(fd);
    ASSERT_OK(digby_close(h2));
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;
    /* alone again: the lock file is cleared, and every acknowledged commit
       is there */
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    expect_get(f->db, S("a"), S("1"));
    expect_get(f->db, S("b"), S("2"));
    expect_get(f->db, S("c"), S("3"));
    expect_get(f->db, S("d"), S("4"));
    {
        void *v = NULL;
        size_t n = 0;
        ASSERT_RC(digby_get(f->db, S("e"), &v, &n, NULL), DIGBY_NOTFOUND);
    }
    check_clean(f->db);
}

/* digby_checkpoint on another thread (test_busy_same_process) */
static int g_checkpoint_rc;
static void *checkpoint_thread(void *db)
{
    g_checkpoint_rc = digby_checkpoint((digby_db *)db);
    return NULL;
}

/* The same process: handles share the file as handles in other processes
   do (open-file-description locks conflict between handles of one
   process; classic fcntl locks would not, and closing any descriptor would
   drop them all), in either mode.  One read-write transaction at a time
   across handles: a second waits, or with DIGBY_TXN_NOWAIT gets
   DIGBY_BUSY.  Without the lock file a read-write handle excludes every
   other. */
static void test_busy_same_process(void **state)
{
    fixture *f = (fixture *)*state;
    digby_db *ro1, *h2;
    digby_txn *w, *w2 = NULL;
    digby_options ro, lg;
    memset(&ro, 0, sizeof(ro));
    ro.flags = DIGBY_OPEN_READONLY;
    memset(&lg, 0, sizeof(lg));
    lg.flags = DIGBY_OPEN_LOG;

    ASSERT_OK(digby_open(f->path, &lg, &f->db));
    ASSERT_OK(digby_put(f->db, S("k"), S("v")));
    if (!sharing()) {
        expect_busy_open(f->path, NULL, __LINE__);
        expect_busy_open(f->path, &ro, __LINE__);
        /* the refused opens did not release our lock */
        ASSERT_RC(child_open(f->path, DIGBY_OPEN_READONLY), DIGBY_BUSY);
    } else {
        /* a log-mode writer, a copy-on-write one and a reader in one
           process: each sees the others' commits; the log-mode handle's
           stay in its log until the copy-on-write writer merges them */
        digby_db *cw, *rd;
        ASSERT_OK(digby_open(f->path, NULL, &cw));
        ASSERT_OK(digby_open(f->path, &ro, &rd));
        expect_get(cw, S("k"), S("v"));
        expect_get(rd, S("k"), S("v"));
        ASSERT_OK(digby_txn_begin(f->db, 0, &w));
        ASSERT_RC(digby_txn_begin(cw, DIGBY_TXN_NOWAIT, &w2), DIGBY_BUSY);
        assert_null(w2);
        ASSERT_OK(digby_txn_put(w, NULL, S("k1"), S("v1"), 0));
        ASSERT_OK(digby_txn_commit(w));
        expect_get(rd, S("k1"), S("v1"));
        ASSERT_OK(digby_put(cw, S("k3"), S("v3")));
        expect_get(f->db, S("k3"), S("v3"));
        expect_get(f->db, S("k1"), S("v1"));
        ASSERT_OK(digby_put(f->db, S("k4"), S("v4")));
        ASSERT_OK(digby_delete(f->db, S("k3")));
        expect_get(cw, S("k4"), S("v4"));
        /* a checkpoint takes the writer lock as a transaction does */
        ASSERT_OK(digby_txn_begin(cw, 0, &w2));
        ASSERT_OK(digby_txn_put(w2, NULL, S("k5"), S("v5"), 0));
        {
            pthread_t th;
            int crc = -1;
            assert_int_equal(pthread_create(&th, NULL, checkpoint_thread, f->db), 0);
            struct timespec ts = {0, 50000000};
            nanosleep(&ts, NULL); /* (it waits for cw's transaction) */
            ASSERT_OK(digby_txn_commit(w2));
            w2 = NULL;
            assert_int_equal(pthread_join(th, NULL), 0);
            crc = g_checkpoint_rc;
            ASSERT_OK(crc);
        }
        expect_get(f->db, S("k5"), S("v5"));
        expect_get(rd, S("k5"), S("v5"));
        expect_get(rd, S("k4"), S("v4"));
        expect_missing(cw, S("k3"));
        expect_missing(rd, S("k3"));
        check_clean(rd);
        check_clean(cw);
        ASSERT_OK(digby_close(rd));
        ASSERT_OK(digby_close(cw));
    }
    ASSERT_OK(digby_put(f->db, S("k2"), S("v2")));
    expect_get(f->db, S("k"), S("v"));
    check_clean(f->db);
    ASSERT_OK(digby_close(f->db));
    f->db = NULL;

    ASSERT_OK(digby_open(f->path, &ro, &ro1));
    if (!sharing()) {
        /* read-only handles in this process exclude a writer in it */
        expect_busy_open(f->path, &lg, __LINE__);
        ASSERT_RC(child_open(f->path, DIGBY_OPEN_LOG), DIGBY_BUSY);
    } else {
        /* two read-write handles beside it: one writer at a time */
        ASSERT_OK(digby_open(f->path, NULL, &f->db));
        ASSERT_OK(digby_open(f->path, NULL, &h2));
        ASSERT_OK(digby_txn_begin(f->db, 0, &w));
        ASSERT_RC(digby_txn_begin(h2, DIGBY_TXN_NOWAIT, &w2), DIGBY_BUSY);
        assert_null(w2);
        ASSERT_OK(digby_txn_put(w, NULL, S("k5"), S("v5"), 0));
        ASSERT_OK(digby_txn_commit(w));
        ASSERT_OK(digby_txn_begin(h2, DIGBY_TXN_NOWAIT, &w2));
        ASSERT_OK(digby_txn_put(w2, NULL, S("k6"), S("v6"), 0));
        ASSERT_OK(digby_txn_commit(w2));
        expect_get(f->db, S("k6"), S("v6"));
        expect_get(h2, S("k5"), S("v5"));
        expect_get(ro1, S("k6"), S("v6"));
        check_clean(h2);
        ASSERT_OK(digby_close(h2));
        ASSERT_OK(digby_close(f->db));
        f->db = NULL;
    }
    check_clean(ro1);
    ASSERT_OK(digby_close(ro1));
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
}

static void test_close_busy(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w, *r;
    digby_cursor *c;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_txn_put(w, NULL, S("k"), S("v"), 0));
    ASSERT_RC(digby_close(f->db), DIGBY_BUSY);
    /* nothing was closed: the transaction goes on */
    ASSERT_OK(digby_txn_put(w, NULL, S("k2"), S("v2"), 0));
    ASSERT_OK(digby_txn_commit(w));
    expect_get(f->db, S("k2"), S("v2"));

    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_cursor_open(r, NULL, &c));
    ASSERT_OK(digby_cursor_first(c));
    ASSERT_RC(digby_close(f->db), DIGBY_BUSY);
    ASSERT_OK(digby_cursor_next(c));
    digby_cursor_close(c);
    ASSERT_RC(digby_close(f->db), DIGBY_BUSY);
    ASSERT_OK(digby_txn_commit(r));
}

static void test_max_readers(void **state)
{
    fixture *f = (fixture *)*state;
    digby_options o;
    digby_txn *r1, *r2, *r3, *w;
    memset(&o, 0, sizeof(o));
    o.max_readers = 2;
    ASSERT_OK(digby_open(f->path, &o, &f->db));
    ASSERT_OK(digby_put(f->db, S("k"), S("v")));
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r1));
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r2));
    r3 = (digby_txn *)&o;
    ASSERT_RC(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r3), DIGBY_BUSY);
    /* the writer is not a reader */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_txn_put(w, NULL, S("k2"), S("v"), 0));
    ASSERT_OK(digby_txn_commit(w));
    digby_txn_abort(r1);
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r3));
    digby_txn_abort(r2);
    digby_txn_abort(r3);
}

/* ---- stale tables ------------------------------------------------------- */

static void test_table_after_drop(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w, *r;
    digby_table *t, *tw, *tr;
    digby_cursor *c;
    const void *v;
    size_t vn;
    uint64_t n;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "t", DIGBY_TABLE_CREATE, &t));
    ASSERT_OK(digby_txn_put(w, t, S("k"), S("v"), 0));
    ASSERT_OK(digby_txn_commit(w));

    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "t", 0, &t));
    ASSERT_OK(digby_txn_get(w, t, S("k"), &v, &vn, NULL));
    ASSERT_OK(digby_table_drop(w, "t"));
    ASSERT_RC(digby_txn_put(w, t, S("k2"), S("v"), 0), DIGBY_BADTXN);
    ASSERT_RC(digby_txn_get(w, t, S("k"), &v, &vn, NULL), DIGBY_BADTXN);
    ASSERT_RC(digby_txn_delete(w, t, S("k")), DIGBY_BADTXN);
    ASSERT_RC(digby_cursor_open(w, t, &c), DIGBY_BADTXN);
    ASSERT_RC(digby_table_count(w, t, &n), DIGBY_BADTXN);
    /* BADTXN does not poison */
    ASSERT_OK(digby_txn_put(w, NULL, S("g"), S("v"), 0));
    ASSERT_OK(digby_txn_commit(w));
    expect_get(f->db, S("g"), S("v"));

    /* a table handle of another live transaction */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "u", DIGBY_TABLE_CREATE, &tw));
    ASSERT_OK(digby_txn_commit(w));
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_table_open(r, "u", 0, &tr));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "u", 0, &tw));
    ASSERT_RC(digby_txn_get(r, tw, S("k"), &v, &vn, NULL), DIGBY_BADTXN);
    ASSERT_RC(digby_txn_put(w, tr, S("k"), S("v"), 0), DIGBY_BADTXN);
    ASSERT_RC(digby_cursor_open(r, tw, &c), DIGBY_BADTXN);
    ASSERT_OK(digby_txn_put(w, tw, S("k"), S("v"), 0));
    ASSERT_OK(digby_txn_commit(w));
    ASSERT_RC(digby_txn_get(r, tr, S("k"), &v, &vn, NULL), DIGBY_NOTFOUND);
    digby_txn_abort(r);
}

/* ---- failed writes, syncs and reads ------------------------------------- */

/* Sync failures: the commit fails, the handle refuses writes until it is
   reopened, and the reopened file shows the last good commit. */
static void test_sync_failure_poisons_handle(void **state)
{
    fault_vfs fv;
    digby_db *db;
    digby_txn *w, *r;
    long s0, syncs_per_commit, k;
    char good[32];
    int mode;
    (void)state;
    fv_init(&fv);
    fv_open_db(&fv, "sync.db", &db);
    ASSERT_OK(digby_put(db, S("k"), S("good-0")));
    s0 = fv.syncs;
    ASSERT_OK(digby_put(db, S("k"), S("good-1")));
    syncs_per_commit = fv.syncs - s0;
    assert_true(syncs_per_commit >= 1);
    print_message("a commit makes %ld syncs\n", syncs_per_commit);
    strcpy(good, "good-1");

    /* mode 0: the failed sync loses the unsynced writes (every sync of the
       commit); mode 1: it keeps them (only syncs before the last one) */
    for (mode = 0; mode < 2; mode++)
        for (k = 1; k <= syncs_per_commit - mode; k++) {
            void *pv;
            size_t vn;
            int rc;
            fv.fail_sync_in = k;
            fv.keep_on_sync_fail = mode;
            rc = digby_put(db, S("k"), S("bad"));
            ASSERT_RC(rc, DIGBY_IOERR);
            assert_int_equal(fv.fail_sync_in, 0);
            fv_disarm(&fv);
            /* poisoned: no more writes */
            w = (digby_txn *)&fv;
            ASSERT_RC(digby_txn_begin(db, 0, &w), DIGBY_POISONED);
            ASSERT_RC(digby_put(db, S("k"), S("bad-2")), DIGBY_POISONED);
            ASSERT_RC(digby_delete(db, S("k")), DIGBY_POISONED);
            /* reads still work and show the last good commit */
            expect_get(db, S("k"), good, strlen(good));
            ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &r));
            ASSERT_RC(digby_txn_put(r, NULL, S("k"), S("x"), 0), DIGBY_READONLY);
            digby_txn_abort(r);
            check_clean(db); /* checking is reading: still allowed */
            ASSERT_OK(digby_close(db));
            /* reopened: the last good commit, clean, writable */
            fv_open_db(&fv, "sync.db", &db);
            ASSERT_OK(digby_get(db, S("k"), &pv, &vn, NULL));
            if (vn != strlen(good) || memcmp(pv, good, vn) != 0)
                print_error("mode %d sync %ld: after reopen k = \"%.*s\", "
                            "expected \"%s\"\n", mode, k, (int)vn,
                            (const char *)pv, good);
            assert_int_equal(vn, strlen(good));
            assert_memory_equal(pv, good, vn);
            digby_free(db, pv);
            check_clean(db);
            sprintf(good, "good-%d-%ld", mode, k);
            ASSERT_OK(digby_put(db, S("k"), good, strlen(good)));
        }
    check_clean(db);
    ASSERT_OK(digby_close(db));
    fv_destroy(&fv);
}

/* One transaction of 40 small keys, a 9000-byte value and a "gen" key, all
   carrying `gen`.  Returns the first failure: an operation's own error (and
   then every later operation and the commit must say POISONED), or the
   commit's. */
static int big_commit(digby_db *db, const char *gen)
{
    static unsigned char big[9000];
    digby_txn *w;
    unsigned i;
    char k[32];
    int rc, first = DIGBY_OK;
    size_t gl = strlen(gen);
    memset(big, 'B', sizeof(big));
    ASSERT_OK(digby_txn_begin(db, 0, &w));
    for (i = 0; i <= 41; i++) {
        if (i < 40) {
            size_t kn = num_key(k, i);
            rc = digby_txn_put(w, NULL, k, kn, gen, gl, 0);
        } else if (i == 40) {
            rc = digby_txn_put(w, NULL, S("big"), big, sizeof(big), 0);
        } else {
            rc = digby_txn_put(w, NULL, S("gen"), gen, gl, 0);
        }
        if (first != DIGBY_OK) ASSERT_RC(rc, DIGBY_POISONED);
        else first = rc;
    }
    rc = digby_txn_commit(w);
    if (first != DIGBY_OK) {
        ASSERT_RC(rc, DIGBY_POISONED);
        return first;
    }
    return rc;
}

/* Write failures (clean and torn, IOERR and FULL), wherever they hit: in an
   operation that writes early (overflow pages) or in the commit.  Nothing
   of the transaction is visible, now or after a reopen. */
static void test_write_failure(void **state)
{
    fault_vfs fv;
    digby_db *db;
    long w0, writes_per_commit, k;
    char kbuf[32], good[32];
    int poisoned_after = 0, usable_after = 0;
    (void)state;
    fv_init(&fv);
    fv_open_db(&fv, "write.db", &db);
    ASSERT_OK(digby_put(db, S("gen"), S("g-start")));

    w0 = fv.writes;
    ASSERT_OK(big_commit(db, "g-first"));
    writes_per_commit = fv.writes - w0;
    strcpy(good, "g-first");
    print_message("a commit makes %ld writes\n", writes_per_commit);
    assert_true(writes_per_commit >= 2);
    if (writes_per_commit > 64) writes_per_commit = 64;

    for (k = 1; k <= writes_per_commit + 1; k++) {
        int rc, want = (k % 3 == 0) ? DIGBY_FULL : DIGBY_IOERR;
        char badv[32];
        sprintf(badv, "bad-%ld", k);
        fv.fail_write_in = k;
        fv.write_rc = want;
        fv.torn = (k % 2 == 0);
        rc = big_commit(db, badv);
        if (fv.fail_write_in != 0) {
            /* this transaction made fewer writes than the probe: fine */
            fv_disarm(&fv);
            ASSERT_OK(rc);
            strcpy(good, badv);
            continue;
        }
        fv_disarm(&fv);
        if (rc != want)
            print_error("write %ld of the transaction failed with %s; it said %s\n",
                        k, rc_name(want), rc_name(rc));
        ASSERT_RC(rc, want);
        /* nothing of it visible */
        expect_get(db, S("gen"), good, strlen(good));
        num_key(kbuf, 7);
        expect_get(db, kbuf, 10, good, strlen(good));
        /* The API promises handle poisoning only for failed syncs; a failed
           write may poison too (the engine does so for the meta page).
           Either way a reopen must show the last good commit. */
        rc = digby_put(db, S("probe"), S("p"));
        if (rc == DIGBY_OK) {
            usable_after++;
            ASSERT_OK(digby_delete(db, S("probe")));
            check_clean(db);
        } else {
            ASSERT_RC(rc, DIGBY_POISONED);
            poisoned_after++;
            check_clean(db);
        }
        ASSERT_OK(digby_close(db));
        fv_open_db(&fv, "write.db", &db);
        expect_get(db, S("gen"), good, strlen(good));
        expect_get(db, kbuf, 10, good, strlen(good));
        expect_missing(db, S("probe"));
        check_clean(db);
    }
    print_message("after a failed write: handle usable %d times, poisoned %d times\n",
                  usable_after, poisoned_after);
    ASSERT_OK(big_commit(db, "g-last"));
    check_clean(db);
    ASSERT_OK(digby_close(db));
    fv_open_db(&fv, "write.db", &db);
    expect_get(db, S("gen"), S("g-last"));
    check_clean(db);
    ASSERT_OK(digby_close(db));
    fv_destroy(&fv);
}

/* A failed read inside a write transaction poisons it: later operations
   give DIGBY_POISONED and so does the commit; the handle stays usable. */
static void test_read_failure_poisons_txn(void **state)
{
    fault_vfs fv;
    digby_db *db;
    digby_txn *w;
    unsigned i;
    char k[32];
    size_t kn;
    const void *v;
    size_t vn;
    int rc = DIGBY_OK;
    (void)state;
    fv_init(&fv);
    fv_open_db(&fv, "read.db", &db);
    ASSERT_OK(digby_txn_begin(db, 0, &w));
    for (i = 0; i < 3000; i++) {
        kn = num_key(k, i);
        ASSERT_OK(digby_txn_put(w, NULL, k, kn, k, kn, 0));
    }
    ASSERT_OK(digby_txn_commit(w));
    /* a newer commit elsewhere: open verifies (and so caches) only the
       pages the newest commit wrote, so the global tree stays cold */
    commit_elsewhere(db);
    ASSERT_OK(digby_close(db));
    fv_open_db(&fv, "read.db", &db); /* cold cache */

    ASSERT_OK(digby_txn_begin(db, 0, &w));
    fv.fail_read_in = 1;
    /* walk keys until an operation needs a page from the file (log mode:
       a put reads no tree page, a delete looks its key up) */
    for (i = 0; i < 3000; i += 97) {
        kn = num_key(k, i);
        if (TEST_LOG_MODE) rc = digby_txn_delete(w, NULL, k, kn);
        else rc = digby_txn_put(w, NULL, k, kn, S("changed"), 0);
        if (rc != DIGBY_OK) break;
    }
    assert_int_equal(fv.failures, 1);
    fv_disarm(&fv);
    ASSERT_RC(rc, DIGBY_IOERR);
    kn = num_key(k, 5);
    ASSERT_RC(digby_txn_put(w, NULL, k, kn, S("x"), 0), DIGBY_POISONED);
    ASSERT_RC(digby_txn_delete(w, NULL, k, kn), DIGBY_POISONED);
    assert_true(digby_txn_get(w, NULL, k, kn, &v, &vn, NULL) != DIGBY_OK);
    ASSERT_RC(digby_txn_commit(w), DIGBY_POISONED);
    check_clean(db);
    /* nothing of it was committed; the handle works */
    kn = num_key(k, 0);
    expect_get(db, k, kn, k, kn);
    ASSERT_OK(digby_put(db, S("after"), S("ok")));
    expect_get(db, S("after"), S("ok"));

    /* a failed read in digby_get is just an error */
    ASSERT_OK(digby_close(db));
    fv_open_db(&fv, "read.db", &db);
    fv.fail_read_in = 1;
    {
        void *pv;
        kn = num_key(k, 1234);
        rc = digby_get(db, k, kn, &pv, &vn, NULL);
        if (rc == DIGBY_OK) digby_free(db, pv);
    }
    fv_disarm(&fv);
    ASSERT_RC(rc, DIGBY_IOERR);
    expect_get(db, k, kn, k, kn);
    check_clean(db);
    ASSERT_OK(digby_close(db));
    fv_destroy(&fv);
}

/* ---- allocation failures ------------------------------------------------ */

static int is_oom_result(int rc)
{
    return rc == DIGBY_OK || rc == DIGBY_NOMEM || rc == DIGBY_POISONED;
}

static void test_alloc_failure(void **state)
{
    fixture *f = (fixture *)*state;
    long n;
    int persistent, done;
    unsigned char big[20000];
    memset(big, 'Z', sizeof(big));

    for (persistent = 0; persistent < 2; persistent++) {
        done = 0;
        for (n = 1; n < 20000 && !done; n++) {
            test_alloc fa;
            digby_options o;
            digby_db *db = NULL;
            digby_txn *w = NULL;
            digby_table *t;
            int rc, put_a = -1, commit = -1;
            void *pv;
            size_t vn;

            memset(&o, 0, sizeof(o));
            o.flags = DIGBY_OPEN_NO_SYNC;
            o.allocator = test_alloc_init(&fa, n, persistent); /* the n-th call fails */
            unlink(f->path);

            rc = digby_open(f->path, &o, &db);
            if (rc != DIGBY_OK) {
                ASSERT_RC(rc, DIGBY_NOMEM);
                assert_null(db);
                goto verify;
            }
            put_a = digby_put(db, S("a"), S("1"));
            if (!is_oom_result(put_a)) ASSERT_RC(put_a, DIGBY_NOMEM);
            rc = digby_txn_begin(db, 0, &w);
            if (rc != DIGBY_OK) {
                ASSERT_RC(rc, DIGBY_NOMEM);
            } else {
                int r1 = digby_txn_put(w, NULL, S("b"), S("2"), 0);
                int r2 = digby_txn_put(w, NULL, S("c"), big, sizeof(big), 0);
                int r3 = digby_table_open(w, "t", DIGBY_TABLE_CREATE, &t);
                int r4 = r3 == DIGBY_OK ? digby_txn_put(w, t, S("d"), S("4"), 0) : DIGBY_OK;
                if (!is_oom_result(r1)) ASSERT_RC(r1, DIGBY_NOMEM);
                if (!is_oom_result(r2)) ASSERT_RC(r2, DIGBY_NOMEM);
                if (!is_oom_result(r3)) ASSERT_RC(r3, DIGBY_NOMEM);
                if (!is_oom_result(r4)) ASSERT_RC(r4, DIGBY_NOMEM);
                commit = digby_txn_commit(w);
                if (!is_oom_result(commit)) ASSERT_RC(commit, DIGBY_NOMEM);
                /* a failed put poisons the txn: the commit fails.  (The
                   doc does not say that a failed table_open poisons.) */
                if (r1 || r2 || r4) {
                    if (commit == DIGBY_OK)
                        print_error("allocation %ld: put failed (%s %s %s), commit OK\n",
                                    n, rc_name(r1), rc_name(r2), rc_name(r4));
                    assert_true(commit != DIGBY_OK);
                }
            }
            rc = digby_get(db, S("a"), &pv, &vn, NULL);
            if (rc == DIGBY_OK) {
                assert_int_equal(put_a, DIGBY_OK);
                digby_free(db, pv);
            } else if (rc == DIGBY_NOTFOUND) {
                assert_true(put_a != DIGBY_OK);
            } else {
                ASSERT_RC(rc, DIGBY_NOMEM);
            }
            if (digby_check(db, NULL) == DIGBY_OK) {
                /* fine; NOMEM from the check itself is fine too */
            }
            ASSERT_OK(digby_close(db));
        verify:
            if (fa.live != 0)
                print_error("fail at allocation %ld%s: %ld blocks leaked\n", n,
                            persistent ? " and after" : "", fa.live);
            assert_int_equal(fa.live, 0);
            done = fa.failed == 0;
            /* afterwards the file opens with a working allocator; each
               commit happened whole or not at all */
            {
                digby_db *db2;
                ASSERT_OK(digby_open(f->path, NULL, &db2));
                check_clean(db2);
                rc = digby_get(db2, S("a"), &pv, &vn, NULL);
                if (put_a == DIGBY_OK) {
                    ASSERT_OK(rc);
                    digby_free(db2, pv);
                } else {
                    ASSERT_RC(rc, DIGBY_NOTFOUND);
                }
                rc = digby_get(db2, S("c"), &pv, &vn, NULL);
                if (commit == DIGBY_OK) {
                    ASSERT_OK(rc);
                    assert_int_equal(vn, sizeof(big));
                    digby_free(db2, pv);
                    expect_get(db2, S("b"), S("2"));
                } else {
                    ASSERT_RC(rc, DIGBY_NOTFOUND);
                    expect_missing(db2, S("b"));
                }
                ASSERT_OK(digby_close(db2));
            }
        }
        assert_true(done);
        print_message("allocation failure%s: %ld allocations covered\n",
                      persistent ? " (persistent)" : "", n - 1);
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_null_arguments),
        T(test_bad_options),
        T(test_partial_allocator),
        T(test_strerror),
        T(test_readonly),
        T(test_not_digby_files),
        T(test_cantopen),
        T(test_truncated_file),
        T(test_corrupt_leaf),
        T(test_mmap_reads),
        T(test_misdirected_page),
        T(test_corrupt_overflow),
        T(test_meta_fallback),
        T(test_share_other_process),
        T(test_busy_same_process),
        T(test_lockfile_lies),
        T(test_close_busy),
        T(test_max_readers),
        T(test_table_after_drop),
        T(test_sync_failure_poisons_handle),
        T(test_write_failure),
        T(test_read_failure_poisons_txn),
        T(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
