#!/usr/bin/env bash
# Non-transactional (online) migrations: registered with transactional =>
# false or loaded from a file marked "-- tenancy:no-transaction"; in existing
# tenants CALL migrate_all runs each statement in a transaction of its own in
# a background worker (CREATE INDEX CONCURRENTLY on tables with rows, NOT
# VALID then VALIDATE, batched updates); a failure in one tenant of many is
# recorded with its statement; a rerun rebuilds the invalid index a failed
# build left; a new tenant gets the migration inside its creating transaction
# without CONCURRENTLY; transaction control stays refused; a cancel stops the
# worker; writers are never blocked for the build's duration.
source "$(dirname "$0")/lib.sh"
fresh_database

# psql output (errors included) of SQL, never stopping the script.
output_of() {
    psql -X -d "$TEST_DB" -c "$1" 2>&1 || true
}

# The same, with errors in verbose form (their SQLSTATE shown).
verbose_of() {
    psql -X -v VERBOSITY=verbose -d "$TEST_DB" -c "$1" 2>&1 || true
}

# wait_for DESCRIPTION QUERY: polls until QUERY returns t (at most 60 s): the
# state it waits for is observed, not assumed after a delay.
wait_for() {
    local description=$1 query=$2 i
    for i in $(seq 1 600); do
        [ "$(value_of "$query")" = "t" ] && return 0
        sleep 0.1
    done
    echo "     not ok - timed out waiting: $description"
    checks_failed=$((checks_failed + 1))
    return 1
}

run_sql "
CREATE ROLE online_owner;
SELECT tenancy.register_migration(1, 'create_items',
    'CREATE TABLE items (id int PRIMARY KEY, a int, b int, u int)');
SELECT tenancy.create_tenant(format('t%s', i)) FROM generate_series(1, 4) AS i;
ALTER SCHEMA t4 OWNER TO online_owner;
ALTER TABLE t4.items OWNER TO online_owner;
ALTER TABLE t4.schema_migrations OWNER TO online_owner;
INSERT INTO t1.items SELECT g, g, NULL, g FROM generate_series(1, 2000) g;
INSERT INTO t2.items SELECT g, g, NULL, g FROM generate_series(1, 2000) g;
INSERT INTO t3.items SELECT g, g, NULL, g FROM generate_series(1, 2000) g;
INSERT INTO t4.items SELECT g, g, NULL, g FROM generate_series(1, 2000) g;"

# --- Registration ----------------------------------------------------------
output=$(verbose_of "SELECT tenancy.register_migration(9, 'cic', 'CREATE INDEX CONCURRENTLY i ON items (a)')")
check_output "a transactional migration holding CREATE INDEX CONCURRENTLY is refused (25001)" \
    "ERROR:  25001: up_sql of a migration may not contain CREATE INDEX CONCURRENTLY" "$output"
check_output "with a hint naming transactional => false" \
    "HINT:  Register the migration with transactional => false" "$output"
output=$(output_of "SELECT tenancy.register_migration(9, 'tx', 'CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON items (a); COMMIT', transactional => false)")
check_output "transaction control in a non-transactional migration is refused" \
    "ERROR:  up_sql of a migration may not contain COMMIT" "$output"
output=$(verbose_of "SELECT tenancy.register_migration(9, 'tx', 'BEGIN; CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON items (a)', transactional => false)")
check_output "with SQLSTATE 2D000" "ERROR:  2D000" "$output"
output=$(verbose_of "SELECT tenancy.register_migration(9, 'unnamed', 'CREATE INDEX CONCURRENTLY ON items (a)', transactional => false)")
check_output "a CREATE INDEX CONCURRENTLY without an index name is refused (42601)" \
    "ERROR:  42601: up_sql of a migration must name the index of CREATE INDEX CONCURRENTLY" "$output"
output=$(verbose_of "SELECT tenancy.register_migration(9, 'vacuum', 'VACUUM items', transactional => false)")
check_output "VACUUM stays refused in a non-transactional migration (25001)" \
    "ERROR:  25001: up_sql of a migration may not contain VACUUM" "$output"
output=$(verbose_of "SELECT tenancy.register_migration(9, 'nulled', 'SELECT 1', transactional => NULL)")
check_output "transactional => NULL is refused (22004)" "ERROR:  22004: transactional must not be null" "$output"
check "nothing was registered by the refused calls" "1" "SELECT count(*) FROM tenancy.migration_registry"

check "a non-transactional migration registers" "added" "
SELECT tenancy.register_migration(2, 'online_index', \$m\$
    CREATE INDEX CONCURRENTLY IF NOT EXISTS items_a ON items (a);
    ALTER TABLE items ADD CONSTRAINT a_positive CHECK (a > 0) NOT VALID;
    ALTER TABLE items VALIDATE CONSTRAINT a_positive;
    UPDATE items SET b = a WHERE id <= 1000;
    UPDATE items SET b = a WHERE id > 1000;
    SET lock_timeout = '7s';
    CREATE TABLE IF NOT EXISTS online_marker AS
        SELECT current_user AS who, current_setting('search_path') AS path,
               current_setting('lock_timeout') AS lock_timeout,
               current_setting('DateStyle') AS datestyle;
    DROP INDEX CONCURRENTLY IF EXISTS no_such_index;
    REINDEX INDEX CONCURRENTLY items_a
\$m\$, 'DROP INDEX items_a; ALTER TABLE items DROP CONSTRAINT a_positive; DROP TABLE online_marker',
    transactional => false)"
check "registry says it is not transactional" "f" \
    "SELECT transactional FROM tenancy.migration_registry WHERE version = 2"

# --- Inside a transaction: refused with a hint ------------------------------
output=$(verbose_of "SELECT tenancy.migrate('t1')")
check_output "migrate() of a tenant with a pending non-transactional migration is refused (25001)" \
    'ERROR:  25001: migration 2 "online_index" is non-transactional and cannot run inside a transaction' "$output"
check_output "with a hint to CALL migrate_all" "HINT:  CALL tenancy.migrate_all\(\) outside a transaction block" "$output"
output=$(output_of "BEGIN; CALL tenancy.migrate_all(on_error => 'continue'); COMMIT;")
check_output "migrate_all inside a transaction block fails those tenants, naming them" \
    'WARNING:  migrate_all: 4 tenants failed' "$output"
check "and records 25001 in their last_error" "4" \
    "SELECT count(*) FROM tenancy.tenant_registry WHERE last_error LIKE '25001: migration 2%'"
check "nothing of it was applied" "0" \
    "SELECT count(*) FROM pg_indexes WHERE indexname = 'items_a'"

# --- Existing tenants: CALL migrate_all runs it online ----------------------
output=$(psql -X -d "$TEST_DB" -c "SET DateStyle = German" -c "CALL tenancy.migrate_all()" 2>&1 || true)
check_output "CALL migrate_all migrates every tenant" "migrate_all: 4 tenants, 4 migrated, 0 failed" "$output"
check "every tenant is at version 2, last_error cleared" "4" \
    "SELECT count(*) FROM tenancy.tenants WHERE version = 2 AND last_error IS NULL"
check "each tenant has the index, valid (built on tables with rows)" "4" \
    "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE c.relname = 'items_a' AND i.indisvalid AND i.indisready"
check "the NOT VALID constraint was validated" "4" \
    "SELECT count(*) FROM pg_constraint WHERE conname = 'a_positive' AND convalidated"
check "the batched updates ran" "8000" \
    "SELECT (SELECT count(*) FROM t1.items WHERE b = a) + (SELECT count(*) FROM t2.items WHERE b = a)
          + (SELECT count(*) FROM t3.items WHERE b = a) + (SELECT count(*) FROM t4.items WHERE b = a)"
check "statements ran as the tenant's owner, on the tenant's search_path" \
    "postgres|\"t1\", \"public\", pg_temp;online_owner|\"t4\", \"public\", pg_temp" \
    "SELECT (SELECT who || '|' || path FROM t1.online_marker) || ';' || (SELECT who || '|' || path FROM t4.online_marker)"
check "the pinned settings applied, not the caller's DateStyle" "ISO, MDY" "SELECT datestyle FROM t1.online_marker"
check "the migration's own SET lasted for its later statements" "7s" "SELECT lock_timeout FROM t1.online_marker"
check "each tenant's owner owns what the migration created" "online_owner" \
    "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 't4.items_a'::regclass"
check "the worker is gone once migrate_all returns" "0" \
    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_tenancy online migration'"

# --- A new tenant: inside the creating transaction, CONCURRENTLY dropped -----
run_sql "BEGIN; SELECT tenancy.create_tenant('fresh'); COMMIT;"
check "a new tenant gets the index inside create_tenant's transaction" "t" \
    "SELECT indisvalid FROM pg_index WHERE indexrelid = 'fresh.items_a'::regclass"
check "and is at version 2" "2" "SELECT version FROM tenancy.tenants WHERE tenant = 'fresh'"
run_sql "CREATE TABLE orgs (id int PRIMARY KEY);
         SELECT tenancy.manage_tenant('orgs', ARRAY['org_', ':id']);
         BEGIN; INSERT INTO orgs VALUES (1); COMMIT;"
check "a managed table's row gets its tenant with the index too" "t" \
    "SELECT indisvalid FROM pg_index WHERE indexrelid = 'org_1.items_a'::regclass"
run_sql "BEGIN; SELECT tenancy.rollback('fresh', 1); COMMIT;"
check "a rollback runs the down_sql inside the transaction" "1 0" \
    "SELECT version || ' ' || (SELECT count(*) FROM pg_class WHERE relname = 'items_a' AND relnamespace = 'fresh'::regnamespace)
     FROM tenancy.tenants WHERE tenant = 'fresh'"
run_sql "SELECT tenancy.drop_tenant('fresh'); DELETE FROM orgs; SELECT tenancy.drop_tenant('org_1');"

# --- A failure in one tenant of many ----------------------------------------
run_sql "UPDATE t2.items SET u = 1 WHERE id = 2;
SELECT tenancy.register_migration(3, 'unique_u', \$m\$
    CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS items_u ON items (u);
    ALTER TABLE items ADD COLUMN c int
\$m\$, transactional => false);"
output=$(output_of "CALL tenancy.migrate_all(on_error => 'continue')")
check_output "the failing tenant is named at the end" 'WARNING:  migrate_all: 1 tenants failed: "t2"' "$output"
check "the other tenants are migrated" "t1,t3,t4" \
    "SELECT string_agg(tenant, ',' ORDER BY tenant) FROM tenancy.tenants WHERE version = 3"
check "the failing tenant's version is not recorded" "2" "SELECT version FROM tenancy.tenants WHERE tenant = 't2'"
check "its last_error names the statement that failed (number and text start)" \
    "23505: could not create unique index \"items_u\" (statement 1 of 2 of migration 3 \"unique_u\": CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS items_u ON it...)" \
    "SELECT last_error FROM tenancy.tenant_registry WHERE tenant = 't2'"
check "the failed build left an invalid index" "f" \
    "SELECT indisvalid FROM pg_index WHERE indexrelid = 't2.items_u'::regclass"
output=$(output_of "CALL tenancy.migrate_all()")
check_output "on_error 'stop' raises the statement's error" \
    'ERROR:  could not create unique index "items_u" \(statement 1 of 2 of migration 3' "$output"
check_output "with CONTEXT naming the statement and the tenant" \
    'CONTEXT:  statement 1 of 2 of migration 3 "unique_u": .* in tenant "t2"' "$output"

# --- A rerun rebuilds the invalid index, not skipped by IF NOT EXISTS --------
run_sql "UPDATE t2.items SET u = 2 WHERE id = 2"
output=$(output_of "CALL tenancy.migrate_all()")
check_output "the rerun migrates the tenant" "migrate_all: 4 tenants, 1 migrated, 0 failed" "$output"
check "the index was dropped and built again: valid" "t" \
    "SELECT indisvalid FROM pg_index WHERE indexrelid = 't2.items_u'::regclass"
check "and it is the only one (no items_u1)" "1" \
    "SELECT count(*) FROM pg_class WHERE relnamespace = 't2'::regnamespace AND relname LIKE 'items_u%'"
check "the tenant is at version 3, last_error cleared" "3 true" \
    "SELECT version || ' ' || (last_error IS NULL) FROM tenancy.tenants WHERE tenant = 't2'"

# --- Transaction control stays refused when it runs -------------------------
run_sql "CREATE PROCEDURE public.commits() LANGUAGE plpgsql AS \$\$ BEGIN COMMIT; END \$\$;
SELECT tenancy.register_migration(4, 'commits_inside', \$m\$
    DO \$d\$ BEGIN COMMIT; END \$d\$
\$m\$, transactional => false);"
output=$(verbose_of "CALL tenancy.migrate_all()")
check_output "a DO block's COMMIT in a non-transactional migration is refused (2D000)" \
    "ERROR:  2D000: invalid transaction termination" "$output"
run_sql "DELETE FROM tenancy.migration_registry WHERE version = 4;
SELECT tenancy.register_migration(4, 'calls_commit', 'CALL public.commits()', transactional => false);"
output=$(verbose_of "CALL tenancy.migrate_all()")
check_output "so is a procedure's COMMIT (2D000)" "ERROR:  2D000: invalid transaction termination" "$output"
output=$(verbose_of "SELECT tenancy.register_migration(5, 'prepares', 'PREPARE p AS SELECT 1', transactional => false)")
check_output "PREPARE is refused in a non-transactional migration (42501)" \
    "ERROR:  42501: cannot execute PREPARE in a migration" "$output"
run_sql "DELETE FROM tenancy.migration_registry WHERE version = 4;
         UPDATE tenancy.tenant_registry SET last_error = NULL;"

# --- Writers are not blocked while the build waits --------------------------
# A session holding an old snapshot makes CREATE INDEX CONCURRENTLY wait (it
# waits for every older snapshot before it ends); meanwhile another session
# writes to the table being indexed.
run_sql "SELECT tenancy.register_migration(6, 'index_b',
    'CREATE INDEX CONCURRENTLY IF NOT EXISTS items_b ON items (b)', transactional => false)"
fifo=$(mktemp -u /tmp/pg_tenancy_online.XXXXXX)
mkfifo "$fifo"
psql -X -q -d "$TEST_DB" <"$fifo" >/dev/null 2>&1 &
holder=$!
exec 3>"$fifo"
echo "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pg_class;" >&3
wait_for "the snapshot holder is in its transaction" \
    "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database()
                    AND state = 'idle in transaction' AND backend_xmin IS NOT NULL)"
migrate_log=$(mktemp)
psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all()" >"$migrate_log" 2>&1 &
migrator=$!
wait_for "the build waits for the old snapshot" \
    "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'pg_tenancy online migration'
                    AND wait_event = 'virtualxid')"
export PGOPTIONS='-c statement_timeout=5s'
check "a writer inserts into the table being indexed meanwhile (statement_timeout 5s)" "1" \
    "WITH written AS (INSERT INTO t1.items VALUES (5001, 5001, 5001, 5001) RETURNING 1) SELECT count(*) FROM written"
check "and updates it" "1" \
    "WITH written AS (UPDATE t1.items SET b = 0 WHERE id = 1 RETURNING 1) SELECT count(*) FROM written"
unset PGOPTIONS
check "while the build is still waiting" "t" \
    "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'pg_tenancy online migration')"
echo "COMMIT;" >&3
exec 3>&-
wait "$holder" || true
wait "$migrator" || true
check_output "the run then completes" "migrate_all: 4 tenants, 4 migrated, 0 failed" "$(cat "$migrate_log")"
check "every tenant has the new index, valid" "4" \
    "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE c.relname = 'items_b' AND i.indisvalid"
check "with the row written during the build" "1" "SELECT count(*) FROM t1.items WHERE b = 5001"

# --- A cancel stops the worker; the rerun finishes --------------------------
run_sql "SELECT tenancy.register_migration(7, 'index_c',
    'CREATE INDEX CONCURRENTLY IF NOT EXISTS items_c ON items (c)', transactional => false)"
psql -X -q -d "$TEST_DB" <"$fifo" >/dev/null 2>&1 &
holder=$!
exec 3>"$fifo"
echo "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pg_class;" >&3
wait_for "the snapshot holder is in its transaction again" \
    "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database()
                    AND state = 'idle in transaction' AND backend_xmin IS NOT NULL)"
output=$(PGOPTIONS='-c statement_timeout=3s' psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all()" 2>&1 || true)
check_output "statement_timeout cancels the run while the build waits" \
    "ERROR:  canceling statement due to statement timeout" "$output"
check "the worker is stopped when the cancel returns" "0" \
    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_tenancy online migration'"
check "the cancelled tenant's version is not recorded" "6" "SELECT version FROM tenancy.tenants WHERE tenant = 't1'"
echo "COMMIT;" >&3
exec 3>&-
wait "$holder" || true
rm -f "$fifo" "$migrate_log"
output=$(output_of "CALL tenancy.migrate_all()")
check_output "a rerun completes" "migrate_all: 4 tenants, 4 migrated, 0 failed" "$output"
check "with one valid index per tenant" "4 4" \
    "SELECT count(*) FILTER (WHERE i.indisvalid) || ' ' || count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE c.relname LIKE 'items_c%'"

# --- Migration files: the first line marks them -----------------------------
root=$(mktemp -d /tmp/pg_tenancy_online.XXXXXX)
trap 'rm -rf "$root"' EXIT
chmod 755 "$root"
mkdir "$root/files" "$root/bad"
printf -- '-- tenancy:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS items_ab ON items (a, b);\n' \
    >"$root/files/8_index_ab.sql"
printf 'CREATE TABLE plain_one (id int);\n-- tenancy:no-transaction\n' >"$root/files/9_plain.sql"
printf 'CREATE TABLE later (id int);\n' >"$root/bad/10_later.up.sql"
printf -- '-- tenancy:no-transaction\nDROP TABLE later;\n' >"$root/bad/10_later.down.sql"
chmod -R a+rX "$root"
check "load_migrations registers the files" "2" "SELECT tenancy.load_migrations('$root/files')"
check "a file whose first line is the marker is non-transactional, others are not" "8 false,9 true" \
    "SELECT string_agg(version || ' ' || transactional, ',' ORDER BY version) FROM tenancy.migration_registry WHERE version >= 8"
output=$(verbose_of "SELECT tenancy.load_migrations('$root/bad')")
check_output "the marker only in a down file is refused (22023)" \
    'ERROR:  22023: migration file "10_later.down.sql" declares -- tenancy:no-transaction but its up file does not' "$output"
output=$(output_of "CALL tenancy.migrate_all()")
check_output "the loaded migrations run" "migrate_all: 4 tenants, 4 migrated, 0 failed" "$output"
check "the file's index is built in every tenant" "4" \
    "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'items_ab' AND i.indisvalid"

# --- With workers: each worker runs the tenants it reaches between its transactions
run_sql "SELECT tenancy.register_migration(11, 'index_by_workers',
    'CREATE INDEX CONCURRENTLY IF NOT EXISTS items_w ON items (b, a)', transactional => false);
SELECT tenancy.register_migration(12, 'after_the_index', 'CREATE TABLE after_w (id int)')"
output=$(output_of "CALL tenancy.migrate_all(workers => 2)")
check_output "migrate_all with workers runs a non-transactional migration in every tenant" \
    "migrate_all: 4 tenants, 4 migrated, 0 failed" "$output"
check "the workers built a valid index in every tenant" "4" \
    "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'items_w' AND i.indisvalid"
check "and ran the transactional migration after it" "4" \
    "SELECT count(*) FROM pg_class WHERE relname = 'after_w'"
check "every tenant records both versions" "4" \
    "SELECT count(*) FROM tenancy.tenants WHERE version = 12 AND pending = 0"

finish_checks
