/* tests/torture/fuzz_tuple.c -- libFuzzer target: digby_tuple_unpack() on
   arbitrary bytes (issue #12).

   Input: the bytes to decode, nothing else.  Checks, any failure an abort
   (a crash to libFuzzer):
   - the measuring call (no items, no arena) returns DIGBY_OK (only the
     empty tuple), DIGBY_INVALID or DIGBY_TOOBIG, and the sizes it reports
     are what a second call with buffers of exactly those sizes (fresh heap
     blocks, so ASan sees any write past them) needs: it returns DIGBY_OK;
     one item or one arena byte fewer is DIGBY_TOOBIG;
   - DIGBY_INVALID from the measuring call is DIGBY_INVALID with buffers
     too (errors come before sizes);
   - a decoded tuple is canonical: digby_tuple_pack() gives back exactly the
     input bytes (digby accepts no alternative encodings: 05_tuple.h);
   - compare(t, t) == 0, and every proper prefix of its items sorts before
     it and packs to a byte prefix of the input.
   Build and run: make torture-fuzz (with the other targets); make test
   replays tests/torture/corpus/tuple/ once (slice-fuzz).
   -DFUZZ_REPLAY builds a main that replays input files. */
/* DIGBY_STATIC: the compiler drops every function the program does not
   reach (the whole database engine), so the build takes a quarter of the
   time (make test builds this program twice); the unused ones are no error
   here. */
#define DIGBY_STATIC
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "fuzz_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_tuple: %s:%d: check failed: %s\n",          \
                    __FILE__, __LINE__, #cond);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t count = 1, items_needed = 1, arena_needed = 1, c2 = 0, len = 0, k;
    digby_tuple_item *items;
    uint8_t *arena, *again;
    int rc;

    rc = digby_tuple_unpack(data, size, NULL, 0, &count, NULL, 0, &items_needed,
                            &arena_needed);
    if (rc == DIGBY_INVALID) {
        digby_tuple_item few[4];
        uint8_t ar[8];
        CHECK(count == 0 && items_needed == 0 && arena_needed == 0);
        CHECK(digby_tuple_unpack(data, size, few, 4, &count, ar, sizeof ar, NULL, NULL) ==
              DIGBY_INVALID);
        return 0;
    }
    CHECK(rc == DIGBY_TOOBIG || (rc == DIGBY_OK && size == 0));
    CHECK(count <= items_needed && items_needed <= size && arena_needed <= size);

    /* exact sizes; each block on its own so ASan sees a write past it */
    items = (digby_tuple_item *)malloc(items_needed ? items_needed * sizeof *items : 1);
    arena = (uint8_t *)malloc(arena_needed ? arena_needed : 1);
    again = (uint8_t *)malloc(size ? size : 1);
    CHECK(items && arena && again);
    if (items_needed)
        CHECK(digby_tuple_unpack(data, size, items, items_needed - 1, &c2, arena,
                                 arena_needed, NULL, NULL) == DIGBY_TOOBIG);
    if (arena_needed)
        CHECK(digby_tuple_unpack(data, size, items, items_needed, &c2, arena,
                                 arena_needed - 1, NULL, NULL) == DIGBY_TOOBIG);
    CHECK(digby_tuple_unpack(data, size, items, items_needed, &c2,
                             arena_needed ? arena : NULL, arena_needed, NULL, NULL) == DIGBY_OK);
    CHECK(c2 == count);

    /* canonical: packs back to the input, byte for byte */
    rc = digby_tuple_pack(items, count, again, size, &len);
    CHECK(rc == DIGBY_OK && len == size);
    CHECK(size == 0 || memcmp(again, data, size) == 0);

    CHECK(digby_tuple_compare(items, count, items, count) == 0);
    for (k = 0; k < count; k++) {
        size_t plen = 0;
        CHECK(digby_tuple_compare(items, k, items, count) < 0);
        CHECK(digby_tuple_compare(items, count, items, k) > 0);
        rc = digby_tuple_pack(items, k, again, size, &plen);
        CHECK(rc == DIGBY_OK && plen < size && memcmp(again, data, plen) == 0);
    }
    free(items);
    free(arena);
    free(again);
    return 0;
}

#ifdef FUZZ_REPLAY
FUZZ_REPLAY_MAIN("fuzz_tuple", "no failure")
#endif
