/* tests/fault_vfs.h -- the fault-injecting in-memory VFS of the power-cut
   and I/O error sweeps: tests/crash.c (make test) and
   tests/torture/faults.c (make torture, make slice-faults).  Not cmocka:
   faults.c forks and counts violations itself.

   A file is two byte images, `dur` (what survives a power cut for sure:
   the file as of its last successful sync) and `cur` (what reads see), and
   the log of its writes and truncates since that sync, in the global order
   they were issued.  Every call but close passes fv_enter, which applies
   the fault the VFS is in (power cut, persistent error) or asks the hook
   whether to inject one at this call:
     F_CUT    power cut: this call and every later one fail (DIGBY_IOERR)
     F_EIO    DIGBY_IOERR, once (persist_rc makes it stay)
     F_FULL   DIGBY_FULL, once
     F_SHORT  (writes) the first half of the sectors written, then
              DIGBY_IOERR
   After a cut, fv_states_* build the images a disk could hold: unsynced
   writes dropped, kept, torn, kept in another order, or turned to garbage.

   The program defines fv_out_of_memory (crash.c fails the cmocka test,
   faults.c exits).  Everything here is static and unused-safe. */
#ifndef DIGBY_TESTS_FAULT_VFS_H
#define DIGBY_TESTS_FAULT_VFS_H

#include "digby.h"
#include "under_asan.h" /* UNDER_ASAN */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define FV_UNUSED __attribute__((unused))
#else
#define FV_UNUSED
#endif

#define SECTOR 512u
#define FV_MAX_FILES 16 /* the database, and faults.c's backups (a file each) */
#define FV_MAX_STATES 10

/* Never returns: the test harness itself ran out of memory (what says where). */
FV_UNUSED static void fv_out_of_memory(const char *what);

FV_UNUSED static void *fv_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) fv_out_of_memory("test harness");
    return p;
}

FV_UNUSED static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* ---- byte images ------------------------------------------------------------ */

typedef struct img {
    unsigned char *p;
    size_t n, cap;
} img;

FV_UNUSED static void img_reserve(img *m, size_t n)
{
    if (n > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        unsigned char *p;
        while (cap < n) cap *= 2;
        p = (unsigned char *)realloc(m->p, cap);
        if (!p) fv_out_of_memory("image");
        m->p = p;
        m->cap = cap;
    }
}

/* Set the size; growth reads as zeros. */
FV_UNUSED static void img_resize(img *m, size_t n)
{
    img_reserve(m, n);
    if (n > m->n) memset(m->p + m->n, 0, n - m->n);
    m->n = n;
}

FV_UNUSED static void img_write(img *m, uint64_t off, const void *buf, size_t len)
{
    if (off + len > m->n) img_resize(m, (size_t)(off + len));
    if (len) memcpy(m->p + off, buf, len);
}

FV_UNUSED static void img_copy(img *dst, const img *src)
{
    dst->n = 0;
    img_reserve(dst, src->n);
    if (src->n) memcpy(dst->p, src->p, src->n);
    dst->n = src->n;
}

FV_UNUSED static void img_free(img *m)
{
    free(m->p);
    memset(m, 0, sizeof *m);
}

/* ---- the VFS ---------------------------------------------------------------- */

/* The calls fv_enter sees (close never fails). */
enum { FV_OPEN, FV_READ, FV_WRITE, FV_SYNC, FV_SIZE, FV_TRUNC, FV_LOCK, FV_RENAME,
       FV_REMOVE, FV_NKINDS };
FV_UNUSED static const char *const fv_kind_names[FV_NKINDS] = {
    "open", "read", "write", "sync", "size", "truncate", "lock", "rename", "remove"};

/* What a hook injects. */
enum { F_NONE, F_CUT, F_EIO, F_FULL, F_SHORT };

typedef struct fop {
    int kind;          /* FV_WRITE or FV_TRUNC */
    uint64_t off;      /* write: offset; truncate: new size */
    size_t len;
    unsigned char *data;
    uint64_t seq;      /* global order of unsynced ops */
} fop;

typedef struct ffile {
    char path[256];
    int exists;
    img dur;           /* what survives a power cut for sure */
    img cur;           /* what reads see */
    fop *ops;          /* unsynced writes/truncates, oldest first */
    size_t nops, cap;
} ffile;

typedef struct fvfs fvfs;
struct fvfs {
    digby_vfs vfs;           /* vfs.ctx points back here */
    ffile files[FV_MAX_FILES];
    int nfiles;
    uint64_t seq;
    int cut;                 /* power is off */
    int persist_rc;          /* every call fails with this (0: none) */
    int failed_sync;         /* a sync returned an error */
    int injected;            /* a fault was injected */
    int inj_kind;            /* ... at a call of this kind (FV_*) */
    uint64_t syncs_ok;       /* durable generation */
    /* asked at every call (before it takes effect) while no fault holds:
       F_NONE or the fault to inject; off and len as the call has them
       (write: offset, length; truncate: new size, 0; others 0, 0) */
    int (*hook)(fvfs *v, int kind, uint64_t off, uint64_t len);
    void *hook_ctx;          /* the hook's own state */
};

typedef struct fhandle {
    fvfs *v;
    ffile *f;
    int readonly;
} fhandle;

FV_UNUSED static fhandle *FH(digby_file *f) { return (fhandle *)(void *)f; }

FV_UNUSED static void push_op(fvfs *v, ffile *f, int kind, uint64_t off, const void *buf,
                    size_t len)
{
    fop *o;
    if (f->nops == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        fop *p = (fop *)realloc(f->ops, cap * sizeof(fop));
        if (!p) fv_out_of_memory("ops");
        f->ops = p;
        f->cap = cap;
    }
    o = &f->ops[f->nops++];
    o->kind = kind;
    o->off = off;
    o->len = len;
    o->data = NULL;
    if (kind == FV_WRITE) {
        o->data = (unsigned char *)fv_xmalloc(len);
        if (len) memcpy(o->data, buf, len);
    }
    o->seq = v->seq++;
}

FV_UNUSED static void clear_ops(ffile *f)
{
    size_t i;
    for (i = 0; i < f->nops; i++) free(f->ops[i].data);
    f->nops = 0;
}

/* Every call but close comes here first: the fault to apply, F_NONE for none. */
FV_UNUSED static int fv_enter(fvfs *v, int kind, uint64_t off, uint64_t len, int *rc)
{
    int a;
    if (v->cut) { *rc = DIGBY_IOERR; return F_CUT; }
    if (v->persist_rc) {
        *rc = v->persist_rc;
        if (kind == FV_SYNC) v->failed_sync = 1;
        return F_EIO;
    }
    a = v->hook ? v->hook(v, kind, off, len) : F_NONE;
    if (a == F_NONE) return F_NONE;
    v->injected = 1;
    v->inj_kind = kind;
    if (kind == FV_SYNC) v->failed_sync = 1;
    if (a == F_CUT) {
        v->cut = 1;
        *rc = DIGBY_IOERR;
    } else {
        *rc = a == F_FULL ? DIGBY_FULL : DIGBY_IOERR;
    }
    return a;
}

FV_UNUSED static int fv_open(const digby_vfs *vfs, const char *path, unsigned flags,
                   digby_file **out)
{
    fvfs *v = (fvfs *)vfs->ctx;
    ffile *f = NULL;
    fhandle *h;
    int i, rc;
    if (!out) return DIGBY_INVALID;
    *out = NULL;
    if (fv_enter(v, FV_OPEN, 0, 0, &rc) != F_NONE) return rc;
    if (!path || strlen(path) >= sizeof f->path) return DIGBY_CANTOPEN;
    for (i = 0; i < v->nfiles; i++)
        if (v->files[i].exists && strcmp(v->files[i].path, path) == 0)
            f = &v->files[i];
    if (!f) {
        if (!(flags & DIGBY_VFS_CREATE) || (flags & DIGBY_VFS_READONLY))
            return DIGBY_CANTOPEN;
        if (v->nfiles == FV_MAX_FILES) return DIGBY_CANTOPEN;
        f = &v->files[v->nfiles++];
        memset(f, 0, sizeof *f);
        strcpy(f->path, path);
        f->exists = 1; /* a created file is durable in its directory */
    }
    h = (fhandle *)malloc(sizeof *h);
    if (!h) return DIGBY_NOMEM;
    h->v = v;
    h->f = f;
    h->readonly = (flags & DIGBY_VFS_READONLY) != 0;
    *out = (digby_file *)(void *)h;
    return DIGBY_OK;
}

FV_UNUSED static int fv_read(digby_file *fh, uint64_t off, void *buf, size_t len, size_t *got)
{
    fhandle *h = FH(fh);
    const img *m = &h->f->cur;
    size_t n = 0;
    int rc;
    if (got) *got = 0;
    if (fv_enter(h->v, FV_READ, 0, 0, &rc) != F_NONE) return rc;
    if (off < m->n) {
        n = m->n - (size_t)off < len ? m->n - (size_t)off : len;
        memcpy(buf, m->p + off, n);
    }
    if (got) *got = n;
    return DIGBY_OK;
}

FV_UNUSED static int fv_write(digby_file *fh, uint64_t off, const void *buf, size_t len)
{
    fhandle *h = FH(fh);
    int rc, a = fv_enter(h->v, FV_WRITE, off, len, &rc);
    if (a == F_SHORT) {
        /* the first half of the sectors reached the file, then an error */
        size_t part = (len / 2) / SECTOR * SECTOR;
        if (part) {
            img_write(&h->f->cur, off, buf, part);
            push_op(h->v, h->f, FV_WRITE, off, buf, part);
        }
        return rc;
    }
    if (a != F_NONE) return rc;
    if (h->readonly) return DIGBY_IOERR;
    img_write(&h->f->cur, off, buf, len);
    push_op(h->v, h->f, FV_WRITE, off, buf, len);
    return DIGBY_OK;
}

FV_UNUSED static int fv_sync(digby_file *fh)
{
    fhandle *h = FH(fh);
    int rc;
    if (fv_enter(h->v, FV_SYNC, 0, 0, &rc) != F_NONE) return rc;
    img_copy(&h->f->dur, &h->f->cur);
    clear_ops(h->f);
    h->v->syncs_ok++;
    return DIGBY_OK;
}

FV_UNUSED static int fv_size(digby_file *fh, uint64_t *size_bytes)
{
    fhandle *h = FH(fh);
    int rc;
    if (fv_enter(h->v, FV_SIZE, 0, 0, &rc) != F_NONE) return rc;
    *size_bytes = h->f->cur.n;
    return DIGBY_OK;
}

FV_UNUSED static int fv_truncate(digby_file *fh, uint64_t size_bytes)
{
    fhandle *h = FH(fh);
    int rc;
    if (fv_enter(h->v, FV_TRUNC, size_bytes, 0, &rc) != F_NONE) return rc;
    if (h->readonly) return DIGBY_IOERR;
    img_resize(&h->f->cur, (size_t)size_bytes);
    push_op(h->v, h->f, FV_TRUNC, size_bytes, NULL, 0);
    return DIGBY_OK;
}

FV_UNUSED static int fv_lock(digby_file *fh, int mode)
{
    fhandle *h = FH(fh);
    int rc;
    if (mode == DIGBY_LOCK_NONE) return DIGBY_OK; /* a release never fails */
    if (fv_enter(h->v, FV_LOCK, 0, 0, &rc) != F_NONE) return rc;
    return DIGBY_OK;
}

FV_UNUSED static void fv_close(digby_file *fh) { free(FH(fh)); }

/* The file named path, or NULL. */
FV_UNUSED static ffile *fv_find(fvfs *v, const char *path)
{
    int i;
    for (i = 0; i < v->nfiles; i++)
        if (v->files[i].exists && strcmp(v->files[i].path, path) == 0) return &v->files[i];
    return NULL;
}

/* Rename (VFS version 3): durable at once, as a VFS makes it (it syncs the
   directory before it returns); the file's bytes keep their own
   durability (a rename before the data's sync shows as a file whose
   unsynced writes a cut drops).  A cut at the call: no rename. */
FV_UNUSED static int fv_rename(const digby_vfs *vfs, const char *from, const char *to,
                               unsigned flags)
{
    fvfs *v = (fvfs *)vfs->ctx;
    ffile *f, *t;
    int rc;
    if (fv_enter(v, FV_RENAME, 0, 0, &rc) != F_NONE) return rc;
    f = fv_find(v, from);
    t = fv_find(v, to);
    if (!f || strlen(to) >= sizeof f->path) return DIGBY_CANTOPEN;
    if (t == f) return DIGBY_OK;
    if (t && !(flags & DIGBY_VFS_REPLACE)) return DIGBY_EXISTS;
    if (t) t->exists = 0;
    strcpy(f->path, to);
    return DIGBY_OK;
}

/* Remove: durable at once, like rename. */
FV_UNUSED static int fv_remove(const digby_vfs *vfs, const char *path)
{
    fvfs *v = (fvfs *)vfs->ctx;
    ffile *f;
    int rc;
    if (fv_enter(v, FV_REMOVE, 0, 0, &rc) != F_NONE) return rc;
    f = fv_find(v, path);
    if (!f) return DIGBY_CANTOPEN;
    f->exists = 0;
    return DIGBY_OK;
}

FV_UNUSED static fvfs *fv_new(void)
{
    fvfs *v = (fvfs *)calloc(1, sizeof(fvfs));
    if (!v) fv_out_of_memory("vfs");
    v->vfs.version = DIGBY_VFS_VERSION;
    v->vfs.ctx = v;
    v->vfs.open = fv_open;
    v->vfs.read = fv_read;
    v->vfs.write = fv_write;
    v->vfs.sync = fv_sync;
    v->vfs.size = fv_size;
    v->vfs.truncate = fv_truncate;
    v->vfs.lock = fv_lock;
    v->vfs.close = fv_close;
    v->vfs.rename = fv_rename;
    v->vfs.remove = fv_remove;
    return v;
}

FV_UNUSED static void fv_free(fvfs *v)
{
    int i;
    if (!v) return;
    for (i = 0; i < v->nfiles; i++) {
        clear_ops(&v->files[i]);
        free(v->files[i].ops);
        img_free(&v->files[i].dur);
        img_free(&v->files[i].cur);
    }
    free(v);
}

/* A fresh VFS without faults whose files are like's, holding images[i]
   (durable and current) in place of each one's bytes. */
FV_UNUSED static fvfs *fv_from_images(const fvfs *like, const img *images)
{
    fvfs *v = fv_new();
    int i;
    for (i = 0; i < like->nfiles; i++) {
        ffile *f = &v->files[v->nfiles++];
        strcpy(f->path, like->files[i].path);
        f->exists = like->files[i].exists;
        img_copy(&f->dur, &images[i]);
        img_copy(&f->cur, &images[i]);
    }
    return v;
}

/* ---- after a power cut: what the disk may hold ---------------------------- */

/* Apply the unsynced ops of f to m, up to (not including) index `upto`. */
FV_UNUSED static void apply_ops(img *m, const ffile *f, size_t upto)
{
    size_t i;
    for (i = 0; i < upto; i++) {
        const fop *o = &f->ops[i];
        if (o->kind == FV_WRITE) img_write(m, o->off, o->data, o->len);
        else img_resize(m, (size_t)o->off);
    }
}

/* Apply a pseudo-random subset of the unsynced ops (each kept with
   probability 1/2): the disk persisted them in another order than issued. */
FV_UNUSED static void apply_subset(img *m, const ffile *f, uint64_t *rng)
{
    size_t i;
    for (i = 0; i < f->nops; i++) {
        const fop *o = &f->ops[i];
        if (splitmix(rng) & 1) continue;
        if (o->kind == FV_WRITE) img_write(m, o->off, o->data, o->len);
        else img_resize(m, (size_t)o->off);
    }
}

FV_UNUSED static int same_images(const img *a, const img *b, int n)
{
    int i;
    for (i = 0; i < n; i++)
        if (a[i].n != b[i].n || (a[i].n && memcmp(a[i].p, b[i].p, a[i].n))) return 0;
    return 1;
}

/* The crash states of one cut, each an image per file of the VFS, named
   "a:dropped", "b:kept", "c:torn", "d:reordered" or "e:garbage". */
typedef struct fv_states {
    img st[FV_MAX_STATES][FV_MAX_FILES];
    const char *name[FV_MAX_STATES];
    int n;
} fv_states;

/* The file whose unsynced op came last (-1: none). */
FV_UNUSED static int fv_last_op_file(const fvfs *v)
{
    int i, last_file = -1;
    uint64_t last_seq = 0;
    for (i = 0; i < v->nfiles; i++) {
        const ffile *f = &v->files[i];
        if (f->nops && (last_file < 0 || f->ops[f->nops - 1].seq > last_seq)) {
            last_file = i;
            last_seq = f->ops[f->nops - 1].seq;
        }
    }
    return last_file;
}

/* Start s (kept from an earlier cut: its images are reused) with (a) every
   unsynced op dropped, (b) every one kept, and (c) when the last op is a
   write, that write torn at sector boundaries: a prefix of its sectors new,
   the rest old, at the first, middle and last boundary (a write inside one
   sector is lost whole). */
FV_UNUSED static void fv_states_start(fv_states *s, const fvfs *v)
{
    int i, last_file = fv_last_op_file(v);
    s->n = 0;
    for (i = 0; i < v->nfiles; i++) img_copy(&s->st[s->n][i], &v->files[i].dur);
    s->name[s->n++] = "a:dropped";
    for (i = 0; i < v->nfiles; i++) {
        img_copy(&s->st[s->n][i], &v->files[i].dur);
        apply_ops(&s->st[s->n][i], &v->files[i], v->files[i].nops);
    }
    s->name[s->n++] = "b:kept";
    if (last_file >= 0 &&
        v->files[last_file].ops[v->files[last_file].nops - 1].kind == FV_WRITE) {
        const ffile *f = &v->files[last_file];
        const fop *o = &f->ops[f->nops - 1];
        uint64_t first_b = (o->off / SECTOR + 1) * SECTOR, end = o->off + o->len, cuts[3];
        int ncuts = 0, c;
        if (first_b >= end) {
            cuts[ncuts++] = o->off; /* one sector: the write is lost whole */
        } else {
            uint64_t last_b = ((end - 1) / SECTOR) * SECTOR;
            uint64_t nb = (last_b - first_b) / SECTOR + 1;
            uint64_t mid_b = first_b + (nb / 2) * SECTOR;
            cuts[ncuts++] = first_b;
            if (mid_b != first_b && mid_b != last_b) cuts[ncuts++] = mid_b;
            if (last_b != first_b) cuts[ncuts++] = last_b;
        }
        for (c = 0; c < ncuts && s->n < FV_MAX_STATES; c++) {
            img *m;
            size_t keep = (size_t)(cuts[c] - o->off);
            for (i = 0; i < v->nfiles; i++) {
                img_copy(&s->st[s->n][i], &v->files[i].dur);
                apply_ops(&s->st[s->n][i], &v->files[i],
                          i == last_file ? v->files[i].nops - 1 : v->files[i].nops);
            }
            /* the size may already cover the whole write; the sectors not
               written keep their old bytes (zeros past the old end) */
            m = &s->st[s->n][last_file];
            if (end > m->n) img_resize(m, (size_t)end);
            if (keep) memcpy(m->p + o->off, o->data, keep);
            s->name[s->n++] = "c:torn";
        }
    }
}

/* (d) the unsynced ops kept in another order: a random subset of them. */
FV_UNUSED static void fv_states_reordered(fv_states *s, const fvfs *v, uint64_t *rng)
{
    int i;
    if (s->n >= FV_MAX_STATES) return;
    for (i = 0; i < v->nfiles; i++) {
        img_copy(&s->st[s->n][i], &v->files[i].dur);
        apply_subset(&s->st[s->n][i], &v->files[i], rng);
    }
    s->name[s->n++] = "d:reordered";
}

/* Every unsynced op kept, then one sector of the write op (file fi, op oi)
   turned to garbage. */
FV_UNUSED static void fv_garbage_state(img *st, const fvfs *v, int fi, size_t oi, uint64_t *rng)
{
    const fop *o = &v->files[fi].ops[oi];
    uint64_t first = o->off / SECTOR, last = (o->off + o->len - 1) / SECTOR;
    uint64_t sec = first + splitmix(rng) % (last - first + 1), off;
    size_t i;
    for (i = 0; i < (size_t)v->nfiles; i++) {
        img_copy(&st[i], &v->files[i].dur);
        apply_ops(&st[i], &v->files[i], v->files[i].nops);
    }
    off = sec * SECTOR;
    if (off + SECTOR > st[fi].n) img_resize(&st[fi], (size_t)(off + SECTOR));
    for (i = 0; i < SECTOR; i += 8) {
        uint64_t r = splitmix(rng);
        memcpy(st[fi].p + off + i, &r, 8);
    }
}

/* (e) a sector of garbage: in the last write of the file written last, and
   in a random other write of that file. */
FV_UNUSED static void fv_states_garbage(fv_states *s, const fvfs *v, uint64_t *rng)
{
    int last_file = fv_last_op_file(v);
    const ffile *f;
    size_t oi;
    if (last_file < 0) return;
    f = &v->files[last_file];
    if (f->nops == 0) return;
    /* the last write (unsynced truncates alone, as a compaction's after
       its commit, leave none: the loop stops at the first op) */
    oi = f->nops - 1;
    while (oi > 0 && f->ops[oi].kind != FV_WRITE) oi--;
    if (f->ops[oi].kind == FV_WRITE && f->ops[oi].len && s->n < FV_MAX_STATES) {
        fv_garbage_state(s->st[s->n], v, last_file, oi, rng);
        s->name[s->n++] = "e:garbage";
        oi = (size_t)(splitmix(rng) % f->nops);
        if (f->ops[oi].kind == FV_WRITE && f->ops[oi].len && oi != f->nops - 1 &&
            s->n < FV_MAX_STATES) {
            fv_garbage_state(s->st[s->n], v, last_file, oi, rng);
            s->name[s->n++] = "e:garbage";
        }
    }
}

/* 1 when state j is the same as an earlier one (nfiles images each). */
FV_UNUSED static int fv_states_dup(const fv_states *s, int j, int nfiles)
{
    int i;
    for (i = 0; i < j; i++)
        if (same_images(s->st[i], s->st[j], nfiles)) return 1;
    return 0;
}

FV_UNUSED static void fv_states_free(fv_states *s)
{
    int i, j;
    for (j = 0; j < FV_MAX_STATES; j++)
        for (i = 0; i < FV_MAX_FILES; i++) img_free(&s->st[j][i]);
    s->n = 0;
}

#endif /* DIGBY_TESTS_FAULT_VFS_H */
