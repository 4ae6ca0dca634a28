#!/usr/bin/env bash
# 8 pgbench clients insert organizations (loopback, a bounded run) while two
# sessions run CALL tenancy.migrate_all() after a new migration is
# registered: no error, no deadlock, every tenant migrated exactly once.
source "$(dirname "$0")/lib.sh"
fresh_database
seconds=${TENANCY_STORM_SECONDS:-8}

run_sql "
SELECT tenancy.register_migration(1, 'create_items', 'CREATE TABLE items (id int)');
CREATE TABLE organizations (id bigserial PRIMARY KEY, name text);
SELECT tenancy.manage_tenant('organizations', ARRAY['org_', ':id']);
INSERT INTO organizations (name) SELECT 'before' FROM generate_series(1, 40);
-- Each run of it leaves one row: applied twice, a tenant would hold two.
SELECT tenancy.register_migration(2, 'count_runs',
    'CREATE TABLE IF NOT EXISTS runs (n int); INSERT INTO runs VALUES (1); SELECT pg_sleep(0.01)');"

logs=$(mktemp -d)
echo "INSERT INTO organizations (name) VALUES ('storm');" >"$logs/insert.sql"
pgbench -n -h 127.0.0.1 -c 8 -j 2 -T "$seconds" -f "$logs/insert.sql" "$TEST_DB" >"$logs/pgbench" 2>&1 &
storm=$!
for session in 1 2; do
    (for _ in 1 2 3; do psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all()" || exit 1; sleep 1; done) \
        >"$logs/migrate_$session" 2>&1 &
done
status=0
for job in $(jobs -p); do wait "$job" || status=1; done

grep -hE "ERROR|deadlock|FATAL" "$logs"/* | head -5 || true
check "pgbench and both migrate_all sessions finished cleanly" "0" "SELECT $status"
check "no error or deadlock in any session" "0" "SELECT $(cat "$logs"/* | grep -cE 'ERROR|deadlock' || true)"
check "pgbench reports no failed transaction" "0" \
    "SELECT $(grep -oE 'number of failed transactions: [0-9]+' "$logs/pgbench" | grep -oE '[0-9]+$' || echo 0)"
transactions=$(grep -oE "number of transactions actually processed: [0-9]+" "$logs/pgbench" | grep -oE "[0-9]+$" || echo 0)
check "every organization has its tenant, fully migrated" "$(value_of "SELECT count(*) FROM organizations")" \
    "SELECT count(*) FROM organizations o JOIN tenancy.tenants t ON t.tenant = 'org_' || o.id
     WHERE t.version = 2 AND t.pending = 0"
check "migration 2 ran exactly once in every tenant" "0" \
    "SELECT count(*) FROM tenancy.all_tenants() AS t
     WHERE (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.runs', t), false, true, '')))[1]::text <> '1'"
echo "     clients: 8, inserts: $transactions, migrate_all sessions: 2 x 3 runs, tenants checked: $(value_of "SELECT count(*) FROM tenancy.all_tenants()")"
rm -rf "$logs"
finish_checks
