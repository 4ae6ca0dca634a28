#!/usr/bin/env bash
# Installs the Debian packages pg_tenancy needs to build and test, if missing.
set -euo pipefail

packages=(
    make g++ clang-14 libfmt-dev libgtest-dev
    postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap
    libtap-parser-sourcehandler-pgtap-perl postgresql-contrib
    # the Debian package (scripts/test-package.sh): dpkg-buildpackage, debhelper,
    # pg_buildext and its debhelper sequence, fakeroot
    dpkg-dev debhelper fakeroot postgresql-server-dev-all binutils
)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
