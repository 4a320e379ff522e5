/* sha256 — SHA-256 as hex (OpenSSL), for the audit chain, plan digests,
 * damaged-lock ids and the providers' content hashes. */
#ifndef MK_RUNTIME_SHA256_H
#define MK_RUNTIME_SHA256_H

#include <stddef.h>

/* SHA-256 of data as 64 hex digits plus NUL. */
void mk_sha256_hex(const void *data, size_t n, char out[65]);
/* SHA-256 of n parts hashed one after another (part i: len[i] bytes at
 * data[i]), as hex: what one buffer of them all would hash to. */
void mk_sha256_hex_parts(size_t n, const void *const data[], const size_t len[], char out[65]);
/* The same digest as its 32 bytes: for sums of many digests, where
 * formatting each as hex would cost more than hashing it. */
void mk_sha256_parts(size_t n, const void *const data[], const size_t len[], unsigned char out[32]);

#endif
