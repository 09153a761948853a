/* tests/record_ref.h -- a brute-force reference of the record layer, for
   tests/record_model.c (random operations compared row for row) and
   tests/record_crash.c (power cuts under a record workload).

   A row is one small code per column: 0 is NULL, k > 0 the k-th value of
   the column type's domain (rr_value).  The domains are a few values each,
   with the tuple encoding's edge cases (INT64_MIN, an integer past
   INT64_MAX, strings and bytes holding 0x00 and 0xFF, -0.0 beside 0.0,
   infinities and a NaN), so that keys collide often and every escape is
   taken.  Two rows hold equal values exactly when their codes are equal,
   so the model finds rows by codes and orders them with
   digby_tuple_compare() only.  The model knows what every write must
   return (rr_expect_*): DIGBY_EXISTS, DIGBY_CONSTRAINT and which index and
   row it names, in the order the library checks them.

   Include after digby.h.  Everything here is static and unused-safe. */
#ifndef DIGBY_TESTS_RECORD_REF_H
#define DIGBY_TESTS_RECORD_REF_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define RR_UNUSED __attribute__((unused))
#else
#define RR_UNUSED
#endif

#define RR_MAXCOLS 8
#define RR_MAXIDX 4
#define RR_MAXKEY 3
#define RR_DOM 8        /* the edge values: codes 1 .. RR_DOM */
#define RR_WIDE 48      /* codes up to RR_WIDE in a wide round (plain values) */
#define RR_MAXROWS 8192

/* ---- values -------------------------------------------------------------- */

static const char *const rr_strings[RR_DOM] = {"", "a", "a\0b", "a\0", "ab", "b", "\xc3\xa9",
                                               "zz"};
static const size_t rr_string_len[RR_DOM] = {0, 1, 3, 2, 2, 1, 2, 2};
static const char *const rr_bytes[RR_DOM] = {"", "\x00", "\x00\xff", "\xff", "a", "ab", "\x01",
                                             "\xff\x00"};
static const size_t rr_bytes_len[RR_DOM] = {0, 1, 2, 1, 1, 2, 1, 2};

/* The value of code (1 .. rr_dom()) for a column of type t; 0: NULL.
   Codes past RR_DOM are plain values (a wide round's), sorting after or
   among the edge values. */
RR_UNUSED static digby_tuple_item rr_value(digby_tuple_type t, int code)
{
    static char gen_str[RR_WIDE][3];
    static unsigned char gen_bytes[RR_WIDE][2];
    digby_tuple_item it;
    int k = code - 1;
    memset(&it, 0, sizeof(it));
    if (code == 0) {
        it.type = DIGBY_TUPLE_NULL;
        return it;
    }
    it.type = t;
    if (code > RR_DOM) {
        int g = code - RR_DOM - 1;
        switch (t) {
        case DIGBY_TUPLE_INT: it.v.i = 100 + 37 * g; break;
        case DIGBY_TUPLE_STRING:
            gen_str[g][0] = 'g';
            gen_str[g][1] = (char)('0' + g);
            it.v.s.ptr = gen_str[g];
            it.v.s.len = 2;
            break;
        case DIGBY_TUPLE_BYTES:
            gen_bytes[g][0] = 0x02;
            gen_bytes[g][1] = (unsigned char)g;
            it.v.s.ptr = gen_bytes[g];
            it.v.s.len = 2;
            break;
        case DIGBY_TUPLE_DOUBLE: it.v.d = 3.0 + 0.25 * g; break;
        case DIGBY_TUPLE_UUID: it.v.uuid[0] = 0xa0; it.v.uuid[1] = (uint8_t)g; break;
        default: break;
        }
        return it;
    }
    switch (t) {
    case DIGBY_TUPLE_INT: {
        static const int64_t v[RR_DOM - 1] = {INT64_MIN, -300, -1, 0, 1, 2, 70000};
        if (k == RR_DOM - 1) {
            it.type = DIGBY_TUPLE_UINT;
            it.v.u = ((uint64_t)1 << 63) + 5;
        } else {
            it.v.i = v[k];
        }
        break;
    }
    case DIGBY_TUPLE_STRING:
        it.v.s.ptr = rr_strings[k];
        it.v.s.len = rr_string_len[k];
        break;
    case DIGBY_TUPLE_BYTES:
        it.v.s.ptr = rr_bytes[k];
        it.v.s.len = rr_bytes_len[k];
        break;
    case DIGBY_TUPLE_DOUBLE: {
        static const double v[RR_DOM - 2] = {-1e300, -1.5, -0.0, 0.0, 2.5, 1e300};
        if (k >= RR_DOM - 2) {
            /* +infinity, a quiet NaN */
            uint64_t bits = k == RR_DOM - 2 ? 0x7ff0000000000000ull : 0x7ff8000000000001ull;
            memcpy(&it.v.d, &bits, sizeof(bits));
        } else {
            it.v.d = v[k];
        }
        break;
    }
    case DIGBY_TUPLE_BOOL:
        it.v.b = k;
        break;
    case DIGBY_TUPLE_UUID:
        memset(it.v.uuid, 0x11 * k, 16);
        it.v.uuid[15] = (uint8_t)k;
        break;
    default:
        break;
    }
    return it;
}

/* Same type and same value. */
RR_UNUSED static int rr_item_eq(const digby_tuple_item *a, const digby_tuple_item *b)
{
    return a->type == b->type && digby_tuple_compare(a, 1, b, 1) == 0;
}

/* ---- schemas -------------------------------------------------------------- */

typedef struct rr_schema {
    int ncols;
    digby_tuple_type type[RR_MAXCOLS];
    int notnull[RR_MAXCOLS];
    int nkey, key[RR_MAXKEY];
    int nidx;
    int idx_n[RR_MAXIDX], idx_col[RR_MAXIDX][2], idx_unique[RR_MAXIDX], idx_id[RR_MAXIDX];
    int next_idx_id;
    int dom;                 /* values per type: RR_DOM, or RR_WIDE in a wide round */
    /* the API form (rr_api): points into this struct, so rebuild it after a copy */
    char names[RR_MAXCOLS][16], inames[RR_MAXIDX][16], keystr[64], icols[RR_MAXIDX][64];
    digby_column cols[RR_MAXCOLS];
    digby_index idx[RR_MAXIDX];
    digby_schema s;
} rr_schema;

RR_UNUSED static void rr_api(rr_schema *sc)
{
    int i, j;
    size_t at = 0;
    char buf[64];
    for (i = 0; i < sc->ncols; i++) {
        snprintf(sc->names[i], sizeof(sc->names[i]), "c%d", i & 0xff);
        sc->cols[i].name = sc->names[i];
        sc->cols[i].type = sc->type[i];
        sc->cols[i].flags = sc->notnull[i] ? DIGBY_COLUMN_NOT_NULL : 0;
    }
    /* (built in buf: GCC takes snprintf into one member from another for
       an overlap) */
    buf[0] = 0;
    for (j = 0; j < sc->nkey; j++)
        at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%s", j ? "," : "",
                               sc->names[sc->key[j] & 7]);
    memcpy(sc->keystr, buf, sizeof(sc->keystr));
    for (i = 0; i < sc->nidx; i++) {
        snprintf(sc->inames[i], sizeof(sc->inames[i]), "i%d", sc->idx_id[i] & 0xffff);
        buf[0] = 0;
        for (at = 0, j = 0; j < sc->idx_n[i]; j++)
            at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%s", j ? ", " : "",
                                   sc->names[sc->idx_col[i][j] & 7]);
        memcpy(sc->icols[i], buf, sizeof(sc->icols[i]));
        sc->idx[i].name = sc->inames[i];
        sc->idx[i].columns = sc->icols[i];
        sc->idx[i].flags = sc->idx_unique[i] ? DIGBY_INDEX_UNIQUE : 0;
    }
    sc->s.columns = sc->cols;
    sc->s.ncolumns = (size_t)sc->ncols;
    sc->s.primary_key = sc->keystr;
    sc->s.indexes = sc->nidx ? sc->idx : NULL;
    sc->s.nindexes = (size_t)sc->nidx;
}

/* Codes 1 .. rr_dom() are values of a column of type t. */
RR_UNUSED static int rr_dom(const rr_schema *sc, digby_tuple_type t)
{
    return t == DIGBY_TUPLE_BOOL ? 2 : sc->dom;
}

RR_UNUSED static int rr_is_key(const rr_schema *sc, int c)
{
    int j;
    for (j = 0; j < sc->nkey; j++)
        if (sc->key[j] == c) return 1;
    return 0;
}

static const digby_tuple_type rr_types[6] = {DIGBY_TUPLE_INT, DIGBY_TUPLE_STRING,
                                             DIGBY_TUPLE_BYTES, DIGBY_TUPLE_DOUBLE,
                                             DIGBY_TUPLE_BOOL, DIGBY_TUPLE_UUID};

/* Random index columns for index i (1 or 2 distinct columns). */
RR_UNUSED static void rr_random_index(rr_schema *sc, int i, uint64_t (*rnd)(void *), void *ctx)
{
    sc->idx_n[i] = sc->ncols > 1 && rnd(ctx) % 2 ? 2 : 1;
    sc->idx_col[i][0] = (int)(rnd(ctx) % (uint64_t)sc->ncols);
    if (sc->idx_n[i] == 2) {
        do sc->idx_col[i][1] = (int)(rnd(ctx) % (uint64_t)sc->ncols);
        while (sc->idx_col[i][1] == sc->idx_col[i][0]);
    }
    sc->idx_unique[i] = rnd(ctx) % 3 == 0;
    sc->idx_id[i] = sc->next_idx_id++;
}

/* A random schema: 2..6 columns of random types, a key of 1..3 of them in
   random order (BOOL keys only beside others: 2 values are few), nullable
   or not, 0..3 indexes.  dom: values per type (RR_DOM or RR_WIDE). */
RR_UNUSED static void rr_random_schema(rr_schema *sc, int dom, uint64_t (*rnd)(void *),
                                       void *ctx)
{
    int i;
    memset(sc, 0, sizeof(*sc));
    sc->dom = dom;
    sc->ncols = 2 + (int)(rnd(ctx) % 5);
    for (i = 0; i < sc->ncols; i++) {
        sc->type[i] = rr_types[rnd(ctx) % 6];
        sc->notnull[i] = rnd(ctx) % 3 == 0;
    }
    sc->nkey = 1 + (int)(rnd(ctx) % (uint64_t)(sc->ncols < RR_MAXKEY ? sc->ncols : RR_MAXKEY));
    if (sc->nkey == sc->ncols && sc->ncols > 1 && rnd(ctx) % 2) sc->nkey--;
    for (i = 0; i < sc->nkey; i++) {
        int c, j, dup;
        do {
            c = (int)(rnd(ctx) % (uint64_t)sc->ncols);
            for (dup = 0, j = 0; j < i; j++) dup |= sc->key[j] == c;
        } while (dup);
        sc->key[i] = c;
        sc->notnull[c] = 1;
    }
    if (sc->nkey == 1 && sc->type[sc->key[0]] == DIGBY_TUPLE_BOOL)
        sc->type[sc->key[0]] = DIGBY_TUPLE_STRING;
    sc->nidx = (int)(rnd(ctx) % 4);
    for (i = 0; i < sc->nidx; i++) rr_random_index(sc, i, rnd, ctx);
    rr_api(sc);
}

/* ---- the model ---------------------------------------------------------- */

typedef struct rr_model {
    rr_schema sc;
    int nrows;
    uint8_t rows[RR_MAXROWS][RR_MAXCOLS];
} rr_model;

/* A copy (the schema's API form rebuilt in the copy). */
RR_UNUSED static void rr_copy(rr_model *dst, const rr_model *src)
{
    memcpy(dst, src, sizeof(*dst));
    rr_api(&dst->sc);
}

RR_UNUSED static void rr_items(const rr_model *m, const uint8_t *row, digby_tuple_item *out)
{
    int i;
    for (i = 0; i < m->sc.ncols; i++) out[i] = rr_value(m->sc.type[i], row[i]);
}

RR_UNUSED static void rr_key_items(const rr_model *m, const uint8_t *row, digby_tuple_item *out)
{
    int j;
    for (j = 0; j < m->sc.nkey; j++)
        out[j] = rr_value(m->sc.type[m->sc.key[j]], row[m->sc.key[j]]);
}

RR_UNUSED static int rr_same_key(const rr_model *m, const uint8_t *a, const uint8_t *b)
{
    int j;
    for (j = 0; j < m->sc.nkey; j++)
        if (a[m->sc.key[j]] != b[m->sc.key[j]]) return 0;
    return 1;
}

/* The row with a's key, or -1. */
RR_UNUSED static int rr_find(const rr_model *m, const uint8_t *a)
{
    int r;
    for (r = 0; r < m->nrows; r++)
        if (rr_same_key(m, m->rows[r], a)) return r;
    return -1;
}

/* Index i holds a and b under one unique key: no NULLs, the same values. */
RR_UNUSED static int rr_unique_clash(const rr_model *m, int i, const uint8_t *a, const uint8_t *b)
{
    int j;
    for (j = 0; j < m->sc.idx_n[i]; j++) {
        int c = m->sc.idx_col[i][j];
        if (a[c] == 0 || a[c] != b[c]) return 0;
    }
    return 1;
}

/* What a write must return, and for DIGBY_CONSTRAINT the index and row. */
typedef struct rr_expect {
    int rc;
    int idx;        /* DIGBY_CONSTRAINT: the index (place in the schema) */
    int other;      /* ... the row that holds the key already */
    int old;        /* the row replaced or deleted, -1: none */
} rr_expect;

/* The first unique index (in schema order) where row clashes with a row
   other than `self`. */
RR_UNUSED static int rr_unique_check(const rr_model *m, const uint8_t *row, int self,
                                     rr_expect *e)
{
    int i, r;
    for (i = 0; i < m->sc.nidx; i++) {
        if (!m->sc.idx_unique[i]) continue;
        for (r = 0; r < m->nrows; r++)
            if (r != self && rr_unique_clash(m, i, row, m->rows[r])) {
                e->rc = DIGBY_CONSTRAINT;
                e->idx = i;
                e->other = r;
                return 1;
            }
    }
    return 0;
}

RR_UNUSED static rr_expect rr_expect_insert(const rr_model *m, const uint8_t *row)
{
    rr_expect e;
    memset(&e, 0, sizeof(e));
    e.old = -1;
    if (rr_find(m, row) >= 0) e.rc = DIGBY_EXISTS;
    else rr_unique_check(m, row, -1, &e);
    return e;
}

/* update(key of keyrow, row); upsert is update(row's key, row) when the
   key is present, else insert. */
RR_UNUSED static rr_expect rr_expect_update(const rr_model *m, const uint8_t *keyrow,
                                            const uint8_t *row)
{
    rr_expect e;
    memset(&e, 0, sizeof(e));
    e.old = rr_find(m, keyrow);
    if (e.old < 0) {
        e.rc = DIGBY_NOTFOUND;
        return e;
    }
    if (!rr_same_key(m, keyrow, row) && rr_find(m, row) >= 0) {
        e.rc = DIGBY_EXISTS;
        return e;
    }
    rr_unique_check(m, row, e.old, &e);
    return e;
}

/* Apply a write the library accepted. */
RR_UNUSED static void rr_apply(rr_model *m, const rr_expect *e, const uint8_t *row)
{
    if (e->old >= 0 && !row) {
        memmove(m->rows[e->old], m->rows[m->nrows - 1], RR_MAXCOLS);
        m->nrows--;
    } else if (e->old >= 0) {
        memcpy(m->rows[e->old], row, RR_MAXCOLS);
    } else {
        memcpy(m->rows[m->nrows++], row, RR_MAXCOLS);
    }
}

/* Order of two rows along index idx (-1: the primary key): the index's
   columns, then the key columns not among them. */
RR_UNUSED static int rr_order(const rr_model *m, int idx, const uint8_t *a, const uint8_t *b)
{
    digby_tuple_item x[RR_MAXCOLS], y[RR_MAXCOLS];
    int cols[RR_MAXCOLS], n = 0, j, k;
    if (idx >= 0)
        for (j = 0; j < m->sc.idx_n[idx]; j++) cols[n++] = m->sc.idx_col[idx][j];
    for (j = 0; j < m->sc.nkey; j++) {
        int dup = 0;
        for (k = 0; k < n; k++) dup |= cols[k] == m->sc.key[j];
        if (!dup) cols[n++] = m->sc.key[j];
    }
    for (j = 0; j < n; j++) {
        x[j] = rr_value(m->sc.type[cols[j]], a[cols[j]]);
        y[j] = rr_value(m->sc.type[cols[j]], b[cols[j]]);
    }
    return digby_tuple_compare(x, (size_t)n, y, (size_t)n);
}

/* Sort row numbers ord[0, n) along index idx (a stable merge sort). */
RR_UNUSED static void rr_sort(const rr_model *m, int idx, int *ord, int n)
{
    int tmp[RR_MAXROWS], width, i;
    for (width = 1; width < n; width *= 2) {
        for (i = 0; i < n; i += 2 * width) {
            int a = i, mid = i + width < n ? i + width : n, b = mid;
            int end = i + 2 * width < n ? i + 2 * width : n, k = i;
            while (a < mid && b < end)
                tmp[k++] = rr_order(m, idx, m->rows[ord[a]], m->rows[ord[b]]) <= 0 ? ord[a++]
                                                                                : ord[b++];
            while (a < mid) tmp[k++] = ord[a++];
            while (b < end) tmp[k++] = ord[b++];
        }
        memcpy(ord, tmp, (size_t)n * sizeof(int));
    }
}

/* Does the row meet the condition (SQL: a NULL column meets none)? */
RR_UNUSED static int rr_meets(const rr_model *m, const uint8_t *row, const digby_where *w,
                              const int *wcol, int nw)
{
    int i;
    for (i = 0; i < nw; i++) {
        digby_tuple_item v;
        int cmp;
        if (row[wcol[i]] == 0) return 0;
        v = rr_value(m->sc.type[wcol[i]], row[wcol[i]]);
        cmp = digby_tuple_compare(&v, 1, &w[i].value, 1);
        switch (w[i].op) {
        case DIGBY_WHERE_EQ: if (cmp != 0) return 0; break;
        case DIGBY_WHERE_LT: if (cmp >= 0) return 0; break;
        case DIGBY_WHERE_LE: if (cmp > 0) return 0; break;
        case DIGBY_WHERE_GT: if (cmp <= 0) return 0; break;
        default: if (cmp < 0) return 0; break;
        }
    }
    return 1;
}

/* Does the table hold exactly the model's rows?  A full scan in key order,
   row for row.  why: what differs (on 0). */
RR_UNUSED static int rr_db_equals(const rr_model *m, digby_rtable *rt, char *why, size_t why_n)
{
    int ord[RR_MAXROWS], i, k = 0, rc;
    digby_rscan *sc = NULL;
    uint64_t count = 0;
    for (i = 0; i < m->nrows; i++) ord[i] = i;
    rr_sort(m, -1, ord, m->nrows);
    rc = digby_rtable_count(rt, &count);
    if (rc != DIGBY_OK || count != (uint64_t)m->nrows) {
        snprintf(why, why_n, "count: %s, %llu rows, model %d", digby_strerror(rc),
                 (unsigned long long)count, m->nrows);
        return 0;
    }
    rc = digby_rscan_open(rt, NULL, &sc);
    if (rc) {
        snprintf(why, why_n, "digby_rscan_open: %s", digby_strerror(rc));
        return 0;
    }
    while ((rc = digby_rscan_next(sc)) == DIGBY_OK) {
        const digby_tuple_item *row;
        digby_tuple_item want[RR_MAXCOLS];
        size_t n;
        int c;
        rc = digby_rscan_row(sc, &row, &n);
        if (rc || k >= m->nrows || n != (size_t)m->sc.ncols) {
            snprintf(why, why_n, "row %d: %s, %lu columns, model has %d rows of %d", k,
                     digby_strerror(rc), (unsigned long)n, m->nrows, m->sc.ncols);
            digby_rscan_close(sc);
            return 0;
        }
        rr_items(m, m->rows[ord[k]], want);
        for (c = 0; c < m->sc.ncols; c++)
            if (!rr_item_eq(&row[c], &want[c])) {
                snprintf(why, why_n, "row %d, column %d: type %d, model type %d (code %d)", k,
                         c, (int)row[c].type, (int)want[c].type, m->rows[ord[k]][c]);
                digby_rscan_close(sc);
                return 0;
            }
        k++;
    }
    digby_rscan_close(sc);
    if (rc != DIGBY_NOTFOUND || k != m->nrows) {
        snprintf(why, why_n, "scan ended with %s after %d rows, model %d", digby_strerror(rc),
                 k, m->nrows);
        return 0;
    }
    return 1;
}

#endif /* DIGBY_TESTS_RECORD_REF_H */
