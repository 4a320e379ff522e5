# test_plan_out.sh — `plan -o FILE` writes only a plan: it refuses a .moksha
# source, a directory, anything under a .moksha/ (this stack's or another's)
# but a NAME.plan directly in it, an existing file that is not a plan, and links to any of those; it
# replaces a plan, and writes atomically (no temp file left, mode 0600).
. "$TOP/tests/e2e/lib.sh"

mkdir stack && cd stack
cat > main.moksha <<'M'
provider local { root = ".moksha/out" }
resource local.file f {
  path    = "a.txt"
  content = "x"
}
M
expect_exit 0 moksha apply --yes
cp main.moksha main.copy
cp .moksha/state.json state.copy
cp .moksha/key key.copy
echo "# notes" > README.md
mkdir plans
ln -s main.moksha src-link
ln -s .moksha/state.json state-link
ln -s plans dir-link

refused() { # refused FILE WORDS: -o FILE is refused before planning, saying WORDS
    expect_exit 1 moksha plan -o "$1" && expect_contains "$ERR" "refusing to write the plan" &&
        expect_contains "$ERR" "$2"
    expect_not_contains "$OUT" "Saved the signed plan"
}
refused main.moksha "is a moksha source file"
refused other.moksha "is a moksha source file"
refused src-link "is a moksha source file (through a link)"
refused plans "is a directory"
refused dir-link "is a directory"
refused .moksha "is a directory"
refused .moksha/state.json "is under .moksha/"
refused .moksha/key "is under .moksha/"
refused .moksha/audit.jsonl "is under .moksha/"
refused .moksha/state.json.prev "is under .moksha/"
refused ./.moksha/../.moksha/lock "is under .moksha/"
refused .moksha/out/a.plan "is under .moksha/"
refused state-link "is under .moksha/"
refused README.md "exists and is not a plan file"
# another stack's .moksha/ is no less a state, a lock and an audit log: files it does not have yet
# (a lock, the sim's world, a .prev) are not created there either, by path or through a linked directory
mkdir -p ../other/.moksha/sim
ln -s ../other/.moksha other-dir
refused ../other/.moksha/state.lock "is under .moksha/"
refused ../other/.moksha/state.json.prev "is under .moksha/"
refused ../other/.moksha/sim/world.json "is under .moksha/"
refused "$WORK/other/.moksha/key" "is under .moksha/"
refused other-dir/state.lock "is under .moksha/"
[ -z "$(ls -A ../other/.moksha/sim)" ] && [ "$(ls -A ../other/.moksha)" = sim ] || fail "a file was written in another stack's .moksha/: $(ls -A ../other/.moksha)"
expect_same main.moksha main.copy
expect_same .moksha/state.json state.copy
expect_same .moksha/key key.copy
expect_contains README.md "# notes"
[ -L src-link ] && [ -L state-link ] || fail "a link was replaced"

# what may be written: a new file, a plan again, an empty file, NAME.plan in .moksha/
expect_exit 0 moksha plan -o plans/one.plan && expect_file plans/one.plan
expect_exit 0 moksha plan -o plans/one.plan
: > empty.json
expect_exit 0 moksha plan -o empty.json && expect_contains empty.json '"format":"moksha.plan/v1"'
expect_exit 0 moksha plan -o .moksha/saved.plan && expect_file .moksha/saved.plan
expect_exit 0 moksha apply .moksha/saved.plan
# the file is whole, private, and no temp file is left beside it
expect_exit 0 "$MOKSHA_EXEC" verify plans/one.plan
# verified from its bytes: re-spaced, a digest of another body, a byte of the body changed
sed 's/,"stack":/, "stack":/' plans/one.plan > respaced.plan
expect_exit 1 "$MOKSHA_EXEC" verify respaced.plan && expect_contains "$ERR" "the plan was altered after it was signed"
expect_exit 1 moksha show respaced.plan && expect_contains "$ERR" "the plan was altered after it was signed"
sed 's/"digest":"[0-9a-f]/"digest":"z/' plans/one.plan > digest.plan
expect_exit 1 "$MOKSHA_EXEC" verify digest.plan && expect_contains "$ERR" "the plan was altered after it was signed"
sed 's/"inputs_digest":"[0-9a-f]/"inputs_digest":"z/' plans/one.plan > body.plan
expect_exit 1 "$MOKSHA_EXEC" verify body.plan && expect_contains "$ERR" "the plan was altered after it was signed"
[ "$(stat -c %a plans/one.plan)" = 600 ] || fail "the plan's mode is $(stat -c %a plans/one.plan), not 600"
ls plans | grep -q tmp && fail "a temp file was left: $(ls plans)"
# a fixed temp name is no trap: a link left at FILE.tmp is not written through
ln -s ../main.moksha plans/two.plan.tmp
expect_exit 0 moksha plan -o plans/two.plan
expect_same main.moksha main.copy
# a plan is known by its first bytes: the JSON of --format json begins with its format as the
# file does (re-indented too); JSON that does not, even one naming the format later, is not replaced
expect_exit 0 moksha plan --format json
cp "$OUT" printed.json
expect_exit 0 moksha plan -o printed.json && expect_exit 0 "$MOKSHA_EXEC" verify printed.json
printf '{\n  "format": "moksha.plan/v1",\n  "stack": "x"\n}\n' > indented.json
expect_exit 0 moksha plan -o indented.json && expect_exit 0 "$MOKSHA_EXEC" verify indented.json
printf '{"changes":[],"format":"moksha.plan/v1"}\n' > sorted.json
cp sorted.json sorted.copy
refused sorted.json "exists and is not a plan file"
expect_same sorted.json sorted.copy
# a device is not a file
refused /dev/null "is not a regular file"
