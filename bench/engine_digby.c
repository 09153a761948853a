/* engine_digby.c -- the digby engines on digby's default build (mbedTLS for
 * encryption): digby (default options: branch and leaf pages read from a
 * map of the file), digby-cache (DIGBY_OPEN_NO_MMAP: every page read through
 * the bounded cache; not a peer) and digby-enc (AES-256-GCM; not a peer).
 * digby-log is digby in log mode (DIGBY_OPEN_LOG: write-ahead log, memtable,
 * checkpoints; issue #11).
 * Always built; it also compiles digby.h itself (DIGBY_IMPLEMENTATION).
 * digby-enc-openssl is engine_digby_openssl.c.
 */
#include "bench.h"

#define DIGBY_IMPLEMENTATION
#include "../digby.h"

#include "digby_adapter.h"

#ifndef DIGBY_NO_CRYPTO
#define DG_NO_ENC NULL
#else
#define DG_NO_ENC "built with DIGBY_NO_CRYPTO: no encryption"
#endif

const engine_t engine_digby =
    ENGINE_C("digby", "digby", 0, dg, DG_HAS_LZ4,
           "digby_options zeroed (page_size 4096, reads from a map of the file: the default), "
           "cache_bytes = CACHE (it then bounds only the freelist pages), flags DIGBY_OPEN_NO_SYNC" DG_LZ4_NOTE,
           "as batched, flags 0 (commit syncs)", dg_compact);
/* Not a peer: every digby workload once more, reading through the cache. */
const engine_t engine_digby_cache =
    ENGINE_O("digby-cache", "digby cache", 0, dgc_open, dg, DG_HAS_LZ4, NULL,
             "as digby, plus flags DIGBY_OPEN_NO_MMAP (the default before 0.2: every page read with pread "
             "into the bounded private cache, verified on every read from disk; no map, so the resident set "
             "stays bounded by the cache)",
             "as digby, plus DIGBY_OPEN_NO_MMAP");
/* Not a peer: every digby workload once more, encrypted (mbedTLS). */
const engine_t engine_digby_enc =
    ENGINE_O("digby-enc", "digby encrypted", 0, dge_open, dg, DG_HAS_LZ4, DG_NO_ENC,
             DG_ENC_NOTE "; digby's default AES-GCM backend, mbedTLS (-lmbedcrypto)",
             "as digby cache, plus the same key and cipher");
/* Not a peer yet: every digby workload once more in log mode (issue #11). */
const engine_t engine_digby_log =
    ENGINE_X("digby-log", "digby log", 0, dgl_open, dg, DG_HAS_LZ4, NULL,
             "as digby, plus flags DIGBY_OPEN_LOG (commits append to a write-ahead log in the file and "
             "go to a memtable of at most 64 MiB, merged into the tree by checkpoints; in the memtable "
             "group memtable_bytes is set to hold all N entries, see there)",
             "as digby, plus DIGBY_OPEN_LOG", dg_log_stats, dg_replay);
