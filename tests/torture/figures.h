/* What the torture programs share for their figure rows. */
#ifndef DIGBY_TORTURE_FIGURES_H
#define DIGBY_TORTURE_FIGURES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* v in decimal with thousands separators ("1,473"), in buf of n bytes. */
static void fmt(char *buf, size_t n, uint64_t v)
{
    char tmp[32];
    int len, i, j = 0;
    len = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    for (i = 0; i < len && (size_t)j + 2 < n; i++) {
        if (i && (len - i) % 3 == 0) buf[j++] = ',';
        buf[j++] = tmp[i];
    }
    buf[j] = 0;
}

#endif
