/* test_storage — disks and buckets priced as sold (compiler/middle/storage.c
 * through the cost model): pinned disk types and their clouds, provisioned
 * IOPS and throughput, Azure's size tiers, snapshots, a compute's root disk,
 * bucket tiers, redundancy, requests and egress tiers, and E0403 for a disk
 * nobody sells. Each expected figure is worked out in its comment from the
 * golden or source file the catalog cites, never from the code under test. */
#include "tests/unit/unit.h"

#include <math.h>

#include "compiler/base/diag.h"
#include "compiler/front/eval.h"
#include "compiler/front/program.h"
#include "compiler/middle/cost.h"
#include "compiler/middle/pin.h"

static char dir[64];
static mk_program *P, *LOADER; /* LOADER's diagnostics take the catalogs' */
static mk_cost_catalog *CAT;

/* The catalogs are read once for the group; each test has its own program. */
static int load_catalogs(void **state)
{
    (void)state;
    LOADER = mk_program_new();
    CAT = mk_cost_load(MK_SHARE_DIR, LOADER->diag);
    return CAT ? 0 : -1;
}

static int free_catalogs(void **state)
{
    (void)state;
    mk_cost_free(CAT);
    mk_program_free(LOADER);
    return 0;
}

static int fresh(void **state)
{
    (void)state;
    mk_test_tmpdir(dir, "/tmp/mk-storage-XXXXXX");
    P = mk_program_new();
    return 0;
}

static int done(void **state)
{
    (void)state;
    mk_program_free(P);
    mk_test_rmdir(dir);
    return 0;
}

static void stack(const char *text)
{
    mk_test_write(dir, "main.moksha", text);
    const char *paths[] = {dir};
    assert_true(mk_program_load(P, paths, 1));
    mk_eval_program(P);
    assert_int_equal(mk_diag_errors(P->diag), 0);
}

static mk_cost_quote at(const char *address, const char *cloud, const char *region)
{
    const mk_instance *in = mk_program_instance(P, address);
    assert_non_null(in);
    return mk_cost_price(CAT, in, cloud, region);
}

/* exact micro-dollars (note [money]) */
#define assert_usd(q, usd) (assert_int_equal((q).status, MK_COST_PRICED), assert_int_equal((q).monthly, llround((usd) * 1e6)))
#define assert_why(q, st, text) (assert_int_equal((q).status, (st)), assert_non_null(strstr((q).why, (text))))

/* ebs_volume_test.golden (us-east-1): gp3 40 GB $3.20, 1,000 IOPS above the
 * 3,000 included $5.00, 5 MiB/s above 125 $0.20; io1 30 GB $3.75 + 300 IOPS
 * $19.50. gp2 gives 3 IOPS a GiB: 300 at 100 GiB, so 10,000 IOPS of class ssd
 * go to gp3: 100 × $0.08 + 7,000 × $0.005 = $43. A pinned disk's other
 * clouds are not candidates. */
static void test_aws_disks(void **state)
{
    (void)state;
    stack("resource volume gp3 { size = 40GiB, disk_type = \"gp3\", iops = 4000, throughput = 130 }\n"
          "resource volume io1 { size = 30GiB, disk_type = \"io1\", iops = 300 }\n"
          "resource volume gp2 { size = 100GiB, disk_type = \"gp2\", iops = 10000 }\n"
          "resource volume fast { size = 100GiB, iops = 10000 }\n"
          "resource volume snap { size = 10GiB, disk_type = \"gp2\"\n usage { snapshots = 100GiB } }\n");
    assert_usd(at("volume.gp3", "aws", "us-east-1"), 8.40);
    assert_usd(at("volume.io1", "aws", "us-east-1"), 23.25);
    assert_why(at("volume.gp2", "aws", "us-east-1"), MK_COST_NOT_HERE, "gp2 of 100 GiB gives 300 IOPS, 10000 asked");
    mk_cost_quote q = at("volume.fast", "aws", "us-east-1");
    assert_usd(q, 43.00);
    assert_string_equal(q.offering, "ebs-gp3");
    assert_why(at("volume.gp3", "gcp", "us-central1"), MK_COST_NOT_HERE, "gcp sells no disk_type gp3");
    /* 10 GiB of gp2 $1.00 and 100 GiB of snapshots at EBS's $0.05 */
    assert_usd(at("volume.snap", "aws", "us-east-1"), 6.00);
}

/* managed_disk_test.golden (eastus): P4 (32 GiB) $5.28; Ultra 2,000 GiB is
 * billed as 2,048 × $0.119722 = $245.190656, 4,000 IOPS × $0.04964 = $198.56,
 * 20 MB/s × $0.3495 = $6.99. 200 GiB of Premium_LRS is P15 (256 GiB), a tier
 * the corpus does not price: 256 × P4's $0.165 = $42.24, and it says so. */
static void test_azure_tiers(void **state)
{
    (void)state;
    stack("resource volume p4 { size = 20GiB, disk_type = \"Premium_LRS\" }\n"
          "resource volume p15 { size = 200GiB, disk_type = \"Premium_LRS\" }\n"
          "resource volume ultra { size = 2000GiB, disk_type = \"UltraSSD_LRS\", iops = 4000, throughput = 20 }\n"
          "resource volume v2 { size = 100GiB, disk_type = \"PremiumV2_LRS\" }\n");
    assert_usd(at("volume.p4", "azure", "eastus"), 5.28);
    mk_cost_quote q = at("volume.p15", "azure", "eastus");
    assert_usd(q, 42.24);
    assert_non_null(strstr(q.why, "P15 (256 GiB): no source prices this tier"));
    assert_usd(at("volume.ultra", "azure", "eastus"), 450.740656);
    assert_why(at("volume.v2", "azure", "eastus"), MK_COST_NOT_HERE, "no source prices PremiumV2_LRS in eastus");
}

/* A disk larger than the cloud's largest tier (Premium_LRS P80, 32,767 GiB)
 * is not sold there: not a candidate, never unpriced and so free. */
static void test_past_largest_tier(void **state)
{
    (void)state;
    stack("resource volume big { size = 40000GiB, disk_type = \"Premium_LRS\" }\n");
    mk_cost_quote q = at("volume.big", "azure", "eastus");
    assert_int_equal(q.status, MK_COST_NOT_HERE);
    assert_string_equal(q.why, "40000 GiB is larger than the largest Premium_LRS tier");
}

/* compute_disk_test.golden (us-central1): pd-extreme 40 GB $5.00 + 5,000
 * IOPS at $0.065 = $330.00. Its IOPS price is us-central1's only: elsewhere
 * the disk is not a candidate, and says so. */
static void test_gcp_iops(void **state)
{
    (void)state;
    stack("resource volume x { size = 40GiB, disk_type = \"pd-extreme\", iops = 5000 }\n");
    assert_usd(at("volume.x", "gcp", "us-central1"), 330.00);
    assert_why(at("volume.x", "gcp", "europe-west1"), MK_COST_NOT_HERE, "no price for pd-extreme IOPS in europe-west1");
}

/* A root disk is a line of its compute's quote: 100 GiB of pd-ssd ($0.17,
 * pricing.yml us-central1) instead of the default pd-standard ($0.04) costs
 * 100 × $0.13 = $13.00 more for the same machine. gp3 is sold by AWS only. */
static void test_root_disk(void **state)
{
    (void)state;
    stack("resource compute a { cpu = 2, memory = 4GiB, image = \"x\", disk = 100GiB }\n"
          "resource compute b { cpu = 2, memory = 4GiB, image = \"x\", disk = 100GiB, disk_type = \"pd-ssd\" }\n");
    mk_cost_quote a = at("compute.a", "gcp", "us-central1"), b = at("compute.b", "gcp", "us-central1");
    assert_int_equal(a.status, MK_COST_PRICED);
    assert_string_equal(a.offering, b.offering);
    assert_int_equal(b.monthly - a.monthly, 13000000);
    assert_why(at("compute.b", "aws", "us-east-1"), MK_COST_NOT_HERE, "its root disk: aws sells no disk_type pd-ssd");
}

/* S3 Standard by tier: 51,200 × $0.023 + 460,800 × $0.022 + 88,000 × $0.021
 * = $13,163.20, with 10,000 PUT ($0.005 per 1,000) and 10,000 GET ($0.0004)
 * = $13,163.254. One Zone-IA is S3's only local class: null redundancy finds
 * it; geo is sold by no S3 class. GCS egress by tier: 1,024 × $0.12 + 9,216 ×
 * $0.11 + 4,610 × $0.08 = $1,505.44. */
static void test_buckets(void **state)
{
    (void)state;
    stack("resource bucket big {\n usage { stored = 600000GiB, requests = 10000, reads = 10000 } }\n"
          "resource bucket onezone { storage_class = \"one_zone_infrequent\"\n usage { stored = 1000GiB } }\n"
          "resource bucket geo { redundancy = \"geo\" }\n"
          "resource bucket out {\n usage { egress = 14850GiB } }\n");
    assert_usd(at("bucket.big", "aws", "us-east-1"), 13163.254);
    mk_cost_quote q = at("bucket.onezone", "aws", "us-east-1");
    assert_usd(q, 10.00);
    assert_string_equal(q.offering, "s3-one-zone-ia");
    assert_why(at("bucket.geo", "aws", "us-east-1"), MK_COST_NOT_HERE, "class standard with geo redundancy");
    q = at("bucket.geo", "gcp", "europe-west1");
    assert_string_equal(q.offering, "gcs-standard-multi");
    assert_usd(at("bucket.out", "gcp", "us-central1"), 1505.44);
}

/* A disk_type no catalog sells is E0403, with the closest name sold. */
static void test_unknown_disk(void **state)
{
    (void)state;
    stack("resource volume v { size = 10GiB, disk_type = \"pd-sdd\" }\n"
          "resource volume ok { size = 10GiB, disk_type = \"pd-ssd\" }\n");
    assert_false(mk_pin_check(CAT, P));
    assert_int_equal(mk_diag_errors(P->diag), 1);
    assert_why(at("volume.v", "gcp", "us-central1"), MK_COST_UNPRICED, "did you mean pd-ssd?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_aws_disks, fresh, done),
        cmocka_unit_test_setup_teardown(test_azure_tiers, fresh, done),
        cmocka_unit_test_setup_teardown(test_past_largest_tier, fresh, done),
        cmocka_unit_test_setup_teardown(test_gcp_iops, fresh, done),
        cmocka_unit_test_setup_teardown(test_root_disk, fresh, done),
        cmocka_unit_test_setup_teardown(test_buckets, fresh, done),
        cmocka_unit_test_setup_teardown(test_unknown_disk, fresh, done),
    };
    return cmocka_run_group_tests(tests, load_catalogs, free_catalogs);
}
