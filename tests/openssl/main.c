/* tests/openssl/: files cross between the two crypto backends.

   mbed.c (mbedTLS, the default) and ossl.c (DIGBY_CRYPTO_OPENSSL) each
   compile digby's implementation, DIGBY_STATIC, into this one program;
   this file runs the same operations (backend.h) on either side:

   - a file written under one backend opens, reads and passes digby_check
     under the other, which then commits to it and the first reads that
     back: both directions, AES-128 and AES-256, raw key and passphrase
     (small, overflow, large-key and lz4-compressed items: the large key's
     SHA-256 comes from each backend too);
   - digby_change_passphrase (raw key <-> passphrase) under one backend,
     the file read under the other with the new key (the old one is
     DIGBY_WRONGKEY), changed back there;
   - digby_rekey (with a cipher change, and without) under one, read and
     written under the other;
   - the OpenSSL build with an entropy callback: its own CTR_DRBG
     (32_aead.c) gives the same bytes for the same callback bytes, other
     bytes for others, the bytes of OpenSSL's own CTR-DRBG (AES-256, no
     derivation function) through instantiate, 10 000 generates and a
     reseed, and its files read under mbedTLS;
   - on the OpenSSL side, a byte flipped in any page in use is
     DIGBY_CORRUPT (never other data), a wrong raw key or passphrase is
     DIGBY_WRONGKEY.

   Built by its own Makefile rule (make test runs it with crypto). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "digby.h" /* constants only: every call goes through xb_mbed or xb_ossl */
#include "xback.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const uint8_t raw16[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t raw32[32] = {32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17,
                                  16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
static const uint8_t raw32b[32] = {7, 7, 7, 7, 7, 7, 7, 7, 9, 9, 9, 9, 9, 9, 9, 9,
                                   5, 5, 5, 5, 5, 5, 5, 5, 3, 3, 3, 3, 3, 3, 3, 3};

/* The four user keys of the matrix, and what each changes to. */
static const xb_key keys[4] = {
    {DIGBY_CIPHER_AES128_GCM, raw16, 16, NULL},
    {DIGBY_CIPHER_AES256_GCM, raw32, 32, NULL},
    {DIGBY_CIPHER_AES128_GCM, NULL, 0, "correct horse"},
    {DIGBY_CIPHER_AES256_GCM, NULL, 0, "battery staple"},
};
static const xb_key changed[4] = {
    {0, NULL, 0, "now a passphrase"},
    {0, NULL, 0, "another passphrase"},
    {0, raw32b, 32, NULL},
    {0, raw16, 16, NULL},
};
static const char *key_name[4] = {"AES-128 raw key", "AES-256 raw key",
                                  "AES-128 passphrase", "AES-256 passphrase"};

static const xb_backend *const sides[2][2] = {{&xb_mbed, &xb_ossl}, {&xb_ossl, &xb_mbed}};

#define ASSERT_XB(b, expr, want)                                                \
    do {                                                                        \
        int rc_ = (expr), want_ = (want);                                       \
        if (rc_ != want_) {                                                     \
            print_error("%s:%d: %s (%s)\n    returned %d (%s), expected %d\n",  \
                        __FILE__, __LINE__, #expr, (b)->name, rc_,              \
                        rc_ == XB_MISMATCH ? "items read back wrong"            \
                                           : (b)->strerror(rc_), want_);        \
            fail();                                                             \
        }                                                                       \
    } while (0)

static void make_path(char *buf, size_t n, const char *what)
{
    const char *dir = getenv("DIGBY_TEST_DIR");
    if (!dir || !*dir) dir = "/tmp";
    snprintf(buf, n, "%s/digby_openssl_%s_%ld.db", dir, what, (long)getpid());
    unlink(buf);
}

static void test_versions(void **state)
{
    (void)state;
    assert_non_null(strstr(xb_mbed.version(), " aes-gcm"));
    assert_null(strstr(xb_mbed.version(), "openssl"));
    assert_non_null(strstr(xb_ossl.version(), " aes-gcm(openssl)"));
}

/* Written by a, read by b; b commits, a reads both rounds. */
static void test_write_read(void **state)
{
    char path[512];
    int d, k;
    (void)state;
    make_path(path, sizeof(path), "rw");
    for (d = 0; d < 2; d++) {
        const xb_backend *a = sides[d][0], *b = sides[d][1];
        for (k = 0; k < 4; k++) {
            print_message("%s -> %s, %s\n", a->name, b->name, key_name[k]);
            unlink(path);
            ASSERT_XB(a, a->write(path, &keys[k], 0, 0), DIGBY_OK);
            ASSERT_XB(b, b->verify(path, &keys[k], 0), DIGBY_OK);
            ASSERT_XB(b, b->write(path, &keys[k], 1, 0), DIGBY_OK);
            ASSERT_XB(a, a->verify(path, &keys[k], 1), DIGBY_OK);
            ASSERT_XB(b, b->verify(path, &keys[k], 1), DIGBY_OK);
        }
    }
    unlink(path);
}

/* digby_change_passphrase under a, read under b, changed back under b. */
static void test_change_key(void **state)
{
    char path[512];
    int d, k;
    (void)state;
    make_path(path, sizeof(path), "ck");
    for (d = 0; d < 2; d++) {
        const xb_backend *a = sides[d][0], *b = sides[d][1];
        for (k = 0; k < 4; k++) {
            unlink(path);
            ASSERT_XB(a, a->write(path, &keys[k], 0, 0), DIGBY_OK);
            ASSERT_XB(a, a->change_key(path, &keys[k], &changed[k]), DIGBY_OK);
            ASSERT_XB(b, b->verify(path, &changed[k], 0), DIGBY_OK);
            ASSERT_XB(b, b->verify(path, &keys[k], 0), DIGBY_WRONGKEY);
            ASSERT_XB(b, b->change_key(path, &changed[k], &keys[k]), DIGBY_OK);
            ASSERT_XB(a, a->verify(path, &keys[k], 0), DIGBY_OK);
            ASSERT_XB(a, a->verify(path, &changed[k], 0), DIGBY_WRONGKEY);
        }
    }
    unlink(path);
}

/* digby_rekey under a (the other cipher), read and written under b, which
   rekeys again keeping the cipher; a reads it all. */
static void test_rekey(void **state)
{
    char path[512];
    int d, k;
    (void)state;
    make_path(path, sizeof(path), "rk");
    for (d = 0; d < 2; d++) {
        const xb_backend *a = sides[d][0], *b = sides[d][1];
        for (k = 0; k < 4; k++) {
            uint32_t other = keys[k].cipher == DIGBY_CIPHER_AES128_GCM ? DIGBY_CIPHER_AES256_GCM
                                                                        : DIGBY_CIPHER_AES128_GCM;
            unlink(path);
            ASSERT_XB(a, a->write(path, &keys[k], 0, 0), DIGBY_OK);
            ASSERT_XB(a, a->rekey(path, &keys[k], other), DIGBY_OK);
            ASSERT_XB(b, b->verify(path, &keys[k], 0), DIGBY_OK);
            ASSERT_XB(b, b->write(path, &keys[k], 1, 0), DIGBY_OK);
            ASSERT_XB(b, b->rekey(path, &keys[k], 0), DIGBY_OK);
            ASSERT_XB(a, a->verify(path, &keys[k], 1), DIGBY_OK);
        }
    }
    unlink(path);
}

/* The entropy callback: deterministic DRBG output on both sides, and an
   OpenSSL file made with it reads under mbedTLS. */
static void test_entropy_callback(void **state)
{
    uint8_t x[1500], y[1500], zero[1500];
    char path[512];
    int s;
    (void)state;
    memset(zero, 0, sizeof(zero));
    for (s = 0; s < 2; s++) {
        const xb_backend *b = sides[s][0];
        assert_int_equal(b->drbg_bytes(42, x, sizeof(x)), DIGBY_OK);
        assert_int_equal(b->drbg_bytes(42, y, sizeof(y)), DIGBY_OK);
        assert_memory_equal(x, y, sizeof(x));
        assert_memory_not_equal(x, zero, sizeof(x));
        assert_int_equal(b->drbg_bytes(43, y, sizeof(y)), DIGBY_OK);
        assert_memory_not_equal(x, y, sizeof(x));
    }
    assert_int_equal(xb_ossl_drbg_kat(), 0);
    make_path(path, sizeof(path), "ent");
    ASSERT_XB(&xb_ossl, xb_ossl.write(path, &keys[3], 0, 7), DIGBY_OK);
    ASSERT_XB(&xb_ossl, xb_ossl.write(path, &keys[3], 1, 8), DIGBY_OK);
    ASSERT_XB(&xb_mbed, xb_mbed.verify(path, &keys[3], 1), DIGBY_OK);
    unlink(path);
}

static int flip_byte(const char *path, long off)
{
    FILE *f = fopen(path, "r+b");
    int c;
    if (!f) return -1;
    if (fseek(f, off, SEEK_SET) != 0 || (c = fgetc(f)) == EOF || fseek(f, off, SEEK_SET) != 0 ||
        fputc(c ^ 0x20, f) == EOF) {
        fclose(f);
        return -1;
    }
    return fclose(f);
}

/* OpenSSL side: a flipped byte in any page but the meta pages reads as
   DIGBY_CORRUPT (in a page of an older commit still in use), makes open
   fall back to the commit before (in a page the newest commit wrote: the
   last round is then missing, DIGBY_NOTFOUND), or, in a free page,
   changes nothing; never other data.  Wrong keys are DIGBY_WRONGKEY. */
static void test_ossl_tamper(void **state)
{
    static const uint8_t wrong16[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17};
    const xb_key wrong_raw = {DIGBY_CIPHER_AES128_GCM, wrong16, 16, NULL};
    const xb_key wrong_pass = {DIGBY_CIPHER_AES128_GCM, NULL, 0, "correct horsE"};
    char path[512];
    FILE *f;
    long size, pg, pages, corrupt = 0, fellback = 0, unchanged = 0;
    int k;
    (void)state;
    make_path(path, sizeof(path), "tamper");
    for (k = 0; k < 4; k += 2) { /* raw key, passphrase: AES-128 */
        unlink(path);
        ASSERT_XB(&xb_ossl, xb_ossl.write(path, &keys[k], 0, 0), DIGBY_OK);
        ASSERT_XB(&xb_ossl, xb_ossl.verify(path, &wrong_raw, 0), DIGBY_WRONGKEY);
        ASSERT_XB(&xb_ossl, xb_ossl.verify(path, &wrong_pass, 0), DIGBY_WRONGKEY);
        ASSERT_XB(&xb_ossl, xb_ossl.write(path, &keys[k], 1, 0), DIGBY_OK);
        ASSERT_XB(&xb_ossl, xb_ossl.write(path, &keys[k], 2, 0), DIGBY_OK);
        ASSERT_XB(&xb_ossl, xb_ossl.verify(path, &keys[k], 2), DIGBY_OK);
    }
    /* the passphrase file: flip one byte in the middle of each page */
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    fclose(f);
    pages = size / 4096;
    assert_true(pages > 4);
    for (pg = 2; pg < pages; pg++) {
        int rc;
        assert_int_equal(flip_byte(path, pg * 4096 + 2048), 0);
        rc = xb_ossl.verify(path, &keys[2], 2);
        if (rc == DIGBY_CORRUPT) corrupt++;
        else if (rc == DIGBY_NOTFOUND) {
            ASSERT_XB(&xb_ossl, xb_ossl.verify(path, &keys[2], 1), DIGBY_OK);
            fellback++;
        } else if (rc == DIGBY_OK) unchanged++;
        else ASSERT_XB(&xb_ossl, rc, DIGBY_CORRUPT);
        assert_int_equal(flip_byte(path, pg * 4096 + 2048), 0);
    }
    print_message("byte flips (openssl): %ld pages, %ld DIGBY_CORRUPT, %ld fell back a "
                  "commit, %ld free\n", pages - 2, corrupt, fellback, unchanged);
    assert_true(corrupt > 0 && fellback > 0);
    ASSERT_XB(&xb_ossl, xb_ossl.verify(path, &keys[2], 2), DIGBY_OK);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_write_read),
        cmocka_unit_test(test_change_key),
        cmocka_unit_test(test_rekey),
        cmocka_unit_test(test_entropy_callback),
        cmocka_unit_test(test_ossl_tamper),
    };
    return cmocka_run_group_tests_name("openssl", tests, NULL, NULL);
}
