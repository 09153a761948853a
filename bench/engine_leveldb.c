/* engine_leveldb.c -- the LevelDB adapter (linked in when bench/Makefile builds leveldb). */
#include "bench.h"

#include <leveldb/c.h>

typedef struct {
    leveldb_t *db; leveldb_options_t *opt; leveldb_cache_t *cache;
    leveldb_filterpolicy_t *filter; leveldb_writeoptions_t *wo; leveldb_readoptions_t *ro;
} ld_db;
typedef struct { ld_db *d; leveldb_writebatch_t *batch; leveldb_iterator_t *it; } ld_s;

static int ld_fail(const char *what, char *msg)
{
    set_err("%s: %s", what, msg ? msg : "?");
    leveldb_free(msg);
    return -1;
}
static void *ld_open(const char *dir, const cfg_t *c)
{
    ld_db *d = calloc(1, sizeof *d);
    char *err = NULL;
    d->opt = leveldb_options_create();
    leveldb_options_set_create_if_missing(d->opt, 1);
    leveldb_options_set_compression(d->opt, leveldb_no_compression);
    if (c->cache_bytes) {   /* else LevelDB's own 8 MiB block cache */
        d->cache = leveldb_cache_create_lru(c->cache_bytes);
        leveldb_options_set_cache(d->opt, d->cache);
    }
    d->filter = leveldb_filterpolicy_create_bloom(10);
    leveldb_options_set_filter_policy(d->opt, d->filter);
    d->wo = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(d->wo, (unsigned char)c->sync);
    d->ro = leveldb_readoptions_create();
    d->db = leveldb_open(d->opt, dir, &err);
    if (err) {
        ld_fail("leveldb_open", err);
        leveldb_options_destroy(d->opt);
        if (d->cache) leveldb_cache_destroy(d->cache);
        leveldb_filterpolicy_destroy(d->filter); leveldb_writeoptions_destroy(d->wo);
        leveldb_readoptions_destroy(d->ro); free(d);
        return NULL;
    }
    return d;
}
static void ld_close(void *dbp)
{
    ld_db *d = dbp;
    leveldb_close(d->db);
    leveldb_options_destroy(d->opt);
    if (d->cache) leveldb_cache_destroy(d->cache);
    leveldb_filterpolicy_destroy(d->filter); leveldb_writeoptions_destroy(d->wo);
    leveldb_readoptions_destroy(d->ro); free(d);
}
static void *ld_session(void *db) { ld_s *s = calloc(1, sizeof *s); s->d = db; s->batch = leveldb_writebatch_create(); return s; }
static void ld_session_free(void *sp) { ld_s *s = sp; leveldb_writebatch_destroy(s->batch); free(s); }
static int ld_wbegin(void *sp) { leveldb_writebatch_clear(((ld_s *)sp)->batch); return 0; }
static int ld_wcommit(void *sp)
{
    ld_s *s = sp;
    char *err = NULL;
    leveldb_write(s->d->db, s->d->wo, s->batch, &err);
    leveldb_writebatch_clear(s->batch);
    return err ? ld_fail("leveldb_write", err) : 0;
}
static void ld_wabort(void *sp) { leveldb_writebatch_clear(((ld_s *)sp)->batch); }
static int ld_put(void *sp, const void *k, size_t kn, const void *v, size_t vn)
{
    leveldb_writebatch_put(((ld_s *)sp)->batch, k, kn, v, vn);
    return 0;
}
static int ld_del(void *sp, const void *k, size_t kn)
{
    leveldb_writebatch_delete(((ld_s *)sp)->batch, k, kn);
    return 0;
}
static int ld_rbegin(void *sp) { (void)sp; return 0; }
static void ld_rend(void *sp) { (void)sp; }
static int ld_get(void *sp, const void *k, size_t kn, void *buf, size_t cap, size_t *vn)
{
    ld_s *s = sp;
    char *err = NULL;
    size_t n = 0;
    char *v = leveldb_get(s->d->db, s->d->ro, k, kn, &n, &err);
    if (err) return ld_fail("leveldb_get", err);
    if (!v) return 1;
    memcpy(buf, v, n < cap ? n : cap);
    *vn = n;
    leveldb_free(v);
    return 0;
}
static int ld_cur_open(void *sp) { ld_s *s = sp; s->it = leveldb_create_iterator(s->d->db, s->d->ro); return 0; }
static void ld_cur_close(void *sp) { ld_s *s = sp; leveldb_iter_destroy(s->it); s->it = NULL; }
static int ld_valid(ld_s *s)
{
    char *err = NULL;
    if (leveldb_iter_valid(s->it)) return 0;
    leveldb_iter_get_error(s->it, &err);
    return err ? ld_fail("leveldb iterator", err) : 1;
}
static int ld_seek(void *sp, const void *k, size_t kn) { ld_s *s = sp; leveldb_iter_seek(s->it, k, kn); return ld_valid(s); }
static int ld_seek_le(void *sp, const void *k, size_t kn)
{
    ld_s *s = sp;
    size_t n;
    const char *got;
    int rc;
    leveldb_iter_seek(s->it, k, kn);
    rc = ld_valid(s);
    if (rc == 1) { leveldb_iter_seek_to_last(s->it); return ld_valid(s); }
    if (rc < 0) return rc;
    got = leveldb_iter_key(s->it, &n);
    if (n != kn || memcmp(got, k, kn)) { leveldb_iter_prev(s->it); return ld_valid(s); }
    return 0;
}
static int ld_first(void *sp) { ld_s *s = sp; leveldb_iter_seek_to_first(s->it); return ld_valid(s); }
static int ld_last(void *sp) { ld_s *s = sp; leveldb_iter_seek_to_last(s->it); return ld_valid(s); }
static int ld_next(void *sp) { ld_s *s = sp; leveldb_iter_next(s->it); return ld_valid(s); }
static int ld_prev(void *sp) { ld_s *s = sp; leveldb_iter_prev(s->it); return ld_valid(s); }
static int ld_cur_get(void *sp, const void **k, size_t *kn, const void **v, size_t *vn)
{
    ld_s *s = sp;
    *k = leveldb_iter_key(s->it, kn);
    *v = leveldb_iter_value(s->it, vn);
    return 0;
}

#define ld_quiesce NULL
#define ld_version NULL

const engine_t engine_leveldb =
    ENGINE("leveldb", "leveldb", 1, ld, 0,
           "compression off (no lz4 in LevelDB), LRU block cache = CACHE, bloom filter 10 bits/key, "
           "write_buffer 4 MiB (default), WriteBatch, sync=false",
           "same, WriteOptions sync=true");
