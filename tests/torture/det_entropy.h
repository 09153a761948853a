/* Deterministic "entropy" for the torture programs (digby_options.entropy):
   a 64-bit LCG (Knuth's MMIX constants) whose state is *ctx, so that the
   nonces, keys and salts of an encrypted run repeat between runs and a
   failure reproduces.  Never for real use. */
#ifndef DIGBY_TORTURE_DET_ENTROPY_H
#define DIGBY_TORTURE_DET_ENTROPY_H

#include <stddef.h>
#include <stdint.h>

static int det_entropy(void *ctx, uint8_t *buf, size_t len)
{
    uint64_t *s = (uint64_t *)ctx;
    size_t i;
    for (i = 0; i < len; i++) {
        *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
        buf[i] = (uint8_t)(*s >> 56);
    }
    return 0;
}

#endif
