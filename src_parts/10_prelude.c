/* Implementation prelude: system headers, portability and allocation macros.
   Only this part includes system headers (STYLE.md section 1). */

#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <limits.h>

#if !defined(DIGBY_NO_POSIX)
#ifndef _WIN32
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#endif
#endif

#if !defined(DIGBY_NO_THREADS)
#include <pthread.h>
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
