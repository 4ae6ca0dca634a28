#!/usr/bin/env bash
# Inserting organizations into a managed table, one per transaction, with
# pagila-tenant.sql registered, against calling create_tenant directly for
# the same number of tenants; interleaved. Usage: manage_tenant.sh [ORGANIZATIONS]
source "$(dirname "$0")/lib.sh"
organizations=${1:-240}
db=bench_manage_tenant
fresh_bench_database "$db"

script=$(mktemp)
{
    echo "\\set ON_ERROR_STOP 1"
    echo "SET client_min_messages = warning;"
    echo "CREATE TABLE bench (arm text, n int, seconds float8);"
    echo "SELECT tenancy.register_migration(1, 'pagila', :'pagila');"
    echo "CREATE TABLE organizations (id int PRIMARY KEY, name text);"
    echo "SELECT tenancy.manage_tenant('organizations', ARRAY['org_', ':id']);"
    for i in $(seq 1 "$organizations"); do
        echo "SELECT extract(epoch FROM clock_timestamp()) AS t0 \\gset"
        echo "INSERT INTO organizations VALUES ($i, 'Organization $i');"
        echo "SELECT extract(epoch FROM clock_timestamp()) AS t1 \\gset"
        echo "INSERT INTO bench VALUES ('insert', $i, :t1 - :t0);"
        echo "SELECT extract(epoch FROM clock_timestamp()) AS t0 \\gset"
        echo "SELECT tenancy.create_tenant('dir_$i');"
        echo "SELECT extract(epoch FROM clock_timestamp()) AS t1 \\gset"
        echo "INSERT INTO bench VALUES ('create_tenant', $i, :t1 - :t0);"
    done
} >"$script"
psql -X -q -d "$db" -v pagila="$(cat "$PAGILA")" -f "$script" >/dev/null
rm -f "$script"

ours=$(psql -X -A -t -d "$db" -c "$(median_sql bench insert 'n > 2')")
plain=$(psql -X -A -t -d "$db" -c "$(median_sql bench create_tenant 'n > 2')")
ratio=$(psql -X -A -t -d "$db" -c "SELECT round($ours / $plain, 3)")
echo "managed insert (pagila, $((organizations - 2)) per arm, interleaved): median ${ours}s vs create_tenant ${plain}s: ratio ${ratio} (target <= 1.10)"
