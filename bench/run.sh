#!/usr/bin/env bash
# Runs every benchmark against a throwaway cluster and prints the figures.
# Usage: bash bench/run.sh   (a few minutes; not part of the test run)
# PG_CONFIG picks the PostgreSQL (default: Debian's 15), as for scripts/with-cluster.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Each benchmark starts after a checkpoint, so that none pays for the writes
# of the one before it.
scripts/with-cluster.sh --fsync bash -c '
    source bench/lib.sh
    echo "machine: $(machine_description)"
    for bench in "create_tenant.sh 30" "manage_tenant.sh 240" "migrate_all_noop.sh 10000 5" \
                 "migrate_all_apply.sh 2000 3" "migrate_all_workers.sh 200 3" "concurrent_inserts.sh 4 20" \
                 "tenant_pool.sh 30 8 25" "tenant_usage.sh 10000 5" "status_at_scale.sh 10000 5" \
                 "online_migration.sh 100 1000000 4 3"; do
        psql -X -q -d postgres -c CHECKPOINT
        bash bench/$bench
    done
' 2>&1 | grep -v "^Creating new\|^Dropping cluster"
