/* Shared by tests/nolz4/main.c and writer.c. */
#define NOLZ4_RAW_BYTES 100000u
#define NOLZ4_LZ4_BYTES 300000u
#define NOLZ4_NBIG 24u
#define NOLZ4_CKEY_BYTES 20000u

int nolz4_write(const char *path);
void nolz4_key(unsigned char *k, size_t n, unsigned variant);
unsigned char nolz4_byte(size_t j);
