/* Opening and closing a database; the auto-commit helpers. */

/* Free a handle and everything it holds (on a failed open, and at close);
   returns rc, for the caller to pass on. */
static int digby__db_destroy(digby_db *db, int rc)
{
    digby__log_release(db);
    digby__map_close(db);
    if (db->file) {
        digby__shm_detach(db);
        db->vfs->lock(db->file, DIGBY_LOCK_NONE);
        db->vfs->close(db->file);
    }
    digby__cache_release(db);
    digby__pbuf_release(db);
    digby__free(&db->alloc, db->readers);
    digby__u64s_release(&db->alloc, &db->free);
    digby__u64s_release(&db->alloc, &db->freelist_pages);
    digby__free(&db->alloc, db->pending);
    digby__free(&db->alloc, db->cpending);
    digby__crypt_free(db);
    digby__mutex_destroy(&db->mu);
    digby__mutex_destroy(&db->wmu);
    digby__cond_destroy(&db->scv);
    digby__mutex_destroy(&db->poolmu);
    digby__mutex_destroy(&db->rmu);
    digby__free(&db->alloc, db);
    return rc;
}

/* Derived sizes: the largest cell a page keeps (a quarter of the cell area,
   so any split leaves both halves non-empty and a page always holds at least
   four cells) and from it the largest key. */
static void digby__db_sizes(digby_db *db)
{
    db->trailer = db->crypt ? DIGBY__TRAILER_AEAD : DIGBY__TRAILER_XXH32;
    db->usable = db->page_size - db->trailer;
    db->max_cell = (db->usable - DIGBY__HDR) / 4 - 2;
    /* klen varint (2: keys stay under 16384) + packed length (5) + version
       (10) + overflow ref (8) */
    db->max_key = db->max_cell - 25;
}

/* digby_open, step 1: check the options and fill in their defaults in *o. */
static int digby__open_options(const digby_options *opts, digby_options *o)
{
    int set;
    if (opts) *o = *opts;
    else memset(o, 0, sizeof(*o));
    set = (o->allocator.malloc_fn != NULL) + (o->allocator.realloc_fn != NULL) +
          (o->allocator.free_fn != NULL);
    if (set != 0 && set != 3) return DIGBY_INVALID;
    if (o->page_size && (o->page_size < DIGBY__MIN_PAGE || o->page_size > DIGBY__MAX_PAGE ||
                         (o->page_size & (o->page_size - 1))))
        return DIGBY_INVALID;
    if (o->flags & ~(DIGBY_OPEN_READONLY | DIGBY_OPEN_NO_CREATE | DIGBY_OPEN_NO_SYNC |
                     DIGBY_OPEN_MMAP | DIGBY_OPEN_NO_MMAP | DIGBY_OPEN_LOG | DIGBY_OPEN_NO_LOG))
        return DIGBY_INVALID;
    if ((o->flags & DIGBY_OPEN_MMAP) && (o->flags & DIGBY_OPEN_NO_MMAP)) return DIGBY_INVALID;
    if ((o->flags & DIGBY_OPEN_LOG) && (o->flags & DIGBY_OPEN_NO_LOG)) return DIGBY_INVALID;
#if defined(DIGBY_LOG_DEFAULT)
    /* the log as the default mode (what hosted builds will get once its
       torture figures match copy-on-write mode's; the test suite runs
       with it too) */
    if (!(o->flags & DIGBY_OPEN_NO_LOG) && DIGBY__HAVE_MEMTABLE) o->flags |= DIGBY_OPEN_LOG;
#endif
    if ((o->flags & DIGBY_OPEN_LOG) && !DIGBY__HAVE_MEMTABLE) return DIGBY_NOFEATURE;
    if (!o->memtable_bytes) o->memtable_bytes = (size_t)64 << 20;
    if (o->memtable_bytes < ((size_t)64 << 10)) return DIGBY_INVALID;
    if (!o->vfs) o->vfs = digby__vfs_default();
    if (!o->vfs || o->vfs->version < 1) return DIGBY_INVALID;
    if (!o->cache_bytes) o->cache_bytes = (size_t)8 << 20;
    if (!o->max_readers) o->max_readers = 126;
    if (o->max_readers > 1u << 20) return DIGBY_INVALID;
    if (o->compression > DIGBY_COMPRESS_LZ4) return DIGBY_INVALID;
    if (o->compression == DIGBY_COMPRESS_LZ4 && !digby__lz4_state_bytes())
        return DIGBY_NOFEATURE;
    if ((o->key && o->passphrase) || (o->key && o->key_bytes != 16 && o->key_bytes != 32) ||
        (!o->key && o->key_bytes) || (o->passphrase && !o->passphrase[0]) ||
        o->cipher > DIGBY_CIPHER_AES256_GCM || o->kdf_iterations > DIGBY__KDF_MAX_ITER)
        return DIGBY_INVALID;
#ifdef DIGBY_NO_CRYPTO
    if (o->key || o->passphrase) return DIGBY_NOFEATURE;
#endif
    return DIGBY_OK;
}

/* digby_open, step 2: a handle with no file yet (*out; NULL on failure). */
static int digby__open_handle(const digby_options *o, digby_db **out)
{
    digby_db *db = (digby_db *)digby__malloc(&o->allocator, sizeof(*db));
    int rc;
    *out = NULL;
    if (!db) return DIGBY_NOMEM;
    memset(db, 0, sizeof(*db));
    db->alloc = o->allocator;
    db->vfs = o->vfs;
    db->flags = o->flags;
    db->max_readers = o->max_readers;
    db->compression = o->compression;
    db->on_commit = o->on_commit;
    db->on_commit_ctx = o->on_commit_ctx;
    db->log.on = (o->flags & DIGBY_OPEN_LOG) && !(o->flags & DIGBY_OPEN_READONLY);
    db->log.mem_limit = o->memtable_bytes;
    digby__mutex_init(&db->mu);
    digby__mutex_init(&db->wmu);
    digby__cond_init(&db->scv);
    digby__mutex_init(&db->poolmu);
    digby__mutex_init(&db->rmu);
    db->readers = (uint64_t *)digby__malloc(&db->alloc, o->max_readers * sizeof(uint64_t));
    if (!db->readers) return digby__db_destroy(db, DIGBY_NOMEM);
    memset(db->readers, 0, o->max_readers * sizeof(uint64_t));
    if (o->key || o->passphrase) {
        rc = digby__crypt_new(db, o);
        if (rc) return digby__db_destroy(db, rc);
    }
    *out = db;
    return DIGBY_OK;
}

/* digby_open, step 3a: an empty file (or an unborn one, emptied): write
   the two meta pages of a new database. */
static int digby__open_new(digby_db *db, const digby_options *o)
{
    int rc;
    db->page_size = o->page_size ? o->page_size : 4096;
    digby__db_sizes(db);
    rc = db->crypt ? digby__crypt_create(db, o->cipher) : DIGBY_OK;
    if (rc == DIGBY_OK) rc = digby__meta_create(db);
    return rc;
}

/* digby_open, step 3b: a file of `size` bytes: choose its meta page (an
   encrypted file's key is checked there, before anything else), verify
   the newest commit (falling back to the one before when it was cut
   short: one sync per commit), load the freelist. */
static int digby__open_existing(digby_db *db, const digby_options *o, uint64_t size)
{
    int rc = digby__meta_load(db, size, o->page_size);
    if ((rc == DIGBY_NOTDIGBY || rc == DIGBY_CORRUPT) &&
        !(o->flags & DIGBY_OPEN_READONLY) && digby__meta_unborn(db, size)) {
        rc = db->vfs->truncate(db->file, 0);
        return rc ? rc : digby__open_new(db, o);
    }
    if (rc) return rc;
    digby__db_sizes(db);
    rc = digby__cache_init(db, o->cache_bytes);
    if (rc == DIGBY_OK && db->meta.txid > 1) {
        rc = digby__verify_newest(db, &db->meta);
        if (rc == DIGBY_CORRUPT && db->have_fallback) {
            digby__meta_use_fallback(db);
            db->corrupt_pgno = 0;
            digby__cache_release(db);
            rc = digby__cache_init(db, o->cache_bytes);
        }
    }
    if (rc == DIGBY_OK && !(o->flags & DIGBY_OPEN_READONLY)) rc = digby__freelist_load(db);
    return rc;
}

/* Open: options (1), a handle (2), the file opened and locked (and the lock
   file attached, for handles that share it: 48_lockfile.c), then a new
   database (3a) or an existing one (3b), the cache and the memory map.  A
   read-write handle that shares the file reads it under the writer lock;
   every handle holds all pages (its slot says txid 0) until it has read
   the newest commit. */
DIGBY_API int digby_open(const char *path, const digby_options *opts, digby_db **out)
{
    digby_options o;
    digby_db *db;
    uint64_t size = 0;
    int rc, wlocked = 0;
    unsigned vflags;
    if (!out) return DIGBY_INVALID;
    *out = NULL;
    if (!path) return DIGBY_INVALID;
    rc = digby__open_options(opts, &o);
    if (rc == DIGBY_OK) rc = digby__open_handle(&o, &db);
    if (rc) return rc;
    vflags = (o.flags & DIGBY_OPEN_READONLY) ? DIGBY_VFS_READONLY : 0;
    if (!(o.flags & DIGBY_OPEN_NO_CREATE)) vflags |= DIGBY_VFS_CREATE;
    rc = db->vfs->open(db->vfs, path, vflags, &db->file);
    if (rc) { db->file = NULL; return digby__db_destroy(db, rc); }
    rc = digby__shm_eligible(db, &o) ? digby__shm_attach(db, path) : DIGBY_OK;
    if (rc == DIGBY_OK)
        rc = db->vfs->lock(db->file, ((o.flags & DIGBY_OPEN_READONLY) || db->shm)
                                         ? DIGBY_LOCK_SHARED : DIGBY_LOCK_EXCLUSIVE);
    if (rc == DIGBY_OK && db->shm && !(o.flags & DIGBY_OPEN_READONLY)) {
        rc = digby__shm_wlock(db, 0);
        wlocked = rc == DIGBY_OK;
        db->shm_stale = 0; /* the open loads the freelist */
    }
    if (rc == DIGBY_OK) rc = db->vfs->size(db->file, &size);
    if (rc == DIGBY_OK && size == 0)
        rc = (o.flags & DIGBY_OPEN_READONLY) ? DIGBY_NOTDIGBY : digby__open_new(db, &o);
    else if (rc == DIGBY_OK)
        rc = digby__open_existing(db, &o, size);
    if (rc == DIGBY_OK && !db->cache.buckets) rc = digby__cache_init(db, o.cache_bytes);
    if (rc == DIGBY_OK) digby__map_open(db, o.map_bytes);
    if (rc == DIGBY_OK) rc = digby__log_open(db, (o.flags & DIGBY_OPEN_READONLY) != 0);
    /* commits in the log that no handle published (their writer died
       before its sync returned) become durable before this handle
       publishes them to others */
    if (rc == DIGBY_OK && wlocked && db->meta.log_head && db->last_txid > digby__shm_txid(db) &&
        !(o.flags & DIGBY_OPEN_NO_SYNC))
        rc = db->vfs->sync(db->file);
    if (db->crypt) digby__crypt_opened(db); /* forget the user's key */
    if (rc == DIGBY_OK && db->shm) {
        digby__mutex_lock(&db->mu);
        if (wlocked) digby__shm_publish(db);
        else DIGBY__SHM_STORE(&db->shm_seen, db->last_txid);
        digby__shm_say(db, 0); /* read: the hold ends */
        digby__mutex_unlock(&db->mu);
    }
    if (wlocked) digby__shm_writer_out(db);
    if (rc) return digby__db_destroy(db, rc);
    *out = db;
    return DIGBY_OK;
}

DIGBY_API int digby_close(digby_db *db)
{
    int busy;
    if (!db) return DIGBY_OK;
    digby__mutex_lock(&db->mu);
    busy = db->ntxn != 0;
    digby__mutex_unlock(&db->mu);
    if (busy) return DIGBY_BUSY;
    if (db->shm && !(db->flags & DIGBY_OPEN_READONLY) && (db->meta.log_head || db->log.on)) {
        /* a log this handle appends to or took in from the file: merged
           under the writer lock, as any commit, after what other handles
           committed since this one last looked */
        int locked = 0;
        if (digby__shm_writer_in(db, 0, &locked) == DIGBY_OK) {
            digby__log_close(db);
            digby__shm_writer_out(db);
        }
    } else {
        digby__log_close(db);
    }
    digby__db_destroy(db, DIGBY_OK);
    return DIGBY_OK;
}

DIGBY_API void digby_free(digby_db *db, void *ptr)
{
    if (!db) { DIGBY_FREE(ptr); return; }
    digby__free(&db->alloc, ptr);
}

DIGBY_API size_t digby_max_key_bytes(const digby_db *db)
{
    return db ? db->max_key : 0;
}

DIGBY_API uint64_t digby_corrupt_pgno(const digby_db *db)
{
    return db ? db->corrupt_pgno : 0;
}

DIGBY_API uint64_t digby_discarded_txid(const digby_db *db)
{
    return db ? db->discarded_txid : 0;
}

DIGBY_API const char *digby_version(void)
{
    return "digby " DIGBY_VERSION_STRING
#if !defined(DIGBY_NO_THREADS)
           " threads"
#endif
           DIGBY__FEATURE_VFS
#if DIGBY__HAVE_MEMTABLE
           " log"
#endif
#if !defined(DIGBY_NO_LZ4)
           " lz4"
#endif
           " xxhash32"
           DIGBY__FEATURE_CRYPTO;
}

DIGBY_API int digby_put(digby_db *db, const void *key, size_t key_bytes,
                        const void *val, size_t val_bytes)
{
    digby_txn *txn;
    int rc;
    if (!db) return DIGBY_INVALID;
    rc = digby_txn_begin(db, 0, &txn);
    if (rc) return rc;
    rc = digby_txn_put(txn, NULL, key, key_bytes, val, val_bytes, 0);
    if (rc) { digby_txn_abort(txn); return rc; }
    return digby_txn_commit(txn);
}

DIGBY_API int digby_delete(digby_db *db, const void *key, size_t key_bytes)
{
    digby_txn *txn;
    int rc;
    if (!db) return DIGBY_INVALID;
    rc = digby_txn_begin(db, 0, &txn);
    if (rc) return rc;
    rc = digby_txn_delete(txn, NULL, key, key_bytes);
    if (rc) { digby_txn_abort(txn); return rc; }
    return digby_txn_commit(txn);
}

DIGBY_API int digby_get(digby_db *db, const void *key, size_t key_bytes,
                        void **val, size_t *val_bytes, uint64_t *version)
{
    digby_txn *txn;
    const void *v;
    size_t vl;
    int rc;
    if (!db || !val || !val_bytes) return DIGBY_INVALID;
    *val = NULL;
    *val_bytes = 0;
    rc = digby_txn_begin(db, DIGBY_TXN_READONLY, &txn);
    if (rc) return rc;
    rc = digby_txn_get(txn, NULL, key, key_bytes, &v, &vl, version);
    if (rc == DIGBY_OK) {
        *val = digby__malloc(&db->alloc, vl ? vl : 1);
        if (!*val) rc = DIGBY_NOMEM;
        else {
            if (vl) memcpy(*val, v, vl);
            *val_bytes = vl;
        }
    }
    digby_txn_abort(txn);
    return rc;
}
