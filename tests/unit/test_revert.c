/* `moksha state revert N`'s desired resources (front/revert.c): serial N's
 * entries made into instances against a small stack, then diffed by the
 * differ as any plan. Each case checks the instances and the plan's records
 * exactly: dependency order, values read back with their types (a size is
 * a size), a reference as the instance it names, a secret kept sealed and
 * written back byte for byte, computed attributes from the current state,
 * a type the stack does not have refused (E0307). */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/base/buf.h"
#include "compiler/base/diag.h"
#include "compiler/base/key.h"
#include "compiler/base/state.h"
#include "compiler/front/eval.h"
#include "compiler/front/program.h"
#include "compiler/front/revert.h"
#include "compiler/front/vjson.h"
#include "compiler/middle/plan.h"

#define KEY "5f2a8c1e9b7d4036a1e2f3c4b5a69788c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2"

#define SPEC "stack rv { env = \"dev\" }\nresource network main { cidr = \"10.0.0.0/16\" }\n"
#define SECRET "{\"$secret\":{\"fingerprint\":\"ab12\",\"sealed\":\"c2VhbGVk\"}}"
#define NET "{\"address\": \"network.main\", \"type\": \"network\", \"name\": \"main\", \"provider\": \"sim\", " \
            "\"placement\": {\"cloud\": \"gcp\", \"region\": \"us-central1\"}, \"attributes\": {\"cidr\": \"10.0.0.0/16\", " \
            "\"tags\": {}, \"id\": \"vpc-1\"}, \"depends_on\": []}"
/* the database first in the file, though it refers to the network */
#define DB(cpu) "{\"address\": \"database.orders\", \"type\": \"database\", \"name\": \"orders\", \"provider\": \"sim\", " \
            "\"attributes\": {\"engine\": \"postgres\", \"version\": \"16\", \"cpu\": " cpu ", \"memory\": \"8GiB\", " \
            "\"storage\": \"100GiB\", \"backup_retention\": \"1d\", \"encrypted\": true, \"multi_az\": false, " \
            "\"public\": false, \"deletion_protection\": false, \"username\": \"admin\", \"password\": " SECRET ", " \
            "\"network\": {\"$ref\": \"network.main\", \"id\": \"vpc-1\"}, \"tags\": {}, \"id\": \"db-9\", " \
            "\"endpoint\": \"old.internal\", \"port\": 5432}, \"sensitive\": [\"password\"], " \
            "\"depends_on\": [\"network.main\"], \"lifecycle\": {\"prevent_destroy\": true, \"create_before_destroy\": false}}"

static char dir[64];
static mk_program *P;
static mk_state *CUR, *TARGET;
static mk_plan *PLAN;
static mk_key K;

static int setup(void **state)
{
    (void)state;
    mk_test_tmpdir(dir, "/tmp/mk-revert-XXXXXX");
    setenv("MOKSHA_KEY", KEY, 1);
    char why[256], moksha[128];
    snprintf(moksha, sizeof moksha, "%s/.moksha", dir);
    assert_true(mk_key_load(&K, moksha, MK_KEY_READ, why, sizeof why));
    P = mk_program_new();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mk_plan_free(PLAN);
    PLAN = NULL;
    mk_state_free(TARGET);
    mk_state_free(CUR);
    TARGET = CUR = NULL;
    mk_program_free(P);
    P = NULL;
    unsetenv("MOKSHA_KEY");
    mk_test_rmdir(dir);
    return 0;
}

static mk_state *state_of(int serial, const char *resources)
{
    char *text = malloc(strlen(resources) + 200);
    sprintf(text, "{\"format\": \"moksha.state/v1\", \"lineage\": \"lin-1\", \"serial\": %d, \"resources\": [%s]}", serial,
            resources);
    mk_state *s = mk_state_parse(text, strlen(text), "test", P->diag);
    free(text);
    assert_non_null(s);
    return s;
}

/* The spec compiled against the current state, then serial 4's entries desired. */
static bool revert_of(const char *current, const char *target)
{
    mk_test_write(dir, "main.moksha", SPEC);
    CUR = state_of(6, current);
    TARGET = state_of(4, target);
    const char *paths[] = {dir};
    assert_true(mk_program_load(P, paths, 1));
    P->strict = true;
    P->state = CUR;
    mk_eval_program(P);
    assert_int_equal(mk_diag_errors(P->diag), 0);
    return mk_revert_desire(P, TARGET, CUR);
}

static char *written(const mk_value *v)
{
    mk_buf b = {0};
    bool unknown = false;
    assert_true(mk_vjson_write(&b, v, &K, true, NULL, &unknown));
    return mk_buf_take(&b);
}

static void test_instances(void **state)
{
    (void)state;
    assert_true(revert_of("", DB("2") "," NET));
    assert_int_equal(P->ninstances, 2);
    assert_string_equal(P->instances[0]->address, "network.main"); /* what the database refers to, first */
    mk_instance *db = P->instances[1];
    assert_string_equal(db->address, "database.orders");
    assert_string_equal(db->provider, "sim");
    assert_true(db->prevent_destroy);
    assert_int_equal(db->ndeps, 1);
    assert_ptr_equal(db->deps[0], P->instances[0]);
    mk_value *mem = mk_v_get_text(db->attrs, "memory"), *pw = mk_v_get_text(db->attrs, "password");
    assert_int_equal(mem->kind, MK_V_SIZE);
    assert_int_equal(mem->u.i, 8LL << 30);
    assert_int_equal(pw->flags, MK_VF_SECRET | MK_VF_SEALED);
    char *t = written(pw);
    assert_string_equal(t, SECRET); /* the state's sealed copy, byte for byte: never opened */
    free(t);
    json_t *j = mk_vjson_from(pw, &K, true, NULL, NULL);
    char *d = json_dumps(j, JSON_COMPACT);
    assert_string_equal(d, SECRET);
    free(d);
    json_decref(j);
    mk_value *net = mk_v_get_text(db->attrs, "network");
    assert_int_equal(net->kind, MK_V_RESOURCE);
    assert_ptr_equal(net->u.res, P->instances[0]);
    /* computed: unknown, the current state having no such entry */
    assert_int_equal(mk_v_get_text(db->attrs, "endpoint")->kind, MK_V_UNKNOWN);
    char *pl = written(P->instances[0]->placement);
    assert_string_equal(pl, "{\"providers\":[\"gcp\"],\"regions\":[\"us-central1\"]}");
    free(pl);
}

static void test_diffed(void **state)
{
    (void)state;
    /* now: the database at 4 CPUs and no network; serial 4 had 2 and the network */
    assert_true(revert_of(DB("4"), DB("2") "," NET));
    mk_value *ep = mk_v_get_text(P->instances[1]->attrs, "endpoint");
    assert_int_equal(ep->kind, MK_V_STRING); /* computed: as the current state has it */
    PLAN = mk_plan_build(P, CUR, &K, false);
    assert_int_equal(PLAN->nchanges, 2);
    assert_string_equal(PLAN->changes[0].address, "network.main");
    assert_int_equal(PLAN->changes[0].action, MK_ACT_CREATE);
    const mk_change *c = &PLAN->changes[1];
    assert_int_equal(c->action, MK_ACT_UPDATE);
    assert_int_equal(c->changed.n, 1); /* the secret is the same by fingerprint; the reference only gains its target */
    assert_string_equal(c->changed.v[0], "cpu");
    assert_int_equal(c->sensitive.n, 1);
    assert_int_equal(c->ndepends, 1);
    assert_int_equal(c->depends_on[0], 1);
}

static void test_unknown_type(void **state)
{
    (void)state;
    assert_false(revert_of("", NET ",{\"address\": \"widget.w\", \"type\": \"widget\", \"name\": \"w\", \"attributes\": {}}"));
    assert_int_equal(mk_diag_errors(P->diag), 1);
    const char *code, *msg;
    mk_span at;
    assert_true(mk_diag_last_error(P->diag, &code, &msg, &at));
    assert_string_equal(code, "E0307");
    assert_string_equal(msg, "widget.w: the serial reverted to has a resource of type `widget`, which this stack's "
                             "types do not have");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_instances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diffed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_type, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
