/* tests/seen_errors.h -- record the result codes a test program sees each
   public function return, for tests/doc_errors.py to hold against the
   "Returns:" lists of digby.h.

   Include it after digby.h (with the implementation, whose own calls stay
   unwrapped) and before the code to watch: each public function returning
   int becomes a macro that calls the function and records (name, result).
   With DIGBY_SEEN_ERRORS=PREFIX in the environment, the distinct pairs are
   written at exit to PREFIX.<pid>, one "function DIGBY_CODE" per line (a
   value that is no digby code, such as a table_list callback's own, is
   left out).  Without it nothing is written.  Used by the crash sweep
   (tests/crash.c) and the fault sweeps (tests/torture/faults.c): the I/O
   errors, system-call faults and allocation failures they inject are what
   reach the error paths.  tests/backup.c too: its fault, allocation and
   power-cut sweeps of digby_backup. */
#ifndef DIGBY_TESTS_SEEN_ERRORS_H
#define DIGBY_TESTS_SEEN_ERRORS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEEN_MAX_FNS 96
#define SEEN_CODES 32 /* results 0 .. -31 */

static struct {
    const char *fn[SEEN_MAX_FNS];
    uint32_t codes[SEEN_MAX_FNS]; /* bit -rc */
    int nfn, registered;
} g_seen;

static const char *seen_code_name(int rc)
{
    switch (rc) {
#define SEEN_CASE(name, value, text) case value: return #name;
        DIGBY__ERRORS(SEEN_CASE)
#undef SEEN_CASE
    default: return NULL;
    }
}

static void seen_write(void)
{
    const char *prefix = getenv("DIGBY_SEEN_ERRORS");
    char path[4096];
    FILE *f;
    int i, b;
    if (!prefix || !*prefix) return;
    snprintf(path, sizeof(path), "%s.%ld", prefix, (long)getpid());
    f = fopen(path, "w");
    if (!f) return;
    for (i = 0; i < g_seen.nfn; i++)
        for (b = 0; b < SEEN_CODES; b++)
            if (g_seen.codes[i] & (1u << b)) fprintf(f, "%s %s\n", g_seen.fn[i], seen_code_name(-b));
    fclose(f);
}

static int seen_rc(const char *fn, int rc)
{
    int i;
    if (rc > 0 || rc <= -SEEN_CODES || !seen_code_name(rc)) return rc;
    if (!g_seen.registered) {
        g_seen.registered = 1;
        atexit(seen_write);
    }
    for (i = 0; i < g_seen.nfn && strcmp(g_seen.fn[i], fn) != 0; i++) {}
    if (i == g_seen.nfn) {
        if (i == SEEN_MAX_FNS) return rc;
        g_seen.fn[g_seen.nfn++] = fn;
    }
    g_seen.codes[i] |= 1u << -rc;
    return rc;
}

/* Every public function that returns a result code (not a function-like
   macro inside its own name: the inner call is the function). */
#define digby_open(...) seen_rc("digby_open", digby_open(__VA_ARGS__))
#define digby_close(...) seen_rc("digby_close", digby_close(__VA_ARGS__))
#define digby_change_passphrase(...) \
    seen_rc("digby_change_passphrase", digby_change_passphrase(__VA_ARGS__))
#define digby_rekey(...) seen_rc("digby_rekey", digby_rekey(__VA_ARGS__))
#define digby_vfs_mem_create(...) seen_rc("digby_vfs_mem_create", digby_vfs_mem_create(__VA_ARGS__))
#define digby_put(...) seen_rc("digby_put", digby_put(__VA_ARGS__))
#define digby_get(...) seen_rc("digby_get", digby_get(__VA_ARGS__))
#define digby_delete(...) seen_rc("digby_delete", digby_delete(__VA_ARGS__))
#define digby_txn_begin(...) seen_rc("digby_txn_begin", digby_txn_begin(__VA_ARGS__))
#define digby_txn_commit(...) seen_rc("digby_txn_commit", digby_txn_commit(__VA_ARGS__))
#define digby_txn_put(...) seen_rc("digby_txn_put", digby_txn_put(__VA_ARGS__))
#define digby_txn_get(...) seen_rc("digby_txn_get", digby_txn_get(__VA_ARGS__))
#define digby_txn_delete(...) seen_rc("digby_txn_delete", digby_txn_delete(__VA_ARGS__))
#define digby_txn_delete_range(...) \
    seen_rc("digby_txn_delete_range", digby_txn_delete_range(__VA_ARGS__))
#define digby_txn_get_range(...) seen_rc("digby_txn_get_range", digby_txn_get_range(__VA_ARGS__))
#define digby_savepoint(...) seen_rc("digby_savepoint", digby_savepoint(__VA_ARGS__))
#define digby_rollback_to(...) seen_rc("digby_rollback_to", digby_rollback_to(__VA_ARGS__))
#define digby_release(...) seen_rc("digby_release", digby_release(__VA_ARGS__))
#define digby_txn_put_begin(...) seen_rc("digby_txn_put_begin", digby_txn_put_begin(__VA_ARGS__))
#define digby_blob_write(...) seen_rc("digby_blob_write", digby_blob_write(__VA_ARGS__))
#define digby_blob_finish(...) seen_rc("digby_blob_finish", digby_blob_finish(__VA_ARGS__))
#define digby_table_open(...) seen_rc("digby_table_open", digby_table_open(__VA_ARGS__))
#define digby_table_drop(...) seen_rc("digby_table_drop", digby_table_drop(__VA_ARGS__))
#define digby_table_list(...) seen_rc("digby_table_list", digby_table_list(__VA_ARGS__))
#define digby_table_count(...) seen_rc("digby_table_count", digby_table_count(__VA_ARGS__))
#define digby_cursor_open(...) seen_rc("digby_cursor_open", digby_cursor_open(__VA_ARGS__))
#define digby_cursor_seek(...) seen_rc("digby_cursor_seek", digby_cursor_seek(__VA_ARGS__))
#define digby_cursor_first(...) seen_rc("digby_cursor_first", digby_cursor_first(__VA_ARGS__))
#define digby_cursor_last(...) seen_rc("digby_cursor_last", digby_cursor_last(__VA_ARGS__))
#define digby_cursor_next(...) seen_rc("digby_cursor_next", digby_cursor_next(__VA_ARGS__))
#define digby_cursor_prev(...) seen_rc("digby_cursor_prev", digby_cursor_prev(__VA_ARGS__))
#define digby_cursor_get(...) seen_rc("digby_cursor_get", digby_cursor_get(__VA_ARGS__))
#define digby_cursor_get_range(...) \
    seen_rc("digby_cursor_get_range", digby_cursor_get_range(__VA_ARGS__))
#define digby_stat(...) seen_rc("digby_stat", digby_stat(__VA_ARGS__))
#define digby_sync(...) seen_rc("digby_sync", digby_sync(__VA_ARGS__))
#define digby_checkpoint(...) seen_rc("digby_checkpoint", digby_checkpoint(__VA_ARGS__))
#define digby_check(...) seen_rc("digby_check", digby_check(__VA_ARGS__))
#define digby_backup(...) seen_rc("digby_backup", digby_backup(__VA_ARGS__))
#define digby_compact(...) seen_rc("digby_compact", digby_compact(__VA_ARGS__))
#define digby_tuple_pack(...) seen_rc("digby_tuple_pack", digby_tuple_pack(__VA_ARGS__))
#define digby_tuple_unpack(...) seen_rc("digby_tuple_unpack", digby_tuple_unpack(__VA_ARGS__))
#define digby_tuple_range(...) seen_rc("digby_tuple_range", digby_tuple_range(__VA_ARGS__))
/* its result is a sign (-1, 0, 1), not a result code: passed through, not
   recorded (-1 would read as DIGBY_NOTFOUND) */
#define digby_tuple_compare(...) digby_tuple_compare(__VA_ARGS__)
/* the record layer (06_record.h) */
#define digby_schema_check(...) seen_rc("digby_schema_check", digby_schema_check(__VA_ARGS__))
#define digby_rtable_open(...) seen_rc("digby_rtable_open", digby_rtable_open(__VA_ARGS__))
#define digby_rtable_drop(...) seen_rc("digby_rtable_drop", digby_rtable_drop(__VA_ARGS__))
#define digby_rtable_list(...) seen_rc("digby_rtable_list", digby_rtable_list(__VA_ARGS__))
#define digby_rtable_schema(...) seen_rc("digby_rtable_schema", digby_rtable_schema(__VA_ARGS__))
#define digby_rtable_count(...) seen_rc("digby_rtable_count", digby_rtable_count(__VA_ARGS__))
#define digby_rtable_add_column(...) \
    seen_rc("digby_rtable_add_column", digby_rtable_add_column(__VA_ARGS__))
#define digby_rtable_add_index(...) \
    seen_rc("digby_rtable_add_index", digby_rtable_add_index(__VA_ARGS__))
#define digby_rtable_drop_index(...) \
    seen_rc("digby_rtable_drop_index", digby_rtable_drop_index(__VA_ARGS__))
#define digby_rtable_insert(...) seen_rc("digby_rtable_insert", digby_rtable_insert(__VA_ARGS__))
#define digby_rtable_upsert(...) seen_rc("digby_rtable_upsert", digby_rtable_upsert(__VA_ARGS__))
#define digby_rtable_update(...) seen_rc("digby_rtable_update", digby_rtable_update(__VA_ARGS__))
#define digby_rtable_delete(...) seen_rc("digby_rtable_delete", digby_rtable_delete(__VA_ARGS__))
#define digby_rtable_get(...) seen_rc("digby_rtable_get", digby_rtable_get(__VA_ARGS__))
#define digby_rtable_constraint(...) \
    seen_rc("digby_rtable_constraint", digby_rtable_constraint(__VA_ARGS__))
#define digby_rtable_explain(...) seen_rc("digby_rtable_explain", digby_rtable_explain(__VA_ARGS__))
#define digby_rscan_open(...) seen_rc("digby_rscan_open", digby_rscan_open(__VA_ARGS__))
#define digby_rscan_next(...) seen_rc("digby_rscan_next", digby_rscan_next(__VA_ARGS__))
#define digby_rscan_row(...) seen_rc("digby_rscan_row", digby_rscan_row(__VA_ARGS__))

#endif /* DIGBY_TESTS_SEEN_ERRORS_H */
