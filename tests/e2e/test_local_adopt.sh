# test_local_adopt.sh — note [local adopt]: a local create that finds a file,
# directory or symlink already at its path never loses what was there. With
# the planned content it takes the file over and says so, so when the apply
# fails later its rollback keeps the file (exit 5, the state keeps it) instead
# of deleting a file that existed before the apply; with other content the
# create fails and the file keeps its old bytes.
. "$TOP/tests/e2e/lib.sh"

mkdir stack && cd stack
cat > main.moksha <<'M'
provider local { root = ".moksha/out" }
provider sim { latency = 1ms, fail_on = ["queue.last"] }
resource local.file f {
  path    = "keep.txt"
  content = "old"
}
resource local.directory d { path = "kept" }
resource local.symlink l {
  path   = "link"
  target = "keep.txt"
}
resource queue last { depends_on = [local.file.f, local.directory.d, local.symlink.l] }
M
mkdir -p .moksha/out/kept
printf 'old' > .moksha/out/keep.txt
ln -s keep.txt .moksha/out/link
expect_exit 0 moksha plan -o p.plan
expect_exit 5 "$MOKSHA_EXEC" apply p.plan
expect_contains "$ERR" "took it over"
expect_file .moksha/out/keep.txt
[ "$(cat .moksha/out/keep.txt 2>/dev/null)" = old ] && e2e_ok || e2e_bad "keep.txt lost its content"
[ -d .moksha/out/kept ] && e2e_ok || e2e_bad "the directory that was there was removed"
[ "$(readlink .moksha/out/link)" = keep.txt ] && e2e_ok || e2e_bad "the symlink that was there was removed"
expect_exit 0 "$MOKSHA_EXEC" state list && expect_contains "$OUT" "local.file.f"

# other content: not overwritten, not deleted
cd .. && mkdir other && cd other
sed 's/fail_on = \["queue.last"\]/fail_on = []/' ../stack/main.moksha > main.moksha
mkdir -p .moksha/out
printf 'precious' > .moksha/out/keep.txt
expect_exit 0 moksha plan -o q.plan
"$MOKSHA_EXEC" apply q.plan > /dev/null 2> apply.err
[ $? -ne 0 ] && e2e_ok || e2e_bad "a create over a file with other content succeeded"
expect_contains apply.err "other content"
[ "$(cat .moksha/out/keep.txt 2>/dev/null)" = precious ] && e2e_ok || e2e_bad "keep.txt was overwritten or deleted"
