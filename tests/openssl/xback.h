/* tests/openssl/: the two crypto backends in one program (see main.c).
   mbed.c and ossl.c each compile digby's implementation (DIGBY_STATIC, so
   that the two stay apart), the second with DIGBY_CRYPTO_OPENSSL, and
   each exports the same few operations, written once in backend.h, as an
   xb_backend table.  main.c calls them and includes no implementation. */
#ifndef DIGBY_TEST_XBACK_H
#define DIGBY_TEST_XBACK_H

#include <stddef.h>
#include <stdint.h>

/* A user key: a raw key (key, key_bytes) or a passphrase (pass), and the
   cipher a new file gets (DIGBY_CIPHER_*). */
typedef struct xb_key {
    uint32_t cipher;
    const uint8_t *key;
    size_t key_bytes;
    const char *pass;
} xb_key;

/* Returned by verify when an item reads back wrong (no digby code). */
#define XB_MISMATCH (-1000)

typedef struct xb_backend {
    const char *name;
    const char *(*version)(void);
    const char *(*strerror)(int rc);
    /* Open (creating if need be) with k and commit round r's items: small
       values, an overflow value, a large key, an lz4-compressed value;
       then digby_check.  entropy_seed != 0: the options' entropy callback
       is a deterministic generator from that seed (det_entropy.h). */
    int (*write)(const char *path, const xb_key *k, int r, uint64_t entropy_seed);
    /* Open with k, read every item of rounds 0 .. r, digby_check, close:
       DIGBY_OK, the first error, or XB_MISMATCH. */
    int (*verify)(const char *path, const xb_key *k, int r);
    /* digby_change_passphrase from k to `to` (its pass or raw key). */
    int (*change_key)(const char *path, const xb_key *k, const xb_key *to);
    /* digby_rekey(cipher) (0: keep the cipher). */
    int (*rekey)(const char *path, const xb_key *k, uint32_t cipher);
    /* n bytes of the handle's random source seeded with det_entropy from
       seed (the backend's DRBG over a callback), for determinism checks. */
    int (*drbg_bytes)(uint64_t seed, uint8_t *out, size_t n);
} xb_backend;

extern const xb_backend xb_mbed, xb_ossl;

/* ossl.c: the OpenSSL backend's CTR_DRBG against OpenSSL's CTR-DRBG: 0
   when their outputs agree (see there). */
long xb_ossl_drbg_kat(void);

#endif
