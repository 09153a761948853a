/* engine_digby_openssl.c -- digby-enc-openssl: digby-enc's workloads on
 * digby's OpenSSL AES-GCM backend.  Only one backend fits in one
 * translation unit, so this file compiles digby.h a second time, every
 * function static (DIGBY_STATIC) and with DIGBY_CRYPTO_OPENSSL, beside
 * engine_digby.c's default (mbedTLS) build, as tests/openssl/ does.
 * bench/Makefile links it in (with -lcrypto, and -Wno-unused-function:
 * most of the static API goes unused here) when <openssl/evp.h> is
 * installed; otherwise engine_absent.c stands in for it.  Not a peer.
 */
#include "bench.h"

#define DIGBY_STATIC
#define DIGBY_CRYPTO_OPENSSL
#define DIGBY_IMPLEMENTATION
#include "../digby.h"

#include "digby_adapter.h"

const engine_t engine_digby_enc_openssl =
    ENGINE_O("digby-enc-openssl", "digby encrypted OpenSSL", 0, dge_open, dg, DG_HAS_LZ4, NULL,
             DG_ENC_NOTE "; digby's OpenSSL backend (DIGBY_CRYPTO_OPENSSL, EVP AES-GCM, -lcrypto), "
             "digby.h built a second time in its own translation unit with DIGBY_STATIC",
             "as digby cache, plus the same key and cipher (OpenSSL)");
