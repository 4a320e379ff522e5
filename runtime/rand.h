/* rand — randomness from getrandom (falling back to rand() mixed with the
 * clock where there is no entropy source: ids stay unique enough): hex
 * tokens, UUIDs for lock ids and lineages, and the jitter of retries. */
#ifndef MK_RUNTIME_RAND_H
#define MK_RUNTIME_RAND_H

#include <stddef.h>

/* n random bytes as 2n lowercase hex digits plus NUL into out. */
void mk_rand_hex(char *out, size_t nbytes);
/* A uniformly random double in [0, 1). Thread-safe. */
double mk_rand_unit(void);
/* A random RFC 4122 version-4 UUID string (37 bytes with NUL). */
void mk_rand_uuid(char out[37]);

#endif
