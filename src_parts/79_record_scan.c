/* Record scans: the planner, bounds from tuple ranges, filtering; the integrity check.

   The planner follows SQLite's rule ("The SQLite Query Optimizer
   Overview", section 2): of the primary key and the secondary indexes it
   takes the one whose leading columns are bounded by = conditions for
   longest, then by one range condition on the next column; every other
   condition filters the rows read.  The bounds are built as the seed
   store's Scanner builds them (06_record.h, digby_rscan_open). */

typedef struct digby__rcond {
    uint32_t col;
    digby_where_op op;
    digby_tuple_item value;     /* bytes copied into the scan */
    int implied;                /* the bounds imply it: not checked per row */
} digby__rcond;

typedef struct digby__rplan {
    int index_no;               /* -1: the primary key */
    uint32_t neq, range, forced;
    int lo, hi;                 /* conditions giving the bounds, -1: none */
    int eq[DIGBY_RECORD_MAX_COLUMNS]; /* per = column: its condition */
} digby__rplan;

struct digby_rscan {
    struct digby_rscan *next;
    digby_rtable *rt;
    uint64_t gen;               /* the schema's, at open */
    digby__rcond *conds;
    size_t nconds;
    uint8_t *vbytes;            /* the conditions' string and byte values */
    int index_no;
    int reverse, started, done;
    uint64_t limit, emitted;
    digby_cursor *cur;
    uint8_t *lo, *hi;           /* [lo, hi) of the scanned table's keys */
    size_t lo_bytes, hi_bytes;
    digby__rowbuf rb;           /* the current row */
    int have_row;
    digby__rowbuf eb;           /* an index entry being decoded */
    digby_tuple_item *items;    /* ncols + 1 */
    uint8_t *pk; size_t pk_cap, pk_bytes;
};

/* ---- conditions and the plan ------------------------------------------ */

static int digby__rt_is_range(digby_where_op op)
{
    return op == DIGBY_WHERE_LT || op == DIGBY_WHERE_LE || op == DIGBY_WHERE_GT ||
           op == DIGBY_WHERE_GE;
}

/* Resolve q's conditions against the schema into conds (q->nwhere of
   them, values not copied).  INVALID with rt->msg. */
static int digby__rt_conds(digby_rtable *rt, const digby_query *q, digby__rcond *conds)
{
    size_t i, len;
    for (i = 0; i < q->nwhere; i++) {
        const digby_where *w = &q->where[i];
        size_t n = digby__rt_cname(w->column);
        int c = n ? digby__rt_col_find(rt->s, w->column, n) : -1;
        if (c < 0)
            return digby__rt_msg(rt->msg, DIGBY_INVALID, "where: no column \"%s\"",
                                 w->column ? w->column : "(NULL)", NULL);
        if (w->op < DIGBY_WHERE_EQ || w->op > DIGBY_WHERE_GE)
            return digby__rt_msg(rt->msg, DIGBY_INVALID, "where %s: unknown op", w->column, NULL);
        if (w->value.type == DIGBY_TUPLE_NULL ||
            !digby__rt_type_fits(&rt->s->cols[c], w->value.type)) {
            snprintf(rt->msg, sizeof(rt->msg), "where %s: a %s value for a %s column",
                     w->column, digby__rt_type_name(w->value.type),
                     digby__rt_type_name(rt->s->cols[c].type));
            return DIGBY_INVALID;
        }
        if (digby_tuple_pack(&w->value, 1, NULL, 0, &len) == DIGBY_INVALID)
            return digby__rt_msg(rt->msg, DIGBY_INVALID, "where %s: malformed value", w->column,
                                 NULL);
        conds[i].col = (uint32_t)c;
        conds[i].op = w->op;
        conds[i].value = w->value;
        conds[i].implied = 0;
    }
    return DIGBY_OK;
}

/* The key columns a candidate orders by: the primary key, or an index's
   own columns. */
static const uint32_t *digby__rt_keycols(const digby__rschema *s, int index_no, uint32_t *n)
{
    if (index_no < 0) {
        *n = s->nkey;
        return s->key;
    }
    *n = s->idx[index_no].ncols;
    return s->idx[index_no].entry;
}

/* Fill p for candidate index_no: the = prefix, the range column's tightest
   bounds (ties: the strict one). */
static void digby__rt_fit(const digby__rschema *s, const digby__rcond *c, size_t nc,
                          int index_no, digby__rplan *p)
{
    uint32_t m, j;
    const uint32_t *kc = digby__rt_keycols(s, index_no, &m);
    size_t i;
    p->index_no = index_no;
    p->neq = 0;
    p->range = 0;
    p->lo = p->hi = -1;
    for (j = 0; j < m; j++) {
        for (i = 0; i < nc && !(c[i].col == kc[j] && c[i].op == DIGBY_WHERE_EQ); i++) {}
        if (i == nc) break;
        p->eq[j] = (int)i;
        p->neq++;
    }
    if (p->neq == m) return;
    for (i = 0; i < nc; i++) {
        int lower, cmp;
        int *slot;
        if (c[i].col != kc[p->neq] || !digby__rt_is_range(c[i].op)) continue;
        lower = c[i].op == DIGBY_WHERE_GT || c[i].op == DIGBY_WHERE_GE;
        slot = lower ? &p->lo : &p->hi;
        p->range = 1;
        if (*slot < 0) { *slot = (int)i; continue; }
        cmp = digby_tuple_compare(&c[i].value, 1, &c[*slot].value, 1);
        if (lower ? cmp > 0 || (cmp == 0 && c[i].op == DIGBY_WHERE_GT)
                  : cmp < 0 || (cmp == 0 && c[i].op == DIGBY_WHERE_LT))
            *slot = (int)i;
    }
}

/* Choose the plan; force: -2 none, else the index (-1 the primary key). */
static void digby__rt_choose(const digby__rschema *s, const digby__rcond *c, size_t nc,
                             int force, digby__rplan *best)
{
    digby__rplan tmp;
    int i;
    if (force != -2) {
        digby__rt_fit(s, c, nc, force, best);
        best->forced = 1;
        return;
    }
    digby__rt_fit(s, c, nc, -1, best);
    best->forced = 0;
    for (i = 0; i < (int)s->nidx; i++) {
        digby__rt_fit(s, c, nc, i, &tmp);
        if (2 * tmp.neq + tmp.range > 2 * best->neq + best->range) {
            tmp.forced = 0;
            *best = tmp;
        }
    }
}

static void digby__rt_text_add(char *t, size_t cap, const char *a, const char *b)
{
    size_t n = strlen(t);
    if (n < cap) snprintf(t + n, cap - n, "%s%s", a, b ? b : "");
}

static void digby__rt_explain_fill(const digby_rtable *rt, const digby__rcond *c, size_t nc,
                                   const digby__rplan *p, digby_plan *out)
{
    const digby__rschema *s = rt->s;
    uint32_t m, j, used = 0;
    const uint32_t *kc = digby__rt_keycols(s, p->index_no, &m);
    static const char *const ops[6] = {"", "=", "<", "<=", ">", ">="};
    int first = 1;
    memset(out, 0, sizeof(*out));
    out->index = p->index_no < 0 ? "primary" : s->idx[p->index_no].name;
    out->index_no = p->index_no;
    out->eq_columns = p->neq;
    out->range = p->range;
    out->forced = p->forced;
    used = p->neq + (p->lo >= 0) + (p->hi >= 0);
    out->filtered = (uint32_t)(nc - used);
    snprintf(out->text, sizeof(out->text), "%s %s", p->neq || p->range ? "SEARCH" : "SCAN",
             rt->name);
    if (p->index_no >= 0) digby__rt_text_add(out->text, sizeof(out->text), " USING INDEX ",
                                             s->idx[p->index_no].name);
    else if (p->neq || p->range)
        digby__rt_text_add(out->text, sizeof(out->text), " USING PRIMARY KEY", NULL);
    for (j = 0; j < p->neq; j++) {
        digby__rt_text_add(out->text, sizeof(out->text), first ? " (" : " AND ",
                           s->cols[kc[j]].name);
        digby__rt_text_add(out->text, sizeof(out->text), "=?", NULL);
        first = 0;
    }
    if (p->lo >= 0) {
        digby__rt_text_add(out->text, sizeof(out->text), first ? " (" : " AND ",
                           s->cols[kc[p->neq]].name);
        digby__rt_text_add(out->text, sizeof(out->text), ops[c[p->lo].op], "?");
        first = 0;
    }
    if (p->hi >= 0) {
        digby__rt_text_add(out->text, sizeof(out->text), first ? " (" : " AND ",
                           s->cols[kc[p->neq]].name);
        digby__rt_text_add(out->text, sizeof(out->text), ops[c[p->hi].op], "?");
        first = 0;
    }
    if (!first) digby__rt_text_add(out->text, sizeof(out->text), ")", NULL);
    if (out->filtered) {
        char n[32];
        snprintf(n, sizeof(n), "%lu", (unsigned long)out->filtered);
        digby__rt_text_add(out->text, sizeof(out->text), "; filter: ", n);
        digby__rt_text_add(out->text, sizeof(out->text),
                           out->filtered == 1 ? " condition" : " conditions", NULL);
    }
}

/* Common to explain and scan: check q, resolve its conditions into
   *conds (allocated; NULL when none) and choose the plan. */
static int digby__rt_prepare(digby_rtable *rt, const digby_query *q, digby__rcond **conds,
                             digby__rplan *p)
{
    digby_query none;
    int force = -2, rc;
    *conds = NULL;
    if (!q) {
        memset(&none, 0, sizeof(none));
        q = &none;
    }
    if ((rc = digby__rt_usable(rt)) != DIGBY_OK) return rc;
    if (q->flags & ~DIGBY_SCAN_REVERSE)
        return digby__rt_msg(rt->msg, DIGBY_INVALID, "unknown scan flags", NULL, NULL);
    if (q->nwhere && !q->where)
        return digby__rt_msg(rt->msg, DIGBY_INVALID, "nwhere without where", NULL, NULL);
    if (q->nwhere > 4096)
        return digby__rt_msg(rt->msg, DIGBY_INVALID, "too many conditions", NULL, NULL);
    if (q->index) {
        force = strcmp(q->index, "primary") == 0 ? -1 : digby__rt_idx_find(rt->s, q->index);
        if (force == -1 && strcmp(q->index, "primary") != 0) force = -3;
        if (force == -3 || force < -1)
            return digby__rt_msg(rt->msg, DIGBY_NOTFOUND, "no index %s", q->index, NULL);
    }
    if (q->nwhere) {
        *conds = (digby__rcond *)digby__malloc(&rt->txn->db->alloc,
                                               q->nwhere * sizeof(digby__rcond));
        if (!*conds) return DIGBY_NOMEM;
        rc = digby__rt_conds(rt, q, *conds);
        if (rc) {
            digby__free(&rt->txn->db->alloc, *conds);
            *conds = NULL;
            return rc;
        }
    }
    digby__rt_choose(rt->s, *conds, q->nwhere, force, p);
    return DIGBY_OK;
}

DIGBY_API int digby_rtable_explain(digby_rtable *rt, const digby_query *q, digby_plan *plan)
{
    digby__rcond *conds;
    digby__rplan *p;
    int rc;
    if (!rt || !plan) return DIGBY_INVALID;
    memset(plan, 0, sizeof(*plan));
    p = (digby__rplan *)digby__malloc(&rt->txn->db->alloc, sizeof(*p));
    if (!p) return DIGBY_NOMEM;
    rc = digby__rt_prepare(rt, q, &conds, p);
    if (rc == DIGBY_OK) digby__rt_explain_fill(rt, conds, q ? q->nwhere : 0, p, plan);
    digby__free(&rt->txn->db->alloc, conds);
    digby__free(&rt->txn->db->alloc, p);
    return rc;
}

/* ---- scans --------------------------------------------------------------- */

static void digby__rscan_free(digby_rscan *sc)
{
    const digby_allocator *a = &sc->rt->txn->db->alloc;
    digby__free(a, sc->conds);
    digby__free(a, sc->vbytes);
    digby__free(a, sc->lo);
    digby__free(a, sc->hi);
    digby__free(a, sc->items);
    digby__free(a, sc->pk);
    digby__rowbuf_free(a, &sc->rb);
    digby__rowbuf_free(a, &sc->eb);
    digby__free(a, sc);
}

/* The transaction ends (its cursors are closed by it). */
static void digby__rscan_free_all(digby_rtable *rt)
{
    while (rt->scans) {
        digby_rscan *sc = rt->scans;
        rt->scans = sc->next;
        digby__rscan_free(sc);
    }
}

DIGBY_API void digby_rscan_close(digby_rscan *sc)
{
    digby_rscan **pp;
    if (!sc) return;
    for (pp = &sc->rt->scans; *pp; pp = &(*pp)->next)
        if (*pp == sc) { *pp = sc->next; break; }
    digby_cursor_close(sc->cur);
    digby__rscan_free(sc);
}

/* Copy the conditions' string and byte values into the scan. */
static int digby__rscan_own_values(digby_rscan *sc)
{
    size_t total = 0, i, at = 0;
    for (i = 0; i < sc->nconds; i++) {
        digby_tuple_item *v = &sc->conds[i].value;
        if (v->type == DIGBY_TUPLE_BYTES || v->type == DIGBY_TUPLE_STRING) {
            if (v->v.s.len > SIZE_MAX - total - 1) return DIGBY_NOMEM;
            total += v->v.s.len;
        }
    }
    sc->vbytes = (uint8_t *)digby__malloc(&sc->rt->txn->db->alloc, total + 1);
    if (!sc->vbytes) return DIGBY_NOMEM;
    for (i = 0; i < sc->nconds; i++) {
        digby_tuple_item *v = &sc->conds[i].value;
        if (v->type == DIGBY_TUPLE_BYTES || v->type == DIGBY_TUPLE_STRING) {
            if (v->v.s.len) memcpy(sc->vbytes + at, v->v.s.ptr, v->v.s.len);
            v->v.s.ptr = sc->vbytes + at;
            at += v->v.s.len;
        }
    }
    return DIGBY_OK;
}

/* A bound: the = prefix's values, then value (NULL: none), packed; then
   `tail`: 0 nothing, 1 a 0x01 byte (past the NULLs), 2 the end of the
   tuple range of it (0xFF). */
static int digby__rscan_bound(digby_rscan *sc, const digby__rplan *p, const uint32_t *kc,
                              const digby_tuple_item *value, int tail, uint8_t **out,
                              size_t *out_bytes)
{
    const digby_allocator *a = &sc->rt->txn->db->alloc;
    uint32_t j, n = 0;
    size_t len = 0;
    uint8_t *b, *hi;
    int rc;
    (void)kc;
    for (j = 0; j < p->neq; j++) sc->items[n++] = sc->conds[p->eq[j]].value;
    if (value) sc->items[n++] = *value;
    rc = digby_tuple_pack(sc->items, n, NULL, 0, &len);
    if (rc != DIGBY_OK && rc != DIGBY_TOOBIG) return rc;
    if (len > SIZE_MAX - 2) return DIGBY_NOMEM;
    b = (uint8_t *)digby__malloc(a, len + 1);
    hi = (uint8_t *)digby__malloc(a, len + 1);
    if (!b || !hi) { digby__free(a, b); digby__free(a, hi); return DIGBY_NOMEM; }
    rc = digby_tuple_pack(sc->items, n, b, len, &len);
    if (rc == DIGBY_OK && tail == 1) b[len++] = 0x01;
    if (rc == DIGBY_OK && tail == 2) {
        /* [lo, hi) = range(prefix): hi = prefix + 0xFF ends every extension */
        uint8_t *lo = (uint8_t *)digby__malloc(a, len + 1);
        rc = lo ? digby_tuple_range(b, len, lo, hi) : DIGBY_NOMEM;
        digby__free(a, lo);
        if (rc == DIGBY_OK) {
            digby__free(a, b);
            b = hi;
            hi = NULL;
            len++;
        }
    }
    digby__free(a, hi);
    if (rc) { digby__free(a, b); return rc; }
    *out = b;
    *out_bytes = len;
    return DIGBY_OK;
}

DIGBY_API int digby_rscan_open(digby_rtable *rt, const digby_query *q, digby_rscan **out)
{
    const digby_allocator *a;
    digby__rplan *p = NULL;
    digby_rscan *sc;
    const uint32_t *kc;
    uint32_t m, j;
    int rc;
    if (!out) return DIGBY_INVALID;
    *out = NULL;
    if (!rt) return DIGBY_INVALID;
    a = &rt->txn->db->alloc;
    sc = (digby_rscan *)digby__malloc(a, sizeof(*sc));
    p = (digby__rplan *)digby__malloc(a, sizeof(*p));
    if (!sc || !p) {
        digby__free(a, sc);
        digby__free(a, p);
        return DIGBY_NOMEM;
    }
    memset(sc, 0, sizeof(*sc));
    sc->rt = rt;
    rc = digby__rt_prepare(rt, q, &sc->conds, p);
    if (rc) goto fail;
    sc->nconds = q ? q->nwhere : 0;
    sc->gen = rt->gen;
    sc->index_no = p->index_no;
    sc->reverse = q && (q->flags & DIGBY_SCAN_REVERSE);
    sc->limit = q ? q->limit : 0;
    sc->items = (digby_tuple_item *)digby__malloc(a, ((size_t)rt->s->ncols + 1) *
                                                         sizeof(digby_tuple_item));
    if (!sc->items) { rc = DIGBY_NOMEM; goto fail; }
    rc = digby__rscan_own_values(sc);
    if (rc) goto fail;
    /* conditions the bounds imply are not checked again */
    for (j = 0; j < p->neq; j++) sc->conds[p->eq[j]].implied = 1;
    if (p->lo >= 0) sc->conds[p->lo].implied = 1;
    if (p->hi >= 0) sc->conds[p->hi].implied = 1;
    kc = digby__rt_keycols(rt->s, p->index_no, &m);
    if (p->lo >= 0)
        rc = digby__rscan_bound(sc, p, kc, &sc->conds[p->lo].value,
                                sc->conds[p->lo].op == DIGBY_WHERE_GT ? 2 : 0, &sc->lo,
                                &sc->lo_bytes);
    else
        rc = digby__rscan_bound(sc, p, kc, NULL, p->range ? 1 : 0, &sc->lo, &sc->lo_bytes);
    if (rc) goto fail;
    if (p->hi >= 0)
        rc = digby__rscan_bound(sc, p, kc, &sc->conds[p->hi].value,
                                sc->conds[p->hi].op == DIGBY_WHERE_LE ? 2 : 0, &sc->hi,
                                &sc->hi_bytes);
    else
        rc = digby__rscan_bound(sc, p, kc, NULL, 2, &sc->hi, &sc->hi_bytes);
    if (rc) goto fail;
    rc = digby_cursor_open(rt->txn, p->index_no < 0 ? rt->rows : rt->s->idx[p->index_no].table,
                           &sc->cur);
    if (rc) goto fail;
    digby__free(a, p);
    sc->next = rt->scans;
    rt->scans = sc;
    *out = sc;
    return DIGBY_OK;
fail:
    digby__free(a, p);
    digby__rscan_free(sc);
    return rc;
}

/* The packed primary key of an index entry (key ek, value ev): the value
   of a unique entry, else the key's primary-key columns packed again.
   CORRUPT for an entry that does not decode. */
static int digby__rt_entry_pk(digby_rtable *rt, const digby__ridx *x, digby__rowbuf *b,
                              digby_tuple_item *items, const void *ek, size_t ekn,
                              const void *ev, size_t evn, uint8_t **pk, size_t *pk_cap,
                              size_t *pk_bytes)
{
    const digby_allocator *a = &rt->txn->db->alloc;
    size_t count, aoff, aneed = 0, len = 0, n = x->nentry;
    uint32_t k;
    int rc;
    if (evn) {
        rc = digby__reserve(a, pk, pk_cap, evn);
        if (rc) return rc;
        memcpy(*pk, ev, evn);
        *pk_bytes = evn;
        return DIGBY_OK;
    }
    rc = digby__rt_items_reserve(a, &b->tmp, &b->tmp_cap, n + 1);
    if (rc) return rc;
    for (;;) {
        aoff = 0;
        rc = digby__rt_unpack(rt->txn, b, (const uint8_t *)ek, ekn, n, n, &count, &aoff,
                              &aneed);
        if (rc != DIGBY_TOOBIG) break;
        rc = digby__reserve(a, &b->arena, &b->arena_cap, aneed + 1);
        if (rc) return rc;
    }
    if (rc) return rc;
    for (k = 0; k < rt->s->nkey; k++) items[k] = b->tmp[x->key_at[k]];
    rc = digby_tuple_pack(items, rt->s->nkey, *pk, *pk_cap, &len);
    if (rc == DIGBY_TOOBIG) {
        rc = digby__reserve(a, pk, pk_cap, len);
        if (rc == DIGBY_OK) rc = digby_tuple_pack(items, rt->s->nkey, *pk, *pk_cap, &len);
    }
    if (rc == DIGBY_INVALID) rc = DIGBY__CORRUPT(rt->txn->db, 0);
    *pk_bytes = len;
    return rc;
}

/* Does row meet the conditions the bounds do not imply? */
static int digby__rscan_match(const digby_rscan *sc, const digby_tuple_item *row)
{
    size_t i;
    for (i = 0; i < sc->nconds; i++) {
        const digby__rcond *c = &sc->conds[i];
        int cmp;
        if (c->implied) continue;
        if (row[c->col].type == DIGBY_TUPLE_NULL) return 0;
        cmp = digby_tuple_compare(&row[c->col], 1, &c->value, 1);
        switch (c->op) {
        case DIGBY_WHERE_EQ: if (cmp != 0) return 0; break;
        case DIGBY_WHERE_LT: if (cmp >= 0) return 0; break;
        case DIGBY_WHERE_LE: if (cmp > 0) return 0; break;
        case DIGBY_WHERE_GT: if (cmp <= 0) return 0; break;
        default: if (cmp < 0) return 0; break;
        }
    }
    return 1;
}

DIGBY_API int digby_rscan_next(digby_rscan *sc)
{
    digby_rtable *rt;
    int rc;
    if (!sc) return DIGBY_INVALID;
    rt = sc->rt;
    sc->have_row = 0;
    if (rt->dropped || sc->gen != rt->gen) return DIGBY_BADTXN;
    if (rt->txn->poisoned) return DIGBY_POISONED;
    if (sc->done) return DIGBY_NOTFOUND;
    if (sc->limit && sc->emitted >= sc->limit) { sc->done = 1; return DIGBY_NOTFOUND; }
    for (;;) {
        const void *k, *v;
        size_t kn, vn;
        if (!sc->started) {
            sc->started = 1;
            rc = sc->reverse ? digby_cursor_seek(sc->cur, sc->hi, sc->hi_bytes, DIGBY_SEEK_LT)
                             : digby_cursor_seek(sc->cur, sc->lo, sc->lo_bytes, DIGBY_SEEK_GE);
        } else {
            rc = sc->reverse ? digby_cursor_prev(sc->cur) : digby_cursor_next(sc->cur);
        }
        if (rc == DIGBY_OK) rc = digby_cursor_get(sc->cur, &k, &kn, &v, &vn, NULL);
        if (rc == DIGBY_NOTFOUND) { sc->done = 1; return rc; }
        if (rc) return rc;
        if (sc->reverse ? digby__keycmp(k, kn, sc->lo, sc->lo_bytes) < 0
                        : digby__keycmp(k, kn, sc->hi, sc->hi_bytes) >= 0) {
            sc->done = 1;
            return DIGBY_NOTFOUND;
        }
        if (sc->index_no >= 0) {
            const void *rv;
            size_t rvn;
            rc = digby__rt_entry_pk(rt, &rt->s->idx[sc->index_no], &sc->eb, sc->items, k, kn, v,
                                    vn, &sc->pk, &sc->pk_cap, &sc->pk_bytes);
            if (rc) return rc;
            rc = digby_txn_get(rt->txn, rt->rows, sc->pk, sc->pk_bytes, &rv, &rvn, NULL);
            if (rc == DIGBY_NOTFOUND) return DIGBY__CORRUPT(rt->txn->db, 0);
            if (rc) return rc;
            rc = digby__rt_decode(rt, &sc->rb, sc->pk, sc->pk_bytes, rv, rvn);
        } else {
            rc = digby__rt_decode(rt, &sc->rb, k, kn, v, vn);
        }
        if (rc) return rc;
        if (!digby__rscan_match(sc, sc->rb.row)) continue;
        sc->emitted++;
        sc->have_row = 1;
        return DIGBY_OK;
    }
}

DIGBY_API int digby_rscan_row(digby_rscan *sc, const digby_tuple_item **row, size_t *ncolumns)
{
    if (row) *row = NULL;
    if (ncolumns) *ncolumns = 0;
    if (!sc || !row || !ncolumns) return DIGBY_INVALID;
    if (!sc->have_row) return DIGBY_NOTFOUND;
    *row = sc->rb.row;
    *ncolumns = sc->rt->s->ncols;
    return DIGBY_OK;
}

/* ---- digby_check: rows and index entries agree ---------------------------- */

typedef struct digby__rcheck {
    digby_txn *txn;
    digby_check_report *rep;
    uint64_t rows, entries;
} digby__rcheck;

static int digby__rt_check_fail(digby__rcheck *ck, const char *table, const char *what,
                                const void *key, size_t key_bytes)
{
    if (ck->rep && ck->rep->message[0] == 0) {
        char hex[2 * 24 + 4];
        size_t i, n = key_bytes < 24 ? key_bytes : 24;
        for (i = 0; i < n; i++)
            snprintf(hex + 2 * i, 3, "%02x", ((const uint8_t *)key)[i]);
        hex[2 * n] = 0;
        if (key_bytes > n) memcpy(hex + 2 * n, "..", 3);
        snprintf(ck->rep->message, sizeof(ck->rep->message), "record table %s: %s (key %s)",
                 table, what, hex);
    }
    return DIGBY__CORRUPT(ck->txn->db, 0);
}

/* Every row fits the schema and has its entry in every index. */
static int digby__rt_check_rows(digby__rcheck *ck, digby_rtable *rt)
{
    digby_cursor *c;
    int rc = digby_cursor_open(ck->txn, rt->rows, &c);
    if (rc) return rc;
    for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
        const void *k, *v, *ev;
        size_t kn, vn, evn;
        uint32_t i;
        digby__rpk ek, evp;
        rc = digby_cursor_get(c, &k, &kn, &v, &vn, NULL);
        if (rc) break;
        rc = digby__rt_decode(rt, &rt->old, k, kn, v, vn);
        if (rc == DIGBY_CORRUPT)
            rc = digby__rt_check_fail(ck, rt->name, "row does not fit the schema", k, kn);
        if (rc) break;
        ck->rows++;
        for (i = 0; i < rt->s->nidx && rc == DIGBY_OK; i++) {
            const digby__ridx *x = &rt->s->idx[i];
            rc = digby__rt_entry_of(rt, x, &rt->old, &ek, &evp);
            if (rc) break;
            rc = digby_txn_get(ck->txn, x->table, digby__rt_at(rt, &ek), ek.len, &ev, &evn, NULL);
            if (rc == DIGBY_NOTFOUND) {
                snprintf(rt->msg, sizeof(rt->msg), "row without its entry in index %s", x->name);
                rc = digby__rt_check_fail(ck, rt->name, rt->msg, rt->old.bytes, kn);
            } else if (rc == DIGBY_OK &&
                       (evn != evp.len || (evn && memcmp(ev, digby__rt_at(rt, &evp), evn)))) {
                snprintf(rt->msg, sizeof(rt->msg), "index %s: the row's entry leads elsewhere",
                         x->name);
                rc = digby__rt_check_fail(ck, rt->name, rt->msg, rt->old.bytes, kn);
            }
        }
        if (rc) break;
    }
    digby_cursor_close(c);
    return rc == DIGBY_NOTFOUND ? DIGBY_OK : rc;
}

/* Every entry of index x leads to a row whose own entry it is. */
static int digby__rt_check_index(digby__rcheck *ck, digby_rtable *rt, const digby__ridx *x,
                                 digby__rowbuf *eb, digby_tuple_item *items, uint8_t **pk,
                                 size_t *pk_cap)
{
    digby_cursor *c;
    int rc = digby_cursor_open(ck->txn, x->table, &c);
    if (rc) return rc;
    for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
        const void *k, *v, *rv;
        size_t kn, vn, rvn, pkn = 0;
        digby__rpk ek, ev;
        rc = digby_cursor_get(c, &k, &kn, &v, &vn, NULL);
        if (rc) break;
        ck->entries++;
        rc = digby__rt_entry_pk(rt, x, eb, items, k, kn, v, vn, pk, pk_cap, &pkn);
        if (rc == DIGBY_CORRUPT) {
            snprintf(rt->msg, sizeof(rt->msg), "index %s: an entry does not decode", x->name);
            rc = digby__rt_check_fail(ck, rt->name, rt->msg, k, kn);
        }
        if (rc) break;
        rc = digby_txn_get(ck->txn, rt->rows, *pk, pkn, &rv, &rvn, NULL);
        if (rc == DIGBY_NOTFOUND) {
            snprintf(rt->msg, sizeof(rt->msg), "index %s: an entry leads to no row", x->name);
            rc = digby__rt_check_fail(ck, rt->name, rt->msg, k, kn);
        }
        if (rc == DIGBY_OK) {
            rc = digby__rt_decode(rt, &rt->old, *pk, pkn, rv, rvn);
            if (rc == DIGBY_CORRUPT)
                rc = digby__rt_check_fail(ck, rt->name, "row does not fit the schema", *pk, pkn);
        }
        if (rc) break;
        rc = digby__rt_entry_of(rt, x, &rt->old, &ek, &ev);
        if (rc) break;
        if (ek.len != kn || memcmp(k, digby__rt_at(rt, &ek), kn) != 0 || ev.len != vn ||
            (vn && memcmp(v, digby__rt_at(rt, &ev), vn) != 0)) {
            snprintf(rt->msg, sizeof(rt->msg), "index %s: an entry does not match its row",
                     x->name);
            rc = digby__rt_check_fail(ck, rt->name, rt->msg, k, kn);
            break;
        }
    }
    digby_cursor_close(c);
    return rc == DIGBY_NOTFOUND ? DIGBY_OK : rc;
}

static int digby__rt_check_one(void *ctx, const char *name)
{
    digby__rcheck *ck = (digby__rcheck *)ctx;
    const digby_allocator *a = &ck->txn->db->alloc;
    digby_rtable *rt;
    digby__rowbuf eb;
    digby_tuple_item *items;
    uint8_t *pk = NULL;
    size_t pk_cap = 0;
    uint32_t i;
    int rc = digby_rtable_open(ck->txn, name, NULL, 0, &rt);
    /* (TOOBIG: a stored index name too long for these pages' keys) */
    if (rc == DIGBY_CORRUPT || rc == DIGBY_VERSION || rc == DIGBY_TOOBIG)
        return digby__rt_check_fail(ck, name, "its schema or one of its tables is damaged",
                                    name, strlen(name));
    if (rc) return rc;
    rc = digby__rt_check_rows(ck, rt);
    if (rc) return rc;
    items = (digby_tuple_item *)digby__malloc(a, ((size_t)rt->s->ncols + 1) * sizeof(*items));
    if (!items) return DIGBY_NOMEM;
    memset(&eb, 0, sizeof(eb));
    for (i = 0; i < rt->s->nidx && rc == DIGBY_OK; i++)
        rc = digby__rt_check_index(ck, rt, &rt->s->idx[i], &eb, items, &pk, &pk_cap);
    digby__rowbuf_free(a, &eb);
    digby__free(a, items);
    digby__free(a, pk);
    return rc;
}

/* digby_check's hook (84_check.c): in the check's snapshot, for every
   record table, each row has exactly its index entries and each entry
   leads to a row whose columns match it. */
static int digby__rtable_check(digby_txn *txn, digby_check_report *rep)
{
    digby__rcheck ck;
    int rc;
    memset(&ck, 0, sizeof(ck));
    ck.txn = txn;
    ck.rep = rep;
    rc = digby_rtable_list(txn, digby__rt_check_one, &ck);
    if (rc == DIGBY_CORRUPT && rep && rep->message[0] == 0)
        snprintf(rep->message, sizeof(rep->message),
                 "record tables: " DIGBY__SCHEMA_TABLE " has an entry that names no table");
    return rc;
}
