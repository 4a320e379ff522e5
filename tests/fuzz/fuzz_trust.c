/* fuzz_trust — the executor's trust file reader and checker
 * (runtime/trust.c, mk_trust_load) on one file, with a configuration that
 * pins three fixed roots, threshold 2, a key directory without trust.seen,
 * and a fixed clock. Each input runs twice:
 *
 * - as the trust file itself. The fuzzer holds no root's private key, so
 *   an accepted file must carry a payload the roots signed: one of the
 *   seeds of tests/fuzz/regress/trust/ (their payloads' digests are
 *   below). Its envelope may differ from the seed's (spacing, field order,
 *   escapes, signatures that do not verify): the roots sign the payload,
 *   not the envelope.
 * - as a payload, wrapped in an envelope and signed by the roots the low
 *   three bits of its size pick, which takes it past the signatures to the
 *   payload's rules. An accepted one then has a version from 1, no root of
 *   it has any other role, and `moksha trust sign` would take it too
 *   (mk_trustfile_check): the executor is never the laxer.
 *
 * The roots' keys are fixed (mk_fuzz_trust_roots), so `moksha trust sign`
 * makes the seeds with them (tests/fuzz/regress/README); the harness signs
 * with the same code (compiler/base/sign.c). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/base/sign.h"
#include "compiler/base/trustfile.h"
#include "runtime/trust.h"
#include "tests/fuzz/fuzz.h"

#define NROOTS MK_FUZZ_NROOTS
#define NOW ((time_t)1800000000) /* 2027-01-15; the seeds expire in 2099 */

/* The SHA-256 of each seed's payload: the only payloads the roots signed. */
static const char *const signed_payloads[] = {
    "6d7ddaa89e7ae8b4ddf399b5477dd498c4787d7589a7d137031a1f2d7979dc7d", /* signed-by-three-roots.json */
    "28f59b960f6c6944881430622d3ac87bb5396344e827f06040ee9a4887adbb87", /* signed-by-two-roots-minimal.json */
    "c088a1c6d70a24706abd13b7056f35232b2ee665de6004243ef28e3efd8430b7", /* changes-the-roots-signed-by-both.json */
    NULL,
};

static struct evp_pkey_st *root[NROOTS];
static char root_text[NROOTS][53];
static mk_config_trust cfg;

static void broken(const char *what, const char *why) { mk_fuzz_broken("fuzz_trust", what, why); }

static bool is_signed_payload(const char *digest)
{
    for (size_t i = 0; signed_payloads[i]; i++)
        if (strcmp(signed_payloads[i], digest) == 0)
            return true;
    return false;
}

/* A root key of an accepted file is a root and nothing else. */
static void check_roles(const mk_trust *t)
{
    char line[1024];
    mk_trust_describe(t, line, sizeof line);
    if (mk_trust_version(t) < 1)
        broken("a trust file was accepted with a version below 1", line);
    for (int i = 0; i < NROOTS; i++) {
        uint8_t raw[32];
        mk_trust_who who;
        if (!mk_trust_key_parse(root_text[i], raw))
            broken("a root's own text does not parse", root_text[i]);
        mk_trust_lookup(t, raw, &who);
        if ((who.roles & MK_TRUST_ROOT) && who.roles != MK_TRUST_ROOT)
            broken("a root key of an accepted trust file has another role too", line);
    }
}

static mk_trust *load(const char *path)
{
    char why[2048];
    snprintf(cfg.file, sizeof cfg.file, "%s", path);
    return mk_trust_load(&cfg, NOW, false, why, sizeof why);
}

static void as_file(const uint8_t *data, size_t size)
{
    mk_trust *t = load(mk_fuzz_write("trust.json", data, size));
    if (t && !is_signed_payload(mk_trust_digest(t)))
        broken("a trust file was accepted whose payload no root signed", mk_trust_digest(t));
    if (t)
        check_roles(t);
    mk_trust_free(t);
}

/* What the executor accepts, trust sign would have signed: both hold a
 * payload to one shape (docs/trust.md), and the executor is never the
 * laxer (the other way round is fuzz_trustfile's). */
static void signable(const uint8_t *data, size_t size)
{
    char why[1024];
    json_t *p = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!mk_trustfile_check(p, why, sizeof why))
        broken("the executor accepted a payload trust sign refuses", why);
    json_decref(p);
}

/* The input as a payload, signed by the roots of the bits of size % 8. */
static void as_payload(const uint8_t *data, size_t size)
{
    json_t *sigs = json_array(), *pl = json_stringn((const char *)data, size);
    if (!pl) { /* not UTF-8: no envelope can hold it as a string */
        json_decref(sigs);
        return;
    }
    for (int i = 0; i < NROOTS; i++)
        if (size >> i & 1) {
            char v[MK_SIGN_SIG_LEN];
            if (!mk_sign_message(root[i], MK_SIGN_TRUST, data, size, v))
                broken("cannot sign", NULL);
            json_array_append_new(sigs, json_pack("{s:s, s:s}", "key", root_text[i], "value", v));
        }
    json_t *env = json_pack("{s:s, s:o, s:o}", "format", MK_TRUST_FORMAT, "payload", pl, "signatures", sigs);
    char *text = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    if (!text)
        broken("cannot write an envelope", NULL);
    mk_trust *t = load(mk_fuzz_write("signed.json", (const uint8_t *)text, strlen(text)));
    free(text);
    if (t) {
        check_roles(t);
        signable(data, size);
    }
    mk_trust_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!root[0])
        mk_fuzz_trust_roots(&cfg, root, root_text);
    as_file(data, size);
    as_payload(data, size);
    return 0;
}
