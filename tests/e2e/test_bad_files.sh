# test_bad_files.sh — a plan file, var file or JSON that cannot be read is
# reported in moksha's own words, with the file and, for JSON, the line and
# column of the fault; never jansson's or libyaml's ("near '…'", "(line -1)",
# "input error", "'[' or '{' expected").
. "$TOP/tests/e2e/lib.sh"

mkdir stack && cd stack
cat > main.moksha <<'M'
provider local { root = ".moksha/out" }
var n: int = 1
resource local.file f {
  path    = "a.txt"
  content = "n=${var.n}"
}
M
expect_exit 0 moksha plan -o good.plan
head -c 40 good.plan > cut.plan
: > empty.plan
printf '{"a": 1, "a": 2}' > dup.plan
printf '{"a": 1}\n}' > trailing.plan
mkdir dir.plan

no_foreign_words() {
    expect_not_contains "$ERR" "near '"
    expect_not_contains "$ERR" "(line -1)"
    expect_not_contains "$ERR" "input error"
    expect_not_contains "$ERR" "expected near"
    expect_not_contains "$ERR" "unable to open"
}

for run in "moksha show" "moksha apply" "$MOKSHA_EXEC apply" "$MOKSHA_EXEC verify"; do
    # shellcheck disable=SC2086 # the command's words
    expect_exit 1 $run cut.plan && expect_match "$ERR" 'cut\.plan:1:[0-9]+: the JSON ends early \(is the file cut short\?\)'
    no_foreign_words
    # shellcheck disable=SC2086
    expect_exit 1 $run empty.plan && expect_contains "$ERR" "empty.plan: empty, not a JSON document"
    no_foreign_words
    # shellcheck disable=SC2086
    expect_exit 1 $run dup.plan && expect_match "$ERR" 'dup\.plan:1:[0-9]+: a key appears twice in one object'
    no_foreign_words
    # shellcheck disable=SC2086
    expect_exit 1 $run trailing.plan && expect_match "$ERR" 'trailing\.plan:2:[0-9]+: text after the end of the JSON document'
    no_foreign_words
    # (a directory given to `moksha apply` is a stack to plan and apply)
    [ "$run" = "moksha apply" ] && continue
    # shellcheck disable=SC2086
    expect_exit 1 $run dir.plan && expect_contains "$ERR" "dir.plan: Is a directory"
    no_foreign_words
done
expect_exit 1 moksha show missing.plan && expect_contains "$ERR" "missing.plan: No such file or directory"
no_foreign_words
# the path is said once
expect_exit 1 "$MOKSHA_EXEC" apply dir.plan
[ "$(grep -o 'dir\.plan' "$ERR" | wc -l)" -eq 1 ] || fail "the plan's path is printed more than once: $(cat "$ERR")"

# a var file that is a directory
mkdir vars.d
expect_exit 1 moksha plan --var-file vars.d && expect_contains "$ERR" "cannot read var file \`vars.d\`: Is a directory"
no_foreign_words
