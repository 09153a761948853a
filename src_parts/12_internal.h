/* Internal declarations: on-disk constants (FORMAT.md), in-memory structs,
   and forward declarations so that definition order is free. */

/* ---- On-disk constants (FORMAT.md "Pages") ------------------------------ */

#define DIGBY__FORMAT_VERSION 1u
#define DIGBY__MAGIC "DIGBYDB\0"     /* 8 bytes at offset 24 of a meta page */
#define DIGBY__XXH_SEED 0x64696762u  /* "digb" */

#define DIGBY__PAGE_META     1u
#define DIGBY__PAGE_BRANCH   2u
#define DIGBY__PAGE_LEAF     3u
#define DIGBY__PAGE_OVERFLOW 4u
#define DIGBY__PAGE_FREELIST 5u

#define DIGBY__HDR 24u             /* common page header bytes */
#define DIGBY__CHAIN_HDR 32u       /* overflow/freelist: header + next pgno */
#define DIGBY__TRAILER_XXH32 4u    /* checksum trailer bytes */
#define DIGBY__MAX_DEPTH 32        /* deepest tree accepted */
#define DIGBY__MIN_PAGE 512u
#define DIGBY__MAX_PAGE 65536u
#define DIGBY__TREE_BYTES 32u      /* a serialised tree descriptor */

/* Leaf cell flag bits (low 3 bits of the packed length varint). */
#define DIGBY__CELL_OVERFLOW 0x1u
#define DIGBY__CELL_FLAGS_KNOWN 0x1u

/* Meta page body offsets (FORMAT.md "Meta page"). */
#define DIGBY__M_MAGIC 24
#define DIGBY__M_VERSION 32
#define DIGBY__M_PAGESIZE 36
#define DIGBY__M_INCOMPAT 40
#define DIGBY__M_COMPAT 44
#define DIGBY__M_TRAILER 48
#define DIGBY__M_TXID 56
#define DIGBY__M_PAGECOUNT 64
#define DIGBY__M_MAIN 72
#define DIGBY__M_CATALOG 104
#define DIGBY__M_FREEROOT 136
#define DIGBY__M_FREECOUNT 144
#define DIGBY__M_UUID 152
#define DIGBY__M_END 168

/* ---- Threads ------------------------------------------------------------- */

/* pthread_mutex_t, SRWLOCK or int (DIGBY_NO_THREADS): see 10_prelude.c */
typedef DIGBY__MUTEX_T digby__mutex;

/* ---- In-memory structures ------------------------------------------------ */

/* A tree descriptor: the global tree, the catalog, or a table. */
typedef struct digby__tree {
    uint64_t root;       /* root page number, 0 = empty tree */
    uint64_t root_txid;  /* txid the root page must carry */
    uint64_t entries;    /* key/value pairs */
    uint32_t depth;      /* levels, 0 = empty, 1 = root is a leaf */
    uint32_t flags;      /* reserved, 0 */
} digby__tree;

/* A decoded meta page. */
typedef struct digby__meta {
    uint64_t txid;
    uint64_t page_count;
    digby__tree main;
    digby__tree catalog;
    uint64_t free_root;   /* first freelist page, 0 = none */
    uint64_t free_count;  /* u64 words in the freelist stream */
    uint8_t uuid[16];
} digby__meta;

/* A page cache frame. */
typedef struct digby__frame {
    uint64_t pgno;
    struct digby__frame *hnext;               /* hash chain */
    struct digby__frame *lprev, *lnext;       /* LRU list, unpinned only */
    uint32_t pins;
    uint32_t in_lru;
    uint8_t *data;                            /* page_size bytes */
    struct digby__cache *home;                /* its shard */
} digby__frame;

typedef struct digby__cache {
    digby__mutex mu;        /* guards this shard */
    digby__frame **buckets;
    size_t nbuckets;        /* power of two */
    size_t nframes;         /* frames allocated */
    size_t capacity;        /* frames allowed when unpinned */
    digby__frame lru;       /* sentinel; lru.lnext is the least recent */
    uint64_t hits, misses;
} digby__cache;

/* Open-addressing map pgno -> dirty page buffer (pgno 0 marks empty). */
typedef struct digby__dirty {
    uint64_t *keys;
    uint8_t **vals;
    size_t cap;     /* power of two */
    size_t count;
} digby__dirty;

/* A growable array of u64. */
typedef struct digby__u64s {
    uint64_t *v;
    size_t n, cap;
} digby__u64s;

/* A page freed by a committed transaction, not yet reusable. */
typedef struct digby__pending {
    uint64_t txid;
    uint64_t pgno;
} digby__pending;

struct digby_table {
    struct digby_table *next;
    digby_txn *txn;         /* the transaction it belongs to */
    digby__tree tree;
    int dirty;          /* descriptor must be written to the catalog */
    int dropped;
    size_t name_bytes;
    char name[DIGBY_MAX_TABLE_NAME + 1];
};

typedef struct digby__level {
    uint64_t pgno;
    const uint8_t *page;
    digby__frame *pin;
    unsigned idx;
} digby__level;

struct digby_cursor {
    digby_txn *txn;
    digby_table *table;     /* NULL: global tree or catalog */
    digby__tree *tree;      /* the tree it walks */
    struct digby_cursor *next;
    int has_key;            /* key[] holds the last position (writers) */
    int valid;              /* positioned on an entry */
    int depth;
    digby__level stack[DIGBY__MAX_DEPTH];
    uint64_t mod;           /* txn->mod when positioned */
    uint8_t *key; size_t key_bytes, key_cap;   /* copy of the current key */
    uint8_t *val; size_t val_cap;              /* overflow value buffer */
};

struct digby_txn {
    digby_db *db;
    uint64_t txid;
    int rdonly;
    int poisoned;
    int reader_slot;
    digby__meta meta;              /* snapshot; the writer's working copy */
    digby_table *tables;
    digby_cursor *cursors;
    uint64_t mod;                  /* bumped by every write */
    uint8_t *scratch; size_t scratch_cap;   /* digby_txn_get values */
    /* read-write only */
    digby__dirty dirty;
    digby__u64s own_free;   /* allocated and freed here: reusable now */
    digby__u64s freed;      /* older pages freed here: pending at commit */
    digby__u64s popped;     /* taken from db->free: returned on abort */
    digby__u64s chain;      /* the freelist pages written by this commit */
    uint64_t begin_page_count;
    uint8_t *tmp, *tmp2;    /* page_size scratch for splits/compaction */
    uint8_t *io;            /* page_size scratch for overflow I/O */
    uint8_t *cell, *cell2, *cell3; /* page_size scratch cells */
    uint8_t *sep;           /* page_size: the last split's separator key */
    struct digby__span *spans; /* 2 * (usable/4 + 2) cells being laid out */
    int spans_leaf;         /* the spans are leaf cells */
    digby__tree *hint_tree; /* append hint (digby__append_fast) */
    uint64_t hint_root, hint_leaf, hint_mod;
    size_t *fsum;           /* per span: running byte total (digby__choose) */
    uint16_t *lcpl, *lcpr;  /* per span: prefix shared with the first/last */
};

struct digby_db {
    digby_allocator alloc;
    const digby_vfs *vfs;
    digby_file *file;
    uint32_t page_size;
    uint32_t usable;        /* page_size - trailer bytes */
    uint32_t trailer;
    uint32_t max_cell;      /* largest cell kept in a leaf or branch */
    size_t max_key;
    unsigned flags;         /* DIGBY_OPEN_* */
    int poisoned;           /* a sync or meta write failed */
    uint64_t corrupt_pgno;  /* last page found corrupt (diagnostic) */
    int corrupt_line;       /* source line that found it */
    digby__meta meta;       /* last committed */
    digby__meta fallback;   /* the other meta page, if it verified (open) */
    int have_fallback;
    uint64_t discarded_txid; /* newest commit open rejected, 0 if none */
    int synced_commit;      /* a two-sync commit succeeded in this session */
    digby__mutex mu;        /* meta, readers, txn count */
    digby__mutex wmu;       /* held by the read-write transaction */
    digby__cache cache;     /* the cache, or its first shard */
    digby__cache *xshards;  /* the other nshards - 1 shards */
    unsigned nshards;
    digby__mutex poolmu;    /* the page buffer pool */
    uint8_t *pool;          /* spare page buffers, linked through their first bytes */
    size_t npool, max_pool;
    uint64_t *readers;      /* snapshot txid per slot, 0 = free */
    uint32_t max_readers;
    int ntxn;               /* live transactions */
    /* writer state, guarded by wmu */
    digby__u64s free;       /* reusable pages, sorted descending */
    digby__pending *pending; size_t npending, cap_pending;
    digby__u64s freelist_pages; /* pages holding the persisted freelist */
};

/* ---- Forward declarations ------------------------------------------------ */

static void *digby__malloc(const digby_allocator *a, size_t n);
static void *digby__realloc(const digby_allocator *a, void *p, size_t n);
static void digby__free(const digby_allocator *a, void *p);
static int digby__u64s_push(const digby_allocator *a, digby__u64s *s, uint64_t v);
static void digby__u64s_release(const digby_allocator *a, digby__u64s *s);

static uint16_t digby__get16(const uint8_t *p);
static uint32_t digby__get32(const uint8_t *p);
static uint64_t digby__get64(const uint8_t *p);
static void digby__put16(uint8_t *p, uint16_t v);
static void digby__put32(uint8_t *p, uint32_t v);
static void digby__put64(uint8_t *p, uint64_t v);
static size_t digby__varint_put(uint8_t *p, uint64_t v);
static size_t digby__varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v);
static size_t digby__varint_len(uint64_t v);
static int digby__keycmp(const void *a, size_t an, const void *b, size_t bn);

static void digby__mutex_init(digby__mutex *m);
static void digby__mutex_destroy(digby__mutex *m);
static void digby__mutex_lock(digby__mutex *m);
static void digby__mutex_unlock(digby__mutex *m);

/* The platform (parts 2x): the VFS digby_open uses when none is given (NULL
   under DIGBY_NO_POSIX), and bits that vary between runs, for file UUIDs. */
static const digby_vfs *digby__vfs_default(void);
static uint64_t digby__os_seed(void);

static void digby__page_seal(const digby_db *db, uint8_t *page);
static int digby__page_verify(const digby_db *db, const uint8_t *page, uint64_t pgno);

static int digby__cache_init(digby_db *db, size_t cache_bytes);
static void digby__cache_release(digby_db *db);
static void digby__cache_put(digby_db *db, uint64_t pgno, uint8_t **buf);
static void digby__cache_forget(digby_db *db, uint64_t pgno);
static int digby__page_get(digby_txn *txn, uint64_t pgno, uint64_t txid,
                           const uint8_t **out, digby__frame **pin);
static void digby__page_unpin(digby_db *db, digby__frame *pin);
static uint8_t *digby__pbuf_get(digby_db *db);
static void digby__pbuf_put(digby_db *db, uint8_t *buf);
static int digby__page_read_raw(digby_db *db, uint64_t pgno, uint8_t *buf);
static int digby__page_touch(digby_txn *txn, uint64_t pgno, uint64_t txid,
                             uint8_t **out, uint64_t *new_pgno);
static int digby__page_new(digby_txn *txn, unsigned type, uint8_t **out,
                           uint64_t *pgno);
static int digby__page_alloc(digby_txn *txn, uint64_t *pgno);
static int digby__page_free(digby_txn *txn, uint64_t pgno, uint64_t txid);
static int digby__dirty_put(digby_txn *txn, uint64_t pgno, uint8_t *buf);
static uint8_t *digby__dirty_get(const digby_txn *txn, uint64_t pgno);

static void digby__meta_encode(const digby_db *db, const digby__meta *m, uint8_t *page);
static void digby__tree_encode(const digby__tree *t, uint8_t *p);
static void digby__tree_decode(digby__tree *t, const uint8_t *p);

static int digby__freelist_load(digby_db *db);
static int digby__freelist_release(digby_db *db);
static int digby__freelist_commit(digby_txn *txn);
static void digby__freelist_abort(digby_txn *txn);
static void digby__freelist_finish(digby_txn *txn);
static int digby__freelist_reserve(digby_txn *txn);

static int digby__node_validate(const digby_db *db, const uint8_t *page);
static int digby__btree_get(digby_txn *txn, digby__tree *t, const void *key,
                            size_t key_bytes, const void **val, size_t *vlen,
                            uint64_t *version);
static int digby__btree_put(digby_txn *txn, digby__tree *t, const void *key,
                            size_t key_bytes, const void *val, size_t vlen,
                            unsigned flags);
static int digby__btree_delete(digby_txn *txn, digby__tree *t,
                               const void *key, size_t key_bytes);
static int digby__btree_free_all(digby_txn *txn, digby__tree *t);

static int digby__ovf_write(digby_txn *txn, const uint8_t *val, size_t vlen,
                            uint64_t *first);
static int digby__ovf_read(digby_txn *txn, uint64_t first, uint64_t version,
                           size_t vlen, uint8_t *out);
static int digby__ovf_free(digby_txn *txn, uint64_t first, uint64_t version,
                           size_t vlen);

static int digby__txn_check_write(digby_txn *txn);
static digby__tree *digby__txn_tree(digby_txn *txn, digby_table *t, int *rc);
static int digby__txn_fail(digby_txn *txn, int rc);

static void digby__cursor_unpin_all(digby_cursor *c);
static int digby__verify_newest(digby_db *db, const digby__meta *m);
static int digby__cursor_new(digby_txn *txn, digby_table *table, digby__tree *t,
                             digby_cursor **out);

/* Corruption: one place that records where it was found (SQLite's
   CORRUPT_BKPT).  Define DIGBY_CORRUPT_HOOK(pgno, line) to log it. */
static int digby__corrupt(digby_db *db, uint64_t pgno, int line);
#define DIGBY__CORRUPT(db, pgno) digby__corrupt((db), (pgno), __LINE__)
