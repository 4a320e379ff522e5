#!/bin/sh
# The demo, the e2e tests and the golden tests copy only an example's source
# files: what a run inside examples/webapp left there (the README tour leaves
# .moksha/ and plan.json) is never read. Checked on a scratch copy of the
# repository, once as a plain directory tree (a release tarball) and once as
# a git checkout, with such leftovers planted in it; the real tree is never
# written.
. "$TOP/tests/e2e/lib.sh"

BUILD=$(dirname "$MOKSHA")
GIT="git -c user.name=moksha-test -c user.email=test@moksha.invalid -c init.defaultBranch=main"

# A state that claims a bucket the stack does not declare: a plan that read it
# would delete bucket.ghost.
ghost_state() {
    mkdir -p "$1/.moksha"
    cat >"$1/.moksha/state.json" <<'EOF'
{"format": "moksha.state/v1", "lineage": "5f0c9d0e-0000-4000-8000-000000000001", "serial": 3, "resources": [
 {"address": "bucket.ghost", "type": "bucket", "name": "ghost", "provider": "sim",
  "placement": {"cloud": "aws", "region": "us-east-1"},
  "attributes": {"encrypted": true, "public": false, "id": "ghost-bucket-planted"},
  "sensitive": [], "depends_on": [], "lifecycle": {"prevent_destroy": false, "create_before_destroy": false}}]}
EOF
    echo 'planted-key-that-is-not-the-tests-0123456789' >"$1/.moksha/key"
}

plant() {
    ghost_state "$1/examples/webapp"
    printf '{"format":"moksha.plan/v1","planted":true}\n' >"$1/examples/webapp/plan.json"
    ghost_state "$1/tests/golden/plan/create_webapp"
}

# A test of the scratch repository's own e2e suite that looks at its copy.
probe() {
    cat >"$1/tests/e2e/test_probe.sh" <<'EOF'
. "$TOP/tests/e2e/lib.sh"
copy_example webapp
expect_file webapp/main.moksha
expect_file webapp/README.md
[ ! -e webapp/.moksha ] && e2e_ok || e2e_bad "copy_example copied examples/webapp/.moksha"
[ ! -e webapp/plan.json ] && e2e_ok || e2e_bad "copy_example copied examples/webapp/plan.json"
enter webapp && expect_exit 0 moksha plan --var db_password=x && expect_not_contains "$OUT" ghost
EOF
}

# check_repo DIR LABEL: the demo, an e2e test and a golden case in DIR.
check_repo() {
    expect_exit 0 sh "$1/examples/demo.sh" "$BUILD" &&
        expect_contains "$OUT" "demo: 7 examples"
    expect_not_contains "$OUT" ghost
    expect_contains "$OUT" "Apply complete: 6 created, 0 updated, 0 replaced, 0 deleted"
    expect_exit 0 sh "$1/tests/e2e/run.sh" "$BUILD" test_probe &&
        expect_contains "$OUT" "ok   test_probe.sh"
    expect_exit 0 sh "$1/tests/golden/run.sh" "$BUILD" plan/create_webapp &&
        expect_contains "$OUT" "golden: 1 passed, 0 failed"
    # what was planted is still there: the runs read copies, never the tree
    expect_file "$1/examples/webapp/.moksha/state.json"
    expect_file "$1/examples/webapp/plan.json"
    expect_exit 0 cmp -s "$1/examples/webapp/main.moksha" "$TOP/examples/webapp/main.moksha"
}

# ---- a plain directory tree (no git): the filtered copy ----
mkdir tree
for d in examples tests; do
    sh "$TOP/tests/clean_copy.sh" "$TOP/$d" "tree/$d" || fail "cannot copy $d"
done
plant tree
probe tree
check_repo "$WORK/tree"

# clean_copy itself: a plan file by its content, whatever its name, goes
mkdir -p loose/sub/.moksha
echo 'resource bucket b {}' >loose/main.moksha
printf '{"format":"moksha.plan/v1","x":1}' >loose/sub/release.json
echo '{"format": "moksha.state/v1"}' >loose/sub/.moksha/state.json
echo '{"note": "not a plan"}' >loose/sub/data.json
expect_exit 0 sh "$TOP/tests/clean_copy.sh" loose loose-copy
expect_file loose-copy/main.moksha
expect_file loose-copy/sub/data.json
[ ! -e loose-copy/sub/release.json ] && e2e_ok || e2e_bad "clean_copy kept a plan file"
[ ! -e loose-copy/sub/.moksha ] && e2e_ok || e2e_bad "clean_copy kept .moksha/"
expect_exit 1 sh "$TOP/tests/clean_copy.sh" loose loose-copy &&
    expect_contains "$ERR" "already exists"

# ---- a git checkout: tracked files, and new ones .gitignore does not ignore ----
if command -v git >/dev/null 2>&1; then
    mkdir checkout
    for d in examples tests; do
        sh "$TOP/tests/clean_copy.sh" "$TOP/$d" "checkout/$d" || fail "cannot copy $d"
    done
    cp "$TOP/.gitignore" checkout/.gitignore
    $GIT -C checkout init -q && $GIT -C checkout add -A && $GIT -C checkout commit -qm scratch ||
        fail "cannot make a scratch git checkout"
    plant checkout
    probe checkout
    expect_exit 0 git -C checkout status --porcelain --ignored
    expect_contains "$OUT" "!! examples/webapp/plan.json"
    check_repo "$WORK/checkout"
    # a file being written, not yet added, is part of the example; a deleted
    # tracked file is not an error
    echo 'resource bucket extra {}' >checkout/examples/hello-local/extra.moksha
    rm checkout/examples/hello-local/README.md
    expect_exit 0 sh "$TOP/tests/clean_copy.sh" checkout/examples/hello-local hello-copy
    expect_file hello-copy/extra.moksha
    expect_file hello-copy/main.moksha
    [ ! -e hello-copy/README.md ] && e2e_ok || e2e_bad "clean_copy made a deleted file"
    # a directory git ignores is copied as a plain tree, still without leftovers
    mkdir -p checkout/build/gen/.moksha
    echo 'resource bucket g {}' >checkout/build/gen/main.moksha
    echo '{}' >checkout/build/gen/.moksha/state.json
    expect_exit 0 sh "$TOP/tests/clean_copy.sh" checkout/build/gen gen-copy
    expect_file gen-copy/main.moksha
    [ ! -e gen-copy/.moksha ] && e2e_ok || e2e_bad "clean_copy kept .moksha/ of an ignored directory"
else
    echo "note: git is not installed; the checkout half is skipped"
fi
