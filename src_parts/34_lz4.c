/* lz4 block compression of overflow chunks (FORMAT.md section 6b).  A
   compressed item is cut into chunks of DIGBY__CHUNK input
   bytes, each compressed on its own, so that reading a byte range
   decompresses only the chunks it touches.  A chunk that lz4 cannot make
   smaller is stored as it is.

   The compressor keeps its state in memory from the database's allocator
   (LZ4_compress_fast_extState), not on the stack.  Under DIGBY_NO_LZ4
   nothing compresses and decompressing is DIGBY_NOFEATURE. */

/* Bytes of the compressor's state (0 when there is no compressor). */
static size_t digby__lz4_state_bytes(void)
{
#ifndef DIGBY_NO_LZ4
    return (size_t)LZ4_sizeofState();
#else
    return 0;
#endif
}

/* Compress src[0, n) into dst, at most `cap` bytes.  Returns the compressed
   size, or 0 when it does not fit in cap (or there is no lz4). */
static size_t digby__lz4_compress(void *state, const uint8_t *src, size_t n,
                                  uint8_t *dst, size_t cap)
{
#ifndef DIGBY_NO_LZ4
    int r;
    if (n == 0 || n > DIGBY__CHUNK || cap == 0) return 0;
    if (cap > DIGBY__CHUNK) cap = DIGBY__CHUNK;
    r = LZ4_compress_fast_extState(state, (const char *)src, (char *)dst, (int)n,
                                   (int)cap, 1);
    return r > 0 ? (size_t)r : 0;
#else
    (void)state; (void)src; (void)n; (void)dst; (void)cap;
    return 0;
#endif
}

/* Decompress the n-byte lz4 block src into exactly `raw` bytes at dst.
   Returns DIGBY_OK, DIGBY_CORRUPT (not a block of that size) or
   DIGBY_NOFEATURE (built without lz4). */
static int digby__lz4_decompress(const uint8_t *src, size_t n, uint8_t *dst,
                                 size_t raw)
{
#ifndef DIGBY_NO_LZ4
    int r;
    if (n == 0 || n > DIGBY__CHUNK || raw > DIGBY__CHUNK) return DIGBY_CORRUPT;
    r = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)raw);
    return r >= 0 && (size_t)r == raw ? DIGBY_OK : DIGBY_CORRUPT;
#else
    (void)src; (void)n; (void)dst; (void)raw;
    return DIGBY_NOFEATURE;
#endif
}
