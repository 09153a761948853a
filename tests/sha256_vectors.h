/* tests/sha256_vectors.h -- the short SHA-256 test vectors of FIPS 180-4
   (the empty message, "abc", the 56-byte two-block message), checked
   through digby__sha256_of: whichever implementation the build has
   (mbedTLS, or the portable one under DIGBY_NO_CRYPTO).  tests/large_items.c
   and tests/nolz4/main.c.

   Include it after digby.h (with the implementation) and cmocka.h. */
#ifndef DIGBY_TESTS_SHA256_VECTORS_H
#define DIGBY_TESTS_SHA256_VECTORS_H

#include <stdio.h>

/* The 32-byte hash h as 64 hex digits and a NUL. */
static void sha256_hex(const uint8_t *h, char *out)
{
    int i;
    for (i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", h[i]);
}

/* The hash in h must be want (hex). */
static void expect_sha256(const uint8_t *h, const char *want)
{
    char x[65];
    sha256_hex(h, x);
    assert_string_equal(x, want);
}

static void check_sha256_short_vectors(void)
{
    static const struct {
        const char *msg, *want;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    uint8_t h[32];
    size_t i;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        digby__sha256_of(v[i].msg, strlen(v[i].msg), h);
        expect_sha256(h, v[i].want);
    }
}

#endif /* DIGBY_TESTS_SHA256_VECTORS_H */
