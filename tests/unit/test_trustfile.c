/* trustfile (compiler/base/trustfile.h): expires read as RFC 3339 UTC to
 * the second; a payload of docs/trust.md's shape passes and each way out
 * of it is refused with the field named; a payload signed by two keys
 * verifies under each, and only as the text it was signed as. */
#include "tests/unit/unit.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/base/sign.h"
#include "compiler/base/trustfile.h"

#define K1 "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define K2 "ed25519:omYIZFgq+f2Rb6eNgKALEB/IIpkRkufVUnMh7Ms+FlA="
#define K3 "ed25519:B2hMfZehujhR1sf6qMTbvRuIzGconooWkRi+lghzKbs="
#define FIXED_PEM "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    mk_test_tmpdir(dir, "/tmp/mk-trust-XXXXXX");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mk_test_rmdir(dir);
    return 0;
}

static void test_time(void **state)
{
    (void)state;
    assert_int_equal(mk_trustfile_time("2027-06-01T00:00:00Z"), 1811808000LL);
    assert_int_equal(mk_trustfile_time("2028-02-29T23:59:59Z"), 1835481599LL);
    assert_int_equal(mk_trustfile_time("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(mk_trustfile_time("2027-02-29T00:00:00Z"), -1); /* not a leap year */
    assert_int_equal(mk_trustfile_time("2027-06-01T24:00:00Z"), -1);
    assert_int_equal(mk_trustfile_time("2027-06-01T00:00:00+00:00"), -1);
    assert_int_equal(mk_trustfile_time("2027-06-01T00:00:00.5Z"), -1);
    assert_int_equal(mk_trustfile_time("2027-06-01 00:00:00Z"), -1);
    assert_int_equal(mk_trustfile_time(""), -1);
}

/* The payload of docs/trust.md, with one field replaced by edit (a JSON
 * fragment after the roots, or NULL). */
static const char *checked(const char *roots, const char *extra, char *why, size_t n)
{
    char text[2048];
    snprintf(text, sizeof text, "{\"version\":3,\"expires\":\"2027-06-01T00:00:00Z\",\"roots\":%s%s%s}",
             roots ? roots : "{\"threshold\":2,\"keys\":[\"" K1 "\",\"" K2 "\"]}", extra ? "," : "", extra ? extra : "");
    json_t *p = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(p);
    bool ok = mk_trustfile_check(p, why, n);
    json_decref(p);
    return ok ? NULL : why;
}

static void test_check(void **state)
{
    (void)state;
    char why[512];
    assert_string_equal(checked(NULL, "\"automation\":{\"bot\":{\"key\":\"" K3 "x\",\"boundary\":{}}}", why, sizeof why),
                        "`automation.bot.key` is not an Ed25519 public key (ed25519: and the base64 of 32 bytes, as a "
                        ".pub file has it)");
    assert_null(checked(NULL, "\"planners\":{\"ci\":\"" K3 "\"},\"approvers\":{\"bob\":\"" K3
                        "\"},\"groups\":{\"sre\":[\"bob\"]},\"revoked\":[\"" K3 "\"]", why, sizeof why));
    /* a root leaves by leaving `roots`, as the executor says too */
    assert_string_equal(checked(NULL, "\"revoked\":[\"" K2 "\"]", why, sizeof why),
                        "the key " K2 " is both a root and revoked: a root is retired by leaving `roots` (which needs "
                        "both thresholds), not by revoking it");
    assert_string_equal(checked("{\"threshold\":3,\"keys\":[\"" K1 "\",\"" K2 "\"]}", NULL, why, sizeof why),
                        "`roots.threshold` is not a number from 1 to the 2 roots listed");
    assert_string_equal(checked(NULL, "\"planners\":{\"ci\":\"" K1 "\"}", why, sizeof why),
                        "the key " K1 " is a root's and a planner's: a root key signs trust files only");
    assert_string_equal(checked(NULL, "\"groups\":{\"sre\":[\"bob\"]}", why, sizeof why),
                        "`groups.sre[0]` (bob) is not an approver: list it under `approvers` first");
    assert_null(checked(NULL, "\"automation\":{\"bot\":{\"key\":\"" K3 "\"}}", why, sizeof why));
    assert_string_equal(checked(NULL, "\"automation\":{\"bot\":{\"key\":\"" K3 "\",\"boundary\":{\"risk\":\"high\"}}}",
                                why, sizeof why),
                        "`automation.bot.boundary` has a field `risk` a trust file does not have");
    assert_string_equal(checked(NULL, "\"automation\":{\"bot\":{\"key\":\"" K3 "\"}},\"approvers\":{\"bob\":\"" K3 "\"}",
                                why, sizeof why),
                        "the key " K3 " is both an automation identity's and an approver's: an automation identity "
                        "never approves; give the approver a key of their own");
    assert_string_equal(checked(NULL, "\"approvers\":{\"bob\":\"" K2 "\"}", why, sizeof why),
                        "the key " K2 " is a root's and an approver's: a root key signs trust files only");
    assert_string_equal(checked(NULL, "\"approvers\":{\"bob\":\"" K3 "\"},\"groups\":{\"sre\":[]}", why, sizeof why),
                        "`groups.sre` is not a list of one or more approvers' names");
    assert_string_equal(checked(NULL, "\"approvers\":{\"a\":\"" K3 "\",\"b\":\"" K3 "\"}", why, sizeof why),
                        "`approvers.b`: the key " K3 " is listed twice");
    assert_string_equal(checked(NULL, "\"groups\":{}, \"roles\":{}", why, sizeof why),
                        "the payload has a field `roles` a trust file does not have");
    char long_name[256];
    snprintf(long_name, sizeof long_name, "\"planners\":{\"%065d\":\"%s\"}", 0, K3);
    assert_string_equal(checked(NULL, long_name, why, sizeof why),
                        "planners: `0000000000000000000000000000000000000000000000000000000000000000` is not a name "
                        "([a-z0-9][a-z0-9_-]*, at most 64 characters)");
    assert_string_equal(checked("{\"threshold\":1,\"keys\":[]}", NULL, why, sizeof why),
                        "`roots.keys` is not a list of 1 to 16 keys");
}

/* The part 2 fields (docs/trust.md, "Autonomy boundaries", "Rules per
 * environment", "Break glass"), as the executor takes them. */
#define BOT "\"automation\":{\"bot\":{\"key\":\"" K3 "\",\"boundary\":"
#define SRE "\"approvers\":{\"bob\":\"ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"eve\":\"ed25519:AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}," \
    "\"groups\":{\"sre\":[\"bob\",\"eve\"],\"solo\":[\"bob\"]}"
static void test_boundaries(void **state)
{
    (void)state;
    char why[512];
    assert_null(checked(NULL, BOT "{\"max_risk\":\"medium\",\"types\":[\"compute\",\"postgres.role\"],\"actions\":[\"create\"],"
                        "\"environments\":[\"dev\",\"\"],\"max_cost_increase\":\"50.00\",\"max_changes\":20,"
                        "\"windows\":[{\"days\":[\"mon\",\"fri\"],\"from\":\"08:00\",\"to\":\"24:00\"}]}}}," SRE
                        ",\"environments\":{\"prod\":{\"policy_packs\":[\"0123456789abcdef0123456789abcdef0123456789abcdef"
                        "0123456789abcdef\"],\"gates\":{\"d\":{\"group\":\"sre\",\"actions\":[\"delete\"],\"min_risk\":\"high\"}}}},"
                        "\"break_glass\":{\"group\":\"sre\",\"count\":2}", why, sizeof why) ? why : NULL);
    assert_string_equal(checked(NULL, BOT "{\"max_risk\":\"extreme\"}}}", why, sizeof why),
                        "`automation.bot.boundary.max_risk` is not \"low\", \"medium\" or \"high\"");
    assert_string_equal(checked(NULL, BOT "{\"actions\":[\"destroy\"]}}}", why, sizeof why),
                        "`automation.bot.boundary.actions[0]` is not one of create, update, delete, replace, import, move");
    assert_string_equal(checked(NULL, BOT "{\"types\":[\"compute\",\"compute\"]}}}", why, sizeof why),
                        "`automation.bot.boundary.types` lists `compute` twice");
    assert_string_equal(checked(NULL, BOT "{\"max_cost_increase\":\"$50\"}}}", why, sizeof why),
                        "`automation.bot.boundary.max_cost_increase` is not US dollars a month as money text, \"50.00\"");
    assert_string_equal(checked(NULL, BOT "{\"windows\":[{\"days\":[\"mon\"],\"from\":\"18:00\",\"to\":\"09:00\"}]}}}", why,
                                sizeof why),
                        "`automation.bot.boundary.windows[0]`: `from` is not before `to`: a window lies within one day "
                        "(split one across midnight in two)");
    assert_string_equal(checked(NULL, SRE ",\"environments\":{\"prod\":{\"gates\":{\"d\":{\"group\":\"solo\",\"count\":2}}}}", why,
                                sizeof why),
                        "`environments.prod.gates.d.count` is 2, but group solo has 1 member: it could never open");
    assert_string_equal(checked(NULL, SRE ",\"environments\":{\"prod\":{\"policy_packs\":[\"ABC\"]}}", why, sizeof why),
                        "`environments.prod.policy_packs[0]` is not one of policy packs' digests (`moksha policy digest DIR`)");
    assert_string_equal(checked(NULL, SRE ",\"break_glass\":{\"group\":\"sre\",\"count\":1}", why, sizeof why),
                        "`break_glass.count` is not a whole number from 2 to 16: breaking the glass takes two people");
    assert_string_equal(checked(NULL, SRE ",\"break_glass\":{\"group\":\"oncall\"}", why, sizeof why),
                        "`break_glass.group` is not a group of `groups`");
}

/* The executor's bounds: a version any JSON reader holds exactly, and at
 * most 4096 revoked keys (runtime/trust.c refuses more, so no root signs
 * them). */
static void test_bounds(void **state)
{
    (void)state;
    char why[512];
    json_t *p = json_pack("{s:I, s:s, s:{s:i, s:[s]}}", "version", (json_int_t)1 << 53, "expires",
                          "2099-01-01T00:00:00Z", "roots", "threshold", 1, "keys", K1);
    assert_true(mk_trustfile_check(p, why, sizeof why));
    json_object_set_new(p, "version", json_integer(((json_int_t)1 << 53) + 1));
    assert_false(mk_trustfile_check(p, why, sizeof why));
    assert_string_equal(why, "`version` is not a whole number from 1 to 2^53");
    json_object_set_new(p, "version", json_integer(1));
    json_t *revoked = json_array();
    for (uint32_t i = 0; i < 4097; i++) {
        uint8_t raw[32] = {(uint8_t)(i >> 8), (uint8_t)i, 1};
        char text[53] = "ed25519:";
        EVP_EncodeBlock((unsigned char *)text + 8, raw, 32);
        json_array_append_new(revoked, json_string(text));
    }
    json_object_set_new(p, "revoked", revoked);
    assert_false(mk_trustfile_check(p, why, sizeof why));
    assert_string_equal(why, "`revoked` is not a list of at most 4096 keys");
    json_array_remove(revoked, 4096);
    assert_true(mk_trustfile_check(p, why, sizeof why));
    json_decref(p);
}

/* A payload under 1 MiB whose envelope, its quotes escaped, is over it:
 * no executor would read the file, so no root signs it. */
static void test_envelope_too_large(void **state)
{
    (void)state;
    char why[512], name[65], path[128];
    json_t *approvers = json_object(), *group = json_array(), *part = json_array();
    for (uint32_t i = 0; i < 3000; i++) {
        uint8_t raw[32] = {(uint8_t)(i >> 8), (uint8_t)i, 2};
        char text[53] = "ed25519:";
        EVP_EncodeBlock((unsigned char *)text + 8, raw, 32);
        snprintf(name, sizeof name, "%064u", i);
        json_object_set_new(approvers, name, json_string(text));
        json_array_append_new(group, json_string(name));
        if (i < 1000)
            json_array_append_new(part, json_string(name));
    }
    /* about 1,036,000 bytes, and 36,000 quotes to escape */
    json_t *p = json_pack("{s:i, s:s, s:{s:i, s:[s]}, s:o, s:{s:O, s:O, s:O, s:o}}", "version", 1, "expires",
                          "2099-01-01T00:00:00Z", "roots", "threshold", 1, "keys", K1, "approvers", approvers, "groups",
                          "a", group, "b", group, "c", group, "d", part);
    json_decref(group);
    snprintf(path, sizeof path, "%s/big.json", dir);
    assert_int_equal(json_dump_file(p, path, JSON_COMPACT), 0);
    json_decref(p);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(sb.st_size < (1 << 20));
    mk_trustfile t;
    assert_true(mk_trustfile_read(path, &t, why, sizeof why));
    mk_test_write(dir, "r.key", FIXED_PEM);
    snprintf(path, sizeof path, "%s/r.key", dir);
    chmod(path, 0600);
    struct evp_pkey_st *k = mk_sign_load(path, why, sizeof why);
    assert_non_null(k);
    assert_false(mk_trustfile_add(&t, k, why, sizeof why));
    assert_string_equal(why, "signed, its envelope would be larger than 1 MiB: no executor reads a trust file that large");
    assert_int_equal(json_array_size(t.signatures), 0);
    mk_sign_free(k);
    mk_trustfile_free(&t);
}

static void test_signed_twice(void **state)
{
    (void)state;
    char path[128], kp[128], why[512];
    mk_test_write(dir, "t.json", "{\"version\":1,\"expires\":\"2099-01-01T00:00:00Z\",\"roots\":{\"threshold\":1,"
                                 "\"keys\":[\"" K1 "\"]}}\n");
    mk_test_write(dir, "r.key", FIXED_PEM);
    snprintf(path, sizeof path, "%s/t.json", dir);
    snprintf(kp, sizeof kp, "%s/r.key", dir);
    chmod(kp, 0600);
    mk_trustfile t;
    assert_true(mk_trustfile_read(path, &t, why, sizeof why));
    assert_false(t.envelope);
    assert_string_equal(t.payload, "{\"version\":1,\"expires\":\"2099-01-01T00:00:00Z\",\"roots\":{\"threshold\":1,"
                                   "\"keys\":[\"" K1 "\"]}}");
    struct evp_pkey_st *key = mk_sign_load(kp, why, sizeof why);
    assert_true(mk_trustfile_add(&t, key, why, sizeof why));
    assert_false(mk_trustfile_add(&t, key, why, sizeof why));
    assert_string_equal(why, "it is signed by this key (21fe31dfa154a261) already: a key signs once");
    assert_int_equal(json_array_size(t.signatures), 1);
    assert_true(mk_trustfile_sig_ok(&t, 0));
    t.payload[12] = '2'; /* "version":2 — another text: the signature is not its */
    assert_false(mk_trustfile_sig_ok(&t, 0));
    mk_sign_free(key);
    mk_trustfile_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_boundaries),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test_setup_teardown(test_envelope_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signed_twice, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
