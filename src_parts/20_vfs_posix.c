/* The POSIX VFS: pread/pwrite, fdatasync, fcntl advisory locks.
   EINTR is retried; ENOSPC/EDQUOT map to DIGBY_FULL, other errors to
   DIGBY_IOERR (errno is never returned: the result codes are digby's own).
   Also the platform hooks of a POSIX build (digby__vfs_default,
   digby__os_seed) and, under DIGBY_NO_POSIX, of a build with no operating
   system at all.  Windows has its own in 22_vfs_win32.c. */

#if !defined(DIGBY_NO_POSIX) && !defined(_WIN32)

typedef struct digby__posix_file {
    int fd;
    int last_errno;
    int shm_fd;         /* the lock file (version 4), -1 for none */
    void *shm;          /* its map */
    size_t shm_len;
} digby__posix_file;

/* The largest offset an off_t holds: 2 GiB - 1 on a 32-bit system built
   without -D_FILE_OFFSET_BITS=64.  Past it a write or truncate is
   DIGBY_FULL and a read DIGBY_IOERR, never I/O at a wrapped offset. */
static uint64_t digby__posix_off_max(void)
{
    return sizeof(off_t) >= 8 ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX;
}

static int digby__posix_err(int e)
{
    if (e == ENOSPC) return DIGBY_FULL;
#ifdef EDQUOT
    if (e == EDQUOT) return DIGBY_FULL;
#endif
    if (e == ENOMEM) return DIGBY_NOMEM;
    return DIGBY_IOERR;
}

/* Sync the directory holding `path` so that a newly created file's entry is
   durable (ALICE, Pillai et al., OSDI 2014, found LevelDB losing new files
   for want of this sync). */
static int digby__posix_sync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n;
    int fd, r, rc = DIGBY_OK;
    if (!slash) { dir[0] = '.'; dir[1] = 0; }
    else {
        n = (size_t)(slash - path);
        if (n == 0) n = 1;
        if (n >= sizeof(dir)) return DIGBY_OK;
        memcpy(dir, path, n);
        dir[n] = 0;
    }
    do { fd = open(dir, O_RDONLY); } while (fd < 0 && errno == EINTR);
    if (fd < 0) return DIGBY_OK; /* not every system lets us open a directory */
    /* EINTR is retried; EINVAL: the system cannot sync a directory */
    do { r = fsync(fd); } while (r != 0 && errno == EINTR);
    if (r != 0 && errno != EINVAL) rc = digby__posix_err(errno);
    close(fd);
    return rc;
}

static int digby__posix_open(const digby_vfs *vfs, const char *path,
                             unsigned flags, digby_file **out)
{
    digby__posix_file *f;
    int fd, created = 0, oflags;
    (void)vfs;
    oflags = (flags & DIGBY_VFS_READONLY) ? O_RDONLY : O_RDWR;
#ifdef O_CLOEXEC
    oflags |= O_CLOEXEC;
#endif
    do { fd = open(path, oflags, 0644); } while (fd < 0 && errno == EINTR);
    if (fd < 0 && errno == ENOENT && (flags & DIGBY_VFS_CREATE) &&
        !(flags & DIGBY_VFS_READONLY)) {
        do { fd = open(path, oflags | O_CREAT | O_EXCL, 0644); }
        while (fd < 0 && errno == EINTR);
        if (fd < 0 && errno == EEXIST)
            fd = open(path, oflags, 0644);
        else if (fd >= 0)
            created = 1;
    }
    if (fd < 0) return errno == ENOMEM ? DIGBY_NOMEM : DIGBY_CANTOPEN;
    f = (digby__posix_file *)digby__malloc(NULL, sizeof(*f));
    if (!f) { close(fd); return DIGBY_NOMEM; }
    f->fd = fd;
    f->last_errno = 0;
    f->shm_fd = -1;
    f->shm = NULL;
    f->shm_len = 0;
    if (created) {
        int rc = digby__posix_sync_dir(path);
        if (rc) { close(fd); digby__free(NULL, f); return rc; }
    }
    *out = (digby_file *)f;
    return DIGBY_OK;
}

static int digby__posix_read(digby_file *file, uint64_t off, void *buf,
                             size_t len, size_t *got)
{
    digby__posix_file *f = (digby__posix_file *)file;
    size_t done = 0;
    if (off > digby__posix_off_max() || len > digby__posix_off_max() - off) {
        *got = 0;
        return DIGBY_IOERR;
    }
    while (done < len) {
        ssize_t r = pread(f->fd, (char *)buf + done, len - done,
                          (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            f->last_errno = errno;
            *got = done;
            return DIGBY_IOERR;
        }
        if (r == 0) break;
        done += (size_t)r;
    }
    *got = done;
    return DIGBY_OK;
}

static int digby__posix_write(digby_file *file, uint64_t off, const void *buf,
                              size_t len)
{
    digby__posix_file *f = (digby__posix_file *)file;
    size_t done = 0;
    if (off > digby__posix_off_max() || len > digby__posix_off_max() - off)
        return DIGBY_FULL;
    while (done < len) {
        ssize_t r = pwrite(f->fd, (const char *)buf + done, len - done,
                           (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            f->last_errno = errno;
            return digby__posix_err(errno);
        }
        if (r == 0) return DIGBY_IOERR;
        done += (size_t)r;
    }
    return DIGBY_OK;
}

static int digby__posix_sync(digby_file *file)
{
    digby__posix_file *f = (digby__posix_file *)file;
    int r;
#if defined(__APPLE__) && defined(F_FULLFSYNC)
    r = fcntl(f->fd, F_FULLFSYNC);
    if (r != 0) r = fsync(f->fd);
#elif defined(_POSIX_SYNCHRONIZED_IO) && _POSIX_SYNCHRONIZED_IO > 0
    do { r = fdatasync(f->fd); } while (r != 0 && errno == EINTR);
#else
    do { r = fsync(f->fd); } while (r != 0 && errno == EINTR);
#endif
    if (r != 0) { f->last_errno = errno; return digby__posix_err(errno); }
    return DIGBY_OK;
}

static int digby__posix_size(digby_file *file, uint64_t *size)
{
    digby__posix_file *f = (digby__posix_file *)file;
    struct stat st;
    if (fstat(f->fd, &st) != 0) { f->last_errno = errno; return DIGBY_IOERR; }
    *size = (uint64_t)st.st_size;
    return DIGBY_OK;
}

static int digby__posix_truncate(digby_file *file, uint64_t size)
{
    digby__posix_file *f = (digby__posix_file *)file;
    int r;
    if (size > digby__posix_off_max()) return DIGBY_FULL;
    do { r = ftruncate(f->fd, (off_t)size); } while (r != 0 && errno == EINTR);
    if (r != 0) { f->last_errno = errno; return digby__posix_err(errno); }
    return DIGBY_OK;
}

/* Linux open-file-description locks belong to the descriptor, not the
   process: a second handle in the same process conflicts, and closing one
   handle does not drop another's lock (classic fcntl locks do both wrong).
   Elsewhere, or on kernels before 3.15, fall back to F_SETLK. */
#if defined(__linux__) && !defined(F_OFD_SETLK)
#define F_OFD_SETLK 37
#endif
#if defined(__linux__) && !defined(F_OFD_GETLK)
#define F_OFD_GETLK 36
#endif
#if defined(__linux__) && !defined(F_OFD_SETLKW)
#define F_OFD_SETLKW 38
#endif

static int digby__posix_lock(digby_file *file, int mode)
{
    digby__posix_file *f = (digby__posix_file *)file;
    struct flock fl;
    int r = -1;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = mode == DIGBY_LOCK_EXCLUSIVE ? F_WRLCK
              : mode == DIGBY_LOCK_SHARED ? F_RDLCK : F_UNLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 0;
#ifdef F_OFD_SETLK
    r = fcntl(f->fd, F_OFD_SETLK, &fl);
    if (r != 0 && errno == EINVAL) r = fcntl(f->fd, F_SETLK, &fl);
#else
    r = fcntl(f->fd, F_SETLK, &fl);
#endif
    if (r != 0) {
        f->last_errno = errno;
        if (errno == EACCES || errno == EAGAIN) return DIGBY_BUSY;
        /* file systems without locks (some network ones): proceed unlocked */
        if (errno == ENOLCK || errno == EOPNOTSUPP) return DIGBY_OK;
        return DIGBY_IOERR;
    }
    return DIGBY_OK;
}

#if defined(DIGBY__POSIX_MMAP) && defined(F_OFD_SETLK)
/* The lock file (version 4): path + "-lock", mapped shared.  It is opened
   read-write whatever the database's mode (a reader registers its snapshot
   there, as LMDB's readers do in lock.mdb), with the database file's
   permission bits.  EROFS is DIGBY_READONLY: no writer can exist there,
   so the caller reads alone.  Any other failure (EACCES: a directory or
   lock file this user cannot write) is an error, never a silent fallback:
   a reader that skipped the reader table could have pages reused under
   it by a writer that has the permission. */
static int digby__posix_shm_open(digby_file *file, const char *path, size_t len, void **addr)
{
    digby__posix_file *f = (digby__posix_file *)file;
    size_t n = strlen(path);
    char *lp;
    struct stat st;
    int fd, e, oflags = O_RDWR | O_CREAT;
    mode_t mode = 0644;
    void *p;
    *addr = NULL;
    if (f->shm) return DIGBY_INVALID;
    if (fstat(f->fd, &st) == 0) mode = st.st_mode & 0666;
    lp = (char *)digby__malloc(NULL, n + 6);
    if (!lp) return DIGBY_NOMEM;
    memcpy(lp, path, n);
    memcpy(lp + n, "-lock", 6);
#ifdef O_CLOEXEC
    oflags |= O_CLOEXEC;
#endif
    do { fd = open(lp, oflags, mode); } while (fd < 0 && errno == EINTR);
    e = errno;
    digby__free(NULL, lp);
    if (fd < 0) {
        f->last_errno = e;
        if (e == EROFS) return DIGBY_READONLY;
        return e == ENOMEM ? DIGBY_NOMEM : DIGBY_CANTOPEN;
    }
    e = fstat(fd, &st);
    if (e == 0 && (uint64_t)st.st_size < len) {
        do { e = ftruncate(fd, (off_t)len); } while (e != 0 && errno == EINTR);
    }
    if (e != 0) {
        e = errno;
        f->last_errno = e;
        close(fd);
        return digby__posix_err(e); /* DIGBY_FULL: no room for it */
    }
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        f->last_errno = errno;
        close(fd);
        return DIGBY_NOMEM;
    }
    f->shm_fd = fd;
    f->shm = p;
    f->shm_len = len;
    *addr = p;
    return DIGBY_OK;
}

static int digby__posix_shm_lock(digby_file *file, uint32_t offset, uint32_t len, int mode)
{
    digby__posix_file *f = (digby__posix_file *)file;
    struct flock fl;
    int r, how = mode & 3, cmd;
    if (f->shm_fd < 0) return DIGBY_INVALID;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = how == DIGBY_LOCK_EXCLUSIVE ? F_WRLCK : how == DIGBY_LOCK_SHARED ? F_RDLCK : F_UNLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t)offset;
    fl.l_len = (off_t)len;
    cmd = (mode & DIGBY_SHM_PROBE) ? F_OFD_GETLK : (mode & DIGBY_SHM_WAIT) ? F_OFD_SETLKW
                                                                         : F_OFD_SETLK;
    do { r = fcntl(f->shm_fd, cmd, &fl); } while (r != 0 && errno == EINTR);
    if (r != 0) {
        f->last_errno = errno;
        if (errno == EACCES || errno == EAGAIN) return DIGBY_BUSY;
        /* a kernel before 3.15: no open-file-description locks, and the
           classic ones are the process's (a second handle would not
           conflict, and closing it would drop this one's): no sharing */
        if (errno == EINVAL) return DIGBY_NOFEATURE;
        return errno == ENOLCK ? DIGBY_NOMEM : DIGBY_IOERR;
    }
    if ((mode & DIGBY_SHM_PROBE) && fl.l_type != F_UNLCK) return DIGBY_BUSY;
    return DIGBY_OK;
}

static void digby__posix_shm_close(digby_file *file)
{
    digby__posix_file *f = (digby__posix_file *)file;
    if (f->shm) munmap(f->shm, f->shm_len);
    if (f->shm_fd >= 0) close(f->shm_fd);
    f->shm = NULL;
    f->shm_fd = -1;
}
#define DIGBY__POSIX_SHM_FNS digby__posix_shm_open, digby__posix_shm_lock, digby__posix_shm_close
#else
#define DIGBY__POSIX_SHM_FNS NULL, NULL, NULL /* no mmap or no open-file-description
                                                locks (Linux has both): no sharing */
#endif

static void digby__posix_close(digby_file *file)
{
    digby__posix_file *f = (digby__posix_file *)file;
    if (!f) return;
#if defined(DIGBY__POSIX_MMAP) && defined(F_OFD_SETLK)
    digby__posix_shm_close(file);
#endif
    close(f->fd);
    digby__free(NULL, f);
}

/* Whether link(2) failed for want of hard links on the file system. */
static int digby__posix_no_link(int e)
{
#ifdef ENOTSUP
    if (e == ENOTSUP) return 1;
#endif
#ifdef EOPNOTSUPP
    if (e == EOPNOTSUPP) return 1;
#endif
    return e == EPERM || e == EXDEV || e == EMLINK;
}

/* Bytes of path's directory part (before its last '/'), -1 for none. */
static long digby__posix_dir_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? (long)(slash - path) : -1;
}

/* Rename (version 3).  Without DIGBY_VFS_REPLACE the new name is made with
   link(2), which fails on an existing name (no window in which another
   file could be replaced), then the old name is unlinked; a file system
   without hard links falls back to a check and rename(2).  The directory
   of `to` is synced (that of `from` too, when it differs): ALICE. */
static int digby__posix_rename(const digby_vfs *vfs, const char *from, const char *to,
                               unsigned flags)
{
    int r, rc;
    (void)vfs;
    if (flags & DIGBY_VFS_REPLACE) {
        r = rename(from, to);
    } else {
        r = link(from, to);
        if (r == 0) {
            r = unlink(from);
        } else if (errno == EEXIST) {
            return DIGBY_EXISTS;
        } else if (digby__posix_no_link(errno)) {
            struct stat st;
            if (stat(to, &st) == 0) return DIGBY_EXISTS;
            r = rename(from, to);
        }
    }
    if (r != 0) return digby__posix_err(errno);
    rc = digby__posix_sync_dir(to);
    if (rc == DIGBY_OK && digby__posix_dir_len(from) != digby__posix_dir_len(to))
        rc = digby__posix_sync_dir(from);
    return rc;
}

static int digby__posix_remove(const digby_vfs *vfs, const char *path)
{
    (void)vfs;
    if (unlink(path) == 0) return DIGBY_OK;
    return errno == ENOENT ? DIGBY_CANTOPEN : digby__posix_err(errno);
}

#ifdef DIGBY__POSIX_MMAP
/* A read-only shared map (mmap(2)).  Pages written with pwrite show in it
   at once on systems with a unified buffer cache (Linux, the BSDs, macOS).
   Refused where size_t cannot hold the length. */
static int digby__posix_map(digby_file *file, uint64_t len, const void **addr)
{
    digby__posix_file *f = (digby__posix_file *)file;
    void *p;
    *addr = NULL;
    if (len == 0 || len > (uint64_t)SIZE_MAX || len > digby__posix_off_max())
        return DIGBY_NOMEM;
    p = mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, f->fd, 0);
    if (p == MAP_FAILED) { f->last_errno = errno; return DIGBY_NOMEM; }
    *addr = p;
    return DIGBY_OK;
}

static void digby__posix_unmap(digby_file *file, const void *addr, uint64_t len)
{
    (void)file;
    munmap((void *)(uintptr_t)addr, (size_t)len);
}
#define DIGBY__POSIX_MAP_FNS digby__posix_map, digby__posix_unmap
#else
#define DIGBY__POSIX_MAP_FNS NULL, NULL /* no mmap: reads go through the cache */
#endif

static const digby_vfs digby__posix_vfs = {
    DIGBY_VFS_VERSION, NULL,
    digby__posix_open, digby__posix_read, digby__posix_write,
    digby__posix_sync, digby__posix_size, digby__posix_truncate,
    digby__posix_lock, digby__posix_close,
    DIGBY__POSIX_MAP_FNS,
    digby__posix_rename, digby__posix_remove,
    DIGBY__POSIX_SHM_FNS
};

DIGBY_API const digby_vfs *digby_vfs_posix(void)
{
    return &digby__posix_vfs;
}

static const digby_vfs *digby__vfs_default(void)
{
    return &digby__posix_vfs;
}

static uint64_t digby__os_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^
           ((uint64_t)getpid() << 48);
}

#if DIGBY__HAVE_MEMTABLE /* the replay's duration: log mode only */
static uint64_t digby__now_ns(void)
{
    struct timespec ts;
#if defined(CLOCK_MONOTONIC)
    clock_gettime(CLOCK_MONOTONIC, &ts);
#else
    clock_gettime(CLOCK_REALTIME, &ts); /* newlib on bare metal has no other */
#endif
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif

/* " mmap": files are memory-mapped (a 64-bit build with mmap) */
#if defined(DIGBY__POSIX_MMAP) && DIGBY__HAVE_MAP
#define DIGBY__FEATURE_VFS " posix mmap"
#else
#define DIGBY__FEATURE_VFS " posix"
#endif

#else

DIGBY_API const digby_vfs *digby_vfs_posix(void)
{
    return NULL;
}

#endif

#if defined(DIGBY_NO_POSIX)
/* No operating system: digby_open needs opts->vfs (digby_vfs_mem_create()
   or the application's own), and file UUIDs mix only addresses, so two
   files made by the same firmware image may share one (the UUID only has
   to tell files apart, and nothing relies on it yet). */
static const digby_vfs *digby__vfs_default(void)
{
    return NULL;
}

static uint64_t digby__os_seed(void)
{
    return 0;
}

#if DIGBY__HAVE_MEMTABLE
/* No clock: durations read as 0 (digby_stats.replay_ns). */
static uint64_t digby__now_ns(void)
{
    return 0;
}
#endif

#define DIGBY__FEATURE_VFS ""
#endif
