#!/usr/bin/env bash
# Runs every benchmark against a throwaway cluster and prints the figures.
# Usage: bash bench/run.sh   (a few minutes; not part of the test run)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
make -s && make -s install
scripts/with-cluster.sh bash -c '
    source bench/lib.sh
    echo "machine: $(machine_description)"
    bash bench/create_tenant.sh 30
    bash bench/migrate_all_noop.sh 10000 5
    bash bench/migrate_all_apply.sh 2000 3
    bash bench/manage_tenant.sh 240
    bash bench/concurrent_inserts.sh 4 20
' 2>&1 | grep -v "^Creating new\|^Dropping cluster"
