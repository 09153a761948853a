/* board: what the example needs from the platform.  board_mps2.c provides
   it on the Cortex-M4 board (QEMU's mps2-an386, through semihosting);
   board_host.c on a computer, so the same program runs in the host's
   tests. */
#ifndef FW_BOARD_H
#define FW_BOARD_H

void fw_puts(const char *s);  /* write a string to the console */
void fw_exit(int status);     /* stop; 0 means success */

#endif
