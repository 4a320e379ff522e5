/* mkstate — benchmark helper: turn a plan (`moksha plan -o`, or `--format json`) of
 * creates into the state an apply would leave, with made-up computed
 * attributes, and change one resource in every CHANGE_EVERY (default 100)
 * so the next plan has work to do.
 *
 *   mkstate PLAN.json STATE.json [CHANGE_EVERY] */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fill_unknowns(json_t *attrs, json_t *unknown, size_t n)
{
    size_t i;
    json_t *name;
    json_array_foreach(unknown, i, name) {
        char v[64];
        snprintf(v, sizeof v, "sim-%zu-%s", n, json_string_value(name));
        json_object_set_new(attrs, json_string_value(name), json_string(v));
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage: mkstate PLAN.json STATE.json [CHANGE_EVERY]\n", stderr);
        return 1;
    }
    long every = argc > 3 ? atol(argv[3]) : 100;
    json_error_t je;
    json_t *plan = json_load_file(argv[1], 0, &je);
    if (!plan) {
        fprintf(stderr, "mkstate: %s: %s\n", argv[1], je.text);
        return 1;
    }
    json_t *res = json_array();
    size_t i, changed = 0;
    json_t *c;
    json_array_foreach(json_object_get(plan, "changes"), i, c) {
        json_t *attrs = json_deep_copy(json_object_get(c, "after"));
        fill_unknowns(attrs, json_object_get(c, "after_unknown"), i);
        if (every > 0 && i % (size_t)every == 0) { /* drift: someone changed the tags */
            json_object_set_new(attrs, "tags", json_pack("{s:s}", "drift", "yes"));
            changed++;
        }
        /* a plan may omit a default lifecycle; the state spells it out */
        json_t *life = json_object_get(c, "lifecycle");
        json_t *lifecycle = life ? json_incref(life)
                                 : json_pack("{s:b, s:b}", "prevent_destroy", 0, "create_before_destroy", 0);
        json_array_append_new(res, json_pack("{s:O, s:O, s:O, s:s, s:n, s:o, s:[], s:[], s:o}",
            "address", json_object_get(c, "address"), "type", json_object_get(c, "type"), "name",
            json_object_get(c, "name"), "provider", "sim", "placement", "attributes", attrs, "sensitive",
            "depends_on", "lifecycle", lifecycle));
    }
    json_t *st = json_pack("{s:s, s:s, s:i, s:o}", "format", "moksha.state/v1", "lineage", "bench", "serial", 1,
                           "resources", res);
    if (json_dump_file(st, argv[2], JSON_COMPACT) != 0) {
        fprintf(stderr, "mkstate: cannot write %s\n", argv[2]);
        return 1;
    }
    fprintf(stderr, "mkstate: %zu resources, %zu changed\n", json_array_size(res), changed);
    json_decref(st);
    json_decref(plan);
    return 0;
}
