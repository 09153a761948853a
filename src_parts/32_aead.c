/* AES-GCM, randomness and key derivation behind a small interface of our own.

   The cryptographic primitives, as a small interface of our own over one
   of two backends, so that nothing else sees a backend's type (FORMAT.md
   section 10 says how the pages use them): mbedTLS 2.28 or 3.x (the
   default, and the only one on bare metal), or OpenSSL 3's libcrypto with
   DIGBY_CRYPTO_OPENSSL.  Both compute the same functions, so that a file
   written under one opens under the other (tests/openssl/):

     digby__aead_lock/unlock  AES-GCM with a 12-byte nonce and a 16-byte tag
                              (Monocypher's crypto_aead_lock/unlock shape:
                              text, mac, nonce, associated data); the key
                              wrap of the key header uses it too
     digby__rng_*             mbedTLS: CTR_DRBG (NIST SP 800-90A) seeded
                              from the OS through mbedTLS's entropy
                              collector, or from the application's callback
                              (bare metal).  OpenSSL: RAND_bytes (OpenSSL's
                              own DRBG), or with the callback a CTR_DRBG of
                              our own over EVP AES-256-CTR seeded from it
     digby__pbkdf2            PBKDF2-HMAC-SHA-256 (RFC 8018)
     digby__hmac              HMAC-SHA-256 (RFC 2104)

   Every primitive follows the backend: an OpenSSL build needs no mbedTLS.

   An AES-GCM context is not safe for two threads at once, so each data key
   keeps a list of idle contexts (digby__dkey.spare) and a thread takes one
   for each page it seals or opens; the list grows to the number of threads
   that ever decrypted at the same moment.  Both backends allocate memory
   of their own outside digby's allocator hooks: mbedTLS a little
   (mbedtls_calloc), OpenSSL each EVP context and more inside its calls
   (OPENSSL_malloc; CRYPTO_set_mem_functions is the application's, global).

   Under DIGBY_NO_CRYPTO every function fails with DIGBY_NOFEATURE; open
   never gets that far, because it refuses encrypted files first. */

#if defined(DIGBY_CRYPTO_OPENSSL)

/* ---- OpenSSL 3 (libcrypto) -------------------------------------------------- */

struct digby__aead {
    EVP_CIPHER_CTX *evp;        /* AES-GCM, its key set once (digby__aead_new) */
    struct digby__aead *next;   /* in digby__dkey.spare */
};

/* A context for key[0 .. key_bytes) (16: AES-128, 32: AES-256).  The key
   schedule is made here, once; each lock or unlock then sets only the
   nonce (EVP_EncryptInit_ex with a NULL cipher and key keeps both).  The
   EVP context is OpenSSL's allocation (OPENSSL_malloc), freed by
   digby__aead_free.  DIGBY_NOMEM when OpenSSL cannot make it. */
static int digby__aead_new(const digby_allocator *a, const uint8_t *key,
                           size_t key_bytes, digby__aead **out)
{
    digby__aead *x = (digby__aead *)digby__malloc(a, sizeof(*x));
    const EVP_CIPHER *cipher = key_bytes == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
    *out = NULL;
    if (!x) return DIGBY_NOMEM;
    memset(x, 0, sizeof(*x));
    x->evp = EVP_CIPHER_CTX_new();
    if (!x->evp || EVP_EncryptInit_ex(x->evp, cipher, NULL, key, NULL) != 1) {
        EVP_CIPHER_CTX_free(x->evp);
        digby__free(a, x);
        return DIGBY_NOMEM;
    }
    *out = x;
    return DIGBY_OK;
}

static void digby__aead_free(const digby_allocator *a, digby__aead *x)
{
    if (!x) return;
    EVP_CIPHER_CTX_free(x->evp); /* cleanses the key schedule */
    digby__free(a, x);
}

/* Encrypt text[0 .. text_bytes) in place and write its tag to mac.
   DIGBY_IOERR if OpenSSL fails (or a length does not fit its int). */
static int digby__aead_lock(digby__aead *x, uint8_t *text, size_t text_bytes,
                            uint8_t mac[16], const uint8_t nonce[12],
                            const uint8_t *ad, size_t ad_bytes)
{
    int n;
    if (text_bytes > INT_MAX || ad_bytes > INT_MAX) return DIGBY_IOERR;
    if (EVP_EncryptInit_ex(x->evp, NULL, NULL, NULL, nonce) != 1 ||
        (ad_bytes && EVP_EncryptUpdate(x->evp, NULL, &n, ad, (int)ad_bytes) != 1) ||
        (text_bytes && EVP_EncryptUpdate(x->evp, text, &n, text, (int)text_bytes) != 1) ||
        EVP_EncryptFinal_ex(x->evp, text + text_bytes, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(x->evp, EVP_CTRL_GCM_GET_TAG, DIGBY__TAG, mac) != 1)
        return DIGBY_IOERR;
    return DIGBY_OK;
}

/* Check mac and decrypt text[0 .. text_bytes) in place (DIGBY__AEAD_GAP
   is 0 here: EVP allows an exact overlap, not a partial one).
   DIGBY_CORRUPT when the tag does not match (the text is then wiped). */
static int digby__aead_unlock(digby__aead *x, uint8_t *text, size_t text_bytes,
                              const uint8_t mac[16], const uint8_t nonce[12],
                              const uint8_t *ad, size_t ad_bytes)
{
    uint8_t tag[DIGBY__TAG];
    int n, ok;
    if (text_bytes > INT_MAX || ad_bytes > INT_MAX) return DIGBY_CORRUPT;
    memcpy(tag, mac, DIGBY__TAG); /* EVP_CIPHER_CTX_ctrl takes a void * */
    ok = EVP_DecryptInit_ex(x->evp, NULL, NULL, NULL, nonce) == 1 &&
         (!ad_bytes || EVP_DecryptUpdate(x->evp, NULL, &n, ad, (int)ad_bytes) == 1) &&
         (!text_bytes || EVP_DecryptUpdate(x->evp, text, &n, text, (int)text_bytes) == 1) &&
         EVP_CIPHER_CTX_ctrl(x->evp, EVP_CTRL_GCM_SET_TAG, DIGBY__TAG, tag) == 1 &&
         EVP_DecryptFinal_ex(x->evp, text + text_bytes, &n) == 1;
    if (!ok) {
        digby__wipe(text, text_bytes);
        return DIGBY_CORRUPT;
    }
    return DIGBY_OK;
}

/* The random source.  Without an entropy callback: RAND_bytes, OpenSSL's
   own DRBG (a CTR_DRBG, NIST SP 800-90A, seeded from the OS and reseeded
   by OpenSSL, also after fork).  With one: a CTR_DRBG of our own, because
   OpenSSL's DRBGs take their seed from a provider and not from a callback:
   SP 800-90A section 10.2.1 with AES-256 and no derivation function
   (seedlen 48 bytes of the callback, XORed with a personalisation string;
   reseeded with 48 more bytes every DIGBY__DRBG_RESEED requests, as
   mbedTLS's default).  Its block cipher is AES-256-CTR over EVP, whose
   128-bit big-endian counter is the V + 1, V + 2, ... of the standard.
   The same callback bytes give the same output, so the tests' runs with
   a fixed "entropy" (tests/torture/det_entropy.h) stay deterministic. */
#define DIGBY__DRBG_SEED 48          /* seedlen: key (32) + V (16) */
#define DIGBY__DRBG_RESEED 10000     /* requests between reseeds */

struct digby__rng {
    EVP_CIPHER_CTX *ctr;   /* AES-256-CTR, made with the callback; else NULL */
    int (*user)(void *, uint8_t *, size_t);
    void *user_ctx;
    uint8_t kv[DIGBY__DRBG_SEED]; /* the DRBG's Key (32 bytes) and V (16) */
    uint32_t requests;     /* since the last (re)seed */
    uint8_t pool[504];     /* random bytes drawn ahead: 42 nonces */
    size_t left;           /* unused bytes at the start of pool */
};

/* out[0 .. n) = AES-256 under Key of V + 1, V + 2, ... (n a multiple of 16;
   at most 560), then Update (SP 800-90A 10.2.1.2) with provided[0 .. 48):
   the next three blocks XOR provided become the new Key and V.  This is
   the Generate process when provided is all zero, and with n = 0 the
   Update of instantiate and reseed.  DIGBY_IOERR if OpenSSL fails. */
static int digby__drbg_update(digby__rng *r, uint8_t *out, size_t n,
                              const uint8_t provided[DIGBY__DRBG_SEED])
{
    uint8_t buf[560], iv[16];
    size_t i;
    int len, ok;
    DIGBY_ASSERT(n % 16 == 0 && n + DIGBY__DRBG_SEED <= sizeof(buf));
    memcpy(iv, r->kv + 32, 16);
    for (i = 16; i-- > 0;) /* V + 1, mod 2^128 */
        if (++iv[i] != 0) break;
    memset(buf, 0, n + DIGBY__DRBG_SEED);
    ok = EVP_EncryptInit_ex(r->ctr, EVP_aes_256_ctr(), NULL, r->kv, iv) == 1 &&
         EVP_EncryptUpdate(r->ctr, buf, &len, buf, (int)(n + DIGBY__DRBG_SEED)) == 1;
    if (ok) {
        if (n) memcpy(out, buf, n);
        for (i = 0; i < DIGBY__DRBG_SEED; i++) r->kv[i] = buf[n + i] ^ provided[i];
    }
    digby__wipe(buf, sizeof(buf));
    digby__wipe(iv, sizeof(iv));
    return ok ? DIGBY_OK : DIGBY_IOERR;
}

/* Instantiate (first == 1, after Key = 0, V = 0) or reseed from 48 bytes
   of the callback; the personalisation string only at instantiation. */
static int digby__drbg_seed(digby__rng *r, int first)
{
    static const char pers[] = "digby CTR_DRBG";
    uint8_t seed[DIGBY__DRBG_SEED];
    size_t i;
    int rc;
    if (r->user(r->user_ctx, seed, sizeof(seed)) != 0) {
        digby__wipe(seed, sizeof(seed));
        return DIGBY_IOERR;
    }
    if (first)
        for (i = 0; i < sizeof(pers) - 1; i++) seed[i] ^= (uint8_t)pers[i];
    rc = digby__drbg_update(r, NULL, 0, seed);
    digby__wipe(seed, sizeof(seed));
    r->requests = 0;
    return rc;
}

/* A random source: the callback's CTR_DRBG when entropy is given, else
   RAND_bytes.  The struct is digby's allocation, the AES-256-CTR context
   OpenSSL's.  DIGBY_NOMEM, or DIGBY_IOERR when the callback fails. */
static int digby__rng_new(const digby_allocator *a,
                          int (*entropy)(void *, uint8_t *, size_t), void *ctx,
                          digby__rng **out)
{
    digby__rng *r = (digby__rng *)digby__malloc(a, sizeof(*r));
    int rc;
    *out = NULL;
    if (!r) return DIGBY_NOMEM;
    memset(r, 0, sizeof(*r));
    r->user = entropy;
    r->user_ctx = ctx;
    if (entropy) {
        r->ctr = EVP_CIPHER_CTX_new();
        if (!r->ctr) {
            digby__rng_free(a, r);
            return DIGBY_NOMEM;
        }
        rc = digby__drbg_seed(r, 1);
        if (rc) {
            digby__rng_free(a, r);
            return rc;
        }
    }
    *out = r;
    return DIGBY_OK;
}

/* Fill the pool (digby__rng_fill hands it out): RAND_bytes, or the
   callback's DRBG, reseeded every DIGBY__DRBG_RESEED refills.
   DIGBY_IOERR if the source fails. */
static int digby__rng_refill(digby__rng *r)
{
    static const uint8_t zero[DIGBY__DRBG_SEED] = {0};
    uint8_t blocks[512]; /* the pool, rounded up to whole AES blocks */
    int rc = DIGBY_OK;
    if (!r->ctr) return RAND_bytes(r->pool, (int)sizeof(r->pool)) == 1 ? DIGBY_OK : DIGBY_IOERR;
    if (r->requests >= DIGBY__DRBG_RESEED) rc = digby__drbg_seed(r, 0);
    if (rc == DIGBY_OK) rc = digby__drbg_update(r, blocks, sizeof(blocks), zero);
    if (rc == DIGBY_OK) {
        r->requests++;
        memcpy(r->pool, blocks, sizeof(r->pool));
    }
    digby__wipe(blocks, sizeof(blocks));
    return rc;
}

static void digby__rng_free(const digby_allocator *a, digby__rng *r)
{
    if (!r) return;
    EVP_CIPHER_CTX_free(r->ctr);
    digby__wipe(r, sizeof(*r));
    digby__free(a, r);
}

/* PBKDF2-HMAC-SHA-256 with a 32-byte output (PKCS5_PBKDF2_HMAC).
   DIGBY_NOMEM if OpenSSL fails or a length does not fit its int. */
static int digby__pbkdf2(const char *pass, size_t pass_bytes, const uint8_t *salt,
                         size_t salt_bytes, uint32_t iterations, uint8_t out[32])
{
    if (pass_bytes > INT_MAX || salt_bytes > INT_MAX || iterations > INT_MAX)
        return DIGBY_NOMEM;
    if (PKCS5_PBKDF2_HMAC(pass, (int)pass_bytes, salt, (int)salt_bytes, (int)iterations,
                          EVP_sha256(), 32, out) != 1)
        return DIGBY_NOMEM;
    return DIGBY_OK;
}

/* HMAC-SHA-256 (OpenSSL's one-shot HMAC).  DIGBY_NOMEM if it fails. */
static int digby__hmac(const uint8_t *key, size_t key_bytes, const uint8_t *msg,
                       size_t msg_bytes, uint8_t out[32])
{
    unsigned int len = 0;
    if (key_bytes > INT_MAX ||
        !HMAC(EVP_sha256(), key, (int)key_bytes, msg, msg_bytes, out, &len) || len != 32)
        return DIGBY_NOMEM;
    return DIGBY_OK;
}

static void digby__wipe(void *p, size_t n)
{
    OPENSSL_cleanse(p, n);
}

#define DIGBY__FEATURE_CRYPTO " aes-gcm(openssl)"
#define DIGBY__HAVE_CRYPTO 1

#elif !defined(DIGBY_NO_CRYPTO)

/* ---- mbedTLS 2.28 or 3.x -------------------------------------------------------- */

struct digby__aead {
    mbedtls_gcm_context gcm;
    struct digby__aead *next;   /* in digby__dkey.spare */
};

/* A context for key[0 .. key_bytes) (16: AES-128, 32: AES-256). */
static int digby__aead_new(const digby_allocator *a, const uint8_t *key,
                           size_t key_bytes, digby__aead **out)
{
    digby__aead *x = (digby__aead *)digby__malloc(a, sizeof(*x));
    *out = NULL;
    if (!x) return DIGBY_NOMEM;
    memset(x, 0, sizeof(*x));
    mbedtls_gcm_init(&x->gcm);
    if (mbedtls_gcm_setkey(&x->gcm, MBEDTLS_CIPHER_ID_AES, key,
                           (unsigned int)(key_bytes * 8)) != 0) {
        mbedtls_gcm_free(&x->gcm);
        digby__free(a, x);
        return DIGBY_NOMEM;
    }
    *out = x;
    return DIGBY_OK;
}

static void digby__aead_free(const digby_allocator *a, digby__aead *x)
{
    if (!x) return;
    mbedtls_gcm_free(&x->gcm); /* wipes the key schedule */
    digby__free(a, x);
}

/* Encrypt text[0 .. text_bytes) in place and write its tag to mac. */
static int digby__aead_lock(digby__aead *x, uint8_t *text, size_t text_bytes,
                            uint8_t mac[16], const uint8_t nonce[12],
                            const uint8_t *ad, size_t ad_bytes)
{
    if (mbedtls_gcm_crypt_and_tag(&x->gcm, MBEDTLS_GCM_ENCRYPT, text_bytes, nonce,
                                  DIGBY__NONCE, ad, ad_bytes, text, text, DIGBY__TAG,
                                  mac) != 0)
        return DIGBY_IOERR;
    return DIGBY_OK;
}

/* Check mac and decrypt.  mbedTLS documents decryption as safe only when
   the output trails the input by at least 8 bytes, so the ciphertext is
   read from text + DIGBY__AEAD_GAP (8) and the plaintext written to text:
   the caller puts the ciphertext there.  DIGBY_CORRUPT when the tag does
   not match (the text is then wiped). */
static int digby__aead_unlock(digby__aead *x, uint8_t *text, size_t text_bytes,
                              const uint8_t mac[16], const uint8_t nonce[12],
                              const uint8_t *ad, size_t ad_bytes)
{
    if (mbedtls_gcm_auth_decrypt(&x->gcm, text_bytes, nonce, DIGBY__NONCE, ad, ad_bytes,
                                 mac, DIGBY__TAG, text + DIGBY__AEAD_GAP, text) != 0)
        return DIGBY_CORRUPT;
    return DIGBY_OK;
}

struct digby__rng {
    mbedtls_ctr_drbg_context drbg;
    mbedtls_entropy_context entropy;
    int (*user)(void *, uint8_t *, size_t);
    void *user_ctx;
    uint8_t pool[504];   /* random bytes drawn ahead: 42 nonces */
    size_t left;         /* unused bytes at the start of pool */
};

static int digby__rng_user(void *p, unsigned char *buf, size_t n)
{
    digby__rng *r = (digby__rng *)p;
    return r->user(r->user_ctx, buf, n) ? MBEDTLS_ERR_ENTROPY_SOURCE_FAILED : 0;
}

static int digby__rng_new(const digby_allocator *a,
                          int (*entropy)(void *, uint8_t *, size_t), void *ctx,
                          digby__rng **out)
{
    static const char pers[] = "digby CTR_DRBG";
    digby__rng *r = (digby__rng *)digby__malloc(a, sizeof(*r));
    int rc;
    *out = NULL;
    if (!r) return DIGBY_NOMEM;
    memset(r, 0, sizeof(*r));
    mbedtls_ctr_drbg_init(&r->drbg);
    mbedtls_entropy_init(&r->entropy);
    r->user = entropy;
    r->user_ctx = ctx;
    if (entropy)
        rc = mbedtls_ctr_drbg_seed(&r->drbg, digby__rng_user, r,
                                   (const unsigned char *)pers, sizeof(pers) - 1);
    else
        rc = mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy,
                                   (const unsigned char *)pers, sizeof(pers) - 1);
    if (rc != 0) {
        digby__rng_free(a, r);
        return DIGBY_IOERR;
    }
    *out = r;
    return DIGBY_OK;
}

/* Fill the pool (digby__rng_fill hands it out) from the CTR_DRBG, one
   call for 42 nonces (each call re-keys its AES).  DIGBY_IOERR if it
   fails. */
static int digby__rng_refill(digby__rng *r)
{
    return mbedtls_ctr_drbg_random(&r->drbg, r->pool, sizeof(r->pool)) == 0 ? DIGBY_OK
                                                                            : DIGBY_IOERR;
}

static void digby__rng_free(const digby_allocator *a, digby__rng *r)
{
    if (!r) return;
    mbedtls_ctr_drbg_free(&r->drbg);
    mbedtls_entropy_free(&r->entropy);
    digby__wipe(r->pool, sizeof(r->pool));
    digby__free(a, r);
}

/* PBKDF2-HMAC-SHA-256 with a 32-byte output. */
static int digby__pbkdf2(const char *pass, size_t pass_bytes, const uint8_t *salt,
                         size_t salt_bytes, uint32_t iterations, uint8_t out[32])
{
    int rc;
#if MBEDTLS_VERSION_NUMBER >= 0x03030000
    rc = mbedtls_pkcs5_pbkdf2_hmac_ext(MBEDTLS_MD_SHA256, (const unsigned char *)pass,
                                       pass_bytes, salt, salt_bytes, iterations, 32, out);
#else
    mbedtls_md_context_t md;
    mbedtls_md_init(&md);
    rc = mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
    if (rc == 0)
        rc = mbedtls_pkcs5_pbkdf2_hmac(&md, (const unsigned char *)pass, pass_bytes, salt,
                                       salt_bytes, iterations, 32, out);
    mbedtls_md_free(&md);
#endif
    return rc == 0 ? DIGBY_OK : DIGBY_NOMEM;
}

static int digby__hmac(const uint8_t *key, size_t key_bytes, const uint8_t *msg,
                       size_t msg_bytes, uint8_t out[32])
{
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (!md || mbedtls_md_hmac(md, key, key_bytes, msg, msg_bytes, out) != 0)
        return DIGBY_NOMEM;
    return DIGBY_OK;
}

static void digby__wipe(void *p, size_t n)
{
    mbedtls_platform_zeroize(p, n);
}

#define DIGBY__FEATURE_CRYPTO " aes-gcm"
#define DIGBY__HAVE_CRYPTO 1

#else /* DIGBY_NO_CRYPTO */

struct digby__aead { int unused; };
struct digby__rng { int unused; };

static int digby__aead_new(const digby_allocator *a, const uint8_t *key,
                           size_t key_bytes, digby__aead **out)
{
    (void)a; (void)key; (void)key_bytes;
    *out = NULL;
    return DIGBY_NOFEATURE;
}

static void digby__aead_free(const digby_allocator *a, digby__aead *x)
{
    (void)a; (void)x;
}

static int digby__aead_lock(digby__aead *x, uint8_t *text, size_t text_bytes,
                            uint8_t mac[16], const uint8_t nonce[12],
                            const uint8_t *ad, size_t ad_bytes)
{
    (void)x; (void)text; (void)text_bytes; (void)mac; (void)nonce; (void)ad; (void)ad_bytes;
    return DIGBY_NOFEATURE;
}

static int digby__aead_unlock(digby__aead *x, uint8_t *text, size_t text_bytes,
                              const uint8_t mac[16], const uint8_t nonce[12],
                              const uint8_t *ad, size_t ad_bytes)
{
    (void)x; (void)text; (void)text_bytes; (void)mac; (void)nonce; (void)ad; (void)ad_bytes;
    return DIGBY_NOFEATURE;
}

static int digby__rng_new(const digby_allocator *a,
                          int (*entropy)(void *, uint8_t *, size_t), void *ctx,
                          digby__rng **out)
{
    (void)a; (void)entropy; (void)ctx;
    *out = NULL;
    return DIGBY_NOFEATURE;
}

static int digby__rng_fill(digby__rng *r, uint8_t *buf, size_t n)
{
    (void)r; (void)buf; (void)n;
    return DIGBY_NOFEATURE;
}

static void digby__rng_free(const digby_allocator *a, digby__rng *r)
{
    (void)a; (void)r;
}

static int digby__pbkdf2(const char *pass, size_t pass_bytes, const uint8_t *salt,
                         size_t salt_bytes, uint32_t iterations, uint8_t out[32])
{
    (void)pass; (void)pass_bytes; (void)salt; (void)salt_bytes; (void)iterations; (void)out;
    return DIGBY_NOFEATURE;
}

static int digby__hmac(const uint8_t *key, size_t key_bytes, const uint8_t *msg,
                       size_t msg_bytes, uint8_t out[32])
{
    (void)key; (void)key_bytes; (void)msg; (void)msg_bytes; (void)out;
    return DIGBY_NOFEATURE;
}

static void digby__wipe(void *p, size_t n)
{
    volatile uint8_t *v = (volatile uint8_t *)p;
    while (n--) *v++ = 0;
}

#define DIGBY__FEATURE_CRYPTO ""
#define DIGBY__HAVE_CRYPTO 0

#endif /* DIGBY_NO_CRYPTO */

#if DIGBY__HAVE_CRYPTO
/* n random bytes.  Small requests come from a pool drawn ahead
   (digby__rng_refill, per backend), so that a page write does not pay for
   a call into the random source; bytes handed out are wiped from the pool.
   DIGBY_IOERR if the source fails. */
static int digby__rng_fill(digby__rng *r, uint8_t *buf, size_t n)
{
    while (n) {
        size_t k;
        if (r->left == 0) {
            int rc = digby__rng_refill(r);
            if (rc) return rc;
            r->left = sizeof(r->pool);
        }
        k = DIGBY__MIN(n, r->left);
        r->left -= k;
        memcpy(buf, r->pool + r->left, k);
        digby__wipe(r->pool + r->left, k); /* never handed out twice */
        buf += k;
        n -= k;
    }
    return DIGBY_OK;
}
#endif

/* ---- The handle's random source --------------------------------------------- */

/* n random bytes from the handle's DRBG, seeded at the first call (a
   handle that never writes never pays for it).  Caller holds crypt->mu. */
static int digby__random_locked(const digby_db *db, uint8_t *buf, size_t n)
{
    digby__crypt *c = db->crypt;
    if (!c->rng) {
        int rc;
        if (!c->writable) return DIGBY_READONLY;
        rc = digby__rng_new(&db->alloc, c->entropy, c->entropy_ctx, &c->rng);
        if (rc) return rc;
    }
    return digby__rng_fill(c->rng, buf, n);
}

static int digby__random(const digby_db *db, uint8_t *buf, size_t n)
{
    int rc;
    digby__mutex_lock(&db->crypt->mu);
    rc = digby__random_locked(db, buf, n);
    digby__mutex_unlock(&db->crypt->mu);
    return rc;
}

/* ---- A data key's contexts -------------------------------------------------- */

/* Take an idle context for key k, or make one. */
static int digby__dkey_take(const digby_db *db, digby__dkey *k, digby__aead **out)
{
    digby__crypt *c = db->crypt;
    digby__aead *x;
    uint8_t key[32];
    size_t key_bytes;
    int rc;
    digby__mutex_lock(&c->mu);
    x = k->spare;
#ifndef DIGBY_NO_CRYPTO
    if (x) k->spare = x->next;
#endif
    key_bytes = k->cipher == DIGBY_CIPHER_AES128_GCM ? 16 : 32;
    if (!x) memcpy(key, k->key, key_bytes);
    digby__mutex_unlock(&c->mu);
    if (x) { *out = x; return DIGBY_OK; }
    rc = digby__aead_new(&db->alloc, key, key_bytes, out);
    digby__wipe(key, sizeof(key));
    return rc;
}

static void digby__dkey_give(const digby_db *db, digby__dkey *k, digby__aead *x)
{
    digby__crypt *c = db->crypt;
#ifndef DIGBY_NO_CRYPTO
    digby__mutex_lock(&c->mu);
    x->next = k->spare;
    k->spare = x;
    digby__mutex_unlock(&c->mu);
#else
    (void)c; (void)k;
    digby__aead_free(&db->alloc, x);
#endif
}

/* Free k's contexts and wipe it. */
static void digby__dkey_clear(const digby_allocator *a, digby__dkey *k)
{
    digby__aead *x = k->spare, *next;
    for (; x; x = next) {
#ifndef DIGBY_NO_CRYPTO
        next = x->next;
#else
        next = NULL;
#endif
        digby__aead_free(a, x);
    }
    digby__wipe(k, sizeof(*k));
}
