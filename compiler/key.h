/* key — the project key and what is done with it: signing plans
 * (HMAC-SHA256), sealing secrets (AES-256-GCM) and fingerprinting secret
 * values so a plan can compare them without storing them.
 *
 * The key comes from MOKSHA_KEY, else from .moksha/key, which is created
 * with mode 0600 on first use (32 random bytes, hex). Two sub-keys are
 * derived from it, one to sign and one to seal, so neither use weakens the
 * other. The format is the same on the runtime side; see docs/formats.md. */
#ifndef MK_KEY_H
#define MK_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mk_key {
    uint8_t sign[32], seal[32];
    char id[17];          /* hex of the first 8 bytes of SHA-256(sign key): names the key, reveals nothing */
    const char *source;   /* "MOKSHA_KEY" or the key file's path */
} mk_key;

/* Load the key; with create, make .moksha/key when there is none. On
 * failure returns false with a message in err. */
bool mk_key_load(mk_key *k, const char *moksha_dir, bool create, char *err, size_t errlen);
/* HMAC-SHA256 of data as 64 hex digits (+NUL) into out. */
void mk_key_sign(const mk_key *k, const void *data, size_t n, char out[65]);
/* A secret's fingerprint: HMAC under the seal key, hex. */
void mk_key_fingerprint(const mk_key *k, const void *data, size_t n, char out[65]);
/* Seal plaintext: base64(nonce ‖ ciphertext ‖ tag), malloc'd (mk_mem_free). */
char *mk_key_seal(const mk_key *k, const void *plain, size_t n);
/* Open a sealed text; NULL when it was altered or sealed under another key. */
char *mk_key_open(const mk_key *k, const char *sealed, size_t *n);
/* SHA-256 hex of data. */
void mk_key_sha256_hex(const void *data, size_t n, char out[65]);

#endif
