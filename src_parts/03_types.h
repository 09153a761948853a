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
   says which members exist (this is version 1). */
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
} digby_vfs;

#define DIGBY_VFS_VERSION 1

/* ---- Options ------------------------------------------------------------ */

/* Flags for digby_options.flags. */
#define DIGBY_OPEN_READONLY  0x1u  /* no write transactions; shared lock */
#define DIGBY_OPEN_NO_CREATE 0x2u  /* fail with DIGBY_CANTOPEN if missing */
#define DIGBY_OPEN_NO_SYNC   0x4u  /* skip syncs: an application crash loses
                                      nothing; an OS crash or power cut may
                                      lose recent commits or leave pages
                                      that read as DIGBY_CORRUPT (never
                                      silently wrong data) */

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
} digby_options;

/* ---- Transactions, puts, cursors ---------------------------------------- */

#define DIGBY_TXN_READONLY   0x1u  /* digby_txn_begin: a read-only snapshot */

#define DIGBY_PUT_NOOVERWRITE 0x1u /* digby_txn_put: DIGBY_EXISTS if present */

#define DIGBY_TABLE_CREATE   0x1u  /* digby_table_open: create if missing */

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
#define DIGBY_MAX_TABLE_NAME  255         /* bytes in a table name */

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
} digby_stats;

typedef struct digby_check_report {
    uint64_t pages_checked;   /* pages visited */
    uint64_t bad_pgno;        /* first page found bad, 0 if none */
    char message[200];        /* what was wrong, "" when clean */
} digby_check_report;
