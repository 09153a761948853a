/* Sealing pages for writing (xxhash32 or AES-GCM) and verifying them on read.

   Page integrity trailer (FORMAT.md section 2).  The last `trailer` bytes of
   every page protect the rest of it, so the tree code only ever sees the
   first db->usable bytes of a page:

   - a plain file: a 4-byte xxhash32 of bytes [0, page_size - 4);
   - an encrypted file (FORMAT.md section 10): a fresh random 12-byte nonce
     and the 16-byte AES-GCM tag.  The type byte, the page number, the txid
     (and a meta page's key header) stay in clear; the rest of the usable
     bytes is encrypted.  The associated data binds the file UUID, the type,
     the page number and the writing txid, so a page moved, copied from
     another file or put back from an older version fails to open (the
     parent's record of the child's txid catches the last).

   DIGBY_FUZZ_NO_CHECKSUM (tests only) skips verification of plain pages so
   that a fuzzer's mutations reach the page parsers. */

static void digby__page_checksum(const digby_db *db, uint8_t *page)
{
    uint32_t n = db->page_size - DIGBY__TRAILER_XXH32;
    digby__put32(page + n, (uint32_t)XXH32(page, n, DIGBY__XXH_SEED));
}

/* End of the clear bytes of an encrypted page: the header, and on a meta
   page the key header as well. */
static size_t digby__clear_end(const uint8_t *page)
{
    return page[0] == DIGBY__PAGE_META ? DIGBY__M_CLEAR_END : DIGBY__HDR;
}

/* The associated data of an encrypted page: uuid, type byte, and the clear
   bytes [8, clear) (page number, txid, a meta page's key header). */
static size_t digby__page_ad(const uint8_t *uuid, const uint8_t *page, size_t clear,
                             uint8_t *ad)
{
    memcpy(ad, uuid, 16);
    ad[16] = page[0];
    memcpy(ad + 17, page + 8, clear - 8);
    return 17 + clear - 8;
}

/* Encrypt `page` (page_size bytes, usable ones meaningful) under key k into
   `out` (which may be `page`); the nonce must already be in
   out[usable .. usable + 12).  The encrypted bytes are [1, 8) and
   [clear, usable): they are gathered as one text at clear - 7. */
static int digby__seal_with(const digby_db *db, digby__dkey *k, const uint8_t *uuid,
                            const uint8_t *page, uint8_t *out, uint32_t page_size)
{
    size_t usable = page_size - DIGBY__TRAILER_AEAD, clear = digby__clear_end(page);
    uint8_t ad[DIGBY__M_CLEAR_END + 17 - 8], head[7];
    size_t adn = digby__page_ad(uuid, page, clear, ad);
    digby__aead *x;
    int rc = digby__dkey_take(db, k, &x);
    if (rc) return rc;
    memcpy(head, page + 1, 7);
    if (out != page) memcpy(out + clear, page + clear, usable - clear);
    memcpy(out + clear - 7, head, 7);
    rc = digby__aead_lock(x, out + clear - 7, usable - clear + 7,
                          out + usable + DIGBY__NONCE, out + usable, ad, adn);
    digby__dkey_give(db, k, x);
    memcpy(out + 1, out + clear - 7, 7);
    out[0] = ad[16];
    memcpy(out + 8, ad + 17, clear - 8);
    digby__wipe(head, sizeof(head));
    return rc;
}

/* Authenticate and decrypt an encrypted page image in place under key k.
   Returns DIGBY_OK or DIGBY_CORRUPT (the page is then garbage). */
static int digby__unseal_with(const digby_db *db, digby__dkey *k, const uint8_t *uuid,
                              uint8_t *page, uint32_t page_size)
{
    size_t usable = page_size - DIGBY__TRAILER_AEAD, clear = digby__clear_end(page);
    uint8_t ad[DIGBY__M_CLEAR_END + 17 - 8], trailer[DIGBY__TRAILER_AEAD];
    size_t adn = digby__page_ad(uuid, page, clear, ad);
    digby__aead *x;
    int rc = digby__dkey_take(db, k, &x);
    if (rc) return rc;
    /* the text -- bytes [1, 8), then [clear, usable) -- gathered
       DIGBY__AEAD_GAP bytes past where the plaintext goes (12_internal.h):
       with OpenSSL in place, by copying the 7 head bytes over [clear - 7,
       clear), which the associated data keeps; with mbedTLS the body moves
       8 bytes up too (over the trailer, kept here) */
    memcpy(trailer, page + usable, sizeof(trailer));
    if (DIGBY__AEAD_GAP) memmove(page + clear + DIGBY__AEAD_GAP, page + clear, usable - clear);
    memcpy(page + clear - 7 + DIGBY__AEAD_GAP, page + 1, 7);
    rc = digby__aead_unlock(x, page + clear - 7, usable - clear + 7,
                            trailer + DIGBY__NONCE, trailer, ad, adn);
    digby__dkey_give(db, k, x);
    if (rc) return rc == DIGBY_NOMEM ? rc : DIGBY_CORRUPT;
    memcpy(page + 1, page + clear - 7, 7);
    memcpy(page + 8, ad + 17, clear - 8);
    memcpy(page + usable, trailer, sizeof(trailer));
    return DIGBY_OK;
}

/* Seal `page` for writing into `out` (page_size bytes; may be `page`):
   checksum it, or encrypt it under the key writes use, counting the write.
   Returns DIGBY_OK, DIGBY_NOMEM, DIGBY_IOERR (the random source failed),
   DIGBY_BUSY (the data key has sealed DIGBY__KEY_WRITES_MAX pages and
   could not be rotated: see digby_rekey). */
static int digby__page_seal(const digby_db *db, uint8_t *page, uint8_t *out)
{
    digby__crypt *c = db->crypt;
    digby__dkey *k;
    int rc = DIGBY_OK;
    if (!c) {
        if (out != page) memcpy(out, page, db->usable);
        digby__page_checksum(db, out);
        return DIGBY_OK;
    }
    k = c->have_next ? &c->next : &c->cur;
    digby__mutex_lock(&c->mu);
    if (k->writes >= DIGBY__KEY_WRITES_MAX) rc = DIGBY_BUSY;
    else rc = digby__random_locked(db, out + db->usable, DIGBY__NONCE);
    if (rc == DIGBY_OK) k->writes++;
    digby__mutex_unlock(&c->mu);
    if (rc) return rc;
    return digby__seal_with(db, k, c->uuid, page, out, db->page_size);
}

/* Seal page in place and write it to page pgno. */
static int digby__page_write(digby_db *db, uint64_t pgno, uint8_t *page)
{
    int rc = digby__page_seal(db, page, page);
    if (rc) return rc;
    return db->vfs->write(db->file, pgno * db->page_size, page, db->page_size);
}

/* Check a plain page image in place (no copy, nothing changed: a page of
   the memory map): its page number and checksum.  DIGBY_OK or
   DIGBY_CORRUPT. */
static int digby__page_check_plain(const digby_db *db, const uint8_t *page, uint64_t pgno)
{
    uint32_t n = db->page_size - DIGBY__TRAILER_XXH32;
    if (digby__page_pgno(page) != pgno) return DIGBY_CORRUPT;
#ifndef DIGBY_FUZZ_NO_CHECKSUM
    if (digby__get32(page + n) != (uint32_t)XXH32(page, n, DIGBY__XXH_SEED))
        return DIGBY_CORRUPT;
#endif
    (void)n;
    return DIGBY_OK;
}

/* Check a page image read from page pgno, and that it names itself `pgno`;
   an encrypted one is decrypted in place.  Returns DIGBY_OK or
   DIGBY_CORRUPT (DIGBY_NOMEM when no AES context could be made). */
static int digby__page_verify(const digby_db *db, uint8_t *page, uint64_t pgno)
{
    if (db->crypt) {
        if (digby__page_pgno(page) != pgno) return DIGBY_CORRUPT;
        return digby__unseal_with(db, &db->crypt->cur, db->crypt->uuid, page, db->page_size);
    }
    return digby__page_check_plain(db, page, pgno);
}
