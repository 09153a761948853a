/* report.c -- the results: the progress figures' formats, the tables, and
 * RESULTS.md (printed to stdout as well).
 */
#include "bench.h"

#include <stdarg.h>
#include <time.h>
#include <unistd.h>

void fmt_ops(char *buf, size_t n, const result_t *r)
{
    double v = r->ops_per_s;
    switch (r->status) {
    case 1: snprintf(buf, n, "ERROR"); return;
    case 3: snprintf(buf, n, "n/a"); return;
    case 5: snprintf(buf, n, "CRASH"); return;
    default: break;
    }
    if (v >= 1e6) snprintf(buf, n, "%.2fM", v / 1e6);
    else if (v >= 1e4) snprintf(buf, n, "%.0fK", v / 1e3);
    else if (v >= 1e3) snprintf(buf, n, "%.1fK", v / 1e3);
    else snprintf(buf, n, "%.0f", v);
    if (r->status == 2) strncat(buf, " (WRONG)", n - strlen(buf) - 1);
    if (r->status == 4) strncat(buf, " (partial)", n - strlen(buf) - 1);
}
void fmt_bytes(char *buf, size_t n, uint64_t b)
{
    if (b >= (uint64_t)10 << 30) snprintf(buf, n, "%.1f GiB", b / 1073741824.0);
    else if (b >= (uint64_t)1 << 20) snprintf(buf, n, "%.1f MiB", b / 1048576.0);
    else snprintf(buf, n, "%.0f KiB", b / 1024.0);
}
static int ok_status(int st) { return st == 0 || st == 4; }

/* ---- report -------------------------------------------------------------- */

typedef struct { char *buf; size_t len, cap; } sbuf;
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) { b->len += (size_t)n; return; }
        b->cap = b->cap * 2 + (size_t)n + 1024;
        b->buf = realloc(b->buf, b->cap);
    }
}

static void cmd_output(char *out, size_t n, const char *cmd)
{
    FILE *p = popen(cmd, "r");
    size_t k = 0;
    out[0] = 0;
    if (!p) return;
    k = fread(out, 1, n - 1, p);
    out[k] = 0;
    pclose(p);
    while (k > 0 && (out[k - 1] == '\n' || out[k - 1] == ' ')) out[--k] = 0;
}

/* The best peer (not digby, encrypted or not) for a workload: index or -1. */
static int best_peer(int shape, int wl)
{
    int e, best = -1;
    for (e = 0; e < NENGINES; e++) {
        const result_t *r = &results[shape][wl][e];
        if (!engines[e]->peer || !ok_status(r->status) || r->ops_per_s <= 0) continue;
        if (best < 0 || r->ops_per_s > results[shape][wl][best].ops_per_s) best = e;
    }
    return best;
}

/* An engine table's two heading rows: `first`, every engine's title, then
   the extra columns' headings `extra` (" a | b |" or ""); the alignment row
   right-aligns the engines' columns and gives the extra ones `extra_align`
   ("---|---:|" or ""). */
static void engine_table_head(sbuf *b, const char *first, const char *extra, const char *extra_align)
{
    int e;
    sb_printf(b, "| %s |", first);
    for (e = 0; e < NENGINES; e++) sb_printf(b, " %s |", engines[e]->title);
    sb_printf(b, "%s\n|---|", extra);
    for (e = 0; e < NENGINES; e++) sb_printf(b, "---:|");
    sb_printf(b, "%s\n", extra_align);
}

/* A cell of figure v (one decimal), or n/a: the engine did not run
   (status 3: not in this build, 5: crashed) or has no figure (!have). */
static void figure_cell(sbuf *b, const result_t *r, int have, double v)
{
    if (r->status == 3 || r->status == 5 || !have) sb_printf(b, " n/a |");
    else sb_printf(b, " %.1f |", v);
}

/* The engine a column's bracketed ratio is to, or -1: digby cache to
   digby, the encrypted engines to digby cache (the plaintext engine that
   reads through the cache, as they do). */
static int ratio_base(int e)
{
    switch (e) {
    case E_DIGBY_CACHE: case E_DIGBY_LOG: return E_DIGBY;
    case E_DIGBY_ENC: case E_DIGBY_ENC_OSSL: return E_DIGBY_CACHE;
    default: return -1;
    }
}

/* A shape's cache, as a table's title says it. */
static void fmt_cache(char *buf, size_t n, int shape)
{
    if (shapes[shape].cache_mult)
        snprintf(buf, n, "cache %zu MiB", (g_cache_bytes * (size_t)shapes[shape].cache_mult) >> 20);
    else
        snprintf(buf, n, "no cache size set");
}

static void table_throughput(sbuf *b, int shape)
{
    int wl, e;
    char cell[64], cache[64];
    fmt_cache(cache, sizeof cache, shape);
    sb_printf(b, "\n### Throughput, ops/s (%s, N = %" PRIu64 ", %s)\n\n", shapes[shape].label, shape_n(shape), cache);
    sb_printf(b, "digby's other columns are not peers; in brackets, the ratio of digby cache to digby, and of "
                 "each encrypted engine to digby cache (plaintext, read through the cache as encrypted pages are).\n\n");
    engine_table_head(b, "workload", " best peer | digby / best |", "---|---:|");
    for (wl = 0; wl < W_COUNT; wl++) {
        int bp;
        const result_t *d = &results[shape][wl][E_DIGBY];
        if (!ran[shape][wl] || wl == W_REPLAY) continue;
        sb_printf(b, "| %s |", wl_info[wl].name);
        for (e = 0; e < NENGINES; e++) {
            const result_t *r = &results[shape][wl][e];
            int rb = ratio_base(e);
            const result_t *base = rb >= 0 ? &results[shape][wl][rb] : NULL;
            fmt_ops(cell, sizeof cell, r);
            if (base && ok_status(r->status) && r->ops_per_s > 0 && ok_status(base->status) && base->ops_per_s > 0)
                sb_printf(b, " %s (%.2f×) |", cell, r->ops_per_s / base->ops_per_s);
            else
                sb_printf(b, " %s |", cell);
        }
        bp = best_peer(shape, wl);
        if (bp >= 0 && ok_status(d->status) && d->ops_per_s > 0)
            sb_printf(b, " %s | **%.2f×** |\n", engines[bp]->name, d->ops_per_s / results[shape][wl][bp].ops_per_s);
        else
            sb_printf(b, " %s | n/a |\n", bp >= 0 ? engines[bp]->name : "-");
    }
}

static void table_sizes(sbuf *b, int shape)
{
    int wl, e;
    char cell[64];
    sb_printf(b, "\n### File size after each write workload (%s)\n\n", shapes[shape].label);
    sb_printf(b, "Apparent bytes of every file in the engine's directory (WAL, logs and lock files included), "
                 "after the engine's background work went quiet, the engine still open (SQLite: after "
                 "`PRAGMA wal_checkpoint(TRUNCATE)`, so the -wal file is empty; LSMs: their write-ahead log "
                 "is included).\n\n");
    engine_table_head(b, "after", " digby / smallest peer |", "---:|");
    for (wl = 0; wl < W_COUNT; wl++) {
        uint64_t best = 0;
        if (!ran[shape][wl] || !wl_info[wl].writes) continue;
        sb_printf(b, "| %s |", wl_info[wl].name);
        for (e = 0; e < NENGINES; e++) {
            const result_t *r = &results[shape][wl][e];
            if (r->status == 3 || r->status == 5 || r->file_bytes == 0) { sb_printf(b, " n/a |"); continue; }
            fmt_bytes(cell, sizeof cell, r->file_bytes);
            sb_printf(b, " %s |", cell);
            if (engines[e]->peer && (best == 0 || r->file_bytes < best)) best = r->file_bytes;
        }
        if (best && results[shape][wl][E_DIGBY].file_bytes && results[shape][wl][E_DIGBY].status != 3)
            sb_printf(b, " %.2f× |\n", (double)results[shape][wl][E_DIGBY].file_bytes / best);
        else
            sb_printf(b, " n/a |\n");
    }
}

static void table_rss(sbuf *b, int shape)
{
    int wl, e;
    sb_printf(b, "\n### Peak RSS per workload, MiB (%s)\n\n", shapes[shape].label);
    sb_printf(b, "VmHWM of the engine's own process, reset at the start of each workload; it includes "
                 "the harness's key permutation and value pool (the \"base\" column is digby's RSS "
                 "when its workload started; \"digby log base\" the same for digby-log) and, for LMDB, digby and "
                 "digby-log, the pages of their memory maps that were touched (file pages, RssFile).\n\n");
    engine_table_head(b, "workload", " digby base | digby log base |", "---:|---:|");
    for (wl = 0; wl < W_COUNT; wl++) {
        if (!ran[shape][wl] || wl == W_REPLAY) continue;
        sb_printf(b, "| %s |", wl_info[wl].name);
        for (e = 0; e < NENGINES; e++) {
            const result_t *r = &results[shape][wl][e];
            figure_cell(b, r, r->hwm_kb != 0, r->hwm_kb / 1024.0);
        }
        if (results[shape][wl][E_DIGBY].hwm_kb) sb_printf(b, " %.1f |", results[shape][wl][E_DIGBY].base_kb / 1024.0);
        else sb_printf(b, " n/a |");
        if (results[shape][wl][E_DIGBY_LOG].hwm_kb) sb_printf(b, " %.1f |\n", results[shape][wl][E_DIGBY_LOG].base_kb / 1024.0);
        else sb_printf(b, " n/a |\n");
    }
}

/* Device bytes per user byte: (write_bytes - cancelled_write_bytes) /
   user bytes; wchar when write_bytes read 0 but wchar did not (a file
   system that does not account writeback): marked. */
static int wamp_of(const result_t *r, double *v, int *from_wchar)
{
    uint64_t w;
    *from_wchar = 0;
    if (!r->io_ok || !r->user_bytes || r->status == 3 || r->status == 5) return 0;
    w = r->io_write > r->io_cancel ? r->io_write - r->io_cancel : 0;
    if (r->io_write == 0 && r->io_wchar > 0) { w = r->io_wchar; *from_wchar = 1; }
    *v = (double)w / (double)r->user_bytes;
    return 1;
}

static void table_wamp(sbuf *b, int shape)
{
    int wl, e, any = 0, wchar_used = 0, reopen_any = 0;
    for (wl = 0; wl < W_COUNT; wl++)
        if (ran[shape][wl] && wl_info[wl].writes && wl != W_MPROC) any = 1;
    if (!any) return;
    sb_printf(b, "\n### Write amplification: bytes written to the device per byte of user data (%s)\n\n",
              shapes[shape].label);
    sb_printf(b, "From `/proc/self/io` of the engine's process (all its threads, so LSM flushes and compactions "
                 "count): `write_bytes` − `cancelled_write_bytes`, from the start of the timed part to after the "
                 "untimed work that follows it (the engine's quiesce, e.g. SQLite's `wal_checkpoint(TRUNCATE)`; "
                 "the wait for background threads; `sync()`), divided by the key + value bytes the workload put "
                 "(key bytes for deletes). `write_bytes` counts a page of the page cache when the process dirties "
                 "it, once per writeback cycle (a page rewritten before it reaches the disk counts once, as the "
                 "device sees it; a 4 KiB page dirtied for one small durable commit counts 4 KiB), and "
                 "`cancelled_write_bytes` the dirty bytes dropped by a truncate or unlink before writeback. "
                 "Not counted: the file system's own metadata and journal writes, and what is still only in the "
                 "engine's memory at the end (digby-log's memtable and the LSMs' memtables, which are in their "
                 "logs). In brackets, the same from `wchar`: the bytes the process handed to write() calls "
                 "(pwrite, writev...) per user byte, whether or not the page cache absorbed them (a page rewritten "
                 "many times before writeback counts each time; writes through a writable map, and the engine's "
                 "pipe to the driver, a few hundred bytes, are not / are in it). Without a sync per commit the "
                 "page cache absorbs rewrites of hot pages, so the device figure can be far below the bracketed "
                 "one (copy-on-write trees); with a sync per commit (fillsync) every commit's pages reach the "
                 "device. The untimed close and reopen before readrandom are shown apart, in MiB of write_bytes "
                 "(digby-log's close merges its memtable into the tree; LevelDB and RocksDB may flush at open).\n\n");
    engine_table_head(b, "workload", "", "");
    for (wl = 0; wl < W_COUNT; wl++) {
        /* (mproc's writes are its forked processes': not measured) */
        if (!ran[shape][wl] || !wl_info[wl].writes || wl == W_MPROC) continue;
        sb_printf(b, "| %s |", wl_info[wl].name);
        for (e = 0; e < NENGINES; e++) {
            double v;
            int wc;
            const result_t *r = &results[shape][wl][e];
            if (!wamp_of(r, &v, &wc)) { sb_printf(b, " n/a |"); continue; }
            if (wc) sb_printf(b, " %.2f (wchar) |", v);
            else sb_printf(b, " %.2f [%.1f] |", v, (double)r->io_wchar / (double)r->user_bytes);
            wchar_used |= wc;
        }
        sb_printf(b, "\n");
    }
    for (e = 0; e < NENGINES; e++)
        if (ran[shape][W_READRANDOM] && results[shape][W_READRANDOM][e].io_ok) reopen_any = 1;
    if (reopen_any) {
        sb_printf(b, "| close + reopen before readrandom, MiB written |");
        for (e = 0; e < NENGINES; e++) {
            const result_t *r = &results[shape][W_READRANDOM][e];
            if (!r->io_ok || r->status == 3 || r->status == 5) { sb_printf(b, " n/a |"); continue; }
            sb_printf(b, " %.1f |", (r->reopen_write > r->reopen_cancel ? r->reopen_write - r->reopen_cancel : 0) / 1048576.0);
        }
        sb_printf(b, "\n");
    }
    if (wchar_used)
        sb_printf(b, "\n(wchar): `write_bytes` read 0 for that cell while `wchar` did not (a file system that does "
                     "not account writeback to the process): the figure is `wchar`, the bytes passed to write() "
                     "calls, not device bytes.\n");
}

/* fillsync4t against each engine's own fillsync in the same run. */
static void table_fillsync4t(sbuf *b, int shape)
{
    int e;
    if (!ran[shape][W_FILLSYNC4T]) return;
    sb_printf(b, "\n### fillsync with %d threads against each engine's own fillsync (%s)\n\n",
              FILLSYNC4T_THREADS, shapes[shape].label);
    sb_printf(b, "Both in the sync group's processes, each interleaved with the other engines round by round; "
                 "a ratio above 1 means commits from several threads shared syncs (group commit) or overlapped.\n\n");
    engine_table_head(b, "", "", "");
    sb_printf(b, "| fillsync, ops/s |");
    for (e = 0; e < NENGINES; e++) {
        char cell[64];
        fmt_ops(cell, sizeof cell, &results[shape][W_FILLSYNC][e]);
        sb_printf(b, " %s |", cell);
    }
    sb_printf(b, "\n| fillsync4t, ops/s |");
    for (e = 0; e < NENGINES; e++) {
        char cell[64];
        fmt_ops(cell, sizeof cell, &results[shape][W_FILLSYNC4T][e]);
        sb_printf(b, " %s |", cell);
    }
    sb_printf(b, "\n| fillsync4t / fillsync |");
    for (e = 0; e < NENGINES; e++) {
        const result_t *one = &results[shape][W_FILLSYNC][e], *four = &results[shape][W_FILLSYNC4T][e];
        if (ok_status(one->status) && ok_status(four->status) && one->ops_per_s > 0 && four->ops_per_s > 0)
            sb_printf(b, " %.2f× |", four->ops_per_s / one->ops_per_s);
        else
            sb_printf(b, " n/a |");
    }
    sb_printf(b, "\n");
}

/* digby-log's reads with its memtable full against the same reads after
   the checkpoint (the memtable group). */
static void table_memtable(sbuf *b, int shape)
{
    static const int rd[3][2] = { { W_READRANDOM_MEM, W_READRANDOM }, { W_READSEQ_MEM, W_READSEQ },
                                  { W_SEEKRANDOM_MEM, W_SEEKRANDOM } };
    const result_t *fill = &results[shape][W_FILLRANDOM][E_DIGBY_LOG];
    int i;
    if (!ran[shape][W_READRANDOM_MEM] && !ran[shape][W_READSEQ_MEM] && !ran[shape][W_SEEKRANDOM_MEM]) return;
    sb_printf(b, "\n### digby-log's reads with a full memtable, and after a checkpoint (N = %" PRIu64 ")\n\n",
              shape_n(shape));
    sb_printf(b, "The memtable group: fillrandom with digby-log's `memtable_bytes` = %zu MiB (`MEMTABLE_MB`, by "
                 "default room for all N entries at about 200 bytes each, at least digby's 64 MiB default), so "
                 "that the fill runs no checkpoint and the reads right after it (the -mem workloads, no reopen) "
                 "find the data in the memtable, merged with an empty tree; then readrandom's reopen (digby_close "
                 "merges the memtable into the tree: a checkpoint) and the same reads again. digby "
                 "(copy-on-write, no memtable) runs the same sequence beside it. ",
              g_mem_group_bytes >> 20);
    if (fill->have_log)
        sb_printf(b, "After the fill digby-log's memtable held %" PRIu64 " entries (%.0f%% of N) in %.1f MiB of "
                     "arena, its log %.1f MiB; checkpoints run by the handle: %" PRIu64 " (the first is the one "
                     "open runs to start the log of a new file).\n\n",
                  fill->mt_entries, 100.0 * fill->mt_entries / shape_n(shape), fill->mt_bytes / 1048576.0,
                  fill->log_bytes / 1048576.0, fill->mt_checkpoints);
    else
        sb_printf(b, "(digby-log's memtable figures were not read.)\n\n");
    sb_printf(b, "| read | digby log, memtable full | digby log, after checkpoint | full / after | "
                 "digby, same point | digby, after reopen | digby log / digby, full | digby log / digby, after |\n"
                 "|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (i = 0; i < 3; i++) {
        const result_t *lm = &results[shape][rd[i][0]][E_DIGBY_LOG], *la = &results[shape][rd[i][1]][E_DIGBY_LOG];
        const result_t *dm = &results[shape][rd[i][0]][E_DIGBY], *da = &results[shape][rd[i][1]][E_DIGBY];
        char c1[64], c2[64], c3[64], c4[64];
#define RATIO(x, y) (ok_status((x)->status) && ok_status((y)->status) && (x)->ops_per_s > 0 && (y)->ops_per_s > 0)
        if (!ran[shape][rd[i][0]]) continue;
        fmt_ops(c1, sizeof c1, lm); fmt_ops(c2, sizeof c2, la); fmt_ops(c3, sizeof c3, dm); fmt_ops(c4, sizeof c4, da);
        sb_printf(b, "| %s | %s | %s |", wl_info[rd[i][1]].name, c1, c2);
        if (RATIO(lm, la)) sb_printf(b, " %.2f× |", lm->ops_per_s / la->ops_per_s); else sb_printf(b, " n/a |");
        sb_printf(b, " %s | %s |", c3, c4);
        if (RATIO(lm, dm)) sb_printf(b, " %.2f× |", lm->ops_per_s / dm->ops_per_s); else sb_printf(b, " n/a |");
        if (RATIO(la, da)) sb_printf(b, " %.2f× |\n", la->ops_per_s / da->ops_per_s); else sb_printf(b, " n/a |\n");
#undef RATIO
    }
}

/* digby-log's replay of a full log. */
static void table_replay(sbuf *b, int shape)
{
    const result_t *r = &results[shape][W_REPLAY][E_DIGBY_LOG];
    if (!ran[shape][W_REPLAY]) return;
    sb_printf(b, "\n### digby-log: replay of a full log\n\n");
    if (!ok_status(r->status) || !r->rp_bytes) {
        sb_printf(b, "Not measured%s%s.\n", r->msg[0] ? ": " : "", r->msg);
        return;
    }
    sb_printf(b, "A forked process opened a new file in log mode (memtable_bytes %.0f MiB), committed "
                 "transactions of 1,000 puts of random keys (16/100 B, no sync) until the memtable was about one "
                 "commit short of its bound (%" PRIu64 " entries, %.1f MiB of arena, no checkpoint but the one "
                 "open starts the log with; %.1f s), and `_exit`ed without digby_close: the log is live in the file "
                 "(%.1f MiB). Then digby_open of that image, timed, twice: read-only with the file in the page cache "
                 "(warm: replays into the memtable, merges nothing, writes nothing), and writable in log mode after "
                 "`fsync` and `posix_fadvise(POSIX_FADV_DONTNEED)`%s (cold: the log read from the device, as a "
                 "restart after a crash). Replay figures from `digby_stats` (replay_commits, replay_bytes, "
                 "replay_ns); \"open\" is digby_open's wall time (replay plus the rest of open).\n\n",
              r->rp_bound / 1048576.0, r->rp_entries, r->rp_mt_bytes / 1048576.0, r->rp_fill_secs,
              r->rp_file_bytes / 1048576.0, r->rp_cold_dropped ? "" : " (**the fadvise failed: the cold figure may be warm**)");
    sb_printf(b, "| log replayed | commits | replay, warm | open, warm | replay, cold | open, cold | cold replay per 64 MiB of log | close after (merge) |\n"
                 "|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    sb_printf(b, "| %.1f MiB | %" PRIu64 " | %.3f s | %.3f s | %.3f s | %.3f s | %.3f s | %.2f s |\n",
              r->rp_bytes / 1048576.0, r->rp_commits, r->rp_warm_ns * 1e-9, r->rp_warm_open, r->rp_cold_ns * 1e-9,
              r->rp_cold_open, r->rp_cold_ns * 1e-9 * 67108864.0 / (double)r->rp_bytes, r->rp_close_secs);
    if (r->msg[0]) sb_printf(b, "\nNote: %s\n", r->msg);
}

static void table_settle(sbuf *b, int shape)
{
    int wl, e, any = 0;
    for (wl = 0; wl < W_COUNT; wl++)
        for (e = 0; e < NENGINES; e++)
            if (ran[shape][wl] && wl != W_REPLAY && results[shape][wl][e].settle_secs > 1.0) any = 1;
    if (!any) return;
    sb_printf(b, "\n### Background work after the timed part, seconds (%s)\n\n", shapes[shape].label);
    sb_printf(b, "Time until the engine's process stopped using CPU (flushes, compactions); not in the "
                 "throughput figures; the longest wait after any round. 0.25 s means idle at once.\n\n");
    engine_table_head(b, "workload", "", "");
    for (wl = 0; wl < W_COUNT; wl++) {
        if (!ran[shape][wl] || wl == W_REPLAY) continue;
        sb_printf(b, "| %s |", wl_info[wl].name);
        for (e = 0; e < NENGINES; e++)
            figure_cell(b, &results[shape][wl][e], 1, results[shape][wl][e].settle_secs);
        sb_printf(b, "\n");
    }
}

/* The mproc group: each engine's readers and writer, and digby's ratios to
   each peer. */
static void table_mproc(sbuf *b, int shape)
{
    static const int peers[] = { E_LMDB, E_SQLITE };
    static const int rows[] = { E_DIGBY, E_DIGBY_LOG, E_LMDB, E_SQLITE };
    static const int mine[] = { E_DIGBY, E_DIGBY_LOG };
    size_t i, j;
    int k;
    if (!ran[shape][W_MPROC]) return;
    sb_printf(b, "\n### %d reader processes (readrandom) while a writer process runs overwrite (N = %" PRIu64 ", %d × %.1f s)\n\n",
              MPROC_READERS, shape_n(shape), MPROC_ROUNDS, g_mproc_secs / MPROC_ROUNDS);
    sb_printf(b, "After fillrandom, the engine's process closes its handle and forks %d readers and a writer; each "
                 "opens the database itself and all start together for %.1f s; %d such rounds (`MPROC_SECONDS` = "
                 "%.0f in all), interleaved with the other engines round by round. A reader's get is "
                 "one read transaction (begin, get, end); the writer puts random existing keys in transactions of "
                 "1,000, not synced. Readers: each reader's gets/s over the rounds, and their sum; writer: puts/s. "
                 "Peak RSS: the largest VmHWM of the processes. digby, LMDB and SQLite on their default options (digby: "
                 "a zeroed `digby_options` plus DIGBY_OPEN_NO_SYNC; LMDB: its own environment per process, "
                 "MDB_NOSYNC; SQLite: a connection per process, WAL, synchronous=NORMAL, busy_timeout 60 s).\n\n",
              MPROC_READERS, g_mproc_secs / MPROC_ROUNDS, MPROC_ROUNDS, g_mproc_secs);
    sb_printf(b, "| engine |");
    for (k = 0; k < MPROC_READERS; k++) sb_printf(b, " reader %d, gets/s |", k + 1);
    sb_printf(b, " readers, gets/s | writer, puts/s | writer commits | file after | peak RSS, MiB |\n|---|");
    for (k = 0; k < MPROC_READERS; k++) sb_printf(b, "---:|");
    sb_printf(b, "---:|---:|---:|---:|---:|\n");
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const result_t *r = &results[shape][W_MPROC][rows[i]];
        char cell[64];
        sb_printf(b, "| %s |", engines[rows[i]]->title);
        if (!r->mp_ran) {
            for (k = 0; k < MPROC_READERS + 5; k++) sb_printf(b, " n/a |");
            sb_printf(b, "\n");
            continue;
        }
        for (k = 0; k < MPROC_READERS; k++)
            sb_printf(b, " %.0f |", r->mp_read_secs[k] > 0 ? r->mp_read_ops[k] / r->mp_read_secs[k] : 0.0);
        fmt_bytes(cell, sizeof cell, r->file_bytes);
        sb_printf(b, " %.0f | %.0f | %" PRIu64 " | %s | %.1f |\n", r->ops_per_s, r->mp_write_per_s,
                  r->mp_write_commits, r->file_bytes ? cell : "n/a", r->hwm_kb / 1024.0);
    }
    for (j = 0; j < sizeof mine / sizeof mine[0]; j++)
    for (i = 0; i < sizeof peers / sizeof peers[0]; i++) {
        const result_t *d = &results[shape][W_MPROC][mine[j]];
        const result_t *p = &results[shape][W_MPROC][peers[i]];
        if (!d->mp_ran && mine[j] != E_DIGBY) continue;
        sb_printf(b, "| **%s / %s** |", engines[mine[j]]->title, engines[peers[i]]->title);
        for (k = 0; k < MPROC_READERS; k++) sb_printf(b, " |");
        if (d->mp_ran && p->mp_ran && p->ops_per_s > 0 && p->mp_write_per_s > 0)
            sb_printf(b, " **%.2f×** | **%.2f×** | | | |\n", d->ops_per_s / p->ops_per_s,
                      d->mp_write_per_s / p->mp_write_per_s);
        else
            sb_printf(b, " n/a | n/a | | | |\n");
    }
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const result_t *r = &results[shape][W_MPROC][rows[i]];
        if (!r->mp_ran && r->msg[0])
            sb_printf(b, "\n%s: n/a: %s\n", engines[rows[i]]->title, r->msg);
    }
}

/* Issue #13's targets: digby on default options against the best peer on
   theirs (the defaults group), and the OpenSSL backend against plaintext
   digby cache with the database about twice the cache (the random group),
   mbedTLS beside it. */
static void table_issue13(sbuf *b)
{
    static const int reads[] = { W_READRANDOM, W_READMISSING, W_READSEQ, W_READREVERSE, W_SEEKRANDOM, W_READRANDOM2T };
    static const struct { int wl; double need; } enc[] = { { W_READRANDOM, 0.7 }, { W_READSEQ, 0.7 }, { W_FILLRANDOM, 0.6 } };
    const int D = SH_DEFAULTS, S = SH_EQUAL;
    size_t i;
    int any = 0;
    for (i = 0; i < sizeof reads / sizeof reads[0]; i++) any |= ran[D][reads[i]];
    for (i = 0; i < sizeof enc / sizeof enc[0]; i++) any |= ran[S][enc[i].wl];
    if (!any) return;
    sb_printf(b, "\n### Issue #13's targets\n\n"
                 "| target | measured | required | met? |\n|---|---:|---:|---|\n");
#define OKR(sh, wl, e) (ran[sh][wl] && ok_status(results[sh][wl][e].status) && results[sh][wl][e].ops_per_s > 0)
#define OPS(sh, wl, e) (results[sh][wl][e].ops_per_s)
    for (i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        int wl = reads[i], bp;
        if (!ran[D][wl]) continue;
        bp = best_peer(D, wl);
        if (bp >= 0 && OKR(D, wl, E_DIGBY))
            sb_printf(b, "| %s ≥ 1.0× best peer, default options | %.0f/s | %.0f/s (%s) | %s (%.2f×) |\n",
                      wl_info[wl].name, OPS(D, wl, E_DIGBY), OPS(D, wl, bp), engines[bp]->name,
                      OPS(D, wl, E_DIGBY) >= OPS(D, wl, bp) ? "met" : "**missed**", OPS(D, wl, E_DIGBY) / OPS(D, wl, bp));
        else
            sb_printf(b, "| %s ≥ 1.0× best peer, default options | - | - | not measured |\n", wl_info[wl].name);
    }
    {
        /* the encrypted file when the reads began (after the last write
           workload before them in the group), against the cache */
        const result_t *f = &results[S][ran[S][W_OVERWRITE] ? W_OVERWRITE : W_FILLRANDOM][E_DIGBY_ENC_OSSL];
        size_t cache = g_cache_bytes * (size_t)shapes[S].cache_mult;
        char db[64] = "?", where[256];
        if (f->file_bytes) fmt_bytes(db, sizeof db, f->file_bytes);
        snprintf(where, sizeof where, "random group: cache %zu MiB, encrypted file %s%s", cache >> 20, db,
                 !f->file_bytes ? "" : f->file_bytes >= 2 * (uint64_t)cache ? " (≥ 2× the cache)"
                 : f->file_bytes > cache ? " (larger than the cache, **less than twice** it)"
                                         : " (**within the cache**: not the issue's condition)");
        for (i = 0; i < sizeof enc / sizeof enc[0]; i++) {
            int wl = enc[i].wl;
            char mbed[96] = "mbedTLS (digby-enc) n/a";
            if (!ran[S][wl]) continue;
            if (OKR(S, wl, E_DIGBY_ENC) && OKR(S, wl, E_DIGBY_CACHE))
                snprintf(mbed, sizeof mbed, "mbedTLS (digby-enc) %.0f/s, %.2f×", OPS(S, wl, E_DIGBY_ENC),
                         OPS(S, wl, E_DIGBY_ENC) / OPS(S, wl, E_DIGBY_CACHE));
            if (OKR(S, wl, E_DIGBY_ENC_OSSL) && OKR(S, wl, E_DIGBY_CACHE)) {
                double x = OPS(S, wl, E_DIGBY_ENC_OSSL), p = OPS(S, wl, E_DIGBY_CACHE);
                sb_printf(b, "| encrypted %s ≥ %.1f× plaintext digby cache, OpenSSL backend | %.0f/s | %.0f/s | "
                             "%s (%.2f×; %s; %s) |\n",
                          wl_info[wl].name, enc[i].need, x, enc[i].need * p, x >= enc[i].need * p ? "met" : "**missed**",
                          x / p, mbed, where);
            } else {
                sb_printf(b, "| encrypted %s ≥ %.1f× plaintext digby cache, OpenSSL backend | - | - | not measured "
                             "(needs digby-cache and digby-enc-openssl in the random group; %s) |\n",
                          wl_info[wl].name, enc[i].need, mbed);
            }
        }
    }
#undef OKR
#undef OPS
}

/* The benchmark issue's targets, evaluated on the equal-cache 16/100 run. */
static void table_targets(sbuf *b)
{
    static const int lmdb_x1[] = { W_READRANDOM, W_READMISSING, W_READSEQ, W_SEEKRANDOM, W_FILLSEQ, W_FILL100K };
    const int S = SH_EQUAL, LM = E_LMDB, SQ = E_SQLITE, LD = E_LEVELDB, RK = E_ROCKSDB;
    size_t i;
    sb_printf(b, "\n### The benchmark issue's targets (16-byte keys, 100-byte values, cache %zu MiB)\n\n"
                 "| target | digby | required | met? |\n|---|---:|---:|---|\n", g_cache_bytes >> 20);
#define R(wl, e) (&results[S][wl][e])
#define OK(wl, e) (ran[S][wl] && ok_status(R(wl, e)->status) && R(wl, e)->ops_per_s > 0)
    for (i = 0; i < sizeof lmdb_x1 / sizeof lmdb_x1[0]; i++) {
        int wl = lmdb_x1[i];
        if (!ran[S][wl]) continue;
        if (OK(wl, E_DIGBY) && OK(wl, LM))
            sb_printf(b, "| %s ≥ 1.0× LMDB | %.0f/s | %.0f/s | %s (%.2f×) |\n", wl_info[wl].name,
                      R(wl, E_DIGBY)->ops_per_s, R(wl, LM)->ops_per_s,
                      R(wl, E_DIGBY)->ops_per_s >= R(wl, LM)->ops_per_s ? "met" : "**missed**",
                      R(wl, E_DIGBY)->ops_per_s / R(wl, LM)->ops_per_s);
        else
            sb_printf(b, "| %s ≥ 1.0× LMDB | - | - | not measured |\n", wl_info[wl].name);
    }
    {
        static const int w2[] = { W_FILLRANDOM, W_DELETERANDOM };
        for (i = 0; i < 2; i++) {
            int wl = w2[i];
            double lsm, need;
            if (!ran[S][wl]) continue;
            if (!(OK(wl, E_DIGBY) && OK(wl, LM) && (OK(wl, LD) || OK(wl, RK)))) {
                sb_printf(b, "| %s ≥ 1.5× LMDB and ≥ 0.5× best LSM | - | - | not measured |\n", wl_info[wl].name);
                continue;
            }
            lsm = OK(wl, LD) ? R(wl, LD)->ops_per_s : 0;
            if (OK(wl, RK) && R(wl, RK)->ops_per_s > lsm) lsm = R(wl, RK)->ops_per_s;
            need = 1.5 * R(wl, LM)->ops_per_s;
            if (0.5 * lsm > need) need = 0.5 * lsm;
            sb_printf(b, "| %s ≥ 1.5× LMDB and ≥ 0.5× best LSM | %.0f/s | %.0f/s | %s (%.2f× LMDB, %.2f× best LSM) |\n",
                      wl_info[wl].name, R(wl, E_DIGBY)->ops_per_s, need,
                      R(wl, E_DIGBY)->ops_per_s >= need ? "met" : "**missed**",
                      R(wl, E_DIGBY)->ops_per_s / R(wl, LM)->ops_per_s, R(wl, E_DIGBY)->ops_per_s / lsm);
        }
    }
    if (ran[S][W_OVERWRITE]) {
        double lsm = 0;
        if (OK(W_OVERWRITE, LD)) lsm = R(W_OVERWRITE, LD)->ops_per_s;
        if (OK(W_OVERWRITE, RK) && R(W_OVERWRITE, RK)->ops_per_s > lsm) lsm = R(W_OVERWRITE, RK)->ops_per_s;
        if (OK(W_OVERWRITE, E_DIGBY) && lsm > 0)
            sb_printf(b, "| overwrite ≥ 0.6× best LSM | %.0f/s | %.0f/s | %s (%.2f×) |\n",
                      R(W_OVERWRITE, E_DIGBY)->ops_per_s, 0.6 * lsm,
                      R(W_OVERWRITE, E_DIGBY)->ops_per_s >= 0.6 * lsm ? "met" : "**missed**",
                      R(W_OVERWRITE, E_DIGBY)->ops_per_s / lsm);
    }
    if (ran[S][W_FILLSYNC]) {
        int bp = best_peer(S, W_FILLSYNC);
        if (bp >= 0 && OK(W_FILLSYNC, E_DIGBY))
            sb_printf(b, "| fillsync ≥ best peer | %.0f/s | %.0f/s (%s) | %s (%.2f×) |\n",
                      R(W_FILLSYNC, E_DIGBY)->ops_per_s, R(W_FILLSYNC, bp)->ops_per_s, engines[bp]->name,
                      R(W_FILLSYNC, E_DIGBY)->ops_per_s >= R(W_FILLSYNC, bp)->ops_per_s ? "met" : "**missed**",
                      R(W_FILLSYNC, E_DIGBY)->ops_per_s / R(W_FILLSYNC, bp)->ops_per_s);
    }
    if (ran[S][W_FILLRANDOM] && R(W_FILLRANDOM, E_DIGBY)->file_bytes && R(W_FILLRANDOM, LM)->file_bytes &&
        R(W_FILLRANDOM, SQ)->file_bytes) {
        uint64_t d = R(W_FILLRANDOM, E_DIGBY)->file_bytes, l = R(W_FILLRANDOM, LM)->file_bytes,
                 q = R(W_FILLRANDOM, SQ)->file_bytes, raw = g_n * (16 + 100);
        uint64_t need = l && q ? (l < q ? l : q) : (l ? l : q);
        sb_printf(b, "| file after fillrandom < SQLite's and LMDB's | %.0f MiB (%.2f× raw) | < %.0f MiB | %s "
                     "(LMDB %.2f× raw, SQLite %.2f× raw; raw = N × 116 B) |\n",
                  d / 1048576.0, (double)d / raw, need / 1048576.0,
                  need && d < need ? "met" : "**missed**", (double)l / raw, (double)q / raw);
    }
    {
        /* With the data in cache: from the bigcache group (cache larger than
           the database) when the encrypted engine ran there, else from the
           equal-cache group; against digby cache, the plaintext engine that
           reads through the cache (digby itself reads from a map).  readrandom starts after a reopen, so its first
           round reads (and decrypts) each page into an empty cache; the
           target is judged on the later rounds, which find the pages there. */
        int sh = -1, k;
        static const int cand[2] = { SH_BIGCACHE, SH_EQUAL };
        for (k = 0; k < 2 && sh < 0; k++) {
            const result_t *d = &results[cand[k]][W_READRANDOM][E_DIGBY_CACHE];
            const result_t *x = &results[cand[k]][W_READRANDOM][E_DIGBY_ENC];
            if (ran[cand[k]][W_READRANDOM] && ok_status(d->status) && d->ops_per_s > 0 &&
                ok_status(x->status) && x->ops_per_s > 0)
                sh = cand[k];
        }
        if (sh >= 0) {
            const result_t *d = &results[sh][W_READRANDOM][E_DIGBY_CACHE];
            const result_t *x = &results[sh][W_READRANDOM][E_DIGBY_ENC];
            /* the encrypted file when the reads began: after the last write
               workload before readrandom in its group */
            const result_t *fd = &results[sh][ran[sh][W_OVERWRITE] ? W_OVERWRITE : W_FILLRANDOM][E_DIGBY_ENC];
            size_t cache = g_cache_bytes * (size_t)shapes[sh].cache_mult;
            int warm = d->warm_secs > 0 && x->warm_secs > 0 && d->warm_ops && x->warm_ops;
            double dw = warm ? d->warm_ops / d->warm_secs : d->ops_per_s;
            double xw = warm ? x->warm_ops / x->warm_secs : x->ops_per_s;
            char db[64] = "?", how[160];
            if (fd->file_bytes) fmt_bytes(db, sizeof db, fd->file_bytes);
            if (warm)
                snprintf(how, sizeof how, "on rounds 2–%d, the pages in the cache; all %d rounds, the first "
                         "reading each page after the reopen: %.2f×", READ_ROUNDS, READ_ROUNDS,
                         x->ops_per_s / d->ops_per_s);
            else
                snprintf(how, sizeof how, "all rounds");
            sb_printf(b, "| encrypted readrandom ≥ 0.8× plaintext digby cache, data in cache | %.0f/s | %.0f/s | %s "
                         "(%.2f× %s; %s group: cache %zu MiB, encrypted file %s%s) |\n",
                      xw, 0.8 * dw, xw >= 0.8 * dw ? "met" : "**missed**", xw / dw, how,
                      sh == SH_BIGCACHE ? "bigcache" : "random (no bigcache result)", cache >> 20, db,
                      fd->file_bytes > cache ? ": **not** all in cache" : "");
        } else {
            sb_printf(b, "| encrypted readrandom ≥ 0.8× plaintext digby cache, data in cache | - | - | not measured "
                         "(needs readrandom of digby-cache and digby-enc in the bigcache or the random group) |\n");
        }
    }
    if (ran[S][W_FILLRANDOM]) {
        /* digby cache (digby reads from a map: its resident set grows with
           the file, as LMDB's does).  base: the smallest RSS its process
           had when a workload began (harness arrays and the library,
           before the cache filled) */
        uint64_t peak = 0, base = 0;
        int wl;
        for (wl = 0; wl < W_COUNT; wl++) {
            if (!ran[S][wl] || !R(wl, E_DIGBY_CACHE)->hwm_kb) continue;
            if (R(wl, E_DIGBY_CACHE)->hwm_kb > peak) peak = R(wl, E_DIGBY_CACHE)->hwm_kb;
            if (R(wl, E_DIGBY_CACHE)->base_kb && (base == 0 || R(wl, E_DIGBY_CACHE)->base_kb < base)) base = R(wl, E_DIGBY_CACHE)->base_kb;
        }
        if (!peak)
            sb_printf(b, "| peak RSS bounded by the cache (%zu MiB), digby cache | - | - | not measured (digby-cache did not run) |\n",
                      g_cache_bytes >> 20);
        else
        sb_printf(b, "| peak RSS bounded by the cache (%zu MiB), digby cache | %.0f MiB peak (harness base ≈ %.0f MiB) | ≤ cache + harness | %s |\n",
                  g_cache_bytes >> 20, peak / 1024.0, base / 1024.0,
                  peak <= base + (g_cache_bytes >> 10) + 16 * 1024 ? "met at this N (peak ≤ base + cache + 16 MiB)"
                                                                  : "**missed** (peak > base + cache + 16 MiB)");
    }
#undef R
#undef OK
}

/* Issue #11's benchmark targets for log mode (digby-log). */
static void table_issue11(sbuf *b)
{
    const int S = SH_EQUAL, L = E_DIGBY_LOG;
    int any = 0, wl, sh;
    size_t i;
#define R(sh, wl, e) (&results[sh][wl][e])
#define OK(sh, wl, e) (ran[sh][wl] && ok_status(R(sh, wl, e)->status) && R(sh, wl, e)->ops_per_s > 0)
    for (sh = 0; sh < NSHAPES; sh++)
        for (wl = 0; wl < W_COUNT; wl++)
            if (ran[sh][wl] && results[sh][wl][L].status != 3) any = 1;
    if (!any) return;
    sb_printf(b, "\n### Issue #11's targets (log mode: digby-log)\n\n"
                 "The equal-cache 16/100 run (cache %zu MiB) unless stated. digby-log is digby with DIGBY_OPEN_LOG "
                 "and default options otherwise (memtable bound 64 MiB).\n\n"
                 "| target | digby-log | required | met? |\n|---|---:|---:|---|\n", g_cache_bytes >> 20);
    {
        static const int lsm1[] = { W_FILLRANDOM, W_OVERWRITE, W_DELETERANDOM };
        for (i = 0; i < sizeof lsm1 / sizeof lsm1[0]; i++) {
            double lsm = 0;
            const char *who = "-";
            wl = lsm1[i];
            if (!ran[S][wl]) continue;
            if (OK(S, wl, E_LEVELDB)) { lsm = R(S, wl, E_LEVELDB)->ops_per_s; who = "leveldb"; }
            if (OK(S, wl, E_ROCKSDB) && R(S, wl, E_ROCKSDB)->ops_per_s > lsm) { lsm = R(S, wl, E_ROCKSDB)->ops_per_s; who = "rocksdb"; }
            if (OK(S, wl, L) && lsm > 0)
                sb_printf(b, "| %s ≥ 1.0× best of LevelDB and RocksDB | %.0f/s | %.0f/s (%s) | %s (%.2f×) |\n",
                          wl_info[wl].name, R(S, wl, L)->ops_per_s, lsm, who,
                          R(S, wl, L)->ops_per_s >= lsm ? "met" : "**missed**", R(S, wl, L)->ops_per_s / lsm);
            else
                sb_printf(b, "| %s ≥ 1.0× best of LevelDB and RocksDB | - | - | not measured |\n", wl_info[wl].name);
        }
    }
    {
        static const int ahead[] = { W_FILLSEQ, W_FILL100K, W_FILLSYNC };
        for (i = 0; i < sizeof ahead / sizeof ahead[0]; i++) {
            int bp;
            wl = ahead[i];
            if (!ran[S][wl]) continue;
            bp = best_peer(S, wl);
            if (bp >= 0 && OK(S, wl, L))
                sb_printf(b, "| %s ≥ 1.0× best peer | %.0f/s | %.0f/s (%s) | %s (%.2f×) |\n", wl_info[wl].name,
                          R(S, wl, L)->ops_per_s, R(S, wl, bp)->ops_per_s, engines[bp]->name,
                          R(S, wl, L)->ops_per_s >= R(S, wl, bp)->ops_per_s ? "met" : "**missed**",
                          R(S, wl, L)->ops_per_s / R(S, wl, bp)->ops_per_s);
            else
                sb_printf(b, "| %s ≥ 1.0× best peer | - | - | not measured |\n", wl_info[wl].name);
        }
    }
    if (ran[S][W_FILLSYNC4T]) {
        if (OK(S, W_FILLSYNC4T, L) && OK(S, W_FILLSYNC, L)) {
            double x = R(S, W_FILLSYNC4T, L)->ops_per_s / R(S, W_FILLSYNC, L)->ops_per_s;
            char dg[96] = "digby (copy-on-write) n/a";
            if (OK(S, W_FILLSYNC4T, E_DIGBY) && OK(S, W_FILLSYNC, E_DIGBY))
                snprintf(dg, sizeof dg, "digby (copy-on-write) %.2f×",
                         R(S, W_FILLSYNC4T, E_DIGBY)->ops_per_s / R(S, W_FILLSYNC, E_DIGBY)->ops_per_s);
            sb_printf(b, "| fillsync4t ≥ 2× its own fillsync (group commit) | %.0f/s | %.0f/s (2 × %.0f/s) | %s "
                         "(%.2f×; %s) |\n",
                      R(S, W_FILLSYNC4T, L)->ops_per_s, 2 * R(S, W_FILLSYNC, L)->ops_per_s,
                      R(S, W_FILLSYNC, L)->ops_per_s, x >= 2.0 ? "met" : "**missed**", x, dg);
        } else {
            sb_printf(b, "| fillsync4t ≥ 2× its own fillsync (group commit) | - | - | not measured |\n");
        }
    }
    {
        static const int reads[] = { W_READRANDOM, W_READSEQ, W_SEEKRANDOM, W_READRANDOM2T };
        for (i = 0; i < sizeof reads / sizeof reads[0]; i++) {
            wl = reads[i];
            if (!ran[S][wl]) continue;
            if (OK(S, wl, L) && OK(S, wl, E_DIGBY))
                sb_printf(b, "| %s after a checkpoint ≥ 0.95× copy-on-write digby | %.0f/s | %.0f/s | %s (%.2f×) |\n",
                          wl_info[wl].name, R(S, wl, L)->ops_per_s, 0.95 * R(S, wl, E_DIGBY)->ops_per_s,
                          R(S, wl, L)->ops_per_s >= 0.95 * R(S, wl, E_DIGBY)->ops_per_s ? "met" : "**missed**",
                          R(S, wl, L)->ops_per_s / R(S, wl, E_DIGBY)->ops_per_s);
            else
                sb_printf(b, "| %s after a checkpoint ≥ 0.95× copy-on-write digby | - | - | not measured |\n",
                          wl_info[wl].name);
        }
    }
    /* peak RSS: every group digby-log ran in but the replay (its own open,
       with the default bound, is in the replay table) */
    for (sh = 0; sh < NSHAPES; sh++) {
        uint64_t peak = 0, base = 0, anon = 0, file = 0;
        uint64_t bound = sh == SH_LOGMODE ? g_mem_group_bytes : (uint64_t)64 << 20;
        uint64_t cache = (uint64_t)g_cache_bytes * (uint64_t)shapes[sh].cache_mult;
        int pw = -1;
        if (!cache) cache = (uint64_t)8 << 20;   /* digby's default cache_bytes */
        for (wl = 0; wl < W_COUNT; wl++) {
            const result_t *r = R(sh, wl, L);
            if (!ran[sh][wl] || wl == W_REPLAY || !r->hwm_kb || r->status == 3 || r->status == 5) continue;
            if (r->hwm_kb > peak) { peak = r->hwm_kb; pw = wl; anon = r->rss_anon_kb; file = r->rss_file_kb; }
            if (r->base_kb && (base == 0 || r->base_kb < base)) base = r->base_kb;
        }
        if (pw < 0) continue;
        {
            uint64_t need_kb = (cache + bound) / 1024 + 16 * 1024;
            sb_printf(b, "| peak RSS ≤ cache + memtable bound + 16 MiB (%s) | %.0f MiB (%s; at its end RssAnon "
                         "%.0f MiB, RssFile %.0f MiB; harness base ≈ %.0f MiB) | ≤ %.0f MiB (%.0f + %.0f + 16) | %s |\n",
                      shapes[sh].label, peak / 1024.0, wl_info[pw].name, anon / 1024.0, file / 1024.0, base / 1024.0,
                      need_kb / 1024.0, cache / 1048576.0, bound / 1048576.0,
                      peak <= need_kb ? "met (VmHWM as measured, harness and mapped file pages included)"
                      : peak <= need_kb + base ? "**missed** as measured; met without the harness base"
                                               : "**missed**");
        }
    }
    for (sh = 0; sh < NSHAPES; sh++) {
        const result_t *r = R(sh, W_REPLAY, L);
        if (!ran[sh][W_REPLAY]) continue;
        if (ok_status(r->status) && r->rp_bytes) {
            double per = r->rp_cold_ns * 1e-9 * 67108864.0 / (double)r->rp_bytes;
            sb_printf(b, "| replay of a full log < about 1 s per 64 MiB | %.3f s for %.1f MiB cold (%.3f s warm); "
                         "%.2f s per 64 MiB | < 1 s per 64 MiB | %s |\n",
                      r->rp_cold_ns * 1e-9, r->rp_bytes / 1048576.0, r->rp_warm_ns * 1e-9, per,
                      per < 1.0 ? "met" : "**missed**");
        } else {
            sb_printf(b, "| replay of a full log < about 1 s per 64 MiB | - | - | not measured%s%s |\n",
                      r->msg[0] ? ": " : "", r->msg);
        }
    }
    if (ran[SH_BIG][W_FILLRANDOM])
        sb_printf(b, "| 10M keys (fillrandom, readrandom) | see the big table (N = %" PRIu64 ") | no target | - |\n",
                  g_big_n);
#undef R
#undef OK
}

/* A peer library's version, or why there is none. */
static const char *lib_version(int e)
{
    return engines[e]->version ? engines[e]->version() : "not in this build";
}

void write_report(const char *path, double wall, int argc, char **argv)
{
    sbuf b = { NULL, 0, 0 };
    char date[64], cpu[256], kern[256], pkgs[2048], git[128], mem[64], fs[256], names[256];
    time_t t = time(NULL);
    int e, s, i;
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
    cmd_output(cpu, sizeof cpu, "grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'");
    cmd_output(kern, sizeof kern, "uname -srm");
    cmd_output(mem, sizeof mem, "awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo");
    cmd_output(pkgs, sizeof pkgs, "dpkg-query -W -f='${Package} ${Version}\\n' liblmdb-dev libsqlite3-dev "
                                  "libleveldb-dev librocksdb-dev libxxhash-dev liblz4-dev libmbedtls-dev libssl-dev 2>/dev/null | sort -u | sed 's/^/    /'");
#ifdef BENCH_DIGBY_REV
    snprintf(git, sizeof git, "%s", BENCH_DIGBY_REV);
#else
    cmd_output(git, sizeof git, "git -C .. rev-parse --short HEAD 2>/dev/null");
#endif
    {
        char c2[4400];
        snprintf(c2, sizeof c2, "df -T '%s' 2>/dev/null | awk 'NR==2 {print $2 \" on \" $1}'", g_dir);
        cmd_output(fs, sizeof fs, c2);
    }
    sb_printf(&b, "# digby benchmark results\n\n");
    sb_printf(&b, "- date: %s; wall time %.0f s\n", date, wall);
    sb_printf(&b, "- command: `");
    for (i = 0; i < argc; i++) sb_printf(&b, "%s%s", i ? " " : "", argv[i]);
    sb_printf(&b, "` with N=%" PRIu64 "%s\n", g_n, g_quick ? " (QUICK=1)" : "");
    sb_printf(&b, "- machine: %ld cores (nproc), %s, %s RAM, kernel %s; databases in %s (%s)\n",
              sysconf(_SC_NPROCESSORS_ONLN), cpu, mem, kern, g_dir, fs);
    sb_printf(&b, "- digby: %s, built from %s\n", engines[E_DIGBY]->version(), git[0] ? git : "?");
    if (engines[E_DIGBY_ENC_OSSL]->version)
        sb_printf(&b, "- digby-enc-openssl's build of digby.h: %s\n", engines[E_DIGBY_ENC_OSSL]->version());
    engine_names(names, sizeof names, 1);
    sb_printf(&b, "- engines in this build: %s", names);
    if (engine_names(names, sizeof names, 0)) sb_printf(&b, "; not in this build: %s", names);
    sb_printf(&b, "\n");
    sb_printf(&b, "- packages (dpkg-query -W):\n\n%s\n", pkgs);
    sb_printf(&b, "    SQLite library %s, LMDB library %s\n", lib_version(E_SQLITE), lib_version(E_LMDB));
    sb_printf(&b, "\n## Settings\n\nEvery engine gets the same durability per workload: the batched fills, "
                  "overwrite and deleterandom use each engine's no-sync mode (commits reach the OS, not the disk); "
                  "fillsync makes every commit durable. Two comparisons:\n\n"
                  "- **Default options** (the defaults group: the first table): every engine as its library comes, "
                  "no cache size set. digby: a zeroed `digby_options` (plus the workload's sync mode), so "
                  "branch and leaf pages are read from a read-only map of the file and the OS page cache holds "
                  "them (the default 8 MiB `cache_bytes` bounds only freelist pages); digby cache "
                  "(DIGBY_OPEN_NO_MMAP): its default 8 MiB cache; the encrypted engines: the same 8 MiB cache "
                  "(an encrypted file is never mapped); LMDB: the OS page cache through its map (LMDB has no "
                  "cache of its own; its map size, 64 GiB, is address space the file may grow into, not a "
                  "cache); SQLite: its default page cache, `cache_size` -2000, i.e. 2000 KiB (about 2 MiB) per "
                  "connection; LevelDB: its default 8 MiB block cache (`Options::block_cache` NULL); RocksDB: "
                  "its default block cache (`BlockBasedTableOptions::block_cache` nullptr: 8 MiB in RocksDB "
                  "7.8, as its rocksdb/table.h says and its LOG shows; other versions may differ). Everything else stays as in the table "
                  "below (LevelDB's and RocksDB's bloom filters and compression off, SQLite's WAL journal, "
                  "RocksDB's increase_parallelism(2)), so that only the caches differ between the two "
                  "comparisons.\n"
                  "- **Equal cache** (every other group): each engine has a %zu MiB cache where it has one "
                  "(`CACHE_MB`), except in the supplementary bigcache group (8x, larger than the database), "
                  "run for digby's engines and LMDB only. digby and LMDB read from their maps whatever the "
                  "cache size; with N = 1,000,000 the file is about twice the cache.\n\n"
                  "Every digby workload runs four times, each in its own process and database, in the same "
                  "rotation as the others: digby (default options: reads from a map; its resident set grows "
                  "with the file, as LMDB's does), digby cache (DIGBY_OPEN_NO_MMAP: every page read through the "
                  "bounded cache, the default before 0.2), digby encrypted (AES-256-GCM on digby's default "
                  "backend, mbedTLS) and digby encrypted OpenSSL (the same on the OpenSSL backend, "
                  "DIGBY_CRYPTO_OPENSSL: digby.h compiled a second time in its own translation unit with "
                  "DIGBY_STATIC). Only digby is compared with the peers; the encrypted engines read through the "
                  "cache, so their ratios are to digby cache.\n\n"
                  "| engine | batched workloads | fillsync |\n|---|---|---|\n", g_cache_bytes >> 20);
    for (e = 0; e < NENGINES; e++)
        sb_printf(&b, "| %s | %s | %s |\n", engines[e]->title, engines[e]->settings_sync0, engines[e]->settings_sync1);
    sb_printf(&b, "\nCACHE = %zu MiB; in the defaults group, every setting given as CACHE above is not set. "
                  "Reads: each thread reads inside one read transaction / snapshot "
                  "(LMDB, digby: a read-only txn; SQLite: BEGIN ... COMMIT; LevelDB, RocksDB: default ReadOptions) "
                  "and copies each value into its own buffer. Gets check the value length; reads and scans check "
                  "how many keys they found (a wrong count is marked WRONG).\n", g_cache_bytes >> 20);
    sb_printf(&b, "\n## Workloads\n\nKeys are zero-padded decimal numbers; present keys are even numbers, "
                  "absent ones odd (so misses fall between present keys). Fixed seeds: every engine gets the same "
                  "keys and values. Values are random bytes (incompressible) unless stated.\n\n");
    for (i = 0; i < W_COUNT; i++) sb_printf(&b, "- **%s**: %s\n", wl_info[i].name, wl_info[i].desc);
    sb_printf(&b, "\nGroups (each a fresh database per engine, the workloads in this order): ");
    for (i = 0; i < NGROUPS; i++) {
        int k;
        sb_printf(&b, "%s%s [", i ? "; " : "", groups[i].name);
        for (k = 0; k < groups[i].nwl; k++) sb_printf(&b, "%s%s", k ? ", " : "", wl_info[groups[i].wl[k]].name);
        sb_printf(&b, "]");
    }
    sb_printf(&b, ".\n\nMethod: one process per (engine, group), driven through a pipe; for each workload the "
                  "engines run one after the other (the first engine rotates), so drift hits all alike. The clock "
                  "covers the operations and commits only (not open/close). After each workload, untimed, the "
                  "process waits until its background threads stop using CPU and calls sync(). A workload running "
                  "longer than %.0f s is stopped and marked partial.\n\n"
                  "Log mode (issue #11): the sync group adds fillsync4t (4 threads); the memtable group measures "
                  "digby-log's reads with its memtable full (memtable_bytes %zu MiB there, `MEMTABLE_MB`) and after a "
                  "checkpoint; the replay group times the replay of a full log (digby-log only); the big group runs "
                  "fillrandom and readrandom at N = %" PRIu64 " (`BIG_N`) for digby, digby-log, LMDB, LevelDB and "
                  "RocksDB, without a target. Write amplification is taken per write workload from /proc/self/io "
                  "(see its table).\n\n"
                  "Multi-process (issue #14): the mproc group loads N keys (fillrandom), then runs mproc: %d reader "
                  "processes doing readrandom (each get its own read transaction) while a writer process runs "
                  "overwrite, for %.0f s (`MPROC_SECONDS`) in 3 rounds interleaved with the other engines, each "
                  "process opening the database itself after the fork; digby, LMDB and SQLite (WAL) on their default options. Its throughput row is the readers' "
                  "gets/s summed; its own table has each process's figures and digby's ratios to each peer. A "
                  "process that fails says why and the engine's figures read n/a. Its write amplification is "
                  "not measured (the writes are the forked processes').\n", g_max_seconds, g_mem_group_bytes >> 20,
                  g_big_n, MPROC_READERS, g_mproc_secs);

    for (s = 0; s < NSHAPES; s++) {
        int any = 0;
        for (i = 0; i < W_COUNT; i++) any |= ran[s][i];
        if (!any) continue;
        sb_printf(&b, "\n## %s\n", shapes[s].label);
        table_throughput(&b, s);
        table_sizes(&b, s);
        table_rss(&b, s);
        table_wamp(&b, s);
        table_fillsync4t(&b, s);
        table_memtable(&b, s);
        table_replay(&b, s);
        table_mproc(&b, s);
        table_settle(&b, s);
    }
    table_issue13(&b);
    table_targets(&b);
    table_issue11(&b);
    {
        int any = 0, wl;
        for (s = 0; s < NSHAPES; s++)
            for (wl = 0; wl < W_COUNT; wl++)
                for (e = 0; e < NENGINES; e++) {
                    const result_t *r = &results[s][wl][e];
                    if (!ran[s][wl] || !r->msg[0] || r->status == 3) continue;
                    if (!any) sb_printf(&b, "\n## Errors and notes\n\n");
                    any = 1;
                    sb_printf(&b, "- %s, %s, %s: %s\n", shapes[s].label, wl_info[wl].name, engines[e]->title, r->msg);
                }
        if (!results[SH_EQUAL][W_FILLRANDOM][E_DIGBY].hwm_reset && ran[SH_EQUAL][W_FILLRANDOM])
            sb_printf(&b, "\nNote: /proc/self/clear_refs was not writable: peak RSS is cumulative per (engine, group).\n");
    }

    fputs("\n", stdout);
    fwrite(b.buf, 1, b.len, stdout);
    fflush(stdout);
    if (path) {
        FILE *f = fopen(path, "w");
        if (!f) { perror(path); }
        else { fwrite(b.buf, 1, b.len, f); fclose(f); fprintf(stderr, "wrote %s\n", path); }
    }
    free(b.buf);
}

