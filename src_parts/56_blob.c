/* Streaming value I/O: byte ranges of a value, and puts in pieces.

   Streaming value I/O, in the spirit of SQLite's incremental blob I/O:
   read any byte range of a value without reading the rest of it, and write
   a value of known length in pieces.  An overflow item's index pages lead
   straight to the page (or the compressed chunk) that holds an offset
   (54_overflow.c), so both use memory bounded by a few pages, and two
   chunks when compressing, whatever the value's size. */

struct digby_blob {
    digby_txn *txn;
    digby_table *table;      /* NULL: the global tree */
    unsigned flags;          /* DIGBY_PUT_* */
    digby__entry e;          /* the entry to be: key done, value pending */
    uint8_t *key;            /* the key, or a large key's cell bytes */
    uint64_t total, done;    /* value bytes declared, taken */
    uint8_t *buf;            /* a value small enough for its leaf */
    int inline_val;
    digby__iw iw;            /* a value for overflow pages */
};

/* Release a streaming put; free_pages: also free the pages it wrote
   (otherwise the transaction is being aborted and they go with it). */
static int digby__blob_end(digby_blob *b, int free_pages)
{
    digby_txn *txn = b->txn;
    const digby_allocator *a = &txn->db->alloc;
    int rc = DIGBY_OK, rc2 = DIGBY_OK;
    if (free_pages) {
        if (!b->inline_val) rc = digby__iw_abort(txn, &b->iw);
        if (b->e.large)
            rc2 = digby__item_free(txn, b->e.kroot, txn->txid, b->e.klen,
                                   (b->e.kflags & DIGBY__KEY_COMPRESSED) != 0);
    } else if (!b->inline_val) {
        digby__iw_release(txn->db, &b->iw);
    }
    if (txn->blob == b) txn->blob = NULL;
    digby__free(a, b->key);
    digby__free(a, b->buf);
    digby__free(a, b);
    return rc ? rc : rc2;
}

static int digby__blob_discard(digby_txn *txn, int free_pages)
{
    if (!txn->blob) return DIGBY_OK;
    return digby__blob_end(txn->blob, free_pages);
}

DIGBY_API int digby_txn_put_begin(digby_txn *txn, digby_table *table, const void *key,
                                  size_t key_bytes, uint64_t total_bytes, unsigned flags,
                                  digby_blob **out)
{
    digby_db *db;
    digby__tree *t;
    digby_blob *b;
    digby__skey sk;
    digby__loc loc;
    int rc, comp;
    if (!out) return DIGBY_INVALID;
    *out = NULL;
    t = digby__put_args(txn, table, key, key_bytes, total_bytes, flags, &rc);
    if (!t) return rc;
    if (txn->blob) return DIGBY_BUSY;
    /* a streaming put goes to the tree */
    if ((rc = digby__log_escalate(txn)) != DIGBY_OK) return digby__txn_fail(txn, rc);
    db = txn->db;
    digby__skey_mem(db, &sk, key, key_bytes);
    if (flags & DIGBY_PUT_NOOVERWRITE) {
        rc = digby__locate(txn, t, &sk.k, &loc);
        if (rc) return digby__txn_fail(txn, rc);
        if (loc.exact) return DIGBY_EXISTS;
    }
    b = (digby_blob *)digby__malloc(&db->alloc, sizeof(*b));
    if (!b) return DIGBY_NOMEM;
    memset(b, 0, sizeof(*b));
    b->txn = txn;
    b->table = table;
    b->flags = flags;
    b->total = total_bytes;
    b->e.klen = key_bytes;
    b->e.kh_bytes = key_bytes;
    b->inline_val = 1; /* nothing to release yet */
    if (key_bytes > db->max_key) {
        size_t pre = digby__large_prefix(db);
        b->e.large = 1;
        b->e.kh_bytes = pre + DIGBY__HASH_BYTES;
    }
    b->key = (uint8_t *)digby__malloc(&db->alloc, b->e.kh_bytes);
    if (!b->key) { digby__free(&db->alloc, b); return DIGBY_NOMEM; }
    txn->blob = b;
    if (b->e.large) {
        /* the key is written now: only its cell bytes are kept */
        size_t pre = digby__large_prefix(db);
        memcpy(b->key, key, pre);
        memcpy(b->key + pre, sk.hash, DIGBY__HASH_BYTES);
        rc = digby__item_write(txn, (const uint8_t *)key, key_bytes,
                               digby__put_lz4(db, flags), &b->e.kroot, &comp);
        if (rc) {
            b->e.large = 0;
            digby__blob_end(b, 0);
            return digby__txn_fail(txn, rc);
        }
        b->e.kflags = comp ? DIGBY__KEY_COMPRESSED : 0;
    } else if (key_bytes) {
        memcpy(b->key, key, key_bytes);
    }
    b->e.kh = b->key;
    if (digby__inline_size(txn, &b->e, total_bytes) <= db->max_cell) {
        b->buf = (uint8_t *)digby__malloc(&db->alloc, (size_t)total_bytes + 1);
        if (!b->buf) { digby__blob_end(b, 1); return DIGBY_NOMEM; }
    } else {
        rc = digby__iw_begin(txn, &b->iw, total_bytes, digby__put_lz4(db, flags));
        if (rc) { digby__blob_end(b, 1); return digby__txn_fail(txn, rc); }
        b->inline_val = 0;
    }
    *out = b;
    return DIGBY_OK;
}

DIGBY_API int digby_blob_write(digby_blob *b, const void *buf, size_t len)
{
    digby_txn *txn;
    int rc;
    if (!b || (!buf && len)) return DIGBY_INVALID;
    txn = b->txn;
    if (txn->poisoned) return DIGBY_POISONED;
    if (len > b->total - b->done) return DIGBY_INVALID;
    if (b->inline_val) {
        if (len) memcpy(b->buf + b->done, buf, len);
    } else {
        rc = digby__iw_write(txn, &b->iw, (const uint8_t *)buf, len);
        if (rc) return digby__txn_fail(txn, rc);
    }
    b->done += len;
    return DIGBY_OK;
}

DIGBY_API int digby_blob_finish(digby_blob *b)
{
    digby_txn *txn;
    digby__tree *t;
    digby__loc loc;
    digby__kref k;
    int rc, comp;
    if (!b) return DIGBY_INVALID;
    txn = b->txn;
    if (txn->poisoned) return DIGBY_POISONED;
    if (b->done != b->total) return DIGBY_INVALID;
    t = digby__txn_tree(txn, b->table, &rc);
    if (!t) {
        int rc2 = digby__blob_end(b, 1);
        return rc2 ? digby__txn_fail(txn, rc2) : rc;
    }
    memset(&k, 0, sizeof(k));
    k.head = b->e.kh;
    k.head_bytes = b->e.kh_bytes;
    k.len = b->e.klen;
    if (b->e.large) {
        k.head_bytes -= DIGBY__HASH_BYTES;
        k.hash = b->e.kh + k.head_bytes;
        k.root = b->e.kroot;
        k.version = txn->txid;
        k.kflags = b->e.kflags;
    }
    rc = digby__locate(txn, t, &k, &loc);
    if (rc == DIGBY_OK && loc.exact && (b->flags & DIGBY_PUT_NOOVERWRITE)) {
        rc = digby__blob_end(b, 1);
        return rc ? digby__txn_fail(txn, rc) : DIGBY_EXISTS;
    }
    if (rc == DIGBY_OK) {
        b->e.vlen = b->total;
        if (b->inline_val) {
            b->e.val = b->buf;
        } else {
            rc = digby__iw_finish(txn, &b->iw, &b->e.vroot, &comp);
            b->inline_val = 1; /* released */
            b->e.vflags = DIGBY__CELL_OVERFLOW | (comp ? DIGBY__CELL_COMPRESSED : 0);
        }
    }
    if (rc == DIGBY_OK) rc = digby__btree_store(txn, t, &loc, &b->e);
    if (rc == DIGBY_OK) {
        txn->mod++;
        if (b->table) b->table->dirty = 1;
    }
    b->e.large = 0; /* its key item belongs to the entry (or a poisoned txn) */
    digby__blob_end(b, 0);
    return digby__txn_fail(txn, rc);
}

DIGBY_API void digby_blob_abort(digby_blob *b)
{
    digby_txn *txn;
    int rc;
    if (!b) return;
    txn = b->txn;
    rc = digby__blob_end(b, !txn->poisoned);
    if (rc) digby__txn_fail(txn, rc);
}

/* Copy up to len bytes of the value of leaf cell c from offset off to buf;
   *got is how many (0 at or past its end). */
static int digby__value_range(digby_txn *txn, const digby__cell *c, uint64_t off,
                              uint8_t *buf, size_t len, size_t *got)
{
    uint64_t n = off >= c->vlen ? 0 : DIGBY__MIN((uint64_t)len, c->vlen - off);
    int rc;
    *got = 0;
    if (n == 0) return DIGBY_OK;
    if (c->flags & DIGBY__CELL_OVERFLOW) {
        digby__rd *rd;
        rc = digby__large_scratch_get(txn);
        if (rc) return rc;
        rd = &txn->large->rd[2];
        rc = digby__rd_open(txn, rd, digby__get64(c->val), c->version, c->vlen,
                            (c->flags & DIGBY__CELL_COMPRESSED) != 0);
        if (rc == DIGBY_OK) rc = digby__rd_read(txn, rd, off, buf, (size_t)n);
        if (rc) return rc;
    } else {
        memcpy(buf, c->val + off, (size_t)n);
    }
    *got = (size_t)n;
    return DIGBY_OK;
}

DIGBY_API int digby_txn_get_range(digby_txn *txn, digby_table *table, const void *key,
                                  size_t key_bytes, uint64_t offset, void *buf, size_t len,
                                  size_t *got_bytes, uint64_t *val_bytes)
{
    digby__frame *pin = NULL;
    digby__tree *t;
    digby__cell c;
    int rc;
    if (got_bytes) *got_bytes = 0;
    if (!txn || (!key && key_bytes) || (!buf && len) || !got_bytes) return DIGBY_INVALID;
    if (txn->poisoned) return DIGBY_POISONED;
    if (key_bytes > DIGBY_MAX_KEY_BYTES) return DIGBY_NOTFOUND;
    t = digby__txn_tree(txn, table, &rc);
    if (!t) return rc;
    {
        int s = digby__txn_slot(txn, table);
        digby__mnode *n = s < 0 || key_bytes > txn->db->max_key
                              ? NULL
                              : digby__mem_get(txn->mview, (uint32_t)s, key, key_bytes,
                                               txn->mem_upto);
        if (n) {
            if (n->flags & DIGBY__MN_TOMB) return DIGBY_NOTFOUND;
            digby__mn_cell(n, &c);
            if (val_bytes) *val_bytes = c.vlen;
            return digby__value_range(txn, &c, offset, (uint8_t *)buf, len, got_bytes);
        }
    }
    rc = digby__btree_find(txn, t, key, key_bytes, &c, &pin);
    if (rc) return rc;
    if (val_bytes) *val_bytes = c.vlen;
    rc = digby__value_range(txn, &c, offset, (uint8_t *)buf, len, got_bytes);
    digby__page_unpin(txn->db, pin);
    return rc;
}
