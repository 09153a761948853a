/* SHA-256 (FIPS 180-4) of large keys: the crypto backend, or a portable one.

   SHA-256 (FIPS 180-4) of large keys (FORMAT.md section 6a): a large key
   is indexed in the tree by its first bytes and its hash, which makes
   equality cheap.  mbedTLS computes it (2.28 and 3.x), or OpenSSL's EVP
   under DIGBY_CRYPTO_OPENSSL; under DIGBY_NO_CRYPTO a small portable
   implementation does, so that files with large keys work in every build.
   An EVP digest context is allocated (by OpenSSL, outside digby's hooks)
   and these functions cannot fail, so when OpenSSL cannot make or start
   one, that hash is computed by the portable code instead: the same
   bytes.  Nothing outside this part sees a backend's type. */

#if !defined(DIGBY_NO_CRYPTO) && !defined(DIGBY_CRYPTO_OPENSSL)
#define DIGBY__SHA256_MBEDTLS 1
#endif

struct digby__sha256 {
#ifdef DIGBY__SHA256_MBEDTLS
    mbedtls_sha256_context m;
#else
#ifdef DIGBY_CRYPTO_OPENSSL
    EVP_MD_CTX *evp;     /* NULL: the portable code below hashes */
#endif
    uint32_t h[8];
    uint64_t bytes;      /* message bytes so far */
    uint8_t buf[64];     /* a partial block */
#endif
};

#ifdef DIGBY__SHA256_MBEDTLS

static void digby__sha256_init(digby__sha256 *s)
{
    mbedtls_sha256_init(&s->m);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    (void)mbedtls_sha256_starts(&s->m, 0);
#else
    (void)mbedtls_sha256_starts_ret(&s->m, 0);
#endif
}

static void digby__sha256_update(digby__sha256 *s, const void *p, size_t n)
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    (void)mbedtls_sha256_update(&s->m, (const unsigned char *)p, n);
#else
    (void)mbedtls_sha256_update_ret(&s->m, (const unsigned char *)p, n);
#endif
}

static void digby__sha256_final(digby__sha256 *s, uint8_t out[32])
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    (void)mbedtls_sha256_finish(&s->m, out);
#else
    (void)mbedtls_sha256_finish_ret(&s->m, out);
#endif
    mbedtls_sha256_free(&s->m);
}

#else /* portable (DIGBY_NO_CRYPTO), and OpenSSL's fallback */

static const uint32_t digby__sha256_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u,
    0x923f82a4u, 0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u,
    0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u,
    0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u,
    0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u,
    0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au,
    0x5b9cca4fu, 0x682e6ff3u, 0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u,
    0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u};

#define DIGBY__ROR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void digby__sha256_block(uint32_t *h, const uint8_t *p)
{
    uint32_t w[64], a, b, c, d, e, f, g, k, t1, t2;
    unsigned i;
    for (i = 0; i < 16; i++)
        w[i] = ((uint32_t)p[4 * i] << 24) | ((uint32_t)p[4 * i + 1] << 16) |
               ((uint32_t)p[4 * i + 2] << 8) | (uint32_t)p[4 * i + 3];
    for (i = 16; i < 64; i++) {
        uint32_t s0 = DIGBY__ROR32(w[i - 15], 7) ^ DIGBY__ROR32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = DIGBY__ROR32(w[i - 2], 17) ^ DIGBY__ROR32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; k = h[7];
    for (i = 0; i < 64; i++) {
        t1 = k + (DIGBY__ROR32(e, 6) ^ DIGBY__ROR32(e, 11) ^ DIGBY__ROR32(e, 25)) +
             ((e & f) ^ (~e & g)) + digby__sha256_k[i] + w[i];
        t2 = (DIGBY__ROR32(a, 2) ^ DIGBY__ROR32(a, 13) ^ DIGBY__ROR32(a, 22)) +
             ((a & b) ^ (a & c) ^ (b & c));
        k = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d;
    h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

static void digby__sha256p_init(digby__sha256 *s)
{
    static const uint32_t iv[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                   0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
    memcpy(s->h, iv, sizeof(iv));
    s->bytes = 0;
}

static void digby__sha256p_update(digby__sha256 *s, const void *data, size_t n)
{
    const uint8_t *p = (const uint8_t *)data;
    size_t fill = (size_t)(s->bytes & 63);
    s->bytes += n;
    if (fill) {
        size_t take = DIGBY__MIN(n, 64 - fill);
        memcpy(s->buf + fill, p, take);
        p += take;
        n -= take;
        if (fill + take < 64) return;
        digby__sha256_block(s->h, s->buf);
    }
    while (n >= 64) {
        digby__sha256_block(s->h, p);
        p += 64;
        n -= 64;
    }
    if (n) memcpy(s->buf, p, n);
}

static void digby__sha256p_final(digby__sha256 *s, uint8_t out[32])
{
    uint64_t bits = s->bytes * 8;
    size_t fill = (size_t)(s->bytes & 63);
    unsigned i;
    s->buf[fill++] = 0x80;
    if (fill > 56) {
        memset(s->buf + fill, 0, 64 - fill);
        digby__sha256_block(s->h, s->buf);
        fill = 0;
    }
    memset(s->buf + fill, 0, 56 - fill);
    for (i = 0; i < 8; i++) s->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    digby__sha256_block(s->h, s->buf);
    for (i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
}

#undef DIGBY__ROR32

/* The interface: OpenSSL's EVP SHA-256 where it can start one, else the
   portable code above (DIGBY_NO_CRYPTO: always). */
static void digby__sha256_init(digby__sha256 *s)
{
#ifdef DIGBY_CRYPTO_OPENSSL
    s->evp = EVP_MD_CTX_new();
    if (s->evp && EVP_DigestInit_ex(s->evp, EVP_sha256(), NULL) == 1) return;
    EVP_MD_CTX_free(s->evp);
    s->evp = NULL;
#endif
    digby__sha256p_init(s);
}

/* (EVP's SHA-256 update and final, once started, only hash: their results
   are not checked.) */
static void digby__sha256_update(digby__sha256 *s, const void *p, size_t n)
{
#ifdef DIGBY_CRYPTO_OPENSSL
    if (s->evp) { (void)EVP_DigestUpdate(s->evp, p, n); return; }
#endif
    digby__sha256p_update(s, p, n);
}

static void digby__sha256_final(digby__sha256 *s, uint8_t out[32])
{
#ifdef DIGBY_CRYPTO_OPENSSL
    if (s->evp) {
        (void)EVP_DigestFinal_ex(s->evp, out, NULL);
        EVP_MD_CTX_free(s->evp);
        s->evp = NULL;
        return;
    }
#endif
    digby__sha256p_final(s, out);
}

#endif /* DIGBY__SHA256_MBEDTLS */

/* SHA-256 of n bytes at p, in one call. */
static void digby__sha256_of(const void *p, size_t n, uint8_t out[32])
{
    digby__sha256 s;
    digby__sha256_init(&s);
    digby__sha256_update(&s, p, n);
    digby__sha256_final(&s, out);
}
