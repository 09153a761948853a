/* multiproc: several processes on one file (issue #14 item 1), with real
   processes: this program forks and execs itself ("multiproc --child ROLE
   ..."; a child runs no cmocka and reports through its exit status, its
   stderr and a pipe), so that every process opens the database itself and
   inherits nothing of another's handle.

   The contract under test: any number of processes open the same file with
   the default POSIX VFS (copy-on-write mode); one read-write transaction at
   a time across all of them (a second writer waits; DIGBY_TXN_NOWAIT gives
   DIGBY_BUSY instead); a read-only transaction sees every commit made, in
   any process, before it began, and nothing else, however many commits
   other processes make while it lives; a process killed with SIGKILL holds
   nothing afterwards (its reader slot is freed; a writer's acknowledged
   commits are all there).

     test_two_handles            two handles in one process; a read-only and
                                 a read-write open beside another process's
                                 read-write handle; the digby tool's get,
                                 stat and check on that live file
     test_snapshots_whole        3 reader processes scan the whole file while
                                 a writer process commits (puts, overflow
                                 values, deletes: pages freed and reused);
                                 every scan is exactly one commit, snapshot
                                 ids and commit numbers never go backwards
     test_writers_exclusive      two processes increment one counter: no
                                 lost update; DIGBY_TXN_NOWAIT is DIGBY_BUSY
                                 while another process writes; a blocking
                                 begin waits for it
     test_kill_readers           readers killed while holding a snapshot and
                                 at random moments: afterwards many commits
                                 do not grow the file (the dead readers'
                                 snapshots are not held)
     test_kill_writer            a writer killed at random moments, with and
                                 without DIGBY_OPEN_NO_SYNC: every
                                 acknowledged commit survives, the file is
                                 exactly one commit, digby_check clean,
                                 snapshots in every process agree from then
                                 on (the commit in flight may go either
                                 way, once), and the next writer carries
                                 on: a new process, or every third time
                                 this process's handle, open all along
     test_snapshot_held          a snapshot in one process reads its own
                                 values exactly while another process
                                 commits many transactions over them
     test_modes_mixed            handles of both modes on one file: a
                                 log-mode handle's commits, in its log, seen
                                 by a copy-on-write handle and by other
                                 processes; the copy-on-write writer merges
                                 the log first
     (log mode)                  test_two_handles, test_snapshots_whole,
                                 test_writers_exclusive, test_kill_writer and
                                 test_snapshot_held again with every handle
                                 in log mode (MULTIPROC_LOG=1, a 256 KiB
                                 memtable: checkpoints every few dozen
                                 commits)
     test_encrypted              an encrypted file: 2 reader processes scan
                                 whole commits while a writer process
                                 commits; a wrong key elsewhere is
                                 DIGBY_WRONGKEY; digby_rekey is DIGBY_BUSY
                                 beside another process's handle and runs
                                 after it closed; the tool with
                                 DIGBY_KEY_FILE on the live file

   A failure names the invariant it broke.  A digby.h without
   multi-process support fails every test at the second open
   (DIGBY_BUSY); a build whose POSIX VFS has no lock file (no memory map:
   DIGBY_NO_MMAP, make test's ASan+UBSan build) skips them all with a
   message, which is why make test also runs multiproc_map (ASan+UBSan
   with the map).

   Environment: DIGBY_TEST_SCALE scales commits, rounds and kills, with a
   floor for each (default 1: about 2 s in all, 5 s under ASan, alone on
   the 2-core machine; 5 and 16 s inside make test); DIGBY_TEST_CLI the
   digby tool (default build/digby, which make test builds first; absent:
   that part is skipped with a message), optionally after a runner and a
   space ("qemu-s390x build/port/s390x/digby": make portability runs a
   tool of the tests' own architecture, since a lock file is shared only
   by builds of one layout and byte order). */
#define TEST_NAME "multiproc"
#include "api_common.h" /* digby.h with the implementation, harness.h, values */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

/* ======================================================================== */
/* Processes, pipes, time                                                   */
/* ======================================================================== */

static char g_self[1024];    /* this program, for exec */

/* The child's ends of its pipes, after dup2 (every other fd is closed
   before exec). */
#define CHILD_OUT_FD 100
#define CHILD_IN_FD 101

/* Children still to reap: teardown kills and reaps what a failed test left. */
#define MAX_KIDS 64
static pid_t g_kids[MAX_KIDS];

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_ms(double ms)
{
    struct timespec ts;
    if (ms <= 0) return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)((ms - ts.tv_sec * 1000.0) * 1e6);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static uint64_t mix64(uint64_t z)   /* splitmix64's finalizer */
{
    z += UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* A pipe whose ends do not survive exec (a child gets its own by dup2). */
static void mkpipe(int p[2])
{
    assert_int_equal(pipe(p), 0);
    assert_true(p[0] < CHILD_OUT_FD && p[1] < CHILD_OUT_FD);
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
}

static void kid_add(pid_t pid)
{
    int i;
    for (i = 0; i < MAX_KIDS; i++)
        if (g_kids[i] == 0) { g_kids[i] = pid; return; }
    fail_msg("more than %d children", MAX_KIDS);
}

static void kid_done(pid_t pid)
{
    int i;
    for (i = 0; i < MAX_KIDS; i++)
        if (g_kids[i] == pid) g_kids[i] = 0;
}

/* Kill and reap every child a test left (a failed test's). */
static void kids_kill_all(void)
{
    int i, st;
    for (i = 0; i < MAX_KIDS; i++) {
        if (g_kids[i] <= 0) continue;
        kill(g_kids[i], SIGKILL);
        waitpid(g_kids[i], &st, 0);
        g_kids[i] = 0;
    }
}

static int child_main(int argc, char **argv);

/* Fork and exec "multiproc --child role path out in a1 a2": out_fd (or -1)
   becomes the child's CHILD_OUT_FD, in_fd (or -1) its CHILD_IN_FD, every
   other descriptor above 2 is closed. */
static pid_t spawn(const char *role, const char *path, int out_fd, int in_fd, const char *a1, const char *a2)
{
    char *argv[9];
    pid_t pid;
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd;
        if (out_fd >= 0 && dup2(out_fd, CHILD_OUT_FD) < 0) _exit(126);
        if (in_fd >= 0 && dup2(in_fd, CHILD_IN_FD) < 0) _exit(126);
        for (fd = 3; fd < 1024; fd++)
            if (fd != CHILD_OUT_FD && fd != CHILD_IN_FD) close(fd);
        argv[0] = g_self;
        argv[1] = (char *)"--child";
        argv[2] = (char *)role;
        argv[3] = (char *)path;
        argv[4] = (char *)(out_fd >= 0 ? "100" : "-1");
        argv[5] = (char *)(in_fd >= 0 ? "101" : "-1");
        argv[6] = (char *)(a1 ? a1 : "");
        argv[7] = (char *)(a2 ? a2 : "");
        argv[8] = NULL;
        execv(g_self, argv);
        /* an emulator's binary that this system cannot exec (make
           portability runs the tests under qemu-user without binfmt):
           the role runs in the forked child instead, which opens the
           database itself all the same (the descriptors above are closed;
           the parent's handles are never used here) */
        if (errno == ENOEXEC) _exit(child_main(6, argv + 2));
        fprintf(stderr, "multiproc: exec %s: %s\n", g_self, strerror(errno));
        _exit(127);
    }
    kid_add(pid);
    return pid;
}

/* Reap pid within timeout_s seconds (else kill it and fail); its wait
   status. */
static int reap(pid_t pid, const char *what, double timeout_s)
{
    double end = mono() + timeout_s;
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) fail_msg("%s: waitpid: %s", what, strerror(errno));
        if (mono() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            kid_done(pid);
            fail_msg("%s (pid %ld) still running after %.0f s: killed (a lock never released? a writer "
                     "waiting forever?)", what, (long)pid, timeout_s);
        }
        sleep_ms(2);
    }
    kid_done(pid);
    return st;
}

/* The child must have exited 0; else its stderr (above) says which
   invariant it found broken. */
static void reap_ok(pid_t pid, const char *what, double timeout_s)
{
    int st = reap(pid, what, timeout_s);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return;
    if (WIFSIGNALED(st))
        fail_msg("%s (pid %ld) died of signal %d (%s)", what, (long)pid, WTERMSIG(st), strsignal(WTERMSIG(st)));
    fail_msg("%s (pid %ld) exited with status %d: its message above names what failed", what, (long)pid,
             WEXITSTATUS(st));
}

/* n bytes from fd within timeout_s; 0, or -1 (end of file, error, time
   out). */
static int read_within(int fd, void *buf, size_t n, double timeout_s)
{
    double end = mono() + timeout_s;
    char *p = (char *)buf;
    while (n) {
        struct pollfd pf;
        double left = end - mono();
        ssize_t k;
        int r;
        if (left <= 0) return -1;
        pf.fd = fd;
        pf.events = POLLIN;
        pf.revents = 0;
        r = poll(&pf, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        k = read(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* One byte from a child: it must be `want` (the child's signal that it got
   somewhere); else the child failed or hung. */
static void expect_byte(int fd, char want, const char *what, double timeout_s)
{
    char c = 0;
    if (read_within(fd, &c, 1, timeout_s) != 0)
        fail_msg("%s: no '%c' from the child within %.0f s (it failed: see its message above, or hung)", what,
                 want, timeout_s);
    if (c != want) fail_msg("%s: the child sent '%c', expected '%c'", what, c, want);
}

static void write_byte(int fd, char c)
{
    assert_int_equal(write(fd, &c, 1), 1);
}

static uint64_t file_bytes(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return (uint64_t)sb.st_size;
}

/* MP_KEYED=1 in the environment (set by test_encrypted, inherited by its
   children): every handle opens the file encrypted under mp_key. */
static const uint8_t mp_key[32] = {0x6d, 0x70, 0x2d, 0x6b, 0x65, 0x79, 1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                   11,   12,   13,   14,   15,   16,   17, 18, 19, 20, 21, 22, 23, 24, 25, 26};

static void mp_options(digby_options *o, uint32_t flags)
{
    const char *k = getenv("MP_KEYED");
    memset(o, 0, sizeof *o);
    o->flags = flags;
    if (k && k[0] == '1') {
        o->key = mp_key;
        o->key_bytes = sizeof mp_key;
    }
}

/* Handles open_must opened and close_must has not closed: teardown closes
   what a failed test left. */
#define MAX_DBS 8
static digby_db *g_dbs[MAX_DBS];

/* The log-mode runs (TL below): every handle of the parent and of its
   children opens with DIGBY_OPEN_LOG and a small memtable, so that
   commits go to the log, which the other processes read, and
   checkpoints come often.  Children learn it from MULTIPROC_LOG=1 in
   their environment. */
static uint32_t g_mode;
#define LOG_MEMTABLE_BYTES ((size_t)256 << 10)

static void mode_options(digby_options *o, uint32_t flags)
{
    mp_options(o, flags);
    o->flags = flags | g_mode;
    if (g_mode & DIGBY_OPEN_LOG) o->memtable_bytes = LOG_MEMTABLE_BYTES;
}

/* digby_open that must succeed; a clear message when not. */
static digby_db *open_must(const char *path, uint32_t flags, const char *what)
{
    digby_options o;
    digby_db *db = NULL;
    int rc, i;
    mode_options(&o, flags);
    rc = digby_open(path, &o, &db);
    if (rc != DIGBY_OK)
        fail_msg("%s: digby_open returned %s (%d), expected DIGBY_OK: any number of handles and processes "
                 "may open the same file (issue #14)", what, rc_name(rc), rc);
    for (i = 0; i < MAX_DBS && g_dbs[i]; i++) {}
    if (i < MAX_DBS) g_dbs[i] = db;
    return db;
}

static void dbs_forget(digby_db *db)
{
    int i;
    for (i = 0; i < MAX_DBS; i++)
        if (g_dbs[i] == db) g_dbs[i] = NULL;
}

static void close_must(digby_db *db)
{
    dbs_forget(db);
    ASSERT_OK(digby_close(db));
}

/* ======================================================================== */
/* The children                                                             */
/* ======================================================================== */

static const char *g_role = "?";

/* A child's failure: what broke, on stderr; exit status 2. */
static void child_fail(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    int n = snprintf(msg, sizeof msg, "multiproc child %s (pid %ld): ", g_role, (long)getpid());
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n - 1, fmt, ap);
    va_end(ap);
    strcat(msg, "\n");
    /* one write: the children's messages do not interleave */
    if (write(2, msg, strlen(msg)) < 0) _exit(3);
    _exit(2);
}

#define CHILD_OK(expr)                                                        \
    do {                                                                      \
        int crc_ = (expr);                                                    \
        if (crc_ != DIGBY_OK)                                                 \
            child_fail("%s:%d: %s returned %s (%d)", __FILE__, __LINE__,      \
                       #expr, rc_name(crc_), crc_);                           \
    } while (0)

static void child_write(int fd, const void *p, size_t n)
{
    if (fd < 0 || write(fd, p, n) != (ssize_t)n) child_fail("write to the parent's pipe failed");
}

/* Block until the parent writes a byte or closes the pipe: the byte, or -1
   at end of file. */
static int child_wait(int fd)
{
    unsigned char c;
    for (;;) {
        ssize_t k = read(fd, &c, 1);
        if (k == 1) return c;
        if (k == 0) return -1;
        if (errno != EINTR) return -1;
    }
}

/* 1 when the parent has closed fd (or written to it): poll without
   waiting. */
static int child_told(int fd)
{
    struct pollfd pf;
    pf.fd = fd;
    pf.events = POLLIN;
    pf.revents = 0;
    return poll(&pf, 1, 0) > 0;
}

static digby_db *child_open(const char *path, uint32_t flags)
{
    digby_options o;
    digby_db *db = NULL;
    int rc;
    mode_options(&o, flags);
    rc = digby_open(path, &o, &db);
    if (rc != DIGBY_OK)
        child_fail("digby_open(%s) returned %s (%d), expected DIGBY_OK: another process has the file open, "
                   "which must not stop this one (issue #14)", path, rc_name(rc), rc);
    return db;
}

static uint64_t child_get_u64(digby_txn *txn, const char *key, uint64_t absent)
{
    const void *v;
    size_t vn;
    char buf[32];
    int rc = digby_txn_get(txn, NULL, key, strlen(key), &v, &vn, NULL);
    if (rc == DIGBY_NOTFOUND) return absent;
    if (rc != DIGBY_OK) child_fail("get %s: %s", key, rc_name(rc));
    if (vn == 0 || vn >= sizeof buf) child_fail("get %s: a value of %zu bytes, not a number", key, vn);
    memcpy(buf, v, vn);
    buf[vn] = 0;
    return strtoull(buf, NULL, 10);
}

static void child_put_u64(digby_txn *txn, const char *key, uint64_t v)
{
    char buf[32];
    int n = sprintf(buf, "%llu", (unsigned long long)v);
    CHILD_OK(digby_txn_put(txn, NULL, key, strlen(key), buf, (size_t)n, 0));
}

/* ---- the commit workload of the scan test ---------------------------------
   NK keys "k%04u" and "ctr".  Commit 1 (the parent's) puts every key with
   tag 1 (op 0 for every key).  Commit c >= 2 puts ctr = c and, for each key k by op(c, k): puts
   it with tag c (op 0, 1), deletes it (op 2), or leaves it (otherwise).
   The state of k after commit c is therefore the last t <= c with op(t, k)
   <= 2 (t = 1: put), and a scan of a snapshot whose ctr is c can be checked
   exactly: any key from a later or an earlier commit, a missing or an extra
   key, or a wrong byte means the snapshot mixed commits or read a page that
   was reused under it.  Values: tag and key decide length (20 to 320
   bytes, every 24th 2600: an overflow item) and bytes. */

#define NK 240

static unsigned op_of(uint64_t c, unsigned k) { return (unsigned)(mix64(c * 1000003u + k) % 16); }

static size_t wl_len(uint64_t t, unsigned k)
{
    uint64_t h = mix64((t << 20) ^ k ^ UINT64_C(0x5151));
    return h % 24 == 0 ? 2600 : 20 + (size_t)(h >> 8) % 300;
}

static void wl_fill(unsigned char *v, uint64_t t, unsigned k, size_t n)
{
    uint64_t x = mix64(t * 131 + k);
    size_t j;
    for (j = 0; j < n; j++) v[j] = (unsigned char)((x >> (8 * (j % 8))) ^ (j / 8));
}

/* The tag key k holds after commit c, 0 if deleted. */
static uint64_t wl_tag(uint64_t c, unsigned k)
{
    uint64_t t;
    for (t = c; t >= 2; t--) {
        unsigned o = op_of(t, k);
        if (o <= 1) return t;
        if (o == 2) return 0;
    }
    return 1;
}

static size_t wl_key(char *buf, unsigned k) { return (size_t)sprintf(buf, "k%04u", k); }

/* Commit c of the workload into txn. */
static int wl_commit_ops(digby_txn *txn, uint64_t c, unsigned char *vbuf)
{
    char key[16], num[32];
    unsigned k;
    int rc, n;
    for (k = 0; k < NK; k++) {
        unsigned o = c == 1 ? 0 : op_of(c, k);
        size_t kn = wl_key(key, k);
        if (o <= 1) {
            size_t vn = wl_len(c, k);
            wl_fill(vbuf, c, k, vn);
            if ((rc = digby_txn_put(txn, NULL, key, kn, vbuf, vn, 0)) != DIGBY_OK) return rc;
        } else if (o == 2) {
            rc = digby_txn_delete(txn, NULL, key, kn);
            if (rc != DIGBY_OK && rc != DIGBY_NOTFOUND) return rc;
        }
    }
    n = sprintf(num, "%llu", (unsigned long long)c);
    return digby_txn_put(txn, NULL, "ctr", 3, num, (size_t)n, 0);
}

/* Check one snapshot against the workload; child_fail with the invariant
   when it breaks.  *ctr_out: its commit number. */
static void wl_check_snapshot(digby_txn *txn, uint64_t *ctr_out)
{
    unsigned char want[2600];
    digby_cursor *cur = NULL;
    const void *k, *v;
    size_t kn, vn;
    uint64_t c = child_get_u64(txn, "ctr", 0), txid = digby_txn_id(txn);
    unsigned next = 0, i;
    int rc;
    if (c == 0) child_fail("snapshot txid %llu: no ctr key (commit 1 put it)", (unsigned long long)txid);
    CHILD_OK(digby_cursor_open(txn, NULL, &cur));
    for (rc = digby_cursor_first(cur); rc == DIGBY_OK; rc = digby_cursor_next(cur)) {
        char kb[16];
        uint64_t t;
        CHILD_OK(digby_cursor_get(cur, &k, &kn, &v, &vn, NULL));
        if (kn == 3 && memcmp(k, "ctr", 3) == 0) continue;
        if (kn != 5 || ((const char *)k)[0] != 'k')
            child_fail("snapshot txid %llu (commit %llu): a key that no commit wrote (%zu bytes)",
                       (unsigned long long)txid, (unsigned long long)c, kn);
        memcpy(kb, (const char *)k + 1, 4);
        kb[4] = 0;
        i = (unsigned)strtoul(kb, NULL, 10);
        if (i >= NK || i < next)
            child_fail("snapshot txid %llu (commit %llu): key k%04u out of order or out of range",
                       (unsigned long long)txid, (unsigned long long)c, i);
        for (; next < i; next++)
            if (wl_tag(c, next))
                child_fail("torn snapshot: txid %llu holds commit %llu, in which key k%04u has the value of "
                           "commit %llu, but the scan did not find it (a mix of commits, or a reused page)",
                           (unsigned long long)txid, (unsigned long long)c, next,
                           (unsigned long long)wl_tag(c, next));
        next = i + 1;
        t = wl_tag(c, i);
        if (t == 0)
            child_fail("torn snapshot: txid %llu holds commit %llu, in which key k%04u is deleted, but the scan "
                       "found it (%zu bytes): a mix of commits, or a reused page",
                       (unsigned long long)txid, (unsigned long long)c, i, vn);
        wl_fill(want, t, i, wl_len(t, i));
        if (vn != wl_len(t, i) || memcmp(v, want, vn) != 0) {
            uint64_t u, from = 0;
            for (u = c + 200; u >= 1 && !from; u--)   /* which commit's value it is, for the message */
                if (wl_len(u, i) == vn) {
                    wl_fill(want, u, i, vn);
                    if (memcmp(v, want, vn) == 0) from = u;
                }
            child_fail("torn snapshot: txid %llu holds commit %llu, in which key k%04u has the value of commit "
                       "%llu (%zu bytes); the scan read %zu bytes%s%llu (a mix of commits, or a reused page)",
                       (unsigned long long)txid, (unsigned long long)c, i, (unsigned long long)t,
                       wl_len(t, i), vn, from ? ", the value of commit " : " matching no commit up to ",
                       (unsigned long long)(from ? from : c + 200));
        }
    }
    if (rc != DIGBY_NOTFOUND) child_fail("cursor: %s", rc_name(rc));
    for (; next < NK; next++)
        if (wl_tag(c, next))
            child_fail("torn snapshot: txid %llu holds commit %llu, in which key k%04u exists, but the scan "
                       "ended before it", (unsigned long long)txid, (unsigned long long)c, next);
    digby_cursor_close(cur);
    *ctr_out = c;
}

/* What a scanning reader reports at its end. */
typedef struct reader_report {
    uint64_t scans, changes, first_ctr, last_ctr, first_txid, last_txid;
} reader_report;

/* reader: scan snapshots until the parent closes CHILD_IN_FD; 'R' after
   the first scan; then the report. */
static int child_reader(const char *path, int out, int in)
{
    digby_db *db = child_open(path, 0);
    reader_report r;
    uint64_t last_txid = 0, last_ctr = 0;
    memset(&r, 0, sizeof r);
    for (;;) {
        digby_txn *txn;
        uint64_t txid, c;
        /* told before this snapshot began: it is the last, and began after
           every commit the parent waited for */
        int stop = child_told(in);
        CHILD_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &txn));
        txid = digby_txn_id(txn);
        wl_check_snapshot(txn, &c);
        digby_txn_abort(txn);
        if (r.scans) {
            if (txid < last_txid)
                child_fail("snapshot txids went backwards: %llu after %llu", (unsigned long long)txid,
                           (unsigned long long)last_txid);
            if (c < last_ctr)
                child_fail("commits went backwards: a snapshot of commit %llu (txid %llu) after one of commit "
                           "%llu (txid %llu)", (unsigned long long)c, (unsigned long long)txid,
                           (unsigned long long)last_ctr, (unsigned long long)last_txid);
            if (txid == last_txid && c != last_ctr)
                child_fail("two snapshots with txid %llu hold different commits (%llu, %llu)",
                           (unsigned long long)txid, (unsigned long long)last_ctr, (unsigned long long)c);
            if (c != last_ctr) r.changes++;
        } else {
            r.first_ctr = c;
            r.first_txid = txid;
            child_write(out, "R", 1);
        }
        r.scans++;
        last_txid = txid;
        last_ctr = c;
        if (stop) break;
    }
    r.last_ctr = last_ctr;
    r.last_txid = last_txid;
    CHILD_OK(digby_close(db));
    child_write(out, &r, sizeof r);
    return 0;
}

/* writer: commits ctr+1 .. ctr+count of the workload (flags: "nosync" for
   DIGBY_OPEN_NO_SYNC). */
static int child_writer(const char *path, const char *count_s, const char *flags)
{
    digby_db *db = child_open(path, strcmp(flags, "nosync") == 0 ? DIGBY_OPEN_NO_SYNC : 0);
    unsigned char *vbuf = (unsigned char *)malloc(2600);
    uint64_t i, count = strtoull(count_s, NULL, 10), c;
    digby_txn *txn;
    if (!vbuf) child_fail("out of memory");
    for (i = 0; i < count; i++) {
        int rc;
        CHILD_OK(digby_txn_begin(db, 0, &txn));
        c = child_get_u64(txn, "ctr", 0) + 1;
        if ((rc = wl_commit_ops(txn, c, vbuf)) != DIGBY_OK) child_fail("commit %llu: %s", (unsigned long long)c,
                                                                       rc_name(rc));
        CHILD_OK(digby_txn_commit(txn));
    }
    free(vbuf);
    CHILD_OK(digby_close(db));
    return 0;
}

/* holder: a read-write handle on the file, with "held" = 1 committed; 'R';
   then waits for the parent ('C': it committed "parent" = 2), and a read
   transaction begun now must see that commit. */
static int child_holder(const char *path, int out, int in)
{
    digby_db *db = child_open(path, 0);
    digby_txn *txn;
    int c;
    CHILD_OK(digby_txn_begin(db, 0, &txn));
    child_put_u64(txn, "held", 1);
    CHILD_OK(digby_txn_commit(txn));
    child_write(out, "R", 1);
    c = child_wait(in);
    if (c != 'C') child_fail("the parent went away");
    CHILD_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &txn));
    if (child_get_u64(txn, "parent", 0) != 2)
        child_fail("a read transaction begun after another process's commit (\"parent\" = 2) does not see it");
    digby_txn_abort(txn);
    CHILD_OK(digby_close(db));
    return 0;
}

/* counter: after the parent closes CHILD_IN_FD (the start), count times:
   begin a write transaction (waiting for others), count += 1, mine += 1,
   commit. */
static int child_counter(const char *path, int in, const char *count_s, const char *mine)
{
    digby_db *db = child_open(path, DIGBY_OPEN_NO_SYNC);
    uint64_t i, count = strtoull(count_s, NULL, 10);
    child_wait(in);
    for (i = 0; i < count; i++) {
        digby_txn *txn;
        CHILD_OK(digby_txn_begin(db, 0, &txn));
        child_put_u64(txn, "count", child_get_u64(txn, "count", 0) + 1);
        child_put_u64(txn, mine, child_get_u64(txn, mine, 0) + 1);
        CHILD_OK(digby_txn_commit(txn));
    }
    CHILD_OK(digby_close(db));
    return 0;
}

/* hold_write: a write transaction that puts "a" = "held"; 'W'; then
   (wait_ms "0") waits for a byte from the parent, or sleeps wait_ms; then
   commits. */
static int child_hold_write(const char *path, int out, int in, const char *wait_ms)
{
    digby_db *db = child_open(path, 0);
    digby_txn *txn;
    double ms = atof(wait_ms);
    CHILD_OK(digby_txn_begin(db, 0, &txn));
    CHILD_OK(digby_txn_put(txn, NULL, "a", 1, "held", 4, 0));
    child_write(out, "W", 1);
    if (ms > 0) sleep_ms(ms);
    else if (child_wait(in) < 0) child_fail("the parent went away");
    CHILD_OK(digby_txn_commit(txn));
    CHILD_OK(digby_close(db));
    return 0;
}

/* reader_hold: a snapshot, scanned once; 'H'; then holds it until killed
   (or the parent goes away). */
static int child_reader_hold(const char *path, int out, int in)
{
    digby_db *db = child_open(path, 0);
    digby_txn *txn;
    digby_cursor *cur;
    int rc;
    CHILD_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &txn));
    CHILD_OK(digby_cursor_open(txn, NULL, &cur));
    for (rc = digby_cursor_first(cur); rc == DIGBY_OK; rc = digby_cursor_next(cur)) {}
    if (rc != DIGBY_NOTFOUND) child_fail("scan: %s", rc_name(rc));
    child_write(out, "H", 1);
    child_wait(in);   /* until killed (or the parent went away) */
    digby_cursor_close(cur);
    digby_txn_abort(txn);
    CHILD_OK(digby_close(db));
    return 0;
}

/* reader_loop: snapshots, each scanned whole, until killed; 'R' after the
   first. */
static int child_reader_loop(const char *path, int out, int in)
{
    digby_db *db = child_open(path, 0);
    int first = 1;
    for (;;) {
        digby_txn *txn;
        digby_cursor *cur;
        int rc;
        CHILD_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &txn));
        CHILD_OK(digby_cursor_open(txn, NULL, &cur));
        for (rc = digby_cursor_first(cur); rc == DIGBY_OK; rc = digby_cursor_next(cur)) {}
        if (rc != DIGBY_NOTFOUND) child_fail("scan: %s", rc_name(rc));
        digby_cursor_close(cur);
        digby_txn_abort(txn);
        if (first && out >= 0) child_write(out, "R", 1);
        first = 0;
        if (child_told(in)) break;
    }
    CHILD_OK(digby_close(db));
    return 0;
}

/* ---- the kill -9 writer's workload -----------------------------------------
   Commit c puts "last" = c, slot "v%02u" (c % 64) = kw_value(c), "big" =
   a 5000-byte value of c every 3rd commit, and deletes slot (c * 7 % 64)
   every 5th commit (unless c itself wrote it).  The state after commit L
   follows from L alone (kw_expect). */

static void kw_fill(unsigned char *v, uint64_t c, size_t n)
{
    uint64_t x = mix64(c ^ UINT64_C(0xC0FFEE));
    size_t j;
    for (j = 0; j < n; j++) v[j] = (unsigned char)((x >> (8 * (j % 8))) + j);
}

/* The commit whose value slot s holds after commit L (0: absent). */
static uint64_t kw_slot(uint64_t L, unsigned s)
{
    uint64_t c;
    for (c = L; c >= 1; c--) {
        if (c % 64 == s) return c;
        if (c % 5 == 0 && c * 7 % 64 == s) return 0;
    }
    return 0;
}

/* kwriter: commits last+1, last+2, ... (limit commits, or until killed
   when limit is ""), each acknowledged on out once digby_txn_commit
   returned DIGBY_OK. */
/* Commit c's puts and delete into txn (not "last"): DIGBY_OK or the first
   error. */
static int kw_commit_ops(digby_txn *txn, uint64_t c, unsigned char *v)
{
    char key[16];
    size_t kn = (size_t)sprintf(key, "v%02u", (unsigned)(c % 64));
    int rc;
    kw_fill(v, c, 10 + (size_t)(c % 90));
    if ((rc = digby_txn_put(txn, NULL, key, kn, v, 10 + (size_t)(c % 90), 0)) != DIGBY_OK) return rc;
    if (c % 3 == 0) {
        kw_fill(v, c, 5000);
        if ((rc = digby_txn_put(txn, NULL, "big", 3, v, 5000, 0)) != DIGBY_OK) return rc;
    }
    if (c % 5 == 0 && c * 7 % 64 != c % 64) {
        kn = (size_t)sprintf(key, "v%02u", (unsigned)(c * 7 % 64));
        rc = digby_txn_delete(txn, NULL, key, kn);
        if (rc != DIGBY_OK && rc != DIGBY_NOTFOUND) return rc;
    }
    return DIGBY_OK;
}

static int child_kwriter(const char *path, int out, const char *flags, const char *limit)
{
    digby_db *db = child_open(path, strcmp(flags, "nosync") == 0 ? DIGBY_OPEN_NO_SYNC : 0);
    unsigned char *v = (unsigned char *)malloc(5000);
    uint64_t c, n = *limit ? strtoull(limit, NULL, 10) : UINT64_MAX, i;
    digby_txn *txn;
    int rc;
    if (!v) child_fail("out of memory");
    for (i = 0; i < n; i++) {
        CHILD_OK(digby_txn_begin(db, 0, &txn));
        c = child_get_u64(txn, "last", 0) + 1;   /* what this writer's transaction sees */
        child_put_u64(txn, "last", c);
        if ((rc = kw_commit_ops(txn, c, v)) != DIGBY_OK) child_fail("commit %llu: %s", (unsigned long long)c,
                                                                    rc_name(rc));
        CHILD_OK(digby_txn_commit(txn));
        if (out >= 0) child_write(out, &c, sizeof c);   /* acknowledged: digby_txn_commit returned DIGBY_OK */
    }
    free(v);
    CHILD_OK(digby_close(db));
    return 0;
}

/* snap_holder: a snapshot of the snapshot test's first commit (gen 1: keys
   "s%04u" = kw-style values of (1, key)), checked; 'H' and its txid; then
   waits for the parent's 8-byte final ctr, checks the same snapshot again,
   exactly, and that a new one sees that ctr. */
#define NS 300
static size_t sv_len(unsigned gen, unsigned k) { return k % 10 == 0 ? 3000 : 8 + (k * 7 + gen * 13) % 200; }
static void sv_fill(unsigned char *v, unsigned gen, unsigned k, size_t n)
{
    uint64_t x = mix64((uint64_t)gen << 32 | k);
    size_t j;
    for (j = 0; j < n; j++) v[j] = (unsigned char)((x >> (8 * (j % 8))) ^ (j * 31));
}

static void sv_check_gen1(digby_txn *txn, const char *when)
{
    unsigned char want[3000];
    digby_cursor *cur;
    const void *k, *v;
    size_t kn, vn;
    unsigned i = 0;
    int rc;
    CHILD_OK(digby_cursor_open(txn, NULL, &cur));
    for (rc = digby_cursor_first(cur); rc == DIGBY_OK; rc = digby_cursor_next(cur), i++) {
        char kb[16];
        CHILD_OK(digby_cursor_get(cur, &k, &kn, &v, &vn, NULL));
        if (kn == 3 && memcmp(k, "ctr", 3) == 0) { i--; continue; }
        sprintf(kb, "s%04u", i);
        if (i >= NS || kn != 5 || memcmp(k, kb, 5) != 0)
            child_fail("%s: the snapshot's key %u is not %s: its keys changed under it", when, i, kb);
        sv_fill(want, 1, i, sv_len(1, i));
        if (vn != sv_len(1, i) || memcmp(v, want, vn) != 0)
            child_fail("%s: the snapshot's value of %s changed under it (%zu bytes, expected %zu): a page it "
                       "reads was reused by another process's commit", when, kb, vn, sv_len(1, i));
    }
    if (rc != DIGBY_NOTFOUND) child_fail("%s: cursor: %s", when, rc_name(rc));
    if (i != NS) child_fail("%s: the snapshot has %u keys, expected %u", when, i, NS);
    digby_cursor_close(cur);
    if (child_get_u64(txn, "ctr", 0) != 1) child_fail("%s: the snapshot's ctr is not 1", when);
}

static int child_snap_holder(const char *path, int out, int in)
{
    digby_db *db = child_open(path, 0);
    digby_txn *txn, *now_txn;
    uint64_t txid, final_ctr;
    CHILD_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &txn));
    txid = digby_txn_id(txn);
    sv_check_gen1(txn, "at the start");
    child_write(out, "H", 1);
    child_write(out, &txid, sizeof txid);
    if (read_within(in, &final_ctr, sizeof final_ctr, 600) != 0) child_fail("the parent went away");
    sv_check_gen1(txn, "after the other process's commits");
    if (digby_txn_id(txn) != txid) child_fail("the snapshot's txid changed");
    digby_txn_abort(txn);
    CHILD_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &now_txn));
    if (child_get_u64(now_txn, "ctr", 0) != final_ctr)
        child_fail("a snapshot begun after the other process's last commit (ctr %llu) reads ctr %llu",
                   (unsigned long long)final_ctr, (unsigned long long)child_get_u64(now_txn, "ctr", 0));
    digby_txn_abort(now_txn);
    CHILD_OK(digby_close(db));
    return 0;
}

/* get_last: "last" of a new snapshot, 8 bytes on out. */
static int child_get_last(const char *path, int out)
{
    digby_db *db = child_open(path, 0);
    digby_txn *txn;
    uint64_t v;
    CHILD_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &txn));
    v = child_get_u64(txn, "last", 0);
    digby_txn_abort(txn);
    CHILD_OK(digby_close(db));
    child_write(out, &v, sizeof v);
    return 0;
}

/* open_rc: digby_open with DIGBY_OPEN_LOG (a1 "log") or not, or with a
   wrong key (a1 "wrongkey"); exits 0 on DIGBY_OK, 10 on DIGBY_BUSY, 30 on
   DIGBY_WRONGKEY, 20 on anything else (printed). */
static int child_open_rc(const char *path, const char *mode)
{
    digby_options o;
    digby_db *db = NULL;
    int rc;
    static const uint8_t wrong[32] = {7};
    mp_options(&o, strcmp(mode, "log") == 0 ? DIGBY_OPEN_LOG : 0);
    if (!(o.flags & DIGBY_OPEN_LOG)) o.flags |= DIGBY_OPEN_NO_LOG;
    if (strcmp(mode, "wrongkey") == 0) {
        o.key = wrong;
        o.key_bytes = sizeof wrong;
    }
    rc = digby_open(path, &o, &db);
    if (rc == DIGBY_OK) {
        rc = digby_close(db);
        if (rc != DIGBY_OK) child_fail("digby_close: %s", rc_name(rc));
        return 0;
    }
    if (rc == DIGBY_BUSY) return 10;
    if (rc == DIGBY_WRONGKEY) return 30;
    fprintf(stderr, "multiproc child open_rc: digby_open(%s): %s\n", mode, rc_name(rc));
    return 20;
}

/* argv after "--child": role path out in a1 a2 */
static int child_main(int argc, char **argv)
{
    const char *role, *path, *a1, *a2;
    int out, in;
    if (argc < 6) { fprintf(stderr, "multiproc --child: too few arguments\n"); return 2; }
    role = argv[0]; path = argv[1]; out = atoi(argv[2]); in = atoi(argv[3]); a1 = argv[4]; a2 = argv[5];
    g_role = role;
    g_mode = getenv("MULTIPROC_LOG") ? DIGBY_OPEN_LOG : 0;
    signal(SIGPIPE, SIG_IGN);
    if (!strcmp(role, "reader")) return child_reader(path, out, in);
    if (!strcmp(role, "writer")) return child_writer(path, a1, a2);
    if (!strcmp(role, "holder")) return child_holder(path, out, in);
    if (!strcmp(role, "counter")) return child_counter(path, in, a1, a2);
    if (!strcmp(role, "hold_write")) return child_hold_write(path, out, in, a1);
    if (!strcmp(role, "reader_hold")) return child_reader_hold(path, out, in);
    if (!strcmp(role, "reader_loop")) return child_reader_loop(path, out, in);
    if (!strcmp(role, "kwriter")) return child_kwriter(path, out, a1, a2);
    if (!strcmp(role, "snap_holder")) return child_snap_holder(path, out, in);
    if (!strcmp(role, "open_rc")) return child_open_rc(path, a1);
    if (!strcmp(role, "get_last")) return child_get_last(path, out);
    fprintf(stderr, "multiproc --child: unknown role %s\n", role);
    return 2;
}

/* ======================================================================== */
/* The tests                                                                */
/* ======================================================================== */

/* Whether this build's POSIX VFS can share a file between handles (the
   lock file: digby_vfs version 4's shm_open).  A build without it (no
   memory map: DIGBY_NO_MMAP, as make test's ASan build) keeps a file to one
   read-write handle, as before: every test is skipped, with a message.  A
   digby.h before version 4 has no way to say: the tests run (and fail at
   the second open). */
static int shared_files(void)
{
#if defined(DIGBY_VFS_VERSION) && DIGBY_VFS_VERSION >= 4 && !defined(DIGBY_NO_POSIX)
    const digby_vfs *v = digby_vfs_posix();
    if (!v || !v->shm_open) {
        static int said;
        if (!said)
            print_message("multiproc: this build's POSIX VFS has no lock file (shm_open NULL: %s): files are not "
                          "shared between handles, every test is skipped\n", digby_version());
        said = 1;
        return 0;
    }
#endif
    return 1;
}

#define NEED_SHARED_FILES() do { if (!shared_files()) skip(); } while (0)

/* base * DIGBY_TEST_SCALE, at least min (below that a test proves little). */
static uint64_t scaled(double base, uint64_t min)
{
    double v = base * test_scale();
    return v < (double)min ? min : (uint64_t)v;
}

static unsigned char g_vbuf[5000];   /* the parent's values (nothing to free when a test fails) */

static int mp_teardown(void **state)
{
    fixture *f = (fixture *)*state;
    int i;
    kids_kill_all();
    for (i = 0; i < MAX_DBS; i++) {   /* what a failed test left open, but the fixture's */
        if (g_dbs[i] && (!f || g_dbs[i] != f->db)) digby_close(g_dbs[i]);
        g_dbs[i] = NULL;
    }
    if (f) {
        char lock[600];
        snprintf(lock, sizeof lock, "%s-lock", f->path);
        unlink(lock);
    }
    return fixture_teardown(state, check_thorough);
}

static void put_str(digby_db *db, const char *k, const char *v)
{
    ASSERT_OK(digby_put(db, k, strlen(k), v, strlen(v)));
}

static void expect_str(digby_db *db, const char *k, const char *v, const char *what)
{
    void *got = NULL;
    size_t n = 0;
    int rc = digby_get(db, k, strlen(k), &got, &n, NULL);
    if (rc != DIGBY_OK || n != strlen(v) || memcmp(got, v, n) != 0)
        fail_msg("%s: %s reads %s%.*s%s, expected \"%s\"", what, k, rc == DIGBY_OK ? "\"" : rc_name(rc),
                 rc == DIGBY_OK ? (int)n : 0, rc == DIGBY_OK ? (const char *)got : "", rc == DIGBY_OK ? "\"" : "",
                 v);
    digby_free(db, got);
}

/* Run the digby tool (argv[0] its path, or a runner found on PATH) with
   stdout to out (cap bytes, NUL-terminated); its exit status, or -1 when
   it did not exit. */
static int run_tool(char *const argv[], char *out, size_t cap)
{
    int p[2], st;
    size_t n = 0;
    pid_t pid;
    mkpipe(p);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    kid_add(pid);
    close(p[1]);
    for (;;) {
        ssize_t k = read(p[0], out + n, cap - 1 - n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        n += (size_t)k;
        if (n == cap - 1) break;
    }
    out[n] = 0;
    close(p[0]);
    st = reap(pid, argv[0], 60);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* 1. Two handles in one process; a read-only and a read-write open beside
   another process's read-write handle; the tool on the live file. */
static void test_two_handles(void **state)
{
    fixture *f = (fixture *)*state;
    digby_db *a, *b, *ro;
    digby_txn *t;
    int out[2], in[2];
    pid_t pid;
    const char *cli = getenv("DIGBY_TEST_CLI");
    char buf[4096];

    NEED_SHARED_FILES();

    /* one process, two handles */
    a = open_must(f->path, 0, "the first handle");
    put_str(a, "x", "1");
    b = open_must(f->path, 0, "a second digby_open of the same path in the same process");
    expect_str(b, "x", "1", "the second handle, after the first committed");
    put_str(b, "y", "2");
    expect_str(a, "y", "2", "the first handle, after the second committed");
    ASSERT_OK(digby_txn_begin(a, DIGBY_TXN_READONLY, &t));
    put_str(b, "z", "3");
    {   /* a's snapshot began before b's commit: it does not see z */
        const void *v;
        size_t vn;
        int rc = digby_txn_get(t, NULL, "z", 1, &v, &vn, NULL);
        if (rc != DIGBY_NOTFOUND)
            fail_msg("a snapshot of handle 1 begun before handle 2 committed z reads z (%s): snapshots must "
                     "not see later commits", rc_name(rc));
    }
    digby_txn_abort(t);
    expect_str(a, "z", "3", "handle 1 after handle 2's commit");
    check_clean(b);
    close_must(b);
    close_must(a);

    /* another process holds the file read-write */
    mkpipe(out);
    mkpipe(in);
    pid = spawn("holder", f->path, out[1], in[0], NULL, NULL);
    close(out[1]);
    close(in[0]);
    expect_byte(out[0], 'R', "the holder process (open, commit held = 1)", 60);
    ro = open_must(f->path, DIGBY_OPEN_READONLY, "a read-only open while another process holds the file read-write");
    expect_str(ro, "held", "1", "the read-only handle, after the other process's commit");
    f->db = open_must(f->path, 0, "a read-write open while another process holds the file read-write");
    expect_str(f->db, "held", "1", "the read-write handle, after the other process's commit");
    put_str(f->db, "parent", "2");
    expect_str(ro, "parent", "2", "the read-only handle, after this process's other handle committed");

    /* the tool, on the live file (three handles open in two processes) */
    if (!cli || !*cli) cli = "build/digby";
    {   /* "[RUNNER ]TOOL": the words of argv before the command's */
        char words[512], *w[8], *tool;
        int nw = 0, st;
        snprintf(words, sizeof words, "%s", cli);
        for (tool = strtok(words, " "); tool && nw < 4; tool = strtok(NULL, " ")) w[nw++] = tool;
        tool = w[nw - 1];
        if (access(tool, X_OK) != 0) {
            print_message("multiproc: %s not found (DIGBY_TEST_CLI; make test builds build/digby): the tool's "
                          "part is skipped\n", tool);
        } else {
            w[nw] = f->path; w[nw + 1] = (char *)"get"; w[nw + 2] = (char *)"parent"; w[nw + 3] = NULL;
            st = run_tool(w, buf, sizeof buf);
            if (st != 0 || strcmp(buf, "2") != 0)
                fail_msg("`digby FILE get parent` on a file other processes hold: exit status %d, output \"%s\" "
                         "(expected 0, \"2\")", st, buf);
            w[nw + 1] = (char *)"stat"; w[nw + 2] = NULL;
            st = run_tool(w, buf, sizeof buf);
            if (st != 0 || !buf[0])
                fail_msg("`digby FILE stat` on a file other processes hold: exit status %d, output \"%.200s\"",
                         st, buf);
            w[nw + 1] = (char *)"check";
            st = run_tool(w, buf, sizeof buf);
            if (st != 0)
                fail_msg("`digby FILE check` on a file other processes hold: exit status %d, output \"%.300s\"",
                         st, buf);
        }
    }
    write_byte(in[1], 'C');
    reap_ok(pid, "the holder process (checks that it sees the parent's commit)", 60);
    close(in[1]);
    close(out[0]);
    close_must(ro);
}

/* 2. Every scan of every reader process is exactly one commit. */
static void snapshots_whole_run(fixture *f, int NR, uint64_t commits)
{
    int out[3][2], in[3][2], i;
    pid_t rd[3], wr;
    char count[32];
    unsigned char *vbuf;
    digby_txn *txn;
    uint64_t size;

    vbuf = g_vbuf;

    /* commit 1: every key, tag 1 */
    f->db = open_must(f->path, DIGBY_OPEN_NO_SYNC, "the parent");
    ASSERT_OK(digby_txn_begin(f->db, 0, &txn));
    ASSERT_OK(wl_commit_ops(txn, 1, vbuf));
    ASSERT_OK(digby_txn_commit(txn));

    for (i = 0; i < NR; i++) {
        mkpipe(out[i]);
        mkpipe(in[i]);
        rd[i] = spawn("reader", f->path, out[i][1], in[i][0], NULL, NULL);
        close(out[i][1]);
        close(in[i][0]);
    }
    for (i = 0; i < NR; i++) expect_byte(out[i][0], 'R', "a reader process's first scan", 60);
    snprintf(count, sizeof count, "%llu", (unsigned long long)commits);
    wr = spawn("writer", f->path, -1, -1, count, "nosync");
    reap_ok(wr, "the writer process", 300);
    for (i = 0; i < NR; i++) close(in[i][1]);   /* stop */
    for (i = 0; i < NR; i++) {
        reader_report r;
        if (read_within(out[i][0], &r, sizeof r, 60) != 0) {
            reap_ok(rd[i], "a reader process", 60);
            fail_msg("reader %d sent no report", i + 1);
        }
        reap_ok(rd[i], "a reader process", 60);
        close(out[i][0]);
        print_message("multiproc: reader %d: %llu scans, commits %llu .. %llu (%llu changes seen), txids %llu .. "
                      "%llu\n", i + 1, (unsigned long long)r.scans, (unsigned long long)r.first_ctr,
                      (unsigned long long)r.last_ctr, (unsigned long long)r.changes,
                      (unsigned long long)r.first_txid, (unsigned long long)r.last_txid);
        if (r.last_ctr != commits + 1)
            fail_msg("reader %d's last scan (after the writer ended) holds commit %llu, expected %llu: a "
                     "snapshot begun after a commit must see it", i + 1, (unsigned long long)r.last_ctr,
                     (unsigned long long)(commits + 1));
        if (r.changes < 10)
            fail_msg("reader %d saw only %llu commits change under its scans: the readers did not overlap the "
                     "writer (too fast a machine? raise DIGBY_TEST_SCALE)", i + 1, (unsigned long long)r.changes);
    }
    /* this handle sees the writer's last commit too */
    {
        char want[32];
        snprintf(want, sizeof want, "%llu", (unsigned long long)(commits + 1));
        expect_str(f->db, "ctr", want, "the parent's handle after the writer process ended");
    }
    size = file_bytes(f->path);
    print_message("multiproc: %llu commits, file %llu KiB\n", (unsigned long long)commits,
                  (unsigned long long)(size >> 10));
    /* about 70 KiB of data, ~45 keys rewritten or deleted per commit, some
       15 pages: without page reuse the file would pass 160 MiB at scale 1;
       a reader descheduled in the middle of a scan pins the pages of the
       commits meanwhile, hence the margin */
    if (size > ((uint64_t)32 << 20))
        fail_msg("the file grew to %llu KiB over %llu commits of about 70 KiB of data: freed pages are not "
                 "reused", (unsigned long long)(size >> 10), (unsigned long long)commits);
}

static void test_snapshots_whole(void **state)
{
    NEED_SHARED_FILES();
    snapshots_whole_run((fixture *)*state, 3, scaled(3000, 600));
}

/* 3. One writer at a time across processes. */
static void test_writers_exclusive(void **state)
{
    fixture *f = (fixture *)*state;
    int go[2], out[2], in[2];
    pid_t p1, p2, h;
    char count[32];
    uint64_t m = scaled(300, 50);
    digby_txn *t;
    double t0, waited;
    int rc;

    NEED_SHARED_FILES();

    f->db = open_must(f->path, 0, "the parent");
    put_str(f->db, "count", "0");

    /* two counters; the start together */
    mkpipe(go);
    snprintf(count, sizeof count, "%llu", (unsigned long long)m);
    p1 = spawn("counter", f->path, -1, go[0], count, "p1");
    p2 = spawn("counter", f->path, -1, go[0], count, "p2");
    close(go[0]);
    sleep_ms(50);
    close(go[1]);
    reap_ok(p1, "counter process 1", 300);
    reap_ok(p2, "counter process 2", 300);
    {
        char want[32];
        snprintf(want, sizeof want, "%llu", (unsigned long long)(2 * m));
        expect_str(f->db, "count", want, "lost update: two processes each committed count += 1 this many "
                                         "times; the total");
        snprintf(want, sizeof want, "%llu", (unsigned long long)m);
        expect_str(f->db, "p1", want, "process 1's own count");
        expect_str(f->db, "p2", want, "process 2's own count");
    }

    /* DIGBY_TXN_NOWAIT while another process holds a write transaction */
    mkpipe(out);
    mkpipe(in);
    h = spawn("hold_write", f->path, out[1], in[0], "0", NULL);
    close(out[1]);
    close(in[0]);
    expect_byte(out[0], 'W', "the process holding a write transaction", 60);
#ifdef DIGBY_TXN_NOWAIT
    t = NULL;
    rc = digby_txn_begin(f->db, DIGBY_TXN_NOWAIT, &t);
    if (rc != DIGBY_BUSY) {
        if (rc == DIGBY_OK) digby_txn_abort(t);
        fail_msg("digby_txn_begin(DIGBY_TXN_NOWAIT) while another process holds a write transaction returned "
                 "%s, expected DIGBY_BUSY", rc_name(rc));
    }
#else
    (void)rc;
    write_byte(in[1], 'C');
    reap(h, "the process holding a write transaction", 60);
    fail_msg("digby.h has no DIGBY_TXN_NOWAIT (issue #14: digby_txn_begin's flag that gives DIGBY_BUSY "
             "instead of waiting for another process's writer)");
#endif
    /* a read-only transaction meanwhile: the last commit, without the
       uncommitted put */
    ASSERT_OK(digby_txn_begin(f->db, DIGBY_TXN_READONLY, &t));
    {
        const void *v;
        size_t vn;
        rc = digby_txn_get(t, NULL, "a", 1, &v, &vn, NULL);
        if (rc != DIGBY_NOTFOUND)
            fail_msg("a snapshot reads another process's uncommitted put (%s)", rc_name(rc));
    }
    digby_txn_abort(t);
    write_byte(in[1], 'C');
    reap_ok(h, "the process holding a write transaction", 60);
    close(in[1]);
    close(out[0]);
#ifdef DIGBY_TXN_NOWAIT
    rc = digby_txn_begin(f->db, DIGBY_TXN_NOWAIT, &t);
    if (rc != DIGBY_OK)
        fail_msg("digby_txn_begin(DIGBY_TXN_NOWAIT) after the other writer ended returned %s", rc_name(rc));
    {
        const void *v;
        size_t vn;
        ASSERT_OK(digby_txn_get(t, NULL, "a", 1, &v, &vn, NULL));
        assert_int_equal(vn, 4);
    }
    digby_txn_abort(t);
#endif

    /* a blocking begin waits for the other process's writer */
    put_str(f->db, "a", "gone");
    mkpipe(out);
    h = spawn("hold_write", f->path, out[1], -1, "400", NULL);
    close(out[1]);
    expect_byte(out[0], 'W', "the process holding a write transaction for 400 ms", 60);
    t0 = mono();
    ASSERT_OK(digby_txn_begin(f->db, 0, &t));
    waited = mono() - t0;
    {
        const void *v;
        size_t vn;
        ASSERT_OK(digby_txn_get(t, NULL, "a", 1, &v, &vn, NULL));
        if (vn != 4 || memcmp(v, "held", 4) != 0)
            fail_msg("a write transaction begun while another process held one (waited %.0f ms) does not see "
                     "that process's commit: two writers at once", waited * 1000);
    }
    ASSERT_OK(digby_txn_commit(t));
    if (waited < 0.2)
        fail_msg("digby_txn_begin of a writer returned after %.0f ms while another process held a write "
                 "transaction for 400 ms: it must wait", waited * 1000);
    reap_ok(h, "the process holding a write transaction for 400 ms", 60);
    close(out[0]);
}

/* Overwrite commits from the parent: n commits, each rewriting 24 of 200
   keys (values 100 to 400 bytes). */
static void overwrite_commits(digby_db *db, unsigned n, uint64_t seed)
{
    unsigned char v[400];
    unsigned i, j;
    for (i = 0; i < n; i++) {
        digby_txn *t;
        ASSERT_OK(digby_txn_begin(db, 0, &t));
        for (j = 0; j < 24; j++) {
            char key[16];
            uint64_t h = mix64(seed + (uint64_t)i * 64 + j);
            size_t kn = (size_t)sprintf(key, "o%03u", (unsigned)(h % 200)), vn = 100 + (size_t)(h >> 16) % 300;
            memset(v, (int)(h >> 40), vn);
            ASSERT_OK(digby_txn_put(t, NULL, key, kn, v, vn, 0));
        }
        ASSERT_OK(digby_txn_commit(t));
    }
}

/* 4a. Readers killed with SIGKILL hold nothing afterwards. */
static void test_kill_readers(void **state)
{
    fixture *f = (fixture *)*state;
    unsigned rounds = (unsigned)scaled(4, 2), r;
    unsigned commits = (unsigned)scaled(1500, 1000);
    uint64_t seed = 1, before, after, rng = 7;
    int i;

    NEED_SHARED_FILES();

    f->db = open_must(f->path, DIGBY_OPEN_NO_SYNC, "the parent");
    overwrite_commits(f->db, 50, seed);
    for (r = 0; r < rounds; r++) {
        int out[4][2], in[4][2];
        pid_t pid[4];
        /* two hold a snapshot, two scan in a loop; all killed */
        for (i = 0; i < 4; i++) {
            mkpipe(out[i]);
            mkpipe(in[i]);
            pid[i] = spawn(i < 2 ? "reader_hold" : "reader_loop", f->path, out[i][1], in[i][0], NULL, NULL);
            close(out[i][1]);
            close(in[i][0]);
        }
        for (i = 0; i < 4; i++)
            expect_byte(out[i][0], i < 2 ? 'H' : 'R', i < 2 ? "a reader holding a snapshot" : "a scanning reader",
                        60);
        /* the writer goes on while they live: their snapshots pin pages */
        overwrite_commits(f->db, 20, seed += 1000);
        /* and one killed 0 to 15 ms after its start: in exec, open or its
           first scans */
        {
            int st;
            pid_t early = spawn("reader_loop", f->path, -1, -1, NULL, NULL);
            sleep_ms((double)(mix64(rng++) % 16));
            kill(early, SIGKILL);
            st = reap(early, "a reader killed early", 60);
            if (!WIFSIGNALED(st) && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
                fail_msg("a reader killed early had failed before (status %d): see its message above",
                         WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        }
        for (i = 0; i < 4; i++) {
            int st;
            if (i >= 2) sleep_ms((double)(mix64(rng++) % 20));   /* at a random moment of its scans */
            kill(pid[i], SIGKILL);
            st = reap(pid[i], "a reader killed with SIGKILL", 60);
            if (!WIFSIGNALED(st))
                fail_msg("a reader process ended before it was killed (status %d): see its message above",
                         WIFEXITED(st) ? WEXITSTATUS(st) : -1);
            close(out[i][0]);
            close(in[i][1]);
        }
    }
    /* some commits to settle, then many: the file must stay put */
    overwrite_commits(f->db, 100, seed += 100000);
    before = file_bytes(f->path);
    overwrite_commits(f->db, commits, seed += 100000);
    after = file_bytes(f->path);
    print_message("multiproc: after %u rounds of 5 killed readers: file %llu KiB, after %u more commits %llu "
                  "KiB\n", rounds, (unsigned long long)(before >> 10), commits, (unsigned long long)(after >> 10));
    /* each commit frees about 10 pages: held pages would add ~60 MiB */
    if (after > before + ((uint64_t)2 << 20))
        fail_msg("the file grew from %llu KiB to %llu KiB over %u commits after every reader was killed: a dead "
                 "reader's snapshot still holds pages (its reader slot was not freed)",
                 (unsigned long long)(before >> 10), (unsigned long long)(after >> 10), commits);
}

/* The kill -9 writer's state after commit L must be exactly that. */
static void kw_verify(digby_db *db, uint64_t L, const char *when)
{
    unsigned char want[5000];
    digby_txn *t;
    unsigned s;
    const void *v;
    size_t vn;
    int rc;
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &t));
    for (s = 0; s < 64; s++) {
        char key[16];
        uint64_t c = kw_slot(L, s);
        size_t kn = (size_t)sprintf(key, "v%02u", s);
        rc = digby_txn_get(t, NULL, key, kn, &v, &vn, NULL);
        if (c == 0 && rc != DIGBY_NOTFOUND)
            fail_msg("%s: the file holds commit %llu, after which %s is deleted, but it reads %s", when,
                     (unsigned long long)L, key, rc_name(rc));
        if (c) {
            kw_fill(want, c, 10 + (size_t)(c % 90));
            if (rc != DIGBY_OK || vn != 10 + (size_t)(c % 90) || memcmp(v, want, vn) != 0)
                fail_msg("%s: the file holds commit %llu, after which %s has commit %llu's value, but it reads "
                         "%s (%zu bytes): not exactly one commit", when, (unsigned long long)L, key,
                         (unsigned long long)c, rc_name(rc), rc == DIGBY_OK ? vn : 0);
        }
    }
    rc = digby_txn_get(t, NULL, "big", 3, &v, &vn, NULL);
    if (L >= 3) {
        uint64_t c = L - L % 3;
        kw_fill(want, c, 5000);
        if (rc != DIGBY_OK || vn != 5000 || memcmp(v, want, 5000) != 0)
            fail_msg("%s: the file holds commit %llu, but \"big\" is not commit %llu's value (%s)", when,
                     (unsigned long long)L, (unsigned long long)c, rc_name(rc));
    }
    digby_txn_abort(t);
}

/* "last" as txn sees it. */
static uint64_t txn_last(digby_txn *t)
{
    const void *v;
    size_t vn;
    char num[32];
    ASSERT_OK(digby_txn_get(t, NULL, "last", 4, &v, &vn, NULL));
    assert_true(vn < sizeof num);
    memcpy(num, v, vn);
    num[vn] = 0;
    return strtoull(num, NULL, 10);
}

/* "last" of a new snapshot of db. */
static uint64_t parent_last(digby_db *db)
{
    digby_txn *t;
    const void *v;
    size_t vn;
    char num[32];
    ASSERT_OK(digby_txn_begin(db, DIGBY_TXN_READONLY, &t));
    ASSERT_OK(digby_txn_get(t, NULL, "last", 4, &v, &vn, NULL));
    assert_true(vn < sizeof num);
    memcpy(num, v, vn);
    num[vn] = 0;
    digby_txn_abort(t);
    return strtoull(num, NULL, 10);
}

/* 4b. A writer killed at random moments: every acknowledged commit
   survives, the file is one whole commit, the next writer goes on. */
static void test_kill_writer(void **state)
{
    fixture *f = (fixture *)*state;
    unsigned rounds = (unsigned)scaled(12, 4), r, longest = 0;
    uint64_t acked = 0, seen = 0, rng = 11;   /* acked: the last acknowledged commit; seen: the last one read */
    unsigned late = 0;   /* rounds in which the commit in flight appeared between two snapshots */
    unsigned parent_wrote = 0;   /* rounds in which this process's handle wrote first after the kill */
    int rd_out[2], rd_in[2];
    pid_t rd;

    NEED_SHARED_FILES();

    /* a reader process scans through every round: the kills must not
       disturb it */
    f->db = open_must(f->path, 0, "the parent");
    put_str(f->db, "last", "0");
    mkpipe(rd_out);
    mkpipe(rd_in);
    rd = spawn("reader_loop", f->path, rd_out[1], rd_in[0], NULL, NULL);
    close(rd_out[1]);
    close(rd_in[0]);
    expect_byte(rd_out[0], 'R', "the scanning reader", 60);

    for (r = 0; r < rounds; r++) {
        int out[2], st;
        pid_t w;
        uint64_t c, prev = 0, got = 0, L, L2, L3, top, wrote;
        double delay = 10 + (double)(mix64(rng++) % 80);
        const char *mode = r % 2 ? "nosync" : "sync";
        mkpipe(out);
        w = spawn("kwriter", f->path, out[1], -1, mode, "");
        close(out[1]);
        sleep_ms(delay);
        kill(w, SIGKILL);
        st = reap(w, "the writer", 60);
        /* its acknowledgements: seen + 1, seen + 2, ... */
        while (read_within(out[0], &c, sizeof c, 5) == 0) {
            if (got == 0 && c - 1 < acked)
                fail_msg("round %u (%s): the writer began after commit %llu, but commit %llu had been acknowledged "
                         "(digby_txn_commit returned DIGBY_OK) before the last kill: an acknowledged commit was "
                         "lost", r, mode, (unsigned long long)(c - 1), (unsigned long long)acked);
            if (got == 0 && c - 1 != seen)
                fail_msg("round %u (%s): the writer began after commit %llu, but after the last kill new "
                         "snapshots (this process's and a new process's) read commit %llu%s", r, mode,
                         (unsigned long long)(c - 1), (unsigned long long)seen,
                         c - 1 == seen + 1 ? ": the commit in flight at the kill, never acknowledged, surfaced "
                                             "only after readers had seen the file without it" : "");
            if (got && c != prev + 1)
                fail_msg("round %u: the writer acknowledged commit %llu after %llu", r, (unsigned long long)c,
                         (unsigned long long)prev);
            prev = c;
            got++;
            if (c > acked) acked = c;
        }
        close(out[0]);
        if (!WIFSIGNALED(st))
            fail_msg("round %u: the writer ended before the kill (status %d): see its message above", r,
                     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        if (got > longest) longest = (unsigned)got;
        top = got ? prev : seen;   /* the last commit acknowledged or seen */
        wrote = 0;
        if (r % 3 == 2) {
            /* this time the parent's own handle (open all along) writes
               first: it must build on the file as the next writer process
               would, the commit in flight at the kill included if any
               snapshot will ever see it */
            digby_txn *t;
            uint64_t S;
            ASSERT_OK(digby_txn_begin(f->db, 0, &t));
            S = txn_last(t);
            if (S < acked || S < seen || S > top + 1)
                fail_msg("round %u (%s): after the kill a write transaction of this process's handle reads commit "
                         "%llu; acknowledged %llu, seen %llu", r, mode, (unsigned long long)S,
                         (unsigned long long)acked, (unsigned long long)seen);
            {
                char num[32];
                int n = sprintf(num, "%llu", (unsigned long long)(S + 1));
                ASSERT_OK(digby_txn_put(t, NULL, "last", 4, num, (size_t)n, 0));
            }
            ASSERT_OK(kw_commit_ops(t, S + 1, g_vbuf));
            ASSERT_OK(digby_txn_commit(t));
            wrote = S + 1;
            parent_wrote++;
        }
        /* new snapshots: the parent's handle (open all along), then a new
           process's, then the parent's again.  The commit in flight at the
           kill may go either way, but once one snapshot has it, every
           snapshot begun later must have it too */
        L = parent_last(f->db);
        {
            int p[2];
            pid_t g;
            mkpipe(p);
            g = spawn("get_last", f->path, p[1], -1, NULL, NULL);
            close(p[1]);
            if (read_within(p[0], &L2, sizeof L2, 60) != 0) {
                reap_ok(g, "a process reading \"last\" after the kill", 60);
                fail_msg("no answer from the process reading \"last\"");
            }
            reap_ok(g, "a process reading \"last\" after the kill", 60);
            close(p[0]);
        }
        L3 = parent_last(f->db);
        if (L2 < L)
            fail_msg("round %u (%s): after the writer was killed, a snapshot of this process read commit %llu, "
                     "then a new process's snapshot read commit %llu: a later snapshot lost a commit", r, mode,
                     (unsigned long long)L, (unsigned long long)L2);
        if (L3 != L2)
            fail_msg("round %u (%s): after the writer was killed, a new process's snapshot read commit %llu, then "
                     "a new snapshot of this process's handle read commit %llu (before the new process: %llu): a "
                     "snapshot begun later must see every commit an earlier one saw (the commit in flight at "
                     "the kill, never acknowledged, is in the file for new handles but not for open ones?)", r,
                     mode, (unsigned long long)L2, (unsigned long long)L3, (unsigned long long)L);
        if (L != L2) late++;
        if (wrote && (L != wrote || L2 != wrote))
            fail_msg("round %u (%s): after the kill this process's handle committed %llu, but new snapshots read "
                     "commit %llu (this process) and %llu (a new process)", r, mode, (unsigned long long)wrote,
                     (unsigned long long)L, (unsigned long long)L2);
        L = L3;
        if (L < acked)
            fail_msg("round %u (%s): commit %llu was acknowledged (digby_txn_commit returned DIGBY_OK) before "
                     "the kill, but the file holds commit %llu", r, mode, (unsigned long long)acked,
                     (unsigned long long)L);
        if (L < seen)
            fail_msg("round %u (%s): the file holds commit %llu, but commit %llu was seen before: a commit "
                     "readers saw went away", r, mode, (unsigned long long)L, (unsigned long long)seen);
        if (!wrote && L > top + 1)
            fail_msg("round %u: the file holds commit %llu, but the writer acknowledged up to %llu (at most one "
                     "more may have been in flight)", r, (unsigned long long)L, (unsigned long long)top);
        seen = L;
        kw_verify(f->db, L, "after a writer was killed");
        check_clean(f->db);
    }
    print_message("multiproc: %u writer kills (after %u of them this process's handle wrote first), %llu "
                  "commits, at most %u acknowledged in a round; in %u rounds the commit in flight at the kill "
                  "appeared only after a first snapshot without it\n", rounds, parent_wrote,
                  (unsigned long long)seen, longest, late);
    if (seen == 0)
        fail_msg("no commit in %u rounds: the writers were killed before they could commit (raise the delays)",
                 rounds);
    /* a last writer, not killed, carries on from there */
    {
        pid_t w = spawn("kwriter", f->path, -1, -1, "sync", "20");
        char want[32];
        reap_ok(w, "the last writer (20 commits after the kills)", 120);
        snprintf(want, sizeof want, "%llu", (unsigned long long)(seen + 20));
        expect_str(f->db, "last", want, "after the last writer's 20 commits");
        kw_verify(f->db, seen + 20, "after the last writer");
    }
    close(rd_in[1]);
    reap_ok(rd, "the scanning reader (through every kill)", 60);
    close(rd_out[0]);
}

/* 5. A snapshot in one process reads its own values while another commits
   many transactions over them. */
static void test_snapshot_held(void **state)
{
    fixture *f = (fixture *)*state;
    unsigned char *v;
    unsigned commits = (unsigned)scaled(300, 100), c, k;
    int out[2], in[2];
    pid_t h;
    uint64_t txid, final_ctr;
    digby_txn *t;

    NEED_SHARED_FILES();
    v = g_vbuf;

    f->db = open_must(f->path, DIGBY_OPEN_NO_SYNC, "the parent");
    ASSERT_OK(digby_txn_begin(f->db, 0, &t));
    for (k = 0; k < NS; k++) {
        char key[16];
        size_t kn = (size_t)sprintf(key, "s%04u", k);
        sv_fill(v, 1, k, sv_len(1, k));
        ASSERT_OK(digby_txn_put(t, NULL, key, kn, v, sv_len(1, k), 0));
    }
    ASSERT_OK(digby_txn_put(t, NULL, "ctr", 3, "1", 1, 0));
    ASSERT_OK(digby_txn_commit(t));

    mkpipe(out);
    mkpipe(in);
    h = spawn("snap_holder", f->path, out[1], in[0], NULL, NULL);
    close(out[1]);
    close(in[0]);
    expect_byte(out[0], 'H', "the process holding a snapshot", 60);
    if (read_within(out[0], &txid, sizeof txid, 60) != 0) fail_msg("no txid from the snapshot holder");

    /* many commits over every key: rewrites (other lengths), deletes, and
       re-inserts, so that the pages under the snapshot are freed */
    for (c = 2; c < commits + 2; c++) {
        char num[32];
        int n;
        ASSERT_OK(digby_txn_begin(f->db, 0, &t));
        for (k = c % 7; k < NS; k += 7) {
            char key[16];
            size_t kn = (size_t)sprintf(key, "s%04u", k);
            if ((k + c) % 5 == 0) {
                int rc = digby_txn_delete(t, NULL, key, kn);
                ASSERT_RC2(rc, DIGBY_OK, DIGBY_NOTFOUND);
            } else {
                sv_fill(v, c, k, sv_len(c, k));
                ASSERT_OK(digby_txn_put(t, NULL, key, kn, v, sv_len(c, k), 0));
            }
        }
        n = sprintf(num, "%u", c);
        ASSERT_OK(digby_txn_put(t, NULL, "ctr", 3, num, (size_t)n, 0));
        ASSERT_OK(digby_txn_commit(t));
    }
    final_ctr = commits + 1;
    assert_int_equal(write(in[1], &final_ctr, sizeof final_ctr), (ssize_t)sizeof final_ctr);
    reap_ok(h, "the process holding a snapshot (checks its values after the commits)", 120);
    close(in[1]);
    close(out[0]);
    print_message("multiproc: a snapshot (txid %llu) held across %u commits of another process read its own "
                  "values\n", (unsigned long long)txid, commits);
}

/* What another process's digby_open (mode "log" or "") gets: 0 OK, 10
   DIGBY_BUSY, 20 another error. */
static int other_open(const char *path, const char *mode)
{
    int st = reap(spawn("open_rc", path, -1, -1, mode, NULL), "a process opening the file", 60);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *open_rc_name(int r)
{
    return r == 0 ? "DIGBY_OK" : r == 10 ? "DIGBY_BUSY" : "another error (see above)";
}

/* 7. Handles in both modes share a file: a log-mode handle's commits stay
   in its log, which the others read; a copy-on-write writer merges the
   log into the tree before it writes; another log-mode writer appends to
   the same log. */
static void test_modes_mixed(void **state)
{
    fixture *f = (fixture *)*state;
    digby_db *cw;
    int r;

    NEED_SHARED_FILES();
    f->db = open_must(f->path, DIGBY_OPEN_LOG, "a log-mode handle");
    put_str(f->db, "x", "1");
    if ((r = other_open(f->path, "")) != 0)
        fail_msg("another process's copy-on-write open beside a log-mode handle: %s, expected DIGBY_OK",
                 open_rc_name(r));
    if ((r = other_open(f->path, "log")) != 0)
        fail_msg("another process's log-mode open beside a log-mode handle: %s, expected DIGBY_OK",
                 open_rc_name(r));
    /* (the other processes' closes merged and dropped the log) */
    put_str(f->db, "y", "2");
    cw = open_must(f->path, 0, "a copy-on-write handle beside the log-mode one");
    expect_str(cw, "y", "2", "the copy-on-write handle, a commit in the other handle's log");
    put_str(cw, "z", "3");
    expect_str(f->db, "z", "3", "the log-mode handle, after the copy-on-write handle's commit");
    expect_str(f->db, "y", "2", "the log-mode handle, its own commit merged by the other");
    put_str(f->db, "x", "4");
    expect_str(cw, "x", "4", "the copy-on-write handle");
    check_clean(cw);
    close_must(cw);
    expect_str(f->db, "x", "4", "the log-mode handle");
    if ((r = other_open(f->path, "")) != 0)
        fail_msg("another process's copy-on-write open after: %s, expected DIGBY_OK", open_rc_name(r));
}

/* The log-mode runs: MULTIPROC_LOG=1 for the children, DIGBY_OPEN_LOG for
   every handle. */
static int setup_log(void **state)
{
    g_mode = DIGBY_OPEN_LOG;
    setenv("MULTIPROC_LOG", "1", 1);
    return setup(state);
}

static int teardown_log(void **state)
{
    int rc = mp_teardown(state);
    g_mode = 0;
    unsetenv("MULTIPROC_LOG");
    return rc;
}

/* 7. An encrypted file (a raw key, MP_KEYED=1 for the children): reader
   processes scan whole commits while a writer process commits (their
   refreshes open its meta pages and pages with the data key they hold);
   a wrong key in another process is DIGBY_WRONGKEY; digby_rekey is
   DIGBY_BUSY while another process has the file open and runs once it
   has closed; the tool reads the live file with DIGBY_KEY_FILE. */
static void test_encrypted(void **state)
{
    fixture *f = (fixture *)*state;
    const char *cli = getenv("DIGBY_TEST_CLI");
    uint64_t commits = scaled(400, 150);
    char want[32], keyfile[600], buf[256];
    int out[2], in[2], r, rc;
    pid_t pid;

    NEED_SHARED_FILES();
    setenv("MP_KEYED", "1", 1);
    snapshots_whole_run(f, 2, commits);
    snprintf(want, sizeof want, "%llu", (unsigned long long)(commits + 1));
    if ((r = other_open(f->path, "wrongkey")) != 30)
        fail_msg("another process's open of the encrypted file with a wrong key, beside this one: %s (%d), "
                 "expected DIGBY_WRONGKEY", r == 0 ? "DIGBY_OK" : open_rc_name(r), r);
    /* a rekey beside another process's handle */
    mkpipe(out);
    mkpipe(in);
    pid = spawn("holder", f->path, out[1], in[0], NULL, NULL);
    close(out[1]);
    close(in[0]);
    expect_byte(out[0], 'R', "the holder process (open with the key, commit held = 1)", 60);
    rc = digby_rekey(f->db, 0);
    if (rc != DIGBY_BUSY)
        fail_msg("digby_rekey while another process has the encrypted file open: %s, expected DIGBY_BUSY (it "
                 "holds the data key a rekey replaces)", rc_name(rc));
    expect_str(f->db, "held", "1", "this process's handle, after the holder's commit");
    put_str(f->db, "parent", "2");
    write_byte(in[1], 'C');
    reap_ok(pid, "the holder process (reads this process's commit)", 60);
    close(in[1]);
    close(out[0]);
    rc = digby_rekey(f->db, 0);
    if (rc != DIGBY_OK)
        fail_msg("digby_rekey once the other process closed: %s, expected DIGBY_OK", rc_name(rc));
    if ((r = other_open(f->path, "")) != 0)
        fail_msg("another process's open with the key after the rekey: %s", open_rc_name(r));
    /* the tool on the live file, with the key in a file */
    if (!cli || !*cli) cli = "build/digby";
    {
        char words[512], *w[8], *tool;
        int nw = 0, st;
        FILE *kf;
        snprintf(words, sizeof words, "%s", cli);
        for (tool = strtok(words, " "); tool && nw < 4; tool = strtok(NULL, " ")) w[nw++] = tool;
        tool = w[nw - 1];
        if (access(tool, X_OK) != 0) {
            print_message("multiproc: %s not found: the tool's part is skipped\n", tool);
        } else {
            snprintf(keyfile, sizeof keyfile, "%s-key", f->path);
            kf = fopen(keyfile, "wb");
            assert_non_null(kf);
            assert_int_equal(fwrite(mp_key, 1, sizeof mp_key, kf), sizeof mp_key);
            fclose(kf);
            setenv("DIGBY_KEY_FILE", keyfile, 1);
            w[nw] = f->path; w[nw + 1] = (char *)"get"; w[nw + 2] = (char *)"ctr"; w[nw + 3] = NULL;
            st = run_tool(w, buf, sizeof buf);
            unsetenv("DIGBY_KEY_FILE");
            unlink(keyfile);
            if (st != 0 || strcmp(buf, want) != 0)
                fail_msg("`digby FILE get ctr` with DIGBY_KEY_FILE on an encrypted file this process holds: exit "
                         "status %d, output \"%s\" (expected 0, \"%s\")", st, buf, want);
        }
    }
    expect_str(f->db, "ctr", want, "this process's handle at the end");
    unsetenv("MP_KEYED");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, mp_teardown)
#define TL(fn) cmocka_unit_test_setup_teardown(fn, setup_log, teardown_log)

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        T(test_two_handles),
        T(test_snapshots_whole),
        T(test_writers_exclusive),
        T(test_kill_readers),
        T(test_kill_writer),
        T(test_snapshot_held),
        T(test_modes_mixed),
        TL(test_two_handles),
        TL(test_snapshots_whole),
        TL(test_writers_exclusive),
        TL(test_kill_writer),
        TL(test_snapshot_held),
        T(test_encrypted),
    };
    ssize_t n;
    if (argc > 1 && strcmp(argv[1], "--child") == 0) {
        snprintf(g_self, sizeof g_self, "%s", argv[0]);
        return child_main(argc - 2, argv + 2);
    }
    n = readlink("/proc/self/exe", g_self, sizeof g_self - 1);
    if (n > 0) g_self[n] = 0;
    else snprintf(g_self, sizeof g_self, "%s", argv[0]);
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
