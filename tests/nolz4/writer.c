/* The full build's half of the nolz4 test (see main.c): writes a file with
   compressed and uncompressed values and large keys.  DIGBY_STATIC keeps
   this implementation apart from main.c's DIGBY_NO_LZ4 one in the same
   program. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define DIGBY_STATIC
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "nolz4.h"

#include <stdlib.h>
#include <string.h>

void nolz4_key(unsigned char *k, size_t n, unsigned variant)
{
    size_t i;
    for (i = 0; i < n; i++) k[i] = (unsigned char)(i < 230 ? 'L' : 'a' + (i * 7 + variant) % 3);
    k[n - 1] = (unsigned char)variant;
}

unsigned char nolz4_byte(size_t j)
{
    return (unsigned char)("compressible"[(j / 8) % 12]);
}

int nolz4_write(const char *path)
{
    digby_db *db;
    digby_txn *w;
    digby_options o;
    unsigned char *v = (unsigned char *)malloc(NOLZ4_LZ4_BYTES), *k = (unsigned char *)malloc(30000);
    unsigned i;
    int rc;
    if (!v || !k) return DIGBY_NOMEM;
    for (i = 0; i < NOLZ4_LZ4_BYTES; i++) v[i] = nolz4_byte(i);
    memset(&o, 0, sizeof(o));
    o.page_size = 4096;
    o.flags = DIGBY_OPEN_NO_SYNC;
    rc = digby_open(path, &o, &db);
    if (rc == DIGBY_OK) rc = digby_txn_begin(db, 0, &w);
    if (rc == DIGBY_OK) {
        rc = digby_txn_put(w, NULL, "plain", 5, "value", 5, 0);
        if (rc == DIGBY_OK) rc = digby_txn_put(w, NULL, "raw", 3, v, NOLZ4_RAW_BYTES, 0);
        if (rc == DIGBY_OK)
            rc = digby_txn_put(w, NULL, "lz4", 3, v, NOLZ4_LZ4_BYTES, DIGBY_PUT_COMPRESS);
        /* large keys that tie on their first 230 bytes, uncompressed */
        for (i = 0; i < NOLZ4_NBIG && rc == DIGBY_OK; i++) {
            nolz4_key(k, 2000 + 100 * i, i);
            rc = digby_txn_put(w, NULL, k, 2000 + 100 * i, &i, sizeof(i), 0);
        }
        /* one compressed large key, in a family of its own (keys next to
           it are told apart by their first bytes) */
        if (rc == DIGBY_OK) {
            nolz4_key(k, NOLZ4_CKEY_BYTES, 200);
            memset(k, 'M', NOLZ4_CKEY_BYTES - 1);
            rc = digby_txn_put(w, NULL, k, NOLZ4_CKEY_BYTES, "ck", 2, DIGBY_PUT_COMPRESS);
        }
        if (rc == DIGBY_OK) rc = digby_txn_commit(w);
        else digby_txn_abort(w);
    }
    if (rc == DIGBY_OK) {
        digby_stats st;
        rc = digby_stat(db, &st);
        if (rc == DIGBY_OK && st.entries != 4 + NOLZ4_NBIG) rc = DIGBY_CORRUPT;
    }
    digby_close(db);
    free(v);
    free(k);
    return rc;
}
