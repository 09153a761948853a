/* What the fuzz programs share (fuzz_open.c, fuzz_ops.c, fuzz_mkcorpus.c):
   the fixed key of their encrypted files, where a target's real file goes
   and how it is let go, and the replay main.

   Replay (built with -DFUZZ_REPLAY instead of libFuzzer): each argument is
   an input file, run once through LLVMFuzzerTestOneInput; a failure aborts
   as under libFuzzer.  A target ends with

       #ifdef FUZZ_REPLAY
       FUZZ_REPLAY_MAIN("fuzz_open", "no failure")
       #endif

   and prints "<name>: <n> inputs replayed, <verdict>" at the end. */
#ifndef DIGBY_TORTURE_FUZZ_COMMON_H
#define DIGBY_TORTURE_FUZZ_COMMON_H

#include "digby.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h> /* getpid */

#if defined(__GNUC__) || defined(__clang__)
#define FUZZ_UNUSED __attribute__((unused))
#else
#define FUZZ_UNUSED
#endif

/* The key of every encrypted file: the seeds fuzz_mkcorpus.c writes must
   open with the key the targets use. */
FUZZ_UNUSED static const uint8_t fuzz_key[16] = {
    0x64, 0x69, 0x67, 0x62, 0x79, 0x2d, 0x66, 0x75,
    0x7a, 0x7a, 0x2d, 0x6b, 0x65, 0x79, 0x2d, 0x31
};

/* The path of a target's real file (for the memory-map modes): stem.<pid>
   .digby in $TMPDIR, else /tmp. */
FUZZ_UNUSED static void fuzz_map_path(char *path, size_t n, const char *stem)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(path, n, "%s/%s.%ld.digby", tmp && *tmp ? tmp : "/tmp", stem, (long)getpid());
}

/* The end of an input: the memory VFS freed, or (vfs NULL) the real file
   at path removed. */
FUZZ_UNUSED static void fuzz_release(digby_vfs *vfs, const char *path)
{
    if (vfs) digby_vfs_mem_destroy(vfs);
    else remove(path);
}

#ifdef FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_replay(int argc, char **argv, const char *name, const char *verdict)
{
    int i, n = 0;
    for (i = 1; i < argc; i++) {
        FILE *fp = fopen(argv[i], "rb");
        uint8_t *buf;
        long len;
        if (!fp) { perror(argv[i]); return 2; }
        fseek(fp, 0, SEEK_END);
        len = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        buf = (uint8_t *)malloc(len > 0 ? (size_t)len : 1);
        if (!buf || (len > 0 && fread(buf, 1, (size_t)len, fp) != (size_t)len)) {
            fprintf(stderr, "%s: read failed\n", argv[i]);
            return 2;
        }
        fclose(fp);
        LLVMFuzzerTestOneInput(buf, (size_t)len);
        free(buf);
        n++;
    }
    printf("%s: %d inputs replayed, %s\n", name, n, verdict);
    return 0;
}

#define FUZZ_REPLAY_MAIN(name, verdict)                                       \
    int main(int argc, char **argv) { return fuzz_replay(argc, argv, (name), (verdict)); }
#endif

#endif
