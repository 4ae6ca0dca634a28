# Helpers for the benchmarks; sourced. Runs against the cluster in PG* env.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PAGILA="$BENCH_DIR/../test/workloads/pagila-tenant.sql"

fresh_bench_database() {
    psql -X -q -d postgres -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS \"$1\"" -c "CREATE DATABASE \"$1\""
    psql -X -q -d "$1" -c "CREATE EXTENSION pg_tenancy"
}

# median_sql TABLE ARM [CONDITION]: the query for the median seconds of one arm.
median_sql() {
    echo "SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds))::numeric, 4)
          FROM $1 WHERE arm = '$2' AND (${3:-true})"
}

machine_description() {
    echo "$(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(psql -X -A -t -d postgres -c 'SELECT version()' | cut -d, -f1)"
}
