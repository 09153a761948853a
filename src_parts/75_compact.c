/* Compaction in place (digby_compact): free space given back to the file
   system.

   Three kinds of ordinary copy-on-write commit, made under the writer
   lock with no other writer between them (txn->internal: the lock stays
   held); log mode checkpoints first and drops the log, as close does,
   and starts a new one at the end.

   0. Repacking.  Deletes never merge leaves (52_btree.c), so a tree that
      lost many keys keeps sparse leaves, which no page move can give back.
      Each run of sibling leaves under a branch (digby__cpt_gather) whose
      cells fit in fewer pages (digby__cpt_pack) is laid out afresh in new
      leaves taken from the free list, never the end of the file; the
      branch gets a separator per new leaf (digby__cpt_merge).  Repeated,
      commit by commit, while free pages run short.

   1. Relocation.  A target page count is chosen from the in-memory lists
      alone (digby__cpt_target): the lowest page number such that the
      free pages below it can take every live page at or above it, with a
      margin for the parents the copies rewrite.  Every tree (the global
      tree, each table, the catalog) is walked; a page at or past the
      target is copied to a new page (digby__page_touch: the allocator
      takes the lowest free page first), and so is each page above one
      that moved, since its parent must record the new number and txid.
      An overflow item with any page at or past the target is copied whole
      (digby__item_copy, as digby_rekey does: its pages keep the item's
      version as their txid).  The commit syncs its pages before its meta
      page (db->synced_commit = 0): open verifies only the pages carrying
      the newest txid, and a copied item's pages carry their old version.
      The pages it stopped using are pending frees of that commit, like
      any copy-on-write commit's, until no snapshot reaches them
      (digby__freelist_release decides).

   2. Shrink.  Once the pages at the end of the file are all free (not
      pending: no snapshot, no freelist walk, no fallback needs them), a
      commit takes them out of the free list and lowers the meta page's
      page_count below them.  Only after that commit is durable is the file
      truncated to page_count pages, and only while no backup or
      digby_check walks an older snapshot's freelist (db->fl_readers: a
      plain backup reads every page its snapshot counts).  A crash before
      the truncation leaves a file longer than page_count, which open
      accepts (FORMAT.md section 3).  Pages still pending (a reader older
      than the relocation) stay: a later digby_compact truncates them.

   SQLite's incremental vacuum relocates pages the same way (autovacuum's
   pointer map finds each page's parent; here the walk from the roots
   does), LMDB has no in-place form (mdb_env_copy2 with MDB_CP_COMPACT
   writes a new file, as digby_backup(DIGBY_BACKUP_COMPACT) does). */

/* Leaves one repacking takes at most (their copies are held meanwhile),
   and the bytes of their cells, in pages. */
#define DIGBY__CPT_GROUP 32u
#define DIGBY__CPT_RUN_PAGES 8u

/* A compaction's pass: relocation, or repacking sparse leaves. */
typedef struct digby__cpt {
    digby_txn *txn;
    uint64_t target;    /* pages at or past it move */
    uint64_t moved;     /* tree pages and items copied */
    int merge;          /* repack runs of sparse sibling leaves */
    uint64_t merged;    /* leaves that repacking saved */
    int starved;        /* repacking stopped for want of free pages */
    uint8_t *copy[DIGBY__CPT_GROUP]; /* page copies of a run's leaves */
    digby__span *spans; /* their cells */
    size_t span_cap;
    unsigned *cuts, *pms; /* each new leaf's first span and prefix */
    uint64_t newp[DIGBY__CPT_GROUP]; /* the new leaves */
    uint8_t *seps;      /* the new separator cells, back to back */
    size_t sep_cap;
    uint8_t *kfirst, *klast; /* page_size: a page's first and last keys */
} digby__cpt;

static void digby__cpt_release(digby__cpt *cx)
{
    digby_db *db = cx->txn->db;
    unsigned i;
    for (i = 0; i < DIGBY__CPT_GROUP; i++) digby__free(&db->alloc, cx->copy[i]);
    digby__free(&db->alloc, cx->spans);
    digby__free(&db->alloc, cx->cuts);
    digby__free(&db->alloc, cx->pms);
    digby__free(&db->alloc, cx->seps);
    digby__free(&db->alloc, cx->kfirst);
    digby__free(&db->alloc, cx->klast);
}

/* A read-write transaction of digby_compact's, under db->wmu held by the
   caller (which it keeps when this one ends), with the next txid in the
   other meta slot than the last meta page's. */
static int digby__cpt_begin(digby_db *db, digby_txn **out)
{
    uint64_t txid;
    *out = NULL;
    digby__mutex_lock(&db->mu);
    if (db->log.sync_failed) db->poisoned = 1;
    txid = db->last_txid + 1;
    if ((txid & 1) == (db->meta.txid & 1)) txid++;
    digby__mutex_unlock(&db->mu);
    if (db->poisoned) return DIGBY_POISONED;
    return digby__txn_internal(db, txid, out);
}

/* ---- Choosing the target ------------------------------------------------- */

/* The pages no relocation moves and no shrink may cut: pending frees,
   replaced freelist chains, the current chain and the live log.  Sorted
   descending into *out. */
static int digby__cpt_fixed(digby_db *db, digby__u64s *out)
{
    const digby_allocator *a = &db->alloc;
    size_t i;
    int rc = DIGBY_OK;
    for (i = 0; i < db->npending && rc == DIGBY_OK; i++)
        rc = digby__u64s_push(a, out, db->pending[i].pgno);
    for (i = 0; i < db->ncpending && rc == DIGBY_OK; i++)
        rc = digby__u64s_push(a, out, db->cpending[i].pgno);
    for (i = 0; i < db->freelist_pages.n && rc == DIGBY_OK; i++)
        rc = digby__u64s_push(a, out, db->freelist_pages.v[i]);
    for (i = 0; i < db->log.pages.n && rc == DIGBY_OK; i++)
        rc = digby__u64s_push(a, out, db->log.pages.v[i]);
    if (rc == DIGBY_OK && db->log.cur_pgno) rc = digby__u64s_push(a, out, db->log.cur_pgno);
    if (rc == DIGBY_OK && db->log.next_pgno) rc = digby__u64s_push(a, out, db->log.next_pgno);
    if (rc == DIGBY_OK && db->log.next2_pgno) rc = digby__u64s_push(a, out, db->log.next2_pgno);
    if (rc == DIGBY_OK) digby__sort_u64(out->v, out->n, 1);
    return rc;
}

/* Pages a relocation of `moving` pages may take beyond them: the parents
   it rewrites (a few per hundred leaves, and whole paths near the roots),
   the new freelist chain, and slack.  An estimate: a pass that runs out
   of pages below the target is tried again higher (digby_compact). */
static uint64_t digby__cpt_margin(const digby_db *db, uint64_t moving)
{
    if (moving == 0) return 0;
    return moving / 8 + 2 * (uint64_t)db->freelist_pages.n + 4;
}

/* The lowest target t (2 <= t <= page_count) such that the free pages
   below t hold every page at or past t that must move, with the margin:
   the pages at or past t are free (db->free), fixed (digby__cpt_fixed,
   which never move) or live.  Walks t down from page_count: the free
   pages below t only fall and the live ones above only rise, so the first
   t that fails ends the walk.  *moving: live pages at or past it. */
static int digby__cpt_target(digby_db *db, uint64_t page_count, uint64_t extra,
                             uint64_t *target, uint64_t *moving)
{
    digby__u64s fixed;
    size_t fi = 0, xi = 0;     /* free / fixed pages at or past t seen */
    uint64_t t = page_count, live = 0;
    int rc;
    memset(&fixed, 0, sizeof(fixed));
    rc = digby__cpt_fixed(db, &fixed);
    *target = page_count;
    *moving = 0;
    if (rc) { digby__u64s_release(&db->alloc, &fixed); return rc; }
    while (xi < fixed.n && fixed.v[xi] >= page_count) xi++;
    while (t > 2) {
        uint64_t p = t - 1, below, need, nlive = live;
        size_t nfi = fi, nxi = xi;
        if (nfi < db->free.n && db->free.v[nfi] == p) nfi++;
        else if (nxi < fixed.n && fixed.v[nxi] == p) nxi++;
        else nlive++;
        while (nxi < fixed.n && fixed.v[nxi] >= p) nxi++; /* listed twice */
        below = (uint64_t)(db->free.n - nfi);
        need = nlive + digby__cpt_margin(db, nlive) + (nlive ? extra : 0);
        if (below < need) break;
        t = p;
        live = nlive;
        fi = nfi;
        xi = nxi;
    }
    digby__u64s_release(&db->alloc, &fixed);
    *target = t;
    *moving = live;
    return DIGBY_OK;
}

/* ---- Relocation ------------------------------------------------------------ */

static int digby__cpt_high(void *ctx, uint64_t pgno)
{
    return pgno >= *(const uint64_t *)ctx ? 1 : DIGBY_OK;
}

/* *high: whether item `it` of a leaf cell (written with `version`) has a
   page at or past the target.  Reads its index pages only (and a
   compressed item's chunk table root). */
static int digby__cpt_item_high(digby__cpt *cx, const digby__cell_item *it, uint64_t version,
                                int *high)
{
    digby_txn *txn = cx->txn;
    digby_db *db = txn->db;
    digby__strm s, t;
    uint64_t target = cx->target;
    int rc;
    *high = 0;
    if (it->root >= target) { *high = 1; return DIGBY_OK; }
    if (it->len == 0 || it->len > DIGBY_MAX_VALUE_BYTES) return DIGBY__CORRUPT(db, it->root);
    memset(&s, 0, sizeof(s));
    memset(&t, 0, sizeof(t));
    if (it->compressed) {
        rc = digby__item_streams(txn, &t, &s, it->root, version, it->len);
        if (rc == DIGBY_OK) rc = digby__strm_visit(txn, &t, 0, digby__cpt_high, &target);
        if (rc == DIGBY_OK) rc = digby__strm_visit(txn, &s, 0, digby__cpt_high, &target);
    } else {
        rc = digby__strm_init(db, &s, it->root, version, it->len);
        if (rc == DIGBY_CORRUPT) rc = DIGBY__CORRUPT(db, it->root);
        if (rc == DIGBY_OK) rc = digby__strm_visit(txn, &s, 0, digby__cpt_high, &target);
    }
    digby__strm_drop(db, &s);
    digby__strm_drop(db, &t);
    if (rc == 1) { *high = 1; rc = DIGBY_OK; }
    return rc;
}

/* Gather the cells of the leaf children of branch `b` from slot i on into
   cx->spans, from copies: up to DIGBY__CPT_GROUP leaves and
   DIGBY__CPT_RUN_PAGES pages' worth of cells.  *end: the slot after the
   run; *nspan: its cells. */
static int digby__cpt_gather(digby__cpt *cx, const uint8_t *b, unsigned i, unsigned *end,
                             unsigned *nspan)
{
    digby_txn *txn = cx->txn;
    digby_db *db = txn->db;
    size_t bytes = 0, cap = db->usable - DIGBY__HDR;
    unsigned n = digby__node_n(b), j, k, ns = 0;
    int rc;
    *end = i;
    *nspan = 0;
    for (j = i; j < n && j - i < DIGBY__CPT_GROUP && bytes < DIGBY__CPT_RUN_PAGES * cap; j++) {
        digby__cell c;
        const uint8_t *leaf;
        digby__frame *pin;
        unsigned cn;
        digby__node_cell(b, j, &c);
        rc = digby__page_get(txn, c.child, c.child_txid, &leaf, &pin);
        if (rc) return rc;
        if (leaf[0] != DIGBY__PAGE_LEAF || digby__node_n(leaf) == 0) {
            digby__page_unpin(db, pin);
            return DIGBY__CORRUPT(db, c.child);
        }
        cn = digby__node_n(leaf);
        if (ns + cn > cx->span_cap) { digby__page_unpin(db, pin); break; }
        if (!cx->copy[j - i])
            cx->copy[j - i] = (uint8_t *)digby__malloc(&db->alloc, db->page_size);
        if (!cx->copy[j - i]) { digby__page_unpin(db, pin); return DIGBY_NOMEM; }
        digby__gather(db, leaf, cx->copy[j - i], cx->spans + ns, 0, NULL, 0);
        digby__page_unpin(db, pin);
        for (k = ns; k < ns + cn; k++) bytes += digby__span_full(&cx->spans[k], 1) + 2;
        ns += cn;
    }
    *end = j;
    *nspan = ns;
    return DIGBY_OK;
}

/* Lay spans [0, ns) out in order into as few leaves as fit, each at most
   `limit` bytes with the prefix its first and last keys share (the bound
   digby__choose uses).  cx->cuts[k]: leaf k's first span (cuts[m] = ns),
   cx->pms[k]: its prefix.  Returns m. */
static unsigned digby__cpt_pack(digby__cpt *cx, unsigned ns, size_t limit)
{
    digby_db *db = cx->txn->db;
    const digby__span *v = cx->spans;
    unsigned m = 0, j = 0, maxp = digby__max_prefix(db);
    while (j < ns) {
        unsigned start = j;
        size_t fn = digby__span_key(&v[j], cx->kfirst), full = digby__span_full(&v[j], 1) + 2;
        size_t pm = DIGBY__MIN((size_t)maxp, fn);
        for (j++; j < ns; j++) {
            size_t add = digby__span_full(&v[j], 1) + 2, ln = digby__span_key(&v[j], cx->klast);
            size_t npm = DIGBY__MIN((size_t)maxp, digby__lcp(cx->kfirst, fn, cx->klast, ln));
            if (full + add - (size_t)(j - start) * npm > limit) break;
            full += add;
            pm = npm;
        }
        cx->cuts[m] = start;
        cx->pms[m] = (unsigned)pm;
        m++;
    }
    cx->cuts[m] = ns;
    return m;
}

/* The branch cell for a new leaf (child, this transaction's txid) after
   span l, starting with span r: the separator as digby__lay_out makes it
   (a tie separator when the keys share more than max_key bytes), to out;
   its size in *n. */
static int digby__cpt_sep(digby__cpt *cx, const digby__span *l, const digby__span *r,
                          uint64_t child, uint8_t *out, size_t *n)
{
    digby_txn *txn = cx->txn;
    size_t lim = txn->db->max_key + 1, ln, rn, i;
    uint64_t llen, rlen;
    int rc = digby__span_head(txn, l, cx->kfirst, lim, &ln, &llen);
    if (rc == DIGBY_OK) rc = digby__span_head(txn, r, cx->klast, lim, &rn, &rlen);
    if (rc) return rc;
    i = digby__lcp(cx->kfirst, ln, cx->klast, rn);
    if ((i < ln || ln == llen) && i < rn)
        *n = digby__sep_cell_encode(out, child, txn->txid, cx->klast,
                                    digby__separator(cx->kfirst, ln, cx->klast, rn), 0);
    else if (ln == lim && rn == lim)
        *n = digby__sep_cell_encode(out, child, txn->txid, cx->klast, txn->db->max_key, 1);
    else
        return DIGBY__CORRUPT(txn->db, 0);
    return DIGBY_OK;
}

/* Repack runs of sparse leaf children of branch page w (writable, or NULL
   until a run pays: then the page at pgno, txid is touched into *w at
   *at): the cells of a run of sibling leaves are laid out afresh in key
   order into fewer new leaves (the lowest free pages), full to 15/16; the
   old leaves are freed, the run's first separator stays and each new leaf
   after the first gets a separator of its own (SQLite's balance_nonroot
   redistributes siblings the same way).  Deletes never merge
   (52_btree.c): this is where a tree that lost many of its keys gets dense
   again.  A run whose new separators would not fit in the branch is left
   as it is. */
static int digby__cpt_merge(digby__cpt *cx, const uint8_t *src, uint64_t pgno, uint64_t txid,
                            uint8_t **w, uint64_t *at)
{
    digby_txn *txn = cx->txn;
    digby_db *db = txn->db;
    size_t per = (db->usable - DIGBY__FREELIST_HDR) / 8, cap = db->usable - DIGBY__HDR;
    unsigned i = 0;
    int rc = DIGBY_OK;
    if (!cx->spans) {
        cx->span_cap = DIGBY__CPT_RUN_PAGES * (db->usable / 5 + 2) + db->usable / 4;
        cx->spans = (digby__span *)digby__malloc(&db->alloc, cx->span_cap * sizeof(digby__span));
        cx->cuts = (unsigned *)digby__malloc(&db->alloc, (cx->span_cap + 1) * sizeof(unsigned));
        cx->pms = (unsigned *)digby__malloc(&db->alloc, (cx->span_cap + 1) * sizeof(unsigned));
        cx->sep_cap = DIGBY__CPT_GROUP * (db->max_key + 32);
        cx->seps = (uint8_t *)digby__malloc(&db->alloc, cx->sep_cap);
        cx->kfirst = (uint8_t *)digby__malloc(&db->alloc, db->page_size);
        cx->klast = (uint8_t *)digby__malloc(&db->alloc, db->page_size);
        if (!cx->spans || !cx->cuts || !cx->pms || !cx->seps || !cx->kfirst || !cx->klast)
            return DIGBY_NOMEM;
    }
    while (rc == DIGBY_OK && i + 1 < digby__node_n(*w ? *w : src)) {
        const uint8_t *b = *w ? *w : src;
        unsigned end = i, ns = 0, m, k;
        size_t removed = 0, added = 0, off = 0;
        rc = digby__cpt_gather(cx, b, i, &end, &ns);
        if (rc) break;
        m = end - i < 2 ? end - i : digby__cpt_pack(cx, ns, cap - cap / 16);
        if (m >= end - i) {
            /* dense already: go on from the run's last leaf */
            i = end - 1 > i ? end - 1 : i + 1;
            continue;
        }
        /* the new leaves take free pages, never the end of the file: a
           snapshot holding the old leaves must not make the file grow.
           Kept back: the pages the new freelist chain needs (each freed
           leaf lengthens it by two words) */
        if (txn->own_free.n + db->free.n <=
            db->freelist_pages.n + m + 2 + (2 * (cx->merged + end - i)) / per + 1) {
            cx->starved = 1;
            break;
        }
        /* the branch: the run's cells after its first go, one per new
           leaf after the first comes (separators are computed first:
           they must fit) */
        for (k = i + 1; k < end; k++) removed += digby__node_cell_size(b, k) + 2;
        for (k = 1; k < m && rc == DIGBY_OK; k++) {
            size_t n = 0;
            if (off + db->max_key + 32 > cx->sep_cap) { rc = DIGBY__CORRUPT(db, pgno); break; }
            rc = digby__cpt_sep(cx, &cx->spans[cx->cuts[k] - 1], &cx->spans[cx->cuts[k]], 0,
                                cx->seps + off, &n);
            off += n;
            added += n + 2;
        }
        if (rc) break;
        if (digby__node_used(db, b) - removed + added > cap) {
            i = end - 1 > i ? end - 1 : i + 1;
            continue;
        }
        if (!*w) rc = digby__page_touch(txn, pgno, txid, w, at);
        for (k = 0; k < m && rc == DIGBY_OK; k++) {
            uint8_t *leaf;
            rc = digby__page_new(txn, DIGBY__PAGE_LEAF, &leaf, &cx->newp[k]);
            if (rc == DIGBY_OK)
                rc = digby__fill(txn, cx->spans, cx->cuts[k], cx->cuts[k + 1], leaf, cx->pms[k]);
        }
        for (k = i; k < end && rc == DIGBY_OK; k++) {
            digby__cell c;
            digby__node_cell(*w, k, &c);
            rc = digby__page_free(txn, c.child, c.child_txid);
        }
        if (rc) break;
        digby__branch_set_child(*w, i, cx->newp[0], txn->txid);
        for (k = end - 1; k > i; k--) digby__node_remove(*w, k);
        for (k = 1, off = 0; k < m; k++) {
            uint8_t *cell = cx->seps + off;
            digby__cell bc;
            size_t n;
            digby__branch_cell_at(cell, &bc);
            n = bc.size;
            digby__put64(cell, cx->newp[k]);
            if (digby__node_insert(db, *w, i + k, cell, n, txn->tmp)) {
                rc = DIGBY__CORRUPT(db, *at);
                break;
            }
            off += n;
        }
        cx->merged += end - i - m;
        i += m;
    }
    return rc;
}

/* Relocate the subtree at page pgno (written by txid; `levels` levels,
   1: a leaf): every page at or past the target, every item with a page
   there, and every page above one that moved, copied to new pages.
   *np, *ntxid: where the subtree's root now is (unchanged if nothing in
   it moved). */
static int digby__cpt_node(digby__cpt *cx, uint64_t pgno, uint64_t txid, unsigned levels,
                           uint64_t *np, uint64_t *ntxid)
{
    digby_txn *txn = cx->txn;
    digby_db *db = txn->db;
    const uint8_t *src;
    digby__frame *pin;
    uint8_t *w = NULL;
    uint64_t at = pgno;
    unsigned n, i;
    int rc;
    *np = pgno;
    *ntxid = txid;
    rc = digby__page_get(txn, pgno, txid, &src, &pin);
    if (rc) return rc;
    if (src[0] != (levels > 1 ? DIGBY__PAGE_BRANCH : DIGBY__PAGE_LEAF)) {
        digby__page_unpin(db, pin);
        return DIGBY__CORRUPT(db, pgno);
    }
    if (pgno >= cx->target) {
        rc = digby__page_touch(txn, pgno, txid, &w, &at);
        if (rc == DIGBY_OK && at != pgno) cx->moved++;
    }
    n = digby__node_n(src);
    for (i = 0; i < n && rc == DIGBY_OK; i++) {
        digby__cell c;
        digby__node_cell(w ? w : src, i, &c);
        if (levels > 1) {
            uint64_t cp, ct;
            rc = digby__cpt_node(cx, c.child, c.child_txid, levels - 1, &cp, &ct);
            if (rc == DIGBY_OK && (cp != c.child || ct != c.child_txid)) {
                if (!w) rc = digby__page_touch(txn, pgno, txid, &w, &at);
                if (rc == DIGBY_OK) digby__branch_set_child(w, i, cp, ct);
            }
        } else if (cx->target != UINT64_MAX) { /* (a repacking pass moves no item) */
            digby__cell_item it[2];
            unsigned k, m = digby__cell_items(w ? w : src, i, &c, it);
            for (k = 0; k < m && rc == DIGBY_OK; k++) {
                uint64_t root;
                int high;
                rc = digby__cpt_item_high(cx, &it[k], c.version, &high);
                if (rc || !high) continue;
                if (!w) rc = digby__page_touch(txn, pgno, txid, &w, &at);
                if (rc == DIGBY_OK)
                    rc = digby__item_copy(txn, it[k].root, c.version, it[k].len,
                                          it[k].compressed, &root);
                if (rc == DIGBY_OK) {
                    /* the same layout in the copy: the offset holds */
                    digby__put64(w + it[k].root_at, root);
                    cx->moved++;
                }
            }
        }
    }
    if (rc == DIGBY_OK && cx->merge && levels == 2)
        rc = digby__cpt_merge(cx, src, pgno, txid, &w, &at);
    /* the leaves written so far go to the file early past a budget (as a
       checkpoint's): the walk never comes back to them */
    if (rc == DIGBY_OK && levels == 2 && txn->dirty.count >= txn->spill_at)
        rc = digby__dirty_spill(txn);
    digby__page_unpin(db, pin);
    if (rc == DIGBY_OK && w) {
        *np = at;
        *ntxid = txn->txid;
    }
    return rc;
}

/* Relocate tree t (a descriptor the transaction owns); *changed: it moved. */
static int digby__cpt_tree(digby__cpt *cx, digby__tree *t, int *changed)
{
    uint64_t np, nt;
    int rc;
    *changed = 0;
    if (!t->root) return DIGBY_OK;
    if (t->depth == 0 || t->depth > DIGBY__MAX_DEPTH)
        return DIGBY__CORRUPT(cx->txn->db, t->root);
    rc = digby__cpt_node(cx, t->root, t->root_txid, t->depth, &np, &nt);
    if (rc == DIGBY_OK && (np != t->root || nt != t->root_txid)) {
        t->root = np;
        t->root_txid = nt;
        *changed = 1;
    }
    return rc;
}

/* Every tree: the tables (their new descriptors go into the catalog),
   then the catalog, then the global tree (as digby__rekey_all). */
static int digby__cpt_all(digby__cpt *cx)
{
    digby_txn *txn = cx->txn;
    digby__names nm;
    size_t at;
    int rc, changed;
    memset(&nm, 0, sizeof(nm));
    nm.a = &txn->db->alloc;
    rc = digby_table_list(txn, digby__names_add, &nm);
    for (at = 0; rc == DIGBY_OK && at < nm.n; at += strlen((char *)nm.buf + at) + 1) {
        digby_table *t;
        rc = digby_table_open(txn, (const char *)nm.buf + at, 0, &t);
        if (rc == DIGBY_OK) rc = digby__cpt_tree(cx, &t->tree, &changed);
        if (rc == DIGBY_OK && changed) t->dirty = 1;
    }
    digby__free(nm.a, nm.buf);
    if (rc == DIGBY_OK) rc = digby__table_flush(txn);
    if (rc == DIGBY_OK) rc = digby__cpt_tree(cx, &txn->meta.catalog, &changed);
    if (rc == DIGBY_OK) rc = digby__cpt_tree(cx, &txn->meta.main, &changed);
    return rc;
}

/* How many pages transaction txn took at or past target: from the free
   list (txn->popped) or from the end of the file. */
static uint64_t digby__cpt_spill(const digby_txn *txn, uint64_t target, uint64_t page_count)
{
    uint64_t n = txn->meta.page_count > page_count ? txn->meta.page_count - page_count : 0;
    size_t i;
    for (i = 0; i < txn->popped.n; i++)
        if (txn->popped.v[i] >= target) n++;
    return n;
}

/* Dirty pages a pass keeps before it spills its leaves: 4 MiB, at least
   16 pages (as a compacting backup). */
static void digby__cpt_budget(digby_txn *txn)
{
    txn->spill_pages = DIGBY__MAX((size_t)16, ((size_t)4 << 20) / txn->db->page_size);
    txn->spill_at = txn->spill_pages;
}

/* One repacking commit: runs of sparse sibling leaves laid out afresh in
   fewer leaves, nothing moved for its page number.  *txid: the commit's
   (0: nothing repacked); *starved: it stopped for want of free pages (the
   leaves it freed are free for the next one once no snapshot needs
   them). */
static int digby__cpt_merge_all(digby_db *db, uint64_t *txid, uint64_t *merged, int *starved)
{
    digby__cpt cx;
    digby_txn *txn;
    int rc = digby__cpt_begin(db, &txn);
    *txid = 0;
    *merged = 0;
    *starved = 0;
    if (rc) return rc;
    digby__cpt_budget(txn);
    memset(&cx, 0, sizeof(cx));
    cx.txn = txn;
    cx.target = UINT64_MAX;
    cx.merge = 1;
    rc = digby__cpt_all(&cx);
    digby__cpt_release(&cx);
    *starved = cx.starved;
    if (rc || cx.merged == 0) {
        digby_txn_abort(txn);
        return rc;
    }
    txn->mod++;
    *txid = txn->txid;
    rc = digby_txn_commit(txn);
    if (rc) *txid = 0;
    else *merged = cx.merged;
    return rc;
}

/* One relocation commit, if anything lies past the target.  A pass whose
   copies took pages at or past the target (the margin was short) is
   aborted and tried again with a larger margin, three times; the fourth
   commits what it did.  *txid: the commit's (0: none). */
static int digby__cpt_relocate(digby_db *db, uint64_t *txid, uint64_t *moved)
{
    uint64_t extra = 0;
    int tries;
    *txid = 0;
    *moved = 0;
    for (tries = 0;; tries++) {
        digby__cpt cx;
        digby_txn *txn;
        uint64_t target, moving, count, spill;
        int rc = digby__cpt_begin(db, &txn);
        if (rc) return rc;
        digby__cpt_budget(txn);
        count = txn->meta.page_count;
        rc = digby__cpt_target(db, count, extra, &target, &moving);
        if (rc || moving == 0) {
            digby_txn_abort(txn);
            return rc;
        }
        memset(&cx, 0, sizeof(cx));
        cx.txn = txn;
        cx.target = target;
        rc = digby__cpt_all(&cx);
        digby__cpt_release(&cx);
        if (rc) { digby_txn_abort(txn); return rc; }
        spill = digby__cpt_spill(txn, target, count);
        if (spill && tries < 3) {
            digby_txn_abort(txn);
            extra += 2 * spill + 16;
            continue;
        }
        if (cx.moved == 0) { digby_txn_abort(txn); return DIGBY_OK; }
        txn->mod++;
        /* pages before the meta page: a copied item's pages carry its old
           version, which open's check of the newest commit does not read */
        db->synced_commit = 0;
        *txid = txn->txid;
        rc = digby_txn_commit(txn);
        if (rc) *txid = 0;
        else *moved = cx.moved;
        return rc;
    }
}

/* ---- Shrinking ------------------------------------------------------------ */

/* Whether page pgno holds or held a freelist chain that a commit will let
   go: the current chain (the next commit replaces it) or a replaced one
   (reusable once a later commit than its replacer is durable). */
static int digby__cpt_chain_page(const digby_db *db, uint64_t pgno)
{
    size_t i;
    for (i = 0; i < db->freelist_pages.n; i++)
        if (db->freelist_pages.v[i] == pgno) return 1;
    for (i = 0; i < db->ncpending; i++)
        if (db->cpending[i].pgno == pgno) return 1;
    return 0;
}

/* One shrink commit: the free pages that end the file leave the free list
   and page_count drops below them.  When a freelist chain's page ends the
   file (written by the relocation or the merge, or replaced by it), the
   commit is made anyway: its own chain goes to the lowest free pages, and
   the next one may cut.  *cut: pages cut; *more: another commit may cut
   more; *txid: the commit's (0: none made). */
static int digby__cpt_shrink(digby_db *db, uint64_t *cut, int *more, uint64_t *txid)
{
    digby_txn *txn;
    uint64_t count, k = 0;
    size_t i;
    int rc = digby__cpt_begin(db, &txn), chain;
    *cut = 0;
    *more = 0;
    *txid = 0;
    if (rc) return rc;
    count = txn->meta.page_count;
    /* free is sorted descending: the tail is its first run */
    while (k < db->free.n && count - 1 - k >= 2 && db->free.v[k] == count - 1 - k) k++;
    /* a chain page blocks the tail: worth a commit only if the new chain
       fits in the free pages below (else it would grow the file) */
    chain = count - 1 - k >= 2 && digby__cpt_chain_page(db, count - 1 - k) &&
            db->free.n - (size_t)k > db->freelist_pages.n + 1;
    if (k == 0 && !chain) { digby_txn_abort(txn); return DIGBY_OK; }
    rc = digby__u64s_reserve(&db->alloc, &txn->popped, (size_t)k);
    if (rc) { digby_txn_abort(txn); return rc; }
    /* popped: an abort puts them back in the free list */
    for (i = 0; i < (size_t)k; i++) {
        txn->popped.v[txn->popped.n++] = db->free.v[i];
        digby__cache_forget(db, db->free.v[i]);
    }
    memmove(db->free.v, db->free.v + k, (db->free.n - (size_t)k) * sizeof(uint64_t));
    db->free.n -= (size_t)k;
    txn->meta.page_count = count - k;
    txn->mod++;
    *txid = txn->txid;
    rc = digby_txn_commit(txn);
    if (rc) { *txid = 0; return rc; }
    /* the chain this commit wrote may have taken pages from the end again
       (a free list with nothing below): what was cut is what stays cut */
    *cut = count > db->meta.page_count ? count - db->meta.page_count : 0;
    *more = chain || *cut;
    return DIGBY_OK;
}

/* Cut the file to db->meta.page_count pages, unless a backup or
   digby_check walks an older snapshot, in this handle or another sharing
   the file (it may read every page that snapshot counts: past the end of
   a mapped file that read would be SIGBUS).  The commit that set
   page_count is durable; other handles' snapshots hold what they reach
   through digby__freelist_release's reader table. */
static int digby__cpt_truncate(digby_db *db)
{
    uint64_t size, want = db->meta.page_count * db->page_size;
    int busy, rc = db->vfs->size(db->file, &size);
    if (rc || size <= want) return rc;
    digby__mutex_lock(&db->mu);
    busy = db->fl_readers != 0 || digby__shm_walkers(db);
    /* pages past the end are no longer known to lie in the file */
    if (!busy && db->mapping && db->map_pages > db->meta.page_count)
        db->map_pages = db->meta.page_count;
    digby__mutex_unlock(&db->mu);
    if (busy) return DIGBY_OK;
    /* without syncs the commit that lowered page_count may not be on the
       disk yet: a truncation that outlived it would cut the older commits'
       pages */
    if (db->flags & DIGBY_OPEN_NO_SYNC) rc = db->vfs->sync(db->file);
    if (rc == DIGBY_OK) rc = db->vfs->truncate(db->file, want);
    db->log.file_bytes = 0; /* the log asks the size again before it grows it */
    return rc;
}

DIGBY_API int digby_compact(digby_db *db, unsigned flags, uint64_t *file_bytes)
{
    uint64_t txids[16], moved = 0, size = 0;
    size_t ntx = 0, i;
    int rc = DIGBY_OK, round, xlocked = 0;
    if (file_bytes) *file_bytes = 0;
    if (!db || (flags & ~(unsigned)DIGBY_COMPACT_TRUNCATE_ONLY)) return DIGBY_INVALID;
    if (db->flags & DIGBY_OPEN_READONLY) return DIGBY_READONLY;
    digby__mutex_lock(&db->wmu);
    if (db->poisoned) rc = DIGBY_POISONED;
    /* handles in other processes: the writer lock, and their commits */
    else rc = digby__shm_writer_in(db, 0, &xlocked);
#if DIGBY__HAVE_MEMTABLE
    /* log mode: the memtable's commits into the trees first and the log
       dropped, as at close (its pages become free; the next write
       transaction starts a log again, on the lowest free page:
       digby__log_begin) */
    if (rc == DIGBY_OK && (db->log.on || db->meta.log_head))
        rc = digby__checkpoint_locked(db, 0);
#endif
    if (rc == DIGBY_OK && !(flags & DIGBY_COMPACT_TRUNCATE_ONLY)) {
        uint64_t t, merged;
        int starved = 1;
        /* repack while the last pass ran out of free pages and did some */
        for (round = 0; rc == DIGBY_OK && starved && round < 6; round++) {
            rc = digby__cpt_merge_all(db, &t, &merged, &starved);
            if (t) txids[ntx++] = t;
            if (!merged) break;
        }
        if (rc == DIGBY_OK) rc = digby__cpt_relocate(db, &t, &moved);
        if (t) txids[ntx++] = t;
    }
    /* each shrink may release what the one before kept: the chain the
       relocation replaced waits for a later durable commit */
    for (round = 0; rc == DIGBY_OK && round < 5; round++) {
        uint64_t cut, t;
        int more;
        rc = digby__cpt_shrink(db, &cut, &more, &t);
        if (t) txids[ntx++] = t;
        if (!more) break;
    }
    if (rc == DIGBY_OK) rc = digby__cpt_truncate(db);
#if DIGBY__HAVE_MEMTABLE
    /* log mode: a new log, its head on the lowest free page (else the next
       read-write transaction starts it: digby__log_begin) */
    if (db->log.on && !db->meta.log_head && !db->poisoned) {
        int lrc = digby__checkpoint_locked(db, 1);
        if (rc == DIGBY_OK) rc = lrc;
    }
#endif
    if (rc == DIGBY_OK) rc = db->vfs->size(db->file, &size);
    if (xlocked) digby__shm_writer_out(db);
    digby__mutex_unlock(&db->wmu);
    if (db->on_commit)
        for (i = 0; i < ntx; i++) db->on_commit(db->on_commit_ctx, txids[i]);
    if (ntx && db->crypt) digby__crypt_after_commit(db);
    if (rc == DIGBY_OK && file_bytes) *file_bytes = size;
    return rc;
}
