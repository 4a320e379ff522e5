/* fuzz_planfile — the executor's plan loader (runtime/planfile.c) on one
 * file, with a fixed project key. A mutated plan almost never carries a
 * valid signature, so each input runs twice: as it is, and, when it is a
 * JSON object, signed with the key first (the signature computed as
 * docs/formats.md says), which takes it past verification; every sealed
 * secret in an accepted plan is then opened. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
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

static void load(const char *path)
{
    json_t *plan = NULL;
    char why[512];
    if (mk_planfile_load(path, &key, &plan, why, sizeof why) == MK_PLANFILE_OK) {
        unseal_all(plan);
        json_decref(plan);
    } else if (plan) {
        fputs("fuzz_planfile: a refused plan was handed out\n", stderr);
        abort();
    }
}

/* The body's signature: HMAC-SHA256 of its compact form, in hex. */
static void sign(json_t *body)
{
    json_object_del(body, "signature");
    char *s = json_dumps(body, JSON_COMPACT);
    if (!s)
        return;
    uint8_t mac[32];
    unsigned int len = sizeof mac;
    HMAC(EVP_sha256(), key.sign, sizeof key.sign, (const uint8_t *)s, strlen(s), mac, &len);
    free(s);
    char hex[65];
    for (size_t i = 0; i < sizeof mac; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    json_object_set_new(body, "signature", json_pack("{s:s, s:s}", "value", hex, "key_id", key.id));
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
