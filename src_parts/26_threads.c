/* Mutexes: pthreads, or nothing under DIGBY_NO_THREADS. */

#if !defined(DIGBY_NO_THREADS)
static void digby__mutex_init(digby__mutex *m) { pthread_mutex_init(m, NULL); }
static void digby__mutex_destroy(digby__mutex *m) { pthread_mutex_destroy(m); }
static void digby__mutex_lock(digby__mutex *m) { pthread_mutex_lock(m); }
static void digby__mutex_unlock(digby__mutex *m) { pthread_mutex_unlock(m); }
#else
static void digby__mutex_init(digby__mutex *m) { *m = 0; }
static void digby__mutex_destroy(digby__mutex *m) { (void)m; }
static void digby__mutex_lock(digby__mutex *m) { (void)m; }
static void digby__mutex_unlock(digby__mutex *m) { (void)m; }
#endif
