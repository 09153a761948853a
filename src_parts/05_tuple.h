/* The tuple codec: FoundationDB's tuple-layer encoding, order-preserving keys.

   A tuple is a list of typed items (null, byte string, UTF-8 string,
   integer, double, bool, UUID, nested tuple).  digby_tuple_pack() turns one
   into bytes such that comparing two encodings with memcmp (shorter first on
   a common prefix) gives the same order as comparing the tuples item by item
   with digby_tuple_compare().  Pure functions: no database, no allocation,
   no global state; every function may run on any thread at any time.

   Technique: the FoundationDB tuple layer, as specified in design/tuple.md
   of github.com/apple/foundationdb, revision
   8d7fadc5f900d98602b0086b98672f28feeb646f (the last commit to that file,
   February 2026), byte for byte.  Type codes digby writes and reads:
     0x00        null (inside a nested tuple: 0x00 0xFF)
     0x01        byte string: 0x01, the bytes with each 0x00 written as
                 0x00 0xFF, then 0x00
     0x02        UTF-8 string: as 0x01, over its UTF-8 bytes
     0x05        nested tuple: 0x05, the items, then 0x00
     0x0C..0x1C  integer: 0x14 is zero; 0x14+n is a positive integer in n
                 big-endian bytes, 0x14-n a negative one in n bytes of the
                 big-endian one's complement (-1 is 0x13 0xFE); n = 1..8,
                 the fewest bytes that hold the magnitude
     0x21        double: the 8 big-endian IEEE 754 bytes, all bits inverted
                 when the sign bit is set, else only the sign bit
     0x26, 0x27  false, true
     0x30        UUID: 16 bytes as given (RFC 4122 network byte order)
   What digby leaves out, on purpose: every other code of the spec (0x0B and
   0x1D integers longer than 8 bytes, 0x20 float, 0x33 versionstamp, the
   reserved and user codes) and integers that need 8 bytes but lie outside
   INT64_MIN .. UINT64_MAX (code 0x0C below INT64_MIN).  digby_tuple_unpack()
   rejects them with DIGBY_INVALID, so every tuple it accepts is one
   digby_tuple_pack() writes the same bytes for (encodings are canonical).
   Stricter than FoundationDB's Python binding and the npm package fdb-tuple,
   which decode a byte string missing its final 0x00 and integers with a
   leading zero byte (and fdb-tuple also malformed UTF-8, as U+FFFD, and
   truncated doubles and UUIDs): digby rejects all of these.  On every
   valid encoding they and digby agree (tests/tuple_vectors/).

   Order (the spec's, which digby_tuple_compare() implements): items compare
   in turn, and a tuple that is a prefix of another sorts first.  Items of
   different kinds sort by type code: null < bytes < string < nested <
   integers < doubles < false < true < UUID.  Integers (DIGBY_TUPLE_INT and
   DIGBY_TUPLE_UINT alike) by value; bytes and strings by unsigned bytes
   (for UTF-8: by code point); nested tuples as tuples; doubles by the IEEE
   754 total order: negative NaNs, -inf, negatives, -0.0, +0.0, positives,
   +inf, positive NaNs (NaNs among themselves by their bits). */

/* Nested tuples may sit inside each other this deep: a chain of up to 32
   DIGBY_TUPLE_NESTED items is accepted, the 33rd is DIGBY_INVALID. */
#define DIGBY_TUPLE_MAX_DEPTH 32

typedef enum digby_tuple_type {
    DIGBY_TUPLE_NULL   = 0,
    DIGBY_TUPLE_BYTES  = 1,  /* v.s: byte string */
    DIGBY_TUPLE_STRING = 2,  /* v.s: UTF-8 (validated on pack and unpack), not NUL-terminated */
    DIGBY_TUPLE_NESTED = 3,  /* v.nested: items of a nested tuple */
    DIGBY_TUPLE_INT    = 4,  /* v.i: signed 64-bit */
    DIGBY_TUPLE_UINT   = 5,  /* v.u: unsigned 64-bit; unpack gives UINT only for values > INT64_MAX */
    DIGBY_TUPLE_DOUBLE = 6,  /* v.d */
    DIGBY_TUPLE_BOOL   = 7,  /* v.b: 0 or 1 */
    DIGBY_TUPLE_UUID   = 8   /* v.uuid: 16 bytes */
} digby_tuple_type;

/* One item of a tuple.  v.s.ptr may be NULL only when v.s.len is 0;
   v.nested.items may be NULL only when v.nested.count is 0.  A string is
   well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
   above U+10FFFF); it may hold U+0000. */
typedef struct digby_tuple_item {
    digby_tuple_type type;
    union {
        int64_t i; uint64_t u; double d; int b;
        struct { const void *ptr; size_t len; } s;
        struct { const struct digby_tuple_item *items; size_t count; } nested;
        uint8_t uuid[16];
    } v;
} digby_tuple_item;

/* Encode a tuple.
   Params:    items (in): count items (NULL only when count is 0).
              buf (out): buf[0 .. cap) receives the encoding; may be NULL
                         when cap is 0, to measure.
              len (out, required): the encoding's length in bytes, set
                         whenever the items are valid, also when cap is too
                         small (SIZE_MAX if the length does not fit size_t);
                         0 on DIGBY_INVALID.  The measuring call (NULL, 0)
                         returns DIGBY_TOOBIG like any cap below *len
                         (DIGBY_OK only for the empty encoding): one rule,
                         as in digby_tuple_unpack().
              A DIGBY_TUPLE_UINT value up to INT64_MAX is written as the
              same integer (unpack gives it back as DIGBY_TUPLE_INT).
              Doubles are written bit for bit (NaN payloads and -0.0 kept).
   Ownership: nothing is kept; buf is only written (and only on DIGBY_OK).
   Returns:   DIGBY_OK;
              DIGBY_INVALID (len NULL; items NULL with count > 0; buf NULL
              with cap > 0; an unknown type; a bool other than 0 or 1;
              bytes or string with NULL ptr and len > 0; a string that is
              not well-formed UTF-8; nested items NULL with count > 0;
              nesting deeper than DIGBY_TUPLE_MAX_DEPTH);
              DIGBY_TOOBIG (cap < *len; buf is not written).
   Technique: FoundationDB tuple layer, design/tuple.md (revision above). */
DIGBY_API int digby_tuple_pack(const digby_tuple_item *items, size_t count,
                               void *buf, size_t cap, size_t *len);

/* Decode a whole packed tuple.
   Params:    buf/len (in): the encoding, len bytes (buf may be NULL when
                         len is 0: the empty tuple).
              items (out): items[0 .. max_items); the top-level items go to
                         items[0 .. *count), each nested tuple's items to a
                         block of their own after them (v.nested.items
                         points there).  May be NULL when max_items is 0.
              count (out, required): the number of top-level items.
              arena (out): arena[0 .. arena_cap) receives the contents of
                         byte strings and strings holding a 0x00 byte
                         (escaped in the encoding).  May be NULL when
                         arena_cap is 0.
              items_needed (out, may be NULL): items the whole tuple needs
                         (top-level and nested).
              arena_needed (out, may be NULL): arena bytes it needs: the
                         sum of the lengths of the strings and byte strings
                         that hold a 0x00 byte.
              On DIGBY_OK and DIGBY_TOOBIG, *count, *items_needed and
              *arena_needed are set; on DIGBY_INVALID they are 0.  On
              DIGBY_TOOBIG neither items nor arena is written.
   Ownership: a string or byte string without a 0x00 byte points into buf,
              one with a 0x00 byte into arena: buf, arena and items must
              all outlive the use of the decoded items.  Nothing else is
              kept or allocated.
   Returns:   DIGBY_OK;
              DIGBY_INVALID (count NULL; buf NULL with len > 0; items NULL
              with max_items > 0; arena NULL with arena_cap > 0; malformed
              encoding: a type code digby does not read (see above),
              a truncated item, a byte string, string or nested tuple
              without its 0x00 end, 0x00 0xFF at the top level (that is
              null followed by type code 0xFF), malformed UTF-8, an integer
              not in the fewest bytes (its first byte 0x00 for a positive
              or 0xFF for a negative one: it would sort out of order), an
              integer below INT64_MIN, nesting deeper than
              DIGBY_TUPLE_MAX_DEPTH);
              DIGBY_TOOBIG (max_items < *items_needed or arena_cap <
              *arena_needed; nothing else is wrong: retry with the sizes
              reported).
   Technique: FoundationDB tuple layer, design/tuple.md (revision above). */
DIGBY_API int digby_tuple_unpack(const void *buf, size_t len,
                                 digby_tuple_item *items, size_t max_items,
                                 size_t *count, void *arena, size_t arena_cap,
                                 size_t *items_needed, size_t *arena_needed);

/* Compare two tuples in the order their encodings sort in (see the order
   above): the sign of memcmp over digby_tuple_pack()'s bytes, a shorter
   encoding first when it is a prefix of the other, for every pair of valid
   tuples.  Nothing is allocated; runs in O(items) without packing.
   Params:    a/na, b/nb (in): the two tuples (NULL only with count 0).
   Invalid input never crashes and gets a fixed answer: a NULL items array
   or contents pointer counts as empty, an unknown type sorts after every
   known one (by its number), a bool compares as 0 or nonzero, and the
   first pair of nested tuples deeper than DIGBY_TUPLE_MAX_DEPTH ends the
   comparison: the tuples compare equal (so a tuple that contains itself
   costs at most DIGBY_TUPLE_MAX_DEPTH levels, never 2^depth steps).
   Returns:   <0 if a sorts before b, 0 if equal, >0 if after (no error
              code; the sign only, not always -1/+1).
   Technique: FoundationDB tuple layer order, design/tuple.md; the IEEE 754
              totalOrder predicate (IEEE 754-2008 5.10) for doubles. */
DIGBY_API int digby_tuple_compare(const digby_tuple_item *a, size_t na,
                                  const digby_tuple_item *b, size_t nb);

/* The key range [lo, hi) holding every tuple that strictly extends the
   packed prefix: lo = prefix + 0x00, hi = prefix + 0xFF, as the
   FoundationDB tuple layer's range() (every item starts with a type code
   below 0xFF).  The prefix itself is outside the range.
   Params:    prefix/prefix_len (in): a packed tuple (not checked: any
                         bytes are accepted; NULL only when prefix_len is
                         0).
              lo, hi (out): caller buffers of at least prefix_len + 1
                         bytes each; both get prefix_len + 1 bytes.
   Ownership: nothing is kept.
   Returns:   DIGBY_OK; DIGBY_INVALID (lo or hi NULL, prefix NULL with
              prefix_len > 0, prefix_len + 1 overflows size_t).
   Technique: FoundationDB tuple layer, Tuple.range(). */
DIGBY_API int digby_tuple_range(const void *prefix, size_t prefix_len,
                                void *lo, void *hi);
