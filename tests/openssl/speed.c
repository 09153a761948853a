/* tests/openssl/speed.c -- a micro-measure, not a test: seal and open 4 KiB
   pages through the AEAD interface of 32_aead.c (digby__aead_lock/unlock,
   the nonce from digby__rng_fill as a page write draws it), AES-128-GCM
   and AES-256-GCM, and print MB/s (10^6 bytes of page per second).  Built
   once per backend by make aead-speed (with and without
   DIGBY_CRYPTO_OPENSSL); compare `openssl speed -evp aes-128-gcm -bytes
   4096`. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define DIGBY_IMPLEMENTATION
#include "digby.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define PAGE 4096
#define AD 41 /* a leaf page's associated data: uuid, type, pgno, txid */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
    static uint8_t key[32], page[PAGE + 8], ad[AD], mac[16], nonce[12];
    const double secs = 0.5;
    digby__rng *rng;
    unsigned kb;
    int rc = digby__rng_new(NULL, NULL, NULL, &rng);
    if (rc) return 1;
    memset(key, 0x5a, sizeof(key));
    memset(ad, 0xa5, sizeof(ad));
    printf("%s\n", digby_version());
    for (kb = 16; kb <= 32; kb += 16) {
        digby__aead *x;
        double t0, t, seal_mbs, open_mbs;
        unsigned long n, i;
        if (digby__aead_new(NULL, key, kb, &x)) return 1;
        /* seal: a nonce and one lock per page */
        for (n = 0, t0 = now(); (t = now()) - t0 < secs; n += 256)
            for (i = 0; i < 256; i++) {
                if (digby__rng_fill(rng, nonce, sizeof(nonce)) ||
                    digby__aead_lock(x, page, PAGE, mac, nonce, ad, AD))
                    return 1;
            }
        seal_mbs = (double)n * PAGE / (t - t0) / 1e6;
        /* open: the page sealed last, again and again (with the caller's
           move of the text DIGBY__AEAD_GAP bytes up, as digby__unseal_with
           does for mbedTLS: OpenSSL decrypts in place) */
        memmove(page + DIGBY__AEAD_GAP, page, PAGE);
        {
            static uint8_t sealed[PAGE + 8];
            memcpy(sealed, page, sizeof(sealed));
            for (n = 0, t0 = now(); (t = now()) - t0 < secs; n += 256)
                for (i = 0; i < 256; i++) {
                    memcpy(page + DIGBY__AEAD_GAP, sealed + DIGBY__AEAD_GAP, PAGE);
                    if (digby__aead_unlock(x, page, PAGE, mac, nonce, ad, AD)) return 1;
                }
        }
        open_mbs = (double)n * PAGE / (t - t0) / 1e6;
        printf("AES-%u-GCM, 4 KiB pages: seal %.0f MB/s, open %.0f MB/s\n", kb * 8, seal_mbs,
               open_mbs);
        digby__aead_free(NULL, x);
    }
    digby__rng_free(NULL, rng);
    return 0;
}
