#!/bin/sh
# The bench's own pieces at a size that takes a second, so that `make test`
# catches a bench that no longer runs without running the benchmark: the 50
# policies of tests/bench/policies load, run without error and break only the
# rules meant to break; tests/bench/policies.jq finds the same violations,
# policy by policy (when jq is installed); gen.sh writes the HCL and jsonnet
# versions; report.awk judges a figure against its goal and its growth.
. "$TOP/tests/e2e/lib.sh"

export MOKSHA_KEY=be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c1be4c
sh "$TOP/tests/bench/gen.sh" 400 1 >main.moksha
expect_exit 0 grep -c '^policy ' "$TOP/tests/bench/policies/bench.moksha" && expect_contains "$OUT" 50
expect_exit 0 moksha plan --policies "$TOP/tests/bench/policies" -o p.plan
expect_exit 0 moksha policy check --policies "$TOP/tests/bench/policies" --format json
cp "$OUT" checked.json
if command -v jq >/dev/null 2>&1; then
    expect_exit 0 jq -r '.[] | select(.status != "pass" and .status != "warn") | .name' checked.json && expect_empty "$OUT"
    expect_exit 0 jq -r '.[] | select(.status == "warn") | .name' checked.json
    expect_same "$OUT" /dev/stdin <<'END'
bench-compute-memory-per-cpu
bench-bucket-encrypted
bench-bucket-private
bench-database-memory-per-cpu
END
    jq -r '.[] | "\(.name) \(.violations | length)"' checked.json | sort >v.moksha
    expect_exit 0 jq -c '{stack: {name: "bench", env: "prod", owner: "bench"}, var: {region: "eu-west-1"},
        providers: [.providers | to_entries[] | {name: .value.type, alias: .key} + .value.settings],
        resources: [.changes[] | .after + {address, type}]}' p.plan
    cp "$OUT" resources.json
    expect_exit 0 jq -r -f "$TOP/tests/bench/policies.jq" resources.json
    grep -v '^total ' "$OUT" | sort >v.jq
    expect_same v.moksha v.jq
    expect_match "$OUT" '^total [1-9][0-9]*$'
fi

# the peers' versions of the stack: as many resources, in their own syntax
expect_exit 0 sh "$TOP/tests/bench/gen.sh" --hcl 400 1
expect_contains "$OUT" 'resource "compute" "c1" {'
expect_contains "$OUT" 'tags    = merge(local.tags, { role = "web", index = "1" })'
cp "$OUT" main.tf
expect_exit 0 test "$(grep -c '^resource "' main.tf)" -eq "$(grep -c '^resource ' main.moksha)"
expect_exit 0 sh "$TOP/tests/bench/gen.sh" --jsonnet 400 1 && expect_contains "$OUT" '"local.file": {'
expect_exit 1 sh "$TOP/tests/bench/gen.sh" --yaml 400

# the report: a goal met at 100k, one missed, growth judged against 11x
printf '%s\n' "10000 plan_ms 100" "100000 plan_ms 900" "10000 pcheck_ms 50" "100000 pcheck_ms 600" \
    "10000 jq_ms 500" "100000 jq_note > 600 s (timed out)" "10000 violations 5 5" "100000 violations 50 49" >figures
expect_exit 0 awk -v sizes="10000 100000" -v npol=50 -f "$TOP/tests/bench/report.awk" figures
expect_contains "$OUT" '| `moksha plan -o p.plan`, empty state, wall | 100 ms | 900 ms | ≤ 1.0 s | met | 9.0× | met |'
expect_contains "$OUT" '| `moksha policy check`, applied state | 50 ms | 600 ms | ≤ 0.5 s | **missed** | 12.0× | **missed** |'
expect_contains "$OUT" '| 100,000 | > 600 s (timed out) | 600 ms | > 1000× |'
expect_contains "$OUT" '10,000: moksha 5, jq 5 (same); 100,000: moksha 50, jq 49 — **mismatch**.'
