/* boundary (runtime/boundary.h): the executor's risk floor agrees with the
 * compiler's risk classes (docs/policies.md, "Risk classes") for every
 * stdlib type and action, and its type table with the stdlib's @stateful
 * marks; a tag-only update is low only when the state says so, a secret
 * compares by its fingerprint, the state's type counts; a boundary is
 * described as verify says it. The check, the required gates and the packs
 * need a trust file: tests/e2e/test_boundary.sh. */
#include "tests/unit/unit.h"

#include <dirent.h>
#include <jansson.h>

#include "compiler/middle/plan.h"
#include "runtime/boundary.h"

/* Each `@resource` type of stdlib/types and whether it is @stateful, as
 * {TYPE: bool}. */
static json_t *stdlib_types(void)
{
    json_t *out = json_object();
    DIR *d = opendir(MK_SHARE_DIR "/stdlib/types");
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d))) {
        char path[600], line[512];
        if (!strstr(e->d_name, ".moksha"))
            continue;
        snprintf(path, sizeof path, "%s/stdlib/types/%s", MK_SHARE_DIR, e->d_name);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        while (fgets(line, sizeof line, f)) {
            char *t = strstr(line, "type "), name[128];
            if (strncmp(line, "@resource", 9) != 0 || !t || sscanf(t + 5, "%127[a-z0-9_.]", name) != 1)
                continue;
            json_object_set_new(out, name, json_boolean(strstr(line, "@stateful") && strstr(line, "@stateful") < t));
        }
        fclose(f);
    }
    closedir(d);
    return out;
}

static void test_table_is_the_stdlibs(void **state)
{
    (void)state;
    json_t *types = stdlib_types(), *st;
    const char *name;
    assert_true(json_object_size(types) >= 19);
    json_object_foreach(types, name, st) {
        int cls = mk_boundary_type_class(name);
        if (cls == MK_BOUNDARY_UNKNOWN)
            fail_msg("stdlib type %s is not in runtime/boundary.c's table", name);
        if ((cls == MK_BOUNDARY_STATEFUL) != json_is_true(st))
            fail_msg("%s: @stateful %s in the stdlib, %s in runtime/boundary.c", name, json_is_true(st) ? "yes" : "no",
                     cls == MK_BOUNDARY_STATEFUL ? "stateful" : "not");
    }
    assert_int_equal(mk_boundary_type_class("sqlite.table"), MK_BOUNDARY_UNKNOWN);
    json_decref(types);
}

/* An entry of type with attributes attrs (JSON text). */
static json_t *entry(const char *type, const char *attrs)
{
    return json_pack("{s:s, s:s, s:o}", "address", "x.a", "type", type, "attributes", json_loads(attrs, 0, NULL));
}

/* The floor equals the compiler's class for every stdlib type and action
 * (the compiler's with the changed list the state and after give). */
static void test_floor_agrees_with_compiler(void **state)
{
    (void)state;
    static const struct { const char *name; mk_action a; } ACTS[] = {
        {"create", MK_ACT_CREATE}, {"noop", MK_ACT_NOOP}, {"move", MK_ACT_MOVE}, {"import", MK_ACT_IMPORT},
        {"delete", MK_ACT_DELETE}, {"replace", MK_ACT_REPLACE}, {"update", MK_ACT_UPDATE}};
    static const char *const TAGS[] = {"tags"}, *const SIZE[] = {"size"};
    json_t *types = stdlib_types(), *st;
    const char *type;
    json_object_foreach(types, type, st) {
        for (size_t i = 0; i < sizeof ACTS / sizeof ACTS[0]; i++)
            for (int tagged = 0; tagged < 2; tagged++) {
                json_t *e = entry(type, "{\"size\": 1, \"tags\": {}}");
                json_t *ch = json_pack("{s:s, s:s, s:s, s:o}", "address", "x.a", "type", type, "action", ACTS[i].name, "after",
                                       json_loads(tagged ? "{\"size\": 1, \"tags\": {\"a\": \"b\"}}" : "{\"size\": 2, \"tags\": {}}", 0, NULL));
                mk_names changed = {tagged ? TAGS : SIZE, 1};
                int want = (int)mk_plan_risk(ACTS[i].a, type, json_is_true(st), changed) + 1;
                if (mk_boundary_floor(ch, e) != want)
                    fail_msg("%s of %s (%s): floor %d, the compiler's class %d", ACTS[i].name, type,
                             tagged ? "tags" : "size", mk_boundary_floor(ch, e), want);
                json_decref(ch), json_decref(e);
            }
    }
    json_decref(types);
}

/* The floor reads the state, not the plan's word. */
static void test_floor_reads_the_state(void **state)
{
    (void)state;
    json_t *e = entry("compute", "{\"image\": \"a\", \"tags\": {\"t\": \"1\"}, \"id\": \"i-1\"}");
    json_t *ch = json_pack("{s:s, s:s, s:s, s:[s], s:o}", "address", "x.a", "type", "compute", "action", "update", "changed",
                           "tags", "after", json_loads("{\"image\": \"b\", \"tags\": {\"t\": \"2\"}, \"id\": \"i-1\"}", 0, NULL));
    assert_int_equal(mk_boundary_floor(ch, e), 2); /* `changed` says tags; the state says image too */
    assert_int_equal(mk_boundary_floor(ch, NULL), 2); /* nothing to compare: medium */
    json_object_set_new(json_object_get(ch, "after"), "image", json_string("a"));
    assert_int_equal(mk_boundary_floor(ch, e), 1);
    json_object_set_new(ch, "type", json_string("compute"));
    json_t *db = entry("database", "{}");
    json_object_set_new(ch, "action", json_string("delete"));
    assert_int_equal(mk_boundary_floor(ch, db), 3); /* the plan says compute; the state's entry is a database */
    json_object_set_new(ch, "action", json_string("update"));
    json_object_set_new(ch, "replace_because", json_pack("[s]", "image"));
    assert_int_equal(mk_boundary_floor(ch, e), 2); /* a forced update is a replace */
    json_object_set_new(ch, "action", json_string("obliterate"));
    assert_int_equal(mk_boundary_floor(ch, e), 3);
    /* a secret compares by fingerprint */
    json_t *se = entry("compute", "{\"pw\": {\"$secret\": {\"sealed\": \"A\", \"fingerprint\": \"f1\"}}, \"tags\": {}}");
    json_t *sc = json_pack("{s:s, s:s, s:s, s:o}", "address", "x.a", "type", "compute", "action", "update", "after",
                           json_loads("{\"pw\": {\"$secret\": {\"sealed\": \"B\", \"fingerprint\": \"f1\"}}, \"tags\": {\"a\": \"b\"}}", 0, NULL));
    assert_int_equal(mk_boundary_floor(sc, se), 1);
    json_object_del(json_object_get(json_object_get(json_object_get(sc, "after"), "pw"), "$secret"), "fingerprint");
    assert_int_equal(mk_boundary_floor(sc, se), 2);
    json_decref(e), json_decref(ch), json_decref(db), json_decref(se), json_decref(sc);
}

static void test_describe(void **state)
{
    (void)state;
    char out[512];
    json_t *b = json_loads("{\"max_risk\":\"medium\",\"environments\":[\"dev\"],\"max_cost_increase\":\"50.00\",\"max_changes\":3,"
                           "\"windows\":[{\"days\":[\"mon\",\"tue\"],\"from\":\"08:00\",\"to\":\"18:00\"}]}", 0, NULL);
    mk_boundary_describe(b, out, sizeof out);
    assert_string_equal(out, "max_risk medium; environments dev; max_cost_increase $50.00 a month; max_changes 3; "
                             "windows (UTC) mon, tue 08:00-18:00");
    mk_boundary_describe(NULL, out, sizeof out);
    assert_string_equal(out, "max_risk low");
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_the_stdlibs),
        cmocka_unit_test(test_floor_agrees_with_compiler),
        cmocka_unit_test(test_floor_reads_the_state),
        cmocka_unit_test(test_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
