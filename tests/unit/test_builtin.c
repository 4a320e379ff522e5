/* Built-in functions: results, unknowns, and one E0213 for each bad
 * argument. Calls go through call(), which does what the evaluator does
 * before a built-in runs (arity, unknown arguments). */
#include "tests/unit/unit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compiler/base/buf.h"
#include "compiler/front/builtin.h"
#include "compiler/base/diag.h"
#include "compiler/base/mem.h"

static mk_srcset src;
static mk_diag *D;
static mk_vctx V;
static int seen; /* E0213 reports so far */

/* A source line for the argument spans to point into. */
static const char LINE[] = "f(aaa, bbb, ccc, ddd, eee, fff, ggg, hhh)\n";

static int setup(void **state)
{
    (void)state;
    mk_src_init(&src);
    mk_src_add(&src, "t.moksha", LINE, sizeof LINE - 1);
    D = mk_diag_new(&src);
    V.arena = mk_arena_new();
    V.names = mk_intern_new(V.arena);
    seen = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mk_diag_free(D);
    mk_intern_free(V.names);
    mk_arena_free(V.arena);
    mk_src_fini(&src);
    return 0;
}

/* ---- building values ---- */

static mk_value *S(const char *s) { return mk_v_cstr(&V, s); }
static mk_value *I(int64_t i) { return mk_v_int(&V, i); }
static mk_value *N(double d) { return mk_v_number(&V, d); }
static mk_value *SZ(int64_t bytes) { return mk_v_unit(&V, MK_V_SIZE, bytes); }
static mk_value *MS(int64_t ms) { return mk_v_unit(&V, MK_V_DURATION, ms); }
static mk_value *USD(double d) { return mk_v_money(&V, llround(d * 1e6)); } /* micro-dollars */
static mk_value *UNK(mk_vkind k) { return mk_v_unknown(&V, k); }
#define NUL MK_V_NULLV
#define T mk_v_bool(true)
#define F mk_v_bool(false)
#define GiB (INT64_C(1) << 30)
#define MiB (INT64_C(1) << 20)

static mk_value *list_of(mk_value **items, int n)
{
    mk_value *l = mk_v_list(&V, (uint32_t)n);
    if (n > 0)
        memcpy(l->u.items, items, (size_t)n * sizeof *items);
    return l;
}
#define L(...) list_of((mk_value *[]){__VA_ARGS__}, (int)(sizeof((mk_value *[]){__VA_ARGS__}) / sizeof(mk_value *)))
#define EMPTY list_of(NULL, 0)

/* M("a", v, "b", w): pairs of key and value. */
static mk_value *map_of(void **kv, int n)
{
    mk_vbuild vb = {0};
    for (int i = 0; i + 1 < n; i += 2)
        mk_vb_push(&V, &vb, mk_intern_s(V.names, kv[i]), kv[i + 1]);
    return mk_vb_map(&V, &vb);
}
#define M(...) map_of((void *[]){__VA_ARGS__}, (int)(sizeof((void *[]){__VA_ARGS__}) / sizeof(void *)))

/* ---- calling ---- */

static mk_value *call(const char *name, mk_value **args, int n)
{
    const mk_builtin *b = mk_builtin_find(name);
    assert_non_null(b);
    assert_true(n >= b->min && (b->max < 0 || n <= b->max));
    mk_span spans[8];
    bool known = true;
    /* a file of its own per call: the same mistake at the same place is reported once */
    uint32_t file = mk_src_add(&src, "t.moksha", LINE, sizeof LINE - 1);
    for (int i = 0; i < n; i++) {
        spans[i] = (mk_span){file, (uint32_t)(2 + 5 * i), (uint32_t)(5 + 5 * i)};
        known &= mk_v_is_known(args[i]);
    }
    if (!known && !(b->flags & MK_BI_SEES_UNKNOWN))
        return mk_v_unknown(&V, b->ret);
    mk_bictx c = {&V, D, {file, 0, (uint32_t)sizeof LINE - 2}, spans};
    mk_value *r = b->fn(&c, args, n);
    assert_non_null(r);
    if (r != MK_V_ERRORV)
        assert_int_equal(mk_diag_count(D, "E0213"), seen);
    return r;
}
#define CALL(name, ...) call(name, (mk_value *[]){__VA_ARGS__}, (int)(sizeof((mk_value *[]){__VA_ARGS__}) / sizeof(mk_value *)))

/* The call failed with exactly one new E0213. */
static void is_error(mk_value *v)
{
    assert_ptr_equal(v, MK_V_ERRORV);
    assert_int_equal(mk_diag_count(D, "E0213"), ++seen);
    assert_int_equal(mk_diag_errors(D), seen);
}
#define ERR(name, ...) is_error(CALL(name, __VA_ARGS__))

static const char *show(const mk_value *v)
{
    mk_buf b = {0};
    mk_v_show(v, &b, true);
    char *s = mk_arena_strndup(V.arena, b.data ? b.data : "", b.len);
    mk_buf_free(&b);
    return s;
}

static void is_str(const mk_value *v, const char *want)
{
    assert_int_equal(v->kind, MK_V_STRING);
    assert_int_equal(v->n, strlen(want));
    assert_memory_equal(v->u.s, want, v->n);
    assert_int_equal(v->u.s[v->n], 0);
}

static void is_int(const mk_value *v, int64_t want)
{
    assert_int_equal(v->kind, MK_V_INT);
    assert_int_equal(v->u.i, want);
}

static void is_num(const mk_value *v, double want)
{
    assert_int_equal(v->kind, MK_V_NUMBER);
    assert_true(fabs(v->u.d - want) < 1e-12);
}

static void is_unit(const mk_value *v, mk_vkind k, int64_t want)
{
    assert_int_equal(v->kind, k);
    assert_int_equal(v->u.i, want);
}

static void is_bool(const mk_value *v, bool want)
{
    assert_int_equal(v->kind, MK_V_BOOL);
    assert_int_equal(v->u.b, want);
}

static void is_unknown(const mk_value *v, mk_vkind want)
{
    assert_int_equal(v->kind, MK_V_UNKNOWN);
    assert_int_equal(v->want, want);
}

#define SHOWS(v, text) assert_string_equal(show(v), text)

/* The printed diagnostics. */
static char *printed(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    mk_diag_print(D, f, MK_DIAG_TEXT, false);
    fclose(f);
    char *copy = mk_arena_strndup(V.arena, text, len);
    free(text);
    return copy;
}

/* ---- the table ---- */

static void table_sorted_and_documented(void **state)
{
    (void)state;
    int n;
    const mk_builtin *all = mk_builtin_all(&n);
    assert_int_equal(n, 64);
    for (int i = 0; i < n; i++) {
        if (i)
            assert_true(strcmp(all[i - 1].name, all[i].name) < 0);
        assert_ptr_equal(mk_builtin_find(all[i].name), &all[i]);
        assert_non_null(all[i].fn);
        assert_true(strncmp(all[i].sig, all[i].name, strlen(all[i].name)) == 0);
        assert_int_equal(all[i].sig[strlen(all[i].name)], '(');
        assert_true(strlen(all[i].doc) > 10);
        assert_true(all[i].min >= 0 && (all[i].max < 0 || all[i].max >= all[i].min));
    }
    assert_null(mk_builtin_find("nonsensitive"));
    assert_null(mk_builtin_find("regex"));
    assert_null(mk_builtin_find(""));
}

static void errors_name_the_argument(void **state)
{
    (void)state;
    ERR("upper", I(1));
    ERR("replace", S("a"), S("b"), N(1.5));
    char *out = printed();
    assert_non_null(strstr(out, "t.moksha:1:3: error[E0213]: argument 1 of `upper` must be a string, found int"));
    assert_non_null(strstr(out, "t.moksha:1:13: error[E0213]: argument 3 of `replace` must be a string, found number"));
}

/* ---- strings ---- */

static void strings_case(void **state)
{
    (void)state;
    is_str(CALL("upper", S("héllo wörld")), "HÉLLO WÖRLD");
    is_str(CALL("lower", S("ÀB-Ç")), "àb-ç");
    is_str(CALL("upper", S("")), "");
    is_str(CALL("title", S("hello world-foo_bar  x")), "Hello World-Foo_bar  X");
    is_str(CALL("title", S("élan vital")), "Élan Vital");
    ERR("lower", L(S("a")));
    ERR("title", NUL);
}

static void strings_trim(void **state)
{
    (void)state;
    is_str(CALL("trim", S("  a b \n\t")), "a b");
    is_str(CALL("trim", S("   ")), "");
    is_str(CALL("trim", S("xxaxyx"), S("xy")), "a");
    is_str(CALL("trim", S("ééaé"), S("é")), "a");
    is_str(CALL("trim", S("--"), S("-")), "");
    is_str(CALL("trimprefix", S("foobar"), S("foo")), "bar");
    is_str(CALL("trimprefix", S("foobar"), S("bar")), "foobar");
    is_str(CALL("trimsuffix", S("foobar"), S("bar")), "foo");
    is_str(CALL("trimsuffix", S("foobar"), S("foo")), "foobar");
    is_str(CALL("trimsuffix", S("a"), S("abc")), "a");
    ERR("trim", I(1));
    ERR("trim", S("a"), I(1));
    ERR("trimprefix", S("a"), NUL);
    ERR("trimsuffix", T, S("a"));
}

static void strings_replace_split_join(void **state)
{
    (void)state;
    is_str(CALL("replace", S("a.b.c"), S("."), S("-")), "a-b-c");
    is_str(CALL("replace", S("aaa"), S("a"), S("bb")), "bbbbbb");
    is_str(CALL("replace", S("abc"), S("x"), S("y")), "abc");
    ERR("replace", S("abc"), S(""), S("y"));
    ERR("replace", I(1), S("a"), S("b"));

    SHOWS(CALL("split", S(","), S("a,b,,c")), "[\"a\", \"b\", \"\", \"c\"]");
    SHOWS(CALL("split", S(","), S("")), "[\"\"]");
    SHOWS(CALL("split", S(", "), S("a, b, ")), "[\"a\", \"b\", \"\"]");
    SHOWS(CALL("split", S(""), S("hé")), "[\"h\", \"é\"]");
    ERR("split", I(1), S("a"));
    ERR("split", S(","), L(S("a")));

    is_str(CALL("join", S("-"), L(S("a"), I(1), T, SZ(GiB))), "a-1-true-1GiB");
    is_str(CALL("join", S(","), EMPTY), "");
    ERR("join", S(","), L(S("a"), L(I(1))));
    ERR("join", S(","), L(NUL));
    ERR("join", S(","), S("abc"));
}

static void strings_format(void **state)
{
    (void)state;
    is_str(CALL("format", S("%s=%d %v %q %%"), S("a"), I(3), L(I(1), S("x")), S("q\"")),
           "a=3 [1, \"x\"] \"q\\\"\" %");
    is_str(CALL("format", S("plain")), "plain");
    is_str(CALL("format", S("%d|%s|%s|%s"), N(2.0), SZ(4 * GiB), MS(20), USD(12.5)), "2|4GiB|20ms|$12.50");
    is_str(CALL("format", S("%v %v"), NUL, M("a", I(1))), "null { a = 1 }");
    ERR("format", S("%d"), S("x"));
    ERR("format", S("%d"), N(2.5));
    ERR("format", S("%s"));
    ERR("format", S("%s"), S("a"), S("b"));
    ERR("format", S("%x"), I(1));
    ERR("format", S("50%"));
    ERR("format", S("%s"), L(I(1)));
    ERR("format", S("%s"), NUL);
    ERR("format", I(1));
}

static void strings_substr_and_affixes(void **state)
{
    (void)state;
    is_str(CALL("substr", S("héllo"), I(1), I(3)), "éll");
    is_str(CALL("substr", S("hello"), I(-3), I(-1)), "llo");
    is_str(CALL("substr", S("hello"), I(2), I(100)), "llo");
    is_str(CALL("substr", S("hello"), I(5), I(1)), "");
    is_str(CALL("substr", S("hello"), N(1.0), I(0)), "");
    ERR("substr", S("hello"), I(6), I(1));
    ERR("substr", S("hello"), I(-6), I(1));
    ERR("substr", S("hello"), I(0), I(-2));
    ERR("substr", S("hello"), N(1.5), I(1));
    ERR("substr", I(5), I(0), I(1));

    is_bool(CALL("startswith", S("foobar"), S("foo")), true);
    is_bool(CALL("startswith", S("foobar"), S("bar")), false);
    is_bool(CALL("startswith", S("fo"), S("foo")), false);
    is_bool(CALL("endswith", S("foobar"), S("bar")), true);
    is_bool(CALL("endswith", S("foobar"), S("")), true);
    is_bool(CALL("endswith", S("foobar"), S("foo")), false);
    ERR("startswith", S("a"), I(1));
    ERR("endswith", I(1), S("a"));
}

/* ---- collections ---- */

static void collections_length_keys_values(void **state)
{
    (void)state;
    is_int(CALL("length", S("héllo")), 5);
    is_int(CALL("length", L(I(1), I(2))), 2);
    is_int(CALL("length", M("a", I(1))), 1);
    is_int(CALL("length", L(UNK(MK_V_STRING), UNK(MK_V_ANY))), 2);
    is_unknown(CALL("length", UNK(MK_V_LIST)), MK_V_INT);
    ERR("length", I(1));
    ERR("length", UNK(MK_V_INT));

    SHOWS(CALL("keys", M("b", I(1), "a", I(2), "c", I(3))), "[\"a\", \"b\", \"c\"]");
    SHOWS(CALL("keys", M("b", UNK(MK_V_INT))), "[\"b\"]");
    is_unknown(CALL("keys", UNK(MK_V_MAP)), MK_V_LIST);
    SHOWS(CALL("values", M("b", I(1), "a", I(2), "c", I(3))), "[2, 1, 3]");
    is_unknown(CALL("values", M("a", UNK(MK_V_INT))), MK_V_LIST);
    ERR("keys", L(I(1)));
    ERR("values", S("a"));
}

static void collections_concat_flatten(void **state)
{
    (void)state;
    SHOWS(CALL("concat", L(I(1)), L(I(2), I(3)), EMPTY), "[1, 2, 3]");
    SHOWS(CALL("concat", L(UNK(MK_V_INT)), L(I(2))), "[(known after apply), 2]");
    is_unknown(CALL("concat", L(I(1)), UNK(MK_V_LIST)), MK_V_LIST);
    ERR("concat", L(I(1)), I(2));
    ERR("concat", UNK(MK_V_STRING));

    SHOWS(CALL("flatten", L(I(1), L(I(2), L(I(3))), EMPTY, L(EMPTY))), "[1, 2, 3]");
    SHOWS(CALL("flatten", L(L(UNK(MK_V_STRING)), I(1))), "[(known after apply), 1]");
    is_unknown(CALL("flatten", L(L(UNK(MK_V_LIST)))), MK_V_LIST);
    is_unknown(CALL("flatten", L(UNK(MK_V_ANY))), MK_V_LIST);
    is_unknown(CALL("flatten", UNK(MK_V_LIST)), MK_V_LIST);
    ERR("flatten", I(1));
}

static void collections_distinct_sort_reverse(void **state)
{
    (void)state;
    SHOWS(CALL("distinct", L(I(1), I(2), I(1), N(1.0), S("a"), S("a"), L(I(1)), L(I(1)), M("k", I(1)), M("k", I(1)))),
          "[1, 2, \"a\", [1], { k = 1 }]");
    SHOWS(CALL("distinct", EMPTY), "[]");
    mk_value *big = CALL("range", I(200000));
    mk_value *twice = CALL("concat", big, big);
    is_int(CALL("length", CALL("distinct", twice)), 200000);
    ERR("distinct", M("a", I(1)));

    SHOWS(CALL("sort", L(S("b"), S("a"), S("ab"), S("B"))), "[\"B\", \"a\", \"ab\", \"b\"]");
    SHOWS(CALL("sort", L(I(3), N(1.5), I(2), I(-7))), "[-7, 1.5, 2, 3]");
    mk_value *sizes = CALL("sort", L(SZ(2 * GiB), SZ(GiB)));
    is_unit(sizes->u.items[0], MK_V_SIZE, GiB);
    SHOWS(CALL("sort", EMPTY), "[]");
    ERR("sort", L(I(1), S("a")));
    ERR("sort", L(SZ(1), MS(1)));
    ERR("sort", L(L(I(1))));
    ERR("sort", L(T, F));
    ERR("sort", I(1));

    SHOWS(CALL("reverse", L(I(1), I(2), I(3))), "[3, 2, 1]");
    SHOWS(CALL("reverse", EMPTY), "[]");
    ERR("reverse", S("abc"));
}

static void collections_contains_index_lookup(void **state)
{
    (void)state;
    is_bool(CALL("contains", L(I(1), S("b")), S("b")), true);
    is_bool(CALL("contains", L(I(1), S("b")), N(1.0)), true);
    is_bool(CALL("contains", L(I(1), S("b")), S("c")), false);
    is_bool(CALL("contains", S("hello"), S("ell")), true);
    is_bool(CALL("contains", S("hello"), S("elo")), false);
    is_bool(CALL("contains", M("a", I(1)), S("a")), true);
    is_bool(CALL("contains", M("ab", I(1)), S("a")), false);
    ERR("contains", I(1), I(1));
    ERR("contains", S("abc"), I(1));
    ERR("contains", M("a", I(1)), L(S("a")));

    is_int(CALL("index", L(S("a"), S("b")), S("b")), 1);
    is_int(CALL("index", L(L(I(1)), I(1)), I(1)), 1);
    ERR("index", L(S("a")), S("z"));
    ERR("index", S("abc"), S("a"));

    is_int(CALL("lookup", M("a", I(1), "b", I(2)), S("b")), 2);
    is_int(CALL("lookup", M("a", I(1)), S("b"), I(0)), 0);
    ERR("lookup", M("a", I(1)), S("b"));
    ERR("lookup", L(I(1)), S("a"));
    ERR("lookup", M("a", I(1)), I(1));
}

static void collections_merge_zipmap_compact(void **state)
{
    (void)state;
    SHOWS(CALL("merge", M("a", I(1), "b", I(2)), M("b", I(3), "c", I(4))), "{ a = 1, b = 3, c = 4 }");
    SHOWS(CALL("merge", M("a", UNK(MK_V_INT))), "{ a = (known after apply) }");
    is_unknown(CALL("merge", M("a", I(1)), UNK(MK_V_MAP)), MK_V_MAP);
    ERR("merge", M("a", I(1)), I(1));
    ERR("merge", L(I(1)));

    mk_value *z = CALL("zipmap", L(S("a"), S("b")), L(I(1), I(2)));
    SHOWS(z, "{ a = 1, b = 2 }");
    assert_non_null(mk_v_get(z, mk_intern_s(V.names, "b")));
    SHOWS(CALL("zipmap", L(S("a"), S("a")), L(I(1), I(2))), "{ a = 2 }");
    ERR("zipmap", L(S("a")), L(I(1), I(2)));
    ERR("zipmap", L(I(1)), L(I(1)));
    ERR("zipmap", L(S("a")), S("b"));

    SHOWS(CALL("compact", L(S("a"), S(""), NUL, S("b"), I(1))), "[\"a\", \"b\", 1]");
    SHOWS(CALL("compact", L(UNK(MK_V_INT), S(""))), "[(known after apply)]");
    is_unknown(CALL("compact", L(S("a"), UNK(MK_V_STRING))), MK_V_LIST);
    is_unknown(CALL("compact", UNK(MK_V_LIST)), MK_V_LIST);
    ERR("compact", S("a"));
}

static void collections_range(void **state)
{
    (void)state;
    SHOWS(CALL("range", I(3)), "[0, 1, 2]");
    SHOWS(CALL("range", I(-2)), "[0, -1]");
    SHOWS(CALL("range", I(0)), "[]");
    SHOWS(CALL("range", I(1), I(7), I(2)), "[1, 3, 5]");
    SHOWS(CALL("range", I(5), I(1)), "[5, 4, 3, 2]");
    SHOWS(CALL("range", I(10), I(0), I(-4)), "[10, 6, 2]");
    SHOWS(CALL("range", N(2.0)), "[0, 1]");
    SHOWS(CALL("range", I(INT64_MAX - 1), I(INT64_MAX)), "[9223372036854775806]");
    mk_value *r = CALL("range", I(INT64_MIN), I(INT64_MAX), I(INT64_MAX));
    assert_int_equal(r->n, 3);
    is_int(r->u.items[2], INT64_MAX - 1);
    is_int(CALL("length", CALL("range", I(1000000))), 1000000);
    ERR("range", I(1000001));
    ERR("range", I(INT64_MIN), I(INT64_MAX));
    ERR("range", I(0), I(10), I(0));
    ERR("range", I(0), I(10), I(-1));
    ERR("range", I(10), I(0), I(1));
    ERR("range", N(1.5));
    ERR("range", S("3"));
}

static void collections_element_slice(void **state)
{
    (void)state;
    mk_value *l = L(S("a"), S("b"), S("c"));
    is_str(CALL("element", l, I(1)), "b");
    is_str(CALL("element", l, I(4)), "b");
    is_str(CALL("element", l, I(-1)), "c");
    is_str(CALL("element", l, I(INT64_MIN)), "b"); /* -2^63 mod 3 = 1 */
    ERR("element", EMPTY, I(0));
    ERR("element", l, S("1"));

    SHOWS(CALL("slice", L(I(1), I(2), I(3), I(4)), I(1), I(3)), "[2, 3]");
    SHOWS(CALL("slice", L(I(1), I(2)), I(2), I(2)), "[]");
    SHOWS(CALL("slice", L(I(1), I(2)), I(0), I(2)), "[1, 2]");
    ERR("slice", l, I(2), I(1));
    ERR("slice", l, I(0), I(4));
    ERR("slice", l, I(-1), I(2));
    ERR("slice", S("abc"), I(0), I(1));
}

/* ---- numbers ---- */

static void numbers_min_max(void **state)
{
    (void)state;
    is_int(CALL("min", I(3), I(1), I(2)), 1);
    is_int(CALL("max", I(3), I(1), I(2)), 3);
    is_num(CALL("max", I(1), N(2.5)), 2.5);
    is_num(CALL("min", I(1), N(2.5)), 1.0);
    is_int(CALL("min", L(I(3), I(1))), 1);
    is_int(CALL("max", I(INT64_MAX), I(INT64_MAX - 1)), INT64_MAX);
    is_unit(CALL("max", SZ(GiB), SZ(2 * GiB)), MK_V_SIZE, 2 * GiB);
    is_unit(CALL("min", MS(20), MS(5)), MK_V_DURATION, 5);
    mk_value *m = CALL("max", USD(1.5), USD(12.5));
    assert_int_equal(m->kind, MK_V_MONEY);
    assert_int_equal(m->u.i, 12500000);
    is_unknown(CALL("max", I(1), UNK(MK_V_INT)), MK_V_ANY);
    ERR("max", I(1), SZ(GiB));
    ERR("min", MS(1), SZ(1));
    ERR("min", USD(1), N(1));
    ERR("min", S("a"));
    ERR("max", EMPTY);
    ERR("max", L(I(1), S("b")));
}

static void numbers_abs_rounding(void **state)
{
    (void)state;
    is_int(CALL("abs", I(-3)), 3);
    is_int(CALL("abs", I(4)), 4);
    is_num(CALL("abs", N(-2.5)), 2.5);
    is_unit(CALL("abs", MS(-20)), MK_V_DURATION, 20);
    assert_int_equal(CALL("abs", USD(-3))->u.i, 3000000);
    ERR("abs", I(INT64_MIN));
    ERR("abs", S("-1"));

    is_int(CALL("ceil", N(1.2)), 2);
    is_int(CALL("ceil", I(7)), 7);
    is_int(CALL("floor", N(-1.5)), -2);
    is_int(CALL("floor", N(1.9)), 1);
    is_int(CALL("round", N(2.5)), 3);
    is_int(CALL("round", N(-2.5)), -3);
    is_int(CALL("round", N(2.49)), 2);
    ERR("ceil", N(1e300));
    ERR("floor", S("1"));
    ERR("round", SZ(1));
}

static void numbers_sum(void **state)
{
    (void)state;
    is_int(CALL("sum", L(I(1), I(2), I(3))), 6);
    is_num(CALL("sum", L(I(1), N(0.5))), 1.5);
    is_int(CALL("sum", EMPTY), 0);
    ERR("sum", L(N(1e308), N(1e308))); /* inf is not a number */
    is_unit(CALL("sum", L(SZ(GiB), SZ(GiB))), MK_V_SIZE, 2 * GiB);
    is_unit(CALL("sum", L(MS(1), MS(2))), MK_V_DURATION, 3);
    assert_int_equal(CALL("sum", L(USD(1.25), USD(2)))->u.i, 3250000);
    ERR("sum", L(I(INT64_MAX), I(1)));
    ERR("sum", L(I(1), S("a")));
    ERR("sum", L(MS(1), SZ(1)));
    ERR("sum", I(1));
}

static void numbers_conversions(void **state)
{
    (void)state;
    is_str(CALL("tostring", SZ(4 * GiB)), "4GiB");
    is_str(CALL("tostring", MS(20)), "20ms");
    is_str(CALL("tostring", USD(12.5)), "$12.50");
    is_str(CALL("tostring", I(-3)), "-3");
    is_str(CALL("tostring", N(2.5)), "2.5");
    is_str(CALL("tostring", T), "true");
    is_str(CALL("tostring", S("x")), "x");
    assert_ptr_equal(CALL("tostring", NUL), MK_V_NULLV);
    ERR("tostring", L(I(1)));
    ERR("tostring", M("a", I(1)));

    is_num(CALL("tonumber", S("3.5")), 3.5);
    is_num(CALL("tonumber", S("-2e3")), -2000);
    is_num(CALL("tonumber", I(4)), 4);
    ERR("tonumber", S("abc"));
    ERR("tonumber", S("0x10"));
    ERR("tonumber", S(" 1"));
    ERR("tonumber", S("nan"));
    ERR("tonumber", S("1e999"));
    ERR("tonumber", S(""));
    ERR("tonumber", T);

    is_int(CALL("toint", S("42")), 42);
    is_int(CALL("toint", S("-9007199254740993")), -9007199254740993LL);
    is_int(CALL("toint", N(4.0)), 4);
    is_int(CALL("toint", S("4.0")), 4);
    is_int(CALL("toint", I(7)), 7);
    ERR("toint", N(4.5));
    ERR("toint", S("4.5"));
    ERR("toint", S("99999999999999999999"));
    ERR("toint", N(1e300));
    ERR("toint", S("4x"));
    ERR("toint", EMPTY);
}

/* ---- units ---- */

static void units(void **state)
{
    (void)state;
    is_int(CALL("bytes", SZ(1024)), 1024);
    is_num(CALL("gib", SZ(512 * MiB)), 0.5);
    is_num(CALL("mib", SZ(GiB)), 1024);
    is_num(CALL("seconds", MS(1500)), 1.5);
    ERR("bytes", I(1));
    ERR("gib", MS(1));
    ERR("mib", N(1));
    ERR("seconds", SZ(1));

    is_unit(CALL("size", I(4), S("GiB")), MK_V_SIZE, 4 * GiB);
    is_unit(CALL("size", N(1.5), S("KB")), MK_V_SIZE, 1500);
    is_unit(CALL("size", N(0.3), S("KB")), MK_V_SIZE, 300);
    is_unit(CALL("size", I(2), S("TB")), MK_V_SIZE, 2000000000000);
    is_unit(CALL("size", I(0), S("B")), MK_V_SIZE, 0);
    ERR("size", I(1), S("gb"));
    ERR("size", I(-1), S("B"));
    ERR("size", N(0.5), S("B"));
    ERR("size", I(INT64_MAX), S("KiB"));
    ERR("size", N(1e30), S("TiB"));
    ERR("size", S("1"), S("B"));

    is_unit(CALL("duration", I(90), S("s")), MK_V_DURATION, 90000);
    is_unit(CALL("duration", N(1.5), S("h")), MK_V_DURATION, 5400000);
    is_unit(CALL("duration", I(7), S("d")), MK_V_DURATION, 7 * 86400000LL);
    is_unit(CALL("duration", I(20), S("ms")), MK_V_DURATION, 20);
    ERR("duration", I(1), S("w"));
    ERR("duration", I(1), I(1));

    mk_value *m = CALL("usd", N(12.5));
    assert_int_equal(m->kind, MK_V_MONEY);
    assert_int_equal(m->u.i, 12500000);
    assert_int_equal(CALL("usd", I(3))->u.i, 3000000);
    ERR("usd", S("12"));
}

/* ---- cidr ---- */

static void cidr_subnet(void **state)
{
    (void)state;
    is_str(CALL("cidrsubnet", S("10.0.0.0/16"), I(8), I(2)), "10.0.2.0/24");
    is_str(CALL("cidrsubnet", S("10.1.2.3/16"), I(4), I(15)), "10.1.240.0/20");
    is_str(CALL("cidrsubnet", S("172.16.0.0/12"), I(4), I(2)), "172.18.0.0/16");
    is_str(CALL("cidrsubnet", S("10.0.0.0/8"), I(0), I(0)), "10.0.0.0/8");
    is_str(CALL("cidrsubnet", S("fd00:fd12:3456:7890::/56"), I(16), I(162)), "fd00:fd12:3456:7800:a200::/72");
    is_str(CALL("cidrsubnet", S("::/0"), I(64), I(INT64_MAX)), "7fff:ffff:ffff:ffff::/64");
    is_str(CALL("cidrsubnet", S("10.0.0.0/30"), I(2), I(3)), "10.0.0.3/32");
    ERR("cidrsubnet", S("10.0.0.0"), I(8), I(0));
    ERR("cidrsubnet", S("10.0.0/16"), I(8), I(0));
    ERR("cidrsubnet", S("10.0.0.0/33"), I(1), I(0));
    ERR("cidrsubnet", S("10.0.0.0/016"), I(1), I(0));
    ERR("cidrsubnet", S("10.0.0.0/"), I(1), I(0));
    ERR("cidrsubnet", S("x/8"), I(1), I(0));
    ERR("cidrsubnet", S("fd00::/129"), I(1), I(0));
    ERR("cidrsubnet", S("10.0.0.0/30"), I(3), I(0));
    ERR("cidrsubnet", S("10.0.0.0/16"), I(-1), I(0));
    ERR("cidrsubnet", S("10.0.0.0/16"), I(8), I(256));
    ERR("cidrsubnet", S("10.0.0.0/16"), I(8), I(-1));
    ERR("cidrsubnet", I(10), I(8), I(0));
}

static void cidr_host_mask_contains(void **state)
{
    (void)state;
    is_str(CALL("cidrhost", S("10.12.112.0/20"), I(16)), "10.12.112.16");
    is_str(CALL("cidrhost", S("10.12.112.0/20"), I(268)), "10.12.113.12");
    is_str(CALL("cidrhost", S("fd00:fd12:3456:7890:00a2::/72"), I(34)), "fd00:fd12:3456:7890::22");
    is_str(CALL("cidrhost", S("10.0.0.0/24"), I(-1)), "10.0.0.255");
    is_str(CALL("cidrhost", S("10.0.0.0/24"), I(-256)), "10.0.0.0");
    is_str(CALL("cidrhost", S("10.0.1.0/23"), I(-2)), "10.0.1.254");
    is_str(CALL("cidrhost", S("::/0"), I(-1)), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    is_str(CALL("cidrhost", S("10.0.0.7/24"), I(1)), "10.0.0.1");
    ERR("cidrhost", S("10.0.0.0/24"), I(256));
    ERR("cidrhost", S("10.0.0.0/24"), I(-257));
    ERR("cidrhost", S("10.0.0.0/24"), N(0.5));
    ERR("cidrhost", S("10.0.0.0/24/1"), I(1));

    is_str(CALL("cidrnetmask", S("172.16.0.0/12")), "255.240.0.0");
    is_str(CALL("cidrnetmask", S("0.0.0.0/0")), "0.0.0.0");
    is_str(CALL("cidrnetmask", S("10.0.0.1/32")), "255.255.255.255");
    ERR("cidrnetmask", S("fd00::/8"));
    ERR("cidrnetmask", S("10.0.0.1"));

    is_bool(CALL("cidrcontains", S("10.0.0.0/8"), S("10.1.2.3")), true);
    is_bool(CALL("cidrcontains", S("10.0.0.0/8"), S("11.0.0.1")), false);
    is_bool(CALL("cidrcontains", S("10.0.0.0/8"), S("10.1.0.0/16")), true);
    is_bool(CALL("cidrcontains", S("10.1.0.0/16"), S("10.0.0.0/8")), false);
    is_bool(CALL("cidrcontains", S("fd00::/8"), S("fd12::1")), true);
    is_bool(CALL("cidrcontains", S("fd00::/16"), S("fd01::1")), false);
    is_bool(CALL("cidrcontains", S("0.0.0.0/0"), S("1.2.3.4")), true);
    ERR("cidrcontains", S("10.0.0.0/8"), S("fd00::1"));
    ERR("cidrcontains", S("10.0.0.0/8"), S("10.0.0.256"));
    ERR("cidrcontains", S("10.0.0.0/8"), S("010.0.0.1"));
    ERR("cidrcontains", S("10.0.0.1"), S("10.0.0.1"));
    is_bool(CALL("cidrvalid", S("10.0.0.0/8")), true);
    is_bool(CALL("cidrvalid", S("203.0.113.7")), true);
    is_bool(CALL("cidrvalid", S("2001:db8::/32")), true);
    is_bool(CALL("cidrvalid", S("::")), true);
    is_bool(CALL("cidrvalid", S("0.0.0.0/0 ")), false);
    is_bool(CALL("cidrvalid", S(" 0.0.0.0/0")), false);
    is_bool(CALL("cidrvalid", S("0.0.0.0/33")), false);
    is_bool(CALL("cidrvalid", S("10.0.0.0/08")), false);
    is_bool(CALL("cidrvalid", S("10.0.0.0/")), false);
    is_bool(CALL("cidrvalid", S("Internet")), false);
    is_bool(CALL("cidrvalid", S("*")), false);
    is_bool(CALL("cidrvalid", S("")), false);
}

/* ---- encoding ---- */

static void encoding_base64_url(void **state)
{
    (void)state;
    is_str(CALL("base64encode", S("hello")), "aGVsbG8=");
    is_str(CALL("base64encode", S("")), "");
    is_str(CALL("base64encode", S("héllo!")), "aMOpbGxvIQ==");
    is_str(CALL("base64decode", S("aGVsbG8=")), "hello");
    is_str(CALL("base64decode", S("aMOpbGxvIQ==")), "héllo!");
    is_str(CALL("base64decode", S("aGk=")), "hi");
    is_str(CALL("base64encode", S("<<?\?\?>>" /* no trigraph */)), "PDw/Pz8+Pg==");
    is_str(CALL("base64decode", S("PDw/Pz8+Pg==")), "<<?\?\?>>" /* no trigraph */);
    is_str(CALL("base64decode", S("")), "");
    ERR("base64decode", S("aGVsbG8"));
    ERR("base64decode", S("a*Vs"));
    ERR("base64decode", S("aGk=aGk="));
    ERR("base64decode", S(" aGk="));
    ERR("base64decode", S("//4=")); /* 0xff 0xfe: not UTF-8 */
    ERR("base64decode", S("AA==")); /* a NUL byte */
    ERR("base64encode", I(1));

    is_str(CALL("urlencode", S("a b&c=d/é~_-.")), "a+b%26c%3Dd%2F%C3%A9~_-.");
    ERR("urlencode", L(S("a")));
}

static void encoding_json(void **state)
{
    (void)state;
    mk_value *v = M("b", I(1), "a", L(T, NUL, S("x\"é")), "s", SZ(4 * GiB), "d", MS(20), "m", USD(12.5), "n", N(0.1),
                    "w", N(2.0));
    is_str(CALL("jsonencode", v),
           "{\"b\":1,\"a\":[true,null,\"x\\\"é\"],\"s\":\"4GiB\",\"d\":\"20ms\",\"m\":\"$12.50\",\"n\":0.1,\"w\":2.0}");
    is_str(CALL("jsonencode", S("x")), "\"x\"");
    is_str(CALL("jsonencode", EMPTY), "[]");
    is_str(CALL("jsonencode", M(NULL)), "{}");
    is_str(CALL("jsonencode", NUL), "null");
    int dummy;
    ERR("jsonencode", L(mk_v_resource(&V, &dummy)));
    ERR("jsonencode", N(INFINITY));

    mk_value *d = CALL("jsondecode", S("{\"z\": 1, \"a\": [1.5, \"x\", true, null, -3], \"m\": {}}"));
    SHOWS(d, "{ z = 1, a = [1.5, \"x\", true, null, -3], m = {} }");
    is_int(mk_v_get(d, mk_intern_s(V.names, "z")), 1);
    is_int(CALL("jsondecode", S("42")), 42);
    is_num(CALL("jsondecode", S("4.0")), 4.0);
    is_str(CALL("jsondecode", S("\"\\u00e9\"")), "é");
    SHOWS(CALL("jsondecode", CALL("jsonencode", v)), show(M("b", I(1), "a", L(T, NUL, S("x\"é")), "s", S("4GiB"),
                                                             "d", S("20ms"), "m", S("$12.50"), "n", N(0.1),
                                                             "w", N(2.0))));
    ERR("jsondecode", S("{"));
    ERR("jsondecode", S("{\"a\": 1, \"a\": 2}"));
    ERR("jsondecode", S("\"\\u0000\""));
    ERR("jsondecode", S("123456789012345678901234567890"));
    ERR("jsondecode", I(1));
}

/* ---- hashing ---- */

static void hashing(void **state)
{
    (void)state;
    is_str(CALL("sha256", S("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    is_str(CALL("sha256", S("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    is_str(CALL("sha512", S("abc")),
           "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
           "454d4423643ce80e2a9ac94fa54ca49f");
    is_str(CALL("sha1", S("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
    is_str(CALL("md5", S("abc")), "900150983cd24fb0d6963f7d28e17f72");
    is_str(CALL("base64sha256", S("abc")), "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
    is_str(CALL("hmac_sha256", S("key"), S("The quick brown fox jumps over the lazy dog")),
           "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
    is_str(CALL("hmac_sha256", S(""), S("")), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    ERR("sha256", I(1));
    ERR("sha512", L(S("a")));
    ERR("sha1", NUL);
    ERR("md5", T);
    ERR("base64sha256", SZ(1));
    ERR("hmac_sha256", S("k"), I(1));
    ERR("hmac_sha256", I(1), S("m"));
}

/* ---- secrets ---- */

static void sensitive_marks_secret(void **state)
{
    (void)state;
    mk_value *x = S("pw");
    mk_value *s = CALL("sensitive", x);
    is_str(s, "pw");
    assert_true(s->flags & MK_VF_SECRET);
    assert_false(x->flags & MK_VF_SECRET);
    assert_true(mk_v_is_secret(CALL("sensitive", L(I(1)))));
    mk_value *u = CALL("sensitive", UNK(MK_V_STRING));
    is_unknown(u, MK_V_STRING);
    assert_true(u->flags & MK_VF_SECRET);
    assert_false(UNK(MK_V_STRING)->flags & MK_VF_SECRET);
}

/* No diagnostic shows a secret argument's value. */
static void errors_hide_secrets(void **state)
{
    (void)state;
    mk_value *pw = CALL("sensitive", S("hunter2"));
    ERR("tonumber", pw);
    ERR("jsondecode", pw);
    ERR("cidrhost", CALL("sensitive", S("hunter2/8")), I(1));
    ERR("lookup", M("a", I(1)), pw);
    ERR("toint", CALL("sensitive", N(2.5)));
    ERR("size", CALL("sensitive", N(0.25)), S("B"));
    char *out = printed();
    assert_null(strstr(out, "hunter2"));
    assert_null(strstr(out, "2.5"));
    assert_null(strstr(out, "0.25"));
    assert_non_null(strstr(out, "(sensitive) is not a number"));
    ERR("tonumber", S("hunter3"));
    assert_non_null(strstr(printed(), "\"hunter3\" is not a number"));
}

/* Functions without MK_BI_SEES_UNKNOWN never run on unknowns. */
static void unknown_arguments(void **state)
{
    (void)state;
    is_unknown(CALL("upper", UNK(MK_V_STRING)), MK_V_STRING);
    is_unknown(CALL("cidrsubnet", S("10.0.0.0/16"), I(8), UNK(MK_V_INT)), MK_V_STRING);
    is_unknown(CALL("sort", L(S("a"), UNK(MK_V_STRING))), MK_V_LIST);
    is_unknown(CALL("jsonencode", M("a", UNK(MK_V_ANY))), MK_V_STRING);
    assert_int_equal(mk_diag_errors(D), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(table_sorted_and_documented, setup, teardown),
        cmocka_unit_test_setup_teardown(errors_name_the_argument, setup, teardown),
        cmocka_unit_test_setup_teardown(strings_case, setup, teardown),
        cmocka_unit_test_setup_teardown(strings_trim, setup, teardown),
        cmocka_unit_test_setup_teardown(strings_replace_split_join, setup, teardown),
        cmocka_unit_test_setup_teardown(strings_format, setup, teardown),
        cmocka_unit_test_setup_teardown(strings_substr_and_affixes, setup, teardown),
        cmocka_unit_test_setup_teardown(collections_length_keys_values, setup, teardown),
        cmocka_unit_test_setup_teardown(collections_concat_flatten, setup, teardown),
        cmocka_unit_test_setup_teardown(collections_distinct_sort_reverse, setup, teardown),
        cmocka_unit_test_setup_teardown(collections_contains_index_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(collections_merge_zipmap_compact, setup, teardown),
        cmocka_unit_test_setup_teardown(collections_range, setup, teardown),
        cmocka_unit_test_setup_teardown(collections_element_slice, setup, teardown),
        cmocka_unit_test_setup_teardown(numbers_min_max, setup, teardown),
        cmocka_unit_test_setup_teardown(numbers_abs_rounding, setup, teardown),
        cmocka_unit_test_setup_teardown(numbers_sum, setup, teardown),
        cmocka_unit_test_setup_teardown(numbers_conversions, setup, teardown),
        cmocka_unit_test_setup_teardown(units, setup, teardown),
        cmocka_unit_test_setup_teardown(cidr_subnet, setup, teardown),
        cmocka_unit_test_setup_teardown(cidr_host_mask_contains, setup, teardown),
        cmocka_unit_test_setup_teardown(encoding_base64_url, setup, teardown),
        cmocka_unit_test_setup_teardown(encoding_json, setup, teardown),
        cmocka_unit_test_setup_teardown(hashing, setup, teardown),
        cmocka_unit_test_setup_teardown(sensitive_marks_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(errors_hide_secrets, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
