/* The executor's reading of a plan (note [plan reading] in
 * runtime/planfile.c), on texts signed here byte for byte, so that a
 * signed plan can hold what moksha never writes: verifying parses no
 * change, taking the changes parses each one and refuses one that does not
 * parse, a key twice is refused at every depth, a damaged file is refused
 * by its digest, and whatever a damaged-then-signed text loads as is what
 * jansson reads from the whole file. */
#include "tests/unit/unit.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <unistd.h>

#include "runtime/planfile.h"

#define KEY "4b1e0c2a9d8f7e6b5a4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"
#define HEAD "{\"format\":\"moksha.plan/v1\",\"stack\":\"demo\",\"state\":{\"lineage\":\"l-1\",\"serial\":3},"

static char path[64];
static mk_planfile_key key;

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* The file for body (compact text closed by `}`), signed as docs/formats.md
 * says: the statement from the body's state when it parses, else l-1/3. */
static void write_signed_n(const char *body, size_t n)
{
    uint8_t d[32], mac[32];
    unsigned int len = sizeof mac;
    char digest[65], value[65];
    SHA256((const uint8_t *)body, n, d);
    hex(d, sizeof d, digest);
    json_t *b = json_loadb(body, n, JSON_DECODE_ANY, NULL), *st = json_is_object(b) ? json_object_get(b, "state") : NULL;
    json_t *stmt = json_pack("{s:s, s:s}", "format", "moksha.plan/v1", "digest", digest);
    if (json_is_string(json_object_get(st, "stack_id")))
        json_object_set(stmt, "stack_id", json_object_get(st, "stack_id"));
    json_object_set_new(stmt, "lineage", json_string(b ? json_string_value(json_object_get(st, "lineage")) ?: "" : "l-1"));
    json_object_set_new(stmt, "serial", json_integer(b ? json_integer_value(json_object_get(st, "serial")) : 3));
    json_decref(b);
    char *s = json_dumps(stmt, JSON_COMPACT);
    json_decref(stmt);
    HMAC(EVP_sha256(), key.sign, sizeof key.sign, (const uint8_t *)s, strlen(s), mac, &len);
    free(s);
    hex(mac, sizeof mac, value);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(body, 1, n - 1, f), n - 1); /* (a NUL in it too) */
    fprintf(f, ",\"signature\":{\"algorithm\":\"HMAC-SHA256\",\"key_id\":\"%s\",\"digest\":\"%s\",\"value\":\"%s\"}}\n",
            key.id, digest, value);
    fclose(f);
}

static void write_signed(const char *body) { write_signed_n(body, strlen(body)); }

static int setup(void **state)
{
    (void)state;
    char why[256];
    strcpy(path, "/tmp/mk-planread-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_true(mk_planfile_key_from_text(&key, KEY, NULL, "test", why, sizeof why));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static mk_planfile_status load(json_t **out, char *why, size_t whylen)
{
    return mk_planfile_load(path, &key, out, why, whylen);
}

/* The column of the n-th occurrence (from 1) of what in the file, from 1. */
static int column_of(const char *what, int nth)
{
    size_t n;
    FILE *f = fopen(path, "r");
    char buf[4096];
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *at = buf - 1;
    while (nth-- > 0)
        assert_non_null(at = strstr(at + 1, what));
    return (int)(at - buf) + 1;
}

/* body, signed, is refused with st, and why says says. */
static void refused(const char *body, mk_planfile_status st, const char *says)
{
    char why[512];
    json_t *got;
    write_signed(body);
    assert_int_equal(load(&got, why, sizeof why), st);
    assert_null(got);
    if (!strstr(why, says))
        fail_msg("%s: `%s`, not `%s`", body, why, says);
}

static void test_verify_parses_no_change(void **state)
{
    (void)state;
    write_signed(HEAD "\"changes\":[{\"id\":1,\"after\":{\"a\":tru}},{\"id\":2,\"after\":{\"b\":1,\"b\":2}}],"
                      "\"totals\":{\"create\":2}}");
    mk_planfile *p;
    char why[512], want[512];
    assert_int_equal(mk_planfile_open(path, &key, &p, why, sizeof why), MK_PLANFILE_OK);
    assert_int_equal(mk_planfile_nchanges(p), 2);
    json_t *plan = mk_planfile_plan(p);
    assert_int_equal(json_array_size(json_object_get(plan, "changes")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(plan, "totals"), "create")), 2);
    json_t *got;
    /* apply parses them all before it runs anything, and refuses the first that does not parse */
    assert_int_equal(mk_planfile_take(p, path, &got, why, sizeof why), MK_PLANFILE_UNREADABLE);
    assert_null(got);
    snprintf(want, sizeof want, "%s:1:%d: not valid JSON", path, column_of("tru}", 1) + 3);
    assert_string_equal(why, want);
    mk_planfile_close(p);
}

static void test_key_twice_refused_at_every_depth(void **state)
{
    (void)state;
    char why[512], want[512];
    json_t *got;
    write_signed(HEAD "\"stack\":\"other\",\"changes\":[]}");
    assert_int_equal(load(&got, why, sizeof why), MK_PLANFILE_UNREADABLE);
    snprintf(want, sizeof want, "%s:1:%d: a key appears twice in one object", path, column_of("\"stack\"", 2) + 1);
    assert_string_equal(why, want);
    write_signed(HEAD "\"changes\":[{\"id\":1,\"action\":\"create\",\"id\":2}]}");
    assert_int_equal(load(&got, why, sizeof why), MK_PLANFILE_UNREADABLE);
    snprintf(want, sizeof want, "%s:1:%d: a key appears twice in one object", path, column_of("\"id\"", 2) + 1);
    assert_string_equal(why, want);
    refused(HEAD "\"changes\":[{\"id\":1,\"after\":{\"tags\":{\"a\":\"x\",\"a\":\"y\"}}}]}",
            MK_PLANFILE_UNREADABLE, "a key appears twice in one object");
    refused(HEAD "\"providers\":{\"sim\":{\"type\":\"sim\",\"type\":\"local\"}},\"changes\":[]}",
            MK_PLANFILE_UNREADABLE, "a key appears twice in one object");
}

static void test_unknown_and_escaped_names_refused(void **state)
{
    (void)state;
    char why[512];
    json_t *got;
    write_signed(HEAD "\"changes\":[{\"id\":1,\"colour\":\"red\"}]}");
    assert_int_equal(load(&got, why, sizeof why), MK_PLANFILE_UNKNOWN_FIELD);
    assert_string_equal(why, "a change has a field `colour` this moksha-exec does not know: the plan was made by a newer "
                             "moksha; plan again with the moksha that goes with this moksha-exec");
    assert_null(got);
    /* "i\u0064" is "id" to jansson: a name written so is none the executor reads */
    refused(HEAD "\"changes\":[{\"i\\u0064\":1}]}", MK_PLANFILE_UNKNOWN_FIELD, "a change has a field `i\\u0064`");
    refused(HEAD "\"changes\":[],\"colour\":1}", MK_PLANFILE_UNKNOWN_FIELD, "the plan has a field `colour`");
    refused("{\"stack\":\"demo\",\"state\":{\"lineage\":\"l-1\",\"serial\":3}}", MK_PLANFILE_NOT_A_PLAN,
            "not a moksha.plan/v1 document");
    refused("{\"format\":\"moksha.plan/v2\",\"state\":{\"lineage\":\"l-1\",\"serial\":3}}", MK_PLANFILE_NOT_A_PLAN,
            "not a moksha.plan/v1 document");
}

/* A name with a NUL in it is no name the executor knows, however its bytes
 * before the NUL read: "outputs\0" is not `outputs` (jansson refuses the
 * whole file, so the executor must too). */
static void test_name_with_a_nul_refused(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        HEAD "\"changes\":[],\"outputs@\":{}}",
        HEAD "\"changes@\":[]}",
        HEAD "\"changes\":[{\"id@\":1}]}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        char body[512], why[512];
        size_t n = strlen(bodies[i]);
        memcpy(body, bodies[i], n + 1);
        *strchr(body, '@') = '\0';
        write_signed_n(body, n);
        json_t *got;
        assert_int_equal(load(&got, why, sizeof why), MK_PLANFILE_UNKNOWN_FIELD);
        assert_null(got);
    }
}

/* Edit the file in place: the byte at the first occurrence of what + off. */
static void poke(const char *what, int off, char c)
{
    FILE *f = fopen(path, "r+");
    assert_int_equal(fseek(f, column_of(what, 1) - 1 + off, SEEK_SET), 0);
    fputc(c, f);
    fclose(f);
}

static void test_damaged_refused_by_the_digest(void **state)
{
    (void)state;
    const char *body = HEAD "\"changes\":[{\"id\":1,\"after\":{\"cpu\":2}}]}";
    char why[512];
    json_t *got;
    write_signed(body);
    assert_int_equal(load(&got, why, sizeof why), MK_PLANFILE_OK);
    json_decref(got);
    poke("\"cpu\":2", 6, '8'); /* still JSON */
    assert_int_equal(load(&got, why, sizeof why), MK_PLANFILE_TAMPERED);
    assert_string_equal(why, "the signature does not match: the plan was altered after it was signed");
    write_signed(body);
    poke("\"cpu\":2", 6, '}'); /* not JSON any more: refused before it is parsed */
    assert_int_equal(load(&got, why, sizeof why), MK_PLANFILE_TAMPERED);
    write_signed(body);
    assert_int_equal(truncate(path, 40), 0);
    assert_int_equal(load(&got, why, sizeof why), MK_PLANFILE_UNREADABLE);
    assert_non_null(strstr(why, "the JSON ends early (is the file cut short?)"));
    FILE *f = fopen(path, "w");
    fputs(body, f);
    fclose(f);
    assert_int_equal(load(&got, why, sizeof why), MK_PLANFILE_UNSIGNED);
    assert_null(got);
}

/* A signed text moksha would not write (blanks, changes before the state)
 * loads as jansson reads the whole file (its changes hold every default the
 * loader would put back); the audit's SHA-256 is the file's. */
static void test_loaded_as_the_whole_file_reads(void **state)
{
    (void)state;
    char why[512];
    json_t *got, *whole;
    write_signed("{\"format\":\"moksha.plan/v1\"}"); /* no state, no changes: serial 0 of lineage "" */
    assert_int_equal(load(&got, why, sizeof why), MK_PLANFILE_OK);
    assert_string_equal(json_string_value(json_object_get(got, "format")), "moksha.plan/v1");
    assert_int_equal(json_object_size(got), 2);
    json_decref(got);
    write_signed("{ \"changes\" : [ {\"id\":1 , \"after\":{\"s\":\"a\\\"]}\"},\"risk\":\"low\"} ,{\"id\":2,\"risk\":\"high\"}],"
                 "\"format\":\"moksha.plan/v1\","
                 "\"state\":{\"lineage\":\"l-1\",\"serial\":3},\"totals\":{\"create\":2}}");
    whole = json_load_file(path, 0, NULL);
    assert_non_null(whole);
    assert_int_equal(load(&got, why, sizeof why), MK_PLANFILE_OK);
    assert_true(json_equal(got, whole));
    json_decref(got);
    json_decref(whole);
    mk_planfile *p;
    char sha[65], want[65];
    assert_int_equal(mk_planfile_open(path, &key, &p, why, sizeof why), MK_PLANFILE_OK);
    mk_planfile_sha256(p, sha);
    FILE *f = fopen(path, "r");
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    uint8_t d[32];
    SHA256((const uint8_t *)buf, n, d);
    hex(d, 32, want);
    assert_string_equal(sha, want);
    mk_planfile_close(p);
}

/* Every one-byte deletion and change of a body, signed again: what loads
 * is exactly what jansson reads from the whole file (the body holds every
 * default the loader would put back). */
static void test_damaged_then_signed_never_misread(void **state)
{
    (void)state;
    const char *body = HEAD "\"changes\":[{\"id\":1,\"address\":\"a.b\",\"after\":{\"t\":{\"k\":\"v\\\\\"},\"l\":[1,"
                            "{\"x\":null}]},\"risk\":\"low\"},{\"id\":2,\"refs\":[\"a.b\"],\"risk\":\"low\"}],"
                            "\"totals\":{\"create\":2}}";
    static const char swaps[] = "\"\\{}[],: 1";
    size_t n = strlen(body), loaded = 0;
    char *buf = malloc(n + 1), why[512];
    for (size_t i = 0; i < n; i++)
        for (size_t s = 0; s < sizeof swaps; s++) {
            if (s == sizeof swaps - 1) /* delete byte i */
                memcpy(buf, body, i), memcpy(buf + i, body + i + 1, n - i);
            else
                memcpy(buf, body, n + 1), buf[i] = swaps[s];
            if (!buf[0] || buf[strlen(buf) - 1] != '}')
                continue;
            write_signed(buf);
            json_t *got, *whole = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
            if (load(&got, why, sizeof why) == MK_PLANFILE_OK) {
                if (!whole || !json_equal(got, whole))
                    fail_msg("misread: %s", buf);
                loaded++;
                json_decref(got);
            }
            json_decref(whole);
        }
    free(buf);
    assert_true(loaded > 100); /* the walk was exercised past verification */
}

/* note [plan defaults]: what exec.c reads of a change the plan left out is
 * put back as the change is parsed — its id (its place), risk low, the
 * nulls of the unknown attributes `after` ends without, in after_unknown's
 * order — and a change with them written loads the same; what is written
 * stays as written, and what the executor does not read (a cost's delta, a
 * placement's offering) stays absent. */
static void test_omitted_defaults_put_back(void **state)
{
    (void)state;
#define PLACED "\"cost\":{\"monthly\":\"1.00\"},\"placement\":{\"providers\":[\"gcp\"],\"regions\":[\"us-central1\"]}"
    write_signed(HEAD "\"changes\":[{\"address\":\"compute.c\",\"after\":{\"ip\":null,\"cpu\":2},"
                      "\"after_unknown\":[\"ip\",\"id\",\"port\"]," PLACED "},"
                      "{\"id\":2,\"address\":\"compute.c\",\"after\":{\"ip\":null,\"cpu\":2,\"id\":null,\"port\":null},"
                      "\"after_unknown\":[\"ip\",\"id\",\"port\"],\"risk\":\"low\"," PLACED "},"
                      "{\"id\":9,\"after\":{\"id\":\"i-1\"},\"after_unknown\":[\"id\"],\"risk\":\"high\"}],"
                      "\"totals\":{\"create\":3}}");
    char why[512];
    json_t *got;
    assert_int_equal(load(&got, why, sizeof why), MK_PLANFILE_OK);
    json_t *changes = json_object_get(got, "changes");
    char *first = json_dumps(json_array_get(changes, 0), JSON_COMPACT);
    assert_string_equal(first, "{\"address\":\"compute.c\",\"after\":{\"ip\":null,\"cpu\":2,\"id\":null,\"port\":null},"
                               "\"after_unknown\":[\"ip\",\"id\",\"port\"]," PLACED ",\"id\":1,\"risk\":\"low\"}");
    free(first);
    json_t *second = json_array_get(changes, 1);
    json_object_set_new(second, "id", json_integer(1));
    assert_true(json_equal(json_array_get(changes, 0), second));
    char *third = json_dumps(json_array_get(changes, 2), JSON_COMPACT);
    assert_string_equal(third, "{\"id\":9,\"after\":{\"id\":\"i-1\"},\"after_unknown\":[\"id\"],\"risk\":\"high\"}");
    free(third);
    json_decref(got);
#undef PLACED
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_verify_parses_no_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_twice_refused_at_every_depth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_and_escaped_names_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_with_a_nul_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_refused_by_the_digest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loaded_as_the_whole_file_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_then_signed_never_misread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_omitted_defaults_put_back, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
