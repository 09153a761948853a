/* ramvfs: see ramvfs.h.  Single-threaded (the image is built with
   DIGBY_NO_THREADS): no locking of its own. */
#include "ramvfs.h"

#include <string.h>

static int ram_open(const digby_vfs *vfs, const char *path, unsigned flags,
                    digby_file **out)
{
    fw_ramvfs *r = (fw_ramvfs *)vfs->ctx;
    int i;
    (void)path;
    if (!r->exists) {
        if (!(flags & DIGBY_VFS_CREATE) || (flags & DIGBY_VFS_READONLY))
            return DIGBY_CANTOPEN;
        r->exists = 1;
        r->size = 0;
    }
    for (i = 0; i < FW_RAMVFS_MAX_OPEN; i++) {
        if (!r->files[i].open) {
            r->files[i].owner = r;
            r->files[i].open = 1;
            r->files[i].readonly = (flags & DIGBY_VFS_READONLY) != 0;
            r->files[i].lock = DIGBY_LOCK_NONE;
            *out = (digby_file *)&r->files[i];
            return DIGBY_OK;
        }
    }
    return DIGBY_NOMEM;
}

static int ram_read(digby_file *file, uint64_t off, void *buf, size_t len,
                    size_t *got)
{
    fw_ramfile *f = (fw_ramfile *)file;
    fw_ramvfs *r = f->owner;
    size_t n = 0;
    if (off < r->size) {
        n = r->size - (size_t)off;
        if (n > len) n = len;
        memcpy(buf, r->mem + off, n);
    }
    *got = n;
    return DIGBY_OK;
}

/* Grow the file to `size` bytes (new bytes read as zero). */
static int ram_extend(fw_ramvfs *r, uint64_t size)
{
    if (size > r->capacity) return DIGBY_FULL;
    if (size > r->size) memset(r->mem + r->size, 0, (size_t)size - r->size);
    return DIGBY_OK;
}

static int ram_write(digby_file *file, uint64_t off, const void *buf, size_t len)
{
    fw_ramfile *f = (fw_ramfile *)file;
    fw_ramvfs *r = f->owner;
    int rc;
    if (f->readonly) return DIGBY_IOERR;
    if (off > r->capacity || len > r->capacity - off) return DIGBY_FULL;
    rc = ram_extend(r, off + len);
    if (rc) return rc;
    memcpy(r->mem + off, buf, len);
    if (off + len > r->size) r->size = (size_t)(off + len);
    r->writes++;
    return DIGBY_OK;
}

static int ram_sync(digby_file *file)
{
    ((fw_ramfile *)file)->owner->syncs++;
    return DIGBY_OK;
}

static int ram_size(digby_file *file, uint64_t *size)
{
    *size = ((fw_ramfile *)file)->owner->size;
    return DIGBY_OK;
}

static int ram_truncate(digby_file *file, uint64_t size)
{
    fw_ramfile *f = (fw_ramfile *)file;
    fw_ramvfs *r = f->owner;
    int rc;
    if (f->readonly) return DIGBY_IOERR;
    rc = ram_extend(r, size);
    if (rc) return rc;
    r->size = (size_t)size;
    return DIGBY_OK;
}

/* Locks need no counters: each handle's own lock is all the state, and a
   request is checked against the few other handles in the table.  A
   shared lock conflicts with an exclusive one, an exclusive lock with any.
   The handle's old lock is dropped first, so a refused request leaves it
   with none. */
static int ram_lock(digby_file *file, int mode)
{
    fw_ramfile *f = (fw_ramfile *)file, *other;
    f->lock = DIGBY_LOCK_NONE;
    if (mode == DIGBY_LOCK_NONE) return DIGBY_OK;
    for (other = f->owner->files; other < f->owner->files + FW_RAMVFS_MAX_OPEN; other++) {
        if (other == f || !other->open || other->lock == DIGBY_LOCK_NONE) continue;
        if (other->lock == DIGBY_LOCK_EXCLUSIVE || mode == DIGBY_LOCK_EXCLUSIVE) return DIGBY_BUSY;
    }
    f->lock = mode;
    return DIGBY_OK;
}

static void ram_close(digby_file *file)
{
    fw_ramfile *f = (fw_ramfile *)file;
    if (!f) return;
    f->lock = DIGBY_LOCK_NONE;
    f->open = 0;
}

/* The functions, as a constant table (in flash); each fw_ramvfs copies it
   and points ctx at itself.  No map functions: reads go through digby's
   cache. */
static const digby_vfs ram_functions = {
    .version = DIGBY_VFS_VERSION,
    .open = ram_open, .read = ram_read, .write = ram_write, .sync = ram_sync,
    .size = ram_size, .truncate = ram_truncate, .lock = ram_lock, .close = ram_close,
};

void fw_ramvfs_init(fw_ramvfs *r, void *mem, size_t capacity)
{
    memset(r, 0, sizeof(*r));
    r->vfs = ram_functions;
    r->vfs.ctx = r;
    r->mem = (uint8_t *)mem;
    r->capacity = capacity;
}
