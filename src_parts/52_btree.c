/* The copy-on-write B+ tree.

   Lookups descend from the root with binary search in each page, checking
   that every child carries the transaction id its parent recorded.  Updates
   record the root-to-leaf path in an explicit stack, change the leaf, then
   walk the stack bottom-up: each page on the path is copied to a new page
   number once per transaction (shadowing, Rodeh 2008), splits insert a
   separator into the parent, and a split root grows the tree by one level.
   No recursion anywhere.  Deletion follows Sen & Tarjan's "deletion without
   rebalancing": a page that becomes empty is freed and unlinked from its
   parent; nothing is merged. */

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

/* Descend to the leaf that holds (or would hold) key.  Fills path[0 ..
   depth-1] and leaves the leaf pinned in *leaf / *pin.  The tree must be
   non-empty. */
static int digby__descend(digby_txn *txn, const digby__tree *t, const void *key,
                          size_t key_bytes, digby__pathent *path,
                          const uint8_t **leaf, digby__frame **pin, int *exact)
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
        idx = digby__node_search(page, key, key_bytes, exact);
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
            digby__node_cell(page, idx, &c);
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
        return digby__ovf_read(txn, digby__get64(c->val), c->version,
                               (size_t)c->vlen, *dst);
    if (c->vlen) memcpy(*dst, c->val, (size_t)c->vlen);
    return DIGBY_OK;
}

static int digby__btree_get(digby_txn *txn, digby__tree *t, const void *key,
                            size_t key_bytes, const void **val, size_t *vlen,
                            uint64_t *version)
{
    digby__pathent path[DIGBY__MAX_DEPTH];
    const uint8_t *leaf;
    digby__frame *pin;
    digby__cell c;
    int exact, rc;
    if (t->root == 0) return DIGBY_NOTFOUND;
    rc = digby__descend(txn, t, key, key_bytes, path, &leaf, &pin, &exact);
    if (rc) return rc;
    if (!exact) { digby__page_unpin(txn->db, pin); return DIGBY_NOTFOUND; }
    digby__node_cell(leaf, path[t->depth - 1].idx, &c);
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

/* The full key of a leaf span, written to out; returns its length. */
static size_t digby__span_key(const digby__span *v, uint8_t *out)
{
    digby__cell c;
    digby__leaf_cell_at(v->p, &c);
    return digby__full_key(v->pre, v->plen, &c, out);
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
   else the most even feasible split.  Returns 0 and *k, or 1 if no split
   fits (only possible when sharing with a sibling).  For leaves, fills the
   txn->lcpl/lcpr/fsum arrays; sizes are upper bounds (see span_full). */
static int digby__choose(digby_txn *txn, const digby__span *v, unsigned total,
                         size_t cap, unsigned want, unsigned *k)
{
    digby_db *db = txn->db;
    int leaf = txn->spans_leaf;
    size_t *f = txn->fsum, best = (size_t)-1;
    uint16_t *ll = txn->lcpl, *lr = txn->lcpr;
    unsigned j, maxp = digby__max_prefix(db), found = 0;
    uint8_t *a = txn->sep, *b = txn->cell2;
    size_t an, bn;
    f[0] = 0;
    for (j = 0; j < total; j++) f[j + 1] = f[j] + digby__span_full(&v[j], leaf) + 2;
    if (want && want < total) {
        /* the preferred split first: only its two prefixes are needed */
        size_t mL = 0, mR = 0, L, R;
        if (leaf) {
            an = digby__span_key(&v[0], a);
            bn = digby__span_key(&v[want - 1], b);
            ll[want - 1] = (uint16_t)DIGBY__MIN((size_t)maxp, want > 1 ? digby__lcp(a, an, b, bn) : an);
            an = digby__span_key(&v[total - 1], a);
            bn = digby__span_key(&v[want], b);
            lr[want] = (uint16_t)DIGBY__MIN((size_t)maxp, want + 1 < total ? digby__lcp(a, an, b, bn) : an);
            mL = ll[want - 1];
            mR = lr[want];
        }
        L = f[want] - (size_t)(want - 1) * mL;
        R = (f[total] - f[want]) - (size_t)(total - want - 1) * mR;
        if (L <= cap && R <= cap) { *k = want; return 0; }
    }
    if (leaf) {
        /* lcp of the first key with each key, and of each with the last */
        an = digby__span_key(&v[0], a);
        for (j = 0; j < total; j++) {
            bn = digby__span_key(&v[j], b);
            ll[j] = (uint16_t)DIGBY__MIN((size_t)maxp, j ? digby__lcp(a, an, b, bn) : an);
        }
        an = digby__span_key(&v[total - 1], a);
        for (j = 0; j < total; j++) {
            bn = digby__span_key(&v[j], b);
            lr[j] = (uint16_t)DIGBY__MIN((size_t)maxp, j + 1 < total ? digby__lcp(a, an, b, bn) : an);
        }
    }
    for (j = 1; j < total; j++) {
        size_t mL = leaf ? ll[j - 1] : 0, mR = leaf ? lr[j] : 0;
        size_t L = f[j] - (size_t)(j - 1) * mL;
        size_t R = (f[total] - f[j]) - (size_t)(total - j - 1) * mR;
        size_t d;
        if (L > cap || R > cap) continue;
        if (j == want) { *k = j; return 0; }
        d = L > R ? L - R : R - L;
        if (d < best) { best = d; found = j; }
    }
    if (!found) return 1;
    *k = found;
    return 0;
}

/* Rebuild `page` from empty with spans [from, to), factoring out `m` bytes
   of prefix (leaves).  The spans must fit (digby__choose). */
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
                                           digby__get64(p + 8), NULL, 0);
            p = txn->cell2;
        } else if (!is_branch && v[j].plen != m) {
            sz = digby__leaf_recode(txn->cell2, p, v[j].pre, v[j].plen, m);
            p = txn->cell2;
        }
        if (digby__node_insert(db, page, j - from, p, sz, NULL))
            return DIGBY__CORRUPT(db, digby__get64(page + 8));
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
    } else {
        size_t ln = digby__span_key(&v[k - 1], txn->cell2);
        size_t rn = digby__span_key(&v[k], txn->sep);
        *sep_bytes = digby__separator(txn->cell2, ln, txn->sep, rn);
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
        return DIGBY__CORRUPT(db, digby__get64(page + 8));
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
            continue; /* a big cell in the way */
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
            size_t sz = digby__branch_cell_encode(txn->cell, right, txn->txid,
                                                  txn->sep, sep_bytes);
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
        sz = digby__branch_cell_encode(txn->cell, right, txn->txid, txn->sep, sep_bytes);
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
    if (n == 0 || key_bytes < plen ||
        (plen && memcmp(key, digby__node_prefix(leaf), plen) != 0))
        return 0;
    k = digby__node_key(leaf, n - 1, &kl);
    c = digby__keycmp((const uint8_t *)key + plen, key_bytes - plen, k, kl);
    if (c <= 0) return 0;
    if (digby__varint_len(key_bytes) + key_bytes + digby__varint_len((uint64_t)vlen << 3) +
        digby__varint_len(txn->txid) + vlen > db->max_cell)
        return 0;
    sz = digby__leaf_cell_encode(txn->cell, (const uint8_t *)key + plen, key_bytes - plen,
                                 vlen, 0, txn->txid, val, vlen);
    if (digby__node_insert(db, leaf, n, txn->cell, sz, txn->tmp)) return 0;
    t->entries++;
    txn->hint_mod = txn->mod + 1; /* digby_txn_put bumps mod next */
    return 1;
}

/* After a put that appended: remember the rightmost leaf if its whole path
   is dirty, for digby__append_fast. */
static void digby__append_hint(digby_txn *txn, digby__tree *t)
{
    uint64_t pgno = t->root;
    uint32_t level;
    txn->hint_tree = NULL;
    if (t->root_txid != txn->txid) return;
    for (level = 0; level < t->depth; level++) {
        const uint8_t *p = digby__dirty_get(txn, pgno);
        digby__cell c;
        if (!p) return;
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

static int digby__btree_put(digby_txn *txn, digby__tree *t, const void *key,
                            size_t key_bytes, const void *val, size_t vlen,
                            unsigned flags)
{
    digby_db *db = txn->db;
    digby__pathent path[DIGBY__MAX_DEPTH];
    const uint8_t *leaf;
    digby__frame *pin;
    digby__cell old;
    int exact = 0, rc, level;
    uint64_t ovf = 0, new_pgno, right = 0, old_ovf = 0;
    size_t sz, inline_sz, sep_bytes = 0;
    uint8_t *page;
    unsigned idx = 0, plen;
    int in_prefix, shared = 0, appended;

    if (digby__append_fast(txn, t, key, key_bytes, val, vlen)) return DIGBY_OK;
    if (t->root) {
        rc = digby__descend(txn, t, key, key_bytes, path, &leaf, &pin, &exact);
        if (rc) return rc;
        idx = path[t->depth - 1].idx;
        if (exact) {
            digby__node_cell(leaf, idx, &old);
            if (old.flags & DIGBY__CELL_OVERFLOW) old_ovf = digby__get64(old.val);
        }
        digby__page_unpin(db, pin);
        if (exact && (flags & DIGBY_PUT_NOOVERWRITE)) return DIGBY_EXISTS;
    }
    /* the new cell: inline if it fits a quarter page, else overflow pages */
    inline_sz = digby__varint_len(key_bytes) + key_bytes +
                digby__varint_len((uint64_t)vlen << 3) +
                digby__varint_len(txn->txid) + vlen;
    if (inline_sz <= db->max_cell) {
        sz = digby__leaf_cell_encode(txn->cell, key, key_bytes, vlen, 0,
                                     txn->txid, val, vlen);
    } else {
        uint8_t ref[8];
        rc = digby__ovf_write(txn, (const uint8_t *)val, vlen, &ovf);
        if (rc) return rc;
        digby__put64(ref, ovf);
        if (key_bytes > db->max_key) return DIGBY_TOOBIG;
        sz = digby__leaf_cell_encode(txn->cell, key, key_bytes, vlen,
                                     DIGBY__CELL_OVERFLOW, txn->txid, ref, 8);
    }
    if (old_ovf) {
        rc = digby__ovf_free(txn, old_ovf, old.version, (size_t)old.vlen);
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
    /* the cell as this leaf stores it: without the leaf's prefix */
    memcpy(txn->cell3, txn->cell, sz);
    plen = digby__node_plen(page);
    in_prefix = key_bytes >= plen &&
                (plen == 0 || memcmp(key, digby__node_prefix(page), plen) == 0);
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

static int digby__btree_delete(digby_txn *txn, digby__tree *t, const void *key,
                               size_t key_bytes)
{
    digby_db *db = txn->db;
    digby__pathent path[DIGBY__MAX_DEPTH];
    const uint8_t *leaf;
    digby__frame *pin;
    digby__cell c;
    int exact, rc, level;
    unsigned n;
    uint64_t new_pgno, ovf;
    uint8_t *page;

    if (!t->root) return DIGBY_NOTFOUND;
    rc = digby__descend(txn, t, key, key_bytes, path, &leaf, &pin, &exact);
    if (rc) return rc;
    if (!exact) { digby__page_unpin(db, pin); return DIGBY_NOTFOUND; }
    level = (int)t->depth - 1;
    digby__node_cell(leaf, path[level].idx, &c);
    n = digby__node_n(leaf);
    ovf = (c.flags & DIGBY__CELL_OVERFLOW) ? digby__get64(c.val) : 0;
    digby__page_unpin(db, pin);
    if (ovf) {
        rc = digby__ovf_free(txn, ovf, c.version, (size_t)c.vlen);
        if (rc) return rc;
    }
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
        {
            const uint8_t *p;
            digby__frame *f;
            rc = digby__page_get(txn, path[level].pgno, path[level].txid, &p, &f);
            if (rc) return rc;
            n = digby__node_n(p);
            digby__page_unpin(db, f);
        }
    }
    rc = digby__page_touch(txn, path[level].pgno, path[level].txid, &page, &new_pgno);
    if (rc) return rc;
    if (path[level].idx >= digby__node_n(page)) return DIGBY__CORRUPT(db, new_pgno);
    digby__node_remove(page, path[level].idx);
    if (page[0] == DIGBY__PAGE_BRANCH && path[level].idx == 0) {
        /* the new first child takes over minus infinity */
        digby__cell first;
        size_t sz;
        digby__branch_cell_at(page + digby__node_off(page, 0), &first);
        sz = digby__branch_cell_encode(txn->cell, first.child, first.child_txid, NULL, 0);
        digby__node_remove(page, 0);
        if (digby__node_insert(db, page, 0, txn->cell, sz, txn->tmp))
            return DIGBY__CORRUPT(db, new_pgno);
    }
    rc = digby__fix_parents(txn, t, path, level, new_pgno, 0, 0, 0);
    if (rc) return rc;
    t->entries--;
    /* a root with one child is replaced by that child */
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

/* Free every page of a tree (its overflow chains included); the tree
   becomes empty.  Iterative: an explicit stack of (page, next child). */
static int digby__btree_free_all(digby_txn *txn, digby__tree *t)
{
    digby_db *db = txn->db;
    struct { uint64_t pgno, txid; unsigned next; } st[DIGBY__MAX_DEPTH];
    int sp = 0, rc;
    if (!t->root) return DIGBY_OK;
    st[0].pgno = t->root;
    st[0].txid = t->root_txid;
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
            if (sp + 1 >= (int)t->depth || sp + 1 >= DIGBY__MAX_DEPTH)
                return DIGBY__CORRUPT(db, st[sp].pgno);
            sp++;
            st[sp].pgno = c.child;
            st[sp].txid = c.child_txid;
            st[sp].next = 0;
            continue;
        }
        if (p[0] == DIGBY__PAGE_LEAF) {
            unsigned i;
            if (sp + 1 != (int)t->depth) { digby__page_unpin(db, f); return DIGBY__CORRUPT(db, st[sp].pgno); }
            for (i = 0; i < n; i++) {
                digby__cell c;
                digby__node_cell(p, i, &c);
                if (c.flags & DIGBY__CELL_OVERFLOW) {
                    rc = digby__ovf_free(txn, digby__get64(c.val), c.version, (size_t)c.vlen);
                    if (rc) { digby__page_unpin(db, f); return rc; }
                }
            }
        }
        digby__page_unpin(db, f);
        rc = digby__page_free(txn, st[sp].pgno, st[sp].txid);
        if (rc) return rc;
        sp--;
    }
    memset(t, 0, sizeof(*t));
    return DIGBY_OK;
}
