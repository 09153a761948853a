/* The tuple codec: pack, unpack, compare and range of FoundationDB tuples.

   The encoding is FoundationDB's tuple layer (design/tuple.md at the
   revision 05_tuple.h names; that comment lists the type codes).  No state,
   no allocation: pack measures first and writes only when everything fits;
   unpack validates the whole input and counts what it needs, then fills.
   Recursion is bounded by DIGBY_TUPLE_MAX_DEPTH. */

#define DIGBY__T_NULL    0x00u
#define DIGBY__T_BYTES   0x01u
#define DIGBY__T_STRING  0x02u
#define DIGBY__T_NESTED  0x05u
#define DIGBY__T_INTZERO 0x14u  /* 0x14 - 8 .. 0x14 + 8: integers */
#define DIGBY__T_DOUBLE  0x21u
#define DIGBY__T_FALSE   0x26u
#define DIGBY__T_TRUE    0x27u
#define DIGBY__T_UUID    0x30u
#define DIGBY__T_ESCAPE  0xffu  /* 0x00 0xFF: a 0x00 byte, or a nested null */

#define DIGBY__U64_SIGN (UINT64_C(1) << 63)

/* ---- UTF-8 (RFC 3629 section 4) --------------------------------------- */

/* Whether s[0 .. n) is well-formed UTF-8 by RFC 3629's syntax: no overlong
   forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF.  With
   `escaped`, the bytes are a string's encoded content, where 0x00 0xFF
   stands for U+0000 (a multi-byte sequence holds no 0x00, so the pair only
   ever sits between characters; a 0x00 not followed by 0xFF is an error). */
static int digby__tuple_utf8_ok(const uint8_t *s, size_t n, int escaped)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], lo = 0x80, hi = 0xbf;
        size_t k, more;
        if (c < 0x80) {
            if (c == 0 && escaped) {
                if (i + 1 >= n || s[i + 1] != DIGBY__T_ESCAPE) return 0;
                i += 2;
            } else {
                i++;
            }
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) more = 1;
        else if (c >= 0xe0 && c <= 0xef) more = 2;
        else if (c >= 0xf0 && c <= 0xf4) more = 3;
        else return 0; /* 0x80..0xC1 (continuation, overlong lead), 0xF5.. */
        if (c == 0xe0) lo = 0xa0;      /* overlong below U+0800 */
        else if (c == 0xed) hi = 0x9f; /* surrogates */
        else if (c == 0xf0) lo = 0x90; /* overlong below U+10000 */
        else if (c == 0xf4) hi = 0x8f; /* above U+10FFFF */
        if (n - i - 1 < more) return 0;
        for (k = 1; k <= more; k++) {
            unsigned b = s[i + k];
            if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf)) return 0;
        }
        i += more + 1;
    }
    return 1;
}

/* ---- pack ---------------------------------------------------------------- */

/* Where pack writes: out == NULL measures only.  `over` records a size that
   no longer fits size_t. */
typedef struct digby__tuple_out {
    uint8_t *out;
    size_t pos;
    int over;
} digby__tuple_out;

static void digby__tuple_put(digby__tuple_out *w, const uint8_t *p, size_t n)
{
    if (w->over) return;
    if (n > SIZE_MAX - w->pos) {
        w->over = 1;
        return;
    }
    if (w->out && n) memcpy(w->out + w->pos, p, n);
    w->pos += n;
}

static void digby__tuple_put1(digby__tuple_out *w, unsigned byte)
{
    uint8_t b = (uint8_t)byte;
    digby__tuple_put(w, &b, 1);
}

/* Big-endian bytes of v, the low n (0..8) of them. */
static void digby__tuple_put_be(digby__tuple_out *w, uint64_t v, unsigned n)
{
    uint8_t b[8];
    unsigned i;
    for (i = 0; i < n; i++) b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    digby__tuple_put(w, b, n);
}

/* Bytes with each 0x00 written as 0x00 0xFF, then the 0x00 end. */
static void digby__tuple_put_escaped(digby__tuple_out *w, const uint8_t *p, size_t n)
{
    static const uint8_t zero_ff[2] = { 0x00, DIGBY__T_ESCAPE };
    size_t i = 0, start = 0;
    for (; i < n; i++) {
        if (p[i] == 0) {
            digby__tuple_put(w, p + start, i - start);
            digby__tuple_put(w, zero_ff, 2);
            start = i + 1;
        }
    }
    digby__tuple_put(w, p + start, n - start);
    digby__tuple_put1(w, 0x00);
}

/* An integer of magnitude mag, negative when neg (mag >= 1 then): the code
   0x14 +- n with n the fewest bytes holding mag, then n big-endian bytes
   of mag, or of its one's complement for a negative number. */
static void digby__tuple_put_int(digby__tuple_out *w, int neg, uint64_t mag)
{
    unsigned n = 0;
    uint64_t t = mag;
    while (t) {
        n++;
        t >>= 8;
    }
    if (neg) {
        digby__tuple_put1(w, DIGBY__T_INTZERO - n);
        digby__tuple_put_be(w, ~mag, n);
    } else {
        digby__tuple_put1(w, DIGBY__T_INTZERO + n);
        digby__tuple_put_be(w, mag, n);
    }
}

/* The bits of a double in the order-preserving form: all bits inverted
   when the sign bit is set, else the sign bit set (design/tuple.md, IEEE
   Binary Floating Point).  Through memcpy, never a floating-point load, so
   a signalling NaN keeps its bits on every FPU. */
static uint64_t digby__tuple_double_key(const double *d)
{
    uint64_t bits;
    memcpy(&bits, d, sizeof bits);
    return (bits & DIGBY__U64_SIGN) ? ~bits : (bits | DIGBY__U64_SIGN);
}

/* Encode items[0 .. count) at nesting depth `depth` (0: top level, where a
   null is 0x00; inside a nested tuple it is 0x00 0xFF). */
static int digby__tuple_enc(digby__tuple_out *w, const digby_tuple_item *items,
                            size_t count, int depth)
{
    size_t i;
    if (count && !items) return DIGBY_INVALID;
    for (i = 0; i < count; i++) {
        const digby_tuple_item *it = &items[i];
        int rc;
        switch (it->type) {
        case DIGBY_TUPLE_NULL:
            digby__tuple_put1(w, DIGBY__T_NULL);
            if (depth > 0) digby__tuple_put1(w, DIGBY__T_ESCAPE);
            break;
        case DIGBY_TUPLE_BYTES:
        case DIGBY_TUPLE_STRING:
            if (it->v.s.len && !it->v.s.ptr) return DIGBY_INVALID;
            if (it->type == DIGBY_TUPLE_STRING &&
                !digby__tuple_utf8_ok((const uint8_t *)it->v.s.ptr, it->v.s.len, 0))
                return DIGBY_INVALID;
            digby__tuple_put1(w, it->type == DIGBY_TUPLE_BYTES ? DIGBY__T_BYTES
                                                                : DIGBY__T_STRING);
            digby__tuple_put_escaped(w, (const uint8_t *)it->v.s.ptr, it->v.s.len);
            break;
        case DIGBY_TUPLE_NESTED:
            if (depth >= DIGBY_TUPLE_MAX_DEPTH) return DIGBY_INVALID;
            digby__tuple_put1(w, DIGBY__T_NESTED);
            rc = digby__tuple_enc(w, it->v.nested.items, it->v.nested.count, depth + 1);
            if (rc != DIGBY_OK) return rc;
            digby__tuple_put1(w, 0x00);
            break;
        case DIGBY_TUPLE_INT:
            if (it->v.i < 0)
                digby__tuple_put_int(w, 1, (uint64_t)0 - (uint64_t)it->v.i);
            else
                digby__tuple_put_int(w, 0, (uint64_t)it->v.i);
            break;
        case DIGBY_TUPLE_UINT:
            digby__tuple_put_int(w, 0, it->v.u);
            break;
        case DIGBY_TUPLE_DOUBLE:
            digby__tuple_put1(w, DIGBY__T_DOUBLE);
            digby__tuple_put_be(w, digby__tuple_double_key(&it->v.d), 8);
            break;
        case DIGBY_TUPLE_BOOL:
            if (it->v.b != 0 && it->v.b != 1) return DIGBY_INVALID;
            digby__tuple_put1(w, it->v.b ? DIGBY__T_TRUE : DIGBY__T_FALSE);
            break;
        case DIGBY_TUPLE_UUID:
            digby__tuple_put1(w, DIGBY__T_UUID);
            digby__tuple_put(w, it->v.uuid, 16);
            break;
        default:
            return DIGBY_INVALID;
        }
    }
    return DIGBY_OK;
}

DIGBY_API int digby_tuple_pack(const digby_tuple_item *items, size_t count,
                               void *buf, size_t cap, size_t *len)
{
    digby__tuple_out w;
    int rc;
    if (!len) return DIGBY_INVALID;
    *len = 0;
    if ((count && !items) || (cap && !buf)) return DIGBY_INVALID;
    w.out = NULL;
    w.pos = 0;
    w.over = 0;
    rc = digby__tuple_enc(&w, items, count, 0);
    if (rc != DIGBY_OK) return rc;
    if (w.over) {
        *len = SIZE_MAX;
        return DIGBY_TOOBIG;
    }
    *len = w.pos;
    if (w.pos > cap) return DIGBY_TOOBIG;
    w.out = (uint8_t *)buf;
    w.pos = 0;
    rc = digby__tuple_enc(&w, items, count, 0);
    DIGBY_ASSERT(rc == DIGBY_OK && w.pos == *len);
    return rc;
}

/* ---- unpack -------------------------------------------------------------- */

/* The decoder's state.  fill == 0: validate and count (items_total,
   arena_total); fill == 1: also write items (from next_item on for nested
   blocks) and the unescaped contents (arena, from arena_used on). */
typedef struct digby__tuple_dec {
    const uint8_t *buf;
    size_t len;
    int fill;
    digby_tuple_item *items;
    size_t next_item;
    uint8_t *arena;
    size_t arena_used;
    size_t items_total;
    size_t arena_total;
} digby__tuple_dec;

/* The content of a byte string or string starting at buf[pos] (after its
   type code): its end (the index just past the terminating 0x00), its
   unescaped length, and whether it holds an escaped 0x00. */
static int digby__tuple_scan_str(const digby__tuple_dec *d, size_t pos, size_t *end,
                                 size_t *ulen, int *has_zero)
{
    size_t n = 0;
    *has_zero = 0;
    for (;;) {
        if (pos >= d->len) return DIGBY_INVALID; /* no 0x00 end */
        if (d->buf[pos] == 0x00) {
            if (pos + 1 < d->len && d->buf[pos + 1] == DIGBY__T_ESCAPE) {
                *has_zero = 1;
                pos += 2;
                n++;
                continue;
            }
            *end = pos + 1;
            *ulen = n;
            return DIGBY_OK;
        }
        pos++;
        n++;
    }
}

static int digby__tuple_walk(digby__tuple_dec *d, size_t *pos, int depth,
                             digby_tuple_item *out, size_t *direct);

/* Decode the item at buf[*pos] (its type code; not a nested null, which
   the caller handles) into *it when filling; advance *pos past it. */
static int digby__tuple_item_dec(digby__tuple_dec *d, size_t *pos, int depth,
                                 digby_tuple_item *it)
{
    size_t p = *pos;
    unsigned code = d->buf[p++];
    size_t avail = d->len - p;
    int rc;

    if (code == DIGBY__T_NULL) {
        if (it) it->type = DIGBY_TUPLE_NULL;
    } else if (code == DIGBY__T_BYTES || code == DIGBY__T_STRING) {
        size_t end = 0, ulen = 0;
        int has_zero = 0;
        rc = digby__tuple_scan_str(d, p, &end, &ulen, &has_zero);
        if (rc != DIGBY_OK) return rc;
        if (code == DIGBY__T_STRING && !digby__tuple_utf8_ok(d->buf + p, end - 1 - p, 1))
            return DIGBY_INVALID;
        if (has_zero && !d->fill) {
            if (ulen > SIZE_MAX - d->arena_total) return DIGBY_INVALID;
            d->arena_total += ulen;
        }
        if (it) {
            it->type = code == DIGBY__T_BYTES ? DIGBY_TUPLE_BYTES : DIGBY_TUPLE_STRING;
            it->v.s.len = ulen;
            if (has_zero) {
                uint8_t *o = d->arena + d->arena_used;
                size_t i;
                for (i = p; i < end - 1; i++) {
                    *o++ = d->buf[i];
                    if (d->buf[i] == 0x00) i++; /* skip the 0xFF */
                }
                it->v.s.ptr = d->arena + d->arena_used;
                d->arena_used += ulen;
            } else {
                it->v.s.ptr = d->buf + p;
            }
        }
        p = end;
    } else if (code == DIGBY__T_NESTED) {
        size_t k = 0;
        if (depth >= DIGBY_TUPLE_MAX_DEPTH) return DIGBY_INVALID;
        if (it) {
            /* count the direct items first (already validated), then give
               them a block of their own and fill it */
            digby__tuple_dec count = *d;
            size_t q = p;
            count.fill = 0;
            rc = digby__tuple_walk(&count, &q, depth + 1, NULL, &k);
            if (rc != DIGBY_OK) return rc;
            it->type = DIGBY_TUPLE_NESTED;
            it->v.nested.items = d->items + d->next_item;
            it->v.nested.count = k;
            d->next_item += k;
            rc = digby__tuple_walk(d, &p, depth + 1, d->items + (d->next_item - k), &k);
        } else {
            rc = digby__tuple_walk(d, &p, depth + 1, NULL, &k);
        }
        if (rc != DIGBY_OK) return rc;
    } else if (code >= DIGBY__T_INTZERO - 8 && code <= DIGBY__T_INTZERO + 8) {
        int neg = code < DIGBY__T_INTZERO;
        unsigned n = neg ? DIGBY__T_INTZERO - code : code - DIGBY__T_INTZERO, i;
        uint64_t v = 0;
        if (avail < n) return DIGBY_INVALID;
        /* the fewest bytes: a leading 0x00 (0xFF for a negative number)
           would sort out of order and never comes from pack */
        if (n && d->buf[p] == (neg ? 0xff : 0x00)) return DIGBY_INVALID;
        for (i = 0; i < n; i++) v = (v << 8) | d->buf[p + i];
        p += n;
        if (neg) {
            /* magnitude: the one's complement of the n bytes */
            uint64_t mag = n == 8 ? ~v : ((UINT64_C(1) << (8 * n)) - 1) - v;
            if (mag > DIGBY__U64_SIGN) return DIGBY_INVALID; /* below INT64_MIN */
            if (it) {
                it->type = DIGBY_TUPLE_INT;
                it->v.i = mag == DIGBY__U64_SIGN ? INT64_MIN : -(int64_t)mag;
            }
        } else if (it) {
            if (v > (uint64_t)INT64_MAX) {
                it->type = DIGBY_TUPLE_UINT;
                it->v.u = v;
            } else {
                it->type = DIGBY_TUPLE_INT;
                it->v.i = (int64_t)v;
            }
        }
    } else if (code == DIGBY__T_DOUBLE) {
        uint64_t v = 0;
        unsigned i;
        if (avail < 8) return DIGBY_INVALID;
        for (i = 0; i < 8; i++) v = (v << 8) | d->buf[p + i];
        p += 8;
        if (it) {
            /* undo digby__tuple_double_key: a set top bit was a positive
               number (flip it back), a clear one a negative (invert all) */
            v = (v & DIGBY__U64_SIGN) ? (v ^ DIGBY__U64_SIGN) : ~v;
            it->type = DIGBY_TUPLE_DOUBLE;
            memcpy(&it->v.d, &v, sizeof v);
        }
    } else if (code == DIGBY__T_FALSE || code == DIGBY__T_TRUE) {
        if (it) {
            it->type = DIGBY_TUPLE_BOOL;
            it->v.b = code == DIGBY__T_TRUE;
        }
    } else if (code == DIGBY__T_UUID) {
        if (avail < 16) return DIGBY_INVALID;
        if (it) {
            it->type = DIGBY_TUPLE_UUID;
            memcpy(it->v.uuid, d->buf + p, 16);
        }
        p += 16;
    } else {
        return DIGBY_INVALID; /* a code digby does not read (05_tuple.h) */
    }
    *pos = p;
    return DIGBY_OK;
}

/* The items of one tuple from buf[*pos]: the top level (depth 0) runs to
   the end of the input; a nested tuple (depth >= 1) to its 0x00 end, which
   is consumed, and holds nulls as 0x00 0xFF.  Counts the direct items in
   *direct; when counting (d->fill == 0) adds every item, nested ones too,
   to d->items_total; when filling writes the direct items to out[]. */
static int digby__tuple_walk(digby__tuple_dec *d, size_t *pos, int depth,
                             digby_tuple_item *out, size_t *direct)
{
    size_t p = *pos, k = 0;
    int rc;
    for (;;) {
        digby_tuple_item *it = out ? &out[k] : NULL;
        if (p >= d->len) {
            if (depth > 0) return DIGBY_INVALID; /* nested tuple without its end */
            break;
        }
        if (depth > 0 && d->buf[p] == 0x00) {
            if (p + 1 < d->len && d->buf[p + 1] == DIGBY__T_ESCAPE) {
                if (it) it->type = DIGBY_TUPLE_NULL;
                p += 2;
            } else {
                p++; /* the nested tuple's end */
                break;
            }
        } else {
            rc = digby__tuple_item_dec(d, &p, depth, it);
            if (rc != DIGBY_OK) return rc;
        }
        k++;
        if (!d->fill) d->items_total++; /* at most len: cannot overflow */
    }
    *pos = p;
    *direct = k;
    return DIGBY_OK;
}

DIGBY_API int digby_tuple_unpack(const void *buf, size_t len,
                                 digby_tuple_item *items, size_t max_items,
                                 size_t *count, void *arena, size_t arena_cap,
                                 size_t *items_needed, size_t *arena_needed)
{
    digby__tuple_dec d;
    size_t pos = 0, top = 0;
    int rc;
    if (items_needed) *items_needed = 0;
    if (arena_needed) *arena_needed = 0;
    if (!count) return DIGBY_INVALID;
    *count = 0;
    if ((len && !buf) || (max_items && !items) || (arena_cap && !arena))
        return DIGBY_INVALID;
    memset(&d, 0, sizeof d);
    d.buf = (const uint8_t *)buf;
    d.len = len;
    rc = digby__tuple_walk(&d, &pos, 0, NULL, &top);
    if (rc != DIGBY_OK) return rc;
    *count = top;
    if (items_needed) *items_needed = d.items_total;
    if (arena_needed) *arena_needed = d.arena_total;
    if (d.items_total > max_items || d.arena_total > arena_cap) return DIGBY_TOOBIG;
    d.fill = 1;
    d.items = items;
    d.next_item = top;
    d.arena = (uint8_t *)arena;
    pos = 0;
    rc = digby__tuple_walk(&d, &pos, 0, items, &top);
    DIGBY_ASSERT(rc == DIGBY_OK && d.next_item == d.items_total &&
                 d.arena_used == d.arena_total);
    return rc;
}

/* ---- compare ------------------------------------------------------------- */

/* An item's place among the kinds: its type code (integers share one, as
   do false and true); unknown types after every known one. */
static uint64_t digby__tuple_rank(const digby_tuple_item *it)
{
    switch (it->type) {
    case DIGBY_TUPLE_NULL: return DIGBY__T_NULL;
    case DIGBY_TUPLE_BYTES: return DIGBY__T_BYTES;
    case DIGBY_TUPLE_STRING: return DIGBY__T_STRING;
    case DIGBY_TUPLE_NESTED: return DIGBY__T_NESTED;
    case DIGBY_TUPLE_INT:
    case DIGBY_TUPLE_UINT: return DIGBY__T_INTZERO;
    case DIGBY_TUPLE_DOUBLE: return DIGBY__T_DOUBLE;
    case DIGBY_TUPLE_BOOL: return DIGBY__T_FALSE;
    case DIGBY_TUPLE_UUID: return DIGBY__T_UUID;
    default: return 0x100u + (uint64_t)(unsigned)it->type;
    }
}

static int digby__tuple_cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

static int digby__tuple_cmp_bytes(const void *pa, size_t na, const void *pb, size_t nb)
{
    size_t n;
    int c;
    if (!pa) na = 0;
    if (!pb) nb = 0;
    n = na < nb ? na : nb;
    c = n ? memcmp(pa, pb, n) : 0;
    if (c) return c < 0 ? -1 : 1;
    return digby__tuple_cmp_u64(na, nb);
}

/* Compare state: `deep` is set once a pair of nested tuples lies deeper
   than DIGBY_TUPLE_MAX_DEPTH; the comparison then stops with "equal" (every
   item before that pair was equal).  Stopping at once, not just declining
   to descend, keeps a tuple that contains itself from costing 2^depth
   steps. */
static int digby__tuple_cmp_seq(const digby_tuple_item *a, size_t na,
                                const digby_tuple_item *b, size_t nb, int depth,
                                int *deep);

static int digby__tuple_cmp_item(const digby_tuple_item *a, const digby_tuple_item *b,
                                 int depth, int *deep)
{
    uint64_t ra = digby__tuple_rank(a), rb = digby__tuple_rank(b);
    if (ra != rb) return digby__tuple_cmp_u64(ra, rb);
    switch (a->type) {
    case DIGBY_TUPLE_BYTES:
    case DIGBY_TUPLE_STRING:
        return digby__tuple_cmp_bytes(a->v.s.ptr, a->v.s.len, b->v.s.ptr, b->v.s.len);
    case DIGBY_TUPLE_NESTED:
        if (depth >= DIGBY_TUPLE_MAX_DEPTH) {
            *deep = 1;
            return 0;
        }
        return digby__tuple_cmp_seq(a->v.nested.items, a->v.nested.count,
                                    b->v.nested.items, b->v.nested.count, depth + 1, deep);
    case DIGBY_TUPLE_INT:
    case DIGBY_TUPLE_UINT: {
        /* by value, as the encoding orders them: a negative int below every
           non-negative value; otherwise the 64-bit patterns compare as
           unsigned (two negatives keep their order in two's complement) */
        uint64_t ka = a->type == DIGBY_TUPLE_UINT ? a->v.u : (uint64_t)a->v.i;
        uint64_t kb = b->type == DIGBY_TUPLE_UINT ? b->v.u : (uint64_t)b->v.i;
        int nega = a->type == DIGBY_TUPLE_INT && a->v.i < 0;
        int negb = b->type == DIGBY_TUPLE_INT && b->v.i < 0;
        if (nega != negb) return nega ? -1 : 1;
        return digby__tuple_cmp_u64(ka, kb);
    }
    case DIGBY_TUPLE_DOUBLE:
        return digby__tuple_cmp_u64(digby__tuple_double_key(&a->v.d),
                                    digby__tuple_double_key(&b->v.d));
    case DIGBY_TUPLE_BOOL:
        return (a->v.b != 0) - (b->v.b != 0);
    case DIGBY_TUPLE_UUID:
        return digby__tuple_cmp_bytes(a->v.uuid, 16, b->v.uuid, 16);
    default:
        return 0; /* null; unknown types of the same number */
    }
}

static int digby__tuple_cmp_seq(const digby_tuple_item *a, size_t na,
                                const digby_tuple_item *b, size_t nb, int depth,
                                int *deep)
{
    size_t i;
    if (!a) na = 0;
    if (!b) nb = 0;
    for (i = 0; i < na && i < nb; i++) {
        int c = digby__tuple_cmp_item(&a[i], &b[i], depth, deep);
        if (*deep) return 0;
        if (c) return c;
    }
    return digby__tuple_cmp_u64(na, nb);
}

DIGBY_API int digby_tuple_compare(const digby_tuple_item *a, size_t na,
                                  const digby_tuple_item *b, size_t nb)
{
    int deep = 0;
    return digby__tuple_cmp_seq(a, na, b, nb, 0, &deep);
}

/* ---- range --------------------------------------------------------------- */

DIGBY_API int digby_tuple_range(const void *prefix, size_t prefix_len,
                                void *lo, void *hi)
{
    uint8_t *l = (uint8_t *)lo, *h = (uint8_t *)hi;
    if (!lo || !hi || (prefix_len && !prefix) || prefix_len == SIZE_MAX)
        return DIGBY_INVALID;
    if (prefix_len) {
        memmove(l, prefix, prefix_len);
        memmove(h, prefix, prefix_len);
    }
    l[prefix_len] = 0x00;
    h[prefix_len] = 0xff;
    return DIGBY_OK;
}
