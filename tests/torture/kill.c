/* tests/torture/kill.c -- real process kills: SIGKILL a writer at random
   moments and hold digby to every commit it acknowledged.

   usage: kill [-n KILLS] [-d DIR] [-s SEED] [-m MAX_US] [-p PAGE] [-e] [-g] [-o FILE] [-x]
     -n KILLS   rounds (default 1000)
     -d DIR     directory for the database file (default /tmp)
     -s SEED    seed of the kill delays (default 1)
     -m MAX_US  kill after a random delay of 0 .. MAX_US microseconds from
                the writer's start (default 30000)
     -p PAGE    page size of the file (default 4096)
     -e         encrypted (AES-256-GCM, raw key)
     -g         log mode (DIGBY_OPEN_LOG, 64 KiB memtable): commits append
                to the write-ahead log, the overflow value of every 7th
                commit escalates (a checkpoint), the memtable bound makes
                more, and each round's open replays the log the killed
                writer left; every 2nd commit is DIGBY_TXN_NO_SYNC, which a
                kill -9 (no OS crash) must not lose either
     -o FILE    append the figure row to FILE
     -x         self-test: the writer acknowledges each commit *before*
                digby_txn_commit returns; the test must then fail

   Each round forks a writer process, which opens the file with the POSIX
   VFS (fdatasync), reads the number of the last commit it holds (key
   "last"), and runs commits N+1, N+2, ... forever; after each
   digby_txn_commit returns DIGBY_OK it writes the commit's number to a pipe.
   The parent kills it with SIGKILL after a random delay (so kills land in
   open, in puts, inside commits and syncs, and between commits), reads
   every acknowledgement, then opens the file itself and requires:
     - the file opens and digby_check passes;
     - it holds commit A or A + 1, where A is the last acknowledged commit
       (or the last one found): the commit in flight may go either way;
     - its whole contents are exactly those of that commit: every key of the
       global tree and of table "t", values and versions' order, computed
       from a model of the workload.
   The next round's writer then writes on top of it ("writes work").

   Commit c: puts "k<c*37 mod 600>" (a 3000-byte overflow value every 7th
   commit, else 10 to 59 bytes), deletes "k<c*53 mod 600>" every 5th commit,
   puts "t<c mod 100>" in table "t" every 3rd, and puts "last" = c. */
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "figures.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NG 600
#define NTAB 100

static char path[1024];
static int ack_early;
static int log_mode;
static digby_options opts;
static const uint8_t raw_key[32] = { 'k', 'i', 'l', 'l' };

/* ---- the workload, shared by the writer and the model ---------------------- */

static size_t value_len(uint64_t c)
{
    return c % 7 == 0 ? 3000 : 10 + (size_t)(c % 50);
}

static void value_fill(uint8_t *v, uint64_t c, size_t n)
{
    size_t i;
    uint32_t x = (uint32_t)(c * 2654435761u) | 1;
    for (i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        v[i] = (uint8_t)x;
    }
}

static int gkey(char *buf, unsigned k) { return sprintf(buf, "k%03u", k); }
static int tkey(char *buf, unsigned k) { return sprintf(buf, "t%02u", k); }

/* The model: which commit last wrote each key (0: absent). */
typedef struct model {
    uint64_t n;               /* commits applied */
    uint64_t g[NG];
    uint64_t t[NTAB];
} model;

static void model_apply(model *m, uint64_t c)
{
    m->g[(c * 37) % NG] = c;
    if (c % 5 == 0) m->g[(c * 53) % NG] = 0;
    if (c % 3 == 0) m->t[c % NTAB] = c;
    m->n = c;
}

/* ---- the writer process ------------------------------------------------------ */

static void writer(int fd)
{
    digby_db *db;
    digby_txn *txn;
    digby_table *t;
    uint8_t val[3000];
    char key[32];
    uint64_t c = 0;
    const void *v;
    size_t vn;
    int rc;
    rc = digby_open(path, &opts, &db);
    if (rc) { fprintf(stderr, "kill: writer: open: %s\n", digby_strerror(rc)); _exit(3); }
    rc = digby_txn_begin(db, DIGBY_TXN_READONLY, &txn);
    if (rc == DIGBY_OK) {
        rc = digby_txn_get(txn, NULL, "last", 4, &v, &vn, NULL);
        if (rc == DIGBY_OK && vn == 8) memcpy(&c, v, 8);
        else if (rc == DIGBY_NOTFOUND) rc = DIGBY_OK;
        digby_txn_abort(txn);
    }
    if (rc) { fprintf(stderr, "kill: writer: read last: %s\n", digby_strerror(rc)); _exit(3); }
    for (;;) {
        c++;
        rc = digby_txn_begin(db, log_mode && c % 2 == 0 ? DIGBY_TXN_NO_SYNC : 0, &txn);
        if (rc == DIGBY_OK) rc = digby_table_open(txn, "t", DIGBY_TABLE_CREATE, &t);
        if (rc == DIGBY_OK) {
            size_t n = value_len(c);
            value_fill(val, c, n);
            gkey(key, (unsigned)((c * 37) % NG));
            rc = digby_txn_put(txn, NULL, key, strlen(key), val, n, 0);
        }
        if (rc == DIGBY_OK && c % 5 == 0) {
            gkey(key, (unsigned)((c * 53) % NG));
            rc = digby_txn_delete(txn, NULL, key, strlen(key));
            if (rc == DIGBY_NOTFOUND) rc = DIGBY_OK;
        }
        if (rc == DIGBY_OK && c % 3 == 0) {
            tkey(key, (unsigned)(c % NTAB));
            rc = digby_txn_put(txn, t, key, strlen(key), &c, 8, 0);
        }
        if (rc == DIGBY_OK) rc = digby_txn_put(txn, NULL, "last", 4, &c, 8, 0);
        if (rc) { fprintf(stderr, "kill: writer: commit %llu: %s\n", (unsigned long long)c, digby_strerror(rc)); _exit(3); }
        if (ack_early && write(fd, &c, 8) != 8) _exit(4);
        rc = digby_txn_commit(txn);
        if (rc) { fprintf(stderr, "kill: writer: commit %llu: %s\n", (unsigned long long)c, digby_strerror(rc)); _exit(3); }
        if (!ack_early && write(fd, &c, 8) != 8) _exit(4);
    }
}

/* ---- the parent's verification ------------------------------------------------- */

static int fails;

static void bad(unsigned round, const char *what, uint64_t a, uint64_t b)
{
    fails++;
    if (fails <= 20)
        fprintf(stderr, "kill: round %u: %s (%llu, %llu)\n", round, what,
                (unsigned long long)a, (unsigned long long)b);
}

/* Compare one tree with the model's slots; returns 0 if equal. */
static int compare_tree(digby_txn *txn, digby_table *tab, const uint64_t *slots, unsigned n,
                        int is_table)
{
    digby_cursor *cur;
    unsigned k = 0;
    int rc, diff = 0;
    uint8_t val[3000];
    char want[32];
    if (digby_cursor_open(txn, tab, &cur)) return 1;
    for (rc = digby_cursor_first(cur); rc == DIGBY_OK && !diff; rc = digby_cursor_next(cur)) {
        const void *kp, *vp;
        size_t kn, vn;
        int wn;
        if (digby_cursor_get(cur, &kp, &kn, &vp, &vn, NULL)) { diff = 1; break; }
        if (!is_table && kn == 4 && memcmp(kp, "last", 4) == 0) continue;
        while (k < n && !slots[k]) k++;
        if (k == n) { diff = 1; break; }
        wn = is_table ? tkey(want, k) : gkey(want, k);
        if ((size_t)wn != kn || memcmp(want, kp, kn) != 0) { diff = 1; break; }
        if (is_table) {
            if (vn != 8 || memcmp(vp, &slots[k], 8) != 0) diff = 1;
        } else {
            size_t ln = value_len(slots[k]);
            value_fill(val, slots[k], ln);
            if (vn != ln || memcmp(vp, val, ln) != 0) diff = 1;
        }
        k++;
    }
    if (!diff && rc != DIGBY_NOTFOUND) diff = 1;
    while (!diff && k < n && !slots[k]) k++;
    if (k != n) diff = 1;
    digby_cursor_close(cur);
    return diff;
}

static void verify(unsigned round, model *m, uint64_t acked, uint64_t *landed_unacked)
{
    digby_db *db;
    digby_txn *txn;
    digby_table *t;
    digby_check_report rep;
    const void *v;
    size_t vn;
    uint64_t last = 0;
    int rc;
    rc = digby_open(path, &opts, &db);
    if (rc) { bad(round, "reopen failed", (uint64_t)-rc, 0); return; }
    rc = digby_check(db, &rep);
    if (rc) { bad(round, rep.message[0] ? rep.message : "check failed", (uint64_t)-rc, rep.bad_pgno); }
    if (digby_txn_begin(db, DIGBY_TXN_READONLY, &txn)) { bad(round, "begin", 0, 0); digby_close(db); return; }
    rc = digby_txn_get(txn, NULL, "last", 4, &v, &vn, NULL);
    if (rc == DIGBY_OK && vn == 8) memcpy(&last, v, 8);
    else if (rc != DIGBY_NOTFOUND) bad(round, "get last", (uint64_t)-rc, vn);
    if (last < acked) bad(round, "an acknowledged commit is missing: found, acknowledged", last, acked);
    else if (last > acked + 1) bad(round, "more commits than acknowledged + 1: found, acknowledged", last, acked);
    else {
        if (last == acked + 1) (*landed_unacked)++;
        while (m->n < last) model_apply(m, m->n + 1);
        if (compare_tree(txn, NULL, m->g, NG, 0)) bad(round, "global tree differs from commit", last, 0);
        rc = digby_table_open(txn, "t", 0, &t);
        if (rc == DIGBY_OK) {
            if (compare_tree(txn, t, m->t, NTAB, 1)) bad(round, "table t differs from commit", last, 0);
        } else if (last >= 1) {
            bad(round, "table t missing", (uint64_t)-rc, last);
        }
    }
    digby_txn_abort(txn);
    if (digby_close(db)) bad(round, "close", 0, 0);
}

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return rng_state;
}

int main(int argc, char **argv)
{
    unsigned kills = 1000, round, max_us = 30000, selfexit = 0;
    const char *dir = "/tmp", *figfile = NULL;
    uint64_t acked_total = 0, landed_unacked = 0, acked = 0;
    model *m = (model *)calloc(1, sizeof(model));
    struct timespec t0, t1;
    int opt;
    char a[4][32], line[400];
    rng_state = 1;
    while ((opt = getopt(argc, argv, "n:d:s:m:p:ego:x")) != -1) {
        switch (opt) {
        case 'n': kills = (unsigned)atoi(optarg); break;
        case 'd': dir = optarg; break;
        case 's': rng_state = (uint64_t)atoll(optarg) * 0x9E3779B97F4A7C15ULL + 1; break;
        case 'm': max_us = (unsigned)atoi(optarg); break;
        case 'p': opts.page_size = (uint32_t)atoi(optarg); break;
        case 'e': opts.key = raw_key; opts.key_bytes = sizeof raw_key; break;
        case 'g':
            log_mode = 1;
            opts.flags |= DIGBY_OPEN_LOG;
            opts.memtable_bytes = (size_t)64 << 10;
            break;
        case 'o': figfile = optarg; break;
        case 'x': ack_early = 1; break;
        default:
            fprintf(stderr, "usage: %s [-n KILLS] [-d DIR] [-s SEED] [-m MAX_US] [-p PAGE] [-e] [-o FILE] [-x]\n", argv[0]);
            return 2;
        }
    }
    if (!m) return 2;
    snprintf(path, sizeof path, "%s/kill.digby", dir);
    unlink(path);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (round = 0; round < kills; round++) {
        int fds[2], st;
        pid_t pid;
        uint64_t c, delay = rnd() % (max_us + 1);
        ssize_t r;
        struct timespec d;
        if (pipe(fds)) { perror("pipe"); return 2; }
        fflush(NULL);
        pid = fork();
        if (pid < 0) { perror("fork"); return 2; }
        if (pid == 0) { close(fds[0]); writer(fds[1]); _exit(5); }
        close(fds[1]);
        d.tv_sec = (time_t)(delay / 1000000);
        d.tv_nsec = (long)(delay % 1000000) * 1000;
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        if (waitpid(pid, &st, 0) < 0) { perror("waitpid"); return 2; }
        if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
            bad(round, "the writer stopped by itself: status", (uint64_t)st, 0);
            selfexit++;
        }
        while ((r = read(fds[0], &c, 8)) == 8) {
            if (c != acked + 1) bad(round, "acknowledgements out of order", c, acked);
            acked = c;
            acked_total++;
        }
        close(fds[0]);
        verify(round, m, acked, &landed_unacked);
        acked = m->n > acked ? m->n : acked;
        if (fails > 50) break;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fmt(a[0], 32, round);
    fmt(a[1], 32, acked_total);
    fmt(a[2], 32, landed_unacked);
    fmt(a[3], 32, (uint64_t)fails);
    snprintf(line, sizeof line,
             "| kill -9 of a writer acknowledging commits, %u-byte pages, %s%s%s | %s kills | %s commits acknowledged | %s unacknowledged commits found | %s violations |",
             opts.page_size ? opts.page_size : 4096, opts.key ? "encrypted" : "plain",
             log_mode ? ", log mode (every 2nd commit no-sync; replay at each open)" : "",
             ack_early ? " (SELF-TEST: acks before commit)" : "", a[0], a[1], a[2], a[3]);
    printf("%s\n", line);
    printf("kill: %.1f s, last commit %llu\n",
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
           (unsigned long long)m->n);
    if (figfile) {
        FILE *f = fopen(figfile, "a");
        if (f) { fprintf(f, "%s\n", line); fclose(f); }
    }
    unlink(path);
    free(m);
    (void)selfexit;
    return fails ? 1 : 0;
}
