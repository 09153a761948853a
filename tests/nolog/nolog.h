/* Shared by tests/nolog/main.c and writer.c. */
#define NOLOG_KEYS 300u

/* The full build (writer.c): a handle in log mode on a new file at path,
   holding NOLOG_KEYS committed keys ("k00000"...) in its log; NULL on
   failure. */
void *nolog_write(const char *path);
/* ... closed cleanly (its checkpoint leaves no log). */
int nolog_close(void *h);
/* The full build opens path in log mode: *keys the keys it finds, *replayed
   the commits its open replayed from a live log. */
int nolog_count(const char *path, unsigned *keys, unsigned *replayed);
