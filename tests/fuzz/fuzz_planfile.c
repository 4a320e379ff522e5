/* fuzz_planfile — the executor's plan loader (runtime/planfile.c) on one
 * file, with a fixed project key. A mutated plan almost never carries a
 * valid signature, so each input runs twice: as it is, and, when it is a
 * JSON object, signed with the key first (the digest and the statement's
 * MAC computed as docs/formats.md says), which takes it past verification
 * to the check of the fields it knows; every sealed
 * secret in an accepted plan is then opened. An accepted plan must be what
 * jansson reads from the whole file, with the omitted defaults the loader
 * puts back into each change. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/planfile.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_KEY "f022f022f022f022f022f022f022f022f022f022f022f022f022f022f022f022"

static mk_planfile_key key;
static bool have_key;

static void load_key(void)
{
    char why[512];
    setenv("MOKSHA_KEY", FUZZ_KEY, 1);
    if (!mk_planfile_key_load(&key, mk_fuzz_dir(), why, sizeof why)) {
        fprintf(stderr, "fuzz_planfile: %s\n", why);
        abort();
    }
    have_key = true;
}

/* Open every {"$secret": …} below v. */
static void unseal_all(json_t *v)
{
    if (json_is_object(v)) {
        if (json_object_get(v, "$secret")) {
            free(mk_planfile_unseal(&key, v));
            return;
        }
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) unseal_all(x);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) unseal_all(x);
    }
}

static void broken(const char *what)
{
    fprintf(stderr, "fuzz_planfile: %s\n", what);
    abort();
}

/* The file as jansson reads it whole, each change's omitted defaults put
 * back as the loader puts them. */
static json_t *whole_file(const char *path)
{
    json_t *whole = json_load_file(path, JSON_REJECT_DUPLICATES, NULL), *c;
    size_t i;
    json_array_foreach(json_object_get(whole, "changes"), i, c) mk_planfile_put_back(c, i);
    return whole;
}

/* What loads is what jansson reads from the whole file (the plan is read
 * piece by piece, note [plan reading]), and what verifying accepts
 * includes all that loads. */
static void load(const char *path)
{
    json_t *plan = NULL;
    char why[512];
    mk_planfile *p = NULL;
    bool verified = mk_planfile_open(path, &key, &p, why, sizeof why) == MK_PLANFILE_OK;
    mk_planfile_close(p);
    if (mk_planfile_load(path, &key, &plan, why, sizeof why) == MK_PLANFILE_OK) {
        json_t *whole = whole_file(path);
        if (!whole || !json_equal(whole, plan))
            broken("a plan loaded as other than the whole file reads");
        if (!verified)
            broken("a plan loads that verifying refuses");
        json_decref(whole);
        unseal_all(plan);
        json_decref(plan);
    } else if (plan) {
        broken("a refused plan was handed out");
    }
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* The signature of docs/formats.md: the SHA-256 of the compact body, and
 * HMAC-SHA256 of the statement of that digest and the plan's identity. */
static void sign(json_t *body)
{
    json_object_del(body, "signature");
    char *s = json_dumps(body, JSON_COMPACT);
    if (!s)
        return;
    uint8_t d[32], mac[32];
    unsigned int len = sizeof mac;
    char digest[65], value[65];
    SHA256((const uint8_t *)s, strlen(s), d);
    free(s);
    hex(d, sizeof d, digest);
    json_t *st = json_object_get(body, "state"), *sid = json_object_get(st, "stack_id");
    json_t *stmt = json_pack("{s:s, s:s}", "format", "moksha.plan/v1", "digest", digest);
    if (json_is_string(sid))
        json_object_set(stmt, "stack_id", sid);
    json_object_set_new(stmt, "lineage", json_string(json_string_value(json_object_get(st, "lineage")) ?: ""));
    json_object_set_new(stmt, "serial", json_integer(json_integer_value(json_object_get(st, "serial"))));
    s = json_dumps(stmt, JSON_COMPACT);
    json_decref(stmt);
    if (!s)
        return;
    HMAC(EVP_sha256(), key.sign, sizeof key.sign, (const uint8_t *)s, strlen(s), mac, &len);
    free(s);
    hex(mac, sizeof mac, value);
    json_object_set_new(body, "signature", json_pack("{s:s, s:s, s:s, s:s}", "algorithm", "HMAC-SHA256", "key_id",
                                                     key.id, "digest", digest, "value", value));
}

static void load_signed(const uint8_t *data, size_t size)
{
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(body)) {
        json_decref(body);
        return;
    }
    sign(body);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text) {
        load(mk_fuzz_write("signed.json", (const uint8_t *)text, strlen(text)));
        free(text);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!have_key)
        load_key();
    load(mk_fuzz_write("plan.json", data, size));
    load_signed(data, size);
    return 0;
}
