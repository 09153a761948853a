/* Memory-mapped reads (the default read path): the map and its verified pages.

   Memory-mapped reads (unless DIGBY_OPEN_NO_MMAP): a read-only shared map of the
   file, remapped larger as the file grows, with a per-page record of the
   page version this handle verified there (map_seen), so that a mapped page
   is checked once and then read in place with no lock, copy or system call.
   The pager (42_pager.c) and overflow reads (54_overflow.c) read through it;
   a mapping outlives the commit that replaces it until the last transaction
   begun under it ends. */
/* Whether page pgno of txn's memory map (pgno < txn->map_pages) holds a
   version, txid, that this handle verified before (map_seen), so that it
   may be read unchecked.  txid 0 is map_seen's "none" (no commit records
   it; only a damaged parent could), and digby_check (map_verify) trusts
   nothing. */
static DIGBY__INLINE int digby__map_trusted(const digby_txn *txn, uint64_t pgno, uint64_t txid)
{
    return txid != 0 && !txn->map_verify && DIGBY__SEEN_LOAD(&txn->map_seen[pgno]) == txid;
}

static void digby__map_free(digby_db *db, struct digby__mapping *m)
{
    if (!m) return;
    db->vfs->unmap(db->file, m->addr, m->len);
    digby__free(&db->alloc, m->seen);
    digby__free(&db->alloc, m);
}

/* Close time: every transaction has ended. */
static void digby__map_close(digby_db *db)
{
    struct digby__mapping *m = db->map_old, *older;
    for (; m; m = older) {
        older = m->older;
        digby__map_free(db, m);
    }
    digby__map_free(db, db->mapping);
    db->mapping = db->map_old = NULL;
    db->map_pages = 0;
}

/* A new mapping of `pages` pages with a zeroed seen table, or NULL (the
   system or the allocator refused: the caller reads through the cache). */
static struct digby__mapping *digby__map_new(digby_db *db, uint64_t pages)
{
    struct digby__mapping *m;
    const void *a;
    if (pages < 3 || pages > (uint64_t)SIZE_MAX / sizeof(uint64_t) ||
        pages > UINT64_MAX / db->page_size)
        return NULL;
    m = (struct digby__mapping *)digby__malloc(&db->alloc, sizeof(*m));
    if (!m) return NULL;
    memset(m, 0, sizeof(*m));
    m->seen = (uint64_t *)digby__malloc(&db->alloc, (size_t)pages * sizeof(uint64_t));
    if (!m->seen || db->vfs->map(db->file, pages * db->page_size, &a) != DIGBY_OK || !a) {
        digby__free(&db->alloc, m->seen);
        digby__free(&db->alloc, m);
        return NULL;
    }
    memset(m->seen, 0, (size_t)pages * sizeof(uint64_t));
    m->addr = (const uint8_t *)a;
    m->len = pages * db->page_size;
    return m;
}

/* Map the file (after the meta page is chosen), unless DIGBY_OPEN_NO_MMAP: `want`
   bytes but at least the whole file; 0 for twice the file, at least 64
   MiB.  Anything that rules the map out leaves db->mapping NULL: reads
   then go through the cache, as without the flag. */
static void digby__map_open(digby_db *db, uint64_t want)
{
    uint64_t size;
    if (!DIGBY__HAVE_MAP || (db->flags & DIGBY_OPEN_NO_MMAP) || db->crypt ||
        db->vfs->version < 2 || !db->vfs->map || !db->vfs->unmap)
        return;
    if (db->vfs->size(db->file, &size) != DIGBY_OK) return;
    if (!want) {
        want = size > UINT64_MAX / 2 ? size : 2 * size;
        if (want < ((uint64_t)64 << 20)) want = (uint64_t)64 << 20;
    }
    if (want < size) want = size;
    /* past the meta pages, or a new file would never be mapped (a commit
       remaps only a map it outgrows) */
    if (want < 3 * (uint64_t)db->page_size) want = 3 * (uint64_t)db->page_size;
    db->mapping = digby__map_new(db, want / db->page_size);
    if (db->mapping)
        db->map_pages = DIGBY__MIN(size, db->mapping->len) / db->page_size;
}

/* A transaction begins (caller holds db->mu): it reads through the
   current mapping until it ends. */
static void digby__map_enter(digby_db *db, digby_txn *txn)
{
    struct digby__mapping *m = db->mapping;
    txn->mapping = m;
    txn->map_pages = db->map_pages;
    if (!m) return;
    m->users++;
    txn->map = m->addr;
    txn->map_seen = m->seen;
}

/* A transaction ends (caller holds db->mu).  Returns a retired mapping it
   was the last user of, for the caller to free after unlocking. */
static struct digby__mapping *digby__map_leave(digby_db *db, digby_txn *txn)
{
    struct digby__mapping *m = txn->mapping, **pp;
    txn->mapping = NULL;
    if (!m || --m->users > 0 || m == db->mapping) return NULL;
    for (pp = &db->map_old; *pp && *pp != m; pp = &(*pp)->older) {}
    if (*pp) *pp = m->older;
    return m;
}

/* The file (page_count pages, all inside it) outgrew the mapping: map it
   again, twice as large as it is now, carrying over what was verified.
   Called by a commit before it publishes; transactions begun before keep
   the old mapping until they end (map_old).  On failure the old mapping
   stays and the pages past it read through the cache. */
static void digby__map_grow(digby_db *db, uint64_t page_count)
{
    struct digby__mapping *old = db->mapping, *m;
    uint64_t i, n = old->len / db->page_size;
    m = digby__map_new(db, page_count > UINT64_MAX / 2 ? page_count : 2 * page_count);
    if (!m) return;
    for (i = 0; i < n; i++) m->seen[i] = DIGBY__SEEN_LOAD(&old->seen[i]);
    digby__mutex_lock(&db->mu);
    db->mapping = m;
    if (old->users) {
        old->older = db->map_old;
        db->map_old = old;
        old = NULL;
    }
    digby__mutex_unlock(&db->mu);
    digby__map_free(db, old);
}
