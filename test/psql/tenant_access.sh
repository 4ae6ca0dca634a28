#!/usr/bin/env bash
# tenancy.grant_tenant_access() / revoke_tenant_access(): an application role
# declared once gets its privileges in every tenant, existing and new, on every
# path that makes a tenant, and in tables later migrations create.
source "$(dirname "$0")/lib.sh"
fresh_database

as_app() {  # runs SQL as the application role, in one transaction
    psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$TEST_DB" -c "SET ROLE tenancy_app; $1" 2>&1 || true
}
sqlstate_of() {
    psql -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$TEST_DB" -c "$1" 2>&1 |
        sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1
}

run_sql "
DROP ROLE IF EXISTS tenancy_app;
CREATE ROLE tenancy_app;
SELECT tenancy.register_migration(1, 'create_projects',
    'CREATE TABLE projects (id serial PRIMARY KEY, name text NOT NULL)');
CREATE TABLE public.organizations (id int PRIMARY KEY);
SELECT tenancy.manage_tenant('public.organizations', ARRAY['org_', ':id']);
GRANT INSERT ON public.organizations TO tenancy_app;
SELECT tenancy.create_tenant('early');"

check "before any declaration the application role cannot use a tenant" "f" \
    "SELECT has_schema_privilege('tenancy_app', 'early', 'USAGE')"

run_sql "CALL tenancy.grant_tenant_access('tenancy_app')"
check "an existing tenant gets USAGE on its schema" "t" \
    "SELECT has_schema_privilege('tenancy_app', 'early', 'USAGE')"
check "and the default privileges on its tables" "t t t t f" \
    "SELECT concat_ws(' ', has_table_privilege('tenancy_app', 'early.projects', 'SELECT'),
        has_table_privilege('tenancy_app', 'early.projects', 'INSERT'),
        has_table_privilege('tenancy_app', 'early.projects', 'UPDATE'),
        has_table_privilege('tenancy_app', 'early.projects', 'DELETE'),
        has_table_privilege('tenancy_app', 'early.projects', 'TRUNCATE'))"
check "and USAGE, SELECT on its sequences" "t t" \
    "SELECT concat_ws(' ', has_sequence_privilege('tenancy_app', 'early.projects_id_seq', 'USAGE'),
        has_sequence_privilege('tenancy_app', 'early.projects_id_seq', 'SELECT'))"
check "the declaration is kept in tenancy.tenant_access" "tenancy_app {SELECT,INSERT,UPDATE,DELETE}" \
    "SELECT role_name || ' ' || privileges::text FROM tenancy.tenant_access"

output=$(as_app "BEGIN;
    INSERT INTO public.organizations VALUES (7);
    INSERT INTO org_7.projects (name) VALUES ('launch');
    SELECT count(*) FROM org_7.projects;
    COMMIT;")
check "an application role that can only INSERT INTO organizations reads and writes its tenant's tables" \
    "1" "SELECT '$(tail -1 <<<"$output" | tr -d "'")'"

run_sql "SELECT tenancy.register_migration(2, 'create_tasks', 'CREATE TABLE tasks (id int)')"
psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all()" >/dev/null 2>&1
check "a table a later migration creates gets the privileges too (default privileges)" "t t" \
    "SELECT concat_ws(' ', has_table_privilege('tenancy_app', 'early.tasks', 'SELECT'),
        has_table_privilege('tenancy_app', 'org_7.tasks', 'INSERT'))"

run_sql "CREATE SCHEMA adopted; SELECT tenancy.create_tenant('adopted', if_not_exists => true)"
check "an adopted schema gets the access" "t t" \
    "SELECT concat_ws(' ', has_schema_privilege('tenancy_app', 'adopted', 'USAGE'),
        has_table_privilege('tenancy_app', 'adopted.projects', 'SELECT'))"

run_sql "CREATE TABLE public.customers (id int PRIMARY KEY);
    INSERT INTO public.customers VALUES (1), (2);
    SELECT tenancy.manage_tenant('public.customers', ARRAY['cust_', ':id'], backfill => true)"
check "tenants made by backfill get the access" "2" \
    "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'cust\_%' AND has_schema_privilege('tenancy_app', nspname, 'USAGE')"

# Many tenants: CALLed outside a transaction block, it commits in batches.
run_sql "SELECT tenancy.create_tenant(format('bulk_%s', i)) FROM generate_series(1, 230) AS i"
run_sql "CALL tenancy.grant_tenant_access('tenancy_app', ARRAY['select'])"
check "a new declaration reaches every one of hundreds of tenants" "0" \
    "SELECT count(*) FROM tenancy.all_tenants() AS t
     WHERE NOT has_table_privilege('tenancy_app', format('%I.projects', t), 'SELECT')"
check "and is recorded with its privileges upper-cased" "{SELECT}" \
    "SELECT privileges::text FROM tenancy.tenant_access WHERE role_name = 'tenancy_app'"
run_sql "BEGIN; CALL tenancy.grant_tenant_access('tenancy_app'); COMMIT;"
check "inside a transaction block it runs in the caller's transaction" "{SELECT,INSERT,UPDATE,DELETE}" \
    "SELECT privileges::text FROM tenancy.tenant_access WHERE role_name = 'tenancy_app'"

run_sql "CALL tenancy.revoke_tenant_access('tenancy_app')"
check "revoke_tenant_access takes the access back from every tenant" "0" \
    "SELECT count(*) FROM tenancy.all_tenants() AS t
     WHERE has_schema_privilege('tenancy_app', t, 'USAGE')
        OR has_table_privilege('tenancy_app', format('%I.projects', t), 'SELECT')"
check "and forgets the declaration" "0" "SELECT count(*) FROM tenancy.tenant_access"
run_sql "SELECT tenancy.create_tenant('late')"
check "so a later tenant gets nothing" "f" "SELECT has_schema_privilege('tenancy_app', 'late', 'USAGE')"
check "nor do default privileges remain" "0" \
    "SELECT count(*) FROM pg_default_acl d WHERE d.defaclacl::text LIKE '%tenancy_app%'"

check "an unknown role: 42704" "42704" "SELECT '$(sqlstate_of "CALL tenancy.grant_tenant_access('no_such_role')")'"
check "a privilege that is not a table privilege: 22023" "22023" \
    "SELECT '$(sqlstate_of "CALL tenancy.grant_tenant_access('tenancy_app', ARRAY['USAGE'])")'"
check "no privileges at all: 22023" "22023" \
    "SELECT '$(sqlstate_of "CALL tenancy.grant_tenant_access('tenancy_app', '{}')")'"
check "a NULL privilege: 22004" "22004" \
    "SELECT '$(sqlstate_of "CALL tenancy.grant_tenant_access('tenancy_app', ARRAY['SELECT', NULL])")'"
check "a NULL role: 22004" "22004" "SELECT '$(sqlstate_of "CALL tenancy.grant_tenant_access(NULL)")'"
check "a refused declaration records nothing" "0" "SELECT count(*) FROM tenancy.tenant_access"
check "PUBLIC may not declare access" "f" \
    "SELECT has_function_privilege('tenancy_app', 'tenancy.grant_tenant_access(regrole, text[])', 'EXECUTE')"

run_sql "SELECT tenancy.drop_tenant(t) FROM tenancy.all_tenants() AS t;
         DROP TABLE public.organizations, public.customers;
         DROP OWNED BY tenancy_app; DROP ROLE tenancy_app;"
finish_checks
