/* test_azblob — the azure_blob provider's Shared Key signing on Azure's
 * own documented example ("Authorize with Shared Key": the string to sign
 * for a Get Container Metadata on the emulator's path-style URL, and the
 * canonicalized resource of a list with repeated parameters), its HMAC
 * against a vector computed apart (Python's hmac module), the x-ms-date
 * form, the key's decoding; then the provider against a real azurite
 * (tests/azure/azurite.sh), which checks every signature: a container made,
 * read, changed and deleted, and a wrong key refused with the server's
 * code, never the key or the signature in the message. */
#include "tests/unit/unit.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/config.h"
#include "runtime/httpc.h"
#include "runtime/providers/azblob_sign.h"
#include "runtime/providers/provider.h"

/* ---- the string to sign ---- */

static void documented_example(void **state)
{
    (void)state;
    const char *h[] = {"x-ms-date: Sun, 11 Oct 2009 21:49:13 GMT", "x-ms-version: 2009-09-19", NULL};
    char *s = mk_prov_azblob_sign_string("GET", h, "myaccount", "/myaccount/mycontainer",
                                            "restype=container&comp=metadata&timeout=20");
    assert_non_null(s);
    assert_string_equal(s, "GET\n\n\n\n\n\n\n\n\n\n\n\n"
                           "x-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\nx-ms-version:2009-09-19\n"
                           "/myaccount/myaccount/mycontainer\ncomp:metadata\nrestype:container\ntimeout:20");
    free(s);
}

/* Azure's canonicalized resource examples: parameters sorted, a repeated
 * one's values sorted and joined by commas; no query: the path alone. */
static void documented_resources(void **state)
{
    (void)state;
    const char *none[] = {NULL};
    char *s = mk_prov_azblob_sign_string("GET", none, "myaccount", "/mycontainer",
                                            "restype=container&comp=list&include=snapshots&include=metadata&"
                                            "include=uncommittedblobs");
    assert_non_null(s);
    assert_non_null(strstr(s, "\n/myaccount/mycontainer\ncomp:list\ninclude:metadata,snapshots,uncommittedblobs\n"
                              "restype:container"));
    free(s);
    s = mk_prov_azblob_sign_string("GET", none, "myaccount", "/mycontainer/myblob", NULL);
    assert_string_equal(s, "GET\n\n\n\n\n\n\n\n\n\n\n\n/myaccount/mycontainer/myblob");
    free(s);
}

/* The standard headers in their places (Content-Length "0" signed as
 * empty), names in any case; x-ms- headers lowercased, sorted, values
 * trimmed with runs of whitespace made one space; query names lowercased
 * and values decoded. */
static void headers_and_query(void **state)
{
    (void)state;
    const char *h[] = {"X-MS-Meta-Team:  platform   ops ", "Content-Type: application/xml", "content-length: 0",
                       "x-ms-version: 2021-12-02", "Range: bytes=0-9", "Accept: */*", NULL};
    char *s = mk_prov_azblob_sign_string("PUT", h, "acct", "/acct/c", "Comp=acl&restype=container&x=a%2Cb");
    assert_string_equal(s, "PUT\n\n\n\n\napplication/xml\n\n\n\n\n\nbytes=0-9\n"
                           "x-ms-meta-team:platform ops\nx-ms-version:2021-12-02\n"
                           "/acct/acct/c\ncomp:acl\nrestype:container\nx:a,b");
    free(s);
    const char *h2[] = {"Content-Length: 12", NULL};
    s = mk_prov_azblob_sign_string("PUT", h2, "acct", "/c", NULL);
    assert_string_equal(s, "PUT\n\n\n12\n\n\n\n\n\n\n\n\n/acct/c");
    free(s);
    /* a %00 in the query is no parameter of ours */
    assert_null(mk_prov_azblob_sign_string("GET", h2, "acct", "/c", "comp=a%00b"));
}

/* ---- the signature, the date, the key ---- */

static void hmac_vector(void **state)
{
    (void)state;
    unsigned char key[128];
    size_t n = mk_prov_azblob_sign_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OT"
                                         "o7PD0+Pw==", key, sizeof key);
    assert_int_equal(n, 64);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(key[i], i);
    const char *sts = "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\nx-ms-version:2009-09-19\n"
                      "/myaccount/myaccount/mycontainer\ncomp:metadata\nrestype:container\ntimeout:20";
    char sig[64];
    assert_true(mk_prov_azblob_sign_hmac(key, n, sts, sig, sizeof sig));
    /* python3: base64(hmac.new(bytes(range(64)), sts, sha256).digest()) */
    assert_string_equal(sig, "yOy1ooyY0z+r5yMYRqpcdfDfKThJz/g5lkfgDnKgoCY=");
    key[0] ^= 1;
    char other[64];
    assert_true(mk_prov_azblob_sign_hmac(key, n, sts, other, sizeof other));
    assert_string_not_equal(sig, other);
    assert_false(mk_prov_azblob_sign_hmac(key, n, sts, other, 20));
}

static void date_and_key(void **state)
{
    (void)state;
    char d[64];
    assert_true(mk_prov_azblob_sign_date(1255297753, d, sizeof d));
    assert_string_equal(d, "Sun, 11 Oct 2009 21:49:13 GMT");
    assert_false(mk_prov_azblob_sign_date(1255297753, d, 10));
    unsigned char key[128];
    assert_int_equal(mk_prov_azblob_sign_key("YWJj", key, sizeof key), 3);
    assert_int_equal(mk_prov_azblob_sign_key("YWI=", key, sizeof key), 2);
    assert_int_equal(mk_prov_azblob_sign_key("YQ==", key, sizeof key), 1);
    assert_int_equal(mk_prov_azblob_sign_key("not base64!", key, sizeof key), 0);
    assert_int_equal(mk_prov_azblob_sign_key("YWJ", key, sizeof key), 0);
    assert_int_equal(mk_prov_azblob_sign_key("", key, sizeof key), 0);
    assert_int_equal(mk_prov_azblob_sign_key("YWJjYWJj", key, 3), 0); /* does not fit */
}

/* ---- against azurite ---- */

typedef struct live {
    char dir[256], cfgdir[64], key[128];
    mk_config cfg;
} live;

static int live_setup(void **state)
{
    live *l = calloc(1, sizeof *l);
    char cmd[512], out[96];
    mk_test_tmpdir(l->cfgdir, "/tmp/mk-azblob-XXXXXX");
    snprintf(out, sizeof out, "%s/settings", l->cfgdir);
    snprintf(cmd, sizeof cmd, "sh %s/tests/azure/azurite.sh start >%s", MK_SHARE_DIR, out);
    if (system(cmd) != 0)
        fail_msg("cannot start azurite (tests/azure/azurite.sh)");
    FILE *f = fopen(out, "r");
    char line[1024] = "";
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    char port[16] = "";
    assert_int_equal(sscanf(strstr(line, "AZ_DIR='") + 8, "%255[^']", l->dir), 1);
    assert_int_equal(sscanf(strstr(line, "AZ_PORT='") + 9, "%15[^']", port), 1);
    assert_int_equal(sscanf(strstr(line, "AZ_KEY='") + 8, "%127[^']", l->key), 1);
    char body[1024];
    snprintf(body, sizeof body, "{\"blobs\": {\"kind\": \"azure_blob\", \"endpoint\": "
             "\"http://127.0.0.1:%s/devstoreaccount1\", \"account\": \"devstoreaccount1\", \"credentials\": "
             "{\"account_key_env\": \"UNIT_AZ_KEY\"}, \"vouches\": {\"encrypted\": true}}}", port);
    char text[2048], path[128];
    snprintf(text, sizeof text, "{\"format\": \"moksha.exec-config/v1\", \"connections\": %s}\n", body);
    mk_test_write(l->cfgdir, "exec.json", text);
    snprintf(path, sizeof path, "%s/exec.json", l->cfgdir);
    chmod(path, 0600);
    chmod(l->cfgdir, 0700);
    setenv("MOKSHA_EXEC_CONFIG", path, 1);
    char why[512];
    if (!mk_config_load_for(&l->cfg, NULL, why, sizeof why))
        fail_msg("%s", why);
    setenv("UNIT_AZ_KEY", l->key, 1);
    mk_httpc_init();
    *state = l;
    return 0;
}

static int live_teardown(void **state)
{
    live *l = *state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "sh %s/tests/azure/azurite.sh stop %s", MK_SHARE_DIR, l->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not stop azurite in %s\n", l->dir);
    mk_config_free(&l->cfg);
    mk_test_rmdir(l->cfgdir);
    free(l);
    return 0;
}

static mk_prov *provider(live *l)
{
    json_t *settings = json_pack("{s:s}", "connection", "blobs");
    char why[512];
    mk_prov *p = mk_prov_azblob_new(settings, &l->cfg, "store", why, sizeof why);
    json_decref(settings);
    if (!p)
        fail_msg("%s", why);
    return p;
}

/* A container made, read back in the state's form, changed, deleted: each
 * request signed and accepted by azurite. */
static void live_lifecycle(void **state)
{
    live *l = *state;
    mk_prov *p = provider(l);
    json_t *attrs = json_pack("{s:b, s:b, s:b, s:s, s:{s:s}, s:n, s:n}", "encrypted", 1, "public", 0, "versioning", 0,
                              "storage_class", "standard", "tags", "team", "ops", "bucket_name", "force_destroy");
    mk_prov_op op = {.address = "bucket.unit", .type = "bucket", .attrs = attrs, .stack_id = "s1", .run_id = "r1",
                     .action = "create"};
    char why[600] = "";
    json_t *out = NULL;
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_OK);
    op.action = NULL;
    bool adopted = false;
    op.adopted = &adopted;
    if (p->create(p, &op, &out, why, sizeof why) != MK_PROV_OK)
        fail_msg("%s", why);
    assert_string_equal(json_string_value(json_object_get(out, "id")), "unit");
    assert_false(adopted);
    /* a retried create of this very run takes it, not adopted */
    json_decref(out), out = NULL;
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_OK);
    assert_false(adopted);
    json_object_update(attrs, out);
    json_decref(out), out = NULL;
    op.adopted = NULL;
    assert_int_equal(p->read(p, &op, &out, why, sizeof why), MK_PROV_OK);
    assert_true(json_equal(out, attrs));
    json_decref(out), out = NULL;
    /* another stack's create finds it foreign */
    mk_prov_op other = op;
    other.stack_id = "s2";
    assert_int_equal(p->create(p, &other, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "already exists and this stack did not make it"));
    /* changed: tags and public */
    json_object_set_new(json_object_get(attrs, "tags"), "team", json_string("web"));
    json_object_set_new(attrs, "public", json_true());
    assert_int_equal(p->update(p, &op, &out, why, sizeof why), MK_PROV_OK);
    json_decref(out), out = NULL;
    assert_int_equal(p->read(p, &op, &out, why, sizeof why), MK_PROV_OK);
    assert_true(json_equal(out, attrs));
    json_decref(out), out = NULL;
    /* deleted; deleting what is gone succeeds; a read sees it gone */
    assert_int_equal(p->del(p, &op, &out, why, sizeof why), MK_PROV_OK);
    assert_int_equal(p->del(p, &op, &out, why, sizeof why), MK_PROV_OK);
    assert_int_equal(p->read(p, &op, &out, why, sizeof why), MK_PROV_OK);
    assert_null(out);
    json_decref(attrs);
    p->free(p);
}

/* Deleting a container another stack made, or nobody, is refused by the
 * check, before the first step, with force_destroy or without: never
 * half-way through an apply. */
static void live_delete_foreign(void **state)
{
    live *l = *state;
    mk_prov *p = provider(l);
    json_t *attrs = json_pack("{s:b, s:{}, s:b}", "encrypted", 1, "tags", "force_destroy", 0);
    mk_prov_op op = {.address = "bucket.mine", .type = "bucket", .attrs = attrs, .stack_id = "s1", .run_id = "r1"};
    char why[600] = "";
    json_t *out = NULL;
    if (p->create(p, &op, &out, why, sizeof why) != MK_PROV_OK)
        fail_msg("%s", why);
    json_decref(out), out = NULL;
    mk_prov_op other = op;
    other.stack_id = "s2", other.action = "delete";
    assert_int_equal(p->check(p, &other, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "container mine is not this stack's (another stack or address made it): not changed"));
    json_object_set_new(attrs, "force_destroy", json_true());
    why[0] = 0;
    assert_int_equal(p->check(p, &other, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "container mine is not this stack's"));
    /* this stack's own passes, and is deleted */
    op.action = "delete";
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_OK);
    op.action = NULL;
    assert_int_equal(p->del(p, &op, &out, why, sizeof why), MK_PROV_OK);
    json_decref(attrs);
    p->free(p);
}

/* A tag value with a run of spaces inside: Azure's Shared Key collapses
 * whitespace in the string to sign while the header goes as written, and
 * servers differ on it, so such a value is refused by the check, before
 * the first step, not half-way by a signature the server does not match. */
static void live_space_run(void **state)
{
    live *l = *state;
    mk_prov *p = provider(l);
    json_t *attrs = json_pack("{s:b, s:{s:s}}", "encrypted", 1, "tags", "team", "a  b");
    mk_prov_op op = {.address = "bucket.spaced", .type = "bucket", .attrs = attrs, .stack_id = "s1", .run_id = "r1",
                     .action = "create"};
    char why[600] = "";
    json_t *out = NULL;
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "tags.team: a metadata value is printable ASCII"));
    json_decref(attrs);
    p->free(p);
}

/* A wrong key: azurite's signature check refuses it, the message quotes
 * its code and never the key, the signature or the Authorization header. */
static void live_wrong_key(void **state)
{
    live *l = *state;
    setenv("UNIT_AZ_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==", 1);
    mk_prov *p = provider(l);
    json_t *attrs = json_pack("{s:b, s:{}}", "encrypted", 1, "tags");
    mk_prov_op op = {.address = "bucket.unit", .type = "bucket", .attrs = attrs, .stack_id = "s1", .run_id = "r1",
                     .action = "create"};
    char why[600] = "";
    json_t *out = NULL;
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "403 AuthorizationFailure: Server failed to authenticate the request"));
    assert_null(strstr(why, "SharedKey"));
    assert_null(strstr(why, "AAECAwQF"));
    assert_null(strstr(why, l->key));
    /* no key at all */
    unsetenv("UNIT_AZ_KEY");
    p->free(p);
    p = provider(l);
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "the executor's environment has no UNIT_AZ_KEY"));
    p->free(p);
    setenv("UNIT_AZ_KEY", l->key, 1);
    json_decref(attrs);
}

/* ---- a hostile endpoint (tests/azure/hostile.py) ---- */

typedef struct hostile {
    char dir[64];
    long pid;
    mk_config cfg;
} hostile;

/* The first number in a file, or 0 (not there yet). */
static long number_in(const char *path)
{
    FILE *f = fopen(path, "r");
    long n = 0;
    if (f && fscanf(f, "%ld", &n) != 1)
        n = 0;
    if (f)
        fclose(f);
    return n;
}

static int hostile_setup(void **state)
{
    hostile *h = calloc(1, sizeof *h);
    mk_test_tmpdir(h->dir, "/tmp/mk-azhostile-XXXXXX");
    char cmd[512], portf[96], pidf[96];
    snprintf(portf, sizeof portf, "%s/port", h->dir);
    snprintf(pidf, sizeof pidf, "%s/pid", h->dir);
    snprintf(cmd, sizeof cmd, "python3 %s/tests/azure/hostile.py %s </dev/null >/dev/null 2>&1 & echo $! >%s",
             MK_SHARE_DIR, portf, pidf);
    assert_int_equal(system(cmd), 0);
    h->pid = number_in(pidf);
    long port = 0;
    for (int i = 0; i < 200 && !(port = number_in(portf)); i++)
        usleep(50 * 1000);
    if (!port || !h->pid)
        fail_msg("tests/azure/hostile.py did not start");
    char text[2048], conns[1500] = "", path[128];
    static const char *const modes[] = {"echo", "dtd", "header", "swap", "meta", "name"};
    for (int i = 0; i < 6; i++) {
        size_t n = strlen(conns);
        snprintf(conns + n, sizeof conns - n, "%s\"%s\": {\"kind\": \"azure_blob\", \"endpoint\": "
                 "\"http://127.0.0.1:%ld/%s\", \"account\": \"devstoreaccount1\", \"request_timeout\": \"5s\", "
                 "\"credentials\": {\"account_key_env\": \"UNIT_AZ_HOSTILE\"}}", i ? ", " : "", modes[i], port, modes[i]);
    }
    snprintf(text, sizeof text, "{\"format\": \"moksha.exec-config/v1\", \"connections\": {%s}}\n", conns);
    mk_test_write(h->dir, "exec.json", text);
    snprintf(path, sizeof path, "%s/exec.json", h->dir);
    chmod(path, 0600);
    chmod(h->dir, 0700);
    setenv("MOKSHA_EXEC_CONFIG", path, 1);
    setenv("UNIT_AZ_HOSTILE", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==", 1);
    char why[512];
    if (!mk_config_load_for(&h->cfg, NULL, why, sizeof why))
        fail_msg("%s", why);
    mk_httpc_init();
    *state = h;
    return 0;
}

static int hostile_teardown(void **state)
{
    hostile *h = *state;
    if (h->pid > 1)
        kill((pid_t)h->pid, SIGTERM);
    mk_config_free(&h->cfg);
    mk_test_rmdir(h->dir);
    free(h);
    return 0;
}

static void refused_by(hostile *h, const char *conn, char *why, size_t whylen)
{
    json_t *settings = json_pack("{s:s}", "connection", conn), *attrs = json_pack("{s:b, s:{}}", "encrypted", 0, "tags");
    mk_prov *p = mk_prov_azblob_new(settings, &h->cfg, "store", why, whylen);
    assert_non_null(p);
    mk_prov_op op = {.address = "bucket.x", .type = "bucket", .attrs = attrs, .stack_id = "s", .run_id = "r",
                     .action = "create"};
    json_t *out = NULL;
    assert_int_equal(p->check(p, &op, &out, why, whylen), MK_PROV_FAILED);
    assert_null(strstr(why, "SharedKey devstoreaccount1:"));
    p->free(p);
    json_decref(settings), json_decref(attrs);
}

/* A server repeating the Authorization header in its message or its error
 * code: the message is cut where the signature begins, the code not shown. */
static void hostile_echo(void **state)
{
    char why[700];
    refused_by(*state, "echo", why, sizeof why);
    assert_non_null(strstr(why, "403 AuthenticationFailed: you sent"));
    refused_by(*state, "header", why, sizeof why);
    assert_non_null(strstr(why, "403 (an error code repeating the request: not shown)"));
}

/* An answer with a DTD is refused whole: no entity of the server's is
 * expanded into a message. */
static void hostile_dtd(void **state)
{
    char why[700];
    refused_by(*state, "dtd", why, sizeof why);
    assert_non_null(strstr(why, "403 (no error code)"));
    assert_null(strstr(why, "EXPANDED"));
}

/* A container replaced between the emptiness check and the delete (someone
 * deleted it and made their own with that name): the delete is bound to
 * the lease taken before the owner and the emptiness were looked at, so it
 * is refused, and theirs is left alone. */
static void hostile_swap(void **state)
{
    hostile *h = *state;
    char why[700] = "";
    json_t *settings = json_pack("{s:s}", "connection", "swap"), *attrs = json_pack("{s:b, s:{}}", "encrypted", 1, "tags");
    mk_prov *p = mk_prov_azblob_new(settings, &h->cfg, "store", why, sizeof why);
    assert_non_null(p);
    mk_prov_op op = {.address = "bucket.x", .type = "bucket", .attrs = attrs, .stack_id = "s", .run_id = "r"};
    json_t *out = NULL;
    assert_int_not_equal(p->del(p, &op, &out, why, sizeof why), MK_PROV_OK);
    assert_non_null(strstr(why, "412 LeaseNotPresentWithContainerOperation"));
    p->free(p);
    json_decref(settings), json_decref(attrs);
}

/* Metadata no Azure holds (a control byte in a value, a name that is no
 * C# identifier) is refused when read: it never reaches the state, an
 * output or a header sent back (an import or an update sends the
 * container's metadata again). */
static void hostile_meta(void **state)
{
    hostile *h = *state;
    static const char *const conns[] = {"meta", "name"};
    for (int i = 0; i < 2; i++) {
        char why[700] = "";
        json_t *settings = json_pack("{s:s}", "connection", conns[i]);
        json_t *attrs = json_pack("{s:b, s:{}}", "encrypted", 1, "tags");
        mk_prov *p = mk_prov_azblob_new(settings, &h->cfg, "store", why, sizeof why);
        assert_non_null(p);
        mk_prov_op op = {.address = "bucket.x", .type = "bucket", .attrs = attrs, .stack_id = "s", .run_id = "r"};
        json_t *out = NULL;
        assert_int_equal(p->read(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
        assert_null(out);
        assert_non_null(strstr(why, "answered metadata no Azure container holds"));
        assert_null(strchr(why, 0x1b));
        assert_null(strchr(why, '\r'));
        op.import_id = "x";
        assert_int_equal(p->import(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
        assert_null(out);
        p->free(p);
        json_decref(settings), json_decref(attrs);
    }
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(documented_example), cmocka_unit_test(documented_resources),
        cmocka_unit_test(headers_and_query), cmocka_unit_test(hmac_vector), cmocka_unit_test(date_and_key),
    };
    const struct CMUnitTest against[] = {
        cmocka_unit_test(live_lifecycle),
        cmocka_unit_test(live_delete_foreign),
        cmocka_unit_test(live_space_run),
        cmocka_unit_test(live_wrong_key),
    };
    const struct CMUnitTest bad[] = {
        cmocka_unit_test(hostile_echo),
        cmocka_unit_test(hostile_dtd),
        cmocka_unit_test(hostile_swap),
        cmocka_unit_test(hostile_meta),
    };
    int failed = cmocka_run_group_tests_name("signing", pure, NULL, NULL);
    failed += cmocka_run_group_tests_name("hostile", bad, hostile_setup, hostile_teardown);
    return failed + cmocka_run_group_tests_name("azurite", against, live_setup, live_teardown);
}
