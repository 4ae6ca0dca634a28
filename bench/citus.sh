#!/usr/bin/env bash
# pg_tenancy on Citus schema-based sharding (README "Running on Citus"):
# starts a coordinator and two workers (test/citus/lib.sh), so it runs inside
# scripts/with-cluster.sh, whose own cluster is the single node compared with:
#
#   scripts/with-cluster.sh --fsync bash bench/citus.sh [TENANTS] [RUNS] [CREATED]
#
# 1. CALL tenancy.migrate_all() with nothing pending over TENANTS tenants
#    (3 applied versions each): the tenants of distributed schemas spread
#    over 2 workers, against the same tenants on the single node.
# 2. create_tenant with 3 small migrations registered, CREATED tenants per
#    arm, one transaction each, against Citus' own way: a top-level CREATE
#    SCHEMA (which Citus distributes) and psql replaying the same SQL and the
#    version rows, one transaction per tenant. The two arms interleaved.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../test/psql/lib.sh"
TEST_DB=bench_citus
source "$(dirname "$0")/../test/citus/lib.sh"
citus_installed || { echo "skipped: Citus is not installed"; exit 0; }
tenants=${1:-1000}
runs=${2:-5}
created=${3:-20}

migration_1='CREATE TABLE projects (id bigint PRIMARY KEY, name text NOT NULL)'
migration_2='CREATE TABLE tasks (id bigint PRIMARY KEY, project_id bigint REFERENCES projects, title text)'
migration_3='CREATE INDEX ON tasks (project_id)'
export migration_1 migration_2 migration_3
register="SELECT tenancy.register_migration(1, 'projects', \$m\$$migration_1\$m\$);
SELECT tenancy.register_migration(2, 'tasks', \$m\$$migration_2\$m\$);
SELECT tenancy.register_migration(3, 'tasks_index', \$m\$$migration_3\$m\$);"

start_citus_nodes
on coordinator "CREATE EXTENSION pg_tenancy; $register" >/dev/null
fresh_bench_database "$TEST_DB" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" -c "$register" >/dev/null

started=$(date +%s)
for ((start = 1; start <= tenants; start += 50)); do
    batch="SELECT tenancy.create_tenant(format('tenant_%s', lpad(i::text, 5, '0')))
           FROM generate_series($start, least($start + 49, $tenants)) AS i"
    on coordinator "$batch" >/dev/null
    psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" -c "$batch" >/dev/null
done
echo "made $tenants tenants on each side in $(($(date +%s) - started)) s"
echo "Citus: $(on coordinator "SELECT count(*) FROM pg_dist_schema") distributed schemas," \
    "tenants per node: $(on coordinator "SELECT string_agg(node_port || ':' || n, ' ') FROM (SELECT node_port, count(*) AS n FROM tenancy.tenant_nodes GROUP BY 1) AS c")"

# One session per run, as a deploy step would be; the arms interleaved.
timed_call() {
    psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$1" -p "$2" -d "$TEST_DB" <<SQL
SET client_min_messages = warning;
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
CALL tenancy.migrate_all();
SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3);
SQL
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
citus_runs=() single_runs=()
for _ in $(seq 1 "$runs"); do
    citus_runs+=("$(timed_call "$citus_socket_dir" "${citus_port[coordinator]}")")
    single_runs+=("$(timed_call "$PGHOST" "$PGPORT")")
done
citus_noop=$(printf '%s\n' "${citus_runs[@]}" | median)
single_noop=$(printf '%s\n' "${single_runs[@]}" | median)
echo "no-op migrate_all, $tenants tenants x 3 versions, median of $runs runs:" \
    "Citus (2 workers) ${citus_noop} s, single node ${single_noop} s," \
    "ratio $(awk -v a="$citus_noop" -v b="$single_noop" 'BEGIN { printf "%.2f", a / b }') (target <= 3)"

# create_tenant against CREATE SCHEMA + psql replay, on the coordinator.
replay() {
    local schema=$1
    cat <<SQL
\\set ON_ERROR_STOP 1
BEGIN;
CREATE SCHEMA $schema;
SET LOCAL search_path = $schema;
CREATE TABLE schema_migrations (version bigint PRIMARY KEY, inserted_at timestamp(0));
$migration_1;
INSERT INTO schema_migrations VALUES (1, now());
$migration_2;
INSERT INTO schema_migrations VALUES (2, now());
$migration_3;
INSERT INTO schema_migrations VALUES (3, now());
COMMIT;
SQL
}
timed() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
}
create_runs=() replay_runs=()
for i in $(seq 1 $((created + 2))); do
    c=$(timed on coordinator "SELECT tenancy.create_tenant('made_$i')")
    r=$(timed bash -c "$(declare -f replay); replay replayed_$i | psql -X -q -h '$citus_socket_dir' -p '${citus_port[coordinator]}' -d '$TEST_DB'")
    if [ "$i" -gt 2 ]; then create_runs+=("$c"); replay_runs+=("$r"); fi
done
check_on_made=$(on coordinator "SELECT count(*) FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname LIKE 'made\_%' OR n.nspname LIKE 'replayed\_%'")
create_median=$(printf '%s\n' "${create_runs[@]}" | median)
replay_median=$(printf '%s\n' "${replay_runs[@]}" | median)
echo "create_tenant with 3 migrations on Citus, median of $created per arm after 2 warm-up ones:" \
    "${create_median} s; CREATE SCHEMA + psql replay: ${replay_median} s," \
    "ratio $(awk -v a="$create_median" -v b="$replay_median" 'BEGIN { printf "%.2f", a / b }')" \
    "($check_on_made distributed tables in both arms' schemas, 3 per schema expected x $((2 * (created + 2))))"
