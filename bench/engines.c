/* engines.c -- the table of engines, by engine index, and the adapters'
 * error text.  Each entry is defined by the object bench/Makefile links in
 * for it: the engine's adapter (engine_digby.c, always; engine_digby_openssl.c
 * and engine_lmdb.c etc. when built in) or, for one left out,
 * engine_absent.c's entry that says so.
 */
#include "bench.h"

#include <stdarg.h>

/* Thread-local error text: every adapter call that fails writes here. */
__thread char t_err[512];

void set_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t_err, sizeof t_err, fmt, ap);
    va_end(ap);
}

int set_rc_err(const char *what, const char *msg, int rc)
{
    set_err("%s: %s (rc %d)", what, msg, rc);
    return -1;
}

const engine_t *const engines[NENGINES] = {
    [E_DIGBY] = &engine_digby,
    [E_DIGBY_CACHE] = &engine_digby_cache,
    [E_DIGBY_ENC] = &engine_digby_enc,
    [E_DIGBY_ENC_OSSL] = &engine_digby_enc_openssl,
    [E_DIGBY_LOG] = &engine_digby_log,
    [E_LMDB] = &engine_lmdb,
    [E_SQLITE] = &engine_sqlite,
    [E_LEVELDB] = &engine_leveldb,
    [E_ROCKSDB] = &engine_rocksdb,
};

int engine_names(char *buf, size_t n, int avail)
{
    int e, k = 0;
    size_t len = 0;
    buf[0] = 0;
    for (e = 0; e < NENGINES; e++) {
        if ((engines[e]->missing == NULL) != avail) continue;
        if (len < n) len += (size_t)snprintf(buf + len, n - len, "%s%s", k ? ", " : "", engines[e]->name);
        k++;
    }
    return k;
}
