/* tests/unit_common.h -- what the white-box test programs share
   (tests/unit_*.c, regress.c): a deterministic generator, a fake digby_db
   with only the sizes set, and a database on the in-memory VFS.

   Include it after digby.h (which the program includes with
   DIGBY_IMPLEMENTATION):

       #define DIGBY_IMPLEMENTATION
       #include "digby.h"
       #include "unit_common.h"

   A program whose generator must start from a fixed state without calling
   seed() defines UNIT_RNG_SEED (default 0) before including this file.

   Everything here is static and marked unused-safe: a program uses what it
   needs (the tests build with -Wall -Wextra -Werror). */
#ifndef DIGBY_TESTS_UNIT_COMMON_H
#define DIGBY_TESTS_UNIT_COMMON_H

#include "digby.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define UNIT_UNUSED __attribute__((unused))
#else
#define UNIT_UNUSED
#endif

/* ---- a deterministic generator (splitmix64) ------------------------------ */

#ifndef UNIT_RNG_SEED
#define UNIT_RNG_SEED 0
#endif

static uint64_t rng_state = UNIT_RNG_SEED;

UNIT_UNUSED static uint64_t rnd(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}
UNIT_UNUSED static void seed(uint64_t s) { rng_state = s; }
UNIT_UNUSED static unsigned rndn(unsigned n) { return (unsigned)(rnd() % n); }

/* ---- a fake database: only the sizes set ---------------------------------- */

UNIT_UNUSED static void fake_db(digby_db *db, uint32_t page_size)
{
    memset(db, 0, sizeof *db);
    db->page_size = page_size;
    digby__db_sizes(db);
}

/* ---- a database on the memory VFS ------------------------------------------ */

typedef struct env {
    digby_vfs *vfs;
    digby_db *db;
    digby_options o;
    const char *name;   /* the file's name on the memory VFS */
} env;

/* A fresh memory VFS and options for it (vfs, page size); nothing opened:
   the caller may set more options, then env_start. */
UNIT_UNUSED static void env_init(env *e, const char *name, uint32_t page_size)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(digby_vfs_mem_create(NULL, &e->vfs), DIGBY_OK);
    e->o.vfs = e->vfs;
    e->o.page_size = page_size;
    e->name = name;
}

UNIT_UNUSED static void env_start(env *e)
{
    assert_int_equal(digby_open(e->name, &e->o, &e->db), DIGBY_OK);
}

UNIT_UNUSED static void env_check(env *e)
{
    digby_check_report rep;
    int rc = digby_check(e->db, &rep);
    if (rc != DIGBY_OK) fail_msg("digby_check: %s (page %llu)", rep.message,
                                 (unsigned long long)rep.bad_pgno);
}

UNIT_UNUSED static void env_reopen(env *e)
{
    assert_int_equal(digby_close(e->db), DIGBY_OK);
    env_start(e);
}

/* digby_check passes, then close and free the VFS. */
UNIT_UNUSED static void env_close(env *e)
{
    env_check(e);
    assert_int_equal(digby_close(e->db), DIGBY_OK);
    digby_vfs_mem_destroy(e->vfs);
}

/* Put keys k000000.. (n of them) into table t (NULL: the main tree), each
   with a value of `vlen` bytes (at most 4096) of `fill`. */
UNIT_UNUSED static void put_keys(digby_txn *txn, digby_table *t, int n, char fill, size_t vlen)
{
    static char v[4096];
    char k[16];
    int i;
    assert_true(vlen <= sizeof v);
    memset(v, fill, vlen);
    for (i = 0; i < n; i++) {
        snprintf(k, sizeof k, "k%06d", i);
        assert_int_equal(digby_txn_put(txn, t, k, strlen(k), v, vlen, 0), DIGBY_OK);
    }
}

/* One commit of put_keys into the main tree. */
UNIT_UNUSED static void commit_puts(env *e, int n, char fill, size_t vlen)
{
    digby_txn *txn;
    assert_int_equal(digby_txn_begin(e->db, 0, &txn), DIGBY_OK);
    put_keys(txn, NULL, n, fill, vlen);
    assert_int_equal(digby_txn_commit(txn), DIGBY_OK);
}

#endif
