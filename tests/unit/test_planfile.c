/* The plan contract from both sides: the compiler writes a plan's records
 * as the file's text, reads a plan document back into records and writes
 * it again byte for byte, and renders a made plan and a saved one alike;
 * the executor's loader verifies and unseals, and rejects every kind of
 * tampering: an altered body, an added or removed field, a bad or missing
 * signature, a plan signed with another key, a file that is not a plan.
 * `plan -o` replaces only a file that begins as a plan. */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/back/planfile.h"
#include "compiler/back/render.h"
#include "compiler/base/key.h"
#include "compiler/base/mem.h"
#include "compiler/base/sign.h"
#include "compiler/middle/plan.h"
#include "compiler/pipeline.h"
#include "runtime/exec.h"
#include "runtime/planfile.h"

#define KEY_A "4b1e0c2a9d8f7e6b5a4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"
#define KEY_B "b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6"

static char path[64];

#define TOTALS "totals", "create", 1, "update", 0, "replace", 0, "delete", 0, "noop", 0

/* A plan as moksha writes it: its fields in the file's order, none of them
 * at its default but the change's id, its place in the list, which the
 * executor puts back (note [plan defaults]). */
static json_t *sample_plan(const mk_key *k)
{
    char *sealed = mk_key_seal(k, "hunter2", 7);
    json_t *p = json_pack("{s:s, s:s, s:s, s:{s:s, s:i}, s:[{s:i, s:s, s:s, s:s, s:s, s:{s:i, s:{s:{s:s}}}, s:s, "
                          "s:n}], s:{s:i, s:i, s:i, s:i, s:i}}",
        "format", "moksha.plan/v1", "stack", "demo", "inputs_digest", "00", "state", "lineage", "l-1", "serial", 3,
        "changes", "id", 1, "address", "compute.web[0]", "type", "compute", "name", "web", "action", "create", "after",
        "cpu", 2, "password", "$secret", "sealed", sealed, "risk", "medium", "cost", TOTALS);
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

static void project_key(mk_key *k)
{
    char why[256];
    assert_true(mk_key_load(k, "/nonexistent", MK_KEY_REQUIRE, why, sizeof why));
}

/* The signed sample, parsed back from its text (which save writes again). */
static json_t *signed_plan(mk_key *k)
{
    project_key(k);
    json_t *p = sample_plan(k);
    char *text = mk_planfile_sign(p, k);
    assert_non_null(text);
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    mk_planfile_free_text(text);
    json_decref(p);
    return doc;
}

/* doc signed as plan files are, whatever it holds (its compact dump as the
 * body, docs/formats.md): for the executor's refusals of what moksha itself
 * never writes. Caller frees. */
static char *sign_raw(json_t *doc, const mk_key *k)
{
    char *body = json_dumps(doc, JSON_COMPACT), digest[65], mac[65], st[512];
    json_t *s = json_object_get(doc, "state");
    mk_key_sha256_hex(body, strlen(body), digest);
    snprintf(st, sizeof st, "{\"format\":\"moksha.plan/v1\",\"digest\":\"%s\",\"lineage\":\"%s\",\"serial\":%lld}", digest,
             json_string_value(json_object_get(s, "lineage")), (long long)json_integer_value(json_object_get(s, "serial")));
    mk_key_sign(k, st, strlen(st), mac);
    size_t n = strlen(body);
    char *text = malloc(n + 256);
    snprintf(text, n + 256, "%.*s,\"signature\":{\"algorithm\":\"HMAC-SHA256\",\"key_id\":\"%s\",\"digest\":\"%s\","
             "\"value\":\"%s\"}}", (int)n - 1, body, k->id, digest, mac);
    free(body);
    return text;
}

static void test_signed_text_is_the_document(void **state)
{
    (void)state;
    mk_key k;
    project_key(&k);
    json_t *p = sample_plan(&k);
    json_object_set_new(p, "outputs", json_pack("{s:s}", "stack", ",\"stack\":"));
    char *text = mk_planfile_sign(p, &k);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    json_t *got;
    assert_int_equal(load(KEY_A, &got), MK_PLANFILE_OK);
    assert_non_null(json_object_get(got, "signature"));
    json_object_del(got, "signature");
    assert_true(json_equal(got, p));
    json_decref(got);
    json_decref(p);
    mk_planfile_free_text(text);
}

/* The project key, the sample plan and its signed text. */
static char *sign_sample(mk_key *k, json_t **plan)
{
    project_key(k);
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

/* note [planner signature]: with a planner key the plan's body is the
 * same bytes, and its signature the Ed25519 object of docs/trust.md, which
 * verifies with no project key; the same file altered does not. */
#define FIXED_PEM "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n"
#define FIXED_PUB "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

static void test_planner_signature(void **state)
{
    (void)state;
    mk_key k;
    project_key(&k);
    char kp[80], why[512];
    snprintf(kp, sizeof kp, "%s.key", path);
    FILE *f = fopen(kp, "w");
    fputs(FIXED_PEM, f);
    fclose(f);
    chmod(kp, 0600);
    json_t *p = sample_plan(&k);
    char *hmac = mk_planfile_sign(p, &k);
    k.signer = mk_sign_load(kp, why, sizeof why);
    assert_non_null(k.signer);
    mk_sign_public(k.signer, k.signer_pub, k.signer_id);
    mk_plan *model = mk_planfile_read(p, why, sizeof why);
    mk_buf b = {0};
    mk_planfile_emit(model, &k, true, &b);
    char *text = mk_buf_take(&b);
    const char *sig = strstr(text, ",\"signature\":");
    assert_non_null(sig);
    assert_int_equal(strncmp(text, hmac, (size_t)(sig - text)), 0); /* the body: the same bytes */
    const char *want = ",\"signature\":{\"algorithm\":\"Ed25519\",\"type\":\"plan\",\"key\":\"" FIXED_PUB
                       "\",\"key_id\":\"21fe31dfa154a261\",\"digest\":\"";
    assert_int_equal(strncmp(sig, want, strlen(want)), 0);
    write_text(text);
    json_t *doc = json_loads(text, 0, NULL);
    assert_string_equal(mk_planfile_signer(doc), FIXED_PUB);
    assert_true(mk_planfile_verify(doc, path, NULL, why, sizeof why));
    char *bad = mk_mem_strdup(text), *serial = strstr(bad, "\"serial\":3");
    serial[9] = '4';
    write_text(bad);
    json_t *altered = json_loads(bad, 0, NULL);
    assert_false(mk_planfile_verify(altered, path, NULL, why, sizeof why));
    assert_string_equal(why, "the signature does not match: the plan was altered after it was signed");
    json_decref(altered);
    mk_mem_free(bad);
    json_decref(doc);
    mk_mem_free(text);
    mk_plan_free(model);
    mk_planfile_free_text(hmac);
    json_decref(p);
    mk_sign_free(k.signer);
    unlink(kp);
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
    json_t *doc = json_loads(text, 0, NULL), *sig = json_object_get(doc, "signature");
    assert_string_equal(json_string_value(json_object_get(sig, "digest")), digest);
    snprintf(st, sizeof st, "{\"format\":\"moksha.plan/v1\",\"digest\":\"%s\",\"lineage\":\"l-1\",\"serial\":3}", digest);
    mk_key_sign(&k, st, strlen(st), mac);
    assert_string_equal(json_string_value(json_object_get(sig, "value")), mac);
    /* the statement binds the identity: the same body under another serial
     * is another statement (the MAC no longer matches) */
    snprintf(st, sizeof st, "{\"format\":\"moksha.plan/v1\",\"digest\":\"%s\",\"lineage\":\"l-1\",\"serial\":4}", digest);
    mk_key_sign(&k, st, strlen(st), mac);
    assert_string_not_equal(json_string_value(json_object_get(sig, "value")), mac);
    json_decref(doc);
    free(body);
    mk_planfile_free_text(text);
    json_decref(p);
}

/* Changes with every default written, as plans had them before those
 * defaults were left out (note [plan defaults]): a chosen placement's
 * `optimize` and an offering that is the cost's, a delta that is the
 * monthly cost, unknown attributes' nulls at the end of `after`, risk low,
 * an id that is the change's place, a null placement. */
#define CHANGES_IN_FULL                                                                                                \
    "[{\"id\":1,\"address\":\"compute.web[0]\",\"type\":\"compute\",\"name\":\"web\",\"provider\":null,"               \
    "\"action\":\"create\",\"before\":null,\"after\":{\"ip\":null,\"cpu\":2,\"id\":null,\"disk\":null},"               \
    "\"after_unknown\":[\"ip\",\"id\",\"disk\"],\"sensitive\":[],\"changed\":[],\"replace_because\":[],"               \
    "\"depends_on\":[],\"risk\":\"low\",\"cost\":{\"monthly\":\"1.00\",\"delta\":\"1.00\",\"offering\":\"e2-small\","  \
    "\"unpriced_because\":null},\"lifecycle\":{\"prevent_destroy\":false,\"create_before_destroy\":false},"             \
    "\"placement\":{\"providers\":[\"gcp\"],\"regions\":[\"us-central1\"],\"offering\":\"e2-small\","                   \
    "\"optimize\":\"cost\"},\"refs\":[\"network.main\"]},"                                                             \
    "{\"id\":2,\"address\":\"bucket.logs\",\"type\":\"bucket\",\"name\":\"logs\",\"action\":\"create\","               \
    "\"after\":{\"id\":null},\"after_unknown\":[\"id\"],\"risk\":\"low\",\"cost\":{\"monthly\":null,"                  \
    "\"delta\":\"0.00\",\"unpriced_because\":\"no price\"},\"placement\":{\"providers\":[\"aws\"],"                    \
    "\"regions\":[\"us-east-1\"],\"offering\":\"s3-standard\",\"optimize\":\"cost\"}},"                                \
    "{\"id\":7,\"address\":\"local.file.f\",\"type\":\"local.file\",\"name\":\"f\",\"action\":\"create\","             \
    "\"after\":{\"path\":\"f\"},\"risk\":\"high\",\"cost\":{\"monthly\":\"0.00\",\"delta\":\"0.00\"},"                  \
    "\"placement\":null}]"
/* The same changes as moksha writes them: an unknown null before a known
 * attribute stays; a placed offering that is not the cost's stays (the
 * second is unpriced); an id that is not the change's place stays. */
#define CHANGES_WRITTEN                                                                                                \
    "[{\"address\":\"compute.web[0]\",\"type\":\"compute\",\"name\":\"web\",\"action\":\"create\","                    \
    "\"after\":{\"ip\":null,\"cpu\":2},\"after_unknown\":[\"ip\",\"id\",\"disk\"],\"cost\":{\"monthly\":\"1.00\","     \
    "\"offering\":\"e2-small\"},\"placement\":{\"providers\":[\"gcp\"],\"regions\":[\"us-central1\"]},"                 \
    "\"refs\":[\"network.main\"]},"                                                                                    \
    "{\"address\":\"bucket.logs\",\"type\":\"bucket\",\"name\":\"logs\",\"action\":\"create\",\"after\":{},"           \
    "\"after_unknown\":[\"id\"],\"cost\":{\"monthly\":null,\"delta\":\"0.00\",\"unpriced_because\":\"no price\"},"     \
    "\"placement\":{\"providers\":[\"aws\"],\"regions\":[\"us-east-1\"],\"offering\":\"s3-standard\"}},"              \
    "{\"id\":7,\"address\":\"local.file.f\",\"type\":\"local.file\",\"name\":\"f\",\"action\":\"create\","             \
    "\"after\":{\"path\":\"f\"},\"risk\":\"high\",\"cost\":{\"monthly\":\"0.00\"}}]"

/* note [plan defaults]: what is its default is not written, a field written
 * with its default value reads as if it were not, and a plan written, read
 * by either side and written again is the same bytes. */
static void test_defaults_omitted_and_rewrite_identical(void **state)
{
    (void)state;
    mk_key k;
    project_key(&k);
    json_t *p = sample_plan(&k);
    json_object_set_new(p, "changes", json_loads(CHANGES_IN_FULL, 0, NULL));
    assert_int_equal(json_array_size(json_object_get(p, "changes")), 3);
    json_object_set_new(p, "destroy", json_false());
    json_object_set_new(p, "gates", json_array());
    json_object_set_new(p, "outputs", json_pack("{s:s, s:f, s:f, s:I}", "odd\"key\\", "tab\there \x01 \x7f \xc3\xa9 /",
                                                "ratio", 0.1, "big", 1e300, "neg", (json_int_t)-9007199254740993));
    char *text = mk_planfile_sign(p, &k);
    /* note [plan text]: the body is jansson's compact dump of the plan
     * without its defaults, byte for byte */
    json_t *body = json_deep_copy(p);
    json_object_del(body, "destroy");
    json_object_del(body, "gates");
    json_object_set_new(body, "changes", json_loads(CHANGES_WRITTEN, 0, NULL));
    json_object_del(body, "totals"); /* the outputs come before the totals */
    json_object_set_new(body, "totals", json_pack("{s:i, s:i, s:i, s:i, s:i}", "create", 1, "update", 0, "replace", 0, "delete", 0, "noop", 0));
    char *want = json_dumps(body, JSON_COMPACT);
    assert_memory_equal(text, want, strlen(want) - 1);
    assert_memory_equal(text + strlen(want) - 1, ",\"signature\":", 13);
    free(want);
    json_decref(body);
    assert_non_null(strstr(text, ",\"changes\":" CHANGES_WRITTEN ",\"outputs\":"));
    /* read back by moksha (show) and written again */
    json_t *doc = json_loads(text, 0, NULL);
    char *again = mk_planfile_sign(doc, &k);
    assert_string_equal(again, text);
    mk_planfile_free_text(again);
    json_decref(doc);
    /* read by the executor (its defaults put back) and written again */
    write_text(text);
    json_t *got;
    assert_int_equal(load(KEY_A, &got), MK_PLANFILE_OK);
    /* (signed again from a copy: the loaded values live in the executor's
     * plan region, note [plan memory], which nothing else is hung on) */
    json_t *copy = json_deep_copy(got);
    again = mk_planfile_sign(copy, &k);
    assert_string_equal(again, text);
    mk_planfile_free_text(again);
    mk_planfile_free_text(text);
    json_decref(copy);
    json_decref(got);
    json_decref(p);
}

/* A plan as moksha writes it with every field there is, none at its
 * default: one change of each kind (desired, deleted, deposed: each kind's
 * own field order; their ids are their places, 1 to 3, left out), gates,
 * policy results, providers, outputs, the costs. */
static json_t *full_plan(void)
{
    const char *text =
        "{\"format\":\"moksha.plan/v1\",\"stack\":\"full\",\"inputs_digest\":\"ab12\",\"destroy\":true,"
        "\"state\":{\"stack_id\":\"0123456789abcdef0123456789abcdef\",\"lineage\":\"l \\\"1\\\"\",\"serial\":7},"
        "\"providers\":{\"sim\":{\"type\":\"sim\",\"settings\":{\"fail_rate\":0.0}}},\"changes\":["
        "{\"address\":\"compute.web\",\"type\":\"compute\",\"name\":\"web\",\"provider\":\"sim\","
        "\"action\":\"replace\",\"before\":{\"cpu\":2,\"memory\":\"4GiB\"},\"after\":{\"cpu\":4,\"memory\":\"8GiB\","
        "\"key\":{\"$secret\":{\"fingerprint\":\"ff\",\"sealed\":\"c2VhbGVk\"}}},\"after_unknown\":[\"id\"],"
        "\"sensitive\":[\"key\"],\"changed\":[\"cpu\",\"memory\"],\"replace_because\":[\"cpu\"],\"depends_on\":[3],"
        "\"risk\":\"high\",\"cost\":{\"monthly\":\"97.84\",\"delta\":\"-1.05\",\"offering\":\"e2-standard-4\",\"self_hosted\":\"dev\"},"
        "\"lifecycle\":{\"prevent_destroy\":false,\"create_before_destroy\":true},\"placement\":{\"providers\":[\"gcp\"],"
        "\"regions\":[\"us-central1\"]},\"refs\":[\"network.main\"],"
        "\"risk_raised_by\":\"risky\"},"
        "{\"address\":\"bucket.old\",\"type\":\"bucket\",\"name\":\"old\",\"provider\":\"sim\",\"action\":\"delete\","
        "\"before\":{\"id\":\"b-1\"},\"depends_on\":[1],\"risk\":\"high\",\"irreversible\":true,\"cost\":{\"monthly\":null,\"delta\":\"-12.50\"},"
        "\"placement\":{\"cloud\":\"aws\",\"region\":\"us-east-1\"},\"lifecycle\":{\"prevent_destroy\":true,"
        "\"create_before_destroy\":false},\"refs\":[\"network.main\"]},"
        "{\"address\":\"compute.web\",\"deposed\":\"i-0\",\"type\":\"compute\",\"name\":\"web\",\"action\":\"delete\","
        "\"provider\":\"sim\",\"before\":{\"cpu\":2},\"risk\":\"medium\",\"cost\":null,"
        "\"lifecycle\":{\"prevent_destroy\":false,\"create_before_destroy\":true}}],"
        "\"gates\":[{\"id\":1,\"policy\":\"sre\",\"group\":\"sre\",\"message\":\"look\",\"address\":\"compute.web\",\"change\":1},"
        "{\"id\":2,\"policy\":\"any\",\"group\":\"ops\",\"message\":null,\"address\":null,\"change\":null}],"
        "\"policies\":[{\"name\":\"sre\",\"status\":\"pass\"}],\"outputs\":{\"ip\":null,\"n\":1.5},"
        "\"totals\":{\"create\":0,\"update\":0,\"replace\":1,\"delete\":2,\"noop\":4},"
        "\"cost\":{\"currency\":\"USD\",\"monthly\":\"97.84\",\"applied\":\"110.39\",\"delta\":\"-12.55\",\"unpriced\":2,\"self_hosted\":1}}";
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    return doc;
}

/* A plan written, read back into records and written again is the same
 * bytes, signed or not; the records hold what the file says, money exactly. */
static void test_read_and_rewritten_identical(void **state)
{
    (void)state;
    mk_key k;
    project_key(&k);
    json_t *doc = full_plan();
    char *text = mk_planfile_sign(doc, &k), why[256];
    json_t *back = json_loads(text, 0, NULL);
    mk_plan *p = mk_planfile_read(back, why, sizeof why);
    assert_non_null(p);
    mk_buf b = {0};
    mk_planfile_emit(p, &k, true, &b);
    assert_string_equal(mk_buf_cstr(&b), text);
    char *body = json_dumps(doc, JSON_COMPACT); /* nothing at its default: the body is the document */
    assert_memory_equal(text, body, strlen(body) - 1);
    b.len = 0;
    mk_planfile_emit(p, &k, false, &b);
    assert_string_equal(mk_buf_cstr(&b), body);
    assert_int_equal(p->nchanges, 3);
    const mk_change *c = &p->changes[0];
    assert_int_equal(c->id, 1);
    assert_int_equal(p->changes[2].id, 3);
    assert_int_equal(c->action, MK_ACT_REPLACE);
    assert_int_equal(c->risk, MK_RISK_HIGH);
    assert_int_equal(c->monthly, 97840000);
    assert_int_equal(c->delta, -1050000);
    assert_string_equal(c->cloud, "gcp");
    assert_string_equal(c->region, "us-central1");
    assert_string_equal(c->placed_offering, "e2-standard-4"); /* the cost's */
    /* the unknown id's null put back at the end of after, the document left as it was */
    char *after = json_dumps(c->after, JSON_COMPACT);
    assert_string_equal(after, "{\"cpu\":4,\"memory\":\"8GiB\",\"key\":{\"$secret\":{\"fingerprint\":\"ff\","
                               "\"sealed\":\"c2VhbGVk\"}},\"id\":null}");
    free(after);
    assert_null(json_object_get(json_object_get(json_array_get(json_object_get(back, "changes"), 0), "after"), "id"));
    assert_true(c->create_before_destroy && !c->prevent_destroy);
    assert_int_equal(c->ndepends, 1);
    assert_int_equal(c->depends_on[0], 3);
    assert_string_equal(c->forces.v[0], "cpu");
    assert_false(c->irreversible);
    assert_true(p->changes[1].irreversible);
    assert_null(p->changes[1].cloud); /* the state's placement is kept as it is */
    assert_false(p->changes[1].priced);
    assert_true(p->changes[1].costed);
    assert_false(p->changes[2].costed);
    assert_string_equal(p->changes[2].deposed, "i-0");
    assert_int_equal(p->ngates, 2);
    assert_int_equal(p->gates[0].change, 1);
    assert_int_equal(p->gates[1].change, 0);
    assert_null(p->gates[1].message);
    assert_true(p->destroy);
    assert_int_equal(p->applied, 110390000);
    assert_int_equal(p->unpriced, 2);
    assert_int_equal(p->self_hosted, 1);
    assert_string_equal(c->self_hosted, "dev");
    assert_null(p->changes[1].self_hosted);
    assert_int_equal(p->totals.remove, 2);
    free(body);
    mk_buf_free(&b);
    mk_plan_free(p);
    json_decref(back);
    mk_planfile_free_text(text);
    json_decref(doc);
}

#define SMALL_HEAD "{\"format\":\"moksha.plan/v1\",\"stack\":\"s\",\"inputs_digest\":\"00\",\"state\":{\"lineage\":\"\"," \
                   "\"serial\":0},\"changes\":["

/* The records of text, read (its document in *doc). */
static mk_plan *read_text(const char *text, json_t **doc)
{
    char why[256];
    *doc = json_loads(text, 0, NULL);
    mk_plan *p = mk_planfile_read(*doc, why, sizeof why);
    assert_non_null(p);
    return p;
}

/* p, written unsigned, is text byte for byte. */
static void rewritten_is(const mk_plan *p, const char *text)
{
    mk_key k;
    project_key(&k);
    mk_buf b = {0};
    mk_planfile_emit(p, &k, false, &b);
    assert_string_equal(mk_buf_cstr(&b), text);
    mk_buf_free(&b);
}

/* note [plan defaults]: a field left out reads as its default. */
static void test_omitted_fields_read_as_defaults(void **state)
{
    (void)state;
    const char *text = SMALL_HEAD "{\"address\":\"a.b\",\"type\":\"a\",\"name\":\"b\",\"action\":\"create\","
                       "\"cost\":{\"monthly\":\"0.00\"}},{\"address\":\"compute.c\",\"type\":\"compute\",\"name\":\"c\","
                       "\"action\":\"create\",\"after\":{\"cpu\":2},\"after_unknown\":[\"id\",\"ip\"],\"cost\":{\"monthly\":"
                       "\"12.50\",\"offering\":\"e2-small\"},\"placement\":{\"providers\":[\"gcp\"],\"regions\":[\"us-central1\"]}}],"
                       "\"totals\":{\"create\":2,\"update\":0,\"replace\":0,\"delete\":0,\"noop\":0}}";
    json_t *doc;
    mk_plan *p = read_text(text, &doc);
    const mk_change *c = &p->changes[0];
    assert_int_equal(c->id, 1); /* its place */
    assert_int_equal(c->risk, MK_RISK_LOW);
    assert_null(c->provider);
    assert_null(c->before);
    assert_null(c->after);
    assert_null(c->deposed);
    assert_null(c->in);
    assert_int_equal(c->unknown.n + c->sensitive.n + c->changed.n + c->forces.n + c->ndepends + c->nrefs, 0);
    assert_false(c->prevent_destroy || c->create_before_destroy);
    assert_true(c->costed && c->priced);
    assert_int_equal(c->delta, 0);
    assert_null(c->offering);
    assert_null(c->unpriced_because);
    assert_null(c->placement);
    assert_null(c->cloud);
    assert_null(c->risk_raised_by);
    c = &p->changes[1];
    assert_int_equal(c->id, 2);
    assert_int_equal(c->monthly, 12500000);
    assert_int_equal(c->delta, 12500000); /* the monthly cost */
    assert_string_equal(c->cloud, "gcp"); /* a placement the cost model chose */
    assert_string_equal(c->region, "us-central1");
    assert_string_equal(c->placed_offering, "e2-small"); /* the cost's */
    char *after = json_dumps(c->after, JSON_COMPACT);
    assert_string_equal(after, "{\"cpu\":2,\"id\":null,\"ip\":null}");
    free(after);
    assert_false(p->destroy);
    assert_false(p->costed);
    assert_null(p->stack_id);
    assert_null(p->providers);
    assert_null(p->outputs);
    assert_null(p->policies);
    assert_int_equal(p->ngates, 0);
    rewritten_is(p, text);
    mk_plan_free(p);
    json_decref(doc);
}

/* A placement as written in a `placement` block (which always has its
 * `optimize`) is not one the cost model chose, even with one provider and
 * one region: it is kept as it is, and placed nowhere. */
static void test_written_placement_kept(void **state)
{
    (void)state;
    const char *text = SMALL_HEAD "{\"address\":\"local.directory.d\",\"type\":\"local.directory\","
                       "\"name\":\"d\",\"action\":\"create\",\"after\":{\"path\":\"d\"},\"cost\":{\"monthly\":\"0.00\"},"
                       "\"placement\":{\"providers\":[\"gcp\"],\"regions\":[\"us-central1\"],\"optimize\":\"cost\"}}],"
                       "\"totals\":{\"create\":1,\"update\":0,\"replace\":0,\"delete\":0,\"noop\":0}}";
    json_t *doc;
    mk_plan *p = read_text(text, &doc);
    assert_null(p->changes[0].cloud);
    assert_int_equal(json_object_size(p->changes[0].placement), 3);
    rewritten_is(p, text);
    mk_plan_free(p);
    json_decref(doc);
}

/* An import's id and a move's old address are read back, and written as
 * they were: `import` and `moved_from` after `action`, the totals' `import`
 * and `move` after `noop`. */
static void test_import_and_move_read(void **state)
{
    (void)state;
    const char *text = SMALL_HEAD "{\"address\":\"compute.legacy\",\"type\":\"compute\",\"name\":\"legacy\","
                       "\"action\":\"import\",\"import\":{\"id\":\"i-0abc\"},\"after\":{\"cpu\":1},\"risk\":\"high\","
                       "\"cost\":{\"monthly\":\"0.00\"}},"
                       "{\"address\":\"compute.new\",\"type\":\"compute\",\"name\":\"new\",\"action\":\"move\","
                       "\"moved_from\":\"compute.old\",\"before\":{\"cpu\":1},\"after\":{\"cpu\":1},"
                       "\"cost\":{\"monthly\":\"0.00\"}}],"
                       "\"totals\":{\"create\":0,\"update\":0,\"replace\":0,\"delete\":0,\"noop\":0,\"import\":1,\"move\":1}}";
    json_t *doc;
    mk_plan *p = read_text(text, &doc);
    assert_int_equal(p->nchanges, 2);
    assert_int_equal(p->changes[0].action, MK_ACT_IMPORT);
    assert_string_equal(p->changes[0].import_id, "i-0abc");
    assert_null(p->changes[0].moved_from);
    assert_null(p->changes[0].before);
    assert_int_equal(p->changes[1].action, MK_ACT_MOVE);
    assert_string_equal(p->changes[1].moved_from, "compute.old");
    assert_null(p->changes[1].import_id);
    assert_int_equal(p->totals.import, 1);
    assert_int_equal(p->totals.move, 1);
    rewritten_is(p, text);
    mk_plan_free(p);
    json_decref(doc);
}

/* A bucket an s3 block keeps says so ("via"): read from the block's kind
 * in the plan's providers, written back the same, and a `via` the
 * providers do not say — another kind, or one on a sim block's change — is
 * refused, so the text a reviewer reads cannot name another store. */
#define VIA_HEAD "{\"format\":\"moksha.plan/v1\",\"stack\":\"s\",\"inputs_digest\":\"00\",\"state\":{\"lineage\":\"\"," \
                 "\"serial\":0},\"providers\":{\"sim\":{\"type\":\"sim\",\"settings\":{}},\"store\":{\"type\":\"s3\"," \
                 "\"settings\":{\"connection\":\"minio\"}}},\"changes\":["
#define VIA_TAIL "\"action\":\"create\",\"cost\":{\"monthly\":\"0.00\"}}],\"totals\":{\"create\":1,\"update\":0," \
                 "\"replace\":0,\"delete\":0,\"noop\":0}}"

static void test_via_store(void **state)
{
    (void)state;
    const char *text = VIA_HEAD "{\"address\":\"bucket.logs\",\"type\":\"bucket\",\"name\":\"logs\",\"provider\":\"store\","
                       "\"via\":\"s3\"," VIA_TAIL;
    json_t *doc;
    mk_plan *p = read_text(text, &doc);
    assert_string_equal(p->changes[0].via, "s3");
    rewritten_is(p, text);
    mk_buf b = {0};
    mk_render_text(p, &b, false);
    assert_non_null(strstr(mk_buf_cstr(&b), "+ bucket.logs"));
    assert_non_null(strstr(mk_buf_cstr(&b), " via s3 store"));
    mk_buf_free(&b);
    mk_plan_free(p);
    json_decref(doc);
    static const char *const bad[] = {
        VIA_HEAD "{\"address\":\"bucket.logs\",\"type\":\"bucket\",\"name\":\"logs\",\"provider\":\"store\"," VIA_TAIL,
        VIA_HEAD "{\"address\":\"bucket.logs\",\"type\":\"bucket\",\"name\":\"logs\",\"provider\":\"store\","
                 "\"via\":\"azure_blob\"," VIA_TAIL,
        VIA_HEAD "{\"address\":\"bucket.logs\",\"type\":\"bucket\",\"name\":\"logs\",\"provider\":\"sim\","
                 "\"via\":\"s3\"," VIA_TAIL,
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char why[256] = "";
        doc = json_loads(bad[i], 0, NULL);
        assert_non_null(doc);
        assert_null(mk_planfile_read(doc, why, sizeof why));
        assert_non_null(strstr(why, "`via` is not the kind of the change's provider block"));
        json_decref(doc);
    }
}

/* What the reader refuses, and how it says so. */
static void test_reader_refuses(void **state)
{
    (void)state;
    static const struct { const char *from, *to, *said; } cases[] = {
        {"\"stack\":\"full\"", "\"stack\":\"full\",\"environment\":\"prod\"",
         "the plan has a field `environment` this moksha does not know"},
        {"\"name\":\"old\"", "\"name\":\"old\",\"drifted\":true", "a change has a field `drifted` this moksha does not know"},
        {"\"name\":\"old\"", "\"name\":\"old\",\"drift\":true", "change 2 of the plan: `drift` is not an object"},
        {"\"name\":\"old\"", "\"name\":\"old\",\"drift\":{\"status\":\"moved\"}",
         "change 2 of the plan: a drift `status` is not \"changed\" or \"gone\""},
        {"\"serial\":7", "\"serial\":7,\"env\":1", "its state has a field `env` this moksha does not know"},
        {"\"action\":\"delete\",\"before\":{\"id\"", "\"action\":\"remove\",\"before\":{\"id\"",
         "change 2 of the plan: `action` is not create, update, replace, delete, import or move"},
        {"\"risk\":\"medium\"", "\"risk\":\"severe\"", "change 3 of the plan: `risk` is not low, medium or high"},
        {"\"action\":\"delete\",\"before\":{\"id\"", "\"action\":\"move\",\"before\":{\"id\"",
         "change 2 of the plan: a move has no `moved_from`"},
        {"\"action\":\"delete\",\"before\":{\"id\"", "\"action\":\"import\",\"before\":{\"id\"",
         "change 2 of the plan: an import has no `import`"},
        {"\"action\":\"delete\",\"before\":{\"id\"", "\"action\":\"import\",\"import\":{},\"before\":{\"id\"",
         "change 2 of the plan: `import` has no `id`"},
        {"\"delta\":\"-12.50\"", "\"delta\":-12.5", "change 2 of the plan: `delta` is not an amount of money"},
        {",\"delta\":\"-12.50\"", "", "change 2 of the plan: `delta` is not an amount of money"}, /* no monthly to be */
        {"\"risk\":\"medium\"", "\"risk\":null", "change 3 of the plan: `risk` is not low, medium or high"},
        {"\"address\":\"bucket.old\"", "\"id\":0,\"address\":\"bucket.old\"", "change 2 of the plan: `id` is not a change id"},
        {"\"applied\":\"110.39\"", "\"applied\":\"$110.39\"", "the plan: `applied` is not an amount of money"},
        {"\"depends_on\":[3]", "\"depends_on\":[\"3\"]", "change 1 of the plan: `depends_on` holds something other than change ids"},
        {"\"changed\":[\"cpu\",\"memory\"]", "\"changed\":[\"cpu\",7]", "change 1 of the plan: `changed` holds something other than names"},
        {",\"type\":\"bucket\"", "", "change 2 of the plan: `type` is missing"},
        {",\"cost\":null", "", "change 3 of the plan: `cost` is missing"},
        {"\"stack\":\"full\"", "\"stack\":5", "the plan: `stack` is not a string"},
        {"\"format\":\"moksha.plan/v1\"", "\"format\":\"moksha.plan/v2\"", "not a moksha.plan/v1 document"},
        {"\"irreversible\":true", "\"irreversible\":1", "change 2 of the plan: `irreversible` is not true or false"},
        {"\"action\":\"replace\"", "\"action\":\"update\",\"irreversible\":true",
         "change 1 of the plan: only a delete or a replace is `irreversible`"},
    };
    json_t *doc = full_plan();
    char *full = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[8192], why[256] = "";
        char *at = strstr(full, cases[i].from);
        assert_non_null(at);
        snprintf(text, sizeof text, "%.*s%s%s", (int)(at - full), full, cases[i].to, at + strlen(cases[i].from));
        doc = json_loads(text, 0, NULL);
        assert_non_null(doc);
        assert_null(mk_planfile_read(doc, why, sizeof why));
        assert_non_null(strstr(why, cases[i].said));
        json_decref(doc);
    }
    free(full);
}

/* The approvals work's fields (docs/formats.md): taken when well made,
 * refused by their shape otherwise, before any of the plan is believed. */
static void test_trust_fields_shape(void **state)
{
    (void)state;
    char why[256];
    mk_key k;
    project_key(&k);
    static const char *const H32 = "0123456789abcdef0123456789abcdef";
    static const char *const H64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    for (int i = 0; i < 8; i++) {
        json_t *p = sample_plan(&k);
        json_t *gate = json_pack("{s:i, s:s, s:s, s:n, s:n, s:i}", "id", 1, "policy", "p", "group", "sre", "message",
                                 "address", "count", i == 1 ? 17 : 2);
        json_t *waived = json_pack("[{s:s, s:s, s:s, s:s, s:s}]", "address", "compute.web[0]", "message", "m", "waiver",
                                   i == 2 ? "XYZ" : H32, "by", "0123456789abcdef", "expires", "2026-12-03T19:00:00Z");
        json_t *res = json_pack("{s:s, s:s, s:s, s:o, s:o}", "name", "p", "enforcement", "soft", "status", "pass",
                                "override_by", i == 3 ? json_integer(1) : json_string("finops"), "waived", waived);
        json_object_set_new(p, "gates", json_pack("[o]", gate));
        json_object_set_new(p, "policies", json_pack("[o]", res));
        json_object_set_new(p, "policy_packs", i == 4 ? json_pack("[{s:s, s:s}]", "name", "policies/x", "digest", "00")
                                               : i == 5 ? json_string("no")
                                               : json_pack("[{s:s, s:s}]", "name", "policies/x", "digest", H64));
        json_object_set_new(p, "waivers", i == 6 ? json_pack("[{s:s}]", "format", "moksha.approval/v1")
                                          : i == 7 ? json_pack("{}")
                                          : json_pack("[{s:s, s:s, s:{}}]", "format", "moksha.approval/v1", "payload", "{}",
                                                      "signature"));
        char *text = sign_raw(p, &k);
        write_text(text);
        setenv("MOKSHA_KEY", KEY_A, 1);
        mk_planfile_key ek;
        assert_true(mk_planfile_key_load(&ek, "/nonexistent", why, sizeof why));
        json_t *got = NULL;
        mk_planfile_status st = mk_planfile_load(path, &ek, &got, why, sizeof why);
        static const char *const said[] = {NULL, "gate's `count`", "`waived` entry", "`override_by`",
                                           "`policy_packs` entry", "`policy_packs` is not a list",
                                           "`waivers` entry", "`waivers` is not a list"};
        if (i == 0) {
            assert_int_equal(st, MK_PLANFILE_OK);
            assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(got, "gates"), 0), "count")), 2);
        } else {
            assert_int_equal(st, MK_PLANFILE_NOT_A_PLAN);
            assert_non_null(strstr(why, said[i]));
        }
        json_decref(got);
        free(text);
        json_decref(p);
    }
}

/* note [plan fields]: a signed plan with a field this executor does not
 * know (a newer moksha's) is refused, never half-read. */
static void test_unknown_field_refused(void **state)
{
    (void)state;
    char why[256];
    mk_key k;
    project_key(&k);
    for (int i = 0; i < 3; i++) {
        json_t *p = sample_plan(&k);
        json_t *in = i == 0 ? p : i == 1 ? json_array_get(json_object_get(p, "changes"), 0) : json_object_get(p, "state");
        json_object_set_new(in, "environment", json_string("prod"));
        char *text = sign_raw(p, &k);
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
        /* moksha show refuses it the same way, and the compiler writes no such plan */
        json_t *doc = json_loads(text, 0, NULL);
        assert_false(mk_planfile_verify(doc, path, &k, why, sizeof why));
        assert_non_null(strstr(why, "this moksha does not know"));
        assert_null(mk_planfile_sign(p, &k));
        json_decref(doc);
        free(text);
        json_decref(p);
    }
}

/* docs/drift.md: the fields of plans that show drift — observed, drift,
 * a change's drift, import and moved_from — are the executor's to read;
 * a field beside them that it does not know is still refused. */
static void test_executor_takes_drift_fields(void **state)
{
    (void)state;
    mk_key k;
    project_key(&k);
    for (int i = 0; i < 2; i++) {
        json_t *p = sample_plan(&k), *ch = json_array_get(json_object_get(p, "changes"), 0);
        json_object_set_new(p, "observed", json_pack("{s:s, s:i, s:[s]}", "at", "2026-12-01T20:00:00Z", "serial", 3,
                                                     "unreadable", "queue.jobs"));
        json_object_set_new(p, "drift", json_pack("[{s:s, s:s, s:s}]", "address", "compute.web[0]", "type", "compute",
                                                  "status", "gone"));
        json_object_set_new(ch, "drift", json_pack("{s:s, s:[]}", "status", "gone", "attributes"));
        json_object_set_new(ch, "import", json_pack("{s:s}", "id", "i-0abc"));
        json_object_set_new(ch, "moved_from", json_string("compute.old"));
        json_object_set_new(ch, "lifecycle", json_pack("{s:[s], s:s}", "ignore_changes", "tags", "drift", "report"));
        if (i == 1)
            json_object_set_new(ch, "drifted", json_true());
        char *text = sign_raw(p, &k);
        write_text(text);
        json_t *got;
        assert_int_equal(load(KEY_A, &got), i == 0 ? MK_PLANFILE_OK : MK_PLANFILE_UNKNOWN_FIELD);
        if (i == 0) {
            json_t *gc = json_array_get(json_object_get(got, "changes"), 0);
            assert_string_equal(json_string_value(json_object_get(gc, "moved_from")), "compute.old");
            assert_string_equal(json_string_value(json_object_get(json_object_get(gc, "import"), "id")), "i-0abc");
            assert_int_equal(json_integer_value(json_object_get(json_object_get(got, "observed"), "serial")), 3);
        }
        json_decref(got);
        free(text);
        json_decref(p);
    }
}

/* A change's `irreversible` (a delete or replace of a @stateful type) is
 * the executor's to read, as true or false on a delete or a replace only:
 * a plan saying it of anything else, or with another value, is refused
 * before any step (it orders and undoes steps by it). */
static void test_executor_takes_irreversible(void **state)
{
    (void)state;
    mk_key k;
    project_key(&k);
    static const struct { const char *action; json_t *(*value)(void); mk_planfile_status want; const char *said; } cases[] = {
        {"delete", json_true, MK_PLANFILE_OK, NULL},
        {"replace", json_true, MK_PLANFILE_OK, NULL},
        {"delete", json_false, MK_PLANFILE_OK, NULL},
        {"create", json_true, MK_PLANFILE_NOT_A_PLAN, "the create of compute.web[0] has `irreversible` true, which only"},
        {"delete", json_null, MK_PLANFILE_NOT_A_PLAN, "an `irreversible` that is not true or false"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *p = sample_plan(&k), *ch = json_array_get(json_object_get(p, "changes"), 0);
        json_object_set_new(ch, "action", json_string(cases[i].action));
        json_object_set_new(ch, "before", json_pack("{s:i}", "cpu", 1));
        json_object_set_new(ch, "irreversible", cases[i].value());
        char *text = sign_raw(p, &k);
        write_text(text);
        setenv("MOKSHA_KEY", KEY_A, 1);
        mk_planfile_key ek;
        char why[512] = "";
        assert_true(mk_planfile_key_load(&ek, "/nonexistent", why, sizeof why));
        json_t *got;
        assert_int_equal(mk_planfile_load(path, &ek, &got, why, sizeof why), cases[i].want);
        if (cases[i].said)
            assert_non_null(strstr(why, cases[i].said));
        else
            assert_int_equal(mk_planfile_irreversible(json_array_get(json_object_get(got, "changes"), 0)),
                             json_is_true(json_object_get(ch, "irreversible")));
        json_decref(got);
        free(text);
        json_decref(p);
    }
    json_t *none = json_pack("{s:s}", "action", "delete"); /* absent: false */
    assert_false(mk_planfile_irreversible(none));
    json_decref(none);
}

/* The executor takes a change's `via` only when the plan's providers say
 * it of the change's block: a plan showing "via s3 store" for a step bound
 * elsewhere is refused. */
static void test_executor_takes_via(void **state)
{
    (void)state;
    mk_key k;
    project_key(&k);
    static const struct { const char *provider, *via; mk_planfile_status want; } cases[] = {
        {"store", "s3", MK_PLANFILE_OK},
        {"store", NULL, MK_PLANFILE_OK},
        {"store", "azure_blob", MK_PLANFILE_NOT_A_PLAN},
        {"sim", "s3", MK_PLANFILE_NOT_A_PLAN},
        {NULL, "s3", MK_PLANFILE_NOT_A_PLAN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *p = sample_plan(&k), *ch = json_array_get(json_object_get(p, "changes"), 0);
        json_object_set_new(p, "providers", json_pack("{s:{s:s, s:{}}, s:{s:s, s:{s:s}}}", "sim", "type", "sim", "settings",
                                                      "store", "type", "s3", "settings", "connection", "minio"));
        json_object_set_new(ch, "type", json_string("bucket"));
        if (cases[i].provider)
            json_object_set_new(ch, "provider", json_string(cases[i].provider));
        if (cases[i].via)
            json_object_set_new(ch, "via", json_string(cases[i].via));
        char *text = sign_raw(p, &k);
        write_text(text);
        setenv("MOKSHA_KEY", KEY_A, 1);
        mk_planfile_key ek;
        char why[512] = "";
        assert_true(mk_planfile_key_load(&ek, "/nonexistent", why, sizeof why));
        json_t *got = NULL;
        assert_int_equal(mk_planfile_load(path, &ek, &got, why, sizeof why), cases[i].want);
        if (cases[i].want != MK_PLANFILE_OK)
            assert_non_null(strstr(why, "has a `via` that is not the kind of its provider block: refused"));
        json_decref(got);
        free(text);
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
                          "s:{s:s, s:s}, s:s, s:n, s:n}], s:{s:i, s:i, s:i, s:i, s:i}}",
        "format", "moksha.plan/v1", "stack", "demo", "inputs_digest", "00", "state", "stack_id",
        "0123456789abcdef0123456789abcdef", "lineage", "", "serial", 0, "providers", "local", "type", "local",
        "settings", "root", "out", "changes", "id", 1, "address", "local.file.a", "type", "local.file", "name", "a",
        "provider", "local", "action", "create", "after", "path", "a.txt", "content", "hi", "risk", "low", "cost",
        "placement", TOTALS);
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

/* `plan -o FILE` replaces only a plan, known by its first bytes: the file
 * and `--format json` both begin with their format. */
static void test_only_a_plan_is_replaced(void **state)
{
    (void)state;
    static const struct { const char *text; bool ok; } cases[] = {
        {"", true},
        {"{\"format\":\"moksha.plan/v1\",\"stack\":\"s\"", true},
        {"{\n  \"format\": \"moksha.plan/v1\",\n  \"stack\": \"s\"\n}\n", true},
        {"{\"changes\":[],\"format\":\"moksha.plan/v1\"}", false},
        {"{\"format\":\"moksha.state/v1\"}", false},
        {"{\"format\":\"moksha.plan/v1", false},
        {"# README\n", false},
        {"resource network main {}\n", false},
    };
    char why[512];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_text(cases[i].text);
        assert_int_equal(mk_planfile_target_ok(path, why, sizeof why), cases[i].ok);
        if (!cases[i].ok)
            assert_non_null(strstr(why, "exists and is not a plan file"));
    }
    assert_true(mk_planfile_target_ok("/tmp/mk-plan-no-such-file.plan", why, sizeof why));
}

/* The stack of test_made_and_saved_alike: every kind of value a plan shows. */
static const char MADE_STACK[] =
    "stack made { env = \"prod\" }\n"
    "var db_password: secret\n"
    "provider local { root = \".moksha/out\" }\n"
    "provider sim { latency = 1ms }\n"
    "resource network main {\n  cidr = \"10.0.0.0/16\"\n  tags = { team = \"web\", \"odd key\" = \"a \\\"q\\\"\" }\n}\n"
    "resource compute web {\n  count = 2\n  cpu = 2\n  memory = 4GiB\n  image = \"nginx:1.27\"\n"
    "  network = network.main\n  tags = { index = \"${count.index}\" }\n}\n"
    "resource database orders {\n  engine = \"postgres\"\n  version = \"16\"\n  cpu = 2\n  memory = 8GiB\n"
    "  storage = 100GiB\n  backup_retention = 7d\n  password = var.db_password\n}\n"
    "resource local.file motd {\n  path = \"motd.txt\"\n  content = \"db ${database.orders.id}\\n\"\n}\n"
    "output web = [for w in compute.web: w.id]\n";

/* A plan just made (its after from the instances' values) and the same
 * plan saved and read back (its after the file's JSON) render the same
 * text and markdown, and the saved one is written again as it was. */
static void test_made_and_saved_alike(void **state)
{
    (void)state;
    char dir[] = "/tmp/mk-plan-made-XXXXXX", cwd[4096], why[256];
    assert_non_null(mkdtemp(dir));
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    mk_test_write(".", "main.moksha", MADE_STACK);
    const char *vars[] = {"db_password=hunter2"};
    mk_pipeline_req r = {.var_flags = vars, .nvar_flags = 1};
    mk_planned pl;
    assert_true(mk_pipeline_plan(&r, &pl, true));
    assert_non_null(pl.model->changes[0].in);
    json_t *doc = json_loads(pl.text, 0, NULL);
    mk_plan *saved = mk_planfile_read(doc, why, sizeof why);
    assert_non_null(saved);
    assert_null(saved->changes[0].in);
    mk_buf made = {0}, back = {0};
    mk_render_text(pl.model, &made, false);
    mk_render_markdown(pl.model, &made);
    mk_render_text(saved, &back, false);
    mk_render_markdown(saved, &back);
    assert_string_equal(mk_buf_cstr(&back), mk_buf_cstr(&made));
    assert_non_null(strstr(mk_buf_cstr(&made), "        password            = (sensitive)\n"));
    assert_non_null(strstr(mk_buf_cstr(&made), "        content = (known after apply)\n"));
    assert_non_null(strstr(mk_buf_cstr(&made), "        tags = { team = \"web\", \"odd key\" = \"a \\\"q\\\"\" }\n"));
    assert_non_null(strstr(mk_buf_cstr(&made), "        network     = network.main\n"));
    back.len = 0;
    mk_planfile_emit(saved, &pl.key, true, &back);
    assert_string_equal(mk_buf_cstr(&back), pl.text);
    mk_buf_free(&made);
    mk_buf_free(&back);
    mk_plan_free(saved);
    json_decref(doc);
    mk_pipeline_planned_free(&pl);
    assert_int_equal(chdir(cwd), 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
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
        cmocka_unit_test_setup_teardown(test_read_and_rewritten_identical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_omitted_fields_read_as_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_via_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_written_placement_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_and_move_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_field_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_executor_takes_drift_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_executor_takes_irreversible, setup, teardown),
        cmocka_unit_test_setup_teardown(test_executor_takes_via, setup, teardown),
        cmocka_unit_test_setup_teardown(test_executor_reads_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_a_plan_is_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_made_and_saved_alike, setup, teardown),
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
        cmocka_unit_test_setup_teardown(test_planner_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trust_fields_shape, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
