/* test_rtdelta — the state delta (rtstate.h note [state delta]) and the
 * local backend over it (runtime/backend_local.c): a snapshot carries what
 * was put and removed since the one before, keyed by address, and the
 * state's text leaves it out; an entry put again keeps its place, a new one
 * goes last; the local backend writes lines, state and head, gives the
 * state's bytes back exactly (current and previous serial only), and keeps
 * observations whole. Each test works in a temporary directory. */
#include "tests/unit/unit.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/backend.h"
#include "runtime/fileio.h"
#include "runtime/rtstate.h"

static char dir[64];

static int setup(void **st)
{
    (void)st;
    mk_test_tmpdir(dir, "/tmp/moksha-unit-delta.XXXXXX");
    return chdir(dir);
}

static int teardown(void **st)
{
    (void)st;
    int rc = chdir("/");
    mk_test_rmdir(dir);
    return rc;
}

static json_t *entry(const char *address, int v)
{
    return json_pack("{s:s, s:s, s:{s:i}}", "address", address, "type", "t", "attributes", "v", v);
}

/* The addresses of a snapshot's resources texts, in order, joined by ' '. */
static void order_of(json_t *snap, char *out, size_t n)
{
    size_t i;
    json_t *t;
    out[0] = 0;
    json_array_foreach(json_object_get(snap, "resources"), i, t) {
        json_t *e = json_loads(json_string_value(t), 0, NULL);
        snprintf(out + strlen(out), n - strlen(out), "%s%s", i ? " " : "", json_string_value(json_object_get(e, "address")));
        json_decref(e);
    }
}

static void test_delta_records_puts_and_removes(void **st)
{
    (void)st;
    char why[256], order[128];
    mk_rtstate *s = mk_rtstate_load("none.json", why, sizeof why);
    assert_non_null(s);
    mk_rtstate_put(s, entry("a", 1));
    mk_rtstate_put(s, entry("b", 1));
    mk_rtstate_put(s, entry("c", 1));
    json_t *snap = mk_rtstate_snapshot(s);
    json_t *d = json_object_get(snap, "delta");
    assert_int_equal(json_object_size(json_object_get(d, "put")), 3);
    assert_int_equal(json_array_size(json_object_get(d, "removed")), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(d, "put"), "b")),
                        "{\"address\": \"b\", \"type\": \"t\", \"attributes\": {\"v\": 1}}");
    json_decref(snap);

    mk_rtstate_put(s, entry("a", 2)); /* put again: keeps its place */
    assert_true(mk_rtstate_remove(s, "b"));
    assert_false(mk_rtstate_remove(s, "zz")); /* not there: nothing recorded */
    mk_rtstate_put(s, entry("d", 1));
    snap = mk_rtstate_snapshot(s);
    d = json_object_get(snap, "delta");
    order_of(snap, order, sizeof order);
    assert_string_equal(order, "a c d");
    assert_int_equal(json_object_size(json_object_get(d, "put")), 2);
    assert_non_null(json_object_get(json_object_get(d, "put"), "a"));
    assert_non_null(json_object_get(json_object_get(d, "put"), "d"));
    assert_int_equal(json_array_size(json_object_get(d, "removed")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(d, "removed"), 0)), "b");
    assert_int_equal(json_integer_value(json_object_get(snap, "serial")), 2);
    char *text = mk_rtstate_text(snap); /* takes it; the delta is not the file's */
    assert_null(strstr(text, "delta"));
    free(text);

    mk_rtstate_remove(s, "c"); /* removed, then put back: a put, and last */
    mk_rtstate_put(s, entry("c", 3));
    snap = mk_rtstate_snapshot(s);
    d = json_object_get(snap, "delta");
    order_of(snap, order, sizeof order);
    assert_string_equal(order, "a d c");
    assert_int_equal(json_object_size(json_object_get(d, "put")), 1);
    assert_int_equal(json_array_size(json_object_get(d, "removed")), 0);
    json_decref(snap);

    snap = mk_rtstate_snapshot(s); /* nothing since */
    d = json_object_get(snap, "delta");
    assert_int_equal(json_object_size(json_object_get(d, "put")), 0);
    assert_int_equal(json_array_size(json_object_get(d, "removed")), 0);
    json_decref(snap);
    mk_rtstate_free(s);
}

static void test_delta_not_from_load(void **st)
{
    (void)st;
    char why[256];
    const char *doc = "{\"format\": \"moksha.state/v1\", \"lineage\": \"l\", \"serial\": 4, \"resources\": ["
                      "{\"address\": \"x\", \"type\": \"t\", \"attributes\": {}}]}";
    assert_true(mk_fileio_write_atomic("s.json", doc, strlen(doc), false, false));
    mk_rtstate *s = mk_rtstate_load("s.json", why, sizeof why);
    assert_non_null(s);
    json_t *snap = mk_rtstate_snapshot(s);
    assert_int_equal(json_object_size(json_object_get(json_object_get(snap, "delta"), "put")), 0);
    assert_int_equal(json_integer_value(json_object_get(snap, "serial")), 5);
    json_decref(snap);
    mk_rtstate_free(s);
}

static char *pull(mk_backend *b, long long serial, bool *absent, char *why, size_t whylen)
{
    size_t n;
    return mk_backend_state_text(b, serial, &n, absent, why, whylen);
}

static void test_local_backend_state_and_observations(void **st)
{
    (void)st;
    char why[512];
    bool absent;
    mk_backend *b = mk_backend_open(NULL, NULL, "web", NULL, why, sizeof why);
    assert_non_null(b);
    assert_string_equal(mk_backend_info_of(b)->kind, "local");
    assert_string_equal(mk_backend_info_of(b)->stack, ""); /* the working directory is the stack */
    assert_string_equal(mk_backend_info_of(b)->location, ".moksha");
    assert_null(pull(b, -1, &absent, why, sizeof why));
    assert_true(absent);

    const char *s1 = "{\"format\": \"moksha.state/v1\", \"serial\": 1, \"resources\": []}\n";
    const char *s2 = "{\"format\": \"moksha.state/v1\", \"serial\": 2, \"resources\": []}\n";
    assert_true(mk_backend_import(b, s1, strlen(s1), NULL, 0, NULL, NULL, 0, why, sizeof why));
    assert_true(mk_fileio_write_atomic(".moksha/state.json", s2, strlen(s2), false, true));
    char *t = pull(b, -1, &absent, why, sizeof why);
    assert_string_equal(t, s2);
    free(t);
    t = pull(b, 1, &absent, why, sizeof why);
    assert_string_equal(t, s1);
    free(t);
    assert_null(pull(b, 7, &absent, why, sizeof why));
    assert_true(absent);
    assert_string_equal(why, "the local state keeps serial 2 and the one before it, 1: not 7");

    size_t n;
    assert_null(mk_backend_observed_text(b, &n, &absent, why, sizeof why));
    assert_true(absent);
    assert_true(mk_backend_observed_write(b, "{\"x\": 1}", 8, why, sizeof why));
    t = mk_backend_observed_text(b, &n, &absent, why, sizeof why);
    assert_int_equal(n, 8);
    assert_memory_equal(t, "{\"x\": 1}", 8);
    free(t);
    bool empty = true;
    assert_true(mk_backend_is_empty(b, &empty, why, sizeof why));
    assert_false(empty);
    json_t *bind = mk_backend_binding(b);
    char *bt = json_dumps(bind, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(bt, "{\"env\":null,\"kind\":\"local\",\"stack\":null}");
    free(bt);
    json_decref(bind);
    mk_backend_close(b);
}

static void test_local_backend_envs(void **st)
{
    (void)st;
    char why[512];
    mk_backend *dev = mk_backend_open(NULL, NULL, NULL, "dev", why, sizeof why);
    assert_non_null(dev);
    assert_string_equal(mk_backend_info_of(dev)->location, ".moksha/env/dev");
    const char *s = "{\"format\": \"moksha.state/v1\", \"serial\": 3, \"resources\": [{\"address\": \"a\"}]}\n";
    assert_true(mk_backend_import(dev, s, strlen(s), NULL, 0, NULL, NULL, 0, why, sizeof why));
    mk_backend *prod = mk_backend_open(NULL, "local", NULL, "prod", why, sizeof why);
    assert_true(mk_backend_import(prod, s, strlen(s), NULL, 0, NULL, NULL, 0, why, sizeof why));
    json_t *envs = mk_backend_envs(dev, why, sizeof why);
    assert_int_equal(json_array_size(envs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(envs, 0), "env")), "dev");
    assert_string_equal(json_string_value(json_object_get(json_array_get(envs, 1), "env")), "prod");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(envs, 1), "serial")), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(envs, 1), "resources")), 1);
    json_decref(envs);
    mk_backend_close(dev);
    mk_backend_close(prod);
    assert_null(mk_backend_open(NULL, NULL, NULL, "Bad Name", why, sizeof why));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delta_records_puts_and_removes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delta_not_from_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_backend_state_and_observations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_backend_envs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
