/* ramvfs: a digby VFS over one fixed block of memory, the way a device
   keeps its database in battery-backed SRAM or a memory-mapped flash
   partition.  One file (every path names it), no heap: the file objects
   come from a small static table.  A write past the block's end is
   DIGBY_FULL.  The contents survive digby_close() and a reopen, so the
   example can "reboot" and find its data. */
#ifndef FW_RAMVFS_H
#define FW_RAMVFS_H

#include <stddef.h>
#include <stdint.h>
#include "digby.h"

#define FW_RAMVFS_MAX_OPEN 4

typedef struct fw_ramfile {
    struct fw_ramvfs *owner;
    int open;
    int readonly;
    int lock;
} fw_ramfile;

typedef struct fw_ramvfs {
    digby_vfs vfs;          /* first: what digby_options.vfs points to */
    uint8_t *mem;
    size_t capacity;        /* bytes in mem */
    size_t size;            /* the file's size */
    int exists;
    unsigned long writes, syncs;
    fw_ramfile files[FW_RAMVFS_MAX_OPEN];
} fw_ramvfs;

void fw_ramvfs_init(fw_ramvfs *r, void *mem, size_t capacity);

#endif
