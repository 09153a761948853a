/* arena: a first-fit allocator over one fixed buffer, for digby's allocator
   hooks on a device without a heap.  It also measures: bytes in use now and
   at most (what the library asked for) and the high-water mark (how much of
   the buffer was ever touched, headers and fragmentation included: the
   smallest buffer this run could have used). */
#ifndef FW_ARENA_H
#define FW_ARENA_H

#include <stddef.h>
#include <stdint.h>

typedef struct fw_arena {
    uint8_t *base;
    size_t size;            /* bytes in the buffer */
    size_t in_use;          /* payload bytes allocated now */
    size_t peak;            /* most payload bytes allocated at once */
    size_t high_water;      /* highest buffer offset ever allocated */
    unsigned long allocs;   /* successful malloc/realloc calls */
    unsigned long failures; /* requests that did not fit */
} fw_arena;

/* `buf` must be 8-byte aligned; `size` at least 16 bytes. */
void fw_arena_init(fw_arena *a, void *buf, size_t size);
void fw_arena_reset_peak(fw_arena *a);

/* The digby_allocator hooks; ctx is the fw_arena. */
void *fw_arena_malloc(void *ctx, size_t n);
void *fw_arena_realloc(void *ctx, void *p, size_t n);
void fw_arena_free(void *ctx, void *p);

#endif
