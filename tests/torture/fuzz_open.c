/* tests/torture/fuzz_open.c -- libFuzzer target: open an arbitrary file image.

   Input: one mode byte, then the file image.
     mode bit 0: open with the fixed raw key below (an encrypted file);
     mode bit 1: read-write: after reading, write (puts, deletes, a table
                 create and drop), commit, check, close, reopen, check;
     mode bit 2: the smallest page cache (16 pages), so pages are evicted
                 and re-read during scans;
     mode bit 3: (with bit 0) the image is the *plaintext* of an encrypted
                 file: each page is sealed under the data key of a fixed
                 template file (made here with the fixed key and
                 deterministic entropy, one per page size 512, 1024, 4096,
                 chosen by the page-size field at offset 36) before the
                 open, and the meta pages get the template's clear key
                 header, so mutations reach the parsers of encrypted files
                 (meta page body at FORMAT.md 10.3) as well;
     mode bit 4: the image goes into a real file (in $TMPDIR, else /tmp),
                 opened through the POSIX VFS with DIGBY_OPEN_MMAP: tree
                 pages are read in place from a map of the file (a plain
                 file in a build that can map; encrypted ones and builds
                 without mmap read through the cache).  With bit 2 the map
                 reserves no more than the file, so a write outgrows it;
     mode bit 5: log mode (DIGBY_OPEN_LOG, the smallest memtable): the
                 writes of bit 1 go to the write-ahead log and the memtable,
                 and close checkpoints.  (Whatever the bit, an image whose
                 meta page names a live log replays it at open: the seeds
                 seed-log-* hold one, FORMAT.md section 11.)
   Else the image goes into the in-memory VFS.  The target opens it, lists the
   tables, scans the global tree and every table forward and backward,
   gets every key it saw, runs digby_check, and (bit 1) writes.

   Built with -DDIGBY_FUZZ_NO_CHECKSUM, so plain pages are not checked
   against their xxHash32 and mutations reach the page parsers (encrypted
   pages are still authenticated: bit 0 exercises the key header, the meta
   page and the AEAD rejection paths).

   What must hold, besides "no crash, no sanitizer report, no hang":
   - every call returns DIGBY_OK or a digby error code;
   - a scan ends: it never takes more steps than the file has bytes;
   - when digby_check passes, the forward scan's keys rise strictly, the
     backward scan gives the same keys in reverse, and their number equals
     digby_table_count.
   A broken promise calls abort(), which libFuzzer reports as a crash.

   Also built without -fsanitize=fuzzer as a replay program (the main of
   fuzz_common.h, under -DFUZZ_REPLAY): each argument is an input file. */
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "det_entropy.h"
#include "fuzz_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h> /* getpid */

#define MAX_TABLES 16
#define MAX_KEYS 4096



/* ---- mode bit 3: plaintext images of encrypted files, resealed ---------- */

typedef struct tmpl {
    digby_vfs *vfs;
    digby_db *db;
    uint8_t hdr[2][DIGBY__M_CLEAR_END - 24];   /* the clear key headers */
} tmpl;

/* The template of page size ps: made once, kept open for its data key.
   tests/torture/fuzz_mkcorpus.c makes the same file (same key, same
   entropy) to write the seeds of this mode. */
static tmpl *template_for(uint32_t ps)
{
    static tmpl t[3];
    int i = ps == 1024 ? 1 : ps == 4096 ? 2 : 0;
    if (!t[i].db) {
        digby_options o;
        digby_file *f;
        uint8_t *page = (uint8_t *)malloc(ps);
        size_t got;
        uint64_t es = 0x7e3b1a7e;
        int slot;
        memset(&o, 0, sizeof o);
        if (!page || digby_vfs_mem_create(NULL, &t[i].vfs) != DIGBY_OK) abort();
        o.vfs = t[i].vfs;
        o.page_size = ps;
        o.key = fuzz_key;
        o.key_bytes = sizeof fuzz_key;
        o.entropy = det_entropy;
        o.entropy_ctx = &es;
        if (digby_open("t", &o, &t[i].db) != DIGBY_OK) abort();
        if (t[i].vfs->open(t[i].vfs, "t", DIGBY_VFS_READONLY, &f) != DIGBY_OK) abort();
        for (slot = 0; slot < 2; slot++) {
            if (t[i].vfs->read(f, (uint64_t)slot * ps, page, ps, &got) != DIGBY_OK || got != ps)
                abort();
            memcpy(t[i].hdr[slot], page + 24, sizeof t[i].hdr[slot]);
        }
        t[i].vfs->close(f);
        free(page);
    }
    return &t[i];
}

/* Seal a plaintext image (in place) under the template's data key. */
static void reseal(uint8_t *img, size_t size)
{
    uint32_t ps = size >= 40 ? digby__get32(img + 36) : 0;
    tmpl *t;
    size_t p;
    if (ps != 512 && ps != 1024 && ps != 4096) ps = 512;
    t = template_for(ps);
    for (p = 0; (p + 1) * ps <= size; p++) {
        uint8_t *pg = img + p * ps;
        if (p < 2 && pg[0] == DIGBY__PAGE_META) memcpy(pg + 24, t->hdr[p], sizeof t->hdr[p]);
        /* the nonce: whatever the input has there */
        if (digby__seal_with(t->db, &t->db->crypt->cur, t->db->crypt->uuid, pg, pg, ps) != DIGBY_OK)
            abort();
    }
}

static void fail(const char *what, int rc)
{
    fprintf(stderr, "fuzz_open: broken promise: %s (rc %d)\n", what, rc);
    abort();
}

static int is_code(int rc)
{
    return rc <= 0 && rc >= DIGBY_CANTOPEN;
}

#define CODE(x) do { int c_ = (x); if (!is_code(c_)) fail(#x " returned a non-digby code", c_); } while (0)

typedef struct keyrec {
    uint8_t *k;
    size_t n;
} keyrec;

typedef struct names {
    char name[MAX_TABLES][256];
    int n;
} names;

static int list_cb(void *ctx, const char *name, size_t name_bytes, uint64_t entries)
{
    names *t = (names *)ctx;
    (void)entries;
    if (t->n >= MAX_TABLES) return 1;
    if (name_bytes > 255) fail("table name longer than 255 bytes", 0);
    memcpy(t->name[t->n], name, name_bytes);
    t->name[t->n][name_bytes] = 0;
    if (strlen(t->name[t->n]) != name_bytes) { t->name[t->n][0] = 0; return 0; }
    t->n++;
    return 0;
}

static int keycmp(const keyrec *a, const uint8_t *k, size_t n)
{
    size_t m = a->n < n ? a->n : n;
    int c = m ? memcmp(a->k, k, m) : 0;
    if (c) return c;
    return a->n < n ? -1 : a->n > n;
}

/* Scan one tree both ways, get each key; with `strict` (digby_check
   passed), hold the ordering promises. */
static void scan_tree(digby_txn *txn, digby_table *t, int strict, uint64_t step_limit)
{
    digby_cursor *c;
    keyrec *keys = (keyrec *)calloc(MAX_KEYS, sizeof(keyrec));
    size_t nk = 0, i;
    uint64_t steps = 0, count = 0;
    int rc, complete = 0, rcomplete = 0;
    const void *k, *v;
    size_t kn, vn;
    uint64_t ver;
    if (!keys) abort();
    rc = digby_cursor_open(txn, t, &c);
    CODE(rc);
    if (rc) { free(keys); return; }
    for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
        if (++steps > step_limit) fail("forward scan does not end", 0);
        rc = digby_cursor_get(c, &k, &kn, &v, &vn, &ver);
        CODE(rc);
        if (rc) break;
        if (strict && nk > 0 && keycmp(&keys[nk - 1], (const uint8_t *)k, kn) >= 0)
            fail("keys do not rise in a checked tree", 0);
        if (nk < MAX_KEYS) {
            keys[nk].k = (uint8_t *)malloc(kn ? kn : 1);
            if (!keys[nk].k) abort();
            if (kn) memcpy(keys[nk].k, k, kn);
            keys[nk].n = kn;
            nk++;
        }
    }
    CODE(rc);
    if (rc == DIGBY_NOTFOUND) complete = 1;
    /* backward */
    i = nk;
    steps = 0;
    for (rc = digby_cursor_last(c); rc == DIGBY_OK; rc = digby_cursor_prev(c)) {
        if (++steps > step_limit) fail("backward scan does not end", 0);
        rc = digby_cursor_get(c, &k, &kn, NULL, NULL, NULL);
        CODE(rc);
        if (rc) break;
        if (strict && complete && nk < MAX_KEYS) {
            if (i == 0 || keycmp(&keys[i - 1], (const uint8_t *)k, kn) != 0)
                fail("backward scan differs from forward scan in a checked tree", 0);
            i--;
        }
    }
    CODE(rc);
    if (rc == DIGBY_NOTFOUND) rcomplete = 1;
    if (strict && complete && rcomplete && nk < MAX_KEYS && i != 0)
        fail("backward scan shorter than forward scan in a checked tree", 0);
    if (strict && complete && nk < MAX_KEYS) {
        rc = digby_table_count(txn, t, &count);
        CODE(rc);
        if (rc == DIGBY_OK && count != nk) fail("entry count differs from a checked scan", 0);
    }
    /* seeks and gets of every key seen */
    for (i = 0; i < nk; i++) {
        const void *gv;
        size_t gn;
        uint8_t buf[64];
        size_t got;
        uint64_t total;
        rc = digby_txn_get(txn, t, keys[i].k, keys[i].n, &gv, &gn, &ver);
        CODE(rc);
        if (strict && complete && rc == DIGBY_NOTFOUND)
            fail("a scanned key is not found in a checked tree", 0);
        rc = digby_txn_get_range(txn, t, keys[i].k, keys[i].n, 3, buf, sizeof buf,
                                 &got, &total);
        CODE(rc);
        rc = digby_cursor_seek(c, keys[i].k, keys[i].n, (digby_seek_op)(i % 5));
        CODE(rc);
        if (rc == DIGBY_OK) {
            CODE(digby_cursor_next(c));
            CODE(digby_cursor_prev(c));
            CODE(digby_cursor_get_range(c, 0, buf, sizeof buf, &got, &total));
        }
    }
    digby_cursor_close(c);
    for (i = 0; i < nk; i++) free(keys[i].k);
    free(keys);
}

static int read_all(digby_db *db, uint64_t step_limit)
{
    digby_txn *txn;
    digby_check_report rep;
    digby_stats st;
    names tn;
    int rc, i, strict;
    rc = digby_check(db, &rep);
    CODE(rc);
    strict = rc == DIGBY_OK;
    CODE(digby_stat(db, &st));
    rc = digby_txn_begin(db, DIGBY_TXN_READONLY, &txn);
    CODE(rc);
    if (rc) return rc;
    memset(&tn, 0, sizeof tn);
    rc = digby_table_list(txn, list_cb, &tn);
    if (rc != 1) CODE(rc);
    if (strict && rc != DIGBY_OK && rc != 1) fail("table list fails in a checked file", rc);
    scan_tree(txn, NULL, strict, step_limit);
    for (i = 0; i < tn.n; i++) {
        digby_table *t;
        rc = digby_table_open(txn, tn.name[i], 0, &t);
        CODE(rc);
        if (strict && rc == DIGBY_NOTFOUND) fail("a listed table is not found", 0);
        if (rc == DIGBY_OK) scan_tree(txn, t, strict, step_limit);
    }
    digby_txn_abort(txn);
    return strict ? DIGBY_OK : DIGBY_CORRUPT;
}

static void write_some(digby_db *db, const uint8_t *data, size_t size)
{
    digby_txn *txn;
    digby_table *t;
    uint8_t val[3000];
    size_t i;
    int rc;
    rc = digby_txn_begin(db, 0, &txn);
    CODE(rc);
    if (rc) return;
    memset(val, 0x5a, sizeof val);
    for (i = 0; i < 24 && rc == DIGBY_OK; i++) {
        size_t off = size ? (i * 131) % size : 0;
        size_t kn = size - off < 12 ? size - off : 12;
        rc = digby_txn_put(txn, NULL, data + off, kn, val, (i % 4 == 3) ? sizeof val : i, 0);
        CODE(rc);
        if (rc == DIGBY_OK && i % 3 == 0) {
            rc = digby_txn_delete(txn, NULL, data + off, kn);
            CODE(rc);
            if (rc == DIGBY_NOTFOUND) rc = DIGBY_OK;
        }
    }
    if (rc == DIGBY_OK) {
        rc = digby_table_open(txn, "fuzz-new", DIGBY_TABLE_CREATE, &t);
        CODE(rc);
        if (rc == DIGBY_OK) {
            rc = digby_txn_put(txn, t, "k", 1, val, 700, 0);
            CODE(rc);
        }
    }
    if (rc == DIGBY_OK) {
        rc = digby_table_drop(txn, "fuzz-new");
        CODE(rc);
    }
    if (rc == DIGBY_OK || rc == DIGBY_NOTFOUND) CODE(digby_txn_commit(txn));
    else digby_txn_abort(txn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    digby_vfs *vfs;
    digby_file *f;
    digby_db *db;
    digby_options o;
    uint64_t seed = 0x5eed;
    uint8_t mode;
    static char path[4200];
    const char *name;
    int rc;
    if (size < 1) return 0;
    mode = data[0];
    data++;
    size--;
    name = (mode & 16) ? path : "f";
    {
        uint8_t *img = (uint8_t *)malloc(size ? size : 1);
        if (!img) abort();
        if (size) memcpy(img, data, size);
        if ((mode & 9) == 9) reseal(img, size);
        if (mode & 16) {
            FILE *fp;
            fuzz_map_path(path, sizeof path, "fuzz_open_map");
            fp = fopen(path, "wb");
            if (!fp || (size && fwrite(img, 1, size, fp) != size) || fclose(fp) != 0) abort();
            vfs = NULL;
        } else {
            if (digby_vfs_mem_create(NULL, &vfs) != DIGBY_OK) abort();
            if (vfs->open(vfs, "f", DIGBY_VFS_CREATE, &f) != DIGBY_OK) abort();
            if (size && vfs->write(f, 0, img, size) != DIGBY_OK) abort();
            vfs->close(f);
        }
        free(img);
    }
    memset(&o, 0, sizeof o);
    o.vfs = vfs; /* NULL: the POSIX VFS */
    o.flags = DIGBY_OPEN_NO_CREATE | ((mode & 2) ? 0 : DIGBY_OPEN_READONLY) |
              ((mode & 16) ? DIGBY_OPEN_MMAP : 0) | ((mode & 32) ? DIGBY_OPEN_LOG : 0);
    if (mode & 32) o.memtable_bytes = (size_t)64 << 10;
    o.cache_bytes = (mode & 4) ? 1 : 0;
    if ((mode & 20) == 20) o.map_bytes = 1; /* as large as the file: a write outgrows it */
    if (mode & 1) {
        o.key = fuzz_key;
        o.key_bytes = sizeof fuzz_key;
    }
    o.entropy = det_entropy;
    o.entropy_ctx = &seed;
    rc = digby_open(name, &o, &db);
    CODE(rc);
    if (rc == DIGBY_OK) {
        uint64_t limit = (uint64_t)size + 16;
        int clean = read_all(db, limit);
        if (clean == DIGBY_OK && (mode & 17) == 16 && strstr(digby_version(), " mmap")) {
            /* a sound plain file in a build that maps: the map is in use */
            digby_stats st;
            if (digby_stat(db, &st) == DIGBY_OK && st.mapped_bytes == 0)
                fail("mode bit 4: the file was not mapped", 0);
        }
        if (mode & 2) {
            write_some(db, data, size);
            rc = digby_check(db, NULL);
            CODE(rc);
            if (clean == DIGBY_OK && rc != DIGBY_OK)
                fail("a checked file fails check after a commit", rc);
        }
        if (digby_close(db) != DIGBY_OK) fail("close", 0);
        if (mode & 2) {
            rc = digby_open(name, &o, &db);
            CODE(rc);
            if (clean == DIGBY_OK && rc != DIGBY_OK) fail("a checked file does not reopen", rc);
            if (rc == DIGBY_OK) {
                /* the file may have grown: bound by its new size */
                digby_stats st;
                if (digby_stat(db, &st) == DIGBY_OK) limit = st.file_bytes + 16;
                rc = read_all(db, limit);
                if (clean == DIGBY_OK && rc != DIGBY_OK)
                    fail("a checked file fails check after commit and reopen", rc);
                if (digby_close(db) != DIGBY_OK) fail("close", 0);
            }
        }
    }
    fuzz_release(vfs, path);
    return 0;
}

#ifdef FUZZ_REPLAY
FUZZ_REPLAY_MAIN("fuzz_open", "no failure")
#endif
