#!/usr/bin/env bash
# The status readers at scale: SELECT * FROM tenancy.tenants, the pending
# question, tenancy.pending_tenants() and migration_status(), side by side
# with CALL tenancy.migrate_all() finding nothing to do, over TENANTS
# one-table tenants holding 20 applied versions each. Each call runs in a new
# session; the session's memory after the call is read from
# pg_backend_memory_contexts. A call's time is psql's \timing: from sending
# the statement until its whole result has arrived (psql then prints the rows
# into /dev/null, which is not counted). "migration_status, counted" counts
# its rows in the server, to tell the reader's cost from the transfer of 20
# rows per tenant, and "migration_status, libpq" is pgbench's latency for the
# same SELECT.
# Usage: status_at_scale.sh [TENANTS] [RUNS]   (100000 for the large case)
source "$(dirname "$0")/lib.sh"
tenants=${1:-10000}
runs=${2:-5}
db=bench_status_at_scale
fresh_bench_database "$db"

# The shortcut: tenants are made with plain SQL (CREATE SCHEMA, the one
# table, schema_migrations with its 20 rows) and registered in bulk, then the
# 20 migrations are registered. The same state as create_tenant() and 20
# applied migrations, in a fraction of the time.
started=$(date +%s.%N)
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
SET client_min_messages = warning;
DO \$\$
DECLARE t text;
BEGIN
    FOR i IN 1..$tenants LOOP
        t := format('tenant_%s', lpad(i::text, 6, '0'));
        EXECUTE format('CREATE SCHEMA %I', t);
        EXECUTE format('CREATE TABLE %I.t (id int)', t);
        EXECUTE format('CREATE TABLE %I.schema_migrations (version bigint PRIMARY KEY, '
                       'inserted_at timestamp(0) without time zone)', t);
        EXECUTE format('INSERT INTO %I.schema_migrations SELECT v, now() FROM generate_series(1, 20) v', t);
        -- Commits now and then: the locks of 100,000 tables do not fit in one transaction.
        IF i % 200 = 0 THEN COMMIT; END IF;
    END LOOP;
END \$\$;
INSERT INTO tenancy.tenant_registry (tenant)
SELECT format('tenant_%s', lpad(i::text, 6, '0')) FROM generate_series(1, $tenants) AS i;
SELECT tenancy.register_migration(v, format('step_%s', v),
           CASE v WHEN 1 THEN 'CREATE TABLE t (id int)' ELSE format('SELECT %s', v) END)
FROM generate_series(1, 20) AS v;
VACUUM ANALYZE;
SQL
made=$(echo "$(date +%s.%N) - $started" | bc)
# Making them dirtied gigabytes (VACUUM's hint bits and visibility map too):
# without a checkpoint now, the checkpointer would write them out during the
# measured calls, and the readers that spill rows to a temporary file
# (migration_status) would compete with it for the disk.
psql -X -q -d "$db" -c CHECKPOINT

psql -X -q -d "$db" -c "CREATE TABLE bench (arm text, run int, seconds float8, cache_kb bigint, backend_kb bigint)"
arm() {
    local name=$1 statement=$2 run=$3 output milliseconds memory
    output=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" <<SQL
SET client_min_messages = warning;
\o /dev/null
\timing on
$statement;
\timing off
\o
SELECT (SELECT total_bytes FROM pg_backend_memory_contexts WHERE name = 'CacheMemoryContext') / 1024,
       (SELECT sum(total_bytes) FROM pg_backend_memory_contexts) / 1024;
SQL
)
    milliseconds=$(sed -n 's/^Time: \([0-9.]*\) ms.*$/\1/p' <<<"$output")
    memory=$(grep -v '^Time: ' <<<"$output" | tr '|' ',')
    psql -X -q -d "$db" -c "INSERT INTO bench VALUES ('$name', $run, $milliseconds / 1000.0, $memory)"
}

# The same rows received by another client: pgbench's latency for the
# statement (libpq receives every row, as a driver does).
received_arm() {
    local name=$1 statement=$2 run=$3 script latency
    script=$(mktemp)
    echo "$statement;" >"$script"
    latency=$(pgbench -n -t 1 -f "$script" "$db" 2>/dev/null | sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p')
    rm -f "$script"
    psql -X -q -d "$db" -c "INSERT INTO bench VALUES ('$name', $run, $latency / 1000.0, NULL, NULL)"
}

arms=("migrate_all" "tenants" "pending question" "pending_tenants" "migration_status"
      "migration_status, counted")
statements=("CALL tenancy.migrate_all()"
            "SELECT * FROM tenancy.tenants"
            "SELECT count(*) FROM tenancy.tenants WHERE pending > 0"
            "SELECT * FROM tenancy.pending_tenants()"
            "SELECT * FROM tenancy.migration_status()"
            "SELECT count(*) FROM tenancy.migration_status()")
for run in $(seq 1 "$runs"); do
    for i in "${!arms[@]}"; do arm "${arms[$i]}" "${statements[$i]}" "$run"; done
    received_arm "migration_status, libpq" "SELECT * FROM tenancy.migration_status()" "$run"
done
arms+=("migration_status, libpq")

echo "status at scale: $tenants tenants x 20 applied versions, made in $(printf %.0f "$made") s; median of $runs runs, each call in a new session"
baseline=$(psql -X -A -t -d "$db" -c "$(median_sql bench migrate_all)")
for name in "${arms[@]}"; do
    median=$(psql -X -A -t -d "$db" -c "$(median_sql bench "$name")")
    memory=$(psql -X -A -t -F ' ' -d "$db" -c "
        SELECT max(cache_kb), max(backend_kb) FROM bench WHERE arm = '$name'")
    read -r cache backend <<<"$memory"
    printf '  %-26s %8.3f s  %5.2fx migrate_all   CacheMemoryContext %6s kB   backend %7s kB\n' \
        "$name" "$median" "$(echo "$median / $baseline" | bc -l)" "${cache:--}" "${backend:--}"
done
