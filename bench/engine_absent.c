/* engine_absent.c -- the entry of a peer left out of this build (its header
 * not installed, or the peer not named in ENGINES).  bench/Makefile compiles
 * this file once per such peer, as build/absent_<peer>.o, with ABSENT_VAR
 * (e.g. engine_lmdb), ABSENT_NAME ("lmdb") and ABSENT_PKG ("liblmdb-dev");
 * also once for digby-enc-openssl when <openssl/evp.h> is not installed,
 * with ABSENT_PEER 0 (not a peer) and ABSENT_TITLE (and ABSENT_NO_CRYPTO when
 * the reason is DIGBY_NO_CRYPTO in CFLAGS).  The entry is listed but
 * never opened: its results read n/a.
 */
#include "bench.h"

#ifndef ABSENT_VAR
#error "bench/Makefile compiles engine_absent.c once per peer left out, with -DABSENT_VAR=..."
#endif

#ifndef ABSENT_PEER
#define ABSENT_PEER 1
#endif
#ifndef ABSENT_TITLE
#define ABSENT_TITLE ABSENT_NAME
#endif

#ifdef ABSENT_NO_CRYPTO
#define ABSENT_WHY "left out of this build (CFLAGS has DIGBY_NO_CRYPTO)"
#else
#define ABSENT_WHY "left out of this build (bench/Makefile ENGINES; needs " ABSENT_PKG ")"
#endif

const engine_t ABSENT_VAR = {
    .name = ABSENT_NAME, .title = ABSENT_TITLE, .peer = ABSENT_PEER,
    .missing = ABSENT_WHY, .settings_sync0 = ABSENT_WHY, .settings_sync1 = "-",
};
