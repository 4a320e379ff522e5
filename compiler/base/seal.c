/* seal — secrets sealed to the executor's X25519 key and fingerprinted
 * under the state's key, through OpenSSL's EVP (seal.h). The bytes are
 * docs/trust.md's, which the executor's side reads on its own. */
#include "compiler/base/seal.h"

#include <errno.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "compiler/base/mem.h"
#include "compiler/base/sign.h"

#define SEAL_LABEL "moksha-seal/v1"
#define FP_LABEL "moksha-fingerprint/v1"

/* The first blank-separated word of t: a .pub file's line is the key and
 * its name. */
static void first_word(const char **t, size_t *n)
{
    while (*n && strchr(" \t\r\n", **t))
        (*t)++, (*n)--;
    size_t w = 0;
    while (w < *n && !strchr(" \t\r\n", (*t)[w]))
        w++;
    *n = w;
}

bool mk_seal_parse_pub(const char *text, size_t n, uint8_t pub[32])
{
    size_t pn = sizeof MK_SEAL_PREFIX - 1;
    first_word(&text, &n);
    return n == pn + 44 && memcmp(text, MK_SEAL_PREFIX, pn) == 0 && mk_key_from_base64(text + pn, 44, pub);
}

/* X25519(mine, peer); false when OpenSSL refuses, as it does for a peer
 * key of small order (the shared secret would be all zeros). */
static bool x25519(EVP_PKEY *mine, const uint8_t peer[32], uint8_t shared[32])
{
    EVP_PKEY *p = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, 32);
    EVP_PKEY_CTX *c = p ? EVP_PKEY_CTX_new(mine, NULL) : NULL;
    size_t n = 32;
    bool ok = c && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, p) == 1 &&
              EVP_PKEY_derive(c, shared, &n) == 1 && n == 32;
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(p);
    return ok;
}

/* key = HKDF-SHA256(ikm = shared, salt = eph.public ‖ executor.public,
 * info = "moksha-seal/v1", 32 bytes). */
static bool hkdf(const uint8_t shared[32], const uint8_t eph_pub[32], const uint8_t to[32], uint8_t key[32])
{
    uint8_t salt[64];
    memcpy(salt, eph_pub, 32);
    memcpy(salt + 32, to, 32);
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)shared, 32),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, sizeof salt),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)SEAL_LABEL, sizeof SEAL_LABEL - 1),
        OSSL_PARAM_construct_end(),
    };
    bool ok = c && EVP_KDF_derive(c, key, 32, params) == 1;
    EVP_KDF_CTX_free(c);
    EVP_KDF_free(kdf);
    return ok;
}

/* label 0 a 0 b, then (unless tail is NULL) 0 tail: the AAD and the
 * fingerprint's message; malloc'd, its length in *n. */
static uint8_t *joined(const char *label, const char *a, const char *b, const void *tail, size_t tn, size_t *n)
{
    size_t ln = strlen(label) + 1, an = strlen(a) + 1, bn = strlen(b);
    *n = ln + an + bn + (tail ? 1 + tn : 0);
    uint8_t *m = mk_mem_alloc(*n + 1);
    memcpy(m, label, ln);
    memcpy(m + ln, a, an);
    memcpy(m + ln + an, b, bn);
    if (tail) {
        m[ln + an + bn] = 0;
        memcpy(m + ln + an + bn + 1, tail, tn);
    }
    return m;
}

/* AES-256-GCM of text under key and nonce, with address and path as the
 * AAD: the ciphertext and the tag into out (n + 16 bytes). */
static bool gcm(const uint8_t key[32], const uint8_t nonce[12], const char *address, const char *path, const void *text,
                size_t n, uint8_t *out)
{
    size_t alen;
    uint8_t *aad = joined(SEAL_LABEL, address, path, NULL, 0, &alen);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    bool ok = c && n <= INT_MAX - 16 && alen <= INT_MAX && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
              EVP_EncryptUpdate(c, NULL, &len, aad, (int)alen) == 1 &&
              EVP_EncryptUpdate(c, out, &len, text, (int)n) == 1 && EVP_EncryptFinal_ex(c, out + len, &fin) == 1 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + n) == 1;
    EVP_CIPHER_CTX_free(c);
    mk_mem_free(aad);
    return ok;
}

static char *base64(const uint8_t *b, size_t n)
{
    char *out = mk_mem_alloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, b, (int)n);
    return out;
}

/* eph.public(32) ‖ nonce(12) ‖ AES-256-GCM(…) ‖ tag(16), in base64. */
static char *seal_from(EVP_PKEY *eph, const uint8_t to[32], const uint8_t nonce[12], const char *address,
                       const char *path, const void *text, size_t n)
{
    size_t blen = 32 + 12 + n + 16, pn = 32;
    uint8_t *buf = mk_mem_alloc(blen), shared[32], key[32];
    bool ok = n <= INT_MAX / 2 && EVP_PKEY_get_raw_public_key(eph, buf, &pn) == 1 && pn == 32 &&
              x25519(eph, to, shared) && hkdf(shared, buf, to, key);
    memcpy(buf + 32, nonce, 12);
    ok = ok && gcm(key, nonce, address, path, text, n, buf + 44);
    OPENSSL_cleanse(shared, sizeof shared);
    OPENSSL_cleanse(key, sizeof key);
    char *out = ok ? base64(buf, blen) : NULL;
    mk_mem_free(buf);
    return out;
}

char *mk_seal_seal_with(const uint8_t to[32], const uint8_t eph_private[32], const uint8_t nonce[12],
                        const char *address, const char *path, const void *text, size_t n)
{
    EVP_PKEY *eph = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, eph_private, 32);
    char *out = eph ? seal_from(eph, to, nonce, address, path, text, n) : NULL;
    EVP_PKEY_free(eph);
    return out;
}

char *mk_seal_seal(const uint8_t to[32], const char *address, const char *path, const void *text, size_t n)
{
    uint8_t nonce[12];
    EVP_PKEY *eph = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    char *out = eph && RAND_bytes(nonce, sizeof nonce) == 1 ? seal_from(eph, to, nonce, address, path, text, n) : NULL;
    EVP_PKEY_free(eph);
    return out;
}

void mk_seal_fingerprint(const uint8_t key[32], const char *address, const char *path, const void *text, size_t n,
                         char out[65])
{
    size_t mn;
    uint8_t *m = joined(FP_LABEL, address, path, text ? text : "", n, &mn), mac[32];
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, 32, m, mn, mac, &len);
    OPENSSL_cleanse(m, mn);
    mk_mem_free(m);
    mk_key_hex(mac, 32, out);
}

/* Does the word read as some key's text, `ALG:` and 44 characters of
 * base64, rather than a path? */
static bool key_text(const char *t, size_t n)
{
    size_t c = 0;
    while (c < n && ((t[c] >= 'a' && t[c] <= 'z') || (t[c] >= '0' && t[c] <= '9')))
        c++;
    return c > 0 && c < n && t[c] == ':' && n - c - 1 == 44;
}

/* MOKSHA_SEAL_TO's key text into buf: the value itself when it is one, else
 * the file it names. */
static bool seal_to_text(const char *value, char *buf, size_t cap, char *err, size_t errlen)
{
    const char *t = value;
    size_t n = strlen(t), pn = sizeof MK_SEAL_PREFIX - 1;
    first_word(&t, &n);
    if (n >= pn && memcmp(t, MK_SEAL_PREFIX, pn) == 0) {
        snprintf(buf, cap, "%.*s", (int)n, t);
        return true;
    }
    long got = mk_key_read_small(value, buf, cap, NULL);
    if (got == -1 && errno == ENOENT && key_text(t, n)) {
        snprintf(buf, cap, "%s", value); /* another key's text (`ed25519:…`) rather than a file: no X25519 key */
        return true;
    }
    if (got == -2)
        snprintf(err, errlen, "MOKSHA_SEAL_TO: %s is not a regular file", value);
    else if (got < 0)
        snprintf(err, errlen, "MOKSHA_SEAL_TO: cannot read %s: %s", value, strerror(errno));
    return got >= 0;
}

bool mk_seal_to_load(mk_key *k, const char *value, char *err, size_t errlen)
{
    char buf[1024];
    uint8_t pub[32];
    if (!seal_to_text(value, buf, sizeof buf, err, errlen))
        return false;
    if (!mk_seal_parse_pub(buf, strlen(buf), pub)) {
        snprintf(err, errlen, "MOKSHA_SEAL_TO: %s is not an X25519 public key (`x25519:` and the base64 of 32 bytes, "
                 "as `moksha-exec key show` prints it)", value);
        return false;
    }
    char *probe = mk_seal_seal(pub, "", "[]", "", 0); /* a key of small order seals nothing */
    bool usable = probe != NULL;
    mk_mem_free(probe);
    if (!usable) {
        snprintf(err, errlen, "MOKSHA_SEAL_TO: %s is not a key a secret can be sealed to", value);
        return false;
    }
    memcpy(k->seal_to, pub, 32);
    mk_sign_id(pub, k->seal_to_id);
    k->has_seal_to = true;
    return true;
}
