/* Values written as JSON text (mk_vjson_write) against the tree jansson
 * dumps (json_dumps of mk_vjson_from, JSON_COMPACT): the same bytes for
 * values of every kind — scalars, reals at the edges of their digits,
 * strings to escape, sizes, durations and money, references, templates,
 * unknowns, nested lists and maps, secrets one by one and sealed whole, the
 * values jansson leaves out. Sealing is randomised: a sealed text is
 * compared opened. */
#include "tests/unit/unit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/base/key.h"
#include "compiler/base/mem.h"
#include "compiler/front/program.h"
#include "compiler/front/vjson.h"

#define KEY "4b1e0c2a9d8f7e6b5a4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"

static mk_arena *A;
static mk_intern *N;
static mk_vctx C;
static mk_key K;

static int setup(void **state)
{
    (void)state;
    A = mk_arena_new();
    N = mk_intern_new(A);
    C = (mk_vctx){A, N};
    setenv("MOKSHA_KEY", KEY, 1);
    char why[256];
    assert_true(mk_key_load(&K, "/nonexistent", MK_KEY_REQUIRE, why, sizeof why));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mk_intern_free(N);
    mk_arena_free(A);
    unsetenv("MOKSHA_KEY");
    return 0;
}

static mk_value *str(const char *s) { return mk_v_cstr(&C, s); }
static mk_value *secret(mk_value *v) { return mk_v_with_flags(&C, v, MK_VF_SECRET); }

static mk_value *list(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    mk_value *l = mk_v_list(&C, (uint32_t)n);
    for (int i = 0; i < n; i++)
        l->u.items[i] = va_arg(ap, mk_value *);
    va_end(ap);
    return l;
}

/* map(n, "k1", v1, "k2", v2, …) */
static mk_value *map(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    mk_value *m = mk_v_map(&C, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        m->u.map.keys[i] = mk_intern_s(N, va_arg(ap, const char *));
        m->u.map.vals[i] = va_arg(ap, mk_value *);
    }
    va_end(ap);
    return m;
}

/* Each sealed text in j replaced by what it opens to. */
static void open_sealed(json_t *j)
{
    const char *k;
    json_t *x;
    size_t i;
    json_t *sealed = json_object_get(json_object_get(j, "$secret"), "sealed");
    if (json_is_string(sealed)) {
        size_t n = 0;
        char *plain = mk_key_open(&K, json_string_value(sealed), &n);
        assert_non_null(plain);
        json_object_set_new(json_object_get(j, "$secret"), "sealed", json_stringn(plain, n));
        mk_mem_free(plain);
        return;
    }
    if (json_is_object(j))
        json_object_foreach(j, k, x) open_sealed(x);
    if (json_is_array(j))
        json_array_foreach(j, i, x) open_sealed(x);
}

/* The written text of v, opened when sealed; NULL when nothing was written.
 * Caller frees. */
static char *opened(const char *text, bool seal)
{
    if (!seal)
        return strdup(text);
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    assert_non_null(j);
    open_sealed(j);
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    return s;
}

/* The writer and the tree agree on v: bytes (opened when sealed), the
 * unknown flag, and whether there is a value at all. Returns the text. */
static char *same(mk_value *v, bool seal)
{
    bool u1 = false, u2 = false;
    json_t *tree = mk_vjson_from(v, &K, seal, &u1);
    mk_buf b = {0};
    mk_buf_puts(&b, "<");
    bool wrote = mk_vjson_write(&b, v, &K, seal, &u2);
    assert_int_equal(wrote, tree != NULL);
    assert_int_equal(u1, u2);
    if (!tree) {
        assert_string_equal(mk_buf_cstr(&b), "<");
        mk_buf_free(&b);
        return NULL;
    }
    char *want = json_dumps(tree, JSON_COMPACT | JSON_ENCODE_ANY);
    char *w = opened(want, seal), *g = opened(mk_buf_cstr(&b) + 1, seal);
    assert_string_equal(g, w);
    free(want);
    free(w);
    json_decref(tree);
    mk_buf_free(&b);
    return g;
}

/* same() sealed and not; the unsealed text is what the case pins. */
static void expect(mk_value *v, const char *text)
{
    free(same(v, true));
    char *got = same(v, false);
    if (!text) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, text);
    free(got);
}

static void test_scalars(void **state)
{
    (void)state;
    expect(MK_V_NULLV, "null");
    expect(mk_v_bool(true), "true");
    expect(mk_v_bool(false), "false");
    expect(mk_v_int(&C, 0), "0");
    expect(mk_v_int(&C, INT64_MIN), "-9223372036854775808");
    expect(mk_v_int(&C, INT64_MAX), "9223372036854775807");
    expect(str(""), "\"\"");
    expect(str("a \"q\" \\ / \b\f\n\r\t \x01\x1f é ☃ 😀"), "\"a \\\"q\\\" \\\\ / \\b\\f\\n\\r\\t \\u0001\\u001F é ☃ 😀\"");
    expect(mk_v_str(&C, "a\0b", 3), "\"a\\u0000b\"");
    expect(mk_v_unit(&C, MK_V_SIZE, (int64_t)4 << 30), "\"4GiB\"");
    expect(mk_v_unit(&C, MK_V_DURATION, 7 * 86400000LL), "\"7d\"");
    expect(mk_v_money(&C, 1005000), "\"$1.005\"");
    expect(mk_v_money(&C, -116), "\"-$0.000116\"");
}

/* jansson's digits: 17 significant, ".0" on a whole number, the exponent
 * without `+` or leading zeros; every real of a sweep agrees. */
static void test_reals(void **state)
{
    (void)state;
    expect(mk_v_number(&C, 0.5), "0.5");
    expect(mk_v_number(&C, 2), "2.0");
    expect(mk_v_number(&C, -0.0), "-0.0");
    expect(mk_v_number(&C, 0.1), "0.10000000000000001");
    expect(mk_v_number(&C, 1e20), "1e20");
    expect(mk_v_number(&C, 1e-7), "9.9999999999999995e-8");
    expect(mk_v_number(&C, 1.5e300), "1.5000000000000001e300");
    expect(mk_v_number(&C, 5e-324), "4.9406564584124654e-324");
    double d = 1.0;
    for (int i = 0; i < 2000; i++) {
        d = d * -1.37 + (double)(i % 7) / 3.0;
        if (!isfinite(d) || fabs(d) > 1e200)
            d = 1.0 / (i + 3);
        free(same(mk_v_number(&C, d), false));
        free(same(mk_v_number(&C, 1.0 / d), false));
    }
}

/* What jansson makes no value of is not written: alone, in a list, in a map
 * (by its value or its key); a list or map around it is still written. */
static void test_left_out(void **state)
{
    (void)state;
    expect(mk_v_number(&C, INFINITY), NULL);
    expect(mk_v_number(&C, NAN), NULL);
    expect(str("\xff"), NULL);
    expect(str("\xc0\x80"), NULL);         /* overlong */
    expect(str("\xed\xa0\x80"), NULL);     /* a surrogate */
    expect(str("\xf4\x90\x80\x80"), NULL); /* past U+10FFFF */
    expect(list(3, str("\xff"), mk_v_int(&C, 1), mk_v_number(&C, NAN)), "[1]");
    expect(list(2, mk_v_number(&C, NAN), mk_v_number(&C, NAN)), "[]");
    expect(map(3, "a", mk_v_number(&C, NAN), "b", mk_v_int(&C, 2), "\xff", mk_v_int(&C, 3)), "{\"b\":2}");
    expect(map(2, "a", str("\xfe"), "b", str("\xfe")), "{}");
}

static void test_containers(void **state)
{
    (void)state;
    expect(list(0), "[]");
    expect(map(0), "{}");
    mk_value *inner = map(2, "z", list(2, mk_v_int(&C, 1), str("x")), "a", map(0));
    expect(map(3, "tags", map(2, "team", str("web"), "env", str("prod")), "ports", list(2, mk_v_int(&C, 80), mk_v_int(&C, 443)),
               "nested", list(2, inner, list(1, list(0)))),
           "{\"tags\":{\"team\":\"web\",\"env\":\"prod\"},\"ports\":[80,443],\"nested\":[{\"z\":[1,\"x\"],\"a\":{}},[[]]]}");
    expect(map(1, "key with \"quotes\"\n", MK_V_NULLV), "{\"key with \\\"quotes\\\"\\n\":null}");
}

static void test_references_and_unknowns(void **state)
{
    (void)state;
    mk_instance in = {.address = "network.main"};
    expect(mk_v_resource(&C, &in), "{\"$ref\":\"network.main\"}");
    expect(mk_v_unknown(&C, MK_V_STRING), "null");
    mk_defpart parts[] = {{"db ", 3, NULL, NULL}, {NULL, 0, "database.orders", "id"}, {"\n", 1, NULL, NULL}};
    mk_deferred d = {parts, 3};
    mk_value t = {.kind = MK_V_UNKNOWN, .want = MK_V_STRING, .u.res = &d}; /* (mk_v_unknown's are shared) */
    expect(&t, "{\"$template\":[\"db \",{\"$ref\":\"database.orders\",\"attr\":\"id\"},\"\\n\"]}");
    expect(map(2, "ref", mk_v_resource(&C, &in), "later", mk_v_unknown(&C, MK_V_INT)),
           "{\"ref\":{\"$ref\":\"network.main\"},\"later\":null}");
    expect(MK_V_ERRORV, "null");
}

/* Secrets as fingerprints (and sealed copies, opened to compare): a scalar,
 * a map of secrets, a container secret as a whole (its text sealed, keys
 * sorted, "json": true) and one still holding an unknown (each scalar). */
static void test_secrets(void **state)
{
    (void)state;
    char fp[65], want[256];
    mk_key_fingerprint(&K, "hunter2", 7, fp);
    snprintf(want, sizeof want, "{\"$secret\":{\"fingerprint\":\"%s\"}}", fp);
    expect(secret(str("hunter2")), want);
    free(same(map(2, "user", str("admin"), "password", secret(str("hunter2"))), true));
    free(same(secret(mk_v_unit(&C, MK_V_SIZE, 1024)), true));
    expect(secret(MK_V_NULLV), "null");
    expect(secret(mk_v_unknown(&C, MK_V_STRING)), "null");
    mk_value *whole = secret(map(3, "z", mk_v_int(&C, 1), "a", list(2, str("x"), mk_v_number(&C, 0.5)), "m", map(2, "y", mk_v_bool(true), "b", MK_V_NULLV)));
    const char *plain = "{\"a\":[\"x\",0.5],\"m\":{\"b\":null,\"y\":true},\"z\":1}";
    mk_key_fingerprint(&K, plain, strlen(plain), fp);
    snprintf(want, sizeof want, "{\"$secret\":{\"fingerprint\":\"%s\",\"json\":true}}", fp);
    expect(whole, want);
    char *sealed = same(whole, true);
    json_error_t je;
    json_t *j = json_loads(sealed, 0, &je); /* what the executor opens: the text, keys sorted */
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "$secret"), "sealed")), plain);
    json_decref(j);
    free(sealed);
    free(same(secret(list(2, str("a"), mk_v_unknown(&C, MK_V_STRING))), true));
    free(same(secret(list(2, str("a"), mk_v_unknown(&C, MK_V_STRING))), false));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_scalars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_left_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_containers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_references_and_unknowns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secrets, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
