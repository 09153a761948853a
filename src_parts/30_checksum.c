/* Page integrity trailer (FORMAT.md "Trailer").  The last `trailer` bytes of
   every page protect the rest of it.  Today the trailer is a 4-byte
   xxhash32 of bytes [0, page_size - 4); an encrypted file will put a nonce
   and an AEAD tag there instead, so the tree code only ever sees the first
   db->usable bytes of a page.

   DIGBY_FUZZ_NO_CHECKSUM (tests only) skips verification so that a fuzzer's
   mutations reach the page parsers. */

static void digby__page_seal(const digby_db *db, uint8_t *page)
{
    uint32_t n = db->page_size - DIGBY__TRAILER_XXH32;
    digby__put32(page + n, (uint32_t)XXH32(page, n, DIGBY__XXH_SEED));
}

/* Check the trailer and that the page names itself `pgno`.
   Returns DIGBY_OK or DIGBY_CORRUPT. */
static int digby__page_verify(const digby_db *db, const uint8_t *page,
                              uint64_t pgno)
{
    uint32_t n = db->page_size - DIGBY__TRAILER_XXH32;
#ifndef DIGBY_FUZZ_NO_CHECKSUM
    if (digby__get32(page + n) != (uint32_t)XXH32(page, n, DIGBY__XXH_SEED))
        return DIGBY_CORRUPT;
#endif
    if (digby__get64(page + 8) != pgno) return DIGBY_CORRUPT;
    return DIGBY_OK;
}
