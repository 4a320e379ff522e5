/* boundary (runtime/boundary.h): the executor's risk floor agrees with the
 * compiler's risk classes (docs/policies.md, "Risk classes") for every
 * stdlib type and action, and its type table with the stdlib's @stateful
 * marks; a tag-only update is low only when the state says so, a secret
 * compares by its fingerprint, the state's type counts; a boundary is
 * described as verify says it; against a loaded trust file, the check
 * names each limit crossed (cost to the millionth, changes, type, risk,
 * environment, window, an unknown label), a missing pack is named and a
 * required gate is added before the change it matches. */
#include "tests/unit/unit.h"

#include <dirent.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sys/stat.h>

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

/* ---- the check, against a trust file loaded as the executor loads it ---- */

static EVP_PKEY *root, *bot;
static char root_pub[53], bot_pub[53], tdir[64];

static void pub_of(EVP_PKEY *k, char out[53])
{
    uint8_t raw[32];
    size_t n = 32;
    assert_int_equal(EVP_PKEY_get_raw_public_key(k, raw, &n), 1);
    memcpy(out, "ed25519:", 8);
    EVP_EncodeBlock((unsigned char *)out + 8, raw, 32);
}

/* The trust file whose bot has boundary b and whose environments are envs,
 * signed by the root and loaded; who is bot. */
static mk_trust *trust_with(const char *b, const char *envs, mk_trust_who *who)
{
    char payload[4096], why[1024], sig[89], bob_pub[53];
    EVP_PKEY *bob = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    pub_of(bob, bob_pub);
    EVP_PKEY_free(bob);
    snprintf(payload, sizeof payload,
             "{\"version\":1,\"expires\":\"2099-01-01T00:00:00Z\",\"roots\":{\"threshold\":1,\"keys\":[\"%s\"]},"
             "\"automation\":{\"bot\":{\"key\":\"%s\",\"boundary\":%s}},\"approvers\":{\"bob\":\"%s\"},"
             "\"groups\":{\"sre\":[\"bob\"]},\"environments\":%s}", root_pub, bot_pub, b, bob_pub, envs);
    size_t pn = sizeof "moksha-signature/v1", tn = sizeof "trust", n = strlen(payload), slen = 64;
    uint8_t msg[8192], raw[64];
    memcpy(msg, "moksha-signature/v1", pn);
    memcpy(msg + pn, "trust", tn);
    memcpy(msg + pn + tn, payload, n);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, root), 1);
    assert_int_equal(EVP_DigestSign(md, raw, &slen, msg, pn + tn + n), 1);
    EVP_MD_CTX_free(md);
    EVP_EncodeBlock((unsigned char *)sig, raw, 64);
    json_t *env = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "format", "moksha.trust/v1", "payload", payload, "signatures", "key",
                            root_pub, "value", sig);
    mk_config_trust cfg = {.on = true, .threshold = 1, .nroots = 1};
    snprintf(cfg.file, sizeof cfg.file, "%s/trust.json", tdir);
    snprintf(cfg.keys, sizeof cfg.keys, "%s/keys", tdir);
    cfg.roots[0] = root_pub;
    assert_int_equal(json_dump_file(env, cfg.file, 0), 0);
    json_decref(env);
    mk_trust *t = mk_trust_load(&cfg, (time_t)1800000000, false, why, sizeof why);
    if (!t)
        fail_msg("refused: %s", why);
    uint8_t key[32];
    assert_true(mk_trust_key_parse(bot_pub, key));
    mk_trust_lookup(t, key, who);
    assert_true(who->roles & MK_TRUST_AUTOMATION);
    return t;
}

static int check_setup(void **state)
{
    (void)state;
    root = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    bot = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    pub_of(root, root_pub), pub_of(bot, bot_pub);
    mk_test_tmpdir(tdir, "/tmp/mk-boundary-XXXXXX");
    char keys[128];
    snprintf(keys, sizeof keys, "%s/keys", tdir);
    assert_int_equal(mkdir(keys, 0700), 0);
    return 0;
}

static int check_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(root), EVP_PKEY_free(bot);
    mk_test_rmdir(tdir);
    return 0;
}

/* The reason of change id (NULL: the first plan-wide one). */
static const char *reason_of(json_t *r, const char *id)
{
    return id ? json_string_value(json_object_get(json_object_get(r, "changes"), id))
              : json_string_value(json_array_get(json_object_get(r, "plan"), 0));
}

static void test_check(void **state)
{
    (void)state;
    mk_trust_who who;
    mk_trust *t = trust_with("{\"environments\":[\"dev\"],\"max_cost_increase\":\"50.00\",\"max_changes\":2,\"types\":[\"compute\",\"bucket\"],"
                             "\"actions\":[\"create\",\"update\"]}",
                             "{\"prod\":{\"policy_packs\":[\"" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" "\"],"
                             "\"gates\":{\"d\":{\"group\":\"sre\",\"actions\":[\"delete\"]}}}}", &who);
    json_t *plan = json_loads("{\"env\":\"dev\",\"cost\":{\"delta\":\"50.000001\",\"unpriced\":0},\"changes\":["
                              "{\"id\":1,\"address\":\"compute.a\",\"type\":\"compute\",\"action\":\"create\"},"
                              "{\"id\":2,\"address\":\"network.n\",\"type\":\"network\",\"action\":\"create\"},"
                              "{\"id\":3,\"address\":\"bucket.b\",\"type\":\"bucket\",\"action\":\"delete\",\"risk\":\"low\"}]}", 0, NULL);
    json_t *r = mk_boundary_check(t, &who, plan, NULL, (time_t)1800000000);
    assert_string_equal(reason_of(r, NULL), "the plan adds $50.000001 a month, above the boundary's max_cost_increase $50.00");
    assert_string_equal(json_string_value(json_array_get(json_object_get(r, "plan"), 1)),
                        "the plan has 3 changes, above the boundary's max_changes 2");
    assert_null(reason_of(r, "1"));
    assert_string_equal(reason_of(r, "2"), "type network is not one of the boundary's types (compute, bucket)");
    assert_string_equal(reason_of(r, "3"), "a delete of bucket (a @stateful type) is high risk, above the boundary's max_risk low");
    json_decref(r);
    json_object_set_new(plan, "env", json_string("prod"));
    json_object_set_new(json_object_get(plan, "cost"), "delta", json_string("50"));
    r = mk_boundary_check(t, &who, plan, NULL, (time_t)1800000000);
    assert_string_equal(reason_of(r, NULL), "environment prod is not one of the boundary's environments (dev)");
    json_decref(r);
    /* packs and required gates of prod */
    char why[1024];
    assert_false(mk_boundary_packs_ok(t, plan, why, sizeof why));
    assert_non_null(strstr(why, "the plan was not checked against the policy pack 0123456789abcdef"));
    json_object_set_new(plan, "policy_packs", json_pack("[{s:s, s:s}]", "name", "p", "digest",
                                                        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert_true(mk_boundary_packs_ok(t, plan, why, sizeof why));
    /* a policy_packs out of its shape is refused, whatever the trust file requires */
    json_t *bad[] = {json_string("x"), json_pack("[{s:s, s:s}]", "name", "p", "digest", "ABC"),
                     json_pack("[{s:s, s:s, s:b}]", "name", "p", "digest",
                               "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "extra", 1),
                     json_pack("[{s:i, s:s}]", "name", 1, "digest",
                               "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")};
    json_t *good = json_incref(json_object_get(plan, "policy_packs"));
    for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
        json_object_set_new(plan, "policy_packs", bad[b]);
        assert_false(mk_boundary_packs_ok(t, plan, why, sizeof why));
        assert_false(mk_boundary_packs_ok(NULL, plan, why, sizeof why));
        assert_non_null(strstr(why, b ? "the plan's `policy_packs[0]` is not {\"name\": TEXT, \"digest\": 64 lowercase hex}"
                                      : "the plan's `policy_packs` is not a list"));
    }
    json_object_set_new(plan, "policy_packs", good);
    mk_boundary_add_gates(t, plan, NULL);
    json_t *g = json_object_get(plan, "gates");
    assert_int_equal(json_array_size(g), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(g, 0), "policy")), "trust:d");
    assert_string_equal(json_string_value(json_object_get(json_array_get(g, 0), "address")), "bucket.b");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(g, 0), "change")), 3);
    assert_true(json_is_true(json_object_get(json_array_get(g, 0), "required")));
    json_decref(plan);
    mk_trust_free(t);
    /* the default boundary, a window, an unknown label */
    t = trust_with("{\"windows\":[{\"days\":[\"fri\"],\"from\":\"08:00\",\"to\":\"09:00\"}]}", "{}", &who);
    plan = json_loads("{\"changes\":[{\"id\":1,\"address\":\"compute.a\",\"type\":\"compute\",\"action\":\"create\",\"risk\":null}]}", 0, NULL);
    r = mk_boundary_check(t, &who, plan, NULL, (time_t)1800000000); /* Fri 2027-01-15 08:00 UTC: inside */
    assert_int_equal(json_array_size(json_object_get(r, "plan")), 0);
    assert_string_equal(reason_of(r, "1"), "its risk label is not low, medium or high: an unknown risk is above every max_risk");
    json_decref(r);
    r = mk_boundary_check(t, &who, plan, NULL, (time_t)1800000000 + 3600);
    assert_string_equal(reason_of(r, NULL), "now (fri 09:00 UTC) is outside the boundary's windows (fri 08:00-09:00, UTC)");
    json_decref(r);
    json_decref(plan);
    mk_trust_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_the_stdlibs),
        cmocka_unit_test(test_floor_agrees_with_compiler),
        cmocka_unit_test(test_floor_reads_the_state),
        cmocka_unit_test(test_describe),
        cmocka_unit_test_setup_teardown(test_check, check_setup, check_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
