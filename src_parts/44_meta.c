/* Meta pages (FORMAT.md section 3): encoding, sealing, choosing one at open.

   Meta pages (FORMAT.md section 3).  Pages 0 and 1 hold the two meta
   pages; transaction t writes slot t % 2, so the other slot always holds the
   previous commit, intact, to fall back on. */

static void digby__tree_encode(const digby__tree *t, uint8_t *p)
{
    digby__put64(p, t->root);
    digby__put64(p + 8, t->root_txid);
    digby__put64(p + 16, t->entries);
    digby__put32(p + 24, t->depth);
    digby__put32(p + 28, t->flags);
}

static void digby__tree_decode(digby__tree *t, const uint8_t *p)
{
    t->root = digby__get64(p);
    t->root_txid = digby__get64(p + 8);
    t->entries = digby__get64(p + 16);
    t->depth = digby__get32(p + 24);
    t->flags = digby__get32(p + 28);
}

/* A tree descriptor read from disk must be self-consistent before use. */
static int digby__tree_sane(const digby__tree *t, uint64_t page_count,
                            uint64_t txid)
{
    if (t->flags != 0) return 0;
    if (t->root == 0) return t->depth == 0 && t->entries == 0;
    return t->root >= 2 && t->root < page_count && t->depth >= 1 &&
           t->depth <= DIGBY__MAX_DEPTH && t->root_txid <= txid;
}

/* Encode meta page m.  A plain file's page is sealed here (xxhash32); an
   encrypted file's page gets the key header of the key writes use and is
   sealed by digby__meta_seal (FORMAT.md 10.3). */
static void digby__meta_encode(const digby_db *db, const digby__meta *m,
                               uint8_t *page)
{
    const digby__crypt *c = db->crypt;
    const digby__dkey *k = c ? (c->have_next ? &c->next : &c->cur) : NULL;
    size_t base = c ? DIGBY__M_SHIFT : 0;
    memset(page, 0, db->page_size);
    page[0] = DIGBY__PAGE_META;
    digby__page_set_pgno(page, m->txid & 1);
    digby__page_set_txid(page, m->txid);
    memcpy(page + DIGBY__M_MAGIC, DIGBY__MAGIC, 8);
    digby__put32(page + DIGBY__M_VERSION, DIGBY__FORMAT_VERSION);
    digby__put32(page + DIGBY__M_PAGESIZE, db->page_size);
    digby__put32(page + DIGBY__M_INCOMPAT, (c ? DIGBY__INCOMPAT_ENCRYPTED : 0) |
                                               (m->log_head ? DIGBY__INCOMPAT_LOG : 0));
    digby__put32(page + DIGBY__M_COMPAT, 0);
    digby__put32(page + DIGBY__M_TRAILER, db->trailer);
    if (k) {
        memcpy(page + DIGBY__M_CIPHER, k->hdr, DIGBY__M_KHDR_BYTES);
        /* this page's own seal counts too */
        digby__put64(page + DIGBY__M_KEY_WRITES, k->writes + 1);
    }
    digby__put64(page + base + DIGBY__M_TXID, m->txid);
    digby__put64(page + base + DIGBY__M_PAGECOUNT, m->page_count);
    digby__tree_encode(&m->main, page + base + DIGBY__M_MAIN);
    digby__tree_encode(&m->catalog, page + base + DIGBY__M_CATALOG);
    digby__put64(page + base + DIGBY__M_FREEROOT, m->free_root);
    digby__put64(page + base + DIGBY__M_FREECOUNT, m->free_count);
    memcpy(page + base + DIGBY__M_UUID, m->uuid, 16);
    digby__put64(page + base + DIGBY__M_LOG_HEAD, m->log_head);
    digby__put64(page + base + DIGBY__M_LOG_LSN, m->log_lsn);
    digby__put64(page + base + DIGBY__M_LOG_NEXT, m->log_head ? m->log_next : 0);
    if (!c) digby__page_checksum(db, page);
}

/* Encode and seal meta page m into page. */
static int digby__meta_seal(const digby_db *db, const digby__meta *m, uint8_t *page)
{
    digby__meta_encode(db, m, page);
    return db->crypt ? digby__page_seal(db, page, page) : DIGBY_OK;
}

/* An encrypted meta page image: its flags and trailer size say so. */
static int digby__meta_is_encrypted(const uint8_t *page)
{
    return (digby__get32(page + DIGBY__M_INCOMPAT) & DIGBY__INCOMPAT_ENCRYPTED) &&
           digby__get32(page + DIGBY__M_TRAILER) == DIGBY__TRAILER_AEAD;
}

/* The fields of a verified meta page whose txid and later fields start
   `base` bytes further than in a plain page; checks them. */
static int digby__meta_fields(const uint8_t *page, uint32_t page_size, uint64_t slot,
                              size_t base, digby__meta *m)
{
    memset(m, 0, sizeof(*m));
    m->txid = digby__get64(page + base + DIGBY__M_TXID);
    m->page_count = digby__get64(page + base + DIGBY__M_PAGECOUNT);
    digby__tree_decode(&m->main, page + base + DIGBY__M_MAIN);
    digby__tree_decode(&m->catalog, page + base + DIGBY__M_CATALOG);
    m->free_root = digby__get64(page + base + DIGBY__M_FREEROOT);
    m->free_count = digby__get64(page + base + DIGBY__M_FREECOUNT);
    memcpy(m->uuid, page + base + DIGBY__M_UUID, 16);
    m->log_head = digby__get64(page + base + DIGBY__M_LOG_HEAD);
    m->log_lsn = digby__get64(page + base + DIGBY__M_LOG_LSN);
    m->log_next = digby__get64(page + base + DIGBY__M_LOG_NEXT);
    /* a hint for replay (FORMAT.md 11.1): one that cannot be is none */
    if (!m->log_head || m->log_next < 2 || m->log_next >= m->page_count) m->log_next = 0;
    if (base) m->key_writes = digby__get64(page + DIGBY__M_KEY_WRITES);
    /* the log flag and the head go together */
    if ((m->log_head != 0) != ((digby__get32(page + DIGBY__M_INCOMPAT) & DIGBY__INCOMPAT_LOG) != 0))
        return DIGBY_CORRUPT;
    if (m->txid != digby__page_txid(page) || (m->txid & 1) != slot ||
        m->page_count < 2 || m->page_count > UINT64_MAX / page_size ||
        !digby__tree_sane(&m->main, m->page_count, m->txid) ||
        !digby__tree_sane(&m->catalog, m->page_count, m->txid) ||
        (m->free_root != 0 && (m->free_root < 2 || m->free_root >= m->page_count)) ||
        (m->free_root == 0 && m->free_count != 0) ||
        m->free_count > m->page_count * 2 + 2 ||
        (m->log_head != 0 && (m->log_head < 2 || m->log_head >= m->page_count)) ||
        m->log_lsn > UINT64_MAX / 2)
        return DIGBY_CORRUPT;
    return DIGBY_OK;
}

/* Decode and check a plain meta page image of `page_size` bytes found in
   slot `slot`.  Returns DIGBY_OK, DIGBY_NOTDIGBY (no magic), DIGBY_VERSION
   (newer format or unknown incompatible feature), DIGBY_NOFEATURE (an
   encrypted page: digby__meta_unlock reads those), DIGBY_CORRUPT. */
static int digby__meta_decode(digby_db *db, const uint8_t *page,
                              uint32_t page_size, uint64_t slot,
                              digby__meta *m)
{
    uint32_t n = page_size - DIGBY__TRAILER_XXH32;
    if (memcmp(page + DIGBY__M_MAGIC, DIGBY__MAGIC, 8) != 0) return DIGBY_NOTDIGBY;
    if (digby__get32(page + DIGBY__M_PAGESIZE) != page_size) return DIGBY_CORRUPT;
#ifndef DIGBY_FUZZ_NO_CHECKSUM
    if (digby__get32(page + n) != (uint32_t)XXH32(page, n, DIGBY__XXH_SEED))
        return digby__meta_is_encrypted(page) ? DIGBY_NOFEATURE : DIGBY_CORRUPT;
#endif
    (void)n;
    if (page[0] != DIGBY__PAGE_META || digby__page_pgno(page) != slot)
        return DIGBY_CORRUPT;
    if (digby__get32(page + DIGBY__M_VERSION) == 0) return DIGBY_CORRUPT;
    if (digby__get32(page + DIGBY__M_VERSION) > DIGBY__FORMAT_VERSION ||
        (digby__get32(page + DIGBY__M_INCOMPAT) & ~DIGBY__INCOMPAT_LOG) != 0)
        return DIGBY_VERSION;
    if (digby__get32(page + DIGBY__M_TRAILER) != DIGBY__TRAILER_XXH32)
        return DIGBY_VERSION;
    (void)db;
    return digby__meta_fields(page, page_size, slot, 0, m);
}

/* ---- Encrypted meta pages (FORMAT.md 10.2 and 10.3) ----------------------- */

/* Offset of meta field `off` inside a key header (meta bytes [56, 184)). */
#define DIGBY__KH(off) ((off) - DIGBY__M_CIPHER)

/* From the user's key (c->ukey or c->upass), the key check value and the
   key-encryption key of key header hdr: HMAC-SHA-256 of a label, the UUID
   and the salt, keyed with the raw key or PBKDF2(passphrase, salt, iter).
   Returns DIGBY_OK, DIGBY_WRONGKEY (the header wants the other kind of key,
   or none was given), DIGBY_NOMEM. */
static int digby__user_keys(digby__crypt *c, const uint8_t *hdr, uint8_t kcv[16],
                            uint8_t kek[32])
{
    static const char check_label[16] = "digby key check";
    static const char wrap_label[16] = "digby key wrap";
    uint32_t kdf = digby__get32(hdr + DIGBY__KH(DIGBY__M_KDF));
    uint32_t iter = digby__get32(hdr + DIGBY__KH(DIGBY__M_KDF_ITER));
    const uint8_t *salt = hdr + DIGBY__KH(DIGBY__M_SALT);
    uint8_t msg[48], out[32];
    const uint8_t *base;
    size_t base_bytes;
    int rc;
    if (kdf == DIGBY__KDF_RAW) {
        if (!c->ukey) return DIGBY_WRONGKEY;
        base = c->ukey;
        base_bytes = c->ukey_bytes;
    } else {
        if (!c->upass) return DIGBY_WRONGKEY;
        /* both meta pages usually share salt and count: derive once */
        if (!c->have_kbase || c->kiter != iter || memcmp(c->ksalt, salt, 16) != 0) {
            rc = digby__pbkdf2(c->upass, strlen(c->upass), salt, 16, iter, c->kbase);
            if (rc) return rc;
            memcpy(c->ksalt, salt, 16);
            c->kiter = iter;
            c->have_kbase = 1;
        }
        base = c->kbase;
        base_bytes = 32;
    }
    memcpy(msg + 16, hdr + DIGBY__KH(DIGBY__M_KUUID), 16);
    memcpy(msg + 32, salt, 16);
    memcpy(msg, check_label, 16);
    rc = digby__hmac(base, base_bytes, msg, sizeof(msg), out);
    if (rc == DIGBY_OK) memcpy(kcv, out, 16);
    memcpy(msg, wrap_label, 16);
    if (rc == DIGBY_OK) rc = digby__hmac(base, base_bytes, msg, sizeof(msg), kek);
    digby__wipe(out, sizeof(out));
    return rc;
}

/* Wrap (lock) or unwrap the 32-byte data key in key header hdr under kek;
   the associated data is the header's bytes before the wrap nonce.
   Unwrap returns DIGBY_CORRUPT when the tag does not match. */
static int digby__key_wrap(const digby_db *db, const uint8_t kek[32], uint8_t *hdr,
                           uint8_t key[32], int unwrap)
{
    digby__aead *x;
    uint8_t buf[40];
    int rc = digby__aead_new(&db->alloc, kek, 32, &x);
    if (rc) return rc;
    if (unwrap) {
        memcpy(buf + DIGBY__AEAD_GAP, hdr + DIGBY__KH(DIGBY__M_WRAP_KEY), 32);
        rc = digby__aead_unlock(x, buf, 32, hdr + DIGBY__KH(DIGBY__M_WRAP_TAG),
                                hdr + DIGBY__KH(DIGBY__M_WRAP_NONCE), hdr,
                                DIGBY__KH(DIGBY__M_WRAP_NONCE));
        if (rc == DIGBY_OK) memcpy(key, buf, 32);
    } else {
        memcpy(hdr + DIGBY__KH(DIGBY__M_WRAP_KEY), key, 32);
        rc = digby__aead_lock(x, hdr + DIGBY__KH(DIGBY__M_WRAP_KEY), 32,
                              hdr + DIGBY__KH(DIGBY__M_WRAP_TAG),
                              hdr + DIGBY__KH(DIGBY__M_WRAP_NONCE), hdr,
                              DIGBY__KH(DIGBY__M_WRAP_NONCE));
    }
    digby__aead_free(&db->alloc, x);
    digby__wipe(buf, sizeof(buf));
    return rc;
}

/* Open an encrypted meta page image (in place) with the user's key: check
   the key check value before anything else, unwrap the data key into *k,
   authenticate and decrypt the page, decode it.  Returns DIGBY_OK,
   DIGBY_WRONGKEY, DIGBY_CORRUPT, DIGBY_VERSION (*trusted set when the
   page authenticated, so its txid may be believed), DIGBY_NOMEM. */
static int digby__meta_unlock(digby_db *db, uint8_t *page, uint32_t page_size,
                              uint64_t slot, digby__meta *m, digby__dkey *k,
                              int *trusted)
{
    digby__crypt *c = db->crypt;
    const uint8_t *hdr = page + DIGBY__M_CIPHER;
    uint8_t kcv[16];
    uint32_t cipher = digby__get32(page + DIGBY__M_CIPHER);
    uint32_t kdf = digby__get32(page + DIGBY__M_KDF);
    int rc;
    *trusted = 0;
    if (!c) return DIGBY_WRONGKEY; /* no key given */
    if (digby__get32(page + DIGBY__M_PAGESIZE) != page_size || page[0] != DIGBY__PAGE_META ||
        digby__page_pgno(page) != slot)
        return DIGBY_CORRUPT;
    if ((cipher != DIGBY_CIPHER_AES128_GCM && cipher != DIGBY_CIPHER_AES256_GCM) ||
        kdf > DIGBY__KDF_PBKDF2 ||
        (kdf == DIGBY__KDF_PBKDF2) != (digby__get32(page + DIGBY__M_KDF_ITER) != 0) ||
        digby__get32(page + DIGBY__M_KDF_ITER) > DIGBY__KDF_MAX_ITER)
        return DIGBY_VERSION; /* untrusted: a newer cipher, or damage */
    memset(k, 0, sizeof(*k));
    rc = digby__user_keys(c, hdr, kcv, k->kek);
    if (rc == DIGBY_OK && memcmp(kcv, hdr + DIGBY__KH(DIGBY__M_KCV), 16) != 0)
        rc = DIGBY_WRONGKEY;
    if (rc == DIGBY_OK) rc = digby__key_wrap(db, k->kek, page + DIGBY__M_CIPHER, k->key, 1);
    if (rc == DIGBY_OK) {
        k->cipher = cipher;
        memcpy(k->hdr, hdr, DIGBY__M_KHDR_BYTES);
        rc = digby__unseal_with(db, k, hdr + DIGBY__KH(DIGBY__M_KUUID), page, page_size);
    }
    if (rc == DIGBY_OK) {
        *trusted = 1;
        if (digby__get32(page + DIGBY__M_VERSION) == 0) rc = DIGBY_CORRUPT;
        else if (digby__get32(page + DIGBY__M_VERSION) > DIGBY__FORMAT_VERSION ||
                 (digby__get32(page + DIGBY__M_INCOMPAT) & ~DIGBY__INCOMPAT_KNOWN))
            rc = DIGBY_VERSION;
        else rc = digby__meta_fields(page, page_size, slot, DIGBY__M_SHIFT, m);
    }
    if (rc == DIGBY_OK && memcmp(m->uuid, hdr + DIGBY__KH(DIGBY__M_KUUID), 16) != 0)
        rc = DIGBY_CORRUPT;
    digby__wipe(kcv, sizeof(kcv));
    if (rc == DIGBY_OK) k->writes = m->key_writes;
    else digby__dkey_clear(&db->alloc, k);
    return rc;
}

/* One slot's image: a plain or an encrypted meta page.  A key given for a
   plain file is the wrong key.  *trusted: a DIGBY_VERSION result comes
   from an authenticated page. */
static int digby__meta_slot(digby_db *db, uint8_t *page, uint32_t page_size,
                            uint64_t slot, digby__meta *m, digby__dkey *k, int *trusted)
{
    int rc;
    *trusted = 0;
    if (memcmp(page + DIGBY__M_MAGIC, DIGBY__MAGIC, 8) != 0) return DIGBY_NOTDIGBY;
    if (DIGBY__HAVE_CRYPTO && digby__meta_is_encrypted(page)) {
        uint32_t n = page_size - DIGBY__TRAILER_XXH32;
        /* (a plain page whose flags a newer build set is checksummed) */
        if (digby__get32(page + n) != (uint32_t)XXH32(page, n, DIGBY__XXH_SEED))
            return digby__meta_unlock(db, page, page_size, slot, m, k, trusted);
    }
    rc = digby__meta_decode(db, page, page_size, slot, m);
    *trusted = rc == DIGBY_VERSION;
    if (rc == DIGBY_OK && db->crypt) rc = DIGBY_WRONGKEY;
    return rc;
}

static int digby__meta_write(digby_db *db, const digby__meta *m, uint8_t *buf)
{
    int rc = digby__meta_seal(db, m, buf);
    if (rc) return rc;
    return db->vfs->write(db->file, (m->txid & 1) * db->page_size, buf,
                          db->page_size);
}

/* Make up a file UUID from whatever varies between calls.  Not secret: it
   only has to differ between files (the encryption issue binds it into each
   page's associated data and will draw it from a real entropy source). */
static void digby__make_uuid(uint8_t *uuid, const void *salt)
{
    uint64_t a, b, seed = (uint64_t)(uintptr_t)salt ^ digby__os_seed();
    seed ^= (uint64_t)(uintptr_t)&seed;
    a = XXH64(&seed, sizeof(seed), 1);
    b = XXH64(&seed, sizeof(seed), 2);
    digby__put64(uuid, a);
    digby__put64(uuid + 8, b);
}

/* Create the two meta pages of a new, empty database. */
static int digby__meta_create(digby_db *db)
{
    digby__meta m;
    uint8_t *buf;
    int rc;
    memset(&m, 0, sizeof(m));
    m.page_count = 2;
    if (db->crypt) memcpy(m.uuid, db->crypt->uuid, 16); /* random */
    else digby__make_uuid(m.uuid, db);
    buf = (uint8_t *)digby__malloc(&db->alloc, 2 * (size_t)db->page_size);
    if (!buf) return DIGBY_NOMEM;
    m.txid = 0;
    rc = digby__meta_seal(db, &m, buf);
    m.txid = 1;
    if (rc == DIGBY_OK) rc = digby__meta_seal(db, &m, buf + db->page_size);
    if (rc == DIGBY_OK) rc = db->vfs->write(db->file, 0, buf, 2 * (size_t)db->page_size);
    if (rc == DIGBY_OK && !(db->flags & DIGBY_OPEN_NO_SYNC))
        rc = db->vfs->sync(db->file);
    digby__free(&db->alloc, buf);
    if (rc == DIGBY_OK) db->meta = m;
    return rc;
}

/* A file with no valid meta page that is all zeros, or that holds no more
   than the two meta pages its first sector announces, is a creation cut
   short before its first sync: nothing was ever committed in it, so it may
   be created afresh.  Returns 1 for such a file. */
static int digby__meta_unborn(digby_db *db, uint64_t file_bytes)
{
    uint8_t *buf;
    size_t got = 0, i;
    int unborn = 0;
    /* a meta page that verified and counts pages the file lacks belongs to
       a commit: the file was truncated, not born short */
    if (db->meta.txid > 1) return 0;
    if (file_bytes > 2 * (uint64_t)DIGBY__MAX_PAGE) return 0;
    buf = (uint8_t *)digby__malloc(&db->alloc, (size_t)file_bytes);
    if (!buf) return 0;
    if (db->vfs->read(db->file, 0, buf, (size_t)file_bytes, &got) == DIGBY_OK &&
        got == file_bytes) {
        for (i = 0; i < got && buf[i] == 0; i++) {}
        if (i == got) unborn = 1;
        else if (got >= DIGBY__MIN_PAGE &&
                 memcmp(buf + DIGBY__M_MAGIC, DIGBY__MAGIC, 8) == 0) {
            uint32_t ps = digby__get32(buf + DIGBY__M_PAGESIZE);
            unborn = ps >= DIGBY__MIN_PAGE && ps <= DIGBY__MAX_PAGE &&
                     (ps & (ps - 1)) == 0 && file_bytes <= 2 * (uint64_t)ps;
        }
    }
    digby__free(&db->alloc, buf);
    return unborn;
}

/* Read a page-sized image at offset; DIGBY_CORRUPT when short. */
static int digby__read_at(digby_db *db, uint64_t off, uint8_t *buf, uint32_t len)
{
    size_t got = 0;
    int rc = db->vfs->read(db->file, off, buf, len, &got);
    if (rc) return rc;
    return got == len ? DIGBY_OK : DIGBY_CORRUPT;
}

/* What the slots of a file showed, for the error when neither opens. */
typedef struct digby__seen {
    int magic, version, wrongkey, nofeature;
    uint64_t version_txid; /* newest txid among slots of a newer format */
} digby__seen;

/* Read slot `slot` (page size ps) into buf and decode it into *m and *k;
   note what it showed.  Returns 1 when it opened, 0 when not, or a
   negative error that ends the load (I/O, memory). */
static int digby__meta_try(digby_db *db, uint8_t *buf, uint32_t ps, uint64_t slot,
                           digby__meta *m, digby__dkey *k, digby__seen *seen)
{
    int rc, trusted;
    if (memcmp(buf + DIGBY__M_MAGIC, DIGBY__MAGIC, 8) == 0) seen->magic = 1;
    rc = digby__meta_slot(db, buf, ps, slot, m, k, &trusted);
    switch (rc) {
    case DIGBY_OK: return 1;
    case DIGBY_NOMEM: case DIGBY_IOERR: return rc;
    case DIGBY_WRONGKEY: seen->wrongkey = 1; break;
    case DIGBY_NOFEATURE: seen->nofeature = 1; break;
    case DIGBY_VERSION:
        seen->version = 1;
        if (trusted)
            seen->version_txid = DIGBY__MAX(seen->version_txid, digby__page_txid(buf));
        break;
    default: break;
    }
    return 0;
}

/* Open the previous commit instead of the newest (FORMAT.md section 3):
   its meta page, and in an encrypted file its data key. */
static void digby__meta_use_fallback(digby_db *db)
{
    db->discarded_txid = db->meta.txid;
    db->discarded_log_head = db->meta.log_head;
    db->discarded_log_lsn = db->meta.log_lsn;
    db->meta = db->fallback;
    db->have_fallback = 0;
    if (db->crypt && db->crypt->have_fb) {
        digby__dkey_clear(&db->alloc, &db->crypt->cur);
        db->crypt->cur = db->crypt->fb;
        memset(&db->crypt->fb, 0, sizeof(db->crypt->fb));
        db->crypt->have_fb = 0;
    }
}

/* What digby__meta_load found in the two slots so far. */
typedef struct digby__meta_scan {
    uint8_t *buf; size_t cap;  /* grows to the page size being tried */
    digby__meta cand[2];       /* each slot's meta page, where ok[slot] */
    digby__dkey keys[2];       /* ... and its data key (encrypted files) */
    int ok[2];
    uint32_t ps;               /* the page size a verified slot gave, or 0 */
    digby__seen seen;
} digby__meta_scan;

/* Read slot `slot` at offset `off` with page size `use` (when the file
   holds it) and try it.  A read that fails (not a short one) ends the
   load: taken for a slot that does not verify, it would open the older
   commit and lose the newer one.  Returns DIGBY_OK or a fatal error. */
static int digby__meta_scan_slot(digby_db *db, digby__meta_scan *sc, uint64_t file_bytes,
                                 int slot, uint64_t off, uint32_t use)
{
    int rc, fits = file_bytes >= off + use;
    /* no memory is no damage: never DIGBY_CORRUPT for it */
    if (fits && digby__reserve(&db->alloc, &sc->buf, &sc->cap, use) != DIGBY_OK)
        return DIGBY_NOMEM;
    rc = fits ? digby__read_at(db, off, sc->buf, use) : DIGBY_CORRUPT;
    if (rc == DIGBY_CORRUPT) return DIGBY_OK;
    if (rc) return rc;
    rc = digby__meta_try(db, sc->buf, use, (uint64_t)slot, &sc->cand[slot], &sc->keys[slot],
                         &sc->seen);
    if (rc < 0) return rc;
    if (rc == 1) { sc->ok[slot] = 1; sc->ps = use; }
    return DIGBY_OK;
}

/* Slot 0: its first DIGBY__MIN_PAGE bytes, whose page size field tells
   how much to read; then slot 1 at offset ps if slot 0 told it, else at
   every page size in turn. */
static int digby__meta_scan_slots(digby_db *db, digby__meta_scan *sc, uint64_t file_bytes)
{
    uint32_t try_ps;
    int rc = file_bytes >= DIGBY__MIN_PAGE ? digby__read_at(db, 0, sc->buf, DIGBY__MIN_PAGE)
                                           : DIGBY_CORRUPT;
    if (rc != DIGBY_OK && rc != DIGBY_CORRUPT) return rc;
    if (rc == DIGBY_OK && memcmp(sc->buf + DIGBY__M_MAGIC, DIGBY__MAGIC, 8) == 0) {
        sc->seen.magic = 1;
        try_ps = digby__get32(sc->buf + DIGBY__M_PAGESIZE);
        if (try_ps >= DIGBY__MIN_PAGE && try_ps <= DIGBY__MAX_PAGE &&
            (try_ps & (try_ps - 1)) == 0) {
            rc = digby__meta_scan_slot(db, sc, file_bytes, 0, 0, try_ps);
            if (rc) return rc;
        }
    }
    rc = DIGBY_OK; /* a short or unreadable slot 0 still leaves slot 1 */
    for (try_ps = DIGBY__MIN_PAGE; try_ps <= DIGBY__MAX_PAGE && rc == DIGBY_OK; try_ps *= 2) {
        uint32_t use = sc->ps ? sc->ps : try_ps;
        rc = digby__meta_scan_slot(db, sc, file_bytes, 1, use, use);
        if (sc->ps) break;
    }
    return rc;
}

/* The error when neither slot opened, from what the slots showed. */
static int digby__meta_none(const digby__seen *seen)
{
    if (seen->nofeature) return DIGBY_NOFEATURE;
    if (seen->wrongkey) return DIGBY_WRONGKEY;
    if (seen->version) return DIGBY_VERSION;
    return seen->magic ? DIGBY_CORRUPT : DIGBY_NOTDIGBY;
}

/* Adopt the newer verified slot (and the older one as the fallback, if
   the file holds its pages); in an encrypted file hand both data keys to
   db->crypt.  Returns DIGBY_OK, DIGBY_PAGESIZE, DIGBY_VERSION. */
static int digby__meta_adopt(digby_db *db, digby__meta_scan *sc, uint64_t file_bytes,
                             uint32_t want_ps)
{
    int slot = sc->ok[0] && sc->ok[1] ? sc->cand[1].txid > sc->cand[0].txid : sc->ok[1];
    uint32_t ps = sc->ps;
    if (want_ps && want_ps != ps) return DIGBY_PAGESIZE;
    /* a newer commit in a format this build cannot read must not be rolled
       back (and then overwritten) by opening the older one */
    if (sc->seen.version && sc->seen.version_txid > sc->cand[slot].txid) return DIGBY_VERSION;
    db->page_size = ps;
    db->meta = sc->cand[slot];
    /* a previous commit counting pages the file does not hold cannot be
       opened: it is no fallback (and its page count no allocation size) */
    db->have_fallback = sc->ok[!slot] && sc->cand[!slot].txid < sc->cand[slot].txid &&
                        sc->cand[!slot].page_count <= file_bytes / ps;
    if (db->have_fallback) db->fallback = sc->cand[!slot];
    if (db->crypt) {
        digby__crypt *c = db->crypt;
        c->cur = sc->keys[slot];
        memcpy(c->uuid, c->cur.hdr + DIGBY__KH(DIGBY__M_KUUID), 16);
        c->have_fb = db->have_fallback;
        if (c->have_fb) c->fb = sc->keys[!slot];
        else digby__dkey_clear(&db->alloc, &sc->keys[!slot]);
        digby__wipe(sc->keys, sizeof(sc->keys)); /* the copies are in c */
    }
    return DIGBY_OK;
}

/* Find the newest meta page that verifies and whose pages lie inside the
   file; sets db->page_size and db->meta (and in an encrypted file the data
   keys of both: db->crypt->cur and ->fb).  `want_ps` is the caller's page
   size or 0.  An encrypted file is opened with the user's key in db->crypt
   (none: DIGBY_WRONGKEY), checked against each meta page's key check value
   before anything else is read.  Returns DIGBY_OK, DIGBY_NOTDIGBY,
   DIGBY_CORRUPT, DIGBY_VERSION, DIGBY_NOFEATURE, DIGBY_WRONGKEY,
   DIGBY_PAGESIZE, DIGBY_IOERR, DIGBY_NOMEM. */
static int digby__meta_load(digby_db *db, uint64_t file_bytes, uint32_t want_ps)
{
    digby__meta_scan sc;
    int rc;
    memset(&sc, 0, sizeof(sc));
    /* the buffer grows to the page size being tried: a device with little
       memory and small pages never needs a 64 KiB one */
    if (digby__reserve(&db->alloc, &sc.buf, &sc.cap, DIGBY__MIN_PAGE)) return DIGBY_NOMEM;
    rc = digby__meta_scan_slots(db, &sc, file_bytes);
    digby__free(&db->alloc, sc.buf);
    if (rc == DIGBY_OK && !sc.ok[0] && !sc.ok[1]) rc = digby__meta_none(&sc.seen);
    if (rc == DIGBY_OK) rc = digby__meta_adopt(db, &sc, file_bytes, want_ps);
    if (rc) {
        digby__dkey_clear(&db->alloc, &sc.keys[0]);
        digby__dkey_clear(&db->alloc, &sc.keys[1]);
        return rc;
    }
    /* with one sync per commit, a crash can leave the newest meta page
       without the file growth it counts on: fall back to the previous
       commit.  A file short of both is truncated. */
    if (db->meta.page_count > file_bytes / db->page_size) {
        if (!db->have_fallback) return DIGBY_CORRUPT;
        digby__meta_use_fallback(db);
    }
    return DIGBY_OK;
}
