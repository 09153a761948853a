/* Meta pages (FORMAT.md "Meta page").  Pages 0 and 1 hold the two meta
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
    digby__put64(page + 8, m->txid & 1);
    digby__put64(page + 16, m->txid);
    memcpy(page + DIGBY__M_MAGIC, DIGBY__MAGIC, 8);
    digby__put32(page + DIGBY__M_VERSION, DIGBY__FORMAT_VERSION);
    digby__put32(page + DIGBY__M_PAGESIZE, db->page_size);
    digby__put32(page + DIGBY__M_INCOMPAT, c ? DIGBY__INCOMPAT_ENCRYPTED : 0);
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
    if (!c) digby__page_seal(db, page);
}

/* Encode and seal meta page m into page. */
static int digby__meta_seal(const digby_db *db, const digby__meta *m, uint8_t *page)
{
    digby__meta_encode(db, m, page);
    return db->crypt ? digby__page_lock(db, page, page) : DIGBY_OK;
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
    if (base) m->key_writes = digby__get64(page + DIGBY__M_KEY_WRITES);
    if (m->txid != digby__get64(page + 16) || (m->txid & 1) != slot ||
        m->page_count < 2 || m->page_count > UINT64_MAX / page_size ||
        !digby__tree_sane(&m->main, m->page_count, m->txid) ||
        !digby__tree_sane(&m->catalog, m->page_count, m->txid) ||
        (m->free_root != 0 && (m->free_root < 2 || m->free_root >= m->page_count)) ||
        (m->free_root == 0 && m->free_count != 0) ||
        m->free_count > m->page_count * 2 + 2)
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
    if (page[0] != DIGBY__PAGE_META || digby__get64(page + 8) != slot)
        return DIGBY_CORRUPT;
    if (digby__get32(page + DIGBY__M_VERSION) == 0) return DIGBY_CORRUPT;
    if (digby__get32(page + DIGBY__M_VERSION) > DIGBY__FORMAT_VERSION ||
        digby__get32(page + DIGBY__M_INCOMPAT) != 0)
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
        memcpy(buf + 8, hdr + DIGBY__KH(DIGBY__M_WRAP_KEY), 32);
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
        digby__get64(page + 8) != slot)
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
        rc = digby__open_with(db, k, hdr + DIGBY__KH(DIGBY__M_KUUID), page, page_size);
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
            seen->version_txid = DIGBY__MAX(seen->version_txid, digby__get64(buf + 16));
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
    db->meta = db->fallback;
    db->have_fallback = 0;
    if (db->crypt && db->crypt->have_fb) {
        digby__dkey_clear(&db->alloc, &db->crypt->cur);
        db->crypt->cur = db->crypt->fb;
        memset(&db->crypt->fb, 0, sizeof(db->crypt->fb));
        db->crypt->have_fb = 0;
    }
}

/* Find the newest meta page that verifies and whose pages lie inside the
   file; sets db->page_size and db->meta (and in an encrypted file the data
   keys of both: db->crypt->cur and ->fb).  `want_ps` is the caller's page
   size or 0.  An encrypted file is opened with the user's key in db->crypt
   (none: DIGBY_WRONGKEY), checked against each meta page's key check value
   before anything else is read. */
static int digby__meta_load(digby_db *db, uint64_t file_bytes, uint32_t want_ps)
{
    uint8_t *buf;
    digby__meta cand[2];
    digby__dkey keys[2];
    digby__seen seen;
    int ok[2] = {0, 0}, rc, slot;
    uint32_t ps = 0, try_ps;
    size_t cap = 0;
    memset(&seen, 0, sizeof(seen));
    memset(keys, 0, sizeof(keys));
    /* the buffer grows to the page size being tried: a device with little
       memory and small pages never needs a 64 KiB one */
    buf = NULL;
    if (digby__reserve(&db->alloc, &buf, &cap, DIGBY__MIN_PAGE)) return DIGBY_NOMEM;
    /* slot 0: its page size field tells where slot 1 is.  A read that
       fails (not a short one) ends the load: taken for a slot that does not
       verify, it would open the older commit and lose the newer one. */
    rc = file_bytes >= DIGBY__MIN_PAGE ? digby__read_at(db, 0, buf, DIGBY__MIN_PAGE)
                                       : DIGBY_CORRUPT;
    if (rc != DIGBY_OK && rc != DIGBY_CORRUPT) {
        digby__free(&db->alloc, buf);
        return rc;
    }
    if (file_bytes >= DIGBY__MIN_PAGE) {
        if (rc == DIGBY_OK && memcmp(buf + DIGBY__M_MAGIC, DIGBY__MAGIC, 8) == 0) {
            int fits;
            seen.magic = 1;
            try_ps = digby__get32(buf + DIGBY__M_PAGESIZE);
            fits = try_ps >= DIGBY__MIN_PAGE && try_ps <= DIGBY__MAX_PAGE &&
                   (try_ps & (try_ps - 1)) == 0 && file_bytes >= try_ps;
            if (fits && digby__reserve(&db->alloc, &buf, &cap, try_ps) != DIGBY_OK) {
                /* no memory is no damage: never DIGBY_CORRUPT for it */
                digby__free(&db->alloc, buf);
                return DIGBY_NOMEM;
            }
            rc = fits ? digby__read_at(db, 0, buf, try_ps) : DIGBY_CORRUPT;
            if (rc != DIGBY_OK && rc != DIGBY_CORRUPT) {
                digby__free(&db->alloc, buf);
                return rc;
            }
            if (rc == DIGBY_OK) {
                rc = digby__meta_try(db, buf, try_ps, 0, &cand[0], &keys[0], &seen);
                if (rc < 0) { digby__free(&db->alloc, buf); return rc; }
                if (rc == 1) { ok[0] = 1; ps = try_ps; }
            }
        }
    }
    /* slot 1: at offset ps if slot 0 told us, else try every page size */
    for (try_ps = DIGBY__MIN_PAGE; try_ps <= DIGBY__MAX_PAGE; try_ps *= 2) {
        uint32_t use = ps ? ps : try_ps;
        int fits = file_bytes >= (uint64_t)use * 2;
        if (fits && digby__reserve(&db->alloc, &buf, &cap, use) != DIGBY_OK) {
            digby__dkey_clear(&db->alloc, &keys[0]);
            digby__free(&db->alloc, buf);
            return DIGBY_NOMEM;
        }
        rc = fits ? digby__read_at(db, use, buf, use) : DIGBY_CORRUPT;
        if (rc != DIGBY_OK && rc != DIGBY_CORRUPT) {
            digby__dkey_clear(&db->alloc, &keys[0]);
            digby__free(&db->alloc, buf);
            return rc;
        }
        if (rc == DIGBY_OK) {
            rc = digby__meta_try(db, buf, use, 1, &cand[1], &keys[1], &seen);
            if (rc < 0) {
                digby__dkey_clear(&db->alloc, &keys[0]);
                digby__free(&db->alloc, buf);
                return rc;
            }
            if (rc == 1) { ok[1] = 1; ps = use; }
        }
        if (ps) break;
    }
    digby__free(&db->alloc, buf);
    rc = DIGBY_OK;
    if (!ok[0] && !ok[1]) {
        if (seen.nofeature) rc = DIGBY_NOFEATURE;
        else if (seen.wrongkey) rc = DIGBY_WRONGKEY;
        else if (seen.version) rc = DIGBY_VERSION;
        else rc = seen.magic ? DIGBY_CORRUPT : DIGBY_NOTDIGBY;
        return rc;
    }
    if (ok[0] && ok[1]) slot = cand[1].txid > cand[0].txid ? 1 : 0;
    else slot = ok[1] ? 1 : 0;
    if (want_ps && want_ps != ps) rc = DIGBY_PAGESIZE;
    /* a newer commit in a format this build cannot read must not be rolled
       back (and then overwritten) by opening the older one */
    else if (seen.version && seen.version_txid > cand[slot].txid) rc = DIGBY_VERSION;
    if (rc) {
        digby__dkey_clear(&db->alloc, &keys[0]);
        digby__dkey_clear(&db->alloc, &keys[1]);
        return rc;
    }
    db->page_size = ps;
    db->meta = cand[slot];
    /* a previous commit counting pages the file does not hold cannot be
       opened: it is no fallback (and its page count no allocation size) */
    db->have_fallback = ok[!slot] && cand[!slot].txid < cand[slot].txid &&
                        cand[!slot].page_count <= file_bytes / ps;
    if (db->have_fallback) db->fallback = cand[!slot];
    if (db->crypt) {
        digby__crypt *c = db->crypt;
        c->cur = keys[slot];
        memcpy(c->uuid, c->cur.hdr + DIGBY__KH(DIGBY__M_KUUID), 16);
        c->have_fb = db->have_fallback;
        if (c->have_fb) c->fb = keys[!slot];
        else digby__dkey_clear(&db->alloc, &keys[!slot]);
        digby__wipe(keys, sizeof(keys)); /* the copies are in c */
    }
    /* with one sync per commit, a crash can leave the newest meta page
       without the file growth it counts on: fall back to the previous
       commit.  A file short of both is truncated. */
    if (db->meta.page_count > file_bytes / ps) {
        if (!db->have_fallback) return DIGBY_CORRUPT;
        digby__meta_use_fallback(db);
    }
    return DIGBY_OK;
}
