/* Public types: handles, the allocator hooks, the VFS, options, stats. */

/* ---- Opaque handles --------------------------------------------------- */

typedef struct digby_db digby_db;         /* an open database file */
typedef struct digby_txn digby_txn;       /* a transaction (read-only or read-write) */
typedef struct digby_table digby_table;   /* a named table inside a transaction */
typedef struct digby_cursor digby_cursor; /* a position in one tree */

/* ---- Allocator hooks -------------------------------------------------- */

/* All memory the library uses comes through these three functions.  `ctx` is
   passed to every call.  All three set, or all three NULL (the libc
   allocator, or DIGBY_MALLOC/DIGBY_REALLOC/DIGBY_FREE if defined).  A partial
   set makes digby_open() return DIGBY_INVALID. */
typedef struct digby_allocator {
    void *(*malloc_fn)(void *ctx, size_t size_bytes);
    void *(*realloc_fn)(void *ctx, void *ptr, size_t size_bytes);
    void (*free_fn)(void *ctx, void *ptr);
    void *ctx;
} digby_allocator;

/* ---- VFS: the pluggable I/O layer ------------------------------------- */

/* Flags for digby_vfs.open. */
#define DIGBY_VFS_READONLY  0x1u  /* open for reading only */
#define DIGBY_VFS_CREATE    0x2u  /* create the file if it does not exist */

/* Lock modes for digby_vfs.lock. */
#define DIGBY_LOCK_NONE      0   /* release the lock */
#define DIGBY_LOCK_SHARED    1   /* read-only handles: many may hold it */
#define DIGBY_LOCK_EXCLUSIVE 2   /* a read-write handle: excludes all others */

typedef struct digby_file digby_file; /* a VFS's own open-file object */

/* A VFS is a table of functions the pager calls for every byte of I/O.  Every
   function returns DIGBY_OK or a negative digby result (DIGBY_IOERR,
   DIGBY_FULL for no space, DIGBY_BUSY for a lock held elsewhere,
   DIGBY_CANTOPEN, DIGBY_NOMEM); never errno.  The VFS struct must outlive
   every database opened with it.  Structs only grow at the end; `version`
   says which members exist: 1 up to close, 2 adds map and unmap, 3
   adds rename and remove, 4 (DIGBY_VFS_VERSION) the lock file that lets
   processes share a database (shm_open, shm_lock, shm_close).  A version-1 VFS works,
   without memory-mapped reads; digby_backup() needs rename and remove. */
typedef struct digby_vfs {
    int version;   /* DIGBY_VFS_VERSION */
    void *ctx;     /* the VFS's own state */
    /* Open `path`; on success *out is a file the other functions accept.
       A newly created file is made durable in its directory before return. */
    int (*open)(const struct digby_vfs *vfs, const char *path, unsigned flags,
                digby_file **out);
    /* Read up to `len` bytes at `offset`; *got_bytes is how many were read
       (fewer only at end of file). */
    int (*read)(digby_file *f, uint64_t offset, void *buf, size_t len,
                size_t *got_bytes);
    /* Write exactly `len` bytes at `offset`, extending the file if needed. */
    int (*write)(digby_file *f, uint64_t offset, const void *buf, size_t len);
    /* Make every completed write durable (fdatasync). */
    int (*sync)(digby_file *f);
    /* Current file size in bytes. */
    int (*size)(digby_file *f, uint64_t *size_bytes);
    /* Set the file size in bytes. */
    int (*truncate)(digby_file *f, uint64_t size_bytes);
    /* Take or release an advisory lock on the whole file; never waits:
       a conflicting lock gives DIGBY_BUSY. */
    int (*lock)(digby_file *f, int mode);
    /* Close the file (releases its lock).  Never fails. */
    void (*close)(digby_file *f);
    /* ---- version 2; both may be NULL (then DIGBY_OPEN_MMAP reads through
       the cache as usual) ----
       Map the first `len_bytes` bytes of the file read-only and shared, so
       that writes through `write` show in the mapping at once; `len_bytes`
       may exceed the file's size (address space reserved for growth: digby
       only touches bytes inside the file).  *addr is the mapping's start,
       owned by the VFS until unmap.  Returns DIGBY_OK, or any error (say
       DIGBY_NOMEM): digby then reads through the cache, as with no map. */
    int (*map)(digby_file *f, uint64_t len_bytes, const void **addr);
    /* Undo one successful map (same address and length). */
    void (*unmap)(digby_file *f, const void *addr, uint64_t len_bytes);
    /* ---- version 3; both may be NULL (then digby_backup() to this VFS is
       DIGBY_NOFEATURE) ----
       Give file `from` the name `to`, atomically, and make the change
       durable (sync the directory) before return.  flags: DIGBY_VFS_REPLACE
       replaces an existing `to`; without it an existing `to` is
       DIGBY_EXISTS and nothing changes.  Neither file is open. */
    int (*rename)(const struct digby_vfs *vfs, const char *from, const char *to,
                  unsigned flags);
    /* Delete file `path` (not open); DIGBY_CANTOPEN if there is none. */
    int (*remove)(const struct digby_vfs *vfs, const char *path);
    /* ---- version 4; all three may be NULL (then a read-write handle keeps
       the file to itself, as before: other handles get DIGBY_BUSY) ----
       The lock file that lets processes share the database (FORMAT.md
       section 14): a file beside database `path` (the POSIX VFS names it
       path + "-lock"), created if missing, at least `len_bytes` long
       (grown with zeros), mapped read-write and shared into *addr, which
       stays valid until shm_close.  Its bytes are not data: a crash may
       leave anything there.  Returns DIGBY_OK; DIGBY_READONLY where the
       lock file cannot be written (a read-only file system: digby then
       reads the database alone, as before); DIGBY_CANTOPEN; DIGBY_IOERR; DIGBY_FULL;
       DIGBY_NOMEM. */
    int (*shm_open)(digby_file *f, const char *path, size_t len_bytes, void **addr);
    /* Lock `len` bytes of the lock file at byte `offset` in `mode`
       (DIGBY_LOCK_NONE releases), held by this digby_file: a second handle
       on the same file, even in the same process, conflicts, and a process
       that dies loses its locks (fcntl open-file-description locks).  With
       DIGBY_SHM_WAIT it waits for a conflicting lock to go; without, a
       conflict is DIGBY_BUSY.  DIGBY_SHM_PROBE takes nothing and says
       whether another handle holds a lock there that would conflict
       (DIGBY_BUSY) or not (DIGBY_OK). */
    int (*shm_lock)(digby_file *f, uint32_t offset, uint32_t len, int mode);
    /* Unmap the lock file and close it (its locks go).  Never fails. */
    void (*shm_close)(digby_file *f);
} digby_vfs;

#define DIGBY_VFS_VERSION 4
#define DIGBY_SHM_WAIT  0x10       /* digby_vfs.shm_lock: wait for the lock */
#define DIGBY_SHM_PROBE 0x20       /* digby_vfs.shm_lock: test, take nothing */
#define DIGBY_VFS_REPLACE 0x1u  /* digby_vfs.rename: replace an existing file */

/* ---- Options ------------------------------------------------------------ */

/* Flags for digby_options.flags. */
#define DIGBY_OPEN_READONLY  0x1u  /* no write transactions; shared lock */
#define DIGBY_OPEN_NO_CREATE 0x2u  /* fail with DIGBY_CANTOPEN if missing */
#define DIGBY_OPEN_NO_SYNC   0x4u  /* skip syncs: an application crash loses
                                      nothing; an OS crash or power cut may
                                      lose recent commits or leave pages
                                      that read as DIGBY_CORRUPT (never
                                      silently wrong data).  Log mode still
                                      syncs once per checkpoint that
                                      commits in parts, before its first */
#define DIGBY_OPEN_MMAP      0x8u  /* the default: accepted, changes nothing
                                      (memory-mapped reads were opt-in before
                                      version 0.2) */
#define DIGBY_OPEN_NO_MMAP   0x10u /* read every page through the bounded
                                      private cache, never a memory map (see
                                      "Memory-mapped reads" below) */
#define DIGBY_OPEN_LOG       0x20u /* log mode: commits append to a write-ahead
                                      log inside the file and go to a memtable;
                                      checkpoints merge them into the tree
                                      (see "Log mode" below) */
#define DIGBY_OPEN_NO_LOG    0x40u /* copy-on-write mode (today's default):
                                      every commit writes its tree pages and a
                                      meta page */

/* Options for digby_open().  A zeroed struct (or NULL) means all defaults. */
typedef struct digby_options {
    /* Page size in bytes: a power of two from 512 to 65536.  0 means 4096
       for a new file and "whatever the file has" for an existing one.  A
       non-zero size that differs from an existing file's is DIGBY_PAGESIZE. */
    uint32_t page_size;
    uint32_t flags;          /* DIGBY_OPEN_* */
    /* Page cache size in bytes; 0 means 8 MiB.  Rounded down to whole pages,
       at least 16 pages.  Pages pinned by open cursors may exceed it briefly. */
    size_t cache_bytes;
    /* Most concurrent read-only transactions; 0 means 126. */
    uint32_t max_readers;
    uint32_t reserved0;
    /* NULL: the platform's VFS, digby_vfs_posix() or digby_vfs_win32();
       under DIGBY_NO_POSIX there is none and digby_open() returns
       DIGBY_INVALID. */
    const digby_vfs *vfs;
    digby_allocator allocator; /* all NULL: the default allocator */
    /* DIGBY_COMPRESS_*: whether puts compress large keys and values (lz4,
       in independent 64 KiB chunks, only when that saves pages); a put's
       DIGBY_PUT_COMPRESS or DIGBY_PUT_NO_COMPRESS overrides it.  0 (none)
       by default.  Not stored in the file: every item records whether it
       is compressed. */
    uint32_t compression;

    /* ---- Encryption (FORMAT.md section 10; not in DIGBY_NO_CRYPTO builds).
       Give a raw key or a passphrase, not both; neither means a plain file.
       A new file is created encrypted; an existing file must be opened with
       the key it was made with (DIGBY_WRONGKEY otherwise, and also for a key
       given for a plain file or none given for an encrypted one).  The key
       and passphrase are used during digby_open() only and not kept. */
    const uint8_t *key;        /* raw user key: 16 or 32 bytes */
    size_t key_bytes;
    const char *passphrase;    /* NUL-terminated, at least 1 byte; derived
                                  with PBKDF2-HMAC-SHA-256 */
    /* DIGBY_CIPHER_*, for a new file (an existing file keeps its own; see
       digby_rekey).  0: AES-128-GCM with a 16-byte key, else AES-256-GCM. */
    uint32_t cipher;
    /* PBKDF2 iterations for a new file or digby_change_passphrase(); 0 means
       600000.  Lower only for tests: the count protects weak passphrases. */
    uint32_t kdf_iterations;
    /* Pages sealed under one data key before the commit that passes it
       starts an automatic digby_rekey(); 0 means 2^31 (random 96-bit GCM
       nonces stay safe to 2^32 writes per key: NIST SP 800-38D). */
    uint64_t rekey_after_writes;
    /* Random bytes for nonces, keys and salts: fill buf with len bytes and
       return 0, or return non-zero on failure.  It seeds a CTR_DRBG (NIST
       SP 800-90A), which draws the bytes.  NULL: the operating system's
       source through mbedTLS (required under DIGBY_NO_POSIX unless mbedTLS
       was built with a hardware source), or OpenSSL's RAND_bytes with
       DIGBY_CRYPTO_OPENSSL.  Called with internal locks held: it must not
       call digby. */
    int (*entropy)(void *ctx, uint8_t *buf, size_t len);
    void *entropy_ctx;

    /* ---- Commit anchor (any file) ----
       Called after every durable commit, with that commit's transaction id,
       outside every lock of the handle, before digby_txn_commit() returns.
       A file rolled back as a whole (an old copy put back) cannot tell from
       the inside: keep the last id somewhere else and compare it with
       digby_txn_id() of a read-only transaction after open.  NULL: none. */
    void (*on_commit)(void *ctx, uint64_t txid);
    void *on_commit_ctx;

    /* ---- Memory-mapped reads (the default; DIGBY_OPEN_NO_MMAP: none) ----
       Where the build and the VFS can map a file (a 64-bit build with mmap
       and the POSIX VFS) and the file is not encrypted, branch and leaf
       pages are read straight from a read-only shared map of the file (as
       LMDB reads every page) instead of being copied into the cache: a
       lookup then costs no lock, no system call and no copy, whether or
       not the page was read before.
       The pages of large items (overflow pages) are read from the map too,
       and copied out once, without a system call.  A page is verified
       (checksum, page number, structure) the first time this handle reads
       it after it was written, and trusted after that: the handle
       remembers, per page, the txid it verified (8 bytes per page of the
       map).  cache_bytes then bounds only
       the other pages (freelist pages); the mapped file lives in the
       operating system's page cache, so the process's resident set grows
       with the part of the file it reads, as LMDB's does (the kernel can
       drop those pages again under memory pressure: they are clean).  A
       read error of the disk under a mapped page is a SIGBUS in the
       process, as with LMDB, rather than DIGBY_IOERR.
       DIGBY_OPEN_NO_MMAP chooses the other path: every page is read with
       the VFS into the private cache, whose size (cache_bytes) bounds the
       memory digby holds, and verified on every read from disk; for small
       memory, or when read errors must come back as result codes.
       map_bytes: address space to map at open, in bytes, at least the
       file's size and three pages; 0 means twice the file's size, at
       least 64 MiB.  When the file outgrows the map, the commit that
       grows it maps the file again, twice as large (an older mapping
       stays until the last transaction that began under it ends).
       Needs a 64-bit build and a VFS with map (the POSIX one); an
       encrypted file, a 32-bit build, another VFS, or a map the system
       refuses all fall back to the cache silently (digby_stats'
       mapped_bytes says how much of the file is mapped).  Ignored with
       DIGBY_OPEN_NO_MMAP. */
    uint64_t map_bytes;

    /* ---- Log mode (DIGBY_OPEN_LOG; FORMAT.md section 11) ----
       A commit appends one record of its puts and deletes to a log kept
       in pages of the file and syncs once; it writes no tree page and no
       meta page.  Its entries go to a memtable in memory, which every read
       merges with the tree; when the memtable's arena or the log's pages
       pass memtable_bytes (a durable commit takes a log page of its own),
       the commit that passed it merges the memtable into the tree (a
       checkpoint: one copy-on-write commit, each touched leaf written
       once) and the log space is reused.  A checkpoint holds at most a
       quarter of memtable_bytes or half the cache, whichever is less
       (16 pages to 8 MiB), of pages it rewrote: past that it commits what
       it merged so far and goes on in a new commit (readers see the same
       data either way: the memtable still shadows the tree), so the
       leaves it copied are freed part by part; the checkpoint a large put
       runs (below) writes leaves early instead and reads one back if it
       meets it again (LMDB's page spilling).  Memory: the cache, plus memtable_bytes, plus that
       budget, plus one snapshot's worth of memtable per long-lived reader
       of an older memtable (it is freed when they end).  Open replays the log
       after the last checkpoint.  Puts of values that would not sit inline
       in a leaf (above about a quarter page), large keys, streaming puts
       and table creation or dropping go to the tree: their transaction
       checkpoints first and commits in copy-on-write mode.  memtable_bytes:
       0 means 64 MiB (RocksDB's write buffer; LevelDB's is 4 MiB); at
       least 64 KiB.  A file written in one mode opens in the other;
       digby_close() merges the memtable and leaves no log. */
    size_t memtable_bytes;
} digby_options;

#define DIGBY_COMPRESS_NONE 0u  /* digby_options.compression */
#define DIGBY_COMPRESS_LZ4  1u

/* Ciphers (digby_options.cipher, digby_rekey). */
#define DIGBY_CIPHER_AES128_GCM 1u  /* AES-128-GCM: 16-byte data key */
#define DIGBY_CIPHER_AES256_GCM 2u  /* AES-256-GCM: 32-byte data key */

/* ---- Transactions, puts, cursors ---------------------------------------- */

#define DIGBY_TXN_READONLY   0x1u  /* digby_txn_begin: a read-only snapshot */
#define DIGBY_TXN_NO_SYNC    0x2u  /* log mode: commit without a sync (atomic
                                      and visible; durable at the next
                                      durable commit or digby_sync()) */
#define DIGBY_TXN_NOWAIT     0x4u  /* digby_txn_begin: DIGBY_BUSY instead of
                                      waiting while another handle or process
                                      has a read-write transaction */

#define DIGBY_PUT_NOOVERWRITE 0x1u /* digby_txn_put: DIGBY_EXISTS if present */
#define DIGBY_PUT_COMPRESS    0x2u /* compress this put's large key and value */
#define DIGBY_PUT_NO_COMPRESS 0x4u /* ... do not, whatever the option says */

#define DIGBY_TABLE_CREATE   0x1u  /* digby_table_open: create if missing */

#define DIGBY_BACKUP_COMPACT 0x1u  /* digby_backup: write the trees afresh, packed */
#define DIGBY_BACKUP_REPLACE 0x2u  /* digby_backup: replace an existing file */

#define DIGBY_COMPACT_TRUNCATE_ONLY 0x1u /* digby_compact: move nothing, only
                                            give back the free pages that
                                            already end the file */

/* Seek operators for digby_cursor_seek(). */
typedef enum digby_seek_op {
    DIGBY_SEEK_GE = 0, /* first key >= given */
    DIGBY_SEEK_GT = 1, /* first key >  given */
    DIGBY_SEEK_LE = 2, /* last key  <= given */
    DIGBY_SEEK_LT = 3, /* last key  <  given */
    DIGBY_SEEK_EQ = 4  /* exactly the given key */
} digby_seek_op;

/* Limits. */
#define DIGBY_MAX_VALUE_BYTES 0xFFFFFFFFu /* values up to 4 GiB - 1 */
#define DIGBY_MAX_KEY_BYTES   0xFFFFFFFFu /* keys too (past digby_max_key_bytes()
                                             they go to overflow pages) */
#define DIGBY_MAX_TABLE_NAME  255         /* bytes in a table name */
#define DIGBY_MAX_SAVEPOINTS  255         /* live savepoints in a transaction */

/* ---- Statistics and checking ------------------------------------------- */

typedef struct digby_stats {
    uint32_t page_size;       /* bytes */
    uint32_t depth;           /* levels of the global tree (0 = empty) */
    uint64_t file_bytes;      /* size of the file on disk */
    uint64_t page_count;      /* pages in use by the snapshot's file extent */
    uint64_t meta_pages;      /* always 2 */
    uint64_t branch_pages;    /* in all trees, catalog included */
    uint64_t leaf_pages;
    uint64_t overflow_pages;
    uint64_t freelist_pages;  /* pages that hold the freelist itself */
    uint64_t free_pages;      /* reusable now or once old readers finish */
    uint64_t entries;         /* key/value pairs in the global tree */
    uint64_t tables;          /* named tables */
    uint64_t table_entries;   /* key/value pairs in all named tables */
    uint64_t last_txid;       /* id of the last committed transaction */
    /* Nonzero: when this handle was opened, the newest meta page (this
       commit id) had pages that did not verify -- a commit cut short by a
       crash, or damage -- and the previous commit was opened instead. */
    uint64_t discarded_txid;
    /* Bytes of the file this handle reads through a memory map
       (DIGBY_OPEN_MMAP): 0 when it maps none. */
    uint64_t mapped_bytes;
    /* Log mode: record bytes in the log since the last checkpoint, the
       pages it holds, the memtable's bytes (its arena and its sorted run:
       what memtable_bytes bounds) and entries, checkpoints this handle
       ran, and what open replayed: commits, record bytes, nanoseconds. */
    uint64_t log_bytes;
    uint64_t log_pages;       /* pages the live log holds */
    uint64_t memtable_bytes;
    uint64_t memtable_entries;
    uint64_t checkpoints;
    /* syncs this handle made for durable log commits: fewer than those
       commits when threads committed at once and shared them (group
       commit) */
    uint64_t log_syncs;
    /* leaves checkpoints wrote before their commit to stay within their
       memory budget (a quarter of memtable_bytes or half the cache, 16
       pages to 8 MiB; the checkpoint an escalation runs: it has one txid
       only, so it cannot commit in parts) */
    uint64_t checkpoint_spilled;
    /* parts that checkpoints committed before their last (a checkpoint
       past that budget commits its merge in parts: no spilling needed,
       and the leaves one part frees serve the next) */
    uint64_t checkpoint_parts;
    /* times a commit folded the memtable's skip list into its sorted run
       (past 16,384 list entries: a small list keeps inserts fast) */
    uint64_t memtable_folds;
    uint64_t replay_commits;
    uint64_t replay_bytes;
    uint64_t replay_ns;
} digby_stats;

typedef struct digby_check_report {
    uint64_t pages_checked;   /* pages visited */
    uint64_t bad_pgno;        /* first page found bad, 0 if none */
    char message[200];        /* what was wrong, "" when clean */
} digby_check_report;
