/* The operations of xback.h over the digby implementation compiled in the
   including file, which defines XB_TABLE (the table's name) and XB_NAME
   first.  Included once each by mbed.c and ossl.c. */
#include "xback.h"
#include "../torture/det_entropy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XB_SMALL 40          /* small items per round */
#define XB_BIG_BYTES 10000   /* the overflow value */
#define XB_LKEY_BYTES 2500   /* the large key (hashed with SHA-256) */
#define XB_LZ4_BYTES 30000   /* the compressed value */

static void xb_opts(digby_options *o, const xb_key *k, uint64_t *seed)
{
    memset(o, 0, sizeof(*o));
    o->cipher = k->cipher;
    o->key = k->key;
    o->key_bytes = k->key_bytes;
    o->passphrase = k->pass;
    o->kdf_iterations = 1000; /* tests only */
    if (seed && *seed) {
        o->entropy = det_entropy;
        o->entropy_ctx = seed;
    }
}

/* The bytes of round r's items: big (overflow), the large key, lz4. */
static unsigned char xb_big(int r, size_t i) { return (unsigned char)(i * 31 + (size_t)r * 7 + i / 251); }
static void xb_lkey(unsigned char *k, int r)
{
    size_t i;
    for (i = 0; i < XB_LKEY_BYTES; i++) k[i] = (unsigned char)('a' + (i * 13 + (size_t)r) % 26);
}
static unsigned char xb_lz4(int r, size_t i) { return (unsigned char)("digby-openssl"[(i / 16 + (size_t)r) % 13]); }

static int xb_write(const char *path, const xb_key *k, int r, uint64_t entropy_seed)
{
    digby_options o;
    digby_db *db;
    digby_txn *w;
    unsigned char *big = (unsigned char *)malloc(XB_LZ4_BYTES), lkey[XB_LKEY_BYTES];
    char key[32], val[32];
    size_t i;
    int rc;
    if (!big) return DIGBY_NOMEM;
    xb_opts(&o, k, &entropy_seed);
    rc = digby_open(path, &o, &db);
    if (rc) { free(big); return rc; }
    rc = digby_txn_begin(db, 0, &w);
    for (i = 0; rc == DIGBY_OK && i < XB_SMALL; i++) {
        snprintf(key, sizeof(key), "k%d-%03u", r, (unsigned)i);
        snprintf(val, sizeof(val), "v%d-%u", r, (unsigned)(i * i));
        rc = digby_txn_put(w, NULL, key, strlen(key), val, strlen(val), 0);
    }
    if (rc == DIGBY_OK) {
        for (i = 0; i < XB_BIG_BYTES; i++) big[i] = xb_big(r, i);
        snprintf(key, sizeof(key), "big%d", r);
        rc = digby_txn_put(w, NULL, key, strlen(key), big, XB_BIG_BYTES, DIGBY_PUT_NO_COMPRESS);
    }
    if (rc == DIGBY_OK) {
        xb_lkey(lkey, r);
        rc = digby_txn_put(w, NULL, lkey, sizeof(lkey), &r, sizeof(r), 0);
    }
    if (rc == DIGBY_OK) {
        for (i = 0; i < XB_LZ4_BYTES; i++) big[i] = xb_lz4(r, i);
        snprintf(key, sizeof(key), "lz4-%d", r);
        rc = digby_txn_put(w, NULL, key, strlen(key), big, XB_LZ4_BYTES, DIGBY_PUT_COMPRESS);
    }
    if (rc == DIGBY_OK) rc = digby_txn_commit(w);
    else digby_txn_abort(w);
    if (rc == DIGBY_OK) rc = digby_check(db, NULL);
    free(big);
    if (rc == DIGBY_OK) return digby_close(db);
    digby_close(db);
    return rc;
}

/* key's value must be bytes long and equal gen(r, i) at every i:
   DIGBY_OK, XB_MISMATCH, or the get's error. */
static int xb_expect_gen(digby_txn *t, const char *key, size_t bytes,
                         unsigned char (*gen)(int, size_t), int r)
{
    const void *v;
    size_t vn, i;
    int rc = digby_txn_get(t, NULL, key, strlen(key), &v, &vn, NULL);
    if (rc) return rc;
    if (vn != bytes) return XB_MISMATCH;
    for (i = 0; i < vn; i++)
        if (((const unsigned char *)v)[i] != gen(r, i)) return XB_MISMATCH;
    return DIGBY_OK;
}

static int xb_verify_round(digby_txn *t, int r)
{
    const void *v;
    size_t vn, i;
    unsigned char lkey[XB_LKEY_BYTES];
    char key[32], val[32];
    int rc;
    for (i = 0; i < XB_SMALL; i++) {
        snprintf(key, sizeof(key), "k%d-%03u", r, (unsigned)i);
        snprintf(val, sizeof(val), "v%d-%u", r, (unsigned)(i * i));
        rc = digby_txn_get(t, NULL, key, strlen(key), &v, &vn, NULL);
        if (rc) return rc;
        if (vn != strlen(val) || memcmp(v, val, vn) != 0) return XB_MISMATCH;
    }
    snprintf(key, sizeof(key), "big%d", r);
    rc = xb_expect_gen(t, key, XB_BIG_BYTES, xb_big, r);
    if (rc) return rc;
    xb_lkey(lkey, r);
    rc = digby_txn_get(t, NULL, lkey, sizeof(lkey), &v, &vn, NULL);
    if (rc) return rc;
    if (vn != sizeof(r) || memcmp(v, &r, vn) != 0) return XB_MISMATCH;
    snprintf(key, sizeof(key), "lz4-%d", r);
    return xb_expect_gen(t, key, XB_LZ4_BYTES, xb_lz4, r);
}

static int xb_verify(const char *path, const xb_key *k, int r)
{
    digby_options o;
    digby_db *db;
    digby_txn *t;
    int rc, i;
    xb_opts(&o, k, NULL);
    rc = digby_open(path, &o, &db);
    if (rc) return rc;
    rc = digby_txn_begin(db, DIGBY_TXN_READONLY, &t);
    if (rc == DIGBY_OK) {
        for (i = 0; rc == DIGBY_OK && i <= r; i++) rc = xb_verify_round(t, i);
        digby_txn_abort(t);
    }
    if (rc == DIGBY_OK) rc = digby_check(db, NULL);
    digby_close(db);
    return rc;
}

static int xb_change_key(const char *path, const xb_key *k, const xb_key *to)
{
    digby_options o;
    digby_db *db;
    int rc;
    xb_opts(&o, k, NULL);
    rc = digby_open(path, &o, &db);
    if (rc) return rc;
    rc = digby_change_passphrase(db, to->pass, to->key, to->key_bytes);
    if (rc == DIGBY_OK) rc = digby_check(db, NULL);
    digby_close(db);
    return rc;
}

static int xb_rekey(const char *path, const xb_key *k, uint32_t cipher)
{
    digby_options o;
    digby_db *db;
    int rc;
    xb_opts(&o, k, NULL);
    rc = digby_open(path, &o, &db);
    if (rc) return rc;
    rc = digby_rekey(db, cipher);
    if (rc == DIGBY_OK) rc = digby_check(db, NULL);
    digby_close(db);
    return rc;
}

/* The random source itself (white box: the implementation is in this
   file), seeded through the entropy callback. */
static int xb_drbg_bytes(uint64_t seed, uint8_t *out, size_t n)
{
    digby_allocator a;
    digby__rng *r;
    int rc;
    memset(&a, 0, sizeof(a)); /* the default allocator */
    rc = digby__rng_new(&a, det_entropy, &seed, &r);
    if (rc) return rc;
    rc = digby__rng_fill(r, out, n);
    digby__rng_free(&a, r);
    return rc;
}

const xb_backend XB_TABLE = {XB_NAME, digby_version, digby_strerror, xb_write, xb_verify,
                             xb_change_key, xb_rekey, xb_drbg_bytes};
