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

#include "runtime/util.h"

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

static bool mac_matches(const mk_exec_key *k, const char *s, size_t n, const char *want)
{
    uint8_t mac[32];
    unsigned int len = 32;
    char hex[65];
    HMAC(EVP_sha256(), k->sign, 32, (const uint8_t *)s, n, mac, &len);
    to_hex(mac, 32, hex);
    return CRYPTO_memcmp(hex, want, 64) == 0;
}

/* The signed bytes: the plan as written is the compact body with the
 * signature appended as its last key, so the body is the text before
 * `,"signature":` closed by `}` — checked by rebuilding that tail from the
 * parsed signature. NULL when the text is not in that form (re-indented by
 * hand, say): the caller then checks the canonical text of the parsed body,
 * which is what the signature covers; this way is only faster. */
static char *signed_prefix(const char *text, size_t n, json_t *sig, size_t *len)
{
    char *tail = json_dumps(sig, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!tail)
        return NULL;
    static const char key[] = ",\"signature\":";
    size_t tn = strlen(tail), kn = sizeof key - 1;
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        n--;
    char *body = NULL;
    if (n > kn + tn + 1 && text[n - 1] == '}' && memcmp(text + n - 1 - tn, tail, tn) == 0 &&
        memcmp(text + n - 1 - tn - kn, key, kn) == 0) {
        *len = n - 1 - tn - kn + 1;
        body = malloc(*len + 1);
        if (body) {
            memcpy(body, text, *len - 1);
            body[*len - 1] = '}';
            body[*len] = 0;
        }
    }
    free(tail);
    return body;
}

mk_exec_plan_status mk_exec_plan_load(const char *path, const mk_exec_key *k, json_t **out, char *why, size_t whylen)
{
    *out = NULL;
    json_error_t je;
    size_t n = 0;
    char *text = mk_exec_read_file(path, &n);
    if (!text) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return MK_EXEC_PLAN_UNREADABLE;
    }
    mk_exec_json_region_begin(n * 16); /* note [plan memory] in util.c: the parse only */
    json_t *plan = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
    mk_exec_json_region_end();
    if (!plan) {
        char msg[600];
        mk_exec_json_why(path, &je, text, n, msg, sizeof msg);
        snprintf(why, whylen, "%s", msg);
        free(text);
        return MK_EXEC_PLAN_UNREADABLE;
    }
    json_t *fmt = json_object_get(plan, "format"), *sig = json_object_get(plan, "signature");
    mk_exec_plan_status st = MK_EXEC_PLAN_OK;
    const char *val = json_string_value(json_object_get(sig, "value"));
    const char *kid = json_string_value(json_object_get(sig, "key_id"));
    if (!json_is_object(plan) || !json_is_string(fmt) || strcmp(json_string_value(fmt), "moksha.plan/v1") != 0)
        st = fail(MK_EXEC_PLAN_NOT_A_PLAN, why, whylen, "not a moksha.plan/v1 document");
    else if (!val || !kid || strlen(val) != 64)
        st = fail(MK_EXEC_PLAN_UNSIGNED, why, whylen, "the plan is not signed (moksha signs the plans of `moksha plan -o FILE`, "
                                                         "never one whose policies fail)");
    else if (strcmp(kid, k->id) != 0)
        st = fail(MK_EXEC_PLAN_WRONG_KEY, why, whylen, "the plan was signed with another project key");
    if (st == MK_EXEC_PLAN_OK) {
        size_t len = 0;
        char *s = signed_prefix(text, n, sig, &len);
        bool ok = s && mac_matches(k, s, len, val);
        free(s);
        if (!ok) { /* not as written by moksha: the signature covers the canonical text */
            json_t *body = json_copy(plan);
            json_object_del(body, "signature");
            s = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
            ok = s && mac_matches(k, s, strlen(s), val);
            json_decref(body);
            free(s);
        }
        if (!ok)
            st = fail(MK_EXEC_PLAN_TAMPERED, why, whylen, "the signature does not match: the plan was altered after it was signed");
    }
    free(text);
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

static bool blank(const char *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

/* Does one result let the plan run? Its status must agree with its
 * enforcement and violations (note [policy results]). */
static bool result_ok(json_t *r)
{
    const char *st = json_string_value(json_object_get(r, "status")) ?: "";
    const char *enf = json_string_value(json_object_get(r, "enforcement")) ?: "";
    json_t *viol = json_object_get(r, "violations");
    if (!json_is_array(viol))
        return false;
    if (strcmp(st, "pass") == 0)
        return json_array_size(viol) == 0;
    if (strcmp(st, "warn") == 0)
        return strcmp(enf, "advisory") == 0;
    if (strcmp(st, "overridden") == 0)
        return strcmp(enf, "soft") == 0 &&
               !blank(json_string_value(json_object_get(json_object_get(r, "override"), "reason")) ?: "");
    return false; /* "fail", and anything else */
}

bool mk_exec_plan_policies_ok(json_t *plan, char *why, size_t whylen)
{
    json_t *results = json_object_get(plan, "policies"), *r;
    size_t i;
    if (!json_is_array(results)) {
        snprintf(why, whylen, "the plan records no policy results");
        return false;
    }
    json_array_foreach(results, i, r) {
        if (result_ok(r))
            continue;
        const char *name = json_string_value(json_object_get(r, "name")) ?: "(unnamed)";
        const char *enf = json_string_value(json_object_get(r, "enforcement")) ?: "?";
        const char *msg = json_string_value(json_object_get(json_array_get(json_object_get(r, "violations"), 0), "message"));
        snprintf(why, whylen, "policy `%s` (%s) failed%s%s; a plan whose policies fail is never applied%s", name, enf,
                 msg ? ": " : "", msg ? msg : "",
                 strcmp(enf, "soft") == 0 ? " (a soft policy may be overridden: moksha plan --override NAME --reason TEXT)" : "");
        return false;
    }
    return true;
}
