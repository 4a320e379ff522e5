/* seal_open — the executor's side of docs/trust.md's sealing, written in
 * the tests alone (the compiler only seals): a fixed executor key pair,
 * and an opener that proves a sealed text opens at the address and path it
 * was sealed for. HKDF is written out from RFC 5869 with HMAC, apart from
 * the EVP_KDF the sealing side uses. Include it after unit.h. */
#ifndef MK_TEST_SEAL_OPEN_H
#define MK_TEST_SEAL_OPEN_H

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/base/key.h"
#include "compiler/base/seal.h"

/* RFC 7748, 6.1: Bob's key pair stands for the executor's, Alice's private
 * key for the fresh one. */
#define EXEC_PRIVATE "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
#define EXEC_PUBLIC "x25519:3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08="
#define EPH_PRIVATE "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
/* printf '%s' de9edb7d…882b4f | xxd -r -p | openssl dgst -sha256, its first 16 digits */
#define EXEC_ID "f35e5616160a30bf"
#define FP_KEY "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static inline void mk_test_hex(const char *hex, uint8_t *out, size_t n) { assert_true(mk_key_from_hex(hex, strlen(hex), out, n)); }

static inline void mk_test_exec_public(uint8_t pub[32]) { assert_true(mk_seal_parse_pub(EXEC_PUBLIC, strlen(EXEC_PUBLIC), pub)); }

/* HKDF-SHA256 for one block (RFC 5869): PRK = HMAC(salt, ikm), then
 * T(1) = HMAC(PRK, info ‖ 0x01). */
static inline void mk_test_hkdf(const uint8_t ikm[32], const uint8_t salt[64], uint8_t okm[32])
{
    uint8_t prk[32], info[15];
    unsigned int n = 32;
    HMAC(EVP_sha256(), salt, 64, ikm, 32, prk, &n);
    memcpy(info, "moksha-seal/v1\x01", 15);
    HMAC(EVP_sha256(), prk, 32, info, 15, okm, &n);
}

/* The executor's side, as docs/trust.md describes it: NULL when the text
 * does not open at address and path. The caller frees it (free). */
static inline char *mk_test_open(const char *sealed, const char *address, const char *path)
{
    size_t sn = strlen(sealed);
    uint8_t *b = malloc(sn + 1), priv[32], shared[32], salt[64], key[32];
    int bn = EVP_DecodeBlock(b, (const unsigned char *)sealed, (int)sn);
    bn -= (sn > 0 && sealed[sn - 1] == '=') + (sn > 1 && sealed[sn - 2] == '=');
    if (bn < 60) {
        free(b);
        return NULL;
    }
    mk_test_hex(EXEC_PRIVATE, priv, 32);
    EVP_PKEY *me = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
    EVP_PKEY *eph = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, b, 32);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(me, NULL);
    size_t len = 32;
    assert_int_equal(EVP_PKEY_derive_init(c), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(c, eph), 1);
    assert_int_equal(EVP_PKEY_derive(c, shared, &len), 1);
    EVP_PKEY_CTX_free(c);
    memcpy(salt, b, 32);
    assert_int_equal(EVP_PKEY_get_raw_public_key(me, salt + 32, &len), 1);
    EVP_PKEY_free(me);
    EVP_PKEY_free(eph);
    mk_test_hkdf(shared, salt, key);

    char aad[512];
    int an = snprintf(aad, sizeof aad, "moksha-seal/v1%c%s%c%s", 0, address, 0, path);
    int tn = bn - 60, out = 0, fin = 0;
    char *plain = malloc((size_t)tn + 1);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    EVP_DecryptInit_ex(x, EVP_aes_256_gcm(), NULL, key, b + 32);
    EVP_DecryptUpdate(x, NULL, &out, (const uint8_t *)aad, an);
    EVP_DecryptUpdate(x, (uint8_t *)plain, &out, b + 44, tn);
    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, 16, b + 44 + tn);
    int ok = EVP_DecryptFinal_ex(x, (uint8_t *)plain + out, &fin);
    EVP_CIPHER_CTX_free(x);
    free(b);
    plain[tn] = 0;
    if (ok != 1) {
        free(plain);
        return NULL;
    }
    return plain;
}

#endif
