#!/usr/bin/env bash
# create_tenant with pagila-tenant.sql registered, against replaying the same
# SQL into a fresh schema with psql: one transaction per tenant, one session,
# the two arms interleaved tenant by tenant. Usage: create_tenant.sh [TENANTS]
source "$(dirname "$0")/lib.sh"
tenants=${1:-30}
db=bench_create_tenant
fresh_bench_database "$db"

script=$(mktemp)
{
    echo "\\set ON_ERROR_STOP 1"
    echo "SET client_min_messages = warning;"
    echo "CREATE TABLE bench (arm text, tenant int, seconds float8);"
    echo "SELECT tenancy.register_migration(1, 'pagila', :'pagila');"
    for i in $(seq 1 "$tenants"); do
        # The markers cost the same in both arms: one query before, one after.
        echo "SELECT extract(epoch FROM clock_timestamp()) AS t0 \\gset"
        echo "SELECT tenancy.create_tenant('ext_$i');"
        echo "SELECT extract(epoch FROM clock_timestamp()) AS t1 \\gset"
        echo "INSERT INTO bench VALUES ('create_tenant', $i, :t1 - :t0);"

        echo "SELECT extract(epoch FROM clock_timestamp()) AS t0 \\gset"
        echo "BEGIN;"
        echo "CREATE SCHEMA psql_$i;"
        echo "SET LOCAL search_path = psql_$i, public;"
        echo "\\i $PAGILA"
        echo "COMMIT;"
        echo "SELECT extract(epoch FROM clock_timestamp()) AS t1 \\gset"
        echo "RESET check_function_bodies;"
        echo "INSERT INTO bench VALUES ('psql replay', $i, :t1 - :t0);"
    done
} >"$script"
psql -X -q -d "$db" -v pagila="$(cat "$PAGILA")" -f "$script" >/dev/null
rm -f "$script"

# The first two tenants of each arm warm the caches and are left out.
ours=$(psql -X -A -t -d "$db" -c "$(median_sql bench create_tenant 'tenant > 2')")
plain=$(psql -X -A -t -d "$db" -c "$(median_sql bench 'psql replay' 'tenant > 2')")
ratio=$(psql -X -A -t -d "$db" -c "SELECT round($ours / $plain, 3)")
echo "create_tenant (pagila, $((tenants - 2)) tenants per arm, interleaved): median ${ours}s vs psql replay ${plain}s: ratio ${ratio} (target <= 0.85)"
