/* ======================================================================== */
/* Database                                                                 */
/* ======================================================================== */

/* Open (or create) the database file at `path`.
   Params:    path (in): file name, passed to the VFS unchanged.
              opts (in): options, or NULL for defaults; copied, need not
                         outlive the call (but opts->vfs must outlive the db).
              out (out): the handle on success, NULL on failure.
   Ownership: close the handle with digby_close().
   Returns:   DIGBY_OK; DIGBY_INVALID (NULL path/out, bad page size, partial
              allocator, no opts->vfs under DIGBY_NO_POSIX); DIGBY_CANTOPEN (missing with NO_CREATE, or the OS
              refused); DIGBY_NOTDIGBY (not a digby file); DIGBY_VERSION
              (newer format or unknown incompatible feature flag);
              DIGBY_PAGESIZE (opts->page_size differs from the file's);
              DIGBY_CORRUPT (neither meta page verifies, or the file is
              truncated below what the meta page records);
              DIGBY_BUSY (another process holds a conflicting lock:
              a read-write handle excludes every other handle);
              DIGBY_IOERR; DIGBY_FULL; DIGBY_NOMEM.
   Threads:   a handle may be shared by threads (unless DIGBY_NO_THREADS).
   Technique: shadow paging with two alternating meta pages; open picks the
              newest meta page whose checksum verifies (no recovery step). */
DIGBY_API int digby_open(const char *path, const digby_options *opts,
                         digby_db **out);

/* Close the handle.  Every transaction and cursor of it must have ended
   (DIGBY_BUSY otherwise, and nothing is closed).  NULL is accepted.
   Returns:   DIGBY_OK, DIGBY_BUSY. */
DIGBY_API int digby_close(digby_db *db);

/* The page number of the last page found corrupt by this handle (0 if none):
   DIGBY_CORRUPT results name their page here.  Diagnostic only: with
   several threads it may belong to another thread's error. */
DIGBY_API uint64_t digby_corrupt_pgno(const digby_db *db);

/* One line of English for a result code; never NULL; static storage. */
DIGBY_API const char *digby_strerror(int rc);

/* The library version ("0.1.0") and the features compiled in, as a static
   string such as "digby 0.1.0 threads posix". */
DIGBY_API const char *digby_version(void);

/* Free memory returned by digby_get() (through the db's allocator). */
DIGBY_API void digby_free(digby_db *db, void *ptr);

/* The POSIX VFS (pread/pwrite/fdatasync/fcntl locks): the default on
   POSIX systems.  NULL on Windows and when built with DIGBY_NO_POSIX.
   Static storage. */
DIGBY_API const digby_vfs *digby_vfs_posix(void);

/* The Win32 VFS (ReadFile/WriteFile at offsets, FlushFileBuffers,
   LockFileEx; UTF-8 paths): the default on Windows (Vista or later).  NULL
   elsewhere and when built with DIGBY_NO_POSIX.  Static storage. */
DIGBY_API const digby_vfs *digby_vfs_win32(void);

/* Create an in-memory VFS: files live in memory, keyed by path, until the
   VFS is destroyed; sync does nothing.  For tests and for devices with RAM
   only.  `alloc` may be NULL (default allocator).
   Returns:   DIGBY_OK, DIGBY_INVALID (NULL out), DIGBY_NOMEM.
   Ownership: free with digby_vfs_mem_destroy() after closing every db. */
DIGBY_API int digby_vfs_mem_create(const digby_allocator *alloc,
                                   digby_vfs **out);
DIGBY_API void digby_vfs_mem_destroy(digby_vfs *vfs);

/* ======================================================================== */
/* Auto-commit helpers: each runs in its own transaction                    */
/* ======================================================================== */

/* Store value under key in the global tree, committing at once.
   Params:    key/key_bytes: 1 .. digby_max_key_bytes(db) bytes (a 0-byte
              key is allowed too; key may be NULL only when key_bytes is 0);
              val/val_bytes: 0 .. 4 GiB - 1 bytes.
   Returns:   DIGBY_OK; DIGBY_INVALID; DIGBY_TOOBIG; DIGBY_READONLY; the
              errors of digby_txn_commit(). */
DIGBY_API int digby_put(digby_db *db, const void *key, size_t key_bytes,
                        const void *val, size_t val_bytes);

/* Look key up in the global tree.
   Params:    val (out): a copy of the value, allocated with the db's
              allocator; val_bytes (out): its length.  version (out, may be
              NULL): the id of the transaction that wrote it.
   Ownership: the caller frees *val with digby_free().  (A 0-byte value
              still gives a non-NULL pointer.)
   Returns:   DIGBY_OK; DIGBY_NOTFOUND; DIGBY_INVALID; DIGBY_CORRUPT;
              DIGBY_IOERR; DIGBY_NOMEM. */
DIGBY_API int digby_get(digby_db *db, const void *key, size_t key_bytes,
                        void **val, size_t *val_bytes, uint64_t *version);

/* Delete key from the global tree, committing at once.
   Returns:   DIGBY_OK; DIGBY_NOTFOUND; the errors of digby_put(). */
DIGBY_API int digby_delete(digby_db *db, const void *key, size_t key_bytes);

/* The largest key this database accepts, in bytes (depends on page size:
   990 at 4096, 94 at 512). */
DIGBY_API size_t digby_max_key_bytes(const digby_db *db);

/* ======================================================================== */
/* Transactions                                                             */
/* ======================================================================== */

/* Begin a transaction.
   Params:    flags: 0 for read-write, DIGBY_TXN_READONLY for a snapshot.
   Ownership: end it with digby_txn_commit() or digby_txn_abort(), which
              free it; its tables and cursors must not be used afterwards.
   Returns:   DIGBY_OK; DIGBY_INVALID; DIGBY_READONLY (read-write txn on a
              read-only handle); DIGBY_BUSY (max_readers snapshots live);
              DIGBY_POISONED (a sync failed earlier: reopen the database);
              DIGBY_NOMEM.
   Threads:   one read-write transaction at a time: a second begin from
              another thread waits until the first ends (from the same
              thread it would wait forever).  Read-only transactions run
              concurrently with everything and see the snapshot of the last
              commit before they began, unchanged by later commits.  A
              transaction is used by one thread at a time. */
DIGBY_API int digby_txn_begin(digby_db *db, unsigned flags, digby_txn **out);

/* Commit: write the new pages and the other meta page, then sync once (the
   first commit after open syncs the pages before writing the meta page:
   two syncs).  When it returns DIGBY_OK the commit is durable.  The
   transaction is freed whatever the result; on failure nothing of it is
   visible, before or after a reopen.  A read-only transaction just ends.
   Returns:   DIGBY_OK; DIGBY_POISONED (an operation in it failed earlier);
              DIGBY_IOERR/DIGBY_FULL (nothing committed; after a failed sync
              the handle refuses writes until reopened); DIGBY_NOMEM;
              DIGBY_INVALID (NULL).
   Technique: shadow paging ("B-trees, Shadowing, and Clones", Rodeh 2008);
              one sync per commit is safe because every parent entry
              records its child's txid and open verifies every page the
              newest commit wrote, falling back to the previous commit if
              one did not reach the disk (LESSONS.md). */
DIGBY_API int digby_txn_commit(digby_txn *txn);

/* Discard the transaction and everything it wrote; frees it.  NULL is
   accepted.  Open cursors of the transaction are closed too. */
DIGBY_API void digby_txn_abort(digby_txn *txn);

/* The transaction's id: for a read-write transaction the id its writes will
   carry as their version; for a read-only one the id of its snapshot. */
DIGBY_API uint64_t digby_txn_id(const digby_txn *txn);

/* Store a key/value pair.  `table` NULL means the global tree.
   Params:    flags: 0 or DIGBY_PUT_NOOVERWRITE.  key: 0 ..
              digby_max_key_bytes() bytes; val: 0 .. 4 GiB - 1 bytes
              (values too large for a leaf go to overflow pages).  Both are
              copied; the caller keeps ownership.
   Returns:   DIGBY_OK; DIGBY_EXISTS (NOOVERWRITE and the key is present);
              DIGBY_INVALID; DIGBY_TOOBIG; DIGBY_READONLY; DIGBY_BADTXN
              (table of another transaction, or dropped); DIGBY_POISONED;
              DIGBY_CORRUPT; DIGBY_IOERR; DIGBY_FULL; DIGBY_NOMEM.  Any error
              except EXISTS, INVALID, TOOBIG, READONLY and BADTXN poisons the
              transaction: after it only digby_txn_abort() works. */
DIGBY_API int digby_txn_put(digby_txn *txn, digby_table *table,
                            const void *key, size_t key_bytes,
                            const void *val, size_t val_bytes,
                            unsigned flags);

/* Look a key up.
   Params:    val/val_bytes (out): the value; version (out, may be NULL).
   Ownership: *val points into memory owned by the transaction, valid until
              the next digby_txn_get/put/delete on it or its end.
   Returns:   DIGBY_OK; DIGBY_NOTFOUND; DIGBY_INVALID; DIGBY_BADTXN;
              DIGBY_CORRUPT; DIGBY_IOERR; DIGBY_NOMEM. */
DIGBY_API int digby_txn_get(digby_txn *txn, digby_table *table,
                            const void *key, size_t key_bytes,
                            const void **val, size_t *val_bytes,
                            uint64_t *version);

/* Delete a key; its overflow pages are freed.
   Technique: deletion without rebalancing (Sen & Tarjan, "Deletion Without
              Rebalancing in Multiway Search Trees", 2009): an empty page is
              freed and unlinked from its parent; pages are never merged.
   Returns:   DIGBY_OK; DIGBY_NOTFOUND; the errors of digby_txn_put(). */
DIGBY_API int digby_txn_delete(digby_txn *txn, digby_table *table,
                               const void *key, size_t key_bytes);

/* ======================================================================== */
/* Tables                                                                   */
/* ======================================================================== */

/* Open a named table (an independent tree).
   Params:    name: 1 .. 255 bytes, NUL-terminated, and at most
              digby_max_key_bytes() (a name is a catalog key).  flags: 0 or
              DIGBY_TABLE_CREATE (read-write transactions only).
   Ownership: *out belongs to the transaction and is valid until it ends.
              Opening the same name twice gives the same handle.
   Returns:   DIGBY_OK; DIGBY_NOTFOUND (missing and not created);
              DIGBY_INVALID; DIGBY_TOOBIG (name longer than the key limit);
              DIGBY_READONLY (CREATE of a missing table in a read-only txn);
              DIGBY_CORRUPT; DIGBY_IOERR; DIGBY_NOMEM. */
DIGBY_API int digby_table_open(digby_txn *txn, const char *name,
                               unsigned flags, digby_table **out);

/* Drop a named table and free all its pages.  Its handle, if open in this
   transaction, gives DIGBY_BADTXN from then on.
   Returns:   DIGBY_OK; DIGBY_NOTFOUND; DIGBY_INVALID; DIGBY_READONLY;
              DIGBY_CORRUPT; DIGBY_IOERR; DIGBY_NOMEM. */
DIGBY_API int digby_table_drop(digby_txn *txn, const char *name);

/* Call fn once per table, in name order, with the name (not NUL-terminated,
   valid during the call only) and its entry count.  A non-zero return from
   fn stops the walk and is returned.
   Returns:   DIGBY_OK; fn's non-zero value; DIGBY_INVALID; DIGBY_CORRUPT;
              DIGBY_IOERR; DIGBY_NOMEM. */
DIGBY_API int digby_table_list(digby_txn *txn,
                               int (*fn)(void *ctx, const char *name,
                                         size_t name_bytes, uint64_t entries),
                               void *ctx);

/* Number of key/value pairs in a table (NULL: the global tree). */
DIGBY_API int digby_table_count(digby_txn *txn, digby_table *table,
                                uint64_t *entries);

/* ======================================================================== */
/* Cursors                                                                  */
/* ======================================================================== */

/* Open a cursor on a table (NULL: the global tree).  It starts unpositioned.
   Ownership: close with digby_cursor_close() before the transaction ends
              (or the transaction's end closes it; the pointer is then dead).
   Returns:   DIGBY_OK; DIGBY_INVALID; DIGBY_BADTXN; DIGBY_NOMEM.
   Threads:   the transaction's thread only.  A cursor stays correct across
              puts and deletes in its own transaction: it re-finds its
              position by key. */
DIGBY_API int digby_cursor_open(digby_txn *txn, digby_table *table,
                                digby_cursor **out);
DIGBY_API void digby_cursor_close(digby_cursor *cur);

/* Position the cursor by key with op (DIGBY_SEEK_GE, _GT, _LE, _LT, _EQ).
   Returns:   DIGBY_OK (positioned); DIGBY_NOTFOUND (no such key; the cursor
              is unpositioned); DIGBY_INVALID; DIGBY_CORRUPT; DIGBY_IOERR. */
DIGBY_API int digby_cursor_seek(digby_cursor *cur, const void *key,
                                size_t key_bytes, digby_seek_op op);

/* Move to the first/last key, or one step forward/back.  next on an
   unpositioned cursor is first; prev is last.
   Returns:   DIGBY_OK; DIGBY_NOTFOUND (empty tree or ran off the end; the
              cursor becomes unpositioned); DIGBY_CORRUPT; DIGBY_IOERR. */
DIGBY_API int digby_cursor_first(digby_cursor *cur);
DIGBY_API int digby_cursor_last(digby_cursor *cur);
DIGBY_API int digby_cursor_next(digby_cursor *cur);
DIGBY_API int digby_cursor_prev(digby_cursor *cur);

/* Read the entry under the cursor.  Any out pointer may be NULL.
   Ownership: key and value point into memory owned by the cursor, valid
              until it moves, is closed, or its transaction writes.
   Returns:   DIGBY_OK; DIGBY_NOTFOUND (unpositioned, or the entry was
              deleted in this transaction); DIGBY_CORRUPT; DIGBY_IOERR;
              DIGBY_NOMEM. */
DIGBY_API int digby_cursor_get(digby_cursor *cur, const void **key,
                               size_t *key_bytes, const void **val,
                               size_t *val_bytes, uint64_t *version);

/* ======================================================================== */
/* Statistics and integrity                                                 */
/* ======================================================================== */

/* Walk the last committed snapshot and count pages by type.
   Returns:   DIGBY_OK; DIGBY_INVALID; DIGBY_CORRUPT; DIGBY_IOERR;
              DIGBY_NOMEM; DIGBY_BUSY. */
DIGBY_API int digby_stat(digby_db *db, digby_stats *out);

/* Verify the whole last committed snapshot: every page's checksum, page
   number, type and writer transaction id; key order inside pages and
   across branch separators; tree depth; every page of the file reachable
   exactly once from the trees, overflow chains, the freelist or the
   pending frees (no leak, no double use, no cycle).
   Params:    report (out, may be NULL): what was found.
   Returns:   DIGBY_OK (clean); DIGBY_CORRUPT (report says where);
              DIGBY_INVALID; DIGBY_IOERR; DIGBY_NOMEM; DIGBY_BUSY.
   Threads:   runs in its own read-only snapshot, beside writers. */
DIGBY_API int digby_check(digby_db *db, digby_check_report *report);
