#!/usr/bin/env bash
# migrate_all with workers => 2 against workers => 1 and against two psql
# sessions each replaying half of the tenants (the machine's floor on 2
# cores), over TENANTS pagila tenants holding 20,000 rows in rental each, with
# a migration that costs real CPU per tenant: two index builds on rental and
# a column with a default. The three arms run in every round, in a rotating
# order, each with a migration of its own; medians over ROUNDS rounds. Then
# the memory each worker ended with (its TopMemoryContext, pending table
# statistics included), against the calling session running every tenant.
# Usage: migrate_all_workers.sh [TENANTS] [ROUNDS]
source "$(dirname "$0")/lib.sh"
tenants=${1:-60}
rounds=${2:-3}
db=bench_migrate_all_workers
fresh_bench_database "$db"

psql -X -q -v ON_ERROR_STOP=1 -d "$db" -v pagila="$(cat "$PAGILA")" >/dev/null <<'SQL'
SELECT tenancy.register_migration(1, 'pagila', :'pagila');
SQL
for ((start = 1; start <= tenants; start += 20)); do
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "SET client_min_messages = warning" -c "
        SELECT tenancy.create_tenant(format('org_%s', lpad(i::text, 5, '0')))
        FROM generate_series($start, least($start + 19, $tenants)) AS i" >/dev/null
done
# 20,000 rentals per tenant (foreign keys not enforced while loading).
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL'
SET session_replication_role = replica;
DO $$
DECLARE t text;
BEGIN
    FOR t IN SELECT * FROM tenancy.all_tenants() LOOP
        EXECUTE format('INSERT INTO %I.rental (rental_date, inventory_id, customer_id, staff_id)
                        SELECT timestamptz ''2024-01-01'' + i * interval ''1 minute'', i %% 4581 + 1,
                               i %% 599 + 1, i %% 2 + 1
                        FROM generate_series(1, 20000) AS i', t);
        COMMIT;
    END LOOP;
END $$;
VACUUM ANALYZE;
SQL

migration() {  # V: the migration of version V
    echo "CREATE INDEX rental_customer_v$1 ON rental (customer_id, rental_date);
CREATE INDEX rental_return_v$1 ON rental (return_date, inventory_id);
ALTER TABLE rental ADD COLUMN note_v$1 text NOT NULL DEFAULT 'none';"
}

register() {  # V
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "SELECT tenancy.register_migration($1, 'round_$1', \$m\$$(migration "$1")\$m\$)" >/dev/null
}

now() { date +%s.%N; }

psql -X -q -d "$db" -c "CREATE TABLE bench (arm text, run int, seconds float8)"
record() {  # ARM ROUND SECONDS
    psql -X -q -d "$db" -c "INSERT INTO bench VALUES ('$1', $2, $3)"
}

arm_workers() {  # N ROUND VERSION
    register "$3"
    local t0 t1
    t0=$(now)
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "SET client_min_messages = warning" \
        -c "CALL tenancy.migrate_all(workers => $1)" >/dev/null
    t1=$(now)
    record "workers => $1" "$2" "$t1 - $t0"
}

arm_two_sessions() {  # ROUND VERSION
    local half script_a script_b t0 t1
    script_a=$(mktemp)
    script_b=$(mktemp)
    local i=0
    while read -r tenant; do
        {
            echo "BEGIN;"
            echo "SET LOCAL search_path = \"$tenant\", public;"
            migration "$2"
            echo "INSERT INTO \"$tenant\".schema_migrations VALUES ($2, timezone('UTC', now()));"
            echo "COMMIT;"
        } >>"$([ $((i % 2)) -eq 0 ] && echo "$script_a" || echo "$script_b")"
        i=$((i + 1))
    done < <(psql -X -A -t -d "$db" -c "SELECT tenant FROM tenancy.tenant_registry ORDER BY tenant COLLATE \"C\"")
    t0=$(now)
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$script_a" >/dev/null &
    local a=$!
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$script_b" >/dev/null
    wait "$a"
    t1=$(now)
    rm -f "$script_a" "$script_b"
    record "two psql sessions" "$1" "$t1 - $t0"
    register "$2"  # afterwards, so migrate_all finds it applied everywhere
}

for round in $(seq 1 "$rounds"); do
    base=$((round * 10))
    case $((round % 3)) in
        1) arm_workers 1 "$round" $((base + 1)); arm_workers 2 "$round" $((base + 2)); arm_two_sessions "$round" $((base + 3)) ;;
        2) arm_workers 2 "$round" $((base + 1)); arm_two_sessions "$round" $((base + 2)); arm_workers 1 "$round" $((base + 3)) ;;
        0) arm_two_sessions "$round" $((base + 1)); arm_workers 1 "$round" $((base + 2)); arm_workers 2 "$round" $((base + 3)) ;;
    esac
    psql -X -q -d "$db" -c CHECKPOINT
done

one=$(psql -X -A -t -d "$db" -c "$(median_sql bench 'workers => 1')")
two=$(psql -X -A -t -d "$db" -c "$(median_sql bench 'workers => 2')")
floor=$(psql -X -A -t -d "$db" -c "$(median_sql bench 'two psql sessions')")
echo "migrate_all over $tenants pagila tenants x 20,000 rentals (2 index builds + a column), median of $rounds rounds:"
echo "  workers => 1: ${one}s, workers => 2: ${two}s, two psql sessions with half each: ${floor}s"
echo "  speed-up of workers => 2 over workers => 1: $(psql -X -A -t -d "$db" -c "SELECT round($one / $two, 2)")x (target >= 1.7)"
echo "  workers => 2 against two psql sessions: $(psql -X -A -t -d "$db" -c "SELECT round($two / $floor, 3)") (target <= 1.15)"

# Memory: each worker's TopMemoryContext when it leaves (DEBUG1 from the
# caller), after a quarter of the tenants and after all of them; against the
# calling session's own after running every tenant itself.
worker_memory() {  # VERSION [MAX_TENANTS]
    register "$1"
    psql -X -q -d "$db" -c "SET client_min_messages = debug1" \
        -c "CALL tenancy.migrate_all(workers => 2, max_tenants => ${2:-NULL})" 2>&1 |
        grep -o "migrate_all worker [0-9]*: [0-9]* tenants, memory [0-9]* kB" | sed 's/^/  /'
}
worker_memory 1000 $((tenants / 4))
worker_memory 1000
register 1001
psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" <<'SQL' | tail -1 | sed 's/^/  /'
SET client_min_messages = warning;
CALL tenancy.migrate_all(workers => 1);
SELECT format('the calling session after running every tenant (workers => 1): %s kB in all, %s kB of them pending statistics',
              (sum(total_bytes) / 1024)::bigint,
              (sum(total_bytes) FILTER (WHERE name LIKE 'PgStat%') / 1024)::bigint)
FROM pg_backend_memory_contexts;
SQL
