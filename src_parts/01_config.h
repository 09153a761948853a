/* Version numbers, DIGBY_API, and _POSIX_C_SOURCE for the implementation.

   The implementation uses POSIX calls (pread, fdatasync, ...): under a strict
   -std=c99 they are declared only with _POSIX_C_SOURCE, which must be set
   before the first system header.  When digby.h is the first include of the
   implementation file this does it; otherwise compile that file with
   -D_POSIX_C_SOURCE=200809L (or -std=gnu99). */
#if defined(DIGBY_IMPLEMENTATION) && !defined(DIGBY_NO_POSIX) && !defined(_WIN32) && \
    !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <stddef.h>
#include <stdint.h>

#define DIGBY_VERSION_MAJOR 0
#define DIGBY_VERSION_MINOR 2
#define DIGBY_VERSION_PATCH 0
#define DIGBY_VERSION_STRING "0.2.0"

#ifndef DIGBY_API
#ifdef DIGBY_STATIC
#define DIGBY_API static
#else
#define DIGBY_API extern
#endif
#endif
