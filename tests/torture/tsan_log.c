/* tests/threads.c in log mode, for ThreadSanitizer (tests/torture/tsan.mk):
   every open that passes no mode flag is in log mode (DIGBY_LOG_DEFAULT),
   so the four tests of threads.c run on the write-ahead log and the
   memtable, and THREADS_LOG adds test_log_writers_and_checkpoints: three
   committing threads (no-sync and durable commits; digby_checkpoint and
   digby_sync from two of them) with a 64 KiB memtable, so checkpoints run
   all the time, and two readers holding snapshots across them. */
#define DIGBY_LOG_DEFAULT
#define THREADS_LOG
/* the memtable's list is folded into its run past 16 nodes (the
   library's is 16,384), so that folds and readers of replaced views come
   often */
#define DIGBY__MEM_FOLD 16
#include "../threads.c"
