/* The OpenSSL half of tests/openssl/ (see main.c): DIGBY_CRYPTO_OPENSSL,
   DIGBY_STATIC, with the operations of backend.h. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define DIGBY_CRYPTO_OPENSSL
#define DIGBY_STATIC
#define DIGBY_IMPLEMENTATION
#include "digby.h"

#define XB_TABLE xb_ossl
#define XB_NAME "openssl"
#include "backend.h"

#include <openssl/core_names.h>
#include <openssl/params.h>

/* The CTR_DRBG over the entropy callback (32_aead.c) against OpenSSL's own
   "CTR-DRBG" (AES-256-CTR, no derivation function, the same
   personalisation string), seeded through the "TEST-RAND" parent with the
   same 48 bytes, which TEST-RAND hands out again for the reseed (so the
   callback here does too).  OpenSSL counts generates from 1, so its
   reseed_requests of 10001 is our DIGBY__DRBG_RESEED of 10000.  Compares
   10002 pools (504 bytes each), past the reseed: 0 when equal, the first
   pool that differs + 1, or -1 when something could not be set up. */
static int kat_entropy(void *ctx, uint8_t *buf, size_t len)
{
    uint64_t s = 42; /* the same bytes at every call */
    (void)ctx;
    return det_entropy(&s, buf, len);
}

long xb_ossl_drbg_kat(void)
{
    enum { POOL = 504, POOLS = DIGBY__DRBG_RESEED + 2 };
    uint8_t seed[DIGBY__DRBG_SEED];
    uint8_t *ours = (uint8_t *)malloc((size_t)POOL * POOLS);
    uint8_t *theirs = (uint8_t *)malloc((size_t)POOL * POOLS);
    EVP_RAND *tr = EVP_RAND_fetch(NULL, "TEST-RAND", NULL);
    EVP_RAND *cr = EVP_RAND_fetch(NULL, "CTR-DRBG", NULL);
    EVP_RAND_CTX *parent = NULL, *ctx = NULL;
    OSSL_PARAM p[4];
    unsigned int strength = 256, reseed = DIGBY__DRBG_RESEED + 1;
    int df = 0;
    long rc = -1, i;
    digby__rng *r = NULL;
    if (!ours || !theirs || !tr || !cr) goto out;
    if (digby__rng_new(NULL, kat_entropy, NULL, &r) ||
        digby__rng_fill(r, ours, (size_t)POOL * POOLS))
        goto out;
    kat_entropy(NULL, seed, sizeof(seed));
    parent = EVP_RAND_CTX_new(tr, NULL);
    p[0] = OSSL_PARAM_construct_uint(OSSL_RAND_PARAM_STRENGTH, &strength);
    p[1] = OSSL_PARAM_construct_octet_string(OSSL_RAND_PARAM_TEST_ENTROPY, seed, sizeof(seed));
    p[2] = OSSL_PARAM_construct_end();
    if (!parent || !EVP_RAND_instantiate(parent, 256, 0, NULL, 0, p)) goto out;
    ctx = EVP_RAND_CTX_new(cr, parent);
    p[0] = OSSL_PARAM_construct_utf8_string(OSSL_DRBG_PARAM_CIPHER, (char *)"AES-256-CTR", 0);
    p[1] = OSSL_PARAM_construct_int(OSSL_DRBG_PARAM_USE_DF, &df);
    p[2] = OSSL_PARAM_construct_uint(OSSL_DRBG_PARAM_RESEED_REQUESTS, &reseed);
    p[3] = OSSL_PARAM_construct_end();
    if (!ctx || !EVP_RAND_instantiate(ctx, 256, 0, (const unsigned char *)"digby CTR_DRBG", 14, p))
        goto out;
    for (i = 0; i < POOLS; i++)
        if (!EVP_RAND_generate(ctx, theirs + (size_t)POOL * i, POOL, 256, 0, NULL, 0)) goto out;
    rc = 0;
    for (i = 0; i < POOLS; i++)
        if (memcmp(ours + (size_t)POOL * i, theirs + (size_t)POOL * i, POOL) != 0) {
            rc = i + 1;
            break;
        }
out:
    digby__rng_free(NULL, r);
    EVP_RAND_CTX_free(ctx);
    EVP_RAND_CTX_free(parent);
    EVP_RAND_free(cr);
    EVP_RAND_free(tr);
    free(ours);
    free(theirs);
    return rc;
}
