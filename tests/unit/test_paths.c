/* The executor's environment files (runtime/paths.c): the names an
 * environment may have, the files each selection names, and a plan's
 * environment bound to the one selected (note [plan environment]); an
 * environment's directories refused when a link or a file stands in for
 * one (mk_paths_own_dirs), in a temporary directory of its own. */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static void test_own_dirs(void **state)
{
    (void)state;
    char tmp[] = "/tmp/moksha-paths-XXXXXX", back[4096], why[512] = "";
    assert_non_null(getcwd(back, sizeof back));
    assert_non_null(mkdtemp(tmp));
    assert_int_equal(chdir(tmp), 0);
    assert_true(mk_paths_own_dirs("prod", why, sizeof why)); /* nothing there yet */
    assert_int_equal(mkdir(".moksha", 0700) | mkdir(".moksha/env", 0700) | mkdir(".moksha/env/dev", 0700), 0);
    assert_true(mk_paths_own_dirs("dev", why, sizeof why));
    assert_true(mk_paths_own_dirs("prod", why, sizeof why)); /* .moksha/env/prod not yet made */
    assert_int_equal(symlink("dev", ".moksha/env/prod"), 0);
    assert_false(mk_paths_own_dirs("prod", why, sizeof why));
    assert_string_equal(why, "environment prod: .moksha/env/prod is a symbolic link: an environment's directories are the "
                             "stack's own, or its files would be another's; make it a plain directory");
    assert_true(mk_paths_own_dirs(NULL, why, sizeof why)); /* no environment: as before */
    assert_int_equal(unlink(".moksha/env/prod"), 0);
    FILE *f = fopen(".moksha/env/prod", "w");
    assert_non_null(f);
    fclose(f);
    assert_false(mk_paths_own_dirs("prod", why, sizeof why));
    assert_non_null(strstr(why, "environment prod: .moksha/env/prod is not a directory: "));
    assert_int_equal(unlink(".moksha/env/prod") | rmdir(".moksha/env/dev") | rmdir(".moksha/env"), 0);
    assert_int_equal(symlink("dev", ".moksha/env"), 0);
    assert_false(mk_paths_own_dirs("dev", why, sizeof why));
    assert_non_null(strstr(why, "environment dev: .moksha/env is a symbolic link"));
    assert_int_equal(unlink(".moksha/env") | rmdir(".moksha"), 0);
    assert_int_equal(chdir(back), 0);
    assert_int_equal(rmdir(tmp), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_names, reset, reset),
        cmocka_unit_test_setup_teardown(test_files_of_a_selection, reset, reset),
        cmocka_unit_test_setup_teardown(test_plan_binding, reset, reset),
        cmocka_unit_test_setup_teardown(test_own_dirs, reset, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
