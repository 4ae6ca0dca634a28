#!/usr/bin/env bash
# Tenant pools through pg_dump -Fc and pg_restore: the pools' settings and
# the spares stay spares; the restored pools hand out their spares. And DROP
# EXTENSION leaves spares behind as plain schemas, as it leaves tenants.
source "$(dirname "$0")/lib.sh"
export PGOPTIONS="-c tenancy.pool_refill_worker=off"
fresh_database
restored="${TEST_DB}_restored"

run_sql "
DROP ROLE IF EXISTS pool_dump_owner;
CREATE ROLE pool_dump_owner;
SELECT tenancy.register_migration(1, 'create_projects', 'CREATE TABLE projects (id int PRIMARY KEY)');
SELECT tenancy.set_tenant_pool(2);
CREATE TABLE public.organizations (id int PRIMARY KEY);
ALTER TABLE public.organizations OWNER TO pool_dump_owner;
SELECT tenancy.manage_tenant('public.organizations', ARRAY['org_', ':id'], pool => 1);
CALL tenancy.refill_tenant_pool();
SELECT tenancy.create_tenant('standalone');"
spares_before=$(value_of "SELECT string_agg(tenant, ',' ORDER BY tenant) FROM tenancy.tenant_registry WHERE spare")

dump=$(mktemp)
pg_dump -Fc -d "$TEST_DB" -f "$dump"
psql -X -q -d postgres -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS \"$restored\"" -c "CREATE DATABASE \"$restored\""
restore_output=$(pg_restore -d "$restored" "$dump" 2>&1) && restore_status=0 || restore_status=$?
rm -f "$dump"
check "pg_restore of a database with tenant pools exits 0" "0" "SELECT $restore_status"

original=$TEST_DB
TEST_DB=$restored
check "the pools' settings are restored" "$(value_of "SELECT current_user"):2|organizations:1" \
    "SELECT string_agg(coalesce(owner, managed_table::text) || ':' || target, '|' ORDER BY managed_table NULLS FIRST)
     FROM tenancy.tenant_pools"
check "the spares are restored as spares" "$spares_before" \
    "SELECT string_agg(tenant, ',' ORDER BY tenant) FROM tenancy.tenant_registry WHERE spare"
check "and are still not listed as tenants" "standalone" \
    "SELECT string_agg(t, ',') FROM tenancy.all_tenants() AS t"
check "the restored pools are usable with their spares ready (one taken by standalone)" "2" \
    "SELECT sum(ready) FROM tenancy.tenant_pools_status WHERE usable"
run_sql "INSERT INTO public.organizations VALUES (1)"
check "a restored managed table's pool hands out its spare" "0" \
    "SELECT ready FROM tenancy.tenant_pools_status WHERE managed_table IS NOT NULL"

TEST_DB=$original
spares=$(value_of "SELECT string_agg(tenant, ',' ORDER BY tenant) FROM tenancy.tenant_registry WHERE spare")
run_sql "SELECT tenancy.unmanage_tenant('public.organizations'); DROP EXTENSION pg_tenancy"
check "DROP EXTENSION leaves the spares as plain schemas" "$spares" \
    "SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname LIKE 'tenancy\_spare\_%'"

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS \"$restored\""
finish_checks
