/* huge_value (make longtest): a value of 4 GiB - 1 bytes, the largest
   there is, written in 1 MiB pieces through digby_txn_put_begin() and read
   back through digby_txn_get_range(): sequentially, and at random offsets
   and chunk boundaries.  Once stored raw, once compressed with lz4.  Peak
   resident memory (VmHWM in /proc/self/status) must stay under 64 MiB:
   nothing ever holds the value.  Then digby_check (which reads every page)
   and a delete that frees every page.

   Files go to $DIGBY_TEST_DIR (default /tmp); the raw run needs 4 GiB of
   disk.  Prints throughput and the compressed file's size. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define DIGBY_IMPLEMENTATION
#include "digby.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HUGE_BYTES 0xFFFFFFFFu
#define PIECE (1u << 20)
#define RSS_LIMIT_KB (64u * 1024u)

static int g_failed;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "huge_value.c:%d: %s: ", __LINE__, #cond);       \
            fprintf(stderr, __VA_ARGS__);                                    \
            fprintf(stderr, "\n");                                           \
            g_failed = 1;                                                    \
            return;                                                          \
        }                                                                    \
    } while (0)
#define CHECK_OK(expr) \
    do { int rc_ = (expr); CHECK(rc_ == DIGBY_OK, "%s", digby_strerror(rc_)); } while (0)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Peak resident set in KiB. */
static unsigned long vm_hwm_kb(void)
{
    char line[256];
    unsigned long kb = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) kb = strtoul(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/* The value's bytes: pseudo-random (raw run) or compressible text. */
static void fill(unsigned char *p, uint64_t off, size_t n, int compressible)
{
    size_t i;
    for (i = 0; i < n; i++) {
        uint64_t o = off + i;
        if (compressible) {
            p[i] = (unsigned char)("a 4 GiB value, 64 KiB at a time\n"[o % 32] + (o >> 20) % 2);
        } else {
            uint64_t x = (o >> 3) * 0x9e3779b97f4a7c15u;
            x ^= x >> 29;
            x *= 0xbf58476d1ce4e5b9u;
            x ^= x >> 32;
            p[i] = (unsigned char)(x >> (8 * (o & 7)));
        }
    }
}

static void run(const char *dir, int compressible)
{
    char path[512];
    digby_options o;
    digby_db *db;
    digby_txn *w, *r;
    digby_blob *b;
    digby_stats st;
    unsigned char *buf = (unsigned char *)malloc(PIECE), *want = (unsigned char *)malloc(PIECE);
    uint64_t off, total = 0, x = 12345;
    size_t got;
    double t0, t1, t2;
    int i;
    CHECK(buf && want, "out of memory");
    snprintf(path, sizeof path, "%s/digby_huge_%ld_%d.db", dir, (long)getpid(), compressible);
    unlink(path);
    memset(&o, 0, sizeof o);
    o.compression = compressible ? DIGBY_COMPRESS_LZ4 : DIGBY_COMPRESS_NONE;
    CHECK_OK(digby_open(path, &o, &db));

    t0 = now();
    CHECK_OK(digby_txn_begin(db, 0, &w));
    CHECK_OK(digby_txn_put_begin(w, NULL, "huge", 4, HUGE_BYTES, 0, &b));
    for (off = 0; off < HUGE_BYTES; off += PIECE) {
        size_t n = (size_t)(HUGE_BYTES - off < PIECE ? HUGE_BYTES - off : PIECE);
        fill(buf, off, n, compressible);
        CHECK_OK(digby_blob_write(b, buf, n));
    }
    CHECK_OK(digby_blob_finish(b));
    CHECK_OK(digby_txn_commit(w));
    t1 = now();

    /* sequential read-back */
    CHECK_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &r));
    for (off = 0; off < HUGE_BYTES; off += PIECE) {
        size_t n = (size_t)(HUGE_BYTES - off < PIECE ? HUGE_BYTES - off : PIECE);
        CHECK_OK(digby_txn_get_range(r, NULL, "huge", 4, off, buf, PIECE, &got, &total));
        CHECK(got == n && total == HUGE_BYTES, "offset %llu: got %lu", (unsigned long long)off,
              (unsigned long)got);
        fill(want, off, n, compressible);
        CHECK(memcmp(buf, want, n) == 0, "offset %llu: wrong bytes", (unsigned long long)off);
    }
    t2 = now();
    /* random ranges, around chunk boundaries and at the very end */
    for (i = 0; i < 3000; i++) {
        size_t n = 1 + (size_t)(x % 100000);
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        off = x % HUGE_BYTES;
        if (i % 3 == 0) off = (off & ~(uint64_t)0xFFFF) - 1 - (uint64_t)(i % 5);
        if (i % 100 == 0) off = HUGE_BYTES - 1 - (uint64_t)(i % 7);
        if (off >= HUGE_BYTES) off = HUGE_BYTES - 1;
        CHECK_OK(digby_txn_get_range(r, NULL, "huge", 4, off, buf, n, &got, NULL));
        if (n > HUGE_BYTES - off) n = (size_t)(HUGE_BYTES - off);
        CHECK(got == n, "random range %llu+%lu: got %lu", (unsigned long long)off,
              (unsigned long)n, (unsigned long)got);
        fill(want, off, n, compressible);
        CHECK(memcmp(buf, want, n) == 0, "random range %llu: wrong bytes", (unsigned long long)off);
    }
    CHECK_OK(digby_txn_get_range(r, NULL, "huge", 4, HUGE_BYTES, buf, 10, &got, NULL));
    CHECK(got == 0, "past the end");
    digby_txn_abort(r);

    CHECK_OK(digby_stat(db, &st));
    printf("huge_value %s: 4 GiB - 1 written at %.0f MiB/s, read at %.0f MiB/s; "
           "file %.1f MiB (%llu overflow pages); peak RSS %lu KiB\n",
           compressible ? "lz4" : "raw", 4096.0 / (t1 - t0), 4096.0 / (t2 - t1),
           (double)st.file_bytes / 1048576.0, (unsigned long long)st.overflow_pages, vm_hwm_kb());
    fflush(stdout);
    CHECK_OK(digby_check(db, NULL));

    /* deleted: every page free */
    CHECK_OK(digby_delete(db, "huge", 4));
    CHECK_OK(digby_put(db, "tick", 4, "1", 1));
    CHECK_OK(digby_check(db, NULL));
    CHECK_OK(digby_stat(db, &st));
    CHECK(st.overflow_pages == 0, "overflow pages left: %llu", (unsigned long long)st.overflow_pages);
    CHECK(st.free_pages + st.freelist_pages + st.leaf_pages + st.branch_pages + 2 == st.page_count,
          "free %llu of %llu pages", (unsigned long long)st.free_pages,
          (unsigned long long)st.page_count);
    CHECK_OK(digby_close(db));
    unlink(path);
    free(buf);
    free(want);
    CHECK(vm_hwm_kb() < RSS_LIMIT_KB, "peak RSS %lu KiB", vm_hwm_kb());
}

int main(void)
{
    const char *dir = getenv("DIGBY_TEST_DIR");
    if (!dir || !*dir) dir = "/tmp";
    run(dir, 1);
    if (!g_failed) run(dir, 0);
    printf("huge_value: %s (peak RSS %lu KiB, limit %u KiB)\n", g_failed ? "FAILED" : "passed",
           vm_hwm_kb(), RSS_LIMIT_KB);
    return g_failed;
}
