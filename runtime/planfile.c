/* planfile — loading and verifying signed plans (OpenSSL HMAC-SHA256,
 * AES-256-GCM), with the key derivation of docs/formats.md. */
#include "runtime/planfile.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void to_hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static void derive(mk_exec_key *k, const uint8_t *master, size_t n)
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), master, (int)n, (const uint8_t *)"moksha plan signature", 21, k->sign, &len);
    len = 32;
    HMAC(EVP_sha256(), master, (int)n, (const uint8_t *)"moksha secret sealing", 21, k->seal, &len);
    uint8_t d[32];
    SHA256(k->sign, 32, d);
    to_hex(d, 8, k->id);
}

bool mk_exec_key_load(mk_exec_key *k, const char *moksha_dir, char *why, size_t whylen)
{
    memset(k, 0, sizeof *k);
    const char *env = getenv("MOKSHA_KEY");
    if (env && *env) {
        derive(k, (const uint8_t *)env, strlen(env));
        return true;
    }
    char path[4096], buf[256];
    snprintf(path, sizeof path, "%s/key", moksha_dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "no project key: set MOKSHA_KEY or keep %s (%s)", path, strerror(errno));
        return false;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    if (n < 16) {
        snprintf(why, whylen, "%s is too short to be a key", path);
        return false;
    }
    derive(k, (const uint8_t *)buf, n);
    OPENSSL_cleanse(buf, sizeof buf);
    return true;
}

static mk_exec_plan_status fail(mk_exec_plan_status st, char *why, size_t whylen, const char *msg)
{
    snprintf(why, whylen, "%s", msg);
    return st;
}

mk_exec_plan_status mk_exec_plan_load(const char *path, const mk_exec_key *k, json_t **out, char *why, size_t whylen)
{
    *out = NULL;
    json_error_t je;
    json_t *plan = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!plan) {
        snprintf(why, whylen, "cannot read plan %s: %s", path, je.text);
        return MK_EXEC_PLAN_UNREADABLE;
    }
    json_t *fmt = json_object_get(plan, "format"), *sig = json_object_get(plan, "signature");
    mk_exec_plan_status st = MK_EXEC_PLAN_OK;
    const char *val = json_string_value(json_object_get(sig, "value"));
    const char *kid = json_string_value(json_object_get(sig, "key_id"));
    if (!json_is_object(plan) || !json_is_string(fmt) || strcmp(json_string_value(fmt), "moksha.plan/v1") != 0)
        st = fail(MK_EXEC_PLAN_NOT_A_PLAN, why, whylen, "not a moksha.plan/v1 document");
    else if (!val || !kid || strlen(val) != 64)
        st = fail(MK_EXEC_PLAN_UNSIGNED, why, whylen, "the plan is not signed");
    else if (strcmp(kid, k->id) != 0)
        st = fail(MK_EXEC_PLAN_WRONG_KEY, why, whylen, "the plan was signed with another project key");
    if (st == MK_EXEC_PLAN_OK) {
        json_t *body = json_copy(plan);
        json_object_del(body, "signature");
        char *s = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        uint8_t mac[32];
        unsigned int len = 32;
        char hex[65];
        HMAC(EVP_sha256(), k->sign, 32, (const uint8_t *)s, strlen(s), mac, &len);
        free(s);
        to_hex(mac, 32, hex);
        if (CRYPTO_memcmp(hex, val, 64) != 0)
            st = fail(MK_EXEC_PLAN_TAMPERED, why, whylen, "the signature does not match: the plan was altered after it was signed");
    }
    if (st != MK_EXEC_PLAN_OK)
        json_decref(plan);
    else
        *out = plan;
    return st;
}

char *mk_exec_unseal(const mk_exec_key *k, json_t *secret)
{
    const char *sealed = json_string_value(json_object_get(json_object_get(secret, "$secret"), "sealed"));
    size_t slen = sealed ? strlen(sealed) : 0;
    if (slen < 40 || slen % 4)
        return NULL;
    uint8_t *buf = malloc(slen);
    int blen = buf ? EVP_DecodeBlock(buf, (const unsigned char *)sealed, (int)slen) : -1;
    if (blen < 28) {
        free(buf);
        return NULL;
    }
    blen -= (sealed[slen - 1] == '=') + (sealed[slen - 2] == '=');
    size_t clen = (size_t)blen - 28;
    char *plain = malloc(clen + 1);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0, ok = 0;
    if (plain && c) {
        EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->seal, buf);
        EVP_DecryptUpdate(c, (uint8_t *)plain, &len, buf + 12, (int)clen);
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, buf + 12 + clen);
        ok = EVP_DecryptFinal_ex(c, (uint8_t *)plain + len, &fin);
    }
    EVP_CIPHER_CTX_free(c);
    free(buf);
    if (ok != 1) {
        free(plain);
        return NULL;
    }
    plain[clen] = 0;
    return plain;
}
