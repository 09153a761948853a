/* arena: see arena.h.  Blocks are laid out back to back from the start of
   the buffer, each with an 8-byte header: the block's size (header
   included, a multiple of 8) and the payload size asked for (0 = free).
   malloc takes the first free run of blocks that fits (merging neighbours
   as it walks) and splits off the rest; free marks the block free. */
#include "arena.h"

#include <string.h>

typedef struct blk {
    uint32_t bytes;  /* block size, header included */
    uint32_t used;   /* payload bytes asked for; 0 = free */
} blk;

#define HDR ((uint32_t)sizeof(blk))

static blk *at(const fw_arena *a, size_t off) { return (blk *)(void *)(a->base + off); }

void fw_arena_init(fw_arena *a, void *buf, size_t size)
{
    memset(a, 0, sizeof(*a));
    a->base = (uint8_t *)buf;
    a->size = size & ~(size_t)7;
    if (a->size > 0xFFFFFFF8u) a->size = 0xFFFFFFF8u;
    at(a, 0)->bytes = (uint32_t)a->size;
    at(a, 0)->used = 0;
}

void fw_arena_reset_peak(fw_arena *a)
{
    a->peak = a->in_use;
}

void *fw_arena_malloc(void *ctx, size_t n)
{
    fw_arena *a = (fw_arena *)ctx;
    size_t off = 0, need;
    if (n == 0) n = 1;
    if (n > a->size) { a->failures++; return NULL; }
    need = (n + HDR + 7) & ~(size_t)7;
    while (off < a->size) {
        blk *b = at(a, off);
        if (b->used == 0) {
            /* merge the free blocks that follow */
            while (off + b->bytes < a->size && at(a, off + b->bytes)->used == 0)
                b->bytes += at(a, off + b->bytes)->bytes;
            if (b->bytes >= need) {
                if (b->bytes - need >= HDR + 8) {
                    blk *rest = at(a, off + need);
                    rest->bytes = b->bytes - (uint32_t)need;
                    rest->used = 0;
                    b->bytes = (uint32_t)need;
                }
                b->used = (uint32_t)n;
                a->in_use += n;
                if (a->in_use > a->peak) a->peak = a->in_use;
                if (off + b->bytes > a->high_water) a->high_water = off + b->bytes;
                a->allocs++;
                return (uint8_t *)b + HDR;
            }
        }
        off += b->bytes;
    }
    a->failures++;
    return NULL;
}

void fw_arena_free(void *ctx, void *p)
{
    fw_arena *a = (fw_arena *)ctx;
    blk *b;
    if (!p) return;
    b = (blk *)(void *)((uint8_t *)p - HDR);
    a->in_use -= b->used;
    b->used = 0;
}

void *fw_arena_realloc(void *ctx, void *p, size_t n)
{
    fw_arena *a = (fw_arena *)ctx;
    blk *b;
    size_t off, need;
    void *q;
    if (!p) return fw_arena_malloc(ctx, n);
    if (n == 0) n = 1;
    b = (blk *)(void *)((uint8_t *)p - HDR);
    off = (size_t)((uint8_t *)b - a->base);
    need = (n + HDR + 7) & ~(size_t)7;
    /* grow or shrink in place when the following free blocks allow */
    while (off + b->bytes < a->size && at(a, off + b->bytes)->used == 0)
        b->bytes += at(a, off + b->bytes)->bytes;
    if (n <= a->size && b->bytes >= need) {
        if (b->bytes - need >= HDR + 8) {
            blk *rest = at(a, off + need);
            rest->bytes = b->bytes - (uint32_t)need;
            rest->used = 0;
            b->bytes = (uint32_t)need;
        }
        a->in_use = a->in_use - b->used + n;
        b->used = (uint32_t)n;
        if (a->in_use > a->peak) a->peak = a->in_use;
        if (off + b->bytes > a->high_water) a->high_water = off + b->bytes;
        a->allocs++;
        return p;
    }
    q = fw_arena_malloc(ctx, n);
    if (!q) return NULL;
    memcpy(q, p, b->used < n ? b->used : n);
    fw_arena_free(ctx, p);
    return q;
}
