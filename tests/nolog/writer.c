/* The full build's half of the nolog test (see main.c): writes files in
   log mode.  DIGBY_STATIC keeps this implementation apart from main.c's
   DIGBY_NO_LOG one in the same program. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define DIGBY_STATIC
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "nolog.h"

#include <stdio.h>
#include <string.h>

void *nolog_write(const char *path)
{
    digby_db *db;
    digby_options o;
    unsigned i;
    char k[16];
    memset(&o, 0, sizeof(o));
    o.flags = DIGBY_OPEN_LOG;
    if (digby_open(path, &o, &db) != DIGBY_OK) return NULL;
    for (i = 0; i < NOLOG_KEYS; i += 10) {
        digby_txn *w;
        unsigned j;
        int rc = digby_txn_begin(db, 0, &w);
        for (j = i; j < i + 10 && rc == DIGBY_OK; j++) {
            sprintf(k, "k%05u", j);
            rc = digby_txn_put(w, NULL, k, 6, k, 6, 0);
        }
        if (rc == DIGBY_OK) rc = digby_txn_commit(w);
        else digby_txn_abort(w);
        if (rc != DIGBY_OK) {
            digby_close(db);
            return NULL;
        }
    }
    return db;
}

int nolog_close(void *h)
{
    return digby_close((digby_db *)h);
}

int nolog_count(const char *path, unsigned *keys, unsigned *replayed)
{
    digby_db *db;
    digby_options o;
    digby_stats st;
    int rc;
    memset(&o, 0, sizeof(o));
    o.flags = DIGBY_OPEN_LOG;
    rc = digby_open(path, &o, &db);
    if (rc) return rc;
    rc = digby_stat(db, &st);
    *keys = (unsigned)st.entries;
    *replayed = (unsigned)st.replay_commits;
    if (rc == DIGBY_OK) rc = digby_check(db, NULL);
    if (rc == DIGBY_OK) rc = digby_close(db);
    else digby_close(db);
    return rc;
}
