/* Sealing to the executor (compiler/base/seal.c) against docs/trust.md's
 * bytes: a fixed key's text and id, a known-answer seal and fingerprint
 * computed apart from moksha, and an opener of the test's own (the X25519
 * private side, HKDF written out from RFC 5869 with HMAC) that proves a
 * sealed secret opens only at the address and path it was sealed for and
 * not once a byte of it changes. MOKSHA_SEAL_TO's forms: the key text, a
 * seal.pub file, and what is refused. */
#include "tests/unit/unit.h"

#include <sys/stat.h>
#include <unistd.h>

#include "compiler/base/key.h"
#include "compiler/base/mem.h"
#include "compiler/base/seal.h"
#include "compiler/base/sign.h"
#include "tests/unit/seal_open.h"

static void test_key_text_and_id(void **state)
{
    (void)state;
    uint8_t pub[32], want[32];
    char id[17];
    mk_test_exec_public(pub);
    mk_test_hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", want, 32);
    assert_memory_equal(pub, want, 32);
    mk_sign_id(pub, id);
    assert_string_equal(id, EXEC_ID);
    /* a .pub line: the key, then its name */
    assert_true(mk_seal_parse_pub("  " EXEC_PUBLIC " executor\n", strlen("  " EXEC_PUBLIC " executor\n"), pub));
    const char *bad[] = {"3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=", "ed25519:3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=",
                         "x25519:3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK0=", "x25519:3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08",
                         "x25519:3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK0*=", "x25519:", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(mk_seal_parse_pub(bad[i], strlen(bad[i]), pub));
}

/* The bytes both sides agree on, computed apart from moksha with Python's
 * `cryptography` (X25519PrivateKey.exchange, HKDF(SHA256, 32, salt, info),
 * AESGCM.encrypt): the fresh key RFC 7748's Alice, the nonce 00 01 … 0b. */
static void test_known_answer(void **state)
{
    (void)state;
    uint8_t pub[32], eph[32], nonce[12];
    mk_test_exec_public(pub);
    mk_test_hex(EPH_PRIVATE, eph, 32);
    mk_test_hex("000102030405060708090a0b", nonce, 12);
    char *s = mk_seal_seal_with(pub, eph, nonce, "database.orders", "[\"password\"]", "hunter2", 7);
    assert_string_equal(s, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmoAAQIDBAUGBwgJCgsXUQSfJVPi79F/yXUw+tnYosVm+muBCw==");
    char *plain = mk_test_open(s, "database.orders", "[\"password\"]");
    assert_string_equal(plain, "hunter2");
    free(plain);
    mk_mem_free(s);
}

static void test_round_trip_and_binding(void **state)
{
    (void)state;
    uint8_t pub[32];
    mk_test_exec_public(pub);
    const char *path = "[\"env\",\"DB_PASSWORD\"]";
    char *s = mk_seal_seal(pub, "service.api", path, "correct horse", 13), *t = mk_seal_seal(pub, "service.api", path, "correct horse", 13);
    assert_string_not_equal(s, t); /* a fresh key and nonce each time */
    char *plain = mk_test_open(s, "service.api", path);
    assert_string_equal(plain, "correct horse");
    free(plain);
    /* moved to another attribute, another element, another resource: it does not open */
    assert_null(mk_test_open(s, "service.api", "[\"env\",\"OTHER\"]"));
    assert_null(mk_test_open(s, "service.api", "[\"env\"]"));
    assert_null(mk_test_open(s, "service.web", path));
    assert_null(mk_test_open(s, "service.api\"", path));
    /* one changed byte anywhere (the fresh key, the nonce, the text, the tag) */
    size_t n = strlen(s);
    size_t at[] = {0, 45, 62, n - 6};
    for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
        char *bent = strdup(s);
        bent[at[i]] = bent[at[i]] == 'A' ? 'B' : 'A';
        assert_null(mk_test_open(bent, "service.api", path));
        free(bent);
    }
    mk_mem_free(s);
    mk_mem_free(t);
    /* an empty secret seals and opens too */
    s = mk_seal_seal(pub, "a.b", "[\"x\",1,0]", "", 0);
    plain = mk_test_open(s, "a.b", "[\"x\",1,0]");
    assert_string_equal(plain, "");
    free(plain);
    mk_mem_free(s);
}

/* printf 'moksha-fingerprint/v1\0database.orders\0["password"]\0hunter2' |
 *   openssl dgst -sha256 -mac HMAC -macopt hexkey:000102…1e1f */
static void test_fingerprint(void **state)
{
    (void)state;
    uint8_t key[32];
    char fp[65], other[65];
    mk_test_hex(FP_KEY, key, 32);
    mk_seal_fingerprint(key, "database.orders", "[\"password\"]", "hunter2", 7, fp);
    assert_string_equal(fp, "5aa1594dcb28f3f003de6a05a2f6d431329bfebc20a28be7021d607cae1cc01a");
    mk_seal_fingerprint(key, "database.other", "[\"password\"]", "hunter2", 7, other);
    assert_string_not_equal(fp, other);
    mk_seal_fingerprint(key, "database.orders", "[\"pw\"]", "hunter2", 7, other);
    assert_string_not_equal(fp, other);
    mk_seal_fingerprint(key, "database.orders", "[\"password\"]", "hunter3", 7, other);
    assert_string_not_equal(fp, other);
    key[0] ^= 1;
    mk_seal_fingerprint(key, "database.orders", "[\"password\"]", "hunter2", 7, other);
    assert_string_not_equal(fp, other);
}

static void test_seal_to(void **state)
{
    (void)state;
    mk_key k;
    char err[512], dir[64], path[128];
    memset(&k, 0, sizeof k);
    assert_true(mk_seal_to_load(&k, EXEC_PUBLIC, err, sizeof err));
    assert_true(k.has_seal_to);
    assert_string_equal(k.seal_to_id, EXEC_ID);
    mk_test_tmpdir(dir, "/tmp/mk-seal-XXXXXX");
    mk_test_write(dir, "seal.pub", EXEC_PUBLIC " executor\n");
    snprintf(path, sizeof path, "%s/seal.pub", dir);
    memset(&k, 0, sizeof k);
    assert_true(mk_seal_to_load(&k, path, err, sizeof err));
    assert_string_equal(k.seal_to_id, EXEC_ID);

    memset(&k, 0, sizeof k);
    mk_test_write(dir, "bad.pub", "ed25519:3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08= alice\n");
    snprintf(path, sizeof path, "%s/bad.pub", dir);
    assert_false(mk_seal_to_load(&k, path, err, sizeof err));
    assert_non_null(strstr(err, "is not an X25519 public key"));
    assert_false(k.has_seal_to);
    assert_false(mk_seal_to_load(&k, "ed25519:3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=", err, sizeof err));
    assert_string_equal(err, "MOKSHA_SEAL_TO: ed25519:3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08= is not an X25519 public key "
                             "(`x25519:` and the base64 of 32 bytes, as `moksha-exec key show` prints it)");
    snprintf(path, sizeof path, "%s/missing.pub", dir);
    assert_false(mk_seal_to_load(&k, path, err, sizeof err));
    assert_non_null(strstr(err, "cannot read"));
    assert_non_null(strstr(err, "No such file"));
    assert_false(mk_seal_to_load(&k, dir, err, sizeof err));
    assert_non_null(strstr(err, "is not a regular file"));
    /* the zero point: X25519 with it gives all zeros, a secret sealed to nobody */
    assert_false(mk_seal_to_load(&k, "x25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", err, sizeof err));
    assert_non_null(strstr(err, "is not a key a secret can be sealed to"));
    assert_false(k.has_seal_to);
    mk_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_text_and_id),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_round_trip_and_binding),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_seal_to),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
