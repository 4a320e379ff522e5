/* The observations reader (compiler/base/observed.c): what a damaged file
 * reports (E0306, with its line and column), what a file of another state
 * is (ignored, W0002), the `entry` digest, and that an observation is used
 * only while the state entry still has that digest. The differ's use of
 * them is test_plan.c's. */
#include "tests/unit/unit.h"

#include <jansson.h>

#include "compiler/base/diag.h"
#include "compiler/base/observed.h"
#include "compiler/base/state.h"

#define OBS_HEAD "{\"format\": \"moksha.observed/v1\", \"lineage\": \"lin-1\", \"serial\": 3, \"at\": \"2026-12-01T17:00:00Z\", "

static mk_srcset SRC;
static mk_diag *D;

static int setup(void **state)
{
    (void)state;
    D = mk_diag_new(&SRC);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mk_diag_free(D);
    D = NULL;
    return 0;
}

static mk_observed *parse(const char *text) { return mk_observed_parse(text, strlen(text), "obs.json", D); }

static void last_error_is(const char *code, const char *msg)
{
    const char *c, *m;
    mk_span at;
    assert_true(mk_diag_last_error(D, &c, &m, &at));
    assert_string_equal(c, code);
    assert_string_equal(m, msg);
}

/* SHA-256 of the attributes as compact JSON with sorted keys. */
static void test_digest(void **state)
{
    (void)state;
    json_t *a = json_pack("{s:i, s:s}", "b", 1, "a", "x"); /* {"a":"x","b":1} */
    char d[65];
    mk_observed_digest(a, d);
    assert_string_equal(d, "cdab067e9f3beb32d1252cfd63e492592fecbf591b0d08cadb24bb17f3864246");
    json_decref(a);
}

static void test_parsed(void **state)
{
    (void)state;
    mk_observed *o = parse(OBS_HEAD "\"resources\": {\"compute.web\": {\"status\": \"gone\", \"at\": null, \"entry\": \"e\"}}}");
    assert_non_null(o);
    assert_int_equal(mk_diag_errors(D), 0);
    assert_string_equal(o->at, "2026-12-01T17:00:00Z");
    assert_int_equal(o->serial, 3);
    assert_int_equal(json_object_size(o->resources), 1);
    mk_observed_free(o);
    o = mk_observed_parse(NULL, 0, "obs.json", D); /* the service has none: never refreshed */
    assert_non_null(o);
    assert_null(o->root);
    assert_null(mk_observed_of(o, NULL));
    mk_observed_free(o);
}

/* A file that exists and is not this format is damaged, never "not refreshed". */
static void test_damaged(void **state)
{
    (void)state;
    assert_null(parse("{\"format\": \"moksha.observed/v1\",\n \"resources\": {"));
    last_error_is("E0306", "the observations cannot be read: obs.json:2:15: the JSON ends early (is the file cut short?)");
    assert_null(parse("{\"format\": \"moksha.state/v1\", \"resources\": {}}"));
    last_error_is("E0306", "the observations cannot be read: obs.json: not a moksha.observed/v1 document");
    assert_null(parse(OBS_HEAD "\"resources\": {\"compute.web\": {\"status\": \"lost\", \"entry\": \"e\"}}}"));
    last_error_is("E0306", "the observations cannot be read: obs.json: the observation of compute.web lacks its status or entry digest");
    assert_null(parse(OBS_HEAD "\"resources\": []}"));
    last_error_is("E0306", "the observations cannot be read: obs.json: `resources` is not an object");
    assert_int_equal(mk_diag_count(D, "E0306"), 4);
}

static void test_absent_file_is_none(void **state)
{
    (void)state;
    mk_observed *o = mk_observed_read("/nonexistent-moksha/observed.json", D);
    assert_non_null(o);
    assert_null(o->root);
    assert_int_equal(mk_diag_errors(D), 0);
    mk_observed_free(o);
}

/* A state of one entry, parsed as the compiler reads it. */
static mk_state *state_of(const char *lineage)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"format\": \"moksha.state/v1\", \"lineage\": \"%s\", \"serial\": 3, \"resources\": [{\"address\": "
             "\"compute.web\", \"type\": \"compute\", \"attributes\": {\"b\": 1, \"a\": \"x\"}}]}", lineage);
    mk_state *st = mk_state_parse(text, strlen(text), "state.json", D);
    assert_non_null(st);
    return st;
}

/* Another lineage: the file is not this state's; ignored with a warning. */
static void test_other_state_ignored(void **state)
{
    (void)state;
    mk_state *st = state_of("lin-2");
    mk_observed *o = parse(OBS_HEAD "\"resources\": {}}");
    mk_observed_bind(o, st, D);
    assert_null(o->root);
    assert_null(o->resources);
    assert_int_equal(mk_diag_count(D, "W0002"), 1);
    assert_int_equal(mk_diag_errors(D), 0);
    mk_observed_free(o);
    mk_state_free(st);
}

/* An observation is used while the entry has the digest it was read
 * against; once an apply rewrote the entry, it is not. */
static void test_current_only(void **state)
{
    (void)state;
    mk_state *st = state_of("lin-1");
    mk_observed *o = parse(OBS_HEAD "\"resources\": {\"compute.web\": {\"status\": \"gone\", \"at\": null, \"entry\": "
                           "\"cdab067e9f3beb32d1252cfd63e492592fecbf591b0d08cadb24bb17f3864246\"}}}");
    mk_observed_bind(o, st, D);
    assert_int_equal(mk_diag_warnings(D), 0);
    json_t *sr = mk_state_find(st, "compute.web", NULL);
    json_t *seen = mk_observed_of(o, sr);
    assert_non_null(seen);
    assert_string_equal(json_string_value(json_object_get(seen, "status")), "gone");
    json_object_set_new(json_object_get(sr, "attributes"), "b", json_integer(2)); /* applied since */
    assert_null(mk_observed_of(o, sr));
    mk_observed_free(o);
    mk_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_digest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parsed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absent_file_is_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_state_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_current_only, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
