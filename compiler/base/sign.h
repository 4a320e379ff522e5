/* sign — Ed25519 keys and typed signatures, the planner's side of trust
 * mode (docs/trust.md, "Keys" and "Signatures and their types"): making a
 * key pair into NAME.key (PEM, PKCS#8, mode 0600) and NAME.pub, reading a
 * private key file, a public key's text ("ed25519:" and the base64 of its
 * 32 raw bytes) and id, and signing or verifying a typed message
 *
 *   "moksha-signature/v1" 0x00 TYPE 0x00 PAYLOAD
 *
 * so that no kind of signature can be replayed as another. All of it
 * through OpenSSL's EVP (EVP_PKEY_ED25519). It is not the project key
 * (key.h: HMAC, sealing) and knows nothing of plans or trust files: what a
 * payload is, is its caller's. A key returned is the caller's: free it with
 * mk_sign_free. */
#ifndef MK_SIGN_H
#define MK_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evp_pkey_st;

/* "ed25519:" + 44 characters of base64 + NUL; an id's 16 hex digits + NUL;
 * a signature's 64 bytes as base64 (88 characters) + NUL. */
#define MK_SIGN_PUB_LEN 53
#define MK_SIGN_ID_LEN 17
#define MK_SIGN_SIG_LEN 89
/* the longest key name `moksha key new` takes (it is a file name) */
#define MK_SIGN_NAME_MAX 64

/* The kinds of signature (docs/trust.md): TYPE in the message. */
typedef enum { MK_SIGN_PLAN, MK_SIGN_APPROVAL, MK_SIGN_BOUNDARY, MK_SIGN_TRUST } mk_sign_type;
const char *mk_sign_type_name(mk_sign_type t);

/* Whether s (n bytes) is a name: [a-z0-9][a-z0-9_-]* (keys, planners,
 * approvers, groups). No length limit: the caller sets its own. */
bool mk_sign_name_ok(const char *s, size_t n);

/* A new key pair: DIR/NAME.key (PEM PKCS#8, created with O_EXCL, mode
 * 0600) and DIR/NAME.pub (one line: the public key's text, a space, NAME;
 * mode 0644). Neither file is ever replaced: when either exists nothing is
 * written. pub and id get the key's text and id. False with err. */
bool mk_sign_generate(const char *dir, const char *name, char pub[MK_SIGN_PUB_LEN], char id[MK_SIGN_ID_LEN],
                      char *err, size_t errlen);
/* An Ed25519 private key from the PEM file at path; NULL with err when it
 * cannot be read, group or others may read it (say: chmod 600), it is
 * encrypted, or it is not an Ed25519 key. */
struct evp_pkey_st *mk_sign_load(const char *path, char *err, size_t errlen);
void mk_sign_free(struct evp_pkey_st *key);
/* The text and id of key's public half. */
void mk_sign_public(struct evp_pkey_st *key, char pub[MK_SIGN_PUB_LEN], char id[MK_SIGN_ID_LEN]);
/* The 32 raw bytes of a public key's text (exactly "ed25519:" and the
 * canonical base64 of 32 bytes); false when it is not one. */
bool mk_sign_parse_public(const char *text, uint8_t raw[32]);
/* A key's id: the first 16 hex digits of SHA-256 of its 32 raw bytes. */
void mk_sign_id(const uint8_t raw[32], char id[MK_SIGN_ID_LEN]);
/* The base64 of key's signature of type over payload (n bytes); false
 * when OpenSSL cannot make it. */
bool mk_sign_message(struct evp_pkey_st *key, mk_sign_type type, const void *payload, size_t n, char sig[MK_SIGN_SIG_LEN]);
/* Whether sig (base64 of 64 bytes) is pub's (a public key's text)
 * signature of type over payload. */
bool mk_sign_verify(const char *pub, mk_sign_type type, const void *payload, size_t n, const char *sig);

#endif
