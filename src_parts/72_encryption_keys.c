/* Encryption keys: crypto state, passphrase changes, data key rotation.

   Keys of an encrypted database (FORMAT.md section 10): the handle's crypto
   state, changing the user's key (digby_change_passphrase) and rotating the
   data key (digby_rekey).

   A handle holds the data key of its committed state (crypt->cur), which
   every read uses.  A transaction that installs a new key or key header
   puts it in crypt->next: its page writes and its meta page are sealed
   under `next`, and its commit makes `next` the current key (its abort
   drops it: digby__crypt_txn_end).  Both operations end with a second
   commit, so that both meta pages carry the new header: from then on the
   old user key (or the old data key) opens nothing. */

static int digby__crypt_new(digby_db *db, const digby_options *o)
{
    digby__crypt *c = (digby__crypt *)digby__malloc(&db->alloc, sizeof(*c));
    if (!c) return DIGBY_NOMEM;
    memset(c, 0, sizeof(*c));
    digby__mutex_init(&c->mu);
    c->ukey = o->key;
    c->ukey_bytes = o->key_bytes;
    c->upass = o->passphrase;
    c->rotate_at = o->rekey_after_writes ? o->rekey_after_writes : DIGBY__KEY_WRITES_SOFT;
    if (c->rotate_at > DIGBY__KEY_WRITES_MAX / 2) c->rotate_at = DIGBY__KEY_WRITES_MAX / 2;
    c->kdf_iterations = o->kdf_iterations ? o->kdf_iterations : DIGBY__KDF_DEFAULT_ITER;
    c->writable = !(o->flags & DIGBY_OPEN_READONLY);
    c->entropy = o->entropy;
    c->entropy_ctx = o->entropy_ctx;
    db->crypt = c;
    return DIGBY_OK;
}

/* Give handle dst (no crypt yet) src's key state: the data key of src's
   committed state with its key-encryption key and wrapped header, the
   UUID and the write count, so that dst seals pages src can open and
   writes meta pages src's user key opens (digby_backup's copy).  Nothing
   of the user key is needed: the header wraps the same data key. */
static int digby__crypt_clone(digby_db *dst, digby_db *src)
{
    digby__crypt *s = src->crypt, *c;
    digby_options o;
    int rc;
    memset(&o, 0, sizeof(o));
    o.rekey_after_writes = s->rotate_at;
    o.kdf_iterations = s->kdf_iterations;
    o.entropy = s->entropy;
    o.entropy_ctx = s->entropy_ctx;
    rc = digby__crypt_new(dst, &o);
    if (rc) return rc;
    c = dst->crypt;
    digby__mutex_lock(&s->mu);
    memcpy(c->cur.key, s->cur.key, sizeof(c->cur.key));
    memcpy(c->cur.kek, s->cur.kek, sizeof(c->cur.kek));
    memcpy(c->cur.hdr, s->cur.hdr, sizeof(c->cur.hdr));
    c->cur.cipher = s->cur.cipher;
    c->cur.writes = s->cur.writes;
    digby__mutex_unlock(&s->mu);
    memcpy(c->uuid, s->uuid, sizeof(c->uuid));
    return DIGBY_OK;
}

/* Wrap k->key into k->hdr (whose other fields are set) under k->kek, with
   a fresh nonce; first derive kek and the key check value from the user's
   key in db->crypt when `derive`. */
static int digby__dkey_seal_hdr(digby_db *db, digby__dkey *k, int derive)
{
    digby__crypt *c = db->crypt;
    uint8_t kcv[16];
    int rc = DIGBY_OK;
    if (derive) {
        rc = digby__user_keys(c, k->hdr, kcv, k->kek);
        if (rc == DIGBY_OK) memcpy(k->hdr + DIGBY__KH(DIGBY__M_KCV), kcv, 16);
        digby__wipe(kcv, sizeof(kcv));
    }
    digby__put32(k->hdr + DIGBY__KH(DIGBY__M_CIPHER), k->cipher);
    if (rc == DIGBY_OK)
        rc = digby__random(db, k->hdr + DIGBY__KH(DIGBY__M_WRAP_NONCE), DIGBY__NONCE);
    if (rc == DIGBY_OK) rc = digby__key_wrap(db, k->kek, k->hdr, k->key, 0);
    return rc;
}

/* Fill the salt and KDF fields of k->hdr for the user key in db->crypt. */
static int digby__dkey_kdf(digby_db *db, digby__dkey *k)
{
    digby__crypt *c = db->crypt;
    uint32_t kdf = c->upass ? DIGBY__KDF_PBKDF2 : DIGBY__KDF_RAW;
    digby__put32(k->hdr + DIGBY__KH(DIGBY__M_KDF), kdf);
    digby__put32(k->hdr + DIGBY__KH(DIGBY__M_KDF_ITER), c->upass ? c->kdf_iterations : 0);
    c->have_kbase = 0;
    return digby__random(db, k->hdr + DIGBY__KH(DIGBY__M_SALT), 16);
}

/* The keys of a new file: random UUID, salt and data key. */
static int digby__crypt_create(digby_db *db, uint32_t cipher)
{
    digby__crypt *c = db->crypt;
    digby__dkey *k = &c->cur;
    int rc;
    digby__dkey_clear(&db->alloc, k);
    if (!cipher)
        cipher = c->ukey && c->ukey_bytes == 16 ? DIGBY_CIPHER_AES128_GCM
                                                : DIGBY_CIPHER_AES256_GCM;
    k->cipher = cipher;
    rc = digby__random(db, c->uuid, 16);
    if (rc == DIGBY_OK) rc = digby__random(db, k->key, 32);
    if (rc == DIGBY_OK) rc = digby__dkey_kdf(db, k);
    memcpy(k->hdr + DIGBY__KH(DIGBY__M_KUUID), c->uuid, 16);
    if (rc == DIGBY_OK) rc = digby__dkey_seal_hdr(db, k, 1);
    return rc;
}

/* digby_open is done with the user's key: forget it. */
static void digby__crypt_opened(digby_db *db)
{
    digby__crypt *c = db->crypt;
    c->ukey = NULL;
    c->ukey_bytes = 0;
    c->upass = NULL;
    digby__wipe(c->kbase, sizeof(c->kbase));
    c->have_kbase = 0;
    digby__dkey_clear(&db->alloc, &c->fb);
    c->have_fb = 0;
}

static void digby__crypt_free(digby_db *db)
{
    digby__crypt *c = db->crypt;
    if (!c) return;
    digby__dkey_clear(&db->alloc, &c->cur);
    digby__dkey_clear(&db->alloc, &c->next);
    digby__dkey_clear(&db->alloc, &c->fb);
    digby__rng_free(&db->alloc, c->rng);
    digby__mutex_destroy(&c->mu);
    digby__wipe(c, sizeof(*c));
    digby__free(&db->alloc, c);
    db->crypt = NULL;
}

/* A read-write transaction ends (its commit durable, or aborted): adopt or
   drop crypt->next.  The writer holds db->wmu. */
static void digby__crypt_txn_end(digby_db *db, int committed)
{
    digby__crypt *c = db->crypt;
    digby__dkey old;
    if (!c->have_next && !c->rekeying) return;
    digby__mutex_lock(&c->mu);
    if (committed && c->have_next) {
        old = c->cur;
        c->cur = c->next;
    } else {
        old = c->next;
    }
    memset(&c->next, 0, sizeof(c->next));
    c->have_next = 0;
    digby__mutex_unlock(&c->mu);
    digby__dkey_clear(&db->alloc, &old);
    digby__mutex_lock(&db->mu);
    c->rekeying = 0;
    digby__mutex_unlock(&db->mu);
}

static void digby__rekey_busy(digby__crypt *c, int on)
{
    digby__mutex_lock(&c->mu);
    c->in_rekey = on;
    digby__mutex_unlock(&c->mu);
}

/* After a commit: rotate a data key that has sealed enough pages.  If
   snapshots are live the rotation waits for a later commit. */
static void digby__crypt_after_commit(digby_db *db)
{
    digby__crypt *c = db->crypt;
    int due;
    if (!c->writable) return;
    digby__mutex_lock(&c->mu);
    due = c->cur.writes >= c->rotate_at && !c->in_rekey;
    digby__mutex_unlock(&c->mu);
    if (due) (void)digby_rekey(db, 0);
}

/* Another handle's commit (48_lockfile.c): open the encrypted meta page
   image `page` (db->page_size bytes, in place) of slot `slot` with the
   data key this handle holds, as open did with the user's key, which is
   forgotten by now.  Handles that share a file share its data key
   (digby_rekey refuses while others are attached).  A passphrase change by
   another handle put a new key header over the same data key: the page
   authenticates under the data key with that header in its associated
   data.  The clear key header stays at page + DIGBY__M_CIPHER for
   digby__crypt_take_hdr.  Returns DIGBY_OK (*m filled), DIGBY_CORRUPT (not
   a meta page of this file under this data key: damage, or a slot being
   rewritten), DIGBY_VERSION (authenticated, of a newer format),
   DIGBY_NOMEM.
   Technique: AES-GCM (NIST SP 800-38D) as in 30_page_seal.c. */
static int digby__crypt_meta_shared(digby_db *db, uint8_t *page, uint64_t slot, digby__meta *m)
{
    digby__crypt *c = db->crypt;
    uint32_t ps = db->page_size;
    int rc;
    memset(m, 0, sizeof(*m));
    if (memcmp(page + DIGBY__M_MAGIC, DIGBY__MAGIC, 8) != 0 || !digby__meta_is_encrypted(page) ||
        digby__get32(page + DIGBY__M_PAGESIZE) != ps || page[0] != DIGBY__PAGE_META ||
        digby__page_pgno(page) != slot)
        return DIGBY_CORRUPT;
    /* another data key or file: not a commit this handle can take in */
    digby__mutex_lock(&c->mu);
    rc = digby__get32(page + DIGBY__M_CIPHER) == c->cur.cipher &&
                 memcmp(page + DIGBY__M_CIPHER + DIGBY__KH(DIGBY__M_KUUID), c->uuid, 16) == 0
             ? DIGBY_OK : DIGBY_CORRUPT;
    digby__mutex_unlock(&c->mu);
    if (rc) return rc;
    rc = digby__unseal_with(db, &c->cur, c->uuid, page, ps);
    if (rc) return rc;
    if (digby__get32(page + DIGBY__M_VERSION) == 0) return DIGBY_CORRUPT;
    if (digby__get32(page + DIGBY__M_VERSION) > DIGBY__FORMAT_VERSION ||
        (digby__get32(page + DIGBY__M_INCOMPAT) & ~DIGBY__INCOMPAT_KNOWN))
        return DIGBY_VERSION;
    rc = digby__meta_fields(page, ps, slot, DIGBY__M_SHIFT, m);
    if (rc == DIGBY_OK && memcmp(m->uuid, c->uuid, 16) != 0) rc = DIGBY_CORRUPT;
    return rc;
}

/* This handle takes in another handle's commit, whose meta page
   digby__crypt_meta_shared opened: its key header `hdr`
   (DIGBY__M_KHDR_BYTES bytes) becomes the one this handle's commits carry,
   so that a passphrase change made there is never undone here (the KEK is
   the old user key's then: hdr_foreign, digby_rekey refuses); the count of
   pages sealed under the data key becomes the larger of the commit's
   key_writes and this handle's (FORMAT.md 10.5: rotation counts every
   handle's writes).  Only for the commit taken in: an older meta page's
   header may be the old passphrase's. */
static void digby__crypt_take_hdr(digby_db *db, const uint8_t *hdr, uint64_t key_writes)
{
    digby__crypt *c = db->crypt;
    digby__mutex_lock(&c->mu);
    if (memcmp(c->cur.hdr, hdr, DIGBY__M_KHDR_BYTES) != 0) {
        memcpy(c->cur.hdr, hdr, DIGBY__M_KHDR_BYTES);
        c->hdr_foreign = 1;
    }
    if (key_writes > c->cur.writes) c->cur.writes = key_writes;
    digby__mutex_unlock(&c->mu);
}

/* Commit a transaction that changes nothing but the meta page (and the
   freelist chain every commit rewrites), the first two-sync ordered. */
static int digby__commit_header(digby_db *db, digby_txn *txn)
{
    txn->mod++;
    db->synced_commit = 0;
    return digby_txn_commit(txn);
}

static int digby__commit_empty(digby_db *db)
{
    digby_txn *txn;
    int rc = digby_txn_begin(db, 0, &txn);
    if (rc) return rc;
    rc = digby__log_escalate(txn);
    if (rc) { digby_txn_abort(txn); return rc; }
    return digby__commit_header(db, txn);
}

DIGBY_API int digby_change_passphrase(digby_db *db, const char *passphrase,
                                      const uint8_t *key, size_t key_bytes)
{
    digby__crypt *c;
    digby_txn *txn;
    int rc;
    if (!db) return DIGBY_INVALID;
    if (!DIGBY__HAVE_CRYPTO) return DIGBY_NOFEATURE;
    c = db->crypt;
    if (!c || (passphrase && key) || (!passphrase && !key) ||
        (key && key_bytes != 16 && key_bytes != 32) || (passphrase && !passphrase[0]))
        return DIGBY_INVALID;
    rc = digby_txn_begin(db, 0, &txn);
    if (rc) return rc;
    /* a new key header is a meta page write: no log commit */
    rc = digby__log_escalate(txn);
    if (rc) { digby_txn_abort(txn); return rc; }
    /* the same data key under a new header: salt, KDF, check value, wrap */
    digby__mutex_lock(&c->mu);
    c->next = c->cur;
    c->next.spare = NULL;
    c->have_next = 1;
    digby__mutex_unlock(&c->mu);
    c->ukey = key;
    c->ukey_bytes = key ? key_bytes : 0;
    c->upass = passphrase;
    rc = digby__dkey_kdf(db, &c->next);
    if (rc == DIGBY_OK) rc = digby__dkey_seal_hdr(db, &c->next, 1);
    digby__crypt_opened(db);
    if (rc) { digby_txn_abort(txn); return rc; }
    rc = digby__commit_header(db, txn);
    if (rc == DIGBY_OK) {
        /* the header and its KEK are this handle's own again */
        digby__mutex_lock(&c->mu);
        c->hdr_foreign = 0;
        digby__mutex_unlock(&c->mu);
        rc = digby__commit_empty(db);
    }
    return rc;
}

/* ---- Rekey: every page of the snapshot copied under the new key ------------ */

/* Append bytes [0, bytes) of stream src to the stream being written. */
static int digby__strm_copy(digby_txn *txn, digby__strm *src, uint64_t bytes, digby__sw *w,
                            uint8_t *buf)
{
    size_t per = digby__ovf_per(txn->db);
    uint64_t off = 0;
    while (off < bytes) {
        size_t n = (size_t)DIGBY__MIN((uint64_t)per, bytes - off);
        int rc = digby__strm_read(txn, src, off, buf, n);
        if (rc == DIGBY_OK) rc = digby__sw_add(txn, w, buf, n);
        if (rc) return rc;
        off += n;
    }
    return DIGBY_OK;
}

/* Copy an overflow item (FORMAT.md section 6) to new pages, sealed under
   the key writes use, byte for byte: a compressed item stays compressed,
   and its pages keep the item's version as their txid (the leaf cell's
   version).  Then free the old pages.  *out is the copy's root. */
static int digby__item_copy(digby_txn *txn, uint64_t root, uint64_t version, uint64_t len,
                            int compressed, uint64_t *out)
{
    digby_db *db = txn->db;
    digby__strm s, t;
    digby__sw w;
    uint64_t sroot = 0;
    uint8_t *buf = digby__pbuf_get(db);
    int rc;
    memset(&s, 0, sizeof(s));
    memset(&t, 0, sizeof(t));
    memset(&w, 0, sizeof(w));
    if (!buf) return DIGBY_NOMEM;
    if (len == 0 || len > DIGBY_MAX_VALUE_BYTES) rc = DIGBY__CORRUPT(db, root);
    else if (compressed) rc = digby__item_streams(txn, &t, &s, root, version, len);
    else rc = digby__strm_init(db, &s, root, version, len);
    if (rc == DIGBY_CORRUPT) rc = DIGBY__CORRUPT(db, root);
    /* the writer stamps the put version on each page: the item's here */
    txn->put_version = version;
    if (rc == DIGBY_OK) rc = digby__strm_copy(txn, &s, s.bytes, &w, buf);
    if (rc == DIGBY_OK) rc = digby__sw_finish(txn, &w, &sroot);
    if (rc == DIGBY_OK && compressed) {
        /* the chunk table, then the new root of the chunks */
        uint64_t nc = (len - 1) / DIGBY__CHUNK + 1;
        uint8_t e[8];
        digby__sw_release(db, &w);
        digby__put64(e, sroot);
        rc = digby__strm_copy(txn, &t, 4 * nc, &w, buf);
        if (rc == DIGBY_OK) rc = digby__sw_add(txn, &w, e, 8);
        if (rc == DIGBY_OK) rc = digby__sw_finish(txn, &w, &sroot);
    }
    txn->put_version = 0;
    *out = sroot;
    digby__sw_release(db, &w);
    digby__strm_drop(db, &s);
    digby__strm_drop(db, &t);
    digby__pbuf_put(db, buf);
    if (rc == DIGBY_OK) rc = digby__item_free(txn, root, version, len, compressed);
    return rc;
}

/* Copy every page of tree t that this transaction did not write (tree
   pages and overflow items) to a new page, top down, relinking each
   parent. */
static int digby__rekey_tree(digby_txn *txn, digby__tree *t)
{
    digby_db *db = txn->db;
    struct { uint64_t pgno; unsigned next; } st[DIGBY__MAX_DEPTH];
    uint8_t *p;
    uint64_t np;
    int sp = 0, rc;
    if (!t->root) return DIGBY_OK;
    if (t->depth == 0 || t->depth > DIGBY__MAX_DEPTH) return DIGBY__CORRUPT(db, t->root);
    rc = digby__page_touch(txn, t->root, t->root_txid, &p, &np);
    if (rc) return rc;
    t->root = np;
    t->root_txid = txn->txid;
    st[0].pgno = np;
    st[0].next = 0;
    while (sp >= 0) {
        unsigned n, i;
        digby__cell c;
        p = digby__dirty_get(txn, st[sp].pgno);
        if (!p) return DIGBY__CORRUPT(db, st[sp].pgno);
        n = digby__node_n(p);
        if (p[0] == DIGBY__PAGE_BRANCH) {
            uint8_t *cp;
            if (sp + 1 >= (int)t->depth) return DIGBY__CORRUPT(db, st[sp].pgno);
            if (st[sp].next == n) { sp--; continue; }
            i = st[sp].next++;
            digby__node_cell(p, i, &c);
            rc = digby__page_touch(txn, c.child, c.child_txid, &cp, &np);
            if (rc) return rc;
            digby__branch_set_child(p, i, np, txn->txid);
            sp++;
            st[sp].pgno = np;
            st[sp].next = 0;
            continue;
        }
        if (p[0] != DIGBY__PAGE_LEAF || sp + 1 != (int)t->depth)
            return DIGBY__CORRUPT(db, st[sp].pgno);
        for (i = 0; i < n; i++) {
            digby__cell_item it[2];
            unsigned k, m;
            digby__node_cell(p, i, &c);
            if (c.version == txn->txid) continue; /* written here: new key */
            m = digby__cell_items(p, i, &c, it);
            for (k = 0; k < m; k++) {
                uint64_t root;
                rc = digby__item_copy(txn, it[k].root, c.version, it[k].len,
                                      it[k].compressed, &root);
                if (rc) return rc;
                digby__put64(p + it[k].root_at, root);
            }
        }
        sp--;
    }
    return DIGBY_OK;
}

/* Collect table names (for digby__rekey_all). */
typedef struct digby__names {
    const digby_allocator *a;
    uint8_t *buf; size_t n, cap;
} digby__names;

static int digby__names_add(void *ctx, const char *name, size_t name_bytes,
                            uint64_t entries)
{
    digby__names *nm = (digby__names *)ctx;
    int rc = digby__reserve(nm->a, &nm->buf, &nm->cap, nm->n + name_bytes + 1);
    (void)entries;
    if (rc) return rc;
    memcpy(nm->buf + nm->n, name, name_bytes);
    nm->buf[nm->n + name_bytes] = 0;
    nm->n += name_bytes + 1;
    return DIGBY_OK;
}

/* Every tree of the snapshot: the tables first (their new descriptors go
   into the catalog), then the catalog, then the global tree. */
static int digby__rekey_all(digby_txn *txn)
{
    digby__names nm;
    size_t at;
    int rc;
    memset(&nm, 0, sizeof(nm));
    nm.a = &txn->db->alloc;
    rc = digby_table_list(txn, digby__names_add, &nm);
    for (at = 0; rc == DIGBY_OK && at < nm.n; at += strlen((char *)nm.buf + at) + 1) {
        digby_table *t;
        rc = digby_table_open(txn, (const char *)nm.buf + at, 0, &t);
        if (rc == DIGBY_OK) rc = digby__rekey_tree(txn, &t->tree);
        if (rc == DIGBY_OK) t->dirty = 1;
    }
    digby__free(nm.a, nm.buf);
    if (rc == DIGBY_OK) rc = digby__table_flush(txn);
    if (rc == DIGBY_OK) rc = digby__rekey_tree(txn, &txn->meta.catalog);
    if (rc == DIGBY_OK) rc = digby__rekey_tree(txn, &txn->meta.main);
    return rc;
}

DIGBY_API int digby_rekey(digby_db *db, uint32_t cipher)
{
    digby__crypt *c;
    digby_txn *txn;
    int rc = DIGBY_OK;
    if (!db) return DIGBY_INVALID;
    if (!DIGBY__HAVE_CRYPTO) return DIGBY_NOFEATURE;
    c = db->crypt;
    if (!c || cipher > DIGBY_CIPHER_AES256_GCM) return DIGBY_INVALID;
    if (db->flags & DIGBY_OPEN_READONLY) return DIGBY_READONLY;
    /* the header's KEK is the old passphrase's: a new data key wrapped
       under it would open with neither passphrase */
    digby__mutex_lock(&c->mu);
    if (c->hdr_foreign) rc = DIGBY_WRONGKEY;
    digby__mutex_unlock(&c->mu);
    if (rc) return rc;
    /* no snapshot may outlive the old key: none live, none begins */
    digby__mutex_lock(&db->mu);
    if (db->ntxn != 0 || c->rekeying) rc = DIGBY_BUSY;
    else c->rekeying = 1;
    digby__mutex_unlock(&db->mu);
    if (rc) return rc;
    /* nor in another handle sharing the file: none attached, none attaches
       until the new key is in both meta pages (48_lockfile.c) */
    rc = digby__shm_alone(db, 1);
    if (rc) {
        digby__mutex_lock(&db->mu);
        c->rekeying = 0;
        digby__mutex_unlock(&db->mu);
        return rc;
    }
    digby__rekey_busy(c, 1);
    rc = digby_txn_begin(db, 0, &txn);
    /* every page is rewritten in the tree: the log is merged first */
    if (rc == DIGBY_OK) {
        rc = digby__log_escalate(txn);
        if (rc) digby_txn_abort(txn);
    }
    if (rc) {
        digby__mutex_lock(&db->mu);
        c->rekeying = 0;
        digby__mutex_unlock(&db->mu);
        digby__rekey_busy(c, 0);
        (void)digby__shm_alone(db, 0);
        return rc;
    }
    /* a new data key under the same user key: only cipher and wrap change */
    digby__mutex_lock(&c->mu);
    memset(&c->next, 0, sizeof(c->next));
    memcpy(c->next.kek, c->cur.kek, 32);
    memcpy(c->next.hdr, c->cur.hdr, DIGBY__M_KHDR_BYTES);
    c->next.cipher = cipher ? cipher : c->cur.cipher;
    c->have_next = 1;
    rc = digby__random_locked(db, c->next.key, 32);
    digby__mutex_unlock(&c->mu);
    if (rc == DIGBY_OK) rc = digby__dkey_seal_hdr(db, &c->next, 0);
    if (rc == DIGBY_OK) rc = digby__rekey_all(txn);
    if (rc) {
        digby_txn_abort(txn);
        digby__rekey_busy(c, 0);
        (void)digby__shm_alone(db, 0);
        return rc;
    }
    rc = digby__commit_header(db, txn);
    if (rc == DIGBY_OK) rc = digby__commit_empty(db);
    digby__rekey_busy(c, 0);
    (void)digby__shm_alone(db, 0);
    return rc;
}
