/* The lock file: handles in many processes sharing one database file.

   Any number of handles, in any number of processes, open one database
   (LMDB's model): one read-write transaction at a time among them all, and
   read-only transactions in every one of them beside it, each on the
   newest commit at its begin.  What they share lives in a small file
   beside the database, PATH-lock (FORMAT.md section 14), mapped by each
   handle through the VFS (digby_vfs version 4), as LMDB's lock.mdb and
   SQLite's -shm file are:

   - the txid of the newest commit, and of the newest with a meta page.
     Before each transaction a handle compares the first with the newest
     it has taken in; when another handle has committed since, it reads
     the newest meta page from the file if that moved (tree pages are
     never changed in place, so the meta page and the memory map show the
     tree), and in log mode reads on in the log from where it stopped into
     a memtable of its own until it holds the commit (digby__shm_refresh;
     FORMAT.md 11.5).  A writer that takes over from another handle's reads
     the log to its end and appends after it, in a new page;
   - a reader table: a slot per handle, holding the oldest snapshot any of
     its read-only transactions reads (txid + 1; 0 for none).  A writer
     moves a pending page to the free list only once every slot is past
     the commit that freed it (digby__freelist_release), so no page is
     reused under a reader in any process;
   - the writer epoch, counted up by each read-write transaction: a writer
     that finds it moved by more than its own last one knows another
     handle wrote, and reloads the freelist from the file (its in-memory
     one is stale) and syncs its first commit in two steps (a writer that
     died mid-commit may have left pages carrying the txid it reuses:
     60_txn.c, digby__commit_meta).

   Locks (fcntl open-file-description locks through digby_vfs.shm_lock,
   which a process loses when it dies, however it dies): byte 0 while a
   handle attaches; byte 1, shared, by every attached handle (the first to
   attach finds it free and clears the file: a crash may have left
   anything in it); byte 2 by the read-write transaction (the writer
   lock, which also keeps a handle's open and close from running beside a
   writer); byte 64 + i by the owner of slot i for as long as it is open.
   A slot whose byte nobody holds is a dead handle's: a writer clears it
   (every 64 write transactions), so a reader killed with kill -9 holds
   nothing back for long (LMDB's mdb_reader_check does the same with pids).

   A reader publishes its snapshot in its slot before it reads a page, then
   loads the newest txid again: if it moved, a writer may have scanned the
   table before the slot said anything, so the reader starts over on the
   newer commit.  A writer stores the newest txid before it next scans.
   With sequentially consistent atomics one of the two sees the other
   (Dekker's store-then-load).

   Who shares: handles on a VFS with the lock file (the POSIX one on
   Linux, and the Win32 VFS), on plain and encrypted files, in either
   mode, mixed (a copy-on-write handle's writer merges a log-mode handle's
   log into the tree before it writes, as its open would).  Handles of an
   encrypted file share its data key: each opens it with the user's key,
   and takes in another's commits with the data key
   (digby__crypt_meta_shared); a passphrase change keeps the data key and
   others take its new header in with the commit; digby_rekey, which
   replaces the data key, runs only with no other handle attached and
   keeps others from attaching meanwhile (digby__shm_alone).  Where the
   lock file cannot be written (a read-only file system) a read-only
   handle reads alone, with the shared lock on the database file that
   keeps writers out.

   The lock file is not trusted: anything may be in it (a crash, another
   build, a local user who can write it, as read-only handles must).  Its
   slot count and high mark are bounded before use; a published txid that
   no meta page holds is an error (DIGBY_CORRUPT) for the transactions that
   would take it in, never a page read; and a writer checks the meta slot
   its commit will write, taking in a newer commit there than the lock
   file named (digby__shm_newest_in_file), so that it never builds on an
   older commit than the newest.  A lock file that understates the newest
   commit may show readers an older, whole, commit.  tests/torture/
   fuzz_lockfile.c fills the map with fuzzer bytes under two handles. */

/* 8-byte atomics without a library call (not on a Cortex-M: no sharing
   there anyway) */
#if defined(__GNUC__) && defined(__ATOMIC_SEQ_CST) && \
    defined(__GCC_HAVE_SYNC_COMPARE_AND_SWAP_8) && !defined(DIGBY_NO_POSIX)
#define DIGBY__HAVE_SHM 1
#define DIGBY__SHM_LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define DIGBY__SHM_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#else
#define DIGBY__HAVE_SHM 0
#define DIGBY__SHM_LOAD(p) (*(p))
#define DIGBY__SHM_STORE(p, v) (*(p) = (v))
#endif

#define DIGBY__SHM_BYTES 16384u  /* the lock file's map */
#define DIGBY__SHM_VERSION 2u
#define DIGBY__SHM_HDR 64u       /* header bytes; the slots follow */
#define DIGBY__SHM_SLOT 16u      /* bytes a slot */
#define DIGBY__SHM_SLOTS ((DIGBY__SHM_BYTES - DIGBY__SHM_HDR) / DIGBY__SHM_SLOT)
/* header fields (native byte order: the file is only ever shared on one
   machine) */
#define DIGBY__SHM_O_MAGIC 0u    /* 8 bytes "digbyLK1" */
#define DIGBY__SHM_O_VERSION 8u  /* u32 */
#define DIGBY__SHM_O_NSLOTS 12u  /* u32 */
#define DIGBY__SHM_O_TXID 16u    /* u64: newest commit published */
#define DIGBY__SHM_O_EPOCH 24u   /* u64: writer epoch */
#define DIGBY__SHM_O_HIGH 32u    /* u64: slots ever used (scans stop there) */
#define DIGBY__SHM_O_META 40u    /* u64: the newest commit with a meta page */
/* lock bytes */
#define DIGBY__LK_ATTACH 0u
#define DIGBY__LK_ALIVE 1u
#define DIGBY__LK_WRITER 2u
#define DIGBY__LK_SLOT0 64u
/* slot flags */
#define DIGBY__SHM_CHAINS 1u     /* digby_check or digby_backup reads its
                                    snapshot's freelist chain */
/* write transactions between two looks for dead readers' slots */
#define DIGBY__SHM_REAP_EVERY 64u

/* *p = max(*p, v), atomically. */
static void digby__shm_raise(uint64_t *p, uint64_t v)
{
#if DIGBY__HAVE_SHM
    uint64_t cur = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while (cur < v &&
           !__atomic_compare_exchange_n(p, &cur, v, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {}
#else
    if (*p < v) *p = v;
#endif
}

static const char digby__shm_magic[8] = {'d', 'i', 'g', 'b', 'y', 'L', 'K', '1'};

static uint64_t *digby__shm_u64(const digby_db *db, size_t off)
{
    return (uint64_t *)(void *)(db->shm + off);
}

/* Slot i's snapshot word (txid + 1, 0: none) and its flags word (pid in
   the low 32 bits for the command-line tool, flags in the high). */
static uint64_t *digby__shm_snap(const digby_db *db, uint32_t i)
{
    return digby__shm_u64(db, DIGBY__SHM_HDR + (size_t)i * DIGBY__SHM_SLOT);
}

static uint64_t *digby__shm_info(const digby_db *db, uint32_t i)
{
    return digby__shm_u64(db, DIGBY__SHM_HDR + (size_t)i * DIGBY__SHM_SLOT + 8);
}

static int digby__shm_lock(digby_db *db, uint32_t byte, int mode)
{
    return db->vfs->shm_lock(db->file, byte, 1, mode);
}

/* digby_open: whether this handle may share the file (before it is read). */
static int digby__shm_eligible(const digby_db *db, const digby_options *o)
{
    const digby_vfs *v = db->vfs;
    if (!DIGBY__HAVE_SHM || v->version < 4 || !v->shm_open || !v->shm_lock || !v->shm_close)
        return 0;
    (void)o;
    return 1;
}

/* Undo digby__shm_attach (close, or a failed open): the slot says nothing,
   and closing the lock file lets its locks go. */
static void digby__shm_detach(digby_db *db)
{
    if (!db->shm) return;
    DIGBY__SHM_STORE(digby__shm_snap(db, db->shm_slot), 0);
    DIGBY__SHM_STORE(digby__shm_info(db, db->shm_slot), 0);
    db->vfs->shm_close(db->file);
    db->shm = NULL;
}

/* digby_open, before the database file is read: map the lock file, clear
   it if this is the only handle attached, take a reader slot, and hold
   every page until the open has read what it needs (the slot says txid
   0).  A VFS or file system without the lock file leaves db->shm NULL:
   the handle then keeps the file to itself.  Returns DIGBY_OK; DIGBY_BUSY
   (every slot taken, or a lock file of another format in use); the VFS's
   errors (DIGBY_CANTOPEN, DIGBY_IOERR, DIGBY_NOMEM). */
static int digby__shm_attach(digby_db *db, const char *path)
{
    void *p = NULL;
    uint8_t *s;
    uint32_t i = 0;
    int rc, first = 0;
    rc = db->vfs->shm_open(db->file, path, DIGBY__SHM_BYTES, &p);
    if (rc == DIGBY_READONLY || rc == DIGBY_NOFEATURE) return DIGBY_OK;
    if (rc) return rc;
    s = (uint8_t *)p;
    db->shm = s;
    rc = digby__shm_lock(db, DIGBY__LK_ATTACH, DIGBY_LOCK_EXCLUSIVE | DIGBY_SHM_WAIT);
    if (rc == DIGBY_NOFEATURE) {
        db->vfs->shm_close(db->file);
        db->shm = NULL;
        return DIGBY_OK;
    }
    if (rc == DIGBY_OK) {
        rc = digby__shm_lock(db, DIGBY__LK_ALIVE, DIGBY_LOCK_EXCLUSIVE);
        first = rc == DIGBY_OK;
        if (rc == DIGBY_BUSY) rc = DIGBY_OK;
    }
    if (rc == DIGBY_OK && (first || memcmp(s, digby__shm_magic, 8) != 0 ||
                           *(uint32_t *)(void *)(s + DIGBY__SHM_O_VERSION) != DIGBY__SHM_VERSION ||
                           *(uint32_t *)(void *)(s + DIGBY__SHM_O_NSLOTS) != DIGBY__SHM_SLOTS)) {
        /* alone: whatever a crash left goes.  Not alone, a lock file of
           another format is another build's, in use */
        if (!first) rc = DIGBY_BUSY;
        else {
            memset(s, 0, DIGBY__SHM_BYTES);
            *(uint32_t *)(void *)(s + DIGBY__SHM_O_VERSION) = DIGBY__SHM_VERSION;
            *(uint32_t *)(void *)(s + DIGBY__SHM_O_NSLOTS) = DIGBY__SHM_SLOTS;
            memcpy(s, digby__shm_magic, 8);
        }
    }
    if (rc == DIGBY_OK) rc = digby__shm_lock(db, DIGBY__LK_ALIVE, DIGBY_LOCK_SHARED);
    for (i = 0; rc == DIGBY_OK && i < DIGBY__SHM_SLOTS; i++) {
        rc = digby__shm_lock(db, DIGBY__LK_SLOT0 + i, DIGBY_LOCK_EXCLUSIVE);
        if (rc == DIGBY_OK) break;
        if (rc == DIGBY_BUSY) rc = DIGBY_OK;
    }
    if (rc == DIGBY_OK && i == DIGBY__SHM_SLOTS) rc = DIGBY_BUSY;
    if (rc == DIGBY_OK) {
        db->shm_slot = i;
        DIGBY__SHM_STORE(digby__shm_snap(db, i), 1); /* hold everything */
        db->shm_pub = 1;
        /* (a dead handle's flags go too) */
#if defined(_WIN32) && !defined(DIGBY_NO_POSIX)
        DIGBY__SHM_STORE(digby__shm_info(db, i), (uint64_t)(uint32_t)GetCurrentProcessId());
#elif !defined(DIGBY_NO_POSIX)
        DIGBY__SHM_STORE(digby__shm_info(db, i), (uint64_t)(uint32_t)getpid());
#else
        DIGBY__SHM_STORE(digby__shm_info(db, i), 0);
#endif
        digby__shm_raise(digby__shm_u64(db, DIGBY__SHM_O_HIGH), (uint64_t)i + 1);
        (void)digby__shm_lock(db, DIGBY__LK_ATTACH, DIGBY_LOCK_NONE);
        return DIGBY_OK;
    }
    db->vfs->shm_close(db->file); /* its locks go with it */
    db->shm = NULL;
    return rc;
}

/* The newest txid published in the lock file. */
static uint64_t digby__shm_txid(const digby_db *db)
{
    return DIGBY__SHM_LOAD(digby__shm_u64(db, DIGBY__SHM_O_TXID));
}

/* The newest commit published with a meta page of its own (a
   copy-on-write commit, a checkpoint or a part of one); a commit in the
   log since has a larger txid. */
static uint64_t digby__shm_mtxid(const digby_db *db)
{
    return DIGBY__SHM_LOAD(digby__shm_u64(db, DIGBY__SHM_O_META));
}

/* Whether another handle has published a commit this one has not taken
   in (a hint, read without db->mu; digby__shm_refresh decides). */
static int digby__shm_behind(digby_db *db)
{
    return db->shm && digby__shm_txid(db) > DIGBY__SHM_LOAD(&db->shm_seen);
}

/* This handle committed db->last_txid (db->mu held; db->meta its newest
   meta page): publish it.  The meta page's txid goes first, so a reader
   that finds the new txid finds the meta page it needs. */
static void digby__shm_publish(digby_db *db)
{
    if (!db->shm) return;
    if (db->last_txid > db->shm_seen) DIGBY__SHM_STORE(&db->shm_seen, db->last_txid);
    digby__shm_raise(digby__shm_u64(db, DIGBY__SHM_O_META), db->meta.txid);
    digby__shm_raise(digby__shm_u64(db, DIGBY__SHM_O_TXID), db->last_txid);
}

/* The slot says `v` (txid + 1 of the handle's oldest snapshot, 0: none). */
static void digby__shm_say(digby_db *db, uint64_t v)
{
    DIGBY__SHM_STORE(digby__shm_snap(db, db->shm_slot), v);
    db->shm_pub = v;
}

/* A read-only transaction on snapshot txid was registered (db->mu held).
   Returns 1 when it must start over on a newer commit: its slot was
   published after a commit it does not see, so a writer may already have
   released pages it reads. */
static int digby__shm_reader_in(digby_db *db, uint64_t txid)
{
    if (!db->shm) return 0;
    if (db->shm_nread++ > 0 && db->shm_pub && db->shm_pub <= txid + 1) return 0;
    digby__shm_say(db, txid + 1);
    if (digby__shm_txid(db) <= txid) return 0;
    if (--db->shm_nread == 0) digby__shm_say(db, 0);
    return 1;
}

/* A read-only transaction on snapshot txid ended (db->mu held; its entry
   in db->readers cleared already). */
static void digby__shm_reader_out(digby_db *db, uint64_t txid)
{
    uint64_t low = 0;
    uint32_t r;
    if (!db->shm) return;
    if (--db->shm_nread == 0) {
        digby__shm_say(db, 0);
        return;
    }
    if (txid + 1 != db->shm_pub) return;
    for (r = 0; r < db->max_readers; r++)
        if (db->readers[r] && (!low || db->readers[r] < low)) low = db->readers[r];
    if (low) digby__shm_say(db, low);
}

/* digby_check or digby_backup started or stopped reading a freelist chain
   (db->fl_readers changed, db->mu held): other handles' writers keep the
   chains they replace meanwhile. */
static void digby__shm_chains(digby_db *db)
{
    uint64_t *w, v;
    if (!db->shm) return;
    w = digby__shm_info(db, db->shm_slot);
    v = DIGBY__SHM_LOAD(w) & 0xFFFFFFFFu;
    if (db->fl_readers) v |= (uint64_t)DIGBY__SHM_CHAINS << 32;
    DIGBY__SHM_STORE(w, v);
}

/* Whether another handle's digby_check or digby_backup reads its
   snapshot's freelist chain and pages now (digby_compact does not cut the
   file meanwhile). */
static int digby__shm_walkers(const digby_db *db)
{
    uint32_t i, high;
    if (!db->shm) return 0;
    high = (uint32_t)DIGBY__MIN(DIGBY__SHM_LOAD(digby__shm_u64(db, DIGBY__SHM_O_HIGH)),
                                (uint64_t)DIGBY__SHM_SLOTS);
    for (i = 0; i < high; i++)
        if (i != db->shm_slot &&
            ((DIGBY__SHM_LOAD(digby__shm_info(db, i)) >> 32) & DIGBY__SHM_CHAINS))
            return 1;
    return 0;
}

/* digby_rekey (on = 1): whether this handle is the only one attached, the
   others holding the data key it replaces.  Byte 1 is taken exclusive
   without waiting: DIGBY_BUSY while another handle holds it shared; held
   so, it keeps every other digby_open out (DIGBY_BUSY) until on = 0 gives
   it back as shared.  A handle without the lock file has the database file
   to itself already.  Returns DIGBY_OK, DIGBY_BUSY, the VFS's lock errors
   (DIGBY_IOERR, DIGBY_NOMEM). */
static int digby__shm_alone(digby_db *db, int on)
{
    if (!db->shm) return DIGBY_OK;
    if (on) return digby__shm_lock(db, DIGBY__LK_ALIVE, DIGBY_LOCK_EXCLUSIVE);
    /* (if this fails the byte stays exclusive: others stay out, no harm) */
    (void)digby__shm_lock(db, DIGBY__LK_ALIVE, DIGBY_LOCK_SHARED);
    return DIGBY_OK;
}

/* Slot i belongs to a dead handle when nobody holds its lock byte: take
   the byte, clear the slot, let the byte go. */
static void digby__shm_reap(digby_db *db, uint32_t i)
{
    if (digby__shm_lock(db, DIGBY__LK_SLOT0 + i, DIGBY_LOCK_EXCLUSIVE) != DIGBY_OK) return;
    DIGBY__SHM_STORE(digby__shm_snap(db, i), 0);
    DIGBY__SHM_STORE(digby__shm_info(db, i), 0);
    (void)digby__shm_lock(db, DIGBY__LK_SLOT0 + i, DIGBY_LOCK_NONE);
}

/* For the writer's freelist release (db->mu held): lower *oldest to the
   oldest snapshot any other handle's slot holds, and set *chains when one
   of them reads a freelist chain.  Every DIGBY__SHM_REAP_EVERY write
   transactions, dead handles' slots are cleared first. */
static void digby__shm_oldest(digby_db *db, uint64_t *oldest, int *chains)
{
    uint32_t i, high;
    int reap;
    if (!db->shm) return;
    reap = db->shm_reap++ % DIGBY__SHM_REAP_EVERY == 0;
    high = (uint32_t)DIGBY__MIN(DIGBY__SHM_LOAD(digby__shm_u64(db, DIGBY__SHM_O_HIGH)),
                                (uint64_t)DIGBY__SHM_SLOTS);
    for (i = 0; i < high; i++) {
        uint64_t snap;
        if (i == db->shm_slot) continue; /* db->readers says it all */
        snap = DIGBY__SHM_LOAD(digby__shm_snap(db, i));
        if (!snap && !(DIGBY__SHM_LOAD(digby__shm_info(db, i)) >> 32)) continue;
        if (reap) {
            digby__shm_reap(db, i);
            snap = DIGBY__SHM_LOAD(digby__shm_snap(db, i));
        }
        if (snap && snap - 1 < *oldest) *oldest = snap - 1;
        if ((DIGBY__SHM_LOAD(digby__shm_info(db, i)) >> 32) & DIGBY__SHM_CHAINS) *chains = 1;
    }
}

/* Read meta slot `slot` (0 or 1) of the file into *m, whatever commit it
   holds; buf is a page buffer (an encrypted page's clear key header stays
   at buf + DIGBY__M_CIPHER).  An encrypted file's page opens with the data
   key this handle holds.  Returns DIGBY_OK, DIGBY_IOERR (a short read too:
   the file holds the slot), DIGBY_NOMEM, or what the page is
   (DIGBY_CORRUPT, DIGBY_VERSION, DIGBY_NOTDIGBY, DIGBY_WRONGKEY). */
static int digby__shm_slot_meta(digby_db *db, uint64_t slot, uint8_t *buf, digby__meta *m)
{
    digby__dkey k;
    int rc, trusted;
    memset(&k, 0, sizeof(k));
    rc = digby__read_at(db, slot * db->page_size, buf, db->page_size);
    if (rc == DIGBY_CORRUPT) rc = DIGBY_IOERR;
    if (rc == DIGBY_OK && db->crypt) rc = digby__crypt_meta_shared(db, buf, slot, m);
    else if (rc == DIGBY_OK) rc = digby__meta_slot(db, buf, db->page_size, slot, m, &k, &trusted);
    return rc;
}

/* Read the meta page of commit txid (slot txid & 1) into *m (an encrypted
   file: its key header is taken in, digby__crypt_take_hdr).  DIGBY_BUSY
   when it is not there any more (a newer commit took the slot, or is
   writing it now): look again. */
static int digby__shm_read_meta(digby_db *db, uint64_t txid, digby__meta *m)
{
    uint8_t *buf = digby__pbuf_get(db);
    int rc;
    if (!buf) return DIGBY_NOMEM;
    rc = digby__shm_slot_meta(db, txid & 1, buf, m);
    if (rc == DIGBY_OK && m->txid == txid && db->crypt)
        digby__crypt_take_hdr(db, buf + DIGBY__M_CIPHER, m->key_writes);
    digby__pbuf_put(db, buf);
    if (rc == DIGBY_OK && m->txid == txid) return DIGBY_OK;
    if (rc == DIGBY_NOMEM || rc == DIGBY_IOERR) return rc;
    if (digby__shm_mtxid(db) != txid) return DIGBY_BUSY;
    /* published, still the newest, and its meta page does not hold it */
    return DIGBY__CORRUPT(db, txid & 1);
}

static int digby__log_adopt(digby_db *db, const digby__meta *m);
static int digby__log_follow(digby_db *db);
static uint64_t digby__log_have(const digby_db *db);

/* How long a reader goes on reading the log for a commit published in it
   before it calls the log damaged (a page being rewritten at the moment
   it is read fails its checksum; reading it again a moment later finds it
   whole). */
#define DIGBY__SHM_TAIL_NS ((uint64_t)2000000000u)

/* Take in the newest commit other handles published (db->rmu held).  A
   newer meta page becomes db->meta (a log it names that this handle did
   not read is read into a new memtable: digby__log_adopt), the memory
   map grows to the file, and the writer's freelist is stale; then the
   log is read on from where this handle stopped (digby__log_follow) until
   it holds the published commit.  all: read the log to its end even when
   nothing new is published (a writer taking over: a writer that died
   may have appended commits it never published).  Transactions begun
   before keep what they read (their meta copy, memtable reference and
   mapping).  Returns DIGBY_OK, DIGBY_CORRUPT (a published commit that
   its meta page or the log does not hold), DIGBY_IOERR, DIGBY_NOMEM,
   DIGBY_NOFEATURE (a log, in a build without log mode). */
static int digby__shm_refresh_locked(digby_db *db, int all)
{
    digby__meta m;
    uint64_t want, mt, seen;
#if DIGBY__HAVE_MEMTABLE
    uint64_t t0 = 0;
#endif
    int rc = DIGBY_OK;
    for (;;) {
        want = digby__shm_txid(db);
        mt = digby__shm_mtxid(db);
        digby__mutex_lock(&db->mu);
        seen = db->shm_seen;
        digby__mutex_unlock(&db->mu);
        if (want <= seen && !all) break;
        /* a commit whose meta page is published and whose txid is not
           yet (or never: its writer died between the two stores) */
        if (mt > want) want = mt;
        if (mt > db->meta.txid) {
            rc = digby__shm_read_meta(db, mt, &m);
            if (rc == DIGBY_BUSY) {
                rc = DIGBY_OK;
                continue;
            }
            if (rc) break;
            if (db->mapping && m.page_count > db->mapping->len / db->page_size)
                digby__map_grow(db, m.page_count);
            if (m.log_head != db->meta.log_head || m.log_lsn != db->meta.log_lsn)
                rc = digby__log_adopt(db, &m);
            if (rc) break;
            digby__mutex_lock(&db->mu);
            db->meta = m;
            if (m.txid > db->last_txid) db->last_txid = m.txid;
            /* the file holds the commit's pages (and may hold no more: a
               compaction cuts it): the map shows those */
            if (db->mapping)
                db->map_pages = DIGBY__MIN(m.page_count, db->mapping->len / db->page_size);
            db->shm_stale = 1;
            digby__mutex_unlock(&db->mu);
        }
        /* (a live write transaction of this handle read everything there
           was when it took the writer lock, and appends the rest) */
        if (!db->shm_wlive && (rc = digby__log_follow(db)) != DIGBY_OK) break;
        if (digby__log_have(db) < want) {
            /* published, and not read whole yet: a page of it read while
               its writer rewrote it, or a checkpoint since that reused
               the log's pages (the next round reads its meta page).
               (Without log mode every published commit has its meta
               page.) */
#if DIGBY__HAVE_MEMTABLE
            uint64_t now = digby__now_ns();
            /* (no log as of the newest meta page: nothing to read again,
               the lock file names a commit the file lacks) */
            if (!db->meta.log_head) {
                rc = DIGBY__CORRUPT(db, 0);
                break;
            }
            if (!t0) t0 = now;
            else if (now - t0 > DIGBY__SHM_TAIL_NS) {
                rc = DIGBY__CORRUPT(db, db->log.tail.end_pgno);
                break;
            }
            digby__yield();
            all = 0;
            continue;
#else
            rc = DIGBY__CORRUPT(db, 0);
            break;
#endif
        }
        digby__mutex_lock(&db->mu);
        if (want > db->last_txid) db->last_txid = want;
        if (want > db->shm_seen) DIGBY__SHM_STORE(&db->shm_seen, want);
        digby__mutex_unlock(&db->mu);
        break;
    }
    return rc;
}

/* digby__shm_refresh_locked under db->rmu: called with no lock held,
   before a transaction registers. */
static int digby__shm_refresh(digby_db *db)
{
    int rc;
    digby__mutex_lock(&db->rmu);
    rc = digby__shm_refresh_locked(db, 0);
    digby__mutex_unlock(&db->rmu);
    return rc;
}

/* A read-write transaction begins (db->wmu held): take the writer lock
   (DIGBY_BUSY at once with nowait), take in what others committed, and
   when another handle wrote since this one last did, reload the freelist
   and make the next commit sync twice.  Returns DIGBY_OK (*locked: the
   lock was taken), DIGBY_BUSY, and digby__shm_refresh's and the freelist
   load's errors (the lock let go again). */
/* The writer lock alone (digby_open reads the file under it), and the
   writer epoch counted up. */
static int digby__shm_wlock(digby_db *db, int nowait)
{
    uint64_t e;
    int rc = digby__shm_lock(db, DIGBY__LK_WRITER,
                             DIGBY_LOCK_EXCLUSIVE | (nowait ? 0 : DIGBY_SHM_WAIT));
    if (rc) return rc;
    e = DIGBY__SHM_LOAD(digby__shm_u64(db, DIGBY__SHM_O_EPOCH)) + 1;
    DIGBY__SHM_STORE(digby__shm_u64(db, DIGBY__SHM_O_EPOCH), e);
    if (e != db->shm_wepoch + 1) {
        db->shm_stale = 1;
        db->synced_commit = 0;
    }
    db->shm_wepoch = e;
    return DIGBY_OK;
}

/* After another handle's writer (db->shm_stale, the writer lock held):
   a writer that died between writing its meta page and publishing it left
   a commit in the file that the lock file does not name.  Open would take
   it (it is whole: its pages were written first), so it is the newest
   commit: published here, before anything builds on the one before.
   (Commits a dead writer appended to the log and did not publish are
   read by digby__shm_refresh_locked with all set.) */
static int digby__shm_adopt_unpublished(digby_db *db)
{
    uint64_t pub = digby__shm_mtxid(db), best = 0, s;
    uint8_t *buf = digby__pbuf_get(db);
    int rc = DIGBY_OK;
    if (!buf) return DIGBY_NOMEM;
    for (s = 0; s < 2 && rc == DIGBY_OK; s++) {
        digby__meta m;
        rc = digby__shm_slot_meta(db, s, buf, &m);
        if (rc == DIGBY_OK && m.txid > pub && m.txid > best) best = m.txid;
        if (rc != DIGBY_NOMEM && rc != DIGBY_IOERR) rc = DIGBY_OK; /* (no such commit) */
    }
    digby__pbuf_put(db, buf);
    if (rc == DIGBY_OK && best) {
        digby__shm_raise(digby__shm_u64(db, DIGBY__SHM_O_META), best);
        digby__shm_raise(digby__shm_u64(db, DIGBY__SHM_O_TXID), best);
    }
    return rc;
}

static int digby__log_takeover(digby_db *db, uint64_t published);

/* The writer (lock held, refreshed) does not take the lock file's word
   for which commit is the newest: it may hold anything (a crash, another
   build, a local user who can write PATH-lock).  Building on an older
   commit than the newest would overwrite the newest's meta slot, and a
   stale freelist would hand out pages the newest uses: committed data
   lost.  So the file has the last word: the meta slot the next commit
   will write must hold an older commit than the one taken in; when it
   holds a newer one whose pages verify as open verifies the newest commit
   (digby__verify_newest), that commit is published and taken in (and
   looked at again, at most a few times): taking it in marks the freelist
   stale (digby__shm_refresh), whatever the epoch says, so it is reloaded.
   A newer one that open would set aside (pages missing: a power cut or
   damage; or the one this handle's open set aside) is overwritten, as
   after open.  One meta page read per write transaction.  Returns DIGBY_OK,
   digby__shm_refresh's errors, DIGBY_IOERR, DIGBY_NOMEM. */
static int digby__shm_newest_in_file(digby_db *db)
{
    uint8_t *buf = digby__pbuf_get(db);
    digby__meta m;
    uint64_t last;
    int rc = DIGBY_OK, round;
    if (!buf) return DIGBY_NOMEM;
    for (round = 0; rc == DIGBY_OK && round < 4; round++) {
        /* (the next commit with a meta page writes the other slot than
           the newest one: in log mode db->last_txid may be a commit in
           the log) */
        digby__mutex_lock(&db->mu);
        last = db->meta.txid;
        digby__mutex_unlock(&db->mu);
        rc = digby__shm_slot_meta(db, (last + 1) & 1, buf, &m);
        if (rc == DIGBY_NOMEM || rc == DIGBY_IOERR) break;
        /* an older commit there (or damage open would not take): as it
           should be */
        if (rc != DIGBY_OK || m.txid <= last) {
            rc = DIGBY_OK;
            break;
        }
        /* a commit open would set aside (its pages did not all reach the
           file: a power cut, damage) is overwritten, as after open */
        if (m.txid == db->discarded_txid) break;
        rc = digby__verify_newest(db, &m);
        if (rc == DIGBY_CORRUPT) {
            db->corrupt_pgno = 0;
            rc = DIGBY_OK;
            break;
        }
        if (rc) break;
        digby__shm_raise(digby__shm_u64(db, DIGBY__SHM_O_META), m.txid);
        digby__shm_raise(digby__shm_u64(db, DIGBY__SHM_O_TXID), m.txid);
        rc = digby__shm_refresh_locked(db, 1);
    }
    digby__pbuf_put(db, buf);
    return rc;
}

static int digby__shm_writer_in(digby_db *db, int nowait, int *locked)
{
    uint64_t published;
    int rc;
    *locked = 0;
    if (!db->shm) return DIGBY_OK;
    rc = digby__shm_wlock(db, nowait);
    if (rc) return rc;
    digby__mutex_lock(&db->rmu);
    rc = db->shm_stale ? digby__shm_adopt_unpublished(db) : DIGBY_OK;
    published = digby__shm_txid(db);
    if (rc == DIGBY_OK) rc = digby__shm_refresh_locked(db, db->shm_stale);
    if (rc == DIGBY_OK) rc = digby__shm_newest_in_file(db);
    if (rc == DIGBY_OK && db->shm_stale && (db->log.cur_pgno || db->meta.log_head)) {
        /* log commits count the pages they take in db->meta.page_count
           without a meta page: the file's count comes back with its
           freelist (what the other writer took is the log's, and the
           takeover counts it again) */
        digby__meta m;
        rc = digby__shm_read_meta(db, db->meta.txid, &m);
        if (rc == DIGBY_OK) db->meta.page_count = m.page_count;
    }
    if (rc == DIGBY_OK && db->shm_stale) {
        rc = digby__freelist_reload(db);
        /* the log's pages since the last checkpoint are not in the file's
           freelist: taken out of it, and the log goes on after them */
        if (rc == DIGBY_OK) rc = digby__log_takeover(db, published);
        if (rc == DIGBY_OK) db->shm_stale = 0;
    }
    if (rc == DIGBY_OK) {
        digby__mutex_lock(&db->mu);
        db->shm_wlive = 1;
        digby__mutex_unlock(&db->mu);
    }
    digby__mutex_unlock(&db->rmu);
    if (rc) {
        (void)digby__shm_lock(db, DIGBY__LK_WRITER, DIGBY_LOCK_NONE);
        return rc;
    }
    *locked = 1;
    return DIGBY_OK;
}

/* The read-write transaction ends: the log is for others to append to
   again (the handle reads what they append), and the writer lock goes. */
static void digby__shm_writer_out(digby_db *db)
{
    digby__mutex_lock(&db->rmu);
    digby__mutex_lock(&db->mu);
    db->shm_wlive = 0;
    digby__mutex_unlock(&db->mu);
    digby__mutex_unlock(&db->rmu);
    (void)digby__shm_lock(db, DIGBY__LK_WRITER, DIGBY_LOCK_NONE);
}
