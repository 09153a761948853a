/* The memtable: committed entries not yet in the tree, a multi-version sorted run and skip list.

   In log mode (47_log.c) a commit appends its changes to the write-ahead
   log and inserts them here; a checkpoint (66_log_mode.c) later merges
   them into the tree.  Entries are ordered by (table slot, key, txid
   descending) as LevelDB orders its internal keys by (user key, sequence
   number descending), so the first entry of a key that a snapshot may see
   (txid <= the snapshot's) is the state that snapshot reads, a tombstone
   included.

   Inserts go to a skip list (W. Pugh, "Skip Lists: A Probabilistic
   Alternative to Balanced Trees", CACM 1990) with LevelDB's concurrency
   rule: one writer (the handle's read-write transaction, under db->wmu)
   links fully built nodes with release stores; any number of readers
   follow links with acquire loads and take no lock.  A skip list of a
   whole memtable (64 MiB by default, some 400,000 entries) costs a cache
   and TLB miss per node a descent visits, which made an insert cost
   more than everything else a commit does; so the list is kept small:
   past DIGBY__MEM_FOLD nodes (16,384), the writer folds it at the end of
   a commit into a sorted run (an array of the nodes in list order, each
   beside its slot and the 8 key bytes after the prefix all the
   memtable's keys share, so that a binary search seldom visits a node)
   and starts an empty list -- a two-level log-structured merge in memory
   (O'Neil et al., "The Log-Structured Merge-Tree", Acta Informatica
   1996), each fold copying the run's entries once.  A read merges the
   list and the run; a cursor walks both from where its last step ended.  A transaction reads the view (run and
   list) current at its begin, counted, so a fold never frees what a
   reader is using; the replaced list no longer grows, and what it misses
   is newer than the reader's snapshot anyway.

   Nothing is ever unlinked or freed before the whole memtable is: nodes
   live in an arena of blocks, and a memtable is freed when the last
   transaction that reads it ends (refs).  The writer's own entries carry
   its txid, which no snapshot reaches before its commit is published; an
   aborted transaction's entries are marked dead (DIGBY__MN_DEAD), since
   the next writer reuses its txid; a fold leaves the list's dead nodes
   out of the run (the run's stay, unread, until the checkpoint).  A value
   a transaction puts twice is replaced in its node in place: no snapshot
   can see that node yet, and it is in the list (folds come between
   transactions). */

#if DIGBY__HAVE_MEMTABLE /* (12_internal.h) the file's last line ends it */

#define DIGBY__MEM_BLOCK ((size_t)1 << 18)   /* arena block bytes */
/* List nodes past which a commit folds the list into the run.  A fold
   copies the run (24 bytes an entry) and places each list node in it
   with a search; a list insert visits a node per level.  With 16-byte
   keys and 100-byte values (bench/: 1M random puts in commits of 1,000,
   one run, a shared machine) 8,192 and 16,384 did best, at 767K-799K and
   773K-778K puts/s, against 727K-737K at 32,768 and 356K-410K for one
   list of the whole memtable; 16,384 nodes take about 2.6 MiB, within a
   core's level-2 cache here. */
#ifndef DIGBY__MEM_FOLD
#define DIGBY__MEM_FOLD 16384
#endif

/* Bytes from the arena, aligned to 8; NULL when out of memory. */
static void *digby__mem_alloc(digby__mem *m, size_t n)
{
    digby__mblock *b = m->blocks;
    uint8_t *p;
    n = (n + 7) & ~(size_t)7;
    if (!b || b->size - b->used < n) {
        size_t size = n > m->block / 4 ? n : m->block;
        b = (digby__mblock *)digby__malloc(m->alloc, sizeof(digby__mblock) + size);
        if (!b) return NULL;
        b->size = size;
        b->used = 0;
        if (size == n && m->blocks) {
            /* a large piece gets a block of its own behind the current one */
            b->next = m->blocks->next;
            m->blocks->next = b;
        } else {
            b->next = m->blocks;
            m->blocks = b;
        }
        m->bytes += sizeof(digby__mblock) + size;
    }
    p = (uint8_t *)(b + 1) + b->used;
    b->used += n;
    return p;
}

/* A view with room for n run entries and a new, empty skip list (from
   m's arena); refs 1.  NULL when out of memory. */
static digby__mview *digby__mview_new(digby__mem *m, size_t n)
{
    size_t hb = sizeof(digby__mnode) + (DIGBY__MEM_LEVELS - 1) * sizeof(digby__mnode *);
    digby__mview *v;
    digby__mlist *l = (digby__mlist *)digby__mem_alloc(m, sizeof(digby__mlist) + hb);
    if (!l || n > (SIZE_MAX - sizeof(*v)) / sizeof(digby__mrent)) return NULL;
    v = (digby__mview *)digby__malloc(m->alloc, sizeof(*v) + n * sizeof(digby__mrent));
    if (!v) return NULL;
    l->head = (digby__mnode *)(void *)(l + 1);
    memset(l->head, 0, hb);
    l->head->height = DIGBY__MEM_LEVELS;
    l->height = 1;
    l->count = 0;
    v->refs = 1;
    v->list = l;
    v->n = n;
    v->run = (digby__mrent *)(void *)(v + 1);
    v->cut = m->cut;
    memcpy(v->ref, m->ref, m->cut);
    return v;
}

/* A new, empty memtable whose arena comes in blocks of at most a
   sixteenth of limit (the bound it is held to), 4 KiB to 256 KiB. */
static int digby__mem_new(const digby_allocator *a, size_t limit, digby__mem **out)
{
    digby__mem *m = (digby__mem *)digby__malloc(a, sizeof(*m));
    *out = NULL;
    if (!m) return DIGBY_NOMEM;
    memset(m, 0, sizeof(*m));
    m->alloc = a;
    m->block = DIGBY__MAX((size_t)4096, DIGBY__MIN(DIGBY__MEM_BLOCK, limit / 16));
    m->refs = 1;
    m->rng = 0x9E3779B97F4A7C15ull;
    m->view = digby__mview_new(m, 0);
    if (!m->view) { digby__mem_free(m); return DIGBY_NOMEM; }
    *out = m;
    return DIGBY_OK;
}

static void digby__mem_free(digby__mem *m)
{
    digby__mblock *b, *n;
    if (!m) return;
    for (b = m->blocks; b; b = n) {
        n = b->next;
        digby__free(m->alloc, b);
    }
    digby__free(m->alloc, m->view);
    digby__free(m->alloc, m->tables);
    digby__free(m->alloc, m);
}

/* Drop one reference (db->mu held by the caller when others may share it);
   returns the memtable to free outside the lock, or NULL. */
static digby__mem *digby__mem_unref(digby__mem *m)
{
    if (!m) return NULL;
    return --m->refs == 0 ? m : NULL;
}

/* Transaction txn begins to read memtable m, in the view current now
   (db->mu held). */
static void digby__txn_mem_take(digby_txn *txn, digby__mem *m)
{
    txn->mem = m;
    txn->mview = m->view;
    m->refs++;
    m->view->refs++;
}

/* Transaction txn stops reading its memtable (db->mu held): a view no
   longer current is freed with its last reader; returns the memtable to
   free outside the lock (digby__mem_free), or NULL. */
static digby__mem *digby__txn_mem_drop(digby_txn *txn)
{
    digby__mem *m = txn->mem;
    digby__mview *v = txn->mview;
    txn->mem = NULL;
    txn->mview = NULL;
    if (!m) return NULL;
    if (v && --v->refs == 0) digby__free(m->alloc, v); /* never the current one */
    return digby__mem_unref(m);
}

/* The slot of table `name` (len 0: the global tree), or -1 when the
   memtable holds nothing of it.  Readers may call it while the writer adds
   slots: the count is published after the slot is filled. */
static int digby__mem_slot(const digby__mem *m, const char *name, size_t len)
{
    uint32_t i, n = DIGBY__PLOAD(&((digby__mem *)m)->ntables);
    digby__mtable *t = DIGBY__PLOAD(&((digby__mem *)m)->tables_pub);
    if (len == 0) return 0;
    for (i = 1; i < n; i++)
        if (t[i].name_bytes == len && memcmp(t[i].name, name, len) == 0) return (int)i;
    return -1;
}

/* The slot of table `name`, added if missing (the writer only). */
static int digby__mem_slot_add(digby__mem *m, const char *name, size_t len, int *slot)
{
    int s = digby__mem_slot(m, name, len);
    digby__mtable *nt;
    if (s >= 0) { *slot = s; return DIGBY_OK; }
    if (m->ntables == 0) {
        /* slot 0 is the global tree, made with the first table */
        m->cap_tables = 8;
        m->tables = (digby__mtable *)digby__malloc(m->alloc, 8 * sizeof(digby__mtable));
        if (!m->tables) return DIGBY_NOMEM;
        memset(m->tables, 0, 8 * sizeof(digby__mtable));
        DIGBY__PSTORE(&m->tables_pub, m->tables);
        DIGBY__PSTORE(&m->ntables, 1u);
    }
    if (m->ntables == m->cap_tables) {
        /* readers may hold the old array: the new one comes from the arena
           and the old stays where it is until the memtable is freed */
        nt = (digby__mtable *)digby__mem_alloc(m, 2 * m->cap_tables * sizeof(digby__mtable));
        if (!nt) return DIGBY_NOMEM;
        memcpy(nt, DIGBY__PLOAD(&m->tables_pub), m->ntables * sizeof(digby__mtable));
        m->cap_tables *= 2;
        DIGBY__PSTORE(&m->tables_pub, nt);
    }
    nt = DIGBY__PLOAD(&m->tables_pub);
    nt[m->ntables].name_bytes = len;
    memcpy(nt[m->ntables].name, name, len);
    nt[m->ntables].name[len] = 0;
    *slot = (int)m->ntables;
    DIGBY__PSTORE(&m->ntables, m->ntables + 1);
    return DIGBY_OK;
}

static const uint8_t *digby__mn_key(const digby__mnode *n)
{
    return (const uint8_t *)(n->next + n->height);
}

/* Order of (slot, key, txid) against node n: <0, 0, >0.  Newer txids
   come first. */
static int digby__mn_cmp(const digby__mnode *n, uint32_t slot, const void *key,
                         size_t klen, uint64_t txid)
{
    int c;
    if (n->slot != slot) return n->slot < slot ? -1 : 1;
    c = digby__keycmp(digby__mn_key(n), n->klen, key, klen);
    if (c) return c;
    if (n->txid != txid) return n->txid > txid ? -1 : 1;
    return 0;
}

/* The first node of list l at or after (slot, key, txid) in list order;
   prev[] (may be NULL) gets the last node before it on every level. */
static digby__mnode *digby__list_seek_ge(const digby__mlist *l, uint32_t slot, const void *key,
                                         size_t klen, uint64_t txid, digby__mnode **prev)
{
    digby__mnode *x = l->head, *nx;
    int lvl = (int)DIGBY__PLOAD(&((digby__mlist *)l)->height) - 1;
    for (;;) {
        nx = DIGBY__PLOAD(&x->next[lvl]);
        if (nx && digby__mn_cmp(nx, slot, key, klen, txid) < 0) { x = nx; continue; }
        if (prev) prev[lvl] = x;
        if (lvl == 0) return nx;
        lvl--;
    }
}

/* The last node of list l before (slot, key, txid) in list order, or NULL. */
static digby__mnode *digby__list_seek_lt(const digby__mlist *l, uint32_t slot, const void *key,
                                         size_t klen, uint64_t txid)
{
    digby__mnode *x = l->head, *nx;
    int lvl = (int)DIGBY__PLOAD(&((digby__mlist *)l)->height) - 1;
    for (;;) {
        nx = DIGBY__PLOAD(&x->next[lvl]);
        if (nx && digby__mn_cmp(nx, slot, key, klen, txid) < 0) { x = nx; continue; }
        if (lvl == 0) return x == l->head ? NULL : x;
        lvl--;
    }
}

static unsigned digby__mem_height(digby__mem *m)
{
    unsigned h = 1;
    /* xorshift64*; a level more with probability 1/4 (LevelDB's branching) */
    uint64_t r;
    m->rng ^= m->rng >> 12;
    m->rng ^= m->rng << 25;
    m->rng ^= m->rng >> 27;
    r = m->rng * 0x2545F4914F6CDD1Dull;
    while (h < DIGBY__MEM_LEVELS && (r & 3) == 0) { h++; r >>= 2; }
    return h;
}

/* Insert or replace the entry (slot, key, txid) of the writer: a value
   (tomb 0) or a tombstone, in the current view's list.  The value bytes
   are copied.  A live node of the same txid is updated in place (it is in
   the list: folds come between transactions), unless a savepoint froze it
   (DIGBY__MN_FROZEN, 61_savepoint.c): then it is marked dead, *old gets
   it, and a new node takes its place.  *node (may be NULL) gets the node
   and *fresh whether it is new.  Returns DIGBY_OK, DIGBY_NOMEM (nothing
   changed). */
static int digby__mem_put_at(digby__mem *m, digby__mnode **prev, digby__mnode *x,
                             uint32_t slot, const void *key, size_t klen, uint64_t txid,
                             const void *val, size_t vlen, int tomb, digby__mnode **node,
                             int *fresh, digby__mnode **old);

static void digby__mem_note_key(digby__mem *m, const void *key, size_t klen);

static int digby__mem_put(digby__mem *m, uint32_t slot, const void *key, size_t klen,
                          uint64_t txid, const void *val, size_t vlen, int tomb,
                          digby__mnode **node, int *fresh, digby__mnode **old)
{
    digby__mnode *prev[DIGBY__MEM_LEVELS], *x;
    x = digby__list_seek_ge(m->view->list, slot, key, klen, txid, prev);
    return digby__mem_put_at(m, prev, x, slot, key, klen, txid, val, vlen, tomb, node, fresh,
                             old);
}

/* digby__mem_put after its seek: x and prev[] from digby__list_seek_ge
   of the current list for (slot, key, txid), with nothing inserted since
   (the writer's lock). */
/* Link node x (made whole) into m's current list after prev[] (the last
   node before it on each level; levels above the list's height are set
   here), with release stores, so that readers following the links never
   find it half made (the one writer). */
static void digby__list_link(digby__mem *m, digby__mnode **prev, digby__mnode *x)
{
    digby__mlist *l = m->view->list;
    unsigned h = x->height, i;
    if (h > l->height) {
        for (i = l->height; i < h; i++) prev[i] = l->head;
        DIGBY__PSTORE(&l->height, h);
    }
    for (i = 0; i < h; i++) {
        x->next[i] = prev[i]->next[i];
        DIGBY__PSTORE(&prev[i]->next[i], x);
    }
    /* readers compare the count (a cursor's list position: digby__mpos) */
    DIGBY__PSTORE(&l->count, l->count + 1);
    m->count++;
    m->data_bytes += x->klen + x->vlen;
}

static int digby__mem_put_at(digby__mem *m, digby__mnode **prev, digby__mnode *x,
                             uint32_t slot, const void *key, size_t klen, uint64_t txid,
                             const void *val, size_t vlen, int tomb, digby__mnode **node,
                             int *fresh, digby__mnode **old)
{
    digby__mnode *frozen = NULL;
    uint8_t *vcopy = NULL;
    unsigned h;
    if (fresh) *fresh = 0;
    if (old) *old = NULL;
    /* an aborted transaction's dead node of the same txid may come first */
    while (x && digby__mn_cmp(x, slot, key, klen, txid) == 0 && (x->flags & DIGBY__MN_DEAD))
        x = DIGBY__PLOAD(&x->next[0]);
    if (!tomb && vlen) {
        vcopy = (uint8_t *)digby__mem_alloc(m, vlen);
        if (!vcopy) return DIGBY_NOMEM;
        memcpy(vcopy, val, vlen);
    }
    if (x && digby__mn_cmp(x, slot, key, klen, txid) == 0 && (x->flags & DIGBY__MN_FROZEN) &&
        old)
        frozen = x;
    else if (x && digby__mn_cmp(x, slot, key, klen, txid) == 0) {
        x->val = vcopy;
        x->vlen = (uint32_t)vlen;
        x->flags = (uint8_t)(tomb ? DIGBY__MN_TOMB : 0);
        m->data_bytes += vlen;
        if (node) *node = x;
        return DIGBY_OK;
    }
    h = digby__mem_height(m);
    x = (digby__mnode *)digby__mem_alloc(
        m, sizeof(digby__mnode) + (h - 1) * sizeof(digby__mnode *) + klen);
    if (!x) return DIGBY_NOMEM;
    if (frozen) {
        /* readers never see it (its txid is past theirs) */
        frozen->flags |= DIGBY__MN_DEAD;
        *old = frozen;
    }
    x->txid = txid;
    x->slot = slot;
    x->klen = (uint32_t)klen;
    x->vlen = (uint32_t)vlen;
    x->flags = (uint8_t)(tomb ? DIGBY__MN_TOMB : 0);
    x->height = (uint8_t)h;
    x->val = vcopy;
    if (klen) memcpy((uint8_t *)(x->next + h), key, klen);
    digby__mem_note_key(m, key, klen);
    digby__list_link(m, prev, x);
    if (node) *node = x;
    if (fresh) *fresh = 1;
    return DIGBY_OK;
}

/* ---- A batch of another handle's commits ----------------------------------- */

/* Entries read from the log that another handle appended (47_log.c,
   digby__log_read): each node made whole first (digby__mem_batch_add),
   then all of them sorted and linked in list order at once
   (digby__mem_batch_link), each insert searching on from where the one
   before it stopped (a finger search: W. Pugh, "A Skip List Cookbook",
   1990, section 3.1), so that the few hundred random keys of a commit
   cost a short walk each instead of a descent from the top: the handle
   reads every commit the writer makes, and must not spend what the
   writer spent on it. */
typedef struct digby__mbatch {
    digby__mnode **v;
    size_t n, cap;
} digby__mbatch;

static int digby__mem_batch_add(digby__mem *m, digby__mbatch *b, uint32_t slot, const void *key,
                                size_t klen, uint64_t txid, const void *val, size_t vlen,
                                int tomb)
{
    digby__mnode *x;
    uint8_t *vcopy = NULL;
    unsigned h, i;
    if (b->n == b->cap) {
        size_t ncap = b->cap ? 2 * b->cap : 256;
        digby__mnode **nv = (digby__mnode **)digby__realloc(m->alloc, b->v, ncap * sizeof(*nv));
        if (!nv) return DIGBY_NOMEM;
        b->v = nv;
        b->cap = ncap;
    }
    if (!tomb && vlen) {
        vcopy = (uint8_t *)digby__mem_alloc(m, vlen);
        if (!vcopy) return DIGBY_NOMEM;
        memcpy(vcopy, val, vlen);
    }
    h = digby__mem_height(m);
    x = (digby__mnode *)digby__mem_alloc(
        m, sizeof(digby__mnode) + (h - 1) * sizeof(digby__mnode *) + klen);
    if (!x) return DIGBY_NOMEM;
    x->txid = txid;
    x->slot = slot;
    x->klen = (uint32_t)klen;
    x->vlen = (uint32_t)(tomb ? 0 : vlen);
    x->flags = (uint8_t)(tomb ? DIGBY__MN_TOMB : 0);
    x->height = (uint8_t)h;
    x->val = vcopy;
    for (i = 0; i < h; i++) x->next[i] = NULL;
    if (klen) memcpy((uint8_t *)(x->next + h), key, klen);
    digby__mem_note_key(m, key, klen);
    b->v[b->n++] = x;
    return DIGBY_OK;
}

/* <0 when node a comes before node b in list order. */
static int digby__mn_order(const digby__mnode *a, const digby__mnode *b)
{
    return digby__mn_cmp(a, b->slot, digby__mn_key(b), b->klen, b->txid);
}

/* Link the batch's nodes into m's current list (the one writer: no other
   inserts meanwhile), sorted first (a stable merge sort; without memory
   for it, each is inserted with a search from the top), and empty the
   batch.  A node equal to a live one in the list (the same entry twice in
   one record) gives that one its value, as digby__mem_put does.  Never
   fails. */
static void digby__mem_batch_link(digby__mem *m, digby__mbatch *b)
{
    digby__mlist *l = m->view->list;
    digby__mnode *prev[DIGBY__MEM_LEVELS], **a = b->v, **t, **tmp;
    size_t n = b->n, w, i;
    int sorted = 0, lvl;
    tmp = n > 1 ? (digby__mnode **)digby__malloc(m->alloc, n * sizeof(*tmp)) : NULL;
    if (tmp) {
        for (w = 1; w < n; w *= 2) {
            for (i = 0; i < n; i += 2 * w) {
                size_t lo = i, mid = DIGBY__MIN(i + w, n), hi = DIGBY__MIN(i + 2 * w, n);
                size_t p = lo, q = mid, o = lo;
                while (p < mid && q < hi) tmp[o++] = digby__mn_order(a[q], a[p]) < 0 ? a[q++] : a[p++];
                while (p < mid) tmp[o++] = a[p++];
                while (q < hi) tmp[o++] = a[q++];
            }
            t = a;
            a = tmp;
            tmp = t;
        }
        sorted = 1;
    }
    for (lvl = 0; lvl < DIGBY__MEM_LEVELS; lvl++) prev[lvl] = l->head;
    for (i = 0; i < n; i++) {
        digby__mnode *x = a[i], *cur, *nx;
        unsigned h = x->height, j;
        if (!sorted || i == 0)
            for (lvl = 0; lvl < DIGBY__MEM_LEVELS; lvl++) prev[lvl] = l->head;
        /* every prev[lvl] comes before x: go down from the top, each
           level from whichever of prev[lvl] and the node the level above
           stopped at is further on */
        cur = l->head;
        for (lvl = (int)l->height - 1; lvl >= 0; lvl--) {
            if (prev[lvl] != l->head && (cur == l->head || digby__mn_order(cur, prev[lvl]) < 0))
                cur = prev[lvl];
            while ((nx = cur->next[lvl]) != NULL && digby__mn_order(nx, x) < 0) cur = nx;
            prev[lvl] = cur;
        }
        nx = prev[0]->next[0];
        if (nx && digby__mn_order(nx, x) == 0 && !(nx->flags & DIGBY__MN_DEAD)) {
            nx->val = x->val;
            nx->vlen = x->vlen;
            nx->flags = x->flags;
            m->data_bytes += x->vlen;
            continue;
        }
        digby__list_link(m, prev, x);
        for (j = 0; j < h; j++) prev[j] = x;
    }
    /* the scratch array (the sort may have ended in either) */
    digby__free(m->alloc, a == b->v ? tmp : a);
    b->n = 0;
}

/* ---- The sorted run -------------------------------------------------------- */

/* Keys often share a long prefix (a table's tuple prefix, zero-padded
   numbers), so a run entry keeps the 8 key bytes after the prefix every
   key of the memtable shares: the memtable's cut, the length of what all
   its keys have in common with the first one (m->ref, up to
   DIGBY__MEM_REF bytes), which only shrinks.  A view records the cut its
   run was made with; a search key without that prefix (rare: a key no
   entry can equal) is compared in full. */

/* A key's 8 bytes from `cut` on, big-endian, zero-padded. */
static uint64_t digby__mem_pre(const void *key, size_t klen, size_t cut)
{
    const uint8_t *k = (const uint8_t *)key + cut;
    uint64_t pre = 0;
    size_t i;
    klen -= cut;
    if (klen >= 8) return DIGBY__BE64(k);
    for (i = 0; i < 8; i++) pre = pre << 8 | (i < klen ? k[i] : 0);
    return pre;
}

/* The writer notes a key it adds: the cut shrinks to what it shares. */
static void digby__mem_note_key(digby__mem *m, const void *key, size_t klen)
{
    const uint8_t *k = (const uint8_t *)key;
    size_t i;
    if (!m->has_ref) {
        m->cut = DIGBY__MIN(klen, (size_t)DIGBY__MEM_REF);
        if (m->cut) memcpy(m->ref, key, m->cut);
        m->has_ref = 1;
        return;
    }
    for (i = 0; i < m->cut && i < klen && k[i] == m->ref[i]; i++) {}
    m->cut = i;
}

static void digby__mrent_set(digby__mrent *e, digby__mnode *x, size_t cut)
{
    e->pre = digby__mem_pre(digby__mn_key(x), x->klen, cut);
    e->slot = x->slot;
    e->klen = x->klen;
    e->x = x;
}

/* A search key for a view's run: fast when it has the prefix the run's
   keys share, so that its pre compares with theirs. */
typedef struct digby__mkey {
    uint32_t slot;
    const void *key;
    size_t klen, cut;
    uint64_t pre;
    int fast;
} digby__mkey;

static void digby__mkey_make(digby__mkey *q, const digby__mview *v, uint32_t slot,
                             const void *key, size_t klen)
{
    q->slot = slot;
    q->key = key;
    q->klen = klen;
    q->cut = v->cut;
    q->fast = klen >= v->cut && (v->cut == 0 || memcmp(key, v->ref, v->cut) == 0);
    q->pre = q->fast ? digby__mem_pre(key, klen, v->cut) : 0;
}

/* Order of run entry e against search key q, keys only. */
static int digby__mrent_keycmp(const digby__mrent *e, const digby__mkey *q)
{
    if (e->slot != q->slot) return e->slot < q->slot ? -1 : 1;
    if (q->fast) {
        if (e->pre != q->pre) return e->pre < q->pre ? -1 : 1;
        /* equal bytes up to cut + 8: keys no longer than that differ in
           length only (the shorter one first, as digby__keycmp orders) */
        if (e->klen <= q->cut + 8 && q->klen <= q->cut + 8)
            return e->klen == q->klen ? 0 : (e->klen < q->klen ? -1 : 1);
    }
    return digby__keycmp(digby__mn_key(e->x), e->klen, q->key, q->klen);
}

/* Order of run entry e against (q, txid) in list order. */
static int digby__mrent_cmp(const digby__mrent *e, const digby__mkey *q, uint64_t txid)
{
    int c = digby__mrent_keycmp(e, q);
    if (c) return c;
    if (e->x->txid != txid) return e->x->txid > txid ? -1 : 1;
    return 0;
}

/* Order of two run entries made with the same cut. */
static int digby__mrent_order(const digby__mrent *a, const digby__mrent *b, size_t cut)
{
    int c;
    if (a->slot != b->slot) return a->slot < b->slot ? -1 : 1;
    if (a->pre != b->pre) return a->pre < b->pre ? -1 : 1;
    if (a->klen <= cut + 8 && b->klen <= cut + 8)
        c = a->klen == b->klen ? 0 : (a->klen < b->klen ? -1 : 1);
    else
        c = digby__keycmp(digby__mn_key(a->x), a->klen, digby__mn_key(b->x), b->klen);
    if (c) return c;
    if (a->x->txid != b->x->txid) return a->x->txid > b->x->txid ? -1 : 1;
    return 0;
}

/* The index of the first run entry at or after (q, txid). */
static size_t digby__run_lb(const digby__mview *v, const digby__mkey *q, uint64_t txid)
{
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (digby__mrent_cmp(&v->run[mid], q, txid) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* ---- Bulk load (replay) ---------------------------------------------------- */

/* Replay inserts a whole log's entries, in log order: random keys.
   Instead of a skip-list insertion each, they are made as nodes first
   (digby__mem_load_add), sorted in list order with a merge sort of run
   entries -- sequential passes, the nodes touched only on ties -- and
   made the memtable's run (digby__mem_load_finish).  The memtable must be
   empty when the load starts (a fresh one at open). */
typedef struct digby__mload {
    digby__mrent *v;
    size_t n, cap;
} digby__mload;

/* Make the node of one replayed entry (unlinked: a node of the run needs
   no links) and add it to the load. */
static int digby__mem_load_add(digby__mem *m, digby__mload *ld, uint32_t slot, const void *key,
                               size_t klen, uint64_t txid, const void *val, size_t vlen,
                               int tomb)
{
    digby__mnode *x;
    if (ld->n == ld->cap) {
        size_t ncap = ld->cap ? 2 * ld->cap : 1024;
        digby__mrent *nv = (digby__mrent *)digby__realloc(m->alloc, ld->v, ncap * sizeof(*nv));
        if (!nv) return DIGBY_NOMEM;
        ld->v = nv;
        ld->cap = ncap;
    }
    x = (digby__mnode *)digby__mem_alloc(m, sizeof(digby__mnode) + klen);
    if (!x) return DIGBY_NOMEM;
    x->val = NULL;
    if (!tomb && vlen) {
        uint8_t *vc = (uint8_t *)digby__mem_alloc(m, vlen);
        if (!vc) return DIGBY_NOMEM;
        memcpy(vc, val, vlen);
        x->val = vc;
    }
    x->txid = txid;
    x->slot = slot;
    x->klen = (uint32_t)klen;
    x->vlen = (uint32_t)(tomb ? 0 : vlen);
    x->flags = (uint8_t)(tomb ? DIGBY__MN_TOMB : 0);
    x->height = 1;
    x->next[0] = NULL;
    if (klen) memcpy((uint8_t *)(x->next + 1), key, klen);
    digby__mem_note_key(m, key, klen);
    ld->v[ld->n++].x = x; /* the rest once the cut is known */
    m->count++;
    m->data_bytes += klen + x->vlen;
    return DIGBY_OK;
}

/* Sort the load (a stable bottom-up merge sort through a scratch array of
   the same size: an entry a later record wrote again keeps its place
   behind the earlier one) and make it the run of m, which held nothing
   before the load.  Frees the load's array.  DIGBY_NOMEM (the nodes stay
   in the arena, unused: the memtable is freed by the failed open). */
static int digby__mem_load_finish(digby__mem *m, digby__mload *ld)
{
    digby__mrent *a = ld->v, *b, *t;
    digby__mview *v;
    size_t w, i, n = ld->n;
    if (!n) { digby__free(m->alloc, ld->v); ld->v = NULL; return DIGBY_OK; }
    b = (digby__mrent *)digby__malloc(m->alloc, n * sizeof(*b));
    if (!b) return DIGBY_NOMEM;
    for (i = 0; i < n; i++) digby__mrent_set(&a[i], a[i].x, m->cut);
    for (w = 1; w < n; w *= 2) {
        for (i = 0; i < n; i += 2 * w) {
            size_t lo = i, mid = DIGBY__MIN(i + w, n), hi = DIGBY__MIN(i + 2 * w, n);
            size_t p = lo, q = mid, o = lo;
            while (p < mid && q < hi)
                b[o++] = digby__mrent_order(&a[q], &a[p], m->cut) < 0 ? a[q++] : a[p++];
            while (p < mid) b[o++] = a[p++];
            while (q < hi) b[o++] = a[q++];
        }
        t = a;
        a = b;
        b = t;
    }
    digby__free(m->alloc, b);
    v = digby__mview_new(m, n);
    if (v) {
        memcpy(v->run, a, n * sizeof(*a));
        digby__free(m->alloc, m->view); /* empty, and read by nobody yet */
        m->view = v;
        m->bytes += n * sizeof(*a);
    }
    digby__free(m->alloc, a);
    ld->v = NULL;
    ld->n = ld->cap = 0;
    return v ? DIGBY_OK : DIGBY_NOMEM;
}

/* ---- Folding the list into the run ----------------------------------------- */

/* The index of the first entry of run[lo, n) at or after x in list
   order (entries made with the same cut), by exponential then binary
   search from lo (P. McIlroy's "galloping", "Optimistic Sorting and
   Information Theoretic Complexity", SODA 1993): a fold places each of
   the list's few nodes in the long run with a search, and copies the
   entries between without visiting any. */
static size_t digby__run_gallop(const digby__mrent *run, size_t lo, size_t n,
                                const digby__mrent *x, size_t cut)
{
    size_t step = 1, hi = lo;
    /* run[lo, hi) is before x; find a hi at or after it */
    while (hi < n && digby__mrent_order(&run[hi], x, cut) < 0) {
        lo = hi + 1;
        hi = (n - hi > step) ? hi + step : n;
        step *= 2;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (digby__mrent_order(&run[mid], x, cut) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* A new view whose run is m's current run and list merged and whose
   list is empty (the writer, between transactions).  The list's dead
   nodes are left out; the run's stay (unread, they would cost a visit
   each to find) until the memtable is checkpointed.  When keys added
   since the run was made shrank the memtable's cut, the run's entries
   are made again with the new one (a visit to each node; the cut shrinks
   seldom, and mostly while the run is short).  The caller publishes the
   view (digby__mem_publish).  DIGBY_NOMEM: nothing changed. */
static int digby__mem_fold(digby__mem *m, digby__mview **out)
{
    const digby__mview *o = m->view;
    digby__mview *v = digby__mview_new(m, o->n + o->list->count);
    const digby__mrent *run = o->run;
    digby__mrent *fresh = NULL, *d;
    const digby__mnode *x;
    size_t i = 0, cut = m->cut;
    *out = NULL;
    if (!v) return DIGBY_NOMEM;
    if (o->cut != cut && o->n) {
        fresh = (digby__mrent *)digby__malloc(m->alloc, o->n * sizeof(*fresh));
        if (!fresh) { digby__free(m->alloc, v); return DIGBY_NOMEM; }
        for (i = 0; i < o->n; i++) digby__mrent_set(&fresh[i], o->run[i].x, cut);
        run = fresh;
        i = 0;
    }
    d = v->run;
    for (x = o->list->head->next[0]; x; x = x->next[0]) {
        digby__mrent e;
        size_t j;
        if (x->flags & DIGBY__MN_DEAD) continue;
        digby__mrent_set(&e, (digby__mnode *)x, cut);
        j = digby__run_gallop(run, i, o->n, &e, cut);
        memcpy(d, run + i, (j - i) * sizeof(*d));
        d += j - i;
        i = j;
        *d++ = e;
    }
    memcpy(d, run + i, (o->n - i) * sizeof(*d));
    d += o->n - i;
    digby__free(m->alloc, fresh);
    v->n = (size_t)(d - v->run);
    m->bytes = m->bytes - o->n * sizeof(digby__mrent) + v->n * sizeof(digby__mrent);
    *out = v;
    return DIGBY_OK;
}

/* Make v the current view of m (db->mu held); returns the view it
   replaced when no transaction reads it any more (to free), or NULL. */
static digby__mview *digby__mem_publish(digby__mem *m, digby__mview *v)
{
    digby__mview *o = m->view;
    m->view = v;
    return --o->refs == 0 ? o : NULL;
}

/* ---- Reads: the list and the run merged ------------------------------------ */

/* Whether node n is visible to a transaction reading up to txid `upto`. */
static int digby__mn_visible(const digby__mnode *n, uint64_t upto)
{
    return n->txid <= upto && !(n->flags & DIGBY__MN_DEAD);
}

/* Whether nodes a and b hold the same (slot, key). */
static int digby__mn_samekey(const digby__mnode *a, const digby__mnode *b)
{
    return a->slot == b->slot && a->klen == b->klen &&
           memcmp(digby__mn_key(a), digby__mn_key(b), a->klen) == 0;
}

/* From node x (the first node of its key or later) of a list, the first
   visible version of x's key there; NULL when none is visible. */
static digby__mnode *digby__mn_settle(digby__mnode *x, uint64_t upto)
{
    digby__mnode *first = x;
    while (x && digby__mn_samekey(x, first)) {
        if (digby__mn_visible(x, upto)) return x;
        x = DIGBY__PLOAD(&x->next[0]);
    }
    return NULL;
}

/* The first visible version of q's key in v's run, or NULL. */
static digby__mnode *digby__run_get(const digby__mview *v, const digby__mkey *q, uint64_t upto)
{
    size_t i = digby__run_lb(v, q, UINT64_MAX);
    for (; i < v->n && digby__mrent_keycmp(&v->run[i], q) == 0; i++)
        if (digby__mn_visible(v->run[i].x, upto)) return v->run[i].x;
    return NULL;
}

/* The newer of two visible versions of a key (either may be NULL). */
static digby__mnode *digby__mn_newer(digby__mnode *a, digby__mnode *b)
{
    if (!a) return b;
    if (!b) return a;
    return a->txid >= b->txid ? a : b;
}

/* The visible version of (slot, key) in a list from x, the list's first
   node at or after some version of it (NULL: none). */
static digby__mnode *digby__list_settle(digby__mnode *x, uint32_t slot, const void *key,
                                        size_t klen, uint64_t upto)
{
    if (!x || x->slot != slot || digby__keycmp(digby__mn_key(x), x->klen, key, klen) != 0)
        return NULL;
    return digby__mn_settle(x, upto);
}

/* The visible state of (slot, key) in view v: its node (a value or a
   tombstone), or NULL when the memtable says nothing of it. */
static digby__mnode *digby__mem_get(const digby__mview *v, uint32_t slot, const void *key,
                                    size_t klen, uint64_t upto)
{
    digby__mkey q;
    digby__mnode *a = digby__list_settle(
        digby__list_seek_ge(v->list, slot, key, klen, UINT64_MAX, NULL), slot, key, klen, upto);
    if (!v->n) return a;
    digby__mkey_make(&q, v, slot, key, klen);
    return digby__mn_newer(a, digby__run_get(v, &q, upto));
}

/* The writer's look before it writes (slot, key) under its txid (the
   newest): the seek of digby__mem_put in the current list, kept in *x and
   prev[] for digby__mem_put_at, and the version of the key visible up to
   `upto` (a value or a tombstone), NULL when the memtable says nothing of
   it.  Deletes and NOOVERWRITE puts must know whether the key is there;
   the list's descent serves both. */
static digby__mnode *digby__mem_probe(digby__mem *m, uint32_t slot, const void *key,
                                      size_t klen, uint64_t txid, uint64_t upto,
                                      digby__mnode **prev, digby__mnode **x)
{
    const digby__mview *v = m->view;
    digby__mkey q;
    digby__mnode *a;
    *x = digby__list_seek_ge(v->list, slot, key, klen, txid, prev);
    /* versions before *x are newer than the writer's: none is visible */
    a = digby__list_settle(*x, slot, key, klen, upto);
    if (!v->n) return a;
    digby__mkey_make(&q, v, slot, key, klen);
    return digby__mn_newer(a, digby__run_get(v, &q, upto));
}

/* The run index digby__run_lb would give for (q, txid), from pos->ri when
   that (a cursor's last position; pos NULL: none) is still right there,
   else by binary search. */
static size_t digby__run_lb_at(const digby__mview *v, const digby__mkey *q, uint64_t txid,
                               const digby__mpos *pos)
{
    size_t h = pos ? pos->ri : (size_t)-1;
    if (!(h <= v->n && (h == 0 || digby__mrent_cmp(&v->run[h - 1], q, txid) < 0) &&
          (h == v->n || digby__mrent_cmp(&v->run[h], q, txid) >= 0)))
        h = digby__run_lb(v, q, txid);
    return h;
}

/* Record where a walk of view v ended (pos may be NULL). */
static void digby__mpos_set(digby__mpos *pos, const digby__mview *v, size_t i,
                            const digby__mnode *l, int dir)
{
    if (!pos) return;
    pos->ri = i;
    pos->l = v->list;
    pos->lcount = DIGBY__PLOAD(&((digby__mlist *)v->list)->count);
    pos->lnext = l;
    pos->dir = dir;
}

/* Order of the keys of nodes a and b (slots first). */
static int digby__mn_keyorder(const digby__mnode *a, const digby__mnode *b)
{
    if (a->slot != b->slot) return a->slot < b->slot ? -1 : 1;
    return digby__keycmp(digby__mn_key(a), a->klen, digby__mn_key(b), b->klen);
}

/* Walk view v's keys of slot from a position in both sources, merged,
   to the first key with a version visible up to `upto`; its visible
   node, or NULL at the end of the slot.  Forward (dir > 0): l is the
   list's first node and i the run's first entry still to visit; back:
   l the list's last node and run[i - 1] the run's last entry still to
   visit.  The walk visits each entry once, with no search but a list
   seek per key going back (the list is short: 45_memtable.c's top);
   *pos (may be NULL) gets where the walk ended: the run index a search
   for the key found would give (digby__run_lb_at), and going forward the
   list's next node, so that the next step starts there. */
static digby__mnode *digby__mem_walk(const digby__mview *v, uint32_t slot, const digby__mnode *l,
                                     size_t i, int dir, uint64_t upto, digby__mpos *pos)
{
    for (;;) {
        const digby__mnode *a = (l && l->slot == slot) ? l : NULL, *y;
        const digby__mnode *b = NULL;
        digby__mnode *bl = NULL, *br = NULL, *r;
        if (dir > 0 && i < v->n && v->run[i].slot == slot) b = v->run[i].x;
        if (dir < 0 && i > 0 && v->run[i - 1].slot == slot) b = v->run[i - 1].x;
        if (!a && !b) break;
        if (!a || !b) y = a ? a : b;
        else if (dir > 0) y = digby__mn_keyorder(a, b) <= 0 ? a : b;
        else y = digby__mn_keyorder(a, b) >= 0 ? a : b;
        if (dir > 0) {
            /* the key's versions, newest first, in both */
            while (l && digby__mn_samekey(l, y)) {
                if (!bl && digby__mn_visible(l, upto)) bl = (digby__mnode *)l;
                l = DIGBY__PLOAD(&((digby__mnode *)l)->next[0]);
            }
            while (i < v->n && digby__mn_samekey(v->run[i].x, y)) {
                if (!br && digby__mn_visible(v->run[i].x, upto)) br = v->run[i].x;
                i++;
            }
        } else {
            if (a && digby__mn_samekey(a, y)) {
                /* the list's versions from its first (the newest), and
                   the node before them */
                const digby__mnode *f = digby__list_seek_ge(v->list, slot, digby__mn_key(y),
                                                             y->klen, UINT64_MAX, NULL);
                bl = f ? digby__mn_settle((digby__mnode *)f, upto) : NULL;
                l = digby__list_seek_lt(v->list, slot, digby__mn_key(y), y->klen, UINT64_MAX);
            }
            /* the run's versions from the oldest: the newest visible is
               the last one met */
            while (i > 0 && digby__mn_samekey(v->run[i - 1].x, y)) {
                i--;
                if (digby__mn_visible(v->run[i].x, upto)) br = v->run[i].x;
            }
        }
        r = digby__mn_newer(bl, br);
        if (r) {
            digby__mpos_set(pos, v, i, l, dir);
            return r;
        }
    }
    digby__mpos_set(pos, v, i, l, dir);
    return NULL;
}

/* The visible state of the first key after (dir > 0) or before (dir < 0)
   (slot, key) that has one, or NULL at the end of the slot. */
static digby__mnode *digby__mem_next_key(const digby__mview *v, uint32_t slot, const void *key,
                                         size_t klen, int dir, uint64_t upto, digby__mpos *pos)
{
    digby__mkey q;
    const digby__mnode *l;
    size_t i;
    digby__mkey_make(&q, v, slot, key, klen);
    if (dir > 0) {
        /* (key, txid 0) sorts after every version of key: txid 0 is no
           commit's.  A forward walk that ended at this key left the
           list's next node, still right while nothing was inserted. */
        if (pos && pos->dir > 0 && pos->l == v->list &&
            pos->lcount == DIGBY__PLOAD(&((digby__mlist *)v->list)->count))
            l = pos->lnext;
        else
            l = digby__list_seek_ge(v->list, slot, key, klen, 0, NULL);
        i = digby__run_lb_at(v, &q, 0, pos);
        return digby__mem_walk(v, slot, l, i, 1, upto, pos);
    }
    i = digby__run_lb_at(v, &q, UINT64_MAX, pos);
    return digby__mem_walk(v, slot, digby__list_seek_lt(v->list, slot, key, klen, UINT64_MAX),
                           i, -1, upto, pos);
}

/* The next key after node x's key in slot x->slot with a visible version
   (forward: dir > 0) or the one before it (dir < 0), its visible node, or
   NULL at the end of the slot.  pos (may be NULL): where the walk that
   returned x ended (a cursor keeps it, so that its steps do not search),
   updated. */
static digby__mnode *digby__mem_step(const digby__mview *v, const digby__mnode *x, int dir,
                                     uint64_t upto, digby__mpos *pos)
{
    return digby__mem_next_key(v, x->slot, digby__mn_key(x), x->klen, dir, upto, pos);
}

/* The first (dir > 0) or last visible key of slot at or after (dir > 0)
   / at or before key (inclusive when incl, else strictly), or NULL. */
static digby__mnode *digby__mem_seek(const digby__mview *v, uint32_t slot, const void *key,
                                     size_t klen, int dir, int incl, uint64_t upto,
                                     digby__mpos *pos)
{
    if (pos) pos->dir = 0; /* no walk ends here: the next step searches */
    if (incl) {
        digby__mnode *r = digby__mem_get(v, slot, key, klen, upto);
        if (r) return r;
    }
    return digby__mem_next_key(v, slot, key, klen, dir, upto, pos);
}

/* The first (dir > 0) or last visible key of slot, or NULL. */
static digby__mnode *digby__mem_end(const digby__mview *v, uint32_t slot, int dir, uint64_t upto,
                                    digby__mpos *pos)
{
    digby__mkey q;
    if (dir > 0) {
        /* from the first node of the slot: (slot, "", newest) */
        digby__mkey_make(&q, v, slot, "", 0);
        return digby__mem_walk(v, slot, digby__list_seek_ge(v->list, slot, "", 0, UINT64_MAX, NULL),
                               digby__run_lb(v, &q, UINT64_MAX), 1, upto, pos);
    }
    /* from the last node of the slot: before (slot + 1, "", newest) */
    digby__mkey_make(&q, v, slot + 1, "", 0);
    return digby__mem_walk(v, slot, digby__list_seek_lt(v->list, slot + 1, "", 0, UINT64_MAX),
                           digby__run_lb(v, &q, UINT64_MAX), -1, upto, pos);
}

/* ---- A checkpoint's pass over every key ------------------------------------ */

/* A walk over the nodes of a view in list order, the list and the run
   merged, with no search: a checkpoint visits every key once. */
typedef struct digby__miter {
    const digby__mview *v;
    const digby__mnode *x;  /* the list's next node */
    size_t i;               /* the run's next entry */
} digby__miter;

static void digby__miter_init(digby__miter *it, const digby__mview *v)
{
    it->v = v;
    it->x = v->list->head->next[0];
    it->i = 0;
}

/* The next node of the walk without taking it (take 0) or taking it. */
static digby__mnode *digby__miter_pull(digby__miter *it, int take)
{
    const digby__mview *v = it->v;
    digby__mnode *x = (digby__mnode *)it->x, *b = it->i < v->n ? v->run[it->i].x : NULL;
    if (x && (!b || digby__mn_cmp(x, b->slot, digby__mn_key(b), b->klen, b->txid) <= 0)) {
        if (take) it->x = x->next[0];
        return x;
    }
    if (b && take) it->i++;
    return b;
}

/* The visible state (up to txid upto) of the walk's next key that has
   one, every version of that key taken; NULL at the end. */
static digby__mnode *digby__miter_next(digby__miter *it, uint64_t upto)
{
    digby__mnode *x, *y;
    for (;;) {
        if (!(x = digby__miter_pull(it, 1))) return NULL;
        if (digby__mn_visible(x, upto)) break;
    }
    /* the older versions of its key follow it */
    while ((y = digby__miter_pull(it, 0)) && digby__mn_samekey(y, x))
        (void)digby__miter_pull(it, 1);
    return x;
}

#endif /* DIGBY__HAVE_MEMTABLE */
