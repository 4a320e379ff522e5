/* outputs across stacks (docs/language.md, "Reading another stack's
 * outputs"): an `outputs` block's values come from the request's
 * read_outputs, asked once per block before evaluation with the reading
 * stack's name, the stack and the environment; each declared output is
 * checked against the answer — its type, its presence, no secret — as one
 * E0215 at the declaration; the plan records what was read. And a stack's
 * own outputs compared with the ones its state recorded. */
#include "tests/unit/unit.h"

#include <sys/stat.h>
#include <unistd.h>

#include "compiler/base/diag.h"
#include "compiler/pipeline.h"

#define KEY "5f2a8c1e9b7d4036a1e2f3c4b5a69788c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2"

static char dir[64], top[4096];

/* What the fake executor was asked, and what it answers. */
static struct {
    char self[64], stack[64], env[64];
    int calls;
    const char *answer; /* JSON text, or NULL: fail with "boom" */
} ex;

static json_t *fake_read(void *ud, const char *self, const char *stack, const char *env, char *why, size_t whylen)
{
    (void)ud;
    ex.calls++;
    snprintf(ex.self, sizeof ex.self, "%s", self);
    snprintf(ex.stack, sizeof ex.stack, "%s", stack);
    snprintf(ex.env, sizeof ex.env, "%s", env ? env : "(none)");
    if (!ex.answer) {
        snprintf(why, whylen, "boom");
        return NULL;
    }
    return json_loads(ex.answer, 0, NULL);
}

static const char NETWORK[] = "{\"stack\": \"network\", \"env\": null, \"lineage\": \"l-1\", \"serial\": 7, \"outputs\": "
                              "{\"vpc_id\": \"vpc-1\", \"n\": 3, \"zones\": [\"a\", \"b\"], \"later\": null, "
                              "\"token\": {\"$secret\": {\"sensitive\": true}}}}";

static int setup(void **state)
{
    (void)state;
    assert_non_null(getcwd(top, sizeof top));
    mk_test_tmpdir(dir, "/tmp/mk-outputs-XXXXXX");
    assert_int_equal(chdir(dir), 0);
    setenv("MOKSHA_KEY", KEY, 1);
    memset(&ex, 0, sizeof ex);
    ex.answer = NETWORK;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unsetenv("MOKSHA_KEY");
    assert_int_equal(chdir(top), 0);
    mk_test_rmdir(dir);
    return 0;
}

/* Plan main.moksha (text) against the fake executor (or none). */
static bool plan(const char *text, bool with_reader, mk_planned *pl)
{
    mk_test_write(".", "main.moksha", text);
    const char *paths[] = {"main.moksha"};
    mk_pipeline_req r = {.paths = paths, .npaths = 1, .read_outputs = with_reader ? fake_read : NULL};
    return mk_pipeline_plan(&r, pl, true);
}

/* The one error's code, message and line:column. */
static void assert_error(const mk_planned *pl, const char *msg, uint32_t line, uint32_t col)
{
    const char *code, *m;
    mk_span at;
    assert_int_equal(mk_diag_errors(pl->p->diag), 1);
    assert_true(mk_diag_last_error(pl->p->diag, &code, &m, &at));
    assert_string_equal(code, "E0215");
    assert_string_equal(m, msg);
    mk_source *f = mk_src_get(&pl->p->src, at.file);
    uint32_t l = 1, c = 1;
    for (uint32_t i = 0; i < at.start; i++)
        f->text[i] == '\n' ? (l++, c = 1) : c++;
    assert_int_equal(l, line);
    assert_int_equal(c, col);
}

static void test_typed_values_and_reads(void **state)
{
    (void)state;
    mk_planned pl;
    assert_true(plan("stack app {}\n"
                     "outputs network {\n  vpc_id: string\n  n: int\n  zones: list(string)\n  later: string\n}\n"
                     "output v = \"${outputs.network.vpc_id}-${outputs.network.n}-${join(\",\", outputs.network.zones)}\"\n"
                     "output l = outputs.network.later\n",
                     true, &pl));
    assert_int_equal(ex.calls, 1);
    assert_string_equal(ex.self, "app");
    assert_string_equal(ex.stack, "network");
    assert_string_equal(ex.env, "(none)");
    assert_string_equal(json_string_value(json_object_get(pl.model->outputs, "v")), "vpc-1-3-a,b");
    assert_true(json_is_null(json_object_get(pl.model->outputs, "l"))); /* known after network's next apply */
    char *reads = json_dumps(pl.model->reads, JSON_COMPACT);
    assert_string_equal(reads, "[{\"stack\":\"network\",\"env\":null,\"lineage\":\"l-1\",\"serial\":7}]");
    free(reads);
    assert_non_null(strstr(pl.text, ",\"reads\":[{\"stack\":\"network\",\"env\":null,\"lineage\":\"l-1\",\"serial\":7}],"));
    mk_pipeline_planned_free(&pl);
}

/* Each way a declared output cannot be read: one E0215 at the place. */
static void test_unreadable_outputs(void **state)
{
    (void)state;
    static const struct {
        const char *decls, *msg;
        bool fails; /* the executor answers nothing */
        uint32_t line, col;
    } cases[] = {
        {"  n: string\n", "output `n` of stack `network` does not have the type declared: expected string, found int",
         false, 3, 6},
        {"  env = \"dev\"\n  vpc: string\n", "stack `network` (env dev) has no output `vpc`", false, 4, 3},
        {"  token: string\n", "output `token` of stack `network` is sensitive: secrets never cross stacks", false, 3, 3},
        {"  vpc_id: string\n", "cannot read the outputs of stack `network`: boom", true, 2, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[256];
        snprintf(text, sizeof text, "stack app {}\noutputs network {\n%s}\n", cases[i].decls);
        ex.answer = cases[i].fails ? NULL : NETWORK;
        mk_planned pl;
        assert_false(plan(text, true, &pl));
        assert_error(&pl, cases[i].msg, cases[i].line, cases[i].col);
        assert_null(pl.model);
        mk_pipeline_planned_free(&pl);
    }
    assert_string_equal(ex.env, "(none)"); /* the last asked for this plan's environment; the second for dev */
}

/* Without an executor (moksha check) the outputs are unknowns of their
 * declared types: a use of the wrong kind is still an error. */
static void test_no_reader_checks_declared_types(void **state)
{
    (void)state;
    mk_planned pl;
    assert_true(plan("stack app {}\noutputs network {\n  n: int\n}\noutput x = outputs.network.n + 1\n", false, &pl));
    assert_int_equal(ex.calls, 0);
    assert_null(pl.model->reads);
    assert_true(json_is_null(json_object_get(pl.model->outputs, "x")));
    mk_pipeline_planned_free(&pl);
    assert_false(plan("stack app {}\noutputs network {\n  n: int\n}\noutput x = outputs.network.n + \"a\"\n", false, &pl));
    assert_int_equal(mk_diag_errors(pl.p->diag), 1);
    mk_pipeline_planned_free(&pl);
}

/* A stack's own outputs against the ones its state recorded: changed, new,
 * gone; the same value is no change. */
static void test_outputs_changed(void **state)
{
    (void)state;
    mkdir(".moksha", 0700);
    mk_test_write(".moksha", "state.json", "{\"format\": \"moksha.state/v1\", \"lineage\": \"l-2\", \"serial\": 2, "
                                           "\"outputs\": {\"a\": \"1\", \"b\": \"2\", \"gone\": 3}, \"resources\": []}");
    mk_planned pl;
    assert_true(plan("output a = \"1\"\noutput b = \"two\"\noutput c = [1]\n", false, &pl));
    assert_int_equal(pl.model->nchanges, 0);
    assert_int_equal(pl.model->outputs_changed.n, 3);
    assert_string_equal(pl.model->outputs_changed.v[0], "b");
    assert_string_equal(pl.model->outputs_changed.v[1], "c");
    assert_string_equal(pl.model->outputs_changed.v[2], "gone");
    assert_non_null(strstr(pl.text, ",\"outputs_changed\":[\"b\",\"c\",\"gone\"],\"outputs_before\":{\"b\":\"2\",\"gone\":3},"));
    mk_pipeline_planned_free(&pl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_typed_values_and_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_outputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_reader_checks_declared_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outputs_changed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
