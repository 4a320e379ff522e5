/* test_s3prov — the s3 provider (runtime/providers/s3.c) against a real
 * s3rver behind the verifying SigV4 proxy, which this test starts and
 * stops (tests/s3/s3rver.sh): a bucket made, read back equal to what the
 * state records, changed and deleted, and read as gone; the check's
 * refusals; a wrong secret refused by the proxy, the message quoting the
 * server and never the secret; a bucket holding objects kept unless
 * force_destroy; what a create takes over (this run's, an earlier run's,
 * never another stack's); fail_on leaving nothing behind; keys from a
 * credential_command, and one printing what is not its JSON refused. */
#include "tests/unit/unit.h"

#include <sys/stat.h>
#include <unistd.h>

#include "runtime/config.h"
#include "runtime/httpc.h"
#include "runtime/providers/provider.h"

static mk_config cfg;
static char dir[64], s3dir[128], endpoint[128], direct[128], secret[128];
static char build[4096]; /* the build directory (this binary's ../): its tools/npm holds s3rver */

/* VALUE of NAME='VALUE' in line into buf */
static void setting(const char *line, const char *name, char *buf, size_t n)
{
    char key[64];
    snprintf(key, sizeof key, "%s='", name);
    const char *p = strstr(line, key);
    assert_non_null(p);
    p += strlen(key);
    const char *q = strchr(p, '\'');
    assert_non_null(q);
    snprintf(buf, n, "%.*s", (int)(q - p), p);
}

static void write_config(void)
{
    char path[128], text[4096], why[600];
    snprintf(path, sizeof path, "%s/keys.sh", dir);
    snprintf(text, sizeof text, "#!/bin/sh\nprintf '{\"access_key_id\": \"S3RVER\", \"secret_access_key\": \"%s\"}\\n'\n",
             secret);
    mk_test_write(dir, "keys.sh", text);
    chmod(path, 0700);
    mk_test_write(dir, "bad.sh", "#!/bin/sh\necho '{\"password\": \"x\"}'\n");
    snprintf(path, sizeof path, "%s/bad.sh", dir);
    chmod(path, 0700);
    snprintf(text, sizeof text,
             "{\"format\": \"moksha.exec-config/v1\", \"connections\": {"
             "\"store\": {\"kind\": \"s3\", \"endpoint\": \"%s\", \"implements\": [], \"allow_fault_injection\": true},"
             "\"plain\": {\"kind\": \"s3\", \"endpoint\": \"%s\", \"implements\": []},"
             "\"bycmd\": {\"kind\": \"s3\", \"endpoint\": \"%s\", \"implements\": [], \"credential_command\": [\"%s/keys.sh\"]},"
             "\"badcmd\": {\"kind\": \"s3\", \"endpoint\": \"%s\", \"implements\": [], \"credential_command\": [\"%s/bad.sh\"]}}}",
             endpoint, endpoint, endpoint, dir, endpoint, dir);
    mk_test_write(dir, "exec.json", text);
    snprintf(path, sizeof path, "%s/exec.json", dir);
    chmod(path, 0600);
    setenv("MOKSHA_EXEC_CONFIG", path, 1);
    if (!mk_config_load_for(&cfg, NULL, why, sizeof why))
        fail_msg("%s", why);
}

static int setup(void **st)
{
    (void)st;
    mk_test_tmpdir(dir, "/tmp/mk-s3prov-XXXXXX");
    chmod(dir, 0700);
    char cmd[4800], line[1024] = "";
    /* S3_OWNER_PID: stopped even if this process dies before its teardown */
    snprintf(cmd, sizeof cmd, "S3_OWNER_PID=%ld BUILD='%s' sh %s/tests/s3/s3rver.sh start >%s/s3.env", (long)getpid(),
             build, MK_SHARE_DIR, dir);
    if (system(cmd) != 0)
        fail_msg("cannot start s3rver (tests/s3/s3rver.sh)");
    snprintf(cmd, sizeof cmd, "%s/s3.env", dir);
    FILE *f = fopen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    setting(line, "MOKSHA_TEST_S3", s3dir, sizeof s3dir);
    setting(line, "S3_ENDPOINT", endpoint, sizeof endpoint);
    setting(line, "S3_DIRECT", direct, sizeof direct);
    setting(line, "AWS_SECRET_ACCESS_KEY", secret, sizeof secret);
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
    unsetenv("AWS_SESSION_TOKEN");
    assert_true(mk_httpc_init());
    write_config();
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "BUILD='%s' sh %s/tests/s3/s3rver.sh stop %s", build, MK_SHARE_DIR, s3dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not stop s3rver in %s\n", s3dir);
    mk_config_free(&cfg);
    mk_test_rmdir(dir);
    return 0;
}

static mk_prov *provider(const char *conn, const char *fail_on)
{
    char why[600];
    json_t *settings = json_pack("{s:s, s:s, s:[]}", "connection", conn, "region", "us-east-1", "fail_on");
    if (fail_on)
        json_array_append_new(json_object_get(settings, "fail_on"), json_string(fail_on));
    mk_prov *p = mk_prov_s3_new(settings, &cfg, "store", why, sizeof why);
    json_decref(settings);
    if (!p)
        fail_msg("%s", why);
    return p;
}

static json_t *bucket(const char *name, bool force)
{
    return json_pack("{s:b, s:b, s:b, s:s, s:{}, s:n, s:s, s:b}", "encrypted", 0, "public", 0, "versioning", 0,
                     "storage_class", "standard", "tags", "public_access_block", "bucket_name", name, "force_destroy",
                     force);
}

static bool exists_direct(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/data/%s", s3dir, name);
    struct stat sb;
    return stat(path, &sb) == 0;
}

static mk_prov_op op_for(const char *address, json_t *attrs, const char *stack, const char *run, bool *adopted)
{
    return (mk_prov_op){.address = address, .type = "bucket", .attrs = attrs, .cloud = "aws", .region = "us-east-1",
                        .stack_id = stack, .run_id = run, .adopted = adopted};
}

/* made, read back as the state records it, changed, deleted, gone */
static void test_roundtrip(void **st)
{
    (void)st;
    mk_prov *p = provider("store", NULL);
    char why[600];
    json_t *a = bucket("unit-round", false), *out = NULL;
    mk_prov_op op = op_for("bucket.round", a, "stack1", "run1", NULL);
    op.action = "create";
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_OK);
    op.action = NULL;
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_OK);
    assert_string_equal(json_string_value(json_object_get(out, "id")), "unit-round");
    char url[256];
    snprintf(url, sizeof url, "%s/unit-round", endpoint);
    assert_string_equal(json_string_value(json_object_get(out, "endpoint")), url);
    assert_true(exists_direct("unit-round"));
    json_object_update(a, out); /* what the state records */
    json_decref(out);
    out = NULL;
    assert_int_equal(p->read(p, &op, &out, why, sizeof why), MK_PROV_OK);
    assert_true(json_equal(out, a));
    json_decref(out);
    out = NULL;
    assert_int_equal(p->update(p, &op, &out, why, sizeof why), MK_PROV_OK);
    json_decref(out);
    out = NULL;
    assert_int_equal(p->del(p, &op, &out, why, sizeof why), MK_PROV_OK);
    assert_false(exists_direct("unit-round"));
    assert_int_equal(p->read(p, &op, &out, why, sizeof why), MK_PROV_OK);
    assert_null(out); /* gone */
    assert_int_equal(p->del(p, &op, &out, why, sizeof why), MK_PROV_OK); /* deleting what is gone succeeds */
    assert_int_equal(p->caps_of(p, "bucket"), 0);
    json_decref(a);
    p->free(p);
}

static void test_refusals(void **st)
{
    (void)st;
    mk_prov *p = provider("plain", NULL);
    char why[1000];
    json_t *a = bucket("unit-refused", false), *out = NULL;
    json_object_set_new(a, "versioning", json_true());
    mk_prov_op op = op_for("bucket.refused", a, NULL, NULL, NULL);
    op.action = "create";
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "versioning = true (would need \"versioning\" in connections.plain.implements"));
    op.type = "compute";
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "serves buckets, not compute"));
    p->free(p);
    /* fail_on where the connection does not allow it */
    p = provider("plain", "bucket.refused");
    json_object_set_new(a, "versioning", json_false());
    op.type = "bucket";
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "which connection plain does not allow"));
    p->free(p);
    /* another region than the connection signs for */
    json_t *settings = json_pack("{s:s, s:s}", "connection", "plain", "region", "eu-west-1");
    assert_null(mk_prov_s3_new(settings, &cfg, "far", why, sizeof why));
    assert_non_null(strstr(why, "its region is eu-west-1, but connection `plain` signs for us-east-1"));
    json_decref(settings);
    assert_false(exists_direct("unit-refused"));
    json_decref(a);
}

static void test_wrong_secret(void **st)
{
    (void)st;
    setenv("AWS_SECRET_ACCESS_KEY", "0123456789abcdef-wrong", 1);
    mk_prov *p = provider("store", NULL);
    char why[1000];
    json_t *a = bucket("unit-forged", false), *out = NULL;
    mk_prov_op op = op_for("bucket.forged", a, NULL, NULL, NULL);
    op.action = "create";
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "SignatureDoesNotMatch"));
    assert_null(strstr(why, "0123456789abcdef-wrong"));
    assert_null(strstr(why, "Authorization"));
    op.action = NULL;
    assert_int_equal(p->read(p, &op, &out, why, sizeof why), MK_PROV_FAILED); /* unreadable, never gone */
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_false(exists_direct("unit-forged"));
    p->free(p);
    setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
    json_decref(a);
}

static void test_nonempty(void **st)
{
    (void)st;
    mk_prov *p = provider("store", NULL);
    char why[1000], cmd[512];
    json_t *a = bucket("unit-full", false), *out = NULL;
    mk_prov_op op = op_for("bucket.full", a, "stack1", "run1", NULL);
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_OK);
    json_decref(out);
    out = NULL;
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "printf x | curl -s -f -o /dev/null -X PUT --data-binary @- %s/unit-full/obj%d", direct, i);
        assert_int_equal(system(cmd), 0);
    }
    op.action = "delete";
    mk_prov_status cst = p->check(p, &op, &out, why, sizeof why);
    if (cst != MK_PROV_FAILED)
        fail_msg("check: %d %s", cst, why);
    assert_non_null(strstr(why, "bucket unit-full holds objects (obj0, …)"));
    op.action = NULL;
    assert_int_equal(p->del(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "not deleted, nothing lost"));
    assert_true(exists_direct("unit-full"));
    json_object_set_new(a, "force_destroy", json_true());
    assert_int_equal(p->del(p, &op, &out, why, sizeof why), MK_PROV_OK);
    assert_false(exists_direct("unit-full"));
    json_decref(a);
    p->free(p);
}

/* note [s3 adopt] */
static void test_adopt(void **st)
{
    (void)st;
    mk_prov *p = provider("store", NULL);
    char why[1000];
    bool adopted = true;
    json_t *a = bucket("unit-owned", true), *out = NULL;
    mk_prov_op op = op_for("bucket.owned", a, "stack1", "run1", &adopted);
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_OK);
    assert_false(adopted);
    json_decref(out);
    out = NULL;
    /* this run's retry: not adopted (its undo deletes it) */
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_OK);
    assert_false(adopted);
    json_decref(out);
    out = NULL;
    /* an earlier run's: adopted */
    op.run_id = "run2";
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_OK);
    assert_true(adopted);
    json_decref(out);
    out = NULL;
    /* another address of this stack, or another stack: foreign */
    op.address = "bucket.other";
    if (p->create(p, &op, &out, why, sizeof why) != MK_PROV_FAILED)
        fail_msg("bucket.other took over bucket.owned's bucket: %s", json_dumps(out, 0));
    assert_non_null(strstr(why, "is this stack's bucket.owned: two resources cannot share a bucket"));
    op.address = "bucket.owned";
    op.stack_id = "stack2";
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "already holds a bucket this stack did not make (bucket unit-owned, owned by stack stack1)"));
    assert_true(exists_direct("unit-owned"));
    /* import by name: refused for another stack's, taken by its own */
    op.import_id = "unit-owned";
    assert_int_equal(p->import(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "is stack stack1's"));
    op.stack_id = "stack1";
    assert_int_equal(p->import(p, &op, &out, why, sizeof why), MK_PROV_OK);
    json_decref(out);
    out = NULL;
    op.import_id = NULL;
    assert_int_equal(p->del(p, &op, &out, why, sizeof why), MK_PROV_OK);
    json_decref(a);
    p->free(p);
}

static void test_injected(void **st)
{
    (void)st;
    mk_prov *p = provider("store", "bucket.faulty");
    char why[600];
    json_t *a = bucket("unit-faulty", false), *out = NULL;
    mk_prov_op op = op_for("bucket.faulty", a, "stack1", "run1", NULL);
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "injected failure"));
    assert_false(exists_direct("unit-faulty")); /* the create took back what it made */
    json_decref(a);
    p->free(p);
}

static void test_credential_command(void **st)
{
    (void)st;
    unsetenv("AWS_SECRET_ACCESS_KEY");
    mk_prov *p = provider("bycmd", NULL);
    char why[600];
    json_t *a = bucket("unit-bycmd", true), *out = NULL;
    mk_prov_op op = op_for("bucket.bycmd", a, "stack1", "run1", NULL);
    op.action = "create";
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_OK);
    op.action = NULL;
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_OK);
    json_decref(out);
    out = NULL;
    assert_int_equal(p->del(p, &op, &out, why, sizeof why), MK_PROV_OK);
    p->free(p);
    /* JSON of another kind's keys: refused, naming what it must print */
    p = provider("badcmd", NULL);
    op.action = "create";
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "credential_command printed what is not a JSON object of the keys it may give"));
    p->free(p);
    /* no keys at all: the environment's variables named */
    p = provider("plain", NULL);
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "the executor's environment has no AWS_SECRET_ACCESS_KEY"));
    p->free(p);
    setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
    json_decref(a);
}

int main(int argc, char **argv)
{
    (void)argc;
    char self[4096];
    if (!realpath(argv[0], self))
        return 1;
    *strrchr(self, '/') = 0; /* BUILD/tests */
    *strrchr(self, '/') = 0; /* BUILD */
    snprintf(build, sizeof build, "%s", self);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_refusals), cmocka_unit_test(test_wrong_secret),
        cmocka_unit_test(test_nonempty),  cmocka_unit_test(test_adopt),    cmocka_unit_test(test_injected),
        cmocka_unit_test(test_credential_command),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
