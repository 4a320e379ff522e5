/* test_cost — the cost model's contract: prices pinned to the corpus, the
 * Arm and shared-core rules, usage hours, unpriced cases, and placement
 * choosing the cheapest cloud. Expected figures are computed by hand from the
 * corpus files named in each comment, never from the code under test. */
#include "tests/unit/unit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compiler/middle/cost.h"
#include "compiler/middle/place.h"
#include "compiler/front/eval.h"
#include "compiler/front/program.h"

static char dir[64];
static mk_program *P;
static mk_cost_catalog *CAT;

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/mk-cost-XXXXXX");
    assert_non_null(mkdtemp(dir));
    P = mk_program_new();
    CAT = mk_cost_load(MK_SHARE_DIR, P->diag);
    assert_non_null(CAT);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mk_cost_free(CAT);
    mk_program_free(P);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void run(const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/main.moksha", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    const char *paths[] = {dir};
    assert_true(mk_program_load(P, paths, 1));
    mk_eval_program(P);
    assert_int_equal(mk_diag_errors(P->diag), 0);
}

static const mk_instance *inst(const char *address)
{
    for (size_t i = 0; i < P->ninstances; i++)
        if (strcmp(P->instances[i]->address, address) == 0)
            return P->instances[i];
    fail_msg("no instance %s", address);
    return NULL;
}

static mk_cost_quote price(const char *address, const char *cloud, const char *region)
{
    return mk_cost_price(CAT, inst(address), cloud, region);
}

/* Prices are exact micro-dollars (note [money] in compiler/base/money.h). */
#define assert_money(a, b) assert_int_equal((a), llround((b) * 1e6))

/* aws_ec2_us-east-1_ondemand_linux.csv: the cheapest amd64 non-T rows with
 * >= 2 vCPU and >= 4 GiB are c6a.large 0.076500 (then c5a.large 0.077000):
 * 0.0765 * 730 = $55.845. T types are burstable: t3a.medium 0.037600 * 730 =
 * $27.448 once shared_core = true. Arm: a1.large 0.051000 * 730 = $37.23.
 * Each also has its root disk, 20 GiB of gp2 at $0.10 (ebs_volume_test.golden):
 * $2.00 a month, whatever its hours. */
static void test_aws_compute(void **state)
{
    (void)state;
    run("resource compute a { cpu = 2, memory = 4GiB, image = \"x\" }\n"
        "resource compute s { cpu = 2, memory = 4GiB, image = \"x\", shared_core = true }\n"
        "resource compute r { cpu = 2, memory = 4GiB, image = \"x\", arch = \"arm64\" }\n"
        "resource compute h { cpu = 2, memory = 4GiB, image = \"x\"\n usage { hours = 365 } }\n");
    mk_cost_quote q = price("compute.a", "aws", "us-east-1");
    assert_int_equal(q.status, MK_COST_PRICED);
    assert_string_equal(q.offering, "c6a.large");
    assert_money(q.monthly, 55.845 + 2.00);
    q = price("compute.s", "aws", "us-east-1");
    assert_string_equal(q.offering, "t3a.medium");
    assert_money(q.monthly, 27.448 + 2.00);
    q = price("compute.r", "aws", "us-east-1");
    assert_string_equal(q.offering, "a1.large");
    assert_money(q.monthly, 37.23 + 2.00);
    q = price("compute.h", "aws", "us-east-1"); /* 0.0765 * 365 + the disk */
    assert_money(q.monthly, 27.9225 + 2.00);
}

/* pricing.yml: compute.instance.e2-medium is shared-core (Google sells it
 * as 2 vCPU, 4 GB); without shared_core it is never chosen. Storage: bucket
 * standard us-central1 month 0.02, so 500 GiB stored = $10.00. */
static void test_gcp_rules(void **state)
{
    (void)state;
    run("resource compute a { cpu = 2, memory = 4GiB, image = \"x\" }\n"
        "resource compute s { cpu = 2, memory = 4GiB, image = \"x\", shared_core = true }\n"
        "resource bucket b {\n usage { stored = 500GiB } }\n");
    mk_cost_quote q = price("compute.a", "gcp", "us-central1");
    assert_int_equal(q.status, MK_COST_PRICED);
    assert_string_not_equal(q.offering, "e2-medium");
    q = price("compute.s", "gcp", "us-central1");
    assert_string_equal(q.offering, "e2-medium");
    q = price("bucket.b", "gcp", "us-central1");
    assert_string_equal(q.offering, "gcs-standard");
    assert_money(q.monthly, 10.0);
}

/* Not here: a region the catalog lacks, a size nothing offers (no Arm type
 * has 448 vCPU). Free: a network. */
static void test_unpriced(void **state)
{
    (void)state;
    run("resource compute a { cpu = 2, memory = 4GiB, image = \"x\" }\n"
        "resource compute huge { cpu = 448, memory = 24TiB, image = \"x\", arch = \"arm64\" }\n"
        "resource network n { cidr = \"10.0.0.0/16\" }\n");
    mk_cost_quote q = price("compute.a", "aws", "eu-west-1");
    assert_int_equal(q.status, MK_COST_NOT_HERE);
    assert_non_null(strstr(q.why, "eu-west-1"));
    q = price("compute.huge", "aws", "us-east-1");
    assert_int_equal(q.status, MK_COST_NOT_HERE);
    q = price("network.n", "gcp", "us-central1");
    assert_int_equal(q.status, MK_COST_PRICED);
    assert_money(q.monthly, 0);
}

/* Billed by use, straight from the catalogs: 50 million DNS queries at
 * $0.40 a million; 30 million queue requests at SQS's $0.40 (FIFO $0.50) a
 * million, Pub/Sub's $0.0364, and on Azure FIFO needs Service Bus Standard,
 * $0.0135 an hour × 730 plus $0.80 a million. Unused, they cost $0. */
static void test_priced_by_use(void **state)
{
    (void)state;
    run("resource dns_record www {\n zone = \"example.com\"\n name = \"www\"\n type = \"A\"\n records = [\"198.51.100.7\"]\n"
        " usage { queries = 50000000 }\n}\n"
        "resource queue jobs { usage { requests = 30000000 } }\n"
        "resource queue orders {\n fifo = true\n usage { requests = 30000000 }\n}\n"
        "resource queue idle {}\n");
    mk_cost_quote q = price("dns_record.www", "aws", "us-east-1");
    assert_string_equal(q.offering, "route53");
    assert_money(q.monthly, 20.0);
    q = price("queue.jobs", "aws", "us-east-1");
    assert_string_equal(q.offering, "sqs-standard");
    assert_money(q.monthly, 12.0);
    q = price("queue.orders", "aws", "us-east-1");
    assert_string_equal(q.offering, "sqs-fifo");
    assert_money(q.monthly, 15.0);
    q = price("queue.jobs", "gcp", "us-central1");
    assert_string_equal(q.offering, "pubsub");
    assert_money(q.monthly, 30 * 0.0364);
    q = price("queue.orders", "azure", "eastus");
    assert_string_equal(q.offering, "service-bus-standard");
    assert_money(q.monthly, 0.0135 * 730 + 30 * 0.80);
    q = price("queue.idle", "azure", "eastus");
    assert_int_equal(q.status, MK_COST_PRICED);
    assert_money(q.monthly, 0);
}

/* Placement over [aws, gcp, azure] costs exactly the minimum of the three
 * single-provider placements, and a compute lands with its network. */
static void test_placement_minimum(void **state)
{
    (void)state;
    run("resource compute all { cpu = 4, memory = 16GiB, image = \"x\"\n placement { providers = [aws, gcp, azure] } }\n"
        "resource compute a { cpu = 4, memory = 16GiB, image = \"x\"\n placement { providers = [aws] } }\n"
        "resource compute g { cpu = 4, memory = 16GiB, image = \"x\"\n placement { providers = [gcp] } }\n"
        "resource compute z { cpu = 4, memory = 16GiB, image = \"x\"\n placement { providers = [azure] } }\n"
        "resource network n { cidr = \"10.0.0.0/16\" }\n"
        "resource compute w { cpu = 2, memory = 4GiB, image = \"x\", network = network.n\n"
        "  placement { providers = [gcp], regions = [\"europe-west1\"] } }\n");
    mk_place_report *r = mk_place_run(CAT, P, NULL, NULL, NULL, 0);
    mk_money m[6] = {0};
    const char *where[6] = {0};
    for (size_t i = 0; i < r->nitems; i++) {
        assert_int_equal(r->items[i].q.status, MK_COST_PRICED);
        if (i < 6)
            m[i] = r->items[i].q.monthly, where[i] = r->items[i].q.region;
    }
    mk_money lo = m[1] < m[2] ? m[1] : m[2];
    lo = lo < m[3] ? lo : m[3];
    assert_true(lo > 0);
    assert_int_equal(m[0], lo);
    assert_string_equal(where[4], "europe-west1"); /* the network followed its compute */
    assert_string_equal(where[5], "europe-west1");
    mk_place_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_aws_compute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gcp_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unpriced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_priced_by_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_placement_minimum, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
