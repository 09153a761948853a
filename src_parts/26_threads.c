/* Mutexes, condition variables, yielding: pthreads, Win32, or none (DIGBY_NO_THREADS).

   Mutexes: pthreads; on Windows slim reader/writer locks, used exclusively
   (SRWLOCK: Vista or later, no destruction needed, and unlike a
   CRITICAL_SECTION not recursive, so a second read-write transaction begun
   on the same thread waits as on POSIX); nothing under DIGBY_NO_THREADS.
   Condition variables: pthreads, Win32 CONDITION_VARIABLE (with the SRW
   lock), nothing under DIGBY_NO_THREADS (one thread never waits for
   another).  digby__yield gives the processor to another runnable thread
   (a group commit's leader waiting for writers about to append). */

#if defined(DIGBY_NO_THREADS)
static void digby__mutex_init(digby__mutex *m) { *m = 0; }
static void digby__mutex_destroy(digby__mutex *m) { (void)m; }
static void digby__mutex_lock(digby__mutex *m) { (void)m; }
static void digby__mutex_unlock(digby__mutex *m) { (void)m; }
static int digby__mutex_trylock(digby__mutex *m) { (void)m; return 1; }
static void digby__cond_init(digby__cond *c) { *c = 0; }
static void digby__cond_destroy(digby__cond *c) { (void)c; }
#if DIGBY__HAVE_MEMTABLE /* the group commit's (66_log_mode.c) */
static void digby__yield(void) {}
static void digby__cond_wait(digby__cond *c, digby__mutex *m) { (void)c; (void)m; }
static void digby__cond_broadcast(digby__cond *c) { (void)c; }
#endif
#elif defined(_WIN32)
static void digby__mutex_init(digby__mutex *m) { InitializeSRWLock(m); }
static void digby__mutex_destroy(digby__mutex *m) { (void)m; }
static void digby__mutex_lock(digby__mutex *m) { AcquireSRWLockExclusive(m); }
static void digby__mutex_unlock(digby__mutex *m) { ReleaseSRWLockExclusive(m); }
static int digby__mutex_trylock(digby__mutex *m) { return TryAcquireSRWLockExclusive(m) != 0; }
static void digby__cond_init(digby__cond *c) { InitializeConditionVariable(c); }
static void digby__cond_destroy(digby__cond *c) { (void)c; }
#if DIGBY__HAVE_MEMTABLE
static void digby__yield(void) { (void)SwitchToThread(); }
static void digby__cond_wait(digby__cond *c, digby__mutex *m)
{
    (void)SleepConditionVariableSRW(c, m, INFINITE, 0);
}
static void digby__cond_broadcast(digby__cond *c) { WakeAllConditionVariable(c); }
#endif
#else
static void digby__mutex_init(digby__mutex *m) { pthread_mutex_init(m, NULL); }
static void digby__mutex_destroy(digby__mutex *m) { pthread_mutex_destroy(m); }
static void digby__mutex_lock(digby__mutex *m) { pthread_mutex_lock(m); }
static void digby__mutex_unlock(digby__mutex *m) { pthread_mutex_unlock(m); }
static int digby__mutex_trylock(digby__mutex *m) { return pthread_mutex_trylock(m) == 0; }
static void digby__cond_init(digby__cond *c) { pthread_cond_init(c, NULL); }
static void digby__cond_destroy(digby__cond *c) { pthread_cond_destroy(c); }
#if DIGBY__HAVE_MEMTABLE
static void digby__yield(void) { (void)sched_yield(); }
static void digby__cond_wait(digby__cond *c, digby__mutex *m) { pthread_cond_wait(c, m); }
static void digby__cond_broadcast(digby__cond *c) { pthread_cond_broadcast(c); }
#endif
#endif
