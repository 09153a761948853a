/* Slotted branch and leaf pages (FORMAT.md section 5).

   Header: type u8, prefix length u8 (leaves; 0 in branches), nslots u16,
   upper u16 (start of the cell area), garbage u16 (bytes of dead cells
   inside the cell area), pgno u64, txid u64.  A leaf's key prefix -- the
   bytes every key in it shares -- follows the header; then the slot array
   (u16 cell offsets, in key order); cells grow down from db->usable.
   Leaf cells hold their keys without the prefix (head compression, as in
   the SIGMOD 2024 study of B-tree compression).

   Leaf cell:   varint klen, key, varint (vlen << 3 | flags), varint version,
                then the value (inline) or a u64 overflow item root; for a
                large key (flag DIGBY__CELL_LARGE_KEY) the key bytes are its
                first bytes and its SHA-256, and a varint (length << 1 |
                compressed) and a u64 item root follow.
   Branch cell: u64 child pgno, u64 child txid, varint klen, key.  Slot 0's
                key is always empty and stands for minus infinity.  A klen
                with DIGBY__SEP_TIE set marks a tie separator (FORMAT.md section 5).

   Pages read from disk are validated once, when they enter the cache
   (digby__node_validate); after that the accessors below trust them. */

typedef struct digby__cell {
    const uint8_t *key;
    size_t key_bytes;
    uint64_t vlen;        /* leaf: value length */
    unsigned flags;       /* leaf: DIGBY__CELL_* */
    uint64_t version;     /* leaf: writer txid */
    const uint8_t *val;   /* leaf: inline value or overflow ref */
    uint64_t child;       /* branch: child page */
    uint64_t child_txid;  /* branch: child's txid */
    unsigned tie;         /* branch: a tie separator */
    uint64_t large_len;   /* leaf, large key: its length (0: not large) */
    unsigned large_flags; /* ... DIGBY__KEY_COMPRESSED */
    uint64_t large_root;  /* ... its overflow item */
    size_t size;          /* cell bytes */
} digby__cell;

/* A memtable entry (48_memtable.c) as the leaf cell of an inline value. */
static void digby__mn_cell(const struct digby__mnode *n, digby__cell *c)
{
    memset(c, 0, sizeof(*c));
    c->key = (const uint8_t *)(n->next + n->height);
    c->key_bytes = n->klen;
    c->vlen = n->vlen;
    c->version = n->txid;
    c->val = n->vlen ? n->val : (const uint8_t *)"";
}

static DIGBY__INLINE unsigned digby__node_n(const uint8_t *p) { return digby__get16(p + 2); }
static DIGBY__INLINE unsigned digby__node_upper(const uint8_t *p) { return digby__get16(p + 4); }
static unsigned digby__node_garbage(const uint8_t *p) { return digby__get16(p + 6); }
static DIGBY__INLINE unsigned digby__node_plen(const uint8_t *p) { return p[1]; }
static DIGBY__INLINE const uint8_t *digby__node_prefix(const uint8_t *p) { return p + DIGBY__HDR; }
/* Offset of the slot array. */
static size_t digby__node_slots(const uint8_t *p) { return DIGBY__HDR + (size_t)p[1]; }
static DIGBY__INLINE unsigned digby__node_off(const uint8_t *p, unsigned i)
{
    return digby__get16(p + digby__node_slots(p) + 2 * i);
}

/* Varint decode of a validated page (at most 10 bytes, inside the page).
   One and two bytes inline: key lengths, a small value's packed length
   (vlen << 3 | flags: two bytes from 16) and most versions. */
static DIGBY__INLINE const uint8_t *digby__vget(const uint8_t *p, uint64_t *v)
{
    size_t n;
    if (p[0] < 0x80) { *v = p[0]; return p + 1; }
    if (p[1] < 0x80) { *v = (uint64_t)(p[0] & 0x7f) | ((uint64_t)p[1] << 7); return p + 2; }
    *v = 0;
    n = digby__varint_get(p, p + 10, v);
    return p + n;
}

static DIGBY__INLINE void digby__leaf_cell_at(const uint8_t *c, digby__cell *out)
{
    const uint8_t *p = c;
    uint64_t klen, a;
    p = digby__vget(p, &klen);
    out->key = p;
    out->key_bytes = (size_t)klen;
    p += klen;
    p = digby__vget(p, &a);
    out->vlen = a >> 3;
    out->flags = (unsigned)(a & 7);
    p = digby__vget(p, &out->version);
    out->val = p;
    p += (out->flags & DIGBY__CELL_OVERFLOW) ? 8 : (size_t)out->vlen;
    out->large_len = 0;
    out->large_flags = 0;
    out->large_root = 0;
    if (out->flags & DIGBY__CELL_LARGE_KEY) {
        p = digby__vget(p, &a);
        out->large_len = a >> 1;
        out->large_flags = (unsigned)(a & 1);
        out->large_root = digby__get64(p);
        p += 8;
    }
    out->size = (size_t)(p - c);
}

static DIGBY__INLINE void digby__branch_cell_at(const uint8_t *c, digby__cell *out)
{
    const uint8_t *p = c + 16;
    uint64_t klen;
    out->child = digby__get64(c);
    out->child_txid = digby__get64(c + 8);
    p = digby__vget(p, &klen);
    out->tie = (klen & DIGBY__SEP_TIE) != 0;
    klen &= ~(uint64_t)DIGBY__SEP_TIE;
    out->key = p;
    out->key_bytes = (size_t)klen;
    out->size = (size_t)(p + klen - c);
}

static void digby__node_cell(const uint8_t *page, unsigned i, digby__cell *out)
{
    const uint8_t *c = page + digby__node_off(page, i);
    if (page[0] == DIGBY__PAGE_LEAF) digby__leaf_cell_at(c, out);
    else digby__branch_cell_at(c, out);
}

/* An overflow item a leaf cell owns: its value's or its large key's. */
typedef struct digby__cell_item {
    uint64_t root, len;
    int compressed;
    size_t root_at;       /* where the root's u64 sits in the page */
} digby__cell_item;

/* The overflow items of leaf cell i of page p, decoded in *c, into out:
   the value's (in overflow pages) first, then the large key's.  Returns
   how many (0 to 2).  The one place that knows which cell flags own
   items; freeing a tree and rekeying it both go through it. */
static unsigned digby__cell_items(const uint8_t *p, unsigned i, const digby__cell *c,
                                  digby__cell_item out[2])
{
    unsigned n = 0;
    if (c->flags & DIGBY__CELL_OVERFLOW) {
        out[n].root = digby__get64(c->val);
        out[n].len = c->vlen;
        out[n].compressed = (c->flags & DIGBY__CELL_COMPRESSED) != 0;
        out[n].root_at = (size_t)(c->val - p);
        n++;
    }
    if (c->flags & DIGBY__CELL_LARGE_KEY) {
        out[n].root = c->large_root;
        out[n].len = c->large_len;
        out[n].compressed = (c->large_flags & DIGBY__KEY_COMPRESSED) != 0;
        out[n].root_at = digby__node_off(p, i) + c->size - 8; /* the cell's last bytes */
        n++;
    }
    return n;
}

/* Key of cell i without decoding the rest. */
static const uint8_t *digby__node_key(const uint8_t *page, unsigned i, size_t *klen)
{
    const uint8_t *c = page + digby__node_off(page, i);
    uint64_t k;
    if (page[0] == DIGBY__PAGE_BRANCH) c += 16;
    if (c[0] < 0x80) { *klen = c[0]; return c + 1; }
    c = digby__vget(c, &k);
    *klen = (size_t)(k & ~(uint64_t)DIGBY__SEP_TIE);
    return c;
}

/* Branch slot i holds a tie separator. */
static int digby__branch_tie(const uint8_t *page, unsigned i)
{
    const uint8_t *c = page + digby__node_off(page, i) + 16;
    uint64_t k;
    if (c[0] < 0x80) return 0;
    digby__vget(c, &k);
    return (k & DIGBY__SEP_TIE) != 0;
}

/* The flag bits of a leaf cell, from its packed length (right after its
   key). */
static unsigned digby__key_flags(const uint8_t *packed)
{
    uint64_t a;
    if (packed[0] < 0x80) return packed[0] & 7u;
    digby__vget(packed, &a);
    return (unsigned)(a & 7);
}

/* Leaf cell i has a large key. */
static int digby__leaf_large(const uint8_t *page, unsigned i)
{
    size_t kl;
    const uint8_t *k = digby__node_key(page, i, &kl);
    return (digby__key_flags(k + kl) & DIGBY__CELL_LARGE_KEY) != 0;
}

/* Key bytes a large key's cell keeps: DIGBY__LARGE_PREFIX, or fewer on small
   pages, where its cell (at most 70 bytes besides them) must still fit in
   max_cell.  Fixed for a file: it depends on the page and trailer size. */
static size_t digby__large_prefix(const digby_db *db)
{
    return DIGBY__MIN((size_t)DIGBY__LARGE_PREFIX, (size_t)db->max_cell - 70);
}

/* Check the structure of a branch or leaf page read from disk: every slot
   and every cell inside the page, lengths consistent.  Returns 0 if sound. */
static int digby__node_validate(const digby_db *db, const uint8_t *page)
{
    unsigned type = page[0], n = digby__node_n(page);
    unsigned upper = digby__node_upper(page), garbage = digby__node_garbage(page);
    const uint8_t *end = page + db->usable;
    size_t used = 0;
    unsigned i;
    if (type != DIGBY__PAGE_BRANCH && type != DIGBY__PAGE_LEAF) return 1;
    if ((type == DIGBY__PAGE_BRANCH && page[1] != 0) || n == 0) return 1;
    if (digby__node_slots(page) + 2 * (size_t)n > upper || upper > db->usable) return 1;
    for (i = 0; i < n; i++) {
        unsigned off = digby__node_off(page, i);
        const uint8_t *p = page + off;
        uint64_t klen, a, v;
        size_t k;
        if (off < upper || off >= db->usable) return 1;
        if (type == DIGBY__PAGE_BRANCH) {
            if ((size_t)(end - p) < 17) return 1;
            p += 16;
        }
        k = digby__varint_get(p, end, &klen);
        if (!k) return 1;
        if (type == DIGBY__PAGE_BRANCH && i > 0 && (klen & DIGBY__SEP_TIE) &&
            (klen & ~(uint64_t)DIGBY__SEP_TIE) < DIGBY__SEP_TIE)
            klen &= ~(uint64_t)DIGBY__SEP_TIE; /* a tie separator */
        if (klen > (uint64_t)(end - p - k)) return 1;
        if (type == DIGBY__PAGE_BRANCH && i == 0 && klen != 0) return 1;
        p += k + klen;
        if (type == DIGBY__PAGE_LEAF) {
            k = digby__varint_get(p, end, &a);
            if (!k) return 1;
            p += k;
            if ((a & 7) & ~(uint64_t)DIGBY__CELL_FLAGS_KNOWN) return 1;
            if ((a >> 3) > DIGBY_MAX_VALUE_BYTES) return 1;
            if ((a & DIGBY__CELL_COMPRESSED) && !(a & DIGBY__CELL_OVERFLOW)) return 1;
            k = digby__varint_get(p, end, &v);
            if (!k) return 1;
            p += k;
            if (a & DIGBY__CELL_OVERFLOW) {
                if ((size_t)(end - p) < 8 || (a >> 3) == 0) return 1;
                p += 8;
            } else {
                if ((a >> 3) > (uint64_t)(end - p)) return 1;
                p += (size_t)(a >> 3);
            }
            if (a & DIGBY__CELL_LARGE_KEY) {
                /* its first bytes (with the page prefix) and its hash */
                uint64_t kref;
                if (klen + page[1] != digby__large_prefix(db) + DIGBY__HASH_BYTES) return 1;
                k = digby__varint_get(p, end, &kref);
                if (!k || (kref >> 1) <= db->max_key || (kref >> 1) > DIGBY_MAX_VALUE_BYTES)
                    return 1;
                p += k;
                if ((size_t)(end - p) < 8) return 1;
                p += 8;
            }
        }
        used += (size_t)(p - (page + off));
    }
    if (used + garbage > db->usable - upper) return 1;
    return 0;
}

/* Leaf: index of the first key >= key, *exact set when equal.
   Branch: index of the child whose range holds key (last separator <= key;
   slot 0 is minus infinity).  Compares bytes only: when that cannot decide
   -- the key ties with a large key on all the bytes its cell keeps, or
   falls in the range of a tie separator -- returns DIGBY__SEARCH_SLOW, and
   digby__node_find (52_btree.c) decides with the whole keys. */
#define DIGBY__SEARCH_SLOW 0xFFFFFFFFu
static unsigned digby__node_search(const uint8_t *page, const void *key,
                                   size_t key_bytes, int *exact)
{
    unsigned n = digby__node_n(page), lo, hi, plen = digby__node_plen(page);
    int is_branch = page[0] == DIGBY__PAGE_BRANCH;
    *exact = 0;
    if (plen) {
        /* every key here starts with the prefix: settle the rest first */
        size_t m = key_bytes < plen ? key_bytes : plen;
        int c = m ? memcmp(key, digby__node_prefix(page), m) : 0;
        if (c < 0 || (c == 0 && key_bytes < plen)) return 0;
        if (c > 0) return n;
        key = (const uint8_t *)key + plen;
        key_bytes -= plen;
    }
    lo = is_branch ? 1 : 0;
    hi = n;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        size_t kl;
        const uint8_t *k;
        int c;
        if (is_branch) {
            /* the key length, and whether it is a tie separator's (those
               lengths take three varint bytes) */
            const uint8_t *cp = page + digby__node_off(page, mid) + 16;
            uint64_t raw;
            int tie = 0;
            if (cp[0] < 0x80) {
                kl = cp[0];
                k = cp + 1;
            } else {
                k = digby__vget(cp, &raw);
                tie = (raw & DIGBY__SEP_TIE) != 0;
                kl = (size_t)(raw & ~(uint64_t)DIGBY__SEP_TIE);
            }
            c = digby__keycmp(k, kl, key, key_bytes);
            if (tie && c < 0) {
                /* keys with the separator as a proper prefix need a look
                   at the child (FORMAT.md section 5) */
                if (key_bytes > kl && memcmp(key, k, kl) == 0) return DIGBY__SEARCH_SLOW;
            } else if (tie && c == 0) {
                c = 1; /* the separator itself sorts left of its tie range */
            }
        } else {
            k = digby__node_key(page, mid, &kl);
            if (digby__key_flags(k + kl) & DIGBY__CELL_LARGE_KEY) {
                /* a large key: its cell keeps its first bytes, then its hash */
                size_t real = kl - DIGBY__HASH_BYTES, m = DIGBY__MIN(real, key_bytes);
                c = m ? memcmp(k, key, m) : 0;
                if (c == 0) {
                    if (key_bytes > real) return DIGBY__SEARCH_SLOW;
                    c = 1; /* key is a prefix of the large key */
                }
            } else {
                c = digby__keycmp(k, kl, key, key_bytes);
            }
        }
        if (c < 0) lo = mid + 1;
        else {
            if (c == 0) *exact = 1;
            hi = mid;
            if (c == 0 && is_branch) { lo = mid + 1; break; }
        }
    }
    if (is_branch) return lo - 1;
    return lo;
}

static size_t digby__node_cell_size(const uint8_t *page, unsigned i)
{
    digby__cell c;
    digby__node_cell(page, i, &c);
    return c.size;
}

/* Rewrite the cell area without holes.  tmp: page_size scratch. */
static void digby__node_compact(const digby_db *db, uint8_t *page, uint8_t *tmp)
{
    unsigned n = digby__node_n(page), i, upper = db->usable;
    memcpy(tmp, page, db->usable);
    for (i = 0; i < n; i++) {
        unsigned off = digby__node_off(tmp, i);
        size_t sz = digby__node_cell_size(tmp, i);
        upper -= (unsigned)sz;
        memcpy(page + upper, tmp + off, sz);
        digby__put16(page + digby__node_slots(page) + 2 * i, (uint16_t)upper);
    }
    digby__put16(page + 4, (uint16_t)upper);
    digby__put16(page + 6, 0);
}

/* Insert a cell of sz bytes at slot i.  Returns 0, or 1 when it does not
   fit (the page is unchanged). */
static int digby__node_insert(const digby_db *db, uint8_t *page, unsigned i,
                              const uint8_t *cell, size_t sz, uint8_t *tmp)
{
    unsigned n = digby__node_n(page), upper = digby__node_upper(page);
    size_t contig = upper - (digby__node_slots(page) + 2 * (size_t)n);
    uint8_t *slots = page + digby__node_slots(page);
    if (contig < sz + 2) {
        if (contig + digby__node_garbage(page) < sz + 2) return 1;
        digby__node_compact(db, page, tmp);
        upper = digby__node_upper(page);
    }
    upper -= (unsigned)sz;
    memcpy(page + upper, cell, sz);
    memmove(slots + 2 * (i + 1), slots + 2 * i, 2 * (size_t)(n - i));
    digby__put16(slots + 2 * i, (uint16_t)upper);
    digby__put16(page + 2, (uint16_t)(n + 1));
    digby__put16(page + 4, (uint16_t)upper);
    return 0;
}

static void digby__node_remove(uint8_t *page, unsigned i)
{
    unsigned n = digby__node_n(page);
    size_t sz = digby__node_cell_size(page, i);
    uint8_t *slots = page + digby__node_slots(page);
    unsigned off = digby__node_off(page, i);
    if (off == digby__node_upper(page))
        digby__put16(page + 4, (uint16_t)(off + sz));
    else
        digby__put16(page + 6, (uint16_t)(digby__node_garbage(page) + sz));
    memmove(slots + 2 * i, slots + 2 * (i + 1), 2 * (size_t)(n - i - 1));
    digby__put16(page + 2, (uint16_t)(n - 1));
}

/* Encoders; `out` must have room for the cell (at most db->max_cell bytes
   for cells that go into a page). */
static size_t digby__leaf_cell_encode(uint8_t *out, const void *key, size_t klen,
                                      uint64_t vlen, unsigned flags,
                                      uint64_t version, const void *val,
                                      size_t val_bytes)
{
    size_t n = digby__varint_put(out, klen);
    if (klen) memcpy(out + n, key, klen);
    n += klen;
    n += digby__varint_put(out + n, (vlen << 3) | flags);
    n += digby__varint_put(out + n, version);
    if (val_bytes) memcpy(out + n, val, val_bytes);
    return n + val_bytes;
}

/* After a leaf cell with DIGBY__CELL_LARGE_KEY: the large key's reference. */
static size_t digby__large_key_ref_put(uint8_t *out, uint64_t len, unsigned kflags,
                                    uint64_t root)
{
    size_t n = digby__varint_put(out, (len << 1) | (kflags & DIGBY__KEY_COMPRESSED));
    digby__put64(out + n, root);
    return n + 8;
}

/* A branch cell; tie: klen bytes of a tie separator. */
static size_t digby__sep_cell_encode(uint8_t *out, uint64_t child, uint64_t child_txid,
                                     const void *key, size_t klen, int tie)
{
    size_t n;
    digby__put64(out, child);
    digby__put64(out + 8, child_txid);
    n = 16 + digby__varint_put(out + 16, klen | (tie ? DIGBY__SEP_TIE : 0));
    if (klen) memcpy(out + n, key, klen);
    return n + klen;
}

static size_t digby__branch_cell_encode(uint8_t *out, uint64_t child,
                                        uint64_t child_txid, const void *key,
                                        size_t klen)
{
    return digby__sep_cell_encode(out, child, child_txid, key, klen, 0);
}

/* Point branch slot i at a new child (the cell's first 16 bytes). */
static void digby__branch_set_child(uint8_t *page, unsigned i, uint64_t child,
                                    uint64_t txid)
{
    uint8_t *c = page + digby__node_off(page, i);
    digby__put64(c, child);
    digby__put64(c + 8, txid);
}

/* The longest prefix a leaf may factor out: a quarter-page cell must still
   fit beside it (so a split always succeeds), it fits in a u8, and it never
   reaches past the key bytes a large key's cell keeps. */
static unsigned digby__max_prefix(const digby_db *db)
{
    return (unsigned)DIGBY__MIN((size_t)DIGBY__MIN(255u, db->max_cell / 2),
                                digby__large_prefix(db));
}

/* Bytes a and b share at the start. */
static size_t digby__lcp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn, i = 0;
    while (i < n && a[i] == b[i]) i++;
    return i;
}

/* Copy n bytes where n is usually a key's few: a plain loop, since the
   library memcpy's startup (or the rep movs a compiler puts in its place)
   costs more than such a copy (perf: two thirds of assembling a key). */
static DIGBY__INLINE void digby__copy_small(uint8_t *d, const uint8_t *s, size_t n)
{
    size_t i;
    if (n > 64) { memcpy(d, s, n); return; }
    for (i = 0; i < n; i++) d[i] = s[i];
}

/* Write the full key of leaf cell `c` (from a page with prefix pre/plen)
   to out; returns its length.  out needs plen + c->key_bytes bytes. */
static DIGBY__INLINE size_t digby__full_key(const uint8_t *pre, unsigned plen, const digby__cell *c,
                              uint8_t *out)
{
    digby__copy_small(out, pre, plen);
    digby__copy_small(out + plen, c->key, c->key_bytes);
    return plen + c->key_bytes;
}

/* Re-encode a leaf cell stored under prefix pre/plen for a page whose
   prefix is the first `nplen` bytes of its full key.  Returns the size. */
static size_t digby__leaf_recode(uint8_t *out, const uint8_t *cell, const uint8_t *pre,
                                 unsigned plen, unsigned nplen)
{
    digby__cell c;
    size_t n, rest;
    const uint8_t *tail;
    digby__leaf_cell_at(cell, &c);
    tail = c.key + c.key_bytes;
    rest = c.size - (size_t)(tail - cell);
    n = digby__varint_put(out, plen + c.key_bytes - nplen);
    if (nplen < plen) {
        memcpy(out + n, pre + nplen, plen - nplen);
        n += plen - nplen;
        if (c.key_bytes) memcpy(out + n, c.key, c.key_bytes);
        n += c.key_bytes;
    } else {
        size_t skip = nplen - plen;
        if (c.key_bytes > skip) memcpy(out + n, c.key + skip, c.key_bytes - skip);
        n += c.key_bytes - skip;
    }
    memcpy(out + n, tail, rest);
    return n + rest;
}
