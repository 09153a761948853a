/* Implementation prelude: system headers, portability and allocation macros.
   Only this part includes system headers, so that the other parts stay
   free of platform #ifdefs (OS-specific code lives in the 2x parts). */

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
/* mmap for memory-mapped reads, where the system has it (POSIX's own test;
   newlib on bare metal has the other headers but not this one) */
#if defined(_POSIX_MAPPED_FILES) && _POSIX_MAPPED_FILES > 0 && !defined(DIGBY_NO_MMAP)
#define DIGBY__POSIX_MMAP 1
#include <sys/mman.h>
#endif
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

/* The mutex and condition variable types of 26_threads.c, chosen where
   their header is included. */
#if defined(DIGBY_NO_THREADS)
#define DIGBY__MUTEX_T int
#define DIGBY__COND_T int
#elif defined(_WIN32)
#define DIGBY__MUTEX_T SRWLOCK
#define DIGBY__COND_T CONDITION_VARIABLE
#else
#include <pthread.h>
#include <sched.h>
#define DIGBY__MUTEX_T pthread_mutex_t
#define DIGBY__COND_T pthread_cond_t
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

/* lz4 compresses large keys and values (34_lz4.c); without it a file that
   holds a compressed item still opens, and reading that item is
   DIGBY_NOFEATURE. */
#ifndef DIGBY_NO_LZ4
#if defined(__has_include)
#if !__has_include(<lz4.h>)
#error "digby needs lz4.h: install Debian's liblz4-dev (and link -llz4), or define DIGBY_NO_LZ4"
#endif
#endif
#include <lz4.h>
#endif

/* The crypto backend: mbedTLS 2.28 or 3.x (link -lmbedcrypto), or with
   DIGBY_CRYPTO_OPENSSL OpenSSL 3's libcrypto (link -lcrypto).  Either gives
   AES-GCM, the random source and PBKDF2-HMAC-SHA-256 for encryption (only
   32_aead.c uses them) and the SHA-256 of large keys (36_sha256.c, which
   has a portable one under DIGBY_NO_CRYPTO). */
#if defined(DIGBY_CRYPTO_OPENSSL) && defined(DIGBY_NO_CRYPTO)
#error "digby: DIGBY_CRYPTO_OPENSSL and DIGBY_NO_CRYPTO contradict each other: define one"
#endif
#if defined(DIGBY_CRYPTO_OPENSSL)
#if defined(__has_include)
#if !__has_include(<openssl/evp.h>)
#error "digby with DIGBY_CRYPTO_OPENSSL needs OpenSSL (openssl/evp.h): install Debian's libssl-dev (and link -lcrypto), or leave the switch out for mbedTLS, or define DIGBY_NO_CRYPTO"
#endif
#endif
#include <openssl/opensslv.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#if !defined(OPENSSL_VERSION_MAJOR) || OPENSSL_VERSION_MAJOR < 3
#error "digby with DIGBY_CRYPTO_OPENSSL needs OpenSSL 3.0 or later (Debian: libssl-dev)"
#endif
#elif !defined(DIGBY_NO_CRYPTO)
#if defined(__has_include)
#if !__has_include(<mbedtls/gcm.h>)
#error "digby needs mbedTLS (mbedtls/gcm.h): install Debian's libmbedtls-dev (and link -lmbedcrypto), or define DIGBY_NO_CRYPTO"
#endif
#endif
#include <mbedtls/version.h>
#include <mbedtls/gcm.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/sha256.h>
#include <mbedtls/platform_util.h>
#if !defined(MBEDTLS_VERSION_NUMBER) || MBEDTLS_VERSION_NUMBER < 0x021C0000
#error "digby needs mbedTLS 2.28 or later (Debian: libmbedtls-dev), or define DIGBY_NO_CRYPTO"
#endif
#if MBEDTLS_VERSION_NUMBER >= 0x04000000
#error "digby supports mbedTLS 2.28 and 3.x (mbedTLS 4 moved these APIs to PSA); define DIGBY_NO_CRYPTO"
#endif
#endif

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

/* A hint for the few tiny functions on every page access (byte order,
   cell decoding): "inline" is C99 and C++. */
#define DIGBY__INLINE inline
#define DIGBY__MIN(a, b) ((a) < (b) ? (a) : (b))
#define DIGBY__MAX(a, b) ((a) > (b) ? (a) : (b))
