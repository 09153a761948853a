/* Transactions: begin, commit in named steps, abort, puts, gets, deletes.

   Transactions.  One read-write transaction at a time (db->wmu); any
   number of read-only ones, each registered in the reader table with the
   txid of its snapshot so the writer never reuses a page it can reach. */

static void digby__txn_release(digby_txn *txn)
{
    digby_db *db = txn->db;
    const digby_allocator *a = &db->alloc;
    digby_table *t, *tn;
    digby__rtable_release_all(txn); /* before the cursors: frees scans */
    while (txn->cursors) digby_cursor_close(txn->cursors);
    digby__blob_discard(txn, 0);
    digby__large_scratch_release(txn);
    digby__held_release(txn);
    for (t = txn->tables; t; t = tn) {
        tn = t->next;
        digby__free(a, t);
    }
    digby__dirty_release(txn);
    digby__sp_free_all(txn);
    digby__free(a, txn->ops);
    digby__free(a, txn->streak_key);
    digby__u64s_release(a, &txn->own_free);
    digby__u64s_release(a, &txn->freed);
    digby__u64s_release(a, &txn->cfreed);
    digby__u64s_release(a, &txn->popped);
    digby__u64s_release(a, &txn->chain);
    digby__free(a, txn->scratch);
    digby__free(a, txn->io);
    digby__free(a, txn->tmp);
    digby__free(a, txn->spans);
    digby__free(a, txn);
}

/* End a transaction's registration with the handle. */
static void digby__txn_unregister(digby_txn *txn)
{
    digby_db *db = txn->db;
    struct digby__mapping *done;
    digby__mem *mem;
    digby__mutex_lock(&db->mu);
    if (txn->rdonly) {
        db->readers[txn->reader_slot] = 0;
        digby__shm_reader_out(db, txn->txid);
    }
    if (txn->writer_counted) db->log.writers--;
    txn->writer_counted = 0;
    db->ntxn--;
    done = digby__map_leave(db, txn);
    mem = digby__txn_mem_drop(txn);
    digby__mutex_unlock(&db->mu);
    digby__map_free(db, done);
    digby__mem_free(mem);
    if (txn->xlocked) digby__shm_writer_out(db);
    txn->xlocked = 0;
    if (!txn->rdonly && !txn->internal) digby__mutex_unlock(&db->wmu);
}

/* End a transaction: unregister and free it. */
static void digby__txn_end(digby_txn *txn)
{
    digby__txn_unregister(txn);
    digby__txn_release(txn);
}

/* A read-write transaction's scratch space (before any lock is taken). */
static int digby__txn_scratch(digby_db *db, digby_txn *txn)
{
    size_t ps = db->page_size, nspans = 2 * (db->usable / 4 + 2);
    txn->tmp = (uint8_t *)digby__malloc(&db->alloc, 6 * ps);
    txn->spans = (digby__span *)digby__malloc(
        &db->alloc, nspans * (sizeof(digby__span) + sizeof(size_t) + 2 * sizeof(uint16_t)) +
                        sizeof(size_t));
    if (!txn->tmp || !txn->spans) {
        digby__free(&db->alloc, txn->tmp);
        digby__free(&db->alloc, txn->spans);
        return DIGBY_NOMEM;
    }
    txn->fsum = (size_t *)(void *)(txn->spans + nspans);
    txn->lcpl = (uint16_t *)(void *)(txn->fsum + nspans + 1);
    txn->lcpr = txn->lcpl + nspans;
    txn->cell = txn->tmp + ps;
    txn->cell2 = txn->tmp + 2 * ps;
    txn->cell3 = txn->tmp + 3 * ps;
    txn->sep = txn->tmp + 4 * ps;
    txn->tmp2 = txn->tmp + 5 * ps;
    return DIGBY_OK;
}

/* A checkpoint's or digby_compact's read-write transaction with the given
   txid, begun by a caller that holds db->wmu (which it keeps when this one
   ends). */
static int digby__txn_internal(digby_db *db, uint64_t txid, digby_txn **out)
{
    digby_txn *txn = (digby_txn *)digby__malloc(&db->alloc, sizeof(*txn));
    int rc;
    *out = NULL;
    if (!txn) return DIGBY_NOMEM;
    memset(txn, 0, sizeof(*txn));
    txn->db = db;
    txn->internal = 1;
    if (digby__txn_scratch(db, txn)) { digby__free(&db->alloc, txn); return DIGBY_NOMEM; }
    digby__mutex_lock(&db->mu);
    rc = digby__freelist_release(db);
    if (rc == DIGBY_OK) {
        txn->meta = db->meta;
        txn->txid = txid;
        digby__map_enter(db, txn);
        db->ntxn++;
    }
    digby__mutex_unlock(&db->mu);
    if (rc) { digby__txn_release(txn); return rc; }
    *out = txn;
    return DIGBY_OK;
}

DIGBY_API int digby_txn_begin(digby_db *db, unsigned flags, digby_txn **out)
{
    digby_txn *txn;
    int rc = DIGBY_OK;
    if (!out) return DIGBY_INVALID;
    *out = NULL;
    if (!db || (flags & ~(DIGBY_TXN_READONLY | DIGBY_TXN_NO_SYNC | DIGBY_TXN_NOWAIT)))
        return DIGBY_INVALID;
    if (!(flags & DIGBY_TXN_READONLY) && (db->flags & DIGBY_OPEN_READONLY))
        return DIGBY_READONLY;
    txn = (digby_txn *)digby__malloc(&db->alloc, sizeof(*txn));
    if (!txn) return DIGBY_NOMEM;
    memset(txn, 0, sizeof(*txn));
    txn->db = db;
    txn->rdonly = (flags & DIGBY_TXN_READONLY) != 0;
    if (txn->rdonly) {
        uint32_t r;
        int again;
        do {
            /* another process committed: its meta page first (48_lockfile.c) */
            if (digby__shm_behind(db)) rc = digby__shm_refresh(db);
            if (rc) break;
            digby__mutex_lock(&db->mu);
            for (r = 0; r < db->max_readers && db->readers[r]; r++) {}
            again = 0;
            if (r == db->max_readers || (db->crypt && db->crypt->rekeying)) {
                rc = DIGBY_BUSY;
            } else {
                /* txid 0 never names a live snapshot slot: store txid + 1 */
                db->readers[r] = db->last_txid + 1;
                again = digby__shm_reader_in(db, db->last_txid);
                if (again) db->readers[r] = 0;
            }
            if (rc == DIGBY_OK && !again) {
                txn->reader_slot = (int)r;
                txn->meta = db->meta;
                txn->txid = db->last_txid;
                txn->log_gen = db->log_gen;
                if (db->mem && db->mem->committed) {
                    digby__txn_mem_take(txn, db->mem);
                    txn->mem_upto = txn->txid;
                }
                digby__map_enter(db, txn);
                db->ntxn++;
            }
            digby__mutex_unlock(&db->mu);
        } while (again);
        if (rc) { digby__free(&db->alloc, txn); return rc; }
        *out = txn;
        return DIGBY_OK;
    }
    /* read-write: scratch space first, so a failure leaves nothing locked */
    if (digby__txn_scratch(db, txn)) { digby__free(&db->alloc, txn); return DIGBY_NOMEM; }
    txn->nosync = (flags & DIGBY_TXN_NO_SYNC) != 0;
    if (db->log.on && !txn->nosync && !(db->flags & DIGBY_OPEN_NO_SYNC)) {
        /* a durable commit on its way: a group sync's leader waits a
           little for it (digby__log_durable) */
        digby__mutex_lock(&db->mu);
        db->log.writers++;
        digby__mutex_unlock(&db->mu);
        txn->writer_counted = 1;
    }
    if (!(flags & DIGBY_TXN_NOWAIT)) {
        digby__mutex_lock(&db->wmu);
    } else if (!digby__mutex_trylock(&db->wmu)) {
        if (txn->writer_counted) {
            digby__mutex_lock(&db->mu);
            db->log.writers--;
            digby__mutex_unlock(&db->mu);
        }
        digby__txn_release(txn);
        return DIGBY_BUSY;
    }
    /* handles in other processes: the writer lock, and what they
       committed (48_lockfile.c) */
    if (!db->poisoned)
        rc = digby__shm_writer_in(db, (flags & DIGBY_TXN_NOWAIT) != 0, &txn->xlocked);
    digby__mutex_lock(&db->mu);
    if (db->log.sync_failed) db->poisoned = 1; /* a group sync failed */
    if (rc == DIGBY_OK && db->poisoned) rc = DIGBY_POISONED;
    if (rc == DIGBY_OK) rc = digby__freelist_release(db);
    if (rc == DIGBY_OK) {
        txn->meta = db->meta;
        txn->txid = db->last_txid + 1;
        digby__map_enter(db, txn);
        db->ntxn++;
    } else if (txn->writer_counted) {
        db->log.writers--;
    }
    digby__mutex_unlock(&db->mu);
    if (rc) {
        if (txn->xlocked) digby__shm_writer_out(db);
        digby__mutex_unlock(&db->wmu);
        digby__txn_release(txn);
        return rc;
    }
    rc = digby__log_begin(txn);
    if (rc) { digby__txn_end(txn); return rc; }
    *out = txn;
    return DIGBY_OK;
}

DIGBY_API uint64_t digby_txn_id(const digby_txn *txn)
{
    return txn ? txn->txid : 0;
}

DIGBY_API void digby_txn_abort(digby_txn *txn)
{
    if (!txn) return;
    if (!txn->rdonly) digby__log_abort(txn);
    if (!txn->rdonly) digby__freelist_abort(txn);
    if (!txn->rdonly && txn->db->crypt) digby__crypt_txn_end(txn->db, 0);
    digby__txn_unregister(txn);
    digby__txn_release(txn);
}

/* Write every dirty page, sealed, in page-number order; runs of adjacent
   pages go out in one write through a staging buffer.  The dirty buffers
   go to the cache afterwards, so they must stay plaintext: an encrypted
   page is sealed into the staging buffer (txn->tmp if none could be had). */
static int digby__write_dirty(digby_txn *txn, uint64_t *pgnos, size_t n)
{
    digby_db *db = txn->db;
    /* runs of adjacent pages go out in one write through a staging buffer
       of at most 64 pages, and at most an eighth of the cache */
    size_t cache_pages = digby__cache_pages(db);
    size_t i = 0, j, k, run_max = DIGBY__MAX(4, DIGBY__MIN(64, cache_pages / 8));
    uint8_t *stage = (uint8_t *)digby__malloc(&db->alloc, run_max * db->page_size);
    uint8_t *out = stage ? stage : txn->tmp;
    int rc = DIGBY_OK;
    if (!stage) run_max = 1;
    while (i < n && rc == DIGBY_OK) {
        j = i + 1;
        while (j < n && j - i < run_max && pgnos[j] == pgnos[j - 1] + 1) j++;
        if (j - i == 1 && !db->crypt) {
            uint8_t *p = digby__dirty_get(txn, pgnos[i]);
            digby__page_checksum(db, p);
            rc = db->vfs->write(db->file, pgnos[i] * db->page_size, p, db->page_size);
            i++;
            continue;
        }
        for (k = i; k < j && rc == DIGBY_OK; k++)
            rc = digby__page_seal(db, digby__dirty_get(txn, pgnos[k]),
                                  out + (k - i) * db->page_size);
        if (rc == DIGBY_OK)
            rc = db->vfs->write(db->file, pgnos[i] * db->page_size, out,
                                (j - i) * db->page_size);
        i = j;
    }
    digby__free(&db->alloc, stage);
    return rc;
}

/* Write every dirty leaf of the transaction to the file now, sealed, and
   let its buffer go (LMDB's mdb_page_spill), so that a checkpoint that
   rewrites more leaves than its budget, or a compacting backup that
   writes a whole tree, holds at most that many in memory
   (both walk keys in order, so a leaf they left is seldom met again;
   digby__dirty_own reads one back when it is).  Branches stay: they are
   few and met on every descent.  A leaf goes where the commit would have
   written it, a page free in every snapshot: a crash before the commit's
   meta page leaves it as an unfinished commit's garbage, and the commit
   writes it again if it changes afterwards.  Sets the next trigger:
   spill_pages more dirty pages. */
static int digby__dirty_spill(digby_txn *txn)
{
    digby_db *db = txn->db;
    uint64_t *pgnos;
    size_t n = 0, i;
    int rc;
    pgnos = (uint64_t *)digby__malloc(&db->alloc, (txn->dirty.count + 1) * sizeof(uint64_t));
    if (!pgnos) return DIGBY_NOMEM;
    for (i = 0; i < txn->dirty.cap; i++)
        if (txn->dirty.keys[i] && txn->dirty.vals[i][0] == DIGBY__PAGE_LEAF)
            pgnos[n++] = txn->dirty.keys[i];
    digby__sort_u64_with(pgnos, n, 0, NULL);
    rc = digby__write_dirty(txn, pgnos, n);
    if (rc == DIGBY_OK) {
        for (i = 0; i < n; i++) digby__pbuf_put(db, digby__dirty_remove(txn, pgnos[i]));
        txn->spilled += n;
        txn->spill_at = txn->dirty.count + txn->spill_pages;
    }
    digby__free(&db->alloc, pgnos);
    return rc;
}

static int digby__table_flush(digby_txn *txn);

/* Commit, step 1: close the cursors, drop an unfinished streaming put and
   write changed table descriptors into the catalog. */
static int digby__commit_prepare(digby_txn *txn)
{
    int rc;
    while (txn->cursors) digby_cursor_close(txn->cursors);
    rc = digby__blob_discard(txn, 1); /* its pages are freed */
    if (rc == DIGBY_OK) rc = digby__table_flush(txn);
    return rc;
}

/* Commit, step 3: write every dirty page (tree pages and the freelist
   chain), in page-number order.  *pgnos_out: the sorted page numbers, for
   digby__commit_publish (the caller frees it). */
static int digby__commit_pages(digby_txn *txn, uint64_t **pgnos_out, size_t *n_out)
{
    digby_db *db = txn->db;
    uint64_t *pgnos, *scratch;
    size_t n = 0, i;
    pgnos = (uint64_t *)digby__malloc(&db->alloc, (txn->dirty.count + 1) * sizeof(uint64_t));
    if (!pgnos) return DIGBY_NOMEM;
    *pgnos_out = pgnos;
    for (i = 0; i < txn->dirty.cap; i++)
        if (txn->dirty.keys[i]) pgnos[n++] = txn->dirty.keys[i];
    *n_out = n;
    /* no scratch (a short list, or out of memory): heapsort, in place */
    scratch = n < DIGBY__RADIX_MIN ? NULL
              : (uint64_t *)digby__malloc(&db->alloc, (n + 256) * sizeof(uint64_t));
    digby__sort_u64_with(pgnos, n, 0, scratch);
    digby__free(&db->alloc, scratch);
    return digby__write_dirty(txn, pgnos, n);
}

/* Commit, step 4: the file must reach page_count before the meta page
   counts on it (pages allocated at the end and freed again were never
   written). */
static int digby__commit_extend(digby_txn *txn)
{
    digby_db *db = txn->db;
    uint64_t size, need = txn->meta.page_count * db->page_size;
    int rc = db->vfs->size(db->file, &size);
    if (rc == DIGBY_OK && size < need) rc = db->vfs->truncate(db->file, need);
    return rc;
}

/* Commit, step 5: the meta page, and the sync that makes it all durable.
   The first commit of a session syncs its pages before writing the meta
   page (two syncs); later ones write pages and meta page and sync once,
   and open verifies the newest commit's pages instead.  The first one must
   be ordered: a crash before it may have left pages of an unfinished
   transaction carrying the very txid it reuses, which verification could
   not tell from its own.  A failed sync or meta write poisons the handle:
   the meta slot may hold anything, and a failed sync may have dropped
   pages. */
static int digby__commit_meta(digby_txn *txn)
{
    digby_db *db = txn->db;
    int rc, sync = !(db->flags & DIGBY_OPEN_NO_SYNC);
    if (sync && !db->synced_commit) {
        rc = db->vfs->sync(db->file);
        if (rc) { db->poisoned = 1; return rc; }
    }
    txn->meta.txid = txn->txid;
    rc = digby__meta_write(db, &txn->meta, txn->tmp);
    if (rc == DIGBY_OK && sync) rc = db->vfs->sync(db->file);
    if (rc) db->poisoned = 1;
    else if (sync) db->synced_commit = 1;
    return rc;
}

/* Commit, step 6 (durable now): publish the snapshot, adopt the freelist,
   hand the written tree pages to the cache (or mark them verified in the
   map) and the rest back to the buffer pool. */
static void digby__commit_publish(digby_txn *txn, const uint64_t *pgnos, size_t n)
{
    digby_db *db = txn->db;
    size_t i;
    if (db->mapping && txn->meta.page_count > db->mapping->len / db->page_size)
        digby__map_grow(db, txn->meta.page_count);
    digby__mutex_lock(&db->mu);
    db->meta = txn->meta;
    db->last_txid = txn->txid;
    digby__shm_publish(db); /* to other processes (48_lockfile.c) */
    /* the sync made every commit appended to the log before it durable */
    if (!(db->flags & DIGBY_OPEN_NO_SYNC) && db->log.appended > db->log.synced)
        db->log.synced = db->log.appended;
    /* the file reaches page_count now (step 4): the map may show it all */
    if (db->mapping && txn->meta.page_count > db->map_pages)
        db->map_pages = DIGBY__MIN(txn->meta.page_count, db->mapping->len / db->page_size);
    digby__mutex_unlock(&db->mu);
    if (db->crypt) digby__crypt_txn_end(db, 1); /* a new key or header is in */
    digby__freelist_finish(txn);
    for (i = 0; i < n; i++) {
        uint8_t *buf = digby__dirty_remove(txn, pgnos[i]);
        uint8_t t = buf[0];
        /* tree pages go to the cache, unless read from the map from now
           on: there, what this handle wrote needs no verifying (as the
           cache trusts the pages handed to it here) */
        if (t == DIGBY__PAGE_BRANCH || t == DIGBY__PAGE_LEAF) {
            if (pgnos[i] >= db->map_pages)
                digby__cache_put(db, pgnos[i], &buf);
            else if (digby__page_txid(buf) == txn->txid)
                DIGBY__SEEN_STORE(&db->mapping->seen[pgnos[i]], txn->txid);
        }
        digby__pbuf_put(db, buf);
    }
}

/* Commit: prepare (1), persist the freelist (2), write the pages (3),
   extend the file (4), write the meta page and sync (5), publish (6), then
   end the transaction and run the commit hook and an automatic rekey. */
DIGBY_API int digby_txn_commit(digby_txn *txn)
{
    digby_db *db;
    uint64_t *pgnos = NULL, txid;
    size_t n = 0;
    int rc;
    if (!txn) return DIGBY_INVALID;
    db = txn->db;
    if (txn->rdonly) {
        digby__txn_unregister(txn);
        digby__txn_release(txn);
        return DIGBY_OK;
    }
    if (txn->poisoned) { digby_txn_abort(txn); return DIGBY_POISONED; }
    /* what live savepoints hold back is the transaction's now */
    rc = digby__sp_release_all(txn);
    if (rc) { digby_txn_abort(txn); return rc; }
    if (txn->logged) {
        while (txn->cursors) digby_cursor_close(txn->cursors);
        if (digby__log_appends(txn)) {
            /* puts appended at the tree's end: a copy-on-write commit */
            rc = digby__log_escalate(txn);
            if (rc) { digby_txn_abort(txn); return rc; }
            txn->appended = 1;
        }
    }
    if (txn->logged) {
        uint64_t need;
        int durable = !(db->flags & DIGBY_OPEN_NO_SYNC) && !txn->nosync;
        /* an empty transaction publishes no txid (nothing carries it) */
        txid = txn->nops ? txn->txid : 0;
        rc = digby__log_commit(txn, &need);
        if (rc) { digby_txn_abort(txn); return rc; }
        if (txid) db->log.streak = 0;
        digby__txn_end(txn);
        /* the writer lock is free: the next writer appends while this
           thread waits for (or makes) the sync */
        rc = digby__log_durable(db, txid, need);
        if (rc) return rc;
        if (db->on_commit && durable && txid) db->on_commit(db->on_commit_ctx, txid);
        return DIGBY_OK;
    }
    rc = digby__commit_prepare(txn);
    if (rc == DIGBY_OK && txn->mod == 0) {
        /* nothing written: nothing to commit */
        digby_txn_abort(txn);
        return DIGBY_OK;
    }
#ifdef DIGBY_DEBUG
    if (rc == DIGBY_OK) rc = digby__debug_check_commit(txn);
#endif
    if (rc == DIGBY_OK) rc = digby__freelist_commit(txn);
    if (rc == DIGBY_OK) rc = digby__freelist_reserve(txn);
    if (rc == DIGBY_OK) rc = digby__commit_pages(txn, &pgnos, &n);
    if (rc == DIGBY_OK) rc = digby__commit_extend(txn);
    if (rc == DIGBY_OK) rc = digby__commit_meta(txn);
    if (rc) {
        digby__free(&db->alloc, pgnos);
        digby_txn_abort(txn);
        return rc;
    }
    digby__commit_publish(txn, pgnos, n);
    digby__free(&db->alloc, pgnos);
    if (!txn->internal) digby__log_streak_end(txn);
    txid = txn->txid;
    if (txn->internal) { digby__txn_end(txn); return DIGBY_OK; }
    digby__txn_end(txn);
    if (db->on_commit) db->on_commit(db->on_commit_ctx, txid);
    if (db->crypt) digby__crypt_after_commit(db);
    return DIGBY_OK;
}

/* ---- Argument checks shared by the item functions ------------------------ */

static int digby__txn_check_write(digby_txn *txn)
{
    if (txn->rdonly) return DIGBY_READONLY;
    if (txn->poisoned) return DIGBY_POISONED;
    return DIGBY_OK;
}

/* Record a failure that may have left the transaction half-changed: after
   it only abort works (as an LMDB transaction after a failed write). */
static int digby__txn_fail(digby_txn *txn, int rc)
{
    switch (rc) {
    case DIGBY_OK: case DIGBY_NOTFOUND: case DIGBY_EXISTS: case DIGBY_INVALID:
    case DIGBY_TOOBIG: case DIGBY_READONLY: case DIGBY_BADTXN: case DIGBY_POISONED:
        break;
    default:
        if (!txn->rdonly) txn->poisoned = 1;
    }
    return rc;
}

/* The flags of a put: DIGBY_INVALID for unknown or contradictory ones,
   DIGBY_NOFEATURE for compression in a build without lz4. */
static int digby__put_flags(unsigned flags)
{
    unsigned both = DIGBY_PUT_COMPRESS | DIGBY_PUT_NO_COMPRESS;
    if ((flags & ~(DIGBY_PUT_NOOVERWRITE | both)) || (flags & both) == both)
        return DIGBY_INVALID;
    if ((flags & DIGBY_PUT_COMPRESS) && !digby__lz4_state_bytes()) return DIGBY_NOFEATURE;
    return DIGBY_OK;
}

static digby__tree *digby__txn_tree(digby_txn *txn, digby_table *t, int *rc)
{
    *rc = DIGBY_OK;
    if (!t) return &txn->meta.main;
    if (t->dropped || t->txn != txn) { *rc = DIGBY_BADTXN; return NULL; }
    return &t->tree;
}

/* The checks every put makes of its arguments, in order (digby_txn_put,
   digby_txn_put_begin): the tree to put into, or NULL and *rc one of
   DIGBY_INVALID, DIGBY_READONLY, DIGBY_POISONED, DIGBY_TOOBIG,
   DIGBY_BADTXN. */
static digby__tree *digby__put_args(digby_txn *txn, digby_table *table, const void *key,
                                    size_t key_bytes, uint64_t val_bytes, unsigned flags,
                                    int *rc)
{
    if (!txn || (!key && key_bytes)) { *rc = DIGBY_INVALID; return NULL; }
    if ((*rc = digby__put_flags(flags)) != DIGBY_OK) return NULL;
    if ((*rc = digby__txn_check_write(txn)) != DIGBY_OK) return NULL;
    if (key_bytes > DIGBY_MAX_KEY_BYTES || val_bytes > DIGBY_MAX_VALUE_BYTES) {
        *rc = DIGBY_TOOBIG;
        return NULL;
    }
    return digby__txn_tree(txn, table, rc);
}

DIGBY_API int digby_txn_put(digby_txn *txn, digby_table *table, const void *key,
                            size_t key_bytes, const void *val, size_t val_bytes,
                            unsigned flags)
{
    digby__tree *t;
    int rc, done;
    if (!val && val_bytes) return DIGBY_INVALID;
    t = digby__put_args(txn, table, key, key_bytes, val_bytes, flags, &rc);
    if (!t) return rc;
    rc = digby__txn_put_mem(txn, table, key, key_bytes, val, val_bytes, flags, &done);
    if (rc == DIGBY_OK && done) { txn->mod++; return DIGBY_OK; }
    if (rc == DIGBY_OK) rc = digby__btree_put(txn, t, key, key_bytes, val, val_bytes, flags);
    if (rc == DIGBY_OK) {
        txn->mod++;
        if (table) table->dirty = 1;
    }
    return digby__txn_fail(txn, rc);
}

DIGBY_API int digby_txn_get(digby_txn *txn, digby_table *table, const void *key,
                            size_t key_bytes, const void **val, size_t *val_bytes,
                            uint64_t *version)
{
    digby__tree *t;
    int rc;
    if (!txn || (!key && key_bytes) || !val || !val_bytes) return DIGBY_INVALID;
    if (txn->poisoned) return DIGBY_POISONED;
    if (key_bytes > DIGBY_MAX_KEY_BYTES) return DIGBY_NOTFOUND;
    t = digby__txn_tree(txn, table, &rc);
    if (!t) return rc;
    return digby__merged_get(txn, table, t, key, key_bytes, val, val_bytes, version);
}

DIGBY_API int digby_txn_delete(digby_txn *txn, digby_table *table,
                               const void *key, size_t key_bytes)
{
    digby__tree *t;
    int rc, done;
    if (!txn || (!key && key_bytes)) return DIGBY_INVALID;
    if ((rc = digby__txn_check_write(txn)) != DIGBY_OK) return rc;
    if (key_bytes > DIGBY_MAX_KEY_BYTES) return DIGBY_NOTFOUND;
    t = digby__txn_tree(txn, table, &rc);
    if (!t) return rc;
    rc = digby__txn_delete_mem(txn, table, key, key_bytes, &done);
    if (rc == DIGBY_OK && done) { txn->mod++; return DIGBY_OK; }
    if (rc == DIGBY_OK) rc = digby__btree_delete(txn, t, key, key_bytes);
    if (rc == DIGBY_OK) {
        txn->mod++;
        if (table) table->dirty = 1;
    }
    return digby__txn_fail(txn, rc);
}

DIGBY_API int digby_txn_delete_range(digby_txn *txn, digby_table *table, const void *lo,
                                     size_t lo_bytes, const void *hi, size_t hi_bytes,
                                     uint64_t *deleted)
{
    digby__tree *t;
    digby__skey slo, shi;
    uint64_t n = 0;
    int rc;
    if (deleted) *deleted = 0;
    if (!txn || (!lo && lo_bytes) || (!hi && hi_bytes)) return DIGBY_INVALID;
    if ((rc = digby__txn_check_write(txn)) != DIGBY_OK) return rc;
    if (lo_bytes > DIGBY_MAX_KEY_BYTES || hi_bytes > DIGBY_MAX_KEY_BYTES) return DIGBY_TOOBIG;
    t = digby__txn_tree(txn, table, &rc);
    if (!t) return rc;
    if (hi) {
        /* a NULL lo is the empty key: the first there can be */
        int c = digby__keycmp(lo ? lo : (const void *)"", lo_bytes, hi, hi_bytes);
        if (c > 0) return DIGBY_INVALID;
        if (c == 0) return DIGBY_OK; /* [k, k) is empty */
    }
    /* log mode: the range is cut in the tree (digby__log_escalate); no
       streak of appends goes on past it (digby__log_streak) */
    txn->streak_ok = 0;
    rc = digby__log_escalate(txn);
    if (rc == DIGBY_OK) {
        if (lo) digby__skey_mem(txn->db, &slo, lo, lo_bytes);
        if (hi) digby__skey_mem(txn->db, &shi, hi, hi_bytes);
        rc = digby__btree_delete_range(txn, t, lo ? &slo.k : NULL, hi ? &shi.k : NULL, &n);
    }
    if (rc == DIGBY_OK && n) {
        txn->mod++;
        if (table) table->dirty = 1;
    }
    if (rc == DIGBY_OK && deleted) *deleted = n;
    return digby__txn_fail(txn, rc);
}
