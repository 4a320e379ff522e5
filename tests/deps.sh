#!/bin/sh
# Install what moksha needs, when it is missing: the one place that knows
# every dependency of the build, the tests, the demo and the quality rails.
#
#   sh tests/deps.sh [GROUP...]      default: every group (what `make deps` runs)
#
#   build   compile build/moksha and build/moksha-exec      (make, make demo)
#   test    the test suite beyond the build                 (make test, sanitize, allocfail)
#   fuzz    the libFuzzer harnesses                         (make fuzz)
#   bench   the benchmarks                                  (make bench)
#   demo    the demo beyond the build (its PostgreSQL scene)  (make demo)
#
# `make demo`, `make test`, `make fuzz` and `make bench` run this first with
# their groups, so the README's two commands work on a fresh Debian machine.
# When nothing is missing it only asks dpkg, once, and exits: no apt-get, no
# sudo, no network. Otherwise it installs the missing Debian packages with
# apt-get (through sudo when not root; `apt-get update` first when the
# package lists are missing or out of date) and the missing npm tools into
# $BUILD/tools/npm (BUILD defaults to build), never system-wide. Plain `make`
# never runs it: building needs no network.
#
# To add a dependency, add a line to the lists below, in the group of the
# command that needs it; a server a test talks to (a database, an S3
# emulator) is a Debian package of the `test` group, or an npm tool of it.
set -u

# ---- the lists ----

# GROUP: Debian packages
debian_packages() {
    case $1 in
    build) echo "build-essential libyaml-dev libjansson-dev re2c bison libcurl4-openssl-dev libssl-dev libpq-dev libxml2-dev" ;;
    test) echo "libcmocka-dev valgrind jq postgresql python3" ;;
    fuzz) echo "clang libclang-rt-14-dev" ;;
    bench) echo "jsonnet jq time" ;;
    demo) echo "postgresql python3" ;;
    esac
}

# GROUP: npm tools, one `NAME@VERSION WHAT` per line (WHAT: what it puts in
# $BUILD/tools/npm/node_modules, whose presence says it is installed: .bin/CMD
# for a command, the package's own directory for a library). Debian's nodejs
# and npm come with the first one.
npm_tools() {
    case $1 in
    # test) echo "example-emulator@1.2.3 .bin/example-emulator" ;;
    # S3 and Azure Blob emulators, and AWS's SigV4 signer, which the
    # verifying proxy (tests/s3/sigv4proxy.js) checks every request with;
    # azurite 3.35.0 is the last that runs on Debian 12's Node 18 (and 20)
    test) printf '%s\n' "s3rver@3.7.1 .bin/s3rver" "azurite@3.35.0 .bin/azurite-blob" \
        "@smithy/signature-v4@5.7.5 @smithy/signature-v4" "@aws-crypto/sha256-js@5.2.0 @aws-crypto/sha256-js" ;;
    # the demo's S3 scene: s3rver behind the verifying proxy (tests/s3/sigv4proxy.js)
    demo) printf '%s\n' "s3rver@3.7.1 .bin/s3rver" "@smithy/signature-v4@5.7.5 @smithy/signature-v4" \
        "@aws-crypto/sha256-js@5.2.0 @aws-crypto/sha256-js" ;;
    # HashiCorp's HCL parser built to WebAssembly, a library that
    # tests/bench/hcl2json.js calls
    bench) echo "@cdktf/hcl2json@0.21.0 @cdktf/hcl2json" ;;
    *) ;;
    esac
}

ALL_GROUPS="build test fuzz bench demo"

# ---- the installer ----

BUILD=${BUILD:-build}
NPM_PREFIX=$BUILD/tools/npm

say() { echo "deps: $*"; }
die() {
    echo "deps: $*" >&2
    exit 1
}

groups=${*:-$ALL_GROUPS}
for g in $groups; do
    case " $ALL_GROUPS " in
    *" $g "*) ;;
    *) die "unknown group \`$g\` (groups: $ALL_GROUPS)" ;;
    esac
done

pkgs="" tools=""
for g in $groups; do
    pkgs="$pkgs $(debian_packages "$g")"
    t=$(npm_tools "$g")
    [ -n "$t" ] && tools="$tools
$t"
done
# An npm already on PATH will do, whichever package brought it (NodeSource's
# nodejs carries its own npm and conflicts with Debian's).
[ -n "$tools" ] && ! command -v npm >/dev/null 2>&1 && pkgs="$pkgs nodejs npm"

# missing_packages PKG...: those dpkg does not list as installed, in one call.
missing_packages() {
    installed=$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null |
        awk '$NF == "installed" { print $1 }')
    for p in "$@"; do
        case " $(echo $installed) " in
        *" $p "*) ;;
        *) printf ' %s' "$p" ;;
        esac
    done
}

# as_root CMD...: CMD as root, through sudo when we are not.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "not root and no sudo to install:$missing; run \`sh tests/deps.sh\` as root, or install them"
    fi
}

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    # On a fresh machine the package lists are empty or stale: update, retry.
    as_root apt-get install -y -q "$@" ||
        { as_root apt-get update -q && as_root apt-get install -y -q "$@"; } ||
        die "apt-get could not install: $*"
}

missing=""
if command -v dpkg-query >/dev/null 2>&1; then
    # shellcheck disable=SC2086 # a list of words
    missing=$(missing_packages $pkgs)
    if [ -n "$missing" ]; then
        say "installing$missing"
        # shellcheck disable=SC2086
        apt_install $missing
    fi
else
    say "no dpkg here (not Debian): make sure these are installed:$pkgs"
fi

# npm tools: each in $NPM_PREFIX unless its command is there already.
need_npm=""
if [ -n "$tools" ]; then
    need_npm=$(echo "$tools" | while read -r spec what; do
        [ -n "$spec" ] && [ ! -e "$NPM_PREFIX/node_modules/$what" ] && printf ' %s' "$spec"
    done)
    if [ -n "$need_npm" ]; then
        say "installing$need_npm into $NPM_PREFIX"
        mkdir -p "$NPM_PREFIX" || die "cannot create $NPM_PREFIX"
        # shellcheck disable=SC2086
        npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --silent $need_npm ||
            die "npm could not install:$need_npm"
    fi
fi

[ -z "$missing$need_npm" ] && say "all installed ($(echo $groups | tr ' ' ','))"
exit 0
