/* The plan contract from both sides: the compiler signs and seals, the
 * executor's loader verifies and unseals, and rejects every kind of
 * tampering: an altered body, an added or removed field, a bad or missing
 * signature, a plan signed with another key, a file that is not a plan. */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/base/key.h"
#include "compiler/back/planfile.h"
#include "compiler/middle/plan.h"
#include "runtime/exec.h"
#include "runtime/planfile.h"

#define KEY_A "4b1e0c2a9d8f7e6b5a4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"
#define KEY_B "b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6"

static char path[64];

static json_t *sample_plan(const mk_key *k)
{
    char *sealed = mk_key_seal(k, "hunter2", 7);
    json_t *p = json_pack("{s:s, s:s, s:s, s:{s:s, s:i}, s:[{s:i, s:s, s:s, s:{s:i, s:{s:{s:s}}}}], s:{s:i}}",
        "format", "moksha.plan/v1", "stack", "demo", "inputs_digest", "00", "state", "lineage", "l-1", "serial", 3,
        "changes", "id", 1, "address", "compute.web[0]", "action", "create", "after", "cpu", 2, "password",
        "$secret", "sealed", sealed, "totals", "create", 1);
    free(sealed);
    return p;
}

/* The document as moksha writes it (compact, in document order), after
 * whatever a test did to it. */
static void save(json_t *plan)
{
    assert_true(json_dump_file(plan, path, JSON_COMPACT) == 0);
}

static mk_planfile_status load(const char *key_text, json_t **out)
{
    setenv("MOKSHA_KEY", key_text, 1);
    mk_planfile_key k;
    char why[256];
    assert_true(mk_planfile_key_load(&k, "/nonexistent", why, sizeof why));
    return mk_planfile_load(path, &k, out, why, sizeof why);
}

static int setup(void **state)
{
    (void)state;
    strcpy(path, "/tmp/mk-plan-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    setenv("MOKSHA_KEY", KEY_A, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    unsetenv("MOKSHA_KEY");
    return 0;
}

static json_t *signed_plan(mk_key *k)
{
    char why[256];
    assert_true(mk_key_load(k, "/nonexistent", MK_KEY_REQUIRE, why, sizeof why));
    json_t *p = sample_plan(k);
    mk_planfile_free_text(mk_planfile_sign(p, k));
    return p;
}

static void test_signed_text_is_the_document(void **state)
{
    (void)state;
    char why[256];
    mk_key k;
    assert_true(mk_key_load(&k, "/nonexistent", MK_KEY_REQUIRE, why, sizeof why));
    json_t *p = sample_plan(&k);
    json_object_set_new(p, "outputs", json_pack("{s:s}", "stack", ",\"stack\":"));
    char *text = mk_planfile_sign(p, &k);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    json_t *got;
    assert_int_equal(load(KEY_A, &got), MK_PLANFILE_OK);
    assert_true(json_equal(got, p));
    json_decref(got);
    json_decref(p);
    mk_planfile_free_text(text);
}

/* The project key, the sample plan and its signed text. */
static char *sign_sample(mk_key *k, json_t **plan)
{
    char why[256];
    assert_true(mk_key_load(k, "/nonexistent", MK_KEY_REQUIRE, why, sizeof why));
    *plan = sample_plan(k);
    return mk_planfile_sign(*plan, k);
}

static void write_text(const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The plan is verified from its bytes: edits to those bytes, keys slipped
 * in after the signature, and a plan only re-spaced are all refused. */
static void test_written_text_checked_as_is(void **state)
{
    (void)state;
    mk_key k;
    json_t *p = NULL;
    char *text = sign_sample(&k, &p);
    size_t n = strlen(text);
    char *t = malloc(n + 64);
    json_t *got;
    /* a byte of the body changed: "demo" → "deMo" */
    strcpy(t, text);
    char *at = strstr(t, "\"demo\"");
    assert_non_null(at);
    at[3] = 'M';
    write_text(t);
    assert_int_equal(load(KEY_A, &got), MK_PLANFILE_TAMPERED);
    /* a key appended after the signature */
    strcpy(t, text);
    while (t[strlen(t) - 1] == '\n')
        t[strlen(t) - 1] = 0;
    strcpy(t + strlen(t) - 1, ",\"destroy\":true}");
    write_text(t);
    assert_int_equal(load(KEY_A, &got), MK_PLANFILE_TAMPERED);
    /* re-spaced: a blank after the first comma */
    at = strchr(text, ',');
    assert_non_null(at);
    memcpy(t, text, (size_t)(at - text) + 1);
    t[at - text + 1] = ' ';
    strcpy(t + (at - text) + 2, at + 1);
    write_text(t);
    assert_int_equal(load(KEY_A, &got), MK_PLANFILE_TAMPERED);
    free(t);
    mk_planfile_free_text(text);
    json_decref(p);
}

/* note [plan statement]: the signature holds the SHA-256 of the body's
 * bytes (the text before `,"signature":`, closed by `}`), and its value is
 * the MAC of the statement of that digest and the plan's identity. */
static void test_signature_covers_the_statement(void **state)
{
    (void)state;
    mk_key k;
    json_t *p = NULL;
    char *text = sign_sample(&k, &p);
    char *body = strdup(text);
    strcpy(strstr(body, ",\"signature\":"), "}");
    char digest[65], mac[65], st[256];
    mk_key_sha256_hex(body, strlen(body), digest);
    json_t *sig = json_object_get(p, "signature");
    assert_string_equal(json_string_value(json_object_get(sig, "digest")), digest);
    snprintf(st, sizeof st, "{\"format\":\"moksha.plan/v1\",\"digest\":\"%s\",\"lineage\":\"l-1\",\"serial\":3}", digest);
    mk_key_sign(&k, st, strlen(st), mac);
    assert_string_equal(json_string_value(json_object_get(sig, "value")), mac);
    /* the statement binds the identity: the same body under another serial
     * is another statement (the MAC no longer matches) */
    snprintf(st, sizeof st, "{\"format\":\"moksha.plan/v1\",\"digest\":\"%s\",\"lineage\":\"l-1\",\"serial\":4}", digest);
    mk_key_sign(&k, st, strlen(st), mac);
    assert_string_not_equal(json_string_value(json_object_get(sig, "value")), mac);
    free(body);
    mk_planfile_free_text(text);
    json_decref(p);
}

/* note [plan defaults]: what is its default is not written, and a plan
 * written, read by the executor and written again is the same bytes. */
static void test_defaults_omitted_and_rewrite_identical(void **state)
{
    (void)state;
    char why[256];
    mk_key k;
    assert_true(mk_key_load(&k, "/nonexistent", MK_KEY_REQUIRE, why, sizeof why));
    json_t *p = sample_plan(&k);
    json_t *c = json_array_get(json_object_get(p, "changes"), 0);
    json_object_set_new(c, "before", json_null());
    json_object_set_new(c, "provider", json_null());
    json_object_set_new(c, "depends_on", json_array());
    json_object_set_new(c, "refs", json_pack("[s]", "network.main"));
    json_object_set_new(c, "lifecycle", json_pack("{s:b, s:b}", "prevent_destroy", 0, "create_before_destroy", 0));
    json_object_set_new(c, "cost", json_pack("{s:s, s:s, s:n, s:n}", "monthly", "1.00", "delta", "1.00", "offering",
                                             "unpriced_because"));
    json_object_set_new(p, "gates", json_array());
    json_object_set_new(p, "destroy", json_false());
    json_object_set_new(p, "outputs", json_pack("{s:s, s:f, s:f, s:I}", "odd\"key\\", "tab\there \x01 \x7f \xc3\xa9 /",
                                                "ratio", 0.1, "big", 1e300, "neg", (json_int_t)-9007199254740993));
    char *text = mk_planfile_sign(p, &k);
    /* note [plan text]: the body is jansson's compact dump, byte for byte */
    json_t *body = json_deep_copy(p);
    json_object_del(body, "signature");
    char *want = json_dumps(body, JSON_COMPACT);
    assert_memory_equal(text, want, strlen(want) - 1);
    assert_memory_equal(text + strlen(want) - 1, ",\"signature\":", 13);
    free(want);
    json_decref(body);
    assert_non_null(strstr(text, "\"changes\":[{\"id\":1,\"address\":\"compute.web[0]\",\"action\":\"create\",\"after\":"));
    assert_non_null(strstr(text, "\"refs\":[\"network.main\"],\"cost\":{\"monthly\":\"1.00\",\"delta\":\"1.00\"}}]"));
    assert_null(strstr(text, "\"depends_on\""));
    assert_null(strstr(text, "\"lifecycle\""));
    assert_null(strstr(text, "\"gates\""));
    assert_null(strstr(text, "\"destroy\""));
    write_text(text);
    json_t *got;
    assert_int_equal(load(KEY_A, &got), MK_PLANFILE_OK);
    /* (signed again from a copy: the loaded values live in the executor's
     * plan region, note [plan memory], which nothing else is hung on) */
    json_t *copy = json_deep_copy(got);
    char *again = mk_planfile_sign(copy, &k);
    assert_string_equal(again, text);
    mk_planfile_free_text(again);
    mk_planfile_free_text(text);
    json_decref(copy);
    json_decref(got);
    json_decref(p);
}

/* note [plan fields]: a signed plan with a field this executor does not
 * know (a newer moksha's) is refused, never half-read. */
static void test_unknown_field_refused(void **state)
{
    (void)state;
    char why[256];
    mk_key k;
    assert_true(mk_key_load(&k, "/nonexistent", MK_KEY_REQUIRE, why, sizeof why));
    for (int i = 0; i < 3; i++) {
        json_t *p = sample_plan(&k);
        json_t *in = i == 0 ? p : i == 1 ? json_array_get(json_object_get(p, "changes"), 0) : json_object_get(p, "state");
        json_object_set_new(in, "environment", json_string("prod"));
        char *text = mk_planfile_sign(p, &k);
        write_text(text);
        setenv("MOKSHA_KEY", KEY_A, 1);
        mk_planfile_key ek;
        assert_true(mk_planfile_key_load(&ek, "/nonexistent", why, sizeof why));
        json_t *got;
        assert_int_equal(mk_planfile_load(path, &ek, &got, why, sizeof why), MK_PLANFILE_UNKNOWN_FIELD);
        assert_null(got);
        const char *said[] = {"the plan has a field `environment`", "a change has a field `environment`",
                              "its state has a field `environment`"};
        assert_non_null(strstr(why, said[i]));
        assert_non_null(strstr(why, "made by a newer moksha"));
        /* moksha show refuses it the same way */
        json_t *doc = json_loads(text, 0, NULL);
        assert_false(mk_planfile_verify(doc, path, &k, why, sizeof why));
        assert_non_null(strstr(why, "this moksha does not know"));
        json_decref(doc);
        mk_planfile_free_text(text);
        json_decref(p);
    }
}

/* The executor reads an omitted field as its default: a change without
 * `depends_on` waits for nothing, one without `lifecycle` or `sensitive`
 * is recorded in the state with the default lifecycle and no sensitive
 * attributes. */
static void test_executor_reads_defaults(void **state)
{
    (void)state;
    char why[256], top[] = "/tmp/mk-plan-exec-XXXXXX", cwd[4096];
    assert_non_null(mkdtemp(top));
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(top), 0);
    assert_int_equal(mkdir(".moksha", 0700), 0);
    FILE *f = fopen(".moksha/stack-id", "w");
    fputs("0123456789abcdef0123456789abcdef\n", f);
    fclose(f);
    mk_key k;
    assert_true(mk_key_load(&k, "/nonexistent", MK_KEY_REQUIRE, why, sizeof why));
    json_t *p = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:i}, s:{s:{s:s, s:{s:s}}}, s:[{s:i, s:s, s:s, s:s, s:s, s:s, "
                          "s:{s:s, s:s}}], s:{s:i, s:i, s:i, s:i, s:i}}",
        "format", "moksha.plan/v1", "stack", "demo", "inputs_digest", "00", "state", "stack_id",
        "0123456789abcdef0123456789abcdef", "lineage", "", "serial", 0, "providers", "local", "type", "local",
        "settings", "root", "out", "changes", "id", 1, "address", "local.file.a", "type", "local.file", "name", "a",
        "provider", "local", "action", "create", "after", "path", "a.txt", "content", "hi", "totals", "create", 1,
        "update", 0, "replace", 0, "delete", 0, "noop", 0);
    char *text = mk_planfile_sign(p, &k);
    assert_null(strstr(text, "depends_on"));
    f = fopen("p.plan", "w");
    fputs(text, f);
    fclose(f);
    mk_exec_opts o;
    mk_exec_opts_default(&o);
    o.progress = 0;
    assert_int_equal(mk_exec_apply("p.plan", &o), 0);
    json_t *st = json_load_file(".moksha/state.json", 0, NULL);
    assert_non_null(st);
    json_t *e = json_array_get(json_object_get(st, "resources"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "address")), "local.file.a");
    json_t *fields = json_pack("{s:O, s:O, s:O}", "lifecycle", json_object_get(e, "lifecycle"), "sensitive",
                               json_object_get(e, "sensitive"), "depends_on", json_object_get(e, "depends_on"));
    char *got = json_dumps(fields, JSON_COMPACT);
    json_decref(fields);
    assert_string_equal(got, "{\"lifecycle\":{\"prevent_destroy\":false,\"create_before_destroy\":false},"
                             "\"sensitive\":[],\"depends_on\":[]}");
    free(got);
    json_decref(st);
    mk_planfile_free_text(text);
    json_decref(p);
    assert_int_equal(chdir(cwd), 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
    assert_int_equal(system(cmd), 0);
}

static void test_valid_plan_loads_and_unseals(void **state)
{
    (void)state;
    mk_key k;
    json_t *p = signed_plan(&k);
    save(p);
    json_t *got;
    assert_int_equal(load(KEY_A, &got), MK_PLANFILE_OK);
    mk_planfile_key ek;
    char why[256];
    mk_planfile_key_load(&ek, "/nonexistent", why, sizeof why);
    json_t *pw = json_object_get(json_object_get(json_array_get(json_object_get(got, "changes"), 0), "after"), "password");
    char *plain = mk_planfile_unseal(&ek, pw);
    assert_non_null(plain);
    assert_string_equal(plain, "hunter2");
    free(plain);
    json_decref(got);
    json_decref(p);
}

static void test_altered_body_rejected(void **state)
{
    (void)state;
    mk_key k;
    json_t *p = signed_plan(&k);
    json_object_set_new(json_object_get(json_array_get(json_object_get(p, "changes"), 0), "after"), "cpu", json_integer(64));
    save(p);
    json_t *got;
    assert_int_equal(load(KEY_A, &got), MK_PLANFILE_TAMPERED);
    assert_null(got);
    json_decref(p);
}

static void test_added_and_removed_fields_rejected(void **state)
{
    (void)state;
    mk_key k;
    json_t *p = signed_plan(&k);
    json_object_set_new(p, "extra", json_true());
    save(p);
    json_t *got;
    assert_int_equal(load(KEY_A, &got), MK_PLANFILE_TAMPERED);
    json_object_del(p, "extra");
    json_object_del(p, "inputs_digest");
    save(p);
    assert_int_equal(load(KEY_A, &got), MK_PLANFILE_TAMPERED);
    json_decref(p);
}

static void test_stale_serial_edit_rejected(void **state)
{
    (void)state;
    mk_key k;
    json_t *p = signed_plan(&k);
    json_object_set_new(json_object_get(p, "state"), "serial", json_integer(4));
    save(p);
    json_t *got;
    assert_int_equal(load(KEY_A, &got), MK_PLANFILE_TAMPERED);
    json_decref(p);
}

static void test_bad_or_missing_signature(void **state)
{
    (void)state;
    mk_key k;
    json_t *p = signed_plan(&k);
    json_t *sig = json_object_get(p, "signature");
    char v[65];
    strcpy(v, json_string_value(json_object_get(sig, "value")));
    v[0] = v[0] == 'a' ? 'b' : 'a';
    json_object_set_new(sig, "value", json_string(v));
    save(p);
    json_t *got;
    assert_int_equal(load(KEY_A, &got), MK_PLANFILE_TAMPERED);
    json_object_del(p, "signature");
    save(p);
    assert_int_equal(load(KEY_A, &got), MK_PLANFILE_UNSIGNED);
    json_decref(p);
}

static void test_wrong_key_rejected(void **state)
{
    (void)state;
    mk_key k;
    json_t *p = signed_plan(&k);
    save(p);
    json_t *got;
    assert_int_equal(load(KEY_B, &got), MK_PLANFILE_WRONG_KEY);
    /* forging the key id does not help: the MAC still fails */
    mk_planfile_key other;
    char why[256];
    mk_planfile_key_load(&other, "/nonexistent", why, sizeof why);
    json_object_set_new(json_object_get(p, "signature"), "key_id", json_string(other.id));
    save(p);
    assert_int_equal(load(KEY_B, &got), MK_PLANFILE_TAMPERED);
    json_decref(p);
}

static void test_not_a_plan(void **state)
{
    (void)state;
    FILE *f = fopen(path, "w");
    fputs("{\"format\": \"moksha.state/v1\"}", f);
    fclose(f);
    json_t *got;
    assert_int_equal(load(KEY_A, &got), MK_PLANFILE_NOT_A_PLAN);
    f = fopen(path, "w");
    fputs("not json", f);
    fclose(f);
    assert_int_equal(load(KEY_A, &got), MK_PLANFILE_UNREADABLE);
}

static void test_sealed_secret_tamper(void **state)
{
    (void)state;
    mk_key k;
    char why[256];
    mk_key_load(&k, "/nonexistent", MK_KEY_REQUIRE, why, sizeof why);
    char *sealed = mk_key_seal(&k, "s3cret", 6);
    assert_null(strstr(sealed, "s3cret"));
    sealed[20] = sealed[20] == 'A' ? 'B' : 'A';
    size_t n;
    assert_null(mk_key_open(&k, sealed, &n));
    free(sealed);
}

/* note [key text] in compiler/base/key.c: both sides accept the same key texts,
 * derive the same key from them, and refuse the same weak ones. */
static void test_key_texts_agree(void **state)
{
    (void)state;
    char dir[] = "/tmp/mk-key-XXXXXX", why[512], file[64];
    assert_non_null(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/stack-id", dir);
    FILE *f = fopen(file, "w");
    fputs("0123456789abcdef0123456789abcdef\n", f);
    fclose(f);
    static const char *const good[] = {
        KEY_A, "  " KEY_A "\n",
        "Sx4MKp2PjntaTD0eH5uLyH2+XqQsLB0O6fa3xdTjPyo=", /* base64 of 32 bytes */
        "passphrase:correct horse battery staple",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        setenv("MOKSHA_KEY", good[i], 1);
        mk_key k;
        mk_planfile_key ek;
        assert_true(mk_key_load(&k, dir, MK_KEY_REQUIRE, why, sizeof why));
        assert_true(mk_planfile_key_load(&ek, dir, why, sizeof why));
        assert_string_equal(k.id, ek.id);
        assert_memory_equal(k.seal, ek.seal, 32);
        assert_string_equal(k.stack_id, "0123456789abcdef0123456789abcdef");
    }
    /* hex and base64 of the same bytes are the same key */
    mk_key a, b;
    setenv("MOKSHA_KEY", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 1);
    assert_true(mk_key_load(&a, dir, MK_KEY_REQUIRE, why, sizeof why));
    setenv("MOKSHA_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 1);
    assert_true(mk_key_load(&b, dir, MK_KEY_REQUIRE, why, sizeof why));
    assert_string_equal(a.id, b.id);
    static const char *const weak[] = {
        "x", "golden-test-key-0123", "passphrase:short", KEY_A "0", "zz1e0c2a9d8f7e6b5a4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh==",
    };
    for (size_t i = 0; i < sizeof weak / sizeof *weak; i++) {
        setenv("MOKSHA_KEY", weak[i], 1);
        mk_key k;
        mk_planfile_key ek;
        assert_false(mk_key_load(&k, dir, MK_KEY_READ, why, sizeof why));
        assert_non_null(strstr(why, "MOKSHA_KEY"));
        assert_false(mk_planfile_key_load(&ek, dir, why, sizeof why));
        assert_non_null(strstr(why, "MOKSHA_KEY"));
    }
    /* a passphrase is salted with the stack id: another stack, another key */
    mk_key k1, k2;
    setenv("MOKSHA_KEY", "passphrase:correct horse battery staple", 1);
    assert_true(mk_key_load(&k1, dir, MK_KEY_REQUIRE, why, sizeof why));
    f = fopen(file, "w");
    fputs("fedcba9876543210fedcba9876543210\n", f);
    fclose(f);
    assert_true(mk_key_load(&k2, dir, MK_KEY_REQUIRE, why, sizeof why));
    assert_string_not_equal(k1.id, k2.id);
    unlink(file); /* …and without a stack id it cannot be derived */
    mk_planfile_key ek;
    assert_false(mk_planfile_key_load(&ek, dir, why, sizeof why));
    assert_non_null(strstr(why, "stack id"));
    assert_false(mk_key_load(&k1, dir, MK_KEY_REQUIRE, why, sizeof why));
    rmdir(dir);
}

/* A command that signs nothing creates no key and no stack id; one that
 * signs creates both, the key readable by its owner only. */
static void test_key_created_only_to_sign(void **state)
{
    (void)state;
    unsetenv("MOKSHA_KEY");
    char dir[] = "/tmp/mk-key-XXXXXX", why[512], file[64];
    assert_non_null(mkdtemp(dir));
    mk_key k;
    assert_true(mk_key_load(&k, dir, MK_KEY_READ, why, sizeof why));
    assert_true(k.throwaway);
    snprintf(file, sizeof file, "%s/key", dir);
    assert_int_equal(access(file, F_OK), -1);
    assert_false(mk_key_load(&k, dir, MK_KEY_REQUIRE, why, sizeof why));
    assert_int_equal(access(file, F_OK), -1);
    assert_true(mk_key_load(&k, dir, MK_KEY_CREATE, why, sizeof why));
    assert_false(k.throwaway);
    struct stat sb;
    assert_int_equal(stat(file, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    mk_planfile_key ek;
    assert_true(mk_planfile_key_load(&ek, dir, why, sizeof why));
    assert_string_equal(k.id, ek.id);
    assert_int_equal(strlen(k.stack_id), 32);
    chmod(file, 0644); /* a key others can read is refused */
    assert_false(mk_planfile_key_load(&ek, dir, why, sizeof why));
    assert_non_null(strstr(why, "chmod 600"));
    assert_false(mk_key_load(&k, dir, MK_KEY_READ, why, sizeof why));
    unlink(file);
    snprintf(file, sizeof file, "%s/stack-id", dir);
    unlink(file);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_signed_text_is_the_document, setup, teardown),
        cmocka_unit_test_setup_teardown(test_written_text_checked_as_is, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signature_covers_the_statement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults_omitted_and_rewrite_identical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_field_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_executor_reads_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_valid_plan_loads_and_unseals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_altered_body_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_added_and_removed_fields_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_serial_edit_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_or_missing_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_plan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sealed_secret_tamper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_texts_agree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_created_only_to_sign, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
