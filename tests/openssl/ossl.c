/* The OpenSSL half of tests/openssl/ (see main.c): DIGBY_CRYPTO_OPENSSL,
   DIGBY_STATIC, with the operations of backend.h. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define DIGBY_CRYPTO_OPENSSL
#define DIGBY_STATIC
#define DIGBY_IMPLEMENTATION
#include "digby.h"

#define XB_TABLE xb_ossl
#define XB_NAME "openssl"
#include "backend.h"
