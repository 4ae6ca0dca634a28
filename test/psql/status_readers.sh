#!/usr/bin/env bash
# The status readers over a few thousand tenants: the views' answers match
# the tenants' tables, reading them leaves the session's catalog cache flat,
# and a tenant whose version table is not Ecto's fails alone in
# migrate_all(on_error => 'continue') and shows with NULLs in the views.
source "$(dirname "$0")/lib.sh"
fresh_database
tenants=3000

# Tenants made with plain SQL and registered in bulk (as bench/status_at_scale.sh):
# the state create_tenant() and 5 applied migrations leave, in a few seconds.
psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" >/dev/null <<SQL
DO \$\$
BEGIN
    FOR i IN 1..$tenants LOOP
        EXECUTE format('CREATE SCHEMA %I', 's' || i);
        EXECUTE format('CREATE TABLE %I.schema_migrations (version bigint PRIMARY KEY, '
                       'inserted_at timestamp(0) without time zone)', 's' || i);
        EXECUTE format('INSERT INTO %I.schema_migrations SELECT v, now() FROM generate_series(1, 5) v', 's' || i);
        IF i % 500 = 0 THEN COMMIT; END IF;
    END LOOP;
END \$\$;
SQL
run_sql "
INSERT INTO tenancy.tenant_registry (tenant) SELECT 's' || i FROM generate_series(1, $tenants) AS i;
SELECT tenancy.register_migration(v, format('step_%s', v), format('SELECT %s', v))
FROM generate_series(1, 6) AS v;
-- Every 7th tenant lacks version 3, every 11th has an unregistered 99.
DO \$\$
BEGIN
    FOR i IN 7..$tenants BY 7 LOOP
        EXECUTE format('DELETE FROM %I.schema_migrations WHERE version = 3', 's' || i);
    END LOOP;
    FOR i IN 11..$tenants BY 11 LOOP
        EXECUTE format('INSERT INTO %I.schema_migrations VALUES (99, now())', 's' || i);
    END LOOP;
END \$\$;"

sevenths=$((tenants / 7))
elevenths=$((tenants / 11))
check "the tenants view: pending counts every registered version a tenant lacks" \
    "$((tenants - sevenths)) 1|$sevenths 2" \
    "SELECT string_agg(n || ' ' || pending, '|' ORDER BY pending) FROM
     (SELECT pending, count(*) AS n FROM tenancy.tenants GROUP BY pending) s"
check "version is the highest applied one, unregistered ones included" \
    "$elevenths" "SELECT count(*) FROM tenancy.tenants WHERE version = 99"
check "the pending question" "$tenants" "SELECT count(*) FROM tenancy.tenants WHERE pending > 0"
check "pending_tenants() agrees" "$tenants $((tenants + sevenths))" \
    "SELECT count(*) || ' ' || sum(pending) FROM tenancy.pending_tenants()"
check "migration_states: one row per registered or applied version" \
    "applied $((tenants * 5 - sevenths))|pending $((tenants + sevenths))|unregistered $elevenths" \
    "SELECT string_agg(state || ' ' || n, '|' ORDER BY state) FROM
     (SELECT state, count(*) AS n FROM tenancy.migration_states GROUP BY state) s"
check "migration_status() of one tenant" "1 applied,2 applied,3 pending,4 applied,5 applied,6 pending" \
    "SELECT string_agg(version || ' ' || state, ',') FROM tenancy.migration_status('s7')"

# A tenant with a long table: its rows are still sorted (through a tuplesort
# past 8,192 rows, which spills to disk rather than growing the backend).
run_sql "INSERT INTO s5.schema_migrations SELECT v, now() FROM generate_series(20000, 100, -1) AS v"
check "migration_status() of a tenant with 19,906 rows shows them all" "19907 1 20000" \
    "SELECT count(*) || ' ' || min(version) || ' ' || max(version) FROM tenancy.migration_status('s5')"
check "the reader hands them over in version order" "t" \
    "WITH r AS (SELECT version, lag(version) OVER () AS previous FROM tenancy._version_states('s5'))
     SELECT bool_and(previous IS NULL OR version > previous) FROM r"
check "and every tenant in name order" "t" \
    "WITH r AS (SELECT tenant, lag(tenant) OVER () AS previous FROM tenancy._version_states())
     SELECT bool_and(previous IS NULL OR tenant >= previous) FROM r"
check "migration_status() returns rows ordered by tenant and version, as the view sorts them" "t" \
    "SELECT array_agg(ROW(tenant, version)) = array_agg(ROW(tenant, version) ORDER BY tenant, version)
     FROM tenancy.migration_status()"
run_sql "DELETE FROM s5.schema_migrations WHERE version >= 100"

# The session's catalog cache stays flat: each tenant's relation-cache entry
# is dropped after its scan and the catalog caches are kept within a budget.
# Without that, each read of 3,000 tenants leaves about 30 MB behind.
memory=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$TEST_DB" <<'SQL'
SELECT * FROM tenancy.tenants LIMIT 0 \g /dev/null
SELECT * FROM tenancy.migration_states LIMIT 0 \g /dev/null
SELECT * FROM tenancy.migration_status('s1') \g /dev/null
SELECT used_bytes AS before FROM pg_backend_memory_contexts WHERE name = 'CacheMemoryContext' \gset
SELECT count(*) FROM tenancy.tenants \g /dev/null
SELECT count(*) FROM tenancy.tenants WHERE pending > 0 \g /dev/null
SELECT count(*) FROM tenancy.migration_states \g /dev/null
SELECT count(*) FROM tenancy.migration_status() \g /dev/null
SELECT count(*) FROM tenancy.pending_tenants() \g /dev/null
SELECT (used_bytes - :before) < 3 * 1024 * 1024, total_bytes < 10 * 1024 * 1024
FROM pg_backend_memory_contexts WHERE name = 'CacheMemoryContext';
SQL
)
check_output "reading every view over $tenants tenants grows CacheMemoryContext by less than 3 MiB, and it stays under 10 MiB" \
    "^t\|t$" "$memory"

# A version table that is not Ecto's fails its own tenant only.
run_sql "
DROP TABLE s10.schema_migrations; CREATE VIEW s10.schema_migrations AS SELECT 1::bigint AS version;
DROP TABLE s20.schema_migrations; CREATE TYPE s20.schema_migrations AS (version bigint);
DROP TABLE s30.schema_migrations; CREATE TABLE s30.schema_migrations (version int);"
check "the views show those tenants with NULLs, and every other tenant" "3 $tenants" \
    "SELECT count(*) FILTER (WHERE pending IS NULL) || ' ' || count(*) FROM tenancy.tenants"
output=$(psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all(on_error => 'continue')" 2>&1)
check_output "migrate_all(on_error => 'continue') names only them as failed" \
    'WARNING:  migrate_all: 3 tenants failed: "s10", "s20", "s30"' "$output"
check "each with a clear 55000 in last_error" "s10 55000|s20 55000|s30 55000" \
    "SELECT string_agg(tenant || ' ' || left(last_error, 5), '|' ORDER BY tenant COLLATE \"C\")
     FROM tenancy.tenants WHERE last_error IS NOT NULL"
check "every other tenant is migrated" "0 3" \
    "SELECT count(*) FILTER (WHERE pending > 0) || ' ' || count(*) FILTER (WHERE pending IS NULL) FROM tenancy.tenants"

finish_checks
