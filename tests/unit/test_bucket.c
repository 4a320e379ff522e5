/* test_bucket — the shared bucket helpers (runtime/providers/bucket.h):
 * the name made from an address, the enforceability table (note [bucket
 * enforce]) and the read's form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "runtime/providers/bucket.h"

static void name_is(const char *address, const char *want)
{
    char buf[64];
    assert_true(mk_prov_bucket_name(address, buf, sizeof buf));
    assert_string_equal(buf, want);
    assert_true(mk_prov_bucket_name_ok(buf));
}

static void test_name(void **st)
{
    (void)st;
    name_is("bucket.logs", "logs");
    name_is("bucket.logs[\"EU\"]", "logs-eu");
    name_is("bucket.Data_Lake[3]", "data-lake-3");
    name_is("module.team.bucket.assets", "assets");
    name_is("bucket.a", "axx");
    name_is("bucket.k2", "k2x"); /* never bucket.k20's name */
    name_is("bucket.__", "xxx");
    name_is("bucket.x[\"a.bucket.b\"]", "x-a-bucket-b");
    name_is("bucket.ab__--__cd", "ab-cd");
    char longname[200] = "bucket.";
    for (int i = 0; i < 70; i++)
        strcat(longname, i == 62 ? "_" : "a");
    char buf[64];
    assert_true(mk_prov_bucket_name(longname, buf, sizeof buf));
    assert_int_equal(strlen(buf), 62); /* cut at 63, then the trailing hyphen trimmed */
    assert_true(mk_prov_bucket_name_ok(buf));
    assert_false(mk_prov_bucket_name("bucket.logs", buf, 10));
}

static void test_name_ok(void **st)
{
    (void)st;
    assert_true(mk_prov_bucket_name_ok("my-bucket-1"));
    assert_false(mk_prov_bucket_name_ok("ab"));
    assert_false(mk_prov_bucket_name_ok("-ab"));
    assert_false(mk_prov_bucket_name_ok("ab-"));
    assert_false(mk_prov_bucket_name_ok("a--b"));
    assert_false(mk_prov_bucket_name_ok("Abc"));
    assert_false(mk_prov_bucket_name_ok("a.bc"));
    json_t *a = json_pack("{s:s}", "bucket_name", "given-name");
    char buf[64];
    assert_true(mk_prov_bucket_name_of(a, "bucket.x", buf, sizeof buf));
    assert_string_equal(buf, "given-name");
    json_object_set_new(a, "bucket_name", json_null());
    assert_true(mk_prov_bucket_name_of(a, "bucket.x", buf, sizeof buf));
    assert_string_equal(buf, "xxx");
    json_decref(a);
}

static void test_apis(void **st)
{
    (void)st;
    unsigned m;
    char why[200];
    assert_true(mk_prov_bucket_apis(NULL, 7, &m, why, sizeof why));
    assert_int_equal(m, 7);
    json_t *imp = json_pack("[ss]", "versioning", "tagging");
    assert_true(mk_prov_bucket_apis(imp, 7, &m, why, sizeof why));
    assert_int_equal(m, MK_BUCKET_API_VERSIONING | MK_BUCKET_API_TAGGING);
    json_array_append_new(imp, json_string("lifecycle"));
    assert_false(mk_prov_bucket_apis(imp, 7, &m, why, sizeof why));
    assert_non_null(strstr(why, "`lifecycle` is not a bucket API"));
    json_decref(imp);
}

/* s3rver's case: nothing implemented */
static mk_prov_bucket_backend bare(void)
{
    return (mk_prov_bucket_backend){.kind = "s3", .conn = "store", .settable = 63, .implements = 0,
                                    .vouch_encrypted = -1, .vouch_versioning = -1, .vouch_public_access_block = -1};
}

static json_t *defaults(void)
{
    return json_pack("{s:b,s:b,s:b,s:s,s:n,s:n,s:n,s:n,s:{}}", "encrypted", 0, "public", 0, "versioning", 0,
                     "storage_class", "standard", "retention", "public_access_block", "kms_key", "replication", "tags");
}

static void test_refusals(void **st)
{
    (void)st;
    char why[1000];
    mk_prov_bucket_backend b = bare();
    json_t *a = defaults();
    assert_int_equal(mk_prov_bucket_refusals(&b, "bucket.x", a, why, sizeof why), 0);
    assert_string_equal(why, "");
    /* everything asked at once: one message names each with its key */
    json_object_set_new(a, "encrypted", json_true());
    json_object_set_new(a, "versioning", json_true());
    json_object_set_new(a, "public_access_block", json_true());
    json_object_set_new(a, "public", json_true());
    json_object_set_new(a, "tags", json_pack("{s:s}", "team", "x"));
    json_object_set_new(a, "storage_class", json_string("archive"));
    json_object_set_new(a, "retention", json_string("30d"));
    json_object_set_new(a, "replication", json_true());
    assert_int_equal(mk_prov_bucket_refusals(&b, "bucket.x", a, why, sizeof why), 8);
    assert_non_null(strstr(why, "s3: bucket.x: cannot be enforced on connection store: encrypted = true"));
    assert_non_null(strstr(why, "\"encryption\" in connections.store.implements or \"vouches\": {\"encrypted\""));
    assert_non_null(strstr(why, "versioning = true"));
    assert_non_null(strstr(why, "public_access_block = true"));
    assert_non_null(strstr(why, "public = true (would need \"policy\" in connections.store.implements)"));
    assert_non_null(strstr(why, "tags (would need \"tagging\""));
    assert_non_null(strstr(why, "storage_class = \"archive\""));
    assert_non_null(strstr(why, "retention"));
    assert_non_null(strstr(why, "replication = true"));
    /* the server implementing them (or vouching) lets them through */
    b.implements = MK_BUCKET_API_VERSIONING | MK_BUCKET_API_PUBLIC_ACCESS_BLOCK | MK_BUCKET_API_TAGGING |
                   MK_BUCKET_API_POLICY;
    b.vouch_encrypted = 1;
    assert_int_equal(mk_prov_bucket_refusals(&b, "bucket.x", a, why, sizeof why), 3);
    assert_null(strstr(why, "encrypted"));
    /* vouched encryption cannot be switched off; nor can Azure's */
    json_object_set_new(a, "encrypted", json_false());
    assert_int_equal(mk_prov_bucket_refusals(&b, "bucket.x", a, why, sizeof why), 4);
    assert_non_null(strstr(why, "encrypted = false"));
    /* a kms_key needs the encryption API itself */
    json_decref(a);
    a = defaults();
    json_object_set_new(a, "encrypted", json_true());
    json_object_set_new(a, "kms_key", json_string("arn:aws:kms:k"));
    assert_int_equal(mk_prov_bucket_refusals(&b, "bucket.x", a, why, sizeof why), 1);
    assert_non_null(strstr(why, "kms_key"));
    b.implements |= MK_BUCKET_API_ENCRYPTION;
    assert_int_equal(mk_prov_bucket_refusals(&b, "bucket.x", a, why, sizeof why), 0);
    json_decref(a);
}

static void test_refusals_azure(void **st)
{
    (void)st;
    char why[1000];
    mk_prov_bucket_backend b = {.kind = "azure_blob", .conn = "blobs", .settable = MK_BUCKET_API_TAGGING |
                                MK_BUCKET_API_PUBLIC_ACCESS, .implements = MK_BUCKET_API_TAGGING |
                                MK_BUCKET_API_PUBLIC_ACCESS, .vouch_encrypted = -1, .vouch_versioning = -1,
                                .vouch_public_access_block = -1, .always_encrypted = true};
    json_t *a = defaults();
    json_object_set_new(a, "encrypted", json_true());
    json_object_set_new(a, "public", json_true());
    assert_int_equal(mk_prov_bucket_refusals(&b, "bucket.x", a, why, sizeof why), 0);
    json_object_set_new(a, "versioning", json_true());
    assert_int_equal(mk_prov_bucket_refusals(&b, "bucket.x", a, why, sizeof why), 1);
    /* the account's setting: only vouches can say it, never implements */
    assert_non_null(strstr(why, "versioning = true (would need \"vouches\": {\"versioning\": …} on connections.blobs)"));
    json_object_set_new(a, "encrypted", json_false());
    assert_int_equal(mk_prov_bucket_refusals(&b, "bucket.x", a, why, sizeof why), 2);
    assert_non_null(strstr(why, "encrypts every object at rest"));
    json_decref(a);
}

static void test_form(void **st)
{
    (void)st;
    json_t *rec = defaults();
    json_object_set_new(rec, "id", json_string("x00"));
    json_t *tags = json_pack("{s:s}", "team", "y");
    mk_prov_bucket_seen s = {.encrypted = -1, .versioning = 1, .public_access_block = 0, .public_read = -1,
                             .tags = tags, .id = "x00"};
    json_t *o = mk_prov_bucket_form(rec, &s);
    assert_true(json_is_true(json_object_get(o, "versioning")));
    assert_true(json_is_false(json_object_get(o, "encrypted")));       /* not asked: as recorded */
    assert_true(json_is_null(json_object_get(o, "public_access_block"))); /* null and off: not asked */
    assert_true(json_equal(json_object_get(o, "tags"), tags));
    json_decref(o);
    /* nothing seen: reads as recorded */
    s = (mk_prov_bucket_seen){.encrypted = -1, .versioning = -1, .public_access_block = -1, .public_read = -1};
    o = mk_prov_bucket_form(rec, &s);
    assert_true(json_equal(o, rec));
    json_decref(o);
    json_decref(tags);
    json_decref(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name),       cmocka_unit_test(test_name_ok),        cmocka_unit_test(test_apis),
        cmocka_unit_test(test_refusals),   cmocka_unit_test(test_refusals_azure), cmocka_unit_test(test_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
