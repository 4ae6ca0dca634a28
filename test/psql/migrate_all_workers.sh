#!/usr/bin/env bash
# CALL migrate_all / rollback_all with workers => N: every tenant migrated
# once, on_error 'stop' with 4 workers, 'continue', the run log, the progress
# view and the workers in pg_stat_activity, subsets (tenants, tenant_pattern,
# max_tenants), fewer worker slots than asked, the refusals, and a
# statement_timeout that stops the workers.
source "$(dirname "$0")/lib.sh"
fresh_database

workers_running="SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_tenancy migration worker'"

run_sql "
SELECT tenancy.register_migration(1, 'create_items', 'CREATE TABLE items (id int)', 'DROP TABLE items');
SELECT tenancy.create_tenant(format('t%s', lpad(i::text, 2, '0'))) FROM generate_series(1, 40) AS i;
SELECT tenancy.register_migration(2, 'two_tables',
    'CREATE TABLE first_half (id int); CREATE TABLE second_half (id int)',
    'DROP TABLE first_half; DROP TABLE second_half');"

# --- every tenant, once ----------------------------------------------------
output=$(psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all(workers => 4)" 2>&1)
check_output "workers => 4 migrates every tenant" "NOTICE:  migrate_all: 40 tenants, 40 migrated, 0 failed, 0 up to date" "$output"
check_output "and relays progress NOTICEs" "NOTICE:  migrate_all: [0-9]+ of 40 tenants done" "$output"
check "every tenant is at version 2" "40" "SELECT count(*) FROM tenancy.tenants WHERE version = 2 AND pending = 0"
check "no version ran twice (one row per tenant and version)" "80" \
    "SELECT count(*) FROM tenancy.migration_status() WHERE state = 'applied'"
check "the run is logged: who, target, workers, migrated, failed, seconds" \
    "migrate_all|postgres|4|4|40|40|40|0|completed|t" \
    "SELECT concat_ws('|', procedure, started_by, workers, workers_started, tenants, done, migrated, failed,
                      outcome, seconds >= 0 AND finished_at >= started_at)
     FROM tenancy.migration_runs ORDER BY run DESC LIMIT 1"
check "no worker is left running when the CALL returns" "0" "$workers_running"
check "a finished run is not in migration_progress" "0" "SELECT count(*) FROM tenancy.migration_progress"

output=$(psql -X -d "$TEST_DB" -c "CALL tenancy.rollback_all(1, workers => 3)" 2>&1)
check_output "rollback_all takes workers too" "NOTICE:  rollback_all: 40 tenants, 40 rolled back, 0 failed, 0 up to date" "$output"
check "every tenant is back at version 1, both tables gone" "40" \
    "SELECT count(*) FROM tenancy.tenants t WHERE t.version = 1
       AND to_regclass(format('%I.first_half', t.tenant)) IS NULL"

# --- on_error => 'stop' with 4 workers -------------------------------------
run_sql "SELECT tenancy.register_migration(3, 'fails_in_t20',
    \$\$DO \$b\$ BEGIN IF current_schema() = 't20' THEN RAISE EXCEPTION 't20 refuses' USING ERRCODE = 'P0020'; END IF; END \$b\$;
      CREATE TABLE three (id int)\$\$, 'DROP TABLE three');"
output=$(psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all(workers => 4)" 2>&1 || true)
check_output "on_error 'stop' with 4 workers raises the failing tenant's error" "ERROR:  t20 refuses" "$output"
check_output "with its CONTEXT naming the migration and tenant" 'up of migration 3 "fails_in_t20" in tenant "t20"' "$output"
check "the failing tenant is untouched" "1" "SELECT version FROM tenancy.tenants WHERE tenant = 't20'"
check "its last_error is recorded" "P0020: t20 refuses" "SELECT last_error FROM tenancy.tenants WHERE tenant = 't20'"
check "every worker stopped promptly: the run stopped short of the tenants after it" "t" \
    "SELECT count(*) FILTER (WHERE version = 3) < 39 FROM tenancy.tenants"
check "every tenant is whole: version 3 exactly when its table exists" "0" \
    "SELECT count(*) FROM tenancy.tenants t
     WHERE (t.version = 3) <> (to_regclass(format('%I.three', t.tenant)) IS NOT NULL)"
check "the run is logged as stopped, with its failure" "stopped|1" \
    "SELECT concat_ws('|', outcome, failed) FROM tenancy.migration_runs ORDER BY run DESC LIMIT 1"
check "no worker is left running" "0" "$workers_running"

# --- on_error => 'continue' -----------------------------------------------
output=$(psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all(workers => 4, on_error => 'continue')" 2>&1)
check_output "'continue' names the failing tenant at the end" 'WARNING:  migrate_all: 1 tenants failed: "t20"' "$output"
check "every other tenant is migrated" "39" "SELECT count(*) FROM tenancy.tenants WHERE version = 3"
run_sql "DELETE FROM tenancy.migration_registry WHERE version = 3;
         SELECT tenancy.register_migration(3, 'fixed', 'CREATE TABLE three (id int)', 'DROP TABLE three');"
psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all(workers => 4)" >/dev/null 2>&1
check "fixed, a rerun migrates it and clears last_error" "40|0" \
    "SELECT count(*) FILTER (WHERE version = 3) || '|' || count(last_error) FROM tenancy.tenants"

# --- subsets ---------------------------------------------------------------
run_sql "SELECT tenancy.register_migration(4, 'four', 'CREATE TABLE four (id int)', 'DROP TABLE four');"
output=$(psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all(workers => 2, tenants => ARRAY['t03', 't01'])" 2>&1)
check_output "tenants => limits the run to those tenants" "NOTICE:  migrate_all: 2 tenants, 2 migrated" "$output"
check "exactly those are migrated" "t01,t03" \
    "SELECT string_agg(tenant, ',' ORDER BY tenant) FROM tenancy.tenants WHERE version = 4"
psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all(tenant_pattern => '^t1')" >/dev/null 2>&1
check "tenant_pattern => limits it to the names the expression matches" "12" \
    "SELECT count(*) FROM tenancy.tenants WHERE version = 4"
check "namely t10..t19" "0" "SELECT count(*) FROM tenancy.tenants WHERE version = 4 AND tenant !~ '^t(0[13]|1)'"
output=$(psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all(max_tenants => 5)" 2>&1)
check_output "max_tenants => a canary of the first n that have work" "NOTICE:  migrate_all: 40 tenants, 5 migrated, 0 failed, 12 up to date, 23 left for later \(max_tenants\)" "$output"
check "the first 5 with work, in name order" "t02,t04,t05,t06,t07" \
    "SELECT string_agg(tenant, ',' ORDER BY tenant) FROM tenancy.tenants WHERE version = 4 AND tenant !~ '^t(0[13]|1)'"
psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all(workers => 2, max_tenants => 3)" >/dev/null 2>&1
check "with workers too" "20" "SELECT count(*) FROM tenancy.tenants WHERE version = 4"
psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all(workers => 2)" >/dev/null 2>&1
check "then the rest" "40" "SELECT count(*) FROM tenancy.tenants WHERE version = 4"
psql -X -q -d "$TEST_DB" -c "CALL tenancy.rollback_all(3, workers => 2, tenant_pattern => '^t0[1-4]$')" >/dev/null 2>&1
check "rollback_all takes the subsets too" "t01,t02,t03,t04" \
    "SELECT string_agg(tenant, ',' ORDER BY tenant) FROM tenancy.tenants WHERE version = 3"
psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all()" >/dev/null 2>&1

# --- refusals ---------------------------------------------------------------
check_refusal() {
    local description=$1 sqlstate=$2 sql=$3 output
    output=$(psql -X -q -d "$TEST_DB" -v VERBOSITY=verbose -c "$sql" 2>&1 || true)
    check_output "$description ($sqlstate)" "ERROR:  $sqlstate" "$output"
}
check_refusal "workers > 1 inside a transaction block" 25001 \
    "BEGIN; CALL tenancy.migrate_all(workers => 2); COMMIT;"
check_refusal "rollback_all with workers > 1 inside a transaction block" 25001 \
    "BEGIN; CALL tenancy.rollback_all(1, workers => 2); COMMIT;"
check_refusal "workers => 0" 22023 "CALL tenancy.migrate_all(workers => 0)"
check_refusal "workers => 65" 22023 "CALL tenancy.migrate_all(workers => 65)"
check_refusal "workers => NULL" 22004 "CALL tenancy.migrate_all(workers => NULL)"
check_refusal "max_tenants => 0" 22023 "CALL tenancy.migrate_all(max_tenants => 0)"
check_refusal "an unregistered name in tenants" 3F000 "CALL tenancy.migrate_all(tenants => ARRAY['t01', 'nope'])"
check_refusal "a NULL in tenants" 22004 "CALL tenancy.migrate_all(tenants => ARRAY['t01', NULL])"
check_refusal "an invalid tenant_pattern" 2201B "CALL tenancy.migrate_all(tenant_pattern => '(')"
check "workers => 1 still runs inside a transaction block" "40" \
    "SET client_min_messages = warning; BEGIN; CALL tenancy.migrate_all(workers => 1); SELECT count(*) FROM tenancy.tenants WHERE version = 4; COMMIT;"

# --- workers act as the calling role ----------------------------------------
# A delegated administrator that may not log in, reached with SET ROLE: the
# workers connect as the session's user and act as that role.
psql -X -q -d "$TEST_DB" -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS tenancy_workers_admin" >/dev/null
run_sql "CREATE ROLE tenancy_workers_admin NOLOGIN;
         GRANT CREATE ON DATABASE \"$TEST_DB\" TO tenancy_workers_admin;
         GRANT EXECUTE ON ALL ROUTINES IN SCHEMA tenancy TO tenancy_workers_admin;
         GRANT SELECT ON tenancy.migration_registry TO tenancy_workers_admin;
         SET ROLE tenancy_workers_admin;
         SELECT tenancy.create_tenant('owned_1'), tenancy.create_tenant('owned_2');
         RESET ROLE;
         SELECT tenancy.register_migration(5, 'five', 'CREATE TABLE five (id int)', 'DROP TABLE five');"
output=$(psql -X -d "$TEST_DB" -c "SET ROLE tenancy_workers_admin" \
    -c "CALL tenancy.migrate_all(workers => 2, tenants => ARRAY['owned_1', 'owned_2'])" 2>&1)
check_output "a role that may not log in runs migrate_all with workers" "NOTICE:  migrate_all: 2 tenants, 2 migrated" "$output"
check "its workers acted as that role: it owns what they created, the log names it" "tenancy_workers_admin|tenancy_workers_admin|2" \
    "SELECT (SELECT string_agg(DISTINCT pg_get_userbyid(relowner), ',') FROM pg_class WHERE relname = 'five')
            || '|' || started_by || '|' || workers_started
     FROM tenancy.migration_runs ORDER BY run DESC LIMIT 1"
run_sql "SELECT tenancy.drop_tenant('owned_1'), tenancy.drop_tenant('owned_2');
         DELETE FROM tenancy.migration_registry WHERE version = 5;"

# --- fewer worker slots than asked ------------------------------------------
slots=$(value_of "SHOW max_worker_processes")
run_sql "SELECT tenancy.register_migration(5, 'five', 'CREATE TABLE five (id int)', 'DROP TABLE five');"
output=$(psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all(workers => $((slots + 2 > 64 ? 64 : slots + 2)))" 2>&1)
check_output "fewer free slots than workers asked: a NOTICE" "NOTICE:  migrate_all: [0-9]+ of [0-9]+ workers started" "$output"
check_output "and the run completes with what it got (the caller among them)" "NOTICE:  migrate_all: 40 tenants, 40 migrated" "$output"

# --- the progress view, while a run waits ------------------------------------
# Every tenant's migration waits for an advisory lock this session holds.
run_sql "SELECT tenancy.register_migration(6, 'waits', 'SELECT pg_advisory_xact_lock_shared(4242); CREATE TABLE six (id int)', 'DROP TABLE six');"
fifo=$(mktemp -u)
mkfifo "$fifo"
psql -X -q -d "$TEST_DB" <"$fifo" >/dev/null 2>&1 &
holder=$!
exec 7>"$fifo"
echo "SELECT pg_advisory_lock(4242);" >&7
wait_until "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND granted"
psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all(workers => 2)" >/dev/null 2>&1 &
run=$!
wait_until "SELECT count(*) = 2 FROM pg_stat_activity WHERE backend_type = 'pg_tenancy migration worker' AND wait_event_type = 'Lock'"
check "migration_progress shows the run: who, target, workers, total, done" "migrate_all|postgres|2|2|40|0" \
    "SELECT concat_ws('|', procedure, started_by, workers, workers_started, tenants, done) FROM tenancy.migration_progress"
check "and the tenant and version each worker is on" "t" \
    "SELECT working_on[1] ~ '^pg_tenancy run [0-9]+ worker [12]: tenant \"t[0-9]+\" version 6$'
        AND working_on[2] ~ '^pg_tenancy run [0-9]+ worker [12]: tenant \"t[0-9]+\" version 6$'
     FROM tenancy.migration_progress"
check "workers appear in pg_stat_activity with a name saying what they do" "2" \
    "SELECT count(*) FROM pg_stat_activity p JOIN tenancy.migration_progress m
       ON p.application_name LIKE 'pg_tenancy run ' || m.run || ' worker %'"
echo "SELECT pg_advisory_unlock(4242);" >&7
wait "$run"
check "released, the run completes; the view empties" "0" "SELECT count(*) FROM tenancy.migration_progress"
check "rate and ETA while running came from the log row, now finished" "completed|40" \
    "SELECT outcome || '|' || migrated FROM tenancy.migration_runs ORDER BY run DESC LIMIT 1"

# --- two runs with workers share the tenants ----------------------------------
# Tenants t20 and later wait for the lock: the first run's two workers
# migrate t01..t19 and wait in t20 and t21; the second run's skip those two
# (their tenant locks are held) and wait in t22 and t23. Released, both finish.
run_sql "SELECT tenancy.register_migration(8, 'shared', 'SELECT pg_advisory_xact_lock_shared(4242) WHERE current_schema() >= ''t20''; CREATE TABLE eight (id int)', 'DROP TABLE eight');"
echo "SELECT pg_advisory_lock(4242);" >&7
wait_until "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND granted"
inserts_before=$(value_of "SELECT n_tup_ins FROM pg_stat_user_tables WHERE schemaname = 't01' AND relname = 'schema_migrations'")
psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all(workers => 2)" >/dev/null 2>&1 &
first=$!
wait_until "SELECT count(*) = 2 FROM pg_stat_activity WHERE backend_type = 'pg_tenancy migration worker' AND wait_event_type = 'Lock'"
# Memory: a worker flushes its pending table statistics after each tenant,
# so they do not pile up over thousands of tenants; other sessions see them
# while the run still goes on.
check "a worker's table statistics are flushed between tenants, before the run ends" "1" \
    "SELECT n_tup_ins - $inserts_before FROM pg_stat_user_tables WHERE schemaname = 't01' AND relname = 'schema_migrations'"
psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all(workers => 2)" >/dev/null 2>&1 &
second=$!
wait_until "SELECT count(*) = 4 FROM pg_stat_activity WHERE backend_type = 'pg_tenancy migration worker' AND wait_event_type = 'Lock'"
check "the second run's workers took other tenants than the first's" "t" \
    "SELECT count(DISTINCT query) = 4 FROM pg_stat_activity WHERE backend_type = 'pg_tenancy migration worker'"
echo "SELECT pg_advisory_unlock(4242);" >&7
wait "$first"
wait "$second"
check "two runs with workers share the tenants: each migrated some, 40 in all" "true|40" \
    "SELECT bool_and(migrated > 0) || '|' || sum(migrated)
     FROM (SELECT migrated FROM tenancy.migration_runs ORDER BY run DESC LIMIT 2) r"
check "and every tenant has version 8 once" "40" \
    "SELECT count(*) FROM tenancy.migration_status() WHERE version = 8 AND state = 'applied'"

# --- statement_timeout stops the workers ------------------------------------
echo "SELECT pg_advisory_lock(4242);" >&7
run_sql "SELECT tenancy.register_migration(9, 'waits_too', 'CREATE TABLE seven_a (id int); SELECT pg_advisory_xact_lock_shared(4242); CREATE TABLE seven_b (id int)', 'DROP TABLE seven_a; DROP TABLE seven_b');"
wait_until "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND granted"
output=$(psql -X -d "$TEST_DB" -c "SET statement_timeout = '1s'" -c "CALL tenancy.migrate_all(workers => 2)" 2>&1 || true)
check_output "statement_timeout cancels the caller" "ERROR:  canceling statement due to statement timeout" "$output"
wait_until "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'pg_tenancy migration worker'" || true
check "and stops its workers" "0" "$workers_running"
echo "SELECT pg_advisory_unlock(4242);" >&7
echo "\\q" >&7
exec 7>&-
wait "$holder" || true
rm -f "$fifo"
check "no tenant is half-migrated" "0" \
    "SELECT count(*) FROM tenancy.tenants t
     WHERE (to_regclass(format('%I.seven_a', t.tenant)) IS NULL) <> (to_regclass(format('%I.seven_b', t.tenant)) IS NULL)"
check "the cancelled run is not shown as running" "0" "SELECT count(*) FROM tenancy.migration_progress"
psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all(workers => 2)" >/dev/null 2>&1
check "a rerun completes" "40" "SELECT count(*) FROM tenancy.tenants WHERE version = 9 AND pending = 0"
check "and marks the cancelled run interrupted" "interrupted" \
    "SELECT outcome FROM tenancy.migration_runs ORDER BY run DESC OFFSET 1 LIMIT 1"
finish_checks
