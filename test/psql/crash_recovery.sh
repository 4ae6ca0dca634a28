#!/usr/bin/env bash
# Crashes: a backend killed with SIGKILL in the middle of migrate_all, and an
# immediate server stop in the middle of a storm of organization inserts.
# After recovery every tenant is whole, and a rerun finishes.
source "$(dirname "$0")/lib.sh"
fresh_database

wait_for_server() {
    for _ in $(seq 1 60); do
        pg_isready -q && psql -X -q -d "$TEST_DB" -c "SELECT 1" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    echo "server did not come back"
    return 1
}

# --- SIGKILL during migrate_all -------------------------------------------
run_sql "
SELECT tenancy.register_migration(1, 'create_items', 'CREATE TABLE items (id int)');
SELECT tenancy.create_tenant(format('k%s', lpad(i::text, 3, '0'))) FROM generate_series(1, 60) AS i;
SELECT tenancy.register_migration(2, 'slow_two_tables',
    'CREATE TABLE first_half (id int); SELECT pg_sleep(0.03); CREATE TABLE second_half (id int)');"
psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all()" >/dev/null 2>&1 &
caller=$!
# The run commits each tenant: kill it once some, not all, are migrated.
wait_until "SELECT count(*) >= 5 FROM tenancy.tenants WHERE version = 2"
victim=$(value_of "SELECT pid FROM pg_stat_activity WHERE query LIKE 'CALL tenancy.migrate_all%' AND pid <> pg_backend_pid()")
kill -9 "$victim"
wait "$caller" || true
wait_for_server
kills=1
check "the kill landed in the middle of the run" "t" \
    "SELECT count(*) FILTER (WHERE version = 2) BETWEEN 1 AND 59 FROM tenancy.tenants"
check "no tenant is half-migrated: version 2 exactly when both of its tables exist" "0" \
    "SELECT count(*) FROM tenancy.tenants t
     WHERE (t.version = 2) <> (to_regclass(format('%I.first_half', t.tenant)) IS NOT NULL
                               AND to_regclass(format('%I.second_half', t.tenant)) IS NOT NULL)
        OR (to_regclass(format('%I.first_half', t.tenant)) IS NULL)
           <> (to_regclass(format('%I.second_half', t.tenant)) IS NULL)"
psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all()" >/dev/null 2>&1
check "a rerun finishes the others" "60" "SELECT count(*) FROM tenancy.tenants WHERE version = 2 AND pending = 0"

# --- immediate stop during a storm of inserts ------------------------------
run_sql "
CREATE TABLE organizations (id bigserial PRIMARY KEY, name text);
SELECT tenancy.manage_tenant('organizations', ARRAY['org_', ':id']);"
workload=$(mktemp)
echo "INSERT INTO organizations (name) VALUES ('storm');" >"$workload"
pgbench -n -c 4 -j 2 -T 20 -f "$workload" "$TEST_DB" >/dev/null 2>&1 &
storm=$!
wait_until "SELECT count(*) >= 20 FROM organizations"
"$TENANCY_CLUSTER" ctl stop -m immediate >/dev/null
wait "$storm" || true
"$TENANCY_CLUSTER" ctl start >/dev/null
wait_for_server
rm -f "$workload"
kills=$((kills + 1))
organizations=$(value_of "SELECT count(*) FROM organizations")
check "the storm committed organizations before the stop" "t" "SELECT $organizations > 0"
check "every committed organization has its complete tenant" "$organizations" \
    "SELECT count(*) FROM organizations o JOIN tenancy.tenants t ON t.tenant = 'org_' || o.id
     WHERE t.version = 2 AND t.pending = 0"
check "no tenant exists without its row" "0" \
    "SELECT count(*) FROM pg_namespace n WHERE n.nspname LIKE 'org\_%'
     AND NOT EXISTS (SELECT FROM organizations o WHERE 'org_' || o.id = n.nspname)"
check "and the registry lists exactly the schemas that exist" "0" \
    "SELECT count(*) FROM tenancy.tenant_registry r FULL JOIN pg_namespace n ON n.nspname = r.tenant
     WHERE (r.tenant IS NULL) <> (n.nspname IS NULL) AND coalesce(r.tenant, n.nspname) ~ '^(k|org_)[0-9]'"
echo "     crashes: $kills; tenants checked: $(value_of "SELECT count(*) FROM tenancy.tenants")"
finish_checks
