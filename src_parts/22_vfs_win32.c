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

   Windows error codes map to digby codes; the last one is kept in the file
   object, never returned (the result codes are digby's own). */

#if !defined(DIGBY_NO_POSIX) && defined(_WIN32)

#define DIGBY__WIN32_LOCK_AT UINT64_C(0x7FFFFFFF00000000)
#define DIGBY__WIN32_CHUNK ((size_t)1 << 30) /* bytes per ReadFile/WriteFile */

typedef struct digby__win32_file {
    HANDLE h;
    int lock;          /* DIGBY_LOCK_* held */
    DWORD last_error;  /* GetLastError() of the last failure */
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

static void digby__win32_close(digby_file *file)
{
    digby__win32_file *f = (digby__win32_file *)file;
    if (!f) return;
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
    NULL, NULL, NULL /* no lock file: a read-write handle keeps the file to itself */
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
