/* engine_rocksdb.c -- the RocksDB adapter (linked in when bench/Makefile builds rocksdb). */
#include "bench.h"

#include <rocksdb/c.h>

typedef struct {
    rocksdb_t *db; rocksdb_options_t *opt; rocksdb_block_based_table_options_t *bbo;
    rocksdb_cache_t *cache; rocksdb_writeoptions_t *wo; rocksdb_readoptions_t *ro;
} rk_db;
typedef struct { rk_db *d; rocksdb_writebatch_t *batch; rocksdb_iterator_t *it; } rk_s;

static int rk_fail(const char *what, char *msg)
{
    set_err("%s: %s", what, msg ? msg : "?");
    rocksdb_free(msg);
    return -1;
}
static void *rk_open(const char *dir, const cfg_t *c)
{
    rk_db *d = calloc(1, sizeof *d);
    char *err = NULL;
    d->opt = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(d->opt, 1);
    rocksdb_options_increase_parallelism(d->opt, 2);
    rocksdb_options_set_compression(d->opt, c->lz4 ? rocksdb_lz4_compression : rocksdb_no_compression);
    d->bbo = rocksdb_block_based_options_create();
    if (c->cache_bytes) {   /* else RocksDB's own block cache (8 MiB in 7.8) */
        d->cache = rocksdb_cache_create_lru(c->cache_bytes);
        rocksdb_block_based_options_set_block_cache(d->bbo, d->cache);
    }
    rocksdb_block_based_options_set_filter_policy(d->bbo, rocksdb_filterpolicy_create_bloom(10));
    rocksdb_options_set_block_based_table_factory(d->opt, d->bbo);
    d->wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(d->wo, (unsigned char)c->sync);
    d->ro = rocksdb_readoptions_create();
    d->db = rocksdb_open(d->opt, dir, &err);
    if (err) {
        rk_fail("rocksdb_open", err);
        rocksdb_options_destroy(d->opt); rocksdb_block_based_options_destroy(d->bbo);
        if (d->cache) rocksdb_cache_destroy(d->cache);
        rocksdb_writeoptions_destroy(d->wo);
        rocksdb_readoptions_destroy(d->ro); free(d);
        return NULL;
    }
    return d;
}
static void rk_close(void *dbp)
{
    rk_db *d = dbp;
    rocksdb_close(d->db);
    rocksdb_options_destroy(d->opt); rocksdb_block_based_options_destroy(d->bbo);
    if (d->cache) rocksdb_cache_destroy(d->cache);
    rocksdb_writeoptions_destroy(d->wo);
    rocksdb_readoptions_destroy(d->ro); free(d);
}
static void *rk_session(void *db) { rk_s *s = calloc(1, sizeof *s); s->d = db; s->batch = rocksdb_writebatch_create(); return s; }
static void rk_session_free(void *sp) { rk_s *s = sp; rocksdb_writebatch_destroy(s->batch); free(s); }
static int rk_wbegin(void *sp) { rocksdb_writebatch_clear(((rk_s *)sp)->batch); return 0; }
static int rk_wcommit(void *sp)
{
    rk_s *s = sp;
    char *err = NULL;
    rocksdb_write(s->d->db, s->d->wo, s->batch, &err);
    rocksdb_writebatch_clear(s->batch);
    return err ? rk_fail("rocksdb_write", err) : 0;
}
static void rk_wabort(void *sp) { rocksdb_writebatch_clear(((rk_s *)sp)->batch); }
static int rk_put(void *sp, const void *k, size_t kn, const void *v, size_t vn)
{
    rocksdb_writebatch_put(((rk_s *)sp)->batch, k, kn, v, vn);
    return 0;
}
static int rk_del(void *sp, const void *k, size_t kn)
{
    rocksdb_writebatch_delete(((rk_s *)sp)->batch, k, kn);
    return 0;
}
static int rk_rbegin(void *sp) { (void)sp; return 0; }
static void rk_rend(void *sp) { (void)sp; }
static int rk_get(void *sp, const void *k, size_t kn, void *buf, size_t cap, size_t *vn)
{
    rk_s *s = sp;
    char *err = NULL;
    size_t n = 0;
    char *v = rocksdb_get(s->d->db, s->d->ro, k, kn, &n, &err);
    if (err) return rk_fail("rocksdb_get", err);
    if (!v) return 1;
    memcpy(buf, v, n < cap ? n : cap);
    *vn = n;
    rocksdb_free(v);
    return 0;
}
static int rk_cur_open(void *sp) { rk_s *s = sp; s->it = rocksdb_create_iterator(s->d->db, s->d->ro); return 0; }
static void rk_cur_close(void *sp) { rk_s *s = sp; rocksdb_iter_destroy(s->it); s->it = NULL; }
static int rk_valid(rk_s *s)
{
    char *err = NULL;
    if (rocksdb_iter_valid(s->it)) return 0;
    rocksdb_iter_get_error(s->it, &err);
    return err ? rk_fail("rocksdb iterator", err) : 1;
}
static int rk_seek(void *sp, const void *k, size_t kn) { rk_s *s = sp; rocksdb_iter_seek(s->it, k, kn); return rk_valid(s); }
static int rk_seek_le(void *sp, const void *k, size_t kn)
{
    rk_s *s = sp;
    rocksdb_iter_seek_for_prev(s->it, k, kn);
    return rk_valid(s);
}
static int rk_first(void *sp) { rk_s *s = sp; rocksdb_iter_seek_to_first(s->it); return rk_valid(s); }
static int rk_last(void *sp) { rk_s *s = sp; rocksdb_iter_seek_to_last(s->it); return rk_valid(s); }
static int rk_next(void *sp) { rk_s *s = sp; rocksdb_iter_next(s->it); return rk_valid(s); }
static int rk_prev(void *sp) { rk_s *s = sp; rocksdb_iter_prev(s->it); return rk_valid(s); }
static int rk_cur_get(void *sp, const void **k, size_t *kn, const void **v, size_t *vn)
{
    rk_s *s = sp;
    *k = rocksdb_iter_key(s->it, kn);
    *v = rocksdb_iter_value(s->it, vn);
    return 0;
}

#define rk_quiesce NULL
#define rk_version NULL

const engine_t engine_rocksdb =
    ENGINE("rocksdb", "rocksdb", 1, rk, 1,
           "compression off (lz4 in the lz4 workload), LRU block cache = CACHE, bloom filter 10 bits/key, "
           "increase_parallelism(2), write_buffer 64 MiB (default), WriteBatch, sync=false",
           "same, WriteOptions sync=true");
