#!/usr/bin/env bash
# CALL tenancy.migrate_all() of a 3-statement migration over TENANTS tenants,
# against a psql replay of the same statements (one transaction per tenant,
# recording the version as migrate_all does). The arms alternate, ROUNDS times
# each, every round with a migration of its own. Then the backend's memory
# after migrate_all over 500 and over TENANTS tenants.
# Usage: migrate_all_apply.sh [TENANTS] [ROUNDS]
source "$(dirname "$0")/lib.sh"
tenants=${1:-2000}
rounds=${2:-3}
db=bench_migrate_all_apply

make_tenants() {  # DATABASE COUNT
    fresh_bench_database "$1"
    for ((start = 1; start <= $2; start += 250)); do
        psql -X -q -v ON_ERROR_STOP=1 -d "$1" -c "SET client_min_messages = warning" -c "
            SELECT tenancy.create_tenant(format('tenant_%s', lpad(i::text, 6, '0')))
            FROM generate_series($start, least($start + 249, $2)) AS i" >/dev/null
    done
}

migration() {  # N: the three statements of round N
    echo "CREATE TABLE r${1}_items (id bigint PRIMARY KEY, name text NOT NULL);
CREATE INDEX r${1}_items_name ON r${1}_items (name);
ALTER TABLE r${1}_items ADD COLUMN created_at timestamptz DEFAULT now();"
}

make_tenants "$db" "$tenants"
psql -X -q -d "$db" -c "CREATE TABLE bench (arm text, run int, seconds float8)"

for round in $(seq 1 "$rounds"); do
    ours=$((round * 2 - 1))
    plain=$((round * 2))
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "SELECT tenancy.register_migration($ours, 'round_$ours', \$m\$$(migration $ours)\$m\$)" >/dev/null
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
SET client_min_messages = warning;
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
CALL tenancy.migrate_all();
SELECT extract(epoch FROM clock_timestamp()) AS t1 \gset
INSERT INTO bench VALUES ('migrate_all', $round, :t1 - :t0);
SQL

    # The same work, replayed by psql: a transaction per tenant.
    script=$(mktemp)
    {
        echo "\\set ON_ERROR_STOP 1"
        echo "SELECT extract(epoch FROM clock_timestamp()) AS t0 \\gset"
        psql -X -A -t -d "$db" -c "SELECT tenant FROM tenancy.tenant_registry ORDER BY tenant COLLATE \"C\"" |
            while read -r tenant; do
                echo "BEGIN;"
                echo "SET LOCAL search_path = \"$tenant\", public;"
                migration "$plain"
                echo "INSERT INTO \"$tenant\".schema_migrations VALUES ($plain, timezone('UTC', now()));"
                echo "COMMIT;"
            done
        echo "SELECT extract(epoch FROM clock_timestamp()) AS t1 \\gset"
        echo "INSERT INTO bench VALUES ('psql replay', $round, :t1 - :t0);"
    } >"$script"
    psql -X -q -d "$db" -f "$script" >/dev/null
    rm -f "$script"
    # Registered afterwards, so migrate_all sees it applied everywhere.
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "SELECT tenancy.register_migration($plain, 'round_$plain', \$m\$$(migration $plain)\$m\$)" >/dev/null
done

ours=$(psql -X -A -t -d "$db" -c "$(median_sql bench migrate_all)")
plain=$(psql -X -A -t -d "$db" -c "$(median_sql bench 'psql replay')")
ratio=$(psql -X -A -t -d "$db" -c "SELECT round($ours / $plain, 3)")
echo "migrate_all of a 3-statement migration ($tenants tenants, median of $rounds rounds): ${ours}s vs psql replay ${plain}s: ratio ${ratio} (target <= 1.15)"

# Backend memory right after migrate_all, in the session that ran it.
memory_after_run() {  # DATABASE
    psql -X -q -v ON_ERROR_STOP=1 -d "$1" -c "SELECT tenancy.register_migration(1000, 'memory', \$m\$$(migration 1000)\$m\$)" >/dev/null
    psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" <<'SQL' | tail -1
SET client_min_messages = warning;
CALL tenancy.migrate_all();
SELECT format('%s kB in all: %s kB in CacheMemoryContext and its children, %s kB of pending statistics',
              (sum(total_bytes) / 1024)::bigint,
              (sum(total_bytes) FILTER (WHERE name = 'CacheMemoryContext' OR parent = 'CacheMemoryContext') / 1024)::bigint,
              (sum(total_bytes) FILTER (WHERE name LIKE 'PgStat%') / 1024)::bigint)
FROM pg_backend_memory_contexts;
SQL
}
make_tenants bench_memory_500 500
echo "backend memory after migrate_all over 500 tenants: $(memory_after_run bench_memory_500)"
echo "backend memory after migrate_all over $tenants tenants: $(memory_after_run "$db")"
