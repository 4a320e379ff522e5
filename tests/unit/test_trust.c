/* The trust file from the executor's side (runtime/trust.c, docs/trust.md
 * "The trust file"): keys made here with OpenSSL, payloads and envelopes
 * written as `moksha trust sign` writes them, and each rule met and broken
 * with the exact refusal: the threshold of distinct unrevoked current roots,
 * a change of roots needing both thresholds, expiry, a version that never
 * goes down (KEYS/trust.seen, whose damage is an error), strict payloads;
 * and plans in trust mode: who may sign one, and no downgrade to HMAC. */
#include "tests/unit/unit.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/fileio.h"
#include "runtime/planfile.h"
#include "runtime/sha256.h"
#include "runtime/trust.h"

#define NOW ((time_t)1800000000) /* 2027-01-15 */
#define LATER "2030-01-01T00:00:00Z"
#define NKEYS 8
enum { R0, R1, R2, R3, R4, ALICE, BOT, BOB };

static EVP_PKEY *key[NKEYS];
static char pub[NKEYS][53];
static char dir[64], file[128], keys[128], seenp[160];
static mk_config_trust cfg;

static void make_key(int i)
{
    uint8_t raw[32];
    size_t n = 32;
    key[i] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(key[i]);
    assert_int_equal(EVP_PKEY_get_raw_public_key(key[i], raw, &n), 1);
    memcpy(pub[i], "ed25519:", 8);
    EVP_EncodeBlock((unsigned char *)pub[i] + 8, raw, 32);
}

static void raw_of(int i, uint8_t raw[32])
{
    assert_true(mk_trust_key_parse(pub[i], raw));
}

/* base64 of the Ed25519 signature of "moksha-signature/v1" 0 type 0 text. */
static void sign(int i, const char *type, const char *text, char out[89])
{
    size_t pn = sizeof "moksha-signature/v1", tn = strlen(type) + 1, n = strlen(text), slen = 64;
    uint8_t *msg = malloc(pn + tn + n), sig[64];
    memcpy(msg, "moksha-signature/v1", pn);
    memcpy(msg + pn, type, tn);
    memcpy(msg + pn + tn, text, n);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, key[i]), 1);
    assert_int_equal(EVP_DigestSign(md, sig, &slen, msg, pn + tn + n), 1);
    EVP_MD_CTX_free(md);
    free(msg);
    EVP_EncodeBlock((unsigned char *)out, sig, 64);
}

/* The envelope of payload signed by the keys of signers (ended by -1). */
static void write_trust(const char *payload, const int *signers)
{
    json_t *sigs = json_array();
    for (; *signers >= 0; signers++) {
        char v[89];
        sign(*signers, "trust", payload, v);
        json_array_append_new(sigs, json_pack("{s:s, s:s}", "key", pub[*signers], "value", v));
    }
    json_t *env = json_pack("{s:s, s:s, s:o}", "format", "moksha.trust/v1", "payload", payload, "signatures", sigs);
    assert_int_equal(json_dump_file(env, file, JSON_INDENT(2) | JSON_PRESERVE_ORDER), 0);
    json_decref(env);
}

/* A payload of version v, roots a and b (threshold 2), alice planning,
 * bot automating, bob approving in group sre; extra goes at the end. */
static char *payload(char *buf, size_t n, int v, const char *expires, int a, int b, const char *extra)
{
    snprintf(buf, n,
             "{\"version\":%d,\"expires\":\"%s\",\"roots\":{\"threshold\":2,\"keys\":[\"%s\",\"%s\"]},"
             "\"planners\":{\"alice\":\"%s\"},\"automation\":{\"reconciler\":{\"key\":\"%s\",\"boundary\":{}}},"
             "\"approvers\":{\"bob\":\"%s\"},\"groups\":{\"sre\":[\"bob\"]}%s}",
             v, expires, pub[a], pub[b], pub[ALICE], pub[BOT], pub[BOB], extra);
    return buf;
}

static mk_trust *load(bool record, char *why, size_t n)
{
    why[0] = 0;
    return mk_trust_load(&cfg, NOW, record, why, n);
}

/* Load must refuse, with why: FILE: then want. */
static void refused(const char *want)
{
    char why[1024], full[1200];
    assert_null(load(true, why, sizeof why));
    snprintf(full, sizeof full, "%s: %s", file, want);
    assert_string_equal(why, full);
}

static void accepted(long long version)
{
    char why[1024];
    mk_trust *t = load(true, why, sizeof why);
    if (!t)
        fail_msg("refused: %s", why);
    assert_int_equal(mk_trust_version(t), version);
    mk_trust_free(t);
}

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < NKEYS; i++)
        make_key(i);
    mk_test_tmpdir(dir, "/tmp/mk-trust-XXXXXX");
    snprintf(file, sizeof file, "%s/trust.json", dir);
    snprintf(keys, sizeof keys, "%s/keys", dir);
    snprintf(seenp, sizeof seenp, "%s/trust.seen", keys);
    assert_int_equal(mkdir(keys, 0700), 0);
    memset(&cfg, 0, sizeof cfg);
    cfg.on = true;
    snprintf(cfg.file, sizeof cfg.file, "%s", file);
    snprintf(cfg.keys, sizeof cfg.keys, "%s", keys);
    cfg.roots[0] = pub[R0], cfg.roots[1] = pub[R1], cfg.roots[2] = pub[R2];
    cfg.nroots = 3;
    cfg.threshold = 2;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NKEYS; i++)
        EVP_PKEY_free(key[i]);
    mk_test_rmdir(dir);
    return 0;
}

static void test_good_file(void **state)
{
    (void)state;
    char p[2048], why[1024], line[256];
    /* its roots are two of the three pinned: a change, signed by both thresholds */
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, ""), (int[]){R1, R0, -1});
    mk_trust *t = load(true, why, sizeof why);
    assert_non_null(t);
    assert_int_equal(mk_trust_version(t), 3);
    assert_string_equal(mk_trust_path(t), file);
    char digest[65];
    mk_sha256_hex(p, strlen(p), digest);
    assert_string_equal(mk_trust_digest(t), digest);
    mk_trust_describe(t, line, sizeof line);
    assert_string_equal(line, "version 3, expires 2030-01-01T00:00:00Z, roots: threshold 2 of 2 keys; "
                              "1 planner, 1 automation, 1 approver, 1 group, 0 revoked; last accepted: none before");
    uint8_t raw[32];
    mk_trust_who who;
    raw_of(ALICE, raw);
    mk_trust_lookup(t, raw, &who);
    assert_int_equal(who.roles, MK_TRUST_PLANNER);
    assert_string_equal(who.name, "alice");
    assert_false(who.revoked);
    char id[65];
    mk_sha256_hex(raw, 32, id);
    assert_memory_equal(who.id, id, 16);
    assert_int_equal(who.id[16], 0);
    raw_of(BOT, raw);
    mk_trust_lookup(t, raw, &who);
    assert_int_equal(who.roles, MK_TRUST_AUTOMATION);
    assert_string_equal(who.name, "reconciler");
    assert_string_equal(mk_trust_role_name(who.roles), "automation");
    raw_of(BOB, raw);
    mk_trust_lookup(t, raw, &who);
    assert_string_equal(mk_trust_role_name(who.roles), "approver");
    raw_of(R1, raw);
    mk_trust_lookup(t, raw, &who);
    assert_int_equal(who.roles, MK_TRUST_ROOT);
    assert_string_equal(who.name, "");
    raw_of(R2, raw); /* a root of the configuration, not of the file */
    mk_trust_lookup(t, raw, &who);
    assert_int_equal(who.roles, 0);
    assert_string_equal(mk_trust_role_name(who.roles), "unknown");
    mk_trust_free(t);
    /* what was accepted is recorded: version, digest, its roots, the pins */
    char *seen = mk_fileio_read(seenp, NULL), want[1024];
    snprintf(want, sizeof want,
             "{\"format\":\"moksha.trust-seen/v1\",\"version\":3,\"digest\":\"%s\",\"roots\":{\"threshold\":2,\"keys\":"
             "[\"%s\",\"%s\"]},\"pinned\":{\"threshold\":2,\"keys\":[\"%s\",\"%s\",\"%s\"]},\"revoked\":[]}\n",
             digest, pub[R0], pub[R1], pub[R0], pub[R1], pub[R2]);
    assert_string_equal(seen, want);
    free(seen);
    struct stat sb;
    assert_int_equal(stat(seenp, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
}

/* note [revoked roots]: a root the last accepted file revoked counts for
 * no later file, even one that drops it from `revoked` again. */
static void test_revoked_root_stays_revoked(void **state)
{
    (void)state;
    char p[2048], extra[128], want[512], id[17];
    uint8_t raw[32];
    snprintf(extra, sizeof extra, ",\"revoked\":[\"%s\"]", pub[R1]);
    write_trust(payload(p, sizeof p, 3, LATER, R0, R2, extra), (int[]){R0, R2, -1});
    accepted(3);
    char *seen = mk_fileio_read(seenp, NULL);
    snprintf(want, sizeof want, ",\"revoked\":[\"%s\"]}\n", pub[R1]);
    assert_non_null(strstr(seen, want));
    free(seen);
    write_trust(payload(p, sizeof p, 4, LATER, R0, R1, ""), (int[]){R0, R1, R2, -1});
    raw_of(R1, raw);
    mk_trust_key_id(raw, id);
    snprintf(want, sizeof want, "signed by root key %s, which the last trust file accepted (version 3, %s) revokes: "
             "a revoked key never counts again", id, seenp);
    refused(want);
    /* without it the file is the current roots' own change */
    write_trust(payload(p, sizeof p, 4, LATER, R0, R2, ""), (int[]){R0, R2, -1});
    accepted(4);
}

static void test_not_recorded_when_only_checked(void **state)
{
    (void)state;
    char p[2048], why[1024];
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, ""), (int[]){R0, R1, -1});
    mk_trust *t = load(false, why, sizeof why);
    assert_non_null(t);
    mk_trust_free(t);
    assert_int_equal(access(seenp, F_OK), -1);
}

static void test_below_threshold(void **state)
{
    (void)state;
    char p[2048];
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, ""), (int[]){R1, -1});
    refused("signed by 1 of the current roots (pinned in the executor's configuration), below their threshold of 2: "
            "a trust file needs valid signatures of that many distinct, unrevoked root keys (`moksha trust sign`)");
    /* a planner's signature, or a root's of another type, does not count */
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, ""), (int[]){R1, ALICE, -1});
    refused("signed by 1 of the current roots (pinned in the executor's configuration), below their threshold of 2: "
            "a trust file needs valid signatures of that many distinct, unrevoked root keys (`moksha trust sign`)");
    assert_int_equal(access(seenp, F_OK), -1);
}

static void test_same_root_twice_counts_once(void **state)
{
    (void)state;
    char p[2048];
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, ""), (int[]){R0, R0, -1});
    refused("signed by 1 of the current roots (pinned in the executor's configuration), below their threshold of 2: "
            "a trust file needs valid signatures of that many distinct, unrevoked root keys (`moksha trust sign`)");
}

static void test_signature_of_another_type_or_text(void **state)
{
    (void)state;
    char p[2048], v[89];
    payload(p, sizeof p, 3, LATER, R0, R1, "");
    sign(R0, "plan", p, v); /* the same bytes, signed as a plan: never a trust file's */
    json_t *env = json_pack("{s:s, s:s, s:[{s:s, s:s}, {s:s, s:s}]}", "format", "moksha.trust/v1", "payload", p,
                            "signatures", "key", pub[R0], "value", v, "key", pub[R1], "value", v);
    sign(R1, "trust", p, v);
    json_object_set_new(json_array_get(json_object_get(env, "signatures"), 1), "value", json_string(v));
    assert_int_equal(json_dump_file(env, file, 0), 0);
    json_decref(env);
    refused("signed by 1 of the current roots (pinned in the executor's configuration), below their threshold of 2; "
            "1 signature did not verify: a trust file needs valid signatures of that many distinct, unrevoked root "
            "keys (`moksha trust sign`)");
}

static void test_revoked_root(void **state)
{
    (void)state;
    char p[2048], extra[128];
    /* a pinned root the file revokes (and no longer lists) does not count */
    snprintf(extra, sizeof extra, ",\"revoked\":[\"%s\"]", pub[R2]);
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, extra), (int[]){R0, R2, -1});
    refused("signed by 1 of the current roots (pinned in the executor's configuration), below their threshold of 2: "
            "a trust file needs valid signatures of that many distinct, unrevoked root keys (`moksha trust sign`)");
    /* note [revoked roots]: a file may not revoke one of its own roots */
    snprintf(extra, sizeof extra, ",\"revoked\":[\"%s\"]", pub[R1]);
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, extra), (int[]){R0, R1, -1});
    refused("payload `revoked[0]`: a key of this file's own `roots`: a root is retired by leaving `roots` (which "
            "needs both thresholds), not by revoking it");
    /* a revoked planner is listed as such */
    snprintf(extra, sizeof extra, ",\"revoked\":[\"%s\"]", pub[ALICE]);
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, extra), (int[]){R0, R1, -1});
    char why[1024];
    mk_trust *t = load(true, why, sizeof why);
    assert_non_null(t);
    uint8_t raw[32];
    mk_trust_who who;
    raw_of(ALICE, raw);
    mk_trust_lookup(t, raw, &who);
    assert_int_equal(who.roles, MK_TRUST_PLANNER);
    assert_true(who.revoked);
    mk_trust_free(t);
}

static void test_expired(void **state)
{
    (void)state;
    char p[2048];
    write_trust(payload(p, sizeof p, 3, "2027-01-15T08:00:00Z", R0, R1, ""), (int[]){R0, R1, -1});
    refused("expired at 2027-01-15T08:00:00Z: sign a new one with a higher version");
    write_trust(payload(p, sizeof p, 3, "2027-02-30T00:00:00Z", R0, R1, ""), (int[]){R0, R1, -1});
    refused("payload `expires`: expected a UTC time as \"2027-06-01T00:00:00Z\"");
    /* no second 60, as trust sign takes none (a time the clock would roll over to 12:31) */
    write_trust(payload(p, sizeof p, 3, "2030-01-01T12:30:60Z", R0, R1, ""), (int[]){R0, R1, -1});
    refused("payload `expires`: expected a UTC time as \"2027-06-01T00:00:00Z\"");
}

static void test_version_down(void **state)
{
    (void)state;
    char p[2048], want[1024];
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, ""), (int[]){R0, R1, -1});
    accepted(3);
    write_trust(payload(p, sizeof p, 2, LATER, R0, R1, ""), (int[]){R0, R1, -1});
    snprintf(want, sizeof want, "version 2 is below 3, the version of the last trust file accepted (%s): a trust "
             "file's version never goes down", seenp);
    refused(want);
    write_trust(payload(p, sizeof p, 4, LATER, R0, R1, ""), (int[]){R0, R1, -1});
    accepted(4);
    char why[1024], line[512];
    mk_trust *t = load(false, why, sizeof why);
    assert_non_null(t);
    mk_trust_describe(t, line, sizeof line);
    assert_non_null(strstr(line, "; last accepted: version 4"));
    mk_trust_free(t);
}

static void test_equal_version(void **state)
{
    (void)state;
    char p[2048], want[1024], extra[128];
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, ""), (int[]){R0, R1, -1});
    accepted(3);
    accepted(3); /* the same file again */
    snprintf(extra, sizeof extra, ",\"revoked\":[\"%s\"]", pub[ALICE]);
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, extra), (int[]){R0, R1, -1});
    snprintf(want, sizeof want, "version 3 is the version of the last trust file accepted (%s), but its payload is "
             "another: a changed trust file needs a higher version", seenp);
    refused(want);
}

static void test_roots_changed(void **state)
{
    (void)state;
    char p[2048];
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, ""), (int[]){R0, R1, -1});
    accepted(3);
    /* now the current roots are the file's R0, R1; move to R3, R4 */
    write_trust(payload(p, sizeof p, 4, LATER, R3, R4, ""), (int[]){R0, R1, -1});
    refused("changes the roots, so it needs the threshold of the current roots (met) and of the new ones: signed by 0 "
            "of the new roots, below their threshold of 2");
    write_trust(payload(p, sizeof p, 4, LATER, R3, R4, ""), (int[]){R3, R4, -1});
    refused("signed by 0 of the current roots (those of the last trust file accepted), below their threshold of 2: "
            "a trust file needs valid signatures of that many distinct, unrevoked root keys (`moksha trust sign`)");
    write_trust(payload(p, sizeof p, 4, LATER, R3, R4, ""), (int[]){R0, R3, R1, R4, -1});
    accepted(4);
    /* the trust moved: the old roots alone no longer sign */
    write_trust(payload(p, sizeof p, 5, LATER, R3, R4, ""), (int[]){R0, R1, -1});
    refused("signed by 0 of the current roots (those of the last trust file accepted), below their threshold of 2: "
            "a trust file needs valid signatures of that many distinct, unrevoked root keys (`moksha trust sign`)");
    write_trust(payload(p, sizeof p, 5, LATER, R3, R4, ""), (int[]){R4, R3, -1});
    accepted(5);
}

/* note [current roots]: pins changed in the configuration since trust.seen
 * was written decide again; the version still never goes down. */
static void test_repinned(void **state)
{
    (void)state;
    char p[2048];
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, ""), (int[]){R0, R1, -1});
    accepted(3);
    cfg.roots[0] = pub[R3], cfg.roots[1] = pub[R4];
    cfg.nroots = 2;
    write_trust(payload(p, sizeof p, 4, LATER, R3, R4, ""), (int[]){R3, R4, -1});
    accepted(4);
    write_trust(payload(p, sizeof p, 2, LATER, R3, R4, ""), (int[]){R3, R4, -1});
    assert_null(mk_trust_load(&cfg, NOW, false, p, sizeof p));
    assert_non_null(strstr(p, "version 2 is below 4"));
}

static void test_damaged_seen(void **state)
{
    (void)state;
    char p[2048], why[1024], want[1024];
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, ""), (int[]){R0, R1, -1});
    static const char *const bad[] = {"", "{\"format\":\"moksha.trust-seen/v1\",\"version\":3}",
                                      "{\"format\":\"moksha.trust-seen/v1\",\"version\":3,\"version\":4}"};
    static const char *const what[] = {"not JSON", "not a moksha.trust-seen/v1 record", "not JSON"};
    for (int i = 0; i < 3; i++) {
        mk_test_write(keys, "trust.seen", bad[i]);
        assert_null(load(false, why, sizeof why));
        snprintf(want, sizeof want, "%s is damaged (%s): it records the last trust file the executor accepted; "
                 "restore it from a copy (removing it would let an older trust file back in)", seenp, what[i]);
        assert_string_equal(why, want);
    }
    assert_int_equal(unlink(seenp), 0);
    assert_int_equal(mkdir(seenp, 0700), 0); /* not a file: an error, not "none" */
    assert_null(load(false, why, sizeof why));
    snprintf(want, sizeof want, "%s is damaged (not a regular file): it records the last trust file the executor "
             "accepted; restore it from a copy (removing it would let an older trust file back in)", seenp);
    assert_string_equal(why, want);
    assert_int_equal(rmdir(seenp), 0);
    /* a dangling symlink is not "none accepted yet", nor is one to a record */
    assert_int_equal(symlink("/nonexistent/trust.seen", seenp), 0);
    assert_null(load(false, why, sizeof why));
    snprintf(want, sizeof want, "%s is damaged (a symbolic link, not the record itself): it records the last trust "
             "file the executor accepted; restore it from a copy (removing it would let an older trust file back in)",
             seenp);
    assert_string_equal(why, want);
    assert_int_equal(unlink(seenp), 0);
}

/* Whoever can write trust.seen could put an older version back. */
static void test_keys_writable_by_others(void **state)
{
    (void)state;
    char p[2048], why[1024], want[1024];
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, ""), (int[]){R0, R1, -1});
    assert_int_equal(chmod(keys, 0777), 0);
    assert_null(load(true, why, sizeof why));
    snprintf(want, sizeof want, "the key directory %s (trust.keys) can be written by others (mode 0777): `chmod go-w %s`",
             keys, keys);
    assert_string_equal(why, want);
    assert_null(load(false, why, sizeof why)); /* verify and config check refuse it too */
    assert_string_equal(why, want);
    assert_int_equal(chmod(keys, 0720), 0);
    assert_null(load(false, why, sizeof why));
    snprintf(want, sizeof want, "the key directory %s (trust.keys) can be written by others (mode 0720): `chmod go-w %s`",
             keys, keys);
    assert_string_equal(why, want);
    assert_int_equal(chmod(keys, 0700), 0);
    accepted(3);
}

/* Whoever owns the key directory or trust.seen could put an older version
 * back: both are the executor's user's (checked where the tests can
 * give them away, as root). */
static void test_keys_owned_by_another(void **state)
{
    (void)state;
    char p[2048], why[1024], want[1024];
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, ""), (int[]){R0, R1, -1});
    accepted(3);
    if (geteuid() != 0)
        skip();
    assert_int_equal(chown(seenp, 65534, 65534), 0);
    snprintf(want, sizeof want, "%s is damaged (not owned by the executor's user): it records the last trust file the "
             "executor accepted; restore it from a copy (removing it would let an older trust file back in)", seenp);
    assert_null(load(false, why, sizeof why));
    assert_string_equal(why, want);
    assert_int_equal(chown(seenp, 0, 0), 0);
    assert_int_equal(chown(keys, 65534, 65534), 0);
    snprintf(want, sizeof want, "the key directory %s (trust.keys) is not owned by the executor's user (uid 0): its "
             "owner could replace trust.seen", keys);
    assert_null(load(true, why, sizeof why)); /* apply, as verify and config check */
    assert_string_equal(why, want);
    assert_int_equal(chown(keys, 0, 0), 0);
    accepted(3);
}

static void test_unknown_field(void **state)
{
    (void)state;
    char p[2048];
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, ",\"planer\":{}"), (int[]){R0, R1, -1});
    refused("payload `planer`: unknown field (docs/trust.md, \"The trust file\")");
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, ""), (int[]){R0, R1, -1});
    json_t *env = json_load_file(file, 0, NULL);
    json_object_set_new(env, "comment", json_string("x"));
    assert_int_equal(json_dump_file(env, file, JSON_PRESERVE_ORDER), 0);
    json_decref(env);
    refused("`comment`: unknown field (docs/trust.md, \"The trust file\")");
    /* a boundary's field this executor does not know: refused, not ignored */
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, ",\"environments\":{\"prod\":{\"packs\":[]}}"), (int[]){R0, R1, -1});
    refused("payload `environments.prod.packs`: unknown field (docs/trust.md, \"The trust file\")");
    snprintf(p, sizeof p,
             "{\"version\":3,\"expires\":\"%s\",\"roots\":{\"threshold\":2,\"keys\":[\"%s\",\"%s\"]},"
             "\"automation\":{\"bot\":{\"key\":\"%s\",\"boundary\":{\"risk\":\"high\"}}}}",
             LATER, pub[R0], pub[R1], pub[BOT]);
    write_trust(p, (int[]){R0, R1, -1});
    refused("payload `automation.bot.boundary.risk`: unknown field (docs/trust.md, \"The trust file\")");
}

/* A payload whose automation `bot` has the boundary b, with approvers bob
 * and alice in group sre, and extra at the end. */
static char *bounded(char *buf, size_t n, const char *b, const char *extra)
{
    snprintf(buf, n,
             "{\"version\":3,\"expires\":\"%s\",\"roots\":{\"threshold\":2,\"keys\":[\"%s\",\"%s\"]},"
             "\"automation\":{\"bot\":{\"key\":\"%s\",\"boundary\":%s}},\"approvers\":{\"bob\":\"%s\",\"alice\":\"%s\"},"
             "\"groups\":{\"sre\":[\"bob\",\"alice\"],\"solo\":[\"bob\"]}%s}",
             LATER, pub[R0], pub[R1], pub[BOT], b, pub[BOB], pub[ALICE], extra);
    return buf;
}

static void bad_boundary(const char *b, const char *extra, const char *want)
{
    char p[4096];
    write_trust(bounded(p, sizeof p, b, extra), (int[]){R0, R1, -1});
    refused(want);
}

/* Part 2's fields (docs/trust.md, "Autonomy boundaries", "Rules per
 * environment", "Break glass"): accepted whole, and each broken rule refused. */
static void test_boundaries(void **state)
{
    (void)state;
    char p[4096], why[1024];
    write_trust(bounded(p, sizeof p,
                        "{\"max_risk\":\"medium\",\"types\":[\"compute\",\"postgres.role\"],\"actions\":[\"create\",\"update\"],"
                        "\"environments\":[\"dev\",\"\"],\"max_cost_increase\":\"50.00\",\"max_changes\":20,"
                        "\"windows\":[{\"days\":[\"mon\",\"fri\"],\"from\":\"08:00\",\"to\":\"24:00\"}]}",
                        ",\"environments\":{\"prod\":{\"policy_packs\":[\"" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                        "\"],\"gates\":{\"prod-destroys\":{\"group\":\"sre\",\"count\":2,\"actions\":[\"delete\"],"
                        "\"types\":[\"database\"],\"min_risk\":\"high\"}}},\"\":{}},\"break_glass\":{\"group\":\"sre\"}"),
                (int[]){R0, R1, -1});
    mk_trust *t = load(false, why, sizeof why);
    if (!t)
        fail_msg("refused: %s", why);
    assert_string_equal(json_string_value(json_object_get(mk_trust_boundary(t, "bot"), "max_risk")), "medium");
    assert_non_null(json_object_get(json_object_get(mk_trust_environment(t, "prod"), "gates"), "prod-destroys"));
    assert_non_null(mk_trust_environment(t, NULL)); /* "": plans of no environment */
    assert_null(mk_trust_environment(t, "dev"));
    assert_string_equal(json_string_value(json_object_get(mk_trust_break_glass(t), "group")), "sre");
    mk_trust_describe(t, why, sizeof why);
    assert_non_null(strstr(why, "0 revoked, rules for 2 environments, break glass by 2 of group sre; last accepted"));
    mk_trust_free(t);

    bad_boundary("{\"max_risk\":\"severe\"}", "", "payload `automation.bot.boundary.max_risk`: expected \"low\", \"medium\" or \"high\"");
    bad_boundary("{\"types\":[]}", "", "payload `automation.bot.boundary.types`: expected a list of one or more resource types "
                 "(compute, postgres.role) (leave the field out for no limit)");
    bad_boundary("{\"actions\":[\"create\",\"destroy\"]}", "", "payload `automation.bot.boundary.actions[1]`: `destroy` is not one of "
                 "the actions create, update, delete, replace, import, move");
    bad_boundary("{\"environments\":[\"dev\",\"dev\"]}", "", "payload `automation.bot.boundary.environments[1]`: `dev` twice");
    bad_boundary("{\"max_cost_increase\":50}", "", "payload `automation.bot.boundary.max_cost_increase`: expected US dollars a "
                 "month as money text, \"50.00\"");
    bad_boundary("{\"max_cost_increase\":\"-5\"}", "", "payload `automation.bot.boundary.max_cost_increase`: expected US dollars a "
                 "month as money text, \"50.00\"");
    bad_boundary("{\"max_changes\":0}", "", "payload `automation.bot.boundary.max_changes`: expected a whole number from 1 up "
                 "(changes in one apply)");
    bad_boundary("{\"windows\":[{\"days\":[\"monday\"],\"from\":\"08:00\",\"to\":\"18:00\"}]}", "",
                 "payload `automation.bot.boundary.windows[0].days[0]`: `monday` is not one of the days mon, tue, wed, thu, fri, sat, sun");
    bad_boundary("{\"windows\":[{\"days\":[\"mon\"],\"from\":\"18:00\",\"to\":\"08:00\"}]}", "",
                 "payload `automation.bot.boundary.windows[0]`: `from` 18:00 is not before `to` 08:00: a window lies within one "
                 "day (split one that spans midnight in two, \"to\": \"24:00\" and \"from\": \"00:00\")");
    bad_boundary("{\"windows\":[{\"days\":[\"mon\"],\"from\":\"8:00\",\"to\":\"18:00\"}]}", "",
                 "payload `automation.bot.boundary.windows[0]`: `from` and `to` are UTC times \"HH:MM\" (`from` 00:00 to 23:59, "
                 "`to` up to 24:00)");
    bad_boundary("{\"windows\":[{\"days\":[\"mon\"],\"from\":\"08:00\",\"to\":\"18:00\",\"tz\":\"CET\"}]}", "",
                 "payload `automation.bot.boundary.windows[0].tz`: unknown field (docs/trust.md, \"The trust file\")");
    bad_boundary("{}", ",\"environments\":{\"prod\":{\"policy_packs\":[\"abc\"]}}",
                 "payload `environments.prod.policy_packs[0]`: `abc` is not one of policy packs' digests (64 lowercase hex: "
                 "`moksha policy digest DIR`)");
    bad_boundary("{}", ",\"environments\":{\"Prod\":{}}", "payload `environments`: `Prod` is not an environment's name "
                 "([a-z0-9][a-z0-9_-]*, or \"\" for plans of no environment)");
    bad_boundary("{}", ",\"environments\":{\"prod\":{\"gates\":{\"g\":{\"group\":\"dba\"}}}}",
                 "payload `environments.prod.gates.g.group`: `dba` is no group of `groups`");
    bad_boundary("{}", ",\"environments\":{\"prod\":{\"gates\":{\"g\":{\"group\":\"solo\",\"count\":2}}}}",
                 "payload `environments.prod.gates.g.count`: 2, but group `solo` has 1 member: it could never open");
    bad_boundary("{}", ",\"environments\":{\"prod\":{\"gates\":{\"g\":{\"group\":\"sre\",\"min_risk\":\"huge\"}}}}",
                 "payload `environments.prod.gates.g.min_risk`: expected \"low\", \"medium\" or \"high\"");
    bad_boundary("{}", ",\"break_glass\":{\"group\":\"sre\",\"count\":1}", "payload `break_glass.count`: expected a whole "
                 "number from 2 to 16: breaking the glass always takes two people");
    bad_boundary("{}", ",\"break_glass\":{\"group\":\"solo\"}",
                 "payload `break_glass.count`: 2, but group `solo` has 1 member: it could never open");
}

/* An automation identity never approves: one key as both is refused. */
static void test_automation_never_approves(void **state)
{
    (void)state;
    char p[2048];
    snprintf(p, sizeof p,
             "{\"version\":3,\"expires\":\"%s\",\"roots\":{\"threshold\":2,\"keys\":[\"%s\",\"%s\"]},"
             "\"automation\":{\"bot\":{\"key\":\"%s\"}},\"approvers\":{\"bob\":\"%s\"}}",
             LATER, pub[R0], pub[R1], pub[BOT], pub[BOT]);
    write_trust(p, (int[]){R0, R1, -1});
    refused("payload `approvers.bob`: the same key as automation `bot`: an automation identity never approves; give the "
            "approver a key of their own");
}

static void test_duplicate_key(void **state)
{
    (void)state;
    char p[2048], want[1024];
    snprintf(p, sizeof p, "{\"version\":3,\"version\":4,\"expires\":\"%s\"}", LATER);
    write_trust(p, (int[]){R0, R1, -1});
    refused("payload:1:22: a key appears twice in one object");
    mk_test_write(dir, "trust.json", "{\"format\":\"moksha.trust/v1\",\"format\":\"moksha.trust/v1\"}");
    snprintf(want, sizeof want, "%s:1:36: a key appears twice in one object", file);
    char why[1024];
    assert_null(load(false, why, sizeof why));
    assert_string_equal(why, want);
}

/* The rules on who holds which key (docs/trust.md, "The trust file"). */
static void test_roles_and_names(void **state)
{
    (void)state;
    char p[2048];
    snprintf(p, sizeof p,
             "{\"version\":3,\"expires\":\"%s\",\"roots\":{\"threshold\":2,\"keys\":[\"%s\",\"%s\"]},"
             "\"planners\":{\"alice\":\"%s\"},\"automation\":{\"bot\":{\"key\":\"%s\"}}}",
             LATER, pub[R0], pub[R1], pub[ALICE], pub[ALICE]);
    write_trust(p, (int[]){R0, R1, -1});
    refused("payload `automation.bot.key`: the same key as planner `alice`: planner and automation keys are distinct roles");
    snprintf(p, sizeof p,
             "{\"version\":3,\"expires\":\"%s\",\"roots\":{\"threshold\":2,\"keys\":[\"%s\",\"%s\"]},"
             "\"planners\":{\"Alice\":\"%s\"}}", LATER, pub[R0], pub[R1], pub[ALICE]);
    write_trust(p, (int[]){R0, R1, -1});
    refused("payload `planners`: `Alice` is not a name ([a-z0-9][a-z0-9_-]*, at most 64 characters)");
    snprintf(p, sizeof p,
             "{\"version\":3,\"expires\":\"%s\",\"roots\":{\"threshold\":2,\"keys\":[\"%s\",\"%s\"]},"
             "\"approvers\":{\"bob\":\"%s\"},\"groups\":{\"sre\":[\"bob\",\"alice\"]}}", LATER, pub[R0], pub[R1], pub[BOB]);
    write_trust(p, (int[]){R0, R1, -1});
    refused("payload `groups.sre[1]`: `alice` is no approver (a group's members are names of `approvers`)");
    snprintf(p, sizeof p,
             "{\"version\":3,\"expires\":\"%s\",\"roots\":{\"threshold\":2,\"keys\":[\"%s\",\"%s\"]},"
             "\"planners\":{\"ops\":\"%s\"}}", LATER, pub[R0], pub[R1], pub[R1]);
    write_trust(p, (int[]){R0, R1, -1});
    refused("payload `planners.ops`: a root key; root keys sign only trust files (keep them offline, apart from "
            "planner, automation and approver keys)");
    /* one person may plan and approve with one key */
    snprintf(p, sizeof p,
             "{\"version\":3,\"expires\":\"%s\",\"roots\":{\"threshold\":2,\"keys\":[\"%s\",\"%s\"]},"
             "\"planners\":{\"alice\":\"%s\"},\"approvers\":{\"alice\":\"%s\"}}", LATER, pub[R0], pub[R1], pub[ALICE],
             pub[ALICE]);
    write_trust(p, (int[]){R0, R1, -1});
    accepted(3);
}

static void test_typed_signature(void **state)
{
    (void)state;
    char v[89];
    uint8_t raw[32];
    raw_of(ALICE, raw);
    sign(ALICE, "plan", "statement", v);
    assert_true(mk_trust_verify("plan", "statement", 9, raw, v));
    assert_false(mk_trust_verify("approval", "statement", 9, raw, v));
    assert_false(mk_trust_verify("plan", "statemenT", 9, raw, v));
    raw_of(BOB, raw);
    assert_false(mk_trust_verify("plan", "statement", 9, raw, v));
    assert_false(mk_trust_key_parse("ed25519:AAAA", raw));
    /* the same 32 bytes with the unused low bits of the last digit set: not
     * the text `moksha key new` writes, so not a key text */
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char odd[53];
    memcpy(odd, pub[ALICE], 53);
    odd[50] = b64[(strchr(b64, odd[50]) - b64) ^ 1];
    assert_false(mk_trust_key_parse(odd, raw));
    assert_true(mk_trust_key_parse(pub[ALICE], raw));
}

/* ---- plans in trust mode (runtime/planfile.c, note [plan algorithm]) ---- */

/* A small plan as moksha writes it, and the statement its signature signs. */
#define BODY "{\"format\":\"moksha.plan/v1\",\"stack\":\"s\",\"state\":{\"lineage\":\"l-1\",\"serial\":3},\"changes\":[]}"

static void statement(char digest[65], char *out, size_t n)
{
    mk_sha256_hex(BODY, strlen(BODY), digest);
    snprintf(out, n, "{\"format\":\"moksha.plan/v1\",\"digest\":\"%s\",\"lineage\":\"l-1\",\"serial\":3}", digest);
}

/* The plan signed by who over a message of type sign_type, its signature
 * object saying type. */
static void write_plan(const char *path, int who, const char *type, const char *sign_type)
{
    char digest[65], st[256], v[89], kid[17];
    uint8_t raw[32];
    statement(digest, st, sizeof st);
    sign(who, sign_type, st, v);
    raw_of(who, raw);
    mk_trust_key_id(raw, kid);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%.*s,\"signature\":{\"algorithm\":\"Ed25519\",\"type\":\"%s\",\"key\":\"%s\",\"key_id\":\"%s\","
            "\"digest\":\"%s\",\"value\":\"%s\"}}\n", (int)strlen(BODY) - 1, BODY, type, pub[who], kid, digest, v);
    fclose(f);
}

/* The same plan signed with a project key, as moksha signs without trust. */
static void write_hmac_plan(const char *path, const mk_planfile_key *k)
{
    char digest[65], st[256], hex[65];
    uint8_t mac[32];
    unsigned int len = 32;
    statement(digest, st, sizeof st);
    HMAC(EVP_sha256(), k->sign, 32, (const uint8_t *)st, strlen(st), mac, &len);
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", mac[i]);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%.*s,\"signature\":{\"algorithm\":\"HMAC-SHA256\",\"key_id\":\"%s\",\"digest\":\"%s\",\"value\":\"%s\"}}\n",
            (int)strlen(BODY) - 1, BODY, k->id, digest, hex);
    fclose(f);
}

/* Open path against the trust file; why into why, and who signed. */
static mk_planfile_status open_trusted(const char *path, mk_trust_who *who, char *why, size_t n)
{
    char twhy[1024];
    mk_trust *t = load(false, twhy, sizeof twhy);
    if (!t)
        fail_msg("trust file refused: %s", twhy);
    mk_planfile *pf = NULL;
    why[0] = 0;
    mk_planfile_status st = mk_planfile_open_trusted(path, t, who, &pf, why, n);
    if (st == MK_PLANFILE_OK)
        assert_string_equal(json_string_value(json_object_get(mk_planfile_plan(pf), "stack")), "s");
    static char name[80]; /* the name is the trust file's: keep it past it */
    snprintf(name, sizeof name, "%s", who->name);
    who->name = name;
    mk_planfile_close(pf);
    mk_trust_free(t);
    return st;
}

static void test_plan_signers(void **state)
{
    (void)state;
    char p[2048], plan[160], why[1024], want[1024];
    mk_trust_who who;
    snprintf(plan, sizeof plan, "%s/p.plan", dir);
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, ""), (int[]){R0, R1, -1});
    write_plan(plan, ALICE, "plan", "plan");
    assert_int_equal(open_trusted(plan, &who, why, sizeof why), MK_PLANFILE_OK);
    assert_int_equal(who.roles, MK_TRUST_PLANNER);
    assert_string_equal(who.name, "alice");
    write_plan(plan, BOT, "plan", "plan");
    assert_int_equal(open_trusted(plan, &who, why, sizeof why), MK_PLANFILE_OK);
    assert_string_equal(mk_trust_role_name(who.roles), "automation");
    assert_string_equal(who.name, "reconciler");
    write_plan(plan, BOB, "plan", "plan");
    assert_int_equal(open_trusted(plan, &who, why, sizeof why), MK_PLANFILE_UNTRUSTED);
    snprintf(want, sizeof want, "wrong role: key %s is approver `bob`'s key in the trust file %s (version 3); only "
             "planner and automation keys sign plans", who.id, file);
    assert_string_equal(why, want);
    write_plan(plan, R0, "plan", "plan");
    assert_int_equal(open_trusted(plan, &who, why, sizeof why), MK_PLANFILE_UNTRUSTED);
    snprintf(want, sizeof want, "wrong role: key %s is a root key in the trust file %s (version 3); only planner and "
             "automation keys sign plans", who.id, file);
    assert_string_equal(why, want);
    write_plan(plan, R2, "plan", "plan");
    assert_int_equal(open_trusted(plan, &who, why, sizeof why), MK_PLANFILE_UNTRUSTED);
    snprintf(want, sizeof want, "signed by key %s, which the trust file %s (version 3) does not list: only its planner "
             "and automation keys sign plans", who.id, file);
    assert_string_equal(why, want);
}

static void test_plan_revoked_and_typed(void **state)
{
    (void)state;
    char p[2048], plan[160], why[1024], want[1024], extra[128];
    mk_trust_who who;
    snprintf(plan, sizeof plan, "%s/p.plan", dir);
    snprintf(extra, sizeof extra, ",\"revoked\":[\"%s\"]", pub[BOT]);
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, extra), (int[]){R0, R1, -1});
    write_plan(plan, BOT, "plan", "plan");
    assert_int_equal(open_trusted(plan, &who, why, sizeof why), MK_PLANFILE_UNTRUSTED);
    snprintf(want, sizeof want, "signed by key %s (automation `reconciler`), which the trust file %s (version 3) revokes",
             who.id, file);
    assert_string_equal(why, want);
    write_plan(plan, ALICE, "approval", "approval"); /* a valid signature, of another kind */
    assert_int_equal(open_trusted(plan, &who, why, sizeof why), MK_PLANFILE_UNTRUSTED);
    assert_string_equal(why, "the plan's signature is of type `approval`, not `plan`: a signature of one kind never "
                             "counts as another (docs/trust.md, \"Signatures and their types\")");
    write_plan(plan, ALICE, "plan", "trust"); /* labelled a plan's, signed as a trust file's */
    assert_int_equal(open_trusted(plan, &who, why, sizeof why), MK_PLANFILE_TAMPERED);
    assert_string_equal(why, "the signature does not match: the plan was altered after it was signed");
}

/* The executor, never the plan, picks the algorithm: HMAC is refused in
 * trust mode however valid, and Ed25519 without it. */
static void test_plan_no_downgrade(void **state)
{
    (void)state;
    char p[2048], plan[160], why[1024];
    mk_trust_who who;
    mk_planfile_key k;
    mk_planfile *pf = NULL;
    snprintf(plan, sizeof plan, "%s/p.plan", dir);
    assert_true(mk_planfile_key_from_text(&k, "4b1e0c2a9d8f7e6b5a4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a", NULL,
                                          "test", why, sizeof why));
    write_hmac_plan(plan, &k);
    assert_int_equal(mk_planfile_open(plan, &k, &pf, why, sizeof why), MK_PLANFILE_OK); /* a good HMAC plan */
    mk_planfile_close(pf);
    write_trust(payload(p, sizeof p, 3, LATER, R0, R1, ""), (int[]){R0, R1, -1});
    assert_int_equal(open_trusted(plan, &who, why, sizeof why), MK_PLANFILE_UNTRUSTED);
    assert_string_equal(why, "the plan is signed with a project key (HMAC-SHA256), and this executor is in trust mode "
                             "(its configuration has a trust section): it takes only plans signed with a planner key "
                             "its trust file lists, whatever the plan says (no downgrade); plan with "
                             "MOKSHA_SIGNING_KEY=PLANNER.key (docs/trust.md, \"Signing plans\")");
    write_plan(plan, ALICE, "plan", "plan");
    assert_int_equal(mk_planfile_open(plan, &k, &pf, why, sizeof why), MK_PLANFILE_UNTRUSTED);
    assert_null(pf);
    assert_string_equal(why, "the plan is signed with Ed25519 by a planner key, and this executor's configuration has "
                             "no trust section to check it against: configure trust (docs/trust.md, \"The executor's "
                             "configuration\"), or plan with the project key");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_recorded_when_only_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_below_threshold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_root_twice_counts_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signature_of_another_type_or_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoked_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_equal_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roots_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repinned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_seen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_writable_by_others, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_automation_never_approves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roles_and_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_typed_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_signers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_revoked_and_typed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_no_downgrade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoked_root_stays_revoked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_owned_by_another, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
