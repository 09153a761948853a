/* White-box tests of src_parts/44_meta.c: meta page encoding and decoding,
   and digby__meta_load's choice between the two slots, on files built
   byte by byte on the in-memory VFS. */
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#define UNIT_RNG_SEED 4242
#include "unit_common.h"

/* A sane meta page: both trees and the freelist inside page_count. */
static digby__meta sample_meta(uint64_t txid, uint64_t page_count)
{
    digby__meta m;
    unsigned i;
    memset(&m, 0, sizeof m);
    m.txid = txid;
    m.page_count = page_count;
    if (page_count > 4) {
        m.main.root = page_count - 1;
        m.main.root_txid = txid;
        m.main.entries = 1000;
        m.main.depth = 2;
        m.catalog.root = 2;
        m.catalog.root_txid = txid > 0 ? txid - 1 : 0;
        m.catalog.entries = 3;
        m.catalog.depth = 1;
        m.free_root = 3;
        m.free_count = 4;
    }
    for (i = 0; i < 16; i++) m.uuid[i] = (uint8_t)(0xA0 + i);
    return m;
}

static void assert_tree_equal(const digby__tree *a, const digby__tree *b)
{
    assert_true(a->root == b->root);
    assert_true(a->root_txid == b->root_txid);
    assert_true(a->entries == b->entries);
    assert_int_equal(a->depth, b->depth);
    assert_int_equal(a->flags, b->flags);
}

static void assert_meta_equal(const digby__meta *a, const digby__meta *b)
{
    assert_true(a->txid == b->txid);
    assert_true(a->page_count == b->page_count);
    assert_tree_equal(&a->main, &b->main);
    assert_tree_equal(&a->catalog, &b->catalog);
    assert_true(a->free_root == b->free_root);
    assert_true(a->free_count == b->free_count);
    assert_memory_equal(a->uuid, b->uuid, 16);
}

static const uint32_t all_sizes[] = {512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
#define NSIZES (sizeof all_sizes / sizeof all_sizes[0])

/* Run fn for every page size. */
static void each_size(void (*fn)(uint32_t ps))
{
    unsigned s;
    for (s = 0; s < NSIZES; s++) fn(all_sizes[s]);
}

/* ---- encode / decode ------------------------------------------------------- */

static void round_trip_and_layout(uint32_t ps)
{
    digby_db db;
    uint8_t *page = (uint8_t *)malloc(ps);
    int t;
    fake_db(&db, ps);
    for (t = 0; t < 20; t++) {
        digby__meta m, d;
        uint64_t txid = t < 2 ? (uint64_t)t : (rnd() >> 8) + 2, slot = txid & 1;
        uint32_t i;
        m = sample_meta(txid, 100 + (rnd() >> 40));
        m.main.entries = rnd();
        m.free_count = m.page_count * 2 + 2; /* the largest allowed */
        for (i = 0; i < 16; i++) m.uuid[i] = (uint8_t)rnd();
        memset(page, 0xEE, ps);
        digby__meta_encode(&db, &m, page);
        /* FORMAT.md section 3 */
        assert_int_equal(page[0], DIGBY__PAGE_META);
        for (i = 1; i < 8; i++) assert_int_equal(page[i], 0);
        assert_true(digby__get64(page + 8) == slot);
        assert_true(digby__get64(page + 16) == txid);
        assert_memory_equal(page + 24, "DIGBYDB\0", 8);
        assert_int_equal(digby__get32(page + 32), 1);
        assert_int_equal(digby__get32(page + 36), ps);
        assert_int_equal(digby__get32(page + 40), 0);
        assert_int_equal(digby__get32(page + 44), 0);
        assert_int_equal(digby__get32(page + 48), 4);
        assert_int_equal(digby__get32(page + 52), 0);
        assert_true(digby__get64(page + 56) == txid);
        assert_true(digby__get64(page + 64) == m.page_count);
        assert_true(digby__get64(page + 72) == m.main.root);
        assert_true(digby__get64(page + 80) == m.main.root_txid);
        assert_true(digby__get64(page + 88) == m.main.entries);
        assert_int_equal(digby__get32(page + 96), m.main.depth);
        assert_int_equal(digby__get32(page + 100), 0);
        assert_true(digby__get64(page + 104) == m.catalog.root);
        assert_true(digby__get64(page + 136) == m.free_root);
        assert_true(digby__get64(page + 144) == m.free_count);
        assert_memory_equal(page + 152, m.uuid, 16);
        for (i = 168; i < ps - 4; i++)
            if (page[i]) fail_msg("page size %u: byte %u is %u, not 0", ps, i, page[i]);
        assert_int_equal(digby__page_verify(&db, page, slot), DIGBY_OK);
        memset(&d, 0x55, sizeof d);
        assert_int_equal(digby__meta_decode(&db, page, ps, slot, &d), DIGBY_OK);
        assert_meta_equal(&m, &d);
    }
    {
        /* an empty database as created */
        digby__meta m = sample_meta(1, 2), d;
        digby__meta_encode(&db, &m, page);
        assert_int_equal(digby__meta_decode(&db, page, ps, 1, &d), DIGBY_OK);
        assert_meta_equal(&m, &d);
    }
    free(page);
}

static void test_round_trip_and_layout(void **state)
{
    (void)state;
    each_size(round_trip_and_layout);
}

/* Decode a copy of `good` after fn changed it (and resealed it if asked). */
typedef void (*mutator)(uint8_t *page, uint32_t ps);

static int decode_mutated(const uint8_t *good, uint32_t ps, uint64_t slot, mutator fn,
                          int reseal)
{
    digby_db db;
    digby__meta d;
    uint8_t *p = (uint8_t *)malloc(ps);
    int rc;
    fake_db(&db, ps);
    memcpy(p, good, ps);
    fn(p, ps);
    if (reseal) digby__page_checksum(&db, p);
    rc = digby__meta_decode(&db, p, ps, slot, &d);
    free(p);
    return rc;
}

static void m_nothing(uint8_t *p, uint32_t ps) { (void)p; (void)ps; }
static void m_version2(uint8_t *p, uint32_t ps) { (void)ps; digby__put32(p + 32, 2); }
static void m_version_max(uint8_t *p, uint32_t ps) { (void)ps; digby__put32(p + 32, 0xffffffffu); }
static void m_version0(uint8_t *p, uint32_t ps) { (void)ps; digby__put32(p + 32, 0); }
static void m_trailer28(uint8_t *p, uint32_t ps) { (void)ps; digby__put32(p + 48, 28); }
static void m_pagesize(uint8_t *p, uint32_t ps) { digby__put32(p + 36, ps * 2); }
static void m_type(uint8_t *p, uint32_t ps) { (void)ps; p[0] = DIGBY__PAGE_LEAF; }
static void m_body_bit(uint8_t *p, uint32_t ps) { (void)ps; p[70] ^= 0x04; }
static void m_zero_bit(uint8_t *p, uint32_t ps) { p[ps / 2] ^= 0x80; }
static void m_trailer_bit(uint8_t *p, uint32_t ps) { p[ps - 1] ^= 0x01; }
static void m_hdr_txid(uint8_t *p, uint32_t ps) { (void)ps; digby__put64(p + 16, digby__get64(p + 16) + 2); }
static void m_body_txid(uint8_t *p, uint32_t ps) { (void)ps; digby__put64(p + 56, digby__get64(p + 56) + 2); }
static void m_both_txid_flip(uint8_t *p, uint32_t ps)
{
    /* header slot and txids agree with each other but not with the slot */
    (void)ps;
    digby__put64(p + 8, digby__get64(p + 8) ^ 1);
}

static void decode_rejects_header(uint32_t ps)
{
    digby_db db;
    digby__meta m = sample_meta(10, 50), d;
    uint8_t *good = (uint8_t *)malloc(ps), *p = (uint8_t *)malloc(ps);
    unsigned i, bit;
    fake_db(&db, ps);
    digby__meta_encode(&db, &m, good);
    assert_int_equal(decode_mutated(good, ps, 0, m_nothing, 0), DIGBY_OK);
    assert_int_equal(decode_mutated(good, ps, 0, m_nothing, 1), DIGBY_OK);
    /* bad magic: not a digby file, whatever else holds */
    for (i = 0; i < 8; i++) {
        memcpy(p, good, ps);
        p[24 + i] ^= 0x20;
        assert_int_equal(digby__meta_decode(&db, p, ps, 0, &d), DIGBY_NOTDIGBY);
        digby__page_checksum(&db, p);
        assert_int_equal(digby__meta_decode(&db, p, ps, 0, &d), DIGBY_NOTDIGBY);
    }
    /* newer format version, unknown incompatible feature, unknown trailer */
    assert_int_equal(decode_mutated(good, ps, 0, m_version2, 1), DIGBY_VERSION);
    assert_int_equal(decode_mutated(good, ps, 0, m_version_max, 1), DIGBY_VERSION);
    assert_int_equal(decode_mutated(good, ps, 0, m_trailer28, 1), DIGBY_VERSION);
    for (bit = 0; bit < 32; bit++) {
        memcpy(p, good, ps);
        digby__put32(p + 40, 1u << bit);
        digby__page_checksum(&db, p);
        /* bit 1 is the log's (FORMAT.md section 11): known, and without a
           log head a contradiction */
        assert_int_equal(digby__meta_decode(&db, p, ps, 0, &d),
                         (1u << bit) == DIGBY__INCOMPAT_LOG ? DIGBY_CORRUPT : DIGBY_VERSION);
        /* unknown compatible features are ignored */
        memcpy(p, good, ps);
        digby__put32(p + 44, 1u << bit);
        digby__page_checksum(&db, p);
        assert_int_equal(digby__meta_decode(&db, p, ps, 0, &d), DIGBY_OK);
    }
    /* checksum: any change without resealing */
    assert_int_equal(decode_mutated(good, ps, 0, m_body_bit, 0), DIGBY_CORRUPT);
    assert_int_equal(decode_mutated(good, ps, 0, m_zero_bit, 0), DIGBY_CORRUPT);
    assert_int_equal(decode_mutated(good, ps, 0, m_trailer_bit, 0), DIGBY_CORRUPT);
    /* a version change is caught by the checksum before it means anything */
    assert_int_equal(decode_mutated(good, ps, 0, m_version2, 0), DIGBY_CORRUPT);
    /* other fields */
    assert_int_equal(decode_mutated(good, ps, 0, m_pagesize, 1), DIGBY_CORRUPT);
    assert_int_equal(decode_mutated(good, ps, 0, m_type, 1), DIGBY_CORRUPT);
    assert_int_equal(decode_mutated(good, ps, 0, m_hdr_txid, 1), DIGBY_CORRUPT);
    assert_int_equal(decode_mutated(good, ps, 0, m_body_txid, 1), DIGBY_CORRUPT);
    /* wrong slot: decoding slot 0's page as slot 1, and a page whose
       own slot field disagrees with its txid */
    assert_int_equal(decode_mutated(good, ps, 1, m_nothing, 0), DIGBY_CORRUPT);
    assert_int_equal(decode_mutated(good, ps, 1, m_both_txid_flip, 1), DIGBY_CORRUPT);
    assert_int_equal(decode_mutated(good, ps, 0, m_both_txid_flip, 1), DIGBY_CORRUPT);
    /* decoding with another page size than the page's */
    if (ps >= 1024) {
        memcpy(p, good, ps);
        assert_int_equal(digby__meta_decode(&db, p, ps / 2, 0, &d), DIGBY_CORRUPT);
    }
    free(p);
    free(good);
}

static void test_decode_rejects_header(void **state)
{
    (void)state;
    each_size(decode_rejects_header);
}

/* Format version 0 never existed: a page that says so is not a version-1
   meta page (FORMAT.md section 3: version = 1).  Decoding accepts any
   version up to the current one today. */
static void test_decode_rejects_version_zero(void **state)
{
    digby_db db;
    digby__meta m = sample_meta(10, 50);
    uint8_t good[512];
    (void)state;
    fake_db(&db, 512);
    digby__meta_encode(&db, &m, good);
    assert_int_not_equal(decode_mutated(good, 512, 0, m_version0, 1), DIGBY_OK);
}

/* Field checks: build the meta, encode, decode. */
static int decode_meta(const digby__meta *m, uint32_t ps)
{
    digby_db db;
    digby__meta d;
    uint8_t *p = (uint8_t *)malloc(ps);
    int rc;
    fake_db(&db, ps);
    digby__meta_encode(&db, m, p);
    rc = digby__meta_decode(&db, p, ps, m->txid & 1, &d);
    free(p);
    return rc;
}

/* Set one field of the meta page m, then encode and decode it at 512-byte
   pages: want is the result. */
#define SET_DECODES(m, field, value, want)                                    \
    do {                                                                      \
        (field) = (value);                                                    \
        assert_int_equal(decode_meta((m), 512), (want));                      \
    } while (0)

static void check_tree_rules(digby__tree *t, digby__meta *m)
{
    digby__tree keep = *t;
    assert_int_equal(decode_meta(m, 512), DIGBY_OK);
    /* root outside [2, page_count) */
    SET_DECODES(m, t->root, m->page_count, DIGBY_CORRUPT);
    SET_DECODES(m, t->root, UINT64_MAX, DIGBY_CORRUPT);
    SET_DECODES(m, t->root, 1, DIGBY_CORRUPT);
    SET_DECODES(m, t->root, m->page_count - 1, DIGBY_OK);
    /* depth: a rooted tree has 1..32 levels */
    SET_DECODES(m, t->depth, 0, DIGBY_CORRUPT);
    SET_DECODES(m, t->depth, 33, DIGBY_CORRUPT);
    SET_DECODES(m, t->depth, 0xffffffffu, DIGBY_CORRUPT);
    SET_DECODES(m, t->depth, 32, DIGBY_OK);
    /* the root was written by a transaction after this one */
    SET_DECODES(m, t->root_txid, m->txid + 1, DIGBY_CORRUPT);
    SET_DECODES(m, t->root_txid, m->txid, DIGBY_OK);
    /* reserved flags */
    SET_DECODES(m, t->flags, 1, DIGBY_CORRUPT);
    SET_DECODES(m, t->flags, 0x80000000u, DIGBY_CORRUPT);
    t->flags = 0;
    /* an empty tree has no depth and no entries */
    t->root = 0;
    t->root_txid = 0;
    t->depth = 0;
    SET_DECODES(m, t->entries, 0, DIGBY_OK);
    SET_DECODES(m, t->depth, 1, DIGBY_CORRUPT);
    t->depth = 0;
    SET_DECODES(m, t->entries, 1, DIGBY_CORRUPT);
    t->entries = 0;
    SET_DECODES(m, t->flags, 2, DIGBY_CORRUPT);
    *t = keep;
    assert_int_equal(decode_meta(m, 512), DIGBY_OK);
}

static void test_decode_rejects_fields(void **state)
{
    digby__meta m = sample_meta(21, 40);
    (void)state;
    assert_int_equal(decode_meta(&m, 512), DIGBY_OK);
    /* page_count: at least the two meta pages */
    m.page_count = 0;
    m.main.root = 0; m.main.depth = 0; m.main.entries = 0;
    m.catalog.root = 0; m.catalog.depth = 0; m.catalog.entries = 0;
    m.free_root = 0; m.free_count = 0;
    assert_int_equal(decode_meta(&m, 512), DIGBY_CORRUPT);
    SET_DECODES(&m, m.page_count, 1, DIGBY_CORRUPT);
    SET_DECODES(&m, m.page_count, 2, DIGBY_OK);
    /* more pages than a 64-bit file offset can address */
    SET_DECODES(&m, m.page_count, UINT64_MAX / 512 + 1, DIGBY_CORRUPT);
    SET_DECODES(&m, m.page_count, UINT64_MAX / 512, DIGBY_OK);
    m.page_count = UINT64_MAX / 65536 + 1;
    assert_int_equal(decode_meta(&m, 65536), DIGBY_CORRUPT);
    /* tree descriptors */
    m = sample_meta(21, 40);
    check_tree_rules(&m.main, &m);
    check_tree_rules(&m.catalog, &m);
    /* the freelist root and length */
    SET_DECODES(&m, m.free_root, 1, DIGBY_CORRUPT);
    SET_DECODES(&m, m.free_root, m.page_count, DIGBY_CORRUPT);
    SET_DECODES(&m, m.free_root, m.page_count - 1, DIGBY_OK);
    SET_DECODES(&m, m.free_count, m.page_count * 2 + 2, DIGBY_OK);
    SET_DECODES(&m, m.free_count, m.page_count * 2 + 3, DIGBY_CORRUPT);
    SET_DECODES(&m, m.free_count, UINT64_MAX, DIGBY_CORRUPT);
    m.free_root = 0;
    SET_DECODES(&m, m.free_count, 3, DIGBY_CORRUPT);
    SET_DECODES(&m, m.free_count, 0, DIGBY_OK);
}

/* ---- digby__meta_load -------------------------------------------------------- */

typedef struct mfile {
    digby_vfs *vfs;
    uint8_t *img;
    size_t bytes;
    uint32_t ps;
} mfile;

static void mf_init(mfile *f, uint32_t ps, uint64_t npages)
{
    if (!f->vfs) assert_int_equal(digby_vfs_mem_create(NULL, &f->vfs), DIGBY_OK);
    free(f->img);
    f->ps = ps;
    f->bytes = (size_t)(ps * npages);
    f->img = (uint8_t *)calloc(1, f->bytes);
    assert_non_null(f->img);
}

/* mf_init on a new mfile (no VFS yet). */
static void mf_new(mfile *f, uint32_t ps, uint64_t npages)
{
    memset(f, 0, sizeof *f);
    mf_init(f, ps, npages);
}

static void mf_done(mfile *f)
{
    free(f->img);
    digby_vfs_mem_destroy(f->vfs);
    memset(f, 0, sizeof *f);
}

/* Put a meta page with the given txid and page count in its slot. */
static uint8_t *mf_meta(mfile *f, uint64_t txid, uint64_t page_count)
{
    digby_db db;
    digby__meta m = sample_meta(txid, page_count);
    uint8_t *at = f->img + (size_t)(txid & 1) * f->ps;
    fake_db(&db, f->ps);
    digby__meta_encode(&db, &m, at);
    return at;
}

static void mf_reseal(mfile *f, uint8_t *page)
{
    digby_db db;
    fake_db(&db, f->ps);
    digby__page_checksum(&db, page);
}

/* A fresh image of npages pages with meta pages for txids first and
   second, written in that order (each in its slot, counting npages);
   returns the second. */
static uint8_t *mf_pair(mfile *f, uint32_t ps, uint64_t npages, uint64_t first, uint64_t second)
{
    mf_init(f, ps, npages);
    mf_meta(f, first, npages);
    return mf_meta(f, second, npages);
}

/* Run fn on one image for every page size. */
static void mf_each_size(void (*fn)(mfile *f, uint32_t ps))
{
    mfile f;
    unsigned s;
    memset(&f, 0, sizeof f);
    for (s = 0; s < NSIZES; s++) fn(&f, all_sizes[s]);
    mf_done(&f);
}

/* Set a 32-bit header field of a meta page and seal it again. */
static void mf_set32(mfile *f, uint8_t *page, unsigned off, uint32_t v)
{
    digby__put32(page + off, v);
    mf_reseal(f, page);
}

/* Write the image as file "m.db" and run digby__meta_load on it. */
static int mf_load(mfile *f, size_t bytes, uint32_t want_ps, digby_db *db)
{
    digby_file *file;
    int rc;
    memset(db, 0, sizeof *db);
    db->vfs = f->vfs;
    assert_int_equal(f->vfs->open(f->vfs, "m.db", DIGBY_VFS_CREATE, &file), DIGBY_OK);
    assert_int_equal(f->vfs->truncate(file, 0), DIGBY_OK);
    if (bytes) assert_int_equal(f->vfs->write(file, 0, f->img, bytes), DIGBY_OK);
    db->file = file;
    rc = digby__meta_load(db, bytes, want_ps);
    f->vfs->close(file);
    db->file = NULL;
    return rc;
}

static void picks_newer(mfile *f, uint32_t ps)
{
    digby_db db;
    mf_pair(f, ps, 8, 4, 3);
    assert_int_equal(mf_load(f, f->bytes, 0, &db), DIGBY_OK);
    assert_int_equal(db.page_size, ps);
    assert_true(db.meta.txid == 4);
    assert_true(db.have_fallback && db.fallback.txid == 3);
    assert_int_equal(mf_load(f, f->bytes, ps, &db), DIGBY_OK);
    mf_meta(f, 5, 8);
    assert_int_equal(mf_load(f, f->bytes, 0, &db), DIGBY_OK);
    assert_true(db.meta.txid == 5);
    assert_true(db.have_fallback && db.fallback.txid == 4);
    /* a fresh file: txids 0 and 1 */
    mf_meta(f, 0, 2);
    mf_meta(f, 1, 2);
    assert_int_equal(mf_load(f, 2 * (size_t)ps, 0, &db), DIGBY_OK);
    assert_true(db.meta.txid == 1);
    assert_true(db.meta.page_count == 2);
    /* the caller's page size must match */
    assert_int_equal(mf_load(f, f->bytes, ps == 512 ? 1024 : 512, &db), DIGBY_PAGESIZE);
}

static void test_load_picks_newer(void **state)
{
    (void)state;
    mf_each_size(picks_newer);
}

static void falls_back(mfile *f, uint32_t ps)
{
    digby_db db;
    uint8_t *p;
    /* newer in slot 1 with a flipped bit */
    p = mf_pair(f, ps, 8, 6, 7);
    p[ps / 3] ^= 0x10;
    assert_int_equal(mf_load(f, f->bytes, 0, &db), DIGBY_OK);
    assert_true(db.meta.txid == 6);
    assert_false(db.have_fallback);
    assert_int_equal(db.page_size, ps);
    /* newer in slot 0, torn: its second half never written */
    p = mf_pair(f, ps, 8, 7, 8);
    memset(p + ps / 2, 0, ps / 2);
    assert_int_equal(mf_load(f, f->bytes, 0, &db), DIGBY_OK);
    assert_true(db.meta.txid == 7);
    assert_int_equal(db.page_size, ps);
    /* newer with no magic (a write that never happened: zeros) */
    p = mf_pair(f, ps, 8, 9, 10);
    memset(p, 0, ps);
    assert_int_equal(mf_load(f, f->bytes, 0, &db), DIGBY_OK);
    assert_true(db.meta.txid == 9);
    /* newer counting pages the file does not have (a crash before the
       growth reached the disk): the previous commit */
    mf_init(f, ps, 8);
    mf_meta(f, 11, 8);
    mf_meta(f, 12, 9);
    assert_int_equal(mf_load(f, f->bytes, 0, &db), DIGBY_OK);
    assert_true(db.meta.txid == 11);
    /* both past the end: the file was truncated */
    mf_meta(f, 11, 9);
    assert_int_equal(mf_load(f, f->bytes, 0, &db), DIGBY_CORRUPT);
}

static void test_load_falls_back(void **state)
{
    (void)state;
    mf_each_size(falls_back);
}

static void slot1_when_slot0_garbage(mfile *f, uint32_t ps)
{
    digby_db db;
    unsigned kind;
    for (kind = 0; kind < 5; kind++) {
        uint64_t npages = kind == 4 ? 2 : 6;
        size_t i;
        mf_init(f, ps, npages);
        mf_meta(f, 3, npages);
        switch (kind) {
        case 0: /* random bytes */
            for (i = 0; i < ps; i++) f->img[i] = (uint8_t)rnd();
            break;
        case 1: /* zeros */
            break;
        case 2: /* a meta page's first sector with a wrong page size */
            mf_meta(f, 2, npages);
            digby__put32(f->img + 36, ps == 65536 ? 512 : ps * 2);
            break;
        case 3: /* a meta page with a bad checksum */
            mf_meta(f, 2, npages);
            f->img[ps - 2] ^= 0xff;
            break;
        default: /* random bytes, the file just two pages */
            for (i = 0; i < ps; i++) f->img[i] = (uint8_t)(rnd() | 1);
            break;
        }
        if (mf_load(f, f->bytes, 0, &db) != DIGBY_OK)
            fail_msg("page size %u, slot 0 garbage kind %u: slot 1 not found", ps, kind);
        assert_int_equal(db.page_size, ps);
        assert_true(db.meta.txid == 3);
        assert_false(db.have_fallback);
        /* the right page size given is fine too */
        assert_int_equal(mf_load(f, f->bytes, ps, &db), DIGBY_OK);
    }
}

static void test_load_slot1_when_slot0_garbage(void **state)
{
    (void)state;
    mf_each_size(slot1_when_slot0_garbage);
}

static void test_load_errors(void **state)
{
    mfile f;
    digby_db db;
    size_t i;
    uint8_t *p;
    (void)state;
    mf_new(&f, 4096, 4);
    /* empty and short files */
    assert_int_equal(mf_load(&f, 0, 0, &db), DIGBY_NOTDIGBY);
    assert_int_equal(mf_load(&f, 100, 0, &db), DIGBY_NOTDIGBY);
    /* not a digby file */
    for (i = 0; i < f.bytes; i++) f.img[i] = (uint8_t)rnd();
    assert_int_equal(mf_load(&f, f.bytes, 0, &db), DIGBY_NOTDIGBY);
    /* both meta pages corrupt: magic seen */
    mf_init(&f, 4096, 4);
    p = mf_meta(&f, 4, 4);
    p[1000] ^= 1;
    p = mf_meta(&f, 5, 4);
    p[1000] ^= 1;
    assert_int_equal(mf_load(&f, f.bytes, 0, &db), DIGBY_CORRUPT);
    /* both from a newer format */
    mf_init(&f, 4096, 4);
    p = mf_meta(&f, 4, 4);
    mf_set32(&f, p, 32, 2);
    p = mf_meta(&f, 5, 4);
    mf_set32(&f, p, 40, 1);
    assert_int_equal(mf_load(&f, f.bytes, 0, &db), DIGBY_VERSION);
    /* the only meta page counts pages past the end: truncated */
    mf_init(&f, 4096, 4);
    mf_meta(&f, 3, 5);
    assert_int_equal(mf_load(&f, f.bytes, 0, &db), DIGBY_CORRUPT);
    mf_done(&f);
}

/* The newest meta page verifies (its checksum is intact) but was written by
   a newer digby with an incompatible feature.  Falling back to the older
   slot would silently roll back a commit, and the next write would
   overwrite that newer meta page: open must refuse with DIGBY_VERSION. */
static void test_load_newer_incompatible_is_not_rolled_back(void **state)
{
    mfile f;
    digby_db db;
    uint8_t *p;
    int rc1, rc2;
    uint64_t txid1, txid2;
    (void)state;
    memset(&f, 0, sizeof f);
    /* slot 1 newer, an unknown incompat bit */
    p = mf_pair(&f, 4096, 8, 4, 5);
    mf_set32(&f, p, 40, 1);
    rc1 = mf_load(&f, f.bytes, 0, &db);
    txid1 = db.meta.txid;
    /* slot 0 newer, format version 2 */
    p = mf_pair(&f, 4096, 8, 5, 6);
    mf_set32(&f, p, 32, 2);
    rc2 = mf_load(&f, f.bytes, 0, &db);
    txid2 = db.meta.txid;
    mf_done(&f);
    if (rc1 != DIGBY_VERSION)
        fail_msg("newer meta (txid 5, incompat bit) ignored: load gave %d, txid %llu",
                 rc1, (unsigned long long)txid1);
    if (rc2 != DIGBY_VERSION)
        fail_msg("newer meta (txid 6, version 2) ignored: load gave %d, txid %llu",
                 rc2, (unsigned long long)txid2);
}

/* The older slot from a newer format does not matter when the newest
   commit is ours. */
static void test_load_older_incompatible_ignored(void **state)
{
    mfile f;
    digby_db db;
    uint8_t *p;
    (void)state;
    mf_new(&f, 4096, 8);
    p = mf_meta(&f, 4, 8);
    mf_set32(&f, p, 40, 1);
    mf_meta(&f, 5, 8);
    assert_int_equal(mf_load(&f, f.bytes, 0, &db), DIGBY_OK);
    assert_true(db.meta.txid == 5);
    assert_false(db.have_fallback);
    mf_done(&f);
}

/* Through the public API: a real file's commits alternate slots and open
   takes the newest; breaking it falls back one commit. */
static void test_real_file_alternates_slots(void **state)
{
    env e;
    digby_file *file;
    uint8_t page[512];
    size_t got;
    digby_db fdb;
    digby__meta m;
    int i;
    void *val;
    size_t vn;
    (void)state;
    env_init(&e, "r.db", 512);
    env_start(&e);
    for (i = 0; i < 5; i++) {
        char v = (char)('a' + i);
        uint64_t txid;
        assert_int_equal(digby_put(e.db, "k", 1, &v, 1), DIGBY_OK);
        txid = e.db->meta.txid;
        assert_int_equal(e.db->vfs->read(e.db->file, (txid & 1) * 512, page, 512, &got), DIGBY_OK);
        fake_db(&fdb, 512);
        assert_int_equal(digby__meta_decode(&fdb, page, 512, txid & 1, &m), DIGBY_OK);
        assert_meta_equal(&m, &e.db->meta);
    }
    assert_true(e.db->meta.txid == 6);
    assert_int_equal(digby_close(e.db), DIGBY_OK);
    /* damage the newest (txid 6, slot 0): open takes txid 5 */
    assert_int_equal(e.vfs->open(e.vfs, "r.db", 0, &file), DIGBY_OK);
    assert_int_equal(e.vfs->read(file, 0, page, 512, &got), DIGBY_OK);
    page[300] ^= 1;
    assert_int_equal(e.vfs->write(file, 0, page, 512), DIGBY_OK);
    e.vfs->close(file);
    env_start(&e);
    assert_true(e.db->meta.txid == 5);
    assert_int_equal(digby_get(e.db, "k", 1, &val, &vn, NULL), DIGBY_OK);
    assert_int_equal(vn, 1);
    assert_int_equal(*(char *)val, 'd');
    digby_free(e.db, val);
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_layout),
        cmocka_unit_test(test_decode_rejects_header),
        cmocka_unit_test(test_decode_rejects_version_zero),
        cmocka_unit_test(test_decode_rejects_fields),
        cmocka_unit_test(test_load_picks_newer),
        cmocka_unit_test(test_load_falls_back),
        cmocka_unit_test(test_load_slot1_when_slot0_garbage),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_load_newer_incompatible_is_not_rolled_back),
        cmocka_unit_test(test_load_older_incompatible_ignored),
        cmocka_unit_test(test_real_file_alternates_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
