#!/usr/bin/env bash
# The Debian package check: builds postgresql-15-pg-tenancy from a copy of
# this tree (dpkg-buildpackage, Debian's pg_buildext), installs it, shows the
# installed library's run-time dependencies (no libfmt, no debugging
# sections), runs the server tests against the INSTALLED package
# (scripts/with-cluster.sh --installed) and removes the package again.
#
# Nothing is built in this tree: every build product lives in a temporary
# directory that is removed at the end. Needs root (it installs a package);
# exits 77 after saying SKIPPED when it cannot run here.
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=$PWD
package=postgresql-15-pg-tenancy

if [ "$(id -u)" != 0 ]; then
    echo "package test: SKIPPED, installing a package needs root"
    exit 77
fi
for tool in dpkg-buildpackage pg_buildext apt-get; do
    if ! command -v "$tool" >/dev/null; then
        echo "package test: SKIPPED, no $tool on this machine (scripts/install-deps.sh installs it)"
        exit 77
    fi
done

# The package's version is the extension's: debian/changelog follows
# pg_tenancy.control's default_version.
version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" pg_tenancy.control)
deb_version=$(dpkg-parsechangelog -l debian/changelog -S Version)
if [ "${deb_version%-*}" != "$version" ]; then
    echo "package test: FAILED, debian/changelog is at $deb_version but pg_tenancy.control at $version"
    exit 1
fi

# Two package tests at once would install and remove the same package.
exec 9>/tmp/pg_tenancy_package_test.lock
flock 9

if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
    echo "package test: FAILED, $package is installed already; this test installs and removes"
    echo "it, and leaves an installation it did not make alone (apt-get remove $package first)"
    exit 1
fi

work=$(mktemp -d /tmp/pg_tenancy_package.XXXXXX)
chmod 755 "$work"
installed=false
cleanup() {
    local status=$?
    if $installed; then
        echo "== removing $package"
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "$package" >"$work/remove.log" 2>&1 ||
            { cat "$work/remove.log"; status=1; }
        if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
            echo "package test: $package is still installed"
            status=1
        fi
    fi
    rm -rf "$work"
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

copy_tree() {
    mkdir -p "$1"
    tar -C "$source_dir" --exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
        --exclude='*.d' --exclude=./results --exclude=./log --exclude=./output_iso \
        --exclude=./regression.diffs --exclude=./regression.out -cf - . | tar -C "$1" -xf -
}

echo "== building $package $deb_version (dpkg-buildpackage -us -uc -b)"
copy_tree "$work/pg-tenancy-$version"
(cd "$work/pg-tenancy-$version" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 ||
    { tail -60 "$work/build.log"; echo "package test: FAILED, the package does not build"; exit 1; }
ls "$work"/*.deb | sed "s|^$work/|   |"

echo "== installing $package"
(cd "$work" && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "./${package}_${deb_version}_"*.deb) \
    >"$work/install.log" 2>&1 || { cat "$work/install.log"; echo "package test: FAILED to install"; exit 1; }
installed=true

pg_config=/usr/lib/postgresql/15/bin/pg_config
library="$("$pg_config" --pkglibdir)/pg_tenancy.so"
failed=0
echo "== ldd $library"
ldd "$library" | sed 's/^/   /'
if ldd "$library" | grep -q libfmt; then
    echo "FAILED: the installed library needs libfmt at run time"
    failed=1
fi
if readelf -S "$library" | grep -q '\.debug_'; then
    echo "FAILED: the installed library carries debugging sections"
    failed=1
else
    echo "   no debugging sections ($(stat -c %s "$library") bytes; symbols are in ${package}-dbgsym)"
fi
if [ -e "$("$pg_config" --pkglibdir)/tenancy_boundary_test.so" ]; then
    echo "FAILED: the test-only module is in the server's library directory"
    failed=1
fi

echo "== server tests against the installed package"
# In another copy of the tree, so that test output never lands here either.
copy_tree "$work/tests"
PG_CONFIG=$pg_config "$work/tests/scripts/with-cluster.sh" --installed scripts/server-tests.sh || failed=1

[ "$failed" -eq 0 ] && echo "package test: passed" || echo "package test: FAILED"
exit "$failed"
