/* Log mode: writes to the memtable, commit by log append, checkpoints, escalation.

   A read-write transaction in log mode (DIGBY_OPEN_LOG) puts and deletes
   into the memtable under its own txid and commits by appending one record
   to the log (47_log.c).  What the memtable cannot hold goes to the tree
   as before: a put whose key or value would not sit inline in a leaf cell
   (a large key, an overflow value, a streaming put), a table created or
   dropped, a rekey.  Such a transaction first escalates: a checkpoint
   merges the committed memtable into the tree, the transaction's own
   entries are applied to the tree, and it goes on and commits as a
   copy-on-write transaction (one meta page, one sync).

   A checkpoint is an ordinary copy-on-write commit with a txid of its own:
   every entry's newest committed version goes into its tree, keeping its
   version; the log pages before the new head are freed (pending at the
   checkpoint, as any page); the meta page records the new head.  Readers
   that began before it keep the old tree and the old memtable (counted
   references); readers after it see the new tree and an empty memtable.
   Checkpoints run when the memtable passes digby_options.memtable_bytes
   (inside the commit that passes it), on digby_checkpoint(), and at
   digby_close() (which leaves no log at all, so a clean file opens in
   either mode and in builds that predate the log). */

#if DIGBY__HAVE_MEMTABLE /* (12_internal.h) the file's last line ends it */

static uint64_t digby__now_ns(void);
static int digby__log_sync_locked(digby_db *db);

/* The newest commit a writer must build on: the newest appended to the
   log, which readers may not see yet (its sync under way), or the newest
   copy-on-write commit (db->wmu held; db->last_txid also moves under mu
   alone, where a group sync publishes a commit). */
static uint64_t digby__newest_txid(digby_db *db)
{
    uint64_t t;
    digby__mutex_lock(&db->mu);
    t = DIGBY__MAX(db->last_txid, db->log.appended);
    digby__mutex_unlock(&db->mu);
    return t;
}
static uint64_t digby__log_txid(digby_db *db);
static int digby__log_buffers(digby_db *db);
static int digby__log_streak(digby_txn *txn);
static int digby__sp_dead_room(digby_txn *txn);

/* Whether a put of this size is kept in the memtable: the key is no large
   key and the value would sit inline in a leaf cell whatever its version
   (the cell sizing of 52_btree.c, with a 10-byte version). */
static int digby__mem_fits(const digby_db *db, size_t key_bytes, size_t val_bytes)
{
    uint64_t n;
    if (key_bytes > db->max_key || val_bytes > db->max_cell) return 0;
    n = digby__varint_len(key_bytes) + key_bytes + digby__varint_len((uint64_t)val_bytes << 3) +
        10 + val_bytes;
    return n <= db->max_cell;
}

/* The memtable slot of table (NULL: the global tree) for the writer,
   added when missing; -1 after an error (*rc). */
static int digby__txn_slot_add(digby_txn *txn, digby_table *table, int *rc)
{
    int s;
    *rc = DIGBY_OK;
    if (!table) return 0;
    if (table->mslot_mem == txn->mem && table->mslot >= 0) return table->mslot;
    *rc = digby__mem_slot_add(txn->mem, table->name, table->name_bytes, &s);
    if (*rc) return -1;
    table->mslot = s;
    table->mslot_mem = txn->mem;
    return s;
}

/* The memtable slot of table for reading, -1 when the memtable holds
   nothing of it (or the transaction reads no memtable). */
static int digby__txn_slot(digby_txn *txn, digby_table *table)
{
    int s;
    if (!txn->mem) return -1;
    if (!table) return 0;
    if (table->mslot_mem == txn->mem && table->mslot >= 0) return table->mslot;
    s = digby__mem_slot(txn->mem, table->name, table->name_bytes);
    if (s >= 0) {
        table->mslot = s;
        table->mslot_mem = txn->mem;
    }
    return s;
}

/* The merged state of key: *node a memtable value, or (node NULL) the
   tree's answer through digby__btree_get.  DIGBY_NOTFOUND for a tombstone
   or nothing. */
static int digby__merged_get(digby_txn *txn, digby_table *table, digby__tree *t,
                             const void *key, size_t key_bytes, const void **val,
                             size_t *vlen, uint64_t *version)
{
    int s = digby__txn_slot(txn, table);
    if (s >= 0 && key_bytes <= txn->db->max_key) {
        digby__mnode *n = digby__mem_get(txn->mview, (uint32_t)s, key, key_bytes, txn->mem_upto);
        if (n) {
            if (n->flags & DIGBY__MN_TOMB) return DIGBY_NOTFOUND;
            *val = n->vlen ? n->val : (const void *)"";
            *vlen = n->vlen;
            if (version) *version = n->txid;
            return DIGBY_OK;
        }
    }
    return digby__btree_get(txn, t, key, key_bytes, val, vlen, version);
}

/* How the memtable changes the entry count of tree t (slot s): +1 for a
   key it holds a value of that the tree lacks, -1 for a tombstone of a key
   the tree has.  Costs a tree lookup per memtable key of the table. */
static int digby__mem_delta(digby_txn *txn, int s, digby__tree *t, int64_t *delta)
{
    digby__mnode *x;
    digby__mpos pos;
    *delta = 0;
    if (s < 0) return DIGBY_OK;
    memset(&pos, 0, sizeof(pos));
    for (x = digby__mem_end(txn->mview, (uint32_t)s, 1, txn->mem_upto, &pos); x;
         x = digby__mem_step(txn->mview, x, 1, txn->mem_upto, &pos)) {
        digby__frame *pin;
        digby__cell c;
        int rc = digby__btree_find(txn, t, digby__mn_key(x), x->klen, &c, &pin);
        if (rc == DIGBY_OK) digby__page_unpin(txn->db, pin);
        if (rc != DIGBY_OK && rc != DIGBY_NOTFOUND) return rc;
        if (rc == DIGBY_NOTFOUND && !(x->flags & DIGBY__MN_TOMB)) (*delta)++;
        if (rc == DIGBY_OK && (x->flags & DIGBY__MN_TOMB)) (*delta)--;
    }
    return DIGBY_OK;
}

/* The entries of table `name` (len 0: the global tree), whose tree is t,
   as transaction txn sees them. */
static int digby__merged_entries(digby_txn *txn, const char *name, size_t len,
                                 digby__tree *t, uint64_t *out)
{
    int64_t d;
    int rc = digby__mem_delta(txn, txn->mem ? digby__mem_slot(txn->mem, name, len) : -1, t, &d);
    if (rc) return rc;
    *out = (uint64_t)((int64_t)t->entries + d);
    return DIGBY_OK;
}

/* Room in txn->ops for one more node, made before the node is: a node in
   the memtable that the list misses would outlive an abort (live under a
   txid the next transaction reuses). */
static int digby__ops_room(digby_txn *txn)
{
    if (txn->nops == txn->cap_ops) {
        size_t ncap = txn->cap_ops ? 2 * txn->cap_ops : 64;
        digby__mnode **no = (digby__mnode **)digby__realloc(&txn->db->alloc, txn->ops,
                                                            ncap * sizeof(*no));
        if (!no) return DIGBY_NOMEM;
        txn->ops = no;
        txn->cap_ops = ncap;
    }
    return DIGBY_OK;
}

static int digby__ops_push(digby_txn *txn, digby__mnode *n)
{
    int rc = digby__ops_room(txn);
    if (rc) return rc;
    txn->ops[txn->nops++] = n;
    return DIGBY_OK;
}

/* Whether key exists for the writer: its visible memtable version (from
   digby__mem_probe: n, NULL for none), else the tree.  DIGBY_OK or
   DIGBY_NOTFOUND, or an error of the tree's. */
static int digby__txn_exists(digby_txn *txn, digby_table *table, const digby__mnode *n,
                             const void *key, size_t key_bytes)
{
    digby__frame *pin;
    digby__cell c;
    int rc;
    if (n) return (n->flags & DIGBY__MN_TOMB) ? DIGBY_NOTFOUND : DIGBY_OK;
    /* the key's cell, not its value: a compressed value in a build without
       lz4, or a large one, need not be read to be deleted */
    rc = digby__btree_find(txn, table ? &table->tree : &txn->meta.main, key, key_bytes, &c, &pin);
    if (rc == DIGBY_OK) digby__page_unpin(txn->db, pin);
    return rc;
}

/* Whether key (key_bytes) comes after the last key of table tab's tree t
   (the tree's own, not the memtable's): a descent to the tree's end. */
static int digby__after_tree_end(digby_txn *txn, digby_table *tab, digby__tree *t,
                                 const void *key, size_t key_bytes)
{
    digby_cursor *c;
    int ok;
    if (t->root == 0) return 1; /* an empty tree */
    if (digby__cursor_new(txn, tab, t, &c) != DIGBY_OK) return 0;
    ok = digby__cursor_end(c, -1) == DIGBY_OK && !c->key_large &&
         digby__keycmp(c->key, c->key_bytes, key, key_bytes) < 0;
    digby_cursor_close(c);
    return ok;
}

/* A put or delete of a transaction begun in copy-on-write mode after an
   append commit (digby__log_streak), before it goes to the tree: the
   streak goes on while every write is a put in one table, in ascending
   key order, the first after the tree's last key. */
static void digby__streak_note(digby_txn *txn, digby_table *table, const void *key,
                               size_t key_bytes, int tomb)
{
    digby_db *db = txn->db;
    if (tomb || key_bytes > db->max_key) { txn->streak_ok = 0; return; }
    if (txn->streak_n == 0) {
        if (!digby__after_tree_end(txn, table, table ? &table->tree : &txn->meta.main, key,
                                   key_bytes)) {
            txn->streak_ok = 0;
            return;
        }
        txn->streak_tab = table;
        if (!txn->streak_key)
            txn->streak_key = (uint8_t *)digby__malloc(&db->alloc, db->max_key);
        if (!txn->streak_key) { txn->streak_ok = 0; return; }
    } else if (table != txn->streak_tab ||
               digby__keycmp(txn->streak_key, txn->streak_klen, key, key_bytes) >= 0) {
        txn->streak_ok = 0;
        return;
    }
    if (key_bytes) memcpy(txn->streak_key, key, key_bytes);
    txn->streak_klen = key_bytes;
    txn->streak_n++;
}

/* Put into the memtable (*done 1), or leave it to the tree (*done 0)
   after escalating when the transaction is a logged one.  A delete
   (tomb 1) must find the key (DIGBY_NOTFOUND), a NOOVERWRITE put must
   not (DIGBY_EXISTS): one skip-list descent serves the look and the
   insertion. */
static int digby__txn_write_mem(digby_txn *txn, digby_table *table, const void *key,
                                size_t key_bytes, const void *val, size_t val_bytes,
                                unsigned flags, int tomb, int *done)
{
    digby__mnode *prev[DIGBY__MEM_LEVELS], *x, *n, *old = NULL;
    int rc, s, fresh;
    *done = 0;
    if (!txn->logged) {
        if (txn->streak_ok) digby__streak_note(txn, table, key, key_bytes, tomb);
        return DIGBY_OK;
    }
    if (tomb ? key_bytes > txn->db->max_key : !digby__mem_fits(txn->db, key_bytes, val_bytes))
        return digby__log_escalate(txn);
    s = digby__txn_slot_add(txn, table, &rc);
    if (s < 0) return rc;
    /* room in the transaction's list first: a node inserted and then not
       listed would outlive an abort */
    if ((rc = digby__ops_room(txn)) != DIGBY_OK) return rc;
    /* and in the savepoints' list of the nodes a write killed */
    if (txn->nsp && (rc = digby__sp_dead_room(txn)) != DIGBY_OK) return rc;
    if (tomb || (flags & DIGBY_PUT_NOOVERWRITE)) {
        n = digby__mem_probe(txn->mem, (uint32_t)s, key, key_bytes, txn->txid, txn->mem_upto,
                             prev, &x);
        rc = digby__txn_exists(txn, table, n, key, key_bytes);
        if (rc != DIGBY_OK && rc != DIGBY_NOTFOUND) return rc;
        if (tomb && rc == DIGBY_NOTFOUND) return DIGBY_NOTFOUND;
        if (!tomb && rc == DIGBY_OK) return DIGBY_EXISTS;
        rc = digby__mem_put_at(txn->mem, prev, x, (uint32_t)s, key, key_bytes, txn->txid, val,
                               tomb ? 0 : val_bytes, tomb, &n, &fresh, txn->nsp ? &old : NULL);
    } else {
        rc = digby__mem_put(txn->mem, (uint32_t)s, key, key_bytes, txn->txid, val, val_bytes,
                            0, &n, &fresh, txn->nsp ? &old : NULL);
    }
    if (rc == DIGBY_OK && old) txn->sp_dead[txn->sp_dead_n++] = old;
    if (rc == DIGBY_OK && fresh) rc = digby__ops_push(txn, n);
    if (rc) return rc;
    *done = 1;
    return DIGBY_OK;
}

static int digby__txn_put_mem(digby_txn *txn, digby_table *table, const void *key,
                              size_t key_bytes, const void *val, size_t val_bytes,
                              unsigned flags, int *done)
{
    return digby__txn_write_mem(txn, table, key, key_bytes, val, val_bytes, flags, 0, done);
}

static int digby__txn_delete_mem(digby_txn *txn, digby_table *table, const void *key,
                                 size_t key_bytes, int *done)
{
    return digby__txn_write_mem(txn, table, key, key_bytes, NULL, 0, 0, 1, done);
}

/* ---- Savepoints (61_savepoint.c) ------------------------------------------ */

/* Room in txn->sp_dead for one more node. */
static int digby__sp_dead_room(digby_txn *txn)
{
    if (txn->sp_dead_n == txn->sp_dead_cap) {
        size_t ncap = txn->sp_dead_cap ? 2 * txn->sp_dead_cap : 64;
        digby__mnode **nd;
        if (ncap > SIZE_MAX / sizeof(*nd)) return DIGBY_NOMEM;
        nd = (digby__mnode **)digby__realloc(&txn->db->alloc, txn->sp_dead, ncap * sizeof(*nd));
        if (!nd) return DIGBY_NOMEM;
        txn->sp_dead = nd;
        txn->sp_dead_cap = ncap;
    }
    return DIGBY_OK;
}

/* A savepoint is taken: every node made so far is frozen (a later write
   to its key makes a new node). */
static void digby__log_sp_mark(digby_txn *txn)
{
    size_t i;
    for (i = txn->sp_marked; i < txn->nops; i++) txn->ops[i]->flags |= DIGBY__MN_FROZEN;
    txn->sp_marked = txn->nops;
}

/* Back to savepoint s: the nodes killed since live again, the nodes made
   since are dead (in that order: a node may be both). */
static void digby__log_sp_rollback(digby_txn *txn, const digby__savepoint *s)
{
    size_t i;
    for (i = s->ndead; i < txn->sp_dead_n; i++)
        txn->sp_dead[i]->flags &= (uint8_t)~DIGBY__MN_DEAD;
    txn->sp_dead_n = s->ndead;
    for (i = s->nops; i < txn->nops; i++) txn->ops[i]->flags |= DIGBY__MN_DEAD;
    txn->nops = s->nops;
    if (txn->sp_marked > s->nops) txn->sp_marked = s->nops;
}

/* The last savepoint is gone: the killed nodes leave the list of the
   transaction's nodes, and the others are written in place again. */
static void digby__log_sp_settle(digby_txn *txn)
{
    size_t i, j = 0;
    for (i = 0; i < txn->nops; i++) {
        digby__mnode *n = txn->ops[i];
        if (n->flags & DIGBY__MN_DEAD) continue;
        n->flags &= (uint8_t)~DIGBY__MN_FROZEN;
        txn->ops[j++] = n;
    }
    txn->nops = j;
    txn->sp_dead_n = 0;
    txn->sp_marked = 0;
}

/* ---- Beginning, committing, aborting ------------------------------------ */

/* A read-write transaction in log mode (db->wmu held, txn registered):
   make sure the file has a log head (a checkpoint that makes one, the
   first time), then read and write the memtable. */
static int digby__log_begin(digby_txn *txn)
{
    digby_db *db = txn->db;
    int rc;
    if (txn->internal) return DIGBY_OK;
    if (!db->log.on) {
        /* a copy-on-write handle writes the tree alone: a log that a
           log-mode handle sharing the file keeps (48_lockfile.c) is
           merged first, as open merges one */
        if (!db->meta.log_head) return DIGBY_OK;
        rc = digby__checkpoint_locked(db, 0);
        if (rc) return rc;
        txn->meta = db->meta;
        txn->txid = digby__newest_txid(db) + 1;
        return DIGBY_OK;
    }
    if (!db->meta.log_head) {
        /* a log mode handle whose log was dropped (digby_rekey) */
        rc = digby__checkpoint_locked(db, 1);
        if (rc) return rc;
        txn->meta = db->meta;
    }
    if (digby__log_streak(txn)) return DIGBY_OK;
    txn->txid = digby__log_txid(db);
    digby__mutex_lock(&db->mu);
    digby__txn_mem_take(txn, db->mem);
    digby__mutex_unlock(&db->mu);
    txn->mem_upto = txn->txid;
    txn->logged = 1;
    return DIGBY_OK;
}

/* The transaction's memtable entries are void (abort, or escalation after
   they went to the tree). */
static void digby__log_kill_ops(digby_txn *txn)
{
    size_t i;
    for (i = 0; i < txn->nops; i++) txn->ops[i]->flags |= DIGBY__MN_DEAD;
    txn->nops = 0;
}

static void digby__log_abort(digby_txn *txn)
{
    if (txn->logged) digby__log_kill_ops(txn);
}

/* Fold the memtable's list into its run (db->wmu held, between
   transactions: 45_memtable.c); out of memory, the list goes on growing. */
static void digby__log_fold(digby_db *db)
{
    digby__mview *v, *old;
    if (digby__mem_fold(db->mem, &v) != DIGBY_OK) return;
    digby__mutex_lock(&db->mu);
    old = digby__mem_publish(db->mem, v);
    db->log.folds++;
    digby__mutex_unlock(&db->mu);
    digby__free(&db->alloc, old);
}

/* Commit a logged transaction, step 1 (db->wmu held): append its record
   to the log (no sync: digby__log_durable, after the writer lock is let
   go, makes it durable, sharing the sync with other threads' commits);
   a checkpoint follows when the memtable passed its bound.  The writer
   that begins next sees this commit; readers see it once it is durable
   (or at once when it asked for no sync and no durable commit before it is
   still waiting).  The caller ends the transaction.  *need: the txid
   digby__log_durable must see synced before it publishes this commit (0:
   none, it publishes at once). */
static int digby__log_commit(digby_txn *txn, uint64_t *need)
{
    digby_db *db = txn->db;
    digby__log *l = &db->log;
    int rc, durable = !(db->flags & DIGBY_OPEN_NO_SYNC) && !txn->nosync;
    *need = 0;
    if (txn->nops == 0) {
        /* nothing to log; but a durable commit still makes the no-sync
           commits before it durable (DIGBY_TXN_NO_SYNC's promise), as
           digby_sync() does: the next append starts a new page, and
           digby__log_durable syncs */
        if (!durable) return DIGBY_OK;
        digby__mutex_lock(&db->mu);
        if (l->appended > l->synced) *need = l->appended;
        digby__mutex_unlock(&db->mu);
        if (*need) l->fresh_next = 1;
        return DIGBY_OK;
    }
    digby__mutex_lock(&db->mu);
    rc = l->sync_failed ? DIGBY_POISONED : DIGBY_OK;
    digby__mutex_unlock(&db->mu);
    if (rc == DIGBY_OK) rc = digby__log_encode(txn);
    if (rc == DIGBY_OK) {
        rc = digby__log_append(txn, durable);
        /* what reached the file is unknown: no more commits from here */
        if (rc) db->poisoned = 1;
    }
    if (rc) {
        digby__log_kill_ops(txn);
        return rc;
    }
    digby__mutex_lock(&db->mu);
    l->appended = txn->txid;
    digby__log_tail_own(db);
    if (durable) {
        l->durable_last = txn->txid;
        l->durable_appends++;
    }
    *need = l->durable_last > l->synced ? l->durable_last : 0;
    if (!*need && txn->txid > db->last_txid) {
        db->last_txid = txn->txid;
        digby__shm_publish(db); /* to other handles (48_lockfile.c) */
    }
    db->meta.page_count = txn->meta.page_count;
    db->mem->committed += txn->nops;
    digby__mutex_unlock(&db->mu);
    txn->popped.n = 0; /* the log took them */
    txn->nops = 0;
    /* the memtable passed its bound, or the log did: a durable commit
       takes a page of its own, so a run of small durable commits fills
       the log long before the memtable */
    if (db->mem->bytes >= l->mem_limit || (uint64_t)l->pages.n * db->page_size >= l->mem_limit)
        (void)digby__checkpoint_locked(db, 1);
    else if (db->mem->view->list->count >= DIGBY__MEM_FOLD)
        digby__log_fold(db);
    return DIGBY_OK;
}

/* The leader of a group sync (db->log.syncing set), before it syncs:
   while other threads are in durable read-write transactions not yet
   appended (db->log.writers), or fewer durable commits are appended than
   the last group sync covered, it gives them the processor, for at most a
   quarter of what the last sync took, so that its sync covers their
   commits too; returns the newest txid appended by then, which the sync
   covers (*group: the durable commits among them not synced before).
   Without it, a thread whose commit has just returned begins the next
   commit and finds no sync under way while the threads its sync released
   are still waking: it syncs for itself alone, and groups alternate
   between one commit and the rest.  The wait is the commit delay of
   database logs (PostgreSQL's commit_delay with commit_siblings, MySQL's
   binlog_group_commit_sync_delay), bounded by the device's own sync time
   rather than set by hand, and taken only while other writers are on
   their way or were in the last group: a lone writer never waits. */
static uint64_t digby__log_gather(digby_db *db, uint64_t *group)
{
    digby__log *l = &db->log;
    uint64_t t0 = 0, limit, target;
    for (;;) {
        int wait;
        digby__mutex_lock(&db->mu);
        *group = l->durable_appends - l->gathered;
        wait = l->writers > 0 || *group < l->last_group;
        limit = DIGBY__MIN(l->sync_ns / 4, (uint64_t)2000000);
        target = l->appended;
        digby__mutex_unlock(&db->mu);
        if (!wait || !limit) return target;
        if (!t0) t0 = digby__now_ns();
        else if (digby__now_ns() - t0 >= limit) return target;
        digby__yield();
    }
}

/* Commit a logged transaction, step 2 (no lock held): wait until every
   durable commit up to txid `need` is synced, syncing the log for the
   whole group when no other thread is doing it already, then publish
   commit txid to readers.  The group commit of LevelDB's DBImpl::Write
   writer queue and RocksDB's WriteThread, built as the "flush lock" of
   database logs (Helland et al., "Group Commit Timers and High-Volume
   Transaction Systems", HPTS 1987): a thread whose record is not yet
   synced either becomes the leader (no sync under way: it gathers the
   writers on their way, digby__log_gather, and syncs everything appended
   by then) or sleeps on db->scv until a sync ends, and returns when one
   covered its commit.  Waiters learn it from the condition variable, not
   by taking a lock the leader holds: with a mutex in its place the
   thread that had just synced took it again for its next commit before
   the woken waiters ran, and syncs covered one commit each (1.4 commits
   a sync with 4 threads).  A failed sync poisons the handle (every commit
   it was to cover reports it). */
static int digby__log_durable(digby_db *db, uint64_t txid, uint64_t need)
{
    digby__log *l = &db->log;
    int rc = DIGBY_OK;
    digby__mutex_lock(&db->mu);
    while (need) {
        uint64_t target, t0, group;
        if (l->sync_failed) { rc = DIGBY_POISONED; break; }
        if (need <= l->synced) break; /* a sync covered it */
        if (l->syncing) {
            digby__cond_wait(&db->scv, &db->mu);
            continue;
        }
        l->syncing = 1;
        digby__mutex_unlock(&db->mu);
        target = digby__log_gather(db, &group);
        t0 = digby__now_ns();
        rc = db->vfs->sync(db->file);
        digby__mutex_lock(&db->mu);
        l->syncing = 0;
        if (rc) l->sync_failed = 1;
        else {
            if (target > l->synced) l->synced = target;
            l->group_syncs++;
            l->sync_ns = digby__now_ns() - t0;
            l->gathered += group;
            l->last_group = group;
        }
        digby__cond_broadcast(&db->scv);
        if (rc) break;
    }
    if (rc == DIGBY_OK && txid > db->last_txid) {
        db->last_txid = txid;
        digby__shm_publish(db);
    }
    digby__mutex_unlock(&db->mu);
    return rc;
}

/* ---- Checkpoints -------------------------------------------------------- */

/* An internal read-write transaction for a checkpoint (db->wmu held). */
static int digby__txn_internal(digby_db *db, uint64_t txid, digby_txn **out);
static void digby__txn_end(digby_txn *txn);

/* How many dirty pages a checkpoint keeps before it commits a part (or,
   in an escalation's checkpoint, spills its leaves: digby__dirty_spill):
   a quarter of the memtable's bound or half the
   cache, whichever is less, between 16 pages and 8 MiB, so that a
   checkpoint adds at most that much to the memory the cache and the
   memtable take (the bound digby_options.memtable_bytes documents). */
static size_t digby__checkpoint_spill_pages(digby_db *db)
{
#ifdef DIGBY__CHECKPOINT_PAGES
    /* tests: a tiny budget, so that small checkpoints come in parts and spill */
    (void)db;
    return DIGBY__CHECKPOINT_PAGES;
#else
    size_t pages = DIGBY__MIN(db->log.mem_limit / 4 / db->page_size, digby__cache_pages(db) / 2);
    pages = DIGBY__MIN(pages, ((size_t)8 << 20) / db->page_size);
    return DIGBY__MAX((size_t)16, pages);
#endif
}

/* Where a checkpoint's merge stands in the memtable: a walk over its
   current view (which no commit changes while the checkpoint holds
   db->wmu), done when every key is merged. */
typedef struct digby__ckpt_pos {
    digby__miter it;
    int done;
} digby__ckpt_pos;

/* Merge memtable m's newest version of every key (up to txid upto) into
   the trees of checkpoint transaction c, in key order, from *pos on.  Past
   the budget of dirty pages (digby__checkpoint_spill_pages), a partial
   merge (partial 1) returns with *pos where it stopped, for the caller to
   commit this part and go on in a new transaction; otherwise it spills
   leaves and goes on. */
static int digby__checkpoint_merge(digby_txn *c, digby__mem *m, uint64_t upto,
                                   digby__ckpt_pos *pos, int partial)
{
    digby__tree *t = NULL;
    uint32_t slot = 0;
    digby__mnode *x;
    int rc = DIGBY_OK;
    c->spill_pages = digby__checkpoint_spill_pages(c->db);
    c->spill_at = c->spill_pages;
    while (rc == DIGBY_OK && (x = digby__miter_next(&pos->it, upto)) != NULL) {
        if (!t || x->slot != slot) {
            digby_table *tab;
            slot = x->slot;
            t = &c->meta.main;
            if (slot > 0) {
                rc = digby_table_open(c, m->tables_pub[slot].name, 0, &tab);
                if (rc == DIGBY_NOTFOUND) rc = DIGBY__CORRUPT(c->db, 0);
                if (rc) break;
                t = &tab->tree;
                tab->dirty = 1;
            }
        }
        c->put_version = x->txid;
        if (x->flags & DIGBY__MN_TOMB) {
            rc = digby__btree_delete(c, t, digby__mn_key(x), x->klen);
            if (rc == DIGBY_NOTFOUND) rc = DIGBY_OK;
        } else {
            rc = digby__btree_put(c, t, digby__mn_key(x), x->klen, x->val, x->vlen, 0);
        }
        c->mod++;
        if (rc || c->dirty.count < c->spill_at) continue;
        if (!partial) {
            rc = digby__dirty_spill(c);
            continue;
        }
        /* this part is full: the caller commits it */
        c->put_version = 0;
        return DIGBY_OK;
    }
    c->put_version = 0;
    if (rc == DIGBY_OK) pos->done = 1;
    return rc;
}

/* The txid of the next commit of the handle's own (a checkpoint or a part
   of one): past every commit, and in the other meta slot (txid % 2) than
   the last one, which must stay. */
static uint64_t digby__checkpoint_txid(digby_db *db)
{
    uint64_t txid = digby__newest_txid(db) + 1;
    if ((txid & 1) == (db->meta.txid & 1)) txid++;
    return txid;
}

/* Merge the memtable into the trees in transaction *c (begun with txid),
   committing a part whenever the budget of dirty pages is full (when
   partial: a checkpoint that chose its own txid; an escalation's has one
   txid only, and spills instead).  A part is an ordinary copy-on-write
   commit that leaves the log alone: the memtable, which shadows the
   tree, still holds everything it merged, so readers see the same data
   before and after it, and a crash after it replays the whole log over a
   tree that holds some of it already (the same versions of the same
   keys).  Each part frees the leaves it copied when the next one can
   reuse them, so the file grows by a part's pages, not by the whole
   tree's.  On return *c is the transaction that is to finish the
   checkpoint (or NULL after an error, everything of it undone but the
   parts committed). */
static int digby__checkpoint_parts(digby_db *db, digby__mem *m, uint64_t upto, int partial,
                                   digby_txn **c)
{
    digby__ckpt_pos pos;
    int rc = DIGBY_OK;
    digby__miter_init(&pos.it, m->view);
    pos.done = 0;
    db->log.checkpoint_parts_synced = 0;
    while (rc == DIGBY_OK) {
        rc = digby__checkpoint_merge(*c, m, upto, &pos, partial);
        if (rc || pos.done) break;
        /* a part leaves the log head where it was, so the records it
           merged must be durable before its meta page can be: a crash
           that kept the part and lost a log page of no-sync commits would
           leave those commits half applied (the crash sweep's torn and
           garbage states) */
        if (!db->log.checkpoint_parts_synced) {
            rc = digby__log_sync_locked(db);
            if (rc) break;
            db->log.checkpoint_parts_synced = 1;
        }
        (*c)->mod++;
        db->log.spilled += (*c)->spilled;
        db->log.checkpoint_parts++;
        rc = digby_txn_commit(*c);
        *c = NULL;
        if (rc == DIGBY_OK) rc = digby__txn_internal(db, digby__checkpoint_txid(db), c);
    }
    if (rc && *c) {
        digby_txn_abort(*c);
        *c = NULL;
    }
    return rc;
}

/* The log's page images (made once). */
static int digby__log_buffers(digby_db *db)
{
    digby__log *l = &db->log;
    if (!l->page) l->page = digby__pbuf_get(db);
    if (!l->seal) l->seal = digby__pbuf_get(db);
    return l->page && l->seal ? DIGBY_OK : DIGBY_NOMEM;
}

/* The log's pages are gone (a checkpoint merged them, or another handle's
   did: digby__log_adopt): readers that begin from now on read `fresh`
   (NULL: none), and the log starts again at its head unless keep_log;
   transactions begun before keep the old memtable until they end. */
static void digby__log_swap_mem(digby_db *db, digby__mem *fresh, int keep_log)
{
    digby__log *l = &db->log;
    digby__mem *old;
    digby__mutex_lock(&db->mu);
    l->pages.n = 0;
    if (!keep_log) {
        l->cur_pgno = l->next_pgno = l->next2_pgno = 0;
        l->fill = l->prev_fill = 0;
    }
    /* (no page of the new log is listed: the head is cur) */
    l->tail.pushed = keep_log && l->cur_lsn ? l->cur_lsn - 1 : 0;
    digby__log_tail_own(db);
    db->log_gen++;
    old = digby__mem_unref(db->mem);
    db->mem = fresh;
    digby__mutex_unlock(&db->mu);
    digby__mem_free(old);
}

/* Run a checkpoint (db->wmu held, no logged transaction with entries in
   flight other than the caller's, whose entries it leaves alone).
   keep_log: the file goes on with a log (its head recorded in the meta
   page); 0: the log is dropped (close, copy-on-write mode). */
static int digby__checkpoint_at(digby_db *db, int keep_log, uint64_t txid)
{
    digby__log *l = &db->log;
    /* where the log stands, for a checkpoint that fails (the group commit
       fields are not the checkpoint's to put back: other threads' syncs
       move them meanwhile) */
    uint64_t saved_cur = l->cur_pgno, saved_lsn = l->cur_lsn, saved_next = l->next_pgno;
    uint64_t saved_next2 = l->next2_pgno, saved_pushed = l->tail.pushed;
    uint32_t saved_fill = l->fill, saved_prev_fill = l->prev_fill;
    uint8_t saved_flags = l->cur_flags;
    int saved_fresh = l->fresh_next;
    digby__mem *m = db->mem, *fresh = NULL;
    digby_txn *c;
    uint64_t upto = digby__newest_txid(db);
    size_t i, saved_pages = l->pages.n;
    int rc;
    if (db->poisoned) return DIGBY_POISONED;
    if (!keep_log && !db->meta.log_head && !(m && m->committed)) return DIGBY_OK;
    if (keep_log && (rc = digby__log_buffers(db)) != DIGBY_OK) return rc;
    if (keep_log) {
        rc = digby__mem_new(&db->alloc, l->mem_limit, &fresh);
        if (rc) return rc;
    }
    rc = digby__txn_internal(db, txid ? txid : digby__checkpoint_txid(db), &c);
    if (rc) { digby__mem_free(fresh); return rc; }
    if (m && m->committed) {
        /* in parts unless an escalation's (one txid); a part needs the
           log synced before it (digby__checkpoint_parts), which is the
           one sync a DIGBY_OPEN_NO_SYNC handle makes, once per such
           checkpoint (RocksDB likewise syncs the files a memtable flush
           writes when its writes are not synced) */
        rc = digby__checkpoint_parts(db, m, upto, txid == 0, &c);
        if (rc) { digby__mem_free(fresh); return rc; }
    }
    /* the log: every page before the new head is freed */
    if (rc == DIGBY_OK && keep_log) {
        uint64_t p = 0;
        if (!l->cur_pgno) {
            rc = digby__page_alloc(c, &p);
            digby__mutex_lock(&db->mu);
            l->cur_pgno = p;
            l->cur_lsn = DIGBY__MAX(db->meta.log_lsn, 1);
            l->prev_fill = 0;
            digby__mutex_unlock(&db->mu);
        } else if (l->fill) {
            /* (a head not yet written stays the head: its successor may
               be taken already, by the checkpoint that made it, or at
               open) */
            if (!l->next_pgno) rc = digby__page_alloc(c, &p);
            digby__mutex_lock(&db->mu);
            if (p) l->next_pgno = p;
            digby__mutex_unlock(&db->mu);
            if (rc == DIGBY_OK) rc = digby__log_advance(db);
        }
        /* the head's successor too (the meta page names it: a damaged
           head is then told from a torn one, FORMAT.md 11.1) */
        if (rc == DIGBY_OK && !l->next_pgno) {
            p = 0;
            rc = digby__page_alloc(c, &p);
            digby__mutex_lock(&db->mu);
            l->next_pgno = p;
            digby__mutex_unlock(&db->mu);
        }
        l->fill = 0;
        l->fresh_next = 0;
        c->meta.log_head = l->cur_pgno;
        c->meta.log_lsn = l->cur_lsn;
        c->meta.log_next = l->next_pgno;
    } else if (rc == DIGBY_OK) {
        uint64_t next_lsn = l->cur_pgno ? l->cur_lsn + 1 : db->meta.log_lsn;
        if (l->cur_pgno) rc = digby__log_push_page(db, l->cur_pgno, l->cur_lsn);
        if (l->next_pgno && rc == DIGBY_OK) rc = digby__log_push_page(db, l->next_pgno, l->cur_lsn + 1);
        if (l->next2_pgno && rc == DIGBY_OK) rc = digby__log_push_page(db, l->next2_pgno, l->cur_lsn + 2);
        c->meta.log_head = 0;
        c->meta.log_lsn = next_lsn;
        c->meta.log_next = 0;
    }
    for (i = 0; i < l->pages.n && rc == DIGBY_OK; i++)
        rc = digby__page_free(c, l->pages.v[i], 0);
    c->mod++;
    l->spilled += c->spilled;
    if (rc == DIGBY_OK) rc = digby_txn_commit(c);
    else digby_txn_abort(c);
    if (rc) {
        /* nothing changed: the log goes on where it was */
        digby__mutex_lock(&db->mu);
        l->cur_pgno = saved_cur;
        l->cur_lsn = saved_lsn;
        l->next_pgno = saved_next;
        l->next2_pgno = saved_next2;
        l->fill = saved_fill;
        l->prev_fill = saved_prev_fill;
        l->cur_flags = saved_flags;
        l->fresh_next = saved_fresh;
        l->pages.n = saved_pages;
        l->tail.pushed = saved_pushed;
        digby__mutex_unlock(&db->mu);
        digby__mem_free(fresh);
        return rc;
    }
    l->bytes = 0;
    l->checkpoints++;
    digby__log_swap_mem(db, fresh, keep_log);
    return DIGBY_OK;
}

static int digby__checkpoint_locked(digby_db *db, int keep_log)
{
    return digby__checkpoint_at(db, keep_log, 0);
}

/* A logged transaction's txid, chosen so that the txid before it is free
   for the checkpoint an escalation needs and lands in the other meta slot
   than the last checkpoint's: the transaction keeps its id either way. */
static uint64_t digby__log_txid(digby_db *db)
{
    uint64_t t = digby__newest_txid(db) + 2;
    if (((t - 1) & 1) == (db->meta.txid & 1)) t++;
    return t;
}

/* A logged transaction must go on in the tree: checkpoint what is
   committed, apply its own entries to the trees under a new txid, and turn
   it into a copy-on-write transaction.  Cursors re-find their place. */
static int digby__log_escalate(digby_txn *txn)
{
    digby_db *db = txn->db;
    digby__mem *mine = txn->mem;
    digby_table *t;
    digby_cursor *cur;
    size_t i;
    uint32_t j, nsp;
    int rc;
    if (!txn->logged) return DIGBY_OK;
    rc = digby__checkpoint_at(db, 1, txn->txid - 1);
    if (rc) return rc;
    txn->logged = 0;
    txn->meta = db->meta;
    /* the handles' descriptors changed in the checkpoint */
    for (t = txn->tables; t; t = t->next) {
        const void *v;
        size_t vl;
        if (t->dropped) continue;
        rc = digby__btree_get(txn, &txn->meta.catalog, t->name, t->name_bytes, &v, &vl, NULL);
        if (rc == DIGBY_OK) rc = digby__table_decode(txn, v, vl, &t->tree);
        if (rc) return rc;
    }
    /* with savepoints: the nodes made before each, in order, then that
       savepoint taken again in copy-on-write form; a node a later write
       killed (a savepoint's) goes in too, and its successor after it */
    nsp = txn->nsp;
    txn->nsp = 0;
    for (i = 0, j = 0; j <= nsp; j++) {
        size_t end = j < nsp ? txn->sp[j].nops : txn->nops;
        for (; i < end; i++) {
            digby__mnode *n = txn->ops[i];
            digby__tree *tree = &txn->meta.main;
            if (n->slot) {
                const digby__mtable *mt = &mine->tables_pub[n->slot];
                t = digby__table_find(txn, mt->name, mt->name_bytes);
                if (!t) rc = DIGBY__CORRUPT(db, 0);
                else {
                    tree = &t->tree;
                    t->dirty = 1;
                }
            }
            if (rc) break;
            if (n->flags & DIGBY__MN_TOMB) {
                rc = digby__btree_delete(txn, tree, digby__mn_key(n), n->klen);
                if (rc == DIGBY_NOTFOUND) rc = DIGBY_OK;
            } else {
                rc = digby__btree_put(txn, tree, digby__mn_key(n), n->klen, n->val, n->vlen, 0);
            }
            if (rc) break;
        }
        if (rc == DIGBY_OK && j < nsp) rc = digby__sp_take(txn, &txn->sp[j]);
        if (rc) {
            /* half applied: only an abort may follow */
            txn->nsp = nsp;
            txn->poisoned = 1;
            return rc;
        }
        if (j < nsp) txn->nsp = j + 1;
    }
    digby__log_kill_ops(txn);
    txn->sp_dead_n = 0;
    txn->sp_marked = 0;
    digby__mutex_lock(&db->mu);
    mine = digby__txn_mem_drop(txn);
    digby__mutex_unlock(&db->mu);
    digby__mem_free(mine);
    txn->mod++;
    for (cur = txn->cursors; cur; cur = cur->next) digby__cursor_unmerge(cur);
    return DIGBY_OK;
}

/* Puts at least this many, in a transaction a commit need not sync, go
   to the tree directly when they append at its end (digby__log_appends). */
#define DIGBY__APPEND_MIN 128

/* Whether logged transaction txn is better committed to the tree: with
   nothing committed in the memtable (its escalation merges nothing), a
   commit that will not be synced (DIGBY_OPEN_NO_SYNC), and at least
   DIGBY__APPEND_MIN puts, no deletes, in one table, in ascending key
   order and all after the tree's last key.  Such puts fill the tree's
   rightmost leaves in order, each written once (as LMDB's MDB_APPEND and
   a copy-on-write fillseq do): copying them to the log, the memtable and
   later through a checkpoint costs several times more (bench/ fillseq,
   1M keys in commits of 1,000: 1.2M puts/s logged, 4M copy-on-write).
   Reads (a descent to the tree's last key) and decides; nothing changes. */
static int digby__log_appends(digby_txn *txn)
{
    digby_db *db = txn->db;
    const digby__mnode *first = txn->nops ? txn->ops[0] : NULL;
    digby_table *tab = NULL;
    digby__tree *t = &txn->meta.main;
    size_t i;
    int ok;
    if (!(db->flags & DIGBY_OPEN_NO_SYNC) || txn->nops < DIGBY__APPEND_MIN) return 0;
    digby__mutex_lock(&db->mu);
    ok = db->mem->committed == 0;
    digby__mutex_unlock(&db->mu);
    if (!ok) return 0;
    for (i = 0; i < txn->nops; i++) {
        const digby__mnode *x = txn->ops[i], *p = i ? txn->ops[i - 1] : NULL;
        if ((x->flags & (DIGBY__MN_TOMB | DIGBY__MN_DEAD)) || x->slot != first->slot) return 0;
        if (p && digby__keycmp(digby__mn_key(p), p->klen, digby__mn_key(x), x->klen) >= 0)
            return 0;
    }
    if (first->slot) {
        const digby__mtable *mt = &txn->mem->tables_pub[first->slot];
        tab = digby__table_find(txn, mt->name, mt->name_bytes);
        if (!tab) return 0;
        t = &tab->tree;
    }
    return digby__after_tree_end(txn, tab, t, digby__mn_key(first), first->klen);
}

/* Append commits in a row past which the next transaction begins in
   copy-on-write mode (digby__log_streak). */
#define DIGBY__STREAK_MIN 2

/* A read-write transaction about to begin in log mode (db->wmu held)
   begins in copy-on-write mode instead (returns 1, its txid chosen) when
   the last DIGBY__STREAK_MIN commits or more were of appends (the append
   path above, or such a transaction whose puts all appended,
   digby__log_streak_end), the memtable is empty and the handle does not
   sync: a bulk load in order (fillseq) then writes each leaf once, as in
   copy-on-write mode, and its puts skip the memtable, which the append
   path at commit fills and then empties (bench/ fillseq, 1M keys in
   commits of 1,000: 1.9M puts/s with the append path alone).  Any
   transaction may follow: one that does not append only commits as
   copy-on-write mode would, and ends the streak; one append commit does
   not start one, so that appends alternating with other commits leave
   the others logged.  Its txid lands in the other meta slot than the
   last commit's. */
static int digby__log_streak(digby_txn *txn)
{
    digby_db *db = txn->db;
    int empty;
    uint64_t t;
    if (db->log.streak < DIGBY__STREAK_MIN || !(db->flags & DIGBY_OPEN_NO_SYNC)) return 0;
    digby__mutex_lock(&db->mu);
    empty = db->mem->committed == 0;
    digby__mutex_unlock(&db->mu);
    if (!empty) return 0;
    t = digby__newest_txid(db) + 1;
    if ((t & 1) == (db->meta.txid & 1)) t++;
    txn->txid = t;
    txn->streak = txn->streak_ok = 1;
    return 1;
}

/* A copy-on-write commit in log mode has published (db->wmu held): one
   more append commit in a row when this one appended (the append path,
   or a streak of at least DIGBY__APPEND_MIN puts), else none. */
static void digby__log_streak_end(digby_txn *txn)
{
    digby__log *l = &txn->db->log;
    if (txn->appended || (txn->streak && txn->streak_ok && txn->streak_n >= DIGBY__APPEND_MIN))
        l->streak += l->streak < DIGBY__STREAK_MIN;
    else
        l->streak = 0;
}

/* ---- Open and close ----------------------------------------------------- */

/* At open, after the meta page (and for a writable handle the freelist)
   is loaded: replay a log the meta page names into a new memtable; a
   writable handle not in log mode merges it into the tree at once. */
static int digby__log_open(digby_db *db, int readonly)
{
    digby__log *l = &db->log;
    uint64_t last, t0;
    int rc, holes = 0;
    db->last_txid = l->open_txid = db->meta.txid;
    if (!db->meta.log_head && !l->on) return DIGBY_OK;
    rc = digby__mem_new(&db->alloc, l->mem_limit, &db->mem);
    if (rc == DIGBY_OK && l->on) rc = digby__log_buffers(db);
    if (rc) return rc;
    /* a writable handle in log mode starts one (a checkpoint that makes
       its head page) */
    if (!db->meta.log_head) return l->on ? digby__checkpoint_locked(db, 1) : DIGBY_OK;
    t0 = digby__now_ns();
    rc = digby__log_replay(db, db->mem, readonly, &last);
    l->replay_ns = digby__now_ns() - t0;
    if (rc) return rc;
    db->last_txid = last;
    l->appended = l->synced = l->open_txid = last;
    db->mem->committed = db->mem->count;
    if (readonly) return DIGBY_OK;
    rc = digby__log_reserve_pages(db, &holes);
    if (rc == DIGBY_OK && (!l->on || holes || db->mem->bytes >= l->mem_limit))
        rc = digby__checkpoint_locked(db, l->on);
    return rc;
}

/* Another handle sharing the file (48_lockfile.c) committed meta page m,
   whose log is not the one this handle reads (db->rmu held; no write
   transaction of this handle live): a checkpoint merged the old log into
   the tree and started a new one, or dropped the log (a close), or a
   log-mode handle started one.  The new log is read into a new memtable
   first; then m, that memtable and the tail become the handle's at once
   (under db->mu, where transactions begin), so that no transaction sees
   the new tree without the new log's commits or the old log's over the
   new tree.  Transactions begun before keep the old memtable until they
   end.  Returns DIGBY_OK, DIGBY_NOMEM, DIGBY_IOERR, DIGBY_CORRUPT. */
static int digby__log_adopt(digby_db *db, const digby__meta *m)
{
    digby__log *l = &db->log;
    digby__mem *fresh = NULL, *old;
    digby__ltail t = l->tail;
    digby__u64s pages = {NULL, 0, 0};
    digby__mload ld = {NULL, 0, 0};
    uint64_t n = 0;
    int rc = DIGBY_OK;
    digby__log_tail_head(&t, m);
    if (m->log_head) {
        /* nobody reads it yet: a bulk load, as at open */
        rc = digby__mem_new(&db->alloc, l->mem_limit, &fresh);
        if (rc == DIGBY_OK) rc = digby__log_read(db, fresh, &ld, &t, &pages, &n);
        if (rc == DIGBY_OK) rc = digby__mem_load_finish(fresh, &ld);
        digby__free(&db->alloc, ld.v);
        if (rc) {
            digby__mem_free(fresh);
            digby__u64s_release(&db->alloc, &pages);
            return rc;
        }
    }
    digby__mutex_lock(&db->mu);
    digby__u64s_release(&db->alloc, &l->pages);
    l->pages = pages;
    l->cur_pgno = l->next_pgno = l->next2_pgno = 0;
    l->fill = l->prev_fill = 0;
    l->tail = t;
    l->tailed += n;
    l->bytes = 0;
    db->log_gen++;
    old = digby__mem_unref(db->mem);
    db->mem = fresh;
    db->meta = *m;
    if (m->txid > db->last_txid) db->last_txid = m->txid;
    digby__mutex_unlock(&db->mu);
    digby__mem_free(old);
    return DIGBY_OK;
}

/* Read on in the log this handle reads (db->rmu held, no write
   transaction of this handle live): what other handles appended since
   goes into the memtable, which transactions may be reading (a commit
   newer than their snapshots, so unseen by them).  Returns DIGBY_OK and
   digby__log_read's errors (what it read whole stays). */
static int digby__log_follow(digby_db *db)
{
    digby__log *l = &db->log;
    uint64_t n = 0;
    int rc;
    if (!db->meta.log_head || !db->mem) return DIGBY_OK;
    rc = digby__log_read(db, db->mem, NULL, &l->tail, &l->pages, &n);
    l->tailed += n;
    if (n && db->mem->view->list->count >= DIGBY__MEM_FOLD) digby__log_fold(db);
    return rc;
}

/* The newest commit the handle holds: its meta page's, or the newest in
   the log it read or appended. */
static uint64_t digby__log_have(const digby_db *db)
{
    return DIGBY__MAX(db->meta.txid, db->log.tail.txid);
}

/* A writer takes over from another handle's (the writer lock and db->rmu
   held; the log read to its end, the freelist just loaded from the
   file): the pages of the log since the last checkpoint are not in the
   file's freelist, so they are taken out of it; appends go on in the
   first page that did not verify, as after recovery (never in a page
   another writer wrote: it may hold synced commits); and commits found
   in the log beyond the newest published one (a writer that died before
   it published them) are made durable by this handle's next commit before
   it publishes (as if this handle had appended them). */
static int digby__log_takeover(digby_db *db, uint64_t published)
{
    digby__log *l = &db->log;
    int holes = 0;
    digby__mutex_lock(&db->mu);
    l->file_bytes = 0;
    l->fill = l->prev_fill = 0;
    l->cur_flags = 0;
    l->fresh_next = 0;
    if (!db->meta.log_head) {
        l->cur_pgno = l->next_pgno = l->next2_pgno = 0;
        digby__mutex_unlock(&db->mu);
        return DIGBY_OK;
    }
    l->cur_pgno = l->tail.end_pgno;
    l->cur_lsn = l->tail.end_lsn;
    /* the page its writer took after it (past the file's last commit it
       is no longer taken: taken again when needed, as after replay) */
    l->next_pgno = l->tail.end_next2 != l->cur_pgno && l->tail.end_next2 < db->meta.page_count
                       ? l->tail.end_next2
                       : 0;
    l->next2_pgno = 0;
    if (l->tail.txid > l->appended) l->appended = l->tail.txid;
    if (l->tail.txid > published && l->tail.txid > l->durable_last) l->durable_last = l->tail.txid;
    digby__log_tail_own(db);
    digby__mutex_unlock(&db->mu);
    /* (pages past the last commit's end that the log does not hold go to
       the free list, which the next commit persists) */
    return digby__log_reserve_pages(db, &holes);
}

/* At close: a writable handle merges the memtable and drops the log. */
static void digby__log_close(digby_db *db)
{
    digby__log *l = &db->log;
    if (!(db->flags & DIGBY_OPEN_READONLY) && !db->poisoned && (l->on || db->meta.log_head))
        (void)digby__checkpoint_locked(db, 0);
}

/* Free the log's and the memtable's memory (close, or a failed open). */
static void digby__log_release(digby_db *db)
{
    digby__log *l = &db->log;
    digby__mem_free(digby__mem_unref(db->mem));
    db->mem = NULL;
    digby__pbuf_put(db, l->page);
    digby__pbuf_put(db, l->seal);
    l->page = l->seal = NULL;
    digby__u64s_release(&db->alloc, &l->pages);
    digby__free(&db->alloc, l->rec);
    l->rec = NULL;
}

/* Make every record appended so far durable (db->wmu held): one sync
   when some are not, after which the next append starts a new page (it
   must never rewrite one this sync made durable: digby__log_append).
   Publishes them to readers.  A failed sync poisons the handle. */
static int digby__log_sync_locked(digby_db *db)
{
    digby__log *l = &db->log;
    uint64_t target;
    int rc = DIGBY_OK;
    digby__mutex_lock(&db->mu);
    if (db->poisoned || l->sync_failed) rc = DIGBY_POISONED;
    target = l->appended;
    if (target <= l->synced) target = 0;
    digby__mutex_unlock(&db->mu);
    if (rc || !target) return rc;
    rc = db->vfs->sync(db->file);
    digby__mutex_lock(&db->mu);
    if (rc) l->sync_failed = 1;
    else {
        if (target > l->synced) l->synced = target;
        if (target > db->last_txid) {
            db->last_txid = target;
            digby__shm_publish(db);
        }
    }
    digby__mutex_unlock(&db->mu);
    if (rc) db->poisoned = 1;
    else l->fresh_next = 1;
    return rc;
}

DIGBY_API int digby_sync(digby_db *db)
{
    int rc;
    if (!db) return DIGBY_INVALID;
    if (db->flags & DIGBY_OPEN_READONLY) return DIGBY_OK;
    digby__mutex_lock(&db->wmu);
    rc = digby__log_sync_locked(db);
    digby__mutex_unlock(&db->wmu);
    return rc;
}

DIGBY_API int digby_checkpoint(digby_db *db)
{
    int rc, locked = 0;
    if (!db) return DIGBY_INVALID;
    if (db->flags & DIGBY_OPEN_READONLY) return DIGBY_READONLY;
    if (!db->log.on) return DIGBY_OK;
    digby__mutex_lock(&db->wmu);
    /* a meta page: under the writer lock of handles sharing the file,
       after what they committed (48_lockfile.c) */
    rc = db->poisoned ? DIGBY_POISONED : digby__shm_writer_in(db, 0, &locked);
    if (rc == DIGBY_OK) rc = db->meta.log_head ? digby__checkpoint_locked(db, 1) : DIGBY_OK;
    if (locked) digby__shm_writer_out(db);
    digby__mutex_unlock(&db->wmu);
    return rc;
}

#endif /* DIGBY__HAVE_MEMTABLE */
