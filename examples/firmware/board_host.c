/* board_host: the example's platform on a computer (stdio, exit). */
#include "board.h"

#include <stdio.h>
#include <stdlib.h>

void fw_puts(const char *s)
{
    fputs(s, stdout);
    fflush(stdout);
}

void fw_exit(int status)
{
    exit(status);
}
