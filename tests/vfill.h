/* tests/vfill.h -- vfill: the bytes of a value as a function of its seed
   and length, for the programs that keep a model of a database and compare
   values by (seed, length): tests/model.c, and tests/crash.c and
   tests/torture/faults.c through tests/crash_model.h.  Half the values (odd
   seeds) compress: each 8-byte word stands four times. */
#ifndef DIGBY_TESTS_VFILL_H
#define DIGBY_TESTS_VFILL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused))
#endif
static void vfill(unsigned char *b, size_t n, uint32_t seed)
{
    uint64_t w = ((uint64_t)seed << 32) ^ 0x9E3779B97F4A7C15ULL ^ (uint64_t)n, o = 0;
    size_t i = 0;
    int runs = seed & 1;
    while (i < n) {
        size_t k = n - i < 8 ? n - i : 8;
        if (!runs || (i & 31) == 0) {
            w = w * 6364136223846793005ULL + 1442695040888963407ULL;
            o = w ^ (w >> 29);
        }
        memcpy(b + i, &o, k);
        i += k;
    }
}

#endif /* DIGBY_TESTS_VFILL_H */
