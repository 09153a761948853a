/* board_mps2: start-up code for a Cortex-M4 with no operating system, and
   console output through Arm semihosting.  Made for QEMU's mps2-an386
   board (-semihosting); on a real board replace fw_puts/fw_exit (a
   semihosting BKPT without a debugger attached stops the core).

   Reset: copy .data from flash, zero .bss, call main, stop with its
   status.  The vector table holds the initial stack pointer, the reset
   handler, and a handler for every fault that reports and stops. */
#include "board.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);
void fw_reset(void);
void fw_fault(void);

/* Arm semihosting: operation in r0, argument in r1, BKPT 0xAB. */
static int semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

#define SYS_WRITE0 0x04
#define SYS_EXIT 0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u /* QEMU exits with status 0 */
#define ADP_STOPPED_RUN_TIME_ERROR 0x20023u   /* QEMU exits with status 1 */

void fw_puts(const char *s)
{
    semihost(SYS_WRITE0, s);
}

void fw_exit(int status)
{
    uintptr_t why = status == 0 ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUN_TIME_ERROR;
    semihost(SYS_EXIT, (const void *)why);
    for (;;) {}
}

void fw_reset(void)
{
    const uint32_t *src = &_sidata;
    uint32_t *dst;
    for (dst = &_sdata; dst < &_edata; dst++) *dst = *src++;
    for (dst = &_sbss; dst < &_ebss; dst++) *dst = 0;
    fw_exit(main());
}

/* No C library heap.  newlib-nano's printf family links malloc (for the
   growing buffers of asprintf) without calling it for vsnprintf; should
   anything call it, it gets NULL: all memory is the arena's. */
void *_sbrk(ptrdiff_t incr);
void *_sbrk(ptrdiff_t incr)
{
    (void)incr;
    errno = ENOMEM;
    return (void *)-1;
}

void fw_fault(void)
{
    fw_puts("fault: stopped\n");
    fw_exit(3);
}

/* The vector table: the initial stack pointer, then the handlers. */
typedef void (*fw_vector)(void);

typedef struct fw_vector_table {
    void *initial_sp;
    fw_vector handler[15];
} fw_vector_table;

__attribute__((section(".isr_vector"), used))
const fw_vector_table fw_vectors = {
    &_estack,
    {
        fw_reset,
        fw_fault, /* NMI */
        fw_fault, /* HardFault */
        fw_fault, /* MemManage */
        fw_fault, /* BusFault */
        fw_fault, /* UsageFault */
        0, 0, 0, 0,
        fw_fault, /* SVCall */
        fw_fault, /* DebugMonitor */
        0,
        fw_fault, /* PendSV */
        fw_fault  /* SysTick */
    }
};
