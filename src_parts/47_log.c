/* The write-ahead log: log pages in the main file, commit records, append, replay.

   Log mode (FORMAT.md section 11).  A commit is one record appended to a
   chain of log pages inside the database file, then one sync: it writes
   no tree page and no meta page.  The record holds the transaction's puts
   and deletes (a logical redo log, as LevelDB's and WiredTiger's); the
   entries also go to the memtable (48_memtable.c), and a checkpoint
   (68_checkpoint.c) later merges them into the tree in one ordinary
   copy-on-write commit whose meta page records where the log now begins.

   Pages.  Each log page names its successor, chosen when the page is first
   written, and carries a log sequence number (LSN) one higher than its
   predecessor's; LSNs only ever grow in a file, so a page left from an
   earlier use of the same page number can never pass for the one the
   chain expects (the rule SQLite's WAL keeps with its salts and frame
   counts).  Records are cut into fragments (LevelDB's log format: FULL,
   FIRST, MIDDLE, LAST), so a record may span pages and a reader knows
   where a record starts.  A page that holds a synced commit is never
   written again: after a sync the next commit starts a new page, so a torn
   write can only damage commits that were never acknowledged as durable.
   Commits made with DIGBY_TXN_NO_SYNC may share a page, rewritten whole.

   Replay (digby__log_open) follows the chain from the meta page's head
   while pages verify and carry the expected LSN, and applies every whole
   record; a record cut short by the end of the chain was never
   acknowledged and is dropped.  New commits then go to the page after the
   last one that verified, so a damaged tail is never built upon.

   A torn tail or damage (FORMAT.md 11.1).  A page the writer starts after
   its own sync covered everything before it is sealed, and each page
   names the page after its successor and the meta page it was written
   under, so that replay can look past a page that does not verify: a
   sealed page there (or after a newer meta page than open chose) means
   acknowledged commits would be lost, and open returns DIGBY_CORRUPT
   instead of quietly opening the commits before it, which is what SQLite's
   WAL and RocksDB's kPointInTimeRecovery do; without a sealed page the
   log ends there quietly, as a crash may cut it. */

#if DIGBY__HAVE_MEMTABLE /* (12_internal.h) the file's last line ends it */

#define DIGBY__LOG_HDR 32u          /* page header: common 24 + next pgno */
#define DIGBY__LOG_FLAGS 1u         /* u8: flags (FORMAT.md 11.1) */
#define DIGBY__LOG_SEALED 1u        /* ... the chain before the page was durable
                                       when it was first written */
#define DIGBY__LOG_PREV_USED 2u     /* u16: the predecessor's final `used` (0: not
                                       recorded) */
#define DIGBY__LOG_USED 4u          /* u32: payload bytes in the page */
#define DIGBY__LOG_TAIL 16u          /* the last usable bytes: */
#define DIGBY__LOG_META_TXID 16u    /* u64: the meta page's txid at the page's
                                       first write (0: not recorded) */
#define DIGBY__LOG_NEXT2 8u         /* u64: the page after next (0: not recorded) */
#define DIGBY__FRAG_HDR 5u          /* fragment: kind (1) + length (4) */
#define DIGBY__FRAG_FULL 1u
#define DIGBY__FRAG_FIRST 2u
#define DIGBY__FRAG_MIDDLE 3u
#define DIGBY__FRAG_LAST 4u
#define DIGBY__LOG_OP_TABLE 1u      /* record operations */
#define DIGBY__LOG_OP_PUT 2u
#define DIGBY__LOG_OP_DEL 3u

static uint32_t digby__log_room(const digby_db *db)
{
    return db->usable - DIGBY__LOG_HDR - DIGBY__LOG_TAIL;
}

/* ---- Building a commit record ------------------------------------------- */

static int digby__rec_room(digby_db *db, size_t more)
{
    digby__log *l = &db->log;
    if (l->rec_n + more < l->rec_n) return DIGBY_NOMEM;
    return digby__reserve(&db->alloc, &l->rec, &l->rec_cap, l->rec_n + more);
}

static void digby__rec_varint(digby__log *l, uint64_t v)
{
    l->rec_n += digby__varint_put(l->rec + l->rec_n, v);
}

static void digby__rec_bytes(digby__log *l, const void *p, size_t n)
{
    if (n) memcpy(l->rec + l->rec_n, p, n);
    l->rec_n += n;
}

/* The record of the writer's transaction (FORMAT.md 11.3): txid, one
   operation per memtable node it made (a table operation first wherever
   the table changes), and the xxhash32 of all that. */
static int digby__log_encode(digby_txn *txn)
{
    digby_db *db = txn->db;
    digby__log *l = &db->log;
    const digby__mtable *tabs = txn->mem->tables_pub;
    uint32_t slot = 0;
    size_t i;
    int rc;
    l->rec_n = 0;
    if ((rc = digby__rec_room(db, 8)) != DIGBY_OK) return rc;
    digby__put64(l->rec, txn->txid);
    l->rec_n = 8;
    for (i = 0; i < txn->nops; i++) {
        const digby__mnode *n = txn->ops[i];
        if (n->slot != slot) {
            const digby__mtable *t = &tabs[n->slot];
            if ((rc = digby__rec_room(db, 11 + t->name_bytes)) != DIGBY_OK) return rc;
            l->rec[l->rec_n++] = DIGBY__LOG_OP_TABLE;
            digby__rec_varint(l, t->name_bytes);
            digby__rec_bytes(l, t->name, t->name_bytes);
            slot = n->slot;
        }
        if ((rc = digby__rec_room(db, 21 + (size_t)n->klen + n->vlen)) != DIGBY_OK) return rc;
        l->rec[l->rec_n++] = (n->flags & DIGBY__MN_TOMB) ? DIGBY__LOG_OP_DEL : DIGBY__LOG_OP_PUT;
        digby__rec_varint(l, n->klen);
        digby__rec_bytes(l, digby__mn_key(n), n->klen);
        if (!(n->flags & DIGBY__MN_TOMB)) {
            digby__rec_varint(l, n->vlen);
            digby__rec_bytes(l, n->val, n->vlen);
        }
    }
    if ((rc = digby__rec_room(db, 4)) != DIGBY_OK) return rc;
    digby__put32(l->rec + l->rec_n, (uint32_t)XXH32(l->rec, l->rec_n, DIGBY__XXH_SEED));
    l->rec_n += 4;
    return DIGBY_OK;
}

/* ---- Pages ------------------------------------------------------------- */

/* Before the log writes page pgno past the end of the file, grow the
   file with zeros by DIGBY__LOG_GROW pages: a durable commit's sync then
   finds its blocks allocated and the file size unchanged (a sync that
   must also record a new size or new blocks costs a file system journal
   commit).  Past the end of the file no page is in use. */
#define DIGBY__LOG_GROW 64u
static int digby__log_room_for(digby_db *db, uint64_t pgno)
{
    digby__log *l = &db->log;
    uint64_t size, end, at;
    size_t n;
    int rc;
    if ((pgno + 1) * db->page_size <= l->file_bytes) return DIGBY_OK;
    rc = db->vfs->size(db->file, &size);
    if (rc) return rc;
    l->file_bytes = size;
    if ((pgno + 1) * db->page_size <= size) return DIGBY_OK;
    end = (pgno + DIGBY__LOG_GROW) * db->page_size;
    memset(l->seal, 0, db->page_size);
    for (at = size; at < end; at += n) {
        n = (size_t)DIGBY__MIN(end - at, (uint64_t)db->page_size - at % db->page_size);
        rc = db->vfs->write(db->file, at, l->seal, n);
        if (rc) return rc;
    }
    l->file_bytes = end;
    return DIGBY_OK;
}

/* Seal the current page image (header filled in) and write it. */
static int digby__log_write_cur(digby_txn *txn)
{
    digby_db *db = txn->db;
    digby__log *l = &db->log;
    int rc;
    if ((rc = digby__log_room_for(db, l->cur_pgno)) != DIGBY_OK) return rc;
    if (!l->next_pgno) {
        uint64_t p;
        rc = digby__page_alloc(txn, &p);
        if (rc) return rc;
        digby__mutex_lock(&db->mu);
        l->next_pgno = p;
        digby__mutex_unlock(&db->mu);
    }
    if (!l->next2_pgno) {
        uint64_t p;
        rc = digby__page_alloc(txn, &p);
        if (rc) return rc;
        digby__mutex_lock(&db->mu);
        l->next2_pgno = p;
        digby__mutex_unlock(&db->mu);
    }
    memset(l->page + DIGBY__LOG_HDR + l->fill, 0, digby__log_room(db) - l->fill);
    l->page[0] = DIGBY__PAGE_LOG;
    l->page[DIGBY__LOG_FLAGS] = l->cur_flags;
    digby__put16(l->page + DIGBY__LOG_PREV_USED, (uint16_t)l->prev_fill);
    digby__put32(l->page + DIGBY__LOG_USED, l->fill);
    digby__page_set_pgno(l->page, l->cur_pgno);
    digby__page_set_txid(l->page, l->cur_lsn);
    digby__page_set_next(l->page, l->next_pgno);
    digby__put64(l->page + db->usable - DIGBY__LOG_META_TXID, l->cur_meta_txid);
    digby__put64(l->page + db->usable - DIGBY__LOG_NEXT2, l->next2_pgno);
    memcpy(l->seal, l->page, db->page_size);
    rc = digby__page_seal(db, l->seal, l->seal);
    if (rc == DIGBY_OK)
        rc = db->vfs->write(db->file, l->cur_pgno * db->page_size, l->seal, db->page_size);
    return rc;
}

/* Add pgno, the log page of sequence number lsn, to the live log pages
   unless it is there (under db->mu: digby_check copies the list).  Pages
   come in LSN order; the handle may have listed the page already when it
   read the log between its own transactions (digby__log_read). */
static int digby__log_push_page(digby_db *db, uint64_t pgno, uint64_t lsn)
{
    int rc = DIGBY_OK;
    digby__mutex_lock(&db->mu);
    if (lsn > db->log.tail.pushed) {
        rc = digby__u64s_push(&db->alloc, &db->log.pages, pgno);
        if (rc == DIGBY_OK) db->log.tail.pushed = lsn;
    }
    digby__mutex_unlock(&db->mu);
    return rc;
}


/* Move on to the current page's successor (written already). */
static int digby__log_advance(digby_db *db)
{
    digby__log *l = &db->log;
    int rc = digby__log_push_page(db, l->cur_pgno, l->cur_lsn);
    if (rc) return rc;
    digby__mutex_lock(&db->mu);
    l->prev_fill = l->fill;
    l->cur_pgno = l->next_pgno;
    l->cur_lsn++;
    l->next_pgno = l->next2_pgno;
    l->next2_pgno = 0;
    l->fill = 0;
    l->cur_flags = 0;
    l->cur_meta_txid = db->meta.txid;
    digby__mutex_unlock(&db->mu);
    return DIGBY_OK;
}

/* Append the record in l->rec as fragments, writing every page it
   touches (no sync: digby__log_durable makes it durable, with the commits
   of other threads).  durable: the commit will be synced, so its last page
   is never written again (the next commit starts a new page): a rewrite
   torn by a power cut must not take a commit that was acknowledged, or
   whose sync may be under way in another thread.  Any failure poisons the
   handle (the caller's job): what reached the file is unknown. */
static int digby__log_append(digby_txn *txn, int durable)
{
    digby_db *db = txn->db;
    digby__log *l = &db->log;
    uint32_t room = digby__log_room(db);
    size_t pos = 0, n = l->rec_n;
    int rc = DIGBY_OK, first = 1;
    if (l->fresh_next && l->fill) {
        rc = digby__log_advance(db);
        if (rc) return rc;
    }
    l->fresh_next = 0;
    if (l->fill == 0) {
        /* the page's first write: sealed when every page before it is
           durable, a sync of this handle having covered every record
           appended so far and every commit to the tree (a handle that
           never syncs seals nothing; nor does one before its own first
           sync, a log append's or a commit's, which alone covers what an
           earlier process left unsynced) */
        digby__mutex_lock(&db->mu);
        l->cur_flags = !(db->flags & DIGBY_OPEN_NO_SYNC) && l->synced >= l->appended &&
                               (l->appended > l->open_txid || db->meta.txid > l->open_txid)
                           ? DIGBY__LOG_SEALED
                           : 0;
        l->cur_meta_txid = db->meta.txid;
        digby__mutex_unlock(&db->mu);
    }
    while (pos < n) {
        size_t take;
        unsigned kind;
        uint8_t *f;
        if (room - l->fill < DIGBY__FRAG_HDR + 1) {
            /* no room for a fragment: the page is done */
            if ((rc = digby__log_write_cur(txn)) != DIGBY_OK) return rc;
            if ((rc = digby__log_advance(db)) != DIGBY_OK) return rc;
        }
        take = DIGBY__MIN(n - pos, (size_t)(room - l->fill - DIGBY__FRAG_HDR));
        if (first) kind = take == n - pos ? DIGBY__FRAG_FULL : DIGBY__FRAG_FIRST;
        else kind = take == n - pos ? DIGBY__FRAG_LAST : DIGBY__FRAG_MIDDLE;
        f = l->page + DIGBY__LOG_HDR + l->fill;
        f[0] = (uint8_t)kind;
        digby__put32(f + 1, (uint32_t)take);
        memcpy(f + DIGBY__FRAG_HDR, l->rec + pos, take);
        l->fill += (uint32_t)(DIGBY__FRAG_HDR + take);
        pos += take;
        first = 0;
    }
    rc = digby__log_write_cur(txn);
    if (rc == DIGBY_OK && durable) l->fresh_next = 1;
    if (rc == DIGBY_OK) l->bytes += n;
    return rc;
}

/* ---- Reading ----------------------------------------------------------- */

/* Apply one whole record (FORMAT.md 11.3) to memtable m: every operation
   with version txid, as a node of the bulk load ld (replay at open), or
   (ld NULL: another handle's commit read while readers may use m) linked
   into m's list as the writer links its own, in a batch bt linked once
   the read ends (45_memtable.c).  *txid gets
   the record's.  DIGBY_CORRUPT for a record that does not decode (its
   pages verified, so this is damage or a bug, never a torn write). */
static int digby__log_apply(digby_db *db, digby__mem *m, digby__mload *ld, digby__mbatch *bt,
                            const uint8_t *r, size_t n, uint64_t *txid)
{
    const uint8_t *p, *end;
    uint32_t slot = 0;
    int rc;
    if (n < 12 || digby__get32(r + n - 4) != (uint32_t)XXH32(r, n - 4, DIGBY__XXH_SEED))
        return DIGBY_CORRUPT;
    *txid = digby__get64(r);
    p = r + 8;
    end = r + n - 4;
    while (p < end) {
        unsigned op = *p++;
        uint64_t kl, vl = 0;
        const uint8_t *k, *v = NULL;
        size_t used = digby__varint_get(p, end, &kl);
        if (!used || kl > (uint64_t)(end - p - used)) return DIGBY_CORRUPT;
        p += used;
        k = p;
        p += kl;
        if (op == DIGBY__LOG_OP_TABLE) {
            int s;
            if (kl > DIGBY_MAX_TABLE_NAME) return DIGBY_CORRUPT;
            rc = digby__mem_slot_add(m, (const char *)k, (size_t)kl, &s);
            if (rc) return rc;
            slot = (uint32_t)s;
            continue;
        }
        if (kl > db->max_key) return DIGBY_CORRUPT;
        if (op == DIGBY__LOG_OP_PUT) {
            used = digby__varint_get(p, end, &vl);
            if (!used || vl > (uint64_t)(end - p - used)) return DIGBY_CORRUPT;
            p += used;
            v = p;
            p += vl;
        } else if (op != DIGBY__LOG_OP_DEL) {
            return DIGBY_CORRUPT;
        }
        if (ld)
            rc = digby__mem_load_add(m, ld, slot, k, (size_t)kl, *txid, v, (size_t)vl,
                                     op == DIGBY__LOG_OP_DEL);
        else
            rc = digby__mem_batch_add(m, bt, slot, k, (size_t)kl, *txid, v, (size_t)vl,
                                      op == DIGBY__LOG_OP_DEL);
        if (rc) return rc;
        m->committed++;
    }
    return DIGBY_OK;
}

/* Read log page pgno into buf and check it is the page the chain expects:
   type, page number, LSN, a payload that fits.  1: it is; 0: the chain
   ends before it (short, stale, torn, or some other page); <0: an error
   that ends the open (I/O, memory). */
static int digby__log_page_ok(digby_db *db, uint64_t pgno, uint64_t lsn, uint8_t *buf)
{
    size_t got = 0;
    int rc;
    if (pgno < 2 || pgno >= UINT64_MAX / db->page_size) return 0;
    rc = db->vfs->read(db->file, pgno * db->page_size, buf, db->page_size, &got);
    if (rc) return rc;
    if (got != db->page_size) return 0;
    if (buf[0] != DIGBY__PAGE_LOG) return 0;
    rc = digby__page_verify(db, buf, pgno);
    if (rc == DIGBY_NOMEM) return rc;
    if (rc) return 0;
    /* (files written before the page after next was recorded filled the
       page up to the trailer) */
    if (digby__page_txid(buf) != lsn ||
        digby__get32(buf + DIGBY__LOG_USED) > db->usable - DIGBY__LOG_HDR)
        return 0;
    return 1;
}

/* The meta page txid log page buf (verified) records, 0 if none. */
static uint64_t digby__log_meta_txid(const digby_db *db, const uint8_t *buf)
{
    if (digby__get32(buf + DIGBY__LOG_USED) > digby__log_room(db)) return 0;
    return digby__get64(buf + db->usable - DIGBY__LOG_META_TXID);
}

/* Whether log page buf (verified) is sealed and was first written after
   meta page txid `txid` was: then that commit was durable (FORMAT.md
   11.1). */
static int digby__log_sealed_after(const digby_db *db, const uint8_t *buf, uint64_t txid)
{
    return (buf[DIGBY__LOG_FLAGS] & DIGBY__LOG_SEALED) && digby__log_meta_txid(db, buf) >= txid;
}

/* The chain ends at page `bad` (lsn - 1), which does not verify: quietly
   (a torn or unwritten tail), unless the chain goes on after it to a
   sealed page: from the page after `bad`, which the last page that
   verified names (next2; the meta page for the head; 0: none), while
   pages verify with the LSNs that follow.  A sealed page was first written
   when every page before it was durable: `bad` was durable and is
   damaged, and the commits after it are not a tail a crash may cut
   (DIGBY_CORRUPT).  buf: a page buffer. */
static int digby__log_end_check(digby_db *db, uint64_t bad, uint64_t next2, uint64_t lsn,
                                uint8_t *buf)
{
    uint64_t pgno = next2, n;
    for (n = 0; pgno && pgno != bad && n < db->meta.page_count; n++, lsn++) {
        int ok = digby__log_page_ok(db, pgno, lsn, buf);
        if (ok <= 0) return ok;
        if (buf[DIGBY__LOG_FLAGS] & DIGBY__LOG_SEALED) return DIGBY__CORRUPT(db, bad);
        pgno = digby__page_next(buf);
    }
    return DIGBY_OK;
}

/* A record being put together from its fragments (FORMAT.md 11.2). */
typedef struct digby__lasm {
    uint8_t *buf;
    size_t n, cap;
    int in_rec;             /* a FIRST fragment came, its LAST not yet */
} digby__lasm;

/* The next fragment of log page pgno (verified; its payload from base,
   the fragments from *p to end) into a.  Returns 1 when it completed a
   record (a->buf, a->n bytes), 0 when the page holds no more fragments,
   -1 when the log ends at this page with *rc DIGBY_OK (the page's first
   fragment continues a record its predecessor does not start: see below)
   or with *rc an error: DIGBY_CORRUPT (a fragment that does not decode;
   an orphan anywhere but first, or in a sealed page), DIGBY_NOMEM. */
static int digby__log_frag(digby_db *db, uint64_t pgno, const uint8_t *base, const uint8_t **p,
                           const uint8_t *end, digby__lasm *a, int sealed, int *rc)
{
    const uint8_t *q = *p;
    *rc = DIGBY_OK;
    for (;;) {
        const uint8_t *f = q;
        unsigned kind;
        uint32_t len;
        if (end - q < (ptrdiff_t)DIGBY__FRAG_HDR) {
            *p = q;
            return 0;
        }
        kind = q[0];
        len = digby__get32(q + 1);
        q += DIGBY__FRAG_HDR;
        if (kind < DIGBY__FRAG_FULL || kind > DIGBY__FRAG_LAST || len > (size_t)(end - q)) {
            *rc = DIGBY__CORRUPT(db, pgno);
            return -1;
        }
        /* a record start while one is open: the open one was cut short by
           a crash and never acknowledged (the writer went on in a new page
           after recovery) */
        if (kind == DIGBY__FRAG_FULL || kind == DIGBY__FRAG_FIRST) {
            a->n = 0;
            a->in_rec = 1;
        } else if (!a->in_rec) {
            /* the rest of a record whose start the previous page does not
               hold: that page is an older version (a rewrite of it never
               reached the disk, and this page did: writes reordered before
               a crash), so the record was never synced.  The log ends here,
               as at a page that does not verify; skipping it would apply
               later commits without this one.  (Only a page's first
               fragment can be one: a page the writer made has none after
               it; and a sealed page followed a durable predecessor.) */
            if (f != base || sealed) *rc = DIGBY__CORRUPT(db, pgno);
            return -1;
        }
        *rc = digby__reserve(&db->alloc, &a->buf, &a->cap, a->n + len + 1);
        if (*rc) return -1;
        memcpy(a->buf + a->n, q, len);
        a->n += len;
        q += len;
        if (kind == DIGBY__FRAG_FULL || kind == DIGBY__FRAG_LAST) {
            a->in_rec = 0;
            *p = q;
            return 1;
        }
    }
}

/* Read the chain from where *t says the next record starts to its end,
   feeding every whole record to memtable m (ld: a bulk load, as at open;
   NULL: linked in, m live) and adding each page that verifies, once, to
   pages.  On return *t says where the first record not read whole starts
   (the tail: a page that may still grow, or whose successor is not
   written yet, is read again from there next time), the newest txid read,
   and where the chain ended (the first page that did not verify, or an
   orphan: see below).  *n_records counts the records applied.  Records
   must come in increasing txid order.  A page that does not verify ends
   the chain quietly: it may be torn, stale (a reused page of an earlier
   cycle, whose LSN is lower), not written yet, or being rewritten by
   another process at this moment; the caller knows which commits it
   expects.  Returns DIGBY_OK, DIGBY_CORRUPT (a verified page whose
   fragments or record do not decode), DIGBY_NOMEM, DIGBY_IOERR. */
static int digby__log_read(digby_db *db, digby__mem *m, digby__mload *ld,
                           digby__ltail *t, digby__u64s *pages, uint64_t *n_records)
{
    uint8_t *buf = digby__pbuf_get(db);
    uint64_t pgno = t->pgno, lsn = t->lsn;
    uint32_t off = t->off;
    uint64_t vnext2 = t->end_next2;
    digby__lasm as = {NULL, 0, 0, 0};
    digby__mbatch bt = {NULL, 0, 0};
    int rc = DIGBY_OK, orphan = 0;
    *n_records = 0;
    if (!buf) return DIGBY_NOMEM;
    for (;;) {
        const uint8_t *p, *end, *base = buf + DIGBY__LOG_HDR;
        int ok = digby__log_page_ok(db, pgno, lsn, buf);
        if (ok < 0) { rc = ok; break; }
        if (ok == 0) break;
        end = base + digby__get32(buf + DIGBY__LOG_USED);
        /* a page read before holds at least what it held then (a rewrite
           only adds fragments); less is some other version of it: the
           chain ends here for now */
        if (off > (uint32_t)(end - base)) break;
        /* (the page after next, which its writer took with it) */
        vnext2 = (uint32_t)(end - base) <= digby__log_room(db)
                     ? digby__get64(buf + db->usable - DIGBY__LOG_NEXT2)
                     : 0;
        p = base + off;
        for (;;) {
            uint64_t txid = 0;
            int got = digby__log_frag(db, pgno, base, &p, end, &as, 0, &rc);
            if (got <= 0) {
                orphan = got < 0 && rc == DIGBY_OK;
                break;
            }
            rc = digby__log_apply(db, m, ld, &bt, as.buf, as.n, &txid);
            if (rc == DIGBY_CORRUPT || (rc == DIGBY_OK && txid <= t->txid))
                rc = DIGBY__CORRUPT(db, pgno);
            if (rc) break;
            t->txid = txid;
            t->pgno = pgno;
            t->lsn = lsn;
            t->off = (uint32_t)(p - base);
            (*n_records)++;
            db->log.bytes += as.n;
        }
        if (rc || orphan) break;
        if (lsn > t->pushed) {
            digby__mutex_lock(&db->mu); /* (digby_check copies db->log.pages) */
            rc = digby__u64s_push(&db->alloc, pages, pgno);
            digby__mutex_unlock(&db->mu);
            if (rc) break;
            t->pushed = lsn;
        }
        if (!as.in_rec) {
            /* every record that began so far is read: the next one starts
               in this page's free space or at the successor's start */
            t->pgno = pgno;
            t->lsn = lsn;
            t->off = (uint32_t)(end - base);
        }
        pgno = digby__page_next(buf);
        lsn++;
        off = 0;
    }
    if (lsn > t->pushed) {
        /* (a page listed before that fails now is being rewritten: where
           the chain ends is as it was) */
        t->end_pgno = pgno;
        t->end_lsn = lsn;
        t->end_next2 = orphan ? 0 : vnext2;
    }
    /* every entry made goes in, whole records and (after an error) a part
       of one, which no snapshot sees: the next read applies it again */
    digby__mem_batch_link(m, &bt);
    digby__free(&db->alloc, bt.v);
    digby__free(&db->alloc, as.buf);
    digby__pbuf_put(db, buf);
    return rc;
}

/* The tail starts at the head of the log meta page m names.  (Its
   records come after m's txid; the txid order is checked within the log
   only: a reader that followed the old log's last page on into the new
   one, its successor, has read some of them already.) */
static void digby__log_tail_head(digby__ltail *t, const digby__meta *m)
{
    memset(t, 0, sizeof(*t));
    t->pgno = t->end_pgno = m->log_head;
    t->lsn = t->end_lsn = m->log_lsn;
    t->end_next2 = m->log_next;
    t->pushed = m->log_lsn ? m->log_lsn - 1 : 0;
}

/* The tail follows the writer's own appends: the next record starts where
   the next append goes (db->wmu held).  Pages before cur are in pages. */
static void digby__log_tail_own(digby_db *db)
{
    digby__log *l = &db->log;
    l->tail.pgno = l->tail.end_pgno = l->cur_pgno;
    l->tail.lsn = l->tail.end_lsn = l->cur_lsn;
    l->tail.end_next2 = l->next_pgno;
    l->tail.off = l->fill;
    if (l->cur_lsn && l->cur_lsn - 1 > l->tail.pushed) l->tail.pushed = l->cur_lsn - 1;
    if (l->appended > l->tail.txid) l->tail.txid = l->appended;
}

/* Walk the chain from the meta page's log head; feed every whole record to
   the memtable; leave db->log ready to append after the last page that
   verified.  The chain's pages are counted as used: out of db->free and
   the pending list, and inside page_count. */
static int digby__log_replay(digby_db *db, digby__mem *m, int readonly, uint64_t *last_txid)
{
    digby__log *l = &db->log;
    digby__ltail *t = &l->tail;
    uint8_t *buf = digby__pbuf_get(db);
    uint64_t pgno = db->meta.log_head, lsn = db->meta.log_lsn, prev_txid = 0;
    uint64_t next2 = db->meta.log_next, end_next = 0, end_next2 = 0;
    digby__lasm as = {NULL, 0, 0, 0};
    digby__mload ld = {NULL, 0, 0};
    uint32_t prev_used = 0;
    int rc = DIGBY_OK, orphan = 0, sealed;
    if (!buf) return DIGBY_NOMEM;
    *last_txid = db->meta.txid;
    /* where the first record not read whole starts (a read-only handle
       reads on from there what others append: 48_lockfile.c) */
    digby__log_tail_head(t, &db->meta);
    /* open rejected the newest commit, whose pages failed (FORMAT.md 3):
       a page of its log sealed after it says it was durable, and that its
       pages are damaged (or that the log, going on after it, reused pages
       of the commit before it), not cut by a crash */
    if (db->discarded_txid && db->discarded_log_head) {
        int ok = digby__log_page_ok(db, db->discarded_log_head, db->discarded_log_lsn, buf);
        if (ok < 0) rc = ok;
        else if (ok && digby__log_sealed_after(db, buf, db->discarded_txid))
            rc = DIGBY__CORRUPT(db, db->discarded_log_head);
    }
    for (; rc == DIGBY_OK;) {
        const uint8_t *p, *end;
        uint32_t used, pu;
        int ok = digby__log_page_ok(db, pgno, lsn, buf);
        if (ok < 0) { rc = ok; break; }
        if (ok == 0) {
            rc = digby__log_end_check(db, pgno, next2, lsn + 1, buf);
            /* the page after it, taken with it (reserved below) */
            end_next = next2 != pgno ? next2 : 0;
            break;
        }
        sealed = (buf[DIGBY__LOG_FLAGS] & DIGBY__LOG_SEALED) != 0;
        used = digby__get32(buf + DIGBY__LOG_USED);
        pu = digby__get16(buf + DIGBY__LOG_PREV_USED);
        /* if the log ends at this page (it verified): the pages it names,
           taken when it was first written */
        end_next = digby__page_next(buf);
        end_next2 = used <= digby__log_room(db)
                        ? digby__get64(buf + db->usable - DIGBY__LOG_NEXT2)
                        : 0;
        if (digby__log_meta_txid(db, buf) > db->meta.txid) {
            /* the page was first written after a newer meta page than the
               one open chose (its pages failed verification, or it failed
               itself): sealed, that one was durable and is damaged; else it
               was lost unsynced (DIGBY_OPEN_NO_SYNC), and the commits from
               here on, which came after it, go with it */
            if (sealed) rc = DIGBY__CORRUPT(db, pgno);
            break;
        }
        if (prev_used && pu && pu != prev_used) {
            /* the predecessor read is not the version this page followed:
               an older one (its last rewrite never reached the disk, and
               this page did: writes reordered before a crash).  Its
               records are a prefix of the log; this page's follow records
               that are lost, so the log ends here.  Sealed, this page was
               written when the predecessor was durable: damage. */
            if (sealed) rc = DIGBY__CORRUPT(db, pgno);
            break;
        }
        p = buf + DIGBY__LOG_HDR;
        end = p + used;
        for (;;) {
            uint64_t txid = 0;
            int got = digby__log_frag(db, pgno, buf + DIGBY__LOG_HDR, &p, end, &as, sealed, &rc);
            if (got <= 0) {
                orphan = got < 0 && rc == DIGBY_OK;
                break;
            }
            rc = digby__log_apply(db, m, &ld, NULL, as.buf, as.n, &txid);
            /* a commit newer than the one open discarded for lost pages
               (FORMAT.md 3): that one was durable before it (its sync
               came first), so its pages are damaged, and replaying the
               log over the commit before it would apply later commits
               without it */
            if (rc == DIGBY_CORRUPT || (rc == DIGBY_OK && txid <= prev_txid) ||
                (rc == DIGBY_OK && db->discarded_txid && txid > db->discarded_txid))
                rc = DIGBY__CORRUPT(db, pgno);
            if (rc) break;
            prev_txid = txid;
            t->txid = txid;
            t->pgno = pgno;
            t->lsn = lsn;
            t->off = (uint32_t)(p - (buf + DIGBY__LOG_HDR));
            l->replay_commits++;
            l->replay_bytes += as.n;
            l->bytes += as.n;
        }
        if (rc || orphan) break;
        rc = digby__u64s_push(&db->alloc, &l->pages, pgno);
        if (rc) break;
        t->pushed = lsn;
        if (!as.in_rec) {
            t->pgno = pgno;
            t->lsn = lsn;
            t->off = used;
        }
        prev_used = used;
        next2 = end_next2;
        end_next = end_next2 = 0;
        pgno = digby__page_next(buf);
        lsn++;
    }
    digby__free(&db->alloc, as.buf);
    digby__pbuf_put(db, buf);
    /* every whole record read: sort and link its entries (45_memtable.c) */
    if (rc == DIGBY_OK) rc = digby__mem_load_finish(m, &ld);
    digby__free(&db->alloc, ld.v);
    if (rc) return rc;
    /* a part of a checkpoint (66_log_mode.c) may have committed past the
       records: it merged them, and they are replayed over it */
    *last_txid = DIGBY__MAX(prev_txid, db->meta.txid);
    /* appends go on in the first page that did not verify: it was
       allocated (as the head, or as a verified page's successor) */
    l->cur_pgno = pgno;
    l->cur_lsn = lsn;
    /* the pages the log took with the last page it wrote (or the
       checkpoint with the head, naming them in the meta page): a commit
       after that may have written a freelist without them, so they are
       kept (digby__log_reserve_pages), and writing goes on into them.
       Past the commit's end they are not in use: taken again if needed */
    l->next_pgno = end_next != pgno && end_next < db->meta.page_count ? end_next : 0;
    l->next2_pgno = end_next2 != pgno && end_next2 != l->next_pgno &&
                            end_next2 < db->meta.page_count && l->next_pgno
                        ? end_next2
                        : 0;
    l->fill = 0;
    l->prev_fill = prev_used;
    l->cur_flags = 0;
    l->fresh_next = 0;
    t->end_pgno = pgno;
    t->end_lsn = lsn;
    t->end_next2 = l->next_pgno;
    /* a writer's tail follows its appends */
    if (!readonly) digby__log_tail_own(db);
    return DIGBY_OK;
}

/* Take pages of the live log out of the free and pending lists loaded
   from the checkpoint (the log took them after it), and count them in
   page_count.  *holes: pages past the checkpoint's end that the log does
   not hold were added to the free list (the meta page must then list
   them: a checkpoint). */
static int digby__log_reserve_pages(digby_db *db, int *holes)
{
    digby__log *l = &db->log;
    size_t i, j, n = l->pages.n + 1;
    uint64_t *v = (uint64_t *)digby__malloc(&db->alloc, (n + 2) * sizeof(uint64_t));
    if (!v) return DIGBY_NOMEM;
    if (l->pages.n) memcpy(v, l->pages.v, l->pages.n * sizeof(uint64_t));
    v[n - 1] = l->cur_pgno;
    if (l->next_pgno) v[n++] = l->next_pgno;
    if (l->next2_pgno) v[n++] = l->next2_pgno;
    digby__sort_u64_with(v, n, 0, NULL);
    if (v[n - 1] + 1 > db->meta.page_count) {
        /* pages past the checkpoint's end that the log does not hold are
           free (a newer commit's, lost with its meta page: the log ends
           before the pages it wrote, 11.1) */
        uint64_t p, size = 0;
        int rc = db->vfs->size(db->file, &size);
        /* (within the file: a page number read from a damaged or crafted
           file may lie far past it) */
        for (p = db->meta.page_count; p < v[n - 1] && p < size / db->page_size && rc == DIGBY_OK;
             p++)
            if (!digby__u64_has(v, n, p)) {
                rc = digby__u64s_push(&db->alloc, &db->free, p);
                *holes = 1;
            }
        if (rc) { digby__free(&db->alloc, v); return rc; }
        digby__sort_u64(db->free.v, db->free.n, 1);
        db->meta.page_count = v[n - 1] + 1;
    }
    for (i = j = 0; i < db->free.n; i++)
        if (!digby__u64_has(v, n, db->free.v[i])) db->free.v[j++] = db->free.v[i];
    db->free.n = j;
    for (i = j = 0; i < db->npending; i++)
        if (!digby__u64_has(v, n, db->pending[i].pgno)) db->pending[j++] = db->pending[i];
    db->npending = j;
    /* (a writer taking over from another handle's: the chains the
       newest commit replaced, 46_freelist.c, which that writer's log may
       have reused since) */
    for (i = j = 0; i < db->ncpending; i++)
        if (!digby__u64_has(v, n, db->cpending[i].pgno)) db->cpending[j++] = db->cpending[i];
    db->ncpending = j;
    digby__free(&db->alloc, v);
    return DIGBY_OK;
}

#endif /* DIGBY__HAVE_MEMTABLE */
