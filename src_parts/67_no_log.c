/* Without log mode (DIGBY_NO_LOG): what the rest of the library calls of it.

   With DIGBY_NO_LOG (or a compiler with no acquire/release atomics:
   12_internal.h) the log, the memtable, merged cursors and checkpoints
   (45_memtable.c, 47_log.c, 65_merge_cursor.c, 66_log_mode.c) are left
   out, for bare metal, and these stand in: every transaction reads and
   writes the tree alone, as in copy-on-write mode.  DIGBY_OPEN_LOG is
   DIGBY_NOFEATURE (digby__open_options), and so is opening a file whose
   meta page names a live log (one a log-mode handle did not close
   cleanly), as a file with compressed items is without lz4: its newest
   commits are in the log, which this build cannot replay.  A file closed
   cleanly in log mode has no log and opens. */

#if !DIGBY__HAVE_MEMTABLE

static void digby__mem_free(digby__mem *m)
{
    (void)m;
}

static void digby__txn_mem_take(digby_txn *txn, digby__mem *m)
{
    txn->mem = m;
}

static digby__mem *digby__txn_mem_drop(digby_txn *txn)
{
    digby__mem *m = txn->mem;
    txn->mem = NULL;
    return m;
}

static digby__mnode *digby__mem_get(const digby__mview *v, uint32_t slot, const void *key,
                                    size_t klen, uint64_t upto)
{
    (void)v; (void)slot; (void)key; (void)klen; (void)upto;
    return NULL;
}

static const uint8_t *digby__mn_key(const digby__mnode *n)
{
    return (const uint8_t *)(n->next + n->height);
}

static int digby__log_open(digby_db *db, int readonly)
{
    (void)readonly;
    db->last_txid = db->meta.txid;
    return db->meta.log_head ? DIGBY_NOFEATURE : DIGBY_OK;
}

static int digby__log_adopt(digby_db *db, const digby__meta *m)
{
    (void)db;
    return m->log_head ? DIGBY_NOFEATURE : DIGBY_OK;
}

static int digby__log_follow(digby_db *db)
{
    (void)db;
    return DIGBY_OK;
}

static uint64_t digby__log_have(const digby_db *db)
{
    return db->meta.txid;
}

static int digby__log_takeover(digby_db *db, uint64_t published)
{
    (void)published;
    return db->meta.log_head ? DIGBY_NOFEATURE : DIGBY_OK;
}

static void digby__log_close(digby_db *db)
{
    (void)db;
}

static void digby__log_release(digby_db *db)
{
    (void)db;
}

/* Savepoints: no transaction writes a memtable. */
static void digby__log_sp_mark(digby_txn *txn)
{
    (void)txn;
}

static void digby__log_sp_rollback(digby_txn *txn, const digby__savepoint *s)
{
    (void)txn;
    (void)s;
}

static void digby__log_sp_settle(digby_txn *txn)
{
    (void)txn;
}

static int digby__log_begin(digby_txn *txn)
{
    (void)txn;
    return DIGBY_OK;
}

static int digby__log_commit(digby_txn *txn, uint64_t *need)
{
    (void)txn;
    *need = 0;
    return DIGBY_OK;
}

static int digby__log_durable(digby_db *db, uint64_t txid, uint64_t need)
{
    (void)db; (void)txid; (void)need;
    return DIGBY_OK;
}

static void digby__log_abort(digby_txn *txn)
{
    (void)txn;
}

static int digby__log_appends(digby_txn *txn)
{
    (void)txn;
    return 0;
}

static void digby__log_streak_end(digby_txn *txn)
{
    (void)txn;
}

static int digby__log_escalate(digby_txn *txn)
{
    (void)txn;
    return DIGBY_OK;
}

static int digby__txn_put_mem(digby_txn *txn, digby_table *table, const void *key,
                              size_t key_bytes, const void *val, size_t val_bytes,
                              unsigned flags, int *done)
{
    (void)txn; (void)table; (void)key; (void)key_bytes; (void)val; (void)val_bytes;
    (void)flags;
    *done = 0;
    return DIGBY_OK;
}

static int digby__txn_delete_mem(digby_txn *txn, digby_table *table, const void *key,
                                 size_t key_bytes, int *done)
{
    (void)txn; (void)table; (void)key; (void)key_bytes;
    *done = 0;
    return DIGBY_OK;
}

static int digby__txn_slot(digby_txn *txn, digby_table *table)
{
    (void)txn; (void)table;
    return -1;
}

static int digby__mem_delta(digby_txn *txn, int s, digby__tree *t, int64_t *delta)
{
    (void)txn; (void)s; (void)t;
    *delta = 0;
    return DIGBY_OK;
}

static int digby__merged_entries(digby_txn *txn, const char *name, size_t len,
                                 digby__tree *t, uint64_t *out)
{
    (void)txn; (void)name; (void)len;
    *out = t->entries;
    return DIGBY_OK;
}

static int digby__merged_get(digby_txn *txn, digby_table *table, digby__tree *t,
                             const void *key, size_t key_bytes, const void **val,
                             size_t *vlen, uint64_t *version)
{
    (void)table;
    return digby__btree_get(txn, t, key, key_bytes, val, vlen, version);
}

/* Cursors never merge: the merged moves are never called. */
static int digby__cursor_merging(digby_cursor *c)
{
    (void)c;
    return 0;
}

static int digby__mc_first_last(digby_cursor *c, int dir)
{
    (void)c; (void)dir;
    return DIGBY_NOFEATURE;
}

static int digby__mc_seek_user(digby_cursor *c, const void *key, size_t kl, digby_seek_op op)
{
    (void)c; (void)key; (void)kl; (void)op;
    return DIGBY_NOFEATURE;
}

static int digby__mc_move(digby_cursor *c, int dir)
{
    (void)c; (void)dir;
    return DIGBY_NOFEATURE;
}

static int digby__mc_here(digby_cursor *c, digby__mnode **n, digby__level **leaf,
                          digby__cell *cell)
{
    (void)c; (void)n; (void)leaf; (void)cell;
    return DIGBY_NOFEATURE;
}

DIGBY_API int digby_sync(digby_db *db)
{
    return db ? DIGBY_OK : DIGBY_INVALID;
}

DIGBY_API int digby_checkpoint(digby_db *db)
{
    if (!db) return DIGBY_INVALID;
    return (db->flags & DIGBY_OPEN_READONLY) ? DIGBY_READONLY : DIGBY_OK;
}

#endif /* !DIGBY__HAVE_MEMTABLE */
