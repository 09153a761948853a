/* Record tables: schemas (parsed, checked, stored as tuples), open, drop, changes.

   A schema lives in the digby table "digby:schema" under the key
   tuple(NAME), its value the tuple of FORMAT.md section 13.  In memory a
   handle keeps it as a digby__rschema: columns, the primary key and the
   value tuple's columns as column numbers, and per index the columns of
   its entry keys.  digby_rtable_open compares a given schema with the
   stored one after both are in that form, so the comparison is exact. */

#define DIGBY__SCHEMA_TABLE "digby:schema"
#define DIGBY__SCHEMA_VERSION 1
#define DIGBY__RT_NAME_CAP (DIGBY_RECORD_MAX_NAME + 1)

typedef struct digby__rcol {
    char name[DIGBY__RT_NAME_CAP];
    digby_tuple_type type;
    uint32_t flags;            /* DIGBY_COLUMN_NOT_NULL (always, for key columns) */
    int key_pos;               /* place in the primary key, -1: none */
    int val_pos;               /* place in the value tuple, -1: a key column */
} digby__rcol;

typedef struct digby__ridx {
    char name[DIGBY__RT_NAME_CAP];
    uint32_t flags;            /* DIGBY_INDEX_UNIQUE */
    uint32_t ncols;            /* the index's own columns */
    uint32_t nentry;           /* entry key columns: ncols, then the key
                                  columns not among them */
    uint32_t *entry;           /* nentry column numbers */
    uint32_t *key_at;          /* per primary-key place: its place in entry */
    char *colstr;              /* "a, b" (the public view) */
    digby_table *table;        /* NAME.INDEX in the handle's transaction */
} digby__ridx;

typedef struct digby__rschema {
    uint32_t ncols, nkey, nval, nidx;
    uint32_t row_min;          /* value items every row has (columns added
                                  later may be missing: NULL) */
    digby__rcol *cols;
    uint32_t *key;             /* nkey column numbers, key order */
    uint32_t *val;             /* nval column numbers, value tuple order */
    digby__ridx *idx;
    /* the public view */
    digby_column *vcols;
    digby_index *vidx;
    char *keystr;
    digby_schema view;
} digby__rschema;

/* A row read back: its key and value bytes copied, decoded to one item per
   column (strings point into bytes or arena). */
typedef struct digby__rowbuf {
    uint8_t *bytes; size_t cap;
    uint8_t *arena; size_t arena_cap;
    digby_tuple_item *tmp; size_t tmp_cap;
    digby_tuple_item *row; size_t row_cap;
    size_t key_bytes, val_bytes;   /* bytes[0, key_bytes) is the key */
} digby__rowbuf;

/* The packed keys and values of one write, at offsets in one buffer. */
typedef struct digby__rpk { size_t off, len; } digby__rpk;

struct digby_rtable {
    struct digby_rtable *next;
    digby_txn *txn;
    int dropped;
    uint64_t gen;                  /* bumped by every schema change */
    char name[DIGBY__RT_NAME_CAP];
    digby__rschema *s;
    digby_table *rows;
    /* scratch of the writes */
    uint8_t *wb; size_t wb_len, wb_cap;
    digby_tuple_item *items; size_t items_cap;   /* ncols + 1 items */
    digby__rpk *ent; size_t ent_cap;             /* 4 per index */
    digby__rowbuf out;             /* digby_rtable_get's row */
    digby__rowbuf old;             /* the row a write replaces */
    /* the last DIGBY_CONSTRAINT */
    int have_constraint;
    char cidx[DIGBY__RT_NAME_CAP];
    digby__rowbuf ckey;            /* bytes: the existing row's key */
    char msg[200];
    struct digby_rscan *scans;
};

/* ---- names ------------------------------------------------------------- */

/* 1 .. DIGBY_RECORD_MAX_NAME bytes of [A-Za-z0-9_], no leading digit. */
static int digby__rt_name_ok(const char *p, size_t n)
{
    size_t i;
    if (!p || n == 0 || n > DIGBY_RECORD_MAX_NAME) return 0;
    if (p[0] >= '0' && p[0] <= '9') return 0;
    for (i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

/* A NUL-terminated name's length, or 0 when it is no valid name. */
static size_t digby__rt_cname(const char *p)
{
    size_t n = 0;
    if (!p) return 0;
    while (n <= DIGBY_RECORD_MAX_NAME && p[n]) n++;
    return digby__rt_name_ok(p, n) ? n : 0;
}

static int digby__rt_type_ok(digby_tuple_type t)
{
    return t == DIGBY_TUPLE_BYTES || t == DIGBY_TUPLE_STRING || t == DIGBY_TUPLE_INT ||
           t == DIGBY_TUPLE_DOUBLE || t == DIGBY_TUPLE_BOOL || t == DIGBY_TUPLE_UUID;
}

static const char *digby__rt_type_name(digby_tuple_type t)
{
    switch (t) {
    case DIGBY_TUPLE_BYTES: return "bytes";
    case DIGBY_TUPLE_STRING: return "string";
    case DIGBY_TUPLE_INT: return "int";
    case DIGBY_TUPLE_UINT: return "uint";
    case DIGBY_TUPLE_DOUBLE: return "double";
    case DIGBY_TUPLE_BOOL: return "bool";
    case DIGBY_TUPLE_UUID: return "uuid";
    case DIGBY_TUPLE_NESTED: return "nested";
    case DIGBY_TUPLE_NULL: return "null";
    default: return "unknown";
    }
}

static int digby__rt_msg(char *msg, int rc, const char *fmt, const char *a, const char *b)
{
    if (msg) snprintf(msg, 200, fmt, a ? a : "", b ? b : "");
    return rc;
}

static int digby__rt_col_find(const digby__rschema *s, const char *p, size_t n)
{
    uint32_t i;
    for (i = 0; i < s->ncols; i++)
        if (strlen(s->cols[i].name) == n && memcmp(s->cols[i].name, p, n) == 0) return (int)i;
    return -1;
}

static int digby__rt_idx_find(const digby__rschema *s, const char *name)
{
    uint32_t i;
    for (i = 0; i < s->nidx; i++)
        if (strcmp(s->idx[i].name, name) == 0) return (int)i;
    return -1;
}

/* ---- the in-memory schema ---------------------------------------------- */

static void digby__rschema_free(const digby_allocator *a, digby__rschema *s)
{
    uint32_t i;
    if (!s) return;
    for (i = 0; s->idx && i < s->nidx; i++) {
        digby__free(a, s->idx[i].entry);
        digby__free(a, s->idx[i].key_at);
        digby__free(a, s->idx[i].colstr);
    }
    digby__free(a, s->cols);
    digby__free(a, s->key);
    digby__free(a, s->val);
    digby__free(a, s->idx);
    digby__free(a, s->vcols);
    digby__free(a, s->vidx);
    digby__free(a, s->keystr);
    digby__free(a, s);
}

/* A schema with room for ncols columns, nkey key columns and nidx indexes
   (the per-index arrays come later), zeroed. */
static digby__rschema *digby__rschema_new(const digby_allocator *a, size_t ncols,
                                          size_t nkey, size_t nidx)
{
    digby__rschema *s = (digby__rschema *)digby__malloc(a, sizeof(*s));
    if (!s) return NULL;
    memset(s, 0, sizeof(*s));
    s->cols = (digby__rcol *)digby__malloc(a, (ncols ? ncols : 1) * sizeof(digby__rcol));
    s->key = (uint32_t *)digby__malloc(a, (nkey ? nkey : 1) * sizeof(uint32_t));
    s->val = (uint32_t *)digby__malloc(a, (ncols ? ncols : 1) * sizeof(uint32_t));
    s->idx = (digby__ridx *)digby__malloc(a, (nidx ? nidx : 1) * sizeof(digby__ridx));
    if (!s->cols || !s->key || !s->val || !s->idx) {
        digby__rschema_free(a, s);
        return NULL;
    }
    memset(s->cols, 0, (ncols ? ncols : 1) * sizeof(digby__rcol));
    memset(s->idx, 0, (nidx ? nidx : 1) * sizeof(digby__ridx));
    return s;
}

/* "a, b" for the column numbers cols[0, n). */
static char *digby__rt_colstr(const digby_allocator *a, const digby__rschema *s,
                              const uint32_t *cols, uint32_t n)
{
    size_t len = 1, i;
    char *out, *p;
    for (i = 0; i < n; i++) len += strlen(s->cols[cols[i]].name) + 2;
    out = (char *)digby__malloc(a, len);
    if (!out) return NULL;
    p = out;
    for (i = 0; i < n; i++) {
        size_t k = strlen(s->cols[cols[i]].name);
        if (i) { *p++ = ','; *p++ = ' '; }
        memcpy(p, s->cols[cols[i]].name, k);
        p += k;
    }
    *p = 0;
    return out;
}

/* Parse "a, b" into column numbers (at most max).  INVALID, with msg,
   for an empty list or item, an unknown or repeated column. */
static int digby__rt_parse_cols(const digby__rschema *s, const char *list, uint32_t *out,
                                uint32_t max, uint32_t *n, char *msg, const char *what)
{
    const char *p = list;
    uint32_t k = 0, j;
    if (!list) return digby__rt_msg(msg, DIGBY_INVALID, "%s: no column list", what, NULL);
    for (;;) {
        const char *b;
        size_t len;
        int c;
        while (*p == ' ' || *p == '\t') p++;
        b = p;
        while (*p && *p != ',' && *p != ' ' && *p != '\t') p++;
        len = (size_t)(p - b);
        while (*p == ' ' || *p == '\t') p++;
        if (len == 0 || (*p && *p != ','))
            return digby__rt_msg(msg, DIGBY_INVALID, "%s: malformed column list \"%s\"", what,
                                 list);
        c = digby__rt_col_find(s, b, len);
        if (c < 0)
            return digby__rt_msg(msg, DIGBY_INVALID, "%s: unknown column in \"%s\"", what, list);
        for (j = 0; j < k; j++)
            if (out[j] == (uint32_t)c)
                return digby__rt_msg(msg, DIGBY_INVALID, "%s: column repeated in \"%s\"", what,
                                     list);
        if (k == max)
            return digby__rt_msg(msg, DIGBY_INVALID, "%s: too many columns", what, NULL);
        out[k++] = (uint32_t)c;
        if (!*p) break;
        p++; /* the comma */
    }
    *n = k;
    return DIGBY_OK;
}

/* Set index i of s from its name, flags and column numbers: the entry key
   columns and where the primary key lies in them (s->key set). */
static int digby__rt_idx_set(const digby_allocator *a, digby__rschema *s, uint32_t i,
                             const char *name, size_t name_len, uint32_t flags,
                             const uint32_t *cols, uint32_t ncols)
{
    digby__ridx *x = &s->idx[i];
    uint32_t k, j;
    memset(x, 0, sizeof(*x));
    memcpy(x->name, name, name_len);
    x->name[name_len] = 0;
    x->flags = flags;
    x->ncols = ncols;
    x->entry = (uint32_t *)digby__malloc(a, (ncols + s->nkey) * sizeof(uint32_t));
    x->key_at = (uint32_t *)digby__malloc(a, (s->nkey ? s->nkey : 1) * sizeof(uint32_t));
    if (!x->entry || !x->key_at) return DIGBY_NOMEM;
    memcpy(x->entry, cols, ncols * sizeof(uint32_t));
    x->nentry = ncols;
    for (k = 0; k < s->nkey; k++) {
        for (j = 0; j < x->nentry && x->entry[j] != s->key[k]; j++) {}
        if (j == x->nentry) x->entry[x->nentry++] = s->key[k];
        x->key_at[k] = j;
    }
    return DIGBY_OK;
}

/* Finish a schema whose columns, key, row_min and indexes are set: check
   what the parts cannot (names distinct, types, flags), derive the value
   columns and the public view.  INVALID with msg. */
static int digby__rschema_finish(const digby_allocator *a, digby__rschema *s, char *msg)
{
    uint32_t i, j;
    if (s->ncols == 0 || s->ncols > DIGBY_RECORD_MAX_COLUMNS)
        return digby__rt_msg(msg, DIGBY_INVALID, "a table has 1 to 256 columns", NULL, NULL);
    if (s->nkey == 0) return digby__rt_msg(msg, DIGBY_INVALID, "no primary key", NULL, NULL);
    for (i = 0; i < s->ncols; i++) {
        digby__rcol *c = &s->cols[i];
        if (!digby__rt_name_ok(c->name, strlen(c->name)))
            return digby__rt_msg(msg, DIGBY_INVALID, "bad column name \"%s\"", c->name, NULL);
        if (!digby__rt_type_ok(c->type))
            return digby__rt_msg(msg, DIGBY_INVALID, "column %s: bad type", c->name, NULL);
        if (c->flags & ~DIGBY_COLUMN_NOT_NULL)
            return digby__rt_msg(msg, DIGBY_INVALID, "column %s: unknown flags", c->name, NULL);
        for (j = 0; j < i; j++)
            if (strcmp(s->cols[j].name, c->name) == 0)
                return digby__rt_msg(msg, DIGBY_INVALID, "column %s: name repeated%s", c->name,
                                     NULL);
        c->key_pos = -1;
        c->val_pos = -1;
    }
    for (i = 0; i < s->nkey; i++) {
        s->cols[s->key[i]].key_pos = (int)i;
        s->cols[s->key[i]].flags |= DIGBY_COLUMN_NOT_NULL;
    }
    s->nval = 0;
    for (i = 0; i < s->ncols; i++)
        if (s->cols[i].key_pos < 0) {
            s->cols[i].val_pos = (int)s->nval;
            s->val[s->nval++] = i;
        }
    if (s->row_min > s->nval)
        return digby__rt_msg(msg, DIGBY_INVALID, "bad row_min", NULL, NULL);
    for (i = 0; i < s->nidx; i++) {
        digby__ridx *x = &s->idx[i];
        if (!digby__rt_name_ok(x->name, strlen(x->name)) || strcmp(x->name, "primary") == 0)
            return digby__rt_msg(msg, DIGBY_INVALID, "bad index name \"%s\"", x->name, NULL);
        if (x->flags & ~DIGBY_INDEX_UNIQUE)
            return digby__rt_msg(msg, DIGBY_INVALID, "index %s: unknown flags", x->name, NULL);
        for (j = 0; j < i; j++)
            if (strcmp(s->idx[j].name, x->name) == 0)
                return digby__rt_msg(msg, DIGBY_INVALID, "index %s: name repeated%s", x->name,
                                     NULL);
    }
    /* the view */
    s->vcols = (digby_column *)digby__malloc(a, s->ncols * sizeof(digby_column));
    s->vidx = (digby_index *)digby__malloc(a, (s->nidx ? s->nidx : 1) * sizeof(digby_index));
    s->keystr = digby__rt_colstr(a, s, s->key, s->nkey);
    if (!s->vcols || !s->vidx || !s->keystr) return DIGBY_NOMEM;
    for (i = 0; i < s->ncols; i++) {
        s->vcols[i].name = s->cols[i].name;
        s->vcols[i].type = s->cols[i].type;
        s->vcols[i].flags = s->cols[i].flags;
    }
    for (i = 0; i < s->nidx; i++) {
        digby__ridx *x = &s->idx[i];
        x->colstr = digby__rt_colstr(a, s, x->entry, x->ncols);
        if (!x->colstr) return DIGBY_NOMEM;
        s->vidx[i].name = x->name;
        s->vidx[i].columns = x->colstr;
        s->vidx[i].flags = x->flags;
    }
    s->view.columns = s->vcols;
    s->view.ncolumns = s->ncols;
    s->view.primary_key = s->keystr;
    s->view.indexes = s->nidx ? s->vidx : NULL;
    s->view.nindexes = s->nidx;
    return DIGBY_OK;
}

/* Build the in-memory form of a caller's schema, with extra_cols more
   column slots and extra_idx more index slots left free (for changes).
   INVALID with msg for every malformation. */
static int digby__rschema_from_user(const digby_allocator *a, const digby_schema *u,
                                    digby__rschema **out, char *msg)
{
    digby__rschema *s;
    uint32_t i, tmp[DIGBY_RECORD_MAX_COLUMNS];
    int rc;
    *out = NULL;
    if (!u->columns || u->ncolumns == 0 || u->ncolumns > DIGBY_RECORD_MAX_COLUMNS)
        return digby__rt_msg(msg, DIGBY_INVALID, "a table has 1 to 256 columns", NULL, NULL);
    if (u->nindexes && !u->indexes)
        return digby__rt_msg(msg, DIGBY_INVALID, "nindexes without indexes", NULL, NULL);
    if (u->nindexes > 65536)
        return digby__rt_msg(msg, DIGBY_INVALID, "too many indexes", NULL, NULL);
    s = digby__rschema_new(a, u->ncolumns, u->ncolumns, u->nindexes);
    if (!s) return DIGBY_NOMEM;
    s->ncols = (uint32_t)u->ncolumns;
    for (i = 0; i < s->ncols; i++) {
        const digby_column *c = &u->columns[i];
        size_t n = digby__rt_cname(c->name);
        if (!n) {
            digby__rschema_free(a, s);
            return digby__rt_msg(msg, DIGBY_INVALID, "column %s: bad name%s",
                                 c->name ? "" : "(NULL)", NULL);
        }
        memcpy(s->cols[i].name, c->name, n + 1);
        s->cols[i].type = c->type;
        s->cols[i].flags = c->flags;
    }
    rc = digby__rt_parse_cols(s, u->primary_key, s->key, s->ncols, &s->nkey, msg, "primary key");
    for (i = 0; rc == DIGBY_OK && i < u->nindexes; i++) {
        const digby_index *x = &u->indexes[i];
        size_t n = digby__rt_cname(x->name);
        uint32_t nc = 0;
        if (!n) {
            rc = digby__rt_msg(msg, DIGBY_INVALID, "index %s: bad name%s",
                               x->name ? x->name : "(NULL)", NULL);
            break;
        }
        rc = digby__rt_parse_cols(s, x->columns, tmp, s->ncols, &nc, msg, x->name);
        if (rc == DIGBY_OK) {
            s->nidx = i + 1;
            rc = digby__rt_idx_set(a, s, i, x->name, n, x->flags, tmp, nc);
        }
    }
    if (rc == DIGBY_OK) {
        /* the value tuple's length before any ADD COLUMN */
        s->row_min = s->ncols - s->nkey;
        rc = digby__rschema_finish(a, s, msg);
    }
    if (rc) { digby__rschema_free(a, s); return rc; }
    *out = s;
    return DIGBY_OK;
}

/* A copy of s with room for one more column and one more index. */
static int digby__rschema_copy(const digby_allocator *a, const digby__rschema *s,
                               digby__rschema **out)
{
    digby__rschema *c = digby__rschema_new(a, s->ncols + 1, s->nkey, s->nidx + 1);
    uint32_t i;
    int rc = DIGBY_OK;
    *out = NULL;
    if (!c) return DIGBY_NOMEM;
    c->ncols = s->ncols;
    c->nkey = s->nkey;
    c->row_min = s->row_min;
    memcpy(c->cols, s->cols, s->ncols * sizeof(digby__rcol));
    memcpy(c->key, s->key, s->nkey * sizeof(uint32_t));
    for (i = 0; i < s->nidx && rc == DIGBY_OK; i++) {
        c->nidx = i + 1;
        rc = digby__rt_idx_set(a, c, i, s->idx[i].name, strlen(s->idx[i].name),
                               s->idx[i].flags, s->idx[i].entry, s->idx[i].ncols);
        c->idx[i].table = s->idx[i].table;
    }
    if (rc) { digby__rschema_free(a, c); return rc; }
    *out = c;
    return DIGBY_OK;
}

/* Exact equality of two finished schemas (row_min aside: it is not the
   caller's to give). */
static int digby__rschema_equal(const digby__rschema *a, const digby__rschema *b)
{
    uint32_t i;
    if (a->ncols != b->ncols || a->nkey != b->nkey || a->nidx != b->nidx) return 0;
    for (i = 0; i < a->ncols; i++)
        if (strcmp(a->cols[i].name, b->cols[i].name) != 0 || a->cols[i].type != b->cols[i].type ||
            a->cols[i].flags != b->cols[i].flags)
            return 0;
    if (memcmp(a->key, b->key, a->nkey * sizeof(uint32_t)) != 0) return 0;
    for (i = 0; i < a->nidx; i++) {
        const digby__ridx *x = &a->idx[i], *y = &b->idx[i];
        if (strcmp(x->name, y->name) != 0 || x->flags != y->flags || x->ncols != y->ncols ||
            memcmp(x->entry, y->entry, x->ncols * sizeof(uint32_t)) != 0)
            return 0;
    }
    return 1;
}

/* ---- the stored form (FORMAT.md section 13.2) ---------------------------- */

/* Pack s: (1, ((name, type, flags), ...), (key column, ...),
   ((name, flags, (column, ...)), ...), row_min).  *out is allocated. */
static int digby__rschema_encode(const digby_allocator *a, const digby__rschema *s,
                                 uint8_t **out, size_t *len)
{
    size_t nitems = 5 + 4 * (size_t)s->ncols + s->nkey + 4 * (size_t)s->nidx, i, n = 0;
    digby_tuple_item *it, *top, *cols, *key, *idx;
    uint8_t *buf = NULL;
    int rc;
    for (i = 0; i < s->nidx; i++) nitems += s->idx[i].ncols;
    it = (digby_tuple_item *)digby__malloc(a, nitems * sizeof(*it));
    if (!it) return DIGBY_NOMEM;
    memset(it, 0, nitems * sizeof(*it));
    top = it;
    n = 5;
    cols = it + n;
    n += s->ncols;
    for (i = 0; i < s->ncols; i++) {
        digby_tuple_item *c = it + n;
        n += 3;
        c[0].type = DIGBY_TUPLE_STRING;
        c[0].v.s.ptr = s->cols[i].name;
        c[0].v.s.len = strlen(s->cols[i].name);
        c[1].type = DIGBY_TUPLE_INT;
        c[1].v.i = (int64_t)s->cols[i].type;
        c[2].type = DIGBY_TUPLE_INT;
        c[2].v.i = (int64_t)s->cols[i].flags;
        cols[i].type = DIGBY_TUPLE_NESTED;
        cols[i].v.nested.items = c;
        cols[i].v.nested.count = 3;
    }
    key = it + n;
    n += s->nkey;
    for (i = 0; i < s->nkey; i++) {
        key[i].type = DIGBY_TUPLE_INT;
        key[i].v.i = (int64_t)s->key[i];
    }
    idx = it + n;
    n += s->nidx;
    for (i = 0; i < s->nidx; i++) {
        digby_tuple_item *x = it + n, *xc;
        uint32_t j;
        n += 3;
        xc = it + n;
        n += s->idx[i].ncols;
        x[0].type = DIGBY_TUPLE_STRING;
        x[0].v.s.ptr = s->idx[i].name;
        x[0].v.s.len = strlen(s->idx[i].name);
        x[1].type = DIGBY_TUPLE_INT;
        x[1].v.i = (int64_t)s->idx[i].flags;
        x[2].type = DIGBY_TUPLE_NESTED;
        x[2].v.nested.items = xc;
        x[2].v.nested.count = s->idx[i].ncols;
        for (j = 0; j < s->idx[i].ncols; j++) {
            xc[j].type = DIGBY_TUPLE_INT;
            xc[j].v.i = (int64_t)s->idx[i].entry[j];
        }
        idx[i].type = DIGBY_TUPLE_NESTED;
        idx[i].v.nested.items = x;
        idx[i].v.nested.count = 3;
    }
    DIGBY_ASSERT(n == nitems);
    top[0].type = DIGBY_TUPLE_INT;
    top[0].v.i = DIGBY__SCHEMA_VERSION;
    top[1].type = DIGBY_TUPLE_NESTED;
    top[1].v.nested.items = cols;
    top[1].v.nested.count = s->ncols;
    top[2].type = DIGBY_TUPLE_NESTED;
    top[2].v.nested.items = key;
    top[2].v.nested.count = s->nkey;
    top[3].type = DIGBY_TUPLE_NESTED;
    top[3].v.nested.items = idx;
    top[3].v.nested.count = s->nidx;
    top[4].type = DIGBY_TUPLE_INT;
    top[4].v.i = (int64_t)s->row_min;
    rc = digby_tuple_pack(top, 5, NULL, 0, len);
    if (rc == DIGBY_TOOBIG || rc == DIGBY_OK) {
        buf = (uint8_t *)digby__malloc(a, *len ? *len : 1);
        rc = buf ? digby_tuple_pack(top, 5, buf, *len, len) : DIGBY_NOMEM;
    }
    digby__free(a, it);
    if (rc) { digby__free(a, buf); return rc; }
    *out = buf;
    return DIGBY_OK;
}

/* An INT item in [0, max]. */
static int digby__rt_small(const digby_tuple_item *it, uint32_t max, uint32_t *out)
{
    if (it->type != DIGBY_TUPLE_INT || it->v.i < 0 || (uint64_t)it->v.i > max) return 0;
    *out = (uint32_t)it->v.i;
    return 1;
}

/* Decode a stored schema.  CORRUPT for anything malformed; VERSION for an
   encoding version this build does not read. */
static int digby__rschema_decode(digby_txn *txn, const void *val, size_t vlen,
                                 digby__rschema **out)
{
    const digby_allocator *a = &txn->db->alloc;
    digby_tuple_item *it = NULL;
    size_t count = 0, need = 0, arena_need = 0, i;
    digby__rschema *s = NULL;
    uint32_t tmp[DIGBY_RECORD_MAX_COLUMNS];
    const digby_tuple_item *cols, *key, *idx;
    int rc;
    *out = NULL;
    rc = digby_tuple_unpack(val, vlen, NULL, 0, &count, NULL, 0, &need, &arena_need);
    if (rc != DIGBY_OK && rc != DIGBY_TOOBIG) return DIGBY__CORRUPT(txn->db, 0);
    /* names hold no 0x00, so nothing needs the arena */
    if (arena_need || count != 5 || need > 16 * (size_t)DIGBY_RECORD_MAX_COLUMNS * 65536)
        return DIGBY__CORRUPT(txn->db, 0);
    it = (digby_tuple_item *)digby__malloc(a, need * sizeof(*it));
    if (!it) return DIGBY_NOMEM;
    rc = digby_tuple_unpack(val, vlen, it, need, &count, NULL, 0, NULL, NULL);
    if (rc) goto corrupt;
    if (it[0].type != DIGBY_TUPLE_INT) goto corrupt;
    if (it[0].v.i != DIGBY__SCHEMA_VERSION) { digby__free(a, it); return DIGBY_VERSION; }
    if (it[1].type != DIGBY_TUPLE_NESTED || it[2].type != DIGBY_TUPLE_NESTED ||
        it[3].type != DIGBY_TUPLE_NESTED || it[4].type != DIGBY_TUPLE_INT)
        goto corrupt;
    cols = it[1].v.nested.items;
    key = it[2].v.nested.items;
    idx = it[3].v.nested.items;
    if (it[1].v.nested.count == 0 || it[1].v.nested.count > DIGBY_RECORD_MAX_COLUMNS ||
        it[2].v.nested.count == 0 || it[2].v.nested.count > it[1].v.nested.count ||
        it[3].v.nested.count > 65536)
        goto corrupt;
    s = digby__rschema_new(a, it[1].v.nested.count, it[2].v.nested.count,
                           it[3].v.nested.count);
    if (!s) { digby__free(a, it); return DIGBY_NOMEM; }
    s->ncols = (uint32_t)it[1].v.nested.count;
    for (i = 0; i < s->ncols; i++) {
        const digby_tuple_item *c = cols[i].v.nested.items;
        uint32_t type, flags;
        if (cols[i].type != DIGBY_TUPLE_NESTED || cols[i].v.nested.count != 3 ||
            c[0].type != DIGBY_TUPLE_STRING || !digby__rt_name_ok((const char *)c[0].v.s.ptr,
                                                                  c[0].v.s.len) ||
            !digby__rt_small(&c[1], 255, &type) || !digby__rt_small(&c[2], 0xffff, &flags))
            goto corrupt;
        memcpy(s->cols[i].name, c[0].v.s.ptr, c[0].v.s.len);
        s->cols[i].name[c[0].v.s.len] = 0;
        s->cols[i].type = (digby_tuple_type)type;
        s->cols[i].flags = flags;
    }
    s->nkey = (uint32_t)it[2].v.nested.count;
    for (i = 0; i < s->nkey; i++) {
        size_t j;
        if (!digby__rt_small(&key[i], s->ncols - 1, &s->key[i])) goto corrupt;
        for (j = 0; j < i; j++)
            if (s->key[j] == s->key[i]) goto corrupt;
    }
    for (i = 0; i < it[3].v.nested.count; i++) {
        const digby_tuple_item *x = idx[i].v.nested.items, *xc;
        uint32_t flags, nc, j, k;
        if (idx[i].type != DIGBY_TUPLE_NESTED || idx[i].v.nested.count != 3 ||
            x[0].type != DIGBY_TUPLE_STRING ||
            !digby__rt_name_ok((const char *)x[0].v.s.ptr, x[0].v.s.len) ||
            !digby__rt_small(&x[1], 0xffff, &flags) || x[2].type != DIGBY_TUPLE_NESTED ||
            x[2].v.nested.count == 0 || x[2].v.nested.count > s->ncols)
            goto corrupt;
        xc = x[2].v.nested.items;
        nc = (uint32_t)x[2].v.nested.count;
        for (j = 0; j < nc; j++) {
            if (!digby__rt_small(&xc[j], s->ncols - 1, &tmp[j])) goto corrupt;
            for (k = 0; k < j; k++)
                if (tmp[k] == tmp[j]) goto corrupt;
        }
        s->nidx = (uint32_t)i + 1;
        rc = digby__rt_idx_set(a, s, (uint32_t)i, (const char *)x[0].v.s.ptr, x[0].v.s.len, flags,
                               tmp, nc);
        if (rc) { digby__free(a, it); digby__rschema_free(a, s); return rc; }
    }
    if (!digby__rt_small(&it[4], DIGBY_RECORD_MAX_COLUMNS, &s->row_min)) goto corrupt;
    rc = digby__rschema_finish(a, s, NULL);
    if (rc == DIGBY_NOMEM) { digby__free(a, it); digby__rschema_free(a, s); return rc; }
    if (rc) goto corrupt;
    digby__free(a, it);
    *out = s;
    return DIGBY_OK;
corrupt:
    digby__free(a, it);
    digby__rschema_free(a, s);
    return DIGBY__CORRUPT(txn->db, 0);
}

/* ---- the schema table ---------------------------------------------------- */

/* Pack tuple(name) into buf (cap 3 + 2 * DIGBY_RECORD_MAX_NAME: names hold
   no 0x00, so no escapes). */
static size_t digby__rt_name_key(const char *name, uint8_t *buf, size_t cap)
{
    digby_tuple_item it;
    size_t len = 0;
    memset(&it, 0, sizeof(it));
    it.type = DIGBY_TUPLE_STRING;
    it.v.s.ptr = name;
    it.v.s.len = strlen(name);
    if (digby_tuple_pack(&it, 1, buf, cap, &len) != DIGBY_OK) return 0;
    return len;
}

/* The schema table; DIGBY_NOTFOUND when it does not exist (create: make
   it). */
static int digby__rt_schema_table(digby_txn *txn, int create, digby_table **out)
{
    return digby_table_open(txn, DIGBY__SCHEMA_TABLE, create ? DIGBY_TABLE_CREATE : 0, out);
}

/* Read and decode the stored schema of `name`: NOTFOUND when none. */
static int digby__rt_schema_load(digby_txn *txn, const char *name, digby__rschema **out)
{
    digby_table *cat;
    uint8_t key[3 + 2 * DIGBY_RECORD_MAX_NAME];
    size_t klen = digby__rt_name_key(name, key, sizeof(key)), vlen;
    const void *val;
    int rc;
    *out = NULL;
    rc = digby__rt_schema_table(txn, 0, &cat);
    if (rc) return rc;
    rc = digby_txn_get(txn, cat, key, klen, &val, &vlen, NULL);
    if (rc) return rc;
    return digby__rschema_decode(txn, val, vlen, out);
}

static int digby__rt_schema_store(digby_txn *txn, const char *name, const digby__rschema *s)
{
    digby_table *cat;
    uint8_t key[3 + 2 * DIGBY_RECORD_MAX_NAME], *val = NULL;
    size_t klen = digby__rt_name_key(name, key, sizeof(key)), vlen = 0;
    int rc = digby__rt_schema_table(txn, 1, &cat);
    if (rc == DIGBY_OK) rc = digby__rschema_encode(&txn->db->alloc, s, &val, &vlen);
    if (rc == DIGBY_OK) rc = digby_txn_put(txn, cat, key, klen, val, vlen, 0);
    digby__free(&txn->db->alloc, val);
    return rc;
}

/* "NAME.INDEX" */
static void digby__rt_idx_table_name(const char *table, const char *index, char *out)
{
    size_t a = strlen(table), b = strlen(index);
    memcpy(out, table, a);
    out[a] = '.';
    memcpy(out + a + 1, index, b + 1);
}

/* ---- handles --------------------------------------------------------- */

static void digby__rowbuf_free(const digby_allocator *a, digby__rowbuf *b)
{
    digby__free(a, b->bytes);
    digby__free(a, b->arena);
    digby__free(a, b->tmp);
    digby__free(a, b->row);
    memset(b, 0, sizeof(*b));
}

static void digby__rscan_free_all(digby_rtable *rt); /* 79_record_scan.c */

static void digby__rtable_free(digby_rtable *rt)
{
    const digby_allocator *a = &rt->txn->db->alloc;
    digby__rscan_free_all(rt);
    digby__rschema_free(a, rt->s);
    digby__free(a, rt->wb);
    digby__free(a, rt->items);
    digby__free(a, rt->ent);
    digby__rowbuf_free(a, &rt->out);
    digby__rowbuf_free(a, &rt->old);
    digby__rowbuf_free(a, &rt->ckey);
    digby__free(a, rt);
}

/* The transaction ends: free every handle and scan (their cursors are
   the transaction's, closed by it). */
static void digby__rtable_release_all(digby_txn *txn)
{
    while (txn->rtables) {
        digby_rtable *rt = txn->rtables;
        txn->rtables = rt->next;
        digby__rtable_free(rt);
    }
}

/* Size the handle's scratch for its schema. */
static int digby__rt_scratch(digby_rtable *rt)
{
    const digby_allocator *a = &rt->txn->db->alloc;
    size_t n = (size_t)rt->s->ncols + 1, e = 4 * (size_t)rt->s->nidx + 4;
    if (rt->items_cap < n) {
        digby_tuple_item *p = (digby_tuple_item *)digby__realloc(a, rt->items, n * sizeof(*p));
        if (!p) return DIGBY_NOMEM;
        rt->items = p;
        rt->items_cap = n;
    }
    if (rt->ent_cap < e) {
        digby__rpk *p = (digby__rpk *)digby__realloc(a, rt->ent, e * sizeof(*p));
        if (!p) return DIGBY_NOMEM;
        rt->ent = p;
        rt->ent_cap = e;
    }
    return DIGBY_OK;
}

/* Open the tables of s in the handle's transaction: rows and indexes.  A
   missing one is CORRUPT (the schema says it exists). */
static int digby__rt_open_tables(digby_rtable *rt, digby__rschema *s)
{
    char tname[2 * DIGBY__RT_NAME_CAP + 1];
    uint32_t i;
    int rc = digby_table_open(rt->txn, rt->name, 0, &rt->rows);
    for (i = 0; rc == DIGBY_OK && i < s->nidx; i++) {
        digby__rt_idx_table_name(rt->name, s->idx[i].name, tname);
        rc = digby_table_open(rt->txn, tname, 0, &s->idx[i].table);
    }
    if (rc == DIGBY_NOTFOUND) rc = DIGBY__CORRUPT(rt->txn->db, 0);
    return rc;
}

/* Names of a new table's tables must be free: EXISTS, or TOOBIG/INVALID
   from digby_table_open for a name it refuses. */
static int digby__rt_table_free(digby_txn *txn, const char *tname)
{
    digby_table *t;
    int rc = digby_table_open(txn, tname, 0, &t);
    if (rc == DIGBY_OK) return DIGBY_EXISTS;
    return rc == DIGBY_NOTFOUND ? DIGBY_OK : rc;
}

static digby_rtable *digby__rt_find(digby_txn *txn, const char *name)
{
    digby_rtable *rt;
    for (rt = txn->rtables; rt; rt = rt->next)
        if (!rt->dropped && strcmp(rt->name, name) == 0) return rt;
    return NULL;
}

/* Create the tables and the schema entry of a new record table. */
static int digby__rt_create(digby_rtable *rt, digby__rschema *s)
{
    char tname[2 * DIGBY__RT_NAME_CAP + 1];
    uint32_t i;
    int rc = digby__rt_table_free(rt->txn, rt->name);
    for (i = 0; rc == DIGBY_OK && i < s->nidx; i++) {
        digby__rt_idx_table_name(rt->name, s->idx[i].name, tname);
        rc = digby__rt_table_free(rt->txn, tname);
    }
    if (rc) return rc;
    /* everything is checked: from here on a failure is the store's */
    rc = digby_table_open(rt->txn, rt->name, DIGBY_TABLE_CREATE, &rt->rows);
    for (i = 0; rc == DIGBY_OK && i < s->nidx; i++) {
        digby__rt_idx_table_name(rt->name, s->idx[i].name, tname);
        rc = digby_table_open(rt->txn, tname, DIGBY_TABLE_CREATE, &s->idx[i].table);
    }
    if (rc == DIGBY_OK) rc = digby__rt_schema_store(rt->txn, rt->name, s);
    if (rc) rt->txn->poisoned = 1;
    return rc;
}

DIGBY_API int digby_rtable_open(digby_txn *txn, const char *name, const digby_schema *schema,
                                unsigned flags, digby_rtable **out)
{
    const digby_allocator *a;
    digby__rschema *stored = NULL, *given = NULL;
    digby_rtable *rt;
    size_t n;
    int rc;
    if (!out) return DIGBY_INVALID;
    *out = NULL;
    if (!txn || !(n = digby__rt_cname(name)) || (flags & ~DIGBY_RTABLE_CREATE))
        return DIGBY_INVALID;
    if ((flags & DIGBY_RTABLE_CREATE) && !schema) return DIGBY_INVALID;
    if (txn->poisoned) return DIGBY_POISONED;
    /* a handle caches its schema, which a rollback would not restore */
    if (txn->nsp) return DIGBY_BUSY;
    a = &txn->db->alloc;
    rt = (digby_rtable *)digby__malloc(a, sizeof(*rt));
    if (!rt) return DIGBY_NOMEM;
    memset(rt, 0, sizeof(*rt));
    rt->txn = txn;
    memcpy(rt->name, name, n + 1);
    if (schema) {
        rc = digby__rschema_from_user(a, schema, &given, rt->msg);
        if (rc) goto fail;
    }
    {
        digby_rtable *have = digby__rt_find(txn, name);
        if (have) {
            rc = given && !digby__rschema_equal(given, have->s) ? DIGBY_SCHEMA : DIGBY_OK;
            if (rc == DIGBY_OK) *out = have;
            else snprintf(have->msg, sizeof(have->msg), "table %s: stored schema differs", name);
            goto fail;
        }
    }
    rc = digby__rt_schema_load(txn, name, &stored);
    if (rc == DIGBY_OK) {
        if (given && !digby__rschema_equal(given, stored)) {
            rc = DIGBY_SCHEMA;
            goto fail;
        }
        rt->s = stored;
        stored = NULL;
        rc = digby__rt_open_tables(rt, rt->s);
    } else if (rc == DIGBY_NOTFOUND) {
        if (!(flags & DIGBY_RTABLE_CREATE)) goto fail;
        if (txn->rdonly) { rc = DIGBY_READONLY; goto fail; }
        rt->s = given;
        given = NULL;
        rc = digby__rt_create(rt, rt->s);
    }
    if (rc == DIGBY_OK) rc = digby__rt_scratch(rt);
    if (rc) goto fail;
    digby__rschema_free(a, given);
    rt->next = txn->rtables;
    txn->rtables = rt;
    *out = rt;
    return DIGBY_OK;
fail:
    digby__rschema_free(a, given);
    digby__rschema_free(a, stored);
    digby__rtable_free(rt);
    return rc;
}

DIGBY_API int digby_schema_check(const digby_schema *schema, char *msg, size_t msg_bytes)
{
    digby_allocator a;
    digby__rschema *s = NULL;
    char text[200];
    int rc;
    memset(&a, 0, sizeof(a));
    text[0] = 0;
    if (msg && msg_bytes) msg[0] = 0;
    if ((!msg && msg_bytes) || !schema) return DIGBY_INVALID;
    rc = digby__rschema_from_user(&a, schema, &s, text);
    digby__rschema_free(&a, s);
    if (msg && msg_bytes) {
        size_t n = strlen(text);
        if (n >= msg_bytes) n = msg_bytes - 1;
        memcpy(msg, text, n);
        msg[n] = 0;
    }
    return rc;
}

DIGBY_API int digby_rtable_drop(digby_txn *txn, const char *name)
{
    digby__rschema *s = NULL;
    digby_table *cat;
    char tname[2 * DIGBY__RT_NAME_CAP + 1];
    uint8_t key[3 + 2 * DIGBY_RECORD_MAX_NAME];
    size_t klen;
    uint32_t i;
    int rc;
    if (!txn || !digby__rt_cname(name)) return DIGBY_INVALID;
    if ((rc = digby__txn_check_write(txn)) != DIGBY_OK) return rc;
    rc = digby__rt_schema_load(txn, name, &s);
    if (rc) return rc;
    /* from here on every failure is the store's and poisons */
    for (i = 0; rc == DIGBY_OK && i < s->nidx; i++) {
        digby__rt_idx_table_name(name, s->idx[i].name, tname);
        rc = digby_table_drop(txn, tname);
    }
    if (rc == DIGBY_OK) rc = digby_table_drop(txn, name);
    if (rc == DIGBY_NOTFOUND) rc = DIGBY__CORRUPT(txn->db, 0);
    klen = digby__rt_name_key(name, key, sizeof(key));
    if (rc == DIGBY_OK) rc = digby__rt_schema_table(txn, 0, &cat);
    if (rc == DIGBY_OK) rc = digby_txn_delete(txn, cat, key, klen);
    digby__rschema_free(&txn->db->alloc, s);
    if (rc) {
        txn->poisoned = 1;
        return rc;
    }
    {
        digby_rtable *rt = digby__rt_find(txn, name);
        if (rt) rt->dropped = 1;
    }
    return DIGBY_OK;
}

DIGBY_API int digby_rtable_list(digby_txn *txn, int (*fn)(void *ctx, const char *name),
                                void *ctx)
{
    digby_table *cat;
    digby_cursor *c;
    int rc;
    if (!txn || !fn) return DIGBY_INVALID;
    if (txn->poisoned) return DIGBY_POISONED;
    rc = digby__rt_schema_table(txn, 0, &cat);
    if (rc == DIGBY_NOTFOUND) return DIGBY_OK;
    if (rc) return rc;
    rc = digby_cursor_open(txn, cat, &c);
    if (rc) return rc;
    for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
        const void *k;
        size_t kl, count = 0;
        digby_tuple_item it;
        char name[DIGBY__RT_NAME_CAP];
        int r;
        rc = digby_cursor_get(c, &k, &kl, NULL, NULL, NULL);
        if (rc) break;
        if (digby_tuple_unpack(k, kl, &it, 1, &count, NULL, 0, NULL, NULL) != DIGBY_OK ||
            count != 1 || it.type != DIGBY_TUPLE_STRING ||
            !digby__rt_name_ok((const char *)it.v.s.ptr, it.v.s.len)) {
            rc = DIGBY__CORRUPT(txn->db, 0);
            break;
        }
        memcpy(name, it.v.s.ptr, it.v.s.len);
        name[it.v.s.len] = 0;
        r = fn(ctx, name);
        if (r) {
            digby_cursor_close(c);
            return r;
        }
    }
    digby_cursor_close(c);
    return rc == DIGBY_NOTFOUND ? DIGBY_OK : rc;
}

/* The checks every call on a handle starts with. */
static int digby__rt_usable(digby_rtable *rt)
{
    rt->msg[0] = 0;
    rt->have_constraint = 0;
    if (rt->dropped) return DIGBY_BADTXN;
    if (rt->txn->poisoned) return DIGBY_POISONED;
    return DIGBY_OK;
}

static int digby__rt_writable(digby_rtable *rt)
{
    int rc = digby__rt_usable(rt);
    if (rc == DIGBY_OK && rt->txn->rdonly) rc = DIGBY_READONLY;
    return rc;
}

DIGBY_API int digby_rtable_schema(digby_rtable *rt, const digby_schema **out)
{
    if (!rt || !out) return DIGBY_INVALID;
    *out = NULL;
    rt->msg[0] = 0;
    rt->have_constraint = 0;
    if (rt->dropped) return DIGBY_BADTXN;
    *out = &rt->s->view;
    return DIGBY_OK;
}

DIGBY_API int digby_rtable_count(digby_rtable *rt, uint64_t *rows)
{
    if (!rt || !rows) return DIGBY_INVALID;
    rt->msg[0] = 0;
    rt->have_constraint = 0;
    if (rt->dropped) return DIGBY_BADTXN;
    return digby_table_count(rt->txn, rt->rows, rows);
}

DIGBY_API const char *digby_rtable_message(const digby_rtable *rt)
{
    return rt ? rt->msg : "";
}

/* Install a changed schema on the handle: store it, then swap. */
static int digby__rt_install(digby_rtable *rt, digby__rschema *s)
{
    int rc = digby__rt_schema_store(rt->txn, rt->name, s);
    if (rc) {
        rt->txn->poisoned = 1;
        digby__rschema_free(&rt->txn->db->alloc, s);
        return rc;
    }
    digby__rschema_free(&rt->txn->db->alloc, rt->s);
    rt->s = s;
    rt->gen++;
    rc = digby__rt_scratch(rt);
    if (rc) rt->txn->poisoned = 1;
    return rc;
}

DIGBY_API int digby_rtable_add_column(digby_rtable *rt, const digby_column *col)
{
    const digby_allocator *a;
    digby__rschema *s;
    digby__rcol *c;
    size_t n;
    int rc;
    if (!rt || !col) return DIGBY_INVALID;
    if ((rc = digby__rt_writable(rt)) != DIGBY_OK) return rc;
    a = &rt->txn->db->alloc;
    if (!(n = digby__rt_cname(col->name)))
        return digby__rt_msg(rt->msg, DIGBY_INVALID, "bad column name", NULL, NULL);
    if (col->flags & DIGBY_COLUMN_NOT_NULL)
        return digby__rt_msg(rt->msg, DIGBY_INVALID,
                             "column %s: an added column must be nullable", col->name, NULL);
    if (rt->s->ncols >= DIGBY_RECORD_MAX_COLUMNS)
        return digby__rt_msg(rt->msg, DIGBY_INVALID, "a table has 1 to 256 columns", NULL,
                             NULL);
    rc = digby__rschema_copy(a, rt->s, &s);
    if (rc) return rc;
    c = &s->cols[s->ncols++];
    memcpy(c->name, col->name, n + 1);
    c->type = col->type;
    c->flags = col->flags;
    rc = digby__rschema_finish(a, s, rt->msg);
    if (rc) { digby__rschema_free(a, s); return rc; }
    return digby__rt_install(rt, s);
}

static int digby__rt_build_index(digby_rtable *rt, digby__rschema *s, uint32_t ix);

DIGBY_API int digby_rtable_add_index(digby_rtable *rt, const digby_index *idx)
{
    const digby_allocator *a;
    digby__rschema *s;
    char tname[2 * DIGBY__RT_NAME_CAP + 1];
    uint32_t cols[DIGBY_RECORD_MAX_COLUMNS], nc = 0, ix;
    size_t n;
    int rc;
    if (!rt || !idx) return DIGBY_INVALID;
    if ((rc = digby__rt_writable(rt)) != DIGBY_OK) return rc;
    a = &rt->txn->db->alloc;
    if (!(n = digby__rt_cname(idx->name)))
        return digby__rt_msg(rt->msg, DIGBY_INVALID, "bad index name", NULL, NULL);
    rc = digby__rt_parse_cols(rt->s, idx->columns, cols, rt->s->ncols, &nc, rt->msg, idx->name);
    if (rc) return rc;
    rc = digby__rschema_copy(a, rt->s, &s);
    if (rc) return rc;
    ix = s->nidx++;
    rc = digby__rt_idx_set(a, s, ix, idx->name, n, idx->flags, cols, nc);
    if (rc == DIGBY_OK) rc = digby__rschema_finish(a, s, rt->msg);
    if (rc == DIGBY_OK) {
        digby__rt_idx_table_name(rt->name, idx->name, tname);
        rc = digby__rt_table_free(rt->txn, tname);
    }
    if (rc) { digby__rschema_free(a, s); return rc; }
    rc = digby_table_open(rt->txn, tname, DIGBY_TABLE_CREATE, &s->idx[ix].table);
    if (rc == DIGBY_OK) rc = digby__rt_build_index(rt, s, ix);
    if (rc == DIGBY_CONSTRAINT) {
        /* nothing of the index stays; the transaction goes on */
        int rc2 = digby_table_drop(rt->txn, tname);
        digby__rschema_free(a, s);
        if (rc2) { rt->txn->poisoned = 1; return rc2; }
        return rc;
    }
    if (rc) {
        rt->txn->poisoned = 1;
        digby__rschema_free(a, s);
        return rc;
    }
    return digby__rt_install(rt, s);
}

DIGBY_API int digby_rtable_drop_index(digby_rtable *rt, const char *index)
{
    const digby_allocator *a;
    digby__rschema *s;
    char tname[2 * DIGBY__RT_NAME_CAP + 1];
    uint32_t i, k = 0;
    int ix, rc;
    if (!rt || !index) return DIGBY_INVALID;
    if ((rc = digby__rt_writable(rt)) != DIGBY_OK) return rc;
    a = &rt->txn->db->alloc;
    ix = digby__rt_idx_find(rt->s, index);
    if (ix < 0) return digby__rt_msg(rt->msg, DIGBY_NOTFOUND, "no index %s", index, NULL);
    s = digby__rschema_new(a, rt->s->ncols, rt->s->nkey, rt->s->nidx);
    if (!s) return DIGBY_NOMEM;
    s->ncols = rt->s->ncols;
    s->nkey = rt->s->nkey;
    s->row_min = rt->s->row_min;
    memcpy(s->cols, rt->s->cols, s->ncols * sizeof(digby__rcol));
    memcpy(s->key, rt->s->key, s->nkey * sizeof(uint32_t));
    rc = DIGBY_OK;
    for (i = 0; i < rt->s->nidx && rc == DIGBY_OK; i++) {
        const digby__ridx *x = &rt->s->idx[i];
        if ((int)i == ix) continue;
        s->nidx = k + 1;
        rc = digby__rt_idx_set(a, s, k, x->name, strlen(x->name), x->flags, x->entry, x->ncols);
        s->idx[k++].table = x->table;
    }
    if (rc == DIGBY_OK) rc = digby__rschema_finish(a, s, rt->msg);
    if (rc) { digby__rschema_free(a, s); return rc; }
    digby__rt_idx_table_name(rt->name, index, tname);
    rc = digby_table_drop(rt->txn, tname);
    if (rc) {
        if (rc == DIGBY_NOTFOUND) rc = DIGBY__CORRUPT(rt->txn->db, 0);
        rt->txn->poisoned = 1;
        digby__rschema_free(a, s);
        return rc;
    }
    return digby__rt_install(rt, s);
}
