/* Lexer: literals with units, the newline rule, strings and their errors. */
#include "tests/unit/unit.h"

#include <string.h>

#include "compiler/base/diag.h"
#include "compiler/front/lex.h"
#include "compiler/base/mem.h"
#include "parser.h"

typedef struct lexfix {
    mk_ast_ctx ast;
    mk_srcset src;
    mk_diag *diag;
    mk_lexer lx;
} lexfix;

static lexfix *fix_open(const char *text)
{
    lexfix *f = mk_mem_calloc(1, sizeof *f);
    f->ast.arena = mk_arena_new();
    f->ast.names = mk_intern_new(f->ast.arena);
    mk_src_init(&f->src);
    f->diag = mk_diag_new(&f->src);
    uint32_t id = mk_src_add(&f->src, "t.moksha", text, strlen(text));
    mk_source *s = mk_src_get(&f->src, id);
    mk_lex_init(&f->lx, &f->ast, f->diag, id, s->text, (uint32_t)s->len);
    return f;
}

static void fix_close(lexfix *f)
{
    mk_diag_free(f->diag);
    mk_src_fini(&f->src);
    mk_intern_free(f->ast.names);
    mk_arena_free(f->ast.arena);
    mk_mem_free(f);
}

static int next(lexfix *f, mk_tok *t)
{
    mk_span sp;
    return mk_lex_next(&f->lx, t, &sp);
}

static void test_units(void **state)
{
    (void)state;
    lexfix *f = fix_open("4GiB 100GB 512MiB 1.5KiB 20ms 30s 5m 2h 7d $12.50 1_000 3.5");
    mk_tok t;
    assert_int_equal(next(f, &t), SIZE);
    assert_int_equal(t.ival, 4LL << 30);
    assert_int_equal(next(f, &t), SIZE);
    assert_int_equal(t.ival, 100000000000LL);
    assert_int_equal(next(f, &t), SIZE);
    assert_int_equal(t.ival, 512LL << 20);
    assert_int_equal(next(f, &t), SIZE);
    assert_int_equal(t.ival, 1536);
    assert_int_equal(next(f, &t), DURATION);
    assert_int_equal(t.ival, 20);
    assert_int_equal(next(f, &t), DURATION);
    assert_int_equal(t.ival, 30000);
    assert_int_equal(next(f, &t), DURATION);
    assert_int_equal(t.ival, 300000);
    assert_int_equal(next(f, &t), DURATION);
    assert_int_equal(t.ival, 7200000);
    assert_int_equal(next(f, &t), DURATION);
    assert_int_equal(t.ival, 604800000LL);
    assert_int_equal(next(f, &t), MONEY);
    assert_int_equal(t.ival, 12500000); /* micro-dollars, exact (note [money]) */
    assert_int_equal(next(f, &t), INT);
    assert_int_equal(t.ival, 1000);
    assert_int_equal(next(f, &t), NUMBER);
    assert_true(t.num == 3.5);
    assert_int_equal(mk_diag_errors(f->diag), 0);
    fix_close(f);
}

/* Money literals are exact to the micro-dollar; a finer or larger one is
 * an error, never silently rounded. */
static void test_money(void **state)
{
    (void)state;
    lexfix *f = fix_open("$1.005 $1_000.25 $0.000116 $0.0000001 $99999999999999");
    mk_tok t;
    assert_int_equal(next(f, &t), MONEY);
    assert_int_equal(t.ival, 1005000);
    assert_int_equal(next(f, &t), MONEY);
    assert_int_equal(t.ival, 1000250000);
    assert_int_equal(next(f, &t), MONEY);
    assert_int_equal(t.ival, 116);
    assert_int_equal(mk_diag_errors(f->diag), 0);
    assert_int_equal(next(f, &t), MONEY);
    assert_int_equal(mk_diag_errors(f->diag), 1);
    assert_int_equal(next(f, &t), MONEY);
    assert_int_equal(mk_diag_errors(f->diag), 2);
    fix_close(f);
}

static void test_newline_rule(void **state)
{
    (void)state;
    /* a newline after `=` or inside [ ] is space; after a value it ends the item */
    lexfix *f = fix_open("a =\n 1\nb = [\n 1,\n 2\n]\nc = { x = 1\n y = 2 }\n");
    int kinds[64], n = 0;
    mk_tok t;
    int k;
    while ((k = next(f, &t)) != 0 && n < 64)
        kinds[n++] = k;
    int want[] = {IDENT, '=', INT, NEWLINE, IDENT, '=', '[', INT, ',', INT, ']', NEWLINE,
                  IDENT, '=', '{', IDENT, '=', INT, NEWLINE, IDENT, '=', INT, '}', NEWLINE};
    assert_int_equal(n, (int)(sizeof want / sizeof *want));
    for (int i = 0; i < n; i++)
        assert_int_equal(kinds[i], want[i]);
    fix_close(f);
}

static void test_final_newline_added(void **state)
{
    (void)state;
    lexfix *f = fix_open("x = 1");
    mk_tok t;
    assert_int_equal(next(f, &t), IDENT);
    assert_int_equal(next(f, &t), '=');
    assert_int_equal(next(f, &t), INT);
    assert_int_equal(next(f, &t), NEWLINE);
    assert_int_equal(next(f, &t), 0);
    fix_close(f);
}

static void test_interpolation(void **state)
{
    (void)state;
    lexfix *f = fix_open("\"web x${var.n} in ${ {a = 1}.a }\"");
    mk_tok t;
    int want[] = {STR_OPEN, STR_PART, INTERP_OPEN, KW_VAR, '.', IDENT, INTERP_CLOSE, STR_PART,
                  INTERP_OPEN, '{', IDENT, '=', INT, '}', '.', IDENT, INTERP_CLOSE, STR_CLOSE};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        assert_int_equal(next(f, &t), want[i]);
    fix_close(f);
}

static void test_plain_string_and_escapes(void **state)
{
    (void)state;
    lexfix *f = fix_open("\"a\\tb\\u00e9 $${x}\"");
    mk_tok t;
    assert_int_equal(next(f, &t), STRING);
    assert_string_equal(t.text->s, "a\tb\xc3\xa9 ${x}");
    fix_close(f);
}

static void test_triple_string_dedent(void **state)
{
    (void)state;
    lexfix *f = fix_open("x = \"\"\"\n    line one\n      two\n    \"\"\"\n");
    mk_tok t;
    next(f, &t);
    next(f, &t);
    assert_int_equal(next(f, &t), STRING);
    assert_string_equal(t.text->s, "line one\n  two\n"); /* a heredoc: the last newline stays */
    fix_close(f);
    f = fix_open("x = \"\"\"\nno newline\"\"\"\n");
    next(f, &t);
    next(f, &t);
    assert_int_equal(next(f, &t), STRING);
    assert_string_equal(t.text->s, "no newline");
    fix_close(f);
}

static void test_exponents(void **state)
{
    (void)state;
    lexfix *f = fix_open("1e-3 2E5 1.5e10 2.5E+3 1_000e3 1e400 2e5x");
    mk_tok t;
    static const double want[] = {1e-3, 2e5, 1.5e10, 2.5e3, 1e6};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(next(f, &t), NUMBER);
        assert_true(t.num == want[i]);
    }
    assert_int_equal(mk_diag_count(f->diag, "E0004"), 0);
    assert_int_equal(next(f, &t), NUMBER); /* 1e400: out of range */
    assert_int_equal(mk_diag_count(f->diag, "E0004"), 1);
    next(f, &t); /* 2e5x: an unknown unit, not a number and a name */
    assert_int_equal(mk_diag_count(f->diag, "E0004"), 2);
    fix_close(f);
}

static void test_huge_string_one_error(void **state)
{
    (void)state;
    size_t n = (size_t)17 << 20;
    char *text = mk_mem_alloc(n + 16);
    memcpy(text, "x = \"", 5);
    memset(text + 5, 'a', n);
    memcpy(text + 5 + n, "\"\n", 3);
    lexfix *f = fix_open(text);
    mk_tok t;
    while (next(f, &t) != 0)
        ;
    assert_int_equal(mk_diag_count(f->diag, "E0007"), 1);
    assert_int_equal(mk_diag_count(f->diag, "E0002"), 0);
    assert_int_equal(mk_diag_errors(f->diag), 1);
    fix_close(f);
    mk_mem_free(text);
}

static void test_errors(void **state)
{
    (void)state;
    lexfix *f = fix_open("4x \"unterminated\n\"\\q\" ~ 99999999999999999999");
    mk_tok t;
    while (next(f, &t) != 0)
        ;
    assert_int_equal(mk_diag_count(f->diag, "E0004"), 2); /* unit and overflow */
    assert_int_equal(mk_diag_count(f->diag, "E0002"), 1);
    assert_int_equal(mk_diag_count(f->diag, "E0005"), 1);
    assert_int_equal(mk_diag_count(f->diag, "E0001"), 1);
    fix_close(f);
}

static void test_unterminated_comment_stops(void **state)
{
    (void)state;
    lexfix *f = fix_open("a /* never closed");
    mk_tok t;
    assert_int_equal(next(f, &t), IDENT);
    assert_int_equal(next(f, &t), 0);
    assert_int_equal(mk_diag_count(f->diag, "E0003"), 1);
    fix_close(f);
}

static void test_nesting_bounded(void **state)
{
    (void)state;
    char buf[1024];
    memset(buf, '[', 1000);
    buf[1000] = 0;
    lexfix *f = fix_open(buf);
    mk_tok t;
    int n = 0;
    while (next(f, &t) != 0)
        n++;
    assert_int_equal(n, MK_LEX_MAX_DEPTH);
    assert_int_equal(mk_diag_count(f->diag, "E0007"), 1);
    fix_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_money),
        cmocka_unit_test(test_newline_rule),
        cmocka_unit_test(test_final_newline_added),
        cmocka_unit_test(test_interpolation),
        cmocka_unit_test(test_plain_string_and_escapes),
        cmocka_unit_test(test_triple_string_dedent),
        cmocka_unit_test(test_exponents),
        cmocka_unit_test(test_huge_string_one_error),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_unterminated_comment_stops),
        cmocka_unit_test(test_nesting_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
