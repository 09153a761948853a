/* Record rows: insert, update, upsert, delete and get, each with its index entries.

   A write runs in three steps, so that a refused write leaves nothing
   behind: (1) check the items and pack every key and value it will need
   (the row's, and per index the old and the new entry) into one buffer;
   (2) read: the old row, the new primary key, every unique index key that
   changes (FoundationDB Record Layer issues #901 and #1134: a unique check
   made after part of the write leaves half a row); (3) write the row,
   then each index entry that changed.  A failure in step 3 is the store's
   (I/O, memory) and poisons the transaction, as any failed write does. */

#define DIGBY__RT_INSERT 0
#define DIGBY__RT_UPSERT 1
#define DIGBY__RT_UPDATE 2
#define DIGBY__RT_DELETE 3

/* ---- items -------------------------------------------------------------- */

static int digby__rt_type_fits(const digby__rcol *c, digby_tuple_type t)
{
    return t == c->type || (c->type == DIGBY_TUPLE_INT && t == DIGBY_TUPLE_UINT);
}

/* An item for column c: NULL only in a nullable column, else its type. */
static int digby__rt_item_ok(digby_rtable *rt, const digby__rcol *c, const digby_tuple_item *it)
{
    if (it->type == DIGBY_TUPLE_NULL) {
        if (!(c->flags & DIGBY_COLUMN_NOT_NULL)) return DIGBY_OK;
        return digby__rt_msg(rt->msg, DIGBY_INVALID, "column %s: NULL in a NOT NULL column",
                             c->name, NULL);
    }
    if (digby__rt_type_fits(c, it->type)) return DIGBY_OK;
    snprintf(rt->msg, sizeof(rt->msg), "column %s: a %s item for a %s column", c->name,
             digby__rt_type_name(it->type), digby__rt_type_name(c->type));
    return DIGBY_INVALID;
}

static int digby__rt_row_ok(digby_rtable *rt, const digby_tuple_item *row, size_t n)
{
    uint32_t i;
    int rc;
    if (n != rt->s->ncols) {
        snprintf(rt->msg, sizeof(rt->msg), "%lu items for %lu columns", (unsigned long)n,
                 (unsigned long)rt->s->ncols);
        return DIGBY_INVALID;
    }
    for (i = 0; i < n; i++)
        if ((rc = digby__rt_item_ok(rt, &rt->s->cols[i], &row[i])) != DIGBY_OK) return rc;
    return DIGBY_OK;
}

static int digby__rt_key_ok(digby_rtable *rt, const digby_tuple_item *key, size_t n)
{
    uint32_t i;
    int rc;
    if (n != rt->s->nkey) {
        snprintf(rt->msg, sizeof(rt->msg), "%lu items for a primary key of %lu columns",
                 (unsigned long)n, (unsigned long)rt->s->nkey);
        return DIGBY_INVALID;
    }
    for (i = 0; i < n; i++)
        if ((rc = digby__rt_item_ok(rt, &rt->s->cols[rt->s->key[i]], &key[i])) != DIGBY_OK)
            return rc;
    return DIGBY_OK;
}

/* Pack n items at the end of rt->wb; *out: where.  INVALID (a malformed
   item: the caller names it), TOOBIG (past 4 GiB - 1), NOMEM. */
static int digby__rt_pack(digby_rtable *rt, const digby_tuple_item *items, size_t n,
                          digby__rpk *out)
{
    size_t len = 0;
    int rc = digby_tuple_pack(items, n, rt->wb ? rt->wb + rt->wb_len : NULL,
                              rt->wb_cap - rt->wb_len, &len);
    if (rc == DIGBY_TOOBIG) {
        if (len > DIGBY_MAX_KEY_BYTES || len > SIZE_MAX - rt->wb_len) return DIGBY_TOOBIG;
        rc = digby__reserve(&rt->txn->db->alloc, &rt->wb, &rt->wb_cap, rt->wb_len + len);
        if (rc) return rc;
        rc = digby_tuple_pack(items, n, rt->wb + rt->wb_len, rt->wb_cap - rt->wb_len, &len);
    }
    if (rc) return rc;
    if (len > DIGBY_MAX_KEY_BYTES) return DIGBY_TOOBIG;
    out->off = rt->wb_len;
    out->len = len;
    rt->wb_len += len;
    return DIGBY_OK;
}

/* Pack the columns cols[0, n) of a row given in column order. */
static int digby__rt_pack_cols(digby_rtable *rt, const digby_tuple_item *row,
                               const uint32_t *cols, size_t n, digby__rpk *out)
{
    size_t i;
    for (i = 0; i < n; i++) rt->items[i] = row[cols[i]];
    return digby__rt_pack(rt, rt->items, n, out);
}

/* A packed item failed: name the malformed item (bad UTF-8, a bool not 0
   or 1, bytes with a NULL pointer). */
static int digby__rt_bad_item(digby_rtable *rt, const digby_tuple_item *row, size_t n,
                              const uint32_t *cols)
{
    size_t i, len;
    for (i = 0; i < n; i++) {
        const digby_tuple_item *it = cols ? &row[cols[i]] : &row[i];
        if (digby_tuple_pack(it, 1, NULL, 0, &len) == DIGBY_INVALID)
            return digby__rt_msg(rt->msg, DIGBY_INVALID,
                                 "column %s: malformed item (UTF-8, bool or pointer)",
                                 rt->s->cols[cols ? cols[i] : rt->s->key[i]].name, NULL);
    }
    return DIGBY_INVALID;
}

static const uint8_t *digby__rt_at(const digby_rtable *rt, const digby__rpk *p)
{
    return rt->wb + p->off;
}

static int digby__rt_same(const digby_rtable *rt, const digby__rpk *a, const digby__rpk *b)
{
    return a->len == b->len && memcmp(rt->wb + a->off, rt->wb + b->off, a->len) == 0;
}

/* The entry of index x for a row (column order) whose packed primary key
   is rowkey: a unique index without NULLs in its columns keys on them and
   holds the primary key; else the key has the primary-key columns too and
   the value is empty (FORMAT.md section 13). */
static int digby__rt_entry(digby_rtable *rt, const digby__ridx *x, const digby_tuple_item *row,
                           const digby__rpk *rowkey, digby__rpk *k, digby__rpk *v)
{
    uint32_t i;
    int unique = (x->flags & DIGBY_INDEX_UNIQUE) != 0;
    for (i = 0; unique && i < x->ncols; i++)
        if (row[x->entry[i]].type == DIGBY_TUPLE_NULL) unique = 0;
    if (unique) {
        *v = *rowkey;
        return digby__rt_pack_cols(rt, row, x->entry, x->ncols, k);
    }
    v->off = 0;
    v->len = 0;
    return digby__rt_pack_cols(rt, row, x->entry, x->nentry, k);
}

/* ---- rows read back ------------------------------------------------------- */

static int digby__rt_items_reserve(const digby_allocator *a, digby_tuple_item **p, size_t *cap,
                                   size_t n)
{
    digby_tuple_item *q;
    if (*cap >= n && *p) return DIGBY_OK;
    q = (digby_tuple_item *)digby__realloc(a, *p, n * sizeof(*q));
    if (!q) return DIGBY_NOMEM;
    *p = q;
    *cap = n;
    return DIGBY_OK;
}

/* Unpack p[0, n) as a tuple of lo .. hi items into b->tmp, its escaped
   strings at b->arena + *aoff.  CORRUPT for anything else; TOOBIG: the
   arena needs *aneed more bytes from *aoff. */
static int digby__rt_unpack(digby_txn *txn, digby__rowbuf *b, const uint8_t *p, size_t n,
                            size_t lo, size_t hi, size_t *count, size_t *aoff, size_t *aneed)
{
    size_t need = 0;
    int rc = digby_tuple_unpack(p, n, b->tmp, hi, count, b->arena ? b->arena + *aoff : NULL,
                                b->arena ? b->arena_cap - *aoff : 0, &need, aneed);
    if (rc == DIGBY_TOOBIG && need <= hi) return DIGBY_TOOBIG; /* the arena */
    if (rc || *count < lo || need != *count) return DIGBY__CORRUPT(txn->db, 0);
    *aoff += *aneed;
    return DIGBY_OK;
}

/* Copy a stored row (key k, value v) into b and decode it into b->row,
   one item per column, checked against the schema: CORRUPT when it does
   not fit.  key_only: k alone, into b->tmp[0, nkey). */
static int digby__rt_decode_x(digby_rtable *rt, digby__rowbuf *b, const void *k, size_t kn,
                              const void *v, size_t vn, int key_only)
{
    const digby_allocator *a = &rt->txn->db->alloc;
    const digby__rschema *s = rt->s;
    size_t count, aoff, kneed = 0, vneed = 0, i;
    int rc;
    if (kn > SIZE_MAX - vn - 1) return DIGBY_NOMEM;
    rc = digby__reserve(a, &b->bytes, &b->cap, kn + vn + 1);
    if (rc == DIGBY_OK)
        rc = digby__rt_items_reserve(a, &b->tmp, &b->tmp_cap, DIGBY__MAX(s->nkey, s->nval) + 1);
    if (rc == DIGBY_OK) rc = digby__rt_items_reserve(a, &b->row, &b->row_cap, s->ncols);
    if (rc) return rc;
    memcpy(b->bytes, k, kn);
    if (vn) memcpy(b->bytes + kn, v, vn);
    b->key_bytes = kn;
    b->val_bytes = vn;
    for (;;) {
        aoff = 0;
        rc = digby__rt_unpack(rt->txn, b, b->bytes, kn, s->nkey, s->nkey, &count, &aoff, &kneed);
        if (rc == DIGBY_OK && key_only) return DIGBY_OK;
        if (rc == DIGBY_OK) {
            for (i = 0; i < s->nkey; i++) b->row[s->key[i]] = b->tmp[i];
            rc = digby__rt_unpack(rt->txn, b, b->bytes + kn, vn, s->row_min, s->nval, &count,
                                  &aoff, &vneed);
        }
        if (rc != DIGBY_TOOBIG) break;
        /* an escaped string needs the arena: make room for both, redo */
        if (kneed > SIZE_MAX / 2 - vneed) return DIGBY_NOMEM;
        rc = digby__reserve(a, &b->arena, &b->arena_cap, kneed + vneed + 1);
        if (rc) return rc;
    }
    if (rc) return rc;
    for (i = 0; i < s->nval; i++) {
        if (i < count) b->row[s->val[i]] = b->tmp[i];
        else b->row[s->val[i]].type = DIGBY_TUPLE_NULL; /* added later */
    }
    for (i = 0; i < s->ncols; i++) {
        const digby__rcol *c = &s->cols[i];
        digby_tuple_type t = b->row[i].type;
        if (t == DIGBY_TUPLE_NULL ? (c->flags & DIGBY_COLUMN_NOT_NULL) != 0
                                  : !digby__rt_type_fits(c, t))
            return DIGBY__CORRUPT(rt->txn->db, 0);
    }
    return DIGBY_OK;
}

static int digby__rt_decode(digby_rtable *rt, digby__rowbuf *b, const void *k, size_t kn,
                            const void *v, size_t vn)
{
    return digby__rt_decode_x(rt, b, k, kn, v, vn, 0);
}

/* The entry of index x for the row decoded in b: the row's key goes to the
   start of rt->wb (a unique entry's value), the entry's key after it. */
static int digby__rt_entry_of(digby_rtable *rt, const digby__ridx *x, const digby__rowbuf *b,
                              digby__rpk *k, digby__rpk *v)
{
    digby__rpk rk;
    int rc = digby__reserve(&rt->txn->db->alloc, &rt->wb, &rt->wb_cap, b->key_bytes + 1);
    if (rc) return rc;
    memcpy(rt->wb, b->bytes, b->key_bytes);
    rt->wb_len = b->key_bytes;
    rk.off = 0;
    rk.len = b->key_bytes;
    return digby__rt_entry(rt, x, b->row, &rk, k, v);
}

/* ---- constraints ---------------------------------------------------------- */

/* A unique index x has the key already, for the row whose key is pk. */
static int digby__rt_violation(digby_rtable *rt, const digby__ridx *x, const void *pk,
                               size_t pkn)
{
    int rc = digby__rt_decode_x(rt, &rt->ckey, pk, pkn, NULL, 0, 1);
    if (rc) return rc;
    memcpy(rt->cidx, x->name, sizeof(rt->cidx));
    rt->have_constraint = 1;
    snprintf(rt->msg, sizeof(rt->msg), "unique index %s: another row has that key",
             x->name);
    return DIGBY_CONSTRAINT;
}

DIGBY_API int digby_rtable_constraint(digby_rtable *rt, digby_constraint *out)
{
    if (!rt || !out) return DIGBY_INVALID;
    memset(out, 0, sizeof(*out));
    if (!rt->have_constraint) return DIGBY_NOTFOUND;
    out->index = rt->cidx;
    out->key = rt->ckey.tmp;
    out->nkey = rt->s->nkey;
    out->packed_key = rt->ckey.bytes;
    out->packed_key_bytes = rt->ckey.key_bytes;
    return DIGBY_OK;
}

/* ---- the writes ------------------------------------------------------------ */

/* After the first write, every failure poisons: the row and its entries
   must change together or not at all. */
static int digby__rt_failed_midway(digby_rtable *rt, int rc)
{
    if (rc == DIGBY_NOTFOUND || rc == DIGBY_EXISTS) rc = DIGBY__CORRUPT(rt->txn->db, 0);
    rt->txn->poisoned = 1;
    return rc;
}

static int digby__rt_write(digby_rtable *rt, const digby_tuple_item *key, size_t nkey,
                           const digby_tuple_item *row, size_t ncols, int mode)
{
    digby_txn *txn = rt->txn;
    const digby__rschema *s;
    digby__rpk k0, k1, v1;
    digby__rpk *e;
    const void *val;
    size_t vlen;
    uint32_t i;
    int rc, have_old = 0, wrote = 0, any_unique = 0;
    if ((rc = digby__rt_writable(rt)) != DIGBY_OK) return rc;
    s = rt->s;
    e = rt->ent;
    if (row && (rc = digby__rt_row_ok(rt, row, ncols)) != DIGBY_OK) return rc;
    if (key && (rc = digby__rt_key_ok(rt, key, nkey)) != DIGBY_OK) return rc;
    /* (1) pack */
    rt->wb_len = 0;
    memset(&k1, 0, sizeof(k1));
    memset(&v1, 0, sizeof(v1));
    if (key) {
        rc = digby__rt_pack(rt, key, nkey, &k0);
        if (rc == DIGBY_INVALID) return digby__rt_bad_item(rt, key, nkey, NULL);
        if (rc) return rc;
    }
    if (row) {
        rc = digby__rt_pack_cols(rt, row, s->key, s->nkey, &k1);
        if (rc == DIGBY_INVALID) return digby__rt_bad_item(rt, row, s->nkey, s->key);
        if (rc == DIGBY_OK) rc = digby__rt_pack_cols(rt, row, s->val, s->nval, &v1);
        if (rc == DIGBY_INVALID) return digby__rt_bad_item(rt, row, s->nval, s->val);
        if (rc) return rc;
        if (!key) k0 = k1;
    }
    for (i = 0; i < s->nidx; i++) {
        if (s->idx[i].flags & DIGBY_INDEX_UNIQUE) any_unique = 1;
        if (row) {
            rc = digby__rt_entry(rt, &s->idx[i], row, &k1, &e[4 * i], &e[4 * i + 1]);
            if (rc) return rc;
        }
    }
    /* (2) read and check */
    if (mode != DIGBY__RT_INSERT) {
        rc = digby_txn_get(txn, rt->rows, digby__rt_at(rt, &k0), k0.len, &val, &vlen, NULL);
        if (rc == DIGBY_OK) {
            rc = digby__rt_decode(rt, &rt->old, digby__rt_at(rt, &k0), k0.len, val, vlen);
            if (rc) return rc;
            have_old = 1;
            for (i = 0; i < s->nidx; i++) {
                rc = digby__rt_entry(rt, &s->idx[i], rt->old.row, &k0, &e[4 * i + 2],
                                     &e[4 * i + 3]);
                if (rc) return rc;
            }
        } else if (rc != DIGBY_NOTFOUND || mode != DIGBY__RT_UPSERT) {
            return rc;
        }
    }
    if ((mode == DIGBY__RT_UPDATE && !digby__rt_same(rt, &k0, &k1)) ||
        (mode == DIGBY__RT_INSERT && any_unique)) {
        /* the new primary key must be free (with no unique index, an insert
           learns that from its put, which then writes nothing) */
        rc = digby_txn_get(txn, rt->rows, digby__rt_at(rt, &k1), k1.len, &val, &vlen, NULL);
        if (rc == DIGBY_OK) return digby__rt_msg(rt->msg, DIGBY_EXISTS,
                                                 "a row has that primary key", NULL, NULL);
        if (rc != DIGBY_NOTFOUND) return rc;
    }
    for (i = 0; row && i < s->nidx; i++) {
        const digby__rpk *nk = &e[4 * i];
        if (!(s->idx[i].flags & DIGBY_INDEX_UNIQUE) || e[4 * i + 1].len == 0) continue;
        if (have_old && digby__rt_same(rt, nk, &e[4 * i + 2])) continue; /* its own */
        rc = digby_txn_get(txn, s->idx[i].table, digby__rt_at(rt, nk), nk->len, &val, &vlen,
                           NULL);
        if (rc == DIGBY_OK) return digby__rt_violation(rt, &s->idx[i], val, vlen);
        if (rc != DIGBY_NOTFOUND) return rc;
    }
    /* (3) write: the row, then the entries that changed */
    if (mode == DIGBY__RT_DELETE) {
        rc = digby_txn_delete(txn, rt->rows, digby__rt_at(rt, &k0), k0.len);
        if (rc) return rc;
        wrote = 1;
    } else if (have_old && !digby__rt_same(rt, &k0, &k1)) {
        rc = digby_txn_delete(txn, rt->rows, digby__rt_at(rt, &k0), k0.len);
        if (rc) return rc;
        wrote = 1;
        rc = digby_txn_put(txn, rt->rows, digby__rt_at(rt, &k1), k1.len, digby__rt_at(rt, &v1),
                           v1.len, 0);
    } else if (have_old) {
        if (rt->old.val_bytes != v1.len ||
            memcmp(rt->old.bytes + rt->old.key_bytes, digby__rt_at(rt, &v1), v1.len) != 0)
            rc = digby_txn_put(txn, rt->rows, digby__rt_at(rt, &k1), k1.len,
                               digby__rt_at(rt, &v1), v1.len, 0);
    } else {
        rc = digby_txn_put(txn, rt->rows, digby__rt_at(rt, &k1), k1.len, digby__rt_at(rt, &v1),
                           v1.len, DIGBY_PUT_NOOVERWRITE);
        if (rc == DIGBY_EXISTS)
            return digby__rt_msg(rt->msg, DIGBY_EXISTS, "a row has that primary key", NULL,
                                 NULL);
    }
    if (rc) return wrote ? digby__rt_failed_midway(rt, rc) : rc;
    for (i = 0; i < s->nidx; i++) {
        digby_table *t = s->idx[i].table;
        const digby__rpk *nk = &e[4 * i], *nv = &e[4 * i + 1], *ok = &e[4 * i + 2],
                         *ov = &e[4 * i + 3];
        if (have_old && row && digby__rt_same(rt, nk, ok) && digby__rt_same(rt, nv, ov))
            continue; /* unchanged */
        if (have_old && !(row && digby__rt_same(rt, nk, ok))) {
            rc = digby_txn_delete(txn, t, digby__rt_at(rt, ok), ok->len);
            if (rc) return digby__rt_failed_midway(rt, rc);
        }
        if (row) {
            rc = digby_txn_put(txn, t, digby__rt_at(rt, nk), nk->len,
                               nv->len ? digby__rt_at(rt, nv) : NULL, nv->len, 0);
            if (rc) return digby__rt_failed_midway(rt, rc);
        }
    }
    return DIGBY_OK;
}

DIGBY_API int digby_rtable_insert(digby_rtable *rt, const digby_tuple_item *row, size_t ncolumns)
{
    if (!rt || !row) return DIGBY_INVALID;
    return digby__rt_write(rt, NULL, 0, row, ncolumns, DIGBY__RT_INSERT);
}

DIGBY_API int digby_rtable_upsert(digby_rtable *rt, const digby_tuple_item *row, size_t ncolumns)
{
    if (!rt || !row) return DIGBY_INVALID;
    return digby__rt_write(rt, NULL, 0, row, ncolumns, DIGBY__RT_UPSERT);
}

DIGBY_API int digby_rtable_update(digby_rtable *rt, const digby_tuple_item *key, size_t nkey,
                                  const digby_tuple_item *row, size_t ncolumns)
{
    if (!rt || !key || !row) return DIGBY_INVALID;
    return digby__rt_write(rt, key, nkey, row, ncolumns, DIGBY__RT_UPDATE);
}

DIGBY_API int digby_rtable_delete(digby_rtable *rt, const digby_tuple_item *key, size_t nkey)
{
    if (!rt || !key) return DIGBY_INVALID;
    return digby__rt_write(rt, key, nkey, NULL, 0, DIGBY__RT_DELETE);
}

DIGBY_API int digby_rtable_get(digby_rtable *rt, const digby_tuple_item *key, size_t nkey,
                               const digby_tuple_item **row, size_t *ncolumns)
{
    digby__rpk k;
    const void *val;
    size_t vlen;
    int rc;
    if (row) *row = NULL;
    if (ncolumns) *ncolumns = 0;
    if (!rt || !key || !row || !ncolumns) return DIGBY_INVALID;
    if ((rc = digby__rt_usable(rt)) != DIGBY_OK) return rc;
    if ((rc = digby__rt_key_ok(rt, key, nkey)) != DIGBY_OK) return rc;
    rt->wb_len = 0;
    rc = digby__rt_pack(rt, key, nkey, &k);
    if (rc == DIGBY_INVALID) return digby__rt_bad_item(rt, key, nkey, NULL);
    if (rc == DIGBY_TOOBIG) return DIGBY_NOTFOUND; /* no such key can be stored */
    if (rc) return rc;
    rc = digby_txn_get(rt->txn, rt->rows, digby__rt_at(rt, &k), k.len, &val, &vlen, NULL);
    if (rc == DIGBY_OK) rc = digby__rt_decode(rt, &rt->out, digby__rt_at(rt, &k), k.len, val, vlen);
    if (rc) return rc;
    *row = rt->out.row;
    *ncolumns = rt->s->ncols;
    return DIGBY_OK;
}

/* ---- building an index ------------------------------------------------------ */

/* Fill index ix of s (its table created, empty) from every row.  A unique
   index meeting a key twice: CONSTRAINT (the caller drops the table). */
static int digby__rt_build_index(digby_rtable *rt, digby__rschema *s, uint32_t ix)
{
    digby_txn *txn = rt->txn;
    const digby__ridx *x = &s->idx[ix];
    digby_cursor *c;
    int rc = digby_cursor_open(txn, rt->rows, &c);
    if (rc) return rc;
    for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
        const void *k, *v, *val;
        size_t kn, vn, vlen;
        digby__rpk ek, ev;
        rc = digby_cursor_get(c, &k, &kn, &v, &vn, NULL);
        if (rc == DIGBY_OK) rc = digby__rt_decode(rt, &rt->old, k, kn, v, vn);
        if (rc == DIGBY_OK) rc = digby__rt_entry_of(rt, x, &rt->old, &ek, &ev);
        if (rc) break;
        if (ev.len) {
            rc = digby_txn_get(txn, x->table, digby__rt_at(rt, &ek), ek.len, &val, &vlen, NULL);
            if (rc == DIGBY_OK) {
                rc = digby__rt_violation(rt, x, val, vlen);
                break;
            }
            if (rc != DIGBY_NOTFOUND) break;
        }
        rc = digby_txn_put(txn, x->table, digby__rt_at(rt, &ek), ek.len,
                           ev.len ? digby__rt_at(rt, &ev) : NULL, ev.len, 0);
        if (rc) break;
    }
    digby_cursor_close(c);
    return rc == DIGBY_NOTFOUND ? DIGBY_OK : rc;
}
