/* test_sim — what the providers' reads, imports and moves promise
 * (docs/providers.md): an object nobody touched reads back equal to what
 * the state records, sealed secrets included; a drifted attribute reads as
 * it is, a deleted object as gone, one that cannot be seen as a failure;
 * the sim's owner rule (a foreign object refused, this run's own retry not
 * adopted, an earlier run's adopted); import by id; a move keeps the id;
 * reads take the sim's latency. */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/clock.h"
#include "runtime/fileio.h"
#include "runtime/keyring.h"
#include "runtime/planfile.h"
#include "runtime/providers/provider.h"
#include "runtime/providers/sim.h"
#include "runtime/sha256.h"

static char dir[64];
static mk_keyring ring;

static int setup(void **st)
{
    (void)st;
    umask(022);
    mk_test_tmpdir(dir, "/tmp/moksha-unit-sim.XXXXXX");
    mk_planfile_key k;
    memset(&k, 0, sizeof k);
    memset(k.sign, 's', sizeof k.sign);
    memset(k.seal, 'e', sizeof k.seal);
    mk_keyring_from_project(&ring, &k);
    return chdir(dir);
}

static int teardown(void **st)
{
    (void)st;
    mk_keyring_free(&ring);
    if (chdir("/") != 0)
        return -1;
    mk_test_rmdir(dir);
    return 0;
}

static json_t *sealed(const char *address, const char *attr, const char *text)
{
    json_t *path = json_pack("[s]", attr);
    json_t *v = mk_keyring_seal_secret(&ring, text, strlen(text), address, path, NULL);
    json_decref(path);
    assert_non_null(v);
    return v;
}

static mk_prov *sim(const char *settings)
{
    char why[256];
    json_t *s = json_loads(settings, 0, NULL);
    mk_prov *p = mk_prov_sim_new(s, why, sizeof why);
    json_decref(s);
    assert_non_null(p);
    return p;
}

/* A create as an apply makes it; the state entry's attributes are the
 * desired ones with the computed added, as the executor records them. */
static json_t *create(mk_prov *p, const char *address, const char *type, json_t *attrs, const char *stack,
                      const char *run, mk_prov_status want, char *why)
{
    bool adopted = false;
    mk_prov_op op = {.address = address, .type = type, .attrs = attrs, .cloud = "aws", .region = "eu-west-1",
                     .keys = &ring, .adopted = &adopted, .stack_id = stack, .run_id = run};
    json_t *out = NULL;
    assert_int_equal(p->create(p, &op, &out, why, 512), want);
    if (want != MK_PROV_OK)
        return NULL;
    json_t *state = json_deep_copy(attrs);
    json_object_update(state, out);
    json_decref(out);
    json_object_set_new(state, "$adopted", json_boolean(adopted)); /* for the test only */
    return state;
}

static bool adopted_of(json_t *state)
{
    bool a = json_is_true(json_object_get(state, "$adopted"));
    json_object_del(state, "$adopted");
    return a;
}

static mk_prov_status read_at(mk_prov *p, const char *address, const char *type, json_t *state, json_t **out, char *why)
{
    mk_prov_op op = {.address = address, .type = type, .attrs = state, .keys = &ring};
    *out = NULL;
    return p->read(p, &op, out, why, 512);
}

/* Edit the object at address as `moksha-exec sim set` does. */
static void edit(const char *address, const char *where, const char *name, json_t *v)
{
    char why[256];
    json_t *obj = mk_prov_sim_load(address);
    assert_non_null(obj);
    if (where)
        json_object_set_new(json_object_get(obj, where), name, v);
    else
        json_object_set_new(obj, name, v);
    assert_true(mk_prov_sim_save(obj, why, sizeof why));
    json_decref(obj);
}

static void test_sim_read_untouched_and_drifted(void **st)
{
    (void)st;
    char why[512];
    mk_prov *p = sim("{}");
    json_t *attrs = json_pack("{s:s, s:s, s:o, s:{s:s}, s:{s:s, s:s}}", "engine", "postgres", "size", "small",
                              "password", sealed("database.main", "password", "hunter2"), "tags", "team", "core",
                              "network", "$ref", "network.main", "id", "vpc-1");
    json_t *state = create(p, "database.main", "database", attrs, NULL, NULL, MK_PROV_OK, why);
    adopted_of(state);
    json_object_set_new(state, "ignored_by_sim", json_null()); /* recorded, never held: left out */
    json_t *got;
    assert_int_equal(read_at(p, "database.main", "database", state, &got, why), MK_PROV_OK);
    json_object_del(state, "ignored_by_sim");
    assert_true(json_equal(got, state));
    assert_int_equal(json_integer_value(json_object_get(got, "port")), 5432);
    json_decref(got);

    edit("database.main", "attributes", "size", json_string("large"));
    edit("database.main", "attributes", "extra", json_string("not in the state: left out"));
    edit("database.main", "attributes", "password", json_string("hunter2")); /* set in plain, but the same */
    assert_int_equal(read_at(p, "database.main", "database", state, &got, why), MK_PROV_OK);
    assert_string_equal(json_string_value(json_object_get(got, "size")), "large");
    assert_null(json_object_get(got, "extra"));
    assert_true(json_equal(json_object_get(got, "password"), json_object_get(state, "password")));
    json_object_set_new(got, "size", json_string("small"));
    assert_true(json_equal(got, state));
    json_decref(got);

    edit("database.main", "attributes", "password", json_string("changed"));
    assert_int_equal(read_at(p, "database.main", "database", state, &got, why), MK_PROV_OK);
    json_t *differs = json_pack("{s:{s:b}}", "$secret", "differs", 1);
    assert_true(json_equal(json_object_get(got, "password"), differs));
    json_decref(differs);
    json_decref(got);

    char path[1100];
    mk_prov_sim_path("database.main", path, sizeof path);
    assert_int_equal(unlink(path), 0);
    got = json_true();
    assert_int_equal(read_at(p, "database.main", "database", state, &got, why), MK_PROV_OK);
    assert_null(got); /* gone */
    json_decref(state);
    json_decref(attrs);
    p->free(p);
}

/* A secret nested in a map reads back as recorded while the world holds
 * exactly that, else as differs: never the plaintext the world holds. */
static void test_sim_read_nested_secret(void **st)
{
    (void)st;
    char why[512];
    mk_prov *p = sim("{}");
    json_t *attrs = json_pack("{s:s, s:{s:o, s:s}}", "image", "app:1", "tags", "token",
                              sealed("compute.web", "tags", "first-secret"), "team", "a");
    json_t *state = create(p, "compute.web", "compute", attrs, NULL, NULL, MK_PROV_OK, why);
    adopted_of(state);
    json_t *got;
    assert_int_equal(read_at(p, "compute.web", "compute", state, &got, why), MK_PROV_OK);
    assert_true(json_equal(json_object_get(got, "tags"), json_object_get(state, "tags")));
    json_decref(got);
    edit("compute.web", "attributes", "tags", json_pack("{s:s, s:s}", "token", "ROTATED-PLAINTEXT", "team", "a"));
    assert_int_equal(read_at(p, "compute.web", "compute", state, &got, why), MK_PROV_OK);
    char *t = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
    assert_null(strstr(t, "ROTATED-PLAINTEXT"));
    free(t);
    json_t *differs = json_pack("{s:{s:b}}", "$secret", "differs", 1);
    assert_true(json_equal(json_object_get(got, "tags"), differs));
    json_decref(differs);
    json_decref(got);
    json_decref(state);
    json_decref(attrs);
    p->free(p);
}

/* Two long addresses with a common prefix have files of their own, each
 * name short enough for any file system; a short address keeps its name. */
static void test_sim_long_paths(void **st)
{
    (void)st;
    char a[1200], b[1200], pa[1100], pb[1100];
    memset(a, 'x', sizeof a);
    memcpy(a, "compute.", 8);
    a[sizeof a - 1] = 0;
    memcpy(b, a, sizeof b);
    b[sizeof b - 2] = 'y';
    mk_prov_sim_path(a, pa, sizeof pa);
    mk_prov_sim_path(b, pb, sizeof pb);
    assert_string_not_equal(pa, pb);
    assert_true(strlen(strrchr(pa, '/') + 1) <= 200);
    assert_null(strchr(pa, '~'));
    char again[1100];
    mk_prov_sim_path(a, again, sizeof again);
    assert_string_equal(pa, again);
    mk_prov_sim_path("compute.web[0]", pa, sizeof pa);
    assert_string_equal(strrchr(pa, '/') + 1, "compute.web_5b0_5d.json");
}

static void test_sim_fail_marks(void **st)
{
    (void)st;
    char why[512];
    mk_prov *p = sim("{\"fail_on\": [\"queue.jobs\"]}");
    json_t *attrs = json_pack("{s:s}", "name", "jobs");
    assert_null(create(p, "queue.jobs", "queue", attrs, NULL, NULL, MK_PROV_FAILED, why));
    assert_string_equal(why, "sim: create queue.jobs failed (injected by fail_on)");
    json_t *state = create(p, "queue.other", "queue", attrs, NULL, NULL, MK_PROV_OK, why);
    adopted_of(state);
    p->free(p);

    p = sim("{\"fail_on\": [\"queue.other\"]}");
    json_t *got;
    assert_int_equal(read_at(p, "queue.other", "queue", state, &got, why), MK_PROV_OK); /* fail_on: changes only */
    assert_true(json_equal(got, state));
    json_decref(got);
    p->free(p);

    p = sim("{}");
    edit("queue.other", NULL, "fail", json_string("read"));
    edit("queue.other", NULL, "fail_message", json_string("access denied by policy"));
    got = json_true();
    assert_int_equal(read_at(p, "queue.other", "queue", state, &got, why), MK_PROV_FAILED); /* unreadable, not gone */
    assert_null(got);
    assert_string_equal(why, "sim: read queue.other: permission denied: access denied by policy");
    mk_prov_op up = {.address = "queue.other", .type = "queue", .attrs = state, .keys = &ring};
    json_t *out = NULL;
    assert_int_equal(p->update(p, &up, &out, why, sizeof why), MK_PROV_OK); /* a read mark lets changes through */
    json_decref(out);

    edit("queue.other", NULL, "fail", json_string("write"));
    edit("queue.other", NULL, "fail_message", json_null());
    assert_int_equal(read_at(p, "queue.other", "queue", state, &got, why), MK_PROV_OK);
    json_decref(got);
    assert_int_equal(p->update(p, &up, &out, why, sizeof why), MK_PROV_FAILED);
    assert_string_equal(why, "sim: update queue.other: permission denied");
    assert_int_equal(p->del(p, &up, &out, why, sizeof why), MK_PROV_FAILED);
    assert_string_equal(why, "sim: delete queue.other: permission denied");
    json_decref(state);
    json_decref(attrs);
    p->free(p);
}

static void test_sim_owners(void **st)
{
    (void)st;
    char why[512], want[512];
    mk_prov *p = sim("{}");
    json_t *attrs = json_pack("{s:s}", "size", "small");

    json_t *obj = mk_prov_sim_make("compute.hand", "compute", "aws", "eu-west-1", attrs, why, sizeof why);
    assert_true(mk_prov_sim_save(obj, why, sizeof why)); /* made in a console: no owner */
    assert_null(create(p, "compute.hand", "compute", attrs, "stack-a", "run-1", MK_PROV_FAILED, why));
    const char *id = json_string_value(json_object_get(obj, "id"));
    snprintf(want, sizeof want, "sim: compute.hand already holds an object this stack did not make (id %s): not "
             "taken over; to manage it, `moksha import compute.hand %s`", id, id);
    assert_string_equal(why, want);
    json_t *state = create(p, "compute.hand", "compute", attrs, NULL, NULL, MK_PROV_OK, why);
    assert_true(adopted_of(state)); /* outside an apply: adopted as before owners */
    json_decref(state);
    json_decref(obj);

    json_t *first = create(p, "compute.web", "compute", attrs, "stack-a", "run-1", MK_PROV_OK, why);
    assert_false(adopted_of(first));
    json_t *again = create(p, "compute.web", "compute", attrs, "stack-a", "run-1", MK_PROV_OK, why);
    assert_false(adopted_of(again)); /* this run's own retry: its undo deletes it */
    assert_true(json_equal(again, first));
    json_t *later = create(p, "compute.web", "compute", attrs, "stack-a", "run-2", MK_PROV_OK, why);
    assert_true(adopted_of(later)); /* an earlier run's, never recorded */
    assert_true(json_equal(later, first));
    obj = mk_prov_sim_load("compute.web");
    assert_string_equal(json_string_value(json_object_get(json_object_get(obj, "owner"), "run")), "run-2");
    json_decref(obj);
    assert_null(create(p, "compute.web", "compute", attrs, "stack-b", "run-9", MK_PROV_FAILED, why));
    snprintf(want, sizeof want, "sim: compute.web already holds an object this stack did not make (id %s, another "
             "stack's): not taken over; to manage it, `moksha import compute.web %s`",
             json_string_value(json_object_get(first, "id")), json_string_value(json_object_get(first, "id")));
    assert_string_equal(why, want);
    json_decref(first);
    json_decref(again);
    json_decref(later);
    json_decref(attrs);
    p->free(p);
}

static void test_sim_import(void **st)
{
    (void)st;
    char why[512], path[1100];
    mk_prov *p = sim("{}");
    json_t *attrs = json_pack("{s:s, s:o}", "size", "large", "secret", sealed("elsewhere", "secret", "x"));
    json_t *obj = mk_prov_sim_make("console.box", "compute", "aws", "eu-west-1", attrs, why, sizeof why);
    assert_true(mk_prov_sim_save(obj, why, sizeof why));
    const char *id = json_string_value(json_object_get(obj, "id"));

    mk_prov_op op = {.address = "compute.legacy", .type = "compute", .import_id = id, .keys = &ring,
                     .stack_id = "stack-a", .run_id = "run-1"};
    json_t *got = NULL;
    assert_int_equal(p->read(p, &op, &got, why, sizeof why), MK_PROV_OK);
    json_t *want = json_deep_copy(json_object_get(obj, "attributes"));
    json_object_update(want, json_object_get(obj, "computed"));
    json_object_set_new(want, "secret", json_pack("{s:{s:b}}", "$secret", "unknown", 1)); /* never sealed here */
    assert_true(json_equal(got, want));
    json_decref(got);
    json_decref(want);

    json_t *blocker = mk_prov_sim_make("compute.taken", "compute", "aws", "eu-west-1", attrs, why, sizeof why);
    assert_true(mk_prov_sim_save(blocker, why, sizeof why));
    mk_prov_op clash = op;
    clash.address = "compute.taken";
    assert_int_equal(p->import(p, &clash, &got, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "the address already holds another object"));
    mk_prov_op wrong = op;
    wrong.type = "bucket";
    assert_int_equal(p->import(p, &wrong, &got, why, sizeof why), MK_PROV_FAILED);

    assert_int_equal(p->import(p, &op, &got, why, sizeof why), MK_PROV_OK);
    assert_true(json_equal(got, json_object_get(obj, "computed")));
    json_decref(got);
    mk_prov_sim_path("console.box", path, sizeof path);
    assert_int_equal(access(path, F_OK), -1);
    json_t *now = mk_prov_sim_load("compute.legacy");
    assert_string_equal(json_string_value(json_object_get(now, "id")), id);
    assert_string_equal(json_string_value(json_object_get(now, "address")), "compute.legacy");
    assert_string_equal(json_string_value(json_object_get(json_object_get(now, "owner"), "stack")), "stack-a");
    json_decref(now);
    mk_prov_op none = op;
    none.import_id = "i-nosuch";
    got = json_true();
    assert_int_equal(p->read(p, &none, &got, why, sizeof why), MK_PROV_OK);
    assert_null(got);
    json_decref(blocker);
    json_decref(obj);
    json_decref(attrs);
    p->free(p);
}

static bool count_aside(const char *path, json_t *obj, bool aside, void *ctx)
{
    (void)path;
    if (aside && strcmp(json_string_value(json_object_get(obj, "address")), "compute.new") == 0)
        ++*(int *)ctx;
    return true;
}

static void test_sim_move(void **st)
{
    (void)st;
    char why[512];
    mk_prov *p = sim("{}");
    json_t *attrs = json_pack("{s:s}", "size", "small");
    json_t *old = create(p, "compute.old", "compute", attrs, "stack-a", "run-1", MK_PROV_OK, why);
    adopted_of(old);
    /* a replacement made before the old object's delete: it is set aside */
    bool adopted = false;
    mk_prov_op cbd = {.address = "compute.old", .type = "compute", .attrs = attrs, .cloud = "aws",
                      .region = "eu-west-1", .keys = &ring, .adopted = &adopted,
                      .deposing = json_string_value(json_object_get(old, "id"))};
    json_t *out = NULL;
    assert_int_equal(p->create(p, &cbd, &out, why, sizeof why), MK_PROV_OK);
    json_t *repl = json_deep_copy(attrs);
    json_object_update(repl, out);
    json_decref(out);

    mk_prov_op mv = {.address = "compute.new", .type = "compute", .attrs = repl, .moved_from = "compute.old", .keys = &ring};
    assert_int_equal(p->move(p, &mv, &out, why, sizeof why), MK_PROV_OK);
    json_decref(out);
    json_t *got;
    assert_int_equal(read_at(p, "compute.new", "compute", repl, &got, why), MK_PROV_OK);
    assert_true(json_equal(got, repl)); /* id and all unchanged */
    json_decref(got);
    assert_int_equal(read_at(p, "compute.old", "compute", repl, &got, why), MK_PROV_OK);
    assert_null(got);
    int asides = 0;
    mk_prov_sim_each(count_aside, &asides);
    assert_int_equal(asides, 1);
    assert_int_equal(p->move(p, &mv, &out, why, sizeof why), MK_PROV_OK); /* a retry: moved already */
    json_decref(out);
    mk_prov_op gone = mv;
    gone.address = "compute.other";
    assert_int_equal(p->move(p, &gone, &out, why, sizeof why), MK_PROV_FAILED);
    assert_string_equal(why, "sim: move compute.other: no object at compute.old");
    json_decref(old);
    json_decref(repl);
    json_decref(attrs);
    p->free(p);
}

static void test_sim_read_latency(void **st)
{
    (void)st;
    char why[512];
    mk_prov *p = sim("{\"latency\": \"30ms\"}");
    json_t *attrs = json_pack("{s:s}", "name", "q");
    json_t *state = create(p, "queue.slow", "queue", attrs, NULL, NULL, MK_PROV_OK, why);
    adopted_of(state);
    json_t *got;
    double t0 = mk_clock_now_ms();
    assert_int_equal(read_at(p, "queue.slow", "queue", state, &got, why), MK_PROV_OK);
    assert_true(mk_clock_now_ms() - t0 >= 30);
    assert_true(json_equal(got, state));
    json_decref(got);
    mk_prov_op late = {.address = "queue.slow", .type = "queue", .attrs = state, .deadline_ms = mk_clock_now_ms() + 5};
    assert_int_equal(p->read(p, &late, &got, why, sizeof why), MK_PROV_RETRYABLE);
    assert_string_equal(why, "sim: queue.slow timed out");
    json_decref(state);
    json_decref(attrs);
    p->free(p);
}

/* ---- local ---- */

static mk_prov *local(void)
{
    char why[256];
    json_t *s = json_pack("{s:s}", "root", "out");
    mk_prov *p = mk_prov_local_new(s, NULL, why, sizeof why);
    json_decref(s);
    assert_non_null(p);
    return p;
}

static json_t *put_local(mk_prov *p, const char *address, const char *type, json_t *attrs)
{
    char why[512];
    mk_prov_op op = {.address = address, .type = type, .attrs = attrs, .keys = &ring};
    json_t *out = NULL;
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_OK);
    json_t *state = json_deep_copy(attrs);
    json_object_update(state, out);
    json_decref(out);
    return state;
}

static void test_local_read(void **st)
{
    (void)st;
    char why[512];
    mk_prov *p = local();
    json_t *fa = json_pack("{s:s, s:o, s:s, s:n}", "path", "conf/app.env", "content",
                           sealed("local.file.env", "content", "TOKEN=1\n"), "mode", "600", "special_bits");
    json_t *fs = put_local(p, "local.file.env", "local.file", fa);
    json_t *got;
    assert_int_equal(read_at(p, "local.file.env", "local.file", fs, &got, why), MK_PROV_OK);
    assert_true(json_equal(got, fs));
    json_decref(got);

    mk_test_write("out/conf", "app.env", "TOKEN=2\n");
    assert_int_equal(read_at(p, "local.file.env", "local.file", fs, &got, why), MK_PROV_OK);
    char sha[65];
    mk_sha256_hex("TOKEN=2\n", 8, sha);
    json_t *want = json_pack("{s:s, s:{s:{s:b}}, s:s, s:n, s:s, s:s}", "path", "conf/app.env", "content", "$secret",
                             "differs", 1, "mode", "600", "special_bits", "id", "conf/app.env", "sha256", sha);
    assert_true(json_equal(got, want)); /* the sealed content differs; never shown */
    json_decref(got);
    json_decref(want);
    assert_int_equal(chmod("out/conf/app.env", 0640), 0);
    assert_int_equal(read_at(p, "local.file.env", "local.file", fs, &got, why), MK_PROV_OK);
    assert_string_equal(json_string_value(json_object_get(got, "mode")), "0640");
    json_decref(got);

    assert_int_equal(unlink("out/conf/app.env"), 0);
    assert_int_equal(mkdir("out/conf/app.env", 0750), 0); /* another kind at the path */
    assert_int_equal(read_at(p, "local.file.env", "local.file", fs, &got, why), MK_PROV_OK);
    want = json_pack("{s:s, s:n, s:s, s:n, s:s, s:n}", "path", "conf/app.env", "content", "mode", "0750",
                     "special_bits", "id", "conf/app.env", "sha256");
    assert_true(json_equal(got, want));
    json_decref(got);
    json_decref(want);
    assert_int_equal(rmdir("out/conf/app.env"), 0);
    got = json_true();
    assert_int_equal(read_at(p, "local.file.env", "local.file", fs, &got, why), MK_PROV_OK);
    assert_null(got); /* gone */

    json_t *da = json_pack("{s:s, s:s, s:n}", "path", "data", "mode", "0755", "special_bits");
    json_t *ds = put_local(p, "local.directory.d", "local.directory", da);
    assert_int_equal(read_at(p, "local.directory.d", "local.directory", ds, &got, why), MK_PROV_OK);
    assert_true(json_equal(got, ds));
    json_decref(got);
    json_t *la = json_pack("{s:s, s:s}", "path", "current", "target", "data");
    json_t *ls = put_local(p, "local.symlink.cur", "local.symlink", la);
    assert_int_equal(read_at(p, "local.symlink.cur", "local.symlink", ls, &got, why), MK_PROV_OK);
    assert_true(json_equal(got, ls));
    json_decref(got);
    json_t *esc = json_pack("{s:s}", "path", "../x");
    assert_int_equal(read_at(p, "local.file.x", "local.file", esc, &got, why), MK_PROV_FAILED); /* the jail holds */
    json_decref(esc);
    json_decref(fs), json_decref(fa), json_decref(ds), json_decref(da), json_decref(ls), json_decref(la);
    p->free(p);
}

static void test_local_import_move(void **st)
{
    (void)st;
    char why[512];
    mk_prov *p = local();
    mk_test_write("out", "made-by-hand.txt", "hello");
    json_t *desired = json_pack("{s:s, s:s}", "path", "made-by-hand.txt", "content", "hello");
    mk_prov_op op = {.address = "local.file.h", .type = "local.file", .attrs = desired, .import_id = "made-by-hand.txt"};
    json_t *got = NULL;
    assert_int_equal(p->read(p, &op, &got, why, sizeof why), MK_PROV_OK);
    assert_string_equal(json_string_value(json_object_get(got, "content")), "hello");
    assert_string_equal(json_string_value(json_object_get(got, "mode")), "0644");
    assert_string_equal(json_string_value(json_object_get(got, "id")), "made-by-hand.txt");
    json_decref(got);
    assert_int_equal(p->import(p, &op, &got, why, sizeof why), MK_PROV_OK);
    assert_string_equal(json_string_value(json_object_get(got, "id")), "made-by-hand.txt");
    json_decref(got);
    op.import_id = "other.txt";
    assert_int_equal(p->import(p, &op, &got, why, sizeof why), MK_PROV_FAILED);
    mk_prov_op mv = {.address = "local.file.renamed", .type = "local.file", .attrs = desired, .moved_from = "local.file.h"};
    assert_int_equal(p->move(p, &mv, &got, why, sizeof why), MK_PROV_OK);
    assert_null(got);
    json_decref(desired);
    p->free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sim_read_untouched_and_drifted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_read_nested_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_long_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_fail_marks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_owners, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_move, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_read_latency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_import_move, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
