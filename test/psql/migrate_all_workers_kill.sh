#!/usr/bin/env bash
# migrate_all with workers, killed in the middle: a worker terminated (the
# caller runs its tenants), a worker killed with SIGKILL, the caller
# terminated, the caller killed with SIGKILL. Each time no tenant is left
# half-migrated, no worker runs on, and a rerun completes.
source "$(dirname "$0")/lib.sh"
fresh_database

workers_running="SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_tenancy migration worker'"

wait_for_server() {
    for _ in $(seq 1 60); do
        pg_isready -q && psql -X -q -d "$TEST_DB" -c "SELECT 1" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    echo "server did not come back"
    return 1
}

run_sql "
SELECT tenancy.register_migration(1, 'create_items', 'CREATE TABLE items (id int)');
SELECT tenancy.create_tenant(format('k%s', lpad(i::text, 2, '0'))) FROM generate_series(1, 40) AS i;"

# The lock holder: a session that takes advisory lock 4242 on request. Each
# version's migration creates a table, then (in tenants k20 and later) waits
# for that lock, then creates a second table: a kill while workers wait lands
# between the two.
fifo=$(mktemp -u)
start_holder() {
    mkfifo "$fifo"
    psql -X -q -d "$TEST_DB" <"$fifo" >/dev/null 2>&1 &
    holder=$!
    exec 7>"$fifo"
    echo "SELECT pg_advisory_lock(4242);" >&7
    wait_until "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND granted"
}
stop_holder() {
    echo "\\q" >&7 || true
    exec 7>&-
    wait "$holder" || true
    rm -f "$fifo"
}

round=0
register_round() {
    round=$((round + 1))
    run_sql "SELECT tenancy.register_migration($((round + 1)), 'round_$round',
        'CREATE TABLE a_$round (id int);
         SELECT pg_advisory_xact_lock_shared(4242) WHERE current_schema() >= ''k20'';
         CREATE TABLE b_$round (id int)');"
}

check_whole() {
    local what=$1 version=$((round + 1))
    check "$what: the kill landed in the middle of the run" "t" \
        "SELECT count(*) FILTER (WHERE version = $version) BETWEEN 1 AND 39 FROM tenancy.tenants"
    check "$what: no tenant is half-migrated" "0" \
        "SELECT count(*) FROM tenancy.tenants t
         WHERE (t.version = $version) <> (to_regclass(format('%I.a_$round', t.tenant)) IS NOT NULL)
            OR (to_regclass(format('%I.a_$round', t.tenant)) IS NULL)
               <> (to_regclass(format('%I.b_$round', t.tenant)) IS NULL)"
}

check_rerun() {
    local what=$1
    psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all(workers => 2)" >/dev/null 2>&1
    check "$what: a rerun completes" "40" \
        "SELECT count(*) FROM tenancy.tenants WHERE version = $((round + 1)) AND pending = 0"
}

# --- a worker terminated: the caller runs the rest ---------------------------
register_round
start_holder
psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all(workers => 2)" >"$fifo.out" 2>&1 &
caller=$!
wait_until "SELECT count(*) = 2 FROM pg_stat_activity WHERE backend_type = 'pg_tenancy migration worker' AND wait_event_type = 'Lock'"
run_sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name LIKE 'pg_tenancy run % worker 1'"
wait_until "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_tenancy migration worker'"
check_whole "worker terminated"
stop_holder
wait "$caller"
output=$(cat "$fifo.out")
rm -f "$fifo.out"
check_output "the caller says a worker ended early and runs what it left" \
    "WARNING:  migrate_all: a worker ended before the queue was empty" "$output"
check_output "and completes the run" "NOTICE:  migrate_all: 40 tenants, [0-9]+ migrated, 0 failed" "$output"
check "every tenant is migrated by that same run" "40" \
    "SELECT count(*) FROM tenancy.tenants WHERE version = $((round + 1)) AND pending = 0"

# --- the caller terminated: its workers stop ---------------------------------
register_round
start_holder
psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all(workers => 2)" >/dev/null 2>&1 &
caller=$!
wait_until "SELECT count(*) = 2 FROM pg_stat_activity WHERE backend_type = 'pg_tenancy migration worker' AND wait_event_type = 'Lock'"
run_sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'CALL tenancy.migrate_all%' AND pid <> pg_backend_pid()"
wait "$caller" || true
wait_until "SELECT ($workers_running) = 0" || true
check "caller terminated: no worker runs on" "0" "$workers_running"
stop_holder
check_whole "caller terminated"
check_rerun "caller terminated"

# --- a worker killed with SIGKILL (the server restarts every backend) --------
register_round
start_holder
psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all(workers => 2)" >/dev/null 2>&1 &
caller=$!
wait_until "SELECT count(*) = 2 FROM pg_stat_activity WHERE backend_type = 'pg_tenancy migration worker' AND wait_event_type = 'Lock'"
kill -9 "$(value_of "SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'pg_tenancy run % worker 2'")"
wait "$caller" || true
stop_holder
wait_for_server
check "worker killed: no worker runs on after the restart" "0" "$workers_running"
check_whole "worker killed"
check_rerun "worker killed"

# --- the caller killed with SIGKILL -----------------------------------------
register_round
start_holder
psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all(workers => 2)" >/dev/null 2>&1 &
caller=$!
wait_until "SELECT count(*) = 2 FROM pg_stat_activity WHERE backend_type = 'pg_tenancy migration worker' AND wait_event_type = 'Lock'"
kill -9 "$(value_of "SELECT pid FROM pg_stat_activity WHERE query LIKE 'CALL tenancy.migrate_all%' AND pid <> pg_backend_pid()")"
wait "$caller" || true
stop_holder
wait_for_server
check "caller killed: no worker runs on after the restart" "0" "$workers_running"
check_whole "caller killed"
check_rerun "caller killed"
check "the killed runs are marked interrupted, none shown as running" "3|0" \
    "SELECT count(*) FILTER (WHERE outcome = 'interrupted') || '|' || (SELECT count(*) FROM tenancy.migration_progress)
     FROM tenancy.migration_runs"
finish_checks
