/* The crash sweep (tests/crash.c) with log mode as the default
   (DIGBY_LOG_DEFAULT): a power cut at every fourth write and sync (every
   one with DIGBY_TEST_CRASH_STEP=1, by hand; make torture's full power-cut
   sweeps of log mode are tests/torture/faults.c -g) of log
   appends, checkpoints (the memtable bound is the smallest, 64 KiB, so
   the workload checkpoints often), escalations to copy-on-write commits,
   replay at the reopens, and close; each resulting image (unsynced writes
   dropped, kept, torn, reordered) must open to exactly the last
   acknowledged commit or the one in flight, pass digby_check and take a
   new commit.  Checkpoints commit in parts (an escalation's spills its
   leaves) past 2 dirty pages (the library's floor is 16), so cuts land
   between parts and in spill writes.  Plain and AES-256-GCM. */
#define DIGBY_LOG_DEFAULT
#define CRASH_MEMTABLE_BYTES ((size_t)64 << 10)
#define CRASH_STEP_SCALE 4
#define DIGBY__CHECKPOINT_PAGES 2
/* the memtable's list is folded into its run past 16 nodes (the
   library's is 16,384), so that folds and readers of replaced views come
   often */
#define DIGBY__MEM_FOLD 16
#include "crash.c"
