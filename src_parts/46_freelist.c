/* The freelist (FORMAT.md section 8).

   In memory the writer keeps `free` (pages anyone may reuse now, sorted
   descending so the lowest page number is taken first) and `pending`
   (pages freed by committed transaction T, which a snapshot older than T
   may still read).  A page freed by T becomes reusable once every live
   snapshot is at T or later: T's snapshot, and every later one, no longer
   reaches it, and the fallback meta page (the last commit) is past T too.

   Each commit persists both lists as one stream of little-endian u64 words
   in a chain of freelist pages written by that commit:
       nfree, nfree page numbers, npending, npending (txid, pgno) pairs.
   The previous chain's pages become pending frees of the committing
   transaction (cpending in memory, listed with the other pending pages):
   no snapshot reads a chain, so they wait only for a later commit to be
   durable (open falls back to the commit before the newest, and reads its
   chain) and for digby_check, which walks its snapshot's chain. */

/* db->free.v[0 .. m) is sorted descending and [m .. n) holds new pages in
   any order: sort the new ones and merge them in, O(n + k log k) rather
   than sorting everything each commit. */
static int digby__freelist_sort(digby_db *db, size_t m)
{
    size_t k = db->free.n - m, i, j, w;
    uint64_t *t;
    if (k == 0) return DIGBY_OK;
    /* t: the radix sort's scratch (none for short runs), then a copy of
       the new run */
    t = k < DIGBY__RADIX_MIN ? NULL
        : (uint64_t *)digby__malloc(&db->alloc, (k + 256) * sizeof(uint64_t));
    digby__sort_u64_with(db->free.v + m, k, 1, t);
    if (m == 0 || db->free.v[m - 1] > db->free.v[m]) { /* already in order */
        digby__free(&db->alloc, t);
        return DIGBY_OK;
    }
    if (!t) t = (uint64_t *)digby__malloc(&db->alloc, k * sizeof(uint64_t));
    if (!t) {
        digby__sort_u64(db->free.v, db->free.n, 1);
        return DIGBY_OK;
    }
    memcpy(t, db->free.v + m, k * sizeof(uint64_t));
    /* from the back: the smallest of both runs goes last */
    i = m;
    j = k;
    w = db->free.n;
    while (j > 0) {
        if (i > 0 && db->free.v[i - 1] < t[j - 1]) db->free.v[--w] = db->free.v[--i];
        else db->free.v[--w] = t[--j];
    }
    digby__free(&db->alloc, t);
    return DIGBY_OK;
}

/* Room in a pending array (*v, *n entries, *cap) for `more` more. */
static int digby__pending_room(digby_db *db, digby__pending **v, size_t n, size_t *cap,
                               size_t more)
{
    while (n + more > *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        digby__pending *np;
        if (ncap > SIZE_MAX / sizeof(digby__pending)) return DIGBY_NOMEM;
        np = (digby__pending *)digby__realloc(&db->alloc, *v, ncap * sizeof(digby__pending));
        if (!np) return DIGBY_NOMEM;
        *v = np;
        *cap = ncap;
    }
    return DIGBY_OK;
}

static int digby__pending_push(digby_db *db, uint64_t txid, uint64_t pgno)
{
    int rc = digby__pending_room(db, &db->pending, db->npending, &db->cap_pending, 1);
    if (rc) return rc;
    db->pending[db->npending].txid = txid;
    db->pending[db->npending].pgno = pgno;
    db->npending++;
    return DIGBY_OK;
}

/* Move the first k entries of pending array v (*n entries) to `free`. */
static int digby__pending_release(digby_db *db, digby__pending *v, size_t *n, size_t k)
{
    size_t i, m;
    int rc;
    if (k == 0) return DIGBY_OK;
    rc = digby__u64s_reserve(&db->alloc, &db->free, k);
    if (rc) return rc;
    m = db->free.n;
    for (i = 0; i < k; i++) db->free.v[db->free.n++] = v[i].pgno;
    memmove(v, v + k, (*n - k) * sizeof(digby__pending));
    *n -= k;
    return digby__freelist_sort(db, m);
}

/* Move pending pages that no live snapshot can reach into `free`.  Called
   by the writer at begin, with db->mu held. */
static void digby__shm_oldest(digby_db *db, uint64_t *oldest, int *chains);

static int digby__freelist_release(digby_db *db)
{
    uint64_t oldest = db->meta.txid;
    size_t k;
    uint32_t r;
    int rc, chains = db->fl_readers != 0;
    for (r = 0; r < db->max_readers; r++)
        if (db->readers[r] && db->readers[r] - 1 < oldest) oldest = db->readers[r] - 1;
    /* and the snapshots of other handles sharing the file (48_lockfile.c) */
    digby__shm_oldest(db, &oldest, &chains);
    for (k = 0; k < db->npending && db->pending[k].txid <= oldest; k++) {}
    rc = digby__pending_release(db, db->pending, &db->npending, k);
    if (rc || chains) return rc;
    /* replaced chains: once a later commit than the one that replaced them
       is durable, open's fallback (the commit before the newest) no longer
       reads them, and no snapshot ever does.  Held with the snapshots
       instead, a long-lived reader made each commit's chain, which lists
       every page pending, pending in turn: the chain grew by 2/(words a
       page holds) a commit, geometrically (512-byte pages, a checkpoint
       in parts past a held snapshot: 1,857 pages to 3 million). */
    for (k = 0; k < db->ncpending && db->cpending[k].txid < db->meta.txid; k++) {}
    return digby__pending_release(db, db->cpending, &db->ncpending, k);
}

/* Decode the persisted freelist of commit m, the one decoder of it that
   open (digby__freelist_load) and digby_check (digby__walk_freelist) share.
   buf: page_size bytes of scratch.  Each chain page is bounded, read and
   verified (trailer, page number, type, m's txid, word count) and handed to
   r->page; each listed page to r->entry (pending: it waits for the
   snapshots of txid).  The stream must be exactly nfree, nfree page
   numbers, npend, npend (txid <= m->txid, pgno) pairs, m->free_count words
   in all, every page number in [2, page_count).  Damage is reported
   through r->bad, whose result is returned.  Returns DIGBY_OK, r's errors,
   or the read's (DIGBY_IOERR, DIGBY_NOMEM). */
static int digby__freelist_read(digby_db *db, const digby__meta *m, uint8_t *buf,
                                const digby__fl_reader *r)
{
    uint64_t pgno = m->free_root, got = 0, pages = 0, left = 0, pair_txid = 0;
    size_t per = (db->usable - DIGBY__FREELIST_HDR) / 8;
    int stage = 0; /* expecting 0: nfree; 1: free pgnos; 2: npend; 3: pairs; 4: nothing */
    int rc = DIGBY_OK;
    if (!pgno) return DIGBY_OK;
    while (pgno) {
        unsigned n, i;
        if (pgno < 2 || pgno >= m->page_count || ++pages > m->page_count)
            return r->bad(r->ctx, pgno, "freelist chain leaves the file or loops");
        rc = r->page(r->ctx, pgno);
        if (rc) return rc;
        rc = digby__page_read_raw(db, pgno, buf);
        if (rc == DIGBY_CORRUPT) return r->bad(r->ctx, pgno, "freelist page fails verification");
        if (rc) return rc;
        n = digby__get16(buf + 2);
        if (buf[0] != DIGBY__PAGE_FREELIST || digby__page_txid(buf) != m->txid ||
            n > per || got + n > m->free_count)
            return r->bad(r->ctx, pgno, "bad freelist page (type, txid or word count)");
        for (i = 0; i < n; i++) {
            uint64_t w = digby__get64(buf + DIGBY__FREELIST_HDR + 8 * i);
            switch (stage) {
            case 0: case 2: /* a list's length */
                if (w > m->page_count)
                    return r->bad(r->ctx, pgno, "freelist length larger than the file");
                left = stage == 0 ? w : 2 * w;
                stage = left ? stage + 1 : stage + 2;
                break;
            case 3: /* a pending pair: txid, then pgno */
                if ((left & 1) == 0) {
                    if (w > m->txid)
                        return r->bad(r->ctx, pgno, "pending page freed by a later commit");
                    pair_txid = w;
                    left--;
                    break;
                }
                /* fall through */
            case 1:
                if (w < 2 || w >= m->page_count)
                    return r->bad(r->ctx, pgno, "listed page outside the file");
                rc = r->entry(r->ctx, stage == 3, stage == 3 ? pair_txid : 0, w);
                if (rc) return rc;
                if (--left == 0) stage++;
                break;
            default:
                return r->bad(r->ctx, pgno, "words past the end of the freelist");
            }
        }
        got += n;
        pgno = digby__page_next(buf);
    }
    if (got != m->free_count || stage != 4)
        return r->bad(r->ctx, m->free_root, "freelist length differs from the meta page");
    return DIGBY_OK;
}

static int digby__load_page(void *ctx, uint64_t pgno)
{
    digby_db *db = (digby_db *)ctx;
    return digby__u64s_push(&db->alloc, &db->freelist_pages, pgno);
}

/* At open no snapshot of this handle is live: a pending page is reusable
   at once, unless other handles share the file (48_lockfile.c), whose
   snapshots digby__freelist_release consults: then it stays pending. */
static int digby__load_entry(void *ctx, int pending, uint64_t txid, uint64_t pgno)
{
    digby_db *db = (digby_db *)ctx;
    int rc;
    if (!pending || !db->shm) return digby__u64s_push(&db->alloc, &db->free, pgno);
    if (txid) return digby__pending_push(db, txid, pgno);
    /* a replaced chain's page (txid 0: digby__fl_pair) */
    rc = digby__pending_room(db, &db->cpending, db->ncpending, &db->cap_cpending, 1);
    if (rc) return rc;
    db->cpending[db->ncpending].txid = 0;
    db->cpending[db->ncpending++].pgno = pgno;
    return DIGBY_OK;
}

/* Pending pairs in txid order (the release takes a prefix), insertion
   sort on runs that are mostly sorted already: the persisted list is the
   handle's pending pages (in order), then the commit's, then replaced
   chains'. */
static void digby__pending_sort(digby__pending *v, size_t n)
{
    size_t i, j;
    for (i = 1; i < n; i++) {
        digby__pending x = v[i];
        for (j = i; j > 0 && v[j - 1].txid > x.txid; j--) v[j] = v[j - 1];
        v[j] = x;
    }
}

static int digby__load_bad(void *ctx, uint64_t pgno, const char *what)
{
    (void)what;
    return DIGBY__CORRUPT((digby_db *)ctx, pgno);
}

/* Read the persisted freelist of db->meta into db->free (every page of it
   reusable: no snapshot of this handle is live at open; with other
   handles sharing the file, pending pages into db->pending) and
   db->freelist_pages.  Returns
   DIGBY_OK, DIGBY_CORRUPT, DIGBY_IOERR, DIGBY_NOMEM. */
static int digby__freelist_load(digby_db *db)
{
    digby__fl_reader r;
    uint8_t *buf;
    int rc;
    if (!db->meta.free_root) return DIGBY_OK;
    buf = (uint8_t *)digby__malloc(&db->alloc, db->page_size);
    if (!buf) return DIGBY_NOMEM;
    r.ctx = db;
    r.page = digby__load_page;
    r.entry = digby__load_entry;
    r.bad = digby__load_bad;
    rc = digby__freelist_read(db, &db->meta, buf, &r);
    digby__free(&db->alloc, buf);
    if (rc == DIGBY_OK) rc = digby__freelist_sort(db, 0);
    digby__pending_sort(db->pending, db->npending);
    return rc;
}

typedef struct digby__prev_ctx {
    digby_db *db;
    digby__u64s *out;
} digby__prev_ctx;

static int digby__prev_page(void *ctx, uint64_t pgno)
{
    digby__prev_ctx *p = (digby__prev_ctx *)ctx;
    return digby__u64s_push(&p->db->alloc, p->out, pgno);
}

static int digby__prev_entry(void *ctx, int pending, uint64_t txid, uint64_t pgno)
{
    (void)ctx; (void)pending; (void)txid; (void)pgno;
    return DIGBY_OK;
}

static int digby__prev_bad(void *ctx, uint64_t pgno, const char *what)
{
    (void)ctx; (void)pgno; (void)what;
    return DIGBY_CORRUPT;
}

/* The freelist chain of the commit before db->meta, when the other meta
   slot holds it (txid one less, as copy-on-write commits go), into *out;
   left empty when not (or damaged: then nothing is taken for a chain). */
static int digby__prev_chain(digby_db *db, digby__u64s *out)
{
    uint8_t *buf;
    digby__meta m;
    digby__dkey k;
    digby__fl_reader r;
    digby__prev_ctx pc;
    uint64_t slot = (db->meta.txid & 1) ^ 1;
    int rc, trusted;
    if (db->meta.txid < 2 || db->crypt) return DIGBY_OK;
    buf = (uint8_t *)digby__malloc(&db->alloc, db->page_size);
    if (!buf) return DIGBY_NOMEM;
    memset(&k, 0, sizeof(k));
    rc = digby__read_at(db, slot * db->page_size, buf, db->page_size);
    if (rc == DIGBY_OK) rc = digby__meta_slot(db, buf, db->page_size, slot, &m, &k, &trusted);
    if (rc == DIGBY_OK && m.txid + 1 == db->meta.txid && m.free_root) {
        pc.db = db;
        pc.out = out;
        r.ctx = &pc;
        r.page = digby__prev_page;
        r.entry = digby__prev_entry;
        r.bad = digby__prev_bad;
        rc = digby__freelist_read(db, &m, buf, &r);
    }
    digby__free(&db->alloc, buf);
    if (rc == DIGBY_NOMEM) return rc;
    if (rc) out->n = 0;
    return DIGBY_OK;
}

/* Another handle sharing the file wrote since this one's writer last did
   (48_lockfile.c): the lists in memory are stale.  Load db->meta's
   persisted freelist instead (db->wmu and the writer lock held).  On
   failure the lists are partial: the caller keeps db->shm_stale set, so
   that no commit persists them.  Returns digby__freelist_load's errors. */
static int digby__freelist_reload(digby_db *db)
{
    digby__u64s prev = {NULL, 0, 0};
    size_t i, j;
    int rc;
    db->free.n = 0;
    db->npending = 0;
    db->ncpending = 0;
    db->freelist_pages.n = 0;
    rc = digby__freelist_load(db);
    if (rc) return rc;
    /* The chain the newest commit replaced is listed pending at its txid,
       as the pages it freed are; but snapshots never read a chain, and
       only open's fallback to the commit before it does: held with the
       snapshots, the chain would grow geometrically again while a reader
       is live and the writers take turns (46_freelist.c's header).  That
       commit, when it is the one before the newest (in the other meta
       slot, as copy-on-write commits always are), names the chain: its
       pages go to cpending.  Anything else stays pending, which is
       safe. */
    rc = digby__prev_chain(db, &prev);
    if (rc == DIGBY_OK && prev.n) {
        digby__sort_u64(prev.v, prev.n, 0);
        for (i = j = 0; i < db->npending; i++) {
            digby__pending e = db->pending[i];
            if (e.txid == db->meta.txid && digby__u64_has(prev.v, prev.n, e.pgno)) {
                rc = digby__pending_room(db, &db->cpending, db->ncpending, &db->cap_cpending, 1);
                if (rc) break;
                db->cpending[db->ncpending++] = e;
            } else {
                db->pending[j++] = e;
            }
        }
        if (rc == DIGBY_OK) db->npending = j;
    }
    digby__u64s_release(&db->alloc, &prev);
    return rc;
}

/* The pending pairs a commit persists: the handle's pending pages, those
   this transaction freed, the replaced chains, and the chain it replaces. */
static size_t digby__fl_npairs(const digby_txn *txn)
{
    const digby_db *db = txn->db;
    return db->npending + txn->freed.n + db->ncpending + txn->cfreed.n;
}

static digby__pending digby__fl_pair(const digby_txn *txn, size_t i)
{
    const digby_db *db = txn->db;
    digby__pending e;
    e.txid = txn->txid;
    if (i < db->npending) return db->pending[i];
    i -= db->npending;
    if (i < txn->freed.n) { e.pgno = txn->freed.v[i]; return e; }
    i -= txn->freed.n;
    if (i < db->ncpending) {
        /* chains replaced before the last commit: no commit this one can
           fall back to reads them, so their txid is 0, which a handle
           that loads the list (48_lockfile.c) takes for "a replaced
           chain", not "a page a snapshot may read" */
        e.txid = 0;
        e.pgno = db->cpending[i].pgno;
        return e;
    }
    e.pgno = txn->cfreed.v[i - db->ncpending];
    return e;
}

/* Persist the freelist for the committing transaction: free the old chain,
   allocate a new one as dirty pages and fill it; record it in txn->meta and
   txn->chain.  Allocating chain pages only shrinks the lists, so a chain
   sized before allocation always suffices; trailing pages may hold no words.
   The in-memory lists change in digby__freelist_finish(), once the commit
   is durable. */
static int digby__freelist_commit(digby_txn *txn)
{
    digby_db *db = txn->db;
    size_t per = (db->usable - DIGBY__FREELIST_HDR) / 8;
    size_t i, j, nfree, npend, total, pi = 0, in_page = 0;
    uint8_t *page = NULL;
    int rc;
    txn->cfreed.n = 0;
    for (i = 0; i < db->freelist_pages.n; i++) {
        uint64_t p = db->freelist_pages.v[i];
        if (p < 2 || p >= txn->meta.page_count) return DIGBY__CORRUPT(db, p);
        rc = digby__u64s_push(&db->alloc, &txn->cfreed, p);
        if (rc) return rc;
    }
    txn->meta.free_root = 0;
    txn->meta.free_count = 0;
    txn->chain.n = 0;
    for (;;) {
        size_t words = 2 + db->free.n + txn->own_free.n + 2 * digby__fl_npairs(txn);
        size_t need = (words + per - 1) / per;
        uint64_t p;
        if (db->free.n + txn->own_free.n + digby__fl_npairs(txn) == 0)
            need = 0;
        if (txn->chain.n >= need) break;
        rc = digby__page_alloc(txn, &p);
        if (rc == DIGBY_OK) rc = digby__u64s_push(&db->alloc, &txn->chain, p);
        if (rc) return rc;
    }
    if (txn->chain.n == 0) return DIGBY_OK;
    nfree = db->free.n + txn->own_free.n;
    npend = digby__fl_npairs(txn);
    total = 2 + nfree + 2 * npend;
    for (i = 0; i < txn->chain.n; i++) {
        uint8_t *nb = digby__pbuf_get(db);
        if (!nb) return DIGBY_NOMEM;
        memset(nb, 0, db->page_size);
        nb[0] = DIGBY__PAGE_FREELIST;
        digby__page_set_pgno(nb, txn->chain.v[i]);
        digby__page_set_txid(nb, txn->txid);
        if (i + 1 < txn->chain.n) digby__page_set_next(nb, txn->chain.v[i + 1]);
        rc = digby__dirty_put(txn, txn->chain.v[i], nb);
        if (rc) { digby__pbuf_put(db, nb); return rc; }
    }
    for (j = 0; j < total; j++) {
        uint64_t item;
        if (j == 0) item = nfree;
        else if (j <= nfree) {
            size_t k = j - 1;
            item = k < db->free.n ? db->free.v[k] : txn->own_free.v[k - db->free.n];
        } else if (j == nfree + 1) item = npend;
        else {
            size_t k = j - nfree - 2;
            digby__pending e = digby__fl_pair(txn, k / 2);
            item = (k & 1) ? e.pgno : e.txid;
        }
        if (!page || in_page == per) {
            page = digby__dirty_get(txn, txn->chain.v[pi++]);
            in_page = 0;
        }
        digby__put64(page + DIGBY__FREELIST_HDR + 8 * in_page, item);
        digby__put16(page + 2, (uint16_t)++in_page);
    }
    txn->meta.free_root = txn->chain.v[0];
    txn->meta.free_count = total;
    return DIGBY_OK;
}

/* The commit is durable: adopt the lists it persisted. */
static void digby__freelist_finish(digby_txn *txn)
{
    digby_db *db = txn->db;
    digby__u64s tmp;
    size_t i, m = db->free.n;
    int rc = DIGBY_OK;
    if (db->free.n + txn->own_free.n > db->free.cap)
        rc = digby__u64s_reserve(&db->alloc, &db->free, txn->own_free.n);
    /* the reservations were made before the commit wrote anything, in
       digby__freelist_reserve(); these cannot fail */
    for (i = 0; i < txn->own_free.n && rc == DIGBY_OK; i++)
        db->free.v[db->free.n++] = txn->own_free.v[i];
    for (i = 0; i < txn->freed.n && rc == DIGBY_OK; i++)
        rc = digby__pending_push(db, txn->txid, txn->freed.v[i]);
    for (i = 0; i < txn->cfreed.n && rc == DIGBY_OK; i++) {
        db->cpending[db->ncpending].txid = txn->txid;
        db->cpending[db->ncpending++].pgno = txn->cfreed.v[i];
    }
    txn->cfreed.n = 0;
    digby__freelist_sort(db, m);
    tmp = db->freelist_pages;
    db->freelist_pages = txn->chain;
    txn->chain = tmp;
    txn->chain.n = 0;
    txn->popped.n = 0;
    DIGBY_ASSERT(rc == DIGBY_OK);
}

/* Reserve the memory digby__freelist_finish() will need, so that a commit
   that reached the disk cannot fail to record it in memory. */
static int digby__freelist_reserve(digby_txn *txn)
{
    digby_db *db = txn->db;
    int rc = digby__u64s_reserve(&db->alloc, &db->free, txn->own_free.n);
    if (rc == DIGBY_OK)
        rc = digby__pending_room(db, &db->pending, db->npending, &db->cap_pending, txn->freed.n);
    if (rc == DIGBY_OK)
        rc = digby__pending_room(db, &db->cpending, db->ncpending, &db->cap_cpending,
                                 txn->cfreed.n);
    return rc;
}

/* The transaction ends without committing: return the pages it took from
   the free list. */
static void digby__freelist_abort(digby_txn *txn)
{
    digby_db *db = txn->db;
    size_t i, m = db->free.n;
    /* the array never shrinks, so the popped pages still fit in it */
    DIGBY_ASSERT(db->free.n + txn->popped.n <= db->free.cap);
    for (i = 0; i < txn->popped.n; i++) db->free.v[db->free.n++] = txn->popped.v[i];
    digby__freelist_sort(db, m);
    txn->popped.n = 0;
}
