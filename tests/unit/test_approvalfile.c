/* approvalfile (compiler/base/approvalfile.h): an approval signed with a
 * fixed key reads back, verifies under type approval only and not once its
 * payload is touched; every shape docs/trust.md refuses is refused (unknown
 * and missing fields, duplicates, lifetimes, texts, ids, an envelope's
 * signature of another type or key id, a file over 64 KiB); a file is never
 * written over; the change and violations digests have the values their
 * definition gives (computed independently) and ignore what they must, and
 * the change digest is the executor's (runtime/approval.c) on the same
 * changes (skipped while the executor's is not there). */
#include "tests/unit/unit.h"

#include <sys/stat.h>
#include <unistd.h>

#include "compiler/base/approvalfile.h"
#include "compiler/base/mem.h"
#include "compiler/base/sign.h"
#include "runtime/approval.h"

#define FIXED_PEM "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n"
#define FIXED_PUB "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define FIXED_ID "21fe31dfa154a261"
#define ID32 "0123456789abcdef0123456789abcdef"
#define HEX64 "f57fb963b7783ab2c2c6bffc043e4133cd9e3650af3cd5e5bc8d8ac44aeffd74"

static char dir[64];
static struct evp_pkey_st *key;

static int setup(void **state)
{
    (void)state;
    char path[128], err[512];
    mk_test_tmpdir(dir, "/tmp/mk-approvalfile-XXXXXX");
    mk_test_write(dir, "a.key", FIXED_PEM);
    snprintf(path, sizeof path, "%s/a.key", dir);
    assert_int_equal(chmod(path, 0600), 0);
    key = mk_sign_load(path, err, sizeof err);
    assert_non_null(key);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mk_sign_free(key);
    mk_test_rmdir(dir);
    return 0;
}

static json_t *gate_payload(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:n, s:s, s:[{s:s, s:s}]}]}", "kind", "gate", "id",
                     ID32, "stack_id", ID32, "env", "prod", "issued", "2026-12-02T19:00:00Z", "expires",
                     "2026-12-03T19:00:00Z", "reason", "reviewed in #42", "gates", "policy", "destroys", "address",
                     "group", "sre", "changes", "address", "db.main", "digest", HEX64);
}

/* The envelope of p signed with the fixed key (mk_mem_free). */
static char *signed_text(json_t *p)
{
    mk_approvalfile a;
    char why[512];
    assert_true(mk_approvalfile_sign(p, key, &a, why, sizeof why));
    char *text = mk_approvalfile_envelope(&a);
    mk_approvalfile_free(&a);
    return text;
}

static bool parses(const char *text, char *why, size_t n)
{
    mk_approvalfile a;
    bool ok = mk_approvalfile_parse(text, strlen(text), "x.approval", &a, why, n);
    mk_approvalfile_free(&a);
    return ok;
}

static void test_round_trip(void **state)
{
    (void)state;
    json_t *p = gate_payload();
    char *text = signed_text(p);
    mk_approvalfile a;
    char why[512];
    assert_true(mk_approvalfile_parse(text, strlen(text), "x.approval", &a, why, sizeof why));
    assert_string_equal(a.kind, "gate");
    assert_string_equal(a.id, ID32);
    assert_string_equal(a.env, "prod");
    assert_string_equal(a.key, FIXED_PUB);
    assert_string_equal(a.key_id, FIXED_ID);
    assert_int_equal(a.expires - a.issued, 86400);
    assert_true(mk_sign_verify(FIXED_PUB, MK_SIGN_APPROVAL, a.payload, a.npayload, a.value));
    assert_false(mk_sign_verify(FIXED_PUB, MK_SIGN_PLAN, a.payload, a.npayload, a.value));
    char *again = mk_approvalfile_envelope(&a); /* read and written, the same bytes */
    assert_string_equal(again, text);
    mk_mem_free(again);
    mk_approvalfile_free(&a);
    /* the payload touched: the signature no longer verifies */
    char *at = strstr(text, "reviewed");
    at[0] = 'R';
    assert_false(parses(text, why, sizeof why));
    assert_non_null(strstr(why, "does not verify"));
    mk_mem_free(text);
    json_decref(p);
}

/* text (mk_mem_free'd) with its first `from` replaced by `to`. */
static char *swap(char *text, const char *from, const char *to)
{
    char *at = strstr(text, from);
    assert_non_null(at);
    size_t nf = strlen(from), nt = strlen(to), n = strlen(text);
    char *out = mk_mem_alloc(n - nf + nt + 1);
    memcpy(out, text, (size_t)(at - text));
    memcpy(out + (at - text), to, nt);
    strcpy(out + (at - text) + nt, at + nf);
    mk_mem_free(text);
    return out;
}

static void test_envelope_refused(void **state)
{
    (void)state;
    json_t *p = gate_payload();
    char why[512];
    char *text = swap(signed_text(p), "\"approval\"", "\"plan\"");
    assert_false(parses(text, why, sizeof why));
    assert_non_null(strstr(why, "signature.type"));
    mk_mem_free(text);
    text = swap(signed_text(p), FIXED_ID, "21fe31dfa154a260");
    assert_false(parses(text, why, sizeof why));
    assert_non_null(strstr(why, "key_id"));
    mk_mem_free(text);
    text = swap(signed_text(p), "\"format\"", "\"formal\"");
    assert_false(parses(text, why, sizeof why));
    mk_mem_free(text);
    text = swap(signed_text(p), "\"algorithm\": \"Ed25519\"", "\"algorithm\": \"Ed25519\", \"x\": 1");
    assert_false(parses(text, why, sizeof why));
    assert_non_null(strstr(why, "`x`"));
    mk_mem_free(text);
    text = swap(signed_text(p), "\"format\": \"moksha.approval/v1\"",
                "\"format\": \"moksha.approval/v1\", \"note\": \"\"");
    assert_false(parses(text, why, sizeof why));
    assert_non_null(strstr(why, "`note`"));
    mk_mem_free(text);
    assert_false(parses("{\"format\": \"moksha.approval/v1\", \"format\": \"moksha.approval/v1\"}", why, sizeof why));
    assert_false(parses("[]", why, sizeof why));
    assert_false(parses("{", why, sizeof why));
    /* over 64 KiB: refused before it is parsed */
    char *big = mk_mem_alloc(MK_APPROVALFILE_MAX + 2);
    memset(big, ' ', MK_APPROVALFILE_MAX + 1);
    big[0] = '{';
    big[MK_APPROVALFILE_MAX] = '}';
    big[MK_APPROVALFILE_MAX + 1] = 0;
    assert_false(parses(big, why, sizeof why));
    assert_non_null(strstr(why, "64 KiB"));
    mk_mem_free(big);
    json_decref(p);
}

/* p with field set to v (taken) fails the shape check, with why holding want. */
static void refused(const char *field, json_t *v, const char *want)
{
    json_t *p = gate_payload();
    char why[512] = "";
    if (v)
        json_object_set_new(p, field, v);
    else
        json_object_del(p, field);
    assert_false(mk_approvalfile_check(p, why, sizeof why));
    if (!strstr(why, want))
        fail_msg("%s: `%s` is not in: %s", field, want, why);
    json_decref(p);
}

static void test_payload_refused(void **state)
{
    (void)state;
    char why[512];
    json_t *p = gate_payload();
    assert_true(mk_approvalfile_check(p, why, sizeof why));
    json_object_set_new(p, "env", json_null()); /* a plan of no environment */
    assert_true(mk_approvalfile_check(p, why, sizeof why));
    json_decref(p);
    refused("extra", json_true(), "`extra`");
    refused("reason", NULL, "no `reason`");
    refused("kind", json_string("approve"), "`kind`");
    refused("id", json_string("0123456789ABCDEF0123456789abcdef"), "`id`");
    refused("stack_id", json_string("abc"), "`stack_id`");
    refused("env", json_string("global"), "`env`");
    refused("env", json_string("Prod"), "`env`");
    refused("issued", json_string("2026-12-02 19:00:00"), "`issued`");
    refused("expires", json_string("2026-12-02T19:00:00Z"), "not after");
    refused("expires", json_string("2026-12-09T19:00:01Z"), "7 days");
    refused("reason", json_string(""), "`reason`");
    refused("reason", json_string("two\nlines"), "`reason`");
    refused("gates", json_array(), "`gates`");
    refused("gates", json_pack("[{s:s, s:n, s:s, s:[]}]", "policy", "p", "address", "group", "sre", "changes"),
            "`changes`");
    refused("gates", json_pack("[{s:s, s:n, s:s, s:[{s:s, s:s}]}]", "policy", "p", "address", "group", "SRE",
                               "changes", "address", "a.b", "digest", HEX64),
            "`group`");
    refused("gates", json_pack("[{s:s, s:n, s:s, s:[{s:s, s:s}]}]", "policy", "p", "address", "group", "sre",
                               "changes", "address", "a.b", "digest", "00"),
            "digest");
    refused("gates", json_pack("[{s:s, s:s, s:[{s:s, s:s}]}]", "policy", "p", "group", "sre", "changes", "address",
                               "a.b", "digest", HEX64),
            "no `address`");
    /* a break glass lives 4 hours at most; the fields of each kind */
    p = json_pack("{s:s, s:s, s:s, s:n, s:s, s:s, s:s, s:s}", "kind", "break_glass", "id", ID32, "stack_id", ID32, "env",
                  "issued", "2026-12-02T19:00:00Z", "expires", "2026-12-02T23:00:00Z", "reason", "outage", "plan", HEX64);
    assert_true(mk_approvalfile_check(p, why, sizeof why));
    json_object_set_new(p, "expires", json_string("2026-12-02T23:00:01Z"));
    assert_false(mk_approvalfile_check(p, why, sizeof why));
    assert_non_null(strstr(why, "4 hours"));
    json_object_set_new(p, "expires", json_string("2026-12-02T20:00:00Z"));
    json_object_set_new(p, "gates", json_array()); /* another kind's field */
    assert_false(mk_approvalfile_check(p, why, sizeof why));
    json_decref(p);
    p = json_pack("{s:s, s:s, s:s, s:n, s:s, s:s, s:s, s:s}", "kind", "revoke", "id", ID32, "stack_id", ID32, "env",
                  "issued", "2026-12-02T19:00:00Z", "expires", "2026-12-02T23:00:00Z", "reason", "wrong", "revokes", HEX64);
    assert_false(mk_approvalfile_check(p, why, sizeof why)); /* an id is 32 digits */
    json_object_set_new(p, "revokes", json_string(ID32));
    assert_true(mk_approvalfile_check(p, why, sizeof why));
    json_decref(p);
}

static void test_write_never_over(void **state)
{
    (void)state;
    json_t *p = gate_payload();
    mk_approvalfile a, b;
    char why[512], path[128];
    assert_true(mk_approvalfile_sign(p, key, &a, why, sizeof why));
    snprintf(path, sizeof path, "%s/gate.approval", dir);
    assert_true(mk_approvalfile_write(&a, path, why, sizeof why));
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0644 & ~umask(022));
    assert_false(mk_approvalfile_write(&a, path, why, sizeof why));
    assert_non_null(strstr(why, "exists"));
    assert_true(mk_approvalfile_read(path, &b, why, sizeof why));
    assert_string_equal(b.payload, a.payload);
    mk_approvalfile_free(&b);
    assert_false(mk_approvalfile_read(dir, &b, why, sizeof why));
    snprintf(path, sizeof path, "%s/none.approval", dir);
    assert_false(mk_approvalfile_read(path, &b, why, sizeof why));
    assert_non_null(strstr(why, "cannot read"));
    mk_approvalfile_free(&a);
    json_decref(p);
}

#define CHANGE "{\"address\":\"bucket.logs\",\"action\":\"update\",\"type\":\"bucket\",\"id\":3," \
               "\"before\":{\"name\":\"logs\",\"tags\":{\"a\":\"1\"}},\"after\":{\"name\":\"logs\",\"tags\":{\"a\":\"2\"}," \
               "\"pw\":{\"$secret\":{\"fingerprint\":\"ab12\",\"sealed\":\"%s\"}}}}"

static json_t *change(const char *sealed)
{
    char text[512];
    snprintf(text, sizeof text, CHANGE, sealed);
    json_t *c = json_loads(text, 0, NULL);
    assert_non_null(c);
    return c;
}

static void test_change_digest(void **state)
{
    (void)state;
    char a[65], b[65];
    json_t *c = change("XYZ"), *d = change("another sealing");
    /* python3: sha256(b"moksha-change/v1\n" + json.dumps(..., sort_keys=True, separators=(',',':'))) */
    assert_true(mk_approvalfile_change_digest(c, a));
    assert_string_equal(a, HEX64);
    assert_true(mk_approvalfile_change_digest(d, b)); /* a secret sealed again: the same change */
    assert_string_equal(a, b);
    json_object_set_new(json_object_get(d, "after"), "name", json_string("logs2"));
    assert_true(mk_approvalfile_change_digest(d, b));
    assert_string_not_equal(a, b);
    /* before absent is before null; a field outside the five is not seen */
    json_t *e = json_pack("{s:s, s:s, s:s}", "address", "x.y", "action", "create", "type", "t");
    json_t *f = json_pack("{s:s, s:s, s:s, s:n, s:i}", "address", "x.y", "action", "create", "type", "t", "before", "id", 9);
    assert_true(mk_approvalfile_change_digest(e, a));
    assert_true(mk_approvalfile_change_digest(f, b));
    assert_string_equal(a, b);
    json_object_del(f, "action");
    assert_false(mk_approvalfile_change_digest(f, b));
    json_t *g = json_string("x");
    assert_false(mk_approvalfile_change_digest(g, b));
    json_decref(c), json_decref(d), json_decref(e), json_decref(f), json_decref(g);
}

static void test_violations_digest(void **state)
{
    (void)state;
    char a[65], b[65];
    json_t *r = json_pack("{s:s, s:[{s:s, s:s, s:{s:s}}, {s:s}, {s:s, s:s}]}", "name", "tags", "violations", "address",
                          "a.b", "message", "m2", "location", "file", "x.moksha", "message", "plan-wide", "address",
                          "a.b", "message", "m1");
    assert_true(mk_approvalfile_violations_digest(r, a));
    assert_string_equal(a, "324337e0ca613faf5a1813db94f29b5099e45b50daab89adc7a72cdba8f59b7d");
    json_t *vs = json_object_get(r, "violations");
    assert_true(mk_approvalfile_violations_digest(vs, b)); /* the list itself */
    assert_string_equal(a, b);
    json_array_remove(vs, 0);
    assert_true(mk_approvalfile_violations_digest(r, b));
    assert_string_not_equal(a, b);
    json_array_append_new(vs, json_pack("{s:i}", "message", 1));
    assert_false(mk_approvalfile_violations_digest(r, b));
    json_decref(r);
}

/* The two change digests, the compiler's and the executor's, agree on
 * the same changes (and the two violations digests on the same results): sealed secrets, templates, nested lists and objects,
 * texts outside ASCII, numbers, absent and null fields. */
static void test_digests_agree(void **state)
{
    (void)state;
    static const char *const CHANGES[] = {
        CHANGE,
        "{\"address\":\"a.b\",\"action\":\"create\",\"type\":\"t\"}",
        "{\"address\":\"db.main\",\"action\":\"replace\",\"type\":\"database\",\"before\":{\"size\":20,"
        "\"ratio\":0.5,\"on\":true,\"none\":null},\"after\":{\"size\":40,\"name\":\"caf\u00e9 \u2603\","
        "\"list\":[1,\"x\",[{\"$secret\":{\"to\":\"k\",\"sealed\":\"S\"}}]],"
        "\"tpl\":{\"$template\":[\"pw=\",{\"$secret\":{\"fingerprint\":\"ff\",\"sealed\":\"T\",\"json\":true}}]}}}",
        "{\"address\":\"x[\\\"k\\\"]\",\"action\":\"delete\",\"type\":\"bucket\",\"before\":{\"z\":1,\"a\":{\"c\":2,\"b\":3}},"
        "\"after\":null,\"risk\":\"high\"}",
        "{\"address\":\"c.w\",\"action\":\"create\",\"type\":\"compute\",\"after\":{\"cpu\":2,\"id\":null},"
        "\"after_unknown\":[\"id\",\"ip\"]}",
    };
    enum { N = sizeof CHANGES / sizeof *CHANGES };
    json_t *c[N];
    char a[N][65], b[65];
    for (size_t i = 0; i < N; i++) {
        char text[1024];
        snprintf(text, sizeof text, CHANGES[i], "XYZ");
        c[i] = json_loads(text, 0, NULL);
        assert_non_null(c[i]);
        assert_true(mk_approvalfile_change_digest(c[i], a[i]));
    }
    for (size_t i = 0; i < N; i++) {
        assert_true(mk_approval_change_digest(c[i], b));
        if (strcmp(a[i], b) != 0)
            fail_msg("change %zu: the compiler's digest %s, the executor's %s", i, a[i], b);
        json_decref(c[i]);
    }
    /* the violations digests: the order given, null and absent addresses,
     * texts outside ASCII, a field besides address and message, none; and
     * both refuse a message that is not a text */
    static const char *const RESULTS[] = {
        "{\"violations\":[{\"address\":\"b\",\"message\":\"m2\"},{\"address\":null,\"message\":\"z\"},"
        "{\"address\":\"a\",\"message\":\"m\u00e9\"},{\"message\":\"y\"},{\"address\":\"a\",\"message\":\"l\"}]}",
        "{\"name\":\"p\",\"violations\":[{\"address\":\"q\",\"message\":\"w\",\"details\":{\"k\":1}}]}",
        "{\"violations\":[]}",
        "{\"name\":\"p\"}",
    };
    for (size_t i = 0; i < sizeof RESULTS / sizeof *RESULTS; i++) {
        json_t *r = json_loads(RESULTS[i], 0, NULL);
        assert_non_null(r);
        assert_true(mk_approvalfile_violations_digest(r, a[0]));
        assert_true(mk_approval_violations_digest(r, b));
        if (strcmp(a[0], b) != 0)
            fail_msg("violations %zu: the compiler's digest %s, the executor's %s", i, a[0], b);
        json_decref(r);
    }
    json_t *r = json_loads("{\"violations\":[{\"address\":\"a\",\"message\":1}]}", 0, NULL);
    assert_false(mk_approvalfile_violations_digest(r, a[0]));
    assert_false(mk_approval_violations_digest(r, b));
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_envelope_refused, setup, teardown),
        cmocka_unit_test(test_payload_refused),
        cmocka_unit_test_setup_teardown(test_write_never_over, setup, teardown),
        cmocka_unit_test(test_change_digest),
        cmocka_unit_test(test_violations_digest),
        cmocka_unit_test(test_digests_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
