/* The executor's last word on policies (note [policy results] in
 * runtime/planfile.h): a plan signed by the project key still does not run
 * when its recorded policy results fail — a hard policy with violations, a
 * soft one without an override and its reason, results that contradict
 * themselves. The plans here are signed as the compiler signs
 * (mk_planfile_sign, compiler/back/planfile.c) and verified by the
 * executor's loader first. */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/back/planfile.h"
#include "compiler/base/key.h"
#include "compiler/cli/cmd_plan.h"
#include "compiler/middle/plan.h"
#include "runtime/planfile.h"

#define KEY "5f2a8c1e9b7d4036a1e2f3c4b5a69788c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2"

static char path[64];

static int setup(void **state)
{
    (void)state;
    strcpy(path, "/tmp/mk-pol-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    setenv("MOKSHA_KEY", KEY, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    unsetenv("MOKSHA_KEY");
    return 0;
}

/* One policy result as the compiler records it (compiler/middle/policy.c). */
static json_t *result(const char *enforcement, const char *status, int violations, const char *reason)
{
    json_t *v = json_array();
    for (int i = 0; i < violations; i++)
        json_array_append_new(v, json_pack("{s:s, s:s}", "message", "bucket.b must be encrypted", "address", "bucket.b"));
    return json_pack("{s:s, s:s, s:s, s:o, s:[], s:o}", "name", "p", "enforcement", enforcement, "status", status,
                     "violations", v, "gates", "override", reason ? json_pack("{s:s}", "reason", reason) : json_null());
}

/* Sign a plan holding these results, load it as the executor does (the
 * signature must verify), and ask whether its policies let it run. */
static bool runs(json_t *policies, char *why, size_t n)
{
    mk_key k;
    assert_true(mk_key_load(&k, "/nonexistent", false, why, n));
    json_t *p = json_pack("{s:s, s:s, s:s, s:{s:s, s:i}, s:[], s:[], s:{s:i, s:i, s:i, s:i, s:i}}", "format",
                          "moksha.plan/v1", "stack", "demo", "inputs_digest", "00", "state", "lineage", "", "serial", 0,
                          "changes", "gates", "totals", "create", 0, "update", 0, "replace", 0, "delete", 0, "noop", 0);
    if (policies)
        json_object_set_new(p, "policies", policies);
    char *text = mk_planfile_sign(p, &k);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    mk_planfile_free_text(text);
    json_decref(p);
    mk_planfile_key ek;
    assert_true(mk_planfile_key_load(&ek, "/nonexistent", why, n));
    json_t *got = NULL;
    assert_int_equal(mk_planfile_load(path, &ek, &got, why, n), MK_PLANFILE_OK);
    *why = 0;
    bool ok = mk_planfile_policies_ok(got, why, n);
    json_decref(got);
    return ok;
}

static bool runs1(json_t *r, char *why, size_t n) { return runs(json_pack("[o]", r), why, n); }

static void test_passing_results_run(void **state)
{
    (void)state;
    char why[512];
    assert_true(runs(json_array(), why, sizeof why));
    assert_true(runs1(result("hard", "pass", 0, NULL), why, sizeof why));
    assert_true(runs1(result("advisory", "warn", 1, NULL), why, sizeof why));
    assert_true(runs1(result("soft", "overridden", 1, "INC-42: approved by the SRE lead"), why, sizeof why));
}

static void test_failing_results_refused(void **state)
{
    (void)state;
    char why[512];
    assert_false(runs1(result("hard", "fail", 1, NULL), why, sizeof why));
    assert_non_null(strstr(why, "policy `p` (hard) failed: bucket.b must be encrypted"));
    assert_false(runs1(result("soft", "fail", 1, NULL), why, sizeof why));
    assert_non_null(strstr(why, "--override"));
}

/* A result that says it passed or was let through, but whose own fields say
 * otherwise, does not run either. */
static void test_contradicting_results_refused(void **state)
{
    (void)state;
    char why[512];
    assert_false(runs1(result("hard", "overridden", 1, "because"), why, sizeof why)); /* only soft can be */
    assert_false(runs1(result("soft", "overridden", 1, NULL), why, sizeof why));      /* no reason */
    assert_false(runs1(result("soft", "overridden", 1, "  \t"), why, sizeof why));    /* a blank one */
    assert_false(runs1(result("hard", "warn", 1, NULL), why, sizeof why));            /* only advisory warns */
    assert_false(runs1(result("hard", "pass", 2, NULL), why, sizeof why));            /* passed with violations */
    assert_false(runs1(result("hard", "error", 0, NULL), why, sizeof why));           /* a status unknown here */
    /* no `policies` at all is its default, none (docs/formats.md, "Defaults"): the plan runs */
    assert_true(runs(NULL, why, sizeof why));
    assert_false(runs(json_string("pass"), why, sizeof why)); /* results that are not a list */
    assert_string_equal(why, "the plan's policy results are not a list");
    /* one failure among passes is enough */
    assert_false(runs(json_pack("[o, o, o]", result("hard", "pass", 0, NULL), result("hard", "fail", 1, NULL),
                                result("advisory", "warn", 1, NULL)), why, sizeof why));
}

/* `moksha show` of such a plan says so first, and exits 3. */
static void test_show_says_it_fails(void **state)
{
    (void)state;
    char why[512], out[] = "/tmp/mk-show-XXXXXX";
    assert_false(runs1(result("hard", "fail", 1, NULL), why, sizeof why)); /* leaves the signed plan at path */
    int fd = mkstemp(out);
    assert_true(fd >= 0);
    fflush(stdout);
    int saved = dup(1);
    dup2(fd, 1);
    char *argv[] = {"show", path, NULL};
    int rc = mk_cmd_show(2, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(fd);
    FILE *f = fopen(out, "r");
    char text[4096] = "";
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    unlink(out);
    assert_int_equal(rc, 3);
    assert_true(strncmp(text, "POLICY FAILED: `p` (hard): bucket.b must be encrypted. moksha-exec refuses this plan.", 85) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_passing_results_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_results_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contradicting_results_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_show_says_it_fails, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
