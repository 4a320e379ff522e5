/* Values written as JSON text (mk_vjson_write) against the tree jansson
 * dumps (json_dumps of mk_vjson_from, JSON_COMPACT): the same bytes for
 * values of every kind — scalars, reals at the edges of their digits,
 * strings to escape, sizes, durations and money, references, templates,
 * unknowns, nested lists and maps, secrets one by one and sealed whole, the
 * values jansson leaves out. Sealing is randomised: a sealed text is
 * compared opened. Sealed to the executor (docs/trust.md), each sealed text
 * opens only at the address and path where the executor finds it, with the
 * fingerprint test_seal pins. */
#include "tests/unit/unit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/base/key.h"
#include "compiler/base/mem.h"
#include "compiler/front/program.h"
#include "compiler/front/vjson.h"
#include "tests/unit/seal_open.h"

#define KEY "4b1e0c2a9d8f7e6b5a4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"

static mk_arena *A;
static mk_intern *N;
static mk_vctx C;
static mk_key K, T; /* T: the project key's, sealing to the executor as MOKSHA_SEAL_TO does */

static int setup(void **state)
{
    (void)state;
    A = mk_arena_new();
    N = mk_intern_new(A);
    C = (mk_vctx){A, N};
    setenv("MOKSHA_KEY", KEY, 1);
    char why[256];
    assert_true(mk_key_load(&K, "/nonexistent", MK_KEY_REQUIRE, why, sizeof why));
    T = K;
    assert_true(mk_seal_to_load(&T, EXEC_PUBLIC, why, sizeof why));
    T.has_fp_key = true;
    mk_test_hex(FP_KEY, T.fp_key, 32);
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
    json_t *tree = mk_vjson_from(v, &K, seal, NULL, &u1);
    mk_buf b = {0};
    mk_buf_puts(&b, "<");
    bool wrote = mk_vjson_write(&b, v, &K, seal, NULL, &u2);
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

/* Each sealed text in j opened where the executor finds it: the path of
 * keys and indexes from the attribute down, a template's part at its index
 * (not under "$template"), written by jansson. Fails where one does not
 * open there. */
static void open_where(json_t *j, const char *address, json_t *path)
{
    json_t *sec = json_object_get(j, "$secret"), *sealed = json_object_get(sec, "sealed"), *x;
    if (json_is_string(sealed)) {
        char *p = json_dumps(path, JSON_COMPACT);
        char *plain = mk_test_open(json_string_value(sealed), address, p);
        assert_non_null(plain);
        json_object_set_new(sec, "sealed", json_string(plain));
        free(plain);
        free(p);
        return;
    }
    if (json_object_get(j, "$template"))
        j = json_object_get(j, "$template");
    const char *k;
    size_t i;
    if (json_is_array(j))
        json_array_foreach(j, i, x) {
            json_array_append_new(path, json_integer((json_int_t)i));
            open_where(x, address, path);
            json_array_remove(path, json_array_size(path) - 1);
        }
    if (json_is_object(j))
        json_object_foreach(j, k, x) {
            json_array_append_new(path, json_string(k));
            open_where(x, address, path);
            json_array_remove(path, json_array_size(path) - 1);
        }
}

/* text (JSON) with its sealed texts opened at address, path [attr …]. */
static char *opened_at(const char *text, const char *address, const char *attr)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je), *path = json_pack("[s]", attr);
    assert_non_null(j);
    open_where(j, address, path);
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    json_decref(path);
    return s;
}

/* Sealed to the executor at database.orders, attr: the writer and the tree
 * agree, opened where they stand; the written text, unopened, into *raw
 * when raw is given (free). Returns the opened text. */
static char *at_orders(mk_value *v, const char *attr, const mk_key *key, char **raw)
{
    mk_vjson_at at = {"database.orders", attr};
    bool u1 = false, u2 = false;
    json_t *tree = mk_vjson_from(v, key, true, &at, &u1);
    mk_buf b = {0};
    assert_true(mk_vjson_write(&b, v, key, true, &at, &u2));
    assert_int_equal(u1, u2);
    char *want = json_dumps(tree, JSON_COMPACT | JSON_ENCODE_ANY);
    char *w = opened_at(want, "database.orders", attr), *g = opened_at(mk_buf_cstr(&b), "database.orders", attr);
    assert_string_equal(g, w);
    if (raw)
        *raw = strdup(mk_buf_cstr(&b));
    free(want);
    free(w);
    json_decref(tree);
    mk_buf_free(&b);
    return g;
}

#define FP_ORDERS_PASSWORD "5aa1594dcb28f3f003de6a05a2f6d431329bfebc20a28be7021d607cae1cc01a" /* test_seal.c */
#define TO "{\"$secret\":{\"to\":\"" EXEC_ID "\",\"sealed\":"

/* A secret sealed to the executor: {"to", "sealed", "fingerprint"} in that
 * order, the fingerprint docs/trust.md's (the same as test_seal computes
 * apart), the sealed text opening only at its own address and path. */
static void test_sealed_to_executor(void **state)
{
    (void)state;
    char *raw;
    char *g = at_orders(secret(str("hunter2")), "password", &T, &raw);
    assert_string_equal(g, TO "\"hunter2\",\"fingerprint\":\"" FP_ORDERS_PASSWORD "\"}}");
    free(g);
    assert_memory_equal(raw, TO, strlen(TO));
    json_error_t je;
    json_t *j = json_loads(raw, 0, &je);
    const char *sealed = json_string_value(json_object_get(json_object_get(j, "$secret"), "sealed"));
    assert_null(mk_test_open(sealed, "database.orders", "[\"pw\"]"));
    assert_null(mk_test_open(sealed, "database.other", "[\"password\"]"));
    char *plain = mk_test_open(sealed, "database.orders", "[\"password\"]");
    assert_string_equal(plain, "hunter2");
    free(plain);
    json_decref(j);
    free(raw);
    /* without the state's fingerprint_key: no fingerprint */
    mk_key nofp = T;
    nofp.has_fp_key = false;
    g = at_orders(secret(str("hunter2")), "password", &nofp, NULL);
    assert_string_equal(g, TO "\"hunter2\"}}");
    free(g);
    /* not sealing (a plan compared, not written): the fingerprint alone */
    mk_vjson_at at = {"database.orders", "password"};
    mk_buf b = {0};
    assert_true(mk_vjson_write(&b, secret(str("hunter2")), &T, false, &at, NULL));
    assert_string_equal(mk_buf_cstr(&b), "{\"$secret\":{\"fingerprint\":\"" FP_ORDERS_PASSWORD "\"}}");
    mk_buf_free(&b);
    /* compared by fingerprint alone; without one, never the same */
    json_t *with = json_pack("{s:{s:s, s:s, s:s}}", "$secret", "to", "x", "sealed", "a", "fingerprint", "f1");
    json_t *fp_only = json_pack("{s:{s:s}}", "$secret", "fingerprint", "f1");
    json_t *none = json_pack("{s:{s:s, s:s}}", "$secret", "to", "x", "sealed", "a");
    assert_true(mk_vjson_same(with, fp_only));
    assert_false(mk_vjson_same(with, none));
    assert_false(mk_vjson_same(none, none));
    json_decref(with);
    json_decref(fp_only);
    json_decref(none);
}

/* Objects compare member by member, a null member the same as a missing
 * one (a field a type gained with a null default); any other difference in
 * the members still differs, however deep. */
static void test_same_null_members(void **state)
{
    (void)state;
    json_t *applied = json_pack("[{s:i, s:s}]", "port", 443, "protocol", "https");
    json_t *desired = json_pack("[{s:i, s:s, s:n, s:n}]", "port", 443, "protocol", "https", "redirect_https", "tls_policy");
    json_t *pinned = json_pack("[{s:i, s:s, s:n, s:s}]", "port", 443, "protocol", "https", "redirect_https", "tls_policy",
                               "ELBSecurityPolicy-TLS13-1-2-2021-06");
    json_t *fewer = json_pack("[{s:i}]", "port", 443);
    assert_true(mk_vjson_same(desired, applied));
    assert_true(mk_vjson_same(applied, desired));
    assert_false(mk_vjson_same(pinned, applied));
    assert_false(mk_vjson_same(applied, pinned));
    assert_false(mk_vjson_same(fewer, applied)); /* a member gone that was not null */
    assert_false(mk_vjson_same(applied, fewer));
    json_t *tags = json_pack("{s:s}", "team", "web"), *none = json_object();
    assert_false(mk_vjson_same(tags, none));
    assert_false(mk_vjson_same(none, tags));
    json_decref(applied);
    json_decref(desired);
    json_decref(pinned);
    json_decref(fewer);
    json_decref(tags);
    json_decref(none);
}

/* Each secret at its own path: map keys, a list's index in the array
 * written (after an element left out), a template's sealed parts at their
 * index, a container sealed whole at its own path. */
static void test_sealed_paths(void **state)
{
    (void)state;
    char *g = at_orders(map(2, "HOST", str("db"), "DB_PASSWORD", secret(str("s1"))), "env", &T, NULL);
    assert_non_null(strstr(g, "\"DB_PASSWORD\":{\"$secret\":{\"to\":\"" EXEC_ID "\",\"sealed\":\"s1\""));
    free(g);
    /* the fingerprints: printf 'moksha-fingerprint/v1\0database.orders\0PATH\0TEXT' |
     *   openssl dgst -sha256 -mac HMAC -macopt hexkey:000102…1e1f */
    g = at_orders(list(3, str("\xff"), map(1, "pw", str("open")), map(1, "pw", secret(str("s2")))), "users", &T, NULL);
    assert_string_equal(g, "[{\"pw\":\"open\"},{\"pw\":" TO "\"s2\",\"fingerprint\":"
                           "\"0a807b5b54ca05187ebb415fe5d942078975b20bfc75ec956f06a8983c543f47\"}}}]"); /* ["users",1,"pw"] */
    free(g);
    mk_defpart parts[] = {{"pw:", 3, NULL, NULL}, {NULL, 0, "database.orders", "id"}, {"@x", 2, NULL, NULL}};
    mk_deferred d = {parts, 3};
    mk_value t = {.kind = MK_V_UNKNOWN, .want = MK_V_STRING, .flags = MK_VF_SECRET, .u.res = &d};
    g = at_orders(&t, "conn", &T, NULL);
    assert_string_equal(g, "{\"$template\":[" TO "\"pw:\",\"fingerprint\":\"3cdf608f3294ded76461c51487cb4fada7d1e7cf4bea81e18fef40da2725ede9\"}},"
                           "{\"$ref\":\"database.orders\",\"attr\":\"id\"}," TO "\"@x\",\"fingerprint\":"
                           "\"b72f411dc8abc9d9f95be93c2071031ae7eb8327b8ca9da1fb6c9d59dc9721e0\"}}]}");
    free(g);
    g = at_orders(secret(map(2, "b", mk_v_bool(true), "a", list(2, mk_v_int(&C, 1), str("x")))), "cfg", &T, NULL);
    assert_string_equal(g, TO "\"{\\\"a\\\":[1,\\\"x\\\"],\\\"b\\\":true}\",\"fingerprint\":"
                           "\"9253f0f80237ae45224f919917452dbfb21bbf992b63debd66a90e78313a9267\",\"json\":true}}");
    free(g);
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
        cmocka_unit_test_setup_teardown(test_sealed_to_executor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sealed_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_null_members, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
