/* Tables: named trees, listed in the catalog.

   Tables: the catalog is a B+ tree (its descriptor in the meta page) that
   maps each table name to a 32-byte tree descriptor (FORMAT.md section 7).
   A transaction keeps one handle per table it opened; changed descriptors
   are written back to the catalog at commit. */

static int digby__name_check(const char *name, size_t *len)
{
    size_t n;
    if (!name) return DIGBY_INVALID;
    for (n = 0; n <= DIGBY_MAX_TABLE_NAME && name[n]; n++) {}
    if (n == 0 || n > DIGBY_MAX_TABLE_NAME) return DIGBY_INVALID;
    *len = n;
    return DIGBY_OK;
}

static digby_table *digby__table_find(digby_txn *txn, const char *name, size_t len)
{
    digby_table *t;
    for (t = txn->tables; t; t = t->next)
        if (!t->dropped && t->name_bytes == len && memcmp(t->name, name, len) == 0)
            return t;
    return NULL;
}

/* Decode a catalog value into a tree descriptor, checking it. */
static int digby__table_decode(digby_txn *txn, const void *val, size_t vlen,
                               digby__tree *t)
{
    if (vlen != DIGBY__TREE_BYTES) return DIGBY__CORRUPT(txn->db, txn->meta.catalog.root);
    digby__tree_decode(t, (const uint8_t *)val);
    if (!digby__tree_sane(t, txn->meta.page_count, txn->meta.txid + 1))
        return DIGBY__CORRUPT(txn->db, txn->meta.catalog.root);
    return DIGBY_OK;
}

DIGBY_API int digby_table_open(digby_txn *txn, const char *name, unsigned flags,
                               digby_table **out)
{
    digby_table *t;
    digby__tree tree;
    const void *val;
    size_t len, vlen;
    int rc, created = 0;
    if (!out) return DIGBY_INVALID;
    *out = NULL;
    if (!txn || (flags & ~DIGBY_TABLE_CREATE)) return DIGBY_INVALID;
    if ((rc = digby__name_check(name, &len)) != DIGBY_OK) return rc;
    if (len > txn->db->max_key) return DIGBY_TOOBIG;
    if (txn->poisoned) return DIGBY_POISONED;
    t = digby__table_find(txn, name, len);
    if (t) { *out = t; return DIGBY_OK; }
    memset(&tree, 0, sizeof(tree));
    rc = digby__btree_get(txn, &txn->meta.catalog, name, len, &val, &vlen, NULL);
    if (rc == DIGBY_OK) rc = digby__table_decode(txn, val, vlen, &tree);
    else if (rc == DIGBY_NOTFOUND) {
        if (!(flags & DIGBY_TABLE_CREATE)) return DIGBY_NOTFOUND;
        if (txn->rdonly) return DIGBY_READONLY;
        created = 1;
        /* tables are made in the tree, not the log */
        rc = digby__log_escalate(txn);
    }
    if (rc) return digby__txn_fail(txn, rc);
    t = (digby_table *)digby__malloc(&txn->db->alloc, sizeof(*t));
    if (!t) return DIGBY_NOMEM;
    memset(t, 0, sizeof(*t));
    t->txn = txn;
    t->tree = tree;
    t->name_bytes = len;
    memcpy(t->name, name, len);
    t->name[len] = 0;
    t->next = txn->tables;
    txn->tables = t;
    if (created) {
        /* a new table reaches the catalog at commit even if left empty */
        t->dirty = 1;
        txn->mod++;
    }
    *out = t;
    return DIGBY_OK;
}

DIGBY_API int digby_table_drop(digby_txn *txn, const char *name)
{
    digby_table *t;
    digby__tree tree;
    const void *val;
    size_t len, vlen;
    int rc, in_catalog;
    if (!txn) return DIGBY_INVALID;
    if ((rc = digby__name_check(name, &len)) != DIGBY_OK) return rc;
    if ((rc = digby__txn_check_write(txn)) != DIGBY_OK) return rc;
    /* tables are dropped in the tree, not the log */
    if ((rc = digby__log_escalate(txn)) != DIGBY_OK) return digby__txn_fail(txn, rc);
    t = digby__table_find(txn, name, len);
    rc = digby__btree_get(txn, &txn->meta.catalog, name, len, &val, &vlen, NULL);
    in_catalog = rc == DIGBY_OK;
    if (rc != DIGBY_OK && rc != DIGBY_NOTFOUND) return digby__txn_fail(txn, rc);
    if (!t && !in_catalog) return DIGBY_NOTFOUND;
    if (t) tree = t->tree;
    else {
        rc = digby__table_decode(txn, val, vlen, &tree);
        if (rc) return digby__txn_fail(txn, rc);
    }
    rc = digby__btree_free_all(txn, &tree);
    if (rc == DIGBY_OK && in_catalog)
        rc = digby__btree_delete(txn, &txn->meta.catalog, name, len);
    if (rc) return digby__txn_fail(txn, rc);
    if (t) { t->dropped = 1; t->dirty = 0; }
    txn->mod++;
    return DIGBY_OK;
}

/* Write changed table descriptors into the catalog (at commit). */
static int digby__table_flush(digby_txn *txn)
{
    digby_table *t;
    uint8_t desc[DIGBY__TREE_BYTES];
    int rc;
    if (txn->rdonly) return DIGBY_OK;
    for (t = txn->tables; t; t = t->next) {
        if (!t->dirty || t->dropped) continue;
        digby__tree_encode(&t->tree, desc);
        rc = digby__btree_put(txn, &txn->meta.catalog, t->name, t->name_bytes,
                              desc, sizeof(desc), 0);
        if (rc) return rc;
        t->dirty = 0;
        txn->mod++;
    }
    return DIGBY_OK;
}

DIGBY_API int digby_table_count(digby_txn *txn, digby_table *table, uint64_t *entries)
{
    digby__tree *t;
    int rc;
    if (!txn || !entries) return DIGBY_INVALID;
    t = digby__txn_tree(txn, table, &rc);
    if (!t) return rc;
    return digby__merged_entries(txn, table ? table->name : "", table ? table->name_bytes : 0,
                                 t, entries);
}

DIGBY_API int digby_table_list(digby_txn *txn,
                               int (*fn)(void *ctx, const char *name,
                                         size_t name_bytes, uint64_t entries),
                               void *ctx)
{
    digby_cursor *c;
    int rc;
    if (!txn || !fn) return DIGBY_INVALID;
    if (txn->poisoned) return DIGBY_POISONED;
    /* open handles may hold newer counts than the catalog: flush first */
    if (!txn->rdonly) {
        rc = digby__table_flush(txn);
        if (rc) return digby__txn_fail(txn, rc);
    }
    rc = digby__cursor_new(txn, NULL, &txn->meta.catalog, &c);
    if (rc) return rc;
    for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
        const void *k, *v;
        size_t kl, vl;
        digby__tree tree;
        uint64_t n;
        int r;
        rc = digby_cursor_get(c, &k, &kl, &v, &vl, NULL);
        if (rc) break;
        rc = digby__table_decode(txn, v, vl, &tree);
        if (rc == DIGBY_OK) rc = digby__merged_entries(txn, (const char *)k, kl, &tree, &n);
        if (rc) break;
        r = fn(ctx, (const char *)k, kl, n);
        if (r) {
            /* fn's value as it is, even one that looks like NOTFOUND (-1) */
            digby_cursor_close(c);
            return r;
        }
    }
    digby_cursor_close(c);
    return rc == DIGBY_NOTFOUND ? DIGBY_OK : rc;
}
