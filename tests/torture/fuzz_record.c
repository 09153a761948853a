/* tests/torture/fuzz_record.c -- libFuzzer target: the record layer's
   decoders (issue #12) on arbitrary stored bytes.

   Input: byte 0 chooses the page size (512 << (byte & 3)); then entries,
   each [table][key length: 1 byte][key][value length: 2 bytes LE][value],
   table (mod 5) one of digby:schema, t, t.a, t.b, t.c: the schema entry,
   the rows and up to three index tables of a record table "t" (the seeds
   hold valid ones, so mutations reach every decoder).  They are written
   with the plain table API, then read through the record layer.  Checks,
   any failure an abort (a crash to libFuzzer):
   - every call returns one of its documented codes: opening the table
     DIGBY_OK, DIGBY_NOTFOUND, DIGBY_CORRUPT, DIGBY_VERSION, DIGBY_TOOBIG
     (an index table's name past the key limit); scans and gets DIGBY_OK,
     DIGBY_NOTFOUND, DIGBY_CORRUPT (gets also DIGBY_INVALID for a key that
     does not fit the schema); digby_check DIGBY_OK or DIGBY_CORRUPT;
   - every row a scan or get gives has one item per column, each NULL (in
     a nullable column) or of its column's type;
   - when digby_check passes, no read of the table is DIGBY_CORRUPT, a new
     row, an update and a new index all succeed (or are refused with
     DIGBY_EXISTS / DIGBY_CONSTRAINT), and digby_check passes after their
     commit.
   Build and run: make torture-fuzz; make test replays
   tests/torture/corpus/record/ once (slice-fuzz); -DFUZZ_REPLAY builds a
   main that replays input files; -DFUZZ_MKSEEDS one that writes the seeds
   to the directory it is given (make fuzz-corpus). */
/* DIGBY_STATIC: the compiler drops the functions the program does not
   reach (encryption, streaming I/O, ...), which makes its builds in make
   test cheaper; the unused ones are no error here. */
#define DIGBY_STATIC
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "fuzz_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_record: %s:%d: check failed: %s\n",         \
                    __FILE__, __LINE__, #cond);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)

static const char *const tables[5] = {"digby:schema", "t", "t.a", "t.b", "t.c"};

/* A row from the library fits the schema. */
static void row_fits(const digby_schema *s, const digby_tuple_item *row, size_t n)
{
    size_t i;
    CHECK(n == s->ncolumns);
    for (i = 0; i < n; i++) {
        digby_tuple_type t = row[i].type, c = s->columns[i].type;
        if (t == DIGBY_TUPLE_NULL) CHECK(!(s->columns[i].flags & DIGBY_COLUMN_NOT_NULL));
        else CHECK(t == c || (c == DIGBY_TUPLE_INT && t == DIGBY_TUPLE_UINT));
    }
}

/* Scan q to its end; *corrupt when a step was DIGBY_CORRUPT. */
static void scan_all(digby_rtable *rt, const digby_schema *s, const digby_query *q, int *corrupt)
{
    digby_rscan *sc;
    int rc = digby_rscan_open(rt, q, &sc), n = 0;
    CHECK(rc == DIGBY_OK);
    while ((rc = digby_rscan_next(sc)) == DIGBY_OK && n++ < 100000) {
        const digby_tuple_item *row;
        size_t nc;
        CHECK(digby_rscan_row(sc, &row, &nc) == DIGBY_OK);
        row_fits(s, row, nc);
    }
    CHECK(rc == DIGBY_NOTFOUND || rc == DIGBY_CORRUPT);
    if (rc == DIGBY_CORRUPT) *corrupt = 1;
    digby_rscan_close(sc);
}

/* A value of type t (never NULL) for a new row. */
static digby_tuple_item some_value(digby_tuple_type t, int k)
{
    digby_tuple_item it;
    memset(&it, 0, sizeof it);
    it.type = t;
    switch (t) {
    case DIGBY_TUPLE_INT: it.v.i = 1000003 + k; break;
    case DIGBY_TUPLE_DOUBLE: it.v.d = 0.5 + k; break;
    case DIGBY_TUPLE_BOOL: it.v.b = k & 1; break;
    case DIGBY_TUPLE_UUID: memset(it.v.uuid, 0x5a + k, 16); break;
    default: it.v.s.ptr = "fuzz\0new"; it.v.s.len = 8; break;
    }
    return it;
}

/* Writes on a table that checked clean: all must work or be refused for
   their own reasons, and the file must check clean after them. */
static void writes(digby_db *db)
{
    digby_txn *w;
    digby_rtable *rt;
    const digby_schema *s;
    digby_tuple_item row[DIGBY_RECORD_MAX_COLUMNS], key[DIGBY_RECORD_MAX_COLUMNS];
    digby_rscan *sc;
    size_t i;
    int rc;
    CHECK(digby_txn_begin(db, 0, &w) == DIGBY_OK);
    CHECK(digby_rtable_open(w, "t", NULL, 0, &rt) == DIGBY_OK);
    CHECK(digby_rtable_schema(rt, &s) == DIGBY_OK);
    for (i = 0; i < s->ncolumns; i++) row[i] = some_value(s->columns[i].type, (int)i);
    rc = digby_rtable_insert(rt, row, s->ncolumns);
    CHECK(rc == DIGBY_OK || rc == DIGBY_EXISTS || rc == DIGBY_CONSTRAINT);
    /* the first row: its nullable columns set to NULL, or moved to the new values */
    CHECK(digby_rscan_open(rt, NULL, &sc) == DIGBY_OK);
    if (digby_rscan_next(sc) == DIGBY_OK) {
        const digby_tuple_item *got;
        size_t n, nk = 0;
        const char *p = s->primary_key;
        CHECK(digby_rscan_row(sc, &got, &n) == DIGBY_OK);
        memcpy(row, got, n * sizeof(*got));
        /* the key items, in key order, from the "a, b" list */
        while (*p) {
            size_t len = strcspn(p, ","), c;
            for (c = 0; c < n; c++)
                if (strlen(s->columns[c].name) == len && !memcmp(s->columns[c].name, p, len))
                    key[nk++] = got[c];
            p += len;
            while (*p == ',' || *p == ' ') p++;
        }
        for (i = 0; i < n; i++)
            if (!(s->columns[i].flags & DIGBY_COLUMN_NOT_NULL)) row[i].type = DIGBY_TUPLE_NULL;
        /* (the items point into the scan's row: it stays open meanwhile) */
        rc = digby_rtable_update(rt, key, nk, row, n);
        CHECK(rc == DIGBY_OK);
    }
    digby_rscan_close(sc);
    {
        digby_index x;
        x.name = "fuzz_new";
        x.columns = s->columns[s->ncolumns - 1].name;
        x.flags = 0;
        rc = digby_rtable_add_index(rt, &x);
        /* (refused when the file has an index or a table of that name) */
        CHECK(rc == DIGBY_OK || rc == DIGBY_EXISTS || rc == DIGBY_INVALID || rc == DIGBY_TOOBIG);
    }
    CHECK(digby_txn_commit(w) == DIGBY_OK);
    CHECK(digby_check(db, NULL) == DIGBY_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    digby_vfs *vfs;
    digby_db *db;
    digby_options o;
    digby_txn *w, *r;
    digby_table *t;
    digby_rtable *rt;
    const digby_schema *s = NULL;
    size_t pos = 1;
    int rc, corrupt = 0, opened;
    if (size < 1) return 0;
    CHECK(digby_vfs_mem_create(NULL, &vfs) == DIGBY_OK);
    memset(&o, 0, sizeof o);
    o.vfs = vfs;
    o.page_size = 512u << (data[0] & 3);
    CHECK(digby_open("r.digby", &o, &db) == DIGBY_OK);
    CHECK(digby_txn_begin(db, 0, &w) == DIGBY_OK);
    while (pos + 4 <= size) {
        unsigned sel = data[pos] % 5, kn = data[pos + 1], vn;
        const uint8_t *k = data + pos + 2, *v;
        if (pos + 2 + kn + 2 > size) break;
        vn = data[pos + 2 + kn] | (unsigned)data[pos + 3 + kn] << 8;
        v = data + pos + 4 + kn;
        if (pos + 4 + kn + vn > size) vn = (unsigned)(size - (pos + 4 + kn));
        CHECK(digby_table_open(w, tables[sel], DIGBY_TABLE_CREATE, &t) == DIGBY_OK);
        CHECK(digby_txn_put(w, t, k, kn, v, vn, 0) == DIGBY_OK);
        pos += 4 + kn + vn;
    }
    CHECK(digby_txn_commit(w) == DIGBY_OK);

    CHECK(digby_txn_begin(db, DIGBY_TXN_READONLY, &r) == DIGBY_OK);
    rc = digby_rtable_open(r, "t", NULL, 0, &rt);
    CHECK(rc == DIGBY_OK || rc == DIGBY_NOTFOUND || rc == DIGBY_CORRUPT || rc == DIGBY_VERSION ||
          rc == DIGBY_TOOBIG);
    opened = rc == DIGBY_OK;
    if (opened) {
        digby_query q;
        size_t i;
        uint64_t rows;
        CHECK(digby_rtable_schema(rt, &s) == DIGBY_OK);
        CHECK(s->ncolumns >= 1 && s->ncolumns <= DIGBY_RECORD_MAX_COLUMNS);
        CHECK(digby_rtable_count(rt, &rows) == DIGBY_OK);
        memset(&q, 0, sizeof q);
        scan_all(rt, s, &q, &corrupt);
        q.flags = DIGBY_SCAN_REVERSE;
        scan_all(rt, s, &q, &corrupt);
        for (i = 0; i < s->nindexes; i++) {
            q.index = s->indexes[i].name;
            q.flags = i & 1 ? DIGBY_SCAN_REVERSE : 0;
            scan_all(rt, s, &q, &corrupt);
        }
        /* a get for every key of the rows table */
        CHECK(digby_table_open(r, "t", 0, &t) == DIGBY_OK);
        {
            digby_cursor *c;
            CHECK(digby_cursor_open(r, t, &c) == DIGBY_OK);
            for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
                const void *k;
                size_t kn, count = 0, n;
                digby_tuple_item items[8];
                const digby_tuple_item *got;
                CHECK(digby_cursor_get(c, &k, &kn, NULL, NULL, NULL) == DIGBY_OK);
                if (digby_tuple_unpack(k, kn, items, 8, &count, NULL, 0, NULL, NULL) != DIGBY_OK)
                    continue;
                rc = digby_rtable_get(rt, items, count, &got, &n);
                CHECK(rc == DIGBY_OK || rc == DIGBY_NOTFOUND || rc == DIGBY_CORRUPT ||
                      rc == DIGBY_INVALID);
                if (rc == DIGBY_OK) row_fits(s, got, n);
                if (rc == DIGBY_CORRUPT) corrupt = 1;
            }
            CHECK(rc == DIGBY_NOTFOUND);
            digby_cursor_close(c);
        }
    }
    digby_txn_abort(r);
    rc = digby_check(db, NULL);
    CHECK(rc == DIGBY_OK || rc == DIGBY_CORRUPT);
    /* a clean check means the table reads without damage, and takes writes */
    if (rc == DIGBY_OK) CHECK(!corrupt);
    if (rc == DIGBY_OK && opened) writes(db);
    CHECK(digby_close(db) == DIGBY_OK);
    digby_vfs_mem_destroy(vfs);
    return 0;
}

#ifdef FUZZ_REPLAY
FUZZ_REPLAY_MAIN("fuzz_record", "no failure")
#endif

#ifdef FUZZ_MKSEEDS
/* The seeds: record tables made with the record API, their digby tables
   written out in the input format. */
static void seed_out(FILE *f, digby_txn *txn)
{
    unsigned sel;
    for (sel = 0; sel < 5; sel++) {
        digby_table *t;
        digby_cursor *c;
        int rc;
        if (digby_table_open(txn, tables[sel], 0, &t) != DIGBY_OK) continue;
        CHECK(digby_cursor_open(txn, t, &c) == DIGBY_OK);
        for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
            const void *k, *v;
            size_t kn, vn;
            CHECK(digby_cursor_get(c, &k, &kn, &v, &vn, NULL) == DIGBY_OK);
            CHECK(kn < 256 && vn < 65536);
            fputc((int)sel, f);
            fputc((int)kn, f);
            fwrite(k, 1, kn, f);
            fputc((int)(vn & 255), f);
            fputc((int)(vn >> 8), f);
            fwrite(v, 1, vn, f);
        }
        digby_cursor_close(c);
    }
}

static digby_tuple_item ti(digby_tuple_type t, int64_t i, const char *s, size_t n)
{
    digby_tuple_item it;
    memset(&it, 0, sizeof it);
    it.type = t;
    if (t == DIGBY_TUPLE_STRING || t == DIGBY_TUPLE_BYTES) {
        it.v.s.ptr = s;
        it.v.s.len = n;
    } else if (t == DIGBY_TUPLE_DOUBLE) {
        it.v.d = (double)i / 4;
    } else {
        it.v.i = i;
    }
    return it;
}

int main(int argc, char **argv)
{
    static const digby_column c1[] = {{"k", DIGBY_TUPLE_INT, 0}, {"s", DIGBY_TUPLE_STRING, 0},
                                      {"d", DIGBY_TUPLE_DOUBLE, 0}, {"b", DIGBY_TUPLE_BYTES, 0}};
    static const digby_index x1[] = {{"a", "s", 0}, {"b", "d, s", DIGBY_INDEX_UNIQUE},
                                     {"c", "b", 0}};
    static const digby_schema s1 = {c1, 4, "k", x1, 3};
    static const digby_column c2[] = {{"org", DIGBY_TUPLE_STRING, 0}, {"id", DIGBY_TUPLE_INT, 0},
                                      {"v", DIGBY_TUPLE_INT, DIGBY_COLUMN_NOT_NULL}};
    static const digby_index x2[] = {{"a", "v, org", DIGBY_INDEX_UNIQUE}};
    static const digby_schema s2 = {c2, 3, "id, org", x2, 1};
    static const digby_column added = {"z", DIGBY_TUPLE_BOOL, 0};
    static const digby_index xb = {"b", "z", 0};
    int seed;
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    for (seed = 0; seed < 3; seed++) {
        digby_vfs *vfs;
        digby_db *db;
        digby_options o;
        digby_txn *w;
        digby_rtable *rt;
        char path[512];
        FILE *f;
        int i;
        CHECK(digby_vfs_mem_create(NULL, &vfs) == DIGBY_OK);
        memset(&o, 0, sizeof o);
        o.vfs = vfs;
        o.page_size = 512;
        CHECK(digby_open("s.digby", &o, &db) == DIGBY_OK);
        CHECK(digby_txn_begin(db, 0, &w) == DIGBY_OK);
        CHECK(digby_rtable_open(w, "t", seed == 1 ? &s2 : &s1, DIGBY_RTABLE_CREATE, &rt) ==
              DIGBY_OK);
        for (i = 0; seed != 2 && i < 12; i++) {
            digby_tuple_item row[4];
            static const char *const strs[4] = {"", "a\0b", "\xc3\xa9t\xc3\xa9", "zz"};
            if (seed == 0) {
                row[0] = ti(DIGBY_TUPLE_INT, i * 7 - 20, NULL, 0);
                row[1] = i % 5 ? ti(DIGBY_TUPLE_STRING, 0, strs[i % 4], strlen(strs[i % 4]) +
                                                                     (i % 4 == 1 ? 2 : 0))
                               : ti(DIGBY_TUPLE_NULL, 0, NULL, 0);
                row[2] = ti(DIGBY_TUPLE_DOUBLE, i, NULL, 0);
                row[3] = ti(DIGBY_TUPLE_BYTES, 0, "\x00\xff\x01", (size_t)(i % 4));
                CHECK(digby_rtable_insert(rt, row, 4) == DIGBY_OK);
            } else {
                row[0] = ti(DIGBY_TUPLE_STRING, 0, i % 2 ? "acme" : "beta", 4);
                row[1] = ti(DIGBY_TUPLE_INT, i, NULL, 0);
                row[2] = ti(DIGBY_TUPLE_INT, 100 - i, NULL, 0);
                CHECK(digby_rtable_insert(rt, row, 3) == DIGBY_OK);
            }
        }
        if (seed == 1) {
            /* rows written before ADD COLUMN, and an index on the new column */
            CHECK(digby_rtable_add_column(rt, &added) == DIGBY_OK);
            CHECK(digby_rtable_add_index(rt, &xb) == DIGBY_OK);
        }
        CHECK(digby_txn_commit(w) == DIGBY_OK);
        CHECK(digby_check(db, NULL) == DIGBY_OK);
        snprintf(path, sizeof path, "%s/seed-%d", argv[1], seed);
        f = fopen(path, "wb");
        CHECK(f != NULL);
        fputc(0, f); /* 512-byte pages */
        CHECK(digby_txn_begin(db, DIGBY_TXN_READONLY, &w) == DIGBY_OK);
        seed_out(f, w);
        digby_txn_abort(w);
        CHECK(fclose(f) == 0);
        CHECK(digby_close(db) == DIGBY_OK);
        digby_vfs_mem_destroy(vfs);
    }
    return 0;
}
#endif
