# test_state_damage.sh — a damaged state is never "no state": a cut, empty,
# garbage, too deeply nested, directory or dangling-link .moksha/state.json
# makes every command that reads state fail with E0300 and the reason
# (exit 1), in the compiler and in the executor, and leaves the file as it
# was. Only a state that is not there at all plans from nothing.
. "$TOP/tests/e2e/lib.sh"

mkdir stack && cd stack
cat > main.moksha <<'M'
provider local { root = ".moksha/out" }
provider sim { latency = 1ms }
resource network main { cidr = "10.0.0.0/16" }
resource local.file f {
  path    = "a.txt"
  content = "x"
}
M
expect_exit 0 moksha apply --yes
cp .moksha/state.json good.json
expect_exit 0 moksha plan -o saved.plan

damage() {
    rm -rf .moksha/state.json
    case $1 in
    cut) head -c 60 good.json > .moksha/state.json ;;
    empty) : > .moksha/state.json ;;
    blank) printf '  \n\n' > .moksha/state.json ;;
    garbage) printf 'zz{not json' > .moksha/state.json ;;
    trailing) { cat good.json; echo '}'; } > .moksha/state.json ;;
    deep) awk 'BEGIN { for (i = 0; i < 5000; i++) printf "["; for (i = 0; i < 5000; i++) printf "]"; print "" }' > .moksha/state.json ;;
    dir) mkdir .moksha/state.json ;;
    dangling) ln -s nowhere.json .moksha/state.json ;;
    noaddr) sed 's/"address"/"addr"/' good.json > .moksha/state.json ;;
    notstate) echo '{"format": "moksha.plan/v1", "resources": []}' > .moksha/state.json ;;
    serial) sed 's/"serial": [0-9]*/"serial": "7"/' good.json > .moksha/state.json ;;
    negative) sed 's/"serial": [0-9]*/"serial": -3/' good.json > .moksha/state.json ;;
    lineage) sed 's/"lineage": "[^"]*"/"lineage": 5/' good.json > .moksha/state.json ;;
    notype) sed 's/"type": "network"/"type": 5/' good.json > .moksha/state.json ;;
    esac
}

# the damaged file as it is, to check that nothing rewrote it
fingerprint() { if [ -d .moksha/state.json ]; then echo dir; else ls -l .moksha/state.json | awk '{print $1}'; cat .moksha/state.json 2>/dev/null; fi; }

for kind in cut empty blank garbage trailing deep dir dangling noaddr notstate serial negative lineage notype; do
    for cmd in "plan" "plan -o p.plan" "plan --format json" "destroy --yes" "cost" "policy check" "graph" \
        "apply --yes" "apply saved.plan" "state list" "state show network.main" "state rm network.main"; do
        damage $kind
        fingerprint > before.txt
        # shellcheck disable=SC2086 # the command's words
        expect_exit 1 moksha $cmd || echo "    ($kind state)"
        expect_contains "$ERR" "E0300" || echo "    ($kind state, moksha $cmd)"
        [ "$(grep -c "the state cannot be read" "$ERR")" -le 1 ] || fail "the damage is reported more than once ($kind state, moksha $cmd)"
        expect_contains "$ERR" "the state cannot be read: .moksha/state.json" || echo "    ($kind state, moksha $cmd)"
        expect_not_contains "$OUT" "No changes"
        expect_not_contains "$OUT" "will be created"
        expect_not_contains "$ERR" "near '"
        fingerprint > after.txt
        expect_same before.txt after.txt || echo "    ($kind state, moksha $cmd changed the damaged file)"
    done
done
[ -f p.plan ] && fail "a plan was written against a damaged state"

# the reason says where: line and column for JSON that is cut short
damage cut
expect_exit 1 moksha plan && expect_match "$ERR" 'state\.json:[0-9]+:[0-9]+: the JSON ends early'
damage dir
expect_exit 1 moksha plan && expect_contains "$ERR" "Is a directory"
damage deep
expect_exit 1 moksha plan && expect_contains "$ERR" "nested deeper than"
expect_exit 1 "$MOKSHA_EXEC" state list && expect_contains "$ERR" "nested deeper than"

# a serial, lineage or resource of the wrong type is named; both readers read one state
damage serial
expect_exit 1 moksha plan && expect_contains "$ERR" "its \`serial\` not a whole number >= 0"
damage notype
expect_exit 1 "$MOKSHA_EXEC" state list && expect_contains "$ERR" "a resource lacks its address, type or attributes"
echo '{"format":"moksha.state/v1","lineage":"x","serial":1,"resources":[],"intents":[1]}' > .moksha/state.json
expect_exit 1 "$MOKSHA_EXEC" state list && expect_contains "$ERR" "its \`intents\` not an object"

# a missing state is no state: everything is planned from nothing
rm -rf .moksha/state.json
expect_exit 0 moksha plan && expect_contains "$OUT" "network.main"
# and the good one restored plans to nothing
cp good.json .moksha/state.json
expect_exit 0 moksha plan --detailed-exitcode
