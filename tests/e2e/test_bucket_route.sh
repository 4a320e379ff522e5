#!/bin/sh
# Where a bucket goes, as a user meets it with the sim beside an s3 block
# (docs/language.md, "Buckets on a store"): a bucket an s3 block keeps is
# that block's change — the executor hands it to the block, never to the
# sim — and a bucket applied on the sim is not silently moved to a store
# that starts taking the stack's buckets: the plan is refused (E0402),
# nothing changes, and a destroy still deletes it where it is.
. "$TOP/tests/e2e/lib.sh"

export MOKSHA_KEY=7a5c0e1f7a5c0e1f7a5c0e1f7a5c0e1f7a5c0e1f7a5c0e1f7a5c0e1f7a5c0e1f

mkdir stack && enter stack
cat >main.moksha <<'EOF'
stack objs {}

provider sim {}

resource bucket logs {}
EOF
expect_exit 0 moksha apply --yes && expect_contains "$OUT" "created  bucket.logs  [sim aws/us-east-1]"
expect_exit 0 "$MOKSHA_EXEC" sim ls && expect_contains "$OUT" "bucket.logs"
cp .moksha/state.json state.before

# ---- a store takes the stack's buckets: the applied one would move ----
cat >main.moksha <<'EOF'
stack objs {}

provider sim {}

provider s3 store {
  connection = "minio"
  buckets    = true
}

resource bucket logs {}

resource bucket media {}
EOF
expect_exit 1 moksha plan &&
    expect_contains "$ERR" "error[E0402]: bucket.logs is applied by provider \`sim\` on aws/us-east-1; provider \`store\` (s3) keeps it on aws/us-east-1 now"
expect_contains "$ERR" "or keep it where it is with \`provider = sim\`"
expect_not_contains "$ERR" "bucket.media" # only the applied one would move
expect_exit 1 moksha apply --yes
expect_same .moksha/state.json state.before

# ---- kept where it is, the new one goes to the store ----
sed 's/^resource bucket logs {}$/resource bucket logs {\n  provider = sim\n}/' main.moksha >m && mv m main.moksha
expect_exit 0 moksha plan -o p.plan && expect_contains "$OUT" "+ bucket.media  on aws/us-east-1 s3-standard via s3 store"
expect_not_contains "$OUT" "bucket.logs" # unchanged on the sim
expect_exit 0 moksha show --format json p.plan &&
    expect_contains "$OUT" '"address":"bucket.media","type":"bucket","name":"media","provider":"store","via":"s3"'
# the executor hands it to the s3 block, which has no connection `minio` here:
# refused before the first step, and the sim never gets the bucket
expect_exit 1 moksha apply p.plan && expect_contains "$ERR" "store"
expect_contains "$ERR" "nothing was applied"
expect_exit 0 "$MOKSHA_EXEC" sim ls && expect_not_contains "$OUT" "bucket.media"
expect_same .moksha/state.json state.before

# ---- a destroy deletes what the state has where the state has it ----
sed 's/^  provider = sim$//' main.moksha >m && mv m main.moksha # logs would move again
expect_exit 1 moksha plan && expect_contains "$ERR" "error[E0402]: bucket.logs"
expect_exit 0 moksha destroy --yes && expect_contains "$OUT" "deleted  bucket.logs  [sim aws/us-east-1]"
expect_exit 0 "$MOKSHA_EXEC" sim ls && expect_not_contains "$OUT" "bucket.logs"
leave
