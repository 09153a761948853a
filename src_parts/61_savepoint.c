/* Savepoints: nested marks inside a read-write transaction, rolled back to or released.

   SQLite's SAVEPOINT semantics (https://sqlite.org/lang_savepoint.html):
   rolling back to a savepoint undoes everything since it and keeps it;
   releasing one merges it, and every newer one, into the level around
   it; rolling back to an outer one discards the inner ones.  The
   mechanism is LMDB's nested transaction turned inside out: LMDB copies a
   page into the child's dirty list the first time the child writes it;
   here the pages a transaction wrote before its newest savepoint are
   frozen, and a write to one copies it to a new page number, exactly as
   a page of an older commit is copied (digby__page_touch).  The frozen
   page keeps the savepoint's bytes, so a rollback restores no page: it
   puts back the roots and the counters and lets go of what came after.

   Copy-on-write mode.  sp_lvl notes, for every page allocated while
   savepoints are live, the depth it was allocated at (1: after the
   outermost savepoint; a page not in it has depth 0).  A page of this
   transaction is frozen when its depth is below the number of live
   savepoints.  Freeing a frozen page defers it (sp_deferred) instead of
   making it reusable: a rollback may need it again.  Rolling back to the
   savepoint at depth L: every page allocated at depth >= L loses its
   dirty buffer and is free in the transaction again (own_free is the
   savepoint's copy plus what was taken since from the handle's free list
   and from the end of the file), except a page written to the file since
   (an overflow page, DIGBY__SP_WRITTEN), which waits for the commit in
   txn->freed: no page is written twice before the commit's sync
   (54_overflow.c).  The pages freed since are in use again (freed and
   sp_deferred cut back), and the meta page's roots and counts and every
   table handle's descriptor are the savepoint's.  Releasing it: depths
   >= L become L - 1, and a deferred page no live savepoint froze any more
   is freed for real.

   Log mode.  While the transaction writes to the memtable, its nodes made
   before the newest savepoint carry DIGBY__MN_FROZEN; a write to such a
   key marks the node dead and makes a new one (instead of changing the
   node in place), and the dead node is listed in sp_dead.  Rolling back:
   the nodes made since are marked dead (as an abort marks them all), and
   the ones killed since are alive again.  An escalation (66_log_mode.c)
   applies the nodes to the tree one savepoint at a time, taking each
   savepoint again in copy-on-write form between them, so the checkpoint
   of other transactions' commits it starts with stays whatever happens
   to the savepoints.

   Memory: per savepoint a copy of own_free (8 bytes a page) and of the
   table handles' descriptors; per page first written after a savepoint,
   one page (its copy) and 12 to 16 bytes of sp_lvl; log mode, a new node
   and 8 bytes per node superseded. */

/* ---- Page depths ---------------------------------------------------------- */

static size_t digby__sp_slot(uint64_t pgno, size_t cap)
{
    return (size_t)((pgno * UINT64_C(0x9E3779B97F4A7C15)) >> 23) & (cap - 1);
}

static uint32_t digby__sp_lvl_get(const digby_txn *txn, uint64_t pgno)
{
    const digby__splvl *m = &txn->sp_lvl;
    size_t i;
    if (!m->cap) return 0;
    for (i = digby__sp_slot(pgno, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (m->keys[i] == pgno) return m->lvl[i];
    return 0;
}

/* The depth page pgno was allocated at (0: before every live savepoint). */
static uint32_t digby__sp_depth(const digby_txn *txn, uint64_t pgno)
{
    return digby__sp_lvl_get(txn, pgno) & ~DIGBY__SP_WRITTEN;
}

/* Whether page pgno, written by this transaction, is kept for a savepoint
   (allocated before the newest one). */
static int digby__sp_frozen(const digby_txn *txn, uint64_t pgno)
{
    return digby__sp_depth(txn, pgno) < txn->nsp;
}

/* Room in sp_lvl for one more page, so that digby__sp_lvl_set cannot fail. */
static int digby__sp_lvl_room(digby_txn *txn)
{
    digby__splvl *m = &txn->sp_lvl, nm;
    const digby_allocator *a = &txn->db->alloc;
    size_t i;
    if ((m->count + 1) * 4 < m->cap * 3) return DIGBY_OK;
    nm.cap = m->cap ? m->cap * 2 : 64;
    if (nm.cap > SIZE_MAX / sizeof(uint64_t)) return DIGBY_NOMEM;
    nm.count = m->count;
    nm.keys = (uint64_t *)digby__malloc(a, nm.cap * sizeof(uint64_t));
    nm.lvl = (uint32_t *)digby__malloc(a, nm.cap * sizeof(uint32_t));
    if (!nm.keys || !nm.lvl) {
        digby__free(a, nm.keys);
        digby__free(a, nm.lvl);
        return DIGBY_NOMEM;
    }
    memset(nm.keys, 0, nm.cap * sizeof(uint64_t));
    for (i = 0; i < m->cap; i++) {
        size_t j;
        if (!m->keys[i]) continue;
        for (j = digby__sp_slot(m->keys[i], nm.cap); nm.keys[j]; j = (j + 1) & (nm.cap - 1)) {}
        nm.keys[j] = m->keys[i];
        nm.lvl[j] = m->lvl[i];
    }
    digby__free(a, m->keys);
    digby__free(a, m->lvl);
    *m = nm;
    return DIGBY_OK;
}

/* Page pgno was allocated now, at the current depth (room made). */
static void digby__sp_lvl_set(digby_txn *txn, uint64_t pgno)
{
    digby__splvl *m = &txn->sp_lvl;
    size_t i = digby__sp_slot(pgno, m->cap);
    DIGBY_ASSERT(m->cap && (m->count + 1) * 4 <= m->cap * 3);
    while (m->keys[i] && m->keys[i] != pgno) i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) m->count++;
    m->keys[i] = pgno;
    m->lvl[i] = txn->nsp;
}

/* Page pgno (allocated now) goes to the file at once. */
static void digby__sp_lvl_written(digby_txn *txn, uint64_t pgno)
{
    digby__splvl *m = &txn->sp_lvl;
    size_t i;
    for (i = digby__sp_slot(pgno, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == pgno) {
            m->lvl[i] |= DIGBY__SP_WRITTEN;
            return;
        }
    }
    DIGBY_ASSERT(0); /* digby__page_alloc noted it */
}

static void digby__sp_lvl_clear(digby_txn *txn)
{
    digby__free(&txn->db->alloc, txn->sp_lvl.keys);
    digby__free(&txn->db->alloc, txn->sp_lvl.lvl);
    memset(&txn->sp_lvl, 0, sizeof(txn->sp_lvl));
}

/* ---- Taking, freeing ------------------------------------------------------ */

static void digby__sp_drop(digby_txn *txn, digby__savepoint *s)
{
    digby__free(&txn->db->alloc, s->own_free);
    digby__free(&txn->db->alloc, s->tabs);
    s->own_free = NULL;
    s->tabs = NULL;
}

/* Record the transaction's copy-on-write state in s: the meta page, the
   page lists' lengths, own_free and the descriptors of the table handles
   from s->tables_at on.  Either all of it or, out of memory, s unchanged. */
static int digby__sp_take(digby_txn *txn, digby__savepoint *s)
{
    const digby_allocator *a = &txn->db->alloc;
    uint64_t *of = NULL;
    digby__sptab *tabs = NULL;
    digby_table *t;
    size_t n = 0;
    for (t = s->tables_at; t; t = t->next) n++;
    if (txn->own_free.n) {
        of = (uint64_t *)digby__malloc(a, txn->own_free.n * sizeof(uint64_t));
        if (!of) return DIGBY_NOMEM;
        memcpy(of, txn->own_free.v, txn->own_free.n * sizeof(uint64_t));
    }
    if (n) {
        tabs = (digby__sptab *)digby__malloc(a, n * sizeof(*tabs));
        if (!tabs) { digby__free(a, of); return DIGBY_NOMEM; }
        for (n = 0, t = s->tables_at; t; t = t->next, n++) {
            tabs[n].t = t;
            tabs[n].tree = t->tree;
            tabs[n].dirty = t->dirty;
            tabs[n].dropped = t->dropped;
        }
    }
    digby__sp_drop(txn, s);
    s->own_free = of;
    s->own_free_n = txn->own_free.n;
    s->tabs = tabs;
    s->ntabs = n;
    s->meta = txn->meta;
    s->freed_n = txn->freed.n;
    s->popped_n = txn->popped.n;
    s->deferred_n = txn->sp_deferred.n;
    return DIGBY_OK;
}

/* Everything savepoints hold (the transaction ends). */
static void digby__sp_free_all(digby_txn *txn)
{
    const digby_allocator *a = &txn->db->alloc;
    uint32_t i;
    for (i = 0; i < txn->nsp; i++) digby__sp_drop(txn, &txn->sp[i]);
    digby__free(a, txn->sp);
    txn->sp = NULL;
    txn->nsp = txn->cap_sp = 0;
    digby__sp_lvl_clear(txn);
    digby__u64s_release(a, &txn->sp_deferred);
    digby__free(a, txn->sp_dead);
    txn->sp_dead = NULL;
    txn->sp_dead_n = txn->sp_dead_cap = 0;
}

/* The index of savepoint id in txn->sp, or -1. */
static long digby__sp_find(const digby_txn *txn, uint32_t id)
{
    uint32_t i;
    for (i = 0; i < txn->nsp; i++)
        if (txn->sp[i].id == id) return (long)i;
    return -1;
}

/* The checks every savepoint call makes, in order. */
static int digby__sp_args(digby_txn *txn)
{
    if (!txn) return DIGBY_INVALID;
    if (txn->rdonly) return DIGBY_READONLY;
    if (txn->poisoned) return DIGBY_POISONED;
    return DIGBY_OK;
}

DIGBY_API int digby_savepoint(digby_txn *txn, uint32_t *id_out)
{
    digby__savepoint *s;
    int rc;
    if (!id_out) return DIGBY_INVALID;
    *id_out = 0;
    if ((rc = digby__sp_args(txn)) != DIGBY_OK) return rc;
    if (txn->blob || txn->rtables) return DIGBY_BUSY;
    if (txn->nsp >= DIGBY_MAX_SAVEPOINTS) return DIGBY_FULL;
    if (txn->nsp == txn->cap_sp) {
        uint32_t ncap = txn->cap_sp ? 2 * txn->cap_sp : 4;
        digby__savepoint *ns = (digby__savepoint *)digby__realloc(
            &txn->db->alloc, txn->sp, ncap * sizeof(*ns));
        if (!ns) return DIGBY_NOMEM;
        txn->sp = ns;
        txn->cap_sp = ncap;
    }
    s = &txn->sp[txn->nsp];
    memset(s, 0, sizeof(*s));
    s->tables_at = txn->tables;
    rc = digby__sp_take(txn, s);
    if (rc) return rc;
    s->nops = txn->nops;
    s->ndead = txn->sp_dead_n;
    if (txn->logged) digby__log_sp_mark(txn);
    if (++txn->sp_next_id == 0) txn->sp_next_id = 1;
    s->id = txn->sp_next_id;
    txn->nsp++;
    /* the append hint's leaf is frozen now: no more writes in place */
    txn->hint_tree = NULL;
    *id_out = s->id;
    return DIGBY_OK;
}

/* ---- Rolling back ------------------------------------------------------- */

/* Whether page p, reusable at savepoint sp[k], stays so after a rollback
   to it: not when it was written to the file since (allocated at a depth
   above k and DIGBY__SP_WRITTEN). */
static int digby__sp_reusable(const digby_txn *txn, uint32_t k, uint64_t p)
{
    uint32_t v = digby__sp_lvl_get(txn, p);
    return !(v & DIGBY__SP_WRITTEN) || (v & ~DIGBY__SP_WRITTEN) <= k;
}

/* Copy-on-write state back to savepoint sp[k] (depth k + 1).  Every page
   allocated since (depth above k) loses its dirty buffer and is free in
   this transaction again: own_free is the savepoint's copy plus the pages
   taken since from the handle's free list (txn->popped past the
   savepoint's length; they stay taken) and from the end of the file
   (page_count stays); but a page written to the file since (an overflow
   page) goes to txn->freed instead, pending at commit like an overflow
   page freed in the transaction: a page is never written twice before
   the commit's sync (54_overflow.c says why).  The pages freed since are
   in use again (freed and sp_deferred cut back).  Room is made first:
   DIGBY_NOMEM leaves everything as it was. */
static int digby__sp_cow_rollback(digby_txn *txn, uint32_t k)
{
    digby_db *db = txn->db;
    const digby__savepoint *s = &txn->sp[k];
    digby__splvl *m = &txn->sp_lvl;
    uint64_t p, end = txn->meta.page_count;
    size_t i, nwritten = 0, room;
    int rc;
    for (i = 0; i < m->cap; i++)
        if (m->keys[i] && (m->lvl[i] & ~DIGBY__SP_WRITTEN) > k && (m->lvl[i] & DIGBY__SP_WRITTEN))
            nwritten++;
    room = s->own_free_n + (txn->popped.n - s->popped_n) + (size_t)(end - s->meta.page_count);
    rc = digby__u64s_reserve(&db->alloc, &txn->own_free,
                             room > txn->own_free.n ? room - txn->own_free.n : 0);
    if (rc == DIGBY_OK && s->freed_n + nwritten > txn->freed.n)
        rc = digby__u64s_reserve(&db->alloc, &txn->freed, s->freed_n + nwritten - txn->freed.n);
    if (rc) return rc;
    txn->freed.n = s->freed_n;
    txn->sp_deferred.n = s->deferred_n;
    for (i = 0; i < m->cap; i++) {
        if (!m->keys[i] || (m->lvl[i] & ~DIGBY__SP_WRITTEN) <= k) continue;
        if (m->lvl[i] & DIGBY__SP_WRITTEN) txn->freed.v[txn->freed.n++] = m->keys[i];
        else digby__pbuf_put(db, digby__dirty_remove(txn, m->keys[i]));
        /* freed at depth k + 1: past this savepoint's lists, before the
           lists of any savepoint taken from now on */
        m->lvl[i] = (m->lvl[i] & DIGBY__SP_WRITTEN) | (k + 1);
    }
    txn->own_free.n = 0;
    for (i = 0; i < s->own_free_n; i++)
        if (digby__sp_reusable(txn, k, s->own_free[i]))
            txn->own_free.v[txn->own_free.n++] = s->own_free[i];
    for (i = s->popped_n; i < txn->popped.n; i++)
        if (digby__sp_reusable(txn, k, txn->popped.v[i]))
            txn->own_free.v[txn->own_free.n++] = txn->popped.v[i];
    for (p = s->meta.page_count; p < end; p++)
        if (digby__sp_reusable(txn, k, p)) txn->own_free.v[txn->own_free.n++] = p;
    txn->meta = s->meta;
    txn->meta.page_count = end;
    return DIGBY_OK;
}

DIGBY_API int digby_rollback_to(digby_txn *txn, uint32_t id)
{
    const digby__savepoint *s;
    digby_table *t;
    digby_cursor *c;
    long k;
    uint32_t i;
    int rc;
    if ((rc = digby__sp_args(txn)) != DIGBY_OK) return rc;
    if ((k = digby__sp_find(txn, id)) < 0) return DIGBY_NOTFOUND;
    if (txn->blob) return DIGBY_BUSY;
    s = &txn->sp[k];
    if (txn->logged) digby__log_sp_rollback(txn, s);
    else if ((rc = digby__sp_cow_rollback(txn, (uint32_t)k)) != DIGBY_OK) return rc;
    /* table handles: the ones opened since are void, the others as they were */
    for (t = txn->tables; t && t != s->tables_at; t = t->next) {
        t->dropped = 1;
        t->dirty = 0;
    }
    for (i = 0; i < s->ntabs; i++) {
        s->tabs[i].t->tree = s->tabs[i].tree;
        s->tabs[i].t->dirty = s->tabs[i].dirty;
        s->tabs[i].t->dropped = s->tabs[i].dropped;
    }
    for (i = (uint32_t)k + 1; i < txn->nsp; i++) digby__sp_drop(txn, &txn->sp[i]);
    txn->nsp = (uint32_t)k + 1;
    /* cursors stand nowhere; large-item readers may hold pages freed now */
    for (c = txn->cursors; c; c = c->next) digby__cursor_reset(c);
    if (txn->large)
        for (i = 0; i < 3; i++) digby__rd_drop(txn->db, &txn->large->rd[i]);
    txn->hint_tree = NULL;
    txn->mod++;
    return DIGBY_OK;
}

/* ---- Releasing ---------------------------------------------------------- */

/* Copy-on-write state: savepoints sp[k..] go, depth becomes k.  Out of
   memory (own_free's room, made first) nothing changes. */
static int digby__sp_cow_release(digby_txn *txn, uint32_t k)
{
    digby_db *db = txn->db;
    digby__splvl *m = &txn->sp_lvl;
    size_t i, j, from = txn->sp[k].deferred_n;
    int rc = digby__u64s_reserve(&db->alloc, &txn->own_free, txn->sp_deferred.n - from);
    if (rc) return rc;
    for (i = 0; i < m->cap; i++)
        if (m->keys[i] && (m->lvl[i] & ~DIGBY__SP_WRITTEN) > k)
            m->lvl[i] = (m->lvl[i] & DIGBY__SP_WRITTEN) | k;
    for (i = j = from; i < txn->sp_deferred.n; i++) {
        uint64_t p = txn->sp_deferred.v[i];
        if (digby__sp_depth(txn, p) < k) {
            txn->sp_deferred.v[j++] = p; /* an outer savepoint still needs it */
        } else {
            digby__pbuf_put(db, digby__dirty_remove(txn, p));
            txn->own_free.v[txn->own_free.n++] = p;
        }
    }
    txn->sp_deferred.n = j;
    return DIGBY_OK;
}

/* Savepoints sp[k..] go (release). */
static int digby__sp_release_at(digby_txn *txn, uint32_t k)
{
    uint32_t i;
    if (!txn->logged) {
        int rc = digby__sp_cow_release(txn, k);
        if (rc) return rc;
    }
    for (i = k; i < txn->nsp; i++) digby__sp_drop(txn, &txn->sp[i]);
    txn->nsp = k;
    txn->hint_tree = NULL;
    if (k == 0) {
        DIGBY_ASSERT(txn->sp_deferred.n == 0);
        digby__sp_lvl_clear(txn);
        digby__log_sp_settle(txn);
    }
    return DIGBY_OK;
}

/* Release every savepoint (commit). */
static int digby__sp_release_all(digby_txn *txn)
{
    return txn->nsp ? digby__sp_release_at(txn, 0) : DIGBY_OK;
}

DIGBY_API int digby_release(digby_txn *txn, uint32_t id)
{
    long k;
    int rc;
    if ((rc = digby__sp_args(txn)) != DIGBY_OK) return rc;
    if ((k = digby__sp_find(txn, id)) < 0) return DIGBY_NOTFOUND;
    return digby__sp_release_at(txn, (uint32_t)k);
}
