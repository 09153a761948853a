/* Utilities: allocation, byte order, page header fields, varints, sorts.

   Allocation goes through the hooks; integers on disk are little-endian;
   also key comparison and growable arrays. */

static void *digby__malloc(const digby_allocator *a, size_t n)
{
    if (n == 0) n = 1;
    if (a && a->malloc_fn) return a->malloc_fn(a->ctx, n);
    return DIGBY_MALLOC(n);
}

static void *digby__realloc(const digby_allocator *a, void *p, size_t n)
{
    if (n == 0) n = 1;
    if (a && a->realloc_fn) return a->realloc_fn(a->ctx, p, n);
    return DIGBY_REALLOC(p, n);
}

static void digby__free(const digby_allocator *a, void *p)
{
    if (!p) return;
    if (a && a->free_fn) a->free_fn(a->ctx, p);
    else DIGBY_FREE(p);
}

/* Grow *buf to hold at least `need` bytes (amortised doubling). */
static int digby__reserve(const digby_allocator *a, uint8_t **buf, size_t *cap,
                          size_t need)
{
    size_t ncap;
    uint8_t *nb;
    if (need <= *cap && *buf) return DIGBY_OK;
    ncap = *cap ? *cap : 64;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) { ncap = need; break; }
        ncap *= 2;
    }
    nb = (uint8_t *)digby__realloc(a, *buf, ncap);
    if (!nb) return DIGBY_NOMEM;
    *buf = nb;
    *cap = ncap;
    return DIGBY_OK;
}

static int digby__u64s_push(const digby_allocator *a, digby__u64s *s, uint64_t v)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        uint64_t *nv;
        if (ncap > SIZE_MAX / sizeof(uint64_t)) return DIGBY_NOMEM;
        nv = (uint64_t *)digby__realloc(a, s->v, ncap * sizeof(uint64_t));
        if (!nv) return DIGBY_NOMEM;
        s->v = nv;
        s->cap = ncap;
    }
    s->v[s->n++] = v;
    return DIGBY_OK;
}

static int digby__u64s_reserve(const digby_allocator *a, digby__u64s *s, size_t extra)
{
    size_t need = s->n + extra, ncap;
    uint64_t *nv;
    if (need < s->n) return DIGBY_NOMEM;
    if (need <= s->cap) return DIGBY_OK;
    if (need > SIZE_MAX / sizeof(uint64_t)) return DIGBY_NOMEM;
    ncap = s->cap ? s->cap : 64;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) return DIGBY_NOMEM;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / sizeof(uint64_t)) return DIGBY_NOMEM;
    nv = (uint64_t *)digby__realloc(a, s->v, ncap * sizeof(uint64_t));
    if (!nv) return DIGBY_NOMEM;
    s->v = nv;
    s->cap = ncap;
    return DIGBY_OK;
}

static void digby__u64s_release(const digby_allocator *a, digby__u64s *s)
{
    digby__free(a, s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

/* Whether x is in v[0 .. n), sorted ascending (binary search). */
static int digby__u64_has(const uint64_t *v, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && v[lo] == x;
}

/* Heapsort's sift-down of v[root] within v[0 .. end). */
static void digby__sift_u64(uint64_t *v, size_t root, size_t end)
{
    for (;;) {
        size_t child = 2 * root + 1;
        uint64_t t;
        if (child >= end) return;
        if (child + 1 < end && v[child] < v[child + 1]) child++;
        if (v[root] >= v[child]) return;
        t = v[root]; v[root] = v[child]; v[child] = t;
        root = child;
    }
}

/* Sort n page numbers ascending, or descending if desc.  Heapsort
   (Williams, CACM 7(6), 1964): O(n log n) at worst, no recursion, no
   memory, and the comparison inline (qsort calls a function for each;
   callgrind, random load: 1.7% of the instructions with qsort, 1.2%
   with this). */
static void digby__sort_u64(uint64_t *v, size_t n, int desc)
{
    size_t i;
    uint64_t flip = desc ? UINT64_MAX : 0, t; /* x ^ flip reverses the order */
    if (n < 2) return;
    for (i = 0; i < n; i++) v[i] ^= flip;
    for (i = n / 2; i-- > 0;) digby__sift_u64(v, i, n); /* a max-heap */
    for (i = n - 1; i > 0; i--) {                     /* largest to the end */
        t = v[0]; v[0] = v[i]; v[i] = t;
        digby__sift_u64(v, 0, i);
    }
    for (i = 0; i < n; i++) v[i] ^= flip;
}

/* Sort n page numbers ascending, or descending if desc, with `scratch`
   (room for n + 256 values; NULL: heapsort, above).  LSD radix sort, one
   counting pass per byte in which the values differ (Knuth, TAOCP vol. 3,
   5.2.5): page numbers need two or three passes.  A commit sorts its dirty
   pages and the pages it frees this way; perf, 1M random puts: heapsort
   was 2.6% of the time.  Below DIGBY__RADIX_MIN values heapsort is used,
   and callers then allocate no scratch (its 2 KiB of counters would be
   most of an embedded open's heap). */
#define DIGBY__RADIX_MIN 64
static void digby__sort_u64_with(uint64_t *v, size_t n, int desc, uint64_t *scratch)
{
    uint64_t all_or = 0, all_and = UINT64_MAX, *a = v, *b, *cnt, t;
    size_t i, sum;
    unsigned shift;
    if (!scratch || n < DIGBY__RADIX_MIN) { digby__sort_u64(v, n, desc); return; }
    b = scratch;
    cnt = scratch + n;
    for (i = 0; i < n; i++) { all_or |= v[i]; all_and &= v[i]; }
    for (shift = 0; shift < 64; shift += 8) {
        if ((((all_or ^ all_and) >> shift) & 0xff) == 0) continue; /* one digit */
        memset(cnt, 0, 256 * sizeof(uint64_t));
        for (i = 0; i < n; i++) cnt[(a[i] >> shift) & 0xff]++;
        for (i = 0, sum = 0; i < 256; i++) { t = cnt[i]; cnt[i] = sum; sum += (size_t)t; }
        for (i = 0; i < n; i++) b[cnt[(a[i] >> shift) & 0xff]++] = a[i];
        { uint64_t *s = a; a = b; b = s; }
    }
    if (a != v) memcpy(v, a, n * sizeof(uint64_t));
    if (desc)
        for (i = 0; i < n / 2; i++) { t = v[i]; v[i] = v[n - 1 - i]; v[n - 1 - i] = t; }
}

static DIGBY__INLINE uint16_t digby__get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static DIGBY__INLINE uint32_t digby__get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static DIGBY__INLINE uint64_t digby__get64(const uint8_t *p)
{
    return (uint64_t)digby__get32(p) | ((uint64_t)digby__get32(p + 4) << 32);
}

static DIGBY__INLINE void digby__put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static DIGBY__INLINE void digby__put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static DIGBY__INLINE void digby__put64(uint8_t *p, uint64_t v)
{
    digby__put32(p, (uint32_t)v);
    digby__put32(p + 4, (uint32_t)(v >> 32));
}

/* The page header's fields (FORMAT.md section 1). */
static DIGBY__INLINE uint64_t digby__page_pgno(const uint8_t *page)
{
    return digby__get64(page + DIGBY__H_PGNO);
}

static DIGBY__INLINE uint64_t digby__page_txid(const uint8_t *page)
{
    return digby__get64(page + DIGBY__H_TXID);
}

static DIGBY__INLINE uint64_t digby__page_next(const uint8_t *page)
{
    return digby__get64(page + DIGBY__H_NEXT);
}

static DIGBY__INLINE uint32_t digby__page_pos(const uint8_t *page)
{
    return digby__get32(page + DIGBY__H_POS);
}

static DIGBY__INLINE void digby__page_set_pgno(uint8_t *page, uint64_t pgno)
{
    digby__put64(page + DIGBY__H_PGNO, pgno);
}

static DIGBY__INLINE void digby__page_set_txid(uint8_t *page, uint64_t txid)
{
    digby__put64(page + DIGBY__H_TXID, txid);
}

static DIGBY__INLINE void digby__page_set_next(uint8_t *page, uint64_t pgno)
{
    digby__put64(page + DIGBY__H_NEXT, pgno);
}

static DIGBY__INLINE void digby__page_set_pos(uint8_t *page, uint32_t pos)
{
    digby__put32(page + DIGBY__H_POS, pos);
}

/* Unsigned LEB128 (FORMAT.md section 5): 7 bits a byte, low bits first, the
   high bit set on every byte but the last; at most 10 bytes. */
static size_t digby__varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static size_t digby__varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) { v >>= 7; n++; }
    return n;
}

/* Decode a varint from [p, end); returns its length, or 0 if it runs past
   end or is longer than 10 bytes. */
static size_t digby__varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    unsigned shift = 0;
    size_t n = 0;
    while (p + n < end && n < 10) {
        uint8_t b = p[n++];
        if (n == 10 && b > 1) return 0; /* wider than 64 bits */
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) { *v = r; return n; }
        shift += 7;
    }
    return 0;
}

/* Eight bytes as a big-endian number: comparing two of them compares the
   bytes in memcmp order.  Compilers turn this into one load (and a byte
   swap on little-endian machines).  A macro: gcc -O2 kept a function of
   it, called twice per eight bytes compared. */
#define DIGBY__BE64(x)                                                          \
    (((uint64_t)(x)[0] << 56) | ((uint64_t)(x)[1] << 48) | ((uint64_t)(x)[2] << 40) | \
     ((uint64_t)(x)[3] << 32) | ((uint64_t)(x)[4] << 24) | ((uint64_t)(x)[5] << 16) | \
     ((uint64_t)(x)[6] << 8) | (uint64_t)(x)[7])

/* Byte-wise key order: memcmp, and a proper prefix sorts first.  Keys are
   short and often share their first bytes (zero-padded numbers): compare
   eight bytes at a time, without a call. */
static int digby__keycmp(const void *a, size_t an, const void *b, size_t bn)
{
    const uint8_t *x = (const uint8_t *)a, *y = (const uint8_t *)b;
    size_t n = an < bn ? an : bn;
    for (; n >= 8; n -= 8, x += 8, y += 8) {
        uint64_t p = DIGBY__BE64(x), q = DIGBY__BE64(y);
        if (p != q) return p < q ? -1 : 1;
    }
    for (; n; n--, x++, y++)
        if (*x != *y) return *x < *y ? -1 : 1;
    return an < bn ? -1 : (an > bn ? 1 : 0);
}

static int digby__corrupt(digby_db *db, uint64_t pgno, int line)
{
    if (db) {
        db->corrupt_pgno = pgno;
        db->corrupt_line = line;
    }
    return DIGBY_CORRUPT;
}
