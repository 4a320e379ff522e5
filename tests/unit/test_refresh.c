/* test_refresh — what counts as drift and what an observation records
 * (runtime/refresh.c, docs/drift.md "Observations" and "What counts as
 * drift"): the names that differ, in the state's order, a missing
 * attribute as null, ignore_changes left out; an entry's digest; present,
 * drifted, gone, ignored and unreadable observations, the last good one
 * kept under `last`. No provider is called here. */
#include "tests/unit/unit.h"

#include <jansson.h>

#include "runtime/refresh.h"
#include "runtime/sha256.h"

static json_t *J(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    return v;
}

/* names (a JSON array) as compact text, then freed */
static void assert_json(json_t *v, const char *want)
{
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    assert_string_equal(t, want);
    free(t);
    json_decref(v);
}

static void test_differs(void **state)
{
    (void)state;
    json_t *rec = J("{\"size\":\"small\",\"tags\":{\"a\":1},\"id\":\"i-1\",\"note\":null,\"gone\":3}");
    json_t *obs = J("{\"tags\":{\"a\":1},\"size\":\"large\",\"id\":\"i-1\",\"extra\":true}");
    assert_json(mk_refresh_differs(rec, obs, NULL), "[\"size\",\"gone\"]");
    json_t *ign = J("[\"size\"]");
    assert_json(mk_refresh_differs(rec, obs, ign), "[\"gone\"]");
    assert_json(mk_refresh_differs(rec, rec, NULL), "[]");
    /* 1 and 1.0 are not equal to jansson: the provider answers in the state's form */
    json_t *a = J("{\"n\":1}"), *b = J("{\"n\":1.0}");
    assert_json(mk_refresh_differs(a, b, NULL), "[\"n\"]");
    json_decref(a), json_decref(b), json_decref(ign), json_decref(rec), json_decref(obs);
}

/* The same values as the compiler's (tests/unit/test_observed.c): the
 * attributes as compact sorted JSON, then a NUL and the entry's run. */
static void test_digest(void **state)
{
    (void)state;
    json_t *e = J("{\"address\":\"compute.web\",\"attributes\":{\"b\":1,\"a\":\"x\"}}");
    char got[65];
    mk_refresh_entry_digest(e, got); /* {"a":"x","b":1} */
    assert_string_equal(got, "cdab067e9f3beb32d1252cfd63e492592fecbf591b0d08cadb24bb17f3864246");
    json_object_set_new(e, "run", json_string("run-1"));
    mk_refresh_entry_digest(e, got); /* {"a":"x","b":1} NUL run-1 */
    assert_string_equal(got, "2082addff005c7f468ca68a971dd8653f9ea74b4a6fc5e0e7e32af28ddcfb5f9");
    json_decref(e);
}

static const char *ENTRY = "{\"address\":\"compute.web\",\"attributes\":{\"size\":\"small\",\"id\":\"i-1\"},"
                           "\"lifecycle\":{\"prevent_destroy\":false}}";

static void test_observe(void **state)
{
    (void)state;
    json_t *e = J(ENTRY), *same = J("{\"size\":\"small\",\"id\":\"i-1\",\"ip\":\"1.2.3.4\"}");
    json_t *moved = J("{\"size\":\"large\",\"id\":\"i-1\"}");
    char d[65];
    mk_refresh_entry_digest(e, d);
    char want[512];
    const char *st;
    snprintf(want, sizeof want, "{\"status\":\"present\",\"at\":\"T1\",\"entry\":\"%s\"}", d);
    assert_json(mk_refresh_observe(e, same, NULL, NULL, "T1", &st), want);
    assert_string_equal(st, "in_sync");
    snprintf(want, sizeof want, "{\"status\":\"present\",\"at\":\"T1\",\"entry\":\"%s\",\"attributes\":"
             "{\"size\":\"large\",\"id\":\"i-1\"},\"drift\":[\"size\"]}", d);
    assert_json(mk_refresh_observe(e, moved, NULL, NULL, "T1", &st), want);
    assert_string_equal(st, "drifted");
    snprintf(want, sizeof want, "{\"status\":\"gone\",\"at\":\"T1\",\"entry\":\"%s\"}", d);
    assert_json(mk_refresh_observe(e, NULL, NULL, NULL, "T1", &st), want);
    assert_string_equal(st, "gone");
    json_decref(same), json_decref(moved), json_decref(e);
}

static void test_modes(void **state)
{
    (void)state;
    json_t *e = J(ENTRY), *moved = J("{\"size\":\"large\",\"id\":\"i-1\"}");
    const char *st;
    json_object_set_new(json_object_get(e, "lifecycle"), "ignore_changes", J("[\"size\"]"));
    json_t *o = mk_refresh_observe(e, moved, NULL, NULL, "T", &st);
    assert_string_equal(st, "in_sync");
    assert_null(json_object_get(o, "drift"));
    /* the object as read all the same: the plan keeps the world's size */
    assert_json(json_incref(json_object_get(o, "attributes")), "{\"size\":\"large\",\"id\":\"i-1\"}");
    json_decref(o);
    json_object_set_new(json_object_get(e, "lifecycle"), "drift", json_string("ignore"));
    json_object_del(json_object_get(e, "lifecycle"), "ignore_changes");
    o = mk_refresh_observe(e, moved, NULL, NULL, "T", &st); /* not reported, but recorded */
    assert_string_equal(st, "ignored");
    assert_json(json_incref(json_object_get(o, "drift")), "[\"size\"]");
    assert_json(json_incref(json_object_get(o, "attributes")), "{\"size\":\"large\",\"id\":\"i-1\"}");
    json_decref(o);
    o = mk_refresh_observe(e, NULL, NULL, NULL, "T", &st); /* gone, but never reported */
    assert_string_equal(st, "ignored");
    assert_string_equal(json_string_value(json_object_get(o, "status")), "gone");
    json_decref(o), json_decref(moved), json_decref(e);
}

static void test_unreadable(void **state)
{
    (void)state;
    json_t *e = J(ENTRY);
    char d[65], want[768];
    mk_refresh_entry_digest(e, d);
    const char *st;
    snprintf(want, sizeof want, "{\"status\":\"unreadable\",\"at\":null,\"entry\":\"%s\",\"error\":\"denied\"}", d);
    assert_json(mk_refresh_observe(e, NULL, "denied", NULL, "T2", &st), want);
    assert_string_equal(st, "unreadable");
    json_t *prior = J("{\"status\":\"present\",\"at\":\"T0\",\"entry\":\"x\",\"attributes\":{\"size\":\"large\"},"
                      "\"drift\":[\"size\"]}");
    json_t *o = mk_refresh_observe(e, NULL, "denied", prior, "T2", &st);
    snprintf(want, sizeof want, "{\"status\":\"unreadable\",\"at\":\"T0\",\"entry\":\"%s\",\"error\":\"denied\","
             "\"last\":{\"status\":\"present\",\"attributes\":{\"size\":\"large\"}}}", d);
    char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(t, want);
    free(t);
    /* unreadable twice: the last good observation and its time stay */
    json_t *again = mk_refresh_observe(e, NULL, "still denied", o, "T3", &st);
    assert_string_equal(json_string_value(json_object_get(again, "at")), "T0");
    assert_json(json_incref(json_object_get(again, "last")), "{\"status\":\"present\",\"attributes\":{\"size\":\"large\"}}");
    json_decref(again), json_decref(o), json_decref(prior), json_decref(e);
}

/* note [read mask]: whatever a provider answers, a secret attribute shows
 * only as recorded, one sealed value or a marker; an import's as unknown. */
static void test_mask(void **state)
{
    (void)state;
    json_t *rec = J("{\"pw\":{\"$secret\":{\"sealed\":\"AAA\"}},\"tags\":{\"token\":{\"$secret\":{\"sealed\":\"BBB\"}},"
                    "\"team\":\"a\"},\"note\":\"n\",\"size\":\"small\"}");
    json_t *sens = J("[\"pw\",\"tags\",\"note\"]");
    json_t *leak = J("{\"pw\":\"PLAIN\",\"tags\":{\"token\":\"PLAIN\",\"team\":\"a\"},\"note\":\"m\",\"size\":\"large\"}");
    assert_json(mk_refresh_mask(leak, rec, sens, false),
                "{\"pw\":{\"$secret\":{\"differs\":true}},\"tags\":{\"$secret\":{\"differs\":true}},"
                "\"note\":{\"$secret\":{\"differs\":true}},\"size\":\"large\"}");
    /* as recorded, or one marker: kept; the nested secret counts without the list */
    json_t *same = J("{\"pw\":{\"$secret\":{\"differs\":true}},\"tags\":{\"token\":{\"$secret\":{\"sealed\":\"BBB\"}},"
                     "\"team\":\"a\"},\"note\":\"n\"}");
    assert_json(mk_refresh_mask(same, rec, NULL, false),
                "{\"pw\":{\"$secret\":{\"differs\":true}},\"tags\":{\"token\":{\"$secret\":{\"sealed\":\"BBB\"}},"
                "\"team\":\"a\"},\"note\":\"n\"}");
    json_t *imp = J("{\"pw\":{\"$secret\":{\"sealed\":\"AAA\"}},\"note\":\"n\",\"size\":\"small\",\"id\":\"i-1\"}");
    assert_json(mk_refresh_mask(imp, rec, sens, true),
                "{\"pw\":{\"$secret\":{\"unknown\":true}},\"note\":{\"$secret\":{\"unknown\":true}},"
                "\"size\":\"small\",\"id\":\"i-1\"}");
    assert_null(mk_refresh_mask(NULL, rec, sens, false)); /* gone */
    json_decref(rec), json_decref(sens);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_differs),  cmocka_unit_test(test_digest),     cmocka_unit_test(test_observe),
        cmocka_unit_test(test_modes),    cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
