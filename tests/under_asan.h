/* tests/under_asan.h -- UNDER_ASAN: 1 when this program is built with
   AddressSanitizer (gcc's __SANITIZE_ADDRESS__, clang's
   __has_feature(address_sanitizer)), else 0.  The programs that shrink
   their runs under ASan use it: tests/model.c, and tests/crash.c and
   tests/torture/faults.c through tests/fault_vfs.h. */
#ifndef DIGBY_TESTS_UNDER_ASAN_H
#define DIGBY_TESTS_UNDER_ASAN_H

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#endif /* DIGBY_TESTS_UNDER_ASAN_H */
