#!/usr/bin/env bash
# tenancy.tenant_usage over TENANTS tenants, each holding one table with a
# primary key and a TOAST table (4 relations), one in ten of them with 100
# rows; side by side with the query a DBA would write the plain way: every
# tenant schema's relations joined to pg_total_relation_size() and
# pg_stat_user_tables, grouped by schema.
# Each arm runs its first call in a new session ("first", which pays for the
# catalog reads and the statistics a session loads once) and then a second
# call in that session ("warm"); rows go to psql (unaligned, into /dev/null).
# Usage: tenant_usage.sh [TENANTS] [RUNS]   (10000 5 by default)
source "$(dirname "$0")/lib.sh"
tenants=${1:-10000}
runs=${2:-5}
db=bench_tenant_usage
fresh_bench_database "$db"

# The shortcut of status_at_scale.sh: schemas made with plain SQL and
# registered in bulk.
started=$(date +%s.%N)
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
SET client_min_messages = warning;
DO \$\$
DECLARE t text;
BEGIN
    FOR i IN 1..$tenants LOOP
        t := format('tenant_%s', lpad(i::text, 6, '0'));
        EXECUTE format('CREATE SCHEMA %I', t);
        EXECUTE format('CREATE TABLE %I.notes (id int PRIMARY KEY, body text)', t);
        IF i % 10 = 0 THEN
            EXECUTE format('INSERT INTO %I.notes SELECT g, repeat(''x'', 50) FROM generate_series(1, 100) g', t);
        END IF;
        IF i % 200 = 0 THEN COMMIT; END IF;
    END LOOP;
END \$\$;
INSERT INTO tenancy.tenant_registry (tenant)
SELECT format('tenant_%s', lpad(i::text, 6, '0')) FROM generate_series(1, $tenants) AS i;
VACUUM ANALYZE;
SQL
made=$(echo "$(date +%s.%N) - $started" | bc)

psql -X -q -d "$db" -c "CREATE TABLE bench (arm text, run int, seconds float8)"

plain="SELECT n.nspname AS tenant, sum(pg_total_relation_size(c.oid)) FILTER (WHERE c.relkind IN ('r', 'm', 'S')) AS bytes,
              count(c.oid) AS relations, sum(s.n_live_tup) AS live_rows, sum(s.seq_scan) AS seq_scans,
              sum(s.idx_scan) AS index_scans, sum(s.n_tup_ins) AS rows_inserted, sum(s.n_tup_upd) AS rows_updated,
              sum(s.n_tup_del) AS rows_deleted,
              max(greatest(s.last_vacuum, s.last_autovacuum)) AS last_vacuum,
              max(greatest(s.last_analyze, s.last_autoanalyze)) AS last_analyze
       FROM tenancy.tenant_registry r
       JOIN pg_namespace n ON n.nspname = r.tenant
       LEFT JOIN pg_class c ON c.relnamespace = n.oid
       LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
       GROUP BY n.nspname"

arm() {
    local name=$1 statement=$2 run=$3
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
SET client_min_messages = warning;
\pset format unaligned
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
\o /dev/null
$statement;
\o
SELECT extract(epoch FROM clock_timestamp()) AS t1 \gset
\o /dev/null
$statement;
\o
SELECT extract(epoch FROM clock_timestamp()) AS t2 \gset
INSERT INTO bench VALUES ('$name, first', $run, :t1 - :t0), ('$name, warm', $run, :t2 - :t1);
SQL
}

for run in $(seq 1 "$runs"); do
    arm "tenant_usage" "SELECT * FROM tenancy.tenant_usage" "$run"
    arm "plain" "$plain" "$run"
done

rows=$(psql -X -A -t -d "$db" -c "SELECT count(*) FROM tenancy.tenant_usage")
echo "tenant_usage: $tenants tenants x 4 relations ($rows rows), made in $(printf %.0f "$made") s; median of $runs runs"
for call in first warm; do
    ours=$(psql -X -A -t -d "$db" -c "$(median_sql bench "tenant_usage, $call")")
    theirs=$(psql -X -A -t -d "$db" -c "$(median_sql bench "plain, $call")")
    printf '  %-6s tenant_usage %7.3f s   plain query %7.3f s   ratio %5.2f\n' \
        "$call" "$ours" "$theirs" "$(echo "$ours / $theirs" | bc -l)"
done
