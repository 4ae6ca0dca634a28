#!/usr/bin/env bash
# ALTER EXTENSION pg_tenancy UPDATE from every kept earlier version (see
# upgrade/README.md) keeps every tenant and setting, and they still work.
# With no earlier version kept (0.1.0 is the first), it says so and skips.
source "$(dirname "$0")/lib.sh"
root="$(cd "$(dirname "$0")/../.." && pwd)"
current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$root/pg_tenancy.control")
extension_dir="$(pg_config --sharedir)/extension"

shopt -s nullglob
old_scripts=("$root"/upgrade/pg_tenancy--*.sql)
if [ ${#old_scripts[@]} -eq 0 ]; then
    echo "     skipped: $current is the first version, there is no earlier one to update from"
    echo "     $(basename "$0"): 0 passed, 0 failed, 1 skipped"
    exit 0
fi

for old_script in "${old_scripts[@]}"; do
    old=$(basename "$old_script" .sql)
    old=${old#pg_tenancy--}
    cp "$old_script" "$extension_dir/"
    fresh_database_with_version() {
        psql -X -q -d postgres -c "SET client_min_messages = warning" \
            -c "DROP DATABASE IF EXISTS \"$TEST_DB\"" -c "CREATE DATABASE \"$TEST_DB\""
        run_sql "CREATE EXTENSION pg_tenancy VERSION '$old'"
    }
    fresh_database_with_version
    run_sql "
    SELECT tenancy.register_migration(1, 'create_projects', 'CREATE TABLE projects (id int PRIMARY KEY)');
    CREATE TABLE organizations (id int PRIMARY KEY);
    SELECT tenancy.manage_tenant('organizations', ARRAY['org_', ':id']);
    INSERT INTO organizations VALUES (1), (2);
    SELECT tenancy.create_tenant('standalone');"
    run_sql "ALTER EXTENSION pg_tenancy UPDATE"
    check "$old to $current: the extension is at $current" "$current" \
        "SELECT extversion FROM pg_extension WHERE extname = 'pg_tenancy'"
    check "$old to $current: the tenants are kept" "org_1,org_2,standalone" \
        "SELECT string_agg(t, ',' ORDER BY t COLLATE \"C\") FROM tenancy.all_tenants() t"
    check "$old to $current: the migrations are kept" "1" "SELECT count(*) FROM tenancy.migration_registry"
    check "$old to $current: the template is kept" "{org_,:id}" "SELECT template::text FROM tenancy.managed_tables"
    run_sql "INSERT INTO organizations VALUES (3)"
    check "$old to $current: a new organization still gets its migrated tenant" "1 0" \
        "SELECT version || ' ' || pending FROM tenancy.tenants WHERE tenant = 'org_3'"
    rm -f "$extension_dir/pg_tenancy--$old.sql"
done
finish_checks
