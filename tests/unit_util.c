/* White-box tests of src_parts/14_util.c: little-endian access, varints,
   key comparison, growable arrays and the allocation hooks. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Route the library's default allocator through counters, so a test can
   prove that with hooks installed nothing bypasses them. */
static size_t default_calls;
static void *ut_default_malloc(size_t n) { default_calls++; return malloc(n); }
static void *ut_default_realloc(void *p, size_t n) { default_calls++; return realloc(p, n); }
static void ut_default_free(void *p) { if (p) default_calls++; free(p); }
#define DIGBY_MALLOC(sz) ut_default_malloc(sz)
#define DIGBY_REALLOC(p, sz) ut_default_realloc((p), (sz))
#define DIGBY_FREE(p) ut_default_free(p)

#define DIGBY_IMPLEMENTATION
#include "digby.h"
#define UNIT_RNG_SEED UINT64_C(0x853c49e6748fea9b)
#include "unit_common.h"

/* ---- little-endian ------------------------------------------------------- */

static void test_le_layout(void **state)
{
    uint8_t b[16];
    static const uint8_t e16[2] = {0x34, 0x12};
    static const uint8_t e32[4] = {0x78, 0x56, 0x34, 0x12};
    static const uint8_t e64[8] = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
    static const uint8_t hi[8] = {0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8};
    (void)state;
    memset(b, 0xAA, sizeof b);
    digby__put16(b + 1, 0x1234);
    assert_memory_equal(b + 1, e16, 2);
    assert_int_equal(b[0], 0xAA);
    assert_int_equal(b[3], 0xAA);
    memset(b, 0xAA, sizeof b);
    digby__put32(b + 3, 0x12345678u);
    assert_memory_equal(b + 3, e32, 4);
    assert_int_equal(b[2], 0xAA);
    assert_int_equal(b[7], 0xAA);
    memset(b, 0xAA, sizeof b);
    digby__put64(b + 5, UINT64_C(0x0102030405060708));
    assert_memory_equal(b + 5, e64, 8);
    assert_int_equal(b[4], 0xAA);
    assert_int_equal(b[13], 0xAA);

    /* decoding literal bytes, high bits set: no sign extension */
    assert_int_equal(digby__get16(e16), 0x1234);
    assert_int_equal(digby__get32(e32), 0x12345678u);
    assert_true(digby__get64(e64) == UINT64_C(0x0102030405060708));
    assert_int_equal(digby__get16(hi), 0xfeff);
    assert_true(digby__get32(hi) == 0xfcfdfeffu);
    assert_true(digby__get64(hi) == UINT64_C(0xf8f9fafbfcfdfeff));
    {
        static const uint8_t top[8] = {0, 0, 0, 0, 0, 0, 0, 0x80};
        assert_int_equal(digby__get16(top + 6), 0x8000);
        assert_true(digby__get32(top + 4) == 0x80000000u);
        assert_true(digby__get64(top) == UINT64_C(0x8000000000000000));
    }
    /* extremes */
    digby__put16(b, 0xffff);
    assert_int_equal(digby__get16(b), 0xffff);
    digby__put32(b, 0xffffffffu);
    assert_true(digby__get32(b) == 0xffffffffu);
    digby__put64(b, UINT64_MAX);
    assert_true(digby__get64(b) == UINT64_MAX);
    digby__put64(b, 0);
    assert_true(digby__get64(b) == 0);
}

static void test_le_round_trip(void **state)
{
    uint8_t b[16];
    int i;
    (void)state;
    for (i = 0; i < 20000; i++) {
        uint64_t v = rnd();
        size_t off = (size_t)(rnd() % 8); /* unaligned too */
        int k;
        digby__put16(b + off, (uint16_t)v);
        assert_int_equal(digby__get16(b + off), (uint16_t)v);
        assert_int_equal(b[off], (uint8_t)v);
        digby__put32(b + off, (uint32_t)v);
        assert_true(digby__get32(b + off) == (uint32_t)v);
        for (k = 0; k < 4; k++) assert_int_equal(b[off + k], (uint8_t)(v >> (8 * k)));
        digby__put64(b + off, v);
        assert_true(digby__get64(b + off) == v);
        for (k = 0; k < 8; k++) assert_int_equal(b[off + k], (uint8_t)(v >> (8 * k)));
    }
}

/* ---- varints ------------------------------------------------------------- */

static void check_varint(uint64_t v, size_t want_len)
{
    uint8_t b[16], expect[16];
    uint64_t got = 0, x = v;
    size_t n, i;
    memset(b, 0xEE, sizeof b);
    n = digby__varint_put(b, v);
    assert_int_equal(n, want_len);
    assert_int_equal(digby__varint_len(v), want_len);
    assert_int_equal(b[n], 0xEE); /* wrote nothing past its length */
    /* the byte layout: LEB128 by hand */
    for (i = 0; i < want_len; i++) {
        expect[i] = (uint8_t)(x & 0x7f);
        x >>= 7;
        if (i + 1 < want_len) expect[i] |= 0x80;
    }
    assert_memory_equal(b, expect, want_len);
    assert_int_equal(digby__varint_get(b, b + n, &got), n);
    assert_true(got == v);
    assert_int_equal(digby__varint_get(b, b + sizeof b, &got), n);
    assert_true(got == v);
    /* every truncation fails */
    for (i = 0; i < n; i++) assert_int_equal(digby__varint_get(b, b + i, &got), 0);
}

static void test_varint_boundaries(void **state)
{
    unsigned k;
    uint8_t b[1] = {0};
    uint64_t got = 1;
    (void)state;
    check_varint(0, 1);
    assert_int_equal(digby__varint_get(b, b + 1, &got), 1);
    assert_true(got == 0);
    check_varint(1, 1);
    check_varint(0x7f, 1);
    /* 2^(7k) - 1 takes k bytes, 2^(7k) takes k + 1 */
    for (k = 1; k <= 9; k++) {
        uint64_t p = (uint64_t)1 << (7 * k);
        check_varint(p - 1, k);
        check_varint(p, k + 1);
        check_varint(p + 1, k + 1);
    }
    check_varint(UINT64_MAX - 1, 10);
    check_varint(UINT64_MAX, 10);
    check_varint((uint64_t)1 << 63, 10);
    {
        static const uint8_t max[10] = {0xff, 0xff, 0xff, 0xff, 0xff,
                                        0xff, 0xff, 0xff, 0xff, 0x01};
        uint8_t e[10];
        assert_int_equal(digby__varint_put(e, UINT64_MAX), 10);
        assert_memory_equal(e, max, 10);
    }
}

static void test_varint_random(void **state)
{
    int i;
    (void)state;
    for (i = 0; i < 20000; i++) {
        uint64_t v = rnd() >> (rnd() % 64);
        size_t len = 1;
        uint64_t x = v;
        while (x >= 0x80) { x >>= 7; len++; }
        check_varint(v, len);
    }
}

static void test_varint_truncated_and_empty(void **state)
{
    uint8_t b[12] = {0};
    uint64_t got = 12345;
    size_t i;
    (void)state;
    /* empty input */
    assert_int_equal(digby__varint_get(b, b, &got), 0);
    /* continuation bytes running into the end, for every length */
    memset(b, 0x80, sizeof b);
    for (i = 0; i <= 10; i++) assert_int_equal(digby__varint_get(b, b + i, &got), 0);
    assert_true(got == 12345); /* untouched on failure */
}

static void test_varint_overlong_rejected(void **state)
{
    uint8_t b[16];
    uint64_t got = 0;
    (void)state;
    /* eleven bytes: ten continuation bytes then a terminator */
    memset(b, 0x80, sizeof b);
    b[10] = 0x00;
    assert_int_equal(digby__varint_get(b, b + sizeof b, &got), 0);
    b[10] = 0x01;
    assert_int_equal(digby__varint_get(b, b + sizeof b, &got), 0);
    /* ten continuation bytes and nothing else */
    assert_int_equal(digby__varint_get(b, b + 10, &got), 0);
    memset(b, 0xff, sizeof b);
    assert_int_equal(digby__varint_get(b, b + sizeof b, &got), 0);
}

/* A tenth byte carries bit 63 only: anything above 0x01 there encodes a
   value wider than 64 bits and must be rejected, not silently truncated
   (FORMAT.md: varints hold u64 values in at most 10 bytes). */
static void test_varint_tenth_byte_overflow_rejected(void **state)
{
    uint8_t b[10];
    uint64_t got = 0;
    unsigned last;
    (void)state;
    memset(b, 0xff, 9);
    b[9] = 0x01;
    assert_int_equal(digby__varint_get(b, b + 10, &got), 10);
    assert_true(got == UINT64_MAX);
    for (last = 0x02; last <= 0x7f; last++) {
        got = 0;
        b[9] = (uint8_t)last;
        if (digby__varint_get(b, b + 10, &got) != 0)
            fail_msg("10-byte varint with last byte 0x%02x (more than 64 bits) "
                     "accepted as %llu", last, (unsigned long long)got);
    }
}

/* ---- key comparison ------------------------------------------------------- */

static int sgn(int x) { return (x > 0) - (x < 0); }

static void test_keycmp(void **state)
{
    static const unsigned char hi[1] = {0x80}, lo[1] = {0x7f}, ff[1] = {0xff},
                               zero[1] = {0x00};
    (void)state;
    assert_int_equal(digby__keycmp(NULL, 0, NULL, 0), 0);
    assert_int_equal(digby__keycmp("", 0, "", 0), 0);
    assert_true(digby__keycmp(NULL, 0, "a", 1) < 0);
    assert_true(digby__keycmp("a", 1, NULL, 0) > 0);
    assert_true(digby__keycmp("", 0, zero, 1) < 0);  /* empty < "\0" */
    assert_true(digby__keycmp("ab", 2, "abc", 3) < 0); /* prefix first */
    assert_true(digby__keycmp("abc", 3, "ab", 2) > 0);
    assert_int_equal(digby__keycmp("abc", 3, "abc", 3), 0);
    assert_true(digby__keycmp("abc", 3, "abd", 3) < 0);
    assert_true(digby__keycmp("abd", 3, "abcz", 4) > 0); /* bytes before length */
    assert_true(digby__keycmp(zero, 1, "\0\0", 2) < 0);
    /* unsigned bytes */
    assert_true(digby__keycmp(hi, 1, lo, 1) > 0);
    assert_true(digby__keycmp(lo, 1, hi, 1) < 0);
    assert_true(digby__keycmp(ff, 1, zero, 1) > 0);
    assert_true(digby__keycmp(ff, 1, "zzzz", 4) > 0);
    assert_true(digby__keycmp(hi, 1, ff, 1) < 0);
}

/* Random keys of 0..20 bytes (short and long keys take different paths),
   sharing prefixes often, with bytes >= 0x80 common, against a byte-wise
   reference. */
static void test_keycmp_random(void **state)
{
    uint8_t a[24], b[24];
    int i;
    (void)state;
    for (i = 0; i < 200000; i++) {
        size_t an = (size_t)(rnd() % 21), bn = (size_t)(rnd() % 21), k, n;
        size_t same = (size_t)(rnd() % 21); /* shared prefix length */
        int want, got;
        for (k = 0; k < an; k++) a[k] = (uint8_t)(rnd() % 3 ? rnd() % 4 + (rnd() % 2 ? 0x7e : 0) : 0xff);
        for (k = 0; k < bn; k++)
            b[k] = (uint8_t)(k < an && k < same ? a[k] : rnd() % 4 + (rnd() % 2 ? 0x7e : 0));
        /* reference: lexicographic on unsigned bytes, shorter prefix first */
        want = 0;
        n = an < bn ? an : bn;
        for (k = 0; k < n && !want; k++)
            want = a[k] < b[k] ? -1 : (a[k] > b[k] ? 1 : 0);
        if (!want) want = an < bn ? -1 : (an > bn ? 1 : 0);
        got = digby__keycmp(a, an, b, bn);
        if (sgn(got) != want)
            fail_msg("keycmp(len %zu, len %zu) = %d, want %d", an, bn, got, want);
        assert_int_equal(sgn(digby__keycmp(b, bn, a, an)), -want);
        assert_int_equal(digby__keycmp(a, an, a, an), 0);
    }
}

/* Long keys differing at each single position, in each direction. */
static void test_keycmp_each_position(void **state)
{
    uint8_t a[40], b[40];
    size_t len, pos;
    (void)state;
    for (len = 1; len <= 40; len++) {
        for (pos = 0; pos < len; pos++) {
            memset(a, 0x80, len);
            memcpy(b, a, len);
            b[pos] = 0x7f;  /* smaller as unsigned, larger as signed */
            assert_true(digby__keycmp(a, len, b, len) > 0);
            assert_true(digby__keycmp(b, len, a, len) < 0);
            b[pos] = 0xff;
            assert_true(digby__keycmp(a, len, b, len) < 0);
            assert_true(digby__keycmp(b, len, a, len) > 0);
            b[pos] = 0x81;
            assert_true(digby__keycmp(a, len, b, len) < 0);
        }
        /* proper prefixes of every length first */
        memset(a, 0xff, len);
        for (pos = 0; pos < len; pos++) {
            assert_true(digby__keycmp(a, pos, a, len) < 0);
            assert_true(digby__keycmp(a, len, a, pos) > 0);
        }
        assert_int_equal(digby__keycmp(a, len, a, len), 0);
    }
}

/* ---- growable arrays -------------------------------------------------------- */

static void test_u64s_push(void **state)
{
    digby__u64s s;
    const digby_allocator *a = NULL;
    size_t i;
    (void)state;
    memset(&s, 0, sizeof s);
    for (i = 0; i < 5000; i++) {
        assert_int_equal(digby__u64s_push(a, &s, (uint64_t)i * 7 + 1), DIGBY_OK);
        assert_int_equal(s.n, i + 1);
        assert_true(s.cap >= s.n);
        assert_true((s.cap & (s.cap - 1)) == 0);
    }
    for (i = 0; i < 5000; i++) assert_true(s.v[i] == (uint64_t)i * 7 + 1);
    digby__u64s_release(a, &s);
    assert_null(s.v);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.cap, 0);
    digby__u64s_release(a, &s); /* twice is harmless */
}

static void test_u64s_reserve(void **state)
{
    digby__u64s s;
    uint64_t *before;
    size_t i;
    (void)state;
    memset(&s, 0, sizeof s);
    assert_int_equal(digby__u64s_reserve(NULL, &s, 0), DIGBY_OK);
    assert_int_equal(digby__u64s_reserve(NULL, &s, 100), DIGBY_OK);
    assert_true(s.cap >= 100);
    assert_int_equal(s.n, 0);
    before = s.v;
    /* a reservation makes the next pushes allocation-free */
    for (i = 0; i < 100; i++) assert_int_equal(digby__u64s_push(NULL, &s, i), DIGBY_OK);
    assert_ptr_equal(s.v, before);
    assert_int_equal(digby__u64s_reserve(NULL, &s, 1000), DIGBY_OK);
    assert_true(s.cap >= 1100);
    for (i = 0; i < 100; i++) assert_true(s.v[i] == i);
    /* n + extra wraps around */
    assert_int_equal(digby__u64s_reserve(NULL, &s, SIZE_MAX), DIGBY_NOMEM);
    assert_int_equal(s.n, 100);
    digby__u64s_release(NULL, &s);
}

/* A reservation too large to allocate must fail with DIGBY_NOMEM.  For
   extra between SIZE_MAX/2 and SIZE_MAX - n the capacity doubling in
   digby__u64s_reserve overflows to 0 and loops forever, so this runs in a
   child process with an alarm. */
static void test_u64s_reserve_huge_fails(void **state)
{
    pid_t pid;
    int status = 0;
    (void)state;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        digby__u64s s;
        int rc;
        alarm(1);
        memset(&s, 0, sizeof s);
        rc = digby__u64s_reserve(NULL, &s, SIZE_MAX / 2 + 2);
        _exit(rc == DIGBY_NOMEM ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("digby__u64s_reserve(SIZE_MAX/2 + 2) did not return within 1 s "
                 "(signal %d): capacity doubling overflows", WTERMSIG(status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_reserve_bytes(void **state)
{
    uint8_t *buf = NULL;
    size_t cap = 0, i;
    (void)state;
    assert_int_equal(digby__reserve(NULL, &buf, &cap, 0), DIGBY_OK);
    assert_non_null(buf);
    assert_true(cap >= 1);
    assert_int_equal(digby__reserve(NULL, &buf, &cap, 10), DIGBY_OK);
    assert_true(cap >= 10);
    for (i = 0; i < 10; i++) buf[i] = (uint8_t)i;
    assert_int_equal(digby__reserve(NULL, &buf, &cap, 100000), DIGBY_OK);
    assert_true(cap >= 100000);
    for (i = 0; i < 10; i++) assert_int_equal(buf[i], i);
    buf[99999] = 1;
    {
        uint8_t *same = buf;
        size_t c = cap;
        assert_int_equal(digby__reserve(NULL, &buf, &cap, 5), DIGBY_OK);
        assert_ptr_equal(buf, same);
        assert_int_equal(cap, c);
    }
    digby__free(NULL, buf);
}

static int cmp_desc_sorted(const uint64_t *v, size_t n)
{
    size_t i;
    for (i = 1; i < n; i++)
        if (v[i - 1] < v[i]) return 0;
    return 1;
}

static int cmp_asc_sorted(const uint64_t *v, size_t n)
{
    size_t i;
    for (i = 1; i < n; i++)
        if (v[i - 1] > v[i]) return 0;
    return 1;
}

/* digby__sort_u64 (heapsort) and digby__sort_u64_with (radix sort with a
   scratch buffer; heapsort below 64 values) both ways, every length
   0..300 (heap shapes and radix pass counts differ by length), on three
   kinds of values: duplicates with the extreme values, page numbers (a
   few low bytes differ), and random 64-bit values (every byte differs).
   Checked against a count of each value (a sort must keep the multiset). */
static void test_sort_u64(void **state)
{
    uint64_t v[300], w[300], scratch[300 + 256];
    size_t n, i, j;
    int desc, kind, radix;
    (void)state;
    for (n = 0; n <= 300; n++) {
        for (desc = 0; desc < 2; desc++)
        for (kind = 0; kind < 3; kind++)
        for (radix = 0; radix < 2; radix++) {
            for (i = 0; i < n; i++) {
                if (kind == 0)
                    v[i] = i % 3 ? rnd() % (n + 1) * 0x0101010101ull
                                 : (i % 2 ? UINT64_MAX : 0);
                else if (kind == 1)
                    v[i] = 2 + rnd() % 1000003;
                else
                    v[i] = rnd() ^ ((uint64_t)rnd() << 32);
            }
            memcpy(w, v, n * sizeof v[0]);
            if (radix) digby__sort_u64_with(v, n, desc, scratch);
            else digby__sort_u64(v, n, desc);
            assert_true(desc ? cmp_desc_sorted(v, n) : cmp_asc_sorted(v, n));
            for (i = 0; i < n; i++) {
                size_t in_v = 0, in_w = 0;
                for (j = 0; j < n; j++) {
                    in_v += v[j] == w[i];
                    in_w += w[j] == w[i];
                }
                assert_int_equal(in_v, in_w);
            }
        }
    }
}

/* ---- allocation hooks --------------------------------------------------------- */

#define MAGIC_LIVE UINT64_C(0x4c4956454c495645)
#define MAGIC_DEAD UINT64_C(0x4445414444454144)

typedef struct counting {
    size_t mallocs, reallocs, frees, live, bad_frees, zero_sizes;
    size_t fail_at; /* fail the Nth malloc/realloc (1-based), 0 never */
    size_t calls;
} counting;

/* Each block carries a 16-byte header: a magic word and the size. */
static void *c_malloc(void *ctx, size_t n)
{
    counting *c = (counting *)ctx;
    uint64_t *h;
    c->calls++;
    if (c->fail_at && c->calls == c->fail_at) return NULL;
    if (n == 0) c->zero_sizes++;
    h = (uint64_t *)malloc(n + 16);
    if (!h) return NULL;
    h[0] = MAGIC_LIVE;
    h[1] = n;
    c->mallocs++;
    c->live++;
    return h + 2;
}

static void *c_realloc(void *ctx, void *p, size_t n)
{
    counting *c = (counting *)ctx;
    uint64_t *h;
    c->calls++;
    if (c->fail_at && c->calls == c->fail_at) return NULL;
    if (n == 0) c->zero_sizes++;
    if (!p) {
        c->calls--;
        return c_malloc(ctx, n);
    }
    h = (uint64_t *)p - 2;
    if (h[0] != MAGIC_LIVE) { c->bad_frees++; return NULL; }
    h = (uint64_t *)realloc(h, n + 16);
    if (!h) return NULL;
    h[1] = n;
    c->reallocs++;
    return h + 2;
}

static void c_free(void *ctx, void *p)
{
    counting *c = (counting *)ctx;
    uint64_t *h;
    if (!p) { c->frees++; return; } /* allowed, but counted */
    h = (uint64_t *)p - 2;
    if (h[0] != MAGIC_LIVE) { c->bad_frees++; return; }
    h[0] = MAGIC_DEAD;
    c->frees++;
    c->live--;
    free(h);
}

static digby_allocator counting_allocator(counting *c)
{
    digby_allocator a;
    memset(c, 0, sizeof *c);
    a.malloc_fn = c_malloc;
    a.realloc_fn = c_realloc;
    a.free_fn = c_free;
    a.ctx = c;
    return a;
}

static void test_hooks_internal_helpers(void **state)
{
    counting c;
    digby_allocator a = counting_allocator(&c);
    void *p, *q;
    size_t before = default_calls;
    digby__u64s s;
    uint8_t *buf = NULL;
    size_t cap = 0, i;
    (void)state;
    p = digby__malloc(&a, 0); /* size 0 becomes 1: never NULL for "no bytes" */
    assert_non_null(p);
    assert_int_equal(c.zero_sizes, 0);
    assert_int_equal(c.mallocs, 1);
    q = digby__realloc(&a, p, 0);
    assert_non_null(q);
    assert_int_equal(c.zero_sizes, 0);
    assert_int_equal(c.reallocs, 1);
    digby__free(&a, q);
    assert_int_equal(c.frees, 1);
    digby__free(&a, NULL); /* a NULL free never reaches the hook */
    assert_int_equal(c.frees, 1);
    memset(&s, 0, sizeof s);
    for (i = 0; i < 1000; i++) assert_int_equal(digby__u64s_push(&a, &s, i), DIGBY_OK);
    assert_int_equal(digby__reserve(&a, &buf, &cap, 5000), DIGBY_OK);
    digby__u64s_release(&a, &s);
    digby__free(&a, buf);
    assert_int_equal(c.live, 0);
    assert_int_equal(c.bad_frees, 0);
    assert_int_equal(default_calls, before);
    /* NULL allocator and an all-NULL allocator use the defaults */
    {
        digby_allocator none;
        memset(&none, 0, sizeof none);
        p = digby__malloc(NULL, 8);
        digby__free(NULL, p);
        p = digby__malloc(&none, 8);
        p = digby__realloc(&none, p, 16);
        digby__free(&none, p);
        assert_int_equal(default_calls, before + 5);
    }
}

static void test_hooks_fail_cleanly(void **state)
{
    counting c;
    digby_allocator a = counting_allocator(&c);
    digby__u64s s;
    uint8_t *buf = NULL;
    size_t cap = 0, i;
    (void)state;
    memset(&s, 0, sizeof s);
    for (i = 0; i < 64; i++) assert_int_equal(digby__u64s_push(&a, &s, i), DIGBY_OK);
    c.fail_at = c.calls + 1;
    assert_int_equal(digby__u64s_push(&a, &s, 64), DIGBY_NOMEM);
    assert_int_equal(s.n, 64);  /* unchanged, still owned */
    for (i = 0; i < 64; i++) assert_true(s.v[i] == i);
    c.fail_at = c.calls + 1;
    assert_int_equal(digby__u64s_reserve(&a, &s, 100), DIGBY_NOMEM);
    assert_int_equal(s.n, 64);
    assert_int_equal(digby__reserve(&a, &buf, &cap, 10), DIGBY_OK);
    buf[0] = 42;
    c.fail_at = c.calls + 1;
    assert_int_equal(digby__reserve(&a, &buf, &cap, 100000), DIGBY_NOMEM);
    assert_int_equal(buf[0], 42);
    assert_true(cap < 100000);
    c.fail_at = 0;
    digby__u64s_release(&a, &s);
    digby__free(&a, buf);
    assert_int_equal(c.live, 0);
    assert_int_equal(c.bad_frees, 0);
}

/* A whole database life through the hooks: every allocation the library
   makes goes through them (the default allocator is never called) and
   every block is freed. */
static void test_hooks_see_everything(void **state)
{
    counting c;
    digby_allocator a = counting_allocator(&c);
    digby_vfs *vfs;
    digby_db *db;
    digby_txn *txn;
    digby_table *tab;
    digby_cursor *cur;
    digby_options o;
    digby_check_report rep;
    digby_stats st;
    size_t before = default_calls, n = 0;
    char k[32];
    static uint8_t big[5000];
    void *val;
    size_t vn;
    int i, rc;
    (void)state;
    memset(big, 'v', sizeof big);
    assert_int_equal(digby_vfs_mem_create(&a, &vfs), DIGBY_OK);
    memset(&o, 0, sizeof o);
    o.vfs = vfs;
    o.page_size = 512;
    o.allocator = a;
    assert_int_equal(digby_open("hooks.db", &o, &db), DIGBY_OK);
    assert_int_equal(digby_txn_begin(db, 0, &txn), DIGBY_OK);
    assert_int_equal(digby_table_open(txn, "t", DIGBY_TABLE_CREATE, &tab), DIGBY_OK);
    for (i = 0; i < 500; i++) {
        snprintf(k, sizeof k, "key%05d", i);
        assert_int_equal(digby_txn_put(txn, NULL, k, strlen(k), k, strlen(k), 0), DIGBY_OK);
        assert_int_equal(digby_txn_put(txn, tab, k, strlen(k), big, (size_t)(i % 7) * 300, 0),
                         DIGBY_OK);
    }
    assert_int_equal(digby_txn_commit(txn), DIGBY_OK);
    assert_int_equal(digby_put(db, "x", 1, big, sizeof big), DIGBY_OK);
    assert_int_equal(digby_get(db, "x", 1, &val, &vn, NULL), DIGBY_OK);
    assert_int_equal(vn, sizeof big);
    digby_free(db, val);
    assert_int_equal(digby_delete(db, "key00007", 8), DIGBY_OK);
    assert_int_equal(digby_txn_begin(db, DIGBY_TXN_READONLY, &txn), DIGBY_OK);
    assert_int_equal(digby_cursor_open(txn, NULL, &cur), DIGBY_OK);
    for (rc = digby_cursor_first(cur); rc == DIGBY_OK; rc = digby_cursor_next(cur)) n++;
    assert_int_equal(rc, DIGBY_NOTFOUND);
    assert_int_equal(n, 500);
    digby_cursor_close(cur);
    digby_txn_abort(txn);
    assert_int_equal(digby_txn_begin(db, 0, &txn), DIGBY_OK);
    assert_int_equal(digby_table_drop(txn, "t"), DIGBY_OK);
    assert_int_equal(digby_txn_commit(txn), DIGBY_OK);
    assert_int_equal(digby_stat(db, &st), DIGBY_OK);
    assert_int_equal(digby_check(db, &rep), DIGBY_OK);
    assert_int_equal(digby_close(db), DIGBY_OK);
    /* reopen: the freelist load and the cache go through the hooks too */
    assert_int_equal(digby_open("hooks.db", &o, &db), DIGBY_OK);
    assert_int_equal(digby_get(db, "key00001", 8, &val, &vn, NULL), DIGBY_OK);
    digby_free(db, val);
    assert_int_equal(digby_check(db, &rep), DIGBY_OK);
    assert_int_equal(digby_close(db), DIGBY_OK);
    digby_vfs_mem_destroy(vfs);
    assert_true(c.mallocs > 100);
    assert_int_equal(c.live, 0);
    assert_int_equal(c.bad_frees, 0);
    assert_int_equal(c.zero_sizes, 0);
    assert_int_equal(default_calls, before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_le_layout),
        cmocka_unit_test(test_le_round_trip),
        cmocka_unit_test(test_varint_boundaries),
        cmocka_unit_test(test_varint_random),
        cmocka_unit_test(test_varint_truncated_and_empty),
        cmocka_unit_test(test_varint_overlong_rejected),
        cmocka_unit_test(test_varint_tenth_byte_overflow_rejected),
        cmocka_unit_test(test_keycmp),
        cmocka_unit_test(test_keycmp_random),
        cmocka_unit_test(test_keycmp_each_position),
        cmocka_unit_test(test_u64s_push),
        cmocka_unit_test(test_u64s_reserve),
        cmocka_unit_test(test_u64s_reserve_huge_fails),
        cmocka_unit_test(test_reserve_bytes),
        cmocka_unit_test(test_sort_u64),
        cmocka_unit_test(test_hooks_internal_helpers),
        cmocka_unit_test(test_hooks_fail_cleanly),
        cmocka_unit_test(test_hooks_see_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
