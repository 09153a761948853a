/* The mbedTLS half of tests/openssl/ (see main.c): digby's default
   backend, DIGBY_STATIC, with the operations of backend.h. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define DIGBY_STATIC
#define DIGBY_IMPLEMENTATION
#include "digby.h"

#define XB_TABLE xb_mbed
#define XB_NAME "mbedtls"
#include "backend.h"
