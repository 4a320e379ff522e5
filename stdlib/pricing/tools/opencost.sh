#!/bin/sh
# Regenerate stdlib/pricing/opencost.json from the corpus (run from the repository top):
#   sh stdlib/pricing/tools/opencost.sh [CORPUS_DIR] > stdlib/pricing/opencost.json
# Source: corpus/opencost-defaults/aws.json (OpenCost's configs/aws.json; the
# gcp and azure files hold the same rates). OpenCost's provider-neutral rates:
# CPU = USD per vCPU-hour, RAM = USD per GB-hour, storage = USD per GB-hour,
# internetNetworkEgress = USD per GB. moksha uses only the egress rate, for
# clouds whose catalog has none (docs/cost.md, "Fallback").
set -eu
C=${1:-../shared/corpus}
LC_ALL=C awk -F'"' '
$2 == "CPU" || $2 == "RAM" || $2 == "storage" || $2 == "internetNetworkEgress" { r[$2] = $4 }
END {
    print "{"
    print " \"format\": \"moksha.pricing/v1\","
    print " \"cloud\": \"opencost\","
    print " \"currency\": \"USD\","
    print " \"sources\": [{\"what\": \"fallback rates\", \"file\": \"corpus/opencost-defaults/aws.json\", \"repository\": \"https://github.com/opencost/opencost\", \"path\": \"configs/aws.json\", \"commit\": \"0f2dede31e25c75a364d18de4e1f8c86d7d381de\"}],"
    printf " \"vcpu_hour\": %s,\n \"gib_hour\": %s,\n \"storage_gb_month\": %.6f,\n \"egress_gb\": %s\n", r["CPU"], r["RAM"], r["storage"] * 730, r["internetNetworkEgress"]
    print "}"
}' "$C/opencost-defaults/aws.json"
