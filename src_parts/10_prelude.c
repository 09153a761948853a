/* Implementation prelude: system headers, portability and allocation macros.
   Only this part includes system headers (STYLE.md section 1). */

#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <limits.h>

/* The operating system: POSIX, Win32 (Vista or later), or none at all
   (DIGBY_NO_POSIX: bare metal; with DIGBY_NO_THREADS nothing but the C
   library is used).  The parts 2x hold every use of it. */
#if !defined(DIGBY_NO_POSIX) && !defined(_WIN32)
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#endif

#if defined(_WIN32) && (!defined(DIGBY_NO_POSIX) || !defined(DIGBY_NO_THREADS))
#if defined(_WIN32_WINNT) && _WIN32_WINNT < 0x0600
#error "digby needs Windows Vista or later (_WIN32_WINNT >= 0x0600: SRW locks, SetFileInformationByHandle)"
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#endif

/* The mutex type of 26_threads.c, chosen where its header is included. */
#if defined(DIGBY_NO_THREADS)
#define DIGBY__MUTEX_T int
#elif defined(_WIN32)
#define DIGBY__MUTEX_T SRWLOCK
#else
#include <pthread.h>
#define DIGBY__MUTEX_T pthread_mutex_t
#endif

#if defined(__GLIBC__) && !defined(DIGBY_NO_POSIX) && !defined(__USE_XOPEN2K8)
#error "digby: POSIX declarations are hidden (strict -std=c99?): compile the file that defines DIGBY_IMPLEMENTATION with -D_POSIX_C_SOURCE=200809L, make digby.h its first include, or define DIGBY_NO_POSIX"
#endif

#if defined(__has_include)
#if !__has_include(<xxhash.h>)
#error "digby needs xxhash.h: install Debian's libxxhash-dev"
#endif
#endif
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#ifndef DIGBY_ASSERT
#include <assert.h>
#define DIGBY_ASSERT(x) assert(x)
#endif

#if defined(DIGBY_MALLOC) || defined(DIGBY_REALLOC) || defined(DIGBY_FREE)
#if !defined(DIGBY_MALLOC) || !defined(DIGBY_REALLOC) || !defined(DIGBY_FREE)
#error "define all of DIGBY_MALLOC, DIGBY_REALLOC and DIGBY_FREE, or none"
#endif
#else
#define DIGBY_MALLOC(sz) malloc(sz)
#define DIGBY_REALLOC(p, sz) realloc(p, sz)
#define DIGBY_FREE(p) free(p)
#endif

/* DIGBY__NEVER(x): true when x holds although it never should.  Asserts in
   DIGBY_DEBUG builds; in release builds the caller returns an error. */
#ifdef DIGBY_DEBUG
#define DIGBY__NEVER(x) ((x) ? (DIGBY_ASSERT(0), 1) : 0)
#else
#define DIGBY__NEVER(x) (x)
#endif

#define DIGBY__MIN(a, b) ((a) < (b) ? (a) : (b))
#define DIGBY__MAX(a, b) ((a) > (b) ? (a) : (b))
