/* The public functions, each with its manual: params, ownership, errors. */

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
              allocator, unknown flags or both DIGBY_OPEN_MMAP and
              DIGBY_OPEN_NO_MMAP, no opts->vfs under DIGBY_NO_POSIX);
              DIGBY_CANTOPEN (missing with NO_CREATE, or the OS refused,
              the lock file PATH-lock included); DIGBY_NOTDIGBY (not a
              digby file); DIGBY_VERSION
              (newer format or unknown incompatible feature flag);
              DIGBY_PAGESIZE (opts->page_size differs from the file's);
              DIGBY_INVALID also for a key that is not 16 or 32 bytes, an
              empty passphrase, both a key and a passphrase, or an unknown
              cipher;
              DIGBY_CORRUPT (neither meta page verifies, or the file is
              truncated below what the meta page records; or its
              write-ahead log is damaged before commits that were synced,
              or lost a meta page the log after it needs: FORMAT.md 11.1);
              DIGBY_BUSY (another handle holds a conflicting lock: a
              read-write handle in log mode, a handle on an encrypted file
              or on a VFS without the lock file excludes every other, and
              handles that share the file exclude it; or 1,020 handles
              share the file already, or a lock file of another format is
              in use);
              DIGBY_WRONGKEY (the file is encrypted and the key or
              passphrase does not match its key check value, or none was
              given; or a key was given for an unencrypted file);
              DIGBY_NOFEATURE (an encrypted file, or a key, in a
              DIGBY_NO_CRYPTO build; opts->compression is
              DIGBY_COMPRESS_LZ4 in a build with DIGBY_NO_LZ4);
              DIGBY_IOERR (also: the entropy source failed); DIGBY_FULL;
              DIGBY_NOMEM.
   Threads:   a handle may be shared by threads (unless DIGBY_NO_THREADS).
              It must not be used in a child process after fork() (its
              memory map, lock and cache belong to the parent): open the
              file again there.
   Processes: handles in this process and others share the file (README
              "Processes"): a read-write handle waits for the writer lock
              while it reads the file.  The lock file PATH-lock stays after
              close (16 KiB; it holds no data).
   Technique: shadow paging with two alternating meta pages; open picks the
              newest meta page whose checksum verifies (no recovery step).
              Encrypted files: AES-GCM per page under a random data key,
              wrapped by the user's key (raw, or PBKDF2-HMAC-SHA-256 from
              a passphrase, RFC 8018); see FORMAT.md section 10. */
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

/* The commit id that open set aside (0 if none, or db is NULL): the newest
   meta page named it, but the pages that commit wrote did not all verify
   -- a commit cut short by a crash before its sync returned, or damage --
   so the handle opened the commit before it (FORMAT.md section 3: a commit
   writes its pages and meta page, then syncs once).  A crash never sets
   aside a commit whose digby_txn_commit returned DIGBY_OK without
   DIGBY_OPEN_NO_SYNC.  The next commit reuses the set-aside commit's meta
   slot.  No memory is owned. */
DIGBY_API uint64_t digby_discarded_txid(const digby_db *db);

/* Change the key an encrypted database is opened with: rewrap its data key
   under a new passphrase or raw key.  Only the header (the meta pages)
   changes: two commits write the new header to both meta pages, so a
   power cut leaves the file readable under the old or the new key, and
   once this returns only the new key opens it.
   Params:    passphrase (in): NUL-terminated, or NULL; key/key_bytes (in):
              a raw key of 16 or 32 bytes, or NULL.  Exactly one of them.
              A passphrase is derived with opts->kdf_iterations of the
              digby_open() call (0: 600000) and a fresh random salt.
   Returns:   DIGBY_OK; DIGBY_INVALID (NULL db, both or neither key, bad key
              length, an unencrypted database); DIGBY_READONLY;
              DIGBY_NOFEATURE (DIGBY_NO_CRYPTO build); the errors of
              digby_txn_begin() and digby_txn_commit().  Other handles that
              share the file keep working: the data key is the same, and
              each takes the new header in with the next commit it reads,
              so that its own commits carry it (FORMAT.md section 14).
   Threads:   waits for the read-write transaction like digby_txn_begin();
              must not be called from a thread that holds one.
   Technique: key wrapping with AES-256-GCM under a key-encryption key
              derived (HMAC-SHA-256) from the user key; the user key is
              checked against a key check value first (FORMAT.md 10.2). */
DIGBY_API int digby_change_passphrase(digby_db *db, const char *passphrase,
                                      const uint8_t *key, size_t key_bytes);

/* Rotate the data key of an encrypted database: a new random data key, and
   every page of the last commit copied to a new page sealed under it, in
   one transaction; then the header switch (two commits, as in
   digby_change_passphrase()).  A power cut at any moment leaves the old
   or the new state, each complete and readable with the same user key.
   Runs by itself when a data key has sealed opts->rekey_after_writes
   pages (checked after each commit).
   Params:    cipher: DIGBY_CIPHER_AES128_GCM or _AES256_GCM to change the
              cipher too, 0 to keep it.
   Cost:      the tree pages of the whole database are held in memory until
              the commit (overflow pages are copied one at a time), and the
              file needs room for a second copy of every page.  Pages freed
              by the copy still hold data under the old key until reused.
   Returns:   DIGBY_OK; DIGBY_INVALID (NULL db, unknown cipher, unencrypted
              database); DIGBY_READONLY; DIGBY_BUSY (another transaction of
              this handle is live: a snapshot must not outlive its key; or
              another handle, in this process or another, has the file open:
              it holds the old data key -- close it first);
              DIGBY_WRONGKEY (another handle changed the passphrase since
              this one opened: this handle cannot wrap a new data key under
              it; reopen with the new passphrase); DIGBY_NOFEATURE
              (DIGBY_NO_CRYPTO build); DIGBY_CORRUPT; the errors of
              digby_txn_commit().  The automatic rotation skips a commit
              for the same reasons and tries again after the next one.
   Threads:   while it runs, digby_txn_begin() of a read-only transaction
              returns DIGBY_BUSY, and another handle's digby_open() of the
              file returns DIGBY_BUSY (FORMAT.md section 14). */
DIGBY_API int digby_rekey(digby_db *db, uint32_t cipher);

/* One line of English for a result code; never NULL; static storage. */
DIGBY_API const char *digby_strerror(int rc);

/* The library version ("0.2.0") and the features compiled in, as a static
   string such as "digby 0.2.0 threads posix mmap log lz4 xxhash32 aes-gcm"
   ("mmap": this build reads files through a memory map unless
   DIGBY_OPEN_NO_MMAP; "log": log mode, DIGBY_OPEN_LOG, is compiled in). */
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
   Params:    key/key_bytes: 0 .. 4 GiB - 1 bytes (key may be NULL only when
              key_bytes is 0; keys longer than digby_max_key_bytes(db) are
              large keys, kept in overflow pages); val/val_bytes: 0 .. 4 GiB
              - 1 bytes.
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
   Returns:   DIGBY_OK; DIGBY_NOTFOUND; DIGBY_INVALID; DIGBY_BUSY (as
              digby_txn_begin() of a snapshot: max_readers snapshots live,
              or digby_rekey() running); DIGBY_NOFEATURE (a compressed
              value or large key in a build without lz4); DIGBY_CORRUPT;
              DIGBY_IOERR; DIGBY_NOMEM. */
DIGBY_API int digby_get(digby_db *db, const void *key, size_t key_bytes,
                        void **val, size_t *val_bytes, uint64_t *version);

/* Delete key from the global tree, committing at once.
   Returns:   DIGBY_OK; DIGBY_NOTFOUND; the errors of digby_put(). */
DIGBY_API int digby_delete(digby_db *db, const void *key, size_t key_bytes);

/* The longest key kept whole in a leaf page, in bytes (depends on page
   size: 990 at 4096, 94 at 512).  Longer keys, up to 4 GiB - 1 bytes, are
   large keys: the whole key goes to overflow pages and the tree keeps its
   first bytes and its SHA-256 (FORMAT.md section 6a); they work in every
   call, at the cost of reading overflow pages when keys share those first
   bytes. */
DIGBY_API size_t digby_max_key_bytes(const digby_db *db);

/* ======================================================================== */
/* Transactions                                                             */
/* ======================================================================== */

/* Begin a transaction.
   Params:    flags: 0 for read-write, DIGBY_TXN_READONLY for a snapshot;
              DIGBY_TXN_NO_SYNC (log mode: commit without a sync);
              DIGBY_TXN_NOWAIT (read-write: DIGBY_BUSY at once instead of
              waiting for another thread's, handle's or process's
              read-write transaction to end).
   Ownership: end it with digby_txn_commit() or digby_txn_abort(), which
              free it; its tables and cursors must not be used afterwards.
   Returns:   DIGBY_OK; DIGBY_INVALID; DIGBY_READONLY (read-write txn on a
              read-only handle); DIGBY_BUSY (max_readers snapshots live, or
              digby_rekey() is rewriting the database, or with
              DIGBY_TXN_NOWAIT another read-write transaction is live);
              DIGBY_POISONED (a sync failed earlier: reopen the database);
              DIGBY_CORRUPT and DIGBY_IOERR (the newest commit of another
              handle sharing the file, whose meta page or freelist this
              one reads first, could not be read); DIGBY_NOMEM; log mode,
              a read-write transaction on a handle whose log was dropped
              (by digby_rekey(), or a digby_compact() that failed before it
              started the log again): the checkpoint that starts a new log,
              DIGBY_IOERR, DIGBY_FULL, DIGBY_CORRUPT.
   Threads:   one read-write transaction at a time: a second begin from
              another thread waits until the first ends (from the same
              thread it would wait forever).  Read-only transactions run
              concurrently with everything and see the snapshot of the last
              commit before they began, unchanged by later commits.  A
              transaction is used by one thread at a time.
   Processes: the same across every handle on the file, in this process
              or others (see "Processes" in README.md): one read-write
              transaction at a time among them all; a snapshot sees every
              commit any of them made before it began.  Technique: LMDB's
              reader table and writer lock in a lock file. */
DIGBY_API int digby_txn_begin(digby_db *db, unsigned flags, digby_txn **out);

/* Commit: write the new pages and the other meta page, then sync once (the
   first commit after open syncs the pages before writing the meta page:
   two syncs).  When it returns DIGBY_OK the commit is durable.  The
   transaction is freed whatever the result; on failure nothing of it is
   visible in this handle, nor after a reopen, except when the failure was
   the final sync: its meta page may have reached the disk, so a reopen
   finds the commit whole or not at all (never in part).  A read-only
   transaction just ends.
   In log mode (DIGBY_OPEN_LOG) a commit appends one record to the
   write-ahead log and syncs it (FORMAT.md section 11): no tree page, no
   meta page.  The writer lock is let go before the sync, so the next
   writer runs while this one waits, and threads that commit at the same
   time share one sync (group commit: whichever of them syncs first covers
   every record written by then).  New read-only transactions see the
   commit once it is durable; one begun with DIGBY_TXN_NO_SYNC is visible
   at once (after any durable commit before it), durable after a later
   durable commit, a checkpoint or digby_sync().  A failed sync fails
   every commit it was to cover with DIGBY_IOERR, and poisons the handle.
   Returns:   DIGBY_OK; DIGBY_POISONED (an operation in it failed earlier);
              DIGBY_IOERR/DIGBY_FULL (not committed in this handle; after a
              failed sync the handle refuses writes until reopened, and the
              reopened file may hold the commit; DIGBY_IOERR also
              when the entropy source failed); DIGBY_NOMEM;
              DIGBY_BUSY (encrypted: the data key has sealed 2^32 - 2^24
              pages and could not be rotated while snapshots were live:
              end them, call digby_rekey()); DIGBY_INVALID (NULL);
              DIGBY_CORRUPT (a page the commit had to read to write the
              catalog or free a dropped table's pages failed verification;
              in a debug build also a page it was about to write was
              wrong); DIGBY_NOFEATURE (as digby_txn_put()).
              Before a DIGBY_OK returns, the commit hook
              (digby_options.on_commit) has run, and in an encrypted file
              whose data key passed rekey_after_writes, digby_rekey() has
              run (unless other transactions were live: a later commit
              tries again).
   Technique: shadow paging ("B-trees, Shadowing, and Clones", Rodeh 2008);
              one sync per commit is safe because every parent entry
              records its child's txid and open verifies every page the
              newest commit wrote, falling back to the previous commit if
              one did not reach the disk (LMDB syncs twice per commit; redb
              reaches one sync with checksums in its parent pointers). */
DIGBY_API int digby_txn_commit(digby_txn *txn);

/* Discard the transaction and everything it wrote; frees it.  NULL is
   accepted.  Open cursors of the transaction are closed too. */
DIGBY_API void digby_txn_abort(digby_txn *txn);

/* Take a savepoint in a read-write transaction: a mark that
   digby_rollback_to() returns the transaction to and digby_release()
   lets go of.  Savepoints nest: each new one is inside the ones before
   it, up to DIGBY_MAX_SAVEPOINTS (255) live at once.  Puts, deletes,
   streaming puts finished since, tables created, opened or dropped since,
   large keys and overflow values are all covered, in copy-on-write and in
   log mode (a transaction that escalates to the tree after a savepoint
   keeps its savepoints; the checkpoint the escalation runs, of other
   transactions' commits, is never undone).  Commit releases every live
   savepoint; abort discards them with the rest.
   Params:    txn (in): a read-write transaction.
              id_out (out): the savepoint's id, nonzero, never reused in
                         this transaction; 0 on failure.
   Ownership: the savepoint belongs to the transaction; nothing to free.
   Cost:      a copy of the transaction's list of pages it freed and may
              reuse (8 bytes a page) and of its table handles'
              descriptors; then, while it lives, one page (page_size
              bytes) for each page this transaction had written before it
              and writes again after it (the copy the write goes to), 12
              to 16 bytes per page allocated while savepoints live, and in
              log mode a new memtable entry (key and value) and 8 bytes
              for each entry written again.
   Returns:   DIGBY_OK; DIGBY_INVALID (NULL txn or id_out); DIGBY_READONLY
              (a read-only transaction); DIGBY_POISONED (an earlier failure
              poisoned the transaction: only abort works); DIGBY_BUSY (a
              streaming put is unfinished, or a record table is open in
              the transaction: savepoints do not cover record tables, and
              digby_rtable_open() returns DIGBY_BUSY while one is live);
              DIGBY_FULL (DIGBY_MAX_SAVEPOINTS are live); DIGBY_NOMEM
              (nothing changed: the transaction goes on).
   Threads:   as the transaction (one thread at a time).
   Technique: SQLite's SAVEPOINT semantics (sqlite.org/lang_savepoint.html);
              the mechanism inverts LMDB's nested transactions, which copy
              a page into the child's dirty list on its first write there:
              pages written before the newest savepoint are frozen, and a
              write copies one to a new page as copy-on-write copies a
              committed page. */
DIGBY_API int digby_savepoint(digby_txn *txn, uint32_t *id_out);

/* Undo everything the transaction did since savepoint `id`; the savepoint
   stays (it can be rolled back to again), every newer one is discarded.
   Table handles opened (or created) since are void: every call with one
   returns DIGBY_BADTXN (open the table again; a table created since no
   longer exists); handles opened before have the savepoint's state (a
   table dropped since is back).  Every cursor of the transaction stays
   open but is unpositioned, as if just opened: digby_cursor_get() returns
   DIGBY_NOTFOUND, next/prev start from the first/last entry (a cursor on
   a void table handle returns DIGBY_BADTXN).
   Params:    txn (in): a read-write transaction; id: a live savepoint's id.
   Ownership: memory digby_txn_get(), digby_cursor_get() and the like
              returned before the rollback is invalid after it.
   Returns:   DIGBY_OK; DIGBY_INVALID (NULL txn); DIGBY_READONLY;
              DIGBY_POISONED; DIGBY_NOTFOUND (no live savepoint has this
              id: never taken, released, or discarded by a rollback to an
              older one); DIGBY_BUSY (a streaming put is unfinished: finish
              or abort it first); DIGBY_NOMEM (copy-on-write mode: room
              for the page lists it refills; nothing changed, the
              transaction goes on).
   Technique: pages written since go back to the transaction's own free
              list (the file does not shrink), overflow pages written to
              the file since wait for the commit: no page is written twice
              before the commit's sync. */
DIGBY_API int digby_rollback_to(digby_txn *txn, uint32_t id);

/* Let go of savepoint `id` and every newer one: what was done since stays
   part of the transaction (of the enclosing savepoint, if any); nothing
   else changes (cursors and table handles stay as they are).  Frees the
   page copies no remaining savepoint needs.
   Params:    txn (in): a read-write transaction; id: a live savepoint's id.
   Returns:   DIGBY_OK; DIGBY_INVALID (NULL txn); DIGBY_READONLY;
              DIGBY_POISONED; DIGBY_NOTFOUND (no live savepoint has this
              id); DIGBY_NOMEM (nothing changed). */
DIGBY_API int digby_release(digby_txn *txn, uint32_t id);

/* The transaction's id: for a read-write transaction the id its writes will
   carry as their version; for a read-only one the id of its snapshot. */
DIGBY_API uint64_t digby_txn_id(const digby_txn *txn);

/* Store a key/value pair.  `table` NULL means the global tree.
   Params:    flags: 0 or DIGBY_PUT_NOOVERWRITE, with at most one of
              DIGBY_PUT_COMPRESS and DIGBY_PUT_NO_COMPRESS (overriding
              digby_options.compression for this put).  key: 0 .. 4 GiB - 1
              bytes (past digby_max_key_bytes() a large key); val: 0 .. 4
              GiB - 1 bytes (values too large for a leaf go to overflow
              pages).  Both are copied; the caller keeps ownership.  A large
              key or value is compressed with lz4 when that is asked for and
              saves pages.
   Returns:   DIGBY_OK; DIGBY_EXISTS (NOOVERWRITE and the key is present);
              DIGBY_INVALID (also both compression flags);
              DIGBY_NOFEATURE (DIGBY_PUT_COMPRESS without lz4; a large key
              it must compare with is compressed and this build has no lz4);
              DIGBY_TOOBIG (key or value of 4 GiB or more); DIGBY_READONLY;
              DIGBY_BADTXN
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
              DIGBY_POISONED (a failed write poisoned the transaction);
              DIGBY_NOFEATURE (the value, or a large key on the way, is
              compressed and this build has no lz4); DIGBY_CORRUPT;
              DIGBY_IOERR (or DIGBY_FULL, when a VFS's read reports it: a
              VFS's error reaches the caller unchanged); DIGBY_NOMEM. */
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

/* Delete every key k of a table (NULL: the global tree) with
   lo <= k < hi, in one call (RocksDB's DeleteRange, for the user).
   Params:    lo/lo_bytes (in): the first key to delete, 0 .. 4 GiB - 1
              bytes; NULL (lo_bytes 0): from the first key (the empty
              key is the smallest there is, so "" means the same).
              hi/hi_bytes (in): the first key to keep; NULL (hi_bytes 0):
              to the last key.  A non-NULL hi of 0 bytes is the empty
              key: nothing is below it.  Bounds need not be stored keys
              and may be longer than digby_max_key_bytes(); keys compare
              bytewise, a proper prefix first.  lo == hi deletes nothing.
              deleted (out, may be NULL): how many keys went (0 on any
              error).
   Ownership: the bounds are read during the call only.
   Cost:      the two root-to-leaf paths of lo and hi are copied (as two
              deletes would); a subtree wholly inside the range is freed
              whole: its pages are read, once each, for the overflow items
              its leaves own and for the count, but no key in it is looked
              up and none of its pages is copied or written.  Its pages,
              and every overflow page of a value or large key in the range,
              are free once no snapshot can see them (the next
              transactions reuse them).  In copy-on-write mode nothing is
              written when nothing is in the range.  In log mode
              (DIGBY_OPEN_LOG) the range is cut in the tree: unless lo ==
              hi the transaction first escalates as digby_table_drop()
              does -- a checkpoint merges the committed memtable into the
              tree, its own puts and deletes go to the tree -- and goes on
              and commits as a copy-on-write transaction (one meta page,
              one sync; a checkpoint's worth of writes, whatever the
              range).
   Returns:   DIGBY_OK (also when nothing was in the range); DIGBY_INVALID
              (NULL txn, a NULL bound with a length, lo > hi);
              DIGBY_TOOBIG (a bound of 4 GiB or more); DIGBY_READONLY;
              DIGBY_BADTXN (table of another transaction, or dropped);
              DIGBY_POISONED; DIGBY_NOFEATURE (a compressed large key the
              bounds must be compared with, in a build without lz4);
              DIGBY_CORRUPT; DIGBY_IOERR; DIGBY_FULL; DIGBY_NOMEM.  Any
              error except INVALID, TOOBIG, READONLY, BADTXN and POISONED
              poisons the transaction (part of the range may be gone):
              after it only digby_txn_abort() works; committed data is
              never touched.
   Threads:   the transaction's thread.  Its cursors behave as after
              digby_txn_delete(): each re-finds its place by key; one on a
              deleted key reads DIGBY_NOTFOUND, and next/prev move on from
              where that key was.  Snapshots begun before the commit keep
              seeing every deleted key.
   Technique: a whole subtree is freed as LMDB's mdb_drop and bbolt's
              DeleteBucket free a whole tree, here only between the two
              edge paths; the edge leaves are trimmed; pages left empty
              are freed and unlinked, never merged (Sen & Tarjan, as in
              digby_txn_delete()), and a root with one child gives way to
              it. */
DIGBY_API int digby_txn_delete_range(digby_txn *txn, digby_table *table,
                                     const void *lo, size_t lo_bytes,
                                     const void *hi, size_t hi_bytes,
                                     uint64_t *deleted);

/* ---- Streaming value I/O --------------------------------------------------

   In the spirit of SQLite's incremental blob I/O: read a byte range of a
   value without reading the rest, and write a value of known length in
   pieces.  Memory stays bounded by a few pages (and two 64 KiB chunks for
   compressed values) whatever the value's size: a value in overflow pages
   has an index that leads straight to the page, or the compressed chunk,
   holding an offset (FORMAT.md section 6). */

/* Copy up to len bytes of key's value, from byte `offset` on, to buf.
   Params:    offset: any; past the end gives *got_bytes 0.  buf may be NULL
              when len is 0 (to learn the length).  got_bytes (out): bytes
              copied, len unless the value ends first.  val_bytes (out, may
              be NULL): the value's whole length.
   Returns:   DIGBY_OK; DIGBY_NOTFOUND; DIGBY_INVALID; DIGBY_BADTXN;
              DIGBY_POISONED; DIGBY_NOFEATURE (compressed, no lz4);
              DIGBY_CORRUPT; DIGBY_IOERR; DIGBY_NOMEM.
   Technique: a compressed value decompresses only the 64 KiB chunks the
              range touches (the last one is kept for the next call). */
DIGBY_API int digby_txn_get_range(digby_txn *txn, digby_table *table,
                                  const void *key, size_t key_bytes,
                                  uint64_t offset, void *buf, size_t len,
                                  size_t *got_bytes, uint64_t *val_bytes);

/* A value being written in pieces (digby_txn_put_begin). */
typedef struct digby_blob digby_blob;

/* Begin a put whose value, total_bytes long, comes in pieces through
   digby_blob_write(); digby_blob_finish() stores it.
   Params:    key/key_bytes, flags: as digby_txn_put() (NOOVERWRITE is
              checked here and again at finish).  total_bytes: 0 .. 4 GiB - 1.
   Ownership: *out belongs to the transaction: end it with
              digby_blob_finish() or digby_blob_abort(); commit and abort
              drop an unfinished one (nothing is stored).  The key is copied
              (a large key is written at once).
   Returns:   DIGBY_OK; DIGBY_BUSY (the transaction has an unfinished
              streaming put already: one at a time); the errors of
              digby_txn_put().
   Threads:   the transaction's thread; other puts, deletes and cursors of
              the transaction may be used between the pieces. */
DIGBY_API int digby_txn_put_begin(digby_txn *txn, digby_table *table,
                                  const void *key, size_t key_bytes,
                                  uint64_t total_bytes, unsigned flags,
                                  digby_blob **out);

/* Append len bytes to the value.  Pieces of any size; a large value's full
   pages go to the file at once.
   Returns:   DIGBY_OK; DIGBY_INVALID (more bytes than declared; nothing
              taken); DIGBY_POISONED; DIGBY_IOERR, DIGBY_FULL, DIGBY_NOMEM
              (which poison the transaction). */
DIGBY_API int digby_blob_write(digby_blob *b, const void *buf, size_t len);

/* Store the value: all total_bytes must have been written.  Frees b
   (except on DIGBY_INVALID, when it stays open).
   Returns:   DIGBY_OK; DIGBY_INVALID (fewer bytes than declared);
              DIGBY_EXISTS (NOOVERWRITE and the key appeared meanwhile;
              nothing stored); DIGBY_BADTXN (its table was dropped); the
              errors of digby_txn_put(). */
DIGBY_API int digby_blob_finish(digby_blob *b);

/* Give the value up: nothing is stored, its pages are freed; frees b.
   NULL is accepted. */
DIGBY_API void digby_blob_abort(digby_blob *b);

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
              DIGBY_CORRUPT; DIGBY_IOERR; DIGBY_FULL (log mode: the
              checkpoint a CREATE runs first writes the tree, and the disk
              is full); DIGBY_NOMEM. */
DIGBY_API int digby_table_open(digby_txn *txn, const char *name,
                               unsigned flags, digby_table **out);

/* Drop a named table and free all its pages.  Its handle, if open in this
   transaction, gives DIGBY_BADTXN from then on.
   Returns:   DIGBY_OK; DIGBY_NOTFOUND; DIGBY_INVALID; DIGBY_READONLY;
              DIGBY_POISONED; DIGBY_CORRUPT; DIGBY_IOERR; DIGBY_FULL (the
              file could not grow: in log mode the drop escalates, a
              checkpoint; or a VFS's read reported it); DIGBY_NOMEM. */
DIGBY_API int digby_table_drop(digby_txn *txn, const char *name);

/* Call fn once per table, in name order, with the name (not NUL-terminated,
   valid during the call only) and its entry count.  A non-zero return from
   fn stops the walk and is returned.
   Returns:   DIGBY_OK; fn's non-zero value, whatever it is (even one equal
              to a digby code); DIGBY_INVALID; DIGBY_POISONED; DIGBY_NOFEATURE
              (a compressed large table name in a build without lz4);
              DIGBY_CORRUPT; DIGBY_IOERR; DIGBY_NOMEM.  In a read-write
              transaction open tables' counts are written to the catalog
              first: a failure there poisons the transaction (DIGBY_FULL
              too). */
DIGBY_API int digby_table_list(digby_txn *txn,
                               int (*fn)(void *ctx, const char *name,
                                         size_t name_bytes, uint64_t entries),
                               void *ctx);

/* Number of key/value pairs in a table (NULL: the global tree), as the
   transaction sees it (its own writes included).  Reads no page.
   Params:    entries (out): the count.
   Returns:   DIGBY_OK; DIGBY_INVALID (NULL txn or entries); DIGBY_BADTXN
              (a table of another transaction, or dropped). */
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

/* Read the entry under the cursor.  Any out pointer may be NULL.  A value
   in overflow pages, and a large key, are read whole into memory only
   when asked for (pass NULL to skip them; digby_cursor_get_range() reads
   part of a value).
   Ownership: key and value point into memory owned by the cursor, valid
              until it moves, is closed, or its transaction writes.
   Returns:   DIGBY_OK; DIGBY_NOTFOUND (unpositioned, or the entry was
              deleted in this transaction); DIGBY_NOFEATURE (a compressed
              key or value in a build without lz4); DIGBY_CORRUPT;
              DIGBY_IOERR; DIGBY_NOMEM. */
DIGBY_API int digby_cursor_get(digby_cursor *cur, const void **key,
                               size_t *key_bytes, const void **val,
                               size_t *val_bytes, uint64_t *version);

/* Copy up to len bytes of the value under the cursor, from byte `offset`
   on, to buf (digby_txn_get_range() for the entry under a cursor).
   Returns:   DIGBY_OK; DIGBY_NOTFOUND (unpositioned, or the entry was
              deleted); DIGBY_INVALID; the errors of digby_txn_get_range(). */
DIGBY_API int digby_cursor_get_range(digby_cursor *cur, uint64_t offset, void *buf,
                                     size_t len, size_t *got_bytes,
                                     uint64_t *val_bytes);

/* ======================================================================== */
/* Statistics and integrity                                                 */
/* ======================================================================== */

/* Make every commit made with DIGBY_TXN_NO_SYNC durable: one sync of the
   file if any is pending (log mode); nothing otherwise.
   Returns:   DIGBY_OK; DIGBY_INVALID (NULL db); DIGBY_POISONED (a write or
              sync failed earlier: reopen); DIGBY_IOERR (the sync failed:
              the handle refuses writes until reopened).
   Threads:   waits for the read-write transaction, if one is live. */
DIGBY_API int digby_sync(digby_db *db);

/* Log mode: merge the memtable into the tree now (a checkpoint: the
   memtable's newest versions merged in key order into copy-on-write
   commits -- one, or past its memory budget of a quarter of
   memtable_bytes or half the cache (16 pages to 8 MiB) several parts,
   the last of which moves the log's head -- then the log space before it
   is reused).  Nothing in copy-on-write mode.
   Returns:   DIGBY_OK; DIGBY_INVALID (NULL db); DIGBY_READONLY (a
              read-only handle); DIGBY_POISONED; DIGBY_IOERR; DIGBY_FULL;
              DIGBY_NOMEM; DIGBY_CORRUPT (a page the merge read failed
              verification).
   Threads:   waits for the read-write transaction, if one is live;
              snapshots that began before it keep reading what they saw.
   Technique: a checkpoint of a logical redo log into a copy-on-write
              B-tree, as WiredTiger's checkpoints and SQLite's WAL
              checkpoints (which copy pages, not entries). */
DIGBY_API int digby_checkpoint(digby_db *db);

/* Hot backup: write a consistent copy of the last committed snapshot to
   a new file at `path`, while writers go on.  The copy opens (with the
   same passphrase or key, if the database is encrypted) as a database
   whose newest commit is that snapshot, with every key, value, version
   and table of it, and passes digby_check().
   Two ways, by flags:
   - plain (0): the snapshot's pages [2, page_count) are copied byte for
     byte (sealed pages stay sealed: same data key, same file UUID), and
     a meta page naming the snapshot is written.  The copy has the
     source's free pages and layout; its size is the snapshot's
     page_count pages.  Pages are copied unread by the tree code: damage
     in the source is copied too (digby_check() the copy to find it).
   - DIGBY_BACKUP_COMPACT: every tree is written afresh from the
     snapshot's entries in key order, with no free page and its leaves
     packed full (an append fills a page before it starts the next);
     every entry keeps its version, every table (record tables too)
     comes along, large keys and overflow values are written again,
     compressed as they were in the source.  Page size, cipher and data
     key stay.  Opening it the first time verifies all its tree pages
     (they are the newest commit's: FORMAT.md section 3).
   Log mode (DIGBY_OPEN_LOG): a snapshot whose newest commits sit in the
   memtable and the log (not yet checkpointed into the tree), or whose
   meta page names a live log, is always written compacted, from the
   merged view a read-only transaction sees: a page copy would miss the
   memtable, and the live file is never checkpointed by a backup.  The
   copy has no log.
   The copy is written to `path` followed by ".digby-tmp" (a leftover
   from a crash is overwritten), synced, and renamed to `path` (the
   directory synced: vfs->rename), so `path` never names a partial
   copy: a crash leaves no file there or the whole copy.  On any failure
   the temporary file is removed and the source is untouched.
   Params:    db (in): the database; any mode, read-only handles too.
              path (in): the copy's file name, NUL-terminated; must not
                         name the database itself.
              vfs (in): the VFS to create the copy with, or NULL for the
                        db's own; it needs rename and remove (version 3).
              flags: 0, or DIGBY_BACKUP_COMPACT and/or DIGBY_BACKUP_REPLACE
                     (replace an existing file at path, atomically;
                     without it an existing file is DIGBY_EXISTS).
   Cost:      one read-only snapshot held for the whole copy (pages it
              reaches are not reused meanwhile, so the source file may
              grow); plain: the copy's size in reads and writes, memory a
              64-page buffer.  Compact: memory about 4 MiB of dirty leaves
              (written early past it, as a checkpoint spills), the
              branches, and the largest key and value of the snapshot,
              each read whole.
   Ownership: nothing to free; the copy's file is closed on return.
   Returns:   DIGBY_OK; DIGBY_INVALID (NULL db or path, unknown flags);
              DIGBY_EXISTS (path exists and no DIGBY_BACKUP_REPLACE;
              nothing written); DIGBY_NOFEATURE (the VFS has no rename or
              remove; a compressed item in a DIGBY_NO_LZ4 build);
              DIGBY_BUSY (as digby_txn_begin() of a snapshot; or another
              backup to the same path holds its temporary file);
              DIGBY_CANTOPEN (the temporary file could not be created);
              DIGBY_IOERR, DIGBY_FULL (writing or syncing the copy, or
              reading the source; the temporary file is removed);
              DIGBY_CORRUPT (the source's file is shorter than its meta
              page counts, or a page the compacting copy read failed
              verification); DIGBY_NOMEM.
   Threads:   runs beside readers and writers of db (and its checkpoints)
              in its own snapshot, from any thread (a read-write
              transaction the caller holds is not in the copy: it is not
              committed); digby_rekey() meanwhile is DIGBY_BUSY.  One
              backup to a given path at a time.
   Technique: LMDB's mdb_env_copy2 (a snapshot's pages copied, or with
              MDB_CP_COMPACT its trees rewritten packed, the copy written
              under a read transaction); the write-to-temporary, sync,
              rename and directory sync of RocksDB's BackupEngine and of
              ALICE (OSDI 2014). */
DIGBY_API int digby_backup(digby_db *db, const char *path, const digby_vfs *vfs,
                           unsigned flags);

/* Compact in place: give the file's free space back to the file system.
   Three kinds of ordinary copy-on-write commit.  Repack: the cells of
   each run of sibling leaves that fits in fewer pages are laid out afresh
   in fewer new leaves, filled to 15/16 (deletes never merge leaves: this
   is what makes a tree that lost many keys dense again), repeated while
   free pages run short.  Relocate: live pages (tree pages of the global
   tree, every table and record table and the catalog, overflow values and
   large keys) that lie past a target are copied into the lowest free
   pages, their parents rewritten to point at the copies (an overflow item
   with a page past the target is copied whole, keeping its version).
   Shrink: the free pages that end the file leave the free list, the meta
   page's page_count drops below them and, once that commit is durable,
   the file is truncated to page_count pages.  The file format does not
   change (FORMAT.md section 8).
   What it cannot give back now it leaves for a later call: pages that a
   read-only transaction (snapshot) begun before the relocation still
   reaches stay pending until that snapshot ends, and the file is not
   truncated while digby_backup() or digby_check() walks an older
   snapshot (a plain backup reads every page its snapshot counts).  Call
   digby_compact() again after they end; the second call moves nothing
   and truncates.  The free pages that remain below the end stay in the
   file for reuse.
   Safe against a power cut at every step: each commit is an ordinary
   copy-on-write commit (the relocation's syncs its pages before its meta
   page, as the first commit of a session does), so open finds the state
   before or after each one; the truncation comes after the commit that
   stopped counting the pages, and a file left longer than its page_count
   opens.
   Log mode (DIGBY_OPEN_LOG): a checkpoint runs first and drops the log,
   as digby_close() does (the memtable's commits go into the trees, the
   log's pages become free); a last checkpoint starts a new log on the
   lowest free page (if the compaction failed before, the next read-write
   transaction does).  Encrypted files: copies are sealed as any
   write.
   Params:    db (in): a read-write handle.
              flags: 0, or DIGBY_COMPACT_TRUNCATE_ONLY (move nothing: one
                     commit gives back the free pages already at the end
                     of the file, as SQLite's incremental_vacuum frees
                     pages an autovacuum file already has at its end).
              file_bytes (out, may be NULL): the file's size in bytes when
                     it returns (DIGBY_OK only; 0 on failure).
   Cost:      walks of every tree (every branch and leaf page read, and
              the index pages of overflow items); writes the repacked
              leaves, the live pages past the target and their parents;
              two to a dozen commits (each a sync; the relocation's two).  The free pages
              below the target must hold the pages that move: a nearly
              full file shrinks little.  Memory: the writer's dirty pages
              (past 4 MiB of them, leaves are written early, as a
              checkpoint's), a repacking run's leaves (32 pages at most)
              and a sorted copy of the pending lists.
   Ownership: nothing to free.
   Returns:   DIGBY_OK (also when nothing could be given back);
              DIGBY_INVALID (NULL db, unknown flags); DIGBY_READONLY (a
              DIGBY_OPEN_READONLY handle); DIGBY_POISONED (a failed sync
              or meta write earlier: reopen); DIGBY_CORRUPT (a page read
              failed verification; nothing committed by the failing step);
              DIGBY_IOERR, DIGBY_FULL (writing, syncing or truncating; a
              failed sync poisons the handle as any commit's);
              DIGBY_NOFEATURE (a compressed item in a build without lz4
              must move); DIGBY_NOMEM.  A failure after an earlier step
              committed leaves that step done: the file is consistent.
   Threads:   takes the writer lock for its whole run (a read-write
              transaction begun meanwhile waits; one held by this thread
              deadlocks); readers go on throughout in their snapshots.
   Technique: SQLite's incremental vacuum and autovacuum (pages from the
              end of the file moved into free pages, the parent pointer
              rewritten, then the file truncated: sqlite3BtreeIncrVacuum,
              relocatePage); the relocation is a copy-on-write commit
              instead of a journaled in-place move, so readers keep their
              snapshots.  Repacking: SQLite's balance_nonroot (siblings'
              cells redistributed over fewer pages).  Contrast LMDB's mdb_copy -c (MDB_CP_COMPACT),
              which writes a compacted copy to a new file instead
              (digby_backup() with DIGBY_BACKUP_COMPACT here). */
DIGBY_API int digby_compact(digby_db *db, unsigned flags, uint64_t *file_bytes);

/* Count the pages of the last committed snapshot by type.  It is
   digby_check()'s walk: every page of the file is read and verified, so
   it costs a full read of the database (and fails as digby_check() does
   on damage).
   Params:    out (out): the figures; zeroed first.
   Returns:   DIGBY_OK; DIGBY_INVALID (NULL db or out); DIGBY_CORRUPT;
              DIGBY_NOFEATURE (a compressed large key in a build without
              lz4); DIGBY_IOERR; DIGBY_NOMEM; DIGBY_BUSY (as
              digby_txn_begin() of a snapshot). */
DIGBY_API int digby_stat(digby_db *db, digby_stats *out);

/* Verify the whole last committed snapshot: every page's checksum, page
   number, type and writer transaction id; key order inside pages and
   across branch separators; tree depth; every page of the file reachable
   exactly once from the trees, overflow items, the freelist or the
   pending frees, or the live write-ahead log (log mode, FORMAT.md 11.4:
   its written pages verified) (no leak, no double use, no cycle).
   Large keys are read whole: their first bytes and SHA-256 must match.
   For every record table (06_record.h): its schema decodes, every row
   fits it, and each index holds exactly the rows' entries (FORMAT.md
   section 13.5).
   Params:    report (out, may be NULL): what was found.
   Returns:   DIGBY_OK (clean); DIGBY_CORRUPT (report says where);
              DIGBY_NOFEATURE (a compressed large key in a build without
              lz4); DIGBY_INVALID; DIGBY_IOERR; DIGBY_NOMEM; DIGBY_BUSY.
   Threads:   runs in its own read-only snapshot, beside writers. */
DIGBY_API int digby_check(digby_db *db, digby_check_report *report);
