/* record: the record layer (06_record.h), in one program (each program
   of make test compiles digby.h twice, and that is most of its time):
   - the API: schemas stored and compared, rows with their index entries
     (checked byte for byte in the index tables), unique constraints, ADD
     COLUMN, adding and dropping indexes, the planner's choices, scans, bad
     input, and digby_check catching a damaged index; every one of these
     runs digby_check clean before it closes;
   - test_record_model: the randomized model test (tests/record_model.h)
     against a brute-force reference (tests/record_ref.h);
   - test_record_oom: the k-th allocation of a record workload fails, for
     every k: each call returns DIGBY_NOMEM or DIGBY_POISONED, nothing
     leaks, the file checks clean;
   - test_record_crash_sweep: power cut at every write and sync of a
     record workload, and test_record_io_error_sweep: one I/O error at
     every third VFS call of it (tests/record_crash.h).
   The results every public function returns are recorded
   (tests/seen_errors.h) and held to digby.h's Returns: lists. */
#define TEST_NAME "record"
#include "api_common.h"
#include "seen_errors.h" /* the results seen, for doc_errors.py */
#include "record_ref.h"
#include "record_model.h"
#include "record_crash.h"

/* ---- items ---------------------------------------------------------------- */

static digby_tuple_item ti_int(int64_t v)
{
    digby_tuple_item t;
    memset(&t, 0, sizeof(t));
    t.type = DIGBY_TUPLE_INT;
    t.v.i = v;
    return t;
}

static digby_tuple_item ti_str(const char *s)
{
    digby_tuple_item t;
    memset(&t, 0, sizeof(t));
    t.type = DIGBY_TUPLE_STRING;
    t.v.s.ptr = s;
    t.v.s.len = strlen(s);
    return t;
}

static digby_tuple_item ti_null(void)
{
    digby_tuple_item t;
    memset(&t, 0, sizeof(t));
    t.type = DIGBY_TUPLE_NULL;
    return t;
}

static digby_tuple_item ti_dbl(double d)
{
    digby_tuple_item t;
    memset(&t, 0, sizeof(t));
    t.type = DIGBY_TUPLE_DOUBLE;
    t.v.d = d;
    return t;
}

static void expect_item_str(const digby_tuple_item *it, const char *s)
{
    assert_int_equal(it->type, DIGBY_TUPLE_STRING);
    assert_int_equal(it->v.s.len, strlen(s));
    assert_memory_equal(it->v.s.ptr, s, strlen(s));
}

static void expect_item_int(const digby_tuple_item *it, int64_t v)
{
    assert_int_equal(it->type, DIGBY_TUPLE_INT);
    assert_true(it->v.i == v);
}

/* ---- the packages schema (as in make demo) --------------------------------- */

static const digby_column pkg_cols[] = {
    {"name", DIGBY_TUPLE_STRING, DIGBY_COLUMN_NOT_NULL},
    {"version", DIGBY_TUPLE_STRING, 0},
    {"section", DIGBY_TUPLE_STRING, 0},
    {"size", DIGBY_TUPLE_INT, 0},
    {"maintainer", DIGBY_TUPLE_STRING, 0},
};
static const digby_index pkg_idx[] = {
    {"by_section", "section, size", 0},
    {"by_maintainer", "maintainer", 0},
};
static const digby_schema pkg_schema = {pkg_cols, 5, "name", pkg_idx, 2};

/* A users table: a unique index on email, a two-column key. */
static const digby_column user_cols[] = {
    {"org", DIGBY_TUPLE_STRING, 0},
    {"id", DIGBY_TUPLE_INT, 0},
    {"email", DIGBY_TUPLE_STRING, 0},
    {"score", DIGBY_TUPLE_DOUBLE, 0},
};
static const digby_index user_idx[] = {
    {"by_email", "email", DIGBY_INDEX_UNIQUE},
    {"by_score", " score ,org ", 0},
};
static const digby_schema user_schema = {user_cols, 4, "org, id", user_idx, 2};

static void pkg_row(digby_tuple_item *r, const char *name, const char *ver, const char *sec,
                    int64_t size, const char *maint)
{
    r[0] = ti_str(name);
    r[1] = ver ? ti_str(ver) : ti_null();
    r[2] = sec ? ti_str(sec) : ti_null();
    r[3] = size >= 0 ? ti_int(size) : ti_null();
    r[4] = maint ? ti_str(maint) : ti_null();
}

static void user_row(digby_tuple_item *r, const char *org, int64_t id, const char *email,
                     double score)
{
    r[0] = ti_str(org);
    r[1] = ti_int(id);
    r[2] = email ? ti_str(email) : ti_null();
    r[3] = ti_dbl(score);
}

static uint64_t table_entries(digby_txn *txn, const char *name)
{
    digby_table *t;
    uint64_t n = 0;
    ASSERT_OK(digby_table_open(txn, name, 0, &t));
    ASSERT_OK(digby_table_count(txn, t, &n));
    return n;
}

/* Every entry of table `name` is a valid tuple; returns how many. */
static uint64_t all_tuples(digby_txn *txn, const char *name)
{
    digby_table *t;
    digby_cursor *c;
    uint64_t n = 0;
    int rc;
    ASSERT_OK(digby_table_open(txn, name, 0, &t));
    ASSERT_OK(digby_cursor_open(txn, t, &c));
    for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
        const void *k, *v;
        size_t kn, vn, count;
        ASSERT_OK(digby_cursor_get(c, &k, &kn, &v, &vn, NULL));
        ASSERT_RC2(digby_tuple_unpack(k, kn, NULL, 0, &count, NULL, 0, NULL, NULL), DIGBY_OK,
                   DIGBY_TOOBIG);
        ASSERT_RC2(digby_tuple_unpack(v, vn, NULL, 0, &count, NULL, 0, NULL, NULL), DIGBY_OK,
                   DIGBY_TOOBIG);
        n++;
    }
    ASSERT_RC(rc, DIGBY_NOTFOUND);
    digby_cursor_close(c);
    return n;
}

static size_t pack(const digby_tuple_item *it, size_t n, uint8_t *buf, size_t cap)
{
    size_t len = 0;
    ASSERT_OK(digby_tuple_pack(it, n, buf, cap, &len));
    return len;
}

/* Table `name` holds key -> val (both given as tuples). */
static void expect_entry(digby_txn *txn, const char *name, const digby_tuple_item *k, size_t kn,
                         const digby_tuple_item *v, size_t vn)
{
    uint8_t kb[512], vb[512];
    size_t kl = pack(k, kn, kb, sizeof(kb)), vl = pack(v, vn, vb, sizeof(vb)), got;
    const void *val;
    digby_table *t;
    ASSERT_OK(digby_table_open(txn, name, 0, &t));
    ASSERT_OK(digby_txn_get(txn, t, kb, kl, &val, &got, NULL));
    assert_int_equal(got, vl);
    if (vl) assert_memory_equal(val, vb, vl);
}

static void expect_no_entry(digby_txn *txn, const char *name, const digby_tuple_item *k,
                            size_t kn)
{
    uint8_t kb[512];
    size_t kl = pack(k, kn, kb, sizeof(kb)), got;
    const void *val;
    digby_table *t;
    ASSERT_OK(digby_table_open(txn, name, 0, &t));
    ASSERT_RC(digby_txn_get(txn, t, kb, kl, &val, &got, NULL), DIGBY_NOTFOUND);
}

/* ---- schemas ------------------------------------------------------------- */

static int list_names(void *ctx, const char *name)
{
    char *acc = (char *)ctx;
    strcat(acc, name);
    strcat(acc, ";");
    return 0;
}

static void test_schema_stored(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w, *r;
    digby_rtable *rt, *rt2, *ut;
    const digby_schema *s;
    digby_tuple_item row[5], key[1];
    const digby_tuple_item *got;
    size_t n;
    uint64_t rows;
    char names[256];
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_rtable_open(w, "packages", &pkg_schema, DIGBY_RTABLE_CREATE, &rt));
    ASSERT_OK(digby_rtable_open(w, "packages", NULL, 0, &rt2));
    assert_ptr_equal(rt, rt2); /* one handle per table and transaction */
    ASSERT_OK(digby_rtable_open(w, "users", &user_schema, DIGBY_RTABLE_CREATE, &ut));
    pkg_row(row, "bash", "5.2", "shells", 7000, "Matthias");
    ASSERT_OK(digby_rtable_insert(rt, row, 5));
    pkg_row(row, "dash", "0.5", "shells", 200, NULL);
    ASSERT_OK(digby_rtable_insert(rt, row, 5));
    ASSERT_OK(digby_txn_commit(w));
    reopen(f);
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_rtable_open(r, "packages", NULL, 0, &rt));
    ASSERT_OK(digby_rtable_schema(rt, &s));
    assert_int_equal(s->ncolumns, 5);
    assert_string_equal(s->columns[0].name, "name");
    assert_int_equal(s->columns[0].type, DIGBY_TUPLE_STRING);
    assert_int_equal(s->columns[0].flags, DIGBY_COLUMN_NOT_NULL);
    assert_string_equal(s->columns[3].name, "size");
    assert_int_equal(s->columns[3].type, DIGBY_TUPLE_INT);
    assert_int_equal(s->columns[3].flags, 0);
    assert_string_equal(s->primary_key, "name");
    assert_int_equal(s->nindexes, 2);
    assert_string_equal(s->indexes[0].name, "by_section");
    assert_string_equal(s->indexes[0].columns, "section, size");
    assert_string_equal(s->indexes[1].columns, "maintainer");
    /* the schema given back opens the table (it is the same schema) */
    ASSERT_OK(digby_rtable_open(r, "packages", s, 0, &rt2));
    ASSERT_OK(digby_rtable_open(r, "users", &user_schema, 0, &ut));
    ASSERT_OK(digby_rtable_schema(ut, &s));
    assert_string_equal(s->primary_key, "org, id");
    assert_string_equal(s->indexes[1].columns, "score, org"); /* spaces dropped */
    /* key columns are NOT NULL whatever was declared */
    assert_int_equal(s->columns[0].flags, DIGBY_COLUMN_NOT_NULL);
    assert_int_equal(s->columns[2].flags, 0);
    ASSERT_OK(digby_rtable_count(rt, &rows));
    assert_int_equal(rows, 2);
    key[0] = ti_str("dash");
    ASSERT_OK(digby_rtable_get(rt, key, 1, &got, &n));
    assert_int_equal(n, 5);
    expect_item_str(&got[0], "dash");
    expect_item_str(&got[2], "shells");
    expect_item_int(&got[3], 200);
    assert_int_equal(got[4].type, DIGBY_TUPLE_NULL);
    names[0] = 0;
    ASSERT_OK(digby_rtable_list(r, list_names, names));
    assert_string_equal(names, "packages;users;");
    /* the digby tables behind them, all of tuples */
    assert_int_equal(all_tuples(r, "packages"), 2);
    assert_int_equal(all_tuples(r, "packages.by_section"), 2);
    assert_int_equal(all_tuples(r, "packages.by_maintainer"), 2);
    assert_int_equal(all_tuples(r, "digby:schema"), 2);
    assert_int_equal(all_tuples(r, "users.by_email"), 0);
    digby_txn_abort(r);
}

/* The stored schema's bytes: FORMAT.md section 13. */
static void test_schema_format(void **state)
{
    fixture *f = (fixture *)*state;
    static const digby_column cols[] = {
        {"k", DIGBY_TUPLE_INT, 0}, {"a", DIGBY_TUPLE_STRING, DIGBY_COLUMN_NOT_NULL},
        {"b", DIGBY_TUPLE_BYTES, 0}};
    static const digby_index idx[] = {{"ab", "a, b", DIGBY_INDEX_UNIQUE}};
    static const digby_schema sch = {cols, 3, "k", idx, 1};
    digby_txn *w;
    digby_rtable *rt;
    digby_tuple_item name, c0[3], c1[3], c2[3], col[3], key[1], ix[3], ixc[2], ixs[1], top[5];
    uint8_t want[256], bad[256];
    size_t wl, bl;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_rtable_open(w, "t", &sch, DIGBY_RTABLE_CREATE, &rt));
    name = ti_str("t");
    c0[0] = ti_str("k"); c0[1] = ti_int(DIGBY_TUPLE_INT); c0[2] = ti_int(1); /* key: NOT NULL */
    c1[0] = ti_str("a"); c1[1] = ti_int(DIGBY_TUPLE_STRING); c1[2] = ti_int(1);
    c2[0] = ti_str("b"); c2[1] = ti_int(DIGBY_TUPLE_BYTES); c2[2] = ti_int(0);
    memset(col, 0, sizeof(col));
    col[0].type = col[1].type = col[2].type = DIGBY_TUPLE_NESTED;
    col[0].v.nested.items = c0; col[0].v.nested.count = 3;
    col[1].v.nested.items = c1; col[1].v.nested.count = 3;
    col[2].v.nested.items = c2; col[2].v.nested.count = 3;
    key[0] = ti_int(0);
    ixc[0] = ti_int(1);
    ixc[1] = ti_int(2);
    ix[0] = ti_str("ab");
    ix[1] = ti_int(DIGBY_INDEX_UNIQUE);
    memset(&ix[2], 0, sizeof(ix[2]));
    ix[2].type = DIGBY_TUPLE_NESTED;
    ix[2].v.nested.items = ixc;
    ix[2].v.nested.count = 2;
    memset(ixs, 0, sizeof(ixs));
    ixs[0].type = DIGBY_TUPLE_NESTED;
    ixs[0].v.nested.items = ix;
    ixs[0].v.nested.count = 3;
    memset(top, 0, sizeof(top));
    top[0] = ti_int(1);
    top[1].type = top[2].type = top[3].type = DIGBY_TUPLE_NESTED;
    top[1].v.nested.items = col; top[1].v.nested.count = 3;
    top[2].v.nested.items = key; top[2].v.nested.count = 1;
    top[3].v.nested.items = ixs; top[3].v.nested.count = 1;
    top[4] = ti_int(2); /* row_min: the two value columns */
    expect_entry(w, "digby:schema", &name, 1, top, 5);
    ASSERT_OK(digby_txn_commit(w));
    /* a version this build does not read, then garbage */
    {
        digby_table *cat;
        uint8_t kb[16];
        size_t kl = pack(&name, 1, kb, sizeof(kb));
        top[0] = ti_int(2);
        wl = pack(top, 5, want, sizeof(want));
        memcpy(bad, "\x14\x01\xff", 3);
        bl = 3;
        ASSERT_OK(digby_txn_begin(f->db, 0, &w));
        ASSERT_OK(digby_table_open(w, "digby:schema", 0, &cat));
        ASSERT_OK(digby_txn_put(w, cat, kb, kl, want, wl, 0));
        ASSERT_RC(digby_rtable_open(w, "t", NULL, 0, &rt), DIGBY_VERSION);
        ASSERT_RC(digby_rtable_open(w, "t", &sch, 0, &rt), DIGBY_VERSION);
        ASSERT_OK(digby_txn_put(w, cat, kb, kl, bad, bl, 0));
        ASSERT_RC(digby_rtable_open(w, "t", NULL, 0, &rt), DIGBY_CORRUPT);
        top[0] = ti_int(1);
        top[4] = ti_int(3); /* row_min past the value columns */
        wl = pack(top, 5, want, sizeof(want));
        ASSERT_OK(digby_txn_put(w, cat, kb, kl, want, wl, 0));
        ASSERT_RC(digby_rtable_open(w, "t", NULL, 0, &rt), DIGBY_CORRUPT);
        digby_txn_abort(w);
    }
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &w));
    ASSERT_OK(digby_rtable_open(w, "t", &sch, 0, &rt));
    digby_txn_abort(w);
}

static void test_schema_mismatch(void **state)
{
    fixture *f = (fixture *)*state;
    digby_column cols[5];
    digby_index idx[3];
    digby_schema s;
    digby_txn *w;
    digby_rtable *rt;
    char msg[200];
    int k;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_rtable_open(w, "packages", &pkg_schema, DIGBY_RTABLE_CREATE, &rt));
    ASSERT_OK(digby_txn_commit(w));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    /* each change, one at a time, is DIGBY_SCHEMA */
    for (k = 0; k < 11; k++) {
        memcpy(cols, pkg_cols, sizeof(pkg_cols));
        memcpy(idx, pkg_idx, sizeof(pkg_idx));
        s = pkg_schema;
        s.columns = cols;
        s.indexes = idx;
        switch (k) {
        case 0: cols[3].type = DIGBY_TUPLE_DOUBLE; break;
        case 1: cols[1].flags = DIGBY_COLUMN_NOT_NULL; break;
        case 2: cols[4].name = "maint"; idx[1].columns = "maint"; break;
        case 3: cols[1] = pkg_cols[2]; cols[2] = pkg_cols[1]; break; /* order */
        case 4: s.primary_key = "name, version"; break;
        case 5: idx[0].name = "by_sec"; break;
        case 6: idx[0].columns = "section"; break;
        case 7: idx[1].flags = DIGBY_INDEX_UNIQUE; break;
        case 8: s.nindexes = 1; break;
        case 9: idx[2].name = "x"; idx[2].columns = "version"; idx[2].flags = 0; s.nindexes = 3;
            break;
        case 10: idx[0] = pkg_idx[1]; idx[1] = pkg_idx[0]; break; /* index order */
        }
        ASSERT_OK(digby_schema_check(&s, msg, sizeof(msg)));
        assert_string_equal(msg, "");
        ASSERT_RC(digby_rtable_open(w, "packages", &s, 0, &rt), DIGBY_SCHEMA);
        ASSERT_RC(digby_rtable_open(w, "packages", &s, DIGBY_RTABLE_CREATE, &rt), DIGBY_SCHEMA);
    }
    /* also against a handle already open in the transaction */
    ASSERT_OK(digby_rtable_open(w, "packages", &pkg_schema, 0, &rt));
    s = pkg_schema;
    s.nindexes = 1;
    ASSERT_RC(digby_rtable_open(w, "packages", &s, 0, &rt), DIGBY_SCHEMA);
    /* key columns' NOT NULL flag is implied: declaring it is the same schema */
    memcpy(cols, pkg_cols, sizeof(pkg_cols));
    cols[0].flags = 0;
    s = pkg_schema;
    s.columns = cols;
    ASSERT_OK(digby_rtable_open(w, "packages", &s, 0, &rt));
    ASSERT_OK(digby_txn_commit(w));
}

static void test_schema_invalid(void **state)
{
    fixture *f = (fixture *)*state;
    digby_column cols[5];
    digby_index idx[3];
    digby_schema s;
    digby_txn *w, *r;
    digby_rtable *rt;
    digby_table *t;
    char msg[200];
    int k;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    for (k = 0; k < 21; k++) {
        memcpy(cols, pkg_cols, sizeof(pkg_cols));
        memcpy(idx, pkg_idx, sizeof(pkg_idx));
        s = pkg_schema;
        s.columns = cols;
        s.indexes = idx;
        switch (k) {
        case 0: s.ncolumns = 0; break;
        case 1: s.columns = NULL; break;
        case 2: cols[1].name = "bad name"; break;
        case 3: cols[1].name = "9lives"; break;
        case 4: cols[1].name = ""; break;
        case 5: cols[1].name = NULL; break;
        case 6: cols[1].name = "name"; break; /* repeated */
        case 7: cols[1].type = DIGBY_TUPLE_NULL; break;
        case 8: cols[1].type = DIGBY_TUPLE_NESTED; break;
        case 9: cols[1].flags = 0x8; break;
        case 10: s.primary_key = NULL; break;
        case 11: s.primary_key = ""; break;
        case 12: s.primary_key = "nope"; break;
        case 13: s.primary_key = "name, name"; break;
        case 14: s.primary_key = "name,,version"; break;
        case 15: idx[0].name = "primary"; break;
        case 16: idx[1].name = "by_section"; break;
        case 17: idx[0].columns = "section, bogus"; break;
        case 18: idx[0].flags = 0x10; break;
        case 19: s.indexes = NULL; break;
        case 20: cols[1].name = "a_name_that_is_much_longer_than_sixty_four_bytes_which_is_the_limit"; break;
        }
        msg[0] = 'x';
        ASSERT_RC(digby_schema_check(&s, msg, sizeof(msg)), DIGBY_INVALID);
        assert_true(strlen(msg) > 0);
        ASSERT_RC(digby_rtable_open(w, "packages", &s, DIGBY_RTABLE_CREATE, &rt), DIGBY_INVALID);
        assert_null(rt);
    }
    ASSERT_RC(digby_schema_check(NULL, NULL, 0), DIGBY_INVALID);
    ASSERT_RC(digby_schema_check(&pkg_schema, NULL, 5), DIGBY_INVALID);
    ASSERT_OK(digby_schema_check(&pkg_schema, NULL, 0));
    ASSERT_RC(digby_schema_check(&s, msg, 4), DIGBY_INVALID); /* cut to 3 bytes */
    assert_int_equal(strlen(msg), 3);
    /* bad names and flags of the table itself */
    ASSERT_RC(digby_rtable_open(w, "a.b", &pkg_schema, DIGBY_RTABLE_CREATE, &rt), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_open(w, "digby:schema", NULL, 0, &rt), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_open(w, "p", &pkg_schema, 0x80, &rt), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_open(w, "p", NULL, DIGBY_RTABLE_CREATE, &rt), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_open(w, "p", NULL, 0, &rt), DIGBY_NOTFOUND);
    ASSERT_RC(digby_rtable_open(w, "p", &pkg_schema, 0, &rt), DIGBY_NOTFOUND);
    ASSERT_RC(digby_rtable_open(NULL, "p", &pkg_schema, 0, &rt), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_open(w, "p", &pkg_schema, 0, NULL), DIGBY_INVALID);
    /* a plain table in the way, or an index table's name */
    ASSERT_OK(digby_table_open(w, "p", DIGBY_TABLE_CREATE, &t));
    ASSERT_RC(digby_rtable_open(w, "p", &pkg_schema, DIGBY_RTABLE_CREATE, &rt), DIGBY_EXISTS);
    ASSERT_OK(digby_table_open(w, "q.by_maintainer", DIGBY_TABLE_CREATE, &t));
    ASSERT_RC(digby_rtable_open(w, "q", &pkg_schema, DIGBY_RTABLE_CREATE, &rt), DIGBY_EXISTS);
    ASSERT_RC(digby_table_open(w, "q", 0, &t), DIGBY_NOTFOUND); /* nothing made */
    ASSERT_OK(digby_txn_commit(w));
    /* creating in a read-only transaction */
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_RC(digby_rtable_open(r, "z", &pkg_schema, DIGBY_RTABLE_CREATE, &rt), DIGBY_READONLY);
    ASSERT_RC(digby_rtable_drop(r, "z"), DIGBY_READONLY);
    digby_txn_abort(r);
}

/* ---- rows ------------------------------------------------------------------ */

/* The entries packages' indexes must hold for a row. */
static void expect_pkg_entries(digby_txn *txn, const digby_tuple_item *row, int present)
{
    digby_tuple_item k[3];
    k[0] = row[2];
    k[1] = row[3];
    k[2] = row[0];
    if (present) expect_entry(txn, "packages.by_section", k, 3, NULL, 0);
    else expect_no_entry(txn, "packages.by_section", k, 3);
    k[0] = row[4];
    k[1] = row[0];
    if (present) expect_entry(txn, "packages.by_maintainer", k, 2, NULL, 0);
    else expect_no_entry(txn, "packages.by_maintainer", k, 2);
}

static void test_rows_and_entries(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w;
    digby_rtable *rt;
    digby_tuple_item a[5], b[5], c[5], key[1], v[4];
    const digby_tuple_item *got;
    size_t n;
    uint64_t rows;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_rtable_open(w, "packages", &pkg_schema, DIGBY_RTABLE_CREATE, &rt));
    pkg_row(a, "bash", "5.2", "shells", 7000, "Matthias");
    pkg_row(b, "dash", "0.5", "shells", 200, NULL);
    pkg_row(c, "zsh", "5.9", NULL, -1, "Axel");
    ASSERT_OK(digby_rtable_insert(rt, a, 5));
    ASSERT_OK(digby_rtable_insert(rt, b, 5));
    ASSERT_OK(digby_rtable_insert(rt, c, 5));
    /* the rows table: key tuple(name) -> tuple(other columns) */
    v[0] = a[1]; v[1] = a[2]; v[2] = a[3]; v[3] = a[4];
    expect_entry(w, "packages", &a[0], 1, v, 4);
    v[0] = c[1]; v[1] = c[2]; v[2] = c[3]; v[3] = c[4];
    expect_entry(w, "packages", &c[0], 1, v, 4);
    expect_pkg_entries(w, a, 1);
    expect_pkg_entries(w, b, 1);
    expect_pkg_entries(w, c, 1);
    ASSERT_OK(digby_txn_commit(w));
    check_thorough(f->db);

    /* an abort leaves rows and indexes as they were */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_rtable_open(w, "packages", &pkg_schema, 0, &rt));
    key[0] = ti_str("bash");
    ASSERT_OK(digby_rtable_delete(rt, key, 1));
    expect_pkg_entries(w, a, 0);
    digby_txn_abort(w);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_rtable_open(w, "packages", &pkg_schema, 0, &rt));
    expect_pkg_entries(w, a, 1);
    /* update of an indexed column: the old entry goes, the new one comes */
    pkg_row(a, "bash", "5.2", "shells", 7100, "Matthias");
    key[0] = ti_str("bash");
    ASSERT_OK(digby_rtable_update(rt, key, 1, a, 5));
    expect_pkg_entries(w, a, 1);
    {
        digby_tuple_item k[3];
        k[0] = ti_str("shells");
        k[1] = ti_int(7000);
        k[2] = ti_str("bash");
        expect_no_entry(w, "packages.by_section", k, 3);
    }
    /* update of the primary key: the row moves */
    pkg_row(c, "bash5", "5.2", "utils", 7100, "Matthias");
    ASSERT_OK(digby_rtable_update(rt, key, 1, c, 5));
    ASSERT_RC(digby_rtable_get(rt, key, 1, &got, &n), DIGBY_NOTFOUND);
    expect_pkg_entries(w, a, 0);
    expect_pkg_entries(w, c, 1);
    key[0] = ti_str("bash5");
    ASSERT_OK(digby_rtable_get(rt, key, 1, &got, &n));
    expect_item_str(&got[2], "utils");
    /* moving onto an existing key */
    pkg_row(c, "dash", "5.2", "utils", 7100, "Matthias");
    ASSERT_RC(digby_rtable_update(rt, key, 1, c, 5), DIGBY_EXISTS);
    /* upsert: replace, then insert */
    pkg_row(c, "dash", "0.6", "shells", 210, "Herbert");
    ASSERT_OK(digby_rtable_upsert(rt, c, 5));
    expect_pkg_entries(w, b, 0);
    expect_pkg_entries(w, c, 1);
    pkg_row(c, "fish", "3.6", "shells", 9000, NULL);
    ASSERT_OK(digby_rtable_upsert(rt, c, 5));
    expect_pkg_entries(w, c, 1);
    ASSERT_OK(digby_rtable_count(rt, &rows));
    assert_int_equal(rows, 4);
    /* the same row again: nothing changes */
    ASSERT_OK(digby_rtable_upsert(rt, c, 5));
    ASSERT_OK(digby_rtable_count(rt, &rows));
    assert_int_equal(rows, 4);
    assert_int_equal(table_entries(w, "packages.by_section"), 4);
    /* delete */
    key[0] = ti_str("fish");
    ASSERT_OK(digby_rtable_delete(rt, key, 1));
    expect_pkg_entries(w, c, 0);
    ASSERT_RC(digby_rtable_delete(rt, key, 1), DIGBY_NOTFOUND);
    ASSERT_RC(digby_rtable_update(rt, key, 1, c, 5), DIGBY_NOTFOUND);
    assert_int_equal(table_entries(w, "packages.by_section"), 3);
    assert_int_equal(table_entries(w, "packages.by_maintainer"), 3);
    ASSERT_OK(digby_txn_commit(w));
}

static void test_row_errors(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w;
    digby_rtable *rt;
    digby_tuple_item a[6], key[2];
    const digby_tuple_item *got;
    size_t n;
    uint64_t rows;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_rtable_open(w, "packages", &pkg_schema, DIGBY_RTABLE_CREATE, &rt));
    pkg_row(a, "bash", "5.2", "shells", 7000, "Matthias");
    ASSERT_OK(digby_rtable_insert(rt, a, 5));
    assert_string_equal(digby_rtable_message(rt), "");
    ASSERT_RC(digby_rtable_insert(rt, a, 5), DIGBY_EXISTS);
    /* too few, too many */
    pkg_row(a, "vim", "9", "editors", 3000, NULL);
    ASSERT_RC(digby_rtable_insert(rt, a, 4), DIGBY_INVALID);
    assert_non_null(strstr(digby_rtable_message(rt), "items for"));
    a[5] = ti_int(1);
    ASSERT_RC(digby_rtable_insert(rt, a, 6), DIGBY_INVALID);
    /* wrong types */
    a[3] = ti_str("3000");
    ASSERT_RC(digby_rtable_insert(rt, a, 5), DIGBY_INVALID);
    assert_non_null(strstr(digby_rtable_message(rt), "size"));
    a[3] = ti_dbl(3.0);
    ASSERT_RC(digby_rtable_upsert(rt, a, 5), DIGBY_INVALID);
    a[3].type = DIGBY_TUPLE_UINT; /* an INT column takes UINT */
    a[3].v.u = 18000000000000000000ull;
    a[0] = ti_int(5);
    ASSERT_RC(digby_rtable_insert(rt, a, 5), DIGBY_INVALID);
    /* NULL in NOT NULL, and in the key */
    a[0] = ti_null();
    ASSERT_RC(digby_rtable_insert(rt, a, 5), DIGBY_INVALID);
    assert_non_null(strstr(digby_rtable_message(rt), "NOT NULL"));
    /* malformed UTF-8, a bool of 2 */
    a[0] = ti_str("vim");
    a[1].type = DIGBY_TUPLE_STRING;
    a[1].v.s.ptr = "\xff\xfe";
    a[1].v.s.len = 2;
    ASSERT_RC(digby_rtable_insert(rt, a, 5), DIGBY_INVALID);
    assert_non_null(strstr(digby_rtable_message(rt), "version"));
    a[1] = ti_str("9");
    a[1].v.s.ptr = NULL; /* NULL pointer with a length */
    ASSERT_RC(digby_rtable_insert(rt, a, 5), DIGBY_INVALID);
    a[1] = ti_str("9");
    ASSERT_OK(digby_rtable_insert(rt, a, 5)); /* UINT in the size column */
    /* keys: wrong count or type */
    key[0] = ti_int(1);
    ASSERT_RC(digby_rtable_get(rt, key, 1, &got, &n), DIGBY_INVALID);
    key[0] = ti_str("vim");
    key[1] = ti_str("x");
    ASSERT_RC(digby_rtable_get(rt, key, 2, &got, &n), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_delete(rt, key, 0), DIGBY_INVALID);
    key[0] = ti_null();
    ASSERT_RC(digby_rtable_delete(rt, key, 1), DIGBY_INVALID);
    key[0] = ti_str("vim");
    ASSERT_OK(digby_rtable_get(rt, key, 1, &got, &n));
    assert_int_equal(got[3].type, DIGBY_TUPLE_UINT);
    assert_true(got[3].v.u == 18000000000000000000ull);
    /* NULL arguments */
    ASSERT_RC(digby_rtable_insert(NULL, a, 5), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_insert(rt, NULL, 5), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_upsert(rt, NULL, 5), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_update(rt, NULL, 1, a, 5), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_update(rt, key, 1, NULL, 5), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_delete(rt, NULL, 1), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_get(rt, key, 1, NULL, &n), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_get(rt, key, 1, &got, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_get(NULL, key, 1, &got, &n), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_count(rt, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_schema(rt, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_constraint(rt, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_add_column(rt, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_add_index(rt, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_drop_index(rt, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_list(w, NULL, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_drop(w, NULL), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_drop(NULL, "x"), DIGBY_INVALID);
    assert_string_equal(digby_rtable_message(NULL), "");
    /* nothing the refused calls tried was written; the transaction goes on */
    ASSERT_OK(digby_rtable_count(rt, &rows));
    assert_int_equal(rows, 2);
    assert_int_equal(table_entries(w, "packages.by_section"), 2);
    ASSERT_OK(digby_txn_commit(w));
    /* writes in a read-only transaction */
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &w));
    ASSERT_OK(digby_rtable_open(w, "packages", NULL, 0, &rt));
    pkg_row(a, "nano", "7", "editors", 900, NULL);
    ASSERT_RC(digby_rtable_insert(rt, a, 5), DIGBY_READONLY);
    ASSERT_RC(digby_rtable_add_column(rt, &pkg_cols[1]), DIGBY_READONLY);
    digby_txn_abort(w);
}

static void test_unique(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w;
    digby_rtable *rt;
    digby_tuple_item a[4], key[2];
    digby_constraint con;
    uint64_t rows;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_rtable_open(w, "users", &user_schema, DIGBY_RTABLE_CREATE, &rt));
    user_row(a, "acme", 1, "ann@acme", 3.5);
    ASSERT_OK(digby_rtable_insert(rt, a, 4));
    /* unique entry: tuple(email) -> tuple(org, id) */
    key[0] = ti_str("acme");
    key[1] = ti_int(1);
    expect_entry(w, "users.by_email", &a[2], 1, key, 2);
    ASSERT_RC(digby_rtable_constraint(rt, &con), DIGBY_NOTFOUND);
    user_row(a, "acme", 2, "ann@acme", 1.0);
    ASSERT_RC(digby_rtable_insert(rt, a, 4), DIGBY_CONSTRAINT);
    ASSERT_OK(digby_rtable_constraint(rt, &con));
    assert_string_equal(con.index, "by_email");
    assert_int_equal(con.nkey, 2);
    expect_item_str(&con.key[0], "acme");
    expect_item_int(&con.key[1], 1);
    assert_true(con.packed_key_bytes > 0);
    assert_non_null(strstr(digby_rtable_message(rt), "by_email"));
    /* nothing written, the transaction usable; the next call clears it */
    ASSERT_OK(digby_rtable_count(rt, &rows));
    assert_int_equal(rows, 1);
    assert_int_equal(table_entries(w, "users.by_score"), 1);
    ASSERT_RC(digby_rtable_constraint(rt, &con), DIGBY_NOTFOUND);
    ASSERT_RC(digby_rtable_upsert(rt, a, 4), DIGBY_CONSTRAINT);
    /* several NULLs are allowed in a unique index (stored with the key) */
    user_row(a, "acme", 2, NULL, 1.0);
    ASSERT_OK(digby_rtable_insert(rt, a, 4));
    user_row(a, "acme", 3, NULL, 2.0);
    ASSERT_OK(digby_rtable_insert(rt, a, 4));
    {
        digby_tuple_item k[3];
        k[0] = ti_null();
        k[1] = ti_str("acme");
        k[2] = ti_int(3);
        expect_entry(w, "users.by_email", k, 3, NULL, 0);
    }
    /* update onto a taken email; keeping one's own; moving the key with it */
    user_row(a, "acme", 3, "ann@acme", 2.0);
    key[0] = ti_str("acme");
    key[1] = ti_int(3);
    ASSERT_RC(digby_rtable_update(rt, key, 2, a, 4), DIGBY_CONSTRAINT);
    user_row(a, "acme", 1, "ann@acme", 9.0);
    key[1] = ti_int(1);
    ASSERT_OK(digby_rtable_update(rt, key, 2, a, 4));
    user_row(a, "beta", 7, "ann@acme", 9.0);
    ASSERT_OK(digby_rtable_update(rt, key, 2, a, 4));
    key[0] = ti_str("beta");
    key[1] = ti_int(7);
    expect_entry(w, "users.by_email", &a[2], 1, key, 2);
    /* a constraint found while adding a unique index leaves no index */
    {
        static const digby_index by_score_u = {"score_u", "score", DIGBY_INDEX_UNIQUE};
        static const digby_index by_org_u = {"org_u", "org", DIGBY_INDEX_UNIQUE};
        const digby_schema *s;
        digby_table *t;
        user_row(a, "beta", 8, "bob@beta", 9.0);
        ASSERT_OK(digby_rtable_insert(rt, a, 4));
        ASSERT_RC(digby_rtable_add_index(rt, &by_score_u), DIGBY_CONSTRAINT);
        ASSERT_OK(digby_rtable_constraint(rt, &con));
        assert_string_equal(con.index, "score_u");
        ASSERT_RC(digby_table_open(w, "users.score_u", 0, &t), DIGBY_NOTFOUND);
        ASSERT_OK(digby_rtable_schema(rt, &s));
        assert_int_equal(s->nindexes, 2);
        ASSERT_RC(digby_rtable_add_index(rt, &by_org_u), DIGBY_CONSTRAINT);
        user_row(a, "gamma", 1, "g@gamma", 0.5);
        ASSERT_OK(digby_rtable_insert(rt, a, 4)); /* still usable */
    }
    ASSERT_OK(digby_txn_commit(w));
}

static void test_add_column(void **state)
{
    fixture *f = (fixture *)*state;
    static const digby_column added = {"arch", DIGBY_TUPLE_STRING, 0};
    static const digby_index by_arch = {"by_arch", "arch, name", 0};
    digby_column cols[6];
    digby_schema s6;
    digby_txn *w;
    digby_rtable *rt;
    digby_tuple_item a[6], key[1];
    const digby_tuple_item *got;
    const digby_schema *s;
    size_t n;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_rtable_open(w, "packages", &pkg_schema, DIGBY_RTABLE_CREATE, &rt));
    pkg_row(a, "bash", "5.2", "shells", 7000, "Matthias");
    ASSERT_OK(digby_rtable_insert(rt, a, 5));
    ASSERT_OK(digby_txn_commit(w));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_rtable_open(w, "packages", &pkg_schema, 0, &rt));
    /* refused: NOT NULL, a taken name, a bad type */
    cols[0] = added;
    cols[0].flags = DIGBY_COLUMN_NOT_NULL;
    ASSERT_RC(digby_rtable_add_column(rt, &cols[0]), DIGBY_INVALID);
    cols[0] = pkg_cols[2];
    cols[0].flags = 0;
    ASSERT_RC(digby_rtable_add_column(rt, &cols[0]), DIGBY_INVALID);
    cols[0] = added;
    cols[0].type = DIGBY_TUPLE_UINT;
    ASSERT_RC(digby_rtable_add_column(rt, &cols[0]), DIGBY_INVALID);
    ASSERT_OK(digby_rtable_add_column(rt, &added));
    ASSERT_OK(digby_rtable_schema(rt, &s));
    assert_int_equal(s->ncolumns, 6);
    /* the old row reads the new column as NULL: its value has 4 items */
    key[0] = ti_str("bash");
    ASSERT_OK(digby_rtable_get(rt, key, 1, &got, &n));
    assert_int_equal(n, 6);
    assert_int_equal(got[5].type, DIGBY_TUPLE_NULL);
    expect_item_str(&got[4], "Matthias");
    pkg_row(a, "dash", "0.5", "shells", 200, NULL);
    ASSERT_RC(digby_rtable_insert(rt, a, 5), DIGBY_INVALID); /* 6 columns now */
    a[5] = ti_str("amd64");
    ASSERT_OK(digby_rtable_insert(rt, a, 6));
    ASSERT_OK(digby_rtable_add_index(rt, &by_arch));
    {
        digby_tuple_item k[2];
        k[0] = ti_null();
        k[1] = ti_str("bash");
        expect_entry(w, "packages.by_arch", k, 2, NULL, 0);
        k[0] = ti_str("amd64");
        k[1] = ti_str("dash");
        expect_entry(w, "packages.by_arch", k, 2, NULL, 0);
    }
    ASSERT_OK(digby_txn_commit(w));
    reopen(f);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    /* the old schema no longer fits; the new one does */
    ASSERT_RC(digby_rtable_open(w, "packages", &pkg_schema, 0, &rt), DIGBY_SCHEMA);
    memcpy(cols, pkg_cols, sizeof(pkg_cols));
    cols[5] = added;
    s6 = pkg_schema;
    s6.columns = cols;
    s6.ncolumns = 6;
    ASSERT_RC(digby_rtable_open(w, "packages", &s6, 0, &rt), DIGBY_SCHEMA); /* by_arch */
    ASSERT_OK(digby_rtable_open(w, "packages", NULL, 0, &rt));
    ASSERT_OK(digby_rtable_drop_index(rt, "by_arch"));
    ASSERT_RC(digby_rtable_drop_index(rt, "by_arch"), DIGBY_NOTFOUND);
    ASSERT_OK(digby_rtable_open(w, "packages", &s6, 0, &rt));
    {
        digby_table *t;
        ASSERT_RC(digby_table_open(w, "packages.by_arch", 0, &t), DIGBY_NOTFOUND);
    }
    /* an update rewrites an old row in full */
    pkg_row(a, "bash", "5.3", "shells", 7000, "Matthias");
    a[5] = ti_str("arm64");
    ASSERT_OK(digby_rtable_update(rt, key, 1, a, 6));
    ASSERT_OK(digby_rtable_get(rt, key, 1, &got, &n));
    expect_item_str(&got[5], "arm64");
    ASSERT_OK(digby_txn_commit(w));
}

static void test_drop(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w;
    digby_rtable *rt, *ut;
    digby_table *t;
    digby_tuple_item a[5];
    uint64_t rows;
    char names[256];
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_rtable_open(w, "packages", &pkg_schema, DIGBY_RTABLE_CREATE, &rt));
    ASSERT_OK(digby_rtable_open(w, "users", &user_schema, DIGBY_RTABLE_CREATE, &ut));
    pkg_row(a, "bash", "5.2", "shells", 7000, "Matthias");
    ASSERT_OK(digby_rtable_insert(rt, a, 5));
    ASSERT_OK(digby_txn_commit(w));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_rtable_open(w, "packages", NULL, 0, &rt));
    ASSERT_OK(digby_rtable_drop(w, "packages"));
    ASSERT_RC(digby_rtable_count(rt, &rows), DIGBY_BADTXN);
    ASSERT_RC(digby_rtable_insert(rt, a, 5), DIGBY_BADTXN);
    ASSERT_RC(digby_rtable_drop(w, "packages"), DIGBY_NOTFOUND);
    ASSERT_RC(digby_table_open(w, "packages", 0, &t), DIGBY_NOTFOUND);
    ASSERT_RC(digby_table_open(w, "packages.by_section", 0, &t), DIGBY_NOTFOUND);
    ASSERT_RC(digby_table_open(w, "packages.by_maintainer", 0, &t), DIGBY_NOTFOUND);
    names[0] = 0;
    ASSERT_OK(digby_rtable_list(w, list_names, names));
    assert_string_equal(names, "users;");
    /* created again, empty, in the same transaction */
    ASSERT_OK(digby_rtable_open(w, "packages", &pkg_schema, DIGBY_RTABLE_CREATE, &rt));
    ASSERT_OK(digby_rtable_count(rt, &rows));
    assert_int_equal(rows, 0);
    ASSERT_OK(digby_txn_commit(w));
}

/* ---- scans ----------------------------------------------------------------- */

typedef struct pkg { const char *name, *sec; int64_t size; const char *maint; } pkg;

static const pkg pkgs[] = {
    {"bash", "shells", 7000, "Matthias"}, {"dash", "shells", 200, "Herbert"},
    {"zsh", "shells", 9000, "Axel"},      {"fish", "shells", 9000, NULL},
    {"vim", "editors", 3000, "James"},    {"nano", "editors", 900, "Jordi"},
    {"ed", "editors", 100, "Martin"},     {"coreutils", "utils", 18000, "Michael"},
    {"grep", "utils", 1500, "Anibal"},    {"sed", "utils", 800, "Clint"},
    {"tar", "utils", 3000, "Bdale"},      {"perl", NULL, 40000, "Niko"},
    {"lsof", "admin", -1, "Andres"},
};
#define NPKGS (sizeof(pkgs) / sizeof(pkgs[0]))

static int pkg_match(const pkg *p, const digby_where *w, size_t nw)
{
    size_t i;
    for (i = 0; i < nw; i++) {
        digby_tuple_item v;
        int cmp;
        if (strcmp(w[i].column, "section") == 0) {
            if (!p->sec) return 0;
            v = ti_str(p->sec);
        } else if (strcmp(w[i].column, "size") == 0) {
            if (p->size < 0) return 0;
            v = ti_int(p->size);
        } else if (strcmp(w[i].column, "maintainer") == 0) {
            if (!p->maint) return 0;
            v = ti_str(p->maint);
        } else {
            v = ti_str(p->name);
        }
        cmp = digby_tuple_compare(&v, 1, &w[i].value, 1);
        switch (w[i].op) {
        case DIGBY_WHERE_EQ: if (cmp != 0) return 0; break;
        case DIGBY_WHERE_LT: if (cmp >= 0) return 0; break;
        case DIGBY_WHERE_LE: if (cmp > 0) return 0; break;
        case DIGBY_WHERE_GT: if (cmp <= 0) return 0; break;
        case DIGBY_WHERE_GE: if (cmp < 0) return 0; break;
        }
    }
    return 1;
}

/* Scan with q; the rows' names joined by ',' into out. */
static void scan_names(digby_rtable *rt, const digby_query *q, char *out)
{
    digby_rscan *sc;
    const digby_tuple_item *row;
    size_t n;
    int rc;
    out[0] = 0;
    ASSERT_OK(digby_rscan_open(rt, q, &sc));
    ASSERT_RC(digby_rscan_row(sc, &row, &n), DIGBY_NOTFOUND);
    while ((rc = digby_rscan_next(sc)) == DIGBY_OK) {
        ASSERT_OK(digby_rscan_row(sc, &row, &n));
        assert_int_equal(n, 5);
        if (out[0]) strcat(out, ",");
        strncat(out, (const char *)row[0].v.s.ptr, row[0].v.s.len);
    }
    ASSERT_RC(rc, DIGBY_NOTFOUND);
    ASSERT_RC(digby_rscan_next(sc), DIGBY_NOTFOUND); /* stays at the end */
    digby_rscan_close(sc);
}

static void load_pkgs(digby_rtable *rt)
{
    size_t i;
    for (i = 0; i < NPKGS; i++) {
        digby_tuple_item r[5];
        pkg_row(r, pkgs[i].name, "1", pkgs[i].sec, pkgs[i].size, pkgs[i].maint);
        ASSERT_OK(digby_rtable_insert(rt, r, 5));
    }
}

static void test_scan_plans(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w;
    digby_rtable *rt;
    digby_where wh[4];
    digby_query q;
    digby_plan p;
    char got[512];
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_rtable_open(w, "packages", &pkg_schema, DIGBY_RTABLE_CREATE, &rt));
    load_pkgs(rt);
    memset(&q, 0, sizeof(q));
    q.where = wh;
    /* no condition: the whole table in primary-key order */
    ASSERT_OK(digby_rtable_explain(rt, NULL, &p));
    assert_string_equal(p.text, "SCAN packages");
    assert_int_equal(p.index_no, -1);
    assert_string_equal(p.index, "primary");
    scan_names(rt, NULL, got);
    assert_string_equal(got, "bash,coreutils,dash,ed,fish,grep,lsof,nano,perl,sed,tar,vim,zsh");
    /* section = shells: by_section, in (section, size, name) order */
    wh[0].column = "section";
    wh[0].op = DIGBY_WHERE_EQ;
    wh[0].value = ti_str("shells");
    q.nwhere = 1;
    ASSERT_OK(digby_rtable_explain(rt, &q, &p));
    assert_string_equal(p.text, "SEARCH packages USING INDEX by_section (section=?)");
    assert_int_equal(p.index_no, 0);
    assert_int_equal(p.eq_columns, 1);
    assert_int_equal(p.range, 0);
    scan_names(rt, &q, got);
    assert_string_equal(got, "dash,bash,fish,zsh");
    /* the largest packages of one section first: reverse, limit */
    q.flags = DIGBY_SCAN_REVERSE;
    q.limit = 3;
    scan_names(rt, &q, got);
    assert_string_equal(got, "zsh,fish,bash");
    q.flags = 0;
    q.limit = 0;
    /* = and a range: both bound the index */
    wh[1].column = "size";
    wh[1].op = DIGBY_WHERE_GT;
    wh[1].value = ti_int(200);
    wh[2].column = "size";
    wh[2].op = DIGBY_WHERE_LE;
    wh[2].value = ti_int(9000);
    q.nwhere = 3;
    ASSERT_OK(digby_rtable_explain(rt, &q, &p));
    assert_string_equal(p.text,
                        "SEARCH packages USING INDEX by_section (section=? AND size>? AND size<=?)");
    assert_int_equal(p.range, 1);
    assert_int_equal(p.filtered, 0);
    scan_names(rt, &q, got);
    assert_string_equal(got, "bash,fish,zsh");
    wh[2].op = DIGBY_WHERE_LT;
    scan_names(rt, &q, got);
    assert_string_equal(got, "bash");
    /* a range alone: NULLs skipped (lsof) */
    wh[0] = wh[1];
    wh[0].op = DIGBY_WHERE_LT;
    wh[0].value = ti_int(1000);
    q.nwhere = 1;
    ASSERT_OK(digby_rtable_explain(rt, &q, &p));
    assert_string_equal(p.text, "SCAN packages; filter: 1 condition");
    scan_names(rt, &q, got);
    assert_string_equal(got, "dash,ed,nano,sed");
    /* forced through by_section: NULL sections first, then in order */
    q.index = "by_section";
    ASSERT_OK(digby_rtable_explain(rt, &q, &p));
    assert_string_equal(p.text, "SCAN packages USING INDEX by_section; filter: 1 condition");
    assert_int_equal(p.forced, 1);
    scan_names(rt, &q, got);
    assert_string_equal(got, "ed,nano,dash,sed");
    q.index = "nope";
    ASSERT_RC(digby_rtable_explain(rt, &q, &p), DIGBY_NOTFOUND);
    q.index = NULL;
    /* primary key range; the planner prefers it on a tie */
    wh[0].column = "name";
    wh[0].op = DIGBY_WHERE_GE;
    wh[0].value = ti_str("s");
    q.nwhere = 1;
    ASSERT_OK(digby_rtable_explain(rt, &q, &p));
    assert_string_equal(p.text, "SEARCH packages USING PRIMARY KEY (name>=?)");
    scan_names(rt, &q, got);
    assert_string_equal(got, "sed,tar,vim,zsh");
    wh[0].op = DIGBY_WHERE_EQ;
    wh[0].value = ti_str("vim");
    scan_names(rt, &q, got);
    assert_string_equal(got, "vim");
    /* maintainer = ...: by_maintainer */
    wh[0].column = "maintainer";
    wh[0].value = ti_str("Axel");
    wh[1].column = "name";
    wh[1].op = DIGBY_WHERE_GT;
    wh[1].value = ti_str("a");
    q.nwhere = 2;
    ASSERT_OK(digby_rtable_explain(rt, &q, &p));
    assert_string_equal(p.text,
                        "SEARCH packages USING INDEX by_maintainer (maintainer=?); filter: 1 condition");
    scan_names(rt, &q, got);
    assert_string_equal(got, "zsh");
    /* bad conditions */
    wh[0].column = "nope";
    ASSERT_RC(digby_rtable_explain(rt, &q, &p), DIGBY_INVALID);
    wh[0].column = "size";
    ASSERT_RC(digby_rtable_explain(rt, &q, &p), DIGBY_INVALID); /* a string for an int */
    wh[0].value = ti_null();
    ASSERT_RC(digby_rtable_explain(rt, &q, &p), DIGBY_INVALID);
    wh[0].value = ti_int(1);
    wh[0].op = (digby_where_op)9;
    ASSERT_RC(digby_rtable_explain(rt, &q, &p), DIGBY_INVALID);
    wh[0].op = DIGBY_WHERE_EQ;
    q.flags = 0x100;
    ASSERT_RC(digby_rtable_explain(rt, &q, &p), DIGBY_INVALID);
    q.flags = 0;
    q.where = NULL;
    ASSERT_RC(digby_rtable_explain(rt, &q, &p), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_explain(NULL, &q, &p), DIGBY_INVALID);
    ASSERT_RC(digby_rtable_explain(rt, NULL, NULL), DIGBY_INVALID);
    {
        digby_rscan *sc = (digby_rscan *)&q;
        const digby_tuple_item *row;
        size_t n;
        ASSERT_RC(digby_rscan_open(rt, &q, &sc), DIGBY_INVALID);
        assert_null(sc);
        ASSERT_RC(digby_rscan_open(NULL, NULL, &sc), DIGBY_INVALID);
        ASSERT_RC(digby_rscan_open(rt, NULL, NULL), DIGBY_INVALID);
        ASSERT_RC(digby_rscan_next(NULL), DIGBY_INVALID);
        ASSERT_RC(digby_rscan_row(NULL, &row, &n), DIGBY_INVALID);
        digby_rscan_close(NULL);
    }
    ASSERT_OK(digby_txn_commit(w));
}

/* Every combination of a few conditions, both directions, some limits,
   against the brute-force answer; the planner's choice checked too. */
static void test_scan_brute(void **state)
{
    fixture *f = (fixture *)*state;
    static const char *const colnames[4] = {"name", "section", "size", "maintainer"};
    static const char *const strs[] = {"", "a", "bash", "editors", "shells", "utils", "zz",
                                       "Axel", "Jordi", "M"};
    digby_txn *w;
    digby_rtable *rt;
    unsigned iter;
    uint64_t x = 12345;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_rtable_open(w, "packages", &pkg_schema, DIGBY_RTABLE_CREATE, &rt));
    load_pkgs(rt);
    for (iter = 0; iter < 3000; iter++) {
        digby_where wh[3];
        digby_query q;
        char got[512], want[512];
        size_t order[NPKGS], nm = 0, i, j, nw;
        digby_plan p;
        memset(&q, 0, sizeof(q));
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        nw = (size_t)(x >> 60) % 4;
        for (i = 0; i < nw; i++) {
            unsigned c;
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            c = (unsigned)(x >> 33) % 4;
            wh[i].column = colnames[c];
            wh[i].op = (digby_where_op)(1 + (x >> 40) % 5);
            if (c == 2) wh[i].value = ti_int((int64_t)((x >> 20) % 20000));
            else wh[i].value = ti_str(strs[(x >> 24) % 10]);
        }
        q.where = wh;
        q.nwhere = nw;
        q.flags = (x >> 17) & 1 ? DIGBY_SCAN_REVERSE : 0;
        q.limit = (x >> 18) % 4 == 0 ? 1 + (x >> 50) % 3 : 0;
        if ((x >> 45) % 5 == 0) q.index = (x >> 46) % 3 == 0 ? "primary"
                                          : (x >> 46) % 3 == 1 ? "by_section" : "by_maintainer";
        ASSERT_OK(digby_rtable_explain(rt, &q, &p));
        /* the reference: matching rows sorted by the plan's index */
        for (i = 0; i < NPKGS; i++)
            if (pkg_match(&pkgs[i], wh, nw)) order[nm++] = i;
        for (i = 1; i < nm; i++)
            for (j = i; j > 0; j--) {
                const pkg *a = &pkgs[order[j - 1]], *b = &pkgs[order[j]];
                digby_tuple_item ka[3], kb[3];
                size_t kn;
                if (p.index_no < 0) {
                    ka[0] = ti_str(a->name); kb[0] = ti_str(b->name); kn = 1;
                } else if (p.index_no == 0) {
                    ka[0] = a->sec ? ti_str(a->sec) : ti_null();
                    ka[1] = a->size >= 0 ? ti_int(a->size) : ti_null();
                    ka[2] = ti_str(a->name);
                    kb[0] = b->sec ? ti_str(b->sec) : ti_null();
                    kb[1] = b->size >= 0 ? ti_int(b->size) : ti_null();
                    kb[2] = ti_str(b->name);
                    kn = 3;
                } else {
                    ka[0] = a->maint ? ti_str(a->maint) : ti_null();
                    ka[1] = ti_str(a->name);
                    kb[0] = b->maint ? ti_str(b->maint) : ti_null();
                    kb[1] = ti_str(b->name);
                    kn = 2;
                }
                if (digby_tuple_compare(ka, kn, kb, kn) <= 0) break;
                { size_t t = order[j]; order[j] = order[j - 1]; order[j - 1] = t; }
            }
        want[0] = 0;
        for (i = 0; i < nm && (!q.limit || i < q.limit); i++) {
            size_t k = q.flags ? order[nm - 1 - i] : order[i];
            if (want[0]) strcat(want, ",");
            strcat(want, pkgs[k].name);
        }
        scan_names(rt, &q, got);
        if (strcmp(got, want) != 0) {
            print_error("iter %u: plan \"%s\": got \"%s\", want \"%s\"\n", iter, p.text, got, want);
            fail();
        }
        /* the planner's rule: an index only when a leading column has = */
        if (!q.index && p.index_no >= 0) assert_true(p.eq_columns + p.range >= 1);
    }
    ASSERT_OK(digby_txn_commit(w));
}

/* A scan goes on across writes in its transaction; a schema change or a
   drop ends it with DIGBY_BADTXN. */
static void test_scan_and_writes(void **state)
{
    fixture *f = (fixture *)*state;
    static const digby_column added = {"arch", DIGBY_TUPLE_STRING, 0};
    digby_txn *w;
    digby_rtable *rt;
    digby_rscan *sc, *sc2;
    const digby_tuple_item *row;
    digby_tuple_item key[1];
    size_t n, seen = 0;
    int rc;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_rtable_open(w, "packages", &pkg_schema, DIGBY_RTABLE_CREATE, &rt));
    load_pkgs(rt);
    ASSERT_OK(digby_rscan_open(rt, NULL, &sc));
    while ((rc = digby_rscan_next(sc)) == DIGBY_OK) {
        ASSERT_OK(digby_rscan_row(sc, &row, &n));
        key[0] = row[0];
        /* delete every row as it is read (row's bytes belong to the scan) */
        ASSERT_OK(digby_rtable_delete(rt, key, 1));
        seen++;
    }
    ASSERT_RC(rc, DIGBY_NOTFOUND);
    assert_int_equal(seen, NPKGS);
    digby_rscan_close(sc);
    load_pkgs(rt);
    ASSERT_OK(digby_rscan_open(rt, NULL, &sc));
    ASSERT_OK(digby_rscan_open(rt, NULL, &sc2)); /* left for the commit to free */
    ASSERT_OK(digby_rscan_next(sc));
    ASSERT_OK(digby_rtable_add_column(rt, &added));
    ASSERT_RC(digby_rscan_next(sc), DIGBY_BADTXN);
    digby_rscan_close(sc);
    ASSERT_OK(digby_rscan_open(rt, NULL, &sc));
    ASSERT_OK(digby_rtable_drop(w, "packages"));
    ASSERT_RC(digby_rscan_next(sc), DIGBY_BADTXN);
    ASSERT_RC(digby_rscan_open(rt, NULL, &sc2), DIGBY_BADTXN);
    ASSERT_OK(digby_txn_commit(w));
}

/* ---- digby_check ----------------------------------------------------------- */

static void expect_check_says(digby_db *db, const char *what)
{
    digby_check_report r;
    ASSERT_RC(digby_check(db, &r), DIGBY_CORRUPT);
    if (!strstr(r.message, what)) {
        print_error("check said \"%s\", expected \"%s\"\n", r.message, what);
        fail();
    }
}

static void test_check_damage(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *w;
    digby_rtable *rt;
    digby_table *t;
    digby_tuple_item a[5], k[3];
    uint8_t kb[256], vb[256];
    size_t kl, vl;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_rtable_open(w, "packages", &pkg_schema, DIGBY_RTABLE_CREATE, &rt));
    load_pkgs(rt);
    ASSERT_OK(digby_txn_commit(w));
    check_thorough(f->db);
    pkg_row(a, "bash", "1", "shells", 7000, "Matthias");
    k[0] = a[2];
    k[1] = a[3];
    k[2] = a[0];
    kl = pack(k, 3, kb, sizeof(kb));
    /* 1: a row loses its entry */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "packages.by_section", 0, &t));
    ASSERT_OK(digby_txn_delete(w, t, kb, kl));
    ASSERT_OK(digby_txn_commit(w));
    expect_check_says(f->db, "row without its entry in index by_section");
    /* 2: the entry comes back, and a stray one with it */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "packages.by_section", 0, &t));
    ASSERT_OK(digby_txn_put(w, t, kb, kl, NULL, 0, 0));
    k[1] = ti_int(7001);
    kl = pack(k, 3, kb, sizeof(kb));
    ASSERT_OK(digby_txn_put(w, t, kb, kl, NULL, 0, 0));
    ASSERT_OK(digby_txn_commit(w));
    expect_check_says(f->db, "index by_section: an entry does not match its row");
    /* 3: an entry of a row that is not there */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "packages.by_section", 0, &t));
    ASSERT_OK(digby_txn_delete(w, t, kb, kl));
    k[2] = ti_str("bashful");
    k[1] = ti_int(7000);
    kl = pack(k, 3, kb, sizeof(kb));
    ASSERT_OK(digby_txn_put(w, t, kb, kl, NULL, 0, 0));
    ASSERT_OK(digby_txn_commit(w));
    expect_check_says(f->db, "index by_section: an entry leads to no row");
    /* 4: a row's value of the wrong type */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "packages.by_section", 0, &t));
    ASSERT_OK(digby_txn_delete(w, t, kb, kl));
    ASSERT_OK(digby_table_open(w, "packages", 0, &t));
    kl = pack(&a[0], 1, kb, sizeof(kb));
    a[3] = ti_str("7000");
    vl = pack(&a[1], 4, vb, sizeof(vb));
    ASSERT_OK(digby_txn_put(w, t, kb, kl, vb, vl, 0));
    ASSERT_OK(digby_txn_commit(w));
    expect_check_says(f->db, "row does not fit the schema");
    /* ... which reads fail on too */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_rtable_open(w, "packages", NULL, 0, &rt));
    {
        const digby_tuple_item *row;
        size_t n;
        ASSERT_RC(digby_rtable_get(rt, &a[0], 1, &row, &n), DIGBY_CORRUPT);
    }
    /* 5: an entry that is no tuple */
    ASSERT_OK(digby_table_open(w, "packages", 0, &t));
    a[3] = ti_int(7000);
    vl = pack(&a[1], 4, vb, sizeof(vb));
    ASSERT_OK(digby_txn_put(w, t, kb, kl, vb, vl, 0));
    ASSERT_OK(digby_table_open(w, "packages.by_maintainer", 0, &t));
    ASSERT_OK(digby_txn_put(w, t, "\x02x", 2, NULL, 0, 0));
    ASSERT_OK(digby_txn_commit(w));
    expect_check_says(f->db, "index by_maintainer: an entry does not decode");
    /* 6: the rows table gone */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "packages.by_maintainer", 0, &t));
    ASSERT_OK(digby_txn_delete(w, t, "\x02x", 2));
    ASSERT_OK(digby_txn_commit(w));
    check_thorough(f->db);
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_drop(w, "packages"));
    ASSERT_OK(digby_txn_commit(w));
    expect_check_says(f->db, "record table packages: its schema or one of its tables is damaged");
    /* 7: a schema entry whose key is no table name */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_drop(w, "digby:schema"));
    ASSERT_OK(digby_table_open(w, "digby:schema", DIGBY_TABLE_CREATE, &t));
    ASSERT_OK(digby_txn_put(w, t, "\x02no name\x00", 9, "\x15\x01", 2, 0));
    ASSERT_OK(digby_txn_commit(w));
    expect_check_says(f->db, "digby:schema has an entry that names no table");
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_drop(w, "digby:schema"));
    ASSERT_OK(digby_txn_commit(w));
}

/* ---- allocation failures ------------------------------------------------- */

/* A record workload with the k-th allocation failing (once): every call
   returns DIGBY_OK, DIGBY_NOMEM or, after it, DIGBY_POISONED; nothing
   leaks; the file then opens and checks clean (rows and indexes agree). */
static int oom_workload(digby_db *db, int *bad)
{
    static const digby_index by_score = {"by_score_org", "score, org", 0};
    static const digby_column extra = {"note", DIGBY_TUPLE_STRING, 0};
    digby_txn *w;
    digby_rtable *rt;
    digby_rscan *sc;
    digby_tuple_item a[5], key[2];
    const digby_tuple_item *got;
    digby_where wh;
    digby_query q;
    digby_plan p;
    size_t n;
    int rc, i;
    char email[32];
#define OOM_STEP(call)                                                        \
    do {                                                                      \
        rc = (call);                                                          \
        if (rc != DIGBY_OK && rc != DIGBY_NOTFOUND) goto stop;                \
    } while (0)
    if ((rc = digby_txn_begin(db, 0, &w)) != DIGBY_OK) goto out;
    OOM_STEP(digby_rtable_open(w, "users", &user_schema, DIGBY_RTABLE_CREATE, &rt));
    for (i = 0; i < 40; i++) {
        snprintf(email, sizeof email, "u%d@x", i);
        user_row(a, i % 3 ? "acme" : "beta", i, i % 5 ? email : NULL, i * 0.5);
        OOM_STEP(digby_rtable_insert(rt, a, 4));
    }
    user_row(a, "acme", 100, "u2@x", 9.0); /* a new key, a unique clash */
    rc = digby_rtable_insert(rt, a, 4);
    if (rc != DIGBY_CONSTRAINT) goto stop;
    key[0] = ti_str("acme");
    key[1] = ti_int(1);
    OOM_STEP(digby_rtable_get(rt, key, 2, &got, &n));
    user_row(a, "gamma", 1, "moved@x", 1.25);
    OOM_STEP(digby_rtable_update(rt, key, 2, a, 4));
    key[0] = ti_str("acme");
    key[1] = ti_int(2);
    OOM_STEP(digby_rtable_delete(rt, key, 2));
    OOM_STEP(digby_rtable_add_index(rt, &by_score));
    wh.column = "org";
    wh.op = DIGBY_WHERE_EQ;
    wh.value = ti_str("acme");
    memset(&q, 0, sizeof q);
    q.where = &wh;
    q.nwhere = 1;
    q.flags = DIGBY_SCAN_REVERSE;
    OOM_STEP(digby_rtable_explain(rt, &q, &p));
    OOM_STEP(digby_rscan_open(rt, &q, &sc));
    while ((rc = digby_rscan_next(sc)) == DIGBY_OK) {}
    digby_rscan_close(sc);
    if (rc != DIGBY_NOTFOUND) goto stop;
    /* a failed commit ends its transaction too */
    if ((rc = digby_txn_commit(w)) != DIGBY_OK) goto out;
    if ((rc = digby_txn_begin(db, 0, &w)) != DIGBY_OK) goto out;
    OOM_STEP(digby_rtable_open(w, "users", NULL, 0, &rt));
    OOM_STEP(digby_rtable_add_column(rt, &extra));
    for (i = 30; i < 45; i++) {
        digby_tuple_item b[5];
        user_row(b, "beta", i, NULL, 2.0);
        b[4] = ti_str("upserted");
        OOM_STEP(digby_rtable_upsert(rt, b, 5));
    }
    OOM_STEP(digby_rtable_drop_index(rt, "by_email"));
    if ((rc = digby_txn_commit(w)) != DIGBY_OK) goto out;
    return DIGBY_OK;
stop:
    digby_txn_abort(w);
out:
    if (rc != DIGBY_NOMEM && rc != DIGBY_POISONED) {
        print_error("oom: result %s, not NOMEM or POISONED\n", rc_name(rc));
        *bad = 1;
    }
    return rc;
#undef OOM_STEP
}

static void test_record_oom(void **state)
{
    digby_vfs *mv;
    long k, covered = 0;
    int bad = 0;
    (void)state;
    for (k = 1;; k++) {
        test_alloc ta;
        digby_options o;
        digby_db *db = NULL;
        int rc;
        ASSERT_OK(digby_vfs_mem_create(NULL, &mv));
        memset(&o, 0, sizeof o);
        o.vfs = mv;
        o.page_size = 512;
        o.allocator = test_alloc_init(&ta, k, 0);
        rc = digby_open("oom.db", &o, &db);
        if (rc == DIGBY_OK) {
            oom_workload(db, &bad);
            ASSERT_OK(digby_close(db));
        } else {
            ASSERT_RC(rc, DIGBY_NOMEM);
        }
        if (bad) fail_msg("oom: allocation %ld", k);
        assert_int_equal(ta.live, 0); /* every block given back */
        /* the file as the failure left it opens and checks clean */
        memset(&o, 0, sizeof o);
        o.vfs = mv;
        rc = digby_open("oom.db", &o, &db);
        if (rc == DIGBY_OK) {
            check_clean(db);
            ASSERT_OK(digby_close(db));
        } else {
            ASSERT_RC(rc, DIGBY_CANTOPEN); /* the failure came before the file */
        }
        digby_vfs_mem_destroy(mv);
        if (ta.failed == 0) break; /* the workload ran to its end */
        covered++;
    }
    print_message("record oom: %ld allocations failed in turn, each handled\n", covered);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_and_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_row_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unique, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_plans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_brute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_and_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_damage, setup, teardown),
        cmocka_unit_test(test_record_oom),
        cmocka_unit_test(test_record_model),
        cmocka_unit_test(test_record_crash_sweep),
        cmocka_unit_test(test_record_io_error_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
