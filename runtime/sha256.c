/* sha256 — SHA-256 as hex (OpenSSL): the audit chain, plan digests, lock
 * damage ids and the providers' content hashes. */
#include "runtime/sha256.h"

#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>

void mk_sha256_hex(const void *data, size_t n, char out[65])
{
    uint8_t d[32];
    SHA256(data, n, d);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}
