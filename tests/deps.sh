#!/bin/sh
# Install the Debian packages moksha needs to build and test, when missing.
set -e
pkgs="build-essential libyaml-dev libjansson-dev re2c bison libcurl4-openssl-dev libssl-dev
      libcmocka-dev clang valgrind jsonnet libclang-rt-14-dev"
missing=""
for p in $pkgs; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && { echo "deps: all installed"; exit 0; }
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y $missing || { $SUDO apt-get update && $SUDO apt-get install -y $missing; }
