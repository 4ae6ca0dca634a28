#!/usr/bin/env bash
# A database with tenants, registered migrations, a managed table and tenant
# data, through pg_dump -Fc and pg_restore into a new database.
source "$(dirname "$0")/lib.sh"
fresh_database
restored="${TEST_DB}_restored"

run_sql "
CREATE TABLE public.users (id int PRIMARY KEY);
INSERT INTO public.users VALUES (1), (2);
SELECT tenancy.register_migration(1, 'create_projects',
    'CREATE TABLE projects (id int PRIMARY KEY, owner_id int REFERENCES users (id))', 'DROP TABLE projects');
SELECT tenancy.register_migration(2, 'create_tasks',
    'CREATE TABLE tasks (id int PRIMARY KEY, project_id int REFERENCES projects (id))', 'DROP TABLE tasks');
CREATE TABLE public.organizations (id int PRIMARY KEY, name text);
SELECT tenancy.manage_tenant('public.organizations', ARRAY['org_', ':id'], on_delete => 'drop');
INSERT INTO organizations VALUES (1, 'Acme'), (2, 'Globex');
SELECT tenancy.create_tenant('standalone');
INSERT INTO org_1.projects VALUES (10, 1);
INSERT INTO org_1.tasks VALUES (100, 10);
INSERT INTO standalone.projects VALUES (20, 2);"

dump=$(mktemp)
pg_dump -Fc -d "$TEST_DB" -f "$dump"
psql -X -q -d postgres -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS \"$restored\"" -c "CREATE DATABASE \"$restored\""
restore_output=$(pg_restore -d "$restored" "$dump" 2>&1) && restore_status=0 || restore_status=$?
rm -f "$dump"
echo "$restore_output" | head -5
check "pg_restore exits 0" "0" "SELECT $restore_status"
check "and reports no error" "0" "SELECT $(grep -ci error <<<"$restore_output" || true)"

TEST_DB=$restored
check "the tenants are there" "org_1,org_2,standalone" \
    "SELECT string_agg(t, ',' ORDER BY t COLLATE \"C\") FROM tenancy.all_tenants() t"
check "the registered migrations are there" "1 create_projects|2 create_tasks" \
    "SELECT string_agg(version || ' ' || name, '|' ORDER BY version) FROM tenancy.migration_registry"
check "the applied versions are there" "t" \
    "SELECT bool_and(version = 2 AND pending = 0) FROM tenancy.tenants"
check "the template settings are there" "organizations {org_,:id} drop" \
    "SELECT tbl || ' ' || template::text || ' ' || on_delete FROM tenancy.managed_tables"
check "the tenant data is there" "1|1|1" \
    "SELECT (SELECT count(*) FROM org_1.projects) || '|' || (SELECT count(*) FROM org_1.tasks)
         || '|' || (SELECT count(*) FROM standalone.projects)"
check "the migration states are clean" "0" \
    "SELECT count(*) FROM tenancy.migration_states WHERE state <> 'applied'"
run_sql "INSERT INTO organizations VALUES (3, 'Initech')"
check "a new organization gets a migrated tenant" "2 0" \
    "SELECT version || ' ' || pending FROM tenancy.tenants WHERE tenant = 'org_3'"
output=$(psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all()" 2>&1)
check_output "migrate_all finds nothing to do" "4 tenants, 0 migrated, 0 failed, 4 up to date" "$output"
run_sql "DELETE FROM organizations WHERE id = 2"
check "the restored triggers still drop on delete" "0" "SELECT count(*) FROM tenancy.all_tenants() t WHERE t = 'org_2'"
finish_checks
