/* api_cursor: black-box behaviour of the public API on well-formed input:
   cursors (positioning, seeks, scans, writes under an open cursor). */
#define TEST_NAME "api_cursor"
#include "api_common.h" /* digby.h with the implementation, harness.h, values, reopen */

/* ---- cursors ------------------------------------------------------------- */

/* Expect the cursor on exactly `want` (NUL-terminated text key). */
static void expect_at(digby_cursor *c, const char *want)
{
    const void *k;
    size_t kn;
    ASSERT_OK(digby_cursor_get(c, &k, &kn, NULL, NULL, NULL));
    if (kn != strlen(want) || memcmp(k, want, kn) != 0)
        print_error("cursor at \"%.*s\", expected \"%s\"\n", (int)kn,
                    (const char *)k, want);
    assert_int_equal(kn, strlen(want));
    assert_memory_equal(k, want, kn);
}

/* Reference seek over a sorted array; -1 when nothing qualifies. */
static int ref_seek(const char *const *keys, int n, const char *t, size_t tn,
                    digby_seek_op op)
{
    int i;
    switch (op) {
    case DIGBY_SEEK_GE:
        for (i = 0; i < n; i++) if (keycmp(keys[i], strlen(keys[i]), t, tn) >= 0) return i;
        return -1;
    case DIGBY_SEEK_GT:
        for (i = 0; i < n; i++) if (keycmp(keys[i], strlen(keys[i]), t, tn) > 0) return i;
        return -1;
    case DIGBY_SEEK_LE:
        for (i = n - 1; i >= 0; i--) if (keycmp(keys[i], strlen(keys[i]), t, tn) <= 0) return i;
        return -1;
    case DIGBY_SEEK_LT:
        for (i = n - 1; i >= 0; i--) if (keycmp(keys[i], strlen(keys[i]), t, tn) < 0) return i;
        return -1;
    case DIGBY_SEEK_EQ:
        for (i = 0; i < n; i++) if (keycmp(keys[i], strlen(keys[i]), t, tn) == 0) return i;
        return -1;
    }
    return -1;
}

static const char *const op_names[] = {"GE", "GT", "LE", "LT", "EQ"};

/* From first (backward: last), step to past the end: the keys are
   keys[0..n-1] in that order (backward: reversed).  Past the end the
   cursor is unpositioned; one more step starts over (next is first, prev
   is last). */
static void expect_walk(digby_cursor *c, const char *const *keys, int n, int backward)
{
    int (*step)(digby_cursor *) = backward ? digby_cursor_prev : digby_cursor_next;
    int i;
    ASSERT_OK(backward ? digby_cursor_last(c) : digby_cursor_first(c));
    expect_at(c, keys[backward ? n - 1 : 0]);
    for (i = 1; i < n; i++) {
        ASSERT_OK(step(c));
        expect_at(c, keys[backward ? n - 1 - i : i]);
    }
    ASSERT_RC(step(c), DIGBY_NOTFOUND);
    ASSERT_RC(digby_cursor_get(c, NULL, NULL, NULL, NULL, NULL), DIGBY_NOTFOUND);
    ASSERT_OK(step(c));
    expect_at(c, keys[backward ? n - 1 : 0]);
}

static void test_cursor_small(void **state)
{
    fixture *f = (fixture *)*state;
    static const char *const keys[] = {"b", "ba", "d", "f", "h"};
    static const char *const targets[] = {"", "a", "b", "b\x01", "ba", "baa", "c",
                                          "d", "e", "f", "g", "h", "h\0", "i", "\xff"};
    const int n = 5;
    unsigned ti;
    int i, op;
    digby_txn *r, *w;
    digby_cursor *c;
    const void *v;
    size_t vn;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));

    /* insert out of order */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    for (i = n - 1; i >= 0; i--)
        ASSERT_OK(digby_txn_put(w, NULL, keys[i], strlen(keys[i]), keys[i],
                                strlen(keys[i]), 0));
    ASSERT_OK(digby_txn_commit(w));

    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_cursor_open(r, NULL, &c));
    /* unpositioned */
    ASSERT_RC(digby_cursor_get(c, NULL, NULL, NULL, NULL, NULL), DIGBY_NOTFOUND);

    ASSERT_OK(digby_cursor_first(c));
    expect_at(c, "b");
    ASSERT_OK(digby_cursor_get(c, NULL, NULL, &v, &vn, NULL));
    assert_int_equal(vn, 1);
    assert_memory_equal(v, "b", 1);
    expect_walk(c, keys, n, 0);
    expect_walk(c, keys, n, 1);

    /* every seek operator before, at, between and after keys */
    for (ti = 0; ti < sizeof(targets) / sizeof(targets[0]); ti++) {
        const char *t = targets[ti];
        size_t tn = strlen(t) + (ti == 12); /* "h\0" is two bytes */
        for (op = 0; op <= 4; op++) {
            int want = ref_seek(keys, n, t, tn, (digby_seek_op)op);
            int rc = digby_cursor_seek(c, t, tn, (digby_seek_op)op);
            if (want < 0) {
                if (rc != DIGBY_NOTFOUND)
                    print_error("seek %s \"%s\": expected NOTFOUND\n", op_names[op], t);
                ASSERT_RC(rc, DIGBY_NOTFOUND);
                ASSERT_RC(digby_cursor_get(c, NULL, NULL, NULL, NULL, NULL),
                          DIGBY_NOTFOUND);
                continue;
            }
            if (rc != DIGBY_OK)
                print_error("seek %s \"%s\": expected \"%s\"\n", op_names[op], t,
                            keys[want]);
            ASSERT_OK(rc);
            expect_at(c, keys[want]);
            /* neighbours from the seek position */
            if (want + 1 < n) {
                ASSERT_OK(digby_cursor_next(c));
                expect_at(c, keys[want + 1]);
                ASSERT_OK(digby_cursor_prev(c));
            } else {
                ASSERT_RC(digby_cursor_next(c), DIGBY_NOTFOUND);
                ASSERT_OK(digby_cursor_seek(c, t, tn, (digby_seek_op)op));
            }
            expect_at(c, keys[want]);
            if (want > 0) {
                ASSERT_OK(digby_cursor_prev(c));
                expect_at(c, keys[want - 1]);
            } else {
                ASSERT_RC(digby_cursor_prev(c), DIGBY_NOTFOUND);
            }
        }
    }
    digby_cursor_close(c);
    digby_txn_abort(r);
}


/* A cursor on an empty tree (table t; NULL: the global tree) finds
   nothing: first, then `then` (last or prev), then every seek operator. */
static void expect_empty(digby_txn *w, digby_table *t, int (*then)(digby_cursor *))
{
    digby_cursor *c;
    int op;
    ASSERT_OK(digby_cursor_open(w, t, &c));
    ASSERT_RC(digby_cursor_first(c), DIGBY_NOTFOUND);
    ASSERT_RC(then(c), DIGBY_NOTFOUND);
    for (op = 0; op <= 4; op++)
        ASSERT_RC(digby_cursor_seek(c, S("k"), (digby_seek_op)op), DIGBY_NOTFOUND);
    digby_cursor_close(c);
}
static void test_cursor_empty_tree(void **state)
{
    fixture *f = (fixture *)*state;
    digby_txn *r, *w;
    digby_cursor *c;
    digby_table *t;
    int op;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));

    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_cursor_open(r, NULL, &c));
    ASSERT_RC(digby_cursor_first(c), DIGBY_NOTFOUND);
    ASSERT_RC(digby_cursor_last(c), DIGBY_NOTFOUND);
    ASSERT_RC(digby_cursor_next(c), DIGBY_NOTFOUND);
    ASSERT_RC(digby_cursor_prev(c), DIGBY_NOTFOUND);
    for (op = 0; op <= 4; op++) {
        ASSERT_RC(digby_cursor_seek(c, S("k"), (digby_seek_op)op), DIGBY_NOTFOUND);
        ASSERT_RC(digby_cursor_seek(c, NULL, 0, (digby_seek_op)op), DIGBY_NOTFOUND);
    }
    ASSERT_RC(digby_cursor_get(c, NULL, NULL, NULL, NULL, NULL), DIGBY_NOTFOUND);
    digby_cursor_close(c);
    digby_txn_abort(r);

    /* a new table, and a tree emptied by deletes */
    ASSERT_OK(digby_put(f->db, S("k"), S("v")));
    ASSERT_OK(digby_delete(f->db, S("k")));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "empty", DIGBY_TABLE_CREATE, &t));
    expect_empty(w, t, digby_cursor_last);
    expect_empty(w, NULL, digby_cursor_prev);
    ASSERT_OK(digby_txn_commit(w));
}

/* Many keys over many pages (in a table): full scans both ways and seeks at
   pseudo-random targets against arithmetic. */
static void test_cursor_large(void **state)
{
    fixture *f = (fixture *)*state;
    enum { N = 5000 };
    digby_txn *w, *r;
    digby_table *t;
    digby_cursor *c;
    char k[32];
    size_t kn, vn;
    const void *kk, *v;
    unsigned i, it;
    uint32_t rng = 12345;
    unsigned char *big = make_val(9, 5000);
    ASSERT_OK(digby_open(f->path, NULL, &f->db));

    /* keys key0000000, key0000002, ... key0009998 */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_table_open(w, "t", DIGBY_TABLE_CREATE, &t));
    for (i = 0; i < N; i++) {
        unsigned j = (i * 7919u) % N; /* scattered insertion order */
        kn = num_key(k, 2 * j);
        ASSERT_OK(digby_txn_put(w, t, k, kn, big, j % 97 == 0 ? 5000 : 50, 0));
    }
    ASSERT_OK(digby_txn_commit(w));

    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_table_open(r, "t", 0, &t));
    ASSERT_OK(digby_cursor_open(r, t, &c));
    for (i = 0; i < N; i++) {
        ASSERT_RC(i == 0 ? digby_cursor_first(c) : digby_cursor_next(c), DIGBY_OK);
        ASSERT_OK(digby_cursor_get(c, &kk, &kn, &v, &vn, NULL));
        num_key(k, 2 * i);
        assert_int_equal(kn, 10);
        assert_memory_equal(kk, k, 10);
        assert_int_equal(vn, i % 97 == 0 ? 5000 : 50);
        assert_memory_equal(v, big, vn);
    }
    ASSERT_RC(digby_cursor_next(c), DIGBY_NOTFOUND);
    for (i = N; i-- > 0;) {
        ASSERT_RC(i == N - 1 ? digby_cursor_last(c) : digby_cursor_prev(c), DIGBY_OK);
        ASSERT_OK(digby_cursor_get(c, &kk, &kn, NULL, NULL, NULL));
        num_key(k, 2 * i);
        assert_memory_equal(kk, k, 10);
    }
    ASSERT_RC(digby_cursor_prev(c), DIGBY_NOTFOUND);

    for (it = 0; it < 3000; it++) {
        int op, want;
        unsigned target;
        rng = rng * 1103515245u + 12345u;
        target = (rng >> 8) % (2 * N + 4); /* a few past the last key */
        num_key(k, target);
        for (op = 0; op <= 4; op++) {
            int rc = digby_cursor_seek(c, k, 10, (digby_seek_op)op);
            int even = target % 2 == 0;
            /* key j is 2j: GE ceil(t/2), GT floor(t/2)+1, LE floor(t/2),
               LT ceil(t/2)-1, EQ t/2 for even t; clipped to 0..N-1 */
            switch (op) {
            case DIGBY_SEEK_GE: want = (int)((target + 1) / 2); break;
            case DIGBY_SEEK_GT: want = (int)(target / 2 + 1); break;
            case DIGBY_SEEK_LE: want = (int)(target / 2); if (want > N - 1) want = N - 1; break;
            case DIGBY_SEEK_LT: want = (int)((target + 1) / 2) - 1; if (want > N - 1) want = N - 1; break;
            default: want = even ? (int)(target / 2) : -1; break;
            }
            if (want >= N) want = -1;
            if (want < 0) {
                if (rc != DIGBY_NOTFOUND)
                    print_error("seek %s %s: expected NOTFOUND\n", op_names[op], k);
                ASSERT_RC(rc, DIGBY_NOTFOUND);
                continue;
            }
            if (rc != DIGBY_OK)
                print_error("seek %s %s: expected index %d\n", op_names[op], k, want);
            ASSERT_OK(rc);
            ASSERT_OK(digby_cursor_get(c, &kk, &kn, NULL, NULL, NULL));
            {
                char wk[32];
                num_key(wk, 2 * (unsigned)want);
                if (memcmp(kk, wk, 10) != 0)
                    print_error("seek %s %s: got %.10s, expected %s\n", op_names[op], k,
                                (const char *)kk, wk);
                assert_memory_equal(kk, wk, 10);
                if (want + 1 < N) {
                    ASSERT_OK(digby_cursor_next(c));
                    ASSERT_OK(digby_cursor_get(c, &kk, &kn, NULL, NULL, NULL));
                    num_key(wk, 2 * (unsigned)want + 2);
                    assert_memory_equal(kk, wk, 10);
                    ASSERT_OK(digby_cursor_prev(c));
                }
                if (want > 0) {
                    ASSERT_OK(digby_cursor_prev(c));
                    ASSERT_OK(digby_cursor_get(c, &kk, &kn, NULL, NULL, NULL));
                    num_key(wk, 2 * (unsigned)want - 2);
                    assert_memory_equal(kk, wk, 10);
                }
            }
        }
    }
    digby_cursor_close(c);
    digby_txn_abort(r);
    free(big);
}

/* A prefix scan: seek to `from` with op, then step (forward after
   DIGBY_SEEK_GE, backward after DIGBY_SEEK_LT) while the keys start with
   `prefix`: they must be want[0..n-1], all n, in key order. */
static void expect_prefix_run(digby_cursor *c, const char *from, digby_seek_op op,
                              const char *prefix, const char *const *want, unsigned n)
{
    size_t pn = strlen(prefix), kn;
    const void *k;
    unsigned seen = 0;
    int backward = op == DIGBY_SEEK_LT;
    ASSERT_OK(digby_cursor_seek(c, from, strlen(from), op));
    do {
        ASSERT_OK(digby_cursor_get(c, &k, &kn, NULL, NULL, NULL));
        if (kn < pn || memcmp(k, prefix, pn) != 0) break;
        assert_true(seen < n);
        expect_at(c, want[backward ? n - 1 - seen : seen]);
        seen++;
    } while ((backward ? digby_cursor_prev(c) : digby_cursor_next(c)) == DIGBY_OK);
    assert_int_equal(seen, n);
}

static void test_cursor_prefix_scan(void **state)
{
    fixture *f = (fixture *)*state;
    static const char *const all[] = {"ap", "apo", "app", "apple", "apple pie",
                                      "applesauce", "apply", "apq", "b",
                                      "a\xff", "a\xff\x01", "a\xff\xff", "a"};
    static const char *const appl[] = {"apple", "apple pie", "applesauce", "apply"};
    static const char *const aff[] = {"a\xff", "a\xff\x01", "a\xff\xff"};
    digby_txn *w, *r;
    digby_cursor *c;
    unsigned i;
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        ASSERT_OK(digby_txn_put(w, NULL, all[i], strlen(all[i]), S("v"), 0));
    ASSERT_OK(digby_txn_commit(w));

    c = read_cursor(f->db, &r);
    /* forward: seek GE prefix, step while the prefix matches */
    expect_prefix_run(c, "appl", DIGBY_SEEK_GE, "appl", appl, 4);
    /* reverse: seek LT the successor prefix "appm", step back */
    expect_prefix_run(c, "appm", DIGBY_SEEK_LT, "appl", appl, 4);
    /* prefix ending in 0xff: its successor is "b" */
    expect_prefix_run(c, "a\xff", DIGBY_SEEK_GE, "a\xff", aff, 3);
    ASSERT_OK(digby_cursor_seek(c, S("b"), DIGBY_SEEK_LT));
    expect_at(c, "a\xff\xff");
    /* a prefix nothing has */
    ASSERT_OK(digby_cursor_seek(c, S("apn"), DIGBY_SEEK_GE));
    expect_at(c, "apo");
    ASSERT_RC(digby_cursor_seek(c, S("c"), DIGBY_SEEK_GE), DIGBY_NOTFOUND);
    read_cursor_end(c, r);
}

/* Deletes the key at key/kn, a cursor's: through a copy, as the delete
   may move what the pointer shows. */
static void delete_copy(digby_txn *w, const void *key, size_t kn)
{
    char k[32];
    assert_true(kn <= sizeof(k));
    memcpy(k, key, kn);
    ASSERT_OK(digby_txn_delete(w, NULL, k, kn));
}

/* Cursor correctness while its own transaction writes. */
static void test_cursor_writes_same_txn(void **state)
{
    fixture *f = (fixture *)*state;
    enum { N = 1000 };
    digby_txn *w, *r;
    digby_cursor *c;
    char k[32], kk[32];
    const void *key, *v;
    size_t kn, vn;
    unsigned i, visits;
    unsigned char *val = make_val(3, 100);
    ASSERT_OK(digby_open(f->path, NULL, &f->db));
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    for (i = 0; i < N; i++) {
        kn = num_key(k, i);
        ASSERT_OK(digby_txn_put(w, NULL, k, kn, val, 100, 0));
    }
    ASSERT_OK(digby_txn_commit(w));

    /* A: point changes around the cursor */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_cursor_open(w, NULL, &c));
    num_key(k, 100);
    ASSERT_OK(digby_cursor_seek(c, k, 10, DIGBY_SEEK_EQ));
    ASSERT_OK(digby_txn_delete(w, NULL, k, 10));
    ASSERT_RC(digby_cursor_get(c, NULL, NULL, NULL, NULL, NULL), DIGBY_NOTFOUND);
    ASSERT_OK(digby_cursor_next(c)); /* continues with the following key */
    expect_at(c, "key0000101");
    ASSERT_OK(digby_cursor_prev(c)); /* 100 is gone */
    expect_at(c, "key0000099");
    ASSERT_OK(digby_cursor_next(c));
    expect_at(c, "key0000101");
    /* an insert just ahead is seen; one behind is not revisited */
    ASSERT_OK(digby_txn_put(w, NULL, S("key0000101a"), S("new"), 0));
    ASSERT_OK(digby_txn_put(w, NULL, S("key0000050a"), S("new"), 0));
    expect_at(c, "key0000101");
    ASSERT_OK(digby_cursor_next(c));
    expect_at(c, "key0000101a");
    ASSERT_OK(digby_cursor_get(c, NULL, NULL, &v, &vn, NULL));
    assert_int_equal(vn, 3);
    assert_memory_equal(v, "new", 3);
    ASSERT_OK(digby_cursor_next(c));
    expect_at(c, "key0000102");
    /* overwriting the current key: the cursor reads the new value */
    ASSERT_OK(digby_txn_put(w, NULL, S("key0000102"), S("changed"), 0));
    expect_at(c, "key0000102");
    ASSERT_OK(digby_cursor_get(c, NULL, NULL, &v, &vn, NULL));
    assert_int_equal(vn, 7);
    assert_memory_equal(v, "changed", 7);
    /* deleting a long run ahead (whole pages) */
    for (i = 103; i < 600; i++) {
        kn = num_key(k, i);
        ASSERT_OK(digby_txn_delete(w, NULL, k, kn));
    }
    ASSERT_OK(digby_cursor_next(c));
    expect_at(c, "key0000600");
    /* deleting the current key and then stepping back */
    ASSERT_OK(digby_txn_delete(w, NULL, S("key0000600")));
    ASSERT_OK(digby_cursor_prev(c));
    expect_at(c, "key0000102");
    /* insert far ahead, then jump there */
    ASSERT_OK(digby_txn_put(w, NULL, S("zzz"), S("end"), 0));
    ASSERT_OK(digby_cursor_last(c));
    expect_at(c, "zzz");
    digby_cursor_close(c);
    digby_txn_abort(w);

    /* B: iterate forward, deleting every third key as it goes */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_cursor_open(w, NULL, &c));
    visits = 0;
    while (digby_cursor_next(c) == DIGBY_OK) {
        ASSERT_OK(digby_cursor_get(c, &key, &kn, NULL, NULL, NULL));
        num_key(kk, visits);
        assert_int_equal(kn, 10);
        assert_memory_equal(key, kk, 10);
        if (visits % 3 == 0) delete_copy(w, key, kn);
        visits++;
        assert_true(visits <= N);
    }
    assert_int_equal(visits, N);
    /* then backwards, deleting the odd ones of the rest */
    visits = 0;
    i = N;
    while (digby_cursor_prev(c) == DIGBY_OK) {
        do i--; while (i % 3 == 0);
        ASSERT_OK(digby_cursor_get(c, &key, &kn, NULL, NULL, NULL));
        num_key(kk, i);
        assert_memory_equal(key, kk, 10);
        if (i % 2 == 1) delete_copy(w, key, kn);
        visits++;
        assert_true(visits <= N);
    }
    assert_int_equal(visits, N - (N + 2) / 3);
    digby_cursor_close(c);
    ASSERT_OK(digby_txn_commit(w));
    for (i = 0; i < N; i++) {
        kn = num_key(k, i);
        if (i % 3 == 0 || i % 2 == 1) expect_missing(f->db, k, kn);
        else expect_get(f->db, k, kn, val, 100);
    }
    check_thorough(f->db);

    /* C: iterate forward, inserting a key just after each one seen */
    ASSERT_OK(digby_txn_begin(f->db, 0, &w));
    ASSERT_OK(digby_cursor_open(w, NULL, &c));
    visits = 0;
    while (digby_cursor_next(c) == DIGBY_OK) {
        ASSERT_OK(digby_cursor_get(c, &key, &kn, NULL, NULL, NULL));
        memcpy(k, key, kn);
        if (visits % 2 == 0) {
            assert_int_equal(kn, 10);
            k[10] = 'x';
            ASSERT_OK(digby_txn_put(w, NULL, k, 11, S("inserted"), 0));
        } else {
            assert_int_equal(kn, 11); /* the one just inserted */
            assert_int_equal(k[10], 'x');
        }
        visits++;
        assert_true(visits <= 4 * N);
    }
    assert_int_equal(visits, 2 * 333); /* 333 keys were left by part B */
    {
        uint64_t cnt;
        ASSERT_OK(digby_table_count(w, NULL, &cnt));
        assert_int_equal(cnt, 2 * 333);
    }
    digby_cursor_close(c);
    ASSERT_OK(digby_txn_commit(w));

    /* D: a read-only cursor keeps its snapshot while others commit */
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &r));
    ASSERT_OK(digby_cursor_open(r, NULL, &c));
    ASSERT_OK(digby_cursor_first(c));
    expect_at(c, "key0000002");
    ASSERT_OK(digby_delete(f->db, S("key0000004")));
    ASSERT_OK(digby_put(f->db, S("key0000002y"), S("later")));
    ASSERT_OK(digby_cursor_next(c));
    expect_at(c, "key0000002x");
    ASSERT_OK(digby_cursor_next(c));
    expect_at(c, "key0000004");
    ASSERT_OK(digby_cursor_get(c, NULL, NULL, &v, &vn, NULL));
    assert_int_equal(vn, 100);
    assert_memory_equal(v, val, 100);
    digby_cursor_close(c);
    digby_txn_abort(r);
    free(val);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_cursor_small),
        T(test_cursor_empty_tree),
        T(test_cursor_large),
        T(test_cursor_prefix_scan),
        T(test_cursor_writes_same_txn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
