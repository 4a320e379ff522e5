/* fuzz_trustfile — the trust file as `moksha trust sign` reads and checks
 * it (compiler/base/trustfile.c: mk_trustfile_read, which checks the
 * payload's shape with mk_trustfile_check) on one file, a payload or an
 * envelope. Invariants beyond "no crash":
 *
 * - a file read is written back (mk_trustfile_envelope) as an envelope
 *   that reads again with the same payload, byte for byte, and the same
 *   signatures;
 * - what trust sign would sign, the executor does not refuse for its
 *   shape (docs/trust.md: both check it "as built"). The payload is signed
 *   by the three fixed roots the executor's configuration pins (threshold
 *   2, no trust.seen, a fixed clock) and must be accepted (runtime/trust.c,
 *   mk_trust_load) whenever nothing but the shape is in the way: every root
 *   it names is one of the three, it revokes none of them, and it expires
 *   after the clock. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/base/mem.h"
#include "compiler/base/trustfile.h"
#include "runtime/trust.h"
#include "tests/fuzz/fuzz.h"

#define NROOTS MK_FUZZ_NROOTS
#define NOW ((time_t)1800000000) /* 2027-01-15 */

static struct evp_pkey_st *root[NROOTS];
static char root_text[NROOTS][53];
static mk_config_trust cfg;

static void broken(const char *what, const char *why) { mk_fuzz_broken("fuzz_trustfile", what, why); }

static bool is_root(const char *text)
{
    for (int i = 0; text && i < NROOTS; i++)
        if (strcmp(text, root_text[i]) == 0)
            return true;
    return false;
}

/* Nothing but its shape stands between the payload and the executor. */
static bool only_shape_matters(json_t *doc)
{
    json_t *k;
    size_t i;
    json_array_foreach(json_object_get(json_object_get(doc, "roots"), "keys"), i, k)
        if (!is_root(json_string_value(k)))
            return false;
    json_array_foreach(json_object_get(doc, "revoked"), i, k)
        if (is_root(json_string_value(k)))
            return false;
    return mk_trustfile_time(json_string_value(json_object_get(doc, "expires"))) > (long long)NOW;
}

/* Signed by the three roots as trust sign signs, the executor takes it. */
static void executor_takes(mk_trustfile *t)
{
    char why[2048];
    json_array_clear(t->signatures);
    for (int i = 0; i < NROOTS; i++)
        if (!mk_trustfile_add(t, root[i], why, sizeof why))
            return; /* trust sign refuses it too: an envelope over 1 MiB */
    char *env = mk_trustfile_envelope(t);
    snprintf(cfg.file, sizeof cfg.file, "%s", mk_fuzz_write("signed.json", (const uint8_t *)env, strlen(env)));
    mk_mem_free(env);
    mk_trust *x = mk_trust_load(&cfg, NOW, false, why, sizeof why);
    if (!x)
        broken("trust sign would sign a payload the executor refuses", why);
    mk_trust_free(x);
}

/* Written as an envelope, it reads back the same. */
static void round_trip(const mk_trustfile *t)
{
    char why[2048];
    mk_trustfile back;
    char *env = mk_trustfile_envelope(t);
    const char *path = mk_fuzz_write("again.json", (const uint8_t *)env, strlen(env));
    mk_mem_free(env);
    if (!mk_trustfile_read(path, &back, why, sizeof why))
        broken("a trust file written back does not read again", why);
    if (!back.envelope || back.npayload != t->npayload || memcmp(back.payload, t->payload, t->npayload) != 0 ||
        !json_equal(back.signatures, t->signatures))
        broken("a trust file written back reads as another", NULL);
    mk_trustfile_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[2048];
    mk_trustfile t;
    if (!root[0])
        mk_fuzz_trust_roots(&cfg, root, root_text);
    if (mk_trustfile_read(mk_fuzz_write("trust.json", data, size), &t, why, sizeof why)) {
        for (size_t i = 0; i < json_array_size(t.signatures); i++)
            mk_trustfile_sig_ok(&t, i);
        round_trip(&t);
        if (only_shape_matters(t.doc))
            executor_takes(&t);
    }
    mk_trustfile_free(&t);
    return 0;
}
