/* mk_program_stack_name: the stack's name read from its `stack` block by
 * the lexer alone, before anything is parsed (compiler/front/program.c),
 * for the executor that keys a state by it. */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/front/program.h"

static char dir[64];

static void put(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/mk-stackname-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *name_of(const char *path, char *out, size_t n, bool *any)
{
    const char *paths[] = {path};
    *any = mk_program_stack_name(paths, 1, out, n);
    return out;
}

static void test_block_name(void **state)
{
    (void)state;
    char out[128], path[128];
    bool any;
    put("a.moksha", "# a stack\nlet x = stack.env\nstack shop {\n  env = \"dev\"\n}\nresource network n { cidr = \"10.0.0.0/16\" }\n");
    snprintf(path, sizeof path, "%s/a.moksha", dir);
    assert_string_equal(name_of(path, out, sizeof out, &any), "shop");
    assert_true(any);
}

static void test_directory_default_and_none(void **state)
{
    (void)state;
    char out[128], path[128];
    bool any;
    put("a.moksha", "let t = { env = stack.env }\n");
    put("b.moksha", "provider sim {}\n");
    assert_string_equal(name_of(dir, out, sizeof out, &any), "stack"); /* no block: eval.c's default */
    assert_true(any);
    put("b.moksha", "stack {\n  owner = \"x\"\n}\n");
    assert_string_equal(name_of(dir, out, sizeof out, &any), "stack");
    put("b.moksha", "stack web {}\n");
    assert_string_equal(name_of(dir, out, sizeof out, &any), "web"); /* a has none: b's, in the loader's order */
    snprintf(path, sizeof path, "%s/missing.moksha", dir);
    assert_string_equal(name_of(path, out, sizeof out, &any), "");
    assert_false(any);
}

/* A block past the first 64 KiB read is found in the whole file; a name
 * the cut would split is never taken from the prefix. */
static void test_block_past_the_prefix(void **state)
{
    (void)state;
    char out[128];
    bool any;
    for (size_t pad = 65536 - 12; pad <= 65536 + 2; pad += 7) {
        char *text = malloc(pad + 64);
        assert_non_null(text);
        memset(text, ' ', pad);
        text[0] = '#'; /* one long comment line, then the block */
        snprintf(text + pad, 64, "\nstack warehouse {}\n");
        put("a.moksha", text);
        free(text);
        assert_string_equal(name_of(dir, out, sizeof out, &any), "warehouse");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_block_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_default_and_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_past_the_prefix, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
