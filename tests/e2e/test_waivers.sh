# test_waivers.sh — waivers as planning takes them (note [waivers] in
# compiler/pipeline.c, docs/policies.md "Waivers"): a signed waiver of one
# policy at one address, from the stack's waivers/ or --waiver FILE, takes
# that violation out of the verdict and is shown in every plan while it
# lasts, and the plan embeds it; an expired one, another stack's, another
# environment's, a tampered one and one of a hard policy are said (W0005,
# W0006) and not used.
. "$TOP/tests/e2e/lib.sh"

umask 022
mkdir keys && chmod 700 keys
expect_exit 0 moksha key new alice --dir keys
mkdir st && enter st
cat >main.moksha <<'EOF2'
stack w { env = "dev" }
provider sim { latency = 1ms }
resource bucket logs { encrypted = false }
resource bucket site { encrypted = false }
policy "enc" {
  enforcement = soft
  override_by = "sec"
  for r in resources where r.type == "bucket" {
    assert r.encrypted : "${r.address} must be encrypted"
  }
}
policy "hard-enc" {
  enforcement = advisory
  for r in resources where r.type == "bucket" {
    assert r.encrypted : "${r.address}: encrypt it"
  }
}
EOF2
expect_exit 3 moksha plan -o p.plan
expect_exit 0 moksha plan -o p0.plan --override enc --reason "the stack's first plan"   # makes .moksha/stack-id
mkdir waivers
A=../keys/alice.key
expect_exit 0 moksha approve --waiver enc:bucket.logs --key $A --reason "public logs, SEC-1" -o waivers/logs.approval
expect_exit 3 moksha plan -o p.plan &&
    expect_contains "$OUT" "waived for bucket.logs until"
expect_contains "$OUT" "bucket.site must be encrypted"
expect_not_contains "$OUT" "main.moksha:3: bucket.logs must be encrypted"
# the second by --waiver FILE: the plan passes, both shown, both embedded
expect_exit 0 moksha approve --waiver enc:bucket.site --key $A --reason "a static site, SEC-2" -o ../site.approval
expect_exit 0 moksha plan -o p.plan --waiver ../site.approval &&
    expect_contains "$OUT" "waived for bucket.site until"
expect_contains "$OUT" "waived for bucket.logs until"
expect_exit 0 python3 - p.plan <<'EOF2'
import json, sys
d = json.load(open(sys.argv[1]))
enc = [p for p in d["policies"] if p["name"] == "enc"][0]
assert enc["status"] == "pass" and enc["violations"] == [] and enc["override_by"] == "sec", enc
assert sorted(w["address"] for w in enc["waived"]) == ["bucket.logs", "bucket.site"], enc["waived"]
assert len(d["waivers"]) == 2 and all(w["format"] == "moksha.approval/v1" for w in d["waivers"]), d["waivers"]
ids = sorted(json.loads(w["payload"])["id"] for w in d["waivers"])
assert ids == sorted(w["waiver"] for w in enc["waived"]), (ids, enc["waived"])
EOF2
expect_exit 0 moksha show p.plan && expect_contains "$OUT" "waived for bucket.site"
# the executor reads the plan's waivers and waived (runtime/planfile.c checks their shape)
expect_exit 0 "$MOKSHA_EXEC" verify p.plan && expect_contains "$OUT" "valid plan for stack w"
expect_exit 0 moksha plan --waiver ../site.approval --format markdown && expect_contains "$OUT" "waived for \`bucket.site\`"
# an advisory policy's warning is waived too
expect_exit 0 moksha approve --waiver hard-enc:bucket.logs --key $A --reason "known" -o ../adv.approval
expect_exit 0 moksha policy check --waiver ../site.approval --waiver ../adv.approval &&
    expect_contains "$OUT" "waived for bucket.logs until"

# refused, said, not used
sed 's/SEC-2/SEC-3/' ../site.approval >../tampered.approval
expect_exit 3 moksha plan --waiver ../tampered.approval && expect_contains "$ERR" "warning[W0005]: waiver not used"
expect_contains "$ERR" "tampered.approval"
expect_exit 0 moksha approve --waiver enc:bucket.site --key $A --reason "short" --expires 1s -o ../short.approval
sleep 2
expect_exit 3 moksha plan --waiver ../short.approval && expect_contains "$ERR" "short.approval: expired"
mkdir ../other && cp main.moksha ../other/ && (cd ../other && "$MOKSHA" plan -o p.plan --override enc --reason first >/dev/null 2>&1)
expect_exit 0 moksha approve --waiver enc:bucket.site --stack-dir ../other --key $A --reason "other" -o ../other.approval
expect_exit 3 moksha plan --waiver ../other.approval && expect_contains "$ERR" "a waiver for stack"
mkdir -p env && : >env/prod.yaml
expect_exit 3 moksha --env prod plan --waiver ../site.approval && expect_contains "$ERR" "a waiver for environment (none), not prod"
sed -i 's/enforcement = soft/enforcement = hard/; /override_by/d' main.moksha   # (override_by on a hard policy is an error)
expect_exit 3 moksha plan --waiver ../site.approval && expect_contains "$ERR" "warning[W0006]: waiver not used: ../site.approval waives \`enc\`, a hard policy"
expect_not_contains "$OUT" "waived for bucket.site"
leave
