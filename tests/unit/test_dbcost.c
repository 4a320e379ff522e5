/* test_dbcost — a database's price from stdlib/pricing/database.json: a
 * pinned class and its size check, the cheapest class that fits, editions,
 * storage types and their IOPS rules, a standby, replicas, backup, extended
 * support, a public address, and a region the source does not price.
 * Expected figures are worked by hand from the goldens the catalog cites
 * (corpus/infracost), never from the code under test. */
#include "tests/unit/unit.h"

#include <math.h>
#include <string.h>

#include "compiler/middle/dbcost.h"

static mk_dbcost_catalog *CAT;

static int setup(void **state)
{
    (void)state;
    char why[600];
    CAT = mk_dbcost_load(MK_SHARE_DIR, why, sizeof why);
    assert_non_null(CAT);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mk_dbcost_free(CAT);
    return 0;
}

#define assert_money(a, b) assert_int_equal((a), llround((b) * 1e6))

/* An RDS MySQL db.t3.large of 20 GiB gp2 in us-east-1, changed per test. */
static mk_dbcost_ask rds(void)
{
    return (mk_dbcost_ask){.cloud = "aws", .region = "us-east-1", .engine = "mysql", .version = "8.0", .klass = "db.t3.large",
                           .cpu = 2, .mem_gib = 8, .storage_gib = 20, .iops = -1};
}

static mk_dbcost_answer price(const mk_dbcost_ask *a) { return mk_dbcost_price(CAT, a); }

/* db_instance_test.golden: $0.136 × 730 = $99.28, 20 GB gp2 × $0.115 = $2.30. */
static void test_pinned_class(void **state)
{
    (void)state;
    mk_dbcost_ask a = rds();
    mk_dbcost_answer d = price(&a);
    assert_int_equal(d.status, MK_DBCOST_PRICED);
    assert_string_equal(d.offering, "rds db.t3.large");
    assert_money(d.monthly, 99.28 + 2.30);
    a.engine = "postgres", a.version = "16"; /* $0.145 × 730 = $105.85 */
    assert_money(price(&a).monthly, 105.85 + 2.30);
}

/* io1 bills at least 100 GB and 1,000 IOPS: 100 × $0.125 + 1,000 × $0.10;
 * 1,000 GB of backup × $0.095. gp3 bills IOPS above 12,000 from 400 GB, and
 * a standby doubles instance, storage and IOPS: db.t4g.small $0.032. */
static void test_storage_types(void **state)
{
    (void)state;
    mk_dbcost_ask a = rds();
    a.storage_type = "io1", a.storage_gib = 50, a.iops = 500, a.backup_gib = 1000;
    assert_money(price(&a).monthly, 99.28 + 12.50 + 100.00 + 95.00);
    a.iops = 1200;
    assert_money(price(&a).monthly, 99.28 + 12.50 + 120.00 + 95.00);
    a = rds();
    a.klass = "db.t4g.small", a.mem_gib = 2, a.storage_type = "gp3", a.storage_gib = 400, a.iops = 14000, a.multi_az = true;
    assert_money(price(&a).monthly, 0.032 * 730 * 2 + 400 * 0.115 * 2 + 2000 * 0.02 * 2);
    a.storage_gib = 20, a.iops = 2000, a.multi_az = false; /* under the 3,000 baseline */
    assert_money(price(&a).monthly, 23.36 + 2.30);
    a.storage_type = "io9";
    mk_dbcost_answer d = price(&a);
    assert_int_equal(d.status, MK_DBCOST_UNPRICED);
    assert_string_equal(d.why, "storage_type io9 is not one of aws's priced types (aurora, gp2, gp3, io1, standard)");
}

/* A storage_type of another cloud takes this one out of the candidates
 * (never unpriced, which placement would count as $0); one no catalog has
 * is unpriced everywhere and E0403 before placement. */
static void test_storage_elsewhere(void **state)
{
    (void)state;
    mk_dbcost_ask a = rds();
    a.cloud = "gcp", a.region = "us-central1", a.klass = NULL, a.storage_type = "gp3";
    mk_dbcost_answer d = price(&a);
    assert_int_equal(d.status, MK_DBCOST_NOT_HERE);
    assert_string_equal(d.why, "storage_type gp3 is sold by aws, not gcp (gcp sells ssd)");
    a = rds();
    a.storage_type = "ssd";
    d = price(&a);
    assert_int_equal(d.status, MK_DBCOST_NOT_HERE);
    assert_string_equal(d.why, "storage_type ssd is sold by gcp, not aws (aws sells aurora, gp2, gp3, io1, standard)");
    const char *near = "x";
    assert_true(mk_dbcost_sells_storage(CAT, "premium", &near));
    assert_null(near);
    assert_false(mk_dbcost_sells_storage(CAT, "gp3x", &near));
    assert_string_equal(near, "gp3");
    assert_false(mk_dbcost_sells_storage(CAT, "", &near));
}

/* Over $1,000,000,000 a month is a mistake, not a price: 3e12 gp3 IOPS. */
static void test_out_of_range(void **state)
{
    (void)state;
    mk_dbcost_ask a = rds();
    a.storage_type = "gp3", a.iops = 3e12;
    mk_dbcost_answer d = price(&a);
    assert_int_equal(d.status, MK_DBCOST_UNPRICED);
    assert_string_equal(d.why, "its price is out of range (over $1,000,000,000 a month): check its sizes and usage");
}

/* RDS SQL Server is priced per edition: EE on db.m5.xlarge $2.336 × 730. */
static void test_editions(void **state)
{
    (void)state;
    mk_dbcost_ask a = rds();
    a.engine = "sqlserver", a.klass = "db.m5.xlarge", a.cpu = 4, a.mem_gib = 16;
    mk_dbcost_answer d = price(&a);
    assert_int_equal(d.status, MK_DBCOST_UNPRICED);
    assert_string_equal(d.why, "sqlserver on aws is priced per edition: set edition (express, web, standard or enterprise)");
    a.edition = "enterprise";
    assert_money(price(&a).monthly, 1705.28 + 2.30);
    a.edition = "standard";
    assert_money(price(&a).monthly, 893.52 + 2.30);
}

static void test_pin_errors(void **state)
{
    (void)state;
    mk_dbcost_ask a = rds();
    a.klass = "db.t3.larg";
    mk_dbcost_answer d = price(&a);
    assert_int_equal(d.status, MK_DBCOST_UNPRICED);
    assert_string_equal(d.why, "instance_class db.t3.larg is not a class the catalogs know (did you mean db.t3.large?)");
    a.klass = "db-custom-1-3840"; /* Cloud SQL's: no candidate on AWS */
    d = price(&a);
    assert_int_equal(d.status, MK_DBCOST_NOT_HERE);
    assert_string_equal(d.why, "instance_class db-custom-1-3840 is sold by gcp, not aws");
    a = rds();
    a.mem_gib = 4;
    d = price(&a);
    assert_int_equal(d.status, MK_DBCOST_UNPRICED);
    assert_string_equal(d.why, "db.t3.large has 2 vCPU and 8 GiB: set cpu = 2 and memory = 8GiB");
}

/* Unpinned: the cheapest non-burstable class (MySQL: db.m5.large $0.171);
 * burstable only when nothing else fits (PostgreSQL: db.t3.large). */
static void test_fit(void **state)
{
    (void)state;
    mk_dbcost_ask a = rds();
    a.klass = NULL;
    mk_dbcost_answer d = price(&a);
    assert_string_equal(d.offering, "rds db.m5.large");
    assert_money(d.monthly, 124.83 + 2.30);
    a.engine = "postgres";
    assert_string_equal(price(&a).offering, "rds db.t3.large");
    a.cpu = 8;
    d = price(&a);
    assert_int_equal(d.status, MK_DBCOST_NOT_HERE);
    assert_string_equal(d.why, "no aws class with >= 8 vCPU and >= 8 GiB priced for postgres: the catalog prices 6 classes (its source prices us-east-1 only)");
}

/* sql_database_instance_test.golden: 1 vCPU $30.15 + 3.75 GB $19.16 (zonal),
 * 10 GB SSD $1.70, an IPv4 address $7.30; regional doubles the instance and
 * storage, a replica adds a zonal instance and its own storage. */
static void test_cloud_sql(void **state)
{
    (void)state;
    mk_dbcost_ask a = {.cloud = "gcp", .region = "us-central1", .engine = "mysql", .version = "8.0", .klass = "db-custom-1-3840",
                       .cpu = 1, .mem_gib = 3.75, .storage_gib = 10, .iops = -1, .public_ip = true};
    mk_dbcost_answer d = price(&a);
    assert_string_equal(d.offering, "cloud-sql db-custom-1-3840");
    assert_money(d.monthly, (0.0413 + 0.007 * 3.75) * 730 + 1.70 + 7.30);
    a.multi_az = true, a.replicas = 1, a.storage_gib = 500;
    assert_money(price(&a).monthly, (0.0413 + 0.007 * 3.75) * 730 * 3 + 500 * 0.17 * 3 + 7.30);
    a = (mk_dbcost_ask){.cloud = "gcp", .region = "us-central1", .engine = "mysql", .klass = "db-g1-small", .cpu = 1,
                        .mem_gib = 1.7, .storage_gib = 10, .iops = -1, .backup_gib = 1000};
    assert_money(price(&a).monthly, 25.55 + 1.70 + 80.00);
}

/* A region the source does not price: its one region's figures, said. */
static void test_elsewhere(void **state)
{
    (void)state;
    mk_dbcost_ask a = {.cloud = "gcp", .region = "europe-west1", .engine = "postgres", .cpu = 2, .mem_gib = 8, .storage_gib = 100,
                       .iops = -1};
    mk_dbcost_answer d = price(&a);
    assert_int_equal(d.status, MK_DBCOST_PRICED);
    assert_string_equal(d.offering, "cloud-sql db-custom-2-8192");
    assert_money(d.monthly, (0.0413 * 2 + 0.007 * 8) * 730 + 100 * 0.17);
    assert_string_equal(d.why, "us-central1's figures, as the catalog has none for europe-west1 (its source prices us-central1 only)");
    a.region = "us-central1";
    assert_null(price(&a).why);
}

/* Extended support: $0.10 a vCPU-hour for MySQL 5.7.x, not 8.0 nor "5.70". */
static void test_extended_support(void **state)
{
    (void)state;
    mk_dbcost_ask a = rds();
    a.version = "5.7.44";
    assert_money(price(&a).monthly, 99.28 + 2.30 + 146.00);
    a.version = "5.70";
    assert_money(price(&a).monthly, 99.28 + 2.30);
}

/* Azure MySQL: IOPS beyond 300 + 3 a GB at $0.06 (500 - 360 = 140);
 * PostgreSQL flexible storage carries its IOPS. */
static void test_azure_iops(void **state)
{
    (void)state;
    mk_dbcost_ask a = {.cloud = "azure", .region = "westus", .engine = "mysql", .klass = "MO_Standard_E4ds_v4", .cpu = 4,
                       .mem_gib = 32, .storage_gib = 20, .iops = 500};
    assert_money(price(&a).monthly, 0.5244 * 730 + 20 * 0.138 + 140 * 0.06); /* $382.81 + $2.76 + $8.40 */
    a = (mk_dbcost_ask){.cloud = "azure", .region = "westus", .engine = "postgres", .klass = "GP_Standard_D4s_v3", .cpu = 4,
                        .mem_gib = 16, .storage_gib = 32, .iops = 5000};
    assert_money(price(&a).monthly, 0.39 * 730 + 32 * 0.138);
}

/* mssql_database_test.golden (eastus): SQL Server on Azure is SQL Database;
 * HS_Gen5_2 $0.36532 an hour, its licence $0.09997 a vCore-hour (the
 * primary's only), 100 GB × $0.25; two read replicas on its storage. */
static void test_sql_database(void **state)
{
    (void)state;
    mk_dbcost_ask a = {.cloud = "azure", .region = "eastus", .engine = "sqlserver", .klass = "HS_Gen5_2", .cpu = 2,
                       .mem_gib = 10.2, .storage_gib = 100, .iops = -1};
    mk_dbcost_answer d = price(&a);
    assert_string_equal(d.offering, "sql-database HS_Gen5_2");
    assert_money(d.monthly, 0.36532 * 730 + 0.09997 * 2 * 730 + 100 * 0.25);
    a.replicas = 2;
    assert_money(price(&a).monthly, 0.36532 * 730 * 3 + 0.09997 * 2 * 730 + 100 * 0.25);
    a.region = "westus"; /* flexible servers' region: SQL Database is not priced there */
    d = price(&a);
    assert_int_equal(d.status, MK_DBCOST_NOT_HERE);
}

/* Aurora (db_instance_test.golden): db.t3.small Aurora MySQL $0.041 an
 * hour, backup $0.021 a GB; storage is the cluster's one volume at $0.10 a
 * GB-month (rds_cluster_test.golden), not doubled by a standby. */
static void test_aurora(void **state)
{
    (void)state;
    mk_dbcost_ask a = rds();
    a.engine = "aurora-mysql", a.klass = "db.t3.small", a.mem_gib = 2, a.backup_gib = 1000;
    assert_money(price(&a).monthly, 29.93 + 20 * 0.10 + 21.00);
    a.multi_az = true;
    assert_money(price(&a).monthly, 29.93 * 2 + 20 * 0.10 + 21.00);
    /* Aurora is AWS's alone: Cloud SQL's rates for every engine do not sell it */
    a = rds();
    a.engine = "aurora-postgresql", a.version = "16", a.klass = NULL;
    a.cloud = "gcp", a.region = "us-central1";
    mk_dbcost_answer d = price(&a);
    assert_int_equal(d.status, MK_DBCOST_NOT_HERE);
    assert_string_equal(d.why, "engine aurora-postgresql is sold by aws only, not gcp");
    a.engine = "aurora-mysql", a.cloud = "azure", a.region = "eastus";
    d = price(&a);
    assert_int_equal(d.status, MK_DBCOST_NOT_HERE);
    assert_string_equal(d.why, "engine aurora-mysql is sold by aws only, not azure");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pinned_class, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storage_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storage_elsewhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_editions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pin_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cloud_sql, setup, teardown),
        cmocka_unit_test_setup_teardown(test_elsewhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extended_support, setup, teardown),
        cmocka_unit_test_setup_teardown(test_azure_iops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sql_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aurora, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
