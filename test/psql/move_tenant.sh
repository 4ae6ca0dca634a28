#!/usr/bin/env bash
# The README's recipe for moving a tenant to another database: pg_dump of the
# tenant's schema, pg_restore, create_tenant(..., if_not_exists => true). The
# tenant ends registered, its applied versions recognised (migrate_all finds
# only what the new database has and it lacks), its data intact, and the
# application role's access restored.
source "$(dirname "$0")/lib.sh"
source_db="${TEST_DB}_source"
target_db="${TEST_DB}_target"

in_db() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "SET client_min_messages = warning" -c "$2"; }
for db in "$source_db" "$target_db"; do
    psql -X -q -d postgres -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS \"$db\"" -c "CREATE DATABASE \"$db\""
    in_db "$db" "CREATE EXTENSION pg_tenancy" >/dev/null
done
psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS tenancy_move_app" -c "CREATE ROLE tenancy_move_app"

migrations="
SELECT tenancy.register_migration(1, 'create_projects', 'CREATE TABLE projects (id serial PRIMARY KEY, name text)');
SELECT tenancy.register_migration(2, 'create_tasks', 'CREATE TABLE tasks (id int PRIMARY KEY, project_id int REFERENCES projects)');"
in_db "$source_db" "$migrations
SELECT tenancy.create_tenant('org_5');
INSERT INTO org_5.projects (name) VALUES ('moved'), ('along');
INSERT INTO org_5.tasks VALUES (1, 1);" >/dev/null
# The target runs a newer release of the application: one more migration.
in_db "$target_db" "$migrations
SELECT tenancy.register_migration(3, 'add_due', 'ALTER TABLE tasks ADD due date');
CALL tenancy.grant_tenant_access('tenancy_move_app');" >/dev/null
source_applied=$(in_db "$source_db" "SELECT string_agg(version || '@' || applied_at, ',' ORDER BY version) FROM tenancy.migration_status('org_5')")

# The recipe.
dump=$(mktemp)
pg_dump -Fc --schema='"org_5"' -d "$source_db" -f "$dump"
pg_restore -d "$target_db" "$dump"
rm -f "$dump"
TEST_DB=$target_db
run_sql "SELECT tenancy.create_tenant('org_5', if_not_exists => true)"
check "adopting the restored schema applies only what the target has and the source lacked" "3" \
    "SELECT string_agg(version::text, ',') FROM tenancy.migration_status('org_5')
     WHERE applied_at >= (SELECT max(applied_at) FROM tenancy.migration_status('org_5')) AND version = 3"
check "the tenant is registered in the target" "org_5" "SELECT * FROM tenancy.all_tenants()"
check "its applied versions from the source are recognised, with their times" "$source_applied" \
    "SELECT string_agg(version || '@' || applied_at, ',' ORDER BY version) FROM tenancy.migration_status('org_5') WHERE version < 3"
check "the new migration ran on the moved data" "t" \
    "SELECT EXISTS (SELECT FROM information_schema.columns WHERE table_schema = 'org_5' AND table_name = 'tasks' AND column_name = 'due')"
check "the data came along" "2 1" "SELECT (SELECT count(*) FROM org_5.projects) || ' ' || (SELECT count(*) FROM org_5.tasks)"
check "a serial keeps counting where it was" "3" "INSERT INTO org_5.projects (name) VALUES ('next') RETURNING id"
check "the application role's access is restored" "t t" \
    "SELECT concat_ws(' ', has_schema_privilege('tenancy_move_app', 'org_5', 'USAGE'),
        has_table_privilege('tenancy_move_app', 'org_5.tasks', 'SELECT'))"
output=$(psql -X -d "$target_db" -c "CALL tenancy.migrate_all()" 2>&1)
check_output "migrate_all then finds nothing left to do" "1 tenants, 0 migrated, 0 failed, 1 up to date" "$output"
TEST_DB=$source_db
run_sql "SELECT tenancy.drop_tenant('org_5')"
check "and the source drops its copy" "0" "SELECT count(*) FROM tenancy.all_tenants()"

for db in "$source_db" "$target_db"; do psql -X -q -d postgres -c "DROP DATABASE \"$db\""; done
psql -X -q -d postgres -c "DROP ROLE tenancy_move_app"
finish_checks
