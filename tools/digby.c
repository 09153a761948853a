/* digby -- command-line tool for digby database files.

   Build:  cc -std=c99 -O2 -Wall -Wextra -Wpedantic -I. tools/digby.c \
              -o build/digby -lpthread

   Usage:  digby FILE COMMAND [ARGS]   (digby --help lists the commands)

   Exit status: 0 success; 1 error (one line "digby: <what>: <reason>" on
   stderr, the reason being digby_strerror() text); 2 bad arguments (the
   same one line, then the command's usage line).

   The dump/load text format is the one of LMDB's mdb_dump/mdb_load (and of
   Berkeley DB's db_dump/db_load): header lines up to HEADER=END, then one
   line per key and one per value, each starting with a space, then
   DATA=END.  Several sections may follow each other.

   This is a tool, not the library: it uses POSIX (getline, isatty,
   clock_gettime) and may print. */

#if !defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE) && \
    !defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#define DIGBY_IMPLEMENTATION
#include "digby.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define EXIT_ERROR 1
#define EXIT_USAGE 2

#define SCAN_VALUE_BYTES 200     /* scan shows this much of a value */
#define MSG_KEY_BYTES 48         /* error messages show this much of a key */
#define MSG_PATH_BYTES 4096      /* ... and this much of a file name */
#define LOAD_BATCH_RECORDS 10000 /* load commits every this many records */
#define MAX_WHERE 16             /* rows: --where conditions */

static const char usage_text[] =
"usage: digby FILE COMMAND [ARGS]\n"
"       digby --help | --version\n"
"\n"
"commands:\n"
"  put [-t TABLE] [-x] [-N] KEY VALUE  store VALUE under KEY (VALUE - reads\n"
"                                      stdin); -N: fail if KEY exists\n"
"  get [-t TABLE] [-x] [-v] KEY        print the value raw; -v: first print\n"
"                                      its version on a line of its own\n"
"  del [-t TABLE] [-x] KEY             delete KEY\n"
"  del-range [-t TABLE] [-x] [-p PREFIX] [--from K] [--to K]\n"
"                                      delete the keys starting with PREFIX\n"
"                                      and/or in [--from, --to) in one\n"
"                                      commit; prints how many\n"
"  scan [-t TABLE] [-x] [-p PREFIX] [--from K] [--to K] [-n LIMIT] [-r] [-l]\n"
"                                      print key<TAB>value lines in key order:\n"
"                                      keys starting with PREFIX and/or in\n"
"                                      [--from, --to); -r reverse order; -n at\n"
"                                      most LIMIT lines; -l whole values (else\n"
"                                      cut after 200 bytes, with ...)\n"
"  tables                              print name<TAB>entries per table\n"
"  stat                                print every statistic, one per line\n"
"  check                               verify the file; prints \"ok\" (and a\n"
"                                      note when open set aside a newest\n"
"                                      commit that did not verify)\n"
"  backup [--compact] [--replace] OUT  copy the last commit to new file OUT\n"
"                                      (--compact: packed, no free pages)\n"
"  compact [--truncate-only]           give free space back to the file\n"
"                                      system in place; prints the file's\n"
"                                      size in bytes before<TAB>after\n"
"  dump [-t TABLE | -a] [-p] [-f OUT]  write the global tree (or TABLE, or\n"
"                                      -a: the global tree and every table)\n"
"                                      in mdb_dump format; -p: printable\n"
"  load [-t TABLE] [-N] [-f IN]        read mdb_dump format (stdin or IN);\n"
"                                      database=NAME sections go to table\n"
"                                      NAME, others to the global tree or\n"
"                                      TABLE; -N: keep existing keys\n"
" -- record tables: rows with a schema and secondary indexes --\n"
"  schema [-t TABLE]                   print each record table's schema (or\n"
"                                      TABLE's) as CREATE statements\n"
"  create TABLE SPEC                   create a record table; SPEC:\n"
"                                      'NAME TYPE [NOT NULL], ...,\n"
"                                      PRIMARY KEY (A, B)', TYPE one of\n"
"                                      string bytes int double bool uuid\n"
"  index [-u] TABLE NAME COLUMNS       add index NAME on 'A, B' and build\n"
"                                      it; -u: unique\n"
"  insert [-u] [-f IN] TABLE           insert TSV rows (stdin or IN), one\n"
"                                      field per column, \\N for NULL; -u:\n"
"                                      replace rows with the same key\n"
"  rows [--where COND]... [--index NAME] [-n LIMIT] [-r] [-H] [--json] TABLE\n"
"                                      print the rows meeting every COND\n"
"                                      ('COLUMN OP VALUE', OP = < <= > >=)\n"
"                                      in index order as TSV (-H: a header\n"
"                                      line) or JSON lines; the plan goes\n"
"                                      to stderr; --index NAME (or primary)\n"
"                                      forces the index\n";

/* (two strings: C99 promises string literals of 4095 bytes, no longer) */
static const char usage_notes[] =
"\n"
"environment: DIGBY_KEY_FILE=FILE (raw 16/32-byte key) or\n"
"  DIGBY_PASSPHRASE=... opens or creates an encrypted file (keys are never\n"
"  taken on the command line); DIGBY_COMPRESS=lz4 compresses large items\n"
"\n"
"  -t TABLE  use the named table instead of the global tree\n"
"  -x        KEY, PREFIX, --from and --to are given in hex\n"
"  --        ends the options\n"
"\n"
"Keys and values are bytes.  scan and tables escape a backslash as \\\\ and\n"
"other bytes outside ASCII 32..126 as \\xHH.  put and load create FILE when\n"
"missing; the other commands need it to exist and only read it (except\n"
"del, del-range and compact; backup reads FILE and writes OUT).  load commits every\n"
"10000 records; after an error the batches before it stay committed.\n"
"\n"
"exit status: 0 ok, 1 error (e.g. not found, corrupt), 2 bad arguments.\n";

/* ---- Messages ----------------------------------------------------------- */

static const char hexdigits[] = "0123456789abcdef";

/* One byte escaped for a line of text: printable ASCII as is, a backslash
   as \\, anything else as \xHH.  Returns the length (1, 2 or 4). */
static size_t escape_byte(char out[4], unsigned c)
{
    if (c == '\\') {
        out[0] = out[1] = '\\';
        return 2;
    }
    if (c >= 0x20 && c < 0x7f) {
        out[0] = (char)c;
        return 1;
    }
    out[0] = '\\';
    out[1] = 'x';
    out[2] = hexdigits[c >> 4];
    out[3] = hexdigits[c & 15];
    return 4;
}

/* Escape bytes as escape_byte() does, at most `limit` input bytes, then
   "...". */
static void escape_to(char *dst, size_t cap, const void *src, size_t len,
                      size_t limit)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i, o = 0;
    if (cap == 0)
        return;
    for (i = 0; i < len && i < limit; i++) {
        if (o + 5 >= cap)
            break;
        o += escape_byte(dst + o, s[i]);
    }
    if (i < len && o + 4 <= cap) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

/* A key or name quoted for an error message (one of four rotating
   buffers, so one message may hold several). */
static const char *q(const void *bytes, size_t len)
{
    static char bufs[4][MSG_KEY_BYTES * 4 + 8];
    static int next;
    char *b = bufs[next];
    next = (next + 1) % 4;
    b[0] = '\'';
    escape_to(b + 1, sizeof bufs[0] - 2, bytes, len, MSG_KEY_BYTES);
    strcat(b, "'");
    return b;
}

static const char *qs(const char *s)
{
    return q(s, strlen(s));
}

/* A file name quoted for an error message: whole, up to MSG_PATH_BYTES
   (a path cut to a key's length names no file; CI's deep checkout paths
   showed it).  One buffer: at most one path per message. */
static const char *qpath(const char *s)
{
    static char buf[MSG_PATH_BYTES * 4 + 8];
    buf[0] = '\'';
    escape_to(buf + 1, sizeof buf - 2, s, strlen(s), MSG_PATH_BYTES);
    strcat(buf, "'");
    return buf;
}

/* The end of every error line, after its "digby: ..." start: the
   formatted <what>, then ": <digby_strerror(rc)>". */
static void vreport(int rc, const char *fmt, va_list ap)
{
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, ": %s\n", digby_strerror(rc));
}

/* Print "digby: <what>: <digby_strerror(rc)>" and return EXIT_ERROR. */
static int fail(int rc, const char *fmt, ...)
{
    va_list ap;
    fputs("digby: ", stderr);
    va_start(ap, fmt);
    vreport(rc, fmt, ap);
    va_end(ap);
    return EXIT_ERROR;
}

/* ---- Arguments ---------------------------------------------------------- */

typedef struct cmd_args {
    const char *table;
    const char *prefix;
    const char *from;
    const char *to;
    const char *file;        /* -f */
    uint64_t limit;
    int has_limit;
    int hex;                 /* -x */
    int show_version;        /* -v */
    int reverse;             /* -r */
    int long_values;         /* -l */
    int all;                 /* -a */
    int print;               /* -p (dump) */
    int no_overwrite;        /* -N */
    int upsert_unique;       /* -u: insert replaces; index is unique */
    int header;              /* -H (rows) */
    int json;                /* --json (rows) */
    int compact;             /* --compact (backup) */
    int replace;             /* --replace (backup) */
    int truncate_only;       /* --truncate-only (compact) */
    const char *index;       /* --index (rows) */
    const char *where[MAX_WHERE]; /* --where (rows), all must hold */
    int nwhere;
    const char *pos[4];
    int npos;
} cmd_args;

typedef struct command {
    const char *name;
    const char *options;     /* "|-t|-x|" style list of accepted options */
    int min_pos, max_pos;    /* positional arguments after the command */
    const char *synopsis;
    int (*run)(const char *path, cmd_args *a);
} command;

static const command *g_cmd; /* for usage errors */

/* A bad-arguments error: the one line, then the command's usage line. */
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("digby: ", stderr);
    va_start(ap, fmt);
    vreport(DIGBY_INVALID, fmt, ap);
    va_end(ap);
    if (g_cmd)
        fprintf(stderr, "usage: digby FILE %s %s\n", g_cmd->name,
                g_cmd->synopsis);
    else
        fputs("usage: digby FILE COMMAND [ARGS]  (digby --help for more)\n",
              stderr);
    return EXIT_USAGE;
}

static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return 0;
    for (; *s; s++) {
        unsigned d;
        if (*s < '0' || *s > '9')
            return 0;
        d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

/* Returns 0 on success, else the exit status of a usage error. */
static int parse_args(const command *c, int argc, char **argv, cmd_args *a)
{
    int i, dashdash = 0;
    memset(a, 0, sizeof *a);
    for (i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (!dashdash && s[0] == '-' && s[1] != '\0') {
            char probe[24];
            const char **slot = NULL;
            if (strcmp(s, "--") == 0) {
                dashdash = 1;
                continue;
            }
            if (strlen(s) > sizeof probe - 3)
                probe[0] = '\0';
            else
                sprintf(probe, "|%s|", s);
            if (probe[0] == '\0' || strstr(c->options, probe) == NULL)
                return usage_error("%s: unknown option %s", c->name, qs(s));
            if (strcmp(s, "-t") == 0) slot = &a->table;
            else if (strcmp(s, "-p") == 0 &&
                     (strcmp(c->name, "scan") == 0 || strcmp(c->name, "del-range") == 0))
                slot = &a->prefix;
            else if (strcmp(s, "--from") == 0) slot = &a->from;
            else if (strcmp(s, "--to") == 0) slot = &a->to;
            else if (strcmp(s, "-f") == 0) slot = &a->file;
            else if (strcmp(s, "-n") == 0) {
                if (i + 1 >= argc)
                    return usage_error("%s: option -n needs a value",
                                       c->name);
                if (!parse_u64(argv[++i], &a->limit))
                    return usage_error("%s: bad limit %s", c->name,
                                       qs(argv[i]));
                a->has_limit = 1;
                continue;
            }
            else if (strcmp(s, "-x") == 0) { a->hex = 1; continue; }
            else if (strcmp(s, "-v") == 0) { a->show_version = 1; continue; }
            else if (strcmp(s, "-r") == 0) { a->reverse = 1; continue; }
            else if (strcmp(s, "-l") == 0) { a->long_values = 1; continue; }
            else if (strcmp(s, "-a") == 0) { a->all = 1; continue; }
            else if (strcmp(s, "-p") == 0) { a->print = 1; continue; }
            else if (strcmp(s, "-N") == 0) { a->no_overwrite = 1; continue; }
            else if (strcmp(s, "-u") == 0) { a->upsert_unique = 1; continue; }
            else if (strcmp(s, "-H") == 0) { a->header = 1; continue; }
            else if (strcmp(s, "--json") == 0) { a->json = 1; continue; }
            else if (strcmp(s, "--compact") == 0) { a->compact = 1; continue; }
            else if (strcmp(s, "--replace") == 0) { a->replace = 1; continue; }
            else if (strcmp(s, "--truncate-only") == 0) { a->truncate_only = 1; continue; }
            else if (strcmp(s, "--index") == 0) slot = &a->index;
            else if (strcmp(s, "--where") == 0) {
                if (i + 1 >= argc)
                    return usage_error("%s: option --where needs a value", c->name);
                if (a->nwhere == MAX_WHERE)
                    return usage_error("%s: at most %d --where conditions", c->name,
                                       MAX_WHERE);
                a->where[a->nwhere++] = argv[++i];
                continue;
            }
            if (slot) {
                if (i + 1 >= argc)
                    return usage_error("%s: option %s needs a value",
                                       c->name, s);
                *slot = argv[++i];
                continue;
            }
            return usage_error("%s: unknown option %s", c->name, qs(s));
        }
        if (a->npos >= c->max_pos)
            return usage_error("%s: too many arguments", c->name);
        a->pos[a->npos++] = s;
    }
    if (a->npos < c->min_pos)
        return usage_error("%s: missing arguments", c->name);
    if (a->table && a->table[0] == '\0')
        return usage_error("%s: empty table name", c->name);
    return 0;
}

/* ---- Byte helpers ------------------------------------------------------- */

typedef struct bytes {
    unsigned char *p;
    size_t len, cap;
} bytes;

/* Make room for `need` bytes; 0 on success. */
static int bytes_reserve(bytes *b, size_t need)
{
    size_t cap;
    unsigned char *p;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > (size_t)-1 / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    p = (unsigned char *)realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decode hex text into out; 0 on success, -1 bad hex, -2 no memory. */
static int unhex(const char *s, size_t len, bytes *out)
{
    size_t i;
    if (len % 2)
        return -1;
    if (bytes_reserve(out, len / 2 + 1))
        return -2;
    for (i = 0; i < len; i += 2) {
        int hi = hexval((unsigned char)s[i]);
        int lo = hexval((unsigned char)s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out->p[i / 2] = (unsigned char)(hi * 16 + lo);
    }
    out->len = len / 2;
    return 0;
}

/* A key argument: raw bytes, or hex with -x.  Returns 0 or an exit status. */
static int key_arg(const cmd_args *a, const char *what, const char *s,
                   bytes *out)
{
    size_t len = strlen(s);
    int rc;
    if (!a->hex) {
        if (bytes_reserve(out, len + 1))
            return fail(DIGBY_NOMEM, "%s", what);
        memcpy(out->p, s, len);
        out->len = len;
        return 0;
    }
    rc = unhex(s, len, out);
    if (rc == -2)
        return fail(DIGBY_NOMEM, "%s", what);
    if (rc)
        return usage_error("%s: bad hex %s", what, qs(s));
    return 0;
}

static int bytes_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* ---- Output ------------------------------------------------------------- */

/* Write bytes escaped as escape_byte() does, at most `limit` of them
   (then "..."). */
static void put_escaped(FILE *f, const void *src, size_t len, size_t limit)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i;
    for (i = 0; i < len && i < limit; i++) {
        char e[4];
        fwrite(e, 1, escape_byte(e, s[i]), f);
    }
    if (i < len)
        fputs("...", f);
}

/* One data line of a dump: a space, then hex or the print format.  The
   print format writes a backslash as \5c, not \\: LMDB 0.9.24's mdb_load
   decodes \\ wrongly after an earlier escape on the same line, and every
   loader reads \HH.  load accepts both. */
static void put_dump_item(FILE *f, const void *src, size_t len, int print)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i;
    putc(' ', f);
    for (i = 0; i < len; i++) {
        unsigned c = s[i];
        if (!print) {
            putc(hexdigits[c >> 4], f);
            putc(hexdigits[c & 15], f);
        } else if (c >= 0x20 && c < 0x7f && c != '\\') {
            putc((int)c, f);
        } else {
            putc('\\', f);
            putc(hexdigits[c >> 4], f);
            putc(hexdigits[c & 15], f);
        }
    }
    putc('\n', f);
}

/* Flush stdout and report a write error. */
static int finish_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout))
        return fail(DIGBY_IOERR, "writing output (%s)", strerror(errno));
    return 0;
}

/* ---- Opening ------------------------------------------------------------ */

/* How a command uses the file: how it opens it, its transaction, and how
   it opens the -t table in that. */
typedef struct access_mode {
    uint32_t open_flags;
    unsigned txn_flags;
    unsigned table_flags;
} access_mode;

/* get, scan, tables, stat, check, dump: the file must exist; read only. */
static const access_mode READ = {DIGBY_OPEN_READONLY | DIGBY_OPEN_NO_CREATE,
                                 DIGBY_TXN_READONLY, 0};
/* put, load: create the file and the table when missing. */
static const access_mode WRITE = {0, 0, DIGBY_TABLE_CREATE};
/* del: the file and the table must exist. */
static const access_mode MODIFY = {DIGBY_OPEN_NO_CREATE, 0, 0};

/* Encryption keys come from the environment, never the command line (where
   other users could read them): DIGBY_KEY_FILE names a file holding a raw
   16- or 32-byte key, or DIGBY_PASSPHRASE holds a passphrase.
   DIGBY_COMPRESS=lz4 compresses large values and keys that are written. */
static int open_db(const char *path, uint32_t flags, digby_db **db)
{
    digby_options o;
    uint8_t key[33];
    size_t key_bytes = 0;
    const char *env;
    int rc;
    memset(&o, 0, sizeof o);
    o.flags = flags;
    if ((env = getenv("DIGBY_KEY_FILE")) != NULL && *env) {
        FILE *kf = fopen(env, "rb");
        if (!kf) return fail(DIGBY_INVALID, "key file %s", qpath(env));
        key_bytes = fread(key, 1, sizeof key, kf);
        fclose(kf);
        if (key_bytes != 16 && key_bytes != 32)
            return fail(DIGBY_INVALID, "key file %s: want 16 or 32 bytes", qpath(env));
        o.key = key;
        o.key_bytes = key_bytes;
    } else if ((env = getenv("DIGBY_PASSPHRASE")) != NULL && *env) {
        o.passphrase = env;
    }
    if ((env = getenv("DIGBY_COMPRESS")) != NULL && *env) {
        if (strcmp(env, "lz4") == 0) o.compression = DIGBY_COMPRESS_LZ4;
        else if (strcmp(env, "none") != 0)
            return fail(DIGBY_INVALID, "DIGBY_COMPRESS=%s: want lz4 or none", qs(env));
    }
    rc = digby_open(path, &o, db);
    memset(key, 0, sizeof key);
    if (rc != DIGBY_OK) {
        *db = NULL;
        return fail(rc, "open %s", qpath(path));
    }
    return 0;
}

static int close_db(digby_db *db, int status)
{
    int rc = digby_close(db);
    if (rc != DIGBY_OK && status == 0)
        return fail(rc, "close");
    return status;
}

/* Open the -t table (NULL table: the global tree).  Returns 0 or an exit
   status (the error already reported). */
static int open_table(digby_txn *txn, const char *name, unsigned flags,
                      digby_table **out)
{
    int rc;
    *out = NULL;
    if (!name)
        return 0;
    rc = digby_table_open(txn, name, flags, out);
    if (rc != DIGBY_OK)
        return fail(rc, "table %s", qs(name));
    return 0;
}

/* An open file with one transaction and the -t table opened in it (tbl
   NULL: the global tree).  Starts zeroed; session_end() ends it, in any
   state. */
typedef struct session {
    digby_db *db;
    digby_txn *txn;
    digby_table *tbl;
} session;

/* Open the file, begin a transaction and open the table in it, as mode m
   says; `cmd` names the command in messages.  Returns 0 or an exit status
   (the error already reported). */
static int session_begin(session *s, const char *path, const access_mode *m,
                         const char *cmd, const char *table)
{
    int st, rc;
    if ((st = open_db(path, m->open_flags, &s->db)) != 0)
        return st;
    rc = digby_txn_begin(s->db, m->txn_flags, &s->txn);
    if (rc != DIGBY_OK) {
        s->txn = NULL;
        return fail(rc, "%s: begin transaction", cmd);
    }
    return open_table(s->txn, table, m->table_flags, &s->tbl);
}

static int session_commit(session *s, const char *cmd)
{
    int rc = digby_txn_commit(s->txn);
    s->txn = NULL;
    return rc == DIGBY_OK ? 0 : fail(rc, "%s: commit", cmd);
}

/* Abort the transaction if still open and close the file.  Returns
   status, or the close error's exit status when status is 0. */
static int session_end(session *s, int status)
{
    digby_txn_abort(s->txn);
    s->txn = NULL;
    if (s->db)
        status = close_db(s->db, status);
    s->db = NULL;
    return status;
}

/* The entry a cursor is at. */
typedef struct entry {
    const void *k, *v;
    size_t klen, vlen;
} entry;

/* After a cursor move that returned rc, read the entry there into e: the
   move's error, else digby_cursor_get()'s result (scan and dump loop while
   it is DIGBY_OK; DIGBY_NOTFOUND: past the last entry). */
static int entry_at(digby_cursor *cur, int rc, entry *e)
{
    if (rc != DIGBY_OK)
        return rc;
    return digby_cursor_get(cur, &e->k, &e->klen, &e->v, &e->vlen, NULL);
}

/* " in table 'x'" for messages, or "". */
static const char *in_table(const char *table)
{
    static char buf[MSG_KEY_BYTES * 4 + 32];
    if (!table)
        return "";
    snprintf(buf, sizeof buf, " in table %s", qs(table));
    return buf;
}

/* rc of a put, get or del of key: 0, or the error reported as
   "CMD 'key'[ in table 't']" and its exit status. */
static int key_result(int rc, const char *cmd, const bytes *key,
                      const char *table)
{
    if (rc == DIGBY_OK)
        return 0;
    return fail(rc, "%s %s%s", cmd, q(key->p, key->len), in_table(table));
}

/* ---- put / get / del ---------------------------------------------------- */

static int read_all(FILE *f, bytes *out)
{
    out->len = 0;
    for (;;) {
        size_t got;
        if (out->cap - out->len < 65536) {
            if (out->len > (size_t)-1 - 65536 ||
                bytes_reserve(out, out->len + 65536))
                return fail(DIGBY_NOMEM, "put: reading stdin");
        }
        got = fread(out->p + out->len, 1, out->cap - out->len, f);
        out->len += got;
        if (got == 0) {
            if (ferror(f))
                return fail(DIGBY_IOERR, "put: reading stdin (%s)",
                            strerror(errno));
            return 0;
        }
    }
}

static int cmd_put(const char *path, cmd_args *a)
{
    session s = {0};
    bytes key = {0}, val = {0};
    const void *vp;
    size_t vlen;
    int st;

    if ((st = key_arg(a, "put", a->pos[0], &key)) != 0)
        goto out;
    if (strcmp(a->pos[1], "-") == 0) {
        if ((st = read_all(stdin, &val)) != 0)
            goto out;
        vp = val.p;
        vlen = val.len;
    } else {
        vp = a->pos[1];
        vlen = strlen(a->pos[1]);
    }
    if ((st = session_begin(&s, path, &WRITE, "put", a->table)) != 0)
        goto out;
    st = key_result(digby_txn_put(s.txn, s.tbl, key.p, key.len, vp, vlen,
                                  a->no_overwrite ? DIGBY_PUT_NOOVERWRITE
                                                  : 0u),
                    "put", &key, a->table);
    if (st == 0)
        st = session_commit(&s, "put");
out:
    st = session_end(&s, st);
    free(key.p);
    free(val.p);
    return st;
}

static int cmd_get(const char *path, cmd_args *a)
{
    session s = {0};
    bytes key = {0};
    const void *val;
    size_t vlen;
    uint64_t version;
    int st;

    if ((st = key_arg(a, "get", a->pos[0], &key)) != 0)
        goto out;
    if ((st = session_begin(&s, path, &READ, "get", a->table)) != 0)
        goto out;
    st = key_result(digby_txn_get(s.txn, s.tbl, key.p, key.len, &val, &vlen,
                                  &version),
                    "get", &key, a->table);
    if (st != 0)
        goto out;
    if (a->show_version)
        printf("%" PRIu64 "\n", version);
    if (vlen)
        fwrite(val, 1, vlen, stdout);
    st = finish_stdout();
out:
    st = session_end(&s, st);
    free(key.p);
    return st;
}

static int cmd_del(const char *path, cmd_args *a)
{
    session s = {0};
    bytes key = {0};
    int st;

    if ((st = key_arg(a, "del", a->pos[0], &key)) != 0)
        goto out;
    if ((st = session_begin(&s, path, &MODIFY, "del", a->table)) != 0)
        goto out;
    st = key_result(digby_txn_delete(s.txn, s.tbl, key.p, key.len), "del",
                    &key, a->table);
    if (st == 0)
        st = session_commit(&s, "del");
out:
    st = session_end(&s, st);
    free(key.p);
    return st;
}

/* ---- scan ---------------------------------------------------------------- */

/* The smallest key greater than every key starting with prefix: drop
   trailing 0xff bytes and increment the last.  0 if there is none (the
   prefix is empty or all 0xff). */
static int prefix_successor(const bytes *prefix, bytes *out)
{
    size_t n = prefix->len;
    while (n > 0 && prefix->p[n - 1] == 0xff)
        n--;
    if (n == 0)
        return 0;
    if (bytes_reserve(out, n))
        return -1;
    memcpy(out->p, prefix->p, n);
    out->p[n - 1]++;
    out->len = n;
    return 1;
}

/* The bounds -p, --from and --to give: keys >= *lo (NULL: from the first)
   and < *hi (NULL: to the last), pointing into r.  Returns 0 or an exit
   status (reported).  bounds_free() frees r's bytes. */
typedef struct bounds {
    bytes prefix, from, to, succ;
} bounds;

static int bounds_get(cmd_args *a, const char *cmd, bounds *r, const bytes **lo,
                      const bytes **hi)
{
    char what[32];
    int st, has_succ;
    *lo = *hi = NULL;
    snprintf(what, sizeof what, "%s -p", cmd);
    if (a->prefix && (st = key_arg(a, what, a->prefix, &r->prefix)) != 0)
        return st;
    snprintf(what, sizeof what, "%s --from", cmd);
    if (a->from && (st = key_arg(a, what, a->from, &r->from)) != 0)
        return st;
    snprintf(what, sizeof what, "%s --to", cmd);
    if (a->to && (st = key_arg(a, what, a->to, &r->to)) != 0)
        return st;
    if (a->prefix) {
        has_succ = prefix_successor(&r->prefix, &r->succ);
        if (has_succ < 0)
            return fail(DIGBY_NOMEM, "%s", cmd);
        *lo = &r->prefix;
        if (has_succ)
            *hi = &r->succ;
    }
    if (a->from && (!*lo || bytes_cmp(r->from.p, r->from.len, (*lo)->p, (*lo)->len) > 0))
        *lo = &r->from;
    if (a->to && (!*hi || bytes_cmp(r->to.p, r->to.len, (*hi)->p, (*hi)->len) < 0))
        *hi = &r->to;
    return 0;
}

static void bounds_free(bounds *r)
{
    free(r->prefix.p);
    free(r->from.p);
    free(r->to.p);
    free(r->succ.p);
}

static int cmd_scan(const char *path, cmd_args *a)
{
    session s = {0};
    digby_cursor *cur = NULL;
    entry e;
    bounds b;
    const bytes *lo = NULL, *hi = NULL; /* inclusive low, exclusive high */
    uint64_t shown = 0;
    size_t vlimit = a->long_values ? (size_t)-1 : SCAN_VALUE_BYTES;
    int st = 0, rc;

    memset(&b, 0, sizeof b);
    if ((st = bounds_get(a, "scan", &b, &lo, &hi)) != 0)
        goto out;

    if ((st = session_begin(&s, path, &READ, "scan", a->table)) != 0)
        goto out;
    rc = digby_cursor_open(s.txn, s.tbl, &cur);
    if (rc != DIGBY_OK) {
        cur = NULL;
        st = fail(rc, "scan: open cursor");
        goto out;
    }
    if (a->has_limit && a->limit == 0)
        goto done;
    if (!a->reverse)
        rc = lo ? digby_cursor_seek(cur, lo->p, lo->len, DIGBY_SEEK_GE)
                : digby_cursor_first(cur);
    else
        rc = hi ? digby_cursor_seek(cur, hi->p, hi->len, DIGBY_SEEK_LT)
                : digby_cursor_last(cur);
    for (; (rc = entry_at(cur, rc, &e)) == DIGBY_OK;
         rc = a->reverse ? digby_cursor_prev(cur) : digby_cursor_next(cur)) {
        if (!a->reverse) {
            if (hi && bytes_cmp(e.k, e.klen, hi->p, hi->len) >= 0)
                break;
        } else {
            if (lo && bytes_cmp(e.k, e.klen, lo->p, lo->len) < 0)
                break;
        }
        put_escaped(stdout, e.k, e.klen, (size_t)-1);
        putchar('\t');
        put_escaped(stdout, e.v, e.vlen, vlimit);
        putchar('\n');
        if (ferror(stdout))
            break;
        if (a->has_limit && ++shown >= a->limit)
            break;
    }
    if (rc != DIGBY_OK && rc != DIGBY_NOTFOUND) {
        st = fail(rc, "scan%s", in_table(a->table));
        goto out;
    }
done:
    st = finish_stdout();
out:
    digby_cursor_close(cur);
    st = session_end(&s, st);
    bounds_free(&b);
    return st;
}

static int cmd_del_range(const char *path, cmd_args *a)
{
    session s = {0};
    bounds b;
    const bytes *lo = NULL, *hi = NULL;
    uint64_t n = 0;
    int st = 0, rc;

    memset(&b, 0, sizeof b);
    if (!a->prefix && !a->from && !a->to) {
        st = usage_error("del-range: give -p, --from or --to (--from '' "
                         "deletes every key)");
        goto out;
    }
    if ((st = bounds_get(a, "del-range", &b, &lo, &hi)) != 0)
        goto out;
    if (lo && hi && bytes_cmp(lo->p, lo->len, hi->p, hi->len) >= 0)
        lo = hi; /* the bounds exclude each other: an empty range */
    if ((st = session_begin(&s, path, &MODIFY, "del-range", a->table)) != 0)
        goto out;
    /* an empty key is "" (a NULL hi would be no bound at all) */
    rc = digby_txn_delete_range(s.txn, s.tbl, lo ? (lo->p ? (const void *)lo->p : "") : NULL,
                                lo ? lo->len : 0,
                                hi ? (hi->p ? (const void *)hi->p : "") : NULL,
                                hi ? hi->len : 0, &n);
    if (rc != DIGBY_OK) {
        st = fail(rc, "del-range%s", in_table(a->table));
        goto out;
    }
    if ((st = session_commit(&s, "del-range")) != 0)
        goto out;
    printf("%" PRIu64 "\n", n);
    st = finish_stdout();
out:
    st = session_end(&s, st);
    bounds_free(&b);
    return st;
}

/* ---- tables / stat / check ---------------------------------------------- */

static int print_table(void *ctx, const char *name, size_t name_bytes,
                       uint64_t entries)
{
    (void)ctx;
    put_escaped(stdout, name, name_bytes, (size_t)-1);
    printf("\t%" PRIu64 "\n", entries);
    return 0;
}

static int cmd_tables(const char *path, cmd_args *a)
{
    session s = {0};
    int st, rc;
    (void)a;
    if ((st = session_begin(&s, path, &READ, "tables", NULL)) == 0) {
        rc = digby_table_list(s.txn, print_table, NULL);
        st = rc != DIGBY_OK ? fail(rc, "tables") : finish_stdout();
    }
    return session_end(&s, st);
}

/* stat and check: the file opened read-only, with no transaction; body
   returns 0 or an exit status. */
static int with_db(const char *path, int (*body)(digby_db *db))
{
    digby_db *db = NULL;
    int st = open_db(path, READ.open_flags, &db);
    return st != 0 ? st : close_db(db, body(db));
}

static int stat_db(digby_db *db)
{
    digby_stats s;
    int st, rc;
    memset(&s, 0, sizeof s);
    rc = digby_stat(db, &s);
    if (rc != DIGBY_OK) {
        st = fail(rc, "stat");
    } else {
#define P(field) printf("%-15s %" PRIu64 "\n", #field, (uint64_t)s.field)
        P(page_size);
        P(depth);
        P(file_bytes);
        P(page_count);
        P(meta_pages);
        P(branch_pages);
        P(leaf_pages);
        P(overflow_pages);
        P(freelist_pages);
        P(free_pages);
        P(entries);
        P(tables);
        P(table_entries);
        P(last_txid);
        P(discarded_txid);
#undef P
        st = finish_stdout();
    }
    return st;
}

static int cmd_stat(const char *path, cmd_args *a)
{
    (void)a;
    return with_db(path, stat_db);
}

static int check_db(digby_db *db)
{
    digby_check_report r;
    int st, rc;
    memset(&r, 0, sizeof r);
    rc = digby_check(db, &r);
    r.message[sizeof r.message - 1] = '\0';
    if (rc == DIGBY_OK) {
        uint64_t gone = digby_discarded_txid(db);
        printf("ok: %" PRIu64 " pages checked\n", r.pages_checked);
        /* the file is sound as opened, but its newest commit was not */
        if (gone)
            printf("note: the newest commit (txid %" PRIu64 ") did not verify at open"
                   " (cut short by a crash, or damaged) and was set aside:"
                   " the file reads as of the commit before it\n", gone);
        st = finish_stdout();
    } else if (r.message[0] || r.bad_pgno) {
        st = fail(rc, "check: page %" PRIu64 ": %s (%" PRIu64
                  " pages checked)", r.bad_pgno,
                  q(r.message, strlen(r.message)), r.pages_checked);
    } else {
        st = fail(rc, "check");
    }
    return st;
}

static int cmd_check(const char *path, cmd_args *a)
{
    (void)a;
    return with_db(path, check_db);
}

/* ---- backup -------------------------------------------------------------- */

static int cmd_backup(const char *path, cmd_args *a)
{
    digby_db *db = NULL;
    unsigned flags = (a->compact ? DIGBY_BACKUP_COMPACT : 0u) |
                     (a->replace ? DIGBY_BACKUP_REPLACE : 0u);
    int st = open_db(path, READ.open_flags, &db), rc;
    if (st != 0)
        return st;
    rc = digby_backup(db, a->pos[0], NULL, flags);
    if (rc != DIGBY_OK)
        st = fail(rc, "backup to %s", qpath(a->pos[0]));
    return close_db(db, st);
}

/* ---- compact ------------------------------------------------------------- */

static int cmd_compact(const char *path, cmd_args *a)
{
    digby_db *db = NULL;
    struct stat sb;
    uint64_t after = 0;
    int st = open_db(path, MODIFY.open_flags, &db), rc;
    if (st != 0)
        return st;
    if (stat(path, &sb) != 0)
        return close_db(db, fail(DIGBY_IOERR, "compact: stat %s", qpath(path)));
    rc = digby_compact(db, a->truncate_only ? DIGBY_COMPACT_TRUNCATE_ONLY : 0u, &after);
    if (rc != DIGBY_OK)
        st = fail(rc, "compact");
    else
        printf("%llu\t%llu\n", (unsigned long long)sb.st_size, (unsigned long long)after);
    return close_db(db, st);
}

/* ---- dump ---------------------------------------------------------------- */

typedef struct name_list {
    char **names;
    size_t count, cap;
    int failed;
} name_list;

static int collect_name(void *ctx, const char *name, size_t name_bytes,
                        uint64_t entries)
{
    name_list *l = (name_list *)ctx;
    char *copy;
    (void)entries;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **n;
        if (cap > (size_t)-1 / sizeof *n)
            return (l->failed = DIGBY_NOMEM);
        n = (char **)realloc(l->names, cap * sizeof *n);
        if (!n)
            return (l->failed = DIGBY_NOMEM);
        l->names = n;
        l->cap = cap;
    }
    copy = (char *)malloc(name_bytes + 1);
    if (!copy)
        return (l->failed = DIGBY_NOMEM);
    memcpy(copy, name, name_bytes);
    copy[name_bytes] = '\0';
    l->names[l->count++] = copy;
    return 0;
}

static void free_names(name_list *l)
{
    size_t i;
    for (i = 0; i < l->count; i++)
        free(l->names[i]);
    free(l->names);
}

/* Dump one tree (name NULL: the global tree) as one section. */
static int dump_section(FILE *f, digby_txn *txn, const char *name, int print)
{
    digby_table *tbl = NULL;
    digby_cursor *cur = NULL;
    entry e;
    int rc, st;

    if (name && strpbrk(name, "\n\r"))
        return fail(DIGBY_INVALID, "dump: table %s: a newline in a table "
                    "name cannot be dumped", qs(name));
    if ((st = open_table(txn, name, 0, &tbl)) != 0)
        return st;
    rc = digby_cursor_open(txn, tbl, &cur);
    if (rc != DIGBY_OK)
        return fail(rc, "dump%s: open cursor", in_table(name));
    fprintf(f, "VERSION=3\nformat=%s\n", print ? "print" : "bytevalue");
    if (name)
        fprintf(f, "database=%s\n", name);
    fputs("type=btree\nHEADER=END\n", f);
    for (rc = digby_cursor_first(cur); (rc = entry_at(cur, rc, &e)) == DIGBY_OK;
         rc = digby_cursor_next(cur)) {
        put_dump_item(f, e.k, e.klen, print);
        put_dump_item(f, e.v, e.vlen, print);
        if (ferror(f))
            break;
    }
    digby_cursor_close(cur);
    if (rc != DIGBY_OK && rc != DIGBY_NOTFOUND)
        return fail(rc, "dump%s", in_table(name));
    fputs("DATA=END\n", f);
    return 0;
}

static int cmd_dump(const char *path, cmd_args *a)
{
    session s = {0};
    FILE *f = stdout;
    name_list names = {0};
    int st, rc;
    size_t i;

    if (a->all && a->table)
        return usage_error("dump: -a and -t exclude each other");
    /* the -t table is opened in dump_section(); here only a check */
    if ((st = session_begin(&s, path, &READ, "dump", NULL)) != 0)
        goto out;
    if (a->all) {
        rc = digby_table_list(s.txn, collect_name, &names);
        if (rc != DIGBY_OK) {
            st = fail(names.failed ? names.failed : rc, "dump: list tables");
            goto out;
        }
        /* Refuse before writing anything. */
        for (i = 0; i < names.count; i++)
            if (strpbrk(names.names[i], "\n\r")) {
                st = fail(DIGBY_INVALID, "dump: table %s: a newline in a "
                          "table name cannot be dumped", qs(names.names[i]));
                goto out;
            }
    } else if (a->table) {
        /* Fail before creating the output file. */
        digby_table *t;
        if ((st = open_table(s.txn, a->table, 0, &t)) != 0)
            goto out;
    }
    if (a->file) {
        f = fopen(a->file, "w");
        if (!f) {
            f = stdout;
            st = fail(DIGBY_IOERR, "dump: create %s (%s)", qpath(a->file),
                      strerror(errno));
            goto out;
        }
    }
    st = dump_section(f, s.txn, a->table, a->print);
    for (i = 0; st == 0 && i < names.count; i++)
        st = dump_section(f, s.txn, names.names[i], a->print);
    if (f != stdout) {
        int werr = ferror(f);
        if ((fclose(f) != 0 || werr) && st == 0)
            st = fail(DIGBY_IOERR, "dump: write %s (%s)", qpath(a->file),
                      strerror(errno));
    } else if (st == 0) {
        st = finish_stdout();
    }
out:
    free_names(&names);
    return session_end(&s, st);
}

/* ---- load ---------------------------------------------------------------- */

typedef struct loader {
    digby_db *db;
    digby_txn *txn;
    digby_table *tbl;
    const char *input;      /* name for messages */
    char *section_table;    /* current section's table, or NULL: global */
    const char *default_table; /* -t */
    unsigned put_flags;
    uint64_t records;       /* put in total */
    uint64_t skipped;       /* -N: already present */
    uint64_t sections;
    unsigned batch;         /* records in the open transaction */
    int progress;           /* stderr is a terminal */
    int progress_shown;
    double progress_at;     /* seconds since t0 of the last update */
    struct timespec t0;
} loader;

static double elapsed_s(const loader *l)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - l->t0.tv_sec) +
           (double)(t.tv_nsec - l->t0.tv_nsec) / 1e9;
}

static void show_progress(loader *l, int final)
{
    double s = elapsed_s(l);
    double rate = s > 0 ? (double)l->records / s : 0.0;
    fprintf(stderr, "\rdigby: load: %" PRIu64 " records, %.0f records/s, "
            "%.1f s%s", l->records, rate, s, final ? "\n" : "");
    if (l->skipped && final)
        fprintf(stderr, "digby: load: %" PRIu64 " existing keys kept\n",
                l->skipped);
    fflush(stderr);
    l->progress_shown = !final;
}

/* Error inside load: ends a progress line first so the message starts a
   line of its own. */
static int load_fail(loader *l, int rc, unsigned long line, const char *fmt,
                     ...)
{
    va_list ap;
    if (l->progress_shown)
        fputc('\n', stderr);
    fputs("digby: load: ", stderr);
    if (line)
        fprintf(stderr, "%s line %lu: ", l->input, line);
    va_start(ap, fmt);
    vreport(rc, fmt, ap);
    va_end(ap);
    return EXIT_ERROR;
}

/* Begin a transaction (if none) and open the section's table in it. */
static int load_begin(loader *l, unsigned long line)
{
    int rc;
    if (l->txn)
        return 0;
    rc = digby_txn_begin(l->db, 0, &l->txn);
    if (rc != DIGBY_OK) {
        l->txn = NULL;
        return load_fail(l, rc, line, "begin transaction");
    }
    l->tbl = NULL;
    if (l->section_table) {
        rc = digby_table_open(l->txn, l->section_table, DIGBY_TABLE_CREATE,
                              &l->tbl);
        if (rc != DIGBY_OK)
            return load_fail(l, rc, line, "table %s", qs(l->section_table));
    }
    return 0;
}

static int load_commit(loader *l, unsigned long line)
{
    int rc;
    if (!l->txn)
        return 0;
    rc = digby_txn_commit(l->txn);
    l->txn = NULL;
    l->tbl = NULL;
    l->batch = 0;
    if (rc != DIGBY_OK)
        return load_fail(l, rc, line, "commit");
    if (l->progress && elapsed_s(l) - l->progress_at >= 0.2) {
        l->progress_at = elapsed_s(l);
        show_progress(l, 0);
    }
    return 0;
}

/* Decode one data line (after its leading space). */
static int decode_item(loader *l, unsigned long line, const char *s,
                       size_t len, int print, bytes *out)
{
    size_t i, o = 0;
    if (!print) {
        int rc = unhex(s, len, out);
        if (rc == -2)
            return load_fail(l, DIGBY_NOMEM, line, "decode");
        if (rc)
            return load_fail(l, DIGBY_INVALID, line, "bad hex data");
        return 0;
    }
    if (bytes_reserve(out, len + 1))
        return load_fail(l, DIGBY_NOMEM, line, "decode");
    for (i = 0; i < len; i++) {
        if (s[i] != '\\') {
            out->p[o++] = (unsigned char)s[i];
        } else if (i + 1 < len && s[i + 1] == '\\') {
            out->p[o++] = '\\';
            i++;
        } else {
            int hi = i + 2 < len ? hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < len ? hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return load_fail(l, DIGBY_INVALID, line,
                                 "bad escape (want \\\\ or \\HH)");
            out->p[o++] = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
    }
    out->len = o;
    return 0;
}

static int header_is(const char *s, const char *name)
{
    size_t n = strlen(name);
    return strncmp(s, name, n) == 0 && s[n] == '=';
}

static int load_stream(loader *l, FILE *in)
{
    enum { WANT_VERSION, HEADER, DATA_KEY, DATA_VALUE, DONE } state =
        WANT_VERSION;
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t got;
    unsigned long lineno = 0, key_line = 0;
    bytes key = {0}, val = {0};
    int print = 0, st = 0, rc;

    for (;;) {
        size_t len;
        errno = 0;
        got = getline(&line, &line_cap, in);
        if (got < 0) {
            if (ferror(in)) {
                st = load_fail(l, DIGBY_IOERR, 0, "reading %s (%s)",
                               l->input, strerror(errno));
                goto out;
            }
            break;
        }
        lineno++;
        len = (size_t)got;
        if (len && line[len - 1] == '\n')
            line[--len] = '\0';
        if (memchr(line, '\0', len)) {
            st = load_fail(l, DIGBY_INVALID, lineno, "NUL byte in input");
            goto out;
        }
        if (state == WANT_VERSION || state == DONE) {
            if (!header_is(line, "VERSION")) {
                st = load_fail(l, DIGBY_INVALID, lineno,
                               "expected VERSION=3 (not a dump file?)");
                goto out;
            }
            if (strcmp(line + 8, "3") != 0) {
                st = load_fail(l, DIGBY_INVALID, lineno,
                               "unsupported %s", q(line, len));
                goto out;
            }
            free(l->section_table);
            l->section_table = NULL;
            print = 0;
            state = HEADER;
            continue;
        }
        if (state == HEADER) {
            const char *v = strchr(line, '=');
            if (strcmp(line, "HEADER=END") == 0) {
                const char *t = l->section_table ? l->section_table
                                                 : l->default_table;
                if (t && t != l->section_table) {
                    l->section_table = (char *)malloc(strlen(t) + 1);
                    if (!l->section_table) {
                        st = load_fail(l, DIGBY_NOMEM, lineno, "header");
                        goto out;
                    }
                    strcpy(l->section_table, t);
                }
                /* A new section may go to another table: commit the batch
                   so the next transaction opens the right one. */
                if ((st = load_commit(l, lineno)) != 0)
                    goto out;
                if ((st = load_begin(l, lineno)) != 0)
                    goto out;
                l->sections++;
                state = DATA_KEY;
                continue;
            }
            if (!v || v == line || line[0] == ' ') {
                st = load_fail(l, DIGBY_INVALID, lineno,
                               "expected a header line NAME=VALUE or "
                               "HEADER=END");
                goto out;
            }
            v++;
            if (header_is(line, "format")) {
                if (strcmp(v, "print") == 0)
                    print = 1;
                else if (strcmp(v, "bytevalue") == 0)
                    print = 0;
                else {
                    st = load_fail(l, DIGBY_INVALID, lineno,
                                   "unsupported format %s", qs(v));
                    goto out;
                }
            } else if (header_is(line, "type")) {
                if (strcmp(v, "btree") != 0) {
                    st = load_fail(l, DIGBY_INVALID, lineno,
                                   "unsupported type %s (only btree)",
                                   qs(v));
                    goto out;
                }
            } else if (header_is(line, "database")) {
                size_t n = strlen(v);
                if (n == 0 || n > DIGBY_MAX_TABLE_NAME) {
                    st = load_fail(l, DIGBY_INVALID, lineno,
                                   "table name must be 1..%d bytes",
                                   DIGBY_MAX_TABLE_NAME);
                    goto out;
                }
                free(l->section_table);
                l->section_table = (char *)malloc(n + 1);
                if (!l->section_table) {
                    st = load_fail(l, DIGBY_NOMEM, lineno, "header");
                    goto out;
                }
                memcpy(l->section_table, v, n + 1);
            } else if (header_is(line, "duplicates") ||
                       header_is(line, "dupsort") ||
                       header_is(line, "dupfixed") ||
                       header_is(line, "integerdup") ||
                       header_is(line, "reversedup")) {
                if (strcmp(v, "0") != 0) {
                    st = load_fail(l, DIGBY_NOFEATURE, lineno,
                                   "%s: sorted duplicates are not "
                                   "supported", q(line, len));
                    goto out;
                }
            }
            /* Anything else (mapsize, maxreaders, db_pagesize,
               reversekey, integerkey, ...) is not needed: ignored. */
            continue;
        }
        /* DATA_KEY or DATA_VALUE */
        if (line[0] != ' ') {
            if (strcmp(line, "DATA=END") == 0 && state == DATA_KEY) {
                state = DONE;
                continue;
            }
            st = load_fail(l, DIGBY_INVALID, lineno, "%s",
                           strcmp(line, "DATA=END") == 0
                               ? "key without a value"
                               : "expected a data line starting with a "
                                 "space, or DATA=END");
            goto out;
        }
        if (state == DATA_KEY) {
            if ((st = decode_item(l, lineno, line + 1, len - 1, print,
                                  &key)) != 0)
                goto out;
            key_line = lineno;
            state = DATA_VALUE;
            continue;
        }
        if ((st = decode_item(l, lineno, line + 1, len - 1, print, &val)) !=
            0)
            goto out;
        state = DATA_KEY;
        if ((st = load_begin(l, lineno)) != 0)
            goto out;
        rc = digby_txn_put(l->txn, l->tbl, key.p, key.len, val.p, val.len,
                           l->put_flags);
        if (rc == DIGBY_EXISTS && l->put_flags) {
            l->skipped++;
            continue;
        }
        if (rc != DIGBY_OK) {
            st = load_fail(l, rc, key_line, "put %s%s", q(key.p, key.len),
                           in_table(l->section_table));
            goto out;
        }
        l->records++;
        if (++l->batch >= LOAD_BATCH_RECORDS &&
            (st = load_commit(l, lineno)) != 0)
            goto out;
    }
    if (state == WANT_VERSION) {
        st = load_fail(l, DIGBY_INVALID, 0, "%s: empty input", l->input);
        goto out;
    }
    if (state != DONE) {
        st = load_fail(l, DIGBY_INVALID, lineno + 1,
                       "unexpected end of input (no %s)",
                       state == HEADER ? "HEADER=END" : "DATA=END");
        goto out;
    }
    st = load_commit(l, lineno);
out:
    free(line);
    free(key.p);
    free(val.p);
    return st;
}

static int cmd_load(const char *path, cmd_args *a)
{
    loader l;
    FILE *in = stdin;
    int st;

    memset(&l, 0, sizeof l);
    l.default_table = a->table;
    l.put_flags = a->no_overwrite ? DIGBY_PUT_NOOVERWRITE : 0u;
    l.input = "stdin";
    if (a->file && strcmp(a->file, "-") != 0) {
        in = fopen(a->file, "r");
        if (!in)
            return fail(DIGBY_IOERR, "load: open %s (%s)", qpath(a->file),
                        strerror(errno));
        l.input = a->file;
    }
    if ((st = open_db(path, WRITE.open_flags, &l.db)) != 0)
        goto out;
    l.progress = isatty(STDERR_FILENO);
    clock_gettime(CLOCK_MONOTONIC, &l.t0);
    st = load_stream(&l, in);
    if (st == 0 && l.progress)
        show_progress(&l, 1);
    digby_txn_abort(l.txn);
    st = close_db(l.db, st);
out:
    free(l.section_table);
    if (in != stdin)
        fclose(in);
    return st;
}

/* ---- record tables: schema / create / index / insert / rows -------------- */

/* Column types by name, for create and schema. */
static const struct {
    const char *name, *alias;
    digby_tuple_type type;
} col_types[] = {
    {"string", "text", DIGBY_TUPLE_STRING}, {"bytes", "blob", DIGBY_TUPLE_BYTES},
    {"int", "integer", DIGBY_TUPLE_INT},    {"double", "real", DIGBY_TUPLE_DOUBLE},
    {"bool", "boolean", DIGBY_TUPLE_BOOL},  {"uuid", "uuid", DIGBY_TUPLE_UUID},
};

static const char *col_type_name(digby_tuple_type t)
{
    size_t i;
    for (i = 0; i < sizeof col_types / sizeof col_types[0]; i++)
        if (col_types[i].type == t) return col_types[i].name;
    return "?";
}

static void put_field(FILE *f, const digby_tuple_item *it);

/* A record table's failure, one line: the code, the handle's text when it
   has one, and after DIGBY_CONSTRAINT the primary key of the row that has
   the index key. */
static int rfail(int rc, digby_rtable *rt, const char *fmt, ...)
{
    va_list ap;
    const char *msg = digby_rtable_message(rt);
    digby_constraint con;
    fputs("digby: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, ": %s%s%s", digby_strerror(rc), *msg ? ": " : "", msg);
    if (rc == DIGBY_CONSTRAINT && digby_rtable_constraint(rt, &con) == DIGBY_OK) {
        size_t i;
        fputs(" (the row of primary key ", stderr);
        for (i = 0; i < con.nkey; i++) {
            if (i) putc('\t', stderr);
            put_field(stderr, &con.key[i]);
        }
        putc(')', stderr);
    }
    putc('\n', stderr);
    return EXIT_ERROR;
}

static int print_schema(digby_rtable *rt, const char *name)
{
    const digby_schema *s;
    size_t i;
    int rc = digby_rtable_schema(rt, &s);
    if (rc != DIGBY_OK) return rfail(rc, rt, "schema %s", qs(name));
    printf("CREATE TABLE %s (", name);
    for (i = 0; i < s->ncolumns; i++)
        printf("%s %s%s, ", s->columns[i].name, col_type_name(s->columns[i].type),
               (s->columns[i].flags & DIGBY_COLUMN_NOT_NULL) ? " NOT NULL" : "");
    printf("PRIMARY KEY (%s));\n", s->primary_key);
    for (i = 0; i < s->nindexes; i++)
        printf("CREATE %sINDEX %s ON %s (%s);\n",
               (s->indexes[i].flags & DIGBY_INDEX_UNIQUE) ? "UNIQUE " : "", s->indexes[i].name,
               name, s->indexes[i].columns);
    return 0;
}

typedef struct schema_walk {
    digby_txn *txn;
    int status;
} schema_walk;

static int schema_one(void *ctx, const char *name)
{
    schema_walk *w = (schema_walk *)ctx;
    digby_rtable *rt;
    int rc = digby_rtable_open(w->txn, name, NULL, 0, &rt);
    if (rc != DIGBY_OK) {
        w->status = fail(rc, "schema %s", qs(name));
        return 1;
    }
    if ((w->status = print_schema(rt, name)) != 0) return 1;
    return 0;
}

static int cmd_schema(const char *path, cmd_args *a)
{
    session s = {0};
    schema_walk w;
    int st, rc;
    if ((st = session_begin(&s, path, &READ, "schema", NULL)) != 0)
        return session_end(&s, st);
    w.txn = s.txn;
    w.status = 0;
    if (a->table) {
        digby_rtable *rt;
        rc = digby_rtable_open(s.txn, a->table, NULL, 0, &rt);
        st = rc != DIGBY_OK ? fail(rc, "schema %s", qs(a->table)) : print_schema(rt, a->table);
    } else {
        rc = digby_rtable_list(s.txn, schema_one, &w);
        st = w.status ? w.status : rc != DIGBY_OK ? fail(rc, "schema") : 0;
    }
    if (st == 0) st = finish_stdout();
    return session_end(&s, st);
}

/* Does s[0, n) equal word, ignoring case? */
static int word_is(const char *s, size_t n, const char *word)
{
    size_t i;
    if (strlen(word) != n) return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != word[i]) return 0;
    }
    return 1;
}

/* The next word of p (letters, digits, _), spaces skipped; its length. */
static size_t next_word(const char **p, const char **w)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t' || *s == '\n') s++;
    *w = s;
    while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
           *s == '_')
        s++;
    *p = s;
    return (size_t)(s - *w);
}

#define CREATE_MAX_COLUMNS 256

/* create: the spec "NAME TYPE [NOT NULL] [PRIMARY KEY], ..., [PRIMARY KEY (A, B)]". */
static int cmd_create(const char *path, cmd_args *a)
{
    static digby_column cols[CREATE_MAX_COLUMNS];
    static char names[CREATE_MAX_COLUMNS][DIGBY_RECORD_MAX_NAME + 1];
    char key[1024] = "", msg[200];
    const char *p = a->pos[1];
    digby_schema sc;
    size_t n = 0;
    session s = {0};
    digby_rtable *rt;
    int st, rc;
    for (;;) {
        const char *w, *end;
        size_t wl = next_word(&p, &w), i;
        if (wl == 0) return usage_error("create: expected a column name at %s", qs(p));
        if (word_is(w, wl, "primary")) {
            const char *k;
            wl = next_word(&p, &k);
            if (!word_is(k, wl, "key")) return usage_error("create: PRIMARY without KEY");
            while (*p == ' ') p++;
            if (*p != '(' || !(end = strchr(p, ')')) || (size_t)(end - p) >= sizeof key)
                return usage_error("create: PRIMARY KEY needs (COLUMNS)");
            memcpy(key, p + 1, (size_t)(end - p - 1));
            key[end - p - 1] = 0;
            p = end + 1;
        } else {
            const char *t;
            size_t tl;
            if (n == CREATE_MAX_COLUMNS || wl > DIGBY_RECORD_MAX_NAME)
                return usage_error("create: too many columns, or a name too long");
            memcpy(names[n], w, wl);
            names[n][wl] = 0;
            cols[n].name = names[n];
            cols[n].flags = 0;
            tl = next_word(&p, &t);
            for (i = 0; i < sizeof col_types / sizeof col_types[0]; i++)
                if (word_is(t, tl, col_types[i].name) || word_is(t, tl, col_types[i].alias)) break;
            if (i == sizeof col_types / sizeof col_types[0])
                return usage_error("create: column %s: unknown type %.*s (string, bytes, int, "
                                   "double, bool, uuid)", names[n], (int)tl, t);
            cols[n].type = col_types[i].type;
            for (;;) {
                const char *q = p, *x;
                size_t xl = next_word(&q, &x);
                if (word_is(x, xl, "not")) {
                    xl = next_word(&q, &x);
                    if (!word_is(x, xl, "null")) return usage_error("create: NOT without NULL");
                    cols[n].flags |= DIGBY_COLUMN_NOT_NULL;
                } else if (word_is(x, xl, "primary")) {
                    xl = next_word(&q, &x);
                    if (!word_is(x, xl, "key")) return usage_error("create: PRIMARY without KEY");
                    if (key[0]) return usage_error("create: two primary keys");
                    snprintf(key, sizeof key, "%s", names[n]);
                } else {
                    break;
                }
                p = q;
            }
            n++;
        }
        while (*p == ' ' || *p == '\t' || *p == '\n') p++;
        if (*p == '\0') break;
        if (*p != ',') return usage_error("create: expected , at %s", qs(p));
        p++;
    }
    if (!key[0]) return usage_error("create: no primary key (PRIMARY KEY (COLUMNS))");
    memset(&sc, 0, sizeof sc);
    sc.columns = cols;
    sc.ncolumns = n;
    sc.primary_key = key;
    if (digby_schema_check(&sc, msg, sizeof msg) != DIGBY_OK)
        return usage_error("create: %s", msg);
    if ((st = session_begin(&s, path, &WRITE, "create", NULL)) != 0) return session_end(&s, st);
    rc = digby_rtable_open(s.txn, a->pos[0], &sc, DIGBY_RTABLE_CREATE, &rt);
    if (rc == DIGBY_OK) {
        /* an existing table of this schema: nothing to do, but say so */
        uint64_t rows = 0;
        digby_rtable_count(rt, &rows);
        if (rows) fprintf(stderr, "digby: create: %s exists already (%" PRIu64 " rows)\n",
                          a->pos[0], rows);
        st = session_commit(&s, "create");
    } else {
        st = fail(rc, "create %s", qs(a->pos[0]));
    }
    return session_end(&s, st);
}

static int cmd_index(const char *path, cmd_args *a)
{
    session s = {0};
    digby_rtable *rt;
    digby_index idx;
    int st, rc;
    idx.name = a->pos[1];
    idx.columns = a->pos[2];
    idx.flags = a->upsert_unique ? DIGBY_INDEX_UNIQUE : 0;
    if ((st = session_begin(&s, path, &MODIFY, "index", NULL)) != 0) return session_end(&s, st);
    rc = digby_rtable_open(s.txn, a->pos[0], NULL, 0, &rt);
    if (rc != DIGBY_OK) return session_end(&s, fail(rc, "index: table %s", qs(a->pos[0])));
    rc = digby_rtable_add_index(rt, &idx);
    if (rc != DIGBY_OK) {
        st = rfail(rc, rt, "index %s", qs(idx.name));
    } else {
        st = session_commit(&s, "index");
    }
    return session_end(&s, st);
}

/* ---- values as text -------------------------------------------------------- */

static void put_uuid(FILE *f, const uint8_t *u)
{
    int i;
    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) putc('-', f);
        putc(hexdigits[u[i] >> 4], f);
        putc(hexdigits[u[i] & 15], f);
    }
}

static void put_double(FILE *f, double d)
{
    if (d != d) fputs("nan", f);
    else if (d > 1.7976931348623157e308) fputs("inf", f);
    else if (d < -1.7976931348623157e308) fputs("-inf", f);
    else fprintf(f, "%.17g", d);
}

/* One field of a TSV row: \N for NULL, strings and bytes escaped as scan
   escapes them. */
static void put_field(FILE *f, const digby_tuple_item *it)
{
    switch (it->type) {
    case DIGBY_TUPLE_NULL: fputs("\\N", f); break;
    case DIGBY_TUPLE_INT: fprintf(f, "%" PRId64, it->v.i); break;
    case DIGBY_TUPLE_UINT: fprintf(f, "%" PRIu64, it->v.u); break;
    case DIGBY_TUPLE_DOUBLE: put_double(f, it->v.d); break;
    case DIGBY_TUPLE_BOOL: fputs(it->v.b ? "true" : "false", f); break;
    case DIGBY_TUPLE_UUID: put_uuid(f, it->v.uuid); break;
    case DIGBY_TUPLE_STRING:
    case DIGBY_TUPLE_BYTES: put_escaped(f, it->v.s.ptr, it->v.s.len, (size_t)-1); break;
    default: fputs("?", f); break;
    }
}

/* A JSON string: UTF-8 as it is, with JSON's escapes. */
static void put_json_string(FILE *f, const unsigned char *s, size_t n)
{
    size_t i;
    putc('"', f);
    for (i = 0; i < n; i++) {
        unsigned c = s[i];
        if (c == '"' || c == '\\') { putc('\\', f); putc((int)c, f); }
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else putc((int)c, f);
    }
    putc('"', f);
}

/* One value of a JSON row: bytes as a string of hex digits, a UUID in its
   8-4-4-4-12 form, NaN and the infinities as strings. */
static void put_json(FILE *f, const digby_tuple_item *it)
{
    size_t i;
    switch (it->type) {
    case DIGBY_TUPLE_NULL: fputs("null", f); break;
    case DIGBY_TUPLE_DOUBLE:
        if (it->v.d != it->v.d || it->v.d > 1.7976931348623157e308 ||
            it->v.d < -1.7976931348623157e308) {
            putc('"', f);
            put_double(f, it->v.d);
            putc('"', f);
        } else {
            put_double(f, it->v.d);
        }
        break;
    case DIGBY_TUPLE_UUID: putc('"', f); put_uuid(f, it->v.uuid); putc('"', f); break;
    case DIGBY_TUPLE_STRING:
        put_json_string(f, (const unsigned char *)it->v.s.ptr, it->v.s.len);
        break;
    case DIGBY_TUPLE_BYTES:
        putc('"', f);
        for (i = 0; i < it->v.s.len; i++) {
            unsigned c = ((const unsigned char *)it->v.s.ptr)[i];
            putc(hexdigits[c >> 4], f);
            putc(hexdigits[c & 15], f);
        }
        putc('"', f);
        break;
    default: put_field(f, it); break;
    }
}

/* Parse text s[0, n) as a value of a column of type t into *it; strings
   and bytes are unescaped (\\ and \xHH) into out, which must stay alive.
   NULL is \N unless no_null.  0, or -1 with *why set. */
static int parse_value(const char *s, size_t n, digby_tuple_type t, digby_tuple_item *it,
                       bytes *out, int no_null, const char **why)
{
    char tmp[64];
    size_t i;
    memset(it, 0, sizeof *it);
    if (n == 2 && s[0] == '\\' && s[1] == 'N') {
        if (no_null) { *why = "NULL is no value to compare with"; return -1; }
        it->type = DIGBY_TUPLE_NULL;
        return 0;
    }
    it->type = t;
    if (t == DIGBY_TUPLE_STRING || t == DIGBY_TUPLE_BYTES) {
        out->len = 0;
        if (bytes_reserve(out, n + 1)) { *why = "out of memory"; return -1; }
        for (i = 0; i < n; i++) {
            if (s[i] != '\\') { out->p[out->len++] = (unsigned char)s[i]; continue; }
            if (i + 1 < n && s[i + 1] == '\\') { out->p[out->len++] = '\\'; i++; continue; }
            if (i + 3 < n && s[i + 1] == 'x' && hexval((unsigned char)s[i + 2]) >= 0 &&
                hexval((unsigned char)s[i + 3]) >= 0) {
                out->p[out->len++] = (unsigned char)(hexval((unsigned char)s[i + 2]) * 16 +
                                                     hexval((unsigned char)s[i + 3]));
                i += 3;
                continue;
            }
            *why = "a backslash must start \\\\, \\xHH or \\N";
            return -1;
        }
        it->v.s.ptr = out->p;
        it->v.s.len = out->len;
        return 0;
    }
    if (n == 0 || n >= sizeof tmp) { *why = "empty or too long"; return -1; }
    memcpy(tmp, s, n);
    tmp[n] = 0;
    if (t == DIGBY_TUPLE_INT) {
        uint64_t u;
        int neg = tmp[0] == '-';
        if (!parse_u64(tmp + neg, &u) || (neg && u > (uint64_t)INT64_MAX + 1)) {
            *why = "not an integer from -2^63 to 2^64-1";
            return -1;
        }
        if (neg) it->v.i = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
        else if (u > (uint64_t)INT64_MAX) { it->type = DIGBY_TUPLE_UINT; it->v.u = u; }
        else it->v.i = (int64_t)u;
        return 0;
    }
    if (t == DIGBY_TUPLE_DOUBLE) {
        char *end;
        errno = 0;
        it->v.d = strtod(tmp, &end);
        if (*end || end == tmp) { *why = "not a number"; return -1; }
        return 0;
    }
    if (t == DIGBY_TUPLE_BOOL) {
        if (word_is(tmp, n, "true") || strcmp(tmp, "1") == 0) it->v.b = 1;
        else if (word_is(tmp, n, "false") || strcmp(tmp, "0") == 0) it->v.b = 0;
        else { *why = "not true or false"; return -1; }
        return 0;
    }
    if (t == DIGBY_TUPLE_UUID) {
        size_t k = 0;
        for (i = 0; i < n; i++) {
            if (tmp[i] == '-') continue;
            if (k == 32 || hexval((unsigned char)tmp[i]) < 0) break;
            if (k % 2 == 0) it->v.uuid[k / 2] = (uint8_t)(hexval((unsigned char)tmp[i]) << 4);
            else it->v.uuid[k / 2] |= (uint8_t)hexval((unsigned char)tmp[i]);
            k++;
        }
        if (i < n || k != 32) { *why = "not a UUID (32 hex digits)"; return -1; }
        return 0;
    }
    *why = "a column type this tool does not know";
    return -1;
}

/* ---- insert ------------------------------------------------------------------ */

static int cmd_insert(const char *path, cmd_args *a)
{
    session s = {0};
    digby_rtable *rt = NULL;
    const digby_schema *sc = NULL;
    digby_tuple_item *row = NULL;
    bytes *fields = NULL;
    FILE *in = stdin;
    char *line = NULL;
    size_t cap = 0, ncols = 0, i;
    ssize_t len;
    unsigned long lineno = 0, done = 0, batch = 0;
    int st = 0, rc;
    if (a->file && strcmp(a->file, "-") != 0 && !(in = fopen(a->file, "r")))
        return fail(DIGBY_CANTOPEN, "insert: %s (%s)", qpath(a->file), strerror(errno));
    if ((st = session_begin(&s, path, &MODIFY, "insert", NULL)) != 0) goto out;
    for (;;) {
        const char *p;
        if (!s.txn || !rt) {
            if (!s.txn && (rc = digby_txn_begin(s.db, 0, &s.txn)) != DIGBY_OK) {
                s.txn = NULL;
                st = fail(rc, "insert: begin transaction");
                goto out;
            }
            if ((rc = digby_rtable_open(s.txn, a->pos[0], NULL, 0, &rt)) != DIGBY_OK) {
                st = fail(rc, "insert: table %s", qs(a->pos[0]));
                goto out;
            }
            if ((rc = digby_rtable_schema(rt, &sc)) != DIGBY_OK) {
                st = rfail(rc, rt, "insert");
                goto out;
            }
            if (!row) {
                ncols = sc->ncolumns;
                row = (digby_tuple_item *)calloc(ncols, sizeof *row);
                fields = (bytes *)calloc(ncols, sizeof *fields);
                if (!row || !fields) { st = fail(DIGBY_NOMEM, "insert"); goto out; }
            }
        }
        if ((len = getline(&line, &cap, in)) < 0) break;
        lineno++;
        if (len && line[len - 1] == '\n') line[--len] = 0;
        if (len && line[len - 1] == '\r') line[--len] = 0;
        for (p = line, i = 0;; i++) {
            const char *tab = strchr(p, '\t'), *why = NULL;
            size_t n = tab ? (size_t)(tab - p) : strlen(p);
            if (i == ncols) {
                st = fail(DIGBY_INVALID, "insert: line %lu: more than %lu fields", lineno,
                          (unsigned long)ncols);
                goto out;
            }
            if (parse_value(p, n, sc->columns[i].type, &row[i], &fields[i], 0, &why)) {
                st = fail(DIGBY_INVALID, "insert: line %lu, column %s: %s", lineno,
                          sc->columns[i].name, why);
                goto out;
            }
            if (!tab) break;
            p = tab + 1;
        }
        if (i + 1 != ncols) {
            st = fail(DIGBY_INVALID, "insert: line %lu: %lu fields for %lu columns", lineno,
                      (unsigned long)i + 1, (unsigned long)ncols);
            goto out;
        }
        rc = a->upsert_unique ? digby_rtable_upsert(rt, row, ncols)
                              : digby_rtable_insert(rt, row, ncols);
        if (rc != DIGBY_OK) {
            st = rfail(rc, rt, "insert: line %lu", lineno);
            goto out;
        }
        done++;
        if (++batch == LOAD_BATCH_RECORDS) {
            if ((st = session_commit(&s, "insert")) != 0) goto out;
            rt = NULL;
            batch = 0;
        }
    }
    if (ferror(in)) { st = fail(DIGBY_IOERR, "insert: reading input (%s)", strerror(errno)); goto out; }
    if (s.txn) st = session_commit(&s, "insert");
    if (st == 0 && isatty(2))
        fprintf(stderr, "digby: insert: %lu rows into %s\n", done, a->pos[0]);
out:
    if (in != stdin) fclose(in);
    free(line);
    for (i = 0; fields && i < ncols; i++) free(fields[i].p);
    free(fields);
    free(row);
    return session_end(&s, st);
}

/* ---- rows ------------------------------------------------------------------- */

/* --where "COLUMN OP VALUE": OP one of = == < <= > >=; VALUE a number,
   true/false, a UUID, or for strings and bytes "quoted" (\" \\ \xHH) or
   bare (the rest of the text, trimmed; \\ and \xHH). */
static int parse_where(const digby_schema *sc, const char *text, digby_where *w, bytes *buf)
{
    const char *p = text, *name, *why = NULL;
    char col[DIGBY_RECORD_MAX_NAME + 1];
    size_t nl = next_word(&p, &name), i, n;
    digby_tuple_type t;
    if (nl == 0 || nl > DIGBY_RECORD_MAX_NAME)
        return usage_error("rows: --where %s: expected COLUMN OP VALUE", qs(text));
    memcpy(col, name, nl);
    col[nl] = 0;
    for (i = 0; i < sc->ncolumns && strcmp(sc->columns[i].name, col) != 0; i++) {}
    if (i == sc->ncolumns) return usage_error("rows: --where %s: no column %s", qs(text), col);
    w->column = sc->columns[i].name;
    t = sc->columns[i].type;
    while (*p == ' ' || *p == '\t') p++;
    if (p[0] == '<' && p[1] == '=') { w->op = DIGBY_WHERE_LE; p += 2; }
    else if (p[0] == '>' && p[1] == '=') { w->op = DIGBY_WHERE_GE; p += 2; }
    else if (p[0] == '=' && p[1] == '=') { w->op = DIGBY_WHERE_EQ; p += 2; }
    else if (p[0] == '=') { w->op = DIGBY_WHERE_EQ; p++; }
    else if (p[0] == '<') { w->op = DIGBY_WHERE_LT; p++; }
    else if (p[0] == '>') { w->op = DIGBY_WHERE_GT; p++; }
    else return usage_error("rows: --where %s: expected = < <= > or >=", qs(text));
    while (*p == ' ' || *p == '\t') p++;
    n = strlen(p);
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
    if (n >= 2 && (p[0] == '"' || p[0] == '\'') && p[n - 1] == p[0]) {
        /* quoted: \" and \' stand for the quote itself */
        bytes raw = {0};
        if (bytes_reserve(&raw, n)) return fail(DIGBY_NOMEM, "rows");
        for (i = 1; i + 1 < n; i++) {
            if (p[i] == '\\' && i + 2 < n && (p[i + 1] == '"' || p[i + 1] == '\'')) i++;
            raw.p[raw.len++] = (unsigned char)p[i];
        }
        i = (size_t)parse_value((const char *)raw.p, raw.len, t, &w->value, buf, 1, &why);
        free(raw.p);
    } else {
        i = (size_t)parse_value(p, n, t, &w->value, buf, 1, &why);
    }
    if (i) return usage_error("rows: --where %s: %s (column %s is %s)", qs(text), why, w->column,
                              col_type_name(t));
    return 0;
}

static int cmd_rows(const char *path, cmd_args *a)
{
    session s = {0};
    digby_rtable *rt;
    digby_rscan *scan = NULL;
    const digby_schema *sc = NULL;
    digby_where where[MAX_WHERE];
    bytes vals[MAX_WHERE];
    digby_query q;
    digby_plan plan;
    int st, rc, i;
    memset(vals, 0, sizeof vals);
    memset(&q, 0, sizeof q);
    if ((st = session_begin(&s, path, &READ, "rows", NULL)) != 0) goto out;
    rc = digby_rtable_open(s.txn, a->pos[0], NULL, 0, &rt);
    if (rc != DIGBY_OK) { st = fail(rc, "rows: table %s", qs(a->pos[0])); goto out; }
    digby_rtable_schema(rt, &sc);
    for (i = 0; i < a->nwhere; i++)
        if ((st = parse_where(sc, a->where[i], &where[i], &vals[i])) != 0) goto out;
    q.where = a->nwhere ? where : NULL;
    q.nwhere = (size_t)a->nwhere;
    q.flags = a->reverse ? DIGBY_SCAN_REVERSE : 0;
    q.limit = a->has_limit ? a->limit : 0;
    q.index = a->index;
    if (a->has_limit && a->limit == 0) goto done;
    rc = digby_rtable_explain(rt, &q, &plan);
    if (rc != DIGBY_OK) { st = rfail(rc, rt, "rows"); goto out; }
    fprintf(stderr, "plan: %s\n", plan.text);
    rc = digby_rscan_open(rt, &q, &scan);
    if (rc != DIGBY_OK) { st = rfail(rc, rt, "rows"); goto out; }
    if (a->header && !a->json) {
        size_t c;
        for (c = 0; c < sc->ncolumns; c++) printf("%s%s", c ? "\t" : "", sc->columns[c].name);
        putchar('\n');
    }
    while ((rc = digby_rscan_next(scan)) == DIGBY_OK) {
        const digby_tuple_item *row;
        size_t n, c;
        digby_rscan_row(scan, &row, &n);
        if (a->json) putchar('{');
        for (c = 0; c < n; c++) {
            if (a->json) {
                printf("%s", c ? "," : "");
                put_json_string(stdout, (const unsigned char *)sc->columns[c].name,
                                strlen(sc->columns[c].name));
                putchar(':');
                put_json(stdout, &row[c]);
            } else {
                if (c) putchar('\t');
                put_field(stdout, &row[c]);
            }
        }
        if (a->json) putchar('}');
        putchar('\n');
        if (ferror(stdout)) break;
    }
    if (rc != DIGBY_OK && rc != DIGBY_NOTFOUND) { st = rfail(rc, rt, "rows"); goto out; }
done:
    st = finish_stdout();
out:
    digby_rscan_close(scan);
    for (i = 0; i < MAX_WHERE; i++) free(vals[i].p);
    return session_end(&s, st);
}

/* ---- main ---------------------------------------------------------------- */

static const command commands[] = {
    {"put", "|-t|-x|-N|", 2, 2, "[-t TABLE] [-x] [-N] KEY VALUE", cmd_put},
    {"get", "|-t|-x|-v|", 1, 1, "[-t TABLE] [-x] [-v] KEY", cmd_get},
    {"del", "|-t|-x|", 1, 1, "[-t TABLE] [-x] KEY", cmd_del},
    {"scan", "|-t|-x|-p|--from|--to|-n|-r|-l|", 0, 0,
     "[-t TABLE] [-x] [-p PREFIX] [--from K] [--to K] [-n LIMIT] [-r] [-l]",
     cmd_scan},
    {"del-range", "|-t|-x|-p|--from|--to|", 0, 0,
     "[-t TABLE] [-x] [-p PREFIX] [--from K] [--to K]", cmd_del_range},
    {"tables", "||", 0, 0, "", cmd_tables},
    {"stat", "||", 0, 0, "", cmd_stat},
    {"check", "||", 0, 0, "", cmd_check},
    {"backup", "|--compact|--replace|", 1, 1, "[--compact] [--replace] OUT", cmd_backup},
    {"compact", "|--truncate-only|", 0, 0, "[--truncate-only]", cmd_compact},
    {"dump", "|-t|-a|-p|-f|", 0, 0, "[-t TABLE | -a] [-p] [-f OUTFILE]",
     cmd_dump},
    {"load", "|-t|-N|-f|", 0, 0, "[-t TABLE] [-N] [-f INFILE]", cmd_load},
    {"schema", "|-t|", 0, 0, "[-t TABLE]", cmd_schema},
    {"create", "||", 2, 2, "TABLE 'NAME TYPE [NOT NULL], ..., PRIMARY KEY (COLUMNS)'",
     cmd_create},
    {"index", "|-u|", 3, 3, "[-u] TABLE NAME 'COLUMNS'", cmd_index},
    {"insert", "|-u|-f|", 1, 1, "[-u] [-f INFILE] TABLE", cmd_insert},
    {"rows", "|--where|--index|-n|-r|-H|--json|", 1, 1,
     "[--where 'COLUMN OP VALUE']... [--index NAME] [-n LIMIT] [-r] [-H] [--json] TABLE",
     cmd_rows},
};

int main(int argc, char **argv)
{
    size_t i;
    cmd_args a;
    int st;

    if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
                      strcmp(argv[1], "-h") == 0)) {
        fputs(usage_text, stdout);
        fputs(usage_notes, stdout);
        return finish_stdout();
    }
    if (argc == 2 && (strcmp(argv[1], "--version") == 0 ||
                      strcmp(argv[1], "-V") == 0)) {
        printf("%s\n", digby_version());
        return finish_stdout();
    }
    if (argc < 3) {
        fputs(usage_text, stderr);
        fputs(usage_notes, stderr);
        return EXIT_USAGE;
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[2], commands[i].name) == 0)
            break;
    if (i == sizeof commands / sizeof commands[0])
        return usage_error("unknown command %s", qs(argv[2]));
    g_cmd = &commands[i];
    if (argv[1][0] == '\0')
        return usage_error("empty FILE name");
    st = parse_args(g_cmd, argc - 3, argv + 3, &a);
    if (st != 0)
        return st;
    return g_cmd->run(argv[1], &a);
}
