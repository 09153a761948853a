/* Hot backup (digby_backup): a copy of one snapshot, written beside writers.

   The copy is made under a read-only transaction, so writers go on and
   nothing the snapshot reaches is reused until it ends (LMDB's
   mdb_env_copy2).  It goes to a handle of its own on a temporary file
   with the source's page size and, in an encrypted file, its data key
   (digby__crypt_clone): the plain copy writes the snapshot's pages as
   they are and a meta page naming the snapshot; the compacting copy
   (MDB_CP_COMPACT) puts every entry of the snapshot, in key order, into
   one transaction of that handle whose txid is the snapshot's, each with
   its own version (txn->put_version, as a checkpoint keeps the versions it
   merges).  Appends fill each page before the next (digby__split), a new
   tree frees nothing, and leaves past a budget are spilled to the file
   early (digby__dirty_spill), so the copy has no free page and its
   memory stays bounded.  Then sync, rename into place, directory sync
   (vfs->rename): the final name never shows a partial copy. */

#define DIGBY__BACKUP_TMP ".digby-tmp"  /* the copy's name while written */
#define DIGBY__BACKUP_RUN 64u          /* pages per read and write, plain copy */

/* Dirty pages a compacting copy keeps before it spills its leaves: 4 MiB,
   at least 16 pages. */
static size_t digby__backup_spill_pages(const digby_db *db)
{
#ifdef DIGBY__BACKUP_PAGES
    /* tests: a tiny budget, so that small copies spill */
    (void)db;
    return DIGBY__BACKUP_PAGES;
#else
    return DIGBY__MAX((size_t)16, ((size_t)4 << 20) / db->page_size);
#endif
}

/* A handle on the copy's (temporary) file `tmp` of vfs, emptied, for a
   snapshot `snap` of src: src's page size, allocator and compression,
   its data key in an encrypted file, snap's UUID, and a meta page image
   of an empty database whose next commit is snap->txid (not written).
   *locked: tmp was opened and locked by this call (remove it on failure).
   The handle never syncs by itself (DIGBY_OPEN_NO_SYNC): the copy is
   synced once, whole, before its rename. */
static int digby__backup_open(digby_txn *snap, const digby_vfs *vfs, const char *tmp,
                              digby_db **out, int *locked)
{
    digby_db *src = snap->db, *dst = NULL;
    digby_options in, o;
    int rc;
    *out = NULL;
    *locked = 0;
    memset(&in, 0, sizeof(in));
    in.page_size = src->page_size;
    in.flags = DIGBY_OPEN_NO_SYNC | DIGBY_OPEN_NO_MMAP | DIGBY_OPEN_NO_LOG;
    in.cache_bytes = 1; /* the least: 16 pages (reads of the copy are few) */
    in.max_readers = 1;
    in.vfs = vfs;
    in.allocator = src->alloc;
    in.compression = src->compression;
    rc = digby__open_options(&in, &o);
    if (rc == DIGBY_OK) rc = digby__open_handle(&o, &dst);
    if (rc) return rc;
    if (src->crypt && (rc = digby__crypt_clone(dst, src)) != DIGBY_OK)
        return digby__db_destroy(dst, rc);
    rc = vfs->open(vfs, tmp, DIGBY_VFS_CREATE, &dst->file);
    if (rc) {
        dst->file = NULL;
        return digby__db_destroy(dst, rc);
    }
    /* another backup to the same path is writing it: leave it alone */
    rc = vfs->lock(dst->file, DIGBY_LOCK_EXCLUSIVE);
    if (rc) return digby__db_destroy(dst, rc);
    *locked = 1;
    rc = vfs->truncate(dst->file, 0); /* a leftover of a crash */
    dst->page_size = src->page_size;
    digby__db_sizes(dst);
    if (rc == DIGBY_OK) rc = digby__cache_init(dst, o.cache_bytes);
    if (rc) return digby__db_destroy(dst, rc);
    memset(&dst->meta, 0, sizeof(dst->meta));
    dst->meta.page_count = 2;
    memcpy(dst->meta.uuid, snap->meta.uuid, sizeof(dst->meta.uuid));
    dst->meta.txid = snap->txid - 1; /* the snapshot's txid is >= 1 */
    dst->last_txid = dst->meta.txid;
    *out = dst;
    return DIGBY_OK;
}

/* Plain copy: pages [2, page_count) of the snapshot byte for byte (sealed
   pages stay sealed), then its meta page, in slot txid % 2; the other
   slot stays zero, so the copy has no older commit to fall back on
   (never an empty one in place of damage).  The file is given the
   snapshot's full length (its last pages may be free and unwritten). */
static int digby__backup_pages(digby_txn *snap, digby_db *dst)
{
    digby_db *src = snap->db;
    uint64_t pg, n = snap->meta.page_count, ps = src->page_size;
    uint8_t *buf = (uint8_t *)digby__malloc(&src->alloc, DIGBY__BACKUP_RUN * (size_t)ps);
    int rc = DIGBY_OK;
    if (!buf) return DIGBY_NOMEM;
    for (pg = 2; pg < n && rc == DIGBY_OK; pg += DIGBY__BACKUP_RUN) {
        size_t bytes = (size_t)(DIGBY__MIN((uint64_t)DIGBY__BACKUP_RUN, n - pg) * ps), got = 0;
        rc = src->vfs->read(src->file, pg * ps, buf, bytes, &got);
        if (rc == DIGBY_OK && got != bytes) rc = DIGBY__CORRUPT(src, pg + got / ps);
        if (rc == DIGBY_OK) rc = dst->vfs->write(dst->file, pg * ps, buf, bytes);
    }
    if (rc == DIGBY_OK) rc = digby__meta_write(dst, &snap->meta, buf);
    if (rc == DIGBY_OK) rc = dst->vfs->truncate(dst->file, n * ps);
    digby__free(&src->alloc, buf);
    return rc;
}

/* Compacting copy of one tree: every entry of the snapshot's table st
   (NULL: the global tree), merged with the memtable in log mode, put in
   key order into tree t of the copy's transaction w (table wt, NULL for
   the global tree) with its version, its items compressed as they were. */
static int digby__backup_tree(digby_txn *snap, digby_table *st, digby_txn *w,
                              digby_table *wt)
{
    digby__tree *t = wt ? &wt->tree : &w->meta.main;
    digby_cursor *cur;
    const void *k, *v;
    size_t kn, vn;
    uint64_t version;
    unsigned put_flags;
    int rc = digby_cursor_open(snap, st, &cur);
    if (rc) return rc;
    for (rc = digby_cursor_first(cur); rc == DIGBY_OK; rc = digby_cursor_next(cur)) {
        rc = digby__cursor_get(cur, &k, &kn, &v, &vn, &version, &put_flags);
        if (rc) break;
        w->put_version = version;
        rc = digby__btree_put(w, t, k, kn, v, vn, put_flags);
        w->put_version = 0;
        if (rc) break;
        w->mod++;
        if (w->dirty.count >= w->spill_at && (rc = digby__dirty_spill(w)) != DIGBY_OK) break;
    }
    digby_cursor_close(cur);
    if (wt) wt->dirty = 1;
    return rc == DIGBY_NOTFOUND ? DIGBY_OK : rc;
}

/* Compacting copy: the global tree, then every table in name order, in
   one transaction of the copy with the snapshot's txid, committed (its
   meta page in slot txid % 2, the other slot left zero). */
static int digby__backup_compact(digby_txn *snap, digby_db *dst)
{
    digby_txn *w;
    digby__names nm;
    size_t at;
    int rc = digby_txn_begin(dst, 0, &w);
    if (rc) return rc;
    w->spill_pages = digby__backup_spill_pages(dst);
    w->spill_at = w->spill_pages;
    memset(&nm, 0, sizeof(nm));
    nm.a = &snap->db->alloc;
    rc = digby__backup_tree(snap, NULL, w, NULL);
    if (rc == DIGBY_OK) rc = digby_table_list(snap, digby__names_add, &nm);
    for (at = 0; rc == DIGBY_OK && at < nm.n; at += strlen((char *)nm.buf + at) + 1) {
        const char *name = (const char *)nm.buf + at;
        digby_table *st, *wt;
        rc = digby_table_open(snap, name, 0, &st);
        if (rc == DIGBY_OK) rc = digby_table_open(w, name, DIGBY_TABLE_CREATE, &wt);
        if (rc == DIGBY_OK) rc = digby__backup_tree(snap, st, w, wt);
    }
    digby__free(nm.a, nm.buf);
    if (rc) {
        digby_txn_abort(w);
        return rc;
    }
    w->mod++; /* an empty snapshot still commits its meta page */
    return digby_txn_commit(w);
}

DIGBY_API int digby_backup(digby_db *db, const char *path, const digby_vfs *vfs,
                           unsigned flags)
{
    digby_txn *snap = NULL;
    digby_db *dst = NULL;
    digby_file *f;
    char *tmp;
    size_t plen;
    int rc, locked = 0;
    if (!db || !path || (flags & ~(DIGBY_BACKUP_COMPACT | DIGBY_BACKUP_REPLACE)))
        return DIGBY_INVALID;
    if (!vfs) vfs = db->vfs;
    if (vfs->version < 3 || !vfs->rename || !vfs->remove) return DIGBY_NOFEATURE;
    if (!(flags & DIGBY_BACKUP_REPLACE) &&
        vfs->open(vfs, path, DIGBY_VFS_READONLY, &f) == DIGBY_OK) {
        vfs->close(f);
        return DIGBY_EXISTS;
    }
    plen = strlen(path);
    tmp = (char *)digby__malloc(&db->alloc, plen + sizeof(DIGBY__BACKUP_TMP));
    if (!tmp) return DIGBY_NOMEM;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, DIGBY__BACKUP_TMP, sizeof(DIGBY__BACKUP_TMP));
    /* the plain copy takes the snapshot's freelist chain too, which
       writers keep only while a walk of one is live (46_freelist.c) */
    digby__mutex_lock(&db->mu);
    db->fl_readers++;
    digby__shm_chains(db);
    digby__mutex_unlock(&db->mu);
    rc = digby_txn_begin(db, DIGBY_TXN_READONLY, &snap);
    if (rc == DIGBY_OK) rc = digby__backup_open(snap, vfs, tmp, &dst, &locked);
    if (rc == DIGBY_OK) {
        /* the memtable, or a live log, holds commits the pages lack */
        int compact = (flags & DIGBY_BACKUP_COMPACT) || snap->mem || snap->meta.log_head;
        rc = compact ? digby__backup_compact(snap, dst) : digby__backup_pages(snap, dst);
    }
    digby_txn_abort(snap); /* read: writers may reuse its pages */
    digby__mutex_lock(&db->mu);
    db->fl_readers--;
    digby__shm_chains(db);
    digby__mutex_unlock(&db->mu);
    if (rc == DIGBY_OK) rc = dst->vfs->sync(dst->file);
    if (rc == DIGBY_OK)
        rc = vfs->rename(vfs, tmp, path, (flags & DIGBY_BACKUP_REPLACE) ? DIGBY_VFS_REPLACE : 0);
    if (dst) digby__db_destroy(dst, rc);
    if (rc && locked) vfs->remove(vfs, tmp);
    digby__free(&db->alloc, tmp);
    return rc;
}
