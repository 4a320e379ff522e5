/* key — the project key and what is done with it: signing plans
 * (HMAC-SHA256), sealing secrets (AES-256-GCM) and fingerprinting secret
 * values so a plan can compare them without storing them; and the stack's
 * identity (.moksha/stack-id), which a passphrase key is salted with and
 * every signed plan is bound to.
 *
 * The key comes from MOKSHA_KEY, else from .moksha/key, which is created
 * with mode 0600 by the first command that signs (32 random bytes, hex).
 * Either holds 32 random bytes (64 hex digits, or base64) or
 * `passphrase:TEXT`, stretched with scrypt (note [key text] in key.c). Two
 * sub-keys are derived from it, one to sign and one to seal, so neither use
 * weakens the other. runtime/planfile.c derives the same on the executor's
 * side; see docs/formats.md. */
#ifndef MK_KEY_H
#define MK_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mk_key {
    uint8_t sign[32], seal[32];
    char id[17];          /* hex of the first 8 bytes of SHA-256(sign key): names the key, reveals nothing */
    const char *source;   /* "MOKSHA_KEY", the key file's path, or "(none)" for a throwaway key */
    bool throwaway;       /* no project key yet: random, for a command that signs nothing */
    char stack_id[33];    /* .moksha/stack-id, "" when the stack has none yet */
    /* Trust mode (docs/trust.md). A planner key signs the plan instead of
     * the project key; secrets are sealed to the executor's public key and
     * fingerprinted with the state's fingerprint_key instead of the seal key. */
    struct evp_pkey_st *signer; /* the planner's Ed25519 key (MOKSHA_SIGNING_KEY); NULL: sign with the project key */
    char signer_pub[53];        /* its public key's text, "ed25519:" and 44 characters of base64 */
    char signer_id[17];         /* its id: hex of the first 8 bytes of SHA-256 of the 32 raw bytes */
    bool has_seal_to;           /* seal to the executor (MOKSHA_SEAL_TO, or the key the service reports) */
    uint8_t seal_to[32];        /* the executor's X25519 public key */
    char seal_to_id[17];
    bool has_fp_key;            /* the state holds a fingerprint_key */
    uint8_t fp_key[32];
} mk_key;

typedef enum {
    MK_KEY_REQUIRE,   /* the key must exist (verifying a plan) */
    MK_KEY_READ,      /* the key if there is one, else a throwaway: creates nothing (read-only commands) */
    MK_KEY_CREATE,    /* make .moksha/key and .moksha/stack-id when missing (commands that sign) */
    MK_KEY_STACK      /* a planner key signs (docs/trust.md): make .moksha/stack-id when missing, and take the
                         key as MK_KEY_READ does: no project key is made for a plan it does not sign */
} mk_key_mode;

/* Load the key (and the stack id). A weak or malformed key is an error in
 * every mode. On failure returns false with a message in err. */
bool mk_key_load(mk_key *k, const char *moksha_dir, mk_key_mode mode, char *err, size_t errlen);
/* HMAC-SHA256 of data as 64 hex digits (+NUL) into out. */
void mk_key_sign(const mk_key *k, const void *data, size_t n, char out[65]);
/* A secret's fingerprint: HMAC under the seal key, hex. */
void mk_key_fingerprint(const mk_key *k, const void *data, size_t n, char out[65]);
/* Seal plaintext: base64(nonce ‖ ciphertext ‖ tag), malloc'd (mk_mem_free). */
char *mk_key_seal(const mk_key *k, const void *plain, size_t n);
/* Open a sealed text; NULL when it was altered or sealed under another key. */
char *mk_key_open(const mk_key *k, const char *sealed, size_t *n);
/* A file of at most cap-1 bytes into buf (NUL-terminated), and its mode
 * bits into *mode when mode is not NULL; -1 with errno when unreadable, -2
 * when it is not a regular file (a FIFO is not waited on). */
long mk_key_read_small(const char *path, char *buf, size_t cap, unsigned *mode);
/* SHA-256 hex of data. */
void mk_key_sha256_hex(const void *data, size_t n, char out[65]);

/* The key texts' pieces, shared with base/seal.c: n bytes as lowercase hex
 * (2n digits and a NUL into out); 2*len hex digits into len bytes; 44
 * characters of base64 into 32 bytes (false for any other text). */
void mk_key_hex(const uint8_t *b, size_t n, char *out);
bool mk_key_from_hex(const char *t, size_t n, uint8_t *out, size_t len);
bool mk_key_from_base64(const char *t, size_t n, uint8_t out[32]);
#endif
