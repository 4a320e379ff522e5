/* keyring — the executor's own keys, and the one place secrets are opened,
 * sealed and fingerprinted. With no `trust` section in the executor's
 * configuration that is the project key, exactly as before
 * (mk_planfile_key_load: sealing with AES-256-GCM under its seal key, the
 * audit head under its sign key). In trust mode (docs/trust.md, "Keys") it
 * is the key directory's: seal.key, the executor's X25519 private key, to
 * which planners seal secrets bound to a resource's address and an
 * attribute's path; and audit.key, which keys the audit log's head. The
 * state's fingerprint_key is the state's (runtime/rtstate.c); this module
 * only computes with it.
 *
 * Not for plan signatures (runtime/planfile.c, runtime/trust.c). A
 * mk_keyring owns its private key; mk_keyring_free wipes and releases it.
 * Texts returned are malloc'd and the caller wipes and frees them. */
#ifndef MK_RUNTIME_KEYRING_H
#define MK_RUNTIME_KEYRING_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/planfile.h"

struct mk_config;
struct evp_pkey_st;

#define MK_KEYRING_SEAL_KEY "seal.key"
#define MK_KEYRING_SEAL_PUB "seal.pub"
#define MK_KEYRING_SEAL_NEXT "seal.next"      /* a rotation's new key, staged (note [key rotation] in rotate.c) */
#define MK_KEYRING_PUB_NEXT "seal.pub.next"
#define MK_KEYRING_AUDIT_KEY "audit.key"

typedef struct mk_keyring {
    bool loaded;
    bool trust;                  /* the key directory's keys, not the project key */
    mk_planfile_key project;     /* no trust: the project key */
    struct evp_pkey_st *seal;    /* trust: the X25519 private key */
    uint8_t seal_pub[32];
    char seal_id[17];            /* first 16 hex digits of SHA-256 of seal_pub */
    uint8_t audit[32];           /* trust: audit.key */
    char dir[4096];              /* trust: the key directory */
} mk_keyring;

/* The executor's keys for this run: cfg's trust key directory when it has a
 * trust section (MOKSHA_KEY set is then refused), else the project key
 * (project when it is loaded already, else mk_planfile_key_load of
 * moksha_dir). cfg may be NULL: the configuration is read here. False with
 * why. */
bool mk_keyring_open(mk_keyring *kr, const struct mk_config *cfg, const mk_planfile_key *project,
                     const char *moksha_dir, char *why, size_t whylen);
/* The keys of a trust key directory: seal.key and audit.key regular files
 * of the executor's user, mode 0600 or stricter, in a directory only it can
 * write; refused while a rotation's seal.next is staged. */
bool mk_keyring_load_dir(mk_keyring *kr, const char *dir, char *why, size_t whylen);
/* The same while a rotation's seal.next may be staged (rotate.c only). */
bool mk_keyring_load_rotating(mk_keyring *kr, const char *dir, char *why, size_t whylen);
void mk_keyring_from_project(mk_keyring *kr, const mk_planfile_key *k);
void mk_keyring_free(mk_keyring *kr);
/* The key of the audit log's head: audit.key in trust mode, else derived
 * from the project key's sign key as it always was. */
void mk_keyring_head_key(const mk_keyring *kr, uint8_t out[32]);
/* The id of the key that opens what is sealed now: the seal key's, else
 * the project key's. */
const char *mk_keyring_id(const mk_keyring *kr);

/* The key text of a public key, "x25519:BASE64" (52 bytes and NUL). */
void mk_keyring_pub_text(const uint8_t pub[32], char out[53]);
/* The id of 32 raw key bytes: the first 16 hex digits of their SHA-256. */
void mk_keyring_key_id(const uint8_t raw[32], char id[17]);
/* A new X25519 key (NULL on failure), and its raw public half. */
struct evp_pkey_st *mk_keyring_x25519_new(void);
bool mk_keyring_x25519_pub(struct evp_pkey_st *k, uint8_t pub[32]);
/* A private key as PEM PKCS#8 text (malloc'd), and back (NULL unless X25519). */
char *mk_keyring_x25519_pem(struct evp_pkey_st *k);
struct evp_pkey_st *mk_keyring_x25519_read(const char *pem, size_t n);
void mk_keyring_x25519_free(struct evp_pkey_st *k);

/* docs/trust.md, "Sealing secrets to the executor": text sealed to pub,
 * bound to address and path (the attribute's path as compact JSON):
 * base64(eph.public ‖ nonce ‖ ciphertext ‖ tag), malloc'd, or NULL. */
char *mk_keyring_seal_to(const uint8_t pub[32], const char *address, const char *path, const void *text, size_t n);
/* Open what mk_keyring_seal_to made with the private key priv: the text
 * (NUL-terminated, *n its length) or NULL when it was sealed to another
 * key, for another address or path, or altered. */
char *mk_keyring_unseal_with(struct evp_pkey_st *priv, const char *address, const char *path, const char *sealed,
                             size_t *n);
/* hex(HMAC-SHA256(key, "moksha-fingerprint/v1" 0 address 0 path 0 text)). */
void mk_keyring_fingerprint(const uint8_t key[32], const char *address, const char *path, const void *text, size_t n,
                            char out[65]);

/* A secret value ({"$secret": …}) opened for the attribute at path (a JSON
 * array of keys and indexes, borrowed) of the resource at address: in trust
 * mode only one sealed to this executor's key for that very place, else
 * the project key's form (address and path unused). The text, or NULL with
 * why naming the address and the attribute (never the value). */
char *mk_keyring_open_secret(const mk_keyring *kr, json_t *secret, const char *address, json_t *path, char *why,
                             size_t whylen);
/* The same for a top-level attribute name. */
char *mk_keyring_open_attr(const mk_keyring *kr, json_t *secret, const char *address, const char *attr);
/* text as a secret value of the attribute at path of address: in trust
 * mode sealed to this executor's own key for that place, fingerprinted
 * with fpkey (the state's fingerprint_key; NULL: none); else under the
 * project key, as the plan gives one. A new value, or NULL. */
json_t *mk_keyring_seal_secret(const mk_keyring *kr, const char *text, size_t n, const char *address, json_t *path,
                               const uint8_t *fpkey);
/* Trust mode: the fingerprint the executor writes for an opened secret. */
void mk_keyring_fingerprint_at(const uint8_t fpkey[32], const char *address, json_t *path, const char *text, size_t n,
                               char out[65]);
/* For key new and rotate: a key file written and synced with mode (O_EXCL
 * when exclusive, else replaced); false with errno. The seal.pub line,
 * "x25519:BASE64 executor\n". The seal key DIR/name read as load reads
 * seal.key (NULL with why), and made kr's. The key directory's own check. */
bool mk_keyring_write_file(const char *path, const char *text, unsigned mode, bool exclusive);
void mk_keyring_pub_line(const uint8_t pub[32], char out[64]);
struct evp_pkey_st *mk_keyring_read_seal(const char *dir, const char *name, char *why, size_t whylen);
bool mk_keyring_set_seal(mk_keyring *kr, struct evp_pkey_st *k);
bool mk_keyring_dir_ok(const char *dir, char *why, size_t whylen);
/* A path's compact JSON text (malloc'd), as sealing binds it. */
char *mk_keyring_path_text(json_t *path);

#endif
