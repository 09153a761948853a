/* Overflow items (FORMAT.md sections 6 and 6b): large values and keys.

   A value too large for a leaf, and the whole of a large key, live in
   overflow pages.  An item is a stream of bytes in data pages under a tree of index
   pages (a radix tree, as in a Unix inode's indirect blocks), so that any
   byte range is reached in height + 1 page reads and freeing an item reads
   only its index pages.  A compressed item is two streams: T, its chunk
   table (the end offset of every chunk, then the root of S), and S, the
   chunks (lz4 blocks, or raw bytes where lz4 did not help).

   Every page of an item carries the version stored in the leaf cell: the
   txid of the transaction that wrote it, or the put version of one that
   writes entries with their versions kept (digby_rekey, a compacting
   digby_backup; DIGBY__VERSION), and its position on its
   level, so a stale or misdirected page is caught.  Index pages also
   record their level and entry count.

   The writer writes items straight to the file rather than holding them
   as dirty pages: they are new pages no committed tree reaches, so memory
   stays bounded by a few pages (and two chunks when compressing) whatever
   the item's size.  Each page is written exactly once. */

static size_t digby__ovf_per(const digby_db *db)
{
    return db->usable - DIGBY__HDR;
}

static size_t digby__ovf_fan(const digby_db *db)
{
    return (db->usable - DIGBY__HDR) / 8;
}

static int digby__txn_io(digby_txn *txn)
{
    if (txn->io) return DIGBY_OK;
    txn->io = (uint8_t *)digby__malloc(&txn->db->alloc, txn->db->page_size);
    return txn->io ? DIGBY_OK : DIGBY_NOMEM;
}

/* Pages (data and index) of a stream of `bytes` bytes. */
static uint64_t digby__strm_pages(const digby_db *db, uint64_t bytes)
{
    uint64_t fan = digby__ovf_fan(db), n = bytes ? (bytes - 1) / digby__ovf_per(db) + 1 : 1;
    uint64_t total = n;
    while (n > 1) {
        n = (n - 1) / fan + 1;
        total += n;
    }
    return total;
}

/* Set up st to read the stream of `bytes` bytes at root, written by txid
   `version`.  Pages cached from an earlier stream stay: a page number
   names the same bytes for the whole transaction (overflow pages freed in a
   transaction are never reused in it).  DIGBY_CORRUPT when the stream would
   need more index levels than any item has. */
static int digby__strm_init(const digby_db *db, digby__strm *st, uint64_t root,
                            uint64_t version, uint64_t bytes)
{
    uint64_t fan = digby__ovf_fan(db), cover = 1;
    unsigned h = 0;
    st->root = root;
    st->version = version;
    st->bytes = bytes;
    st->npages = bytes ? (bytes - 1) / digby__ovf_per(db) + 1 : 1;
    while (cover < st->npages) {
        cover *= fan;
        if (++h > DIGBY__OVF_MAX_HEIGHT) return DIGBY_CORRUPT;
    }
    st->height = h;
    return DIGBY_OK;
}

static void digby__strm_drop(digby_db *db, digby__strm *st)
{
    unsigned l;
    for (l = 0; l <= DIGBY__OVF_MAX_HEIGHT; l++) {
        digby__pbuf_put(db, st->buf[l]);
        st->buf[l] = NULL;
        st->pg[l] = NULL;
        st->pgno[l] = 0;
    }
}

/* Entries of the index page on `level` whose first data page is `base`. */
static unsigned digby__strm_count(const digby__strm *st, const uint64_t *pw,
                                  unsigned level, uint64_t base)
{
    uint64_t covered = DIGBY__MIN(st->npages - base, pw[level]);
    return (unsigned)((covered + pw[level - 1] - 1) / pw[level - 1]);
}

static void digby__strm_powers(const digby_db *db, uint64_t *pw, unsigned height)
{
    unsigned l;
    pw[0] = 1;
    for (l = 1; l <= height; l++) pw[l] = pw[l - 1] * digby__ovf_fan(db);
}

/* Bring page pgno of st, on `level` (0: a data page) at position pos,
   into st->pg[level] and check it: trailer and page number
   (digby__page_read_raw), type, txid, position, and for an index page its
   level and entry count.  A page of the memory map is
   read in place, its trailer checked the first time this handle meets
   this version of it (map_seen, as for tree pages); others are read into
   st->buf[level].  Overflow pages are written straight to the file, so
   the map shows a write transaction's own pages too. */
static int digby__strm_load(digby_txn *txn, digby__strm *st, unsigned level,
                            uint64_t pgno, uint64_t pos, unsigned count)
{
    digby_db *db = txn->db;
    const uint8_t *p;
    int mark = 0; /* a map page verified now: remember it */
    int rc;
    if (pgno < 2 || pgno >= txn->meta.page_count) return DIGBY__CORRUPT(db, pgno);
    if (pgno < txn->map_pages) {
        p = txn->map + pgno * db->page_size;
        if (!digby__map_trusted(txn, pgno, st->version)) {
            if (digby__page_check_plain(db, p, pgno)) return DIGBY__CORRUPT(db, pgno);
            mark = 1;
        }
    } else {
        if (!st->buf[level]) {
            st->buf[level] = digby__pbuf_get(db);
            if (!st->buf[level]) return DIGBY_NOMEM;
            st->pgno[level] = 0;
        }
        if (st->pgno[level] != pgno) {
            st->pgno[level] = 0;
            rc = digby__page_read_raw(db, pgno, st->buf[level]);
            if (rc) return rc;
            st->pgno[level] = pgno;
        }
        p = st->buf[level];
    }
    st->pg[level] = NULL;
    if (digby__page_txid(p) != st->version || digby__page_pos(p) != pos)
        return DIGBY__CORRUPT(db, pgno);
    if (level == 0) {
        if (p[0] != DIGBY__PAGE_OVERFLOW) return DIGBY__CORRUPT(db, pgno);
    } else if (p[0] != DIGBY__PAGE_OVFINDEX || p[1] != level ||
               digby__get16(p + 2) != count) {
        return DIGBY__CORRUPT(db, pgno);
    }
    if (mark) DIGBY__SEEN_STORE(&txn->map_seen[pgno], st->version);
    st->pg[level] = p;
    return DIGBY_OK;
}

/* Data page i of st: *data points at its bytes (ovf_per of them), valid
   until the next call on st. */
static int digby__strm_page(digby_txn *txn, digby__strm *st, uint64_t i,
                            const uint8_t **data)
{
    uint64_t pw[DIGBY__OVF_MAX_HEIGHT + 1], pgno = st->root, base = 0;
    unsigned l;
    int rc;
    if (i >= st->npages) return DIGBY__CORRUPT(txn->db, st->root);
    digby__strm_powers(txn->db, pw, st->height);
    for (l = st->height; l >= 1; l--) {
        unsigned e = (unsigned)((i - base) / pw[l - 1]);
        rc = digby__strm_load(txn, st, l, pgno, base / pw[l],
                              digby__strm_count(st, pw, l, base));
        if (rc) return rc;
        pgno = digby__get64(st->pg[l] + DIGBY__HDR + 8 * (size_t)e);
        base += e * pw[l - 1];
    }
    rc = digby__strm_load(txn, st, 0, pgno, i, 0);
    if (rc) return rc;
    *data = st->pg[0] + DIGBY__HDR;
    return DIGBY_OK;
}

/* Copy bytes [off, off + n) of st to out. */
static int digby__strm_read(digby_txn *txn, digby__strm *st, uint64_t off,
                            uint8_t *out, size_t n)
{
    size_t per = digby__ovf_per(txn->db);
    if (off > st->bytes || n > st->bytes - off) return DIGBY__CORRUPT(txn->db, st->root);
    while (n) {
        const uint8_t *d;
        size_t in = (size_t)(off % per), take = DIGBY__MIN(per - in, n);
        int rc = digby__strm_page(txn, st, off / per, &d);
        if (rc) return rc;
        memcpy(out, d + in, take);
        out += take;
        off += take;
        n -= take;
    }
    return DIGBY_OK;
}

/* Visit every page of st, each index page after its children: fn(ctx,
   pgno).  Index pages are read and checked; data pages too when
   read_data.  Iterative, bounded by the height. */
static int digby__strm_visit(digby_txn *txn, digby__strm *st, int read_data,
                             int (*fn)(void *ctx, uint64_t pgno), void *ctx)
{
    uint64_t pw[DIGBY__OVF_MAX_HEIGHT + 1], base[DIGBY__OVF_MAX_HEIGHT + 1];
    uint64_t pg[DIGBY__OVF_MAX_HEIGHT + 1];
    unsigned next[DIGBY__OVF_MAX_HEIGHT + 1], count[DIGBY__OVF_MAX_HEIGHT + 1];
    unsigned l = st->height, h = st->height;
    int rc;
    if (h == 0) {
        if (read_data && (rc = digby__strm_load(txn, st, 0, st->root, 0, 0)) != DIGBY_OK)
            return rc;
        return fn(ctx, st->root);
    }
    digby__strm_powers(txn->db, pw, h);
    pg[h] = st->root;
    base[h] = 0;
    count[h] = digby__strm_count(st, pw, h, 0);
    next[h] = 0;
    rc = digby__strm_load(txn, st, h, st->root, 0, count[h]);
    while (rc == DIGBY_OK && l <= h) {
        if (next[l] < count[l]) {
            uint64_t child = digby__get64(st->pg[l] + DIGBY__HDR + 8 * (size_t)next[l]);
            uint64_t cbase = base[l] + next[l] * pw[l - 1];
            next[l]++;
            if (l == 1) {
                if (read_data) rc = digby__strm_load(txn, st, 0, child, cbase, 0);
                if (rc == DIGBY_OK) rc = fn(ctx, child);
            } else {
                l--;
                pg[l] = child;
                base[l] = cbase;
                count[l] = digby__strm_count(st, pw, l, cbase);
                next[l] = 0;
                rc = digby__strm_load(txn, st, l, child, cbase / pw[l], count[l]);
            }
        } else {
            rc = fn(ctx, pg[l]);
            l++;
        }
    }
    return rc;
}

/* ---- Reading items ------------------------------------------------------- */

/* Open rd on an item (keeping its caches when it is the same item). */
static int digby__rd_open(digby_txn *txn, digby__rd *rd, uint64_t root, uint64_t version,
                          uint64_t len, int compressed)
{
    digby_db *db = txn->db;
    int rc;
    if (rd->open && rd->root == root && rd->version == version && rd->len == len &&
        rd->compressed == compressed)
        return DIGBY_OK;
    rd->open = 0;
    rd->chunk = UINT64_MAX;
    if (len == 0 || len > DIGBY_MAX_VALUE_BYTES) return DIGBY__CORRUPT(db, root);
    if (compressed) {
#ifdef DIGBY_NO_LZ4
        return DIGBY_NOFEATURE;
#else
        rc = digby__item_streams(txn, &rd->t, &rd->s, root, version, len);
#endif
    } else {
        rc = digby__strm_init(db, &rd->s, root, version, len);
    }
    if (rc == DIGBY_CORRUPT) return DIGBY__CORRUPT(db, root);
    if (rc) return rc;
    rd->root = root;
    rd->version = version;
    rd->len = len;
    rd->compressed = compressed;
    rd->open = 1;
    return DIGBY_OK;
}

/* Bring chunk j of a compressed item into rd->out. */
static int digby__rd_chunk(digby_txn *txn, digby__rd *rd, uint64_t j)
{
    digby_db *db = txn->db;
    uint64_t start = 0, end;
    size_t raw = (size_t)DIGBY__MIN((uint64_t)DIGBY__CHUNK, rd->len - j * DIGBY__CHUNK);
    uint8_t e[8];
    int rc;
    if (rd->chunk == j) return DIGBY_OK;
    if (!rd->out) rd->out = (uint8_t *)digby__malloc(&db->alloc, DIGBY__CHUNK);
    if (!rd->in) rd->in = (uint8_t *)digby__malloc(&db->alloc, DIGBY__CHUNK);
    if (!rd->out || !rd->in) return DIGBY_NOMEM;
    rd->chunk = UINT64_MAX;
    if (j == 0) {
        rc = digby__strm_read(txn, &rd->t, 0, e + 4, 4);
        digby__put32(e, 0);
    } else {
        rc = digby__strm_read(txn, &rd->t, 4 * (j - 1), e, 8);
    }
    if (rc) return rc;
    start = digby__get32(e);
    end = digby__get32(e + 4);
    if (end <= start || end - start > raw || end > rd->s.bytes)
        return DIGBY__CORRUPT(db, rd->root);
    if (end - start == raw) {
        rc = digby__strm_read(txn, &rd->s, start, rd->out, raw);
    } else {
        rc = digby__strm_read(txn, &rd->s, start, rd->in, (size_t)(end - start));
        if (rc == DIGBY_OK) {
            rc = digby__lz4_decompress(rd->in, (size_t)(end - start), rd->out, raw);
            if (rc == DIGBY_CORRUPT) rc = DIGBY__CORRUPT(db, rd->root);
        }
    }
    if (rc) return rc;
    rd->chunk = j;
    return DIGBY_OK;
}

/* The bytes of the open item at offset off: *p, *avail of them (at least
   one), valid until the next call on rd. */
static int digby__rd_span(digby_txn *txn, digby__rd *rd, uint64_t off, const uint8_t **p,
                          size_t *avail)
{
    int rc;
    if (off >= rd->len) return DIGBY__CORRUPT(txn->db, rd->root);
    if (!rd->compressed) {
        size_t per = digby__ovf_per(txn->db), in = (size_t)(off % per);
        const uint8_t *d;
        rc = digby__strm_page(txn, &rd->s, off / per, &d);
        if (rc) return rc;
        *p = d + in;
        *avail = (size_t)DIGBY__MIN((uint64_t)(per - in), rd->len - off);
    } else {
        uint64_t j = off / DIGBY__CHUNK;
        size_t in = (size_t)(off % DIGBY__CHUNK);
        rc = digby__rd_chunk(txn, rd, j);
        if (rc) return rc;
        *p = rd->out + in;
        *avail = (size_t)DIGBY__MIN((uint64_t)DIGBY__CHUNK, rd->len - j * DIGBY__CHUNK) - in;
    }
    return DIGBY_OK;
}

/* Copy bytes [off, off + n) of the open item to out. */
static int digby__rd_read(digby_txn *txn, digby__rd *rd, uint64_t off, uint8_t *out,
                          size_t n)
{
    if (off > rd->len || n > rd->len - off) return DIGBY_INVALID;
    while (n) {
        const uint8_t *p;
        size_t avail;
        int rc = digby__rd_span(txn, rd, off, &p, &avail);
        if (rc) return rc;
        if (avail > n) avail = n;
        memcpy(out, p, avail);
        out += avail;
        off += avail;
        n -= avail;
    }
    return DIGBY_OK;
}

static void digby__rd_drop(digby_db *db, digby__rd *rd)
{
    digby__strm_drop(db, &rd->s);
    digby__strm_drop(db, &rd->t);
    digby__free(&db->alloc, rd->out);
    digby__free(&db->alloc, rd->in);
    memset(rd, 0, sizeof(*rd));
}

/* The transaction's readers and scratch, made on first use. */
static int digby__large_scratch_get(digby_txn *txn)
{
    digby_db *db = txn->db;
    digby__large_scratch *ls = txn->large;
    if (!ls) {
        ls = (digby__large_scratch *)digby__malloc(&db->alloc, sizeof(*ls));
        if (!ls) return DIGBY_NOMEM;
        memset(ls, 0, sizeof(*ls));
        txn->large = ls;
    }
    if (!ls->kbuf) ls->kbuf = (uint8_t *)digby__malloc(&db->alloc, db->page_size);
    if (!ls->pbuf) ls->pbuf = (uint8_t *)digby__malloc(&db->alloc, db->page_size);
    return ls->kbuf && ls->pbuf ? DIGBY_OK : DIGBY_NOMEM;
}

static void digby__large_scratch_release(digby_txn *txn)
{
    digby_db *db = txn->db;
    unsigned i;
    if (!txn->large) return;
    for (i = 0; i < 3; i++) digby__rd_drop(db, &txn->large->rd[i]);
    digby__free(&db->alloc, txn->large->kbuf);
    digby__free(&db->alloc, txn->large->pbuf);
    digby__free(&db->alloc, txn->large);
    txn->large = NULL;
}

/* Read a whole item into out (len bytes), with reader `slot`. */
static int digby__item_read(digby_txn *txn, unsigned slot, uint64_t root, uint64_t version,
                            uint64_t len, int compressed, uint8_t *out)
{
    int rc = digby__large_scratch_get(txn);
    if (rc) return rc;
    if (len > SIZE_MAX) return DIGBY_NOMEM;
    rc = digby__rd_open(txn, &txn->large->rd[slot], root, version, len, compressed);
    if (rc) return rc;
    return digby__rd_read(txn, &txn->large->rd[slot], 0, out, (size_t)len);
}

/* ---- Freeing and walking items ------------------------------------------- */

typedef struct digby__ovf_ctx {
    digby_txn *txn;
    uint64_t version;
} digby__ovf_ctx;

/* Release one page of an item.  An item this transaction wrote is already
   in the file: its pages must not be written again before the commit's
   sync, or a crash that keeps the older write of a page (same txid, valid
   checksum) would pass open's verification with stale bytes.  So they wait
   in the pending list like older pages (and stay readable until the
   transaction ends, which cursors rely on). */
static int digby__ovf_release(void *ctx, uint64_t pgno)
{
    digby__ovf_ctx *x = (digby__ovf_ctx *)ctx;
    digby_txn *txn = x->txn;
    if (x->version != txn->txid) return digby__page_free(txn, pgno, x->version);
    if (pgno < 2 || pgno >= txn->meta.page_count) return DIGBY__CORRUPT(txn->db, pgno);
    return digby__u64s_push(&txn->db->alloc, &txn->freed, pgno);
}

/* Set up st (T) and *s (S) for a compressed item: S's root and length
   are the last entries of T. */
static int digby__item_streams(digby_txn *txn, digby__strm *t, digby__strm *s,
                               uint64_t root, uint64_t version, uint64_t len)
{
    digby_db *db = txn->db;
    uint64_t nc = (len - 1) / DIGBY__CHUNK + 1, slen;
    uint8_t tail[12];
    int rc = digby__strm_init(db, t, root, version, 4 * nc + 8);
    if (rc == DIGBY_OK) rc = digby__strm_read(txn, t, 4 * (nc - 1), tail, 12);
    if (rc == DIGBY_CORRUPT) return DIGBY__CORRUPT(db, root);
    if (rc) return rc;
    slen = digby__get32(tail);
    if (slen == 0 || slen > len) return DIGBY__CORRUPT(db, root);
    rc = digby__strm_init(db, s, digby__get64(tail + 4), version, slen);
    return rc == DIGBY_CORRUPT ? DIGBY__CORRUPT(db, root) : rc;
}

/* Free every page of an item: only its index pages (and a compressed
   item's chunk table) are read. */
static int digby__item_free(digby_txn *txn, uint64_t root, uint64_t version, uint64_t len,
                            int compressed)
{
    digby_db *db = txn->db;
    digby__strm s, t;
    digby__ovf_ctx x;
    int rc;
    if (len == 0 || len > DIGBY_MAX_VALUE_BYTES) return DIGBY__CORRUPT(db, root);
    memset(&s, 0, sizeof(s));
    memset(&t, 0, sizeof(t));
    x.txn = txn;
    x.version = version;
    if (compressed) {
        rc = digby__item_streams(txn, &t, &s, root, version, len);
        if (rc == DIGBY_OK) rc = digby__strm_visit(txn, &s, 0, digby__ovf_release, &x);
        if (rc == DIGBY_OK) rc = digby__strm_visit(txn, &t, 0, digby__ovf_release, &x);
    } else {
        rc = digby__strm_init(db, &s, root, version, len);
        if (rc == DIGBY_CORRUPT) rc = DIGBY__CORRUPT(db, root);
        if (rc == DIGBY_OK) rc = digby__strm_visit(txn, &s, 0, digby__ovf_release, &x);
    }
    digby__strm_drop(db, &s);
    digby__strm_drop(db, &t);
    return rc;
}

/* Visit every page of an item, reading and checking each (digby_check and
   open's verification): fn(ctx, pgno) once per page.  A compressed item's
   chunk table must rise, and no chunk may be stored larger than it is. */
static int digby__item_walk(digby_txn *txn, uint64_t root, uint64_t version, uint64_t len,
                            int compressed, int (*fn)(void *ctx, uint64_t pgno), void *ctx)
{
    digby_db *db = txn->db;
    digby__strm s, t;
    int rc;
    if (len == 0 || len > DIGBY_MAX_VALUE_BYTES) return DIGBY__CORRUPT(db, root);
    memset(&s, 0, sizeof(s));
    memset(&t, 0, sizeof(t));
    if (compressed) {
        rc = digby__item_streams(txn, &t, &s, root, version, len);
        if (rc == DIGBY_OK) rc = digby__strm_visit(txn, &t, 1, fn, ctx);
        if (rc == DIGBY_OK) {
            uint64_t nc = (len - 1) / DIGBY__CHUNK + 1, j, prev = 0;
            for (j = 0; j < nc && rc == DIGBY_OK; j++) {
                uint8_t e[4];
                uint64_t raw = DIGBY__MIN((uint64_t)DIGBY__CHUNK, len - j * DIGBY__CHUNK), end;
                rc = digby__strm_read(txn, &t, 4 * j, e, 4);
                if (rc) break;
                end = digby__get32(e);
                if (end <= prev || end - prev > raw) rc = DIGBY__CORRUPT(db, root);
                prev = end;
            }
        }
        if (rc == DIGBY_OK) rc = digby__strm_visit(txn, &s, 1, fn, ctx);
    } else {
        rc = digby__strm_init(db, &s, root, version, len);
        if (rc == DIGBY_CORRUPT) rc = DIGBY__CORRUPT(db, root);
        if (rc == DIGBY_OK) rc = digby__strm_visit(txn, &s, 1, fn, ctx);
    }
    digby__strm_drop(db, &s);
    digby__strm_drop(db, &t);
    return rc;
}

/* ---- Writing items ------------------------------------------------------- */

/* Seal an overflow page (checksum, or encryption) and write it to the
   file: the one page write of this part (overflow pages never pass
   through the dirty map). */
static int digby__ovf_put_page(digby_txn *txn, uint64_t pgno, uint8_t *p)
{
    return digby__page_write(txn->db, pgno, p);
}

/* Give page p (its body filled in up to `used` bytes) a page number and a
   header, and write it.  pos: its position on its level. */
static int digby__ovf_emit(digby_txn *txn, uint8_t *p, unsigned type, unsigned level,
                           uint32_t pos, unsigned count, size_t used, uint64_t *pgno)
{
    digby_db *db = txn->db;
    int rc = digby__page_alloc(txn, pgno);
    if (rc) return rc;
    /* in the file from now on: never reused in this transaction, even
       after a rollback to a savepoint (61_savepoint.c) */
    if (txn->nsp) digby__sp_lvl_written(txn, *pgno);
    memset(p, 0, DIGBY__HDR);
    p[0] = (uint8_t)type;
    p[1] = (uint8_t)level;
    digby__put16(p + 2, (uint16_t)count);
    digby__page_set_pos(p, pos);
    digby__page_set_pgno(p, *pgno);
    digby__page_set_txid(p, DIGBY__VERSION(txn)); /* the item's version */
    memset(p + DIGBY__HDR + used, 0, db->usable - DIGBY__HDR - used);
    return digby__ovf_put_page(txn, *pgno, p);
}

static int digby__sw_entry(digby_txn *txn, digby__sw *w, unsigned level, uint64_t pgno)
{
    if (!w->lvl[level]) {
        w->lvl[level] = digby__pbuf_get(txn->db);
        if (!w->lvl[level]) return DIGBY_NOMEM;
    }
    digby__put64(w->lvl[level] + DIGBY__HDR + 8 * (size_t)w->cnt[level], pgno);
    w->cnt[level]++;
    return DIGBY_OK;
}

/* Write the index page of `level` and reset it; *pgno is where it went. */
static int digby__sw_flush(digby_txn *txn, digby__sw *w, unsigned level, uint64_t *pgno)
{
    int rc = digby__ovf_emit(txn, w->lvl[level], DIGBY__PAGE_OVFINDEX, level, w->pos[level]++,
                             w->cnt[level], 8 * (size_t)w->cnt[level], pgno);
    w->cnt[level] = 0;
    return rc;
}

/* Add a page of level - 1 to the index page of `level`, first writing the
   full index pages in the way (bottom-up build, as in a B-tree bulk load). */
static int digby__sw_push(digby_txn *txn, digby__sw *w, unsigned level, uint64_t pgno)
{
    size_t fan = digby__ovf_fan(txn->db);
    unsigned top = level, l;
    int rc;
    while (top <= DIGBY__OVF_MAX_HEIGHT && w->cnt[top] == fan) top++;
    if (top > DIGBY__OVF_MAX_HEIGHT) return DIGBY_TOOBIG;
    for (l = top; l > level; l--) {
        uint64_t q;
        rc = digby__sw_flush(txn, w, l - 1, &q);
        if (rc == DIGBY_OK) rc = digby__sw_entry(txn, w, l, q);
        if (rc) return rc;
    }
    return digby__sw_entry(txn, w, level, pgno);
}

/* Write the data page being filled. */
static int digby__sw_data(digby_txn *txn, digby__sw *w)
{
    uint64_t pgno;
    int rc = digby__ovf_emit(txn, w->page, DIGBY__PAGE_OVERFLOW, 0, w->pos[0]++, 0, w->fill,
                             &pgno);
    w->fill = 0;
    if (rc) return rc;
    return digby__sw_push(txn, w, 1, pgno);
}

static int digby__sw_add(digby_txn *txn, digby__sw *w, const uint8_t *src, size_t n)
{
    size_t per = digby__ovf_per(txn->db);
    while (n) {
        size_t take;
        int rc;
        if (!w->page) {
            w->page = digby__pbuf_get(txn->db);
            if (!w->page) return DIGBY_NOMEM;
        }
        take = DIGBY__MIN(per - w->fill, n);
        memcpy(w->page + DIGBY__HDR + w->fill, src, take);
        w->fill += take;
        w->bytes += take;
        src += take;
        n -= take;
        if (w->fill == per && (rc = digby__sw_data(txn, w)) != DIGBY_OK) return rc;
    }
    return DIGBY_OK;
}

/* Write what is left and find the root: the one entry of the top level. */
static int digby__sw_finish(digby_txn *txn, digby__sw *w, uint64_t *root)
{
    unsigned l, m;
    int rc;
    if (w->fill || w->bytes == 0) {
        if (!w->page) {
            w->page = digby__pbuf_get(txn->db);
            if (!w->page) return DIGBY_NOMEM;
        }
        rc = digby__sw_data(txn, w);
        if (rc) return rc;
    }
    for (l = 1; l <= DIGBY__OVF_MAX_HEIGHT; l++) {
        int higher = 0;
        uint64_t q;
        for (m = l + 1; m <= DIGBY__OVF_MAX_HEIGHT; m++) higher |= w->cnt[m] != 0;
        if (!higher && w->cnt[l] == 1) {
            *root = digby__get64(w->lvl[l] + DIGBY__HDR);
            w->cnt[l] = 0;
            return DIGBY_OK;
        }
        rc = digby__sw_flush(txn, w, l, &q);
        if (rc == DIGBY_OK) rc = digby__sw_push(txn, w, l + 1, q);
        if (rc) return rc;
    }
    return DIGBY_TOOBIG;
}

static void digby__sw_release(digby_db *db, digby__sw *w)
{
    unsigned l;
    digby__pbuf_put(db, w->page);
    for (l = 0; l < DIGBY__OVF_MAX_HEIGHT + 2; l++) digby__pbuf_put(db, w->lvl[l]);
    memset(w, 0, sizeof(*w));
}

/* Finish a stream only to free what it wrote (an abandoned item). */
static int digby__sw_discard(digby_txn *txn, digby__sw *w)
{
    digby__strm st;
    digby__ovf_ctx x;
    uint64_t root, bytes = w->bytes;
    int rc = DIGBY_OK;
    if (bytes) {
        rc = digby__sw_finish(txn, w, &root);
        memset(&st, 0, sizeof(st));
        if (rc == DIGBY_OK) rc = digby__strm_init(txn->db, &st, root, DIGBY__VERSION(txn), bytes);
        x.txn = txn;
        x.version = DIGBY__VERSION(txn);
        if (rc == DIGBY_OK) rc = digby__strm_visit(txn, &st, 0, digby__ovf_release, &x);
        digby__strm_drop(txn->db, &st);
    }
    digby__sw_release(txn->db, w);
    return rc;
}

/* Free what an item writer holds (its streams' pages, the lz4 buffers). */
static void digby__iw_release(digby_db *db, digby__iw *w)
{
    digby__sw_release(db, &w->s);
    digby__sw_release(db, &w->t);
    digby__free(&db->alloc, w->chunk);
    digby__free(&db->alloc, w->cout);
    digby__free(&db->alloc, w->lz4);
    memset(w, 0, sizeof(*w));
}

/* Start writing an item of len raw bytes; lz4: compress it if that saves
   pages (decided on its first chunk). */
static int digby__iw_begin(digby_txn *txn, digby__iw *w, uint64_t len, int lz4)
{
    digby_db *db = txn->db;
    memset(w, 0, sizeof(*w));
    w->len = len;
    w->mode = DIGBY__IW_RAW;
    if (lz4 && digby__lz4_state_bytes() && len > digby__ovf_per(db)) {
        w->chunk = (uint8_t *)digby__malloc(&db->alloc, DIGBY__CHUNK);
        w->cout = (uint8_t *)digby__malloc(&db->alloc, DIGBY__CHUNK);
        w->lz4 = digby__malloc(&db->alloc, digby__lz4_state_bytes());
        if (!w->chunk || !w->cout || !w->lz4) {
            digby__iw_release(db, w);
            return DIGBY_NOMEM;
        }
        w->mode = DIGBY__IW_DECIDE;
    }
    return DIGBY_OK;
}


/* Is compressing worth it?  The first chunk (raw bytes, compressed to c, 0
   if lz4 could not shrink it) stands for the whole item: compress when the
   two streams would take fewer pages than the raw one. */
static int digby__iw_worth(const digby_db *db, uint64_t len, size_t raw, size_t c)
{
    uint64_t nc = (len - 1) / DIGBY__CHUNK + 1, est;
    if (c == 0) return 0;
    est = len == raw ? c : ((uint64_t)c * len + raw - 1) / raw;
    return digby__strm_pages(db, est) + digby__strm_pages(db, 4 * nc + 8) <
           digby__strm_pages(db, len);
}

/* One whole chunk of input: compressed if that makes it smaller. */
static int digby__iw_chunk(digby_txn *txn, digby__iw *w, const uint8_t *src, size_t raw)
{
    size_t c = digby__lz4_compress(w->lz4, src, raw, w->cout, raw - 1);
    uint8_t e[4];
    int rc;
    if (w->mode == DIGBY__IW_DECIDE) {
        if (!digby__iw_worth(txn->db, w->len, raw, c)) {
            w->mode = DIGBY__IW_RAW;
            return digby__sw_add(txn, &w->s, src, raw);
        }
        w->mode = DIGBY__IW_LZ4;
    }
    rc = c ? digby__sw_add(txn, &w->s, w->cout, c) : digby__sw_add(txn, &w->s, src, raw);
    if (rc) return rc;
    digby__put32(e, (uint32_t)w->s.bytes);
    return digby__sw_add(txn, &w->t, e, 4);
}

static int digby__iw_write(digby_txn *txn, digby__iw *w, const uint8_t *p, size_t n)
{
    if (n > w->len - w->done) return DIGBY_INVALID;
    if (w->mode == DIGBY__IW_RAW) {
        w->done += n;
        return digby__sw_add(txn, &w->s, p, n);
    }
    while (n) {
        uint64_t cstart = w->done - w->fill;
        size_t raw = (size_t)DIGBY__MIN((uint64_t)DIGBY__CHUNK, w->len - cstart), take;
        int rc;
        if (w->mode == DIGBY__IW_RAW) {
            /* decided against compression on the first chunk */
            w->done += n;
            return digby__sw_add(txn, &w->s, p, n);
        }
        if (w->fill == 0 && n >= raw) {
            /* a whole chunk in the caller's buffer: no copy */
            rc = digby__iw_chunk(txn, w, p, raw);
            if (rc) return rc;
            w->done += raw;
            p += raw;
            n -= raw;
            continue;
        }
        take = DIGBY__MIN(raw - w->fill, n);
        memcpy(w->chunk + w->fill, p, take);
        w->fill += take;
        w->done += take;
        p += take;
        n -= take;
        if (w->fill == raw) {
            w->fill = 0;
            rc = digby__iw_chunk(txn, w, w->chunk, raw);
            if (rc) return rc;
        }
    }
    return DIGBY_OK;
}

/* All len bytes written: finish the streams.  *root and *compressed
   describe the item for its leaf cell.  Releases w's memory either way. */
static int digby__iw_finish(digby_txn *txn, digby__iw *w, uint64_t *root, int *compressed)
{
    int rc;
    if (w->done != w->len) return DIGBY_INVALID;
    *compressed = w->mode == DIGBY__IW_LZ4;
    if (*compressed) {
        uint64_t sroot;
        uint8_t e[8];
        rc = digby__sw_finish(txn, &w->s, &sroot);
        digby__put64(e, sroot);
        if (rc == DIGBY_OK) rc = digby__sw_add(txn, &w->t, e, 8);
        if (rc == DIGBY_OK) rc = digby__sw_finish(txn, &w->t, root);
    } else {
        rc = digby__sw_finish(txn, &w->s, root);
    }
    digby__iw_release(txn->db, w);
    return rc;
}

/* Abandon an item: free the pages it wrote, release its memory. */
static int digby__iw_abort(digby_txn *txn, digby__iw *w)
{
    int rc = digby__sw_discard(txn, &w->s), rc2 = digby__sw_discard(txn, &w->t);
    digby__iw_release(txn->db, w);
    return rc ? rc : rc2;
}

/* Write a whole item from memory. */
static int digby__item_write(digby_txn *txn, const uint8_t *p, uint64_t len, int lz4,
                             uint64_t *root, int *compressed)
{
    digby__iw w;
    int rc = digby__iw_begin(txn, &w, len, lz4);
    if (rc) return rc;
    rc = digby__iw_write(txn, &w, p, (size_t)len);
    if (rc) { digby__iw_release(txn->db, &w); return rc; }
    return digby__iw_finish(txn, &w, root, compressed);
}
