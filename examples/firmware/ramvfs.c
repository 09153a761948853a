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

static void ram_unlock(fw_ramfile *f)
{
    if (f->lock == DIGBY_LOCK_SHARED) f->owner->shared_locks--;
    else if (f->lock == DIGBY_LOCK_EXCLUSIVE) f->owner->exclusive = 0;
    f->lock = DIGBY_LOCK_NONE;
}

static int ram_lock(digby_file *file, int mode)
{
    fw_ramfile *f = (fw_ramfile *)file;
    fw_ramvfs *r = f->owner;
    ram_unlock(f);
    if (mode == DIGBY_LOCK_SHARED) {
        if (r->exclusive) return DIGBY_BUSY;
        r->shared_locks++;
    } else if (mode == DIGBY_LOCK_EXCLUSIVE) {
        if (r->exclusive || r->shared_locks) return DIGBY_BUSY;
        r->exclusive = 1;
    }
    f->lock = mode;
    return DIGBY_OK;
}

static void ram_close(digby_file *file)
{
    fw_ramfile *f = (fw_ramfile *)file;
    if (!f) return;
    ram_unlock(f);
    f->open = 0;
}

void fw_ramvfs_init(fw_ramvfs *r, void *mem, size_t capacity)
{
    memset(r, 0, sizeof(*r));
    r->mem = (uint8_t *)mem;
    r->capacity = capacity;
    r->vfs.version = DIGBY_VFS_VERSION;
    r->vfs.ctx = r;
    r->vfs.open = ram_open;
    r->vfs.read = ram_read;
    r->vfs.write = ram_write;
    r->vfs.sync = ram_sync;
    r->vfs.size = ram_size;
    r->vfs.truncate = ram_truncate;
    r->vfs.lock = ram_lock;
    r->vfs.close = ram_close;
}
