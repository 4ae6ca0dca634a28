#!/usr/bin/env bash
# Writers during an index build over TENANTS tenants of ROWS rows each:
# CLIENTS pgbench clients insert into random tenants' tables while
# CALL tenancy.migrate_all() runs a migration that builds an index. Two arms,
# interleaved, ROUNDS rounds each: a non-transactional migration (CREATE INDEX
# CONCURRENTLY, run statement by statement in a background worker) and a
# transactional one (plain CREATE INDEX, which blocks each tenant's writers
# while it builds). Reported: failed writes, and the longest write stall (the
# slowest pgbench transaction that overlapped the migration), medians over
# the rounds; and the writers alone, as the machine's floor.
# Usage: online_migration.sh [TENANTS] [ROWS] [CLIENTS] [ROUNDS]
source "$(dirname "$0")/lib.sh"
tenants=${1:-100}
rows=${2:-50000}
clients=${3:-4}
rounds=${4:-3}
db=bench_online_migration
fresh_bench_database "$db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
SELECT tenancy.register_migration(1, 'items',
    'CREATE TABLE items (id bigserial PRIMARY KEY, a int NOT NULL, b int NOT NULL, pad text)');
SELECT tenancy.create_tenant(format('org_%s', i)) FROM generate_series(1, $tenants) AS i;
DO \$\$
BEGIN
    FOR i IN 1..$tenants LOOP
        EXECUTE format('INSERT INTO %I.items (a, b, pad) SELECT g, (g::bigint * 7919) %% 100003, repeat(''x'', 40)
                        FROM generate_series(1, $rows) AS g', 'org_' || i);
    END LOOP;
END
\$\$;
VACUUM ANALYZE;
CREATE TABLE bench_results (round int, arm text, seconds numeric, longest_stall_ms numeric,
                            writes bigint, failed bigint, error_lines int, covered boolean DEFAULT true);
SQL

workload=$(mktemp)
cat >"$workload" <<'EOF'
\set t random(1, :tenants)
\set v random(1, 1000000)
INSERT INTO org_:t.items (a, b, pad) VALUES (:v, :v, 'written during the build');
EOF
logs=$(mktemp -d)
trap 'rm -rf "$workload" "$logs"' EXIT

# run_arm ROUND ARM VERSION SQL TRANSACTIONAL: pgbench writes for the whole
# migrate_all, which starts once the writers run.
run_arm() {
    local round=$1 arm=$2 version=$3 sql=$4 transactional=$5 start end pgbench_pid
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c \
        "SELECT tenancy.register_migration($version, '${arm}_$round', '$sql', transactional => $transactional)" >/dev/null
    rm -f "$logs"/pgbench_log.*
    # The writers run a fixed time, longer than either migration.
    pgbench -n -h 127.0.0.1 -c "$clients" -j 2 -T "$duration" -D tenants="$tenants" \
        -f "$workload" -l --log-prefix="$logs/pgbench_log" "$db" >"$logs/pgbench.out" 2>&1 &
    pgbench_pid=$!
    local writers_end
    writers_end=$(echo "$(date +%s.%N) + $duration" | bc)
    sleep 1  # a load to write against, not a synchronisation: the figure is the slowest write
    start=$(date +%s.%N)
    psql -X -q -d "$db" -c "CALL tenancy.migrate_all()" >"$logs/migrate.out" 2>&1
    end=$(date +%s.%N)
    wait "$pgbench_pid" || true
    local stall writes failed errors
    # The slowest write that overlapped the migration (the log's columns:
    # client, transaction, latency in us, script, end time in s and us).
    stall=$(cat "$logs"/pgbench_log.* | awk -v from="$start" -v to="$end" '
        BEGIN {m = 0}
        {finished = $5 + $6 / 1e6; began = finished - $3 / 1e6}
        finished >= from && began <= to && $3 > m {m = $3}
        END {printf "%.1f", m / 1000}')
    writes=$(cat "$logs"/pgbench_log.* | wc -l)
    failed=$(grep -oE "number of failed transactions: [0-9]+" "$logs/pgbench.out" | grep -oE "[0-9]+$" || echo 0)
    errors=$(cat "$logs/pgbench.out" "$logs/migrate.out" | { grep -cE "ERROR|aborted" || true; })
    # Whether the writers outlasted the migration (else the run is too short).
    psql -X -q -d "$db" -c "INSERT INTO bench_results VALUES ($round, '$arm', $end - $start, $stall, $writes, $failed, $errors, $end <= $writers_end)"
}

# The writers alone, no migration, for as long: the machine's own longest
# write stall, the floor under both arms.
run_baseline() {
    local round=$1
    rm -f "$logs"/pgbench_log.*
    pgbench -n -h 127.0.0.1 -c "$clients" -j 2 -T 15 -D tenants="$tenants" \
        -f "$workload" -l --log-prefix="$logs/pgbench_log" "$db" >"$logs/pgbench.out" 2>&1
    local stall writes
    stall=$(cat "$logs"/pgbench_log.* | awk 'BEGIN {m = 0} $3 > m {m = $3} END {printf "%.1f", m / 1000}')
    writes=$(cat "$logs"/pgbench_log.* | wc -l)
    psql -X -q -d "$db" -c "INSERT INTO bench_results VALUES ($round, 'none', 15, $stall, $writes, 0, 0)"
}

# How long the writers run in each arm: longer than the slower (concurrent)
# migration, timed once on its own; writers slow it down about 4-fold.
psql -X -q -d "$db" -c "SELECT tenancy.register_migration(2, 'warm_up',
    'CREATE INDEX CONCURRENTLY IF NOT EXISTS items_warm ON items (a)', transactional => false)" >/dev/null
start=$(date +%s.%N)
psql -X -q -d "$db" -c "CALL tenancy.migrate_all()" >/dev/null 2>&1
warm=$(echo "$(date +%s.%N) - $start" | bc)
duration=$(echo "($warm * 5 + 10) / 1" | bc)

version=10
for round in $(seq 1 "$rounds"); do
    run_arm "$round" concurrently $((version + 1)) \
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS items_b_$round ON items (b)" false
    run_arm "$round" plain $((version + 2)) "CREATE INDEX items_c_$round ON items (b)" true
    run_baseline "$round"
    version=$((version + 10))
done

psql -X -A -t -d "$db" -c "
    SELECT format('online migration, %s tenants x %s rows, %s pgbench clients writing to them, %s rounds (writers run %s s per arm): '
                  'CONCURRENTLY migrate_all %s s, longest write stall %s ms; plain CREATE INDEX migrate_all %s s, longest write stall %s ms; '
                  'stall ratio 1/%s; writers alone (15 s, no migration): longest write stall %s ms; '
                  'failed writes %s of %s (CONCURRENTLY), %s of %s (plain); error lines %s',
                  $tenants, $rows, $clients, $rounds, $duration,
                  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) FILTER (WHERE arm = 'concurrently')::numeric, 2),
                  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY longest_stall_ms) FILTER (WHERE arm = 'concurrently')::numeric, 1),
                  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) FILTER (WHERE arm = 'plain')::numeric, 2),
                  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY longest_stall_ms) FILTER (WHERE arm = 'plain')::numeric, 1),
                  round((percentile_cont(0.5) WITHIN GROUP (ORDER BY longest_stall_ms) FILTER (WHERE arm = 'plain')
                        / percentile_cont(0.5) WITHIN GROUP (ORDER BY longest_stall_ms) FILTER (WHERE arm = 'concurrently'))::numeric, 1),
                  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY longest_stall_ms) FILTER (WHERE arm = 'none')::numeric, 1),
                  sum(failed) FILTER (WHERE arm = 'concurrently'), sum(writes) FILTER (WHERE arm = 'concurrently'),
                  sum(failed) FILTER (WHERE arm = 'plain'), sum(writes) FILTER (WHERE arm = 'plain'),
                  sum(error_lines))
    FROM bench_results"
psql -X -A -t -d "$db" -c "SELECT count(*) || ' invalid indexes left; ' ||
    (SELECT count(*) FROM bench_results WHERE NOT covered) || ' arms where the migration outlasted the writers'
    FROM pg_index WHERE NOT indisvalid"
