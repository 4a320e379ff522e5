# test_apply_fault.sh — rollback: a 6-change plan (2 creates, an update, a
# delete, a create and a local update) with a failure injected at each step in
# turn exits 4 and leaves the state, the sim world and the local files exactly
# as they were; --no-rollback exits 5 and keeps what succeeded.
. "$TOP/tests/e2e/lib.sh"

mkdir stack && cd stack

base() {
    cat > main.moksha <<M
provider local { root = ".moksha/out" }
provider sim { latency = 5ms, fail_on = [$1] }
resource network n { cidr = "10.1.0.0/16" }
resource bucket keep { versioning = $2 }
resource local.file note { path = "note.txt", content = "$3" }
M
}

# base state: network, bucket, volume, note v1
base "" false v1
cat >> main.moksha <<'M'
resource volume old { size = 10GiB }
M
expect_exit 0 moksha apply --yes && expect_contains "$OUT" "4 created"

snapshot before.txt
expect_contains before.txt "== sim volume.old.json"

# the 6-change plan, with fail_on = $1
changed() {
    base "$1" true v2
    cat >> main.moksha <<'M'
resource compute c0 { cpu = 1, memory = 1GiB, image = "app:1", network = network.n }
resource compute c1 { cpu = 1, memory = 1GiB, image = "app:1", network = network.n }
resource queue q {}
M
}

changed ""
expect_exit 2 moksha plan --detailed-exitcode && expect_contains "$OUT" "Plan: 3 to create, 2 to update, 0 to replace, 1 to delete; 1 irreversible."

for target in compute.c0 compute.c1 bucket.keep volume.old queue.q local.file.note; do
    if [ "$target" = local.file.note ]; then
        changed ""
        mkdir .moksha/out/note.txt.moksha-tmp   # the local write fails: its temp path is a directory
    else
        changed "\"$target\""
    fi
    expect_exit 4 moksha apply --yes --parallelism 3 && expect_contains "$OUT" "Rolled back"
    expect_contains "$ERR" "Apply failed: $target"
    snapshot after.txt
    expect_same before.txt after.txt
    rmdir .moksha/out/note.txt.moksha-tmp 2>/dev/null
done
expect_exit 0 moksha audit verify
expect_exit 0 moksha audit show && expect_contains "$OUT" "rollback"

# ---- --no-rollback keeps what succeeded: exit 5, and the state says so ----
changed '"queue.q"'
expect_exit 5 moksha apply --yes --no-rollback --parallelism 1 && expect_contains "$ERR" "Kept (--no-rollback)"
changed ""
expect_exit 2 moksha plan --detailed-exitcode && expect_contains "$OUT" "+ queue.q"
expect_exit 0 moksha apply --yes
expect_exit 0 moksha plan --detailed-exitcode

# ---- retryable errors are retried: fail_rate 0.5 still converges ----
cat >> main.moksha <<'M'
resource bucket r1 {}
resource bucket r2 {}
resource bucket r3 {}
M
sed -i 's/fail_on = \[\]/fail_on = [], fail_rate = 0.5/' main.moksha
expect_exit 0 moksha apply --yes --retries 20 && expect_contains "$OUT" "3 created"

# ---- the local provider's jail ----
cat > jail.moksha <<'M'
resource local.file escape { path = "../../escape.txt", content = "x" }
M
expect_exit 4 moksha apply --yes && expect_contains "$ERR" "leaves the provider's root"
[ -f escape.txt ] && fail "a file escaped the local provider's root"
rm jail.moksha
ln -s /tmp .moksha/out/link
cat > jail.moksha <<'M'
resource local.file escape { path = "link/moksha-escape.txt", content = "x" }
M
expect_exit 4 moksha apply --yes && expect_contains "$ERR" "through a symlink"
[ -f /tmp/moksha-escape.txt ] && fail "a file escaped the local provider's root through a symlink"
rm jail.moksha
