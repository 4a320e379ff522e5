# test_moksha_files.sh — the small files under .moksha/ (the key, the stack
# id, the state) are read only when they are regular files: a FIFO in their
# place is refused at once instead of hanging the command, and a directory is
# "not a regular file", not a key "too short" or an empty state. Each command
# runs under `timeout`, so a hang fails the test (exit 124) instead of blocking.
. "$TOP/tests/e2e/lib.sh"

mkdir stack && cd stack
cat > main.moksha <<'M'
provider local { root = ".moksha/out" }
resource local.file f {
  path    = "a.txt"
  content = "hello"
}
M
expect_exit 0 moksha plan -o first.plan
expect_exit 0 moksha apply first.plan

t() { timeout 10 "$@"; }

for kind in fifo dir; do
    for f in key stack-id; do
        mv ".moksha/$f" "saved.$f"
        if [ "$kind" = fifo ]; then mkfifo ".moksha/$f"; else mkdir ".moksha/$f"; fi
        for run in "$MOKSHA plan" "$MOKSHA plan -o p.plan" "$MOKSHA apply" "$MOKSHA policy check" "$MOKSHA_EXEC audit verify"; do
            # shellcheck disable=SC2086 # the command's words
            expect_exit 1 t $run && expect_contains "$ERR" ".moksha/$f is not a regular file"
            expect_not_contains "$ERR" "too short"
        done
        [ "$kind" = fifo ] && rm ".moksha/$f" || rmdir ".moksha/$f"
        mv "saved.$f" ".moksha/$f"
    done
    mv .moksha/state.json saved.state
    if [ "$kind" = fifo ]; then mkfifo .moksha/state.json; else mkdir .moksha/state.json; fi
    for run in "$MOKSHA plan" "$MOKSHA policy check"; do
        # shellcheck disable=SC2086
        expect_exit 1 t $run && expect_contains "$ERR" "state.json"
    done
    [ "$kind" = fifo ] && rm .moksha/state.json || rmdir .moksha/state.json
    mv saved.state .moksha/state.json
done
expect_exit 0 t "$MOKSHA" plan
