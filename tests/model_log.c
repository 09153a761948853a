/* The model test (tests/model.c) with log mode as the default
   (DIGBY_LOG_DEFAULT): commits append to the write-ahead log and go to the
   memtable, checkpoints merge it into the tree, reopens replay it, and every
   read merges memtable and tree; the same configurations (512 B to 64 KiB
   pages, lz4, AES, memory map, no-sync, memory VFS) and the same checks
   against the in-memory model; every other configuration with the
   smallest memtable (64 KiB), so that checkpoints are frequent, and
   every checkpoint committing in parts (or spilling leaves) past 2 dirty
   pages.  A fifth of model.c's ops at scale 1;
   `make torture` scales it as it scales model.c. */
#define DIGBY_LOG_DEFAULT
#define MODEL_BASE_OPS 200000.0
/* every other configuration checkpoints every 64 KiB of memtable */
#define MODEL_MEMTABLE_BYTES ((size_t)64 << 10)
/* checkpoints commit in parts, or spill their leaves, past 2 dirty pages
   (the library's floor is 16) */
#define DIGBY__CHECKPOINT_PAGES 2
/* the memtable's list is folded into its run at the end of every commit
   that left a node in it (the library waits for 16,384), so that folds,
   and snapshots reading replaced views, come as often as they can */
#define DIGBY__MEM_FOLD 1
#include "model.c"
