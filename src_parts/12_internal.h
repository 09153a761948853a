/* Internal declarations: on-disk constants, in-memory structs, prototypes.

   The constants follow FORMAT.md; the prototypes make definition order
   free. */

/* ---- On-disk constants (FORMAT.md section 1) ------------------------------ */

#define DIGBY__FORMAT_VERSION 1u
#define DIGBY__MAGIC "DIGBYDB\0"     /* 8 bytes at offset 24 of a meta page */
#define DIGBY__XXH_SEED 0x64696762u  /* "digb" */

#define DIGBY__PAGE_META     1u
#define DIGBY__PAGE_BRANCH   2u
#define DIGBY__PAGE_LEAF     3u
#define DIGBY__PAGE_OVERFLOW 4u
#define DIGBY__PAGE_FREELIST 5u
#define DIGBY__PAGE_OVFINDEX 6u    /* index page of an overflow stream */
#define DIGBY__PAGE_LOG      7u    /* write-ahead log page (FORMAT.md section 11) */

/* The page header every page starts with (FORMAT.md section 1); read and
   write its fields through digby__page_pgno() and friends (14_util.c,
   defined before any part that uses them). */
#define DIGBY__HDR 24u             /* common page header bytes */
#define DIGBY__H_POS 4u            /* u32: overflow pages' position */
#define DIGBY__H_PGNO 8u           /* u64: the page's own number */
#define DIGBY__H_TXID 16u          /* u64: the transaction that wrote it */
#define DIGBY__H_NEXT 24u          /* u64, freelist pages: the next one */
#define DIGBY__FREELIST_HDR 32u    /* freelist page: header + next pgno */
#define DIGBY__TRAILER_XXH32 4u    /* checksum trailer bytes */
#define DIGBY__MAX_DEPTH 32        /* deepest tree accepted */
#define DIGBY__MIN_PAGE 512u
#define DIGBY__MAX_PAGE 65536u
#define DIGBY__TREE_BYTES 32u      /* a serialised tree descriptor */

/* Leaf cell flag bits (low 3 bits of the packed length varint). */
#define DIGBY__CELL_OVERFLOW 0x1u    /* the value is in overflow pages */
#define DIGBY__CELL_COMPRESSED 0x2u  /* ... compressed in lz4 chunks */
#define DIGBY__CELL_LARGE_KEY 0x4u      /* the key is in overflow pages; the cell
                                        holds its first bytes and SHA-256 */
#define DIGBY__CELL_FLAGS_KNOWN 0x7u
#define DIGBY__KEY_COMPRESSED 0x1u   /* low bit of a large key's length varint */
#define DIGBY__HASH_BYTES 32u        /* SHA-256 of a large key */
#define DIGBY__LARGE_PREFIX 224u       /* key bytes a large key's cell keeps, at most */
#define DIGBY__SEP_TIE 0x100000u     /* branch separator length flag (FORMAT.md section 5) */

/* Overflow streams (FORMAT.md section 6). */
#define DIGBY__OVF_MAX_HEIGHT 5      /* index levels above the data pages */
#define DIGBY__CHUNK 65536u          /* input bytes of one compressed chunk */

/* Meta page body offsets (FORMAT.md section 3). */
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
/* The log fields (FORMAT.md section 11) sit after the encrypted page's key
   write count, at the same body offset in plain and encrypted pages. */
#define DIGBY__M_LOG_HEAD 176
#define DIGBY__M_LOG_LSN 184
#define DIGBY__M_LOG_NEXT 192
#define DIGBY__M_LOG_END 200

/* Encrypted files (FORMAT.md section 10).  Meta pages keep bytes [0, 184)
   but for [1, 8) in clear (the key header at 56); the fields from txid on
   sit DIGBY__M_SHIFT bytes further than in a plain file, and the data
   key's write count follows them. */
#define DIGBY__INCOMPAT_ENCRYPTED 0x1u
#define DIGBY__INCOMPAT_LOG 0x2u     /* the log holds commits the tree lacks */
#define DIGBY__INCOMPAT_KNOWN 0x3u
#define DIGBY__TRAILER_AEAD 28u     /* 12-byte nonce + 16-byte GCM tag */
#define DIGBY__NONCE 12u
#define DIGBY__TAG 16u
#define DIGBY__M_CIPHER 56
#define DIGBY__M_KDF 60
#define DIGBY__M_KDF_ITER 64
#define DIGBY__M_SALT 72
#define DIGBY__M_KUUID 88
#define DIGBY__M_KCV 104
#define DIGBY__M_WRAP_NONCE 120
#define DIGBY__M_WRAP_KEY 132
#define DIGBY__M_WRAP_TAG 164
#define DIGBY__M_CLEAR_END 184      /* clear bytes of an encrypted meta page */
#define DIGBY__M_KHDR_BYTES 128     /* the key header: [56, 184) */
#define DIGBY__M_SHIFT 128          /* body offset in encrypted meta pages */
#define DIGBY__M_KEY_WRITES (DIGBY__M_END + DIGBY__M_SHIFT)
#define DIGBY__KDF_RAW 0u
#define DIGBY__KDF_PBKDF2 1u
#define DIGBY__KDF_DEFAULT_ITER 600000u
#define DIGBY__KDF_MAX_ITER (1u << 26) /* a header asking more is refused */
#define DIGBY__KEY_WRITES_SOFT ((uint64_t)1 << 31)  /* default rekey point */
#define DIGBY__KEY_WRITES_MAX (((uint64_t)1 << 32) - ((uint64_t)1 << 24))

/* ---- Threads ------------------------------------------------------------- */

/* pthread_mutex_t, SRWLOCK or int (DIGBY_NO_THREADS): see 10_prelude.c */
typedef DIGBY__MUTEX_T digby__mutex;
typedef DIGBY__COND_T digby__cond;

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
    uint64_t key_writes;  /* encrypted: pages sealed under the data key */
    uint64_t log_head;    /* first log page after this checkpoint, 0: none */
    uint64_t log_lsn;     /* ... the sequence number it must carry */
    uint64_t log_next;    /* ... its successor, 0: not recorded */
} digby__meta;

/* ---- Encryption state (32_aead.c keeps the mbedTLS types) ---------------- */

typedef struct digby__aead digby__aead; /* one AES-GCM key schedule */
typedef struct digby__rng digby__rng;   /* a CTR_DRBG */

/* A data key with everything that belongs to it. */
typedef struct digby__dkey {
    uint8_t key[32];         /* AES-128 uses the first 16 bytes */
    uint8_t kek[32];         /* key-encryption key from the user's key */
    uint8_t hdr[DIGBY__M_KHDR_BYTES]; /* meta bytes [56, 184): wraps key */
    uint32_t cipher;         /* DIGBY_CIPHER_* */
    uint64_t writes;         /* pages sealed under it (guarded by mu) */
    digby__aead *spare;      /* idle contexts for it (guarded by mu) */
} digby__dkey;

typedef struct digby__crypt {
    digby__mutex mu;         /* spare contexts, counters, the rng */
    digby__rng *rng;         /* made at the first need (digby__random) */
    int writable;            /* not a read-only handle */
    int (*entropy)(void *, uint8_t *, size_t); /* digby_options.entropy */
    void *entropy_ctx;
    digby__dkey cur;         /* the key of the committed state: reads */
    digby__dkey next;        /* a new key or header its commit installs */
    int have_next;           /* writes and meta pages use `next` */
    int rekeying;            /* digby_rekey runs: no new snapshots (db->mu) */
    int in_rekey;            /* no automatic rekey from its own commits (mu) */
    uint8_t uuid[16];
    uint64_t rotate_at;      /* rekey after this many writes per key */
    uint32_t kdf_iterations; /* for digby_change_passphrase */
    /* during digby_open only: the user's key, a PBKDF2 result for one
       salt and count, and the fallback meta page's data key */
    const uint8_t *ukey; size_t ukey_bytes; const char *upass;
    uint8_t ksalt[16], kbase[32];
    uint32_t kiter;
    int have_kbase;
    digby__dkey fb;
    int have_fb;
    /* cur.hdr came from another handle's passphrase change (48_lockfile.c):
       cur.kek is the old user key's, so no new data key may be wrapped */
    int hdr_foreign;
} digby__crypt;

/* A page cache frame. */
typedef struct digby__frame {
    uint64_t pgno;
    struct digby__frame *hnext;               /* hash chain */
    struct digby__frame *lprev, *lnext;       /* replacement ring (CLOCK) */
    uint32_t pins;
    uint8_t in_lru;                           /* on the ring */
    uint8_t ref;                              /* used again since it came in */
    uint8_t *data;                            /* page_size bytes */
    struct digby__cache *home;                /* its shard */
} digby__frame;

typedef struct digby__held {
    uint64_t pgno;          /* 0: empty */
    digby__frame *f;
} digby__held;

typedef struct digby__cache {
    digby__mutex mu;        /* guards this shard */
    digby__frame **buckets;
    size_t nbuckets;        /* power of two */
    size_t nframes;         /* frames allocated */
    size_t capacity;        /* frames allowed when unpinned */
    digby__frame lru;       /* ring sentinel; lru.lnext is the clock hand */
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

/* ---- The memtable (48_memtable.c) and the log (47_log.c) ----------------- */

/* Whether log mode (the log, the memtable, merged cursors and
   checkpoints: 45_memtable.c, 47_log.c, 65_merge_cursor.c, 66_log_mode.c)
   is compiled in: not with DIGBY_NO_LOG, nor where no acquire/release
   loads and stores are known for the compiler.  Without it 67_no_log.c
   stands in: DIGBY_OPEN_LOG, and opening a file whose meta page names a
   live log, are DIGBY_NOFEATURE.  DIGBY__PLOAD/PSTORE: the memtable's
   loads and stores (readers take no lock). */
#if defined(DIGBY_NO_LOG)
#define DIGBY__HAVE_MEMTABLE 0
#define DIGBY__PLOAD(p) (*(p))
#define DIGBY__PSTORE(p, v) (*(p) = (v))
#elif defined(DIGBY_NO_THREADS)
#define DIGBY__HAVE_MEMTABLE 1
#define DIGBY__PLOAD(p) (*(p))
#define DIGBY__PSTORE(p, v) (*(p) = (v))
#elif defined(__GNUC__) && defined(__ATOMIC_ACQUIRE)
#define DIGBY__HAVE_MEMTABLE 1
#define DIGBY__PLOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define DIGBY__PSTORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#else
#define DIGBY__HAVE_MEMTABLE 0
#define DIGBY__PLOAD(p) (*(p))
#define DIGBY__PSTORE(p, v) (*(p) = (v))
#endif

#define DIGBY__MEM_LEVELS 12        /* skip list levels */
#define DIGBY__MN_TOMB 0x1u         /* a deletion */
#define DIGBY__MN_DEAD 0x2u         /* written by a transaction that aborted */
#define DIGBY__MN_FROZEN 0x4u       /* its writer holds a savepoint after it */

/* A memtable entry; `height` next pointers, then klen key bytes. */
typedef struct digby__mnode {
    uint64_t txid;          /* the commit (or the writer) that made it */
    const uint8_t *val;     /* vlen value bytes in the arena */
    uint32_t slot;          /* table slot (0: the global tree) */
    uint32_t klen, vlen;
    uint8_t flags;          /* DIGBY__MN_* */
    uint8_t height;
    struct digby__mnode *next[1];
} digby__mnode;

typedef struct digby__mblock {
    struct digby__mblock *next;
    size_t size, used;      /* bytes after the header */
} digby__mblock;

typedef struct digby__mtable {
    size_t name_bytes;
    char name[DIGBY_MAX_TABLE_NAME + 1];
} digby__mtable;

/* One skip list of a memtable (in its arena): the nodes inserted since
   the list began. */
typedef struct digby__mlist {
    digby__mnode *head;     /* DIGBY__MEM_LEVELS links */
    unsigned height;        /* levels in use (readers load it) */
    size_t count;           /* nodes */
} digby__mlist;

/* An entry of a memtable's sorted run: a node and what orders it without
   a visit to it (its slot and the key's first 8 bytes). */
typedef struct digby__mrent {
    uint64_t pre;           /* the key's first 8 bytes, big-endian, zero-padded */
    uint32_t slot, klen;
    digby__mnode *x;
} digby__mrent;

/* What a transaction reads of a memtable: a sorted run (an array, never
   changed once made) and the skip list that takes the inserts after it.
   The memtable's current view is replaced when its list is folded into
   a new run (digby__mem_fold); a transaction keeps the view it began
   with (refs, db->mu), whose list no longer grows once it is replaced. */
#define DIGBY__MEM_REF 64           /* longest shared key prefix a run skips */
typedef struct digby__mview {
    size_t refs;            /* the memtable's while current, and each reader's */
    digby__mlist *list;
    size_t n;               /* run entries */
    digby__mrent *run;      /* n entries, behind the struct */
    size_t cut;             /* the run's keys share ref[0, cut): pre follows */
    uint8_t ref[DIGBY__MEM_REF];
} digby__mview;

/* Where a cursor's last memtable walk ended (45_memtable.c), to start the
   next step there: the run index, and going forward the list's next node
   while list l holds lcount nodes (no insert since; dir 0: none). */
typedef struct digby__mpos {
    size_t ri;
    const digby__mlist *l;
    size_t lcount;
    const digby__mnode *lnext;
    int dir;
} digby__mpos;

typedef struct digby__mem {
    const digby_allocator *alloc;
    digby__mview *view;     /* current (replaced under db->mu by the writer) */
    uint8_t ref[DIGBY__MEM_REF]; /* the first key added (its first bytes) */
    size_t cut;             /* every key added shares ref[0, cut) */
    int has_ref;
    digby__mblock *blocks;
    size_t bytes;           /* arena bytes taken from the allocator, and the run's */
    size_t block;           /* arena block bytes */
    size_t data_bytes;      /* key and value bytes put */
    size_t count;           /* nodes */
    uint64_t rng;
    digby__mtable *tables;  /* the first array (allocated) */
    digby__mtable *tables_pub; /* the current one (readers load it) */
    uint32_t ntables, cap_tables;
    size_t refs;            /* the handle, and every transaction reading it */
    uint64_t committed;     /* nodes of published commits (db->mu) */
} digby__mem;

/* Reading the log another handle appends to (47_log.c digby__log_read;
   db->rmu, or the writer between transactions): where the next record
   starts (a page of the chain, its LSN, a byte offset in its payload),
   the newest txid read or appended, the LSN of the newest page in
   db->log.pages, and where the chain ended at the last read (the first
   page that did not verify: a writer taking over appends there) with the
   page its writer took after it. */
typedef struct digby__ltail {
    uint64_t pgno, lsn, txid, pushed, end_pgno, end_lsn, end_next2;
    uint32_t off;
} digby__ltail;

/* The write-ahead log of a handle (log mode; guarded by db->wmu). */
typedef struct digby__log {
    int on;                 /* log mode: commits append here */
    int streak;             /* append commits in a row (digby__log_streak) */
    uint64_t cur_pgno;      /* the page being filled (0: none yet) */
    uint64_t cur_lsn;       /* ... its sequence number */
    uint64_t next_pgno;     /* ... its successor, 0 until it is written */
    uint64_t next2_pgno;    /* ... and the successor's, 0 until it is written
                               (FORMAT.md 11.1: a page names both) */
    uint32_t fill;          /* payload bytes in it */
    uint32_t prev_fill;     /* the predecessor's final `used`, 0: unknown */
    uint8_t cur_flags;      /* cur's flags byte, chosen at its first write */
    uint64_t cur_meta_txid; /* the meta page's txid at cur's first write */
    uint64_t open_txid;     /* the newest txid replay found (digby__log_open) */
    int fresh_next;         /* the next commit starts a new page (after a sync) */
    uint8_t *page;          /* plaintext image of cur (page_size) */
    uint8_t *seal;          /* page_size: the sealed copy being written */
    digby__u64s pages;      /* live log pages before cur, oldest first */
    uint64_t bytes;         /* record bytes since the last checkpoint */
    uint8_t *rec; size_t rec_cap, rec_n; /* the commit record being built */
    size_t mem_limit;       /* digby_options.memtable_bytes */
    /* Group commit (digby__log_durable).  appended is written by the
       writer (wmu and mu); the rest under mu, by whichever thread syncs. */
    uint64_t appended;      /* the newest txid appended to the log */
    uint64_t durable_last;  /* the newest appended commit that asked for a sync */
    uint64_t synced;        /* every commit up to this txid is durable */
    int sync_failed;        /* a group sync failed: the handle is poisoned */
    uint64_t group_syncs;   /* syncs made for durable commits (digby_stats) */
    uint32_t writers;       /* durable read-write transactions begun and not
                               yet appended or ended (mu): a sync's leader
                               waits a little for them */
    uint64_t sync_ns;       /* how long the last group sync took (mu) */
    int syncing;            /* a thread is syncing for a group (mu) */
    uint64_t durable_appends; /* durable commits appended (mu) */
    uint64_t gathered;      /* ...of them, covered by the last group sync */
    uint64_t last_group;    /* ...and how many that sync covered */
    uint64_t spilled;       /* leaves checkpoints wrote early (digby_stats) */
    uint64_t checkpoint_parts; /* parts committed before a checkpoint's last */
    uint64_t folds;         /* memtable folds (digby__log_fold; db->mu) */
    int checkpoint_parts_synced; /* this checkpoint synced the log before a part */
    uint64_t file_bytes;    /* the file's size as last seen by the log */
    digby__ltail tail;      /* (reading what another handle appends) */
    uint64_t tailed;        /* records read from other handles (digby_stats) */
    /* replay at open */
    uint64_t replay_commits, replay_bytes, replay_ns;
    uint64_t checkpoints;
} digby__log;

struct digby_table {
    struct digby_table *next;
    digby_txn *txn;         /* the transaction it belongs to */
    digby__tree tree;
    int dirty;          /* descriptor must be written to the catalog */
    int dropped;
    int mslot;                       /* its memtable slot in mslot_mem */
    const struct digby__mem *mslot_mem;
    size_t name_bytes;
    char name[DIGBY_MAX_TABLE_NAME + 1];
};

/* A key as a search or comparison sees it: its first bytes in memory and,
   for a large key, the rest in an overflow item (FORMAT.md section 6a).
   A key the caller passed is all in memory (head_bytes == len). */
typedef struct digby__kref {
    const uint8_t *head;    /* the key's first head_bytes bytes */
    size_t head_bytes;
    uint64_t len;           /* the whole key */
    const uint8_t *hash;    /* SHA-256 of the key; NULL unless len > max_key */
    uint64_t root;          /* large key: its item (0: all of it is in head) */
    uint64_t version;       /* ... the txid its pages carry */
    unsigned kflags;        /* ... DIGBY__KEY_COMPRESSED */
} digby__kref;

/* A search key with room for its hash. */
typedef struct digby__skey {
    digby__kref k;
    uint8_t hash[DIGBY__HASH_BYTES];
} digby__skey;

/* An overflow stream being read: `bytes` bytes in data pages under a tree
   of index pages (FORMAT.md section 6), with the page last read on
   each level (0: data) kept for the next read. */
typedef struct digby__strm {
    uint64_t root, version, bytes, npages;
    unsigned height;
    uint64_t pgno[DIGBY__OVF_MAX_HEIGHT + 1];   /* 0: none cached in buf */
    uint8_t *buf[DIGBY__OVF_MAX_HEIGHT + 1];    /* page_size each, on demand */
    const uint8_t *pg[DIGBY__OVF_MAX_HEIGHT + 1]; /* the page loaded last: buf,
                                                   or in the memory map */
} digby__strm;

/* A large key or value being read: one stream, or for a compressed item
   its chunk table T and data stream S, and the last chunk decompressed. */
typedef struct digby__rd {
    uint64_t root, version, len;   /* the item (len: raw bytes) */
    int compressed, open;
    digby__strm s, t;
    uint64_t chunk;                /* chunk held in out, UINT64_MAX: none */
    uint8_t *out, *in;             /* DIGBY__CHUNK bytes each, on demand */
} digby__rd;

/* An overflow stream being written: pages go to the file as they fill;
   one index page per level is kept until it fills. */
typedef struct digby__sw {
    uint64_t bytes;                /* taken so far */
    uint8_t *page;                 /* the data page being filled */
    size_t fill;
    uint8_t *lvl[DIGBY__OVF_MAX_HEIGHT + 2];
    unsigned cnt[DIGBY__OVF_MAX_HEIGHT + 2];
    uint32_t pos[DIGBY__OVF_MAX_HEIGHT + 2];  /* pages written per level */
} digby__sw;

/* A large key or value being written, compressed or not. */
typedef struct digby__iw {
    uint64_t len, done;            /* declared raw bytes, bytes taken */
    int mode;                      /* DIGBY__IW_* */
    digby__sw s, t;
    uint8_t *chunk, *cout;         /* DIGBY__CHUNK bytes each (lz4 only) */
    size_t fill;                   /* bytes in chunk */
    void *lz4;                     /* compressor state */
} digby__iw;

#define DIGBY__IW_RAW 1
#define DIGBY__IW_DECIDE 2         /* lz4 asked for: the first chunk decides */
#define DIGBY__IW_LZ4 3

/* A transaction's scratch for large keys and values, made on first use. */
typedef struct digby__large_scratch {
    digby__rd rd[3];               /* 0, 1: key comparisons; 2: values */
    uint8_t *kbuf, *pbuf;          /* page_size: a cell's key, a peeked key */
} digby__large_scratch;

typedef struct digby__sha256 digby__sha256;  /* 36_sha256.c */

typedef struct digby__level {
    uint64_t pgno;
    const uint8_t *page;
    digby__frame *pin;
    unsigned idx;
} digby__level;

struct digby_cursor {
    digby_txn *txn;
    /* merged with the memtable (65_merge_cursor.c): the memtable entry the
       memtable side stands on (NULL: none in that direction), whether the
       current entry is the memtable's (from_mem), the direction of the last
       move, and a copy of the current key (mkey) */
    int merged;
    int from_mem;
    digby__mpos mpos;       /* the memtable's position at mn (a hint) */
    int mdir;
    int mvalid;             /* positioned on a merged entry */
    uint64_t mmod;          /* txn->mod when positioned */
    digby__mnode *mn;
    int mslot;              /* the table's memtable slot, -1: none */
    uint8_t *mkey; size_t mkey_bytes, mkey_cap;
    digby_table *table;     /* NULL: global tree or catalog */
    digby__tree *tree;      /* the tree it walks */
    struct digby_cursor *next;
    int has_key;            /* key[] holds the last position (writers) */
    int valid;              /* positioned on an entry */
    int depth;
    digby__level stack[DIGBY__MAX_DEPTH];
    uint64_t mod;           /* txn->mod when positioned */
    uint8_t *key; size_t key_bytes, key_cap;   /* copy of the current key */
    /* read-only transactions: key[0, plen) holds the prefix of leaf page
       key_pfx_pgno (0: none); a page's content never changes in a
       snapshot, so the next key in the same leaf copies only its suffix */
    uint64_t key_pfx_pgno;
    uint8_t *val; size_t val_cap;              /* overflow value buffer */
    /* a large current key: key[] holds its first bytes (key_bytes), the
       rest is in its item (its pages stay readable until the txn ends) */
    int key_large;
    uint64_t key_len, key_root, key_version;
    unsigned key_kflags;
    uint8_t key_hash[DIGBY__HASH_BYTES];
    uint8_t *full; size_t full_cap;            /* a large key, for _get */
};

/* One savepoint of a read-write transaction (61_savepoint.c): what the
   transaction's state was when it was taken.  A table handle's state at
   the savepoint, for each handle that existed then (tabs, in list order
   from tables_at on). */
typedef struct digby__sptab {
    digby_table *t;
    digby__tree tree;
    int dirty, dropped;
} digby__sptab;

typedef struct digby__savepoint {
    uint32_t id;
    digby__meta meta;       /* the working meta page (roots, page_count) */
    size_t freed_n;         /* txn->freed.n */
    size_t popped_n;        /* txn->popped.n */
    size_t deferred_n;      /* txn->sp_deferred.n */
    uint64_t *own_free;     /* a copy of txn->own_free (own_free_n words) */
    size_t own_free_n;
    digby_table *tables_at; /* txn->tables: handles before it came later */
    digby__sptab *tabs;
    size_t ntabs;
    size_t nops;            /* log mode: txn->nops */
    size_t ndead;           /* log mode: txn->sp_dead_n */
} digby__savepoint;

/* Pages allocated while savepoints are live, with the savepoint depth
   (1 = the outermost) they were allocated at, and DIGBY__SP_WRITTEN for
   a page written to the file at once (an overflow page): open addressing
   on pgno, never shrunk until the last savepoint goes (key 0 marks an
   empty slot). */
#define DIGBY__SP_WRITTEN 0x80000000u
typedef struct digby__splvl {
    uint64_t *keys;
    uint32_t *lvl;
    size_t cap, count;
} digby__splvl;

struct digby_txn {
    digby_db *db;
    uint64_t txid;
    int rdonly;
    int poisoned;
    int reader_slot;
    /* Log mode (47_log.c): the memtable this transaction reads (a counted
       reference; NULL: none, every read goes to the tree alone), the
       newest txid it sees there, and for a writer whose puts and deletes
       go to the memtable (logged: 1) the nodes it made, in order. */
    digby__mem *mem;
    digby__mview *mview;    /* the view of mem it reads (counted, db->mu) */
    uint64_t mem_upto;
    uint64_t log_gen;       /* db->log_gen at begin */
    int logged;             /* writes go to the memtable and the log */
    int internal;           /* a checkpoint's: holds no db->wmu of its own */
    int nosync;             /* DIGBY_TXN_NO_SYNC */
    int writer_counted;     /* counted in db->log.writers */
    int xlocked;            /* holds the lock file's writer lock (48_lockfile.c) */
    uint64_t put_version;   /* nonzero: the version puts record, and the txid
                               their overflow pages carry (checkpoint, rekey,
                               compacting backup) */
    digby__mnode **ops; size_t nops, cap_ops;
    /* Appends in log mode (66_log_mode.c): appended, committed by the
       append path; streak, begun in copy-on-write mode after such
       (digby__log_streak), with streak_n ascending puts of table
       streak_tab after the tree's last key so far (streak_key: the last,
       streak_klen bytes) while streak_ok. */
    int appended, streak, streak_ok;
    size_t streak_n, streak_klen;
    const digby_table *streak_tab;
    uint8_t *streak_key;
    digby__meta meta;              /* snapshot; the writer's working copy */
    digby_table *tables;
    digby_cursor *cursors;
    uint64_t mod;                  /* bumped by every write */
    uint8_t *scratch; size_t scratch_cap;   /* digby_txn_get values */
    /* read-write only */
    digby__dirty dirty;
    /* Spilling (digby__dirty_spill; checkpoints only): dirty leaves
       written to the file before the commit and let go, read back when
       touched again.  spilled: pages written so far (0: none, no read
       back ever); spill_at: the dirty count that triggers the next. */
    uint64_t spilled, unspilled;
    size_t spill_at, spill_pages;
    digby__u64s own_free;   /* allocated and freed here: reusable now */
    digby__u64s freed;      /* older pages freed here: pending at commit */
    digby__u64s cfreed;     /* the replaced freelist chain: db->cpending at commit */
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
    int sep_tie;            /* txn->sep is a tie separator (FORMAT.md section 5) */
    digby__large_scratch *large;     /* large keys and values: readers, scratch */
    struct digby_blob *blob; /* the unfinished streaming put, if any */
    struct digby_rtable *rtables; /* record tables opened (77_record_schema.c) */
    /* Savepoints (61_savepoint.c): sp[0, nsp) oldest first; ids from
       sp_next_id.  Copy-on-write mode: a page this transaction wrote
       before the newest savepoint is frozen (digby__sp_frozen): a write
       copies it to a new page, and freeing it defers it (sp_deferred)
       until the savepoints that may restore it are gone.  Log mode: the
       nodes made before the newest savepoint carry DIGBY__MN_FROZEN
       (ops[0, sp_marked)); a later write to such a key marks the node
       dead and makes a new one, the dead one listed in sp_dead. */
    digby__savepoint *sp;
    uint32_t nsp, cap_sp, sp_next_id;
    digby__splvl sp_lvl;
    digby__u64s sp_deferred;
    digby__mnode **sp_dead; size_t sp_dead_n, sp_dead_cap;
    size_t sp_marked;
    /* Branch pages this transaction keeps pinned until it ends, so that
       the upper levels of a tree cost no lock on later visits
       (digby__page_get).  Open addressing on pgno; held_cap entries (a
       power of two, 0: none yet), at most 3/4 full; never evicted, so a
       page handed out from here stays valid for the transaction's life.
       held_off: holding stopped (a small cache, no memory for the table,
       or all transactions together hold their share of the cache). */
    struct digby__held *held;
    unsigned held_cap, held_n;
    int held_off;
    /* Pages below map_pages are read from map (memory-mapped reads): the
       handle's mapping and map_pages as they were at begin; the mapping
       (counted in its users) stays until the transaction ends, even when
       a commit maps the file anew.  map and map_seen are its addr and
       seen.  map_verify: verify every mapped page read, as if never seen
       (digby_check). */
    struct digby__mapping *mapping;
    const uint8_t *map;
    uint64_t *map_seen;
    uint64_t map_pages;
    int map_verify;
};

struct digby_db {
    digby_allocator alloc;
    const digby_vfs *vfs;
    digby_file *file;
    uint32_t page_size;
    uint32_t usable;        /* page_size - trailer bytes */
    uint32_t trailer;
    uint32_t max_cell;      /* largest cell kept in a leaf or branch */
    size_t max_key;         /* longer keys are large keys (overflow pages) */
    uint32_t compression;   /* DIGBY_COMPRESS_*: default of puts */
    unsigned flags;         /* DIGBY_OPEN_* */
    int poisoned;           /* a sync or meta write failed */
    uint64_t corrupt_pgno;  /* last page found corrupt (diagnostic) */
    int corrupt_line;       /* source line that found it */
    digby__meta meta;       /* last committed */
    digby__meta fallback;   /* the other meta page, if it verified (open) */
    int have_fallback;
    uint64_t discarded_txid; /* newest commit open rejected, 0 if none */
    uint64_t discarded_log_head, discarded_log_lsn; /* ... its log head */
    uint64_t last_txid;     /* newest commit, in the tree or the log (mu) */
    digby__mem *mem;        /* log mode or a replayed log: the memtable (mu) */
    digby__log log;         /* the write-ahead log (wmu; its page list and
                               page numbers also under mu) */
    uint64_t log_gen;       /* checkpoints so far (mu): digby_check's snapshot */
    int synced_commit;      /* a two-sync commit succeeded in this session */
    digby__mutex mu;        /* meta, readers, txn count */
    digby__mutex wmu;       /* held by the read-write transaction */
    digby__cond scv;        /* with mu: a group sync of the log ended
                               (digby__log_durable) */
    digby__cache cache;     /* the cache, or its first shard */
    digby__cache *xshards;  /* the other nshards - 1 shards */
    unsigned nshards;
    digby__mutex poolmu;    /* the page buffer pool */
    size_t held_total;      /* pages all transactions hold (digby__held_add);
                               guarded by mu */
    uint8_t *pool;          /* spare page buffers, linked through their first bytes */
    size_t npool, max_pool;
    uint64_t *readers;      /* snapshot txid per slot, 0 = free */
    uint32_t max_readers;
    int ntxn;               /* live transactions */
    /* writer state, guarded by wmu */
    digby__u64s free;       /* reusable pages, sorted descending */
    digby__pending *pending; size_t npending, cap_pending;
    digby__u64s freelist_pages; /* pages holding the persisted freelist */
    /* Pages of replaced freelist chains (46_freelist.c): pending by the
       commit that replaced them, until a later commit is durable, for
       open's fallback to the commit before; no snapshot reads them, but
       digby_check (fl_readers, under mu) */
    digby__pending *cpending; size_t ncpending, cap_cpending;
    uint32_t fl_readers;
    digby__crypt *crypt;    /* NULL: a plain file (xxhash32 trailers) */
    void (*on_commit)(void *ctx, uint64_t txid);
    void *on_commit_ctx;
    /* Memory-mapped reads (digby__map_open): the current mapping of the file,
       NULL for none; pages below map_pages are known to lie inside the
       file.  When the file outgrows the mapping, a commit maps it again,
       larger (digby__map_grow); an older mapping stays, on map_old, until
       the last transaction that began under it ends.  mapping, map_old,
       map_pages and every users count guarded by mu (the writer, the only
       one to change mapping and map_pages, reads them freely). */
    struct digby__mapping *mapping;
    struct digby__mapping *map_old;
    uint64_t map_pages;
    /* Processes sharing the file (48_lockfile.c): the lock file's map, NULL
       when the handle keeps the file to itself.  shm_slot: this handle's
       reader slot there; shm_pub: what the slot says now (mu); shm_seen:
       the newest commit the handle has taken in (mu); shm_nread: its live
       snapshots (mu); shm_wepoch: the writer epoch of its last write
       transaction (wmu); shm_stale: another handle may have written since,
       so the writer reloads the freelist (wmu); shm_reap: write
       transactions until the next look for dead readers' slots (wmu);
       shm_wlive: a read-write transaction of this handle holds the writer
       lock and has taken in everything before it (rmu and mu to change;
       its log is then the handle's own to append); rmu: one refresh at a
       time. */
    uint8_t *shm;
    uint32_t shm_slot;
    uint64_t shm_pub;
    uint64_t shm_seen;
    uint32_t shm_nread;
    uint64_t shm_wepoch;
    int shm_stale;
    int shm_wlive;
    uint32_t shm_reap;
    digby__mutex rmu;
};

/* A read-only shared map of the file from offset 0, len bytes reserved.
   seen[pgno] is the txid of the page version the handle verified there
   (or wrote), 0 for none: read and written with relaxed atomics by every
   transaction, since a page is only ever verified with the one value its
   snapshot requires.  users: live transactions begun under it. */
struct digby__mapping {
    const uint8_t *addr;
    uint64_t len;
    uint64_t *seen;
    size_t users;
    struct digby__mapping *older;
};

/* Relaxed atomic access to map_seen: C99 has no atomics, so the map needs
   the GCC/Clang builtins (and a 64-bit build: the reservation is address
   space, and a txid is 8 bytes). */
#if defined(__GNUC__) && defined(__ATOMIC_RELAXED) && UINTPTR_MAX > 0xFFFFFFFFu
#define DIGBY__HAVE_MAP 1
#define DIGBY__SEEN_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define DIGBY__SEEN_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#else
#define DIGBY__HAVE_MAP 0
#define DIGBY__SEEN_LOAD(p) (*(p))
#define DIGBY__SEEN_STORE(p, v) (*(p) = (v))
#endif

/* The version a put records in its leaf cell (and stamps on its overflow
   pages): the writer's txid, or in a checkpoint the txid of the commit that
   made the entry (in a compacting backup, the source entry's version). */
#define DIGBY__VERSION(txn) ((txn)->put_version ? (txn)->put_version : (txn)->txid)

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
static void digby__cond_init(digby__cond *c);
static void digby__cond_destroy(digby__cond *c);
#if DIGBY__HAVE_MEMTABLE
static void digby__yield(void);
static void digby__cond_wait(digby__cond *c, digby__mutex *m);
static void digby__cond_broadcast(digby__cond *c);
#endif

/* The platform (parts 2x): the VFS digby_open uses when none is given (NULL
   under DIGBY_NO_POSIX), and bits that vary between runs, for file UUIDs. */
static const digby_vfs *digby__vfs_default(void);
static uint64_t digby__os_seed(void);

static void digby__page_checksum(const digby_db *db, uint8_t *page);
static int digby__page_verify(const digby_db *db, uint8_t *page, uint64_t pgno);
static int digby__page_seal(const digby_db *db, uint8_t *page, uint8_t *out);
static int digby__page_write(digby_db *db, uint64_t pgno, uint8_t *page);

/* 32_aead.c: the AEAD (lock/unlock, Monocypher style), randomness, KDF.
   digby__aead_unlock reads the ciphertext DIGBY__AEAD_GAP bytes past
   where it writes the plaintext: mbedTLS decrypts over its input only when
   the output trails it by 8 bytes or more; OpenSSL's EVP only in place
   (the same buffer, no partial overlap). */
#if defined(DIGBY_CRYPTO_OPENSSL)
#define DIGBY__AEAD_GAP 0u
#else
#define DIGBY__AEAD_GAP 8u
#endif
static int digby__aead_new(const digby_allocator *a, const uint8_t *key,
                           size_t key_bytes, digby__aead **out);
static void digby__aead_free(const digby_allocator *a, digby__aead *x);
static int digby__aead_lock(digby__aead *x, uint8_t *text, size_t text_bytes,
                            uint8_t mac[16], const uint8_t nonce[12],
                            const uint8_t *ad, size_t ad_bytes);
static int digby__aead_unlock(digby__aead *x, uint8_t *text, size_t text_bytes,
                              const uint8_t mac[16], const uint8_t nonce[12],
                              const uint8_t *ad, size_t ad_bytes);
static int digby__rng_new(const digby_allocator *a,
                          int (*entropy)(void *, uint8_t *, size_t), void *ctx,
                          digby__rng **out);
static int digby__rng_fill(digby__rng *r, uint8_t *buf, size_t n);
static void digby__rng_free(const digby_allocator *a, digby__rng *r);
static int digby__random_locked(const digby_db *db, uint8_t *buf, size_t n);
static int digby__random(const digby_db *db, uint8_t *buf, size_t n);
static int digby__pbkdf2(const char *pass, size_t pass_bytes, const uint8_t *salt,
                         size_t salt_bytes, uint32_t iterations, uint8_t out[32]);
static int digby__hmac(const uint8_t *key, size_t key_bytes, const uint8_t *msg,
                       size_t msg_bytes, uint8_t out[32]);
static void digby__wipe(void *p, size_t n);
static int digby__dkey_take(const digby_db *db, digby__dkey *k, digby__aead **out);
static void digby__dkey_give(const digby_db *db, digby__dkey *k, digby__aead *x);
static void digby__dkey_clear(const digby_allocator *a, digby__dkey *k);

/* Keys (44_meta.c, 72_encryption_keys.c). */
static int digby__crypt_new(digby_db *db, const digby_options *o);
static int digby__crypt_clone(digby_db *dst, digby_db *src);
static int digby__crypt_create(digby_db *db, uint32_t cipher);
static void digby__crypt_opened(digby_db *db);
static void digby__crypt_free(digby_db *db);
static void digby__crypt_txn_end(digby_db *db, int committed);
static void digby__crypt_after_commit(digby_db *db);
static int digby__crypt_meta_shared(digby_db *db, uint8_t *page, uint64_t slot, digby__meta *m);
static void digby__crypt_take_hdr(digby_db *db, const uint8_t *hdr, uint64_t key_writes);
static int digby__shm_alone(digby_db *db, int on);

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
static int digby__dirty_own(digby_txn *txn, uint64_t pgno, uint8_t **out);

static void digby__meta_encode(const digby_db *db, const digby__meta *m, uint8_t *page);
static void digby__tree_encode(const digby__tree *t, uint8_t *p);
static void digby__tree_decode(digby__tree *t, const uint8_t *p);

/* A reader of the persisted freelist (digby__freelist_read): ctx goes to
   every call.  page: a chain page, before it is read; entry: a page the
   list names (pending: freed by txid, waiting for older snapshots); bad:
   damage at pgno, described, whose result the read returns. */
typedef struct digby__fl_reader {
    void *ctx;
    int (*page)(void *ctx, uint64_t pgno);
    int (*entry)(void *ctx, int pending, uint64_t txid, uint64_t pgno);
    int (*bad)(void *ctx, uint64_t pgno, const char *what);
} digby__fl_reader;

static int digby__freelist_read(digby_db *db, const digby__meta *m, uint8_t *buf,
                                const digby__fl_reader *r);
static int digby__freelist_load(digby_db *db);
static int digby__freelist_release(digby_db *db);
static int digby__freelist_commit(digby_txn *txn);
static void digby__freelist_abort(digby_txn *txn);
static void digby__freelist_finish(digby_txn *txn);
static int digby__freelist_reserve(digby_txn *txn);

static int digby__node_validate(const digby_db *db, const uint8_t *page);
struct digby__cell;
static int digby__btree_find(digby_txn *txn, const digby__tree *t, const void *key,
                             size_t key_bytes, struct digby__cell *c, digby__frame **pin);
static int digby__btree_get(digby_txn *txn, digby__tree *t, const void *key,
                            size_t key_bytes, const void **val, size_t *vlen,
                            uint64_t *version);
static int digby__btree_put(digby_txn *txn, digby__tree *t, const void *key,
                            size_t key_bytes, const void *val, size_t vlen,
                            unsigned flags);
static int digby__btree_delete(digby_txn *txn, digby__tree *t,
                               const void *key, size_t key_bytes);
static int digby__btree_free_all(digby_txn *txn, digby__tree *t);
static int digby__btree_delete_range(digby_txn *txn, digby__tree *t, const digby__kref *lo,
                                     const digby__kref *hi, uint64_t *count);

static int digby__large_scratch_get(digby_txn *txn);
static void digby__large_scratch_release(digby_txn *txn);
static int digby__item_streams(digby_txn *txn, digby__strm *t, digby__strm *s,
                               uint64_t root, uint64_t version, uint64_t len);
static int digby__rd_open(digby_txn *txn, digby__rd *rd, uint64_t root, uint64_t version,
                          uint64_t len, int compressed);
static int digby__rd_span(digby_txn *txn, digby__rd *rd, uint64_t off, const uint8_t **p,
                          size_t *avail);
static int digby__rd_read(digby_txn *txn, digby__rd *rd, uint64_t off, uint8_t *out,
                          size_t n);
static int digby__item_read(digby_txn *txn, unsigned slot, uint64_t root, uint64_t version,
                            uint64_t len, int compressed, uint8_t *out);
static int digby__item_write(digby_txn *txn, const uint8_t *p, uint64_t len, int lz4,
                             uint64_t *root, int *compressed);
static int digby__item_free(digby_txn *txn, uint64_t root, uint64_t version, uint64_t len,
                            int compressed);
static int digby__item_walk(digby_txn *txn, uint64_t root, uint64_t version, uint64_t len,
                            int compressed, int (*fn)(void *ctx, uint64_t pgno), void *ctx);
static int digby__blob_discard(digby_txn *txn, int free_pages);

static int digby__txn_check_write(digby_txn *txn);
static digby__tree *digby__txn_tree(digby_txn *txn, digby_table *t, int *rc);
static int digby__txn_fail(digby_txn *txn, int rc);
static int digby__put_flags(unsigned flags);
static digby__tree *digby__put_args(digby_txn *txn, digby_table *table, const void *key,
                                    size_t key_bytes, uint64_t val_bytes, unsigned flags,
                                    int *rc);

static void digby__rtable_release_all(digby_txn *txn); /* 77_record_schema.c */
static void digby__cursor_unpin_all(digby_cursor *c);

/* The memtable and the log (47_log.c, 48_memtable.c, 68_checkpoint.c;
   without them 67_no_log.c's stand-ins). */
#if DIGBY__HAVE_MEMTABLE
static void digby__cursor_unmerge(digby_cursor *c);
static int digby__mem_new(const digby_allocator *a, size_t limit, digby__mem **out);
static int digby__mem_slot(const digby__mem *m, const char *name, size_t len);
static int digby__checkpoint_locked(digby_db *db, int keep_log);
static digby__mem *digby__mem_unref(digby__mem *m);
#endif
static void digby__mem_free(digby__mem *m);
static const uint8_t *digby__mn_key(const digby__mnode *n);
static digby__mnode *digby__mem_get(const digby__mview *v, uint32_t slot, const void *key,
                                    size_t klen, uint64_t upto);
static void digby__txn_mem_take(digby_txn *txn, digby__mem *m);
static digby__mem *digby__txn_mem_drop(digby_txn *txn);
static int digby__log_open(digby_db *db, int readonly);
static void digby__log_close(digby_db *db);
static void digby__log_release(digby_db *db);
static int digby__log_begin(digby_txn *txn);
static int digby__log_commit(digby_txn *txn, uint64_t *need);
static int digby__log_durable(digby_db *db, uint64_t txid, uint64_t need);
static void digby__log_abort(digby_txn *txn);
static int digby__log_escalate(digby_txn *txn);
static int digby__log_appends(digby_txn *txn);
static void digby__log_streak_end(digby_txn *txn);
static int digby__txn_put_mem(digby_txn *txn, digby_table *table, const void *key,
                              size_t key_bytes, const void *val, size_t val_bytes,
                              unsigned flags, int *done);
static int digby__txn_delete_mem(digby_txn *txn, digby_table *table, const void *key,
                                 size_t key_bytes, int *done);
static int digby__txn_slot(digby_txn *txn, digby_table *table);
static int digby__merged_entries(digby_txn *txn, const char *name, size_t len,
                                 digby__tree *t, uint64_t *out);
static int digby__merged_get(digby_txn *txn, digby_table *table, digby__tree *t,
                             const void *key, size_t key_bytes, const void **val,
                             size_t *vlen, uint64_t *version);
static int digby__verify_newest(digby_db *db, const digby__meta *m);
#ifdef DIGBY_DEBUG
static int digby__debug_check_commit(digby_txn *txn);
#endif
static int digby__cursor_new(digby_txn *txn, digby_table *table, digby__tree *t,
                             digby_cursor **out);

/* Savepoints (61_savepoint.c; log mode's part in 66_log_mode.c). */
static int digby__sp_frozen(const digby_txn *txn, uint64_t pgno);
static int digby__sp_lvl_room(digby_txn *txn);
static void digby__sp_lvl_set(digby_txn *txn, uint64_t pgno);
static void digby__sp_lvl_written(digby_txn *txn, uint64_t pgno);
static int digby__sp_take(digby_txn *txn, digby__savepoint *s);
static void digby__sp_free_all(digby_txn *txn);
static int digby__sp_release_all(digby_txn *txn);
static void digby__cursor_reset(digby_cursor *c);
static void digby__rd_drop(digby_db *db, digby__rd *rd);
static void digby__log_sp_mark(digby_txn *txn);
static void digby__log_sp_rollback(digby_txn *txn, const digby__savepoint *s);
static void digby__log_sp_settle(digby_txn *txn);

/* Corruption: one place that records where it was found (SQLite's
   CORRUPT_BKPT): the page, for digby_corrupt_pgno(), and the source line
   (db->corrupt_line, for a debugger: break on digby__corrupt). */
static int digby__corrupt(digby_db *db, uint64_t pgno, int line);
#define DIGBY__CORRUPT(db, pgno) digby__corrupt((db), (pgno), __LINE__)
