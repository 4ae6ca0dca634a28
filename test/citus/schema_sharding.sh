#!/usr/bin/env bash
# pg_tenancy on Citus schema-based sharding: a coordinator and two workers on
# loopback. Tenant tables made by migrations become single-shard tables of
# the tenant's distributed schema (so citus_schema_move moves the whole
# tenant), applied versions are read where they live, and workers refuse.
# Skipped where Citus is not installed.
source "$(dirname "$0")/../psql/lib.sh"
source "$(dirname "$0")/lib.sh"
citus_installed || { echo "     skipped: Citus is not installed"; exit 0; }
start_citus_nodes

# The SQLSTATE and message of a statement that fails on a node.
error_of() {
    on "$1" "$2" -v VERBOSITY=verbose 2>&1 | sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\): \(.*\)/\1: \2/p' | head -1
}
# check_on NODE DESCRIPTION EXPECTED QUERY: check, on one node.
check_on() {
    check_value "$2" "$3" "$(on "$1" "$4" 2>&1 || true)"
}
# call_on NODE LEVEL STATEMENT: the statement alone (a CALL with workers
# refuses a transaction block), with messages of LEVEL and above shown.
call_on() {
    psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$citus_socket_dir" -p "${citus_port[$1]}" -d "$TEST_DB" \
        -c "SET client_min_messages = $2" -c "$3"
}
# The tenant schema's tables that are single-shard tables of its colocation group.
sharded_tables() {
    echo "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_dist_partition p
          JOIN pg_class c ON c.oid = p.logicalrelid
          JOIN pg_dist_schema s ON s.schemaid = c.relnamespace AND s.colocationid = p.colocationid
          WHERE c.relnamespace = '$1'::regnamespace AND p.partmethod = 'n'"
}

on coordinator "CREATE EXTENSION pg_tenancy" >/dev/null
on coordinator "
SELECT tenancy.register_migration(1, 'create_projects',
    'CREATE TABLE projects (id int PRIMARY KEY, name text); INSERT INTO projects VALUES (1, ''first'')');
SELECT tenancy.register_migration(2, 'create_tasks',
    'CREATE TABLE tasks (id int PRIMARY KEY, project_id int REFERENCES projects);
     CREATE TABLE archived_projects AS SELECT * FROM projects WHERE false');
SELECT tenancy.register_migration(3, 'create_notes_in_a_do_block',
    'DO \$\$ BEGIN CREATE TABLE notes (id int PRIMARY KEY, body text); END \$\$');
SELECT tenancy.create_tenant('org_1');
SELECT tenancy.create_tenant('org_2');" >/dev/null

echo "   tenant tables are distributed"
check_on coordinator "every table a migration creates, and schema_migrations, is a single-shard table of the tenant's schema" \
    "archived_projects,notes,projects,schema_migrations,tasks" "$(sharded_tables org_1)"
check_on coordinator "the rows a migration inserted live in the shard" "first" "SELECT name FROM org_1.projects"


echo "   applied versions are read where they live"
check_on coordinator "migrate finds nothing to do (no migration runs twice)" "0" "SELECT tenancy.migrate('org_1')"
notice=$(on coordinator "SET client_min_messages = notice; CALL tenancy.migrate_all()" 2>&1 || true)
check_output "a no-op migrate_all finds every tenant up to date" \
    "migrate_all: 2 tenants, 0 migrated, 0 failed, 2 up to date" "$notice"
remote=$(on coordinator "SET citus.log_remote_commands = on; SET client_min_messages = notice; CALL tenancy.migrate_all()" 2>&1 || true)
check_on coordinator "a no-op migrate_all reads no tenant's versions one by one" "0" \
    "SELECT $(grep 'issuing.*schema_migrations' <<<"$remote" | grep -vc _shard_applied_versions || true)"
check_on coordinator "it reads them in one query per node holding tenants" \
    "$(on coordinator "SELECT count(DISTINCT nodeport) FROM citus_shards WHERE citus_table_type = 'schema'")" \
    "SELECT $(grep -c 'issuing.*_shard_applied_versions' <<<"$remote" || true)"
on coordinator "SELECT tenancy.register_migration(4, 'add_due', 'ALTER TABLE tasks ADD due date; CREATE TABLE labels (id int)')" >/dev/null
notice=$(on coordinator "SET client_min_messages = notice; CALL tenancy.migrate_all()" 2>&1 || true)
check_output "migrate_all applies a new migration once in each tenant" \
    "migrate_all: 2 tenants, 2 migrated, 0 failed, 0 up to date" "$notice"
check_on coordinator "the new migration's table is distributed too" \
    "archived_projects,labels,notes,projects,schema_migrations,tasks" "$(sharded_tables org_2)"
check_on coordinator "schema_migrations holds each version once, read through Citus" "1,2,3,4" \
    "SELECT string_agg(version::text, ',' ORDER BY version) FROM org_2.schema_migrations"
check_on coordinator "_applied_migrations reads the versions where they live" "1,2,3,4" \
    "SELECT string_agg(version::text, ',' ORDER BY version) FROM tenancy._applied_migrations('org_2')"
check_on coordinator "the tenants view shows a distributed tenant's versions, read on its node" "org_2|4|0|" \
    "SELECT tenant, version, pending, last_error FROM tenancy.tenants WHERE tenant = 'org_2'"
check_on coordinator "migration_states shows each version applied, with its time" \
    "1:applied:true,2:applied:true,3:applied:true,4:applied:true" \
    "SELECT string_agg(version || ':' || state || ':' || (applied_at IS NOT NULL), ',' ORDER BY version)
     FROM tenancy.migration_states WHERE tenant = 'org_2'"
check_on coordinator "migration_status() of one tenant reads it on its node too" "4|applied" \
    "SELECT version, state FROM tenancy.migration_status('org_2') ORDER BY version DESC LIMIT 1"
check_on coordinator "applied_at is the one in the tenant's shard" \
    "$(on coordinator "SELECT inserted_at FROM org_2.schema_migrations WHERE version = 2")" \
    "SELECT applied_at FROM tenancy.migration_status('org_2') WHERE version = 2"
remote=$(on coordinator "SET citus.log_remote_commands = on; SET client_min_messages = notice;
                         SELECT count(*) FROM tenancy.tenants WHERE pending > 0" 2>&1 || true)
check_on coordinator "the tenants view reads no tenant's versions one by one" "0" \
    "SELECT $(grep 'issuing.*schema_migrations' <<<"$remote" | grep -vc _shard_applied_versions || true)"
check_on coordinator "it reads them in one call per node holding tenants" \
    "$(on coordinator "SELECT count(DISTINCT nodeport) FROM citus_shards WHERE citus_table_type = 'schema'")" \
    "SELECT $(grep -c 'issuing.*_shard_applied_versions' <<<"$remote" || true)"
on coordinator "CREATE ROLE status_reader LOGIN; GRANT USAGE ON SCHEMA org_2 TO status_reader;
                REVOKE ALL ON org_2.schema_migrations FROM status_reader" >/dev/null
check_on coordinator "a role that may not read a tenant's table sees nothing of its versions" "org_2||" \
    "SET ROLE status_reader; SELECT tenant, version, pending FROM tenancy.tenants WHERE tenant = 'org_2'"
check_on coordinator "and no rows of it in migration_states" "0" \
    "SET ROLE status_reader; SELECT count(*) FROM tenancy.migration_states WHERE tenant = 'org_2'"
on coordinator "CREATE ROLE nologin_reader; GRANT USAGE ON SCHEMA org_2 TO nologin_reader;
                GRANT SELECT ON org_2.schema_migrations TO nologin_reader" >/dev/null
check_output "a role the nodes refuse to log in gets a WARNING naming the node" \
    "WARNING: *pg_tenancy could not read applied versions on Citus node 127.0.0.1:" \
    "$(on coordinator "SET ROLE nologin_reader; SELECT version FROM tenancy.tenants WHERE tenant = 'org_2'" 2>&1 || true)"
check_on coordinator "and sees the tenant as unknown, never as unmigrated" "org_2||" \
    "SET ROLE nologin_reader; SET client_min_messages = error;
     SELECT tenant, version, pending FROM tenancy.tenants WHERE tenant = 'org_2'"
org_2_port=$(on coordinator "SELECT nodeport FROM citus_shards WHERE table_name = 'org_2.schema_migrations'::regclass")
org_2_node=worker1
[ "$org_2_port" = "${citus_port[worker1]}" ] || org_2_node=worker2
org_2_shard=$(on coordinator "SELECT 'schema_migrations_' || shardid FROM pg_dist_shard
                              WHERE logicalrelid = 'org_2.schema_migrations'::regclass")
check_on "$org_2_node" "on the tenant's node, the coordinator's reader reads its shard" "1 1@ 2@ 3@ 4@" \
    "SELECT regexp_replace(tenancy._shard_applied_versions(ARRAY['org_2'], ARRAY['$org_2_shard']), '@[0-9]+', '@', 'g')"
check_on "$org_2_node" "and shows nothing of a shard the caller may not read" "1 -" \
    "SET ROLE status_reader; SELECT tenancy._shard_applied_versions(ARRAY['org_2'], ARRAY['$org_2_shard'])"
check_output "the reader refuses arrays of different lengths with 22023" \
    "^22023: schemas and tables must have as many elements$" \
    "$(error_of "$org_2_node" "SELECT tenancy._shard_applied_versions(ARRAY['a'], ARRAY['b', 'c'])")"
check_output "and a two-dimensional array with 2202E" \
    "^2202E: schemas must be a one-dimensional array$" \
    "$(error_of "$org_2_node" "SELECT tenancy._shard_applied_versions(ARRAY[['a'], ['b']], ARRAY['c', 'd'])")"
other_node=worker1
[ "$org_2_node" = worker1 ] && other_node=worker2
check_on "$other_node" "nor of a shard the node does not hold" "1 -" \
    "SELECT tenancy._shard_applied_versions(ARRAY['org_2'], ARRAY['$org_2_shard'])"

echo "   a table Citus cannot distribute fails the migration, named"
on coordinator "CREATE TABLE public.plans (id int PRIMARY KEY)" >/dev/null
on coordinator "SELECT tenancy.register_migration(5, 'subscriptions', 'CREATE TABLE subscriptions (plan_id int REFERENCES public.plans)')" >/dev/null
check_output "the migration fails with 0A000 naming the table" \
    '^0A000: table "org_1"."subscriptions" cannot be distributed$' \
    "$(error_of coordinator "SELECT tenancy.migrate('org_1')")"
check_on coordinator "nothing of the failed migration stays" "4|" \
    "SELECT max(version), to_regclass('org_1.subscriptions') FROM org_1.schema_migrations"
on coordinator "SELECT tenancy.register_migration(5, 'subscriptions', 'SELECT 1')" >/dev/null

echo "   citus_schema_move moves the whole tenant"
node_of() { on coordinator "SELECT nodeport FROM citus_shards WHERE table_name = 'org_1.projects'::regclass"; }
from=$(node_of)
to=${citus_port[worker1]}
[ "$from" = "$to" ] && to=${citus_port[worker2]}
on coordinator "SELECT citus_schema_move('org_1', '127.0.0.1', $to, shard_transfer_mode => 'block_writes')" >/dev/null
check_on coordinator "every table of the tenant moved" "$to" \
    "SELECT string_agg(DISTINCT nodeport::text, ',') FROM citus_shards WHERE citus_table_type = 'schema' AND table_name::text LIKE 'org_1.%'"
notice=$(on coordinator "SET client_min_messages = notice; CALL tenancy.migrate_all()" 2>&1 || true)
check_output "after the move, migrate_all finds the tenants where they are now" \
    "migrate_all: 2 tenants, 2 migrated, 0 failed, 0 up to date" "$notice"
check_on coordinator "the moved tenant's rows came along" "first" "SELECT name FROM org_1.projects"

echo "   placement"
check_on coordinator "tenancy.tenant_nodes shows the node each tenant lives on" "org_1|127.0.0.1|$to" \
    "SELECT tenant, node_name, node_port FROM tenancy.tenant_nodes WHERE tenant = 'org_1'"
back=${citus_port[worker1]}
[ "$back" = "$to" ] && back=${citus_port[worker2]}
on coordinator "SELECT tenancy.move_tenant('org_1', '127.0.0.1', $back, 'block_writes')" >/dev/null
check_on coordinator "move_tenant moves every table of the tenant" "$back" \
    "SELECT string_agg(DISTINCT nodeport::text, ',') FROM citus_shards WHERE citus_table_type = 'schema' AND table_name::text LIKE 'org_1.%'"
check_on coordinator "tenant_nodes follows the move" "$back" \
    "SELECT node_port FROM tenancy.tenant_nodes WHERE tenant = 'org_1'"
check_on coordinator "the tenant's rows and versions came along" "first|5" \
    "SELECT (SELECT name FROM org_1.projects), (SELECT max(version) FROM org_1.schema_migrations)"
on coordinator "SET citus.enable_schema_based_sharding = off; SELECT tenancy.create_tenant('local_1')" >/dev/null
check_output "move_tenant refuses a tenant whose schema is not distributed" \
    '^0A000: tenant "local_1" is not in a Citus distributed schema$' \
    "$(error_of coordinator "SELECT tenancy.move_tenant('local_1', '127.0.0.1', $back)")"
check_on coordinator "its node is NULL" "local_1||" \
    "SELECT tenant, node_name, node_port FROM tenancy.tenant_nodes WHERE tenant = 'local_1'"

echo "   inside a transaction"
check_on coordinator "a transaction with changes on the nodes sees its tenants as unknown, not as committed" "org_2||" \
    "BEGIN; DELETE FROM org_2.schema_migrations WHERE version = 5;
     SELECT tenant, version, pending FROM tenancy.tenants WHERE tenant = 'org_2'; ROLLBACK"
notice=$(on coordinator "BEGIN; SET LOCAL client_min_messages = notice;
                         DELETE FROM org_2.schema_migrations WHERE version = 5;
                         CALL tenancy.migrate_all(); ROLLBACK" 2>&1 || true)
check_output "migrate_all in that transaction reads the tenants through it, and finds the change" \
    "migrate_all: 3 tenants, 1 migrated, 0 failed, 2 up to date" "$notice"
odd='o'"'"'rg "ü\x,{}'
on coordinator "SET tenancy.tenant_name_pattern = '.'; SELECT tenancy.create_tenant(\$n\$$odd\$n\$)" >/dev/null
check_on coordinator "a tenant named with quotes, a backslash, braces and a comma is read on its node" "5|0" \
    "SELECT version, pending FROM tenancy.tenants WHERE tenant = \$n\$$odd\$n\$"

echo "   managed tables"
on coordinator "CREATE TABLE public.hashed (id int PRIMARY KEY);
                SELECT create_distributed_table('public.hashed', 'id');
                CREATE TABLE public.shared (id int PRIMARY KEY);
                SELECT create_reference_table('public.shared');" >/dev/null
check_output "a distributed table is refused with 0A000" \
    '^0A000: manage_tenant cannot manage the distributed table "public"."hashed"$' \
    "$(error_of coordinator "SELECT tenancy.manage_tenant('public.hashed', ARRAY['h_', ':id'])")"
check_output "a reference table is refused with 0A000" \
    '^0A000: manage_tenant cannot manage the reference table "public"."shared"$' \
    "$(error_of coordinator "SELECT tenancy.manage_tenant('public.shared', ARRAY['s_', ':id'])")"
# Converted after manage_tenant: Citus moves the rows (and the OID the
# settings name) to a shard and puts a new table in its place.
on coordinator "CREATE TABLE public.accounts (id int PRIMARY KEY, plan int REFERENCES public.shared);
                SELECT tenancy.manage_tenant('public.accounts', ARRAY['acct_', ':id'], on_delete => 'drop');
                SELECT citus_add_local_table_to_metadata('public.accounts');
                INSERT INTO public.shared VALUES (1);
                INSERT INTO public.accounts VALUES (1, 1)" >/dev/null
check_on coordinator "a Citus local table's insert creates its tenant (the trigger fires on the shard)" "acct_1" \
    "SELECT tenant FROM tenancy.tenant_registry WHERE tenant LIKE 'acct%'"
check_on coordinator "the settings follow the table Citus put in place of the original" "t" \
    "SELECT tbl = 'public.accounts'::regclass FROM tenancy.managed_tables"
on coordinator "DELETE FROM public.accounts WHERE id = 1" >/dev/null
check_on coordinator "a delete drops the tenant its row made" "0" \
    "SELECT count(*) FROM tenancy.tenant_registry WHERE tenant LIKE 'acct%'"
check_on coordinator "unmanage_tenant works on the converted table" "" \
    "SELECT tenancy.unmanage_tenant('public.accounts')"
on coordinator "CREATE TABLE public.teams (id int PRIMARY KEY);
                SELECT citus_add_local_table_to_metadata('public.teams');
                SELECT tenancy.manage_tenant('public.teams', ARRAY['team_', ':id']);
                INSERT INTO public.teams VALUES (7)" >/dev/null
check_on coordinator "a table managed once it is a Citus local table creates tenants too" "team_7" \
    "SELECT tenant FROM tenancy.tenant_registry WHERE tenant LIKE 'team%'"

echo "   migrate_all with workers"
on coordinator "SELECT tenancy.create_tenant('org_' || i) FROM generate_series(3, 8) AS i" >/dev/null
tenant_count=$(on coordinator "SELECT count(*) FROM tenancy.all_tenants()")
on coordinator "SELECT tenancy.register_migration(6, 'add_owner',
                'ALTER TABLE projects ADD owner text; CREATE TABLE members (id int)')" >/dev/null
notice=$(call_on coordinator notice "CALL tenancy.migrate_all(workers => 2)" 2>&1 || true)
check_output "migrate_all(workers => 2) migrates every tenant once" \
    "migrate_all: $tenant_count tenants, $tenant_count migrated, 0 failed, 0 up to date" "$notice"
check_on coordinator "a table a worker's migration creates is distributed" \
    "archived_projects,labels,members,notes,projects,schema_migrations,tasks" "$(sharded_tables org_5)"
check_on coordinator "every tenant has version 6 once" "$tenant_count" \
    "SELECT count(*) FROM tenancy.tenants WHERE version = 6 AND pending = 0"
debug=$(call_on coordinator debug1 "CALL tenancy.migrate_all(workers => 2)" 2>&1 || true)
check_output "a no-op run with workers finds every tenant up to date" \
    "migrate_all: $tenant_count tenants, 0 migrated, 0 failed, $tenant_count up to date" "$debug"
check_on coordinator "the workers run only the tenants no node answered for (those not distributed)" \
    "$(on coordinator "SELECT count(*) FROM tenancy.tenant_nodes WHERE node_name IS NULL")" \
    "SELECT $(sed -n 's/.*migrate_all worker [0-9]*: \([0-9]*\) tenants.*/\1/p' <<<"$debug" | awk '{s += $1} END {print s + 0}')"

echo "   workers refuse"
for call in "SELECT tenancy.all_tenants()" "SELECT tenancy.create_tenant('org_9')" \
    "SELECT * FROM tenancy.tenants" "SELECT * FROM tenancy.migration_states" \
    "SELECT * FROM tenancy.tenant_usage" "SELECT * FROM tenancy.tenant_pools_status" \
    "SELECT * FROM tenancy.pending_tenants()" "SELECT tenancy.set_tenant('org_1')" \
    "SELECT * FROM tenancy.tenant_nodes" "SELECT tenancy.move_tenant('org_1', 'x', 1)" \
    "CALL tenancy.migrate_all()" "SELECT tenancy.migrate('org_1')"; do
    check_output "on a worker, $call raises 0A000 with a hint to use the coordinator" \
        "^0A000: .*cannot run on a Citus worker node" "$(error_of worker1 "$call")"
done
check_output "the hint names the coordinator" "HINT: *Run it on the coordinator" \
    "$(on worker2 "SELECT tenancy.all_tenants()" 2>&1 || true)"

finish_checks
