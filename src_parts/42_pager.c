/* The pager: page cache, pages a transaction holds, dirty pages, allocation.

   A bounded page cache shared by all transactions of a handle,
   the write transaction's dirty pages, and page allocation.

   Clean pages are read once through the VFS, verified (trailer, own page
   number, node structure) and kept in the cache; a cache hit costs a hash
   lookup and a pin, no system call and no copy.  A write transaction never
   changes a cached page: it copies it to a newly allocated page number
   (copy-on-write) held in its dirty map until commit, when the written
   pages move into the cache without a copy. */

/* ---- Page buffers -------------------------------------------------------- */

/* Page-sized buffers are recycled through a small pool: a commit of random
   puts allocates and frees thousands of them, and the allocator's own
   bookkeeping showed up as a tenth of the time. */
static uint8_t *digby__pbuf_get(digby_db *db)
{
    uint8_t *p;
    digby__mutex_lock(&db->poolmu);
    p = db->pool;
    if (p) {
        memcpy(&db->pool, p, sizeof(uint8_t *));
        db->npool--;
    }
    digby__mutex_unlock(&db->poolmu);
    if (!p) p = (uint8_t *)digby__malloc(&db->alloc, db->page_size);
    return p;
}

static void digby__pbuf_put(digby_db *db, uint8_t *p)
{
    if (!p) return;
    digby__mutex_lock(&db->poolmu);
    if (db->npool < db->max_pool) {
        memcpy(p, &db->pool, sizeof(uint8_t *));
        db->pool = p;
        db->npool++;
        p = NULL;
    }
    digby__mutex_unlock(&db->poolmu);
    digby__free(&db->alloc, p);
}

static void digby__pbuf_release(digby_db *db)
{
    while (db->pool) {
        uint8_t *p = db->pool;
        memcpy(&db->pool, p, sizeof(uint8_t *));
        digby__free(&db->alloc, p);
    }
    db->npool = 0;
}

/* ---- Cache --------------------------------------------------------------- */

/* The cache is split into shards by page number, each with its own lock,
   hash table and replacement ring, so that reader threads rarely wait for
   each other.  Small caches have one shard (db->cache); larger ones add
   db->xshards.  A frame remembers its shard. */

static size_t digby__cache_slot(const digby__cache *c, uint64_t pgno)
{
    return (size_t)((pgno * UINT64_C(0x9E3779B97F4A7C15)) >> 20) &
           (c->nbuckets - 1);
}

/* Frames the whole cache keeps (every shard's capacity). */
static size_t digby__cache_pages(const digby_db *db)
{
    return db->cache.capacity * (db->nshards ? db->nshards : 1);
}

static digby__cache *digby__shard(digby_db *db, uint64_t pgno)
{
    unsigned i;
    if (db->nshards <= 1) return &db->cache;
    i = (unsigned)((pgno * UINT64_C(0xD6E8FEB86659FD93)) >> 40) % db->nshards;
    return i == 0 ? &db->cache : &db->xshards[i - 1];
}

static int digby__shard_init(digby_db *db, digby__cache *c, size_t capacity)
{
    size_t nb = 16;
    memset(c, 0, sizeof(*c));
    c->capacity = capacity;
    while (nb < c->capacity * 2 && nb < ((size_t)1 << 28)) nb *= 2;
    c->buckets = (digby__frame **)digby__malloc(&db->alloc, nb * sizeof(digby__frame *));
    if (!c->buckets) return DIGBY_NOMEM;
    memset(c->buckets, 0, nb * sizeof(digby__frame *));
    c->nbuckets = nb;
    c->lru.lnext = c->lru.lprev = &c->lru;
    digby__mutex_init(&c->mu);
    return DIGBY_OK;
}

static void digby__cache_release(digby_db *db);

static int digby__cache_init(digby_db *db, size_t cache_bytes)
{
    size_t capacity = cache_bytes / db->page_size;
    unsigned i;
    int rc;
    if (capacity < 16) capacity = 16;
    db->max_pool = capacity / 8 + 8;
    db->nshards = capacity >= 1024 ? 8 : 1;
    db->xshards = NULL;
    if (db->nshards > 1) {
        db->xshards = (digby__cache *)digby__malloc(&db->alloc,
                                                    (db->nshards - 1) * sizeof(digby__cache));
        if (!db->xshards) { db->nshards = 1; return DIGBY_NOMEM; }
        memset(db->xshards, 0, (db->nshards - 1) * sizeof(digby__cache));
    }
    rc = digby__shard_init(db, &db->cache, capacity / db->nshards);
    for (i = 1; i < db->nshards && rc == DIGBY_OK; i++)
        rc = digby__shard_init(db, &db->xshards[i - 1], capacity / db->nshards);
    if (rc) digby__cache_release(db);
    return rc;
}

static void digby__frame_destroy(digby_db *db, digby__frame *f)
{
    f->home->nframes--;
    digby__pbuf_put(db, f->data);
    digby__free(&db->alloc, f);
}

static void digby__lru_remove(digby__frame *f)
{
    if (!f->in_lru) return;
    f->lprev->lnext = f->lnext;
    f->lnext->lprev = f->lprev;
    f->in_lru = 0;
}

static void digby__lru_append(digby__cache *c, digby__frame *f)
{
    f->lprev = c->lru.lprev;
    f->lnext = &c->lru;
    c->lru.lprev->lnext = f;
    c->lru.lprev = f;
    f->in_lru = 1;
}

static digby__frame *digby__cache_find(digby__cache *c, uint64_t pgno)
{
    digby__frame *f = c->buckets[digby__cache_slot(c, pgno)];
    while (f && f->pgno != pgno) f = f->hnext;
    return f;
}

static void digby__cache_unhash(digby__cache *c, digby__frame *f)
{
    digby__frame **pp = &c->buckets[digby__cache_slot(c, f->pgno)];
    while (*pp && *pp != f) pp = &(*pp)->hnext;
    if (*pp) *pp = f->hnext;
    f->hnext = NULL;
}

static void digby__shard_release(digby_db *db, digby__cache *c)
{
    size_t i;
    if (!c->buckets) return;
    for (i = 0; i < c->nbuckets; i++) {
        digby__frame *f = c->buckets[i], *next;
        for (; f; f = next) {
            next = f->hnext;
            digby__frame_destroy(db, f);
        }
    }
    digby__free(&db->alloc, c->buckets);
    c->buckets = NULL;
    digby__mutex_destroy(&c->mu);
}

static void digby__cache_release(digby_db *db)
{
    unsigned i;
    digby__shard_release(db, &db->cache);
    for (i = 1; i < db->nshards && db->xshards; i++)
        digby__shard_release(db, &db->xshards[i - 1]);
    digby__free(&db->alloc, db->xshards);
    db->xshards = NULL;
    db->nshards = 1;
}

/* Make room for one more frame when the shard is at capacity: CLOCK
   replacement with second chance (Corbato 1968; as in PostgreSQL's buffer
   manager).  Every cached frame sits on a ring, pinned or not, in the
   order it came in; the hand (the ring's head) skips pinned frames and
   gives a frame used again since it came in (ref) another round, and
   evicts the first other one.  A hit then only marks its frame -- no list
   surgery on the neighbours, whose cache lines a lookup would otherwise
   touch -- and a page read once (a scan) is evicted before pages read
   twice.  Caller holds c->mu.  Gives up when every frame is pinned (the
   cache then overshoots until they are unpinned). */
static void digby__cache_make_room(digby_db *db, digby__cache *c)
{
    size_t budget = 2 * c->nframes + 2;
    while (c->nframes >= c->capacity && c->lru.lnext != &c->lru && budget--) {
        digby__frame *f = c->lru.lnext;
        digby__lru_remove(f);
        if (f->pins || f->ref) {
            f->ref = 0;
            digby__lru_append(c, f); /* another round */
            continue;
        }
        digby__cache_unhash(c, f);
        digby__frame_destroy(db, f);
    }
}

static digby__frame *digby__frame_new(digby_db *db, digby__cache *c, uint8_t *data)
{
    digby__frame *f = (digby__frame *)digby__malloc(&db->alloc, sizeof(*f));
    if (!f) return NULL;
    memset(f, 0, sizeof(*f));
    if (!data) {
        data = digby__pbuf_get(db);
        if (!data) { digby__free(&db->alloc, f); return NULL; }
    }
    f->data = data;
    f->home = c;
    c->nframes++;
    return f;
}

/* Drop an unpinned page from the cache; a pinned one is orphaned (pgno 0)
   and freed at its last unpin.  Used when a page number is reused. */
static void digby__cache_forget(digby_db *db, uint64_t pgno)
{
    digby__cache *c = digby__shard(db, pgno);
    digby__frame *f;
    digby__mutex_lock(&c->mu);
    f = digby__cache_find(c, pgno);
    if (f) {
        digby__cache_unhash(c, f);
        digby__lru_remove(f);
        if (f->pins == 0) digby__frame_destroy(db, f);
        else f->pgno = 0;
    }
    digby__mutex_unlock(&c->mu);
}

/* Hand a freshly committed page buffer to the cache.  Takes ownership of
   *buf (sets it to NULL) when it keeps it. */
static void digby__cache_put(digby_db *db, uint64_t pgno, uint8_t **buf)
{
    digby__cache *c = digby__shard(db, pgno);
    digby__frame *f;
    digby__mutex_lock(&c->mu);
    f = digby__cache_find(c, pgno);
    if (f && f->pins) {
        digby__cache_unhash(c, f);
        digby__lru_remove(f);
        f->pgno = 0;
        f = NULL;
    }
    if (f) {
        digby__pbuf_put(db, f->data);
        f->data = *buf;
        *buf = NULL;
        f->ref = 0;
    } else {
        digby__cache_make_room(db, c);
        if (c->nframes < c->capacity) {
            f = digby__frame_new(db, c, *buf);
            if (f) {
                *buf = NULL;
                f->pgno = pgno;
                f->hnext = c->buckets[digby__cache_slot(c, pgno)];
                c->buckets[digby__cache_slot(c, pgno)] = f;
                digby__lru_append(c, f);
            }
        }
    }
    digby__mutex_unlock(&c->mu);
}

static void digby__page_unpin(digby_db *db, digby__frame *f)
{
    digby__cache *c;
    if (!f) return;
    c = f->home;
    digby__mutex_lock(&c->mu);
    DIGBY_ASSERT(f->pins > 0);
    if (--f->pins == 0 && (f->pgno == 0 || c->nframes > c->capacity)) {
        /* an orphan, or the cache overshot while everything was pinned */
        if (f->pgno) digby__cache_unhash(c, f);
        digby__lru_remove(f);
        digby__frame_destroy(db, f);
    }
    digby__mutex_unlock(&c->mu);
}

/* ---- Pages a transaction holds -------------------------------------------- */

/* Every lookup descends from the root through the same few branch pages,
   and pinning a cached page takes its shard's lock twice (pin, unpin).  A
   transaction therefore keeps the branch pages it visits pinned until it
   ends, in a small table it alone uses, and finds them there again
   without a lock.  A table holds at most 1/32 of the cache and all tables
   together at most 1/8 (so that readers cannot pin it full), and never
   evicts: a page handed out from it stays valid until the transaction
   ends.  Safe because a page in a transaction's snapshot is never
   rewritten while it lives (copy-on-write; freed pages wait for the
   snapshots that see them; a page reused after its reader unregistered
   finds the reader's frame orphaned, see digby__cache_forget). */
#define DIGBY__HELD_MAX 512u

static size_t digby__held_slot(uint64_t pgno, unsigned cap)
{
    return (size_t)((pgno * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (cap - 1);
}

static digby__frame *digby__held_find(const digby_txn *txn, uint64_t pgno)
{
    size_t i;
    if (!txn->held_cap) return NULL;
    i = digby__held_slot(pgno, txn->held_cap);
    while (txn->held[i].pgno) {
        if (txn->held[i].pgno == pgno) return txn->held[i].f;
        i = (i + 1) & (txn->held_cap - 1);
    }
    return NULL;
}

/* Keep frame f (pinned by the caller) for the rest of the transaction.
   Returns 1 when the table took the pin over, 0 when it is full (or could
   not be allocated: holding pages is an optimisation, never an error). */
static int digby__held_add(digby_txn *txn, uint64_t pgno, digby__frame *f)
{
    digby_db *db = txn->db;
    size_t i, pages = digby__cache_pages(db);
    if (txn->held_off) return 0;
    if (!txn->held_cap) {
        unsigned cap = 8;
        if (pages / 32 < 8) { txn->held_off = 1; return 0; }
        while (cap * 2 <= DIGBY__HELD_MAX && cap * 2 <= pages / 32) cap *= 2;
        txn->held = (digby__held *)digby__malloc(&db->alloc, cap * sizeof(digby__held));
        if (!txn->held) { txn->held_off = 1; return 0; }
        memset(txn->held, 0, cap * sizeof(digby__held));
        txn->held_cap = cap;
    }
    if ((txn->held_n + 1) * 4 > txn->held_cap * 3) { txn->held_off = 1; return 0; }
    digby__mutex_lock(&db->mu);
    if (db->held_total >= pages / 8) {
        /* stop asking: the lock is what holding pages saves */
        digby__mutex_unlock(&db->mu);
        txn->held_off = 1;
        return 0;
    }
    db->held_total++;
    digby__mutex_unlock(&db->mu);
    i = digby__held_slot(pgno, txn->held_cap);
    while (txn->held[i].pgno) i = (i + 1) & (txn->held_cap - 1);
    txn->held[i].pgno = pgno;
    txn->held[i].f = f;
    txn->held_n++;
    return 1;
}

/* Unpin every held page (the transaction ends). */
static void digby__held_release(digby_txn *txn)
{
    digby_db *db = txn->db;
    unsigned i, n = 0;
    for (i = 0; i < txn->held_cap; i++) {
        if (txn->held[i].pgno) {
            digby__page_unpin(db, txn->held[i].f);
            n++;
        }
    }
    if (n) {
        digby__mutex_lock(&db->mu);
        db->held_total -= n;
        digby__mutex_unlock(&db->mu);
    }
    digby__free(&db->alloc, txn->held);
    txn->held = NULL;
    txn->held_cap = txn->held_n = 0;
    txn->held_off = 0;
}

/* Read page pgno from the file into buf (page_size bytes) and verify its
   trailer and page number; an encrypted page is decrypted (the cache only
   ever holds plaintext).  No cache involved. */
static int digby__page_read_raw(digby_db *db, uint64_t pgno, uint8_t *buf)
{
    size_t got = 0;
    int rc;
    if (pgno > UINT64_MAX / db->page_size) return DIGBY__CORRUPT(db, pgno);
    rc = db->vfs->read(db->file, pgno * db->page_size, buf, db->page_size, &got);
    if (rc) return rc;
    if (got != db->page_size) return DIGBY__CORRUPT(db, pgno);
    rc = digby__page_verify(db, buf, pgno);
    if (rc == DIGBY_NOMEM) return rc;
    if (rc) return DIGBY__CORRUPT(db, pgno);
    return DIGBY_OK;
}

/* Get tree page (branch or leaf) pgno, written by transaction txid, for
   reading.  *out stays valid until digby__page_unpin(*pin) (*pin is NULL for
   the writer's own dirty pages, valid until the transaction ends or the
   page is freed, and for branch pages the transaction holds: valid until
   it ends).  Returns DIGBY_OK, DIGBY_CORRUPT (bad trailer, page
   number, structure, or a txid other than the parent's record of it: a
   lost or misdirected write), DIGBY_IOERR, DIGBY_NOMEM. */
static int digby__page_get(digby_txn *txn, uint64_t pgno, uint64_t txid,
                           const uint8_t **out, digby__frame **pin)
{
    digby_db *db = txn->db;
    digby__cache *c;
    digby__frame *f;
    int rc, again = 0;
    *pin = NULL;
    if (pgno < 2 || pgno >= txn->meta.page_count)
        return DIGBY__CORRUPT(db, pgno);
    if (!txn->rdonly && txid == txn->txid) {
        uint8_t *d;
        rc = digby__dirty_own(txn, pgno, &d);
        if (rc == DIGBY_OK) *out = d;
        return rc;
    }
    if (pgno < txn->map_pages) {
        /* a page of the memory map: verified the first time this handle
           meets this version of it, then read in place */
        const uint8_t *p = txn->map + pgno * db->page_size;
        if (!digby__map_trusted(txn, pgno, txid)) {
            if (digby__page_check_plain(db, p, pgno) || digby__node_validate(db, p))
                return DIGBY__CORRUPT(db, pgno);
            if (digby__page_txid(p) != txid) return DIGBY__CORRUPT(db, pgno);
            DIGBY__SEEN_STORE(&txn->map_seen[pgno], txid);
        } else if (digby__page_txid(p) != txid) {
            return DIGBY__CORRUPT(db, pgno);
        }
        *out = p;
        return DIGBY_OK;
    }
    f = digby__held_find(txn, pgno);
    if (f) {
        /* checked when it was first pinned; still a cheap guard */
        if (digby__page_txid(f->data) != txid) return DIGBY__CORRUPT(db, pgno);
        *out = f->data;
        return DIGBY_OK;
    }
again:
    c = digby__shard(db, pgno);
    digby__mutex_lock(&c->mu);
    f = digby__cache_find(c, pgno);
    if (f) {
        c->hits++;
        f->pins++;
        f->ref = 1;
    } else {
        /* a miss reads and verifies outside the lock, so that readers in
           other threads go on meanwhile.  The page cannot change under us:
           it is in this snapshot, and a writer only writes free pages. */
        uint8_t *buf;
        c->misses++;
        digby__mutex_unlock(&c->mu);
        buf = digby__pbuf_get(db);
        if (!buf) return DIGBY_NOMEM;
        rc = digby__page_read_raw(db, pgno, buf);
        if (rc == DIGBY_OK && digby__node_validate(db, buf))
            rc = DIGBY__CORRUPT(db, pgno);
        if (rc) { digby__pbuf_put(db, buf); return rc; }
        digby__mutex_lock(&c->mu);
        f = digby__cache_find(c, pgno);
        if (f) {
            /* another thread loaded it first */
            f->pins++;
            f->ref = 1;
            digby__pbuf_put(db, buf);
        } else {
            digby__cache_make_room(db, c);
            f = digby__frame_new(db, c, buf);
            if (!f) {
                digby__mutex_unlock(&c->mu);
                digby__pbuf_put(db, buf);
                return DIGBY_NOMEM;
            }
            f->pgno = pgno;
            f->pins = 1;
            f->hnext = c->buckets[digby__cache_slot(c, pgno)];
            c->buckets[digby__cache_slot(c, pgno)] = f;
            digby__lru_append(c, f);
        }
    }
    digby__mutex_unlock(&c->mu);
    if (digby__page_txid(f->data) != txid) {
        digby__page_unpin(db, f);
        /* another process sharing the file (48_lockfile.c) reused the
           page since this handle cached it: read it again, once */
        if (db->shm && !again) {
            digby__cache_forget(db, pgno);
            again = 1;
            goto again;
        }
        return DIGBY__CORRUPT(db, pgno);
    }
    *out = f->data;
    if (f->data[0] != DIGBY__PAGE_BRANCH || !digby__held_add(txn, pgno, f)) *pin = f;
    return DIGBY_OK;
}

/* ---- Dirty pages of the write transaction --------------------------------- */

static size_t digby__dirty_slot(uint64_t pgno, size_t cap)
{
    return (size_t)((pgno * UINT64_C(0x9E3779B97F4A7C15)) >> 17) & (cap - 1);
}

static uint8_t *digby__dirty_get(const digby_txn *txn, uint64_t pgno)
{
    const digby__dirty *d = &txn->dirty;
    size_t i;
    if (!d->cap) return NULL;
    i = digby__dirty_slot(pgno, d->cap);
    while (d->keys[i]) {
        if (d->keys[i] == pgno) return d->vals[i];
        i = (i + 1) & (d->cap - 1);
    }
    return NULL;
}

static int digby__dirty_grow(digby_txn *txn)
{
    digby__dirty *d = &txn->dirty, nd;
    const digby_allocator *a = &txn->db->alloc;
    size_t i;
    nd.cap = d->cap ? d->cap * 2 : 64;
    nd.count = d->count;
    nd.keys = (uint64_t *)digby__malloc(a, nd.cap * sizeof(uint64_t));
    nd.vals = (uint8_t **)digby__malloc(a, nd.cap * sizeof(uint8_t *));
    if (!nd.keys || !nd.vals) {
        digby__free(a, nd.keys);
        digby__free(a, nd.vals);
        return DIGBY_NOMEM;
    }
    memset(nd.keys, 0, nd.cap * sizeof(uint64_t));
    for (i = 0; i < d->cap; i++) {
        if (d->keys[i]) {
            size_t j = digby__dirty_slot(d->keys[i], nd.cap);
            while (nd.keys[j]) j = (j + 1) & (nd.cap - 1);
            nd.keys[j] = d->keys[i];
            nd.vals[j] = d->vals[i];
        }
    }
    digby__free(a, d->keys);
    digby__free(a, d->vals);
    *d = nd;
    return DIGBY_OK;
}

static int digby__dirty_put(digby_txn *txn, uint64_t pgno, uint8_t *buf)
{
    digby__dirty *d = &txn->dirty;
    size_t i;
    if ((d->count + 1) * 4 >= d->cap * 3) {
        int rc = digby__dirty_grow(txn);
        if (rc) return rc;
    }
    i = digby__dirty_slot(pgno, d->cap);
    while (d->keys[i] && d->keys[i] != pgno) i = (i + 1) & (d->cap - 1);
    if (!d->keys[i]) d->count++;
    d->keys[i] = pgno;
    d->vals[i] = buf;
    return DIGBY_OK;
}

/* Remove pgno from the dirty map (backward-shift deletion); returns its
   buffer or NULL. */
static uint8_t *digby__dirty_remove(digby_txn *txn, uint64_t pgno)
{
    digby__dirty *d = &txn->dirty;
    size_t i, j;
    uint8_t *buf;
    if (!d->cap) return NULL;
    i = digby__dirty_slot(pgno, d->cap);
    while (d->keys[i] && d->keys[i] != pgno) i = (i + 1) & (d->cap - 1);
    if (!d->keys[i]) return NULL;
    buf = d->vals[i];
    d->count--;
    j = i;
    for (;;) {
        size_t home;
        j = (j + 1) & (d->cap - 1);
        if (!d->keys[j]) break;
        home = digby__dirty_slot(d->keys[j], d->cap);
        /* move j back to i if its home is not in (i, j] cyclically */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            d->keys[i] = d->keys[j];
            d->vals[i] = d->vals[j];
            i = j;
        }
    }
    d->keys[i] = 0;
    d->vals[i] = NULL;
    return buf;
}

static void digby__dirty_release(digby_txn *txn)
{
    digby__dirty *d = &txn->dirty;
    size_t i;
    for (i = 0; i < d->cap; i++)
        if (d->keys[i]) digby__pbuf_put(txn->db, d->vals[i]);
    digby__free(&txn->db->alloc, d->keys);
    digby__free(&txn->db->alloc, d->vals);
    memset(d, 0, sizeof(*d));
}

/* This transaction's own page pgno (written by it), for reading or
   writing: its dirty buffer, or for a leaf spilled to the file
   (digby__dirty_spill) the page read back, verified (trailer, page
   number, txid, structure) and made dirty again (LMDB's
   mdb_page_unspill).  DIGBY_CORRUPT when it is neither. */
static int digby__dirty_own(digby_txn *txn, uint64_t pgno, uint8_t **out)
{
    digby_db *db = txn->db;
    uint8_t *buf = digby__dirty_get(txn, pgno);
    int rc;
    if (buf) { *out = buf; return DIGBY_OK; }
    if (!txn->spilled) return DIGBY__CORRUPT(db, pgno);
    buf = digby__pbuf_get(db);
    if (!buf) return DIGBY_NOMEM;
    rc = digby__page_read_raw(db, pgno, buf);
    if (rc == DIGBY_OK && (digby__page_txid(buf) != txn->txid || buf[0] != DIGBY__PAGE_LEAF ||
                           digby__node_validate(db, buf)))
        rc = DIGBY__CORRUPT(db, pgno);
    if (rc == DIGBY_OK) rc = digby__dirty_put(txn, pgno, buf);
    if (rc) { digby__pbuf_put(db, buf); return rc; }
    txn->unspilled++;
    *out = buf;
    return DIGBY_OK;
}

/* ---- Allocation ------------------------------------------------------------ */

/* Take a page number for a new page: one freed earlier in this transaction,
   else the lowest reusable free page, else the end of the file. */
static int digby__page_take(digby_txn *txn, uint64_t *pgno)
{
    digby_db *db = txn->db;
    int rc;
    if (txn->own_free.n) {
        *pgno = txn->own_free.v[--txn->own_free.n];
        return DIGBY_OK;
    }
    if (db->free.n) {
        uint64_t p = db->free.v[db->free.n - 1];
        rc = digby__u64s_push(&db->alloc, &txn->popped, p);
        if (rc) return rc;
        db->free.n--;
        digby__cache_forget(db, p);
        *pgno = p;
        return DIGBY_OK;
    }
    if (txn->meta.page_count >= UINT64_MAX / db->page_size) return DIGBY_FULL;
    *pgno = txn->meta.page_count++;
    return DIGBY_OK;
}

/* digby__page_take, and while savepoints are live the page's savepoint
   depth noted (room for it made first: nothing to undo). */
static int digby__page_alloc(digby_txn *txn, uint64_t *pgno)
{
    int rc;
    if (!txn->nsp) return digby__page_take(txn, pgno);
    rc = digby__sp_lvl_room(txn);
    if (rc == DIGBY_OK) rc = digby__page_take(txn, pgno);
    if (rc == DIGBY_OK) digby__sp_lvl_set(txn, *pgno);
    return rc;
}

/* Release page pgno, written by txid.  A page written by this transaction
   was never visible to anyone and is reusable at once (unless a savepoint
   may restore it: then it waits, unchanged, in sp_deferred); an older one
   becomes pending until no snapshot can see it. */
static int digby__page_free(digby_txn *txn, uint64_t pgno, uint64_t txid)
{
    digby_db *db = txn->db;
    if (pgno < 2 || pgno >= txn->meta.page_count) return DIGBY__CORRUPT(db, pgno);
    if (txid == txn->txid && txn->nsp && digby__sp_frozen(txn, pgno))
        return digby__u64s_push(&db->alloc, &txn->sp_deferred, pgno);
    if (txid == txn->txid) {
        digby__pbuf_put(db, digby__dirty_remove(txn, pgno));
        return digby__u64s_push(&db->alloc, &txn->own_free, pgno);
    }
    return digby__u64s_push(&db->alloc, &txn->freed, pgno);
}

/* Allocate a new dirty page of the given type with an empty node layout. */
static int digby__page_new(digby_txn *txn, unsigned type, uint8_t **out,
                           uint64_t *pgno)
{
    digby_db *db = txn->db;
    uint8_t *buf;
    uint64_t p;
    int rc = digby__page_alloc(txn, &p);
    if (rc) return rc;
    buf = digby__pbuf_get(db);
    if (!buf) { digby__u64s_push(&db->alloc, &txn->own_free, p); return DIGBY_NOMEM; }
    /* all of it: no heap bytes may reach the file */
    memset(buf, 0, db->page_size);
    buf[0] = (uint8_t)type;
    digby__put16(buf + 4, (uint16_t)db->usable);
    digby__page_set_pgno(buf, p);
    digby__page_set_txid(buf, txn->txid);
    rc = digby__dirty_put(txn, p, buf);
    if (rc) {
        digby__pbuf_put(db, buf);
        digby__u64s_push(&db->alloc, &txn->own_free, p);
        return rc;
    }
    *out = buf;
    *pgno = p;
    return DIGBY_OK;
}

/* Make tree page pgno (written by txid) writable in this transaction: a
   dirty page is returned as is; a clean one, or one a savepoint froze
   (61_savepoint.c), is copied to a new page number and the old one freed.
   *new_pgno is where the page now lives. */
static int digby__page_touch(digby_txn *txn, uint64_t pgno, uint64_t txid,
                             uint8_t **out, uint64_t *new_pgno)
{
    digby_db *db = txn->db;
    const uint8_t *src;
    digby__frame *pin;
    uint8_t *buf;
    uint64_t p;
    int rc;
    if (txid == txn->txid && !(txn->nsp && digby__sp_frozen(txn, pgno))) {
        rc = digby__dirty_own(txn, pgno, &buf);
        if (rc) return rc;
        *out = buf;
        *new_pgno = pgno;
        return DIGBY_OK;
    }
    rc = digby__page_get(txn, pgno, txid, &src, &pin);
    if (rc) return rc;
    buf = digby__pbuf_get(db);
    if (!buf) { digby__page_unpin(db, pin); return DIGBY_NOMEM; }
    memcpy(buf, src, db->usable);
    digby__page_unpin(db, pin);
    rc = digby__page_alloc(txn, &p);
    if (rc == DIGBY_OK) {
        digby__page_set_pgno(buf, p);
        digby__page_set_txid(buf, txn->txid);
        rc = digby__dirty_put(txn, p, buf);
        if (rc) digby__u64s_push(&db->alloc, &txn->own_free, p);
    }
    if (rc) { digby__pbuf_put(db, buf); return rc; }
    rc = digby__page_free(txn, pgno, txid);
    if (rc) return rc;
    *out = buf;
    *new_pgno = p;
    return DIGBY_OK;
}
