/* Compile check: digby.h, implementation included, as strict C99 (gcc and
   clang: -std=c99 -Wall -Wextra -Wpedantic -Werror).  Also checks the guards:
   the header first without the implementation, then with it, then again
   (the once-guard must make the third include a no-op). */
#include "digby.h"
#include "digby.h"
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "digby.h"
