/* fuzz_observed — the compiler's reader of moksha.observed/v1
 * (compiler/base/observed.c) on one file's bytes, as the executor
 * service's `observed` answer is read (mk_observed_parse), then bound to a
 * small fixed state (the lineage and stack id of the golden drift cases,
 * three of their entries) and asked for each entry's current observation,
 * so that the `entry` digests are computed and compared. Invariants beyond
 * "no crash":
 *
 * - a refused file has an error diagnostic, an accepted one none;
 * - observations kept after binding are of the state's lineage and stack
 *   id, and those dropped leave a warning;
 * - an entry's observation is the file's for its address, and only when
 *   its `entry` is the digest of the entry's attributes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/base/diag.h"
#include "compiler/base/observed.h"
#include "compiler/base/source.h"
#include "compiler/base/state.h"
#include "tests/fuzz/fuzz.h"

#define H "fuzz_observed"

/* tests/golden/plan/drift/state.json, its first three entries */
static const char STATE[] =
    "{\"format\":\"moksha.state/v1\",\"lineage\":\"e0d711dc-5873-4886-be26-e86bac9dbb74\",\"serial\":2,\"stack_i"
    "d\":\"901dea1e5ac4e1d0901dea1e5ac4e1d0\",\"providers\":{},\"resources\":[{\"address\":\"network.main\",\"typ"
    "e\":\"network\",\"name\":\"main\",\"provider\":\"sim\",\"placement\":{\"cloud\":\"gcp\",\"region\":\"us-central1\"},\""
    "attributes\":{\"cidr\":\"10.0.0.0/16\",\"tags\":{},\"id\":\"projects/moksha-sim/regions/us-central1/networ"
    "ks/main-97b2fe\"},\"sensitive\":[],\"depends_on\":[],\"lifecycle\":{\"prevent_destroy\":false,\"create_bef"
    "ore_destroy\":false}},{\"address\":\"bucket.logs\",\"type\":\"bucket\",\"name\":\"logs\",\"provider\":\"sim\",\"pl"
    "acement\":{\"cloud\":\"aws\",\"region\":\"us-east-1\"},\"attributes\":{\"encrypted\":true,\"public\":false,\"ver"
    "sioning\":true,\"storage_class\":\"standard\",\"retention\":null,\"tags\":{},\"id\":\"s3-f7ba40cb211ae3b9\",\""
    "endpoint\":\"https://logs.us-east-1.aws.sim.moksha.dev\"},\"sensitive\":[],\"depends_on\":[],\"lifecycle"
    "\":{\"prevent_destroy\":false,\"create_before_destroy\":false}},{\"address\":\"compute.web\",\"type\":\"comp"
    "ute\",\"name\":\"web\",\"provider\":\"sim\",\"placement\":{\"cloud\":\"gcp\",\"region\":\"us-central1\"},\"attribute"
    "s\":{\"cpu\":2,\"memory\":\"4GiB\",\"image\":\"nginx:1.27\",\"arch\":\"x86_64\",\"network\":{\"$ref\":\"network.main"
    "\",\"id\":\"projects/moksha-sim/regions/us-central1/networks/main-97b2fe\"},\"disk\":\"20GiB\",\"shared_co"
    "re\":false,\"public_ip\":false,\"user_data\":null,\"tags\":{},\"id\":\"projects/moksha-sim/regions/us-cent"
    "ral1/instances/web-c89497\",\"ip\":\"198.51.100.139\",\"private_ip\":\"10.0.183.126\"},\"sensitive\":[],\"de"
    "pends_on\":[\"network.main\"],\"lifecycle\":{\"prevent_destroy\":false,\"create_before_destroy\":false}}]"
    "}";

static FILE *sink;
static mk_srcset state_src;
static mk_state *state;

/* Read once: the state is not what is fuzzed. */
static void load_state(void)
{
    mk_src_init(&state_src);
    mk_diag *diag = mk_diag_new(&state_src);
    char *text = strdup(STATE);
    state = text ? mk_state_parse(text, strlen(text), "state.json", diag) : NULL;
    free(text);
    if (!state || state->nres != 3)
        mk_fuzz_broken(H, "the fixed state", "does not read");
    mk_diag_free(diag);
    sink = fopen("/dev/null", "w");
}

static bool same(json_t *a, json_t *b, const char *k)
{
    const char *x = json_string_value(json_object_get(a, k)), *y = json_string_value(json_object_get(b, k));
    return x && y && strcmp(x, y) == 0;
}

static void check_lookups(const mk_observed *o)
{
    for (size_t i = 0; i < state->nres; i++) {
        json_t *e = state->res[i], *r = mk_observed_of(o, e);
        if (!r)
            continue;
        const char *addr = json_string_value(json_object_get(e, "address"));
        char d[65];
        mk_observed_digest(json_object_get(e, "attributes"), d);
        if (r != json_object_get(o->resources, addr))
            mk_fuzz_broken(H, addr, "an observation of another address was returned");
        if (strcmp(d, json_string_value(json_object_get(r, "entry"))) != 0)
            mk_fuzz_broken(H, addr, "an observation of another entry was returned");
    }
}

static void check_bound(const mk_observed *o, const mk_diag *diag, bool had)
{
    if (!o->root) {
        if (had && mk_diag_warnings(diag) == 0)
            mk_fuzz_broken(H, "bind", "observations were dropped without a warning");
        if (o->resources || o->at)
            mk_fuzz_broken(H, "bind", "dropped observations left fields behind");
        return;
    }
    if (!same(o->root, state->root, "lineage") || !same(o->root, state->root, "stack_id"))
        mk_fuzz_broken(H, "bind", "observations of another state were kept");
    check_lookups(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!state)
        load_state();
    mk_srcset src;
    mk_src_init(&src);
    mk_diag *diag = mk_diag_new(&src);
    mk_observed *o = mk_observed_parse((const char *)data, size, "observed.json", diag);
    if (!o && mk_diag_errors(diag) == 0)
        mk_fuzz_broken(H, "a file was refused", "without a diagnostic");
    if (o && mk_diag_errors(diag) != 0)
        mk_fuzz_broken(H, "a file was accepted", "with an error");
    if (o) {
        bool had = o->root != NULL;
        mk_observed_bind(o, state, diag);
        check_bound(o, diag, had);
    }
    mk_diag_print(diag, sink, MK_DIAG_TEXT, false);
    mk_observed_free(o);
    mk_diag_free(diag);
    mk_src_fini(&src);
    return 0;
}
