/* engine_absent.c -- the entry of a peer left out of this build (its header
 * not installed, or the peer not named in ENGINES).  bench/Makefile compiles
 * this file once per such peer, as build/absent_<peer>.o, with ABSENT_VAR
 * (e.g. engine_lmdb), ABSENT_NAME ("lmdb") and ABSENT_PKG ("liblmdb-dev").
 * The entry is listed but never opened: its results read n/a.
 */
#include "bench.h"

#ifndef ABSENT_VAR
#error "bench/Makefile compiles engine_absent.c once per peer left out, with -DABSENT_VAR=..."
#endif

#define ABSENT_WHY "left out of this build (bench/Makefile ENGINES; needs " ABSENT_PKG ")"

const engine_t ABSENT_VAR = {
    .name = ABSENT_NAME, .title = ABSENT_NAME, .peer = 1,
    .missing = ABSENT_WHY, .settings_sync0 = ABSENT_WHY, .settings_sync1 = "-",
};
