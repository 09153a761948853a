/* tests/torture/diskfull.c -- a real full file system: fill it through
   digby, and require the error, an intact database, and writes again once
   space is freed.

   usage: diskfull DIR [-r ROUNDS] [-o FILE] [-x]
     DIR     an empty, small file system (diskfull.sh mounts a 4 MiB tmpfs)
     -r N    rounds (default 12)
     -o FILE append the figure row to FILE
     -x      self-test: never free the space; the test must then fail

   Each round, with its own configuration (page size 512, 4096 or 65536;
   plain or encrypted; lz4 on or off):
     1. a ballast file takes a random part of the free space;
     2. a writer commits until a put or a commit fails: the error must be
        DIGBY_FULL or DIGBY_IOERR; the transaction is aborted, the handle
        closed (nothing crashes);
     3. with the disk still full, the file reopens, passes digby_check and
        holds exactly the acknowledged commits; one more write transaction
        is tried (it may fail, with DIGBY_FULL or DIGBY_IOERR only; the
        file must still reopen intact afterwards);
     4. the ballast is deleted (space freed); the file reopens, 20 more
        commits succeed, and after a reopen digby_check passes and the
        contents are exactly those of the last commit.
   The contents come from a model: commit c puts "k<c>" (a value of 100 to
   8099 bytes, compressible or not) and "last" = c, and deletes "k<c/2>"
   every 4th commit, so the file grows until the disk is full. */
#define DIGBY_IMPLEMENTATION
#include "digby.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NK 200000   /* most commits per round */

static char path[1024], ballast[1024];
static int fails;
static const uint8_t raw_key[32] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };

static void bad(int round, const char *what, long a)
{
    fails++;
    fprintf(stderr, "diskfull: round %d: %s (%ld)\n", round, what, a);
}

static size_t value_len(uint64_t c) { return 100 + (size_t)((c * 7919) % 8000); }

static void value_fill(uint8_t *v, uint64_t c, size_t n)
{
    size_t i;
    uint32_t x = (uint32_t)(c * 2654435761u) | 1;
    for (i = 0; i < n; i++) {
        if (c % 2) { v[i] = (uint8_t)(c + i / 100); continue; }
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        v[i] = (uint8_t)x;
    }
}

typedef struct model {
    uint64_t n;
    uint64_t g[NK];
} model;

static void model_apply(model *m, uint64_t c)
{
    m->g[c] = c;
    if (c % 4 == 0) m->g[c / 2] = 0;
    m->n = c;
}

/* One commit c; returns its result (DIGBY_OK, or the first error); sets
   failed_in_commit when the error came from digby_txn_commit. */
static int failed_in_commit;
static int commit_one(digby_db *db, uint64_t c)
{
    digby_txn *txn;
    uint8_t *val;
    char key[32];
    size_t n = value_len(c);
    int rc = digby_txn_begin(db, 0, &txn);
    if (rc) return rc;
    val = (uint8_t *)malloc(n);
    if (!val) exit(2);
    value_fill(val, c, n);
    sprintf(key, "k%06u", (unsigned)c);
    rc = digby_txn_put(txn, NULL, key, strlen(key), val, n, 0);
    if (rc == DIGBY_OK && c % 4 == 0) {
        sprintf(key, "k%06u", (unsigned)(c / 2));
        rc = digby_txn_delete(txn, NULL, key, strlen(key));
        if (rc == DIGBY_NOTFOUND) rc = DIGBY_OK;
    }
    if (rc == DIGBY_OK) rc = digby_txn_put(txn, NULL, "last", 4, &c, 8, 0);
    free(val);
    failed_in_commit = 0;
    if (rc) { digby_txn_abort(txn); return rc; }
    rc = digby_txn_commit(txn);
    failed_in_commit = rc != DIGBY_OK;
    return rc;
}

/* Reopen, check, compare with the model. */
static int verify(int round, const digby_options *o, const model *m)
{
    digby_db *db;
    digby_txn *txn;
    digby_cursor *cur;
    digby_check_report rep;
    uint8_t *val = (uint8_t *)malloc(8100);
    unsigned k = 0;
    int rc, diff = 0;
    if (!val) exit(2);
    rc = digby_open(path, o, &db);
    if (rc) { bad(round, "reopen failed", rc); free(val); return 1; }
    rc = digby_check(db, &rep);
    if (rc) { bad(round, rep.message, rc); }
    if (digby_txn_begin(db, DIGBY_TXN_READONLY, &txn)) { bad(round, "begin", 0); exit(1); }
    if (digby_cursor_open(txn, NULL, &cur)) { bad(round, "cursor", 0); exit(1); }
    for (rc = digby_cursor_first(cur); rc == DIGBY_OK && !diff; rc = digby_cursor_next(cur)) {
        const void *kp, *vp;
        size_t kn, vn;
        char want[32];
        if (digby_cursor_get(cur, &kp, &kn, &vp, &vn, NULL)) { diff = 1; break; }
        if (kn == 4 && memcmp(kp, "last", 4) == 0) {
            if (vn != 8 || memcmp(vp, &m->n, 8) != 0) diff = 2;
            continue;
        }
        while (k < NK && !m->g[k]) k++;
        if (k == NK) { diff = 3; break; }
        sprintf(want, "k%06u", k);
        if (strlen(want) != kn || memcmp(want, kp, kn) != 0) { diff = 4; break; }
        value_fill(val, m->g[k], value_len(m->g[k]));
        if (vn != value_len(m->g[k]) || memcmp(vp, val, vn) != 0) diff = 5;
        k++;
    }
    if (!diff && rc != DIGBY_NOTFOUND) diff = 6;
    while (!diff && k < NK && !m->g[k]) k++;
    if (!diff && k != NK) diff = 7;
    if (diff) bad(round, "contents differ from the last acknowledged commit", diff);
    digby_cursor_close(cur);
    digby_txn_abort(txn);
    if (digby_close(db)) bad(round, "close", 0);
    free(val);
    return diff != 0 || rc != DIGBY_NOTFOUND;
}

static int fill_ballast(size_t bytes)
{
    int fd = open(ballast, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    static uint8_t buf[65536];
    size_t done = 0;
    if (fd < 0) return -1;
    memset(buf, 0xbb, sizeof buf);
    while (done < bytes) {
        size_t n = bytes - done < sizeof buf ? bytes - done : sizeof buf;
        ssize_t w = write(fd, buf, n);
        if (w <= 0) break;
        done += (size_t)w;
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    int rounds = 12, round, opt, selftest = 0;
    const char *figfile = NULL, *dir;
    int n_full = 0, n_ioerr = 0, n_intact = 0, n_again = 0, n_extra_ok = 0, n_in_commit = 0;
    uint64_t commits = 0;
    static const uint32_t psz[3] = { 512, 4096, 65536 };
    uint64_t rng = 12345;
    char line[400];
    model *m = (model *)malloc(sizeof(model));
    if (argc < 2 || !m) {
        fprintf(stderr, "usage: %s DIR [-r ROUNDS] [-o FILE] [-x]\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    optind = 2;
    while ((opt = getopt(argc, argv, "r:o:x")) != -1) {
        switch (opt) {
        case 'r': rounds = atoi(optarg); break;
        case 'o': figfile = optarg; break;
        case 'x': selftest = 1; break;
        default: return 2;
        }
    }
    snprintf(path, sizeof path, "%s/full.digby", dir);
    snprintf(ballast, sizeof ballast, "%s/ballast", dir);
    for (round = 0; round < rounds; round++) {
        digby_options o;
        digby_db *db;
        uint64_t c, filled;
        int rc = DIGBY_OK, i, err;
        memset(&o, 0, sizeof o);
        o.page_size = psz[round % 3];
        if (round % 2) { o.key = raw_key; o.key_bytes = 32; }
        if ((round / 2) % 2) o.compression = DIGBY_COMPRESS_LZ4;
        memset(m, 0, sizeof *m);
        unlink(path);
        unlink(ballast);
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        fill_ballast((size_t)((rng >> 33) % (2u << 20)));
        /* 2. fill */
        rc = digby_open(path, &o, &db);
        if (rc) {
            /* the ballast may leave no room for even the first pages */
            if (rc != DIGBY_FULL && rc != DIGBY_IOERR) bad(round, "open on a nearly full disk", rc);
            unlink(ballast);
            rc = digby_open(path, &o, &db);
            if (rc) { bad(round, "open after freeing", rc); continue; }
        }
        for (c = 1; ; c++) {
            rc = commit_one(db, c);
            if (rc) break;
            model_apply(m, c);
            commits++;
            if (c + 100 > NK) { bad(round, "the disk never filled", 0); break; }
        }
        filled = m->n;
        err = rc;
        n_in_commit += failed_in_commit;
        if (rc == DIGBY_FULL) n_full++;
        else if (rc == DIGBY_IOERR) n_ioerr++;
        else bad(round, "a full disk gave another error", rc);
        if (digby_close(db)) bad(round, "close after the error", 0);
        /* 3. still full: reopen intact; one more try */
        if (verify(round, &o, m) == 0) n_intact++;
        rc = digby_open(path, &o, &db);
        if (rc == DIGBY_OK) {
            rc = commit_one(db, m->n + 1);
            if (rc == DIGBY_OK) { model_apply(m, m->n + 1); n_extra_ok++; }
            else if (rc != DIGBY_FULL && rc != DIGBY_IOERR) bad(round, "a write on a full disk gave another error", rc);
            if (digby_close(db)) bad(round, "close", 0);
        } else {
            bad(round, "reopen on a full disk", rc);
        }
        if (verify(round, &o, m)) continue;
        /* 4. free the space; write again */
        if (!selftest) unlink(ballast);
        rc = digby_open(path, &o, &db);
        if (rc) { bad(round, "reopen after freeing space", rc); continue; }
        for (i = 0; i < 20; i++) {
            rc = commit_one(db, m->n + 1);
            if (rc) { bad(round, "a write after freeing space failed", rc); break; }
            model_apply(m, m->n + 1);
        }
        if (digby_close(db)) bad(round, "close", 0);
        if (i == 20 && verify(round, &o, m) == 0) n_again++;
        else continue;
        printf("diskfull: round %d (page %u, %s, %s): %llu commits, then %s; reopened intact; written again\n",
               round, o.page_size, o.key ? "encrypted" : "plain", o.compression ? "lz4" : "no lz4",
               (unsigned long long)filled, digby_strerror(err));
    }
    unlink(path);
    unlink(ballast);
    snprintf(line, sizeof line,
             "| disk full (4 MiB tmpfs)%s | %d rounds | %d DIGBY_FULL + %d DIGBY_IOERR returned (%d by a put, %d by a commit) | %d reopened intact while full | %d written again after freeing | %d violations |",
             selftest ? " (SELF-TEST: space never freed)" : "", rounds, n_full, n_ioerr,
             n_full + n_ioerr - n_in_commit, n_in_commit, n_intact, n_again, fails);
    printf("%s\n", line);
    printf("diskfull: %llu commits acknowledged; %d extra writes on the full disk succeeded\n",
           (unsigned long long)commits, n_extra_ok);
    if (figfile) {
        FILE *f = fopen(figfile, "a");
        if (f) { fprintf(f, "%s\n", line); fclose(f); }
    }
    free(m);
    return fails ? 1 : 0;
}
