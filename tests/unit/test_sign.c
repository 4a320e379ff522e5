/* sign (compiler/base/sign.h): a fixed Ed25519 key (RFC 8032's first test
 * vector) has the text, id and signature docs/trust.md defines; a signature
 * verifies under its own type only; key files are made 0600/0644, never
 * overwritten, and read only when no one else can read them. */
#include "tests/unit/unit.h"

#include <sys/stat.h>
#include <unistd.h>

#include "compiler/base/sign.h"

#define FIXED_PEM "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n"
#define FIXED_PUB "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define FIXED_ID "21fe31dfa154a261"
/* openssl pkeyutl -sign -rawin over "moksha-signature/v1\0plan\0hello" */
#define FIXED_SIG "oYOSfh4J1cnbS6ZUDtdGRISijFgu3aINoihpXIlA2UpqGt0td0XBpbe+EIpH/BG3AMxF3OhmkP32HXXdVgE0BA=="
#define X25519_PEM "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VuBCIEIEglUmB9Z1j9R1ssDkJA0VJFxIEWD7jFcACcCw3QHidF\n-----END PRIVATE KEY-----\n"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    mk_test_tmpdir(dir, "/tmp/mk-sign-XXXXXX");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mk_test_rmdir(dir);
    return 0;
}

static void key_file(const char *name, const char *pem, mode_t mode, char *path, size_t n)
{
    mk_test_write(dir, name, pem);
    snprintf(path, n, "%s/%s", dir, name);
    assert_int_equal(chmod(path, mode), 0);
}

static struct evp_pkey_st *fixed_key(void)
{
    char path[128], err[512];
    key_file("fixed.key", FIXED_PEM, 0600, path, sizeof path);
    struct evp_pkey_st *k = mk_sign_load(path, err, sizeof err);
    assert_non_null(k);
    return k;
}

static void test_fixed_key_text_and_id(void **state)
{
    (void)state;
    struct evp_pkey_st *k = fixed_key();
    char pub[MK_SIGN_PUB_LEN], id[MK_SIGN_ID_LEN];
    mk_sign_public(k, pub, id);
    assert_string_equal(pub, FIXED_PUB);
    assert_string_equal(id, FIXED_ID);
    uint8_t raw[32];
    assert_true(mk_sign_parse_public(FIXED_PUB, raw));
    assert_int_equal(raw[0], 0xd7);
    assert_int_equal(raw[31], 0x1a);
    mk_sign_free(k);
}

static void test_signature_is_typed(void **state)
{
    (void)state;
    struct evp_pkey_st *k = fixed_key();
    char sig[MK_SIGN_SIG_LEN];
    assert_true(mk_sign_message(k, MK_SIGN_PLAN, "hello", 5, sig));
    assert_string_equal(sig, FIXED_SIG);
    assert_true(mk_sign_verify(FIXED_PUB, MK_SIGN_PLAN, "hello", 5, sig));
    assert_false(mk_sign_verify(FIXED_PUB, MK_SIGN_TRUST, "hello", 5, sig));    /* another type */
    assert_false(mk_sign_verify(FIXED_PUB, MK_SIGN_APPROVAL, "hello", 5, sig));
    assert_false(mk_sign_verify(FIXED_PUB, MK_SIGN_PLAN, "hellO", 5, sig));     /* another payload */
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    assert_false(mk_sign_verify(FIXED_PUB, MK_SIGN_PLAN, "hello", 5, sig));     /* another signature */
    assert_false(mk_sign_verify(FIXED_PUB, MK_SIGN_PLAN, "hello", 5, "short"));
    assert_string_equal(mk_sign_type_name(MK_SIGN_BOUNDARY), "boundary");
    mk_sign_free(k);
}

static void test_public_text_is_canonical(void **state)
{
    (void)state;
    uint8_t raw[32];
    assert_false(mk_sign_parse_public("ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURp=", raw)); /* pad bits set */
    assert_false(mk_sign_parse_public("x25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", raw));
    assert_false(mk_sign_parse_public("ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo", raw));
    assert_false(mk_sign_parse_public("ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHU o=", raw));
    assert_false(mk_sign_parse_public(FIXED_PUB " ", raw));
}

static void test_load_refuses(void **state)
{
    (void)state;
    char path[128], err[512];
    key_file("open.key", FIXED_PEM, 0640, path, sizeof path);
    assert_null(mk_sign_load(path, err, sizeof err));
    assert_non_null(strstr(err, "can be read by others (mode 0640): `chmod 600 "));
    key_file("x.key", X25519_PEM, 0600, path, sizeof path);
    assert_null(mk_sign_load(path, err, sizeof err));
    assert_non_null(strstr(err, "is not an Ed25519 key"));
    key_file("junk.key", "not a key\n", 0600, path, sizeof path);
    assert_null(mk_sign_load(path, err, sizeof err));
    assert_non_null(strstr(err, "is not a PEM private key"));
    snprintf(path, sizeof path, "%s/missing.key", dir);
    assert_null(mk_sign_load(path, err, sizeof err));
    assert_non_null(strstr(err, "No such file"));
}

static void test_generate(void **state)
{
    (void)state;
    char pub[MK_SIGN_PUB_LEN], id[MK_SIGN_ID_LEN], err[512], path[128], line[256];
    assert_true(mk_sign_generate(dir, "alice", pub, id, err, sizeof err));
    struct stat sb;
    snprintf(path, sizeof path, "%s/alice.key", dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    struct evp_pkey_st *k = mk_sign_load(path, err, sizeof err);
    assert_non_null(k);
    char pub2[MK_SIGN_PUB_LEN], id2[MK_SIGN_ID_LEN];
    mk_sign_public(k, pub2, id2);
    assert_string_equal(pub, pub2);
    assert_string_equal(id, id2);
    mk_sign_free(k);
    snprintf(path, sizeof path, "%s/alice.pub", dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0644);
    FILE *f = fopen(path, "r");
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    char want[256];
    snprintf(want, sizeof want, "%s alice\n", pub);
    assert_string_equal(line, want);
    /* never over an existing key: the files stay as they were */
    assert_false(mk_sign_generate(dir, "alice", pub2, id2, err, sizeof err));
    assert_non_null(strstr(err, "a key is never overwritten"));
    unlink(path); /* the .key alone is enough to refuse */
    assert_false(mk_sign_generate(dir, "alice", pub2, id2, err, sizeof err));
    assert_non_null(strstr(err, "alice.key exists"));
    assert_int_equal(access(path, F_OK), -1);
}

static void test_names(void **state)
{
    (void)state;
    assert_true(mk_sign_name_ok("ci", 2));
    assert_true(mk_sign_name_ok("0-a_b", 5));
    assert_false(mk_sign_name_ok("", 0));
    assert_false(mk_sign_name_ok("-a", 2));
    assert_false(mk_sign_name_ok("_a", 2));
    assert_false(mk_sign_name_ok("Alice", 5));
    assert_false(mk_sign_name_ok("a.b", 3));
    assert_false(mk_sign_name_ok("a/b", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fixed_key_text_and_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signature_is_typed, setup, teardown),
        cmocka_unit_test(test_public_text_is_canonical),
        cmocka_unit_test_setup_teardown(test_load_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generate, setup, teardown),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
