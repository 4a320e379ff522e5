/* sha256 — SHA-256 as hex (OpenSSL): the audit chain, plan digests, lock
 * damage ids and the providers' content hashes. */
#include "runtime/sha256.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>

static void hex(const uint8_t d[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

void mk_sha256_hex(const void *data, size_t n, char out[65])
{
    uint8_t d[32];
    SHA256(data, n, d);
    hex(d, out);
}

void mk_sha256_parts(size_t n, const void *const data[], const size_t len[], unsigned char out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (size_t i = 0; i < n; i++)
        EVP_DigestUpdate(md, data[i], len[i]);
    unsigned int dn = 32;
    EVP_DigestFinal_ex(md, out, &dn);
    EVP_MD_CTX_free(md);
}

void mk_sha256_hex_parts(size_t n, const void *const data[], const size_t len[], char out[65])
{
    uint8_t d[32];
    mk_sha256_parts(n, data, len, d);
    hex(d, out);
}
