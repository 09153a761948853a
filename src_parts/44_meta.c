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

static void digby__meta_encode(const digby_db *db, const digby__meta *m,
                               uint8_t *page)
{
    memset(page, 0, db->page_size);
    page[0] = DIGBY__PAGE_META;
    digby__put64(page + 8, m->txid & 1);
    digby__put64(page + 16, m->txid);
    memcpy(page + DIGBY__M_MAGIC, DIGBY__MAGIC, 8);
    digby__put32(page + DIGBY__M_VERSION, DIGBY__FORMAT_VERSION);
    digby__put32(page + DIGBY__M_PAGESIZE, db->page_size);
    digby__put32(page + DIGBY__M_INCOMPAT, 0);
    digby__put32(page + DIGBY__M_COMPAT, 0);
    digby__put32(page + DIGBY__M_TRAILER, db->trailer);
    digby__put64(page + DIGBY__M_TXID, m->txid);
    digby__put64(page + DIGBY__M_PAGECOUNT, m->page_count);
    digby__tree_encode(&m->main, page + DIGBY__M_MAIN);
    digby__tree_encode(&m->catalog, page + DIGBY__M_CATALOG);
    digby__put64(page + DIGBY__M_FREEROOT, m->free_root);
    digby__put64(page + DIGBY__M_FREECOUNT, m->free_count);
    memcpy(page + DIGBY__M_UUID, m->uuid, 16);
    digby__page_seal(db, page);
}

/* Decode and check a meta page image of `page_size` bytes found in slot
   `slot`.  Returns DIGBY_OK, DIGBY_NOTDIGBY (no magic), DIGBY_VERSION
   (newer format or unknown incompatible feature), DIGBY_CORRUPT. */
static int digby__meta_decode(digby_db *db, const uint8_t *page,
                              uint32_t page_size, uint64_t slot,
                              digby__meta *m)
{
    uint32_t n = page_size - DIGBY__TRAILER_XXH32;
    if (memcmp(page + DIGBY__M_MAGIC, DIGBY__MAGIC, 8) != 0) return DIGBY_NOTDIGBY;
    if (digby__get32(page + DIGBY__M_PAGESIZE) != page_size) return DIGBY_CORRUPT;
#ifndef DIGBY_FUZZ_NO_CHECKSUM
    if (digby__get32(page + n) != (uint32_t)XXH32(page, n, DIGBY__XXH_SEED))
        return DIGBY_CORRUPT;
#endif
    if (page[0] != DIGBY__PAGE_META || digby__get64(page + 8) != slot)
        return DIGBY_CORRUPT;
    if (digby__get32(page + DIGBY__M_VERSION) == 0) return DIGBY_CORRUPT;
    if (digby__get32(page + DIGBY__M_VERSION) > DIGBY__FORMAT_VERSION ||
        digby__get32(page + DIGBY__M_INCOMPAT) != 0)
        return DIGBY_VERSION;
    if (digby__get32(page + DIGBY__M_TRAILER) != DIGBY__TRAILER_XXH32)
        return DIGBY_VERSION;
    m->txid = digby__get64(page + DIGBY__M_TXID);
    m->page_count = digby__get64(page + DIGBY__M_PAGECOUNT);
    digby__tree_decode(&m->main, page + DIGBY__M_MAIN);
    digby__tree_decode(&m->catalog, page + DIGBY__M_CATALOG);
    m->free_root = digby__get64(page + DIGBY__M_FREEROOT);
    m->free_count = digby__get64(page + DIGBY__M_FREECOUNT);
    memcpy(m->uuid, page + DIGBY__M_UUID, 16);
    if (m->txid != digby__get64(page + 16) || (m->txid & 1) != slot ||
        m->page_count < 2 || m->page_count > UINT64_MAX / page_size ||
        !digby__tree_sane(&m->main, m->page_count, m->txid) ||
        !digby__tree_sane(&m->catalog, m->page_count, m->txid) ||
        (m->free_root != 0 && (m->free_root < 2 || m->free_root >= m->page_count)) ||
        (m->free_root == 0 && m->free_count != 0) ||
        m->free_count > m->page_count * 2 + 2)
        return DIGBY_CORRUPT;
    (void)db;
    return DIGBY_OK;
}

static int digby__meta_write(digby_db *db, const digby__meta *m, uint8_t *buf)
{
    digby__meta_encode(db, m, buf);
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
    digby__make_uuid(m.uuid, db);
    buf = (uint8_t *)digby__malloc(&db->alloc, 2 * (size_t)db->page_size);
    if (!buf) return DIGBY_NOMEM;
    m.txid = 0;
    digby__meta_encode(db, &m, buf);
    m.txid = 1;
    digby__meta_encode(db, &m, buf + db->page_size);
    rc = db->vfs->write(db->file, 0, buf, 2 * (size_t)db->page_size);
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

/* Find the newest meta page that verifies and whose pages lie inside the
   file; sets db->page_size and db->meta.  `want_ps` is the caller's page
   size or 0. */
static int digby__meta_load(digby_db *db, uint64_t file_bytes, uint32_t want_ps)
{
    uint8_t *buf;
    digby__meta cand[2], tmp;
    int ok[2] = {0, 0}, saw_magic = 0, saw_version = 0, rc, slot;
    uint64_t version_txid = 0; /* newest txid among slots of a newer format */
    uint32_t ps = 0, try_ps;
    buf = (uint8_t *)digby__malloc(&db->alloc, DIGBY__MAX_PAGE);
    if (!buf) return DIGBY_NOMEM;
    /* slot 0: its page size field tells where slot 1 is */
    if (file_bytes >= DIGBY__MIN_PAGE &&
        (rc = digby__read_at(db, 0, buf, DIGBY__MIN_PAGE)) != DIGBY_IOERR) {
        if (rc == DIGBY_OK && memcmp(buf + DIGBY__M_MAGIC, DIGBY__MAGIC, 8) == 0) {
            saw_magic = 1;
            try_ps = digby__get32(buf + DIGBY__M_PAGESIZE);
            if (try_ps >= DIGBY__MIN_PAGE && try_ps <= DIGBY__MAX_PAGE &&
                (try_ps & (try_ps - 1)) == 0 && file_bytes >= try_ps &&
                digby__read_at(db, 0, buf, try_ps) == DIGBY_OK) {
                rc = digby__meta_decode(db, buf, try_ps, 0, &tmp);
                if (rc == DIGBY_OK) { cand[0] = tmp; ok[0] = 1; ps = try_ps; }
                else if (rc == DIGBY_VERSION) {
                    saw_version = 1;
                    version_txid = DIGBY__MAX(version_txid, digby__get64(buf + 16));
                }
            }
        }
    } else if (file_bytes >= DIGBY__MIN_PAGE) {
        digby__free(&db->alloc, buf);
        return DIGBY_IOERR;
    }
    /* slot 1: at offset ps if slot 0 told us, else try every page size */
    for (try_ps = DIGBY__MIN_PAGE; try_ps <= DIGBY__MAX_PAGE; try_ps *= 2) {
        uint32_t use = ps ? ps : try_ps;
        if (file_bytes >= (uint64_t)use * 2 &&
            digby__read_at(db, use, buf, use) == DIGBY_OK) {
            if (memcmp(buf + DIGBY__M_MAGIC, DIGBY__MAGIC, 8) == 0) saw_magic = 1;
            rc = digby__meta_decode(db, buf, use, 1, &tmp);
            if (rc == DIGBY_OK) { cand[1] = tmp; ok[1] = 1; ps = use; }
            else if (rc == DIGBY_VERSION) {
                saw_version = 1;
                version_txid = DIGBY__MAX(version_txid, digby__get64(buf + 16));
            }
        }
        if (ps) break;
    }
    digby__free(&db->alloc, buf);
    if (!ok[0] && !ok[1]) {
        if (saw_version) return DIGBY_VERSION;
        return saw_magic ? DIGBY_CORRUPT : DIGBY_NOTDIGBY;
    }
    if (want_ps && want_ps != ps) return DIGBY_PAGESIZE;
    if (ok[0] && ok[1]) slot = cand[1].txid > cand[0].txid ? 1 : 0;
    else slot = ok[1] ? 1 : 0;
    /* a newer commit in a format this build cannot read must not be rolled
       back (and then overwritten) by opening the older one */
    if (saw_version && version_txid > cand[slot].txid) return DIGBY_VERSION;
    db->page_size = ps;
    db->meta = cand[slot];
    db->have_fallback = ok[!slot] && cand[!slot].txid < cand[slot].txid;
    if (db->have_fallback) db->fallback = cand[!slot];
    /* with one sync per commit, a crash can leave the newest meta page
       without the file growth it counts on: fall back to the previous
       commit.  A file short of both is truncated. */
    if (db->meta.page_count > file_bytes / ps) {
        if (!db->have_fallback || db->fallback.page_count > file_bytes / ps)
            return DIGBY_CORRUPT;
        db->discarded_txid = db->meta.txid;
        db->meta = db->fallback;
        db->have_fallback = 0;
    }
    return DIGBY_OK;
}
