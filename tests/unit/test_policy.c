/* test_policy — the policy walker's contract (compiler/middle/policy.c):
 * over a small compiled stack and its plan against a state, each policy's
 * status by enforcement level (hard and soft fail, advisory warns, an
 * override only for a soft one), its violations per resource with their
 * messages, approval gates, `require risk` recorded for the change in
 * scope, a change's before read back from the state, and the run's counts.
 * The structure check (mk_policy_check_structure) is asserted too: a bad
 * enforcement level, a statement that has no place in a policy, and the
 * checkov metadata (ids, duplicates, checkov_differs without checkov). */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/base/diag.h"
#include "compiler/base/key.h"
#include "compiler/base/state.h"
#include "compiler/front/eval.h"
#include "compiler/front/program.h"
#include "compiler/middle/plan.h"
#include "compiler/middle/policy.h"

#define KEY "5f2a8c1e9b7d4036a1e2f3c4b5a69788c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2"

static const char STACK[] =
    "stack demo { env = \"prod\" }\n"
    "resource bucket assets {\n  encrypted = false\n  public    = true\n}\n"
    "resource bucket logs {\n  versioning = true\n}\n"
    "resource network main { cidr = \"10.0.0.0/16\" }\n";

static const char POLICIES[] =
    "policy \"encrypted\" {\n"
    "  enforcement = hard\n"
    "  checkov = [\"CKV_AWS_19\", \"CKV2_AZURE_1\"]\n"
    "  checkov_differs = \"every cloud's buckets\"\n"
    "  for r in resources where r.type == \"bucket\" {\n"
    "    assert r.encrypted : \"${r.address} must be encrypted\"\n"
    "  }\n}\n"
    "policy \"not-public\" {\n"
    "  enforcement = soft\n"
    "  for r in resources where r.type == \"bucket\" {\n"
    "    assert !r.public : \"${r.address} is public\"\n"
    "  }\n}\n"
    "policy \"versioned\" {\n"
    "  enforcement = advisory\n"
    "  for r in resources where r.type == \"bucket\" {\n"
    "    assert r.versioning : \"${r.address} keeps no old versions\"\n"
    "  }\n}\n"
    "policy \"cidr\" {\n"
    "  for r in resources where r.type == \"network\" {\n"
    "    assert r.cidr == \"10.0.0.0/16\" : \"${r.address} is outside the plan\"\n"
    "  }\n}\n"
    "policy \"new-networks\" {\n"
    "  for c in changes where c.action == \"create\" && c.type == \"network\" {\n"
    "    require approval(\"netops\") : \"${c.address} is new\"\n"
    "  }\n}\n"
    "policy \"data\" {\n"
    "  enforcement = advisory\n"
    "  for c in changes where c.type == \"bucket\" {\n"
    "    require risk(\"high\") : \"${c.address} holds data\"\n"
    "  }\n}\n"
    "policy \"versioning-changes\" {\n"
    "  enforcement = soft\n"
    "  for c in changes where c.action == \"update\" {\n"
    "    assert c.before.versioning == c.after.versioning : \"${c.address}: versioning ${c.before.versioning} -> "
    "${c.after.versioning}\"\n"
    "  }\n}\n";

/* bucket.logs as applied: versioning off, so the stack's `versioning = true`
 * is an update. */
static const char STATE[] =
    "{\"format\": \"moksha.state/v1\", \"lineage\": \"l-1\", \"serial\": 1, \"resources\": [\n"
    " {\"address\": \"bucket.logs\", \"type\": \"bucket\", \"name\": \"logs\", \"provider\": \"sim\",\n"
    "  \"placement\": {\"cloud\": \"aws\", \"region\": \"us-east-1\"},\n"
    "  \"attributes\": {\"encrypted\": true, \"public\": false, \"versioning\": false,\n"
    "                 \"storage_class\": \"standard\", \"tags\": {}, \"id\": \"b-1\", \"endpoint\": \"e\"},\n"
    "  \"sensitive\": [], \"depends_on\": [],\n"
    "  \"lifecycle\": {\"prevent_destroy\": false, \"create_before_destroy\": false}}]}\n";

static char dir[64];
static mk_program *P;
static mk_state *ST;
static mk_plan *PLAN;

/* Load and evaluate the stack in dir, check the policies' structure. */
static void compile(void)
{
    const char *paths[] = {dir};
    P = mk_program_new();
    assert_true(mk_program_load(P, paths, 1));
    mk_eval_program(P);
    mk_policy_check_structure(P);
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/mk-policy-XXXXXX");
    assert_non_null(mkdtemp(dir));
    setenv("MOKSHA_KEY", KEY, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mk_plan_free(PLAN);
    PLAN = NULL;
    mk_state_free(ST);
    ST = NULL;
    mk_program_free(P);
    P = NULL;
    unsetenv("MOKSHA_KEY");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* Compile STACK with POLICIES, plan it against STATE, run the policies. */
static json_t *run_policies(mk_policy_run *run)
{
    mk_test_write(dir, "main.moksha", STACK);
    mk_test_write(dir, "policies.moksha", POLICIES);
    mk_test_write(dir, "state.json", STATE);
    compile();
    assert_int_equal(mk_diag_errors(P->diag), 0);
    char path[128], why[256];
    snprintf(path, sizeof path, "%s/state.json", dir);
    ST = mk_state_read(path, P->diag);
    assert_non_null(ST);
    mk_key k;
    assert_true(mk_key_load(&k, "/nonexistent", MK_KEY_READ, why, sizeof why));
    PLAN = mk_plan_build(P, ST, &k, false);
    assert_int_equal(PLAN->totals.create, 2);
    assert_int_equal(PLAN->totals.update, 1);
    json_t *results = mk_policy_check(P, PLAN, NULL, run);
    assert_int_equal(json_array_size(results), 7);
    return results;
}

static json_t *result(json_t *results, const char *name)
{
    size_t i;
    json_t *r;
    json_array_foreach(results, i, r)
        if (strcmp(json_string_value(json_object_get(r, "name")), name) == 0)
            return r;
    fail_msg("no result for policy %s", name);
    return NULL;
}

static const char *str(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

/* Violation i of a result: its address and message. */
static void assert_violation(json_t *r, size_t i, const char *address, const char *message)
{
    json_t *v = json_array_get(json_object_get(r, "violations"), i);
    assert_non_null(v);
    assert_string_equal(str(v, "address"), address);
    assert_string_equal(str(v, "message"), message);
}

static size_t count(json_t *r, const char *key) { return json_array_size(json_object_get(r, key)); }

/* The result of policy name, asserting its status and how many violations. */
static json_t *expect(json_t *results, const char *name, const char *status, size_t violations)
{
    json_t *r = result(results, name);
    assert_string_equal(str(r, "status"), status);
    assert_int_equal(count(r, "violations"), violations);
    return r;
}

static void test_levels_and_violations(void **state)
{
    (void)state;
    mk_policy_run run = {0};
    json_t *results = run_policies(&run);

    json_t *r = expect(results, "encrypted", "fail", 1);
    assert_string_equal(str(r, "enforcement"), "hard");
    assert_violation(r, 0, "bucket.assets", "bucket.assets must be encrypted");

    r = expect(results, "not-public", "fail", 1); /* soft without an override fails too */
    assert_string_equal(str(r, "enforcement"), "soft");
    assert_violation(r, 0, "bucket.assets", "bucket.assets is public");
    assert_true(json_is_null(json_object_get(r, "override")));

    r = expect(results, "versioned", "warn", 1);
    assert_violation(r, 0, "bucket.assets", "bucket.assets keeps no old versions");

    r = expect(results, "cidr", "pass", 0); /* no enforcement: hard */
    assert_string_equal(str(r, "enforcement"), "hard");
    assert_int_equal(count(r, "checkov"), 0); /* no checkov: an empty list, no differs */
    assert_true(json_is_null(json_object_get(r, "checkov_differs")));

    assert_int_equal(run.failed, 3); /* encrypted, not-public, versioning-changes */
    assert_int_equal(run.warned, 1);
    assert_int_equal(run.errored, 0);
    assert_int_equal(run.gates, 1);
    json_decref(results);
}

static void test_gates_and_risks(void **state)
{
    (void)state;
    mk_policy_run run = {0};
    json_t *results = run_policies(&run);

    json_t *r = expect(results, "new-networks", "pass", 0); /* a gate does not fail the plan */
    assert_int_equal(count(r, "gates"), 1);
    json_t *g = json_array_get(json_object_get(r, "gates"), 0);
    assert_string_equal(str(g, "group"), "netops");
    assert_string_equal(str(g, "address"), "network.main");
    assert_string_equal(str(g, "message"), "network.main is new");
    assert_int_equal(count(r, "risks"), 0);

    r = expect(results, "data", "pass", 0); /* one raised risk per bucket change, in plan order */
    assert_int_equal(count(r, "gates"), 0);
    assert_int_equal(count(r, "risks"), 2);
    static const char *const risky[] = {"bucket.assets", "bucket.logs"};
    for (size_t i = 0; i < 2; i++) {
        json_t *k = json_array_get(json_object_get(r, "risks"), i);
        char msg[64];
        snprintf(msg, sizeof msg, "%s holds data", risky[i]);
        assert_string_equal(str(k, "risk"), "high");
        assert_string_equal(str(k, "address"), risky[i]);
        assert_string_equal(str(k, "message"), msg);
    }
    json_decref(results);
}

/* c.before comes from the state, c.after from the stack. */
static void test_change_before_and_after(void **state)
{
    (void)state;
    mk_policy_run run = {0};
    json_t *results = run_policies(&run);
    json_t *r = expect(results, "versioning-changes", "fail", 1);
    assert_violation(r, 0, "bucket.logs", "bucket.logs: versioning false -> true");
    json_decref(results);
}

/* --override NAME --reason: a soft policy is overridden with its reason; a
 * hard one is not, and says so. */
static void test_overrides(void **state)
{
    (void)state;
    mk_policy_override ov[] = {{"not-public", "a public site"}, {"encrypted", "not now"}};
    mk_policy_run run = {.overrides = ov, .noverrides = 2};
    json_t *results = run_policies(&run);
    json_t *r = expect(results, "not-public", "overridden", 1);
    assert_string_equal(str(json_object_get(r, "override"), "reason"), "a public site");
    assert_false(json_is_true(json_object_get(r, "override_refused")));
    r = expect(results, "encrypted", "fail", 1);
    assert_true(json_is_true(json_object_get(r, "override_refused")));
    assert_int_equal(run.failed, 2); /* encrypted, versioning-changes */
    json_decref(results);
}

/* checkov and checkov_differs as the stack states them, in its order. */
static void test_checkov_metadata(void **state)
{
    (void)state;
    mk_policy_run run = {0};
    json_t *results = run_policies(&run);
    json_t *r = result(results, "encrypted");
    json_t *ids = json_object_get(r, "checkov");
    assert_int_equal(json_array_size(ids), 2);
    assert_string_equal(json_string_value(json_array_get(ids, 0)), "CKV_AWS_19");
    assert_string_equal(json_string_value(json_array_get(ids, 1)), "CKV2_AZURE_1");
    assert_string_equal(str(r, "checkov_differs"), "every cloud's buckets");
    json_decref(results);
}

/* A checkov field is a list of distinct Checkov ids; checkov_differs needs it. */
static void test_checkov_structure(void **state)
{
    (void)state;
    mk_test_write(dir, "main.moksha", STACK);
    mk_test_write(dir, "policies.moksha", "policy \"ids\" {\n"
                           "  checkov = [\"CKV_AWS_20\", \"CKV_AWS_20\", \"CKV_AWS_\", \"ckv2_gcp_12\", \"CKV2_GCP_12\"]\n"
                           "}\n"
                           "policy \"text\" {\n"
                           "  checkov = \"CKV_AWS_20\"\n"
                           "}\n"
                           "policy \"alone\" {\n"
                           "  checkov_differs = \"nothing to differ from\"\n"
                           "}\n"
                           "policy \"none\" {\n"
                           "  checkov = []\n"
                           "  checkov_differs = \"nothing to differ from\"\n"
                           "}\n"
                           "policy \"blank\" {\n"
                           "  checkov = [\"CKV_AWS_20\"]\n"
                           "  checkov_differs = \"\"\n"
                           "}\n"
                           "policy \"fine\" {\n"
                           "  checkov = [\"CKV_NCP_26\", \"CKV2_AZURE_119\"]\n"
                           "  checkov_differs = \"stricter\"\n"
                           "}\n");
    compile();
    /* the duplicate, CKV_AWS_ (no number), the lower-case id, the lone
     * differs, differs with an empty list, an empty differs */
    assert_int_equal(mk_diag_count(P->diag, "E0202"), 6);
    assert_int_equal(mk_diag_count(P->diag, "E0200"), 1); /* a string, not a list */
    assert_int_equal(mk_diag_errors(P->diag), 7);
}

/* Structure before a plan: each mistake once, with its code. */
static void test_structure(void **state)
{
    (void)state;
    mk_test_write(dir, "main.moksha", STACK);
    mk_test_write(dir, "policies.moksha", "policy \"p\" {\n"
                           "  enforcement = hrad\n"
                           "  resource bucket x {}\n"
                           "  for r in resources {\n"
                           "    assert 1 : \"x\"\n"
                           "  }\n}\n");
    compile();
    assert_int_equal(mk_diag_count(P->diag, "E0202"), 1); /* enforcement */
    assert_int_equal(mk_diag_count(P->diag, "E0119"), 1); /* a resource in a policy */
    assert_int_equal(mk_diag_count(P->diag, "E0200"), 1); /* assert on an int */
    assert_int_equal(mk_diag_errors(P->diag), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_levels_and_violations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gates_and_risks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_before_and_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_structure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkov_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkov_structure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
