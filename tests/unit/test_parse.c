/* Parser: the design's examples, tree shapes, precedence, recovery. */
#include "tests/unit/unit.h"

#include <string.h>

#include "compiler/base/diag.h"
#include "compiler/base/mem.h"
#include "compiler/front/parse.h"

typedef struct pfix {
    mk_ast_ctx ast;
    mk_srcset src;
    mk_diag *diag;
} pfix;

static pfix F;

static int setup(void **state)
{
    (void)state;
    F.ast = (mk_ast_ctx){.arena = mk_arena_new()}; /* a new arena: no spare lists of the last one */
    F.ast.names = mk_intern_new(F.ast.arena);
    mk_src_init(&F.src);
    F.diag = mk_diag_new(&F.src);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mk_diag_free(F.diag);
    mk_src_fini(&F.src);
    mk_intern_free(F.ast.names);
    mk_arena_free(F.ast.arena);
    memset(&F, 0, sizeof F);
    return 0;
}

static mk_ast *parse(const char *text)
{
    uint32_t id = mk_src_add(&F.src, "t.moksha", text, strlen(text));
    mk_source *s = mk_src_get(&F.src, id);
    return mk_parse_file(&F.ast, F.diag, id, s->text, (uint32_t)s->len);
}

static mk_ast *expr(const char *text)
{
    uint32_t id = mk_src_add(&F.src, "e", text, strlen(text));
    mk_source *s = mk_src_get(&F.src, id);
    return mk_parse_expr(&F.ast, F.diag, id, s->text, (uint32_t)s->len);
}

static void test_declarations(void **state)
{
    (void)state;
    mk_ast *f = parse("stack s { env = \"prod\" }\n"
                      "import \"./x\"\n"
                      "var n: int = 2 where n > 0 : \"positive\"\n"
                      "let t = { a = 1 }\n"
                      "provider sim { latency = 20ms }\n"
                      "resource local.file f { path = \"a\" }\n"
                      "output o = t.a\n"
                      "module m = \"./mod\" { x = 1 }\n"
                      "@resource type thing { @computed id: string\n size: size = 1GiB }\n"
                      "policy \"p\" { assert true : \"m\" }\n"
                      "test \"t\" { expect deny \"p\" }\n");
    assert_int_equal(mk_diag_errors(F.diag), 0);
    mk_ast_kind want[] = {MK_AST_STACK, MK_AST_IMPORT, MK_AST_VAR, MK_AST_LET, MK_AST_PROVIDER,
                          MK_AST_RESOURCE, MK_AST_OUTPUT, MK_AST_MODULE, MK_AST_TYPEDECL, MK_AST_POLICY, MK_AST_TEST};
    assert_int_equal(f->kids.n, sizeof want / sizeof *want);
    for (uint32_t i = 0; i < f->kids.n; i++)
        assert_int_equal(f->kids.v[i]->kind, want[i]);
    mk_ast *var = f->kids.v[2];
    assert_non_null(var->a);        /* type */
    assert_int_equal(var->b->kind, MK_AST_INT);
    assert_int_equal(var->c->kind, MK_AST_BINARY);
    assert_int_equal(var->d->kind, MK_AST_STRING);
    assert_string_equal(f->kids.v[5]->a->name, "local.file");
    mk_ast *ty = f->kids.v[8];
    assert_true(ty->flags & MK_ANN_RESOURCE);
    assert_true(ty->kids.v[0]->flags & MK_ANN_COMPUTED);
}

static void test_precedence(void **state)
{
    (void)state;
    mk_ast *e = expr("a + b * c == d && !e || f ? g : h");
    assert_non_null(e);
    assert_int_equal(e->kind, MK_AST_COND);
    mk_ast *or = e->a;
    assert_int_equal(or->op, MK_OP_OR);
    mk_ast *and = or->a;
    assert_int_equal(and->op, MK_OP_AND);
    mk_ast *eq = and->a;
    assert_int_equal(eq->op, MK_OP_EQ);
    assert_int_equal(eq->a->op, MK_OP_ADD);
    assert_int_equal(eq->a->b->op, MK_OP_MUL);
    assert_int_equal(and->b->kind, MK_AST_UNARY);
}

static void test_postfix_and_comprehensions(void **state)
{
    (void)state;
    mk_ast *e = expr("compute.web[*].id");
    assert_int_equal(e->kind, MK_AST_GETATTR);
    assert_int_equal(e->a->kind, MK_AST_SPLAT);
    e = expr("[for i, w in xs: w.id if i > 0]");
    assert_int_equal(e->kind, MK_AST_FOR_EXPR);
    assert_non_null(e->name2);
    assert_non_null(e->c);
    e = expr("{for k, v in m: k => v}");
    assert_int_equal(e->kind, MK_AST_FOR_EXPR);
    assert_int_equal(e->flags, 1);
    e = expr("f(1, [2,\n 3],)");
    assert_int_equal(e->kind, MK_AST_CALL);
    assert_int_equal(e->kids.n, 2);
    assert_int_equal(mk_diag_errors(F.diag), 0);
}

static void test_where_colon_vs_ternary(void **state)
{
    (void)state;
    mk_ast *f = parse("var x: int = 1 where x > 0 ? true : false : \"msg\"\n");
    assert_int_equal(mk_diag_errors(F.diag), 0);
    assert_int_equal(f->kids.v[0]->c->kind, MK_AST_COND);
    assert_int_equal(f->kids.v[0]->d->kind, MK_AST_STRING);
}

static void test_recovery_reports_each_item(void **state)
{
    (void)state;
    mk_ast *f = parse("let a = = 1\nlet b = 2\nlet c = )\nlet d = 4\n");
    assert_int_equal(mk_diag_count(F.diag, "E0100"), 2);
    int lets = 0;
    for (uint32_t i = 0; i < f->kids.n; i++)
        lets += f->kids.v[i]->kind == MK_AST_LET;
    assert_int_equal(lets, 2); /* b and d survive */
}

static void test_unclosed_brace_points_at_opener(void **state)
{
    (void)state;
    parse("stack s {\n  env = \"x\"\n");
    assert_int_equal(mk_diag_count(F.diag, "E0100"), 1);
}

static void test_deep_nesting_is_an_error(void **state)
{
    (void)state;
    char buf[20100];
    strcpy(buf, "let x = ");
    size_t n = strlen(buf);
    for (int i = 0; i < 10000; i++)
        buf[n++] = '!';
    buf[n++] = '1';
    buf[n] = 0;
    parse(buf);
    assert_true(mk_diag_errors(F.diag) >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_declarations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_postfix_and_comprehensions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_where_colon_vs_ternary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery_reports_each_item, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unclosed_brace_points_at_opener, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deep_nesting_is_an_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
