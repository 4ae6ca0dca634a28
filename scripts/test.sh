#!/usr/bin/env bash
# Runs every test: the unit tests (GoogleTest, no server), then the server
# tests (pg_regress, pgTAP, isolation, psql suites) against a throwaway
# cluster of each supported PostgreSQL that can be had here: Debian's 15, and
# 18 from ../shared/pg (installed into /opt/pg/18 when its tarball is there);
# then the Debian package check (scripts/test-package.sh: build, install, the
# server tests against the installed package, remove).
# Installs what it needs. TENANCY_PG_VERSIONS="15" limits the versions.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

pg_config_for() {
    case "$1" in
        15) echo /usr/lib/postgresql/15/bin/pg_config ;;
        *) echo "/opt/pg/$1/bin/pg_config" ;;
    esac
}

# PostgreSQL 18 is not in Debian 12's archive: it comes prebuilt from shared/.
if [ ! -x /opt/pg/18/bin/pg_config ] && [ -f ../shared/pg/install.sh ] && [ "$(id -u)" = 0 ]; then
    bash ../shared/pg/install.sh 18 || echo "could not install PostgreSQL 18 from ../shared/pg"
fi

echo "== unit tests"
make -s unit

# Every failing check of every run, repeated at the very end of the log.
TENANCY_FAILURES=$(mktemp)
export TENANCY_FAILURES
trap 'rm -f "$TENANCY_FAILURES"' EXIT

versions_passed=0
versions_failed=0
versions_skipped=0
for version in ${TENANCY_PG_VERSIONS:-15 18}; do
    pg_config=$(pg_config_for "$version")
    if [ ! -x "$pg_config" ]; then
        echo "== PostgreSQL $version: SKIPPED, no $pg_config on this machine"
        versions_skipped=$((versions_skipped + 1))
        continue
    fi
    echo "== server tests on PostgreSQL $version"
    if PG_CONFIG=$pg_config scripts/with-cluster.sh scripts/server-tests.sh; then
        versions_passed=$((versions_passed + 1))
    else
        echo "== PostgreSQL $version: FAILED"
        echo "PostgreSQL $version failed" >>"$TENANCY_FAILURES"
        versions_failed=$((versions_failed + 1))
    fi
done

echo "== Debian package postgresql-15-pg-tenancy"
package_result=passed
package_status=0
scripts/test-package.sh || package_status=$?
case $package_status in
    0) ;;
    77) package_result=SKIPPED ;;
    *) package_result=FAILED ;;
esac

echo "Debian package: $package_result"
# Each PostgreSQL version's server suite and the package test, as one count.
runs_passed=$versions_passed
runs_failed=$versions_failed
runs_skipped=$versions_skipped
case $package_result in
    passed) runs_passed=$((runs_passed + 1)) ;;
    FAILED) runs_failed=$((runs_failed + 1)) ;;
    *) runs_skipped=$((runs_skipped + 1)) ;;
esac
if [ -s "$TENANCY_FAILURES" ]; then
    echo "== what failed"
    cat "$TENANCY_FAILURES"
fi
echo "PostgreSQL versions: $versions_passed passed, $versions_failed failed, $versions_skipped skipped"
echo "runs: $runs_passed passed, $runs_failed failed, $runs_skipped skipped"
[ "$versions_failed" -eq 0 ] && [ "$versions_passed" -gt 0 ] && [ "$package_result" != FAILED ]
