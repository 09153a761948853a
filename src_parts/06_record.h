/* The record layer: tables with schemas, secondary indexes, scans with a planner.

   A record table is a table of rows with named, typed columns, a primary
   key of one or more columns and any number of secondary indexes, each on
   one or more columns, unique or not.  It is stored in plain digby tables,
   every key and value a FoundationDB tuple (05_tuple.h), so a dump of any
   of them is a list of valid tuples (FORMAT.md section 13):
     NAME          the rows: tuple(primary-key columns, in key order) ->
                   tuple(the other columns, in column order)
     NAME.INDEX    one table per secondary index: tuple(index columns, then
                   the primary-key columns not among them) -> empty; a
                   unique index: tuple(index columns) -> tuple(primary key),
                   except entries with a NULL in an index column, which are
                   stored as a non-unique index's (several NULLs are
                   allowed in a unique index, as in SQLite)
     digby:schema  the schemas: tuple(NAME) -> the schema as a tuple
   Every change to a row changes its index entries in the same write
   transaction: an abort leaves rows and indexes as they were, a commit
   publishes both.  digby_check() proves, for every record table, that
   each row has exactly its index entries and each entry leads to a row
   whose columns match it.

   Threads: a handle, and every scan opened on it, belong to their
   transaction and are used from its thread only (as digby_table and
   digby_cursor handles are).

   Names of record tables, columns and indexes: 1 .. DIGBY_RECORD_MAX_NAME
   bytes of [A-Za-z0-9_], not starting with a digit (so that "NAME.INDEX"
   and "digby:schema" never collide); "primary" names the primary key and
   is no index name.  A table may hold 1 .. DIGBY_RECORD_MAX_COLUMNS
   columns.

   Declaring a schema from static arrays (zeroed flags mean nullable and
   not unique):

       static const digby_column pkg_cols[] = {
           {"name", DIGBY_TUPLE_STRING, DIGBY_COLUMN_NOT_NULL},
           {"section", DIGBY_TUPLE_STRING, 0},
           {"installed_size", DIGBY_TUPLE_INT, 0},
       };
       static const digby_index pkg_idx[] = {
           {"by_section", "section, installed_size", 0},
       };
       static const digby_schema pkg = {pkg_cols, 3, "name", pkg_idx, 1};

   Techniques: the FoundationDB Record Layer's model (records keyed by a
   tuple of primary-key fields, index entries as tuple keys kept in the
   record's transaction); SQLite's WITHOUT ROWID tables, its index choice
   (equality constraints on the leading index columns, then one range
   constraint: "The SQLite Query Optimizer Overview", section 2) and its
   ALTER TABLE ... ADD COLUMN (rows written before read the new column as
   NULL); the seed store's Scanner for the bounds (a bound on a prefix of
   the key columns is the tuple range of that prefix). */

#define DIGBY_RECORD_MAX_NAME 64       /* bytes in a table, column or index name */
#define DIGBY_RECORD_MAX_COLUMNS 256   /* columns in a record table */

#define DIGBY_COLUMN_NOT_NULL 0x1u     /* digby_column.flags: NULL is refused */
#define DIGBY_INDEX_UNIQUE    0x1u     /* digby_index.flags: one row per key */
#define DIGBY_RTABLE_CREATE   0x1u     /* digby_rtable_open: create if missing */
#define DIGBY_SCAN_REVERSE    0x1u     /* digby_query.flags: descending order */

typedef struct digby_rtable digby_rtable; /* a record table inside a transaction */
typedef struct digby_rscan digby_rscan;   /* a scan over one */

/* A column.  type: DIGBY_TUPLE_STRING, _BYTES, _INT (integers from
   INT64_MIN to UINT64_MAX, given as DIGBY_TUPLE_INT or DIGBY_TUPLE_UINT
   items), _DOUBLE, _BOOL or _UUID.  Primary-key columns are NOT NULL
   whatever their flags say. */
typedef struct digby_column {
    const char *name;        /* NUL-terminated */
    digby_tuple_type type;
    uint32_t flags;          /* DIGBY_COLUMN_NOT_NULL */
} digby_column;

/* A secondary index. */
typedef struct digby_index {
    const char *name;        /* NUL-terminated */
    const char *columns;     /* column names in index order, separated by
                                commas (spaces around them are ignored):
                                "section, installed_size" */
    uint32_t flags;          /* DIGBY_INDEX_UNIQUE */
} digby_index;

/* A record table's schema.  The arrays are read during the call only. */
typedef struct digby_schema {
    const digby_column *columns;
    size_t ncolumns;
    const char *primary_key; /* column names in key order, as in
                                digby_index.columns: "name" or "a, b" */
    const digby_index *indexes;
    size_t nindexes;         /* 0: none (indexes may then be NULL) */
} digby_schema;

/* What a DIGBY_CONSTRAINT was about (digby_rtable_constraint). */
typedef struct digby_constraint {
    const char *index;              /* the unique index's name */
    const digby_tuple_item *key;    /* the primary key of the row holding
                                       that index key already, in key order */
    size_t nkey;
    const void *packed_key;         /* the same as a packed tuple (its key in
                                       the rows table) */
    size_t packed_key_bytes;
} digby_constraint;

/* A condition on a column: column OP value. */
typedef enum digby_where_op {
    DIGBY_WHERE_EQ = 1,      /* = */
    DIGBY_WHERE_LT = 2,      /* < */
    DIGBY_WHERE_LE = 3,      /* <= */
    DIGBY_WHERE_GT = 4,      /* > */
    DIGBY_WHERE_GE = 5       /* >= */
} digby_where_op;

/* A condition.  value: of the column's type (an INT column also takes
   DIGBY_TUPLE_UINT), never NULL.  Values compare in tuple order
   (digby_tuple_compare: strings and bytes by unsigned bytes, doubles by
   the IEEE 754 total order); a row whose column is NULL meets no
   condition on it, as in SQL. */
typedef struct digby_where {
    const char *column;      /* NUL-terminated column name */
    digby_where_op op;
    digby_tuple_item value;
} digby_where;

/* A scan's request; a zeroed struct (or NULL) means every row in primary
   key order. */
typedef struct digby_query {
    const digby_where *where;   /* all must hold (AND) */
    size_t nwhere;
    uint32_t flags;             /* DIGBY_SCAN_REVERSE */
    uint64_t limit;             /* rows at most; 0: no limit */
    const char *index;          /* NULL: the planner chooses; "primary" or
                                   an index's name: scan that one */
} digby_query;

/* How a scan reads (digby_rtable_explain). */
typedef struct digby_plan {
    const char *index;          /* "primary" or the index's name (owned by
                                   the rtable handle) */
    int index_no;               /* -1: the primary key; else the index's
                                   place in the schema's indexes */
    uint32_t eq_columns;        /* leading key columns bounded by = */
    uint32_t range;             /* 1: the next key column is bounded by a
                                   range (< <= > >=) */
    uint32_t filtered;          /* conditions checked on each row read
                                   (every condition is; this counts those
                                   the bounds do not already imply) */
    uint32_t forced;            /* 1: digby_query.index chose it */
    char text[256];             /* e.g. "SEARCH packages USING INDEX
                                   by_section (section=? AND
                                   installed_size>?)", "SCAN packages" */
} digby_plan;

/* Open (or create) a record table.
   Params:    name: a record table name (see above).  schema: NULL to open
              an existing table with the schema stored in the file; else
              the schema, which an existing table's stored schema must
              equal exactly (same columns in order with their types and NOT
              NULL flags, same primary key, same indexes in order with
              their columns and flags), and which creates a missing table
              with DIGBY_RTABLE_CREATE (read-write transactions): its rows
              table NAME, one table NAME.INDEX per index, and its entry in
              digby:schema, none of which may exist yet.  flags: 0 or
              DIGBY_RTABLE_CREATE.
   Ownership: *out belongs to the transaction and is valid until it ends
              or the table is dropped; opening the same name again in the
              transaction gives the same handle.  The schema's arrays and
              strings are copied.
   Returns:   DIGBY_OK; DIGBY_NOTFOUND (no such record table, and not
              created); DIGBY_SCHEMA (the stored schema differs from the
              one given); DIGBY_INVALID (NULL txn, name or out; a bad name;
              unknown flags; CREATE without a schema; a malformed schema:
              no columns or more than DIGBY_RECORD_MAX_COLUMNS, a bad or
              repeated name, an unknown column type, an empty or unknown
              or repeated column in a key list, no primary key, an index
              named "primary"; digby_schema_check() says which);
              DIGBY_EXISTS (creating: a table named NAME or NAME.INDEX
              exists already, outside the record layer); DIGBY_VERSION
              (the stored schema has an encoding version this build does
              not read); DIGBY_READONLY (CREATE in a read-only transaction);
              DIGBY_CORRUPT (a stored schema that does not decode, or a
              table it names is missing); DIGBY_TOOBIG (NAME.INDEX longer
              than digby_max_key_bytes() on small pages); DIGBY_POISONED;
              DIGBY_BUSY (a savepoint is live in the transaction: a handle
              caches its schema, which a rollback would not restore;
              digby_savepoint()); DIGBY_NOFEATURE; DIGBY_IOERR; DIGBY_FULL;
              DIGBY_NOMEM.
   Technique: the schema is stored as a tuple (FORMAT.md section 13);
              comparison is exact, as the FoundationDB Record Layer checks
              a store's meta-data version before use. */
DIGBY_API int digby_rtable_open(digby_txn *txn, const char *name,
                                const digby_schema *schema, unsigned flags,
                                digby_rtable **out);

/* Check a schema as digby_rtable_open() would before creating a table,
   and say what is wrong with it.
   Params:    msg (out, may be NULL when msg_bytes is 0): a NUL-terminated
              line, "" when the schema is good, cut to msg_bytes - 1 bytes.
   Ownership: nothing is kept; allocates only through the C library (no
              database is involved).
   Returns:   DIGBY_OK; DIGBY_INVALID (NULL schema, msg NULL with msg_bytes
              > 0, or a malformed schema: see digby_rtable_open());
              DIGBY_NOMEM. */
DIGBY_API int digby_schema_check(const digby_schema *schema, char *msg, size_t msg_bytes);

/* Drop a record table: its rows table, every index table and its schema.
   A handle to it, if open in this transaction, gives DIGBY_BADTXN from
   then on.
   Returns:   DIGBY_OK; DIGBY_NOTFOUND; DIGBY_INVALID (NULL txn, bad name);
              DIGBY_READONLY; DIGBY_POISONED; DIGBY_CORRUPT; DIGBY_VERSION;
              DIGBY_NOFEATURE; DIGBY_IOERR; DIGBY_FULL; DIGBY_NOMEM.  A
              failure after the first table is freed poisons the
              transaction. */
DIGBY_API int digby_rtable_drop(digby_txn *txn, const char *name);

/* Call fn once per record table, in name order, with its name
   (NUL-terminated, valid during the call only).  A non-zero return from fn
   stops the walk and is returned.
   Returns:   DIGBY_OK; fn's non-zero value; DIGBY_INVALID (NULL txn or fn);
              DIGBY_POISONED; DIGBY_CORRUPT (a schema entry whose key is no
              name); DIGBY_NOFEATURE; DIGBY_IOERR; DIGBY_NOMEM. */
DIGBY_API int digby_rtable_list(digby_txn *txn,
                                int (*fn)(void *ctx, const char *name), void *ctx);

/* The table's schema, as stored (after any digby_rtable_add_column or
   digby_rtable_add_index).  The key lists are given back as "a, b".
   Ownership: *out and everything it points to belong to the handle, valid
              until the schema changes or the transaction ends.
   Returns:   DIGBY_OK; DIGBY_INVALID (NULL rt or out); DIGBY_BADTXN (the
              table was dropped). */
DIGBY_API int digby_rtable_schema(digby_rtable *rt, const digby_schema **out);

/* Number of rows, as the transaction sees them.  Reads no page.
   Returns:   DIGBY_OK; DIGBY_INVALID (NULL rt or rows); DIGBY_BADTXN. */
DIGBY_API int digby_rtable_count(digby_rtable *rt, uint64_t *rows);

/* Text about the last failure of a call on this handle ("" when the last
   call succeeded): which column was of the wrong type, which name was
   unknown, which index a constraint names.  Never NULL; NULL rt gives "".
   Ownership: the handle's, valid until its next call. */
DIGBY_API const char *digby_rtable_message(const digby_rtable *rt);

/* Add a nullable column at the end, as SQLite's ALTER TABLE ... ADD
   COLUMN: no row is rewritten; rows written before it read the column as
   NULL.  The stored schema changes in this transaction.
   Params:    col: a new name, a column type, flags 0 (NOT NULL would need
              a value for every existing row: DIGBY_INVALID).
   Returns:   DIGBY_OK; DIGBY_INVALID (NULL argument, bad or taken name,
              bad type, NOT NULL, DIGBY_RECORD_MAX_COLUMNS reached);
              DIGBY_READONLY; DIGBY_BADTXN; DIGBY_POISONED; DIGBY_CORRUPT;
              DIGBY_NOFEATURE; DIGBY_IOERR; DIGBY_FULL; DIGBY_NOMEM (a failure
              writing the schema poisons the transaction). */
DIGBY_API int digby_rtable_add_column(digby_rtable *rt, const digby_column *col);

/* Add a secondary index and build it from every row, inside this
   transaction (its table NAME.INDEX is created and filled; the schema
   changes).  Costs a read of every row and a write per row.
   Returns:   DIGBY_OK; DIGBY_CONSTRAINT (a unique index and two rows share
              a key without NULLs: nothing is left of the index, the
              transaction stays usable, digby_rtable_constraint() names
              the index and one of the rows); DIGBY_INVALID (as in
              digby_rtable_open's schema; a taken index name); DIGBY_EXISTS
              (a table NAME.INDEX exists already); DIGBY_TOOBIG;
              DIGBY_READONLY; DIGBY_BADTXN; DIGBY_POISONED; DIGBY_CORRUPT (a
              row that does not decode); DIGBY_NOFEATURE; DIGBY_IOERR;
              DIGBY_FULL; DIGBY_NOMEM (which poison the transaction). */
DIGBY_API int digby_rtable_add_index(digby_rtable *rt, const digby_index *idx);

/* Drop a secondary index: its table and its place in the schema.
   Returns:   DIGBY_OK; DIGBY_NOTFOUND (no index of that name);
              DIGBY_INVALID; DIGBY_READONLY; DIGBY_BADTXN; DIGBY_POISONED;
              DIGBY_CORRUPT; DIGBY_IOERR; DIGBY_FULL; DIGBY_NOMEM (which
              poison the transaction). */
DIGBY_API int digby_rtable_drop_index(digby_rtable *rt, const char *index);

/* Insert a row; fails if a row with its primary key exists.
   Params:    row: ncolumns items, one per column in schema order; each
              DIGBY_TUPLE_NULL or of the column's type (an INT column
              also takes DIGBY_TUPLE_UINT); NULL only in nullable
              columns.  Copied; the caller keeps ownership.
   Every unique index is checked before anything is written: on
   DIGBY_EXISTS, DIGBY_CONSTRAINT or DIGBY_INVALID nothing is written and
   the transaction stays usable.  Each index gets its entry in this
   transaction.
   Returns:   DIGBY_OK; DIGBY_EXISTS (a row has that primary key);
              DIGBY_CONSTRAINT (a unique index has the row's key, without
              NULLs, already: digby_rtable_constraint() names the index
              and the row holding it); DIGBY_INVALID (NULL rt or row,
              ncolumns not the schema's count, an item of another type,
              NULL in a NOT NULL or key column, malformed UTF-8, a bool
              not 0 or 1; digby_rtable_message() names the column);
              DIGBY_TOOBIG (a row or key of 4 GiB or more); DIGBY_READONLY;
              DIGBY_BADTXN (the table was dropped); DIGBY_POISONED;
              DIGBY_CORRUPT (a stored row or index entry that does not
              decode); the errors of digby_txn_put() (which poison the
              transaction). */
DIGBY_API int digby_rtable_insert(digby_rtable *rt, const digby_tuple_item *row,
                                  size_t ncolumns);

/* Insert the row, or replace the row with its primary key (the index
   entries of the old row go, the new row's come).
   Returns:   DIGBY_OK; the errors of digby_rtable_insert() except
              DIGBY_EXISTS (a present key's row is replaced). */
DIGBY_API int digby_rtable_upsert(digby_rtable *rt, const digby_tuple_item *row,
                                  size_t ncolumns);

/* Replace the row whose primary key is key with row, which may have
   another primary key (the row moves) and any other columns.  Only the
   index entries that change are rewritten.
   Params:    key: nkey items, the primary-key columns in key order.  row:
              as in digby_rtable_insert().
   Returns:   DIGBY_OK; DIGBY_NOTFOUND (no row has that key); DIGBY_EXISTS
              (the new primary key differs and another row has it);
              DIGBY_INVALID (also: nkey not the key's column count, a key
              item of another type); the other errors of
              digby_rtable_insert(). */
DIGBY_API int digby_rtable_update(digby_rtable *rt, const digby_tuple_item *key,
                                  size_t nkey, const digby_tuple_item *row,
                                  size_t ncolumns);

/* Delete the row with this primary key and its index entries.
   Returns:   DIGBY_OK; DIGBY_NOTFOUND; DIGBY_INVALID (NULL rt or key,
              nkey or a key item's type wrong); DIGBY_READONLY;
              DIGBY_BADTXN; DIGBY_POISONED; DIGBY_CORRUPT; the errors of
              digby_txn_delete(). */
DIGBY_API int digby_rtable_delete(digby_rtable *rt, const digby_tuple_item *key,
                                  size_t nkey);

/* Read the row with this primary key.
   Params:    row (out): ncolumns (out) items, one per column in schema
              order; DIGBY_TUPLE_NULL for NULL and for columns added after
              the row was written.
   Ownership: the items and the bytes they point to belong to the handle,
              valid until its next call (any digby_rtable_* on rt) or the
              transaction's end.
   Returns:   DIGBY_OK; DIGBY_NOTFOUND; DIGBY_INVALID (NULL argument; nkey
              or a key item's type wrong); DIGBY_BADTXN; DIGBY_POISONED;
              DIGBY_CORRUPT (the stored row does not decode, or does not
              fit the schema); DIGBY_NOFEATURE; DIGBY_IOERR (or DIGBY_FULL
              when a VFS's read reports it); DIGBY_NOMEM. */
DIGBY_API int digby_rtable_get(digby_rtable *rt, const digby_tuple_item *key,
                               size_t nkey, const digby_tuple_item **row,
                               size_t *ncolumns);

/* After DIGBY_CONSTRAINT: which unique index, and which row has the key.
   Params:    out (out): filled in.
   Ownership: the strings and items belong to the handle, valid until its
              next call or the transaction's end.
   Returns:   DIGBY_OK; DIGBY_NOTFOUND (the handle's last call did not end
              in DIGBY_CONSTRAINT); DIGBY_INVALID (NULL rt or out). */
DIGBY_API int digby_rtable_constraint(digby_rtable *rt, digby_constraint *out);

/* How a scan with this request would read, without reading (SQLite's
   EXPLAIN QUERY PLAN).  The planner takes the primary key or the
   secondary index with the most leading columns bounded by = , then by
   one range on the next column (ties: the primary key, then the first
   index in the schema); with no condition on a leading key column it
   scans the whole table in primary-key order.  q->index forces a choice.
   Returns:   DIGBY_OK; DIGBY_INVALID (NULL rt or plan; a condition on an
              unknown column, a value of another type or NULL, an unknown
              op, unknown flags); DIGBY_NOTFOUND (q->index names no index);
              DIGBY_BADTXN (the table was dropped); DIGBY_POISONED;
              DIGBY_NOMEM. */
DIGBY_API int digby_rtable_explain(digby_rtable *rt, const digby_query *q,
                                   digby_plan *plan);

/* Start a scan: the rows meeting every condition, in the order of the
   index the plan reads (ascending, or descending with DIGBY_SCAN_REVERSE),
   at most q->limit.  q may be NULL (every row).  The conditions are
   copied.  It starts before its first row: call digby_rscan_next().
   Ownership: *out belongs to the transaction: close it with
              digby_rscan_close() (the transaction's end frees it too; the
              pointer is then dead).  Writes in the transaction during the
              scan are allowed; the scan continues after the key it read
              last.
   Returns:   DIGBY_OK; the errors of digby_rtable_explain(); DIGBY_POISONED;
              DIGBY_NOMEM.
   Technique: the bounds are the seed store's Scanner's: with the
              equality prefix P packed, a range x > v starts at the tuple
              range of P+v's end (P+v+0xFF: 0xFF starts no tuple item),
              x >= v at P+v, x < v ends before P+v, x <= v before
              P+v+0xFF, and no bound ends before P+0xFF; NULLs (0x00) are
              skipped when a range bounds the column. */
DIGBY_API int digby_rscan_open(digby_rtable *rt, const digby_query *q,
                               digby_rscan **out);

/* Move to the next row of the scan.
   Returns:   DIGBY_OK (a row); DIGBY_NOTFOUND (no more rows: the end or
              the limit); DIGBY_INVALID (NULL scan); DIGBY_BADTXN (the
              table was dropped, or its schema changed since the scan
              began); DIGBY_POISONED; DIGBY_CORRUPT (a row or
              index entry that does not decode, an index entry without its
              row); DIGBY_NOFEATURE; DIGBY_IOERR (or DIGBY_FULL when a VFS's
              read reports it); DIGBY_NOMEM. */
DIGBY_API int digby_rscan_next(digby_rscan *scan);

/* The current row: ncolumns items in schema order.
   Ownership: the scan's, valid until it moves or closes.
   Returns:   DIGBY_OK; DIGBY_NOTFOUND (before the first row or after the
              last); DIGBY_INVALID (NULL argument). */
DIGBY_API int digby_rscan_row(digby_rscan *scan, const digby_tuple_item **row,
                              size_t *ncolumns);

/* End a scan and free it.  NULL is accepted. */
DIGBY_API void digby_rscan_close(digby_rscan *scan);
