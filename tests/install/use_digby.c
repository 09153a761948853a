/* use_digby.c -- a program of digby's user: make install-check builds it
   against the installed digby.h with nothing but pkg-config's flags for
   digby, and runs it.  It writes a key to FILE, reads it back and prints
   digby_version().  Exit status 0 when all went well. */

#define DIGBY_IMPLEMENTATION
#include <digby.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    digby_db *db = NULL;
    void *val = NULL;
    size_t n = 0;
    int rc, ok;

    if (argc != 2) {
        fputs("usage: use_digby FILE\n", stderr);
        return 2;
    }
    rc = digby_open(argv[1], NULL, &db);
    if (rc == DIGBY_OK)
        rc = digby_put(db, "installed", 9, "works", 5);
    if (rc == DIGBY_OK)
        rc = digby_get(db, "installed", 9, &val, &n, NULL);
    ok = rc == DIGBY_OK && n == 5 && memcmp(val, "works", 5) == 0;
    if (db) {
        digby_free(db, val);
        if (digby_close(db) != DIGBY_OK)
            ok = 0;
    }
    if (!ok) {
        fprintf(stderr, "use_digby: %s: %s\n", argv[1],
                rc != DIGBY_OK ? digby_strerror(rc) : "read back wrong");
        return 1;
    }
    printf("%s\n", digby_version());
    return 0;
}
