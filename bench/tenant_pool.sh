#!/usr/bin/env bash
# A pool of ready tenants against none, pagila-tenant.sql registered, in one run:
#  1. create_tenant, one session, one transaction per tenant, the two arms
#     interleaved: a role whose pool holds 50 spares, and a role without a pool;
#  2. CLIENTS pgbench clients inserting organizations into a managed table,
#     one row per transaction: a table whose pool holds a spare for every row
#     of the run, then the same run on a table without a pool.
# The background refill is off while measuring (tenancy.pool_refill_worker):
# the pools are filled beforehand by CALL tenancy.refill_tenant_pool().
# Usage: tenant_pool.sh [TENANTS] [CLIENTS] [TRANSACTIONS]
source "$(dirname "$0")/lib.sh"
tenants=${1:-30}
clients=${2:-8}
transactions=${3:-25}
db=bench_tenant_pool
fresh_bench_database "$db"
export PGOPTIONS="-c tenancy.pool_refill_worker=off"
rows=$((clients * transactions))

psql -X -q -v ON_ERROR_STOP=1 -d "$db" -v pagila="$(cat "$PAGILA")" >/dev/null <<SQL
SET client_min_messages = warning;
SELECT tenancy.register_migration(1, 'pagila', :'pagila');
DROP ROLE IF EXISTS bench_pooled;
DROP ROLE IF EXISTS bench_unpooled;
CREATE ROLE bench_pooled;
CREATE ROLE bench_unpooled;
GRANT CREATE ON DATABASE $db TO bench_pooled, bench_unpooled;
GRANT SELECT ON tenancy.migration_registry TO bench_pooled, bench_unpooled;
GRANT EXECUTE ON FUNCTION tenancy.create_tenant(text, boolean), tenancy.set_tenant_pool(integer)
    TO bench_pooled, bench_unpooled;
SET ROLE bench_pooled;
SELECT tenancy.set_tenant_pool(50);
RESET ROLE;
CREATE TABLE organizations_pooled (id bigserial PRIMARY KEY, name text);
CREATE TABLE organizations_unpooled (id bigserial PRIMARY KEY, name text);
SELECT tenancy.manage_tenant('organizations_pooled', ARRAY['pooled_', ':id'], pool => $rows);
SELECT tenancy.manage_tenant('organizations_unpooled', ARRAY['unpooled_', ':id']);
CREATE TABLE bench (arm text, tenant int, seconds float8);
SQL
fill_start=$(date +%s.%N)
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CALL tenancy.refill_tenant_pool()"
fill_seconds=$(echo "$(date +%s.%N) - $fill_start" | bc)
ready=$(psql -X -A -t -d "$db" -c "SELECT string_agg(owner || coalesce(' ' || managed_table, '') || ': ' || ready || ' of ' || target || coalesce(' (' || reason || ')', ''), ', ') FROM tenancy.tenant_pools_status")
echo "pools filled in ${fill_seconds}s: $ready"
psql -X -q -d "$db" -c "CREATE TABLE bench_spare_oids AS SELECT n.oid FROM tenancy.tenant_registry AS r
                         JOIN pg_namespace AS n ON n.nspname = r.tenant WHERE r.spare" -c CHECKPOINT

script=$(mktemp)
{
    echo "\\set ON_ERROR_STOP 1"
    for i in $(seq 1 "$tenants"); do
        for arm in pooled unpooled; do
            echo "SET ROLE bench_$arm;"
            echo "SELECT extract(epoch FROM clock_timestamp()) AS t0 \\gset"
            echo "SELECT tenancy.create_tenant('${arm}_tenant_$i');"
            echo "SELECT extract(epoch FROM clock_timestamp()) AS t1 \\gset"
            echo "RESET ROLE;"
            echo "INSERT INTO bench VALUES ('$arm', $i, :t1 - :t0);"
        done
    done
} >"$script"
psql -X -q -d "$db" -f "$script" >/dev/null
rm -f "$script"

taken=$(psql -X -A -t -d "$db" -c "SELECT count(*) FROM bench_spare_oids AS s JOIN pg_namespace AS n ON n.oid = s.oid
                                   WHERE n.nspname LIKE 'pooled\_tenant\_%'")
echo "create_tenant: $taken of $tenants pooled tenants were spares"
# The first two tenants of each arm warm the caches and are left out.
pooled=$(psql -X -A -t -d "$db" -c "$(median_sql bench pooled 'tenant > 2')")
unpooled=$(psql -X -A -t -d "$db" -c "$(median_sql bench unpooled 'tenant > 2')")
ratio=$(psql -X -A -t -d "$db" -c "SELECT round($pooled / $unpooled, 4)")
echo "create_tenant (pagila, $((tenants - 2)) tenants per arm, interleaved): median ${pooled}s from a pool of 50 vs ${unpooled}s without: ratio ${ratio} = 1/$(psql -X -A -t -d "$db" -c "SELECT round($unpooled / $pooled)") (target <= 1/30)"

run_inserts() {  # ARM: pgbench against organizations_ARM; prints tps
    local workload output
    workload=$(mktemp)
    echo "INSERT INTO organizations_$1 (name) VALUES ('client ' || :client_id);" >"$workload"
    psql -X -q -d "$db" -c CHECKPOINT
    output=$(pgbench -n -h 127.0.0.1 -c "$clients" -j 2 -t "$transactions" -f "$workload" "$db" 2>&1)
    rm -f "$workload"
    tps=$(grep -oE "tps = [0-9.]+" <<<"$output" | head -1 | grep -oE "[0-9.]+$")
    failed=$(grep -oE "number of failed transactions: [0-9]+" <<<"$output" | grep -oE "[0-9]+$" || echo 0)
    errors=$(grep -cE "ERROR|deadlock" <<<"$output" || true)
    complete=$(psql -X -A -t -d "$db" -c "
        SELECT count(*) FROM organizations_$1 o
        JOIN tenancy.tenant_registry r ON r.tenant = '$1_' || o.id AND NOT r.spare
        WHERE (SELECT count(*) FROM tenancy._applied_migrations(r.tenant)) = 1")
    echo "$1: $tps inserts/s, $failed failed, $errors error lines, $complete of $rows organizations with their complete tenant"
}
pooled_line=$(run_inserts pooled)
unpooled_line=$(run_inserts unpooled)
pooled_tps=$(grep -oE "^pooled: [0-9.]+" <<<"$pooled_line" | grep -oE "[0-9.]+$")
unpooled_tps=$(grep -oE "^unpooled: [0-9.]+" <<<"$unpooled_line" | grep -oE "[0-9.]+$")
echo "concurrent inserts, $clients clients x $transactions transactions: $pooled_line; $unpooled_line; ratio $(echo "scale=1; $pooled_tps / $unpooled_tps" | bc)x (target >= 20x, 0 errors)"
