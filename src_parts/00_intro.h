/* digby -- an embedded, crash-safe key-value store in one header.

   Use:  in exactly ONE .c file of your project write

           #define DIGBY_IMPLEMENTATION
           #include "digby.h"

         and include "digby.h" without the define everywhere else.
         The implementation needs the system's xxhash.h (Debian: libxxhash-dev),
         lz4.h (liblz4-dev; link -llz4) unless DIGBY_NO_LZ4, and mbedTLS
         (libmbedtls-dev; link -lmbedcrypto) unless DIGBY_NO_CRYPTO.

   What it is: a copy-on-write (shadow-paging) B+ tree in a single file.  A
   commit writes new pages, syncs, then writes one of two meta pages and syncs
   again; there is no recovery step after a crash.  One writer and any number of
   concurrent readers, each on a stable snapshot.  See README.md and FORMAT.md.

   Build switches (define before including the implementation):

   | switch               | effect                                          | default      |
   |----------------------|-------------------------------------------------|--------------|
   | DIGBY_IMPLEMENTATION | compile the implementation into this TU         | off          |
   | DIGBY_STATIC         | make every public function static               | off          |
   | DIGBY_API            | decoration of every public declaration          | extern       |
   | DIGBY_MALLOC/REALLOC/FREE | default allocator (all three or none)      | libc         |
   | DIGBY_ASSERT(x)      | internal invariant check                        | assert()     |
   | DIGBY_NO_THREADS     | no mutexes (pthreads; SRW locks on Windows):    | off          |
   |                      | one thread uses the library                     |              |
   | DIGBY_NO_POSIX       | no operating system: leave out the POSIX (or    | off          |
   |                      | Win32) VFS and every OS call; pass a VFS in     |              |
   |                      | digby_options (digby_vfs_mem_create or yours).  |              |
   |                      | With DIGBY_NO_THREADS: bare metal, C library    |              |
   |                      | only (string.h, stdlib.h; stdio.h's snprintf)   |              |
   | DIGBY_NO_LZ4         | no lz4: nothing is compressed; a file's         | off          |
   |                      | compressed items read as DIGBY_NOFEATURE        |              |
   | DIGBY_NO_CRYPTO      | no mbedTLS: no encryption; encrypted files and  | off          |
   |                      | keys are refused with DIGBY_NOFEATURE           |              |
   | DIGBY_DEBUG          | extra internal checks                           | off          |
*/
