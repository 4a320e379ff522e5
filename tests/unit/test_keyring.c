/* The executor's keys (runtime/keyring.c): sealing to its X25519 key bound
 * to a resource's address and an attribute's path opens only there, with
 * that key, and untouched; a value sealed by another implementation of
 * docs/trust.md opens; fingerprints are the HMAC the document gives; the
 * key directory's files are refused when others can read them. */
#include "tests/unit/unit.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/keyring.h"

/* A fixed key: the X25519 private key whose 32 bytes are 0x40..0x5f. */
#define FIXED_PEM "-----BEGIN PRIVATE KEY-----\n" \
                  "MC4CAQAwBQYDK2VuBCIEIEBBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f\n" \
                  "-----END PRIVATE KEY-----\n"
#define FIXED_PUB "x25519:eaYx7t4b+cmPEgMs3q3Q56B5OY/HhriMyEbsia+FpRo="
#define FIXED_ID "67ca2ffd6fe9efab"
/* "hunter2" sealed to FIXED_PUB for database.orders ["password"] by an
 * independent implementation of docs/trust.md (Python's `cryptography`:
 * X25519PrivateKey.exchange, HKDF(SHA256, 32, salt = eph.pub + pub,
 * info = b"moksha-seal/v1"), AESGCM(key).encrypt(nonce, text,
 * b"moksha-seal/v1\0database.orders\0[\"password\"]")), with the ephemeral
 * key 0x60..0x7f and the nonce 0x00..0x0b. */
#define PY_SEALED "Z13VdO13iTELPS52gfN5C0ZsdzsVIf7PNld5WDcepS8AAQIDBAUGBwgJCgvPXho30iprlpJHdPbm9fsqiaA4ZWp/oA=="

static EVP_PKEY *fixed(void)
{
    EVP_PKEY *k = mk_keyring_x25519_read(FIXED_PEM, strlen(FIXED_PEM));
    assert_non_null(k);
    return k;
}

static void test_fixed_key_text_and_id(void **state)
{
    (void)state;
    EVP_PKEY *k = fixed();
    uint8_t pub[32];
    char text[53], id[17], line[64];
    assert_true(mk_keyring_x25519_pub(k, pub));
    mk_keyring_pub_text(pub, text);
    mk_keyring_key_id(pub, id);
    mk_keyring_pub_line(pub, line);
    assert_string_equal(text, FIXED_PUB);
    assert_string_equal(id, FIXED_ID);
    assert_string_equal(line, FIXED_PUB " executor\n");
    mk_keyring_x25519_free(k);
}

static void test_opens_what_another_implementation_sealed(void **state)
{
    (void)state;
    EVP_PKEY *k = fixed();
    size_t n = 0;
    char *t = mk_keyring_unseal_with(k, "database.orders", "[\"password\"]", PY_SEALED, &n);
    assert_non_null(t);
    assert_int_equal(n, 7);
    assert_string_equal(t, "hunter2");
    free(t);
    mk_keyring_x25519_free(k);
}

static void test_round_trip_and_every_refusal(void **state)
{
    (void)state;
    EVP_PKEY *k = fixed(), *other = mk_keyring_x25519_new();
    uint8_t pub[32];
    assert_true(mk_keyring_x25519_pub(k, pub));
    char *s = mk_keyring_seal_to(pub, "database.orders", "[\"env\",\"DB_PASSWORD\"]", "s3cr\0t", 6);
    assert_non_null(s);
    assert_int_equal(strlen(s), 4 * ((32 + 12 + 6 + 16 + 2) / 3));
    size_t n = 0;
    char *t = mk_keyring_unseal_with(k, "database.orders", "[\"env\",\"DB_PASSWORD\"]", s, &n);
    assert_non_null(t);
    assert_int_equal(n, 6);
    assert_memory_equal(t, "s3cr\0t", 6);
    free(t);
    assert_null(mk_keyring_unseal_with(k, "database.other", "[\"env\",\"DB_PASSWORD\"]", s, &n)); /* another resource */
    assert_null(mk_keyring_unseal_with(k, "database.orders", "[\"env\",\"OTHER\"]", s, &n));     /* another attribute */
    assert_null(mk_keyring_unseal_with(k, "database.orders", "[\"env\",\"DB_PASSWORD\",0]", s, &n));
    assert_null(mk_keyring_unseal_with(other, "database.orders", "[\"env\",\"DB_PASSWORD\"]", s, &n)); /* another key */
    for (size_t i = 0; i < strlen(s); i += 7) { /* every part: the ephemeral key, the nonce, the text, the tag */
        char *bad = strdup(s);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        assert_null(mk_keyring_unseal_with(k, "database.orders", "[\"env\",\"DB_PASSWORD\"]", bad, &n));
        free(bad);
    }
    assert_null(mk_keyring_unseal_with(k, "database.orders", "[\"env\",\"DB_PASSWORD\"]", "AAAA", &n)); /* too short */
    free(s);
    mk_keyring_x25519_free(k);
    mk_keyring_x25519_free(other);
}

/* The expected value, computed independently:
 *   printf 'moksha-fingerprint/v1\000database.orders\000["password"]\000hunter2' |
 *     openssl dgst -sha256 -mac HMAC -macopt hexkey:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f */
static void test_fingerprint_of_fixed_inputs(void **state)
{
    (void)state;
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    char fp[65];
    mk_keyring_fingerprint(key, "database.orders", "[\"password\"]", "hunter2", 7, fp);
    assert_string_equal(fp, "5aa1594dcb28f3f003de6a05a2f6d431329bfebc20a28be7021d607cae1cc01a");
    json_t *path = json_pack("[s]", "password");
    char fp2[65];
    mk_keyring_fingerprint_at(key, "database.orders", path, "hunter2", 7, fp2);
    assert_string_equal(fp2, fp);
    mk_keyring_fingerprint(key, "database.other", "[\"password\"]", "hunter2", 7, fp2);
    assert_string_not_equal(fp2, fp);
    json_decref(path);
}

/* A keyring with the fixed key, as trust mode has it. */
static void trust_ring(mk_keyring *kr)
{
    memset(kr, 0, sizeof *kr);
    kr->trust = kr->loaded = true;
    assert_true(mk_keyring_set_seal(kr, fixed()));
}

static void test_secret_values_at_their_place(void **state)
{
    (void)state;
    mk_keyring kr;
    trust_ring(&kr);
    uint8_t fpkey[32] = {1};
    json_t *path = json_pack("[s, i, s]", "users", 1, "pw");
    json_t *v = mk_keyring_seal_secret(&kr, "pw1", 3, "app.main", path, fpkey);
    json_t *sec = json_object_get(v, "$secret");
    assert_string_equal(json_string_value(json_object_get(sec, "to")), FIXED_ID);
    char fp[65], why[512];
    mk_keyring_fingerprint(fpkey, "app.main", "[\"users\",1,\"pw\"]", "pw1", 3, fp);
    assert_string_equal(json_string_value(json_object_get(sec, "fingerprint")), fp);
    char *t = mk_keyring_open_secret(&kr, v, "app.main", path, why, sizeof why);
    assert_string_equal(t, "pw1");
    free(t);
    json_t *moved = json_pack("[s, i, s]", "users", 0, "pw");
    assert_null(mk_keyring_open_secret(&kr, v, "app.main", moved, why, sizeof why));
    assert_string_equal(why, "app.main: users[0].pw: the sealed secret does not open here: it was sealed for another "
                             "resource or attribute, or altered");
    json_object_set_new(sec, "to", json_string("0123456789abcdef"));
    assert_null(mk_keyring_open_secret(&kr, v, "app.main", path, why, sizeof why));
    assert_non_null(strstr(why, "app.main: users[1].pw: the secret is sealed to key 0123456789abcdef, not to this "
                                "executor's key " FIXED_ID));
    json_object_del(sec, "to"); /* the project key's form: refused in trust mode */
    assert_null(mk_keyring_open_secret(&kr, v, "app.main", path, why, sizeof why));
    assert_non_null(strstr(why, "not sealed to an executor key"));
    json_decref(moved);
    json_decref(path);
    json_decref(v);
    mk_keyring_free(&kr);
}

static char dir[64];

static int setup(void **state)
{
    (void)state;
    mk_test_tmpdir(dir, "/tmp/mk-keyring-XXXXXX");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mk_test_rmdir(dir);
    return 0;
}

static void write_mode(const char *name, const char *text, mode_t mode)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    assert_true(mk_keyring_write_file(p, text, mode, false));
}

static void test_key_directory(void **state)
{
    (void)state;
    mk_keyring kr;
    char why[1024];
    write_mode("seal.key", FIXED_PEM, 0600);
    write_mode("audit.key", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", 0600);
    assert_true(mk_keyring_load_dir(&kr, dir, why, sizeof why));
    assert_string_equal(mk_keyring_id(&kr), FIXED_ID);
    uint8_t head[32];
    mk_keyring_head_key(&kr, head);
    assert_int_equal(head[0], 0x00);
    assert_int_equal(head[31], 0x1f);
    mk_keyring_free(&kr);
    write_mode("audit.key", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", 0640);
    assert_false(mk_keyring_load_dir(&kr, dir, why, sizeof why));
    assert_non_null(strstr(why, "audit.key can be read or written by others (mode 0640)"));
    write_mode("audit.key", "not hex\n", 0600);
    assert_false(mk_keyring_load_dir(&kr, dir, why, sizeof why));
    assert_non_null(strstr(why, "is not an audit key"));
    write_mode("audit.key", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", 0600);
    write_mode("seal.next", FIXED_PEM, 0600); /* an interrupted rotation */
    assert_false(mk_keyring_load_dir(&kr, dir, why, sizeof why));
    assert_non_null(strstr(why, "a key rotation was interrupted"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_key_text_and_id),
        cmocka_unit_test(test_opens_what_another_implementation_sealed),
        cmocka_unit_test(test_round_trip_and_every_refusal),
        cmocka_unit_test(test_fingerprint_of_fixed_inputs),
        cmocka_unit_test(test_secret_values_at_their_place),
        cmocka_unit_test_setup_teardown(test_key_directory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
