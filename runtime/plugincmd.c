/* plugincmd — the digest and the conformance test (plugincmd.h). The test
 * runs the plugin as an apply would (stripped environment, per-call
 * timeout) on the objects of DIR/conformance.json, in a temporary
 * directory of its own, and judges every answer by the protocol. */
#include "runtime/plugincmd.h"

#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/clock.h"
#include "runtime/plugin.h"

typedef struct tester {
    mk_plugin *pl;
    const char *name;
    int fails, checks;
    bool quiet;
} tester;

static bool check(tester *t, bool ok, const char *what, const char *detail)
{
    t->checks++;
    if (!ok)
        t->fails++;
    if (!ok || !t->quiet)
        printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", what, !ok && detail && *detail ? ": " : "", !ok && detail ? detail : "");
    return ok;
}

/* One request; *res is its "result" (owned). The status as the provider
 * would see it. */
static mk_plugin_status ask(tester *t, const char *op, json_t *req, json_t **res, char *why, size_t whylen)
{
    json_t *ans = NULL;
    *why = 0;
    mk_plugin_status st = mk_plugin_call(t->pl, op, req, 0, &ans, why, whylen);
    json_decref(req);
    *res = st == MK_PLUGIN_OK ? json_incref(json_object_get(ans, "result") ? json_object_get(ans, "result") : json_null())
                              : NULL;
    json_decref(ans);
    return st;
}

static json_t *req_of(const char *type, const char *address, json_t *attrs)
{
    json_t *r = json_pack("{ss ss ss ss}", "type", type, "address", address, "stack_id", "conformance", "run_id",
                          "conformance-run");
    if (attrs)
        json_object_set(r, "attrs", attrs);
    return r;
}

/* Every attribute the fixture sets reads back as set. */
static bool reads_as(json_t *want, json_t *got, char *diff, size_t n)
{
    const char *k;
    json_t *v;
    json_object_foreach(want, k, v)
        if (!json_equal(v, json_object_get(got, k))) {
            char *w = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY), *g = json_dumps(json_object_get(got, k),
                                                                                    JSON_COMPACT | JSON_ENCODE_ANY);
            snprintf(diff, n, "`%s` reads %s, set %s", k, g ? g : "nothing", w ? w : "?");
            free(w), free(g);
            return false;
        }
    return true;
}

static const char *id_of(json_t *res) { return json_string_value(json_object_get(res, "id")); }

/* Make the fixture's object n and look at it; answers what it was left
 * as (owned, for its delete) or NULL when it could not be made. */
static json_t *test_make(tester *t, json_t *obj, int n)
{
    const char *type = json_string_value(json_object_get(obj, "type"));
    json_t *attrs = json_object_get(obj, "attrs"), *upd = json_object_get(obj, "update");
    char addr[256], what[512], why[1024];
    snprintf(addr, sizeof addr, "%s.conformance_%d", type ? type : "?", n);
    if (!check(t, type && json_is_object(attrs), "fixture object", "needs \"type\" and \"attrs\""))
        return NULL;
    json_t *res;
    snprintf(what, sizeof what, "%s: read before create is null", addr);
    mk_plugin_status st = ask(t, "read", req_of(type, addr, attrs), &res, why, sizeof why);
    check(t, st == MK_PLUGIN_OK && json_is_null(res), what, st != MK_PLUGIN_OK ? why : "it reads an object never made");
    json_decref(res);

    snprintf(what, sizeof what, "%s: create answers an id", addr);
    st = ask(t, "create", req_of(type, addr, attrs), &res, why, sizeof why);
    if (!check(t, st == MK_PLUGIN_OK && id_of(res) && *id_of(res), what, st != MK_PLUGIN_OK ? why : "no \"id\" string in its result")) {
        json_decref(res);
        return NULL;
    }
    char id[512];
    snprintf(id, sizeof id, "%s", id_of(res));
    json_decref(res);

    snprintf(what, sizeof what, "%s: create again (a retry) is idempotent, same id", addr);
    st = ask(t, "create", req_of(type, addr, attrs), &res, why, sizeof why);
    char d[1200];
    snprintf(d, sizeof d, "it lies about ids: the first create answered %s, the retry %s", id,
             id_of(res) ? id_of(res) : "none");
    check(t, st == MK_PLUGIN_OK && id_of(res) && !strcmp(id_of(res), id), what, st != MK_PLUGIN_OK ? why : d);
    json_decref(res);

    json_t *foreign = req_of(type, addr, attrs);
    json_object_set_new(foreign, "stack_id", json_string("conformance-another-stack"));
    snprintf(what, sizeof what, "%s: another stack's create is refused (not taken over)", addr);
    st = ask(t, "create", foreign, &res, why, sizeof why);
    check(t, st == MK_PLUGIN_REFUSED, what, st == MK_PLUGIN_OK ? "it took over an object another stack made" : why);
    json_decref(res);

    json_t *as = json_deep_copy(attrs);
    json_object_set_new(as, "id", json_string(id));
    snprintf(what, sizeof what, "%s: read answers what was made, with its id", addr);
    st = ask(t, "read", req_of(type, addr, as), &res, why, sizeof why);
    char diff[1024] = "";
    bool same = st == MK_PLUGIN_OK && json_is_object(res) && reads_as(as, res, diff, sizeof diff);
    check(t, same, what, st != MK_PLUGIN_OK ? why : !json_is_object(res) ? "it reads it as gone" : diff);
    json_decref(res);

    if (json_is_object(upd)) {
        json_t *after = json_deep_copy(as);
        json_object_update(after, upd);
        json_t *r = req_of(type, addr, after);
        json_object_set(r, "prior", as);
        snprintf(what, sizeof what, "%s: update keeps its id", addr);
        st = ask(t, "update", r, &res, why, sizeof why);
        snprintf(d, sizeof d, "it lies about ids: made as %s, updated to %s", id, id_of(res) ? id_of(res) : "none");
        check(t, st == MK_PLUGIN_OK && id_of(res) && !strcmp(id_of(res), id), what, st != MK_PLUGIN_OK ? why : d);
        json_decref(res);
        snprintf(what, sizeof what, "%s: read answers the update", addr);
        st = ask(t, "read", req_of(type, addr, after), &res, why, sizeof why);
        same = st == MK_PLUGIN_OK && json_is_object(res) && reads_as(after, res, diff, sizeof diff);
        check(t, same, what, st != MK_PLUGIN_OK ? why : !json_is_object(res) ? "it reads it as gone" : diff);
        json_decref(res);
        json_decref(as);
        as = after;
    }

    if (mk_plugin_offers(t->pl, "import")) {
        json_t *r = req_of(type, addr, NULL);
        json_object_set_new(r, "import_id", json_string(id));
        snprintf(what, sizeof what, "%s: read by id (for import) finds it", addr);
        st = ask(t, "read", r, &res, why, sizeof why);
        snprintf(d, sizeof d, "it lies about ids: read by id %s answered %s", id, id_of(res) ? id_of(res) : "none");
        check(t, st == MK_PLUGIN_OK && id_of(res) && !strcmp(id_of(res), id), what, st != MK_PLUGIN_OK ? why : d);
        json_decref(res);
        r = req_of(type, addr, as);
        json_object_set_new(r, "import_id", json_string(id));
        snprintf(what, sizeof what, "%s: import answers the same id", addr);
        st = ask(t, "import", r, &res, why, sizeof why);
        snprintf(d, sizeof d, "it lies about ids: import of %s answered %s", id, id_of(res) ? id_of(res) : "none");
        check(t, st == MK_PLUGIN_OK && id_of(res) && !strcmp(id_of(res), id), what, st != MK_PLUGIN_OK ? why : d);
        json_decref(res);
    }

    return as;
}

/* Delete what test_make made (in the reverse order: a table before its
 * database), and see it gone. */
static void test_delete(tester *t, json_t *obj, int n, json_t *as)
{
    const char *type = json_string_value(json_object_get(obj, "type"));
    char addr[256], what[512], why[1024];
    snprintf(addr, sizeof addr, "%s.conformance_%d", type, n);
    json_t *res;
    mk_plugin_status st;
    snprintf(what, sizeof what, "%s: delete", addr);
    st = ask(t, "delete", req_of(type, addr, as), &res, why, sizeof why);
    check(t, st == MK_PLUGIN_OK, what, why);
    json_decref(res);
    snprintf(what, sizeof what, "%s: read after delete is null (gone)", addr);
    st = ask(t, "read", req_of(type, addr, as), &res, why, sizeof why);
    check(t, st == MK_PLUGIN_OK && json_is_null(res), what, st != MK_PLUGIN_OK ? why : "it still reads the object");
    json_decref(res);
    snprintf(what, sizeof what, "%s: delete again (what is gone) succeeds", addr);
    st = ask(t, "delete", req_of(type, addr, as), &res, why, sizeof why);
    check(t, st == MK_PLUGIN_OK, what, why);
    json_decref(res);
    json_decref(as);
}

/* Failure behaviour: a request it cannot serve is answered ok=false, and
 * the process lives on to answer the next. */
static void test_failures(tester *t)
{
    json_t *res;
    char why[1024];
    mk_plugin_start(t->pl, 0, NULL, why, sizeof why); /* (one a broken call before killed is started anew first) */
    int before = mk_plugin_starts(t->pl);
    mk_plugin_status st = ask(t, "frobnicate", req_of("x.y", "x.y.z", NULL), &res, why, sizeof why);
    json_decref(res);
    check(t, st == MK_PLUGIN_REFUSED || st == MK_PLUGIN_RETRY, "an unknown request is refused (ok false)",
          st == MK_PLUGIN_OK ? "it answered ok" : why);
    json_t *none = json_object();
    st = ask(t, "read", req_of("conformance_no_such.type", "conformance_no_such.type.x", none), &res, why, sizeof why);
    json_decref(none);
    json_decref(res);
    check(t, st == MK_PLUGIN_REFUSED || st == MK_PLUGIN_RETRY, "a type it does not serve is refused (ok false)",
          st == MK_PLUGIN_OK ? "it answered ok" : why);
    check(t, mk_plugin_starts(t->pl) == before, "it lives on after refusing", "it died and had to be started again");
}

static char tmpdir[64];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

/* "$TMP" in any string of the fixture's settings: a fresh directory. */
static json_t *subst(json_t *v)
{
    if (json_is_string(v) && strstr(json_string_value(v), "$TMP")) {
        const char *s = json_string_value(v), *at = strstr(s, "$TMP");
        char buf[4096];
        snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - s), s, tmpdir, at + 4);
        return json_string(buf);
    }
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) json_object_set_new(o, k, subst(x));
        return o;
    }
    return json_incref(v);
}

/* Does the fixture hold an object of type, and one with an update? */
static void covered(tester *t, json_t *objs, const char *type)
{
    bool has = false, upd = false;
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o) {
        const char *ty = json_string_value(json_object_get(o, "type"));
        if (ty && !strcmp(ty, type)) {
            has = true;
            upd = upd || json_object_size(json_object_get(o, "update")) > 0;
        }
    }
    char what[320];
    snprintf(what, sizeof what, "the fixture makes a %s", type);
    if (check(t, has, what, "conformance.json has no object of a type the plugin declares"))
        snprintf(what, sizeof what, "the fixture updates a %s", type),
            check(t, upd, what, "no object of that type in conformance.json has an \"update\"");
}

/* Every type schema.moksha declares (`type NAME.T`) and the handshake's
 * "types" lists must be exercised: a plugin is not conformant by a fixture
 * that leaves out what it serves. */
static void coverage(tester *t, const char *dir, const char *name, json_t *hello, json_t *objs)
{
    char path[PATH_MAX + 32], line[1024];
    snprintf(path, sizeof path, "%s/schema.moksha", dir);
    check(t, json_array_size(objs) > 0, "the fixture has objects", "conformance.json's \"objects\" is empty");
    FILE *f = fopen(path, "r");
    size_t nl = strlen(name);
    while (f && fgets(line, sizeof line, f)) {
        for (char *p = strstr(line, "type "); p; p = strstr(p + 1, "type ")) {
            if ((p > line && p[-1] != ' ' && p[-1] != '\t') || (strchr(line, '#') && strchr(line, '#') < p))
                continue;
            char *q = p + 5;
            while (*q == ' ')
                q++;
            size_t n = strspn(q, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.");
            if (n > nl + 1 && !strncmp(q, name, nl) && q[nl] == '.' && n < 256) {
                char ty[256];
                memcpy(ty, q, n), ty[n] = 0;
                covered(t, objs, ty);
            }
        }
    }
    if (f)
        fclose(f);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(hello, "types"), k, v) covered(t, objs, k);
}

static int run_test(const char *dir, double timeout_ms)
{
    char real[PATH_MAX], fx[PATH_MAX + 32], why[1024];
    if (!realpath(dir, real)) {
        fprintf(stderr, "moksha-exec: error: plugin test: %s: no such folder\n", dir);
        return 1;
    }
    snprintf(fx, sizeof fx, "%s/conformance.json", real);
    json_error_t e;
    json_t *fix = json_load_file(fx, JSON_REJECT_DUPLICATES, &e);
    if (!json_is_object(fix) || !json_is_array(json_object_get(fix, "objects"))) {
        fprintf(stderr, "moksha-exec: error: plugin test: %s: %s (the fixture: {\"settings\": {…}, \"objects\": "
                "[{\"type\", \"attrs\", \"update\"}]})\n", fx, fix ? "no \"objects\" list" : e.text);
        json_decref(fix);
        return 1;
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/moksha-conformance-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("moksha-exec: plugin test: mkdtemp");
        json_decref(fix);
        return 1;
    }
    json_t *given = json_object_get(fix, "settings"), *none = json_object();
    json_t *settings = subst(given ? given : none);
    json_decref(none);
    const char *base = strrchr(real, '/');
    mk_plugin_spec spec = {.name = base ? base + 1 : real, .dir = real, .settings = settings, .timeout_ms = timeout_ms};
    tester t = {.pl = mk_plugin_new(&spec), .name = spec.name};
    json_t *hello = NULL;
    mk_plugin_status st = mk_plugin_start(t.pl, 0, &hello, why, sizeof why);
    if (check(&t, st == MK_PLUGIN_OK, st == MK_PLUGIN_OK ? "handshake, protocol 1" : "handshake", why)) {
        size_t i;
        json_t *o;
        json_t *objs = json_object_get(fix, "objects"), *made[64] = {0};
        coverage(&t, real, spec.name, hello, objs);
        size_t n = json_array_size(objs) < 64 ? json_array_size(objs) : 64;
        json_array_foreach(objs, i, o) if (i < n) made[i] = test_make(&t, o, (int)i);
        for (i = n; i-- > 0;)
            if (made[i])
                test_delete(&t, json_array_get(objs, i), (int)i, made[i]);
        test_failures(&t);
    }
    json_decref(hello);
    mk_plugin_free(t.pl);
    json_decref(settings);
    json_decref(fix);
    nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    printf("%s: %d checks, %d failed: %s\n", spec.name, t.checks, t.fails,
           t.fails ? "not conformant" : "conformant");
    return t.fails ? 1 : 0;
}

int mk_plugincmd_run(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* a plugin that died: its stdin's write fails, it does not kill us */
    if (argc == 3 && !strcmp(argv[1], "digest")) {
        char d[80], why[1024], real[PATH_MAX];
        if (!realpath(argv[2], real) || !mk_plugin_digest(real, d, why, sizeof why)) {
            fprintf(stderr, "moksha-exec: error: plugin digest: %s\n", realpath(argv[2], real) ? why : "no such folder");
            return 1;
        }
        printf("%s\n", d);
        return 0;
    }
    if ((argc == 3 || (argc == 5 && !strcmp(argv[3], "--timeout"))) && !strcmp(argv[1], "test")) {
        double ms = 5000;
        if (argc == 5 && !mk_clock_parse_duration(argv[4], &ms)) {
            fprintf(stderr, "moksha-exec: error: plugin test: --timeout %s: expected a duration (\"5s\")\n", argv[4]);
            return 2;
        }
        return run_test(argv[2], ms);
    }
    fputs("usage: moksha-exec plugin digest DIR | test DIR [--timeout DURATION]\n", stderr);
    return 2;
}
