/* digby -- an embedded, crash-safe key-value store in one header.

   Use:  in exactly ONE .c file of your project write

           #define DIGBY_IMPLEMENTATION
           #include "digby.h"

         and include "digby.h" without the define everywhere else.
         The implementation needs the system's xxhash.h (Debian: libxxhash-dev),
         lz4.h (liblz4-dev; link -llz4) unless DIGBY_NO_LZ4, and mbedTLS
         (libmbedtls-dev; link -lmbedcrypto) unless DIGBY_NO_CRYPTO, or
         instead OpenSSL 3 (libssl-dev; link -lcrypto) with
         DIGBY_CRYPTO_OPENSSL.

   What it is: a copy-on-write (shadow-paging) B+ tree in a single file.  A
   commit writes its new pages and one of two meta pages, then syncs once;
   open verifies every page the newest commit wrote and falls back to the
   commit before if one did not reach the disk, so there is no recovery
   step.  (The first commit after an open syncs twice: its pages, then its
   meta page.)  One writer and any number of concurrent readers, each on a
   stable snapshot.  See README.md and FORMAT.md.

   Build switches.  "where" says where a switch must be defined: "impl":
   before the #include in the one file that defines DIGBY_IMPLEMENTATION
   (the other files never look at it); "every": the same before every
   #include of digby.h (or once on the compiler's command line).

   | switch               | effect                                     | default  | where |
   |----------------------|--------------------------------------------|----------|-------|
   | DIGBY_IMPLEMENTATION | compile the implementation into this file  | off      | impl  |
   | DIGBY_STATIC         | make every public function static (the     | off      | every |
   |                      | implementation and its users in one file)  |          |       |
   | DIGBY_API            | decoration of every public declaration     | extern   | every |
   | DIGBY_MALLOC/REALLOC/FREE | default allocator (all three or none) | libc     | impl  |
   | DIGBY_ASSERT(x)      | internal invariant check                   | assert() | impl  |
   | DIGBY_NO_THREADS     | no mutexes (pthreads; SRW locks on         | off      | impl  |
   |                      | Windows): one thread uses the library      |          |       |
   | DIGBY_NO_POSIX       | no operating system: leave out the POSIX   | off      | impl  |
   |                      | (or Win32) VFS and every OS call; pass a   |          |       |
   |                      | VFS in digby_options (digby_vfs_mem_create |          |       |
   |                      | or yours).  With DIGBY_NO_THREADS: bare    |          |       |
   |                      | metal, C library only (string.h, stdlib.h; |          |       |
   |                      | stdio.h's snprintf)                        |          |       |
   | DIGBY_NO_MMAP        | leave out mmap: every read goes            | off      | impl  |
   |                      | through the cache, as it does anyway where |          |       |
   |                      | the system has no mmap or on 32 bits       |          |       |
   | DIGBY_NO_LZ4         | no lz4: nothing is compressed; a file's    | off      | impl  |
   |                      | compressed items read as DIGBY_NOFEATURE   |          |       |
   | DIGBY_NO_CRYPTO      | no mbedTLS: no encryption; encrypted files | off      | impl  |
   |                      | and keys are refused with DIGBY_NOFEATURE  |          |       |
   | DIGBY_NO_LOG         | leave out log mode (the write-ahead log,   | off      | impl  |
   |                      | memtable, merged cursors, checkpoints;     |          |       |
   |                      | about 9.5 KB of Cortex-M4 code): every     |          |       |
   |                      | open is copy-on-write; DIGBY_OPEN_LOG, and |          |       |
   |                      | a file whose meta page names a live log    |          |       |
   |                      | (a log-mode handle that did not close),    |          |       |
   |                      | are DIGBY_NOFEATURE.  For bare metal;      |          |       |
   |                      | DIGBY_NO_POSIX alone keeps the code        |          |       |
   | DIGBY_LOG_DEFAULT    | log mode when the options ask for neither  | off      | impl  |
   |                      | DIGBY_OPEN_LOG nor DIGBY_OPEN_NO_LOG       |          |       |
   | DIGBY_CRYPTO_OPENSSL | OpenSSL 3's libcrypto (-lcrypto) instead   | off      | impl  |
   |                      | of mbedTLS for every primitive: AES-GCM,   | (mbedTLS)|       |
   |                      | key wrap, PBKDF2, HMAC, SHA-256, random    |          |       |
   |                      | source (RAND_bytes; with an entropy        |          |       |
   |                      | callback a CTR_DRBG seeded from it).  Same |          |       |
   |                      | file format: each reads the other's files. |          |       |
   |                      | Not with DIGBY_NO_CRYPTO                   |          |       |
   | DIGBY_DEBUG          | every commit first walks the pages it is   | off      | impl  |
   |                      | about to write as digby_check would (page  |          |       |
   |                      | structure, key order, separators, txids,   |          |       |
   |                      | large keys) and fails with DIGBY_CORRUPT,  |          |       |
   |                      | writing nothing, if one is wrong (bbolt's  |          |       |
   |                      | StrictMode checks after its commit);       |          |       |
   |                      | DIGBY__NEVER conditions assert.  Slower:   |          |       |
   |                      | for tests and development                  |          |       |
   | DIGBY_FUZZ_NO_CHECKSUM | tests only: plain pages' checksums are   | off      | impl  |
   |                      | not verified, so that a fuzzer's changes   |          |       |
   |                      | reach the page decoders; never ship it     |          |       |
*/
