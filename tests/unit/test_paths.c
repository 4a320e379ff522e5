/* The executor's environment files (runtime/paths.c): the names an
 * environment may have, the files each selection names, and a plan's
 * environment bound to the one selected (note [plan environment]). */
#include "tests/unit/unit.h"

#include <string.h>

#include "runtime/paths.h"

static int reset(void **state)
{
    (void)state;
    char why[256];
    assert_true(mk_paths_select(NULL, why, sizeof why));
    return 0;
}

static void test_names(void **state)
{
    (void)state;
    assert_true(mk_paths_env_valid("prod"));
    assert_true(mk_paths_env_valid("prod-eu_2"));
    assert_true(mk_paths_env_valid("0day"));
    assert_false(mk_paths_env_valid(""));
    assert_false(mk_paths_env_valid(NULL));
    assert_false(mk_paths_env_valid("Prod"));
    assert_false(mk_paths_env_valid("-x"));
    assert_false(mk_paths_env_valid("_x"));
    assert_false(mk_paths_env_valid("../prod"));
    assert_false(mk_paths_env_valid("a/b"));
    char long_name[MK_ENV_MAX + 2];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[MK_ENV_MAX + 1] = 0;
    assert_false(mk_paths_env_valid(long_name));
    long_name[MK_ENV_MAX] = 0;
    assert_true(mk_paths_env_valid(long_name));
}

static void test_files_of_a_selection(void **state)
{
    (void)state;
    char why[256];
    assert_string_equal(MK_PATH_STATE, ".moksha/state.json");
    assert_string_equal(MK_PATH_SIM, ".moksha/sim");
    assert_true(mk_paths_select("dev", why, sizeof why));
    assert_string_equal(MK_PATH_ENV_DIR, ".moksha/env/dev");
    assert_string_equal(MK_PATH_STATE, ".moksha/env/dev/state.json");
    assert_string_equal(MK_PATH_LOCKFILE, ".moksha/env/dev/state.lock");
    assert_string_equal(MK_PATH_AUDIT, ".moksha/env/dev/audit.jsonl");
    assert_string_equal(MK_PATH_OBSERVED, ".moksha/env/dev/observed.json");
    assert_string_equal(MK_PATH_SIM, ".moksha/env/dev/sim");
    assert_false(mk_paths_select("../x", why, sizeof why));
    assert_non_null(strstr(why, "`../x` is not an environment's name"));
    assert_string_equal(MK_PATH_STATE, ".moksha/env/dev/state.json"); /* a refused name changes nothing */
}

static void test_plan_binding(void **state)
{
    (void)state;
    char why[512] = "";
    assert_true(mk_paths_bind(NULL, why, sizeof why)); /* none and none */
    assert_string_equal(MK_PATH_STATE, ".moksha/state.json");
    assert_true(mk_paths_bind("prod", why, sizeof why)); /* none selected: the plan's */
    assert_string_equal(MK_PATH_STATE, ".moksha/env/prod/state.json");
    assert_true(mk_paths_bind("prod", why, sizeof why)); /* the same */
    assert_false(mk_paths_bind("dev", why, sizeof why));
    assert_string_equal(why, "the plan was made for environment dev, and --env (or MOKSHA_ENV) selects environment prod: "
                             "apply it with --env dev, or plan again with --env prod");
    assert_false(mk_paths_bind(NULL, why, sizeof why));
    assert_non_null(strstr(why, "the plan was made without an environment (the stack's own files, .moksha/state.json)"));
    assert_string_equal(MK_PATH_STATE, ".moksha/env/prod/state.json");
    reset(NULL);
    assert_false(mk_paths_bind("", why, sizeof why)); /* a plan whose env is no name */
    assert_string_equal(MK_PATH_STATE, ".moksha/state.json");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_names, reset, reset),
        cmocka_unit_test_setup_teardown(test_files_of_a_selection, reset, reset),
        cmocka_unit_test_setup_teardown(test_plan_binding, reset, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
