#!/usr/bin/env bash
# CALL migrate_all / rollback_all outside a transaction block: a commit after
# each tenant, 'stop' and 'continue', last_error, progress NOTICEs, and a
# tenant dropped while the run goes on.
source "$(dirname "$0")/lib.sh"
fresh_database

run_sql "
SELECT tenancy.register_migration(1, 'create_items', 'CREATE TABLE items (id int)', 'DROP TABLE items');
SELECT tenancy.create_tenant(format('t%s', i)) FROM generate_series(1, 12) AS i;
SELECT tenancy.register_migration(2, 'fails_in_t5',
    \$\$DO \$b\$ BEGIN IF current_schema() = 't5' THEN RAISE EXCEPTION 't5 refuses' USING ERRCODE = 'P0005'; END IF; END \$b\$;
      CREATE TABLE two (id int)\$\$, 'DROP TABLE two');"

# 'stop': tenants before the failing one (in name order) stay migrated.
output=$(psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all()" 2>&1 || true)
check_output "on_error 'stop' raises the failing tenant's error" "ERROR:  t5 refuses" "$output"
check_output "with CONTEXT naming the migration and tenant" 'up of migration 2 "fails_in_t5" in tenant "t5"' "$output"
check "tenants before the failing one stay migrated (committed)" "t1,t10,t11,t12,t2,t3,t4" \
    "SELECT string_agg(tenant, ',' ORDER BY tenant COLLATE \"C\") FROM tenancy.tenants WHERE version = 2"
check "the failing tenant is untouched" "1" "SELECT version FROM tenancy.tenants WHERE tenant = 't5'"
check "its last_error is recorded" "P0005: t5 refuses" "SELECT last_error FROM tenancy.tenants WHERE tenant = 't5'"
check "tenants after it were not run" "0" "SELECT count(*) FROM tenancy.tenants WHERE tenant IN ('t6', 't7', 't8', 't9') AND version = 2"

# 'continue': every other tenant is migrated, the failing one skipped and named.
output=$(psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all(on_error => 'continue')" 2>&1)
check_output "a WARNING at the end names the failing tenants" 'WARNING:  migrate_all: 1 tenants failed: "t5"' "$output"
check_output "progress NOTICEs go out" "NOTICE:  migrate_all: [0-9]+ of 12 tenants done" "$output"
check_output "and a summary at the end" "NOTICE:  migrate_all: 12 tenants, 4 migrated, 1 failed, 7 up to date" "$output"
check "all others are migrated" "11" "SELECT count(*) FROM tenancy.tenants WHERE version = 2"
check "only the failing tenant keeps a last_error" "t5" "SELECT string_agg(tenant, ',') FROM tenancy.tenants WHERE last_error IS NOT NULL"

# Fixed, a new run migrates it and clears its last_error.
run_sql "DELETE FROM tenancy.migration_registry WHERE version = 2;
         SELECT tenancy.register_migration(2, 'fixed', 'CREATE TABLE two (id int)', 'DROP TABLE two');"
psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all()" >/dev/null 2>&1
check "after the fix every tenant is at version 2" "12" "SELECT count(*) FROM tenancy.tenants WHERE version = 2"
check "and last_error is cleared" "0" "SELECT count(*) FROM tenancy.tenants WHERE last_error IS NOT NULL"
check "no tenant ran a version twice" "24" "SELECT sum(n) FROM (SELECT count(*) AS n FROM tenancy.migration_status() WHERE state = 'applied') s"

# A tenant dropped while the run goes on (t3's migration drops t4) is skipped.
run_sql "SELECT tenancy.register_migration(3, 'drops_t4',
    \$\$DO \$b\$ BEGIN IF current_schema() = 't3' THEN DROP SCHEMA t4 CASCADE; END IF; END \$b\$ \$\$);"
output=$(psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all()" 2>&1)
check_output "a tenant dropped meanwhile is skipped, not an error" "11 migrated, 0 failed, 0 up to date, 1 dropped meanwhile" "$output"
check "the registry no longer lists it" "11" "SELECT count(*) FROM tenancy.all_tenants()"

# rollback_all commits per tenant too, and target_version is required.
output=$(psql -X -d "$TEST_DB" -c "CALL tenancy.rollback_all(2)" 2>&1 || true)
check_output "rollback_all refuses a migration without down_sql, per tenant" "cannot roll back migration 3: it has no down_sql" "$output"
run_sql "UPDATE tenancy.migration_registry SET down_sql = 'SELECT 1' WHERE version = 3"
psql -X -q -d "$TEST_DB" -c "CALL tenancy.rollback_all(1)" >/dev/null 2>&1
check "rollback_all takes every tenant down to the target" "11" "SELECT count(*) FROM tenancy.tenants WHERE version = 1"
check "running down_sql" "0" "SELECT count(*) FROM pg_class WHERE relname = 'two'"
output=$(psql -X -d "$TEST_DB" -c "CALL tenancy.rollback_all(NULL)" 2>&1 || true)
check_output "rollback_all needs a target_version" "target_version must not be null" "$output"

# Failures that only show late or come from outside the migration.
run_sql "SELECT tenancy.drop_tenant(t) FROM tenancy.all_tenants() AS t;
         DELETE FROM tenancy.migration_registry;
         SELECT tenancy.create_tenant(format('u%s', i)) FROM generate_series(1, 3) AS i;
         CREATE TABLE public.parents (id int PRIMARY KEY);
         SELECT tenancy.register_migration(10, 'deferred_fk',
             \$\$CREATE TABLE kids (parent_id int REFERENCES parents DEFERRABLE INITIALLY DEFERRED);
               DO \$b\$ BEGIN IF current_schema() = 'u2' THEN INSERT INTO kids VALUES (42); END IF; END \$b\$ \$\$);"
output=$(psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all(on_error => 'continue')" 2>&1 || true)
check "a deferred constraint fails its own tenant, not the run" "u1 10|u2 |u3 10" \
    "SELECT string_agg(tenant || ' ' || coalesce(version::text, ''), '|' ORDER BY tenant) FROM tenancy.tenants"
check "and is recorded in its last_error" "23503" "SELECT left(last_error, 5) FROM tenancy.tenants WHERE tenant = 'u2'"

# lock_timeout: a tenant whose table is held by a long transaction fails with
# 55P03, is recorded, and the others proceed.
run_sql "SELECT tenancy.register_migration(11, 'touch_kids', 'ALTER TABLE kids ADD note text')"
run_sql "DELETE FROM tenancy.migration_registry WHERE version = 10;
         SELECT tenancy.drop_tenant('u2')"
PGAPPNAME=kids_holder psql -X -q -d "$TEST_DB" -c "BEGIN" -c "LOCK TABLE u1.kids IN ACCESS SHARE MODE" \
    -c "SELECT pg_sleep(300)" >/dev/null 2>&1 &
holder=$!
wait_until "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = 'kids_holder'
                           AND query LIKE 'SELECT pg_sleep%')"
output=$(PGOPTIONS="-c lock_timeout=300ms" psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all(on_error => 'continue')" 2>&1 || true)
run_sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'kids_holder'"
wait "$holder" || true
check "with lock_timeout set, the locked tenant fails with 55P03" "55P03" \
    "SELECT left(last_error, 5) FROM tenancy.tenants WHERE tenant = 'u1'"
check "and the others proceed" "u3" \
    "SELECT string_agg(tenant, ',') FROM tenancy.tenants WHERE version = 11"
check_output "the WARNING names the locked tenant" 'migrate_all: 1 tenants failed: "u1"' "$output"

# A cancel (here statement_timeout) ends the run even in 'continue' mode.
run_sql "SELECT tenancy.register_migration(12, 'slow', 'SELECT pg_sleep(2)')"
output=$(PGOPTIONS="-c statement_timeout=500ms" psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all(on_error => 'continue')" 2>&1 || true)
check_output "statement_timeout cancels the whole run, whatever on_error says" "ERROR:  canceling statement due to statement timeout" "$output"
check "no tenant records a cancel as its own error" "0" \
    "SELECT count(*) FROM tenancy.tenants WHERE last_error LIKE '57014%'"

# The peeks find each versions table in a directory read when the run starts;
# a table renamed meanwhile is not taken for the tenant's. v1's migration
# renames v2's table (which already lists every version) and puts an empty
# one in its place: v2 must be judged by the new table, and migrated.
run_sql "SELECT tenancy.drop_tenant(t) FROM tenancy.all_tenants() AS t;
         DELETE FROM tenancy.migration_registry;
         SELECT tenancy.register_migration(20, 'items', 'CREATE TABLE IF NOT EXISTS items (id int)');
         SELECT tenancy.create_tenant('v1'), tenancy.create_tenant('v2');
         SELECT tenancy.register_migration(21, 'replaces_v2_versions',
             \$\$DO \$b\$ BEGIN IF current_schema() = 'v1' THEN
                 ALTER TABLE v2.schema_migrations RENAME TO versions_before;
                 CREATE TABLE v2.schema_migrations (version bigint PRIMARY KEY, inserted_at timestamp(0));
               END IF; END \$b\$ \$\$);
         INSERT INTO v2.schema_migrations VALUES (21, now());"
output=$(psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all()" 2>&1)
check_output "a tenant whose versions table was replaced during the run is migrated" \
    "2 tenants, 2 migrated, 0 failed, 0 up to date" "$output"
check "by its new table" "20,21" \
    "SELECT string_agg(version::text, ',' ORDER BY version) FROM v2.schema_migrations"

finish_checks
