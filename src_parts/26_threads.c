/* Mutexes: pthreads, Win32 SRW locks, or none (DIGBY_NO_THREADS).

   Mutexes: pthreads; on Windows slim reader/writer locks, used exclusively
   (SRWLOCK: Vista or later, no destruction needed, and unlike a
   CRITICAL_SECTION not recursive, so a second read-write transaction begun
   on the same thread waits as on POSIX); nothing under DIGBY_NO_THREADS. */

#if defined(DIGBY_NO_THREADS)
static void digby__mutex_init(digby__mutex *m) { *m = 0; }
static void digby__mutex_destroy(digby__mutex *m) { (void)m; }
static void digby__mutex_lock(digby__mutex *m) { (void)m; }
static void digby__mutex_unlock(digby__mutex *m) { (void)m; }
#elif defined(_WIN32)
static void digby__mutex_init(digby__mutex *m) { InitializeSRWLock(m); }
static void digby__mutex_destroy(digby__mutex *m) { (void)m; }
static void digby__mutex_lock(digby__mutex *m) { AcquireSRWLockExclusive(m); }
static void digby__mutex_unlock(digby__mutex *m) { ReleaseSRWLockExclusive(m); }
#else
static void digby__mutex_init(digby__mutex *m) { pthread_mutex_init(m, NULL); }
static void digby__mutex_destroy(digby__mutex *m) { pthread_mutex_destroy(m); }
static void digby__mutex_lock(digby__mutex *m) { pthread_mutex_lock(m); }
static void digby__mutex_unlock(digby__mutex *m) { pthread_mutex_unlock(m); }
#endif
