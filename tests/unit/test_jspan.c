/* jspan: the boundaries it finds in valid JSON are exactly the values',
 * it refuses texts that are not objects or arrays where it walks, and on
 * every prefix of a text (each in a buffer of exactly its length, so that
 * valgrind and ASan see any read past it) it ends with an answer or a
 * refusal. */
#include "tests/unit/unit.h"

#include <jansson.h>

#include "runtime/jspan.h"

/* The items of the object or array at text[0], as "KEY=VALUE;" (or
 * "VALUE;"), or "refused" when the walk is refused. */
static void walk(const char *text, char kind, char *out, size_t cap)
{
    mk_jspan w;
    mk_jspan_item it;
    size_t n = strlen(text), used = 0;
    int r;
    out[0] = 0;
    if (!mk_jspan_open(&w, text, n, 0, kind, 1)) {
        snprintf(out, cap, "refused");
        return;
    }
    while ((r = mk_jspan_next(&w, &it)) == 1)
        used += (size_t)snprintf(out + used, cap - used, kind == '{' ? "%.*s=%.*s;" : "%.*s%.*s;",
                                 (int)it.keylen, text + it.key, (int)it.len, text + it.at);
    if (r < 0)
        snprintf(out, cap, "refused");
}

static void test_items_exactly(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"{\"a\":1,\"b\":\"x\\\"}\",\"c\":{\"d\":[1,{\"e\":\"]\"}]},\"f\":null}",
         "a=1;b=\"x\\\"}\";c={\"d\":[1,{\"e\":\"]\"}]};f=null;"},
        {" { \"a\" :\t-1.5e3 ,\n\"b\": [ ] } ", "a=-1.5e3;b=[ ];"},
        {"[true,\"\\\\\",[],{}]", "true;\"\\\\\";[];{};"},
        {"{}", ""},
        {"[\"i\\u0064\"]", "\"i\\u0064\";"},
    };
    char got[256];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *t = cases[i][0];
        walk(t, t[strspn(t, " \t\n")], got, sizeof got); /* the kind: the first byte after blanks */
        assert_string_equal(got, cases[i][1]);
    }
}

static void test_not_a_walk_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {"{\"a\":1,}", "{\"a\" 1}", "{\"a\":}", "{a:1}", "{\"a\":1 \"b\":2}",
                                      "{\"a\":\"x}", "{\"a\":[1,2}", "{\"a\":1", "{,\"a\":1}", "{\"a\":]}", "[1,]",
                                      "[,1]", "[1 2]", "[", "[\"\\\"]", "x", ""};
    char got[256];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        walk(bad[i], bad[i][0] == '[' ? '[' : '{', got, sizeof got);
        if (strcmp(got, "refused") != 0)
            fail_msg("`%s` walked as `%s`", bad[i], got);
    }
}

/* On valid JSON, each item's span is what jansson reads as that item. */
static void test_spans_agree_with_jansson(void **state)
{
    (void)state;
    const char *text = "{\"s\":\"a,b]}\\\\\",\"n\":[1,[2,[3]],{\"k\":{}}],\"u\":\"\\u00e9\\\"\",\"z\":0}";
    json_t *whole = json_loads(text, 0, NULL);
    assert_non_null(whole);
    mk_jspan w;
    mk_jspan_item it;
    size_t count = 0;
    assert_true(mk_jspan_open(&w, text, strlen(text), 0, '{', 1));
    while (mk_jspan_next(&w, &it) == 1) {
        char key[8];
        snprintf(key, sizeof key, "%.*s", (int)it.keylen, text + it.key);
        json_t *v = json_loadb(text + it.at, it.len, JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        assert_true(json_equal(v, json_object_get(whole, key)));
        json_decref(v);
        count++;
    }
    assert_int_equal(count, 4);
    assert_int_equal(w.i, strlen(text));
    json_decref(whole);
}

/* Every prefix, and every prefix with its last byte changed, in a buffer
 * of exactly its length: an answer or a refusal, and no read past it. */
static void test_every_prefix_ends(void **state)
{
    (void)state;
    const char *text = "{\"a\":[1,{\"b\":\"c\\\"d\"}],\"e\":{\"f\":[true,null]},\"g\":\"\\\\\"}";
    size_t n = strlen(text);
    static const char swaps[] = "\"\\{}[],: x";
    for (size_t len = 1; len <= n; len++)
        for (size_t s = 0; s < sizeof swaps; s++) {
            char *buf = malloc(len);
            memcpy(buf, text, len);
            if (s < sizeof swaps - 1)
                buf[len - 1] = swaps[s];
            mk_jspan w;
            mk_jspan_item it;
            int r = 0;
            if (mk_jspan_open(&w, buf, len, 0, '{', 1))
                while ((r = mk_jspan_next(&w, &it)) == 1)
                    assert_true(it.at + it.len <= len);
            assert_true(r <= 0);
            assert_true(mk_jspan_value_end(buf, len, 0, 1) <= len);
            free(buf);
        }
}

/* `{"a":` and k nested lists: jansson's limit, counted from the top. */
static char *nested(size_t k)
{
    char *t = malloc(2 * k + 8);
    size_t n = 0;
    n += (size_t)sprintf(t, "{\"a\":");
    for (size_t i = 0; i < k; i++)
        t[n++] = '[';
    for (size_t i = 0; i < k; i++)
        t[n++] = ']';
    strcpy(t + n, "}");
    return t;
}

static void test_depth_as_jansson(void **state)
{
    (void)state;
    for (size_t k = MK_JSPAN_MAX_DEPTH - 2; k <= MK_JSPAN_MAX_DEPTH; k++) {
        char *t = nested(k), got[8];
        json_t *j = json_loads(t, 0, NULL);
        mk_jspan w;
        mk_jspan_item it;
        assert_true(mk_jspan_open(&w, t, strlen(t), 0, '{', 1));
        int r = mk_jspan_next(&w, &it);
        snprintf(got, sizeof got, "%d", r);
        assert_string_equal(got, k < MK_JSPAN_MAX_DEPTH ? "1" : "-1"); /* the object is level 1 */
        assert_int_equal(j != NULL, r == 1);
        json_decref(j);
        free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_items_exactly),
        cmocka_unit_test(test_not_a_walk_refused),
        cmocka_unit_test(test_spans_agree_with_jansson),
        cmocka_unit_test(test_every_prefix_ends),
        cmocka_unit_test(test_depth_as_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
