/* Cursors: a stack of pinned pages from the root to the current leaf entry.
   In a read-write transaction a cursor also keeps a copy of its key; when
   the transaction has written since the cursor was positioned (txn->mod
   changed), the stack is stale and the cursor re-finds its place by key
   before moving, so puts and deletes in its own transaction never break it
   (stores that broke here: LMDB ITS#9376, bbolt#146).  A large key is remembered by
   its first bytes, hash and overflow item: the item's pages stay readable
   until the transaction ends, even when the entry is deleted (overflow
   pages freed in a transaction are never reused in it). */

static void digby__cursor_unpin_all(digby_cursor *c)
{
    int i;
    for (i = 0; i < c->depth; i++) {
        digby__page_unpin(c->txn->db, c->stack[i].pin);
        c->stack[i].pin = NULL;
    }
    c->depth = 0;
    c->valid = 0;
}

/* Leave the cursor unpositioned, as if just opened (a rollback to a
   savepoint: the pages and memtable nodes it stood on may be gone). */
static void digby__cursor_reset(digby_cursor *c)
{
    digby__cursor_unpin_all(c);
    c->has_key = 0;
    c->key_pfx_pgno = 0;
    c->mvalid = 0;
    c->mn = NULL;
    c->from_mem = 0;
    c->mdir = 0;
    c->mkey_bytes = 0;
    memset(&c->mpos, 0, sizeof(c->mpos));
}

static int digby__cursor_new(digby_txn *txn, digby_table *table, digby__tree *t,
                             digby_cursor **out)
{
    digby_cursor *c = (digby_cursor *)digby__malloc(&txn->db->alloc, sizeof(*c));
    if (!c) return DIGBY_NOMEM;
    memset(c, 0, sizeof(*c));
    c->txn = txn;
    c->table = table;
    c->tree = t;
    c->next = txn->cursors;
    txn->cursors = c;
    *out = c;
    return DIGBY_OK;
}

DIGBY_API int digby_cursor_open(digby_txn *txn, digby_table *table,
                                digby_cursor **out)
{
    digby__tree *t;
    int rc;
    if (!out) return DIGBY_INVALID;
    *out = NULL;
    if (!txn) return DIGBY_INVALID;
    t = digby__txn_tree(txn, table, &rc);
    if (!t) return rc;
    return digby__cursor_new(txn, table, t, out);
}

DIGBY_API void digby_cursor_close(digby_cursor *c)
{
    digby_cursor **pp;
    const digby_allocator *a;
    if (!c) return;
    digby__cursor_unpin_all(c);
    for (pp = &c->txn->cursors; *pp; pp = &(*pp)->next)
        if (*pp == c) { *pp = c->next; break; }
    a = &c->txn->db->alloc;
    digby__free(a, c->key);
    digby__free(a, c->mkey);
    digby__free(a, c->val);
    digby__free(a, c->full);
    digby__free(a, c);
}

/* Push the page (pgno, txid) at stack level c->depth.  Checks its type
   against the tree's depth. */
static int digby__cursor_push(digby_cursor *c, uint64_t pgno, uint64_t txid)
{
    digby_db *db = c->txn->db;
    digby__level *l;
    int want_leaf = (uint32_t)c->depth + 1 == c->tree->depth;
    int rc;
    if (c->depth >= DIGBY__MAX_DEPTH || (uint32_t)c->depth >= c->tree->depth)
        return DIGBY__CORRUPT(db, pgno);
    l = &c->stack[c->depth];
    rc = digby__page_get(c->txn, pgno, txid, &l->page, &l->pin);
    if (rc) return rc;
    c->depth++;
    l->pgno = pgno;
    l->idx = 0;
    if (l->page[0] != (want_leaf ? DIGBY__PAGE_LEAF : DIGBY__PAGE_BRANCH))
        return DIGBY__CORRUPT(db, pgno);
#if defined(__GNUC__)
    if (want_leaf) {
        /* a scan reads most of a leaf, its cells in no order of address:
           ask for all of it now rather than line by line */
        size_t off;
        for (off = 0; off < db->usable; off += 64) __builtin_prefetch(l->page + off);
    }
#endif
    return DIGBY_OK;
}

/* From the branch at the top of the stack, follow its current slot down to
   a leaf, taking the first (dir > 0) or last (dir < 0) slot of each page. */
static int digby__cursor_edge(digby_cursor *c, int dir)
{
    while (c->stack[c->depth - 1].page[0] == DIGBY__PAGE_BRANCH) {
        digby__level *top = &c->stack[c->depth - 1];
        digby__cell cell;
        int rc;
        digby__node_cell(top->page, top->idx, &cell);
        rc = digby__cursor_push(c, cell.child, cell.child_txid);
        if (rc) return rc;
        top = &c->stack[c->depth - 1];
        top->idx = dir > 0 ? 0 : digby__node_n(top->page) - 1;
    }
    return DIGBY_OK;
}

/* Copy the key under the cursor (prefix and stored suffix) to c->key: the
   whole key, or a large key's first bytes, its hash and item in c->key_*. */
static int digby__cursor_key_of(digby_cursor *c, const uint8_t *page, uint64_t pgno,
                                const digby__cell *cell)
{
    unsigned plen = digby__node_plen(page);
    size_t n;
    if (plen + cell->key_bytes + 1 > c->key_cap) {
        /* realloc: the bytes already there stay */
        int rc = digby__reserve(&c->txn->db->alloc, &c->key, &c->key_cap,
                                plen + cell->key_bytes + 1);
        if (rc) return rc;
    }
    if (c->txn->rdonly && pgno == c->key_pfx_pgno) {
        /* the same leaf: its prefix is in place */
        digby__copy_small(c->key + plen, cell->key, cell->key_bytes);
        n = plen + cell->key_bytes;
    } else {
        n = digby__full_key(digby__node_prefix(page), plen, cell, c->key);
        c->key_pfx_pgno = c->txn->rdonly ? pgno : 0;
    }
    c->key_large = (cell->flags & DIGBY__CELL_LARGE_KEY) != 0;
    if (c->key_large) {
        n -= DIGBY__HASH_BYTES;
        memcpy(c->key_hash, c->key + n, DIGBY__HASH_BYTES);
        c->key_len = cell->large_len;
        c->key_root = cell->large_root;
        c->key_version = cell->version;
        c->key_kflags = cell->large_flags;
    }
    c->key_bytes = n;
    return DIGBY_OK;
}

static int digby__cursor_key(digby_cursor *c)
{
    digby__level *leaf = &c->stack[c->depth - 1];
    digby__cell cell;
    digby__node_cell(leaf->page, leaf->idx, &cell);
    return digby__cursor_key_of(c, leaf->page, leaf->pgno, &cell);
}

/* Remember the current key (read-write transactions only). */
static int digby__cursor_settle(digby_cursor *c)
{
    int rc;
    c->valid = 1;
    c->mod = c->txn->mod;
    if (c->txn->rdonly) return DIGBY_OK;
    rc = digby__cursor_key(c);
    if (rc) return rc;
    c->has_key = 1;
    return DIGBY_OK;
}

/* Move one entry forward (dir > 0) or back from a valid position. */
static int digby__cursor_step(digby_cursor *c, int dir)
{
    int level = c->depth - 1, rc;
    digby__level *l = &c->stack[level];
    if (dir > 0 && l->idx + 1 < digby__node_n(l->page)) { l->idx++; return DIGBY_OK; }
    if (dir < 0 && l->idx > 0) { l->idx--; return DIGBY_OK; }
    /* climb to the first ancestor that has a sibling in that direction */
    while (level > 0) {
        digby__page_unpin(c->txn->db, c->stack[level].pin);
        c->stack[level].pin = NULL;
        c->depth = level;
        level--;
        l = &c->stack[level];
        if (dir > 0 && l->idx + 1 < digby__node_n(l->page)) { l->idx++; break; }
        if (dir < 0 && l->idx > 0) { l->idx--; break; }
        if (level == 0) { digby__cursor_unpin_all(c); return DIGBY_NOTFOUND; }
    }
    if (level == 0 && c->depth == 1 && c->stack[0].page[0] == DIGBY__PAGE_LEAF) {
        digby__cursor_unpin_all(c);
        return DIGBY_NOTFOUND;
    }
    rc = digby__cursor_edge(c, dir);
    if (rc) digby__cursor_unpin_all(c);
    return rc;
}

static int digby__cursor_check(digby_cursor *c)
{
    if (c->txn->poisoned) return DIGBY_POISONED;
    if (c->table && c->table->dropped) return DIGBY_BADTXN;
    return DIGBY_OK;
}

/* The end of every positioning move: rc is the move's result; settle on
   a live entry, or leave the cursor unpositioned. */
static int digby__cursor_arrive(digby_cursor *c, int rc)
{
    if (rc == DIGBY_OK) rc = digby__cursor_settle(c);
    if (rc) { digby__cursor_unpin_all(c); c->has_key = 0; }
    return rc;
}

/* Position at the first (dir > 0) or last entry. */
static int digby__cursor_end(digby_cursor *c, int dir)
{
    int rc;
    if (!c) return DIGBY_INVALID;
    digby__cursor_unpin_all(c);
    if ((rc = digby__cursor_check(c)) != DIGBY_OK) return rc;
    if (c->tree->root == 0) return DIGBY_NOTFOUND;
    rc = digby__cursor_push(c, c->tree->root, c->tree->root_txid);
    if (rc == DIGBY_OK) {
        digby__level *top = &c->stack[0];
        top->idx = dir > 0 ? 0 : digby__node_n(top->page) - 1;
        rc = digby__cursor_edge(c, dir);
    }
    return digby__cursor_arrive(c, rc);
}

static int digby__cursor_merging(digby_cursor *c);
static int digby__mc_first_last(digby_cursor *c, int dir);
static int digby__mc_seek_user(digby_cursor *c, const void *key, size_t kl, digby_seek_op op);
static int digby__mc_move(digby_cursor *c, int dir);
static int digby__mc_here(digby_cursor *c, digby__mnode **n, digby__level **leaf,
                          digby__cell *cell);

DIGBY_API int digby_cursor_first(digby_cursor *c)
{
    if (c && digby__cursor_merging(c)) return digby__mc_first_last(c, 1);
    return digby__cursor_end(c, 1);
}

DIGBY_API int digby_cursor_last(digby_cursor *c)
{
    if (c && digby__cursor_merging(c)) return digby__mc_first_last(c, -1);
    return digby__cursor_end(c, -1);
}

static int digby__cursor_seek(digby_cursor *c, const digby__kref *k, digby_seek_op op)
{
    digby__level *leaf;
    int rc, exact = 0;
    unsigned n;
    digby__cursor_unpin_all(c);
    c->has_key = 0;
    if ((rc = digby__cursor_check(c)) != DIGBY_OK) return rc;
    if (c->tree->root == 0) return DIGBY_NOTFOUND;
    rc = digby__cursor_push(c, c->tree->root, c->tree->root_txid);
    while (rc == DIGBY_OK) {
        digby__level *top = &c->stack[c->depth - 1];
        unsigned idx;
        rc = digby__node_find(c->txn, top->page, c->tree->depth - (uint32_t)c->depth, k,
                              &idx, &exact);
        if (rc) break;
        top->idx = idx;
        if (top->page[0] == DIGBY__PAGE_LEAF) break;
        {
            digby__cell cell;
            digby__node_cell(top->page, top->idx, &cell);
            rc = digby__cursor_push(c, cell.child, cell.child_txid);
        }
    }
    if (rc) { digby__cursor_unpin_all(c); return rc; }
    leaf = &c->stack[c->depth - 1];
    n = digby__node_n(leaf->page);
    switch (op) {
    case DIGBY_SEEK_EQ:
        if (!exact) rc = DIGBY_NOTFOUND;
        break;
    case DIGBY_SEEK_GT:
        if (exact) leaf->idx++;
        /* fall through */
    case DIGBY_SEEK_GE:
        if (leaf->idx >= n) { leaf->idx = n - 1; rc = digby__cursor_step(c, 1); }
        break;
    case DIGBY_SEEK_LE:
        if (exact) break;
        /* fall through */
    case DIGBY_SEEK_LT:
        if (leaf->idx == 0) rc = digby__cursor_step(c, -1);
        else leaf->idx--;
        break;
    default:
        rc = DIGBY_INVALID;
    }
    return digby__cursor_arrive(c, rc);
}

DIGBY_API int digby_cursor_seek(digby_cursor *c, const void *key, size_t key_bytes,
                                digby_seek_op op)
{
    digby__skey sk;
    if (!c || (!key && key_bytes) || (unsigned)op > DIGBY_SEEK_EQ) return DIGBY_INVALID;
    if (digby__cursor_merging(c)) return digby__mc_seek_user(c, key, key_bytes, op);
    digby__skey_mem(c->txn->db, &sk, key, key_bytes);
    return digby__cursor_seek(c, &sk.k, op);
}

/* The transaction wrote since the cursor was positioned: re-find it.
   op is how to re-seek from the remembered key. */
static int digby__cursor_refind(digby_cursor *c, digby_seek_op op)
{
    int rc, large = c->key_large;
    uint8_t *kb = c->key, hash[DIGBY__HASH_BYTES];
    size_t kl = c->key_bytes, cap = c->key_cap;
    digby__kref k;
    memset(&k, 0, sizeof(k));
    k.head = kb;
    k.head_bytes = kl;
    k.len = kl;
    if (large) {
        memcpy(hash, c->key_hash, DIGBY__HASH_BYTES);
        k.hash = hash;
        k.len = c->key_len;
        k.root = c->key_root;
        k.version = c->key_version;
        k.kflags = c->key_kflags;
    }
    /* seek reads the key while it may overwrite c->key: detach it */
    c->key = NULL;
    c->key_cap = 0;
    rc = digby__cursor_seek(c, &k, op);
    if (rc == DIGBY_NOTFOUND && op == DIGBY_SEEK_EQ) {
        /* the entry is gone; keep its key so next/prev still work */
        digby__free(&c->txn->db->alloc, c->key);
        c->key = kb;
        c->key_cap = cap;
        c->key_bytes = kl;
        c->key_large = large;
        if (large) {
            memcpy(c->key_hash, hash, DIGBY__HASH_BYTES);
            c->key_len = k.len;
            c->key_root = k.root;
            c->key_version = k.version;
            c->key_kflags = k.kflags;
        }
        c->has_key = 1;
        c->mod = c->txn->mod;
        return rc;
    }
    digby__free(&c->txn->db->alloc, kb);
    return rc;
}

static int digby__cursor_stale(const digby_cursor *c)
{
    return !c->txn->rdonly && c->has_key && c->mod != c->txn->mod;
}

static int digby__cursor_move(digby_cursor *c, int dir)
{
    digby_seek_op op = dir > 0 ? DIGBY_SEEK_GT : DIGBY_SEEK_LT;
    int rc;
    if (!c) return DIGBY_INVALID;
    if (digby__cursor_merging(c)) return digby__mc_move(c, dir);
    if ((rc = digby__cursor_check(c)) != DIGBY_OK) return rc;
    if (digby__cursor_stale(c) || (!c->valid && c->has_key))
        return digby__cursor_refind(c, op);
    if (!c->valid) return digby__cursor_end(c, dir);
    rc = digby__cursor_step(c, dir);
    return digby__cursor_arrive(c, rc);
}

DIGBY_API int digby_cursor_next(digby_cursor *c) { return digby__cursor_move(c, 1); }

DIGBY_API int digby_cursor_prev(digby_cursor *c) { return digby__cursor_move(c, -1); }

/* The entry under the cursor (re-found first if its transaction wrote
   since): its leaf level and decoded cell.  DIGBY_NOTFOUND if there is none. */
static int digby__cursor_here(digby_cursor *c, digby__level **leaf, digby__cell *cell)
{
    int rc;
    if ((rc = digby__cursor_check(c)) != DIGBY_OK) return rc;
    if (digby__cursor_stale(c)) {
        rc = digby__cursor_refind(c, DIGBY_SEEK_EQ);
        if (rc) return rc;
    }
    if (!c->valid) return DIGBY_NOTFOUND;
    *leaf = &c->stack[c->depth - 1];
    digby__node_cell((*leaf)->page, (*leaf)->idx, cell);
    return DIGBY_OK;
}

/* digby_cursor_get, and in *put_flags (may be NULL) how the entry's items
   are stored, as the put flag that stores them so again:
   DIGBY_PUT_COMPRESS when its large key or value item is compressed, else
   DIGBY_PUT_NO_COMPRESS (digby_backup's compacting copy). */
static int digby__cursor_get(digby_cursor *c, const void **key, size_t *key_bytes,
                             const void **val, size_t *val_bytes, uint64_t *version,
                             unsigned *put_flags)
{
    digby__level *leaf = NULL;
    digby__cell cell;
    digby__mnode *n = NULL;
    int rc;
    if (!c) return DIGBY_INVALID;
    if (put_flags) *put_flags = DIGBY_PUT_NO_COMPRESS;
    if (digby__cursor_merging(c)) {
        rc = digby__mc_here(c, &n, &leaf, &cell);
        if (rc) return rc;
        if (n) {
            if (key) *key = digby__mn_key(n);
            if (key_bytes) *key_bytes = n->klen;
            if (val) *val = n->vlen ? n->val : (const uint8_t *)"";
            if (val_bytes) *val_bytes = n->vlen;
            if (version) *version = n->txid;
            return DIGBY_OK;
        }
    } else if ((rc = digby__cursor_here(c, &leaf, &cell)) != DIGBY_OK) {
        return rc;
    }
    if (put_flags && ((cell.flags & DIGBY__CELL_COMPRESSED) ||
                      ((cell.flags & DIGBY__CELL_LARGE_KEY) &&
                       (cell.large_flags & DIGBY__KEY_COMPRESSED))))
        *put_flags = DIGBY_PUT_COMPRESS;
    if ((key || key_bytes) && (cell.flags & DIGBY__CELL_LARGE_KEY)) {
        /* a large key: read it whole from its item */
        if (cell.large_len > (uint64_t)SIZE_MAX - 1) return DIGBY_NOMEM;
        rc = digby__reserve(&c->txn->db->alloc, &c->full, &c->full_cap,
                            (size_t)cell.large_len + 1);
        if (rc) return rc;
        rc = digby__item_read(c->txn, 2, cell.large_root, cell.version, cell.large_len,
                              (cell.large_flags & DIGBY__KEY_COMPRESSED) != 0, c->full);
        if (rc) return rc;
        if (key) *key = c->full;
        if (key_bytes) *key_bytes = (size_t)cell.large_len;
    } else if ((key || key_bytes) && digby__node_plen(leaf->page)) {
        /* the page stores keys without their shared prefix: assemble */
        rc = digby__cursor_key_of(c, leaf->page, leaf->pgno, &cell);
        if (rc) return rc;
        if (key) *key = c->key;
        if (key_bytes) *key_bytes = c->key_bytes;
    } else {
        if (key) *key = cell.key;
        if (key_bytes) *key_bytes = cell.key_bytes;
    }
    if (version) *version = cell.version;
    if (val || val_bytes) {
        if (cell.flags & DIGBY__CELL_OVERFLOW) {
            rc = digby__cell_value(c->txn, &cell, &c->val, &c->val_cap);
            if (rc) return rc;
            if (val) *val = c->val;
        } else if (val) {
            *val = cell.val;
        }
        if (val_bytes) *val_bytes = (size_t)cell.vlen;
    }
    return DIGBY_OK;
}

DIGBY_API int digby_cursor_get(digby_cursor *c, const void **key, size_t *key_bytes,
                               const void **val, size_t *val_bytes, uint64_t *version)
{
    return digby__cursor_get(c, key, key_bytes, val, val_bytes, version, NULL);
}

DIGBY_API int digby_cursor_get_range(digby_cursor *c, uint64_t offset, void *buf, size_t len,
                                     size_t *got_bytes, uint64_t *val_bytes)
{
    digby__level *leaf = NULL;
    digby__cell cell;
    digby__mnode *n = NULL;
    int rc;
    if (got_bytes) *got_bytes = 0;
    if (!c || (!buf && len) || !got_bytes) return DIGBY_INVALID;
    if (digby__cursor_merging(c)) {
        rc = digby__mc_here(c, &n, &leaf, &cell);
        if (rc) return rc;
        if (n) digby__mn_cell(n, &cell);
    } else if ((rc = digby__cursor_here(c, &leaf, &cell)) != DIGBY_OK) {
        return rc;
    }
    if (val_bytes) *val_bytes = cell.vlen;
    return digby__value_range(c->txn, &cell, offset, (uint8_t *)buf, len, got_bytes);
}
