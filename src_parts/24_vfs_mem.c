/* The in-memory VFS: files as growable buffers, for tests and RAM-only devices.

   The in-memory VFS: each path names a growable byte buffer that lives
   until the VFS is destroyed.  Sync is a no-op.  Locks are honoured between
   handles of the same VFS, so a second read-write open gets DIGBY_BUSY.
   A file removed or replaced by a rename while open lives on, nameless,
   until its last handle closes (as an unlinked POSIX file does). */

typedef struct digby__memnode {
    struct digby__memnode *next;
    char *path;
    uint8_t *data;
    size_t size, cap;
    int shared_locks;
    int exclusive;
    size_t opens;            /* open handles */
    int unlinked;            /* no longer in the VFS's list: freed at last close */
} digby__memnode;

typedef struct digby__memvfs {
    digby_vfs vfs;               /* first: a digby_vfs* is a digby__memvfs* */
    digby_allocator alloc;
    digby__memnode *nodes;
    digby__mutex mu;
} digby__memvfs;

typedef struct digby__memfile {
    digby__memvfs *mv;
    digby__memnode *node;
    int lock;
    int readonly;
} digby__memfile;

static int digby__mem_open(const digby_vfs *vfs, const char *path,
                           unsigned flags, digby_file **out)
{
    digby__memvfs *mv = (digby__memvfs *)vfs->ctx;
    digby__memnode *n;
    digby__memfile *f;
    size_t plen = strlen(path);
    digby__mutex_lock(&mv->mu);
    for (n = mv->nodes; n; n = n->next)
        if (strcmp(n->path, path) == 0) break;
    if (!n) {
        if (!(flags & DIGBY_VFS_CREATE) || (flags & DIGBY_VFS_READONLY)) {
            digby__mutex_unlock(&mv->mu);
            return DIGBY_CANTOPEN;
        }
        n = (digby__memnode *)digby__malloc(&mv->alloc, sizeof(*n));
        if (!n) { digby__mutex_unlock(&mv->mu); return DIGBY_NOMEM; }
        memset(n, 0, sizeof(*n));
        n->path = (char *)digby__malloc(&mv->alloc, plen + 1);
        if (!n->path) {
            digby__free(&mv->alloc, n);
            digby__mutex_unlock(&mv->mu);
            return DIGBY_NOMEM;
        }
        memcpy(n->path, path, plen + 1);
        n->next = mv->nodes;
        mv->nodes = n;
    }
    f = (digby__memfile *)digby__malloc(&mv->alloc, sizeof(*f));
    if (!f) { digby__mutex_unlock(&mv->mu); return DIGBY_NOMEM; }
    f->mv = mv;
    f->node = n;
    n->opens++;
    f->lock = DIGBY_LOCK_NONE;
    f->readonly = (flags & DIGBY_VFS_READONLY) != 0;
    digby__mutex_unlock(&mv->mu);
    *out = (digby_file *)f;
    return DIGBY_OK;
}

static int digby__mem_read(digby_file *file, uint64_t off, void *buf,
                           size_t len, size_t *got)
{
    digby__memfile *f = (digby__memfile *)file;
    digby__memnode *n = f->node;
    size_t avail;
    digby__mutex_lock(&f->mv->mu);
    if (off >= n->size) avail = 0;
    else avail = DIGBY__MIN((uint64_t)len, n->size - off);
    if (avail) memcpy(buf, n->data + off, avail);
    digby__mutex_unlock(&f->mv->mu);
    *got = avail;
    return DIGBY_OK;
}

static int digby__mem_resize(digby__memfile *f, uint64_t size)
{
    digby__memnode *n = f->node;
    if (size > (uint64_t)SIZE_MAX) return DIGBY_FULL;
    if (size > n->cap) {
        size_t ncap = n->cap ? n->cap : 4096;
        uint8_t *nd;
        while (ncap < size) {
            if (ncap > SIZE_MAX / 2) { ncap = (size_t)size; break; }
            ncap *= 2;
        }
        nd = (uint8_t *)digby__realloc(&f->mv->alloc, n->data, ncap);
        if (!nd) return DIGBY_FULL;
        n->data = nd;
        n->cap = ncap;
    }
    if (size > n->size) memset(n->data + n->size, 0, (size_t)size - n->size);
    n->size = (size_t)size;
    return DIGBY_OK;
}

static int digby__mem_write(digby_file *file, uint64_t off, const void *buf,
                            size_t len)
{
    digby__memfile *f = (digby__memfile *)file;
    int rc = DIGBY_OK;
    if (f->readonly) return DIGBY_IOERR;
    if (off + len < off) return DIGBY_FULL;
    digby__mutex_lock(&f->mv->mu);
    if (off + len > f->node->size) rc = digby__mem_resize(f, off + len);
    if (rc == DIGBY_OK && len) memcpy(f->node->data + off, buf, len);
    digby__mutex_unlock(&f->mv->mu);
    return rc;
}

static int digby__mem_sync(digby_file *file)
{
    (void)file;
    return DIGBY_OK;
}

static int digby__mem_size(digby_file *file, uint64_t *size)
{
    digby__memfile *f = (digby__memfile *)file;
    digby__mutex_lock(&f->mv->mu);
    *size = f->node->size;
    digby__mutex_unlock(&f->mv->mu);
    return DIGBY_OK;
}

static int digby__mem_truncate(digby_file *file, uint64_t size)
{
    digby__memfile *f = (digby__memfile *)file;
    int rc;
    if (f->readonly) return DIGBY_IOERR;
    digby__mutex_lock(&f->mv->mu);
    rc = digby__mem_resize(f, size);
    digby__mutex_unlock(&f->mv->mu);
    return rc;
}

static void digby__mem_unlock_node(digby__memfile *f)
{
    if (f->lock == DIGBY_LOCK_SHARED) f->node->shared_locks--;
    else if (f->lock == DIGBY_LOCK_EXCLUSIVE) f->node->exclusive = 0;
    f->lock = DIGBY_LOCK_NONE;
}

static int digby__mem_lock(digby_file *file, int mode)
{
    digby__memfile *f = (digby__memfile *)file;
    digby__memnode *n = f->node;
    int rc = DIGBY_OK;
    digby__mutex_lock(&f->mv->mu);
    digby__mem_unlock_node(f);
    if (mode == DIGBY_LOCK_SHARED) {
        if (n->exclusive) rc = DIGBY_BUSY;
        else { n->shared_locks++; f->lock = mode; }
    } else if (mode == DIGBY_LOCK_EXCLUSIVE) {
        if (n->exclusive || n->shared_locks) rc = DIGBY_BUSY;
        else { n->exclusive = 1; f->lock = mode; }
    }
    digby__mutex_unlock(&f->mv->mu);
    return rc;
}

static void digby__mem_node_free(digby__memvfs *mv, digby__memnode *n)
{
    digby__free(&mv->alloc, n->data);
    digby__free(&mv->alloc, n->path);
    digby__free(&mv->alloc, n);
}

static void digby__mem_close(digby_file *file)
{
    digby__memfile *f = (digby__memfile *)file;
    digby__memvfs *mv;
    digby__memnode *gone = NULL;
    if (!f) return;
    mv = f->mv;
    digby__mutex_lock(&mv->mu);
    digby__mem_unlock_node(f);
    if (--f->node->opens == 0 && f->node->unlinked) gone = f->node;
    digby__mutex_unlock(&mv->mu);
    if (gone) digby__mem_node_free(mv, gone);
    digby__free(&mv->alloc, f);
}

/* The node named path and the link that points to it (NULL: none);
   mv->mu held. */
static digby__memnode **digby__mem_find(digby__memvfs *mv, const char *path)
{
    digby__memnode **l;
    for (l = &mv->nodes; *l; l = &(*l)->next)
        if (strcmp((*l)->path, path) == 0) return l;
    return NULL;
}

/* Take the node *l out of the list (mv->mu held): returned to be freed
   now, or NULL when handles keep it open (the last close frees it). */
static digby__memnode *digby__mem_unlink(digby__memnode **l)
{
    digby__memnode *n = *l;
    *l = n->next;
    n->next = NULL;
    n->unlinked = 1;
    return n->opens ? NULL : n;
}

/* Rename: the node takes the new name (a node it replaces goes as by
   remove). */
static int digby__mem_rename(const digby_vfs *vfs, const char *from, const char *to,
                             unsigned flags)
{
    digby__memvfs *mv = (digby__memvfs *)vfs->ctx;
    digby__memnode **lf, **lt, *old = NULL;
    size_t tlen = strlen(to);
    char *name = (char *)digby__malloc(&mv->alloc, tlen + 1);
    int rc = DIGBY_OK;
    if (!name) return DIGBY_NOMEM;
    memcpy(name, to, tlen + 1);
    digby__mutex_lock(&mv->mu);
    lf = digby__mem_find(mv, from);
    lt = digby__mem_find(mv, to);
    if (!lf) rc = DIGBY_CANTOPEN;
    else if (lt && *lt == *lf) rc = DIGBY_OK; /* the same name */
    else if (lt && !(flags & DIGBY_VFS_REPLACE)) rc = DIGBY_EXISTS;
    else {
        if (lt) {
            old = digby__mem_unlink(lt);
            lf = digby__mem_find(mv, from); /* the list changed */
        }
        digby__free(&mv->alloc, (*lf)->path);
        (*lf)->path = name;
        name = NULL;
    }
    digby__mutex_unlock(&mv->mu);
    digby__free(&mv->alloc, name);
    if (old) digby__mem_node_free(mv, old);
    return rc;
}

static int digby__mem_remove(const digby_vfs *vfs, const char *path)
{
    digby__memvfs *mv = (digby__memvfs *)vfs->ctx;
    digby__memnode **l, *gone = NULL;
    digby__mutex_lock(&mv->mu);
    l = digby__mem_find(mv, path);
    if (l) gone = digby__mem_unlink(l);
    digby__mutex_unlock(&mv->mu);
    if (!l) return DIGBY_CANTOPEN;
    if (gone) digby__mem_node_free(mv, gone);
    return DIGBY_OK;
}

DIGBY_API int digby_vfs_mem_create(const digby_allocator *alloc, digby_vfs **out)
{
    digby__memvfs *mv;
    digby_allocator a;
    if (!out) return DIGBY_INVALID;
    *out = NULL;
    memset(&a, 0, sizeof(a));
    if (alloc) {
        int set = (alloc->malloc_fn != NULL) + (alloc->realloc_fn != NULL) +
                  (alloc->free_fn != NULL);
        if (set != 0 && set != 3) return DIGBY_INVALID;
        a = *alloc;
    }
    mv = (digby__memvfs *)digby__malloc(&a, sizeof(*mv));
    if (!mv) return DIGBY_NOMEM;
    memset(mv, 0, sizeof(*mv));
    mv->alloc = a;
    mv->vfs.version = DIGBY_VFS_VERSION;
    mv->vfs.ctx = mv;
    mv->vfs.open = digby__mem_open;
    mv->vfs.read = digby__mem_read;
    mv->vfs.write = digby__mem_write;
    mv->vfs.sync = digby__mem_sync;
    mv->vfs.size = digby__mem_size;
    mv->vfs.truncate = digby__mem_truncate;
    mv->vfs.lock = digby__mem_lock;
    mv->vfs.close = digby__mem_close;
    mv->vfs.rename = digby__mem_rename;
    mv->vfs.remove = digby__mem_remove;
    digby__mutex_init(&mv->mu);
    *out = &mv->vfs;
    return DIGBY_OK;
}

DIGBY_API void digby_vfs_mem_destroy(digby_vfs *vfs)
{
    digby__memvfs *mv;
    digby__memnode *n, *next;
    if (!vfs) return;
    mv = (digby__memvfs *)vfs->ctx;
    for (n = mv->nodes; n; n = next) {
        next = n->next;
        digby__mem_node_free(mv, n);
    }
    digby__mutex_destroy(&mv->mu);
    digby__free(&mv->alloc, mv);
}
