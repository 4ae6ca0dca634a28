#!/usr/bin/env bash
# Pools of ready tenants: spares made ahead by refill_tenant_pool(), taken by
# create_tenant and the managed tables' row triggers by a rename, kept
# current by migrate_all, never listed as tenants, refused to drop_tenant,
# unused while a migration holds @tenant@ or a spare holds its own name.
source "$(dirname "$0")/lib.sh"
fresh_database

sqlstate_of() {
    psql -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$TEST_DB" -c "$1" 2>&1 |
        sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1 || true
}
check_sqlstate() {  # DESCRIPTION SQLSTATE SQL
    local actual
    actual=$(sqlstate_of "$3")
    check "$1" "$2" "SELECT '$actual'"
}
SPARES="SELECT count(*) FROM tenancy.tenant_registry WHERE spare"
A_SPARE="(SELECT tenant FROM tenancy.tenant_registry WHERE spare ORDER BY tenant LIMIT 1)"

run_sql "
SELECT tenancy.register_migration(1, 'create_projects',
    'CREATE TABLE projects (id serial PRIMARY KEY, name text NOT NULL DEFAULT ''x'')');
SELECT tenancy.set_tenant_pool(3);
CALL tenancy.refill_tenant_pool();"

check "refill_tenant_pool makes the pool's spares" "3" "$SPARES"
check "spares are named with the reserved prefix and owned by the pool's owner" "3" \
    "SELECT count(*) FROM tenancy.tenant_registry AS r JOIN pg_namespace AS n ON n.nspname = r.tenant
     WHERE r.spare AND r.tenant LIKE 'tenancy\_spare\_%' AND n.nspowner = current_user::regrole"
check "spares are fully migrated" "3" \
    "SELECT count(*) FROM tenancy.tenant_registry AS r, tenancy._applied_migrations(r.tenant) WHERE r.spare"
check "spares are not listed by all_tenants()" "0" "SELECT count(*) FROM tenancy.all_tenants()"
check "spares are not counted by tenant_usage" "0" "SELECT count(*) FROM tenancy.tenant_usage"
check "the status view shows the pool's target and ready spares" "3|3|0|t" \
    "SELECT concat_ws('|', target, ready, behind, usable, reason) FROM tenancy.tenant_pools_status"
check_sqlstate "no tenant may take a spare's name" "42939" \
    "SELECT tenancy.create_tenant('tenancy_spare_x')"
check_sqlstate "drop_tenant of a spare is refused" "55000" "SELECT tenancy.drop_tenant($A_SPARE)"
check_sqlstate "drop_tenant_in_batches of a spare is refused" "55000" \
    "DO \$\$ BEGIN EXECUTE format('CALL tenancy.drop_tenant_in_batches(%L)', $A_SPARE); END \$\$"
check_sqlstate "rename_tenant of a spare is refused" "55000" "SELECT tenancy.rename_tenant($A_SPARE, 'renamed')"
check_sqlstate "a negative pool size is refused" "22023" "SELECT tenancy.set_tenant_pool(-1)"
check_sqlstate "a NULL pool size is refused" "22004" "SELECT tenancy.set_tenant_pool(NULL)"

before=$(value_of "SELECT string_agg(tenant, ',' ORDER BY tenant) FROM tenancy.tenant_registry WHERE spare")
run_sql "BEGIN; SELECT tenancy.create_tenant('rolled_back'); ROLLBACK;"
check "a rolled-back create_tenant gives its spare back" "$before" \
    "SELECT string_agg(tenant, ',' ORDER BY tenant) FROM tenancy.tenant_registry WHERE spare"

spare_oids=$(value_of "SELECT string_agg(n.oid::text, ',') FROM tenancy.tenant_registry AS r
                       JOIN pg_namespace AS n ON n.nspname = r.tenant WHERE r.spare")
run_sql "SELECT tenancy.set_tenant_pool(2)"
run_sql "SELECT tenancy.create_tenant('acme')"
check "create_tenant takes a spare: the tenant's schema is a former spare" "t" \
    "SELECT 'acme'::regnamespace::oid::text = ANY (string_to_array('$spare_oids', ','))"
check "the taken spare is a tenant now" "acme" "SELECT string_agg(t, ',') FROM tenancy.all_tenants() AS t"
check "the tenant has its migrations" "1" "SELECT count(*) FROM tenancy._applied_migrations('acme')"
check "the tenant is usable" "1" "INSERT INTO acme.projects DEFAULT VALUES RETURNING id"

# After a migration changes, spares are migrated like tenants.
run_sql "SELECT tenancy.register_migration(2, 'add_tasks', 'CREATE TABLE tasks (id int)')"
check "a spare behind on migrations shows as behind" "0" \
    "SELECT ready FROM tenancy.tenant_pools_status"
run_sql "SELECT tenancy.create_tenant('fresh')"
check "create_tenant does not take a spare that is behind: it creates the tenant" "f" \
    "SELECT 'fresh'::regnamespace::oid::text = ANY (string_to_array('$spare_oids', ','))"
run_sql "CALL tenancy.migrate_all()"
check "migrate_all migrates the spares" "0" "SELECT behind FROM tenancy.tenant_pools_status"
check "and the spares are ready again" "t" "SELECT ready > 0 FROM tenancy.tenant_pools_status"

# A migration that holds @tenant@: the pool is not used.
notice=$(psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" -c "
    SELECT tenancy.register_migration(3, 'named', 'COMMENT ON SCHEMA @tenant@ IS ''@tenant@''');
    SELECT tenancy.set_tenant_pool(2)" 2>&1)
check_output "configuring a pool while a migration holds @tenant@ gives a NOTICE" \
    "NOTICE:  the tenant pool is not used: migration 3 holds @tenant@" "$notice"
check "the status says the pool is not usable and why" \
    "f|migration 3 holds @tenant@, which writes each tenant's name into it" \
    "SELECT concat_ws('|', usable, reason) FROM tenancy.tenant_pools_status"
spares_before=$(value_of "$SPARES")
run_sql "SELECT tenancy.create_tenant('named_one')"
check "create_tenant takes no spare while a migration holds @tenant@" "$spares_before" "$SPARES"
check "and the tenant's name is in it" '"named_one"' \
    "SELECT obj_description('named_one'::regnamespace, 'pg_namespace')"
run_sql "DELETE FROM tenancy.migration_registry WHERE version = 3"

# A spare that holds its own name as text (SET search_path FROM CURRENT
# while migrating) is never taken, and the status says why.
run_sql "SELECT tenancy.register_migration(4, 'pinned_function',
    'CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path FROM CURRENT AS ''SELECT 1''');
CALL tenancy.migrate_all();"
spares_before=$(value_of "$SPARES")
run_sql "SELECT tenancy.create_tenant('pinned_later')"
check "a take checks again a spare migrated since it was checked, and does not take it once it holds its name" \
    "$spares_before" "$SPARES"
run_sql "SELECT tenancy.drop_tenant('pinned_later');
SELECT tenancy.set_tenant_pool(0);
CALL tenancy.refill_tenant_pool();
SELECT tenancy.set_tenant_pool(1);
CALL tenancy.refill_tenant_pool();"
check "a spare that holds its name is marked" "1" \
    "SELECT count(*) FROM tenancy.tenant_registry WHERE spare AND last_error LIKE 'spare holds its name as text: function f%'"
check "the status says the pool is not usable because of it" "f" "SELECT usable FROM tenancy.tenant_pools_status"
spares_before=$(value_of "$SPARES")
run_sql "SELECT tenancy.create_tenant('pinned')"
check "create_tenant does not take a spare that holds its name" "$spares_before" "$SPARES"
check "the new tenant's function names the new tenant" "t" \
    "SELECT array_to_string(proconfig, ' ') LIKE '%pinned%' FROM pg_proc WHERE pronamespace = 'pinned'::regnamespace"
run_sql "SELECT tenancy.drop_tenant('pinned'); DELETE FROM tenancy.migration_registry WHERE version = 4;
SELECT tenancy.set_tenant_pool(0);
CALL tenancy.refill_tenant_pool();"
check "shrinking a pool and refilling drops its spares" "0" "$SPARES"

# A migration rolled back and registered again with another text brings a
# spare back to the version it was checked at: the take checks it again.
run_sql "SELECT tenancy.register_migration(5, 'plain_function',
    'CREATE FUNCTION g() RETURNS int LANGUAGE sql AS ''SELECT 1''', 'DROP FUNCTION g()');
SELECT tenancy.set_tenant_pool(1);
CALL tenancy.refill_tenant_pool();
CALL tenancy.rollback_all(4);
SELECT tenancy.register_migration(5, 'pinned_function',
    'CREATE FUNCTION g() RETURNS int LANGUAGE sql SET search_path FROM CURRENT AS ''SELECT 1''',
    'DROP FUNCTION g()');
CALL tenancy.migrate_all();"
spares_before=$(value_of "$SPARES")
run_sql "SELECT tenancy.create_tenant('pinned_again')"
check "a spare whose migration was rolled back and applied again is checked again at take time" \
    "$spares_before" "$SPARES"
check "so the new tenant's function names the new tenant" "t" \
    "SELECT array_to_string(proconfig, ' ') LIKE '%pinned_again%' FROM pg_proc WHERE pronamespace = 'pinned_again'::regnamespace"
run_sql "SELECT tenancy.drop_tenant('pinned_again'); CALL tenancy.rollback_all(4);
DELETE FROM tenancy.migration_registry WHERE version = 5;
SELECT tenancy.set_tenant_pool(0);
CALL tenancy.refill_tenant_pool();"

# A spare renamed by hand is a tenant from then on.
run_sql "SELECT tenancy.set_tenant_pool(1);
CALL tenancy.refill_tenant_pool();"
run_sql "DO \$\$ BEGIN EXECUTE format('ALTER SCHEMA %I RENAME TO renamed_spare',
    (SELECT tenant FROM tenancy.tenant_registry WHERE spare LIMIT 1)); END \$\$"
check "a spare renamed by hand is listed as a tenant" "1" \
    "SELECT count(*) FROM tenancy.all_tenants() AS t WHERE t = 'renamed_spare'"
check "and is no spare any more" "f" "SELECT spare FROM tenancy.tenant_registry WHERE tenant = 'renamed_spare'"
run_sql "SELECT tenancy.drop_tenant('renamed_spare');
SELECT tenancy.set_tenant_pool(0);
CALL tenancy.refill_tenant_pool();"
check "the pool is empty again" "0" "$SPARES"

# A managed table's pool: spares owned by the table's owner, taken by its rows.
run_sql "
DROP ROLE IF EXISTS pool_table_owner;
CREATE ROLE pool_table_owner;
CREATE TABLE public.organizations (id int PRIMARY KEY);
ALTER TABLE public.organizations OWNER TO pool_table_owner;
SELECT tenancy.manage_tenant('public.organizations', ARRAY['org_', ':id'], pool => 2);
CALL tenancy.refill_tenant_pool();"
check "a managed table's pool makes spares owned by the table's owner" "2" \
    "SELECT count(*) FROM tenancy.tenant_registry AS r JOIN pg_namespace AS n ON n.nspname = r.tenant
     WHERE r.spare AND n.nspowner = 'pool_table_owner'::regrole AND r.managed_by = 'public.organizations'::regclass"
check "the status lists the table's pool with the table's owner" "pool_table_owner|organizations|2|2" \
    "SELECT concat_ws('|', owner, managed_table, target, ready) FROM tenancy.tenant_pools_status WHERE managed_table IS NOT NULL"
check_sqlstate "manage_tenant with a negative pool is refused" "22023" \
    "SELECT tenancy.manage_tenant('public.organizations', ARRAY['org_', ':id'], pool => -1)"
taken=$(value_of "SELECT string_agg(n.oid::text, ',') FROM tenancy.tenant_registry AS r
                  JOIN pg_namespace AS n ON n.nspname = r.tenant WHERE r.spare")
run_sql "INSERT INTO public.organizations VALUES (1)"
check "a row's insert takes a spare of its table's pool" "t" \
    "SELECT 'org_1'::regnamespace::oid::text = ANY (string_to_array('$taken', ','))"
check "the taken tenant is the table's" "organizations" \
    "SELECT managed_by::text FROM tenancy.tenant_registry WHERE tenant = 'org_1'"

# The background worker refills after a take (polled, with a deadline).
refilled=f
for _ in $(seq 1 100); do
    if [ "$(value_of "SELECT ready = 2 FROM tenancy.tenant_pools_status WHERE managed_table IS NOT NULL")" = t ]; then
        refilled=t
        break
    fi
    sleep 0.2
done
check "a background worker refills the pool after a take" "t" "SELECT '$refilled'"

finish_checks
