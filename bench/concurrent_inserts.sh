#!/usr/bin/env bash
# CLIENTS concurrent pgbench clients (loopback), each inserting TRANSACTIONS
# organizations into a managed table with pagila-tenant.sql registered: no
# error, no deadlock, every committed organization with its complete tenant.
# Usage: concurrent_inserts.sh [CLIENTS] [TRANSACTIONS]
source "$(dirname "$0")/lib.sh"
clients=${1:-4}
transactions=${2:-20}
db=bench_concurrent_inserts
fresh_bench_database "$db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -v pagila="$(cat "$PAGILA")" >/dev/null <<'SQL'
SELECT tenancy.register_migration(1, 'pagila', :'pagila');
CREATE TABLE organizations (id bigserial PRIMARY KEY, name text);
SELECT tenancy.manage_tenant('organizations', ARRAY['org_', ':id']);
SQL

workload=$(mktemp)
echo "INSERT INTO organizations (name) VALUES ('client ' || :client_id);" >"$workload"
output=$(pgbench -n -h 127.0.0.1 -c "$clients" -j 2 -t "$transactions" -f "$workload" "$db" 2>&1)
rm -f "$workload"
tps=$(grep -oE "tps = [0-9.]+" <<<"$output" | head -1)
failed=$(grep -oE "number of failed transactions: [0-9]+" <<<"$output" || echo "number of failed transactions: 0")
errors=$(grep -cE "ERROR|deadlock" <<<"$output" || true)
complete=$(psql -X -A -t -d "$db" -c "
    SELECT count(*) FROM organizations o JOIN tenancy.tenants t ON t.tenant = 'org_' || o.id
    WHERE t.version = 1 AND t.pending = 0")
echo "concurrent inserts: $clients clients x $transactions transactions over loopback: $tps, $failed, $errors error lines; $complete of $((clients * transactions)) organizations have their complete tenant"
