/* Compile check, part 2 of 2: the translation unit with the implementation.
   It includes the header first without DIGBY_IMPLEMENTATION, as a real
   project's shared header might, then with it. */
#include "digby.h"
#define DIGBY_IMPLEMENTATION
#include "digby.h"
