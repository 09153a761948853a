/* The memtable: committed entries not yet in the tree, a multi-version skip list.

   In log mode (47_log.c) a commit appends its changes to the write-ahead
   log and inserts them here; a checkpoint (68_checkpoint.c) later merges
   them into the tree.  Entries are ordered by (table slot, key, txid
   descending) as LevelDB orders its internal keys by (user key, sequence
   number descending), so the first entry of a key that a snapshot may see
   (txid <= the snapshot's) is the state that snapshot reads, a tombstone
   included.

   A skip list (W. Pugh, "Skip Lists: A Probabilistic Alternative to
   Balanced Trees", CACM 1990) with LevelDB's concurrency rule: one writer
   (the handle's read-write transaction, under db->wmu) links fully built
   nodes with release stores; any number of readers follow links with
   acquire loads and take no lock.  Nothing is ever unlinked or freed
   before the whole memtable is: nodes live in an arena of blocks, and a
   memtable is freed when the last transaction that reads it ends
   (refs).  The writer's own entries carry its txid, which no snapshot
   reaches before its commit is published; an aborted transaction's
   entries are marked dead (DIGBY__MN_DEAD), since the next writer reuses
   its txid.  A value a transaction puts twice is replaced in its node in
   place: no snapshot can see that node yet. */

#if DIGBY__HAVE_MEMTABLE /* (12_internal.h) the file's last line ends it */

#define DIGBY__MEM_BLOCK ((size_t)1 << 18)   /* arena block bytes */

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
    m->height = 1;
    m->head = (digby__mnode *)digby__mem_alloc(
        m, sizeof(digby__mnode) + (DIGBY__MEM_LEVELS - 1) * sizeof(digby__mnode *));
    if (!m->head) { digby__mem_free(m); return DIGBY_NOMEM; }
    memset(m->head, 0, sizeof(digby__mnode) + (DIGBY__MEM_LEVELS - 1) * sizeof(digby__mnode *));
    m->head->height = DIGBY__MEM_LEVELS;
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

/* The first node at or after (slot, key, txid) in list order; prev[]
   (may be NULL) gets the last node before it on every level. */
static digby__mnode *digby__mem_seek_ge(digby__mem *m, uint32_t slot, const void *key,
                                        size_t klen, uint64_t txid, digby__mnode **prev)
{
    digby__mnode *x = m->head, *nx;
    int lvl = (int)DIGBY__PLOAD(&m->height) - 1;
    for (;;) {
        nx = DIGBY__PLOAD(&x->next[lvl]);
        if (nx && digby__mn_cmp(nx, slot, key, klen, txid) < 0) { x = nx; continue; }
        if (prev) prev[lvl] = x;
        if (lvl == 0) return nx;
        lvl--;
    }
}

/* The last node before (slot, key, txid) in list order, or NULL. */
static digby__mnode *digby__mem_seek_lt(digby__mem *m, uint32_t slot, const void *key,
                                        size_t klen, uint64_t txid)
{
    digby__mnode *x = m->head, *nx;
    int lvl = (int)DIGBY__PLOAD(&m->height) - 1;
    for (;;) {
        nx = DIGBY__PLOAD(&x->next[lvl]);
        if (nx && digby__mn_cmp(nx, slot, key, klen, txid) < 0) { x = nx; continue; }
        if (lvl == 0) return x == m->head ? NULL : x;
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
   (tomb 0) or a tombstone.  The value bytes are copied.  A live node of
   the same txid is updated in place; *node (may be NULL) gets the node and
   *fresh whether it is new.  Returns DIGBY_OK, DIGBY_NOMEM. */
static int digby__mem_put_at(digby__mem *m, digby__mnode **prev, digby__mnode *x,
                             uint32_t slot, const void *key, size_t klen, uint64_t txid,
                             const void *val, size_t vlen, int tomb, digby__mnode **node,
                             int *fresh);

static int digby__mem_put(digby__mem *m, uint32_t slot, const void *key, size_t klen,
                          uint64_t txid, const void *val, size_t vlen, int tomb,
                          digby__mnode **node, int *fresh)
{
    digby__mnode *prev[DIGBY__MEM_LEVELS], *x;
    x = digby__mem_seek_ge(m, slot, key, klen, txid, prev);
    return digby__mem_put_at(m, prev, x, slot, key, klen, txid, val, vlen, tomb, node, fresh);
}

/* digby__mem_put after its seek: x and prev[] from digby__mem_seek_ge for
   (slot, key, txid), with nothing inserted since (the writer's lock). */
static int digby__mem_put_at(digby__mem *m, digby__mnode **prev, digby__mnode *x,
                             uint32_t slot, const void *key, size_t klen, uint64_t txid,
                             const void *val, size_t vlen, int tomb, digby__mnode **node,
                             int *fresh)
{
    uint8_t *vcopy = NULL;
    unsigned h, i;
    if (fresh) *fresh = 0;
    /* an aborted transaction's dead node of the same txid may come first */
    while (x && digby__mn_cmp(x, slot, key, klen, txid) == 0 && (x->flags & DIGBY__MN_DEAD))
        x = DIGBY__PLOAD(&x->next[0]);
    if (!tomb && vlen) {
        vcopy = (uint8_t *)digby__mem_alloc(m, vlen);
        if (!vcopy) return DIGBY_NOMEM;
        memcpy(vcopy, val, vlen);
    }
    if (x && digby__mn_cmp(x, slot, key, klen, txid) == 0) {
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
    x->txid = txid;
    x->slot = slot;
    x->klen = (uint32_t)klen;
    x->vlen = (uint32_t)vlen;
    x->flags = (uint8_t)(tomb ? DIGBY__MN_TOMB : 0);
    x->height = (uint8_t)h;
    x->val = vcopy;
    if (klen) memcpy((uint8_t *)(x->next + h), key, klen);
    if (h > m->height) {
        for (i = m->height; i < h; i++) prev[i] = m->head;
        DIGBY__PSTORE(&m->height, h);
    }
    for (i = 0; i < h; i++) {
        x->next[i] = prev[i]->next[i];
        DIGBY__PSTORE(&prev[i]->next[i], x);
    }
    m->count++;
    m->data_bytes += klen + vlen;
    if (node) *node = x;
    if (fresh) *fresh = 1;
    return DIGBY_OK;
}

/* ---- Bulk load (replay) ---------------------------------------------------- */

/* Replay inserts a whole log's entries, in log order: random keys, each a
   descent of the skip list with a cache miss per level.  Instead they are
   made as nodes first (digby__mem_load_add), sorted in list order with a
   merge sort over (slot, first 8 key bytes, node) pairs -- sequential
   passes, the nodes touched only on ties -- and linked in one pass, each
   node appended behind the last one of every level
   (digby__mem_load_finish).  The memtable must be empty when the load
   starts (a fresh one at open). */
typedef struct digby__mload_pair {
    uint64_t pre;          /* the key's first 8 bytes, big-endian, zero-padded */
    digby__mnode *x;
} digby__mload_pair;

typedef struct digby__mload {
    digby__mload_pair *v;
    size_t n, cap;
} digby__mload;

static int digby__mload_cmp(const digby__mload_pair *a, const digby__mload_pair *b)
{
    int c;
    if (a->x->slot != b->x->slot) return a->x->slot < b->x->slot ? -1 : 1;
    if (a->pre != b->pre) return a->pre < b->pre ? -1 : 1;
    c = digby__keycmp(digby__mn_key(a->x), a->x->klen, digby__mn_key(b->x), b->x->klen);
    if (c) return c;
    if (a->x->txid != b->x->txid) return a->x->txid > b->x->txid ? -1 : 1;
    return 0;
}

/* Make the node of one replayed entry (unlinked) and add it to the load. */
static int digby__mem_load_add(digby__mem *m, digby__mload *ld, uint32_t slot, const void *key,
                               size_t klen, uint64_t txid, const void *val, size_t vlen,
                               int tomb)
{
    digby__mnode *x;
    uint64_t pre = 0;
    unsigned h = digby__mem_height(m), i;
    if (ld->n == ld->cap) {
        size_t ncap = ld->cap ? 2 * ld->cap : 1024;
        digby__mload_pair *nv = (digby__mload_pair *)digby__realloc(m->alloc, ld->v,
                                                                     ncap * sizeof(*nv));
        if (!nv) return DIGBY_NOMEM;
        ld->v = nv;
        ld->cap = ncap;
    }
    x = (digby__mnode *)digby__mem_alloc(
        m, sizeof(digby__mnode) + (h - 1) * sizeof(digby__mnode *) + klen);
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
    x->height = (uint8_t)h;
    for (i = 0; i < h; i++) x->next[i] = NULL;
    if (klen) memcpy((uint8_t *)(x->next + h), key, klen);
    for (i = 0; i < 8; i++) pre = pre << 8 | (i < klen ? ((const uint8_t *)key)[i] : 0);
    ld->v[ld->n].pre = pre;
    ld->v[ld->n].x = x;
    ld->n++;
    m->count++;
    m->data_bytes += klen + x->vlen;
    return DIGBY_OK;
}

/* Sort the load (bottom-up merge sort through a scratch array of the same
   size) and link its nodes into m, which held nothing before the load.
   Frees the load's arrays.  DIGBY_NOMEM (the nodes stay in the arena,
   unlinked: the memtable is freed by the failed open). */
static int digby__mem_load_finish(digby__mem *m, digby__mload *ld)
{
    digby__mload_pair *a = ld->v, *b, *t;
    digby__mnode *last[DIGBY__MEM_LEVELS];
    size_t w, i, n = ld->n;
    unsigned lvl, top = 1;
    if (!n) { digby__free(m->alloc, ld->v); ld->v = NULL; return DIGBY_OK; }
    b = (digby__mload_pair *)digby__malloc(m->alloc, n * sizeof(*b));
    if (!b) return DIGBY_NOMEM;
    for (w = 1; w < n; w *= 2) {
        for (i = 0; i < n; i += 2 * w) {
            size_t lo = i, mid = DIGBY__MIN(i + w, n), hi = DIGBY__MIN(i + 2 * w, n);
            size_t p = lo, q = mid, o = lo;
            while (p < mid && q < hi) b[o++] = digby__mload_cmp(&a[q], &a[p]) < 0 ? a[q++] : a[p++];
            while (p < mid) b[o++] = a[p++];
            while (q < hi) b[o++] = a[q++];
        }
        t = a;
        a = b;
        b = t;
    }
    for (lvl = 0; lvl < DIGBY__MEM_LEVELS; lvl++) last[lvl] = m->head;
    for (i = 0; i < n; i++) {
        digby__mnode *x = a[i].x;
        for (lvl = 0; lvl < x->height; lvl++) {
            last[lvl]->next[lvl] = x;
            last[lvl] = x;
        }
        if (x->height > top) top = x->height;
    }
    if (top > m->height) m->height = top;
    digby__free(m->alloc, a);
    digby__free(m->alloc, b);
    ld->v = NULL;
    ld->n = ld->cap = 0;
    return DIGBY_OK;
}

/* Whether node n is visible to a transaction reading up to txid `upto`. */
static int digby__mn_visible(const digby__mnode *n, uint64_t upto)
{
    return n->txid <= upto && !(n->flags & DIGBY__MN_DEAD);
}

/* From node x (the first node of its key or later), the first visible
   version of x's key; NULL when no version of it is visible. */
static digby__mnode *digby__mn_settle(digby__mnode *x, uint64_t upto)
{
    digby__mnode *first = x;
    while (x && x->slot == first->slot && x->klen == first->klen &&
           memcmp(digby__mn_key(x), digby__mn_key(first), first->klen) == 0) {
        if (digby__mn_visible(x, upto)) return x;
        x = DIGBY__PLOAD(&x->next[0]);
    }
    return NULL;
}

/* The visible state of (slot, key): its node (a value or a tombstone), or
   NULL when the memtable says nothing of it. */
static digby__mnode *digby__mem_get(digby__mem *m, uint32_t slot, const void *key,
                                    size_t klen, uint64_t upto)
{
    digby__mnode *x = digby__mem_seek_ge(m, slot, key, klen, UINT64_MAX, NULL);
    if (!x || x->slot != slot || digby__keycmp(digby__mn_key(x), x->klen, key, klen) != 0)
        return NULL;
    return digby__mn_settle(x, upto);
}

/* The writer's look before it writes (slot, key) under its txid (the
   newest): the seek of digby__mem_put, kept in *x and prev[] for
   digby__mem_put_at, and the version of the key visible up to `upto`
   (a value or a tombstone), NULL when the memtable says nothing of it.
   One descent of the skip list instead of a get and a put's two: deletes
   and NOOVERWRITE puts must know whether the key is there. */
static digby__mnode *digby__mem_probe(digby__mem *m, uint32_t slot, const void *key,
                                      size_t klen, uint64_t txid, uint64_t upto,
                                      digby__mnode **prev, digby__mnode **x)
{
    *x = digby__mem_seek_ge(m, slot, key, klen, txid, prev);
    if (!*x || (*x)->slot != slot || digby__keycmp(digby__mn_key(*x), (*x)->klen, key, klen) != 0)
        return NULL;
    return digby__mn_settle(*x, upto);
}

/* The next key after node x's key in slot x->slot with a visible version
   (forward: dir > 0) or the one before it (dir < 0), its visible node, or
   NULL at the end of the slot.  x may be NULL with dir: first/last of the
   slot via the seek functions instead. */
static digby__mnode *digby__mem_step(digby__mem *m, const digby__mnode *x, int dir,
                                     uint64_t upto)
{
    uint32_t slot = x->slot;
    const uint8_t *k = digby__mn_key(x);
    size_t kl = x->klen;
    if (dir > 0) {
        digby__mnode *y = DIGBY__PLOAD(&((digby__mnode *)x)->next[0]);
        for (;;) {
            digby__mnode *v;
            /* skip the older versions of the key we are on */
            while (y && y->slot == slot && y->klen == kl &&
                   memcmp(digby__mn_key(y), k, kl) == 0)
                y = DIGBY__PLOAD(&y->next[0]);
            if (!y || y->slot != slot) return NULL;
            v = digby__mn_settle(y, upto);
            if (v) return v;
            k = digby__mn_key(y);
            kl = y->klen;
            y = DIGBY__PLOAD(&y->next[0]);
        }
    }
    for (;;) {
        /* the last node before the key's first version is the oldest
           version of the key before it */
        digby__mnode *y = digby__mem_seek_lt(m, slot, k, kl, UINT64_MAX), *v;
        if (!y || y->slot != slot) return NULL;
        v = digby__mem_seek_ge(m, slot, digby__mn_key(y), y->klen, UINT64_MAX, NULL);
        v = digby__mn_settle(v, upto);
        if (v) return v;
        k = digby__mn_key(y);
        kl = y->klen;
    }
}

/* The first (dir > 0) or last visible key of slot at or after (dir > 0)
   / at or before key (inclusive when incl, else strictly), or NULL. */
static digby__mnode *digby__mem_seek(digby__mem *m, uint32_t slot, const void *key,
                                     size_t klen, int dir, int incl, uint64_t upto)
{
    digby__mnode *x, *v;
    if (dir > 0) {
        x = digby__mem_seek_ge(m, slot, key, klen, incl ? UINT64_MAX : 0, NULL);
        /* with incl 0, (key, txid 0) sorts after every version of key but
           a txid-0 one, which never exists */
        if (!incl && x && x->slot == slot && x->klen == klen &&
            memcmp(digby__mn_key(x), key, klen) == 0)
            return digby__mem_step(m, x, 1, upto);
        if (!x || x->slot != slot) return NULL;
        v = digby__mn_settle(x, upto);
        return v ? v : digby__mem_step(m, x, 1, upto);
    }
    x = digby__mem_seek_ge(m, slot, key, klen, UINT64_MAX, NULL);
    if (incl && x && x->slot == slot && x->klen == klen &&
        memcmp(digby__mn_key(x), key, klen) == 0) {
        v = digby__mn_settle(x, upto);
        if (v) return v;
    }
    /* the key before `key`: step back from a node standing for key */
    {
        digby__mnode *y = digby__mem_seek_lt(m, slot, key, klen, UINT64_MAX);
        if (!y || y->slot != slot) return NULL;
        v = digby__mem_seek_ge(m, slot, digby__mn_key(y), y->klen, UINT64_MAX, NULL);
        x = digby__mn_settle(v, upto);
        return x ? x : digby__mem_step(m, v, -1, upto);
    }
}

/* The first (dir > 0) or last visible key of slot, or NULL. */
static digby__mnode *digby__mem_end(digby__mem *m, uint32_t slot, int dir, uint64_t upto)
{
    digby__mnode *x, *v;
    if (dir > 0) {
        x = digby__mem_seek_ge(m, slot, "", 0, UINT64_MAX, NULL);
        if (!x || x->slot != slot) return NULL;
        v = digby__mn_settle(x, upto);
        return v ? v : digby__mem_step(m, x, 1, upto);
    }
    /* the last node of the slot comes before the first node of slot + 1 */
    x = digby__mem_seek_lt(m, slot + 1, "", 0, UINT64_MAX);
    if (!x || x->slot != slot) return NULL;
    v = digby__mem_seek_ge(m, slot, digby__mn_key(x), x->klen, UINT64_MAX, NULL);
    x = digby__mn_settle(v, upto);
    return x ? x : digby__mem_step(m, v, -1, upto);
}

#endif /* DIGBY__HAVE_MEMTABLE */
