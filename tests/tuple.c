/* tests/tuple.c -- the tuple codec (src_parts/05_tuple.h, 76_tuple.c):
   FoundationDB's tuple layer, design/tuple.md, byte for byte.

   - the spec's worked examples, byte for byte, and the order it states
     (-0.0 before 0.0, NaNs at the ends, false before true, the empty
     nested tuple before the one holding null);
   - integer boundaries: 0, +-1, +-255, +-256, every byte-length boundary,
     INT64_MIN, INT64_MAX, UINT64_MAX, the first values digby rejects;
   - UTF-8: every boundary of RFC 3629's table, accepted and rejected;
   - round trips of random tuples (fixed seed, nesting included);
   - order: for random a and b, compare(a, b) has the sign of the byte
     order of pack(a), pack(b);
   - malformed input to unpack: a hand-made list, every one DIGBY_INVALID;
   - truncation: every prefix of random encodings is accepted exactly when
     it is a whole encoding itself (see test_truncation for which);
   - sizes: DIGBY_TOOBIG and the sizes reported, buffers left alone;
   - tests/tuple_vectors/vectors.txt: values and encodings from fdb-tuple,
     an independent implementation (regenerate with gen.js beside it).
   DIGBY_TEST_SCALE multiplies the random loops (at least 1/20 of them run).
   The vectors are read from tests/tuple_vectors/vectors.txt, relative to
   the working directory (make runs tests from the top of the tree), or
   from $DIGBY_TUPLE_VECTORS. */
/* DIGBY_STATIC: the compiler drops every function the program does not
   reach (the whole database engine), so the build takes a quarter of the
   time (make test builds this program twice); the unused ones are no error
   here. */
#define DIGBY_STATIC
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#define TEST_NAME "tuple"
#include "harness.h"

/* ---- helpers -------------------------------------------------------------- */

static uint64_t g_rng = UINT64_C(0x7475706c65); /* "tuple" */

static uint64_t rnd(void)
{
    uint64_t z = (g_rng += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}
static unsigned rndn(unsigned n) { return (unsigned)(rnd() % n); }

static long scaled(long n)
{
    double v = (double)n * test_scale();
    return v < n / 20.0 ? (n / 20 ? n / 20 : 1) : (long)v;
}

static digby_tuple_item it_null(void)
{
    digby_tuple_item it;
    memset(&it, 0, sizeof it);
    it.type = DIGBY_TUPLE_NULL;
    return it;
}
static digby_tuple_item it_int(int64_t v)
{
    digby_tuple_item it = it_null();
    it.type = DIGBY_TUPLE_INT;
    it.v.i = v;
    return it;
}
static digby_tuple_item it_uint(uint64_t v)
{
    digby_tuple_item it = it_null();
    it.type = DIGBY_TUPLE_UINT;
    it.v.u = v;
    return it;
}
/* doubles by their bits, through memcpy only (no floating-point load, so a
   signalling NaN keeps its bits on x87 too) */
static digby_tuple_item it_dbits(uint64_t bits)
{
    digby_tuple_item it = it_null();
    it.type = DIGBY_TUPLE_DOUBLE;
    memcpy(&it.v.d, &bits, 8);
    return it;
}
static uint64_t dbits(const digby_tuple_item *it)
{
    uint64_t b;
    memcpy(&b, &it->v.d, 8);
    return b;
}
static digby_tuple_item it_str(digby_tuple_type t, const void *p, size_t n)
{
    digby_tuple_item it = it_null();
    it.type = t;
    it.v.s.ptr = p;
    it.v.s.len = n;
    return it;
}
static digby_tuple_item it_bool(int b)
{
    digby_tuple_item it = it_null();
    it.type = DIGBY_TUPLE_BOOL;
    it.v.b = b;
    return it;
}
static digby_tuple_item it_nested(const digby_tuple_item *items, size_t n)
{
    digby_tuple_item it = it_null();
    it.type = DIGBY_TUPLE_NESTED;
    it.v.nested.items = items;
    it.v.nested.count = n;
    return it;
}

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*h) {
        unsigned v;
        if (*h == ' ') { h++; continue; }
        assert_true(n < cap);
        assert_int_equal(sscanf(h, "%2x", &v), 1);
        out[n++] = (uint8_t)v;
        h += 2;
    }
    return n;
}

static void print_hex(const char *what, const uint8_t *p, size_t n)
{
    size_t i;
    print_error("%s (%lu bytes): ", what, (unsigned long)n);
    for (i = 0; i < n && i < 200; i++) print_error("%02x", p[i]);
    print_error("\n");
}

/* pack must give exactly the bytes of hex. */
static void expect_pack(const digby_tuple_item *items, size_t n, const char *hex)
{
    uint8_t want[512], got[512];
    size_t wn = unhex(hex, want, sizeof want), len = 12345;
    ASSERT_OK(digby_tuple_pack(items, n, got, sizeof got, &len));
    if (len != wn || memcmp(got, want, wn)) {
        print_hex("packed", got, len);
        print_hex("wanted", want, wn);
        fail();
    }
}

/* Two tuples the same value: same types (after unpack's normal form:
   UINT only above INT64_MAX), doubles bit for bit, contents byte for byte. */
static int same_items(const digby_tuple_item *a, size_t na, const digby_tuple_item *b, size_t nb)
{
    size_t i;
    if (na != nb) return 0;
    for (i = 0; i < na; i++) {
        const digby_tuple_item *x = &a[i], *y = &b[i];
        digby_tuple_type tx = x->type, ty = y->type;
        if (tx == DIGBY_TUPLE_UINT && x->v.u <= (uint64_t)INT64_MAX) tx = DIGBY_TUPLE_INT;
        if (ty == DIGBY_TUPLE_UINT && y->v.u <= (uint64_t)INT64_MAX) ty = DIGBY_TUPLE_INT;
        if (tx != ty) return 0;
        switch (tx) {
        case DIGBY_TUPLE_NULL: break;
        case DIGBY_TUPLE_BYTES:
        case DIGBY_TUPLE_STRING:
            if (x->v.s.len != y->v.s.len) return 0;
            if (x->v.s.len && memcmp(x->v.s.ptr, y->v.s.ptr, x->v.s.len)) return 0;
            break;
        case DIGBY_TUPLE_NESTED:
            if (!same_items(x->v.nested.items, x->v.nested.count,
                            y->v.nested.items, y->v.nested.count)) return 0;
            break;
        case DIGBY_TUPLE_INT:
            if ((uint64_t)x->v.i != (uint64_t)y->v.i) return 0; /* u and i alias */
            break;
        case DIGBY_TUPLE_UINT:
            if (x->v.u != y->v.u) return 0;
            break;
        case DIGBY_TUPLE_DOUBLE:
            if (dbits(x) != dbits(y)) return 0;
            break;
        case DIGBY_TUPLE_BOOL:
            if (x->v.b != y->v.b) return 0;
            break;
        case DIGBY_TUPLE_UUID:
            if (memcmp(x->v.uuid, y->v.uuid, 16)) return 0;
            break;
        default: return 0;
        }
    }
    return 1;
}

/* What unpack gave a tuple in normal form: no UINT at or below INT64_MAX,
   bools 0/1, nested items inside the items array, contents inside the
   buffer or the arena. */
static void check_normal_form(const digby_tuple_item *items, size_t n,
                              const digby_tuple_item *all, size_t all_n,
                              const uint8_t *buf, size_t len,
                              const uint8_t *arena, size_t arena_n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        const digby_tuple_item *x = &items[i];
        if (x->type == DIGBY_TUPLE_UINT) assert_true(x->v.u > (uint64_t)INT64_MAX);
        if (x->type == DIGBY_TUPLE_BOOL) assert_true(x->v.b == 0 || x->v.b == 1);
        if (x->type == DIGBY_TUPLE_BYTES || x->type == DIGBY_TUPLE_STRING) {
            const uint8_t *p = (const uint8_t *)x->v.s.ptr;
            int in_buf = p >= buf && p + x->v.s.len <= buf + len;
            int in_arena = arena && p >= arena && p + x->v.s.len <= arena + arena_n;
            assert_true(in_buf || in_arena);
            /* into buf exactly when there is no 0x00 to unescape */
            assert_int_equal(in_buf && !in_arena, memchr(p, 0, x->v.s.len) == NULL);
        }
        if (x->type == DIGBY_TUPLE_NESTED) {
            if (x->v.nested.count) {
                assert_true(x->v.nested.items >= all + n &&
                            x->v.nested.items + x->v.nested.count <= all + all_n);
            }
            check_normal_form(x->v.nested.items, x->v.nested.count, all, all_n, buf, len,
                              arena, arena_n);
        }
    }
}

#define MAXI 4096
#define MAXB 16384

static digby_tuple_item g_out[MAXI];
static uint8_t g_arena[MAXB];

/* Unpack buf and check the result against items (and its normal form);
   re-pack must give buf again. */
static void expect_round_trip(const uint8_t *buf, size_t len,
                              const digby_tuple_item *items, size_t n)
{
    size_t count = 99, in = 99, an = 99, len2 = 0;
    uint8_t again[MAXB];
    int rc = digby_tuple_unpack(buf, len, g_out, MAXI, &count, g_arena, sizeof g_arena, &in, &an);
    if (rc != DIGBY_OK) print_hex("unpack failed on", buf, len);
    ASSERT_OK(rc);
    if (!same_items(g_out, count, items, n)) {
        print_hex("decoded to something else", buf, len);
        fail();
    }
    assert_true(in >= count && in <= MAXI);
    assert_true(an <= sizeof g_arena);
    check_normal_form(g_out, count, g_out, in, buf, len, g_arena, an);
    assert_int_equal(digby_tuple_compare(g_out, count, items, n), 0);
    ASSERT_OK(digby_tuple_pack(g_out, count, again, sizeof again, &len2));
    assert_int_equal(len2, len);
    assert_memory_equal(again, buf, len);
}

static int sign(int x) { return (x > 0) - (x < 0); }

/* ---- random tuples --------------------------------------------------------- */

typedef struct gen {
    digby_tuple_item items[MAXI];
    size_t nitems;
    uint8_t bytes[MAXB];
    size_t nbytes;
    int narrow; /* small alphabets: many ties and shared prefixes */
} gen;

static uint8_t *gen_space(gen *g, size_t n)
{
    uint8_t *p;
    assert_true(g->nbytes + n <= sizeof g->bytes);
    p = g->bytes + g->nbytes;
    g->nbytes += n;
    return p;
}

static size_t put_utf8(uint8_t *o, uint32_t cp)
{
    if (cp < 0x80) { o[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800) { o[0] = (uint8_t)(0xc0 | (cp >> 6)); o[1] = (uint8_t)(0x80 | (cp & 0x3f)); return 2; }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | (cp >> 12)); o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | (cp >> 18)); o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)); o[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/* in the spec's order: negative NaNs (a larger payload first: all bits are
   inverted), -inf, negatives, -0.0, 0.0, positives, +inf, positive NaNs */
static const uint64_t special_doubles[] = {
    UINT64_C(0xffffffffffffffff), UINT64_C(0xfff8000000000000), UINT64_C(0xfff0000000000001),
    UINT64_C(0xfff0000000000000), UINT64_C(0xffefffffffffffff), UINT64_C(0xbff0000000000000),
    UINT64_C(0x8000000000000001), UINT64_C(0x8000000000000000), UINT64_C(0x0000000000000000),
    UINT64_C(0x0000000000000001), UINT64_C(0x3ff0000000000000), UINT64_C(0x7fefffffffffffff),
    UINT64_C(0x7ff0000000000000), UINT64_C(0x7ff0000000000001), UINT64_C(0x7ff8000000000000),
    UINT64_C(0x7fffffffffffffff)
};

static int64_t rand_int(void)
{
    unsigned n;
    uint64_t m;
    switch (rndn(5)) {
    case 0: return (int64_t)rndn(601) - 300;
    case 1: /* near a byte-length boundary */
        n = 1 + rndn(7);
        m = (UINT64_C(1) << (8 * n)) + rndn(5) - 2;
        return rndn(2) ? (int64_t)m : -(int64_t)m;
    case 2:
        n = 1 + rndn(8);
        m = rnd() & (n == 8 ? ~UINT64_C(0) >> 1 : (UINT64_C(1) << (8 * n)) - 1);
        return rndn(2) ? (int64_t)m : -(int64_t)m;
    default: return (int64_t)rnd();
    }
}

static void gen_item(gen *g, digby_tuple_item *it, int depth);

/* A block of up to max items (its own, contiguous), filled. */
static digby_tuple_item *gen_items(gen *g, int depth, unsigned max, size_t *n)
{
    digby_tuple_item *block;
    size_t i;
    *n = rndn(max + 1);
    assert_true(g->nitems + *n <= MAXI);
    block = g->items + g->nitems;
    g->nitems += *n;
    for (i = 0; i < *n; i++) gen_item(g, &block[i], depth);
    return block;
}

static void gen_item(gen *g, digby_tuple_item *it, int depth)
{
    unsigned r = rndn(depth < 3 ? 17 : 16), i, n;
    uint8_t *p;
    size_t len;
    *it = it_null();
    if (g->narrow) {
        static const char *const strs[] = { "", "\0", "a", "a\0", "\0\xff", "ab", "b" };
        static const size_t lens[] = { 0, 1, 1, 2, 2, 2, 1 };
        static const int64_t ints[] = { INT64_MIN, -256, -255, -1, 0, 1, 255, 256, INT64_MAX };
        if (r < 2) return;
        if (r < 5) { *it = it_int(ints[rndn(9)]); return; }
        if (r < 6) { *it = it_uint(rndn(2) ? UINT64_MAX : (uint64_t)INT64_MAX + 1); return; }
        if (r < 8) { *it = it_dbits(special_doubles[rndn(16)]); return; }
        if (r < 11) {
            i = rndn(7);
            /* "\0\xff" is no UTF-8: bytes only */
            *it = it_str(rndn(2) || i == 4 ? DIGBY_TUPLE_BYTES : DIGBY_TUPLE_STRING, strs[i], lens[i]);
            return;
        }
        if (r < 13) { *it = it_bool((int)rndn(2)); return; }
        if (r < 14) {
            it->type = DIGBY_TUPLE_UUID;
            memset(it->v.uuid, rndn(2) ? 0x00 : 0xff, 16);
            it->v.uuid[15] = (uint8_t)rndn(2);
            return;
        }
    } else {
        if (r < 2) return;
        if (r < 5) {
            *it = it_int(rand_int());
            if (rndn(8) == 0) *it = it_uint(rnd()); /* any uint64, often > INT64_MAX */
            return;
        }
        if (r < 7) {
            uint64_t b = rndn(3) ? rnd() : special_doubles[rndn(16)];
            *it = it_dbits(b);
            return;
        }
        if (r < 9) {
            len = rndn(10);
            p = gen_space(g, len);
            for (i = 0; i < len; i++) {
                unsigned k = rndn(4);
                p[i] = (uint8_t)(k == 0 ? 0x00 : k == 1 ? 0xff : rndn(256));
            }
            *it = it_str(DIGBY_TUPLE_BYTES, p, len);
            return;
        }
        if (r < 11) {
            n = rndn(6);
            p = gen_space(g, 4 * n);
            len = 0;
            for (i = 0; i < n; i++) {
                uint32_t cp;
                switch (rndn(4)) {
                case 0: cp = rndn(0x80); break;
                case 1: cp = 0x80 + rndn(0x780); break;
                case 2: cp = 0x800 + rndn(0xf800 - 0x800); if (cp >= 0xd800) cp += 0x800; break;
                default: cp = 0x10000 + rndn(0x100000); break;
                }
                len += put_utf8(p + len, cp);
            }
            *it = it_str(DIGBY_TUPLE_STRING, p, len);
            return;
        }
        if (r < 13) { *it = it_bool((int)rndn(2)); return; }
        if (r < 14) {
            it->type = DIGBY_TUPLE_UUID;
            for (i = 0; i < 16; i++) it->v.uuid[i] = (uint8_t)rnd();
            return;
        }
    }
    if (r < 16) { *it = it_null(); return; }
    {
        size_t cnt;
        const digby_tuple_item *kids = gen_items(g, depth + 1, 4, &cnt);
        *it = it_nested(cnt ? kids : NULL, cnt);
    }
}

static digby_tuple_item *gen_tuple(gen *g, int narrow, size_t *n)
{
    g->nitems = 0;
    g->nbytes = 0;
    g->narrow = narrow;
    return gen_items(g, 0, narrow ? 4 : 6, n);
}

/* ---- the spec's examples ------------------------------------------------------ */

static void test_spec_examples(void **state)
{
    digby_tuple_item inner[3], one[2];
    (void)state;
    /* pack("foo\x00bar") == b'\x01foo\x00\xffbar\x00' */
    one[0] = it_str(DIGBY_TUPLE_BYTES, "foo\0bar", 7);
    expect_pack(one, 1, "01 666f6f 00ff 626172 00");
    /* pack(u"F\u00d4O\u0000bar") == b'\x02F\xc3\x94O\x00\xffbar\x00' */
    one[0] = it_str(DIGBY_TUPLE_STRING, "F\xc3\x94O\0bar", 8);
    expect_pack(one, 1, "02 46 c394 4f 00ff 626172 00");
    /* pack(((b"foo\x00bar", None, ()),)) ==
       b'\x05\x01foo\x00\xffbar\x00\x00\xff\x05\x00\x00' */
    inner[0] = it_str(DIGBY_TUPLE_BYTES, "foo\0bar", 7);
    inner[1] = it_null();
    inner[2] = it_nested(NULL, 0);
    one[0] = it_nested(inner, 3);
    expect_pack(one, 1, "05 01 666f6f 00ff 626172 00 00ff 05 00 00");
    /* pack(-5551212) == b'\x11\xabK\x93' */
    one[0] = it_int(-5551212);
    expect_pack(one, 1, "11 ab 4b 93");
    /* "-1 is 0x13 0xfe" */
    one[0] = it_int(-1);
    expect_pack(one, 1, "13 fe");
    /* the empty nested tuple is \x05\x00, the one holding null \x05\x00\xff\x00,
       and the first sorts first */
    one[0] = it_nested(NULL, 0);
    expect_pack(one, 1, "05 00");
    inner[0] = it_null();
    one[1] = it_nested(inner, 1);
    expect_pack(one + 1, 1, "05 00ff 00");
    assert_true(digby_tuple_compare(one, 1, one + 1, 1) < 0);
    /* null 0x00; false 0x26, true 0x27, false first */
    one[0] = it_null();
    expect_pack(one, 1, "00");
    one[0] = it_bool(0);
    one[1] = it_bool(1);
    expect_pack(one, 2, "26 27");
    assert_true(digby_tuple_compare(one, 1, one + 1, 1) < 0);
    /* UUID 0x30, 16 bytes in network order */
    one[0].type = DIGBY_TUPLE_UUID;
    memcpy(one[0].v.uuid, "\x12\x34\x56\x78\x9a\xbc\xde\xf0\x01\x23\x45\x67\x89\xab\xcd\xef", 16);
    expect_pack(one, 1, "30 123456789abcdef0 0123456789abcdef");
    /* pack(-42f) == b'\x20\x3d\xd7\xff\xff' is the float (0x20), which
       digby does not read; the double -42.0 (0xc045000000000000) follows the
       same rule: all bits inverted */
    one[0] = it_dbits(UINT64_C(0xc045000000000000));
    expect_pack(one, 1, "21 3fbaffffffffffff");
    one[0] = it_dbits(UINT64_C(0x4045000000000000)); /* +42.0: sign bit flipped only */
    expect_pack(one, 1, "21 c045000000000000");
    {
        uint8_t f[] = { 0x20, 0x3d, 0xd7, 0xff, 0xff };
        size_t c;
        ASSERT_RC(digby_tuple_unpack(f, sizeof f, g_out, MAXI, &c, NULL, 0, NULL, NULL),
                  DIGBY_INVALID);
    }
    /* the empty tuple: no bytes */
    expect_pack(NULL, 0, "");
}

/* The spec's order of doubles: negative NaNs, -inf, negatives, -0.0, 0.0,
   positives, +inf, positive NaNs.  special_doubles[] is in that order. */
static void test_double_order(void **state)
{
    size_t i, j, n = sizeof special_doubles / sizeof special_doubles[0];
    (void)state;
    for (i = 0; i < n; i++) {
        for (j = 0; j < n; j++) {
            digby_tuple_item a = it_dbits(special_doubles[i]), b = it_dbits(special_doubles[j]);
            uint8_t pa[16], pb[16];
            size_t la, lb;
            int want = i < j ? -1 : i > j;
            ASSERT_OK(digby_tuple_pack(&a, 1, pa, sizeof pa, &la));
            ASSERT_OK(digby_tuple_pack(&b, 1, pb, sizeof pb, &lb));
            assert_int_equal(la, 9);
            assert_int_equal(sign(keycmp(pa, la, pb, lb)), want);
            assert_int_equal(sign(digby_tuple_compare(&a, 1, &b, 1)), want);
            expect_round_trip(pa, la, &a, 1); /* NaN payloads and -0.0 kept */
        }
    }
    /* -0.0 and 0.0 are different values */
    {
        digby_tuple_item z = it_dbits(0), nz = it_dbits(UINT64_C(0x8000000000000000));
        expect_pack(&nz, 1, "21 7fffffffffffffff");
        expect_pack(&z, 1, "21 8000000000000000");
        assert_true(digby_tuple_compare(&nz, 1, &z, 1) < 0);
    }
}

/* Integers: the spec's table, at every boundary. */
static void test_int_boundaries(void **state)
{
    digby_tuple_item a[1];
    char hex[64];
    unsigned n, k;
    (void)state;
    a[0] = it_int(0); expect_pack(a, 1, "14");
    a[0] = it_int(1); expect_pack(a, 1, "15 01");
    a[0] = it_int(-1); expect_pack(a, 1, "13 fe");
    a[0] = it_int(255); expect_pack(a, 1, "15 ff");
    a[0] = it_int(-255); expect_pack(a, 1, "13 00");
    a[0] = it_int(256); expect_pack(a, 1, "16 0100");
    a[0] = it_int(-256); expect_pack(a, 1, "12 feff");
    a[0] = it_int(INT64_MAX); expect_pack(a, 1, "1c 7fffffffffffffff");
    a[0] = it_int(INT64_MIN); expect_pack(a, 1, "0c 7fffffffffffffff");
    a[0] = it_int(INT64_MIN + 1); expect_pack(a, 1, "0c 8000000000000000");
    a[0] = it_uint(UINT64_MAX); expect_pack(a, 1, "1c ffffffffffffffff");
    a[0] = it_uint((uint64_t)INT64_MAX + 1); expect_pack(a, 1, "1c 8000000000000000");
    a[0] = it_uint(5); expect_pack(a, 1, "15 05"); /* a small UINT is the same integer */
    /* every byte-length boundary: 2^(8n) - 1 is n bytes of 0xff (code
       0x14 + n), 2^(8n) is 0x01 then n zeros (code 0x14 + n + 1); the
       negatives are their one's complements under codes 0x14 - n */
    for (n = 1; n <= 7; n++) {
        uint64_t m = (UINT64_C(1) << (8 * n)) - 1;
        char *h = hex;
        h += sprintf(h, "%02x", 0x14 + n);
        for (k = 0; k < n; k++) h += sprintf(h, "ff");
        a[0] = it_int((int64_t)m); expect_pack(a, 1, hex);
        h = hex;
        h += sprintf(h, "%02x01", 0x14 + n + 1);
        for (k = 0; k < n; k++) h += sprintf(h, "00");
        a[0] = it_int((int64_t)m + 1); expect_pack(a, 1, hex);
        h = hex;
        h += sprintf(h, "%02x", 0x14 - n);
        for (k = 0; k < n; k++) h += sprintf(h, "00");
        a[0] = it_int(-(int64_t)m); expect_pack(a, 1, hex);
        h = hex;
        h += sprintf(h, "%02xfe", 0x14 - n - 1);
        for (k = 0; k < n; k++) h += sprintf(h, "ff");
        a[0] = it_int(-(int64_t)m - 1); expect_pack(a, 1, hex);
    }
    /* each of these round-trips, and they sort in value order */
    {
        static const int64_t vals[] = { INT64_MIN, INT64_MIN + 1, -(INT64_C(1) << 56),
                                        -(INT64_C(1) << 56) + 1, -65536, -65535, -256, -255,
                                        -2, -1, 0, 1, 2, 255, 256, 65535, 65536,
                                        (INT64_C(1) << 56) - 1, INT64_C(1) << 56, INT64_MAX };
        size_t i, nv = sizeof vals / sizeof vals[0];
        uint8_t prev[16], cur[16];
        size_t lp = 0, lc;
        for (i = 0; i < nv + 2; i++) {
            a[0] = i < nv ? it_int(vals[i]) : it_uint(i == nv ? (uint64_t)INT64_MAX + 1 : UINT64_MAX);
            ASSERT_OK(digby_tuple_pack(a, 1, cur, sizeof cur, &lc));
            expect_round_trip(cur, lc, a, 1);
            if (i) assert_true(keycmp(prev, lp, cur, lc) < 0);
            memcpy(prev, cur, lc);
            lp = lc;
        }
    }
    /* unpack's types: INT up to INT64_MAX, UINT above */
    {
        uint8_t b[9] = { 0x1c, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
        size_t c;
        ASSERT_OK(digby_tuple_unpack(b, 9, g_out, MAXI, &c, NULL, 0, NULL, NULL));
        assert_int_equal(g_out[0].type, DIGBY_TUPLE_INT);
        b[1] = 0x80;
        ASSERT_OK(digby_tuple_unpack(b, 9, g_out, MAXI, &c, NULL, 0, NULL, NULL));
        assert_int_equal(g_out[0].type, DIGBY_TUPLE_UINT);
        assert_true(g_out[0].v.u == (UINT64_C(1) << 63) + UINT64_C(0xffffffffffffff));
    }
}

/* UTF-8 by RFC 3629's table: its boundaries accepted, everything else not,
   in pack and in unpack alike. */
static void test_utf8(void **state)
{
    static const char *const good[] = {
        "", "00", "7f", "c280", "dfbf", "e0a080", "e0bfbf", "e18080", "ecbfbf", "ed8080",
        "ed9fbf", "ee8080", "efbfbf", "f0908080", "f0bfbfbf", "f1808080", "f3bfbfbf",
        "f4808080", "f48fbfbf", "41c3a9e282acf09f9883", "0000"
    };
    static const char *const bad[] = {
        "80", "bf", "c0", "c080", "c1bf", "c2", "c27f", "c2c0", "e0", "e080", "e08080",
        "e09fbf", "e0a0", "e0a07f", "ed", "eda080", "edbfbf", "f0", "f08080", "f08fbfbf",
        "f090808080" /* U+10000, then a stray continuation byte */, "f4908080", "f4bfbfbf", "f5808080", "f8", "fe", "ff", "e200", "c200",
        "e2820082ac"
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint8_t raw[32], enc[64];
        size_t n = unhex(good[i], raw, sizeof raw), len;
        digby_tuple_item s = it_str(DIGBY_TUPLE_STRING, raw, n);
        ASSERT_OK(digby_tuple_pack(&s, 1, enc, sizeof enc, &len));
        expect_round_trip(enc, len, &s, 1);
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t raw[32], enc[64];
        size_t n = unhex(bad[i], raw, sizeof raw), len = 77, k, e = 0, c = 5;
        digby_tuple_item s = it_str(DIGBY_TUPLE_STRING, raw, n);
        ASSERT_RC(digby_tuple_pack(&s, 1, enc, sizeof enc, &len), DIGBY_INVALID);
        assert_int_equal(len, 0);
        /* the same bytes as a byte string pack; relabelled as a string
           (code 0x02) they must not unpack */
        s.type = DIGBY_TUPLE_BYTES;
        ASSERT_OK(digby_tuple_pack(&s, 1, enc, sizeof enc, &len));
        enc[0] = 0x02;
        ASSERT_RC(digby_tuple_unpack(enc, len, g_out, MAXI, &c, g_arena, sizeof g_arena,
                                     NULL, NULL), DIGBY_INVALID);
        assert_int_equal(c, 0);
        /* and inside a nested tuple */
        enc[e++] = 0x05;
        enc[e++] = 0x02;
        for (k = 0; k < n; k++) {
            enc[e++] = raw[k];
            if (!raw[k]) enc[e++] = 0xff;
        }
        enc[e++] = 0x00;
        enc[e++] = 0x00;
        ASSERT_RC(digby_tuple_unpack(enc, e, g_out, MAXI, &c, g_arena, sizeof g_arena,
                                     NULL, NULL), DIGBY_INVALID);
    }
}

/* ---- random: round trips and order ---------------------------------------------- */

static gen g_a, g_b;

static void test_round_trips(void **state)
{
    long i, n = scaled(3000);
    size_t nested = 0;
    (void)state;
    for (i = 0; i < n; i++) {
        size_t cnt, len = 0;
        uint8_t buf[MAXB];
        digby_tuple_item *t = gen_tuple(&g_a, 0, &cnt);
        ASSERT_RC2(digby_tuple_pack(t, cnt, NULL, 0, &len), DIGBY_TOOBIG, DIGBY_OK); /* measure */
        if (len) ASSERT_RC(digby_tuple_pack(t, cnt, buf, len - 1, &len), DIGBY_TOOBIG);
        ASSERT_OK(digby_tuple_pack(t, cnt, buf, len, &len)); /* exactly enough */
        expect_round_trip(buf, len, t, cnt);
        if (g_a.nitems > cnt) nested++;
    }
    assert_true(nested > (size_t)n / 10); /* nesting was exercised */
}

/* pack(a) vs pack(b) in byte order has the sign of compare(a, b); mixed
   types, narrow alphabets (ties, shared prefixes) and wide ones. */
static void test_order(void **state)
{
    long i, n = scaled(20000);
    long lt = 0, eq = 0, gt = 0;
    (void)state;
    for (i = 0; i < n; i++) {
        size_t na, nb, la, lb;
        uint8_t pa[MAXB], pb[MAXB];
        int narrow = (int)(i % 4 != 0), c, k;
        digby_tuple_item *a = gen_tuple(&g_a, narrow, &na);
        digby_tuple_item *b = gen_tuple(&g_b, narrow, &nb);
        ASSERT_OK(digby_tuple_pack(a, na, pa, sizeof pa, &la));
        ASSERT_OK(digby_tuple_pack(b, nb, pb, sizeof pb, &lb));
        c = sign(digby_tuple_compare(a, na, b, nb));
        k = keycmp(pa, la, pb, lb);
        if (c != k) {
            print_hex("a", pa, la);
            print_hex("b", pb, lb);
            print_error("compare %d, bytes %d\n", c, k);
            fail();
        }
        assert_int_equal(sign(digby_tuple_compare(b, nb, a, na)), -c);
        assert_int_equal(digby_tuple_compare(a, na, a, na), 0);
        if (c < 0) lt++; else if (c > 0) gt++; else eq++;
    }
    /* the narrow alphabets make equal pairs and both orders common */
    assert_true(lt > n / 10 && gt > n / 10 && eq > 0);
}

/* ---- malformed input ------------------------------------------------------------- */

static void test_malformed(void **state)
{
    static const char *const cases[] = {
        /* no end */
        "01", "0161", "016100ff", "02", "0261", "05", "0501", "050100", "0500ff", "050500",
        "0505000500", "0501610000ff",
        /* truncated fixed-size items */
        "15", "1601", "1c01020304050607", "13", "12fe", "0c7f", "21", "21bfbaffffffffff",
        "30", "30000102030405060708090a0b0c0d0e", "0515", "0521", "0530",
        /* integers not in the fewest bytes, and below INT64_MIN */
        "1500", "160005", "1c00ffffffffffffff", "13ff", "12ff01", "0cff00000000000000",
        "0c7ffffffffffffffe", "0c0000000000000000", "05160005 00",
        /* codes digby does not read */
        "03", "04", "06", "07", "08", "09", "0a", "0b", "0bf6feffffffffffffffff",
        "1d09010000000000000000", "1d", "1e", "1f", "203dd7ffff", "22", "23", "24", "25",
        "28", "2f", "31", "32", "33000102030405060708090a0b", "34", "35", "40", "4f", "f0",
        "fe", "ff", "00ff", "1400ff", "050003",
        /* bad UTF-8 */
        "02c08000", "02eda08000", "02f490808000", "02ff00", "02e200ff82ac00",
        /* depth 33 */
        ("050505050505050505050505050505050505050505050505050505050505050505"
         "000000000000000000000000000000000000000000000000000000000000000000"),
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[256];
        size_t n = unhex(cases[i], buf, sizeof buf), c = 7, in = 7, an = 7;
        int rc = digby_tuple_unpack(buf, n, g_out, MAXI, &c, g_arena, sizeof g_arena, &in, &an);
        if (rc != DIGBY_INVALID) print_error("case %s: %s\n", cases[i], rc_name(rc));
        ASSERT_RC(rc, DIGBY_INVALID);
        assert_int_equal(c, 0);
        assert_int_equal(in, 0);
        assert_int_equal(an, 0);
        /* the measuring call (no room) says the same: errors before sizes */
        ASSERT_RC(digby_tuple_unpack(buf, n, NULL, 0, &c, NULL, 0, NULL, NULL), DIGBY_INVALID);
    }
}

/* Nesting: 32 levels are accepted, 33 are not, in pack and unpack; compare
   never recurses without bound, even on a tuple that contains itself. */
static void test_depth(void **state)
{
    digby_tuple_item chain[DIGBY_TUPLE_MAX_DEPTH + 2], self[2];
    uint8_t buf[256];
    size_t len, i, c;
    (void)state;
    chain[DIGBY_TUPLE_MAX_DEPTH + 1] = it_int(7);
    for (i = DIGBY_TUPLE_MAX_DEPTH + 1; i-- > 0;) chain[i] = it_nested(&chain[i + 1], 1);
    /* chain[1]: 32 nested tuples around the 7 */
    ASSERT_OK(digby_tuple_pack(&chain[1], 1, buf, sizeof buf, &len));
    assert_int_equal(len, 32 + 2 + 32);
    expect_round_trip(buf, len, &chain[1], 1);
    /* chain[0]: 33 */
    len = 5;
    ASSERT_RC(digby_tuple_pack(&chain[0], 1, buf, sizeof buf, &len), DIGBY_INVALID);
    assert_int_equal(len, 0);
    memmove(buf + 1, buf, 66);
    buf[0] = 0x05;
    buf[67] = 0x00;
    ASSERT_RC(digby_tuple_unpack(buf, 68, g_out, MAXI, &c, NULL, 0, NULL, NULL), DIGBY_INVALID);
    /* a tuple that holds itself twice (a cycle, so infinitely deep) */
    self[0] = it_nested(self, 2);
    self[1] = it_nested(self, 2);
    ASSERT_RC(digby_tuple_pack(self, 2, buf, sizeof buf, &len), DIGBY_INVALID);
    assert_int_equal(digby_tuple_compare(self, 2, self, 2), 0);
    assert_int_equal(digby_tuple_compare(&chain[0], 1, &chain[0], 1), 0);
    /* within the limit compare still sees the difference at the bottom */
    {
        digby_tuple_item other[DIGBY_TUPLE_MAX_DEPTH + 2];
        memcpy(other, chain, sizeof other);
        other[DIGBY_TUPLE_MAX_DEPTH + 1] = it_int(8);
        for (i = DIGBY_TUPLE_MAX_DEPTH + 1; i-- > 0;) other[i] = it_nested(&other[i + 1], 1);
        assert_true(digby_tuple_compare(&chain[1], 1, &other[1], 1) < 0);
    }
}

/* Invalid items in pack; the fixed answers of compare for them. */
static void test_invalid_items(void **state)
{
    digby_tuple_item a[2], b[2];
    uint8_t buf[64];
    size_t len = 3;
    (void)state;
    a[0] = it_bool(2);
    ASSERT_RC(digby_tuple_pack(a, 1, buf, sizeof buf, &len), DIGBY_INVALID);
    assert_int_equal(len, 0);
    a[0] = it_null();
    a[0].type = (digby_tuple_type)9;
    ASSERT_RC(digby_tuple_pack(a, 1, buf, sizeof buf, &len), DIGBY_INVALID);
    a[0].type = (digby_tuple_type)-1;
    ASSERT_RC(digby_tuple_pack(a, 1, buf, sizeof buf, &len), DIGBY_INVALID);
    a[0] = it_str(DIGBY_TUPLE_BYTES, NULL, 1);
    ASSERT_RC(digby_tuple_pack(a, 1, buf, sizeof buf, &len), DIGBY_INVALID);
    a[0] = it_str(DIGBY_TUPLE_STRING, NULL, 0); /* NULL with length 0 is fine */
    expect_pack(a, 1, "02 00");
    a[0] = it_nested(NULL, 1);
    ASSERT_RC(digby_tuple_pack(a, 1, buf, sizeof buf, &len), DIGBY_INVALID);
    ASSERT_RC(digby_tuple_pack(NULL, 1, buf, sizeof buf, &len), DIGBY_INVALID);
    ASSERT_RC(digby_tuple_pack(a, 0, NULL, 5, &len), DIGBY_INVALID);
    ASSERT_RC(digby_tuple_pack(a, 0, buf, sizeof buf, NULL), DIGBY_INVALID);
    ASSERT_OK(digby_tuple_pack(NULL, 0, NULL, 0, &len)); /* empty: fits in 0 */
    assert_int_equal(len, 0);
    /* an invalid item anywhere, even after valid ones, is the answer */
    a[0] = it_int(1);
    a[1] = it_bool(-1);
    ASSERT_RC(digby_tuple_pack(a, 2, NULL, 0, &len), DIGBY_INVALID);

    /* compare: unknown types after every known one, by number */
    a[0] = it_null();
    a[0].type = (digby_tuple_type)9;
    b[0].type = DIGBY_TUPLE_UUID;
    memset(b[0].v.uuid, 0xff, 16);
    assert_true(digby_tuple_compare(a, 1, b, 1) > 0);
    b[0] = it_null();
    b[0].type = (digby_tuple_type)10;
    assert_true(digby_tuple_compare(a, 1, b, 1) < 0);
    /* bools as 0 / nonzero; NULL arrays as empty; NULL contents as empty */
    a[0] = it_bool(5);
    b[0] = it_bool(1);
    assert_int_equal(digby_tuple_compare(a, 1, b, 1), 0);
    assert_int_equal(digby_tuple_compare(NULL, 3, NULL, 0), 0);
    assert_true(digby_tuple_compare(NULL, 3, b, 1) < 0);
    a[0] = it_str(DIGBY_TUPLE_BYTES, NULL, 4);
    b[0] = it_str(DIGBY_TUPLE_BYTES, "", 0);
    assert_int_equal(digby_tuple_compare(a, 1, b, 1), 0);
    a[0] = it_nested(NULL, 4);
    b[0] = it_nested(NULL, 0);
    assert_int_equal(digby_tuple_compare(a, 1, b, 1), 0);
    /* INT and UINT compare by value */
    a[0] = it_int(5);
    b[0] = it_uint(5);
    assert_int_equal(digby_tuple_compare(a, 1, b, 1), 0);
    a[0] = it_int(-1);
    b[0] = it_uint(UINT64_MAX);
    assert_true(digby_tuple_compare(a, 1, b, 1) < 0);
    a[0] = it_int(INT64_MAX);
    b[0] = it_uint((uint64_t)INT64_MAX + 1);
    assert_true(digby_tuple_compare(a, 1, b, 1) < 0);
}

/* Every prefix of a valid encoding is accepted exactly when it is a whole
   encoding itself, which happens in two ways only:
   (a) the cut lies between two top-level items: the first k items;
   (b) the cut lies just after a 0x00 that the whole encoding follows with
       0xFF, where that 0x00 is part of a top-level item: an escaped 0x00
       of a top-level byte string or string (the prefix reads it as the
       string's end: the string cut short), or the first byte of a null
       directly inside a top-level nested tuple (read as the nested
       tuple's end: the tuple cut short).  Escapes and nulls deeper down
       leave an outer nested tuple without its end: rejected.
   Every other prefix is DIGBY_INVALID.  The expected cut points are worked
   out here from the items, independently of the decoder. */
static size_t packed_len(const digby_tuple_item *it, size_t n)
{
    size_t len;
    int rc = digby_tuple_pack(it, n, NULL, 0, &len);
    assert_true(rc == (len ? DIGBY_TOOBIG : DIGBY_OK));
    return len;
}

static void test_truncation(void **state)
{
    long i, n = scaled(400), kind_a = 0, kind_b = 0;
    static uint8_t ok_at[MAXB];
    (void)state;
    for (i = 0; i < n; i++) {
        size_t cnt, len, k, pos, c;
        uint8_t buf[MAXB];
        digby_tuple_item *t = gen_tuple(&g_a, (int)(i % 2), &cnt);
        ASSERT_OK(digby_tuple_pack(t, cnt, buf, sizeof buf, &len));
        memset(ok_at, 0, len + 1);
        pos = 0;
        for (k = 0; k < cnt; k++) {
            const digby_tuple_item *x = &t[k];
            ok_at[pos] = 1; /* (a) */
            if (x->type == DIGBY_TUPLE_BYTES || x->type == DIGBY_TUPLE_STRING) {
                size_t j, q = pos + 1;
                for (j = 0; j < x->v.s.len; j++) {
                    if (((const uint8_t *)x->v.s.ptr)[j] == 0) {
                        ok_at[q + 1] = 2; /* (b): after the 0x00 of 0x00 0xFF */
                        q += 2;
                    } else {
                        q++;
                    }
                }
            } else if (x->type == DIGBY_TUPLE_NESTED) {
                size_t j, q = pos + 1;
                for (j = 0; j < x->v.nested.count; j++) {
                    const digby_tuple_item *y = &x->v.nested.items[j];
                    if (y->type == DIGBY_TUPLE_NULL) {
                        ok_at[q + 1] = 2;
                        q += 2;
                    } else {
                        q += packed_len(y, 1);
                    }
                }
            }
            pos += packed_len(x, 1);
        }
        assert_int_equal(pos, len);
        for (c = 0; c < len; c++) {
            size_t got = 99;
            int rc = digby_tuple_unpack(buf, c, g_out, MAXI, &got, g_arena, sizeof g_arena,
                                        NULL, NULL);
            if ((rc == DIGBY_OK) != (ok_at[c] != 0)) {
                print_hex("whole", buf, len);
                print_error("cut at %lu: %s, expected %s\n", (unsigned long)c, rc_name(rc),
                            ok_at[c] ? "DIGBY_OK" : "DIGBY_INVALID");
                fail();
            }
            if (rc != DIGBY_OK) {
                ASSERT_RC(rc, DIGBY_INVALID);
                continue;
            }
            if (ok_at[c] == 1) {
                /* the first items, exactly */
                for (k = 0; k <= cnt && packed_len(t, k) != c; k++) {}
                assert_true(k <= cnt);
                assert_int_equal(got, k);
                assert_true(same_items(g_out, got, t, k));
                kind_a++;
            } else {
                /* the same items before it; the last one of the same kind,
                   and it re-packs to the prefix (a whole encoding) */
                uint8_t again[MAXB];
                size_t l2;
                assert_true(got >= 1);
                assert_true(same_items(g_out, got - 1, t, got - 1));
                assert_int_equal(g_out[got - 1].type, t[got - 1].type);
                assert_int_equal(buf[c - 1], 0x00);
                assert_int_equal(buf[c], 0xff);
                ASSERT_OK(digby_tuple_pack(g_out, got, again, sizeof again, &l2));
                assert_int_equal(l2, c);
                assert_memory_equal(again, buf, c);
                kind_b++;
            }
        }
    }
    assert_true(kind_a > 0 && kind_b > 0);
}

/* ---- sizes ------------------------------------------------------------------------- */

static void test_sizes(void **state)
{
    digby_tuple_item t[4], inner[2], out[8];
    uint8_t buf[64], arena[16];
    size_t len = 0, c, in, an, i;
    (void)state;
    inner[0] = it_str(DIGBY_TUPLE_BYTES, "a\0b", 3); /* 3 arena bytes */
    inner[1] = it_null();
    t[0] = it_nested(inner, 2);
    t[1] = it_str(DIGBY_TUPLE_STRING, "xyz", 3); /* in buf: no 0x00 */
    t[2] = it_str(DIGBY_TUPLE_STRING, "\0", 1);  /* 1 arena byte */
    t[3] = it_int(-70000);
    /* pack: measure, too small (buf untouched, *len still set), exact */
    ASSERT_RC(digby_tuple_pack(t, 4, NULL, 0, &len), DIGBY_TOOBIG);
    assert_int_equal(len, (1 + 6 + 2 + 1) + 5 + 4 + 4);
    memset(buf, 0xee, sizeof buf);
    c = 0;
    ASSERT_RC(digby_tuple_pack(t, 4, buf, len - 1, &c), DIGBY_TOOBIG);
    assert_int_equal(c, len);
    for (i = 0; i < sizeof buf; i++) assert_int_equal(buf[i], 0xee);
    ASSERT_OK(digby_tuple_pack(t, 4, buf, len, &c));
    assert_int_equal(c, len);
    assert_int_equal(buf[len], 0xee);
    /* unpack: measure with nothing */
    ASSERT_RC(digby_tuple_unpack(buf, len, NULL, 0, &c, NULL, 0, &in, &an), DIGBY_TOOBIG);
    assert_int_equal(c, 4);
    assert_int_equal(in, 6);
    assert_int_equal(an, 4);
    /* one item short, one arena byte short: TOOBIG, nothing written */
    memset(out, 0xdd, sizeof out);
    memset(arena, 0xcc, sizeof arena);
    ASSERT_RC(digby_tuple_unpack(buf, len, out, 5, &c, arena, 4, &in, &an), DIGBY_TOOBIG);
    ASSERT_RC(digby_tuple_unpack(buf, len, out, 6, &c, arena, 3, &in, &an), DIGBY_TOOBIG);
    ASSERT_RC(digby_tuple_unpack(buf, len, out, 6, &c, arena, 3, NULL, NULL), DIGBY_TOOBIG);
    for (i = 0; i < sizeof out; i++) assert_int_equal(((uint8_t *)out)[i], 0xdd);
    for (i = 0; i < sizeof arena; i++) assert_int_equal(arena[i], 0xcc);
    /* exactly enough */
    ASSERT_OK(digby_tuple_unpack(buf, len, out, 6, &c, arena, 4, &in, &an));
    assert_int_equal(c, 4);
    assert_true(same_items(out, 4, t, 4));
    assert_ptr_equal(out[0].v.nested.items, &out[4]);
    assert_true((const uint8_t *)out[1].v.s.ptr > buf && (const uint8_t *)out[1].v.s.ptr < buf + len);
    assert_true((const uint8_t *)out[2].v.s.ptr >= arena && (const uint8_t *)out[2].v.s.ptr < arena + 4);
    assert_int_equal(((uint8_t *)&out[6])[0], 0xdd); /* nothing past what it needs */
    assert_int_equal(arena[4], 0xcc);
    /* NULL arguments */
    ASSERT_RC(digby_tuple_unpack(buf, len, out, 6, NULL, arena, 4, &in, &an), DIGBY_INVALID);
    ASSERT_RC(digby_tuple_unpack(NULL, 1, out, 6, &c, arena, 4, &in, &an), DIGBY_INVALID);
    ASSERT_RC(digby_tuple_unpack(buf, len, NULL, 6, &c, arena, 4, &in, &an), DIGBY_INVALID);
    ASSERT_RC(digby_tuple_unpack(buf, len, out, 6, &c, NULL, 4, &in, &an), DIGBY_INVALID);
    /* the empty tuple */
    ASSERT_OK(digby_tuple_unpack(NULL, 0, NULL, 0, &c, NULL, 0, &in, &an));
    assert_int_equal(c, 0);
    assert_int_equal(in, 0);
    assert_int_equal(an, 0);
}

static void test_range(void **state)
{
    digby_tuple_item t[2], longer[3];
    uint8_t p[64], lo[65], hi[65];
    static uint8_t e[MAXB];
    size_t len, le;
    long i;
    (void)state;
    t[0] = it_str(DIGBY_TUPLE_STRING, "users", 5);
    t[1] = it_int(42);
    ASSERT_OK(digby_tuple_pack(t, 2, p, sizeof p, &len));
    ASSERT_OK(digby_tuple_range(p, len, lo, hi));
    assert_memory_equal(lo, p, len);
    assert_memory_equal(hi, p, len);
    assert_int_equal(lo[len], 0x00);
    assert_int_equal(hi[len], 0xff);
    /* every tuple extending t lies inside [lo, hi); t itself does not, nor
       do the tuples beside it */
    memcpy(longer, t, sizeof t);
    for (i = 0; i < scaled(2000); i++) {
        size_t n;
        digby_tuple_item *x = gen_tuple(&g_a, (int)(i % 2), &n);
        if (!n) continue;
        longer[2] = x[0];
        ASSERT_OK(digby_tuple_pack(longer, 3, e, sizeof e, &le));
        assert_true(keycmp(lo, len + 1, e, le) <= 0);
        assert_true(keycmp(e, le, hi, len + 1) < 0);
    }
    assert_true(keycmp(p, len, lo, len + 1) < 0);
    t[1] = it_int(43);
    ASSERT_OK(digby_tuple_pack(t, 2, e, sizeof e, &le));
    assert_true(keycmp(e, le, hi, len + 1) >= 0);
    t[1] = it_int(41);
    ASSERT_OK(digby_tuple_pack(t, 2, e, sizeof e, &le));
    assert_true(keycmp(e, le, lo, len + 1) < 0);
    /* the empty prefix: every non-empty tuple */
    ASSERT_OK(digby_tuple_range(NULL, 0, lo, hi));
    assert_int_equal(lo[0], 0x00);
    assert_int_equal(hi[0], 0xff);
    ASSERT_RC(digby_tuple_range(NULL, 1, lo, hi), DIGBY_INVALID);
    ASSERT_RC(digby_tuple_range(p, len, NULL, hi), DIGBY_INVALID);
    ASSERT_RC(digby_tuple_range(p, len, lo, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_tuple_range(p, SIZE_MAX, lo, hi), DIGBY_INVALID);
}

/* ---- vectors from fdb-tuple -------------------------------------------------------- */

static const char *vectors_path(void)
{
    const char *p = getenv("DIGBY_TUPLE_VECTORS");
    return p && *p ? p : "tests/tuple_vectors/vectors.txt";
}

/* Parse ITEMS tokens (see vectors.txt's header) into g->items / g->bytes;
   the items of one tuple, up to ")" or the end.  *s advances. */
static void parse_hexfield(gen *g, const char *h, size_t n, const uint8_t **p, size_t *len)
{
    uint8_t *o = gen_space(g, n / 2);
    size_t i;
    assert_true(n % 2 == 0);
    for (i = 0; i < n / 2; i++) {
        unsigned v;
        assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
        o[i] = (uint8_t)v;
    }
    *p = o;
    *len = n / 2;
}

static size_t parse_items(gen *g, char **s, digby_tuple_item *out, size_t max);

/* One tuple's tokens, counted first so that its block is contiguous. */
static digby_tuple_item *parse_block(gen *g, char **s, size_t *n)
{
    char *q = *s;
    size_t count = 0;
    int depth = 0;
    digby_tuple_item *block;
    /* count the items at this level */
    for (;;) {
        while (*q == ' ') q++;
        if (!*q || *q == '\n' || *q == '#' || (*q == ')' && depth == 0)) break;
        if (*q == '-' && depth == 0) break; /* "-": the empty tuple */
        if (*q == '(') { if (depth == 0) count++; depth++; }
        else if (*q == ')') depth--;
        else if (depth == 0) count++;
        while (*q && *q != ' ' && *q != '\n') q++;
    }
    assert_true(g->nitems + count <= MAXI);
    block = g->items + g->nitems;
    g->nitems += count;
    *n = parse_items(g, s, block, count);
    assert_int_equal(*n, count);
    return block;
}

static size_t parse_items(gen *g, char **s, digby_tuple_item *out, size_t max)
{
    size_t k = 0;
    for (;;) {
        char *t = *s, *end;
        size_t tl;
        while (*t == ' ') t++;
        if (!*t || *t == '\n' || *t == '#') { *s = t; break; }
        if (*t == ')') { *s = t + 1; break; }
        if (t[0] == '-' && (t[1] == ' ' || t[1] == '\n' || !t[1])) { *s = t + 1; break; } /* empty */
        assert_true(k < max);
        end = t;
        while (*end && *end != ' ' && *end != '\n') end++;
        tl = (size_t)(end - t);
        out[k] = it_null();
        if (*t == '(') {
            size_t n;
            const digby_tuple_item *kids;
            *s = t + 1;
            kids = parse_block(g, s, &n);
            out[k++] = it_nested(n ? kids : NULL, n);
            continue;
        }
        if (tl == 1 && *t == 'n') {}
        else if (tl == 1 && *t == 't') out[k] = it_bool(1);
        else if (tl == 1 && *t == 'f') out[k] = it_bool(0);
        else if (t[0] == 'i' && t[1] == ':') {
            if (t[2] == '-') {
                long long v = strtoll(t + 2, NULL, 10);
                out[k] = it_int((int64_t)v);
            } else {
                unsigned long long v = strtoull(t + 2, NULL, 10);
                out[k] = v > (unsigned long long)INT64_MAX ? it_uint((uint64_t)v)
                                                           : it_int((int64_t)v);
            }
        } else if (t[0] == 'd' && t[1] == ':') {
            unsigned long long v = strtoull(t + 2, NULL, 16);
            assert_int_equal(tl, 18);
            out[k] = it_dbits((uint64_t)v);
        } else if ((t[0] == 'b' || t[0] == 's') && t[1] == ':') {
            const uint8_t *p;
            size_t len;
            parse_hexfield(g, t + 2, tl - 2, &p, &len);
            out[k] = it_str(t[0] == 'b' ? DIGBY_TUPLE_BYTES : DIGBY_TUPLE_STRING, p, len);
        } else if (t[0] == 'g' && t[1] == ':') {
            const uint8_t *p;
            size_t len;
            parse_hexfield(g, t + 2, tl - 2, &p, &len);
            assert_int_equal(len, 16);
            out[k].type = DIGBY_TUPLE_UUID;
            memcpy(out[k].v.uuid, p, 16);
        } else {
            print_error("bad token: %.*s\n", (int)tl, t);
            fail();
        }
        k++;
        *s = end;
    }
    return k;
}

static char g_line[1 << 16];

static void test_fdb_tuple_vectors(void **state)
{
    FILE *fp = fopen(vectors_path(), "r");
    long lineno = 0, n_ok = 0, n_reject = 0, n_malformed = 0, n_order = 0;
    static uint8_t prev[MAXB];
    size_t prev_len = 0;
    int have_prev = 0;
    (void)state;
    if (!fp) {
        print_error("cannot open %s (run from the top of the tree, or set "
                    "DIGBY_TUPLE_VECTORS)\n", vectors_path());
        fail();
    }
    while (fgets(g_line, sizeof g_line, fp)) {
        char *s = g_line, *hex, *rest;
        uint8_t want[MAXB];
        size_t wn = 0;
        lineno++;
        assert_non_null(strchr(g_line, '\n')); /* the line fit */
        if (*s == '#' || *s == '\n') continue;
        hex = strchr(s, ' ');
        assert_non_null(hex);
        *hex++ = 0;
        rest = strchr(hex, ' ');
        if (rest) *rest++ = 0;
        else rest = hex + strlen(hex);
        if (strcmp(hex, "-") != 0) {
            size_t hl = strcspn(hex, "\n");
            size_t i;
            assert_true(hl % 2 == 0 && hl / 2 <= sizeof want);
            for (i = 0; i < hl / 2; i++) {
                unsigned v;
                assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
                want[i] = (uint8_t)v;
            }
            wn = hl / 2;
        }
        if (strcmp(s, "ok") == 0) {
            size_t n, len;
            uint8_t got[MAXB];
            digby_tuple_item *t;
            g_a.nitems = 0;
            g_a.nbytes = 0;
            t = parse_block(&g_a, &rest, &n);
            ASSERT_OK(digby_tuple_pack(t, n, got, sizeof got, &len));
            if (len != wn || memcmp(got, want, wn)) {
                print_error("%s:%ld: pack differs from fdb-tuple\n", vectors_path(), lineno);
                print_hex("digby", got, len);
                print_hex("fdb-tuple", want, wn);
                fail();
            }
            expect_round_trip(want, wn, t, n);
            /* consecutive vectors: compare agrees with the byte order */
            if (have_prev) {
                size_t pc;
                static digby_tuple_item prev_items[MAXI];
                static uint8_t prev_arena[MAXB];
                ASSERT_OK(digby_tuple_unpack(prev, prev_len, prev_items, MAXI, &pc, prev_arena,
                                             sizeof prev_arena, NULL, NULL));
                assert_int_equal(sign(digby_tuple_compare(prev_items, pc, t, n)),
                                 keycmp(prev, prev_len, want, wn));
                n_order++;
            }
            memcpy(prev, want, wn);
            prev_len = wn;
            have_prev = 1;
            n_ok++;
        } else if (strcmp(s, "reject") == 0 || strcmp(s, "malformed") == 0) {
            size_t c = 9;
            int rc = digby_tuple_unpack(want, wn, g_out, MAXI, &c, g_arena, sizeof g_arena,
                                        NULL, NULL);
            if (rc != DIGBY_INVALID)
                print_error("%s:%ld: %s\n", vectors_path(), lineno, rc_name(rc));
            ASSERT_RC(rc, DIGBY_INVALID);
            if (*s == 'r') n_reject++;
            else n_malformed++;
        } else {
            print_error("%s:%ld: unknown line kind '%s'\n", vectors_path(), lineno, s);
            fail();
        }
    }
    fclose(fp);
    print_message("fdb-tuple vectors: %ld ok (packed and unpacked), %ld reject, %ld malformed, "
                  "%ld order pairs\n", n_ok, n_reject, n_malformed, n_order);
    /* the committed file holds thousands: a short read must not pass */
    assert_true(n_ok >= 4000 && n_reject >= 10 && n_malformed >= 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_examples),
        cmocka_unit_test(test_double_order),
        cmocka_unit_test(test_int_boundaries),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_invalid_items),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_fdb_tuple_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
