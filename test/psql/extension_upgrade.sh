#!/usr/bin/env bash
# ALTER EXTENSION pg_tenancy UPDATE from every kept earlier version (see
# upgrade/README.md) keeps every tenant and setting, they still work, and the
# updated database has exactly the extension objects of a fresh install:
# the same functions (definitions, privileges, comments), views, tables
# (columns, constraints, indexes, comments, privileges) and event triggers.
source "$(dirname "$0")/lib.sh"
root="$(cd "$(dirname "$0")/../.." && pwd)"
current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$root/pg_tenancy.control")
extension_dir="$(pg_config --sharedir)/extension"

# Every object of the extension, one line each with its whole definition,
# in a stable order. Functions through pg_get_functiondef (arguments,
# defaults, volatility, SET clauses, body), tables through their columns,
# constraints and indexes, each with its comment and privileges.
extension_objects() {
    value_of "
    WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'pg_tenancy'),
    members AS (
        SELECT d.classid, d.objid FROM pg_depend d, ext
        WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
    ),
    described AS (
        SELECT pg_describe_object(p.tableoid, p.oid, 0) || E'\n' || pg_get_functiondef(p.oid)
               || E'\nacl ' || coalesce(p.proacl::text, 'default')
               || E'\ncomment ' || coalesce(obj_description(p.oid, 'pg_proc'), '-') AS line
        FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
        UNION ALL
        SELECT pg_describe_object(c.tableoid, c.oid, 0) || ' kind ' || c.relkind::text
               || E'\nacl ' || coalesce(c.relacl::text, 'default')
               || E'\ncomment ' || coalesce(obj_description(c.oid, 'pg_class'), '-')
               || CASE WHEN c.relkind IN ('v', 'm') THEN E'\n' || pg_get_viewdef(c.oid) ELSE '' END
               || coalesce((SELECT string_agg(E'\ncolumn ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                                   || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                                   || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
                                   || ' comment ' || coalesce(col_description(c.oid, a.attnum), '-'),
                                   '' ORDER BY a.attname)
                            FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')
               || coalesce((SELECT string_agg(E'\nconstraint ' || pg_get_constraintdef(k.oid), '' ORDER BY pg_get_constraintdef(k.oid))
                            FROM pg_constraint k WHERE k.conrelid = c.oid), '')
               || coalesce((SELECT string_agg(E'\nindex ' || regexp_replace(pg_get_indexdef(i.indexrelid), 'INDEX \S+ ON', 'INDEX ON'), '' ORDER BY 1)
                            FROM pg_index i WHERE i.indrelid = c.oid), '')
               || coalesce((SELECT string_agg(E'\ntrigger ' || pg_get_triggerdef(t.oid), '' ORDER BY t.tgname)
                            FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal), '')
               || CASE WHEN c.relkind = 'r' THEN E'\nconfig dump ' || coalesce((
                      SELECT array_position(e.extconfig, c.oid)::text || ' ' || coalesce(e.extcondition[array_position(e.extconfig, c.oid)], '')
                      FROM pg_extension e WHERE e.extname = 'pg_tenancy'), '-') ELSE '' END
        FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
        WHERE c.relkind NOT IN ('S', 'i')
        UNION ALL
        SELECT pg_describe_object(m.classid, m.objid, 0) || ' ' || e.evtevent || ' ' || e.evtenabled::text
               || ' ' || coalesce(e.evttags::text, '-') || ' ' || e.evtfoid::regprocedure::text
        FROM members m JOIN pg_event_trigger e ON m.classid = 'pg_event_trigger'::regclass AND e.oid = m.objid
        UNION ALL
        SELECT pg_describe_object(m.classid, m.objid, 0)
        FROM members m
        WHERE m.classid NOT IN ('pg_proc'::regclass, 'pg_class'::regclass, 'pg_event_trigger'::regclass)
        UNION ALL
        SELECT 'schema tenancy acl ' || coalesce(n.nspacl::text, 'default')
        FROM pg_namespace n WHERE n.nspname = 'tenancy'
    )
    SELECT string_agg(line, E'\n' ORDER BY line COLLATE \"C\") FROM described"
}

shopt -s nullglob
old_scripts=("$root"/upgrade/pg_tenancy--*.sql)
if [ ${#old_scripts[@]} -eq 0 ]; then
    echo "     skipped: $current is the first version, there is no earlier one to update from"
    echo "     $(basename "$0"): 0 passed, 0 failed, 1 skipped"
    exit 0
fi

# The old install scripts go into the installation for this test only (an
# installed package's directory included): never leave one behind.
trap 'for script in "${old_scripts[@]}"; do rm -f "$extension_dir/$(basename "$script")"; done' EXIT

fresh_database
fresh_objects=$(extension_objects)

for old_script in "${old_scripts[@]}"; do
    old=$(basename "$old_script" .sql)
    old=${old#pg_tenancy--}
    cp "$old_script" "$extension_dir/"
    psql -X -q -d postgres -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS \"$TEST_DB\"" -c "CREATE DATABASE \"$TEST_DB\""
    run_sql "CREATE EXTENSION pg_tenancy VERSION '$old'"
    run_sql "
    SELECT tenancy.register_migration(1, 'create_projects', 'CREATE TABLE projects (id int PRIMARY KEY)');
    SELECT tenancy.register_migration(2, 'create_tasks', 'CREATE TABLE tasks (id int PRIMARY KEY)', 'DROP TABLE tasks');
    CREATE TABLE organizations (id int PRIMARY KEY);
    SELECT tenancy.manage_tenant('organizations', ARRAY['org_', ':id']);
    INSERT INTO organizations VALUES (1), (2);
    SELECT tenancy.create_tenant('standalone');
    SELECT tenancy.create_tenant('broken');
    SELECT tenancy.rollback('broken', 1);
    CREATE TABLE broken.tasks (id int);
    DROP ROLE IF EXISTS tenancy_upgrade_admin;
    CREATE ROLE tenancy_upgrade_admin;
    GRANT EXECUTE ON FUNCTION tenancy.register_migration(bigint, text, text, text) TO tenancy_upgrade_admin;
    GRANT EXECUTE ON FUNCTION tenancy.manage_tenant(regclass, text[], boolean, boolean, text, boolean)
        TO tenancy_upgrade_admin WITH GRANT OPTION;"
    # A tenant whose last migration attempt failed keeps its last_error.
    psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all(on_error => 'continue')" >/dev/null 2>&1
    check "$old: the failed tenant has its last_error before the update" "42P07" \
        "SELECT left(last_error, 5) FROM tenancy.tenant_registry WHERE tenant = 'broken'"

    update_output=$(psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" -c "ALTER EXTENSION pg_tenancy UPDATE" 2>&1)
    check_output "$old to $current: the update names the grants on re-created functions to make again" \
        "GRANT EXECUTE ON FUNCTION tenancy\.register_migration\(version bigint, name text, up_sql text, down_sql text\) TO tenancy_upgrade_admin;" \
        "$update_output"
    check_output "$old to $current: grant options included" \
        "GRANT EXECUTE ON FUNCTION tenancy\.manage_tenant\(.*\) TO tenancy_upgrade_admin WITH GRANT OPTION;" \
        "$update_output"
    run_sql "DROP ROLE tenancy_upgrade_admin"
    check "$old to $current: the extension is at $current" "$current" \
        "SELECT extversion FROM pg_extension WHERE extname = 'pg_tenancy'"
    check "$old to $current: the tenants are kept" "broken,org_1,org_2,standalone" \
        "SELECT string_agg(t, ',' ORDER BY t COLLATE \"C\") FROM tenancy.all_tenants() t"
    check "$old to $current: the migrations are kept" "2" "SELECT count(*) FROM tenancy.migration_registry"
    check "$old to $current: the migrations kept are transactional" "t" \
        "SELECT bool_and(transactional) FROM tenancy.migration_registry"
    check "$old to $current: the template is kept" "{org_,:id}" "SELECT template::text FROM tenancy.managed_tables"
    check "$old to $current: the failed tenant keeps its last_error" "42P07" \
        "SELECT left(last_error, 5) FROM tenancy.tenant_registry WHERE tenant = 'broken'"
    check "$old to $current: applied versions are kept" "2 0" \
        "SELECT version || ' ' || pending FROM tenancy.tenants WHERE tenant = 'org_1'"
    run_sql "INSERT INTO organizations VALUES (3)"
    check "$old to $current: a new organization still gets its migrated tenant" "2 0" \
        "SELECT version || ' ' || pending FROM tenancy.tenants WHERE tenant = 'org_3'"
    run_sql "UPDATE organizations SET id = 4 WHERE id = 3"
    check "$old to $current: renaming through the managed table still works" "org_4" \
        "SELECT tenant FROM tenancy.tenant_registry WHERE tenant LIKE 'org_4'"
    run_sql "DROP TABLE broken.tasks"
    psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all()" >/dev/null 2>&1
    check "$old to $current: migrate_all mends the failed tenant" "2 0 1" \
        "SELECT version || ' ' || pending || ' ' || (last_error IS NULL)::int FROM tenancy.tenants WHERE tenant = 'broken'"

    updated_objects=$(extension_objects)
    if [ "$updated_objects" = "$fresh_objects" ]; then
        check "$old to $current: the updated extension's objects equal a fresh install's" "same" "SELECT 'same'"
    else
        check "$old to $current: the updated extension's objects equal a fresh install's" "same" "SELECT 'different'"
        diff <(echo "$fresh_objects") <(echo "$updated_objects") | head -60 | sed 's/^/       | /'
    fi
    rm -f "$extension_dir/pg_tenancy--$old.sql"
done
finish_checks
