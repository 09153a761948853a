/* Compile check, part 1 of 2: a translation unit that only uses the API.
   Linked with two_tu_impl.o into build/compile/two_tu, which is run. */
#include <stdio.h>
#include <string.h>
#include "digby.h"

int main(void)
{
    const char *v = digby_version();
    if (v == NULL || strncmp(v, "digby ", 6) != 0 ||
        strstr(v, DIGBY_VERSION_STRING) == NULL) {
        printf("two_tu: unexpected digby_version(): %s\n", v ? v : "(null)");
        return 1;
    }
    printf("two_tu: %s\n", v);
    return 0;
}
