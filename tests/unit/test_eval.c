/* Checker and evaluator: values, expansion, references and edges, variable
 * precedence, unknowns, secrets, and one diagnostic per mistake. */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/base/mem.h"
#include "compiler/front/eval.h"
#include "compiler/front/program.h"
#include "compiler/front/vars.h"

static char dir[64];
static mk_program *P;

static int setup(void **state)
{
    (void)state;
    mk_test_tmpdir(dir, "/tmp/mk-eval-XXXXXX");
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

static void load(const char *text)
{
    mk_test_write(dir, "main.moksha", text);
    const char *paths[] = {dir};
    assert_true(mk_program_load(P, paths, 1));
}

static void run(const char *text)
{
    load(text);
    mk_eval_program(P);
}

static mk_instance *inst(const char *address)
{
    for (size_t i = 0; i < P->ninstances; i++)
        if (strcmp(P->instances[i]->address, address) == 0)
            return P->instances[i];
    fail_msg("no instance %s", address);
    return NULL;
}

static mk_value *attr(const char *address, const char *name)
{
    mk_value *v = mk_v_get(inst(address)->attrs, mk_intern_s(P->ast.names, name));
    assert_non_null(v);
    return v;
}

static bool depends(const char *from, const char *to)
{
    mk_instance *a = inst(from), *b = inst(to);
    for (uint32_t i = 0; i < a->ndeps; i++)
        if (a->deps[i] == b)
            return true;
    return false;
}

static void test_values_and_defaults(void **state)
{
    (void)state;
    run("resource compute web {\n cpu = 1 + 1\n memory = 2 * 4GiB\n image = \"nginx\"\n}\n");
    assert_int_equal(mk_diag_errors(P->diag), 0);
    assert_int_equal(attr("compute.web", "cpu")->u.i, 2);
    assert_int_equal(attr("compute.web", "memory")->u.i, 8LL << 30);
    assert_int_equal(attr("compute.web", "disk")->u.i, 20LL << 30);       /* schema default */
    assert_string_equal(attr("compute.web", "arch")->u.s, "x86_64");
    assert_int_equal(attr("compute.web", "id")->kind, MK_V_UNKNOWN);        /* computed */
}

static void test_count_for_each_addresses(void **state)
{
    (void)state;
    run("resource network n {\n count = 3\n cidr = \"10.${count.index}.0.0/16\"\n}\n"
        "resource local.file f {\n for_each = { small = 1GiB, large = 8GiB }\n path = \"${each.key}.txt\"\n"
        " content = \"${each.value}\"\n}\n");
    assert_int_equal(mk_diag_errors(P->diag), 0);
    assert_int_equal(P->ninstances, 5);
    assert_string_equal(attr("network.n[2]", "cidr")->u.s, "10.2.0.0/16");
    assert_string_equal(attr("local.file.f[\"large\"]", "content")->u.s, "8GiB");
    assert_string_equal(attr("local.file.f[\"small\"]", "path")->u.s, "small.txt");
}

static void test_references_make_edges(void **state)
{
    (void)state;
    run("resource compute web {\n count = 2\n cpu = 1\n memory = 1GiB\n image = \"x\"\n network = network.main\n}\n"
        "resource network main { cidr = \"10.0.0.0/16\" }\n"
        "resource local.file ids {\n path = \"ids\"\n content = join(\",\", compute.web[*].image)\n}\n"
        "resource bucket b {\n depends_on = [network.main]\n}\n");
    assert_int_equal(mk_diag_errors(P->diag), 0);
    assert_true(depends("compute.web[0]", "network.main"));
    assert_true(depends("compute.web[1]", "network.main"));
    assert_true(depends("local.file.ids", "compute.web[1]"));
    assert_true(depends("bucket.b", "network.main"));
    assert_false(depends("network.main", "compute.web[0]"));
    assert_string_equal(attr("local.file.ids", "content")->u.s, "x,x");
    /* dependencies come first in the instance order */
    size_t net = 0, web = 0;
    for (size_t i = 0; i < P->ninstances; i++) {
        if (strcmp(P->instances[i]->address, "network.main") == 0)
            net = i;
        if (strcmp(P->instances[i]->address, "compute.web[0]") == 0)
            web = i;
    }
    assert_true(net < web);
}

static void test_var_precedence(void **state)
{
    (void)state;
    load("var a: int = 1\nvar b: int = 1\nvar c: int = 1\nvar d: int = 1\n"
         "resource network n {\n cidr = \"x\"\n tags = { a = \"${var.a}\", b = \"${var.b}\", c = \"${var.c}\", d = \"${var.d}\" }\n}\n");
    mk_test_write(dir, "vars.yaml", "b: 2\nc: 2\nd: 2\n");
    char path[128];
    snprintf(path, sizeof path, "%s/vars.yaml", dir);
    setenv("MOKSHA_VAR_c", "3", 1);
    setenv("MOKSHA_VAR_d", "3", 1);
    mk_vars_file(P, path);
    mk_vars_env(P);
    mk_vars_flag(P, "d=4");
    mk_eval_program(P);
    unsetenv("MOKSHA_VAR_c");
    unsetenv("MOKSHA_VAR_d");
    assert_int_equal(mk_diag_errors(P->diag), 0);
    mk_value *tags = attr("network.n", "tags");
    const char *want[] = {"1", "2", "3", "4"};
    for (uint32_t i = 0; i < 4; i++)
        assert_string_equal(tags->u.map.vals[i]->u.s, want[i]);
}

static void test_var_value_is_typed(void **state)
{
    (void)state;
    load("var mem: size\nvar n: int\n");
    mk_vars_flag(P, "mem=8GiB");
    mk_vars_flag(P, "n=4GiB");
    mk_eval_program(P);
    assert_int_equal(mk_diag_count(P->diag, "E0200"), 1);
}

static void test_check_without_values_still_types(void **state)
{
    (void)state;
    run("var n: int\nvar s: string\n"
        "resource compute web {\n count = var.n\n cpu = var.n\n memory = var.n * 1GiB\n image = var.s\n}\n"
        "resource bucket b { encrypted = var.s }\n");
    assert_int_equal(mk_diag_errors(P->diag), 1);
    assert_int_equal(mk_diag_count(P->diag, "E0200"), 1); /* encrypted = string */
}

static void test_strict_reports_missing_vars(void **state)
{
    (void)state;
    P->strict = true;
    run("var a: int\nvar b: string\nvar c: int = 1\n");
    assert_int_equal(mk_diag_count(P->diag, "E0211"), 2);
}

static void test_secret_taints(void **state)
{
    (void)state;
    load("var pw: secret\nresource local.file f {\n path = \"p\"\n content = \"pw=${var.pw}\"\n}\n");
    mk_vars_flag(P, "pw=hunter2");
    mk_eval_program(P);
    mk_value *c = attr("local.file.f", "content");
    assert_true(mk_v_is_secret(c));
    mk_buf b = {0};
    mk_v_show(c, &b, false);
    assert_null(strstr(mk_buf_cstr(&b), "hunter2"));
    mk_buf_free(&b);
}

static void test_one_mistake_one_error(void **state)
{
    (void)state;
    run("let a = 4GiB + 30s\nlet b = a * 2\nlet c = \"${b}\"\n"
        "resource compute web {\n count = 5\n cpu = 2\n memory = 4\n image = c\n}\n");
    assert_int_equal(mk_diag_count(P->diag, "E0204"), 1);
    assert_int_equal(mk_diag_count(P->diag, "E0203"), 1); /* five instances, one place: once */
    assert_int_equal(mk_diag_errors(P->diag), 2);
}

static void test_cycle_once(void **state)
{
    (void)state;
    run("let a = b\nlet b = c\nlet c = a\n");
    assert_int_equal(mk_diag_count(P->diag, "E0120"), 1);
}

static void test_modules(void **state)
{
    (void)state;
    char sub[128];
    snprintf(sub, sizeof sub, "%s/mod", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    mk_test_write(dir, "mod/main.moksha", "var cidr: string\nresource network n { cidr = var.cidr }\noutput id = network.n.cidr\n");
    run("module a = \"./mod\" { cidr = \"10.1.0.0/16\" }\nmodule b = \"./mod\" { cidr = \"10.2.0.0/16\" }\n"
        "output x = module.a.id\n");
    assert_int_equal(mk_diag_errors(P->diag), 0);
    assert_string_equal(attr("module.a.network.n", "cidr")->u.s, "10.1.0.0/16");
    assert_string_equal(attr("module.b.network.n", "cidr")->u.s, "10.2.0.0/16");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_values_and_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_for_each_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_references_make_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_var_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_var_value_is_typed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_without_values_still_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strict_reports_missing_vars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_taints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_mistake_one_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cycle_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
