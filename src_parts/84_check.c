/* digby_check and digby_stat: one iterative walk over a snapshot.

   Every page reachable from the global tree, the catalog, each table, the
   overflow items and the freelist is marked in a bitmap; a page marked
   twice is shared or cyclic, a page never marked is leaked.  Each tree page
   is verified on read (trailer, page number, structure, the txid its parent
   recorded) and keys are checked to rise strictly across the whole tree and
   to respect every separator above them.  Walks are bounded by the tree
   depth and the page count, so a corrupt page graph cannot loop.  Overflow
   items are walked through their index pages, every page read; a large
   key's hash and first bytes are checked against the whole key. */

typedef struct digby__walk {
    digby_txn *txn;
    uint8_t *bits;          /* NULL when only verifying one transaction */
    uint64_t only_txid;     /* nonzero: visit only pages written by it */
    uint64_t visits;        /* pages visited, bounded by page_count */
    digby_stats *st;
    digby_check_report *rep;
    uint8_t *prev; size_t prev_bytes, prev_cap; int have_prev;
    uint8_t *val; size_t val_cap;
    uint8_t *first, *cur; size_t first_cap, cur_cap;  /* keys' first bytes */
    digby__kref prevk, firstk;     /* the last and first key of a leaf */
    digby__tree *tables; size_t ntables, cap_tables;
    uint64_t entries;   /* counted in the current tree */
    /* log mode: the live log's pages (sorted), the first nwritten of them
       written and never rewritten (verified); the persisted freelist,
       older than the log, may still list them */
    uint64_t *logp; size_t nlogp, nwritten;
} digby__walk;

static int digby__walk_fail(digby__walk *w, uint64_t pgno, const char *what)
{
    if (w->rep && w->rep->bad_pgno == 0 && w->rep->message[0] == 0) {
        w->rep->bad_pgno = pgno;
        snprintf(w->rep->message, sizeof(w->rep->message), "page %llu: %s",
                 (unsigned long long)pgno, what);
    }
    return DIGBY__CORRUPT(w->txn->db, pgno);
}

static int digby__walk_mark(digby__walk *w, uint64_t pgno, const char *what)
{
    if (pgno < 2 || pgno >= w->txn->meta.page_count)
        return digby__walk_fail(w, pgno, "page number outside the file");
    if (!w->bits) {
        /* no bitmap: a page graph with sharing could make the walk long,
           never endless: stop after page_count visits */
        if (++w->visits > w->txn->meta.page_count)
            return digby__walk_fail(w, pgno, "page graph has a cycle or shared pages");
        return DIGBY_OK;
    }
    if (w->bits[pgno >> 3] & (1u << (pgno & 7)))
        return digby__walk_fail(w, pgno, what);
    w->bits[pgno >> 3] |= (uint8_t)(1u << (pgno & 7));
    if (w->rep) w->rep->pages_checked++;
    return DIGBY_OK;
}

/* Mark a page and count it in the stats field `stat` points to (if any). */
static int digby__walk_count(digby__walk *w, uint64_t pgno, const char *what, uint64_t *stat)
{
    int rc = digby__walk_mark(w, pgno, what);
    if (rc == DIGBY_OK && stat) (*stat)++;
    return rc;
}

static int digby__walk_ovf_page(void *ctx, uint64_t pgno)
{
    digby__walk *w = (digby__walk *)ctx;
    return digby__walk_count(w, pgno, "overflow page used twice",
                             w->st ? &w->st->overflow_pages : NULL);
}

/* Every page of an overflow item: marked, read and checked. */
static int digby__walk_item(digby__walk *w, uint64_t root, uint64_t version, uint64_t len,
                            int compressed)
{
    digby_db *db = w->txn->db;
    int rc;
    db->corrupt_pgno = 0;
    rc = digby__item_walk(w->txn, root, version, len, compressed, digby__walk_ovf_page, w);
    if (rc == DIGBY_CORRUPT && w->rep && w->rep->message[0] == 0)
        return digby__walk_fail(w, db->corrupt_pgno ? db->corrupt_pgno : root,
                                "overflow item fails verification "
                                "(page, txid, index or chunk table)");
    return rc;
}

/* A large key: its hash and first bytes must be the whole key's. */
static int digby__walk_large_key(digby__walk *w, uint64_t pgno, const digby__kref *k)
{
    digby_txn *txn = w->txn;
    digby__sha256 sha;
    uint8_t hash[DIGBY__HASH_BYTES];
    digby__rd *rd;
    uint64_t off = 0;
    int rc = digby__large_scratch_get(txn);
    if (rc) return rc;
    rd = &txn->large->rd[2];
    rc = digby__rd_open(txn, rd, k->root, k->version, k->len,
                        (k->kflags & DIGBY__KEY_COMPRESSED) != 0);
    if (rc) return rc;
    digby__sha256_init(&sha);
    while (off < k->len) {
        const uint8_t *p;
        size_t n;
        rc = digby__rd_span(txn, rd, off, &p, &n);
        if (rc) { uint8_t junk[DIGBY__HASH_BYTES]; digby__sha256_final(&sha, junk); return rc; }
        if (off < k->head_bytes &&
            memcmp(p, k->head + off, (size_t)DIGBY__MIN((uint64_t)n, k->head_bytes - off)) != 0) {
            digby__sha256_final(&sha, hash);
            return digby__walk_fail(w, pgno,
                                    "large key's first bytes differ from its overflow item");
        }
        digby__sha256_update(&sha, p, n);
        off += n;
    }
    digby__sha256_final(&sha, hash);
    if (memcmp(hash, k->hash, DIGBY__HASH_BYTES) != 0)
        return digby__walk_fail(w, pgno, "large key's hash differs from its overflow item");
    return DIGBY_OK;
}

/* Compare key k with separator slot i of branch bp: *out as kcmp. */
static int digby__walk_sep(digby__walk *w, const uint8_t *bp, unsigned i,
                           const digby__kref *k, int *out, int *tie, int *in_range)
{
    digby__kref s;
    size_t kl;
    int rc;
    memset(&s, 0, sizeof(s));
    s.head = digby__node_key(bp, i, &kl);
    s.head_bytes = kl;
    s.len = kl;
    *tie = digby__branch_tie(bp, i);
    *in_range = 0;
    rc = digby__kcmp(w->txn, k, &s, out);
    if (rc == DIGBY_OK && *tie && *out > 0)
        rc = digby__kref_starts(w->txn, k, s.head, kl, in_range);
    return rc;
}

/* A catalog entry: its value must be a sane tree descriptor, which joins
   the list of tables to walk. */
static int digby__walk_catalog_entry(digby__walk *w, uint64_t pgno, const digby__cell *c)
{
    digby__tree t;
    int rc;
    if (c->vlen != DIGBY__TREE_BYTES) return digby__walk_fail(w, pgno, "bad catalog entry");
    /* long names at small page sizes push the descriptor out */
    rc = digby__cell_value(w->txn, c, &w->val, &w->val_cap);
    if (rc) return rc;
    digby__tree_decode(&t, w->val);
    if (!digby__tree_sane(&t, w->txn->meta.page_count, w->txn->meta.txid))
        return digby__walk_fail(w, pgno, "bad table descriptor");
    if (w->ntables == w->cap_tables) {
        size_t nc = w->cap_tables ? w->cap_tables * 2 : 16;
        digby__tree *nt = (digby__tree *)digby__realloc(&w->txn->db->alloc, w->tables,
                                                        nc * sizeof(digby__tree));
        if (!nt) return DIGBY_NOMEM;
        w->tables = nt;
        w->cap_tables = nc;
    }
    w->tables[w->ntables++] = t;
    return DIGBY_OK;
}

/* Cell i of leaf page p (page pgno, key prefix plen bytes): its version,
   key length, overflow items and large key, and its key above the one
   before it (w->prevk, across leaves); the key becomes w->prevk, and for
   i == 0 also w->firstk. */
static int digby__walk_cell(digby__walk *w, uint64_t pgno, const uint8_t *p, unsigned plen,
                            unsigned i, int is_catalog)
{
    digby__cell c;
    digby__cell_item it[2];
    digby__kref ck;
    size_t kn;
    unsigned k, m;
    int cmp, rc;
    digby__node_cell(p, i, &c);
    digby__cell_kref(digby__node_prefix(p), plen, &c, w->cur, &ck);
    kn = ck.head_bytes + (ck.hash ? DIGBY__HASH_BYTES : 0); /* bytes at w->cur */
    if (c.version > w->txn->meta.txid)
        return digby__walk_fail(w, pgno, "value version newer than the snapshot");
    if (!(c.flags & DIGBY__CELL_LARGE_KEY) && kn > w->txn->db->max_key)
        return digby__walk_fail(w, pgno, "key longer than the key limit");
    /* its overflow items (verifying one commit: only the ones it wrote),
       and a large key's hash and first bytes, before any key comparison
       reads them */
    m = !w->only_txid || c.version == w->only_txid ? digby__cell_items(p, i, &c, it) : 0;
    for (k = 0; k < m; k++) {
        rc = digby__walk_item(w, it[k].root, c.version, it[k].len, it[k].compressed);
        if (rc) return rc;
    }
    if ((c.flags & DIGBY__CELL_LARGE_KEY) && !w->only_txid) {
        rc = digby__walk_large_key(w, pgno, &ck);
        if (rc) return rc;
    }
    if (w->have_prev) {
        rc = digby__kcmp(w->txn, &w->prevk, &ck, &cmp);
        if (rc == DIGBY_NOFEATURE && w->only_txid) rc = DIGBY_OK, cmp = -1;
        if (rc) return rc;
        if (cmp >= 0) return digby__walk_fail(w, pgno, "keys out of order");
    }
    rc = digby__reserve(&w->txn->db->alloc, &w->prev, &w->prev_cap, kn + 1);
    if (rc) return rc;
    memcpy(w->prev, w->cur, kn);
    w->prevk = ck;
    w->prevk.head = w->prev;
    if (ck.hash) w->prevk.hash = w->prev + ck.head_bytes;
    w->prev_bytes = kn;
    w->have_prev = 1;
    if (i == 0) {
        memcpy(w->first, w->cur, kn);
        w->firstk = w->prevk;
        w->firstk.head = w->first;
        if (ck.hash) w->firstk.hash = w->first + ck.head_bytes;
    }
    return is_catalog ? digby__walk_catalog_entry(w, pgno, &c) : DIGBY_OK;
}

/* The leaf's first and last keys (w->firstk, w->prevk) against the
   separators of every ancestor (stack[0 .. depth-2], whose idx is one past
   the slot taken).  A separator s bounds its right subtree's keys from
   below (k >= s; a tie separator: k > s) and its left subtree's from above
   (k < s; a tie separator: k <= s, or k has s as a prefix). */
static int digby__walk_bounds(digby__walk *w, const digby__level *stack, int depth)
{
    uint64_t pgno = stack[depth - 1].pgno;
    int l, rc;
    for (l = 0; l < depth - 1; l++) {
        const uint8_t *bp = stack[l].page;
        unsigned slot = stack[l].idx - 1, bn = digby__node_n(bp);
        int cmp, tie, in_range;
        /* open's verification, in a build without lz4, cannot read
           compressed large keys: it leaves their order to digby_check */
        if (slot > 0) {
            rc = digby__walk_sep(w, bp, slot, &w->firstk, &cmp, &tie, &in_range);
            if (rc == DIGBY_NOFEATURE && w->only_txid) rc = DIGBY_OK, cmp = 1, tie = 0;
            if (rc) return rc;
            if (cmp < 0 || (tie && cmp == 0))
                return digby__walk_fail(w, pgno, "key below its parent's separator");
        }
        if (slot + 1 < bn) {
            rc = digby__walk_sep(w, bp, slot + 1, &w->prevk, &cmp, &tie, &in_range);
            if (rc == DIGBY_NOFEATURE && w->only_txid) rc = DIGBY_OK, cmp = -1, tie = 0;
            if (rc) return rc;
            if (tie ? (cmp > 0 && !in_range) : cmp >= 0)
                return digby__walk_fail(w, pgno, "key above the next separator");
        }
    }
    return DIGBY_OK;
}

/* Check a leaf (stack[depth - 1]): every cell (digby__walk_cell), then its
   keys against its ancestors' separators (digby__walk_bounds). */
static int digby__walk_leaf(digby__walk *w, const digby__level *stack, int depth,
                            int is_catalog)
{
    const digby__level *leaf = &stack[depth - 1];
    const uint8_t *p = leaf->page;
    unsigned n = digby__node_n(p), i, plen = digby__node_plen(p);
    digby_db *db = w->txn->db;
    int rc;
    rc = digby__reserve(&db->alloc, &w->first, &w->first_cap, db->page_size);
    if (rc == DIGBY_OK) rc = digby__reserve(&db->alloc, &w->cur, &w->cur_cap, db->page_size);
    if (rc) return rc;
    if (plen > digby__max_prefix(db))
        return digby__walk_fail(w, leaf->pgno, "key prefix longer than allowed");
    for (i = 0; i < n; i++) {
        rc = digby__walk_cell(w, leaf->pgno, p, plen, i, is_catalog);
        if (rc) return rc;
    }
    w->entries += n;
    return digby__walk_bounds(w, stack, depth);
}

static int digby__walk_tree(digby__walk *w, const digby__tree *t, int is_catalog)
{
    digby_txn *txn = w->txn;
    digby_db *db = txn->db;
    digby__level stack[DIGBY__MAX_DEPTH];
    int sp = 0, rc = DIGBY_OK;
    w->have_prev = 0;
    w->entries = 0;
    if (t->root == 0) return DIGBY_OK;
    if (w->only_txid && t->root_txid != w->only_txid) return DIGBY_OK;
    if (t->depth == 0 || t->depth > DIGBY__MAX_DEPTH)
        return digby__walk_fail(w, t->root, "bad tree depth");
    rc = digby__walk_mark(w, t->root, "root page used twice");
    if (rc) return rc;
    rc = digby__page_get(txn, t->root, t->root_txid, &stack[0].page, &stack[0].pin);
    if (rc == DIGBY_CORRUPT) return digby__walk_fail(w, t->root, "root page fails verification");
    if (rc) return rc;
    stack[0].pgno = t->root;
    stack[0].idx = 0;
    while (sp >= 0 && rc == DIGBY_OK) {
        digby__level *top = &stack[sp];
        int want_leaf = (uint32_t)sp + 1 == t->depth;
        unsigned n = digby__node_n(top->page);
        if (top->page[0] != (want_leaf ? DIGBY__PAGE_LEAF : DIGBY__PAGE_BRANCH)) {
            rc = digby__walk_fail(w, top->pgno, "page type does not match its depth");
            break;
        }
        if (want_leaf) {
            if (w->st) w->st->leaf_pages++;
            rc = digby__walk_leaf(w, stack, sp + 1, is_catalog);
            digby__page_unpin(db, top->pin);
            sp--;
            continue;
        }
        if (top->idx == 0) {
            unsigned i;
            if (w->st) w->st->branch_pages++;
            for (i = 2; i < n; i++) {
                size_t a, b;
                const uint8_t *ka = digby__node_key(top->page, i - 1, &a);
                const uint8_t *kb = digby__node_key(top->page, i, &b);
                int c = digby__keycmp(ka, a, kb, b);
                /* tie separators may repeat: several children hold keys
                   with the same first max_key bytes */
                if (c > 0 || (c == 0 && !digby__branch_tie(top->page, i))) {
                    rc = digby__walk_fail(w, top->pgno, "separators out of order");
                    break;
                }
            }
            if (rc) break;
        }
        if (top->idx < n) {
            digby__cell c;
            digby__level *child = &stack[sp + 1];
            digby__node_cell(top->page, top->idx++, &c);
            if (w->only_txid && c.child_txid != w->only_txid) continue;
            rc = digby__walk_mark(w, c.child, "page reachable twice (shared or cyclic)");
            if (rc) break;
            rc = digby__page_get(txn, c.child, c.child_txid, &child->page, &child->pin);
            if (rc == DIGBY_CORRUPT) {
                rc = digby__walk_fail(w, c.child, "page fails verification or has a txid other than its parent records");
                break;
            }
            if (rc) break;
            child->pgno = c.child;
            child->idx = 0;
            sp++;
        } else {
            digby__page_unpin(db, top->pin);
            sp--;
        }
    }
    for (; sp >= 0; sp--) digby__page_unpin(db, stack[sp].pin);
    if (rc == DIGBY_OK && !w->only_txid && w->entries != t->entries)
        rc = digby__walk_fail(w, t->root, "entry count differs from the tree descriptor");
    return rc;
}

static int digby__walk_fl_page(void *ctx, uint64_t pgno)
{
    digby__walk *w = (digby__walk *)ctx;
    return digby__walk_count(w, pgno, "freelist page used twice",
                             w->st ? &w->st->freelist_pages : NULL);
}

static int digby__walk_fl_entry(void *ctx, int pending, uint64_t txid, uint64_t pgno)
{
    digby__walk *w = (digby__walk *)ctx;
    (void)txid;
    if (w->nlogp && digby__u64_has(w->logp, w->nlogp, pgno)) return DIGBY_OK; /* the log's now */
    return digby__walk_count(w, pgno, pending ? "pending page also in use or listed twice"
                                              : "free page also in use or listed twice",
                             w->st ? &w->st->free_pages : NULL);
}

static int digby__walk_fl_bad(void *ctx, uint64_t pgno, const char *what)
{
    return digby__walk_fail((digby__walk *)ctx, pgno, what);
}

/* The freelist chain and every page it lists, through open's own decoder. */
static int digby__walk_freelist(digby__walk *w)
{
    digby__fl_reader r;
    int rc = digby__txn_io(w->txn);
    if (rc) return rc;
    r.ctx = w;
    r.page = digby__walk_fl_page;
    r.entry = digby__walk_fl_entry;
    r.bad = digby__walk_fl_bad;
    return digby__freelist_read(w->txn->db, &w->txn->meta, w->txn->io, &r);
}

/* Copy the live log's page list, as of the walk's snapshot (db->mu held):
   1 when a checkpoint came between (begin the snapshot again). */
static int digby__walk_log_list(digby__walk *w)
{
    digby_db *db = w->txn->db;
    digby__log *l = &db->log;
    size_t n = 0, i;
    if (db->log_gen != w->txn->log_gen) return 1;
    if (!w->txn->meta.log_head) return DIGBY_OK;
    w->logp = (uint64_t *)digby__malloc(&db->alloc, (l->pages.n + 3) * sizeof(uint64_t));
    if (!w->logp) return DIGBY_NOMEM;
    for (i = 0; i < l->pages.n; i++) w->logp[n++] = l->pages.v[i];
    w->nwritten = n;
    if (l->cur_pgno && l->cur_lsn > l->tail.pushed) {
        /* this handle appended last: its page and the two it took ahead */
        w->logp[n++] = l->cur_pgno;
        if (l->next_pgno) w->logp[n++] = l->next_pgno;
        if (l->next2_pgno) w->logp[n++] = l->next2_pgno;
    } else {
        /* another handle sharing the file appended last (48_lockfile.c):
           the newest page read may still grow (its writer rewrites it
           whole), and the two pages it names (or the head not yet written
           and the page the meta page names after it) are taken already */
        if (n) w->nwritten = n - 1;
        if (l->tail.end_pgno) w->logp[n++] = l->tail.end_pgno;
        if (l->tail.end_next2 && l->tail.end_next2 != l->tail.end_pgno) w->logp[n++] = l->tail.end_next2;
    }
    /* pages the log took after the snapshot began lie past its end */
    for (i = w->nlogp = 0; i < n; i++)
        if (w->logp[i] < w->txn->meta.page_count) w->logp[w->nlogp++] = w->logp[i];
    return DIGBY_OK;
}

/* Whether every page from file_pages to the snapshot's end is a log page
   not yet written. */
static int digby__walk_log_beyond(const digby__walk *w, uint64_t file_pages)
{
    uint64_t p;
    size_t i;
    for (p = file_pages; p < w->txn->meta.page_count; p++) {
        int found = 0;
        for (i = w->nwritten; i < w->nlogp && !found; i++) found = w->logp[i] == p;
        if (!found) return 0;
    }
    return 1;
}

/* Mark the live log's pages; read and verify those written for good. */
static int digby__walk_log(digby__walk *w)
{
    digby_db *db = w->txn->db;
    size_t i;
    int rc = DIGBY_OK;
    for (i = 0; i < w->nlogp && rc == DIGBY_OK; i++) {
        uint64_t p = w->logp[i];
        rc = digby__walk_count(w, p, "log page also in use", w->st ? &w->st->log_pages : NULL);
        if (rc == DIGBY_OK && i < w->nwritten) {
            rc = digby__txn_io(w->txn);
            /* read_raw verifies the trailer and the page number */
            if (rc == DIGBY_OK) {
                rc = digby__page_read_raw(db, p, w->txn->io);
                if (rc == DIGBY_CORRUPT) rc = digby__walk_fail(w, p, "log page fails verification");
            }
            if (rc == DIGBY_OK && w->txn->io[0] != DIGBY__PAGE_LOG)
                rc = digby__walk_fail(w, p, "log page of another type");
        }
    }
    if (w->nlogp > 1) digby__sort_u64_with(w->logp, w->nlogp, 0, NULL);
    return rc;
}

/* Free what a walk allocated (not the bitmap). */
static void digby__walk_release(digby__walk *w)
{
    const digby_allocator *a = &w->txn->db->alloc;
    digby__free(a, w->logp);
    digby__free(a, w->prev);
    digby__free(a, w->val);
    digby__free(a, w->first);
    digby__free(a, w->cur);
    digby__free(a, w->tables);
}

/* The global tree, the catalog and every table it lists. */
static int digby__walk_trees(digby__walk *w)
{
    size_t i;
    int rc = digby__walk_tree(w, &w->txn->meta.main, 0);
    /* with only_txid: a table whose root that transaction wrote has its
       descriptor in a catalog leaf it wrote, so the filtered catalog walk
       finds every such table */
    if (rc == DIGBY_OK) rc = digby__walk_tree(w, &w->txn->meta.catalog, 1);
    for (i = 0; i < w->ntables && rc == DIGBY_OK; i++) {
        rc = digby__walk_tree(w, &w->tables[i], 0);
        if (w->st) w->st->table_entries += w->tables[i].entries;
    }
    return rc;
}

/* The log mode figures of digby_stats, and the entry counts as the
   snapshot sees them (memtable included). */
static int digby__walk_log_stats(digby__walk *w)
{
    digby_txn *txn = w->txn;
    digby_db *db = txn->db;
    digby_stats *st = w->st;
    uint32_t s;
    int rc = DIGBY_OK;
    digby__mutex_lock(&db->mu);
    st->log_bytes = db->log.bytes;
    st->checkpoints = db->log.checkpoints;
    st->log_syncs = db->log.group_syncs;
    st->checkpoint_spilled = db->log.spilled;
    st->checkpoint_parts = db->log.checkpoint_parts;
    st->memtable_folds = db->log.folds;
    digby__mutex_unlock(&db->mu);
    st->replay_commits = db->log.replay_commits;
    st->replay_bytes = db->log.replay_bytes;
    st->replay_ns = db->log.replay_ns;
    if (!txn->mem) return DIGBY_OK;
    st->memtable_bytes = txn->mem->bytes;
    st->memtable_entries = txn->mem->committed;
    rc = digby__merged_entries(txn, "", 0, &txn->meta.main, &st->entries);
    for (s = 1; s < DIGBY__PLOAD(&txn->mem->ntables) && rc == DIGBY_OK; s++) {
        const digby__mtable *mt = &DIGBY__PLOAD(&txn->mem->tables_pub)[s];
        const void *v;
        size_t vl;
        digby__tree t;
        int64_t d;
        rc = digby__btree_get(txn, &txn->meta.catalog, mt->name, mt->name_bytes, &v, &vl, NULL);
        if (rc == DIGBY_NOTFOUND) { rc = DIGBY_OK; continue; }
        if (rc == DIGBY_OK) rc = digby__table_decode(txn, v, vl, &t);
        if (rc == DIGBY_OK) rc = digby__mem_delta(txn, (int)s, &t, &d);
        if (rc == DIGBY_OK) st->table_entries = (uint64_t)((int64_t)st->table_entries + d);
    }
    return rc;
}

static int digby__walk_all_at(digby_db *db, digby_stats *st, digby_check_report *rep);

/* Walk everything, holding the freelist chains the snapshot's meta page
   names (db->fl_readers: writers keep replaced chains meanwhile). */
static int digby__walk_all(digby_db *db, digby_stats *st, digby_check_report *rep)
{
    int rc;
    if (!db) return DIGBY_INVALID;
    digby__mutex_lock(&db->mu);
    db->fl_readers++;
    digby__shm_chains(db);
    digby__mutex_unlock(&db->mu);
    rc = digby__walk_all_at(db, st, rep);
    digby__mutex_lock(&db->mu);
    db->fl_readers--;
    digby__shm_chains(db);
    digby__mutex_unlock(&db->mu);
    return rc;
}

static int digby__walk_all_at(digby_db *db, digby_stats *st, digby_check_report *rep)
{
    digby__walk w;
    digby_txn *txn;
    uint64_t nbytes, p, size;
    int rc;
    if (!db) return DIGBY_INVALID;
    for (;;) {
        rc = digby_txn_begin(db, DIGBY_TXN_READONLY, &txn);
        if (rc) return rc;
        memset(&w, 0, sizeof(w));
        w.txn = txn;
        digby__mutex_lock(&db->mu);
        rc = digby__walk_log_list(&w);
        digby__mutex_unlock(&db->mu);
        if (rc != 1) break;
        digby_txn_abort(txn);
    }
    if (rc == DIGBY_OK && db->shm && txn->meta.log_head &&
        !(db->log.cur_pgno && db->log.cur_lsn > db->log.tail.pushed)) {
        /* another handle appended last (48_lockfile.c): this handle's
           page count is its own writes' (log commits count pages without
           a meta page), which the other writer's may have left behind:
           the file's meta page has the count, and log pages past it are
           the other writer's to count */
        digby__meta m;
        size_t i, j, gone = 0;
        rc = digby__shm_read_meta(db, txn->meta.txid, &m);
        if (rc == DIGBY_OK && m.page_count < txn->meta.page_count) {
            txn->meta.page_count = m.page_count;
            for (i = j = 0; i < w.nlogp; i++)
                if (w.logp[i] < m.page_count) w.logp[j++] = w.logp[i];
                else if (i < w.nwritten) gone++;
            w.nlogp = j;
            w.nwritten -= gone;
        }
        if (rc == DIGBY_BUSY) rc = DIGBY_OK; /* (a newer commit: the count stands) */
    }
    if (rc) { digby__walk_release(&w); digby_txn_abort(txn); return rc; }
    txn->map_verify = 1; /* every page checked, even those the map trusts */
    w.st = st;
    w.rep = rep;
    /* the page bitmap is sized by the meta page's count: never past the file
       (but for log pages allocated and not yet written) */
    if (db->vfs->size(db->file, &size) == DIGBY_OK &&
        size / db->page_size < txn->meta.page_count &&
        !digby__walk_log_beyond(&w, size / db->page_size)) {
        rc = digby__walk_fail(&w, size / db->page_size, "file shorter than the meta page's page count");
        digby__walk_release(&w);
        digby_txn_abort(txn);
        return rc;
    }
    nbytes = (txn->meta.page_count + 7) / 8;
    w.bits = nbytes > SIZE_MAX ? NULL : (uint8_t *)digby__malloc(&db->alloc, (size_t)nbytes);
    if (!w.bits) {
        digby__walk_release(&w);
        digby_txn_abort(txn);
        return DIGBY_NOMEM;
    }
    memset(w.bits, 0, (size_t)nbytes);
    w.bits[0] |= 3; /* the meta pages */
    rc = digby__walk_log(&w);
    if (rc == DIGBY_OK) rc = digby__walk_trees(&w);
    if (rc == DIGBY_OK) rc = digby__walk_freelist(&w);
    for (p = 2; p < txn->meta.page_count && rc == DIGBY_OK; p++)
        if (!(w.bits[p >> 3] & (1u << (p & 7))))
            rc = digby__walk_fail(&w, p, "page leaked: not reachable from any tree or the freelist");
    /* record tables (79_record_scan.c): rows and index entries agree */
    if (rc == DIGBY_OK && !st) rc = digby__rtable_check(txn, rep);
    if (st) {
        st->page_size = db->page_size;
        st->depth = txn->meta.main.depth;
        st->page_count = txn->meta.page_count;
        st->meta_pages = 2;
        st->entries = txn->meta.main.entries;
        st->tables = w.ntables;
        st->last_txid = txn->txid;
        if (rc == DIGBY_OK) rc = digby__walk_log_stats(&w);
        st->discarded_txid = db->discarded_txid;
        st->mapped_bytes = db->mapping ? db->map_pages * db->page_size : 0;
        if (db->vfs->size(db->file, &size) == DIGBY_OK) st->file_bytes = size;
    }
    digby__free(&db->alloc, w.bits);
    digby__walk_release(&w);
    digby_txn_abort(txn);
    return rc;
}

DIGBY_API int digby_check(digby_db *db, digby_check_report *report)
{
    if (report) memset(report, 0, sizeof(*report));
    return digby__walk_all(db, NULL, report);
}

DIGBY_API int digby_stat(digby_db *db, digby_stats *out)
{
    if (!out) return DIGBY_INVALID;
    memset(out, 0, sizeof(*out));
    return digby__walk_all(db, out, NULL);
}

/* Verify every page the transaction that wrote `m` wrote: the pages whose
   txid is m->txid, reached through parent entries that record that txid,
   plus that transaction's overflow items and freelist chain.  With one sync
   per commit this is what makes a meta page trustworthy: if any of them did
   not reach the disk, the commit is incomplete and open falls back to the
   commit before (FORMAT.md section 3).  Returns DIGBY_OK or DIGBY_CORRUPT (or I/O errors). */
static int digby__verify_newest(digby_db *db, const digby__meta *m)
{
    digby__walk w;
    digby_txn txn;
    int rc;
    memset(&txn, 0, sizeof(txn));
    txn.db = db;
    txn.rdonly = 1;
    txn.meta = *m;
    txn.txid = m->txid;
    memset(&w, 0, sizeof(w));
    w.txn = &txn;
    w.only_txid = m->txid;
    rc = digby__walk_trees(&w);
    if (rc == DIGBY_OK) rc = digby__walk_freelist(&w);
    digby__walk_release(&w);
    digby__free(&db->alloc, txn.io);
    digby__held_release(&txn);
    digby__large_scratch_release(&txn);
    return rc;
}

#ifdef DIGBY_DEBUG
/* DIGBY_DEBUG: before a commit writes anything, check the pages it is
   about to write as open's verification and digby_check would: each dirty
   branch and leaf page's structure, then the walk over the pages this
   transaction wrote (key order, separators, txids, overflow items, table
   descriptors).  Returns DIGBY_OK, DIGBY_CORRUPT (a bug: the commit fails
   and writes nothing), or the walk's I/O and memory errors. */
static int digby__debug_check_commit(digby_txn *txn)
{
    digby__walk w;
    uint64_t snapshot = txn->meta.txid;
    size_t i;
    int rc;
    for (i = 0; i < txn->dirty.cap; i++) {
        const uint8_t *p = txn->dirty.vals[i];
        if (txn->dirty.keys[i] && (p[0] == DIGBY__PAGE_BRANCH || p[0] == DIGBY__PAGE_LEAF) &&
            digby__node_validate(txn->db, p) != DIGBY_OK)
            return DIGBY__CORRUPT(txn->db, txn->dirty.keys[i]);
    }
    memset(&w, 0, sizeof(w));
    w.txn = txn;
    w.only_txid = txn->txid;
    txn->meta.txid = txn->txid; /* the walk's "newest commit" is this one */
    rc = digby__walk_trees(&w);
    txn->meta.txid = snapshot;
    digby__walk_release(&w);
    return rc;
}
#endif
