#!/bin/sh
# tests/deps.sh, which `make demo`, `make test` (and the quality rails) run
# first: nothing but one dpkg query when everything is installed; apt-get as
# root, through sudo otherwise, an update when the lists are stale, a clear
# error without either; npm tools under $BUILD/tools/npm; and the Makefile
# runs it before building, for the entry points only. dpkg-query, apt-get,
# sudo, id and npm are fakes on PATH that log what they were asked; nothing
# is installed.
. "$TOP/tests/e2e/lib.sh"

FAKE=$WORK/fake
LOG=$WORK/log
DB=$WORK/installed
mkdir -p "$FAKE"
: >"$LOG"

# the installed packages, one per line
cat >"$FAKE/dpkg-query" <<'EOF'
#!/bin/sh
printf '%s\n' "dpkg-query $*" >>"$LOG"
shift 2    # -W -f=FORMAT
rc=0
for p; do
    if grep -qx "$p" "$DB"; then echo "$p install ok installed"; else echo "dpkg-query: no packages found matching $p" >&2; rc=1; fi
done
exit $rc
EOF
# installs (records) packages; as FAKE_UID 0 only; fails "Unable to locate"
# until `update` ran when FAKE_LISTS=stale
cat >"$FAKE/apt-get" <<'EOF'
#!/bin/sh
echo "apt-get uid=${FAKE_UID} $*" >>"$LOG"
[ "$FAKE_UID" -eq 0 ] || { echo "apt-get: permission denied" >&2; exit 100; }
case $1 in
update) : >"$WORK/updated"; exit 0 ;;
install)
    [ "${FAKE_LISTS:-}" = stale ] && [ ! -e "$WORK/updated" ] && { echo "E: Unable to locate package" >&2; exit 100; }
    for p; do case $p in -*|install) ;; *) echo "$p" >>"$DB" ;; esac; done ;;
esac
EOF
cat >"$FAKE/sudo" <<'EOF'
#!/bin/sh
echo "sudo $*" >>"$LOG"
FAKE_UID=0 exec "$@"
EOF
cat >"$FAKE/id" <<'EOF'
#!/bin/sh
echo "$FAKE_UID"
EOF
cat >"$FAKE/npm" <<'EOF'
#!/bin/sh
echo "npm $*" >>"$LOG"
prefix=$3
mkdir -p "$prefix/node_modules/.bin"
for a; do case $a in ?*@*)
    b=${a%@*}
    mkdir -p "$prefix/node_modules/$b"
    case $b in */*) ;; *) printf '#!/bin/sh\n' >"$prefix/node_modules/.bin/$b"; chmod +x "$prefix/node_modules/.bin/$b" ;; esac ;;
esac; done
EOF
chmod +x "$FAKE"/*
export LOG DB WORK

ALL="build-essential libyaml-dev libjansson-dev re2c bison libcurl4-openssl-dev libssl-dev libpq-dev libxml2-dev postgresql
python3 libcmocka-dev valgrind clang libclang-rt-14-dev jsonnet jq time"
# every package, and the bench group's npm library in $WORK/b/tools/npm
install_all() {
    printf '%s\n' $ALL >"$DB"
    n=$WORK/b/tools/npm/node_modules
    mkdir -p "$n/@cdktf/hcl2json" "$n/.bin" "$n/@smithy/signature-v4" "$n/@aws-crypto/sha256-js"
    for b in s3rver azurite-blob; do printf '#!/bin/sh\n' >"$n/.bin/$b" && chmod +x "$n/.bin/$b"; done
}

# deps UID [ENV=VALUE...] -- GROUP...: tests/deps.sh as a user with that uid
deps() {
    uid=$1
    shift
    : >"$LOG"
    rm -f "$WORK/updated"
    FAKE_UID=$uid PATH="$FAKE:$PATH" BUILD="$WORK/b" sh "$DEPS_SH" "$@"
}
DEPS_SH=$TOP/tests/deps.sh

# ---- everything installed: one query, nothing else ----
install_all
expect_exit 0 deps 1000 && expect_contains "$OUT" "deps: all installed (build,test,fuzz,bench,demo)"
expect_exit 0 grep -c . "$LOG" && expect_contains "$OUT" 1
expect_not_contains "$LOG" apt-get
expect_not_contains "$LOG" sudo
expect_exit 0 deps 1000 build test && expect_contains "$OUT" "all installed (build,test)"

# ---- as root: apt-get directly, only what the groups need and is missing ----
grep -v -x -e libcmocka-dev -e valgrind -e jsonnet "$DB" >"$DB.new"; mv "$DB.new" "$DB"
expect_exit 0 deps 0 build test && expect_contains "$OUT" "deps: installing libcmocka-dev valgrind"
expect_contains "$LOG" "apt-get uid=0 install -y -q libcmocka-dev valgrind"
expect_not_contains "$LOG" sudo
expect_not_contains "$LOG" jsonnet
expect_exit 0 grep -qx valgrind "$DB"

# a group that needs nothing new installs nothing
expect_exit 0 deps 0 build && expect_contains "$OUT" "all installed (build)"
expect_not_contains "$LOG" apt-get

# ---- not root: through sudo ----
expect_exit 0 deps 1000 bench && expect_contains "$OUT" "deps: installing jsonnet"
expect_contains "$LOG" "sudo apt-get install -y -q jsonnet"
expect_contains "$LOG" "apt-get uid=0 install -y -q jsonnet"

# ---- not root and no sudo: a clear error naming the packages ----
# PATH holds the fakes but sudo, and the few real tools deps.sh uses.
drop() { grep -v -x -e "$1" "$DB" >"$DB.new"; mv "$DB.new" "$DB"; }
drop jsonnet
mkdir -p "$WORK/nosudo"
for t in dpkg-query apt-get id npm; do ln -sf "$FAKE/$t" "$WORK/nosudo/$t"; done
for t in awk tr mkdir grep cat; do ln -sf "$(command -v $t)" "$WORK/nosudo/$t"; done
nosudo() {
    : >"$LOG"
    env FAKE_UID="$1" PATH="$WORK/nosudo" BUILD="$WORK/b" /bin/sh "$DEPS_SH" bench
}
expect_exit 1 nosudo 1000 &&
    expect_contains "$ERR" "not root and no sudo to install: jsonnet; run \`sh tests/deps.sh\` as root"
expect_not_contains "$LOG" "apt-get"
# root needs no sudo
expect_exit 0 nosudo 0 && expect_contains "$LOG" "apt-get uid=0 install -y -q jsonnet"

# ---- stale package lists: update, then install ----
drop jsonnet
: >"$LOG"
rm -f "$WORK/updated"
expect_exit 0 env FAKE_UID=0 FAKE_LISTS=stale PATH="$FAKE:$PATH" BUILD="$WORK/b" sh "$DEPS_SH" bench
expect_exit 0 cat "$LOG" &&
    expect_contains "$OUT" "apt-get uid=0 install -y -q jsonnet
apt-get uid=0 update -q
apt-get uid=0 install -y -q jsonnet"
expect_exit 0 grep -qx jsonnet "$DB"

# apt-get failing for good is an error, not a green run
drop jsonnet
printf '#!/bin/sh\necho "apt-get $*" >>"$LOG"; exit 100\n' >"$WORK/apt-fails"
chmod +x "$WORK/apt-fails"
rm -f "$WORK/nosudo/apt-get" && ln -s "$WORK/apt-fails" "$WORK/nosudo/apt-get"
expect_exit 1 nosudo 0 && expect_contains "$ERR" "apt-get could not install: jsonnet"

# an unknown group is a usage error
expect_exit 1 deps 0 tests && expect_contains "$ERR" "unknown group \`tests\`"

# ---- npm tools go under $BUILD/tools/npm, once ----
install_all
sed 's|# test) echo "example-emulator@1.2.3 .bin/example-emulator" ;;|test) echo "fake-emulator@1.0.0 .bin/fake-emulator" ;;|' \
    "$TOP/tests/deps.sh" >"$WORK/deps-npm.sh"
expect_exit 0 grep -q 'fake-emulator@1.0.0' "$WORK/deps-npm.sh"
DEPS_SH=$WORK/deps-npm.sh
expect_exit 0 deps 0 test && expect_not_contains "$OUT" "nodejs"
expect_contains "$OUT" "installing fake-emulator@1.0.0 into $WORK/b/tools/npm"
expect_contains "$LOG" "npm install --prefix $WORK/b/tools/npm"
expect_exit 0 test -x "$WORK/b/tools/npm/node_modules/.bin/fake-emulator"
expect_exit 0 deps 0 test && expect_contains "$OUT" "all installed (test)"
expect_not_contains "$LOG" "npm install"
DEPS_SH=$TOP/tests/deps.sh

# without an npm on PATH, Debian's nodejs and npm first
mkdir -p "$WORK/nonpm"
for t in dpkg-query apt-get id sudo; do ln -sf "$FAKE/$t" "$WORK/nonpm/$t"; done
for t in awk tr mkdir grep cat; do ln -sf "$(command -v $t)" "$WORK/nonpm/$t"; done
rm -rf "$WORK/b/tools/npm/node_modules/.bin"
: >"$LOG"
expect_exit 1 env FAKE_UID=0 PATH="$WORK/nonpm" BUILD="$WORK/b" /bin/sh "$WORK/deps-npm.sh" test
expect_contains "$OUT" "deps: installing nodejs npm"
expect_contains "$LOG" "apt-get uid=0 install -y -q nodejs npm"

# a library (the bench's HCL parser) is installed when its directory is missing
rm -rf "$WORK/b/tools/npm/node_modules/@cdktf"
expect_exit 0 deps 0 bench && expect_contains "$OUT" "installing @cdktf/hcl2json@"
expect_exit 0 test -d "$WORK/b/tools/npm/node_modules/@cdktf/hcl2json"
expect_exit 0 deps 0 bench && expect_contains "$OUT" "all installed (bench)"

# ---- the Makefile: the entry points run it first, plain make never ----
for goal in demo test; do
    expect_exit 0 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$TOP" -n "$goal" BUILD="$WORK/nobuild"
    first=$(sed -n 1p "$OUT")
    case $goal in
    demo) want="sh tests/deps.sh build demo" ;;
    test) want="sh tests/deps.sh build test" ;;
    esac
    case $first in
    *"$want") e2e_ok ;;
    *) e2e_bad "make $goal does not run \`$want\` first: $first" ;;
    esac
done
expect_exit 0 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$TOP" -n all BUILD="$WORK/nobuild" && expect_not_contains "$OUT" deps.sh
expect_exit 0 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$TOP" -n deps BUILD="$WORK/nobuild" && expect_contains "$OUT" "sh tests/deps.sh"
