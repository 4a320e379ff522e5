# policies.jq — the 50 rules of tests/bench/policies/bench.moksha for jq, so
# `make bench` can time jq judging the same resources moksha judges. It is a
# peer to measure against, not a second implementation to keep: each rule
# below says in jq what the policy of the same name says in moksha, and the
# bench checks that both find the same violations on the generated stack.
#
#   jq -r -f tests/bench/policies.jq resources.json
#
# Input: {"stack": {...}, "var": {...}, "providers": [{"name", "alias",
# "root", ...}], "resources": [{"address", "type", every attribute}]} with
# sizes and durations as moksha writes them in JSON ("4GiB", "7d"); the bench
# makes it from the changes of `moksha plan -o` (an attribute left at its
# default may be absent; the rules read it as the default). Output: one line
# per policy, `NAME VIOLATIONS`, then `total N`.

def bytes: if . == null then null else
  capture("^(?<n>[0-9.]+)(?<u>[A-Za-z]*)$") | (.n | tonumber) * ({"": 1, "B": 1, "KB": 1e3, "MB": 1e6,
    "GB": 1e9, "TB": 1e12, "KiB": 1024, "MiB": 1048576, "GiB": 1073741824, "TiB": 1099511627776}[.u]) end;
def seconds: if . == null then null else
  capture("^(?<n>[0-9.]+)(?<u>[a-z]+)$") | (.n | tonumber) * ({"ms": 0.001, "s": 1, "m": 60, "h": 3600,
    "d": 86400}[.u]) end;
def GiB: . * 1073741824;
def TiB: . * 1099511627776;
def day: . * 86400;
# cidrcontains(prefix; cidr) for IPv4: the range cidr lies inside prefix
def ip4: split(".") | map(tonumber) | .[0] * 16777216 + .[1] * 65536 + .[2] * 256 + .[3];
def net4: split("/") | {a: (.[0] | ip4), bits: (.[1] // "32" | tonumber)};
def cidrcontains($prefix; $cidr):
  ($prefix | net4) as $p | ($cidr | net4) as $c | pow(2; 32 - $p.bits) as $m |
  $c.bits >= $p.bits and (($c.a / $m) | floor) == (($p.a / $m) | floor);
def count(f): [f] | length;
# an attribute, or the schema's default when a plan leaves a default out
def attr($k; $d): if has($k) then .[$k] else $d end;
def tag($k): (.tags // {})[$k] // "";

# The resources by type, once, so that a rule walks only its types (as
# moksha's `where r.type in [...]` does through its index by type).
. as $in | $in.stack as $stack | $in.var as $var |
($in.resources | group_by(.type) | map({key: .[0].type, value: .}) | from_entries) as $by |
def of($types): $types[] as $t | ($by[$t] // [])[];
[
  # ---- tags (7) ----
  ["bench-tags-team", count(of(["compute", "network"]) | select(tag("team") == ""))],
  ["bench-tags-owner", count(of(["compute", "network"]) | select(tag("owner") == ""))],
  ["bench-tags-env", count(of(["compute", "network"]) | select(tag("env") == ""))],
  ["bench-tags-env-matches-stack", count(of(["compute", "network", "bucket", "database"]) |
    select(tag("env") != "" and .tags.env != $stack.env))],
  ["bench-tags-count", count(of(["compute", "network", "bucket", "database"]) | select((.tags // {} | length) > 50))],
  ["bench-tags-key-length", count(of(["compute", "network", "bucket", "database"]) | .tags // {} | keys[] |
    select(length > 128))],
  ["bench-tags-value-length", count(of(["compute", "network", "bucket", "database"]) | .tags // {} | .[] |
    select(length > 256))],
  # ---- compute (11) ----
  ["bench-compute-cpu-cap", count(of(["compute"]) | select(.cpu > 64))],
  ["bench-compute-memory-cap", count(of(["compute"]) | select((.memory | bytes) > (256 | GiB)))],
  ["bench-compute-memory-floor", count(of(["compute"]) | select((.memory | bytes) < (1 | GiB)))],
  ["bench-compute-memory-per-cpu", count(of(["compute"]) | select((.memory | bytes) > (.cpu * 8 | GiB)))],
  ["bench-compute-image-pinned", count(of(["compute"]) |
    select((.image | contains(":") and (endswith(":latest") | not)) | not))],
  ["bench-compute-approved-images", count(of(["compute"]) |
    select(.image | split(":")[0] | IN("nginx", "redis", "postgres", "busybox", "python") | not))],
  ["bench-compute-no-public-ip", count(of(["compute"]) | select(.public_ip == true))],
  ["bench-compute-in-network", count(of(["compute"]) | select(.network == null))],
  ["bench-compute-disk-cap", count(of(["compute"]) | select((attr("disk"; "20GiB") | bytes) > (2 | TiB)))],
  ["bench-compute-user-data-secrets", count(of(["compute"]) | select(.user_data != null) |
    select(.user_data | ascii_downcase | contains("password")))],
  ["bench-compute-prod-dedicated", count(of(["compute"]) | select($stack.env == "prod" and .shared_core == true))],
  # ---- buckets (7) ----
  ["bench-bucket-encrypted", count(of(["bucket"]) | select(attr("encrypted"; true) != true))],
  ["bench-bucket-private", count(of(["bucket"]) | select(.public == true))],
  ["bench-bucket-public-encrypted", count(of(["bucket"]) | select(.public == true and attr("encrypted"; true) != true))],
  ["bench-bucket-archive-retention", count(of(["bucket"]) | select(attr("storage_class"; "standard") == "archive" and .retention == null))],
  ["bench-bucket-retention-cap", count(of(["bucket"]) | select(.retention != null) |
    select((.retention | seconds) > (3650 | day)))],
  ["bench-bucket-class", count(of(["bucket"]) | select(attr("storage_class"; "standard") | IN("standard", "infrequent") | not))],
  ["bench-bucket-versioned-retention", count(of(["bucket"]) | select(.retention != null and .versioning != true))],
  # ---- databases (12) ----
  ["bench-database-encrypted", count(of(["database"]) | select(attr("encrypted"; true) != true))],
  ["bench-database-private", count(of(["database"]) | select(.public == true))],
  ["bench-database-engine", count(of(["database"]) | select(.engine | IN("postgres", "mysql") | not))],
  ["bench-database-postgres-version", count(of(["database"]) | select(.engine == "postgres") |
    select(.version | IN("14", "15", "16", "17") | not))],
  ["bench-database-backup-min", count(of(["database"]) | select((attr("backup_retention"; "1d") | seconds) < (7 | day)))],
  ["bench-database-backup-max", count(of(["database"]) | select((attr("backup_retention"; "1d") | seconds) > (35 | day)))],
  ["bench-database-storage-min", count(of(["database"]) | select((.storage | bytes) < (20 | GiB)))],
  ["bench-database-storage-cap", count(of(["database"]) | select((.storage | bytes) > (16 | TiB)))],
  ["bench-database-cpu-cap", count(of(["database"]) | select(.cpu > 64))],
  ["bench-database-memory-cap", count(of(["database"]) | select((.memory | bytes) > (512 | GiB)))],
  ["bench-database-memory-per-cpu", count(of(["database"]) | select((.memory | bytes) < (.cpu * 2 | GiB)))],
  ["bench-database-no-inline-password", count(of(["database"]) | select(.password != null))],
  # ---- networks (5) ----
  ["bench-network-private-range", count(of(["network"]) | select(cidrcontains("10.0.0.0/8"; .cidr) | not))],
  ["bench-network-not-vpn-range", count(of(["network"]) | select(cidrcontains("10.255.0.0/16"; .cidr)))],
  ["bench-network-prefix", count(of(["network"]) | (.cidr | split("/")[1] | tonumber) |
    select(. < 16 or . > 28))],
  ["bench-network-tagged", count(of(["network"]) | select((.tags // {} | length) == 0))],
  ["bench-network-unique", ([of(["network"]) | .cidr] | if (unique | length) == length then 0 else 1 end)],
  # ---- local files (5) ----
  ["bench-file-path-relative", count(of(["local.file"]) |
    select(.path | startswith("/") or contains("..")))],
  ["bench-file-path-files", count(of(["local.file"]) | select(.path | startswith("files/") | not))],
  ["bench-file-not-world-writable", count(of(["local.file"]) | select(.mode // "0644" | .[-1:] |
    IN("0", "1", "4", "5") | not))],
  ["bench-file-names-region", count(of(["local.file"]) | select(.content // "" | contains($var.region) | not))],
  ["bench-file-size", count(of(["local.file"]) | select((.content // "" | length) > 4096))],
  # ---- the stack and its providers (3) ----
  ["bench-stack-env", (if ($stack.env // "") | IN("dev", "staging", "prod") then 0 else 1 end)],
  ["bench-region-allowed", (if $var.region | IN("eu-west-1", "eu-central-1", "us-east-1") then 0 else 1 end)],
  ["bench-provider-local-root", count($in.providers[] | select(.name == "local") |
    select(.root | startswith("/") or startswith("..")))]
] | (.[] | "\(.[0]) \(.[1])"), "total \(map(.[1]) | add)"
