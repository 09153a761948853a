/* Result codes.  DIGBY_OK is 0; every other code is negative with a fixed
   value that will never change.  digby_strerror() gives a one-line text.
   X(name, value, text) */
#define DIGBY__ERRORS(X)                                                         \
    X(DIGBY_OK,          0,   "success")                                        \
    X(DIGBY_NOTFOUND,   -1,   "not found")                                      \
    X(DIGBY_EXISTS,     -2,   "already exists")                                 \
    X(DIGBY_INVALID,    -3,   "invalid argument")                               \
    X(DIGBY_NOMEM,      -4,   "out of memory")                                  \
    X(DIGBY_IOERR,      -5,   "I/O error")                                      \
    X(DIGBY_CORRUPT,    -6,   "database file is corrupt")                       \
    X(DIGBY_NOTDIGBY,   -7,   "not a digby database file")                      \
    X(DIGBY_VERSION,    -8,   "unsupported file format version or feature")     \
    X(DIGBY_PAGESIZE,   -9,   "page size differs from the file's")              \
    X(DIGBY_BUSY,       -10,  "database is locked by another process or writer")\
    X(DIGBY_READONLY,   -11,  "write attempted in a read-only transaction or database") \
    X(DIGBY_FULL,       -12,  "disk or file system is full")                    \
    X(DIGBY_TOOBIG,     -13,  "key or value too large")                         \
    X(DIGBY_POISONED,   -14,  "an earlier failure poisoned this transaction or handle") \
    X(DIGBY_NOFEATURE,  -15,  "file needs a feature not compiled into this build") \
    X(DIGBY_WRONGKEY,   -16,  "wrong encryption key")                           \
    X(DIGBY_BADTXN,     -17,  "transaction is finished or used wrongly")        \
    X(DIGBY_CANTOPEN,   -18,  "cannot open the database file")                  \
    X(DIGBY_CONSTRAINT, -19,  "unique constraint violated")                     \
    X(DIGBY_SCHEMA,     -20,  "schema differs from the record table's stored schema")

typedef enum digby_result {
#define DIGBY__ENUM(name, value, text) name = value,
    DIGBY__ERRORS(DIGBY__ENUM)
#undef DIGBY__ENUM
    DIGBY__RESULT_END = -1000
} digby_result;
