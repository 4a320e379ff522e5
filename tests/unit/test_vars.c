/* An environment's variable layers (front/vars.c, note [env layers] in
 * compiler/pipeline.c): mk_vars_merge's rule — maps merge key by key,
 * recursively, keys in place; lists and scalars replace — and the layers
 * as the pipeline gives them (files, then MOKSHA_VAR_*, then --var), with
 * and without an environment. */
#include "tests/unit/unit.h"

#include <stdlib.h>
#include <string.h>

#include "compiler/base/buf.h"
#include "compiler/front/eval.h"
#include "compiler/front/program.h"
#include "compiler/front/vars.h"

static char dir[64];
static mk_program *P;

static int setup(void **state)
{
    (void)state;
    mk_test_tmpdir(dir, "/tmp/mk-vars-XXXXXX");
    P = mk_program_new();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mk_program_free(P);
    P = NULL;
    mk_test_rmdir(dir);
    return 0;
}

/* A value from moksha text, as --var gives an untyped variable: the stack
 * of v0 … v7 is loaded at the first call. */
static mk_value *val(const char *text)
{
    static int next;
    if (!P->root) {
        mk_test_write(dir, "v.moksha", "var v0: any\nvar v1: any\nvar v2: any\nvar v3: any\n"
                                       "var v4: any\nvar v5: any\nvar v6: any\nvar v7: any\n");
        const char *paths[] = {dir};
        assert_true(mk_program_load(P, paths, 1));
        next = 0;
    }
    assert_true(next < 8);
    char flag[512];
    snprintf(flag, sizeof flag, "v%d=%s", next, text);
    mk_vars_flag(P, flag);
    assert_int_equal(mk_diag_errors(P->diag), 0);
    return P->root->var_order[next++]->given;
}

static char shown[512];

static const char *show(const mk_value *v)
{
    mk_buf b = {0};
    mk_v_show(v, &b, true);
    snprintf(shown, sizeof shown, "%s", mk_buf_cstr(&b));
    mk_buf_free(&b);
    return shown;
}

static void test_maps_merge_recursively(void **state)
{
    (void)state;
    mk_value *under = val("{ a = 1, m = { x = 1, y = 2 }, l = [1, 2] }");
    mk_value *over = val("{ m = { y = 3, z = 4 }, l = [9], b = \"two\" }");
    assert_string_equal(show(mk_vars_merge(&P->v, under, over)), "{ a = 1, m = { x = 1, y = 3, z = 4 }, l = [9], b = \"two\" }");
    /* neither side is changed */
    assert_string_equal(show(under), "{ a = 1, m = { x = 1, y = 2 }, l = [1, 2] }");
    assert_string_equal(show(over), "{ m = { y = 3, z = 4 }, l = [9], b = \"two\" }");
}

static void test_anything_else_replaces(void **state)
{
    (void)state;
    mk_value *map = val("{ a = 1 }"), *list = val("[1, 2]"), *num = val("3");
    assert_ptr_equal(mk_vars_merge(&P->v, map, list), list);
    assert_ptr_equal(mk_vars_merge(&P->v, list, map), map);
    assert_ptr_equal(mk_vars_merge(&P->v, map, num), num);
    assert_ptr_equal(mk_vars_merge(&P->v, NULL, map), map);
    /* a map over a key that held a scalar takes its place whole */
    assert_string_equal(show(mk_vars_merge(&P->v, val("{ k = 1, j = 2 }"), val("{ k = { n = 1 } }"))), "{ k = { n = 1 }, j = 2 }");
    /* the empty map adds nothing and removes nothing */
    assert_string_equal(show(mk_vars_merge(&P->v, val("{ k = 1 }"), val("{}"))), "{ k = 1 }");
}

static mk_var *var_of(const char *name)
{
    for (uint32_t i = 0; i < P->root->nvars; i++)
        if (strcmp(P->root->var_order[i]->decl->name, name) == 0)
            return P->root->var_order[i];
    fail_msg("no variable %s", name);
    return NULL;
}

/* The pipeline's order: env/global.yaml, env/NAME.yaml, a --var-file, then --var. */
static void layers(bool merge)
{
    mk_test_write(dir, "main.moksha", "var tags: map(string) = { d = \"x\" }\nvar n: int = 1\nvar l: list(int) = []\n");
    mk_test_write(dir, "global.yaml", "tags:\n  team: shop\n  cost: c1\nn: 2\nl: [1, 2]\n");
    mk_test_write(dir, "prod.yaml", "tags:\n  tier: critical\nl: [3]\n");
    mk_test_write(dir, "extra.yaml", "tags:\n  team: checkout\n");
    char path[96];
    snprintf(path, sizeof path, "%s/main.moksha", dir);
    const char *paths[] = {path};
    assert_true(mk_program_load(P, paths, 1));
    P->vars_merge = merge;
    const char *files[] = {"global.yaml", "prod.yaml", "extra.yaml"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        mk_vars_file(P, path);
    }
    mk_vars_flag(P, "tags={ owner = \"ops\" }");
    assert_int_equal(mk_diag_errors(P->diag), 0);
}

static void test_layers_of_an_environment(void **state)
{
    (void)state;
    layers(true);
    assert_string_equal(show(var_of("tags")->given), "{ team = \"checkout\", cost = \"c1\", tier = \"critical\", owner = \"ops\" }");
    assert_string_equal(var_of("tags")->given_from, "--var");
    assert_string_equal(show(var_of("n")->given), "2");
    assert_string_equal(show(var_of("l")->given), "[3]");
}

static void test_no_environment_replaces_whole(void **state)
{
    (void)state;
    layers(false);
    assert_string_equal(show(var_of("tags")->given), "{ owner = \"ops\" }");
    assert_string_equal(show(var_of("l")->given), "[3]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_maps_merge_recursively, setup, teardown),
        cmocka_unit_test_setup_teardown(test_anything_else_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layers_of_an_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_environment_replaces_whole, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
