/* The Win32 VFS (Windows Vista or later), with UTF-8 paths.

   The Win32 VFS (Windows Vista or later): ReadFile/WriteFile at explicit
   offsets (an OVERLAPPED on a synchronous handle), FlushFileBuffers,
   GetFileSizeEx, SetFileInformationByHandle(FileEndOfFileInfo) and
   LockFileEx.  Paths are UTF-8 and opened with CreateFileW; a path that is
   not valid UTF-8 goes to CreateFileA (the ANSI code page) unchanged.

   The file size is set with FileEndOfFileInfo, not SetFilePointerEx +
   SetEndOfFile: those two calls go through the handle's shared file
   pointer, which a concurrent ReadFile of a reader thread moves.

   Windows byte-range locks are mandatory, not advisory: a lock on the data
   would make other handles' reads fail instead of their lock calls.  So the
   lock covers one byte far past any real file, DIGBY__WIN32_LOCK_AT.  Locks
   belong to the handle, so a second handle in the same process conflicts,
   as the POSIX VFS's open-file-description locks do.

   The lock file (VFS version 4: shm_open, shm_lock, shm_close; FORMAT.md
   section 14, 48_lockfile.c) is PATH-lock, opened with its own HANDLE by
   each digby_file, mapped with CreateFileMappingW + MapViewOfFile (views
   of one local file are coherent across processes), and locked byte by
   byte with LockFileEx/UnlockFileEx.  What differs from the POSIX VFS's
   fcntl open-file-description locks, and how it is bridged:
   - the locks are mandatory: lock byte k sits at DIGBY__WIN32_LOCK_AT + k,
     past the mapped bytes (whose ReadFile/WriteFile by other handles they
     would otherwise refuse), as the database file's lock does;
   - LockFileEx does not replace a lock held on the same byte (a second
     exclusive one conflicts with the first, a second shared one stacks and
     needs two unlocks), so the file object records what it holds on each
     byte (shm_held) and turns each request into the calls that get there;
   - no conversion in place: exclusive to shared takes the shared lock
     over the handle's own exclusive one (allowed for one handle) and then
     unlocks once, which removes the exclusive one first (LockFileEx's
     documentation), so the byte is never free between; shared to
     exclusive unlocks and locks, and when the exclusive lock is refused
     the shared one is taken back (fcntl keeps it) if nobody took the byte
     meanwhile.  48_lockfile.c converts only byte 1, exclusive to shared,
     while it holds byte 0;
   - DIGBY_SHM_WAIT is LockFileEx without LOCKFILE_FAIL_IMMEDIATELY on a
     synchronous HANDLE, which Windows may not let other calls on that
     HANDLE pass while it waits: the lock file's HANDLE is the digby_file's
     own, and 48_lockfile.c makes one lock call at a time per handle (open,
     close, and the writer, under its mutex);
   - DIGBY_SHM_PROBE takes the lock and lets it go at once.  A probe for
     exclusive on a byte this handle holds shared cannot tell other
     holders from its own without letting its lock go: DIGBY_NOFEATURE
     (48_lockfile.c does not probe);
   - Windows lets a dead process's locks go, "but the time it takes ...
     depends upon available system resources" (LockFileEx's remarks): a
     writer killed mid-transaction holds the writer byte until then, and a
     waiter (DIGBY_SHM_WAIT) waits that long.  shm_close unlocks every byte
     it holds before it closes the handle, so a closing handle never
     lingers.

   Windows error codes map to digby codes; the last one is kept in the file
   object, never returned (the result codes are digby's own). */

#if !defined(DIGBY_NO_POSIX) && defined(_WIN32)

#define DIGBY__WIN32_LOCK_AT UINT64_C(0x7FFFFFFF00000000)
#define DIGBY__WIN32_CHUNK ((size_t)1 << 30) /* bytes per ReadFile/WriteFile */

typedef struct digby__win32_file {
    HANDLE h;
    int lock;          /* DIGBY_LOCK_* held */
    DWORD last_error;  /* GetLastError() of the last failure */
    HANDLE shm_h;      /* the lock file (version 4), INVALID_HANDLE_VALUE: none */
    uint8_t *shm;      /* its view, shm_len bytes */
    size_t shm_len;
    uint8_t *shm_held; /* DIGBY_LOCK_* this handle holds on each of the
                          shm_len lock bytes (bits 4-5: the mode before
                          the shm_lock call under way, for its rollback) */
} digby__win32_file;

static int digby__win32_err(DWORD e)
{
    switch (e) {
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
        return DIGBY_FULL;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
        return DIGBY_NOMEM;
    default:
        return DIGBY_IOERR;
    }
}

static void digby__win32_at(OVERLAPPED *ov, uint64_t off)
{
    memset(ov, 0, sizeof(*ov));
    ov->Offset = (DWORD)off;
    ov->OffsetHigh = (DWORD)(off >> 32);
}

/* path as a NUL-terminated UTF-16 string (free it with digby__free), or
   NULL: not UTF-8, or no memory (*rc says which). */
static wchar_t *digby__win32_wide(const char *path, int *rc)
{
    wchar_t *w;
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, NULL, 0);
    *rc = DIGBY_CANTOPEN;
    if (n <= 0) return NULL;
    w = (wchar_t *)digby__malloc(NULL, (size_t)n * sizeof(wchar_t));
    if (!w) { *rc = DIGBY_NOMEM; return NULL; }
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, w, n);
    *rc = DIGBY_OK;
    return w;
}

/* Rename (version 3): MoveFileExW, write-through (it returns once the
   move is on disk). */
static int digby__win32_rename(const digby_vfs *vfs, const char *from, const char *to,
                               unsigned flags)
{
    int rc;
    wchar_t *wf = digby__win32_wide(from, &rc), *wt = NULL;
    DWORD mf = MOVEFILE_WRITE_THROUGH, e = 0;
    (void)vfs;
    if (wf) wt = digby__win32_wide(to, &rc);
    if (flags & DIGBY_VFS_REPLACE) mf |= MOVEFILE_REPLACE_EXISTING;
    if (wt && !MoveFileExW(wf, wt, mf)) {
        e = GetLastError();
        rc = e == ERROR_ALREADY_EXISTS || e == ERROR_FILE_EXISTS ? DIGBY_EXISTS
                                                                 : digby__win32_err(e);
    }
    digby__free(NULL, wf);
    digby__free(NULL, wt);
    return rc;
}

static int digby__win32_remove(const digby_vfs *vfs, const char *path)
{
    int rc;
    wchar_t *w = digby__win32_wide(path, &rc);
    (void)vfs;
    if (w && !DeleteFileW(w)) {
        DWORD e = GetLastError();
        rc = e == ERROR_FILE_NOT_FOUND ? DIGBY_CANTOPEN : digby__win32_err(e);
    }
    digby__free(NULL, w);
    return rc;
}

static int digby__win32_open(const digby_vfs *vfs, const char *path,
                             unsigned flags, digby_file **out)
{
    digby__win32_file *f;
    HANDLE h;
    DWORD access = GENERIC_READ, disp = OPEN_EXISTING, e;
    DWORD share = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
    int rc;
    wchar_t *wpath = digby__win32_wide(path, &rc);
    (void)vfs;
    if (!(flags & DIGBY_VFS_READONLY)) {
        access |= GENERIC_WRITE;
        if (flags & DIGBY_VFS_CREATE) disp = OPEN_ALWAYS;
    }
    if (rc == DIGBY_NOMEM) return rc;
    if (wpath) {
        h = CreateFileW(wpath, access, share, NULL, disp, FILE_ATTRIBUTE_NORMAL, NULL);
        e = GetLastError();
        digby__free(NULL, wpath);
    } else { /* not UTF-8: the ANSI code page's name */
        h = CreateFileA(path, access, share, NULL, disp, FILE_ATTRIBUTE_NORMAL, NULL);
        e = GetLastError();
    }
    if (h == INVALID_HANDLE_VALUE)
        return e == ERROR_NOT_ENOUGH_MEMORY || e == ERROR_OUTOFMEMORY ? DIGBY_NOMEM
                                                                      : DIGBY_CANTOPEN;
    f = (digby__win32_file *)digby__malloc(NULL, sizeof(*f));
    if (!f) { CloseHandle(h); return DIGBY_NOMEM; }
    f->h = h;
    f->lock = DIGBY_LOCK_NONE;
    f->last_error = 0;
    f->shm_h = INVALID_HANDLE_VALUE;
    f->shm = NULL;
    f->shm_len = 0;
    f->shm_held = NULL;
    *out = (digby_file *)f;
    return DIGBY_OK;
}

static int digby__win32_read(digby_file *file, uint64_t off, void *buf,
                             size_t len, size_t *got)
{
    digby__win32_file *f = (digby__win32_file *)file;
    size_t done = 0;
    while (done < len) {
        OVERLAPPED ov;
        DWORD want = (DWORD)DIGBY__MIN(len - done, DIGBY__WIN32_CHUNK), r = 0;
        digby__win32_at(&ov, off + done);
        if (!ReadFile(f->h, (char *)buf + done, want, &r, &ov)) {
            DWORD e = GetLastError();
            if (e == ERROR_HANDLE_EOF) break;
            f->last_error = e;
            *got = done;
            return DIGBY_IOERR;
        }
        if (r == 0) break;
        done += r;
    }
    *got = done;
    return DIGBY_OK;
}

static int digby__win32_write(digby_file *file, uint64_t off, const void *buf,
                              size_t len)
{
    digby__win32_file *f = (digby__win32_file *)file;
    size_t done = 0;
    if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off) return DIGBY_FULL;
    while (done < len) {
        OVERLAPPED ov;
        DWORD want = (DWORD)DIGBY__MIN(len - done, DIGBY__WIN32_CHUNK), r = 0;
        digby__win32_at(&ov, off + done);
        if (!WriteFile(f->h, (const char *)buf + done, want, &r, &ov)) {
            f->last_error = GetLastError();
            return digby__win32_err(f->last_error);
        }
        if (r == 0) return DIGBY_IOERR;
        done += r;
    }
    return DIGBY_OK;
}

static int digby__win32_sync(digby_file *file)
{
    digby__win32_file *f = (digby__win32_file *)file;
    if (!FlushFileBuffers(f->h)) {
        f->last_error = GetLastError();
        return digby__win32_err(f->last_error);
    }
    return DIGBY_OK;
}

static int digby__win32_size(digby_file *file, uint64_t *size)
{
    digby__win32_file *f = (digby__win32_file *)file;
    LARGE_INTEGER li;
    if (!GetFileSizeEx(f->h, &li) || li.QuadPart < 0) {
        f->last_error = GetLastError();
        return DIGBY_IOERR;
    }
    *size = (uint64_t)li.QuadPart;
    return DIGBY_OK;
}

static int digby__win32_truncate(digby_file *file, uint64_t size)
{
    digby__win32_file *f = (digby__win32_file *)file;
    FILE_END_OF_FILE_INFO eof;
    if (size > (uint64_t)INT64_MAX) return DIGBY_FULL;
    eof.EndOfFile.QuadPart = (LONGLONG)size;
    if (!SetFileInformationByHandle(f->h, FileEndOfFileInfo, &eof, sizeof(eof))) {
        f->last_error = GetLastError();
        return digby__win32_err(f->last_error);
    }
    return DIGBY_OK;
}

static int digby__win32_lock(digby_file *file, int mode)
{
    digby__win32_file *f = (digby__win32_file *)file;
    OVERLAPPED ov;
    DWORD how;
    if (f->lock != DIGBY_LOCK_NONE) {
        digby__win32_at(&ov, DIGBY__WIN32_LOCK_AT);
        UnlockFileEx(f->h, 0, 1, 0, &ov);
        f->lock = DIGBY_LOCK_NONE;
    }
    if (mode == DIGBY_LOCK_NONE) return DIGBY_OK;
    how = LOCKFILE_FAIL_IMMEDIATELY;
    if (mode == DIGBY_LOCK_EXCLUSIVE) how |= LOCKFILE_EXCLUSIVE_LOCK;
    digby__win32_at(&ov, DIGBY__WIN32_LOCK_AT);
    if (!LockFileEx(f->h, how, 0, 1, 0, &ov)) {
        DWORD e = GetLastError();
        f->last_error = e;
        if (e == ERROR_LOCK_VIOLATION || e == ERROR_SHARING_VIOLATION ||
            e == ERROR_IO_PENDING)
            return DIGBY_BUSY;
        /* file systems without locks: proceed unlocked, as POSIX does */
        if (e == ERROR_NOT_SUPPORTED || e == ERROR_INVALID_FUNCTION) return DIGBY_OK;
        return DIGBY_IOERR;
    }
    f->lock = mode;
    return DIGBY_OK;
}

/* ---- The lock file (version 4) ---- */

/* The lock file's name, PATH + "-lock", opened read-write whatever the
   database's mode (a reader registers its snapshot there).  Returns the
   handle or INVALID_HANDLE_VALUE with *rc: DIGBY_READONLY (write-protected
   media: no writer can exist there, so the caller reads alone),
   DIGBY_NOMEM, DIGBY_CANTOPEN (any other failure, ERROR_ACCESS_DENIED
   included: never a silent fallback, as in the POSIX VFS). */
static HANDLE digby__win32_shm_file(digby__win32_file *f, const char *path, int *rc)
{
    size_t n = strlen(path);
    char *lp;
    wchar_t *w;
    HANDLE h;
    DWORD e;
    DWORD share = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
    if (n > (size_t)-1 - 6) { *rc = DIGBY_CANTOPEN; return INVALID_HANDLE_VALUE; }
    lp = (char *)digby__malloc(NULL, n + 6);
    if (!lp) { *rc = DIGBY_NOMEM; return INVALID_HANDLE_VALUE; }
    memcpy(lp, path, n);
    memcpy(lp + n, "-lock", 6);
    w = digby__win32_wide(lp, rc);
    if (*rc == DIGBY_NOMEM) { digby__free(NULL, lp); return INVALID_HANDLE_VALUE; }
    if (w) {
        h = CreateFileW(w, GENERIC_READ | GENERIC_WRITE, share, NULL, OPEN_ALWAYS,
                        FILE_ATTRIBUTE_NORMAL, NULL);
        e = GetLastError();
        digby__free(NULL, w);
    } else { /* not UTF-8: the ANSI code page's name, as the database's */
        h = CreateFileA(lp, GENERIC_READ | GENERIC_WRITE, share, NULL, OPEN_ALWAYS,
                        FILE_ATTRIBUTE_NORMAL, NULL);
        e = GetLastError();
    }
    digby__free(NULL, lp);
    *rc = DIGBY_OK;
    if (h == INVALID_HANDLE_VALUE) {
        f->last_error = e;
        *rc = e == ERROR_WRITE_PROTECT ? DIGBY_READONLY
            : e == ERROR_NOT_ENOUGH_MEMORY || e == ERROR_OUTOFMEMORY ? DIGBY_NOMEM
                                                                      : DIGBY_CANTOPEN;
    }
    return h;
}

/* shm_open: the lock file at least len bytes long (grown with zeros:
   FileEndOfFileInfo), mapped read-write and shared.  Returns DIGBY_OK;
   DIGBY_INVALID (already open, len 0 or past what one view maps);
   digby__win32_shm_file's errors; DIGBY_IOERR (size); DIGBY_NOMEM (the
   mapping or the lock table). */
static int digby__win32_shm_open(digby_file *file, const char *path, size_t len, void **addr)
{
    digby__win32_file *f = (digby__win32_file *)file;
    HANDLE h, m;
    LARGE_INTEGER li;
    FILE_END_OF_FILE_INFO eof;
    uint64_t want = (uint64_t)len;
    void *p;
    int rc;
    if (!addr) return DIGBY_INVALID;
    *addr = NULL;
    if (f->shm || !path || len == 0 || want > (uint64_t)INT64_MAX) return DIGBY_INVALID;
    h = digby__win32_shm_file(f, path, &rc);
    if (h == INVALID_HANDLE_VALUE) return rc;
    if (!GetFileSizeEx(h, &li) || li.QuadPart < 0) {
        f->last_error = GetLastError();
        CloseHandle(h);
        return DIGBY_IOERR;
    }
    if ((uint64_t)li.QuadPart < want) {
        eof.EndOfFile.QuadPart = (LONGLONG)want;
        if (!SetFileInformationByHandle(h, FileEndOfFileInfo, &eof, sizeof(eof))) {
            f->last_error = GetLastError();
            CloseHandle(h);
            return DIGBY_IOERR;
        }
    }
    m = CreateFileMappingW(h, NULL, PAGE_READWRITE, (DWORD)(want >> 32), (DWORD)want, NULL);
    if (!m) {
        f->last_error = GetLastError();
        CloseHandle(h);
        return DIGBY_NOMEM;
    }
    p = MapViewOfFile(m, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, len);
    if (!p) f->last_error = GetLastError();
    CloseHandle(m); /* the view keeps the mapping */
    if (!p) { CloseHandle(h); return DIGBY_NOMEM; }
    f->shm_held = (uint8_t *)digby__malloc(NULL, len);
    if (!f->shm_held) {
        UnmapViewOfFile(p);
        CloseHandle(h);
        return DIGBY_NOMEM;
    }
    memset(f->shm_held, 0, len);
    f->shm_h = h;
    f->shm = (uint8_t *)p;
    f->shm_len = len;
    *addr = p;
    return DIGBY_OK;
}

/* LockFileEx on lock byte i alone (mode DIGBY_LOCK_SHARED or _EXCLUSIVE),
   or UnlockFileEx (DIGBY_LOCK_NONE).  Returns DIGBY_OK; DIGBY_BUSY (held
   elsewhere); DIGBY_NOFEATURE (a file system without byte-range locks);
   DIGBY_NOMEM; DIGBY_IOERR. */
static int digby__win32_shm_call(digby__win32_file *f, uint32_t i, int mode, int wait)
{
    OVERLAPPED ov;
    DWORD how = 0, e;
    BOOL ok;
    digby__win32_at(&ov, DIGBY__WIN32_LOCK_AT + i);
    if (mode == DIGBY_LOCK_NONE) {
        ok = UnlockFileEx(f->shm_h, 0, 1, 0, &ov);
    } else {
        if (mode == DIGBY_LOCK_EXCLUSIVE) how |= LOCKFILE_EXCLUSIVE_LOCK;
        if (!wait) how |= LOCKFILE_FAIL_IMMEDIATELY;
        ok = LockFileEx(f->shm_h, how, 0, 1, 0, &ov);
    }
    if (ok) return DIGBY_OK;
    e = GetLastError();
    f->last_error = e;
    if (e == ERROR_LOCK_VIOLATION || e == ERROR_SHARING_VIOLATION || e == ERROR_IO_PENDING)
        return DIGBY_BUSY;
    if (e == ERROR_NOT_SUPPORTED || e == ERROR_INVALID_FUNCTION) return DIGBY_NOFEATURE;
    if (e == ERROR_NOT_ENOUGH_MEMORY || e == ERROR_OUTOFMEMORY) return DIGBY_NOMEM;
    return DIGBY_IOERR;
}

/* Lock byte i from what the handle holds there to `want` (see the top of
   this part: conversions).  f->shm_held[i] says what is held afterwards,
   on failure too. */
static int digby__win32_shm_set(digby__win32_file *f, uint32_t i, int want, int wait)
{
    int have = f->shm_held[i] & 3, rc;
    if (have == want) return DIGBY_OK;
    if (have == DIGBY_LOCK_EXCLUSIVE && want == DIGBY_LOCK_SHARED) {
        /* a shared lock over the handle's own exclusive one, then one
           unlock, which removes the exclusive lock first */
        rc = digby__win32_shm_call(f, i, DIGBY_LOCK_SHARED, 0);
        if (rc) return rc;
        (void)digby__win32_shm_call(f, i, DIGBY_LOCK_NONE, 0);
        f->shm_held[i] = (uint8_t)((f->shm_held[i] & ~3u) | DIGBY_LOCK_SHARED);
        return DIGBY_OK;
    }
    if (have != DIGBY_LOCK_NONE) {
        (void)digby__win32_shm_call(f, i, DIGBY_LOCK_NONE, 0); /* fails only if not held */
        f->shm_held[i] = (uint8_t)(f->shm_held[i] & ~3u);
    }
    if (want == DIGBY_LOCK_NONE) return DIGBY_OK;
    rc = digby__win32_shm_call(f, i, want, wait);
    if (rc == DIGBY_OK) {
        f->shm_held[i] = (uint8_t)((f->shm_held[i] & ~3u) | (unsigned)want);
    } else if (have == DIGBY_LOCK_SHARED &&
               digby__win32_shm_call(f, i, DIGBY_LOCK_SHARED, 0) == DIGBY_OK) {
        /* a refused upgrade keeps the shared lock, as fcntl does, unless
           another handle took the byte in the moment it was free */
        f->shm_held[i] = (uint8_t)((f->shm_held[i] & ~3u) | DIGBY_LOCK_SHARED);
    }
    return rc;
}

/* shm_lock: bytes offset .. offset + len - 1 of the lock file (inside
   shm_open's len bytes), one at a time in ascending order; a failure
   takes the bytes done so far back to what they were (best effort: see
   digby__win32_shm_set).  Returns DIGBY_OK; DIGBY_BUSY; DIGBY_INVALID (no
   lock file, a range outside it, an unknown mode); DIGBY_NOFEATURE (no
   byte-range locks there, or the probe above); DIGBY_NOMEM; DIGBY_IOERR. */
static int digby__win32_shm_lock(digby_file *file, uint32_t offset, uint32_t len, int mode)
{
    digby__win32_file *f = (digby__win32_file *)file;
    int how = mode & 3, wait = (mode & DIGBY_SHM_WAIT) != 0, rc = DIGBY_OK;
    uint32_t i, j;
    if (!f || !f->shm_held) return DIGBY_INVALID;
    if (how == 3 || (mode & ~(3 | DIGBY_SHM_WAIT | DIGBY_SHM_PROBE)) != 0 || len == 0 ||
        (size_t)offset >= f->shm_len || (size_t)len > f->shm_len - (size_t)offset)
        return DIGBY_INVALID;
    if (mode & DIGBY_SHM_PROBE) {
        if (how == DIGBY_LOCK_NONE) return DIGBY_INVALID;
        for (i = offset; i - offset < len; i++) {
            int have = f->shm_held[i] & 3;
            /* an exclusive lock of this handle, or a shared one and a
               shared probe: nobody else holds a conflicting lock */
            if (have == DIGBY_LOCK_EXCLUSIVE || (have == DIGBY_LOCK_SHARED && how == have))
                continue;
            if (have == DIGBY_LOCK_SHARED) return DIGBY_NOFEATURE;
            rc = digby__win32_shm_call(f, i, how, 0);
            if (rc) return rc;
            (void)digby__win32_shm_call(f, i, DIGBY_LOCK_NONE, 0);
        }
        return DIGBY_OK;
    }
    for (i = offset; i - offset < len; i++) {
        f->shm_held[i] = (uint8_t)((f->shm_held[i] & 3u) * 17u); /* before: bits 4-5 */
        rc = digby__win32_shm_set(f, i, how, wait);
        if (rc) break;
    }
    for (j = offset; j != i; j++) {
        if (rc) (void)digby__win32_shm_set(f, j, (f->shm_held[j] >> 4) & 3, 0);
        f->shm_held[j] &= 3u;
    }
    if (i - offset < len) f->shm_held[i] &= 3u;
    return rc;
}

/* shm_close: every lock byte let go (at once: a closed handle's locks go
   "when resources allow"), the view unmapped, the lock file closed. */
static void digby__win32_shm_close(digby_file *file)
{
    digby__win32_file *f = (digby__win32_file *)file;
    size_t i;
    if (!f) return;
    if (f->shm_held) {
        for (i = 0; i < f->shm_len; i++)
            if (f->shm_held[i] & 3) (void)digby__win32_shm_call(f, (uint32_t)i, DIGBY_LOCK_NONE, 0);
        digby__free(NULL, f->shm_held);
    }
    if (f->shm) UnmapViewOfFile(f->shm);
    if (f->shm_h != INVALID_HANDLE_VALUE) CloseHandle(f->shm_h);
    f->shm_held = NULL;
    f->shm = NULL;
    f->shm_len = 0;
    f->shm_h = INVALID_HANDLE_VALUE;
}

static void digby__win32_close(digby_file *file)
{
    digby__win32_file *f = (digby__win32_file *)file;
    if (!f) return;
    digby__win32_shm_close(file);
    if (f->lock != DIGBY_LOCK_NONE) digby__win32_lock(file, DIGBY_LOCK_NONE);
    CloseHandle(f->h);
    digby__free(NULL, f);
}

static const digby_vfs digby__win32_vfs = {
    DIGBY_VFS_VERSION, NULL,
    digby__win32_open, digby__win32_read, digby__win32_write,
    digby__win32_sync, digby__win32_size, digby__win32_truncate,
    digby__win32_lock, digby__win32_close,
    NULL, NULL, /* no map: reads go through the cache */
    digby__win32_rename, digby__win32_remove,
    digby__win32_shm_open, digby__win32_shm_lock, digby__win32_shm_close
};

DIGBY_API const digby_vfs *digby_vfs_win32(void)
{
    return &digby__win32_vfs;
}

static const digby_vfs *digby__vfs_default(void)
{
    return &digby__win32_vfs;
}

static uint64_t digby__os_seed(void)
{
    FILETIME ft;
    LARGE_INTEGER pc;
    GetSystemTimeAsFileTime(&ft);
    if (!QueryPerformanceCounter(&pc)) pc.QuadPart = 0;
    return (((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime) ^
           ((uint64_t)pc.QuadPart << 20) ^ ((uint64_t)GetCurrentProcessId() << 48);
}

#if DIGBY__HAVE_MEMTABLE /* the replay's duration: log mode only */
static uint64_t digby__now_ns(void)
{
    LARGE_INTEGER pc, f;
    if (!QueryPerformanceCounter(&pc) || !QueryPerformanceFrequency(&f) || !f.QuadPart)
        return 0;
    return (uint64_t)((double)pc.QuadPart * 1e9 / (double)f.QuadPart);
}
#endif

#define DIGBY__FEATURE_VFS " win32"

#else

DIGBY_API const digby_vfs *digby_vfs_win32(void)
{
    return NULL;
}

#endif
