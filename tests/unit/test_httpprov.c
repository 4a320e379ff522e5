/* test_httpprov — the http provider (runtime/providers/http.c) against the
 * loopback REST service of the tests (tests/http/server.py, started here
 * on a port it picks, in a temporary directory, and stopped at the end —
 * it dies with this process too): every operation; a read of what nobody
 * touched equal to the state; an edit out of band read as the fields the
 * body sets; JSON pointers (RFC 6901) with escapes and indexes; a merge
 * PATCH removing a field; a POST's Idempotency-Key answered again across
 * two runs (the second adopted, no second object) and a new life after
 * the delete; a PUT over someone else's object refused; import by path;
 * the check refusing credentials in headers, a POST without id_pointer, a
 * wrong token, fault injection not allowed; fail_on. */
#include "tests/unit/unit.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/config.h"
#include "runtime/httpc.h"
#include "runtime/providers/provider.h"

static mk_config cfg;
static char dir[64], url[64];
static pid_t server;
static const char *TOKEN = "unit-token-7f3c9a";

static int setup(void **st)
{
    (void)st;
    mk_test_tmpdir(dir, "/tmp/moksha-unit-http.XXXXXX");
    char sdir[128];
    snprintf(sdir, sizeof sdir, "%s/svc", dir);
    mkdir(sdir, 0700);
    setenv("UNIT_HTTP_TOKEN", TOKEN, 1);
    server = fork();
    if (server == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execlp("python3", "python3", MK_SHARE_DIR "/tests/http/server.py", "--dir", sdir, "--token-env",
               "UNIT_HTTP_TOKEN", (char *)NULL);
        _exit(127);
    }
    char port_file[160], port[16] = "";
    snprintf(port_file, sizeof port_file, "%s/port", sdir);
    for (int i = 0; i < 500 && !port[0]; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            if (!fgets(port, sizeof port, f))
                port[0] = 0;
            fclose(f);
        }
        if (!port[0])
            usleep(10000);
    }
    if (!port[0])
        fail_msg("the test REST service did not start");
    port[strcspn(port, "\n")] = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%s", port);
    char path[128], text[2048], why[600];
    snprintf(path, sizeof path, "%s/exec.json", dir);
    snprintf(text, sizeof text,
             "{\"format\": \"moksha.exec-config/v1\", \"connections\": {"
             "\"api\": {\"kind\": \"http\", \"endpoint\": \"%s/api\", \"credentials\": {\"bearer_env\": \"UNIT_API_TOKEN\"}, "
             "\"allow_fault_injection\": true, \"allow_plaintext\": true},"
             "\"strict\": {\"kind\": \"http\", \"endpoint\": \"%s/api\", \"credentials\": {\"bearer_env\": \"UNIT_API_TOKEN\"}, "
             "\"allow_plaintext\": true},"
             "\"clear\": {\"kind\": \"http\", \"endpoint\": \"%s/api\", \"credentials\": {\"bearer_env\": \"UNIT_API_TOKEN\"}},"
             "\"pg\": {\"kind\": \"postgres\", \"conninfo\": \"host=/tmp dbname=postgres\"}}}",
             url, url, url);
    mk_test_write(dir, "exec.json", text);
    chmod(path, 0600);
    setenv("MOKSHA_EXEC_CONFIG", path, 1);
    setenv("UNIT_API_TOKEN", TOKEN, 1);
    if (!mk_config_load_for(&cfg, NULL, why, sizeof why))
        fail_msg("%s", why);
    assert_true(mk_httpc_init());
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    if (server > 0) {
        kill(server, SIGTERM);
        waitpid(server, NULL, 0);
    }
    mk_config_free(&cfg);
    mk_test_rmdir(dir);
    return 0;
}

static mk_prov *prov_on(const char *conn, const char *fail_on)
{
    char why[512], s[256];
    snprintf(s, sizeof s, "{\"connection\": \"%s\", \"fail_on\": [%s]}", conn, fail_on ? fail_on : "");
    json_t *settings = json_loads(s, 0, NULL);
    mk_prov *p = mk_prov_http_new(settings, &cfg, "api", why, sizeof why);
    json_decref(settings);
    if (!p)
        fail_msg("%s", why);
    return p;
}

/* A request to the service as a colleague with console access sends it
 * (the admin endpoints, or the API with the token); the answer's body. */
static char *svc(const char *method, const char *path, const char *body)
{
    static mk_config_conn c;
    snprintf(c.name, sizeof c.name, "svc");
    snprintf(c.endpoint, sizeof c.endpoint, "%s", url);
    c.connect_timeout_ms = c.request_timeout_ms = 5000;
    char u[256], auth[128];
    snprintf(u, sizeof u, "%s%s", url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", TOKEN);
    const char *hdrs[] = {auth, "Content-Type: application/json", NULL};
    mk_httpc_req req = {.conn = &c, .method = method, .url = u, .headers = hdrs, .body = body,
                        .body_len = body ? strlen(body) : 0};
    mk_httpc_resp r;
    char why[256];
    assert_int_equal(mk_httpc_send(&req, &r, why, sizeof why), MK_PROV_OK);
    char *out = strdup(r.body ? r.body : "");
    mk_httpc_resp_free(&r);
    return out;
}

/* The service's object at path, or NULL. */
static json_t *held(const char *path)
{
    char *all = svc("GET", "/_admin/objects", NULL);
    json_t *j = json_loads(all, 0, NULL);
    free(all);
    json_t *o = json_incref(json_object_get(j, path));
    json_decref(j);
    return o;
}

static json_t *obj(const char *fmt)
{
    json_error_t e;
    json_t *j = json_loads(fmt, 0, &e);
    if (!j)
        fail_msg("bad test JSON %s: %s", fmt, e.text);
    return j;
}

static mk_prov_status call(mk_prov_fn fn, mk_prov *p, mk_prov_op *op, json_t **out, char *why)
{
    *out = NULL;
    why[0] = 0;
    op->type = op->type ? op->type : "http.object";
    op->deadline_ms = 0;
    return fn(p, op, out, why, 512);
}

/* the whole life of a PUT object: create, read as recorded, drift, update, delete */
static void put_lifecycle(void **st)
{
    (void)st;
    mk_prov *p = prov_on("api", NULL);
    json_t *a = obj("{\"path\": \"/items/web\", \"body\": \"{\\\"name\\\":\\\"web\\\",\\\"tags\\\":{\\\"team\\\":\\\"a\\\"},\\\"n\\\":[1,2]}\", "
                    "\"create\": \"PUT\", \"update\": \"PUT\", \"id_pointer\": null, "
                    "\"computed\": {\"kind\": \"/kind\", \"rev\": \"/revision\", \"second\": \"/n/1\", \"none\": \"/nope\"}, \"headers\": {}}");
    json_t *out;
    char why[512];
    bool adopted = false;
    mk_prov_op op = {.address = "http.object.web", .attrs = a, .adopted = &adopted, .stack_id = "s1", .run_id = "r1"};
    assert_int_equal(call(p->create, p, &op, &out, why), MK_PROV_OK);
    assert_false(adopted);
    assert_string_equal(json_string_value(json_object_get(out, "id")), "/items/web");
    json_t *vals = json_object_get(out, "values");
    assert_string_equal(json_string_value(json_object_get(vals, "kind")), "item");
    assert_string_equal(json_string_value(json_object_get(vals, "rev")), "1"); /* a number as its JSON */
    assert_string_equal(json_string_value(json_object_get(vals, "second")), "2");
    assert_null(json_object_get(vals, "none"));
    /* the state's entry: the attributes and the computed ones */
    json_t *rec = json_deep_copy(a);
    json_object_update(rec, out);
    json_decref(out);
    mk_prov_op rd = {.address = "http.object.web", .attrs = rec};
    assert_int_equal(call(p->read, p, &rd, &out, why), MK_PROV_OK);
    assert_true(json_equal(out, rec));
    json_decref(out);
    /* out of band: a field the body sets, and one it does not */
    free(svc("POST", "/_admin/edit/items/web", "{\"tags\": {\"team\": \"b\", \"extra\": 1}, \"other\": true}"));
    assert_int_equal(call(p->read, p, &rd, &out, why), MK_PROV_OK);
    assert_string_equal(json_string_value(json_object_get(out, "body")), "{\"name\":\"web\",\"tags\":{\"team\":\"b\"},\"n\":[1,2]}");
    json_decref(out);
    /* update by PUT: the object is the body again */
    mk_prov_op up = {.address = "http.object.web", .attrs = rec, .prior = rec};
    assert_int_equal(call(p->update, p, &up, &out, why), MK_PROV_OK);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "values"), "rev")), "2");
    json_decref(out);
    json_t *h = held("/items/web");
    assert_null(json_object_get(h, "other"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(h, "tags"), "team")), "a");
    json_decref(h);
    /* delete, and again: what is gone is deleted */
    mk_prov_op del = {.address = "http.object.web", .attrs = rec};
    assert_int_equal(call(p->del, p, &del, &out, why), MK_PROV_OK);
    assert_int_equal(call(p->del, p, &del, &out, why), MK_PROV_OK);
    assert_int_equal(call(p->read, p, &rd, &out, why), MK_PROV_OK);
    assert_null(out);
    json_decref(rec);
    json_decref(a);
    p->free(p);
}

/* RFC 6901: ~1 is /, ~0 is ~, indexes into lists; a PATCH drops a field */
static void pointers_and_patch(void **st)
{
    (void)st;
    mk_prov *p = prov_on("api", NULL);
    json_t *a = obj("{\"path\": \"/items/ptr\", \"body\": \"{\\\"a/b\\\":{\\\"~x\\\":[10,20]},\\\"keep\\\":1,\\\"drop\\\":2}\", "
                    "\"create\": \"PUT\", \"update\": \"PATCH\", \"computed\": {\"v\": \"/a~1b/~0x/1\", \"all\": \"/a~1b\"}, \"headers\": {}}");
    json_t *out;
    char why[512];
    mk_prov_op op = {.address = "http.object.ptr", .attrs = a};
    assert_int_equal(call(p->create, p, &op, &out, why), MK_PROV_OK);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "values"), "v")), "20");
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "values"), "all")), "{\"~x\":[10,20]}");
    json_object_update(a, out);
    json_decref(out);
    json_t *b = json_deep_copy(a);
    json_object_set_new(b, "body", json_string("{\"a/b\":{\"~x\":[10,20]},\"keep\":3}"));
    mk_prov_op up = {.address = "http.object.ptr", .attrs = b, .prior = a};
    assert_int_equal(call(p->update, p, &up, &out, why), MK_PROV_OK);
    json_decref(out);
    json_t *h = held("/items/ptr");
    assert_int_equal(json_integer_value(json_object_get(h, "keep")), 3);
    assert_null(json_object_get(h, "drop"));
    json_decref(h);
    mk_prov_op del = {.address = "http.object.ptr", .attrs = b};
    assert_int_equal(call(p->del, p, &del, &out, why), MK_PROV_OK);
    json_decref(a), json_decref(b);
    p->free(p);
}

/* POST: one object for every try of a create, across runs; a new life
 * after the delete */
static void post_idempotent(void **st)
{
    (void)st;
    json_t *a = obj("{\"path\": \"/jobs\", \"body\": \"{\\\"name\\\":\\\"nightly\\\"}\", \"create\": \"POST\", "
                    "\"update\": \"PUT\", \"id_pointer\": \"/id\", \"computed\": {}, \"headers\": {}}");
    json_t *out, *out2;
    char why[512];
    mk_prov *p1 = prov_on("api", NULL), *p2 = prov_on("api", NULL);
    bool adopted = false;
    mk_prov_op op = {.address = "http.object.job", .attrs = a, .adopted = &adopted, .stack_id = "s-post", .run_id = "r1"};
    assert_int_equal(call(p1->create, p1, &op, &out, why), MK_PROV_OK);
    assert_false(adopted);
    /* this run's retry (a timeout): the same object, not adopted */
    assert_int_equal(call(p1->create, p1, &op, &out2, why), MK_PROV_OK);
    assert_false(adopted);
    assert_true(json_equal(out, out2));
    json_decref(out2);
    /* the next run after a crash: the same object, adopted */
    op.run_id = "r2";
    assert_int_equal(call(p2->create, p2, &op, &out2, why), MK_PROV_OK);
    assert_true(adopted);
    assert_true(json_equal(out, out2));
    json_decref(out2);
    const char *id = json_string_value(json_object_get(out, "id"));
    char where[64];
    snprintf(where, sizeof where, "/jobs/%s", id);
    json_t *h = held(where);
    assert_non_null(h);
    json_decref(h);
    /* another stack's create of the same address is another object */
    mk_prov_op other = {.address = "http.object.job", .attrs = a, .stack_id = "s-other", .run_id = "r9"};
    assert_int_equal(call(p2->create, p2, &other, &out2, why), MK_PROV_OK);
    assert_string_not_equal(json_string_value(json_object_get(out2, "id")), id);
    json_t *rec2 = json_deep_copy(a);
    json_object_update(rec2, out2);
    json_decref(out2);
    mk_prov_op del2 = {.address = "http.object.job", .attrs = rec2};
    assert_int_equal(call(p2->del, p2, &del2, &out2, why), MK_PROV_OK);
    json_decref(rec2);
    /* import by path, then delete; a create again gets a new life */
    json_t *rec = json_deep_copy(a);
    mk_prov_op imp = {.address = "http.object.job", .attrs = a, .import_id = where};
    assert_int_equal(call(p2->import, p2, &imp, &out2, why), MK_PROV_OK);
    assert_string_equal(json_string_value(json_object_get(out2, "id")), id);
    json_object_update(rec, out2);
    json_decref(out2);
    mk_prov_op bad = {.address = "http.object.job", .attrs = a, .import_id = "/elsewhere/x"};
    assert_int_equal(call(p2->import, p2, &bad, &out2, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "is not where this object lives"));
    mk_prov_op del = {.address = "http.object.job", .attrs = rec};
    assert_int_equal(call(p2->del, p2, &del, &out2, why), MK_PROV_OK);
    op.run_id = "r3";
    mk_prov *p3 = prov_on("api", NULL);
    assert_int_equal(call(p3->create, p3, &op, &out2, why), MK_PROV_OK);
    assert_string_not_equal(json_string_value(json_object_get(out2, "id")), id);
    json_decref(out2);
    json_decref(out), json_decref(rec), json_decref(a);
    p1->free(p1), p2->free(p2), p3->free(p3);
}

/* a PUT over someone else's object is refused and leaves it; one holding
 * the very fields is adopted */
static void put_foreign(void **st)
{
    (void)st;
    mk_prov *p = prov_on("api", NULL);
    free(svc("PUT", "/api/items/theirs", "{\"name\": \"theirs\", \"size\": 9}"));
    json_t *a = obj("{\"path\": \"/items/theirs\", \"body\": \"{\\\"name\\\":\\\"mine\\\"}\", \"create\": \"PUT\", "
                    "\"update\": \"PUT\", \"computed\": {}, \"headers\": {}}");
    json_t *out;
    char why[512];
    bool adopted = false;
    mk_prov_op op = {.address = "http.object.t", .attrs = a, .adopted = &adopted, .stack_id = "s1", .run_id = "r1"};
    assert_int_equal(call(p->create, p, &op, &out, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "already holds an object this stack did not make"));
    /* and again in the same run: a refused create did not make it this run's */
    assert_int_equal(call(p->create, p, &op, &out, why), MK_PROV_FAILED);
    json_t *h = held("/items/theirs");
    assert_string_equal(json_string_value(json_object_get(h, "name")), "theirs");
    json_decref(h);
    json_object_set_new(a, "body", json_string("{\"size\":9}"));
    mk_prov *q = prov_on("api", NULL);
    assert_int_equal(call(q->create, q, &op, &out, why), MK_PROV_OK);
    assert_true(adopted);
    json_decref(out);
    json_decref(a);
    p->free(p), q->free(q);
}

/* refused before the first step */
static void check_refuses(void **st)
{
    (void)st;
    json_t *out;
    char why[512];
    mk_prov *p = prov_on("api", NULL);
    json_t *a = obj("{\"path\": \"/items/c\", \"body\": \"{}\", \"create\": \"PUT\", \"update\": \"PUT\", \"computed\": {}, "
                    "\"headers\": {\"AUTHORIZATION\": \"Bearer x\"}}");
    mk_prov_op op = {.address = "http.object.c", .attrs = a, .action = "create"};
    assert_int_equal(call(p->check, p, &op, &out, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "header AUTHORIZATION is refused"));
    json_object_set_new(a, "headers", json_object());
    json_object_set_new(a, "create", json_string("POST"));
    assert_int_equal(call(p->check, p, &op, &out, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "needs id_pointer"));
    json_object_set_new(a, "create", json_string("PUT"));
    json_object_set_new(a, "body", json_string("[1]"));
    assert_int_equal(call(p->check, p, &op, &out, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "not a JSON object"));
    json_object_set_new(a, "body", json_string("{}"));
    assert_int_equal(call(p->check, p, &op, &out, why), MK_PROV_OK);
    setenv("UNIT_API_TOKEN", "not-the-token", 1);
    assert_int_equal(call(p->check, p, &op, &out, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "answered 401: unauthorized: a valid bearer token is required"));
    assert_null(strstr(why, "not-the-token"));
    unsetenv("UNIT_API_TOKEN");
    assert_int_equal(call(p->check, p, &op, &out, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "UNIT_API_TOKEN, which is not set"));
    setenv("UNIT_API_TOKEN", TOKEN, 1);
    p->free(p);
    /* fail_on: refused where the connection does not allow it, injected where it does */
    mk_prov *s = prov_on("strict", "\"http.object.c\"");
    assert_int_equal(call(s->check, s, &op, &out, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "allow_fault_injection"));
    s->free(s);
    mk_prov *f = prov_on("api", "\"http.object.c\"");
    assert_int_equal(call(f->check, f, &op, &out, why), MK_PROV_OK);
    mk_prov_op cr = {.address = "http.object.c", .attrs = a};
    assert_int_equal(call(f->create, f, &cr, &out, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "injected failure"));
    json_t *h = held("/items/c");
    assert_null(h);
    f->free(f);
    json_decref(a);
    /* a connection of another kind, or none */
    char w[512];
    json_t *settings = obj("{\"connection\": \"pg\"}");
    assert_null(mk_prov_http_new(settings, &cfg, "api", w, sizeof w));
    assert_non_null(strstr(w, "is a postgres connection, not http"));
    json_object_set_new(settings, "connection", json_string("nope"));
    assert_null(mk_prov_http_new(settings, &cfg, "api", w, sizeof w));
    assert_non_null(strstr(w, "has no connection `nope`"));
    json_decref(settings);
}

/* what a plan or a service could use to steer a request elsewhere on the
 * host: a dot segment in a path, an id that is one */
static void dot_segments(void **st)
{
    (void)st;
    mk_prov *p = prov_on("api", NULL);
    json_t *out;
    char why[512];
    json_t *a = obj("{\"path\": \"/items/../admin\", \"body\": \"{}\", \"create\": \"PUT\", \"update\": \"PUT\", "
                    "\"computed\": {}, \"headers\": {}}");
    mk_prov_op op = {.address = "http.object.d", .attrs = a, .action = "create"};
    assert_int_equal(call(p->check, p, &op, &out, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "is not a path under the endpoint"));
    op.action = NULL;
    assert_int_equal(call(p->create, p, &op, &out, why), MK_PROV_FAILED);
    json_object_set_new(a, "path", json_string("/items/."));
    assert_int_equal(call(p->create, p, &op, &out, why), MK_PROV_FAILED);
    /* a service naming its object ".." */
    json_object_set_new(a, "path", json_string("/hostile"));
    json_object_set_new(a, "create", json_string("POST"));
    json_object_set_new(a, "id_pointer", json_string("/name"));
    json_object_set_new(a, "body", json_string("{\"name\":\"..\"}"));
    assert_int_equal(call(p->create, p, &op, &out, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "has no id at /name"));
    mk_prov_op imp = {.address = "http.object.d", .attrs = a, .import_id = "/hostile/.."};
    assert_int_equal(call(p->import, p, &imp, &out, why), MK_PROV_FAILED);
    /* note [http path]: what a server or a gateway decodes or reads as a
     * dot segment, in the spec's path and in a service's id */
    static const char *const sly[] = {"/items/%2e%2e/admin", "/items/%2E./admin", "/items/.%2e", "/a/..;/admin",
                                      "/a/.;x/b", "/a/;x/b", "/a/%2fadmin", "/a/%5C..", "/a/%252e%252e", "/a/%41",
                                      "/a/%zz", "/a/%2", NULL};
    json_object_set_new(a, "create", json_string("PUT"));
    json_object_del(a, "id_pointer");
    json_object_set_new(a, "body", json_string("{}"));
    op.action = "create";
    for (const char *const *q = sly; *q; q++) {
        json_object_set_new(a, "path", json_string(*q));
        assert_int_equal(call(p->check, p, &op, &out, why), MK_PROV_FAILED);
        assert_non_null(strstr(why, "is not a path under the endpoint"));
        mk_prov_op cr = {.address = "http.object.d", .attrs = a};
        assert_int_equal(call(p->create, p, &cr, &out, why), MK_PROV_FAILED);
        mk_prov_op im = {.address = "http.object.d", .import_id = *q};
        assert_int_equal(call(p->read, p, &im, &out, why), MK_PROV_FAILED);
    }
    json_object_set_new(a, "path", json_string("/items/a%20b;v=1/c.d"));
    assert_int_equal(call(p->check, p, &op, &out, why), MK_PROV_OK);
    /* a service naming its object "..;" or "%2e%2e" */
    static const char *const ids[] = {"..;", ".;x", "%2e%2e", NULL};
    json_object_set_new(a, "path", json_string("/hostile"));
    json_object_set_new(a, "create", json_string("POST"));
    json_object_set_new(a, "id_pointer", json_string("/name"));
    op.action = NULL;
    for (const char *const *q = ids; *q; q++) {
        char b[64];
        snprintf(b, sizeof b, "{\"name\":\"%s\"}", *q);
        json_object_set_new(a, "body", json_string(b));
        assert_int_equal(call(p->create, p, &op, &out, why), MK_PROV_FAILED);
        assert_true(strstr(why, "has no id at /name") || strstr(why, "does not make a path under the endpoint"));
    }
    json_decref(a);
    p->free(p);
}

/* note [http headers]: names that are not tokens, and headers a backend
 * trusts for routing, the client's address or the method */
static void header_names(void **st)
{
    (void)st;
    mk_prov *p = prov_on("api", NULL);
    json_t *out;
    char why[512];
    static const char *const bad[] = {"Host\t", "Transfer-Encoding\t", "X Team", "X-A:b", "", "X-\x01",
                                      "x-http-method-override", "X-HTTP-Method", "X-Method-Override", "Forwarded",
                                      "X-Forwarded-For", "x-forwarded-host", "X-Real-IP", "Proxy-Connection",
                                      "proxy-foo", "Upgrade", "TE", "Expect", "Keep-Alive", "Trailer", NULL};
    for (const char *const *k = bad; *k; k++) {
        json_t *a = obj("{\"path\": \"/items/h\", \"body\": \"{}\", \"create\": \"PUT\", \"update\": \"PUT\", "
                        "\"computed\": {}}");
        json_t *h = json_object();
        json_object_set_new(h, *k, json_string("v"));
        json_object_set_new(a, "headers", h);
        mk_prov_op op = {.address = "http.object.h", .attrs = a, .action = "create"};
        assert_int_equal(call(p->check, p, &op, &out, why), MK_PROV_FAILED);
        assert_true(strstr(why, "is not a token") || strstr(why, "is refused"));
        json_decref(a);
    }
    json_t *a = obj("{\"path\": \"/items/h\", \"body\": \"{}\", \"create\": \"PUT\", \"update\": \"PUT\", "
                    "\"computed\": {}, \"headers\": {\"X-Team\": \"a\", \"If-Match\": \"*\", \"x.y~z\": \"1\"}}");
    mk_prov_op op = {.address = "http.object.h", .attrs = a, .action = "create"};
    assert_int_equal(call(p->check, p, &op, &out, why), MK_PROV_OK);
    json_decref(a);
    p->free(p);
}

/* note [http plaintext]: credentials over plain http only with
 * allow_plaintext, loopback included */
static void plaintext_credentials(void **st)
{
    (void)st;
    mk_prov *p = prov_on("clear", NULL);
    json_t *out;
    char why[512];
    json_t *a = obj("{\"path\": \"/items/pt\", \"body\": \"{}\", \"create\": \"PUT\", \"update\": \"PUT\", "
                    "\"computed\": {}, \"headers\": {}}");
    mk_prov_op op = {.address = "http.object.pt", .attrs = a, .action = "create"};
    assert_int_equal(call(p->check, p, &op, &out, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "over plain http"));
    assert_non_null(strstr(why, "allow_plaintext"));
    mk_prov_op cr = {.address = "http.object.pt", .attrs = a};
    assert_int_equal(call(p->create, p, &cr, &out, why), MK_PROV_FAILED);
    assert_null(held("/items/pt"));
    json_decref(a);
    p->free(p);
}

/* note [http echo]: a service repeating the token in its error does not
 * put it in the error moksha writes */
static void echoed_token(void **st)
{
    (void)st;
    mk_prov *p = prov_on("api", NULL);
    json_t *out;
    char why[512];
    json_t *a = obj("{\"path\": \"/echo/x\", \"body\": \"{}\", \"create\": \"PUT\", \"update\": \"PUT\", "
                    "\"computed\": {}, \"headers\": {}}");
    mk_prov_op op = {.address = "http.object.e", .attrs = a};
    assert_int_equal(call(p->create, p, &op, &out, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "answered 400: bad_request: you sent Bearer ****"));
    assert_null(strstr(why, TOKEN));
    /* the same, every character JSON-escaped: scrubbed once decoded */
    json_object_set_new(a, "path", json_string("/echo-escaped/x"));
    assert_int_equal(call(p->create, p, &op, &out, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "answered 400: bad_request: you sent Bearer ****"));
    assert_null(strstr(why, TOKEN));
    assert_null(strstr(why, "7f3c9a"));
    json_decref(a);
    p->free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_lifecycle),  cmocka_unit_test(pointers_and_patch), cmocka_unit_test(post_idempotent),
        cmocka_unit_test(put_foreign),    cmocka_unit_test(check_refuses),   cmocka_unit_test(dot_segments), cmocka_unit_test(echoed_token),
        cmocka_unit_test(header_names),   cmocka_unit_test(plaintext_credentials),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
