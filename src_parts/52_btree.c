/* The copy-on-write B+ tree.

   Lookups descend from the root with binary search in each page, checking
   that every child carries the transaction id its parent recorded.  Updates
   record the root-to-leaf path in an explicit stack, change the leaf, then
   walk the stack bottom-up: each page on the path is copied to a new page
   number once per transaction (shadowing, Rodeh 2008), splits insert a
   separator into the parent, and a split root grows the tree by one level.
   No recursion anywhere.  Deletion follows Sen & Tarjan's "deletion without
   rebalancing": a page that becomes empty is freed and unlinked from its
   parent; nothing is merged.

   Large keys (FORMAT.md section 6a) sit in their cells as their first
   bytes and SHA-256, the whole key in an overflow item.  Searches compare
   bytes first (digby__node_search) and whole keys only when the first
   bytes tie (digby__node_find); a separator between two keys that share
   more than max_key bytes is a tie separator, resolved by a look at the
   first key of the child to its right. */

typedef struct digby__pathent {
    uint64_t pgno;
    uint64_t txid;
    unsigned idx;
} digby__pathent;

typedef struct digby__span {
    const uint8_t *p;    /* the cell as stored */
    size_t size;         /* its bytes */
    const uint8_t *pre;  /* leaf: the prefix it is stored under */
    unsigned plen;
} digby__span;

/* ---- Keys: large keys and whole-key comparison --------------------------- */

/* The search key for a key the caller passed (all in memory; its hash is
   taken when it is a large key). */
static void digby__skey_mem(const digby_db *db, digby__skey *sk, const void *key,
                            size_t key_bytes)
{
    memset(&sk->k, 0, sizeof(sk->k));
    sk->k.head = (const uint8_t *)key;
    sk->k.head_bytes = key_bytes;
    sk->k.len = key_bytes;
    if (key_bytes > db->max_key) {
        digby__sha256_of(key, key_bytes, sk->hash);
        sk->k.hash = sk->hash;
    }
}

/* The key of leaf cell c (in a page with prefix pre/plen) as a kref; its
   first bytes are copied to buf (page_size bytes). */
static void digby__cell_kref(const uint8_t *pre, unsigned plen, const digby__cell *c,
                             uint8_t *buf, digby__kref *k)
{
    size_t n = digby__full_key(pre, plen, c, buf);
    memset(k, 0, sizeof(*k));
    k->head = buf;
    if (c->flags & DIGBY__CELL_LARGE_KEY) {
        k->head_bytes = n - DIGBY__HASH_BYTES;
        k->hash = buf + k->head_bytes;
        k->len = c->large_len;
        k->root = c->large_root;
        k->version = c->version;
        k->kflags = c->large_flags;
    } else {
        k->head_bytes = n;
        k->len = n;
    }
}

/* Bytes of key k at offset off (< k->len): *p, *n of them, from its head
   or through reader `slot`. */
static int digby__kref_span(digby_txn *txn, const digby__kref *k, unsigned slot,
                            uint64_t off, const uint8_t **p, size_t *n)
{
    digby__rd *rd;
    int rc;
    if (off < k->head_bytes) {
        *p = k->head + off;
        *n = k->head_bytes - (size_t)off;
        return DIGBY_OK;
    }
    if (!k->root) return DIGBY__CORRUPT(txn->db, 0);
    rc = digby__large_scratch_get(txn);
    if (rc) return rc;
    rd = &txn->large->rd[slot];
    rc = digby__rd_open(txn, rd, k->root, k->version, k->len,
                        (k->kflags & DIGBY__KEY_COMPRESSED) != 0);
    if (rc) return rc;
    return digby__rd_span(txn, rd, off, p, n);
}

/* Compare the whole keys a and b (bytes, a proper prefix first): *out <
   0, 0 or > 0.  Equal hashes settle equality; otherwise the bytes past
   those both hold in memory are streamed from the keys' items (readers 0
   and 1). */
static int digby__kcmp(digby_txn *txn, const digby__kref *a, const digby__kref *b, int *out)
{
    size_t m = DIGBY__MIN(a->head_bytes, b->head_bytes);
    uint64_t off = m, end = DIGBY__MIN(a->len, b->len);
    int c = m ? memcmp(a->head, b->head, m) : 0;
    if (c == 0 && (a->head_bytes < a->len || b->head_bytes < b->len)) {
        if (a->len == b->len && a->hash && b->hash &&
            memcmp(a->hash, b->hash, DIGBY__HASH_BYTES) == 0)
            off = end; /* the same key */
        while (off < end) {
            const uint8_t *pa, *pb;
            size_t na, nb, n;
            int rc = digby__kref_span(txn, a, 0, off, &pa, &na);
            if (rc == DIGBY_OK) rc = digby__kref_span(txn, b, 1, off, &pb, &nb);
            if (rc) return rc;
            n = (size_t)DIGBY__MIN((uint64_t)DIGBY__MIN(na, nb), end - off);
            c = memcmp(pa, pb, n);
            if (c) break;
            off += n;
        }
    }
    if (c == 0) c = a->len < b->len ? -1 : (a->len > b->len ? 1 : 0);
    *out = c;
    return DIGBY_OK;
}

/* Does key k start with s[0, n) (reader 1 for its item)? */
static int digby__kref_starts(digby_txn *txn, const digby__kref *k, const uint8_t *s,
                              size_t n, int *yes)
{
    uint64_t off = 0;
    *yes = 0;
    if (k->len < n) return DIGBY_OK;
    while (off < n) {
        const uint8_t *p;
        size_t m;
        int rc = digby__kref_span(txn, k, 1, off, &p, &m);
        if (rc) return rc;
        if (m > n - off) m = n - (size_t)off;
        if (memcmp(p, s + off, m) != 0) return DIGBY_OK;
        off += m;
    }
    *yes = 1;
    return DIGBY_OK;
}

/* The first key under slot idx of branch `page`, whose children are
   `below` levels deep: down the leftmost path (a tie separator's look). */
static int digby__first_key(digby_txn *txn, const uint8_t *page, unsigned idx,
                            unsigned below, digby__kref *out)
{
    digby_db *db = txn->db;
    digby__cell c;
    uint64_t pgno, txid;
    unsigned l;
    int rc = digby__large_scratch_get(txn);
    if (rc) return rc;
    digby__node_cell(page, idx, &c);
    pgno = c.child;
    txid = c.child_txid;
    for (l = 0; l < below; l++) {
        const uint8_t *p;
        digby__frame *f;
        int want_leaf = l + 1 == below;
        rc = digby__page_get(txn, pgno, txid, &p, &f);
        if (rc) return rc;
        if (p[0] != (want_leaf ? DIGBY__PAGE_LEAF : DIGBY__PAGE_BRANCH)) {
            digby__page_unpin(db, f);
            return DIGBY__CORRUPT(db, pgno);
        }
        digby__node_cell(p, 0, &c);
        if (want_leaf) {
            digby__cell_kref(digby__node_prefix(p), digby__node_plen(p), &c, txn->large->pbuf, out);
            digby__page_unpin(db, f);
            return DIGBY_OK;
        }
        pgno = c.child;
        txid = c.child_txid;
        digby__page_unpin(db, f);
    }
    return DIGBY__CORRUPT(db, pgno);
}

/* Order of separator slot i of a branch (children `below` levels deep)
   against key k: < 0 when k belongs at or right of slot i's child. */
static int digby__sep_cmp(digby_txn *txn, const uint8_t *page, unsigned i, unsigned below,
                          const digby__kref *k, int *out)
{
    digby__kref s;
    size_t kl;
    int rc, in_range;
    memset(&s, 0, sizeof(s));
    s.head = digby__node_key(page, i, &kl);
    s.head_bytes = kl;
    s.len = kl;
    rc = digby__kcmp(txn, &s, k, out);
    if (rc || !digby__branch_tie(page, i)) return rc;
    /* a tie separator: k belongs right of it when k is past its range, or
       in its range (s a proper prefix of k) and not below the first key of
       the child to its right */
    if (*out >= 0) { *out = 1; return DIGBY_OK; }
    rc = digby__kref_starts(txn, k, s.head, kl, &in_range);
    if (rc || !in_range || k->len == kl) return rc;
    rc = digby__first_key(txn, page, i, below, &s);
    if (rc == DIGBY_OK) rc = digby__kcmp(txn, &s, k, out);
    if (rc == DIGBY_OK) *out = *out <= 0 ? -1 : 1;
    return rc;
}

/* digby__node_search for any key: whole keys decide where the bytes in
   the page cannot.  below: levels under a branch page. */
static int digby__node_find(digby_txn *txn, const uint8_t *page, unsigned below,
                            const digby__kref *k, unsigned *idx, int *exact)
{
    unsigned n = digby__node_n(page), lo, hi, plen = digby__node_plen(page);
    int is_branch = page[0] == DIGBY__PAGE_BRANCH, rc, c;
    if (k->head_bytes == k->len) {
        unsigned r = digby__node_search(page, k->head, k->head_bytes, exact);
        if (r != DIGBY__SEARCH_SLOW) { *idx = r; return DIGBY_OK; }
    }
    *exact = 0;
    rc = digby__large_scratch_get(txn);
    if (rc) return rc;
    if (plen) {
        /* every key here starts with the prefix */
        digby__kref pre;
        int starts;
        memset(&pre, 0, sizeof(pre));
        pre.head = digby__node_prefix(page);
        pre.head_bytes = plen;
        pre.len = plen;
        rc = digby__kcmp(txn, k, &pre, &c);
        if (rc == DIGBY_OK && c > 0) rc = digby__kref_starts(txn, k, pre.head, plen, &starts);
        if (rc) return rc;
        if (c < 0) { *idx = 0; return DIGBY_OK; }
        if (c > 0 && !starts) { *idx = n; return DIGBY_OK; }
    }
    lo = is_branch ? 1 : 0;
    hi = n;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (is_branch) {
            rc = digby__sep_cmp(txn, page, mid, below, k, &c);
        } else {
            digby__cell cell;
            digby__kref ck;
            digby__node_cell(page, mid, &cell);
            digby__cell_kref(digby__node_prefix(page), plen, &cell, txn->large->kbuf, &ck);
            rc = digby__kcmp(txn, &ck, k, &c);
        }
        if (rc) return rc;
        if (c < 0) lo = mid + 1;
        else {
            if (c == 0) *exact = 1;
            hi = mid;
            if (c == 0 && is_branch) { lo = mid + 1; break; }
        }
    }
    *idx = is_branch ? lo - 1 : lo;
    return DIGBY_OK;
}

/* Descend to the leaf that holds (or would hold) key k.  Fills path[0 ..
   depth-1] and leaves the leaf pinned in *leaf / *pin.  The tree must be
   non-empty. */
static int digby__descend(digby_txn *txn, const digby__tree *t, const digby__kref *k,
                          digby__pathent *path, const uint8_t **leaf,
                          digby__frame **pin, int *exact)
{
    digby_db *db = txn->db;
    uint64_t pgno = t->root, txid = t->root_txid;
    uint32_t level;
    int rc;
    if (t->depth == 0 || t->depth > DIGBY__MAX_DEPTH) return DIGBY__CORRUPT(db, t->root);
    for (level = 0; level < t->depth; level++) {
        const uint8_t *page;
        digby__frame *f;
        unsigned idx;
        int want_leaf = level + 1 == t->depth;
        rc = digby__page_get(txn, pgno, txid, &page, &f);
        if (rc) return rc;
        if (page[0] != (want_leaf ? DIGBY__PAGE_LEAF : DIGBY__PAGE_BRANCH)) {
            digby__page_unpin(db, f);
            return DIGBY__CORRUPT(db, pgno);
        }
        rc = digby__node_find(txn, page, t->depth - level - 1, k, &idx, exact);
        if (rc) { digby__page_unpin(db, f); return rc; }
        path[level].pgno = pgno;
        path[level].txid = txid;
        path[level].idx = idx;
        if (want_leaf) {
            *leaf = page;
            *pin = f;
            return DIGBY_OK;
        }
        {
            digby__cell c;
            digby__branch_cell_at(page + digby__node_off(page, idx), &c);
            pgno = c.child;
            txid = c.child_txid;
        }
        digby__page_unpin(db, f);
    }
    return DIGBY__CORRUPT(db, t->root);
}

/* Copy a leaf cell's value into *dst (grown as needed). */
static int digby__cell_value(digby_txn *txn, const digby__cell *c, uint8_t **dst,
                             size_t *cap)
{
    const digby_allocator *a = &txn->db->alloc;
    int rc;
    if (c->vlen > (uint64_t)SIZE_MAX - 1) return DIGBY_NOMEM;
    rc = digby__reserve(a, dst, cap, (size_t)c->vlen + 1);
    if (rc) return rc;
    if (c->flags & DIGBY__CELL_OVERFLOW)
        return digby__item_read(txn, 2, digby__get64(c->val), c->version, c->vlen,
                                (c->flags & DIGBY__CELL_COMPRESSED) != 0, *dst);
    if (c->vlen) memcpy(*dst, c->val, (size_t)c->vlen);
    return DIGBY_OK;
}

/* Find key's leaf cell: *c, valid until digby__page_unpin(*pin) (on
   DIGBY_OK only).  Returns DIGBY_OK, DIGBY_NOTFOUND, or a read's error. */
static int digby__btree_find(digby_txn *txn, const digby__tree *t, const void *key,
                             size_t key_bytes, digby__cell *c, digby__frame **pin)
{
    digby__pathent path[DIGBY__MAX_DEPTH];
    const uint8_t *leaf;
    digby__skey sk;
    int exact, rc;
    if (t->root == 0) return DIGBY_NOTFOUND;
    digby__skey_mem(txn->db, &sk, key, key_bytes);
    rc = digby__descend(txn, t, &sk.k, path, &leaf, pin, &exact);
    if (rc) return rc;
    if (!exact) { digby__page_unpin(txn->db, *pin); return DIGBY_NOTFOUND; }
    digby__node_cell(leaf, path[t->depth - 1].idx, c);
    return DIGBY_OK;
}

static int digby__btree_get(digby_txn *txn, digby__tree *t, const void *key,
                            size_t key_bytes, const void **val, size_t *vlen,
                            uint64_t *version)
{
    digby__frame *pin;
    digby__cell c;
    int rc = digby__btree_find(txn, t, key, key_bytes, &c, &pin);
    if (rc) return rc;
    rc = digby__cell_value(txn, &c, &txn->scratch, &txn->scratch_cap);
    digby__page_unpin(txn->db, pin);
    if (rc) return rc;
    *val = txn->scratch;
    *vlen = (size_t)c.vlen;
    if (version) *version = c.version;
    return DIGBY_OK;
}

/* Shortest key s with left < s <= right (suffix truncation of separators). */
static size_t digby__separator(const uint8_t *left, size_t ll, const uint8_t *right,
                               size_t rl)
{
    size_t i = 0;
    while (i < ll && i < rl && left[i] == right[i]) i++;
    return i < rl ? i + 1 : rl;
}

/* Gather the cells of `page` (copied to `copy`) into v[0 ..], with `cell`
   (sz bytes, stored with its full key) inserted at slot idx when cell is
   not NULL.  Returns the number of spans. */
static unsigned digby__gather(const digby_db *db, const uint8_t *page, uint8_t *copy,
                              digby__span *v, unsigned idx, const uint8_t *cell,
                              size_t sz)
{
    unsigned n = digby__node_n(page), total = n + (cell != NULL), j;
    memcpy(copy, page, db->usable);
    for (j = 0; j < total; j++) {
        if (cell && j == idx) {
            v[j].p = cell;
            v[j].size = sz;
            v[j].pre = NULL;
            v[j].plen = 0;
        } else {
            unsigned src = (cell && j > idx) ? j - 1 : j;
            v[j].p = copy + digby__node_off(copy, src);
            v[j].size = digby__node_cell_size(copy, src);
            v[j].pre = digby__node_prefix(copy);
            v[j].plen = digby__node_plen(copy);
        }
    }
    return total;
}

/* The key of a leaf span as its page would store it under no prefix (a
   large key: its first bytes and hash), written to out; returns the bytes
   of it that are key bytes (a large key: without the hash), the most a
   page prefix may take from it. */
static size_t digby__span_key(const digby__span *v, uint8_t *out)
{
    digby__cell c;
    size_t n;
    digby__leaf_cell_at(v->p, &c);
    n = digby__full_key(v->pre, v->plen, &c, out);
    return (c.flags & DIGBY__CELL_LARGE_KEY) ? n - DIGBY__HASH_BYTES : n;
}

/* The first min(len, limit) bytes of a leaf span's whole key, to out: *n
   of them; *len is the whole key's length.  A large key's bytes past its
   cell are read from its item. */
static int digby__span_head(digby_txn *txn, const digby__span *v, uint8_t *out,
                            size_t limit, size_t *n, uint64_t *len)
{
    digby__cell c;
    size_t k;
    digby__leaf_cell_at(v->p, &c);
    k = digby__full_key(v->pre, v->plen, &c, out);
    if (!(c.flags & DIGBY__CELL_LARGE_KEY)) {
        *len = k;
        *n = DIGBY__MIN(k, limit);
        return DIGBY_OK;
    }
    *len = c.large_len;
    k -= DIGBY__HASH_BYTES;
    *n = (size_t)DIGBY__MIN((uint64_t)limit, c.large_len);
    if (*n > k) {
        int rc = digby__large_scratch_get(txn);
        digby__rd *rd;
        if (rc) return rc;
        rd = &txn->large->rd[2];
        rc = digby__rd_open(txn, rd, c.large_root, c.version, c.large_len,
                            (c.large_flags & DIGBY__KEY_COMPRESSED) != 0);
        if (rc == DIGBY_OK) rc = digby__rd_read(txn, rd, k, out + k, *n - k);
        if (rc) return rc;
    }
    return DIGBY_OK;
}

/* Bytes a span takes with its full key (an upper bound for any prefix). */
static size_t digby__span_full(const digby__span *v, int leaf)
{
    digby__cell c;
    if (!leaf || v->plen == 0) return v->size;
    digby__leaf_cell_at(v->p, &c);
    return v->size + v->plen + digby__varint_len(v->plen + c.key_bytes) -
           digby__varint_len(c.key_bytes);
}

/* Choose where spans [0, total) divide into a left and a right page that
   both fit in `cap` bytes, with each leaf page factoring out the prefix its
   first and last keys share.  `want` (1 .. total-1) is taken if it fits;
   else the feasible split nearest the byte midpoint.  Returns 0 and *k, or
   1 if no split fits (only possible when sharing with a sibling).  Sets
   txn->lcpl[k-1] and txn->lcpr[k] for digby__lay_out; sizes are upper
   bounds (see span_full).  Uses txn->sep, cell and cell2 as scratch. */
static int digby__choose(digby_txn *txn, const digby__span *v, unsigned total,
                         size_t cap, unsigned want, unsigned *k)
{
    digby_db *db = txn->db;
    int leaf = txn->spans_leaf;
    size_t *f = txn->fsum;
    uint16_t *ll = txn->lcpl, *lr = txn->lcpr;
    unsigned j, mid, step, maxp = digby__max_prefix(db);
    uint8_t *first = txn->sep, *last = txn->cell, *b = txn->cell2;
    size_t fn = 0, ln = 0;
    f[0] = 0;
    for (j = 0; j < total; j++) f[j + 1] = f[j] + digby__span_full(&v[j], leaf) + 2;
    if (leaf) {
        fn = digby__span_key(&v[0], first);
        ln = digby__span_key(&v[total - 1], last);
    }
    for (mid = 1; mid < total - 1 && f[mid] * 2 < f[total]; mid++) {}
    /* candidates: the preferred split, then outwards from the middle; the
       first that fits is taken (only its two prefixes are computed) */
    for (step = 0; step < 2 * total + 1; step++) {
        size_t mL = 0, mR = 0, L, R, bn;
        if (step == 0) {
            if (!want || want >= total) continue;
            j = want;
        } else {
            unsigned d = step / 2; /* mid, mid+1, mid-1, mid+2, mid-2, ... */
            if (step & 1) { if (mid < d + 1) continue; j = mid - d; }
            else j = mid + d;
            if (j < 1 || j >= total) continue;
        }
        if (leaf) {
            bn = digby__span_key(&v[j - 1], b);
            mL = DIGBY__MIN((size_t)maxp, j > 1 ? digby__lcp(first, fn, b, bn) : fn);
            bn = digby__span_key(&v[j], b);
            mR = DIGBY__MIN((size_t)maxp, j + 1 < total ? digby__lcp(b, bn, last, ln) : ln);
            ll[j - 1] = (uint16_t)mL;
            lr[j] = (uint16_t)mR;
        }
        L = f[j] - (size_t)(j - 1) * mL;
        R = (f[total] - f[j]) - (size_t)(total - j - 1) * mR;
        if (L <= cap && R <= cap) { *k = j; return 0; }
    }
    return 1;
}

/* Whether leaf span v's whole key starts with the m bytes at pre.  In a
   sound leaf every key between the first and the last shares the prefix
   those two share; one whose keys are out of order (damage the page
   checks do not see: they do not compare keys) may break that. */
static int digby__span_starts(const digby__span *v, const uint8_t *pre, size_t m)
{
    digby__cell c;
    size_t kb, a;
    digby__leaf_cell_at(v->p, &c);
    kb = c.key_bytes - ((c.flags & DIGBY__CELL_LARGE_KEY) ? DIGBY__HASH_BYTES : 0);
    if ((size_t)v->plen + kb < m) return 0;
    a = DIGBY__MIN((size_t)v->plen, m);
    if (a && memcmp(v->pre, pre, a) != 0) return 0;
    return a == m || memcmp(c.key, pre + a, m - a) == 0;
}

/* Rebuild `page` from empty with spans [from, to), factoring out `m` bytes
   of prefix (leaves).  The spans must fit (digby__choose).  A span whose
   key does not start with the prefix (keys out of order: damage) is
   DIGBY_CORRUPT, not a cell recoded with a length that wraps around. */
static int digby__fill(digby_txn *txn, const digby__span *v, unsigned from, unsigned to,
                       uint8_t *page, unsigned m)
{
    digby_db *db = txn->db;
    int is_branch = page[0] == DIGBY__PAGE_BRANCH;
    unsigned j;
    page[1] = (uint8_t)m;
    if (m) {
        size_t kn = digby__span_key(&v[from], txn->cell2);
        DIGBY_ASSERT(kn >= m);
        (void)kn;
        memcpy(page + DIGBY__HDR, txn->cell2, m);
    }
    digby__put16(page + 2, 0);
    digby__put16(page + 4, (uint16_t)db->usable);
    digby__put16(page + 6, 0);
    for (j = from; j < to; j++) {
        const uint8_t *p = v[j].p;
        size_t sz = v[j].size;
        if (is_branch && j == from && from > 0) {
            /* a right page's first key becomes minus infinity */
            sz = digby__branch_cell_encode(txn->cell2, digby__get64(p),
                                           digby__page_pgno(p), NULL, 0);
            p = txn->cell2;
        } else if (!is_branch && m && !digby__span_starts(&v[j], page + DIGBY__HDR, m)) {
            return DIGBY__CORRUPT(db, digby__page_pgno(page));
        } else if (!is_branch && v[j].plen != m) {
            sz = digby__leaf_recode(txn->cell2, p, v[j].pre, v[j].plen, m);
            p = txn->cell2;
        }
        if (digby__node_insert(db, page, j - from, p, sz, NULL))
            return DIGBY__CORRUPT(db, digby__page_pgno(page));
    }
    return DIGBY_OK;
}

/* Lay spans [0, k) out in `left` and [k, total) in `right`, and put the
   separator key in txn->sep.  Call digby__choose first. */
static int digby__lay_out(digby_txn *txn, const digby__span *v, unsigned total,
                          unsigned k, uint8_t *left, uint8_t *right,
                          size_t *sep_bytes)
{
    int leaf = left[0] == DIGBY__PAGE_LEAF;
    int rc;
    if (!leaf) {
        digby__cell c;
        digby__branch_cell_at(v[k].p, &c);
        memcpy(txn->sep, c.key, c.key_bytes);
        *sep_bytes = c.key_bytes;
        txn->sep_tie = (int)c.tie;
    } else {
        /* from the first max_key + 1 bytes of both keys: a separator of at
           most that many bytes, or, when they share more than max_key
           bytes, a tie separator of max_key (FORMAT.md section 5) */
        size_t lim = txn->db->max_key + 1, ln, rn, i;
        uint64_t llen, rlen;
        rc = digby__span_head(txn, &v[k - 1], txn->cell2, lim, &ln, &llen);
        if (rc == DIGBY_OK) rc = digby__span_head(txn, &v[k], txn->sep, lim, &rn, &rlen);
        if (rc) return rc;
        i = digby__lcp(txn->cell2, ln, txn->sep, rn);
        txn->sep_tie = 0;
        if ((i < ln || ln == llen) && i < rn) {
            *sep_bytes = digby__separator(txn->cell2, ln, txn->sep, rn);
        } else if (ln == lim && rn == lim) {
            *sep_bytes = txn->db->max_key;
            txn->sep_tie = 1;
        } else {
            return DIGBY__CORRUPT(txn->db, digby__page_pgno(left));
        }
    }
    /* the spans point into copies (txn->tmp, tmp2) or txn->cell3, so both
       pages can be rebuilt in place; digby__fill only uses txn->cell2 */
    rc = digby__fill(txn, v, 0, k, left, leaf ? txn->lcpl[k - 1] : 0);
    if (rc == DIGBY_OK) rc = digby__fill(txn, v, k, total, right, leaf ? txn->lcpr[k] : 0);
    return rc;
}

/* Split a full page (dirty) while inserting `cell` (full key) at slot idx.
   The lower cells stay in `page`; the upper ones move to a new right page.
   Returns the right page number and the separator key (in txn->sep). */
static int digby__split(digby_txn *txn, uint8_t *page, unsigned idx,
                        const uint8_t *cell, size_t sz, uint64_t *right_pgno,
                        size_t *sep_bytes)
{
    digby_db *db = txn->db;
    digby__span *v = txn->spans;
    unsigned n = digby__node_n(page), total, k, want = 0;
    int is_branch = page[0] == DIGBY__PAGE_BRANCH;
    uint8_t *right;
    int rc;
    total = digby__gather(db, page, txn->tmp, v, idx, cell, sz);
    txn->spans_leaf = !is_branch;
    /* appends (and prepends) leave the old page full: sequential loads
       fill their pages; otherwise split evenly */
    if (idx == n) want = n;
    else if (idx == 0 && !is_branch) want = 1;
    if (digby__choose(txn, v, total, db->usable - DIGBY__HDR, want, &k))
        return DIGBY__CORRUPT(db, digby__page_pgno(page));
    rc = digby__page_new(txn, page[0], &right, right_pgno);
    if (rc) return rc;
    return digby__lay_out(txn, v, total, k, page, right, sep_bytes);
}

static int digby__fix_parents(digby_txn *txn, digby__tree *t, digby__pathent *path,
                              int level, uint64_t new_pgno, int split,
                              uint64_t right, size_t sep_bytes);

/* Bytes a node's cells, slots and prefix take. */
static size_t digby__node_used(const digby_db *db, const uint8_t *page)
{
    return (db->usable - digby__node_upper(page) - digby__node_garbage(page)) +
           2 * (size_t)digby__node_n(page) + digby__node_plen(page);
}

/* A full leaf (dirty `page`, at path level `level`, now at `pgno`) that
   has a sibling under the same parent with room shares its cells with it
   instead of splitting: the two pages are rebuilt half and half and the
   parent gets a new separator (deferred splitting, as in Knuth's B*-tree).
   Random inserts then leave pages about 85% full instead of 69%, which
   shrinks the file and the cache it needs.  *done is 0 when no sibling had
   room; nothing was changed then. */
static int digby__share(digby_txn *txn, digby__tree *t, digby__pathent *path,
                        int level, uint8_t *page, uint64_t pgno, unsigned idx,
                        const uint8_t *cell, size_t sz, int *done)
{
    digby_db *db = txn->db;
    digby__pathent *up = &path[level - 1];
    size_t cap = db->usable - DIGBY__HDR, mine = digby__node_used(db, page) + sz + 2;
    const uint8_t *parent;
    digby__frame *pin;
    int side, rc;
    *done = 0;
    rc = digby__page_get(txn, up->pgno, up->txid, &parent, &pin);
    if (rc) return rc;
    for (side = 1; side >= -1; side -= 2) {
        unsigned pn = digby__node_n(parent), s, a, total, k;
        digby__cell sc;
        const uint8_t *sib;
        digby__frame *spin;
        uint8_t *sbuf, *left, *right;
        uint64_t spgno, left_pgno, right_pgno;
        size_t sep_bytes;
        if (side > 0 ? up->idx + 1 >= pn : up->idx == 0) continue;
        s = side > 0 ? up->idx + 1 : up->idx - 1;
        digby__node_cell(parent, s, &sc);
        rc = digby__page_get(txn, sc.child, sc.child_txid, &sib, &spin);
        if (rc) break;
        if (sib[0] != DIGBY__PAGE_LEAF) {
            digby__page_unpin(db, spin);
            rc = DIGBY__CORRUPT(db, sc.child);
            break;
        }
        /* worth it only if both end up at most 95% full (90% left the
           file 2.5% larger after random loads; 97.5% gained little more) */
        if ((mine + digby__node_used(db, sib)) * 10 > cap * 19) {
            digby__page_unpin(db, spin);
            continue;
        }
        /* lay the cells out from copies (the sibling's is taken before it
           is made writable, which changes nothing in it) */
        if (side > 0) {
            total = digby__gather(db, page, txn->tmp, txn->spans, idx, cell, sz);
            total += digby__gather(db, sib, txn->tmp2, txn->spans + total, 0, NULL, 0);
        } else {
            total = digby__gather(db, sib, txn->tmp2, txn->spans, 0, NULL, 0);
            total += digby__gather(db, page, txn->tmp, txn->spans + total, idx, cell, sz);
        }
        digby__page_unpin(db, spin);
        txn->spans_leaf = 1;
        if (digby__choose(txn, txn->spans, total, cap, 0, &k))
            continue; /* a large cell in the way */
        digby__page_unpin(db, pin);
        pin = NULL;
        rc = digby__page_touch(txn, sc.child, sc.child_txid, &sbuf, &spgno);
        if (rc) return rc;
        if (side > 0) {
            left = page; right = sbuf; left_pgno = pgno; right_pgno = spgno;
            a = up->idx;
        } else {
            left = sbuf; right = page; left_pgno = spgno; right_pgno = pgno;
            a = s;
        }
        rc = digby__lay_out(txn, txn->spans, total, k, left, right, &sep_bytes);
        if (rc) return rc;
        /* the parent now points at left (slot a) and, through a new
           separator, at right (slot a + 1, replacing the old entry) */
        up->idx = a;
        *done = 1;
        return digby__fix_parents(txn, t, path, level, left_pgno, 2, right_pgno, sep_bytes);
    }
    digby__page_unpin(db, pin);
    return rc;
}

/* After the page at path level `level` moved to new_pgno (and maybe split,
   giving right/sep), fix the parents up to the root.  split == 2: the page
   shared its cells with its right neighbour `right`, whose old entry in the
   parent (slot idx + 1) is replaced by one with the new separator. */
static int digby__fix_parents(digby_txn *txn, digby__tree *t, digby__pathent *path,
                              int level, uint64_t new_pgno, int split,
                              uint64_t right, size_t sep_bytes)
{
    digby_db *db = txn->db;
    int rc;
    for (level = level - 1; level >= 0; level--) {
        uint8_t *page;
        uint64_t ppgno;
        if (!split && new_pgno == path[level + 1].pgno) return DIGBY_OK;
        rc = digby__page_touch(txn, path[level].pgno, path[level].txid, &page, &ppgno);
        if (rc) return rc;
        if (page[0] != DIGBY__PAGE_BRANCH || path[level].idx >= digby__node_n(page))
            return DIGBY__CORRUPT(db, ppgno);
        digby__branch_set_child(page, path[level].idx, new_pgno, txn->txid);
        if (split == 2) {
            if (path[level].idx + 1 >= digby__node_n(page))
                return DIGBY__CORRUPT(db, ppgno);
            digby__node_remove(page, path[level].idx + 1);
            split = 1;
        }
        if (split) {
            size_t sz = digby__sep_cell_encode(txn->cell, right, txn->txid,
                                               txn->sep, sep_bytes, txn->sep_tie);
            unsigned at = path[level].idx + 1;
            if (digby__node_insert(db, page, at, txn->cell, sz, txn->tmp)) {
                uint64_t r2;
                size_t s2;
                memcpy(txn->cell3, txn->cell, sz);
                rc = digby__split(txn, page, at, txn->cell3, sz, &r2, &s2);
                if (rc) return rc;
                right = r2;
                sep_bytes = s2;
            } else {
                split = 0;
            }
        }
        new_pgno = ppgno;
    }
    if (split) {
        /* the root split: grow a level */
        uint8_t *root;
        uint64_t rp;
        size_t sz;
        if (t->depth >= DIGBY__MAX_DEPTH) return DIGBY_FULL;
        rc = digby__page_new(txn, DIGBY__PAGE_BRANCH, &root, &rp);
        if (rc) return rc;
        sz = digby__branch_cell_encode(txn->cell, new_pgno, txn->txid, NULL, 0);
        digby__node_insert(db, root, 0, txn->cell, sz, NULL);
        sz = digby__sep_cell_encode(txn->cell, right, txn->txid, txn->sep, sep_bytes,
                                    txn->sep_tie);
        digby__node_insert(db, root, 1, txn->cell, sz, NULL);
        new_pgno = rp;
        t->depth++;
    }
    t->root = new_pgno;
    t->root_txid = txn->txid;
    return DIGBY_OK;
}

/* Appends: when the last put of this transaction went to the end of the
   tree's rightmost leaf and that leaf (with its whole path) is already
   dirty, a key beyond its last key goes straight there -- no descent, no
   parent to fix.  Sequential loads run at memcpy speed.  Returns 1 if it
   stored the entry. */
static int digby__append_fast(digby_txn *txn, digby__tree *t, const void *key,
                              size_t key_bytes, const void *val, size_t vlen)
{
    digby_db *db = txn->db;
    uint8_t *leaf;
    unsigned n, plen;
    size_t kl, sz;
    const uint8_t *k;
    int c;
    if (txn->hint_tree != t || txn->hint_mod != txn->mod || t->root != txn->hint_root ||
        t->root_txid != txn->txid)
        return 0;
    leaf = digby__dirty_get(txn, txn->hint_leaf);
    if (!leaf || leaf[0] != DIGBY__PAGE_LEAF) return 0;
    n = digby__node_n(leaf);
    plen = digby__node_plen(leaf);
    if (n == 0 || key_bytes < plen || key_bytes > db->max_key ||
        (plen && memcmp(key, digby__node_prefix(leaf), plen) != 0) ||
        digby__leaf_large(leaf, n - 1))
        return 0;
    k = digby__node_key(leaf, n - 1, &kl);
    c = digby__keycmp((const uint8_t *)key + plen, key_bytes - plen, k, kl);
    if (c <= 0) return 0;
    if (digby__varint_len(key_bytes) + key_bytes + digby__varint_len((uint64_t)vlen << 3) +
        digby__varint_len(DIGBY__VERSION(txn)) + vlen > db->max_cell)
        return 0;
    sz = digby__leaf_cell_encode(txn->cell, (const uint8_t *)key + plen, key_bytes - plen,
                                 vlen, 0, DIGBY__VERSION(txn), val, vlen);
    if (digby__node_insert(db, leaf, n, txn->cell, sz, txn->tmp)) return 0;
    t->entries++;
    txn->hint_mod = txn->mod + 1; /* digby_txn_put bumps mod next */
    return 1;
}

/* After a put that appended: remember the rightmost leaf if its whole path
   is dirty and none of it frozen by a savepoint (61_savepoint.c), for
   digby__append_fast, which writes the leaf in place.  The put may have
   appended to a leaf other than the rightmost one, leaving the rightmost
   path as the transaction wrote it before its newest savepoint. */
static void digby__append_hint(digby_txn *txn, digby__tree *t)
{
    uint64_t pgno = t->root;
    uint32_t level;
    txn->hint_tree = NULL;
    if (t->root_txid != txn->txid) return;
    for (level = 0; level < t->depth; level++) {
        const uint8_t *p = digby__dirty_get(txn, pgno);
        digby__cell c;
        if (!p || (txn->nsp && digby__sp_frozen(txn, pgno))) return;
        if (p[0] == DIGBY__PAGE_LEAF) {
            txn->hint_tree = t;
            txn->hint_root = t->root;
            txn->hint_leaf = pgno;
            txn->hint_mod = txn->mod + 1;
            return;
        }
        digby__node_cell(p, digby__node_n(p) - 1, &c);
        if (c.child_txid != txn->txid) return;
        pgno = c.child;
    }
}

/* A new leaf entry: its key (bytes, or a large key's first bytes and hash
   plus its item) and its value (inline bytes, or an item). */
typedef struct digby__entry {
    const uint8_t *kh;             /* the key, or a large key's cell bytes */
    size_t kh_bytes;
    uint64_t klen;                 /* the whole key */
    int large;
    uint64_t kroot;                /* large key: its item */
    unsigned kflags;               /* ... DIGBY__KEY_COMPRESSED */
    const uint8_t *val;            /* inline value */
    uint64_t vlen;
    unsigned vflags;               /* DIGBY__CELL_OVERFLOW | _COMPRESSED */
    uint64_t vroot;                /* the value's item */
} digby__entry;

/* Where a key is, or would go: the path to its leaf and, when it is there,
   the overflow items of the entry (freed when the entry is replaced). */
typedef struct digby__loc {
    digby__pathent path[DIGBY__MAX_DEPTH];
    unsigned idx;
    int exact;
    uint64_t version;              /* the entry's */
    digby__cell_item items[2];     /* its overflow items (digby__cell_items) */
    unsigned nitems;
} digby__loc;

static int digby__locate(digby_txn *txn, digby__tree *t, const digby__kref *k,
                         digby__loc *loc)
{
    const uint8_t *leaf = NULL;
    digby__frame *pin = NULL;
    digby__cell c;
    int rc;
    memset(loc, 0, sizeof(*loc));
    if (!t->root) return DIGBY_OK;
    rc = digby__descend(txn, t, k, loc->path, &leaf, &pin, &loc->exact);
    if (rc) return rc;
    loc->idx = loc->path[t->depth - 1].idx;
    if (loc->exact) {
        digby__node_cell(leaf, loc->idx, &c);
        loc->version = c.version;
        loc->nitems = digby__cell_items(leaf, loc->idx, &c, loc->items);
    }
    digby__page_unpin(txn->db, pin);
    return DIGBY_OK;
}

/* Free the overflow items of the entry loc found. */
static int digby__loc_free(digby_txn *txn, const digby__loc *loc)
{
    unsigned k;
    int rc = DIGBY_OK;
    for (k = 0; k < loc->nitems && rc == DIGBY_OK; k++)
        rc = digby__item_free(txn, loc->items[k].root, loc->version, loc->items[k].len,
                              loc->items[k].compressed);
    return rc;
}

/* Compress the overflow items of a put? */
static int digby__put_lz4(const digby_db *db, unsigned flags)
{
    if (flags & DIGBY_PUT_NO_COMPRESS) return 0;
    return (flags & DIGBY_PUT_COMPRESS) || db->compression == DIGBY_COMPRESS_LZ4;
}

/* Bytes of a leaf cell for key head kh (kh_bytes: the key, or a large
   key's first bytes and hash) with a vlen-byte inline value. */
static uint64_t digby__inline_size(const digby_txn *txn, const digby__entry *e, uint64_t vlen)
{
    uint64_t n = digby__varint_len(e->kh_bytes) + e->kh_bytes +
                 digby__varint_len(vlen << 3) + digby__varint_len(DIGBY__VERSION(txn)) + vlen;
    if (e->large) n += digby__varint_len(e->klen << 1) + 8;
    return n;
}

/* The leaf cell of entry e (with its whole key), to out. */
static size_t digby__entry_cell(const digby_txn *txn, const digby__entry *e, uint8_t *out)
{
    unsigned flags = e->vflags | (e->large ? DIGBY__CELL_LARGE_KEY : 0);
    size_t n;
    if (e->vflags & DIGBY__CELL_OVERFLOW) {
        uint8_t ref[8];
        digby__put64(ref, e->vroot);
        n = digby__leaf_cell_encode(out, e->kh, e->kh_bytes, e->vlen, flags, DIGBY__VERSION(txn),
                                    ref, 8);
    } else {
        n = digby__leaf_cell_encode(out, e->kh, e->kh_bytes, e->vlen, flags, DIGBY__VERSION(txn),
                                    e->val, (size_t)e->vlen);
    }
    if (e->large) n += digby__large_key_ref_put(out + n, e->klen, e->kflags, e->kroot);
    return n;
}

/* Put entry e where loc says, replacing the entry there (whose overflow
   items are freed).  e's own items are written already. */
static int digby__btree_store(digby_txn *txn, digby__tree *t, digby__loc *loc,
                              const digby__entry *e)
{
    digby_db *db = txn->db;
    digby__pathent *path = loc->path;
    int exact = loc->exact, rc = DIGBY_OK, level;
    uint64_t new_pgno, right = 0;
    size_t sz, sep_bytes = 0;
    uint8_t *page;
    unsigned idx = loc->idx, plen;
    int in_prefix, shared = 0, appended;

    sz = digby__entry_cell(txn, e, txn->cell);
    if (exact) {
        rc = digby__loc_free(txn, loc);
        if (rc) return rc;
    }
    if (!t->root) {
        rc = digby__page_new(txn, DIGBY__PAGE_LEAF, &page, &new_pgno);
        if (rc) return rc;
        digby__node_insert(db, page, 0, txn->cell, sz, NULL);
        t->root = new_pgno;
        t->root_txid = txn->txid;
        t->depth = 1;
        t->entries = 1;
        return DIGBY_OK;
    }
    level = (int)t->depth - 1;
    rc = digby__page_touch(txn, path[level].pgno, path[level].txid, &page, &new_pgno);
    if (rc) return rc;
    if (exact) digby__node_remove(page, idx);
    appended = !exact && idx == digby__node_n(page);
    /* the cell as this leaf stores it: without the leaf's prefix (which
       may not reach into a large key's hash) */
    memcpy(txn->cell3, txn->cell, sz);
    plen = digby__node_plen(page);
    in_prefix = (e->large ? plen <= digby__large_prefix(db) : e->kh_bytes >= plen) &&
                (plen == 0 || memcmp(e->kh, digby__node_prefix(page), plen) == 0);
    if (in_prefix) {
        size_t ssz = plen ? digby__leaf_recode(txn->cell, txn->cell3, NULL, 0, plen) : sz;
        if (!digby__node_insert(db, page, idx, txn->cell, ssz, txn->tmp)) {
            rc = digby__fix_parents(txn, t, path, level, new_pgno, 0, 0, 0);
            if (rc) return rc;
            if (!exact) t->entries++;
            if (appended) digby__append_hint(txn, t);
            return DIGBY_OK;
        }
    }
    /* full, or a key outside the prefix: appends split (leaving full pages
       behind); other inserts first try to share with a sibling */
    if (in_prefix && level > 0 && idx < digby__node_n(page)) {
        rc = digby__share(txn, t, path, level, page, new_pgno, idx, txn->cell3, sz, &shared);
        if (rc) return rc;
    }
    if (!shared && !in_prefix) {
        /* a shorter prefix may be all it takes */
        unsigned total = digby__gather(db, page, txn->tmp, txn->spans, idx, txn->cell3, sz);
        size_t used = 0, m;
        unsigned j2;
        uint8_t *a = txn->sep, *b = txn->cell2;
        size_t an = digby__span_key(&txn->spans[0], a);
        size_t bn = digby__span_key(&txn->spans[total - 1], b);
        txn->spans_leaf = 1;
        m = DIGBY__MIN((size_t)digby__max_prefix(db),
                       total > 1 ? digby__lcp(a, an, b, bn) : an);
        for (j2 = 0; j2 < total; j2++) used += digby__span_full(&txn->spans[j2], 1) + 2 - m;
        if (used + m <= db->usable - DIGBY__HDR) {
            rc = digby__fill(txn, txn->spans, 0, total, page, (unsigned)m);
            if (rc == DIGBY_OK) rc = digby__fix_parents(txn, t, path, level, new_pgno, 0, 0, 0);
            shared = 1; /* done */
        }
    }
    if (!shared) {
        rc = digby__split(txn, page, idx, txn->cell3, sz, &right, &sep_bytes);
        if (rc) return rc;
        rc = digby__fix_parents(txn, t, path, level, new_pgno, 1, right, sep_bytes);
    }
    if (rc) return rc;
    if (!exact) t->entries++;
    if (appended) digby__append_hint(txn, t);
    return DIGBY_OK;
}

/* Put a key and value from memory: large keys and values too large for a
   leaf go to overflow items first. */
static int digby__btree_put(digby_txn *txn, digby__tree *t, const void *key,
                            size_t key_bytes, const void *val, size_t vlen,
                            unsigned flags)
{
    digby_db *db = txn->db;
    digby__skey sk;
    digby__loc loc;
    digby__entry e;
    uint8_t stub[DIGBY__LARGE_PREFIX + DIGBY__HASH_BYTES];
    int lz4 = digby__put_lz4(db, flags), rc, comp;

    if (digby__append_fast(txn, t, key, key_bytes, val, vlen)) return DIGBY_OK;
    digby__skey_mem(db, &sk, key, key_bytes);
    rc = digby__locate(txn, t, &sk.k, &loc);
    if (rc) return rc;
    if (loc.exact && (flags & DIGBY_PUT_NOOVERWRITE)) return DIGBY_EXISTS;
    memset(&e, 0, sizeof(e));
    e.klen = key_bytes;
    if (key_bytes > db->max_key) {
        size_t pre = digby__large_prefix(db);
        memcpy(stub, key, pre);
        memcpy(stub + pre, sk.hash, DIGBY__HASH_BYTES);
        e.kh = stub;
        e.kh_bytes = pre + DIGBY__HASH_BYTES;
        e.large = 1;
        rc = digby__item_write(txn, (const uint8_t *)key, key_bytes, lz4, &e.kroot, &comp);
        if (rc) return rc;
        e.kflags = comp ? DIGBY__KEY_COMPRESSED : 0;
    } else {
        e.kh = (const uint8_t *)key;
        e.kh_bytes = key_bytes;
    }
    e.vlen = vlen;
    if (digby__inline_size(txn, &e, vlen) <= db->max_cell) {
        e.val = (const uint8_t *)val;
    } else {
        rc = digby__item_write(txn, (const uint8_t *)val, vlen, lz4, &e.vroot, &comp);
        if (rc) return rc;
        e.vflags = DIGBY__CELL_OVERFLOW | (comp ? DIGBY__CELL_COMPRESSED : 0);
    }
    return digby__btree_store(txn, t, &loc, &e);
}

/* *n: the slots of the page at one level of a path. */
static int digby__path_slots(digby_txn *txn, const digby__pathent *at, unsigned *n)
{
    const uint8_t *p;
    digby__frame *f;
    int rc = digby__page_get(txn, at->pgno, at->txid, &p, &f);
    if (rc) return rc;
    *n = digby__node_n(p);
    digby__page_unpin(txn->db, f);
    return DIGBY_OK;
}

/* After branch page's first child was removed: the new first child takes
   over minus infinity (its separator key is dropped).  Nonzero when the
   cell does not fit back (a damaged page). */
static int digby__branch_unbound_first(digby_txn *txn, uint8_t *page)
{
    digby__cell first;
    size_t sz;
    digby__branch_cell_at(page + digby__node_off(page, 0), &first);
    sz = digby__branch_cell_encode(txn->cell, first.child, first.child_txid, NULL, 0);
    digby__node_remove(page, 0);
    return digby__node_insert(txn->db, page, 0, txn->cell, sz, txn->tmp) != 0;
}

/* A root with one child is replaced by that child, as often as it takes
   (after deletes: the tree loses the levels they emptied). */
static int digby__btree_collapse(digby_txn *txn, digby__tree *t)
{
    digby_db *db = txn->db;
    int rc;
    while (t->depth > 1) {
        const uint8_t *p;
        digby__frame *f;
        digby__cell only;
        rc = digby__page_get(txn, t->root, t->root_txid, &p, &f);
        if (rc) return rc;
        if (digby__node_n(p) != 1) { digby__page_unpin(db, f); break; }
        digby__branch_cell_at(p + digby__node_off(p, 0), &only);
        digby__page_unpin(db, f);
        rc = digby__page_free(txn, t->root, t->root_txid);
        if (rc) return rc;
        t->root = only.child;
        t->root_txid = only.child_txid;
        t->depth--;
    }
    return DIGBY_OK;
}

static int digby__btree_delete(digby_txn *txn, digby__tree *t, const void *key,
                               size_t key_bytes)
{
    digby_db *db = txn->db;
    digby__loc loc;
    digby__pathent *path = loc.path;
    digby__skey sk;
    int rc, level;
    unsigned n;
    uint64_t new_pgno;
    uint8_t *page;

    if (!t->root) return DIGBY_NOTFOUND;
    digby__skey_mem(db, &sk, key, key_bytes);
    rc = digby__locate(txn, t, &sk.k, &loc);
    if (rc) return rc;
    if (!loc.exact) return DIGBY_NOTFOUND;
    level = (int)t->depth - 1;
    rc = digby__path_slots(txn, &path[level], &n);
    if (rc) return rc;
    rc = digby__loc_free(txn, &loc);
    if (rc) return rc;
    /* free pages that would become empty, from the leaf up */
    while (n == 1) {
        rc = digby__page_free(txn, path[level].pgno, path[level].txid);
        if (rc) return rc;
        if (level == 0) {
            t->root = 0;
            t->root_txid = 0;
            t->depth = 0;
            t->entries = 0;
            return DIGBY_OK;
        }
        level--;
        rc = digby__path_slots(txn, &path[level], &n);
        if (rc) return rc;
    }
    rc = digby__page_touch(txn, path[level].pgno, path[level].txid, &page, &new_pgno);
    if (rc) return rc;
    if (path[level].idx >= digby__node_n(page)) return DIGBY__CORRUPT(db, new_pgno);
    digby__node_remove(page, path[level].idx);
    if (page[0] == DIGBY__PAGE_BRANCH && path[level].idx == 0 &&
        digby__branch_unbound_first(txn, page))
        return DIGBY__CORRUPT(db, new_pgno);
    rc = digby__fix_parents(txn, t, path, level, new_pgno, 0, 0, 0);
    if (rc) return rc;
    t->entries--;
    return digby__btree_collapse(txn, t);
}

/* Free every page of the subtree whose root is page (pgno, txid), `depth`
   levels deep (1: a leaf), and every overflow item its leaves own; adds
   its entries to *entries.  Iterative: an explicit stack of (page, next
   child). */
static int digby__subtree_free(digby_txn *txn, uint64_t pgno, uint64_t txid, uint32_t depth,
                               uint64_t *entries)
{
    digby_db *db = txn->db;
    struct { uint64_t pgno, txid; unsigned next; } st[DIGBY__MAX_DEPTH];
    int sp = 0, rc = DIGBY_OK;
    if (depth == 0 || depth > DIGBY__MAX_DEPTH) return DIGBY__CORRUPT(db, pgno);
    st[0].pgno = pgno;
    st[0].txid = txid;
    st[0].next = 0;
    while (sp >= 0) {
        const uint8_t *p;
        digby__frame *f;
        unsigned n;
        rc = digby__page_get(txn, st[sp].pgno, st[sp].txid, &p, &f);
        if (rc) return rc;
        n = digby__node_n(p);
        if (p[0] == DIGBY__PAGE_BRANCH && st[sp].next < n) {
            digby__cell c;
            digby__node_cell(p, st[sp].next++, &c);
            digby__page_unpin(db, f);
            if (sp + 1 >= (int)depth || sp + 1 >= DIGBY__MAX_DEPTH)
                return DIGBY__CORRUPT(db, st[sp].pgno);
            sp++;
            st[sp].pgno = c.child;
            st[sp].txid = c.child_txid;
            st[sp].next = 0;
            continue;
        }
        if (p[0] == DIGBY__PAGE_LEAF) {
            unsigned i;
            if (sp + 1 != (int)depth) { digby__page_unpin(db, f); return DIGBY__CORRUPT(db, st[sp].pgno); }
            for (i = 0; i < n; i++) {
                digby__cell c;
                digby__cell_item it[2];
                unsigned k, m;
                digby__node_cell(p, i, &c);
                m = digby__cell_items(p, i, &c, it);
                for (k = 0; k < m && rc == DIGBY_OK; k++)
                    rc = digby__item_free(txn, it[k].root, c.version, it[k].len,
                                          it[k].compressed);
                if (rc) { digby__page_unpin(db, f); return rc; }
            }
            *entries += n;
        }
        digby__page_unpin(db, f);
        rc = digby__page_free(txn, st[sp].pgno, st[sp].txid);
        if (rc) return rc;
        sp--;
    }
    return DIGBY_OK;
}

/* Free every page of a tree (its overflow items included); the tree
   becomes empty. */
static int digby__btree_free_all(digby_txn *txn, digby__tree *t)
{
    uint64_t n = 0;
    int rc;
    if (!t->root) return DIGBY_OK;
    rc = digby__subtree_free(txn, t->root, t->root_txid, t->depth, &n);
    if (rc) return rc;
    memset(t, 0, sizeof(*t));
    return DIGBY_OK;
}

/* ---- Range delete ----------------------------------------------------------- */

/* What became of a page a range delete went into: kept where it was,
   moved (copied, or kept in this transaction's own page: its parent
   records pgno with this transaction's txid), or gone (freed). */
typedef struct digby__cut {
    int gone, moved;
    uint64_t pgno;
} digby__cut;

/* A page on one of the two paths a range delete cuts along (the lower
   bound's and the upper bound's): the bounds that cut through it (lo_on,
   hi_on: neither for a subtree wholly inside, which is never a frame),
   and for a branch the slots first .. last of the children that meet the
   range, next the one to visit, and the fates of the edge children (cut[0]
   of first when lo_on, cut[1] of last when hi_on). */
typedef struct digby__rdel_frame {
    uint64_t pgno, txid;
    unsigned slot;            /* its slot in its parent */
    int lo_on, hi_on, started;
    unsigned first, last, next;
    digby__cut cut[2];
} digby__rdel_frame;

/* Whether slot j of branch frame f is an edge child, cut by a bound (a
   child between the edges lies wholly inside the range). */
static int digby__rdel_edge(const digby__rdel_frame *f, unsigned j)
{
    return (f->lo_on && j == f->first) || (f->hi_on && j == f->last);
}

/* Slot j's fate: an edge child's recorded cut, else gone (wholly inside). */
static digby__cut digby__rdel_fate(const digby__rdel_frame *f, unsigned j)
{
    digby__cut g;
    if (f->lo_on && j == f->first) return f->cut[0];
    if (f->hi_on && j == f->last) return f->cut[1];
    g.gone = 1;
    g.moved = 0;
    g.pgno = 0;
    return g;
}

/* A range delete's leaf (frame f): the cells in [lo, hi) and their
   overflow items go; *out says what became of the page. */
static int digby__rdel_leaf(digby_txn *txn, const digby__rdel_frame *f, const digby__kref *lo,
                          const digby__kref *hi, uint64_t *count, digby__cut *out)
{
    digby_db *db = txn->db;
    const uint8_t *p;
    digby__frame *pin;
    uint8_t *page;
    uint64_t np;
    unsigned n, i0 = 0, i1, i;
    int exact, rc;
    out->gone = out->moved = 0;
    out->pgno = f->pgno;
    rc = digby__page_get(txn, f->pgno, f->txid, &p, &pin);
    if (rc) return rc;
    if (p[0] != DIGBY__PAGE_LEAF) {
        digby__page_unpin(db, pin);
        return DIGBY__CORRUPT(db, f->pgno);
    }
    n = digby__node_n(p);
    i1 = n;
    if (f->lo_on) rc = digby__node_find(txn, p, 0, lo, &i0, &exact);
    if (rc == DIGBY_OK && f->hi_on) rc = digby__node_find(txn, p, 0, hi, &i1, &exact);
    for (i = i0; i < i1 && rc == DIGBY_OK; i++) {
        digby__cell c;
        digby__cell_item it[2];
        unsigned k, m;
        digby__node_cell(p, i, &c);
        m = digby__cell_items(p, i, &c, it);
        for (k = 0; k < m && rc == DIGBY_OK; k++)
            rc = digby__item_free(txn, it[k].root, c.version, it[k].len, it[k].compressed);
    }
    digby__page_unpin(db, pin);
    if (rc || i1 <= i0) return rc;
    *count += i1 - i0;
    if (i0 == 0 && i1 == n) {
        out->gone = 1;
        return digby__page_free(txn, f->pgno, f->txid);
    }
    rc = digby__page_touch(txn, f->pgno, f->txid, &page, &np);
    if (rc) return rc;
    for (i = i1; i > i0; i--) digby__node_remove(page, i - 1);
    out->moved = 1;
    out->pgno = np;
    return DIGBY_OK;
}

/* A range delete's branch (frame f), after its children: unlink the gone
   ones and record the moved ones; a branch left with no child is freed
   (Sen & Tarjan, as digby__btree_delete does). */
static int digby__rdel_branch(digby_txn *txn, const digby__rdel_frame *f, digby__cut *out)
{
    digby_db *db = txn->db;
    const uint8_t *p;
    digby__frame *pin;
    uint8_t *page;
    uint64_t np;
    unsigned n, j, gone = 0, moved = 0;
    int rc;
    out->gone = out->moved = 0;
    out->pgno = f->pgno;
    rc = digby__page_get(txn, f->pgno, f->txid, &p, &pin);
    if (rc) return rc;
    n = digby__node_n(p);
    digby__page_unpin(db, pin);
    for (j = f->first; j <= f->last; j++) {
        digby__cut c = digby__rdel_fate(f, j);
        if (c.gone) gone++;
        else if (c.moved) moved++;
    }
    if (!gone && !moved) return DIGBY_OK;
    if (gone == n) {
        out->gone = 1;
        return digby__page_free(txn, f->pgno, f->txid);
    }
    rc = digby__page_touch(txn, f->pgno, f->txid, &page, &np);
    if (rc) return rc;
    if (page[0] != DIGBY__PAGE_BRANCH || digby__node_n(page) != n) return DIGBY__CORRUPT(db, np);
    /* from the last slot down: a removal leaves the slots before it */
    for (j = f->last + 1; j-- > f->first;) {
        digby__cut c = digby__rdel_fate(f, j);
        if (c.gone) digby__node_remove(page, j);
        else if (c.moved) digby__branch_set_child(page, j, c.pgno, txn->txid);
    }
    if (f->first == 0 && digby__rdel_fate(f, 0).gone && digby__branch_unbound_first(txn, page))
        return DIGBY__CORRUPT(db, np);
    out->moved = 1;
    out->pgno = np;
    return DIGBY_OK;
}

/* Delete every entry of tree t with lo <= key < hi (lo NULL: from the
   first, hi NULL: to the last); *count: how many went.  Two paths are cut,
   the lower bound's and the upper bound's (one until they part): on them
   each branch's children between the two edge children lie wholly inside
   the range and are freed whole (digby__subtree_free: their pages are
   read for the overflow items and the count, no key is looked up); edge
   leaves are trimmed; pages left empty are freed and unlinked, and the
   root collapses while it has one child.  Nothing is written when nothing
   is in the range.  Iterative: a stack of at most depth frames. */
static int digby__btree_delete_range(digby_txn *txn, digby__tree *t, const digby__kref *lo,
                                     const digby__kref *hi, uint64_t *count)
{
    digby_db *db = txn->db;
    digby__rdel_frame st[DIGBY__MAX_DEPTH];
    digby__cut res;
    int sp = 0, rc = DIGBY_OK;
    uint64_t n = 0;
    *count = 0;
    if (!t->root) return DIGBY_OK;
    if (t->depth == 0 || t->depth > DIGBY__MAX_DEPTH) return DIGBY__CORRUPT(db, t->root);
    memset(&st[0], 0, sizeof(st[0]));
    st[0].pgno = t->root;
    st[0].txid = t->root_txid;
    st[0].lo_on = lo != NULL;
    st[0].hi_on = hi != NULL;
    res.gone = res.moved = 0;
    res.pgno = t->root;
    while (sp >= 0) {
        digby__rdel_frame *f = &st[sp];
        int leaf = (uint32_t)sp + 1 == t->depth, exact;
        unsigned below = t->depth - (unsigned)sp - 1, nslots;
        const uint8_t *p;
        digby__frame *pin;
        if (!f->lo_on && !f->hi_on) {
            /* the whole tree (only the root is a frame so) */
            rc = digby__subtree_free(txn, f->pgno, f->txid, t->depth, &n);
            if (rc) return rc;
            res.gone = 1;
            sp--;
            continue;
        }
        if (leaf) {
            rc = digby__rdel_leaf(txn, f, lo, hi, &n, &res);
            if (rc) return rc;
        } else if (!f->started) {
            /* a branch met: which children meet the range */
            f->started = 1;
            rc = digby__page_get(txn, f->pgno, f->txid, &p, &pin);
            if (rc) return rc;
            nslots = digby__node_n(p);
            f->first = 0;
            f->last = nslots ? nslots - 1 : 0;
            if (p[0] != DIGBY__PAGE_BRANCH || nslots == 0) rc = DIGBY__CORRUPT(db, f->pgno);
            if (rc == DIGBY_OK && f->lo_on)
                rc = digby__node_find(txn, p, below, lo, &f->first, &exact);
            if (rc == DIGBY_OK && f->hi_on)
                rc = digby__node_find(txn, p, below, hi, &f->last, &exact);
            digby__page_unpin(db, pin);
            if (rc) return rc;
            if (f->first > f->last || f->last >= nslots) return DIGBY__CORRUPT(db, f->pgno);
            f->next = f->first;
            continue;
        } else if (f->next <= f->last) {
            /* its next child: an edge child is a frame of its own, one
               between the edges is freed whole */
            unsigned j = f->next++;
            digby__cell c;
            rc = digby__page_get(txn, f->pgno, f->txid, &p, &pin);
            if (rc) return rc;
            digby__node_cell(p, j, &c);
            digby__page_unpin(db, pin);
            if (!digby__rdel_edge(f, j)) {
                rc = digby__subtree_free(txn, c.child, c.child_txid, below, &n);
                if (rc) return rc;
                continue;
            }
            if (sp + 1 >= DIGBY__MAX_DEPTH) return DIGBY__CORRUPT(db, f->pgno);
            memset(&st[sp + 1], 0, sizeof(st[sp + 1]));
            st[sp + 1].pgno = c.child;
            st[sp + 1].txid = c.child_txid;
            st[sp + 1].slot = j;
            st[sp + 1].lo_on = f->lo_on && j == f->first;
            st[sp + 1].hi_on = f->hi_on && j == f->last;
            sp++;
            continue;
        } else {
            rc = digby__rdel_branch(txn, f, &res);
            if (rc) return rc;
        }
        /* the page is done: its fate goes to its parent */
        if (sp > 0) {
            digby__rdel_frame *up = &st[sp - 1];
            if (up->lo_on && f->slot == up->first) up->cut[0] = res;
            if (up->hi_on && f->slot == up->last) up->cut[1] = res;
        }
        sp--;
    }
    *count = n;
    if (n > t->entries) return DIGBY__CORRUPT(db, t->root);
    t->entries -= n;
    if (res.gone) {
        memset(t, 0, sizeof(*t));
        return DIGBY_OK;
    }
    if (res.moved) {
        t->root = res.pgno;
        t->root_txid = txn->txid;
    }
    return n ? digby__btree_collapse(txn, t) : DIGBY_OK;
}
