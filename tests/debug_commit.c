/* tests/debug_commit.c -- a DIGBY_DEBUG build: every commit walks the
   pages it is about to write, as digby_check would, before writing any.

   - A workload of every kind of write (small and overflow values, large
     keys, tables, deletes that empty pages, drops) commits cleanly under
     the check, many times over, and digby_check agrees at the end.
   - A leaf whose keys a bug left out of order, or whose slot count a bug
     broke, makes the commit fail with DIGBY_CORRUPT; nothing of it reaches
     the file: a reopen finds the commit before it, and digby_check passes.
   Each damage test passes only because of the check: without DIGBY_DEBUG
   those commits would succeed and write the damaged page. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define DIGBY_DEBUG
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#define TEST_NAME "debug_commit"
#include "harness.h"

typedef struct env {
    digby_vfs *vfs;
    digby_db *db;
    digby_options o;
} env;

static void env_open(env *e)
{
    ASSERT_OK(digby_open("debug.digby", &e->o, &e->db));
}

static void env_setup(env *e, uint32_t page_size)
{
    memset(e, 0, sizeof(*e));
    ASSERT_OK(digby_vfs_mem_create(NULL, &e->vfs));
    e->o.vfs = e->vfs;
    e->o.page_size = page_size;
    env_open(e);
}

static void env_teardown(env *e)
{
    if (e->db) ASSERT_OK(digby_close(e->db));
    digby_vfs_mem_destroy(e->vfs);
}

/* Every kind of write, committed under the check. */
static void test_workload_commits_clean(void **state)
{
    env e;
    uint8_t *big = (uint8_t *)malloc(20000);
    unsigned round, i;
    (void)state;
    assert_non_null(big);
    env_setup(&e, 512);
    for (i = 0; i < 20000; i++) big[i] = (uint8_t)(i * 7 + 3);
    for (round = 0; round < (unsigned)(40 * test_scale()) + 4; round++) {
        digby_txn *w;
        digby_table *t;
        char key[64];
        ASSERT_OK(digby_txn_begin(e.db, 0, &w));
        ASSERT_OK(digby_table_open(w, round % 3 ? "alpha" : "beta", DIGBY_TABLE_CREATE, &t));
        for (i = 0; i < 60; i++) {
            size_t vn = (i % 7 == 0) ? 1000 + i * 13 : 10 + i % 30;
            snprintf(key, sizeof(key), "key-%05u-%03u", (round * 37 + i * 101) % 2000, i);
            ASSERT_OK(digby_txn_put(w, i % 2 ? t : NULL, key, strlen(key), big, vn, 0));
        }
        /* a large key: past the key limit of a 512-byte page */
        memset(key, 'L', sizeof(key));
        ASSERT_OK(digby_txn_put(w, NULL, big, 300 + round % 5, key, 10, 0));
        for (i = 0; i < 25; i++) {
            int rc;
            snprintf(key, sizeof(key), "key-%05u-%03u", (round * 53 + i * 11) % 2000, i);
            rc = digby_txn_delete(w, NULL, key, strlen(key));
            if (rc != DIGBY_NOTFOUND) ASSERT_OK(rc);
        }
        if (round % 9 == 8) ASSERT_OK(digby_table_drop(w, "beta"));
        ASSERT_OK(digby_txn_commit(w));
    }
    check_clean(e.db);
    env_teardown(&e);
    free(big);
}

/* Three committed keys "a" < "b" < "c", then a write transaction that
   changes all three; *leaf is its dirty root leaf. */
static digby_txn *three_keys_rewritten(env *e, uint8_t **leaf)
{
    digby_txn *w;
    const char *keys[3] = {"a", "b", "c"};
    int i;
    for (i = 0; i < 3; i++) ASSERT_OK(digby_put(e->db, keys[i], 1, "old", 3));
    ASSERT_OK(digby_txn_begin(e->db, 0, &w));
    for (i = 0; i < 3; i++) ASSERT_OK(digby_txn_put(w, NULL, keys[i], 1, "new", 3, 0));
    assert_int_equal(w->meta.main.depth, 1);
    *leaf = digby__dirty_get(w, w->meta.main.root);
    assert_non_null(*leaf);
    assert_int_equal((*leaf)[0], DIGBY__PAGE_LEAF);
    assert_int_equal(digby__node_n(*leaf), 3);
    return w;
}

/* After a commit the check refused: the file holds the commit before. */
static void assert_old_state(env *e)
{
    const char *keys[3] = {"a", "b", "c"};
    int i;
    ASSERT_OK(digby_close(e->db));
    e->db = NULL;
    env_open(e);
    for (i = 0; i < 3; i++) {
        void *v;
        size_t vn;
        ASSERT_OK(digby_get(e->db, keys[i], 1, &v, &vn, NULL));
        assert_int_equal(vn, 3);
        assert_memory_equal(v, "old", 3);
        digby_free(e->db, v);
    }
    check_clean(e->db);
}

static void test_keys_out_of_order_refused(void **state)
{
    env e;
    uint8_t *leaf;
    size_t kn;
    digby_txn *w;
    (void)state;
    env_setup(&e, 4096);
    w = three_keys_rewritten(&e, &leaf);
    /* a bug's damage: the middle key becomes "z", above its successor */
    *(uint8_t *)digby__node_key(leaf, 1, &kn) = 'z';
    assert_int_equal(kn, 1);
    ASSERT_RC(digby_txn_commit(w), DIGBY_CORRUPT);
    assert_old_state(&e);
    env_teardown(&e);
}

static void test_broken_slot_count_refused(void **state)
{
    env e;
    uint8_t *leaf;
    digby_txn *w;
    (void)state;
    env_setup(&e, 4096);
    w = three_keys_rewritten(&e, &leaf);
    digby__put16(leaf + 2, 4000); /* more slots than the page can hold */
    ASSERT_RC(digby_txn_commit(w), DIGBY_CORRUPT);
    assert_old_state(&e);
    env_teardown(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_workload_commits_clean),
        cmocka_unit_test(test_keys_out_of_order_refused),
        cmocka_unit_test(test_broken_slot_count_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
