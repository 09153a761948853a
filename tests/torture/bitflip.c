/* tests/torture/bitflip.c -- damage a database file every way one page can be
   damaged, and hold digby to "an error, or exactly the right data".

   usage: bitflip [-k KIB] [-e] [-g] [-s STEP] [-q STEP] [-n NAME] [-o FILE] [-x N] [-y N] [-t SEC]
     -k KIB   file size to build: 16 or 32 (KiB) at 512-byte pages
     -e       encrypted (AES-128-GCM, raw key)
     -g       log mode (DIGBY_OPEN_LOG; the default with DIGBY_LOG_DEFAULT):
              the workload ends with LOG_TAIL small commits that stay in the
              write-ahead log (FORMAT.md 11), so the last image has a live
              log of several pages, one of them holding a record that spans
              pages
     -s STEP  flip every STEP-th bit only (a slice); default 1: every bit
     -q STEP  replace each page by every STEP-th other page only (a slice);
              default 1: by every other page
     -n NAME  the label in the figure row
     -o FILE  append the figure rows to FILE
     -x N     self-test: trial N crashes (abort); -y N: trial N hangs
     -t SEC   a trial taking longer than SEC seconds is a hang (default 20)

   The file: a workload of small commits (the global tree, two named
   tables, overflow values, a large key, overwrites and deletes, so the
   freelist and pending frees are non-empty) at 512-byte pages, run until
   the file reaches the size asked for.  The image after every commit is
   kept.  Each trial then damages the last image and:
     opens it (read-only), lists the tables, scans every tree forward, gets
     every key of the expected contents, runs digby_check.
   Damage, one trial each:
     - every bit of the file flipped, one at a time;
     - each page replaced by zeros;
     - each page replaced by each distinct older version of itself (from
       any earlier commit: a lost or stale write);
     - each page replaced by every other page of the file (a misdirected
       write);
     - each page torn: first half new and second half from its last older
       version, and the other way round.
   Outcomes:
     detected  open, a read or digby_check returned an error, and every
               result returned before that was right;
     harmless  everything succeeded and returned exactly the last commit;
     older     everything succeeded and returned exactly the previous
               commit (the damage hit a page of the last commit, which open
               verifies and falls back from -- by design; FORMAT.md 3);
     wrong     a call succeeded with data that is neither (must be 0);
     crash / hang: the trial killed its worker process, or took over 20 s
               (must be 0).
   Trials run in forked workers; a crash or hang is recorded with its trial
   and the sweep goes on after it.  Exit status 1 if any trial was wrong,
   crashed or hung. */
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS */
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "det_entropy.h"
#include "figures.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 512
#define MAX_IMAGES 400
#define MAX_RECS 2000

static const uint8_t raw_key[16] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16
};

static int encrypted;
#ifdef DIGBY_LOG_DEFAULT
static int logmode = 1;
#else
static int logmode;
#endif
#define LOG_TAIL 8
static digby_options base_opts;
static uint64_t entropy_state = 99;


#define OK(x) do { int rc_ = (x); if (rc_) { fprintf(stderr, "bitflip:%d: %s: %s\n", __LINE__, #x, digby_strerror(rc_)); exit(2); } } while (0)

/* ---- expected contents ----------------------------------------------------- */

typedef struct rec {
    int table;            /* index into names, 0 = global tree */
    uint8_t *k, *v;
    size_t kn, vn;
    uint64_t ver;
} rec;

typedef struct contents {
    uint64_t txid;
    int ntables;          /* named tables */
    char names[8][32];
    uint64_t counts[8];
    rec recs[MAX_RECS];
    int nrecs;
} contents;

typedef struct image {
    uint8_t *bytes;
    size_t size;
} image;

static image images[MAX_IMAGES];
static int nimages;
static contents *want_last, *want_prev;

/* ---- reading a database ------------------------------------------------------ */

typedef struct reader {
    const contents *want;       /* compare against this as we go */
    int pos;                    /* next expected record */
    int bad;                    /* a wrong result was seen */
    char why[160];
} reader;

typedef struct list_ctx {
    reader *r;
    int i;
} list_ctx;

static void wrong(reader *r, const char *why)
{
    if (!r->bad) snprintf(r->why, sizeof r->why, "%s", why);
    r->bad = 1;
}

static int list_cb(void *ctx, const char *name, size_t n, uint64_t entries)
{
    list_ctx *l = (list_ctx *)ctx;
    const contents *w = l->r->want;
    if (l->i >= w->ntables || strlen(w->names[l->i + 1]) != n ||
        memcmp(w->names[l->i + 1], name, n) != 0 || w->counts[l->i + 1] != entries)
        wrong(l->r, "table list differs");
    l->i++;
    return 0;
}

/* Scan tree `ti` with a cursor, comparing each entry as it comes. */
static int scan(reader *r, digby_txn *txn, digby_table *t, int ti)
{
    digby_cursor *c;
    int rc;
    rc = digby_cursor_open(txn, t, &c);
    if (rc) return rc;
    for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
        const void *k, *v;
        size_t kn, vn;
        uint64_t ver;
        const rec *e;
        rc = digby_cursor_get(c, &k, &kn, &v, &vn, &ver);
        if (rc) break;
        e = r->pos < r->want->nrecs ? &r->want->recs[r->pos] : NULL;
        if (!e || e->table != ti || e->kn != kn || memcmp(e->k, k, kn) != 0 ||
            e->vn != vn || memcmp(e->v, v, vn) != 0 || e->ver != ver) {
            wrong(r, "scan returned a wrong entry");
            break;
        }
        r->pos++;
    }
    digby_cursor_close(c);
    if (rc == DIGBY_NOTFOUND) {
        if (r->pos < r->want->nrecs && r->want->recs[r->pos].table == ti)
            wrong(r, "scan ended early");
        return DIGBY_OK;
    }
    return rc;
}

/* Everything of the open database against `want` (chosen by the snapshot's
   txid).  Returns the first error code, or DIGBY_OK; r->bad says whether a
   successful call returned wrong data. */
static int read_db(digby_db *db, reader *r, contents **want_by_txid, int nwant)
{
    digby_txn *txn;
    list_ctx l;
    int rc, i;
    uint64_t id;
    rc = digby_txn_begin(db, DIGBY_TXN_READONLY, &txn);
    if (rc) return rc;
    id = digby_txn_id(txn);
    r->want = NULL;
    for (i = 0; i < nwant; i++)
        if (want_by_txid[i] && want_by_txid[i]->txid == id) r->want = want_by_txid[i];
    /* log mode: the meta page before the last one may be a checkpoint,
       which takes an id of its own (FORMAT.md 11.4) between the previous
       commit's and the last one's; no commit came between them, so it
       holds exactly the previous commit */
    if (!r->want && nwant == 2 && want_by_txid[0] && want_by_txid[1] &&
        id > want_by_txid[1]->txid && id < want_by_txid[0]->txid)
        r->want = want_by_txid[1];
    if (!r->want) {
        wrong(r, "snapshot is neither the last nor the previous commit");
        digby_txn_abort(txn);
        return DIGBY_OK;
    }
    l.r = r;
    l.i = 0;
    rc = digby_table_list(txn, list_cb, &l);
    if (rc == DIGBY_OK && l.i != r->want->ntables) wrong(r, "table list is short");
    if (rc == DIGBY_OK) rc = scan(r, txn, NULL, 0);
    for (i = 1; rc == DIGBY_OK && !r->bad && i <= r->want->ntables; i++) {
        digby_table *t;
        rc = digby_table_open(txn, r->want->names[i], 0, &t);
        if (rc == DIGBY_NOTFOUND) { wrong(r, "listed table not found"); rc = DIGBY_OK; break; }
        if (rc == DIGBY_OK) rc = scan(r, txn, t, i);
    }
    if (rc == DIGBY_OK && !r->bad && r->pos != r->want->nrecs) wrong(r, "fewer entries");
    /* gets of every expected key */
    for (i = 0; rc == DIGBY_OK && !r->bad && i < r->want->nrecs; i++) {
        const rec *e = &r->want->recs[i];
        digby_table *t = NULL;
        const void *v;
        size_t vn;
        uint64_t ver;
        if (e->table) rc = digby_table_open(txn, r->want->names[e->table], 0, &t);
        if (rc) break;
        rc = digby_txn_get(txn, t, e->k, e->kn, &v, &vn, &ver);
        if (rc == DIGBY_NOTFOUND) { wrong(r, "get: key not found"); rc = DIGBY_OK; break; }
        if (rc == DIGBY_OK && (vn != e->vn || memcmp(v, e->v, vn) != 0 || ver != e->ver))
            wrong(r, "get: wrong value");
    }
    digby_txn_abort(txn);
    return rc;
}

/* Record the contents of a clean database (the reference). */
static int dump_cb(void *ctx, const char *name, size_t n, uint64_t entries)
{
    contents *c = (contents *)ctx;
    if (c->ntables >= 7 || n >= 32) { fprintf(stderr, "too many tables\n"); exit(2); }
    c->ntables++;
    memcpy(c->names[c->ntables], name, n);
    c->names[c->ntables][n] = 0;
    c->counts[c->ntables] = entries;
    return 0;
}

static void dump_tree(contents *c, digby_txn *txn, digby_table *t, int ti)
{
    digby_cursor *cur;
    int rc;
    OK(digby_cursor_open(txn, t, &cur));
    for (rc = digby_cursor_first(cur); rc == DIGBY_OK; rc = digby_cursor_next(cur)) {
        const void *k, *v;
        size_t kn, vn;
        uint64_t ver;
        rec *e;
        OK(digby_cursor_get(cur, &k, &kn, &v, &vn, &ver));
        if (c->nrecs >= MAX_RECS) { fprintf(stderr, "too many records\n"); exit(2); }
        e = &c->recs[c->nrecs++];
        e->table = ti;
        e->k = (uint8_t *)malloc(kn + 1);
        e->v = (uint8_t *)malloc(vn + 1);
        if (!e->k || !e->v) exit(2);
        memcpy(e->k, k, kn);
        memcpy(e->v, v, vn);
        e->kn = kn;
        e->vn = vn;
        e->ver = ver;
    }
    if (rc != DIGBY_NOTFOUND) OK(rc);
    digby_cursor_close(cur);
}

/* Load bytes into a fresh in-memory VFS as file "f". */
static digby_vfs *load(const uint8_t *bytes, size_t n)
{
    digby_vfs *vfs;
    digby_file *f;
    OK(digby_vfs_mem_create(NULL, &vfs));
    OK(vfs->open(vfs, "f", DIGBY_VFS_CREATE, &f));
    OK(vfs->write(f, 0, bytes, n));
    vfs->close(f);
    return vfs;
}

static contents *dump_image(const image *im)
{
    contents *c = (contents *)calloc(1, sizeof *c);
    digby_vfs *vfs = load(im->bytes, im->size);
    digby_options o = base_opts;
    digby_db *db;
    digby_txn *txn;
    int i;
    if (!c) exit(2);
    o.vfs = vfs;
    o.flags = DIGBY_OPEN_READONLY | DIGBY_OPEN_NO_CREATE;
    OK(digby_open("f", &o, &db));
    OK(digby_check(db, NULL));
    OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &txn));
    c->txid = digby_txn_id(txn);
    OK(digby_table_list(txn, dump_cb, c));
    dump_tree(c, txn, NULL, 0);
    for (i = 1; i <= c->ntables; i++) {
        digby_table *t;
        OK(digby_table_open(txn, c->names[i], 0, &t));
        dump_tree(c, txn, t, i);
    }
    digby_txn_abort(txn);
    OK(digby_close(db));
    digby_vfs_mem_destroy(vfs);
    return c;
}

/* ---- the workload -------------------------------------------------------------- */

static void snapshot_file(digby_vfs *vfs)
{
    digby_file *f;
    uint64_t size;
    size_t got;
    image *im;
    if (nimages >= MAX_IMAGES) { fprintf(stderr, "too many commits\n"); exit(2); }
    im = &images[nimages++];
    OK(vfs->open(vfs, "f", 0, &f));
    OK(vfs->size(f, &size));
    im->size = (size_t)size;
    im->bytes = (uint8_t *)malloc(im->size);
    if (!im->bytes) exit(2);
    OK(vfs->read(f, 0, im->bytes, im->size, &got));
    vfs->close(f);
}

static void build(size_t target)
{
    digby_vfs *vfs;
    digby_db *db;
    digby_options o = base_opts;
    uint8_t val[1200];
    char key[200];
    int i, round = 0;
    OK(digby_vfs_mem_create(NULL, &vfs));
    o.vfs = vfs;
    o.page_size = PAGE;
    if (logmode) o.flags |= DIGBY_OPEN_LOG;
    OK(digby_open("f", &o, &db));
    for (i = 0; i < (int)sizeof val; i++) val[i] = (uint8_t)(i * 13 + (i >> 7));
    snapshot_file(vfs);
    while (images[nimages - 1].size < target) {
        digby_txn *txn;
        digby_table *ta, *tb;
        int j;
        OK(digby_txn_begin(db, 0, &txn));
        OK(digby_table_open(txn, "alpha", DIGBY_TABLE_CREATE, &ta));
        OK(digby_table_open(txn, "beta", DIGBY_TABLE_CREATE, &tb));
        for (j = 0; j < 3; j++) {
            int n = round * 3 + j;
            snprintf(key, sizeof key, "g%05d", (n * 7919) % 10007);
            OK(digby_txn_put(txn, NULL, key, strlen(key), val + n % 50, (size_t)(n % 40), 0));
        }
        snprintf(key, sizeof key, "a%03d", round % 23);
        OK(digby_txn_put(txn, ta, key, strlen(key), val + round, (size_t)(round % 5 == 0 ? 700 : 20), 0));
        if (round % 4 == 1) {
            snprintf(key, sizeof key, "g%05d", ((round - 1) * 3 * 7919) % 10007);
            OK(digby_txn_delete(txn, NULL, key, strlen(key)));
        }
        if (round == 2) {
            memset(key, 'K', 150);
            OK(digby_txn_put(txn, tb, key, 150, "large key", 9, 0));
        }
        if (round % 6 == 3) {
            OK(digby_txn_put(txn, tb, "counter", 7, &round, sizeof round, 0));
        }
        OK(digby_txn_commit(txn));
        snapshot_file(vfs);
        round++;
    }
    /* log mode: commits that stay in the log (small values in tables that
       exist: no checkpoint), each durable, so each starts a log page; the
       fourth is large enough to span pages */
    for (i = 0; logmode && i < LOG_TAIL; i++) {
        digby_txn *txn;
        digby_table *ta;
        int j, n = i == 3 ? 30 : 4;
        OK(digby_txn_begin(db, 0, &txn));
        OK(digby_table_open(txn, "alpha", 0, &ta));
        for (j = 0; j < n; j++) {
            snprintf(key, sizeof key, "t%02d.%02d", i, j);
            OK(digby_txn_put(txn, j % 2 ? ta : NULL, key, strlen(key), val + i + j, (size_t)(10 + (i * 7 + j) % 30), 0));
        }
        if (i == 5) OK(digby_txn_delete(txn, ta, "t03.01", 6));
        OK(digby_txn_commit(txn));
        snapshot_file(vfs);
    }
    OK(digby_check(db, NULL));
    OK(digby_close(db));
    digby_vfs_mem_destroy(vfs);
}

/* ---- trials -------------------------------------------------------------------- */

enum { T_BIT, T_ZERO, T_STALE, T_OTHER, T_TORN_NEW_OLD, T_TORN_OLD_NEW, T_KINDS };
static const char *const kind_name[T_KINDS] = {
    "bit flips", "page zeroed", "stale page", "page of another", "torn page (new|old)",
    "torn page (old|new)"
};

typedef struct trial {
    uint8_t kind;
    uint32_t a, b;     /* bit; page; page + image; page + page */
} trial;

enum { O_DETECTED, O_HARMLESS, O_OLDER, O_WRONG, O_CRASH, O_HANG, O_N };

typedef struct shared {
    volatile uint64_t cur;
    volatile uint64_t done;
    volatile uint64_t count[T_KINDS][O_N];
} shared;

static trial *trials;
static size_t ntrials, trials_cap;
static shared *sh;
static uint8_t *work;
static int verbose_wrong = 20;
static long selftest_crash = -1, selftest_hang = -1;
static unsigned trial_seconds = 20;

static void add_trial(int kind, uint32_t a, uint32_t b)
{
    if (ntrials == trials_cap) {
        trials_cap = trials_cap ? trials_cap * 2 : 4096;
        trials = (trial *)realloc(trials, trials_cap * sizeof *trials);
        if (!trials) exit(2);
    }
    trials[ntrials].kind = (uint8_t)kind;
    trials[ntrials].a = a;
    trials[ntrials].b = b;
    ntrials++;
}

/* The last older version of page p that differs from the current one. */
static int last_older(uint32_t p)
{
    const image *cur = &images[nimages - 1];
    int i;
    for (i = nimages - 2; i >= 0; i--)
        if (images[i].size >= (size_t)(p + 1) * PAGE &&
            memcmp(images[i].bytes + (size_t)p * PAGE, cur->bytes + (size_t)p * PAGE, PAGE) != 0)
            return i;
    return -1;
}

static void make_trials(size_t step, size_t qstep)
{
    const image *cur = &images[nimages - 1];
    uint32_t npages = (uint32_t)(cur->size / PAGE), p, q;
    uint64_t bit;
    int i, j;
    for (bit = 0; bit < (uint64_t)cur->size * 8; bit += step) add_trial(T_BIT, (uint32_t)bit, 0);
    for (p = 0; p < npages; p++) {
        add_trial(T_ZERO, p, 0);
        /* every distinct older version */
        for (i = nimages - 2; i >= 0; i--) {
            const uint8_t *old = images[i].bytes + (size_t)p * PAGE;
            int dup = 0;
            if (images[i].size < (size_t)(p + 1) * PAGE) continue;
            if (memcmp(old, cur->bytes + (size_t)p * PAGE, PAGE) == 0) continue;
            for (j = i + 1; j <= nimages - 2 && !dup; j++)
                if (images[j].size >= (size_t)(p + 1) * PAGE &&
                    memcmp(old, images[j].bytes + (size_t)p * PAGE, PAGE) == 0)
                    dup = 1;
            if (!dup) add_trial(T_STALE, p, (uint32_t)i);
        }
        for (q = 1; q < npages; q += (uint32_t)qstep)
            add_trial(T_OTHER, p, (p + q) % npages);
        i = last_older(p);
        if (i >= 0) {
            add_trial(T_TORN_NEW_OLD, p, (uint32_t)i);
            add_trial(T_TORN_OLD_NEW, p, (uint32_t)i);
        }
    }
}

static void describe(const trial *t, char *buf, size_t n)
{
    switch (t->kind) {
    case T_BIT: snprintf(buf, n, "bit %u (byte %u of page %u)", t->a, t->a / 8, t->a / 8 / PAGE); break;
    case T_ZERO: snprintf(buf, n, "page %u zeroed", t->a); break;
    case T_STALE: snprintf(buf, n, "page %u from commit image %u", t->a, t->b); break;
    case T_OTHER: snprintf(buf, n, "page %u replaced by page %u", t->a, t->b); break;
    default: snprintf(buf, n, "page %u torn with image %u (%s)", t->a, t->b, kind_name[t->kind]); break;
    }
}

static int run_trial(const trial *t, char *why, size_t whyn)
{
    const image *cur = &images[nimages - 1];
    size_t half = PAGE / 2;
    uint8_t *pg;
    digby_vfs *vfs;
    digby_db *db;
    digby_options o = base_opts;
    contents *wants[2];
    reader r;
    int rc;
    memcpy(work, cur->bytes, cur->size);
    pg = work + (size_t)t->a * PAGE;
    switch (t->kind) {
    case T_BIT: work[t->a / 8] ^= (uint8_t)(1u << (t->a % 8)); break;
    case T_ZERO: memset(pg, 0, PAGE); break;
    case T_STALE: memcpy(pg, images[t->b].bytes + (size_t)t->a * PAGE, PAGE); break;
    case T_OTHER: memcpy(pg, cur->bytes + (size_t)t->b * PAGE, PAGE); break;
    case T_TORN_NEW_OLD:
        memcpy(pg + half, images[t->b].bytes + (size_t)t->a * PAGE + half, PAGE - half);
        break;
    case T_TORN_OLD_NEW: memcpy(pg, images[t->b].bytes + (size_t)t->a * PAGE, half); break;
    }
    vfs = load(work, cur->size);
    o.vfs = vfs;
    o.flags = DIGBY_OPEN_READONLY | DIGBY_OPEN_NO_CREATE;
    memset(&r, 0, sizeof r);
    rc = digby_open("f", &o, &db);
    if (rc == DIGBY_OK) {
        wants[0] = want_last;
        wants[1] = want_prev;
        rc = read_db(db, &r, wants, 2);
        if (rc == DIGBY_OK && !r.bad) rc = digby_check(db, NULL);
        if (digby_close(db) != DIGBY_OK) wrong(&r, "close failed");
    }
    digby_vfs_mem_destroy(vfs);
    if (r.bad) { snprintf(why, whyn, "%s", r.why); return O_WRONG; }
    if (rc != DIGBY_OK) return O_DETECTED;
    return r.want == want_last ? O_HARMLESS : O_OLDER;
}

static void worker(size_t from)
{
    size_t i;
    char why[160], what[120];
    for (i = from; i < ntrials; i++) {
        int o;
        sh->cur = i;
        alarm(trial_seconds);
        if ((long)i == selftest_crash) abort();
        if ((long)i == selftest_hang) for (;;) pause();
        o = run_trial(&trials[i], why, sizeof why);
        alarm(0);
        if (o == O_WRONG && verbose_wrong > 0) {
            verbose_wrong--;
            describe(&trials[i], what, sizeof what);
            fprintf(stderr, "bitflip: WRONG ANSWER: %s: %s\n", what, why);
        }
        sh->count[trials[i].kind][o]++;
        sh->done = i + 1;
    }
    _exit(0);
}

int main(int argc, char **argv)
{
    size_t kib = 16, step = 1, qstep = 1, next = 0;
    const char *name = NULL, *figfile = NULL;
    int opt, k, o, bad = 0;
    uint64_t tot[O_N];
    FILE *fig = NULL;
    while ((opt = getopt(argc, argv, "k:egs:q:n:o:x:y:t:")) != -1) {
        switch (opt) {
        case 'k': kib = (size_t)atoi(optarg); break;
        case 'e': encrypted = 1; break;
        case 'g': logmode = 1; break;
        case 's': step = (size_t)atoi(optarg); break;
        case 'q': qstep = (size_t)atoi(optarg); break;
        case 'n': name = optarg; break;
        case 'o': figfile = optarg; break;
        case 'x': selftest_crash = atol(optarg); break;
        case 'y': selftest_hang = atol(optarg); break;
        case 't': trial_seconds = (unsigned)atoi(optarg); break;
        default:
            fprintf(stderr, "usage: %s [-k KIB] [-e] [-g] [-s STEP] [-q STEP] [-n NAME] [-o FILE] [-x N] [-y N] [-t SEC]\n", argv[0]);
            return 2;
        }
    }
    if (step < 1) step = 1;
    if (qstep < 1) qstep = 1;
    memset(&base_opts, 0, sizeof base_opts);
    base_opts.entropy = det_entropy;
    base_opts.entropy_ctx = &entropy_state;
    if (encrypted) { base_opts.key = raw_key; base_opts.key_bytes = sizeof raw_key; }
    build(kib * 1024);
    want_last = dump_image(&images[nimages - 1]);
    want_prev = dump_image(&images[nimages - 2]);
    if (want_last->txid == want_prev->txid) { fprintf(stderr, "same txid\n"); return 2; }
    make_trials(step, qstep);
    work = (uint8_t *)malloc(images[nimages - 1].size);
    sh = (shared *)mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!work || sh == MAP_FAILED) return 2;
    memset((void *)sh, 0, sizeof *sh);
    printf("bitflip: %s file of %zu bytes (%zu pages of %d, %d commits, %d entries), %zu trials\n",
           encrypted ? "encrypted" : "plain", images[nimages - 1].size,
           images[nimages - 1].size / PAGE, PAGE, nimages - 1, want_last->nrecs, ntrials);
    fflush(stdout);
    while (next < ntrials) {
        pid_t pid = fork();
        int st;
        if (pid < 0) { perror("fork"); return 2; }
        if (pid == 0) worker(next);
        if (waitpid(pid, &st, 0) < 0) { perror("waitpid"); return 2; }
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) break;
        {
            const trial *t = &trials[sh->cur];
            char what[120];
            int hang = WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM;
            describe(t, what, sizeof what);
            fprintf(stderr, "bitflip: %s: %s (%s %d)\n", hang ? "HANG" : "CRASH", what,
                    WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
            sh->count[t->kind][hang ? O_HANG : O_CRASH]++;
            next = sh->cur + 1;
        }
    }
    memset(tot, 0, sizeof tot);
    if (figfile) fig = fopen(figfile, "a");
    for (k = 0; k < T_KINDS; k++) {
        char a[6][32], line[400];
        uint64_t tried = 0;
        for (o = 0; o < O_N; o++) { tried += sh->count[k][o]; tot[o] += sh->count[k][o]; }
        if (!tried) continue;
        fmt(a[0], 32, tried);
        fmt(a[1], 32, sh->count[k][O_DETECTED]);
        fmt(a[2], 32, sh->count[k][O_HARMLESS]);
        fmt(a[3], 32, sh->count[k][O_OLDER]);
        fmt(a[4], 32, sh->count[k][O_WRONG]);
        fmt(a[5], 32, sh->count[k][O_CRASH] + sh->count[k][O_HANG]);
        snprintf(line, sizeof line,
                 "| %s, %s%s | %s tried | %s detected | %s harmless | %s older commit | %s wrong | %s crashes/hangs |",
                 kind_name[k], name ? name : (encrypted ? "encrypted" : "plain"),
                 (k == T_BIT && step > 1) || (k == T_OTHER && qstep > 1) ? " (a stride)" : "",
                 a[0], a[1], a[2], a[3], a[4], a[5]);
        printf("%s\n", line);
        if (fig) fprintf(fig, "%s\n", line);
    }
    if (fig) fclose(fig);
    bad = tot[O_WRONG] || tot[O_CRASH] || tot[O_HANG];
    if (bad) fprintf(stderr, "bitflip: FAILED: %llu wrong, %llu crashes, %llu hangs\n",
                     (unsigned long long)tot[O_WRONG], (unsigned long long)tot[O_CRASH],
                     (unsigned long long)tot[O_HANG]);
    return bad;
}
