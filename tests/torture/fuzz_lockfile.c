/* tests/torture/fuzz_lockfile.c -- libFuzzer target: a lock file (FORMAT.md
   section 14) holding anything while two handles share a database.

   The lock file is not trusted data: a crash, another build or a local
   user with write access to PATH-lock (which read-only handles need) may
   leave any bytes in it.  This target opens handle A on a real file
   through the POSIX VFS (it is the first to attach, so it clears the lock
   file), then runs an operation sequence that mixes writes of fuzzer
   bytes into the shared map -- header fields (magic, version, nslots,
   txid, epoch, high, the reserved bytes), reader slots (snapshot and info
   words), raw byte ranges -- with commits, deletes, gets and scans through
   A and a second handle B, B's open and close (B attaches to whatever the
   map then holds), A's reopen, and digby_check.

   Input: one configuration byte (bit 0: encrypted with the fixed raw key
   of fuzz_common.h; bit 1: B opens read-only; bit 2: commits sync, else
   DIGBY_OPEN_NO_SYNC), then operations, an opcode byte and its argument
   bytes each (missing bytes read as 0): every byte string is a valid
   program.

   What must hold, besides "no crash, no sanitizer report (no access
   outside the map), no hang":
   - every call returns DIGBY_OK or a digby error code;
   - a value read is one some commit wrote for that key (or one a commit
     that failed may have written), never other bytes;
   - while the map's txid is the true newest commit, a read through
     either handle returns exactly the newest committed state (a lock file
     that understates the newest commit may show a reader an older one);
   - at the end, with every handle closed and the file reopened (the lock
     file cleared), every acknowledged commit is there, exactly, and
     digby_check passes: whatever the lock file said, no writer built on
     an older commit than the newest, nor reused a page a commit uses.
   A broken promise calls abort(), which libFuzzer reports as a crash.

   -DFUZZ_REPLAY builds a main that replays input files. */
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "fuzz_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NK 16          /* keys "k00" .. */
#define MAXSEQ 4096    /* values written in one input */
#define MAXOPS 160

typedef struct in {
    const uint8_t *p;
    size_t n, i;
} in;

static uint8_t u8(in *x) { return x->i < x->n ? x->p[x->i++] : 0; }
static uint16_t u16(in *x) { uint16_t a = u8(x); return (uint16_t)(a | (uint16_t)u8(x) << 8); }
static uint64_t u64(in *x)
{
    uint64_t v = 0;
    int k;
    for (k = 0; k < 8; k++) v |= (uint64_t)u8(x) << (8 * k);
    return v;
}

static char g_path[512], g_lock[600];
static digby_db *g_h[2];
static uint8_t g_cfg;
static int g_seq;
static uint8_t g_status[MAXSEQ];   /* 0 never written, 1 committed, 2 a failed commit's */
static uint8_t g_key_of[MAXSEQ];
static int g_cur[NK];              /* committed: value seq, 0 absent */
static int g_maybe[NK];            /* a failed commit's seq (-1 its delete), 0 none */
static uint64_t g_newest;          /* txid of the newest commit; 0 unknown */

/* A broken promise: what, and the number that shows it (a seq, a txid, a
   key, a result code: digby_rc says which). */
static void die_v(const char *what, long v, int digby_rc)
{
    if (digby_rc) fprintf(stderr, "fuzz_lockfile: %s: %s (%ld)\n", what, digby_strerror((int)v), v);
    else fprintf(stderr, "fuzz_lockfile: %s (%ld)\n", what, v);
    abort();
}
#define die(what, v) die_v((what), (long)(v), 0)
#define die_rc(what, rc) die_v((what), (long)(rc), 1)

/* every result is DIGBY_OK or a digby error code */
static void known(int rc, const char *what)
{
    if (rc > 0 || rc < DIGBY_SCHEMA) die_rc(what, rc);
}

static size_t val_len(int seq) { return seq % 7 == 0 ? 2500 : 12 + (size_t)(seq % 40); }

static void val_fill(uint8_t *v, int seq, size_t n)
{
    size_t i;
    uint32_t s = (uint32_t)seq * 2654435761u;
    for (i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        v[i] = (uint8_t)(s >> 16);
    }
    memcpy(v, &seq, sizeof seq);
}

/* A value read for key k: one written for k, byte for byte; its seq. */
static int val_check(int k, const uint8_t *v, size_t n)
{
    static uint8_t buf[4096];
    int seq;
    if (n < sizeof seq) die("a value shorter than any written", 0);
    memcpy(&seq, v, sizeof seq);
    if (seq <= 0 || seq >= MAXSEQ || g_status[seq] == 0 || g_key_of[seq] != k)
        die("a value no commit wrote for that key", seq);
    if (n != val_len(seq)) die("a value of the wrong length", (int)n);
    val_fill(buf, seq, n);
    if (memcmp(buf, v, n) != 0) die("a value with other bytes", seq);
    return seq;
}

static uint8_t *shm_of(void)
{
    return g_h[0] && g_h[0]->shm ? g_h[0]->shm : g_h[1] && g_h[1]->shm ? g_h[1]->shm : NULL;
}

static int h_open(int i)
{
    digby_options o;
    int rc;
    memset(&o, 0, sizeof o);
    if (g_cfg & 1) {
        o.key = fuzz_key;
        o.key_bytes = sizeof fuzz_key;
    }
    o.page_size = 1024;
    o.cache_bytes = 32 * 1024;
    o.flags = (g_cfg & 4) ? 0 : DIGBY_OPEN_NO_SYNC;
    if (i == 1 && (g_cfg & 2)) o.flags |= DIGBY_OPEN_READONLY;
    rc = digby_open(g_path, &o, &g_h[i]);
    known(rc, "digby_open");
    if (rc && g_h[i]) die_rc("a failed open left a handle", rc);
    return rc;
}

static void h_close(int i)
{
    if (!g_h[i]) return;
    known(digby_close(g_h[i]), "digby_close");
    g_h[i] = NULL;
}

/* A value to store in a lock file field. */
static uint64_t pick(in *x, uint64_t now)
{
    switch (u8(x) % 8) {
    case 0: return 0;
    case 1: return 1;
    case 2: return UINT64_MAX;
    case 3: return g_newest + (uint64_t)(int64_t)(int8_t)u8(x);
    case 4: return u64(x);
    case 5: return now + (uint64_t)(int64_t)(int8_t)u8(x);
    case 6: return (uint64_t)1 << 63;
    default: return 1020 + (uint64_t)u8(x);
    }
}

static void op_patch_header(in *x)
{
    uint8_t *m = shm_of();
    unsigned f = u8(x) % 7;
    uint64_t v;
    if (!m) return;
    switch (f) {
    case 0: m[u8(x) % 8] = u8(x); break;
    case 1: case 2: {
        uint32_t w, now;
        memcpy(&now, m + 8 + 4 * (f - 1), 4);
        w = (uint32_t)pick(x, now);
        memcpy(m + 8 + 4 * (f - 1), &w, 4);
        break;
    }
    case 6: m[40 + u8(x) % 24] = u8(x); break;
    default: {
        uint64_t *p = (uint64_t *)(void *)(m + 16 + 8 * (f - 3));
        v = pick(x, *p);
        __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
    }
    }
}

static void op_patch_slot(in *x)
{
    uint8_t *m = shm_of();
    uint32_t i = u16(x) % DIGBY__SHM_SLOTS;
    uint64_t *p;
    if (!m) return;
    p = (uint64_t *)(void *)(m + DIGBY__SHM_HDR + (size_t)i * DIGBY__SHM_SLOT + (u8(x) & 1) * 8);
    __atomic_store_n(p, pick(x, *p), __ATOMIC_SEQ_CST);
}

static void op_patch_raw(in *x)
{
    uint8_t *m = shm_of();
    size_t off = u16(x) % DIGBY__SHM_BYTES, n = u8(x) % 16 + 1, k;
    if (off + n > DIGBY__SHM_BYTES) n = DIGBY__SHM_BYTES - off;
    for (k = 0; k < n; k++) {
        uint8_t b = u8(x);
        if (m) m[off + k] = b;
    }
}

/* put (or delete) key k through handle i in one transaction */
static void op_write(in *x, int del)
{
    static uint8_t v[4096];
    int i = u8(x) & 1, k = u8(x) % NK, rc, seq = 0;
    char key[8];
    digby_txn *t;
    uint64_t id;
    if (!g_h[i]) return;
    snprintf(key, sizeof key, "k%02d", k);
    rc = digby_txn_begin(g_h[i], DIGBY_TXN_NOWAIT, &t);
    known(rc, "digby_txn_begin (write)");
    if (rc) return;
    id = digby_txn_id(t);
    if (del) {
        rc = digby_txn_delete(t, NULL, key, strlen(key));
        if (rc == DIGBY_NOTFOUND) { digby_txn_abort(t); return; } /* (no commit) */
    } else {
        if (g_seq + 1 >= MAXSEQ) { digby_txn_abort(t); return; }
        seq = ++g_seq;
        g_key_of[seq] = (uint8_t)k;
        val_fill(v, seq, val_len(seq));
        rc = digby_txn_put(t, NULL, key, strlen(key), v, val_len(seq), 0);
    }
    known(rc, "put/delete");
    if (rc) { digby_txn_abort(t); return; }
    rc = digby_txn_commit(t);
    known(rc, "digby_txn_commit");
    if (rc == DIGBY_OK) {
        if (g_newest && id <= g_newest) die("a commit with a txid not past the newest one", (int)id);
        g_newest = id;
        if (seq) g_status[seq] = 1;
        g_cur[k] = seq;
        g_maybe[k] = 0;
    } else {
        /* it may have reached the file */
        if (seq) g_status[seq] = 2;
        g_maybe[k] = del ? -1 : seq;
        g_newest = 0;
    }
}

/* Whether handle reads must give exactly the committed state now. */
static int strict(int k)
{
    uint8_t *m = shm_of();
    return m && g_newest && !g_maybe[k] &&
           __atomic_load_n((uint64_t *)(void *)(m + 16), __ATOMIC_SEQ_CST) == g_newest;
}

static void op_get(in *x)
{
    int i = u8(x) & 1, k = u8(x) % NK, rc, s;
    char key[8];
    digby_txn *t;
    const void *v;
    size_t n;
    if (!g_h[i]) return;
    snprintf(key, sizeof key, "k%02d", k);
    s = strict(k);
    rc = digby_txn_begin(g_h[i], DIGBY_TXN_READONLY, &t);
    known(rc, "digby_txn_begin (read)");
    if (rc) return;
    rc = digby_txn_get(t, NULL, key, strlen(key), &v, &n, NULL);
    known(rc, "digby_txn_get");
    if (rc == DIGBY_OK) {
        int seq = val_check(k, (const uint8_t *)v, n);
        if (s && seq != g_cur[k]) die("a read while the lock file named the newest commit gave an older value", seq);
    } else if (rc == DIGBY_NOTFOUND && s && g_cur[k]) {
        die("a read while the lock file named the newest commit missed a committed key", k);
    }
    digby_txn_abort(t);
}

static void op_scan(in *x)
{
    int i = u8(x) & 1, rc, steps = 0;
    digby_txn *t;
    digby_cursor *c;
    if (!g_h[i]) return;
    rc = digby_txn_begin(g_h[i], DIGBY_TXN_READONLY, &t);
    known(rc, "digby_txn_begin (scan)");
    if (rc) return;
    rc = digby_cursor_open(t, NULL, &c);
    known(rc, "digby_cursor_open");
    if (rc == DIGBY_OK) {
        for (rc = digby_cursor_first(c); rc == DIGBY_OK; rc = digby_cursor_next(c)) {
            const void *kp, *vp;
            size_t kn, vn;
            int k;
            if (++steps > NK) die("a scan longer than the key space", steps);
            rc = digby_cursor_get(c, &kp, &kn, &vp, &vn, NULL);
            if (rc) break;
            if (kn != 3 || ((const char *)kp)[0] != 'k') die("a key no commit wrote", (int)kn);
            k = (((const char *)kp)[1] - '0') * 10 + (((const char *)kp)[2] - '0');
            if (k < 0 || k >= NK) die("a key no commit wrote", k);
            val_check(k, (const uint8_t *)vp, vn);
        }
        known(rc, "a scan step");
        digby_cursor_close(c);
    }
    digby_txn_abort(t);
}

static void final_check(void)
{
    digby_txn *t;
    int k, rc;
    h_close(0);
    h_close(1);
    /* alone: the lock file is cleared; the file itself says what was committed */
    g_cfg &= (uint8_t)~2;
    rc = h_open(0);
    if (rc) die_rc("reopening the file once every handle closed", rc);
    rc = digby_check(g_h[0], NULL);
    if (rc) die_rc("digby_check after the run", rc);
    rc = digby_txn_begin(g_h[0], DIGBY_TXN_READONLY, &t);
    if (rc) die_rc("a snapshot of the reopened file", rc);
    for (k = 0; k < NK; k++) {
        char key[8];
        const void *v;
        size_t n;
        int seq = 0;
        snprintf(key, sizeof key, "k%02d", k);
        rc = digby_txn_get(t, NULL, key, strlen(key), &v, &n, NULL);
        if (rc == DIGBY_OK) seq = val_check(k, (const uint8_t *)v, n);
        else if (rc != DIGBY_NOTFOUND) die_rc("a get in the reopened file", rc);
        if (seq != g_cur[k] && !(g_maybe[k] && seq == (g_maybe[k] < 0 ? 0 : g_maybe[k]))) {
            fprintf(stderr, "key %d: holds seq %d, committed %d (maybe %d)\n", k, seq, g_cur[k], g_maybe[k]);
            die("an acknowledged commit is lost (or an unacknowledged one appeared)", seq);
        }
    }
    digby_txn_abort(t);
    h_close(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    in x;
    int ops = 0;
    const digby_vfs *px = digby_vfs_posix();
    if (!px || !px->shm_open) return 0; /* no lock file in this build */
    x.p = data;
    x.n = size;
    x.i = 0;
    if (!g_path[0]) {
        fuzz_map_path(g_path, sizeof g_path, "fuzz_lockfile");
        snprintf(g_lock, sizeof g_lock, "%s-lock", g_path);
    }
    remove(g_path);
    remove(g_lock);
    memset(g_status, 0, sizeof g_status);
    memset(g_cur, 0, sizeof g_cur);
    memset(g_maybe, 0, sizeof g_maybe);
    g_seq = 0;
    g_newest = 0;
    g_cfg = u8(&x);
    if (h_open(0)) die("the first open of a new file", -1);
    while (x.i < x.n && ops++ < MAXOPS) {
        switch (u8(&x) % 12) {
        case 0: case 1: op_patch_header(&x); break;
        case 2: op_patch_slot(&x); break;
        case 3: op_patch_raw(&x); break;
        case 4: case 5: op_write(&x, 0); break;
        case 6: op_write(&x, 1); break;
        case 7: op_get(&x); break;
        case 8: op_scan(&x); break;
        case 9:
            if (g_h[1]) h_close(1);
            else (void)h_open(1);
            break;
        case 10:
            h_close(0);
            (void)h_open(0);
            break;
        default: {
            int i = u8(&x) & 1;
            if (g_h[i]) known(digby_check(g_h[i], NULL), "digby_check");
        }
        }
    }
    final_check();
    remove(g_path);
    remove(g_lock);
    return 0;
}

#ifdef FUZZ_REPLAY
FUZZ_REPLAY_MAIN("fuzz_lockfile", "no failure")
#endif
