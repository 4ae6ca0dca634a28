#!/usr/bin/env bash
# tenancy.tenant_usage: per tenant, bytes on disk (equal to what
# pg_total_relation_size says of its relations), relations, live rows and
# activity, read without leaving relation cache entries behind; and
# set_tenant(is_local => true) outside a transaction block warns as SET LOCAL does.
source "$(dirname "$0")/lib.sh"
fresh_database

run_sql "
SELECT tenancy.register_migration(1, 'create_projects',
    'CREATE TABLE projects (id serial PRIMARY KEY, name text NOT NULL, notes text)');
SELECT tenancy.create_tenant('busy');
SELECT tenancy.create_tenant('idle');
INSERT INTO busy.projects (name, notes) SELECT 'p' || i, repeat('x', 3000) FROM generate_series(1, 500) AS i;
UPDATE busy.projects SET name = 'renamed' WHERE id <= 10;
DELETE FROM busy.projects WHERE id > 490;
SELECT pg_stat_force_next_flush();"
check "bytes equal pg_total_relation_size of the tenant's tables and sequences" "t t" \
    "SELECT string_agg(CASE WHEN u.bytes = s.total THEN 't' ELSE 'f' END, ' ' ORDER BY u.tenant)
     FROM tenancy.tenant_usage u
     JOIN (SELECT n.nspname, sum(pg_total_relation_size(c.oid)) AS total
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('r', 'm', 'S') GROUP BY n.nspname) s ON s.nspname = u.tenant"
check "the busy tenant is bigger than the idle one" "t" \
    "SELECT (SELECT bytes FROM tenancy.tenant_usage WHERE tenant = 'busy') >
            (SELECT bytes FROM tenancy.tenant_usage WHERE tenant = 'idle')"
check "relations count every relation of the schema" "t" \
    "SELECT relations = (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname = 'busy') FROM tenancy.tenant_usage WHERE tenant = 'busy'"
check "activity since the statistics were reset: inserted, updated, deleted rows" "500 10 10" \
    "SELECT concat_ws(' ', rows_inserted - 1, rows_updated, rows_deleted) FROM tenancy.tenant_usage WHERE tenant = 'busy'"
check "an idle tenant shows no writes but its bookkeeping row" "1 0 0" \
    "SELECT concat_ws(' ', rows_inserted, rows_updated, rows_deleted) FROM tenancy.tenant_usage WHERE tenant = 'idle'"
run_sql "ANALYZE busy.projects"
check "live rows are estimated from the statistics" "491" \
    "SELECT live_rows FROM tenancy.tenant_usage WHERE tenant = 'busy'"
check "and the last analyze is shown" "t" \
    "SELECT last_analyze IS NOT NULL FROM tenancy.tenant_usage WHERE tenant = 'busy'"
run_sql "SELECT tenancy.create_tenant(format('many_%s', i)) FROM generate_series(1, 300) AS i"
check "reading the sizes of hundreds of tenants leaves the relation cache as it was" "t" \
    "CREATE TEMP TABLE warm_up AS SELECT sum(bytes) FROM tenancy.tenant_usage;
     CREATE TEMP TABLE before AS SELECT sum(total_bytes) AS bytes FROM pg_backend_memory_contexts WHERE name = 'CacheMemoryContext';
     CREATE TEMP TABLE again AS SELECT sum(bytes) FROM tenancy.tenant_usage;
     SELECT (SELECT sum(total_bytes) FROM pg_backend_memory_contexts WHERE name = 'CacheMemoryContext') - bytes < 262144 FROM before"
check "PUBLIC may not read the usage of every tenant" "f" \
    "SELECT has_table_privilege('public', 'tenancy.tenant_usage', 'SELECT')"

output=$(psql -X -q -d "$TEST_DB" -c "SELECT tenancy.set_tenant('busy', is_local => true)" 2>&1)
check_output "set_tenant(is_local => true) outside a transaction block warns as SET LOCAL does" \
    "WARNING:  set_tenant with is_local => true can only be used in transaction blocks" "$output"
output=$(psql -X -q -d "$TEST_DB" -c "BEGIN" -c "SELECT tenancy.set_tenant('busy', is_local => true)" -c "COMMIT" 2>&1)
if grep -q WARNING <<<"$output"; then
    check "inside a transaction block it does not warn" "quiet" "SELECT 'warned'"
else
    check "inside a transaction block it does not warn" "quiet" "SELECT 'quiet'"
fi
finish_checks
