# test_drift_kept.sh — what a plan leaves as the world has it (note [kept]
# in compiler/middle/plan.h): an attribute of lifecycle.ignore_changes is
# not written by an unrelated update, whether the spec changed it or a
# console did; a resource whose drift mode is "report" or "ignore" keeps
# its drifted attributes through an update of another one, which the
# guard lets through (it compares with the observed before). Policies see
# the after that is sent.
. "$TOP/tests/e2e/lib.sh"

export MOKSHA_KEY=6a7e4b1c2d3f40516273849506a7b8c9d0e1f2031425364758697a8b9cadbecf

tags() { "$MOKSHA_EXEC" sim show compute.web | jq -c .attributes.tags; }

# stack LIFECYCLE TEAM: a one-resource stack with that lifecycle and tags
stack() {
    cat > main.moksha <<M
var cpu: int = 2
provider sim {}
resource compute web {
  cpu    = var.cpu
  memory = 4GiB
  image  = "nginx:1.27"
  tags   = { team = "$2" }
  lifecycle { $1 }
}
M
}

mkdir ign && cd ign
stack 'ignore_changes = ["tags"]' a
expect_exit 0 moksha apply --yes
# the spec's tags change and are ignored; the update of cpu keeps the world's
stack 'ignore_changes = ["tags"]' b
expect_exit 0 moksha plan --var cpu=4
expect_contains "$OUT" "cpu = 2 → 4"
expect_not_contains "$OUT" "tags"
expect_exit 0 moksha apply --yes --var cpu=4
expect_exit 0 tags
expect_contains "$OUT" '{"team":"a"}'
# policies judge the after the executor sends: the kept tags, not the spec's
mkdir pol && cat > pol/p.moksha <<'P'
policy "team-b-is-not-applied" {
  enforcement = hard
  for c in changes where c.after != null {
    assert c.after.tags.team != "b" : "${c.address} would be tagged team b"
  }
}
P
expect_exit 0 moksha plan --var cpu=6 --policies pol
expect_not_contains "$OUT" "would be tagged team b"
expect_not_contains "$ERR" "would be tagged team b"
# a console changes them: refreshed, the next update keeps them too
expect_exit 0 "$MOKSHA_EXEC" sim set compute.web 'tags={"team":"console"}'
expect_exit 0 "$MOKSHA_EXEC" refresh
expect_exit 0 moksha plan --var cpu=8 -o p.plan
expect_exit 0 jq -c '.changes[0].after.tags' p.plan
expect_contains "$OUT" '{"team":"console"}'
expect_exit 0 moksha apply p.plan --yes
expect_exit 0 tags
expect_contains "$OUT" '{"team":"console"}'
cd ..

# drift_mode MODE: drift in tags, an update of cpu — applied, tags as the world has them
drift_mode() {
    mkdir "$1" && cd "$1" || return
    stack "drift = \"$1\"" a
    expect_exit 0 moksha apply --yes
    expect_exit 0 "$MOKSHA_EXEC" sim set compute.web 'tags={"team":"console"}'
    expect_exit 0 "$MOKSHA_EXEC" refresh
    expect_exit 0 moksha plan --var cpu=4
    expect_contains "$OUT" "cpu = 2 → 4"
    expect_exit 0 moksha apply --yes --var cpu=4
    expect_exit 0 tags
    expect_contains "$OUT" '{"team":"console"}'
    expect_exit 0 "$MOKSHA_EXEC" sim show compute.web
    expect_contains "$OUT" '"cpu": 4'
    cd ..
}
drift_mode report
drift_mode ignore
