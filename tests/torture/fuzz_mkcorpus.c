/* tests/torture/fuzz_mkcorpus.c -- writes the seed corpora of the fuzz
   targets (committed under tests/torture/corpus/; rerun by hand with
   `make fuzz-corpus` after a format change).

   corpus/open/: small valid database files, prefixed with the mode byte of
   fuzz_open.c: page sizes 512, 1024 and 4096; plain and encrypted; with
   named tables, overflow values, a large key, compressed items, a freelist.
   corpus/ops/: a few operation sequences for fuzz_ops.c (random bytes from
   fixed seeds; the target gives every byte string a meaning), four of them
   on a memory-mapped file.
   corpus/open/seed-crafted-*: a plain 512-byte-page file whose older
   commit's pages (which open does not verify) were edited, checksums made
   right: a branch that is its own child, a branch with one page as both
   children, an overflow index page pointing at itself, a freelist page
   that is its own next page.  They must all be errors, not loops.  (Every
   commit writes a new freelist chain, so the freelist page is the newest
   commit's: open verifies it and sets that commit aside, and the file
   checks clean as of the commit before; tests/cli_test.sh checks that
   `digby check` says so.)
   corpus/open/seed-*-map, -mapgrow: plain seeds again with mode bit 4
   (through a file and a memory map).
   corpus/open/seed-plainenc-*: decrypted images of encrypted files made
   from fuzz_open.c's template (mode bit 3: the target seals them again).
   corpus/open/seed-log-*: files with a live write-ahead log (log mode,
   FORMAT.md section 11): the image taken before digby_close, so the meta
   page names a log head and the log pages hold commit records (durable
   and no-sync, across several pages, some tables, deletes, a checkpoint
   before them); opened read-only, read-write and read-write in log mode
   (mode bit 5), so replay decodes mutated log pages. */
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "det_entropy.h"
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>



#define OK(x) do { int rc_ = (x); if (rc_) { fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, digby_strerror(rc_)); exit(1); } } while (0)

typedef struct seedcfg {
    const char *name;
    uint32_t page_size;
    int encrypted;
    int rich;        /* tables, overflow, large key, compression, deletes */
    int nkeys;
} seedcfg;

static const seedcfg seeds[] = {
    { "p512-small",   512, 0, 0, 12 },
    { "p512-rich",    512, 0, 1, 60 },
    { "p1024-rich",  1024, 0, 1, 80 },
    { "p4096-small", 4096, 0, 0, 30 },
    { "p512-enc",     512, 1, 1, 30 },
    { "p1024-enc",   1024, 1, 0, 20 },
};

static void write_file(const char *dir, const char *name, uint8_t mode,
                       const uint8_t *p, size_t n)
{
    char path[512];
    FILE *fp;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fp = fopen(path, "wb");
    if (!fp) { perror(path); exit(1); }
    fputc(mode, fp);
    if (n && fwrite(p, 1, n, fp) != n) { perror(path); exit(1); }
    fclose(fp);
}

/* name-ro with the given mode byte, name-rw with the read-write bit (2)
   added. */
static void write_ro_rw(const char *dir, const char *stem, uint8_t mode,
                        const uint8_t *p, size_t n)
{
    char name[96];
    snprintf(name, sizeof name, "%s-ro", stem);
    write_file(dir, name, mode, p, n);
    snprintf(name, sizeof name, "%s-rw", stem);
    write_file(dir, name, (uint8_t)(mode | 2), p, n);
}

/* A database "name" on a new memory VFS (*vfs) with page size ps and
   det_entropy from state *es, encrypted with fuzz_key if asked; o keeps
   the options (for a reopen). */
static digby_db *open_mem(digby_vfs **vfs, digby_options *o, const char *name, uint32_t ps,
                          int encrypted, uint64_t *es)
{
    digby_db *db;
    OK(digby_vfs_mem_create(NULL, vfs));
    memset(o, 0, sizeof *o);
    o->vfs = *vfs;
    o->page_size = ps;
    if (encrypted) { o->key = fuzz_key; o->key_bytes = sizeof fuzz_key; }
    o->entropy = det_entropy;
    o->entropy_ctx = es;
    OK(digby_open(name, o, &db));
    return db;
}

/* The image of the file at path on the VFS; its size in *n. */
static uint8_t *img_of_path(digby_vfs *vfs, const char *path, size_t *n)
{
    digby_file *f;
    uint64_t size;
    uint8_t *img;
    OK(vfs->open(vfs, path, 0, &f));
    OK(vfs->size(f, &size));
    img = (uint8_t *)malloc((size_t)size);
    if (!img) exit(1);
    OK(vfs->read(f, 0, img, (size_t)size, n));
    vfs->close(f);
    return img;
}

static void check_close(digby_db *db)
{
    OK(digby_check(db, NULL));
    OK(digby_close(db));
}

/* A write transaction on db, and table name created in it. */
static void begin_with_table(digby_db *db, digby_txn **txn, const char *name, digby_table **t)
{
    OK(digby_txn_begin(db, 0, txn));
    OK(digby_table_open(*txn, name, DIGBY_TABLE_CREATE, t));
}

static void make_db(const char *dir, const seedcfg *s)
{
    digby_vfs *vfs;
    digby_db *db;
    digby_txn *txn;
    digby_table *t;
    digby_options o;
    uint64_t es = 42;
    uint8_t *img, val[2500];
    char key[400], name[64];
    int i;
    size_t got;
    db = open_mem(&vfs, &o, "f", s->page_size, s->encrypted, &es);
    for (i = 0; i < (int)sizeof val; i++) val[i] = (uint8_t)(i * 7 + i / 100);
    OK(digby_txn_begin(db, 0, &txn));
    for (i = 0; i < s->nkeys; i++) {
        snprintf(key, sizeof key, "key%04d", i * 7);
        OK(digby_txn_put(txn, NULL, key, strlen(key), val + i, (size_t)(i % 13), 0));
    }
    if (s->rich) {
        OK(digby_table_open(txn, "alpha", DIGBY_TABLE_CREATE, &t));
        for (i = 0; i < 10; i++) {
            snprintf(key, sizeof key, "a%02d", i);
            OK(digby_txn_put(txn, t, key, strlen(key), val, (size_t)(i * 3), 0));
        }
        OK(digby_txn_put(txn, t, "big", 3, val, 1500, 0));
        OK(digby_txn_put(txn, t, "zip", 3, val, 2000, DIGBY_PUT_COMPRESS));
        memset(key, 'L', 300);
        OK(digby_txn_put(txn, t, key, 300, "large key", 9, 0));
        OK(digby_table_open(txn, "beta", DIGBY_TABLE_CREATE, &t));
        OK(digby_txn_put(txn, t, "only", 4, "one", 3, 0));
    }
    OK(digby_txn_commit(txn));
    if (s->rich) {
        /* a second commit: overwrites and deletes leave a freelist */
        OK(digby_txn_begin(db, 0, &txn));
        for (i = 0; i < s->nkeys; i += 3) {
            snprintf(key, sizeof key, "key%04d", i * 7);
            OK(digby_txn_delete(txn, NULL, key, strlen(key)));
        }
        OK(digby_txn_put(txn, NULL, "over", 4, val, 900, 0));
        OK(digby_txn_commit(txn));
    }
    check_close(db);
    img = img_of_path(vfs, "f", &got);
    /* mode: bit 0 encrypted; one read-only seed, one read-write, one small cache */
    snprintf(name, sizeof name, "seed-%s", s->name);
    write_ro_rw(dir, name, (uint8_t)(s->encrypted ? 1 : 0), img, got);
    snprintf(name, sizeof name, "seed-%s-cache", s->name);
    write_file(dir, name, (uint8_t)(s->encrypted ? 5 : 4), img, got);
    if (!s->encrypted) {
        /* bit 4: through a file and a memory map; read-write, then also
           with the smallest cache and a map as large as the file, which a write outgrows */
        snprintf(name, sizeof name, "seed-%s-map", s->name);
        write_file(dir, name, 16 | 2, img, got);
        snprintf(name, sizeof name, "seed-%s-mapgrow", s->name);
        write_file(dir, name, 16 | 4 | 2, img, got);
    }
    printf("%s/%s: %lu bytes\n", dir, s->name, (unsigned long)got);
    free(img);
    digby_vfs_mem_destroy(vfs);
}

/* ---- crafted damage: cycles and sharing in pages that open does not
   verify (an older commit's), each page's checksum made right ------------- */

static void reseal(uint8_t *pg, uint32_t ps)
{
    digby__put32(pg + ps - 4, (uint32_t)XXH32(pg, ps - 4, DIGBY__XXH_SEED));
}

static void write_crafted(const char *dir, const char *name, const uint8_t *img, size_t n)
{
    char stem[96];
    snprintf(stem, sizeof stem, "seed-crafted-%s", name);
    write_ro_rw(dir, stem, 0, img, n);
}

static void make_crafted(const char *dir)
{
    digby_vfs *vfs;
    digby_db *db;
    digby_txn *txn;
    digby_table *t;
    digby_options o;
    uint64_t es = 43;
    uint8_t val[2000], *img, *w;
    char key[32];
    size_t n, pgs, p;
    const uint32_t ps = 512;
    int i;
    long branch = -1, index = -1, flist = -1;
    db = open_mem(&vfs, &o, "f", ps, 0, &es);
    memset(val, 0x33, sizeof val);
    /* commit 1: table "alpha" two levels deep, with an overflow value */
    begin_with_table(db, &txn, "alpha", &t);
    for (i = 0; i < 60; i++) {
        snprintf(key, sizeof key, "alpha%04d", i);
        OK(digby_txn_put(txn, t, key, strlen(key), val, 20, 0));
    }
    OK(digby_txn_put(txn, t, "big", 3, val, 1800, 0));
    OK(digby_txn_put(txn, NULL, "g", 1, "1", 1, 0));
    OK(digby_txn_commit(txn));
    /* commit 2: the global tree only; alpha's pages stay those of commit 1 */
    OK(digby_txn_begin(db, 0, &txn));
    for (i = 0; i < 30; i++) {
        snprintf(key, sizeof key, "g%04d", i);
        OK(digby_txn_put(txn, NULL, key, strlen(key), val, 10, 0));
    }
    OK(digby_txn_commit(txn));
    check_close(db);
    img = img_of_path(vfs, "f", &n);
    digby_vfs_mem_destroy(vfs);
    pgs = n / ps;
    for (p = 2; p < pgs; p++) {
        const uint8_t *pg = img + p * ps;
        if (digby__get64(pg + 16) != 2) continue;       /* commit 1's pages */
        if (pg[0] == 2 && branch < 0) branch = (long)p;
        if (pg[0] == 6 && index < 0) index = (long)p;
    }
    for (p = 2; p < pgs; p++)
        if (img[p * ps] == 5 && flist < 0) flist = (long)p;
    if (branch < 0 || index < 0 || flist < 0) {
        fprintf(stderr, "mkcorpus: crafted: no old branch/index/freelist page\n");
        exit(1);
    }
    w = (uint8_t *)malloc(n);
    if (!w) exit(1);
    write_crafted(dir, "base", img, n);
    /* a branch whose second child is itself */
    {
        uint8_t *pg;
        size_t cell;
        memcpy(w, img, n);
        pg = w + (size_t)branch * ps;
        cell = digby__get16(pg + 24 + 2);
        digby__put64(pg + cell, (uint64_t)branch);
        digby__put64(pg + cell + 8, 2);
        reseal(pg, ps);
        write_crafted(dir, "branch-self", w, n);
        /* ... and whose two children are one page */
        memcpy(w, img, n);
        pg = w + (size_t)branch * ps;
        digby__put64(pg + cell, digby__get64(pg + digby__get16(pg + 24)));
        reseal(pg, ps);
        write_crafted(dir, "branch-shared-child", w, n);
    }
    /* an overflow index page whose entries are itself */
    {
        uint8_t *pg;
        unsigned j, cnt;
        memcpy(w, img, n);
        pg = w + (size_t)index * ps;
        cnt = digby__get16(pg + 2);
        for (j = 0; j < cnt; j++) digby__put64(pg + 24 + 8 * j, (uint64_t)index);
        reseal(pg, ps);
        write_crafted(dir, "ovindex-self", w, n);
    }
    /* a freelist page that is its own next page */
    {
        uint8_t *pg;
        memcpy(w, img, n);
        pg = w + (size_t)flist * ps;
        digby__put64(pg + 24, (uint64_t)flist);
        reseal(pg, ps);
        write_crafted(dir, "freelist-self", w, n);
    }
    printf("%s/seed-crafted-*: %lu bytes (branch %ld, index %ld, freelist %ld)\n", dir,
           (unsigned long)n, branch, index, flist);
    free(w);
    free(img);
}

/* ---- plaintext images of encrypted files (fuzz_open.c mode bit 3) -------
   The template file of fuzz_open.c (same key, same entropy), written to,
   then every page decrypted with its data key. */
static void make_plaintext_encrypted(const char *dir, uint32_t ps)
{
    digby_vfs *vfs;
    digby_db *db;
    digby_txn *txn;
    digby_table *t;
    digby_options o;
    uint64_t es = 0x7e3b1a7e;
    uint8_t val[2000], *img;
    char key[32], name[64];
    size_t n, p;
    int i;
    db = open_mem(&vfs, &o, "t", ps, 1, &es);
    memset(val, 0x44, sizeof val);
    begin_with_table(db, &txn, "enc", &t);
    for (i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "e%04d", i);
        OK(digby_txn_put(txn, i % 2 ? t : NULL, key, strlen(key), val, (size_t)(i % 9), 0));
    }
    OK(digby_txn_put(txn, t, "big", 3, val, 1500, 0));
    OK(digby_txn_commit(txn));
    OK(digby_txn_begin(db, 0, &txn));
    OK(digby_txn_delete(txn, NULL, "e0000", 5));
    OK(digby_txn_put(txn, NULL, "zz", 2, val, 700, 0));
    OK(digby_txn_commit(txn));
    check_close(db);
    img = img_of_path(vfs, "t", &n);
    o.flags = DIGBY_OPEN_READONLY;
    OK(digby_open("t", &o, &db));
    for (p = 0; (p + 1) * ps <= n; p++)
        OK(digby__unseal_with(db, &db->crypt->cur, db->crypt->uuid, img + p * ps, ps));
    OK(digby_close(db));
    snprintf(name, sizeof name, "seed-plainenc-p%u", (unsigned)ps);
    write_ro_rw(dir, name, 9, img, n);
    printf("%s/seed-plainenc-p%u: %lu bytes\n", dir, (unsigned)ps, (unsigned long)n);
    free(img);
    digby_vfs_mem_destroy(vfs);
}

/* A file with a live log (see the header): page size ps, encrypted if
   asked. */
static void make_log_seed(const char *dir, uint32_t ps, int encrypted)
{
    digby_vfs *vfs;
    digby_db *db;
    digby_txn *txn;
    digby_table *t;
    digby_options o;
    uint64_t es = 0x106106;
    uint8_t val[200], *img;
    char key[32], name[64];
    size_t n;
    int i, c;
    OK(digby_vfs_mem_create(NULL, &vfs));
    memset(&o, 0, sizeof o);
    o.vfs = vfs;
    o.page_size = ps;
    o.flags = DIGBY_OPEN_LOG;
    o.memtable_bytes = (size_t)64 << 10;
    if (encrypted) { o.key = fuzz_key; o.key_bytes = sizeof fuzz_key; }
    o.entropy = det_entropy;
    o.entropy_ctx = &es;
    OK(digby_open("g", &o, &db));
    for (i = 0; i < (int)sizeof val; i++) val[i] = (uint8_t)(i * 11 + 3);
    /* the tables exist before the log's commits (creating one escalates) */
    begin_with_table(db, &txn, "alpha", &t);
    OK(digby_txn_put(txn, t, "a0", 2, val, 20, 0));
    OK(digby_txn_commit(txn));
    OK(digby_checkpoint(db));
    for (c = 0; c < 12; c++) {
        OK(digby_txn_begin(db, c % 3 ? DIGBY_TXN_NO_SYNC : 0, &txn));
        OK(digby_table_open(txn, "alpha", 0, &t));
        for (i = 0; i < 6 + c; i++) {
            snprintf(key, sizeof key, "k%02d-%03d", c, i * 5);
            OK(digby_txn_put(txn, i % 2 ? t : NULL, key, strlen(key), val + c, (size_t)(i * 7 % 60), 0));
        }
        if (c > 2) {
            snprintf(key, sizeof key, "k%02d-%03d", c - 2, 0);
            OK(digby_txn_delete(txn, NULL, key, strlen(key)));
        }
        OK(digby_txn_commit(txn));
    }
    img = img_of_path(vfs, "g", &n); /* before close: the log is live */
    OK(digby_close(db));
    digby_vfs_mem_destroy(vfs);
    /* the log grows the file by zero pages ahead of its writes: drop them
       (fuzz_open's inputs are at most 33,000 bytes), and the trimmed
       image must still open with its log and check clean */
    while (n >= ps) {
        size_t j;
        for (j = 0; j < ps && img[n - ps + j] == 0; j++) {}
        if (j < ps) break;
        n -= ps;
    }
    {
        digby_file *f;
        digby_stats st;
        OK(digby_vfs_mem_create(NULL, &vfs));
        OK(vfs->open(vfs, "g", DIGBY_VFS_CREATE, &f));
        OK(vfs->write(f, 0, img, n));
        vfs->close(f);
        o.vfs = vfs;
        o.flags = DIGBY_OPEN_READONLY;
        OK(digby_open("g", &o, &db));
        OK(digby_stat(db, &st));
        if (st.replay_commits != 12) {
            fprintf(stderr, "seed-log-p%u: %llu commits replayed, not 12\n", (unsigned)ps,
                    (unsigned long long)st.replay_commits);
            exit(1);
        }
        check_close(db);
    }
    snprintf(name, sizeof name, "seed-log-p%u%s", (unsigned)ps, encrypted ? "-enc" : "");
    write_ro_rw(dir, name, (uint8_t)(encrypted ? 1 : 0), img, n);
    snprintf(name, sizeof name, "seed-log-p%u%s-logmode", (unsigned)ps, encrypted ? "-enc" : "");
    write_file(dir, name, (uint8_t)(32 | 2 | (encrypted ? 1 : 0)), img, n);
    printf("%s/seed-log-p%u%s: %lu bytes\n", dir, (unsigned)ps, encrypted ? "-enc" : "",
           (unsigned long)n);
    free(img);
    digby_vfs_mem_destroy(vfs);
}

int main(int argc, char **argv)
{
    size_t i, j;
    if (argc != 3) {
        fprintf(stderr, "usage: %s OPEN_DIR OPS_DIR\n", argv[0]);
        return 2;
    }
    for (i = 0; i < sizeof seeds / sizeof seeds[0]; i++) make_db(argv[1], &seeds[i]);
    make_crafted(argv[1]);
    make_plaintext_encrypted(argv[1], 512);
    make_plaintext_encrypted(argv[1], 1024);
    make_plaintext_encrypted(argv[1], 4096);
    make_log_seed(argv[1], 512, 0);
    make_log_seed(argv[1], 1024, 0);
    make_log_seed(argv[1], 2048, 0);
    make_log_seed(argv[1], 512, 1);
    /* op sequences: the first byte is the configuration of fuzz_ops.c;
       ops-08 .. ops-11 also set bit 5 (a real file, memory-mapped) */
    for (i = 0; i < 12; i++) {
        uint8_t buf[600];
        uint64_t s = 1000 + i;
        char name[32];
        det_entropy(&s, buf, sizeof buf);
        /* page size, encryption, compression (and the map) */
        buf[0] = (uint8_t)(i < 8 ? i : 32 | (i & 3) | ((i & 1) << 4));
        snprintf(name, sizeof name, "ops-%02u", (unsigned)i);
        write_file(argv[2], name, buf[0], buf + 1, sizeof buf - 1);
        (void)j;
    }
    return 0;
}
