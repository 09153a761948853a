/* Overflow pages (FORMAT.md "Overflow pages"): a value too large for a leaf
   lives in a chain of pages, each with the common header, the next page
   number (0 ends the chain) at offset 24 and value bytes from offset 32.
   Every page of a chain carries the txid of the transaction that wrote the
   value, which is the value's version stored in the leaf cell, so a stale or
   misdirected page is caught.

   The writer writes chains straight to the file rather than holding them
   as dirty pages: they are new pages no committed tree reaches, so memory
   stays bounded by one page whatever the value's size. */

static size_t digby__ovf_per_page(const digby_db *db)
{
    return db->usable - DIGBY__CHAIN_HDR;
}

static int digby__txn_io(digby_txn *txn)
{
    if (txn->io) return DIGBY_OK;
    txn->io = (uint8_t *)digby__malloc(&txn->db->alloc, txn->db->page_size);
    return txn->io ? DIGBY_OK : DIGBY_NOMEM;
}

static int digby__ovf_write(digby_txn *txn, const uint8_t *val, size_t vlen,
                            uint64_t *first)
{
    digby_db *db = txn->db;
    size_t per = digby__ovf_per_page(db), done = 0;
    uint64_t cur, next = 0;
    int rc = digby__txn_io(txn);
    if (rc) return rc;
    rc = digby__page_alloc(txn, &cur);
    if (rc) return rc;
    *first = cur;
    while (done < vlen) {
        size_t n = DIGBY__MIN(per, vlen - done);
        uint8_t *p = txn->io;
        next = 0;
        if (done + n < vlen) {
            rc = digby__page_alloc(txn, &next);
            if (rc) return rc;
        }
        memset(p, 0, DIGBY__CHAIN_HDR);
        p[0] = DIGBY__PAGE_OVERFLOW;
        digby__put64(p + 8, cur);
        digby__put64(p + 16, txn->txid);
        digby__put64(p + 24, next);
        memcpy(p + DIGBY__CHAIN_HDR, val + done, n);
        if (n < per) memset(p + DIGBY__CHAIN_HDR + n, 0, per - n);
        digby__page_seal(db, p);
        rc = db->vfs->write(db->file, cur * db->page_size, p, db->page_size);
        if (rc) return rc;
        done += n;
        cur = next;
    }
    return DIGBY_OK;
}

/* Walk a chain of `vlen` bytes written by `version`, checking each page;
   copy the bytes to out (if not NULL) and free the pages (if freeing). */
static int digby__ovf_walk(digby_txn *txn, uint64_t first, uint64_t version,
                           size_t vlen, uint8_t *out, int freeing)
{
    digby_db *db = txn->db;
    size_t per = digby__ovf_per_page(db), done = 0;
    uint64_t cur = first;
    int rc = digby__txn_io(txn);
    if (rc) return rc;
    while (done < vlen) {
        size_t n = DIGBY__MIN(per, vlen - done);
        uint64_t next;
        if (cur < 2 || cur >= txn->meta.page_count) return DIGBY__CORRUPT(db, cur);
        rc = digby__page_read_raw(db, cur, txn->io);
        if (rc) return rc;
        next = digby__get64(txn->io + 24);
        if (txn->io[0] != DIGBY__PAGE_OVERFLOW || digby__get64(txn->io + 16) != version ||
            (done + n < vlen) != (next != 0))
            return DIGBY__CORRUPT(db, cur);
        if (out) memcpy(out + done, txn->io + DIGBY__CHAIN_HDR, n);
        if (freeing) {
            /* A chain this transaction wrote is already in the file: its
               pages must not be written again before the commit's sync, or
               a crash that keeps the older write of a page (same txid, valid
               checksum) would pass open's verification with stale bytes.
               So they wait in the pending list like older pages. */
            if (version == txn->txid)
                rc = digby__u64s_push(&txn->db->alloc, &txn->freed, cur);
            else
                rc = digby__page_free(txn, cur, version);
            if (rc) return rc;
        }
        done += n;
        cur = next;
    }
    return DIGBY_OK;
}

static int digby__ovf_read(digby_txn *txn, uint64_t first, uint64_t version,
                           size_t vlen, uint8_t *out)
{
    return digby__ovf_walk(txn, first, version, vlen, out, 0);
}

static int digby__ovf_free(digby_txn *txn, uint64_t first, uint64_t version,
                           size_t vlen)
{
    return digby__ovf_walk(txn, first, version, vlen, NULL, 1);
}
