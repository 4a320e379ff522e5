/* simcmd — `moksha-exec sim ls | show | set | unset | rm | put | fail`
 * (simcmd.h). It reaches the world through runtime/providers/sim.h, so the
 * objects it makes are the ones a create makes (ids, computed attributes);
 * it is not a provider, and it never goes through the executor: nothing it
 * does is planned, signed or audited, which is the point — it is how the
 * world moves under moksha's feet. */
#include "runtime/simcmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/exitcode.h"
#include "runtime/providers/sim.h"

static const char USAGE[] =
    "usage: moksha-exec sim ls | show ADDRESS | set ADDRESS NAME=JSON... | unset ADDRESS NAME...\n"
    "                     | rm ADDRESS | put ADDRESS TYPE [NAME=JSON...] [--cloud C] [--region R]\n"
    "                     | fail ADDRESS read|write|none [MESSAGE]\n";

static int usage(void)
{
    fputs(USAGE, stderr);
    return MK_EXIT_INPUT;
}

static int err(const char *what, const char *address)
{
    fprintf(stderr, "moksha-exec: error: sim: %s %s\n", what, address);
    return MK_EXIT_INPUT;
}

static bool collect(const char *path, json_t *obj, bool aside, void *ctx)
{
    (void)path;
    json_t *row = json_pack("{s:O, s:b}", "obj", obj, "aside", aside);
    json_array_append_new(ctx, row);
    return true;
}

static int by_address(const void *a, const void *b)
{
    json_t *x = json_object_get(*(json_t *const *)a, "obj"), *y = json_object_get(*(json_t *const *)b, "obj");
    int c = strcmp(json_string_value(json_object_get(x, "address")) ?: "", json_string_value(json_object_get(y, "address")) ?: "");
    return c ? c : strcmp(json_string_value(json_object_get(x, "id")) ?: "", json_string_value(json_object_get(y, "id")) ?: "");
}

/* One line an object: address, type, id, owner (STACK/RUN, or "-": made
 * outside moksha), and "set-aside" for an object create_before_destroy
 * set aside. */
static int ls(void)
{
    json_t *rows = json_array();
    mk_prov_sim_each(collect, rows);
    size_t n = json_array_size(rows);
    json_t **v = calloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(rows, i);
    qsort(v, n, sizeof *v, by_address);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object_get(v[i], "obj"), *owner = json_object_get(o, "owner");
        const char *stack = json_string_value(json_object_get(owner, "stack"));
        const char *run = json_string_value(json_object_get(owner, "run"));
        printf("%s  %s  %s  %s%s%s%s\n", json_string_value(json_object_get(o, "address")) ?: "?",
               json_string_value(json_object_get(o, "type")) ?: "?", json_string_value(json_object_get(o, "id")) ?: "?",
               stack ? stack : "-", stack && run ? "/" : "", stack && run ? run : "",
               json_is_true(json_object_get(v[i], "aside")) ? "  set-aside" : "");
    }
    free(v);
    json_decref(rows);
    return MK_EXIT_OK;
}

static json_t *must_load(const char *address)
{
    json_t *obj = mk_prov_sim_load(address);
    if (!obj)
        err("no object at", address);
    return obj;
}

static int show(const char *address)
{
    json_t *obj = must_load(address);
    if (!obj)
        return MK_EXIT_INPUT;
    char *text = json_dumps(obj, JSON_INDENT(2) | JSON_SORT_KEYS);
    printf("%s\n", text ? text : "null");
    free(text);
    json_decref(obj);
    return MK_EXIT_OK;
}

static int save(json_t *obj)
{
    char why[1200];
    bool ok = mk_prov_sim_save(obj, why, sizeof why);
    if (!ok)
        fprintf(stderr, "moksha-exec: error: %s\n", why);
    json_decref(obj);
    return ok ? MK_EXIT_OK : MK_EXIT_INPUT;
}

/* NAME=JSON into obj: the value as JSON, else as a string; a computed
 * attribute stays computed (the id is the object's too). False when not
 * NAME=…. */
static bool assign(json_t *obj, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return false;
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(eq - arg), arg);
    json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
    if (!v)
        v = json_string(eq + 1);
    json_t *comp = json_object_get(obj, "computed");
    json_object_set_new(json_object_get(comp, name) ? comp : json_object_get(obj, "attributes"), name, v);
    if (strcmp(name, "id") == 0)
        json_object_set(obj, "id", v);
    return true;
}

static int set(int argc, char **argv)
{
    json_t *obj = must_load(argv[0]);
    for (int i = 1; obj && i < argc; i++)
        if (!assign(obj, argv[i])) {
            json_decref(obj);
            return err("expected NAME=JSON, not", argv[i]);
        }
    return obj ? save(obj) : MK_EXIT_INPUT;
}

static int unset(int argc, char **argv)
{
    json_t *obj = must_load(argv[0]);
    for (int i = 1; obj && i < argc; i++) {
        json_object_del(json_object_get(obj, "attributes"), argv[i]);
        json_object_del(json_object_get(obj, "computed"), argv[i]);
    }
    return obj ? save(obj) : MK_EXIT_INPUT;
}

static int rm(const char *address)
{
    char path[1100];
    mk_prov_sim_path(address, path, sizeof path);
    if (unlink(path) != 0)
        return errno == ENOENT ? err("no object at", address) : err(strerror(errno), address);
    return MK_EXIT_OK;
}

/* An object made outside moksha: no owner, so a create refuses it and
 * `moksha import ADDRESS ID` takes it over. Prints its id. */
static int put(int argc, char **argv)
{
    const char *cloud = "aws", *region = "us-east-1";
    json_t *attrs = json_object(), *holder = json_pack("{s:o, s:{}}", "attributes", attrs, "computed");
    int rc = MK_EXIT_OK;
    for (int i = 2; i < argc && rc == MK_EXIT_OK; i++) {
        if ((strcmp(argv[i], "--cloud") == 0 || strcmp(argv[i], "--region") == 0) && i + 1 < argc)
            *(argv[i][2] == 'c' ? &cloud : &region) = argv[i + 1], i++;
        else if (!assign(holder, argv[i]))
            rc = err("expected NAME=JSON, --cloud C or --region R, not", argv[i]);
    }
    json_t *there = rc == MK_EXIT_OK ? mk_prov_sim_load(argv[0]) : NULL;
    if (there)
        rc = err("an object is already at", argv[0]);
    char why[512];
    json_t *obj = rc == MK_EXIT_OK ? mk_prov_sim_make(argv[0], argv[1], cloud, region, attrs, why, sizeof why) : NULL;
    if (rc == MK_EXIT_OK && !obj)
        rc = err(why, "");
    if (obj)
        printf("%s\n", json_string_value(json_object_get(obj, "id")));
    rc = obj ? save(obj) : rc;
    json_decref(there);
    json_decref(holder);
    return rc;
}

static int fail(int argc, char **argv)
{
    const char *on = argv[1];
    if (strcmp(on, "read") != 0 && strcmp(on, "write") != 0 && strcmp(on, "none") != 0)
        return usage();
    json_t *obj = must_load(argv[0]);
    if (!obj)
        return MK_EXIT_INPUT;
    json_object_del(obj, "fail");
    json_object_del(obj, "fail_message");
    if (strcmp(on, "none") != 0)
        json_object_set_new(obj, "fail", json_string(on));
    if (strcmp(on, "none") != 0 && argc > 2)
        json_object_set_new(obj, "fail_message", json_string(argv[2]));
    return save(obj);
}

int mk_simcmd_run(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    int n = argc - 2; /* after the subcommand */
    char **a = argv + 2;
    if (strcmp(sub, "ls") == 0 && n == 0)
        return ls();
    if (strcmp(sub, "show") == 0 && n == 1)
        return show(a[0]);
    if (strcmp(sub, "set") == 0 && n >= 2)
        return set(n, a);
    if (strcmp(sub, "unset") == 0 && n >= 2)
        return unset(n, a);
    if (strcmp(sub, "rm") == 0 && n == 1)
        return rm(a[0]);
    if (strcmp(sub, "put") == 0 && n >= 2)
        return put(n, a);
    if (strcmp(sub, "fail") == 0 && (n == 2 || n == 3))
        return fail(n, a);
    return usage();
}
