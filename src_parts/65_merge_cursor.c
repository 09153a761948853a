/* Merged cursors: a tree cursor and the memtable walked together, newest first.

   When a transaction reads a memtable (log mode, 66_log_mode.c), a cursor
   walks two ordered sources: the tree (the stack of 64_cursor.c) and the
   memtable's visible entries of its table.  The current entry is the
   smaller key of the two going forward, the larger going back; on equal
   keys the memtable's entry shadows the tree's, and a memtable tombstone
   hides the key altogether (LevelDB's MergingIterator and DBIter).  Both
   sources stand at their first entry past the current key in the
   direction of the last move; a move the other way, or one after the
   transaction wrote (txn->mod changed), first seeks both sources again
   from a copy of the current key (mkey).  A merged cursor stays merged for
   its life: after a transaction escalates (its memtable is gone), its
   cursors walk the tree alone by the same rules. */

#if DIGBY__HAVE_MEMTABLE /* (12_internal.h) the file's last line ends it */

static int digby__mc_slot(digby_cursor *c)
{
    return c->txn->mem ? digby__txn_slot(c->txn, c->table) : -1;
}

/* The tree side's current key, whole (a large key is read from its item
   into c->full). */
static int digby__mc_tree_key(digby_cursor *c, const uint8_t **k, size_t *kl)
{
    int rc = digby__cursor_key(c);
    if (rc) return rc;
    if (!c->key_large) {
        *k = c->key;
        *kl = c->key_bytes;
        return DIGBY_OK;
    }
    if (c->key_len > (uint64_t)SIZE_MAX - 1) return DIGBY_NOMEM;
    rc = digby__reserve(&c->txn->db->alloc, &c->full, &c->full_cap, (size_t)c->key_len + 1);
    if (rc == DIGBY_OK)
        rc = digby__item_read(c->txn, 2, c->key_root, c->key_version, c->key_len,
                              (c->key_kflags & DIGBY__KEY_COMPRESSED) != 0, c->full);
    if (rc) return rc;
    *k = c->full;
    *kl = (size_t)c->key_len;
    return DIGBY_OK;
}

/* The cursor stands nowhere: a move starts from the first or last entry. */
static void digby__mc_drop(digby_cursor *c)
{
    digby__cursor_unpin_all(c);
    c->mvalid = 0;
    c->mn = NULL;
    digby__free(&c->txn->db->alloc, c->mkey);
    c->mkey = NULL;
    c->mkey_cap = c->mkey_bytes = 0;
}

static int digby__mc_keep(digby_cursor *c, const uint8_t *k, size_t kl)
{
    int rc = digby__reserve(&c->txn->db->alloc, &c->mkey, &c->mkey_cap, kl + 1);
    if (rc) return rc;
    if (kl) memcpy(c->mkey, k, kl);
    c->mkey_bytes = kl;
    return DIGBY_OK;
}

/* Step the memtable side one key in direction dir. */
static void digby__mc_mem_step(digby_cursor *c, int dir)
{
    if (c->mn) c->mn = digby__mem_step(c->txn->mview, c->mn, dir, c->txn->mem_upto, &c->mpos);
}

/* Settle on the entry the two sides give in direction dir, skipping keys
   a tombstone hides.  DIGBY_NOTFOUND when both are exhausted. */
static int digby__mc_resolve(digby_cursor *c, int dir)
{
    for (;;) {
        const uint8_t *tk = NULL;
        size_t tkl = 0;
        int cmp, rc;
        if (c->valid) {
            rc = digby__mc_tree_key(c, &tk, &tkl);
            if (rc) return rc;
        }
        if (!c->valid && !c->mn) { c->mvalid = 0; return DIGBY_NOTFOUND; }
        if (!c->mn) cmp = -dir;       /* the tree's */
        else if (!c->valid) cmp = dir; /* the memtable's */
        else cmp = digby__keycmp(tk, tkl, digby__mn_key(c->mn), c->mn->klen);
        if (cmp * dir > 0 || cmp == 0) {
            /* the memtable's entry comes first or shadows the tree's */
            if (c->mn->flags & DIGBY__MN_TOMB) {
                if (cmp == 0) {
                    rc = digby__cursor_step(c, dir);
                    if (rc && rc != DIGBY_NOTFOUND) return rc;
                }
                digby__mc_mem_step(c, dir);
                continue;
            }
            c->from_mem = 1;
            rc = digby__mc_keep(c, digby__mn_key(c->mn), c->mn->klen);
        } else {
            c->from_mem = 0;
            rc = digby__mc_keep(c, tk, tkl);
        }
        if (rc) return rc;
        c->mvalid = 1;
        c->mdir = dir;
        c->mmod = c->txn->mod;
        return DIGBY_OK;
    }
}

/* The tree side: seek (or first/last when end), leaving c->valid saying
   whether it stands on an entry. */
static int digby__mc_tree_seek(digby_cursor *c, const void *key, size_t kl, digby_seek_op op,
                               int end)
{
    int rc;
    if (end) rc = digby__cursor_end(c, op == DIGBY_SEEK_GE ? 1 : -1);
    else {
        digby__skey sk;
        digby__skey_mem(c->txn->db, &sk, key, kl);
        rc = digby__cursor_seek(c, &sk.k, op);
    }
    if (rc == DIGBY_NOTFOUND) { c->valid = 0; rc = DIGBY_OK; }
    return rc;
}

/* Seek both sides: op GE/GT go forward, LE/LT back (end: from the first
   or last entry). */
static int digby__mc_seek(digby_cursor *c, const void *key, size_t kl, digby_seek_op op,
                          int end)
{
    int dir = (op == DIGBY_SEEK_GE || op == DIGBY_SEEK_GT) ? 1 : -1;
    int incl = op == DIGBY_SEEK_GE || op == DIGBY_SEEK_LE, s, rc;
    c->mvalid = 0;
    c->mn = NULL;
    if ((rc = digby__cursor_check(c)) != DIGBY_OK) return rc;
    rc = digby__mc_tree_seek(c, key, kl, op, end);
    if (rc) { digby__cursor_unpin_all(c); return rc; }
    s = digby__mc_slot(c);
    if (s >= 0 && (end || kl <= c->txn->db->max_key))
        c->mn = !end ? digby__mem_seek(c->txn->mview, (uint32_t)s, key, kl, dir, incl,
                                       c->txn->mem_upto, &c->mpos)
                     : digby__mem_end(c->txn->mview, (uint32_t)s, dir, c->txn->mem_upto, &c->mpos);
    else if (s >= 0) {
        /* a large key sorts after every key of max_key bytes or less that
           it does not start with: compare the memtable's keys against it */
        digby__mnode *x = digby__mem_end(c->txn->mview, (uint32_t)s, dir, c->txn->mem_upto, &c->mpos);
        while (x) {
            int cmp = digby__keycmp(digby__mn_key(x), x->klen, key, kl);
            if (dir > 0 ? (cmp > 0 || (cmp == 0 && incl)) : (cmp < 0 || (cmp == 0 && incl)))
                break;
            x = digby__mem_step(c->txn->mview, x, dir, c->txn->mem_upto, &c->mpos);
        }
        c->mn = x;
    }
    rc = digby__mc_resolve(c, dir);
    if (rc) digby__mc_drop(c);
    return rc;
}

static int digby__mc_first_last(digby_cursor *c, int dir)
{
    return digby__mc_seek(c, NULL, 0, dir > 0 ? DIGBY_SEEK_GE : DIGBY_SEEK_LE, 1);
}

static int digby__mc_seek_user(digby_cursor *c, const void *key, size_t kl, digby_seek_op op)
{
    int rc;
    if (op != DIGBY_SEEK_EQ) return digby__mc_seek(c, key, kl, op, 0);
    rc = digby__mc_seek(c, key, kl, DIGBY_SEEK_GE, 0);
    if (rc == DIGBY_OK && digby__keycmp(c->mkey, c->mkey_bytes, key, kl) != 0) {
        digby__mc_drop(c);
        rc = DIGBY_NOTFOUND;
    }
    return rc;
}

/* Re-seek from the remembered key (op DIGBY_SEEK_EQ: to it exactly),
   keeping it when nothing is left there (so that next and prev still
   work). */
static int digby__mc_reseek(digby_cursor *c, digby_seek_op op)
{
    uint8_t *k = c->mkey;
    size_t kl = c->mkey_bytes, cap = c->mkey_cap;
    int rc;
    c->mkey = NULL;
    c->mkey_cap = 0;
    rc = digby__mc_seek(c, k, kl, op == DIGBY_SEEK_EQ ? DIGBY_SEEK_GE : op, 0);
    if (rc == DIGBY_OK && op == DIGBY_SEEK_EQ &&
        digby__keycmp(c->mkey, c->mkey_bytes, k, kl) != 0) {
        digby__mc_drop(c);
        rc = DIGBY_NOTFOUND;
    }
    if (rc == DIGBY_NOTFOUND && op == DIGBY_SEEK_EQ) {
        digby__free(&c->txn->db->alloc, c->mkey);
        c->mkey = k;
        c->mkey_cap = cap;
        c->mkey_bytes = kl;
        c->mvalid = 0;
        return rc;
    }
    digby__free(&c->txn->db->alloc, k);
    return rc;
}

static int digby__mc_move(digby_cursor *c, int dir)
{
    int rc;
    if ((rc = digby__cursor_check(c)) != DIGBY_OK) return rc;
    if (!c->mvalid && !c->mkey) return digby__mc_first_last(c, dir);
    if (!c->mvalid || c->mmod != c->txn->mod || c->mdir != dir)
        return digby__mc_reseek(c, dir > 0 ? DIGBY_SEEK_GT : DIGBY_SEEK_LT);
    /* both sides stand at or past the current key: move the one(s) on it */
    if (c->valid) {
        const uint8_t *tk;
        size_t tkl;
        rc = digby__mc_tree_key(c, &tk, &tkl);
        if (rc == DIGBY_OK && digby__keycmp(tk, tkl, c->mkey, c->mkey_bytes) == 0)
            rc = digby__cursor_step(c, dir);
        if (rc && rc != DIGBY_NOTFOUND) return rc;
    }
    if (c->mn && digby__keycmp(digby__mn_key(c->mn), c->mn->klen, c->mkey, c->mkey_bytes) == 0)
        digby__mc_mem_step(c, dir);
    rc = digby__mc_resolve(c, dir);
    if (rc) digby__mc_drop(c);
    return rc;
}

/* The merged current entry, re-found if the transaction wrote since:
   *n its memtable node, or (n NULL) the tree side's leaf and cell. */
static int digby__mc_here(digby_cursor *c, digby__mnode **n, digby__level **leaf,
                          digby__cell *cell)
{
    int rc;
    if ((rc = digby__cursor_check(c)) != DIGBY_OK) return rc;
    if (c->mvalid && c->mmod != c->txn->mod) {
        rc = digby__mc_reseek(c, DIGBY_SEEK_EQ);
        if (rc) return rc;
    }
    if (!c->mvalid) return DIGBY_NOTFOUND;
    *n = c->from_mem ? c->mn : NULL;
    if (!c->from_mem) {
        *leaf = &c->stack[c->depth - 1];
        digby__node_cell((*leaf)->page, (*leaf)->idx, cell);
    }
    return DIGBY_OK;
}

/* The transaction's memtable is gone (escalation): seek again next time. */
static void digby__cursor_unmerge(digby_cursor *c)
{
    if (!c->merged) return;
    c->mn = NULL;
    c->mmod = c->txn->mod - 1;
}

/* Whether the cursor merges (decided at its first use in a transaction
   that reads a memtable, and kept). */
static int digby__cursor_merging(digby_cursor *c)
{
    if (c->merged) return 1;
    if (c->tree == &c->txn->meta.catalog) return 0; /* never in the memtable */
    if (c->txn->logged || digby__mc_slot(c) >= 0) c->merged = 1;
    return c->merged;
}

#endif /* DIGBY__HAVE_MEMTABLE */
