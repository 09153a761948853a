// Compile check: digby.h, implementation included, as C++11
// (g++ -std=c++11 -Wall -Wextra -Werror), included twice like c99.c.
#include "digby.h"
#define DIGBY_IMPLEMENTATION
#include "digby.h"
#include "digby.h"

// The public functions keep C linkage.
extern "C" const char *digby_version(void);

const char *compile_check_cxx11(void);
const char *compile_check_cxx11(void) { return digby_version(); }
