/* seal — the planner's side of sealing secrets to the executor
 * (docs/trust.md, "Sealing secrets to the executor" and "Fingerprints
 * without a shared key"): the executor's X25519 public key read from
 * MOKSHA_SEAL_TO, a secret sealed to it (a fresh X25519 key, HKDF-SHA256,
 * AES-256-GCM) bound to the resource's address and the attribute's path, and
 * the trust-mode fingerprint under the state's fingerprint_key.
 *
 * It seals and never opens: only the executor holds the private key, and
 * its opening side is its own (runtime/). The project key's sealing, for a
 * stack with no trust set up, stays key.c's. Strings returned are malloc'd
 * through mk_mem (the caller frees them with mk_mem_free). */
#ifndef MK_SEAL_H
#define MK_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler/base/key.h"

/* A public key's text: "x25519:" and the base64 of its 32 bytes. */
#define MK_SEAL_PREFIX "x25519:"

/* The 32 bytes of a key text (surrounding blanks ignored); false when it is
 * not one. */
bool mk_seal_parse_pub(const char *text, size_t n, uint8_t pub[32]);
/* MOKSHA_SEAL_TO's value, the key text or a file (the executor's seal.pub)
 * whose first word is, into k's seal_to, seal_to_id (the key's id, as every
 * key's: mk_sign_id) and has_seal_to. False
 * with a message in err when it is neither, or not a key one can seal to. */
bool mk_seal_to_load(mk_key *k, const char *value, char *err, size_t errlen);
/* text sealed to the public key to, for address and path (the attribute's
 * path as compact JSON, `["env","DB_PASSWORD"]`): base64 of the fresh
 * public key, the nonce, the ciphertext and the tag. */
char *mk_seal_seal(const uint8_t to[32], const char *address, const char *path, const void *text, size_t n);
/* The same with the fresh key's private half and the nonce given: the
 * known-answer form, for tests that pin the bytes both sides must agree on. */
char *mk_seal_seal_with(const uint8_t to[32], const uint8_t eph_private[32], const uint8_t nonce[12],
                        const char *address, const char *path, const void *text, size_t n);
/* hex(HMAC-SHA256(key, "moksha-fingerprint/v1" 0 address 0 path 0 text)). */
void mk_seal_fingerprint(const uint8_t key[32], const char *address, const char *path, const void *text, size_t n,
                         char out[65]);

#endif
